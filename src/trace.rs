//! The event record of a run: every observable thing that happened, in the order it happened.
//!
//! **Architecture invariant:** the oracle reads this record (and the scenario), never a protocol's
//! private state. The simulation writes one entry whenever a message is sent, received or lost,
//! and whenever a process records its state or closes a channel's recording. A buggy protocol can
//! record wrong values, but it cannot hide *when* it acted or what really travelled on a channel.
//!
//! Entries are small `Copy` values (no strings, no heap), so recording a million of them costs a
//! few vector growths, not a million allocations. The run's digest is folded from them as they are
//! written.

use crate::engine::{Digest, SimTime};
use crate::topology::{ChannelIndex, ProcessGraph, ProcessIndex};

const _: () = assert!(std::mem::size_of::<ProcessEvent>() == 32);
use serde_json::json;

/// Identifies one application message for the whole run (assigned in send order, from 0).
pub type MessageId = u64;
/// Identifies one snapshot (assigned in initiation order, from 1).
pub type SnapshotId = u32;

/// One entry of a process-graph run's event record.
///
/// Channel and process indices are stored as `u32` so that an entry is 32 bytes: a million-message
/// run writes a few million of them, and memory traffic is most of what recording costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessEvent {
    /// An application message left `channel`'s sender carrying `tokens`.
    Sent {
        time: SimTime,
        channel: u32,
        message: MessageId,
        tokens: i64,
    },
    /// An application message was delivered to `channel`'s receiver.
    Received {
        time: SimTime,
        channel: u32,
        message: MessageId,
        tokens: i64,
    },
    /// An application message vanished in transit (only on channels with a loss probability).
    Lost {
        time: SimTime,
        channel: u32,
        message: MessageId,
        tokens: i64,
    },
    /// A process started snapshot `snapshot` on its own initiative.
    SnapshotInitiated {
        time: SimTime,
        process: u32,
        snapshot: SnapshotId,
    },
    /// A marker was sent on `channel`.
    MarkerSent {
        time: SimTime,
        channel: u32,
        snapshot: SnapshotId,
    },
    /// A marker arrived at `channel`'s receiver.
    MarkerReceived {
        time: SimTime,
        channel: u32,
        snapshot: SnapshotId,
    },
    /// A marker vanished in transit.
    MarkerLost {
        time: SimTime,
        channel: u32,
        snapshot: SnapshotId,
    },
    /// `process` recorded its local state for `snapshot`: it said it held `tokens`.
    StateRecorded {
        time: SimTime,
        process: u32,
        snapshot: SnapshotId,
        tokens: i64,
    },
    /// The receiver of `channel` finished recording that channel for `snapshot`.
    ChannelClosed {
        time: SimTime,
        channel: u32,
        snapshot: SnapshotId,
    },
    /// Every process recorded and every channel closed: the global snapshot is assembled.
    SnapshotCompleted { time: SimTime, snapshot: SnapshotId },
}

impl ProcessEvent {
    /// When it happened.
    pub fn time(&self) -> SimTime {
        match *self {
            ProcessEvent::Sent { time, .. }
            | ProcessEvent::Received { time, .. }
            | ProcessEvent::Lost { time, .. }
            | ProcessEvent::SnapshotInitiated { time, .. }
            | ProcessEvent::MarkerSent { time, .. }
            | ProcessEvent::MarkerReceived { time, .. }
            | ProcessEvent::MarkerLost { time, .. }
            | ProcessEvent::StateRecorded { time, .. }
            | ProcessEvent::ChannelClosed { time, .. }
            | ProcessEvent::SnapshotCompleted { time, .. } => time,
        }
    }

    /// Folds the event into a digest: a tag and every field, as 64-bit words.
    #[inline]
    fn fold_into(&self, digest: &mut Digest) {
        let (tag, a, b, c) = match *self {
            ProcessEvent::Sent {
                channel,
                message,
                tokens,
                ..
            } => (1, channel as u64, message, tokens as u64),
            ProcessEvent::Received {
                channel,
                message,
                tokens,
                ..
            } => (2, channel as u64, message, tokens as u64),
            ProcessEvent::Lost {
                channel,
                message,
                tokens,
                ..
            } => (3, channel as u64, message, tokens as u64),
            ProcessEvent::SnapshotInitiated {
                process, snapshot, ..
            } => (4, process as u64, snapshot as u64, 0),
            ProcessEvent::MarkerSent {
                channel, snapshot, ..
            } => (5, channel as u64, snapshot as u64, 0),
            ProcessEvent::MarkerReceived {
                channel, snapshot, ..
            } => (6, channel as u64, snapshot as u64, 0),
            ProcessEvent::MarkerLost {
                channel, snapshot, ..
            } => (7, channel as u64, snapshot as u64, 0),
            ProcessEvent::StateRecorded {
                process,
                snapshot,
                tokens,
                ..
            } => (8, process as u64, snapshot as u64, tokens as u64),
            ProcessEvent::ChannelClosed {
                channel, snapshot, ..
            } => (9, channel as u64, snapshot as u64, 0),
            ProcessEvent::SnapshotCompleted { snapshot, .. } => (10, snapshot as u64, 0, 0),
        };
        digest.write_u64(self.time().as_micros());
        digest.write_u64(tag << 56 ^ a << 24 ^ b.rotate_left(40));
        digest.write_u64(b ^ c.rotate_left(32));
    }

    /// The event as one JSON object, with names instead of indices, for the event log.
    pub fn to_json(&self, graph: &ProcessGraph) -> serde_json::Value {
        let channel_name = |c: u32| graph.channel_name(c as ChannelIndex);
        let time_us = self.time().as_micros();
        match *self {
            ProcessEvent::Sent {
                channel,
                message,
                tokens,
                ..
            } => {
                json!({"time_us": time_us, "event": "sent", "channel": channel_name(channel), "message": message, "tokens": tokens})
            }
            ProcessEvent::Received {
                channel,
                message,
                tokens,
                ..
            } => {
                json!({"time_us": time_us, "event": "received", "channel": channel_name(channel), "message": message, "tokens": tokens})
            }
            ProcessEvent::Lost {
                channel,
                message,
                tokens,
                ..
            } => {
                json!({"time_us": time_us, "event": "lost", "channel": channel_name(channel), "message": message, "tokens": tokens})
            }
            ProcessEvent::SnapshotInitiated {
                process, snapshot, ..
            } => {
                json!({"time_us": time_us, "event": "snapshot_initiated", "process": graph.processes[process as ProcessIndex].name, "snapshot": snapshot})
            }
            ProcessEvent::MarkerSent {
                channel, snapshot, ..
            } => {
                json!({"time_us": time_us, "event": "marker_sent", "channel": channel_name(channel), "snapshot": snapshot})
            }
            ProcessEvent::MarkerReceived {
                channel, snapshot, ..
            } => {
                json!({"time_us": time_us, "event": "marker_received", "channel": channel_name(channel), "snapshot": snapshot})
            }
            ProcessEvent::MarkerLost {
                channel, snapshot, ..
            } => {
                json!({"time_us": time_us, "event": "marker_lost", "channel": channel_name(channel), "snapshot": snapshot})
            }
            ProcessEvent::StateRecorded {
                process,
                snapshot,
                tokens,
                ..
            } => {
                json!({"time_us": time_us, "event": "state_recorded", "process": graph.processes[process as ProcessIndex].name, "snapshot": snapshot, "tokens": tokens})
            }
            ProcessEvent::ChannelClosed {
                channel, snapshot, ..
            } => {
                json!({"time_us": time_us, "event": "channel_closed", "channel": channel_name(channel), "snapshot": snapshot})
            }
            ProcessEvent::SnapshotCompleted { snapshot, .. } => {
                json!({"time_us": time_us, "event": "snapshot_completed", "snapshot": snapshot})
            }
        }
    }
}

/// The event record of a process-graph run, with its running digest.
#[derive(Clone, Debug, Default)]
pub struct ProcessTrace {
    events: Vec<ProcessEvent>,
    digest: Digest,
}

impl ProcessTrace {
    /// An empty record with room for `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        ProcessTrace {
            events: Vec::with_capacity(capacity),
            digest: Digest::default(),
        }
    }

    /// Appends an event and folds it into the digest.
    #[inline]
    pub fn push(&mut self, event: ProcessEvent) {
        event.fold_into(&mut self.digest);
        self.events.push(event);
    }

    /// All events in order.
    pub fn events(&self) -> &[ProcessEvent] {
        &self.events
    }

    /// The digest of everything recorded so far.
    pub fn digest(&self) -> Digest {
        self.digest
    }
}
