//! What a dataflow run produces: every checkpoint's statistics and the contents of the completed
//! ones, sink writes, job and task metrics, recoveries, how the job ended — the record the oracle
//! and the reports read.

use crate::checkpoint::metrics::CheckpointStats;
use crate::engine::SimTime;
use crate::topology::job::{DataChannelIndex, ExecutionGraph, TaskIndex};
use crate::trace::{DataflowEvent, DataflowTrace};
use crate::workload::dataflow::{OperatorState, Record};
use crate::workload::sink::ExternalSink;
use serde::Serialize;

/// One task's part of a checkpoint: what the oracle checks and what a restore would load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TaskSnapshot {
    /// Which task.
    pub task: TaskIndex,
    /// State of each operator of the chain, head first.
    pub operator_states: Vec<OperatorState>,
    /// In-flight records this task persisted from its input channels (unaligned, Chandy-Lamport).
    pub input_channel_state: Vec<(DataChannelIndex, Vec<Record>)>,
    /// In-flight records its barriers overtook in its output queues (unaligned).
    pub output_channel_state: Vec<(DataChannelIndex, Vec<Record>)>,
    /// Taken unaligned.
    pub unaligned: bool,
    /// Two-phase-commit sinks: transactions pre-committed and not yet committed at this snapshot
    /// (committed on restore).
    pub pending_transactions: Vec<u64>,
}

impl TaskSnapshot {
    /// Every persisted in-flight record, with the channel it belongs to.
    pub fn channel_records(&self) -> impl Iterator<Item = (DataChannelIndex, &Record)> {
        self.input_channel_state
            .iter()
            .chain(self.output_channel_state.iter())
            .flat_map(|(channel, records)| records.iter().map(move |r| (*channel, r)))
    }
}

/// Something that reads each completed checkpoint as the run completes it — the oracle's
/// checkpoint checks, so that a long run need not keep thousands of checkpoints' contents until it
/// ends ([`crate::dataflow::run_observed`]). It sees what a check after the run would see up to
/// that moment: the event record so far and every task's operator states now (a finished task's
/// are its final ones).
pub trait CheckpointObserver {
    /// Checkpoint `completed` has just completed.
    fn completed(
        &mut self,
        graph: &ExecutionGraph,
        events: &[DataflowEvent],
        states: &[Vec<OperatorState>],
        completed: &CompletedCheckpoint,
    );
}

/// How much of what happened a run keeps beyond its statistics.
///
/// The oracle checks every completed checkpoint's contents and every write a sink made, and
/// savepoint files are written from contents; a sweep reads only statistics
/// ([`DataflowRun::checkpoints`], [`DataflowRun::metrics`], [`DataflowRun::recoveries`],
/// [`DataflowRun::status`]), and keeping thousands of copies of keyed state and a log of every
/// write costs it more than the simulation itself. The choice changes nothing in the simulation:
/// same events, same digest; a restart restores the newest completed checkpoint, whose contents
/// are always kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RunDetail {
    /// Everything: every completed checkpoint's task snapshots, every sink write (`snapsim run`,
    /// the oracle, reports).
    #[default]
    Full,
    /// Statistics only: just the newest completed checkpoint and the savepoints keep their task
    /// snapshots (older checkpoints stay in [`DataflowRun::completed`] with their id and times but
    /// empty `tasks`), and sinks keep their transactions but no log of writes
    /// ([`ExternalSink::writes`] is empty).
    Statistics,
    /// Everything, plus when each task was busy, backpressured or idle
    /// ([`DataflowRun::activity`]) and how many records each channel held
    /// ([`DataflowRun::channel_levels`]), for `snapsim run --trace` and the web view. One entry per change: in a
    /// rate-limited job that is two per record, which is why the other levels do not keep it.
    Traced,
}

/// What a task's thread is doing, as Flink's `busyTimeMsPerSecond`, `backPressuredTimeMsPerSecond`
/// and `idleTimeMsPerSecond` metrics split it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskActivity {
    /// Waiting for input (or for the source's rate limiter).
    Idle,
    /// Processing a record, or a snapshot's synchronous part.
    Busy,
    /// Has a record to emit but no output buffer: blocked by backpressure.
    Backpressured,
}

/// From `at_us` on, `channel` held `records`: written by its sender and not yet read by its
/// receiver (in the buffer being filled, the output subpartition, on the wire or in the input
/// channel). Kept by [`RunDetail::Traced`] runs only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ChannelLevel {
    /// Virtual time of the change, µs.
    pub at_us: u64,
    /// The channel's index in the execution graph.
    pub channel: u32,
    /// Records in the channel from then on.
    pub records: u32,
}

/// From `at_us` on, `task` was doing `activity` (until its next change).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ActivityChange {
    /// Virtual time of the change, µs.
    pub at_us: u64,
    /// The task's index in the execution graph.
    pub task: u32,
    /// What it does from then on.
    pub activity: TaskActivity,
}

/// The contents of a completed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompletedCheckpoint {
    /// Checkpoint id.
    pub id: u64,
    /// A savepoint.
    pub is_savepoint: bool,
    /// When it was triggered.
    pub triggered_at: SimTime,
    /// When the last acknowledgement arrived.
    pub completed_at: SimTime,
    /// One snapshot per task that acknowledged (finished tasks have none).
    pub tasks: Vec<TaskSnapshot>,
}

/// How the job ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum JobStatus {
    /// Still running when the scenario's `duration` ended.
    Running,
    /// Every task finished (bounded sources).
    Finished { at_us: u64 },
    /// The job failed.
    Failed { at_us: u64, reason: String },
    /// Stopped with a savepoint (stop-with-savepoint).
    Stopped { at_us: u64, savepoint: u64 },
}

/// Time accounting and counts for one task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TaskMetrics {
    /// Task name.
    pub task: String,
    /// Time processing records or snapshotting (`busyTimeMsPerSecond`, summed).
    pub busy_us: u64,
    /// Time unable to proceed because the output had no buffer (`backPressuredTimeMsPerSecond`).
    pub backpressured_us: u64,
    /// The rest.
    pub idle_us: u64,
    /// Records taken in (sources: emitted).
    pub records_in: u64,
}

impl TaskMetrics {
    /// Share of the task's accounted time spent backpressured (0 when nothing was accounted):
    /// Flink's `backPressuredTimeMsPerSecond` over the whole run.
    pub fn backpressured_fraction(&self) -> f64 {
        let total = self.busy_us + self.backpressured_us + self.idle_us;
        if total == 0 {
            0.0
        } else {
            self.backpressured_us as f64 / total as f64
        }
    }
}

/// Job-level figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct JobMetrics {
    /// Records emitted by all sources.
    pub records_emitted: u64,
    /// Records that reached a sink.
    pub records_at_sinks: u64,
    /// When every task had reached end of data — all input processed — for the last time
    /// (µs). A bounded job finishes later, after its final checkpoint (FLIP-147).
    pub all_data_processed_us: Option<u64>,
    /// Width of a throughput bucket (µs).
    pub throughput_bucket_us: u64,
    /// Sink records per bucket.
    pub sink_records_per_bucket: Vec<u64>,
    /// Mean sink throughput over the run (records per second).
    pub sink_records_per_s: f64,
    /// End-to-end latency (source emission → sink), percentiles in µs.
    pub latency_p50_us: u64,
    /// 90th percentile.
    pub latency_p90_us: u64,
    /// 99th percentile.
    pub latency_p99_us: u64,
    /// Largest.
    pub latency_max_us: u64,
    /// Per task.
    pub tasks: Vec<TaskMetrics>,
}

/// Everything a dataflow run produced.
#[derive(Debug)]
pub struct DataflowRun {
    /// The expanded job.
    pub graph: ExecutionGraph,
    /// The event record (and digest).
    pub trace: DataflowTrace,
    /// Every checkpoint's statistics, by id.
    pub checkpoints: Vec<CheckpointStats>,
    /// Contents of every completed checkpoint, by id.
    pub completed: Vec<CompletedCheckpoint>,
    /// Throughput, latency, time accounting.
    pub metrics: JobMetrics,
    /// How the job ended.
    pub status: JobStatus,
    /// Time of the last event.
    pub end_time: SimTime,
    /// Engine events processed.
    pub events_processed: u64,
    /// Where the event budget stopped the run, if it did: everything here is up to that point.
    pub cut_short: Option<crate::engine::CutShort>,
    /// Operator states of every task at the end.
    pub final_states: Vec<Vec<OperatorState>>,
    /// The external systems the sinks wrote to, one per sink operator (in operator order).
    pub sinks: Vec<ExternalSink>,
    /// Every failure and the recovery from it.
    pub recoveries: Vec<RecoveryStats>,
    /// Completion notices (`notifyCheckpointComplete`) a lost-notices fault swallowed, one per
    /// checkpoint whose notices never reached the tasks.
    pub completion_notices_lost: u64,
    /// Every change of a task's activity, in time order ([`RunDetail::Traced`] only; empty
    /// otherwise).
    pub activity: Vec<ActivityChange>,
    /// Every change of the records in a channel, in time order ([`RunDetail::Traced`] only).
    pub channel_levels: Vec<ChannelLevel>,
}

/// One failure and the recovery from it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryStats {
    /// What failed.
    pub failure: String,
    /// When it failed (µs).
    pub failed_at_us: u64,
    /// When the job manager noticed (µs).
    pub detected_at_us: u64,
    /// When the restarted tasks were deployed (µs); `None` if the job gave up.
    pub restarted_at_us: Option<u64>,
    /// When every restarted task had its state back and was running (µs).
    pub running_again_at_us: Option<u64>,
    /// Failure → running again (µs).
    pub downtime_us: Option<u64>,
    /// The checkpoint restored (`None`: restarted from the beginning).
    pub checkpoint_restored: Option<u64>,
    /// Tasks cancelled and restarted.
    pub tasks_restarted: usize,
    /// Source records read again: offset at the failure minus offset restored.
    pub records_reprocessed: u64,
    /// When sink throughput was back to 90 % of what it was before the failure (µs).
    pub throughput_recovered_at_us: Option<u64>,
}
