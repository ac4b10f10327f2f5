//! When a two-phase-commit sink commits: the rule of Flink's `TwoPhaseCommitSinkFunction` (and of
//! the Sink V2 `Committer`), as a small state machine the world drives.
//!
//! At its snapshot of checkpoint *n* the sink pre-commits its open transaction (flushes it, but a
//! reader cannot see it yet) and records every transaction still pending in the snapshot. Only when
//! the coordinator's `notifyCheckpointComplete(n)` arrives does it commit everything up to *n*: a
//! checkpoint that never completes leaves its transactions pending, to be committed on restore
//! (they are in the restored snapshot) or aborted. A notice can be lost; the next one commits
//! everything up to its checkpoint.

use super::barrier::CheckpointId;

/// What the sink must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitAction {
    /// Pre-commit the open transaction as part of checkpoint `checkpoint`.
    PreCommit {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// Commit every pre-committed transaction up to checkpoint `checkpoint`.
    CommitUpTo {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
}

/// When to commit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CommitRule {
    /// Flink's rule: commit on `notifyCheckpointComplete`.
    #[default]
    OnCompletion,
    /// Broken, for teaching (`protocol_variant: commit_at_pre_commit`): commit at the snapshot,
    /// before the checkpoint is known to be complete. A crash before completion then replays
    /// records whose output a reader has already seen: duplicates in committed output, and a
    /// commit the protocol rules flag.
    AtPreCommit,
}

impl CommitRule {
    /// The sink's task takes its snapshot of `checkpoint`.
    pub fn snapshot(self, checkpoint: CheckpointId) -> Vec<CommitAction> {
        match self {
            CommitRule::OnCompletion => vec![CommitAction::PreCommit { checkpoint }],
            CommitRule::AtPreCommit => vec![
                CommitAction::PreCommit { checkpoint },
                CommitAction::CommitUpTo { checkpoint },
            ],
        }
    }

    /// `notifyCheckpointComplete(checkpoint)` reached the sink's task.
    pub fn checkpoint_complete(self, checkpoint: CheckpointId) -> Vec<CommitAction> {
        vec![CommitAction::CommitUpTo { checkpoint }]
    }
}

#[cfg(test)]
mod tests {
    use super::CommitAction::{CommitUpTo, PreCommit};
    use super::CommitRule;

    #[test]
    fn flink_pre_commits_at_the_snapshot_and_commits_only_when_the_checkpoint_completes() {
        let rule = CommitRule::OnCompletion;
        assert_eq!(rule.snapshot(3), [PreCommit { checkpoint: 3 }]);
        assert_eq!(rule.checkpoint_complete(3), [CommitUpTo { checkpoint: 3 }]);
    }

    #[test]
    fn the_broken_rule_commits_at_the_snapshot_already() {
        let rule = CommitRule::AtPreCommit;
        assert_eq!(
            rule.snapshot(3),
            [PreCommit { checkpoint: 3 }, CommitUpTo { checkpoint: 3 }]
        );
    }
}
