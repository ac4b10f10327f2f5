//! Flink's network stack settings (`taskmanager.network.*`): what makes in-flight data, start
//! delay and persisted data come out at the right size.

use serde::Serialize;

/// Network buffers, flushing and flow control.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkConfig {
    /// `taskmanager.memory.segment-size`: bytes per network buffer (32 KiB).
    pub segment_bytes: u32,
    /// `execution.buffer-timeout.interval`: partially filled buffers are flushed this often (100 ms).
    pub buffer_timeout_us: u64,
    /// `buffers-per-channel`: exclusive buffers of each remote input channel (2).
    pub exclusive_buffers_per_channel: u32,
    /// `floating-buffers-per-gate` (8).
    pub floating_buffers_per_gate: u32,
    /// `max-buffers-per-channel`: queued buffers allowed per output subpartition (10).
    pub max_buffers_per_channel: u32,
    /// One-way latency between task managers.
    pub remote_latency_us: u64,
    /// Bandwidth between a pair of task managers.
    pub remote_bandwidth_bytes_per_s: u64,
    /// One-way latency of job manager ↔ task RPCs.
    pub rpc_latency_us: u64,
}

impl NetworkConfig {
    /// Flink 2.x defaults, with 200 µs / 1 GiB/s between task managers and 1 ms RPCs.
    pub fn flink_defaults() -> NetworkConfig {
        NetworkConfig {
            segment_bytes: 32 * 1024,
            buffer_timeout_us: 100_000,
            exclusive_buffers_per_channel: 2,
            floating_buffers_per_gate: 8,
            max_buffers_per_channel: 10,
            remote_latency_us: 200,
            remote_bandwidth_bytes_per_s: 1024 * 1024 * 1024,
            rpc_latency_us: 1_000,
        }
    }

    /// Buffers in an output pool with `subpartitions` subpartitions: Flink sizes a result
    /// partition's pool at `subpartitions × buffers-per-channel + floating-buffers-per-gate`.
    pub fn output_pool_buffers(&self, subpartitions: usize) -> u32 {
        subpartitions as u32 * self.exclusive_buffers_per_channel + self.floating_buffers_per_gate
    }
}
