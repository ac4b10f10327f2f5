//! Every scenario in `scenarios/` runs, does what it says (passes, or fails exactly as it
//! declares), shows the facts its lesson claims (its `expect` list), and is deterministic: two
//! runs give the same digest.

use snapsim::deployment::load as load_file;
use snapsim::report::{OutcomeStatus, run_scenario};
use snapsim::scenario::parse_str;
use std::path::PathBuf;

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
            .expect("scenarios/ exists")
            .map(|entry| entry.expect("readable entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

#[test]
fn every_scenario_is_deterministic_and_does_what_it_declares() {
    for file in scenario_files() {
        let scenario = load_file(&file).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !scenario.expectations.is_empty(),
            "{} states no facts its lesson must show (an `expect` list)",
            file.display()
        );
        let first = run_scenario(&scenario, scenario.seed);
        let second = run_scenario(&scenario, scenario.seed);
        assert_eq!(
            first.report.digest,
            second.report.digest,
            "{} is not deterministic",
            file.display()
        );
        assert!(
            first.report.outcome.is_success(),
            "{}: {:?}",
            file.display(),
            first.report.outcome
        );
    }
}

#[test]
fn a_different_seed_gives_a_different_run() {
    let scenario = load_file(&PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/cl-bank-5-accounts.json"
    )))
    .unwrap();
    let a = run_scenario(&scenario, 1);
    let b = run_scenario(&scenario, 2);
    assert_ne!(a.report.digest, b.report.digest);
}

/// A lesson that does not happen is caught: the lost-notice scenario as it first shipped — its
/// notices lost in a window where no checkpoint completed (the job was backpressured, so
/// checkpoints took seconds) — keeps every invariant, but loses no notice, and its `expect` list
/// says so.
#[test]
fn a_scenario_whose_lesson_does_not_happen_fails_and_says_what_happened() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/flink-lost-completion-notice.json"
    );
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    value["job"]["operators"][0]["rate_per_s"] = serde_json::json!(10000);
    value["job"]["operators"][0]["records"] = serde_json::json!(60000);
    let scenario = parse_str(&value.to_string(), "as-shipped.json", "as-shipped").unwrap();
    let run = run_scenario(&scenario, scenario.seed);
    let outcome = &run.report.outcome;
    assert_eq!(
        outcome.failed_invariants,
        vec![],
        "the invariants still hold"
    );
    assert_eq!(outcome.status, OutcomeStatus::LessonNotShown);
    let missed: Vec<_> = outcome.expectations.iter().filter(|e| !e.held).collect();
    assert!(
        missed
            .iter()
            .any(|e| e.expectation.starts_with("completion-notices-lost") && e.actual == "it is 0"),
        "{missed:?}"
    );
    assert!(!outcome.is_success(), "run exits non-zero");
}

/// Every fact of the vocabulary is wired to the run it is about: evaluated on a shipped run of its
/// kind, no fact answers that it belongs to the other kind.
#[test]
fn every_fact_is_evaluated_by_the_runs_of_its_kind() {
    use snapsim::expectation::{ExpectationSpec, FactKind, FactName, Selector, evaluate, validate};
    for (file, kind, operators) in [
        (
            "flink-crash-during-alignment.json",
            FactKind::Dataflow,
            vec![
                ("source".to_string(), 2, false),
                ("sum".to_string(), 2, false),
                ("sink".to_string(), 2, true),
            ],
        ),
        (
            "cl-non-fifo-breaks-conservation.json",
            FactKind::ProcessGraph,
            vec![],
        ),
    ] {
        let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios")).join(file);
        let scenario = load_file(&path).unwrap();
        let run = run_scenario(&scenario, scenario.seed);
        for fact in FactName::ALL.iter().filter(|f| f.kind() == kind) {
            let has = |selector| fact.selectors().contains(&selector);
            let spec = ExpectationSpec {
                fact: fact.name().to_string(),
                checkpoint: has(Selector::Checkpoint).then_some(1),
                task: has(Selector::Task).then(|| "sum[0]".to_string()),
                invariant: has(Selector::Invariant).then(|| "conservation".to_string()),
                snapshot: has(Selector::Snapshot).then_some(1),
                process: has(Selector::Process).then(|| "a0".to_string()),
                channel: has(Selector::Channel).then(|| "a0->a1".to_string()),
                is: Some(if fact.is_text() {
                    serde_json::json!("x")
                } else {
                    serde_json::json!(0)
                }),
                ..ExpectationSpec::default()
            };
            let expectation = validate(&spec, kind, &operators)
                .unwrap_or_else(|e| panic!("{}: {e:?}", fact.name()));
            let result = evaluate(&expectation, &run);
            assert!(
                !result.actual.contains("a dataflow fact")
                    && !result.actual.contains("a process-graph fact"),
                "{file}: {}: {}",
                fact.name(),
                result.actual
            );
        }
    }
}

/// A run with dozens of snapshots prints the first three and the last in full, the rest as one
/// block of aggregates; the JSON report keeps every one.
#[test]
fn a_summary_of_many_snapshots_shows_the_ends_in_full_and_aggregates_the_rest() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/cl-bank-5-accounts.json"
    );
    let scenario = load_file(&PathBuf::from(path)).unwrap();
    let run = run_scenario(&scenario, scenario.seed);
    let snapshots = &run.report.process_graph.as_ref().unwrap().snapshots;
    assert!(snapshots.len() > 10, "{} snapshots", snapshots.len());
    let text = snapsim::report::text::render(&run.report);
    let in_full = text
        .lines()
        .filter(|l| l.starts_with("snapshot ") && l.contains(" — started by "))
        .count();
    assert_eq!(in_full, 4, "{text}");
    let block = format!(
        "snapshots {} to {} ({})",
        snapshots[3].id,
        snapshots[snapshots.len() - 2].id,
        snapshots.len() - 4
    );
    assert!(text.contains(&block), "{text}");
    let occurred = snapshots[3..snapshots.len() - 1]
        .iter()
        .filter(|s| s.occurred.occurred)
        .count();
    assert!(
        text.contains(&format!("{occurred} of {} recorded", snapshots.len() - 4)),
        "{text}"
    );
}

/// The book's exercises have answers, and every answer carries a `check:` line — a scenario and
/// a fact with the value the answer states. Each scenario is run with those facts as its `expect`
/// list: an answer in the book cannot drift from what the simulator does.
#[test]
fn every_checked_answer_in_the_book_is_what_the_simulator_does() {
    let book = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/book/src"));
    let mut checks: std::collections::BTreeMap<String, Vec<(String, serde_json::Value)>> =
        Default::default();
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(&book)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    for chapter in &chapters {
        let text = std::fs::read_to_string(chapter).unwrap();
        for (number, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(start) = rest.find("`check: ") {
                let after = &rest[start + "`check: ".len()..];
                let end = after.find('`').expect("a closing backquote");
                let (scenario, fact) = after[..end].split_once(' ').expect("check: SCENARIO {…}");
                let where_ = format!("{}:{}", chapter.display(), number + 1);
                let fact: serde_json::Value = serde_json::from_str(fact)
                    .unwrap_or_else(|e| panic!("{where_}: the fact is not JSON: {e}"));
                checks
                    .entry(scenario.to_string())
                    .or_default()
                    .push((where_, fact));
                rest = &after[end + 1..];
            }
        }
    }
    assert!(
        checks.len() >= 5,
        "the book's exercises are checked: {checks:?}"
    );
    for (scenario, facts) in &checks {
        let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
            .join(format!("{scenario}.json"));
        let mut document: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: no scenario {scenario}: {e}", facts[0].0)),
        )
        .unwrap();
        document["expect"] = facts.iter().map(|(_, fact)| fact.clone()).collect();
        let loaded = snapsim::deployment::parse(
            &document.to_string(),
            &path.display().to_string(),
            scenario,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", facts[0].0));
        let run = run_scenario(&loaded, loaded.seed);
        for ((where_, fact), result) in facts.iter().zip(&run.report.outcome.expectations) {
            assert!(
                result.held,
                "{where_}: the book answers {fact}, but in {scenario} {}",
                result.actual
            );
        }
    }
}
