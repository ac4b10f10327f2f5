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

/// The four charts.
pub fn backpressure_figures(
    context: &FigureContext,
) -> Result<Vec<(&'static str, RenderedFiles)>, FigureError> {
    let results = backpressure_sweeps(context)?;
    let capacity = capacity_cost_us(&context.document("chart-backpressure.json")?);
    let charts: [(&'static str, &str, &str, &str, f64); 4] = [
        (
            "backpressure-checkpoint-duration",
            "checkpoint_duration_ms_mean",
            "Checkpoint duration (trigger → last acknowledgement) as the consumer slows down",
            "end-to-end checkpoint duration (ms), mean over checkpoints",
            1.0,
        ),
        (
            "backpressure-start-delay",
            "start_delay_ms_mean",
            "Start delay: aligned barriers queue behind the backlog, unaligned ones overtake it",
            "start delay (ms), slowest subtask, mean over checkpoints",
            1.0,
        ),
        (
            "backpressure-alignment",
            "alignment_ms_mean",
            "Alignment (first → last barrier at a subtask) as the consumer slows down",
            "alignment duration (ms), slowest subtask, mean over checkpoints",
            1.0,
        ),
        (
            "backpressure-persisted-data",
            "persisted_data_bytes_mean",
            "In-flight data written into each checkpoint: the price of overtaking the backlog",
            "persisted in-flight data (KiB per checkpoint), mean",
            1.0 / 1024.0,
        ),
    ];
    let mut figures = Vec::new();
    for (stem, metric, title, y_label, scale) in charts {
        let mut series = Vec::new();
        for ((mode, color), result) in MODES.iter().zip(&results) {
            let points: Vec<(f64, f64)> = result
                .points
                .iter()
                .filter_map(|p| Some((p.values[0], p.mean(metric)? * scale)))
                .collect();
            let band: Vec<BandPoint> = result
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
            let mut line = Series::new(*mode, points);
            if *mode == "aligned" {
                line = line.with_band(format!("aligned: 95 % interval over {SEEDS} seeds"), band);
            }
            line.color = Some((*color).into());
            series.push(line);
        }
        let markers = capacity
            .map(|cost| {
                vec![VerticalMarker {
                    label: format!("consumers at capacity ({cost:.0} µs)"),
                    x: cost,
                    color: Some("#666666".into()),
                }]
            })
            .unwrap_or_default();
        let chart = LineChart {
            title: title.into(),
            x_axis: Axis::linear("per-record cost of the keyed sum (µs) — consumer slowness"),
            y_axis: Axis::linear(y_label),
            series,
            reference_curves: Vec::new(),
            markers,
        };
        figures.push((stem, chart.render(&context.out_dir, stem)?));
    }
    Ok(figures)
}
