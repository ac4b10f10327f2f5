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
    let mut checks: std::collections::BTreeMap<String, Vec<(String, serde_json::Value)>> =
        Default::default();
    for chapter in &book_chapters() {
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

/// The book's chapters, in file-name order.
fn book_chapters() -> Vec<PathBuf> {
    let book = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/book/src"));
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(&book)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    chapters.sort();
    chapters
}

/// mdBook's anchor for a heading (`normalize_id`): lower case, letters, digits, `-` and `_`
/// kept, white space turned into `-`, everything else dropped; a repeated heading gets `-1`, `-2`.
fn heading_anchors(text: &str) -> std::collections::BTreeSet<String> {
    let mut anchors = std::collections::BTreeSet::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let id: String = title
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    Some(c.to_ascii_lowercase())
                } else if c.is_whitespace() {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let mut unique = id.clone();
        let mut n = 1;
        while anchors.contains(&unique) {
            unique = format!("{id}-{n}");
            n += 1;
        }
        anchors.insert(unique);
    }
    anchors
}

/// Every link target of a chapter outside code: `[text](target)`, `![alt](image)`,
/// `[label]: target` definitions, and `src="…"` / `href="…"` of raw HTML (the embedded replays).
fn link_targets(text: &str) -> Vec<(usize, String)> {
    let mut targets = Vec::new();
    let mut in_code = false;
    for (number, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        // Inline code spans are not links.
        let mut plain = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                plain.push_str(part);
            }
        }
        let mut rest = plain.as_str();
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let end = after.find(')').unwrap_or(after.len());
            let target = after[..end].split_whitespace().next().unwrap_or("");
            targets.push((number + 1, target.to_string()));
            rest = &after[end..];
        }
        let trimmed = plain.trim_start();
        if trimmed.starts_with('[')
            && let Some((_, target)) = trimmed.split_once("]: ")
        {
            targets.push((number + 1, target.trim().to_string()));
        }
        for attribute in ["src=\"", "href=\""] {
            let mut rest = plain.as_str();
            while let Some(start) = rest.find(attribute) {
                let after = &rest[start + attribute.len()..];
                let end = after.find('"').unwrap_or(after.len());
                targets.push((number + 1, after[..end].to_string()));
                rest = &after[end..];
            }
        }
    }
    targets
}

/// A reader who follows a link in the book gets somewhere: every relative link and image of every
/// chapter names a file of the book that exists, and every `#anchor` a heading of that chapter
/// (`mdbook build` itself does not check either). Links to the web are left to the reader.
#[test]
fn every_link_and_image_in_the_book_resolves() {
    let chapters = book_chapters();
    let anchors: std::collections::BTreeMap<PathBuf, std::collections::BTreeSet<String>> = chapters
        .iter()
        .map(|c| {
            let text = std::fs::read_to_string(c).unwrap();
            (c.canonicalize().unwrap(), heading_anchors(&text))
        })
        .collect();
    let mut broken = Vec::new();
    let mut checked = 0;
    for chapter in &chapters {
        let text = std::fs::read_to_string(chapter).unwrap();
        for (line, target) in link_targets(&text) {
            if target.is_empty()
                || target.contains("://")
                || target.starts_with("mailto:")
                || target.starts_with("data:")
            {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                chapter.clone()
            } else {
                chapter.parent().unwrap().join(path)
            };
            let where_ = format!("{}:{line}", chapter.display());
            if !file.is_file() {
                broken.push(format!("{where_}: {target}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor
                && file.extension().is_some_and(|e| e == "md")
                && !anchors
                    .get(&file.canonicalize().unwrap())
                    .is_some_and(|a| a.contains(anchor))
            {
                broken.push(format!("{where_}: {target}: no heading #{anchor}"));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the scan broken?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// A command line of a code block: its words (quotes respected), without a trailing `# comment`.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                started = true;
            }
            None if c == '#' && !started => break,
            None if c.is_whitespace() => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            None => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// A quoted command is a synopsis (the form of a command, not one to paste) when it has a
/// placeholder: an upper-case word such as `FILE`, an optional part in brackets, an ellipsis, or
/// a file the reader is to supply.
fn is_synopsis(words: &[String]) -> bool {
    words.iter().any(|w| {
        w.contains('[')
            || w.contains('…')
            || w.contains("...")
            || w.contains('<')
            || w.starts_with("my-")
            || w.split(['=', ',', '.', '/'])
                .any(|part| part.len() > 1 && part.chars().all(|c| c.is_ascii_uppercase()))
    })
}

/// Runs the snapsim binary with `arguments` in `directory`, with a time limit; its exit status
/// and what it printed.
fn run_snapsim(directory: &std::path::Path, arguments: &[String]) -> (Option<i32>, String) {
    use std::time::{Duration, Instant};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_snapsim"))
        .args(arguments)
        .current_dir(directory)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the snapsim binary starts");
    // Read the pipes on threads so a talkative command cannot block on a full pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).ok();
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > Duration::from_secs(600) {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = format!("{}{}", out.join().unwrap(), err.join().unwrap());
    (status, text)
}

/// Every command the book quotes in a code block works as written, from the repository's root:
/// each chapter's commands run in order in a fresh directory that holds the scenarios (so a
/// command may use what an earlier one wrote, as a reader's would). `sweep` and `check` run with
/// `--dry-run` (the scenario, every `--set` path and range and the seeds are checked, the runs
/// are not made: the sweep tests run sweeps); `ui` (a server: `scripts/ui-test.sh` drives it) and
/// `figures` (`tests/figures_current.rs` checks its output) are checked like synopses: the
/// subcommand exists and takes every option the line uses. A command that exits 1 must be one
/// the book shows failing on purpose: `explore` of a broken variant or an assumption breaker,
/// printing its counterexample, and `run` of the dataflow counterexample it wrote, replaying it
/// to the same violation.
#[test]
fn every_command_in_the_book_runs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    let mut ran = 0;
    let mut synopses = 0;
    for chapter in book_chapters() {
        let text = std::fs::read_to_string(&chapter).unwrap();
        let name = chapter.file_stem().unwrap().to_string_lossy().to_string();
        let directory =
            std::env::temp_dir().join(format!("snapsim-book-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("scenarios"), directory.join("scenarios")).unwrap();
        let mut in_code = false;
        for (number, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
                continue;
            }
            let command = line.trim().trim_start_matches("$ ");
            if !in_code || !command.starts_with("snapsim ") {
                continue;
            }
            let where_ = format!("{}:{}", chapter.display(), number + 1);
            let words = shell_words(command);
            let mut arguments: Vec<String> = words[1..].to_vec();
            let subcommand = arguments.first().cloned().unwrap_or_default();
            if is_synopsis(&words) || subcommand == "ui" || subcommand == "figures" {
                synopses += 1;
                let (status, help) =
                    run_snapsim(&directory, &[subcommand.clone(), "--help".into()]);
                if status != Some(0) {
                    failures.push(format!("{where_}: `snapsim {subcommand}` is no command"));
                    continue;
                }
                for option in arguments.iter().filter(|a| a.starts_with("--")) {
                    let flag = option.split('=').next().unwrap();
                    if !help.contains(&format!("{flag} ")) && !help.contains(&format!("{flag}=")) {
                        failures.push(format!("{where_}: `snapsim {subcommand}` has no {flag}"));
                    }
                }
                continue;
            }
            if subcommand == "sweep" || subcommand == "check" {
                arguments.push("--dry-run".into());
            }
            ran += 1;
            let (status, output) = run_snapsim(&directory, &arguments);
            let replays_a_counterexample = subcommand == "run"
                && arguments
                    .get(1)
                    .is_some_and(|f| f.ends_with("-counterexample.json"))
                && output.contains("✗ after step");
            let on_purpose = (subcommand == "explore" && output.contains("shortest"))
                || replays_a_counterexample;
            match status {
                Some(0) => {}
                Some(1) if on_purpose => {}
                _ => failures.push(format!(
                    "{where_}: `{command}` exited with {status:?}:\n{}",
                    output
                        .lines()
                        .rev()
                        .take(8)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n")
                )),
            }
        }
        let _ = std::fs::remove_dir_all(&directory);
    }
    assert!(
        ran >= 10,
        "only {ran} commands found in the book: is the scan broken?"
    );
    assert!(synopses >= 3, "only {synopses} synopses found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The scanner's view of command lines, as a reader would read them.
#[test]
fn a_synopsis_is_told_apart_from_a_command_to_paste() {
    let words = |line: &str| shell_words(line);
    assert!(is_synopsis(&words("snapsim run FILE --trace")));
    assert!(is_synopsis(&words(
        "snapsim diagram FILE [--from 250ms --to 400ms]"
    )));
    assert!(is_synopsis(&words(
        "snapsim sweep my-job.json --set checkpointing.interval=300ms..10s"
    )));
    assert!(is_synopsis(&words(
        "snapsim sweep FILE --set PATH=FROM..TO"
    )));
    assert!(!is_synopsis(&words(
        "snapsim sweep scenarios/chart-backpressure.json --set job.operators.sum.cost=0us..900us --points 19"
    )));
    assert!(!is_synopsis(&words(
        "snapsim run scenarios/flink-java-configuration.json"
    )));
    assert_eq!(
        words("snapsim run 'a b.json' --trace=2s..5s   # a window"),
        ["snapsim", "run", "a b.json", "--trace=2s..5s"]
    );
}

/// `snapsim run` checks each checkpoint as it completes and then forgets its contents (memory
/// follows the job's state, not the number of checkpoints); the oracle after the run, with every
/// checkpoint kept, reads the same record. Their verdicts must be the same, word for word, on
/// every shipped dataflow scenario — the broken variants, crashes and recoveries among them.
#[test]
fn checking_checkpoints_as_they_complete_gives_the_verdicts_of_checking_after_the_run() {
    let mut compared = 0;
    for file in scenario_files() {
        let scenario = load_file(&file).unwrap_or_else(|e| panic!("{e}"));
        let snapsim::scenario::Model::Dataflow(model) = &scenario.model else {
            continue;
        };
        let during = run_scenario(&scenario, scenario.seed);
        let during = during.report.dataflow.as_ref().unwrap();
        let kept = snapsim::dataflow::run(model, scenario.seed);
        let after = snapsim::oracle::dataflow::check(model, scenario.seed, &kept);
        assert_eq!(
            serde_json::to_string(&during.checks).unwrap(),
            serde_json::to_string(&after.checkpoints).unwrap(),
            "{}: the checkpoint checks differ",
            file.display()
        );
        assert_eq!(
            serde_json::to_string(&during.protocol_rules).unwrap(),
            serde_json::to_string(&after.protocol_rules).unwrap(),
            "{}",
            file.display()
        );
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} dataflow scenarios");
}
