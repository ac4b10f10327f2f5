//! Checkpoints under backpressure: how the checkpointing mode changes what a slow consumer does to
//! checkpoint duration, start delay, alignment and persisted in-flight data
//! (as in the Flink 2.3 runs `tests/dataflow_checkpoints.rs` compares with: aligned checkpoints
//! take seconds of start delay under backpressure, unaligned ones stay short but persist the
//! queued buffers).
//!
//! One sweep per mode over the keyed operator's per-record cost (`job.operators.sum.cost`), the
//! same seeds everywhere; each chart shows one metric, one line per mode, with the point where
//! the consumer's capacity equals the offered load marked.

use super::context::{FigureContext, FigureError};
use super::pictures::set;
use crate::plot::{Axis, BandPoint, LineChart, RenderedFiles, Series, VerticalMarker};
use crate::sweep::{self, Silent, SweepAxis, SweepPlan, SweepResult};
use serde_json::{Value, json};

/// The modes compared, with how each changes the scenario's `checkpointing` section.
pub const MODES: [(&str, &str); 4] = [
    ("aligned", "#0072B2"),
    ("unaligned", "#D55E00"),
    ("aligned, 100 ms timeout", "#009E73"),
    ("at-least-once", "#CC79A7"),
];

/// Per-record costs swept (µs).
const COSTS_US: [f64; 7] = [0.0, 150.0, 300.0, 450.0, 600.0, 750.0, 900.0];
const SEEDS: u64 = 4;

fn checkpointing_for(mode: &str) -> Value {
    match mode {
        "aligned" => json!({"interval": "1s", "mode": "EXACTLY_ONCE"}),
        "unaligned" => json!({"interval": "1s", "mode": "EXACTLY_ONCE", "unaligned": true}),
        "aligned, 100 ms timeout" => json!({"interval": "1s", "mode": "EXACTLY_ONCE",
            "unaligned": true, "aligned-checkpoint-timeout": "100ms"}),
        _ => json!({"interval": "1s", "mode": "AT_LEAST_ONCE"}),
    }
}

/// Runs the four sweeps.
pub fn backpressure_sweeps(context: &FigureContext) -> Result<Vec<SweepResult>, FigureError> {
    let file = "chart-backpressure.json";
    let mut results = Vec::new();
    for (mode, _) in MODES {
        let mut document = context.document(file)?;
        set(&mut document, "checkpointing", checkpointing_for(mode));
        let axis = SweepAxis::with_values(&document, "job.operators.sum.cost", COSTS_US.to_vec())?;
        let plan = SweepPlan::new(
            &document,
            &context.label(file),
            "chart-backpressure",
            vec![axis],
            0..SEEDS,
            false,
        )?;
        results.push(sweep::run(&plan, context.jobs, &Silent));
    }
    Ok(results)
}

/// The offered load (records/s) and the consumer parallelism of the scenario, for the marker.
fn capacity_cost_us(document: &Value) -> Option<f64> {
    let operators = document.get("job")?.get("operators")?.as_array()?;
    let source = operators
        .iter()
        .find(|o| o.get("kind").and_then(Value::as_str) == Some("source"))?;
    let sum = operators
        .iter()
        .find(|o| o.get("name").and_then(Value::as_str) == Some("sum"))?;
    let offered = source.get("rate_per_s")?.as_f64()? * source.get("parallelism")?.as_f64()?;
    let consumers = sum.get("parallelism")?.as_f64()?;
    Some(consumers / offered * 1e6)
}

/// The four charts of a checkpoint under load, each one metric of a sweep against the swept
/// value: file stem, metric, title, y-axis label, scale from the metric's unit.
pub const LOAD_CHARTS: [(&str, &str, &str, &str, f64); 4] = [
    (
        "checkpoint-duration",
        "checkpoint_duration_ms_mean",
        "Checkpoint duration (trigger → last acknowledgement)",
        "end-to-end checkpoint duration (ms), mean over checkpoints",
        1.0,
    ),
    (
        "start-delay",
        "start_delay_ms_mean",
        "Start delay (trigger → first barrier at the slowest subtask)",
        "start delay (ms), slowest subtask, mean over checkpoints",
        1.0,
    ),
    (
        "alignment",
        "alignment_ms_mean",
        "Alignment (first → last barrier at a subtask)",
        "alignment duration (ms), slowest subtask, mean over checkpoints",
        1.0,
    ),
    (
        "persisted-data",
        "persisted_data_bytes_mean",
        "In-flight data written into each checkpoint",
        "persisted in-flight data (KiB per checkpoint), mean",
        1.0 / 1024.0,
    ),
];

/// One line of a load chart: a sweep, its name in the legend and its colour (default: the
/// palette's next).
pub struct LoadSeries<'a> {
    /// Legend entry, e.g. "unaligned" or "checkpointing.unaligned = true".
    pub name: String,
    /// A colour such as "#0072B2".
    pub color: Option<String>,
    /// The sweep (one axis).
    pub result: &'a SweepResult,
}

/// The four load charts (see [`LOAD_CHARTS`]) of one or more sweeps over the same axis, one line
/// per sweep, the first with its 95 % band over seeds: the book's backpressure figures, and
/// `snapsim sweep … --plot` for any scenario and any swept field (`--series` for several lines).
/// `title_suffix` follows each chart's title; `x_label` names the swept field with its unit.
pub fn load_charts(
    series: &[LoadSeries],
    title_suffix: &str,
    x_label: &str,
    markers: &[VerticalMarker],
) -> Vec<(&'static str, LineChart)> {
    let seeds = series.first().map_or(0, |s| s.result.seed_count);
    LOAD_CHARTS
        .iter()
        .map(|&(stem, metric, title, y_label, scale)| {
            let lines = series
                .iter()
                .enumerate()
                .map(|(index, one)| {
                    let points: Vec<(f64, f64)> = one
                        .result
                        .points
                        .iter()
                        .filter_map(|p| Some((p.values[0], p.mean(metric)? * scale)))
                        .collect();
                    let mut line = Series::new(one.name.clone(), points);
                    if index == 0 {
                        let band: Vec<BandPoint> = one
                            .result
                            .points
                            .iter()
                            .filter_map(|p| {
                                let s = p.metric(metric)?;
                                Some(BandPoint {
                                    x: p.values[0],
                                    lower: (s.ci95_low * scale).max(0.0),
                                    upper: s.ci95_high * scale,
                                })
                            })
                            .collect();
                        line = line.with_band(
                            format!("{}: 95 % interval over {seeds} seeds", one.name),
                            band,
                        );
                    }
                    line.color = one.color.clone();
                    line
                })
                .collect();
            let chart = LineChart {
                title: format!("{title}{title_suffix}"),
                x_axis: Axis::linear(x_label),
                y_axis: Axis::linear(y_label),
                series: lines,
                reference_curves: Vec::new(),
                markers: markers.to_vec(),
            };
            (stem, chart)
        })
        .collect()
}

/// The book's four charts: the four modes against the keyed sum's per-record cost.
pub fn backpressure_figures(
    context: &FigureContext,
) -> Result<Vec<(&'static str, RenderedFiles)>, FigureError> {
    let results = backpressure_sweeps(context)?;
    let capacity = capacity_cost_us(&context.document("chart-backpressure.json")?);
    let markers: Vec<VerticalMarker> = capacity
        .map(|cost| {
            vec![VerticalMarker {
                label: format!("consumers at capacity ({cost:.0} µs)"),
                x: cost,
                color: Some("#666666".into()),
            }]
        })
        .unwrap_or_default();
    let series: Vec<LoadSeries> = MODES
        .iter()
        .zip(&results)
        .map(|((mode, color), result)| LoadSeries {
            name: (*mode).to_string(),
            color: Some((*color).to_string()),
            result,
        })
        .collect();
    let charts = load_charts(
        &series,
        " as the consumer slows down",
        "per-record cost of the keyed sum (µs) — consumer slowness",
        &markers,
    );
    let mut figures = Vec::new();
    for (stem, mut chart) in charts {
        let (_, stem, title) = BOOK_FIGURES
            .iter()
            .find(|(short, _, _)| *short == stem)
            .expect("every load chart has a book figure");
        chart.title = (*title).to_string();
        figures.push((*stem, chart.render(&context.out_dir, stem)?));
    }
    Ok(figures)
}

/// The book's file names and titles of the load charts.
const BOOK_FIGURES: [(&str, &str, &str); 4] = [
    (
        "checkpoint-duration",
        "backpressure-checkpoint-duration",
        "Checkpoint duration (trigger → last acknowledgement) as the consumer slows down",
    ),
    (
        "start-delay",
        "backpressure-start-delay",
        "Start delay: aligned barriers queue behind the backlog, unaligned ones overtake it",
    ),
    (
        "alignment",
        "backpressure-alignment",
        "Alignment (first → last barrier at a subtask) as the consumer slows down",
    ),
    (
        "persisted-data",
        "backpressure-persisted-data",
        "In-flight data written into each checkpoint: the price of overtaking the backlog",
    ),
];
