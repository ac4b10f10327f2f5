//! Stop-the-world checkpoints, executed: the [`crate::checkpoint::barrier::StopTheWorld`] machine
//! decides; this file pauses and resumes the sources, watches the job drain, and snapshots every
//! task at once.

use super::event::Event;
use super::state::World;
use super::task::{SnapshotInProgress, Status};
use crate::checkpoint::barrier::StopTheWorldAction;
use crate::checkpoint::metrics::SubtaskCheckpointStats;
use crate::dataflow::results::TaskSnapshot;
use crate::engine::SimTime;
use crate::topology::job::TaskIndex;
use crate::trace::DataflowEvent;

impl World<'_> {
    /// While the job drains for a stop-the-world checkpoint: once nothing is in flight and no task
    /// is busy, the protocol snapshots every task; until then partially filled buffers are flushed.
    pub(super) fn check_quiescent(&mut self, now: SimTime) {
        let sources_paused = self
            .tasks
            .iter()
            .all(|t| t.source.is_none() || t.paused || t.status == Status::Finished);
        let quiet = sources_paused
            && self.tasks.iter().all(|t| {
                matches!(t.status, Status::Idle | Status::Finished)
                    && t.reading.is_none()
                    && t.in_hand.is_none()
            })
            && self.channels.iter().all(|c| {
                c.current.is_none()
                    && c.sender.is_empty()
                    && c.in_transit.is_empty()
                    && c.receiver.is_empty()
            });
        if !quiet {
            // Partially filled buffers are flushed at once while draining.
            for channel in 0..self.channels.len() {
                if self.channels[channel].current.is_some()
                    && self.tasks[self.channels[channel].from].status == Status::Idle
                {
                    self.finish_buffer(now, channel);
                }
            }
            self.drain_wake(now);
            return;
        }
        if let Some(action) = self.stop_the_world.drained() {
            self.stop_the_world_action(now, action);
        }
    }

    /// Executes what the stop-the-world protocol decided.
    pub(super) fn stop_the_world_action(&mut self, now: SimTime, action: StopTheWorldAction) {
        let rpc = self.model.network.rpc_latency_us;
        match action {
            StopTheWorldAction::PauseSources => {
                for task in 0..self.tasks.len() {
                    if self.tasks[task].source.is_some() {
                        self.queue
                            .schedule_at(now.after_us(rpc), Event::PauseRpc { task: task as u32 });
                    }
                }
            }
            StopTheWorldAction::ResumeSources => {
                for task in 0..self.tasks.len() {
                    if self.tasks[task].source.is_some() {
                        self.queue
                            .schedule_at(now.after_us(rpc), Event::ResumeRpc { task: task as u32 });
                    }
                }
            }
            StopTheWorldAction::SnapshotEveryTask { checkpoint } => {
                self.snapshot_every_task(now, checkpoint)
            }
        }
    }

    /// Stop-the-world: every task that has not finished snapshots now, with nothing in flight.
    pub(super) fn snapshot_every_task(&mut self, now: SimTime, checkpoint: u64) {
        let trigger_us = self.trigger_us(checkpoint);
        for task in 0..self.tasks.len() {
            if self.tasks[task].status == Status::Finished {
                continue;
            }
            let sync_us = self.sync_duration_us(task);
            self.snapshot_rocksdb(task, checkpoint);
            self.trace.push(DataflowEvent::SnapshotTaken {
                time: now,
                task: task as u32,
                checkpoint,
                unaligned: false,
            });
            let snapshot = TaskSnapshot {
                task,
                operator_states: self.tasks[task].states.clone(),
                input_channel_state: Vec::new(),
                output_channel_state: Vec::new(),
                unaligned: false,
                pending_transactions: self.pre_commit(task, checkpoint),
            };
            let stats = SubtaskCheckpointStats {
                task: self.graph.tasks[task].name.clone(),
                sync_duration_us: sync_us,
                start_delay_us: now.as_micros().saturating_sub(trigger_us),
                ..SubtaskCheckpointStats::default()
            };
            let progress = SnapshotInProgress::new(snapshot, stats, false, false);
            self.tasks[task].snapshots.insert(checkpoint, progress);
            // Never the stop-with-savepoint one: savepoints are aligned, never stop-the-world.
            self.start_sync_phase(now, task, (checkpoint, sync_us));
        }
    }

    /// A source is told to stop emitting; what it has written becomes visible.
    pub(super) fn pause_source(&mut self, now: SimTime, task: TaskIndex) {
        self.tasks[task].paused = true;
        self.flush_outputs(now, task);
    }

    /// A source is told to go on, at its rate from now: the work lost during the pause is not
    /// caught up (the machine of Young's and Daly's model stood still).
    pub(super) fn resume_source(&mut self, now: SimTime, task: TaskIndex) {
        self.tasks[task].paused = false;
        if let Some(source) = self.tasks[task].source.as_mut()
            && let Some(limiter) = source.limiter.as_mut()
        {
            limiter.resume(now.as_micros(), source.reserved_until_us.take());
        }
        self.wake(task);
    }
}
