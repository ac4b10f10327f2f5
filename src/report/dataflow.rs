//! The report of a dataflow run: simulate, run the oracle (checkpoints, protocol rules, and what
//! the sinks delivered against what the job should produce), and assemble the report.

use super::dataflow_report::{CheckpointCounts, DataflowReport, InitialStateSummary, summarize};
use super::outcome::{Outcome, expected_failures};
use super::run_report::{CompletedRun, CutShortReport, RawRun, RunReport};
use crate::checkpoint::metrics::CheckpointStatus;
use crate::dataflow;
use crate::dataflow::DataflowRun;
use crate::oracle::dataflow::{self as df_oracle};
use crate::oracle::delivery;
use crate::scenario::{DataflowModel, Scenario};
use crate::workload::dataflow::{OperatorKind, SinkDelivery};
use crate::workload::sink::PartFiles;

/// Runs a dataflow scenario, checks it, and builds the report.
pub fn run_dataflow(
    scenario: &Scenario,
    model: &DataflowModel,
    seed: u64,
    detail: dataflow::RunDetail,
) -> CompletedRun {
    // Every checkpoint is checked as it completes and its contents dropped once no restart needs
    // them: memory follows the job's state, not the number of checkpoints.
    let mut checker = df_oracle::CheckpointChecker::new(model, seed);
    let run = dataflow::run_observed(model, seed, detail, &mut checker);
    let verdict = checker.verdict(model, &run);
    // Delivery guarantees are judged against what the job should produce, with or without faults.
    let delivery = Some(delivery::check(model, seed, &run));
    let mut failed = verdict.failed_invariants();
    if let Some(delivery) = &delivery {
        failed.extend(delivery.failed_invariants());
    }
    let counts = CheckpointCounts {
        triggered: run.checkpoints.len(),
        completed: run
            .checkpoints
            .iter()
            .filter(|c| c.status == CheckpointStatus::Completed)
            .count(),
        failed: run
            .checkpoints
            .iter()
            .filter(|c| c.status == CheckpointStatus::Failed)
            .count(),
        in_progress: run
            .checkpoints
            .iter()
            .filter(|c| c.status == CheckpointStatus::InProgress)
            .count(),
    };
    let report = RunReport {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed,
        digest: run.trace.digest().hex(),
        end_time_us: run.end_time.as_micros(),
        events_processed: run.events_processed,
        recorded_events: run.trace.events().len(),
        outcome: Outcome::judge(failed, expected_failures(scenario))
            .cut_short(run.cut_short.is_some()),
        cut_short: run
            .cut_short
            .map(|cut| CutShortReport::new(cut, model.max_events)),
        warnings: scenario.warnings.clone(),
        process_graph: None,
        dataflow: Some(DataflowReport {
            protocol: model
                .checkpointing
                .as_ref()
                .map_or("none".to_string(), |c| c.protocol.name().to_string()),
            interval_us: model.checkpointing.as_ref().map(|c| c.interval_us),
            tasks: run.graph.tasks.iter().map(|t| t.name.clone()).collect(),
            channel_count: run.graph.channels.len(),
            local_channel_count: run.graph.channels.iter().filter(|c| c.local).count(),
            status: run.status.clone(),
            counts,
            summary: summarize(&run.checkpoints),
            checkpoints: run.checkpoints.clone(),
            metrics: run.metrics.clone(),
            checks: verdict.checkpoints,
            protocol_rules: verdict.protocol_rules,
            recoveries: run.recoveries.clone(),
            completion_notices_lost: run.completion_notices_lost,
            restored_from: model.initial_state.as_ref().map(|i| InitialStateSummary {
                source: i.source.clone(),
                savepoint_id: i.savepoint_id,
                operators: i.operators.clone(),
                dropped_uids: i.dropped_uids.clone(),
                handover: i.handover.clone(),
            }),
            delivery,
            part_files: part_files(model, &run),
        }),
    };
    CompletedRun {
        report,
        raw: RawRun::Dataflow(Box::new(run), Box::new(model.clone())),
    }
}

/// The part files of every file sink, named by its operator.
fn part_files(model: &DataflowModel, run: &DataflowRun) -> Vec<PartFiles> {
    model
        .job
        .operators
        .iter()
        .filter(|o| matches!(o.kind, OperatorKind::Sink(_)))
        .zip(&run.sinks)
        .filter(|(_, sink)| sink.delivery == SinkDelivery::File)
        .map(|(operator, sink)| sink.part_files(&operator.name))
        .collect()
}
