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
