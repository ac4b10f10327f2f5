//! `snapsim check`: one scenario, many seeds, in parallel.
//!
//! Each seed is an independent, deterministic run (parallelism lives across runs, never inside
//! one). The results come back in seed order whatever the thread timing, so the
//! output of a check is itself deterministic: [`CheckReport`], written as
//! `output/<scenario>/check.json`. A check split into shards ([`crate::shard`]) writes one report
//! per shard, and [`merge`] puts them back into the report the whole check would have written.

use crate::report::{OutcomeStatus, run_scenario_without_record};
use crate::scenario::Scenario;
use crate::shard::{Origin, ShardOf, check_tiling, same_scenario};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::ops::Range;

/// One seed's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// Everything a check found: `output/<scenario>/check.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file as given on the command line (for the replay commands).
    pub file: String,
    /// The scenario document's [`crate::shard::fingerprint`]: shards of different files are not
    /// merged.
    pub scenario_fingerprint: String,
    /// The seed the scenario's `expect` list was written for (its own `seed`).
    pub scenario_seed: u64,
    /// Whether the scenario has an `expect` list (a lesson to show).
    pub has_lesson: bool,
    /// First seed run.
    pub seed_first: u64,
    /// Seeds run.
    pub seed_count: u64,
    /// Present when this is one shard of a larger check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardOf>,
    /// Seeds whose invariants did what the scenario says.
    pub seeds_as_the_scenario_says: u64,
    /// Seeds that also showed the lesson (when the scenario has one).
    pub seeds_showing_the_lesson: u64,
    /// Every seed's verdict, in seed order.
    pub results: Vec<SeedResult>,
}

impl CheckReport {
    /// A report of `results` (in seed order) for `scenario`, read from `file` whose document has
    /// the fingerprint `fingerprint`.
    pub fn new(
        scenario: &Scenario,
        file: &str,
        fingerprint: &str,
        seeds: Range<u64>,
        shard: Option<ShardOf>,
        results: Vec<SeedResult>,
    ) -> CheckReport {
        CheckReport {
            scenario: scenario.name.clone(),
            file: file.to_string(),
            scenario_fingerprint: fingerprint.to_string(),
            scenario_seed: scenario.seed,
            has_lesson: !scenario.expectations.is_empty(),
            seed_first: seeds.start,
            seed_count: seeds.end - seeds.start,
            shard,
            seeds_as_the_scenario_says: results.iter().filter(|r| r.is_success()).count() as u64,
            seeds_showing_the_lesson: results.iter().filter(|r| r.shows_the_lesson()).count()
                as u64,
            results,
        }
    }

    /// Did every seed do what the scenario says?
    pub fn all_as_the_scenario_says(&self) -> bool {
        self.seeds_as_the_scenario_says == self.results.len() as u64
    }

    /// What the terminal shows: every failing seed with the command that replays it, then the
    /// counts.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for result in self.results.iter().filter(|r| !r.is_success()) {
            let _ = writeln!(
                text,
                "seed {}: {:?} ({}) — replay: snapsim run {} --seed {}",
                result.seed,
                result.status,
                result.failed_invariants.join(", "),
                self.file,
                result.seed
            );
        }
        let _ = writeln!(
            text,
            "{} of {} seeds did what the scenario says",
            self.seeds_as_the_scenario_says,
            self.results.len()
        );
        if self.has_lesson {
            let _ = writeln!(
                text,
                "{} of {} seeds also showed the lesson (its expect list, written for seed {})",
                self.seeds_showing_the_lesson,
                self.results.len(),
                self.scenario_seed
            );
        }
        text
    }
}

/// Puts the reports of the N shards of one check (each with a name for errors, its directory)
/// back together: the report the whole check would have written, byte for byte once serialised.
pub fn merge(shards: &[(CheckReport, String)]) -> Result<CheckReport, String> {
    let Some((first, first_name)) = shards.first() else {
        return Err("no check reports to merge".into());
    };
    for (report, name) in shards {
        same_scenario(
            "check",
            &Origin {
                name,
                scenario: &report.scenario,
                fingerprint: &report.scenario_fingerprint,
            },
            &Origin {
                name: first_name,
                scenario: &first.scenario,
                fingerprint: &first.scenario_fingerprint,
            },
        )?;
        let seeds: Vec<u64> = report.results.iter().map(|r| r.seed).collect();
        let expected: Vec<u64> =
            (report.seed_first..report.seed_first + report.seed_count).collect();
        if seeds != expected {
            return Err(format!(
                "{name} holds {} verdicts for seeds {}..{}: the shard did not finish",
                seeds.len(),
                report.seed_first,
                report.seed_first + report.seed_count
            ));
        }
    }
    let pieces: Vec<_> = shards
        .iter()
        .map(|(report, name)| {
            (
                report.shard,
                report.seed_first..report.seed_first + report.seed_count,
                name.clone(),
            )
        })
        .collect();
    let whole = check_tiling(&pieces)?;
    let mut ordered: Vec<&CheckReport> = shards.iter().map(|(r, _)| r).collect();
    ordered.sort_by_key(|r| r.seed_first);
    let results: Vec<SeedResult> = ordered
        .iter()
        .flat_map(|r| r.results.iter().cloned())
        .collect();
    Ok(CheckReport {
        scenario: first.scenario.clone(),
        file: first.file.clone(),
        scenario_fingerprint: first.scenario_fingerprint.clone(),
        scenario_seed: first.scenario_seed,
        has_lesson: first.has_lesson,
        seed_first: whole.start,
        seed_count: whole.end - whole.start,
        shard: None,
        seeds_as_the_scenario_says: results.iter().filter(|r| r.is_success()).count() as u64,
        seeds_showing_the_lesson: results.iter().filter(|r| r.shows_the_lesson()).count() as u64,
        results,
    })
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
            let end = seed.checked_add(1).ok_or_else(|| {
                format!(
                    "the largest seed is {}: {seed} has no room after it",
                    u64::MAX - 1
                )
            })?;
            Ok(seed..end)
        }
    }
}

/// The most seeds one `check` command runs (its verdicts are kept in memory and written as one
/// file): a bigger check is split into shards (`--shard K/N`, see [`crate::shard`]).
pub const SEEDS_MAX: u64 = 1_000_000;

/// Refuses a seed range larger than [`SEEDS_MAX`].
pub fn check_seed_count(seeds: &Range<u64>) -> Result<(), String> {
    let count = seeds.end - seeds.start;
    if count > SEEDS_MAX {
        return Err(format!(
            "{count} seeds is more than {SEEDS_MAX} for one machine: split them into shards with --shard K/N"
        ));
    }
    Ok(())
}

/// What an interrupted check says: how many of `planned` seeds finished, and each finished seed's
/// verdict (no `check.json` is written for an incomplete check).
pub fn interrupted_text(results: &[SeedResult], planned: u64) -> String {
    let as_said = results.iter().filter(|r| r.is_success()).count();
    let mut text = format!(
        "interrupted: {} of {planned} seed(s) finished, {as_said} as the scenario says; check.json is written only by a finished check\n",
        results.len()
    );
    for result in results {
        text += &format!(
            "  seed {}: {}{} · digest {}\n",
            result.seed,
            if result.is_success() {
                "as the scenario says"
            } else {
                "NOT as the scenario says"
            },
            if result.failed_invariants.is_empty() {
                String::new()
            } else {
                format!(" (failed: {})", result.failed_invariants.join(", "))
            },
            result.digest
        );
    }
    text
}

/// Runs `scenario` once per seed on `jobs` threads, calling `progress` after each run. Once `stop`
/// says so (Ctrl-C), no new seed starts: the result holds the seeds that finished, in seed order.
pub fn check_seeds(
    scenario: &Scenario,
    seeds: Range<u64>,
    jobs: usize,
    progress: impl Fn() + Sync,
    stop: impl Fn() -> bool + Sync,
) -> Vec<SeedResult> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .expect("a thread pool");
    pool.install(|| {
        seeds
            .into_par_iter()
            .filter_map(|seed| {
                if stop() {
                    return None;
                }
                let run = run_scenario_without_record(scenario, seed);
                progress();
                Some(SeedResult {
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
                })
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
        assert!(parse_seed_range("18446744073709551615").is_err());
        assert!(
            check_seed_count(&(0..u64::MAX))
                .unwrap_err()
                .contains("--shard")
        );
        assert_eq!(check_seed_count(&(0..1000)), Ok(()));
    }
}
