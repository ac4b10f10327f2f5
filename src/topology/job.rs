//! The job graph (operators and edges, as a Flink program declares them) and the execution graph
//! it expands into (subtasks placed in slots on task managers, connected by channels).
//!
//! Expansion follows Flink:
//! - **Chaining**: an operator whose only input is a `forward` edge from an operator of the same
//!   parallelism, which has no other consumer, runs in the same task (same thread, no network).
//! - **Slots**: with slot sharing, subtask `i` of every task goes to slot `i`; slots fill task
//!   managers in order (`taskmanager.numberOfTaskSlots` per task manager).
//! - **Channels**: one per (producer subtask, consumer subtask) pair that the partitioner connects:
//!   `forward` pairs subtask `i` with `i`; `hash`, `rebalance` and `broadcast` connect all to all.
//!   A channel between subtasks on the same task manager is *local*.

use crate::engine::LatencyDistribution;
use crate::workload::dataflow::OperatorKind;
use serde::Serialize;

/// Position of an operator in [`JobGraph::operators`].
pub type OperatorIndex = usize;
/// Position of a task (one subtask of one chain) in [`ExecutionGraph::tasks`].
pub type TaskIndex = usize;
/// Position of a channel in [`ExecutionGraph::channels`].
pub type DataChannelIndex = usize;

/// How records of an edge are distributed over the consumer's subtasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Partitioner {
    /// Subtask `i` sends to subtask `i` (parallelism must match).
    Forward,
    /// By key group of the record's key (`keyBy`).
    Hash,
    /// Round robin over all consumer subtasks.
    Rebalance,
    /// Every record to every consumer subtask.
    Broadcast,
}

/// An input edge of an operator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Input {
    /// Producing operator.
    pub from: OperatorIndex,
    /// How records are distributed.
    pub partitioner: Partitioner,
}

/// One operator of the job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Operator {
    /// Display name.
    pub name: String,
    /// Stable id for savepoints.
    pub uid: String,
    /// Number of parallel subtasks.
    pub parallelism: u32,
    /// What it does.
    pub kind: OperatorKind,
    /// Its input edges.
    pub inputs: Vec<Input>,
    /// Processing time per record (`None` = free).
    pub cost: Option<LatencyDistribution>,
    /// May this operator be chained to its input?
    pub chainable: bool,
    /// Keyed state in RocksDB's SST files: compressed bytes per raw byte (1.0: incompressible).
    pub state_compressibility: f64,
}

/// The job graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobGraph {
    /// Operators, in topological order (inputs before consumers).
    pub operators: Vec<Operator>,
    /// Number of key groups.
    pub max_parallelism: u32,
}

/// Task managers and slots.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cluster {
    /// Number of task managers.
    pub task_managers: u32,
    /// Slots per task manager.
    pub slots_per_task_manager: u32,
    /// The hosts they run on and their cores (see [`super::host`]).
    pub hosts: super::host::Hosts,
    /// How long a busy subtask keeps a contended core before the next waiting one gets it.
    pub scheduling_quantum_us: u64,
}

/// One task: a chain of operators, one subtask index.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskVertex {
    /// Display name, e.g. `sum[1]`.
    pub name: String,
    /// Operators in the chain, head first.
    pub chain: Vec<OperatorIndex>,
    /// Subtask index.
    pub subtask: u32,
    /// Parallelism of the chain.
    pub parallelism: u32,
    /// Task manager it runs on.
    pub task_manager: u32,
    /// Input channels (all input edges, one gate).
    pub inputs: Vec<DataChannelIndex>,
    /// Output edges: for each consumer chain, the channels by consumer subtask.
    pub outputs: Vec<OutputEdge>,
}

/// The channels from one task to the subtasks of one consuming chain.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputEdge {
    /// How records are distributed.
    pub partitioner: Partitioner,
    /// Parallelism of the consumer.
    pub consumer_parallelism: u32,
    /// Channels, indexed by consumer subtask for all-to-all edges; one channel for forward.
    pub channels: Vec<DataChannelIndex>,
}

/// One channel between two subtasks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelVertex {
    /// Producing task.
    pub from: TaskIndex,
    /// Consuming task.
    pub to: TaskIndex,
    /// Both on the same task manager.
    pub local: bool,
}

/// The expanded job: what actually runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExecutionGraph {
    /// All tasks, grouped by chain, subtasks in order.
    pub tasks: Vec<TaskVertex>,
    /// All channels.
    pub channels: Vec<ChannelVertex>,
    /// For each operator, the task index of its subtask 0 (subtask `i` is `+ i`).
    pub operator_first_task: Vec<TaskIndex>,
}

impl JobGraph {
    /// Can operator `index` be chained to its (single) input?
    pub fn chains_to_input(&self, index: OperatorIndex) -> bool {
        let operator = &self.operators[index];
        let [input] = operator.inputs.as_slice() else {
            return false;
        };
        let producer = &self.operators[input.from];
        let consumers = self
            .operators
            .iter()
            .filter(|o| o.inputs.iter().any(|i| i.from == input.from))
            .count();
        operator.chainable
            && input.partitioner == Partitioner::Forward
            && producer.parallelism == operator.parallelism
            && consumers == 1
    }

    /// Expands the job graph into tasks and channels.
    pub fn expand(&self, cluster: &Cluster) -> ExecutionGraph {
        // Chains: heads are operators not chained to their input.
        let mut chain_of = vec![usize::MAX; self.operators.len()];
        let mut chains: Vec<Vec<OperatorIndex>> = Vec::new();
        for index in 0..self.operators.len() {
            if self.chains_to_input(index) {
                let head_chain = chain_of[self.operators[index].inputs[0].from];
                chains[head_chain].push(index);
                chain_of[index] = head_chain;
            } else {
                chain_of[index] = chains.len();
                chains.push(vec![index]);
            }
        }
        let slots = cluster.slots_per_task_manager.max(1);
        let mut tasks = Vec::new();
        let mut chain_first_task = Vec::with_capacity(chains.len());
        for chain in &chains {
            let head = &self.operators[chain[0]];
            chain_first_task.push(tasks.len());
            let name = chain
                .iter()
                .map(|&o| self.operators[o].name.as_str())
                .collect::<Vec<_>>()
                .join("→");
            for subtask in 0..head.parallelism {
                tasks.push(TaskVertex {
                    name: format!("{name}[{subtask}]"),
                    chain: chain.clone(),
                    subtask,
                    parallelism: head.parallelism,
                    task_manager: (subtask / slots).min(cluster.task_managers.max(1) - 1),
                    inputs: Vec::new(),
                    outputs: Vec::new(),
                });
            }
        }
        let mut channels = Vec::new();
        // Edges between chains: from the tail of the producer chain to the head of the consumer chain.
        for (consumer_chain, chain) in chains.iter().enumerate() {
            let head = &self.operators[chain[0]];
            for input in &head.inputs {
                let producer_chain = chain_of[input.from];
                let producer_parallelism = self.operators[input.from].parallelism;
                for producer_subtask in 0..producer_parallelism {
                    let producer_task =
                        chain_first_task[producer_chain] + producer_subtask as usize;
                    let consumers: Vec<u32> = match input.partitioner {
                        Partitioner::Forward => vec![producer_subtask],
                        _ => (0..head.parallelism).collect(),
                    };
                    let mut edge_channels = Vec::with_capacity(consumers.len());
                    for consumer_subtask in consumers {
                        let consumer_task =
                            chain_first_task[consumer_chain] + consumer_subtask as usize;
                        let channel = channels.len();
                        channels.push(ChannelVertex {
                            from: producer_task,
                            to: consumer_task,
                            local: tasks[producer_task].task_manager
                                == tasks[consumer_task].task_manager,
                        });
                        tasks[consumer_task].inputs.push(channel);
                        edge_channels.push(channel);
                    }
                    tasks[producer_task].outputs.push(OutputEdge {
                        partitioner: input.partitioner,
                        consumer_parallelism: head.parallelism,
                        channels: edge_channels,
                    });
                }
            }
        }
        let operator_first_task = (0..self.operators.len())
            .map(|o| chain_first_task[chain_of[o]])
            .collect();
        ExecutionGraph {
            tasks,
            channels,
            operator_first_task,
        }
    }
}

impl JobGraph {
    /// For each operator: is the *sum* in its state independent of the order records arrive in?
    ///
    /// Sources emit value 1 and counts never depend on order. But a keyed aggregation emits
    /// running sums, and which record carries which running sum depends on arrival order; an
    /// identity-based filter or a second aggregation after it then sums a different selection of
    /// values. Below a keyed aggregation only counts are comparable with a reference computation.
    pub fn sums_are_order_independent(&self) -> Vec<bool> {
        let mut emits_running_sums = vec![false; self.operators.len()];
        let mut independent = vec![true; self.operators.len()];
        for (index, operator) in self.operators.iter().enumerate() {
            let tainted = operator.inputs.iter().any(|i| emits_running_sums[i.from]);
            independent[index] = !tainted;
            emits_running_sums[index] =
                tainted || matches!(operator.kind, OperatorKind::KeyedAggregation { .. });
        }
        independent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::dataflow::{KeyDistribution, SourceConfig};

    fn operator(name: &str, parallelism: u32, kind: OperatorKind, inputs: Vec<Input>) -> Operator {
        Operator {
            name: name.into(),
            uid: name.into(),
            parallelism,
            kind,
            inputs,
            cost: None,
            chainable: true,
            state_compressibility: 1.0,
        }
    }

    /// The measured reference job: source(2) -hash-> sum(2) -forward-> sink(2).
    fn reference_job() -> JobGraph {
        let source = OperatorKind::Source(SourceConfig {
            rate_per_s: Some(10_000.0),
            records: None,
            keys: 1000,
            key_distribution: KeyDistribution::Uniform,
            record_bytes: 28,
        });
        JobGraph {
            operators: vec![
                operator("source", 2, source, vec![]),
                operator(
                    "sum",
                    2,
                    OperatorKind::KeyedAggregation {
                        state_bytes_per_key: 18,
                    },
                    vec![Input {
                        from: 0,
                        partitioner: Partitioner::Hash,
                    }],
                ),
                operator(
                    "sink",
                    2,
                    OperatorKind::Sink(crate::workload::dataflow::SinkConfig {
                        delivery: crate::workload::dataflow::SinkDelivery::Plain,
                        transaction_timeout_us: None,
                    }),
                    vec![Input {
                        from: 1,
                        partitioner: Partitioner::Forward,
                    }],
                ),
            ],
            max_parallelism: 128,
        }
    }

    #[test]
    fn the_sink_chains_to_the_keyed_sum_and_the_hash_edge_is_all_to_all() {
        let graph = reference_job().expand(&Cluster {
            hosts: crate::topology::host::Hosts::Unlimited,
            scheduling_quantum_us: 0,
            task_managers: 1,
            slots_per_task_manager: 2,
        });
        let names: Vec<&str> = graph.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["source[0]", "source[1]", "sum→sink[0]", "sum→sink[1]"]
        );
        assert_eq!(graph.channels.len(), 4, "2 sources × 2 keyed subtasks");
        assert!(
            graph.channels.iter().all(|c| c.local),
            "one task manager: every channel is local"
        );
        assert_eq!(graph.tasks[2].inputs.len(), 2);
        assert_eq!(graph.operator_first_task, [0, 2, 2]);
    }

    #[test]
    fn subtasks_fill_slots_then_task_managers() {
        let graph = reference_job().expand(&Cluster {
            hosts: crate::topology::host::Hosts::Unlimited,
            scheduling_quantum_us: 0,
            task_managers: 2,
            slots_per_task_manager: 1,
        });
        assert_eq!(graph.tasks[0].task_manager, 0);
        assert_eq!(graph.tasks[1].task_manager, 1);
        let remote = graph.channels.iter().filter(|c| !c.local).count();
        assert_eq!(
            remote, 2,
            "source[0]→sum[1] and source[1]→sum[0] cross task managers"
        );
    }
}
