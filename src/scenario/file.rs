//! The scenario file as written: serde types that mirror the JSON one to one.
//!
//! Every struct denies unknown fields, so a typo (`"latncy"`) is an error naming the field and the
//! fields that are allowed, not a silently ignored setting. Checks that need more than one field
//! (names that must exist, ranges, "exactly one of") live in `validate.rs`.

use super::duration::DurationUs;
pub use super::latency_spec::LatencySpec;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The whole file.
#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Names the output directory `output/<name>/`; defaults to the file's stem.
    pub name: Option<String>,
    /// What the scenario teaches, shown at the top of every report.
    pub description: String,
    /// Seed of every random stream in the run (overridable with `--seed`).
    #[serde(default)]
    pub seed: u64,
    /// Virtual time after which workloads and periodic snapshots stop starting new work; what is
    /// in flight still finishes.
    pub duration: Option<DurationUs>,
    /// The work budget: the most engine events the run may take, estimated before it starts
    /// (see `scenario::budget`); default 30 000 000.
    pub max_events: Option<u64>,
    /// Invariants this scenario is *meant* to break (a teaching scenario showing a broken
    /// assumption). The run then succeeds only if exactly these fail.
    #[serde(default)]
    pub expected_failures: Vec<String>,
    /// What the lesson must show, checked after the oracle (see [`crate::expectation`]).
    #[serde(default)]
    pub expect: Vec<crate::expectation::ExpectationSpec>,
    /// A deliberately broken protocol variant to run instead of the real one (teaching only).
    pub protocol_variant: Option<String>,

    // ---- process graph (Chandy-Lamport) ----
    /// The processes: a list of names or `{name, tokens}` objects, or `{count, name_prefix, tokens}`.
    pub processes: Option<ProcessesSpec>,
    /// Tokens each listed process starts with unless it says otherwise.
    pub initial_tokens: Option<i64>,
    /// A generated channel set: `"complete"`, `"ring"`, `"bidirectional_ring"` or
    /// `{"chordal_ring": [1, 2, 4]}`.
    pub topology: Option<TopologySpec>,
    /// An explicit channel list (instead of `topology`).
    pub channels: Option<Vec<ChannelSpec>>,
    /// Settings for every channel that does not override them.
    pub channel_defaults: Option<ChannelDefaultsSpec>,
    /// The application: `{"bank": {…}}`, `{"token_passing": {…}}` or `{"scripted": […]}`.
    pub workload: Option<WorkloadSpec>,
    /// When snapshots start: `{initiator, at}` or `{initiator, every, start?}`.
    #[serde(default)]
    pub snapshots: Vec<SnapshotSpec>,
    /// When a scripted action and a message delivery fall on the same instant, which runs first:
    /// `"before_deliveries"` (the default) or `"after_deliveries"` (the COS418 simulator's rule:
    /// a tick delivers, then the next lines of the events file run).
    pub scripted_actions_run: Option<crate::workload::ScriptedActionsRun>,

    // ---- dataflow (Flink) ----
    /// The job graph: operators and their inputs.
    pub job: Option<super::dataflow_file::JobSpec>,
    /// Task managers, slots, RPC latency.
    pub cluster: Option<super::dataflow_file::ClusterSpec>,
    /// Flink's network stack settings.
    pub network: Option<super::dataflow_file::NetworkSpec>,
    /// What Flink's runtime costs besides the user functions.
    pub runtime: Option<super::dataflow_file::RuntimeSpec>,
    /// `execution.checkpointing.*`; absent = checkpointing off.
    pub checkpointing: Option<super::dataflow_file::CheckpointingSpec>,
    /// State backend and snapshot cost.
    pub state: Option<super::dataflow_file::StateSpec>,
    /// Checkpoint storage.
    #[serde(rename = "checkpoint-storage")]
    pub checkpoint_storage: Option<super::dataflow_file::StorageSpec>,
    /// The fault plan.
    pub faults: Option<super::dataflow_file::FaultsSpec>,
    /// `restart-strategy.*`.
    #[serde(rename = "restart-strategy")]
    pub restart_strategy: Option<super::dataflow_file::RestartStrategySpec>,
    /// `jobmanager.execution.failover-strategy`: `region` (default) or `full`.
    #[serde(rename = "failover-strategy")]
    pub failover_strategy: Option<String>,
    /// Savepoints to take: `[{"at": "10s"}, {"at": "20s", "stop": true}]`.
    #[serde(default)]
    pub savepoints: Vec<SavepointSpec>,
    /// Start from a savepoint another scenario takes: `{"scenario": "v1.json", "savepoint": 12}`.
    #[serde(rename = "start-from-savepoint")]
    pub start_from_savepoint: Option<StartFromSavepointSpec>,
    /// Flink configuration keys exactly as Flink spells them (`config.yaml`'s flat keys, or
    /// nested), applied to the sections above ([`super::flink_config`]); alias `flink-conf`.
    #[serde(alias = "flink-conf")]
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `start-from-savepoint`: the scenario file (relative to this one) whose run takes the savepoint,
/// and the savepoint's id; like `flink run -s`, optionally `allow-non-restored-state`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StartFromSavepointSpec {
    pub scenario: String,
    pub savepoint: u64,
    #[serde(default)]
    pub allow_non_restored_state: bool,
}

/// One savepoint request.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SavepointSpec {
    pub at: DurationUs,
    /// Stop-with-savepoint.
    #[serde(default)]
    pub stop: bool,
}

/// `processes`: explicit list or generated.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ProcessesSpec {
    /// `["p", {"name": "q", "tokens": 5}]`
    List(Vec<ProcessSpec>),
    /// `{"count": 64, "name_prefix": "p", "tokens": 1000}`
    Generated(GeneratedProcessesSpec),
}

/// One listed process.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessSpec {
    pub name: String,
    pub tokens: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessObject {
    name: String,
    tokens: Option<i64>,
}

/// Many processes named `<prefix><i>`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedProcessesSpec {
    pub count: u64,
    #[serde(default = "default_prefix")]
    pub name_prefix: String,
    pub tokens: Option<i64>,
}

fn default_prefix() -> String {
    "p".to_string()
}

impl<'de> Deserialize<'de> for ProcessSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ProcessVisitor;
        impl<'de> Visitor<'de> for ProcessVisitor {
            type Value = ProcessSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a process name or an object {\"name\": …, \"tokens\": …}")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<ProcessSpec, E> {
                Ok(ProcessSpec {
                    name: name.to_string(),
                    tokens: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ProcessSpec, A::Error> {
                let object = ProcessObject::deserialize(MapAccessDeserializer::new(map))?;
                Ok(ProcessSpec {
                    name: object.name,
                    tokens: object.tokens,
                })
            }
        }
        deserializer.deserialize_any(ProcessVisitor)
    }
}

impl<'de> Deserialize<'de> for ProcessesSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ProcessesVisitor;
        impl<'de> Visitor<'de> for ProcessesVisitor {
            type Value = ProcessesSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of processes or {\"count\": …, \"name_prefix\": …}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ProcessesSpec, A::Error> {
                let mut list = Vec::new();
                while let Some(process) = seq.next_element()? {
                    list.push(process);
                }
                Ok(ProcessesSpec::List(list))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ProcessesSpec, A::Error> {
                GeneratedProcessesSpec::deserialize(MapAccessDeserializer::new(map))
                    .map(ProcessesSpec::Generated)
            }
        }
        deserializer.deserialize_any(ProcessesVisitor)
    }
}

/// Generated channel sets.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TopologySpec {
    /// A channel in each direction between every pair of processes.
    Complete,
    /// `p0 -> p1 -> … -> p0`.
    Ring,
    /// A ring with channels both ways.
    BidirectionalRing,
    /// `p_i -> p_(i+c mod n)` for each chord length `c` (include 1 to make it strongly connected).
    ChordalRing(Vec<u64>),
}

/// One explicit channel.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    pub from: String,
    pub to: String,
    pub latency: Option<LatencySpec>,
    pub fifo: Option<bool>,
    pub loss_probability: Option<f64>,
}

/// Defaults applied to every channel.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelDefaultsSpec {
    pub latency: Option<LatencySpec>,
    pub fifo: Option<bool>,
    pub loss_probability: Option<f64>,
}

/// The application on a process graph.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WorkloadSpec {
    /// No application messages at all.
    Idle,
    Bank(BankSpec),
    TokenPassing(TokenPassingSpec),
    Scripted(Vec<ScriptedActionSpec>),
}

/// `{"bank": {…}}`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BankSpec {
    /// Transfers each process starts per second of virtual time (Poisson).
    pub transfers_per_s: f64,
    /// Largest amount of one transfer (amounts are uniform in 1..=amount_max).
    #[serde(default = "default_amount_max")]
    pub amount_max: u64,
    /// Stop after this many transfers in total.
    pub max_transfers: Option<u64>,
}

fn default_amount_max() -> u64 {
    10
}

/// `{"token_passing": {"hold": "10ms"}}`
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenPassingSpec {
    pub hold: DurationUs,
}

/// One timed line of a script: `{"at": "3ms", "send": {…}}` or `{"at": "5ms", "snapshot": "p"}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedActionSpec {
    pub at: DurationUs,
    pub send: Option<SendSpec>,
    /// Start a snapshot at this process.
    pub snapshot: Option<String>,
    /// With `snapshot`: this snapshot's marker on a channel (`"from->to"`) takes this latency
    /// instead of the channel's, whichever process sends it.
    pub marker_latency: Option<std::collections::BTreeMap<String, DurationUs>>,
    /// With `snapshot`: this snapshot's marker is lost on these channels (`"from->to"`): an
    /// assumption breaker, on purpose.
    pub markers_lost: Option<Vec<String>>,
}

/// A scripted send.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SendSpec {
    pub from: String,
    pub to: String,
    pub tokens: i64,
    /// This message's latency, overriding the channel's.
    pub latency: Option<DurationUs>,
    /// Send even if the sender holds fewer tokens (its balance goes negative): an assumption
    /// breaker, on purpose.
    #[serde(default)]
    pub overdraw: bool,
    /// The message is lost in transit (never delivered): an assumption breaker, on purpose.
    #[serde(default)]
    pub lost: bool,
}

/// When a process initiates snapshots.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSpec {
    pub initiator: String,
    /// One snapshot at this time.
    pub at: Option<DurationUs>,
    /// Periodic snapshots with this period.
    pub every: Option<DurationUs>,
    /// First periodic snapshot (defaults to `every`).
    pub start: Option<DurationUs>,
}
