//! Shards: one `check` or `sweep` split over many machines, and the pieces put back together.
//!
//! A check of 10⁵ seeds, or a sweep a whole class runs, outgrows one laptop. Every run of either
//! command is independent and deterministic, keyed only by (scenario, parameter values, seed), so
//! the work splits cleanly **by seed**: `--shard K/N` runs the K-th of N contiguous blocks of the
//! seed range (block sizes differ by at most one seed), on whatever machine an existing batch
//! engine — GNU parallel over ssh, a Slurm job array, Kubernetes Indexed Jobs — puts it. No
//! scheduler of our own: a shard is an ordinary command with an ordinary output directory.
//!
//! Splitting by seed rather than by grid point means no run is done twice: a sweep's baseline runs
//! (without checkpoints, see [`crate::sweep`]) are needed per seed, so each shard runs the
//! baselines of its own seeds only.
//!
//! `snapsim merge DIR…` reads the shards' `check.json` or `sweep.json`, checks that they come from
//! the same scenario (its [`fingerprint`]), the same plan and the same seed range, that every shard
//! 1…N is there exactly once, and writes the files a single-machine run would have written — byte
//! for byte, because each seed's result is the same wherever it ran and every summary is
//! recomputed in seed order.

use crate::engine::Digest;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// One shard of N: the K-th block (1-based) of a seed range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which block, from 1.
    pub index: u64,
    /// How many blocks the range is split into.
    pub of: u64,
}

impl Shard {
    /// Parses `K/N` with 1 ≤ K ≤ N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let Some((index, of)) = text.split_once('/') else {
            return Err(format!(
                "\"{text}\" is not a shard: write K/N, e.g. 2/3 for the second of three"
            ));
        };
        let number = |part: &str| {
            part.trim()
                .parse::<u64>()
                .map_err(|_| format!("\"{text}\" is not a shard: K and N are whole numbers in K/N"))
        };
        let (index, of) = (number(index)?, number(of)?);
        if of == 0 || index == 0 || index > of {
            return Err(format!(
                "\"{text}\" is not a shard: K/N needs 1 ≤ K ≤ N (shards are counted from 1)"
            ));
        }
        Ok(Shard { index, of })
    }

    /// This shard's block of `seeds`: contiguous, in order, the N blocks tiling the range with
    /// sizes that differ by at most one. Fails when the range has fewer seeds than shards.
    pub fn seeds(&self, seeds: &Range<u64>) -> Result<Range<u64>, String> {
        let length = u128::from(seeds.end - seeds.start);
        if length < u128::from(self.of) {
            return Err(format!(
                "{} seed(s) cannot be split into {} shards: give more seeds or fewer shards",
                length, self.of
            ));
        }
        let boundary = |k: u64| {
            // k·length/N fits in u128 for any u64 range and shard count.
            seeds.start + (u128::from(k) * length / u128::from(self.of)) as u64
        };
        Ok(boundary(self.index - 1)..boundary(self.index))
    }
}

/// What a shard's output records about where it belongs: which shard, and of which whole seed
/// range (so `merge` can check that the pieces tile it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardOf {
    /// Which block, from 1.
    pub index: u64,
    /// How many blocks.
    pub of: u64,
    /// First seed of the whole range that was split.
    pub whole_seed_first: u64,
    /// Seeds in the whole range.
    pub whole_seed_count: u64,
}

impl ShardOf {
    /// The shard.
    pub fn shard(&self) -> Shard {
        Shard {
            index: self.index,
            of: self.of,
        }
    }

    /// The whole seed range that was split.
    pub fn whole(&self) -> Range<u64> {
        self.whole_seed_first..self.whole_seed_first + self.whole_seed_count
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.of)
    }
}

/// Where a shard's output came from, for [`same_scenario`].
pub struct Origin<'a> {
    /// The output's name in errors (its file).
    pub name: &'a str,
    /// The scenario's name.
    pub scenario: &'a str,
    /// The scenario document's [`fingerprint`].
    pub fingerprint: &'a str,
}

/// Refuses to merge a shard of another scenario file than the first shard's; `kind` is "check"
/// or "sweep".
pub fn same_scenario(kind: &str, shard: &Origin, first: &Origin) -> Result<(), String> {
    if shard.fingerprint == first.fingerprint && shard.scenario == first.scenario {
        return Ok(());
    }
    Err(format!(
        "{} is a {kind} of {} (fingerprint {}), {} of {} (fingerprint {}): \
         shards of different scenario files cannot be merged",
        shard.name,
        shard.scenario,
        shard.fingerprint,
        first.name,
        first.scenario,
        first.fingerprint
    ))
}

/// A fingerprint of a scenario document: sixteen hex digits of a [`Digest`] over its canonical
/// JSON text (keys sorted, no whitespace), so two copies of one scenario agree however they are
/// formatted, and shards of different versions of a file are refused instead of merged.
pub fn fingerprint(document: &serde_json::Value) -> String {
    let mut digest = Digest::default();
    digest.write_str(&document.to_string());
    digest.hex()
}

/// Checks that `shards` — each a shard record (none if that output was not a shard), the seed
/// range it ran and a name for errors (its directory) — are the N shards of one seed range, each
/// exactly once, tiling it in order. Returns the whole range.
pub fn check_tiling(
    shards: &[(Option<ShardOf>, Range<u64>, String)],
) -> Result<Range<u64>, String> {
    let Some((first, _, first_name)) = shards.first() else {
        return Err("no shard directories given".into());
    };
    let Some(first) = first else {
        return Err(format!(
            "{first_name} is not a shard (it was not run with --shard K/N)"
        ));
    };
    let (count, whole) = (first.of, first.whole());
    let mut seen = vec![None::<&str>; count as usize];
    for (record, seeds, name) in shards {
        let Some(record) = record else {
            return Err(format!(
                "{name} is not a shard (it was not run with --shard K/N)"
            ));
        };
        let shard = record.shard();
        if record.of != count || record.whole() != whole {
            return Err(format!(
                "{name} is shard {shard} of seeds {}..{}, but {first_name} is a shard of {count} of seeds {}..{}",
                record.whole().start,
                record.whole().end,
                whole.start,
                whole.end
            ));
        }
        let slot = &mut seen[(shard.index - 1) as usize];
        if let Some(other) = slot {
            return Err(format!("{name} and {other} are both shard {shard}"));
        }
        *slot = Some(name);
        let expected = shard.seeds(&whole)?;
        if *seeds != expected {
            return Err(format!(
                "{name} (shard {shard}) holds seeds {}..{}, but shard {shard} of seeds {}..{} is {}..{}",
                seeds.start, seeds.end, whole.start, whole.end, expected.start, expected.end
            ));
        }
    }
    if let Some(missing) = seen.iter().position(Option::is_none) {
        return Err(format!(
            "shard {}/{count} is missing: give the directories of all {count} shards",
            missing + 1
        ));
    }
    Ok(whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_shards_tile_ten_seeds_in_order_with_sizes_differing_by_at_most_one() {
        let blocks: Vec<Range<u64>> = (1..=3)
            .map(|k| Shard { index: k, of: 3 }.seeds(&(5..15)).unwrap())
            .collect();
        assert_eq!(blocks, vec![5..8, 8..11, 11..15]);
    }

    #[test]
    fn the_largest_seed_range_splits_without_overflow() {
        let last = Shard { index: 4, of: 4 }.seeds(&(0..u64::MAX)).unwrap();
        assert_eq!(last.end, u64::MAX);
    }

    #[test]
    fn shards_are_counted_from_one_and_never_exceed_their_count() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, of: 3 }));
        for wrong in ["0/3", "4/3", "1/0", "3", "a/b"] {
            assert!(Shard::parse(wrong).is_err(), "{wrong} must be refused");
        }
        assert!(
            Shard { index: 1, of: 3 }
                .seeds(&(0..2))
                .unwrap_err()
                .contains("cannot be split")
        );
    }

    #[test]
    fn a_missing_or_repeated_shard_is_named() {
        let shard = |k| {
            Some(ShardOf {
                index: k,
                of: 3,
                whole_seed_first: 0,
                whole_seed_count: 9,
            })
        };
        let ok = vec![
            (shard(2), 3..6, "b".to_string()),
            (shard(1), 0..3, "a".to_string()),
            (shard(3), 6..9, "c".to_string()),
        ];
        assert_eq!(check_tiling(&ok), Ok(0..9));
        assert!(
            check_tiling(&ok[..2])
                .unwrap_err()
                .contains("shard 3/3 is missing")
        );
        let repeated = vec![ok[0].clone(), ok[1].clone(), (shard(1), 0..3, "d".into())];
        assert!(
            check_tiling(&repeated)
                .unwrap_err()
                .contains("both shard 1/3")
        );
        let wrong_seeds = vec![ok[0].clone(), ok[1].clone(), (shard(3), 6..8, "c".into())];
        assert!(
            check_tiling(&wrong_seeds)
                .unwrap_err()
                .contains("holds seeds 6..8")
        );
    }
}
