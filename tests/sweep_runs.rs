//! Sweeps, told as stories: which runs a sweep makes, what it measures, and what it leaves on
//! disk when it finishes — or when it is interrupted.

use serde_json::{Value, json};
use snapsim::sweep::{
    self, JsonPath, PointResult, Silent, SweepAxis, SweepObserver, SweepPlan, SweepWriter,
    ValueKind,
};
use std::path::PathBuf;

fn scenario(file: &str) -> Value {
    let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The one-task Daly machine, shortened to 20 s of useful work so that a sweep takes moments.
fn short_machine() -> Value {
    let mut document = scenario("chart-overhead-daly-machine.json");
    JsonPath::parse("job.operators.source.records")
        .unwrap()
        .set(&mut document, json!(20_000))
        .unwrap();
    document
}

fn plan(document: &Value, axes: Vec<SweepAxis>, seeds: std::ops::Range<u64>) -> SweepPlan {
    SweepPlan::new(document, "test.json", "test", axes, seeds, true)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn temporary_directory(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("snapsim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

#[test]
fn every_point_runs_the_same_seeds_so_a_setting_that_does_not_matter_changes_nothing() {
    // Task crashes are noticed at once; the heartbeat timeout only matters for lost task managers.
    let document = short_machine();
    let axis =
        SweepAxis::from_range(&document, "faults.heartbeat-timeout", "10s..50s", 3, false).unwrap();
    assert_eq!(axis.kind, ValueKind::Duration);
    let result = sweep::run(&plan(&document, vec![axis], 0..3), 2, &Silent);
    assert_eq!(result.points.len(), 3);
    let first = &result.points[0];
    for point in &result.points[1..] {
        assert_eq!(
            point.runs, first.runs,
            "same seeds, same crashes, same numbers at {}",
            point.label
        );
    }
    let seeds: Vec<u64> = first.runs.iter().map(|r| r.seed).collect();
    assert_eq!(seeds, vec![0, 1, 2]);
    let completions: Vec<f64> = first
        .runs
        .iter()
        .map(|r| r.get("completion_time_s").unwrap())
        .collect();
    assert!(
        completions[0] != completions[1] && completions[1] != completions[2],
        "different seeds crash at different times: {completions:?}"
    );
}

#[test]
fn overhead_is_measured_against_the_same_job_without_checkpoints_and_crashes() {
    let document = short_machine();
    let axis =
        SweepAxis::with_values(&document, "checkpointing.interval", vec![500_000.0, 2e6]).unwrap();
    let result = sweep::run(&plan(&document, vec![axis], 0..2), 2, &Silent);
    for point in &result.points {
        for run in &point.runs {
            let baseline = run.get("baseline_completion_time_s").unwrap();
            // 20 000 records at 1000 records/s: 20 s of useful work.
            assert!((baseline - 20.0).abs() < 0.01, "baseline {baseline}");
            let completion = run.get("completion_time_s").unwrap();
            let overhead = run.get("overhead").unwrap();
            assert!((completion / baseline - 1.0 - overhead).abs() < 1e-12);
            assert!(overhead > 0.0, "checkpoints and crashes cost time");
        }
    }
    // Checkpointing every 0.5 s at 100 ms each costs about a quarter of the time on its own.
    let frequent = result.points[0].mean("overhead").unwrap();
    let rare = result.points[1].mean("overhead").unwrap();
    assert!(frequent > 0.25, "{frequent}");
    assert!(rare < frequent, "{rare} vs {frequent}");
}

#[test]
fn two_parameters_make_a_grid_with_the_last_one_fastest() {
    let document = short_machine();
    let interval =
        SweepAxis::from_range(&document, "checkpointing.interval", "1s..2s", 2, false).unwrap();
    let cost = SweepAxis::from_range(&document, "state.sync-base", "10ms..100ms", 3, true).unwrap();
    let plan = plan(&document, vec![interval, cost], 0..1);
    assert_eq!(plan.point_count(), 6);
    // The baseline keeps the `state` section, so each sync cost has its own (identical) baseline.
    assert_eq!(plan.run_count(), 9, "six points and three baselines");
    assert_eq!(
        plan.directory_name(),
        "sweep-checkpointing.interval+state.sync-base"
    );
    let result = sweep::run(&plan, 2, &Silent);
    let labels: Vec<&str> = result.points.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels[0], "checkpointing.interval=1s, state.sync-base=10ms");
    assert_eq!(
        labels[1],
        "checkpointing.interval=1s, state.sync-base=31.623ms"
    );
    assert_eq!(labels[3], "checkpointing.interval=2s, state.sync-base=10ms");
}

#[test]
fn the_result_does_not_depend_on_the_number_of_threads() {
    let document = short_machine();
    let axis =
        SweepAxis::from_range(&document, "checkpointing.interval", "300ms..3s", 4, true).unwrap();
    let plan = plan(&document, vec![axis], 0..3);
    let one = sweep::run(&plan, 1, &Silent);
    let two = sweep::run(&plan, 2, &Silent);
    assert_eq!(one, two);
}

#[test]
fn a_finished_sweep_leaves_csv_json_and_one_file_per_point() {
    let document = short_machine();
    let axis =
        SweepAxis::from_range(&document, "checkpointing.interval", "500ms..2s", 3, true).unwrap();
    let plan = plan(&document, vec![axis], 0..2);
    let out = temporary_directory("sweep-files");
    let writer = SweepWriter::new(&out, &plan).unwrap();
    let result = sweep::run(&plan, 2, &writer);
    writer.finish(&result).unwrap();
    let directory = out.join("chart-overhead-daly-machine/sweep-checkpointing.interval");
    assert_eq!(writer.directory(), directory);
    let summary = std::fs::read_to_string(directory.join("summary.csv")).unwrap();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three points");
    assert!(lines[0].starts_with("point,checkpointing.interval_us,runs,finished_mean,"));
    assert!(lines[0].contains(",overhead_mean,overhead_std,overhead_ci95_low,overhead_ci95_high,"));
    assert!(lines[1].starts_with("0,500000,2,1,"));
    let runs = std::fs::read_to_string(directory.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 3 * 2);
    let whole: Value =
        serde_json::from_str(&std::fs::read_to_string(directory.join("sweep.json")).unwrap())
            .unwrap();
    assert_eq!(whole["points"].as_array().unwrap().len(), 3);
    for index in 0..3 {
        let point: PointResult = serde_json::from_str(
            &std::fs::read_to_string(directory.join(format!("points/point-{index:03}.json")))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(point, result.points[index]);
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn an_interrupted_sweep_keeps_exactly_the_points_that_finished() {
    let document = short_machine();
    let axis =
        SweepAxis::from_range(&document, "checkpointing.interval", "500ms..2s", 3, true).unwrap();
    let plan = plan(&document, vec![axis], 0..2);
    let finished = sweep::run(&plan, 2, &Silent);
    let out = temporary_directory("sweep-interrupted");
    let writer = SweepWriter::new(&out, &plan).unwrap();
    // Only the last point finished before Ctrl-C: the writer never got to `finish`.
    writer.point_finished(&finished.points[2]);
    let directory = writer.directory().to_path_buf();
    let summary = std::fs::read_to_string(directory.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 2);
    assert!(summary.lines().nth(1).unwrap().starts_with("2,2000000,2,"));
    assert!(directory.join("points/point-002.json").is_file());
    assert!(!directory.join("points/point-000.json").exists());
    assert!(!directory.join("sweep.json").exists());
    let leftovers: Vec<String> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no half-written files: {leftovers:?}");
    // A new sweep in the same place starts clean.
    let again = SweepWriter::new(&out, &plan).unwrap();
    assert!(!again.directory().join("points/point-002.json").exists());
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_chandy_lamport_scenario_can_be_swept_too() {
    let document = scenario("chart-space-time-chandy-lamport.json");
    let axis = SweepAxis::from_range(
        &document,
        "workload.bank.transfers_per_s",
        "60..240",
        2,
        false,
    )
    .unwrap();
    assert_eq!(axis.kind, ValueKind::Number { integer: true });
    let result = sweep::run(&plan(&document, vec![axis], 0..2), 1, &Silent);
    let slow = result.points[0].mean("application_messages").unwrap();
    let fast = result.points[1].mean("application_messages").unwrap();
    assert!(fast > 2.0 * slow, "{fast} vs {slow}");
    assert_eq!(result.points[0].mean("snapshots_completed"), Some(1.0));
}
