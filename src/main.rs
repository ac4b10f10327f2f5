//! The `snapsim` command line. Everything it does is a call into the library.

use clap::{Parser, Subcommand};
use snapsim::report::{run_scenario, text};
use snapsim::scenario;
use std::path::PathBuf;
use std::process::ExitCode;

/// Distributed snapshots, simulated faithfully.
#[derive(Parser)]
#[command(name = "snapsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario, check every snapshot, print a summary and write output/<scenario>/.
    Run {
        /// The scenario file (JSON).
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
        /// Start a dataflow job from a savepoint file (written by an earlier run).
        #[arg(long, value_name = "PATH")]
        from_savepoint: Option<PathBuf>,
        /// With --from-savepoint: drop state of operators the job no longer has.
        #[arg(long)]
        allow_non_restored_state: bool,
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
    },
    /// Check scenario files without running them.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Exit status when an invariant failed unexpectedly.
const EXIT_INVARIANT_FAILED: u8 = 1;
/// Exit status for bad input or an I/O problem.
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            file,
            seed,
            out,
            json,
            from_savepoint,
            allow_non_restored_state,
        } => {
            let mut scenario = match scenario::load_file(&file) {
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
            let seed = seed.unwrap_or(scenario.seed);
            let completed = run_scenario(&scenario, seed);
            if json {
                match serde_json::to_string_pretty(&completed.report) {
                    Ok(text) => println!("{text}"),
                    Err(error) => {
                        eprintln!("error: cannot serialise the report: {error}");
                        return ExitCode::from(EXIT_BAD_INPUT);
                    }
                }
            } else {
                print!("{}", text::render(&completed.report));
            }
            match completed.write_outputs(&out) {
                Ok(directory) if !json => {
                    println!("wrote {}/report.json and events.jsonl", directory.display())
                }
                Ok(_) => {}
                Err(error) => {
                    eprintln!(
                        "error: cannot write results under {}: {error}",
                        out.display()
                    );
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            }
            if completed.report.outcome.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_INVARIANT_FAILED)
            }
        }
        Command::Check { file, seeds, jobs } => {
            let scenario = match scenario::load_file(&file) {
                Ok(scenario) => scenario,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            let range = match snapsim::check::parse_seed_range(&seeds) {
                Ok(range) => range,
                Err(error) => {
                    eprintln!("error: --seeds: {error}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let bar = indicatif::ProgressBar::new(range.end - range.start);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} seeds · {elapsed} elapsed · ETA {eta}",
                )
                .expect("a valid template"),
            );
            let results = snapsim::check::check_seeds(&scenario, range, jobs, || bar.inc(1));
            bar.finish_and_clear();
            let failing: Vec<_> = results.iter().filter(|r| !r.is_success()).collect();
            for result in &failing {
                println!(
                    "seed {}: {:?} ({}) — replay: snapsim run {} --seed {}",
                    result.seed,
                    result.status,
                    result.failed_invariants.join(", "),
                    file.display(),
                    result.seed
                );
            }
            println!(
                "{} of {} seeds did what the scenario says",
                results.len() - failing.len(),
                results.len()
            );
            if failing.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_INVARIANT_FAILED)
            }
        }
        Command::Validate { files } => {
            let mut all_valid = true;
            for file in &files {
                match scenario::load_file(file) {
                    Ok(scenario) => println!("ok: {} ({})", file.display(), scenario.name),
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
