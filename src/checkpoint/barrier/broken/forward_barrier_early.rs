//! Broken: the aligned rules of [`super::super::aligned`], except that the barrier is forwarded
//! downstream as soon as the first one arrives — before the alignment, before the snapshot.
//!
//! The records this task processes between its first and last barrier are in its snapshot, but
//! they reach the next task *after* the barrier, so the next task's snapshot counts them too: the
//! checkpoint holds them twice (the oracle's prefix-consistency check names the record).

use super::super::alignment::{Alignment, AlignmentRules};
use super::super::interface::{Action, InputIndex, SnapshotKind};

/// Aligned, with the barrier forwarded early.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ForwardBarrierEarly;

impl AlignmentRules for ForwardBarrierEarly {
    /// Block the input — and, wrongly, send the barrier on now.
    fn first_barrier(
        &self,
        alignment: &mut Alignment,
        input: InputIndex,
        _priority: bool,
        _timed_out: bool,
        actions: &mut Vec<Action>,
    ) {
        alignment.block(input, actions);
        alignment.forward_barrier(false, actions);
    }

    fn later_barrier(
        &self,
        alignment: &mut Alignment,
        input: InputIndex,
        _priority: bool,
        actions: &mut Vec<Action>,
    ) {
        alignment.block(input, actions);
    }

    /// Snapshot; the barrier went downstream long ago.
    fn all_barriers_in(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        alignment.take_snapshot(SnapshotKind::Aligned, actions);
        if !alignment.barrier_forwarded {
            alignment.forward_barrier(false, actions);
        }
    }

    fn source_snapshot(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        self.all_barriers_in(alignment, actions);
    }
}
