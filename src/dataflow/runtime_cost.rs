//! What Flink's runtime itself costs, besides the operators' user functions: CPU work per record
//! (framework cost) and the millisecond-scale paths of a checkpoint (trigger preparation, mailbox
//! delay).
//!
//! **Framework cost.** A record's trip is more than its user function: the source creates and
//! emits it, the record writer serialises it into a network buffer, the receiving task deserialises
//! it, a keyed operator reads and writes its state, a sink invokes its writer. Each step is CPU work
//! on the subtask's thread; with hosts of limited cores (see [`crate::topology::host`]) it competes
//! with every other subtask there. Chained operators pass records by method call, so only the chain's
//! head deserialises and only its end serialises.
//!
//! **Trigger preparation.** Flink's `CheckpointCoordinator` takes the trigger timestamp, then
//! prepares the checkpoint — checkpoints the operator coordinators (the sources' split enumerators),
//! initialises the checkpoint's storage location — and only then sends the trigger RPCs. Start delay
//! and end-to-end duration count from the timestamp.
//!
//! **Mailbox delay.** The trigger RPC lands on the task manager's RPC thread, which puts a mail in
//! the task's mailbox; the task thread sees it when it next wakes (an idle or backpressured task is
//! asleep). The delay is drawn per trigger, from each task's own random stream, so two sources see
//! the same checkpoint at slightly different times — the alignment of an unloaded job.
//!
//! **Snapshot writers.** A snapshot's asynchronous part runs on threads of its own: the
//! `AsyncCheckpointRunnable` writes the operator state, the `ChannelStateWriter` the channel state
//! of an unaligned checkpoint. Each needs a core of the task's host for its copying (see
//! [`SNAPSHOT_WRITE_US_PER_MIB`]); on a host whose cores are all busy it waits in the run queue
//! behind the task threads, as Linux makes a newly runnable thread wait. Then the storage transfer
//! runs without a core.
//!
//! The defaults are calibrated from measured Flink 2.3 runs on a two-core machine (the book's
//! fidelity appendix and the fidelity tests in `tests/dataflow_checkpoints.rs` say which
//! measurement fixes which constant).

use crate::engine::LatencyDistribution;
use serde::Serialize;

/// CPU time per record for each step a record takes through Flink's runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FrameworkCost {
    /// A source creates and emits one record (`SourceOutput.collect`, the rate limiter).
    pub emit_us: u64,
    /// A chain's last operator serialises a record into a network buffer (`RecordWriter`).
    pub serialize_us: u64,
    /// A chain's head deserialises a record from a buffer (`StreamTaskNetworkInput`).
    pub deserialize_us: u64,
    /// A keyed operator reads and updates the record's key in its state (hashmap backend).
    pub state_access_us: u64,
    /// A sink hands the record to its writer.
    pub sink_us: u64,
}

impl FrameworkCost {
    /// No framework cost: only the user function's `cost` takes time.
    pub const FREE: FrameworkCost = FrameworkCost {
        emit_us: 0,
        serialize_us: 0,
        deserialize_us: 0,
        state_access_us: 0,
        sink_us: 0,
    };

    /// Calibrated from the measured runs (two cores, two sources, two keyed subtasks with the sink
    /// chained). Run B (20k rec/s offered to a keyed sum of 200 µs per record) achieved 8,310 rec/s
    /// at the sink: 2 cores / 8,310 rec/s = 240.7 µs of CPU per record, 41 µs more than the user
    /// function — that fixes the *sum* of the five steps. Run A bounds the receiving side: its
    /// 5 ms start delay includes draining the ~250 records flushed ahead of each barrier, so
    /// deserialising, state access and sink together cost a few µs at most (1 µs each; serialising
    /// is taken to cost what deserialising does). The rest is the source's: 37 µs to emit a record
    /// (the generator, the rate limiter and the source reader's per-record mailbox loop). The split
    /// is an inference, not a measurement of each step; a job whose source is cheaper is modelled
    /// by overriding `runtime.framework-cost`. These are a small JVM machine's costs, not Flink's
    /// best case.
    pub const FLINK_2_3_TWO_CORES: FrameworkCost = FrameworkCost {
        emit_us: 37,
        serialize_us: 1,
        deserialize_us: 1,
        state_access_us: 1,
        sink_us: 1,
    };
}

/// The runtime's costs that are not the user's: per-record CPU work and checkpoint paths.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuntimeCosts {
    /// CPU work per record, step by step.
    pub framework: FrameworkCost,
    /// From the trigger timestamp to the trigger RPCs leaving the coordinator.
    pub trigger_preparation_us: u64,
    /// From a trigger RPC's arrival to the task thread seeing the mail.
    pub mailbox_delay: LatencyDistribution,
    /// CPU time of a snapshot writer thread per MiB it copies into the checkpoint stream.
    pub snapshot_write_us_per_mib: u64,
}

impl RuntimeCosts {
    /// Nothing but the user's costs and the RPC latency: the model before runtime costs.
    pub fn free() -> RuntimeCosts {
        RuntimeCosts {
            framework: FrameworkCost::FREE,
            trigger_preparation_us: 0,
            mailbox_delay: LatencyDistribution::Constant { latency_us: 0 },
            snapshot_write_us_per_mib: 0,
        }
    }

    /// The calibrated defaults (see [`FrameworkCost::FLINK_2_3_TWO_CORES`]). Trigger preparation
    /// and mailbox delay are fixed by run A (10k rec/s, no load): start delay 5 ms, alignment 1 ms.
    /// With two sources, the alignment is the gap between their two mailbox delays plus the records
    /// queued ahead of the later barrier; the gap between two exponential delays of mean m has median
    /// m·ln 2, so m = 1 ms gives about 0.7 ms, and the simulated alignment is 1.1 ms. The start
    /// delay is preparation + RPC latency (2 ms) + the earlier source's delay (≈ 0.35 ms) + the
    /// records queued ahead of the barrier (≈ 1 ms): preparation = 2 ms gives 5.7 ms.
    pub fn flink_2_3_two_cores() -> RuntimeCosts {
        RuntimeCosts {
            framework: FrameworkCost::FLINK_2_3_TWO_CORES,
            trigger_preparation_us: 2_000,
            mailbox_delay: LatencyDistribution::Exponential { mean_us: 1_000 },
            snapshot_write_us_per_mib: SNAPSHOT_WRITE_US_PER_MIB,
        }
    }

    /// A snapshot writer's CPU time for `bytes`, rounded up to whole microseconds.
    pub fn snapshot_write_us(&self, bytes: u64) -> u64 {
        (u128::from(bytes) * u128::from(self.snapshot_write_us_per_mib)).div_ceil(1 << 20) as u64
    }
}

/// A snapshot writer's CPU time per MiB: 1 ms, copying at about 1 GB/s (serialising heap state,
/// or copying network buffers, into a buffered checkpoint stream). An estimate, not a
/// measurement: on the measured runs it adds well under a millisecond — what the writer costs
/// there is the *wait* for a core on a saturated host, which the CPU model gives it.
pub const SNAPSHOT_WRITE_US_PER_MIB: u64 = 1_000;
