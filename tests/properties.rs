//! Property-based tests: the oracle's invariants (listed in ARCHITECTURE.md) over generated topologies, timings,
//! checkpoint settings and fault plans; determinism; liveness; and, for every deliberately broken
//! protocol variant, proof that the oracle catches it within a bounded number of cases; and
//! exhaustive exploration of small process graphs (`snapsim explore`), with pinned counts.
//!
//! Every failing case is shrunk by proptest and written to `target/property-failures/<name>.json`,
//! a scenario file that `snapsim run` reproduces. `SNAPSIM_PROPTEST_CASES=1000 cargo test --release
//! --test properties` runs more cases than CI does.

#[path = "support/indexed_oracle.rs"]
mod indexed_oracle;
mod support;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Value, json};
use snapsim::checkpoint::metrics::CheckpointStatus;
use snapsim::dataflow::JobStatus;
use snapsim::oracle::Invariant;
use snapsim::report::{CompletedRun, run_scenario};
use snapsim::scenario::parse_str;
use std::path::PathBuf;
use support::generators::{self, cases};

/// Replays the run from its initial state and reports whether, before or after any application
/// event, the processes and channels held exactly what `snapshot` recorded.
fn occurs_anywhere(
    graph: &snapsim::topology::ProcessGraph,
    events: &[snapsim::trace::ProcessEvent],
    snapshot: &snapsim::chandy_lamport::GlobalSnapshot,
) -> bool {
    use snapsim::trace::ProcessEvent;
    let mut tokens: Vec<i64> = graph.processes.iter().map(|p| p.initial_tokens).collect();
    let mut in_flight: Vec<Vec<u64>> = vec![Vec::new(); graph.channels.len()];
    let matches = |tokens: &[i64], in_flight: &[Vec<u64>]| {
        tokens == snapshot.process_tokens.as_slice()
            && in_flight.iter().enumerate().all(|(c, now)| {
                let mut now = now.clone();
                let mut want: Vec<u64> = snapshot.channel(c).iter().map(|m| m.message).collect();
                now.sort_unstable();
                want.sort_unstable();
                now == want
            })
    };
    if matches(&tokens, &in_flight) {
        return true;
    }
    for event in events {
        match *event {
            ProcessEvent::Sent {
                channel,
                message,
                tokens: t,
                ..
            } => {
                tokens[graph.channels[channel as usize].from] -= t;
                in_flight[channel as usize].push(message);
            }
            ProcessEvent::Received {
                channel,
                message,
                tokens: t,
                ..
            } => {
                tokens[graph.channels[channel as usize].to] += t;
                let queue = &mut in_flight[channel as usize];
                if let Some(at) = queue.iter().position(|&m| m == message) {
                    queue.remove(at);
                }
            }
            ProcessEvent::Lost {
                channel, message, ..
            } => {
                let queue = &mut in_flight[channel as usize];
                if let Some(at) = queue.iter().rposition(|&m| m == message) {
                    queue.remove(at);
                }
            }
            _ => continue,
        }
        if matches(&tokens, &in_flight) {
            return true;
        }
    }
    false
}

/// Writes a failing scenario where `snapsim run` can replay it, and returns the path.
fn save_failure(property: &str, scenario: &Value) -> PathBuf {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/property-failures");
    std::fs::create_dir_all(&directory).ok();
    let path = directory.join(format!("{property}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(scenario).unwrap()).ok();
    path
}

/// Runs a generated scenario; a scenario the validator refuses is a bug in the generator.
fn run(property: &str, scenario: &Value) -> Result<CompletedRun, TestCaseError> {
    let parsed = parse_str(&scenario.to_string(), property, property).map_err(|e| {
        let path = save_failure(property, scenario);
        TestCaseError::fail(format!(
            "the generator produced an invalid scenario ({e}); see {}",
            path.display()
        ))
    })?;
    Ok(run_scenario(&parsed, parsed.seed))
}

fn fail(property: &str, scenario: &Value, why: String) -> TestCaseError {
    let path = save_failure(property, scenario);
    TestCaseError::fail(format!("{why}\nreplay: snapsim run {}", path.display()))
}

fn config(default_cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default_cases),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Chandy-Lamport on any strongly connected graph: every snapshot is a consistent cut with the
    /// right channel states, conserves tokens, is reachable (Theorem 1), and every snapshot completes.
    #[test]
    fn chandy_lamport_snapshots_are_consistent_on_any_strongly_connected_graph(scenario in generators::process_graph()) {
        let completed = run("chandy-lamport", &scenario)?;
        let failed = &completed.report.outcome.failed_invariants;
        if !failed.is_empty() {
            return Err(fail("chandy-lamport", &scenario, format!("invariants failed: {failed:?}")));
        }
        let report = completed.report.process_graph.as_ref().unwrap();
        prop_assert!(!report.snapshots.is_empty(), "at least one snapshot completes");
    }

    /// "Did the run ever pass through the recorded state?" — answered by the oracle with one hashed
    /// replay for all snapshots — agrees with a plain search that replays the whole run for each.
    #[test]
    fn occurrence_agrees_with_a_replay_per_snapshot(scenario in generators::process_graph()) {
        let completed = run("occurrence", &scenario)?;
        let snapsim::report::RawRun::ProcessGraph(raw, graph) = &completed.raw else {
            unreachable!("a process-graph scenario")
        };
        let reported = &completed.report.process_graph.as_ref().unwrap().snapshots;
        for (snapshot, report) in raw.snapshots.iter().zip(reported) {
            let naive = occurs_anywhere(graph, raw.trace.events(), snapshot);
            if naive != report.occurred.occurred {
                return Err(fail("occurrence", &scenario, format!(
                    "snapshot {}: a replay says occurred = {naive}, the oracle {}",
                    snapshot.id, report.occurred.explanation
                )));
            }
        }
    }

    /// Same scenario, same seed, same digest — twice in one process.
    #[test]
    fn every_run_is_deterministic(graph in generators::process_graph(), dataflow in generators::dataflow_scenario()) {
        for scenario in [&graph, &dataflow] {
            let first = run("determinism", scenario)?.report.digest;
            let second = run("determinism", scenario)?.report.digest;
            if first != second {
                return Err(fail("determinism", scenario, format!("two runs gave {first} and {second}")));
            }
        }
    }

    /// Flink checkpoints in every mode: every completed checkpoint is prefix-consistent (or, under
    /// at-least-once, holds nothing less than the prefix), the protocol rules hold, the bounded job
    /// finishes, and every triggered checkpoint completes or fails with a stated reason.
    #[test]
    fn dataflow_checkpoints_are_consistent_and_live_in_every_mode(scenario in generators::dataflow_scenario()) {
        let completed = run("dataflow", &scenario)?;
        let report = completed.report.dataflow.as_ref().unwrap();
        if !completed.report.outcome.failed_invariants.is_empty() {
            return Err(fail("dataflow", &scenario, format!("invariants failed: {:?}", completed.report.outcome.failed_invariants)));
        }
        if !matches!(report.status, JobStatus::Finished { .. }) {
            return Err(fail("dataflow", &scenario, format!("the bounded job did not finish: {:?}", report.status)));
        }
        for checkpoint in &report.checkpoints {
            let settled = match checkpoint.status {
                CheckpointStatus::Completed => true,
                CheckpointStatus::Failed => checkpoint.failure_reason.is_some(),
                CheckpointStatus::InProgress => false,
            };
            if !settled {
                return Err(fail("dataflow", &scenario, format!("checkpoint {} neither completed nor failed with a reason", checkpoint.id)));
            }
        }
    }
}

/// Checks what a run with faults promises: every invariant holds, and — under exactly-once —
/// committed output and final state equal the failure-free run; under at-least-once nothing is lost.
fn keeps_its_promises(property: &str, scenario: &Value) -> Result<(), TestCaseError> {
    let completed = run(property, scenario)?;
    let report = completed.report.dataflow.as_ref().unwrap();
    if let Some(delivery) = &report.delivery {
        for check in &delivery.checks {
            if !check.passed {
                return Err(fail(
                    property,
                    scenario,
                    format!("{}: {}", check.invariant, check.detail),
                ));
            }
        }
    }
    if !completed.report.outcome.failed_invariants.is_empty() {
        return Err(fail(
            property,
            scenario,
            format!(
                "invariants failed: {:?}",
                completed.report.outcome.failed_invariants
            ),
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(24))]

    /// Crashes under exactly-once (with two-phase-commit sinks): the committed output and the final
    /// keyed state equal the failure-free run. Under at-least-once: nothing lost.
    #[test]
    fn delivery_guarantees_survive_crashes(scenario in generators::dataflow_with_faults()) {
        keeps_its_promises("delivery", &scenario)?;
    }

    /// Any job, any mode, any layout, any mix of faults (crashes of tasks and task managers,
    /// partitions, latency spikes, stragglers, storage outages and slowdowns, declined
    /// checkpoints, lost completion notices, random crashes): every promise is kept.
    #[test]
    fn every_mode_layout_and_fault_keeps_its_promises(scenario in generators::dataflow_anything()) {
        keeps_its_promises("anything", &scenario)?;
    }
}

/// The generators reach every corner of the configuration space, and every corner keeps its
/// promises: for every cell of protocol × cluster layout × fault kind, generated scenarios (from a
/// fixed seed) are drawn until one falls in the cell, and that one is run and checked. A gap in
/// the generators — like the remote channels they once never produced, behind which a bug hid —
/// fails here. A network partition needs two task managers, so "one task manager" has no
/// partition cell (the generator turns it into a latency spike).
#[test]
fn every_protocol_layout_and_fault_kind_is_generated_and_keeps_its_promises() {
    const DRAWS: usize = 20_000;
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = generators::dataflow_anything();
    let mut checked: std::collections::BTreeMap<(&str, &str, &str), usize> = Default::default();
    let mut remote_channels_seen = std::collections::BTreeMap::new();
    for draw in 0..DRAWS {
        let scenario = strategy.new_tree(&mut runner).unwrap().current();
        let largest = scenario["job"]["operators"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o["parallelism"].as_u64())
            .max()
            .unwrap();
        let protocol = generators::protocol_of(&scenario["checkpointing"]);
        let layout = generators::layout_of(&scenario["cluster"], largest);
        let new_cells: Vec<_> = generators::fault_kinds_of(&scenario)
            .into_iter()
            .map(|kind| (protocol, layout, kind))
            .filter(|cell| !checked.contains_key(cell))
            .collect();
        if new_cells.is_empty() {
            continue;
        }
        let parsed = parse_str(&scenario.to_string(), "generated", "generated").unwrap();
        let snapsim::scenario::Model::Dataflow(model) = &parsed.model else {
            unreachable!()
        };
        let remote = model
            .job
            .expand(&model.cluster)
            .channels
            .iter()
            .any(|c| !c.local);
        *remote_channels_seen.entry(layout).or_insert(false) |= remote;
        if let Err(error) = keeps_its_promises("cell", &scenario) {
            panic!("{protocol} × {layout} × {new_cells:?}: {error}");
        }
        for cell in new_cells {
            checked.insert(cell, draw);
        }
    }
    let mut missing = Vec::new();
    for protocol in generators::PROTOCOLS {
        for layout in generators::LAYOUTS {
            for kind in generators::FAULT_KINDS {
                let impossible = layout == generators::LAYOUTS[0] && kind == "network-partition";
                if !impossible && !checked.contains_key(&(protocol, layout, kind)) {
                    missing.push(format!("{protocol} × {layout} × {kind}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "never generated in {DRAWS} draws: {missing:#?}"
    );
    assert_eq!(
        remote_channels_seen.get(generators::LAYOUTS[0]),
        Some(&false),
        "one task manager: all local"
    );
    assert_eq!(
        remote_channels_seen.get(generators::LAYOUTS[1]),
        Some(&true)
    );
    assert_eq!(
        remote_channels_seen.get(generators::LAYOUTS[2]),
        Some(&true)
    );
    let last_draw = checked.values().max().unwrap();
    eprintln!(
        "{} cells checked; the last one first came up in draw {last_draw}",
        checked.len()
    );
}

/// Runs up to `limit` generated cases (from a fixed seed) with a broken variant applied, and
/// returns the index of the first case where the oracle reports one of `expected` failing.
///
/// That case is then shrunk the way proptest shrinks a failure — simplify while the oracle still
/// catches the bug, step back when it no longer does — and the smallest scenario that still
/// fails is written to `target/property-failures/<name>.json`. The file is read back like
/// `snapsim run` reads it, and must fail again: that is the replay a learner would type.
fn first_caught(
    name: &str,
    limit: usize,
    strategy: impl Strategy<Value = Value>,
    apply: impl Fn(&mut Value),
    expected: &[Invariant],
) -> Option<usize> {
    const SHRINK_STEPS: usize = 60;
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let broken = |value: &Value| -> Option<Value> {
        let mut scenario = value.clone();
        apply(&mut scenario);
        let completed = run(name, &scenario).ok()?;
        let failed = &completed.report.outcome.failed_invariants;
        failed
            .iter()
            .any(|i| expected.contains(i))
            .then_some(scenario)
    };
    for index in 0..limit {
        let mut tree = strategy.new_tree(&mut runner).unwrap();
        let Some(mut smallest) = broken(&tree.current()) else {
            continue;
        };
        let mut steps = 0;
        let mut more = tree.simplify();
        while more && steps < SHRINK_STEPS {
            steps += 1;
            match broken(&tree.current()) {
                Some(scenario) => {
                    smallest = scenario;
                    more = tree.simplify();
                }
                None => more = tree.complicate(),
            }
        }
        let path = save_failure(name, &smallest);
        let replayed = snapsim::scenario::load_file(&path).expect("the saved failure loads");
        let again = run_scenario(&replayed, replayed.seed);
        assert!(
            again
                .report
                .outcome
                .failed_invariants
                .iter()
                .any(|i| expected.contains(i)),
            "replaying {} does not fail again",
            path.display()
        );
        return Some(index);
    }
    None
}

fn variant(name: &'static str) -> impl Fn(&mut Value) {
    move |scenario: &mut Value| scenario["protocol_variant"] = json!(name)
}

#[test]
fn the_oracle_catches_every_broken_variant_within_a_bounded_number_of_cases() {
    const LIMIT: usize = 40;
    let aligned = |scenario: &mut Value| scenario["checkpointing"] = json!({"interval": "30ms"});
    let heavy = |scenario: &mut Value| {
        // A slow last operator builds backpressure, so barriers of different inputs arrive apart.
        let operators = scenario["job"]["operators"].as_array_mut().unwrap();
        for operator in operators.iter_mut().skip(1) {
            operator["cost"] = json!("300us");
        }
    };
    let cases: Vec<(&str, Option<usize>)> = vec![
        (
            "record_after_next_message",
            first_caught(
                "variant-record-after-next-message",
                LIMIT,
                generators::process_graph(),
                variant("record_after_next_message"),
                &[
                    Invariant::ConsistentCut,
                    Invariant::Conservation,
                    Invariant::Reachability,
                    Invariant::ChannelState,
                ],
            ),
        ),
        (
            "non_fifo_delivery",
            first_caught(
                "variant-non-fifo",
                LIMIT,
                generators::process_graph(),
                |scenario| scenario["channel_defaults"]["fifo"] = json!(false),
                &[
                    Invariant::ConsistentCut,
                    Invariant::ChannelState,
                    Invariant::Conservation,
                    Invariant::Reachability,
                ],
            ),
        ),
        (
            "no_alignment",
            first_caught(
                "variant-no-alignment",
                LIMIT,
                generators::dataflow_scenario(),
                |scenario| {
                    aligned(scenario);
                    heavy(scenario);
                    variant("no_alignment")(scenario);
                },
                &[Invariant::PrefixConsistency],
            ),
        ),
        (
            "unaligned_forgets_channel_state",
            first_caught(
                "variant-unaligned-forgets",
                LIMIT,
                generators::dataflow_scenario(),
                |scenario| {
                    scenario["checkpointing"] = json!({"interval": "30ms", "unaligned": true});
                    heavy(scenario);
                    variant("unaligned_forgets_channel_state")(scenario);
                },
                &[Invariant::PrefixConsistency],
            ),
        ),
        (
            "forward_barrier_early",
            first_caught(
                "variant-forward-barrier-early",
                LIMIT,
                generators::dataflow_scenario(),
                |scenario| {
                    aligned(scenario);
                    heavy(scenario);
                    variant("forward_barrier_early")(scenario);
                },
                &[Invariant::PrefixConsistency],
            ),
        ),
        (
            "commit_at_pre_commit",
            first_caught(
                "variant-commit-at-pre-commit",
                LIMIT,
                generators::dataflow_with_faults(),
                |scenario| {
                    scenario["checkpointing"] = json!({"interval": "30ms"});
                    variant("commit_at_pre_commit")(scenario);
                },
                &[Invariant::ProtocolRules, Invariant::ExactlyOnce],
            ),
        ),
        (
            "recording_past_the_barrier",
            first_caught(
                "variant-recording-past-the-barrier",
                LIMIT,
                generators::dataflow_scenario(),
                |scenario| {
                    scenario["checkpointing"] =
                        json!({"interval": "30ms", "protocol": "chandy-lamport"});
                    // One slot per task manager: channels between subtasks cross the network.
                    scenario["cluster"] = json!({"task-managers": 4, "slots-per-task-manager": 1});
                    heavy(scenario);
                    variant("recording_past_the_barrier")(scenario);
                },
                &[Invariant::PrefixConsistency],
            ),
        ),
        (
            "restore_from_pending",
            first_caught(
                "variant-restore-from-pending",
                LIMIT,
                generators::dataflow_with_faults(),
                |scenario| {
                    scenario["checkpointing"] = json!({"interval": "30ms"});
                    heavy(scenario);
                    variant("restore_from_pending")(scenario);
                },
                &[Invariant::PrefixConsistency, Invariant::ExactlyOnce],
            ),
        ),
    ];
    let missed: Vec<&str> = cases
        .iter()
        .filter(|(_, caught)| caught.is_none())
        .map(|(name, _)| *name)
        .collect();
    assert!(
        missed.is_empty(),
        "not caught within {LIMIT} cases: {missed:?} (caught: {cases:?})"
    );
}

proptest! {
    #![proptest_config(config(256))]

    /// Arbitrary bytes never make the scenario loader panic; every error names a JSON path.
    #[test]
    fn the_loader_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let result = std::panic::catch_unwind(|| parse_str(&text, "fuzz.json", "fuzz"));
        prop_assert!(result.is_ok(), "the loader panicked on {text:?}");
        if let Ok(Err(error)) = result {
            prop_assert!(error.to_string().starts_with("fuzz.json: at `"), "{error}");
        }
    }

    /// Mutated real scenarios (a value replaced, a key renamed, a slice cut out) never panic the
    /// loader, and what it refuses it explains with a path.
    #[test]
    fn the_loader_never_panics_on_mutated_scenarios(
        file in 0usize..1000,
        position in any::<proptest::sample::Index>(),
        mutation in 0u8..4,
        replacement in prop_oneof![
            Just(json!(null)), Just(json!(-1)), Just(json!(1e300)), Just(json!("")), Just(json!("-5ms")),
            Just(json!([])), Just(json!({})), Just(json!("999999999999h")), Just(json!(true)), Just(json!(4294967297u64)),
        ],
    ) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        let text = std::fs::read_to_string(&files[file % files.len()]).unwrap();
        let mut value: Value = serde_json::from_str(&text).unwrap();
        let mutated = match mutation {
            0 | 1 => {
                // Replace (0) or rename the key of (1) a random leaf-holding field.
                let mut paths = Vec::new();
                collect_paths(&value, &mut Vec::new(), &mut paths);
                let path = &paths[position.index(paths.len())];
                mutate_at(&mut value, path, mutation == 1, replacement.clone());
                value.to_string()
            }
            2 => {
                let cut = position.index(text.len().max(1));
                let end = (cut + 7).min(text.len());
                format!("{}{}", &text[..text.floor_char_boundary(cut)], &text[text.floor_char_boundary(end)..])
            }
            _ => text.replacen(':', ": 0,", 1 + position.index(3)),
        };
        let result = std::panic::catch_unwind(|| parse_str(&mutated, "mutated.json", "mutated"));
        prop_assert!(result.is_ok(), "the loader panicked on:\n{mutated}");
        if let Ok(Err(error)) = result {
            prop_assert!(error.to_string().starts_with("mutated.json: at `"), "{error}");
        }
    }
}

/// Every path from the root to a value inside a JSON document.
fn collect_paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(key.clone());
                out.push(prefix.clone());
                collect_paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                prefix.push(index.to_string());
                out.push(prefix.clone());
                collect_paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn mutate_at(value: &mut Value, path: &[String], rename: bool, replacement: Value) {
    let (last, parents) = path.split_last().unwrap();
    let mut target = value;
    for step in parents {
        target = match target {
            Value::Object(map) => map.get_mut(step).unwrap(),
            Value::Array(items) => &mut items[step.parse::<usize>().unwrap()],
            _ => return,
        };
    }
    match target {
        Value::Object(map) => {
            if rename {
                if let Some(child) = map.remove(last) {
                    map.insert(format!("{last}x"), child);
                }
            } else {
                map.insert(last.clone(), replacement);
            }
        }
        Value::Array(items) => items[last.parse::<usize>().unwrap()] = replacement,
        _ => {}
    }
}

/// Not a property: writes generated scenarios (every generator, every broken variant) to the
/// directory named by `SNAPSIM_WRITE_GENERATED`, `SNAPSIM_GENERATED_PER_KIND` of each kind (default
/// 250), from a fixed seed. `scripts/digests.sh` runs them to show that a refactoring leaves every
/// report and event log byte-identical.
#[test]
#[ignore = "a tool for scripts/digests.sh, not a test"]
fn write_generated_scenarios() {
    let Some(directory) = std::env::var_os("SNAPSIM_WRITE_GENERATED").map(PathBuf::from) else {
        return;
    };
    let per_kind: usize = std::env::var("SNAPSIM_GENERATED_PER_KIND")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(250);
    std::fs::create_dir_all(&directory).unwrap();
    let heavy = |scenario: &mut Value| {
        for operator in scenario["job"]["operators"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .skip(1)
        {
            operator["cost"] = json!("300us");
        }
    };
    let none = |_: &mut Value| {};
    let process = generators::process_graph().boxed();
    let dataflow = generators::dataflow_scenario().boxed();
    let faults = generators::dataflow_with_faults().boxed();
    type Apply<'a> = Box<dyn Fn(&mut Value) + 'a>;
    let kinds: Vec<(&str, BoxedStrategy<Value>, Apply)> = vec![
        ("process", process.clone(), Box::new(none)),
        (
            "process-non-fifo",
            process.clone(),
            Box::new(|s: &mut Value| s["channel_defaults"]["fifo"] = json!(false)),
        ),
        (
            "process-record-after",
            process,
            Box::new(variant("record_after_next_message")),
        ),
        ("dataflow", dataflow.clone(), Box::new(none)),
        ("dataflow-heavy", dataflow.clone(), Box::new(heavy)),
        (
            "no-alignment",
            dataflow.clone(),
            Box::new(move |s: &mut Value| {
                heavy(s);
                variant("no_alignment")(s)
            }),
        ),
        (
            "unaligned-forgets",
            dataflow.clone(),
            Box::new(move |s: &mut Value| {
                s["checkpointing"] = json!({"interval": "30ms", "unaligned": true});
                heavy(s);
                variant("unaligned_forgets_channel_state")(s)
            }),
        ),
        (
            "forward-early",
            dataflow,
            Box::new(move |s: &mut Value| {
                s["checkpointing"] = json!({"interval": "30ms"});
                heavy(s);
                variant("forward_barrier_early")(s)
            }),
        ),
        ("faults", faults.clone(), Box::new(none)),
        ("faults-heavy", faults.clone(), Box::new(heavy)),
        (
            "commit-at-pre-commit",
            faults.clone(),
            Box::new(variant("commit_at_pre_commit")),
        ),
        (
            "restore-from-pending",
            faults,
            Box::new(move |s: &mut Value| {
                heavy(s);
                variant("restore_from_pending")(s)
            }),
        ),
    ];
    for (kind, strategy, apply) in &kinds {
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::deterministic_rng(RngAlgorithm::ChaCha),
        );
        for index in 0..per_kind {
            let mut scenario = strategy.new_tree(&mut runner).unwrap().current();
            apply(&mut scenario);
            let name = format!("gen-{kind}-{index:04}");
            scenario["name"] = json!(name);
            let path = directory.join(format!("{name}.json"));
            std::fs::write(path, serde_json::to_string_pretty(&scenario).unwrap()).unwrap();
        }
    }
}

/// A generated process graph, sometimes with the broken variant, lossy or non-FIFO channels: the
/// runs whose snapshots fail every invariant in every way, for the oracles to disagree on if they
/// can.
fn process_graph_with_breakers() -> impl Strategy<Value = Value> {
    (
        generators::process_graph(),
        any::<bool>(),
        prop_oneof![Just(0.0), Just(0.05), Just(0.3)],
        any::<bool>(),
    )
        .prop_map(|(mut scenario, broken, loss, non_fifo)| {
            if broken {
                scenario["protocol_variant"] = json!("record_after_next_message");
            }
            if loss > 0.0 {
                scenario["channel_defaults"]["loss_probability"] = json!(loss);
            }
            if non_fifo {
                scenario["channel_defaults"]["fifo"] = json!(false);
            }
            scenario
        })
}

/// The verdicts of a run as JSON: per snapshot its four checks and its occurrence, then completion.
fn verdict_json(snapshots: Vec<(Value, Value)>, completion: Value) -> Value {
    json!({"snapshots": snapshots.into_iter().map(|(checks, occurred)| json!({"checks": checks, "occurred": occurred})).collect::<Vec<_>>(), "completion": completion})
}

proptest! {
    #![proptest_config(config(64))]

    /// The one-pass oracle, reading the record as the run writes it, says exactly what the oracle
    /// that stored the record and indexed it said — every verdict and every sentence, on correct,
    /// broken, lossy and non-FIFO runs alike.
    #[test]
    fn the_one_pass_oracle_agrees_with_the_indexed_one(scenario in process_graph_with_breakers()) {
        let completed = run("one-pass-oracle", &scenario)?;
        let snapsim::report::RawRun::ProcessGraph(raw, graph) = &completed.raw else {
            unreachable!("a process-graph scenario")
        };
        let report = completed.report.process_graph.as_ref().unwrap();
        let streamed = verdict_json(
            report.snapshots.iter().map(|s| (json!(s.invariants), json!(s.occurred))).collect(),
            json!(report.completion),
        );
        let indexed = indexed_oracle::check(graph, raw.trace.events(), &raw.snapshots, &raw.incomplete, raw.cut_short);
        let indexed = verdict_json(
            indexed.snapshots.iter().map(|s| (json!(s.checks), json!(s.occurred))).collect(),
            json!(indexed.completion),
        );
        if streamed != indexed {
            return Err(fail("one-pass-oracle", &scenario, format!(
                "the one-pass oracle says\n{}\nthe indexed oracle says\n{}",
                serde_json::to_string_pretty(&streamed).unwrap(),
                serde_json::to_string_pretty(&indexed).unwrap()
            )));
        }
        let stored = snapsim::oracle::process_graph::check(graph, raw.trace.events(), &raw.snapshots, &raw.incomplete, raw.cut_short);
        let stored = verdict_json(
            stored.snapshots.iter().map(|s| (json!(s.checks), json!(s.occurred))).collect(),
            json!(stored.completion),
        );
        prop_assert_eq!(stored, streamed, "reading a stored record and reading the run as it goes agree");
    }
}

/// The same agreement on the bank of five accounts, whose snapshots include both kinds: states the
/// run passed through and states it never was in.
#[test]
fn occurrence_agrees_with_a_replay_per_snapshot_on_the_bank() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/cl-bank-5-accounts.json"
    );
    let scenario = snapsim::scenario::load_file(path.as_ref()).unwrap();
    let completed = run_scenario(&scenario, scenario.seed);
    let snapsim::report::RawRun::ProcessGraph(raw, graph) = &completed.raw else {
        unreachable!("a process-graph scenario")
    };
    let reported = &completed.report.process_graph.as_ref().unwrap().snapshots;
    let verdicts: Vec<bool> = raw
        .snapshots
        .iter()
        .map(|s| occurs_anywhere(graph, raw.trace.events(), s))
        .collect();
    assert!(verdicts.contains(&true) && verdicts.contains(&false));
    let oracle: Vec<bool> = reported.iter().map(|r| r.occurred.occurred).collect();
    assert_eq!(verdicts, oracle);
}

// ---- Exhaustive exploration ----

use snapsim::chandy_lamport::ChandyLamportVariant;
use snapsim::explore::process_graph::{Breakers, ChandyLamportSystem, complete_graph_document};
use snapsim::explore::{Limits, Verdict, explore};

/// The reference system: P processes on the complete graph, T tokens, p0 initiating.
fn complete(
    processes: usize,
    tokens: u32,
    variant: ChandyLamportVariant,
    breakers: Breakers,
) -> ChandyLamportSystem {
    let document = complete_graph_document(processes, tokens);
    let scenario = parse_str(&document.to_string(), "complete.json", "complete").unwrap();
    let snapsim::scenario::Model::ProcessGraph(model) = scenario.model else {
        unreachable!("a process graph")
    };
    ChandyLamportSystem::new(model.graph.clone(), 0, variant, breakers).unwrap()
}

/// Every reachable state of one snapshot on the complete graph, counted: the numbers are pinned,
/// so any change to the marker rules or the explorer that changes the state space is noticed.
/// They agree with an independent breadth-first search written from the definition alone (in
/// Python, sharing no code with snapsim). Why they grow so fast: a state is where every token is
/// (T tokens over P balances and P(P−1) channels) times where the snapshot stands (who recorded
/// what, which markers are on the way and what each channel recorded) — going from 2 to 3
/// processes triples the channels and multiplies the space by hundreds.
#[test]
fn every_interleaving_of_a_snapshot_on_a_small_complete_graph_is_consistent() {
    let pinned = [
        (2, 1, 34),
        (2, 2, 155),
        (2, 3, 507),
        (2, 4, 1_344),
        (3, 1, 2_154),
        (3, 2, 45_075),
        (3, 3, 538_855),
    ];
    for (processes, tokens, distinct) in pinned {
        let system = complete(
            processes,
            tokens,
            ChandyLamportVariant::Correct,
            Breakers::default(),
        );
        let exploration = explore(&system, Limits::default(), &mut |_| true);
        assert_eq!(
            exploration.verdict,
            Verdict::Complete,
            "P={processes} T={tokens}"
        );
        assert_eq!(
            exploration.counts.distinct_states, distinct,
            "P={processes} T={tokens}: distinct states"
        );
        assert_eq!(exploration.counts.states_explored, distinct);
    }
    // A limit makes the verdict "bounded", never "complete".
    let system = complete(3, 2, ChandyLamportVariant::Correct, Breakers::default());
    let bounded = explore(
        &system,
        Limits {
            max_states: 1000,
            max_depth: u32::MAX,
        },
        &mut |_| true,
    );
    assert!(
        matches!(bounded.verdict, Verdict::Bounded { .. }),
        "{:?}",
        bounded.verdict
    );
    assert_eq!(bounded.counts.distinct_states, 1000);
    let shallow = explore(
        &system,
        Limits {
            max_states: u64::MAX,
            max_depth: 5,
        },
        &mut |_| true,
    );
    assert!(matches!(shallow.verdict, Verdict::Bounded { .. }));
    assert_eq!(shallow.counts.max_depth, 5);
}

/// For the broken variant and each assumption breaker, the search finds a violation, and since
/// it is breadth first, the schedule is a shortest one (lengths pinned). Written as a scripted
/// scenario, the schedule replays in the simulator to a snapshot its own oracle fails — the same
/// failure, reached by the engine with time instead of by the explorer without it.
#[test]
fn every_broken_variant_and_assumption_breaker_has_a_shortest_counterexample_that_replays() {
    let broken = ChandyLamportVariant::RecordAfterNextMessage;
    let correct = ChandyLamportVariant::Correct;
    let non_fifo = Breakers::NON_FIFO;
    let loss = Breakers::LOSS;
    let cases = [
        (
            "record_after_next_message",
            broken,
            Breakers::default(),
            [7, 7],
        ),
        ("non-FIFO channels", correct, non_fifo, [4, 4]),
        ("lossy channels", correct, loss, [5, 5]),
    ];
    for (what, variant, breakers, lengths) in cases {
        for (tokens, length) in [1, 2].into_iter().zip(lengths) {
            let system = complete(2, tokens, variant, breakers);
            let exploration = explore(&system, Limits::default(), &mut |_| true);
            let Verdict::Violated { violation } = &exploration.verdict else {
                panic!(
                    "{what}, T={tokens}: no violation found: {:?}",
                    exploration.verdict
                );
            };
            assert!(violation.starts_with("conservation"), "{what}: {violation}");
            assert_eq!(
                exploration.counterexample.len(),
                length,
                "{what}, T={tokens}: shortest counterexample {:?}",
                exploration.counterexample
            );
            let document = system.replay_scenario(&exploration.counterexample, "replay", "replay");
            if breakers.loss {
                // The schedule loses a token: the script says so (`"lost": true`).
                assert!(
                    document.to_string().contains("\"lost\":true"),
                    "{what}: {document}"
                );
            }
            let scenario = parse_str(&document.to_string(), "replay.json", "replay").unwrap();
            let run = run_scenario(&scenario, 0);
            assert!(
                run.report
                    .outcome
                    .failed_invariants
                    .contains(&Invariant::Conservation),
                "{what}, T={tokens}: the replay should break conservation: {:?}",
                run.report.outcome
            );
            let snapshots = &run.report.process_graph.as_ref().unwrap().snapshots;
            assert_eq!(
                snapshots.len(),
                1,
                "{what}: the replay completes its one snapshot"
            );
        }
    }
    // The same search with the paper's rules and reliable FIFO channels finds nothing.
    let sound = explore(
        &complete(2, 2, correct, Breakers::default()),
        Limits::default(),
        &mut |_| true,
    );
    assert_eq!(sound.verdict, Verdict::Complete);
}

/// Symmetry reduction counts each orbit of alike processes once: on three processes p1 and p2
/// are alike when they start with the same balance (T = 1, 3) — about half the states — and
/// not when they do not (T = 2), where the reduced count is the full one. It never hides a
/// violation: for the broken variant and each breaker the reduced search finds one, and a
/// schedule just as short.
#[test]
fn symmetry_reduction_halves_the_states_of_alike_processes_and_hides_no_violation() {
    let counts = |tokens: u32, variant, breakers, reduce: bool| {
        let mut system = complete(3, tokens, variant, breakers);
        if reduce {
            system.reduce_symmetry();
        }
        explore(&system, Limits::default(), &mut |_| true)
    };
    let correct = ChandyLamportVariant::Correct;
    let none = Breakers::default();
    for (tokens, full, reduced) in [(1, 2_154, 1_080), (2, 45_075, 45_075)] {
        assert_eq!(
            counts(tokens, correct, none, false).counts.distinct_states,
            full
        );
        let with = counts(tokens, correct, none, true);
        assert_eq!(with.verdict, Verdict::Complete);
        assert_eq!(with.counts.distinct_states, reduced, "T={tokens}");
    }
    let broken = [
        (ChandyLamportVariant::RecordAfterNextMessage, none),
        (correct, Breakers::NON_FIFO),
        (correct, Breakers::LOSS),
    ];
    for (variant, breakers) in broken {
        let full = counts(1, variant, breakers, false);
        let reduced = counts(1, variant, breakers, true);
        assert!(
            matches!(full.verdict, Verdict::Violated { .. }),
            "{variant:?} {breakers:?}"
        );
        assert!(
            matches!(reduced.verdict, Verdict::Violated { .. }),
            "{variant:?} {breakers:?}: hidden by the reduction"
        );
        assert_eq!(full.counterexample.len(), reduced.counterexample.len());
    }
}

/// Partial-order reduction follows one delivery alone where it commutes with everything else
/// (the head of a FIFO, reliable channel, to a process that has already recorded). What it
/// promises is not the same states but the same snapshots: every recorded global state that any
/// schedule of the full system completes is completed by some schedule of the reduced search too
/// — so no violation can hide. This test collects the recorded snapshots both searches reach,
/// on graphs with FIFO and non-FIFO channels and with the broken rules, and compares the
/// sets. A reckless reduction that also reorders deliveries to processes that have not recorded
/// yet is caught: it loses snapshots. The reduced counts are pinned, next to the full ones.
#[test]
fn partial_order_reduction_completes_every_snapshot_the_full_search_completes() {
    use snapsim::explore::process_graph::{GlobalState, Step, Which};
    use snapsim::explore::{Reductions, TransitionSystem, explore_reduced};
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    /// A completed snapshot: what each process recorded, and the tokens each channel recorded.
    type Recorded = (Vec<Option<u8>>, Vec<u32>);
    /// The system, unchanged, except that it writes down every completed snapshot instead of
    /// judging it, and optionally reduces recklessly.
    struct Snapshots<'a> {
        system: &'a ChandyLamportSystem,
        reckless: bool,
        seen: RefCell<BTreeSet<Recorded>>,
    }
    impl TransitionSystem for Snapshots<'_> {
        type State = GlobalState;
        type Action = Step;
        fn initial(&self) -> GlobalState {
            self.system.initial()
        }
        fn actions(&self, state: &GlobalState, actions: &mut Vec<Step>) {
            self.system.actions(state, actions)
        }
        fn apply(&self, state: &GlobalState, step: Step) -> GlobalState {
            self.system.apply(state, step)
        }
        fn encode(&self, state: &GlobalState, key: &mut Vec<u8>) {
            self.system.encode(state, key)
        }
        fn violation(&self, state: &GlobalState) -> Option<String> {
            if state.snapshot_complete() {
                self.seen
                    .borrow_mut()
                    .insert((state.recorded.clone(), state.recorded_tokens.clone()));
            }
            None
        }
        fn persistent_action(&self, state: &GlobalState, enabled: &[Step]) -> Option<Step> {
            if !self.reckless {
                return self.system.persistent_action(state, enabled);
            }
            // Wrong: any head of a FIFO channel, whether or not its receiver has recorded.
            enabled.iter().copied().find(|&step| {
                matches!(step, Step::Deliver { channel, which: Which::Head }
                    if !self.system.any_order(channel) && !self.system.lossy(channel))
            })
        }
    }
    let snapshots = |system: &ChandyLamportSystem, partial_order: bool, reckless: bool| {
        let recorder = Snapshots {
            system,
            reckless,
            seen: RefCell::default(),
        };
        let exploration = explore_reduced(
            &recorder,
            Limits::default(),
            Reductions { partial_order },
            &mut |_| true,
        );
        assert_eq!(exploration.verdict, Verdict::Complete);
        (exploration.counts, recorder.seen.into_inner())
    };
    let correct = ChandyLamportVariant::Correct;
    let broken = ChandyLamportVariant::RecordAfterNextMessage;
    // p0 and p1 pass tokens both ways on FIFO channels and both feed p2, p1 on a channel that is
    // not FIFO: reduced and unreduced channels side by side. (The non-FIFO channel leads to a
    // process that sends nothing on: on a cycle, tokens could overtake its marker forever, each
    // one recorded, and the state space would be infinite. A lossy channel would be, too: it may
    // lose the marker, and its receiver then records it forever.)
    let mixed = |variant| {
        let document = json!({
            "name": "mixed", "description": "two kinds of channel",
            "processes": [{"name": "p0", "tokens": 1}, {"name": "p1", "tokens": 2}, {"name": "p2", "tokens": 0}],
            "channels": [
                {"from": "p0", "to": "p1", "latency": "1ms"},
                {"from": "p1", "to": "p0", "latency": "1ms"},
                {"from": "p0", "to": "p2", "latency": "1ms"},
                {"from": "p1", "to": "p2", "latency": "1ms", "fifo": false},
            ],
            "snapshots": [{"initiator": "p0", "at": "0us"}],
        });
        let scenario = parse_str(&document.to_string(), "mixed.json", "mixed").unwrap();
        let snapsim::scenario::Model::ProcessGraph(model) = scenario.model else {
            unreachable!("a process graph")
        };
        ChandyLamportSystem::new(model.graph.clone(), 0, variant, Breakers::default()).unwrap()
    };
    let systems = [
        ("P=2 T=2", complete(2, 2, correct, Breakers::default())),
        ("P=2 T=3", complete(2, 3, correct, Breakers::default())),
        ("P=3 T=2", complete(3, 2, correct, Breakers::default())),
        (
            "P=2 T=3, broken rules",
            complete(2, 3, broken, Breakers::default()),
        ),
        (
            "P=3 T=1, broken rules",
            complete(3, 1, broken, Breakers::default()),
        ),
        ("mixed channels", mixed(correct)),
        ("mixed channels, broken rules", mixed(broken)),
    ];
    let mut reckless_lost = 0;
    for (what, system) in &systems {
        let (full_counts, full) = snapshots(system, false, false);
        let (reduced_counts, reduced) = snapshots(system, true, false);
        assert_eq!(reduced, full, "{what}: the reduced search lost snapshots");
        assert!(full.len() > 1, "{what}: more than one snapshot to compare");
        assert!(
            reduced_counts.distinct_states < full_counts.distinct_states,
            "{what}: the reduction reduces"
        );
        let (_, reckless) = snapshots(system, true, true);
        assert!(reckless.is_subset(&full), "{what}: only real snapshots");
        reckless_lost += full.len() - reckless.len();
    }
    assert!(
        reckless_lost > 0,
        "the reckless reduction must lose snapshots somewhere"
    );

    // Pinned, with the full counts beside them: a change to the protocol, the explorer or the
    // reduction is noticed.
    for (processes, tokens, full, reduced) in [
        (2, 1, 34, 30),
        (2, 2, 155, 116),
        (2, 4, 1_344, 800),
        (3, 1, 2_154, 668),
        (3, 2, 45_075, 14_919),
    ] {
        let system = complete(processes, tokens, correct, Breakers::default());
        let exploration = explore_reduced(
            &system,
            Limits::default(),
            Reductions {
                partial_order: true,
            },
            &mut |_| true,
        );
        assert_eq!(exploration.verdict, Verdict::Complete);
        assert_eq!(
            (processes, tokens, exploration.counts.distinct_states),
            (processes, tokens, reduced),
            "full: {full}"
        );
    }
    // Violations are still found: the broken rules and each breaker, with both reductions.
    for (variant, breakers) in [
        (broken, Breakers::default()),
        (correct, Breakers::NON_FIFO),
        (correct, Breakers::LOSS),
    ] {
        let mut system = complete(3, 2, variant, breakers);
        system.reduce_symmetry();
        let exploration = explore_reduced(
            &system,
            Limits::default(),
            Reductions {
                partial_order: true,
            },
            &mut |_| true,
        );
        assert!(
            matches!(exploration.verdict, Verdict::Violated { .. }),
            "{variant:?} {breakers:?}: hidden by the reductions"
        );
    }
}

/// The book draws the shortest counterexample from `scenarios/chart-explore-counterexample.json`;
/// this keeps that file what `snapsim explore` finds today, so the picture cannot drift from
/// the search.
#[test]
fn the_books_counterexample_is_the_one_the_explorer_finds() {
    let system = complete(
        2,
        1,
        ChandyLamportVariant::RecordAfterNextMessage,
        Breakers::default(),
    );
    let exploration = explore(&system, Limits::default(), &mut |_| true);
    let found = system.replay_scenario(&exploration.counterexample, "x", "x");
    let path = format!(
        "{}/scenarios/chart-explore-counterexample.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let shipped: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for field in ["processes", "channels", "protocol_variant", "workload"] {
        assert_eq!(
            shipped[field], found[field],
            "{field} differs from what explore finds"
        );
    }
}
