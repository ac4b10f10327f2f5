//! One run, end to end, and what it reports.
//!
//! [`run_scenario`] simulates a scenario, hands the event record to the oracle, and assembles a
//! [`RunReport`]: the recorded snapshots with names instead of indices, every invariant's verdict,
//! the run digest, and the overall [`Outcome`]. The report is plain data: [`text`] renders it for
//! people, serde renders it as JSON, and the event log is written next to it.

mod dataflow;
mod dataflow_report;
mod json_layout;
mod outcome;
mod process_graph;
mod process_graph_report;
pub mod prometheus;
mod run_report;
pub mod text;
mod text_dataflow;
mod text_format;

pub use dataflow_report::{CheckpointCounts, CheckpointSummary, DataflowReport, summarize};
pub use json_layout::{report_json_string, write_report_json};
pub use outcome::{Outcome, OutcomeStatus};
pub use process_graph_report::{
    ChannelStateReport, IncompleteSnapshotReport, MessageReport, ProcessGraphReport,
    ProcessStateReport, SnapshotReport,
};
pub use run_report::{CompletedRun, CutShortReport, RawRun, RunReport};

use crate::expectation;
use crate::scenario::{Model, Scenario};

/// Simulates `scenario` with `seed`, checks every snapshot, and builds the report.
/// Then checks the scenario's expectations against what the run showed.
pub fn run_scenario(scenario: &Scenario, seed: u64) -> CompletedRun {
    run_scenario_with(scenario, seed, crate::dataflow::RunDetail::Full)
}

/// [`run_scenario`] for a caller that needs the verdicts and the report but not the event
/// record afterwards (`snapsim run` without `--events` or `--trace`, `snapsim check`): a process
/// graph's record streams through the oracle as it is written and is not kept
/// ([`ProcessTrace::events`](crate::trace::ProcessTrace::events) is empty), so memory follows
/// what is in flight rather than the length of the run. Same simulation, digest and report.
pub fn run_scenario_without_record(scenario: &Scenario, seed: u64) -> CompletedRun {
    finish_run(
        scenario,
        match &scenario.model {
            Model::ProcessGraph(model) => {
                process_graph::run_process_graph(scenario, model, seed, false)
            }
            Model::Dataflow(model) => {
                dataflow::run_dataflow(scenario, model, seed, crate::dataflow::RunDetail::Full)
            }
        },
    )
}

/// [`run_scenario`], keeping a dataflow run's record at `detail` (the web view needs
/// [`RunDetail::Traced`](crate::dataflow::RunDetail::Traced): task activity and channel levels;
/// the simulation and the verdicts are the same at every level).
pub fn run_scenario_with(
    scenario: &Scenario,
    seed: u64,
    detail: crate::dataflow::RunDetail,
) -> CompletedRun {
    let run = match &scenario.model {
        Model::ProcessGraph(model) => process_graph::run_process_graph(scenario, model, seed, true),
        Model::Dataflow(model) => dataflow::run_dataflow(scenario, model, seed, detail),
    };
    finish_run(scenario, run)
}

/// Checks the scenario's expectations against what the run showed.
fn finish_run(scenario: &Scenario, mut run: CompletedRun) -> CompletedRun {
    let results = scenario
        .expectations
        .iter()
        .map(|e| expectation::evaluate(e, &run))
        .collect();
    run.report.outcome = run.report.outcome.clone().with_expectations(results);
    run
}
