//! Everything one run reports, the raw run behind it, and writing both out: `report.json`, the
//! event log `events.jsonl`, and savepoint files.

use super::dataflow_report::DataflowReport;
use super::outcome::Outcome;
use super::process_graph_report::ProcessGraphReport;
use crate::chandy_lamport::ProcessGraphRun;
use crate::output::write_atomically;
use crate::topology::ProcessGraph;
use serde::Serialize;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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
    /// What in the scenario may not mean what it reads (see `snapsim validate`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Process-graph results (Chandy-Lamport scenarios).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_graph: Option<ProcessGraphReport>,
    /// Dataflow results (Flink scenarios).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataflow: Option<DataflowReport>,
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

    /// Writes `report.json` (and, with `events`, the full event log `events.jsonl`) under
    /// `<out_dir>/<scenario>/`, atomically. Without `events` an `events.jsonl` an earlier run left
    /// there is removed, so the directory never pairs this report with another run's events.
    /// Returns the directory.
    pub fn write_outputs(&self, out_dir: &Path, events: bool) -> io::Result<PathBuf> {
        let directory = out_dir.join(&self.report.scenario);
        let events_path = directory.join("events.jsonl");
        if !events {
            match std::fs::remove_file(&events_path) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        write_atomically(&directory.join("report.json"), |w| {
            serde_json::to_writer_pretty(&mut *w, &self.report)?;
            w.write_all(b"\n")
        })?;
        if events {
            write_atomically(&events_path, |w| self.write_event_log(w))?;
        }
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
                &model.job,
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
