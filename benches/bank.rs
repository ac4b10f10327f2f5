//! snapsim against SimPy on the same system, in alternating runs of one session.
//!
//! `cargo bench --bench bank -- [--messages M] [--rounds R] [--no-simpy]` (defaults: 100 000
//! messages, 5 rounds) simulates the Chandy-Lamport bank of `benches/bank-complete-64.json` — 64
//! accounts on a complete graph of FIFO channels, a snapshot about every 1000 transfers, M
//! transfers — three ways, each in a fresh child process:
//! - (a) SimPy: `benches/simpy/bank.py --messages M`, the same model written in SimPy 4.1.2 (the
//!   venv `$SIMPY_VENV`, by default `<target dir>/simpy-venv`, is created with
//!   `benches/simpy/requirements.txt` if it is missing);
//! - (b) snapsim's simulation alone: this binary again (`--child-simulate FILE`), loading the
//!   scenario and timing `chandy_lamport::run_read_by` only, as `snapsim run` simulates: every
//!   entry of the record is written and folded into the run's digest, but streams by instead of
//!   being kept (SimPy's model keeps no record either; `--keep-record` keeps it, as
//!   `chandy_lamport::run` and `benches/engine.rs` do);
//! - (c) snapsim end to end: the `snapsim run FILE --out DIR` binary — parse, simulate, the
//!   invariant oracle, the summary and `report.json`. On a machine with two cores or more the
//!   oracle follows the record on a second thread (`chandy_lamport::run_read_beside`), so (c)
//!   uses two cores where SimPy and (b) use one.
//!
//! Each child's wall time is measured around spawn and reap, and its peak RSS comes from
//! `wait4(2)`'s `ru_maxrss` for that child alone. It prints, per variant, the medians over the
//! rounds (wall time, events/s, messages/s, peak RSS), the ratios SimPy / simulation alone and
//! SimPy / end to end, every round's times, and the command that reproduces the run.
//!
//! Why alternate: the speed of the machines this runs on drifts by up to 2× from one minute to
//! the next, so timings taken minutes apart cannot be compared. The three variants run in turn
//! within each round (the order reversed every other round), each ratio is taken within one
//! round, and the reported ratio is the median of those same-session ratios.
//!
//! Events are counted alike on both sides: application sends, deliveries of application messages
//! and of markers, and snapshot initiations (snapsim's engine events; about 6.04 per message).
//! SimPy stops after M deliveries, snapsim after M sends (and then delivers what is in flight),
//! so the counts differ by a fraction of a percent; events/s compares them fairly.
//!
//! Without `--bench` (as `cargo test --benches` runs it) it does one quick round of 2000 messages
//! without SimPy, just to show that everything works.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use snapsim::chandy_lamport;
use snapsim::scenario::{Model, load_file};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const SCENARIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/bank-complete-64.json");
const SIMPY_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/simpy/bank.py");
const SIMPY_REQUIREMENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/simpy/requirements.txt"
);
const SNAPSIM: &str = env!("CARGO_BIN_EXE_snapsim");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().is_some_and(|a| a == "--child-simulate") {
        child_simulate(&args[1..])
    } else {
        Options::parse(&args).and_then(|options| match options {
            Some(options) => bench(&options),
            None => Ok(()),
        })
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench bank: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

// ---- the child that times the simulation alone ----

/// `--child-simulate FILE`: load the scenario, run the simulation, print one JSON line with the
/// engine events, the application messages, the completed snapshots and the run's time.
fn child_simulate(args: &[String]) -> Result<()> {
    let (file, keep_record) = match args {
        [file] => (file, false),
        [file, flag] if flag == "--keep-record" => (file, true),
        _ => bail!("usage: --child-simulate FILE [--keep-record]"),
    };
    let scenario = load_file(Path::new(file))?;
    let Model::ProcessGraph(model) = &scenario.model else {
        bail!("{file} is not a process-graph (Chandy-Lamport) scenario");
    };
    let started = Instant::now();
    let run = chandy_lamport::run_read_by(
        model,
        scenario.seed,
        model.variant,
        keep_record,
        &mut chandy_lamport::NoReader,
    );
    let run_s = started.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "events": run.events_processed,
            "messages": run.application_messages,
            "snapshots_completed": run.snapshots.len(),
            "run_s": run_s,
        })
    );
    Ok(())
}

// ---- options ----

struct Options {
    messages: u64,
    rounds: usize,
    simpy: bool,
    /// Started by `cargo bench` (which passes `--bench`), not as a test.
    bench_mode: bool,
}

impl Options {
    /// The options, or `None` when a `cargo bench FILTER` names another benchmark.
    fn parse(args: &[String]) -> Result<Option<Options>> {
        let bench_mode = args.iter().any(|a| a == "--bench");
        let (mut messages, mut rounds, mut simpy) = if bench_mode {
            (100_000, 5, true)
        } else {
            (2_000, 1, false)
        };
        let mut filters = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.to_string())),
                _ => (arg.as_str(), None),
            };
            let mut value = |what: &str| -> Result<String> {
                inline
                    .clone()
                    .or_else(|| args.next().cloned())
                    .with_context(|| format!("{name} needs {what}"))
            };
            match name {
                "--messages" => messages = positive(name, &value("a number of messages")?)?,
                "--rounds" => rounds = positive(name, &value("a number of rounds")?)? as usize,
                "--no-simpy" => simpy = false,
                "--bench" => {}
                "-h" | "--help" => {
                    println!(
                        "cargo bench --bench bank -- [--messages M (100000)] [--rounds R (5)] \
                         [--no-simpy]"
                    );
                    return Ok(None);
                }
                other if other.starts_with('-') => {
                    bail!("unknown option {other}; expected --messages M, --rounds R or --no-simpy")
                }
                filter => filters.push(filter.to_string()),
            }
        }
        if !filters.is_empty() && !filters.iter().any(|f| "bank".contains(f.as_str())) {
            eprintln!("bench bank: skipped (filter {})", filters.join(" "));
            return Ok(None);
        }
        Ok(Some(Options {
            messages,
            rounds,
            simpy,
            bench_mode,
        }))
    }
}

fn positive(option: &str, text: &str) -> Result<u64> {
    match text.replace('_', "").parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("{option} expects a positive integer, got {text:?}"),
    }
}

// ---- the benchmark ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    SimPy,
    Alone,
    EndToEnd,
}

impl Variant {
    fn letter(self) -> char {
        match self {
            Variant::SimPy => 'a',
            Variant::Alone => 'b',
            Variant::EndToEnd => 'c',
        }
    }
}

/// What one child process did.
struct Measured {
    /// Spawn to reap.
    wall_s: f64,
    /// `ru_maxrss` of the child, KiB.
    peak_rss_kb: i64,
    /// Its standard output, when kept.
    stdout: String,
}

/// One round's results of the variants that ran.
#[derive(Default)]
struct Round {
    order: String,
    simpy: Option<SimPyRun>,
    alone: Option<AloneRun>,
    end_to_end: Option<Measured>,
}

struct SimPyRun {
    process: Measured,
    /// The simulation's own time (bank.py's `wall_s`).
    simulation_s: f64,
    events: u64,
    messages: u64,
    snapshots: u64,
    versions: String,
}

struct AloneRun {
    process: Measured,
    /// `chandy_lamport::run` alone.
    simulation_s: f64,
    events: u64,
    messages: u64,
    snapshots: u64,
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bench(options: &Options) -> Result<()> {
    if !options.bench_mode {
        eprintln!(
            "bench bank: started without --bench (a test run): one round of {} messages{}",
            options.messages,
            if options.simpy { "" } else { ", without SimPy" }
        );
    }
    let scratch =
        Scratch(std::env::temp_dir().join(format!("snapsim-bench-bank-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0)
        .with_context(|| format!("cannot create {}", scratch.0.display()))?;
    let scenario = write_scenario(&scratch.0, options.messages)?;
    let python = if options.simpy {
        simpy_python()?
    } else {
        let why = if options.bench_mode {
            "--no-simpy"
        } else {
            "a test run"
        };
        eprintln!("bench bank: SimPy skipped ({why})");
        None
    };
    let report_dir = scratch.0.join("output");

    let mut rounds = Vec::new();
    for round in 0..options.rounds {
        let mut order = vec![Variant::SimPy, Variant::Alone, Variant::EndToEnd];
        if round % 2 == 1 {
            order.reverse();
        }
        order.retain(|v| *v != Variant::SimPy || python.is_some());
        let mut results = Round {
            order: order.iter().map(|v| v.letter()).collect(),
            ..Round::default()
        };
        for variant in order {
            match variant {
                Variant::SimPy => {
                    let python = python.as_deref().expect("SimPy runs only with a venv");
                    results.simpy = Some(run_simpy(python, options.messages, &scratch.0)?);
                }
                Variant::Alone => results.alone = Some(run_alone(&scenario, &scratch.0)?),
                Variant::EndToEnd => {
                    results.end_to_end = Some(run_end_to_end(&scenario, &report_dir, &scratch.0)?);
                }
            }
        }
        eprintln!(
            "bench bank: round {}/{} ({}): {}",
            round + 1,
            options.rounds,
            results.order,
            round_times(&results)
        );
        rounds.push(results);
    }
    print_results(options, python.as_deref(), &rounds);
    Ok(())
}

/// The scenario of `benches/bank-complete-64.json` with `max_transfers` = `messages`.
fn write_scenario(dir: &Path, messages: u64) -> Result<PathBuf> {
    let text = std::fs::read_to_string(SCENARIO)
        .with_context(|| format!("cannot read the scenario {SCENARIO}"))?;
    let mut document: Value =
        serde_json::from_str(&text).with_context(|| format!("{SCENARIO} is not valid JSON"))?;
    let Some(max) = document.pointer_mut("/workload/bank/max_transfers") else {
        bail!("{SCENARIO} has no workload.bank.max_transfers");
    };
    *max = json!(messages);
    let path = dir.join("bank-complete-64.json");
    std::fs::write(&path, serde_json::to_string_pretty(&document)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn run_simpy(python: &Path, messages: u64, scratch: &Path) -> Result<SimPyRun> {
    let mut command = Command::new(python);
    command
        .arg(SIMPY_MODEL)
        .arg("--messages")
        .arg(messages.to_string());
    let process = measure("simpy", &mut command, scratch, true)?;
    let line = process.stdout.lines().rev().find(|l| !l.trim().is_empty());
    let output: Value = line
        .and_then(|l| serde_json::from_str(l).ok())
        .with_context(|| format!("bank.py printed no JSON line: {:?}", process.stdout))?;
    let failures = number(&output, "conservation_failures")?;
    if failures != 0 {
        bail!("SimPy: {failures} snapshot(s) failed the conservation check");
    }
    let text = |key: &str| output[key].as_str().unwrap_or("?").to_string();
    Ok(SimPyRun {
        simulation_s: output["wall_s"]
            .as_f64()
            .context("bank.py printed no wall_s")?,
        events: number(&output, "events")?,
        messages: number(&output, "messages")?,
        snapshots: number(&output, "snapshots_completed")?,
        versions: format!("SimPy {} on Python {}", text("simpy"), text("python")),
        process,
    })
}

fn run_alone(scenario: &Path, scratch: &Path) -> Result<AloneRun> {
    let exe = std::env::current_exe().context("cannot find this benchmark's own executable")?;
    let mut command = Command::new(exe);
    command.arg("--child-simulate").arg(scenario);
    let process = measure("simulation", &mut command, scratch, true)?;
    let output: Value = serde_json::from_str(process.stdout.trim())
        .with_context(|| format!("the simulation child printed {:?}", process.stdout))?;
    Ok(AloneRun {
        simulation_s: output["run_s"]
            .as_f64()
            .context("the simulation child printed no run_s")?,
        events: number(&output, "events")?,
        messages: number(&output, "messages")?,
        snapshots: number(&output, "snapshots_completed")?,
        process,
    })
}

fn run_end_to_end(scenario: &Path, out: &Path, scratch: &Path) -> Result<Measured> {
    let mut command = Command::new(SNAPSIM);
    command.arg("run").arg(scenario).arg("--out").arg(out);
    measure("snapsim-run", &mut command, scratch, false)
}

fn number(output: &Value, key: &str) -> Result<u64> {
    output[key]
        .as_u64()
        .with_context(|| format!("no `{key}` in {output}"))
}

/// Runs `command` as a child with its output in files (stdout kept or sent to /dev/null), reaps
/// it with `wait4` for its own peak RSS, and fails with its standard error if it failed.
fn measure(
    label: &str,
    command: &mut Command,
    scratch: &Path,
    keep_stdout: bool,
) -> Result<Measured> {
    let stdout_path = scratch.join(format!("{label}.stdout"));
    let stderr_path = scratch.join(format!("{label}.stderr"));
    let stdout = if keep_stdout {
        Stdio::from(File::create(&stdout_path).context("cannot create a scratch file")?)
    } else {
        Stdio::null()
    };
    let stderr = File::create(&stderr_path).context("cannot create a scratch file")?;
    command.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    let shown = format!("{command:?}");
    let started = Instant::now();
    let child = command
        .spawn()
        .with_context(|| format!("cannot start {shown}"))?;
    let (status, usage) = reap(child.id() as libc::pid_t)?;
    let wall_s = started.elapsed().as_secs_f64();
    // Already reaped: dropping the handle neither waits nor kills.
    drop(child);
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let how = if libc::WIFEXITED(status) {
            format!("exit status {}", libc::WEXITSTATUS(status))
        } else if libc::WIFSIGNALED(status) {
            format!("killed by signal {}", libc::WTERMSIG(status))
        } else {
            format!("wait status {status}")
        };
        let errors = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let tail: Vec<&str> = errors.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{shown} failed ({how}){}",
            if tail.is_empty() {
                String::new()
            } else {
                format!(":\n{}", tail.join("\n"))
            }
        );
    }
    let stdout = if keep_stdout {
        std::fs::read_to_string(&stdout_path)
            .with_context(|| format!("cannot read the output of {shown}"))?
    } else {
        String::new()
    };
    Ok(Measured {
        wall_s,
        peak_rss_kb: usage.ru_maxrss,
        stdout,
    })
}

/// Waits for the child `pid` and returns its wait status and its own resource usage.
fn reap(pid: libc::pid_t) -> Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the right types.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            return Ok((status, usage));
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            bail!("wait4 on child {pid}: {error}");
        }
    }
}

// ---- the SimPy venv ----

/// The venv's Python with the pinned SimPy, set up if missing; `None` (and a note) when Python
/// or pip cannot provide it.
fn simpy_python() -> Result<Option<PathBuf>> {
    for file in [SIMPY_MODEL, SIMPY_REQUIREMENTS] {
        if !Path::new(file).is_file() {
            bail!("{file} is missing");
        }
    }
    let requirements = std::fs::read_to_string(SIMPY_REQUIREMENTS)
        .with_context(|| format!("cannot read {SIMPY_REQUIREMENTS}"))?;
    let Some(version) = requirements
        .lines()
        .find_map(|l| l.trim().strip_prefix("simpy=="))
    else {
        bail!("{SIMPY_REQUIREMENTS} pins no simpy==VERSION");
    };
    let version = version.trim().to_string();
    let venv = simpy_venv();
    let python = venv.join("bin").join("python");
    if has_simpy(&python, &version) {
        return Ok(Some(python));
    }
    eprintln!(
        "bench bank: creating the venv {} with simpy=={version}",
        venv.display()
    );
    let steps: [(&str, Command); 2] = [
        ("python3 -m venv", {
            let mut c = Command::new("python3");
            c.arg("-m").arg("venv").arg(&venv);
            c
        }),
        ("pip install", {
            let mut c = Command::new(&python);
            c.args(["-m", "pip", "install", "-q", "-r", SIMPY_REQUIREMENTS]);
            c
        }),
    ];
    for (what, mut command) in steps {
        let outcome = command.stdin(Stdio::null()).stdout(Stdio::null()).status();
        let problem = match outcome {
            Ok(status) if status.success() => continue,
            Ok(status) => format!("{what} failed ({status})"),
            Err(error) => format!("cannot run {what} ({error})"),
        };
        eprintln!("bench bank: SimPy unavailable: {problem}; continuing with snapsim only");
        return Ok(None);
    }
    if has_simpy(&python, &version) {
        Ok(Some(python))
    } else {
        eprintln!(
            "bench bank: SimPy unavailable: {} still cannot import simpy {version}; continuing \
             with snapsim only",
            python.display()
        );
        Ok(None)
    }
}

/// `$SIMPY_VENV`, or `simpy-venv` in the target directory (the one holding the snapsim binary).
fn simpy_venv() -> PathBuf {
    if let Some(venv) = std::env::var_os("SIMPY_VENV").filter(|v| !v.is_empty()) {
        return PathBuf::from(venv);
    }
    let target = Path::new(SNAPSIM)
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("target"));
    target.join("simpy-venv")
}

fn has_simpy(python: &Path, version: &str) -> bool {
    python.is_file()
        && Command::new(python)
            .arg("-c")
            .arg(format!(
                "import simpy, sys; sys.exit(simpy.__version__ != {version:?})"
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

// ---- the report ----

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn rate(per_s: f64) -> String {
    if per_s >= 1e6 {
        format!("{:.2} M/s", per_s / 1e6)
    } else {
        format!("{:.0} k/s", per_s / 1e3)
    }
}

fn seconds(s: f64) -> String {
    format!("{s:.3} s")
}

fn mib(kb: i64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

fn round_times(round: &Round) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &round.simpy {
        parts.push(format!(
            "SimPy {} (simulation {})",
            seconds(s.process.wall_s),
            seconds(s.simulation_s)
        ));
    }
    if let Some(a) = &round.alone {
        parts.push(format!(
            "simulation alone {} (run {})",
            seconds(a.process.wall_s),
            seconds(a.simulation_s)
        ));
    }
    if let Some(e) = &round.end_to_end {
        parts.push(format!("end to end {}", seconds(e.wall_s)));
    }
    parts.join(", ")
}

/// Median and range of a per-round ratio, e.g. `"31.2× (29.0–33.5×)"`.
fn ratio_summary(ratios: Vec<f64>) -> String {
    let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.1}× (range {low:.1}–{high:.1}×)", median(ratios))
}

fn print_results(options: &Options, python: Option<&Path>, rounds: &[Round]) {
    let simpy: Vec<&SimPyRun> = rounds.iter().filter_map(|r| r.simpy.as_ref()).collect();
    let alone: Vec<&AloneRun> = rounds.iter().filter_map(|r| r.alone.as_ref()).collect();
    let end: Vec<&Measured> = rounds
        .iter()
        .filter_map(|r| r.end_to_end.as_ref())
        .collect();
    let (Some(first_alone), Some(_)) = (alone.first(), end.first()) else {
        return;
    };
    if alone.iter().any(|a| a.events != first_alone.events) {
        eprintln!("bench bank: warning: snapsim's event count differed between rounds");
    }

    println!();
    println!(
        "Chandy-Lamport bank, 64 processes on a complete graph (benches/bank-complete-64.json), \
         {} messages, {} round(s)",
        options.messages,
        rounds.len()
    );
    println!(
        "each variant a fresh child process; within a round in the order shown (reversed every \
         other round); medians over the rounds"
    );
    match (simpy.first(), python) {
        (Some(s), Some(python)) => println!("(a) {} ({})", s.versions, python.display()),
        _ => println!("(a) SimPy: not run"),
    }
    println!();
    println!(
        "{:<31} {:>9} {:>9} {:>10} {:>11} {:>11} {:>11} {:>10}",
        "variant", "events", "messages", "wall", "simulation", "events/s", "messages/s", "peak RSS"
    );
    let row =
        |name: &str, events: u64, messages: u64, wall: f64, simulation: Option<f64>, rss: f64| {
            let per = simulation.unwrap_or(wall);
            println!(
                "{:<31} {:>9} {:>9} {:>10} {:>11} {:>11} {:>11} {:>10}",
                name,
                events,
                messages,
                seconds(wall),
                simulation.map_or("—".to_string(), seconds),
                rate(events as f64 / per),
                rate(messages as f64 / per),
                mib(rss as i64)
            );
        };
    let simpy_wall = median(simpy.iter().map(|s| s.process.wall_s).collect());
    let simpy_sim = median(simpy.iter().map(|s| s.simulation_s).collect());
    if let Some(s) = simpy.first() {
        row(
            "(a) SimPy bank.py",
            s.events,
            s.messages,
            simpy_wall,
            Some(simpy_sim),
            median(simpy.iter().map(|s| s.process.peak_rss_kb as f64).collect()),
        );
    }
    let alone_sim = median(alone.iter().map(|a| a.simulation_s).collect());
    row(
        "(b) snapsim simulation alone",
        first_alone.events,
        first_alone.messages,
        median(alone.iter().map(|a| a.process.wall_s).collect()),
        Some(alone_sim),
        median(alone.iter().map(|a| a.process.peak_rss_kb as f64).collect()),
    );
    let end_wall = median(end.iter().map(|e| e.wall_s).collect());
    row(
        "(c) snapsim end to end (run)",
        first_alone.events,
        first_alone.messages,
        end_wall,
        None,
        median(end.iter().map(|e| e.peak_rss_kb as f64).collect()),
    );
    println!(
        "wall: the child process, spawn to reap; simulation: timed inside the child (bank.py's \
         wall_s, chandy_lamport::run_read_by, record streamed, not kept); events/s and messages/s over the simulation time, for (c) \
         over the wall time; peak RSS: the child's ru_maxrss"
    );
    if let Some(s) = simpy.first() {
        println!(
            "snapshots completed: SimPy {}, snapsim {}",
            s.snapshots, first_alone.snapshots
        );
    }

    println!();
    if simpy.is_empty() {
        println!("ratios: none (SimPy did not run)");
    } else {
        let paired = |f: &dyn Fn(&SimPyRun, &Round) -> Option<f64>| -> Vec<f64> {
            rounds
                .iter()
                .filter_map(|r| f(r.simpy.as_ref()?, r))
                .collect()
        };
        let sim_time = paired(&|s, r| Some(s.simulation_s / r.alone.as_ref()?.simulation_s));
        let sim_rate = paired(&|s, r| {
            let a = r.alone.as_ref()?;
            Some((a.events as f64 / a.simulation_s) / (s.events as f64 / s.simulation_s))
        });
        let end_time = paired(&|s, r| Some(s.process.wall_s / r.end_to_end.as_ref()?.wall_s));
        let end_rate = paired(&|s, r| {
            let e = r.end_to_end.as_ref()?;
            Some((first_alone.events as f64 / e.wall_s) / (s.events as f64 / s.process.wall_s))
        });
        println!("ratios, each taken within one round, then the median over the rounds:");
        println!(
            "  SimPy / snapsim simulation alone   simulation time {}, events/s {}",
            ratio_summary(sim_time),
            ratio_summary(sim_rate)
        );
        println!(
            "  SimPy / snapsim end to end         process wall time {}, events/s {}",
            ratio_summary(end_time),
            ratio_summary(end_rate)
        );
    }

    println!();
    println!("per round (wall of the child process; simulation time in brackets):");
    println!(
        "{:>5}  {:<5} {:>24} {:>24} {:>11} {:>12} {:>10}",
        "round", "order", "(a) SimPy", "(b) simulation alone", "(c) e2e", "a/b (sim)", "a/c"
    );
    for (index, round) in rounds.iter().enumerate() {
        let timed = |wall: f64, sim: f64| format!("{} ({})", seconds(wall), seconds(sim));
        let simpy = round.simpy.as_ref();
        let alone = round.alone.as_ref();
        let end = round.end_to_end.as_ref();
        let ratio = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{x:.1}×"));
        println!(
            "{:>5}  {:<5} {:>24} {:>24} {:>11} {:>12} {:>10}",
            index + 1,
            round.order,
            simpy.map_or("—".to_string(), |s| timed(
                s.process.wall_s,
                s.simulation_s
            )),
            alone.map_or("—".to_string(), |a| timed(
                a.process.wall_s,
                a.simulation_s
            )),
            end.map_or("—".to_string(), |e| seconds(e.wall_s)),
            ratio(
                simpy
                    .zip(alone)
                    .map(|(s, a)| s.simulation_s / a.simulation_s)
            ),
            ratio(simpy.zip(end).map(|(s, e)| s.process.wall_s / e.wall_s)),
        );
    }

    println!();
    println!("reproduce with:");
    let mut command = format!("cd {MANIFEST_DIR} && ");
    for variable in ["CARGO_TARGET_DIR", "SIMPY_VENV"] {
        if let Some(value) = std::env::var_os(variable).filter(|v| !v.is_empty()) {
            command.push_str(&format!("{variable}={} ", value.to_string_lossy()));
        }
    }
    command.push_str(&format!(
        "cargo bench --bench bank -- --messages {} --rounds {}",
        options.messages, options.rounds
    ));
    if !options.simpy {
        command.push_str(" --no-simpy");
    }
    println!("  {command}");
}
