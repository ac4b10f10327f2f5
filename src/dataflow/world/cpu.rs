//! The CPU model: the subtasks on a host share its cores (see [`crate::topology::host`]).
//!
//! A subtask needs a core for its work on a record (user function and framework cost) and to wake
//! up for a mail. A free core is taken at once; otherwise the subtask waits in the host's run queue,
//! first come first served. It keeps its core across records while nobody waits, or until it has
//! used a scheduling quantum; then it yields to the next waiting subtask and queues again. A subtask
//! with nothing to run gives its core back at the end of the instant. With unlimited cores none of
//! this happens: every subtask runs its work at once, as on a processor of its own.
//!
//! Self-written rather than a crate: it is a few events per record in the engine's own queue, and
//! it must be exactly deterministic.

use super::event::Event;
use super::host_cpu::{Runner, SnapshotWrite};
use super::state::World;
use super::task::{Activity, Status};
use crate::engine::SimTime;
use crate::topology::job::TaskIndex;

impl World<'_> {
    /// Runs `work_us` of the task's work on one record: `RecordDone` when it is done, now or once a
    /// core is free.
    pub(super) fn run_on_core(&mut self, now: SimTime, task: TaskIndex, work_us: u64) {
        let t = &mut self.tasks[task];
        t.status = Status::Busy;
        self.set_activity(now, task, Activity::Busy);
        let Some(host) = self.tasks[task].host else {
            self.schedule_record_done(task, work_us);
            return;
        };
        if self.tasks[task].core_held || self.take_core(host) {
            let t = &mut self.tasks[task];
            t.core_held = true;
            t.quantum_used_us += work_us;
            self.schedule_record_done(task, work_us);
        } else {
            self.tasks[task].pending_work_us = Some(work_us);
            self.hosts[host].run_queue.push_back(Runner::Task(task));
        }
    }

    /// A snapshot writer thread copies a snapshot's bytes into its checkpoint stream (Flink's
    /// `AsyncCheckpointRunnable` for operator state, the `ChannelStateWriter` for channel state):
    /// CPU work on the task's host, waiting in the run queue like any thread when the cores are
    /// busy. `WriteCopied` when it is done; then the storage transfer runs without a core.
    pub(super) fn run_writer(&mut self, write: SnapshotWrite) {
        let Some(host) = self.tasks[write.task].host else {
            self.schedule_write_copied(write);
            return;
        };
        if self.take_core(host) {
            self.schedule_write_copied(write);
        } else {
            self.hosts[host].run_queue.push_back(Runner::Writer(write));
        }
    }

    fn schedule_write_copied(&mut self, write: SnapshotWrite) {
        self.queue.schedule_after(
            write.work_us,
            Event::WriteCopied {
                task: write.task as u32,
                checkpoint: write.checkpoint,
                channel_state: write.channel_state,
            },
        );
    }

    /// An acknowledgement reaches the JobManager: its thread takes it at once, or, in a
    /// MiniCluster whose cores are all busy, once it gets a core.
    pub(super) fn take_ack(&mut self, task: TaskIndex, checkpoint: u64) {
        let Some(host) = self.model.cluster.hosts.job_manager_host() else {
            self.schedule_ack_taken(task, checkpoint);
            return;
        };
        if self.take_core(host) {
            self.schedule_ack_taken(task, checkpoint);
        } else {
            self.hosts[host]
                .run_queue
                .push_back(Runner::AckTaker { task, checkpoint });
        }
    }

    fn schedule_ack_taken(&mut self, task: TaskIndex, checkpoint: u64) {
        self.queue.schedule_after(
            0,
            Event::AckTaken {
                task: task as u32,
                checkpoint,
            },
        );
    }

    /// The JobManager's thread has taken an acknowledgement: it gives its core back.
    pub(super) fn ack_taker_done(&mut self) {
        if let Some(host) = self.model.cluster.hosts.job_manager_host() {
            self.free_core(host);
        }
    }

    /// A snapshot writer has copied its bytes: it gives its core back.
    pub(super) fn writer_done(&mut self, task: TaskIndex) {
        if let Some(host) = self.tasks[task].host {
            self.free_core(host);
        }
    }

    /// Before a task runs a mail: it needs a core to wake up on. True if it has one now; false if
    /// it waits in the run queue (it is woken when it gets one).
    pub(super) fn core_for_mail(&mut self, now: SimTime, task: TaskIndex) -> bool {
        let Some(host) = self.tasks[task].host else {
            return true;
        };
        if self.tasks[task].core_held {
            return true;
        }
        if self.take_core(host) {
            self.tasks[task].core_held = true;
            self.tasks[task].quantum_used_us = 0;
            self.core_checks.push(task);
            return true;
        }
        let t = &mut self.tasks[task];
        t.pending_work_us = Some(0);
        t.status = Status::Busy;
        self.set_activity(now, task, Activity::Busy);
        self.hosts[host].run_queue.push_back(Runner::Task(task));
        false
    }

    fn schedule_record_done(&mut self, task: TaskIndex, work_us: u64) {
        let incarnation = self.tasks[task].incarnation;
        self.queue.schedule_after(
            work_us,
            Event::RecordDone {
                task: task as u32,
                incarnation,
            },
        );
    }

    fn take_core(&mut self, host: usize) -> bool {
        let h = &mut self.hosts[host];
        if h.busy < h.cores {
            h.busy += 1;
            true
        } else {
            false
        }
    }

    /// A record's work is done: the task keeps its core while nobody waits and its quantum lasts,
    /// else the next waiting task gets it.
    pub(super) fn after_work(&mut self, task: TaskIndex) {
        let Some(host) = self.tasks[task].host else {
            return;
        };
        let quantum = self.model.cluster.scheduling_quantum_us;
        if !self.hosts[host].run_queue.is_empty() && self.tasks[task].quantum_used_us >= quantum {
            self.release_core(task);
        } else {
            self.core_checks.push(task);
        }
    }

    /// The task gives its core back (or stops waiting for one): a failure, or nothing to run.
    pub(super) fn release_core(&mut self, task: TaskIndex) {
        self.tasks[task].pending_work_us = None;
        let Some(host) = self.tasks[task].host else {
            return;
        };
        if !self.tasks[task].core_held {
            return;
        }
        let t = &mut self.tasks[task];
        t.core_held = false;
        t.quantum_used_us = 0;
        self.free_core(host);
    }

    /// A thread gives its core back: the next waiting thread gets it.
    fn free_core(&mut self, host: usize) {
        self.hosts[host].busy -= 1;
        self.grant_cores(host);
    }

    /// Free cores go to the waiting threads, first come first served.
    fn grant_cores(&mut self, host: usize) {
        while self.hosts[host].busy < self.hosts[host].cores {
            let Some(runner) = self.hosts[host].run_queue.pop_front() else {
                return;
            };
            let task = match runner {
                Runner::Task(task) => task,
                Runner::Writer(write) => {
                    self.take_core(host);
                    self.schedule_write_copied(write);
                    continue;
                }
                Runner::AckTaker { task, checkpoint } => {
                    self.take_core(host);
                    self.schedule_ack_taken(task, checkpoint);
                    continue;
                }
            };
            let Some(work_us) = self.tasks[task].pending_work_us.take() else {
                continue; // it stopped waiting (a failure)
            };
            self.take_core(host);
            let t = &mut self.tasks[task];
            t.core_held = true;
            t.quantum_used_us = work_us;
            if work_us == 0 {
                // Woken for a mail: it runs its mailbox now.
                t.status = Status::Idle;
                self.core_checks.push(task);
                self.wake(task);
            } else {
                self.schedule_record_done(task, work_us);
            }
        }
    }

    /// At the end of an instant: a task holding a core with nothing to run gives it back.
    pub(super) fn check_cores(&mut self) {
        while let Some(task) = self.core_checks.pop() {
            if self.tasks[task].core_held && self.tasks[task].status != Status::Busy {
                self.release_core(task);
            }
        }
    }
}
