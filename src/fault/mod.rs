//! Failures and what Flink does about them: fault plans, failure detection, restart strategies,
//! failover regions.
//!
//! A fault plan lists faults at fixed virtual times and random ones drawn from an exponential
//! distribution (a mean time between failures). Every fault has its own random stream, named
//! after its position in the plan, so adding a fault never moves the others.
//!
//! Names and defaults follow Flink's restart strategies and failover strategies:
//! `restart-strategy.type` none / fixed-delay / failure-rate / exponential-delay (the default when
//! checkpointing is on: 1 s × 1.5 up to 1 min, jitter 0.1, reset after 1 h without failure);
//! `jobmanager.execution.failover-strategy` full or region.

pub mod restart;

pub use restart::{RestartDecision, RestartStrategy, RestartTracker};

use crate::engine::SimTime;
use crate::topology::job::TaskIndex;
use serde::Serialize;

/// What goes wrong.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FaultKind {
    /// One subtask fails (an exception in user code, say): the job manager hears at once.
    TaskCrash { task: TaskIndex },
    /// A task manager dies with all its subtasks; noticed only after the heartbeat timeout.
    TaskManagerCrash { task_manager: u32 },
    /// Nothing crosses between two task managers (in either direction) for a while.
    NetworkPartition {
        task_managers: (u32, u32),
        duration_us: u64,
    },
    /// Nothing crosses between the JobManager and one task manager for a while. The RPCs either
    /// way — triggers, acknowledgements, declines, `notifyCheckpointComplete`, failure reports —
    /// that would arrive meanwhile arrive `rpc-latency` after it heals (TCP retransmitting). If
    /// it lasts `heartbeat.timeout`, the JobManager declares the task manager lost and fails its
    /// tasks, which are redeployed only once the task manager is reachable again.
    JobManagerPartition { task_manager: u32, duration_us: u64 },
    /// Every remote transfer takes `extra_us` longer for a while.
    LatencySpike { extra_us: u64, duration_us: u64 },
    /// A subtask processes `factor` times slower for a while.
    Straggler {
        task: TaskIndex,
        factor: f64,
        duration_us: u64,
    },
    /// Uploads to checkpoint storage fail for a while (tasks decline with an IO exception).
    StorageOutage { duration_us: u64 },
    /// Uploads to checkpoint storage take `factor` times longer for a while.
    StorageSlowdown { factor: f64, duration_us: u64 },
    /// The next checkpoint this subtask is asked to take, it declines.
    DeclineCheckpoint { task: TaskIndex },
    /// `notifyCheckpointComplete` messages are lost for a while (sinks miss their commit signal).
    LoseCompletionNotices { duration_us: u64 },
    /// The JobManager process dies: no checkpoint is triggered or completed, acknowledgements go
    /// nowhere; the task managers notice after `heartbeat.timeout` and fail the job's tasks. A new
    /// JobManager process is running `restart_after_us` later (Kubernetes or YARN restarting it);
    /// with high availability it recovers the job from the latest completed checkpoint, without
    /// it the job is gone.
    JobManagerCrash { restart_after_us: u64 },
}

/// `high-availability.type`: where a JobManager keeps what a successor needs to recover its jobs
/// (the job graph, the completed-checkpoint store, the checkpoint id counter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HighAvailability {
    /// `NONE` (Flink's default): a JobManager failure fails every running job for good.
    #[default]
    None,
    /// ZooKeeper leader election and metadata.
    ZooKeeper,
    /// Kubernetes leader election (a lease) and ConfigMaps.
    Kubernetes,
}

impl HighAvailability {
    /// Is there anything for a new JobManager to recover from?
    pub fn is_enabled(self) -> bool {
        self != HighAvailability::None
    }
}

/// A fault at a fixed time.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScheduledFault {
    /// When it strikes.
    pub at: SimTime,
    /// What it is.
    pub kind: FaultKind,
}

/// Crashes at random, exponentially distributed times.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RandomFaults {
    /// Task managers (true) or single tasks (false) crash.
    pub task_managers: bool,
    /// Mean time between failures of one task manager (or one task).
    pub mtbf_us: u64,
}

/// How the job reacts to failures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultPlan {
    /// Faults at fixed times.
    pub scheduled: Vec<ScheduledFault>,
    /// Random crashes.
    pub random: Vec<RandomFaults>,
    /// `heartbeat.timeout`: how long until a dead task manager is noticed.
    pub heartbeat_timeout_us: u64,
    /// `restart-strategy.*`.
    pub restart: RestartStrategy,
    /// `jobmanager.execution.failover-strategy`: restart only the failed pipelined region.
    pub region_failover: bool,
    /// Broken variant for teaching: restore from the newest *pending* checkpoint instead of the
    /// latest completed one.
    pub restore_from_pending: bool,
    /// `high-availability.type`: decides what a JobManager failure does to the job.
    pub high_availability: HighAvailability,
}

impl FaultPlan {
    /// No faults; restarts as Flink would configure them.
    pub fn none(restart: RestartStrategy) -> FaultPlan {
        FaultPlan {
            scheduled: Vec::new(),
            random: Vec::new(),
            heartbeat_timeout_us: 50_000_000,
            restart,
            region_failover: true,
            restore_from_pending: false,
            high_availability: HighAvailability::None,
        }
    }

    /// True if nothing ever fails.
    pub fn is_empty(&self) -> bool {
        self.scheduled.is_empty() && self.random.is_empty()
    }
}
