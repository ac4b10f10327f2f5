//! The invariant oracle: checks every snapshot against what really happened.
//!
//! **Architecture invariant:** the oracle reads the run's event record and the scenario, never a
//! protocol's private state, so a buggy protocol cannot hide its own bug. Every check returns
//! pass/fail *and* a sentence saying why — which channel, which message, expected versus recorded —
//! because a learner needs the reason, not a red cross.
//!
//! The invariants (listed in `ARCHITECTURE.md`, with what each means) are named here; the submodules
//! check them for each kind of system.

pub mod dataflow;
pub mod delivery;
pub mod process_graph;

use serde::Serialize;
use std::fmt;

/// The invariants the oracle knows, by the names scenario files use in `expected_failures`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// §5.1 Consistent cut: every message whose receipt is inside the snapshot was sent inside it.
    ConsistentCut,
    /// §5.2 Channel state: each channel's recorded messages are exactly those sent before the
    /// sender recorded and not received before the receiver recorded, in order.
    ChannelState,
    /// §5.3 Conservation: the recorded tokens (processes plus channels) add up to the total.
    Conservation,
    /// §5.4 Reachability (Chandy-Lamport Theorem 1): replaying the events before the cut from the
    /// initial state yields exactly the recorded global state.
    Reachability,
    /// Liveness: every snapshot that was started completed.
    Completion,
    /// §5.5 Dataflow snapshot = prefix: operator state plus persisted channel state equals the
    /// failure-free computation on the source prefixes recorded in the checkpoint.
    PrefixConsistency,
    /// §5.8 Protocol rules: ids increase, completion only after all acknowledgements, never more
    /// than max-concurrent pending, min-pause respected.
    ProtocolRules,
    /// §5.6 Exactly-once: final keyed state and committed sink output equal the failure-free run.
    ExactlyOnce,
    /// §5.7 At-least-once: no record lost; duplicates counted and reported.
    AtLeastOnce,
}

impl Invariant {
    /// Every invariant, in report order.
    pub const ALL: [Invariant; 9] = [
        Invariant::ConsistentCut,
        Invariant::ChannelState,
        Invariant::Conservation,
        Invariant::Reachability,
        Invariant::Completion,
        Invariant::PrefixConsistency,
        Invariant::ProtocolRules,
        Invariant::ExactlyOnce,
        Invariant::AtLeastOnce,
    ];

    /// The name used in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Invariant::ConsistentCut => "consistent_cut",
            Invariant::ChannelState => "channel_state",
            Invariant::Conservation => "conservation",
            Invariant::Reachability => "reachability",
            Invariant::Completion => "completion",
            Invariant::PrefixConsistency => "prefix_consistency",
            Invariant::ProtocolRules => "protocol_rules",
            Invariant::ExactlyOnce => "exactly_once",
            Invariant::AtLeastOnce => "at_least_once",
        }
    }

    /// Looks an invariant up by its name.
    pub fn from_name(name: &str) -> Option<Invariant> {
        Invariant::ALL.into_iter().find(|i| i.name() == name)
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome of one invariant on one snapshot (or on the whole run).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Which invariant.
    pub invariant: Invariant,
    /// Whether it held.
    pub passed: bool,
    /// Why it held, or precisely what broke it.
    pub detail: String,
}

impl Check {
    /// A passing check.
    pub fn pass(invariant: Invariant, detail: impl Into<String>) -> Check {
        Check {
            invariant,
            passed: true,
            detail: detail.into(),
        }
    }

    /// A failing check.
    pub fn fail(invariant: Invariant, detail: impl Into<String>) -> Check {
        Check {
            invariant,
            passed: false,
            detail: detail.into(),
        }
    }
}
