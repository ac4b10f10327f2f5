//! Everything the engine can be asked to do in a dataflow run, as small `Copy` values, and the
//! words each folds into the run's digest.

use crate::checkpoint::coordinator::AbortReason;

/// Everything the engine can be asked to do (16 bytes).
#[derive(Clone, Copy, Debug)]
pub(super) enum Event {
    SourceTick {
        task: u32,
    },
    RecordDone {
        task: u32,
        incarnation: u32,
    },
    FlushTimer {
        task: u32,
    },
    Arrive {
        channel: u32,
    },
    CreditArrive {
        channel: u32,
        incarnation: u32,
    },
    SyncDone {
        task: u32,
        checkpoint: u64,
    },
    StateUploaded {
        task: u32,
        checkpoint: u64,
    },
    ChannelStateUploaded {
        task: u32,
        checkpoint: u64,
    },
    /// A snapshot writer thread has copied its bytes (operator state, or channel state).
    WriteCopied {
        task: u32,
        checkpoint: u64,
        channel_state: bool,
    },
    TriggerRpc {
        task: u32,
        checkpoint: u64,
    },
    NotifyComplete {
        task: u32,
        checkpoint: u64,
    },
    NotifyAborted {
        task: u32,
        checkpoint: u64,
    },
    AckArrive {
        task: u32,
        checkpoint: u64,
    },
    /// The JobManager's thread takes an acknowledgement that has arrived.
    AckTaken {
        task: u32,
        checkpoint: u64,
    },

    PeriodicTrigger {
        generation: u64,
    },
    CheckpointTimeout {
        checkpoint: u64,
    },
    AlignmentTimeout {
        task: u32,
        checkpoint: u64,
    },
    OutputBarrierTimeout {
        task: u32,
        checkpoint: u64,
    },
    PauseRpc {
        task: u32,
    },
    ResumeRpc {
        task: u32,
    },
    TaskFinishedRpc {
        task: u32,
    },
    EndOfRun,
    /// A scheduled fault strikes.
    Fault {
        index: u32,
    },
    /// A random crash strikes a task manager or task.
    RandomFault {
        spec: u32,
        target: u32,
    },
    /// The job manager notices a failed task.
    FailureDetected {
        task: u32,
        incarnation: u32,
    },
    /// The restart strategy's delay is over: redeploy.
    Restart {
        generation: u64,
    },
    /// A redeployed task has downloaded its state.
    TaskRestored {
        task: u32,
        incarnation: u32,
    },
    /// A network partition healed: try sending again.
    Retransmit {
        channel: u32,
    },
    /// The user asks for a savepoint.
    SavepointTrigger {
        index: u32,
    },
    /// A task declined a checkpoint, for this reason.
    DeclineArrive {
        task: u32,
        checkpoint: u64,
        reason: AbortReason,
    },
    /// `heartbeat.timeout` after a task manager was cut off from the JobManager: if it still is,
    /// the JobManager declares it lost.
    HeartbeatTimeout {
        task_manager: u32,
    },
    /// The task managers notice their JobManager is gone (`heartbeat.timeout`) and fail its tasks.
    JobManagerLostNoticed {
        epoch: u64,
    },
    /// A new JobManager process is running (it recovers the job only with high availability).
    JobManagerRestarted {
        epoch: u64,
    },
}

impl Event {
    /// Handled by the JobManager (its RPC endpoint, its timers): lost while it is down. RPCs it
    /// sent before it died (triggers, notices) still arrive.
    pub(super) fn needs_the_job_manager(&self) -> bool {
        matches!(
            self,
            Event::AckArrive { .. }
                | Event::AckTaken { .. }
                | Event::PeriodicTrigger { .. }
                | Event::CheckpointTimeout { .. }
                | Event::TaskFinishedRpc { .. }
                | Event::FailureDetected { .. }
                | Event::Restart { .. }
                | Event::SavepointTrigger { .. }
                | Event::DeclineArrive { .. }
                | Event::HeartbeatTimeout { .. }
        )
    }

    /// An RPC between the JobManager and this task (either way): held by a partition between
    /// the JobManager and the task's task manager.
    pub(super) fn rpc_task(&self) -> Option<u32> {
        match *self {
            Event::TriggerRpc { task, .. }
            | Event::NotifyComplete { task, .. }
            | Event::NotifyAborted { task, .. }
            | Event::AckArrive { task, .. }
            | Event::TaskFinishedRpc { task }
            | Event::PauseRpc { task }
            | Event::ResumeRpc { task }
            | Event::FailureDetected { task, .. }
            | Event::DeclineArrive { task, .. } => Some(task),
            _ => None,
        }
    }

    /// The two words this event folds into the run's digest.
    pub(super) fn digest_words(&self) -> (u64, u64) {
        match *self {
            Event::SourceTick { task } => (1, u64::from(task)),
            Event::RecordDone { task, incarnation } => {
                (2 | u64::from(incarnation) << 8, u64::from(task))
            }
            Event::FlushTimer { task } => (3, u64::from(task)),
            Event::Arrive { channel } => (4, u64::from(channel)),
            Event::CreditArrive {
                channel,
                incarnation,
            } => (5 | u64::from(incarnation) << 8, u64::from(channel)),
            Event::SyncDone { task, checkpoint } => (6 | u64::from(task) << 8, checkpoint),
            Event::StateUploaded { task, checkpoint } => (7 | u64::from(task) << 8, checkpoint),
            Event::ChannelStateUploaded { task, checkpoint } => {
                (8 | u64::from(task) << 8, checkpoint)
            }
            Event::TriggerRpc { task, checkpoint } => (9 | u64::from(task) << 8, checkpoint),
            Event::NotifyComplete { task, checkpoint } => (10 | u64::from(task) << 8, checkpoint),
            Event::NotifyAborted { task, checkpoint } => (11 | u64::from(task) << 8, checkpoint),
            Event::AckArrive { task, checkpoint } => (12 | u64::from(task) << 8, checkpoint),
            Event::AckTaken { task, checkpoint } => (31 | u64::from(task) << 8, checkpoint),

            Event::PeriodicTrigger { generation } => (14, generation),
            Event::CheckpointTimeout { checkpoint } => (15, checkpoint),
            Event::AlignmentTimeout { task, checkpoint } => (16 | u64::from(task) << 8, checkpoint),
            Event::OutputBarrierTimeout { task, checkpoint } => {
                (17 | u64::from(task) << 8, checkpoint)
            }
            Event::PauseRpc { task } => (18, u64::from(task)),
            Event::ResumeRpc { task } => (19, u64::from(task)),
            Event::TaskFinishedRpc { task } => (20, u64::from(task)),
            Event::EndOfRun => (21, 0),
            Event::Fault { index } => (22, u64::from(index)),
            Event::RandomFault { spec, target } => (23 | u64::from(spec) << 8, u64::from(target)),
            Event::FailureDetected { task, incarnation } => {
                (24 | u64::from(incarnation) << 8, u64::from(task))
            }
            Event::Restart { generation } => (25, generation),
            Event::TaskRestored { task, incarnation } => {
                (26 | u64::from(incarnation) << 8, u64::from(task))
            }
            Event::Retransmit { channel } => (27, u64::from(channel)),
            Event::SavepointTrigger { index } => (28, u64::from(index)),
            Event::DeclineArrive {
                checkpoint, reason, ..
            } => (29 | (reason as u64) << 8, checkpoint),
            Event::HeartbeatTimeout { task_manager } => (34, u64::from(task_manager)),
            Event::JobManagerLostNoticed { epoch } => (32, epoch),
            Event::JobManagerRestarted { epoch } => (33, epoch),
            Event::WriteCopied {
                task,
                checkpoint,
                channel_state,
            } => (
                30 | u64::from(channel_state) << 8 | u64::from(task) << 9,
                checkpoint,
            ),
        }
    }
}
