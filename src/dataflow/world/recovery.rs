//! Faults, failover and recovery.
//!
//! A crash stops a task where it stands. The job manager notices after a detection delay (at once
//! for a task's own failure, after `heartbeat.timeout` for a lost task manager), cancels the failed
//! pipelined region (or the whole job), drops its in-flight data, aborts pending checkpoints, and
//! asks the restart strategy. At the restart, every task of the region is redeployed and downloads
//! its state from the latest completed checkpoint; sources rewind to their checkpointed offsets;
//! persisted channel state is put back on its channels ahead of any new data; two-phase-commit
//! sinks commit the transactions recorded in the checkpoint and abort the rest.

use super::*;
use crate::fault::{FaultKind, FaultPlan, RestartDecision, RestartTracker};
use serde::Serialize;

/// One failure and the recovery from it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryStats {
    /// What failed.
    pub failure: String,
    /// When it failed (µs).
    pub failed_at_us: u64,
    /// When the job manager noticed (µs).
    pub detected_at_us: u64,
    /// When the restarted tasks were deployed (µs); `None` if the job gave up.
    pub restarted_at_us: Option<u64>,
    /// When every restarted task had its state back and was running (µs).
    pub running_again_at_us: Option<u64>,
    /// Failure → running again (µs).
    pub downtime_us: Option<u64>,
    /// The checkpoint restored (`None`: restarted from the beginning).
    pub checkpoint_restored: Option<u64>,
    /// Tasks cancelled and restarted.
    pub tasks_restarted: usize,
    /// Source records read again: offset at the failure minus offset restored.
    pub records_reprocessed: u64,
    /// When sink throughput was back to 90 % of what it was before the failure (µs).
    pub throughput_recovered_at_us: Option<u64>,
}

/// The world's fault and recovery state.
pub(super) struct FaultState {
    plan: FaultPlan,
    tracker: RestartTracker,
    rng: SimRng,
    /// Task managers (or tasks) of each random-fault entry.
    regions: Vec<usize>,
    generation: u64,
    partitioned_until: Vec<(u32, u32, SimTime)>,
    latency_extra: (u64, SimTime),
    storage_outage_until: SimTime,
    storage_slowdown: (f64, SimTime),
    notices_lost_until: SimTime,
    /// The failover in progress: tasks to restart.
    pending_restart: Vec<TaskIndex>,
    /// Broken variant: the newest pending checkpoint's acknowledged snapshots, kept at failover.
    newest_pending: Option<(u64, Vec<TaskSnapshot>)>,
    pub(super) recoveries: Vec<RecoveryStats>,
}

impl FaultState {
    pub(super) fn new(model: &DataflowModel, seed: u64) -> FaultState {
        let streams = RngStreams::new(seed);
        FaultState {
            plan: model.faults.clone(),
            tracker: RestartTracker::new(model.faults.restart.clone()),
            rng: streams.stream("faults/restart-jitter"),
            regions: Vec::new(),
            generation: 0,
            partitioned_until: Vec::new(),
            latency_extra: (0, SimTime::ZERO),
            storage_outage_until: SimTime::ZERO,
            storage_slowdown: (1.0, SimTime::ZERO),
            notices_lost_until: SimTime::ZERO,
            pending_restart: Vec::new(),
            newest_pending: None,
            recoveries: Vec::new(),
        }
    }
}

impl World<'_> {
    /// Schedules the fault plan: fixed faults, and the first random crash of every target.
    pub(super) fn schedule_faults(&mut self) {
        // Pipelined regions: tasks connected by channels (streaming edges are all pipelined).
        let mut region: Vec<usize> = (0..self.tasks.len()).collect();
        fn find(region: &mut [usize], task: usize) -> usize {
            let mut root = task;
            while region[root] != root {
                root = region[root];
            }
            region[task] = root;
            root
        }
        for channel in &self.graph.channels {
            let (a, b) = (
                find(&mut region, channel.from),
                find(&mut region, channel.to),
            );
            region[a.max(b)] = a.min(b);
        }
        self.faults.regions = (0..self.tasks.len())
            .map(|t| find(&mut region, t))
            .collect();
        for (index, fault) in self.faults.plan.scheduled.iter().enumerate() {
            self.queue.schedule_at(
                fault.at,
                Event::Fault {
                    index: index as u32,
                },
            );
        }
        for spec in 0..self.faults.plan.random.len() {
            let targets = if self.faults.plan.random[spec].task_managers {
                self.model.cluster.task_managers as usize
            } else {
                self.tasks.len()
            };
            for target in 0..targets {
                self.schedule_random_fault(spec, target);
            }
        }
    }

    fn schedule_random_fault(&mut self, spec: usize, target: usize) {
        let random = &self.faults.plan.random[spec];
        // Each target of each entry has its own stream: adding a fault shifts no other.
        let mut rng = RngStreams::new(self.seed).stream(&format!(
            "faults/random/{spec}/{target}/{}",
            self.queue.now().as_micros()
        ));
        let delay = crate::engine::exponential_us(&mut rng, random.mtbf_us as f64).max(1);
        self.queue.schedule_after(
            delay,
            Event::RandomFault {
                spec: spec as u32,
                target: target as u32,
            },
        );
    }

    pub(super) fn random_fault(&mut self, now: SimTime, spec: usize, target: usize) {
        if self.stopped {
            return;
        }
        if self.faults.plan.random[spec].task_managers {
            self.crash_task_manager(now, target as u32);
        } else {
            self.crash_task(
                now,
                target,
                self.model.network.rpc_latency_us,
                format!("random crash of {}", self.graph.tasks[target].name),
            );
        }
        self.schedule_random_fault(spec, target);
    }

    pub(super) fn fault(&mut self, now: SimTime, index: usize) {
        let kind = self.faults.plan.scheduled[index].kind.clone();
        match kind {
            FaultKind::TaskCrash { task } => {
                let name = self.graph.tasks[task].name.clone();
                self.crash_task(
                    now,
                    task,
                    self.model.network.rpc_latency_us,
                    format!("task crash of {name}"),
                );
            }
            FaultKind::TaskManagerCrash { task_manager } => {
                self.crash_task_manager(now, task_manager)
            }
            FaultKind::NetworkPartition {
                task_managers: (a, b),
                duration_us,
            } => {
                self.faults
                    .partitioned_until
                    .push((a, b, now.after_us(duration_us)));
            }
            FaultKind::LatencySpike {
                extra_us,
                duration_us,
            } => self.faults.latency_extra = (extra_us, now.after_us(duration_us)),
            FaultKind::Straggler {
                task,
                factor,
                duration_us,
            } => {
                self.tasks[task].straggle_factor = factor;
                self.tasks[task].straggling_until = now.after_us(duration_us);
            }
            FaultKind::StorageOutage { duration_us } => {
                self.faults.storage_outage_until = now.after_us(duration_us)
            }
            FaultKind::StorageSlowdown {
                factor,
                duration_us,
            } => self.faults.storage_slowdown = (factor, now.after_us(duration_us)),
            FaultKind::DeclineCheckpoint { task } => self.tasks[task].decline_next = true,
            FaultKind::LoseCompletionNotices { duration_us } => {
                self.faults.notices_lost_until = now.after_us(duration_us)
            }
        }
    }

    /// Is the wire between these two task managers cut? Returns when it heals.
    pub(super) fn partitioned(
        &self,
        now: SimTime,
        from_task: TaskIndex,
        to_task: TaskIndex,
    ) -> Option<SimTime> {
        let (a, b) = (
            self.graph.tasks[from_task].task_manager,
            self.graph.tasks[to_task].task_manager,
        );
        self.faults
            .partitioned_until
            .iter()
            .filter(|(x, y, until)| now < *until && ((*x, *y) == (a, b) || (*y, *x) == (a, b)))
            .map(|(_, _, until)| *until)
            .max()
    }

    /// Extra latency of remote transfers right now.
    pub(super) fn latency_spike_us(&self, now: SimTime) -> u64 {
        if now < self.faults.latency_extra.1 {
            self.faults.latency_extra.0
        } else {
            0
        }
    }

    /// Is checkpoint storage refusing uploads right now?
    pub(super) fn storage_down(&self, now: SimTime) -> bool {
        now < self.faults.storage_outage_until
    }

    /// Time to move `bytes` to or from checkpoint storage right now.
    pub(super) fn storage_transfer_us(&self, now: SimTime, bytes: u64) -> u64 {
        let base = self.model.storage.transfer_us(bytes);
        if now < self.faults.storage_slowdown.1 {
            (base as f64 * self.faults.storage_slowdown.0) as u64
        } else {
            base
        }
    }

    /// Are completion notices being lost right now?
    pub(super) fn notices_lost(&self, now: SimTime) -> bool {
        now < self.faults.notices_lost_until
    }

    fn is_running(&self, task: TaskIndex) -> bool {
        matches!(
            self.tasks[task].status,
            Status::Idle | Status::Busy | Status::Sync
        )
    }

    fn crash_task_manager(&mut self, now: SimTime, task_manager: u32) {
        let tasks: Vec<TaskIndex> = (0..self.tasks.len())
            .filter(|&t| self.graph.tasks[t].task_manager == task_manager)
            .collect();
        let detection = self.faults.plan.heartbeat_timeout_us;
        let running: Vec<TaskIndex> = tasks.into_iter().filter(|&t| self.is_running(t)).collect();
        if running.is_empty() {
            return;
        }
        // One incident: every subtask on the task manager dies at once.
        self.faults.recoveries.push(RecoveryStats {
            failure: format!("task manager {task_manager} lost"),
            failed_at_us: now.as_micros(),
            ..Default::default()
        });
        for task in running {
            self.halt_task(now, task, Status::Failed);
            self.trace.push(DataflowEvent::TaskFailed {
                time: now,
                task: task as u32,
            });
            let incarnation = self.tasks[task].incarnation;
            self.queue.schedule_at(
                now.after_us(detection),
                Event::FailureDetected {
                    task: task as u32,
                    incarnation,
                },
            );
        }
    }

    /// A task stops where it stands; the job manager hears of it after `detection_us`.
    fn crash_task(&mut self, now: SimTime, task: TaskIndex, detection_us: u64, cause: String) {
        if !self.is_running(task) {
            return;
        }
        self.halt_task(now, task, Status::Failed);
        self.trace.push(DataflowEvent::TaskFailed {
            time: now,
            task: task as u32,
        });
        self.faults.recoveries.push(RecoveryStats {
            failure: cause,
            failed_at_us: now.as_micros(),
            ..Default::default()
        });
        let incarnation = self.tasks[task].incarnation;
        self.queue.schedule_at(
            now.after_us(detection_us),
            Event::FailureDetected {
                task: task as u32,
                incarnation,
            },
        );
    }

    /// Stops a task: whatever it was doing is lost.
    fn halt_task(&mut self, now: SimTime, task: TaskIndex, status: Status) {
        self.set_activity(now, task, Activity::Idle);
        // The slice being read is lost with the task.
        self.tasks[task].reading = None;
        if let Some((_, sink)) = self.tasks[task].sink {
            let subtask = self.tasks[task].subtask;
            self.sinks[sink].crash(subtask);
        }
        let was_finished = self.tasks[task].status == Status::Finished;
        let t = &mut self.tasks[task];
        t.status = status;
        t.incarnation += 1;
        t.in_hand = None;
        t.mailbox.clear();
        t.poll.clear();
        t.priority.clear();
        t.snapshots.clear();
        t.barriers = TaskBarrierHandler::new(self.protocol, self.model.variant, t.inputs.len());
        t.alignment_windows.clear();
        t.syncing = None;
        t.paused = false;
        if !was_finished {
            self.running_tasks -= 1;
        }
    }

    /// The job manager learns of a failure: cancel the region, abort pending checkpoints, and ask
    /// the restart strategy.
    pub(super) fn failure_detected(&mut self, now: SimTime, task: TaskIndex, incarnation: u32) {
        if self.stopped
            || self.tasks[task].incarnation != incarnation
            || self.tasks[task].status != Status::Failed
        {
            return;
        }
        // Every task known to have failed is handled in this one failover: the union of their
        // pipelined regions (or the whole job).
        let failed_regions: BTreeSet<usize> = (0..self.tasks.len())
            .filter(|&t| self.tasks[t].status == Status::Failed)
            .map(|t| self.faults.regions[t])
            .collect();
        let affected: Vec<TaskIndex> = (0..self.tasks.len())
            .filter(|&t| {
                !self.faults.plan.region_failover
                    || failed_regions.contains(&self.faults.regions[t])
            })
            .collect();
        self.fail_over(now, affected);
    }

    /// Too many failed checkpoints in a row (`tolerable-failed-checkpoints`): a global failover of
    /// the whole job, decided by the restart strategy like any other failure.
    pub(super) fn checkpoint_failover(&mut self, now: SimTime, cause: String) {
        self.faults.recoveries.push(RecoveryStats {
            failure: cause,
            failed_at_us: now.as_micros(),
            ..Default::default()
        });
        let affected: Vec<TaskIndex> = (0..self.tasks.len()).collect();
        self.fail_over(now, affected);
    }

    /// Cancels `affected`, aborts pending checkpoints, and asks the restart strategy.
    fn fail_over(&mut self, now: SimTime, affected: Vec<TaskIndex>) {
        if let Some(stats) = self
            .faults
            .recoveries
            .iter_mut()
            .rev()
            .find(|r| r.detected_at_us == 0)
        {
            stats.detected_at_us = now.as_micros();
            stats.tasks_restarted = affected.len();
        }
        // The broken variant keeps what the newest pending checkpoint has collected so far.
        if self.faults.plan.restore_from_pending
            && let Some((&id, snapshots)) = self.acked_snapshots.iter().next_back()
            && self.coordinator.as_ref().is_some_and(|c| c.is_pending(id))
        {
            self.faults.newest_pending = Some((id, snapshots.clone()));
        }
        if let Some(coordinator) = self.coordinator.as_mut() {
            for id in coordinator.abort_all() {
                self.record_abort(now, id, AbortReason::JobFailover);
            }
        }
        self.stop_the_world.reset();
        let offsets_at_failure: u64 = affected
            .iter()
            .filter(|&&t| self.tasks[t].source.is_some())
            .map(|&t| self.tasks[t].states[0].offset)
            .sum();
        for &t in &affected {
            if self.tasks[t].status != Status::Failed {
                self.halt_task(now, t, Status::Canceled);
            } else {
                self.tasks[t].status = Status::Canceled;
            }
        }
        for channel in 0..self.channels.len() {
            if affected.contains(&self.channels[channel].to)
                || affected.contains(&self.channels[channel].from)
            {
                self.reset_channel(channel);
            }
        }
        for &t in &affected {
            self.tasks[t].pool_used = 0;
            self.floating_free[t] = self.model.network.floating_buffers_per_gate;
            self.floating_waiting[t].clear();
        }
        if let Some(stats) = self.faults.recoveries.last_mut() {
            stats.records_reprocessed = offsets_at_failure;
        }
        match self.faults.tracker.on_failure(now, &mut self.faults.rng) {
            RestartDecision::GiveUp { reason } => self.fail_job(now, reason),
            RestartDecision::RestartAfter { delay_us } => {
                self.faults.generation += 1;
                self.faults.pending_restart = affected;
                self.queue.schedule_after(
                    delay_us,
                    Event::Restart {
                        generation: self.faults.generation,
                    },
                );
            }
        }
    }

    /// Drops everything in flight on a channel.
    fn reset_channel(&mut self, channel: DataChannelIndex) {
        let exclusive = self.model.network.exclusive_buffers_per_channel;
        let c = &mut self.channels[channel];
        let mut dropped: Vec<BufferId> = Vec::new();
        for item in c.sender.drain(..).chain(c.receiver.drain(..)) {
            if let Item::Data(buffer) = item {
                dropped.push(buffer);
            }
        }
        if let Some(buffer) = c.current.take()
            && !dropped.contains(&buffer)
        {
            dropped.push(buffer);
        }
        // Items on the wire stay queued (their arrival events are scheduled) but are dropped on
        // arrival: the incarnation no longer matches.
        c.incarnation += 1;
        c.queued_data = 0;
        c.credit = exclusive;
        c.exclusive_held = 0;
        c.floating_held = 0;
        c.waiting_for_floating = false;
        c.records_enqueued = 0;
        c.records_consumed = 0;
        c.finished = false;
        c.blocked = false;
        c.in_poll_queue = false;
        c.persisting = None;
        c.last_barrier_checkpoint = 0;
        c.last_barrier_buffers_before = 0;
        for buffer in dropped {
            self.buffers.release(buffer);
        }
    }

    /// The restart: redeploy the region, put channel state back, and let every task download its
    /// state from the checkpoint.
    pub(super) fn restart(&mut self, now: SimTime, generation: u64) {
        if self.stopped || generation != self.faults.generation {
            return;
        }
        let affected = std::mem::take(&mut self.faults.pending_restart);
        // Redeployed tasks count as running from now on (one restored quickly as "finished"
        // must not end the job while its siblings still download their state).
        self.running_tasks += affected.len();
        // The newest completed checkpoint (savepoints are never restored from by a failover).
        let latest = self.newest_restorable.map(|index| &self.completed[index]);
        let (checkpoint_id, mut snapshots) = match (self.faults.newest_pending.take(), latest) {
            (Some((id, pending)), _) => (Some(id), pending),
            (None, Some(latest)) => (Some(latest.id), latest.tasks.clone()),
            (None, None) => (None, Vec::new()),
        };
        if self.faults.plan.restore_from_pending
            && let Some(latest) = latest
        {
            // Tasks that had not acknowledged the pending checkpoint take the completed one.
            for snapshot in &latest.tasks {
                if !snapshots.iter().any(|s| s.task == snapshot.task) {
                    snapshots.push(snapshot.clone());
                }
            }
        }
        let finished_at_checkpoint: BTreeSet<TaskIndex> = match checkpoint_id {
            Some(id) => {
                // Tasks without a snapshot that had finished before it completed stay finished.
                let completed = self
                    .trace
                    .events()
                    .iter()
                    .position(|e| matches!(e, DataflowEvent::CheckpointCompleted { checkpoint, .. } if *checkpoint == id))
                    .unwrap_or(0);
                self.trace.events()[..completed]
                    .iter()
                    .filter_map(|e| {
                        if let DataflowEvent::TaskFinished { task, .. } = e {
                            Some(*task as TaskIndex)
                        } else {
                            None
                        }
                    })
                    .collect()
            }
            None => BTreeSet::new(),
        };
        if let Some(stats) = self.faults.recoveries.last_mut() {
            stats.restarted_at_us = Some(now.as_micros());
            stats.checkpoint_restored = checkpoint_id;
            let restored: u64 = affected
                .iter()
                .filter(|&&t| self.tasks[t].source.is_some())
                .map(|&t| {
                    snapshots
                        .iter()
                        .find(|s| s.task == t)
                        .map_or(0, |s| s.operator_states[0].offset)
                })
                .sum();
            stats.records_reprocessed = stats.records_reprocessed.saturating_sub(restored);
        }
        self.trace.push(DataflowEvent::JobRestarted {
            time: now,
            checkpoint: checkpoint_id.unwrap_or(0),
        });
        // Channel state goes back on the channels first, ahead of anything new: the records the
        // receiver persisted, then the ones the sender's barrier overtook.
        for channel in 0..self.channels.len() {
            let (from, to) = (self.channels[channel].from, self.channels[channel].to);
            if !affected.contains(&to) {
                continue;
            }
            let mut records: Vec<Record> = Vec::new();
            for (task, output) in [(to, false), (from, true)] {
                if let Some(snapshot) = snapshots.iter().find(|s| s.task == task) {
                    let state = if output {
                        &snapshot.output_channel_state
                    } else {
                        &snapshot.input_channel_state
                    };
                    if let Some((_, list)) = state.iter().find(|(c, _)| *c == channel) {
                        records.extend_from_slice(list);
                    }
                }
            }
            if !records.is_empty() {
                self.replay_channel_state(channel, &records);
            }
        }
        for &task in &affected {
            // Each task's snapshot is moved into its restore plan: nothing reads it here again.
            let snapshot = snapshots
                .iter()
                .position(|s| s.task == task)
                .map(|index| snapshots.swap_remove(index));
            let bytes = snapshot.as_ref().map_or(0, |s| {
                let state = self.state_bytes(task);
                let channel_bytes: u64 = s
                    .channel_records()
                    .map(|(_, r)| u64::from(self.record_bytes(r)))
                    .sum();
                state + channel_bytes
            });
            let t = &mut self.tasks[task];
            t.status = Status::Restoring;
            t.incarnation += 1;
            let incarnation = t.incarnation;
            // Finished before the checkpoint completed *and* no snapshot in it: it had consumed all
            // its input, so it stays finished. A task with a snapshot is restored from it.
            let restore = match snapshot {
                None if finished_at_checkpoint.contains(&task) => RestoreAs::Finished,
                snapshot => RestoreAs::Snapshot(snapshot),
            };
            self.faults_restore_plan_insert(task, restore);
            let download = if checkpoint_id.is_some() {
                self.storage_transfer_us(now, bytes)
            } else {
                0
            };
            self.queue.schedule_after(
                download,
                Event::TaskRestored {
                    task: task as u32,
                    incarnation,
                },
            );
        }
    }

    fn faults_restore_plan_insert(&mut self, task: TaskIndex, restore: RestoreAs) {
        self.restore_plan.insert(task, restore);
    }

    /// Puts persisted in-flight records back at the head of a channel, as full buffers.
    fn replay_channel_state(&mut self, channel: DataChannelIndex, records: &[Record]) {
        let segment = self.model.network.segment_bytes;
        let mut start = 0;
        while start < records.len() {
            let mut bytes = 0;
            let mut end = start;
            while end < records.len() && bytes + self.record_bytes(&records[end]) <= segment {
                bytes += self.record_bytes(&records[end]);
                end += 1;
            }
            end = end.max(start + 1);
            let buffer = self.buffers.allocate(0);
            let b = &mut self.buffers.buffers[buffer as usize];
            b.records.extend_from_slice(&records[start..end]);
            b.bytes = bytes;
            b.available = end - start;
            b.finished = true;
            b.replayed = true;
            let c = &mut self.channels[channel];
            if c.local {
                // It sits in the producer's subpartition like any other buffer.
                c.sender.push_back(Item::Data(buffer));
                c.queued_data += 1;
                let producer = c.from;
                self.tasks[producer].pool_used += 1;
            } else {
                c.receiver.push_back(Item::Data(buffer));
            }
            start = end;
        }
    }

    /// A redeployed task has its state: restore it and start.
    pub(super) fn task_restored(&mut self, now: SimTime, task: TaskIndex, incarnation: u32) {
        if self.stopped
            || self.tasks[task].incarnation != incarnation
            || self.tasks[task].status != Status::Restoring
        {
            return;
        }
        let restore = self
            .restore_plan
            .remove(&task)
            .unwrap_or(RestoreAs::Snapshot(None));
        let chain_length = self.tasks[task].chain.len();
        let restored_as_finished = matches!(restore, RestoreAs::Finished);
        let (states, pending) = match restore {
            RestoreAs::Snapshot(Some(snapshot)) => {
                (snapshot.operator_states, snapshot.pending_transactions)
            }
            // Finished before the checkpoint: its state is what it finished with.
            RestoreAs::Finished => (std::mem::take(&mut self.tasks[task].states), Vec::new()),
            RestoreAs::Snapshot(None) => (vec![OperatorState::default(); chain_length], Vec::new()),
        };
        if let Some((_, sink)) = self.tasks[task].sink {
            let subtask = self.tasks[task].subtask;
            self.sinks[sink].restore(subtask, &pending, now.as_micros());
        }
        let t = &mut self.tasks[task];
        t.states = states;
        t.status = Status::Idle;
        t.final_checkpoint = None;
        t.final_checkpoint_done = false;
        t.data_ended = false;
        t.finish_announced = false;
        t.key_epochs = vec![BTreeMap::new(); chain_length];
        t.confirmed_epoch = 0;
        t.uploads_since_full = 0;
        t.barriers = TaskBarrierHandler::new(self.protocol, self.model.variant, t.inputs.len());
        if let Some(source) = t.source.as_mut() {
            source.next_emit_us = now.as_micros() as f64;
            source.tick_scheduled = false;
        }

        if restored_as_finished {
            // Finished before the checkpoint: it stays finished, and its consumers learn so again.
            self.finish_task(now, task);
        }
        for position in 0..self.tasks[task].inputs.len() {
            let channel = self.tasks[task].inputs[position];
            if !self.channels[channel].consumer_queue().is_empty() {
                self.enqueue_poll(task, channel);
            }
        }
        self.wake(task);
        if self.restore_plan.is_empty()
            && self
                .tasks
                .iter()
                .all(|t| !matches!(t.status, Status::Restoring | Status::Canceled))
            && let Some(stats) = self.faults.recoveries.last_mut()
            && stats.running_again_at_us.is_none()
        {
            stats.running_again_at_us = Some(now.as_micros());
            stats.downtime_us = Some(now.as_micros() - stats.failed_at_us);
        }
    }

    /// After the run: when was throughput back to 90 % of its level before each failure?
    pub(super) fn finish_recovery_stats(&mut self) -> Vec<RecoveryStats> {
        let bucket_us = self.model.throughput_bucket_us;
        let buckets = &self.sink_buckets;
        for stats in &mut self.faults.recoveries {
            let Some(running) = stats.running_again_at_us else {
                continue;
            };
            let failed_bucket = (stats.failed_at_us / bucket_us) as usize;
            let end = failed_bucket.min(buckets.len());
            let before: Vec<u64> = buckets[failed_bucket.saturating_sub(5).min(end)..end].to_vec();
            if before.is_empty() {
                continue;
            }
            let level = before.iter().sum::<u64>() as f64 / before.len() as f64;
            let start = (running / bucket_us) as usize;
            stats.throughput_recovered_at_us = (start..buckets.len())
                .find(|&b| buckets[b] as f64 >= 0.9 * level)
                .map(|b| (b as u64 + 1) * bucket_us);
        }
        self.faults.recoveries.clone()
    }
}

/// How a task comes back after a failover.
#[derive(Clone, Debug)]
pub(super) enum RestoreAs {
    /// From its snapshot (`None`: from scratch, no checkpoint).
    Snapshot(Option<TaskSnapshot>),
    /// It had finished before the checkpoint: it stays finished.
    Finished,
}
