//! A sweep's results on disk, written so that an interrupted sweep keeps what it finished.
//!
//! Under `output/<scenario>/sweep-<param>/`:
//! - `points/point-NNN.json`: one file per grid point, written atomically the moment the point's
//!   last seed finishes (its runs' metrics and their summaries);
//! - `summary.csv`: one row per finished point — the parameters, then for every metric its mean,
//!   standard deviation and 95 % confidence interval over the seeds;
//! - `runs.csv`: one row per finished run (point, parameters, seed, metrics);
//! - `sweep.json`: the whole result, written at the end.
//!
//! A sweep split into shards ([`crate::shard`]) writes these files per shard; [`merge`] puts the
//! shards' results back into the result of the whole sweep, and [`write_all`] then writes the
//! files a single-machine sweep would have written.
//!
//! Both CSV files are rewritten (atomically, see [`crate::output`]) after every finished point, so
//! after Ctrl-C they hold exactly the points that finished, and a finished sweep's files depend
//! only on its inputs — never on the order in which threads finished.

use super::{
    MetricInfo, PointResult, RunMetrics, SweepAxis, SweepObserver, SweepPlan, SweepResult,
    summarise,
};
use crate::output::FileSet;
use crate::shard::{Origin, check_tiling, same_scenario};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Writes a sweep's files as its points finish (an observer for [`super::run`]).
pub struct SweepWriter {
    directory: PathBuf,
    axes: Vec<SweepAxis>,
    metrics: &'static [MetricInfo],
    finished: Mutex<BTreeMap<usize, PointResult>>,
    first_error: Mutex<Option<io::Error>>,
}

impl SweepWriter {
    /// Prepares `<out>/<scenario>/sweep-<param>/`, removing point files of an earlier sweep there.
    pub fn new(out: &Path, plan: &SweepPlan) -> io::Result<SweepWriter> {
        let directory = out.join(&plan.scenario_name).join(plan.directory_name());
        prepare_directory(&directory)?;
        Ok(SweepWriter {
            directory,
            axes: plan.axes.clone(),
            metrics: plan.metrics(),
            finished: Mutex::new(BTreeMap::new()),
            first_error: Mutex::new(None),
        })
    }

    /// Where the files go.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Writes the final files; returns the first error met while the sweep ran, if any.
    pub fn finish(&self, result: &SweepResult) -> io::Result<()> {
        if let Some(error) = self.first_error.lock().expect("not poisoned").take() {
            return Err(error);
        }
        write_all(&self.directory, result, self.metrics)
    }

    fn write_point(&self, point: &PointResult) -> io::Result<()> {
        let mut finished = self.finished.lock().expect("not poisoned");
        let path = self
            .directory
            .join("points")
            .join(format!("point-{:03}.json", point.index));
        let mut with_point = finished.clone();
        with_point.insert(point.index, point.clone());
        let points: Vec<&PointResult> = with_point.values().collect();
        // The point file and the summaries that list it go in together, or not at all.
        let mut set = FileSet::new();
        set.stage_bytes(&path, &to_json(point)?)?;
        set.stage_bytes(
            &self.directory.join("summary.csv"),
            summary_csv(&self.axes, self.metrics, &points).as_bytes(),
        )?;
        set.stage_bytes(
            &self.directory.join("runs.csv"),
            runs_csv(&self.axes, self.metrics, &points).as_bytes(),
        )?;
        set.commit()?;
        *finished = with_point;
        Ok(())
    }

    /// The points written so far, in grid order (what an interrupted sweep leaves).
    pub fn finished_points(&self) -> Vec<PointResult> {
        self.finished
            .lock()
            .expect("not poisoned")
            .values()
            .cloned()
            .collect()
    }
}

impl SweepObserver for SweepWriter {
    fn point_finished(&self, point: &PointResult) {
        if let Err(error) = self.write_point(point) {
            let mut first = self.first_error.lock().expect("not poisoned");
            if first.is_none() {
                *first = Some(error);
            }
        }
    }
}

/// Creates a sweep's directory and its `points/`, removing the files of an earlier sweep there
/// (point files, summaries, `sweep.json`) and temporaries of killed runs: from the first point on,
/// the directory holds only this sweep's files.
pub fn prepare_directory(directory: &Path) -> io::Result<()> {
    let points = directory.join("points");
    std::fs::create_dir_all(&points)?;
    crate::output::remove_stale_temporaries(directory);
    crate::output::remove_stale_temporaries(&points);
    for name in ["sweep.json", "summary.csv", "runs.csv"] {
        match std::fs::remove_file(directory.join(name)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    for entry in std::fs::read_dir(&points)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("point-") && name.ends_with(".json") {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Writes `summary.csv`, `runs.csv`, `sweep.json` and every point file of a finished sweep.
pub fn write_all(directory: &Path, result: &SweepResult, metrics: &[MetricInfo]) -> io::Result<()> {
    let points: Vec<&PointResult> = result.points.iter().collect();
    let mut set = FileSet::new();
    for point in &points {
        set.stage_bytes(
            &directory
                .join("points")
                .join(format!("point-{:03}.json", point.index)),
            &to_json(point)?,
        )?;
    }
    set.stage_bytes(
        &directory.join("summary.csv"),
        summary_csv(&result.axes, metrics, &points).as_bytes(),
    )?;
    set.stage_bytes(
        &directory.join("runs.csv"),
        runs_csv(&result.axes, metrics, &points).as_bytes(),
    )?;
    // sweep.json last: its presence says the sweep finished.
    set.stage_bytes(&directory.join("sweep.json"), &to_json(result)?)?;
    set.commit()
}

/// Puts the results of the N shards of one sweep (each with a name for errors, its directory) back
/// together: every point's runs in seed order and their summaries recomputed, so the merged result
/// is the one the whole sweep would have produced.
pub fn merge(shards: &[(SweepResult, String)]) -> Result<SweepResult, String> {
    let Some((first, first_name)) = shards.first() else {
        return Err("no sweep results to merge".into());
    };
    for (result, name) in shards {
        same_scenario(
            "sweep",
            &Origin {
                name,
                scenario: &result.scenario,
                fingerprint: &result.scenario_fingerprint,
            },
            &Origin {
                name: first_name,
                scenario: &first.scenario,
                fingerprint: &first.scenario_fingerprint,
            },
        )?;
        if result.axes != first.axes || result.model != first.model {
            return Err(format!(
                "{name} swept {}, {first_name} swept {}: shards of different sweeps cannot be merged",
                describe_axes(&result.axes),
                describe_axes(&first.axes)
            ));
        }
        let points = first.axes.iter().map(|a| a.values.len()).product::<usize>();
        let seeds: Vec<u64> = (result.seed_first..result.seed_first + result.seed_count).collect();
        let complete = result.points.len() == points
            && result.points.iter().enumerate().all(|(i, p)| {
                p.index == i && p.runs.iter().map(|r| r.seed).eq(seeds.iter().copied())
            });
        if !complete {
            return Err(format!(
                "{name} holds {} of {points} points: the shard did not finish (run it again)",
                result.points.len()
            ));
        }
    }
    let pieces: Vec<_> = shards
        .iter()
        .map(|(result, name)| {
            (
                result.shard,
                result.seed_first..result.seed_first + result.seed_count,
                name.clone(),
            )
        })
        .collect();
    let whole = check_tiling(&pieces)?;
    let mut ordered: Vec<&SweepResult> = shards.iter().map(|(r, _)| r).collect();
    ordered.sort_by_key(|r| r.seed_first);
    let points = first
        .points
        .iter()
        .map(|point| {
            let runs: Vec<RunMetrics> = ordered
                .iter()
                .flat_map(|r| r.points[point.index].runs.iter().cloned())
                .collect();
            PointResult {
                index: point.index,
                values: point.values.clone(),
                label: point.label.clone(),
                summary: summarise(&runs),
                runs,
            }
        })
        .collect();
    Ok(SweepResult {
        scenario: first.scenario.clone(),
        scenario_fingerprint: first.scenario_fingerprint.clone(),
        model: first.model,
        axes: first.axes.clone(),
        seed_first: whole.start,
        seed_count: whole.end - whole.start,
        shard: None,
        points,
    })
}

fn describe_axes(axes: &[SweepAxis]) -> String {
    axes.iter()
        .map(|a| format!("{} ({} values)", a.path, a.values.len()))
        .collect::<Vec<_>>()
        .join(" × ")
}

fn to_json(value: &impl serde::Serialize) -> io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// One row per point: parameters, then mean, std, ci95_low, ci95_high of every metric.
pub fn summary_csv(axes: &[SweepAxis], metrics: &[MetricInfo], points: &[&PointResult]) -> String {
    let mut text = String::from("point");
    for axis in axes {
        let _ = write!(text, ",{}", axis.column());
    }
    text.push_str(",runs");
    for metric in metrics {
        let name = metric.name;
        let _ = write!(
            text,
            ",{name}_mean,{name}_std,{name}_ci95_low,{name}_ci95_high"
        );
    }
    text.push('\n');
    for point in points {
        let _ = write!(text, "{}", point.index);
        for value in &point.values {
            let _ = write!(text, ",{value}");
        }
        let _ = write!(text, ",{}", point.runs.len());
        for metric in metrics {
            match point.summary.get(metric.name) {
                Some(s) => {
                    let _ = write!(
                        text,
                        ",{},{},{},{}",
                        s.mean, s.std_dev, s.ci95_low, s.ci95_high
                    );
                }
                None => text.push_str(",,,,"),
            }
        }
        text.push('\n');
    }
    text
}

/// One row per run: point, parameters, seed, every metric (empty when the run lacks it).
pub fn runs_csv(axes: &[SweepAxis], metrics: &[MetricInfo], points: &[&PointResult]) -> String {
    let mut text = String::from("point");
    for axis in axes {
        let _ = write!(text, ",{}", axis.column());
    }
    text.push_str(",seed");
    for metric in metrics {
        let _ = write!(text, ",{}", metric.name);
    }
    text.push('\n');
    for point in points {
        for run in &point.runs {
            let _ = write!(text, "{}", point.index);
            for value in &point.values {
                let _ = write!(text, ",{value}");
            }
            let _ = write!(text, ",{}", run.seed);
            for metric in metrics {
                match run.get(metric.name) {
                    Some(value) => {
                        let _ = write!(text, ",{value}");
                    }
                    None => text.push(','),
                }
            }
            text.push('\n');
        }
    }
    text
}

/// A short table for the terminal: each point with the means of its headline metrics (those of
/// `overhead`, `completion_time_s`, `checkpoint_duration_ms_mean`, `failures`,
/// `sink_records_per_s`, `snapshot_duration_ms_mean` that the runs have), ± the 95 % half-width.
pub fn overview(result: &SweepResult) -> String {
    const HEADLINE: [&str; 7] = [
        "overhead",
        "completion_time_s",
        "checkpoint_duration_ms_mean",
        "failures",
        "sink_records_per_s",
        "snapshot_duration_ms_mean",
        "snapshots_completed",
    ];
    let shown: Vec<&str> = HEADLINE
        .iter()
        .copied()
        .filter(|m| result.points.iter().any(|p| p.summary.contains_key(*m)))
        .take(4)
        .collect();
    let label_width = result
        .points
        .iter()
        .map(|p| p.label.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut text = format!("{:<label_width$}", "point");
    for metric in &shown {
        let _ = write!(text, "  {metric:>28}");
    }
    text.push('\n');
    for point in &result.points {
        let _ = write!(text, "{:<label_width$}", point.label);
        for metric in &shown {
            let cell = match point.summary.get(*metric) {
                Some(s) => format!(
                    "{} ± {}",
                    significant(s.mean),
                    significant((s.ci95_high - s.ci95_low) / 2.0)
                ),
                None => "–".to_string(),
            };
            let _ = write!(text, "  {cell:>28}");
        }
        text.push('\n');
    }
    text
}

/// Four significant digits, without exponent for everyday magnitudes.
fn significant(value: f64) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    if value.abs() < 1e-9 {
        return "0".to_string();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    format!("{value:.decimals$}")
}
