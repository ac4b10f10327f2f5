//! The invariants the oracle checks, by name: the vocabulary a scenario uses to say which of them
//! its lesson breaks on purpose (`expected_failures`), and the reports use to say which failed.

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

    /// One of Chandy-Lamport's invariants, evaluated on process graphs (the others are evaluated on
    /// dataflows).
    pub fn is_chandy_lamport(self) -> bool {
        matches!(
            self,
            Invariant::ConsistentCut
                | Invariant::ChannelState
                | Invariant::Conservation
                | Invariant::Reachability
                | Invariant::Completion
        )
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
