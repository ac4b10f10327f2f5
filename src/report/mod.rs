//! One run, end to end, and what it reports.
//!
//! [`run_scenario`] simulates a scenario, hands the event record to the oracle, and assembles a
//! [`RunReport`]: the recorded snapshots with names instead of indices, every invariant's verdict,
//! the run digest, and the overall [`Outcome`]. The report is plain data: [`text`] renders it for
//! people, serde renders it as JSON, and the event log is written next to it.

pub mod dataflow;
pub mod text;
mod text_dataflow;

use crate::chandy_lamport::{self, ProcessGraphRun};
use crate::oracle::process_graph::{self as pg_oracle, Occurrence};
use crate::oracle::{Check, Invariant};
use crate::output::write_atomically;
use crate::scenario::{Model, Scenario};
use crate::topology::ProcessGraph;
use serde::Serialize;
use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The verdict on a whole run, against what the scenario says should happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Every invariant held, as expected.
    Passed,
    /// Exactly the invariants the scenario declared as expected failures failed.
    FailedAsExpected,
    /// An invariant failed that the scenario did not expect.
    Failed,
    /// The scenario expected an invariant to fail, and it held: the teaching point was not shown.
    ExpectedFailureMissing,
}

/// Overall result of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The verdict.
    pub status: OutcomeStatus,
    /// Invariants that failed at least once.
    pub failed_invariants: Vec<Invariant>,
    /// Invariants the scenario declared as expected to fail.
    pub expected_failures: Vec<Invariant>,
}

impl Outcome {
    /// Compares what failed with what the scenario expected.
    pub fn judge(failed: BTreeSet<Invariant>, expected: BTreeSet<Invariant>) -> Outcome {
        let status = if !failed.is_subset(&expected) {
            OutcomeStatus::Failed
        } else if failed != expected {
            OutcomeStatus::ExpectedFailureMissing
        } else if failed.is_empty() {
            OutcomeStatus::Passed
        } else {
            OutcomeStatus::FailedAsExpected
        };
        Outcome {
            status,
            failed_invariants: failed.into_iter().collect(),
            expected_failures: expected.into_iter().collect(),
        }
    }

    /// True when the run did what the scenario says it should (exit status 0).
    pub fn is_success(&self) -> bool {
        matches!(
            self.status,
            OutcomeStatus::Passed | OutcomeStatus::FailedAsExpected
        )
    }
}

/// A recorded message, named.
#[derive(Clone, Debug, Serialize)]
pub struct MessageReport {
    /// Global message id.
    pub message: u64,
    /// Tokens it carried.
    pub tokens: i64,
}

/// One channel's recorded state.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelStateReport {
    /// `from->to`.
    pub channel: String,
    /// Recorded messages, in order.
    pub messages: Vec<MessageReport>,
}

/// One process's recorded state.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessStateReport {
    /// Process name.
    pub process: String,
    /// Recorded tokens.
    pub tokens: i64,
}

/// A completed snapshot with the oracle's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct SnapshotReport {
    /// Snapshot id.
    pub id: u32,
    /// Who started it.
    pub initiator: String,
    /// When it started (µs).
    pub started_at_us: u64,
    /// When it completed (µs).
    pub completed_at_us: u64,
    /// Every process's recorded state.
    pub processes: Vec<ProcessStateReport>,
    /// Every non-empty channel's recorded state.
    pub channels: Vec<ChannelStateReport>,
    /// Invariants 1–4.
    pub invariants: Vec<Check>,
    /// Whether the recorded state ever actually occurred.
    pub occurred: Occurrence,
}

/// A snapshot that never completed.
#[derive(Clone, Debug, Serialize)]
pub struct IncompleteSnapshotReport {
    /// Snapshot id.
    pub id: u32,
    /// Who started it.
    pub initiator: String,
    /// When it started (µs).
    pub started_at_us: u64,
    /// Processes that never recorded.
    pub processes_not_recorded: Vec<String>,
    /// Channels never closed by a marker.
    pub channels_not_closed: Vec<String>,
}

/// What a process-graph run produced.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessGraphReport {
    /// The protocol that ran (`correct`, or a broken variant).
    pub protocol_variant: chandy_lamport::ChandyLamportVariant,
    /// Process count.
    pub process_count: usize,
    /// Channel count.
    pub channel_count: usize,
    /// Application messages sent.
    pub application_messages: u64,
    /// Tokens in the system at the start.
    pub total_tokens: i64,
    /// Completed snapshots with their verdicts.
    pub snapshots: Vec<SnapshotReport>,
    /// Snapshots that never completed.
    pub incomplete_snapshots: Vec<IncompleteSnapshotReport>,
    /// Did every started snapshot complete?
    pub completion: Check,
    /// Tokens per process at the end of the run.
    pub final_tokens: Vec<ProcessStateReport>,
}

/// Everything one run reports.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Scenario name.
    pub scenario: String,
    /// What it teaches.
    pub description: String,
    /// The seed used.
    pub seed: u64,
    /// FNV-1a digest of the full event sequence: equal digests mean identical runs.
    pub digest: String,
    /// Virtual time of the last event (µs).
    pub end_time_us: u64,
    /// Engine events processed.
    pub events_processed: u64,
    /// Entries in the event record.
    pub recorded_events: usize,
    /// The overall verdict.
    pub outcome: Outcome,
    /// Process-graph results (Chandy-Lamport scenarios).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_graph: Option<ProcessGraphReport>,
    /// Dataflow results (Flink scenarios).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataflow: Option<dataflow::DataflowReport>,
}

/// The raw result of a run, for the event log and for tests that look deeper than the report.
pub enum RawRun {
    /// A process-graph run and its graph.
    ProcessGraph(Box<ProcessGraphRun>, ProcessGraph),
    /// A dataflow run, and the model it ran (for savepoint files).
    Dataflow(
        Box<crate::dataflow::DataflowRun>,
        Box<crate::scenario::DataflowModel>,
    ),
}

/// A finished run: the report plus the raw material for the event log.
pub struct CompletedRun {
    /// The report.
    pub report: RunReport,
    /// The raw simulation result.
    pub raw: RawRun,
}

impl CompletedRun {
    /// The process-graph run (panics for dataflow runs: for tests).
    pub fn process_graph_run(&self) -> &ProcessGraphRun {
        match &self.raw {
            RawRun::ProcessGraph(run, _) => run,
            RawRun::Dataflow(..) => panic!("not a process-graph run"),
        }
    }

    /// The dataflow run (panics for process-graph runs: for tests).
    pub fn dataflow_run(&self) -> &crate::dataflow::DataflowRun {
        match &self.raw {
            RawRun::Dataflow(run, _) => run,
            RawRun::ProcessGraph(..) => panic!("not a dataflow run"),
        }
    }
}

fn expected_failures(scenario: &Scenario) -> BTreeSet<Invariant> {
    scenario
        .expected_failures
        .iter()
        .filter_map(|n| Invariant::from_name(n))
        .collect()
}

/// Simulates `scenario` with `seed`, checks every snapshot, and builds the report.
pub fn run_scenario(scenario: &Scenario, seed: u64) -> CompletedRun {
    match &scenario.model {
        Model::ProcessGraph(model) => run_process_graph(scenario, model, seed),
        Model::Dataflow(model) => dataflow::run_dataflow(scenario, model, seed),
    }
}

fn run_process_graph(
    scenario: &Scenario,
    model: &crate::scenario::ProcessGraphModel,
    seed: u64,
) -> CompletedRun {
    let run = chandy_lamport::run(model, seed, model.variant);
    let verdict = pg_oracle::check(
        &model.graph,
        run.trace.events(),
        &run.snapshots,
        &run.incomplete,
    );
    let graph = &model.graph;
    let name = |p: usize| graph.processes[p].name.clone();
    let snapshots = run
        .snapshots
        .iter()
        .zip(verdict.snapshots.iter())
        .map(|(snapshot, check)| SnapshotReport {
            id: snapshot.id,
            initiator: name(snapshot.initiator),
            started_at_us: snapshot.started_at.as_micros(),
            completed_at_us: snapshot.completed_at.as_micros(),
            processes: snapshot
                .process_tokens
                .iter()
                .enumerate()
                .map(|(p, &tokens)| ProcessStateReport {
                    process: name(p),
                    tokens,
                })
                .collect(),
            channels: snapshot
                .channel_messages
                .iter()
                .map(|(c, messages)| ChannelStateReport {
                    channel: graph.channel_name(*c),
                    messages: messages
                        .iter()
                        .map(|m| MessageReport {
                            message: m.message,
                            tokens: m.tokens,
                        })
                        .collect(),
                })
                .collect(),
            invariants: check.checks.clone(),
            occurred: check.occurred.clone(),
        })
        .collect();
    let incomplete_snapshots = run
        .incomplete
        .iter()
        .map(|i| IncompleteSnapshotReport {
            id: i.id,
            initiator: name(i.initiator),
            started_at_us: i.started_at.as_micros(),
            processes_not_recorded: i.processes_not_recorded.iter().map(|&p| name(p)).collect(),
            channels_not_closed: i
                .channels_not_closed
                .iter()
                .map(|&c| graph.channel_name(c))
                .collect(),
        })
        .collect();
    let expected: BTreeSet<Invariant> = scenario
        .expected_failures
        .iter()
        .filter_map(|n| Invariant::from_name(n))
        .collect();
    let report = RunReport {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed,
        digest: run.trace.digest().hex(),
        end_time_us: run.end_time.as_micros(),
        events_processed: run.events_processed,
        recorded_events: run.trace.events().len(),
        outcome: Outcome::judge(verdict.failed_invariants(), expected),
        dataflow: None,
        process_graph: Some(ProcessGraphReport {
            protocol_variant: model.variant,
            process_count: graph.processes.len(),
            channel_count: graph.channels.len(),
            application_messages: run.application_messages,
            total_tokens: graph.total_initial_tokens(),
            snapshots,
            incomplete_snapshots,
            completion: verdict.completion.clone(),
            final_tokens: run
                .final_tokens
                .iter()
                .enumerate()
                .map(|(p, &tokens)| ProcessStateReport {
                    process: name(p),
                    tokens,
                })
                .collect(),
        }),
    };
    CompletedRun {
        report,
        raw: RawRun::ProcessGraph(Box::new(run), graph.clone()),
    }
}

impl CompletedRun {
    /// Writes the event log, one JSON object per line.
    pub fn write_event_log(&self, writer: &mut dyn Write) -> io::Result<()> {
        match &self.raw {
            RawRun::ProcessGraph(run, graph) => {
                for event in run.trace.events() {
                    serde_json::to_writer(&mut *writer, &event.to_json(graph))?;
                    writer.write_all(b"\n")?;
                }
            }
            RawRun::Dataflow(run, _) => {
                let task_name = |t: u32| run.graph.tasks[t as usize].name.clone();
                let channel_name = |c: u32| {
                    let channel = &run.graph.channels[c as usize];
                    format!(
                        "{}->{}",
                        run.graph.tasks[channel.from].name, run.graph.tasks[channel.to].name
                    )
                };
                for event in run.trace.events() {
                    serde_json::to_writer(&mut *writer, &event.to_json(&task_name, &channel_name))?;
                    writer.write_all(b"\n")?;
                }
            }
        }
        Ok(())
    }

    /// Writes `report.json` and `events.jsonl` under `<out_dir>/<scenario>/`, atomically.
    /// Returns the directory.
    pub fn write_outputs(&self, out_dir: &Path) -> io::Result<PathBuf> {
        let directory = out_dir.join(&self.report.scenario);
        write_atomically(&directory.join("report.json"), |w| {
            serde_json::to_writer_pretty(&mut *w, &self.report)?;
            w.write_all(b"\n")
        })?;
        write_atomically(&directory.join("events.jsonl"), |w| self.write_event_log(w))?;
        for path in self.write_savepoints(&directory)? {
            let _ = path;
        }
        Ok(directory)
    }

    /// Writes every completed savepoint of a dataflow run as `savepoint-<id>.json`; returns the paths.
    pub fn write_savepoints(&self, directory: &Path) -> io::Result<Vec<PathBuf>> {
        let RawRun::Dataflow(run, model) = &self.raw else {
            return Ok(Vec::new());
        };
        let mut paths = Vec::new();
        for completed in run.completed.iter().filter(|c| c.is_savepoint) {
            let savepoint = crate::checkpoint::savepoint::from_checkpoint(
                &self.report.scenario,
                model,
                &run.graph,
                completed,
            );
            let path = directory.join(format!("savepoint-{}.json", completed.id));
            write_atomically(&path, |w| {
                serde_json::to_writer_pretty(&mut *w, &savepoint)?;
                w.write_all(b"\n")
            })?;
            paths.push(path);
        }
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[Invariant]) -> BTreeSet<Invariant> {
        items.iter().copied().collect()
    }

    #[test]
    fn the_outcome_compares_failures_with_expectations() {
        use Invariant::*;
        assert_eq!(
            Outcome::judge(set(&[]), set(&[])).status,
            OutcomeStatus::Passed
        );
        assert_eq!(
            Outcome::judge(set(&[Conservation]), set(&[])).status,
            OutcomeStatus::Failed
        );
        assert_eq!(
            Outcome::judge(set(&[Conservation]), set(&[Conservation])).status,
            OutcomeStatus::FailedAsExpected
        );
        assert_eq!(
            Outcome::judge(set(&[]), set(&[Conservation])).status,
            OutcomeStatus::ExpectedFailureMissing
        );
        assert_eq!(
            Outcome::judge(set(&[Conservation, ChannelState]), set(&[Conservation])).status,
            OutcomeStatus::Failed
        );
    }
}
