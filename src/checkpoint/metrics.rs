//! Checkpoint statistics with Flink's metric names (REST `/jobs/:id/checkpoints`, the web UI's
//! checkpoint tab): per checkpoint and per subtask.

use serde::Serialize;

/// Where a checkpoint ended up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckpointStatus {
    /// Still pending when the run ended.
    InProgress,
    /// Acknowledged by every task.
    Completed,
    /// Aborted; see `failure_reason`.
    Failed,
}

/// How far a subtask got with a checkpoint that ended without its acknowledgement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubtaskProgress {
    /// The subtask acknowledged the checkpoint.
    Acknowledged,
    /// It took its snapshot; the upload or the acknowledgement was still on its way.
    SnapshotTaken,
    /// It had received barriers on some inputs and was waiting for the rest.
    Aligning,
    /// No barrier (for a source: no trigger) had reached it yet.
    NoBarrierYet,
    /// The subtask had finished (its input ended) before the checkpoint reached it.
    Finished,
    /// The subtask was not running (failed, cancelled or restoring).
    NotRunning,
}

/// One subtask's part of a checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SubtaskCheckpointStats {
    /// Task name, e.g. `sum→sink[0]`.
    pub task: String,
    /// When the job manager received the acknowledgement (µs).
    pub ack_timestamp_us: Option<u64>,
    /// Trigger → acknowledgement (µs).
    pub end_to_end_duration_us: Option<u64>,
    /// Bytes uploaded for this checkpoint (incremental: the delta; plus persisted data).
    pub checkpointed_size: u64,
    /// Full size of the snapshot (state plus persisted in-flight data).
    pub state_size: u64,
    /// `checkpoint.sync`: synchronous phase on the task thread (µs).
    pub sync_duration_us: u64,
    /// `checkpoint.async`: asynchronous phase, up to the acknowledgement (µs).
    pub async_duration_us: u64,
    /// `alignment.duration`: first barrier → last barrier at this subtask (µs).
    pub alignment_duration_us: u64,
    /// `alignment.processed`: bytes processed between the first and the last barrier.
    pub processed_data: u64,
    /// `alignment.persisted`: in-flight bytes persisted (unaligned).
    pub persisted_data: u64,
    /// `start_delay`: trigger → first barrier at this subtask (µs).
    pub start_delay_us: u64,
    /// `unaligned_checkpoint`.
    pub unaligned: bool,
    /// Where it stood when the checkpoint ended, if it did not acknowledge (failed and
    /// unfinished checkpoints only; `None` otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<SubtaskProgress>,
}

/// One checkpoint, as the checkpoint history shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckpointStats {
    /// Checkpoint id.
    pub id: u64,
    /// Outcome.
    pub status: CheckpointStatus,
    /// A savepoint rather than a checkpoint.
    pub is_savepoint: bool,
    /// Trigger time (µs).
    pub trigger_timestamp_us: u64,
    /// Last acknowledgement (µs).
    pub latest_ack_timestamp_us: Option<u64>,
    /// Trigger → last acknowledgement (or → abort) (µs).
    pub end_to_end_duration_us: Option<u64>,
    /// Sum over subtasks of the full snapshot size.
    pub state_size: u64,
    /// Sum over subtasks of the uploaded bytes.
    pub checkpointed_size: u64,
    /// Sum over subtasks of `alignment.processed`.
    pub processed_data: u64,
    /// Sum over subtasks of `alignment.persisted`.
    pub persisted_data: u64,
    /// Largest alignment duration of any subtask (µs).
    pub alignment_duration_us: u64,
    /// Largest start delay of any subtask (µs).
    pub start_delay_us: u64,
    /// Largest synchronous phase (µs).
    pub sync_duration_us: u64,
    /// Largest asynchronous phase (µs).
    pub async_duration_us: u64,
    /// Any subtask snapshotted unaligned.
    pub unaligned: bool,
    /// Subtasks that had to acknowledge.
    pub num_subtasks: u32,
    /// Subtasks that did.
    pub num_acknowledged_subtasks: u32,
    /// Why it failed, if it did.
    pub failure_reason: Option<String>,
    /// Checkpoint storage in use when it completed: every retained checkpoint's own files, and
    /// each shared RocksDB file once (bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_in_use_bytes: Option<u64>,
    /// When it was discarded because `num-retained` newer checkpoints had completed (µs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discarded_at_us: Option<u64>,
    /// Bytes its discarding deleted: its own files and the shared files no retained checkpoint
    /// references any more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freed_bytes: Option<u64>,
    /// Per subtask.
    pub subtasks: Vec<SubtaskCheckpointStats>,
}

impl CheckpointStats {
    /// Recomputes the checkpoint-level figures from the subtasks (sums and maxima, as Flink).
    pub fn aggregate(&mut self) {
        let acknowledged: Vec<&SubtaskCheckpointStats> = self
            .subtasks
            .iter()
            .filter(|s| s.ack_timestamp_us.is_some())
            .collect();
        self.num_acknowledged_subtasks = acknowledged.len() as u32;
        self.state_size = acknowledged.iter().map(|s| s.state_size).sum();
        self.checkpointed_size = acknowledged.iter().map(|s| s.checkpointed_size).sum();
        self.processed_data = self.subtasks.iter().map(|s| s.processed_data).sum();
        self.persisted_data = self.subtasks.iter().map(|s| s.persisted_data).sum();
        self.alignment_duration_us = self
            .subtasks
            .iter()
            .map(|s| s.alignment_duration_us)
            .max()
            .unwrap_or(0);
        self.start_delay_us = self
            .subtasks
            .iter()
            .map(|s| s.start_delay_us)
            .max()
            .unwrap_or(0);
        self.sync_duration_us = self
            .subtasks
            .iter()
            .map(|s| s.sync_duration_us)
            .max()
            .unwrap_or(0);
        self.async_duration_us = self
            .subtasks
            .iter()
            .map(|s| s.async_duration_us)
            .max()
            .unwrap_or(0);
        self.unaligned = self.subtasks.iter().any(|s| s.unaligned);
        self.latest_ack_timestamp_us = acknowledged.iter().filter_map(|s| s.ack_timestamp_us).max();
    }
}
