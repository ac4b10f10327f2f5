//! Broken: the aligned rules of [`super::super::aligned`], except that the barrier is forwarded
//! downstream as soon as the first one arrives — before the alignment, before the snapshot.
//!
//! The records this task processes between its first and last barrier are in its snapshot, but
//! they reach the next task *after* the barrier, so the next task's snapshot counts them too: the
//! checkpoint holds them twice (the oracle's prefix-consistency check names the record).

use super::super::alignment::{Alignment, AlignmentRules};
use super::super::interface::{Action, InputIndex, SnapshotKind};

/// Aligned, with the barrier forwarded early.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ForwardBarrierEarly;

impl AlignmentRules for ForwardBarrierEarly {
    /// Block the input — and, wrongly, send the barrier on now.
    fn first_barrier(
        &self,
        alignment: &mut Alignment,
        input: InputIndex,
        _priority: bool,
        _timed_out: bool,
        actions: &mut Vec<Action>,
    ) {
        alignment.block(input, actions);
        alignment.forward_barrier(false, actions);
    }

    fn later_barrier(
        &self,
        alignment: &mut Alignment,
        input: InputIndex,
        _priority: bool,
        actions: &mut Vec<Action>,
    ) {
        alignment.block(input, actions);
    }

    /// Snapshot; the barrier went downstream long ago.
    fn all_barriers_in(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        alignment.take_snapshot(SnapshotKind::Aligned, actions);
        if !alignment.barrier_forwarded {
            alignment.forward_barrier(false, actions);
        }
    }

    fn source_snapshot(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        self.all_barriers_in(alignment, actions);
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::interface::SnapshotKind::Aligned;
    use super::super::super::story::*;
    use crate::checkpoint::{DataflowVariant, SnapshotProtocol};

    #[test]
    fn the_barrier_goes_downstream_on_the_first_one_and_not_again_at_the_snapshot() {
        let mut task = Task::broken(
            SnapshotProtocol::Aligned,
            DataflowVariant::ForwardBarrierEarly,
            2,
        );
        assert_eq!(task.on(barrier(0, 1)), [block(0), forward(1)]);
        assert_eq!(
            task.on(barrier(1, 1)),
            [
                block(1),
                snapshot(1, Aligned),
                unblock(0),
                unblock(1),
                complete(1)
            ]
        );
    }

    #[test]
    fn without_a_first_barrier_there_is_nothing_to_forward_early() {
        let mut task = Task::broken(
            SnapshotProtocol::Aligned,
            DataflowVariant::ForwardBarrierEarly,
            0,
        );
        assert_eq!(
            task.on(trigger(1)),
            [snapshot(1, Aligned), forward(1), complete(1)]
        );
    }
}
