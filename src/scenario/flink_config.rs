//! Flink's own configuration keys, exactly as Flink 2.x spells them in `config.yaml`, in a
//! scenario's `config` section (alias `flink-conf`): flat dotted keys
//! (`"execution.checkpointing.interval": "1s"`) or the nested form
//! (`{"execution": {"checkpointing": {"interval": "1s"}}}`), or both.
//!
//! Each key sets the same thing as the scenario's own section for it (the names there are kept as
//! documented aliases: `checkpointing.interval` is `execution.checkpointing.interval`). Values are
//! read the way Flink reads them:
//! - durations as `TimeUtils.parseDuration` does: a bare number is milliseconds (`1000`, `"1000"`),
//!   otherwise a number and a unit with optional space (`"2 s"`, `"1 min"`, `"500 ms"`; units `ns`,
//!   `us`/`µs`, `ms`, `s`, `min`, `h`, `d` and their long forms, in any case);
//! - memory sizes as `MemorySize.parse`: a bare number is bytes, units `b`, `k`/`kb`, `m`/`mb`, `g`/`gb`;
//! - enums case-insensitively (`exactly_once` is `EXACTLY_ONCE`, `RocksDB` is `rocksdb`), and
//!   booleans and integers also as strings, since YAML hands Flink strings.
//!
//! A key snapsim does not model is refused with the list of those it does; a setting given both
//! here and in its section is refused, naming both places.

use super::dataflow_file::{
    ClusterSpec, FaultsSpec, JobSpec, NetworkSpec, RestartStrategySpec, StateSpec,
};
use super::duration::{DurationUs, parse_duration_us};
use super::error::ScenarioError;
use super::file::ScenarioFile;
use super::size::{Bytes, parse_bytes};
use serde_json::{Map, Value};

/// What a key's value is read as.
#[derive(Clone, Copy)]
enum Kind {
    Duration,
    Size,
    Integer,
    Boolean,
    /// A string enum: (accepted spellings, lowercased → the canonical value the section takes).
    Enum(&'static [(&'static str, &'static str)]),
    Number,
}

const MODES: &[(&str, &str)] = &[
    ("exactly_once", "EXACTLY_ONCE"),
    ("at_least_once", "AT_LEAST_ONCE"),
];
const BACKENDS: &[(&str, &str)] = &[("hashmap", "hashmap"), ("rocksdb", "rocksdb")];
const RESTART_TYPES: &[(&str, &str)] = &[
    ("none", "none"),
    ("off", "none"),
    ("disable", "none"),
    ("fixed-delay", "fixed-delay"),
    ("fixeddelay", "fixed-delay"),
    ("failure-rate", "failure-rate"),
    ("failurerate", "failure-rate"),
    ("exponential-delay", "exponential-delay"),
    ("exponentialdelay", "exponential-delay"),
];
const FAILOVER: &[(&str, &str)] = &[("region", "region"), ("full", "full")];
const HIGH_AVAILABILITY: &[(&str, &str)] = &[
    ("none", "none"),
    ("zookeeper", "zookeeper"),
    ("kubernetes", "kubernetes"),
];

/// Every Flink key snapsim reads, with what it sets (the section's own name, for messages).
const KEYS: &[(&str, Kind, &str)] = &[
    (
        "execution.checkpointing.interval",
        Kind::Duration,
        "checkpointing.interval",
    ),
    (
        "execution.checkpointing.mode",
        Kind::Enum(MODES),
        "checkpointing.mode",
    ),
    (
        "execution.checkpointing.unaligned.enabled",
        Kind::Boolean,
        "checkpointing.unaligned",
    ),
    (
        "execution.checkpointing.unaligned",
        Kind::Boolean,
        "checkpointing.unaligned",
    ),
    (
        "execution.checkpointing.aligned-checkpoint-timeout",
        Kind::Duration,
        "checkpointing.aligned-checkpoint-timeout",
    ),
    (
        "execution.checkpointing.min-pause",
        Kind::Duration,
        "checkpointing.min-pause",
    ),
    (
        "execution.checkpointing.max-concurrent-checkpoints",
        Kind::Integer,
        "checkpointing.max-concurrent-checkpoints",
    ),
    (
        "execution.checkpointing.timeout",
        Kind::Duration,
        "checkpointing.timeout",
    ),
    (
        "execution.checkpointing.tolerable-failed-checkpoints",
        Kind::Integer,
        "checkpointing.tolerable-failed-checkpoints",
    ),
    (
        "execution.checkpointing.num-retained",
        Kind::Integer,
        "checkpointing.num-retained",
    ),
    (
        "execution.checkpointing.incremental",
        Kind::Boolean,
        "state.incremental",
    ),
    ("state.backend.type", Kind::Enum(BACKENDS), "state.backend"),
    ("state.backend", Kind::Enum(BACKENDS), "state.backend"),
    (
        "taskmanager.numberOfTaskSlots",
        Kind::Integer,
        "cluster.slots-per-task-manager",
    ),
    (
        "taskmanager.cpu.cores",
        Kind::Integer,
        "cluster.taskmanager.cpu.cores",
    ),
    (
        "high-availability.type",
        Kind::Enum(HIGH_AVAILABILITY),
        "cluster.high-availability",
    ),
    (
        "heartbeat.timeout",
        Kind::Duration,
        "faults.heartbeat-timeout",
    ),
    (
        "taskmanager.memory.segment-size",
        Kind::Size,
        "network.segment-size",
    ),
    (
        "execution.buffer-timeout.interval",
        Kind::Duration,
        "network.buffer-timeout",
    ),
    (
        "taskmanager.network.memory.buffers-per-channel",
        Kind::Integer,
        "network.buffers-per-channel",
    ),
    (
        "taskmanager.network.memory.floating-buffers-per-gate",
        Kind::Integer,
        "network.floating-buffers-per-gate",
    ),
    (
        "taskmanager.network.memory.max-buffers-per-channel",
        Kind::Integer,
        "network.max-buffers-per-channel",
    ),
    (
        "pipeline.max-parallelism",
        Kind::Integer,
        "job.max_parallelism",
    ),
    (
        "jobmanager.execution.failover-strategy",
        Kind::Enum(FAILOVER),
        "failover-strategy",
    ),
    (
        "restart-strategy.type",
        Kind::Enum(RESTART_TYPES),
        "restart-strategy.type",
    ),
    (
        "restart-strategy.fixed-delay.attempts",
        Kind::Integer,
        "restart-strategy.attempts",
    ),
    (
        "restart-strategy.fixed-delay.delay",
        Kind::Duration,
        "restart-strategy.delay",
    ),
    (
        "restart-strategy.failure-rate.max-failures-per-interval",
        Kind::Integer,
        "restart-strategy.max-failures-per-interval",
    ),
    (
        "restart-strategy.failure-rate.failure-rate-interval",
        Kind::Duration,
        "restart-strategy.failure-rate-interval",
    ),
    (
        "restart-strategy.failure-rate.delay",
        Kind::Duration,
        "restart-strategy.delay",
    ),
    (
        "restart-strategy.exponential-delay.initial-backoff",
        Kind::Duration,
        "restart-strategy.initial-backoff",
    ),
    (
        "restart-strategy.exponential-delay.max-backoff",
        Kind::Duration,
        "restart-strategy.max-backoff",
    ),
    (
        "restart-strategy.exponential-delay.backoff-multiplier",
        Kind::Number,
        "restart-strategy.backoff-multiplier",
    ),
    (
        "restart-strategy.exponential-delay.reset-backoff-threshold",
        Kind::Duration,
        "restart-strategy.reset-backoff-threshold",
    ),
    (
        "restart-strategy.exponential-delay.jitter-factor",
        Kind::Number,
        "restart-strategy.jitter-factor",
    ),
];

/// A value read from the configuration, typed.
#[derive(Clone, Debug)]
enum Setting {
    Duration(u64),
    Size(u64),
    Integer(u32),
    Boolean(bool),
    Text(String),
    Number(f64),
}

/// Flattens nested objects into dotted keys, keeping where each came from.
fn flatten(prefix: &str, map: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (key, value) in map {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            // A nested object continues the key; but no Flink key snapsim reads takes an object.
            Value::Object(inner) => flatten(&full, inner, out),
            other => out.push((full, other.clone())),
        }
    }
}

/// Flink's `TimeUtils.parseDuration`: a bare number is milliseconds.
fn parse_flink_duration(value: &Value) -> Result<u64, String> {
    let text = match value {
        Value::Number(n) => match n.as_u64() {
            Some(ms) => {
                return ms
                    .checked_mul(1000)
                    .ok_or("too long to simulate".to_string());
            }
            None => return Err(format!("expected a whole number of milliseconds, got {n}")),
        },
        Value::String(text) => text.trim().to_string(),
        other => {
            return Err(format!(
                "expected a duration such as \"1s\" or 1000 (ms), got {other}"
            ));
        }
    };
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        let ms: u64 = text
            .parse()
            .map_err(|_| format!("\"{text}\" is too long to simulate"))?;
        return ms
            .checked_mul(1000)
            .ok_or("too long to simulate".to_string());
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit = unit.trim().to_lowercase();
    let canonical = match unit.as_str() {
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => {
            // Below the engine's microsecond: only whole microseconds are kept.
            let ns: u64 = number
                .parse()
                .map_err(|_| format!("\"{text}\" is not a whole number of nanoseconds"))?;
            return Ok(ns / 1000);
        }
        "us" | "µs" | "micro" | "micros" | "microsecond" | "microseconds" => "us",
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => "ms",
        "s" | "sec" | "secs" | "second" | "seconds" => "s",
        "m" | "min" | "minute" | "minutes" => "min",
        "h" | "hour" | "hours" => "h",
        "d" | "day" | "days" => {
            let us = parse_duration_us(&format!("{number}h"))?;
            return us
                .checked_mul(24)
                .ok_or(format!("\"{text}\" is too long to simulate"));
        }
        _ => {
            return Err(format!(
                "unknown unit \"{unit}\" in \"{text}\": Flink takes ns, us, ms, s, min, h or d (or a bare number of milliseconds)"
            ));
        }
    };
    parse_duration_us(&format!("{number}{canonical}"))
}

/// Flink's `MemorySize.parse`: a bare number is bytes.
fn parse_flink_size(value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .filter(|&b| b <= 1_000_000_000_000_000)
            .ok_or(format!("expected a whole number of bytes, got {n}")),
        Value::String(text)
            if !text.trim().is_empty() && text.trim().chars().all(|c| c.is_ascii_digit()) =>
        {
            parse_bytes(&format!("{}b", text.trim()))
        }
        Value::String(text) => parse_bytes(text),
        other => Err(format!(
            "expected a memory size such as \"32kb\", got {other}"
        )),
    }
}

fn read(kind: Kind, value: &Value) -> Result<Setting, String> {
    match kind {
        Kind::Duration => parse_flink_duration(value).map(Setting::Duration),
        Kind::Size => parse_flink_size(value).map(Setting::Size),
        Kind::Integer => {
            let number = match value {
                Value::Number(n) => n.as_u64(),
                Value::String(text) => text.trim().parse::<u64>().ok(),
                _ => None,
            };
            number
                .and_then(|n| u32::try_from(n).ok())
                .map(Setting::Integer)
                .ok_or(format!(
                    "expected a whole number from 0 to {}, got {value}",
                    u32::MAX
                ))
        }
        Kind::Boolean => match value {
            Value::Bool(b) => Ok(Setting::Boolean(*b)),
            Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(Setting::Boolean(true)),
            Value::String(text) if text.eq_ignore_ascii_case("false") => {
                Ok(Setting::Boolean(false))
            }
            other => Err(format!("expected true or false, got {other}")),
        },
        Kind::Number => match value {
            Value::Number(n) => n.as_f64().map(Setting::Number).ok_or("not a number".into()),
            Value::String(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Setting::Number)
                .ok_or(format!("expected a number, got \"{text}\"")),
            other => Err(format!("expected a number, got {other}")),
        },
        Kind::Enum(values) => {
            let Value::String(text) = value else {
                return Err(format!(
                    "expected one of {}, got {value}",
                    spellings(values)
                ));
            };
            let lower = text.trim().to_lowercase();
            values
                .iter()
                .find(|(spelling, _)| *spelling == lower)
                .map(|(_, canonical)| Setting::Text(canonical.to_string()))
                .ok_or(format!(
                    "unknown value \"{text}\": expected one of {}",
                    spellings(values)
                ))
        }
    }
}

fn spellings(values: &[(&str, &str)]) -> String {
    let mut canonical: Vec<&str> = values.iter().map(|(_, c)| *c).collect();
    canonical.dedup();
    canonical
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sets `slot` from the configuration, refusing a value the section already gave.
fn set<T>(slot: &mut Option<T>, value: T, key: &str, section: &str) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!(
            "`{section}` is set both here and in its section: give it once (`{key}` is the Flink name of `{section}`)"
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// Applies the file's `config` section to its sections. Errors name `config.<key>`.
pub(super) fn apply(file: &mut ScenarioFile, label: &str) -> Result<(), ScenarioError> {
    let Some(config) = file.config.take() else {
        return Ok(());
    };
    let mut entries = Vec::new();
    flatten("", &config, &mut entries);
    let error = |key: &str, message: String| ScenarioError {
        file: label.to_string(),
        json_path: format!("config.{key}"),
        message,
        line_column: None,
    };
    if !entries.is_empty() && file.job.is_none() {
        return Err(error(
            &entries[0].0,
            "Flink configuration applies to dataflow scenarios, which need a `job`".into(),
        ));
    }
    for (key, value) in &entries {
        let Some(&(_, kind, section)) = KEYS.iter().find(|(name, _, _)| name == key) else {
            let known: Vec<&str> = KEYS.iter().map(|(name, _, _)| *name).collect();
            return Err(error(
                key,
                format!(
                    "snapsim does not model the Flink option `{key}`; the options it reads are: {}",
                    known.join(", ")
                ),
            ));
        };
        let setting = read(kind, value).map_err(|message| error(key, message))?;
        set_one(file, key, section, setting).map_err(|message| error(key, message))?;
    }
    Ok(())
}

/// The file's restart strategy, created empty (its type to be given) if absent.
fn restart(file: &mut ScenarioFile) -> &mut RestartStrategySpec {
    file.restart_strategy
        .get_or_insert_with(|| RestartStrategySpec {
            kind: String::new(),
            attempts: None,
            delay: None,
            max_failures_per_interval: None,
            failure_rate_interval: None,
            initial_backoff: None,
            max_backoff: None,
            backoff_multiplier: None,
            reset_backoff_threshold: None,
            jitter_factor: None,
        })
}

/// Sets the section field a Flink key names (`section` is its name there, for messages).
fn set_one(
    file: &mut ScenarioFile,
    key: &str,
    section: &str,
    setting: Setting,
) -> Result<(), String> {
    use Setting::*;
    // The sections a key writes into, created empty when the file has none.
    fn checkpointing(f: &mut ScenarioFile) -> &mut super::dataflow_file::CheckpointingSpec {
        f.checkpointing.get_or_insert_with(Default::default)
    }
    fn state(f: &mut ScenarioFile) -> &mut StateSpec {
        f.state.get_or_insert_with(StateSpec::default)
    }
    fn cluster(f: &mut ScenarioFile) -> &mut ClusterSpec {
        f.cluster.get_or_insert_with(ClusterSpec::default)
    }
    fn network(f: &mut ScenarioFile) -> &mut NetworkSpec {
        f.network.get_or_insert_with(NetworkSpec::default)
    }
    fn faults(f: &mut ScenarioFile) -> &mut FaultsSpec {
        f.faults.get_or_insert_with(FaultsSpec::default)
    }
    let (k, s) = (key, section);
    match (section, setting) {
        ("checkpointing.interval", Duration(us)) => {
            set(&mut checkpointing(file).interval, DurationUs(us), k, s)
        }
        ("checkpointing.mode", Text(mode)) => set(&mut checkpointing(file).mode, mode, k, s),
        ("checkpointing.unaligned", Boolean(b)) => set(&mut checkpointing(file).unaligned, b, k, s),
        ("checkpointing.aligned-checkpoint-timeout", Duration(us)) => set(
            &mut checkpointing(file).aligned_checkpoint_timeout,
            DurationUs(us),
            k,
            s,
        ),
        ("checkpointing.min-pause", Duration(us)) => {
            set(&mut checkpointing(file).min_pause, DurationUs(us), k, s)
        }
        ("checkpointing.max-concurrent-checkpoints", Integer(n)) => {
            set(&mut checkpointing(file).max_concurrent_checkpoints, n, k, s)
        }
        ("checkpointing.timeout", Duration(us)) => {
            set(&mut checkpointing(file).timeout, DurationUs(us), k, s)
        }
        ("checkpointing.tolerable-failed-checkpoints", Integer(n)) => set(
            &mut checkpointing(file).tolerable_failed_checkpoints,
            n,
            k,
            s,
        ),
        ("checkpointing.num-retained", Integer(n)) => {
            set(&mut checkpointing(file).num_retained, n, k, s)
        }
        ("state.incremental", Boolean(b)) => set(&mut state(file).incremental, b, k, s),
        ("state.backend", Text(backend)) => set(&mut state(file).backend, backend, k, s),
        ("cluster.slots-per-task-manager", Integer(n)) => {
            set(&mut cluster(file).slots_per_task_manager, n, k, s)
        }
        ("cluster.taskmanager.cpu.cores", Integer(n)) => set(&mut cluster(file).cpu_cores, n, k, s),
        ("cluster.high-availability", Text(kind)) => {
            set(&mut cluster(file).high_availability, kind, k, s)
        }
        ("faults.heartbeat-timeout", Duration(us)) => {
            set(&mut faults(file).heartbeat_timeout, DurationUs(us), k, s)
        }
        ("network.segment-size", Size(bytes)) => {
            set(&mut network(file).segment_size, Bytes(bytes), k, s)
        }
        ("network.buffer-timeout", Duration(us)) => {
            set(&mut network(file).buffer_timeout, DurationUs(us), k, s)
        }
        ("network.buffers-per-channel", Integer(n)) => {
            set(&mut network(file).buffers_per_channel, n, k, s)
        }
        ("network.floating-buffers-per-gate", Integer(n)) => {
            set(&mut network(file).floating_buffers_per_gate, n, k, s)
        }
        ("network.max-buffers-per-channel", Integer(n)) => {
            set(&mut network(file).max_buffers_per_channel, n, k, s)
        }
        ("job.max_parallelism", Integer(n)) => match file.job.as_mut() {
            Some(JobSpec {
                max_parallelism, ..
            }) => set(max_parallelism, n, k, s),
            None => Err("needs a `job`".into()),
        },
        ("failover-strategy", Text(strategy)) => set(&mut file.failover_strategy, strategy, k, s),
        ("restart-strategy.type", Text(kind)) => {
            let spec = restart(file);
            if !spec.kind.is_empty() {
                return Err(format!(
                    "`{section}` is set both here and in its section: give it once"
                ));
            }
            spec.kind = kind;
            Ok(())
        }
        ("restart-strategy.attempts", Integer(n)) => set(&mut restart(file).attempts, n, k, s),
        ("restart-strategy.delay", Duration(us)) => {
            set(&mut restart(file).delay, DurationUs(us), k, s)
        }
        ("restart-strategy.max-failures-per-interval", Integer(n)) => {
            set(&mut restart(file).max_failures_per_interval, n, k, s)
        }
        ("restart-strategy.failure-rate-interval", Duration(us)) => set(
            &mut restart(file).failure_rate_interval,
            DurationUs(us),
            k,
            s,
        ),
        ("restart-strategy.initial-backoff", Duration(us)) => {
            set(&mut restart(file).initial_backoff, DurationUs(us), k, s)
        }
        ("restart-strategy.max-backoff", Duration(us)) => {
            set(&mut restart(file).max_backoff, DurationUs(us), k, s)
        }
        ("restart-strategy.backoff-multiplier", Number(x)) => {
            set(&mut restart(file).backoff_multiplier, x, k, s)
        }
        ("restart-strategy.reset-backoff-threshold", Duration(us)) => set(
            &mut restart(file).reset_backoff_threshold,
            DurationUs(us),
            k,
            s,
        ),
        ("restart-strategy.jitter-factor", Number(x)) => {
            set(&mut restart(file).jitter_factor, x, k, s)
        }
        (section, setting) => unreachable!("{section} cannot take {setting:?}"),
    }
}

/// A restart strategy's options given without its `restart-strategy.type` (Flink then infers
/// nothing either): refused, after the whole section is applied.
pub(super) fn check_restart_type(file: &ScenarioFile, label: &str) -> Result<(), ScenarioError> {
    match &file.restart_strategy {
        Some(spec) if spec.kind.is_empty() => Err(ScenarioError {
            file: label.to_string(),
            json_path: "config.restart-strategy.type".into(),
            message: "restart-strategy options are given without `restart-strategy.type` (none, fixed-delay, failure-rate or exponential-delay)".into(),
            line_column: None,
        }),
        _ => Ok(()),
    }
}
