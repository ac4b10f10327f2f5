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
