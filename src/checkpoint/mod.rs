//! Flink's checkpoint mechanism: settings, the coordinator on the job manager, and the metrics a
//! checkpoint reports. The barrier handling inside tasks lives with the tasks, in
//! [`crate::dataflow`].
//!
//! Semantics follow `reference/flink-semantics.md` (CheckpointCoordinator,
//! CheckpointRequestDecider, CheckpointFailureManager, SingleCheckpointBarrierHandler,
//! CheckpointBarrierTracker, SubtaskCheckpointCoordinatorImpl).

pub mod barrier;
pub mod config;
pub mod coordinator;
pub mod metrics;
pub mod restore;
pub mod savepoint;
pub mod two_phase_commit;

pub use config::{
    CheckpointConfig, DataflowVariant, SnapshotProtocol, StateBackend, StateConfig, StorageConfig,
};
