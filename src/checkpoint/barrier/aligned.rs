//! Aligned exactly-once checkpoints: Flink's `SingleCheckpointBarrierHandler` in its aligned states
//! (`WaitingForFirstBarrier`, `CollectingBarriers`), and the barrier alignment of the ABS paper
//! (Carbone et al., 2015, §3.2).
//!
//! An input that delivered barrier *n* is blocked: what it brings after the barrier belongs after
//! the snapshot, so it must wait. When every open input has delivered barrier *n*, the task takes
//! its snapshot — which then holds exactly the records before the barriers — forwards the barrier,
//! and unblocks everything. No in-flight data is ever part of the snapshot; the price is the
//! waiting, which under backpressure can be long.

use super::alignment::{Alignment, AlignmentRules};
use super::interface::{Action, InputIndex, SnapshotKind};

/// The aligned rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Aligned;

impl AlignmentRules for Aligned {
    /// The first barrier blocks its input; the others keep flowing until theirs arrive.
    fn first_barrier(
        &self,
        alignment: &mut Alignment,
        input: InputIndex,
        _priority: bool,
        _timed_out: bool,
        actions: &mut Vec<Action>,
    ) {
        alignment.block(input, actions);
    }

    /// Every later barrier blocks its input too.
    fn later_barrier(
        &self,
        alignment: &mut Alignment,
        input: InputIndex,
        _priority: bool,
        actions: &mut Vec<Action>,
    ) {
        alignment.block(input, actions);
    }

    /// Aligned: snapshot, then the barrier goes downstream behind all the data before it (the
    /// handler unblocks the inputs next).
    fn all_barriers_in(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        alignment.take_snapshot(SnapshotKind::Aligned, actions);
        alignment.forward_barrier(false, actions);
    }

    /// A source has nothing to align: snapshot and send the barrier.
    fn source_snapshot(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        self.all_barriers_in(alignment, actions);
    }
}
