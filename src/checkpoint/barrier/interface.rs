//! What a barrier handler is told, and what it asks for: the narrow interface between the protocol
//! and the world that runs it.
//!
//! The handler of one task receives an [`Input`] — a barrier read from input `i`, an input's end of
//! partition, the coordinator's trigger, the alignment timer, an abort — and appends the
//! [`Action`]s it decides to a list: block input `i`, take the snapshot, forward the barrier,
//! persist what an input still brings, decline. The simulation world executes them, in order, with
//! time, buffers and CPU; a unit test just reads them; an explorer could execute them over every
//! interleaving. The handler never sees time, buffers, the event queue or the trace.

use crate::checkpoint::coordinator::AbortReason;

/// A checkpoint id (1, 2, … in trigger order; savepoints share the sequence).
pub type CheckpointId = u64;

/// A position among the task's inputs (its input channels, in the order of the job graph).
pub type InputIndex = usize;

/// A barrier as the handler reads it: which checkpoint, and the options it travels with (Flink's
/// `CheckpointBarrier` with its `CheckpointOptions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Barrier {
    /// The checkpoint it belongs to.
    pub checkpoint: CheckpointId,
    /// An unaligned barrier: it overtook the data queued before it and arrived as a priority event.
    pub priority: bool,
    /// It belongs to a savepoint, which is always aligned whatever the configured mode
    /// (`CheckpointOptions.forConfig` never makes a savepoint unaligned).
    pub savepoint: bool,
    /// Aligned-with-timeout: `aligned-checkpoint-timeout` had already passed since the checkpoint
    /// was triggered when the barrier arrived (Flink's `isTimedOut(barrier)`). The world, which
    /// has the clock, works this out.
    pub timed_out: bool,
}

/// Something that happened to the task, as its barrier handler is told of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    /// A barrier was read from input `input`.
    Barrier {
        /// Which input.
        input: InputIndex,
        /// The barrier.
        barrier: Barrier,
    },
    /// Input `input` delivered its end of partition: no more records will come on it, and it
    /// counts as that input's barrier for every pending and future checkpoint (FLIP-147).
    EndOfPartition {
        /// Which input.
        input: InputIndex,
    },
    /// The coordinator's trigger reached the task: a source, or a task all of whose producers
    /// have finished (FLIP-147: their end-of-partition markers are this checkpoint's barriers).
    Trigger {
        /// The checkpoint triggered.
        checkpoint: CheckpointId,
        /// Whether it is a savepoint (always aligned).
        savepoint: bool,
    },
    /// Aligned-with-timeout: the alignment timer of `checkpoint` fired (the world starts it on
    /// [`Action::StartAlignmentTimer`]).
    AlignmentTimerFired {
        /// The checkpoint whose timer fired.
        checkpoint: CheckpointId,
    },
    /// A cancellation marker of `checkpoint` was read (Flink's `CancelCheckpointMarker`): an
    /// upstream task gave the checkpoint up.
    CancelMarker {
        /// The checkpoint cancelled.
        checkpoint: CheckpointId,
    },
    /// The coordinator aborted `checkpoint` (`notifyCheckpointAborted`).
    Aborted {
        /// The checkpoint aborted.
        checkpoint: CheckpointId,
    },
    /// The task could not take or upload its snapshot of `checkpoint` (it refused it, or
    /// checkpoint storage failed): the checkpoint is declined with `reason`.
    SnapshotFailed {
        /// The checkpoint whose snapshot failed.
        checkpoint: CheckpointId,
        /// Why, as the coordinator will record it.
        reason: AbortReason,
    },
}

/// How a snapshot is taken, which decides what its barriers do and whether in-flight data is part
/// of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SnapshotKind {
    /// After every input delivered its barrier: operator state only, no channel state.
    Aligned,
    /// On the first barrier: the barrier overtakes the data queued in front of it, and every record
    /// it overtook or that arrives before the other inputs' barriers becomes channel state.
    Unaligned,
    /// Chandy-Lamport markers: on the first marker, markers do not overtake data, and what arrives
    /// on the other inputs until their markers is recorded as channel state.
    Marker,
}

impl SnapshotKind {
    /// Does this snapshot hold in-flight data (channel state)?
    pub fn records_channel_state(self) -> bool {
        !matches!(self, SnapshotKind::Aligned)
    }
}

/// What a barrier handler asks the world to do. The world executes a list of them in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Stop reading `input`: its data waits in the channel, and, as its buffers fill, the sender
    /// gets no more credit: backpressure builds upstream.
    Block {
        /// Which input.
        input: InputIndex,
    },
    /// Read `input` again.
    Unblock {
        /// Which input.
        input: InputIndex,
    },
    /// Take this task's snapshot of `checkpoint` now: copy the operator state, pre-commit a
    /// two-phase-commit sink, and run the synchronous phase.
    TakeSnapshot {
        /// The checkpoint.
        checkpoint: CheckpointId,
        /// Aligned, unaligned or a Chandy-Lamport marker snapshot.
        kind: SnapshotKind,
        /// Broken variant only: the in-flight data this snapshot should hold is dropped instead.
        forget_channel_state: bool,
    },
    /// Send barrier `checkpoint` on every output. With `priority` it goes ahead of the data queued
    /// in the output, and that data becomes this task's output channel state.
    ForwardBarrier {
        /// The checkpoint.
        checkpoint: CheckpointId,
        /// Overtake queued data (unaligned).
        priority: bool,
    },
    /// Aligned-with-timeout, sending side: a barrier of `checkpoint` still queued in an output at
    /// `trigger + aligned-checkpoint-timeout` is turned into a priority barrier there
    /// (FLINK-27251); until then the snapshot waits for its outputs.
    ConvertStuckBarriersAtTimeout {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// Persist, as input channel state of `checkpoint`, the records already received on the
    /// inputs ahead of their barrier, and keep persisting each input in `awaiting` until its
    /// barrier (or end of partition) arrives.
    PersistInputs {
        /// The checkpoint.
        checkpoint: CheckpointId,
        /// Inputs whose barrier has not arrived yet.
        awaiting: Vec<InputIndex>,
    },
    /// Stop persisting input data for `checkpoint` (it was given up).
    StopPersisting {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// Start the alignment timer of `checkpoint`: it fires at `trigger + aligned-checkpoint-timeout`
    /// (at once if that has passed), as [`Input::AlignmentTimerFired`].
    StartAlignmentTimer {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// Every open input has delivered barrier `checkpoint` (or ended): the alignment is over, the
    /// snapshot's channel state is complete (Flink's `markAlignmentEnd`).
    AlignmentComplete {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// Tell the coordinator this task declines `checkpoint`.
    Decline {
        /// The checkpoint.
        checkpoint: CheckpointId,
        /// Why.
        reason: AbortReason,
    },
    /// Send a cancellation marker of `checkpoint` on every output, so downstream tasks stop
    /// aligning it too.
    ForwardCancel {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// Drop this task's snapshot of `checkpoint`, if it has one.
    DiscardSnapshot {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// This task has given `checkpoint` up: it may go on with its input.
    Abandoned {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
}

impl Action {
    /// The checkpoint this action is about, if any.
    pub fn checkpoint(&self) -> Option<CheckpointId> {
        match *self {
            Action::Block { .. } | Action::Unblock { .. } => None,
            Action::TakeSnapshot { checkpoint, .. }
            | Action::ForwardBarrier { checkpoint, .. }
            | Action::ConvertStuckBarriersAtTimeout { checkpoint }
            | Action::PersistInputs { checkpoint, .. }
            | Action::StopPersisting { checkpoint }
            | Action::StartAlignmentTimer { checkpoint }
            | Action::AlignmentComplete { checkpoint }
            | Action::Decline { checkpoint, .. }
            | Action::ForwardCancel { checkpoint }
            | Action::DiscardSnapshot { checkpoint }
            | Action::Abandoned { checkpoint } => Some(checkpoint),
        }
    }
}

/// A barrier handler: a state machine that turns inputs into actions and touches nothing else.
pub trait HandleBarriers {
    /// Handles one input, appending the actions it decides to `actions` (in the order the world must
    /// execute them).
    fn handle(&mut self, input: Input, actions: &mut Vec<Action>);

    /// The checkpoints this task is aligning right now: between the first barrier (or the trigger)
    /// and the last. The world measures alignment time and the bytes processed meanwhile
    /// (`alignment.processed`) for exactly these.
    fn aligning(&self) -> Vec<CheckpointId>;
}
