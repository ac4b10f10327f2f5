//! Which checkpoint a failover restores. Flink restores the latest *completed* checkpoint
//! (`CheckpointCoordinator.restoreLatestCheckpointedStateToSubtasks`): only a completed one is
//! known to be consistent, every task having acknowledged its part. Savepoints are never restored
//! by a failover.

use super::barrier::CheckpointId;
use crate::dataflow::results::TaskSnapshot;

/// The rule choosing what a restart restores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RestoreRule {
    /// Flink's rule: the latest completed checkpoint.
    #[default]
    LatestCompleted,
    /// Broken, for teaching (`protocol_variant: restore_from_pending`): the newest *pending*
    /// checkpoint, with what its tasks had acknowledged so far, and the latest completed
    /// checkpoint's snapshots for the tasks that had not. The restored state mixes two cuts, so it
    /// is no consistent cut at all; the oracle names what breaks.
    NewestPending,
}

impl RestoreRule {
    /// At the failover, before the coordinator aborts what is pending: does this rule keep the
    /// newest pending checkpoint's acknowledged snapshots?
    pub fn keeps_pending(self) -> bool {
        self == RestoreRule::NewestPending
    }

    /// At the restart: the checkpoint to restore and its task snapshots, given the latest completed
    /// checkpoint (its id and snapshots) and (if [`RestoreRule::keeps_pending`]) the pending one
    /// kept at the failover. Generic over what a task's snapshot is, so that the simulator and
    /// the explorer (`snapsim explore --dataflow`) restore by this one rule.
    pub fn restore<S: TaskPart>(
        self,
        latest: Option<(CheckpointId, &[S])>,
        pending: Option<(CheckpointId, Vec<S>)>,
    ) -> (Option<CheckpointId>, Vec<S>) {
        match (self, pending, latest) {
            (RestoreRule::NewestPending, Some((id, mut snapshots)), latest) => {
                // Tasks that had not acknowledged the pending checkpoint take the completed one.
                for snapshot in latest.iter().flat_map(|l| l.1.iter()) {
                    if !snapshots.iter().any(|s| s.task() == snapshot.task()) {
                        snapshots.push(snapshot.clone());
                    }
                }
                (Some(id), snapshots)
            }
            (_, _, Some((id, tasks))) => (Some(id), tasks.to_vec()),
            (_, _, None) => (None, Vec::new()),
        }
    }
}

/// One task's part of a checkpoint, as far as restoring it goes: which task it belongs to.
pub trait TaskPart: Clone {
    /// The task (its index in the job).
    fn task(&self) -> usize;
}

impl TaskPart for TaskSnapshot {
    fn task(&self) -> usize {
        self.task
    }
}

#[cfg(test)]
mod tests {
    use super::RestoreRule;
    use crate::dataflow::results::{CompletedCheckpoint, TaskSnapshot};
    use crate::engine::SimTime;

    fn snapshot(task: usize, offset: u64) -> TaskSnapshot {
        let state = crate::workload::dataflow::OperatorState {
            offset,
            ..Default::default()
        };
        TaskSnapshot {
            task,
            operator_states: vec![state],
            input_channel_state: Vec::new(),
            output_channel_state: Vec::new(),
            unaligned: false,
            pending_transactions: Vec::new(),
        }
    }

    fn completed(id: u64, tasks: Vec<TaskSnapshot>) -> CompletedCheckpoint {
        CompletedCheckpoint {
            id,
            is_savepoint: false,
            triggered_at: SimTime::ZERO,
            completed_at: SimTime::ZERO,
            tasks,
        }
    }

    #[test]
    fn flink_restores_the_latest_completed_checkpoint_and_ignores_what_is_pending() {
        let latest = completed(4, vec![snapshot(0, 40), snapshot(1, 41)]);
        let rule = RestoreRule::LatestCompleted;
        assert!(!rule.keeps_pending());
        let (id, snapshots) = rule.restore(
            Some((latest.id, &latest.tasks[..])),
            Some((5, vec![snapshot(0, 50)])),
        );
        assert_eq!(id, Some(4));
        assert_eq!(snapshots, latest.tasks);
        assert_eq!(
            rule.restore::<TaskSnapshot>(None, None),
            (None, Vec::new()),
            "or starts afresh"
        );
    }

    #[test]
    fn the_broken_rule_mixes_the_pending_checkpoint_with_the_completed_one() {
        let latest = completed(4, vec![snapshot(0, 40), snapshot(1, 41)]);
        let rule = RestoreRule::NewestPending;
        assert!(rule.keeps_pending());
        let (id, snapshots) = rule.restore(
            Some((latest.id, &latest.tasks[..])),
            Some((5, vec![snapshot(0, 50)])),
        );
        assert_eq!(id, Some(5));
        assert_eq!(snapshots, [snapshot(0, 50), snapshot(1, 41)]);
    }
}
