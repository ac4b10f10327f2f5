//! Everything one run reports, the raw run behind it, and writing both out: `report.json`, the
//! event log `events.jsonl`, and savepoint files, as one set that carries the run's digest.

use super::dataflow_report::DataflowReport;
use super::outcome::Outcome;
use super::process_graph_report::ProcessGraphReport;
use crate::chandy_lamport::ProcessGraphRun;
use crate::output::FileSet;
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
    /// Present when the event budget stopped the run before its end: everything in this report
    /// is up to that point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut_short: Option<CutShortReport>,
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

/// Where and why a run was cut short ([`crate::engine::EventBudget`]).
#[derive(Clone, Debug, Serialize)]
pub struct CutShortReport {
    /// Virtual time of the last event handled (µs).
    pub at_us: u64,
    /// Engine events handled.
    pub events: u64,
    /// The budget (the scenario's `max_events`).
    pub max_events: u64,
    /// What happened, in words.
    pub reason: String,
}

impl CutShortReport {
    /// The report of `cut`, under a budget of `max_events`.
    pub fn new(cut: crate::engine::CutShort, max_events: u64) -> CutShortReport {
        CutShortReport {
            at_us: cut.at_us,
            events: cut.events,
            max_events,
            reason: format!(
                "cut short at {} of virtual time: the run reached its event budget of {max_events} engine events \
                 (`max_events`) before it ended. Everything reported is up to there; raise `max_events` \
                 at the top level of the scenario to run it to the end",
                crate::engine::SimTime::from_micros(cut.at_us)
            ),
        }
    }
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
    /// Writes the event log, one JSON object per line, after a first line naming the run it
    /// belongs to (`{"run": {"scenario", "seed", "digest"}}`, the digest as in `report.json`).
    pub fn write_event_log(&self, writer: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer(&mut *writer, &self.run_identity())?;
        writer.write_all(b"\n")?;
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

    /// Which run a file belongs to: written into every output beside `report.json`.
    pub fn run_identity(&self) -> serde_json::Value {
        serde_json::json!({"run": {
            "scenario": self.report.scenario,
            "seed": self.report.seed,
            "digest": self.report.digest,
        }})
    }

    /// Writes `report.json` (and, with `events`, the full event log `events.jsonl`; and each
    /// savepoint; and `extra` files such as a trace) under `<out_dir>/<scenario>/` as one
    /// [`FileSet`]: on a full disk or any write error nothing changes. Every file carries the run's
    /// digest. Partner files an earlier run left there and this run does not write (an event log,
    /// savepoints, a trace) are removed, so the directory never pairs this report with another
    /// run's files; temporaries of killed runs are removed too. Returns the directory.
    pub fn write_outputs(
        &self,
        out_dir: &Path,
        events: bool,
        extra: &[(&str, Vec<u8>)],
    ) -> io::Result<PathBuf> {
        let directory = out_dir.join(&self.report.scenario);
        std::fs::create_dir_all(&directory)?;
        crate::output::remove_stale_temporaries(&directory);
        let mut set = FileSet::new();
        let mut written: Vec<String> = Vec::new();
        if events {
            set.stage(&directory.join("events.jsonl"), |w| self.write_event_log(w))?;
            written.push("events.jsonl".into());
        }
        for (name, savepoint) in self.savepoints() {
            set.stage(&directory.join(&name), |w| {
                serde_json::to_writer_pretty(&mut *w, &savepoint)?;
                w.write_all(b"\n")
            })?;
            written.push(name);
        }
        for (name, bytes) in extra {
            set.stage_bytes(&directory.join(name), bytes)?;
            written.push(name.to_string());
        }
        // The report last: a reader that finds it finds its partners.
        set.stage(&directory.join("report.json"), |w| {
            super::write_report_json(&mut *w, &self.report)?;
            w.write_all(b"\n")
        })?;
        for entry in std::fs::read_dir(&directory)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            let partner = name == "events.jsonl"
                || name == "trace.json"
                || (name.starts_with("savepoint-") && name.ends_with(".json"));
            if partner && !written.contains(&name) {
                match std::fs::remove_file(directory.join(&name)) {
                    Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                    _ => {}
                }
            }
        }
        set.commit()?;
        Ok(directory)
    }

    /// Every completed savepoint of a dataflow run, with its file name `savepoint-<id>.json`,
    /// marked with the digest of the run that took it.
    pub fn savepoints(&self) -> Vec<(String, crate::checkpoint::savepoint::Savepoint)> {
        let RawRun::Dataflow(run, model) = &self.raw else {
            return Vec::new();
        };
        run.completed
            .iter()
            .filter(|c| c.is_savepoint)
            .map(|completed| {
                let mut savepoint = crate::checkpoint::savepoint::from_checkpoint(
                    &self.report.scenario,
                    &model.job,
                    &run.graph,
                    completed,
                );
                savepoint.run_digest = Some(self.report.digest.clone());
                (format!("savepoint-{}.json", completed.id), savepoint)
            })
            .collect()
    }

    /// Writes every completed savepoint of a dataflow run as `savepoint-<id>.json`; returns the paths.
    pub fn write_savepoints(&self, directory: &Path) -> io::Result<Vec<PathBuf>> {
        let mut set = FileSet::new();
        let mut paths = Vec::new();
        for (name, savepoint) in self.savepoints() {
            let path = directory.join(name);
            set.stage(&path, |w| {
                serde_json::to_writer_pretty(&mut *w, &savepoint)?;
                w.write_all(b"\n")
            })?;
            paths.push(path);
        }
        set.commit()?;
        Ok(paths)
    }
}
