//! Broken: unaligned (and Chandy-Lamport marker) snapshots that forget their channel state. Wraps
//! any barrier handler and marks every snapshot it takes as forgetting its in-flight data: the
//! records its barriers overtook and those its inputs delivered before their barriers are
//! persisted nowhere. After a restore they are simply gone (the oracle's prefix-consistency check
//! names the first missing record).

use super::super::interface::{Action, CheckpointId, HandleBarriers, Input};

/// A handler whose snapshots drop their channel state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ForgetsChannelState<H>(pub H);

impl<H: HandleBarriers> HandleBarriers for ForgetsChannelState<H> {
    fn handle(&mut self, input: Input, actions: &mut Vec<Action>) {
        let start = actions.len();
        self.0.handle(input, actions);
        for action in &mut actions[start..] {
            if let Action::TakeSnapshot {
                forget_channel_state,
                ..
            } = action
            {
                *forget_channel_state = true;
            }
        }
    }

    fn aligning(&self) -> Vec<CheckpointId> {
        self.0.aligning()
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::interface::{Action, SnapshotKind};
    use super::super::super::story::*;
    use crate::checkpoint::{DataflowVariant, SnapshotProtocol};

    #[test]
    fn the_unaligned_snapshot_is_taken_as_usual_but_forgets_its_in_flight_data() {
        let mut task = Task::broken(
            SnapshotProtocol::Unaligned,
            DataflowVariant::UnalignedForgetsChannelState,
            2,
        );
        assert_eq!(
            task.on(barrier(0, 1)),
            [
                Action::TakeSnapshot {
                    checkpoint: 1,
                    kind: SnapshotKind::Unaligned,
                    forget_channel_state: true
                },
                forward_priority(1),
                persist(1, &[1])
            ]
        );
    }
}
