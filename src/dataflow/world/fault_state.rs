//! The world's fault and recovery state: the plan, the restart strategy's tracker, what faults are
//! in force, and the failover in progress.

use crate::checkpoint::restore::RestoreRule;
use crate::dataflow::results::{RecoveryStats, TaskSnapshot};
use crate::engine::{RngStreams, SimRng, SimTime};
use crate::fault::{FaultPlan, RestartTracker};
use crate::scenario::DataflowModel;
use crate::topology::job::TaskIndex;

/// The world's fault and recovery state.
pub(super) struct FaultState {
    pub(super) plan: FaultPlan,
    pub(super) tracker: RestartTracker,
    pub(super) rng: SimRng,
    /// Task managers (or tasks) of each random-fault entry.
    pub(super) regions: Vec<usize>,
    pub(super) generation: u64,
    pub(super) partitioned_until: Vec<(u32, u32, SimTime)>,
    /// Task managers cut off from the JobManager, and until when.
    pub(super) job_manager_partitioned_until: Vec<(u32, SimTime)>,
    pub(super) latency_extra: (u64, SimTime),
    pub(super) storage_outage_until: SimTime,
    pub(super) storage_slowdown: (f64, SimTime),
    pub(super) notices_lost_until: SimTime,
    /// The failover in progress: tasks to restart.
    pub(super) pending_restart: Vec<TaskIndex>,
    /// Broken variant: the newest pending checkpoint's acknowledged snapshots, kept at failover.
    pub(super) newest_pending: Option<(u64, Vec<TaskSnapshot>)>,
    /// Which checkpoint a restart restores.
    pub(super) restore_rule: RestoreRule,
    pub(super) recoveries: Vec<RecoveryStats>,
    /// The JobManager is down: since when, and whether the task managers have noticed.
    pub(super) job_manager_down: Option<JobManagerDown>,
    /// Counts JobManager crashes (a stale notice or restart of an earlier one is ignored).
    pub(super) job_manager_epoch: u64,
}

/// A JobManager failure in progress.
#[derive(Clone, Copy, Debug)]
pub(super) struct JobManagerDown {
    /// The task managers have failed the job's tasks.
    pub(super) tasks_cancelled: bool,
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
            job_manager_partitioned_until: Vec::new(),
            latency_extra: (0, SimTime::ZERO),
            storage_outage_until: SimTime::ZERO,
            storage_slowdown: (1.0, SimTime::ZERO),
            notices_lost_until: SimTime::ZERO,
            pending_restart: Vec::new(),
            newest_pending: None,
            restore_rule: if model.faults.restore_from_pending {
                RestoreRule::NewestPending
            } else {
                RestoreRule::LatestCompleted
            },
            recoveries: Vec::new(),
            job_manager_down: None,
            job_manager_epoch: 0,
        }
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
