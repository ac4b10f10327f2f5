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
//! | `cluster` | `taskmanager.numberOfTaskSlots` (or `slots-per-task-manager`), `taskmanager.cpu.cores` |
//!
//! `runtime` (framework cost, trigger preparation, mailbox delay) has no Flink key: it is what
//! Flink's runtime costs on the machine, not a setting.
//!
//! The job graph itself has no Flink configuration (it is code in a real job) and uses snake_case.
//!
//! Flink's flat keys themselves (`execution.checkpointing.interval`, `state.backend.type`, …) go in
//! the `config` section and are applied to these sections by [`super::flink_config`].

use super::duration::DurationUs;
use super::latency_spec::LatencySpec;
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
    /// RocksDB's SST files compress this state to this fraction of its raw size (default 1.0:
    /// incompressible; counters and repetitive values compress far better).
    pub state_compressibility: Option<f64>,
    // ---- sinks ----
    /// `plain` (writes at once), `idempotent` (upsert by key) or `two_phase_commit`.
    pub delivery: Option<String>,
    /// Two-phase commit: the external system aborts a transaction open longer than this (Kafka's
    /// `transaction.timeout.ms`).
    pub transaction_timeout: Option<DurationUs>,
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
    #[serde(alias = "taskmanager.numberOfTaskSlots")]
    pub slots_per_task_manager: Option<u32>,
    /// `taskmanager.cpu.cores`: each task manager runs on a host of its own with this many cores.
    #[serde(rename = "taskmanager.cpu.cores")]
    pub cpu_cores: Option<u32>,
    /// A MiniCluster: every task manager on one host with this many cores.
    pub mini_cluster: Option<MiniClusterSpec>,
    /// How long a busy subtask keeps a contended core (the OS time slice; default 3ms).
    pub scheduling_quantum: Option<DurationUs>,
    /// One-way latency of a job manager ↔ task RPC (trigger, acknowledge, notify).
    pub rpc_latency: Option<DurationUs>,
    /// `high-availability.type`: `none` (default), `zookeeper` or `kubernetes`.
    #[serde(alias = "high-availability.type")]
    pub high_availability: Option<String>,
}

/// `cluster.mini-cluster`: one host for the whole cluster.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MiniClusterSpec {
    /// The host's cores.
    pub cores: u32,
}

/// `runtime`: what Flink's runtime costs besides the user functions (calibrated defaults).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuntimeSpec {
    /// CPU time per record for each step; `"free"` for none at all.
    pub framework_cost: Option<FrameworkCostSpec>,
    /// From the trigger timestamp to the trigger RPCs leaving the coordinator.
    pub trigger_preparation: Option<DurationUs>,
    /// From a trigger RPC's arrival to the task seeing it in its mailbox.
    pub mailbox_delay: Option<LatencySpec>,
    /// A snapshot writer's CPU time per MiB it copies.
    pub snapshot_write_cost_per_mib: Option<DurationUs>,
}

/// `runtime.framework-cost`: per-record CPU time, step by step, or `"free"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum FrameworkCostSpec {
    /// `"free"`: no framework cost (only the user functions take time).
    Named(String),
    /// Each step's cost; an absent step keeps its default.
    Steps(FrameworkStepsSpec),
}

/// The steps of `runtime.framework-cost`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FrameworkStepsSpec {
    /// A source emits a record.
    pub emit: Option<DurationUs>,
    /// A chain's end serialises a record into a network buffer.
    pub serialize: Option<DurationUs>,
    /// A chain's head deserialises a record.
    pub deserialize: Option<DurationUs>,
    /// A keyed operator reads and writes the key's state.
    pub state_access: Option<DurationUs>,
    /// A sink writes a record.
    pub sink: Option<DurationUs>,
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
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
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

/// `faults`: what goes wrong, and when.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FaultsSpec {
    /// `heartbeat.timeout` (50 s): how long until a dead task manager is noticed.
    pub heartbeat_timeout: Option<DurationUs>,
    /// Faults at fixed times.
    #[serde(default)]
    pub scheduled: Vec<ScheduledFaultSpec>,
    /// Crashes at random times.
    #[serde(default)]
    pub random: Vec<RandomFaultSpec>,
}

/// A subtask, named by operator and subtask index.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SubtaskSpec {
    pub operator: String,
    #[serde(default)]
    pub subtask: u32,
}

/// `{"at": "5s", "<kind>": {…}}`: exactly one kind per entry.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScheduledFaultSpec {
    pub at: DurationUs,
    pub task_crash: Option<SubtaskSpec>,
    /// A task manager index.
    pub task_manager_crash: Option<u32>,
    pub network_partition: Option<PartitionSpec>,
    pub job_manager_partition: Option<JobManagerPartitionSpec>,
    pub latency_spike: Option<LatencySpikeSpec>,
    pub straggler: Option<StragglerSpec>,
    pub storage_outage: Option<DurationOnlySpec>,
    pub storage_slowdown: Option<SlowdownSpec>,
    pub decline_checkpoint: Option<SubtaskSpec>,
    pub lose_completion_notices: Option<DurationOnlySpec>,
    pub job_manager_crash: Option<JobManagerCrashSpec>,
}

/// `{"restart-after": "10s"}`: when a new JobManager process is running again.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JobManagerCrashSpec {
    pub restart_after: DurationUs,
}

/// `{"between": [0, 1], "duration": "2s"}`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionSpec {
    pub between: (u32, u32),
    pub duration: DurationUs,
}

/// `{"task-manager": 0, "duration": "20s"}`: the task manager cut off from the JobManager.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JobManagerPartitionSpec {
    pub task_manager: u32,
    pub duration: DurationUs,
}

/// `{"extra": "50ms", "duration": "3s"}`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySpikeSpec {
    pub extra: DurationUs,
    pub duration: DurationUs,
}

/// `{"operator": "sum", "subtask": 1, "factor": 5, "duration": "10s"}`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StragglerSpec {
    pub operator: String,
    #[serde(default)]
    pub subtask: u32,
    pub factor: f64,
    pub duration: DurationUs,
}

/// `{"duration": "20s"}`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DurationOnlySpec {
    pub duration: DurationUs,
}

/// `{"factor": 10, "duration": "20s"}`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlowdownSpec {
    pub factor: f64,
    pub duration: DurationUs,
}

/// `{"task-manager-crashes": {"mtbf": "60s"}}` or `{"task-crashes": {"mtbf": "30s"}}`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RandomFaultSpec {
    pub task_manager_crashes: Option<MtbfSpec>,
    pub task_crashes: Option<MtbfSpec>,
}

/// `{"mtbf": "60s"}`: mean time between failures of each task manager (or task).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MtbfSpec {
    pub mtbf: DurationUs,
}

/// `restart-strategy`: Flink's `restart-strategy.*` options.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RestartStrategySpec {
    /// `none`, `fixed-delay`, `failure-rate` or `exponential-delay`.
    #[serde(rename = "type")]
    pub kind: String,
    /// fixed-delay: `attempts`.
    pub attempts: Option<u32>,
    /// fixed-delay and failure-rate: `delay`.
    pub delay: Option<DurationUs>,
    /// failure-rate: `max-failures-per-interval`.
    pub max_failures_per_interval: Option<u32>,
    /// failure-rate: `failure-rate-interval`.
    pub failure_rate_interval: Option<DurationUs>,
    /// exponential-delay: `initial-backoff`.
    pub initial_backoff: Option<DurationUs>,
    /// exponential-delay: `max-backoff`.
    pub max_backoff: Option<DurationUs>,
    /// exponential-delay: `backoff-multiplier`.
    pub backoff_multiplier: Option<f64>,
    /// exponential-delay: `reset-backoff-threshold`.
    pub reset_backoff_threshold: Option<DurationUs>,
    /// exponential-delay: `jitter-factor`.
    pub jitter_factor: Option<f64>,
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
