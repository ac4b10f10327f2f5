//! Checks that need more than one field, and resolution of names into indices.

use super::checker::{Checker, check_probability, latency};
use super::error::ScenarioError;
use super::file::*;
use super::model::{Model, ProcessGraphModel, Scenario};
use crate::chandy_lamport::{ChandyLamportVariant, SnapshotSchedule};
use crate::engine::{LatencyDistribution, SimTime};
use crate::expectation::{self, FactKind};
use crate::oracle::Invariant;
use crate::topology::{ChannelConfig, Process, ProcessGraph, ProcessIndex};
use crate::workload::{ProcessWorkload, ScriptedAction, ScriptedActionKind};
use std::collections::BTreeMap;

/// Largest process graph we agree to build (a typo like `"count": 1e9` should be an error, not an
/// out-of-memory kill).
const PROCESS_COUNT_MAX: u64 = 100_000;
const CHANNEL_COUNT_MAX: u64 = 2_000_000;
/// The most tokens a process, and all of them together, may hold: far beyond any lesson, and
/// small enough that every balance, sum and amount stays exact in 64-bit integers and doubles.
pub(crate) const TOKENS_MAX: i64 = 1_000_000_000_000_000;

pub(super) fn validate(
    file: ScenarioFile,
    label: &str,
    default_name: &str,
) -> Result<Scenario, ScenarioError> {
    let check = Checker { label };
    let name = file
        .name
        .clone()
        .unwrap_or_else(|| default_name.to_string());
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || name.starts_with('.')
    {
        return Err(check.error(
            "name",
            format!(
                "\"{name}\" cannot name an output directory: use letters, digits, '-', '_' and '.' only"
            ),
        ));
    }
    for (index, failure) in file.expected_failures.iter().enumerate() {
        if Invariant::from_name(failure).is_none() {
            return Err(check.error(
                format!("expected_failures[{index}]"),
                format!(
                    "unknown invariant \"{failure}\": expected one of {}",
                    Invariant::ALL.map(|i| i.name()).join(", ")
                ),
            ));
        }
    }
    let model = if file.job.is_some() {
        for (present, field) in [
            (file.processes.is_some(), "processes"),
            (file.topology.is_some(), "topology"),
            (file.channels.is_some(), "channels"),
            (file.workload.is_some(), "workload"),
            (!file.snapshots.is_empty(), "snapshots"),
            (file.channel_defaults.is_some(), "channel_defaults"),
            (file.initial_tokens.is_some(), "initial_tokens"),
            (file.scripted_actions_run.is_some(), "scripted_actions_run"),
        ] {
            if present {
                return Err(check.error(
                    field,
                    format!("`{field}` belongs to process-graph scenarios, but this scenario has a `job` (a dataflow)"),
                ));
            }
        }
        Model::Dataflow(Box::new(super::validate_dataflow::validate(&file, label)?))
    } else {
        for (present, field) in [
            (file.cluster.is_some(), "cluster"),
            (file.network.is_some(), "network"),
            (file.runtime.is_some(), "runtime"),
            (file.checkpointing.is_some(), "checkpointing"),
            (file.state.is_some(), "state"),
            (file.checkpoint_storage.is_some(), "checkpoint-storage"),
            (file.faults.is_some(), "faults"),
            (file.restart_strategy.is_some(), "restart-strategy"),
            (file.failover_strategy.is_some(), "failover-strategy"),
            (!file.savepoints.is_empty(), "savepoints"),
            (file.start_from_savepoint.is_some(), "start-from-savepoint"),
        ] {
            if present {
                return Err(check.error(
                    field,
                    format!("`{field}` belongs to dataflow scenarios, which need a `job`"),
                ));
            }
        }
        Model::ProcessGraph(validate_process_graph(&file, &check)?)
    };
    check_expected_failures_are_evaluated(&file, &model, &check)?;
    let estimate = match &model {
        Model::Dataflow(model) => super::budget::dataflow(model),
        Model::ProcessGraph(model) => super::budget::process_graph(model),
    };
    let budget = file.max_events.unwrap_or(super::budget::MAX_EVENTS_DEFAULT);
    if estimate.events.is_nan() || estimate.events > budget as f64 {
        let path = if estimate.driven_by.is_empty() {
            "max_events".to_string()
        } else {
            estimate.driven_by.clone()
        };
        return Err(check.error(
            path,
            format!(
                "this run would take about {:.2e} engine events ({}), more than its budget of {budget}: \
                 make it smaller, or raise `max_events` at the top level if the machine can take it",
                estimate.events, estimate.reasoning
            ),
        ));
    }
    let warnings = match &model {
        Model::Dataflow(model) => super::warnings::dataflow_warnings(model, label),
        Model::ProcessGraph(_) => Vec::new(),
    };
    let (kind, operators) = match &model {
        Model::Dataflow(model) => (
            FactKind::Dataflow,
            model
                .job
                .operators
                .iter()
                .map(|o| {
                    let is_sink =
                        matches!(o.kind, crate::workload::dataflow::OperatorKind::Sink(_));
                    (o.name.clone(), o.parallelism, is_sink)
                })
                .collect(),
        ),
        Model::ProcessGraph(_) => (FactKind::ProcessGraph, Vec::new()),
    };
    let mut expectations = Vec::with_capacity(file.expect.len());
    for (index, spec) in file.expect.iter().enumerate() {
        let expectation = expectation::validate(spec, kind, &operators)
            .map_err(|(field, message)| check.error(format!("expect[{index}].{field}"), message))?;
        expectations.push(expectation);
    }
    Ok(Scenario {
        name,
        description: file.description,
        seed: file.seed,
        expected_failures: file.expected_failures,
        expectations,
        model,
        warnings,
        start_from: None,
    })
}

/// A scenario may expect only invariants the oracle evaluates for it: a Chandy-Lamport invariant
/// on a process graph, prefix consistency or protocol rules on a dataflow, and of the delivery
/// guarantees only the one the job's configuration promises. Expecting another to fail could
/// never be shown — the run would report "expected failure missing" for a check it never made.
fn check_expected_failures_are_evaluated(
    file: &ScenarioFile,
    model: &Model,
    check: &Checker,
) -> Result<(), ScenarioError> {
    for (index, name) in file.expected_failures.iter().enumerate() {
        let Some(invariant) = Invariant::from_name(name) else {
            continue;
        };
        let problem = match model {
            Model::ProcessGraph(_) => (!invariant.is_chandy_lamport()).then(|| {
                format!("{name} is a dataflow invariant, never evaluated on a process graph")
            }),
            Model::Dataflow(model) => {
                if invariant.is_chandy_lamport() {
                    Some(format!(
                        "{name} is a Chandy-Lamport invariant of process graphs, never evaluated on a dataflow"
                    ))
                } else if matches!(invariant, Invariant::ExactlyOnce | Invariant::AtLeastOnce) {
                    let (evaluated, why) = super::guarantee::evaluated_guarantee(model);
                    (evaluated != Some(invariant))
                        .then(|| format!("{name} is never evaluated for this job: {why}"))
                } else {
                    None
                }
            }
        };
        if let Some(problem) = problem {
            return Err(check.error(
                format!("expected_failures[{index}]"),
                format!(
                    "{problem}; a scenario can only expect an invariant to fail if it is checked"
                ),
            ));
        }
    }
    Ok(())
}

fn validate_process_graph(
    file: &ScenarioFile,
    check: &Checker,
) -> Result<ProcessGraphModel, ScenarioError> {
    let default_tokens = file.initial_tokens.unwrap_or(0);
    let processes: Vec<Process> = match &file.processes {
        None => {
            return Err(check.error(
                "processes",
                "missing: a process graph needs a list of processes",
            ));
        }
        Some(ProcessesSpec::List(list)) => {
            if list.len() as u64 > PROCESS_COUNT_MAX {
                return Err(check.error(
                    "processes",
                    format!(
                        "expected at most {PROCESS_COUNT_MAX} processes, got {}",
                        list.len()
                    ),
                ));
            }
            list.iter()
                .map(|p| Process {
                    name: p.name.clone(),
                    initial_tokens: p.tokens.unwrap_or(default_tokens),
                })
                .collect()
        }
        Some(ProcessesSpec::Generated(generated)) => {
            if generated.count == 0 || generated.count > PROCESS_COUNT_MAX {
                return Err(check.error(
                    "processes.count",
                    format!(
                        "expected between 1 and {PROCESS_COUNT_MAX} processes, got {}",
                        generated.count
                    ),
                ));
            }
            (0..generated.count)
                .map(|i| Process {
                    name: format!("{}{i}", generated.name_prefix),
                    initial_tokens: generated.tokens.unwrap_or(default_tokens),
                })
                .collect()
        }
    };
    if processes.len() < 2 {
        return Err(check.error(
            "processes",
            "a distributed snapshot needs at least two processes",
        ));
    }
    // Token counts are added up (conservation) and drawn from (transfers): keep every sum exact.
    let mut total_tokens: i64 = 0;
    for (index, process) in processes.iter().enumerate() {
        let path = match &file.processes {
            Some(ProcessesSpec::List(list)) if list[index].tokens.is_some() => {
                format!("processes[{index}].tokens")
            }
            Some(ProcessesSpec::Generated(_)) if file.initial_tokens.is_none() => {
                "processes.tokens".to_string()
            }
            _ => "initial_tokens".to_string(),
        };
        if process.initial_tokens.unsigned_abs() > TOKENS_MAX as u64 {
            return Err(check.error(
                path,
                format!(
                    "expected at most {TOKENS_MAX} tokens (in absolute value) per process, got {}",
                    process.initial_tokens
                ),
            ));
        }
        total_tokens = match total_tokens.checked_add(process.initial_tokens) {
            Some(total) if total.unsigned_abs() <= TOKENS_MAX as u64 => total,
            _ => {
                return Err(check.error(
                    path,
                    format!("the processes hold more than {TOKENS_MAX} tokens in all"),
                ));
            }
        };
    }
    let mut index_of: BTreeMap<String, ProcessIndex> = BTreeMap::new();
    for (index, process) in processes.iter().enumerate() {
        if process.name.is_empty() {
            return Err(check.error(
                format!("processes[{index}]"),
                "process names cannot be empty",
            ));
        }
        if index_of.insert(process.name.clone(), index).is_some() {
            return Err(check.error(
                format!("processes[{index}]"),
                format!("process \"{}\" is listed twice", process.name),
            ));
        }
    }
    let known = || {
        let names: Vec<&str> = index_of.keys().map(String::as_str).take(12).collect();
        let more = if index_of.len() > 12 { ", …" } else { "" };
        format!("{}{more}", names.join(", "))
    };
    let resolve = |json_path: String, name: &str| -> Result<ProcessIndex, ScenarioError> {
        index_of.get(name).copied().ok_or_else(|| {
            check.error(
                json_path,
                format!("unknown process \"{name}\": expected one of {}", known()),
            )
        })
    };

    let defaults = file.channel_defaults.clone().unwrap_or_default();
    let default_latency = match &defaults.latency {
        Some(spec) => latency(spec, "channel_defaults.latency", check)?,
        None => LatencyDistribution::Constant { latency_us: 1_000 },
    };
    let default_loss = defaults.loss_probability.unwrap_or(0.0);
    check_probability(default_loss, "channel_defaults.loss_probability", check)?;
    let default_channel = |from, to| ChannelConfig {
        from,
        to,
        latency: default_latency,
        fifo: defaults.fifo.unwrap_or(true),
        loss_probability: default_loss,
    };

    let n = processes.len();
    let channels: Vec<ChannelConfig> = match (&file.topology, &file.channels) {
        (Some(_), Some(_)) => {
            return Err(check.error("topology", "give either `topology` or `channels`, not both"));
        }
        (None, None) => {
            return Err(check.error(
                "channels",
                "missing: list the channels, or set `topology` to \"complete\", \"ring\", \
                 \"bidirectional_ring\" or {\"chordal_ring\": [1, 2, …]}",
            ));
        }
        (Some(topology), None) => {
            let pairs: Vec<(usize, usize)> = match topology {
                TopologySpec::Complete => {
                    let count = (n as u64) * (n as u64 - 1);
                    if count > CHANNEL_COUNT_MAX {
                        return Err(check.error(
                            "topology",
                            format!("a complete graph of {n} processes has {count} channels, more than {CHANNEL_COUNT_MAX}"),
                        ));
                    }
                    (0..n)
                        .flat_map(|a| (0..n).filter(move |&b| b != a).map(move |b| (a, b)))
                        .collect()
                }
                TopologySpec::Ring => (0..n).map(|a| (a, (a + 1) % n)).collect(),
                TopologySpec::BidirectionalRing => {
                    let mut pairs: Vec<_> = (0..n).map(|a| (a, (a + 1) % n)).collect();
                    if n > 2 {
                        pairs.extend((0..n).map(|a| (a, (a + n - 1) % n)));
                    }
                    pairs
                }
                TopologySpec::ChordalRing(chords) => {
                    let mut pairs = Vec::new();
                    for (index, &chord) in chords.iter().enumerate() {
                        if chord == 0 || chord >= n as u64 {
                            return Err(check.error(
                                format!("topology.chordal_ring[{index}]"),
                                format!("chord length must be between 1 and {} (processes − 1), got {chord}", n - 1),
                            ));
                        }
                        pairs.extend((0..n).map(|a| (a, (a + chord as usize) % n)));
                    }
                    pairs.sort_unstable();
                    pairs.dedup();
                    pairs
                }
            };
            pairs
                .into_iter()
                .map(|(a, b)| default_channel(a, b))
                .collect()
        }
        (None, Some(list)) => {
            let mut channels = Vec::with_capacity(list.len());
            let mut seen = BTreeMap::new();
            for (index, spec) in list.iter().enumerate() {
                let path = |field: &str| format!("channels[{index}].{field}");
                let from = resolve(path("from"), &spec.from)?;
                let to = resolve(path("to"), &spec.to)?;
                if from == to {
                    return Err(check.error(
                        path("to"),
                        format!("a channel from \"{}\" to itself is not allowed", spec.to),
                    ));
                }
                if let Some(first) = seen.insert((from, to), index) {
                    return Err(check.error(
                        format!("channels[{index}]"),
                        format!(
                            "channel {}->{} is already defined at channels[{first}]",
                            spec.from, spec.to
                        ),
                    ));
                }
                let mut channel = default_channel(from, to);
                if let Some(spec_latency) = &spec.latency {
                    channel.latency = latency(spec_latency, &path("latency"), check)?;
                }
                if let Some(fifo) = spec.fifo {
                    channel.fifo = fifo;
                }
                if let Some(loss) = spec.loss_probability {
                    check_probability(loss, &path("loss_probability"), check)?;
                    channel.loss_probability = loss;
                }
                channels.push(channel);
            }
            channels
        }
    };
    let graph = ProcessGraph {
        processes,
        channels,
    };

    let channel_between = |json_path: String, from: ProcessIndex, to: ProcessIndex| {
        graph
            .channels
            .iter()
            .position(|c| c.from == from && c.to == to)
            .ok_or_else(|| {
                check.error(
                    json_path,
                    format!(
                        "there is no channel {}->{}: add it to `channels`",
                        graph.processes[from].name, graph.processes[to].name
                    ),
                )
            })
    };
    // A channel written "from->to" (a script's `marker_latency` and `markers_lost`).
    let channel_named = |json_path: String, name: &str| {
        let Some((from, to)) = name.split_once("->") else {
            return Err(check.error(
                json_path,
                format!("expected a channel written \"from->to\", got \"{name}\""),
            ));
        };
        let from = resolve(json_path.clone(), from.trim())?;
        let to = resolve(json_path.clone(), to.trim())?;
        channel_between(json_path, from, to)
    };

    let stop_at = file.duration.map(|d| SimTime::from_micros(d.as_micros()));
    let mut initiators: Vec<(String, ProcessIndex)> = Vec::new();
    let workload = match &file.workload {
        None | Some(WorkloadSpec::Idle) => ProcessWorkload::Idle,
        Some(WorkloadSpec::Bank(bank)) => {
            if !(bank.transfers_per_s.is_finite() && bank.transfers_per_s > 0.0) {
                return Err(check.error(
                    "workload.bank.transfers_per_s",
                    format!("expected a positive rate, got {}", bank.transfers_per_s),
                ));
            }
            if bank.amount_max == 0 || bank.amount_max > TOKENS_MAX as u64 {
                return Err(check.error(
                    "workload.bank.amount_max",
                    format!(
                        "expected between 1 and {TOKENS_MAX}, got {}",
                        bank.amount_max
                    ),
                ));
            }
            if stop_at.is_none() && bank.max_transfers.is_none() {
                return Err(check.error(
                    "workload.bank",
                    "the bank would run forever: set `max_transfers` here or `duration` at the top level",
                ));
            }
            if graph.processes.iter().all(|p| p.initial_tokens <= 0) {
                return Err(check.error(
                    "initial_tokens",
                    "no process holds a token, so the bank can never send one: give \
                     `initial_tokens`, or `tokens` to some processes",
                ));
            }
            ProcessWorkload::Bank {
                transfers_per_s: bank.transfers_per_s,
                amount_max: bank.amount_max,
                max_transfers: bank.max_transfers,
            }
        }
        Some(WorkloadSpec::TokenPassing(token)) => {
            if stop_at.is_none() {
                return Err(check.error(
                    "duration",
                    "token passing never stops by itself: set `duration`",
                ));
            }
            if token.hold.as_micros() == 0 {
                return Err(check.error(
                    "workload.token_passing.hold",
                    "expected a positive hold time",
                ));
            }
            ProcessWorkload::TokenPassing {
                hold_us: token.hold.as_micros(),
            }
        }
        Some(WorkloadSpec::Scripted(actions)) => {
            let mut script = Vec::with_capacity(actions.len());
            for (index, action) in actions.iter().enumerate() {
                let path = format!("workload.scripted[{index}]");
                let kind = match (&action.send, &action.snapshot) {
                    (Some(send), None) => {
                        if action.marker_latency.is_some() || action.markers_lost.is_some() {
                            let field = if action.marker_latency.is_some() {
                                "marker_latency"
                            } else {
                                "markers_lost"
                            };
                            return Err(check.error(
                                format!("{path}.{field}"),
                                format!("`{field}` belongs to a `snapshot` action: a send carries no marker"),
                            ));
                        }
                        let from = resolve(format!("{path}.send.from"), &send.from)?;
                        let to = resolve(format!("{path}.send.to"), &send.to)?;
                        let channel = channel_between(format!("{path}.send"), from, to)?;
                        if send.tokens <= 0 {
                            return Err(check.error(
                                format!("{path}.send.tokens"),
                                format!(
                                    "a transfer moves a positive number of tokens, got {}",
                                    send.tokens
                                ),
                            ));
                        }
                        ScriptedActionKind::Send {
                            channel,
                            tokens: send.tokens,
                            latency_us: send.latency.map(|l| l.as_micros()),
                            overdraw: send.overdraw,
                            lost: send.lost,
                        }
                    }
                    (None, Some(initiator)) => {
                        let initiator_index = resolve(format!("{path}.snapshot"), initiator)?;
                        initiators.push((format!("{path}.snapshot"), initiator_index));
                        let mut marker_latency_us = Vec::new();
                        for (name, latency) in action.marker_latency.iter().flatten() {
                            let at = format!("{path}.marker_latency.{name}");
                            marker_latency_us.push((channel_named(at, name)?, latency.as_micros()));
                        }
                        let mut markers_lost = Vec::new();
                        for (i, name) in action.markers_lost.iter().flatten().enumerate() {
                            markers_lost
                                .push(channel_named(format!("{path}.markers_lost[{i}]"), name)?);
                        }
                        ScriptedActionKind::Snapshot {
                            initiator: initiator_index,
                            marker_latency_us,
                            markers_lost,
                        }
                    }
                    _ => {
                        return Err(check.error(
                            path,
                            "each scripted action needs exactly one of `send` or `snapshot`",
                        ));
                    }
                };
                script.push(ScriptedAction {
                    at: SimTime::from_micros(action.at.as_micros()),
                    kind,
                });
            }
            ProcessWorkload::Scripted(script)
        }
    };

    if file.scripted_actions_run.is_some() && !matches!(workload, ProcessWorkload::Scripted(_)) {
        return Err(check.error(
            "scripted_actions_run",
            "`scripted_actions_run` orders a `scripted` workload's actions against deliveries; this workload has no script",
        ));
    }
    let mut snapshots = Vec::with_capacity(file.snapshots.len());
    for (index, spec) in file.snapshots.iter().enumerate() {
        let path = format!("snapshots[{index}]");
        let initiator = resolve(format!("{path}.initiator"), &spec.initiator)?;
        initiators.push((format!("{path}.initiator"), initiator));
        let schedule = match (spec.at, spec.every) {
            (Some(at), None) => {
                if spec.start.is_some() {
                    return Err(check.error(
                        format!("{path}.start"),
                        "`start` only applies to periodic snapshots (`every`)",
                    ));
                }
                SnapshotSchedule {
                    initiator,
                    first_at: SimTime::from_micros(at.as_micros()),
                    every_us: None,
                }
            }
            (None, Some(every)) => {
                if every.as_micros() == 0 {
                    return Err(check.error(format!("{path}.every"), "the period must be positive"));
                }
                let ends = stop_at.is_some()
                    || matches!(file.workload, Some(WorkloadSpec::Bank(ref b)) if b.max_transfers.is_some());
                if !ends {
                    return Err(check.error(
                        format!("{path}.every"),
                        "periodic snapshots need an end: set `duration` at the top level",
                    ));
                }
                let first = spec.start.unwrap_or(every);
                SnapshotSchedule {
                    initiator,
                    first_at: SimTime::from_micros(first.as_micros()),
                    every_us: Some(every.as_micros()),
                }
            }
            _ => {
                return Err(check.error(path, "each snapshot needs exactly one of `at` or `every`"));
            }
        };
        snapshots.push(schedule);
    }

    // Markers only travel along channels: a process the initiator cannot reach would never record,
    // and the snapshot would never complete (the paper assumes a strongly connected graph).
    let mut checked = vec![false; graph.processes.len()];
    for (json_path, initiator) in initiators {
        if std::mem::replace(&mut checked[initiator], true) {
            continue;
        }
        let reachable = graph.reachable_from(initiator);
        if let Some(unreached) = reachable.iter().position(|r| !r) {
            return Err(check.error(
                json_path,
                format!(
                    "process \"{}\" cannot be reached from initiator \"{}\" along the channels, so its \
                     markers could never arrive and the snapshot could never complete",
                    graph.processes[unreached].name, graph.processes[initiator].name
                ),
            ));
        }
    }

    let variant = match file.protocol_variant.as_deref() {
        None | Some("correct") => ChandyLamportVariant::Correct,
        Some("record_after_next_message") => ChandyLamportVariant::RecordAfterNextMessage,
        Some(other) => {
            return Err(check.error(
                "protocol_variant",
                format!("unknown variant \"{other}\" for a process graph: expected \"correct\" or \"record_after_next_message\""),
            ));
        }
    };
    Ok(ProcessGraphModel {
        graph,
        workload,
        snapshots,
        stop_at,
        variant,
        max_events: file.max_events.unwrap_or(super::budget::MAX_EVENTS_DEFAULT),
        scripted_actions_run: file.scripted_actions_run.unwrap_or_default(),
    })
}
