//! A Flink job running on the engine: tasks, network buffers with credit-based flow control,
//! the checkpoint coordinator, barrier handlers, snapshot phases and storage.
//!
//! One task is one thread (Flink's mailbox model): it processes one record at a time, taking each
//! record's processing cost in virtual time, and handles checkpoint work between records. Records
//! are serialized into 32 KiB buffers that are flushed when full or by the buffer timeout; an
//! output subpartition queues at most `max-buffers-per-channel` buffers, and a task whose output
//! pool is exhausted stops taking input — that is how backpressure forms by itself and travels
//! back to the sources, which then emit less.
//!
//! How tasks react to barriers is decided by the barrier handlers of [`crate::checkpoint::barrier`];
//! the coordinator and the settings are in [`crate::checkpoint`]. The world (`world/`) runs them;
//! [`results`] is what a run returns.

pub mod phase;
pub mod results;
pub mod runtime_cost;
mod world;

pub use results::{
    ActivityChange, ChannelLevel, CheckpointObserver, CompletedCheckpoint, DataflowRun, JobMetrics,
    JobStatus, RecoveryStats, RunDetail, TaskActivity, TaskMetrics, TaskSnapshot,
};
pub use world::{run, run_observed, run_with};
