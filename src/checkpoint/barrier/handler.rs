//! The barrier handler of one task: what is the same in every mode.
//!
//! Like Flink's `SingleCheckpointBarrierHandler`, it aligns one checkpoint at a time. A barrier of
//! a newer checkpoint while an older one is still aligning abandons the older one (declined as
//! `CHECKPOINT_DECLINED_SUBSUMED`); a barrier of an older one is ignored; a barrier of a checkpoint
//! this task was told is aborted only passes the news on. End of partition counts as that input's
//! barrier from then on (FLIP-147). When every open input has delivered the barrier the alignment
//! is complete. What to do at each step — block, snapshot, forward, persist — is the mode's
//! [`AlignmentRules`]; at-least-once counts barriers with a [`BarrierTracker`] instead of aligning
//! (Flink's `CheckpointBarrierTracker`).
//!
//! Savepoints are aligned whatever the mode (at-least-once savepoints are counted like any other
//! checkpoint). The trigger of a task with ended inputs (every producer finished) starts an
//! alignment with no barrier at all: the end-of-partition markers are its barriers.

use super::aligned::Aligned;
use super::aligned_timeout::AlignedWithTimeout;
use super::alignment::{Alignment, AlignmentRules};
use super::at_least_once::BarrierTracker;
use super::broken::forward_barrier_early::ForwardBarrierEarly;
use super::chandy_lamport_markers::ChandyLamportMarkers;
use super::interface::{Action, Barrier, CheckpointId, HandleBarriers, Input, InputIndex};
use super::unaligned::Unaligned;
use crate::checkpoint::coordinator::AbortReason;
use std::collections::BTreeSet;

/// Which rules align a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rules {
    /// [`Aligned`].
    Aligned,
    /// [`Unaligned`].
    Unaligned,
    /// [`AlignedWithTimeout`].
    AlignedWithTimeout,
    /// [`ChandyLamportMarkers`].
    ChandyLamportMarkers,
    /// Broken: [`ForwardBarrierEarly`].
    ForwardBarrierEarly,
}

impl Rules {
    /// The rules themselves.
    pub fn get(self) -> &'static dyn AlignmentRules {
        match self {
            Rules::Aligned => &Aligned,
            Rules::Unaligned => &Unaligned,
            Rules::AlignedWithTimeout => &AlignedWithTimeout,
            Rules::ChandyLamportMarkers => &ChandyLamportMarkers,
            Rules::ForwardBarrierEarly => &ForwardBarrierEarly,
        }
    }
}

/// The rules of a task: one set for checkpoints, one (aligned) for savepoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct RuleSet {
    checkpoints: Rules,
    savepoints: Rules,
}

impl RuleSet {
    /// The rules that align `alignment`'s checkpoint.
    fn of(self, alignment: &Alignment) -> &'static dyn AlignmentRules {
        if alignment.savepoint {
            self.savepoints.get()
        } else {
            self.checkpoints.get()
        }
    }
}

/// The barrier handler of one task.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BarrierHandler {
    rules: RuleSet,
    /// At-least-once: barriers are counted, never aligned.
    tracker: Option<BarrierTracker>,
    /// Inputs that delivered their end of partition.
    ended: Vec<bool>,
    /// The checkpoint being aligned, or the last one.
    alignment: Option<Alignment>,
    /// The newest checkpoint this task has started on.
    newest_checkpoint: CheckpointId,
    /// Checkpoints this task gave up or was told are aborted: their barriers are only passed on as
    /// cancellations.
    aborted: BTreeSet<CheckpointId>,
    /// Checkpoints whose cancellation marker this task has sent.
    cancel_forwarded: BTreeSet<CheckpointId>,
}

impl BarrierHandler {
    /// A handler aligning checkpoints with `rules` (savepoints with `savepoint_rules`), for a task
    /// with `inputs` inputs.
    pub fn aligning(rules: Rules, savepoint_rules: Rules, inputs: usize) -> BarrierHandler {
        BarrierHandler {
            rules: RuleSet {
                checkpoints: rules,
                savepoints: savepoint_rules,
            },
            tracker: None,
            ended: vec![false; inputs],
            alignment: None,
            newest_checkpoint: 0,
            aborted: BTreeSet::new(),
            cancel_forwarded: BTreeSet::new(),
        }
    }

    /// An at-least-once handler (`CheckpointBarrierTracker`) for a task with `inputs` inputs.
    pub fn at_least_once(inputs: usize) -> BarrierHandler {
        BarrierHandler {
            tracker: Some(BarrierTracker::default()),
            ..BarrierHandler::aligning(Rules::Aligned, Rules::Aligned, inputs)
        }
    }

    /// Is `checkpoint` the one being aligned, still in progress?
    fn aligning_checkpoint(&self, checkpoint: CheckpointId) -> bool {
        self.alignment
            .as_ref()
            .is_some_and(|a| a.checkpoint == checkpoint && !a.complete)
    }

    /// Barrier `barrier` was read on `input`.
    fn barrier(&mut self, input: InputIndex, barrier: Barrier, actions: &mut Vec<Action>) {
        let checkpoint = barrier.checkpoint;
        if self.aborted.contains(&checkpoint) {
            // Told of the abort before its barrier arrived: skip the snapshot, pass the news on.
            self.forward_cancel(checkpoint, actions);
            return;
        }
        if let Some(tracker) = self.tracker.as_mut() {
            tracker.barrier(checkpoint, input, self.ended.len(), self.newest_checkpoint);
            self.snapshot_tracked(actions);
            return;
        }
        match self.alignment.as_ref().map(|a| a.checkpoint) {
            Some(current) if current > checkpoint => {} // a checkpoint this task has moved past
            Some(current) if current == checkpoint => {
                let alignment = self.alignment.as_mut().expect("current alignment");
                if std::mem::replace(&mut alignment.seen[input], true) {
                    return; // a duplicate
                }
                if !alignment.snapshot_taken {
                    self.rules.of(alignment).later_barrier(
                        alignment,
                        input,
                        barrier.priority,
                        actions,
                    );
                }
                self.check_all_in(actions);
            }
            _ => {
                self.subsume_older(checkpoint, actions);
                self.newest_checkpoint = self.newest_checkpoint.max(checkpoint);
                let mut alignment = Alignment::new(checkpoint, barrier.savepoint, self.ended.len());
                alignment.seen[input] = true;
                self.rules.of(&alignment).first_barrier(
                    &mut alignment,
                    input,
                    barrier.priority,
                    barrier.timed_out,
                    actions,
                );
                self.alignment = Some(alignment);
                self.check_all_in(actions);
            }
        }
    }

    /// A newer checkpoint reached this task while an older one is still aligning: the older one is
    /// abandoned and declined as subsumed.
    fn subsume_older(&mut self, checkpoint: CheckpointId, actions: &mut Vec<Action>) {
        if let Some(old) = self.alignment.as_ref()
            && !old.complete
            && old.checkpoint < checkpoint
        {
            let old = old.checkpoint;
            self.abandon(old, Some(AbortReason::CheckpointDeclinedSubsumed), actions);
        }
    }

    /// The alignment is complete once every input has delivered the barrier or ended: the
    /// snapshot is taken if it is not yet, and every input unblocked.
    fn check_all_in(&mut self, actions: &mut Vec<Action>) {
        let Some(alignment) = self.alignment.as_mut() else {
            return;
        };
        let all_in = alignment
            .seen
            .iter()
            .zip(&self.ended)
            .all(|(&seen, &ended)| seen || ended);
        if alignment.complete || !all_in {
            return;
        }
        alignment.complete = true;
        if !alignment.snapshot_taken {
            self.rules.of(alignment).all_barriers_in(alignment, actions);
        }
        alignment.unblock_all(actions);
        actions.push(Action::AlignmentComplete {
            checkpoint: alignment.checkpoint,
        });
    }

    /// At-least-once: snapshots whatever checkpoints have all their barriers.
    fn snapshot_tracked(&mut self, actions: &mut Vec<Action>) {
        if let Some(tracker) = self.tracker.as_mut()
            && let Some(newest) = tracker.snapshot_complete(&self.ended, actions)
        {
            self.newest_checkpoint = self.newest_checkpoint.max(newest);
        }
    }

    /// The coordinator's trigger reached this task.
    fn trigger(&mut self, checkpoint: CheckpointId, savepoint: bool, actions: &mut Vec<Action>) {
        if self.aborted.contains(&checkpoint) {
            return;
        }
        self.newest_checkpoint = self.newest_checkpoint.max(checkpoint);
        if self.ended.is_empty() {
            let mut alignment = Alignment::new(checkpoint, savepoint, 0);
            self.rules
                .of(&alignment)
                .source_snapshot(&mut alignment, actions);
            actions.push(Action::AlignmentComplete { checkpoint });
            return;
        }
        // Every producer has finished (FLIP-147): their end-of-partition markers, behind all their
        // data, are this checkpoint's barriers. The snapshot comes once all of them are read.
        self.subsume_older(checkpoint, actions);
        if let Some(tracker) = self.tracker.as_mut() {
            tracker.forget_older_than(checkpoint);
        }
        self.alignment = Some(Alignment::new(checkpoint, savepoint, self.ended.len()));
        self.check_all_in(actions);
    }

    /// Aligned with timeout: the timer of `checkpoint` fired.
    fn alignment_timer_fired(&mut self, checkpoint: CheckpointId, actions: &mut Vec<Action>) {
        let Some(alignment) = self.alignment.as_mut() else {
            return;
        };
        if alignment.checkpoint != checkpoint || alignment.snapshot_taken || alignment.complete {
            return;
        }
        self.rules.of(alignment).timer_fired(alignment, actions);
        self.check_all_in(actions);
    }

    /// A cancellation marker of `checkpoint` was read.
    fn cancel_marker(&mut self, checkpoint: CheckpointId, actions: &mut Vec<Action>) {
        if self.aligning_checkpoint(checkpoint) {
            self.abandon(checkpoint, None, actions);
        } else if checkpoint > self.newest_checkpoint {
            // Cancelled before any of its barriers arrived here.
            self.aborted.insert(checkpoint);
            self.forward_cancel(checkpoint, actions);
        }
        if let Some(tracker) = self.tracker.as_mut() {
            tracker.forget(checkpoint);
        }
    }

    /// `notifyCheckpointAborted(checkpoint)`.
    fn aborted(&mut self, checkpoint: CheckpointId, actions: &mut Vec<Action>) {
        if self.aligning_checkpoint(checkpoint) {
            self.abandon(checkpoint, None, actions);
        } else {
            self.aborted.insert(checkpoint);
            if let Some(tracker) = self.tracker.as_mut() {
                tracker.forget(checkpoint);
            }
            actions.push(Action::DiscardSnapshot { checkpoint });
            actions.push(Action::Abandoned { checkpoint });
        }
    }

    /// Gives `checkpoint` up at this task: stop persisting for it, unblock, drop its snapshot,
    /// decline it (with a reason), and tell downstream with a cancellation marker.
    fn abandon(
        &mut self,
        checkpoint: CheckpointId,
        decline: Option<AbortReason>,
        actions: &mut Vec<Action>,
    ) {
        actions.push(Action::StopPersisting { checkpoint });
        if let Some(alignment) = self.alignment.as_mut()
            && alignment.checkpoint == checkpoint
        {
            alignment.unblock_all(actions);
            alignment.complete = true;
        }
        actions.push(Action::DiscardSnapshot { checkpoint });
        self.aborted.insert(checkpoint);
        if let Some(reason) = decline {
            actions.push(Action::Decline { checkpoint, reason });
        }
        self.forward_cancel(checkpoint, actions);
        actions.push(Action::Abandoned { checkpoint });
    }

    /// Sends the cancellation marker of `checkpoint` downstream, once.
    fn forward_cancel(&mut self, checkpoint: CheckpointId, actions: &mut Vec<Action>) {
        if self.cancel_forwarded.insert(checkpoint) {
            actions.push(Action::ForwardCancel { checkpoint });
        }
    }
}

impl HandleBarriers for BarrierHandler {
    fn handle(&mut self, input: Input, actions: &mut Vec<Action>) {
        match input {
            Input::Barrier { input, barrier } => self.barrier(input, barrier, actions),
            Input::EndOfPartition { input } => {
                self.ended[input] = true;
                self.check_all_in(actions);
                self.snapshot_tracked(actions);
            }
            Input::Trigger {
                checkpoint,
                savepoint,
            } => self.trigger(checkpoint, savepoint, actions),
            Input::AlignmentTimerFired { checkpoint } => {
                self.alignment_timer_fired(checkpoint, actions)
            }
            Input::CancelMarker { checkpoint } => self.cancel_marker(checkpoint, actions),
            Input::Aborted { checkpoint } => self.aborted(checkpoint, actions),
            Input::SnapshotFailed { checkpoint, reason } => {
                self.abandon(checkpoint, Some(reason), actions)
            }
        }
    }

    fn aligning(&self) -> Vec<CheckpointId> {
        let mut checkpoints: Vec<CheckpointId> = self
            .tracker
            .iter()
            .flat_map(BarrierTracker::counting)
            .collect();
        if let Some(alignment) = self.alignment.as_ref()
            && !alignment.complete
        {
            checkpoints.push(alignment.checkpoint);
        }
        checkpoints
    }
}

#[cfg(test)]
mod tests {
    use super::super::interface::Action;
    use super::super::interface::SnapshotKind::Aligned;
    use super::super::story::*;
    use crate::checkpoint::SnapshotProtocol;
    use crate::checkpoint::coordinator::AbortReason::{
        CheckpointDeclined, CheckpointDeclinedSubsumed, IoException,
    };

    fn aligned(inputs: usize) -> Task {
        Task::new(SnapshotProtocol::Aligned, inputs)
    }

    #[test]
    fn a_newer_barrier_while_aligning_abandons_the_older_checkpoint_declined_as_subsumed() {
        let mut task = aligned(2);
        task.on(barrier(0, 1));
        assert_eq!(
            task.on(barrier(1, 2)),
            then(
                abandon(1, &[0], Some(CheckpointDeclinedSubsumed)),
                [block(1)]
            )
        );
        assert_eq!(task.aligning(), [2]);
    }

    #[test]
    fn a_barrier_of_a_checkpoint_the_task_has_moved_past_is_ignored() {
        let mut task = aligned(2);
        task.on(barrier(0, 2));
        assert_eq!(task.on(barrier(1, 1)), []);
        assert_eq!(task.aligning(), [2]);
    }

    #[test]
    fn a_second_barrier_on_the_same_input_is_ignored() {
        let mut task = aligned(2);
        task.on(barrier(0, 1));
        assert_eq!(task.on(barrier(0, 1)), []);
    }

    #[test]
    fn a_task_whose_producers_all_finished_is_triggered_and_snapshots_once_their_ends_are_read() {
        let mut task = aligned(2);
        task.on(end_of_partition(0));
        assert_eq!(
            task.on(trigger(1)),
            [],
            "input 1's end of partition is still queued"
        );
        assert_eq!(task.aligning(), [1]);
        assert_eq!(
            task.on(end_of_partition(1)),
            [snapshot(1, Aligned), forward(1), complete(1)]
        );
    }

    #[test]
    fn a_newer_trigger_subsumes_an_alignment_still_waiting_for_ends_of_partition() {
        let mut task = aligned(1);
        task.on(trigger(1));
        assert_eq!(
            task.on(trigger(2)),
            abandon(1, &[], Some(CheckpointDeclinedSubsumed))
        );
        assert_eq!(task.aligning(), [2]);
    }

    #[test]
    fn told_of_an_abort_while_aligning_the_task_gives_the_checkpoint_up_without_declining_it() {
        let mut task = aligned(2);
        task.on(barrier(0, 1));
        assert_eq!(task.on(aborted(1)), abandon(1, &[0], None));
        assert!(task.aligning().is_empty());
    }

    #[test]
    fn told_of_an_abort_after_its_snapshot_the_task_only_drops_it() {
        let mut task = aligned(1);
        task.on(barrier(0, 1));
        assert_eq!(
            task.on(aborted(1)),
            [
                Action::DiscardSnapshot { checkpoint: 1 },
                Action::Abandoned { checkpoint: 1 }
            ]
        );
    }

    #[test]
    fn told_of_an_abort_before_the_barrier_the_task_skips_the_snapshot_and_passes_the_news_on_once()
    {
        let mut task = aligned(2);
        task.on(aborted(3));
        assert_eq!(
            task.on(barrier(0, 3)),
            [Action::ForwardCancel { checkpoint: 3 }]
        );
        assert_eq!(task.on(barrier(1, 3)), []);
        assert!(task.aligning().is_empty());
        assert_eq!(task.on(trigger(3)), [], "nor does a trigger start it again");
    }

    #[test]
    fn a_cancellation_marker_while_aligning_gives_the_checkpoint_up_and_passes_it_on() {
        let mut task = aligned(2);
        task.on(barrier(0, 1));
        assert_eq!(task.on(cancel_marker(1)), abandon(1, &[0], None));
    }

    #[test]
    fn a_cancellation_marker_ahead_of_any_barrier_is_passed_on_and_its_barriers_then_ignored() {
        let mut task = aligned(2);
        assert_eq!(
            task.on(cancel_marker(1)),
            [Action::ForwardCancel { checkpoint: 1 }]
        );
        assert_eq!(task.on(barrier(0, 1)), []);
        assert_eq!(task.on(cancel_marker(1)), [], "told once");
    }

    #[test]
    fn a_cancellation_marker_of_a_checkpoint_already_snapshotted_changes_nothing() {
        let mut task = aligned(1);
        task.on(barrier(0, 1));
        assert_eq!(task.on(cancel_marker(1)), []);
    }

    #[test]
    fn a_snapshot_that_cannot_be_taken_or_uploaded_is_declined_with_its_reason() {
        let mut task = aligned(1);
        task.on(barrier(0, 1));
        assert_eq!(
            task.on(snapshot_failed(1, IoException)),
            abandon(1, &[], Some(IoException))
        );
        let mut source = aligned(0);
        source.on(trigger(1));
        assert_eq!(
            source.on(snapshot_failed(1, CheckpointDeclined)),
            abandon(1, &[], Some(CheckpointDeclined))
        );
    }
}
