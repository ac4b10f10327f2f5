//! What each subtask was doing for the checkpoint under way, instant by instant, read from the
//! event record: waiting for the trigger (a source) or for the first barrier, aligning (some of
//! its inputs' barriers are in), snapshotting, acknowledged — or just running when no checkpoint
//! is pending. The `phase-at-failure` fact and the web view's subtask table both read it.
//!
//! "The checkpoint under way" is the newest one triggered that has neither completed nor been
//! aborted. The phase is only what the record shows: a barrier taken off an input, the snapshot
//! taken, the acknowledgement received by the job manager.

use super::DataflowRun;
use crate::trace::DataflowEvent;
use std::fmt;

/// A subtask's part in the checkpoint under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointPhase {
    /// No checkpoint is pending.
    Running,
    /// A source, before the trigger RPC reaches it.
    WaitingForTrigger { checkpoint: u64 },
    /// A task with inputs, before the first barrier is taken off one of them.
    WaitingForFirstBarrier { checkpoint: u64 },
    /// Some but not all of its inputs' barriers are in.
    Aligning {
        checkpoint: u64,
        barriers: usize,
        inputs: usize,
    },
    /// The snapshot is taken; the acknowledgement has not reached the job manager yet.
    Snapshotting { checkpoint: u64 },
    /// The job manager has its acknowledgement.
    Acknowledged { checkpoint: u64 },
}

impl fmt::Display for CheckpointPhase {
    /// `running`, or `aligning checkpoint 4` — the words the `phase-at-failure` fact compares.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CheckpointPhase::Running => write!(f, "running"),
            CheckpointPhase::WaitingForTrigger { checkpoint } => {
                write!(f, "waiting for the trigger of checkpoint {checkpoint}")
            }
            CheckpointPhase::WaitingForFirstBarrier { checkpoint } => {
                write!(
                    f,
                    "waiting for the first barrier of checkpoint {checkpoint}"
                )
            }
            CheckpointPhase::Aligning { checkpoint, .. } => {
                write!(f, "aligning checkpoint {checkpoint}")
            }
            CheckpointPhase::Snapshotting { checkpoint } => {
                write!(f, "snapshotting checkpoint {checkpoint}")
            }
            CheckpointPhase::Acknowledged { checkpoint } => {
                write!(f, "acknowledged checkpoint {checkpoint}")
            }
        }
    }
}

impl CheckpointPhase {
    /// The phase with its counts: `aligning checkpoint 4 (1 of 2 inputs' barriers in)`.
    pub fn detail(&self) -> String {
        match *self {
            CheckpointPhase::Aligning {
                barriers, inputs, ..
            } => format!("{self} ({barriers} of {inputs} inputs' barriers in)"),
            _ => self.to_string(),
        }
    }
}

/// Per subtask, every change of its phase: `(at_us, phase)`, in time order, starting with
/// `(0, Running)`. The phase at an instant is the last change at or before it.
pub fn phase_changes(run: &DataflowRun) -> Vec<Vec<(u64, CheckpointPhase)>> {
    let graph = &run.graph;
    let tasks = graph.tasks.len();
    let mut changes: Vec<Vec<(u64, CheckpointPhase)>> =
        vec![vec![(0, CheckpointPhase::Running)]; tasks];
    let mut pending: Option<u64> = None;
    // For the pending checkpoint: barriers in, snapshot taken, acknowledged, per subtask.
    let mut barriers = vec![0usize; tasks];
    let mut snapshotted = vec![false; tasks];
    let mut acknowledged = vec![false; tasks];
    let phase = |task: usize,
                 pending: Option<u64>,
                 barriers: &[usize],
                 snapshotted: &[bool],
                 acknowledged: &[bool]| {
        let Some(checkpoint) = pending else {
            return CheckpointPhase::Running;
        };
        let inputs = graph.tasks[task].inputs.len();
        if acknowledged[task] {
            CheckpointPhase::Acknowledged { checkpoint }
        } else if snapshotted[task] {
            CheckpointPhase::Snapshotting { checkpoint }
        } else if barriers[task] > 0 {
            CheckpointPhase::Aligning {
                checkpoint,
                barriers: barriers[task],
                inputs,
            }
        } else if inputs == 0 {
            CheckpointPhase::WaitingForTrigger { checkpoint }
        } else {
            CheckpointPhase::WaitingForFirstBarrier { checkpoint }
        }
    };
    for event in run.trace.events() {
        let at_us = event.time().as_micros();
        // Which subtasks this event can move: all of them when the pending checkpoint changes.
        let touched: Option<usize> = match *event {
            DataflowEvent::CheckpointTriggered { checkpoint, .. } => {
                pending = Some(checkpoint);
                barriers.fill(0);
                snapshotted.fill(false);
                acknowledged.fill(false);
                None
            }
            DataflowEvent::CheckpointCompleted { checkpoint, .. }
            | DataflowEvent::CheckpointAborted { checkpoint, .. }
                if pending == Some(checkpoint) =>
            {
                pending = None;
                None
            }
            DataflowEvent::BarrierReceived {
                channel,
                checkpoint,
                ..
            } if pending == Some(checkpoint) => {
                let task = graph.channels[channel as usize].to;
                barriers[task] += 1;
                Some(task)
            }
            DataflowEvent::SnapshotTaken {
                task, checkpoint, ..
            } if pending == Some(checkpoint) => {
                snapshotted[task as usize] = true;
                Some(task as usize)
            }
            DataflowEvent::AckReceived {
                task, checkpoint, ..
            } if pending == Some(checkpoint) => {
                acknowledged[task as usize] = true;
                Some(task as usize)
            }
            _ => continue,
        };
        let range = match touched {
            Some(task) => task..task + 1,
            None => 0..tasks,
        };
        for task in range {
            let now = phase(task, pending, &barriers, &snapshotted, &acknowledged);
            let list = &mut changes[task];
            match list.last_mut() {
                Some(last) if last.1 == now => {}
                Some(last) if last.0 == at_us => last.1 = now,
                _ => list.push((at_us, now)),
            }
        }
    }
    changes
}

/// The phase of `task` at `at_us` (every event at that instant included).
pub fn phase_at(run: &DataflowRun, task: usize, at_us: u64) -> CheckpointPhase {
    phase_changes(run)[task]
        .iter()
        .take_while(|(at, _)| *at <= at_us)
        .last()
        .map_or(CheckpointPhase::Running, |&(_, phase)| phase)
}
