//! Overhead versus checkpoint interval: the sweep, Daly's model fitted with what the runs measured,
//! and the chart that puts the two side by side.
//!
//! The experiment (issue 6, item 2): a finite job, random crashes, the checkpoint interval swept on
//! a log scale with the same seeds at every interval. Each run's overhead is its completion time
//! over the completion time of the same job without checkpoints and without failures, minus one.
//!
//! **Daly's τ and Flink's interval.** Daly's τ is the *computation* between two checkpoints; the
//! checkpoint's own time δ comes on top (a segment lasts τ + δ). Flink's
//! `execution.checkpointing.interval` is the time from one trigger to the next, and a stop-the-world
//! checkpoint pauses the job inside that interval, so the computation between checkpoints is
//! interval − δ. [`OverheadTheory`] therefore evaluates Daly's formula at τ = interval − δ and
//! places the optimum markers at interval = τ* + δ. For cheap checkpoints the difference is
//! invisible; for δ = M/10 it moves the optimum by a quarter.
//!
//! **δ, R and M from the runs.** δ is the mean end-to-end duration of the completed checkpoints
//! (trigger → last acknowledgement: for stop-the-world exactly the pause), R the mean downtime
//! (failure → every task running again), M the configured mean time between failures *of the
//! job*: with random crashes of each of n tasks at MTBF m, the job fails n times as often, M = m/n.

use crate::overhead::{daly_optimum_interval, daly_overhead, young_optimum_interval};
use crate::plot::{Axis, BandPoint, LineChart, ReferenceCurve, Series, VerticalMarker};
use crate::scenario::{Model, parse_str};
use crate::sweep::optimum::{FittedMinimum, fitted_minimum};
use crate::sweep::{self, SweepAxis, SweepError, SweepObserver, SweepPlan, SweepResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::ops::Range;

/// Young's and Daly's model with δ, R, M in seconds, evaluated in terms of Flink's interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverheadTheory {
    /// δ: the time one checkpoint takes (s).
    pub checkpoint_cost_s: f64,
    /// R: the time from a failure until the job computes again (s).
    pub restart_cost_s: f64,
    /// M: the job's mean time between failures (s); infinite when nothing fails.
    pub mtbf_s: f64,
}

impl OverheadTheory {
    /// Daly's expected overhead (a fraction) at a Flink checkpoint interval (s): his formula at
    /// τ = interval − δ; with no failures simply δ/τ. `None` when interval ≤ δ (checkpoints back
    /// to back: no computation at all in the model).
    pub fn overhead_at_interval(&self, interval_s: f64) -> Option<f64> {
        let compute_s = interval_s - self.checkpoint_cost_s;
        if compute_s <= 0.0 {
            return None;
        }
        if !self.mtbf_s.is_finite() {
            return Some(self.checkpoint_cost_s / compute_s);
        }
        Some(daly_overhead(
            compute_s,
            self.checkpoint_cost_s,
            self.restart_cost_s,
            self.mtbf_s,
        ))
    }

    /// Daly's optimum τ* (computation between checkpoints, s); `None` without failures.
    pub fn daly_optimum_compute_s(&self) -> Option<f64> {
        self.mtbf_s
            .is_finite()
            .then(|| daly_optimum_interval(self.checkpoint_cost_s, self.mtbf_s))
    }

    /// Daly's optimum as a Flink interval: τ* + δ (s).
    pub fn daly_optimum_interval_s(&self) -> Option<f64> {
        self.daly_optimum_compute_s()
            .map(|tau| tau + self.checkpoint_cost_s)
    }

    /// Young's optimum as a Flink interval: √(2δM) + δ (s).
    pub fn young_optimum_interval_s(&self) -> Option<f64> {
        self.mtbf_s.is_finite().then(|| {
            young_optimum_interval(self.checkpoint_cost_s, self.mtbf_s) + self.checkpoint_cost_s
        })
    }

    /// Daly's expected overhead at his optimum.
    pub fn daly_optimum_overhead(&self) -> Option<f64> {
        self.daly_optimum_interval_s()
            .and_then(|interval| self.overhead_at_interval(interval))
    }
}

/// An overhead sweep: the scenario, the intervals and the seeds.
#[derive(Clone, Debug)]
pub struct OverheadSweep {
    /// The scenario file as JSON (a bounded job; faults optional).
    pub document: Value,
    /// Names the scenario in errors.
    pub label: String,
    /// Checkpoint intervals (µs), increasing.
    pub intervals_us: Vec<f64>,
    /// Seeds run at every interval.
    pub seeds: Range<u64>,
}

/// What an overhead sweep measured, and the theory fitted to it.
#[derive(Clone, Debug)]
pub struct OverheadOutcome {
    /// Every run.
    pub sweep: SweepResult,
    /// Daly's model with δ and R measured in the runs and the configured M.
    pub theory: OverheadTheory,
    /// The simulated optimum: x = interval (s), y = overhead (fraction).
    pub simulated_optimum: Option<FittedMinimum>,
}

impl OverheadOutcome {
    /// (interval s, mean overhead) per point, for points whose runs all finished.
    pub fn mean_overhead(&self) -> Vec<(f64, f64)> {
        self.sweep
            .points
            .iter()
            .filter_map(|p| Some((p.values[0] / 1e6, p.mean("overhead")?)))
            .collect()
    }

    /// The outcome of a finished sweep over `checkpointing.interval` (the first axis) of the
    /// scenario `document`: Daly's model with δ and R measured in its runs and the configured M,
    /// and the simulated optimum. The book's overhead figures and `snapsim sweep --plot` both come
    /// through here.
    pub fn from_sweep(
        result: SweepResult,
        document: &Value,
        label: &str,
    ) -> Result<OverheadOutcome, SweepError> {
        let mean_of = |metric: &str| {
            let values: Vec<f64> = result
                .points
                .iter()
                .flat_map(|p| p.runs.iter().filter_map(|r| r.get(metric)))
                .collect();
            if values.is_empty() {
                0.0
            } else {
                values.iter().sum::<f64>() / values.len() as f64
            }
        };
        let theory = OverheadTheory {
            checkpoint_cost_s: mean_of("checkpoint_duration_ms_mean") / 1000.0,
            restart_cost_s: mean_of("downtime_ms_mean") / 1000.0,
            mtbf_s: configured_job_mtbf_s(document, label)?,
        };
        let mut outcome = OverheadOutcome {
            sweep: result,
            theory,
            simulated_optimum: None,
        };
        outcome.simulated_optimum = fitted_minimum(&outcome.mean_overhead(), true, 2);
        Ok(outcome)
    }
}

/// The job's mean time between failures (s) as configured in `document`: random crashes of each
/// task (or task manager) at MTBF m make the job fail (number of targets)/m times per second.
pub fn configured_job_mtbf_s(document: &Value, label: &str) -> Result<f64, SweepError> {
    let scenario = parse_str(&document.to_string(), label, "overhead")?;
    let Model::Dataflow(model) = &scenario.model else {
        return Ok(f64::INFINITY);
    };
    let tasks = model.job.expand(&model.cluster).tasks.len() as f64;
    let rate_per_s: f64 = model
        .faults
        .random
        .iter()
        .map(|r| {
            let targets = if r.task_managers {
                f64::from(model.cluster.task_managers)
            } else {
                tasks
            };
            targets / (r.mtbf_us as f64 / 1e6)
        })
        .sum();
    Ok(if rate_per_s > 0.0 {
        1.0 / rate_per_s
    } else {
        f64::INFINITY
    })
}

impl OverheadSweep {
    /// Runs the sweep on `jobs` threads and fits the theory to it.
    pub fn run(
        &self,
        jobs: usize,
        observer: &dyn SweepObserver,
    ) -> Result<OverheadOutcome, SweepError> {
        let axis = SweepAxis::with_values(
            &self.document,
            "checkpointing.interval",
            self.intervals_us.clone(),
        )?;
        let plan = SweepPlan::new(
            &self.document,
            &self.label,
            "overhead",
            vec![axis],
            self.seeds.clone(),
            true,
        )?;
        let result = sweep::run(&plan, jobs, observer);
        OverheadOutcome::from_sweep(result, &self.document, &self.label)
    }
}

/// How to draw one overhead chart.
#[derive(Clone, Debug)]
pub struct OverheadChartStyle {
    /// The title.
    pub title: String,
    /// The measured series' legend entry, e.g. "stop-the-world, simulated".
    pub series_name: String,
    /// `#rrggbb` for the series.
    pub color: Option<String>,
}

/// The chart: mean overhead (%) with its 95 % band against the interval (s, log), Daly's curve
/// dashed over it, and markers at Young's, Daly's and the simulated optimum.
pub fn overhead_chart(outcome: &OverheadOutcome, style: &OverheadChartStyle) -> LineChart {
    let seeds = outcome.sweep.seed_count;
    let percent = |fraction: f64| fraction * 100.0;
    let points: Vec<(f64, f64)> = outcome
        .mean_overhead()
        .into_iter()
        .map(|(x, y)| (x, percent(y)))
        .collect();
    let band: Vec<BandPoint> = outcome
        .sweep
        .points
        .iter()
        .filter_map(|p| {
            let summary = p.metric("overhead")?;
            Some(BandPoint {
                x: p.values[0] / 1e6,
                lower: percent(summary.ci95_low),
                upper: percent(summary.ci95_high),
            })
        })
        .collect();
    let mut series = Series::new(
        format!("{} (mean of {seeds} seeds)", style.series_name),
        points.clone(),
    )
    .with_band("95 % confidence interval of the mean", band);
    series.color = style.color.clone();

    let theory = outcome.theory;
    let (x_low, x_high) = points.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    let samples = 160;
    let curve: Vec<(f64, f64)> = (0..=samples)
        .filter_map(|i| {
            let x = x_low * (x_high / x_low).powf(i as f64 / samples as f64);
            theory.overhead_at_interval(x).map(|o| (x, percent(o)))
        })
        .collect();
    let describe = |seconds: f64| format_seconds(seconds);
    let theory_name = if theory.mtbf_s.is_finite() {
        format!(
            "Daly (2006): δ = {}, R = {}, M = {}",
            describe(theory.checkpoint_cost_s),
            describe(theory.restart_cost_s),
            describe(theory.mtbf_s)
        )
    } else {
        format!(
            "δ / (interval − δ), δ = {}",
            describe(theory.checkpoint_cost_s)
        )
    };
    let mut reference_curves = Vec::new();
    if curve.len() > 1 {
        reference_curves.push(ReferenceCurve::new(theory_name, curve));
    }
    let mut markers = Vec::new();
    if let Some(young) = theory.young_optimum_interval_s() {
        markers.push(VerticalMarker {
            label: format!("Young {}", describe(young)),
            x: young,
            color: Some("#999999".into()),
        });
    }
    if let Some(daly) = theory.daly_optimum_interval_s() {
        markers.push(VerticalMarker {
            label: format!("Daly {}", describe(daly)),
            x: daly,
            color: Some("#000000".into()),
        });
    }
    if let Some(optimum) = outcome.simulated_optimum {
        let edge = optimum.lowest_index == 0 || optimum.lowest_index + 1 == points.len();
        let label = match (optimum.fitted, edge) {
            (true, _) => format!("simulated {}", describe(optimum.x)),
            (false, true) => format!("lowest simulated {} (sweep edge)", describe(optimum.x)),
            (false, false) => format!("lowest simulated {}", describe(optimum.x)),
        };
        markers.push(VerticalMarker {
            label,
            x: optimum.x,
            color: style.color.clone(),
        });
    }
    LineChart {
        title: style.title.clone(),
        x_axis: Axis::logarithmic("checkpoint interval (s) — execution.checkpointing.interval"),
        y_axis: Axis::linear("overhead (% of the time without checkpoints or crashes)"),
        series: vec![series],
        reference_curves,
        markers,
    }
}

/// A percentage for a legend: `0 %`, `0.04 %`, `114 %`.
pub fn format_percent(percent: f64) -> String {
    if percent.abs() < 0.005 {
        "0 %".to_string()
    } else if percent.abs() < 10.0 {
        format!("{percent:.2} %")
    } else {
        format!("{percent:.0} %")
    }
}

/// Seconds for a label: `0.45 s`, `12 s`, `3.8 s`, `120 ms`.
pub fn format_seconds(seconds: f64) -> String {
    if seconds < 1.0 {
        let ms = seconds * 1000.0;
        if ms < 10.0 {
            format!("{ms:.1} ms")
        } else {
            format!("{ms:.0} ms")
        }
    } else if seconds < 10.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{seconds:.1} s")
    }
}

/// The protocols of the overhead figures: scenario, figure stem, legend name, colour, title.
const PROTOCOLS: [(&str, &str, &str, &str, &str); 3] = [
    (
        "chart-overhead-stop-the-world.json",
        "overhead-stop-the-world",
        "stop-the-world",
        "#D55E00",
        "Stop-the-world checkpoints with crashes: overhead against interval, and Daly",
    ),
    (
        "chart-overhead-aligned.json",
        "overhead-aligned",
        "aligned barriers",
        "#0072B2",
        "Aligned barriers with crashes: no stall, so Daly's δ overstates the cost",
    ),
    (
        "chart-overhead-unaligned.json",
        "overhead-unaligned",
        "unaligned checkpoints",
        "#009E73",
        "Unaligned checkpoints with crashes: as cheap as aligned when little is in flight",
    ),
];

/// Intervals of the book's overhead figures: 0.4 s to 20 s, eleven values evenly on a log scale.
fn book_intervals_us() -> Vec<f64> {
    let points = 11;
    (0..points)
        .map(|i| (0.4e6 * (50f64).powf(i as f64 / (points - 1) as f64)).round())
        .collect()
}

/// Seeds per interval in the book's figures (small, to regenerate quickly; the band shows it).
const BOOK_SEEDS: u64 = 10;

/// The four overhead figures: one per protocol with crashes, and the pure cost without crashes.
pub fn overhead_figures(
    context: &super::context::FigureContext,
) -> Result<Vec<(&'static str, crate::plot::RenderedFiles)>, super::context::FigureError> {
    let mut figures = Vec::new();
    let mut pure_cost = Vec::new();
    let mut stall_theory = None;
    for (file, stem, name, color, title) in PROTOCOLS {
        let document = context.document(file)?;
        let outcome = OverheadSweep {
            document: document.clone(),
            label: context.label(file),
            intervals_us: book_intervals_us(),
            seeds: 0..BOOK_SEEDS,
        }
        .run(context.jobs, &crate::sweep::Silent)?;
        let chart = overhead_chart(
            &outcome,
            &OverheadChartStyle {
                title: title.to_string(),
                series_name: name.to_string(),
                color: Some(color.to_string()),
            },
        );
        figures.push((stem, chart.render(&context.out_dir, stem)?));

        let mut quiet = document;
        if let Some(map) = quiet.as_object_mut() {
            map.remove("faults");
        }
        let pure = OverheadSweep {
            document: quiet,
            label: context.label(file),
            intervals_us: book_intervals_us(),
            seeds: 0..2,
        }
        .run(context.jobs, &crate::sweep::Silent)?;
        if stall_theory.is_none() {
            stall_theory = Some(pure.theory);
        }
        let points: Vec<(f64, f64)> = pure
            .mean_overhead()
            .into_iter()
            .map(|(x, y)| (x, y * 100.0))
            .collect();
        let largest = points.iter().map(|p| p.1).fold(0.0, f64::max);
        let mut series = Series::new(
            format!("{name}: at most {}", format_percent(largest)),
            points,
        );
        series.color = Some(color.to_string());
        pure_cost.push(series);
    }
    let theory = stall_theory.expect("three protocols");
    let (low, high): (f64, f64) = (0.4, 20.0);
    let curve: Vec<(f64, f64)> = (0..=160)
        .filter_map(|i| {
            let x = low * (high / low).powf(f64::from(i) / 160.0);
            theory.overhead_at_interval(x).map(|o| (x, o * 100.0))
        })
        .collect();
    let chart = LineChart {
        title: "No crashes: the pure cost of checkpointing, paid only by the global pause".into(),
        x_axis: Axis::logarithmic("checkpoint interval (s) — execution.checkpointing.interval"),
        y_axis: Axis::linear("overhead (% of the time without checkpoints)"),
        series: pure_cost,
        reference_curves: vec![ReferenceCurve::new(
            format!(
                "δ / (interval − δ), δ = {} (stop-the-world duration)",
                format_seconds(theory.checkpoint_cost_s)
            ),
            curve,
        )],
        markers: Vec::new(),
    };
    figures.push((
        "overhead-no-failures",
        chart.render(&context.out_dir, "overhead-no-failures")?,
    ));
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_theory_measures_intervals_from_trigger_to_trigger() {
        // The check value (δ, R, M) = (1, 1, 100) of `crate::overhead`: Daly's τ* = 13.48, so the interval is 14.48.
        let theory = OverheadTheory {
            checkpoint_cost_s: 1.0,
            restart_cost_s: 1.0,
            mtbf_s: 100.0,
        };
        let interval = theory.daly_optimum_interval_s().unwrap();
        assert!((interval - 14.48).abs() < 0.01, "{interval}");
        let overhead = theory.daly_optimum_overhead().unwrap();
        assert!((overhead - 0.167).abs() < 0.001, "{overhead}");
        assert_eq!(theory.overhead_at_interval(0.5), None);
        let no_failures = OverheadTheory {
            mtbf_s: f64::INFINITY,
            ..theory
        };
        assert_eq!(no_failures.overhead_at_interval(5.0), Some(0.25));
        assert_eq!(no_failures.daly_optimum_interval_s(), None);
    }
}
