//! A JobManager failure, and what high availability changes about it.
//!
//! The JobManager runs the checkpoint coordinator and the scheduler. When its process dies, the
//! tasks keep running for a while — records flow, barriers already injected travel on, snapshots
//! are taken — but nothing reaches a coordinator: no checkpoint is triggered, acknowledgements go
//! nowhere, pending checkpoints can never complete. The task managers notice after
//! `heartbeat.timeout` and fail every task of the job (Flink: "JobManager … lost", the task
//! manager disconnects from the job's leader and cancels its tasks).
//!
//! A new JobManager process comes up after `restart-after` (Kubernetes or YARN restarting it).
//! - With `high-availability.type` set (ZooKeeper or Kubernetes), the HA services hold the job
//!   graph, the completed-checkpoint store and the checkpoint id counter: the new leader recovers
//!   the job from the latest completed checkpoint, every task is redeployed, and checkpoint ids
//!   continue. The restart strategy is not asked — this is not a task failure.
//! - Without it, the new process knows nothing of the job: the job is gone ("if the JobManager
//!   crashes, no new programs can be submitted and running programs fail", Flink's HA docs). A
//!   retained checkpoint is still on storage; a user could resubmit from it by hand.
//!
//! Simplification: the task managers notice the loss after `heartbeat.timeout` in both cases (with
//! HA a leader change can tell them sooner); if the new leader is up first, it fails the old tasks
//! when it takes over.

use super::event::Event;
use super::fault_state::JobManagerDown;
use super::state::World;
use crate::checkpoint::coordinator::AbortReason;
use crate::dataflow::results::RecoveryStats;
use crate::engine::{RngStreams, SimTime};
use rand::RngExt;

impl World<'_> {
    /// Is the JobManager process dead (between a crash and its successor taking over)?
    pub(super) fn job_manager_is_down(&self) -> bool {
        self.faults.job_manager_down.is_some()
    }

    /// The JobManager process dies.
    pub(super) fn crash_job_manager(&mut self, now: SimTime, restart_after_us: u64) {
        if self.job_manager_is_down() || self.stopped {
            return;
        }
        let ha = self.faults.plan.high_availability;
        self.faults.recoveries.push(RecoveryStats {
            failure: if ha.is_enabled() {
                "job manager lost (high availability: a new leader recovers the job)".to_string()
            } else {
                "job manager lost (no high availability)".to_string()
            },
            failed_at_us: now.as_micros(),
            ..Default::default()
        });
        // Pending checkpoints die with the coordinator that was collecting them; the dead process
        // tells no task about it.
        if let Some(coordinator) = self.coordinator.as_mut() {
            for id in coordinator.abort_all() {
                self.mark_aborted(now, id, AbortReason::CheckpointCoordinatorShutdown);
            }
        }
        // A restart the old JobManager had scheduled never happens.
        self.faults.generation += 1;
        self.faults.pending_restart.clear();
        self.faults.job_manager_epoch += 1;
        let epoch = self.faults.job_manager_epoch;
        self.faults.job_manager_down = Some(JobManagerDown {
            tasks_cancelled: false,
        });
        self.queue.schedule_after(
            self.faults.plan.heartbeat_timeout_us,
            Event::JobManagerLostNoticed { epoch },
        );
        self.queue
            .schedule_after(restart_after_us, Event::JobManagerRestarted { epoch });
    }

    /// The task managers notice their JobManager is gone: they fail every task of the job.
    /// Without high availability that is the end of the job.
    pub(super) fn job_manager_lost_noticed(&mut self, now: SimTime, epoch: u64) {
        if self.stopped || epoch != self.faults.job_manager_epoch {
            return;
        }
        if !self.job_manager_is_down() {
            return;
        }
        self.cancel_job_manager_tasks(now);
        if !self.faults.plan.high_availability.is_enabled() {
            let retained = self.newest_restorable.map(|index| self.completed[index].id);
            let hint = match retained {
                Some(id) => format!(
                    "; checkpoint {id} is still on storage: resubmitting the job from it by hand would resume there"
                ),
                None => String::new(),
            };
            self.fail_job(
                now,
                format!(
                    "the job manager died and the cluster has no high availability: no job manager knows the job any more{hint}"
                ),
            );
        }
    }

    /// A new JobManager process is running. With high availability it recovers the job from the
    /// latest completed checkpoint; without, it starts empty and the job stays lost.
    pub(super) fn job_manager_restarted(&mut self, now: SimTime, epoch: u64) {
        if self.stopped || epoch != self.faults.job_manager_epoch {
            return;
        }
        if !self.job_manager_is_down() {
            return;
        }
        if !self.faults.plan.high_availability.is_enabled() {
            // The task managers' notice ends the job; nothing for the new process to do.
            return;
        }
        self.cancel_job_manager_tasks(now);
        self.faults.job_manager_down = None;
        let affected: Vec<_> = (0..self.tasks.len()).collect();
        if let Some(stats) = self.faults.recoveries.last_mut() {
            stats.tasks_restarted = affected.len();
        }
        // The new leader's checkpoint coordinator starts its periodic scheduler afresh, after a
        // random delay in [min-pause, interval] like at the job's first start.
        if let Some(config) = self.model.checkpointing.as_ref() {
            let mut rng = RngStreams::new(self.seed)
                .stream(&format!("checkpoint-coordinator/job-manager-{epoch}"));
            let low = config.min_pause_us.min(config.interval_us);
            let initial = rng.random_range(low..=config.interval_us);
            self.periodic_generation += 1;
            self.queue.schedule_after(
                initial,
                Event::PeriodicTrigger {
                    generation: self.periodic_generation,
                },
            );
        }
        self.faults.generation += 1;
        self.faults.pending_restart = affected;
        self.restart(now, self.faults.generation);
    }

    /// Fails every task of the job once (the task managers' notice or the new leader, whichever
    /// comes first).
    fn cancel_job_manager_tasks(&mut self, now: SimTime) {
        match self.faults.job_manager_down.as_mut() {
            Some(down) if !down.tasks_cancelled => down.tasks_cancelled = true,
            _ => return,
        }
        let all: Vec<_> = (0..self.tasks.len()).collect();
        let offsets = self.cancel_tasks(now, &all);
        if let Some(stats) = self.faults.recoveries.last_mut() {
            stats.records_reprocessed = offsets;
            if stats.detected_at_us == 0 {
                stats.detected_at_us = now.as_micros();
            }
        }
    }
}
