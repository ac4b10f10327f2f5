//! Bad dataflow scenarios get a clear error: the file, the JSON path, and what was expected.
//! Each case breaks a valid job in one place, the way a learner editing a scenario might.

use serde_json::{Value, json};
use snapsim::scenario::parse_str;

/// A valid job: source → keyed sum → sink, checkpointed, with a crash and a restart strategy.
fn base() -> Value {
    json!({
        "description": "a small keyed job",
        "job": {"operators": [
            {"name": "source", "kind": "source", "parallelism": 2, "rate_per_s": 1000, "records": 500, "keys": 20},
            {"name": "sum", "kind": "keyed_aggregation", "parallelism": 2,
             "inputs": [{"from": "source", "partitioner": "hash"}]},
            {"name": "sink", "kind": "sink", "parallelism": 1,
             "inputs": [{"from": "sum", "partitioner": "rebalance"}]}
        ]},
        "cluster": {"task-managers": 2, "slots-per-task-manager": 2},
        "checkpointing": {"interval": "100ms"},
        "faults": {"scheduled": [{"at": "200ms", "task-crash": {"operator": "sum", "subtask": 1}}]},
        "restart-strategy": {"type": "fixed-delay", "attempts": 3, "delay": "50ms"}
    })
}

/// Applies `change` to the base job and returns the loader's error message.
fn error_after(change: impl FnOnce(&mut Value)) -> String {
    let mut scenario = base();
    change(&mut scenario);
    match parse_str(&scenario.to_string(), "job.json", "job") {
        Ok(_) => panic!("expected an error for:\n{scenario:#}"),
        Err(error) => error.to_string(),
    }
}

/// The message names the file, then the JSON path, then says what was expected.
fn assert_error(message: &str, path: &str, fragment: &str) {
    let prefix = format!("job.json: at `{path}`");
    assert!(
        message.starts_with(&prefix),
        "expected the message to start with {prefix:?}: {message}"
    );
    assert!(
        message.contains(fragment),
        "expected {fragment:?} in: {message}"
    );
}

#[test]
fn the_base_job_is_valid() {
    parse_str(&base().to_string(), "job.json", "job").expect("the base job is valid");
}

#[test]
fn an_input_from_an_unknown_operator_lists_the_known_ones() {
    let message = error_after(|s| s["job"]["operators"][2]["inputs"][0]["from"] = json!("summ"));
    assert_error(
        &message,
        "job.operators[2].inputs[0].from",
        "unknown operator \"summ\": expected one of",
    );
}

#[test]
fn a_sink_has_no_output_to_read_from() {
    let message = error_after(|s| {
        let operators = s["job"]["operators"].as_array_mut().unwrap();
        operators.push(json!({"name": "after", "kind": "map", "parallelism": 1,
                              "inputs": [{"from": "sink", "partitioner": "forward"}]}));
    });
    assert_error(
        &message,
        "job.operators[3].inputs[0].from",
        "\"sink\" is a sink",
    );
}

#[test]
fn a_keyed_aggregation_needs_a_keyed_stream() {
    let message =
        error_after(|s| s["job"]["operators"][1]["inputs"][0]["partitioner"] = json!("rebalance"));
    assert_error(
        &message,
        "job.operators[1].inputs[0].partitioner",
        "\"hash\" partitioner (keyBy)",
    );
}

#[test]
fn a_forward_edge_between_different_parallelisms_is_rejected() {
    let message =
        error_after(|s| s["job"]["operators"][2]["inputs"][0]["partitioner"] = json!("forward"));
    assert_error(
        &message,
        "job.operators[2].inputs[0].partitioner",
        "a forward edge needs equal parallelism",
    );
}

#[test]
fn an_unknown_partitioner_lists_the_four() {
    let message =
        error_after(|s| s["job"]["operators"][2]["inputs"][0]["partitioner"] = json!("shuffle"));
    assert_error(
        &message,
        "job.operators[2].inputs[0].partitioner",
        "expected forward, hash, rebalance or broadcast",
    );
}

#[test]
fn an_unknown_operator_kind_lists_the_known_ones() {
    let message = error_after(|s| s["job"]["operators"][1]["kind"] = json!("reduce"));
    assert_error(
        &message,
        "job.operators[1].kind",
        "expected one of source, map, filter, keyed_aggregation, union, sink",
    );
}

#[test]
fn a_cycle_in_the_job_graph_is_rejected() {
    let message = error_after(|s| {
        s["job"]["operators"][1]["inputs"] = json!([
            {"from": "source", "partitioner": "hash"},
            {"from": "loop", "partitioner": "hash"}
        ]);
        s["job"]["operators"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "loop", "kind": "map", "parallelism": 2,
                         "inputs": [{"from": "sum", "partitioner": "forward"}]}));
    });
    assert!(message.contains("cycle"), "{message}");
    assert!(
        message.starts_with("job.json: at `job.operators["),
        "{message}"
    );
}

#[test]
fn too_few_slots_for_the_parallelism_are_explained() {
    let message = error_after(|s| {
        s["cluster"]["task-managers"] = json!(1);
        s["cluster"]["slots-per-task-manager"] = json!(1);
    });
    assert_error(
        &message,
        "cluster.slots-per-task-manager",
        "cannot run an operator of parallelism 2",
    );
}

#[test]
fn an_unknown_checkpointing_mode_names_flinks_two() {
    let message = error_after(|s| s["checkpointing"]["mode"] = json!("exactly_once"));
    assert_error(
        &message,
        "checkpointing.mode",
        "expected \"EXACTLY_ONCE\" or \"AT_LEAST_ONCE\"",
    );
}

#[test]
fn unaligned_checkpoints_with_at_least_once_are_refused_as_flink_does() {
    let message = error_after(|s| {
        s["checkpointing"]["mode"] = json!("AT_LEAST_ONCE");
        s["checkpointing"]["unaligned"] = json!(true);
    });
    assert_error(
        &message,
        "checkpointing.unaligned",
        "only exist for EXACTLY_ONCE",
    );
}

#[test]
fn a_malformed_interval_says_what_a_duration_looks_like() {
    let message = error_after(|s| s["checkpointing"]["interval"] = json!("100 msec"));
    assert_error(
        &message,
        "checkpointing.interval",
        "expected a duration such as \"250ms\"",
    );
}

#[test]
fn a_misspelled_checkpointing_option_is_named() {
    let message = error_after(|s| s["checkpointing"]["min_pause"] = json!("10ms"));
    assert!(
        message.starts_with("job.json: at `checkpointing"),
        "{message}"
    );
    assert!(message.contains("min_pause"), "{message}");
}

#[test]
fn a_crash_of_a_subtask_that_does_not_exist_gives_the_range() {
    let message = error_after(|s| s["faults"]["scheduled"][0]["task-crash"]["subtask"] = json!(2));
    assert_error(
        &message,
        "faults.scheduled[0].task-crash.subtask",
        "subtasks are 0..",
    );
}

#[test]
fn a_fault_with_two_kinds_is_ambiguous() {
    let message = error_after(|s| s["faults"]["scheduled"][0]["task-manager-crash"] = json!(0));
    assert_error(
        &message,
        "faults.scheduled[0]",
        "each scheduled fault needs exactly one kind",
    );
}

#[test]
fn an_unknown_restart_strategy_lists_flinks() {
    let message = error_after(|s| s["restart-strategy"]["type"] = json!("fixeddelay"));
    assert_error(
        &message,
        "restart-strategy.type",
        "expected none, fixed-delay, failure-rate or exponential-delay",
    );
}

#[test]
fn an_option_of_another_restart_strategy_is_named() {
    let message = error_after(|s| s["restart-strategy"]["backoff-multiplier"] = json!(2.0));
    assert_error(
        &message,
        "restart-strategy.backoff-multiplier",
        "does not apply to the fixed-delay strategy",
    );
}

#[test]
fn a_transaction_timeout_needs_a_two_phase_commit_sink() {
    let message = error_after(|s| s["job"]["operators"][2]["transaction_timeout"] = json!("1s"));
    assert_error(
        &message,
        "job.operators[2].transaction_timeout",
        "only applies to a two_phase_commit sink",
    );
}

#[test]
fn high_availability_names_one_of_flinks_types() {
    let message = error_after(|s| s["cluster"]["high-availability"] = json!("etcd"));
    assert_error(
        &message,
        "cluster.high-availability",
        "expected \"none\", \"zookeeper\" or \"kubernetes\"",
    );
}

#[test]
fn a_mini_cluster_cannot_lose_its_job_manager_alone() {
    let message = error_after(|s| {
        s["cluster"]["mini-cluster"] = json!({"cores": 2});
        s["faults"]["scheduled"][0] =
            json!({"at": "200ms", "job-manager-crash": {"restart-after": "1s"}});
    });
    assert_error(
        &message,
        "faults.scheduled[0].job-manager-crash",
        "one process",
    );
}

#[test]
fn a_savepoint_the_named_scenario_never_takes_is_refused_with_the_ones_it_does() {
    let mut scenario = base();
    scenario["faults"] = json!({"scheduled": []});
    scenario["start-from-savepoint"] =
        json!({"scenario": "flink-savepoint-v1.json", "savepoint": 7});
    let label = format!("{}/scenarios/job.json", env!("CARGO_MANIFEST_DIR"));
    let message = match snapsim::deployment::parse(&scenario.to_string(), &label, "job") {
        Ok(_) => panic!("expected an error"),
        Err(error) => error.to_string(),
    };
    assert!(
        message.contains("at `start-from-savepoint.savepoint`")
            && message.contains("its savepoints are 6, 12"),
        "{message}"
    );
    scenario["start-from-savepoint"] = json!({"scenario": "no-such-file.json", "savepoint": 6});
    let message = snapsim::deployment::parse(&scenario.to_string(), &label, "job")
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("at `start-from-savepoint.scenario`") && message.contains("cannot read"),
        "{message}"
    );
}

/// Valid, but maybe not what it reads like: the warnings `validate` and `run` print.
fn warnings_after(change: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut scenario = base();
    change(&mut scenario);
    parse_str(&scenario.to_string(), "job.json", "job")
        .unwrap_or_else(|e| panic!("{e}"))
        .warnings
}

#[test]
fn two_task_managers_whose_slots_hold_the_whole_job_are_warned_about() {
    // The base job: parallelism 2, two task managers of two slots each.
    let warnings = warnings_after(|_| {});
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("job.json: at `cluster`: task manager(s) 1 of 2 run no subtask")
            && warnings[0].contains("set `slots-per-task-manager` to 1"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings_after(|s| s["cluster"] = json!({"task-managers": 2, "slots-per-task-manager": 1}))
            .is_empty(),
        "one slot each spreads the job"
    );
    assert!(
        warnings_after(|s| s["cluster"] = json!({"task-managers": 2})).is_empty(),
        "so does the default"
    );
    assert!(
        warnings_after(|s| s["cluster"] = json!({"task-managers": 1})).is_empty(),
        "one task manager holds everything, as meant"
    );
}

#[test]
fn two_task_managers_with_only_local_channels_are_warned_about() {
    // Forward edges only: each pipeline stays on its own task manager.
    let warnings = warnings_after(|s| {
        s["job"]["operators"][1]["kind"] = json!("map");
        s["job"]["operators"][1]["inputs"][0]["partitioner"] = json!("forward");
        s["job"]["operators"][2]["parallelism"] = json!(2);
        s["job"]["operators"][2]["inputs"][0]["partitioner"] = json!("forward");
        s["cluster"] = json!({"task-managers": 2, "slots-per-task-manager": 1});
    });
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("no channel crosses between them"),
        "{}",
        warnings[0]
    );
}

#[test]
fn hosts_and_runtime_costs_are_checked() {
    let both = error_after(|s| {
        s["cluster"]["mini-cluster"] = json!({"cores": 2});
        s["cluster"]["taskmanager.cpu.cores"] = json!(4);
    });
    assert_error(&both, "cluster.mini-cluster", "not both");
    let no_cores = error_after(|s| s["cluster"]["taskmanager.cpu.cores"] = json!(0));
    assert_error(
        &no_cores,
        "cluster.taskmanager.cpu.cores",
        "between 1 and 4096",
    );
    let named = error_after(|s| s["runtime"] = json!({"framework-cost": "cheap"}));
    assert_error(&named, "runtime.framework-cost", "\"free\"");
    let long = error_after(|s| s["runtime"] = json!({"framework-cost": {"emit": "2s"}}));
    assert_error(&long, "runtime.framework-cost.emit", "at most 1s");
    let slow_writer = error_after(|s| s["runtime"] = json!({"snapshot-write-cost-per-mib": "5s"}));
    assert_error(
        &slow_writer,
        "runtime.snapshot-write-cost-per-mib",
        "at most 1s",
    );
    // Flink's own key for the slots is accepted too.
    let mut flink_key = base();
    flink_key["cluster"] = json!({"task-managers": 2, "taskmanager.numberOfTaskSlots": 2,
                                  "taskmanager.cpu.cores": 2});
    flink_key["runtime"] = json!({"framework-cost": "free", "mailbox-delay": "0ms",
                                  "snapshot-write-cost-per-mib": "2ms"});
    parse_str(&flink_key.to_string(), "job.json", "job").unwrap();
}

/// The digest of the base job after `change`, run with its own seed.
fn digest_after(change: impl FnOnce(&mut Value)) -> String {
    let mut scenario = base();
    change(&mut scenario);
    let parsed = parse_str(&scenario.to_string(), "job.json", "job")
        .unwrap_or_else(|e| panic!("{e}\n{scenario:#}"));
    snapsim::report::run_scenario(&parsed, parsed.seed)
        .report
        .digest
}

/// Flink's own keys, flat or nested, set exactly what the sections set: the same run, digest for
/// digest. Durations read as Flink reads them (a bare number is milliseconds; "50 ms"; "0.1 s"),
/// enums in any case.
#[test]
fn flink_configuration_keys_set_what_the_sections_set() {
    let sections = digest_after(|v| {
        v["checkpointing"]["min-pause"] = json!("20ms");
        v["checkpointing"]["mode"] = json!("AT_LEAST_ONCE");
        v["state"] = json!({"backend": "rocksdb", "incremental": true});
    });
    let flat = digest_after(|v| {
        let object = v.as_object_mut().unwrap();
        object.remove("checkpointing");
        object.remove("restart-strategy");
        object["cluster"]
            .as_object_mut()
            .unwrap()
            .remove("slots-per-task-manager");
        object.insert(
            "config".into(),
            json!({
                "execution.checkpointing.interval": 100,
                "execution.checkpointing.min-pause": "20 ms",
                "execution.checkpointing.mode": "at_least_once",
                "execution.checkpointing.incremental": "true",
                "state.backend.type": "RocksDB",
                "taskmanager.numberOfTaskSlots": "2",
                "restart-strategy.type": "fixeddelay",
                "restart-strategy.fixed-delay.attempts": 3,
                "restart-strategy.fixed-delay.delay": "0.05 s",
            }),
        );
    });
    assert_eq!(flat, sections);
    let nested = digest_after(|v| {
        let object = v.as_object_mut().unwrap();
        object.remove("checkpointing");
        object.remove("restart-strategy");
        object.insert(
            "flink-conf".into(),
            json!({
                "execution": {"checkpointing": {
                    "interval": "100ms", "min-pause": 20, "mode": "AT_LEAST_ONCE", "incremental": true
                }},
                "state.backend": {"type": "rocksdb"},
                "restart-strategy": {"type": "fixed-delay", "fixed-delay": {"attempts": 3, "delay": "50ms"}},
            }),
        );
    });
    assert_eq!(nested, sections);
}

#[test]
fn a_flink_key_that_is_unknown_wrong_or_given_twice_is_refused_with_its_name() {
    let with = |config: Value| error_after(|v| v["config"] = config);
    assert_error(
        &with(json!({"execution.checkpointing.intervall": "1s"})),
        "config.execution.checkpointing.intervall",
        "snapsim does not model the Flink option",
    );
    assert_error(
        &with(json!({"execution.checkpointing.interval": "1 fortnight"})),
        "config.execution.checkpointing.interval",
        "unknown unit \"fortnight\"",
    );
    assert_error(
        &with(json!({"execution.checkpointing.mode": "exactly-twice"})),
        "config.execution.checkpointing.mode",
        "expected one of \"EXACTLY_ONCE\", \"AT_LEAST_ONCE\"",
    );
    assert_error(
        &with(json!({"execution.checkpointing.interval": "1s"})),
        "config.execution.checkpointing.interval",
        "set both here and in its section",
    );
    assert_error(
        &with(json!({"taskmanager.numberOfTaskSlots": -2})),
        "config.taskmanager.numberOfTaskSlots",
        "expected a whole number",
    );
    let without_type = error_after(|v| {
        v.as_object_mut().unwrap().remove("restart-strategy");
        v["config"] = json!({"restart-strategy.fixed-delay.attempts": 2});
    });
    assert_error(
        &without_type,
        "config.restart-strategy.type",
        "without `restart-strategy.type`",
    );
    let process_graph = parse_str(
        &json!({"description": "x", "processes": ["p", "q"], "topology": "ring",
                "config": {"execution.checkpointing.interval": "1s"}})
        .to_string(),
        "job.json",
        "job",
    )
    .unwrap_err()
    .to_string();
    assert_error(
        &process_graph,
        "config.execution.checkpointing.interval",
        "need a `job`",
    );
}
