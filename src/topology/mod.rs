//! The shape of the system being snapshotted.
//!
//! For Chandy-Lamport this is a *process graph*: processes joined by directed channels, any graph
//! at all, cycles included (the 1985 paper, §2). Channel indices and process indices are positions
//! in the vectors below; they are stable for the whole run and are what the event record uses.
//!
//! For Flink it is a *job graph* of operators that expands into an execution graph of subtasks and
//! channels: see [`job`].

pub mod host;
pub mod job;

use crate::engine::LatencyDistribution;
use serde::Serialize;

/// Position of a process in [`ProcessGraph::processes`].
pub type ProcessIndex = usize;
/// Position of a channel in [`ProcessGraph::channels`].
pub type ChannelIndex = usize;

/// One process of the process graph and the tokens it starts with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Process {
    /// The name used in scenario files and reports.
    pub name: String,
    /// Tokens (money, in the bank workload) held at time zero.
    pub initial_tokens: i64,
}

/// A directed channel from one process to another and how it behaves.
///
/// The paper assumes channels are reliable FIFO queues with arbitrary but finite delay; `fifo`
/// and `loss_probability` exist to break that assumption on purpose, for teaching.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelConfig {
    /// Sending process.
    pub from: ProcessIndex,
    /// Receiving process.
    pub to: ProcessIndex,
    /// Delay from send to arrival.
    pub latency: LatencyDistribution,
    /// When false, a message may overtake one sent before it on the same channel.
    pub fifo: bool,
    /// Probability that a message is lost in transit (0 = reliable).
    pub loss_probability: f64,
}

/// Processes and the directed channels between them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProcessGraph {
    /// All processes, in file order.
    pub processes: Vec<Process>,
    /// All channels, in file (or generation) order.
    pub channels: Vec<ChannelConfig>,
}

impl ProcessGraph {
    /// For each process, the channels it sends on, in channel order.
    pub fn outgoing(&self) -> Vec<Vec<ChannelIndex>> {
        let mut outgoing = vec![Vec::new(); self.processes.len()];
        for (index, channel) in self.channels.iter().enumerate() {
            outgoing[channel.from].push(index);
        }
        outgoing
    }

    /// For each process, the channels it receives on, in channel order.
    pub fn incoming(&self) -> Vec<Vec<ChannelIndex>> {
        let mut incoming = vec![Vec::new(); self.processes.len()];
        for (index, channel) in self.channels.iter().enumerate() {
            incoming[channel.to].push(index);
        }
        incoming
    }

    /// A channel's display name, `from->to`.
    pub fn channel_name(&self, channel: ChannelIndex) -> String {
        let config = &self.channels[channel];
        format!(
            "{}->{}",
            self.processes[config.from].name, self.processes[config.to].name
        )
    }

    /// The processes a marker sent by `start` can reach, following channels (breadth-first).
    pub fn reachable_from(&self, start: ProcessIndex) -> Vec<bool> {
        let outgoing = self.outgoing();
        let mut seen = vec![false; self.processes.len()];
        let mut frontier = vec![start];
        seen[start] = true;
        while let Some(process) = frontier.pop() {
            for &channel in &outgoing[process] {
                let next = self.channels[channel].to;
                if !seen[next] {
                    seen[next] = true;
                    frontier.push(next);
                }
            }
        }
        seen
    }

    /// Sum of all initial tokens: what conservation (invariant 3 of the oracle) compares against.
    pub fn total_initial_tokens(&self) -> i64 {
        self.processes.iter().map(|p| p.initial_tokens).sum()
    }
}

/// `count` tokens in words, for the oracle's and the summary's sentences: "1 token", "3 tokens".
pub fn tokens(count: i64) -> String {
    if count.abs() == 1 {
        format!("{count} token")
    } else {
        format!("{count} tokens")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(usize, usize)], processes: usize) -> ProcessGraph {
        ProcessGraph {
            processes: (0..processes)
                .map(|i| Process {
                    name: format!("p{i}"),
                    initial_tokens: 1,
                })
                .collect(),
            channels: edges
                .iter()
                .map(|&(from, to)| ChannelConfig {
                    from,
                    to,
                    latency: LatencyDistribution::Constant { latency_us: 1 },
                    fifo: true,
                    loss_probability: 0.0,
                })
                .collect(),
        }
    }

    #[test]
    fn reachability_follows_channel_direction() {
        let line = graph(&[(0, 1), (1, 2)], 3);
        assert_eq!(line.reachable_from(0), [true, true, true]);
        assert_eq!(line.reachable_from(2), [false, false, true]);
        assert_eq!(line.channel_name(1), "p1->p2");
        assert_eq!(line.total_initial_tokens(), 3);
    }
}
