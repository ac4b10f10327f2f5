//! `snapsim check`: one scenario, many seeds, in parallel.
//!
//! Each seed is an independent, deterministic run (parallelism lives across runs, never inside
//! one). The results come back in seed order whatever the thread timing, so the
//! output of a check is itself deterministic.

use crate::report::{OutcomeStatus, run_scenario};
use crate::scenario::Scenario;
use rayon::prelude::*;
use serde::Serialize;
use std::ops::Range;

/// One seed's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// The run's verdict against the scenario's expectations.
    pub status: OutcomeStatus,
    /// Invariants that failed.
    pub failed_invariants: Vec<String>,
    /// The run digest.
    pub digest: String,
}

impl SeedResult {
    /// Did the invariants do what the scenario says? (A scenario's lesson — its `expect` list —
    /// is written for its own seed; on other seeds the check is about the invariants only.)
    pub fn is_success(&self) -> bool {
        matches!(
            self.status,
            OutcomeStatus::Passed | OutcomeStatus::FailedAsExpected | OutcomeStatus::LessonNotShown
        )
    }

    /// Did the run also show the scenario's lesson?
    pub fn shows_the_lesson(&self) -> bool {
        matches!(
            self.status,
            OutcomeStatus::Passed | OutcomeStatus::FailedAsExpected
        )
    }
}

/// Parses `A..B` (B excluded) or a single seed `A`.
pub fn parse_seed_range(text: &str) -> Result<Range<u64>, String> {
    let parse = |part: &str| {
        part.trim()
            .parse::<u64>()
            .map_err(|_| format!("\"{part}\" is not a seed (a non-negative integer)"))
    };
    match text.split_once("..") {
        Some((from, to)) => {
            let (from, to) = (parse(from)?, parse(to)?);
            if from >= to {
                return Err(format!(
                    "the seed range {text} is empty: write A..B with A < B (B is excluded)"
                ));
            }
            Ok(from..to)
        }
        None => {
            let seed = parse(text)?;
            Ok(seed..seed + 1)
        }
    }
}

/// Runs `scenario` once per seed on `jobs` threads, calling `progress` after each run.
pub fn check_seeds(
    scenario: &Scenario,
    seeds: Range<u64>,
    jobs: usize,
    progress: impl Fn() + Sync,
) -> Vec<SeedResult> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .expect("a thread pool");
    pool.install(|| {
        seeds
            .into_par_iter()
            .map(|seed| {
                let run = run_scenario(scenario, seed);
                progress();
                SeedResult {
                    seed,
                    status: run.report.outcome.status,
                    failed_invariants: run
                        .report
                        .outcome
                        .failed_invariants
                        .iter()
                        .map(|i| i.name().to_string())
                        .collect(),
                    digest: run.report.digest,
                }
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_exclude_their_end() {
        assert_eq!(parse_seed_range("3..6"), Ok(3..6));
        assert_eq!(parse_seed_range("7"), Ok(7..8));
        assert!(parse_seed_range("6..3").unwrap_err().contains("empty"));
        assert!(parse_seed_range("x..3").unwrap_err().contains("not a seed"));
    }
}
