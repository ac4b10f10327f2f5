//! Scenario files: the JSON format, loading, and validation with errors that say what to change.
//!
//! A scenario describes one experiment: the graph, the workload, when snapshots start, the seed,
//! and — for teaching scenarios that break an assumption on purpose — which invariants are
//! expected to fail. Loading goes in two steps:
//!
//! 1. **parse** (`file.rs`): serde with `deny_unknown_fields`, wrapped in `serde_path_to_error` so
//!    that a type error names the JSON path (`channels[1].latency.uniform.min`);
//! 2. **validate** (`validate.rs`): names that must exist, ranges, graph reachability; every error
//!    again names the path.
//!
//! The result is a [`Scenario`] whose indices are resolved, so the simulation never looks a name up.

pub mod budget;
mod checker;
mod dataflow_file;
mod duration;
mod error;
mod file;
mod flink_config;
pub mod guarantee;
mod latency_spec;
mod model;
mod size;
mod validate;
mod validate_dataflow;
mod warnings;

pub use duration::{DurationUs, parse_duration_us};
pub use error::ScenarioError;
pub use file::ScenarioFile;
pub use model::{DataflowModel, Model, ProcessGraphModel, SavepointSchedule, Scenario, StartFrom};
pub use size::{parse_bandwidth, parse_bytes};
/// The most tokens a process may hold, and all processes together: every balance and sum stays exact.
pub const MAX_TOKENS: i64 = validate::TOKENS_MAX;

use std::path::Path;

/// Starts a dataflow scenario from a savepoint: operators by uid, keyed state redistributed by
/// key group to the scenario's parallelism. Errors say why the savepoint does not fit.
pub fn start_from_savepoint(
    scenario: &mut Scenario,
    savepoint: &crate::checkpoint::savepoint::Savepoint,
    source: &str,
    allow_non_restored_state: bool,
) -> Result<(), String> {
    let Model::Dataflow(model) = &mut scenario.model else {
        return Err(format!(
            "{source}: savepoints are for dataflow (Flink) scenarios; this one is a process graph"
        ));
    };
    let graph = model.job.expand(&model.cluster);
    let initial = crate::checkpoint::savepoint::restore_into(
        savepoint,
        source,
        &model.job,
        &graph,
        allow_non_restored_state,
    )?;
    model.initial_state = Some(initial);
    Ok(())
}

/// Reads, parses and validates a scenario file. A `start-from-savepoint` is only noted here
/// (`Scenario::start_from`); `crate::deployment::load` also runs the scenario it names.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ScenarioError {
        file: label.clone(),
        json_path: ".".into(),
        message: format!("cannot read the file: {error}"),
        line_column: None,
    })?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario");
    parse_str(&text, &label, stem)
}

/// Parses and validates scenario text; `label` names it in errors (and is the path a
/// `start-from-savepoint` scenario is found relative to), `default_name` is used when the file has
/// no `name`.
pub fn parse_str(text: &str, label: &str, default_name: &str) -> Result<Scenario, ScenarioError> {
    let file = parse_file(text, label)?;
    let start_from = file.start_from_savepoint.clone();
    let mut scenario = validate::validate(file, label, default_name)?;
    scenario.start_from = start_from.map(|spec| StartFrom {
        scenario: Path::new(label)
            .parent()
            .unwrap_or(Path::new(""))
            .join(&spec.scenario),
        savepoint: spec.savepoint,
        allow_non_restored_state: spec.allow_non_restored_state,
        label: label.to_string(),
    });
    Ok(scenario)
}

/// Parses scenario text into the file types without validating it.
pub fn parse_file(text: &str, label: &str) -> Result<ScenarioFile, ScenarioError> {
    if text.contains(crate::explore::dataflow::schedule::SECTION)
        && crate::explore::dataflow::schedule::is_schedule(text)
    {
        return Err(ScenarioError {
            file: label.to_string(),
            json_path: crate::explore::dataflow::schedule::SECTION.into(),
            message: "this is a dataflow schedule written by `snapsim explore --dataflow`, not a scenario: `snapsim run` replays it and `snapsim diagram` draws it; it has no time, seed or settings for the other commands".into(),
            line_column: None,
        });
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let mut file: ScenarioFile = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| json_error(label, text, error))?;
    deserializer.end().map_err(|error| ScenarioError {
        file: label.to_string(),
        json_path: ".".into(),
        message: strip_position(&error.to_string()),
        line_column: Some((error.line(), error.column())),
    })?;
    flink_config::apply(&mut file, label)?;
    flink_config::check_restart_type(&file, label)?;
    Ok(file)
}

fn json_error(
    label: &str,
    text: &str,
    error: serde_path_to_error::Error<serde_json::Error>,
) -> ScenarioError {
    let json_path = error.path().to_string();
    let inner = error.into_inner();
    let line_column = (inner.line() > 0).then(|| (inner.line(), inner.column()));
    let mut message = strip_position(&inner.to_string());
    if text.trim().is_empty() {
        message = "the file is empty: a scenario is one JSON object, e.g. \
                   {\"description\": \"…\", \"processes\": …}"
            .into();
    } else if inner.is_eof() {
        message = format!("{message}: the file ends in the middle of a value (is it cut short?)");
    } else if inner.is_syntax() {
        // What stands where the parser stopped: JSON has neither comments nor trailing commas,
        // which people write by habit.
        let at = text
            .lines()
            .nth(inner.line().saturating_sub(1))
            .and_then(|line| {
                line.chars()
                    .skip(inner.column().saturating_sub(1))
                    .find(|c| !c.is_whitespace())
            });
        if at == Some('/') {
            message = format!(
                "{message}: JSON has no comments (// or /* */); remove it, or say it in \"description\""
            );
        } else if message.contains("trailing comma") {
            message = format!(
                "{message}: JSON allows no comma after the last item of an object or a list"
            );
        }
    }
    ScenarioError {
        file: label.to_string(),
        json_path,
        message,
        line_column,
    }
}

/// serde_json appends " at line L column C"; we report the position separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message.to_string(),
    }
}
