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

#[cfg(test)]
mod tests {
    use super::super::interface::SnapshotKind::Aligned;
    use super::super::story::*;
    use crate::checkpoint::SnapshotProtocol;

    #[test]
    fn two_inputs_the_first_barrier_blocks_its_input_the_last_takes_the_snapshot_and_unblocks_both()
    {
        let mut task = Task::new(SnapshotProtocol::Aligned, 2);
        assert_eq!(task.on(barrier(0, 1)), [block(0)]);
        assert_eq!(task.aligning(), [1], "aligning from the first barrier on");
        assert_eq!(
            task.on(barrier(1, 1)),
            [
                block(1),
                snapshot(1, Aligned),
                forward(1),
                unblock(0),
                unblock(1),
                complete(1)
            ]
        );
        assert!(task.aligning().is_empty(), "and no longer after the last");
    }

    #[test]
    fn with_one_input_the_barrier_is_the_whole_alignment() {
        let mut task = Task::new(SnapshotProtocol::Aligned, 1);
        assert_eq!(
            task.on(barrier(0, 1)),
            [
                block(0),
                snapshot(1, Aligned),
                forward(1),
                unblock(0),
                complete(1)
            ]
        );
    }

    #[test]
    fn three_inputs_each_barrier_blocks_its_own_input_until_all_are_in() {
        let mut task = Task::new(SnapshotProtocol::Aligned, 3);
        assert_eq!(task.on(barrier(2, 4)), [block(2)]);
        assert_eq!(task.on(barrier(0, 4)), [block(0)]);
        assert_eq!(
            task.on(barrier(1, 4)),
            [
                block(1),
                snapshot(4, Aligned),
                forward(4),
                unblock(0),
                unblock(1),
                unblock(2),
                complete(4)
            ]
        );
    }

    #[test]
    fn an_ended_input_counts_as_delivered_so_the_alignment_does_not_wait_for_it() {
        let mut task = Task::new(SnapshotProtocol::Aligned, 2);
        assert_eq!(task.on(end_of_partition(1)), []);
        assert_eq!(
            task.on(barrier(0, 1)),
            [
                block(0),
                snapshot(1, Aligned),
                forward(1),
                unblock(0),
                complete(1)
            ]
        );
    }

    #[test]
    fn an_input_ending_during_the_alignment_completes_it() {
        let mut task = Task::new(SnapshotProtocol::Aligned, 2);
        assert_eq!(task.on(barrier(0, 1)), [block(0)]);
        assert_eq!(
            task.on(end_of_partition(1)),
            [snapshot(1, Aligned), forward(1), unblock(0), complete(1)]
        );
    }

    #[test]
    fn a_source_snapshots_at_the_trigger_and_sends_its_barrier() {
        let mut task = Task::new(SnapshotProtocol::Aligned, 0);
        assert_eq!(
            task.on(trigger(1)),
            [snapshot(1, Aligned), forward(1), complete(1)]
        );
    }

    #[test]
    fn checkpoints_follow_one_another() {
        let mut task = Task::new(SnapshotProtocol::Aligned, 1);
        task.on(barrier(0, 1));
        assert_eq!(
            task.on(barrier(0, 2)),
            [
                block(0),
                snapshot(2, Aligned),
                forward(2),
                unblock(0),
                complete(2)
            ],
            "a completed alignment is simply replaced"
        );
    }
}
