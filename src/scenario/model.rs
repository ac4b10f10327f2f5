//! A loaded, validated scenario: names resolved into indices, durations into microseconds, Flink's
//! options into settings — what the simulations run, so they never look a name up.

use crate::chandy_lamport::{ChandyLamportVariant, SnapshotSchedule};
use crate::checkpoint::savepoint::InitialState;
use crate::checkpoint::{CheckpointConfig, DataflowVariant, StateConfig, StorageConfig};
use crate::engine::SimTime;
use crate::fault::FaultPlan;
use crate::net::dataflow::NetworkConfig;
use crate::topology::ProcessGraph;
use crate::topology::job::{Cluster, JobGraph};
use crate::workload::ProcessWorkload;
use serde::Serialize;

/// A loaded, validated scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Scenario {
    /// Output directory name.
    pub name: String,
    /// What the scenario teaches.
    pub description: String,
    /// Seed of every random stream.
    pub seed: u64,
    /// Invariant names this scenario is meant to break.
    pub expected_failures: Vec<String>,
    /// What the lesson must show (its `expect` list).
    pub expectations: Vec<crate::expectation::Expectation>,
    /// The system and what runs on it.
    pub model: Model,
    /// What may not mean what it reads (each names the file and the JSON path).
    pub warnings: Vec<String>,
    /// `start-from-savepoint`: the scenario whose savepoint this job starts from, until
    /// `crate::deployment` has run it and put the savepoint's state in the model.
    pub start_from: Option<StartFrom>,
}

/// A `start-from-savepoint` entry, its scenario path resolved against the file's directory.
#[derive(Clone, Debug, Serialize)]
pub struct StartFrom {
    /// The scenario file whose run takes the savepoint.
    pub scenario: std::path::PathBuf,
    /// The savepoint's id in that run.
    pub savepoint: u64,
    /// Drop state of operators this job no longer has.
    pub allow_non_restored_state: bool,
    /// The file that asks for it (named in errors).
    pub label: String,
}

/// The kinds of system a scenario can describe.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// Processes and channels running the Chandy-Lamport algorithm.
    ProcessGraph(ProcessGraphModel),
    /// A Flink job with checkpointing.
    Dataflow(Box<DataflowModel>),
}

/// A dataflow (Flink) experiment.
#[derive(Clone, Debug, Serialize)]
pub struct DataflowModel {
    /// Operators and edges.
    pub job: JobGraph,
    /// Task managers and slots.
    pub cluster: Cluster,
    /// Buffers, flushing, flow control, latencies.
    pub network: NetworkConfig,
    /// Checkpointing, if enabled.
    pub checkpointing: Option<CheckpointConfig>,
    /// State backend and snapshot cost.
    pub state: StateConfig,
    /// Checkpoint storage.
    pub storage: StorageConfig,
    /// End of the run (unbounded jobs).
    pub stop_at: Option<SimTime>,
    /// Width of a throughput bucket.
    pub throughput_bucket_us: u64,
    /// The seed (the coordinator's initial delay draws from it).
    pub seed: u64,
    /// Faults, detection, restarts.
    pub faults: FaultPlan,
    /// Savepoints to take (at a time; `stop`: stop-with-savepoint).
    pub savepoints: Vec<SavepointSchedule>,
    /// State to start from (a savepoint), if any.
    pub initial_state: Option<InitialState>,
    /// The protocol as Flink implements it, or a deliberately broken variant.
    pub variant: DataflowVariant,
    /// What Flink's runtime costs besides the user functions.
    pub runtime: crate::dataflow::runtime_cost::RuntimeCosts,
    /// The event budget: the run is cut short after this many engine events (the file's
    /// `max_events`; [`crate::engine::EventBudget`]).
    pub max_events: u64,
}

/// A savepoint the scenario asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SavepointSchedule {
    /// When it is triggered.
    pub at: SimTime,
    /// Stop-with-savepoint: the job stops once it completes.
    pub stop: bool,
}

/// A process-graph experiment.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessGraphModel {
    /// Processes and channels.
    pub graph: ProcessGraph,
    /// The application.
    pub workload: ProcessWorkload,
    /// Snapshot initiations.
    pub snapshots: Vec<SnapshotSchedule>,
    /// When the workload and periodic snapshots stop starting new work.
    pub stop_at: Option<SimTime>,
    /// The algorithm as written, or a deliberately broken variant.
    pub variant: ChandyLamportVariant,
    /// The event budget: the run is cut short after this many engine events (the file's
    /// `max_events`; [`crate::engine::EventBudget`]).
    pub max_events: u64,
    /// Whether a scripted action at an instant runs before or after that instant's deliveries.
    pub scripted_actions_run: crate::workload::ScriptedActionsRun,
}
