//! The streaming application: records, sources and operators, as pure functions.
//!
//! Everything here is deterministic and free of timing, so the oracle can run the same functions
//! on the source prefixes recorded in a checkpoint and compare (the oracle's invariant 5).
//! Values are always 1 at the source and operators only add them up, so every piece of state is a
//! sum that does not depend on the order records arrive in — which is what makes "the failure-free
//! computation on these prefixes" a single, well-defined answer.

use crate::engine::{RngStreams, SimRng};
use rand::{Rng, RngExt};
use serde::Serialize;

pub use super::keyed_state::{KeyTotals, KeyedState, side_by_side};

/// One record of the stream. 32 bytes; buffers hold hundreds of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The key (`keyBy` field).
    pub key: u32,
    /// Index of the source subtask (task index) that produced it.
    pub source_task: u32,
    /// Position in that source's replayable log: (source_task, offset) identifies the record.
    pub offset: u64,
    /// Its value; sources emit 1, aggregations emit running sums.
    pub value: i64,
    /// When the source emitted it (for end-to-end latency).
    pub created_at_us: u64,
}

/// How a source picks keys.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyDistribution {
    /// Every key equally likely.
    Uniform,
    /// Skewed: key `k` (counting from 1) has weight `1/k^exponent`.
    Zipf { exponent: f64 },
}

/// A source: a replayable log per subtask (think Kafka partition) read at an offset.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SourceConfig {
    /// Records per second per subtask; `None` = as fast as the job can take them.
    pub rate_per_s: Option<f64>,
    /// Records per subtask; `None` = unbounded.
    pub records: Option<u64>,
    /// Distinct keys.
    pub keys: u32,
    /// How keys are drawn.
    pub key_distribution: KeyDistribution,
    /// Serialized record size in bytes (what fills network buffers).
    pub record_bytes: u32,
}

/// What an operator does with a record.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorKind {
    /// Emits records from its log; state = the offset.
    Source(SourceConfig),
    /// Stateless, passes every record on.
    Map,
    /// Stateless, passes a fixed, deterministic fraction of records on (by record identity).
    Filter { keep_per_million: u32 },
    /// Keyed running sum: state per key (sum, count); emits the record with the new sum.
    KeyedAggregation { state_bytes_per_key: u32 },
    /// Merges several inputs; stateless.
    Union,
    /// The end of the pipeline: writes to an external system (see [`super::sink`]) and counts
    /// what arrives, per key.
    Sink(SinkConfig),
}

/// How a sink writes to the outside world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkDelivery {
    /// Writes at once: after a replay, readers see duplicates.
    Plain,
    /// Upserts by key: replayed writes overwrite themselves.
    Idempotent,
    /// A transaction per checkpoint, committed on `notifyCheckpointComplete`
    /// (`TwoPhaseCommitSinkFunction`): readers with read-committed isolation see each record once.
    TwoPhaseCommit,
    /// Flink's `FileSink` with a bulk format (`OnCheckpointRollingPolicy`): records go into the
    /// subtask's in-progress part file; at each checkpoint it is closed and becomes pending; on
    /// `notifyCheckpointComplete` the pending files up to that checkpoint are renamed to finished,
    /// the only files a reader of the directory sees. On restore, the restored checkpoint's pending
    /// files are finished and in-progress files begun after it are discarded. A two-phase commit
    /// with part files for transactions, and no timeout: a file never expires.
    File,
}

impl SinkDelivery {
    /// Writes go into a transaction (or part file) committed when a checkpoint completes.
    pub fn is_transactional(self) -> bool {
        matches!(self, SinkDelivery::TwoPhaseCommit | SinkDelivery::File)
    }
}

/// A sink's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SinkConfig {
    /// Delivery mechanism.
    pub delivery: SinkDelivery,
    /// Two-phase commit: transactions open longer than this are aborted by the external system.
    pub transaction_timeout_us: Option<u64>,
}

impl OperatorKind {
    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            OperatorKind::Source(_) => "source",
            OperatorKind::Map => "map",
            OperatorKind::Filter { .. } => "filter",
            OperatorKind::KeyedAggregation { .. } => "keyed_aggregation",
            OperatorKind::Union => "union",
            OperatorKind::Sink(_) => "sink",
        }
    }
}

/// The state of one operator instance. Keyed state iterates in key order, like a `BTreeMap`, so
/// that iteration (reports, comparisons, digests) is the same on every machine; and it is cheap to
/// clone, so that a snapshot does not copy every key ([`KeyedState`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OperatorState {
    /// Sources: the next offset to read.
    pub offset: u64,
    /// Keyed aggregations and sinks: totals per key.
    pub keyed: KeyedState,
}

impl OperatorState {
    /// Adds another instance's state (used to merge all subtasks of one operator).
    pub fn merge(&mut self, other: &OperatorState) {
        if self.offset == 0 && self.keyed.is_empty() {
            // Into nothing: a copy, which shares every page with `other` (see KeyedState).
            self.offset = other.offset;
            self.keyed = other.keyed.clone();
            return;
        }
        self.offset += other.offset;
        if other.keyed.is_empty() {
            return;
        }
        self.keyed = self.keyed.summed_with(&other.keyed);
    }

    /// Records reflected in the state (sum of counts).
    pub fn record_count(&self) -> u64 {
        self.keyed.values().map(|t| t.count).sum()
    }
}

/// Applies one operator to one record: updates `state`, returns the record to pass on, if any.
#[inline]
pub fn apply(kind: &OperatorKind, state: &mut OperatorState, record: Record) -> Option<Record> {
    match kind {
        OperatorKind::Source(_) | OperatorKind::Map | OperatorKind::Union => Some(record),
        OperatorKind::Filter { keep_per_million } => {
            (record_hash(record.source_task, record.offset) % 1_000_000
                < u64::from(*keep_per_million))
            .then_some(record)
        }
        OperatorKind::KeyedAggregation { .. } => {
            let totals = state.keyed.totals_mut(record.key);
            totals.sum += record.value;
            totals.count += 1;
            Some(Record {
                value: totals.sum,
                ..record
            })
        }
        OperatorKind::Sink(_) => {
            let totals = state.keyed.totals_mut(record.key);
            totals.sum += record.value;
            totals.count += 1;
            None
        }
    }
}

/// A well-mixed 64-bit hash of a record's identity (SplitMix64 finaliser).
pub fn record_hash(source_task: u32, offset: u64) -> u64 {
    mix64(offset ^ (u64::from(source_task) << 40) ^ 0x5851_f42d_4c95_7f2d)
}

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Flink's key-group assignment (`KeyGroupRangeAssignment.assignToKeyGroup`):
/// `murmurHash(key.hashCode()) % maxParallelism`, with the key as a Java `Integer` (whose hash code
/// is its value). Together with [`subtask_for_key_group`] this splits keys between subtasks exactly
/// as Flink does: keys 0..1000 over two subtasks of max parallelism 128 go 510 / 490.
pub fn key_group(key: u32, max_parallelism: u32) -> u32 {
    (flink_murmur_hash(key as i32) as u32) % max_parallelism
}

/// Flink's `MathUtils.murmurHash(int)`: MurmurHash3's mixing of one 32-bit word, its finaliser, and
/// the result made non-negative (`Integer.MIN_VALUE` becomes 0). Java's `int` arithmetic wraps,
/// as `wrapping_mul` does; `>>>` is the shift of the unsigned word.
pub fn flink_murmur_hash(code: i32) -> i32 {
    let mut code = code.wrapping_mul(0xcc9e_2d51_u32 as i32);
    code = code.rotate_left(15);
    code = code.wrapping_mul(0x1b87_3593);
    code = code.rotate_left(13);
    code = code.wrapping_mul(5).wrapping_add(0xe654_6b64_u32 as i32);
    code ^= 4;
    // bitMix: MurmurHash3's 32-bit finaliser.
    let mut mixed = code as u32;
    mixed ^= mixed >> 16;
    mixed = mixed.wrapping_mul(0x85eb_ca6b);
    mixed ^= mixed >> 13;
    mixed = mixed.wrapping_mul(0xc2b2_ae35);
    mixed ^= mixed >> 16;
    let code = mixed as i32;
    if code >= 0 {
        code
    } else if code != i32::MIN {
        -code
    } else {
        0
    }
}

/// Which subtask owns a key group (`computeOperatorIndexForKeyGroup`): `kg · P / maxP`.
pub fn subtask_for_key_group(key_group: u32, parallelism: u32, max_parallelism: u32) -> u32 {
    (u64::from(key_group) * u64::from(parallelism) / u64::from(max_parallelism)) as u32
}

/// The key groups a subtask owns (`computeKeyGroupRangeForOperatorIndex`), inclusive.
pub fn key_group_range(subtask: u32, parallelism: u32, max_parallelism: u32) -> (u32, u32) {
    let (p, max) = (u64::from(parallelism), u64::from(max_parallelism));
    let i = u64::from(subtask);
    let start = (i * max).div_ceil(p);
    let end = ((i + 1) * max - 1) / p;
    (start as u32, end as u32)
}

/// Flink's default max parallelism (`KeyGroupRangeAssignment.computeDefaultMaxParallelism`):
/// `min(max(roundUpToPowerOfTwo(P + P / 2), 128), 32768)`, with integer division.
pub fn default_max_parallelism(parallelism: u32) -> u32 {
    let scaled = (u64::from(parallelism) + u64::from(parallelism) / 2).next_power_of_two();
    scaled.clamp(128, 32_768) as u32
}

/// Generates one source subtask's log. Record `k` of the log is the same in every run with the same
/// seed, whatever the timing: the log has its own random stream, used for nothing else. That is what
/// makes the source replayable (rewind to an offset, read the same records again).
pub struct SourceLog {
    rng: SimRng,
    cumulative_weights: Vec<f64>,
    keys: u32,
    next_offset: u64,
}

impl SourceLog {
    /// The log of source subtask `task` (its component name decides its stream).
    pub fn new(streams: &RngStreams, component: &str, config: &SourceConfig) -> SourceLog {
        let cumulative_weights = match config.key_distribution {
            KeyDistribution::Uniform => Vec::new(),
            KeyDistribution::Zipf { exponent } => {
                let mut total = 0.0;
                (1..=config.keys)
                    .map(|k| {
                        total += 1.0 / libm::pow(f64::from(k), exponent);
                        total
                    })
                    .collect()
            }
        };
        SourceLog {
            rng: streams.stream(component),
            cumulative_weights,
            keys: config.keys,
            next_offset: 0,
        }
    }

    /// The key of the next record in the log, and its offset.
    pub fn next_key(&mut self) -> (u64, u32) {
        let offset = self.next_offset;
        self.next_offset += 1;
        let key = if self.cumulative_weights.is_empty() {
            self.rng.random_range(0..self.keys)
        } else {
            let total = *self.cumulative_weights.last().expect("at least one key");
            let draw = (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64) * total;
            self.cumulative_weights
                .partition_point(|&w| w <= draw)
                .min(self.keys as usize - 1) as u32
        };
        (offset, key)
    }

    /// Offset of the next record.
    pub fn offset(&self) -> u64 {
        self.next_offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_group_ranges_cover_every_group_exactly_once_like_flink() {
        for parallelism in 1..=7 {
            let mut covered = vec![0; 128];
            for subtask in 0..parallelism {
                let (start, end) = key_group_range(subtask, parallelism, 128);
                for group in start..=end {
                    covered[group as usize] += 1;
                    assert_eq!(subtask_for_key_group(group, parallelism, 128), subtask);
                }
            }
            assert!(covered.iter().all(|&c| c == 1), "parallelism {parallelism}");
        }
    }

    #[test]
    fn default_max_parallelism_matches_flink() {
        assert_eq!(default_max_parallelism(1), 128);
        assert_eq!(default_max_parallelism(100), 256);
        // 171 + 85 = 256 exactly: Flink's integer division keeps it at 256.
        assert_eq!(default_max_parallelism(171), 256);
        assert_eq!(default_max_parallelism(100_000), 32_768);
    }

    /// The values Flink's documented algorithm gives, computed independently with Java's `int`
    /// arithmetic (`MathUtils.murmurHash`, `KeyGroupRangeAssignment.computeKeyGroupForKeyHash` and
    /// `computeOperatorIndexForKeyGroup`, for `Integer` keys): key → murmur hash → key group of 128
    /// → subtask at parallelism 2 and 3.
    #[test]
    fn keys_go_to_the_key_groups_and_subtasks_flink_gives_them() {
        let flink: [(u32, i32, u32, u32, u32); 10] = [
            (0, 593_689_054, 94, 1, 2),
            (1, 68_075_478, 86, 1, 2),
            (2, 1_085_422_463, 127, 1, 2),
            (3, 847_579_505, 113, 1, 2),
            (7, 1_343_918_321, 113, 1, 2),
            (42, 1_134_849_565, 29, 0, 0),
            (500, 1_231_367_610, 58, 0, 1),
            (999, 1_106_864_709, 69, 1, 1),
            (123_456, 1_294_369_584, 48, 0, 1),
            (2_147_483_647, 1_653_689_534, 62, 0, 1),
        ];
        for (key, hash, group, at_two, at_three) in flink {
            assert_eq!(flink_murmur_hash(key as i32), hash, "key {key}");
            assert_eq!(key_group(key, 128), group, "key {key}");
            assert_eq!(subtask_for_key_group(group, 2, 128), at_two, "key {key}");
            assert_eq!(subtask_for_key_group(group, 3, 128), at_three, "key {key}");
        }
        let split = (0..1000u32).fold([0; 2], |mut split, key| {
            split[subtask_for_key_group(key_group(key, 128), 2, 128) as usize] += 1;
            split
        });
        assert_eq!(
            split,
            [510, 490],
            "1000 keys over two subtasks, as in Flink"
        );
    }

    #[test]
    fn a_log_replays_the_same_records() {
        let config = SourceConfig {
            rate_per_s: None,
            records: None,
            keys: 50,
            key_distribution: KeyDistribution::Zipf { exponent: 1.2 },
            record_bytes: 28,
        };
        let streams = RngStreams::new(4);
        let mut a = SourceLog::new(&streams, "source[0]", &config);
        let mut b = SourceLog::new(&streams, "source[0]", &config);
        let first: Vec<_> = (0..100).map(|_| a.next_key()).collect();
        let again: Vec<_> = (0..100).map(|_| b.next_key()).collect();
        assert_eq!(first, again);
        // Zipf: key 0 is the most frequent.
        let zeros = first.iter().filter(|(_, k)| *k == 0).count();
        assert!(zeros > 10, "{zeros}");
    }

    #[test]
    fn a_keyed_aggregation_emits_running_sums() {
        let kind = OperatorKind::KeyedAggregation {
            state_bytes_per_key: 18,
        };
        let mut state = OperatorState::default();
        let record = Record {
            key: 7,
            source_task: 0,
            offset: 0,
            value: 1,
            created_at_us: 0,
        };
        assert_eq!(apply(&kind, &mut state, record).unwrap().value, 1);
        assert_eq!(apply(&kind, &mut state, record).unwrap().value, 2);
        assert_eq!(state.keyed.get(&7), Some(&KeyTotals { sum: 2, count: 2 }));
    }
}
