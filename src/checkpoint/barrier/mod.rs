//! Barrier handlers: how a task reacts to checkpoint barriers, one mode per file, each a small
//! state machine that receives [`Input`]s and returns [`Action`]s.
//!
//! | mode | file | Flink |
//! |---|---|---|
//! | aligned (exactly-once) | [`aligned`] | `SingleCheckpointBarrierHandler`, aligned states |
//! | unaligned | [`unaligned`] | the same, unaligned states (FLIP-76) |
//! | aligned with timeout | [`aligned_timeout`] | the alternating states |
//! | at-least-once | [`at_least_once`] | `CheckpointBarrierTracker` |
//! | Chandy-Lamport markers | [`chandy_lamport_markers`] | (the 1985 algorithm, for comparison) |
//! | stop-the-world | [`stop_the_world`] | (the synchronous snapshot, for comparison) |
//!
//! What every exactly-once mode shares — one checkpoint at a time, subsumption by a newer one,
//! duplicates, end of partition, aborts and cancellation markers — is in [`handler`]; the steps
//! that differ are each mode's [`alignment::AlignmentRules`]. Deliberately broken variants are in
//! [`broken`], each a separate implementation or a thin wrapper of the same interface.
//!
//! **Architecture Invariant:** a handler never reads the world — no clock, no buffers, no event
//! queue, no trace: everything it knows arrives as an [`Input`]. And the world never decides
//! protocol: it executes the [`Action`]s, in order, and reports what happens back as inputs.

pub mod aligned;
pub mod aligned_timeout;
pub mod alignment;
pub mod at_least_once;
pub mod broken;
pub mod chandy_lamport_markers;
pub mod channel_persister;
pub mod handler;
pub mod interface;
pub mod stop_the_world;
#[cfg(test)]
mod story;
pub mod unaligned;

pub use handler::{BarrierHandler, Rules};
pub use interface::{
    Action, Barrier, CheckpointId, HandleBarriers, Input, InputIndex, SnapshotKind,
};
pub use stop_the_world::{StopTheWorld, StopTheWorldAction};

use crate::checkpoint::config::{DataflowVariant, SnapshotProtocol};
use broken::forgets_channel_state::ForgetsChannelState;
use broken::no_alignment::NoAlignment;

/// The barrier handler a task runs: the one its checkpoint mode calls for, or a broken variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TaskBarrierHandler {
    /// Sound (or with the broken [`Rules::ForwardBarrierEarly`] rules inside).
    Sound(BarrierHandler),
    /// Broken: never blocks.
    NoAlignment(NoAlignment<BarrierHandler>),
    /// Broken: drops channel state.
    ForgetsChannelState(ForgetsChannelState<BarrierHandler>),
}

impl TaskBarrierHandler {
    /// The handler for a task with `inputs` inputs under `protocol`, or under a broken `variant`
    /// of it. Variants that are not about barriers give the sound handler.
    pub fn new(
        protocol: SnapshotProtocol,
        variant: DataflowVariant,
        inputs: usize,
    ) -> TaskBarrierHandler {
        let aligned = if variant == DataflowVariant::ForwardBarrierEarly {
            Rules::ForwardBarrierEarly
        } else {
            Rules::Aligned
        };
        let handler = match protocol {
            SnapshotProtocol::AtLeastOnce => BarrierHandler::at_least_once(inputs),
            // Stop-the-world checkpoints send no barriers; savepoints are aligned.
            SnapshotProtocol::Aligned | SnapshotProtocol::StopTheWorld => {
                BarrierHandler::aligning(aligned, aligned, inputs)
            }
            SnapshotProtocol::Unaligned => {
                BarrierHandler::aligning(Rules::Unaligned, aligned, inputs)
            }
            SnapshotProtocol::AlignedWithTimeout { .. } => {
                BarrierHandler::aligning(Rules::AlignedWithTimeout, aligned, inputs)
            }
            SnapshotProtocol::ChandyLamport => {
                BarrierHandler::aligning(Rules::ChandyLamportMarkers, aligned, inputs)
            }
        };
        match variant {
            DataflowVariant::NoAlignment => TaskBarrierHandler::NoAlignment(NoAlignment(handler)),
            DataflowVariant::UnalignedForgetsChannelState => {
                TaskBarrierHandler::ForgetsChannelState(ForgetsChannelState(handler))
            }
            _ => TaskBarrierHandler::Sound(handler),
        }
    }
}

impl HandleBarriers for TaskBarrierHandler {
    fn handle(&mut self, input: Input, actions: &mut Vec<Action>) {
        match self {
            TaskBarrierHandler::Sound(handler) => handler.handle(input, actions),
            TaskBarrierHandler::NoAlignment(handler) => handler.handle(input, actions),
            TaskBarrierHandler::ForgetsChannelState(handler) => handler.handle(input, actions),
        }
    }

    fn aligning(&self) -> Vec<CheckpointId> {
        match self {
            TaskBarrierHandler::Sound(handler) => handler.aligning(),
            TaskBarrierHandler::NoAlignment(handler) => handler.aligning(),
            TaskBarrierHandler::ForgetsChannelState(handler) => handler.aligning(),
        }
    }
}
