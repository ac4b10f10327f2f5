//! The `snapsim` command line. Everything it does is a call into the library.

use clap::{Parser, Subcommand};
use snapsim::report::{run_scenario, text};
use snapsim::scenario;
use std::path::PathBuf;
use std::process::ExitCode;

/// Prints a line on stdout, ignoring a closed pipe: `snapsim run FILE | head` reads what it wants
/// and the run still writes its files, where `println!` would panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` without a panic on a closed pipe (see `say!`).
macro_rules! say_part {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// Distributed snapshots, simulated faithfully.
#[derive(Parser)]
#[command(
    name = "snapsim",
    version,
    about,
    long_about = None,
    after_help = "Exit status:\n  \
        0    every invariant did what the scenario says, and its lesson showed\n  \
        1    an invariant failed unexpectedly, an expected failure did not happen, or the lesson did not show\n  \
        2    bad input (a scenario, savepoint or option) or an output that cannot be written\n  \
        3    the event budget (the scenario's max_events) cut a run short, or explore stopped at a bound\n  \
        130  interrupted by Ctrl-C (check and sweep print what finished first)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario, check every snapshot, print a summary and write output/<scenario>/. Given
    /// a dataflow schedule written by `explore --dataflow`, replay it step by step.
    Run {
        /// The scenario file (JSON), or a dataflow schedule.
        file: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Directory for results.
        #[arg(long, default_value = "output")]
        out: PathBuf,
        /// Print the machine-readable JSON report instead of the summary.
        #[arg(long)]
        json: bool,
        /// Also write output/<scenario>/events.jsonl, the full event log (one JSON line per
        /// event: large on long runs).
        #[arg(long)]
        events: bool,
        /// Start a dataflow job from a savepoint file (written by an earlier run).
        #[arg(long, value_name = "PATH")]
        from_savepoint: Option<PathBuf>,
        /// With --from-savepoint: drop state of operators the job no longer has.
        #[arg(long)]
        allow_non_restored_state: bool,
        /// Also write output/<scenario>/trace.json (Chrome trace events: open it in
        /// ui.perfetto.dev), for a dataflow or a process graph; `--trace=2s..5s` keeps only that
        /// window.
        #[arg(long, value_name = "FROM..TO", num_args = 0..=1, default_missing_value = "all")]
        trace: Option<String>,
        /// Also write FILE: the job's checkpoint and task metrics under Flink's names
        /// (numberOfCompletedCheckpoints, lastCheckpointDuration, backPressuredTimeMsPerSecond, …)
        /// sampled every second of the run, in the Prometheus text exposition format.
        #[arg(long, value_name = "FILE")]
        metrics: Option<PathBuf>,
    },
    /// Run a scenario with many seeds in parallel; print every failing seed and how to replay it.
    Check {
        /// The scenario file (JSON).
        file: PathBuf,
        /// Seeds to run: `A..B` (B excluded) or a single seed.
        #[arg(long, default_value = "0..100")]
        seeds: String,
        /// Parallel runs (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only the K-th of N contiguous blocks of the seeds, for another machine to run the
        /// rest; `snapsim merge` puts the shards' check.json files back together.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Directory for results (check.json under <out>/<scenario>/).
        #[arg(long, default_value = "output")]
        out: PathBuf,
        /// Check the scenario and the seeds, say how many runs it would be, and run nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run a scenario over a range of values of one or more numeric fields, many seeds per value;
    /// write CSV and JSON under output/<scenario>/sweep-<param>/.
    Sweep {
        /// The scenario file (JSON).
        file: PathBuf,
        /// PATH=FROM..TO, a field of the scenario file and its range, e.g.
        /// `checkpointing.interval=100ms..10s`; repeat for a grid of every combination.
        #[arg(long = "set", required = true, value_name = "PATH=FROM..TO")]
        set: Vec<String>,
        /// Values per parameter.
        #[arg(long, default_value_t = 10)]
        points: usize,
        /// Space the values evenly on a logarithmic scale.
        #[arg(long)]
        log: bool,
        /// Seeds per point: `S` runs seeds 0..S, `A..B` runs A to B-1 (the same at every point).
        #[arg(long, default_value = "10")]
        seeds: String,
        /// Parallel runs (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Directory for results.
        #[arg(long, default_value = "output")]
        out: PathBuf,
        /// Run only the K-th of N contiguous blocks of the seeds (every point, those seeds), for
        /// another machine to run the rest; `snapsim merge` puts the shards back together.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Also draw the charts, beside the CSVs (PNG and SVG). For a sweep of
        /// checkpointing.interval on a bounded job: overhead against the interval with its 95 %
        /// band, Daly's curve and Young's, Daly's and the simulated optimum — the book's chart, by
        /// the same code, for your job. For any other field: checkpoint duration, start delay,
        /// alignment and persisted in-flight data against it (the book's backpressure charts),
        /// one line per --series value.
        #[arg(long)]
        plot: bool,
        /// Check the scenario, every `--set` path and range and the plan, say how many runs it
        /// would be, and run nothing.
        #[arg(long)]
        dry_run: bool,
        /// PATH=V1,V2,…: run the whole sweep once per value of another field — any kind, a
        /// boolean or a mode too (`checkpointing.unaligned=false,true`,
        /// `checkpointing.mode=EXACTLY_ONCE,AT_LEAST_ONCE`) — each under
        /// output/<scenario>.<PATH>-<V>/; with --plot, one line per value.
        #[arg(long, value_name = "PATH=V1,V2,…")]
        series: Option<String>,
    },
    /// Merge the outputs of the shards of one `check` or `sweep` (run with --shard K/N) into the
    /// files one machine would have written.
    Merge {
        /// The shards' result directories (each holding check.json or sweep.json, or a --out
        /// directory above one).
        #[arg(required = true)]
        directories: Vec<PathBuf>,
        /// Directory for the merged results (written where the whole run would have put them).
        #[arg(long, default_value = "output")]
        out: PathBuf,
    },
    /// Draw the space-time diagram of a run (SVG and PNG) under output/<scenario>/: processes or
    /// subtasks as lines, messages, markers and barriers as arrows, snapshot cuts, failures.
    /// Given a dataflow schedule written by `explore --dataflow`, all of it, step k at k ms.
    Diagram {
        /// The scenario file (JSON), or a dataflow schedule.
        file: PathBuf,
        /// Start of the window (a duration such as `250ms`); default: just before the first
        /// completed snapshot.
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// End of the window; default: just after the first completed snapshot.
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Directory for results.
        #[arg(long, default_value = "output")]
        out: PathBuf,
    },
    /// Regenerate every figure of the book (PNG and SVG) into book/src/figures/, and its
    /// interactive replays (self-contained HTML) into book/src/replays/.
    Figures {
        /// The directory of the scenarios the figures are made from.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
        /// Where to write the figures.
        #[arg(long, default_value = "book/src/figures")]
        out: PathBuf,
        /// Parallel runs (default: the number of cores); the figures do not depend on it.
        #[arg(long)]
        jobs: Option<usize>,
        /// Where to write the book's interactive replays (`snapsim replay --html` pages).
        #[arg(long, default_value = "book/src/replays")]
        replays: PathBuf,
    },
    /// Check scenario files without running them.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the facts a scenario's `expect` list can name, with their selectors.
    Facts,
    /// Explore every interleaving of a small process graph's snapshot, breadth first: every
    /// reachable state is checked, and a violation comes with the shortest schedule that causes
    /// it, written as a scenario `snapsim run` replays.
    Explore(ExploreArguments),
    /// Start the web view on 127.0.0.1: watch a run, scrub through it (job graph, Checkpoints tab,
    /// space-time view, invariants), and fork it with a what-if (crash a subtask at the scrubbed
    /// instant, change a checkpoint option). Ctrl-C stops it.
    Ui {
        /// A scenario to open first (default: the first of the scenarios directory).
        file: Option<PathBuf>,
        /// The port (0: any free port; the address is printed).
        #[arg(long, default_value_t = snapsim::ui::server::DEFAULT_PORT)]
        port: u16,
        /// The directory of scenarios to list.
        #[arg(long, default_value = "scenarios")]
        scenarios: PathBuf,
    },
    /// Write one self-contained HTML page of a run (the web view's scrubber and panels, no server
    /// and no what-ifs), to open offline or put beside a book chapter.
    Replay {
        /// The scenario file (JSON).
        file: PathBuf,
        /// The page to write.
        #[arg(long, value_name = "OUT.html")]
        html: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Turn another tool's test files into a scenario (and compare with its expected results).
    Import {
        #[command(subcommand)]
        format: ImportFormat,
    },
    /// Print a shell completion script, e.g. `snapsim completions bash > ~/.local/share/bash-completion/completions/snapsim`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

/// The formats `snapsim import` reads.
#[derive(Subcommand)]
enum ImportFormat {
    /// The COS418 Chandy-Lamport assignment: a topology (.top) and its events (.events) become a
    /// scenario; with --snap, the run's recorded states are compared with the expected ones.
    /// A tick is --tick of virtual time; every message takes --latency ticks (COS418 draws 1 to 5
    /// at random); the lines after a tick run after that tick's deliveries, as in COS418.
    Cos418(Cos418Import),
}

/// Exit status when an invariant failed unexpectedly.
const EXIT_INVARIANT_FAILED: u8 = 1;
/// Exit status for bad input or an I/O problem.
const EXIT_BAD_INPUT: u8 = 2;
/// Exit status when the event budget cut a run short (and nothing failed unexpectedly before).
const EXIT_CUT_SHORT: u8 = 3;

/// The first scripted send the run refused (the sender held too little), if any: the scenario is
/// wrong, and nothing is written.
fn refused_send(completed: &snapsim::report::CompletedRun) -> Option<String> {
    completed
        .report
        .process_graph
        .as_ref()
        .and_then(|pg| pg.refused_sends.first().cloned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            file,
            seed,
            out,
            json,
            events,
            from_savepoint,
            allow_non_restored_state,
            trace,
            metrics,
        } => {
            let trace_window = match trace.as_deref().map(parse_window) {
                Some(Err(error)) => {
                    eprintln!("error: --trace: {error}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
                Some(Ok(window)) => Some(window),
                None => None,
            };
            if is_schedule_file(&file) {
                let unused = [
                    (seed.is_some(), "--seed"),
                    (events, "--events"),
                    (from_savepoint.is_some(), "--from-savepoint"),
                    (allow_non_restored_state, "--allow-non-restored-state"),
                    (trace.is_some(), "--trace"),
                    (metrics.is_some(), "--metrics"),
                ];
                if let Some((_, flag)) = unused.iter().find(|(given, _)| *given) {
                    eprintln!(
                        "error: {flag}: {} is a dataflow schedule, replayed step by step without time or randomness; it has no seed, event log, trace, metrics or savepoint (snapsim diagram draws it)",
                        file.display()
                    );
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
                return run_schedule(&file, &out, json);
            }
            let mut scenario = match snapsim::deployment::load(&file) {
                Ok(scenario) => scenario,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            if let Some(path) = from_savepoint {
                let restored = snapsim::checkpoint::savepoint::load(&path).and_then(|savepoint| {
                    scenario::start_from_savepoint(
                        &mut scenario,
                        &savepoint,
                        &path.display().to_string(),
                        allow_non_restored_state,
                    )
                });
                if let Err(error) = restored {
                    eprintln!("error: {error}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            }
            // Fail before the work: what cannot be written or drawn is said now, not after the run.
            if metrics.is_some() && !matches!(scenario.model, scenario::Model::Dataflow(_)) {
                eprintln!(
                    "error: --metrics exports a dataflow (Flink) job's metrics; a process graph has none"
                );
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            if let Some(path) = &metrics {
                let parent = path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."));
                if let Err(error) = snapsim::output::check_writable(parent) {
                    eprintln!("error: --metrics: cannot write {}: {error}", path.display());
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            }
            let directory = out.join(&scenario.name);
            if let Err(error) = snapsim::output::check_writable(&directory) {
                eprintln!(
                    "error: cannot write results under {}: {error}",
                    directory.display()
                );
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            let seed = seed.unwrap_or(scenario.seed);
            // The event log and the trace read the whole record afterwards; otherwise it streams
            // through the oracle and is not kept.
            let completed = if events || trace_window.is_some() {
                run_scenario(&scenario, seed)
            } else {
                snapsim::report::run_scenario_without_record(&scenario, seed)
            };
            if let Some(error) = refused_send(&completed) {
                eprintln!("error: {}: {error}", file.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            if json {
                match snapsim::report::report_json_string(&completed.report) {
                    Ok(text) => say!("{text}"),
                    Err(error) => {
                        eprintln!("error: cannot serialise the report: {error}");
                        return ExitCode::from(EXIT_BAD_INPUT);
                    }
                }
            } else {
                say_part!("{}", text::render(&completed.report));
            }
            let trace = match trace_window.map(|window| build_trace(&completed, seed, window)) {
                None => None,
                Some(Ok(trace)) => Some(trace),
                Some(Err(error)) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            let extra: Vec<(&str, Vec<u8>)> = trace
                .iter()
                .map(|(bytes, _)| ("trace.json", bytes.clone()))
                .collect();
            match completed.write_outputs(&out, events, &extra) {
                Ok(directory) => {
                    if !json {
                        say!(
                            "wrote {}/report.json{}",
                            directory.display(),
                            if events { " and events.jsonl" } else { "" }
                        );
                        if let Some((_, message)) = &trace {
                            say!("wrote {}/trace.json {message}", directory.display());
                        }
                    }
                }
                Err(error) => {
                    eprintln!(
                        "error: cannot write results under {}: {error} (nothing was changed there)",
                        directory.display()
                    );
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            }
            if let Some(path) = &metrics {
                let written = traced_run(&completed, seed).and_then(|run| {
                    let text = snapsim::report::prometheus::exposition(
                        &run,
                        &completed.report.scenario,
                        &completed.report.digest,
                        1_000_000,
                    );
                    snapsim::output::write_bytes_atomically(path, text.as_bytes())
                        .map_err(|error| format!("cannot write {}: {error}", path.display()))
                });
                match written {
                    Ok(()) if !json => say!("wrote {} (Prometheus text format)", path.display()),
                    Ok(()) => {}
                    Err(error) => {
                        eprintln!("error: --metrics: {error}");
                        return ExitCode::from(EXIT_BAD_INPUT);
                    }
                }
            }
            match completed.report.outcome.status {
                _ if completed.report.outcome.is_success() => ExitCode::SUCCESS,
                snapsim::report::OutcomeStatus::CutShort => ExitCode::from(EXIT_CUT_SHORT),
                _ => ExitCode::from(EXIT_INVARIANT_FAILED),
            }
        }
        Command::Check {
            file,
            seeds,
            jobs,
            shard,
            out,
            dry_run,
        } => {
            let scenario = match snapsim::deployment::load(&file) {
                Ok(scenario) => scenario,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            let fingerprint = match document_fingerprint(&file) {
                Ok(fingerprint) => fingerprint,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            let whole = match snapsim::check::parse_seed_range(&seeds) {
                Ok(range) => range,
                Err(error) => {
                    eprintln!("error: --seeds: {error}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            let (range, shard) = match shard.as_deref().map(snapsim::shard::Shard::parse) {
                None => (whole, None),
                Some(Err(error)) => {
                    eprintln!("error: --shard: {error}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
                Some(Ok(shard)) => match shard.seeds(&whole) {
                    Ok(range) => {
                        say!(
                            "shard {shard}: seeds {}..{} of {}..{}",
                            range.start,
                            range.end,
                            whole.start,
                            whole.end
                        );
                        let record = snapsim::shard::ShardOf {
                            index: shard.index,
                            of: shard.of,
                            whole_seed_first: whole.start,
                            whole_seed_count: whole.end - whole.start,
                        };
                        (range, Some(record))
                    }
                    Err(error) => {
                        eprintln!("error: --shard {shard}: {error}");
                        return ExitCode::from(EXIT_BAD_INPUT);
                    }
                },
            };
            if let Err(error) = snapsim::check::check_seed_count(&range) {
                eprintln!("error: --seeds: {error}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            if dry_run {
                println!(
                    "check {}: seeds {}..{} = {} runs (dry run: nothing was run)",
                    scenario.name,
                    range.start,
                    range.end,
                    range.end - range.start
                );
                return ExitCode::SUCCESS;
            }
            let report_path = out.join(&scenario.name).join("check.json");
            // An earlier check's verdicts must not stand beside an interrupted one.
            if let Err(error) =
                snapsim::output::check_writable(&out.join(&scenario.name)).and_then(|()| {
                    match std::fs::remove_file(&report_path) {
                        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
                        _ => Ok(()),
                    }
                })
            {
                eprintln!("error: cannot write {}: {error}", report_path.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            if let Err(error) = snapsim::interrupt::install() {
                eprintln!("error: {error}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let bar = indicatif::ProgressBar::new(range.end - range.start);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} seeds · {elapsed} elapsed · ETA {eta}",
                )
                .expect("a valid template"),
            );
            let results = snapsim::check::check_seeds(
                &scenario,
                range.clone(),
                jobs,
                || bar.inc(1),
                snapsim::interrupt::requested,
            );
            bar.finish_and_clear();
            if snapsim::interrupt::requested() {
                say_part!(
                    "{}",
                    snapsim::check::interrupted_text(&results, range.end - range.start)
                );
                return ExitCode::from(snapsim::interrupt::EXIT_INTERRUPTED);
            }
            let report = snapsim::check::CheckReport::new(
                &scenario,
                &file.display().to_string(),
                &fingerprint,
                range,
                shard,
                results,
            );
            say_part!("{}", report.text());
            if let Err(error) = write_json(&report_path, &report) {
                eprintln!("error: cannot write {}: {error}", report_path.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            say!("wrote {}", report_path.display());
            let cut_short = report
                .results
                .iter()
                .filter(|r| r.status == snapsim::report::OutcomeStatus::CutShort)
                .count();
            if report.all_as_the_scenario_says() {
                ExitCode::SUCCESS
            } else if cut_short == report.results.len() - report.seeds_as_the_scenario_says as usize
            {
                ExitCode::from(EXIT_CUT_SHORT)
            } else {
                ExitCode::from(EXIT_INVARIANT_FAILED)
            }
        }
        Command::Merge { directories, out } => merge_command(&directories, &out),
        Command::Sweep {
            file,
            set,
            points,
            log,
            seeds,
            jobs,
            out,
            shard,
            plot,
            dry_run,
            series,
        } => sweep_command(
            &file,
            &set,
            SweepOptions {
                points,
                log,
                seeds: &seeds,
                jobs,
                out: &out,
                shard: shard.as_deref(),
                plot,
                dry_run,
                series: series.as_deref(),
            },
        ),
        Command::Diagram {
            file,
            from,
            to,
            seed,
            out,
        } => diagram_command(&file, from.as_deref(), to.as_deref(), seed, &out),
        Command::Figures {
            scenarios,
            out,
            jobs,
            replays,
        } => {
            for file in snapsim::ui::page::BOOK_REPLAYS {
                let page = match snapsim::ui::page::book_replay(&scenarios, file) {
                    Ok(page) => page,
                    Err(error) => {
                        eprintln!("error: {error}");
                        return ExitCode::from(EXIT_BAD_INPUT);
                    }
                };
                let path = replays.join(file.replace(".json", ".html"));
                let written = std::fs::create_dir_all(&replays)
                    .and_then(|()| snapsim::output::write_bytes_atomically(&path, page.as_bytes()));
                if let Err(error) = written {
                    eprintln!("error: cannot write {}: {error}", path.display());
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
                say!("wrote {}", path.display());
            }
            let context = snapsim::figures::FigureContext {
                scenarios_dir: scenarios,
                out_dir: out,
                jobs: jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            };
            let started = std::time::Instant::now();
            match snapsim::figures::regenerate(&context, &|stem| say!("wrote {stem}.png, .svg")) {
                Ok(files) => {
                    say!(
                        "{} figures in {} ({:.1} s)",
                        files.len(),
                        context.out_dir.display(),
                        started.elapsed().as_secs_f64()
                    );
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    ExitCode::from(EXIT_BAD_INPUT)
                }
            }
        }
        Command::Explore(arguments) => explore_command(arguments),
        Command::Ui {
            file,
            port,
            scenarios,
        } => ui_command(file.as_deref(), port, &scenarios),
        Command::Replay { file, html, seed } => replay_command(&file, &html, seed),
        Command::Import {
            format: ImportFormat::Cos418(arguments),
        } => import_cos418(arguments),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "snapsim", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Facts => {
            say_part!("{}", snapsim::expectation::vocabulary());
            ExitCode::SUCCESS
        }
        Command::Validate { files } => {
            let mut all_valid = true;
            for file in &files {
                if is_schedule_file(file) {
                    match snapsim::explore::dataflow::schedule::DataflowSchedule::load(file) {
                        Ok(schedule) => say!(
                            "ok: {} ({}: a dataflow schedule of {} steps)",
                            file.display(),
                            schedule.name,
                            schedule.steps.len()
                        ),
                        Err(error) => {
                            all_valid = false;
                            eprintln!("error: {error}");
                        }
                    }
                    continue;
                }
                match snapsim::deployment::load(file) {
                    Ok(scenario) => {
                        // A script's balances depend on when its transfers arrive: run it to
                        // see that no send overdraws (scripts are small).
                        let scripted = matches!(&scenario.model, scenario::Model::ProcessGraph(m)
                            if matches!(m.workload, snapsim::workload::ProcessWorkload::Scripted(_)));
                        if scripted
                            && let Some(error) =
                                refused_send(&run_scenario(&scenario, scenario.seed))
                        {
                            all_valid = false;
                            eprintln!("error: {}: {error}", file.display());
                            continue;
                        }
                        say!("ok: {} ({})", file.display(), scenario.name);
                        for warning in &scenario.warnings {
                            eprintln!("warning: {warning}");
                        }
                    }
                    Err(error) => {
                        all_valid = false;
                        eprintln!("error: {error}");
                    }
                }
            }
            if all_valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_BAD_INPUT)
            }
        }
    }
}

/// `snapsim sweep`: plan (validating every point first), run with a progress bar, write files.
/// How `snapsim sweep` runs, as given on the command line.
struct SweepOptions<'a> {
    points: usize,
    log: bool,
    seeds: &'a str,
    jobs: Option<usize>,
    out: &'a std::path::Path,
    shard: Option<&'a str>,
    plot: bool,
    /// Check everything, print the plan, run nothing.
    dry_run: bool,
    /// Another field and the values it takes, one sweep each.
    series: Option<&'a str>,
}

fn sweep_command(file: &std::path::Path, set: &[String], options: SweepOptions) -> ExitCode {
    use snapsim::sweep::{SweepAxis, SweepPlan, SweepWriter};
    let SweepOptions {
        points,
        log,
        seeds,
        jobs,
        out,
        shard,
        plot,
        dry_run,
        series,
    } = options;
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let label = file.display().to_string();
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) => return fail(format!("{label}: cannot read the file: {error}")),
    };
    // The scenario must be valid as it stands before any of its fields is varied.
    if let Err(error) = snapsim::deployment::load(file) {
        return fail(error.to_string());
    }
    let document: serde_json::Value = match serde_json::from_str(&text) {
        Ok(document) => document,
        Err(error) => return fail(format!("{label}: {error}")),
    };
    let seeds = if seeds.contains("..") {
        snapsim::check::parse_seed_range(seeds)
    } else {
        match seeds.trim().parse::<u64>() {
            Ok(0) | Err(_) => Err(format!(
                "\"{seeds}\" is not a number of seeds: write S (seeds 0..S) or A..B"
            )),
            Ok(count) => Ok(0..count),
        }
    };
    let seeds = match seeds {
        Ok(seeds) => seeds,
        Err(error) => return fail(format!("--seeds: {error}")),
    };
    let mut axes = Vec::new();
    for option in set {
        let Some((path, range)) = option.split_once('=') else {
            return fail(format!(
                "--set {option}: write PATH=FROM..TO, e.g. checkpointing.interval=100ms..10s"
            ));
        };
        match SweepAxis::from_range(&document, path.trim(), range, points, log) {
            Ok(axis) => {
                if axis.values.len() < points {
                    say!(
                        "note: {} takes {} distinct value(s) after rounding, not {points}",
                        axis.path,
                        axis.values.len()
                    );
                }
                axes.push(axis)
            }
            Err(error) => return fail(error.to_string()),
        }
    }
    if plot && axes.len() != 1 {
        return fail(
            "--plot draws charts against one swept field: give one --set (and --series for several lines)"
                .into(),
        );
    }
    let interval_sweep = axes.len() == 1 && axes[0].path == "checkpointing.interval";
    // The series: the scenario as it is, or one copy per value of the --series field.
    let mut variants: Vec<(Option<String>, serde_json::Value)> = Vec::new();
    let mut series_path = None;
    match series {
        None => variants.push((None, document.clone())),
        Some(spec) => {
            let Some((path, values)) = spec.split_once('=') else {
                return fail(format!(
                    "--series {spec}: write PATH=V1,V2,…, e.g. checkpointing.unaligned=false,true"
                ));
            };
            let parsed = match snapsim::sweep::path::JsonPath::parse(path.trim()) {
                Ok(parsed) => parsed,
                Err(error) => return fail(format!("--series {path}: {error}")),
            };
            if axes.iter().any(|a| a.path == parsed.as_str()) {
                return fail(format!(
                    "--series {path}: that field is already swept by --set"
                ));
            }
            for value in values.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                let json = match value {
                    "true" => serde_json::Value::Bool(true),
                    "false" => serde_json::Value::Bool(false),
                    _ => match serde_json::from_str::<serde_json::Number>(value) {
                        Ok(number) => serde_json::Value::Number(number),
                        Err(_) => serde_json::Value::String(value.to_string()),
                    },
                };
                let mut variant = document.clone();
                if let Err(error) = parsed.set(&mut variant, json) {
                    return fail(format!("--series {path}: {error}"));
                }
                variants.push((Some(format!("{}={value}", parsed.as_str())), variant));
            }
            if variants.len() < 2 {
                return fail(format!(
                    "--series {spec}: give at least two values, separated by commas"
                ));
            }
            series_path = Some(parsed.as_str().to_string());
        }
    }
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario");
    // Results go under output/<name>/ (a series value under output/<name>.<PATH>-<V>/: a scenario
    // name holds letters, digits, '-', '_' and '.' only).
    let name = document
        .get("name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or(stem)
        .to_string();
    for (series, variant) in &mut variants {
        if let (Some(series), Some(object)) = (series.as_ref(), variant.as_object_mut()) {
            let safe: String = series
                .replace('=', "-")
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            object.insert("name".into(), format!("{name}.{safe}").into());
        }
    }
    let mut plans = Vec::new();
    for (label_of_series, variant) in &variants {
        // A series variant carries its own `name` (set above); `stem` names a file without one.
        let plan = match SweepPlan::new(variant, &label, stem, axes.clone(), seeds.clone(), true) {
            Ok(plan) => plan,
            Err(error) => {
                return fail(match label_of_series {
                    Some(series) => format!("--series {series}: {error}"),
                    None => error.to_string(),
                });
            }
        };
        let plan = match shard.map(snapsim::shard::Shard::parse) {
            None => plan,
            Some(Err(error)) => return fail(format!("--shard: {error}")),
            Some(Ok(shard)) => match plan.shard(shard) {
                Ok(plan) => {
                    say!(
                        "shard {shard}: seeds {}..{} at every point",
                        plan.seeds.start,
                        plan.seeds.end
                    );
                    plan
                }
                Err(error) => return fail(error.to_string()),
            },
        };
        if let Err(error) = plan.check_size() {
            return fail(error.to_string());
        }
        plans.push(plan);
    }
    if dry_run {
        for plan in &plans {
            println!(
                "sweep {}: {} point(s) × {} seed(s) = {} runs (baselines included) (dry run: nothing was run)",
                plan.scenario_name,
                plan.point_count(),
                plan.seeds.end - plan.seeds.start,
                plan.run_count()
            );
        }
        return ExitCode::SUCCESS;
    }
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if let Err(error) = snapsim::interrupt::install() {
        return fail(error);
    }
    let mut results = Vec::new();
    for plan in &plans {
        let writer = match SweepWriter::new(out, plan) {
            Ok(writer) => writer,
            Err(error) => return fail(format!("cannot prepare {}: {error}", out.display())),
        };
        say!(
            "sweep {}: {} point(s) × {} seed(s) = {} runs (baselines included) on {jobs} thread(s)",
            plan.scenario_name,
            plan.point_count(),
            plan.seeds.end - plan.seeds.start,
            plan.run_count()
        );
        let bar = indicatif::ProgressBar::new(plan.run_count());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs · {elapsed} elapsed · ETA {eta}",
            )
            .expect("a valid template"),
        );
        struct Progress<'a> {
            bar: &'a indicatif::ProgressBar,
            writer: &'a SweepWriter,
        }
        impl snapsim::sweep::SweepObserver for Progress<'_> {
            fn run_finished(&self) {
                self.bar.inc(1);
            }
            fn point_finished(&self, point: &snapsim::sweep::PointResult) {
                self.writer.point_finished(point);
            }
            fn stop_requested(&self) -> bool {
                snapsim::interrupt::requested()
            }
        }
        let started = std::time::Instant::now();
        let result = snapsim::sweep::run(
            plan,
            jobs,
            &Progress {
                bar: &bar,
                writer: &writer,
            },
        );
        bar.finish_and_clear();
        if snapsim::interrupt::requested() {
            let finished = writer.finished_points();
            say!(
                "interrupted: {} of {} point(s) finished, each in {}/points/ and in summary.csv and runs.csv (sweep.json is written only by a finished sweep):",
                finished.len(),
                plan.point_count(),
                writer.directory().display()
            );
            for point in &finished {
                say!("  {}", point.label);
            }
            return ExitCode::from(snapsim::interrupt::EXIT_INTERRUPTED);
        }
        if let Err(error) = writer.finish(&result) {
            return fail(format!(
                "cannot write results under {}: {error}",
                writer.directory().display()
            ));
        }
        say_part!("{}", snapsim::sweep::files::overview(&result));
        say!(
            "{} runs in {:.1} s · wrote {}/summary.csv, runs.csv, sweep.json, points/",
            plan.run_count(),
            started.elapsed().as_secs_f64(),
            writer.directory().display()
        );
        results.push((result, writer.directory().to_path_buf()));
    }
    if plot && interval_sweep {
        use snapsim::figures::overhead::{OverheadChartStyle, OverheadOutcome, overhead_chart};
        for ((result, directory), (series, variant)) in results.iter().zip(&variants) {
            let drawn = OverheadOutcome::from_sweep(result.clone(), variant, &label)
                .map_err(|error| error.to_string())
                .and_then(|outcome| {
                    if outcome.mean_overhead().is_empty() {
                        return Err("no point has an overhead: is the job bounded (every source with `records`), and did its runs finish?".to_string());
                    }
                    let chart = overhead_chart(
                        &outcome,
                        &OverheadChartStyle {
                            title: format!(
                                "{}: checkpoint overhead against the interval",
                                result.scenario
                            ),
                            series_name: series.clone().unwrap_or_else(|| "simulated".into()),
                            color: None,
                        },
                    );
                    chart.render(directory, "overhead").map_err(|error| error.to_string())
                });
            match drawn {
                Ok(_) => say!(
                    "wrote {0}/overhead.png and {0}/overhead.svg",
                    directory.display()
                ),
                Err(error) => return fail(format!("--plot: {error}")),
            }
        }
    } else if plot {
        use snapsim::figures::backpressure::{LoadSeries, load_charts};
        let lines: Vec<LoadSeries> = results
            .iter()
            .zip(&variants)
            .map(|((result, _), (series, _))| LoadSeries {
                name: series.clone().unwrap_or_else(|| "simulated".into()),
                color: None,
                result,
            })
            .collect();
        // One series: beside its CSVs; several: beside the scenario's own sweeps, named after
        // the series field.
        let directory = match &series_path {
            None => results[0].1.clone(),
            Some(path) => out
                .join(&name)
                .join(format!("sweep-{}-series-{path}", axes[0].path)),
        };
        if let Err(error) = std::fs::create_dir_all(&directory) {
            return fail(format!(
                "--plot: cannot create {}: {error}",
                directory.display()
            ));
        }
        let charts = load_charts(&lines, &format!(" — {name}"), &axes[0].column(), &[]);
        for (chart_stem, chart) in charts {
            if let Err(error) = chart.render(&directory, chart_stem) {
                return fail(format!("--plot: {error}"));
            }
        }
        say!(
            "wrote {}/{{checkpoint-duration,start-delay,alignment,persisted-data}}.{{png,svg}}",
            directory.display()
        );
    }
    let cut_short: Vec<&snapsim::sweep::PointResult> = results
        .iter()
        .flat_map(|(result, _)| result.points.iter())
        .filter(|p| p.runs.iter().any(|r| r.get("cut_short") == Some(1.0)))
        .collect();
    if !cut_short.is_empty() {
        let runs: usize = cut_short
            .iter()
            .map(|p| {
                p.runs
                    .iter()
                    .filter(|r| r.get("cut_short") == Some(1.0))
                    .count()
            })
            .sum();
        eprintln!(
            "warning: {runs} run(s) were cut short by the event budget (`max_events`), so their metrics \
             cover only part of the run (cut_short = 1 in runs.csv), at: {}",
            cut_short
                .iter()
                .map(|p| p.label.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
        return ExitCode::from(EXIT_CUT_SHORT);
    }
    ExitCode::SUCCESS
}

/// The arguments of `snapsim explore`.
#[derive(clap::Args)]
struct ExploreArguments {
    /// A process-graph scenario: its processes and balances, channels (a channel with
    /// "fifo": false may deliver out of order, one with a loss_probability may lose
    /// messages), the first snapshot's initiator, and protocol_variant. Time and the workload
    /// are ignored: tokens move one at a time, in every order.
    #[arg(required_unless_present_any = ["processes", "dataflow"])]
    file: Option<PathBuf>,
    /// Instead of a file: P processes p0…p(P−1) on the complete graph, p0 initiating.
    #[arg(long, requires = "tokens", conflicts_with_all = ["file", "dataflow"])]
    processes: Option<usize>,
    /// Instead of a process graph: a small Flink job (sources → keyed task → two-phase-commit
    /// sink) checkpointing `aligned`, `unaligned`, `at-least-once`, `aligned-with-timeout` or
    /// `chandy-lamport`, explored over every order of its records, barriers and RPCs.
    #[arg(long, value_name = "MODE", conflicts_with = "file")]
    dataflow: Option<String>,
    /// With --dataflow: the number of sources, each with its own channel to the keyed task.
    #[arg(long, default_value_t = 2, requires = "dataflow")]
    sources: usize,
    /// With --dataflow: records each source emits.
    #[arg(long, default_value_t = 2, requires = "dataflow")]
    records: u8,
    /// With --dataflow: checkpoints the coordinator triggers, one at a time.
    #[arg(long, default_value_t = 1, requires = "dataflow")]
    checkpoints: u64,
    /// With --dataflow: the job may crash once, at any point, and restore the latest completed
    /// checkpoint.
    #[arg(long, requires = "dataflow")]
    crash: bool,
    /// With --processes: T tokens, split evenly, the remainder to the lowest indices.
    #[arg(long, requires = "processes")]
    tokens: Option<u32>,
    /// The marker rules: correct, or the broken record_after_next_message. With --dataflow:
    /// correct, no_alignment, unaligned_forgets_channel_state, forward_barrier_early,
    /// commit_at_pre_commit, restore_from_pending or recording_past_the_barrier.
    #[arg(long)]
    variant: Option<String>,
    /// Add assumption breakers on every channel: `non-fifo` (any queued message may be
    /// delivered, overtaking those before it), `loss` (any queued message may be lost), or
    /// both when given without a value.
    #[arg(long, value_name = "non-fifo,loss", num_args = 0..=1, default_missing_value = "non-fifo,loss")]
    breakers: Option<String>,
    /// Symmetry reduction: count once the states that differ only by renaming processes
    /// that are alike (same initial balance, same place in the graph, not the initiator).
    #[arg(long)]
    symmetry: bool,
    /// Partial-order reduction: where a delivery commutes with everything else, follow it
    /// alone — on a process graph, the head of a FIFO, reliable channel to a process that has
    /// already recorded; in a dataflow with aligned or at-least-once barriers, any arrival
    /// once no crash can come. The verdict is the same; a counterexample is no longer
    /// necessarily shortest.
    #[arg(long)]
    partial_order: bool,
    /// Run the search with no reduction, with each reduction and with both, and print their
    /// counts side by side.
    #[arg(long, conflicts_with_all = ["symmetry", "partial_order"])]
    compare_reductions: bool,
    /// Stop after this many distinct states (the verdict is then "bounded").
    #[arg(long, default_value_t = 10_000_000)]
    max_states: u64,
    /// Do not expand states deeper than this many actions (the verdict is then "bounded").
    #[arg(long)]
    max_depth: Option<u32>,
    /// Directory for the counterexample scenario.
    #[arg(long, default_value = "output")]
    out: PathBuf,
}

/// `snapsim explore`: the state space of one snapshot on a small process graph.
fn explore_command(arguments: ExploreArguments) -> ExitCode {
    use snapsim::chandy_lamport::ChandyLamportVariant;
    use snapsim::explore::{self, Verdict, process_graph::ChandyLamportSystem};
    use snapsim::scenario::Model;
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    if let Some(mode) = &arguments.dataflow {
        return explore_dataflow(mode, &arguments);
    }
    let (scenario, label) = match (&arguments.file, arguments.processes, arguments.tokens) {
        (Some(file), _, _) => match snapsim::deployment::load(file) {
            Ok(scenario) => (scenario, file.display().to_string()),
            Err(error) => return fail(error.to_string()),
        },
        (None, Some(count), Some(tokens)) => {
            if !(1..=16).contains(&count) {
                return fail("--processes: 1 to 16 processes".into());
            }
            let document = snapsim::explore::process_graph::complete_graph_document(count, tokens);
            match snapsim::scenario::parse_str(&document.to_string(), "--processes", "complete") {
                Ok(scenario) => (scenario, format!("--processes {count} --tokens {tokens}")),
                Err(error) => return fail(error.to_string()),
            }
        }
        _ => return fail("give a scenario file, or --processes P --tokens T".into()),
    };
    let Model::ProcessGraph(model) = &scenario.model else {
        return fail(format!(
            "{label}: explore reads a process-graph (Chandy-Lamport) scenario; this one is a dataflow"
        ));
    };
    let scripted_initiator = match &model.workload {
        snapsim::workload::ProcessWorkload::Scripted(actions) => {
            actions.iter().find_map(|a| match a.kind {
                snapsim::workload::ScriptedActionKind::Snapshot { initiator, .. } => {
                    Some(initiator)
                }
                _ => None,
            })
        }
        _ => None,
    };
    let Some(initiator) = model
        .snapshots
        .first()
        .map(|s| s.initiator)
        .or(scripted_initiator)
    else {
        return fail(format!(
            "{label}: the scenario starts no snapshot, so there is no initiator to explore"
        ));
    };
    let variant = match arguments.variant.as_deref() {
        None => model.variant,
        Some("correct") => ChandyLamportVariant::Correct,
        Some("record_after_next_message") => ChandyLamportVariant::RecordAfterNextMessage,
        Some(other) => {
            return fail(format!(
                "--variant {other}: expected correct or record_after_next_message"
            ));
        }
    };
    let mut breakers = snapsim::explore::process_graph::Breakers::default();
    for name in arguments.breakers.iter().flat_map(|list| list.split(',')) {
        match name.trim() {
            "non-fifo" => breakers.non_fifo = true,
            "loss" => breakers.loss = true,
            other => {
                return fail(format!(
                    "--breakers {other}: expected non-fifo, loss or both (non-fifo,loss)"
                ));
            }
        }
    }
    let build = || ChandyLamportSystem::new(model.graph.clone(), initiator, variant, breakers);
    let mut system = match build() {
        Ok(system) => system,
        Err(error) => return fail(format!("{label}: {error}")),
    };
    let renamings = arguments.symmetry.then(|| system.reduce_symmetry());
    let graph = system.graph();
    let non_fifo = (0..graph.channels.len())
        .filter(|&c| system.any_order(c))
        .count();
    let lossy = (0..graph.channels.len())
        .filter(|&c| system.lossy(c))
        .count();
    say!(
        "explore {}: {} processes, {} channels, {} tokens, snapshot started by {}, {:?} rules{}",
        scenario.name,
        graph.processes.len(),
        graph.channels.len(),
        graph.total_initial_tokens(),
        graph.processes[initiator].name,
        variant,
        if non_fifo + lossy == 0 {
            ", FIFO reliable channels".to_string()
        } else {
            format!(", {non_fifo} channel(s) non-FIFO, {lossy} lossy")
        }
    );
    if let Some(renamings) = renamings {
        say!(
            "symmetry reduction: {renamings} renaming(s) of the processes besides the identity map the system onto itself{}",
            if renamings == 0 {
                " (nothing to reduce)"
            } else {
                "; distinct states below count each orbit once"
            }
        );
    }
    if arguments.compare_reductions {
        return compare_reductions(&arguments, true, |symmetry| {
            let mut system = build().expect("built once already");
            if symmetry {
                system.reduce_symmetry();
            }
            system
        });
    }
    let exploration = match search_with_progress(&system, &arguments) {
        Ok(exploration) => exploration,
        Err(error) => return fail(error),
    };
    let schedule = schedule_found(arguments.partial_order);
    match &exploration.verdict {
        Verdict::Complete => {
            if arguments.partial_order {
                say!(
                    "✓ complete: every snapshot that any schedule completes was completed by a schedule searched (partial-order reduction) and checked; each conserves the {} token(s) and records a state the system can reach",
                    graph.total_initial_tokens()
                );
            } else {
                say!(
                    "✓ complete: every reachable state was checked; every snapshot completed in any of them conserves the {} token(s) and records a state the system can reach",
                    graph.total_initial_tokens()
                );
            }
            ExitCode::SUCCESS
        }
        Verdict::Bounded { reason } => bounded(reason),
        Verdict::Violated { violation } => {
            say!("✗ violated — {violation}");
            say!("{schedule} ({} steps):", exploration.counterexample.len());
            let mut state = explore::TransitionSystem::initial(&system);
            for (index, &step) in exploration.counterexample.iter().enumerate() {
                let what = system.describe(&state, step);
                state = explore::TransitionSystem::apply(&system, &state, step);
                say!(
                    "  {:>3}. {what} — {}",
                    index + 1,
                    system.describe_recorded(&state)
                );
            }
            let name = format!("explore-{}-counterexample", scenario.name);
            let description = format!(
                "The {} `snapsim explore` found ({} steps) to a snapshot that breaks the rules' promise: {violation}. Step k happens at k ms; every message's latency is scripted so it arrives at the step that delivers it.",
                schedule.strip_prefix("a ").unwrap_or(schedule),
                exploration.counterexample.len()
            );
            let document = system.replay_scenario(&exploration.counterexample, &name, &description);
            let path = match write_counterexample(&arguments.out, &name, &document) {
                Ok(path) => path,
                Err(error) => return fail(error),
            };
            say!(
                "wrote {} — replay it: snapsim run {0}; draw it: snapsim diagram {0} --from 0ms --to {}ms",
                path.display(),
                exploration.counterexample.len() + 2
            );
            ExitCode::from(EXIT_INVARIANT_FAILED)
        }
    }
}

/// `snapsim explore --dataflow MODE`: every interleaving of a small Flink job's checkpoints.
fn explore_dataflow(mode: &str, arguments: &ExploreArguments) -> ExitCode {
    use snapsim::checkpoint::DataflowVariant;
    use snapsim::explore::dataflow::{DataflowJob, DataflowSystem, schedule};
    use snapsim::explore::{self, TransitionSystem, Verdict};
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let Some(protocol) = schedule::protocol_named(mode) else {
        return fail(format!(
            "--dataflow {mode}: expected {}",
            schedule::MODES.join(", ")
        ));
    };
    let variant = match arguments.variant.as_deref() {
        None => DataflowVariant::Correct,
        Some(name) => match schedule::variant_named(name) {
            Ok(variant) => variant,
            Err(names) => return fail(format!("--variant {name}: with --dataflow, {names}")),
        },
    };
    if arguments.breakers.is_some() || arguments.symmetry {
        return fail(
            "--breakers and --symmetry are for process graphs; a dataflow has no alike processes and breaks no channel"
                .into(),
        );
    }
    let job = DataflowJob {
        sources: arguments.sources,
        records_per_source: arguments.records,
        checkpoints: arguments.checkpoints,
        crash: arguments.crash,
        protocol,
        variant,
    };
    let system = match DataflowSystem::new(job) {
        Ok(system) => system,
        Err(error) => return fail(format!("--dataflow: {error}")),
    };
    say!(
        "explore dataflow: {} source(s) × {} record(s) → keyed → two-phase-commit sink, {} checkpoint(s), {} barriers{}{}",
        arguments.sources,
        arguments.records,
        arguments.checkpoints,
        mode,
        if arguments.crash {
            ", one crash anywhere"
        } else {
            ", no crash"
        },
        match arguments.variant.as_deref() {
            Some(name) if variant != DataflowVariant::Correct => format!(", variant {name}"),
            _ => String::new(),
        }
    );
    if arguments.compare_reductions {
        return compare_reductions(arguments, false, |_| system.clone());
    }
    let exploration = match search_with_progress(&system, arguments) {
        Ok(exploration) => exploration,
        Err(error) => return fail(error),
    };
    let schedule = schedule_found(arguments.partial_order);
    match &exploration.verdict {
        Verdict::Complete => {
            say!(
                "✓ complete: every {} was checked; every completed checkpoint is prefix-consistent{} and every run that ends delivers each record {}",
                if arguments.partial_order {
                    "schedule covered (partial-order reduction skips only reorderings of steps that commute)"
                } else {
                    "reachable state"
                },
                if protocol.is_exactly_once() {
                    ""
                } else {
                    " (at least)"
                },
                if protocol.is_exactly_once() {
                    "exactly once"
                } else {
                    "at least once"
                }
            );
            ExitCode::SUCCESS
        }
        Verdict::Bounded { reason } => bounded(reason),
        Verdict::Violated { violation } => {
            say!("✗ violated — {violation}");
            say!("{schedule} ({} steps):", exploration.counterexample.len());
            let mut state = system.initial();
            for (index, &step) in exploration.counterexample.iter().enumerate() {
                let what = system.describe(&state, step);
                state = explore::TransitionSystem::apply(&system, &state, step);
                say!(
                    "  {:>3}. {what} — {}",
                    index + 1,
                    system.describe_state(&state)
                );
            }
            let name = format!(
                "explore-dataflow-{mode}-{}-counterexample",
                arguments.variant.as_deref().unwrap_or("correct")
            );
            let schedule = snapsim::explore::dataflow::schedule::DataflowSchedule {
                name: name.clone(),
                description: format!(
                    "The {} `snapsim explore --dataflow {mode}` found ({} steps) to a violation: {violation}. `snapsim run` replays it step by step through the explorer's job (the simulator's barrier handlers, coordinator, commit and restore rules, without time); `snapsim diagram` draws it, step k at k ms.",
                    schedule.strip_prefix("a ").unwrap_or(schedule),
                    exploration.counterexample.len()
                ),
                job: system.job().clone(),
                steps: exploration.counterexample.clone(),
            };
            let path = match write_counterexample(&arguments.out, &name, &schedule.to_json()) {
                Ok(path) => path,
                Err(error) => return fail(error),
            };
            say!(
                "wrote {} — replay it: snapsim run {0}; draw it: snapsim diagram {0}",
                path.display()
            );
            ExitCode::from(EXIT_INVARIANT_FAILED)
        }
    }
}

/// Writes a counterexample `explore` found to `<out>/<name>.json`, atomically.
fn write_counterexample(
    out: &std::path::Path,
    name: &str,
    document: &serde_json::Value,
) -> Result<PathBuf, String> {
    let path = out.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(document).expect("a JSON document") + "\n";
    std::fs::create_dir_all(out)
        .and_then(|()| snapsim::output::write_bytes_atomically(&path, text.as_bytes()))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    Ok(path)
}

/// Is `file` a dataflow schedule (written by `snapsim explore --dataflow`) rather than a
/// scenario? An unreadable file is left to the scenario loader to report.
fn is_schedule_file(file: &std::path::Path) -> bool {
    std::fs::read_to_string(file)
        .is_ok_and(|text| snapsim::explore::dataflow::schedule::is_schedule(&text))
}

/// `snapsim run` on a dataflow schedule: replays it step by step, checking the explorer's
/// invariants after every step, prints the story and writes `<out>/<name>/report.json`.
fn run_schedule(file: &std::path::Path, out: &std::path::Path, json: bool) -> ExitCode {
    use snapsim::explore::dataflow::schedule::{DataflowSchedule, protocol_name, variant_name};
    let schedule = match DataflowSchedule::load(file) {
        Ok(schedule) => schedule,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let replay = schedule.replay();
    let job = &schedule.job;
    let report = serde_json::json!({
        "scenario": schedule.name,
        "description": schedule.description,
        "kind": "dataflow_schedule",
        "job": schedule.job_json(),
        "steps": replay.steps,
        "violation": replay.violation.as_ref().map(|(after_step, message)| serde_json::json!({
            "after_step": after_step,
            "message": message,
        })),
        "outcome": if replay.violation.is_some() { "FAILED" } else { "PASSED" },
    });
    let path = out.join(&schedule.name).join("report.json");
    let written = std::fs::create_dir_all(out.join(&schedule.name)).and_then(|()| {
        let text = snapsim::report::report_json_string(&report).expect("a JSON document") + "\n";
        snapsim::output::write_bytes_atomically(&path, text.as_bytes())
    });
    if let Err(error) = written {
        eprintln!("error: cannot write {}: {error}", path.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if json {
        say!(
            "{}",
            snapsim::report::report_json_string(&report).expect("a JSON document")
        );
    } else {
        say!(
            "{} — a dataflow schedule of {} steps",
            schedule.name,
            schedule.steps.len()
        );
        if !schedule.description.is_empty() {
            say!("{}", schedule.description);
        }
        say!(
            "replayed through the explorer's job: {} source(s) × {} record(s) → keyed → two-phase-commit sink, {} barriers, variant {}{}",
            job.sources,
            job.records_per_source,
            protocol_name(job.protocol),
            variant_name(job.variant),
            if job.crash { ", may crash once" } else { "" }
        );
        for (index, step) in replay.steps.iter().enumerate() {
            say!("  {:>3}. {} — {}", index + 1, step.says, step.state);
        }
        match &replay.violation {
            Some((after, message)) => {
                say!("✗ after step {after}: {message}");
                say!(
                    "result: FAILED — {}",
                    message.split(':').next().unwrap_or(message)
                );
            }
            None => say!("result: PASSED — every checked state kept the protocol's promise"),
        }
        say!("wrote {}", path.display());
    }
    if replay.violation.is_some() {
        ExitCode::from(EXIT_INVARIANT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// What a counterexample is called: a shortest schedule, unless partial-order reduction (which
/// lengthens paths) found it.
fn schedule_found(partial_order: bool) -> &'static str {
    if partial_order {
        "a schedule (with partial-order reduction, not necessarily a shortest one)"
    } else {
        "shortest schedule"
    }
}

/// A search stopped by a limit (or Ctrl-C): it says so, and exits accordingly.
fn bounded(reason: &str) -> ExitCode {
    say!(
        "… bounded ({reason}): no violation among the states reached, but the states beyond were not checked"
    );
    if snapsim::interrupt::requested() {
        return ExitCode::from(snapsim::interrupt::EXIT_INTERRUPTED);
    }
    ExitCode::from(EXIT_CUT_SHORT)
}

/// Runs a search with a spinner and prints its counts (states, transitions, depth, time, speed,
/// memory per state),
/// within the arguments' limits, stopping cleanly on Ctrl-C.
fn search_with_progress<S: snapsim::explore::TransitionSystem>(
    system: &S,
    arguments: &ExploreArguments,
) -> Result<snapsim::explore::Exploration<S::Action>, String> {
    snapsim::interrupt::install()?;
    let limits = snapsim::explore::Limits {
        max_states: arguments.max_states.max(1),
        max_depth: arguments.max_depth.unwrap_or(u32::MAX),
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} · {elapsed}")
            .expect("a valid template"),
    );
    let reductions = snapsim::explore::Reductions {
        partial_order: arguments.partial_order,
    };
    let started = std::time::Instant::now();
    let exploration =
        snapsim::explore::explore_reduced(system, limits, reductions, &mut |counts| {
            bar.set_message(format!(
                "{} distinct states, depth {}",
                counts.distinct_states, counts.max_depth
            ));
            bar.tick();
            !snapsim::interrupt::requested()
        });
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let counts = exploration.counts;
    say!(
        "states explored {} · distinct states {} · transitions {} · maximum depth {} · {:.2} s · {:.0} states/s · {:.0} bytes per state",
        counts.states_explored,
        counts.distinct_states,
        counts.transitions,
        counts.max_depth,
        seconds,
        counts.distinct_states as f64 / seconds.max(1e-9),
        // The state's key, the table entry that holds it (a boxed slice and a number) and its
        // parent link.
        (counts.key_bytes as f64 + counts.distinct_states as f64 * 40.0)
            / counts.distinct_states as f64
    );
    if arguments.partial_order {
        say!(
            "partial-order reduction: {} of the {} states explored followed one delivery alone",
            counts.reduced_states,
            counts.states_explored
        );
    }
    Ok(exploration)
}

/// `snapsim explore --compare-reductions`: the same system searched with no reduction and with
/// each (symmetry, partial order, both — symmetry only where `build(true)` applies it), and the
/// counts side by side, so that what each reduction saves (and that the verdict does not
/// change) can be read off.
fn compare_reductions<S: snapsim::explore::TransitionSystem>(
    arguments: &ExploreArguments,
    with_symmetry: bool,
    build: impl Fn(bool) -> S,
) -> ExitCode {
    use snapsim::explore::{Reductions, Verdict};
    if let Err(error) = snapsim::interrupt::install() {
        eprintln!("error: {error}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let limits = snapsim::explore::Limits {
        max_states: arguments.max_states.max(1),
        max_depth: arguments.max_depth.unwrap_or(u32::MAX),
    };
    say!(
        "{:<26} {:>14} {:>14} {:>10} {:>9}  verdict",
        "reduction",
        "distinct states",
        "transitions",
        "depth",
        "seconds"
    );
    let mut verdicts = Vec::new();
    for (name, symmetry, partial_order) in [
        ("none", false, false),
        ("symmetry", true, false),
        ("partial order", false, true),
        ("symmetry + partial order", true, true),
    ] {
        if symmetry && !with_symmetry {
            continue;
        }
        let system = build(symmetry);
        let started = std::time::Instant::now();
        let exploration = snapsim::explore::explore_reduced(
            &system,
            limits,
            Reductions { partial_order },
            &mut |_| !snapsim::interrupt::requested(),
        );
        let counts = exploration.counts;
        let verdict = match &exploration.verdict {
            Verdict::Complete => "complete".to_string(),
            Verdict::Bounded { reason } => format!("bounded ({reason})"),
            Verdict::Violated { violation } => format!(
                "violated after {} steps — {violation}",
                exploration.counterexample.len()
            ),
        };
        say!(
            "{name:<26} {:>14} {:>14} {:>10} {:>9.2}  {verdict}",
            counts.distinct_states,
            counts.transitions,
            counts.max_depth,
            started.elapsed().as_secs_f64()
        );
        // A bounded search has no verdict to compare.
        if !matches!(exploration.verdict, Verdict::Bounded { .. }) {
            verdicts.push(matches!(exploration.verdict, Verdict::Complete));
        }
        if snapsim::interrupt::requested() {
            return ExitCode::from(snapsim::interrupt::EXIT_INTERRUPTED);
        }
    }
    if verdicts.windows(2).all(|w| w[0] == w[1]) {
        ExitCode::SUCCESS
    } else {
        say!("✗ the reductions disagree on the verdict: that is a bug in a reduction");
        ExitCode::from(EXIT_INVARIANT_FAILED)
    }
}

/// The arguments of `snapsim import cos418`.
#[derive(clap::Args)]
struct Cos418Import {
    /// The topology file (.top).
    topology: PathBuf,
    /// The events file (.events).
    events: PathBuf,
    /// Expected snapshots (.snap files) to compare the run with; repeat for several.
    #[arg(long, value_name = "FILE")]
    snap: Vec<PathBuf>,
    /// Where to write the scenario (default: output/cos418-<events file's name>.json).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Virtual time of one tick.
    #[arg(long, default_value = "1ms", value_name = "DURATION")]
    tick: String,
    /// Ticks every message (token or marker) takes.
    #[arg(long, default_value_t = 1, value_name = "TICKS")]
    latency: u64,
    /// SNAPSHOT:FROM->TO=TICKS: that snapshot's marker on that channel takes that many ticks
    /// (COS418's snapshot numbers, from 0), e.g. '0:N2->N1=3' (quoted: the shell reads `>`);
    /// repeat for several.
    #[arg(long, value_name = "SPEC")]
    marker_latency: Vec<String>,
}

/// `snapsim import cos418`: writes the scenario, and with `--snap` runs it and compares.
fn import_cos418(arguments: Cos418Import) -> ExitCode {
    use snapsim::cos418;
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .map_err(|error| format!("{}: cannot read: {error}", path.display()))
    };
    let tick_us = match snapsim::scenario::parse_duration_us(&arguments.tick) {
        Ok(0) => return fail("--tick: a tick lasts at least 1us".into()),
        Ok(us) => us,
        Err(error) => return fail(format!("--tick: {error}")),
    };
    if arguments.latency == 0 || arguments.latency > 1_000_000 {
        return fail("--latency: a message takes 1 to 1000000 ticks".into());
    }
    let mut marker_latencies = Vec::new();
    for spec in &arguments.marker_latency {
        match cos418::MarkerLatency::parse(spec) {
            Ok(marker) => marker_latencies.push(marker),
            Err(error) => return fail(format!("--marker-latency {error}")),
        }
    }
    let topology_label = arguments.topology.display().to_string();
    let events_label = arguments.events.display().to_string();
    let topology = match read(&arguments.topology)
        .and_then(|text| cos418::parse_topology(&text, &topology_label).map_err(|e| e.to_string()))
    {
        Ok(topology) => topology,
        Err(error) => return fail(error),
    };
    let events = match read(&arguments.events)
        .and_then(|text| cos418::parse_events(&text, &events_label).map_err(|e| e.to_string()))
    {
        Ok(events) => events,
        Err(error) => return fail(error),
    };
    let mut snaps = Vec::new();
    for path in &arguments.snap {
        let label = path.display().to_string();
        match read(path)
            .and_then(|text| cos418::parse_snap(&text, &label).map_err(|e| e.to_string()))
        {
            Ok(snap) => snaps.push((label, snap)),
            Err(error) => return fail(error),
        }
    }
    let stem = arguments
        .events
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("events");
    let name = format!("cos418-{stem}");
    let options = cos418::ImportOptions {
        tick_us,
        latency_ticks: arguments.latency,
        marker_latencies,
    };
    let file_name = |path: &std::path::Path| {
        path.file_name().map_or(path.display().to_string(), |n| {
            n.to_string_lossy().into_owned()
        })
    };
    let document = match cos418::scenario(
        &topology,
        &events,
        &options,
        &name,
        (
            &file_name(&arguments.topology),
            &file_name(&arguments.events),
        ),
    ) {
        Ok(document) => document,
        Err(error) => return fail(error),
    };
    let out = arguments
        .out
        .unwrap_or_else(|| PathBuf::from("output").join(format!("{name}.json")));
    let text = serde_json::to_string_pretty(&document).expect("a JSON document") + "\n";
    let scenario = match snapsim::deployment::parse(&text, &out.display().to_string(), &name) {
        Ok(scenario) => scenario,
        Err(error) => return fail(format!("the imported scenario is not valid: {error}")),
    };
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && let Err(error) = std::fs::create_dir_all(parent)
    {
        return fail(format!("cannot create {}: {error}", parent.display()));
    }
    if let Err(error) = snapsim::output::write_bytes_atomically(&out, text.as_bytes()) {
        return fail(format!("cannot write {}: {error}", out.display()));
    }
    say!(
        "wrote {} ({} servers, {} links, {} events) — run it: snapsim run {}",
        out.display(),
        topology.servers.len(),
        topology.links.len(),
        events.len(),
        out.display()
    );
    if snaps.is_empty() {
        return ExitCode::SUCCESS;
    }
    let run = snapsim::report::run_scenario(&scenario, scenario.seed);
    let Some(graph) = run.report.process_graph.as_ref() else {
        return fail("an imported scenario is a process graph".into());
    };
    if let Some(refused) = graph.refused_sends.first() {
        return fail(format!("{}: {refused}", events_label));
    }
    let mut all_match = true;
    for (label, snap) in &snaps {
        let comparison = cos418::compare(snap, label, &graph.snapshots);
        if comparison.matches() {
            say!("✓ snapshot {} matches {label}", snap.id);
        } else {
            all_match = false;
            say!("✗ snapshot {} differs from {label}:", snap.id);
            for difference in &comparison.differences {
                say!("    {difference}");
            }
        }
    }
    if graph.snapshots.len() != snaps.len() {
        all_match = false;
        say!(
            "✗ the run completed {} snapshot(s); {} .snap file(s) were given",
            graph.snapshots.len(),
            snaps.len()
        );
    }
    let invariants = if run.report.outcome.is_success() {
        "every invariant held".to_string()
    } else {
        format!(
            "{:?}: {:?}",
            run.report.outcome.status, run.report.outcome.failed_invariants
        )
    };
    say!("invariants: {invariants}");
    if !all_match {
        say!(
            "COS418 draws each message's delay at random (1 to 5 ticks); this import gives every \
             message {} tick(s). A state that depends on a marker's delay is reproduced by giving \
             that marker the delay the reference run drew: --marker-latency SNAPSHOT:FROM->TO=TICKS.",
            options.latency_ticks
        );
    }
    if all_match && run.report.outcome.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVARIANT_FAILED)
    }
}

/// The fingerprint of a scenario file's document (see `snapsim::shard::fingerprint`).
fn document_fingerprint(file: &std::path::Path) -> Result<String, String> {
    let label = file.display();
    let text = std::fs::read_to_string(file)
        .map_err(|error| format!("{label}: cannot read the file: {error}"))?;
    let document: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| format!("{label}: {error}"))?;
    Ok(snapsim::shard::fingerprint(&document))
}

/// Writes pretty JSON with a final newline, atomically.
fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    snapsim::output::write_bytes_atomically(path, &bytes)
}

/// The result file of one shard: `check.json` or `sweep.json` in `directory`, or the only one in
/// the directories below it (a shard's `--out` directory holds `<scenario>/check.json` or
/// `<scenario>/sweep-<param>/sweep.json`).
fn shard_result_file(directory: &std::path::Path) -> Result<PathBuf, String> {
    const NAMES: [&str; 2] = ["check.json", "sweep.json"];
    let here: Vec<PathBuf> = NAMES
        .iter()
        .map(|n| directory.join(n))
        .filter(|p| p.is_file())
        .collect();
    if let [only] = here.as_slice() {
        return Ok(only.clone());
    }
    if here.len() > 1 {
        return Err(format!(
            "{} holds both check.json and sweep.json: name the one to merge",
            directory.display()
        ));
    }
    let mut found = Vec::new();
    let mut level = vec![directory.to_path_buf()];
    for _ in 0..2 {
        let mut next = Vec::new();
        for dir in &level {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut children: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            children.sort();
            for child in children {
                found.extend(NAMES.iter().map(|n| child.join(n)).filter(|p| p.is_file()));
                next.push(child);
            }
        }
        level = next;
    }
    match found.as_slice() {
        [only] => Ok(only.clone()),
        [] if !directory.is_dir() => Err(format!("{}: no such directory", directory.display())),
        [] => Err(format!(
            "{} holds no check.json or sweep.json (is it a shard's output, and did the shard finish?)",
            directory.display()
        )),
        many => Err(format!(
            "{} holds several results ({}): give the directory of one",
            directory.display(),
            many.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Reads each shard's result file as a `T` (`what` names it in errors), with the file's name.
fn read_shards<T: serde::de::DeserializeOwned>(
    files: &[PathBuf],
    what: &str,
) -> Result<Vec<(T, String)>, String> {
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|error| format!("{}: cannot read the file: {error}", path.display()))?;
            let value = serde_json::from_str::<T>(&text)
                .map_err(|error| format!("{}: not {what}: {error}", path.display()))?;
            Ok((value, path.display().to_string()))
        })
        .collect()
}

/// `snapsim merge DIR… --out OUT`: the shards of one check or sweep, merged.
fn merge_command(directories: &[PathBuf], out: &std::path::Path) -> ExitCode {
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    let mut files = Vec::new();
    for directory in directories {
        match shard_result_file(directory) {
            Ok(file) => files.push(file),
            Err(error) => return fail(error),
        }
    }
    let is_check = files[0].file_name().and_then(|n| n.to_str()) == Some("check.json");
    if files
        .iter()
        .any(|f| (f.file_name().and_then(|n| n.to_str()) == Some("check.json")) != is_check)
    {
        return fail(
            "the directories mix checks and sweeps: merge the shards of one command".into(),
        );
    }
    if is_check {
        let reports = match read_shards::<snapsim::check::CheckReport>(&files, "a check report") {
            Ok(reports) => reports,
            Err(error) => return fail(error),
        };
        let merged = match snapsim::check::merge(&reports) {
            Ok(merged) => merged,
            Err(error) => return fail(error),
        };
        let path = out.join(&merged.scenario).join("check.json");
        say_part!("{}", merged.text());
        if let Err(error) = write_json(&path, &merged) {
            return fail(format!("cannot write {}: {error}", path.display()));
        }
        say!("merged {} shards · wrote {}", files.len(), path.display());
        if merged.all_as_the_scenario_says() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(EXIT_INVARIANT_FAILED)
        }
    } else {
        let results = match read_shards::<snapsim::sweep::SweepResult>(&files, "a sweep result") {
            Ok(results) => results,
            Err(error) => return fail(error),
        };
        let merged = match snapsim::sweep::files::merge(&results) {
            Ok(merged) => merged,
            Err(error) => return fail(error),
        };
        let directory = out
            .join(&merged.scenario)
            .join(snapsim::sweep::directory_name(&merged.axes));
        let written = snapsim::sweep::files::prepare_directory(&directory).and_then(|()| {
            snapsim::sweep::files::write_all(&directory, &merged, merged.model.metrics())
        });
        if let Err(error) = written {
            return fail(format!(
                "cannot write results under {}: {error}",
                directory.display()
            ));
        }
        say_part!("{}", snapsim::sweep::files::overview(&merged));
        say!(
            "merged {} shards · wrote {}/summary.csv, runs.csv, sweep.json, points/",
            files.len(),
            directory.display()
        );
        ExitCode::SUCCESS
    }
}

/// `--trace` or `--trace=FROM..TO`: the whole run, or a window (µs).
fn parse_window(text: &str) -> Result<Option<(u64, u64)>, String> {
    if text == "all" {
        return Ok(None);
    }
    let (from, to) = text
        .split_once("..")
        .ok_or_else(|| format!("\"{text}\" is not a window: write FROM..TO, e.g. 2s..5s"))?;
    let from = scenario::parse_duration_us(from)?;
    let to = scenario::parse_duration_us(to)?;
    if from >= to {
        return Err(format!(
            "the window {text} is empty: FROM must be before TO"
        ));
    }
    Ok(Some((from, to)))
}

/// Trace events kept at most: about 15 MB of JSON, which Perfetto opens at once.
const TRACE_EVENTS_MAX: usize = 150_000;

/// The reported dataflow run again, this time keeping when each task was busy, backpressured or
/// idle (a record-level detail the report does not need). Same seed, same events, same digest.
fn traced_run(
    completed: &snapsim::report::CompletedRun,
    seed: u64,
) -> Result<snapsim::dataflow::DataflowRun, String> {
    let snapsim::report::RawRun::Dataflow(original, model) = &completed.raw else {
        return Err("only dataflow runs have task activity".into());
    };
    let run = snapsim::dataflow::run_with(model, seed, snapsim::dataflow::RunDetail::Traced);
    if run.trace.digest() != original.trace.digest() {
        return Err("internal error: the traced run differs from the reported one".into());
    }
    Ok(run)
}

/// Builds `trace.json` for a run (dataflow or process graph): its bytes, and what to say about it.
fn build_trace(
    completed: &snapsim::report::CompletedRun,
    seed: u64,
    window: Option<(u64, u64)>,
) -> Result<(Vec<u8>, String), String> {
    let mut trace = match &completed.raw {
        snapsim::report::RawRun::ProcessGraph(run, graph) => {
            let (from_us, to_us) = window.unwrap_or((0, run.end_time.as_micros().max(1)));
            snapsim::plot::perfetto_process_graph::chrome_trace_from_process_graph_run(
                run,
                graph,
                from_us,
                to_us,
                TRACE_EVENTS_MAX,
            )
        }
        snapsim::report::RawRun::Dataflow(_, model) => {
            let run = &traced_run(completed, seed)?;
            let (from_us, to_us) = window.unwrap_or((0, run.end_time.as_micros().max(1)));
            snapsim::plot::perfetto::chrome_trace_from_dataflow_run(
                run,
                model.network.rpc_latency_us,
                from_us,
                to_us,
                TRACE_EVENTS_MAX,
            )
        }
    };
    trace.run_digest = Some(completed.report.digest.clone());
    let message = format!(
        "({} trace events{}{}): open it in https://ui.perfetto.dev",
        trace.events.len(),
        if trace.truncated {
            format!(
                ", cut at {} to stay small: use --trace=FROM..TO for a later window",
                snapsim::engine::SimTime::from_micros(trace.covered_to_us)
            )
        } else {
            String::new()
        },
        match trace.activity_covered_to_us {
            Some(at) => format!(
                "; busy/backpressured slices up to {} (use --trace=FROM..TO for later ones)",
                snapsim::engine::SimTime::from_micros(at)
            ),
            None => String::new(),
        }
    );
    Ok((trace.to_json().into_bytes(), message))
}

/// `snapsim ui`: serve the web view until Ctrl-C.
fn ui_command(file: Option<&std::path::Path>, port: u16, scenarios: &std::path::Path) -> ExitCode {
    use snapsim::ui::server::{Catalogue, UiServer};
    if let Some(file) = file
        && let Err(error) = snapsim::deployment::load(file)
    {
        eprintln!("error: {error}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let catalogue = match Catalogue::load(scenarios, file) {
        Ok(catalogue) => catalogue,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let mut server = match UiServer::bind(port, catalogue) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let stop = server.stopper();
    if let Err(error) = ctrlc::set_handler(stop) {
        eprintln!("error: cannot catch Ctrl-C: {error}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    match server.address() {
        Some(address) => println!("snapsim ui: open http://{address}/ (Ctrl-C stops)"),
        None => println!("snapsim ui: listening (Ctrl-C stops)"),
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    server.serve();
    println!("snapsim ui: stopped");
    ExitCode::SUCCESS
}

/// `snapsim replay --html`: run a scenario and write its page.
fn replay_command(file: &std::path::Path, html: &std::path::Path, seed: Option<u64>) -> ExitCode {
    let replay = match snapsim::ui::replay::replay_file(file, seed) {
        Ok(replay) => replay,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let page = snapsim::ui::page::standalone_page(&replay);
    if let Err(error) = snapsim::output::write_bytes_atomically(html, page.as_bytes()) {
        eprintln!("error: cannot write {}: {error}", html.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    println!(
        "wrote {} ({} KiB): {} run to {}, {}",
        html.display(),
        page.len() / 1024,
        replay.scenario,
        snapsim::engine::SimTime::from_micros(replay.end_us),
        replay.report["outcome"]["status"].as_str().unwrap_or("?")
    );
    for note in &replay.notes {
        println!("  note: {note}");
    }
    ExitCode::SUCCESS
}

/// `snapsim diagram`: simulate (without the oracle), draw the window, write SVG and PNG.
/// The diagram's window from `--from` / `--to` (µs): one bound alone keeps the default window's
/// width on its side (clipped to the run); a window that starts after the run ended is an error,
/// not an empty picture.
fn diagram_window(
    from_us: Option<u64>,
    to_us: Option<u64>,
    (default_from, default_to): (u64, u64),
    end_us: u64,
) -> Result<(u64, u64), String> {
    let width = default_to.saturating_sub(default_from).max(1);
    let (from, to) = match (from_us, to_us) {
        (Some(from), Some(to)) => (from, to),
        (Some(from), None) => (from, from.saturating_add(width).min(end_us.max(from + 1))),
        (None, Some(to)) => (to.saturating_sub(width), to),
        (None, None) => (default_from, default_to),
    };
    if from >= end_us && end_us > 0 {
        return Err(format!(
            "the window starts at {}, but the run ended at {}: choose --from before the end",
            snapsim::engine::SimTime::from_micros(from),
            snapsim::engine::SimTime::from_micros(end_us)
        ));
    }
    Ok((from, to))
}

fn diagram_command(
    file: &std::path::Path,
    from: Option<&str>,
    to: Option<&str>,
    seed: Option<u64>,
    out: &std::path::Path,
) -> ExitCode {
    use snapsim::scenario::Model;
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    };
    if is_schedule_file(file) {
        if from.is_some() || to.is_some() || seed.is_some() {
            return fail(
                "a dataflow schedule is drawn whole (step k at k ms) and has no seed: drop --from, --to and --seed".into(),
            );
        }
        let schedule = match snapsim::explore::dataflow::schedule::DataflowSchedule::load(file) {
            Ok(schedule) => schedule,
            Err(error) => return fail(error.to_string()),
        };
        let replay = schedule.replay();
        let diagram =
            snapsim::plot::space_time_from_dataflow_schedule(&schedule.name, &replay.timeline);
        return render_diagram(&diagram, &out.join(&schedule.name), &fail);
    }
    let scenario = match snapsim::deployment::load(file) {
        Ok(scenario) => scenario,
        Err(error) => return fail(error.to_string()),
    };
    let parse = |flag: &str, text: Option<&str>| -> Result<Option<u64>, String> {
        text.map(|t| scenario::parse_duration_us(t).map_err(|e| format!("--{flag}: {e}")))
            .transpose()
    };
    let (from_us, to_us) = match (parse("from", from), parse("to", to)) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(error), _) | (_, Err(error)) => return fail(error),
    };
    if let (Some(from), Some(to)) = (from_us, to_us)
        && from >= to
    {
        return fail(format!(
            "the window {}..{} is empty: --from must be before --to",
            snapsim::engine::SimTime::from_micros(from),
            snapsim::engine::SimTime::from_micros(to)
        ));
    }
    let seed = seed.unwrap_or(scenario.seed);
    let diagram = match &scenario.model {
        Model::ProcessGraph(model) => {
            let run = snapsim::chandy_lamport::run(model, seed, model.variant);
            let default =
                snapsim::plot::default_process_window(&run.snapshots, run.end_time.as_micros());
            let (from, to) = match diagram_window(from_us, to_us, default, run.end_time.as_micros())
            {
                Ok(window) => window,
                Err(error) => return fail(error),
            };
            snapsim::plot::space_time_from_process_run(
                &model.graph,
                run.trace.events(),
                &run.snapshots,
                from,
                to,
            )
        }
        Model::Dataflow(model) => {
            let mut model = (**model).clone();
            model.seed = seed;
            let run = snapsim::dataflow::run(&model, seed);
            let default = snapsim::plot::default_dataflow_window(&run);
            let (from, to) = match diagram_window(from_us, to_us, default, run.end_time.as_micros())
            {
                Ok(window) => window,
                Err(error) => return fail(error),
            };
            snapsim::plot::space_time_from_dataflow_run(
                &run,
                model.network.rpc_latency_us,
                from,
                to,
            )
        }
    };
    if diagram.from_us >= diagram.to_us {
        return fail(format!(
            "the window {}..{} is empty: --from must be before --to",
            snapsim::engine::SimTime::from_micros(diagram.from_us),
            snapsim::engine::SimTime::from_micros(diagram.to_us)
        ));
    }
    render_diagram(&diagram, &out.join(&scenario.name), &fail)
}

/// Draws a space-time diagram into `directory` and says what it wrote.
fn render_diagram(
    diagram: &snapsim::plot::SpaceTimeDiagram,
    directory: &std::path::Path,
    fail: &dyn Fn(String) -> ExitCode,
) -> ExitCode {
    match diagram.render(directory, "space-time") {
        Ok(files) => {
            say!(
                "wrote {} and {} ({} lines, {} arrows, window {} to {})",
                files.svg.display(),
                files.png.display(),
                diagram.lines.len(),
                diagram.arrows.len(),
                snapsim::engine::SimTime::from_micros(diagram.from_us),
                snapsim::engine::SimTime::from_micros(diagram.to_us)
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail(error.to_string()),
    }
}
