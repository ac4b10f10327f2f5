//! Bad scenario files get a clear error: the file, the JSON path, and what was expected.
//! Never a panic.

use snapsim::scenario::parse_str;

/// A valid two-process scenario to break in one place at a time.
const BASE: &str = r#"{
  "description": "two processes",
  "processes": ["p", "q"],
  "channels": [
    {"from": "p", "to": "q", "latency": "5ms"},
    {"from": "q", "to": "p", "latency": "1ms"}
  ],
  "snapshots": [{"initiator": "p", "at": "1ms"}]
}"#;

/// Parses `text` and returns the error message, failing the test if it parsed.
fn error_of(text: &str) -> String {
    match parse_str(text, "broken.json", "broken") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(error) => error.to_string(),
    }
}

fn assert_mentions(message: &str, fragments: &[&str]) {
    assert!(
        message.starts_with("broken.json: at `"),
        "the file is named first: {message}"
    );
    for fragment in fragments {
        assert!(
            message.contains(fragment),
            "expected {fragment:?} in: {message}"
        );
    }
}

#[test]
fn the_base_scenario_is_valid() {
    parse_str(BASE, "base.json", "base").expect("the base scenario is valid");
}

#[test]
fn a_misspelled_field_names_the_field_and_the_allowed_ones() {
    let text = BASE.replace(r#""latency": "5ms""#, r#""latncy": "5ms""#);
    assert_mentions(
        &error_of(&text),
        &["channels[0].latncy", "unknown field `latncy`", "`latency`"],
    );
}

#[test]
fn an_unknown_process_in_a_channel_names_the_path_and_the_known_processes() {
    let text = BASE.replace(r#"{"from": "q", "to": "p""#, r#"{"from": "q", "to": "r""#);
    assert_mentions(
        &error_of(&text),
        &["channels[1].to", "unknown process \"r\"", "p, q"],
    );
}

#[test]
fn a_scripted_send_on_a_channel_that_does_not_exist_is_rejected() {
    let text = r#"{"description": "d", "processes": ["p", "q", "r"],
      "channels": [{"from": "p", "to": "q"}, {"from": "q", "to": "r"}, {"from": "r", "to": "p"}],
      "workload": {"scripted": [{"at": "1ms", "send": {"from": "p", "to": "r", "tokens": 1}}]}}"#;
    assert_mentions(
        &error_of(text),
        &["workload.scripted[0].send", "no channel p->r"],
    );
}

#[test]
fn a_malformed_duration_says_what_a_duration_looks_like() {
    let text = BASE.replace(r#""at": "1ms""#, r#""at": "1.5x""#);
    assert_mentions(
        &error_of(&text),
        &["snapshots[0].at", "unknown unit \"x\"", "\"250ms\""],
    );
}

#[test]
fn a_negative_duration_is_rejected() {
    let text = BASE.replace(r#""latency": "1ms""#, r#""latency": "-1ms""#);
    assert_mentions(
        &error_of(&text),
        &["channels[1].latency", "cannot be negative"],
    );
}

#[test]
fn a_duration_without_a_unit_is_rejected_with_a_hint() {
    let text = BASE.replace(r#""at": "1ms""#, r#""at": 250"#);
    assert_mentions(
        &error_of(&text),
        &["snapshots[0].at", "no unit", "\"250ms\""],
    );
}

#[test]
fn a_uniform_latency_with_min_above_max_is_rejected() {
    let text = BASE.replace(
        r#""latency": "5ms""#,
        r#""latency": {"uniform": {"min": "9ms", "max": "2ms"}}"#,
    );
    assert_mentions(
        &error_of(&text),
        &["channels[0].latency.uniform", "larger than `max`"],
    );
}

#[test]
fn an_unknown_latency_distribution_lists_the_known_ones() {
    let text = BASE.replace(
        r#""latency": "5ms""#,
        r#""latency": {"pareto": {"mean": "2ms"}}"#,
    );
    assert_mentions(
        &error_of(&text),
        &[
            "channels[0].latency",
            "unknown variant `pareto`",
            "exponential",
        ],
    );
}

#[test]
fn a_probability_above_one_is_rejected() {
    let text = BASE.replace(
        r#""latency": "5ms""#,
        r#""latency": "5ms", "loss_probability": 1.5"#,
    );
    assert_mentions(
        &error_of(&text),
        &["channels[0].loss_probability", "between 0 and 1", "1.5"],
    );
}

#[test]
fn a_process_listed_twice_is_rejected() {
    let text = BASE.replace(r#"["p", "q"]"#, r#"["p", "q", "p"]"#);
    assert_mentions(&error_of(&text), &["processes[2]", "listed twice"]);
}

#[test]
fn a_missing_description_is_required() {
    let text = BASE.replace(r#""description": "two processes","#, "");
    assert_mentions(&error_of(&text), &["missing field `description`"]);
}

#[test]
fn a_process_the_initiator_cannot_reach_would_never_record() {
    let text = BASE.replace(r#"{"from": "p", "to": "q", "latency": "5ms"},"#, "");
    assert_mentions(
        &error_of(&text),
        &[
            "snapshots[0].initiator",
            "\"q\" cannot be reached from initiator \"p\"",
        ],
    );
}

#[test]
fn broken_json_syntax_gives_line_and_column() {
    let text = BASE.replace(r#""processes": ["p", "q"],"#, r#""processes": ["p", "q"]"#);
    let message = error_of(&text);
    assert_mentions(&message, &["expected `,` or `}`", "(line 4, column"]);
}

#[test]
fn an_unknown_expected_failure_lists_the_invariants() {
    let text = BASE.replace(
        r#""description": "two processes","#,
        r#""description": "d", "expected_failures": ["conservaton"],"#,
    );
    assert_mentions(
        &error_of(&text),
        &[
            "expected_failures[0]",
            "unknown invariant \"conservaton\"",
            "conservation",
        ],
    );
}

#[test]
fn an_unknown_topology_lists_the_known_ones() {
    let text = r#"{"description": "d", "processes": ["p", "q"], "topology": "star"}"#;
    assert_mentions(
        &error_of(text),
        &["topology", "unknown variant `star`", "complete"],
    );
}

#[test]
fn a_channel_from_a_process_to_itself_is_rejected() {
    let text = BASE.replace(r#"{"from": "q", "to": "p""#, r#"{"from": "q", "to": "q""#);
    assert_mentions(&error_of(&text), &["channels[1].to", "to itself"]);
}

#[test]
fn a_bank_that_never_stops_is_rejected() {
    let text = BASE.replace(
        r#""snapshots""#,
        r#""workload": {"bank": {"transfers_per_s": 10}}, "snapshots""#,
    );
    assert_mentions(
        &error_of(&text),
        &["workload.bank", "run forever", "max_transfers"],
    );
}

#[test]
fn a_wrong_type_names_the_path() {
    let text = BASE.replace(r#""processes": ["p", "q"]"#, r#""processes": ["p", 7]"#);
    assert_mentions(&error_of(&text), &["processes[1]", "a process name"]);
}

#[test]
fn an_output_name_that_is_not_a_safe_directory_name_is_rejected() {
    let text = BASE.replace(r#""description""#, r#""name": "../etc", "description""#);
    assert_mentions(
        &error_of(&text),
        &["`name`", "cannot name an output directory"],
    );
}

#[test]
fn garbage_never_panics() {
    for text in [
        "",
        "null",
        "[]",
        "{",
        "\"x\"",
        "{\"description\": 5}",
        "{\"processes\": {\"count\": 99999999999}}",
    ] {
        let _ = parse_str(text, "garbage.json", "garbage");
    }
}

/// A transfer moves tokens: none or fewer is not a transfer.
#[test]
fn a_scripted_send_of_zero_or_negative_tokens_is_rejected() {
    for tokens in [0, -5] {
        let text = format!(
            r#"{{"description": "d", "processes": [{{"name": "p", "tokens": 5}}, "q"],
              "channels": [{{"from": "p", "to": "q"}}, {{"from": "q", "to": "p"}}],
              "workload": {{"scripted": [{{"at": "1ms", "send": {{"from": "p", "to": "q", "tokens": {tokens}}}}}]}}}}"#
        );
        assert_mentions(
            &error_of(&text),
            &[
                "workload.scripted[0].send.tokens",
                "positive number of tokens",
            ],
        );
    }
}

/// A process holding nothing cannot send 5: the run refuses the send and names the action, unless
/// the scenario says the overdraft is the point (`"overdraw": true`).
#[test]
fn a_scripted_send_cannot_overdraw_an_account_unless_it_says_so() {
    let script = |overdraw: &str| {
        format!(
            r#"{{"description": "d", "processes": ["p", "q"], "initial_tokens": 0,
              "channels": [{{"from": "p", "to": "q"}}, {{"from": "q", "to": "p"}}],
              "workload": {{"scripted": [{{"at": "1ms", "send": {{"from": "p", "to": "q", "tokens": 5{overdraw}}}}}]}}}}"#
        )
    };
    let scenario = parse_str(&script(""), "overdraw.json", "overdraw").unwrap();
    let run = snapsim::report::run_scenario(&scenario, scenario.seed);
    let refused = &run.report.process_graph.as_ref().unwrap().refused_sends;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains("workload.scripted[0]") && refused[0].contains("holds 0"),
        "{}",
        refused[0]
    );
    let on_purpose = parse_str(&script(r#", "overdraw": true"#), "o.json", "o").unwrap();
    let run = snapsim::report::run_scenario(&on_purpose, on_purpose.seed);
    let pg = run.report.process_graph.as_ref().unwrap();
    assert!(pg.refused_sends.is_empty());
    assert_eq!(pg.final_tokens[0].tokens, -5, "the overdraft happened");
}

/// A script can lose a message on purpose (how `snapsim explore` writes a schedule that loses
/// one): a token's send says `"lost": true` and the tokens vanish, breaking conservation; a
/// snapshot's `markers_lost` drops its marker on a channel, and the snapshot never completes. A
/// send cannot lose a marker.
#[test]
fn a_script_loses_a_token_or_a_marker_only_where_it_says_so() {
    let script = |actions: &str| {
        format!(
            r#"{{"description": "d", "processes": ["p", "q"], "initial_tokens": 1,
              "channels": [{{"from": "p", "to": "q"}}, {{"from": "q", "to": "p"}}],
              "workload": {{"scripted": [{actions}]}}}}"#
        )
    };
    let run = |actions: &str| {
        let scenario = parse_str(&script(actions), "lost.json", "lost").unwrap();
        snapsim::report::run_scenario(&scenario, scenario.seed)
    };
    let lost_token = run(
        r#"{"at": "1ms", "send": {"from": "p", "to": "q", "tokens": 1, "lost": true}},
           {"at": "2ms", "snapshot": "p"}"#,
    );
    let pg = lost_token.report.process_graph.as_ref().unwrap();
    assert_eq!(
        pg.final_tokens.iter().map(|t| t.tokens).sum::<i64>(),
        1,
        "p's token is gone"
    );
    assert!(
        lost_token
            .report
            .outcome
            .failed_invariants
            .contains(&snapsim::oracle::Invariant::Conservation),
        "{:?}",
        lost_token.report.outcome
    );
    let lost_marker = run(r#"{"at": "1ms", "snapshot": "p", "markers_lost": ["p->q"]}"#);
    assert!(
        lost_marker
            .report
            .outcome
            .failed_invariants
            .contains(&snapsim::oracle::Invariant::Completion),
        "{:?}",
        lost_marker.report.outcome
    );
    assert_mentions(
        &error_of(&script(
            r#"{"at": "1ms", "send": {"from": "p", "to": "q", "tokens": 1}, "markers_lost": ["p->q"]}"#,
        )),
        &[
            "workload.scripted[0].markers_lost",
            "belongs to a `snapshot`",
        ],
    );
    assert_mentions(
        &error_of(&script(
            r#"{"at": "1ms", "snapshot": "p", "markers_lost": ["p-q"]}"#,
        )),
        &["workload.scripted[0].markers_lost[0]", "from->to"],
    );
}

/// An expectation's mistakes name the expectation's field.
#[test]
fn a_mistaken_expectation_names_its_field() {
    let with = |expect: &str| BASE.replacen('{', &format!("{{\"expect\": [{expect}],"), 1);
    assert_mentions(
        &error_of(&with(r#"{"fact": "snapshots-done", "is": 1}"#)),
        &["expect[0].fact", "unknown fact", "snapshots-completed"],
    );
    assert_mentions(
        &error_of(&with(r#"{"fact": "checkpoints-completed", "is": 1}"#)),
        &["expect[0].fact", "dataflow (Flink) scenarios"],
    );
    assert_mentions(
        &error_of(&with(
            r#"{"fact": "snapshots-failing", "invariant": "fifo", "is": 1}"#,
        )),
        &["expect[0].invariant", "conservation"],
    );
}

/// Files a fuzzer found that used to panic, hang or run out of memory: each is now refused before
/// anything runs, with the field to fix.
#[test]
fn inputs_that_would_crash_hang_or_exhaust_the_machine_are_refused_up_front() {
    let bank = |rest: &str| {
        format!(r#"{{"description": "x", "processes": ["p", "q"], "topology": "ring", {rest}}}"#)
    };
    // An amount beyond any balance used to overflow the draw of a transfer.
    let message = error_of(&bank(
        r#""duration": "1ms", "initial_tokens": 1, "workload": {"bank": {"transfers_per_s": 1e6, "amount_max": 9223372036854775808}}"#,
    ));
    assert_mentions(&message, &["workload.bank.amount_max", "between 1 and"]);
    // No tokens anywhere: the bank could never send, and the run never ended.
    let message = error_of(&bank(
        r#""workload": {"bank": {"transfers_per_s": 1, "amount_max": 1, "max_transfers": 1}}"#,
    ));
    assert_mentions(&message, &["initial_tokens", "no process holds a token"]);
    // An hour at a million transfers a second: billions of events, refused with the arithmetic.
    let message = error_of(&bank(
        r#""duration": "1h", "initial_tokens": 1, "workload": {"bank": {"transfers_per_s": 1e6, "amount_max": 1}}"#,
    ));
    assert_mentions(
        &message,
        &[
            "workload.bank.transfers_per_s",
            "engine events",
            "× 3600 s",
            "max_events",
        ],
    );
    // ... unless the file raises its budget on purpose.
    let raised = bank(
        r#""duration": "10ms", "max_events": 100000000000, "initial_tokens": 1, "workload": {"bank": {"transfers_per_s": 1e6, "amount_max": 1}}"#,
    );
    parse_str(&raised, "raised.json", "raised").expect("a raised budget is accepted");
    // Token counts whose sum overflows 64 bits.
    let message = error_of(
        r#"{"description": "x", "processes": [{"name": "p", "tokens": 9223372036854775807}, {"name": "q", "tokens": 1}], "topology": "ring"}"#,
    );
    assert_mentions(&message, &["processes[0].tokens", "at most"]);
    let message = error_of(
        r#"{"description": "x", "processes": [{"name": "p", "tokens": 1000000000000000}, {"name": "q", "tokens": 1}], "topology": "ring"}"#,
    );
    assert_mentions(&message, &["processes[1].tokens", "in all"]);
    // A billion records at a billion a second into a sink.
    let job = |records: u64, inputs: &str| {
        format!(
            r#"{{"description": "x", "job": {{"operators": [
                {{"name": "source", "kind": "source", "parallelism": 1, "rate_per_s": 1e9, "records": {records}}},
                {{"name": "sink", "kind": "sink", "parallelism": 1, "inputs": [{inputs}]}}]}}}}"#
        )
    };
    let edge = r#"{"from": "source", "partitioner": "forward"}"#;
    let message = error_of(&job(1_000_000_000, edge));
    assert_mentions(&message, &["job.operators[0].records", "engine events"]);
    // One input edge listed twice.
    let message = error_of(&job(10, &format!("{edge}, {edge}")));
    assert_mentions(
        &message,
        &[
            "job.operators[1].inputs[1].from",
            "already an input at inputs[0]",
        ],
    );
    // An explicit list of processes beyond the cap that `count` has.
    let names: Vec<String> = (0..100_001).map(|i| format!("\"p{i}\"")).collect();
    let message = error_of(&format!(
        r#"{{"description": "x", "processes": [{}], "topology": "ring"}}"#,
        names.join(",")
    ));
    assert_mentions(&message, &["at `processes`", "at most 100000 processes"]);
}

/// What people write by habit and JSON does not allow gets an error that says so.
#[test]
fn empty_files_comments_and_trailing_commas_are_explained() {
    assert_mentions(&error_of(""), &["the file is empty"]);
    assert_mentions(
        &error_of("{\"description\": \"x\", // a note\n}"),
        &["JSON has no comments"],
    );
    assert_mentions(
        &error_of(r#"{"description": "x", /* a note */ "seed": 1}"#),
        &["JSON has no comments"],
    );
    assert_mentions(
        &error_of(r#"{"description": "x", "seed": 1,}"#),
        &["no comma after the last item"],
    );
    assert_mentions(
        &error_of("{\"description\": \"x\",\n \"seed\": 1"),
        &["ends in the middle of a value"],
    );
}

// ---- The fuzzer ----
//
// Every shipped scenario, mutated as an attacker would — a value replaced by a huge, negative,
// tiny or wrongly typed one, a key removed, a list emptied or repeated a thousand times, deep
// nesting, a flipped byte, a truncation — then loaded and, when it loads, run through the whole
// oracle and report. Nothing may panic, hang or exhaust memory: a file is either refused with an
// error or run to a verdict. cargo-fuzz needs a nightly toolchain, which this project does not
// assume, so this is a deterministic mutation loop of its own: case `i` mutates scenario
// `i mod n` with a ChaCha stream seeded by `i`, so any case is reproduced by its number, and the
// cases run in parallel on every core. `SNAPSIM_FUZZ_CASES=100000 cargo test --release --test
// scenario_errors fuzz` runs as many as you like; CI runs a few hundred. A failing case is written
// to `target/fuzz-failures/case-<i>.json`.

use rand::{Rng, RngExt, SeedableRng};
use rayon::prelude::*;
use serde_json::{Value, json};

/// What one mutated file did.
enum Fate {
    Refused,
    Ran,
    /// Ran until its event budget stopped it, with a report that says so.
    CutShort,
    Panicked(String),
    Hung,
}

/// Every node of a document, as paths of object keys and array indices.
fn paths(value: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                at.push(json!(key));
                paths(child, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                at.push(json!(index));
                paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn node<'a>(root: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(root, |node, step| match step {
        Value::String(key) => &mut node[key.as_str()],
        step => &mut node[step.as_u64().unwrap() as usize],
    })
}

fn replacement(rng: &mut impl Rng) -> Value {
    let deep = (0..rng.random_range(1..200)).fold(json!(1), |inner, _| json!([inner]));
    let choices = [
        json!(u64::MAX),
        json!(i64::MIN),
        json!(9_223_372_036_854_775_808_u64),
        json!(1e308),
        json!(-1e308),
        json!(-1),
        json!(0),
        json!(1e-9),
        json!(0.5),
        json!(1_000_000_000),
        json!(""),
        json!("x"),
        json!("1e9s"),
        json!("-5ms"),
        json!("99999999999h"),
        json!("0us"),
        json!(true),
        Value::Null,
        json!([]),
        json!({}),
        json!([{}]),
        deep,
    ];
    choices[rng.random_range(0..choices.len())].clone()
}

/// One structural mutation somewhere in the document: mostly of the same type (a number made
/// extreme, a duration made absurd, a list emptied or repeated), so that many mutants still load
/// and run; sometimes of another type, or a key removed.
fn mutate(document: &mut Value, rng: &mut impl Rng) {
    let mut all = Vec::new();
    paths(document, &mut Vec::new(), &mut all);
    let path = all[rng.random_range(0..all.len())].clone();
    if rng.random_bool(0.15) {
        // A key removed from its object, or a value of another type.
        if rng.random_bool(0.5)
            && let Some((Value::String(key), parent)) = path.split_last()
        {
            node(document, parent).as_object_mut().unwrap().remove(key);
        } else {
            *node(document, &path) = replacement(rng);
        }
        return;
    }
    let target = node(document, &path);
    match target {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(1.0);
            let choices = [
                json!(0),
                json!(1),
                json!(-1),
                json!(u64::MAX),
                json!(i64::MAX),
                json!(9_223_372_036_854_775_808_u64),
                json!(1e308),
                json!(1e-9),
                json!(0.5),
                json!(x * 1e6),
                json!(x * 1e3),
                json!(-x),
                json!(x + 1.0),
                json!((x / 1e3).floor()),
            ];
            *target = choices[rng.random_range(0..choices.len())].clone();
        }
        Value::String(text) => {
            let duration = text.ends_with("ms") || text.ends_with("us") || text.ends_with('s');
            let choices: &[&str] = if duration {
                &[
                    "0ms",
                    "1us",
                    "0us",
                    "1h",
                    "99999999999h",
                    "-5ms",
                    "1e9s",
                    "10000s",
                    "1 min",
                    "3ms",
                ]
            } else {
                &[
                    "",
                    "x",
                    "p",
                    "a0",
                    "sink",
                    "source",
                    "1tb",
                    "0b",
                    "EXACTLY_ONCE",
                    "aligned",
                    "unaligned",
                    "hash",
                ]
            };
            *target = json!(choices[rng.random_range(0..choices.len())]);
        }
        Value::Bool(b) => *b = !*b,
        Value::Array(items) if !items.is_empty() => match rng.random_range(0..4) {
            0 => items.clear(),
            1 => {
                let first = items[0].clone();
                items.extend(std::iter::repeat_n(first, 1000));
            }
            2 => {
                items.remove(rng.random_range(0..items.len()));
            }
            _ => {
                let one = items[rng.random_range(0..items.len())].clone();
                items.push(one);
            }
        },
        other => *other = replacement(rng),
    }
}

/// Byte-level damage to the text: a flipped byte, a truncation, or a stray character.
fn damage(text: &mut Vec<u8>, rng: &mut impl Rng) {
    if text.is_empty() {
        return;
    }
    let at = rng.random_range(0..text.len());
    match rng.random_range(0..3) {
        0 => text[at] ^= 1 << rng.random_range(0..8),
        1 => text.truncate(at),
        _ => text.insert(at, b"{}[],:\"0-e9"[rng.random_range(0..11)]),
    }
}

/// The mutated text of case `case`.
fn mutated_case(case: u64, scenarios: &[(String, Value)]) -> (String, Vec<u8>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(case);
    let (name, original) = &scenarios[(case % scenarios.len() as u64) as usize];
    let mut document = original.clone();
    let mutations = [1, 1, 1, 1, 1, 1, 1, 2, 2, 3][rng.random_range(0..10)];
    for _ in 0..mutations {
        mutate(&mut document, &mut rng);
    }
    // Keep each run short: the work budget refuses what would take longer.
    if let Value::Object(map) = &mut document {
        map.insert("max_events".into(), json!(300_000));
    }
    let mut text = serde_json::to_vec_pretty(&document).unwrap();
    if rng.random_bool(0.1) {
        damage(&mut text, &mut rng);
    }
    (name.clone(), text)
}

fn run_case(text: Vec<u8>) -> Fate {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let label = format!("{}/scenarios/fuzzed.json", env!("CARGO_MANIFEST_DIR"));
        let fate = std::panic::catch_unwind(|| {
            let text = String::from_utf8_lossy(&text);
            match snapsim::deployment::parse(&text, &label, "fuzzed") {
                Err(error) => {
                    if std::env::var_os("SNAPSIM_FUZZ_VERBOSE").is_some() {
                        eprintln!("refused: {error}");
                    }
                    Fate::Refused
                }
                Ok(scenario) => {
                    let run = snapsim::report::run_scenario(&scenario, scenario.seed);
                    let _ = snapsim::report::text::render(&run.report);
                    let _ = serde_json::to_vec(&run.report).unwrap();
                    if run.report.cut_short.is_some() {
                        Fate::CutShort
                    } else {
                        Fate::Ran
                    }
                }
            }
        });
        let _ = sender.send(fate.unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Fate::Panicked(message)
        }));
    });
    receiver
        .recv_timeout(std::time::Duration::from_secs(20))
        .unwrap_or(Fate::Hung)
}

#[test]
fn fuzz_mutated_scenarios_are_refused_or_run_never_panic_or_hang() {
    let directory = format!("{}/scenarios", env!("CARGO_MANIFEST_DIR"));
    let mut scenarios: Vec<(String, Value)> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, serde_json::from_str(&text).unwrap())
        })
        .collect();
    scenarios.sort_by(|a, b| a.0.cmp(&b.0));
    let cases: u64 = std::env::var("SNAPSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let first: u64 = std::env::var("SNAPSIM_FUZZ_FIRST_CASE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // Only a failing case keeps its text (10⁵ mutants, some a thousand-fold list, would not fit).
    let fates: Vec<(u64, String, Fate, Vec<u8>)> = (first..first + cases)
        .into_par_iter()
        .map(|case| {
            let (name, text) = mutated_case(case, &scenarios);
            let fate = run_case(text.clone());
            let kept = if matches!(fate, Fate::Panicked(_) | Fate::Hung) {
                text
            } else {
                Vec::new()
            };
            (case, name, fate, kept)
        })
        .collect();
    let ran = fates.iter().filter(|f| matches!(f.2, Fate::Ran)).count();
    let cut_short = fates
        .iter()
        .filter(|f| matches!(f.2, Fate::CutShort))
        .count();
    let refused = fates
        .iter()
        .filter(|f| matches!(f.2, Fate::Refused))
        .count();
    let mut failures = Vec::new();
    for (case, name, fate, text) in &fates {
        let what = match fate {
            Fate::Panicked(message) => format!("panicked: {message}"),
            Fate::Hung => "ran for more than 20 s".to_string(),
            _ => continue,
        };
        let out = format!("{}/target/fuzz-failures", env!("CARGO_MANIFEST_DIR"));
        std::fs::create_dir_all(&out).unwrap();
        let path = format!("{out}/case-{case}.json");
        std::fs::write(&path, text).unwrap();
        failures.push(format!(
            "case {case} (from {name}) {what} — written to {path}"
        ));
    }
    println!(
        "fuzzed {cases} cases from {first}: {ran} ran to a verdict, {cut_short} cut short by their event budget, {refused} refused with an error, {} failed",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        ran > 0 && refused > 0,
        "both kinds occur: {ran} ran, {refused} refused"
    );
}

/// Reproductions the fuzzer found: mutants the work budget admitted although time, not records,
/// made them huge — a source slowed to one record a second keeps checkpointing for hours of
/// virtual time; a 3 ms mean time between failures restarts the job thousands of times a second.
/// Both are now refused before the run, naming the field that drives the work.
#[test]
fn time_driven_work_counts_against_the_budget() {
    let refused = |file: &str, change: &dyn Fn(&mut Value)| {
        let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
        let mut document: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        document.as_object_mut().unwrap().remove("expect");
        change(&mut document);
        match snapsim::deployment::parse(&document.to_string(), &path, "fuzzed") {
            Ok(_) => panic!("{file} after the change was admitted"),
            Err(error) => error.to_string(),
        }
    };
    let slow = refused("flink-bounded-job.json", &|v| {
        v["job"]["operators"][0]["rate_per_s"] = json!(1);
        v["max_events"] = json!(300_000);
    });
    assert!(
        slow.contains("at `job.operators[0].rate_per_s`") && slow.contains("40000 checkpoints"),
        "{slow}"
    );
    let storm = refused("chart-overhead-aligned.json", &|v| {
        v["faults"]["random"][0]["task-crashes"]["mtbf"] = json!("3ms");
    });
    assert!(
        storm.contains("at `faults.random[0]`") && storm.contains("random failures"),
        "{storm}"
    );
}

/// The event budget is the backstop behind the estimate: a job without checkpoints that crashes
/// every few seconds restarts from the beginning again and again (replays the estimate cannot
/// foresee). The fuzzer found such mutants running for minutes. Now the run stops at its
/// `max_events`, and the report says so — judged up to there, never a run that grows without end.
#[test]
fn a_run_that_outgrows_its_estimate_is_cut_short_at_its_event_budget() {
    let path = format!(
        "{}/scenarios/chart-overhead-daly-machine.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let map = document.as_object_mut().unwrap();
    map.remove("expect");
    map.remove("checkpointing");
    map.insert("max_events".into(), json!(300_000));
    let scenario = snapsim::deployment::parse(&document.to_string(), &path, "restarts").unwrap();
    let run = snapsim::report::run_scenario(&scenario, scenario.seed);
    let report = &run.report;
    assert_eq!(
        report.outcome.status,
        snapsim::report::OutcomeStatus::CutShort
    );
    let cut = report
        .cut_short
        .as_ref()
        .expect("the report says it was cut short");
    assert_eq!((cut.events, cut.max_events), (300_000, 300_000));
    assert_eq!(report.events_processed, 300_000);
    assert_eq!(cut.at_us, report.end_time_us);
    assert!(cut.reason.contains("raise `max_events`"), "{}", cut.reason);
    let text = snapsim::report::text::render(report);
    assert!(
        text.contains("CUT SHORT:") && text.contains("result: CUT SHORT"),
        "{text}"
    );
    let json: Value = serde_json::to_value(report).unwrap();
    assert_eq!(json["outcome"]["status"], "cut_short");
    assert_eq!(json["cut_short"]["events"], 300_000);
    // The cut falls on an event count, so it is as deterministic as the run.
    let again = snapsim::report::run_scenario(&scenario, scenario.seed);
    assert_eq!(again.report.digest, report.digest);
    // The same job with a budget it fits in is not cut short.
    document.as_object_mut().unwrap().remove("faults");
    let calm = snapsim::deployment::parse(&document.to_string(), &path, "calm").unwrap();
    let whole = snapsim::report::run_scenario(&calm, calm.seed).report;
    assert!(
        whole.cut_short.is_none() && whole.events_processed < 300_000,
        "{} events",
        whole.events_processed
    );
    assert_eq!(whole.outcome.status, snapsim::report::OutcomeStatus::Passed);
}

/// A Chandy-Lamport run cut short mid-snapshot: its completed snapshots are still checked, and
/// the snapshots whose markers were still in flight are not called incomplete — the run never
/// gave them the chance.
#[test]
fn a_process_graph_cut_short_judges_its_completed_snapshots_and_not_the_unfinished_ones() {
    let path = format!(
        "{}/scenarios/cl-bank-5-accounts.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut scenario = snapsim::deployment::load(std::path::Path::new(&path)).unwrap();
    scenario.expectations.clear();
    let whole = snapsim::report::run_scenario(&scenario, scenario.seed).report;
    let snapshots = whole.process_graph.as_ref().unwrap().snapshots.clone();
    assert!(snapshots.len() >= 2, "the bank takes several snapshots");
    // Cut in the middle of the second snapshot: after its start, before its completion.
    let snapshot = &snapshots[1];
    let budget_at = |events: u64| {
        let mut cut = scenario.clone();
        if let snapsim::scenario::Model::ProcessGraph(model) = &mut cut.model {
            model.max_events = events;
        }
        snapsim::report::run_scenario(&cut, cut.seed).report
    };
    let (mut low, mut high) = (1, whole.events_processed);
    // The smallest budget under which snapshot 2 completes; one less cuts it mid-flight.
    while low < high {
        let middle = (low + high) / 2;
        let report = budget_at(middle);
        if report.process_graph.as_ref().unwrap().snapshots.len() >= 2 {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    let report = budget_at(low - 1);
    let pg = report.process_graph.as_ref().unwrap();
    assert_eq!(pg.snapshots.len(), 1);
    assert_eq!(pg.incomplete_snapshots.len(), 1);
    assert_eq!(pg.incomplete_snapshots[0].id, snapshot.id);
    assert!(pg.completion.passed, "{}", pg.completion.detail);
    assert!(
        pg.completion.detail.starts_with("not judged"),
        "{}",
        pg.completion.detail
    );
    assert!(pg.snapshots[0].invariants.iter().all(|c| c.passed));
    assert_eq!(
        report.outcome.status,
        snapsim::report::OutcomeStatus::CutShort
    );
}
