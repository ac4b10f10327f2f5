//! Snapshot phases (Flink's `SubtaskCheckpointCoordinatorImpl`): the snapshot itself, the
//! synchronous phase on the task thread, the asynchronous upload of state and channel state to
//! checkpoint storage (full, or incremental with RocksDB), the acknowledgement to the
//! coordinator, and what the completion notice does (two-phase commit, the incremental base).

use super::event::Event;
use super::host_cpu::SnapshotWrite;
use super::state::World;
use super::task::{Activity, SnapshotInProgress, Status};
use crate::checkpoint::barrier::{self, SnapshotKind};
use crate::checkpoint::coordinator::AbortReason;
use crate::checkpoint::metrics::SubtaskCheckpointStats;
use crate::checkpoint::rocksdb_files::IncrementalSnapshot;
use crate::checkpoint::two_phase_commit::CommitAction;
use crate::dataflow::results::TaskSnapshot;
use crate::engine::SimTime;
use crate::topology::job::TaskIndex;
use crate::trace::DataflowEvent;
use crate::workload::dataflow::OperatorKind;

impl World<'_> {
    /// Takes this task's snapshot of `checkpoint` (Flink's `SubtaskCheckpointCoordinator`, step
    /// 0): records where every input stands, copies the operator state, pre-commits a
    /// two-phase-commit sink. Returns the synchronous phase's duration; the barriers and channel
    /// state come next, as their own actions, then the synchronous phase starts.
    pub(super) fn take_snapshot(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        checkpoint: u64,
        kind: SnapshotKind,
        forget_channel_state: bool,
    ) -> u64 {
        let unaligned = kind == SnapshotKind::Unaligned;
        let records_input = kind.records_channel_state();
        self.trace.push(DataflowEvent::SnapshotTaken {
            time: now,
            task: task as u32,
            checkpoint,
            unaligned,
        });
        for index in 0..self.tasks[task].inputs.len() {
            let channel = self.tasks[task].inputs[index];
            self.trace.push(DataflowEvent::InputPosition {
                time: now,
                channel: channel as u32,
                checkpoint,
                records_consumed: self.channels[channel].records_consumed,
            });
        }
        let snapshot = TaskSnapshot {
            task,
            operator_states: self.tasks[task].states.clone(),
            input_channel_state: Vec::new(),
            output_channel_state: Vec::new(),
            unaligned,
            pending_transactions: self.pre_commit(task, checkpoint),
        };
        let (first_barrier, _) = self.alignment_window(now, task, checkpoint);
        let start_delay_us = first_barrier
            .as_micros()
            .saturating_sub(self.trigger_us(checkpoint));
        let sync_us = self.sync_duration_us(task);
        self.snapshot_rocksdb(task, checkpoint);
        let stats = SubtaskCheckpointStats {
            task: self.graph.tasks[task].name.clone(),
            sync_duration_us: sync_us,
            start_delay_us,
            unaligned,
            ..SubtaskCheckpointStats::default()
        };
        let progress =
            SnapshotInProgress::new(snapshot, stats, records_input, forget_channel_state);
        self.tasks[task].snapshots.insert(checkpoint, progress);
        sync_us
    }

    /// Step 5: the synchronous part of a snapshot, on the task thread.
    pub(super) fn start_sync_phase(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        (checkpoint, sync_us): (u64, u64),
    ) {
        if self.stopping_with == Some(checkpoint) {
            self.tasks[task].paused = true;
        }
        self.tasks[task].status = Status::Sync;
        self.tasks[task].syncing = Some(checkpoint);
        self.set_activity(now, task, Activity::Busy);
        self.queue.schedule_after(
            sync_us,
            Event::SyncDone {
                task: task as u32,
                checkpoint,
            },
        );
    }

    /// The size of the task's state, for the synchronous phase and the upload.
    pub(super) fn state_bytes(&self, task: TaskIndex) -> u64 {
        (0..self.tasks[task].chain.len())
            .map(|position| self.operator_state_bytes(task, position))
            .sum()
    }

    /// The size of one chained operator's state: a source's offset, a keyed operator's keys.
    fn operator_state_bytes(&self, task: TaskIndex, position: usize) -> u64 {
        let t = &self.tasks[task];
        match self.model.job.operators[t.chain[position]].kind {
            OperatorKind::Source(_) => 16,
            OperatorKind::KeyedAggregation {
                state_bytes_per_key,
            } => t.states[position].keyed.len() as u64 * u64::from(state_bytes_per_key),
            _ => 0,
        }
    }

    /// How long the synchronous phase takes: a fixed part plus a part per MiB of state.
    pub(super) fn sync_duration_us(&self, task: TaskIndex) -> u64 {
        let state = &self.model.state;
        let bytes = self.state_bytes(task);
        state.sync_base_us
            + (bytes as u128 * u128::from(state.sync_per_mb_us) / (1024 * 1024)) as u64
    }

    /// Incremental RocksDB: the snapshot flushes each keyed operator's memtable (and compacts, if
    /// level 0 is full); what its files weigh is kept for the upload.
    pub(super) fn snapshot_rocksdb(&mut self, task: TaskIndex, checkpoint: u64) {
        let t = &mut self.tasks[task];
        if t.rocksdb.iter().all(Option::is_none) {
            return;
        }
        let mut sizes = IncrementalSnapshot::default();
        for (position, db) in t.rocksdb.iter_mut().enumerate() {
            let Some(db) = db else { continue };
            let snapshot = db.checkpoint(checkpoint);
            sizes.full_bytes += snapshot.full_bytes;
            sizes.uploaded_bytes += snapshot.uploaded_bytes;
            // File ids are unique within one instance: the chain position tells instances apart.
            sizes.files.extend(
                snapshot
                    .files
                    .iter()
                    .map(|&(id, bytes)| ((position as u64) << 48 | id, bytes)),
            );
        }
        t.rocksdb_snapshots.insert(checkpoint, sizes);
    }

    /// A snapshot's full size and the bytes it uploads: with incremental RocksDB, the SST files it
    /// references and the new ones among them (plus the other operators' state, whole); otherwise
    /// the whole state, both.
    pub(super) fn snapshot_sizes(&mut self, task: TaskIndex, checkpoint: u64) -> (u64, u64) {
        let whole = self.state_bytes(task);
        let Some(files) = self.tasks[task].rocksdb_snapshots.remove(&checkpoint) else {
            if let Some(p) = self.tasks[task].snapshots.get_mut(&checkpoint) {
                p.exclusive_bytes = whole;
            }
            return (whole, whole);
        };
        // The operators without RocksDB instances (a source's offset) upload their state whole.
        let keyed_raw: u64 = (0..self.tasks[task].chain.len())
            .filter(|&position| matches!(self.tasks[task].rocksdb.get(position), Some(Some(_))))
            .map(|position| self.operator_state_bytes(task, position))
            .sum();
        let other = whole - keyed_raw;
        if let Some(p) = self.tasks[task].snapshots.get_mut(&checkpoint) {
            p.exclusive_bytes = other;
            p.shared_files = files.files.clone();
        }
        (files.full_bytes + other, files.uploaded_bytes + other)
    }

    /// The synchronous phase is over: the upload starts (or, with storage down, the snapshot
    /// fails).
    pub(super) fn sync_done(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        if self.tasks[task].syncing != Some(checkpoint) {
            return; // from an attempt that a failover cancelled
        }
        self.tasks[task].syncing = None;
        if self.tasks[task].status == Status::Sync {
            self.tasks[task].status = Status::Idle;
            self.set_activity(now, task, Activity::Idle);
        }
        if self.storage_down(now) && self.tasks[task].snapshots.contains_key(&checkpoint) {
            // The upload fails: the task declines the checkpoint (an IO exception).
            self.barrier_input(
                now,
                task,
                barrier::Input::SnapshotFailed {
                    checkpoint,
                    reason: AbortReason::IoException,
                },
            );
            self.wake(task);
            return;
        }
        let (full, uploaded) = self.snapshot_sizes(task, checkpoint);
        if let Some(progress) = self.tasks[task].snapshots.get_mut(&checkpoint) {
            progress.sync_end = Some(now);
            progress.state_bytes_uploaded = uploaded;
            progress.stats.state_size = full;
            self.start_writer(task, checkpoint, false, uploaded);
        }
        self.maybe_upload_channel_state(now, task, checkpoint);
        self.wake(task);
    }

    /// Once the synchronous phase is over, the inputs are complete and no barrier is stuck in an
    /// output, the channel state is uploaded.
    pub(super) fn maybe_upload_channel_state(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        checkpoint: u64,
    ) {
        let Some(progress) = self.tasks[task].snapshots.get_mut(&checkpoint) else {
            return;
        };
        if progress.sync_end.is_none()
            || !progress.channel_state_final
            || progress.outputs_pending > 0
            || progress.channel_upload_started
        {
            return;
        }
        progress.channel_upload_started = true;
        if !progress.needs_channel_state {
            progress.channel_uploaded = true;
            self.maybe_acknowledge(now, task, checkpoint);
            return;
        }
        let persisted = progress.stats.persisted_data;
        self.start_writer(task, checkpoint, true, persisted);
    }

    /// A snapshot writer thread starts copying `bytes` of the snapshot (see
    /// [`World::run_writer`]).
    fn start_writer(&mut self, task: TaskIndex, checkpoint: u64, channel_state: bool, bytes: u64) {
        let work_us = self.model.runtime.snapshot_write_us(bytes);
        self.run_writer(SnapshotWrite {
            task,
            checkpoint,
            channel_state,
            work_us,
        });
    }

    /// A snapshot writer has copied its bytes: it frees its core, and the storage transfer runs.
    pub(super) fn write_copied(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        checkpoint: u64,
        channel_state: bool,
    ) {
        self.writer_done(task);
        let bytes = self.tasks[task].snapshots.get(&checkpoint).map_or(0, |p| {
            if channel_state {
                p.stats.persisted_data
            } else {
                p.state_bytes_uploaded
            }
        });
        let at = now.after_us(self.storage_transfer_us(now, bytes));
        let event = if channel_state {
            Event::ChannelStateUploaded {
                task: task as u32,
                checkpoint,
            }
        } else {
            Event::StateUploaded {
                task: task as u32,
                checkpoint,
            }
        };
        self.queue.schedule_at(at, event);
    }

    /// Once state and channel state are uploaded, the task acknowledges the checkpoint.
    pub(super) fn maybe_acknowledge(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        let ready = self.tasks[task]
            .snapshots
            .get(&checkpoint)
            .is_some_and(|p| p.state_uploaded && p.channel_uploaded);
        if !ready {
            return;
        }
        let mut progress = self.tasks[task]
            .snapshots
            .remove(&checkpoint)
            .expect("ready");
        let storage = self.checkpoint_storage.entry(checkpoint).or_default();
        storage.exclusive_bytes += progress.exclusive_bytes + progress.stats.persisted_data;
        storage.shared_files.extend(
            progress
                .shared_files
                .iter()
                .map(|&(file, bytes)| ((task as u64, file), bytes)),
        );
        let sync_end = progress.sync_end.expect("uploaded after sync");
        progress.stats.async_duration_us = now.since_us(sync_end);
        progress.stats.checkpointed_size =
            progress.state_bytes_uploaded + progress.stats.persisted_data;
        progress.stats.state_size += progress.stats.persisted_data;
        let at = now.after_us(self.model.network.rpc_latency_us);
        if let Some(stats) = self.stats.get_mut(&checkpoint) {
            stats.subtasks[task] = SubtaskCheckpointStats {
                task: stats.subtasks[task].task.clone(),
                ..progress.stats
            };
        }
        if self
            .coordinator
            .as_ref()
            .is_some_and(|c| c.is_pending(checkpoint))
        {
            self.acked_snapshots
                .entry(checkpoint)
                .or_default()
                .push(progress.snapshot);
        }
        self.queue.schedule_at(
            at,
            Event::AckArrive {
                task: task as u32,
                checkpoint,
            },
        );
        // A task waiting for its last snapshot to finish may now end.
        self.wake(task);
    }

    /// `notifyCheckpointComplete`: the incremental backend's base moves to this checkpoint's files.
    pub(super) fn notify_complete(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        if !matches!(
            self.tasks[task].status,
            Status::Idle | Status::Busy | Status::Sync
        ) {
            return;
        }
        let t = &mut self.tasks[task];
        for db in t.rocksdb.iter_mut().flatten() {
            db.confirm(checkpoint);
        }
        t.rocksdb_snapshots.retain(|&id, _| id > checkpoint);
        // Two-phase commit: every pending transaction up to this checkpoint is committed.
        if let Some((_, sink)) = t.sink {
            let subtask = t.subtask;
            for action in self.commit_rule.checkpoint_complete(checkpoint) {
                if let CommitAction::CommitUpTo { checkpoint } = action {
                    self.sinks[sink].commit_up_to(subtask, checkpoint, now.as_micros());
                }
            }
        }
        if self.tasks[task]
            .final_checkpoint
            .is_some_and(|f| f <= checkpoint)
        {
            self.tasks[task].final_checkpoint_done = true;
            self.try_finish(now, task);
        }
    }

    /// Two-phase commit at the snapshot: the sink's open transaction is pre-committed; returns the
    /// transactions still pending, which go into the snapshot.
    /// Also notes the task's final checkpoint: the first one snapshotted after its input ended.
    pub(super) fn pre_commit(&mut self, task: TaskIndex, checkpoint: u64) -> Vec<u64> {
        if self.input_ended(task) && self.tasks[task].final_checkpoint.is_none() {
            self.tasks[task].final_checkpoint = Some(checkpoint);
        }
        let Some((_, sink)) = self.tasks[task].sink else {
            return Vec::new();
        };
        if !self.sinks[sink].delivery.is_transactional() {
            return Vec::new();
        }
        let subtask = self.tasks[task].subtask;
        let mut pending = Vec::new();
        for action in self.commit_rule.snapshot(checkpoint) {
            match action {
                CommitAction::PreCommit { checkpoint } => {
                    let now_us = self.queue.now().as_micros();
                    pending = self.sinks[sink].pre_commit(subtask, checkpoint, now_us);
                }
                CommitAction::CommitUpTo { checkpoint } => {
                    let now_us = self.queue.now().as_micros();
                    self.sinks[sink].commit_up_to(subtask, checkpoint, now_us);
                }
            }
        }
        pending
    }

    /// The operator state of a snapshot is in checkpoint storage.
    pub(super) fn state_uploaded(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        if let Some(progress) = self.tasks[task].snapshots.get_mut(&checkpoint) {
            progress.state_uploaded = true;
            self.maybe_acknowledge(now, task, checkpoint);
        }
    }

    /// The channel state of a snapshot is in checkpoint storage.
    pub(super) fn channel_state_uploaded(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        checkpoint: u64,
    ) {
        if let Some(progress) = self.tasks[task].snapshots.get_mut(&checkpoint) {
            progress.channel_uploaded = true;
            self.maybe_acknowledge(now, task, checkpoint);
        }
    }
}
