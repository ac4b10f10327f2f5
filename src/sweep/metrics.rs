//! What one run of a sweep measured, and how the runs of one point are summarised.
//!
//! Each run is reduced to a handful of named numbers (names carry their units: `_s`, `_ms`,
//! `_bytes`). Dataflow runs report completion time, checkpoint durations and phases with Flink's
//! meanings (Flink's checkpoint statistics; a checkpoint's phase figure is the largest over its
//! subtasks, and the run's figure is the mean over its completed checkpoints), sizes, failures and
//! their downtime, throughput and latency. Process-graph (Chandy-Lamport) runs report snapshots
//! and what their channel states held. A metric a run cannot have (no checkpoint completed, the
//! job never finished) is simply absent, never zero.
//!
//! Over the seeds of one point every metric gets its mean, standard deviation and a 95 %
//! confidence interval for the mean (Student's t), which is what the charts draw as bands.

use crate::chandy_lamport::ProcessGraphRun;
use crate::checkpoint::metrics::{CheckpointStats, CheckpointStatus};
use crate::dataflow::{DataflowRun, JobStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A metric: its name (with unit) and what it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricInfo {
    /// Column name, e.g. `checkpoint_duration_ms_mean`.
    pub name: &'static str,
    /// One line for people.
    pub description: &'static str,
}

const fn metric(name: &'static str, description: &'static str) -> MetricInfo {
    MetricInfo { name, description }
}

/// Metrics of a dataflow (Flink) run, in column order.
pub const DATAFLOW_METRICS: &[MetricInfo] = &[
    metric("finished", "1 if the bounded job finished, 0 otherwise"),
    metric(
        "cut_short",
        "1 if the event budget (`max_events`) stopped the run before its end, 0 otherwise",
    ),
    metric(
        "completion_time_s",
        "when the bounded job had processed its last record (virtual seconds)",
    ),
    metric(
        "final_checkpoint_wait_ms",
        "from the last record processed to the job finished: the wait for the final checkpoint",
    ),
    metric(
        "baseline_completion_time_s",
        "completion time of the same job without checkpoints and without failures",
    ),
    metric(
        "overhead",
        "(completion time − baseline completion time) / baseline completion time",
    ),
    metric("checkpoints_completed", "checkpoints that completed"),
    metric("checkpoints_failed", "checkpoints that were aborted"),
    metric(
        "checkpoint_duration_ms_mean",
        "end-to-end duration (trigger → last ack) of completed checkpoints, mean",
    ),
    metric(
        "checkpoint_duration_ms_max",
        "end-to-end duration of completed checkpoints, largest",
    ),
    metric(
        "effective_interval_ms_mean",
        "time between the triggers of consecutive completed checkpoints, mean",
    ),
    metric(
        "start_delay_ms_mean",
        "start delay (trigger → first barrier), largest subtask, mean over checkpoints",
    ),
    metric(
        "alignment_ms_mean",
        "alignment (first → last barrier), largest subtask, mean over checkpoints",
    ),
    metric(
        "sync_ms_mean",
        "synchronous phase, largest subtask, mean over checkpoints",
    ),
    metric(
        "async_ms_mean",
        "asynchronous phase, largest subtask, mean over checkpoints",
    ),
    metric(
        "state_size_bytes_mean",
        "full checkpoint size (state + persisted in-flight data), mean",
    ),
    metric(
        "checkpointed_size_bytes_mean",
        "bytes uploaded per checkpoint (incremental: the delta), mean",
    ),
    metric(
        "persisted_data_bytes_mean",
        "in-flight data persisted per checkpoint (unaligned), mean",
    ),
    metric(
        "processed_data_bytes_mean",
        "bytes processed during alignment per checkpoint, mean",
    ),
    metric(
        "failures",
        "failures (each followed by a recovery or the end)",
    ),
    metric(
        "downtime_ms_mean",
        "failure → every restarted task running again, mean over recoveries",
    ),
    metric(
        "records_reprocessed",
        "source records read again after restores, total",
    ),
    metric("sink_records_per_s", "mean sink throughput over the run"),
    metric("latency_p50_ms", "source → sink latency, median"),
    metric("latency_p99_ms", "source → sink latency, 99th percentile"),
    metric(
        "backpressured_fraction_max",
        "largest fraction of time any task spent backpressured",
    ),
    metric(
        "events_processed",
        "engine events (the unit of simulation work)",
    ),
];

/// Metrics of a process-graph (Chandy-Lamport) run, in column order.
pub const PROCESS_GRAPH_METRICS: &[MetricInfo] = &[
    metric("snapshots_completed", "global snapshots that completed"),
    metric(
        "cut_short",
        "1 if the event budget (`max_events`) stopped the run before its end, 0 otherwise",
    ),
    metric("snapshots_incomplete", "snapshots still running at the end"),
    metric(
        "snapshot_duration_ms_mean",
        "initiation → last channel recorded, mean over completed snapshots",
    ),
    metric(
        "channel_messages_recorded_mean",
        "messages in recorded channel states per snapshot, mean",
    ),
    metric("application_messages", "application messages sent"),
    metric(
        "events_processed",
        "engine events (the unit of simulation work)",
    ),
];

/// The numbers one run produced, by metric name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// The seed of the run.
    pub seed: u64,
    /// Metric values by name; a metric the run cannot have is absent.
    pub values: BTreeMap<String, f64>,
}

impl RunMetrics {
    /// The value of a metric, if the run has it.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied()
    }

    fn set(&mut self, name: &str, value: f64) {
        debug_assert!(
            DATAFLOW_METRICS
                .iter()
                .chain(PROCESS_GRAPH_METRICS)
                .any(|m| m.name == name),
            "unknown metric {name}"
        );
        if value.is_finite() {
            self.values.insert(name.to_string(), value);
        }
    }

    fn set_mean(&mut self, name: &str, values: impl Iterator<Item = f64>) {
        let (sum, count) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
        if count > 0 {
            self.set(name, sum / count as f64);
        }
    }

    /// The mean of whole numbers (µs, bytes), summed exactly, divided by `divisor` (1000: µs → ms),
    /// so that a column of identical durations reads `100.02`, not `100.02000000000008`.
    fn set_mean_of_integers(
        &mut self,
        name: &str,
        values: impl Iterator<Item = u64>,
        divisor: f64,
    ) {
        let (sum, count) = values.fold((0u128, 0u64), |(s, n), v| (s + u128::from(v), n + 1));
        if count > 0 {
            self.set(name, sum as f64 / count as f64 / divisor);
        }
    }

    /// Sets the overhead against a baseline completion time (both in seconds).
    pub fn set_baseline(&mut self, baseline_completion_time_s: f64) {
        self.set("baseline_completion_time_s", baseline_completion_time_s);
        if let Some(completion) = self.get("completion_time_s")
            && baseline_completion_time_s > 0.0
        {
            self.set(
                "overhead",
                (completion - baseline_completion_time_s) / baseline_completion_time_s,
            );
        }
    }

    /// Reduces a dataflow run to its metrics.
    pub fn from_dataflow(seed: u64, run: &DataflowRun) -> RunMetrics {
        let mut metrics = RunMetrics {
            seed,
            values: BTreeMap::new(),
        };
        let finished_at = match run.status {
            JobStatus::Finished { at_us } => Some(at_us),
            _ => None,
        };
        metrics.set("finished", f64::from(u8::from(finished_at.is_some())));
        metrics.set("cut_short", f64::from(u8::from(run.cut_short.is_some())));
        // Completion is the end of the work: once every record is processed, a bounded job with
        // checkpointing still waits for a final checkpoint (FLIP-147) before it finishes. That
        // wait is reported on its own; Daly's model, like a long-running job, has no end to wait at.
        if let Some(at_us) = finished_at {
            let work_done_us = run
                .metrics
                .all_data_processed_us
                .unwrap_or(at_us)
                .min(at_us);
            metrics.set("completion_time_s", work_done_us as f64 / 1e6);
            metrics.set(
                "final_checkpoint_wait_ms",
                (at_us - work_done_us) as f64 / 1000.0,
            );
        }
        let checkpoints: Vec<_> = run.checkpoints.iter().filter(|c| !c.is_savepoint).collect();
        let completed: Vec<_> = checkpoints
            .iter()
            .filter(|c| c.status == CheckpointStatus::Completed)
            .collect();
        metrics.set("checkpoints_completed", completed.len() as f64);
        metrics.set(
            "checkpoints_failed",
            checkpoints
                .iter()
                .filter(|c| c.status == CheckpointStatus::Failed)
                .count() as f64,
        );
        let ms = |us: u64| us as f64 / 1000.0;
        metrics.set_mean_of_integers(
            "checkpoint_duration_ms_mean",
            completed.iter().filter_map(|c| c.end_to_end_duration_us),
            1000.0,
        );
        if let Some(longest) = completed
            .iter()
            .filter_map(|c| c.end_to_end_duration_us)
            .max()
        {
            metrics.set("checkpoint_duration_ms_max", ms(longest));
        }
        metrics.set_mean_of_integers(
            "effective_interval_ms_mean",
            completed
                .windows(2)
                .map(|pair| pair[1].trigger_timestamp_us - pair[0].trigger_timestamp_us),
            1000.0,
        );
        // Per-checkpoint figures averaged over the completed checkpoints: (column, field, divisor
        // turning the field's unit into the column's).
        type Field = fn(&CheckpointStats) -> u64;
        let means: [(&str, Field, f64); 8] = [
            ("start_delay_ms_mean", |c| c.start_delay_us, 1000.0),
            ("alignment_ms_mean", |c| c.alignment_duration_us, 1000.0),
            ("sync_ms_mean", |c| c.sync_duration_us, 1000.0),
            ("async_ms_mean", |c| c.async_duration_us, 1000.0),
            ("state_size_bytes_mean", |c| c.state_size, 1.0),
            ("checkpointed_size_bytes_mean", |c| c.checkpointed_size, 1.0),
            ("persisted_data_bytes_mean", |c| c.persisted_data, 1.0),
            ("processed_data_bytes_mean", |c| c.processed_data, 1.0),
        ];
        for (name, field, divisor) in means {
            metrics.set_mean_of_integers(name, completed.iter().map(|c| field(c)), divisor);
        }
        metrics.set("failures", run.recoveries.len() as f64);
        metrics.set_mean_of_integers(
            "downtime_ms_mean",
            run.recoveries.iter().filter_map(|r| r.downtime_us),
            1000.0,
        );
        metrics.set(
            "records_reprocessed",
            run.recoveries
                .iter()
                .map(|r| r.records_reprocessed)
                .sum::<u64>() as f64,
        );
        let job = &run.metrics;
        metrics.set("sink_records_per_s", job.sink_records_per_s);
        if job.records_at_sinks > 0 {
            metrics.set("latency_p50_ms", ms(job.latency_p50_us));
            metrics.set("latency_p99_ms", ms(job.latency_p99_us));
        }
        let backpressured = job
            .tasks
            .iter()
            .map(|t| t.backpressured_fraction())
            .fold(0.0, f64::max);
        metrics.set("backpressured_fraction_max", backpressured);
        metrics.set("events_processed", run.events_processed as f64);
        metrics
    }

    /// Reduces a Chandy-Lamport run to its metrics.
    pub fn from_process_graph(seed: u64, run: &ProcessGraphRun) -> RunMetrics {
        let mut metrics = RunMetrics {
            seed,
            values: BTreeMap::new(),
        };
        metrics.set("snapshots_completed", run.snapshots.len() as f64);
        metrics.set("cut_short", f64::from(u8::from(run.cut_short.is_some())));
        metrics.set("snapshots_incomplete", run.incomplete.len() as f64);
        metrics.set_mean_of_integers(
            "snapshot_duration_ms_mean",
            run.snapshots
                .iter()
                .map(|s| s.completed_at.since_us(s.started_at)),
            1000.0,
        );
        metrics.set_mean(
            "channel_messages_recorded_mean",
            run.snapshots.iter().map(|s| {
                s.channel_messages
                    .iter()
                    .map(|(_, messages)| messages.len())
                    .sum::<usize>() as f64
            }),
        );
        metrics.set("application_messages", run.application_messages as f64);
        metrics.set("events_processed", run.events_processed as f64);
        metrics
    }
}

/// One metric over the seeds of one point.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Runs that had the metric.
    pub runs: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for a single run).
    pub std_dev: f64,
    /// Lower end of the 95 % confidence interval of the mean.
    pub ci95_low: f64,
    /// Upper end of the 95 % confidence interval of the mean.
    pub ci95_high: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Summary {
    /// Mean, spread and 95 % confidence interval of some values; `None` if there are none.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let runs = values.len();
        if runs == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / runs as f64;
        let std_dev = if runs > 1 {
            let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (squares / (runs - 1) as f64).sqrt()
        } else {
            0.0
        };
        let half_width = if runs > 1 {
            student_t_975(runs - 1) * std_dev / (runs as f64).sqrt()
        } else {
            0.0
        };
        Some(Summary {
            runs,
            mean,
            std_dev,
            ci95_low: mean - half_width,
            ci95_high: mean + half_width,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// Summaries of every metric over the runs of one point.
pub fn summarise(runs: &[RunMetrics]) -> BTreeMap<String, Summary> {
    let mut by_name: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for run in runs {
        for (name, &value) in &run.values {
            by_name.entry(name).or_default().push(value);
        }
    }
    by_name
        .into_iter()
        .filter_map(|(name, values)| Summary::of(&values).map(|s| (name.to_string(), s)))
        .collect()
}

/// The 97.5 % quantile of Student's t distribution with `degrees` degrees of freedom (the factor
/// of a two-sided 95 % interval): tabulated to 30, then the usual 1.96 + 2.4/ν approximation
/// (within 0.1 % beyond 30).
pub fn student_t_975(degrees: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    assert!(
        degrees > 0,
        "a t quantile needs at least one degree of freedom"
    );
    match TABLE.get(degrees - 1) {
        Some(&t) => t,
        None => 1.959_964 + 2.4 / degrees as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confidence_interval_of_three_values_uses_t_with_two_degrees_of_freedom() {
        let summary = Summary::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(summary.mean, 2.0);
        assert!((summary.std_dev - 1.0).abs() < 1e-12);
        let half = 4.303 / 3f64.sqrt();
        assert!((summary.ci95_high - (2.0 + half)).abs() < 1e-9);
        assert!(Summary::of(&[]).is_none());
        assert_eq!(Summary::of(&[5.0]).unwrap().ci95_low, 5.0);
    }

    #[test]
    fn the_t_approximation_joins_the_table() {
        assert!((student_t_975(30) - 2.042).abs() < 1e-9);
        assert!((student_t_975(31) - 2.040).abs() < 0.003);
        assert!((student_t_975(120) - 1.980).abs() < 0.002);
    }
}
