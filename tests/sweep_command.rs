//! `snapsim sweep`, `check` and `merge` on the command line: what a user types, what they get back.

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

#[test]
fn a_path_that_does_not_exist_is_refused_with_what_is_there() {
    let output = snapsim(&["sweep", MACHINE, "--set", "checkpointng.interval=1s..2s"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("--set checkpointng.interval"), "{message}");
    assert!(message.contains("has no key `checkpointng`"), "{message}");
    assert!(message.contains("checkpointing"), "{message}");
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
