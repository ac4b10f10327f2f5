//! Broken: "exactly-once" without alignment. Wraps any barrier handler and drops its
//! [`Action::Block`] (and the matching [`Action::Unblock`]): an input that delivered its barrier
//! keeps flowing, so records behind the barrier reach the state before the snapshot is taken.
//! The snapshot then holds records that are not in the source prefixes it recorded (the oracle's
//! prefix-consistency check names the first one).

use super::super::interface::{Action, CheckpointId, HandleBarriers, Input};

/// A handler whose inputs are never blocked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoAlignment<H>(pub H);

impl<H: HandleBarriers> HandleBarriers for NoAlignment<H> {
    fn handle(&mut self, input: Input, actions: &mut Vec<Action>) {
        let start = actions.len();
        self.0.handle(input, actions);
        let mut index = start;
        while index < actions.len() {
            if matches!(
                actions[index],
                Action::Block { .. } | Action::Unblock { .. }
            ) {
                actions.remove(index);
            } else {
                index += 1;
            }
        }
    }

    fn aligning(&self) -> Vec<CheckpointId> {
        self.0.aligning()
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::interface::SnapshotKind::Aligned;
    use super::super::super::story::*;
    use crate::checkpoint::{DataflowVariant, SnapshotProtocol};

    #[test]
    fn the_aligned_story_without_any_blocking() {
        let mut task = Task::broken(SnapshotProtocol::Aligned, DataflowVariant::NoAlignment, 2);
        assert_eq!(
            task.on(barrier(0, 1)),
            [],
            "input 0 keeps flowing past its barrier"
        );
        assert_eq!(
            task.on(barrier(1, 1)),
            [snapshot(1, Aligned), forward(1), complete(1)]
        );
    }
}
