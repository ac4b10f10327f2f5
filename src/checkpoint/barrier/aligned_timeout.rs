//! Aligned checkpoints with a timeout (`execution.checkpointing.aligned-checkpoint-timeout`,
//! FLIP-76 and FLINK-19680): Flink's alternating `SingleCheckpointBarrierHandler` states
//! (`AlternatingWaitingForFirstBarrier`, `AlternatingCollectingBarriers`, then the unaligned ones).
//!
//! A checkpoint starts aligned. The timeout counts from the coordinator's trigger, so the start
//! delay is included. When it passes during the alignment — the timer fires, or a barrier arrives
//! already late, or an upstream task already switched and its barrier arrives as a priority
//! event — the task switches to unaligned for this checkpoint: it snapshots at once, its barriers
//! overtake, and the inputs still awaiting their barrier are persisted. On the sending side a
//! barrier still stuck in an output queue at the timeout is converted to a priority barrier there.

use super::alignment::{Alignment, AlignmentRules};
use super::interface::{Action, InputIndex, SnapshotKind};

/// The aligned-with-timeout rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AlignedWithTimeout;

impl AlignedWithTimeout {
    /// The timeout has passed: snapshot unaligned now, and nothing stays blocked.
    fn switch_to_unaligned(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        alignment.snapshot_unaligned(actions);
        alignment.unblock_all(actions);
    }
}

impl AlignmentRules for AlignedWithTimeout {
    /// The first barrier: unaligned at once if the timeout has passed or upstream already
    /// switched; otherwise block its input, as aligned, and start the timer.
    fn first_barrier(
        &self,
        alignment: &mut Alignment,
        input: InputIndex,
        priority: bool,
        timed_out: bool,
        actions: &mut Vec<Action>,
    ) {
        if timed_out || priority {
            self.switch_to_unaligned(alignment, actions);
        } else {
            alignment.block(input, actions);
            actions.push(Action::StartAlignmentTimer {
                checkpoint: alignment.checkpoint,
            });
        }
    }

    /// A later barrier: a priority one means upstream switched, so switch too; otherwise block.
    fn later_barrier(
        &self,
        alignment: &mut Alignment,
        input: InputIndex,
        priority: bool,
        actions: &mut Vec<Action>,
    ) {
        if priority {
            self.switch_to_unaligned(alignment, actions);
        } else {
            alignment.block(input, actions);
        }
    }

    /// Aligned in time: an aligned snapshot, whose barriers may still be converted where they are
    /// stuck in an output queue at the timeout.
    fn all_barriers_in(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        alignment.take_snapshot(SnapshotKind::Aligned, actions);
        alignment.forward_barrier(false, actions);
        actions.push(Action::ConvertStuckBarriersAtTimeout {
            checkpoint: alignment.checkpoint,
        });
    }

    /// Too late: switch to unaligned.
    fn timer_fired(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        self.switch_to_unaligned(alignment, actions);
    }

    /// A source's barrier starts aligned, convertible at the timeout.
    fn source_snapshot(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        self.all_barriers_in(alignment, actions);
    }
}

#[cfg(test)]
mod tests {
    use super::super::interface::Action;
    use super::super::interface::SnapshotKind::{Aligned, Unaligned};
    use super::super::story::*;

    fn convert_at_timeout(checkpoint: u64) -> Action {
        Action::ConvertStuckBarriersAtTimeout { checkpoint }
    }

    fn start_timer(checkpoint: u64) -> Action {
        Action::StartAlignmentTimer { checkpoint }
    }

    #[test]
    fn it_starts_aligned_and_starts_the_timer() {
        let mut task = Task::new(AWT, 2);
        assert_eq!(task.on(barrier(0, 1)), [block(0), start_timer(1)]);
    }

    #[test]
    fn the_timer_fires_before_the_second_barrier_switch_to_unaligned_and_persist_input_1_until_its_barrier()
     {
        let mut task = Task::new(AWT, 2);
        task.on(barrier(0, 1));
        assert_eq!(
            task.on(timer_fires(1)),
            [
                snapshot(1, Unaligned),
                forward_priority(1),
                persist(1, &[1]),
                unblock(0)
            ]
        );
        assert_eq!(task.on(barrier(1, 1)), [complete(1)]);
    }

    #[test]
    fn aligned_in_time_the_snapshot_is_aligned_its_barriers_convertible_where_they_are_stuck() {
        let mut task = Task::new(AWT, 2);
        task.on(barrier(0, 1));
        assert_eq!(
            task.on(barrier(1, 1)),
            [
                block(1),
                snapshot(1, Aligned),
                forward(1),
                convert_at_timeout(1),
                unblock(0),
                unblock(1),
                complete(1)
            ]
        );
        assert_eq!(
            task.on(timer_fires(1)),
            [],
            "a timer after the alignment does nothing"
        );
    }

    #[test]
    fn a_barrier_that_arrives_already_late_switches_at_once() {
        let mut task = Task::new(AWT, 2);
        assert_eq!(
            task.on(late_barrier(0, 1)),
            [
                snapshot(1, Unaligned),
                forward_priority(1),
                persist(1, &[1])
            ]
        );
    }

    #[test]
    fn a_priority_barrier_means_upstream_switched_so_this_task_switches_too() {
        let mut first = Task::new(AWT, 2);
        assert_eq!(
            first.on(priority_barrier(1, 1)),
            [
                snapshot(1, Unaligned),
                forward_priority(1),
                persist(1, &[0])
            ]
        );
        let mut later = Task::new(AWT, 3);
        later.on(barrier(0, 1));
        assert_eq!(
            later.on(priority_barrier(2, 1)),
            [
                snapshot(1, Unaligned),
                forward_priority(1),
                persist(1, &[1]),
                unblock(0)
            ]
        );
    }

    #[test]
    fn the_timer_of_an_older_checkpoint_does_nothing() {
        let mut task = Task::new(AWT, 2);
        task.on(barrier(0, 1));
        task.on(barrier(0, 2));
        assert_eq!(task.on(timer_fires(1)), []);
        assert_eq!(
            task.on(timer_fires(2)).len(),
            4,
            "its own timer switches it"
        );
    }

    #[test]
    fn a_source_barrier_starts_aligned_and_convertible() {
        let mut task = Task::new(AWT, 0);
        assert_eq!(
            task.on(trigger(1)),
            [
                snapshot(1, Aligned),
                forward(1),
                convert_at_timeout(1),
                complete(1)
            ]
        );
    }

    #[test]
    fn savepoints_never_switch() {
        let mut task = Task::new(AWT, 2);
        assert_eq!(task.on(savepoint_barrier(0, 3)), [block(0)], "no timer");
        assert_eq!(task.on(timer_fires(3)), []);
    }

    #[test]
    fn a_timer_with_nothing_being_aligned_does_nothing() {
        let mut task = Task::new(AWT, 2);
        assert_eq!(task.on(timer_fires(1)), []);
    }
}
