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
    /// A marker arrived at `channel`'s receiver. This closes the recording of that channel for
    /// `snapshot` (recorded empty if it is the first marker the receiver sees).
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
            ProcessEvent::SnapshotCompleted { snapshot, .. } => {
                json!({"time_us": time_us, "event": "snapshot_completed", "snapshot": snapshot})
            }
        }
    }
}

/// The event record of a process-graph run, with its running digest.
///
/// Every entry is folded into the digest and counted; it is *kept* only if the record was made
/// with [`ProcessTrace::keeping`] (the default). A run whose record streams through the oracle as
/// it is written (`snapsim run` without `--events` or `--trace`, `snapsim check`) keeps none:
/// memory then follows what is in flight, not the length of the run.
#[derive(Clone, Debug)]
pub struct ProcessTrace {
    events: Vec<ProcessEvent>,
    keep: bool,
    written: usize,
    messages_lost: u64,
    markers_lost: u64,
    digest: Digest,
}

impl Default for ProcessTrace {
    fn default() -> Self {
        ProcessTrace::keeping(0)
    }
}

impl ProcessTrace {
    /// An empty record that keeps every entry, with room for `capacity` of them.
    pub fn keeping(capacity: usize) -> Self {
        ProcessTrace {
            events: Vec::with_capacity(capacity),
            keep: true,
            written: 0,
            messages_lost: 0,
            markers_lost: 0,
            digest: Digest::default(),
        }
    }

    /// An empty record that digests and counts its entries but keeps none.
    pub fn streaming() -> Self {
        ProcessTrace {
            keep: false,
            ..ProcessTrace::keeping(0)
        }
    }

    /// Appends an event (if the record keeps entries) and folds it into the digest.
    #[inline]
    pub fn push(&mut self, event: ProcessEvent) {
        event.fold_into(&mut self.digest);
        self.written += 1;
        match event {
            ProcessEvent::Lost { .. } => self.messages_lost += 1,
            ProcessEvent::MarkerLost { .. } => self.markers_lost += 1,
            _ => {}
        }
        if self.keep {
            self.events.push(event);
        }
    }

    /// All events in order (none if the record was [`streaming`](Self::streaming)).
    pub fn events(&self) -> &[ProcessEvent] {
        &self.events
    }

    /// Whether every entry was kept.
    pub fn is_kept(&self) -> bool {
        self.keep
    }

    /// How many entries were written, kept or not (the position the next one would take).
    pub fn len(&self) -> usize {
        self.written
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// Application messages lost in transit.
    pub fn messages_lost(&self) -> u64 {
        self.messages_lost
    }

    /// Markers lost in transit.
    pub fn markers_lost(&self) -> u64 {
        self.markers_lost
    }

    /// The digest of everything recorded so far.
    pub fn digest(&self) -> Digest {
        self.digest
    }
}

/// One entry of a dataflow (Flink) run's event record: what the job manager and the tasks did
/// about checkpoints, and where each barrier sat in its channel's stream of records.
///
/// Positions are counted in records: `records_before` of a barrier is how many records its sender
/// had put on the channel before it; `records_consumed` is how many records the receiver had taken
/// off the channel at that moment. Comparing the two is how the oracle counts records that crossed a
/// barrier early under at-least-once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataflowEvent {
    /// The coordinator started checkpoint `checkpoint`; `tasks_to_ack` tasks must acknowledge.
    CheckpointTriggered {
        time: SimTime,
        checkpoint: u64,
        tasks_to_ack: u32,
        is_savepoint: bool,
    },
    /// A periodic trigger fell inside `min-pause` and was dropped.
    TriggerDropped { time: SimTime, retry_at: SimTime },
    /// The job manager received a task's acknowledgement.
    AckReceived {
        time: SimTime,
        task: u32,
        checkpoint: u64,
    },
    /// All acknowledgements are in.
    CheckpointCompleted { time: SimTime, checkpoint: u64 },
    /// The checkpoint was aborted.
    CheckpointAborted {
        time: SimTime,
        checkpoint: u64,
        reason: crate::checkpoint::coordinator::AbortReason,
    },
    /// A barrier was put on `channel` (at its head if `priority`).
    BarrierSent {
        time: SimTime,
        channel: u32,
        checkpoint: u64,
        records_before: u64,
        priority: bool,
    },
    /// The receiver of `channel` took barrier `checkpoint` off it.
    BarrierReceived {
        time: SimTime,
        channel: u32,
        checkpoint: u64,
        records_consumed: u64,
    },
    /// A task took its snapshot (start of the synchronous phase).
    SnapshotTaken {
        time: SimTime,
        task: u32,
        checkpoint: u64,
        unaligned: bool,
    },
    /// At a snapshot: how many records the task had taken off one of its input channels.
    InputPosition {
        time: SimTime,
        channel: u32,
        checkpoint: u64,
        records_consumed: u64,
    },
    /// A cancellation marker was put on `channel`.
    CancelMarkerSent {
        time: SimTime,
        channel: u32,
        checkpoint: u64,
    },
    /// A task reached the end of all its input and finished.
    TaskFinished { time: SimTime, task: u32 },
    /// The job failed (too many failed checkpoints, or a restart strategy gave up).
    JobFailed { time: SimTime },
    /// A task crashed.
    TaskFailed { time: SimTime, task: u32 },
    /// Failed tasks were redeployed, restoring `checkpoint` (0: from the beginning).
    JobRestarted { time: SimTime, checkpoint: u64 },
}

impl DataflowEvent {
    /// When it happened.
    pub fn time(&self) -> SimTime {
        match *self {
            DataflowEvent::CheckpointTriggered { time, .. }
            | DataflowEvent::TriggerDropped { time, .. }
            | DataflowEvent::AckReceived { time, .. }
            | DataflowEvent::CheckpointCompleted { time, .. }
            | DataflowEvent::CheckpointAborted { time, .. }
            | DataflowEvent::BarrierSent { time, .. }
            | DataflowEvent::BarrierReceived { time, .. }
            | DataflowEvent::SnapshotTaken { time, .. }
            | DataflowEvent::InputPosition { time, .. }
            | DataflowEvent::CancelMarkerSent { time, .. }
            | DataflowEvent::TaskFinished { time, .. }
            | DataflowEvent::JobFailed { time }
            | DataflowEvent::TaskFailed { time, .. }
            | DataflowEvent::JobRestarted { time, .. } => time,
        }
    }

    fn words(&self) -> [u64; 3] {
        let t = self.time().as_micros();
        match *self {
            DataflowEvent::CheckpointTriggered {
                checkpoint,
                tasks_to_ack,
                is_savepoint,
                ..
            } => [
                t,
                1 << 56 | checkpoint,
                u64::from(tasks_to_ack) << 1 | u64::from(is_savepoint),
            ],
            DataflowEvent::TriggerDropped { retry_at, .. } => [t, 2 << 56, retry_at.as_micros()],
            DataflowEvent::AckReceived {
                task, checkpoint, ..
            } => [t, 3 << 56 | checkpoint, u64::from(task)],
            DataflowEvent::CheckpointCompleted { checkpoint, .. } => [t, 4 << 56 | checkpoint, 0],
            DataflowEvent::CheckpointAborted {
                checkpoint, reason, ..
            } => [t, 5 << 56 | checkpoint, reason as u64],
            DataflowEvent::BarrierSent {
                channel,
                checkpoint,
                records_before,
                priority,
                ..
            } => [
                t,
                6 << 56 | u64::from(priority) << 48 | u64::from(channel) << 24 | checkpoint,
                records_before,
            ],
            DataflowEvent::BarrierReceived {
                channel,
                checkpoint,
                records_consumed,
                ..
            } => [
                t,
                7 << 56 | u64::from(channel) << 24 | checkpoint,
                records_consumed,
            ],
            DataflowEvent::SnapshotTaken {
                task,
                checkpoint,
                unaligned,
                ..
            } => [
                t,
                8 << 56 | u64::from(unaligned) << 48 | u64::from(task) << 24 | checkpoint,
                0,
            ],
            DataflowEvent::InputPosition {
                channel,
                checkpoint,
                records_consumed,
                ..
            } => [
                t,
                9 << 56 | u64::from(channel) << 24 | checkpoint,
                records_consumed,
            ],
            DataflowEvent::CancelMarkerSent {
                channel,
                checkpoint,
                ..
            } => [t, 10 << 56 | u64::from(channel) << 24 | checkpoint, 0],
            DataflowEvent::TaskFinished { task, .. } => [t, 11 << 56, u64::from(task)],
            DataflowEvent::JobFailed { .. } => [t, 12 << 56, 0],
            DataflowEvent::TaskFailed { task, .. } => [t, 13 << 56, u64::from(task)],
            DataflowEvent::JobRestarted { checkpoint, .. } => [t, 14 << 56, checkpoint],
        }
    }

    /// The event as one JSON object for the event log, with task and channel names.
    pub fn to_json(
        &self,
        task_name: &dyn Fn(u32) -> String,
        channel_name: &dyn Fn(u32) -> String,
    ) -> serde_json::Value {
        let time_us = self.time().as_micros();
        match *self {
            DataflowEvent::CheckpointTriggered {
                checkpoint,
                tasks_to_ack,
                is_savepoint,
                ..
            } => {
                json!({"time_us": time_us, "event": "checkpoint_triggered", "checkpoint": checkpoint, "tasks_to_ack": tasks_to_ack, "savepoint": is_savepoint})
            }
            DataflowEvent::TriggerDropped { retry_at, .. } => {
                json!({"time_us": time_us, "event": "trigger_dropped_min_pause", "retry_at_us": retry_at.as_micros()})
            }
            DataflowEvent::AckReceived {
                task, checkpoint, ..
            } => {
                json!({"time_us": time_us, "event": "ack_received", "task": task_name(task), "checkpoint": checkpoint})
            }
            DataflowEvent::CheckpointCompleted { checkpoint, .. } => {
                json!({"time_us": time_us, "event": "checkpoint_completed", "checkpoint": checkpoint})
            }
            DataflowEvent::CheckpointAborted {
                checkpoint, reason, ..
            } => {
                json!({"time_us": time_us, "event": "checkpoint_aborted", "checkpoint": checkpoint, "reason": reason})
            }
            DataflowEvent::BarrierSent {
                channel,
                checkpoint,
                records_before,
                priority,
                ..
            } => {
                json!({"time_us": time_us, "event": "barrier_sent", "channel": channel_name(channel), "checkpoint": checkpoint, "records_before": records_before, "priority": priority})
            }
            DataflowEvent::BarrierReceived {
                channel,
                checkpoint,
                records_consumed,
                ..
            } => {
                json!({"time_us": time_us, "event": "barrier_received", "channel": channel_name(channel), "checkpoint": checkpoint, "records_consumed": records_consumed})
            }
            DataflowEvent::SnapshotTaken {
                task,
                checkpoint,
                unaligned,
                ..
            } => {
                json!({"time_us": time_us, "event": "snapshot_taken", "task": task_name(task), "checkpoint": checkpoint, "unaligned": unaligned})
            }
            DataflowEvent::InputPosition {
                channel,
                checkpoint,
                records_consumed,
                ..
            } => {
                json!({"time_us": time_us, "event": "input_position", "channel": channel_name(channel), "checkpoint": checkpoint, "records_consumed": records_consumed})
            }
            DataflowEvent::CancelMarkerSent {
                channel,
                checkpoint,
                ..
            } => {
                json!({"time_us": time_us, "event": "cancel_marker_sent", "channel": channel_name(channel), "checkpoint": checkpoint})
            }
            DataflowEvent::TaskFinished { task, .. } => {
                json!({"time_us": time_us, "event": "task_finished", "task": task_name(task)})
            }
            DataflowEvent::JobFailed { .. } => json!({"time_us": time_us, "event": "job_failed"}),
            DataflowEvent::TaskFailed { task, .. } => {
                json!({"time_us": time_us, "event": "task_failed", "task": task_name(task)})
            }
            DataflowEvent::JobRestarted { checkpoint, .. } => {
                json!({"time_us": time_us, "event": "job_restarted", "checkpoint_restored": checkpoint})
            }
        }
    }
}

/// The event record of a dataflow run. Its digest also covers every engine event of the run
/// (not only the recorded ones), so two runs with equal digests did exactly the same thing.
#[derive(Clone, Debug, Default)]
pub struct DataflowTrace {
    events: Vec<DataflowEvent>,
    digest: Digest,
    /// Where each checkpoint's completion is in the record, and every task's finish: what a
    /// restore asks, kept as the events are written so that a run with many restores does not
    /// scan the record once per restore.
    completed_at: std::collections::BTreeMap<u64, usize>,
    finished: Vec<(usize, u32)>,
}

impl DataflowTrace {
    /// Appends an event and folds it into the digest.
    #[inline]
    pub fn push(&mut self, event: DataflowEvent) {
        for word in event.words() {
            self.digest.write_u64(word);
        }
        match event {
            DataflowEvent::CheckpointCompleted { checkpoint, .. } => {
                self.completed_at
                    .entry(checkpoint)
                    .or_insert(self.events.len());
            }
            DataflowEvent::TaskFinished { task, .. } => {
                self.finished.push((self.events.len(), task));
            }
            _ => {}
        }
        self.events.push(event);
    }

    /// The position in the record of checkpoint `id`'s completion, if it completed.
    pub fn completion_position(&self, id: u64) -> Option<usize> {
        self.completed_at.get(&id).copied()
    }

    /// The tasks that finished before record position `position`, in record order.
    pub fn tasks_finished_before(&self, position: usize) -> impl Iterator<Item = u32> + '_ {
        self.finished
            .iter()
            .take_while(move |(at, _)| *at < position)
            .map(|(_, task)| *task)
    }

    /// Folds an engine event (not recorded) into the digest.
    #[inline]
    pub fn fold(&mut self, first: u64, second: u64) {
        self.digest.write_u64(first);
        self.digest.write_u64(second);
    }

    /// All recorded events, in order.
    pub fn events(&self) -> &[DataflowEvent] {
        &self.events
    }

    /// The digest so far.
    pub fn digest(&self) -> Digest {
        self.digest
    }
}
