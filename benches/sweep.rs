//! Sweep speed: the issue-6 benchmark, a 40-point × 20-seed sweep of a job with about 10⁶ engine
//! events per run, on every core.
//!
//! `cargo bench --bench sweep` runs two overhead experiments, each over checkpoint intervals on a
//! log scale (40 values), seeds 0..20 at each, plus the 20 baseline runs without checkpoints and
//! crashes — 820 runs each:
//! - `flink-job`: `chart-overhead-stop-the-world.json` scaled up to 2 × 210 000 records (about
//!   2100 s of useful work, some 250 crashes and up to 5000 checkpoints per run; four tasks, keyed
//!   state of 2000 keys that every snapshot copies), intervals 0.4 s to 20 s;
//! - `daly-machine`: `chart-overhead-daly-machine.json` scaled up to 10⁶ records (one task, tiny
//!   state), intervals 0.3 s to 10 s.
//!
//! It prints the wall time, the engine events per second, and the simulated optimum, once per job:
//! a sweep this size is its own repetition. `SNAPSIM_BENCH_POINTS` and `SNAPSIM_BENCH_SEEDS` shrink
//! it for a quick look; `SNAPSIM_BENCH_JOB=flink-job` (or `daly-machine`) runs one of the two.
//!
//! `SNAPSIM_BENCH_JOB=flink-job-run` instead runs the flink job's single worst point — its shortest
//! interval, 400 ms, some 5000 checkpoints — through `snapsim run` (simulation, every invariant,
//! the report) three times, and prints the wall time and peak memory of each: what one user's
//! `snapsim run` of that job costs.

use serde_json::{Value, json};
use snapsim::sweep::optimum::fitted_minimum;
use snapsim::sweep::{self, JsonPath, SweepAxis, SweepObserver, SweepPlan};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

struct Progress {
    runs: AtomicU64,
    total: u64,
}

impl SweepObserver for Progress {
    fn run_finished(&self) {
        let done = self.runs.fetch_add(1, Ordering::Relaxed) + 1;
        if done.is_multiple_of(100) || done == self.total {
            eprintln!("  {done}/{} runs", self.total);
        }
    }
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let only = std::env::var("SNAPSIM_BENCH_JOB").ok();
    let jobs = [
        (
            "flink-job",
            "chart-overhead-stop-the-world.json",
            210_000,
            "400ms..20s",
        ),
        (
            "daly-machine",
            "chart-overhead-daly-machine.json",
            1_000_000,
            "300ms..10s",
        ),
    ];
    if only.as_deref() == Some("flink-job-run") {
        run_one_point(jobs[0].1, jobs[0].2);
        return;
    }
    for (name, file, records, range) in jobs {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        bench(name, file, records, range);
    }
}

/// The shipped scenario `file` with its source scaled to `records`, and its path.
fn scaled(file: &str, records: u64) -> (String, Value) {
    let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut document: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the scenario exists"))
            .expect("valid JSON");
    JsonPath::parse("job.operators.source.records")
        .and_then(|p| p.set(&mut document, json!(records)))
        .expect("the source has records");
    (path, document)
}

fn bench(name: &str, file: &str, records: u64, range: &str) {
    let (path, document) = scaled(file, records);
    let points = setting("SNAPSIM_BENCH_POINTS", 40);
    let seeds = setting("SNAPSIM_BENCH_SEEDS", 20) as u64;
    let axis = SweepAxis::from_range(&document, "checkpointing.interval", range, points, true)
        .expect("a valid range");
    let plan = SweepPlan::new(&document, &path, "bench", vec![axis], 0..seeds, true)
        .expect("a valid sweep");
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "{name}: {} points × {seeds} seeds = {} runs (baselines included) on {jobs} threads",
        plan.point_count(),
        plan.run_count()
    );
    let progress = Progress {
        runs: AtomicU64::new(0),
        total: plan.run_count(),
    };
    let started = Instant::now();
    let result = sweep::run(&plan, jobs, &progress);
    let seconds = started.elapsed().as_secs_f64();
    let events: f64 = result
        .points
        .iter()
        .flat_map(|p| p.runs.iter())
        .filter_map(|r| r.get("events_processed"))
        .sum();
    let runs = (result.points.len() as u64 * seeds) as f64;
    let curve: Vec<(f64, f64)> = result
        .points
        .iter()
        .filter_map(|p| Some((p.values[0] / 1e6, p.mean("overhead")?)))
        .collect();
    let optimum = fitted_minimum(&curve, true, 2);
    println!(
        "{name}: {} points × {seeds} seeds in {:.1} s wall time on {jobs} threads · {:.2e} events \
         per run on average · {:.1} M events/s{}",
        result.points.len(),
        seconds,
        events / runs,
        events / seconds / 1e6,
        optimum.map_or(String::new(), |o| format!(
            " · simulated optimum {:.2} s, overhead {:.1} %",
            o.x,
            o.y * 100.0
        ))
    );
}

/// `snapsim run` on the flink job at a 400 ms interval, as a child process: wall time and peak
/// resident memory (the child's `ru_maxrss`).
fn run_one_point(file: &str, records: u64) {
    let (_, mut document) = scaled(file, records);
    JsonPath::parse("checkpointing.interval")
        .and_then(|p| p.set(&mut document, json!("400ms")))
        .expect("the job checkpoints");
    let scratch = std::env::temp_dir().join(format!("snapsim-bench-run-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("a scratch directory");
    let scenario = scratch.join("flink-job-400ms.json");
    std::fs::write(&scenario, document.to_string()).expect("the scenario is written");
    for round in 1..=3 {
        let started = Instant::now();
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_snapsim"))
            .arg("run")
            .arg(&scenario)
            .arg("--out")
            .arg(scratch.join("output"))
            .stdout(std::process::Stdio::null())
            .status()
            .expect("snapsim runs");
        let seconds = started.elapsed().as_secs_f64();
        assert!(status.success(), "snapsim run failed: {status}");
        // The largest resident set of any child waited for: each round's run is the same job.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid, writable rusage for getrusage to fill.
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
        println!(
            "flink-job-run: round {round}/3: snapsim run at a 400 ms interval in {seconds:.2} s, peak RSS {:.0} MB (largest so far)",
            usage.ru_maxrss as f64 / 1024.0
        );
    }
    std::fs::remove_dir_all(&scratch).ok();
}
