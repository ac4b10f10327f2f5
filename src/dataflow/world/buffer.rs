//! Network buffers (Flink's memory segments): serialized records of one channel, up to
//! `segment-size` bytes, recycled through a slab so a run allocates them once.

use crate::workload::dataflow::Record;

pub(super) type BufferId = u32;

/// A network buffer (a memory segment): serialized records, up to `segment-size` bytes.
///
/// As in Flink, the producer keeps appending to its current buffer until it is full; a flush
/// (the buffer timeout) only makes what was written so far *visible* to the consumer
/// (`available`), who takes it as a slice. Under backpressure the consumer is far behind, so by the
/// time it reaches a buffer the buffer is full: queued in-flight data is whole 32 KiB segments.
pub(super) struct Buffer {
    pub(super) records: Vec<Record>,
    pub(super) bytes: u32,
    /// Remote slices: position in the channel's stream of slices sent (0, 1, 2, …).
    pub(super) sequence: u64,
    /// Records the consumer may read (flushed or full).
    pub(super) available: usize,
    /// Local channels: records the consumer has already taken as slices.
    pub(super) taken: usize,
    /// Remote channels: records already sent as slices.
    pub(super) sent: usize,
    /// No more records will be written.
    pub(super) finished: bool,
    /// Removed from its queue; recycled once no slice of it is being read.
    pub(super) popped: bool,
    /// Channel state put back after a restore (remote: occupies no receiver credit).
    pub(super) replayed: bool,
}

/// Buffers are recycled: a freed buffer keeps its record vector's capacity.
#[derive(Default)]
pub(super) struct BufferSlab {
    pub(super) buffers: Vec<Buffer>,
    pub(super) free: Vec<BufferId>,
}

impl BufferSlab {
    /// A buffer for a slice numbered `sequence`: a recycled one when there is one.
    pub(super) fn allocate(&mut self, sequence: u64) -> BufferId {
        if let Some(id) = self.free.pop() {
            let buffer = &mut self.buffers[id as usize];
            buffer.records.clear();
            buffer.bytes = 0;
            buffer.sequence = sequence;
            buffer.available = 0;
            buffer.taken = 0;
            buffer.sent = 0;
            buffer.finished = false;
            buffer.popped = false;
            buffer.replayed = false;
            id
        } else {
            self.buffers.push(Buffer {
                records: Vec::with_capacity(256),
                bytes: 0,
                sequence,
                available: 0,
                taken: 0,
                sent: 0,
                finished: false,
                popped: false,
                replayed: false,
            });
            (self.buffers.len() - 1) as BufferId
        }
    }

    /// Gives a buffer back for reuse.
    pub(super) fn release(&mut self, id: BufferId) {
        self.free.push(id);
    }
}
