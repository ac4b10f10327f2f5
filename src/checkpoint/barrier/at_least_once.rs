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
