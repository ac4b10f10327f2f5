//! The end of a run: closing the time accounts, latency percentiles, and everything the run
//! produced, as a [`crate::dataflow::results::DataflowRun`].

use super::state::World;
use super::task::Activity;
use crate::checkpoint::coordinator::AbortReason;
use crate::checkpoint::metrics::{CheckpointStats, CheckpointStatus};
use crate::dataflow::results::{DataflowRun, JobMetrics, JobStatus};

impl World<'_> {
    /// Closes the run's accounts and returns everything it produced.
    pub(super) fn finish(mut self) -> DataflowRun {
        let now = self.queue.now();
        // The flips below only close the time accounts; they are not activity.
        let activity_changes = std::mem::take(&mut self.activity_log);
        for task in 0..self.tasks.len() {
            let activity = self.tasks[task].activity;
            self.set_activity(
                now,
                task,
                if activity == Activity::Idle {
                    Activity::Busy
                } else {
                    Activity::Idle
                },
            );
        }
        let mut latencies = std::mem::take(&mut self.latencies_us);
        // Each percentile is an order statistic: selecting it is linear, sorting all is not.
        let mut percentile = |p: f64| -> u64 {
            if latencies.is_empty() {
                0
            } else {
                let rank = ((latencies.len() - 1) as f64 * p).round() as usize;
                *latencies.select_nth_unstable(rank).1
            }
        };
        let (latency_p50_us, latency_p90_us, latency_p99_us, latency_max_us) = (
            percentile(0.5),
            percentile(0.9),
            percentile(0.99),
            percentile(1.0),
        );
        let duration_s = now.as_micros().max(1) as f64 / 1e6;
        let metrics = JobMetrics {
            records_emitted: self.records_emitted,
            records_at_sinks: self.records_at_sinks,
            all_data_processed_us: self.all_data_processed_us,
            throughput_bucket_us: self.model.throughput_bucket_us,
            sink_records_per_bucket: std::mem::take(&mut self.sink_buckets),
            sink_records_per_s: self.records_at_sinks as f64 / duration_s,
            latency_p50_us,
            latency_p90_us,
            latency_p99_us,
            latency_max_us,
            tasks: self.tasks.iter().map(|t| t.metrics.clone()).collect(),
        };
        let unfinished: Vec<u64> = self
            .stats
            .values()
            .filter(|s| s.status == CheckpointStatus::InProgress)
            .map(|s| s.id)
            .collect();
        for id in unfinished {
            self.note_subtask_progress(id);
        }
        let mut checkpoints: Vec<CheckpointStats> =
            std::mem::take(&mut self.stats).into_values().collect();
        let terminal = !matches!(self.status, JobStatus::Running);
        for stats in &mut checkpoints {
            if stats.status == CheckpointStatus::InProgress {
                stats.aggregate();
                if terminal {
                    // The job is over: Flink's coordinator shuts down and discards what is pending.
                    stats.status = CheckpointStatus::Failed;
                    stats.failure_reason = Some(AbortReason::CheckpointCoordinatorShutdown.name());
                }
            }
        }
        let recoveries = self.finish_recovery_stats();
        let end_us = now.as_micros();
        for sink in &mut self.sinks {
            sink.close(end_us);
        }
        DataflowRun {
            recoveries,
            completion_notices_lost: self.completion_notices_lost,
            activity: activity_changes,
            channel_levels: std::mem::take(&mut self.channel_log),
            sinks: std::mem::take(&mut self.sinks),
            trace: self.trace,
            checkpoints,
            completed: self.completed,
            metrics,
            status: self.status,
            end_time: now,
            events_processed: self.queue.popped_total(),
            cut_short: self.cut_short,
            final_states: self.tasks.iter().map(|t| t.states.clone()).collect(),
            graph: self.graph,
        }
    }
}
