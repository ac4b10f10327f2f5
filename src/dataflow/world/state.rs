//! The world's state: every task, channel and buffer, the coordinator, the faults, and what the
//! run records; and how a scenario becomes one (expanding the job into subtasks and channels).

use super::buffer::BufferSlab;
use super::channel::Channel;
use super::event::Event;
use super::fault_state::{FaultState, RestoreAs};
use super::host_cpu::HostCpu;
use super::task::{Activity, CheckpointStorage, SourceRuntime, Status, Task};
use crate::checkpoint::barrier::channel_persister::InputChannelRecording;
use crate::checkpoint::barrier::{Action, StopTheWorld, TaskBarrierHandler};
use crate::checkpoint::coordinator::Coordinator;
use crate::checkpoint::metrics::CheckpointStats;
use crate::checkpoint::rocksdb_files::RocksDbFiles;
use crate::checkpoint::two_phase_commit::CommitRule;
use crate::checkpoint::{CheckpointConfig, DataflowVariant, SnapshotProtocol, StateBackend};
use crate::dataflow::results::{
    ActivityChange, CompletedCheckpoint, JobStatus, RunDetail, TaskMetrics, TaskSnapshot,
};
use crate::engine::{EventQueue, RngStreams, SimTime};
use crate::scenario::DataflowModel;
use crate::topology::job::{DataChannelIndex, ExecutionGraph, TaskIndex, TaskVertex};
use crate::trace::DataflowTrace;
use crate::workload::dataflow::{OperatorKind, OperatorState, SourceLog};
use crate::workload::rate_limiter::RateLimiter;
use crate::workload::sink::ExternalSink;
use std::collections::{BTreeMap, VecDeque};

pub(super) struct World<'a> {
    pub(super) model: &'a DataflowModel,
    pub(super) graph: ExecutionGraph,
    pub(super) queue: EventQueue<Event>,
    pub(super) tasks: Vec<Task>,
    pub(super) channels: Vec<Channel>,
    pub(super) buffers: BufferSlab,
    pub(super) link_free_at: Vec<SimTime>,
    pub(super) floating_free: Vec<u32>,
    pub(super) floating_waiting: Vec<VecDeque<DataChannelIndex>>,
    pub(super) record_bytes_of_source: Vec<u32>,
    pub(super) wake: VecDeque<TaskIndex>,
    /// The hosts' cores (empty: unlimited).
    pub(super) hosts: Vec<HostCpu>,
    /// Tasks that may hold a core with nothing to run, checked at the end of the instant.
    pub(super) core_checks: Vec<TaskIndex>,
    pub(super) waking: Vec<bool>,
    pub(super) coordinator: Option<Coordinator>,
    pub(super) protocol: SnapshotProtocol,
    /// Reused for the actions of each barrier handler input.
    pub(super) barrier_actions: Vec<Action>,
    /// When two-phase-commit sinks commit.
    pub(super) commit_rule: CommitRule,
    pub(super) periodic_generation: u64,
    pub(super) stats: BTreeMap<u64, CheckpointStats>,
    pub(super) acked_snapshots: BTreeMap<u64, Vec<TaskSnapshot>>,
    pub(super) completed: Vec<CompletedCheckpoint>,
    /// The stop-the-world protocol's state (stop-the-world checkpoints only).
    pub(super) stop_the_world: StopTheWorld,
    pub(super) trace: DataflowTrace,
    pub(super) status: JobStatus,
    pub(super) stopped: bool,
    /// Set when the event budget stopped the run ([`crate::engine::EventBudget`]).
    pub(super) cut_short: Option<crate::engine::CutShort>,
    pub(super) running_tasks: usize,
    pub(super) latencies_us: Vec<u64>,
    pub(super) sink_buckets: Vec<u64>,
    pub(super) records_emitted: u64,
    pub(super) records_at_sinks: u64,
    pub(super) all_data_processed_us: Option<u64>,
    /// The external systems the sinks write to, one per sink operator.
    pub(super) sinks: Vec<ExternalSink>,
    /// Faults, failover and recovery.
    pub(super) faults: FaultState,
    /// Failover: how each redeployed task comes back.
    pub(super) restore_plan: BTreeMap<TaskIndex, RestoreAs>,
    /// Stop-with-savepoint in progress: the savepoint's id.
    pub(super) stopping_with: Option<u64>,
    /// `notifyCheckpointComplete` notices a lost-notices fault swallowed (one per checkpoint).
    pub(super) completion_notices_lost: u64,
    /// What each acknowledged or completed checkpoint keeps in storage, until it is discarded.
    pub(super) checkpoint_storage: BTreeMap<u64, CheckpointStorage>,
    /// Completed checkpoints kept (`state.checkpoints.num-retained`), oldest first.
    pub(super) retained: VecDeque<u64>,
    /// The run's seed (`--seed`, or a sweep's or `check`'s seed), from which every stream derives.
    pub(super) seed: u64,
    /// What the run keeps beyond statistics (see [`RunDetail`]).
    pub(super) detail: RunDetail,
    /// [`RunDetail::Traced`]: every activity change.
    pub(super) activity_log: Vec<ActivityChange>,
    /// Traced runs: every change of a channel's record count.
    pub(super) channel_log: Vec<crate::dataflow::results::ChannelLevel>,
    /// Index in `completed` of the newest completed checkpoint that is not a savepoint: the one a
    /// restart restores.
    pub(super) newest_restorable: Option<usize>,
    /// Completed checkpoints handed to a [`CheckpointObserver`](crate::dataflow::CheckpointObserver)
    /// so far, and the newest non-savepoint among them (its contents are kept for a restart).
    pub(super) observed: usize,
    pub(super) observed_restorable: Option<usize>,
}

impl<'a> World<'a> {
    pub(super) fn new(model: &'a DataflowModel, seed: u64, detail: RunDetail) -> World<'a> {
        let streams = RngStreams::new(seed);
        let graph = model.job.expand(&model.cluster);
        let network = &model.network;
        let task_managers = model.cluster.task_managers.max(1) as usize;
        let mut channels: Vec<Channel> = graph
            .channels
            .iter()
            .map(|c| Channel {
                from: c.from,
                to: c.to,
                local: c.local,
                link: graph.tasks[c.from].task_manager as usize * task_managers
                    + graph.tasks[c.to].task_manager as usize,
                input_position: 0,
                current: None,
                sender: VecDeque::new(),
                queued_data: 0,
                slices_sent: 0,
                in_transit: VecDeque::new(),
                incarnation: 0,
                receiver: VecDeque::new(),
                credit: network.exclusive_buffers_per_channel,
                exclusive_held: 0,
                floating_held: 0,
                waiting_for_floating: false,
                buffers_enqueued: 0,
                records_enqueued: 0,
                records_consumed: 0,
                finished: false,
                blocked: false,
                in_poll_queue: false,
                recording: InputChannelRecording::new(
                    model.variant == DataflowVariant::RecordingPastTheBarrier,
                ),
                last_barrier_checkpoint: 0,
                last_barrier_buffers_before: 0,
            })
            .collect();
        let protocol = model
            .checkpointing
            .as_ref()
            .map_or(SnapshotProtocol::Aligned, |c| c.protocol);
        let mut record_bytes_of_source = vec![0; graph.tasks.len()];
        let tasks: Vec<Task> = graph
            .tasks
            .iter()
            .enumerate()
            .map(|(index, vertex)| {
                for (position, &channel) in vertex.inputs.iter().enumerate() {
                    channels[channel].input_position = position;
                }
                let head = &model.job.operators[vertex.chain[0]];
                let source = match &head.kind {
                    OperatorKind::Source(config) => {
                        record_bytes_of_source[index] = config.record_bytes;
                        Some(SourceRuntime {
                            log: SourceLog::new(
                                &streams,
                                &format!("source-log/{}", vertex.name),
                                config,
                            ),
                            limiter: config
                                .rate_per_s
                                .map(|rate| RateLimiter::per_second(rate, 0)),
                            reserved_until_us: None,
                            keys: Vec::new(),
                            limit: config.records,
                            tick_scheduled: false,
                        })
                    }
                    _ => None,
                };
                let outputs: Vec<DataChannelIndex> = vertex
                    .outputs
                    .iter()
                    .flat_map(|e| e.channels.iter().copied())
                    .collect();
                Task {
                    chain: vertex.chain.clone(),
                    costs: vertex
                        .chain
                        .iter()
                        .filter_map(|&o| model.job.operators[o].cost)
                        .collect(),
                    states: vec![OperatorState::default(); vertex.chain.len()],
                    source,
                    rng: streams.stream(&format!("task-cost/{}", vertex.name)),
                    status: Status::Idle,
                    in_hand: None,
                    reading: None,
                    poll: VecDeque::new(),
                    priority: VecDeque::new(),
                    inputs: vertex.inputs.clone(),
                    rebalance_next: vertex
                        .outputs
                        .iter()
                        .map(|e| vertex.subtask % e.consumer_parallelism.max(1))
                        .collect(),
                    edges: vertex.outputs.clone(),
                    pool_capacity: network.output_pool_buffers(outputs.len()),
                    outputs,
                    pool_used: 0,
                    activity: Activity::Idle,
                    activity_since: SimTime::ZERO,
                    metrics: TaskMetrics {
                        task: vertex.name.clone(),
                        ..TaskMetrics::default()
                    },
                    mailbox: VecDeque::new(),
                    barriers: TaskBarrierHandler::new(protocol, model.variant, vertex.inputs.len()),
                    alignment_windows: Vec::new(),
                    snapshots: BTreeMap::new(),
                    rocksdb: Vec::new(),
                    rocksdb_snapshots: BTreeMap::new(),
                    paused: false,
                    finish_announced: false,
                    subtask: vertex.subtask,
                    incarnation: 0,
                    syncing: None,
                    sink: vertex
                        .chain
                        .iter()
                        .position(|&o| matches!(model.job.operators[o].kind, OperatorKind::Sink(_)))
                        .map(|position| {
                            let operator = vertex.chain[position];
                            let index = model.job.operators[..operator]
                                .iter()
                                .filter(|o| matches!(o.kind, OperatorKind::Sink(_)))
                                .count();
                            (position, index)
                        }),
                    data_ended: false,
                    final_checkpoint: None,
                    final_checkpoint_done: false,
                    straggle_factor: 1.0,
                    straggling_until: SimTime::ZERO,
                    decline_next: false,
                    framework_us: framework_cost_of(model, vertex),
                    host: model.cluster.hosts.host_of(vertex.task_manager),
                    core_held: false,
                    quantum_used_us: 0,
                    pending_work_us: None,
                    mailbox_rng: streams.stream(&format!("task-mailbox/{}", vertex.name)),
                }
            })
            .collect();
        let sinks = model
            .job
            .operators
            .iter()
            .filter_map(|o| match o.kind {
                OperatorKind::Sink(config) => {
                    let mut sink =
                        ExternalSink::new(config.delivery, config.transaction_timeout_us);
                    sink.keeps_writes = detail != RunDetail::Statistics;
                    Some(sink)
                }
                _ => None,
            })
            .collect();
        let mut tasks = tasks;
        if let Some(initial) = &model.initial_state {
            // Started from a savepoint: every task begins with its share of the saved state.
            for (task, states) in initial.task_states.iter().enumerate() {
                tasks[task].states = states.clone();
            }
        }
        for task in &mut tasks {
            task.rocksdb = rocksdb_instances(model, &task.chain, &task.states);
        }
        let task_count = tasks.len();
        World {
            model,
            queue: EventQueue::new(),
            running_tasks: task_count,
            waking: vec![false; task_count],
            floating_free: vec![network.floating_buffers_per_gate; task_count],
            floating_waiting: vec![VecDeque::new(); task_count],
            tasks,
            channels,
            buffers: BufferSlab::default(),
            link_free_at: vec![SimTime::ZERO; task_managers * task_managers],
            record_bytes_of_source,
            wake: VecDeque::new(),
            hosts: (0..model.cluster.hosts.count(model.cluster.task_managers))
                .map(|_| HostCpu::new(model.cluster.hosts.cores().unwrap_or(u32::MAX)))
                .collect(),
            core_checks: Vec::new(),
            // Savepoints need a coordinator even without periodic checkpoints.
            coordinator: model
                .checkpointing
                .clone()
                .or_else(|| {
                    (!model.savepoints.is_empty()).then_some(CheckpointConfig {
                        interval_us: u64::MAX,
                        protocol: SnapshotProtocol::Aligned,
                        min_pause_us: 0,
                        max_concurrent: 1,
                        timeout_us: 600_000_000,
                        tolerable_failed: 0,
                        num_retained: 1,
                    })
                })
                .map(|config| {
                    let restored = model.initial_state.as_ref().map_or(0, |i| i.savepoint_id);
                    Coordinator::continuing_after(config, restored)
                }),
            stopping_with: None,
            completion_notices_lost: 0,
            checkpoint_storage: BTreeMap::new(),
            retained: VecDeque::new(),
            seed,
            detail,
            activity_log: Vec::new(),
            channel_log: Vec::new(),
            newest_restorable: None,
            observed: 0,
            observed_restorable: None,
            protocol,
            barrier_actions: Vec::new(),
            commit_rule: if model.variant == DataflowVariant::CommitAtPreCommit {
                CommitRule::AtPreCommit
            } else {
                CommitRule::OnCompletion
            },
            periodic_generation: 0,
            stats: BTreeMap::new(),
            acked_snapshots: BTreeMap::new(),
            completed: Vec::new(),
            stop_the_world: StopTheWorld::Idle,
            trace: DataflowTrace::default(),
            status: JobStatus::Running,
            stopped: false,
            cut_short: None,
            latencies_us: Vec::new(),
            sink_buckets: Vec::new(),
            records_emitted: 0,
            records_at_sinks: 0,
            all_data_processed_us: None,
            sinks,
            faults: FaultState::new(model, seed),
            restore_plan: BTreeMap::new(),
            graph,
        }
    }
}

/// The framework cost of one record through a task (see [`crate::dataflow::runtime_cost`]): a
/// source head emits, any other head deserialises, each keyed operator accesses its state, each
/// sink writes, and a chain with outputs serialises.
fn framework_cost_of(model: &DataflowModel, vertex: &TaskVertex) -> u64 {
    let cost = &model.runtime.framework;
    let mut us = 0;
    for (position, &operator) in vertex.chain.iter().enumerate() {
        us += match model.job.operators[operator].kind {
            OperatorKind::Source(_) => cost.emit_us,
            _ if position == 0 => cost.deserialize_us,
            _ => 0,
        };
        us += match model.job.operators[operator].kind {
            OperatorKind::KeyedAggregation { .. } => cost.state_access_us,
            OperatorKind::Sink(_) => cost.sink_us,
            _ => 0,
        };
    }
    if !vertex.outputs.is_empty() {
        us += cost.serialize_us;
    }
    us
}

/// Incremental RocksDB instances for a chain's keyed operators, holding `states` (restored state
/// is rewritten into the memtable, so the first checkpoint uploads it all). Empty unless the
/// backend is RocksDB with incremental checkpoints.
pub(super) fn rocksdb_instances(
    model: &DataflowModel,
    chain: &[usize],
    states: &[OperatorState],
) -> Vec<Option<RocksDbFiles>> {
    let state = &model.state;
    if !(state.incremental && state.backend == StateBackend::RocksDb) {
        return Vec::new();
    }
    chain
        .iter()
        .zip(states)
        .map(|(&operator, operator_state)| {
            let op = &model.job.operators[operator];
            let OperatorKind::KeyedAggregation {
                state_bytes_per_key,
            } = op.kind
            else {
                return None;
            };
            let mut db = RocksDbFiles::new(
                state_bytes_per_key,
                op.state_compressibility,
                state.compaction_trigger,
            );
            operator_state.keyed.keys().for_each(|&key| db.write(key));
            Some(db)
        })
        .collect()
}
