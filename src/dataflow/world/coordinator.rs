//! The checkpoint coordinator's side, wired to the tasks: periodic and savepoint triggers (through
//! [`crate::checkpoint::coordinator`]'s decisions), trigger RPCs, acknowledgements, completion,
//! subsumption, aborts and their notices, and the failover when too many checkpoints fail.

use super::event::Event;
use super::state::World;
use super::task::Status;
use crate::checkpoint::SnapshotProtocol;
use crate::checkpoint::coordinator::{AbortReason, AckOutcome, TriggerDecision};
use crate::checkpoint::metrics::{
    CheckpointStats, CheckpointStatus, SubtaskCheckpointStats, SubtaskProgress,
};
use crate::dataflow::results::{CompletedCheckpoint, JobStatus, RunDetail};
use crate::engine::SimTime;
use crate::topology::job::TaskIndex;
use crate::trace::DataflowEvent;
use std::collections::BTreeMap;

impl World<'_> {
    /// A savepoint: always triggered (it bypasses max-concurrent-checkpoints), never subsumed.
    pub(super) fn trigger_savepoint(&mut self, now: SimTime, index: usize) {
        let stop = self.model.savepoints[index].stop;
        let tasks = self.tasks_to_ack();
        if self.stopped
            || tasks.is_empty()
            || self
                .tasks
                .iter()
                .any(|t| matches!(t.status, Status::Canceled | Status::Restoring))
        {
            return;
        }
        let Some(coordinator) = self.coordinator.as_mut() else {
            return;
        };
        let id = coordinator.trigger_savepoint(now, tasks);
        if stop {
            self.stopping_with = Some(id);
        }
        self.start_checkpoint(now, id, true);
    }

    /// The barrier handling for a checkpoint: savepoints are always aligned (exactly-once) or
    /// tracked (at-least-once), whatever the configured handler.
    pub(super) fn protocol_for(&self, checkpoint: u64) -> SnapshotProtocol {
        let savepoint = self.is_savepoint(checkpoint);
        match self.protocol {
            SnapshotProtocol::AtLeastOnce => SnapshotProtocol::AtLeastOnce,
            _ if savepoint => SnapshotProtocol::Aligned,
            protocol => protocol,
        }
    }

    /// Is `checkpoint` a savepoint?
    pub(super) fn is_savepoint(&self, checkpoint: u64) -> bool {
        self.stats.get(&checkpoint).is_some_and(|s| s.is_savepoint)
    }

    /// When the coordinator triggered `checkpoint` (µs); barriers carry it, and
    /// `aligned-checkpoint-timeout` counts from it.
    pub(super) fn trigger_us(&self, checkpoint: u64) -> u64 {
        self.stats
            .get(&checkpoint)
            .map_or(0, |s| s.trigger_timestamp_us)
    }

    /// `aligned-checkpoint-timeout` (aligned-with-timeout only).
    pub(super) fn aligned_checkpoint_timeout_us(&self) -> u64 {
        match self.protocol {
            SnapshotProtocol::AlignedWithTimeout { timeout_us } => timeout_us,
            _ => 0,
        }
    }

    /// Tasks that must acknowledge a new checkpoint: every task still running.
    pub(super) fn tasks_to_ack(&self) -> Vec<TaskIndex> {
        (0..self.tasks.len())
            .filter(|&t| self.tasks[t].status != Status::Finished)
            .collect()
    }

    /// Tasks the trigger RPC goes to: running tasks none of whose inputs are still open.
    pub(super) fn tasks_to_trigger(&self) -> Vec<TaskIndex> {
        (0..self.tasks.len())
            .filter(|&t| self.tasks[t].status != Status::Finished)
            .filter(|&t| {
                self.tasks[t]
                    .inputs
                    .iter()
                    .all(|&c| self.tasks[self.channels[c].from].status == Status::Finished)
            })
            .collect()
    }

    /// The periodic scheduler asks for a checkpoint (`from_timer`: the timer fired; otherwise a
    /// queued request is retried): the coordinator decides to trigger it, queue it, or drop it for
    /// `min-pause`.
    pub(super) fn periodic_request(&mut self, now: SimTime, from_timer: bool) {
        let tasks = self.tasks_to_ack();
        let Some(coordinator) = self.coordinator.as_mut() else {
            return;
        };
        let interval = coordinator.config().interval_us;
        let recovering = self
            .tasks
            .iter()
            .any(|t| matches!(t.status, Status::Canceled | Status::Restoring));
        if tasks.is_empty() || recovering {
            // Not all tasks are running (a failover is under way): this trigger is skipped.
            if from_timer {
                self.queue.schedule_after(
                    interval,
                    Event::PeriodicTrigger {
                        generation: self.periodic_generation,
                    },
                );
            }
            return;
        }
        match coordinator.request_periodic(now, || tasks) {
            TriggerDecision::Trigger { id } => {
                self.start_checkpoint(now, id, false);
                if from_timer {
                    self.queue.schedule_after(
                        interval,
                        Event::PeriodicTrigger {
                            generation: self.periodic_generation,
                        },
                    );
                }
            }
            TriggerDecision::Queued => {
                if from_timer {
                    self.queue.schedule_after(
                        interval,
                        Event::PeriodicTrigger {
                            generation: self.periodic_generation,
                        },
                    );
                }
            }
            TriggerDecision::TooEarly { retry_at } => {
                // Flink drops the request and restarts the periodic schedule at the end of the pause.
                self.trace.push(DataflowEvent::TriggerDropped {
                    time: now,
                    retry_at,
                });
                self.periodic_generation += 1;
                self.queue.schedule_at(
                    retry_at,
                    Event::PeriodicTrigger {
                        generation: self.periodic_generation,
                    },
                );
            }
        }
    }

    /// Checkpoint `id` is triggered: its statistics start, its timeout is set, and the trigger RPC
    /// goes to the tasks without open inputs (or, stop-the-world, the sources are paused).
    pub(super) fn start_checkpoint(&mut self, now: SimTime, id: u64, is_savepoint: bool) {
        let tasks = self
            .coordinator
            .as_ref()
            .and_then(|c| c.pending(id))
            .map_or(0, |p| p.awaiting.len());
        self.trace.push(DataflowEvent::CheckpointTriggered {
            time: now,
            checkpoint: id,
            tasks_to_ack: tasks as u32,
            is_savepoint,
        });
        self.stats.insert(
            id,
            CheckpointStats {
                id,
                status: CheckpointStatus::InProgress,
                is_savepoint,
                trigger_timestamp_us: now.as_micros(),
                latest_ack_timestamp_us: None,
                end_to_end_duration_us: None,
                state_size: 0,
                checkpointed_size: 0,
                processed_data: 0,
                persisted_data: 0,
                alignment_duration_us: 0,
                start_delay_us: 0,
                sync_duration_us: 0,
                async_duration_us: 0,
                unaligned: false,
                num_subtasks: tasks as u32,
                num_acknowledged_subtasks: 0,
                failure_reason: None,
                storage_in_use_bytes: None,
                discarded_at_us: None,
                freed_bytes: None,
                subtasks: self
                    .graph
                    .tasks
                    .iter()
                    .map(|t| SubtaskCheckpointStats {
                        task: t.name.clone(),
                        ..Default::default()
                    })
                    .collect(),
            },
        );
        let timeout = self
            .coordinator
            .as_ref()
            .map_or(u64::MAX, |c| c.config().timeout_us);
        self.queue.schedule_at(
            now.after_us(timeout),
            Event::CheckpointTimeout { checkpoint: id },
        );
        let rpc = self.model.network.rpc_latency_us;
        if self.protocol_for(id) == SnapshotProtocol::StopTheWorld {
            let action = self.stop_the_world.triggered(id);
            self.stop_the_world_action(now, action);
            return;
        }
        // The coordinator prepares the checkpoint before it sends the trigger RPCs; each task
        // sees the trigger once its thread picks up the mail.
        let sent_us = self.model.runtime.trigger_preparation_us + rpc;
        for task in self.tasks_to_trigger() {
            let t = &mut self.tasks[task];
            let mailbox_us = self
                .model
                .runtime
                .mailbox_delay
                .sample_us(&mut t.mailbox_rng);
            self.queue.schedule_at(
                now.after_us(sent_us + mailbox_us),
                Event::TriggerRpc {
                    task: task as u32,
                    checkpoint: id,
                },
            );
        }
    }

    /// The JobManager's thread takes a task's acknowledgement: the coordinator counts it (Flink's
    /// acknowledgement timestamp is taken here).
    pub(super) fn ack_arrive(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        self.trace.push(DataflowEvent::AckReceived {
            time: now,
            task: task as u32,
            checkpoint,
        });
        if let Some(stats) = self.stats.get_mut(&checkpoint) {
            stats.subtasks[task].ack_timestamp_us = Some(now.as_micros());
            stats.subtasks[task].end_to_end_duration_us =
                Some(now.as_micros() - stats.trigger_timestamp_us);
        }
        let Some(coordinator) = self.coordinator.as_mut() else {
            return;
        };
        let outcome = coordinator.acknowledge(now, task, checkpoint);
        if matches!(outcome, AckOutcome::Completed { .. }) {
            self.checkpoint_completed(now, checkpoint, outcome);
        }
    }

    /// Every task has acknowledged: the checkpoint is complete, older pending ones are subsumed,
    /// and `notifyCheckpointComplete` goes to the tasks (unless notices are being lost, or it is a
    /// plain savepoint).
    pub(super) fn checkpoint_completed(
        &mut self,
        now: SimTime,
        checkpoint: u64,
        outcome: AckOutcome,
    ) {
        let AckOutcome::Completed { subsumed } = outcome else {
            return;
        };
        self.trace.push(DataflowEvent::CheckpointCompleted {
            time: now,
            checkpoint,
        });
        let mut is_savepoint = false;
        let mut triggered_at = now;
        if let Some(stats) = self.stats.get_mut(&checkpoint) {
            stats.status = CheckpointStatus::Completed;
            stats.aggregate();
            stats.end_to_end_duration_us = Some(now.as_micros() - stats.trigger_timestamp_us);
            is_savepoint = stats.is_savepoint;
            triggered_at = SimTime::from_micros(stats.trigger_timestamp_us);
        }
        let mut tasks = self.acked_snapshots.remove(&checkpoint).unwrap_or_default();
        tasks.sort_by_key(|s| s.task);
        self.completed.push(CompletedCheckpoint {
            id: checkpoint,
            is_savepoint,
            triggered_at,
            completed_at: now,
            tasks,
        });
        self.retain(now, checkpoint, is_savepoint);
        if !is_savepoint {
            let superseded = self.newest_restorable.replace(self.completed.len() - 1);
            if self.detail == RunDetail::Statistics
                && let Some(index) = superseded
            {
                // No restart can go back to it any more, and nobody else reads it.
                self.completed[index].tasks = Vec::new();
            }
        }
        for old in subsumed {
            self.record_abort(now, old, AbortReason::CheckpointSubsumed);
        }
        let rpc = self.model.network.rpc_latency_us;
        // A lost-notices fault swallows notifyCheckpointComplete on its way to the tasks. A plain
        // savepoint sends none at all (sinks do not commit for it); stop-with-savepoint does.
        let stopping = self.stopping_with == Some(checkpoint);
        let sends_notices = !is_savepoint || stopping;
        let swallowed = sends_notices && self.notices_lost(now);
        if swallowed {
            self.completion_notices_lost += 1;
        }
        let lost = self.notices_lost(now) || (is_savepoint && !stopping);
        if stopping {
            // The job stops once the tasks have heard (and committed).
            self.queue
                .schedule_at(now.after_us(2 * rpc), Event::EndOfRun);
            self.status = JobStatus::Stopped {
                at_us: now.after_us(2 * rpc).as_micros(),
                savepoint: checkpoint,
            };
        }
        for task in 0..self.tasks.len() {
            if lost {
                break;
            }
            self.queue.schedule_at(
                now.after_us(rpc),
                Event::NotifyComplete {
                    task: task as u32,
                    checkpoint,
                },
            );
        }
        if let Some(action) = self.stop_the_world.completed() {
            self.stop_the_world_action(now, action);
        }
        if self
            .coordinator
            .as_mut()
            .is_some_and(|c| c.take_queued_request())
        {
            self.periodic_request(now, false);
        }
    }

    /// The coordinator aborts `checkpoint` (expired, declined, …); too many failures in a row fail
    /// the job over.
    pub(super) fn abort_checkpoint(&mut self, now: SimTime, checkpoint: u64, reason: AbortReason) {
        let Some(coordinator) = self.coordinator.as_mut() else {
            return;
        };
        let Some(fails_job) = coordinator.abort(checkpoint, reason) else {
            return;
        };
        self.record_abort(now, checkpoint, reason);
        if let Some(action) = self.stop_the_world.aborted(checkpoint) {
            self.stop_the_world_action(now, action);
        }
        if fails_job {
            // Flink's CheckpointFailureManager fails the job over; the restart strategy decides.
            self.checkpoint_failover(
                now,
                format!("checkpoint {checkpoint} failed ({reason:?}) beyond tolerable-failed-checkpoints"),
            );
            return;
        }
        if self
            .coordinator
            .as_mut()
            .is_some_and(|c| c.take_queued_request())
        {
            self.periodic_request(now, false);
        }
    }

    /// Records an abort and tells every task (`notifyCheckpointAborted`).
    pub(super) fn record_abort(&mut self, now: SimTime, checkpoint: u64, reason: AbortReason) {
        self.mark_aborted(now, checkpoint, reason);
        let rpc = self.model.network.rpc_latency_us;
        for task in 0..self.tasks.len() {
            self.queue.schedule_at(
                now.after_us(rpc),
                Event::NotifyAborted {
                    task: task as u32,
                    checkpoint,
                },
            );
        }
    }

    /// Records an abort in the trace and the history, telling no task (a JobManager that died
    /// sends nothing).
    pub(super) fn mark_aborted(&mut self, now: SimTime, checkpoint: u64, reason: AbortReason) {
        self.trace.push(DataflowEvent::CheckpointAborted {
            time: now,
            checkpoint,
            reason,
        });
        self.acked_snapshots.remove(&checkpoint);
        self.checkpoint_storage.remove(&checkpoint);
        self.note_subtask_progress(checkpoint);
        if let Some(stats) = self.stats.get_mut(&checkpoint) {
            stats.status = CheckpointStatus::Failed;
            stats.aggregate();
            stats.end_to_end_duration_us = Some(now.as_micros() - stats.trigger_timestamp_us);
            stats.failure_reason = Some(reason.name());
        }
    }

    /// Retention (`state.checkpoints.num-retained`, Flink's `CompletedCheckpointStore`): a completed
    /// checkpoint joins the retained ones; the oldest beyond the limit is discarded, deleting its
    /// own files and the shared RocksDB files no retained checkpoint references any more. A
    /// savepoint belongs to the user: it is neither retained nor discarded here, and its files are
    /// its own. Only a retained checkpoint can be restored (the newest always is).
    pub(super) fn retain(&mut self, now: SimTime, checkpoint: u64, is_savepoint: bool) {
        if is_savepoint {
            self.checkpoint_storage.remove(&checkpoint);
            return;
        }
        self.retained.push_back(checkpoint);
        let limit = self
            .model
            .checkpointing
            .as_ref()
            .map_or(1, |c| c.num_retained.max(1)) as usize;
        while self.retained.len() > limit {
            let old = self.retained.pop_front().expect("over the limit");
            let storage = self.checkpoint_storage.remove(&old).unwrap_or_default();
            let still_referenced = |file: &(u64, u64)| {
                self.retained.iter().any(|id| {
                    self.checkpoint_storage
                        .get(id)
                        .is_some_and(|s| s.shared_files.contains_key(file))
                })
            };
            let freed = storage.exclusive_bytes
                + storage
                    .shared_files
                    .iter()
                    .filter(|(file, _)| !still_referenced(file))
                    .map(|(_, bytes)| bytes)
                    .sum::<u64>();
            if let Some(stats) = self.stats.get_mut(&old) {
                stats.discarded_at_us = Some(now.as_micros());
                stats.freed_bytes = Some(freed);
            }
        }
        let mut shared: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        let mut exclusive = 0;
        for id in &self.retained {
            if let Some(storage) = self.checkpoint_storage.get(id) {
                exclusive += storage.exclusive_bytes;
                shared.extend(storage.shared_files.iter().map(|(k, v)| (*k, *v)));
            }
        }
        if let Some(stats) = self.stats.get_mut(&checkpoint) {
            stats.storage_in_use_bytes = Some(exclusive + shared.values().sum::<u64>());
        }
    }

    /// A checkpoint ends without every acknowledgement: notes where each subtask that did not
    /// acknowledge stood — snapshot taken, aligning (with its start delay), no barrier yet, or not
    /// running — so the history tells which subtasks held it up.
    pub(super) fn note_subtask_progress(&mut self, checkpoint: u64) {
        let Some(trigger_us) = self.stats.get(&checkpoint).map(|s| s.trigger_timestamp_us) else {
            return;
        };
        for task in 0..self.tasks.len() {
            let t = &self.tasks[task];
            let (progress, first_barrier) = if t.status == Status::Finished {
                (SubtaskProgress::Finished, None)
            } else if !self.is_running(task) {
                (SubtaskProgress::NotRunning, None)
            } else if t.snapshots.contains_key(&checkpoint) {
                (SubtaskProgress::SnapshotTaken, None)
            } else if let Some(w) = t
                .alignment_windows
                .iter()
                .find(|w| w.checkpoint == checkpoint)
            {
                (SubtaskProgress::Aligning, Some(w.first_barrier_at))
            } else {
                (SubtaskProgress::NoBarrierYet, None)
            };
            let Some(stats) = self.stats.get_mut(&checkpoint) else {
                return;
            };
            let subtask = &mut stats.subtasks[task];
            if subtask.ack_timestamp_us.is_some() {
                subtask.progress = Some(SubtaskProgress::Acknowledged);
                continue;
            }
            subtask.progress = Some(progress);
            if let Some(at) = first_barrier {
                subtask.start_delay_us = at.as_micros().saturating_sub(trigger_us);
            }
        }
    }

    /// The job fails for good: the restart strategy gave up.
    pub(super) fn fail_job(&mut self, now: SimTime, reason: String) {
        self.trace.push(DataflowEvent::JobFailed { time: now });
        self.status = JobStatus::Failed {
            at_us: now.as_micros(),
            reason,
        };
        self.stopped = true;
    }

    /// The periodic scheduler's timer (unless a dropped trigger restarted the schedule since).
    pub(super) fn periodic_timer(&mut self, now: SimTime, generation: u64) {
        if generation == self.periodic_generation && !self.stopped {
            self.periodic_request(now, true);
        }
    }

    /// A task reports it has finished: checkpoints waiting only for it may complete.
    pub(super) fn task_finished_rpc(&mut self, now: SimTime, task: TaskIndex) {
        if let Some(coordinator) = self.coordinator.as_mut() {
            let completed = coordinator.task_finished(now, task);
            for (checkpoint, outcome) in completed {
                self.checkpoint_completed(now, checkpoint, outcome);
            }
        }
    }
}
