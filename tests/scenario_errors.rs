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
