//! The dataflow (Flink) part of a scenario file, as written.
//!
//! Sections that mirror a Flink configuration prefix use Flink's own kebab-case keys, so that what a
//! learner sets here is what they would set on a real job:
//!
//! | section | Flink prefix |
//! |---|---|
//! | `checkpointing` | `execution.checkpointing.*` (`interval`, `mode`, `min-pause`, `max-concurrent-checkpoints`, `timeout`, `tolerable-failed-checkpoints`, `num-retained`, `aligned-checkpoint-timeout`, `unaligned.enabled` → `unaligned`, `incremental` → `state.incremental`) |
//! | `network` | `taskmanager.memory.segment-size`, `execution.buffer-timeout.interval` → `buffer-timeout`, `taskmanager.network.memory.*` |
//! | `state` | `state.backend.type` → `backend` |
//!
//! The job graph itself has no Flink configuration (it is code in a real job) and uses snake_case.

use super::duration::DurationUs;
use super::file::LatencySpec;
use super::size::{Bytes, BytesPerSecond};
use serde::{Deserialize, Serialize};

/// `job`: the operators and how they are connected.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Flink's `pipeline.max-parallelism`: the number of key groups (default 128).
    pub max_parallelism: Option<u32>,
    /// Operators in any order; each names its inputs.
    pub operators: Vec<OperatorSpec>,
}

/// One operator of the job graph. Fields that only apply to one kind are rejected on the others.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorSpec {
    pub name: String,
    /// `source`, `map`, `filter`, `keyed_aggregation`, `union`, `sink`.
    pub kind: String,
    /// Stable id for mapping savepoint state (Flink's `uid()`); defaults to the name.
    pub uid: Option<String>,
    #[serde(default = "one")]
    pub parallelism: u32,
    #[serde(default)]
    pub inputs: Vec<InputSpec>,
    /// Processing time per record: `"200us"` or a distribution like a latency.
    pub cost: Option<LatencySpec>,
    /// Whether this operator may be chained to its input (Flink chains forward edges of equal
    /// parallelism by default).
    pub chain: Option<bool>,
    // ---- sources ----
    /// Records per second per subtask (rate-limited generator); absent = as fast as possible.
    pub rate_per_s: Option<f64>,
    /// Total records of each subtask; absent = unbounded (runs until the scenario's `duration`).
    pub records: Option<u64>,
    /// Number of distinct keys.
    pub keys: Option<u32>,
    /// `"uniform"` or `{"zipf": 1.1}`.
    pub key_distribution: Option<KeyDistributionSpec>,
    /// Serialized size of one record.
    pub record_size: Option<Bytes>,
    // ---- filter ----
    /// Fraction of records that pass.
    pub selectivity: Option<f64>,
    // ---- keyed aggregation ----
    /// Bytes of keyed state per key.
    pub state_per_key: Option<Bytes>,
}

fn one() -> u32 {
    1
}

/// One input edge.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub from: String,
    /// `forward`, `hash` (keyBy), `rebalance`, `broadcast`.
    pub partitioner: String,
}

/// Key distribution of a source.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyDistributionSpec {
    Uniform,
    /// Zipf with this exponent: key `k` (from 1) has weight `1/k^s`.
    Zipf(f64),
}

/// `cluster`: task managers and slots.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterSpec {
    /// Number of task managers (default 1).
    pub task_managers: Option<u32>,
    /// `taskmanager.numberOfTaskSlots` (default: the largest parallelism).
    pub slots_per_task_manager: Option<u32>,
    /// One-way latency of a job manager ↔ task RPC (trigger, acknowledge, notify).
    pub rpc_latency: Option<DurationUs>,
}

/// `network`: Flink's network stack settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NetworkSpec {
    /// `taskmanager.memory.segment-size` (32kb).
    pub segment_size: Option<Bytes>,
    /// `execution.buffer-timeout.interval` (100ms): partially filled buffers are flushed this often.
    pub buffer_timeout: Option<DurationUs>,
    /// `taskmanager.network.memory.buffers-per-channel` (2): exclusive buffers per input channel.
    pub buffers_per_channel: Option<u32>,
    /// `taskmanager.network.memory.floating-buffers-per-gate` (8).
    pub floating_buffers_per_gate: Option<u32>,
    /// `taskmanager.network.memory.max-buffers-per-channel` (10): queued buffers per output subpartition.
    pub max_buffers_per_channel: Option<u32>,
    /// Latency between task managers.
    pub remote_latency: Option<DurationUs>,
    /// Bandwidth between each pair of task managers.
    pub remote_bandwidth: Option<BytesPerSecond>,
}

/// `checkpointing`: `execution.checkpointing.*`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckpointingSpec {
    /// `execution.checkpointing.interval`; absent = checkpointing off.
    pub interval: Option<DurationUs>,
    /// `EXACTLY_ONCE` (default) or `AT_LEAST_ONCE`.
    pub mode: Option<String>,
    /// `execution.checkpointing.unaligned.enabled`.
    pub unaligned: Option<bool>,
    /// `execution.checkpointing.aligned-checkpoint-timeout` (0 = unaligned from the start).
    pub aligned_checkpoint_timeout: Option<DurationUs>,
    /// `execution.checkpointing.min-pause`.
    pub min_pause: Option<DurationUs>,
    /// `execution.checkpointing.max-concurrent-checkpoints`.
    pub max_concurrent_checkpoints: Option<u32>,
    /// `execution.checkpointing.timeout` (10 min).
    pub timeout: Option<DurationUs>,
    /// `execution.checkpointing.tolerable-failed-checkpoints` (0).
    pub tolerable_failed_checkpoints: Option<u32>,
    /// `execution.checkpointing.num-retained` (1).
    pub num_retained: Option<u32>,
    /// snapsim only: `flink` (default), `chandy-lamport` (FIFO markers, channel state recorded at
    /// the receiver) or `stop-the-world` (drain, snapshot everything, resume).
    pub protocol: Option<String>,
}

/// `state`: the state backend and the cost of the synchronous phase.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StateSpec {
    /// `state.backend.type`: `hashmap` (full snapshots) or `rocksdb`.
    pub backend: Option<String>,
    /// `execution.checkpointing.incremental`: upload only what changed (rocksdb).
    pub incremental: Option<bool>,
    /// Fixed part of the synchronous snapshot on the task thread.
    pub sync_base: Option<DurationUs>,
    /// Synchronous snapshot time per MiB of state.
    pub sync_per_mb: Option<DurationUs>,
    /// RocksDB `level0_file_num_compaction_trigger` (4): after this many incremental uploads the
    /// files are compacted and the next checkpoint uploads everything again.
    pub compaction_trigger: Option<u32>,
}

/// `checkpoint-storage`: where snapshots are uploaded in the asynchronous phase.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StorageSpec {
    /// Latency of one upload (or download).
    pub latency: Option<DurationUs>,
    /// Upload bandwidth per task.
    pub bandwidth: Option<BytesPerSecond>,
}
