//! The checkpoint coordinator on the job manager: when to trigger, when a checkpoint is complete,
//! when it fails, and when too many failures fail the job.
//!
//! A pure state machine: the dataflow world feeds it timer ticks, acknowledgements and declines,
//! and carries out what it decides (sending RPCs, scheduling timeouts). Semantics, as
//! Flink's `CheckpointCoordinator`, `CheckpointRequestDecider` and `CheckpointFailureManager`:
//! - ids start at 1; every trigger attempt uses a new one;
//! - a periodic request runs only if fewer than `max-concurrent-checkpoints` are pending;
//!   otherwise it waits and runs as soon as one finishes (`CheckpointRequestDecider` queues it);
//! - a periodic request within `min-pause` of the last *completion* is dropped
//!   (MINIMUM_TIME_BETWEEN_CHECKPOINTS) and the periodic timer is rescheduled;
//! - a checkpoint completes when every task it waits for has acknowledged; older pending ones are
//!   then aborted as subsumed;
//! - expired and declined checkpoints count as failures (once per id, only for ids above the last
//!   success); more than `tolerable-failed-checkpoints` in a row fail the job; a success resets.

use super::CheckpointConfig;
use crate::engine::SimTime;
use crate::topology::job::TaskIndex;
use serde::Serialize;
use std::collections::BTreeMap;

/// Why a checkpoint did not complete (Flink's `CheckpointFailureReason` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AbortReason {
    /// Still pending at `timeout`.
    CheckpointExpired,
    /// A task declined it.
    CheckpointDeclined,
    /// A newer checkpoint completed first.
    CheckpointSubsumed,
    /// The job failed or was restarted while it was pending (`JOB_FAILOVER_REGION`: the
    /// failover region restarting aborts every pending checkpoint).
    JobFailoverRegion,
    /// An upload to checkpoint storage failed.
    IoException,
    /// A newer checkpoint reached the task while it was still aligning this one
    /// (`CHECKPOINT_DECLINED_SUBSUMED`); not a failure.
    CheckpointDeclinedSubsumed,
    /// The trigger reached a task that had already finished (`CHECKPOINT_DECLINED_TASK_CLOSING`);
    /// not a failure: the next trigger is planned without it.
    CheckpointDeclinedTaskClosing,
    /// The job reached a terminal state while the checkpoint was pending.
    CheckpointCoordinatorShutdown,
}

impl AbortReason {
    /// Every reason the model reports.
    pub const ALL: [AbortReason; 8] = [
        AbortReason::CheckpointExpired,
        AbortReason::CheckpointDeclined,
        AbortReason::CheckpointSubsumed,
        AbortReason::JobFailoverRegion,
        AbortReason::IoException,
        AbortReason::CheckpointDeclinedSubsumed,
        AbortReason::CheckpointDeclinedTaskClosing,
        AbortReason::CheckpointCoordinatorShutdown,
    ];

    /// Flink's `CheckpointFailureReason` name, as the report writes it.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    /// Does this failure count towards `tolerable-failed-checkpoints`?
    pub fn counts_as_failure(self) -> bool {
        matches!(
            self,
            AbortReason::CheckpointExpired
                | AbortReason::CheckpointDeclined
                | AbortReason::IoException
        )
    }
}

/// What the coordinator decided about a periodic trigger request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerDecision {
    /// Start checkpoint `id` now.
    Trigger { id: u64 },
    /// Too many pending: the request waits until one finishes.
    Queued,
    /// Inside `min-pause` of the last completion: dropped; try again at `retry_at`.
    TooEarly { retry_at: SimTime },
}

/// A checkpoint the coordinator is waiting for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PendingCheckpoint {
    /// When it was triggered.
    pub triggered_at: SimTime,
    /// Tasks that still have to acknowledge.
    pub awaiting: Vec<TaskIndex>,
    /// A savepoint (never subsumed, bypasses `max-concurrent-checkpoints`).
    pub is_savepoint: bool,
}

/// What happened when an acknowledgement arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckOutcome {
    /// Unknown or already finished checkpoint: the state is discarded.
    Late,
    /// Still waiting for others.
    Waiting,
    /// That was the last one: the checkpoint completed; these older ones are subsumed.
    Completed { subsumed: Vec<u64> },
}

/// The checkpoint coordinator.
#[derive(Clone, Debug)]
pub struct Coordinator {
    config: CheckpointConfig,
    next_id: u64,
    pending: BTreeMap<u64, PendingCheckpoint>,
    request_queued: bool,
    last_completion: Option<SimTime>,
    last_completed_id: u64,
    consecutive_failures: u32,
}

impl Coordinator {
    /// A coordinator with these settings and no history.
    pub fn new(config: CheckpointConfig) -> Coordinator {
        Coordinator::continuing_after(config, 0)
    }

    /// A coordinator for a job restored from checkpoint or savepoint `restored_id`: like Flink's
    /// (whose checkpoint id counter is restored with the job), its first checkpoint is
    /// `restored_id + 1`.
    pub fn continuing_after(config: CheckpointConfig, restored_id: u64) -> Coordinator {
        Coordinator {
            config,
            next_id: restored_id + 1,
            pending: BTreeMap::new(),
            request_queued: false,
            last_completion: None,
            last_completed_id: 0,
            consecutive_failures: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &CheckpointConfig {
        &self.config
    }

    /// A periodic timer fired.
    pub fn request_periodic(
        &mut self,
        now: SimTime,
        tasks_to_ack: impl FnOnce() -> Vec<TaskIndex>,
    ) -> TriggerDecision {
        let regular_pending = self.pending.values().filter(|p| !p.is_savepoint).count();
        if regular_pending >= self.config.max_concurrent as usize {
            self.request_queued = true;
            return TriggerDecision::Queued;
        }
        if let Some(last) = self.last_completion {
            let earliest = last.after_us(self.config.min_pause_us);
            if now < earliest {
                return TriggerDecision::TooEarly { retry_at: earliest };
            }
        }
        TriggerDecision::Trigger {
            id: self.start(now, tasks_to_ack(), false),
        }
    }

    /// Starts a savepoint now (never queued, never subsumed).
    pub fn trigger_savepoint(&mut self, now: SimTime, tasks_to_ack: Vec<TaskIndex>) -> u64 {
        self.start(now, tasks_to_ack, true)
    }

    fn start(&mut self, now: SimTime, awaiting: Vec<TaskIndex>, is_savepoint: bool) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(
            id,
            PendingCheckpoint {
                triggered_at: now,
                awaiting,
                is_savepoint,
            },
        );
        id
    }

    /// After a checkpoint finished (completed or aborted): was a request waiting? Then it is
    /// retried now.
    pub fn take_queued_request(&mut self) -> bool {
        std::mem::take(&mut self.request_queued)
    }

    /// A task acknowledged `id`.
    pub fn acknowledge(&mut self, now: SimTime, task: TaskIndex, id: u64) -> AckOutcome {
        let Some(pending) = self.pending.get_mut(&id) else {
            return AckOutcome::Late;
        };
        pending.awaiting.retain(|&t| t != task);
        if !pending.awaiting.is_empty() {
            return AckOutcome::Waiting;
        }
        let is_savepoint = self.pending.remove(&id).expect("present").is_savepoint;
        let mut subsumed = Vec::new();
        if !is_savepoint {
            self.last_completion = Some(now);
            self.last_completed_id = self.last_completed_id.max(id);
            self.consecutive_failures = 0;
            subsumed = self
                .pending
                .iter()
                .filter(|(older, p)| **older < id && !p.is_savepoint)
                .map(|(older, _)| *older)
                .collect();
            for older in &subsumed {
                self.pending.remove(older);
            }
        }
        AckOutcome::Completed { subsumed }
    }

    /// A task finished (end of input): it no longer has to acknowledge anything. Returns the
    /// checkpoints this completed.
    pub fn task_finished(&mut self, now: SimTime, task: TaskIndex) -> Vec<(u64, AckOutcome)> {
        let ids: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.awaiting.contains(&task))
            .map(|(&id, _)| id)
            .collect();
        let mut outcomes = Vec::new();
        for id in ids {
            if self.pending.contains_key(&id) {
                let outcome = self.acknowledge(now, task, id);
                if matches!(outcome, AckOutcome::Completed { .. }) {
                    outcomes.push((id, outcome));
                }
            }
        }
        outcomes
    }

    /// Aborts a pending checkpoint. Returns `Some(true)` if this failure makes the job fail
    /// (too many in a row), `Some(false)` if it was aborted without failing the job, and `None`
    /// if it was not pending.
    pub fn abort(&mut self, id: u64, reason: AbortReason) -> Option<bool> {
        self.pending.remove(&id)?;
        if reason.counts_as_failure() && id > self.last_completed_id {
            self.consecutive_failures += 1;
        }
        // Only a counted failure can tip the job into a failover.
        Some(reason.counts_as_failure() && self.consecutive_failures > self.config.tolerable_failed)
    }

    /// Aborts everything pending (job failover); returns the ids.
    pub fn abort_all(&mut self) -> Vec<u64> {
        let ids: Vec<u64> = self.pending.keys().copied().collect();
        self.pending.clear();
        self.request_queued = false;
        ids
    }

    /// Is `id` still pending?
    pub fn is_pending(&self, id: u64) -> bool {
        self.pending.contains_key(&id)
    }

    /// The pending checkpoint `id`.
    pub fn pending(&self, id: u64) -> Option<&PendingCheckpoint> {
        self.pending.get(&id)
    }

    /// Number of pending checkpoints (savepoints included).
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Consecutive counted failures since the last success.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// The newest completed checkpoint id (0 if none).
    pub fn last_completed_id(&self) -> u64 {
        self.last_completed_id
    }

    /// The ids of the pending checkpoints, oldest first.
    pub fn pending_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.pending.keys().copied()
    }

    /// Everything the coordinator has decided so far, its settings aside: two coordinators with
    /// the same settings behave alike from here on exactly when their progress is equal. (The
    /// explorer, `snapsim explore --dataflow`, tells its states apart by this.)
    pub fn progress(&self) -> Progress<'_> {
        (
            self.next_id,
            &self.pending,
            self.request_queued,
            self.last_completion,
            self.last_completed_id,
            self.consecutive_failures,
        )
    }
}

/// [`Coordinator::progress`]: the next id, the pending checkpoints, whether a request waits, the
/// last completion, the last completed id, and the failures in a row.
pub type Progress<'a> = (
    u64,
    &'a BTreeMap<u64, PendingCheckpoint>,
    bool,
    Option<SimTime>,
    u64,
    u32,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::SnapshotProtocol;

    fn config(max_concurrent: u32, min_pause_us: u64, tolerable_failed: u32) -> CheckpointConfig {
        CheckpointConfig {
            interval_us: 1_000_000,
            protocol: SnapshotProtocol::Aligned,
            min_pause_us,
            max_concurrent,
            timeout_us: 600_000_000,
            tolerable_failed,
            num_retained: 1,
        }
    }

    fn at(ms: u64) -> SimTime {
        SimTime::from_micros(ms * 1000)
    }

    #[test]
    fn a_request_while_one_is_pending_waits_and_the_checkpoint_completes_after_all_acks() {
        let mut coordinator = Coordinator::new(config(1, 0, 0));
        assert_eq!(
            coordinator.request_periodic(at(0), || vec![0, 1]),
            TriggerDecision::Trigger { id: 1 }
        );
        assert_eq!(
            coordinator.request_periodic(at(1000), || vec![0, 1]),
            TriggerDecision::Queued
        );
        assert_eq!(coordinator.acknowledge(at(1500), 0, 1), AckOutcome::Waiting);
        assert_eq!(
            coordinator.acknowledge(at(2400), 1, 1),
            AckOutcome::Completed { subsumed: vec![] }
        );
        assert!(
            coordinator.take_queued_request(),
            "the queued request runs now: back to back"
        );
        assert_eq!(
            coordinator.request_periodic(at(2400), || vec![0, 1]),
            TriggerDecision::Trigger { id: 2 }
        );
        assert_eq!(coordinator.acknowledge(at(2500), 0, 1), AckOutcome::Late);
    }

    #[test]
    fn a_trigger_inside_min_pause_is_dropped_and_retried_later() {
        let mut coordinator = Coordinator::new(config(1, 500, 0));
        coordinator.request_periodic(at(0), || vec![0]);
        coordinator.acknowledge(at(900), 0, 1);
        assert_eq!(
            coordinator.request_periodic(SimTime::from_micros(900_200), || vec![0]),
            TriggerDecision::TooEarly {
                retry_at: SimTime::from_micros(900_500)
            }
        );
        assert_eq!(
            coordinator.request_periodic(SimTime::from_micros(900_500), || vec![0]),
            TriggerDecision::Trigger { id: 2 }
        );
    }

    #[test]
    fn completion_subsumes_older_pending_checkpoints() {
        let mut coordinator = Coordinator::new(config(3, 0, 0));
        coordinator.request_periodic(at(0), || vec![0]);
        coordinator.request_periodic(at(10), || vec![0]);
        assert_eq!(
            coordinator.acknowledge(at(20), 0, 2),
            AckOutcome::Completed { subsumed: vec![1] }
        );
        assert!(!coordinator.is_pending(1));
    }

    #[test]
    fn failures_beyond_the_tolerable_count_fail_the_job_and_success_resets_the_count() {
        let mut coordinator = Coordinator::new(config(1, 0, 1));
        coordinator.request_periodic(at(0), || vec![0]);
        assert_eq!(
            coordinator.abort(1, AbortReason::CheckpointExpired),
            Some(false),
            "one failure is tolerated"
        );
        coordinator.request_periodic(at(10), || vec![0]);
        coordinator.acknowledge(at(20), 0, 2);
        assert_eq!(coordinator.consecutive_failures(), 0);
        coordinator.request_periodic(at(30), || vec![0]);
        coordinator.abort(3, AbortReason::CheckpointDeclined);
        coordinator.request_periodic(at(40), || vec![0]);
        assert_eq!(
            coordinator.abort(4, AbortReason::CheckpointExpired),
            Some(true),
            "the second in a row fails the job"
        );
        coordinator.request_periodic(at(50), || vec![0]);
        assert_eq!(
            coordinator
                .abort(5, AbortReason::CheckpointSubsumed)
                .map(|_| coordinator.consecutive_failures()),
            Some(2),
            "subsumption is not a failure"
        );
    }
}
