//! Validation of dataflow (Flink) scenarios: the job graph, the cluster, and Flink's settings with
//! Flink's defaults and Flink's rules (e.g. unaligned checkpoints only with exactly-once and one
//! checkpoint at a time).

use super::checker::{Checker, check_probability, latency};
use super::dataflow_file::*;
use super::duration::DurationUs;
use super::error::ScenarioError;
use super::file::ScenarioFile;
use super::model::{DataflowModel, SavepointSchedule};
use crate::checkpoint::{
    CheckpointConfig, DataflowVariant, SnapshotProtocol, StateBackend, StateConfig, StorageConfig,
};
use crate::dataflow::runtime_cost::{FrameworkCost, RuntimeCosts};
use crate::engine::SimTime;
use crate::fault::{
    FaultKind, FaultPlan, HighAvailability, RandomFaults, RestartStrategy, ScheduledFault,
};
use crate::net::dataflow::NetworkConfig;
use crate::topology::host::{DEFAULT_SCHEDULING_QUANTUM_US, Hosts};
use crate::topology::job::TaskIndex;
use crate::topology::job::{Cluster, Input, JobGraph, Operator, Partitioner};
use crate::workload::dataflow::{
    KeyDistribution, OperatorKind, SinkConfig, SinkDelivery, SourceConfig, default_max_parallelism,
};
use std::collections::BTreeMap;

const PARALLELISM_MAX: u32 = 1024;

pub(super) fn validate(file: &ScenarioFile, label: &str) -> Result<DataflowModel, ScenarioError> {
    let check = Checker { label };
    let job_spec = file.job.as_ref().expect("called for dataflow scenarios");
    let stop_at = file.duration.map(|d| SimTime::from_micros(d.as_micros()));
    let job = validate_job(job_spec, stop_at.is_some(), &check)?;

    let cluster_spec = file.cluster.clone().unwrap_or_default();
    let largest = job
        .operators
        .iter()
        .map(|o| o.parallelism)
        .max()
        .unwrap_or(1);
    let task_managers = cluster_spec.task_managers.unwrap_or(1);
    if task_managers == 0 || task_managers > 1024 {
        return Err(check.error(
            "cluster.task-managers",
            format!("expected between 1 and 1024, got {task_managers}"),
        ));
    }
    let slots = cluster_spec
        .slots_per_task_manager
        .unwrap_or_else(|| largest.div_ceil(task_managers));
    if slots == 0 || u64::from(slots) * u64::from(task_managers) < u64::from(largest) {
        return Err(check.error(
            "cluster.slots-per-task-manager",
            format!(
                "{task_managers} task manager(s) × {slots} slot(s) cannot run an operator of parallelism {largest} (slot sharing needs one slot per subtask index)"
            ),
        ));
    }
    let hosts = match (cluster_spec.cpu_cores, &cluster_spec.mini_cluster) {
        (Some(_), Some(_)) => {
            return Err(check.error(
                "cluster.mini-cluster",
                "give either `taskmanager.cpu.cores` (a host per task manager) or `mini-cluster` (one host for all), not both",
            ));
        }
        (Some(cores), None) => Hosts::OnePerTaskManager {
            cores: cores_in_range(cores, "cluster.taskmanager.cpu.cores", &check)?,
        },
        (None, Some(mini)) => Hosts::MiniCluster {
            cores: cores_in_range(mini.cores, "cluster.mini-cluster.cores", &check)?,
        },
        (None, None) => Hosts::Unlimited,
    };
    let scheduling_quantum_us = cluster_spec
        .scheduling_quantum
        .map_or(DEFAULT_SCHEDULING_QUANTUM_US, |q| q.as_micros());
    if scheduling_quantum_us > 1_000_000 {
        return Err(check.error(
            "cluster.scheduling-quantum",
            format!("expected at most 1s, got {scheduling_quantum_us}us"),
        ));
    }
    let cluster = Cluster {
        task_managers,
        slots_per_task_manager: slots,
        hosts,
        scheduling_quantum_us,
    };
    let runtime = validate_runtime(file.runtime.as_ref(), &check)?;

    let mut network = NetworkConfig::flink_defaults();
    if let Some(rpc) = cluster_spec.rpc_latency {
        network.rpc_latency_us = rpc.as_micros();
    }
    if let Some(spec) = &file.network {
        let positive = |value: u32, path: &str| -> Result<u32, ScenarioError> {
            if value == 0 {
                Err(check.error(path, "expected at least 1"))
            } else {
                Ok(value)
            }
        };
        if let Some(size) = spec.segment_size {
            if size.0 < 64 || size.0 > 64 * 1024 * 1024 {
                return Err(check.error(
                    "network.segment-size",
                    format!("expected between 64b and 64mb, got {} bytes", size.0),
                ));
            }
            network.segment_bytes = size.0 as u32;
        }
        if let Some(timeout) = spec.buffer_timeout {
            if timeout.as_micros() == 0 {
                return Err(check.error("network.buffer-timeout", "a buffer timeout of 0 (flush after every record) is not supported; use e.g. \"1ms\""));
            }
            network.buffer_timeout_us = timeout.as_micros();
        }
        if let Some(v) = spec.buffers_per_channel {
            network.exclusive_buffers_per_channel = positive(v, "network.buffers-per-channel")?;
        }
        if let Some(v) = spec.floating_buffers_per_gate {
            network.floating_buffers_per_gate = v;
        }
        if let Some(v) = spec.max_buffers_per_channel {
            network.max_buffers_per_channel = positive(v, "network.max-buffers-per-channel")?;
        }
        if let Some(v) = spec.remote_latency {
            network.remote_latency_us = v.as_micros();
        }
        if let Some(v) = spec.remote_bandwidth {
            network.remote_bandwidth_bytes_per_s = v.0;
        }
    }
    for (index, operator) in job.operators.iter().enumerate() {
        if let OperatorKind::Source(source) = &operator.kind
            && source.record_bytes >= network.segment_bytes
        {
            return Err(check.error(
                format!("job.operators[{index}].record_size"),
                format!(
                    "a record of {} bytes does not fit a {}-byte network buffer",
                    source.record_bytes, network.segment_bytes
                ),
            ));
        }
    }

    let checkpointing = match &file.checkpointing {
        None => None,
        Some(spec) => Some(validate_checkpointing(spec, &check)?),
    };

    let state_spec = file.state.clone().unwrap_or_default();
    let backend = match state_spec.backend.as_deref() {
        None | Some("hashmap") => StateBackend::HashMap,
        Some("rocksdb") => StateBackend::RocksDb,
        Some(other) => {
            return Err(check.error(
                "state.backend",
                format!("unknown backend \"{other}\": expected \"hashmap\" or \"rocksdb\""),
            ));
        }
    };
    let incremental = state_spec.incremental.unwrap_or(false);
    if incremental && backend != StateBackend::RocksDb {
        return Err(check.error("state.incremental", "incremental checkpoints need `\"backend\": \"rocksdb\"` (the hashmap backend always takes full snapshots)"));
    }
    let state = StateConfig {
        backend,
        incremental,
        sync_base_us: state_spec.sync_base.map_or(100, |d| d.as_micros()),
        sync_per_mb_us: state_spec.sync_per_mb.map_or(2_000, |d| d.as_micros()),
        compaction_trigger: state_spec.compaction_trigger.unwrap_or(4).max(1),
    };
    let storage_spec = file.checkpoint_storage.clone().unwrap_or_default();
    let storage = StorageConfig {
        latency_us: storage_spec.latency.map_or(5_000, |d| d.as_micros()),
        bandwidth_bytes_per_s: storage_spec.bandwidth.map_or(100 * 1024 * 1024, |b| b.0),
    };
    let bounded = job
        .operators
        .iter()
        .all(|o| !matches!(&o.kind, OperatorKind::Source(s) if s.records.is_none()));
    if !bounded && stop_at.is_none() {
        return Err(check.error(
            "duration",
            "an unbounded source never stops: set `duration` (or `records` on every source)",
        ));
    }
    let throughput_bucket_us = match stop_at {
        Some(stop) if stop.as_micros() < 10_000_000 => 100_000,
        _ => 1_000_000,
    };
    let variant = match file.protocol_variant.as_deref() {
        None => DataflowVariant::Correct,
        Some(name) => match DataflowVariant::ALL.iter().find(|(n, _)| *n == name) {
            Some((_, variant)) => *variant,
            None => {
                let names: Vec<&str> = DataflowVariant::ALL.iter().map(|(n, _)| *n).collect();
                return Err(check.error(
                    "protocol_variant",
                    format!(
                        "unknown variant \"{name}\" for a dataflow: expected one of {}",
                        names.join(", ")
                    ),
                ));
            }
        },
    };
    let faults = validate_faults(file, &job, &cluster, checkpointing.is_some(), &check)?;
    Ok(DataflowModel {
        job,
        cluster,
        network,
        checkpointing,
        state,
        storage,
        stop_at,
        throughput_bucket_us,
        seed: file.seed,
        faults,
        savepoints: file
            .savepoints
            .iter()
            .map(|s| SavepointSchedule {
                at: SimTime::from_micros(s.at.as_micros()),
                stop: s.stop,
            })
            .collect(),
        initial_state: None,
        variant,
        runtime,
        max_events: file.max_events.unwrap_or(super::budget::MAX_EVENTS_DEFAULT),
    })
}

/// A host's cores: at least one, at most 4096.
fn cores_in_range(cores: u32, path: &str, check: &Checker) -> Result<u32, ScenarioError> {
    if cores == 0 || cores > 4096 {
        Err(check.error(
            path,
            format!("expected between 1 and 4096 cores, got {cores}"),
        ))
    } else {
        Ok(cores)
    }
}

/// `runtime`: the calibrated defaults, with what the scenario overrides.
fn validate_runtime(
    spec: Option<&RuntimeSpec>,
    check: &Checker,
) -> Result<RuntimeCosts, ScenarioError> {
    let mut runtime = RuntimeCosts::flink_2_3_two_cores();
    let Some(spec) = spec else {
        return Ok(runtime);
    };
    let at_most_a_second = |d: DurationUs, path: &str| -> Result<u64, ScenarioError> {
        if d.as_micros() > 1_000_000 {
            Err(check.error(path, format!("expected at most 1s, got {d}")))
        } else {
            Ok(d.as_micros())
        }
    };
    match &spec.framework_cost {
        None => {}
        Some(FrameworkCostSpec::Named(name)) if name == "free" => {
            runtime.framework = FrameworkCost::FREE;
        }
        Some(FrameworkCostSpec::Named(other)) => {
            return Err(check.error(
                "runtime.framework-cost",
                format!("expected \"free\" or an object of steps (emit, serialize, deserialize, state-access, sink), got \"{other}\""),
            ));
        }
        Some(FrameworkCostSpec::Steps(steps)) => {
            let f = &mut runtime.framework;
            for (value, slot, name) in [
                (steps.emit, &mut f.emit_us, "emit"),
                (steps.serialize, &mut f.serialize_us, "serialize"),
                (steps.deserialize, &mut f.deserialize_us, "deserialize"),
                (steps.state_access, &mut f.state_access_us, "state-access"),
                (steps.sink, &mut f.sink_us, "sink"),
            ] {
                if let Some(value) = value {
                    *slot = at_most_a_second(value, &format!("runtime.framework-cost.{name}"))?;
                }
            }
        }
    }
    if let Some(d) = spec.trigger_preparation {
        runtime.trigger_preparation_us = at_most_a_second(d, "runtime.trigger-preparation")?;
    }
    if let Some(delay) = &spec.mailbox_delay {
        runtime.mailbox_delay = latency(delay, "runtime.mailbox-delay", check)?;
    }
    if let Some(d) = spec.snapshot_write_cost_per_mib {
        runtime.snapshot_write_us_per_mib =
            at_most_a_second(d, "runtime.snapshot-write-cost-per-mib")?;
    }
    Ok(runtime)
}

fn validate_job(
    spec: &JobSpec,
    has_duration: bool,
    check: &Checker,
) -> Result<JobGraph, ScenarioError> {
    if spec.operators.is_empty() {
        return Err(check.error(
            "job.operators",
            "a job needs at least one source and one more operator",
        ));
    }
    let mut index_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, operator) in spec.operators.iter().enumerate() {
        if operator.name.is_empty() {
            return Err(check.error(
                format!("job.operators[{index}].name"),
                "operator names cannot be empty",
            ));
        }
        if index_of.insert(operator.name.as_str(), index).is_some() {
            return Err(check.error(
                format!("job.operators[{index}].name"),
                format!("operator \"{}\" is defined twice", operator.name),
            ));
        }
    }
    let mut operators: Vec<Operator> = Vec::with_capacity(spec.operators.len());
    let mut input_names: Vec<Vec<(String, Partitioner)>> = Vec::new();
    for (index, op) in spec.operators.iter().enumerate() {
        let path = |field: &str| format!("job.operators[{index}].{field}");
        if op.parallelism == 0 || op.parallelism > PARALLELISM_MAX {
            return Err(check.error(
                path("parallelism"),
                format!(
                    "expected between 1 and {PARALLELISM_MAX}, got {}",
                    op.parallelism
                ),
            ));
        }
        let not_for = |present: bool, field: &str| -> Result<(), ScenarioError> {
            if present {
                Err(check.error(
                    path(field),
                    format!("`{field}` does not apply to a {} operator", op.kind),
                ))
            } else {
                Ok(())
            }
        };
        let is_source = op.kind == "source";
        not_for(!is_source && op.rate_per_s.is_some(), "rate_per_s")?;
        not_for(!is_source && op.records.is_some(), "records")?;
        not_for(!is_source && op.keys.is_some(), "keys")?;
        not_for(
            !is_source && op.key_distribution.is_some(),
            "key_distribution",
        )?;
        not_for(!is_source && op.record_size.is_some(), "record_size")?;
        not_for(
            op.kind != "filter" && op.selectivity.is_some(),
            "selectivity",
        )?;
        not_for(
            op.kind != "keyed_aggregation" && op.state_per_key.is_some(),
            "state_per_key",
        )?;
        not_for(
            op.kind != "keyed_aggregation" && op.state_compressibility.is_some(),
            "state_compressibility",
        )?;
        let state_compressibility = op.state_compressibility.unwrap_or(1.0);
        if !(0.01..=1.0).contains(&state_compressibility) {
            return Err(check.error(
                format!("job.operators[{index}].state_compressibility"),
                format!("expected a fraction between 0.01 and 1 (compressed bytes per raw byte), got {state_compressibility}"),
            ));
        }
        not_for(op.kind != "sink" && op.delivery.is_some(), "delivery")?;
        not_for(
            op.kind != "sink" && op.transaction_timeout.is_some(),
            "transaction_timeout",
        )?;
        let cost = match &op.cost {
            Some(spec) => Some(latency(spec, &path("cost"), check)?),
            None => None,
        };
        let kind = match op.kind.as_str() {
            "source" => {
                if !op.inputs.is_empty() {
                    return Err(check.error(path("inputs"), "a source has no inputs"));
                }
                if let Some(rate) = op.rate_per_s
                    && !(rate.is_finite() && rate > 0.0 && rate <= 1e9)
                {
                    return Err(check.error(
                        path("rate_per_s"),
                        format!("expected a positive rate, got {rate}"),
                    ));
                }
                if op.rate_per_s.is_none() && cost.is_none_or(|c| c.mean_us() <= 0.0) {
                    return Err(check.error(
                        path("rate_per_s"),
                        "a source without `rate_per_s` emits as fast as it can, so it needs a positive `cost` per record (or set `rate_per_s`)",
                    ));
                }
                let keys = op.keys.unwrap_or(1000);
                if keys == 0 || keys > 10_000_000 {
                    return Err(check.error(
                        path("keys"),
                        format!("expected between 1 and 10000000 keys, got {keys}"),
                    ));
                }
                let key_distribution = match &op.key_distribution {
                    None | Some(KeyDistributionSpec::Uniform) => KeyDistribution::Uniform,
                    Some(KeyDistributionSpec::Zipf(exponent)) => {
                        if !(exponent.is_finite() && *exponent > 0.0 && *exponent < 10.0) {
                            return Err(check.error(
                                path("key_distribution.zipf"),
                                format!("expected an exponent between 0 and 10, got {exponent}"),
                            ));
                        }
                        KeyDistribution::Zipf {
                            exponent: *exponent,
                        }
                    }
                };
                let record_bytes = op.record_size.map_or(28, |b| b.0);
                if record_bytes == 0 {
                    return Err(check.error(path("record_size"), "a record has at least one byte"));
                }
                if op.records.is_none() && !has_duration {
                    return Err(check.error(path("records"), "an unbounded source never stops: set `records`, or `duration` at the top level"));
                }
                OperatorKind::Source(SourceConfig {
                    rate_per_s: op.rate_per_s,
                    records: op.records,
                    keys,
                    key_distribution,
                    record_bytes: record_bytes.min(u64::from(u32::MAX)) as u32,
                })
            }
            "map" => OperatorKind::Map,
            "filter" => {
                let selectivity = op.selectivity.unwrap_or(0.5);
                check_probability(selectivity, &path("selectivity"), check)?;
                OperatorKind::Filter {
                    keep_per_million: (selectivity * 1e6).round() as u32,
                }
            }
            "keyed_aggregation" => OperatorKind::KeyedAggregation {
                state_bytes_per_key: op.state_per_key.map_or(18, |b| b.0.min(1 << 30) as u32),
            },
            "union" => OperatorKind::Union,
            "sink" => {
                let delivery = match op.delivery.as_deref() {
                    None | Some("plain") => SinkDelivery::Plain,
                    Some("idempotent") => SinkDelivery::Idempotent,
                    Some("two_phase_commit") => SinkDelivery::TwoPhaseCommit,
                    Some("file") => SinkDelivery::File,
                    Some(other) => {
                        return Err(check.error(
                            path("delivery"),
                            format!("unknown delivery \"{other}\": expected plain, idempotent, two_phase_commit or file"),
                        ));
                    }
                };
                if op.transaction_timeout.is_some() && delivery != SinkDelivery::TwoPhaseCommit {
                    return Err(check.error(
                        path("transaction_timeout"),
                        "a transaction timeout only applies to a two_phase_commit sink",
                    ));
                }
                OperatorKind::Sink(SinkConfig {
                    delivery,
                    transaction_timeout_us: op.transaction_timeout.map(|d| d.as_micros()),
                })
            }
            other => {
                return Err(check.error(
                    path("kind"),
                    format!("unknown operator kind \"{other}\": expected one of source, map, filter, keyed_aggregation, union, sink"),
                ));
            }
        };
        if !is_source && op.inputs.is_empty() {
            return Err(check.error(
                path("inputs"),
                format!("a {} operator needs at least one input", op.kind),
            ));
        }
        let mut inputs = Vec::new();
        for (input_index, input) in op.inputs.iter().enumerate() {
            let input_path = format!("job.operators[{index}].inputs[{input_index}]");
            let partitioner = match input.partitioner.as_str() {
                "forward" => Partitioner::Forward,
                "hash" => Partitioner::Hash,
                "rebalance" => Partitioner::Rebalance,
                "broadcast" => Partitioner::Broadcast,
                other => {
                    return Err(check.error(
                        format!("{input_path}.partitioner"),
                        format!("unknown partitioner \"{other}\": expected forward, hash, rebalance or broadcast"),
                    ));
                }
            };
            let Some(&from) = index_of.get(input.from.as_str()) else {
                let known: Vec<&str> = index_of.keys().copied().collect();
                return Err(check.error(
                    format!("{input_path}.from"),
                    format!(
                        "unknown operator \"{}\": expected one of {}",
                        input.from,
                        known.join(", ")
                    ),
                ));
            };
            if from == index {
                return Err(check.error(
                    format!("{input_path}.from"),
                    "an operator cannot consume its own output",
                ));
            }
            if let Some(first) = op.inputs[..input_index]
                .iter()
                .position(|earlier| earlier.from == input.from)
            {
                return Err(check.error(
                    format!("{input_path}.from"),
                    format!(
                        "\"{}\" is already an input at inputs[{first}]: an operator reads each upstream operator once (snapsim does not model a stream unioned with itself)",
                        input.from
                    ),
                ));
            }
            if spec.operators[from].kind == "sink" {
                return Err(check.error(
                    format!("{input_path}.from"),
                    format!(
                        "\"{}\" is a sink: a sink writes to the outside world and has no output stream (Flink's DataStreamSink); read from the operator before it",
                        input.from
                    ),
                ));
            }
            if matches!(kind, OperatorKind::KeyedAggregation { .. })
                && partitioner != Partitioner::Hash
            {
                return Err(check.error(
                    format!("{input_path}.partitioner"),
                    "a keyed aggregation reads a keyed stream: its inputs must use the \"hash\" partitioner (keyBy)",
                ));
            }
            if partitioner == Partitioner::Forward
                && spec.operators[from].parallelism != op.parallelism
            {
                return Err(check.error(
                    format!("{input_path}.partitioner"),
                    format!(
                        "a forward edge needs equal parallelism, but \"{}\" has {} and \"{}\" has {}",
                        input.from, spec.operators[from].parallelism, op.name, op.parallelism
                    ),
                ));
            }
            inputs.push((input.from.clone(), partitioner));
        }
        input_names.push(inputs);
        operators.push(Operator {
            name: op.name.clone(),
            uid: op.uid.clone().unwrap_or_else(|| op.name.clone()),
            parallelism: op.parallelism,
            kind,
            inputs: Vec::new(),
            cost,
            chainable: op.chain.unwrap_or(true),
            state_compressibility,
        });
    }
    // Topological order (Kahn), so inputs always come before their consumers; a cycle is an error.
    let count = operators.len();
    let mut order = Vec::with_capacity(count);
    let mut placed = vec![false; count];
    while order.len() < count {
        let next = (0..count).find(|&i| {
            !placed[i]
                && input_names[i]
                    .iter()
                    .all(|(from, _)| placed[index_of[from.as_str()]])
        });
        let Some(next) = next else {
            let stuck = (0..count)
                .find(|&i| !placed[i])
                .expect("some operator is left");
            return Err(check.error(
                format!("job.operators[{stuck}].inputs"),
                "the job graph has a cycle; Flink jobs are directed acyclic graphs",
            ));
        };
        placed[next] = true;
        order.push(next);
    }
    let new_index: BTreeMap<usize, usize> = order
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new))
        .collect();
    let mut sorted: Vec<Operator> = order.iter().map(|&old| operators[old].clone()).collect();
    for (new, &old) in order.iter().enumerate() {
        sorted[new].inputs = input_names[old]
            .iter()
            .map(|(from, partitioner)| Input {
                from: new_index[&index_of[from.as_str()]],
                partitioner: *partitioner,
            })
            .collect();
    }
    if !sorted
        .iter()
        .any(|o| matches!(o.kind, OperatorKind::Source(_)))
    {
        return Err(check.error("job.operators", "a job needs at least one source"));
    }
    let largest = sorted.iter().map(|o| o.parallelism).max().unwrap_or(1);
    let max_parallelism = spec
        .max_parallelism
        .unwrap_or_else(|| default_max_parallelism(largest));
    if max_parallelism < largest || max_parallelism > 32_768 {
        return Err(check.error(
            "job.max_parallelism",
            format!("expected between the largest parallelism ({largest}) and 32768, got {max_parallelism}"),
        ));
    }
    Ok(JobGraph {
        operators: sorted,
        max_parallelism,
    })
}

fn validate_checkpointing(
    spec: &CheckpointingSpec,
    check: &Checker,
) -> Result<CheckpointConfig, ScenarioError> {
    let Some(interval) = spec.interval else {
        return Err(check.error("checkpointing.interval", "missing: set the checkpoint interval (execution.checkpointing.interval), or leave out `checkpointing` to run without checkpoints"));
    };
    if interval.as_micros() < 1_000 {
        return Err(check.error("checkpointing.interval", format!("Flink's minimum checkpoint interval is 10 ms; snapsim allows down to 1 ms, got {interval}")));
    }
    let exactly_once = match spec.mode.as_deref() {
        None | Some("EXACTLY_ONCE") => true,
        Some("AT_LEAST_ONCE") => false,
        Some(other) => {
            return Err(check.error(
                "checkpointing.mode",
                format!("unknown mode \"{other}\": expected \"EXACTLY_ONCE\" or \"AT_LEAST_ONCE\""),
            ));
        }
    };
    let unaligned = spec.unaligned.unwrap_or(false);
    if unaligned && !exactly_once {
        return Err(check.error("checkpointing.unaligned", "unaligned checkpoints only exist for EXACTLY_ONCE (Flink rejects them with AT_LEAST_ONCE)"));
    }
    let timeout = spec.aligned_checkpoint_timeout.map_or(0, |d| d.as_micros());
    if timeout > 0 && !unaligned {
        return Err(check.error(
            "checkpointing.aligned-checkpoint-timeout",
            "the aligned checkpoint timeout only applies with `\"unaligned\": true`",
        ));
    }
    let min_pause_us = spec.min_pause.map_or(0, |d| d.as_micros());
    let mut max_concurrent = spec.max_concurrent_checkpoints.unwrap_or(1);
    if max_concurrent == 0 {
        return Err(check.error(
            "checkpointing.max-concurrent-checkpoints",
            "expected at least 1",
        ));
    }
    if unaligned && max_concurrent > 1 {
        return Err(check.error("checkpointing.max-concurrent-checkpoints", "unaligned checkpoints run one at a time (Flink requires max-concurrent-checkpoints = 1)"));
    }
    if min_pause_us > 0 {
        // Flink: a minimum pause implies at most one checkpoint in flight.
        max_concurrent = 1;
    }
    let protocol = match spec.protocol.as_deref() {
        None | Some("flink") => {
            if !exactly_once {
                SnapshotProtocol::AtLeastOnce
            } else if unaligned && timeout == 0 {
                SnapshotProtocol::Unaligned
            } else if unaligned {
                SnapshotProtocol::AlignedWithTimeout {
                    timeout_us: timeout,
                }
            } else {
                SnapshotProtocol::Aligned
            }
        }
        Some(other @ ("chandy-lamport" | "stop-the-world")) => {
            if unaligned || !exactly_once {
                return Err(check.error("checkpointing.protocol", format!("the {other} protocol takes no `mode` or `unaligned` setting: leave them out")));
            }
            if other == "chandy-lamport" {
                SnapshotProtocol::ChandyLamport
            } else {
                SnapshotProtocol::StopTheWorld
            }
        }
        Some(other) => {
            return Err(check.error("checkpointing.protocol", format!("unknown protocol \"{other}\": expected \"flink\", \"chandy-lamport\" or \"stop-the-world\"")));
        }
    };
    if matches!(protocol, SnapshotProtocol::StopTheWorld) {
        max_concurrent = 1;
    }
    Ok(CheckpointConfig {
        interval_us: interval.as_micros(),
        protocol,
        min_pause_us,
        max_concurrent,
        timeout_us: spec.timeout.map_or(600_000_000, |d| d.as_micros()),
        tolerable_failed: spec.tolerable_failed_checkpoints.unwrap_or(0),
        num_retained: spec.num_retained.unwrap_or(1).max(1),
    })
}

fn validate_faults(
    file: &ScenarioFile,
    job: &JobGraph,
    cluster: &Cluster,
    checkpointing: bool,
    check: &Checker,
) -> Result<FaultPlan, ScenarioError> {
    let restart = match &file.restart_strategy {
        None => {
            if checkpointing {
                RestartStrategy::flink_default()
            } else {
                RestartStrategy::None
            }
        }
        Some(spec) => validate_restart(spec, check)?,
    };
    let mut plan = FaultPlan::none(restart);
    plan.region_failover = match file.failover_strategy.as_deref() {
        None | Some("region") => true,
        Some("full") => false,
        Some(other) => {
            return Err(check.error(
                "failover-strategy",
                format!("unknown failover strategy \"{other}\": expected \"region\" or \"full\""),
            ));
        }
    };
    // The broken recovery variant lives with the failover logic.
    plan.restore_from_pending = file.protocol_variant.as_deref() == Some("restore_from_pending");
    plan.high_availability = match file
        .cluster
        .as_ref()
        .and_then(|c| c.high_availability.as_deref())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("none") => HighAvailability::None,
        Some("zookeeper") => HighAvailability::ZooKeeper,
        Some("kubernetes") => HighAvailability::Kubernetes,
        Some(other) => {
            return Err(check.error(
                "cluster.high-availability",
                format!(
                    "unknown high-availability type \"{other}\": expected \"none\", \"zookeeper\" or \"kubernetes\""
                ),
            ));
        }
    };
    let Some(spec) = &file.faults else {
        return Ok(plan);
    };
    if let Some(timeout) = spec.heartbeat_timeout {
        plan.heartbeat_timeout_us = timeout.as_micros();
    }
    let graph = job.expand(cluster);
    let task_of = |path: String, subtask: &SubtaskSpec| -> Result<TaskIndex, ScenarioError> {
        let Some(operator) = job
            .operators
            .iter()
            .position(|o| o.name == subtask.operator)
        else {
            let names: Vec<&str> = job.operators.iter().map(|o| o.name.as_str()).collect();
            return Err(check.error(
                format!("{path}.operator"),
                format!(
                    "unknown operator \"{}\": expected one of {}",
                    subtask.operator,
                    names.join(", ")
                ),
            ));
        };
        let parallelism = job.operators[operator].parallelism;
        if subtask.subtask >= parallelism {
            return Err(check.error(
                format!("{path}.subtask"),
                format!(
                    "\"{}\" has parallelism {parallelism}: subtasks are 0..{}",
                    subtask.operator,
                    parallelism - 1
                ),
            ));
        }
        Ok(graph.operator_first_task[operator] + subtask.subtask as usize)
    };
    let task_manager = |path: String, index: u32| -> Result<u32, ScenarioError> {
        if index >= cluster.task_managers {
            Err(check.error(
                path,
                format!(
                    "there are {} task manager(s), numbered from 0",
                    cluster.task_managers
                ),
            ))
        } else {
            Ok(index)
        }
    };
    let positive_factor = |path: String, factor: f64| -> Result<f64, ScenarioError> {
        if factor.is_finite() && (1.0..=1e6).contains(&factor) {
            Ok(factor)
        } else {
            Err(check.error(
                path,
                format!("expected a slowdown factor of at least 1, got {factor}"),
            ))
        }
    };
    for (index, fault) in spec.scheduled.iter().enumerate() {
        let path = format!("faults.scheduled[{index}]");
        let mut kinds = Vec::new();
        if let Some(subtask) = &fault.task_crash {
            kinds.push(FaultKind::TaskCrash {
                task: task_of(format!("{path}.task-crash"), subtask)?,
            });
        }
        if let Some(tm) = fault.task_manager_crash {
            kinds.push(FaultKind::TaskManagerCrash {
                task_manager: task_manager(format!("{path}.task-manager-crash"), tm)?,
            });
        }
        if let Some(partition) = &fault.network_partition {
            let a = task_manager(
                format!("{path}.network-partition.between"),
                partition.between.0,
            )?;
            let b = task_manager(
                format!("{path}.network-partition.between"),
                partition.between.1,
            )?;
            if a == b {
                return Err(check.error(
                    format!("{path}.network-partition.between"),
                    "a partition is between two different task managers",
                ));
            }
            kinds.push(FaultKind::NetworkPartition {
                task_managers: (a, b),
                duration_us: partition.duration.as_micros(),
            });
        }
        if let Some(partition) = &fault.job_manager_partition {
            kinds.push(FaultKind::JobManagerPartition {
                task_manager: task_manager(
                    format!("{path}.job-manager-partition.task-manager"),
                    partition.task_manager,
                )?,
                duration_us: partition.duration.as_micros(),
            });
        }
        if let Some(spike) = &fault.latency_spike {
            kinds.push(FaultKind::LatencySpike {
                extra_us: spike.extra.as_micros(),
                duration_us: spike.duration.as_micros(),
            });
        }
        if let Some(straggler) = &fault.straggler {
            let subtask = SubtaskSpec {
                operator: straggler.operator.clone(),
                subtask: straggler.subtask,
            };
            kinds.push(FaultKind::Straggler {
                task: task_of(format!("{path}.straggler"), &subtask)?,
                factor: positive_factor(format!("{path}.straggler.factor"), straggler.factor)?,
                duration_us: straggler.duration.as_micros(),
            });
        }
        if let Some(outage) = &fault.storage_outage {
            kinds.push(FaultKind::StorageOutage {
                duration_us: outage.duration.as_micros(),
            });
        }
        if let Some(slowdown) = &fault.storage_slowdown {
            kinds.push(FaultKind::StorageSlowdown {
                factor: positive_factor(
                    format!("{path}.storage-slowdown.factor"),
                    slowdown.factor,
                )?,
                duration_us: slowdown.duration.as_micros(),
            });
        }
        if let Some(subtask) = &fault.decline_checkpoint {
            kinds.push(FaultKind::DeclineCheckpoint {
                task: task_of(format!("{path}.decline-checkpoint"), subtask)?,
            });
        }
        if let Some(lost) = &fault.lose_completion_notices {
            kinds.push(FaultKind::LoseCompletionNotices {
                duration_us: lost.duration.as_micros(),
            });
        }
        if let Some(crash) = &fault.job_manager_crash {
            if cluster.hosts.job_manager_host().is_some() {
                return Err(check.error(
                    format!("{path}.job-manager-crash"),
                    "a MiniCluster runs the JobManager and its task managers in one process: it cannot lose the JobManager alone (drop `cluster.mini-cluster`)",
                ));
            }
            kinds.push(FaultKind::JobManagerCrash {
                restart_after_us: crash.restart_after.as_micros(),
            });
        }
        if kinds.len() != 1 {
            return Err(check.error(
                path,
                "each scheduled fault needs exactly one kind: task-crash, task-manager-crash, network-partition, job-manager-partition, latency-spike, straggler, storage-outage, storage-slowdown, decline-checkpoint, lose-completion-notices or job-manager-crash",
            ));
        }
        plan.scheduled.push(ScheduledFault {
            at: SimTime::from_micros(fault.at.as_micros()),
            kind: kinds.remove(0),
        });
    }
    for (index, random) in spec.random.iter().enumerate() {
        let path = format!("faults.random[{index}]");
        let (task_managers, mtbf) =
            match (&random.task_manager_crashes, &random.task_crashes) {
                (Some(m), None) => (true, m.mtbf),
                (None, Some(m)) => (false, m.mtbf),
                _ => return Err(check.error(
                    path,
                    "each random fault needs exactly one of task-manager-crashes or task-crashes",
                )),
            };
        if mtbf.as_micros() < 1_000 {
            return Err(check.error(
                format!("{path}.mtbf"),
                "a mean time between failures below 1 ms would never let the job run",
            ));
        }
        plan.random.push(RandomFaults {
            task_managers,
            mtbf_us: mtbf.as_micros(),
        });
    }
    Ok(plan)
}

fn validate_restart(
    spec: &RestartStrategySpec,
    check: &Checker,
) -> Result<RestartStrategy, ScenarioError> {
    let allowed: &[&str] = match spec.kind.as_str() {
        "none" => &[],
        "fixed-delay" => &["attempts", "delay"],
        "failure-rate" => &[
            "max-failures-per-interval",
            "failure-rate-interval",
            "delay",
        ],
        "exponential-delay" => &[
            "initial-backoff",
            "max-backoff",
            "backoff-multiplier",
            "reset-backoff-threshold",
            "jitter-factor",
        ],
        other => {
            return Err(check.error(
                "restart-strategy.type",
                format!("unknown restart strategy \"{other}\": expected none, fixed-delay, failure-rate or exponential-delay"),
            ));
        }
    };
    let present = [
        ("attempts", spec.attempts.is_some()),
        ("delay", spec.delay.is_some()),
        (
            "max-failures-per-interval",
            spec.max_failures_per_interval.is_some(),
        ),
        (
            "failure-rate-interval",
            spec.failure_rate_interval.is_some(),
        ),
        ("initial-backoff", spec.initial_backoff.is_some()),
        ("max-backoff", spec.max_backoff.is_some()),
        ("backoff-multiplier", spec.backoff_multiplier.is_some()),
        (
            "reset-backoff-threshold",
            spec.reset_backoff_threshold.is_some(),
        ),
        ("jitter-factor", spec.jitter_factor.is_some()),
    ];
    for (name, is_present) in present {
        if is_present && !allowed.contains(&name) {
            return Err(check.error(
                format!("restart-strategy.{name}"),
                format!("`{name}` does not apply to the {} strategy", spec.kind),
            ));
        }
    }
    Ok(match spec.kind.as_str() {
        "none" => RestartStrategy::None,
        "fixed-delay" => RestartStrategy::FixedDelay {
            attempts: spec.attempts.unwrap_or(1),
            delay_us: spec.delay.map_or(1_000_000, |d| d.as_micros()),
        },
        "failure-rate" => RestartStrategy::FailureRate {
            max_failures: spec.max_failures_per_interval.unwrap_or(1),
            interval_us: spec
                .failure_rate_interval
                .map_or(60_000_000, |d| d.as_micros()),
            delay_us: spec.delay.map_or(1_000_000, |d| d.as_micros()),
        },
        _ => {
            let multiplier = spec.backoff_multiplier.unwrap_or(1.5);
            let jitter = spec.jitter_factor.unwrap_or(0.1);
            if !(multiplier.is_finite() && multiplier >= 1.0) {
                return Err(check.error(
                    "restart-strategy.backoff-multiplier",
                    format!("expected at least 1, got {multiplier}"),
                ));
            }
            if !(0.0..=1.0).contains(&jitter) {
                return Err(check.error(
                    "restart-strategy.jitter-factor",
                    format!("expected between 0 and 1, got {jitter}"),
                ));
            }
            RestartStrategy::ExponentialDelay {
                initial_us: spec.initial_backoff.map_or(1_000_000, |d| d.as_micros()),
                max_us: spec.max_backoff.map_or(60_000_000, |d| d.as_micros()),
                multiplier,
                reset_after_us: spec
                    .reset_backoff_threshold
                    .map_or(3_600_000_000, |d| d.as_micros()),
                jitter,
            }
        }
    })
}
