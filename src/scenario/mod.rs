//! Scenario files: the JSON format, loading, and validation with errors that say what to change.
//!
//! A scenario describes one experiment: the graph, the workload, when snapshots start, the seed,
//! and — for teaching scenarios that break an assumption on purpose — which invariants are
//! expected to fail. Loading goes in two steps:
//!
//! 1. **parse** (`file.rs`): serde with `deny_unknown_fields`, wrapped in `serde_path_to_error` so
//!    that a type error names the JSON path (`channels[1].latency.uniform.min`);
//! 2. **validate** (`validate.rs`): names that must exist, ranges, graph reachability; every error
//!    again names the path.
//!
//! The result is a [`Scenario`] whose indices are resolved, so the simulation never looks a name up.

mod dataflow_file;
mod duration;
mod file;
mod size;
mod validate;
mod validate_dataflow;

pub use duration::{DurationUs, parse_duration_us};
pub use file::ScenarioFile;
pub use size::{parse_bandwidth, parse_bytes};

use crate::chandy_lamport::{ChandyLamportVariant, SnapshotSchedule};
use crate::checkpoint::{CheckpointConfig, StateConfig, StorageConfig};
use crate::engine::SimTime;
use crate::fault::FaultPlan;
use crate::net::dataflow::NetworkConfig;
use crate::topology::ProcessGraph;
use crate::topology::job::{Cluster, JobGraph};
use crate::workload::ProcessWorkload;
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// A problem with a scenario file: which file, where in it, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file as the user named it.
    pub file: String,
    /// Where in the JSON, e.g. `channels[2].to`; `.` for the whole document.
    pub json_path: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// Line and column in the file, when the JSON parser knows them.
    pub line_column: Option<(usize, usize)>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: at `{}`: {}",
            self.file, self.json_path, self.message
        )?;
        if let Some((line, column)) = self.line_column {
            write!(f, " (line {line}, column {column})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

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
    /// The system and what runs on it.
    pub model: Model,
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
    pub initial_state: Option<crate::checkpoint::savepoint::InitialState>,
    /// The protocol as Flink implements it, or a deliberately broken variant.
    pub variant: crate::checkpoint::DataflowVariant,
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
}

/// Starts a dataflow scenario from a savepoint: operators by uid, keyed state redistributed by
/// key group to the scenario's parallelism. Errors say why the savepoint does not fit.
pub fn start_from_savepoint(
    scenario: &mut Scenario,
    savepoint: &crate::checkpoint::savepoint::Savepoint,
    source: &str,
    allow_non_restored_state: bool,
) -> Result<(), String> {
    let Model::Dataflow(model) = &mut scenario.model else {
        return Err(format!(
            "{source}: savepoints are for dataflow (Flink) scenarios; this one is a process graph"
        ));
    };
    let graph = model.job.expand(&model.cluster);
    let initial = crate::checkpoint::savepoint::restore_into(
        savepoint,
        source,
        &model.job,
        &graph,
        allow_non_restored_state,
    )?;
    model.initial_state = Some(initial);
    Ok(())
}

/// Reads, parses and validates a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ScenarioError {
        file: label.clone(),
        json_path: ".".into(),
        message: format!("cannot read the file: {error}"),
        line_column: None,
    })?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario");
    parse_str(&text, &label, stem)
}

/// Parses and validates scenario text; `label` names it in errors, `default_name` is used when the
/// file has no `name`.
pub fn parse_str(text: &str, label: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
    let file = parse_file(text, label)?;
    validate::validate(file, label, default_name)
}

/// Parses scenario text into the file types without validating it.
pub fn parse_file(text: &str, label: &str) -> Result<ScenarioFile, ScenarioError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let file: ScenarioFile = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| json_error(label, error))?;
    deserializer.end().map_err(|error| ScenarioError {
        file: label.to_string(),
        json_path: ".".into(),
        message: strip_position(&error.to_string()),
        line_column: Some((error.line(), error.column())),
    })?;
    Ok(file)
}

fn json_error(label: &str, error: serde_path_to_error::Error<serde_json::Error>) -> ScenarioError {
    let json_path = error.path().to_string();
    let inner = error.into_inner();
    let line_column = (inner.line() > 0).then(|| (inner.line(), inner.column()));
    ScenarioError {
        file: label.to_string(),
        json_path,
        message: strip_position(&inner.to_string()),
        line_column,
    }
}

/// serde_json appends " at line L column C"; we report the position separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}
