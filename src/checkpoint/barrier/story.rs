//! Test helpers: a task's barrier handler driven input by input, and short names for the actions,
//! so each mode's tests read as the story a textbook tells.

use super::TaskBarrierHandler;
use super::interface::{Action, Barrier, CheckpointId, HandleBarriers, Input, SnapshotKind};
use crate::checkpoint::config::{DataflowVariant, SnapshotProtocol};
use crate::checkpoint::coordinator::AbortReason;

/// One task with `inputs` inputs, running the handler of `protocol` (or a broken `variant`).
pub struct Task {
    pub handler: TaskBarrierHandler,
}

impl Task {
    pub fn new(protocol: SnapshotProtocol, inputs: usize) -> Task {
        Task::broken(protocol, DataflowVariant::Correct, inputs)
    }

    pub fn broken(protocol: SnapshotProtocol, variant: DataflowVariant, inputs: usize) -> Task {
        Task {
            handler: TaskBarrierHandler::new(protocol, variant, inputs),
        }
    }

    /// What the handler does on `input`.
    pub fn on(&mut self, input: Input) -> Vec<Action> {
        let mut actions = Vec::new();
        self.handler.handle(input, &mut actions);
        actions
    }

    /// The checkpoints it is aligning now.
    pub fn aligning(&self) -> Vec<CheckpointId> {
        self.handler.aligning()
    }
}

pub const AWT: SnapshotProtocol = SnapshotProtocol::AlignedWithTimeout { timeout_us: 1 };

fn arrives(
    input: usize,
    checkpoint: CheckpointId,
    priority: bool,
    savepoint: bool,
    timed_out: bool,
) -> Input {
    Input::Barrier {
        input,
        barrier: Barrier {
            checkpoint,
            priority,
            savepoint,
            timed_out,
        },
    }
}

/// Barrier `checkpoint` arrives on `input`, in time, behind the data.
pub fn barrier(input: usize, checkpoint: CheckpointId) -> Input {
    arrives(input, checkpoint, false, false, false)
}

/// A priority (unaligned) barrier arrives: it overtook the data.
pub fn priority_barrier(input: usize, checkpoint: CheckpointId) -> Input {
    arrives(input, checkpoint, true, false, false)
}

/// A barrier arrives after `aligned-checkpoint-timeout` has passed.
pub fn late_barrier(input: usize, checkpoint: CheckpointId) -> Input {
    arrives(input, checkpoint, false, false, true)
}

/// A savepoint's barrier arrives.
pub fn savepoint_barrier(input: usize, checkpoint: CheckpointId) -> Input {
    arrives(input, checkpoint, false, true, false)
}

pub fn end_of_partition(input: usize) -> Input {
    Input::EndOfPartition { input }
}

pub fn trigger(checkpoint: CheckpointId) -> Input {
    Input::Trigger {
        checkpoint,
        savepoint: false,
    }
}

pub fn timer_fires(checkpoint: CheckpointId) -> Input {
    Input::AlignmentTimerFired { checkpoint }
}

pub fn cancel_marker(checkpoint: CheckpointId) -> Input {
    Input::CancelMarker { checkpoint }
}

pub fn aborted(checkpoint: CheckpointId) -> Input {
    Input::Aborted { checkpoint }
}

pub fn snapshot_failed(checkpoint: CheckpointId, reason: AbortReason) -> Input {
    Input::SnapshotFailed { checkpoint, reason }
}

pub fn block(input: usize) -> Action {
    Action::Block { input }
}

pub fn unblock(input: usize) -> Action {
    Action::Unblock { input }
}

pub fn snapshot(checkpoint: CheckpointId, kind: SnapshotKind) -> Action {
    Action::TakeSnapshot {
        checkpoint,
        kind,
        forget_channel_state: false,
    }
}

pub fn forward(checkpoint: CheckpointId) -> Action {
    Action::ForwardBarrier {
        checkpoint,
        priority: false,
    }
}

pub fn forward_priority(checkpoint: CheckpointId) -> Action {
    Action::ForwardBarrier {
        checkpoint,
        priority: true,
    }
}

pub fn persist(checkpoint: CheckpointId, awaiting: &[usize]) -> Action {
    Action::PersistInputs {
        checkpoint,
        awaiting: awaiting.to_vec(),
    }
}

pub fn complete(checkpoint: CheckpointId) -> Action {
    Action::AlignmentComplete { checkpoint }
}

/// What giving `checkpoint` up looks like when `blocked` inputs were blocked and the decline has
/// `reason` (none when the coordinator already knows).
pub fn abandon(
    checkpoint: CheckpointId,
    blocked: &[usize],
    reason: Option<AbortReason>,
) -> Vec<Action> {
    let mut actions = vec![Action::StopPersisting { checkpoint }];
    actions.extend(blocked.iter().map(|&input| unblock(input)));
    actions.push(Action::DiscardSnapshot { checkpoint });
    if let Some(reason) = reason {
        actions.push(Action::Decline { checkpoint, reason });
    }
    actions.push(Action::ForwardCancel { checkpoint });
    actions.push(Action::Abandoned { checkpoint });
    actions
}

/// Concatenates action lists.
pub fn then(mut first: Vec<Action>, rest: impl IntoIterator<Item = Action>) -> Vec<Action> {
    first.extend(rest);
    first
}
