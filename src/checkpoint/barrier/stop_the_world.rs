//! The synchronous global snapshot, for comparison: stop the sources, wait until nothing is in
//! flight anywhere, snapshot every task at once, resume. This is the checkpoint the ABS paper
//! (Carbone et al., 2015) measured Flink's barriers against, and the one Young's and Daly's
//! interval formulas assume: the job does nothing useful while it runs.
//!
//! It lives on the coordinator's side, as a state machine the world drives: the world says when a
//! stop-the-world checkpoint is triggered, when the job has drained, and when a checkpoint ended;
//! the machine says what to do. Tasks do not align anything (savepoints, always aligned, still go
//! through their barrier handlers).

use super::interface::CheckpointId;

/// Where a stop-the-world checkpoint is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StopTheWorld {
    /// No stop-the-world checkpoint in progress.
    #[default]
    Idle,
    /// The sources are told to pause; the job drains (partially filled buffers are flushed).
    Draining {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// Nothing is in flight: every task is snapshotting; the sources stay paused until it ends.
    Snapshotting {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
}

/// What the world must do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StopTheWorldAction {
    /// Tell every source to stop emitting.
    PauseSources,
    /// Snapshot every task that has not finished, all at once.
    SnapshotEveryTask {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// Tell every source to go on.
    ResumeSources,
}

impl StopTheWorld {
    /// A stop-the-world checkpoint is triggered.
    pub fn triggered(&mut self, checkpoint: CheckpointId) -> StopTheWorldAction {
        *self = StopTheWorld::Draining { checkpoint };
        StopTheWorldAction::PauseSources
    }

    /// Is the job draining for a checkpoint (the world must watch for quiescence)?
    pub fn draining(&self) -> bool {
        matches!(self, StopTheWorld::Draining { .. })
    }

    /// Is a stop-the-world checkpoint in progress?
    pub fn active(&self) -> bool {
        !matches!(self, StopTheWorld::Idle)
    }

    /// Nothing is in flight any more and no task is busy.
    pub fn drained(&mut self) -> Option<StopTheWorldAction> {
        let StopTheWorld::Draining { checkpoint } = *self else {
            return None;
        };
        *self = StopTheWorld::Snapshotting { checkpoint };
        Some(StopTheWorldAction::SnapshotEveryTask { checkpoint })
    }

    /// A checkpoint completed: whatever stop-the-world checkpoint was in progress is over.
    pub fn completed(&mut self) -> Option<StopTheWorldAction> {
        std::mem::take(self)
            .active()
            .then_some(StopTheWorldAction::ResumeSources)
    }

    /// `checkpoint` was aborted: if it is the one in progress, it is over.
    pub fn aborted(&mut self, checkpoint: CheckpointId) -> Option<StopTheWorldAction> {
        match *self {
            StopTheWorld::Draining { checkpoint: c }
            | StopTheWorld::Snapshotting { checkpoint: c }
                if c == checkpoint =>
            {
                *self = StopTheWorld::Idle;
                Some(StopTheWorldAction::ResumeSources)
            }
            _ => None,
        }
    }

    /// A failover: every pending checkpoint is gone, and the restarted sources start unpaused.
    pub fn reset(&mut self) {
        *self = StopTheWorld::Idle;
    }
}

#[cfg(test)]
mod tests {
    use super::StopTheWorldAction::{PauseSources, ResumeSources, SnapshotEveryTask};
    use super::*;

    #[test]
    fn pause_drain_snapshot_everything_resume() {
        let mut protocol = StopTheWorld::default();
        assert_eq!(protocol.triggered(1), PauseSources);
        assert!(protocol.draining());
        assert_eq!(
            protocol.drained(),
            Some(SnapshotEveryTask { checkpoint: 1 })
        );
        assert!(!protocol.draining() && protocol.active());
        assert_eq!(protocol.drained(), None, "snapshots are taken once");
        assert_eq!(protocol.completed(), Some(ResumeSources));
        assert_eq!(protocol, StopTheWorld::Idle);
    }

    #[test]
    fn an_abort_of_the_checkpoint_in_progress_resumes_the_sources_and_of_another_does_nothing() {
        let mut protocol = StopTheWorld::default();
        protocol.triggered(2);
        assert_eq!(protocol.aborted(1), None);
        assert_eq!(protocol.aborted(2), Some(ResumeSources));
        assert_eq!(protocol.completed(), None, "nothing left to resume");
    }

    #[test]
    fn a_failover_forgets_the_checkpoint_without_resuming_the_restarted_sources() {
        let mut protocol = StopTheWorld::default();
        protocol.triggered(1);
        protocol.reset();
        assert!(!protocol.active());
        assert_eq!(protocol.drained(), None);
    }
}
