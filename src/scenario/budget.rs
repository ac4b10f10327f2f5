//! The work budget: how much a scenario will make the engine do, estimated before it runs.
//!
//! A scenario file can ask for more than any machine has — a million transfers a second for an
//! hour, a billion records — and the simulator keeps every event of a run for the oracle. Rather
//! than find that out by running out of memory an hour in, validation estimates the engine events
//! of the run from the file alone and refuses one that exceeds the scenario's `max_events`
//! (default [`MAX_EVENTS_DEFAULT`]), naming the fields that make it large. A learner who really
//! wants a bigger run raises `max_events` in the file, so the file still says everything the run
//! depends on.
//!
//! The estimate is the first line; [`crate::engine::EventBudget`] is the backstop: the same
//! `max_events` stops a run that outgrows its estimate, which is then reported as cut short.
//!
//! The estimates are upper-bound-minded but not exact: they count what the workload starts
//! (transfers and their deliveries, token passes, records times the operators they pass through)
//! and the markers of every snapshot; for a dataflow also what time drives over the run's length
//! (checkpoints, buffer-timeout flushes, random failures). Replays after a failure are not counted.

use super::model::{DataflowModel, ProcessGraphModel};
use crate::workload::ProcessWorkload;
use crate::workload::dataflow::OperatorKind;

/// Engine events a scenario may take unless its `max_events` says otherwise: five times the
/// 10⁶-transfer, 64-process bank benchmark (about 6 × 10⁶ events), which needs about half a
/// gigabyte today.
pub const MAX_EVENTS_DEFAULT: u64 = 30_000_000;

/// The estimate, and what makes it large (for the error message).
#[derive(Clone, Debug, PartialEq)]
pub struct WorkEstimate {
    /// Estimated engine events.
    pub events: f64,
    /// The JSON path of the field that drives the estimate.
    pub driven_by: String,
    /// How the estimate was reached, in words.
    pub reasoning: String,
}

/// Estimated events of a process-graph run.
pub fn process_graph(model: &ProcessGraphModel) -> WorkEstimate {
    let processes = model.graph.processes.len() as f64;
    let channels = model.graph.channels.len() as f64;
    let duration_s = model.stop_at.map(|t| t.as_micros() as f64 / 1e6);
    let (work, driven_by, reasoning, horizon_s) = match &model.workload {
        ProcessWorkload::Bank {
            transfers_per_s,
            max_transfers,
            ..
        } => {
            let rate = transfers_per_s * processes;
            // Every attempt is an event (even one with nothing to send), every transfer is sent
            // and delivered.
            let by_duration = duration_s.map(|d| rate * d);
            let by_count = max_transfers.map(|m| m as f64);
            let transfers = match (by_duration, by_count) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => 0.0,
            };
            let horizon = duration_s.unwrap_or(transfers / rate);
            let driven_by = if by_count.is_some_and(|b| by_duration.is_none_or(|a| b <= a)) {
                "workload.bank.max_transfers"
            } else {
                "workload.bank.transfers_per_s"
            };
            (
                3.0 * transfers,
                driven_by,
                format!(
                    "{} transfers ({} per second per process × {} processes{})",
                    significant(transfers),
                    significant(*transfers_per_s),
                    processes,
                    duration_s.map_or(String::new(), |d| format!(" × {} s", significant(d)))
                ),
                horizon,
            )
        }
        ProcessWorkload::TokenPassing { hold_us } => {
            let duration = duration_s.unwrap_or(0.0);
            let passes = processes * duration * 1e6 / (*hold_us).max(1) as f64;
            (
                3.0 * passes,
                "workload.token_passing.hold",
                format!(
                    "{} token passes ({} processes × {} s / hold)",
                    significant(passes),
                    processes,
                    significant(duration)
                ),
                duration,
            )
        }
        ProcessWorkload::Scripted(actions) => (
            3.0 * actions.len() as f64,
            "workload.scripted",
            format!("{} scripted actions", actions.len()),
            duration_s.unwrap_or(0.0),
        ),
        ProcessWorkload::Idle => (
            0.0,
            "workload",
            "no workload".into(),
            duration_s.unwrap_or(0.0),
        ),
    };
    let snapshots: f64 = model
        .snapshots
        .iter()
        .map(|s| {
            s.every_us
                .map_or(1.0, |every| horizon_s * 1e6 / every as f64 + 1.0)
        })
        .sum();
    let per_snapshot = 2.0 * channels + processes + 2.0;
    let marker_events = snapshots * per_snapshot;
    if marker_events > work {
        return WorkEstimate {
            events: work + marker_events,
            driven_by: "snapshots".into(),
            reasoning: format!(
                "{} snapshots × {} channels",
                significant(snapshots),
                channels
            ),
        };
    }
    WorkEstimate {
        events: work + marker_events,
        driven_by: driven_by.into(),
        reasoning,
    }
}

/// Estimated events of a dataflow run: the records the sources will emit, times the operators
/// each passes through.
pub fn dataflow(model: &DataflowModel) -> WorkEstimate {
    let duration_s = model.stop_at.map(|t| t.as_micros() as f64 / 1e6);
    let operators = model.job.operators.len() as f64;
    let mut records = 0.0;
    let mut largest = (0.0, String::new());
    for (index, operator) in model.job.operators.iter().enumerate() {
        let OperatorKind::Source(source) = &operator.kind else {
            continue;
        };
        let mut per_subtask = source.records.map_or(f64::INFINITY, |r| r as f64);
        if let Some(duration) = duration_s {
            let rate = match (source.rate_per_s, &operator.cost) {
                (Some(rate), _) => rate,
                (None, Some(cost)) if cost.mean_us() > 0.0 => 1e6 / cost.mean_us(),
                _ => f64::INFINITY,
            };
            per_subtask = per_subtask.min(rate * duration);
        }
        let emitted = per_subtask * f64::from(operator.parallelism);
        if emitted > largest.0 {
            let field = if source.records.is_some_and(|r| r as f64 <= per_subtask) {
                "records"
            } else {
                "rate_per_s"
            };
            largest = (emitted, format!("job.operators[{index}].{field}"));
        }
        records += emitted;
    }
    let record_events = records * operators;
    // What time itself drives, whatever the records: checkpoints, buffer-timeout flushes, random
    // faults — over the run's length, which is its duration or, for bounded sources, the time the
    // slowest needs to emit its log at its rate.
    let mut slowest: Option<(f64, String)> = None;
    for (index, operator) in model.job.operators.iter().enumerate() {
        if let OperatorKind::Source(source) = &operator.kind
            && let (Some(records), Some(rate)) = (source.records, source.rate_per_s)
            && rate > 0.0
            && slowest
                .as_ref()
                .is_none_or(|(s, _)| records as f64 / rate > *s)
        {
            slowest = Some((
                records as f64 / rate,
                format!("job.operators[{index}].rate_per_s"),
            ));
        }
    }
    // A run without a duration lasts as long as its slowest bounded source: that field is then
    // what makes its time-driven work large.
    let (run_s, run_driver) = match (duration_s, slowest) {
        (Some(duration), _) => (duration, None),
        (None, Some((seconds, field))) => (seconds, Some(field)),
        (None, None) => (0.0, None),
    };
    let tasks: f64 = model
        .job
        .operators
        .iter()
        .map(|o| f64::from(o.parallelism))
        .sum();
    let channels: f64 = model
        .job
        .operators
        .iter()
        .flat_map(|o| o.inputs.iter().map(move |input| (o, input)))
        .map(|(o, input)| match input.partitioner {
            crate::topology::job::Partitioner::Forward => f64::from(o.parallelism),
            _ => f64::from(o.parallelism) * f64::from(model.job.operators[input.from].parallelism),
        })
        .sum();
    let mut timed: Vec<(f64, String, String)> = Vec::new();
    if let Some(checkpointing) = &model.checkpointing
        && checkpointing.interval_us > 0
        && checkpointing.interval_us < u64::MAX
    {
        let per_s = 1e6 / checkpointing.interval_us as f64;
        timed.push((
            run_s * per_s * 4.0 * (tasks + channels),
            run_driver
                .clone()
                .unwrap_or("checkpointing.interval".into()),
            format!(
                "{} checkpoints × {} tasks and channels × 4",
                significant(run_s * per_s),
                tasks + channels
            ),
        ));
    }
    if model.network.buffer_timeout_us > 0 {
        let per_s = 1e6 / model.network.buffer_timeout_us as f64;
        timed.push((
            run_s * per_s * channels,
            run_driver
                .clone()
                .unwrap_or("network.buffer-timeout".into()),
            format!(
                "{} buffer-timeout flushes × {channels} channels",
                significant(run_s * per_s)
            ),
        ));
    }
    for (index, random) in model.faults.random.iter().enumerate() {
        let units = if random.task_managers {
            f64::from(model.cluster.task_managers)
        } else {
            tasks
        };
        let failures = run_s * 1e6 / random.mtbf_us.max(1) as f64 * units;
        timed.push((
            failures * 10.0 * (tasks + channels),
            format!("faults.random[{index}]"),
            format!(
                "{} random failures, each restarting up to {} tasks and channels",
                significant(failures),
                tasks + channels
            ),
        ));
    }
    let mut estimate = WorkEstimate {
        events: record_events,
        driven_by: largest.1,
        reasoning: format!(
            "{} records from the sources × {} operators",
            significant(records),
            operators
        ),
    };
    for (events, field, reasoning) in timed {
        if events > estimate.events {
            estimate.driven_by = field;
        }
        estimate.reasoning += &format!(", plus {reasoning}");
        estimate.events += events;
    }
    if run_s.is_infinite() || run_s.is_nan() {
        estimate.events = f64::INFINITY;
    }
    estimate
}

/// Three significant digits, in the exponent form for large numbers.
fn significant(value: f64) -> String {
    if value.is_finite() && value.abs() >= 1e6 {
        format!("{value:.2e}")
    } else if value.fract() == 0.0 {
        format!("{value}")
    } else {
        format!("{value:.3}")
    }
}
