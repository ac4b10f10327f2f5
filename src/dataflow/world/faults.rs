//! Fault injection: the scenario's fault plan scheduled (fixed faults, and random crashes drawn
//! from each target's own stream), and what each fault does — a task or task manager crashing
//! where it stands, network partitions, latency spikes, stragglers, storage outages and slowdowns,
//! a declined checkpoint, lost completion notices.

use super::event::Event;
use super::state::World;
use super::task::{Activity, Status};
use crate::checkpoint::barrier::TaskBarrierHandler;
use crate::dataflow::results::RecoveryStats;
use crate::engine::{RngStreams, SimTime};
use crate::fault::FaultKind;
use crate::topology::job::TaskIndex;
use crate::trace::DataflowEvent;

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

    /// The next random crash of one target, drawn from its own stream.
    pub(super) fn schedule_random_fault(&mut self, spec: usize, target: usize) {
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

    /// A random crash strikes, and the next one of the same target is scheduled.
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

    /// A scheduled fault strikes.
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
            FaultKind::JobManagerPartition {
                task_manager,
                duration_us,
            } => {
                self.faults
                    .job_manager_partitioned_until
                    .push((task_manager, now.after_us(duration_us)));
                let timeout_us = self.faults.plan.heartbeat_timeout_us;
                if duration_us >= timeout_us {
                    self.queue.schedule_at(
                        now.after_us(timeout_us),
                        Event::HeartbeatTimeout { task_manager },
                    );
                }
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
            FaultKind::JobManagerCrash { restart_after_us } => {
                self.crash_job_manager(now, restart_after_us)
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

    /// Is `task`'s task manager cut off from the JobManager? Returns when it heals.
    pub(super) fn job_manager_partition_heals(
        &self,
        now: SimTime,
        task: TaskIndex,
    ) -> Option<SimTime> {
        let task_manager = self.graph.tasks.get(task)?.task_manager;
        self.faults
            .job_manager_partitioned_until
            .iter()
            .filter(|(tm, until)| *tm == task_manager && now < *until)
            .map(|(_, until)| *until)
            .max()
    }

    /// `heartbeat.timeout` passed since a task manager was cut off from the JobManager. If it
    /// still is, the JobManager declares it lost (Flink: "Heartbeat of TaskManager … timed out")
    /// and fails its tasks at once; the task manager, missing the JobManager's heartbeats just as
    /// long, cancels them on its side too.
    pub(super) fn heartbeat_timed_out(&mut self, now: SimTime, task_manager: u32) {
        let still_cut_off = self
            .faults
            .job_manager_partitioned_until
            .iter()
            .any(|(tm, until)| *tm == task_manager && now < *until);
        if self.stopped || !still_cut_off {
            return;
        }
        let running: Vec<TaskIndex> = (0..self.tasks.len())
            .filter(|&t| self.graph.tasks[t].task_manager == task_manager && self.is_running(t))
            .collect();
        if running.is_empty() {
            return;
        }
        self.faults.recoveries.push(RecoveryStats {
            failure: format!(
                "task manager {task_manager} lost: heartbeat timed out (cut off from the JobManager)"
            ),
            failed_at_us: now.as_micros(),
            ..Default::default()
        });
        for &task in &running {
            self.halt_task(now, task, Status::Failed);
            self.trace.push(DataflowEvent::TaskFailed {
                time: now,
                task: task as u32,
            });
        }
        // The JobManager's own decision: no report has to cross the partition.
        for task in running {
            let incarnation = self.tasks[task].incarnation;
            self.failure_detected(now, task, incarnation);
        }
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

    /// Is the task running (not failed, cancelled, restoring or finished)?
    pub(super) fn is_running(&self, task: TaskIndex) -> bool {
        matches!(
            self.tasks[task].status,
            Status::Idle | Status::Busy | Status::Sync
        )
    }

    /// A task manager is lost: every subtask on it stops at once; the job manager notices after
    /// `heartbeat.timeout`.
    pub(super) fn crash_task_manager(&mut self, now: SimTime, task_manager: u32) {
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
    pub(super) fn crash_task(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        detection_us: u64,
        cause: String,
    ) {
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
    pub(super) fn halt_task(&mut self, now: SimTime, task: TaskIndex, status: Status) {
        self.set_activity(now, task, Activity::Idle);
        // Its thread is gone: its core (or its place in the run queue) goes to the next one.
        self.release_core(task);
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
}
