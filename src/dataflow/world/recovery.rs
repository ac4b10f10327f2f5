//! Failover and recovery. The job manager notices a failure after a detection delay (at once
//! for a task's own failure, after `heartbeat.timeout` for a lost task manager), cancels the
//! failed pipelined region (or the whole job), drops its in-flight data, aborts pending
//! checkpoints, and asks the restart strategy. At the restart every task of the region is
//! redeployed and downloads its state from the latest completed checkpoint; sources rewind to
//! their checkpointed offsets; persisted channel state is put back on its channels ahead of any
//! new data; two-phase-commit sinks commit the transactions recorded in the checkpoint and abort
//! the rest.

use super::buffer::BufferId;
use super::channel::Item;
use super::event::Event;
use super::fault_state::RestoreAs;
use super::state::{World, rocksdb_instances};
use super::task::Status;
use crate::checkpoint::barrier::TaskBarrierHandler;
use crate::checkpoint::coordinator::AbortReason;
use crate::dataflow::results::RecoveryStats;
use crate::engine::SimTime;
use crate::fault::RestartDecision;
use crate::topology::job::{DataChannelIndex, TaskIndex};
use crate::trace::DataflowEvent;
use crate::workload::dataflow::{OperatorState, Record};
use std::collections::BTreeSet;

impl World<'_> {
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
    pub(super) fn fail_over(&mut self, now: SimTime, affected: Vec<TaskIndex>) {
        // Failures not yet handled (several tasks may fail at one instant) are one failover: one
        // recovery, naming every cause.
        let recoveries = &mut self.faults.recoveries;
        let undetected = recoveries
            .iter()
            .rev()
            .take_while(|r| r.detected_at_us == 0)
            .count();
        if undetected > 1 {
            let merged: Vec<RecoveryStats> = recoveries.split_off(recoveries.len() - undetected);
            let mut first = merged[0].clone();
            first.failure = merged
                .iter()
                .map(|r| r.failure.as_str())
                .collect::<Vec<_>>()
                .join("; and ");
            first.failed_at_us = merged.iter().map(|r| r.failed_at_us).min().unwrap_or(0);
            recoveries.push(first);
        }
        if let Some(stats) = recoveries.last_mut().filter(|r| r.detected_at_us == 0) {
            stats.detected_at_us = now.as_micros();
            stats.tasks_restarted = affected.len();
        }
        // A rule that restores a pending checkpoint keeps what it has collected so far.
        if self.faults.restore_rule.keeps_pending()
            && let Some((&id, snapshots)) = self.acked_snapshots.iter().next_back()
            && self.coordinator.as_ref().is_some_and(|c| c.is_pending(id))
        {
            self.faults.newest_pending = Some((id, snapshots.clone()));
        }
        if let Some(coordinator) = self.coordinator.as_mut() {
            for id in coordinator.abort_all() {
                self.record_abort(now, id, AbortReason::JobFailoverRegion);
            }
        }
        let offsets_at_failure = self.cancel_tasks(now, &affected);
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

    /// Cancels `affected` where they stand and drops everything in flight to or from them.
    /// Returns the sum of their sources' offsets (what a restore will rewind from).
    pub(super) fn cancel_tasks(&mut self, now: SimTime, affected: &[TaskIndex]) -> u64 {
        self.stop_the_world.reset();
        let offsets_at_failure: u64 = affected
            .iter()
            .filter(|&&t| self.tasks[t].source.is_some())
            .map(|&t| self.tasks[t].states[0].offset)
            .sum();
        for &t in affected {
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
        for &t in affected {
            self.tasks[t].pool_used = 0;
            self.floating_free[t] = self.model.network.floating_buffers_per_gate;
            self.floating_waiting[t].clear();
        }
        offsets_at_failure
    }

    /// Drops everything in flight on a channel.
    pub(super) fn reset_channel(&mut self, channel: DataChannelIndex) {
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
        c.recording.stop_all();
        c.last_barrier_checkpoint = 0;
        c.last_barrier_buffers_before = 0;
        for buffer in dropped {
            self.buffers.release(buffer);
        }
        let now = self.queue.now();
        self.note_channel_level(now, channel);
    }

    /// The restart: redeploy the region, put channel state back, and let every task download its
    /// state from the checkpoint.
    pub(super) fn restart(&mut self, now: SimTime, generation: u64) {
        if self.stopped || generation != self.faults.generation {
            return;
        }
        // Tasks whose task manager is cut off from the JobManager cannot be deployed there
        // until it is reachable again (its slots re-register then).
        if let Some(heals) = self
            .faults
            .pending_restart
            .iter()
            .filter_map(|&task| self.job_manager_partition_heals(now, task))
            .max()
        {
            self.queue.schedule_at(heals, Event::Restart { generation });
            return;
        }
        let affected = std::mem::take(&mut self.faults.pending_restart);
        // Redeployed tasks count as running from now on (one restored quickly as "finished"
        // must not end the job while its siblings still download their state).
        self.running_tasks += affected.len();
        // The newest completed checkpoint (savepoints are never restored from by a failover).
        let latest = self
            .newest_restorable
            .map(|index| (self.completed[index].id, &self.completed[index].tasks[..]));
        let (checkpoint_id, mut snapshots) = self
            .faults
            .restore_rule
            .restore(latest, self.faults.newest_pending.take());
        let finished_at_checkpoint: BTreeSet<TaskIndex> = match checkpoint_id {
            Some(id) => {
                // Tasks without a snapshot that had finished before it completed stay finished.
                let completed = self.trace.completion_position(id).unwrap_or(0);
                self.trace
                    .tasks_finished_before(completed)
                    .map(|task| task as TaskIndex)
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
                    if finished_at_checkpoint.contains(&t) {
                        // A source that had finished by the checkpoint stays finished: it reads
                        // nothing again.
                        return self.tasks[t].states[0].offset;
                    }
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
            self.restore_plan.insert(task, restore);
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

    /// Puts persisted in-flight records back at the head of a channel, as full buffers.
    pub(super) fn replay_channel_state(&mut self, channel: DataChannelIndex, records: &[Record]) {
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
        t.rocksdb = rocksdb_instances(self.model, &t.chain, &t.states);
        t.rocksdb_snapshots.clear();
        t.barriers = TaskBarrierHandler::new(self.protocol, self.model.variant, t.inputs.len());
        if let Some(source) = t.source.as_mut() {
            // A restarted source reader has a new rate limiter.
            if let Some(limiter) = source.limiter.as_mut() {
                limiter.restart(now.as_micros());
            }
            source.reserved_until_us = None;
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
