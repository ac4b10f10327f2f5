//! Which checkpoint a failover restores. Flink restores the latest *completed* checkpoint
//! (`CheckpointCoordinator.restoreLatestCheckpointedStateToSubtasks`): only a completed one is
//! known to be consistent, every task having acknowledged its part. Savepoints are never restored
//! by a failover.

use super::barrier::CheckpointId;
use crate::dataflow::results::{CompletedCheckpoint, TaskSnapshot};

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
    /// checkpoint and (if [`RestoreRule::keeps_pending`]) the pending one kept at the failover.
    pub fn restore(
        self,
        latest: Option<&CompletedCheckpoint>,
        pending: Option<(CheckpointId, Vec<TaskSnapshot>)>,
    ) -> (Option<CheckpointId>, Vec<TaskSnapshot>) {
        match (self, pending, latest) {
            (RestoreRule::NewestPending, Some((id, mut snapshots)), latest) => {
                // Tasks that had not acknowledged the pending checkpoint take the completed one.
                for snapshot in latest.iter().flat_map(|l| l.tasks.iter()) {
                    if !snapshots.iter().any(|s| s.task == snapshot.task) {
                        snapshots.push(snapshot.clone());
                    }
                }
                (Some(id), snapshots)
            }
            (_, _, Some(latest)) => (Some(latest.id), latest.tasks.clone()),
            (_, _, None) => (None, Vec::new()),
        }
    }
}
