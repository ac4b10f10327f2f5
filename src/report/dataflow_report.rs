//! What a dataflow (Flink) run reports: the checkpoint history as Flink's web UI shows it, its
//! steady-state medians, job metrics, recoveries, and the oracle's verdicts.

use crate::checkpoint::metrics::{CheckpointStats, CheckpointStatus};
use crate::checkpoint::savepoint::{Handover, OperatorRestore};
use crate::dataflow::{JobMetrics, JobStatus, RecoveryStats};
use crate::oracle::Check;
use crate::oracle::dataflow::CheckpointCheck;
use crate::oracle::delivery::DeliveryVerdict;
use crate::workload::sink::PartFiles;
use serde::Serialize;

/// How many checkpoints ended how.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckpointCounts {
    /// All attempts.
    pub triggered: usize,
    /// Completed.
    pub completed: usize,
    /// Aborted (expired, declined, subsumed…).
    pub failed: usize,
    /// Still pending at the end of the run.
    pub in_progress: usize,
}

/// Medians over the completed checkpoints after the first (steady state), in the units of the
/// measurements of real Flink 2.3 runs that `tests/dataflow_checkpoints.rs` compares with.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckpointSummary {
    /// Checkpoints the medians are over.
    pub checkpoints: usize,
    /// Median end-to-end duration (ms).
    pub end_to_end_ms: f64,
    /// Median of the largest alignment duration (ms).
    pub alignment_ms: f64,
    /// Median of the largest start delay (ms).
    pub start_delay_ms: f64,
    /// Median persisted in-flight data (KiB).
    pub persisted_kib: f64,
    /// Median full size (KiB).
    pub state_kib: f64,
    /// Median time between consecutive triggers of completed checkpoints (ms).
    pub effective_interval_ms: f64,
}

/// A savepoint restore, as the report shows it (the restored state itself is left out).
#[derive(Clone, Debug, Serialize)]
pub struct InitialStateSummary {
    /// The savepoint file.
    pub source: String,
    /// Its id: the job's checkpoint ids continue after it.
    pub savepoint_id: u64,
    /// Per operator of the job: matched by uid, or starting empty; key groups moved.
    pub operators: Vec<OperatorRestore>,
    /// Uids whose state was dropped (`--allow-non-restored-state`).
    pub dropped_uids: Vec<String>,
    /// What the job that took the savepoint did after it (`start-from-savepoint`).
    pub handover: Option<Handover>,
}

/// Everything a dataflow run reports.
#[derive(Clone, Debug, Serialize)]
pub struct DataflowReport {
    /// Barrier handler / protocol name.
    pub protocol: String,
    /// Checkpoint interval (µs), if checkpointing is on.
    pub interval_us: Option<u64>,
    /// Task names.
    pub tasks: Vec<String>,
    /// Channels in all.
    pub channel_count: usize,
    /// Channels within one task manager.
    pub local_channel_count: usize,
    /// How the job ended.
    pub status: JobStatus,
    /// Checkpoint outcomes.
    pub counts: CheckpointCounts,
    /// Steady-state medians.
    pub summary: CheckpointSummary,
    /// The checkpoint history.
    pub checkpoints: Vec<CheckpointStats>,
    /// Throughput, latency, time accounting.
    pub metrics: JobMetrics,
    /// Invariant 5 per completed checkpoint.
    pub checks: Vec<CheckpointCheck>,
    /// Invariant 8.
    pub protocol_rules: Check,
    /// Every failure and the recovery from it.
    pub recoveries: Vec<RecoveryStats>,
    /// Checkpoints whose completion notices a lost-notices fault swallowed.
    pub completion_notices_lost: u64,
    /// The savepoint the job started from, and what each operator got from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_from: Option<InitialStateSummary>,
    /// Invariants 6 and 7 against the failure-free run (only when the scenario has faults).
    pub delivery: Option<DeliveryVerdict>,
    /// Every file sink's part files.
    pub part_files: Vec<PartFiles>,
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// Steady-state medians of a checkpoint history.
pub fn summarize(checkpoints: &[CheckpointStats]) -> CheckpointSummary {
    let completed: Vec<&CheckpointStats> = checkpoints
        .iter()
        .filter(|c| c.status == CheckpointStatus::Completed && !c.is_savepoint)
        .collect();
    let steady: Vec<&CheckpointStats> = completed
        .iter()
        .skip(usize::from(completed.len() > 1))
        .copied()
        .collect();
    let ms = |us: u64| us as f64 / 1000.0;
    let gaps: Vec<f64> = completed
        .windows(2)
        .map(|w| ms(w[1].trigger_timestamp_us - w[0].trigger_timestamp_us))
        .collect();
    CheckpointSummary {
        checkpoints: steady.len(),
        end_to_end_ms: median(
            steady
                .iter()
                .map(|c| ms(c.end_to_end_duration_us.unwrap_or(0)))
                .collect(),
        ),
        alignment_ms: median(steady.iter().map(|c| ms(c.alignment_duration_us)).collect()),
        start_delay_ms: median(steady.iter().map(|c| ms(c.start_delay_us)).collect()),
        persisted_kib: median(
            steady
                .iter()
                .map(|c| c.persisted_data as f64 / 1024.0)
                .collect(),
        ),
        state_kib: median(
            steady
                .iter()
                .map(|c| c.state_size as f64 / 1024.0)
                .collect(),
        ),
        effective_interval_ms: median(gaps),
    }
}
