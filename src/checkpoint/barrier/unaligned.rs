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

    /// Never called: the snapshot was taken on the first barrier. Each input stops being
    /// persisted at its own barrier (the channel itself sees it).
    fn later_barrier(
        &self,
        _alignment: &mut Alignment,
        _input: InputIndex,
        _priority: bool,
        _actions: &mut Vec<Action>,
    ) {
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
