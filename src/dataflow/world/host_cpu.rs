//! One host's cores, as the CPU model (`cpu.rs`) uses them.

use crate::topology::job::TaskIndex;
use std::collections::VecDeque;

/// One host's cores: how many are busy, and the subtasks waiting for one, in order.
#[derive(Debug)]
pub(super) struct HostCpu {
    pub(super) cores: u32,
    pub(super) busy: u32,
    pub(super) run_queue: VecDeque<TaskIndex>,
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
