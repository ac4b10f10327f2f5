//! At-least-once checkpoints (`execution.checkpointing.mode: AT_LEAST_ONCE`): Flink's
//! `CheckpointBarrierTracker`.
//!
//! Barriers are only counted, per checkpoint, and no input is ever blocked. When barrier *n* has
//! arrived on every open input, the task takes its snapshot and forwards the barrier. By then the
//! inputs whose barrier came early have gone on delivering records that belong after the
//! checkpoint, and those records are already in the state: after a restore they are processed
//! again — duplicates, never losses. Several checkpoints can be counted at once; when one
//! completes, older ones still being counted are dropped.

use super::interface::{Action, CheckpointId, InputIndex, SnapshotKind};
use std::collections::BTreeMap;

/// Barriers counted per checkpoint: which inputs have delivered each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BarrierTracker {
    tracked: BTreeMap<CheckpointId, Vec<bool>>,
}

impl BarrierTracker {
    /// Counts barrier `checkpoint` on `input`. A checkpoint older than the newest this task has
    /// handled, and not being counted, is stale and ignored.
    pub fn barrier(
        &mut self,
        checkpoint: CheckpointId,
        input: InputIndex,
        inputs: usize,
        newest_checkpoint: CheckpointId,
    ) {
        if checkpoint <= newest_checkpoint && !self.tracked.contains_key(&checkpoint) {
            return;
        }
        self.tracked
            .entry(checkpoint)
            .or_insert_with(|| vec![false; inputs])[input] = true;
    }

    /// Snapshots every checkpoint whose barrier has arrived on every input that has not ended,
    /// oldest first; each completion drops the older ones still being counted. Returns the newest
    /// checkpoint snapshotted.
    pub fn snapshot_complete(
        &mut self,
        ended: &[bool],
        actions: &mut Vec<Action>,
    ) -> Option<CheckpointId> {
        let ready: Vec<CheckpointId> = self
            .tracked
            .iter()
            .filter(|(_, seen)| seen.iter().zip(ended).all(|(&seen, &ended)| seen || ended))
            .map(|(&id, _)| id)
            .collect();
        let mut newest = None;
        for checkpoint in ready {
            if self.tracked.remove(&checkpoint).is_none() {
                continue;
            }
            self.forget_older_than(checkpoint);
            newest = Some(checkpoint);
            actions.push(Action::TakeSnapshot {
                checkpoint,
                kind: SnapshotKind::Aligned,
                forget_channel_state: false,
            });
            actions.push(Action::ForwardBarrier {
                checkpoint,
                priority: false,
            });
            actions.push(Action::AlignmentComplete { checkpoint });
        }
        newest
    }

    /// Stops counting checkpoints older than `checkpoint`.
    pub fn forget_older_than(&mut self, checkpoint: CheckpointId) {
        self.tracked.retain(|&id, _| id >= checkpoint);
    }

    /// Stops counting `checkpoint` (cancelled or aborted).
    pub fn forget(&mut self, checkpoint: CheckpointId) {
        self.tracked.remove(&checkpoint);
    }

    /// The checkpoints being counted.
    pub fn counting(&self) -> impl Iterator<Item = CheckpointId> + '_ {
        self.tracked.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::super::interface::SnapshotKind::Aligned;
    use super::super::story::*;
    use crate::checkpoint::SnapshotProtocol::AtLeastOnce;

    #[test]
    fn barriers_are_counted_never_blocking_and_the_last_one_takes_the_snapshot() {
        let mut task = Task::new(AtLeastOnce, 2);
        assert_eq!(task.on(barrier(0, 1)), [], "input 0 keeps flowing");
        assert_eq!(task.aligning(), [1]);
        assert_eq!(
            task.on(barrier(1, 1)),
            [snapshot(1, Aligned), forward(1), complete(1)]
        );
        assert!(task.aligning().is_empty());
    }

    #[test]
    fn several_checkpoints_are_counted_at_once_and_a_completion_drops_the_older_ones() {
        let mut task = Task::new(AtLeastOnce, 2);
        task.on(barrier(0, 1));
        task.on(barrier(0, 2));
        assert_eq!(task.aligning(), [1, 2]);
        assert_eq!(
            task.on(barrier(1, 2)),
            [snapshot(2, Aligned), forward(2), complete(2)]
        );
        assert!(task.aligning().is_empty(), "checkpoint 1 is dropped");
        assert_eq!(task.on(barrier(1, 1)), [], "and its late barrier is stale");
    }

    #[test]
    fn two_checkpoints_complete_in_one_step_oldest_first() {
        let mut task = Task::new(AtLeastOnce, 2);
        task.on(barrier(0, 1));
        task.on(barrier(0, 2));
        assert_eq!(
            task.on(end_of_partition(1)),
            [
                snapshot(1, Aligned),
                forward(1),
                complete(1),
                snapshot(2, Aligned),
                forward(2),
                complete(2)
            ]
        );
    }

    #[test]
    fn a_duplicate_barrier_changes_nothing() {
        let mut task = Task::new(AtLeastOnce, 2);
        task.on(barrier(0, 1));
        assert_eq!(task.on(barrier(0, 1)), []);
        assert_eq!(task.aligning(), [1]);
    }

    #[test]
    fn a_cancelled_checkpoint_is_no_longer_counted_and_the_cancellation_goes_on_downstream() {
        use super::super::interface::Action;
        let mut task = Task::new(AtLeastOnce, 2);
        task.on(barrier(0, 3));
        assert_eq!(
            task.on(cancel_marker(3)),
            [Action::ForwardCancel { checkpoint: 3 }]
        );
        assert!(task.aligning().is_empty());
        assert_eq!(
            task.on(barrier(1, 3)),
            [],
            "its barriers are ignored, told once"
        );
    }

    #[test]
    fn an_aborted_checkpoint_is_dropped_with_its_snapshot() {
        use super::super::interface::Action;
        let mut task = Task::new(AtLeastOnce, 2);
        task.on(barrier(0, 3));
        assert_eq!(
            task.on(aborted(3)),
            [
                Action::DiscardSnapshot { checkpoint: 3 },
                Action::Abandoned { checkpoint: 3 }
            ]
        );
        assert!(task.aligning().is_empty());
        assert_eq!(
            task.on(barrier(1, 3)),
            [Action::ForwardCancel { checkpoint: 3 }],
            "its barriers only pass the news on"
        );
    }

    #[test]
    fn a_source_snapshots_at_the_trigger() {
        let mut task = Task::new(AtLeastOnce, 0);
        assert_eq!(
            task.on(trigger(1)),
            [snapshot(1, Aligned), forward(1), complete(1)]
        );
    }

    #[test]
    fn a_task_whose_producers_finished_snapshots_once_their_ends_are_read_and_stops_counting_older_ones()
     {
        let mut task = Task::new(AtLeastOnce, 2);
        task.on(barrier(0, 1));
        task.on(end_of_partition(0));
        assert_eq!(
            task.on(trigger(2)),
            [],
            "input 1's end of partition is still queued"
        );
        assert_eq!(task.aligning(), [2], "checkpoint 1 is no longer counted");
        assert_eq!(
            task.on(end_of_partition(1)),
            [snapshot(2, Aligned), forward(2), complete(2)]
        );
    }
}
