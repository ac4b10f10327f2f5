//! One channel of the job: the producer's output subpartition, the wire between task managers,
//! and the consumer's input channel, with what travels on it (data, barriers, cancellation
//! markers, end of partition).

use super::buffer::BufferId;
use crate::checkpoint::barrier::channel_persister::InputChannelRecording;
use crate::engine::SimTime;
use crate::topology::job::TaskIndex;
use std::collections::VecDeque;

/// A checkpoint barrier as it travels.
#[derive(Clone, Copy, Debug)]
pub(super) struct Barrier {
    pub(super) checkpoint: u64,
    /// The coordinator's trigger time (the aligned timeout counts from here).
    pub(super) trigger_us: u64,
    /// Overtakes data (unaligned).
    pub(super) priority: bool,
    /// Remote channels: the slices the sender sent before it, set when it leaves the sender (a
    /// receiver's buffers numbered below it are ahead of it in the stream).
    pub(super) buffers_before: u64,
    /// Records the sender put on the channel before it.
    pub(super) records_before: u64,
}

/// What a channel carries.
#[derive(Clone, Copy, Debug)]
pub(super) enum Item {
    Data(BufferId),
    Barrier(Barrier),
    Cancel(u64),
    EndOfPartition,
}

/// One channel: the producer's output subpartition, the wire, and the consumer's input channel.
pub(super) struct Channel {
    pub(super) from: TaskIndex,
    pub(super) to: TaskIndex,
    pub(super) local: bool,
    pub(super) link: usize,
    /// Index of this channel among its consumer's inputs.
    pub(super) input_position: usize,
    /// The buffer the producer is filling.
    pub(super) current: Option<BufferId>,
    /// Output subpartition queue. For a local channel the consumer reads straight from it.
    pub(super) sender: VecDeque<Item>,
    /// Buffers (segments) held by the output subpartition, the one being filled included.
    pub(super) queued_data: u32,
    /// Remote only: slices sent so far (their sequence numbers).
    pub(super) slices_sent: u64,
    /// Remote only: on the wire, with arrival times (FIFO).
    pub(super) in_transit: VecDeque<(SimTime, Item, u32)>,
    /// Bumped when a failover resets the channel: items of an earlier attempt are dropped.
    pub(super) incarnation: u32,
    /// Remote only: received, waiting to be consumed.
    pub(super) receiver: VecDeque<Item>,
    /// Remote only: buffers the receiver can accept.
    pub(super) credit: u32,
    /// Remote only: exclusive and floating receiver buffers held by this channel.
    pub(super) exclusive_held: u32,
    pub(super) floating_held: u32,
    pub(super) waiting_for_floating: bool,
    pub(super) buffers_enqueued: u64,
    pub(super) records_enqueued: u64,
    pub(super) records_consumed: u64,
    /// End of partition consumed.
    pub(super) finished: bool,
    /// Aligned: barrier received, waiting for the other channels.
    pub(super) blocked: bool,
    pub(super) in_poll_queue: bool,
    /// The consumer's recording of pre-barrier data (unaligned, Chandy-Lamport), which ends when
    /// the barrier arrives.
    pub(super) recording: InputChannelRecording,
    /// The newest checkpoint whose barrier the consumer has read here, and the number of slices
    /// the sender had sent before it (remote channels: what in the receiver's queue is ahead of
    /// that barrier).
    pub(super) last_barrier_checkpoint: u64,
    pub(super) last_barrier_buffers_before: u64,
}

impl Channel {
    /// The queue the consumer reads from.
    pub(super) fn consumer_queue(&mut self) -> &mut VecDeque<Item> {
        if self.local {
            &mut self.sender
        } else {
            &mut self.receiver
        }
    }
}
