//! `snapsim sweep`, `check`, `merge`, `run`, `import` and `explore` on the command line: what a user types, what they get
//! back — and what Ctrl-C, a full disk or an unwritable directory leave behind.

use std::path::PathBuf;
use std::process::{Command, Output};

fn snapsim(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapsim"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `snapsim` with `arguments` and checks that it refuses them as bad input (exit 2) with an
/// error that says `fragment`.
fn refused(arguments: &[&str], fragment: &str) {
    let output = snapsim(arguments);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{arguments:?}: {}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains(fragment),
        "{arguments:?}: {}",
        stderr(&output)
    );
}

const MACHINE: &str = "scenarios/chart-overhead-daly-machine.json";

#[test]
fn a_sweep_prints_a_table_and_writes_its_files_under_output() {
    let out = std::env::temp_dir().join(format!("snapsim-sweep-cli-{}", std::process::id()));
    let output = snapsim(&[
        "sweep",
        MACHINE,
        "--set",
        "checkpointing.interval=1s..4s",
        "--points",
        "3",
        "--log",
        "--seeds",
        "2",
        "--jobs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("3 point(s) × 2 seed(s) = 8 runs"), "{text}");
    assert!(text.contains("checkpointing.interval=2s"), "{text}");
    assert!(text.contains("overhead"), "{text}");
    let directory: PathBuf = out.join("chart-overhead-daly-machine/sweep-checkpointing.interval");
    for file in [
        "summary.csv",
        "runs.csv",
        "sweep.json",
        "points/point-002.json",
    ] {
        assert!(directory.join(file).is_file(), "{file} missing");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// A misspelt path is refused with what the scenario could have; a path into a section the file
/// does not have yet (no `checkpoint-storage` at all) makes the section and sweeps it.
#[test]
fn a_path_that_does_not_exist_is_refused_with_what_is_there() {
    let output = snapsim(&["sweep", MACHINE, "--set", "checkpointng.interval=1s..2s"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("checkpointng.interval=1s"), "{message}");
    assert!(
        message.contains("unknown field `checkpointng`"),
        "{message}"
    );
    assert!(message.contains("`checkpointing`"), "{message}");
    let output = snapsim(&["sweep", MACHINE, "--set", "faults.crash.at=1s..2s"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("at `faults"),
        "{}",
        stderr(&output)
    );

    let out = scratch("sweep-missing-section");
    let scenario = "scenarios/flink-bounded-job.json";
    let text = std::fs::read_to_string(scenario).unwrap();
    assert!(
        !text.contains("checkpoint-storage"),
        "the file has no such section"
    );
    let output = snapsim(&[
        "sweep",
        scenario,
        "--set",
        "checkpoint-storage.latency=1ms..5ms",
        "--points",
        "2",
        "--seeds",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = out.join("flink-bounded-job/sweep-checkpoint-storage.latency/summary.csv");
    let fast = first_mean(&summary, "checkpoint_duration_ms_mean");
    let slow = last_mean(&summary, "checkpoint_duration_ms_mean");
    assert!(
        slow > fast + 3.0,
        "a slower store makes longer checkpoints: {fast} → {slow}"
    );
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn a_field_that_is_not_a_number_is_refused() {
    let output = snapsim(&["sweep", MACHINE, "--set", "checkpointing.protocol=1..2"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("the text \"stop-the-world\", not a number"),
        "{message}"
    );
}

#[test]
fn a_range_in_the_wrong_form_says_how_to_write_it() {
    let output = snapsim(&[
        "sweep",
        MACHINE,
        "--set",
        "checkpointing.interval=1000..2000",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("has no unit"),
        "{}",
        stderr(&output)
    );
    let output = snapsim(&["sweep", MACHINE, "--set", "checkpointing.interval"]);
    assert!(stderr(&output).contains("write PATH=FROM..TO"));
    // A value the scenario itself rejects is caught before anything runs.
    let output = snapsim(&["sweep", MACHINE, "--set", "checkpointing.interval=0s..1s"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("at checkpointing.interval=0us"),
        "{}",
        stderr(&output)
    );
}

/// Every file under `directory`, relative to it, with its bytes, in path order.
fn tree(directory: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &std::path::Path, at: &std::path::Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path.strip_prefix(root).unwrap().display().to_string();
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    walk(directory, directory, &mut files);
    files.sort();
    files
}

/// A class's sweep outgrows one machine: three machines each run a third of the seeds
/// (`--shard K/3`), and `snapsim merge` turns their three directories — given in any order —
/// into exactly the files one machine running every seed would have written.
#[test]
fn a_sweep_run_as_three_shards_merges_into_the_files_of_the_whole_sweep() {
    let root = std::env::temp_dir().join(format!("snapsim-sweep-shards-{}", std::process::id()));
    let out = |name: &str| root.join(name).to_str().unwrap().to_string();
    let sweep = |extra: &[&str], directory: &str| {
        let mut arguments = vec![
            "sweep",
            MACHINE,
            "--set",
            "checkpointing.interval=1s..4s",
            "--points",
            "2",
            "--seeds",
            "5",
            "--jobs",
            "2",
            "--out",
            directory,
        ];
        arguments.extend_from_slice(extra);
        let output = snapsim(&arguments);
        assert!(output.status.success(), "{}", stderr(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    sweep(&[], &out("whole"));
    for k in 1..=3 {
        let text = sweep(&["--shard", &format!("{k}/3")], &out(&format!("shard-{k}")));
        assert!(text.contains(&format!("shard {k}/3")), "{text}");
    }
    let merged = snapsim(&[
        "merge",
        &out("shard-3"),
        &out("shard-1"),
        &out("shard-2"),
        "--out",
        &out("merged"),
    ]);
    assert!(merged.status.success(), "{}", stderr(&merged));
    let (whole, merged) = (tree(&root.join("whole")), tree(&root.join("merged")));
    let names = |files: &[(String, Vec<u8>)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    let listed = names(&whole);
    assert_eq!(
        listed.len(),
        5,
        "summary, runs, sweep.json and 2 points: {listed:?}"
    );
    assert_eq!(listed, names(&merged));
    for ((name, expected), (_, actual)) in whole.iter().zip(&merged) {
        assert!(expected == actual, "{name} differs after the merge");
    }

    // Two of three shards are not the whole sweep, and saying which one is missing helps.
    refused(
        &[
            "merge",
            &out("shard-1"),
            &out("shard-2"),
            "--out",
            &out("x"),
        ],
        "shard 3/3 is missing",
    );
    std::fs::remove_dir_all(&root).unwrap();
}

/// The same for `check`: a shard's verdicts and the merged `check.json` are those of the whole.
#[test]
fn a_check_run_as_three_shards_merges_into_the_check_of_every_seed() {
    let root = std::env::temp_dir().join(format!("snapsim-check-shards-{}", std::process::id()));
    let out = |name: &str| root.join(name).to_str().unwrap().to_string();
    let scenario = "scenarios/cl-two-process-tokens.json";
    let check = |extra: &[&str], directory: &str| {
        let mut arguments = vec!["check", scenario, "--seeds", "10..17", "--out", directory];
        arguments.extend_from_slice(extra);
        let output = snapsim(&arguments);
        assert!(output.status.success(), "{}", stderr(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let whole_text = check(&[], &out("whole"));
    assert!(whole_text.contains("7 of 7 seeds"), "{whole_text}");
    for k in 1..=3 {
        check(&["--shard", &format!("{k}/3")], &out(&format!("shard-{k}")));
    }
    let merged = snapsim(&[
        "merge",
        &out("shard-2"),
        &out("shard-3"),
        &out("shard-1"),
        "--out",
        &out("merged"),
    ]);
    assert!(merged.status.success(), "{}", stderr(&merged));
    assert!(String::from_utf8_lossy(&merged.stdout).contains("7 of 7 seeds"));
    let file = "cl-two-process-tokens/check.json";
    let whole = std::fs::read(root.join("whole").join(file)).unwrap();
    assert_eq!(
        whole,
        std::fs::read(root.join("merged").join(file)).unwrap()
    );
    let report: serde_json::Value = serde_json::from_slice(&whole).unwrap();
    assert_eq!(report["results"].as_array().unwrap().len(), 7);
    assert!(
        report.get("shard").is_none(),
        "a merged check is not a shard"
    );

    // A shard of a different scenario is refused, not silently merged.
    let other = snapsim(&[
        "check",
        "scenarios/cl-three-process-tokens.json",
        "--seeds",
        "10..17",
        "--shard",
        "3/3",
        "--out",
        &out("other"),
    ]);
    assert!(other.status.success(), "{}", stderr(&other));
    refused(
        &[
            "merge",
            &out("shard-1"),
            &out("shard-2"),
            &out("other"),
            "--out",
            &out("x"),
        ],
        "different scenario files",
    );
    std::fs::remove_dir_all(&root).unwrap();
}

/// Seed ranges and grids too large for one machine are refused with what to do instead, never a
/// panic, an allocation of gigabytes or a plan that never ends.
#[test]
fn seed_ranges_and_grids_beyond_one_machine_are_refused_with_what_to_do() {
    let tokens = "scenarios/cl-two-process-tokens.json";
    refused(
        &["check", tokens, "--seeds", "0..18446744073709551615"],
        "--shard K/N",
    );
    refused(&["check", tokens, "--seeds", "0..100000000"], "--shard K/N");
    refused(
        &["check", tokens, "--seeds", "18446744073709551615"],
        "the largest seed",
    );
    refused(
        &["check", tokens, "--seeds", "0..3", "--shard", "4/3"],
        "1 ≤ K ≤ N",
    );
    refused(
        &["check", tokens, "--seeds", "0..2", "--shard", "1/3"],
        "cannot be split",
    );
    let sweep = ["sweep", tokens, "--set", "duration=1s..2s"];
    refused(
        &[&sweep[..], &["--seeds", "18446744073709551615"]].concat(),
        "--shard K/N",
    );
    refused(
        &[&sweep[..], &["--points", "1000000000"]].concat(),
        "--points must be between",
    );
}

/// `snapsim run FILE | head -1` reads one line and closes the pipe: the run neither panics nor
/// loses its report.
#[test]
fn a_closed_pipe_on_stdout_does_not_stop_the_run_from_writing_its_report() {
    let out = std::env::temp_dir().join(format!("snapsim-closed-pipe-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_snapsim"))
        .args(["run", "scenarios/cl-bank-5-accounts.json", "--out"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    assert!(out.join("cl-bank-5-accounts/report.json").is_file());
    std::fs::remove_dir_all(&out).unwrap();
}

/// `diagram --from` alone keeps the default window's width after it, and a window that starts
/// after the run ended is refused instead of drawing an empty picture.
#[test]
fn a_diagram_window_with_one_bound_or_past_the_run_says_what_it_draws() {
    let out = std::env::temp_dir().join(format!("snapsim-diagram-window-{}", std::process::id()));
    let out = out.to_str().unwrap();
    let bank = "scenarios/cl-bank-5-accounts.json";
    let from_only = snapsim(&["diagram", bank, "--from", "100ms", "--out", out]);
    assert!(from_only.status.success(), "{}", stderr(&from_only));
    let text = String::from_utf8_lossy(&from_only.stdout);
    assert!(text.contains("window 100.000ms to"), "{text}");
    let past = snapsim(&["diagram", bank, "--from", "6s", "--out", out]);
    assert_eq!(past.status.code(), Some(2));
    assert!(
        stderr(&past).contains("but the run ended at"),
        "{}",
        stderr(&past)
    );
    std::fs::remove_dir_all(out).unwrap();
}

/// Starts `snapsim` with `arguments`, sends it Ctrl-C (SIGINT) after `after`, and waits for it.
fn interrupted(arguments: &[&str], after: std::time::Duration) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_snapsim"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    std::thread::sleep(after);
    // SAFETY: kill(2) with a pid this test spawned and still owns (not yet waited for).
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0, "SIGINT delivered");
    child.wait_with_output().expect("the binary ends")
}

fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("snapsim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

fn temporaries(directory: &std::path::Path) -> Vec<String> {
    tree(directory)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.contains(".tmp-"))
        .collect()
}

/// Ctrl-C in a long check: the runs under way finish, every finished seed's verdict is printed,
/// and no check.json claims a check that did not happen (an earlier one is removed at the start).
#[test]
fn ctrl_c_stops_a_check_and_prints_the_seeds_that_finished() {
    let out = scratch("check-interrupted");
    let stale = out.join("flink-crash-during-alignment/check.json");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, "{}").unwrap();
    let output = interrupted(
        &[
            "check",
            "scenarios/flink-crash-during-alignment.json",
            "--seeds",
            "0..5000",
            "--out",
            out.to_str().unwrap(),
        ],
        std::time::Duration::from_secs(3),
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{text}{}", stderr(&output));
    assert!(
        text.contains("interrupted: ") && text.contains("of 5000 seed(s) finished"),
        "{text}"
    );
    let finished = text.lines().filter(|l| l.starts_with("  seed ")).count();
    assert!(finished < 5000, "{text}");
    assert!(!stale.exists(), "no check.json for an interrupted check");
    std::fs::remove_dir_all(&out).ok();
}

/// Ctrl-C in a sweep: the point files and both summaries list exactly the points that finished,
/// and no sweep.json (an earlier sweep's is removed when the new one starts).
#[test]
fn ctrl_c_stops_a_sweep_and_leaves_only_the_points_that_finished() {
    let out = scratch("sweep-interrupted");
    let directory = out.join("chart-overhead-daly-machine/sweep-checkpointing.interval");
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("sweep.json"), "{}").unwrap();
    let output = interrupted(
        &[
            "sweep",
            MACHINE,
            "--set",
            "checkpointing.interval=1s..8s",
            "--points",
            "2000",
            "--seeds",
            "4",
            "--jobs",
            "2",
            "--out",
            out.to_str().unwrap(),
        ],
        std::time::Duration::from_secs(3),
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(130), "{text}{}", stderr(&output));
    assert!(text.contains("of 2000 point(s) finished"), "{text}");
    assert!(!directory.join("sweep.json").exists());
    let points = std::fs::read_dir(directory.join("points")).unwrap().count();
    let rows = |file: &str| {
        std::fs::read_to_string(directory.join(file)).map_or(0, |csv| csv.lines().skip(1).count())
    };
    assert_eq!(rows("summary.csv"), points);
    let listed = text
        .lines()
        .filter(|l| l.starts_with("  checkpointing.interval="))
        .count();
    assert_eq!(listed, points, "{text}");
    assert!(points < 2000);
    std::fs::remove_dir_all(&out).ok();
}

/// A full disk (injected) while a run writes its report, event log and savepoints: nothing
/// changes — the previous run's files stay, all of one run — and no temporary is left; a later
/// run's files all carry its digest, so a partner from another run could be told apart.
#[test]
fn a_full_disk_leaves_the_previous_runs_files_and_every_file_names_its_run() {
    let out = scratch("full-disk");
    let run = |seed: &str, inject: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_snapsim"));
        command
            .args([
                "run",
                "scenarios/flink-savepoint-v1.json",
                "--events",
                "--seed",
                seed,
            ])
            .args(["--out", out.to_str().unwrap()])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if let Some(bytes) = inject {
            command.env("SNAPSIM_INJECT_FULL_DISK_AFTER_BYTES", bytes);
        }
        command.output().expect("the binary runs")
    };
    let directory = out.join("flink-savepoint-v1");
    assert!(run("1", None).status.code().is_some());
    let before = tree(&directory);
    // A temporary a killed run left behind.
    std::fs::write(directory.join(".report.json.tmp-4294967295"), "torn").unwrap();
    for bytes in ["0", "100000", "300000"] {
        let output = run("5", Some(bytes));
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("No space left on device"),
            "{}",
            stderr(&output)
        );
        assert_eq!(tree(&directory), before, "injected after {bytes} bytes");
        assert_eq!(temporaries(&directory), Vec::<String>::new());
    }
    assert!(run("5", None).status.code().is_some());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(directory.join("report.json")).unwrap())
            .unwrap();
    let digest = report["digest"].as_str().unwrap();
    let events = std::fs::read_to_string(directory.join("events.jsonl")).unwrap();
    let header: serde_json::Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    assert_eq!(header["run"]["digest"], digest);
    assert_eq!(header["run"]["seed"], 5);
    let mut savepoints = 0;
    for (name, bytes) in tree(&directory) {
        if name.starts_with("savepoint-") {
            let savepoint: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(savepoint["run_digest"], digest, "{name}");
            savepoints += 1;
        }
    }
    assert!(savepoints > 0);
    std::fs::remove_dir_all(&out).ok();
}

/// A full disk in the middle of a sweep: each point file goes in with the summaries that list it,
/// or not at all.
#[test]
fn a_full_disk_in_a_sweep_never_leaves_a_point_its_summary_lacks() {
    for bytes in ["0", "20000", "60000"] {
        let out = scratch(&format!("sweep-full-disk-{bytes}"));
        let output = Command::new(env!("CARGO_BIN_EXE_snapsim"))
            .args(["sweep", MACHINE, "--set", "checkpointing.interval=1s..4s"])
            .args(["--points", "6", "--seeds", "2", "--jobs", "2"])
            .args(["--out", out.to_str().unwrap()])
            .env("SNAPSIM_INJECT_FULL_DISK_AFTER_BYTES", bytes)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        let directory = out.join("chart-overhead-daly-machine/sweep-checkpointing.interval");
        let points = std::fs::read_dir(directory.join("points")).map_or(0, |d| d.count());
        let rows = std::fs::read_to_string(directory.join("summary.csv"))
            .map_or(0, |csv| csv.lines().skip(1).count());
        assert_eq!(points, rows, "injected after {bytes} bytes");
        assert!(!directory.join("sweep.json").exists());
        assert_eq!(temporaries(&directory), Vec::<String>::new());
        std::fs::remove_dir_all(&out).ok();
    }
}

/// What cannot be written is said before the run, not after it has printed its report.
#[test]
fn an_unwritable_output_directory_fails_before_the_run_and_a_process_graph_can_be_traced() {
    let out = scratch("unwritable");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let under_a_file = file.join("out");
    let output = snapsim(&[
        "run",
        "scenarios/cl-bank-5-accounts.json",
        "--out",
        under_a_file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot write results under"),
        "{}",
        stderr(&output)
    );
    assert!(output.stdout.is_empty(), "nothing was simulated");
    // A process graph's trace: a track per process, flow arrows for messages and markers.
    let traced = out.join("traced");
    let output = snapsim(&[
        "run",
        "scenarios/cl-bank-5-accounts.json",
        "--trace",
        "--out",
        traced.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let trace: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(traced.join("cl-bank-5-accounts/trace.json")).unwrap(),
    )
    .unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let count = |ph: &str, cat: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == ph && (cat.is_empty() || e["cat"] == cat))
            .count()
    };
    assert_eq!(count("M", "") % 3, 0, "a name and two threads per process");
    assert!(count("s", "marker") > 0 && count("s", "marker") == count("f", "marker"));
    assert!(count("s", "message") > 0 && count("s", "message") == count("f", "message"));
    assert!(
        count("X", "snapshot") > 0,
        "each process's part of a snapshot is a slice"
    );
    assert!(trace["otherData"]["run_digest"].is_string());
    std::fs::remove_dir_all(&out).ok();
}

/// The shell finds the subcommands, and `--help` says what each exit status means.
#[test]
fn completions_are_generated_and_help_lists_the_exit_statuses() {
    for shell in ["bash", "zsh", "fish"] {
        let output = snapsim(&["completions", shell]);
        assert!(output.status.success(), "{shell}: {}", stderr(&output));
        let script = String::from_utf8_lossy(&output.stdout);
        for subcommand in ["run", "check", "sweep", "merge", "diagram"] {
            assert!(script.contains(subcommand), "{shell} lacks {subcommand}");
        }
    }
    refused(&["completions", "tcsh"], "invalid value");
    let help = String::from_utf8_lossy(&snapsim(&["--help"]).stdout).into_owned();
    for status in ["0 ", "1 ", "2 ", "3 ", "130 "] {
        assert!(help.contains(&format!("  {status}")), "{help}");
    }
}

/// A run that reaches its event budget (the scenario's `max_events`) stops there: `run` writes
/// a complete report that says it was cut short and exits 3; `check` lists the seeds that were
/// cut short; a sweep marks the runs (`cut_short` = 1 in runs.csv) and warns.
#[test]
fn a_run_cut_short_by_its_event_budget_writes_a_report_that_says_so_and_exits_3() {
    let out = scratch("cut-short");
    std::fs::create_dir_all(&out).unwrap();
    // No checkpoints and a crash every 10 s on average: 100 s of work restarts from the beginning
    // forever, far beyond what validation estimated.
    let mut document: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/{MACHINE}", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap();
    let map = document.as_object_mut().unwrap();
    map.remove("expect");
    map.remove("checkpointing");
    map.insert("name".into(), serde_json::json!("restarts"));
    map.insert("max_events".into(), serde_json::json!(250_000));
    let file = out.join("restarts.json");
    std::fs::write(&file, document.to_string()).unwrap();
    let file = file.to_str().unwrap();
    let results = out.join("results");
    let output = snapsim(&["run", file, "--out", results.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("CUT SHORT:") && text.contains("max_events"),
        "{text}"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(results.join("restarts/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["outcome"]["status"], "cut_short");
    assert_eq!(report["cut_short"]["events"], 250_000);
    assert_eq!(report["events_processed"], 250_000);

    let output = snapsim(&[
        "check",
        file,
        "--seeds",
        "0..3",
        "--out",
        results.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("seed 2: CutShort"), "{text}");
    assert!(
        text.contains("0 of 3 seeds did what the scenario says"),
        "{text}"
    );

    let output = snapsim(&[
        "sweep",
        file,
        "--set",
        "job.operators[0].rate_per_s=1000..2000",
        "--points",
        "2",
        "--seeds",
        "1",
        "--out",
        results.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cut short by the event budget"),
        "{}",
        stderr(&output)
    );
    let runs = std::fs::read_to_string(
        results.join("restarts/sweep-job.operators_0_.rate_per_s/runs.csv"),
    )
    .unwrap();
    let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|c| *c == "cut_short")
        .expect("a cut_short column");
    for row in runs.lines().skip(1) {
        assert_eq!(row.split(',').nth(column), Some("1"), "{runs}");
    }
    std::fs::remove_dir_all(&out).ok();
}

/// The COS418 assignment's files become a scenario: ticks as time, the lines after a tick run
/// after that tick's deliveries, and every message takes one tick. With every marker on time, Q
/// records the token in its balance; give P's marker two ticks and Q has passed the token back
/// before it records, so the token is recorded in flight — each `.snap` file matches exactly one
/// of the two runs, and the comparison says what differs.
#[test]
fn cos418_files_import_as_a_scenario_and_compare_with_their_snap_files() {
    let out = scratch("cos418");
    let scenario = out.join("two-servers.json");
    let import = |extra: &[&str]| {
        let mut arguments = vec![
            "import",
            "cos418",
            "tests/cos418/two-servers.top",
            "tests/cos418/two-servers.events",
            "--out",
            scenario.to_str().unwrap(),
        ];
        arguments.extend_from_slice(extra);
        snapsim(&arguments)
    };
    let output = import(&["--snap", "tests/cos418/two-servers.snap"]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}{}", stderr(&output));
    assert!(
        text.contains("✓ snapshot 0 matches tests/cos418/two-servers.snap"),
        "{text}"
    );
    assert!(text.contains("invariants: every invariant held"), "{text}");

    let output = import(&["--snap", "tests/cos418/two-servers-slow-marker.snap"]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Q recorded 1 token(s), the .snap file has 0"),
        "{text}"
    );
    assert!(
        text.contains("channel Q->P recorded nothing, the .snap file has token(1)"),
        "{text}"
    );
    assert!(
        text.contains("--marker-latency"),
        "the way out is named: {text}"
    );

    let output = import(&[
        "--snap",
        "tests/cos418/two-servers-slow-marker.snap",
        "--marker-latency",
        "0:P->Q=2",
    ]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}{}", stderr(&output));

    // The written scenario runs on its own; the same-instant rule is what makes it valid: run
    // before that tick's delivery, Q would pass on a token it does not hold yet.
    let results = out.join("results");
    let output = snapsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--out",
        results.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&scenario).unwrap()).unwrap();
    assert_eq!(document["scripted_actions_run"], "after_deliveries");
    document["scripted_actions_run"] = serde_json::json!("before_deliveries");
    let before = out.join("before.json");
    std::fs::write(&before, document.to_string()).unwrap();
    let output = snapsim(&[
        "run",
        before.to_str().unwrap(),
        "--out",
        results.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("Q is to send 1 token(s) at 1.000ms but holds 0"),
        "{}",
        stderr(&output)
    );

    refused(
        &[
            "import",
            "cos418",
            "tests/cos418/two-servers.top",
            "tests/cos418/two-servers.snap",
        ],
        "two-servers.snap:3: expected `send SRC DEST TOKENS`",
    );
    refused(
        &[
            "import",
            "cos418",
            "tests/cos418/two-servers.top",
            "tests/cos418/two-servers.events",
            "--marker-latency",
            "3:P->Q=2",
        ],
        "starts 1 snapshot(s), numbered from 0",
    );
    std::fs::remove_dir_all(&out).ok();
}

/// `snapsim explore`: the paper's rules on two processes hold in every reachable state (exit 0);
/// the broken variant is caught with a shortest schedule, printed step by step and written as a
/// scenario that `snapsim run` replays to the same failure; a bound says "bounded" (exit 3).
#[test]
fn explore_checks_every_interleaving_and_writes_a_counterexample_that_run_replays() {
    let out = scratch("explore");
    let output = snapsim(&["explore", "--processes", "2", "--tokens", "2"]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}{}", stderr(&output));
    assert!(text.contains("distinct states 155"), "{text}");
    assert!(text.contains("✓ complete"), "{text}");

    let output = snapsim(&[
        "explore",
        "--processes",
        "2",
        "--tokens",
        "1",
        "--variant",
        "record_after_next_message",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("✗ violated — conservation"), "{text}");
    assert!(text.contains("shortest schedule (7 steps)"), "{text}");
    assert!(text.contains("  1. p0 starts the snapshot"), "{text}");
    let replay = out.join("explore-complete-2-processes-1-tokens-counterexample.json");
    let output = snapsim(&[
        "run",
        replay.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("✗ conservation"), "{text}");

    // The reductions side by side: each cuts the states, none changes the verdict; with
    // partial-order reduction the schedule is no longer promised shortest.
    let output = snapsim(&[
        "explore",
        "--processes",
        "3",
        "--tokens",
        "1",
        "--compare-reductions",
    ]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}{}", stderr(&output));
    // The distinct states in one row of the table.
    let row = |text: &str, name: &str| {
        text.lines()
            .find(|line| line.starts_with(&format!("{name:<26} ")))
            .unwrap_or_else(|| panic!("a row for {name}: {text}"))[26..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        [
            row(&text, "none"),
            row(&text, "symmetry"),
            row(&text, "partial order"),
            row(&text, "symmetry + partial order")
        ],
        ["2154", "1080", "668", "340"].map(String::from),
        "{text}"
    );
    let output = snapsim(&[
        "explore",
        "--processes",
        "2",
        "--tokens",
        "1",
        "--variant",
        "record_after_next_message",
        "--partial-order",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("✗ violated — conservation"), "{text}");
    assert!(text.contains("not necessarily a shortest one"), "{text}");
    assert!(text.contains("partial-order reduction: "), "{text}");
    refused(
        &["explore", "--dataflow", "aligned", "--symmetry"],
        "are for process graphs",
    );
    // A dataflow has one reduction: arrivals commute under aligned barriers.
    let output = snapsim(&[
        "explore",
        "--dataflow",
        "aligned",
        "--records",
        "1",
        "--compare-reductions",
    ]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}{}", stderr(&output));
    assert_eq!(
        [row(&text, "none"), row(&text, "partial order")],
        ["3894", "2283"].map(String::from),
        "{text}"
    );
    assert!(!text.contains("symmetry"), "{text}");

    // A scenario file: its channels, balances and initiator; a bound stops the search.
    let output = snapsim(&[
        "explore",
        "scenarios/cl-two-process-tokens.json",
        "--max-states",
        "500",
    ]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(3), "{text}");
    assert!(text.contains("bounded (--max-states 500"), "{text}");
    refused(
        &["explore", "scenarios/flink-bounded-job.json"],
        "this one is a dataflow",
    );
    refused(
        &[
            "explore",
            "--processes",
            "2",
            "--tokens",
            "1",
            "--breakers",
            "lag",
        ],
        "expected non-fifo, loss",
    );

    // A small Flink job: aligned checkpoints keep exactly-once with a crash anywhere; without
    // alignment the shortest schedule to a checkpoint holding a record past its barrier.
    let job = [
        "explore",
        "--dataflow",
        "aligned",
        "--records",
        "1",
        "--crash",
        "--out",
        out.to_str().unwrap(),
    ];
    let output = snapsim(&job);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{text}{}", stderr(&output));
    assert!(text.contains("distinct states 7879"), "{text}");
    assert!(text.contains("✓ complete"), "{text}");
    let output = snapsim(&[&job[..], &["--variant", "no_alignment"]].concat());
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("✗ violated — prefix_consistency"), "{text}");
    assert!(text.contains("shortest schedule (18 steps)"), "{text}");
    assert!(
        text.contains("keyed reads r0.0 from source[0]→keyed"),
        "{text}"
    );
    // The schedule is written down: `run` replays it to the same violation at its last step,
    // `diagram` draws it, `validate` accepts it, and `check` (which varies seeds) says why not.
    let schedule = out.join("explore-dataflow-aligned-no_alignment-counterexample.json");
    let schedule = schedule.to_str().unwrap();
    let output = snapsim(&["run", schedule, "--out", out.to_str().unwrap()]);
    let replayed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{replayed}{}",
        stderr(&output)
    );
    assert!(
        replayed.contains("✗ after step 18: prefix_consistency"),
        "{replayed}"
    );
    assert!(
        replayed.contains("keyed reads r0.0 from source[0]→keyed"),
        "{replayed}"
    );
    let report = out
        .join("explore-dataflow-aligned-no_alignment-counterexample")
        .join("report.json");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["violation"]["after_step"], 18);
    assert_eq!(report["steps"].as_array().map(Vec::len), Some(18));
    let output = snapsim(&["diagram", schedule, "--out", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let svg = out
        .join("explore-dataflow-aligned-no_alignment-counterexample")
        .join("space-time.svg");
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(
        svg.contains("r0.0") && svg.contains("trigger 1"),
        "the records and RPCs are drawn"
    );
    assert!(snapsim(&["validate", schedule]).status.success());
    refused(
        &["check", schedule, "--seeds", "0..2"],
        "a dataflow schedule",
    );
    refused(&["run", schedule, "--seed", "3"], "is a dataflow schedule");
    // Restoring the pending checkpoint: caught at the crash, where the restored cut is checked.
    let output = snapsim(&[&job[..], &["--variant", "restore_from_pending"]].concat());
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("✗ violated — prefix_consistency: the restore of pending checkpoint 1"),
        "{text}"
    );
    refused(
        &[&job[..], &["--variant", "record_after_next_message"]].concat(),
        "with --dataflow, expected one of correct, no_alignment",
    );
    refused(
        &["explore", "--dataflow", "eventually"],
        "expected aligned, unaligned",
    );
    std::fs::remove_dir_all(&out).ok();
}

/// `sweep --plot` draws the book's overhead chart for the job swept — the same code as the
/// book's figures — and refuses, before running anything, a sweep it cannot draw.
#[test]
fn a_sweep_of_the_interval_with_plot_draws_the_overhead_chart() {
    let out = scratch("sweep-plot");
    let output = snapsim(&[
        "sweep",
        MACHINE,
        "--set",
        "checkpointing.interval=500ms..5s",
        "--points",
        "3",
        "--log",
        "--seeds",
        "2",
        "--plot",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let directory = out.join("chart-overhead-daly-machine/sweep-checkpointing.interval");
    let svg = std::fs::read_to_string(directory.join("overhead.svg")).unwrap();
    assert!(
        svg.contains("Daly (2006)") && svg.contains("Young"),
        "the theory is drawn"
    );
    assert!(
        std::fs::metadata(directory.join("overhead.png"))
            .unwrap()
            .len()
            > 1000
    );
    // Another field than the interval: the checkpoint-under-load charts instead.
    let other = snapsim(&[
        "sweep",
        MACHINE,
        "--set",
        "checkpoint-storage.latency=1ms..5ms",
        "--points",
        "2",
        "--seeds",
        "1",
        "--plot",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(other.status.success(), "{}", stderr(&other));
    let charts = out
        .join("chart-overhead-daly-machine")
        .join("sweep-checkpoint-storage.latency");
    assert!(charts.join("checkpoint-duration.svg").is_file());
    assert!(!charts.join("overhead.svg").exists());
    std::fs::remove_dir_all(&out).ok();
}

/// The last point's mean of `metric` in a sweep's summary.csv.
/// The first point's mean of `metric` in a sweep's summary.csv.
fn first_mean(summary: &std::path::Path, metric: &str) -> f64 {
    let text = std::fs::read_to_string(summary).unwrap_or_else(|e| panic!("{summary:?}: {e}"));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|h| *h == format!("{metric}_mean"))
        .unwrap_or_else(|| panic!("no {metric}_mean in {header:?}"));
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    first[column].parse().unwrap()
}

fn last_mean(summary: &std::path::Path, metric: &str) -> f64 {
    let text = std::fs::read_to_string(summary).unwrap_or_else(|e| panic!("{summary:?}: {e}"));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|h| *h == format!("{metric}_mean"))
        .unwrap_or_else(|| panic!("no {metric}_mean in {header:?}"));
    let last: Vec<&str> = lines.last().unwrap().split(',').collect();
    last[column].parse().unwrap()
}

/// Aligned against unaligned as two lines of one chart: `--series` runs the whole sweep once per
/// value of a field of any kind (here a boolean), each under its own output directory, and
/// `--plot` draws the checkpoint-under-load charts with one line per value. The lines differ as
/// the book says they should: at the slowest consumer, aligned barriers wait behind the backlog
/// for hundreds of milliseconds; unaligned ones overtake it.
#[test]
fn a_series_sweeps_a_boolean_and_draws_aligned_against_unaligned() {
    let out = scratch("series");
    let output = snapsim(&[
        "sweep",
        "scenarios/chart-backpressure.json",
        "--set",
        "job.operators.sum.cost=0us..900us",
        "--points",
        "3",
        "--seeds",
        "2",
        "--series",
        "checkpointing.unaligned=false,true",
        "--plot",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = |value: &str| {
        out.join(format!(
            "chart-backpressure.checkpointing.unaligned-{value}"
        ))
        .join("sweep-job.operators.sum.cost/summary.csv")
    };
    let aligned = last_mean(&summary("false"), "start_delay_ms_mean");
    let unaligned = last_mean(&summary("true"), "start_delay_ms_mean");
    assert!(aligned > 200.0, "aligned start delay {aligned} ms");
    assert!(unaligned < 50.0, "unaligned start delay {unaligned} ms");
    let charts = out
        .join("chart-backpressure")
        .join("sweep-job.operators.sum.cost-series-checkpointing.unaligned");
    for chart in [
        "checkpoint-duration",
        "start-delay",
        "alignment",
        "persisted-data",
    ] {
        for extension in ["png", "svg"] {
            let file = charts.join(format!("{chart}.{extension}"));
            assert!(file.is_file(), "{file:?} was not drawn");
        }
    }
    let svg = std::fs::read_to_string(charts.join("start-delay.svg")).unwrap();
    assert!(
        svg.contains("checkpointing.unaligned=true"),
        "the legend names the series"
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// A mode is a series value too; a series needs two values and another field than the sweep's;
/// `--plot` needs one swept field.
#[test]
fn a_series_of_modes_is_planned_and_bad_series_are_refused() {
    let output = snapsim(&[
        "sweep",
        "scenarios/chart-backpressure.json",
        "--set",
        "job.operators.sum.cost=0us..900us",
        "--series",
        "checkpointing.mode=EXACTLY_ONCE,AT_LEAST_ONCE",
        "--dry-run",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("chart-backpressure.checkpointing.mode-EXACTLY_ONCE")
            && text.contains("chart-backpressure.checkpointing.mode-AT_LEAST_ONCE"),
        "{text}"
    );
    let base = [
        "sweep",
        "scenarios/chart-backpressure.json",
        "--set",
        "job.operators.sum.cost=0us..900us",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().chain(extra).copied().collect()
    };
    refused(
        &with(&["--series", "checkpointing.unaligned=true"]),
        "at least two values",
    );
    refused(
        &with(&["--series", "job.operators.sum.cost=1us,2us"]),
        "already swept",
    );
    refused(
        &with(&[
            "--series",
            "checkpointing.mode=EXACTLY_ONCE,SOMETIMES",
            "--dry-run",
        ]),
        "SOMETIMES",
    );
    refused(
        &with(&["--set", "checkpointing.interval=1s..2s", "--plot"]),
        "one swept field",
    );
}
