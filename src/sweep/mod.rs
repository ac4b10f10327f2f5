//! Parameter sweeps: one scenario, one or more numeric fields varied over a range, many seeds per
//! value — the raw material of every chart that shows how a quantity depends on a setting.
//!
//! `snapsim sweep FILE --set checkpointing.interval=100ms..10s --points 20 --log --seeds 20` runs
//! the scenario at 20 intervals spaced evenly on a log scale, 20 seeds each. Several `--set`
//! options make a grid (every combination). The parameter is addressed by its path in the scenario
//! file (see [`path`]), so anything a learner can write in a file can be swept.
//!
//! **Common random numbers.** Every point runs the same seeds `0..S`, and every random stream of
//! the simulator is keyed by (seed, component) — the fault plan's crash times, the sources' keys,
//! the coordinator's first trigger — so two points differ only by the parameter, not by luck. Differences between neighbouring points are therefore far less noisy than the
//! points themselves.
//!
//! **Baseline.** For a bounded dataflow job, each point is also run without checkpointing and
//! without faults (same seeds); `overhead` = (completion time − baseline) / baseline, the quantity
//! of Young's and Daly's model ([`crate::overhead`]). Points whose baseline document is the same
//! (the usual case: sweeping a checkpointing or fault setting) share one baseline.
//!
//! **Parallelism and interruption.** Runs are independent and deterministic, so they run on a
//! rayon pool (parallelism across runs, never inside one); results are put back in
//! (point, seed) order, so the output does not depend on thread timing. As each point finishes,
//! the observer is told — the command line writes that point's file atomically and rewrites the
//! CSV summaries, so Ctrl-C leaves every finished point's data intact ([`files`]).
//!
//! Sweeps call the simulator directly, without the oracle of `snapsim run`:
//! a sweep is about measurements, and the oracle is exercised by the scenario tests.

pub mod files;
pub mod metrics;
pub mod optimum;
pub mod path;

pub use files::SweepWriter;
pub use metrics::{
    DATAFLOW_METRICS, MetricInfo, PROCESS_GRAPH_METRICS, RunMetrics, Summary, summarise,
};
pub use path::{JsonPath, POINTS_PER_AXIS_MAX, ValueKind};

use crate::deployment::parse as parse_str;
use crate::scenario::{Model, Scenario, ScenarioError};
use crate::shard::{Shard, ShardOf};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Mutex;

/// The most points a grid may have (the product of the axes' values).
pub const GRID_POINTS_MAX: usize = 100_000;
/// The most simulation runs one sweep command may plan (points × seeds, baselines included): a
/// larger sweep is split into shards (`--shard K/N`, see [`crate::shard`]).
pub const RUNS_MAX: u64 = 10_000_000;

/// Why a sweep cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A `--set` option is wrong: the path, the range, or the kind of value.
    #[error("--set {path}: {message}")]
    Parameter {
        /// The path as given.
        path: String,
        /// What is wrong and what to write instead.
        message: String,
    },
    /// The scenario with a swept value is not valid (e.g. an interval of zero).
    #[error("at {point}: {error}")]
    Point {
        /// The parameter values, e.g. `checkpointing.interval=0us`.
        point: String,
        /// The validation error.
        error: ScenarioError,
    },
    /// The scenario file itself.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// The sweep has nothing to run.
    #[error("{0}")]
    Empty(String),
}

/// One swept field and the values it takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepAxis {
    /// Path in the scenario file, e.g. `checkpointing.interval`.
    pub path: String,
    /// Number, duration or size.
    pub kind: ValueKind,
    /// The values in the kind's base unit (µs for durations, bytes for sizes), in sweep order.
    pub values: Vec<f64>,
}

impl SweepAxis {
    /// An axis from a range as written on the command line: `from..to` with `points` values,
    /// evenly spaced or (with `logarithmic`) evenly on a log scale.
    pub fn from_range(
        document: &Value,
        path: &str,
        range: &str,
        points: usize,
        logarithmic: bool,
    ) -> Result<SweepAxis, SweepError> {
        let error = |message: String| SweepError::Parameter {
            path: path.to_string(),
            message,
        };
        let parsed = JsonPath::parse(path).map_err(error)?;
        let kind = parsed.kind_in(document, range).map_err(error)?;
        let (from, to) = path::split_range(range).map_err(error)?;
        let (from, to) = (
            kind.parse(from).map_err(error)?,
            kind.parse(to).map_err(error)?,
        );
        let values = path::spaced_values(kind, from, to, points, logarithmic).map_err(error)?;
        Ok(SweepAxis {
            path: parsed.as_str().to_string(),
            kind,
            values,
        })
    }

    /// An axis with given values (in the kind's base unit), the kind read from the document.
    pub fn with_values(
        document: &Value,
        path: &str,
        values: Vec<f64>,
    ) -> Result<SweepAxis, SweepError> {
        let error = |message: String| SweepError::Parameter {
            path: path.to_string(),
            message,
        };
        let parsed = JsonPath::parse(path).map_err(error)?;
        let hint = values.first().map_or(String::new(), |v| v.to_string());
        let kind = parsed.kind_in(document, &hint).map_err(error)?;
        Ok(SweepAxis {
            path: parsed.as_str().to_string(),
            kind,
            values: values.into_iter().map(|v| kind.round(v)).collect(),
        })
    }

    /// The column name of this axis in the CSV files, with its unit: `checkpointing.interval_us`.
    pub fn column(&self) -> String {
        format!("{}{}", self.path, self.kind.unit_suffix())
    }
}

/// A validated sweep: every point's scenario parsed and checked before anything runs.
#[derive(Debug)]
pub struct SweepPlan {
    /// The scenario's name (the output directory under `output/`).
    pub scenario_name: String,
    /// The swept fields.
    pub axes: Vec<SweepAxis>,
    /// Seeds run at every point (the same for all points: common random numbers).
    pub seeds: Range<u64>,
    /// The scenario document's [`crate::shard::fingerprint`].
    pub scenario_fingerprint: String,
    /// Present when this plan is one shard of a larger sweep ([`SweepPlan::shard`]).
    pub shard: Option<ShardOf>,
    points: Vec<PlannedPoint>,
    /// Distinct baseline scenarios (no checkpoints, no faults).
    baselines: Vec<Scenario>,
}

#[derive(Debug)]
struct PlannedPoint {
    values: Vec<f64>,
    scenario: Scenario,
    baseline: Option<usize>,
}

impl SweepPlan {
    /// Plans the grid of `axes` over `document` (the scenario file as JSON; `label` names it in
    /// errors). Every point is validated now, so a bad value fails before hours of running.
    /// `with_baseline`: also run bounded dataflow jobs without checkpoints and faults.
    pub fn new(
        document: &Value,
        label: &str,
        default_name: &str,
        axes: Vec<SweepAxis>,
        seeds: Range<u64>,
        with_baseline: bool,
    ) -> Result<SweepPlan, SweepError> {
        if axes.is_empty() || axes.iter().any(|a| a.values.is_empty()) {
            return Err(SweepError::Empty(
                "nothing to sweep: give at least one --set PATH=FROM..TO".into(),
            ));
        }
        if seeds.is_empty() {
            return Err(SweepError::Empty(
                "no seeds: --seeds must be at least 1".into(),
            ));
        }
        let grid_points = axes
            .iter()
            .try_fold(1usize, |product, axis| {
                product.checked_mul(axis.values.len())
            })
            .filter(|&points| points <= GRID_POINTS_MAX);
        if grid_points.is_none() {
            return Err(SweepError::Empty(format!(
                "the grid has more than {GRID_POINTS_MAX} points: sweep fewer values or fewer parameters at once"
            )));
        }
        let base = parse_str(&document.to_string(), label, default_name)?;
        let paths: Vec<JsonPath> = axes
            .iter()
            .map(|a| JsonPath::parse(&a.path).expect("axes hold parsed paths"))
            .collect();
        let bounded = is_bounded_dataflow(document);
        let mut baseline_texts: Vec<String> = Vec::new();
        let mut baselines = Vec::new();
        let mut points = Vec::new();
        for values in grid(&axes) {
            let mut point_document = document.clone();
            for ((axis, path), &value) in axes.iter().zip(&paths).zip(&values) {
                path.set(&mut point_document, axis.kind.to_json(value))
                    .map_err(|message| SweepError::Parameter {
                        path: axis.path.clone(),
                        message,
                    })?;
            }
            let point_label = describe_point(&axes, &values);
            let scenario =
                parse_str(&point_document.to_string(), label, default_name).map_err(|error| {
                    SweepError::Point {
                        point: point_label.clone(),
                        error,
                    }
                })?;
            let baseline = if with_baseline && bounded {
                let mut baseline_document = point_document.clone();
                if let Value::Object(map) = &mut baseline_document {
                    map.remove("checkpointing");
                    map.remove("faults");
                }
                let text = baseline_document.to_string();
                let index = match baseline_texts.iter().position(|t| *t == text) {
                    Some(index) => index,
                    None => {
                        let scenario = parse_str(&text, label, default_name).map_err(|error| {
                            SweepError::Point {
                                point: format!("{point_label} (without checkpoints and faults)"),
                                error,
                            }
                        })?;
                        baseline_texts.push(text);
                        baselines.push(scenario);
                        baselines.len() - 1
                    }
                };
                Some(index)
            } else {
                None
            };
            points.push(PlannedPoint {
                values,
                scenario,
                baseline,
            });
        }
        Ok(SweepPlan {
            scenario_name: base.name,
            axes,
            seeds,
            scenario_fingerprint: crate::shard::fingerprint(document),
            shard: None,
            points,
            baselines,
        })
    }

    /// Refuses a plan with more than [`RUNS_MAX`] runs (after sharding: a huge sweep is fine
    /// when each shard is not).
    pub fn check_size(&self) -> Result<(), SweepError> {
        if self.run_count() > RUNS_MAX {
            return Err(SweepError::Empty(format!(
                "{} point(s) × {} seed(s) is {} runs, more than {RUNS_MAX} for one machine: \
                 split the seeds into shards with --shard K/N",
                self.point_count(),
                self.seeds.end - self.seeds.start,
                self.run_count()
            )));
        }
        Ok(())
    }

    /// Narrows the plan to one shard: every point, the shard's block of the seeds (and the
    /// baselines of those seeds only). See [`crate::shard`].
    pub fn shard(mut self, shard: Shard) -> Result<SweepPlan, SweepError> {
        let whole = self.seeds.clone();
        self.seeds = shard
            .seeds(&whole)
            .map_err(|message| SweepError::Empty(format!("--shard {shard}: {message}")))?;
        self.shard = Some(ShardOf {
            index: shard.index,
            of: shard.of,
            whole_seed_first: whole.start,
            whole_seed_count: whole.end - whole.start,
        });
        Ok(self)
    }

    /// Which model the points run: it decides the metrics.
    pub fn model(&self) -> SweptModel {
        match self.points.first().map(|p| &p.scenario.model) {
            Some(Model::ProcessGraph(_)) => SweptModel::ProcessGraph,
            _ => SweptModel::Dataflow,
        }
    }

    /// Number of points in the grid.
    pub fn point_count(&self) -> usize {
        self.points.len()
    }

    /// Number of simulation runs, baselines included.
    pub fn run_count(&self) -> u64 {
        let seeds = self.seeds.end - self.seeds.start;
        ((self.points.len() + self.baselines.len()) as u64).saturating_mul(seeds)
    }

    /// The metrics this sweep's runs report, in column order.
    pub fn metrics(&self) -> &'static [MetricInfo] {
        self.model().metrics()
    }

    /// The directory name for this sweep: `sweep-<param>` (several parameters joined by `+`).
    pub fn directory_name(&self) -> String {
        directory_name(&self.axes)
    }
}

/// The kind of model a sweep runs, which decides the metrics it reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweptModel {
    /// A streaming dataflow job (Flink's checkpointing).
    Dataflow,
    /// A process graph (Chandy-Lamport).
    ProcessGraph,
}

impl SweptModel {
    /// The metrics its runs report, in column order.
    pub fn metrics(self) -> &'static [MetricInfo] {
        match self {
            SweptModel::Dataflow => DATAFLOW_METRICS,
            SweptModel::ProcessGraph => PROCESS_GRAPH_METRICS,
        }
    }
}

/// The directory name of a sweep over `axes`: `sweep-<param>` (several joined by `+`).
pub fn directory_name(axes: &[SweepAxis]) -> String {
    let joined: Vec<String> = axes.iter().map(|a| a.path.clone()).collect();
    let sanitized: String = joined
        .join("+")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("sweep-{sanitized}")
}

/// Told about progress while a sweep runs (from worker threads).
pub trait SweepObserver: Sync {
    /// One simulation finished.
    fn run_finished(&self) {}
    /// Every seed of one point finished; `point` holds their metrics.
    fn point_finished(&self, point: &PointResult) {
        let _ = point;
    }
    /// Should the sweep stop starting runs (Ctrl-C)? Points whose runs did not all finish are
    /// then left out of the result.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// An observer that ignores everything.
pub struct Silent;

impl SweepObserver for Silent {}

/// One point of the grid and what its runs measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Position in the grid (row-major over the axes, the last axis fastest).
    pub index: usize,
    /// The parameter values, one per axis, in base units.
    pub values: Vec<f64>,
    /// The parameter values for people, e.g. `checkpointing.interval=250ms`.
    pub label: String,
    /// One entry per seed, in seed order.
    pub runs: Vec<RunMetrics>,
    /// Every metric over the seeds.
    pub summary: BTreeMap<String, Summary>,
}

impl PointResult {
    /// The mean of a metric over the seeds that have it.
    pub fn mean(&self, metric: &str) -> Option<f64> {
        self.summary.get(metric).map(|s| s.mean)
    }

    /// The summary of a metric.
    pub fn metric(&self, metric: &str) -> Option<&Summary> {
        self.summary.get(metric)
    }
}

/// Everything a sweep measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario document's [`crate::shard::fingerprint`]: shards of different files are not
    /// merged.
    pub scenario_fingerprint: String,
    /// The kind of model (it decides the metrics).
    pub model: SweptModel,
    /// The swept fields.
    pub axes: Vec<SweepAxis>,
    /// First seed.
    pub seed_first: u64,
    /// Seeds per point.
    pub seed_count: u64,
    /// Present when this is one shard of a larger sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardOf>,
    /// Every point, in grid order.
    pub points: Vec<PointResult>,
}

/// Runs the plan on `jobs` threads, telling `observer` as runs and points finish.
pub fn run(plan: &SweepPlan, jobs: usize, observer: &dyn SweepObserver) -> SweepResult {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .expect("a thread pool");
    let seeds: Vec<u64> = plan.seeds.clone().collect();
    pool.install(|| {
        // Baselines first: a point's overhead needs them.
        let baseline_jobs: Vec<(usize, u64)> = (0..plan.baselines.len())
            .flat_map(|b| seeds.iter().map(move |&s| (b, s)))
            .collect();
        let baseline_runs: Vec<Option<RunMetrics>> = baseline_jobs
            .par_iter()
            .map(|&(b, seed)| {
                if observer.stop_requested() {
                    return None;
                }
                let metrics = run_once(&plan.baselines[b], seed);
                observer.run_finished();
                Some(metrics)
            })
            .collect();
        let baseline_completion = |baseline: usize, seed_position: usize| {
            baseline_runs[baseline * seeds.len() + seed_position]
                .as_ref()
                .and_then(|m| m.get("completion_time_s"))
        };

        let pending: Vec<Mutex<Vec<Option<RunMetrics>>>> = plan
            .points
            .iter()
            .map(|_| Mutex::new(vec![None; seeds.len()]))
            .collect();
        let point_jobs: Vec<(usize, usize)> = (0..plan.points.len())
            .flat_map(|p| (0..seeds.len()).map(move |s| (p, s)))
            .collect();
        let mut finished: Vec<PointResult> = point_jobs
            .par_iter()
            .filter_map(|&(p, s)| {
                if observer.stop_requested() {
                    return None;
                }
                let point = &plan.points[p];
                let mut metrics = run_once(&point.scenario, seeds[s]);
                if let Some(baseline) = point.baseline
                    && let Some(completion) = baseline_completion(baseline, s)
                {
                    metrics.set_baseline(completion);
                }
                observer.run_finished();
                let complete = {
                    let mut slots = pending[p].lock().expect("no panics while holding");
                    slots[s] = Some(metrics);
                    if slots.iter().all(Option::is_some) {
                        Some(slots.iter_mut().map(|m| m.take().expect("all")).collect())
                    } else {
                        None
                    }
                };
                complete.map(|runs: Vec<RunMetrics>| {
                    let result = PointResult {
                        index: p,
                        values: point.values.clone(),
                        label: describe_point(&plan.axes, &point.values),
                        summary: summarise(&runs),
                        runs,
                    };
                    observer.point_finished(&result);
                    result
                })
            })
            .collect();
        finished.sort_by_key(|p| p.index);
        SweepResult {
            scenario: plan.scenario_name.clone(),
            scenario_fingerprint: plan.scenario_fingerprint.clone(),
            model: plan.model(),
            axes: plan.axes.clone(),
            seed_first: plan.seeds.start,
            seed_count: plan.seeds.end - plan.seeds.start,
            shard: plan.shard,
            points: finished,
        }
    })
}

/// One simulation of a scenario with a seed, reduced to its metrics. The seed drives every random
/// stream of the run, the fault plan's included.
pub fn run_once(scenario: &Scenario, seed: u64) -> RunMetrics {
    match &scenario.model {
        Model::Dataflow(model) => {
            let mut model = (**model).clone();
            model.seed = seed;
            // A sweep reads statistics only (no checkpoint contents, no sink writes).
            let run =
                crate::dataflow::run_with(&model, seed, crate::dataflow::RunDetail::Statistics);
            RunMetrics::from_dataflow(seed, &run)
        }
        Model::ProcessGraph(model) => {
            let run = crate::chandy_lamport::run(model, seed, model.variant);
            RunMetrics::from_process_graph(seed, &run)
        }
    }
}

/// Every combination of the axes' values, the last axis fastest.
fn grid(axes: &[SweepAxis]) -> Vec<Vec<f64>> {
    let mut combinations: Vec<Vec<f64>> = vec![Vec::new()];
    for axis in axes {
        combinations = combinations
            .into_iter()
            .flat_map(|prefix| {
                axis.values.iter().map(move |&v| {
                    let mut next = prefix.clone();
                    next.push(v);
                    next
                })
            })
            .collect();
    }
    combinations
}

/// `checkpointing.interval=250ms, state.sync-base=10ms`.
pub fn describe_point(axes: &[SweepAxis], values: &[f64]) -> String {
    axes.iter()
        .zip(values)
        .map(|(axis, &value)| format!("{}={}", axis.path, axis.kind.display(value)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A dataflow document whose every source has a `records` limit: the job finishes by itself.
fn is_bounded_dataflow(document: &Value) -> bool {
    let Some(operators) = document
        .get("job")
        .and_then(|j| j.get("operators"))
        .and_then(Value::as_array)
    else {
        return false;
    };
    let sources: Vec<&Value> = operators
        .iter()
        .filter(|o| o.get("kind").and_then(Value::as_str) == Some("source"))
        .collect();
    !sources.is_empty() && sources.iter().all(|s| s.get("records").is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_of_two_axes_runs_every_combination_with_the_last_axis_fastest() {
        let axis = |path: &str, values: Vec<f64>| SweepAxis {
            path: path.into(),
            kind: ValueKind::Number { integer: true },
            values,
        };
        let combinations = grid(&[axis("a", vec![1.0, 2.0]), axis("b", vec![7.0, 8.0, 9.0])]);
        assert_eq!(combinations.len(), 6);
        assert_eq!(combinations[1], vec![1.0, 8.0]);
        assert_eq!(combinations[3], vec![2.0, 7.0]);
    }
}
