//! Flink's network stack: records are serialized into buffers that become visible when full or
//! at the buffer timeout; an output subpartition holds at most `max-buffers-per-channel`
//! buffers; between task managers every buffer needs a credit from the receiver (its exclusive
//! buffers, then floating ones from the gate), and credits come back as the receiver reads. That
//! is how backpressure forms by itself and travels back to the sources.

use super::buffer::BufferId;
use super::channel::Item;
use super::event::Event;
use super::state::World;
use super::task::Status;
use crate::engine::SimTime;
use crate::topology::job::{DataChannelIndex, Partitioner, TaskIndex};
use crate::workload::dataflow::{Record, key_group, subtask_for_key_group};

impl World<'_> {
    /// Sends a record on every output edge, by the edge's partitioner (forward, hash by key group,
    /// rebalance, broadcast).
    pub(super) fn emit(&mut self, now: SimTime, task: TaskIndex, record: Record) {
        for edge_index in 0..self.tasks[task].edges.len() {
            let edge = &self.tasks[task].edges[edge_index];
            match edge.partitioner {
                Partitioner::Forward => {
                    let channel = edge.channels[0];
                    self.write_record(now, task, channel, record);
                }
                Partitioner::Hash => {
                    let group = key_group(record.key, self.model.job.max_parallelism);
                    let subtask = subtask_for_key_group(
                        group,
                        edge.consumer_parallelism,
                        self.model.job.max_parallelism,
                    );
                    let channel = edge.channels[subtask as usize];
                    self.write_record(now, task, channel, record);
                }
                Partitioner::Rebalance => {
                    let next = self.tasks[task].rebalance_next[edge_index];
                    let channel = edge.channels[next as usize];
                    self.tasks[task].rebalance_next[edge_index] =
                        (next + 1) % edge.consumer_parallelism;
                    self.write_record(now, task, channel, record);
                }
                Partitioner::Broadcast => {
                    for index in 0..self.tasks[task].edges[edge_index].channels.len() {
                        let channel = self.tasks[task].edges[edge_index].channels[index];
                        self.write_record(now, task, channel, record);
                    }
                }
            }
        }
    }

    /// A record's serialized size.
    pub(super) fn record_bytes(&self, record: &Record) -> u32 {
        self.record_bytes_of_source[record.source_task as usize]
    }

    /// Serializes a record into the channel's current buffer, starting a new one from the output
    /// pool if needed.
    pub(super) fn write_record(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        channel: DataChannelIndex,
        record: Record,
    ) {
        let size = self.record_bytes(&record);
        let segment = self.model.network.segment_bytes;
        let buffer = match self.channels[channel].current {
            Some(buffer) => buffer,
            None => {
                // A new segment from the output pool joins the subpartition queue at once; the
                // consumer sees its records as they are flushed.
                let buffer = self.buffers.allocate(0);
                let c = &mut self.channels[channel];
                c.current = Some(buffer);
                c.queued_data += 1;
                c.sender.push_back(Item::Data(buffer));
                self.tasks[task].pool_used += 1;
                buffer
            }
        };
        let data = &mut self.buffers.buffers[buffer as usize];
        data.records.push(record);
        data.bytes += size;
        self.channels[channel].records_enqueued += 1;
        let full = data.bytes + size > segment;
        self.note_channel_level(now, channel);
        if full {
            self.finish_buffer(now, channel);
        }
    }

    /// The producer's current buffer is full, or must end before an event: it is finished and all
    /// of it becomes visible.
    pub(super) fn finish_buffer(&mut self, now: SimTime, channel: DataChannelIndex) {
        let Some(buffer) = self.channels[channel].current.take() else {
            return;
        };
        let b = &mut self.buffers.buffers[buffer as usize];
        b.finished = true;
        b.available = b.records.len();
        self.channels[channel].buffers_enqueued += 1;
        self.after_enqueue(now, channel);
    }

    /// The buffer timeout: what was written so far becomes visible, the buffer stays open.
    pub(super) fn flush_buffer(&mut self, now: SimTime, channel: DataChannelIndex) {
        let Some(buffer) = self.channels[channel].current else {
            return;
        };
        let b = &mut self.buffers.buffers[buffer as usize];
        if b.available < b.records.len() {
            b.available = b.records.len();
            self.after_enqueue(now, channel);
        }
    }

    /// Makes everything written on the task's outputs visible (the buffer timeout).
    pub(super) fn flush_outputs(&mut self, now: SimTime, task: TaskIndex) {
        for index in 0..self.tasks[task].outputs.len() {
            let channel = self.tasks[task].outputs[index];
            self.flush_buffer(now, channel);
        }
    }

    /// Something was added to the sender queue: a local consumer can see it; a remote one needs it
    /// sent.
    pub(super) fn after_enqueue(&mut self, now: SimTime, channel: DataChannelIndex) {
        if self.channels[channel].local {
            let consumer = self.channels[channel].to;
            self.enqueue_poll(consumer, channel);
            self.wake(consumer);
        } else {
            self.transmit(now, channel);
        }
    }

    /// Sends what can be sent: events always, data slices only against credit.
    pub(super) fn transmit(&mut self, now: SimTime, channel: DataChannelIndex) {
        if self.channels[channel].sender.is_empty() {
            return;
        }
        let (from, to) = (self.channels[channel].from, self.channels[channel].to);
        if let Some(heals_at) = self.partitioned(now, from, to) {
            // Network partition: nothing crosses until it heals.
            self.queue.schedule_at(
                heals_at,
                Event::Retransmit {
                    channel: channel as u32,
                },
            );
            return;
        }
        let spike_us = self.latency_spike_us(now);
        loop {
            let Some(&head) = self.channels[channel].sender.front() else {
                return;
            };
            let (item, bytes) = match head {
                Item::Data(buffer) => {
                    let b = &self.buffers.buffers[buffer as usize];
                    let (from, to, finished, length) =
                        (b.sent, b.available, b.finished, b.records.len());
                    if from == to {
                        if finished && to == length {
                            self.release_sender_segment(channel, buffer);
                            continue;
                        }
                        return;
                    }
                    if self.channels[channel].credit == 0 {
                        self.request_floating(now, channel);
                        return;
                    }
                    self.channels[channel].credit -= 1;
                    let sequence = self.channels[channel].slices_sent;
                    self.channels[channel].slices_sent += 1;
                    let slice = self.buffers.allocate(sequence);
                    let records: Vec<Record> =
                        self.buffers.buffers[buffer as usize].records[from..to].to_vec();
                    let bytes: u32 = records.iter().map(|r| self.record_bytes(r)).sum();
                    let s = &mut self.buffers.buffers[slice as usize];
                    s.records.extend_from_slice(&records);
                    s.bytes = bytes;
                    s.available = records.len();
                    s.finished = true;
                    self.buffers.buffers[buffer as usize].sent = to;
                    if finished && to == length {
                        self.release_sender_segment(channel, buffer);
                    }
                    (Item::Data(slice), u64::from(bytes))
                }
                _ => {
                    let c = &mut self.channels[channel];
                    c.sender.pop_front();
                    let mut item = head;
                    if let Item::Barrier(barrier) = &mut item {
                        // Its place in the stream: the slices sent before it (an ordinary
                        // barrier waited behind data that was sent after it was queued).
                        barrier.buffers_before = c.slices_sent;
                        self.barrier_left_sender(now, channel, *barrier);
                    }
                    (item, 64)
                }
            };
            let c = &self.channels[channel];
            let link = c.link;
            let network = &self.model.network;
            let start = now.max(self.link_free_at[link]);
            let wire_us = (u128::from(bytes) * 1_000_000
                / u128::from(network.remote_bandwidth_bytes_per_s))
                as u64;
            self.link_free_at[link] = start.after_us(wire_us);
            let arrival = start
                .after_us(wire_us + network.remote_latency_us + spike_us)
                .max(c.in_transit.back().map_or(SimTime::ZERO, |(t, _, _)| *t));
            let c = &mut self.channels[channel];
            let incarnation = c.incarnation;
            c.in_transit.push_back((arrival, item, incarnation));
            if c.in_transit.len() == 1 {
                self.queue.schedule_at(
                    arrival,
                    Event::Arrive {
                        channel: channel as u32,
                    },
                );
            }
        }
    }

    /// A remote sender's segment has been sent in full: it leaves the queue and the output pool.
    pub(super) fn release_sender_segment(&mut self, channel: DataChannelIndex, buffer: BufferId) {
        let c = &mut self.channels[channel];
        c.sender.pop_front();
        c.queued_data -= 1;
        let producer = c.from;
        self.buffers.release(buffer);
        self.tasks[producer].pool_used -= 1;
        self.wake(producer);
    }

    /// A remote channel out of credit asks its gate for a floating buffer; without one free it
    /// waits in line.
    pub(super) fn request_floating(&mut self, now: SimTime, channel: DataChannelIndex) {
        let c = &mut self.channels[channel];
        if c.waiting_for_floating {
            return;
        }
        let consumer = c.to;
        if self.floating_free[consumer] > 0 {
            self.floating_free[consumer] -= 1;
            c.floating_held += 1;
            // The backlog announcement travels to the receiver and the credit comes back.
            let incarnation = c.incarnation;
            self.queue.schedule_at(
                now.after_us(2 * self.model.network.remote_latency_us),
                Event::CreditArrive {
                    channel: channel as u32,
                    incarnation,
                },
            );
        } else {
            c.waiting_for_floating = true;
            self.floating_waiting[consumer].push_back(channel);
        }
    }

    /// The head of a remote channel's wire arrives at the receiver.
    pub(super) fn arrive(&mut self, channel: DataChannelIndex) {
        let (_, item, incarnation) = self.channels[channel]
            .in_transit
            .pop_front()
            .expect("an arrival has an item");
        if let Some(&(next, _, _)) = self.channels[channel].in_transit.front() {
            self.queue.schedule_at(
                next,
                Event::Arrive {
                    channel: channel as u32,
                },
            );
        }
        if incarnation != self.channels[channel].incarnation {
            // Sent by an attempt that a failover cancelled: dropped with the in-flight data.
            if let Item::Data(buffer) = item {
                self.buffers.release(buffer);
            }
            return;
        }
        let consumer = self.channels[channel].to;
        match item {
            Item::Data(buffer) => {
                let c = &mut self.channels[channel];
                if c.exclusive_held < self.model.network.exclusive_buffers_per_channel {
                    c.exclusive_held += 1;
                }
                if let Some(checkpoint) = c.recording.recording() {
                    let length = self.buffers.buffers[buffer as usize].records.len();
                    self.persist_records(consumer, checkpoint, channel, buffer, 0, length, false);
                }
                self.channels[channel].receiver.push_back(item);
            }
            Item::Barrier(barrier) if barrier.priority => {
                self.channels[channel].receiver.push_front(item);
                self.priority_visible(consumer, channel, barrier.checkpoint);
            }
            Item::Barrier(barrier) => {
                // What arrives behind it belongs after the checkpoint: the recording ends here.
                let c = &mut self.channels[channel];
                c.recording.barrier_arrived(barrier.checkpoint, false);
                c.receiver.push_back(item);
            }
            _ => self.channels[channel].receiver.push_back(item),
        }
        self.enqueue_poll(consumer, channel);
        self.wake(consumer);
    }

    /// The consumer has read every record of a slice.
    pub(super) fn slice_done(&mut self, now: SimTime, channel: DataChannelIndex, buffer: BufferId) {
        if self.channels[channel].local {
            // A local slice is part of the producer's segment, recycled once fully taken and read.
            if self.buffers.buffers[buffer as usize].popped {
                self.slice_done_without_reading(channel, buffer);
            }
            return;
        }
        // A remote slice occupied a receiver buffer: free it, and give the sender credit back.
        let replayed = self.buffers.buffers[buffer as usize].replayed;
        self.buffers.release(buffer);
        if replayed {
            return;
        }
        let c = &mut self.channels[channel];
        let consumer = c.to;
        if c.floating_held > 0
            && c.exclusive_held <= self.model.network.exclusive_buffers_per_channel
        {
            c.floating_held -= 1;
            self.floating_free[consumer] += 1;
            if let Some(waiting) = self.floating_waiting[consumer].pop_front() {
                self.channels[waiting].waiting_for_floating = false;
                self.request_floating(now, waiting);
            }
        } else {
            c.exclusive_held = c.exclusive_held.saturating_sub(1);
            let incarnation = c.incarnation;
            let at = now.after_us(self.model.network.remote_latency_us);
            self.queue.schedule_at(
                at,
                Event::CreditArrive {
                    channel: channel as u32,
                    incarnation,
                },
            );
        }
    }

    /// A local segment that is finished, fully taken and not being read goes back to the pool.
    pub(super) fn slice_done_without_reading(
        &mut self,
        channel: DataChannelIndex,
        buffer: BufferId,
    ) {
        let producer = self.channels[channel].from;
        self.buffers.release(buffer);
        self.tasks[producer].pool_used -= 1;
        self.wake(producer);
    }

    /// A priority barrier is now at the head of the consumer's queue: it stops the recording of
    /// that channel at once (what follows it was overtaken, and is the sender's to persist), and
    /// the consumer will handle it before its next record.
    pub(super) fn priority_visible(
        &mut self,
        consumer: TaskIndex,
        channel: DataChannelIndex,
        checkpoint: u64,
    ) {
        self.channels[channel]
            .recording
            .barrier_arrived(checkpoint, true);
        self.tasks[consumer].priority.push_back(channel);
        self.wake(consumer);
    }

    /// The buffer timeout (`execution.buffer-timeout.interval`): what the task has written so far
    /// becomes visible to its consumers, and the timer starts again.
    pub(super) fn flush_timer(&mut self, now: SimTime, task: TaskIndex) {
        if self.tasks[task].status != Status::Finished {
            self.flush_outputs(now, task);
            self.queue.schedule_after(
                self.model.network.buffer_timeout_us,
                Event::FlushTimer { task: task as u32 },
            );
        }
    }

    /// A credit from the receiver arrives: one more buffer may be sent (unless the channel was
    /// reset by a failover since).
    pub(super) fn credit_arrived(
        &mut self,
        now: SimTime,
        channel: DataChannelIndex,
        incarnation: u32,
    ) {
        if incarnation == self.channels[channel].incarnation {
            self.channels[channel].credit += 1;
            self.transmit(now, channel);
        }
    }
}
