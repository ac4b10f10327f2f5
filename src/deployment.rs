//! Deploying from a savepoint (`start-from-savepoint`): a scenario that starts from a savepoint
//! another scenario's run takes —
//! a job upgrade, a rescale, a blue-green or canary deployment, an A/B test, all from one
//! savepoint, without a savepoint file to pass by hand. [`load`] runs the named scenario
//! (deterministically, with its own seed), takes the savepoint from its completed savepoints and
//! maps it onto this job exactly as `--from-savepoint` would (operators by uid, keyed state by key
//! group). It also notes what the previous job did after the savepoint (`Handover`): a job that
//! ran on committed records this one will produce again.

use crate::checkpoint::savepoint::{self, Handover};
use crate::dataflow::JobStatus;
use crate::scenario::{self, Model, Scenario, ScenarioError, StartFrom, start_from_savepoint};
use crate::workload::dataflow::OperatorKind;
use std::collections::BTreeMap;
use std::path::Path;

/// How many scenarios a chain of `start-from-savepoint` may pass through (a longer one is taken
/// for a cycle).
const MAX_CHAIN: u32 = 8;

/// Reads, parses and validates a scenario file, and starts it from the savepoint its
/// `start-from-savepoint` names (running that scenario first).
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_at_depth(path, 0)
}

/// [`scenario::parse_str`], then the same as [`load`].
pub fn parse(text: &str, label: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
    let mut parsed = scenario::parse_str(text, label, default_name)?;
    resolve(&mut parsed, 0)?;
    Ok(parsed)
}

fn load_at_depth(path: &Path, depth: u32) -> Result<Scenario, ScenarioError> {
    let mut loaded = scenario::load_file(path)?;
    resolve(&mut loaded, depth)?;
    Ok(loaded)
}

/// Runs the scenario `start-from-savepoint` names (if any) and starts `scenario` from its
/// savepoint; `depth` counts the scenarios already on the chain.
pub fn resolve(scenario: &mut Scenario, depth: u32) -> Result<(), ScenarioError> {
    let Some(spec) = scenario.start_from.clone() else {
        return Ok(());
    };
    resolve_one(scenario, &spec, depth)
}

fn resolve_one(scenario: &mut Scenario, spec: &StartFrom, depth: u32) -> Result<(), ScenarioError> {
    let error = |json_path: &str, message: String| ScenarioError {
        file: spec.label.clone(),
        json_path: json_path.to_string(),
        message,
        line_column: None,
    };
    if depth >= MAX_CHAIN {
        return Err(error(
            "start-from-savepoint.scenario",
            format!(
                "more than {MAX_CHAIN} scenarios start from each other's savepoints: is there a cycle?"
            ),
        ));
    }
    let path = &spec.scenario;
    let previous = load_at_depth(path, depth + 1).map_err(|inner| {
        error(
            "start-from-savepoint.scenario",
            format!("the scenario that takes the savepoint does not load: {inner}"),
        )
    })?;
    let Model::Dataflow(model) = &previous.model else {
        return Err(error(
            "start-from-savepoint.scenario",
            format!(
                "{} is a process-graph scenario: it takes no savepoints",
                path.display()
            ),
        ));
    };
    let run = crate::dataflow::run(model, previous.seed);
    let Some(completed) = run
        .completed
        .iter()
        .find(|c| c.is_savepoint && c.id == spec.savepoint)
    else {
        let taken: Vec<String> = run
            .completed
            .iter()
            .filter(|c| c.is_savepoint)
            .map(|c| c.id.to_string())
            .collect();
        return Err(error(
            "start-from-savepoint.savepoint",
            format!(
                "the run of {} completes no savepoint {}: its savepoints are {}",
                path.display(),
                spec.savepoint,
                if taken.is_empty() {
                    "none".to_string()
                } else {
                    taken.join(", ")
                }
            ),
        ));
    };
    let taken = savepoint::from_checkpoint(&previous.name, &model.job, &run.graph, completed);
    let source = format!("the run of {}", path.display());
    start_from_savepoint(scenario, &taken, &source, spec.allow_non_restored_state)
        .map_err(|message| error("start-from-savepoint", message))?;
    // Records the previous job committed past the savepoint's source offsets.
    let offsets: BTreeMap<u32, u64> = completed
        .tasks
        .iter()
        .filter(|s| {
            let head = run.graph.tasks[s.task].chain[0];
            matches!(model.job.operators[head].kind, OperatorKind::Source(_))
        })
        .map(|s| (s.task as u32, s.operator_states[0].offset))
        .collect();
    let previous_commits_after_savepoint = run
        .sinks
        .iter()
        .flat_map(|sink| sink.read_committed())
        .filter(|w| {
            offsets
                .get(&w.record.source_task)
                .is_some_and(|&offset| w.record.offset >= offset)
        })
        .count() as u64;
    let handover = Handover {
        previous_scenario: previous.name.clone(),
        previous_stopped: matches!(run.status, JobStatus::Stopped { savepoint, .. } if savepoint == spec.savepoint),
        previous_commits_after_savepoint,
        previous_ended_at_us: run.end_time.as_micros(),
    };
    if let Model::Dataflow(model) = &mut scenario.model
        && let Some(initial) = model.initial_state.as_mut()
    {
        initial.handover = Some(handover);
    }
    Ok(())
}
