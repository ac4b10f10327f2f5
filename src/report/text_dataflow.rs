//! The text summary of a dataflow run: a checkpoint history table like the "Checkpoints" tab of
//! Flink's web UI, the job's throughput and latency, where each task spent its time, and the
//! oracle's verdicts.

use super::dataflow_report::DataflowReport;
use super::run_report::RunReport;
use super::text_format::{format_bytes, format_ms, format_seconds, mark, wrap};
use crate::checkpoint::metrics::{CheckpointStats, CheckpointStatus, SubtaskProgress};
use crate::dataflow::JobStatus;
use crate::engine::SimTime;
use crate::workload::dataflow::SinkDelivery;
use crate::workload::sink::AbortCause;
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
    let job = format!(
        "job: {} tasks ({}), {} channels ({} local, {} remote) · checkpoints: {} · {interval}",
        df.tasks.len(),
        df.tasks.join(", "),
        df.channel_count,
        df.local_channel_count,
        df.channel_count - df.local_channel_count,
        df.protocol
    );
    for (index, line) in wrap(&job, 98).iter().enumerate() {
        let _ = writeln!(out, "{}{line}", if index == 0 { "" } else { "  " });
    }
    let _ = writeln!(
        out,
        "run: {} virtual · {} events · {status}",
        SimTime::from_micros(report.end_time_us),
        report.events_processed
    );
    let _ = writeln!(out, "digest: {}", report.digest);
    if let Some(restore) = &df.restored_from {
        let _ = writeln!(
            out,
            "restored from {} (savepoint {}; checkpoint ids continue at {}):",
            restore.source,
            restore.savepoint_id,
            restore.savepoint_id + 1
        );
        for op in &restore.operators {
            let what = match op.saved_parallelism {
                None => "no state in the savepoint for its uid: starts empty".to_string(),
                Some(saved) if op.keys > 0 => format!(
                    "matched by uid, {} keys, parallelism {saved} → {}, {} of the key groups moved to another subtask",
                    op.keys, op.parallelism, op.key_groups_moved
                ),
                Some(saved) => format!("matched by uid, parallelism {saved} → {}", op.parallelism),
            };
            let line = format!("{} (uid \"{}\"): {what}", op.operator, op.uid);
            for (index, text) in wrap(&line, 94).iter().enumerate() {
                let _ = writeln!(out, "{}{text}", if index == 0 { "  " } else { "      " });
            }
        }
        for uid in &restore.dropped_uids {
            let _ = writeln!(
                out,
                "  uid \"{uid}\": in the savepoint, not in the job: its state is dropped (--allow-non-restored-state)"
            );
        }
        if let Some(handover) = &restore.handover {
            let line = if handover.previous_stopped {
                format!(
                    "handover: {} stopped with this savepoint, so nothing it committed is produced again here — a clean switch (the cost: the time between its stop and this job's start)",
                    handover.previous_scenario
                )
            } else {
                format!(
                    "handover: {} kept running after the savepoint (until {}) and committed {} records past it; this job produces them again, so it must write somewhere else (a new topic or directory) until readers switch, or a reader of one sink sees them twice",
                    handover.previous_scenario,
                    format_seconds(handover.previous_ended_at_us),
                    handover.previous_commits_after_savepoint
                )
            };
            for (index, text) in wrap(&line, 94).iter().enumerate() {
                let _ = writeln!(out, "{}{text}", if index == 0 { "  " } else { "      " });
            }
        }
    }
    let _ = writeln!(out);
    if !df.checkpoints.is_empty() {
        let _ = writeln!(out, "Checkpoint history");
        let _ = writeln!(
            out,
            "  {:>4}  {:<10} {:<11} {:>5} {:>9} {:>9} {:>11} {:>12} {:>11} {:>11} {:>9} {:>11} {:>8} {:>8}  unaligned",
            "ID",
            "type",
            "status",
            "acked",
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
        let retained: Vec<String> = df
            .checkpoints
            .iter()
            .filter(|c| {
                c.status == CheckpointStatus::Completed
                    && !c.is_savepoint
                    && c.discarded_at_us.is_none()
            })
            .map(|c| c.id.to_string())
            .collect();
        let retained = match retained.len() {
            0 => "none".to_string(),
            1 => format!("checkpoint {}", retained[0]),
            _ => format!("checkpoints {}", retained.join(", ")),
        };
        let discarded = df
            .checkpoints
            .iter()
            .filter(|c| c.discarded_at_us.is_some());
        let freed: u64 = discarded.clone().filter_map(|c| c.freed_bytes).sum();
        let in_use = df
            .checkpoints
            .iter()
            .rev()
            .find_map(|c| c.storage_in_use_bytes);
        if let Some(in_use) = in_use {
            let _ = writeln!(
                out,
                "  retained: {} · discarded: {} (deleting {}) · checkpoint storage in use: {}",
                retained,
                discarded.count(),
                format_bytes(freed),
                format_bytes(in_use)
            );
        }
        let s = &df.summary;
        if s.checkpoints > 0 {
            let _ = writeln!(
                out,
                "  median of {} steady-state checkpoints: end-to-end {:.0}ms · alignment {:.1}ms · start delay {:.1}ms",
                s.checkpoints, s.end_to_end_ms, s.alignment_ms, s.start_delay_ms,
            );
            let _ = writeln!(
                out,
                "    persisted {:.0} KiB · full size {:.0} KiB · effective interval {:.0}ms",
                s.persisted_kib, s.state_kib, s.effective_interval_ms
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
    render_part_files(out, df);
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
        CheckpointStatus::Completed => "COMPLETED",
        CheckpointStatus::Failed => "FAILED",
        CheckpointStatus::InProgress => "IN_PROGRESS",
    };
    let kind = if c.is_savepoint {
        "savepoint"
    } else {
        "checkpoint"
    };
    let _ = writeln!(
        out,
        "  {:>4}  {:<10} {:<11} {:>5} {:>9} {:>9} {:>11} {:>12} {:>11} {:>11} {:>9} {:>11} {:>8} {:>8}  {}{}",
        c.id,
        kind,
        status,
        format!("{}/{}", c.num_acknowledged_subtasks, c.num_subtasks),
        format_seconds(c.trigger_timestamp_us),
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
    if c.status != CheckpointStatus::Completed {
        // The row aggregates only the subtasks that acknowledged; say where the others stood.
        let waiting: Vec<String> = c
            .subtasks
            .iter()
            .filter(|s| {
                s.progress
                    .is_some_and(|p| p != SubtaskProgress::Acknowledged)
            })
            .map(|s| {
                let at = match s.progress {
                    Some(SubtaskProgress::SnapshotTaken) => "snapshot taken".to_string(),
                    Some(SubtaskProgress::Aligning) => {
                        format!(
                            "aligning (first barrier after {})",
                            format_ms(s.start_delay_us)
                        )
                    }
                    Some(SubtaskProgress::NoBarrierYet) => "no barrier yet".to_string(),
                    Some(SubtaskProgress::Finished) => "finished".to_string(),
                    _ => "not running".to_string(),
                };
                format!("{} {at}", s.task)
            })
            .collect();
        if !waiting.is_empty() {
            let line = format!("not acknowledged: {}", waiting.join(" · "));
            for text in wrap(&line, 92) {
                let _ = writeln!(out, "        {text}");
            }
        }
    }
}

/// A value as the JSON report and the scenario files spell it (`two_phase_commit`).
fn json_name(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// A file sink's part files: how many ended in each state, and a few lives.
fn render_part_files(out: &mut String, df: &DataflowReport) {
    for files in &df.part_files {
        let _ = writeln!(
            out,
            "\nPart files of sink \"{}\" (rolled at every checkpoint; readers see finished files only)",
            files.sink
        );
        let _ = writeln!(
            out,
            "  {} finished · {} discarded · {} pending and {} in progress at the end",
            files.finished, files.discarded, files.pending_at_end, files.in_progress_at_end
        );
        for file in &files.examples {
            let mut life = format!("in-progress {}", format_seconds(file.in_progress_at_us));
            if let (Some(at), Some(checkpoint)) = (file.pending_at_us, file.checkpoint) {
                life += &format!(
                    " → pending {} (checkpoint {checkpoint})",
                    format_seconds(at)
                );
            }
            if let Some(at) = file.finished_at_us {
                life += &format!(" → finished {}", format_seconds(at));
            }
            match (file.discarded_at_us, file.discarded_because) {
                (Some(at), Some(AbortCause::NotInRestoredCheckpoint)) => {
                    life += &format!(
                        " → discarded {} (begun after the restored checkpoint: its records are replayed into a new part file)",
                        format_seconds(at)
                    )
                }
                (Some(at), Some(cause)) => {
                    life += &format!(" → discarded {} ({cause})", format_seconds(at))
                }
                (None, Some(_)) => life += " → still unfinished when the run ended",
                _ => {}
            }
            let line = format!("{} ({} records): {life}", file.name, file.records);
            for (index, text) in wrap(&line, 96).iter().enumerate() {
                let _ = writeln!(out, "{}{text}", if index == 0 { "  " } else { "      " });
            }
        }
    }
}

fn render_recovery(out: &mut String, df: &DataflowReport) {
    if !df.recoveries.is_empty() {
        let _ = writeln!(out, "\nFailures and recovery");
        for (index, r) in df.recoveries.iter().enumerate() {
            let at = format_seconds;
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
                    // Why not: the restart strategy gave up (the job failed, and says why), the
                    // scenario's duration ended first, or the next failure came first.
                    let last = index + 1 == df.recoveries.len();
                    let why = match &df.status {
                        JobStatus::Failed { reason, .. } if last => {
                            format!("the job failed: {reason}")
                        }
                        _ if last => "the run ended before the restart".to_string(),
                        _ => "the next failure came before the restart".to_string(),
                    };
                    let _ = writeln!(out, "     not restarted: {why}");
                }
            }
        }
    }
    if let Some(delivery) = &df.delivery {
        let _ = writeln!(
            out,
            "\nWhat readers saw (compared with what the job should produce)"
        );
        for sink in &delivery.sinks {
            // An idempotent sink's replayed upserts overwrite a key with the value it already
            // had: a reader of its table never sees them twice.
            let extra = if sink.delivery == SinkDelivery::Idempotent {
                format!(
                    "overwrites {} (replayed upserts, not visible twice)",
                    sink.duplicates
                )
            } else {
                format!("duplicates {}", sink.duplicates)
            };
            let line = format!(
                "sink {} ({}, promise {}): read-committed {} · read-uncommitted {} · the job produces {} · {extra} · {}{}",
                sink.sink,
                json_name(&sink.delivery),
                json_name(&sink.promise),
                sink.committed_records,
                sink.uncommitted_records,
                sink.expected_records,
                if matches!(df.status, JobStatus::Finished { .. }) {
                    format!("lost {}", sink.lost)
                } else {
                    // The job stopped before its sources ran out: records on their way are not lost.
                    format!(
                        "not delivered {} (the job did not finish: not counted as lost)",
                        sink.lost
                    )
                },
                if sink.delivery == SinkDelivery::File {
                    format!(
                        " · part files finished {} / discarded {}",
                        sink.transactions_committed, sink.transactions_aborted
                    )
                } else if sink.transactions_committed + sink.transactions_aborted > 0 {
                    format!(
                        " · transactions committed {} / aborted {}{}",
                        sink.transactions_committed,
                        sink.transactions_aborted,
                        match sink.transactions_timed_out {
                            0 => String::new(),
                            n => format!(" ({n} by the transaction timeout)"),
                        }
                    )
                } else {
                    String::new()
                }
            );
            for (index, text) in wrap(&line, 96).iter().enumerate() {
                let _ = writeln!(out, "{}{text}", if index == 0 { "  " } else { "    " });
            }
            if let Some(why) = &sink.promise_limited_because {
                let _ = writeln!(out, "    (promise at-least-once: {why})");
            }
            if !sink.duplicates_per_key.is_empty() {
                let keys: Vec<String> = sink
                    .duplicates_per_key
                    .iter()
                    .map(|(k, n)| format!("key {k}: {n}"))
                    .collect();
                let label = if sink.delivery == SinkDelivery::Idempotent {
                    "overwrites"
                } else {
                    "duplicates"
                };
                let _ = writeln!(out, "    {label} per key: {}", keys.join(", "));
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
