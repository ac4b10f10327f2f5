//! A dataflow run's metrics under Flink's names, as a time series in the Prometheus text
//! exposition format — what Flink's `PrometheusReporter` would have let a scraper collect once per
//! `scrape_interval_us` of the run, so that a learner can load them into the tools they know.
//!
//! Names follow the reporter's scheme `flink_<scope>_<metric>`, with Flink's scope variables as
//! labels:
//! - job scope (`flink_jobmanager_job_…`, labels `job_name`): `numberOfCompletedCheckpoints`,
//!   `numberOfFailedCheckpoints`, `numberOfInProgressCheckpoints`, `totalNumberOfCheckpoints`,
//!   `lastCheckpointDuration` (ms), `lastCheckpointSize` (bytes uploaded), `lastCheckpointFullSize`,
//!   `lastCheckpointProcessedData`, `lastCheckpointPersistedData` (bytes),
//!   `lastCheckpointCompletedTimestamp` and `lastCheckpointRestoreTimestamp` (ms; −1 before any, as
//!   Flink reports), `numRestarts`;
//! - task scope (`flink_taskmanager_job_task_…`, labels `job_name`, `task_name`, `subtask_index`,
//!   `tm_id`): `busyTimeMsPerSecond`, `backPressuredTimeMsPerSecond`, `idleTimeMsPerSecond` (over the
//!   last second, as Flink's gauges are), `checkpointAlignmentTime` and `checkpointStartDelayNanos`
//!   (nanoseconds, of the last checkpoint the subtask acknowledged).
//!
//! Every sample carries its timestamp: milliseconds of virtual time since the run started (a
//! scraper would have stamped wall-clock time instead; add your own epoch to line a run up with
//! real data). The file opens with the run's digest as a comment.

use crate::checkpoint::metrics::CheckpointStatus;
use crate::dataflow::{DataflowRun, TaskActivity};
use std::fmt::Write;

/// One metric: its full name, help text, and samples (labels, value) at one instant.
struct Family {
    name: String,
    help: &'static str,
    samples: Vec<(String, u64, f64)>,
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// When a checkpoint stopped being in progress (completed, or failed), if it did.
fn finished_at_us(stats: &crate::checkpoint::metrics::CheckpointStats) -> Option<u64> {
    match stats.status {
        CheckpointStatus::InProgress => None,
        _ => Some(stats.trigger_timestamp_us + stats.end_to_end_duration_us.unwrap_or(0)),
    }
}

/// The exposition of `run` (scenario `job_name`, digest `digest`), sampled every
/// `scrape_interval_us` from the first interval to the end of the run. Needs the run's activity
/// record (`RunDetail::Traced`) for the busy / backpressured / idle gauges.
pub fn exposition(
    run: &DataflowRun,
    job_name: &str,
    digest: &str,
    scrape_interval_us: u64,
) -> String {
    let interval = scrape_interval_us.max(1);
    let end = run.end_time.as_micros();
    let instants: Vec<u64> = (1..=end / interval)
        .map(|k| k * interval)
        .chain((!end.is_multiple_of(interval) || end == 0).then_some(end))
        .collect();
    let job = format!("job_name=\"{}\"", escape(job_name));
    let job_family = |name: &str, help: &'static str| Family {
        name: format!("flink_jobmanager_job_{name}"),
        help,
        samples: Vec::new(),
    };
    let mut completed = job_family(
        "numberOfCompletedCheckpoints",
        "Checkpoints completed so far.",
    );
    let mut failed = job_family("numberOfFailedCheckpoints", "Checkpoints failed so far.");
    let mut in_progress = job_family(
        "numberOfInProgressCheckpoints",
        "Checkpoints triggered and neither completed nor failed.",
    );
    let mut total = job_family("totalNumberOfCheckpoints", "Checkpoints triggered so far.");
    let mut duration = job_family(
        "lastCheckpointDuration",
        "End-to-end duration of the last completed checkpoint (ms).",
    );
    let mut size = job_family(
        "lastCheckpointSize",
        "Bytes the last completed checkpoint uploaded (incremental: what changed).",
    );
    let mut full_size = job_family(
        "lastCheckpointFullSize",
        "Full size of the last completed checkpoint (bytes).",
    );
    let mut processed = job_family(
        "lastCheckpointProcessedData",
        "Bytes processed during the alignment of the last completed checkpoint.",
    );
    let mut persisted = job_family(
        "lastCheckpointPersistedData",
        "In-flight bytes the last completed checkpoint persisted.",
    );
    let mut completed_at = job_family(
        "lastCheckpointCompletedTimestamp",
        "When the last checkpoint completed (ms of virtual time; -1 before any).",
    );
    let mut restored_at = job_family(
        "lastCheckpointRestoreTimestamp",
        "When the job last restored a checkpoint (ms of virtual time; -1 before any).",
    );
    let mut restarts = job_family("numRestarts", "Restarts so far.");
    for &at in &instants {
        let done: Vec<_> = run
            .checkpoints
            .iter()
            .filter(|c| finished_at_us(c).is_some_and(|f| f <= at))
            .collect();
        let triggered = run
            .checkpoints
            .iter()
            .filter(|c| c.trigger_timestamp_us <= at)
            .count();
        let ok: Vec<_> = done
            .iter()
            .filter(|c| c.status == CheckpointStatus::Completed)
            .collect();
        let last = ok.iter().max_by_key(|c| finished_at_us(c));
        let push = |family: &mut Family, value: f64| family.samples.push((job.clone(), at, value));
        push(&mut completed, ok.len() as f64);
        push(&mut failed, (done.len() - ok.len()) as f64);
        push(&mut in_progress, (triggered - done.len()) as f64);
        push(&mut total, triggered as f64);
        let of_last = |value: fn(&crate::checkpoint::metrics::CheckpointStats) -> f64| {
            last.map_or(-1.0, |c| value(c))
        };
        push(
            &mut duration,
            of_last(|c| c.end_to_end_duration_us.unwrap_or(0) as f64 / 1000.0),
        );
        push(&mut size, of_last(|c| c.checkpointed_size as f64));
        push(&mut full_size, of_last(|c| c.state_size as f64));
        push(&mut processed, of_last(|c| c.processed_data as f64));
        push(&mut persisted, of_last(|c| c.persisted_data as f64));
        push(
            &mut completed_at,
            last.and_then(|c| finished_at_us(c))
                .map_or(-1.0, |f| (f / 1000) as f64),
        );
        let restores: Vec<u64> = run
            .recoveries
            .iter()
            .filter(|r| r.checkpoint_restored.is_some())
            .filter_map(|r| r.restarted_at_us)
            .filter(|&r| r <= at)
            .collect();
        push(
            &mut restored_at,
            restores.last().map_or(-1.0, |&r| (r / 1000) as f64),
        );
        let restarted = run
            .recoveries
            .iter()
            .filter(|r| r.restarted_at_us.is_some_and(|r| r <= at))
            .count();
        push(&mut restarts, restarted as f64);
    }

    let task_family = |name: &str, help: &'static str| Family {
        name: format!("flink_taskmanager_job_task_{name}"),
        help,
        samples: Vec::new(),
    };
    let mut busy = task_family(
        "busyTimeMsPerSecond",
        "Time per second the subtask was busy (ms/s).",
    );
    let mut backpressured = task_family(
        "backPressuredTimeMsPerSecond",
        "Time per second the subtask was backpressured (ms/s).",
    );
    let mut idle = task_family(
        "idleTimeMsPerSecond",
        "Time per second the subtask was idle (ms/s).",
    );
    let mut alignment = task_family(
        "checkpointAlignmentTime",
        "Alignment of the last checkpoint the subtask acknowledged (ns).",
    );
    let mut start_delay = task_family(
        "checkpointStartDelayNanos",
        "Start delay of the last checkpoint the subtask acknowledged (ns).",
    );
    for (task, vertex) in run.graph.tasks.iter().enumerate() {
        let base = vertex.name.split('[').next().unwrap_or(&vertex.name);
        let labels = format!(
            "{job},task_name=\"{}\",subtask_index=\"{}\",tm_id=\"taskmanager-{}\"",
            escape(base),
            vertex.subtask,
            vertex.task_manager
        );
        // The task's activity as (from, activity) intervals; idle before its first change.
        let changes: Vec<(u64, TaskActivity)> = run
            .activity
            .iter()
            .filter(|c| c.task as usize == task)
            .map(|c| (c.at_us, c.activity))
            .collect();
        let mut points: Vec<u64> = instants
            .iter()
            .flat_map(|&at| [at.saturating_sub(1_000_000), at])
            .collect();
        points.sort_unstable();
        points.dedup();
        let totals = cumulative(&changes, &points);
        let time_in = |from: u64, to: u64, wanted: TaskActivity| -> u64 {
            let index = |t: u64| points.binary_search(&t).expect("a sampled point");
            let slot = activity_slot(wanted);
            totals[index(to)][slot] - totals[index(from)][slot]
        };
        for &at in &instants {
            let from = at.saturating_sub(1_000_000);
            let window_ms = (at - from) as f64 / 1000.0;
            let per_second = |activity| {
                if window_ms == 0.0 {
                    0.0
                } else {
                    time_in(from, at, activity) as f64 / 1000.0 * (1000.0 / window_ms)
                }
            };
            busy.samples
                .push((labels.clone(), at, per_second(TaskActivity::Busy)));
            backpressured.samples.push((
                labels.clone(),
                at,
                per_second(TaskActivity::Backpressured),
            ));
            idle.samples
                .push((labels.clone(), at, per_second(TaskActivity::Idle)));
            let acknowledged = run
                .checkpoints
                .iter()
                .filter_map(|c| {
                    c.subtasks
                        .iter()
                        .find(|s| s.task == vertex.name)
                        .filter(|s| s.ack_timestamp_us.is_some_and(|t| t <= at))
                        .map(|s| {
                            (
                                s.ack_timestamp_us,
                                s.alignment_duration_us,
                                s.start_delay_us,
                            )
                        })
                })
                .max_by_key(|(ack, _, _)| *ack);
            let (align_ns, delay_ns) = acknowledged.map_or((0.0, 0.0), |(_, a, d)| {
                (a as f64 * 1000.0, d as f64 * 1000.0)
            });
            alignment.samples.push((labels.clone(), at, align_ns));
            start_delay.samples.push((labels.clone(), at, delay_ns));
        }
    }

    let mut text = format!(
        "# snapsim run of {job_name}, digest {digest}; timestamps are ms of virtual time since the run started\n"
    );
    for family in [
        completed,
        failed,
        in_progress,
        total,
        duration,
        size,
        full_size,
        processed,
        persisted,
        completed_at,
        restored_at,
        restarts,
        busy,
        backpressured,
        idle,
        alignment,
        start_delay,
    ] {
        let _ = writeln!(text, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(text, "# TYPE {} gauge", family.name);
        for (labels, at_us, value) in &family.samples {
            let _ = writeln!(text, "{}{{{labels}}} {value} {}", family.name, at_us / 1000);
        }
    }
    text
}

fn activity_slot(activity: TaskActivity) -> usize {
    match activity {
        TaskActivity::Idle => 0,
        TaskActivity::Busy => 1,
        TaskActivity::Backpressured => 2,
    }
}

/// Time spent in each activity from 0 up to each of `points` (sorted), in one pass over the
/// changes (a task is idle before its first change).
fn cumulative(changes: &[(u64, TaskActivity)], points: &[u64]) -> Vec<[u64; 3]> {
    let mut totals = Vec::with_capacity(points.len());
    let mut sums = [0u64; 3];
    let (mut since, mut current) = (0u64, TaskActivity::Idle);
    let mut next = 0;
    for &point in points {
        while next < changes.len() && changes[next].0 <= point {
            let (at, activity) = changes[next];
            sums[activity_slot(current)] += at.saturating_sub(since);
            (since, current) = (at.max(since), activity);
            next += 1;
        }
        let mut at_point = sums;
        at_point[activity_slot(current)] += point.saturating_sub(since);
        totals.push(at_point);
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_in_each_activity_accumulates_between_changes() {
        use TaskActivity::*;
        let changes = [(10, Busy), (30, Backpressured), (35, Idle)];
        let totals = cumulative(&changes, &[0, 10, 20, 40]);
        assert_eq!(
            totals,
            vec![[0, 0, 0], [10, 0, 0], [10, 10, 0], [15, 20, 5]]
        );
    }
}
