//! A replay: everything the web view shows of one run, as one JSON document the page scrubs
//! through without asking the simulator again.
//!
//! The page is a time machine over *recorded* facts: it never re-simulates to answer "what was
//! true at 3.2 s". So a replay carries the run's space-time diagram (the same
//! [`SpaceTimeDiagram`] the `diagram` command draws: messages, markers, barriers, RPCs, recorded
//! states, cuts, failures), the moments worth stepping to, the report (every verdict), and for a
//! dataflow job when each subtask was busy, backpressured or idle (Flink's
//! `busyTimeMsPerSecond` / `backPressuredTimeMsPerSecond`), in buckets.
//!
//! **What bounds its size.** A replay stays a few megabytes at most, whatever the run: the
//! diagram keeps at most [`ARROWS_MAX`] arrows (a longer run is shown up to the instant its
//! arrows run out, and [`Replay::notes`] says so); activity is [`ACTIVITY_BUCKETS`] buckets per
//! subtask; the report keeps its first [`CHECKPOINTS_MAX`] checkpoints and [`SNAPSHOTS_MAX`]
//! snapshots; a sink's output is four step functions of at most [`SINK_STEPS_MAX`] points each
//! and a list of at most [`TRANSACTIONS_MAX`] transactions. Records of a dataflow job are not drawn one by one: the event record holds barriers,
//! triggers and acknowledgements, not the millions of records (the activity colours show where
//! records pile up).

use crate::dataflow::{DataflowRun, RunDetail, TaskActivity};
use crate::oracle::delivery::DeliveryVerdict;
use crate::plot::{SpaceTimeDiagram, space_time_from_dataflow_run, space_time_from_process_run};
use crate::report::{CompletedRun, RawRun, run_scenario_with};
use crate::scenario::{DataflowModel, ScenarioError};
use crate::topology::ProcessGraph;
use crate::trace::{DataflowEvent, ProcessEvent};
use crate::workload::sink::TransactionState;
use serde::Serialize;
use serde_json::Value;

/// The version of the replay format (the page refuses another).
pub const REPLAY_FORMAT: u32 = 1;
/// Arrows a replay's diagram keeps at most.
pub const ARROWS_MAX: usize = 20_000;
/// Buckets of task activity over the run.
pub const ACTIVITY_BUCKETS: u64 = 400;
/// Checkpoints of the report a replay keeps at most.
pub const CHECKPOINTS_MAX: usize = 500;
/// Chandy-Lamport snapshots of the report a replay keeps at most.
pub const SNAPSHOTS_MAX: usize = 300;
/// Process balance changes a replay keeps at most.
const BALANCE_CHANGES_MAX: usize = 2 * ARROWS_MAX;

/// Which world ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorldKind {
    /// A Flink job: tasks, barriers, the checkpoint coordinator.
    Dataflow,
    /// Chandy-Lamport on a process graph.
    ProcessGraph,
}

/// One run, ready to be scrubbed through.
#[derive(Clone, Debug, Serialize)]
pub struct Replay {
    /// [`REPLAY_FORMAT`].
    pub format: u32,
    /// The scenario's name.
    pub scenario: String,
    /// Its description: the lesson.
    pub description: String,
    /// The seed it ran with.
    pub seed: u64,
    /// The run's digest (as in `report.json`): equal digests, equal runs.
    pub digest: String,
    /// When the run ended (µs of virtual time).
    pub end_us: u64,
    /// Which world.
    pub world: WorldKind,
    /// The scenario document that ran: what a fork edits and what "save" writes.
    pub document: Value,
    /// The run's report (`report.json`), its long lists shortened to the bounds above.
    pub report: Value,
    /// What was left out of this replay, and why.
    pub notes: Vec<String>,
    /// The `protocol_variant` values this world accepts (`correct` and the broken ones), for the
    /// what-if that swaps the protocol.
    pub protocol_variants: Vec<&'static str>,
    /// The space-time diagram of `0..diagram.to_us`.
    pub diagram: SpaceTimeDiagram,
    /// Instants worth stepping to, in time order.
    pub moments: Vec<Moment>,
    /// What only a dataflow run has.
    pub dataflow: Option<DataflowView>,
    /// What only a process-graph run has.
    pub process_graph: Option<ProcessGraphView>,
}

/// An instant worth stepping to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Moment {
    /// When.
    pub at_us: u64,
    /// `trigger`, `complete`, `abort`, `failure`, `restart`, `job-failed`, `finished`,
    /// `snapshot-start`, `snapshot-complete`, `lost`, `violation`.
    pub kind: &'static str,
    /// What happened, in words.
    pub label: String,
    /// The subtask it happened to (a failure, a finish), as an index of [`DataflowView::tasks`].
    pub task: Option<u32>,
    /// The checkpoint or snapshot it is about (for a restart: the one restored, 0 for none).
    pub id: Option<u64>,
}

/// The job graph, the checkpoint configuration and the subtasks' activity.
#[derive(Clone, Debug, Serialize)]
pub struct DataflowView {
    /// Operators in the job graph's order.
    pub operators: Vec<OperatorView>,
    /// Subtasks (chained operators run as one), in the diagram's line order after the job
    /// manager's line.
    pub tasks: Vec<TaskView>,
    /// `taskmanager.numberOfTaskSlots` × task managers.
    pub task_managers: u32,
    /// Slots of each task manager.
    pub slots_per_task_manager: u32,
    /// `heartbeat.timeout` (µs): how long a task manager may be unreachable before it is
    /// declared lost.
    pub heartbeat_timeout_us: u64,
    /// Width of one activity bucket (µs).
    pub activity_bucket_us: u64,
    /// Per subtask, per bucket: ‰ of the bucket busy and ‰ backpressured (the rest idle).
    pub activity: Vec<Vec<[u16; 2]>>,
    /// When each checkpoint was triggered and ended.
    pub checkpoints: Vec<CheckpointTimes>,
    /// The checkpoint configuration as Flink's web UI lists it: (option, value).
    pub configuration: Vec<(String, String)>,
    /// The data channels between subtasks.
    pub channels: Vec<DataChannelView>,
    /// Per channel, per activity bucket: `[most records it held during the bucket, records at
    /// the bucket's end]` (written by the sender and not yet read by the receiver).
    pub channel_levels: Vec<Vec<[u32; 2]>>,
    /// Barriers sent and never taken off their channel (the diagram has no arrow for them).
    pub barriers_not_received: Vec<BarrierNotReceived>,
    /// Per subtask, every change of its part in the checkpoint under way:
    /// `(at_us, "aligning checkpoint 4 (1 of 2 inputs' barriers in)")`
    /// ([`crate::dataflow::phase`]), at most [`PHASE_CHANGES_MAX`] per subtask.
    pub phases: Vec<Vec<(u64, String)>>,
    /// Per sink operator, its output over time ([`SinkView`]).
    pub sinks: Vec<SinkView>,
}

/// Points a replay keeps per step function of a sink's output; a sink whose output changes at
/// more instants is sampled at the activity buckets' boundaries instead (all its series together).
pub const SINK_STEPS_MAX: usize = 4000;
/// Transactions a replay lists per sink.
pub const TRANSACTIONS_MAX: usize = 2000;

/// A sink's output over time: what a read-uncommitted and a read-committed reader of the external
/// system saw at each instant (Kafka's `isolation.level`, a file system's in-progress and finished
/// part files). Each series is a step function `(at_us, total)`: the total from `at_us` until the
/// next point. When any series of a sink changes at more than [`SINK_STEPS_MAX`] instants, all
/// four are sampled at the end of every activity bucket instead (a point then counts everything
/// before it): they may lag by up to one bucket, but together, so they stay comparable.
#[derive(Clone, Debug, Serialize)]
pub struct SinkView {
    /// The sink operator's name.
    pub sink: String,
    /// Writes in transactions (two-phase commit: Kafka's exactly-once producer, the file sink).
    pub transactional: bool,
    /// Records written: what a read-uncommitted reader sees.
    pub written: Vec<(u64, u64)>,
    /// Records visible to a read-committed reader: a plain or idempotent sink's writes at once, a
    /// transaction's when it commits.
    pub committed: Vec<(u64, u64)>,
    /// Records in aborted transactions (never visible to read-committed readers).
    pub discarded: Vec<(u64, u64)>,
    /// Extra copies visible to a read-committed reader, as the delivery check counts them.
    pub duplicates: Vec<(u64, u64)>,
    /// Its transactions, in opening order, at most [`TRANSACTIONS_MAX`]: `[subtask, opened_us,
    /// pre_committed_us, committed_us, aborted_us, records]`, −1 for what did not happen.
    pub transactions: Vec<[i64; 6]>,
}

/// Phase changes a replay keeps per subtask (a checkpoint makes three or four).
pub const PHASE_CHANGES_MAX: usize = 4 * CHECKPOINTS_MAX + 1;

/// An operator of the job graph.
#[derive(Clone, Debug, Serialize)]
pub struct OperatorView {
    /// Its name.
    pub name: String,
    /// `source`, `map`, `keyed_aggregation`, `sink`, …
    pub kind: String,
    /// Its parallelism.
    pub parallelism: u32,
    /// Its inputs: (operator name, partitioner).
    pub inputs: Vec<(String, String)>,
}

/// A subtask.
#[derive(Clone, Debug, Serialize)]
pub struct TaskView {
    /// Its name, e.g. `sum→sink[0]`.
    pub name: String,
    /// The operators chained in it.
    pub operators: Vec<String>,
    /// Its subtask index.
    pub subtask: u32,
    /// The task manager it runs on.
    pub task_manager: u32,
}

/// A data channel: one subtask's output to one subtask's input.
#[derive(Clone, Debug, Serialize)]
pub struct DataChannelView {
    /// The sending subtask's index in [`DataflowView::tasks`].
    pub from: usize,
    /// The receiving subtask's index.
    pub to: usize,
    /// Both ends in one task manager (no network in between).
    pub local: bool,
}

/// A barrier that was sent and never taken off its channel: dropped when a failover reset the
/// channel, or still queued when the run ended.
#[derive(Clone, Debug, Serialize)]
pub struct BarrierNotReceived {
    /// The channel's index in [`DataflowView::channels`].
    pub channel: usize,
    /// Its checkpoint.
    pub checkpoint: u64,
    /// When it was put on the channel.
    pub sent_us: u64,
    /// Until when it was on its way: the restart that reset the channel, or the end of the run.
    pub until_us: u64,
    /// Which of the two.
    pub why: String,
}

/// When a checkpoint started and ended, from the event record.
#[derive(Clone, Debug, Serialize)]
pub struct CheckpointTimes {
    /// Its id.
    pub id: u64,
    /// A savepoint?
    pub is_savepoint: bool,
    /// When the coordinator triggered it.
    pub triggered_us: u64,
    /// When it completed.
    pub completed_us: Option<u64>,
    /// When it was aborted, and why (Flink's `CheckpointFailureReason`).
    pub aborted_us: Option<u64>,
    /// Why it was aborted.
    pub reason: Option<String>,
}

/// The process graph and how the balances changed.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessGraphView {
    /// The processes, in the diagram's line order.
    pub processes: Vec<ProcessView>,
    /// The channels.
    pub channels: Vec<ChannelView>,
    /// `(at_us, process, balance after)` for every send and receipt inside the diagram's window.
    pub balances: Vec<[i64; 3]>,
    /// What travelled on the channels inside the window, in send order:
    /// `[sent_us, received_us, channel, kind, tokens (message) or snapshot id (marker)]`, kind 0 a
    /// message, 1 a marker, 2 a lost message and 3 a lost marker (then the second field is when it
    /// vanished). The second field is −1 for what was still in flight at the end. A channel's queue
    /// at an instant is what was sent and had not arrived or vanished.
    pub messages: Vec<[i64; 5]>,
    /// The protocol variant (`chandy-lamport` or a broken one).
    pub variant: String,
}

/// A process.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessView {
    /// Its name.
    pub name: String,
    /// Tokens at the start.
    pub initial_tokens: i64,
}

/// A channel.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelView {
    /// `from->to`.
    pub name: String,
    /// The sender's index.
    pub from: usize,
    /// The receiver's index.
    pub to: usize,
    /// Does it deliver in order?
    pub fifo: bool,
    /// Probability that it drops a message.
    pub loss_probability: f64,
}

/// Why a document could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The document is not a valid scenario (the error names the file and the JSON path).
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// The scenario ran but its workload cannot do what it says.
    #[error("{0}")]
    Refused(String),
    /// The file cannot be read, or is not JSON.
    #[error("{0}")]
    File(String),
}

/// Reads the scenario file at `path` (its `seed` replaced by `seed` if given) and replays it.
pub fn replay_file(path: &std::path::Path, seed: Option<u64>) -> Result<Replay, ReplayError> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|error| ReplayError::File(format!("{label}: cannot read the file: {error}")))?;
    let mut document: Value = serde_json::from_str(&text)
        .map_err(|error| ReplayError::File(format!("{label}: not JSON: {error}")))?;
    if let (Some(seed), Some(object)) = (seed, document.as_object_mut()) {
        object.insert("seed".into(), seed.into());
    }
    replay_document(&document, &label)
}

/// Validates `document` (named `label` in errors: the file it came from, or a fork of it),
/// runs it with its own seed through the oracle, and builds its replay.
pub fn replay_document(document: &Value, label: &str) -> Result<Replay, ReplayError> {
    let stem = std::path::Path::new(label)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario")
        .to_string();
    let scenario = crate::deployment::parse(&document.to_string(), label, &stem)?;
    let completed = run_scenario_with(&scenario, scenario.seed, RunDetail::Traced);
    if let Some(refused) = completed
        .report
        .process_graph
        .as_ref()
        .and_then(|pg| pg.refused_sends.first())
    {
        return Err(ReplayError::Refused(format!("{label}: {refused}")));
    }
    Ok(replay_of(&completed, document))
}

/// The replay of a finished run of `document`, simulated at [`RunDetail::Traced`].
fn replay_of(completed: &CompletedRun, document: &Value) -> Replay {
    let report = &completed.report;
    let mut notes = Vec::new();
    let mut report_json = serde_json::to_value(report).unwrap_or(Value::Null);
    shorten(
        &mut report_json,
        &["dataflow", "checkpoints"],
        CHECKPOINTS_MAX,
        "checkpoints",
        &mut notes,
    );
    shorten(
        &mut report_json,
        &["dataflow", "checks"],
        CHECKPOINTS_MAX,
        "checkpoint checks",
        &mut notes,
    );
    shorten(
        &mut report_json,
        &["process_graph", "snapshots"],
        SNAPSHOTS_MAX,
        "snapshots",
        &mut notes,
    );
    let end_us = report.end_time_us.max(1);
    let (world, diagram, moments, dataflow, process_graph) = match &completed.raw {
        RawRun::Dataflow(run, model) => {
            let diagram = dataflow_diagram(run, model, end_us, &mut notes);
            let moments = dataflow_moments(run, &report_json);
            let delivery = report.dataflow.as_ref().and_then(|d| d.delivery.as_ref());
            let view = dataflow_view(run, model, delivery, end_us, &mut notes);
            (WorldKind::Dataflow, diagram, moments, Some(view), None)
        }
        RawRun::ProcessGraph(run, graph) => {
            let to_us = process_window_end(run.trace.events(), end_us, &mut notes);
            let diagram =
                space_time_from_process_run(graph, run.trace.events(), &run.snapshots, 0, to_us);
            let moments = process_moments(graph, run.trace.events(), &report_json, to_us);
            let view = process_view(graph, run.trace.events(), to_us, &report_json);
            (WorldKind::ProcessGraph, diagram, moments, None, Some(view))
        }
    };
    Replay {
        format: REPLAY_FORMAT,
        scenario: report.scenario.clone(),
        description: report.description.clone(),
        seed: report.seed,
        digest: report.digest.clone(),
        end_us,
        world,
        document: document.clone(),
        report: report_json,
        notes,
        protocol_variants: match world {
            WorldKind::Dataflow => crate::checkpoint::config::DataflowVariant::ALL
                .iter()
                .map(|(name, _)| *name)
                .collect(),
            WorldKind::ProcessGraph => vec!["correct", "record_after_next_message"],
        },
        diagram,
        moments,
        dataflow,
        process_graph,
    }
}

/// Keeps the first `max` entries of the array at `path`, and says so.
fn shorten(value: &mut Value, path: &[&str], max: usize, what: &str, notes: &mut Vec<String>) {
    let mut at = &mut *value;
    for key in path {
        match at.get_mut(*key) {
            Some(next) => at = next,
            None => return,
        }
    }
    if let Value::Array(items) = at
        && items.len() > max
    {
        notes.push(format!(
            "the report lists {} {what}; this replay keeps the first {max} (run the scenario for \
             the whole report.json)",
            items.len()
        ));
        items.truncate(max);
    }
}

/// The dataflow diagram of the whole run, or of its beginning if it has too many arrows.
fn dataflow_diagram(
    run: &DataflowRun,
    model: &DataflowModel,
    end_us: u64,
    notes: &mut Vec<String>,
) -> SpaceTimeDiagram {
    let rpc_us = model.network.rpc_latency_us;
    let diagram = space_time_from_dataflow_run(run, rpc_us, 0, end_us);
    if diagram.arrows.len() <= ARROWS_MAX {
        return diagram;
    }
    let mut sends: Vec<u64> = diagram.arrows.iter().map(|a| a.send_us).collect();
    sends.sort_unstable();
    let to_us = sends[ARROWS_MAX - 1].max(1);
    notes.push(format!(
        "the run has {} barrier and RPC arrows; this replay draws those sent before {} \
         ({ARROWS_MAX} at most)",
        diagram.arrows.len(),
        crate::engine::SimTime::from_micros(to_us)
    ));
    space_time_from_dataflow_run(run, rpc_us, 0, to_us)
}

/// The end of a process-graph diagram: the run's end, or the instant its `ARROWS_MAX`-th message
/// or marker was sent.
fn process_window_end(events: &[ProcessEvent], end_us: u64, notes: &mut Vec<String>) -> u64 {
    let mut sends = 0usize;
    for event in events {
        if matches!(
            event,
            ProcessEvent::Sent { .. } | ProcessEvent::MarkerSent { .. }
        ) {
            sends += 1;
            if sends == ARROWS_MAX {
                let to_us = event.time().as_micros().max(1);
                notes.push(format!(
                    "the run sends more than {ARROWS_MAX} messages and markers; this replay shows \
                     it up to {}",
                    crate::engine::SimTime::from_micros(to_us)
                ));
                return to_us;
            }
        }
    }
    end_us
}

/// Triggers, completions, aborts, failures and restarts; failed checkpoint checks.
fn dataflow_moments(run: &DataflowRun, report: &Value) -> Vec<Moment> {
    let task = |t: u32| run.graph.tasks[t as usize].name.clone();
    let mut moments = Vec::new();
    let mut completed_at = std::collections::BTreeMap::new();
    for event in run.trace.events() {
        let at_us = event.time().as_micros();
        let (kind, label) = match *event {
            DataflowEvent::CheckpointTriggered {
                checkpoint,
                is_savepoint,
                ..
            } => (
                "trigger",
                format!(
                    "{} {checkpoint} triggered",
                    if is_savepoint {
                        "savepoint"
                    } else {
                        "checkpoint"
                    }
                ),
            ),
            DataflowEvent::CheckpointCompleted { checkpoint, .. } => {
                completed_at.insert(checkpoint, at_us);
                ("complete", format!("checkpoint {checkpoint} completed"))
            }
            DataflowEvent::CheckpointAborted {
                checkpoint, reason, ..
            } => (
                "abort",
                format!("checkpoint {checkpoint} aborted: {}", reason.name()),
            ),
            DataflowEvent::TaskFailed { task: t, .. } => ("failure", format!("{} failed", task(t))),
            DataflowEvent::JobRestarted { checkpoint, .. } => (
                "restart",
                if checkpoint == 0 {
                    "restarted from the beginning".to_string()
                } else {
                    format!("restarted from checkpoint {checkpoint}")
                },
            ),
            DataflowEvent::JobFailed { .. } => ("job-failed", "the job failed".to_string()),
            DataflowEvent::TaskFinished { task: t, .. } => {
                ("finished", format!("{} finished", task(t)))
            }
            _ => continue,
        };
        let (task, id) = match *event {
            DataflowEvent::TaskFailed { task, .. } | DataflowEvent::TaskFinished { task, .. } => {
                (Some(task), None)
            }
            DataflowEvent::CheckpointTriggered { checkpoint, .. }
            | DataflowEvent::CheckpointCompleted { checkpoint, .. }
            | DataflowEvent::CheckpointAborted { checkpoint, .. }
            | DataflowEvent::JobRestarted { checkpoint, .. } => (None, Some(checkpoint)),
            _ => (None, None),
        };
        moments.push(Moment {
            at_us,
            kind,
            label,
            task,
            id,
        });
    }
    // A checkpoint whose check failed: at its completion, the moment the bad state became
    // restorable.
    for check in report["dataflow"]["checks"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(id) = check["checkpoint"].as_u64() else {
            continue;
        };
        for (name, verdict) in check.as_object().into_iter().flatten() {
            if verdict["passed"] == Value::Bool(false)
                && let Some(&at_us) = completed_at.get(&id)
            {
                moments.push(Moment {
                    at_us,
                    kind: "violation",
                    label: format!(
                        "checkpoint {id}: {name} fails: {}",
                        verdict["detail"].as_str().unwrap_or("")
                    ),
                    task: None,
                    id: Some(id),
                });
            }
        }
    }
    moments.sort_by_key(|m| m.at_us);
    moments
}

/// Snapshot starts and completions, lost messages and failed snapshot checks inside the window.
fn process_moments(
    graph: &ProcessGraph,
    events: &[ProcessEvent],
    report: &Value,
    to_us: u64,
) -> Vec<Moment> {
    let mut moments = Vec::new();
    for event in events {
        let at_us = event.time().as_micros();
        if at_us > to_us {
            break;
        }
        let (kind, label) = match *event {
            ProcessEvent::SnapshotInitiated {
                process, snapshot, ..
            } => (
                "snapshot-start",
                format!(
                    "{} starts snapshot {snapshot}",
                    graph.processes[process as usize].name
                ),
            ),
            ProcessEvent::SnapshotCompleted { snapshot, .. } => {
                ("snapshot-complete", format!("snapshot {snapshot} complete"))
            }
            ProcessEvent::Lost {
                channel, message, ..
            } => (
                "lost",
                format!(
                    "message #{message} lost on {}",
                    graph.channel_name(channel as usize)
                ),
            ),
            ProcessEvent::MarkerLost {
                channel, snapshot, ..
            } => (
                "lost",
                format!(
                    "marker of snapshot {snapshot} lost on {}",
                    graph.channel_name(channel as usize)
                ),
            ),
            _ => continue,
        };
        let id = match *event {
            ProcessEvent::SnapshotInitiated { snapshot, .. }
            | ProcessEvent::SnapshotCompleted { snapshot, .. }
            | ProcessEvent::MarkerLost { snapshot, .. } => Some(u64::from(snapshot)),
            _ => None,
        };
        moments.push(Moment {
            at_us,
            kind,
            label,
            task: None,
            id,
        });
    }
    for snapshot in report["process_graph"]["snapshots"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let at_us = snapshot["completed_at_us"].as_u64().unwrap_or(0);
        if at_us > to_us {
            continue;
        }
        for check in snapshot["invariants"].as_array().into_iter().flatten() {
            if check["passed"] == Value::Bool(false) {
                moments.push(Moment {
                    at_us,
                    kind: "violation",
                    label: format!(
                        "snapshot {}: {} fails: {}",
                        snapshot["id"],
                        check["invariant"].as_str().unwrap_or("?"),
                        check["detail"].as_str().unwrap_or("")
                    ),
                    task: None,
                    id: snapshot["id"].as_u64(),
                });
            }
        }
    }
    moments.sort_by_key(|m| m.at_us);
    moments
}

/// The job graph, checkpoint times, configuration and activity buckets.
fn dataflow_view(
    run: &DataflowRun,
    model: &DataflowModel,
    delivery: Option<&DeliveryVerdict>,
    end_us: u64,
    notes: &mut Vec<String>,
) -> DataflowView {
    let job = &model.job;
    let operators = job
        .operators
        .iter()
        .map(|operator| OperatorView {
            name: operator.name.clone(),
            kind: variant_name(&operator.kind),
            parallelism: operator.parallelism,
            inputs: operator
                .inputs
                .iter()
                .map(|input| {
                    (
                        job.operators[input.from].name.clone(),
                        variant_name(&input.partitioner),
                    )
                })
                .collect(),
        })
        .collect();
    let tasks = run
        .graph
        .tasks
        .iter()
        .map(|task| TaskView {
            name: task.name.clone(),
            operators: task
                .chain
                .iter()
                .map(|&o| job.operators[o].name.clone())
                .collect(),
            subtask: task.subtask,
            task_manager: task.task_manager,
        })
        .collect();
    let mut checkpoints: Vec<CheckpointTimes> = Vec::new();
    for event in run.trace.events() {
        match *event {
            DataflowEvent::CheckpointTriggered {
                time,
                checkpoint,
                is_savepoint,
                ..
            } => checkpoints.push(CheckpointTimes {
                id: checkpoint,
                is_savepoint,
                triggered_us: time.as_micros(),
                completed_us: None,
                aborted_us: None,
                reason: None,
            }),
            DataflowEvent::CheckpointCompleted { time, checkpoint } => {
                if let Some(c) = checkpoints.iter_mut().rev().find(|c| c.id == checkpoint) {
                    c.completed_us = Some(time.as_micros());
                }
            }
            DataflowEvent::CheckpointAborted {
                time,
                checkpoint,
                reason,
            } => {
                if let Some(c) = checkpoints.iter_mut().rev().find(|c| c.id == checkpoint) {
                    c.aborted_us = Some(time.as_micros());
                    c.reason = Some(reason.name());
                }
            }
            _ => {}
        }
    }
    checkpoints.truncate(CHECKPOINTS_MAX);
    let bucket_us = end_us.div_ceil(ACTIVITY_BUCKETS).max(1);
    DataflowView {
        operators,
        tasks,
        task_managers: model.cluster.task_managers,
        slots_per_task_manager: model.cluster.slots_per_task_manager,
        heartbeat_timeout_us: model.faults.heartbeat_timeout_us,
        activity_bucket_us: bucket_us,
        activity: activity_buckets(run, end_us, bucket_us),
        channels: run
            .graph
            .channels
            .iter()
            .map(|c| DataChannelView {
                from: c.from,
                to: c.to,
                local: c.local,
            })
            .collect(),
        channel_levels: channel_buckets(run, end_us, bucket_us),
        sinks: sink_views(run, model, delivery, bucket_us, end_us, notes),
        barriers_not_received: barriers_not_received(run, end_us),
        checkpoints,
        configuration: configuration(model),
        phases: crate::dataflow::phase::phase_changes(run)
            .into_iter()
            .map(|changes| {
                changes
                    .into_iter()
                    .take(PHASE_CHANGES_MAX)
                    .map(|(at_us, phase)| (at_us, phase.detail()))
                    .collect()
            })
            .collect(),
    }
}

/// Every sink's output over time, from its writes and transactions (a [`RunDetail::Traced`] run
/// keeps both) and the delivery check's duplicates.
fn sink_views(
    run: &DataflowRun,
    model: &DataflowModel,
    delivery: Option<&DeliveryVerdict>,
    bucket_us: u64,
    end_us: u64,
    notes: &mut Vec<String>,
) -> Vec<SinkView> {
    let names = model
        .job
        .operators
        .iter()
        .filter(|o| matches!(o.kind, crate::workload::dataflow::OperatorKind::Sink(_)))
        .map(|o| o.name.clone());
    names
        .zip(&run.sinks)
        .map(|(name, sink)| {
            let finished = |state: &TransactionState| match *state {
                TransactionState::Committed { at_us } => (Some(at_us), None),
                TransactionState::Aborted { at_us, .. } => (None, Some(at_us)),
                _ => (None, None),
            };
            let written: Vec<(u64, u64)> = sink.writes.iter().map(|w| (w.at_us, 1)).collect();
            let committed: Vec<(u64, u64)> = sink
                .writes
                .iter()
                .filter_map(|w| match w.transaction {
                    None => Some((w.at_us, 1)),
                    Some(id) => finished(&sink.transactions[id as usize].state)
                        .0
                        .map(|at_us| (at_us, 1)),
                })
                .collect();
            let discarded: Vec<(u64, u64)> = sink
                .transactions
                .iter()
                .filter_map(|t| finished(&t.state).1.map(|at_us| (at_us, t.writes)))
                .collect();
            let duplicates: Vec<(u64, u64)> = delivery
                .and_then(|d| d.sinks.iter().find(|s| s.sink == name))
                .map(|s| s.duplicates_visible_at_us.iter().map(|&t| (t, 1)).collect())
                .unwrap_or_default();
            if sink.transactions.len() > TRANSACTIONS_MAX {
                notes.push(format!(
                    "sink {name}: the first {TRANSACTIONS_MAX} of its {} transactions are listed",
                    sink.transactions.len()
                ));
            }
            let mut series = [written, committed, discarded, duplicates].map(step_function);
            if series.iter().any(|s| s.len() > SINK_STEPS_MAX) {
                let last_us = series.iter().filter_map(|s| s.last()).map(|p| p.0).max();
                let end_us = end_us.max(last_us.unwrap_or(0));
                series = series.map(|s| sampled(&s, bucket_us, end_us));
                notes.push(format!(
                    "sink {name}: its output is sampled every {bucket_us} µs"
                ));
            }
            let [written, committed, discarded, duplicates] = series;
            let at = |time: Option<u64>| time.map_or(-1, |t| t as i64);
            SinkView {
                transactional: sink.delivery.is_transactional(),
                written,
                committed,
                discarded,
                duplicates,
                transactions: sink
                    .transactions
                    .iter()
                    .take(TRANSACTIONS_MAX)
                    .map(|t| {
                        let (committed, aborted) = finished(&t.state);
                        [
                            t.subtask as i64,
                            t.opened_at_us as i64,
                            at(t.pre_committed_at_us),
                            at(committed),
                            at(aborted),
                            t.writes as i64,
                        ]
                    })
                    .collect(),
                sink: name,
            }
        })
        .collect()
}

/// `(at_us, amount)` increments, in any order, as a step function of their running total: one
/// point per distinct instant.
fn step_function(mut increments: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    increments.sort_by_key(|&(at_us, _)| at_us);
    let mut steps: Vec<(u64, u64)> = Vec::new();
    let mut total = 0;
    for (at_us, amount) in increments {
        total += amount;
        match steps.last_mut() {
            Some(last) if last.0 == at_us => last.1 = total,
            _ => steps.push((at_us, total)),
        }
    }
    steps
}

/// A step function sampled at every `bucket_us` boundary before `end_us` (the run's end): a point
/// at boundary `b` holds the total of everything before `b`, and a last point at `end_us` the
/// whole total. Series sampled on the same grid stay comparable (what was committed before `b`
/// was written before `b`).
fn sampled(steps: &[(u64, u64)], bucket_us: u64, end_us: u64) -> Vec<(u64, u64)> {
    let bucket_us = bucket_us.max(1);
    let mut points: Vec<(u64, u64)> = Vec::new();
    let mut push = |at_us: u64, total: u64| {
        if points
            .last()
            .map_or(total > 0, |last: &(u64, u64)| last.1 != total)
        {
            points.push((at_us, total));
        }
    };
    let mut next = 0;
    let mut total = 0;
    let mut boundary_us = bucket_us;
    while boundary_us < end_us {
        while steps
            .get(next)
            .is_some_and(|&(at_us, _)| at_us < boundary_us)
        {
            total = steps[next].1;
            next += 1;
        }
        push(boundary_us, total);
        boundary_us += bucket_us;
    }
    push(end_us, steps.last().map_or(0, |s| s.1));
    points
}

/// A serde enum's variant name (`"hash"`, or the key of `{"source": {…}}`).
fn variant_name(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        Ok(Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

/// Per subtask and bucket, ‰ busy and ‰ backpressured, from the activity changes (a subtask is
/// idle until its first change).
fn activity_buckets(run: &DataflowRun, end_us: u64, bucket_us: u64) -> Vec<Vec<[u16; 2]>> {
    let buckets = end_us.div_ceil(bucket_us) as usize;
    let tasks = run.graph.tasks.len();
    let mut busy = vec![vec![0u64; buckets]; tasks];
    let mut backpressured = vec![vec![0u64; buckets]; tasks];
    let mut current = vec![(0u64, TaskActivity::Idle); tasks];
    let mut add = |task: usize, from_us: u64, to_us: u64, activity: TaskActivity| {
        let target = match activity {
            TaskActivity::Idle => return,
            TaskActivity::Busy => &mut busy[task],
            TaskActivity::Backpressured => &mut backpressured[task],
        };
        let mut at = from_us;
        while at < to_us {
            let bucket = (at / bucket_us) as usize;
            if bucket >= buckets {
                break;
            }
            let bucket_end = ((bucket as u64 + 1) * bucket_us).min(to_us);
            target[bucket] += bucket_end - at;
            at = bucket_end;
        }
    };
    for change in &run.activity {
        let task = change.task as usize;
        let (since, activity) = current[task];
        add(task, since, change.at_us.min(end_us), activity);
        current[task] = (change.at_us.min(end_us), change.activity);
    }
    for (task, &(since, activity)) in current.iter().enumerate() {
        add(task, since, end_us, activity);
    }
    (0..tasks)
        .map(|task| {
            (0..buckets)
                .map(|b| {
                    let width = bucket_us.min(end_us - b as u64 * bucket_us).max(1);
                    let permille = |us: u64| ((us * 1000 + width / 2) / width).min(1000) as u16;
                    [permille(busy[task][b]), permille(backpressured[task][b])]
                })
                .collect()
        })
        .collect()
}

/// Barriers sent and never received: matched as the diagram matches them (per channel and
/// checkpoint, in FIFO order); what is left over was dropped by the next restart's channel reset,
/// or was still on its way at the end.
fn barriers_not_received(run: &DataflowRun, end_us: u64) -> Vec<BarrierNotReceived> {
    use std::collections::{BTreeMap, VecDeque};
    let mut on_the_way: BTreeMap<(u32, u64), VecDeque<u64>> = BTreeMap::new();
    let mut restarts = Vec::new();
    for event in run.trace.events() {
        match *event {
            DataflowEvent::BarrierSent {
                time,
                channel,
                checkpoint,
                ..
            } => on_the_way
                .entry((channel, checkpoint))
                .or_default()
                .push_back(time.as_micros()),
            DataflowEvent::BarrierReceived {
                channel,
                checkpoint,
                ..
            } => {
                if let Some(queue) = on_the_way.get_mut(&(channel, checkpoint)) {
                    queue.pop_front();
                }
            }
            DataflowEvent::JobRestarted { time, .. } => restarts.push(time.as_micros()),
            _ => {}
        }
    }
    let mut left: Vec<BarrierNotReceived> = on_the_way
        .into_iter()
        .flat_map(|((channel, checkpoint), sends)| {
            let restarts = &restarts;
            sends.into_iter().map(move |sent_us| {
                let (until_us, why) = match restarts.iter().find(|&&r| r >= sent_us) {
                    Some(&restart) => (
                        restart,
                        "dropped when the failover reset the channel".to_string(),
                    ),
                    None => (end_us, "still on its way when the run ended".to_string()),
                };
                BarrierNotReceived {
                    channel: channel as usize,
                    checkpoint,
                    sent_us,
                    until_us,
                    why,
                }
            })
        })
        .collect();
    left.sort_by_key(|b| (b.sent_us, b.channel));
    left.truncate(ARROWS_MAX);
    left
}

/// Per channel and bucket, the most records the channel held during the bucket and what it held
/// at its end, from the level changes (every channel starts empty).
fn channel_buckets(run: &DataflowRun, end_us: u64, bucket_us: u64) -> Vec<Vec<[u32; 2]>> {
    let buckets = end_us.div_ceil(bucket_us) as usize;
    let channels = run.graph.channels.len();
    let mut levels = vec![vec![[0u32; 2]; buckets]; channels];
    // Per channel: the first bucket not yet closed, and the level it is at now.
    let mut open = vec![0usize; channels];
    let mut level = vec![0u32; channels];
    // Closes the buckets `open..until` of one channel: the level held through them.
    fn close(buckets: &mut [[u32; 2]], open: &mut usize, until: usize, level: u32) {
        while *open < until.min(buckets.len()) {
            let b = &mut buckets[*open];
            b[0] = b[0].max(level);
            b[1] = level;
            *open += 1;
        }
    }
    for change in &run.channel_levels {
        let c = change.channel as usize;
        let bucket = (change.at_us / bucket_us) as usize;
        close(&mut levels[c], &mut open[c], bucket, level[c]);
        if let Some(b) = levels[c].get_mut(bucket) {
            b[0] = b[0].max(level[c]).max(change.records);
            b[1] = change.records;
        }
        level[c] = change.records;
    }
    for c in 0..channels {
        close(&mut levels[c], &mut open[c], buckets, level[c]);
    }
    levels
}

/// The checkpoint configuration with Flink's option names, as resolved (defaults included).
fn configuration(model: &DataflowModel) -> Vec<(String, String)> {
    let us = |us: u64| crate::engine::SimTime::from_micros(us).to_string();
    let mut rows = Vec::new();
    match &model.checkpointing {
        None => rows.push((
            "execution.checkpointing.interval".into(),
            "none (checkpointing off)".into(),
        )),
        Some(c) => {
            let mode = if c.protocol.is_exactly_once() {
                "EXACTLY_ONCE"
            } else {
                "AT_LEAST_ONCE"
            };
            rows.push(("execution.checkpointing.mode".into(), mode.into()));
            rows.push((
                "barrier handler (snapsim)".into(),
                c.protocol.name().to_string(),
            ));
            rows.push(("execution.checkpointing.interval".into(), us(c.interval_us)));
            rows.push(("execution.checkpointing.timeout".into(), us(c.timeout_us)));
            rows.push((
                "execution.checkpointing.min-pause".into(),
                us(c.min_pause_us),
            ));
            rows.push((
                "execution.checkpointing.max-concurrent-checkpoints".into(),
                c.max_concurrent.to_string(),
            ));
            rows.push((
                "execution.checkpointing.unaligned.enabled".into(),
                matches!(
                    c.protocol,
                    crate::checkpoint::config::SnapshotProtocol::Unaligned
                        | crate::checkpoint::config::SnapshotProtocol::AlignedWithTimeout { .. }
                )
                .to_string(),
            ));
            if let crate::checkpoint::config::SnapshotProtocol::AlignedWithTimeout { timeout_us } =
                c.protocol
            {
                rows.push((
                    "execution.checkpointing.aligned-checkpoint-timeout".into(),
                    us(timeout_us),
                ));
            }
            rows.push((
                "execution.checkpointing.tolerable-failed-checkpoints".into(),
                c.tolerable_failed.to_string(),
            ));
            rows.push((
                "state.checkpoints.num-retained".into(),
                c.num_retained.to_string(),
            ));
        }
    }
    rows.push((
        "state.backend.type".into(),
        match model.state.backend {
            crate::checkpoint::config::StateBackend::HashMap => "hashmap",
            crate::checkpoint::config::StateBackend::RocksDb => "rocksdb",
        }
        .to_string(),
    ));
    rows.push((
        "execution.checkpointing.incremental".into(),
        model.state.incremental.to_string(),
    ));
    rows.push((
        "checkpoint storage latency (snapsim)".into(),
        us(model.storage.latency_us),
    ));
    rows
}

/// Processes, channels and the balance changes inside the window.
fn process_view(
    graph: &ProcessGraph,
    events: &[ProcessEvent],
    to_us: u64,
    report: &Value,
) -> ProcessGraphView {
    let mut balance: Vec<i64> = graph.processes.iter().map(|p| p.initial_tokens).collect();
    let mut balances = Vec::new();
    let mut messages: Vec<[i64; 5]> = Vec::new();
    // Where each message and marker sits in `messages`: message ids, (channel, snapshot).
    let mut message_at: std::collections::BTreeMap<u64, usize> = Default::default();
    let mut marker_at: std::collections::BTreeMap<(u32, u32), usize> = Default::default();
    for event in events {
        let at_us = event.time().as_micros();
        if at_us > to_us || messages.len() >= BALANCE_CHANGES_MAX {
            break;
        }
        match *event {
            ProcessEvent::Sent {
                channel,
                message,
                tokens,
                ..
            } => {
                message_at.insert(message, messages.len());
                messages.push([at_us as i64, -1, channel as i64, 0, tokens]);
            }
            ProcessEvent::MarkerSent {
                channel, snapshot, ..
            } => {
                marker_at.insert((channel, snapshot), messages.len());
                messages.push([at_us as i64, -1, channel as i64, 1, snapshot as i64]);
            }
            ProcessEvent::Received { message, .. } => {
                if let Some(&i) = message_at.get(&message) {
                    messages[i][1] = at_us as i64;
                }
            }
            ProcessEvent::Lost { message, .. } => {
                if let Some(&i) = message_at.get(&message) {
                    messages[i][1] = at_us as i64;
                    messages[i][3] = 2;
                }
            }
            ProcessEvent::MarkerLost {
                channel, snapshot, ..
            } => {
                if let Some(&i) = marker_at.get(&(channel, snapshot)) {
                    messages[i][1] = at_us as i64;
                    messages[i][3] = 3;
                }
            }
            ProcessEvent::MarkerReceived {
                channel, snapshot, ..
            } => {
                if let Some(&i) = marker_at.get(&(channel, snapshot)) {
                    messages[i][1] = at_us as i64;
                }
            }
            _ => {}
        }
    }
    for event in events {
        if event.time().as_micros() > to_us || balances.len() >= BALANCE_CHANGES_MAX {
            break;
        }
        let (process, delta) = match *event {
            ProcessEvent::Sent {
                channel, tokens, ..
            } => (graph.channels[channel as usize].from, -tokens),
            ProcessEvent::Received {
                channel, tokens, ..
            } => (graph.channels[channel as usize].to, tokens),
            _ => continue,
        };
        balance[process] += delta;
        balances.push([
            event.time().as_micros() as i64,
            process as i64,
            balance[process],
        ]);
    }
    ProcessGraphView {
        processes: graph
            .processes
            .iter()
            .map(|p| ProcessView {
                name: p.name.clone(),
                initial_tokens: p.initial_tokens,
            })
            .collect(),
        channels: graph
            .channels
            .iter()
            .enumerate()
            .map(|(index, c)| ChannelView {
                name: graph.channel_name(index),
                from: c.from,
                to: c.to,
                fifo: c.fifo,
                loss_probability: c.loss_probability,
            })
            .collect(),
        balances,
        messages,
        variant: report["process_graph"]["protocol_variant"]
            .as_str()
            .unwrap_or("chandy-lamport")
            .to_string(),
    }
}
