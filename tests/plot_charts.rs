//! The charts the project draws — line charts and the checkpoint timeline — with made-up data:
//! each renders to PNG and SVG, twice with identical bytes, and the SVG carries the title and the
//! axis descriptions as text.
//!
//! Set `SNAPSIM_PLOT_PREVIEW=/some/dir` to get a copy of every PNG there for a look.

use snapsim::overhead::{daly_optimum_interval, daly_overhead, young_optimum_interval};
use snapsim::plot::{
    Axis, BandPoint, CheckpointTimeline, LineChart, PhaseSegment, PlotError, ReferenceCurve,
    RenderedFiles, Series, SnapshotPhase, TimelineMarker, TimelineRow, VerticalMarker,
};
use std::path::PathBuf;

/// A fresh directory under the system's temporary directory.
fn scratch_directory(name: &str) -> PathBuf {
    let directory = std::env::temp_dir()
        .join(format!("snapsim-plot-tests-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

/// Renders the chart twice into two directories, checks both files are byte-identical, copies the
/// PNG to the preview directory if one is asked for, and returns the SVG text.
fn render_twice(
    render: impl Fn(&std::path::Path, &str) -> Result<RenderedFiles, PlotError>,
    stem: &str,
) -> String {
    let first = render(&scratch_directory(&format!("{stem}-1")), stem).unwrap();
    let second = render(&scratch_directory(&format!("{stem}-2")), stem).unwrap();
    let read = |path: &PathBuf| std::fs::read(path).unwrap();
    assert_eq!(
        read(&first.png),
        read(&second.png),
        "PNG differs between runs"
    );
    assert_eq!(
        read(&first.svg),
        read(&second.svg),
        "SVG differs between runs"
    );
    assert!(read(&first.png).starts_with(b"\x89PNG"), "not a PNG");
    preview(&first);
    String::from_utf8(read(&first.svg)).unwrap()
}

fn preview(files: &RenderedFiles) {
    if let Some(directory) = std::env::var_os("SNAPSIM_PLOT_PREVIEW") {
        let directory = PathBuf::from(directory);
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::copy(&files.png, directory.join(files.png.file_name().unwrap())).unwrap();
    }
}

fn assert_svg_has_text(svg: &str, texts: &[&str]) {
    for text in texts {
        assert!(svg.contains(text), "the SVG does not contain \"{text}\"");
    }
}

/// A deterministic wobble in [-1, 1] standing in for seed-to-seed noise.
fn wobble(index: usize) -> f64 {
    [
        0.3, -0.8, 0.5, 0.9, -0.2, -0.6, 0.7, -0.4, 0.1, -0.9, 0.6, 0.2,
    ][index % 12]
}

/// The chart a sweep of the checkpoint interval produces: simulated overhead with its 95 % band,
/// Daly's curve over it, and where Young, Daly and the simulation put the optimum.
fn overhead_chart() -> LineChart {
    let (checkpoint_cost_s, restart_cost_s, mean_time_between_failures_s) = (1.0, 1.0, 100.0);
    let intervals_s: Vec<f64> = (0..12).map(|i| 2.0 * 1.5f64.powi(i)).collect();
    let simulated: Vec<(f64, f64)> = intervals_s
        .iter()
        .enumerate()
        .map(|(i, &tau)| {
            let model = daly_overhead(
                tau,
                checkpoint_cost_s,
                restart_cost_s,
                mean_time_between_failures_s,
            );
            (tau, 100.0 * model * (1.0 + 0.06 * wobble(i)))
        })
        .collect();
    let band: Vec<BandPoint> = simulated
        .iter()
        .map(|&(x, y)| BandPoint {
            x,
            lower: y * 0.9,
            upper: y * 1.1,
        })
        .collect();
    let theory: Vec<(f64, f64)> = (0..=200)
        .map(|i| 1.0 * 300f64.powf(f64::from(i) / 200.0))
        .map(|tau| {
            let overhead = daly_overhead(
                tau,
                checkpoint_cost_s,
                restart_cost_s,
                mean_time_between_failures_s,
            );
            (tau, 100.0 * overhead)
        })
        .collect();
    let young = young_optimum_interval(checkpoint_cost_s, mean_time_between_failures_s);
    let daly = daly_optimum_interval(checkpoint_cost_s, mean_time_between_failures_s);
    LineChart {
        title: "Overhead vs checkpoint interval (δ = 1 s, R = 1 s, M = 100 s)".to_string(),
        x_axis: Axis::logarithmic("checkpoint interval τ (s)"),
        y_axis: Axis::linear("overhead (% of failure-free run time)"),
        series: vec![
            Series::new("simulated, mean of 20 seeds", simulated)
                .with_band("95 % confidence interval", band),
        ],
        reference_curves: vec![ReferenceCurve::new("Daly (2006) model", theory)],
        markers: vec![
            VerticalMarker::new(format!("Young τ* = {young:.1} s"), young),
            VerticalMarker::new(format!("Daly τ* = {daly:.1} s"), daly),
            VerticalMarker::new("simulated optimum = 13.5 s", 13.5),
        ],
    }
}

#[test]
fn overhead_against_checkpoint_interval_on_a_logarithmic_axis() {
    let svg = render_twice(|d, s| overhead_chart().render(d, s), "overhead-vs-interval");
    assert_svg_has_text(
        &svg,
        &[
            "Overhead vs checkpoint interval",
            "checkpoint interval τ (s)",
            "overhead (% of failure-free run time)",
            "Daly τ* = 13.5 s",
        ],
    );
}

#[test]
fn backpressure_one_line_per_checkpoint_mode() {
    let costs_us = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0];
    let mode = |name: &str, slowdown: f64| {
        Series::new(
            name,
            costs_us
                .iter()
                .enumerate()
                .map(|(i, &cost)| {
                    (
                        cost,
                        1000.0 / (1.0 + cost * slowdown) * (1.0 + 0.02 * wobble(i)),
                    )
                })
                .collect(),
        )
    };
    let chart = LineChart {
        title: "Throughput under backpressure, by checkpoint mode".to_string(),
        x_axis: Axis::logarithmic("per-record processing cost (µs)"),
        y_axis: Axis::linear("throughput (thousand records/s)"),
        series: vec![
            mode("aligned", 0.05),
            mode("aligned with timeout", 0.04),
            mode("unaligned", 0.03),
            mode("at-least-once", 0.025),
            mode("stop the world", 0.09),
        ],
        reference_curves: vec![],
        markers: vec![],
    };
    let svg = render_twice(|d, s| chart.render(d, s), "backpressure-by-mode");
    assert_svg_has_text(
        &svg,
        &[
            "by checkpoint mode",
            "per-record processing cost (µs)",
            "unaligned",
        ],
    );
}

#[test]
fn checkpoint_size_full_against_incremental() {
    let full: Vec<(f64, f64)> = (1..=20)
        .map(|id| (f64::from(id), 40.0 + 2.0 * f64::from(id)))
        .collect();
    let incremental: Vec<(f64, f64)> = (1..=20)
        .map(|id| {
            (
                f64::from(id),
                if id == 1 {
                    42.0
                } else {
                    4.0 + 0.5 * wobble(id as usize)
                },
            )
        })
        .collect();
    let chart = LineChart {
        title: "Checkpointed size per checkpoint: full vs incremental state backend".to_string(),
        x_axis: Axis::linear("checkpoint id"),
        y_axis: Axis::linear("checkpointed size (MiB)"),
        series: vec![
            Series::new("full (heap backend)", full),
            Series::new("incremental", incremental),
        ],
        reference_curves: vec![],
        markers: vec![],
    };
    let svg = render_twice(|d, s| chart.render(d, s), "checkpoint-size");
    assert_svg_has_text(&svg, &["checkpoint id", "checkpointed size (MiB)"]);
}

#[test]
fn a_chart_description_survives_a_round_trip_through_json() {
    // Numbers with short decimal forms: serde_json's default float parser may miss the last bit
    // of others.
    let mut chart = overhead_chart();
    chart.series[0].points = vec![(2.0, 54.75), (3.0, 35.5)];
    chart.series[0].band.as_mut().unwrap().points = vec![BandPoint {
        x: 2.0,
        lower: 50.0,
        upper: 60.0,
    }];
    chart.reference_curves[0].points = vec![(1.0, 104.0), (300.0, 549.25)];
    chart.markers[0].x = 14.125;
    chart.markers[1].x = 13.5;
    let json = serde_json::to_string(&chart).unwrap();
    let back: LineChart = serde_json::from_str(&json).unwrap();
    assert_eq!(back, chart);
}

#[test]
fn zero_on_a_logarithmic_axis_is_refused_with_a_reason() {
    let mut chart = overhead_chart();
    chart.series[0].points[0].0 = 0.0;
    let error = chart
        .render(&scratch_directory("refused"), "refused")
        .unwrap_err();
    match &error {
        PlotError::InvalidChart { reason, .. } => {
            assert!(reason.contains("logarithmic"), "{reason}");
        }
        other => panic!("expected InvalidChart, got {other:?}"),
    }
    assert!(
        !scratch_directory("refused").exists(),
        "nothing is written for a refused chart"
    );
}

#[test]
fn a_stem_with_a_path_in_it_is_refused() {
    let error = overhead_chart()
        .render(&scratch_directory("stem"), "../escape")
        .unwrap_err();
    assert!(
        matches!(error, PlotError::InvalidFileStem { .. }),
        "{error}"
    );
}

#[test]
fn a_directory_that_cannot_be_created_is_an_io_error() {
    let blocker = scratch_directory("blocker");
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"a file, not a directory").unwrap();
    let error = overhead_chart()
        .render(&blocker.join("charts"), "overhead")
        .unwrap_err();
    assert!(matches!(error, PlotError::Io { .. }), "{error}");
}

/// Three checkpoints of a small job under backpressure: the source snapshots at once, the map and
/// sink wait for barriers (start delay), the two-input sink aligns, and uploads run in the
/// background, the last one overlapping the next checkpoint's start delay.
fn aligned_checkpoints_timeline() -> CheckpointTimeline {
    use SnapshotPhase::*;
    let checkpoint =
        |id: u64, trigger_ms: u64, delay_ms: u64, align_ms: u64, sync_ms: u64, upload_ms: u64| {
            let trigger = trigger_ms * 1000;
            let mut at = trigger;
            let mut segments = Vec::new();
            for (phase, length_ms) in [
                (StartDelay, delay_ms),
                (Alignment, align_ms),
                (Synchronous, sync_ms),
                (Asynchronous, upload_ms),
            ] {
                if length_ms > 0 {
                    segments.push(PhaseSegment {
                        start_us: at,
                        end_us: at + length_ms * 1000,
                        phase,
                        checkpoint: Some(id),
                    });
                    at += length_ms * 1000;
                }
            }
            segments
        };
    let row = |label: &str, per_checkpoint: [(u64, u64, u64, u64); 3]| TimelineRow {
        label: label.to_string(),
        segments: (0..3)
            .flat_map(|i| {
                let (delay, align, sync, upload) = per_checkpoint[i];
                checkpoint(i as u64 + 1, 1000 * i as u64, delay, align, sync, upload)
            })
            .collect(),
    };
    CheckpointTimeline {
        title: "Checkpoints 1-3, aligned, under backpressure: where each subtask spent its time"
            .to_string(),
        rows: vec![
            row(
                "source[0]",
                [(0, 0, 5, 120), (0, 0, 5, 130), (0, 0, 6, 110)],
            ),
            row(
                "source[1]",
                [(0, 0, 4, 110), (0, 0, 5, 120), (0, 0, 5, 140)],
            ),
            row(
                "map[0]",
                [(180, 0, 8, 200), (220, 0, 9, 210), (150, 0, 8, 190)],
            ),
            row(
                "map[1]",
                [(240, 0, 9, 230), (260, 0, 8, 220), (210, 0, 9, 250)],
            ),
            row(
                "join-sink[0]",
                [
                    (420, 160, 12, 640),
                    (480, 150, 14, 700),
                    (400, 170, 12, 660),
                ],
            ),
        ],
        from_us: None,
        to_us: None,
        markers: (0..3)
            .map(|i| TimelineMarker {
                time_us: i * 1_000_000,
                label: format!("checkpoint {} triggered", i + 1),
            })
            .collect(),
    }
}

#[test]
fn a_checkpoint_timeline_shows_phases_per_subtask() {
    let timeline = aligned_checkpoints_timeline();
    let svg = render_twice(|d, s| timeline.render(d, s), "checkpoint-timeline");
    assert_svg_has_text(
        &svg,
        &[
            "Checkpoints 1-3, aligned",
            "time (ms)",
            "join-sink[0]",
            "alignment (inputs blocked)",
        ],
    );
}

#[test]
fn a_timeline_window_cuts_bars_at_its_edges() {
    let mut timeline = aligned_checkpoints_timeline();
    timeline.title = "Checkpoint 2 only (window 1000-1800 ms)".to_string();
    timeline.from_us = Some(1_000_000);
    timeline.to_us = Some(1_800_000);
    let svg = render_twice(|d, s| timeline.render(d, s), "checkpoint-timeline-window");
    assert_svg_has_text(&svg, &["Checkpoint 2 only"]);
}

#[test]
fn a_segment_ending_before_it_starts_is_refused() {
    let mut timeline = aligned_checkpoints_timeline();
    timeline.rows[2].segments[0].end_us = 0;
    timeline.rows[2].segments[0].start_us = 10;
    let error = timeline.to_svg().unwrap_err();
    assert!(error.to_string().contains("map[0]"), "{error}");
}
