//! One subtask as the world runs it: its operator chain and state, its source, its place in the
//! task loop (status, mailbox, the slice being read), its barrier handler and the snapshots it has
//! in progress.

use super::buffer::BufferId;
use crate::checkpoint::barrier::TaskBarrierHandler;
use crate::checkpoint::metrics::SubtaskCheckpointStats;
use crate::checkpoint::rocksdb_files::{IncrementalSnapshot, RocksDbFiles};
use crate::dataflow::results::{TaskMetrics, TaskSnapshot};
use crate::engine::{LatencyDistribution, SimRng, SimTime};
use crate::topology::job::{DataChannelIndex, OutputEdge};
use crate::workload::dataflow::{OperatorState, Record, SourceLog};
use crate::workload::rate_limiter::RateLimiter;
use std::collections::{BTreeMap, VecDeque};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Status {
    Idle,
    /// Processing one record.
    Busy,
    /// In the synchronous phase of a snapshot.
    Sync,
    Finished,
    /// Crashed; the job manager has not noticed yet.
    Failed,
    /// Cancelled by a failover, waiting for the restart.
    Canceled,
    /// Redeployed, downloading its state.
    Restoring,
}

/// A mailbox action: runs when the task is between records, never in the middle of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mail {
    /// The coordinator's trigger RPC arrived (sources, and tasks whose inputs all ended).
    Trigger { checkpoint: u64 },
    /// `aligned-checkpoint-timeout` passed while aligning.
    AlignmentTimeout { checkpoint: u64 },
}

pub(super) use crate::dataflow::results::TaskActivity as Activity;

pub(super) struct SourceRuntime {
    pub(super) log: SourceLog,
    /// The log as read so far: a rewound source reads the same keys again.
    pub(super) keys: Vec<u32>,
    /// Rate-limited sources: the limiter, and the permit reserved for the next record (when it
    /// may be used).
    pub(super) limiter: Option<RateLimiter>,
    pub(super) reserved_until_us: Option<u64>,
    pub(super) limit: Option<u64>,
    pub(super) tick_scheduled: bool,
}

/// The time and the bytes of one alignment at one task, for its statistics: it opens when the
/// task's barrier handler starts aligning a checkpoint (first barrier, or the trigger of a task
/// whose inputs ended) and closes when the handler stops aligning it.
pub(super) struct AlignmentWindow {
    pub(super) checkpoint: u64,
    pub(super) first_barrier_at: SimTime,
    /// `alignment.processed`: bytes processed meanwhile.
    pub(super) processed_bytes: u64,
}

/// What one checkpoint keeps in checkpoint storage, over all its subtasks: files of its own, and
/// RocksDB files it shares with other checkpoints, `((task, file), bytes)`.
#[derive(Default)]
pub(super) struct CheckpointStorage {
    pub(super) exclusive_bytes: u64,
    pub(super) shared_files: BTreeMap<(u64, u64), u64>,
}

/// A snapshot this task has taken and not yet acknowledged.
pub(super) struct SnapshotInProgress {
    /// Bytes only this checkpoint's files hold (all of a full snapshot; the non-RocksDB part of
    /// an incremental one).
    pub(super) exclusive_bytes: u64,
    /// The RocksDB files it references, `(chain position << 48 | file id, bytes)`.
    pub(super) shared_files: Vec<(u64, u64)>,
    pub(super) snapshot: TaskSnapshot,
    pub(super) stats: SubtaskCheckpointStats,
    pub(super) sync_end: Option<SimTime>,
    pub(super) needs_channel_state: bool,
    /// Input side done: every barrier of this checkpoint has arrived (or none was needed).
    pub(super) channel_state_final: bool,
    /// Broken variant: the in-flight data this snapshot should hold is dropped.
    pub(super) forgets_channel_state: bool,
    /// Aligned-with-timeout senders: barriers of this checkpoint still queued, unsent and
    /// unconverted. The snapshot can only be acknowledged once none is left, because a barrier
    /// converted at the timeout turns the data it overtakes into this task's channel state.
    pub(super) outputs_pending: u32,
    pub(super) state_uploaded: bool,
    pub(super) channel_uploaded: bool,
    pub(super) channel_upload_started: bool,
    pub(super) state_bytes_uploaded: u64,
}

impl SnapshotInProgress {
    /// A snapshot just taken: nothing uploaded yet. With `channel_state`, its input side is
    /// complete only once every barrier has arrived; `forgets_channel_state` (a broken variant)
    /// drops what it should persist.
    pub(super) fn new(
        snapshot: TaskSnapshot,
        stats: SubtaskCheckpointStats,
        channel_state: bool,
        forgets_channel_state: bool,
    ) -> SnapshotInProgress {
        SnapshotInProgress {
            exclusive_bytes: 0,
            shared_files: Vec::new(),
            snapshot,
            stats,
            sync_end: None,
            needs_channel_state: channel_state,
            channel_state_final: !channel_state,
            forgets_channel_state,
            outputs_pending: 0,
            state_uploaded: false,
            channel_uploaded: false,
            channel_upload_started: false,
            state_bytes_uploaded: 0,
        }
    }
}

pub(super) struct Task {
    pub(super) chain: Vec<usize>,
    pub(super) costs: Vec<LatencyDistribution>,
    pub(super) states: Vec<OperatorState>,
    pub(super) source: Option<SourceRuntime>,
    pub(super) rng: SimRng,
    pub(super) status: Status,
    pub(super) in_hand: Option<Record>,
    /// The slice being read: channel, buffer, next record, end of the slice.
    pub(super) reading: Option<(DataChannelIndex, BufferId, usize, usize)>,
    pub(super) poll: VecDeque<DataChannelIndex>,
    pub(super) priority: VecDeque<DataChannelIndex>,
    pub(super) inputs: Vec<DataChannelIndex>,
    pub(super) edges: Vec<OutputEdge>,
    pub(super) rebalance_next: Vec<u32>,
    pub(super) outputs: Vec<DataChannelIndex>,
    pub(super) pool_capacity: u32,
    pub(super) pool_used: u32,
    pub(super) activity: Activity,
    pub(super) activity_since: SimTime,
    pub(super) metrics: TaskMetrics,
    /// Actions that run between records (Flink's mailbox): checkpoint triggers and timers.
    pub(super) mailbox: VecDeque<Mail>,
    /// The barrier handler: the checkpoint protocol of this task.
    pub(super) barriers: TaskBarrierHandler,
    /// The alignments in progress, for their statistics.
    pub(super) alignment_windows: Vec<AlignmentWindow>,
    pub(super) snapshots: BTreeMap<u64, SnapshotInProgress>,
    /// Incremental RocksDB: per chained operator, its SST files (`None`: not keyed, or not
    /// incremental).
    pub(super) rocksdb: Vec<Option<RocksDbFiles>>,
    /// What each snapshot's files weigh, from the snapshot to its upload.
    pub(super) rocksdb_snapshots: BTreeMap<u64, IncrementalSnapshot>,
    /// Stop-the-world: the sources are paused.
    pub(super) paused: bool,
    pub(super) finish_announced: bool,
    /// Subtask index.
    pub(super) subtask: u32,
    /// Bumped at every cancel: events of an earlier attempt are ignored.
    pub(super) incarnation: u32,
    /// The checkpoint whose synchronous phase is running.
    pub(super) syncing: Option<u64>,
    /// The sink in this chain, if any: (position in the chain, index into the world's sinks).
    pub(super) sink: Option<(usize, usize)>,
    /// End of data: the last record is processed and end-of-partition is queued on every output
    /// (Flink's `EndOfData`). The task keeps running, and checkpointing, until it may finish.
    pub(super) data_ended: bool,
    /// The first checkpoint this task snapshotted after its input ended, and whether a checkpoint
    /// at least that new has completed: with checkpointing on, a task finishes only then
    /// (FLIP-147's final checkpoint), so two-phase-commit sinks commit their last transaction.
    pub(super) final_checkpoint: Option<u64>,
    pub(super) final_checkpoint_done: bool,
    /// Straggler fault: processing is this many times slower until `straggling_until`.
    pub(super) straggle_factor: f64,
    pub(super) straggling_until: SimTime,
    /// Decline-checkpoint fault: the next snapshot is declined.
    pub(super) decline_next: bool,
    /// CPU time per record that Flink's runtime adds to the user functions (framework cost).
    pub(super) framework_us: u64,
    /// The host whose cores it shares (`None`: unlimited cores).
    pub(super) host: Option<usize>,
    /// Holds one of its host's cores.
    pub(super) core_held: bool,
    /// Work done since it took its core, against the scheduling quantum.
    pub(super) quantum_used_us: u64,
    /// Waiting for a core, with this much work (0: to run its mailbox).
    pub(super) pending_work_us: Option<u64>,
    /// Its own stream for mailbox delays.
    pub(super) mailbox_rng: SimRng,
}
