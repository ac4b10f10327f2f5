//! What runs on the graph between snapshots: the application whose state is being recorded.
//!
//! The process-graph workloads move *tokens* (money in the bank example), a quantity the
//! application conserves, so that a snapshot can be checked by adding it up (the oracle's
//! invariant 3). The Chandy-Lamport paper's own examples (§2.2) are token systems.
//!
//! The streaming workloads (sources, operators, records) are in [`dataflow`].

pub mod dataflow;
pub mod keyed_state;
pub mod rate_limiter;
pub mod sink;

use crate::engine::SimTime;
use crate::topology::{ChannelIndex, ProcessIndex};
use serde::Serialize;

/// The application running on a process graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessWorkload {
    /// Nothing happens but what the snapshot protocol does.
    Idle,
    /// Bank transfers: every process sends a random amount (1..=`amount_max`, never more than
    /// it holds) to a random neighbour, as a Poisson process of `transfers_per_s` per process.
    Bank {
        transfers_per_s: f64,
        amount_max: u64,
        /// Stop after this many transfers in total (all processes together).
        max_transfers: Option<u64>,
    },
    /// Token passing: a process that holds tokens passes all of them to a random neighbour after
    /// holding them for `hold_us`.
    TokenPassing { hold_us: u64 },
    /// A fully scripted run: exactly these actions at exactly these times.
    Scripted(Vec<ScriptedAction>),
}

/// One timed action of a scripted run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScriptedAction {
    /// When it happens.
    pub at: SimTime,
    /// What happens.
    pub kind: ScriptedActionKind,
}

/// The actions a script may contain.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptedActionKind {
    /// Send `tokens` on `channel`; `latency_us` overrides the channel's latency for this message.
    /// Unless `overdraw` says it is meant to, a send of more than the sender holds is refused.
    /// With `lost`, the message is lost in transit (a scripted assumption breaker).
    Send {
        channel: ChannelIndex,
        tokens: i64,
        latency_us: Option<u64>,
        overdraw: bool,
        lost: bool,
    },
    /// Start a new snapshot at `initiator`. Its marker on each channel of `marker_latency_us`
    /// takes that latency instead of the channel's (whoever sends it); on each channel of
    /// `markers_lost` it is lost in transit (a scripted assumption breaker).
    Snapshot {
        initiator: ProcessIndex,
        marker_latency_us: Vec<(crate::topology::ChannelIndex, u64)>,
        markers_lost: Vec<crate::topology::ChannelIndex>,
    },
}

/// When a scripted action and a message delivery fall on the same instant, which runs first.
/// A script is a second source of events beside the engine's queue; this is the rule that merges
/// the two.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptedActionsRun {
    /// The action first, then whatever the engine has at that instant.
    #[default]
    BeforeDeliveries,
    /// Everything the engine has at that instant first — deliveries, and what they cause at the
    /// same instant — then the action. This is the COS418 simulator's rule: each `tick` delivers
    /// what is due, then the events file's next lines are injected.
    AfterDeliveries,
}
