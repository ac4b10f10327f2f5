//! What each fact is in a finished run: read from the report, and — for where a subtask was when
//! a failure struck — from the run's event record.

use super::{Expectation, ExpectationResult, Fact, FactName, FactValue};
use crate::checkpoint::metrics::CheckpointStatus;
use crate::dataflow::{DataflowRun, JobStatus, RecoveryStats};
use crate::report::{CompletedRun, DataflowReport, ProcessGraphReport, RawRun};
use crate::scenario::DataflowModel;
use crate::workload::dataflow::{OperatorKind, SinkDelivery};
use crate::workload::sink::{AbortCause, ExternalSink, TransactionState};
use std::collections::BTreeMap;

/// Checks one expectation against a finished run.
pub fn evaluate(expectation: &Expectation, run: &CompletedRun) -> ExpectationResult {
    let value = fact_value(&expectation.fact, run);
    let (held, actual) = match value {
        Ok(value) => (
            expectation.comparison.holds(&value),
            format!("it is {value}"),
        ),
        Err(missing) => (false, missing),
    };
    ExpectationResult {
        expectation: expectation.to_string(),
        why: expectation.why.clone(),
        held,
        actual,
    }
}

/// The fact's value, or why the run does not have it.
fn fact_value(fact: &Fact, run: &CompletedRun) -> Result<FactValue, String> {
    let report = &run.report;
    match (&report.dataflow, &report.process_graph, &run.raw) {
        (Some(df), _, RawRun::Dataflow(raw, model)) => dataflow_fact(fact, df, raw, model),
        (_, Some(pg), RawRun::ProcessGraph(raw, graph)) => process_graph_fact(fact, pg, raw, graph),
        _ => Err("the run has no results of this kind".to_string()),
    }
}

fn number(n: impl Into<f64>) -> Result<FactValue, String> {
    Ok(FactValue::Number(n.into()))
}

fn text(t: impl Into<String>) -> Result<FactValue, String> {
    Ok(FactValue::Text(t.into()))
}

fn dataflow_fact(
    fact: &Fact,
    df: &DataflowReport,
    raw: &DataflowRun,
    model: &DataflowModel,
) -> Result<FactValue, String> {
    let checkpoint = |id: u64| {
        df.checkpoints.iter().find(|c| c.id == id).ok_or_else(|| {
            format!(
                "checkpoint {id} never started ({} did)",
                df.checkpoints.len()
            )
        })
    };
    let sinks = || {
        let delivery = df
            .delivery
            .as_ref()
            .ok_or_else(|| "this run has no delivery verdict to read the sinks from".to_string())?;
        Ok::<_, String>(
            delivery
                .sinks
                .iter()
                .filter(|s| fact.sink.as_ref().is_none_or(|name| &s.sink == name))
                .collect::<Vec<_>>(),
        )
    };
    let completed = || {
        df.checkpoints
            .iter()
            .filter(|c| c.status == CheckpointStatus::Completed)
    };
    let ms = |us: u64| us as f64 / 1000.0;
    match fact.name {
        FactName::CheckpointsTriggered => number(df.counts.triggered as f64),
        FactName::CheckpointsCompleted => number(df.counts.completed as f64),
        FactName::CheckpointsFailed => number(
            df.checkpoints
                .iter()
                .filter(|c| c.status == CheckpointStatus::Failed)
                .filter(|c| {
                    fact.reason
                        .as_ref()
                        .is_none_or(|r| c.failure_reason.as_ref() == Some(r))
                })
                .count() as f64,
        ),
        FactName::SavepointsCompleted => {
            number(completed().filter(|c| c.is_savepoint).count() as f64)
        }
        FactName::CheckpointStatus => {
            let c = checkpoint(fact.checkpoint.expect("validated"))?;
            text(match c.status {
                CheckpointStatus::Completed => "COMPLETED",
                CheckpointStatus::Failed => "FAILED",
                CheckpointStatus::InProgress => "IN_PROGRESS",
            })
        }
        FactName::CheckpointFailureReason => {
            let c = checkpoint(fact.checkpoint.expect("validated"))?;
            text(
                c.failure_reason
                    .clone()
                    .unwrap_or_else(|| "none".to_string()),
            )
        }
        FactName::CheckpointEndToEndMs => {
            let c = checkpoint(fact.checkpoint.expect("validated"))?;
            let e2e = c
                .end_to_end_duration_us
                .ok_or_else(|| format!("checkpoint {} never completed", c.id))?;
            number(ms(e2e))
        }
        FactName::CheckpointStartDelayMs => number(ms(checkpoint(
            fact.checkpoint.expect("validated"),
        )?
        .start_delay_us)),
        FactName::CheckpointAlignmentMs => number(ms(checkpoint(
            fact.checkpoint.expect("validated"),
        )?
        .alignment_duration_us)),
        FactName::CheckpointPersistedKib => {
            number(checkpoint(fact.checkpoint.expect("validated"))?.persisted_data as f64 / 1024.0)
        }
        FactName::CheckpointCheckpointedKib => number(
            checkpoint(fact.checkpoint.expect("validated"))?.checkpointed_size as f64 / 1024.0,
        ),
        FactName::CheckpointFullSizeKib => {
            number(checkpoint(fact.checkpoint.expect("validated"))?.state_size as f64 / 1024.0)
        }
        FactName::CheckpointsRetained => number(
            completed()
                .filter(|c| !c.is_savepoint && c.discarded_at_us.is_none())
                .count() as f64,
        ),
        FactName::CheckpointsDiscarded => number(
            df.checkpoints
                .iter()
                .filter(|c| c.discarded_at_us.is_some())
                .count() as f64,
        ),
        FactName::StorageInUseKib => number(
            df.checkpoints
                .iter()
                .rev()
                .find_map(|c| c.storage_in_use_bytes)
                .unwrap_or(0) as f64
                / 1024.0,
        ),
        FactName::StorageFreedKib => number(
            df.checkpoints
                .iter()
                .filter_map(|c| c.freed_bytes)
                .sum::<u64>() as f64
                / 1024.0,
        ),
        FactName::CompletionNoticesLost => number(df.completion_notices_lost as f64),
        FactName::JobStatus => text(match df.status {
            JobStatus::Running => "RUNNING",
            JobStatus::Finished { .. } => "FINISHED",
            JobStatus::Failed { .. } => "FAILED",
            JobStatus::Stopped { .. } => "STOPPED",
        }),
        FactName::Failures => number(df.recoveries.len() as f64),
        FactName::Restarts => number(
            df.recoveries
                .iter()
                .filter(|r| r.restarted_at_us.is_some())
                .count() as f64,
        ),
        FactName::CheckpointRestored => {
            let recovery = nth_failure(fact, df)?;
            number(recovery.checkpoint_restored.unwrap_or(0) as f64)
        }
        FactName::DowntimeMs => {
            let recovery = nth_failure(fact, df)?;
            let downtime = recovery
                .downtime_us
                .ok_or_else(|| "the job never ran again".to_string())?;
            number(ms(downtime))
        }
        FactName::TasksRestarted => {
            let recovery = nth_failure(fact, df)?;
            number(recovery.tasks_restarted as f64)
        }
        FactName::RecordsReadAgain => number(
            df.recoveries
                .iter()
                .map(|r| r.records_reprocessed)
                .sum::<u64>() as f64,
        ),
        FactName::PhaseAtFailure => phase_at_failure(fact, df, raw, model),
        FactName::OperatorsRestored
        | FactName::OperatorsStartedEmpty
        | FactName::KeyGroupsMoved => {
            let restore = df.restored_from.as_ref().ok_or_else(|| {
                "the job did not start from a savepoint (`start-from-savepoint`, or run it with --from-savepoint)".to_string()
            })?;
            let ops = &restore.operators;
            number(match fact.name {
                FactName::OperatorsRestored => ops.iter().filter(|o| o.matched).count() as f64,
                FactName::OperatorsStartedEmpty => ops.iter().filter(|o| !o.matched).count() as f64,
                _ => ops.iter().map(|o| f64::from(o.key_groups_moved)).sum(),
            })
        }
        FactName::PreviousJobCommitsAfterSavepoint | FactName::PreviousJobStopped => {
            let handover = df
                .restored_from
                .as_ref()
                .and_then(|r| r.handover.as_ref())
                .ok_or_else(|| {
                    "the job does not start from another scenario's savepoint (`start-from-savepoint`)"
                        .to_string()
                })?;
            if fact.name == FactName::PreviousJobStopped {
                text(if handover.previous_stopped {
                    "yes"
                } else {
                    "no"
                })
            } else {
                number(handover.previous_commits_after_savepoint as f64)
            }
        }
        FactName::RemoteChannels => number((df.channel_count - df.local_channel_count) as f64),
        FactName::LocalChannels => number(df.local_channel_count as f64),
        FactName::MedianEndToEndMs => number(df.summary.end_to_end_ms),
        FactName::MedianAlignmentMs => number(df.summary.alignment_ms),
        FactName::MedianStartDelayMs => number(df.summary.start_delay_ms),
        FactName::MedianPersistedKib => number(df.summary.persisted_kib),
        FactName::MedianEffectiveIntervalMs => number(df.summary.effective_interval_ms),
        FactName::MaxAlignmentMs => number(
            df.checkpoints
                .iter()
                .map(|c| ms(c.alignment_duration_us))
                .fold(0.0, f64::max),
        ),
        FactName::MaxStartDelayMs => number(
            df.checkpoints
                .iter()
                .map(|c| ms(c.start_delay_us))
                .fold(0.0, f64::max),
        ),
        FactName::MaxPersistedKib => number(
            df.checkpoints
                .iter()
                .map(|c| c.persisted_data as f64 / 1024.0)
                .fold(0.0, f64::max),
        ),
        FactName::MaxEndToEndMs => number(
            completed()
                .filter_map(|c| c.end_to_end_duration_us)
                .map(ms)
                .fold(0.0, f64::max),
        ),
        FactName::SinkRecordsPerS => number(df.metrics.sink_records_per_s),
        FactName::RecordsEmitted => number(df.metrics.records_emitted as f64),
        FactName::FinishedAtS => match df.status {
            JobStatus::Running => Err("the job was still running at the end".to_string()),
            JobStatus::Finished { at_us }
            | JobStatus::Failed { at_us, .. }
            | JobStatus::Stopped { at_us, .. } => number(at_us as f64 / 1e6),
        },
        FactName::AllDataProcessedS => {
            let at = df
                .metrics
                .all_data_processed_us
                .ok_or_else(|| "the job never processed all its input".to_string())?;
            number(at as f64 / 1e6)
        }
        FactName::LatencyMaxMs => number(ms(df.metrics.latency_max_us)),
        FactName::LatencyP50Ms => number(ms(df.metrics.latency_p50_us)),
        FactName::MaxBackpressuredPercent => number(
            df.metrics
                .tasks
                .iter()
                .map(|t| 100.0 * t.backpressured_fraction())
                .fold(0.0, f64::max),
        ),
        FactName::CommittedDuplicates => {
            number(sinks()?.iter().map(|s| s.duplicates).sum::<u64>() as f64)
        }
        FactName::UncommittedDuplicates => number(
            sinks()?
                .iter()
                .map(|s| s.uncommitted_duplicates)
                .sum::<u64>() as f64,
        ),
        FactName::LostRecords => number(sinks()?.iter().map(|s| s.lost).sum::<u64>() as f64),
        FactName::TransactionsCommitted => number(count_transactions(fact, raw, model, |t| {
            matches!(t, TransactionState::Committed { .. })
        })),
        FactName::TransactionsAborted => number(count_transactions(fact, raw, model, |t| {
            matches!(t, TransactionState::Aborted { .. })
        })),
        FactName::TransactionsTimedOut => number(count_transactions(fact, raw, model, |t| {
            matches!(
                t,
                TransactionState::Aborted {
                    reason: AbortCause::TransactionTimeout,
                    ..
                }
            )
        })),
        FactName::PartFilesFinished | FactName::PartFilesDiscarded => {
            let files = selected_sinks(fact, raw, model)
                .filter(|(_, sink)| sink.delivery == SinkDelivery::File)
                .map(|(_, sink)| sink.part_files(""));
            number(files.fold(0, |n, f| {
                n + if fact.name == FactName::PartFilesFinished {
                    f.finished
                } else {
                    f.discarded
                }
            }) as f64)
        }
        FactName::LargestCommitBatch => {
            let mut batches: BTreeMap<(usize, u32, u64), u64> = BTreeMap::new();
            for (index, sink) in selected_sinks(fact, raw, model) {
                for transaction in &sink.transactions {
                    if let TransactionState::Committed { at_us } = transaction.state {
                        *batches
                            .entry((index, transaction.subtask, at_us))
                            .or_default() += 1;
                    }
                }
            }
            number(batches.values().copied().max().unwrap_or(0) as f64)
        }
        FactName::SnapshotsCompleted
        | FactName::SnapshotsIncomplete
        | FactName::SnapshotsFailing
        | FactName::SnapshotsNeverOccurred
        | FactName::MessagesSent
        | FactName::MessagesLost
        | FactName::MarkersLost
        | FactName::InFlightTokensRecorded
        | FactName::RecordedTokens
        | FactName::RecordedChannelTokens => Err("a process-graph fact".to_string()),
    }
}

/// The failure the fact's `failure` selector names (counting from 1).
fn nth_failure<'a>(fact: &Fact, df: &'a DataflowReport) -> Result<&'a RecoveryStats, String> {
    df.recoveries
        .get(fact.failure as usize - 1)
        .ok_or_else(|| format!("there were {} failures", df.recoveries.len()))
}

/// The external systems of the sinks the fact is about (all, or the one its `sink` names), with
/// their index.
fn selected_sinks<'a>(
    fact: &'a Fact,
    raw: &'a DataflowRun,
    model: &'a DataflowModel,
) -> impl Iterator<Item = (usize, &'a ExternalSink)> + 'a {
    let names: Vec<&str> = model
        .job
        .operators
        .iter()
        .filter(|o| matches!(o.kind, OperatorKind::Sink(_)))
        .map(|o| o.name.as_str())
        .collect();
    raw.sinks.iter().enumerate().filter(move |(index, _)| {
        fact.sink
            .as_deref()
            .is_none_or(|name| names.get(*index) == Some(&name))
    })
}

fn count_transactions(
    fact: &Fact,
    raw: &DataflowRun,
    model: &DataflowModel,
    counts: impl Fn(&TransactionState) -> bool,
) -> f64 {
    selected_sinks(fact, raw, model)
        .flat_map(|(_, sink)| sink.transactions.iter())
        .filter(|t| counts(&t.state))
        .count() as f64
}

/// Where the subtask stood in the newest checkpoint pending at the failure's instant, read from
/// the event record: its barriers received, its snapshot taken, its acknowledgement received.
fn phase_at_failure(
    fact: &Fact,
    df: &DataflowReport,
    raw: &DataflowRun,
    model: &DataflowModel,
) -> Result<FactValue, String> {
    let recovery = nth_failure(fact, df)?;
    let at = recovery.failed_at_us;
    let (operator, index) = fact.task.as_ref().expect("validated");
    let operator_index = model.job.operators.iter().position(|o| &o.name == operator);
    let task = raw
        .graph
        .tasks
        .iter()
        .position(|t| operator_index.is_some_and(|o| t.chain.contains(&o)) && t.subtask == *index)
        .ok_or_else(|| format!("no subtask {operator}[{index}] runs"))?;
    text(crate::dataflow::phase::phase_at(raw, task, at).to_string())
}

fn process_graph_fact(
    fact: &Fact,
    pg: &ProcessGraphReport,
    raw: &crate::chandy_lamport::ProcessGraphRun,
    graph: &crate::topology::ProcessGraph,
) -> Result<FactValue, String> {
    match fact.name {
        FactName::SnapshotsCompleted => number(pg.snapshots.len() as f64),
        FactName::SnapshotsIncomplete => number(pg.incomplete_snapshots.len() as f64),
        FactName::SnapshotsFailing => {
            let invariant = fact.invariant.as_deref().expect("validated");
            number(
                pg.snapshots
                    .iter()
                    .filter(|s| {
                        s.invariants
                            .iter()
                            .any(|c| c.invariant.name() == invariant && !c.passed)
                    })
                    .count() as f64,
            )
        }
        FactName::SnapshotsNeverOccurred => {
            number(pg.snapshots.iter().filter(|s| !s.occurred.occurred).count() as f64)
        }
        FactName::MessagesSent => number(pg.application_messages as f64),
        FactName::MessagesLost => number(raw.trace.messages_lost() as f64),
        FactName::MarkersLost => number(raw.trace.markers_lost() as f64),
        FactName::InFlightTokensRecorded => number(
            pg.snapshots
                .iter()
                .map(|s| {
                    s.channels
                        .iter()
                        .flat_map(|c| c.messages.iter())
                        .map(|m| m.tokens)
                        .sum::<i64>()
                })
                .max()
                .unwrap_or(0) as f64,
        ),
        FactName::RecordedTokens | FactName::RecordedChannelTokens => {
            let id = fact.snapshot.expect("validated");
            let Some(snapshot) = pg.snapshots.iter().find(|s| s.id == id) else {
                return Err(format!("snapshot {id} did not complete"));
            };
            if let Some(process) = &fact.process {
                return match snapshot.processes.iter().find(|p| &p.process == process) {
                    Some(p) => number(p.tokens as f64),
                    None => Err(format!("there is no process {process}")),
                };
            }
            let channel = fact.channel.as_deref().expect("validated");
            if !(0..graph.channels.len()).any(|c| graph.channel_name(c) == channel) {
                return Err(format!("there is no channel {channel} (write it from->to)"));
            }
            number(
                snapshot
                    .channels
                    .iter()
                    .filter(|c| c.channel == channel)
                    .flat_map(|c| c.messages.iter())
                    .map(|m| m.tokens)
                    .sum::<i64>() as f64,
            )
        }
        _ => Err("a dataflow fact".to_string()),
    }
}
