//! Checkpoint settings, resolved from a scenario (`execution.checkpointing.*`, `state.*`,
//! checkpoint storage), with Flink's defaults.

use serde::Serialize;

/// How tasks react to barriers: the barrier handler (and, for comparison, two other protocols).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "handler")]
pub enum SnapshotProtocol {
    /// Exactly-once, aligned: block a channel after its barrier until all barriers are in
    /// (`SingleCheckpointBarrierHandler.aligned`).
    Aligned,
    /// At-least-once: never block; snapshot when barriers arrived on all channels
    /// (`CheckpointBarrierTracker`).
    AtLeastOnce,
    /// Exactly-once, unaligned: snapshot on the first barrier, which overtakes in-flight data;
    /// overtaken data becomes channel state (`unaligned.enabled`, timeout 0).
    Unaligned,
    /// Exactly-once, aligned until `aligned-checkpoint-timeout` after the trigger, then unaligned.
    AlignedWithTimeout { timeout_us: u64 },
    /// Chandy-Lamport markers on the dataflow: FIFO markers (no overtaking), snapshot on the first,
    /// record what arrives on the other channels until their marker. No blocking.
    ChandyLamport,
    /// Synchronous global snapshot: stop the sources, drain every channel, snapshot everything,
    /// resume. The model Young's and Daly's formulas assume.
    StopTheWorld,
}

impl SnapshotProtocol {
    /// A short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            SnapshotProtocol::Aligned => "aligned",
            SnapshotProtocol::AtLeastOnce => "at-least-once",
            SnapshotProtocol::Unaligned => "unaligned",
            SnapshotProtocol::AlignedWithTimeout { .. } => "aligned-timeout",
            SnapshotProtocol::ChandyLamport => "chandy-lamport",
            SnapshotProtocol::StopTheWorld => "stop-the-world",
        }
    }

    /// Does a completed checkpoint promise exactly-once state (invariant 5 must hold exactly)?
    pub fn is_exactly_once(&self) -> bool {
        !matches!(self, SnapshotProtocol::AtLeastOnce)
    }

    /// Do barriers overtake in-flight data from the start?
    pub fn starts_unaligned(&self) -> bool {
        matches!(self, SnapshotProtocol::Unaligned)
    }
}

/// `execution.checkpointing.*`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckpointConfig {
    /// `interval`.
    pub interval_us: u64,
    /// The barrier handler.
    pub protocol: SnapshotProtocol,
    /// `min-pause`: minimum time from a completion to the next trigger.
    pub min_pause_us: u64,
    /// `max-concurrent-checkpoints`.
    pub max_concurrent: u32,
    /// `timeout`: a checkpoint pending longer expires.
    pub timeout_us: u64,
    /// `tolerable-failed-checkpoints`.
    pub tolerable_failed: u32,
    /// `num-retained`.
    pub num_retained: u32,
}

/// `state.backend.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StateBackend {
    /// Objects on the heap; every checkpoint is a full snapshot.
    HashMap,
    /// RocksDB; with `incremental`, only new SST files are uploaded.
    RocksDb,
}

/// State backend and the cost of snapshotting.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StateConfig {
    /// Backend.
    pub backend: StateBackend,
    /// Incremental checkpoints (RocksDB only).
    pub incremental: bool,
    /// Fixed synchronous-phase time.
    pub sync_base_us: u64,
    /// Synchronous-phase time per MiB of state.
    pub sync_per_mb_us: u64,
    /// Incremental uploads before a compaction forces a full re-upload.
    pub compaction_trigger: u32,
}

/// Checkpoint storage (the asynchronous phase uploads here).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StorageConfig {
    /// Latency of an upload or download.
    pub latency_us: u64,
    /// Bytes per second per upload.
    pub bandwidth_bytes_per_s: u64,
}

impl StorageConfig {
    /// Time to move `bytes` to or from storage.
    pub fn transfer_us(&self, bytes: u64) -> u64 {
        self.latency_us
            + (bytes as u128 * 1_000_000 / u128::from(self.bandwidth_bytes_per_s.max(1))) as u64
    }
}

/// A deliberately broken version of the dataflow protocol, selectable in a scenario
/// (`protocol_variant`) to show what each rule of the real one is for. The oracle must catch every
/// one of them (`tests/properties.rs` shows it does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataflowVariant {
    /// The protocol as Flink implements it.
    #[default]
    Correct,
    /// Exactly-once without alignment: a channel is not blocked after its barrier, so records
    /// behind the barrier reach the state before the snapshot.
    NoAlignment,
    /// Unaligned checkpoints that forget channel state: overtaken and in-flight records are
    /// persisted nowhere.
    UnalignedForgetsChannelState,
    /// The barrier is forwarded downstream when the first one arrives, before the alignment and the
    /// snapshot: records processed meanwhile are in this task's snapshot but reach the next task
    /// after the barrier.
    ForwardBarrierEarly,
    /// A two-phase-commit sink that commits at pre-commit instead of on checkpoint completion.
    CommitAtPreCommit,
    /// Recovery from the newest pending checkpoint instead of the latest completed one.
    RestoreFromPending,
    /// An input channel keeps recording channel state until the task reads the barrier, not
    /// until the barrier arrives: records behind an ordinary barrier queued at the receiver are
    /// written into the checkpoint too.
    RecordingPastTheBarrier,
}

impl DataflowVariant {
    /// Every variant, by the name scenario files use.
    pub const ALL: [(&'static str, DataflowVariant); 7] = [
        ("correct", DataflowVariant::Correct),
        ("no_alignment", DataflowVariant::NoAlignment),
        (
            "unaligned_forgets_channel_state",
            DataflowVariant::UnalignedForgetsChannelState,
        ),
        (
            "forward_barrier_early",
            DataflowVariant::ForwardBarrierEarly,
        ),
        ("commit_at_pre_commit", DataflowVariant::CommitAtPreCommit),
        ("restore_from_pending", DataflowVariant::RestoreFromPending),
        (
            "recording_past_the_barrier",
            DataflowVariant::RecordingPastTheBarrier,
        ),
    ];
}
