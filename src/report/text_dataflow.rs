//! The text summary of a dataflow run: a checkpoint history table like the "Checkpoints" tab of
//! Flink's web UI, the job's throughput and latency, where each task spent its time, and the
//! oracle's verdicts.

use super::dataflow_report::DataflowReport;
use super::run_report::RunReport;
use super::text_format::{format_bytes, format_ms, mark};
use crate::checkpoint::metrics::{CheckpointStats, CheckpointStatus};
use crate::dataflow::JobStatus;
use crate::engine::SimTime;
use std::fmt::Write;

const HISTORY_ROWS_AT_EACH_END: usize = 8;

pub(super) fn render(out: &mut String, report: &RunReport, df: &DataflowReport) {
    let status = match &df.status {
        JobStatus::Running => "still running at the end of the scenario".to_string(),
        JobStatus::Finished { at_us } => format!("FINISHED at {}", SimTime::from_micros(*at_us)),
        JobStatus::Failed { at_us, reason } => {
            format!("FAILED at {}: {reason}", SimTime::from_micros(*at_us))
        }
        JobStatus::Stopped { at_us, savepoint } => {
            format!(
                "STOPPED with savepoint {savepoint} at {}",
                SimTime::from_micros(*at_us)
            )
        }
    };
    let interval = df.interval_us.map_or("checkpointing off".to_string(), |i| {
        format!("interval {}", format_ms(i))
    });
    let _ = writeln!(
        out,
        "job: {} tasks ({}), {} channels ({} local) · checkpoints: {} · {interval}",
        df.tasks.len(),
        df.tasks.join(", "),
        df.channel_count,
        df.local_channel_count,
        df.protocol
    );
    let _ = writeln!(
        out,
        "run: {} virtual · {} events · {status}",
        SimTime::from_micros(report.end_time_us),
        report.events_processed
    );
    let _ = writeln!(out, "digest: {}", report.digest);
    let _ = writeln!(out);
    if !df.checkpoints.is_empty() {
        let _ = writeln!(out, "Checkpoint history");
        let _ = writeln!(
            out,
            "  {:>4}  {:<11} {:>10} {:>9} {:>11} {:>12} {:>11} {:>11} {:>9} {:>11} {:>8} {:>8}  unaligned",
            "ID",
            "status",
            "trigger",
            "e2e",
            "full size",
            "checkpointed",
            "persisted",
            "processed",
            "alignment",
            "start delay",
            "sync",
            "async",
        );
        let count = df.checkpoints.len();
        for (position, checkpoint) in df.checkpoints.iter().enumerate() {
            let shown = count <= 4 * HISTORY_ROWS_AT_EACH_END
                || position < HISTORY_ROWS_AT_EACH_END
                || position + HISTORY_ROWS_AT_EACH_END >= count;
            if shown {
                render_row(out, checkpoint);
            } else if position == HISTORY_ROWS_AT_EACH_END {
                let _ = writeln!(
                    out,
                    "  … {} more (all in report.json)",
                    count - 2 * HISTORY_ROWS_AT_EACH_END
                );
            }
        }
        let counts = &df.counts;
        let _ = writeln!(
            out,
            "  {} triggered · {} completed · {} failed · {} in progress",
            counts.triggered, counts.completed, counts.failed, counts.in_progress
        );
        let s = &df.summary;
        if s.checkpoints > 0 {
            let _ = writeln!(
                out,
                "  median of {} steady-state checkpoints: end-to-end {:.0}ms · alignment {:.1}ms · start delay {:.1}ms · persisted {:.0} KiB · full size {:.0} KiB · effective interval {:.0}ms",
                s.checkpoints,
                s.end_to_end_ms,
                s.alignment_ms,
                s.start_delay_ms,
                s.persisted_kib,
                s.state_kib,
                s.effective_interval_ms
            );
        }
        let _ = writeln!(out);
    }
    let m = &df.metrics;
    let _ = writeln!(
        out,
        "throughput: {} records emitted · {} at sinks · {:.0} records/s at sinks",
        m.records_emitted, m.records_at_sinks, m.sink_records_per_s
    );
    let _ = writeln!(
        out,
        "latency source→sink: p50 {} · p90 {} · p99 {} · max {}",
        format_ms(m.latency_p50_us),
        format_ms(m.latency_p90_us),
        format_ms(m.latency_p99_us),
        format_ms(m.latency_max_us)
    );
    let _ = writeln!(out, "time per task (busy / backpressured / idle):");
    for task in &m.tasks {
        let total = (task.busy_us + task.backpressured_us + task.idle_us).max(1) as f64;
        let _ = writeln!(
            out,
            "  {:<28} {:>5.1}% / {:>5.1}% / {:>5.1}%   {} records in",
            task.task,
            100.0 * task.busy_us as f64 / total,
            100.0 * task.backpressured_us as f64 / total,
            100.0 * task.idle_us as f64 / total,
            task.records_in
        );
    }
    let _ = writeln!(out);
    let failing: Vec<_> = df
        .checks
        .iter()
        .filter(|c| !c.prefix_consistency.passed)
        .collect();
    match (df.checks.first(), failing.first()) {
        (None, _) => {
            let _ = writeln!(
                out,
                "  prefix_consistency  no completed checkpoint to check"
            );
        }
        (Some(first), None) => {
            let _ = writeln!(
                out,
                "{} prefix_consistency  all {} completed checkpoints; e.g. checkpoint {}: {}",
                mark(true),
                df.checks.len(),
                first.checkpoint,
                first.prefix_consistency.detail
            );
        }
        (_, Some(_)) => {
            for check in failing.iter().take(5) {
                let _ = writeln!(
                    out,
                    "{} prefix_consistency  checkpoint {}: {}",
                    mark(false),
                    check.checkpoint,
                    check.prefix_consistency.detail
                );
            }
            if failing.len() > 5 {
                let _ = writeln!(out, "  … {} more failing checkpoints", failing.len() - 5);
            }
        }
    }
    render_recovery(out, df);
    let _ = writeln!(
        out,
        "{} protocol_rules      {}",
        mark(df.protocol_rules.passed),
        df.protocol_rules.detail
    );
}

fn render_row(out: &mut String, c: &CheckpointStats) {
    let status = match c.status {
        CheckpointStatus::Completed => {
            if c.is_savepoint {
                "SAVEPOINT"
            } else {
                "COMPLETED"
            }
        }
        CheckpointStatus::Failed => "FAILED",
        CheckpointStatus::InProgress => "IN_PROGRESS",
    };
    let _ = writeln!(
        out,
        "  {:>4}  {:<11} {:>10} {:>9} {:>11} {:>12} {:>11} {:>11} {:>9} {:>11} {:>8} {:>8}  {}{}",
        c.id,
        status,
        SimTime::from_micros(c.trigger_timestamp_us).to_string(),
        c.end_to_end_duration_us.map_or("-".into(), format_ms),
        format_bytes(c.state_size),
        format_bytes(c.checkpointed_size),
        format_bytes(c.persisted_data),
        format_bytes(c.processed_data),
        format_ms(c.alignment_duration_us),
        format_ms(c.start_delay_us),
        format_ms(c.sync_duration_us),
        format_ms(c.async_duration_us),
        if c.unaligned { "yes" } else { "no" },
        c.failure_reason
            .as_ref()
            .map_or(String::new(), |r| format!("  ({r})"))
    );
}

fn render_recovery(out: &mut String, df: &DataflowReport) {
    if !df.recoveries.is_empty() {
        let _ = writeln!(out, "\nFailures and recovery");
        for (index, r) in df.recoveries.iter().enumerate() {
            let at = |us: u64| SimTime::from_micros(us).to_string();
            let _ = writeln!(
                out,
                "  {}. {} at {}; noticed at {}",
                index + 1,
                r.failure,
                at(r.failed_at_us),
                at(r.detected_at_us)
            );
            match (r.restarted_at_us, r.running_again_at_us) {
                (Some(restart), Some(running)) => {
                    let _ = writeln!(
                        out,
                        "     restarted {} task(s) at {} from {}; running again at {} (downtime {}); {} source record(s) read again{}",
                        r.tasks_restarted,
                        at(restart),
                        r.checkpoint_restored.map_or(
                            "the beginning (no completed checkpoint)".to_string(),
                            |c| format!("checkpoint {c}")
                        ),
                        at(running),
                        format_ms(r.downtime_us.unwrap_or(0)),
                        r.records_reprocessed,
                        r.throughput_recovered_at_us
                            .map_or(String::new(), |t| format!("; throughput back by {}", at(t)))
                    );
                }
                (Some(restart), None) => {
                    let _ = writeln!(
                        out,
                        "     restart began at {} but had not finished when the run ended",
                        at(restart)
                    );
                }
                _ => {
                    let _ = writeln!(out, "     not restarted");
                }
            }
        }
    }
    if let Some(delivery) = &df.delivery {
        let _ = writeln!(
            out,
            "\nWhat readers saw (compared with the same run without faults)"
        );
        for sink in &delivery.sinks {
            let _ = writeln!(
                out,
                "  sink {} ({:?}, promise {:?}): read-committed {} · read-uncommitted {} · failure-free run {} · duplicates {} · lost {}{}",
                sink.sink,
                sink.delivery,
                sink.promise,
                sink.committed_records,
                sink.uncommitted_records,
                sink.golden_records,
                sink.duplicates,
                sink.lost,
                if sink.transactions_committed + sink.transactions_aborted > 0 {
                    format!(
                        " · transactions committed {} / aborted {}",
                        sink.transactions_committed, sink.transactions_aborted
                    )
                } else {
                    String::new()
                }
            );
            if let Some(why) = &sink.promise_limited_because {
                let _ = writeln!(out, "    (promise at-least-once: {why})");
            }
            if !sink.duplicates_per_key.is_empty() {
                let keys: Vec<String> = sink
                    .duplicates_per_key
                    .iter()
                    .map(|(k, n)| format!("key {k}: {n}"))
                    .collect();
                let _ = writeln!(out, "    duplicates per key: {}", keys.join(", "));
            }
        }
        for check in &delivery.checks {
            let _ = writeln!(
                out,
                "{} {:<19} {}",
                mark(check.passed),
                check.invariant.name(),
                check.detail
            );
        }
        if delivery.checks.is_empty() {
            let _ = writeln!(
                out,
                "  no delivery guarantee promised (checkpointing is off): {}",
                delivery.summary
            );
        }
    }
    let _ = writeln!(out);
}
