//! The dataflow world: a Flink job on the engine. This file is the executor that wires the
//! concepts together — the event loop, and which concept handles each event; each concept is
//! in a file of its own:
//!
//! | file | concept |
//! |---|---|
//! | `state.rs` | the world's state, and building it from a scenario |
//! | `task.rs`, `task_loop.rs` | a subtask, and the task loop: mailbox, priority events, one record at a time |
//! | `buffer.rs`, `channel.rs`, `network.rs` | Flink's network stack: buffers, flushing, subpartitions, credits |
//! | `barriers.rs` | the barrier handlers' actions, executed |
//! | `channel_state.rs` | in-flight data in unaligned and Chandy-Lamport snapshots |
//! | `snapshot.rs` | snapshot phases: sync, async upload, acknowledgement, completion notices |
//! | `coordinator.rs` | the checkpoint coordinator's triggers, completions and aborts |
//! | `stop_the_world.rs` | stop-the-world checkpoints |
//! | `end_of_data.rs` | end of data and finishing (FLIP-147) |
//! | `faults.rs`, `fault_state.rs`, `recovery.rs` | faults, failover, restart and restore |
//! | `event.rs`, `finish.rs` | the engine's events; what a run returns |
//!
//! **Architecture Invariant:** the world never decides protocol. Barrier handling is decided by
//! the task's [`crate::checkpoint::barrier`] state machine and coordination by
//! [`crate::checkpoint::coordinator`]; the world executes their actions with time, buffers and CPU.

mod barriers;
mod buffer;
mod channel;
mod channel_state;
mod coordinator;
mod cpu;
mod end_of_data;
mod event;
mod fault_state;
mod faults;
mod finish;
mod host_cpu;
mod job_manager;
mod network;
mod recovery;
mod snapshot;
mod state;
mod stop_the_world;
mod task;
mod task_loop;

use crate::checkpoint::coordinator::AbortReason;
use crate::dataflow::results::{CheckpointObserver, DataflowRun, RunDetail};
use crate::engine::{EventBudget, RngStreams, SimTime};
use crate::scenario::DataflowModel;
use event::Event;
use rand::RngExt;
use state::World;

/// A bounded job without a `duration` is stopped after this much virtual time (one day), so a job
/// that can never finish still ends, reported as still running.
const SAFETY_STOP_US: u64 = 86_400_000_000;

/// Runs a dataflow scenario and returns everything that happened: every completed checkpoint's
/// contents, every sink write.
pub fn run(model: &DataflowModel, seed: u64) -> DataflowRun {
    run_with(model, seed, RunDetail::Full)
}

/// Runs a dataflow scenario, keeping as much of what happened as `detail` asks for. The simulation
/// itself is the same whatever `detail` is: same events, same digest, same statistics.
pub fn run_with(model: &DataflowModel, seed: u64, detail: RunDetail) -> DataflowRun {
    simulate(model, seed, detail, None)
}

/// Runs a dataflow scenario and hands every completed checkpoint to `observer` as soon as it
/// completes; then its contents are dropped once no restart can go back to it (the newest
/// completed checkpoint and the savepoints keep theirs, as [`RunDetail::Statistics`] does), so
/// memory follows what a restart needs, not the number of checkpoints. Same events, same digest.
pub fn run_observed(
    model: &DataflowModel,
    seed: u64,
    detail: RunDetail,
    observer: &mut dyn CheckpointObserver,
) -> DataflowRun {
    simulate(model, seed, detail, Some(observer))
}

fn simulate(
    model: &DataflowModel,
    seed: u64,
    detail: RunDetail,
    mut observer: Option<&mut dyn CheckpointObserver>,
) -> DataflowRun {
    let mut world = World::new(model, seed, detail);
    let budget = EventBudget::new(model.max_events);
    world.start();
    while let Some((now, event)) = world.queue.pop() {
        let (a, b) = event.digest_words();
        world.trace.fold(now.as_micros() ^ a << 40, b);
        world.handle(now, event);
        world.drain_wake(now);
        while !world.core_checks.is_empty() {
            world.check_cores();
            world.drain_wake(now);
        }
        if world.stop_the_world.draining() {
            world.check_quiescent(now);
        }
        if let Some(observer) = observer.as_deref_mut() {
            world.observe(observer);
        }
        if world.stopped {
            break;
        }
        world.cut_short = budget.spent(world.queue.popped_total(), now);
        if world.cut_short.is_some() {
            break;
        }
    }
    if let Some(observer) = observer {
        world.observe(observer);
    }
    world.finish()
}

impl World<'_> {
    /// Hands the checkpoints completed since the last call to `observer`, and drops the contents
    /// of a checkpoint that a newer one has superseded (it has been observed, and no restart can
    /// go back to it).
    fn observe(&mut self, observer: &mut dyn CheckpointObserver) {
        while self.observed < self.completed.len() {
            let index = self.observed;
            let states: Vec<Vec<_>> = self.tasks.iter().map(|t| t.states.clone()).collect();
            observer.completed(
                &self.graph,
                self.trace.events(),
                &states,
                &self.completed[index],
            );
            self.observed += 1;
            if !self.completed[index].is_savepoint
                && let Some(superseded) = self.observed_restorable.replace(index)
            {
                self.completed[superseded].tasks = Vec::new();
            }
        }
    }
}

impl World<'_> {
    /// Schedules what starts the run: faults, flush timers, savepoints, the periodic checkpoint
    /// scheduler, the end of the run; and lets every task make its first move.
    fn start(&mut self) {
        self.schedule_faults();
        for task in 0..self.tasks.len() {
            if !self.tasks[task].outputs.is_empty() {
                self.queue.schedule_after(
                    self.model.network.buffer_timeout_us,
                    Event::FlushTimer { task: task as u32 },
                );
            }
            self.wake(task);
        }
        for (index, savepoint) in self.model.savepoints.iter().enumerate() {
            self.queue.schedule_at(
                savepoint.at,
                Event::SavepointTrigger {
                    index: index as u32,
                },
            );
        }
        if let Some(config) = self.model.checkpointing.as_ref() {
            // Flink starts the periodic scheduler after a random delay in [min-pause, interval].
            let mut rng = RngStreams::new(self.seed).stream("checkpoint-coordinator");
            let low = config.min_pause_us.min(config.interval_us);
            let initial = rng.random_range(low..=config.interval_us);
            self.queue
                .schedule_after(initial, Event::PeriodicTrigger { generation: 0 });
        }
        // Unbounded jobs end at `duration`; bounded ones when every task has finished, with
        // `duration` (or a day of virtual time) as a safety net against a job that never ends.
        let stop = self
            .model
            .stop_at
            .unwrap_or(SimTime::from_micros(SAFETY_STOP_US));
        self.queue.schedule_at(stop, Event::EndOfRun);
        self.drain_wake(SimTime::ZERO);
    }

    /// Hands an event to the concept it belongs to.
    fn handle(&mut self, now: SimTime, event: Event) {
        if self.job_manager_is_down() && event.needs_the_job_manager() {
            // Nothing reaches a dead JobManager; its timers died with it.
            if matches!(event, Event::AckTaken { .. }) {
                self.ack_taker_done();
            }
            return;
        }
        if let Some(task) = event.rpc_task()
            && let Some(heals) = self.job_manager_partition_heals(now, task as usize)
        {
            // Cut off from the JobManager: the RPC gets through once the partition heals.
            let at = heals.after_us(self.model.network.rpc_latency_us);
            self.queue.schedule_at(at, event);
            return;
        }
        match event {
            Event::SourceTick { task } => self.source_tick(task as usize),
            Event::RecordDone { task, incarnation } => {
                self.record_done(now, task as usize, incarnation)
            }
            Event::FlushTimer { task } => self.flush_timer(now, task as usize),
            Event::Arrive { channel } => self.arrive(channel as usize),
            Event::CreditArrive {
                channel,
                incarnation,
            } => self.credit_arrived(now, channel as usize, incarnation),
            Event::SyncDone { task, checkpoint } => self.sync_done(now, task as usize, checkpoint),
            Event::StateUploaded { task, checkpoint } => {
                self.state_uploaded(now, task as usize, checkpoint)
            }
            Event::ChannelStateUploaded { task, checkpoint } => {
                self.channel_state_uploaded(now, task as usize, checkpoint)
            }
            Event::WriteCopied {
                task,
                checkpoint,
                channel_state,
            } => self.write_copied(now, task as usize, checkpoint, channel_state),
            Event::TriggerRpc { task, checkpoint } => {
                self.trigger_rpc_arrived(now, task as usize, checkpoint)
            }
            Event::NotifyComplete { task, checkpoint } => {
                self.notify_complete(now, task as usize, checkpoint)
            }
            Event::NotifyAborted { task, checkpoint } => {
                self.notify_aborted(now, task as usize, checkpoint)
            }
            Event::AckArrive { task, checkpoint } => self.take_ack(task as usize, checkpoint),
            Event::AckTaken { task, checkpoint } => {
                self.ack_taker_done();
                self.ack_arrive(now, task as usize, checkpoint)
            }

            Event::PeriodicTrigger { generation } => self.periodic_timer(now, generation),
            Event::CheckpointTimeout { checkpoint } => {
                self.abort_checkpoint(now, checkpoint, AbortReason::CheckpointExpired)
            }
            Event::AlignmentTimeout { task, checkpoint } => {
                self.alignment_timer_expired(task as usize, checkpoint)
            }
            Event::OutputBarrierTimeout { task, checkpoint } => {
                self.convert_stuck_barriers(now, task as usize, checkpoint)
            }
            Event::PauseRpc { task } => self.pause_source(now, task as usize),
            Event::ResumeRpc { task } => self.resume_source(now, task as usize),
            Event::TaskFinishedRpc { task } => self.task_finished_rpc(now, task as usize),
            Event::EndOfRun => {
                self.stopped = true;
            }
            Event::Fault { index } => self.fault(now, index as usize),
            Event::RandomFault { spec, target } => {
                self.random_fault(now, spec as usize, target as usize)
            }
            Event::FailureDetected { task, incarnation } => {
                self.failure_detected(now, task as usize, incarnation)
            }
            Event::Restart { generation } => self.restart(now, generation),
            Event::TaskRestored { task, incarnation } => {
                self.task_restored(now, task as usize, incarnation)
            }
            Event::Retransmit { channel } => self.transmit(now, channel as usize),
            Event::SavepointTrigger { index } => self.trigger_savepoint(now, index as usize),
            Event::DeclineArrive {
                checkpoint, reason, ..
            } => self.abort_checkpoint(now, checkpoint, reason),
            Event::HeartbeatTimeout { task_manager } => self.heartbeat_timed_out(now, task_manager),
            Event::JobManagerLostNoticed { epoch } => self.job_manager_lost_noticed(now, epoch),
            Event::JobManagerRestarted { epoch } => self.job_manager_restarted(now, epoch),
        }
    }
}
