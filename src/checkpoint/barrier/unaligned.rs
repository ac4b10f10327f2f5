//! Unaligned checkpoints (FLIP-76; `execution.checkpointing.unaligned.enabled` with an
//! `aligned-checkpoint-timeout` of 0): Flink's `SingleCheckpointBarrierHandler` in its unaligned
//! states (`AlternatingWaitingForFirstBarrierUnaligned`, `AlternatingCollectingBarriersUnaligned`).
//!
//! The first barrier of checkpoint *n* triggers the snapshot at once. The barrier overtakes the
//! data queued in every output (a priority event), and that overtaken data becomes this task's
//! output channel state. Each input whose barrier has not arrived yet is persisted — what it had
//! already received ahead of its barrier and everything it brings until its barrier — as input
//! channel state. Nothing is ever blocked, so backpressure does not delay the checkpoint; the price
//! is the in-flight data it stores, and replays on recovery.

use super::alignment::{Alignment, AlignmentRules};
use super::interface::{Action, InputIndex, SnapshotKind};

/// The unaligned rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Unaligned;

impl AlignmentRules for Unaligned {
    /// The first barrier: snapshot now, barriers overtake the output, persist the other inputs.
    fn first_barrier(
        &self,
        alignment: &mut Alignment,
        _input: InputIndex,
        _priority: bool,
        _timed_out: bool,
        actions: &mut Vec<Action>,
    ) {
        alignment.snapshot_unaligned(actions);
    }

    /// Only reached without any barrier: every producer had finished, and their end-of-partition
    /// markers were the barriers. Nothing is in flight, so the snapshot is an aligned one.
    fn all_barriers_in(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        alignment.take_snapshot(SnapshotKind::Aligned, actions);
        alignment.forward_barrier(false, actions);
    }

    /// A source snapshots and sends its barrier as a priority event, ahead of its queued output.
    fn source_snapshot(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        alignment.take_snapshot(SnapshotKind::Unaligned, actions);
        alignment.forward_barrier(true, actions);
    }
}

#[cfg(test)]
mod tests {
    use super::super::interface::SnapshotKind::{Aligned, Unaligned};
    use super::super::story::*;
    use crate::checkpoint::SnapshotProtocol;
    use crate::checkpoint::coordinator::AbortReason;

    #[test]
    fn the_first_barrier_snapshots_at_once_overtakes_the_output_and_persists_the_other_inputs() {
        let mut task = Task::new(SnapshotProtocol::Unaligned, 3);
        assert_eq!(
            task.on(barrier(1, 1)),
            [
                snapshot(1, Unaligned),
                forward_priority(1),
                persist(1, &[0, 2])
            ]
        );
        assert_eq!(task.aligning(), [1], "collecting the other barriers");
        assert_eq!(
            task.on(barrier(0, 1)),
            [],
            "its input stops being persisted at its barrier"
        );
        assert_eq!(
            task.on(barrier(2, 1)),
            [complete(1)],
            "the channel state is complete"
        );
        assert!(task.aligning().is_empty());
    }

    #[test]
    fn nothing_is_ever_blocked_so_a_priority_barrier_changes_nothing() {
        let mut task = Task::new(SnapshotProtocol::Unaligned, 2);
        assert_eq!(
            task.on(priority_barrier(0, 1)),
            [
                snapshot(1, Unaligned),
                forward_priority(1),
                persist(1, &[1])
            ]
        );
        assert_eq!(task.on(priority_barrier(1, 1)), [complete(1)]);
    }

    #[test]
    fn a_source_sends_its_barrier_as_a_priority_event() {
        let mut task = Task::new(SnapshotProtocol::Unaligned, 0);
        assert_eq!(
            task.on(trigger(1)),
            [snapshot(1, Unaligned), forward_priority(1), complete(1)]
        );
    }

    #[test]
    fn when_every_producer_has_finished_nothing_is_in_flight_and_the_snapshot_is_aligned() {
        let mut task = Task::new(SnapshotProtocol::Unaligned, 2);
        task.on(end_of_partition(0));
        task.on(end_of_partition(1));
        assert_eq!(
            task.on(trigger(3)),
            [snapshot(3, Aligned), forward(3), complete(3)]
        );
    }

    #[test]
    fn a_savepoint_is_aligned_even_when_checkpoints_are_unaligned() {
        let mut task = Task::new(SnapshotProtocol::Unaligned, 2);
        assert_eq!(task.on(savepoint_barrier(0, 5)), [block(0)]);
        assert_eq!(
            task.on(savepoint_barrier(1, 5)),
            [
                block(1),
                snapshot(5, Aligned),
                forward(5),
                unblock(0),
                unblock(1),
                complete(5)
            ]
        );
    }

    #[test]
    fn a_newer_checkpoint_abandons_an_unaligned_one_still_collecting_barriers() {
        let mut task = Task::new(SnapshotProtocol::Unaligned, 2);
        task.on(barrier(0, 1));
        assert_eq!(
            task.on(barrier(0, 2)),
            then(
                abandon(1, &[], Some(AbortReason::CheckpointDeclinedSubsumed)),
                [
                    snapshot(2, Unaligned),
                    forward_priority(2),
                    persist(2, &[1])
                ]
            )
        );
    }
}
