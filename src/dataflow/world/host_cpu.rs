//! One host's cores, as the CPU model (`cpu.rs`) uses them.

use crate::topology::job::TaskIndex;
use std::collections::VecDeque;

/// A thread waiting for a core: a subtask's task thread, or one of its snapshot writers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Runner {
    /// The subtask's task thread (its pending work is in the task).
    Task(TaskIndex),
    /// A subtask's asynchronous snapshot writer: it copies its bytes for `work_us`, then the
    /// storage transfer starts.
    Writer(SnapshotWrite),
    /// The JobManager's thread, to take a subtask's acknowledgement of a checkpoint (MiniCluster).
    AckTaker { task: TaskIndex, checkpoint: u64 },
}

/// What a snapshot writer thread writes: a subtask's operator state or its channel state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SnapshotWrite {
    pub(super) task: TaskIndex,
    pub(super) checkpoint: u64,
    pub(super) channel_state: bool,
    pub(super) work_us: u64,
}

/// One host's cores: how many are busy, and the threads waiting for one, in order.
#[derive(Debug)]
pub(super) struct HostCpu {
    pub(super) cores: u32,
    pub(super) busy: u32,
    pub(super) run_queue: VecDeque<Runner>,
}

impl HostCpu {
    pub(super) fn new(cores: u32) -> HostCpu {
        HostCpu {
            cores,
            busy: 0,
            run_queue: VecDeque::new(),
        }
    }
}
