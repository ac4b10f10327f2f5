//! `snapsim sweep` on the command line: what a user types, what they get back.

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
