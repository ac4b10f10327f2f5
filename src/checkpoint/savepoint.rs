//! Savepoints: user-triggered, always aligned, never subsumed; written as a portable JSON file
//! that a *different* job can start from.
//!
//! A savepoint stores state by operator **uid**, not by task, and keyed state by key, so a new job
//! can map it onto its own operators: operators are matched by uid; keyed state is regrouped into
//! key groups and handed to whichever subtask of the new parallelism owns each group (Flink's
//! key-group redistribution, which is why the maximum parallelism must not change). State for a
//! uid the new job lacks is an error unless `allow-non-restored-state` is set; operators the
//! savepoint lacks start empty. Sources keep one replayable log per subtask, so their parallelism
//! cannot change.
//!
//! A plain savepoint sends no `notifyCheckpointComplete` (two-phase-commit sinks do not commit
//! for it); stop-with-savepoint does, and then the job stops (as Flink's `stop --savepointPath`).

use crate::dataflow::CompletedCheckpoint;
use crate::topology::job::{ExecutionGraph, JobGraph};
use crate::workload::dataflow::{OperatorKind, OperatorState, key_group, subtask_for_key_group};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The file format's name and version, checked when a savepoint is read.
pub const FORMAT: &str = "snapsim-savepoint";
/// Current format version.
pub const VERSION: u32 = 1;

/// A savepoint file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Savepoint {
    /// Always `snapsim-savepoint`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// The scenario that took it.
    pub scenario: String,
    /// Its checkpoint id.
    pub savepoint_id: u64,
    /// When it completed (µs of the run that took it).
    pub taken_at_us: u64,
    /// Number of key groups of the job that took it.
    pub max_parallelism: u32,
    /// State per operator, by uid.
    pub operators: Vec<OperatorSavepoint>,
    /// The digest of the run that took it (its `report.json`'s `digest`), when it was written
    /// beside that report: a savepoint from another run of the scenario can be told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_digest: Option<String>,
}

/// One operator's state in a savepoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorSavepoint {
    /// The operator's uid.
    pub uid: String,
    /// `source`, `keyed_aggregation`, `sink`, … (a uid must keep its kind).
    pub kind: String,
    /// Parallelism when the savepoint was taken.
    pub parallelism: u32,
    /// Per subtask.
    pub subtasks: Vec<SubtaskSavepoint>,
}

/// One subtask's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubtaskSavepoint {
    /// Subtask index.
    pub subtask: u32,
    /// Sources: the offset to resume reading at.
    #[serde(default)]
    pub offset: u64,
    /// Keyed state: `[key, sum, count]`.
    #[serde(default)]
    pub keyed: Vec<(u32, i64, u64)>,
}

/// Builds the savepoint file for a completed savepoint of a run.
pub fn from_checkpoint(
    scenario: &str,
    job: &JobGraph,
    graph: &ExecutionGraph,
    savepoint: &CompletedCheckpoint,
) -> Savepoint {
    let mut operators: Vec<OperatorSavepoint> = job
        .operators
        .iter()
        .map(|o| OperatorSavepoint {
            uid: o.uid.clone(),
            kind: o.kind.name().into(),
            parallelism: o.parallelism,
            subtasks: Vec::new(),
        })
        .collect();
    for snapshot in &savepoint.tasks {
        let vertex = &graph.tasks[snapshot.task];
        for (position, &operator) in vertex.chain.iter().enumerate() {
            let state = &snapshot.operator_states[position];
            operators[operator].subtasks.push(SubtaskSavepoint {
                subtask: vertex.subtask,
                offset: state.offset,
                keyed: state
                    .keyed
                    .iter()
                    .map(|(k, t)| (*k, t.sum, t.count))
                    .collect(),
            });
        }
    }
    Savepoint {
        format: FORMAT.into(),
        version: VERSION,
        scenario: scenario.into(),
        savepoint_id: savepoint.id,
        taken_at_us: savepoint.completed_at.as_micros(),
        max_parallelism: job.max_parallelism,
        operators,
        run_digest: None,
    }
}

/// Reads and checks a savepoint file. Errors name the file, the JSON path, and what was expected.
pub fn load(path: &Path) -> Result<Savepoint, String> {
    let label = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{label}: cannot read the savepoint: {e}"))?;
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    let savepoint: Savepoint =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let inner = e.inner();
            let message = inner.to_string();
            let message = message
                .rfind(" at line ")
                .map_or(message.as_str(), |i| &message[..i])
                .to_string();
            format!(
                "{label}: at `{}`: {message} (line {}, column {}): not a snapsim savepoint",
                e.path(),
                inner.line(),
                inner.column()
            )
        })?;
    if savepoint.format != FORMAT {
        return Err(format!(
            "{label}: at `format`: expected \"{FORMAT}\", got \"{}\"",
            savepoint.format
        ));
    }
    if savepoint.version != VERSION {
        return Err(format!(
            "{label}: at `version`: this snapsim reads savepoint version {VERSION}, the file is version {}",
            savepoint.version
        ));
    }
    for (index, operator) in savepoint.operators.iter().enumerate() {
        for (position, subtask) in operator.subtasks.iter().enumerate() {
            if subtask.subtask >= operator.parallelism {
                return Err(format!(
                    "{label}: at `operators[{index}].subtasks[{position}].subtask`: {} is not below the operator's parallelism {}",
                    subtask.subtask, operator.parallelism
                ));
            }
        }
    }
    Ok(savepoint)
}

/// State to start a job with, per task and chain position.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InitialState {
    /// Where it came from (for reports).
    pub source: String,
    /// The savepoint's id.
    pub savepoint_id: u64,
    /// Per task, per chained operator.
    pub task_states: Vec<Vec<OperatorState>>,
    /// Uids in the savepoint that the new job does not have (dropped with allow-non-restored-state).
    pub dropped_uids: Vec<String>,
    /// The job that took the savepoint, when a scenario names it (`start-from-savepoint`).
    pub handover: Option<Handover>,
    /// What happened to each operator of the new job.
    pub operators: Vec<OperatorRestore>,
}

/// How one operator of the job was restored from a savepoint (Flink matches operators by uid).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OperatorRestore {
    /// The operator's name in the job.
    pub operator: String,
    /// Its uid.
    pub uid: String,
    /// Did the savepoint have state for this uid? (`false`: the operator starts empty.)
    pub matched: bool,
    /// Parallelism in the savepoint, if matched.
    pub saved_parallelism: Option<u32>,
    /// Parallelism now.
    pub parallelism: u32,
    /// Keys whose state was restored.
    pub keys: usize,
    /// Key groups whose owning subtask index changed (a rescale moves them).
    pub key_groups_moved: u32,
}

/// Maps a savepoint onto a job: by uid, redistributing keyed state by key group.
pub fn restore_into(
    savepoint: &Savepoint,
    source: &str,
    job: &JobGraph,
    graph: &ExecutionGraph,
    allow_non_restored_state: bool,
) -> Result<InitialState, String> {
    if savepoint.max_parallelism != job.max_parallelism {
        return Err(format!(
            "{source}: the savepoint has {} key groups (max parallelism) but the job has {}: keyed state cannot be remapped; keep job.max_parallelism at {}",
            savepoint.max_parallelism, job.max_parallelism, savepoint.max_parallelism
        ));
    }
    let mut dropped_uids = Vec::new();
    let mut by_operator: BTreeMap<usize, &OperatorSavepoint> = BTreeMap::new();
    for saved in &savepoint.operators {
        let Some(operator) = job.operators.iter().position(|o| o.uid == saved.uid) else {
            if saved
                .subtasks
                .iter()
                .all(|s| s.offset == 0 && s.keyed.is_empty())
            {
                continue; // no state to lose
            }
            if allow_non_restored_state {
                dropped_uids.push(saved.uid.clone());
                continue;
            }
            return Err(format!(
                "{source}: the savepoint has state for operator uid \"{}\", which this job does not contain; restore with --allow-non-restored-state to drop it",
                saved.uid
            ));
        };
        let current = &job.operators[operator];
        if current.kind.name() != saved.kind {
            return Err(format!(
                "{source}: operator uid \"{}\" was a {} in the savepoint and is a {} in this job: its state does not fit",
                saved.uid,
                saved.kind,
                current.kind.name()
            ));
        }
        if matches!(current.kind, OperatorKind::Source(_))
            && current.parallelism != saved.parallelism
        {
            return Err(format!(
                "{source}: source \"{}\" had parallelism {} and now {}: each source subtask reads its own log, so a source cannot be rescaled",
                saved.uid, saved.parallelism, current.parallelism
            ));
        }
        by_operator.insert(operator, saved);
    }
    let mut task_states: Vec<Vec<OperatorState>> = graph
        .tasks
        .iter()
        .map(|t| vec![OperatorState::default(); t.chain.len()])
        .collect();
    for (task, vertex) in graph.tasks.iter().enumerate() {
        for (position, &operator) in vertex.chain.iter().enumerate() {
            let Some(saved) = by_operator.get(&operator) else {
                continue;
            };
            let state = &mut task_states[task][position];
            if matches!(job.operators[operator].kind, OperatorKind::Source(_)) {
                state.offset = saved
                    .subtasks
                    .iter()
                    .find(|s| s.subtask == vertex.subtask)
                    .map_or(0, |s| s.offset);
                continue;
            }
            // Keyed state goes to the subtask that owns the key's key group at the new parallelism.
            for subtask in &saved.subtasks {
                for &(key, sum, count) in &subtask.keyed {
                    let owner = subtask_for_key_group(
                        key_group(key, job.max_parallelism),
                        vertex.parallelism,
                        job.max_parallelism,
                    );
                    if owner == vertex.subtask {
                        let totals = state.keyed.totals_mut(key);
                        totals.sum += sum;
                        totals.count += count;
                    }
                }
            }
        }
    }
    let operators = job
        .operators
        .iter()
        .enumerate()
        .map(|(index, operator)| {
            let saved = by_operator.get(&index);
            let key_groups_moved = saved.map_or(0, |saved| {
                if matches!(operator.kind, OperatorKind::Source(_)) {
                    return 0;
                }
                (0..job.max_parallelism)
                    .filter(|&kg| {
                        subtask_for_key_group(kg, saved.parallelism, job.max_parallelism)
                            != subtask_for_key_group(kg, operator.parallelism, job.max_parallelism)
                    })
                    .count() as u32
            });
            OperatorRestore {
                operator: operator.name.clone(),
                uid: operator.uid.clone(),
                matched: saved.is_some(),
                saved_parallelism: saved.map(|s| s.parallelism),
                parallelism: operator.parallelism,
                keys: saved.map_or(0, |s| s.subtasks.iter().map(|t| t.keyed.len()).sum()),
                key_groups_moved,
            }
        })
        .collect();
    Ok(InitialState {
        source: source.into(),
        savepoint_id: savepoint.savepoint_id,
        task_states,
        dropped_uids,
        operators,
        handover: None,
    })
}

/// What the job that took the savepoint did after it — what a deployment from the savepoint
/// (blue-green, canary, A/B) has to reckon with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Handover {
    /// The scenario that took the savepoint.
    pub previous_scenario: String,
    /// It stopped with this savepoint (stop-with-savepoint) rather than running on.
    pub previous_stopped: bool,
    /// Records its sinks committed (read-committed) from after the savepoint's source offsets:
    /// this job reads them again, so with both jobs writing to one sink a reader sees them twice.
    pub previous_commits_after_savepoint: u64,
    /// When the previous job's run ended (µs).
    pub previous_ended_at_us: u64,
}
