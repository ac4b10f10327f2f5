//! The machines task managers run on: hosts with a number of cores, shared by the subtasks placed
//! there.
//!
//! In Flink every subtask is a thread. The operating system shares the host's cores among the
//! runnable threads: when more subtasks are busy than there are cores, a busy subtask slows its
//! neighbours, and a thread that wakes up (for a checkpoint trigger, say) waits for a core. A
//! MiniCluster (a job run from the IDE or a test, and the measured reference runs) is one JVM on one
//! machine holding every task manager; a real cluster has a host per task manager, whose size
//! Flink's `taskmanager.cpu.cores` states.
//!
//! What the model adds to Flink's view, and what it leaves out: a core runs one subtask's work of
//! one record at a time; a subtask that holds a core keeps it across records for up to a
//! *scheduling quantum* while others wait (the OS time slice: Linux's CFS/EEVDF slices are a few
//! milliseconds), then goes to the back of the host's run queue. No preemption inside a record, no
//! priorities, no network threads, no garbage collection. Besides the task threads, two kinds of
//! thread need a core: a snapshot's writers (its asynchronous part copies the operator state and
//! the channel state into the checkpoint stream; the storage transfer itself takes no core), and,
//! in a MiniCluster, the JobManager's thread that takes each acknowledgement. A snapshot's
//! synchronous phase takes its time without a core of its own (it runs on the task thread, which
//! is not otherwise busy then).

use serde::Serialize;

/// Where task managers run, and how many cores each host has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hosts {
    /// As many cores as there are subtasks: nobody waits for a core (the model before hosts).
    Unlimited,
    /// One host per task manager, each with `cores` cores (`taskmanager.cpu.cores`).
    OnePerTaskManager { cores: u32 },
    /// A MiniCluster: every task manager in one JVM on one host of `cores` cores.
    MiniCluster { cores: u32 },
}

impl Hosts {
    /// Number of hosts for `task_managers` task managers (none when cores are unlimited).
    pub fn count(&self, task_managers: u32) -> usize {
        match self {
            Hosts::Unlimited => 0,
            Hosts::OnePerTaskManager { .. } => task_managers as usize,
            Hosts::MiniCluster { .. } => 1,
        }
    }

    /// The host of a task manager, if cores are limited.
    pub fn host_of(&self, task_manager: u32) -> Option<usize> {
        match self {
            Hosts::Unlimited => None,
            Hosts::OnePerTaskManager { .. } => Some(task_manager as usize),
            Hosts::MiniCluster { .. } => Some(0),
        }
    }

    /// The host the JobManager shares with task managers: a MiniCluster's one host (in a real
    /// cluster the JobManager has a machine of its own).
    pub fn job_manager_host(&self) -> Option<usize> {
        match self {
            Hosts::MiniCluster { .. } => Some(0),
            Hosts::Unlimited | Hosts::OnePerTaskManager { .. } => None,
        }
    }

    /// Cores of each host (`None`: unlimited).
    pub fn cores(&self) -> Option<u32> {
        match *self {
            Hosts::Unlimited => None,
            Hosts::OnePerTaskManager { cores } | Hosts::MiniCluster { cores } => Some(cores),
        }
    }
}

/// The default scheduling quantum: how long a busy subtask keeps a contended core. Fixed by the
/// measured reference runs (see the book's fidelity appendix): on two saturated cores, a source
/// woken by a checkpoint trigger waits for a core, which is most of why the unaligned run's start
/// delay and alignment (7 ms and 4 ms) exceed the unloaded run's (5 ms and 1 ms). Linux's own
/// slices on a two-core machine are of this order (CFS: 3 ms minimum granularity by default).
pub const DEFAULT_SCHEDULING_QUANTUM_US: u64 = 3_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mini_cluster_is_one_host_and_a_cluster_one_per_task_manager() {
        let mini = Hosts::MiniCluster { cores: 2 };
        assert_eq!(
            (mini.count(3), mini.host_of(2), mini.cores()),
            (1, Some(0), Some(2))
        );
        let cluster = Hosts::OnePerTaskManager { cores: 4 };
        assert_eq!((cluster.count(3), cluster.host_of(2)), (3, Some(2)));
        assert_eq!(
            (mini.job_manager_host(), cluster.job_manager_host()),
            (Some(0), None)
        );
        assert_eq!(
            (Hosts::Unlimited.count(3), Hosts::Unlimited.host_of(0)),
            (0, None)
        );
    }
}
