//! The dataflow world: the event loop and every handler, grouped by concept:
//! records and tasks, the network, barrier handling, snapshot phases, the coordinator, and
//! stop-the-world snapshots.

mod recovery;

pub use recovery::RecoveryStats;

use super::{
    CompletedCheckpoint, DataflowRun, JobMetrics, JobStatus, RunDetail, TaskMetrics, TaskSnapshot,
};
use crate::checkpoint::barrier::{
    self, Action, HandleBarriers, SnapshotKind, StopTheWorld, StopTheWorldAction,
    TaskBarrierHandler,
};
use crate::checkpoint::coordinator::{AbortReason, AckOutcome, Coordinator, TriggerDecision};
use crate::checkpoint::metrics::{CheckpointStats, CheckpointStatus, SubtaskCheckpointStats};
use crate::checkpoint::{CheckpointConfig, DataflowVariant, SnapshotProtocol, StateBackend};
use crate::engine::{EventQueue, LatencyDistribution, RngStreams, SimRng, SimTime};
use crate::scenario::DataflowModel;
use crate::topology::job::{DataChannelIndex, ExecutionGraph, OutputEdge, Partitioner, TaskIndex};
use crate::trace::{DataflowEvent, DataflowTrace};
use crate::workload::dataflow::{
    OperatorKind, OperatorState, Record, SinkDelivery, SourceLog, apply, key_group,
    subtask_for_key_group,
};
use crate::workload::sink::ExternalSink;
use rand::RngExt;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

// ------------------------------------------------------------------------------------------------
// Data on the wire

type BufferId = u32;

/// A network buffer (a memory segment): serialized records, up to `segment-size` bytes.
///
/// As in Flink, the producer keeps appending to its current buffer until it is full; a flush
/// (the buffer timeout) only makes what was written so far *visible* to the consumer
/// (`available`), who takes it as a slice. Under backpressure the consumer is far behind, so by the
/// time it reaches a buffer the buffer is full: queued in-flight data is whole 32 KiB segments.
struct Buffer {
    records: Vec<Record>,
    bytes: u32,
    /// Remote slices: position in the channel's stream of slices sent (0, 1, 2, …).
    sequence: u64,
    /// Records the consumer may read (flushed or full).
    available: usize,
    /// Local channels: records the consumer has already taken as slices.
    taken: usize,
    /// Remote channels: records already sent as slices.
    sent: usize,
    /// No more records will be written.
    finished: bool,
    /// Removed from its queue; recycled once no slice of it is being read.
    popped: bool,
    /// Channel state put back after a restore (remote: occupies no receiver credit).
    replayed: bool,
}

/// Buffers are recycled: a freed buffer keeps its record vector's capacity.
#[derive(Default)]
struct BufferSlab {
    buffers: Vec<Buffer>,
    free: Vec<BufferId>,
}

impl BufferSlab {
    fn allocate(&mut self, sequence: u64) -> BufferId {
        if let Some(id) = self.free.pop() {
            let buffer = &mut self.buffers[id as usize];
            buffer.records.clear();
            buffer.bytes = 0;
            buffer.sequence = sequence;
            buffer.available = 0;
            buffer.taken = 0;
            buffer.sent = 0;
            buffer.finished = false;
            buffer.popped = false;
            buffer.replayed = false;
            id
        } else {
            self.buffers.push(Buffer {
                records: Vec::with_capacity(256),
                bytes: 0,
                sequence,
                available: 0,
                taken: 0,
                sent: 0,
                finished: false,
                popped: false,
                replayed: false,
            });
            (self.buffers.len() - 1) as BufferId
        }
    }

    fn release(&mut self, id: BufferId) {
        self.free.push(id);
    }
}

/// A checkpoint barrier as it travels.
#[derive(Clone, Copy, Debug)]
struct Barrier {
    checkpoint: u64,
    /// The coordinator's trigger time (the aligned timeout counts from here).
    trigger_us: u64,
    /// Overtakes data (unaligned).
    priority: bool,
    /// Data buffers the sender put on the channel before it.
    buffers_before: u64,
    /// Records the sender put on the channel before it.
    records_before: u64,
}

/// What a channel carries.
#[derive(Clone, Copy, Debug)]
enum Item {
    Data(BufferId),
    Barrier(Barrier),
    Cancel(u64),
    EndOfPartition,
}

/// One channel: the producer's output subpartition, the wire, and the consumer's input channel.
struct Channel {
    from: TaskIndex,
    to: TaskIndex,
    local: bool,
    link: usize,
    /// Index of this channel among its consumer's inputs.
    input_position: usize,
    /// The buffer the producer is filling.
    current: Option<BufferId>,
    /// Output subpartition queue. For a local channel the consumer reads straight from it.
    sender: VecDeque<Item>,
    /// Buffers (segments) held by the output subpartition, the one being filled included.
    queued_data: u32,
    /// Remote only: slices sent so far (their sequence numbers).
    slices_sent: u64,
    /// Remote only: on the wire, with arrival times (FIFO).
    in_transit: VecDeque<(SimTime, Item, u32)>,
    /// Bumped when a failover resets the channel: items of an earlier attempt are dropped.
    incarnation: u32,
    /// Remote only: received, waiting to be consumed.
    receiver: VecDeque<Item>,
    /// Remote only: buffers the receiver can accept.
    credit: u32,
    /// Remote only: exclusive and floating receiver buffers held by this channel.
    exclusive_held: u32,
    floating_held: u32,
    waiting_for_floating: bool,
    buffers_enqueued: u64,
    records_enqueued: u64,
    records_consumed: u64,
    /// End of partition consumed.
    finished: bool,
    /// Aligned: barrier received, waiting for the other channels.
    blocked: bool,
    in_poll_queue: bool,
    /// Recording pre-barrier data for this checkpoint (unaligned, Chandy-Lamport).
    persisting: Option<u64>,
    /// The newest checkpoint whose barrier the consumer has read here, and the number of slices
    /// the sender had sent before it (remote channels: what in the receiver's queue is ahead of
    /// that barrier).
    last_barrier_checkpoint: u64,
    last_barrier_buffers_before: u64,
}

impl Channel {
    /// The queue the consumer reads from.
    fn consumer_queue(&mut self) -> &mut VecDeque<Item> {
        if self.local {
            &mut self.sender
        } else {
            &mut self.receiver
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Tasks

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Idle,
    /// Processing one record.
    Busy,
    /// In the synchronous phase of a snapshot.
    Sync,
    Finished,
    /// Crashed; the job manager has not noticed yet.
    Failed,
    /// Cancelled by a failover, waiting for the restart.
    Canceled,
    /// Redeployed, downloading its state.
    Restoring,
}

/// A mailbox action: runs when the task is between records, never in the middle of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mail {
    /// The coordinator's trigger RPC arrived (sources, and tasks whose inputs all ended).
    Trigger { checkpoint: u64 },
    /// `aligned-checkpoint-timeout` passed while aligning.
    AlignmentTimeout { checkpoint: u64 },
}

use super::TaskActivity as Activity;

struct SourceRuntime {
    log: SourceLog,
    /// The log as read so far: a rewound source reads the same keys again.
    keys: Vec<u32>,
    interval_us: Option<f64>,
    next_emit_us: f64,
    limit: Option<u64>,
    tick_scheduled: bool,
}

/// The time and the bytes of one alignment at one task, for its statistics: it opens when the
/// task's barrier handler starts aligning a checkpoint (first barrier, or the trigger of a task
/// whose inputs ended) and closes when the handler stops aligning it.
struct AlignmentWindow {
    checkpoint: u64,
    first_barrier_at: SimTime,
    /// `alignment.processed`: bytes processed meanwhile.
    processed_bytes: u64,
}

/// A snapshot this task has taken and not yet acknowledged.
struct SnapshotInProgress {
    snapshot: TaskSnapshot,
    stats: SubtaskCheckpointStats,
    sync_end: Option<SimTime>,
    needs_channel_state: bool,
    /// Input side done: every barrier of this checkpoint has arrived (or none was needed).
    channel_state_final: bool,
    /// Broken variant: the in-flight data this snapshot should hold is dropped.
    forgets_channel_state: bool,
    /// Aligned-with-timeout senders: barriers of this checkpoint still queued, unsent and
    /// unconverted. The snapshot can only be acknowledged once none is left, because a barrier
    /// converted at the timeout turns the data it overtakes into this task's channel state.
    outputs_pending: u32,
    state_uploaded: bool,
    channel_uploaded: bool,
    channel_upload_started: bool,
    state_bytes_uploaded: u64,
}

struct Task {
    chain: Vec<usize>,
    costs: Vec<LatencyDistribution>,
    states: Vec<OperatorState>,
    source: Option<SourceRuntime>,
    rng: SimRng,
    status: Status,
    in_hand: Option<Record>,
    /// The slice being read: channel, buffer, next record, end of the slice.
    reading: Option<(DataChannelIndex, BufferId, usize, usize)>,
    poll: VecDeque<DataChannelIndex>,
    priority: VecDeque<DataChannelIndex>,
    inputs: Vec<DataChannelIndex>,
    edges: Vec<OutputEdge>,
    rebalance_next: Vec<u32>,
    outputs: Vec<DataChannelIndex>,
    pool_capacity: u32,
    pool_used: u32,
    activity: Activity,
    activity_since: SimTime,
    metrics: TaskMetrics,
    /// Actions that run between records (Flink's mailbox): checkpoint triggers and timers.
    mailbox: VecDeque<Mail>,
    /// The barrier handler: the checkpoint protocol of this task.
    barriers: TaskBarrierHandler,
    /// The alignments in progress, for their statistics.
    alignment_windows: Vec<AlignmentWindow>,
    snapshots: BTreeMap<u64, SnapshotInProgress>,
    /// Incremental backend: per chained operator, the snapshot counter at each key's last change.
    key_epochs: Vec<BTreeMap<u32, u64>>,
    snapshot_counter: u64,
    /// The snapshot counter at each checkpoint's snapshot (for the incremental base).
    snapshot_epochs: BTreeMap<u64, u64>,
    confirmed_epoch: u64,
    uploads_since_full: u32,
    /// Stop-the-world: the sources are paused.
    paused: bool,
    finish_announced: bool,
    /// Subtask index.
    subtask: u32,
    /// Bumped at every cancel: events of an earlier attempt are ignored.
    incarnation: u32,
    /// The checkpoint whose synchronous phase is running.
    syncing: Option<u64>,
    /// The sink in this chain, if any: (position in the chain, index into the world's sinks).
    sink: Option<(usize, usize)>,
    /// End of data: the last record is processed and end-of-partition is queued on every output
    /// (Flink's `EndOfData`). The task keeps running, and checkpointing, until it may finish.
    data_ended: bool,
    /// The first checkpoint this task snapshotted after its input ended, and whether a checkpoint
    /// at least that new has completed: with checkpointing on, a task finishes only then
    /// (FLIP-147's final checkpoint), so two-phase-commit sinks commit their last transaction.
    final_checkpoint: Option<u64>,
    final_checkpoint_done: bool,
    /// Straggler fault: processing is this many times slower until `straggling_until`.
    straggle_factor: f64,
    straggling_until: SimTime,
    /// Decline-checkpoint fault: the next snapshot is declined.
    decline_next: bool,
}

// ------------------------------------------------------------------------------------------------
// Events

/// Everything the engine can be asked to do (16 bytes).
#[derive(Clone, Copy, Debug)]
enum Event {
    SourceTick {
        task: u32,
    },
    RecordDone {
        task: u32,
        incarnation: u32,
    },
    FlushTimer {
        task: u32,
    },
    Arrive {
        channel: u32,
    },
    CreditArrive {
        channel: u32,
        incarnation: u32,
    },
    SyncDone {
        task: u32,
        checkpoint: u64,
    },
    StateUploaded {
        task: u32,
        checkpoint: u64,
    },
    ChannelStateUploaded {
        task: u32,
        checkpoint: u64,
    },
    TriggerRpc {
        task: u32,
        checkpoint: u64,
    },
    NotifyComplete {
        task: u32,
        checkpoint: u64,
    },
    NotifyAborted {
        task: u32,
        checkpoint: u64,
    },
    AckArrive {
        task: u32,
        checkpoint: u64,
    },

    PeriodicTrigger {
        generation: u64,
    },
    CheckpointTimeout {
        checkpoint: u64,
    },
    AlignmentTimeout {
        task: u32,
        checkpoint: u64,
    },
    OutputBarrierTimeout {
        task: u32,
        checkpoint: u64,
    },
    PauseRpc {
        task: u32,
    },
    ResumeRpc {
        task: u32,
    },
    TaskFinishedRpc {
        task: u32,
    },
    EndOfRun,
    /// A scheduled fault strikes.
    Fault {
        index: u32,
    },
    /// A random crash strikes a task manager or task.
    RandomFault {
        spec: u32,
        target: u32,
    },
    /// The job manager notices a failed task.
    FailureDetected {
        task: u32,
        incarnation: u32,
    },
    /// The restart strategy's delay is over: redeploy.
    Restart {
        generation: u64,
    },
    /// A redeployed task has downloaded its state.
    TaskRestored {
        task: u32,
        incarnation: u32,
    },
    /// A network partition healed: try sending again.
    Retransmit {
        channel: u32,
    },
    /// The user asks for a savepoint.
    SavepointTrigger {
        index: u32,
    },
    /// A task declined a checkpoint, for this reason.
    DeclineArrive {
        checkpoint: u64,
        reason: AbortReason,
    },
}

impl Event {
    fn digest_words(&self) -> (u64, u64) {
        match *self {
            Event::SourceTick { task } => (1, u64::from(task)),
            Event::RecordDone { task, incarnation } => {
                (2 | u64::from(incarnation) << 8, u64::from(task))
            }
            Event::FlushTimer { task } => (3, u64::from(task)),
            Event::Arrive { channel } => (4, u64::from(channel)),
            Event::CreditArrive {
                channel,
                incarnation,
            } => (5 | u64::from(incarnation) << 8, u64::from(channel)),
            Event::SyncDone { task, checkpoint } => (6 | u64::from(task) << 8, checkpoint),
            Event::StateUploaded { task, checkpoint } => (7 | u64::from(task) << 8, checkpoint),
            Event::ChannelStateUploaded { task, checkpoint } => {
                (8 | u64::from(task) << 8, checkpoint)
            }
            Event::TriggerRpc { task, checkpoint } => (9 | u64::from(task) << 8, checkpoint),
            Event::NotifyComplete { task, checkpoint } => (10 | u64::from(task) << 8, checkpoint),
            Event::NotifyAborted { task, checkpoint } => (11 | u64::from(task) << 8, checkpoint),
            Event::AckArrive { task, checkpoint } => (12 | u64::from(task) << 8, checkpoint),

            Event::PeriodicTrigger { generation } => (14, generation),
            Event::CheckpointTimeout { checkpoint } => (15, checkpoint),
            Event::AlignmentTimeout { task, checkpoint } => (16 | u64::from(task) << 8, checkpoint),
            Event::OutputBarrierTimeout { task, checkpoint } => {
                (17 | u64::from(task) << 8, checkpoint)
            }
            Event::PauseRpc { task } => (18, u64::from(task)),
            Event::ResumeRpc { task } => (19, u64::from(task)),
            Event::TaskFinishedRpc { task } => (20, u64::from(task)),
            Event::EndOfRun => (21, 0),
            Event::Fault { index } => (22, u64::from(index)),
            Event::RandomFault { spec, target } => (23 | u64::from(spec) << 8, u64::from(target)),
            Event::FailureDetected { task, incarnation } => {
                (24 | u64::from(incarnation) << 8, u64::from(task))
            }
            Event::Restart { generation } => (25, generation),
            Event::TaskRestored { task, incarnation } => {
                (26 | u64::from(incarnation) << 8, u64::from(task))
            }
            Event::Retransmit { channel } => (27, u64::from(channel)),
            Event::SavepointTrigger { index } => (28, u64::from(index)),
            Event::DeclineArrive { checkpoint, reason } => (29 | (reason as u64) << 8, checkpoint),
        }
    }
}

/// A bounded job without a `duration` is stopped after this much virtual time (one day), so a job
/// that can never finish still ends, reported as still running.
const SAFETY_STOP_US: u64 = 86_400_000_000;

struct World<'a> {
    model: &'a DataflowModel,
    graph: ExecutionGraph,
    queue: EventQueue<Event>,
    tasks: Vec<Task>,
    channels: Vec<Channel>,
    buffers: BufferSlab,
    link_free_at: Vec<SimTime>,
    floating_free: Vec<u32>,
    floating_waiting: Vec<VecDeque<DataChannelIndex>>,
    record_bytes_of_source: Vec<u32>,
    wake: VecDeque<TaskIndex>,
    waking: Vec<bool>,
    coordinator: Option<Coordinator>,
    protocol: SnapshotProtocol,
    /// Reused for the actions of each barrier handler input.
    barrier_actions: Vec<Action>,
    periodic_generation: u64,
    stats: BTreeMap<u64, CheckpointStats>,
    acked_snapshots: BTreeMap<u64, Vec<TaskSnapshot>>,
    completed: Vec<CompletedCheckpoint>,
    /// The stop-the-world protocol's state (stop-the-world checkpoints only).
    stop_the_world: StopTheWorld,
    trace: DataflowTrace,
    status: JobStatus,
    stopped: bool,
    running_tasks: usize,
    latencies_us: Vec<u64>,
    sink_buckets: Vec<u64>,
    records_emitted: u64,
    records_at_sinks: u64,
    all_data_processed_us: Option<u64>,
    /// The external systems the sinks write to, one per sink operator.
    sinks: Vec<ExternalSink>,
    /// Faults, failover and recovery.
    faults: recovery::FaultState,
    /// Failover: how each redeployed task comes back.
    restore_plan: BTreeMap<TaskIndex, recovery::RestoreAs>,
    /// Stop-with-savepoint in progress: the savepoint's id.
    stopping_with: Option<u64>,
    /// The run's seed (`--seed`, or a sweep's or `check`'s seed), from which every stream derives.
    seed: u64,
    /// What the run keeps beyond statistics (see [`RunDetail`]).
    detail: RunDetail,
    /// [`RunDetail::Traced`]: every activity change.
    activity_log: Vec<super::ActivityChange>,
    /// Index in `completed` of the newest completed checkpoint that is not a savepoint: the one a
    /// restart restores.
    newest_restorable: Option<usize>,
}

/// Runs a dataflow scenario and returns everything that happened: every completed checkpoint's
/// contents, every sink write.
pub fn run(model: &DataflowModel, seed: u64) -> DataflowRun {
    run_with(model, seed, RunDetail::Full)
}

/// Runs a dataflow scenario, keeping as much of what happened as `detail` asks for. The simulation
/// itself is the same whatever `detail` is: same events, same digest, same statistics.
pub fn run_with(model: &DataflowModel, seed: u64, detail: RunDetail) -> DataflowRun {
    let mut world = World::new(model, seed, detail);
    world.start();
    while let Some((now, event)) = world.queue.pop() {
        let (a, b) = event.digest_words();
        world.trace.fold(now.as_micros() ^ a << 40, b);
        world.handle(now, event);
        world.drain_wake(now);
        if world.stop_the_world.draining() {
            world.check_quiescent(now);
        }
        if world.stopped {
            break;
        }
    }
    world.finish()
}

impl<'a> World<'a> {
    fn new(model: &'a DataflowModel, seed: u64, detail: RunDetail) -> World<'a> {
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
                persisting: None,
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
                            interval_us: config.rate_per_s.map(|rate| 1e6 / rate),
                            keys: Vec::new(),
                            next_emit_us: 0.0,
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
                    key_epochs: vec![BTreeMap::new(); vertex.chain.len()],
                    snapshot_counter: 0,
                    snapshot_epochs: BTreeMap::new(),
                    confirmed_epoch: 0,
                    uploads_since_full: 0,
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
                .map(Coordinator::new),
            stopping_with: None,
            seed,
            detail,
            activity_log: Vec::new(),
            newest_restorable: None,
            protocol,
            barrier_actions: Vec::new(),
            periodic_generation: 0,
            stats: BTreeMap::new(),
            acked_snapshots: BTreeMap::new(),
            completed: Vec::new(),
            stop_the_world: StopTheWorld::Idle,
            trace: DataflowTrace::default(),
            status: JobStatus::Running,
            stopped: false,
            latencies_us: Vec::new(),
            sink_buckets: Vec::new(),
            records_emitted: 0,
            records_at_sinks: 0,
            all_data_processed_us: None,
            sinks,
            faults: recovery::FaultState::new(model, seed),
            restore_plan: BTreeMap::new(),
            graph,
        }
    }

    fn start(&mut self) {
        self.schedule_faults();
        for task in 0..self.tasks.len() {
            if !self.tasks[task].outputs.is_empty() {
                self.queue.schedule_after(
                    self.model.network.buffer_timeout_us,
                    Event::FlushTimer { task: task as u32 },
                );
            }
            self.wake(task);
        }
        for (index, savepoint) in self.model.savepoints.iter().enumerate() {
            self.queue.schedule_at(
                savepoint.at,
                Event::SavepointTrigger {
                    index: index as u32,
                },
            );
        }
        if let Some(config) = self.model.checkpointing.as_ref() {
            // Flink starts the periodic scheduler after a random delay in [min-pause, interval].
            let mut rng = RngStreams::new(self.seed).stream("checkpoint-coordinator");
            let low = config.min_pause_us.min(config.interval_us);
            let initial = rng.random_range(low..=config.interval_us);
            self.queue
                .schedule_after(initial, Event::PeriodicTrigger { generation: 0 });
        }
        // Unbounded jobs end at `duration`; bounded ones when every task has finished, with
        // `duration` (or a day of virtual time) as a safety net against a job that never ends.
        let stop = self
            .model
            .stop_at
            .unwrap_or(SimTime::from_micros(SAFETY_STOP_US));
        self.queue.schedule_at(stop, Event::EndOfRun);
        self.drain_wake(SimTime::ZERO);
    }

    fn handle(&mut self, now: SimTime, event: Event) {
        match event {
            Event::SourceTick { task } => {
                let task = task as usize;
                if let Some(source) = self.tasks[task].source.as_mut() {
                    source.tick_scheduled = false;
                }
                self.wake(task);
            }
            Event::RecordDone { task, incarnation } => {
                if incarnation == self.tasks[task as usize].incarnation {
                    self.record_done(now, task as usize);
                }
            }
            Event::FlushTimer { task } => {
                let task = task as usize;
                if self.tasks[task].status != Status::Finished {
                    self.flush_outputs(now, task);
                    self.queue.schedule_after(
                        self.model.network.buffer_timeout_us,
                        Event::FlushTimer { task: task as u32 },
                    );
                }
            }
            Event::Arrive { channel } => self.arrive(channel as usize),
            Event::CreditArrive {
                channel,
                incarnation,
            } => {
                let channel = channel as usize;
                if incarnation == self.channels[channel].incarnation {
                    self.channels[channel].credit += 1;
                    self.transmit(now, channel);
                }
            }
            Event::SyncDone { task, checkpoint } => self.sync_done(now, task as usize, checkpoint),
            Event::StateUploaded { task, checkpoint } => {
                if let Some(progress) = self.tasks[task as usize].snapshots.get_mut(&checkpoint) {
                    progress.state_uploaded = true;
                    self.maybe_acknowledge(now, task as usize, checkpoint);
                }
            }
            Event::ChannelStateUploaded { task, checkpoint } => {
                if let Some(progress) = self.tasks[task as usize].snapshots.get_mut(&checkpoint) {
                    progress.channel_uploaded = true;
                    self.maybe_acknowledge(now, task as usize, checkpoint);
                }
            }
            Event::TriggerRpc { task, checkpoint } => {
                let task = task as usize;
                if self.tasks[task].status == Status::Finished {
                    // Finished before the trigger arrived: it declines, and the checkpoint is
                    // aborted without counting as a failure (FLIP-147 plans the next one anew).
                    let at = now.after_us(self.model.network.rpc_latency_us);
                    self.queue.schedule_at(
                        at,
                        Event::DeclineArrive {
                            checkpoint,
                            reason: AbortReason::CheckpointDeclinedTaskClosing,
                        },
                    );
                    return;
                }
                self.tasks[task]
                    .mailbox
                    .push_back(Mail::Trigger { checkpoint });
                self.wake(task);
            }
            Event::NotifyComplete { task, checkpoint } => {
                self.notify_complete(now, task as usize, checkpoint)
            }
            Event::NotifyAborted { task, checkpoint } => {
                self.notify_aborted(now, task as usize, checkpoint)
            }
            Event::AckArrive { task, checkpoint } => {
                self.ack_arrive(now, task as usize, checkpoint)
            }

            Event::PeriodicTrigger { generation } => {
                if generation == self.periodic_generation && !self.stopped {
                    self.periodic_request(now, true);
                }
            }
            Event::CheckpointTimeout { checkpoint } => {
                self.abort_checkpoint(now, checkpoint, AbortReason::CheckpointExpired)
            }
            Event::AlignmentTimeout { task, checkpoint } => {
                // A timer runs in the mailbox: between records, never in the middle of one.
                let task = task as usize;
                self.tasks[task]
                    .mailbox
                    .push_back(Mail::AlignmentTimeout { checkpoint });
                self.wake(task);
            }
            Event::OutputBarrierTimeout { task, checkpoint } => {
                self.convert_stuck_barriers(now, task as usize, checkpoint)
            }
            Event::PauseRpc { task } => {
                let task = task as usize;
                self.tasks[task].paused = true;
                self.flush_outputs(now, task);
            }
            Event::ResumeRpc { task } => {
                let task = task as usize;
                self.tasks[task].paused = false;
                if let Some(source) = self.tasks[task].source.as_mut() {
                    source.next_emit_us = source.next_emit_us.max(now.as_micros() as f64);
                }
                self.wake(task);
            }
            Event::TaskFinishedRpc { task } => {
                if let Some(coordinator) = self.coordinator.as_mut() {
                    let completed = coordinator.task_finished(now, task as usize);
                    for (checkpoint, outcome) in completed {
                        self.checkpoint_completed(now, checkpoint, outcome);
                    }
                }
            }
            Event::EndOfRun => {
                self.stopped = true;
            }
            Event::Fault { index } => self.fault(now, index as usize),
            Event::RandomFault { spec, target } => {
                self.random_fault(now, spec as usize, target as usize)
            }
            Event::FailureDetected { task, incarnation } => {
                self.failure_detected(now, task as usize, incarnation)
            }
            Event::Restart { generation } => self.restart(now, generation),
            Event::TaskRestored { task, incarnation } => {
                self.task_restored(now, task as usize, incarnation)
            }
            Event::Retransmit { channel } => self.transmit(now, channel as usize),
            Event::SavepointTrigger { index } => self.trigger_savepoint(now, index as usize),
            Event::DeclineArrive { checkpoint, reason } => {
                self.abort_checkpoint(now, checkpoint, reason)
            }
        }
    }

    // --------------------------------------------------------------------------------------------
    // Waking tasks: a task is (re)considered after anything that may let it make progress.

    fn wake(&mut self, task: TaskIndex) {
        if !self.waking[task] {
            self.waking[task] = true;
            self.wake.push_back(task);
        }
    }

    fn drain_wake(&mut self, now: SimTime) {
        while let Some(task) = self.wake.pop_front() {
            self.waking[task] = false;
            self.progress(now, task);
        }
    }

    fn set_activity(&mut self, now: SimTime, task: TaskIndex, activity: Activity) {
        let t = &mut self.tasks[task];
        if t.activity == activity {
            return;
        }
        let elapsed = now.since_us(t.activity_since);
        match t.activity {
            Activity::Idle => t.metrics.idle_us += elapsed,
            Activity::Busy => t.metrics.busy_us += elapsed,
            Activity::Backpressured => t.metrics.backpressured_us += elapsed,
        }
        t.activity = activity;
        t.activity_since = now;
        if self.detail == RunDetail::Traced {
            self.activity_log.push(super::ActivityChange {
                at_us: now.as_micros(),
                task: task as u32,
                activity,
            });
        }
    }

    /// Can the task produce output? Flink's `RecordWriter.isAvailable`: a free buffer in the pool
    /// and no subpartition over `max-buffers-per-channel`.
    fn output_available(&self, task: TaskIndex) -> bool {
        let t = &self.tasks[task];
        t.pool_used < t.pool_capacity
            && t.outputs
                .iter()
                .all(|&c| self.channels[c].queued_data < self.model.network.max_buffers_per_channel)
    }

    /// The task loop: mailbox actions first, then priority events, then one record at a time.
    fn progress(&mut self, now: SimTime, task: TaskIndex) {
        loop {
            if self.stopped || !matches!(self.tasks[task].status, Status::Idle) {
                return;
            }
            if let Some(mail) = self.tasks[task].mailbox.pop_front() {
                match mail {
                    Mail::Trigger { checkpoint } => self.triggered_at_task(now, task, checkpoint),
                    Mail::AlignmentTimeout { checkpoint } => self.barrier_input(
                        now,
                        task,
                        barrier::Input::AlignmentTimerFired { checkpoint },
                    ),
                }
                continue;
            }
            if let Some(channel) = self.tasks[task].priority.pop_front() {
                self.take_priority_item(now, task, channel);
                continue;
            }
            if self.tasks[task].paused && self.stopping_with.is_some() {
                // Stop-with-savepoint: after its synchronous savepoint a task processes nothing more.
                self.set_activity(now, task, Activity::Idle);
                return;
            }
            if self.tasks[task].source.is_some() {
                if !self.source_step(now, task) {
                    return;
                }
                continue;
            }
            // Finish the buffer being read before polling the next channel.
            if let Some((channel, buffer, index, end)) = self.tasks[task].reading {
                if index >= end {
                    self.tasks[task].reading = None;
                    self.slice_done(now, channel, buffer);
                    continue;
                }
                if !self.output_available(task) {
                    self.set_activity(now, task, Activity::Backpressured);
                    return;
                }
                let record = self.buffers.buffers[buffer as usize].records[index];
                self.tasks[task].reading = Some((channel, buffer, index + 1, end));
                self.channels[channel].records_consumed += 1;
                self.note_processed_bytes(task, &record);
                self.start_record(now, task, record);
                continue;
            }
            if !self.poll_next(now, task) {
                if self.tasks[task].status == Status::Idle {
                    self.set_activity(now, task, Activity::Idle);
                    self.maybe_finish(now, task);
                }
                return;
            }
        }
    }

    /// Takes the next item off the next available channel, round robin. False if there is none.
    fn poll_next(&mut self, now: SimTime, task: TaskIndex) -> bool {
        while let Some(channel) = self.tasks[task].poll.pop_front() {
            self.channels[channel].in_poll_queue = false;
            // A channel past its end-of-partition still carries the barriers of a producer that
            // keeps checkpointing until it finishes.
            if self.channels[channel].blocked {
                continue;
            }
            let Some(&item) = self.channels[channel].consumer_queue().front() else {
                continue;
            };
            match item {
                Item::Data(buffer) => {
                    if !self.take_slice(task, channel, buffer) {
                        continue;
                    }
                }
                Item::Barrier(barrier) => {
                    self.channels[channel].consumer_queue().pop_front();
                    if self.channels[channel].local {
                        self.barrier_left_sender(now, channel, barrier);
                    }
                    self.on_barrier(now, task, channel, barrier);
                }
                Item::Cancel(checkpoint) => {
                    self.channels[channel].consumer_queue().pop_front();
                    self.on_cancel_marker(now, task, checkpoint);
                }
                Item::EndOfPartition => {
                    self.channels[channel].consumer_queue().pop_front();
                    self.on_end_of_partition(now, task, channel);
                }
            }
            if self.has_readable_item(channel) {
                self.enqueue_poll(task, channel);
            }
            return true;
        }
        false
    }

    /// Is there something the consumer of `channel` can take now?
    fn has_readable_item(&self, channel: DataChannelIndex) -> bool {
        let c = &self.channels[channel];
        let queue = if c.local { &c.sender } else { &c.receiver };
        match queue.front() {
            None => false,
            Some(Item::Data(buffer)) => {
                let b = &self.buffers.buffers[*buffer as usize];
                !c.local || b.taken < b.available || b.finished
            }
            Some(_) => true,
        }
    }

    /// The consumer takes the readable part of the buffer at the head of `channel` as a slice.
    /// Returns false if nothing was readable.
    fn take_slice(&mut self, task: TaskIndex, channel: DataChannelIndex, buffer: BufferId) -> bool {
        let local = self.channels[channel].local;
        let b = &mut self.buffers.buffers[buffer as usize];
        let (from, to) = if local {
            (b.taken, b.available)
        } else {
            (0, b.records.len())
        };
        let fully_taken = !local || (b.finished && to == b.records.len());
        if local {
            b.taken = to;
        }
        if fully_taken {
            b.popped = true;
            self.channels[channel].consumer_queue().pop_front();
            if local {
                self.channels[channel].queued_data -= 1;
            }
        }
        if from == to {
            if fully_taken {
                self.slice_done_without_reading(channel, buffer);
            }
            return fully_taken;
        }
        if let Some(checkpoint) = self.channels[channel].persisting
            && local
        {
            self.persist_records(task, checkpoint, channel, buffer, from, to, false);
        }
        self.tasks[task].reading = Some((channel, buffer, from, to));
        true
    }
    fn enqueue_poll(&mut self, task: TaskIndex, channel: DataChannelIndex) {
        if !self.channels[channel].in_poll_queue {
            self.channels[channel].in_poll_queue = true;
            self.tasks[task].poll.push_back(channel);
        }
    }

    /// Starts processing one record: free operators run at once, costly ones take virtual time.
    fn start_record(&mut self, now: SimTime, task: TaskIndex, record: Record) {
        self.tasks[task].metrics.records_in += 1;
        let t = &mut self.tasks[task];
        let mut cost_us = 0;
        for index in 0..t.costs.len() {
            cost_us += t.costs[index].sample_us(&mut t.rng);
        }
        if now < t.straggling_until {
            cost_us = (cost_us as f64 * t.straggle_factor) as u64;
        }
        if cost_us == 0 {
            self.run_chain(now, task, record);
        } else {
            t.in_hand = Some(record);
            t.status = Status::Busy;
            let incarnation = t.incarnation;
            self.set_activity(now, task, Activity::Busy);
            self.queue.schedule_after(
                cost_us,
                Event::RecordDone {
                    task: task as u32,
                    incarnation,
                },
            );
        }
    }

    fn record_done(&mut self, now: SimTime, task: TaskIndex) {
        let record = self.tasks[task]
            .in_hand
            .take()
            .expect("a record was in hand");
        self.tasks[task].status = Status::Idle;
        self.run_chain(now, task, record);
        self.wake(task);
    }

    /// Applies the chain's operators to a record and emits what comes out of the last one.
    fn run_chain(&mut self, now: SimTime, task: TaskIndex, record: Record) {
        let mut current = Some(record);
        let incremental = self.model.state.incremental;
        for position in 0..self.tasks[task].chain.len() {
            let Some(record) = current else { break };
            let operator = self.tasks[task].chain[position];
            let kind = &self.model.job.operators[operator].kind;
            if incremental && matches!(kind, OperatorKind::KeyedAggregation { .. }) {
                let epoch = self.tasks[task].snapshot_counter;
                self.tasks[task].key_epochs[position].insert(record.key, epoch);
            }
            if let Some((sink_position, sink)) = self.tasks[task].sink
                && sink_position == position
            {
                let subtask = self.tasks[task].subtask;
                self.sinks[sink].write(subtask, record, now.as_micros());
            }
            if matches!(kind, OperatorKind::Sink(_)) {
                self.records_at_sinks += 1;
                self.latencies_us
                    .push(now.as_micros().saturating_sub(record.created_at_us));
                let bucket = (now.as_micros() / self.model.throughput_bucket_us) as usize;
                if self.sink_buckets.len() <= bucket {
                    self.sink_buckets.resize(bucket + 1, 0);
                }
                self.sink_buckets[bucket] += 1;
            }
            current = apply(kind, &mut self.tasks[task].states[position], record);
        }
        if let Some(record) = current {
            self.emit(now, task, record);
        }
    }

    /// One step of a source: emit the next record if the rate, the output and the log allow.
    /// Returns false when the source must wait.
    fn source_step(&mut self, now: SimTime, task: TaskIndex) -> bool {
        let t = &mut self.tasks[task];
        let source = t.source.as_mut().expect("source step on a source");
        if t.paused {
            self.set_activity(now, task, Activity::Idle);
            return false;
        }
        let offset = t.states[0].offset;
        if source.limit.is_some_and(|limit| offset >= limit) {
            // End of input: end of data downstream, then finish once allowed.
            self.set_activity(now, task, Activity::Idle);
            self.end_data(now, task);
            self.try_finish(now, task);
            return false;
        }
        if let Some(interval) = source.interval_us {
            if source.next_emit_us > now.as_micros() as f64 {
                if !source.tick_scheduled {
                    source.tick_scheduled = true;
                    let at = SimTime::from_micros(source.next_emit_us.ceil() as u64);
                    self.queue
                        .schedule_at(at, Event::SourceTick { task: task as u32 });
                }
                self.set_activity(now, task, Activity::Idle);
                return false;
            }
            // A rate limiter does not let a stalled source burst to catch up.
            source.next_emit_us =
                source.next_emit_us.max(now.as_micros() as f64 - interval) + interval;
        }
        if !self.output_available(task) {
            self.set_activity(now, task, Activity::Backpressured);
            return false;
        }
        let source = self.tasks[task].source.as_mut().expect("source");
        while source.keys.len() as u64 <= offset {
            let (_, key) = source.log.next_key();
            source.keys.push(key);
        }
        let key = source.keys[offset as usize];
        let record = Record {
            key,
            source_task: task as u32,
            offset,
            value: 1,
            created_at_us: now.as_micros(),
        };
        self.tasks[task].states[0].offset = offset + 1;
        self.records_emitted += 1;
        self.start_record(now, task, record);
        true
    }

    // --------------------------------------------------------------------------------------------
    // Output: partitioning, buffers, flushing

    fn emit(&mut self, now: SimTime, task: TaskIndex, record: Record) {
        for edge_index in 0..self.tasks[task].edges.len() {
            let edge = &self.tasks[task].edges[edge_index];
            match edge.partitioner {
                Partitioner::Forward => {
                    let channel = edge.channels[0];
                    self.write_record(now, task, channel, record);
                }
                Partitioner::Hash => {
                    let group = key_group(record.key, self.model.job.max_parallelism);
                    let subtask = subtask_for_key_group(
                        group,
                        edge.consumer_parallelism,
                        self.model.job.max_parallelism,
                    );
                    let channel = edge.channels[subtask as usize];
                    self.write_record(now, task, channel, record);
                }
                Partitioner::Rebalance => {
                    let next = self.tasks[task].rebalance_next[edge_index];
                    let channel = edge.channels[next as usize];
                    self.tasks[task].rebalance_next[edge_index] =
                        (next + 1) % edge.consumer_parallelism;
                    self.write_record(now, task, channel, record);
                }
                Partitioner::Broadcast => {
                    for index in 0..self.tasks[task].edges[edge_index].channels.len() {
                        let channel = self.tasks[task].edges[edge_index].channels[index];
                        self.write_record(now, task, channel, record);
                    }
                }
            }
        }
    }

    fn record_bytes(&self, record: &Record) -> u32 {
        self.record_bytes_of_source[record.source_task as usize]
    }

    fn write_record(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        channel: DataChannelIndex,
        record: Record,
    ) {
        let size = self.record_bytes(&record);
        let segment = self.model.network.segment_bytes;
        let buffer = match self.channels[channel].current {
            Some(buffer) => buffer,
            None => {
                // A new segment from the output pool joins the subpartition queue at once; the
                // consumer sees its records as they are flushed.
                let buffer = self.buffers.allocate(0);
                let c = &mut self.channels[channel];
                c.current = Some(buffer);
                c.queued_data += 1;
                c.sender.push_back(Item::Data(buffer));
                self.tasks[task].pool_used += 1;
                buffer
            }
        };
        let data = &mut self.buffers.buffers[buffer as usize];
        data.records.push(record);
        data.bytes += size;
        self.channels[channel].records_enqueued += 1;
        if data.bytes + size > segment {
            self.finish_buffer(now, channel);
        }
    }
    /// The producer's current buffer is full, or must end before an event: it is finished and all
    /// of it becomes visible.
    fn finish_buffer(&mut self, now: SimTime, channel: DataChannelIndex) {
        let Some(buffer) = self.channels[channel].current.take() else {
            return;
        };
        let b = &mut self.buffers.buffers[buffer as usize];
        b.finished = true;
        b.available = b.records.len();
        self.channels[channel].buffers_enqueued += 1;
        self.after_enqueue(now, channel);
    }

    /// The buffer timeout: what was written so far becomes visible, the buffer stays open.
    fn flush_buffer(&mut self, now: SimTime, channel: DataChannelIndex) {
        let Some(buffer) = self.channels[channel].current else {
            return;
        };
        let b = &mut self.buffers.buffers[buffer as usize];
        if b.available < b.records.len() {
            b.available = b.records.len();
            self.after_enqueue(now, channel);
        }
    }
    fn flush_outputs(&mut self, now: SimTime, task: TaskIndex) {
        for index in 0..self.tasks[task].outputs.len() {
            let channel = self.tasks[task].outputs[index];
            self.flush_buffer(now, channel);
        }
    }
    /// Something was added to the sender queue: a local consumer can see it; a remote one needs it
    /// sent.
    fn after_enqueue(&mut self, now: SimTime, channel: DataChannelIndex) {
        if self.channels[channel].local {
            let consumer = self.channels[channel].to;
            self.enqueue_poll(consumer, channel);
            self.wake(consumer);
        } else {
            self.transmit(now, channel);
        }
    }

    // --------------------------------------------------------------------------------------------
    // The wire: credit-based flow control between task managers

    /// Sends what can be sent: events always, data slices only against credit.
    fn transmit(&mut self, now: SimTime, channel: DataChannelIndex) {
        if self.channels[channel].sender.is_empty() {
            return;
        }
        let (from, to) = (self.channels[channel].from, self.channels[channel].to);
        if let Some(heals_at) = self.partitioned(now, from, to) {
            // Network partition: nothing crosses until it heals.
            self.queue.schedule_at(
                heals_at,
                Event::Retransmit {
                    channel: channel as u32,
                },
            );
            return;
        }
        let spike_us = self.latency_spike_us(now);
        loop {
            let Some(&head) = self.channels[channel].sender.front() else {
                return;
            };
            let (item, bytes) = match head {
                Item::Data(buffer) => {
                    let b = &self.buffers.buffers[buffer as usize];
                    let (from, to, finished, length) =
                        (b.sent, b.available, b.finished, b.records.len());
                    if from == to {
                        if finished && to == length {
                            self.release_sender_segment(channel, buffer);
                            continue;
                        }
                        return;
                    }
                    if self.channels[channel].credit == 0 {
                        self.request_floating(now, channel);
                        return;
                    }
                    self.channels[channel].credit -= 1;
                    let sequence = self.channels[channel].slices_sent;
                    self.channels[channel].slices_sent += 1;
                    let slice = self.buffers.allocate(sequence);
                    let records: Vec<Record> =
                        self.buffers.buffers[buffer as usize].records[from..to].to_vec();
                    let bytes: u32 = records.iter().map(|r| self.record_bytes(r)).sum();
                    let s = &mut self.buffers.buffers[slice as usize];
                    s.records.extend_from_slice(&records);
                    s.bytes = bytes;
                    s.available = records.len();
                    s.finished = true;
                    self.buffers.buffers[buffer as usize].sent = to;
                    if finished && to == length {
                        self.release_sender_segment(channel, buffer);
                    }
                    (Item::Data(slice), u64::from(bytes))
                }
                _ => {
                    self.channels[channel].sender.pop_front();
                    if let Item::Barrier(barrier) = head {
                        self.barrier_left_sender(now, channel, barrier);
                    }
                    (head, 64)
                }
            };
            let c = &self.channels[channel];
            let link = c.link;
            let network = &self.model.network;
            let start = now.max(self.link_free_at[link]);
            let wire_us = (u128::from(bytes) * 1_000_000
                / u128::from(network.remote_bandwidth_bytes_per_s))
                as u64;
            self.link_free_at[link] = start.after_us(wire_us);
            let arrival = start
                .after_us(wire_us + network.remote_latency_us + spike_us)
                .max(c.in_transit.back().map_or(SimTime::ZERO, |(t, _, _)| *t));
            let c = &mut self.channels[channel];
            let incarnation = c.incarnation;
            c.in_transit.push_back((arrival, item, incarnation));
            if c.in_transit.len() == 1 {
                self.queue.schedule_at(
                    arrival,
                    Event::Arrive {
                        channel: channel as u32,
                    },
                );
            }
        }
    }

    /// A remote sender's segment has been sent in full: it leaves the queue and the output pool.
    fn release_sender_segment(&mut self, channel: DataChannelIndex, buffer: BufferId) {
        let c = &mut self.channels[channel];
        c.sender.pop_front();
        c.queued_data -= 1;
        let producer = c.from;
        self.buffers.release(buffer);
        self.tasks[producer].pool_used -= 1;
        self.wake(producer);
    }
    fn request_floating(&mut self, now: SimTime, channel: DataChannelIndex) {
        let c = &mut self.channels[channel];
        if c.waiting_for_floating {
            return;
        }
        let consumer = c.to;
        if self.floating_free[consumer] > 0 {
            self.floating_free[consumer] -= 1;
            c.floating_held += 1;
            // The backlog announcement travels to the receiver and the credit comes back.
            let incarnation = c.incarnation;
            self.queue.schedule_at(
                now.after_us(2 * self.model.network.remote_latency_us),
                Event::CreditArrive {
                    channel: channel as u32,
                    incarnation,
                },
            );
        } else {
            c.waiting_for_floating = true;
            self.floating_waiting[consumer].push_back(channel);
        }
    }

    fn arrive(&mut self, channel: DataChannelIndex) {
        let (_, item, incarnation) = self.channels[channel]
            .in_transit
            .pop_front()
            .expect("an arrival has an item");
        if let Some(&(next, _, _)) = self.channels[channel].in_transit.front() {
            self.queue.schedule_at(
                next,
                Event::Arrive {
                    channel: channel as u32,
                },
            );
        }
        if incarnation != self.channels[channel].incarnation {
            // Sent by an attempt that a failover cancelled: dropped with the in-flight data.
            if let Item::Data(buffer) = item {
                self.buffers.release(buffer);
            }
            return;
        }
        let consumer = self.channels[channel].to;
        match item {
            Item::Data(buffer) => {
                let c = &mut self.channels[channel];
                if c.exclusive_held < self.model.network.exclusive_buffers_per_channel {
                    c.exclusive_held += 1;
                }
                if let Some(checkpoint) = c.persisting {
                    let length = self.buffers.buffers[buffer as usize].records.len();
                    self.persist_records(consumer, checkpoint, channel, buffer, 0, length, false);
                }
                self.channels[channel].receiver.push_back(item);
            }
            Item::Barrier(barrier) if barrier.priority => {
                self.channels[channel].receiver.push_front(item);
                self.priority_visible(consumer, channel, barrier.checkpoint);
            }
            _ => self.channels[channel].receiver.push_back(item),
        }
        self.enqueue_poll(consumer, channel);
        self.wake(consumer);
    }

    /// The consumer has read every record of a slice.
    fn slice_done(&mut self, now: SimTime, channel: DataChannelIndex, buffer: BufferId) {
        if self.channels[channel].local {
            // A local slice is part of the producer's segment, recycled once fully taken and read.
            if self.buffers.buffers[buffer as usize].popped {
                self.slice_done_without_reading(channel, buffer);
            }
            return;
        }
        // A remote slice occupied a receiver buffer: free it, and give the sender credit back.
        let replayed = self.buffers.buffers[buffer as usize].replayed;
        self.buffers.release(buffer);
        if replayed {
            return;
        }
        let c = &mut self.channels[channel];
        let consumer = c.to;
        if c.floating_held > 0
            && c.exclusive_held <= self.model.network.exclusive_buffers_per_channel
        {
            c.floating_held -= 1;
            self.floating_free[consumer] += 1;
            if let Some(waiting) = self.floating_waiting[consumer].pop_front() {
                self.channels[waiting].waiting_for_floating = false;
                self.request_floating(now, waiting);
            }
        } else {
            c.exclusive_held = c.exclusive_held.saturating_sub(1);
            let incarnation = c.incarnation;
            let at = now.after_us(self.model.network.remote_latency_us);
            self.queue.schedule_at(
                at,
                Event::CreditArrive {
                    channel: channel as u32,
                    incarnation,
                },
            );
        }
    }

    /// A local segment that is finished, fully taken and not being read goes back to the pool.
    fn slice_done_without_reading(&mut self, channel: DataChannelIndex, buffer: BufferId) {
        let producer = self.channels[channel].from;
        self.buffers.release(buffer);
        self.tasks[producer].pool_used -= 1;
        self.wake(producer);
    }
    // --------------------------------------------------------------------------------------------
    // Barriers on the way out

    /// Puts barrier `checkpoint` on every output channel. With `priority` it overtakes the data
    /// queued in the subpartition, which becomes this task's output channel state.
    fn broadcast_barrier(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        checkpoint: u64,
        trigger_us: u64,
        priority: bool,
    ) {
        for index in 0..self.tasks[task].outputs.len() {
            let channel = self.tasks[task].outputs[index];
            self.finish_buffer(now, channel);
            let c = &mut self.channels[channel];
            let barrier = Barrier {
                checkpoint,
                trigger_us,
                priority,
                buffers_before: c.slices_sent,
                records_before: c.records_enqueued,
            };
            if priority {
                let queued = c.sender.len();
                let overtaken = self.queued_data_items(channel, queued);
                self.channels[channel]
                    .sender
                    .push_front(Item::Barrier(barrier));
                for buffer in overtaken {
                    self.persist_unsent(task, checkpoint, channel, buffer);
                }
            } else {
                let c = &mut self.channels[channel];
                c.sender.push_back(Item::Barrier(barrier));
            }
            self.trace.push(DataflowEvent::BarrierSent {
                time: now,
                channel: channel as u32,
                checkpoint,
                records_before: barrier.records_before,
                priority,
            });
            if priority && self.channels[channel].local {
                let consumer = self.channels[channel].to;
                self.priority_visible(consumer, channel, checkpoint);
                self.wake(consumer);
            } else {
                self.after_enqueue(now, channel);
            }
        }
    }

    /// An aligned barrier left its sender's queue (taken by a local consumer, or sent): for
    /// aligned-with-timeout it can no longer be converted, one fewer output to wait for.
    fn barrier_left_sender(&mut self, now: SimTime, channel: DataChannelIndex, barrier: Barrier) {
        if barrier.priority {
            return;
        }
        let producer = self.channels[channel].from;
        if let Some(progress) = self.tasks[producer].snapshots.get_mut(&barrier.checkpoint)
            && progress.outputs_pending > 0
        {
            progress.outputs_pending -= 1;
            self.maybe_upload_channel_state(now, producer, barrier.checkpoint);
        }
    }

    /// The data buffers among the first `count` items of a sender queue.
    fn queued_data_items(&self, channel: DataChannelIndex, count: usize) -> Vec<BufferId> {
        self.channels[channel]
            .sender
            .iter()
            .take(count)
            .filter_map(|i| {
                if let Item::Data(b) = i {
                    Some(*b)
                } else {
                    None
                }
            })
            .collect()
    }

    /// Persists, as output channel state, the part of a queued buffer the consumer has not got yet.
    fn persist_unsent(
        &mut self,
        task: TaskIndex,
        checkpoint: u64,
        channel: DataChannelIndex,
        buffer: BufferId,
    ) {
        let b = &self.buffers.buffers[buffer as usize];
        let from = if self.channels[channel].local {
            b.taken
        } else {
            b.sent
        };
        let to = b.records.len();
        self.persist_records(task, checkpoint, channel, buffer, from, to, true);
    }

    /// A priority barrier is now at the head of the consumer's queue: it stops the recording of
    /// that channel at once (what follows it was overtaken, and is the sender's to persist), and
    /// the consumer will handle it before its next record.
    fn priority_visible(
        &mut self,
        consumer: TaskIndex,
        channel: DataChannelIndex,
        checkpoint: u64,
    ) {
        if self.channels[channel].persisting == Some(checkpoint) {
            self.channels[channel].persisting = None;
        }
        self.tasks[consumer].priority.push_back(channel);
        self.wake(consumer);
    }

    fn take_priority_item(&mut self, now: SimTime, task: TaskIndex, channel: DataChannelIndex) {
        let queue = self.channels[channel].consumer_queue();
        match queue.front() {
            Some(Item::Barrier(barrier)) if barrier.priority => {
                let barrier = *barrier;
                queue.pop_front();
                self.on_barrier(now, task, channel, barrier);
            }
            _ => {}
        }
    }

    /// Aligned-with-timeout, sender side: a barrier still queued at `trigger + timeout` is moved to
    /// the head of its subpartition and becomes a priority barrier (FLINK-27251).
    fn convert_stuck_barriers(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        for index in 0..self.tasks[task].outputs.len() {
            let channel = self.tasks[task].outputs[index];
            let c = &mut self.channels[channel];
            let Some(position) = c
                .sender
                .iter()
                .position(|i| matches!(i, Item::Barrier(b) if b.checkpoint == checkpoint))
            else {
                continue;
            };
            if let Some(progress) = self.tasks[task].snapshots.get_mut(&checkpoint) {
                progress.outputs_pending = progress.outputs_pending.saturating_sub(1);
            }
            let c = &mut self.channels[channel];
            if position == 0 {
                if let Some(Item::Barrier(b)) = c.sender.front_mut() {
                    b.priority = true;
                }
            } else {
                let Some(Item::Barrier(mut barrier)) = c.sender.remove(position) else {
                    continue;
                };
                barrier.priority = true;
                barrier.buffers_before = c.slices_sent;
                let overtaken = self.queued_data_items(channel, position);
                self.channels[channel]
                    .sender
                    .push_front(Item::Barrier(barrier));
                for buffer in overtaken {
                    self.persist_unsent(task, checkpoint, channel, buffer);
                }
            }
            self.trace.push(DataflowEvent::BarrierSent {
                time: now,
                channel: channel as u32,
                checkpoint,
                records_before: self.channels[channel].records_enqueued,
                priority: true,
            });
            if self.channels[channel].local {
                let consumer = self.channels[channel].to;
                self.priority_visible(consumer, channel, checkpoint);
            } else {
                self.transmit(now, channel);
            }
        }
        self.maybe_upload_channel_state(now, task, checkpoint);
    }

    // --------------------------------------------------------------------------------------------
    // Barrier handlers (receiving side): the world tells the task's handler what happened and
    // executes the actions it returns.

    /// A barrier was read from `channel`.
    fn on_barrier(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        channel: DataChannelIndex,
        barrier: Barrier,
    ) {
        let checkpoint = barrier.checkpoint;
        self.trace.push(DataflowEvent::BarrierReceived {
            time: now,
            channel: channel as u32,
            checkpoint,
            records_consumed: self.channels[channel].records_consumed,
        });
        let c = &mut self.channels[channel];
        // The channel's own recording of this checkpoint ends at its barrier.
        if c.persisting == Some(checkpoint) {
            c.persisting = None;
        }
        // Like Flink's input channels, each remembers where its newest barrier was in its stream.
        if checkpoint >= c.last_barrier_checkpoint {
            c.last_barrier_checkpoint = checkpoint;
            c.last_barrier_buffers_before = barrier.buffers_before;
        }
        let timed_out = matches!(self.protocol_for(checkpoint), SnapshotProtocol::AlignedWithTimeout { timeout_us } if now.as_micros() >= barrier.trigger_us + timeout_us);
        let input = barrier::Input::Barrier {
            input: self.channels[channel].input_position,
            barrier: barrier::Barrier {
                checkpoint,
                priority: barrier.priority,
                savepoint: self.is_savepoint(checkpoint),
                timed_out,
            },
        };
        self.barrier_input(now, task, input);
    }

    /// Tells `task`'s barrier handler of `input` and executes the actions it decides.
    fn barrier_input(&mut self, now: SimTime, task: TaskIndex, input: barrier::Input) {
        let mut actions = std::mem::take(&mut self.barrier_actions);
        self.tasks[task].barriers.handle(input, &mut actions);
        self.execute_barrier_actions(now, task, &actions);
        actions.clear();
        self.barrier_actions = actions;
        self.track_alignment_windows(now, task);
    }

    /// Executes a barrier handler's actions, in order. A snapshot's synchronous phase starts once
    /// the actions that belong to it (its barriers, its channel state) are done. A snapshot that
    /// fails is reported back to the handler, and the rest of that checkpoint's actions dropped.
    fn execute_barrier_actions(&mut self, now: SimTime, task: TaskIndex, actions: &[Action]) {
        let mut pending_sync: Option<(u64, u64)> = None;
        let mut failed: Option<u64> = None;
        for action in actions {
            if failed.is_some() && action.checkpoint() == failed {
                continue;
            }
            match *action {
                Action::Block { input } => {
                    let channel = self.tasks[task].inputs[input];
                    self.channels[channel].blocked = true;
                }
                Action::Unblock { input } => {
                    let channel = self.tasks[task].inputs[input];
                    if self.channels[channel].blocked {
                        self.channels[channel].blocked = false;
                        if !self.channels[channel].consumer_queue().is_empty() {
                            self.enqueue_poll(task, channel);
                        }
                    }
                }
                Action::TakeSnapshot {
                    checkpoint,
                    kind,
                    forget_channel_state,
                } => {
                    if let Some(sync) = pending_sync.take() {
                        self.start_sync_phase(now, task, sync);
                    }
                    if std::mem::take(&mut self.tasks[task].decline_next) {
                        // Decline-checkpoint fault: the task refuses this checkpoint.
                        self.barrier_input(
                            now,
                            task,
                            barrier::Input::SnapshotFailed {
                                checkpoint,
                                reason: AbortReason::CheckpointDeclined,
                            },
                        );
                        failed = Some(checkpoint);
                        continue;
                    }
                    let sync_us =
                        self.take_snapshot(now, task, checkpoint, kind, forget_channel_state);
                    pending_sync = Some((checkpoint, sync_us));
                }
                Action::ForwardBarrier {
                    checkpoint,
                    priority,
                } => {
                    let trigger_us = self.trigger_us(checkpoint);
                    self.broadcast_barrier(now, task, checkpoint, trigger_us, priority);
                }
                Action::ConvertStuckBarriersAtTimeout { checkpoint } => {
                    self.convert_stuck_barriers_at_timeout(now, task, checkpoint)
                }
                Action::PersistInputs {
                    checkpoint,
                    ref awaiting,
                } => self.start_recording_inputs(task, checkpoint, awaiting),
                Action::StopPersisting { checkpoint } => {
                    for index in 0..self.tasks[task].inputs.len() {
                        let channel = self.tasks[task].inputs[index];
                        if self.channels[channel].persisting == Some(checkpoint) {
                            self.channels[channel].persisting = None;
                        }
                    }
                }
                Action::StartAlignmentTimer { checkpoint } => {
                    let deadline = SimTime::from_micros(
                        self.trigger_us(checkpoint) + self.aligned_checkpoint_timeout_us(),
                    );
                    self.queue.schedule_at(
                        deadline.max(now),
                        Event::AlignmentTimeout {
                            task: task as u32,
                            checkpoint,
                        },
                    );
                }
                Action::AlignmentComplete { checkpoint } => {
                    self.alignment_complete(now, task, checkpoint)
                }
                Action::Decline { checkpoint, reason } => {
                    let at = now.after_us(self.model.network.rpc_latency_us);
                    self.queue
                        .schedule_at(at, Event::DeclineArrive { checkpoint, reason });
                }
                Action::ForwardCancel { checkpoint } => self.forward_cancel(now, task, checkpoint),
                Action::DiscardSnapshot { checkpoint } => {
                    self.tasks[task].snapshots.remove(&checkpoint);
                }
                Action::Abandoned { .. } => self.wake(task),
            }
        }
        if let Some(sync) = pending_sync {
            self.start_sync_phase(now, task, sync);
        }
    }

    /// Keeps one [`AlignmentWindow`] per checkpoint the task's handler is aligning: it opens when
    /// the alignment starts and closes when the handler stops aligning that checkpoint.
    fn track_alignment_windows(&mut self, now: SimTime, task: TaskIndex) {
        let aligning = self.tasks[task].barriers.aligning();
        let windows = &mut self.tasks[task].alignment_windows;
        windows.retain(|w| aligning.contains(&w.checkpoint));
        for checkpoint in aligning {
            if !windows.iter().any(|w| w.checkpoint == checkpoint) {
                windows.push(AlignmentWindow {
                    checkpoint,
                    first_barrier_at: now,
                    processed_bytes: 0,
                });
            }
        }
    }

    /// When `checkpoint`'s alignment started at this task, and the bytes processed since.
    fn alignment_window(&self, now: SimTime, task: TaskIndex, checkpoint: u64) -> (SimTime, u64) {
        self.tasks[task]
            .alignment_windows
            .iter()
            .find(|w| w.checkpoint == checkpoint)
            .map_or((now, 0), |w| (w.first_barrier_at, w.processed_bytes))
    }

    /// Every open input has delivered the barrier (or ended): the alignment's statistics, and the
    /// snapshot's channel state is complete.
    fn alignment_complete(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        let (first, processed) = self.alignment_window(now, task, checkpoint);
        if let Some(progress) = self.tasks[task].snapshots.get_mut(&checkpoint) {
            progress.stats.alignment_duration_us = now.since_us(first);
            progress.stats.processed_data = processed;
            progress.channel_state_final = true;
        }
        self.maybe_upload_channel_state(now, task, checkpoint);
        self.wake(task);
    }

    /// `alignment.processed`: bytes processed while a checkpoint is between its first and last
    /// barrier at this task.
    fn note_processed_bytes(&mut self, task: TaskIndex, record: &Record) {
        let bytes = u64::from(self.record_bytes(record));
        for window in &mut self.tasks[task].alignment_windows {
            window.processed_bytes += bytes;
        }
    }

    /// Sends a cancellation marker of `checkpoint` on every output.
    fn forward_cancel(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        for index in 0..self.tasks[task].outputs.len() {
            let channel = self.tasks[task].outputs[index];
            // An event ends the buffer being filled: data written before it stays before it.
            self.finish_buffer(now, channel);
            self.channels[channel]
                .sender
                .push_back(Item::Cancel(checkpoint));
            self.trace.push(DataflowEvent::CancelMarkerSent {
                time: now,
                channel: channel as u32,
                checkpoint,
            });
            self.after_enqueue(now, channel);
        }
    }

    fn on_cancel_marker(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        self.barrier_input(now, task, barrier::Input::CancelMarker { checkpoint });
    }

    /// End of partition counts as that channel's barrier for every pending and future checkpoint
    /// (FLIP-147).
    /// The producer learns that this consumer has processed all of its data (modelled as
    /// immediate), one of its conditions for finishing.
    fn on_end_of_partition(&mut self, now: SimTime, task: TaskIndex, channel: DataChannelIndex) {
        self.channels[channel].finished = true;
        self.channels[channel].persisting = None;
        let input = self.channels[channel].input_position;
        self.barrier_input(now, task, barrier::Input::EndOfPartition { input });
        let producer = self.channels[channel].from;
        self.try_finish(now, producer);
    }

    // --------------------------------------------------------------------------------------------
    // Snapshots: sync phase, async upload, acknowledgement

    /// A source (or a task whose inputs have all ended) is told to start a checkpoint.
    fn triggered_at_task(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        if self
            .coordinator
            .as_ref()
            .is_some_and(|c| !c.is_pending(checkpoint))
        {
            return;
        }
        let savepoint = self.is_savepoint(checkpoint);
        self.barrier_input(
            now,
            task,
            barrier::Input::Trigger {
                checkpoint,
                savepoint,
            },
        );
    }

    /// Takes this task's snapshot of `checkpoint` (Flink's `SubtaskCheckpointCoordinator`, step
    /// 0): records where every input stands, copies the operator state, pre-commits a
    /// two-phase-commit sink. Returns the synchronous phase's duration; the barriers and channel
    /// state come next, as their own actions, then the synchronous phase starts.
    fn take_snapshot(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        checkpoint: u64,
        kind: SnapshotKind,
        forget_channel_state: bool,
    ) -> u64 {
        let unaligned = kind == SnapshotKind::Unaligned;
        let records_input = kind.records_channel_state();
        self.trace.push(DataflowEvent::SnapshotTaken {
            time: now,
            task: task as u32,
            checkpoint,
            unaligned,
        });
        for index in 0..self.tasks[task].inputs.len() {
            let channel = self.tasks[task].inputs[index];
            self.trace.push(DataflowEvent::InputPosition {
                time: now,
                channel: channel as u32,
                checkpoint,
                records_consumed: self.channels[channel].records_consumed,
            });
        }
        let snapshot = TaskSnapshot {
            task,
            operator_states: self.tasks[task].states.clone(),
            input_channel_state: Vec::new(),
            output_channel_state: Vec::new(),
            unaligned,
            pending_transactions: self.pre_commit(task, checkpoint),
        };
        let (first_barrier, _) = self.alignment_window(now, task, checkpoint);
        let start_delay_us = first_barrier
            .as_micros()
            .saturating_sub(self.trigger_us(checkpoint));
        let sync_us = self.sync_duration_us(task);
        self.tasks[task].snapshot_counter += 1;
        let counter = self.tasks[task].snapshot_counter;
        self.tasks[task].snapshot_epochs.insert(checkpoint, counter);
        let progress = SnapshotInProgress {
            snapshot,
            stats: SubtaskCheckpointStats {
                task: self.graph.tasks[task].name.clone(),
                sync_duration_us: sync_us,
                start_delay_us,
                unaligned,
                ..SubtaskCheckpointStats::default()
            },
            sync_end: None,
            needs_channel_state: records_input,
            channel_state_final: !records_input,
            forgets_channel_state: forget_channel_state,
            outputs_pending: 0,
            state_uploaded: false,
            channel_uploaded: false,
            channel_upload_started: false,
            state_bytes_uploaded: 0,
        };
        self.tasks[task].snapshots.insert(checkpoint, progress);
        sync_us
    }

    /// Step 5: the synchronous part of a snapshot, on the task thread.
    fn start_sync_phase(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        (checkpoint, sync_us): (u64, u64),
    ) {
        if self.stopping_with == Some(checkpoint) {
            self.tasks[task].paused = true;
        }
        self.tasks[task].status = Status::Sync;
        self.tasks[task].syncing = Some(checkpoint);
        self.set_activity(now, task, Activity::Busy);
        self.queue.schedule_after(
            sync_us,
            Event::SyncDone {
                task: task as u32,
                checkpoint,
            },
        );
    }

    /// Aligned-with-timeout, sending side: at `trigger + timeout` a barrier of `checkpoint` still
    /// queued in an output is converted to a priority barrier; until then the snapshot waits for
    /// the outputs whose barrier is still queued.
    fn convert_stuck_barriers_at_timeout(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        checkpoint: u64,
    ) {
        let deadline = SimTime::from_micros(
            self.trigger_us(checkpoint) + self.aligned_checkpoint_timeout_us(),
        )
        .max(now);
        self.queue.schedule_at(
            deadline,
            Event::OutputBarrierTimeout {
                task: task as u32,
                checkpoint,
            },
        );
        let still_queued = self.tasks[task]
            .outputs
            .iter()
            .filter(|&&c| {
                self.channels[c]
                    .sender
                    .iter()
                    .any(|i| matches!(i, Item::Barrier(b) if b.checkpoint == checkpoint))
            })
            .count() as u32;
        if let Some(progress) = self.tasks[task].snapshots.get_mut(&checkpoint) {
            progress.outputs_pending = still_queued;
        }
    }

    /// Unaligned / Chandy-Lamport receiver: persist the pre-barrier data already on this side, and
    /// keep persisting each input in `awaiting` until its barrier arrives.
    fn start_recording_inputs(&mut self, task: TaskIndex, checkpoint: u64, awaiting: &[usize]) {
        // The rest of the slice being read was taken before any barrier behind it: pre-barrier.
        if let Some((channel, buffer, index, end)) = self.tasks[task].reading {
            self.persist_records(task, checkpoint, channel, buffer, index, end, false);
        }
        for position in 0..self.tasks[task].inputs.len() {
            let channel = self.tasks[task].inputs[position];
            if self.channels[channel].finished {
                continue;
            }
            let barrier_arrived = !awaiting.contains(&position);
            if !self.channels[channel].local {
                // Buffers the sender sent before the barrier are ahead of it: pre-barrier data.
                let limit = if barrier_arrived {
                    self.channels[channel].last_barrier_buffers_before
                } else {
                    u64::MAX
                };
                let queued: Vec<BufferId> = self.channels[channel]
                    .receiver
                    .iter()
                    .take_while(|i| !matches!(i, Item::Barrier(b) if b.checkpoint == checkpoint && !b.priority))
                    .filter_map(|i| if let Item::Data(b) = i { Some(*b) } else { None })
                    .filter(|&b| self.buffers.buffers[b as usize].sequence < limit)
                    .collect();
                for buffer in queued {
                    let length = self.buffers.buffers[buffer as usize].records.len();
                    self.persist_records(task, checkpoint, channel, buffer, 0, length, false);
                }
            }
            if !barrier_arrived {
                self.channels[channel].persisting = Some(checkpoint);
            }
        }
    }

    /// Copies records `from..to` of a buffer into the snapshot of `checkpoint`, as input channel
    /// state (receiver) or output channel state (sender).
    #[allow(clippy::too_many_arguments)]
    fn persist_records(
        &mut self,
        task: TaskIndex,
        checkpoint: u64,
        channel: DataChannelIndex,
        buffer: BufferId,
        from: usize,
        to: usize,
        output: bool,
    ) {
        if from >= to {
            return;
        }
        let records = &self.buffers.buffers[buffer as usize].records[from..to];
        let bytes: u64 = records
            .iter()
            .map(|r| u64::from(self.record_bytes_of_source[r.source_task as usize]))
            .sum();
        let Some(progress) = self.tasks[task].snapshots.get_mut(&checkpoint) else {
            return;
        };
        if progress.forgets_channel_state {
            return;
        }
        progress.stats.persisted_data += bytes;
        progress.needs_channel_state = true;
        let state = if output {
            &mut progress.snapshot.output_channel_state
        } else {
            &mut progress.snapshot.input_channel_state
        };
        match state.iter_mut().find(|(c, _)| *c == channel) {
            Some((_, list)) => list.extend_from_slice(records),
            None => state.push((channel, records.to_vec())),
        }
    }

    fn state_bytes(&self, task: TaskIndex) -> u64 {
        let t = &self.tasks[task];
        t.chain
            .iter()
            .enumerate()
            .map(
                |(position, &operator)| match self.model.job.operators[operator].kind {
                    OperatorKind::Source(_) => 16,
                    OperatorKind::KeyedAggregation {
                        state_bytes_per_key,
                    } => t.states[position].keyed.len() as u64 * u64::from(state_bytes_per_key),
                    _ => 0,
                },
            )
            .sum()
    }

    fn sync_duration_us(&self, task: TaskIndex) -> u64 {
        let state = &self.model.state;
        let bytes = self.state_bytes(task);
        state.sync_base_us
            + (bytes as u128 * u128::from(state.sync_per_mb_us) / (1024 * 1024)) as u64
    }

    /// Bytes the incremental backend uploads: keys changed since the last confirmed checkpoint,
    /// or everything after `compaction-trigger` incremental uploads.
    fn incremental_bytes(&mut self, task: TaskIndex, full_bytes: u64) -> u64 {
        let state = &self.model.state;
        if !(state.incremental && state.backend == StateBackend::RocksDb) {
            return full_bytes;
        }
        let t = &mut self.tasks[task];
        if t.confirmed_epoch == 0 || t.uploads_since_full >= state.compaction_trigger {
            t.uploads_since_full = 0;
            return full_bytes;
        }
        t.uploads_since_full += 1;
        let base = t.confirmed_epoch;
        let mut changed = 16;
        for (position, &operator) in t.chain.iter().enumerate() {
            if let OperatorKind::KeyedAggregation {
                state_bytes_per_key,
            } = self.model.job.operators[operator].kind
            {
                let keys = t.key_epochs[position]
                    .values()
                    .filter(|&&epoch| epoch >= base)
                    .count() as u64;
                changed += keys * u64::from(state_bytes_per_key);
            }
        }
        changed.min(full_bytes.max(16))
    }

    fn sync_done(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        if self.tasks[task].syncing != Some(checkpoint) {
            return; // from an attempt that a failover cancelled
        }
        self.tasks[task].syncing = None;
        if self.tasks[task].status == Status::Sync {
            self.tasks[task].status = Status::Idle;
            self.set_activity(now, task, Activity::Idle);
        }
        if self.storage_down(now) && self.tasks[task].snapshots.contains_key(&checkpoint) {
            // The upload fails: the task declines the checkpoint (an IO exception).
            self.barrier_input(
                now,
                task,
                barrier::Input::SnapshotFailed {
                    checkpoint,
                    reason: AbortReason::IoException,
                },
            );
            self.wake(task);
            return;
        }
        let full = self.state_bytes(task);
        let uploaded = self.incremental_bytes(task, full);
        let upload_us = self.storage_transfer_us(now, uploaded);
        if let Some(progress) = self.tasks[task].snapshots.get_mut(&checkpoint) {
            progress.sync_end = Some(now);
            progress.state_bytes_uploaded = uploaded;
            progress.stats.state_size = full;
            let at = now.after_us(upload_us);
            self.queue.schedule_at(
                at,
                Event::StateUploaded {
                    task: task as u32,
                    checkpoint,
                },
            );
        }
        self.maybe_upload_channel_state(now, task, checkpoint);
        self.wake(task);
    }

    fn maybe_upload_channel_state(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        let persisted = self.tasks[task]
            .snapshots
            .get(&checkpoint)
            .map_or(0, |p| p.stats.persisted_data);
        let upload_us = self.storage_transfer_us(now, persisted);
        let Some(progress) = self.tasks[task].snapshots.get_mut(&checkpoint) else {
            return;
        };
        if progress.sync_end.is_none()
            || !progress.channel_state_final
            || progress.outputs_pending > 0
            || progress.channel_upload_started
        {
            return;
        }
        progress.channel_upload_started = true;
        if !progress.needs_channel_state {
            progress.channel_uploaded = true;
            self.maybe_acknowledge(now, task, checkpoint);
            return;
        }
        let at = now.after_us(upload_us);
        self.queue.schedule_at(
            at,
            Event::ChannelStateUploaded {
                task: task as u32,
                checkpoint,
            },
        );
    }

    fn maybe_acknowledge(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        let ready = self.tasks[task]
            .snapshots
            .get(&checkpoint)
            .is_some_and(|p| p.state_uploaded && p.channel_uploaded);
        if !ready {
            return;
        }
        let mut progress = self.tasks[task]
            .snapshots
            .remove(&checkpoint)
            .expect("ready");
        let sync_end = progress.sync_end.expect("uploaded after sync");
        progress.stats.async_duration_us = now.since_us(sync_end);
        progress.stats.checkpointed_size =
            progress.state_bytes_uploaded + progress.stats.persisted_data;
        progress.stats.state_size += progress.stats.persisted_data;
        let at = now.after_us(self.model.network.rpc_latency_us);
        if let Some(stats) = self.stats.get_mut(&checkpoint) {
            stats.subtasks[task] = SubtaskCheckpointStats {
                task: stats.subtasks[task].task.clone(),
                ..progress.stats
            };
        }
        if self
            .coordinator
            .as_ref()
            .is_some_and(|c| c.is_pending(checkpoint))
        {
            self.acked_snapshots
                .entry(checkpoint)
                .or_default()
                .push(progress.snapshot);
        }
        self.queue.schedule_at(
            at,
            Event::AckArrive {
                task: task as u32,
                checkpoint,
            },
        );
        // A task waiting for its last snapshot to finish may now end.
        self.wake(task);
    }

    /// `notifyCheckpointComplete`: the incremental backend's base moves to this checkpoint's files.
    fn notify_complete(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        if !matches!(
            self.tasks[task].status,
            Status::Idle | Status::Busy | Status::Sync
        ) {
            return;
        }
        let t = &mut self.tasks[task];
        if let Some(&epoch) = t.snapshot_epochs.get(&checkpoint) {
            t.confirmed_epoch = t.confirmed_epoch.max(epoch);
        }
        t.snapshot_epochs.retain(|&id, _| id > checkpoint);
        // Two-phase commit: every pending transaction up to this checkpoint is committed.
        if let Some((_, sink)) = t.sink {
            let subtask = t.subtask;
            self.sinks[sink].commit_up_to(subtask, checkpoint, now.as_micros());
        }
        if self.tasks[task]
            .final_checkpoint
            .is_some_and(|f| f <= checkpoint)
        {
            self.tasks[task].final_checkpoint_done = true;
            self.try_finish(now, task);
        }
    }

    /// Two-phase commit at the snapshot: the sink's open transaction is pre-committed; returns the
    /// transactions still pending, which go into the snapshot.
    /// Also notes the task's final checkpoint: the first one snapshotted after its input ended.
    fn pre_commit(&mut self, task: TaskIndex, checkpoint: u64) -> Vec<u64> {
        if self.input_ended(task) && self.tasks[task].final_checkpoint.is_none() {
            self.tasks[task].final_checkpoint = Some(checkpoint);
        }
        let Some((_, sink)) = self.tasks[task].sink else {
            return Vec::new();
        };
        if self.sinks[sink].delivery != SinkDelivery::TwoPhaseCommit {
            return Vec::new();
        }
        let subtask = self.tasks[task].subtask;
        let pending = self.sinks[sink].pre_commit(subtask, checkpoint);
        if self.model.variant == DataflowVariant::CommitAtPreCommit {
            // Broken: commit now, before the checkpoint is known to be complete.
            let now_us = self.queue.now().as_micros();
            self.sinks[sink].commit_up_to(subtask, checkpoint, now_us);
        }
        pending
    }

    fn notify_aborted(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        // A task whose data has ended may have been waiting only for this snapshot: the handler's
        // last action wakes it.
        self.barrier_input(now, task, barrier::Input::Aborted { checkpoint });
    }

    // --------------------------------------------------------------------------------------------
    // The coordinator

    /// A savepoint: always triggered (it bypasses max-concurrent-checkpoints), never subsumed.
    fn trigger_savepoint(&mut self, now: SimTime, index: usize) {
        let stop = self.model.savepoints[index].stop;
        let tasks = self.tasks_to_ack();
        if self.stopped
            || tasks.is_empty()
            || self
                .tasks
                .iter()
                .any(|t| matches!(t.status, Status::Canceled | Status::Restoring))
        {
            return;
        }
        let Some(coordinator) = self.coordinator.as_mut() else {
            return;
        };
        let id = coordinator.trigger_savepoint(now, tasks);
        if stop {
            self.stopping_with = Some(id);
        }
        self.start_checkpoint(now, id, true);
    }

    /// The barrier handling for a checkpoint: savepoints are always aligned (exactly-once) or
    /// tracked (at-least-once), whatever the configured handler.
    fn protocol_for(&self, checkpoint: u64) -> SnapshotProtocol {
        let savepoint = self.is_savepoint(checkpoint);
        match self.protocol {
            SnapshotProtocol::AtLeastOnce => SnapshotProtocol::AtLeastOnce,
            _ if savepoint => SnapshotProtocol::Aligned,
            protocol => protocol,
        }
    }

    /// Is `checkpoint` a savepoint?
    fn is_savepoint(&self, checkpoint: u64) -> bool {
        self.stats.get(&checkpoint).is_some_and(|s| s.is_savepoint)
    }

    /// When the coordinator triggered `checkpoint` (µs); barriers carry it, and
    /// `aligned-checkpoint-timeout` counts from it.
    fn trigger_us(&self, checkpoint: u64) -> u64 {
        self.stats
            .get(&checkpoint)
            .map_or(0, |s| s.trigger_timestamp_us)
    }

    /// `aligned-checkpoint-timeout` (aligned-with-timeout only).
    fn aligned_checkpoint_timeout_us(&self) -> u64 {
        match self.protocol {
            SnapshotProtocol::AlignedWithTimeout { timeout_us } => timeout_us,
            _ => 0,
        }
    }

    fn tasks_to_ack(&self) -> Vec<TaskIndex> {
        (0..self.tasks.len())
            .filter(|&t| self.tasks[t].status != Status::Finished)
            .collect()
    }

    /// Tasks the trigger RPC goes to: running tasks none of whose inputs are still open.
    fn tasks_to_trigger(&self) -> Vec<TaskIndex> {
        (0..self.tasks.len())
            .filter(|&t| self.tasks[t].status != Status::Finished)
            .filter(|&t| {
                self.tasks[t]
                    .inputs
                    .iter()
                    .all(|&c| self.tasks[self.channels[c].from].status == Status::Finished)
            })
            .collect()
    }

    fn periodic_request(&mut self, now: SimTime, from_timer: bool) {
        let tasks = self.tasks_to_ack();
        let Some(coordinator) = self.coordinator.as_mut() else {
            return;
        };
        let interval = coordinator.config().interval_us;
        let recovering = self
            .tasks
            .iter()
            .any(|t| matches!(t.status, Status::Canceled | Status::Restoring));
        if tasks.is_empty() || recovering {
            // Not all tasks are running (a failover is under way): this trigger is skipped.
            if from_timer {
                self.queue.schedule_after(
                    interval,
                    Event::PeriodicTrigger {
                        generation: self.periodic_generation,
                    },
                );
            }
            return;
        }
        match coordinator.request_periodic(now, || tasks) {
            TriggerDecision::Trigger { id } => {
                self.start_checkpoint(now, id, false);
                if from_timer {
                    self.queue.schedule_after(
                        interval,
                        Event::PeriodicTrigger {
                            generation: self.periodic_generation,
                        },
                    );
                }
            }
            TriggerDecision::Queued => {
                if from_timer {
                    self.queue.schedule_after(
                        interval,
                        Event::PeriodicTrigger {
                            generation: self.periodic_generation,
                        },
                    );
                }
            }
            TriggerDecision::TooEarly { retry_at } => {
                // Flink drops the request and restarts the periodic schedule at the end of the pause.
                self.trace.push(DataflowEvent::TriggerDropped {
                    time: now,
                    retry_at,
                });
                self.periodic_generation += 1;
                self.queue.schedule_at(
                    retry_at,
                    Event::PeriodicTrigger {
                        generation: self.periodic_generation,
                    },
                );
            }
        }
    }

    fn start_checkpoint(&mut self, now: SimTime, id: u64, is_savepoint: bool) {
        let tasks = self
            .coordinator
            .as_ref()
            .and_then(|c| c.pending(id))
            .map_or(0, |p| p.awaiting.len());
        self.trace.push(DataflowEvent::CheckpointTriggered {
            time: now,
            checkpoint: id,
            tasks_to_ack: tasks as u32,
            is_savepoint,
        });
        self.stats.insert(
            id,
            CheckpointStats {
                id,
                status: CheckpointStatus::InProgress,
                is_savepoint,
                trigger_timestamp_us: now.as_micros(),
                latest_ack_timestamp_us: None,
                end_to_end_duration_us: None,
                state_size: 0,
                checkpointed_size: 0,
                processed_data: 0,
                persisted_data: 0,
                alignment_duration_us: 0,
                start_delay_us: 0,
                sync_duration_us: 0,
                async_duration_us: 0,
                unaligned: false,
                num_subtasks: tasks as u32,
                num_acknowledged_subtasks: 0,
                failure_reason: None,
                subtasks: self
                    .graph
                    .tasks
                    .iter()
                    .map(|t| SubtaskCheckpointStats {
                        task: t.name.clone(),
                        ..Default::default()
                    })
                    .collect(),
            },
        );
        let timeout = self
            .coordinator
            .as_ref()
            .map_or(u64::MAX, |c| c.config().timeout_us);
        self.queue.schedule_at(
            now.after_us(timeout),
            Event::CheckpointTimeout { checkpoint: id },
        );
        let rpc = self.model.network.rpc_latency_us;
        if self.protocol_for(id) == SnapshotProtocol::StopTheWorld {
            let action = self.stop_the_world.triggered(id);
            self.stop_the_world_action(now, action);
            return;
        }
        for task in self.tasks_to_trigger() {
            self.queue.schedule_at(
                now.after_us(rpc),
                Event::TriggerRpc {
                    task: task as u32,
                    checkpoint: id,
                },
            );
        }
    }

    fn ack_arrive(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        self.trace.push(DataflowEvent::AckReceived {
            time: now,
            task: task as u32,
            checkpoint,
        });
        if let Some(stats) = self.stats.get_mut(&checkpoint) {
            stats.subtasks[task].ack_timestamp_us = Some(now.as_micros());
            stats.subtasks[task].end_to_end_duration_us =
                Some(now.as_micros() - stats.trigger_timestamp_us);
        }
        let Some(coordinator) = self.coordinator.as_mut() else {
            return;
        };
        let outcome = coordinator.acknowledge(now, task, checkpoint);
        if matches!(outcome, AckOutcome::Completed { .. }) {
            self.checkpoint_completed(now, checkpoint, outcome);
        }
    }

    fn checkpoint_completed(&mut self, now: SimTime, checkpoint: u64, outcome: AckOutcome) {
        let AckOutcome::Completed { subsumed } = outcome else {
            return;
        };
        self.trace.push(DataflowEvent::CheckpointCompleted {
            time: now,
            checkpoint,
        });
        let mut is_savepoint = false;
        let mut triggered_at = now;
        if let Some(stats) = self.stats.get_mut(&checkpoint) {
            stats.status = CheckpointStatus::Completed;
            stats.aggregate();
            stats.end_to_end_duration_us = Some(now.as_micros() - stats.trigger_timestamp_us);
            is_savepoint = stats.is_savepoint;
            triggered_at = SimTime::from_micros(stats.trigger_timestamp_us);
        }
        let mut tasks = self.acked_snapshots.remove(&checkpoint).unwrap_or_default();
        tasks.sort_by_key(|s| s.task);
        self.completed.push(CompletedCheckpoint {
            id: checkpoint,
            is_savepoint,
            triggered_at,
            completed_at: now,
            tasks,
        });
        if !is_savepoint {
            let superseded = self.newest_restorable.replace(self.completed.len() - 1);
            if self.detail == RunDetail::Statistics
                && let Some(index) = superseded
            {
                // No restart can go back to it any more, and nobody else reads it.
                self.completed[index].tasks = Vec::new();
            }
        }
        for old in subsumed {
            self.record_abort(now, old, AbortReason::CheckpointSubsumed);
        }
        let rpc = self.model.network.rpc_latency_us;
        // A lost-notices fault swallows notifyCheckpointComplete on its way to the tasks. A plain
        // savepoint sends none at all (sinks do not commit for it); stop-with-savepoint does.
        let stopping = self.stopping_with == Some(checkpoint);
        let lost = self.notices_lost(now) || (is_savepoint && !stopping);
        if stopping {
            // The job stops once the tasks have heard (and committed).
            self.queue
                .schedule_at(now.after_us(2 * rpc), Event::EndOfRun);
            self.status = JobStatus::Stopped {
                at_us: now.after_us(2 * rpc).as_micros(),
                savepoint: checkpoint,
            };
        }
        for task in 0..self.tasks.len() {
            if lost {
                break;
            }
            self.queue.schedule_at(
                now.after_us(rpc),
                Event::NotifyComplete {
                    task: task as u32,
                    checkpoint,
                },
            );
        }
        if let Some(action) = self.stop_the_world.completed() {
            self.stop_the_world_action(now, action);
        }
        if self
            .coordinator
            .as_mut()
            .is_some_and(|c| c.take_queued_request())
        {
            self.periodic_request(now, false);
        }
    }

    fn abort_checkpoint(&mut self, now: SimTime, checkpoint: u64, reason: AbortReason) {
        let Some(coordinator) = self.coordinator.as_mut() else {
            return;
        };
        let Some(fails_job) = coordinator.abort(checkpoint, reason) else {
            return;
        };
        self.record_abort(now, checkpoint, reason);
        if let Some(action) = self.stop_the_world.aborted(checkpoint) {
            self.stop_the_world_action(now, action);
        }
        if fails_job {
            // Flink's CheckpointFailureManager fails the job over; the restart strategy decides.
            self.checkpoint_failover(
                now,
                format!("checkpoint {checkpoint} failed ({reason:?}) beyond tolerable-failed-checkpoints"),
            );
            return;
        }
        if self
            .coordinator
            .as_mut()
            .is_some_and(|c| c.take_queued_request())
        {
            self.periodic_request(now, false);
        }
    }

    fn record_abort(&mut self, now: SimTime, checkpoint: u64, reason: AbortReason) {
        self.trace.push(DataflowEvent::CheckpointAborted {
            time: now,
            checkpoint,
            reason,
        });
        self.acked_snapshots.remove(&checkpoint);
        if let Some(stats) = self.stats.get_mut(&checkpoint) {
            stats.status = CheckpointStatus::Failed;
            stats.aggregate();
            stats.end_to_end_duration_us = Some(now.as_micros() - stats.trigger_timestamp_us);
            stats.failure_reason = Some(
                serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
            );
        }
        let rpc = self.model.network.rpc_latency_us;
        for task in 0..self.tasks.len() {
            self.queue.schedule_at(
                now.after_us(rpc),
                Event::NotifyAborted {
                    task: task as u32,
                    checkpoint,
                },
            );
        }
    }

    fn fail_job(&mut self, now: SimTime, reason: String) {
        self.trace.push(DataflowEvent::JobFailed { time: now });
        self.status = JobStatus::Failed {
            at_us: now.as_micros(),
            reason,
        };
        self.stopped = true;
    }

    // --------------------------------------------------------------------------------------------
    // Stop-the-world: drain, then snapshot everything at once

    /// While the job drains for a stop-the-world checkpoint: once nothing is in flight and no task
    /// is busy, the protocol snapshots every task; until then partially filled buffers are flushed.
    fn check_quiescent(&mut self, now: SimTime) {
        let sources_paused = self
            .tasks
            .iter()
            .all(|t| t.source.is_none() || t.paused || t.status == Status::Finished);
        let quiet = sources_paused
            && self.tasks.iter().all(|t| {
                matches!(t.status, Status::Idle | Status::Finished)
                    && t.reading.is_none()
                    && t.in_hand.is_none()
            })
            && self.channels.iter().all(|c| {
                c.current.is_none()
                    && c.sender.is_empty()
                    && c.in_transit.is_empty()
                    && c.receiver.is_empty()
            });
        if !quiet {
            // Partially filled buffers are flushed at once while draining.
            for channel in 0..self.channels.len() {
                if self.channels[channel].current.is_some()
                    && self.tasks[self.channels[channel].from].status == Status::Idle
                {
                    self.finish_buffer(now, channel);
                }
            }
            self.drain_wake(now);
            return;
        }
        if let Some(action) = self.stop_the_world.drained() {
            self.stop_the_world_action(now, action);
        }
    }

    /// Executes what the stop-the-world protocol decided.
    fn stop_the_world_action(&mut self, now: SimTime, action: StopTheWorldAction) {
        let rpc = self.model.network.rpc_latency_us;
        match action {
            StopTheWorldAction::PauseSources => {
                for task in 0..self.tasks.len() {
                    if self.tasks[task].source.is_some() {
                        self.queue
                            .schedule_at(now.after_us(rpc), Event::PauseRpc { task: task as u32 });
                    }
                }
            }
            StopTheWorldAction::ResumeSources => {
                for task in 0..self.tasks.len() {
                    if self.tasks[task].source.is_some() {
                        self.queue
                            .schedule_at(now.after_us(rpc), Event::ResumeRpc { task: task as u32 });
                    }
                }
            }
            StopTheWorldAction::SnapshotEveryTask { checkpoint } => {
                self.snapshot_every_task(now, checkpoint)
            }
        }
    }

    /// Stop-the-world: every task that has not finished snapshots now, with nothing in flight.
    fn snapshot_every_task(&mut self, now: SimTime, checkpoint: u64) {
        let trigger_us = self.trigger_us(checkpoint);
        for task in 0..self.tasks.len() {
            if self.tasks[task].status == Status::Finished {
                continue;
            }
            let sync_us = self.sync_duration_us(task);
            self.tasks[task].snapshot_counter += 1;
            self.trace.push(DataflowEvent::SnapshotTaken {
                time: now,
                task: task as u32,
                checkpoint,
                unaligned: false,
            });
            let progress = SnapshotInProgress {
                snapshot: TaskSnapshot {
                    task,
                    operator_states: self.tasks[task].states.clone(),
                    input_channel_state: Vec::new(),
                    output_channel_state: Vec::new(),
                    unaligned: false,
                    pending_transactions: self.pre_commit(task, checkpoint),
                },
                stats: SubtaskCheckpointStats {
                    task: self.graph.tasks[task].name.clone(),
                    sync_duration_us: sync_us,
                    start_delay_us: now.as_micros().saturating_sub(trigger_us),
                    ..SubtaskCheckpointStats::default()
                },
                sync_end: None,
                needs_channel_state: false,
                channel_state_final: true,
                forgets_channel_state: false,
                outputs_pending: 0,
                state_uploaded: false,
                channel_uploaded: false,
                channel_upload_started: false,
                state_bytes_uploaded: 0,
            };
            self.tasks[task].snapshots.insert(checkpoint, progress);
            self.tasks[task].status = Status::Sync;
            self.tasks[task].syncing = Some(checkpoint);
            self.set_activity(now, task, Activity::Busy);
            self.queue.schedule_after(
                sync_us,
                Event::SyncDone {
                    task: task as u32,
                    checkpoint,
                },
            );
        }
    }

    // --------------------------------------------------------------------------------------------
    // Finishing

    fn finish_task(&mut self, now: SimTime, task: TaskIndex) {
        if self.tasks[task].status == Status::Finished {
            return;
        }
        self.end_data(now, task);
        self.set_activity(now, task, Activity::Idle);
        self.tasks[task].status = Status::Finished;
        self.running_tasks -= 1;
        // End of partition: consumers waiting for this producer to finish may finish now.
        for index in 0..self.tasks[task].outputs.len() {
            let consumer = self.channels[self.tasks[task].outputs[index]].to;
            self.wake(consumer);
        }
        self.trace.push(DataflowEvent::TaskFinished {
            time: now,
            task: task as u32,
        });
        if !self.tasks[task].finish_announced {
            self.tasks[task].finish_announced = true;
            let at = now.after_us(self.model.network.rpc_latency_us);
            self.queue
                .schedule_at(at, Event::TaskFinishedRpc { task: task as u32 });
        }
        // The job is finished when every task is — not while a failed region waits for its restart.
        if self.running_tasks == 0 && self.tasks.iter().all(|t| t.status == Status::Finished) {
            self.status = JobStatus::Finished {
                at_us: now.as_micros(),
            };
            self.stopped = true;
        }
    }

    /// A non-source task whose inputs have all ended, with nothing left in hand, ends its data
    /// and then finishes once allowed.
    fn maybe_finish(&mut self, now: SimTime, task: TaskIndex) {
        let t = &self.tasks[task];
        if t.source.is_some()
            || t.inputs.is_empty()
            || t.status != Status::Idle
            || t.reading.is_some()
            || t.in_hand.is_some()
            || !self.input_ended(task)
        {
            return;
        }
        self.end_data(now, task);
        self.try_finish(now, task);
    }

    /// End of data (Flink's `EndOfData`, FLIP-147): end-of-partition goes out behind the last
    /// record on every output. The task stays running: it still takes checkpoints, and barriers
    /// it sends later follow the end-of-partition marker.
    fn end_data(&mut self, now: SimTime, task: TaskIndex) {
        if std::mem::replace(&mut self.tasks[task].data_ended, true) {
            return;
        }
        if self.tasks.iter().all(|t| t.data_ended) {
            self.all_data_processed_us = Some(now.as_micros());
        }
        self.flush_outputs(now, task);
        for index in 0..self.tasks[task].outputs.len() {
            let channel = self.tasks[task].outputs[index];
            self.finish_buffer(now, channel);
            self.channels[channel]
                .sender
                .push_back(Item::EndOfPartition);
            self.after_enqueue(now, channel);
        }
    }

    /// A task whose data has ended finishes when (FLIP-147, `StreamTask.afterInvoke`) every
    /// consumer has processed all of its data, its mailbox is empty (a checkpoint trigger that
    /// arrived first is still performed), no snapshot of its own is still uploading, and —
    /// with checkpointing on — a checkpoint it took after its input ended has completed.
    fn try_finish(&mut self, now: SimTime, task: TaskIndex) {
        let t = &self.tasks[task];
        if !t.data_ended
            || t.status != Status::Idle
            || t.reading.is_some()
            || t.in_hand.is_some()
            || !t.mailbox.is_empty()
            || !t.snapshots.is_empty()
            || !t.outputs.iter().all(|&c| self.channels[c].finished)
            || !t.inputs.iter().all(|&c| self.input_released(c))
            || self.waits_for_final_checkpoint(task)
        {
            return;
        }
        self.finish_task(now, task);
    }

    /// Flink sends `EndOfData` when a producer's data ends but `EndOfPartition` only when it
    /// finishes, after its final checkpoint: barriers it sends in between still reach this task.
    /// So a consumer finishes only after every producer has, with nothing left in the channel.
    fn input_released(&self, channel: DataChannelIndex) -> bool {
        let c = &self.channels[channel];
        self.tasks[c.from].status == Status::Finished
            && c.sender.is_empty()
            && c.in_transit.is_empty()
            && c.receiver.is_empty()
    }

    /// Whether a task has seen all of its input: a bounded source has emitted its last record,
    /// any other task has seen end-of-partition on every input channel.
    fn input_ended(&self, task: TaskIndex) -> bool {
        let t = &self.tasks[task];
        match &t.source {
            Some(source) => source
                .limit
                .is_some_and(|limit| t.states[0].offset >= limit),
            None => t.inputs.iter().all(|&c| self.channels[c].finished),
        }
    }

    /// With checkpointing on, a task waits after its input ends for a checkpoint taken after its
    /// last record to complete (FLIP-147's final checkpoint): otherwise a two-phase-commit sink's
    /// last transaction would never be committed. Without checkpointing there is nothing to wait for.
    fn waits_for_final_checkpoint(&self, task: TaskIndex) -> bool {
        self.coordinator.is_some() && !self.tasks[task].final_checkpoint_done
    }

    fn finish(mut self) -> DataflowRun {
        let now = self.queue.now();
        // The flips below only close the time accounts; they are not activity.
        let activity_changes = std::mem::take(&mut self.activity_log);
        for task in 0..self.tasks.len() {
            let activity = self.tasks[task].activity;
            self.set_activity(
                now,
                task,
                if activity == Activity::Idle {
                    Activity::Busy
                } else {
                    Activity::Idle
                },
            );
        }
        let mut latencies = std::mem::take(&mut self.latencies_us);
        // Each percentile is an order statistic: selecting it is linear, sorting all is not.
        let mut percentile = |p: f64| -> u64 {
            if latencies.is_empty() {
                0
            } else {
                let rank = ((latencies.len() - 1) as f64 * p).round() as usize;
                *latencies.select_nth_unstable(rank).1
            }
        };
        let (latency_p50_us, latency_p90_us, latency_p99_us, latency_max_us) = (
            percentile(0.5),
            percentile(0.9),
            percentile(0.99),
            percentile(1.0),
        );
        let duration_s = now.as_micros().max(1) as f64 / 1e6;
        let metrics = JobMetrics {
            records_emitted: self.records_emitted,
            records_at_sinks: self.records_at_sinks,
            all_data_processed_us: self.all_data_processed_us,
            throughput_bucket_us: self.model.throughput_bucket_us,
            sink_records_per_bucket: std::mem::take(&mut self.sink_buckets),
            sink_records_per_s: self.records_at_sinks as f64 / duration_s,
            latency_p50_us,
            latency_p90_us,
            latency_p99_us,
            latency_max_us,
            tasks: self.tasks.iter().map(|t| t.metrics.clone()).collect(),
        };
        let mut checkpoints: Vec<CheckpointStats> =
            std::mem::take(&mut self.stats).into_values().collect();
        let terminal = !matches!(self.status, JobStatus::Running);
        for stats in &mut checkpoints {
            if stats.status == CheckpointStatus::InProgress {
                stats.aggregate();
                if terminal {
                    // The job is over: Flink's coordinator shuts down and discards what is pending.
                    stats.status = CheckpointStatus::Failed;
                    stats.failure_reason = Some("CHECKPOINT_COORDINATOR_SHUTDOWN".into());
                }
            }
        }
        let recoveries = self.finish_recovery_stats();
        let end_us = now.as_micros();
        for sink in &mut self.sinks {
            sink.close(end_us);
        }
        DataflowRun {
            recoveries,
            activity: activity_changes,
            sinks: std::mem::take(&mut self.sinks),
            trace: self.trace,
            checkpoints,
            completed: self.completed,
            metrics,
            status: self.status,
            end_time: now,
            events_processed: self.queue.popped_total(),
            final_states: self.tasks.iter().map(|t| t.states.clone()).collect(),
            graph: self.graph,
        }
    }
}
