//! Channel state of unaligned and Chandy-Lamport snapshots: the in-flight records a snapshot holds
//! — those its barriers overtook in the outputs (output channel state) and those its inputs
//! delivered ahead of their barriers (input channel state).

use super::buffer::BufferId;
use super::channel::Item;
use super::state::World;
use crate::topology::job::{DataChannelIndex, TaskIndex};

impl World<'_> {
    /// Unaligned / Chandy-Lamport receiver: persist the pre-barrier data already on this side, and
    /// keep persisting each input in `awaiting` until its barrier arrives.
    pub(super) fn start_recording_inputs(
        &mut self,
        task: TaskIndex,
        checkpoint: u64,
        awaiting: &[usize],
    ) {
        // The rest of the slice being read was taken before any barrier behind it: pre-barrier.
        if let Some((channel, buffer, index, end)) = self.tasks[task].reading {
            self.persist_records(task, checkpoint, channel, buffer, index, end, false);
        }
        for position in 0..self.tasks[task].inputs.len() {
            let channel = self.tasks[task].inputs[position];
            if self.channels[channel].finished {
                continue;
            }
            let barrier_arrived = !awaiting.contains(&position);
            let mut barrier_queued = false;
            if !self.channels[channel].local {
                let c = &self.channels[channel];
                // The barrier may be waiting in the receiver's queue, unread: an ordinary one behind
                // the data sent before it, or a priority one at the head, ahead of that data and
                // of whatever arrived after it (sent after the sender's snapshot).
                let queued_barrier = c.receiver.iter().find_map(|i| match i {
                    Item::Barrier(b) if b.checkpoint == checkpoint => Some(b.buffers_before),
                    _ => None,
                });
                barrier_queued = queued_barrier.is_some();
                // Buffers the sender sent before the barrier are ahead of it: pre-barrier data.
                // Buffers replayed from a restored checkpoint precede everything sent since.
                let limit = if barrier_arrived {
                    c.last_barrier_buffers_before
                } else {
                    queued_barrier.unwrap_or(u64::MAX)
                };
                let queued: Vec<BufferId> = c
                    .receiver
                    .iter()
                    .filter_map(|i| {
                        if let Item::Data(b) = i {
                            Some(*b)
                        } else {
                            None
                        }
                    })
                    .filter(|&b| {
                        let buffer = &self.buffers.buffers[b as usize];
                        buffer.replayed || buffer.sequence < limit
                    })
                    .collect();
                for buffer in queued {
                    let length = self.buffers.buffers[buffer as usize].records.len();
                    self.persist_records(task, checkpoint, channel, buffer, 0, length, false);
                }
            }
            if !barrier_arrived {
                self.channels[channel]
                    .recording
                    .start(checkpoint, barrier_queued);
            }
        }
    }

    /// The data buffers among the first `count` items of a sender queue.
    pub(super) fn queued_data_items(
        &self,
        channel: DataChannelIndex,
        count: usize,
    ) -> Vec<BufferId> {
        self.channels[channel]
            .sender
            .iter()
            .take(count)
            .filter_map(|i| {
                if let Item::Data(b) = i {
                    Some(*b)
                } else {
                    None
                }
            })
            .collect()
    }

    /// Persists, as output channel state, the part of a queued buffer the consumer has not got yet.
    pub(super) fn persist_unsent(
        &mut self,
        task: TaskIndex,
        checkpoint: u64,
        channel: DataChannelIndex,
        buffer: BufferId,
    ) {
        let b = &self.buffers.buffers[buffer as usize];
        let from = if self.channels[channel].local {
            b.taken
        } else {
            b.sent
        };
        let to = b.records.len();
        self.persist_records(task, checkpoint, channel, buffer, from, to, true);
    }

    /// Copies records `from..to` of a buffer into the snapshot of `checkpoint`, as input channel
    /// state (receiver) or output channel state (sender).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn persist_records(
        &mut self,
        task: TaskIndex,
        checkpoint: u64,
        channel: DataChannelIndex,
        buffer: BufferId,
        from: usize,
        to: usize,
        output: bool,
    ) {
        if from >= to {
            return;
        }
        let records = &self.buffers.buffers[buffer as usize].records[from..to];
        let bytes: u64 = records
            .iter()
            .map(|r| u64::from(self.record_bytes_of_source[r.source_task as usize]))
            .sum();
        let Some(progress) = self.tasks[task].snapshots.get_mut(&checkpoint) else {
            return;
        };
        if progress.forgets_channel_state {
            return;
        }
        progress.stats.persisted_data += bytes;
        progress.needs_channel_state = true;
        let state = if output {
            &mut progress.snapshot.output_channel_state
        } else {
            &mut progress.snapshot.input_channel_state
        };
        match state.iter_mut().find(|(c, _)| *c == channel) {
            Some((_, list)) => list.extend_from_slice(records),
            None => state.push((channel, records.to_vec())),
        }
    }
}
