//! One checkpoint being aligned at one task, and the rules that differ between the exactly-once
//! modes.
//!
//! Flink's `SingleCheckpointBarrierHandler` keeps one checkpoint in progress per task and hands the
//! decisions that differ between aligned, unaligned and aligned-with-timeout checkpoints to small
//! `BarrierHandlerState` classes. Here the same split: [`Alignment`] is the bookkeeping (which
//! inputs delivered the barrier, which are blocked, whether the snapshot is taken), the
//! [`AlignmentRules`] of each mode (one file each) say what to do at each step, and
//! [`super::handler`] drives them.

use super::interface::{Action, CheckpointId, InputIndex, SnapshotKind};

/// The progress of one checkpoint at one task.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Alignment {
    /// The checkpoint being aligned.
    pub checkpoint: CheckpointId,
    /// A savepoint: aligned by the aligned rules whatever the configured mode.
    pub savepoint: bool,
    /// Inputs whose barrier has arrived.
    pub seen: Vec<bool>,
    /// Inputs this alignment has blocked.
    pub blocked: Vec<bool>,
    /// This task's snapshot of the checkpoint is taken.
    pub snapshot_taken: bool,
    /// The barrier has been sent downstream.
    pub barrier_forwarded: bool,
    /// Over: every input delivered the barrier (or ended), or the checkpoint was given up.
    pub complete: bool,
}

impl Alignment {
    /// A fresh alignment of `checkpoint` at a task with `inputs` inputs, nothing seen yet.
    pub fn new(checkpoint: CheckpointId, savepoint: bool, inputs: usize) -> Alignment {
        Alignment {
            checkpoint,
            savepoint,
            seen: vec![false; inputs],
            blocked: vec![false; inputs],
            snapshot_taken: false,
            barrier_forwarded: false,
            complete: false,
        }
    }

    /// Blocks `input` (its barrier is in; its data must wait for the others').
    pub fn block(&mut self, input: InputIndex, actions: &mut Vec<Action>) {
        self.blocked[input] = true;
        actions.push(Action::Block { input });
    }

    /// Unblocks every input this alignment blocked, in input order.
    pub fn unblock_all(&mut self, actions: &mut Vec<Action>) {
        for input in 0..self.blocked.len() {
            if std::mem::take(&mut self.blocked[input]) {
                actions.push(Action::Unblock { input });
            }
        }
    }

    /// Takes the snapshot.
    pub fn take_snapshot(&mut self, kind: SnapshotKind, actions: &mut Vec<Action>) {
        self.snapshot_taken = true;
        actions.push(Action::TakeSnapshot {
            checkpoint: self.checkpoint,
            kind,
            forget_channel_state: false,
        });
    }

    /// Sends the barrier on every output, overtaking queued data if `priority`.
    pub fn forward_barrier(&mut self, priority: bool, actions: &mut Vec<Action>) {
        self.barrier_forwarded = true;
        actions.push(Action::ForwardBarrier {
            checkpoint: self.checkpoint,
            priority,
        });
    }

    /// Persists what every input whose barrier has not arrived brings until it does.
    pub fn persist_awaiting_inputs(&self, actions: &mut Vec<Action>) {
        actions.push(Action::PersistInputs {
            checkpoint: self.checkpoint,
            awaiting: (0..self.seen.len()).filter(|&i| !self.seen[i]).collect(),
        });
    }

    /// The unaligned snapshot, now: barriers overtake queued output, inputs still awaiting their
    /// barrier are persisted, and nothing stays blocked.
    pub fn snapshot_unaligned(&mut self, actions: &mut Vec<Action>) {
        self.take_snapshot(SnapshotKind::Unaligned, actions);
        self.forward_barrier(true, actions);
        self.persist_awaiting_inputs(actions);
    }
}

/// What differs between the exactly-once modes, as decisions on an [`Alignment`]. Each mode is one
/// implementation in its own file; the handler calls these at the matching steps and does the rest
/// (new checkpoints, duplicates, end of partition, aborts) the same way for all.
pub trait AlignmentRules {
    /// The first barrier of a new checkpoint arrived on `input` (already marked seen).
    fn first_barrier(
        &self,
        alignment: &mut Alignment,
        input: InputIndex,
        priority: bool,
        timed_out: bool,
        actions: &mut Vec<Action>,
    );

    /// A barrier arrived on another input, and the snapshot is not taken yet. Nothing, for the
    /// modes that snapshot on the first barrier (each input's recording then stops at its own
    /// barrier: the channel itself sees it).
    fn later_barrier(
        &self,
        _alignment: &mut Alignment,
        _input: InputIndex,
        _priority: bool,
        _actions: &mut Vec<Action>,
    ) {
    }

    /// Every open input has delivered the barrier or ended, and the snapshot is not taken yet.
    fn all_barriers_in(&self, alignment: &mut Alignment, actions: &mut Vec<Action>);

    /// The alignment timer fired before the snapshot was taken (aligned-with-timeout only).
    fn timer_fired(&self, _alignment: &mut Alignment, _actions: &mut Vec<Action>) {}

    /// The trigger reached a task with no inputs (a source): it snapshots at once and starts the
    /// barrier on its way.
    fn source_snapshot(&self, alignment: &mut Alignment, actions: &mut Vec<Action>);
}
