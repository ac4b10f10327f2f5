//! Flink's checkpoint mechanism, as state machines the dataflow world drives: the barrier handlers
//! of the tasks ([`barrier`]: `SingleCheckpointBarrierHandler`, `CheckpointBarrierTracker`), the
//! checkpoint coordinator on the job manager ([`coordinator`]: `CheckpointCoordinator`,
//! `CheckpointRequestDecider`, `CheckpointFailureManager`), when a two-phase-commit sink commits
//! ([`two_phase_commit`]) and what a failover restores ([`restore`]); their settings with Flink's
//! option names ([`config`]), the statistics a checkpoint reports ([`metrics`]), and savepoint
//! files ([`savepoint`]).

pub mod barrier;
pub mod config;
pub mod coordinator;
pub mod metrics;
pub mod restore;
pub mod rocksdb_files;
pub mod savepoint;
pub mod two_phase_commit;

pub use config::{
    CheckpointConfig, DataflowVariant, SnapshotProtocol, StateBackend, StateConfig, StorageConfig,
};
