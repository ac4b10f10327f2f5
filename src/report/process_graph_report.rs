//! What a process-graph (Chandy-Lamport) run reports: every snapshot with names instead of indices
//! and the oracle's verdict on it, the snapshots that never completed, the final balances.

use crate::chandy_lamport;
use crate::oracle::Check;
use crate::oracle::process_graph::Occurrence;
use serde::Serialize;

/// A recorded message, named.
#[derive(Clone, Debug, Serialize)]
pub struct MessageReport {
    /// Global message id.
    pub message: u64,
    /// Tokens it carried.
    pub tokens: i64,
}

/// One channel's recorded state.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelStateReport {
    /// `from->to`.
    pub channel: String,
    /// Recorded messages, in order.
    pub messages: Vec<MessageReport>,
}

/// One process's recorded state.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessStateReport {
    /// Process name.
    pub process: String,
    /// Recorded tokens.
    pub tokens: i64,
}

/// A completed snapshot with the oracle's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct SnapshotReport {
    /// Snapshot id.
    pub id: u32,
    /// Who started it.
    pub initiator: String,
    /// When it started (µs).
    pub started_at_us: u64,
    /// When it completed (µs).
    pub completed_at_us: u64,
    /// Every process's recorded state.
    pub processes: Vec<ProcessStateReport>,
    /// Every non-empty channel's recorded state.
    pub channels: Vec<ChannelStateReport>,
    /// Invariants 1–4.
    pub invariants: Vec<Check>,
    /// Whether the recorded state ever actually occurred.
    pub occurred: Occurrence,
}

/// A snapshot that never completed.
#[derive(Clone, Debug, Serialize)]
pub struct IncompleteSnapshotReport {
    /// Snapshot id.
    pub id: u32,
    /// Who started it.
    pub initiator: String,
    /// When it started (µs).
    pub started_at_us: u64,
    /// Processes that never recorded.
    pub processes_not_recorded: Vec<String>,
    /// Channels never closed by a marker.
    pub channels_not_closed: Vec<String>,
}

/// What a process-graph run produced.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessGraphReport {
    /// The protocol that ran (`correct`, or a broken variant).
    pub protocol_variant: chandy_lamport::ChandyLamportVariant,
    /// Process count.
    pub process_count: usize,
    /// Channel count.
    pub channel_count: usize,
    /// Application messages sent.
    pub application_messages: u64,
    /// Tokens in the system at the start.
    pub total_tokens: i64,
    /// Completed snapshots with their verdicts.
    pub snapshots: Vec<SnapshotReport>,
    /// Snapshots that never completed.
    pub incomplete_snapshots: Vec<IncompleteSnapshotReport>,
    /// Did every started snapshot complete?
    pub completion: Check,
    /// Scripted sends refused because the sender held too little, each naming the action: an
    /// error in the scenario.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused_sends: Vec<String>,
    /// Tokens per process at the end of the run.
    pub final_tokens: Vec<ProcessStateReport>,
}
