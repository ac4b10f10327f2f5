//! Every interleaving of a small Flink job's checkpoint, checked: the barrier handlers, input
//! channel recordings and two-phase-commit rule of the simulator, driven over every order of the
//! job's steps instead of by a clock.
//!
//! **The job.** `S` sources of `R` records each (record ids `s·R + i`, read in order) feed one
//! keyed task over one channel each; the keyed task feeds a two-phase-commit sink over one more
//! channel. The coordinator triggers up to `C` checkpoints, one at a time (Flink's default
//! `max-concurrent-checkpoints: 1`); the job may crash once, anywhere, and restore the latest
//! completed checkpoint (or, for the broken `restore_from_pending`, the pending one as far as
//! its tasks acknowledged it).
//!
//! **The steps** (each one action; any enabled one may come next): the coordinator triggers the
//! next checkpoint; its trigger RPC reaches a source; a source emits its next record; the head of a
//! channel's wire *arrives* in the receiver's input queue; the task *reads* its next item from an
//! input (a priority barrier first, and only from an input its handler has not blocked); an
//! acknowledgement RPC reaches the coordinator; a `notifyCheckpointComplete` reaches the sink; for
//! aligned-with-timeout the checkpoint's `aligned-checkpoint-timeout` passes, and then each task's
//! alignment timer fires; the job crashes.
//!
//! **What the abstraction keeps**: every order of sends, arrivals and reads on every channel
//! (arrival and reading are separate steps, as on a channel between task managers, which is where
//! the recording of channel state can go wrong); blocking; barriers overtaking queued records
//! (priority barriers) and the records they overtake becoming output channel state; which records
//! each snapshot holds, by id; transactions pre-committed at the sink's snapshot and committed on
//! the completion notice or on restore. **What it drops**: time (a timeout is a step that may
//! come at any point after the trigger), CPU, buffer boundaries (a buffer is one record),
//! backpressure (channels are unbounded; records are few), the asynchronous upload (a snapshot
//! is acknowledged as soon as its channel state is complete), declines and checkpoint failures
//! (nothing fails but the one crash), and the end of input (sources stop emitting; the final
//! checkpoint of FLIP-147 that would commit the last transaction is assumed, not explored).
//!
//! **What is checked.** At every completed checkpoint, prefix consistency: the keyed task's
//! state plus the channel state on its inputs holds exactly the records before each source's
//! recorded offset (exactly-once modes; for at-least-once, at least those), and the sink's output
//! plus the channel state in front of it holds exactly what the keyed task's snapshot had
//! processed. At a crash that restores something other than a completed checkpoint, the same
//! check of the restored cut. In every final state — nothing left to do — the output a read-committed reader
//! sees, with the last open transaction committed by the final checkpoint, holds every record
//! exactly once (at least once for at-least-once checkpoints).
//!
//! Nothing here re-implements the protocol: what the coordinator decides (trigger ids, when a
//! checkpoint is complete — all `S + 2` tasks acknowledged —, what a crash aborts) comes from
//! [`Coordinator`], what a task decides from [`TaskBarrierHandler`], [`InputChannelRecording`]
//! and [`CommitRule`], and what a restart restores from [`RestoreRule`]: the state machines the
//! simulation world drives. The coordinator runs at time zero throughout (time disappears), so
//! its interval, min-pause and timeout play no part.

pub mod schedule;

use super::TransitionSystem;
use crate::checkpoint::CheckpointConfig;
use crate::checkpoint::barrier::channel_persister::InputChannelRecording;
use crate::checkpoint::barrier::{
    Action, Barrier, CheckpointId, HandleBarriers, Input, SnapshotKind, TaskBarrierHandler,
};
use crate::checkpoint::coordinator::{AbortReason, AckOutcome, Coordinator, TriggerDecision};
use crate::checkpoint::restore::{RestoreRule, TaskPart};
use crate::checkpoint::two_phase_commit::{CommitAction, CommitRule};
use crate::checkpoint::{DataflowVariant, SnapshotProtocol};
use crate::engine::SimTime;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

/// A record's id: `source · records_per_source + index`.
pub type RecordId = u8;

/// The job explored and how it checkpoints.
#[derive(Clone, Debug, PartialEq)]
pub struct DataflowJob {
    /// Sources (`S`), each with one channel to the keyed task.
    pub sources: usize,
    /// Records each source emits (`R`).
    pub records_per_source: u8,
    /// Checkpoints the coordinator triggers, one at a time (`C`).
    pub checkpoints: u64,
    /// May the job crash once (anywhere) and restore the latest completed checkpoint?
    pub crash: bool,
    /// The barrier handlers' protocol.
    pub protocol: SnapshotProtocol,
    /// A deliberately broken variant, or [`DataflowVariant::Correct`].
    pub variant: DataflowVariant,
}

impl DataflowJob {
    /// The variants whose rules the explorer drives (the others are about parts it does not
    /// model: which checkpoint a restart restores is always the latest completed one here).
    pub const VARIANTS: [DataflowVariant; 7] = [
        DataflowVariant::Correct,
        DataflowVariant::NoAlignment,
        DataflowVariant::UnalignedForgetsChannelState,
        DataflowVariant::ForwardBarrierEarly,
        DataflowVariant::CommitAtPreCommit,
        DataflowVariant::RestoreFromPending,
        DataflowVariant::RecordingPastTheBarrier,
    ];

    /// Checks the job is small enough to explore and the variant one the explorer drives.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=4).contains(&self.sources) {
            return Err(format!("{} sources: 1 to 4", self.sources));
        }
        if !(1..=8).contains(&self.records_per_source) {
            return Err(format!(
                "{} records per source: 1 to 8",
                self.records_per_source
            ));
        }
        if !(1..=4).contains(&self.checkpoints) {
            return Err(format!("{} checkpoints: 1 to 4", self.checkpoints));
        }
        if matches!(self.protocol, SnapshotProtocol::StopTheWorld) {
            return Err("stop-the-world checkpoints send no barriers: nothing to explore".into());
        }
        if !Self::VARIANTS.contains(&self.variant) {
            return Err(format!(
                "the variant {:?} is not one this explorer drives",
                self.variant
            ));
        }
        Ok(())
    }

    /// Does the protocol promise exactly-once state?
    fn exactly_once(&self) -> bool {
        self.protocol.is_exactly_once()
    }

    fn keyed(&self) -> usize {
        self.sources
    }

    fn sink(&self) -> usize {
        self.sources + 1
    }

    fn tasks(&self) -> usize {
        self.sources + 2
    }

    /// The channel from the keyed task to the sink (channels `0..S` come from the sources).
    fn sink_channel(&self) -> usize {
        self.sources
    }

    /// A task's input channels, in input order.
    fn inputs(&self, task: usize) -> Vec<usize> {
        if task == self.keyed() {
            (0..self.sources).collect()
        } else if task == self.sink() {
            vec![self.sink_channel()]
        } else {
            Vec::new()
        }
    }

    /// A task's output channel, if it has one.
    fn output(&self, task: usize) -> Option<usize> {
        if task < self.sources {
            Some(task)
        } else if task == self.keyed() {
            Some(self.sink_channel())
        } else {
            None
        }
    }

    /// The receiving task of a channel and the input it is there.
    fn receiver(&self, channel: usize) -> (usize, usize) {
        if channel < self.sources {
            (self.keyed(), channel)
        } else {
            (self.sink(), 0)
        }
    }

    fn sender(&self, channel: usize) -> usize {
        if channel < self.sources {
            channel
        } else {
            self.keyed()
        }
    }

    fn handler(&self, task: usize) -> TaskBarrierHandler {
        TaskBarrierHandler::new(self.protocol, self.variant, self.inputs(task).len())
    }

    /// The coordinator's settings: Flink's defaults where time has no part (one checkpoint at a
    /// time, no min-pause, no failures tolerated); time disappears, so the interval and the
    /// timeout play no part.
    fn coordinator_config(&self) -> CheckpointConfig {
        CheckpointConfig {
            interval_us: 0,
            protocol: self.protocol,
            min_pause_us: 0,
            max_concurrent: 1,
            timeout_us: u64::MAX,
            tolerable_failed: 0,
            num_retained: 1,
        }
    }

    fn restore_rule(&self) -> RestoreRule {
        if self.variant == DataflowVariant::RestoreFromPending {
            RestoreRule::NewestPending
        } else {
            RestoreRule::LatestCompleted
        }
    }

    fn commit_rule(&self) -> CommitRule {
        if self.variant == DataflowVariant::CommitAtPreCommit {
            CommitRule::AtPreCommit
        } else {
            CommitRule::OnCompletion
        }
    }

    fn task_name(&self, task: usize) -> String {
        if task < self.sources {
            format!("source[{task}]")
        } else if task == self.keyed() {
            "keyed".into()
        } else {
            "sink".into()
        }
    }

    fn channel_name(&self, channel: usize) -> String {
        let (to, _) = self.receiver(channel);
        format!(
            "{}→{}",
            self.task_name(self.sender(channel)),
            self.task_name(to)
        )
    }

    fn record_name(&self, id: RecordId) -> String {
        let r = self.records_per_source;
        format!("r{}.{}", id / r, id % r)
    }
}

/// What travels on a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    /// A record; `replayed` when it came back from a restored checkpoint's channel state.
    Record {
        /// Which record.
        id: RecordId,
        /// Restored channel state, replayed ahead of everything sent since.
        replayed: bool,
    },
    /// A checkpoint barrier (priority: it overtook the records queued before it).
    Barrier {
        /// Its checkpoint.
        checkpoint: CheckpointId,
        /// A priority (unaligned) barrier.
        priority: bool,
    },
    /// A cancellation marker of a checkpoint.
    Cancel {
        /// Its checkpoint.
        checkpoint: CheckpointId,
    },
}

/// One channel: what is on the wire (in the sender's output and in transit), and what has
/// arrived in the receiver's input queue, unread.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Channel {
    /// Sent, not arrived, oldest first.
    pub wire: VecDeque<Item>,
    /// Arrived, not read, oldest first (a priority barrier is read before the rest).
    pub arrived: VecDeque<Item>,
    /// The receiving input's recording of channel state.
    pub recording: InputChannelRecording,
    /// The receiver's handler blocked this input.
    pub blocked: bool,
    /// How many items at the head of `arrived` a priority barrier that was read had overtaken:
    /// they were sent before it, so they belong to its checkpoint's input channel state.
    pub ahead_of_read_barrier: u8,
}

/// One task's snapshot of one checkpoint, as far as it has got.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Snapshot {
    /// A source's offset: the records before it are in the checkpoint's prefix.
    pub offset: u8,
    /// The keyed task's state: the records it had processed (sorted).
    pub state: Vec<RecordId>,
    /// The sink's output so far, committed or pre-committed (sorted).
    pub output: Vec<RecordId>,
    /// The sink's transactions still waiting for a commit (their checkpoint ids).
    pub pending_transactions: Vec<CheckpointId>,
    /// Input channel state, per input.
    pub input_channel_state: Vec<Vec<RecordId>>,
    /// Output channel state: records a priority barrier overtook on the output.
    pub output_channel_state: Vec<RecordId>,
    /// The snapshot drops its channel state (the broken variant).
    pub forgets_channel_state: bool,
    /// Its channel state is complete (an aligned snapshot has none).
    pub channel_state_final: bool,
    /// Outputs whose barrier is still queued for a conversion at the timeout.
    pub outputs_pending: u8,
    /// Acknowledged to the coordinator.
    pub acknowledged: bool,
}

/// One task: its handler, its snapshots under way, its timers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Task {
    /// The barrier handler (the simulator's).
    pub handler: TaskBarrierHandler,
    /// Snapshots of checkpoints not yet completed.
    pub snapshots: BTreeMap<CheckpointId, Snapshot>,
    /// Alignment timers started, not fired.
    pub timers: Vec<CheckpointId>,
    /// Checkpoints whose stuck output barriers convert when their timeout passes.
    pub convert_at_timeout: Vec<CheckpointId>,
    /// A source: the trigger RPC on its way.
    pub trigger: Option<CheckpointId>,
}

/// One task's snapshot as the restore rule handles it: (task, snapshot).
#[derive(Clone, Debug)]
struct Part((usize, Snapshot));

impl TaskPart for Part {
    fn task(&self) -> usize {
        self.0.0
    }
}

/// A completed checkpoint: every task's snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Completed {
    /// Its id.
    pub id: CheckpointId,
    /// Per task.
    pub snapshots: Vec<Snapshot>,
}

/// A global state of the job.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JobState {
    /// Per source: the next record's index.
    pub offsets: Vec<u8>,
    /// The keyed task's state: records processed (sorted).
    pub keyed: Vec<RecordId>,
    /// The sink's open transaction.
    pub open: Vec<RecordId>,
    /// Pre-committed transactions (by checkpoint), not yet committed.
    pub transactions: Vec<(CheckpointId, Vec<RecordId>)>,
    /// What a read-committed reader sees (sorted).
    pub committed: Vec<RecordId>,
    /// Per task.
    pub tasks: Vec<Task>,
    /// Per channel.
    pub channels: Vec<Channel>,
    /// Acknowledgements on their way to the coordinator: (task, checkpoint), sorted.
    pub acks: Vec<(u8, CheckpointId)>,
    /// `notifyCheckpointComplete` on its way to the sink, sorted.
    pub notices: Vec<CheckpointId>,
    /// The checkpoint coordinator (the simulator's): what is pending and who acknowledged it.
    pub coordinator: CoordinatorState,
    /// Checkpoints whose `aligned-checkpoint-timeout` has passed.
    pub timed_out: Vec<CheckpointId>,
    /// The latest completed checkpoint.
    pub completed: Option<Completed>,
    /// The job has crashed (and restored).
    pub crashed: bool,
    /// A rule broken while getting here (found when a checkpoint completed).
    pub broken: Option<String>,
}

/// The simulator's [`Coordinator`], told apart by its progress (its settings are the same in
/// every state of one search).
#[derive(Clone, Debug)]
pub struct CoordinatorState(pub Coordinator);

impl PartialEq for CoordinatorState {
    fn eq(&self, other: &Self) -> bool {
        self.0.progress() == other.0.progress()
    }
}

impl Eq for CoordinatorState {}

impl Hash for CoordinatorState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.progress().hash(state);
    }
}

impl JobState {
    /// Checkpoints triggered so far (the coordinator numbers them 1, 2, …).
    pub fn triggered(&self) -> u64 {
        self.coordinator.0.progress().0 - 1
    }

    /// The checkpoint pending at the coordinator, and which tasks have acknowledged it (a bit
    /// each).
    pub fn pending(&self) -> Option<(CheckpointId, u32)> {
        let coordinator = &self.coordinator.0;
        let id = coordinator.pending_ids().next()?;
        let awaiting = &coordinator.pending(id).expect("pending").awaiting;
        let acked = (0..self.tasks.len())
            .filter(|t| !awaiting.contains(t))
            .fold(0u32, |bits, t| bits | (1 << t));
        Some((id, acked))
    }
}

/// One step of the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// The coordinator triggers the next checkpoint.
    Trigger,
    /// The trigger RPC reaches a source.
    TriggerArrives {
        /// The source.
        source: u8,
    },
    /// A source emits its next record.
    Emit {
        /// The source.
        source: u8,
    },
    /// The head of a channel's wire arrives at the receiver.
    Arrive {
        /// The channel.
        channel: u8,
    },
    /// The receiver reads its next item from a channel.
    Read {
        /// The channel.
        channel: u8,
    },
    /// A checkpoint's `aligned-checkpoint-timeout` passes.
    TimeoutPasses {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// A task's alignment timer fires.
    TimerFires {
        /// The task.
        task: u8,
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// An acknowledgement reaches the coordinator.
    AckArrives {
        /// The task.
        task: u8,
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// `notifyCheckpointComplete` reaches the sink.
    NoticeArrives {
        /// The checkpoint.
        checkpoint: CheckpointId,
    },
    /// Every task fails; the job restores the latest completed checkpoint.
    Crash,
}

/// The transition system of a [`DataflowJob`].
#[derive(Clone, Debug)]
pub struct DataflowSystem {
    job: DataflowJob,
}

impl DataflowSystem {
    /// The system of `job` (see [`DataflowJob::validate`]).
    pub fn new(job: DataflowJob) -> Result<DataflowSystem, String> {
        job.validate()?;
        Ok(DataflowSystem { job })
    }

    /// The job.
    pub fn job(&self) -> &DataflowJob {
        &self.job
    }

    fn fresh_channel(&self) -> Channel {
        Channel {
            wire: VecDeque::new(),
            arrived: VecDeque::new(),
            recording: InputChannelRecording::new(
                self.job.variant == DataflowVariant::RecordingPastTheBarrier,
            ),
            blocked: false,
            ahead_of_read_barrier: 0,
        }
    }

    fn fresh_task(&self, task: usize) -> Task {
        Task {
            handler: self.job.handler(task),
            snapshots: BTreeMap::new(),
            timers: Vec::new(),
            convert_at_timeout: Vec::new(),
            trigger: None,
        }
    }

    /// Has the job anything left to do besides crashing?
    fn busy(&self, state: &JobState) -> bool {
        let mut steps = Vec::new();
        self.steps(state, &mut steps, false);
        !steps.is_empty()
    }

    fn steps(&self, state: &JobState, steps: &mut Vec<Step>, with_crash: bool) {
        let job = &self.job;
        if state.coordinator.0.pending_count() == 0 && state.triggered() < job.checkpoints {
            steps.push(Step::Trigger);
        }
        for (source, task) in state.tasks.iter().enumerate().take(job.sources) {
            if task.trigger.is_some() {
                steps.push(Step::TriggerArrives {
                    source: source as u8,
                });
            }
        }
        for source in 0..job.sources {
            if state.offsets[source] < job.records_per_source {
                steps.push(Step::Emit {
                    source: source as u8,
                });
            }
        }
        for (index, channel) in state.channels.iter().enumerate() {
            if !channel.wire.is_empty() {
                steps.push(Step::Arrive {
                    channel: index as u8,
                });
            }
            if next_readable(channel).is_some() {
                steps.push(Step::Read {
                    channel: index as u8,
                });
            }
        }
        if let Some((checkpoint, _)) = state.pending()
            && matches!(job.protocol, SnapshotProtocol::AlignedWithTimeout { .. })
            && !state.timed_out.contains(&checkpoint)
        {
            steps.push(Step::TimeoutPasses { checkpoint });
        }
        for (index, task) in state.tasks.iter().enumerate() {
            for &checkpoint in &task.timers {
                if state.timed_out.contains(&checkpoint) {
                    steps.push(Step::TimerFires {
                        task: index as u8,
                        checkpoint,
                    });
                }
            }
        }
        for &(task, checkpoint) in &state.acks {
            steps.push(Step::AckArrives { task, checkpoint });
        }
        for &checkpoint in &state.notices {
            steps.push(Step::NoticeArrives { checkpoint });
        }
        if with_crash && job.crash && !state.crashed && !steps.is_empty() {
            steps.push(Step::Crash);
        }
    }

    /// Tells `task`'s handler of `input` and executes what it decides.
    fn handle(&self, state: &mut JobState, task: usize, input: Input) {
        let mut actions = Vec::new();
        state.tasks[task].handler.handle(input, &mut actions);
        for action in actions {
            self.execute(state, task, action);
        }
        let checkpoints: Vec<CheckpointId> = state.tasks[task].snapshots.keys().copied().collect();
        for checkpoint in checkpoints {
            maybe_acknowledge(state, task, checkpoint);
        }
    }

    /// Executes one of a handler's actions (what the simulation world does, without time).
    fn execute(&self, state: &mut JobState, task: usize, action: Action) {
        let job = &self.job;
        match action {
            Action::Block { input } => state.channels[job.inputs(task)[input]].blocked = true,
            Action::Unblock { input } => state.channels[job.inputs(task)[input]].blocked = false,
            Action::TakeSnapshot {
                checkpoint,
                kind,
                forget_channel_state,
            } => self.take_snapshot(state, task, checkpoint, kind, forget_channel_state),
            Action::ForwardBarrier {
                checkpoint,
                priority,
            } => {
                let Some(output) = job.output(task) else {
                    return;
                };
                let barrier = Item::Barrier {
                    checkpoint,
                    priority,
                };
                let channel = &mut state.channels[output];
                if priority {
                    let overtaken: Vec<RecordId> =
                        channel.wire.iter().filter_map(record_id).collect();
                    channel.wire.push_front(barrier);
                    persist(state, task, checkpoint, None, &overtaken);
                } else {
                    channel.wire.push_back(barrier);
                }
            }
            Action::ConvertStuckBarriersAtTimeout { checkpoint } => {
                let stuck = job.output(task).is_some_and(|output| {
                    state.channels[output].wire.iter().any(
                        |i| matches!(i, Item::Barrier { checkpoint: c, .. } if *c == checkpoint),
                    )
                });
                if let Some(snapshot) = state.tasks[task].snapshots.get_mut(&checkpoint) {
                    snapshot.outputs_pending = u8::from(stuck);
                }
                if state.timed_out.contains(&checkpoint) {
                    convert_stuck_barriers(job, state, task, checkpoint);
                } else {
                    state.tasks[task].convert_at_timeout.push(checkpoint);
                }
            }
            Action::PersistInputs {
                checkpoint,
                awaiting,
            } => {
                for (position, channel_index) in job.inputs(task).into_iter().enumerate() {
                    let channel = &state.channels[channel_index];
                    let barrier_at = channel.arrived.iter().position(
                        |i| matches!(i, Item::Barrier { checkpoint: c, .. } if *c == checkpoint),
                    );
                    let waiting = awaiting.contains(&position);
                    // Ahead of the barrier: what arrived before it (all that arrived, if it has
                    // not); on an input whose barrier was read, what that (priority) barrier
                    // overtook. Replayed channel state precedes everything sent since.
                    let overtaken = usize::from(channel.ahead_of_read_barrier);
                    let ahead: Vec<RecordId> = channel
                        .arrived
                        .iter()
                        .enumerate()
                        .filter_map(|(at, item)| match *item {
                            Item::Record { id, replayed } => {
                                let before = if waiting {
                                    barrier_at.is_none_or(|b| at < b)
                                } else {
                                    at < overtaken
                                };
                                (replayed || before).then_some(id)
                            }
                            _ => None,
                        })
                        .collect();
                    persist(state, task, checkpoint, Some(position), &ahead);
                    if waiting {
                        state.channels[channel_index]
                            .recording
                            .start(checkpoint, barrier_at.is_some());
                    }
                }
            }
            Action::StopPersisting { checkpoint } => {
                for channel in job.inputs(task) {
                    state.channels[channel].recording.stop(checkpoint);
                }
            }
            Action::StartAlignmentTimer { checkpoint } => {
                state.tasks[task].timers.push(checkpoint);
                state.tasks[task].timers.sort_unstable();
            }
            Action::AlignmentComplete { checkpoint } => {
                if let Some(snapshot) = state.tasks[task].snapshots.get_mut(&checkpoint) {
                    snapshot.channel_state_final = true;
                }
            }
            Action::Decline { checkpoint, .. } => {
                // Nothing here declines (no decline faults, no storage failures); were it to,
                // the coordinator would abort the checkpoint.
                state
                    .coordinator
                    .0
                    .abort(checkpoint, AbortReason::CheckpointDeclined);
            }
            Action::ForwardCancel { checkpoint } => {
                if let Some(output) = job.output(task) {
                    state.channels[output]
                        .wire
                        .push_back(Item::Cancel { checkpoint });
                }
            }
            Action::DiscardSnapshot { checkpoint } => {
                state.tasks[task].snapshots.remove(&checkpoint);
            }
            Action::Abandoned { .. } => {}
        }
    }

    fn take_snapshot(
        &self,
        state: &mut JobState,
        task: usize,
        checkpoint: CheckpointId,
        kind: SnapshotKind,
        forget_channel_state: bool,
    ) {
        let job = &self.job;
        let mut snapshot = Snapshot {
            input_channel_state: vec![Vec::new(); job.inputs(task).len()],
            forgets_channel_state: forget_channel_state,
            channel_state_final: !kind.records_channel_state(),
            ..Snapshot::default()
        };
        if task < job.sources {
            snapshot.offset = state.offsets[task];
        } else if task == job.keyed() {
            snapshot.state = state.keyed.clone();
        } else {
            for action in job.commit_rule().snapshot(checkpoint) {
                sink_commit_action(state, action);
            }
            snapshot.pending_transactions = state.transactions.iter().map(|t| t.0).collect();
            snapshot.output = state.committed.clone();
            for (_, records) in &state.transactions {
                snapshot.output.extend_from_slice(records);
            }
            snapshot.output.sort_unstable();
        }
        state.tasks[task].snapshots.insert(checkpoint, snapshot);
    }

    fn apply_step(&self, state: &mut JobState, step: Step) {
        let job = &self.job;
        match step {
            Step::Trigger => {
                // The periodic timer fires (time disappears: whenever nothing is pending). Ids
                // count every trigger, across a restore: 1, 2, …
                let tasks = job.tasks();
                let decision = state
                    .coordinator
                    .0
                    .request_periodic(SimTime::ZERO, || (0..tasks).collect());
                let TriggerDecision::Trigger { id } = decision else {
                    unreachable!("nothing is pending and there is no min-pause: {decision:?}")
                };
                for source in 0..job.sources {
                    state.tasks[source].trigger = Some(id);
                }
            }
            Step::TriggerArrives { source } => {
                let source = source as usize;
                if let Some(checkpoint) = state.tasks[source].trigger.take() {
                    self.handle(
                        state,
                        source,
                        Input::Trigger {
                            checkpoint,
                            savepoint: false,
                        },
                    );
                }
            }
            Step::Emit { source } => {
                let s = source as usize;
                let id = source * job.records_per_source + state.offsets[s];
                state.offsets[s] += 1;
                state.channels[s].wire.push_back(Item::Record {
                    id,
                    replayed: false,
                });
            }
            Step::Arrive { channel } => {
                let c = channel as usize;
                let Some(item) = state.channels[c].wire.pop_front() else {
                    return;
                };
                let (to, input) = job.receiver(c);
                match item {
                    Item::Record { id, .. } => {
                        if let Some(checkpoint) = state.channels[c].recording.recording() {
                            persist(state, to, checkpoint, Some(input), &[id]);
                        }
                    }
                    Item::Barrier {
                        checkpoint,
                        priority,
                    } => {
                        state.channels[c]
                            .recording
                            .barrier_arrived(checkpoint, priority);
                        // An ordinary barrier left its sender's queue: one output fewer to
                        // wait for before an aligned-with-timeout snapshot is complete.
                        let from = job.sender(c);
                        if !priority
                            && let Some(snapshot) = state.tasks[from].snapshots.get_mut(&checkpoint)
                            && snapshot.outputs_pending > 0
                        {
                            snapshot.outputs_pending -= 1;
                            maybe_acknowledge(state, from, checkpoint);
                        }
                    }
                    Item::Cancel { .. } => {}
                }
                state.channels[c].arrived.push_back(item);
            }
            Step::Read { channel } => {
                let c = channel as usize;
                let Some(at) = next_readable(&state.channels[c]) else {
                    return;
                };
                let channel_state = &mut state.channels[c];
                let item = channel_state.arrived.remove(at).expect("readable");
                channel_state.ahead_of_read_barrier = if at > 0 {
                    at as u8
                } else {
                    channel_state.ahead_of_read_barrier.saturating_sub(1)
                };
                let (task, input) = job.receiver(c);
                match item {
                    Item::Record { id, .. } => {
                        if task == job.keyed() {
                            insert_sorted(&mut state.keyed, id);
                            state.channels[job.sink_channel()]
                                .wire
                                .push_back(Item::Record {
                                    id,
                                    replayed: false,
                                });
                        } else {
                            state.open.push(id);
                        }
                    }
                    Item::Barrier {
                        checkpoint,
                        priority,
                    } => {
                        state.channels[c].recording.barrier_read(checkpoint);
                        let timed_out = state.timed_out.contains(&checkpoint);
                        self.handle(
                            state,
                            task,
                            Input::Barrier {
                                input,
                                barrier: Barrier {
                                    checkpoint,
                                    priority,
                                    savepoint: false,
                                    timed_out,
                                },
                            },
                        );
                    }
                    Item::Cancel { checkpoint } => {
                        self.handle(state, task, Input::CancelMarker { checkpoint })
                    }
                }
            }
            Step::TimeoutPasses { checkpoint } => {
                insert_sorted(&mut state.timed_out, checkpoint);
                for task in 0..job.tasks() {
                    if let Some(at) = state.tasks[task]
                        .convert_at_timeout
                        .iter()
                        .position(|&c| c == checkpoint)
                    {
                        state.tasks[task].convert_at_timeout.remove(at);
                        convert_stuck_barriers(job, state, task, checkpoint);
                        maybe_acknowledge(state, task, checkpoint);
                    }
                }
            }
            Step::TimerFires { task, checkpoint } => {
                let task = task as usize;
                state.tasks[task].timers.retain(|&c| c != checkpoint);
                self.handle(state, task, Input::AlignmentTimerFired { checkpoint });
            }
            Step::AckArrives { task, checkpoint } => {
                state.acks.retain(|&a| a != (task, checkpoint));
                let outcome =
                    state
                        .coordinator
                        .0
                        .acknowledge(SimTime::ZERO, task as usize, checkpoint);
                if let AckOutcome::Completed { .. } = outcome {
                    self.complete(state, checkpoint);
                }
            }
            Step::NoticeArrives { checkpoint } => {
                state.notices.retain(|&c| c != checkpoint);
                for action in job.commit_rule().checkpoint_complete(checkpoint) {
                    sink_commit_action(state, action);
                }
            }
            Step::Crash => self.crash(state),
        }
    }

    /// Every task acknowledged `checkpoint`: it is complete. Checks prefix consistency.
    fn complete(&self, state: &mut JobState, checkpoint: CheckpointId) {
        let snapshots: Vec<Snapshot> = state
            .tasks
            .iter_mut()
            .map(|t| {
                let snapshot = t.snapshots.remove(&checkpoint).unwrap_or_default();
                t.snapshots.retain(|&c, _| c > checkpoint);
                snapshot
            })
            .collect();
        if state.broken.is_none() {
            state.broken = self.check_prefixes(checkpoint, &snapshots);
        }
        state.completed = Some(Completed {
            id: checkpoint,
            snapshots,
        });
        insert_sorted(&mut state.notices, checkpoint);
    }

    /// Prefix consistency of a completed checkpoint (see the module documentation).
    fn check_prefixes(&self, checkpoint: CheckpointId, snapshots: &[Snapshot]) -> Option<String> {
        self.check_cut(&format!("checkpoint {checkpoint} completed"), snapshots)
    }

    /// Prefix consistency of one snapshot per task, `what` saying whose (for the message).
    fn check_cut(&self, what: &str, snapshots: &[Snapshot]) -> Option<String> {
        let job = &self.job;
        let r = job.records_per_source;
        let mut prefix: Vec<RecordId> = (0..job.sources)
            .flat_map(|s| (0..snapshots[s].offset).map(move |i| s as u8 * r + i))
            .collect();
        prefix.sort_unstable();
        let keyed = &snapshots[job.keyed()];
        let mut held = keyed.state.clone();
        held.extend(keyed.input_channel_state.iter().flatten());
        for snapshot in &snapshots[..job.sources] {
            held.extend_from_slice(&snapshot.output_channel_state);
        }
        held.sort_unstable();
        let names = |ids: &[RecordId]| {
            ids.iter()
                .map(|&id| job.record_name(id))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if job.exactly_once() {
            if held != prefix {
                return Some(format!(
                    "prefix_consistency: {what} with the keyed task holding [{}] (state [{}] plus channel state) where the sources' offsets say [{}]",
                    names(&held),
                    names(&keyed.state),
                    names(&prefix)
                ));
            }
            let sink = &snapshots[job.sink()];
            let mut output = sink.output.clone();
            output.extend(sink.input_channel_state.iter().flatten());
            output.extend_from_slice(&keyed.output_channel_state);
            output.sort_unstable();
            if output != keyed.state {
                return Some(format!(
                    "prefix_consistency: {what} with the sink's output and channel state [{}] where the keyed task's snapshot had processed [{}]",
                    names(&output),
                    names(&keyed.state)
                ));
            }
        } else if let Some(&missing) = prefix.iter().find(|id| !held.contains(id)) {
            return Some(format!(
                "at-least-once: {what} without {} although its source's offset is past it: it would be lost on restore",
                job.record_name(missing)
            ));
        }
        None
    }

    /// Every task fails; the job restores what its [`RestoreRule`] chooses — Flink's, the latest
    /// completed checkpoint; the broken `restore_from_pending`, the pending checkpoint's
    /// acknowledged snapshots with the completed one's for the other tasks (the simulator's rule,
    /// the same code): sources rewind to its offsets, the keyed task takes its state, channel
    /// state is replayed ahead of everything else, and the sink commits the transactions the
    /// checkpoint holds and aborts the rest. A restored cut that is not a completed checkpoint is
    /// checked for prefix consistency right there.
    fn crash(&self, state: &mut JobState) {
        let job = &self.job;
        state.crashed = true;
        let rule = job.restore_rule();
        let latest: Option<(CheckpointId, Vec<Part>)> = state.completed.as_ref().map(|c| {
            (
                c.id,
                c.snapshots.iter().cloned().enumerate().map(Part).collect(),
            )
        });
        // What the coordinator had collected of the pending checkpoint (acknowledged snapshots).
        let pending = match state.pending() {
            Some((id, acked)) if rule.keeps_pending() && acked != 0 => Some((
                id,
                (0..job.tasks())
                    .filter(|&t| acked & (1 << t) != 0)
                    .filter_map(|t| {
                        state.tasks[t]
                            .snapshots
                            .get(&id)
                            .map(|s| Part((t, s.clone())))
                    })
                    .collect(),
            )),
            _ => None,
        };
        let (restored_id, parts) = rule.restore(
            latest.as_ref().map(|(id, parts)| (*id, &parts[..])),
            pending,
        );
        let mut by_task: Vec<Option<Snapshot>> = vec![None; job.tasks()];
        for Part((task, snapshot)) in parts {
            by_task[task] = Some(snapshot);
        }
        if let Some(id) = restored_id
            && latest
                .as_ref()
                .is_none_or(|(completed, _)| *completed != id)
            && state.broken.is_none()
        {
            let cut: Vec<Snapshot> = (0..job.tasks())
                .map(|t| {
                    by_task[t].clone().unwrap_or_else(|| Snapshot {
                        input_channel_state: vec![Vec::new(); job.inputs(t).len()],
                        ..Snapshot::default()
                    })
                })
                .collect();
            state.broken = self.check_cut(&format!("the restore of pending checkpoint {id}"), &cut);
        }
        let snapshot = |task: usize| by_task[task].as_ref();
        for source in 0..job.sources {
            state.offsets[source] = snapshot(source).map_or(0, |s| s.offset);
        }
        state.keyed = snapshot(job.keyed()).map_or_else(Vec::new, |s| s.state.clone());
        let pending =
            snapshot(job.sink()).map_or_else(Vec::new, |s| s.pending_transactions.clone());
        for id in pending {
            commit(state, id);
        }
        state.transactions.clear();
        state.open.clear();
        for (index, task) in state.tasks.iter_mut().enumerate() {
            *task = self.fresh_task(index);
        }
        for channel in 0..state.channels.len() {
            state.channels[channel] = self.fresh_channel();
            let (to, input) = job.receiver(channel);
            let from = job.sender(channel);
            let replay = |ids: &[RecordId]| {
                ids.iter()
                    .map(|&id| Item::Record { id, replayed: true })
                    .collect::<VecDeque<Item>>()
            };
            if let Some(sender) = snapshot(from) {
                state.channels[channel].wire = replay(&sender.output_channel_state);
            }
            if let Some(receiver) = snapshot(to) {
                state.channels[channel].arrived = replay(&receiver.input_channel_state[input]);
            }
        }
        state.acks.clear();
        state.notices.clear();
        state.coordinator.0.abort_all();
    }

    /// What a final state delivered, checked against the promise.
    fn check_final(&self, state: &JobState) -> Option<String> {
        let job = &self.job;
        let mut output = state.committed.clone();
        for (_, records) in &state.transactions {
            output.extend_from_slice(records);
        }
        output.extend_from_slice(&state.open);
        output.sort_unstable();
        let total = job.sources as u8 * job.records_per_source;
        for id in 0..total {
            let copies = output.iter().filter(|&&o| o == id).count();
            if copies == 0 {
                return Some(format!(
                    "{}: the job ended without {} in the sink's output",
                    if job.exactly_once() {
                        "exactly-once"
                    } else {
                        "at-least-once"
                    },
                    job.record_name(id)
                ));
            }
            if copies > 1 && job.exactly_once() {
                return Some(format!(
                    "exactly-once: the job ended with {} {copies} times in the sink's committed output",
                    job.record_name(id)
                ));
            }
        }
        None
    }

    /// One step in words, for a counterexample.
    pub fn describe(&self, state: &JobState, step: Step) -> String {
        let job = &self.job;
        match step {
            Step::Trigger => "the coordinator triggers the next checkpoint".into(),
            Step::TriggerArrives { source } => format!(
                "the trigger of checkpoint {} reaches {}",
                state.tasks[source as usize].trigger.unwrap_or(0),
                job.task_name(source as usize)
            ),
            Step::Emit { source } => format!(
                "{} emits {}",
                job.task_name(source as usize),
                job.record_name(source * job.records_per_source + state.offsets[source as usize])
            ),
            Step::Arrive { channel } => format!(
                "{} arrives at the end of {}",
                item_name(job, state.channels[channel as usize].wire.front()),
                job.channel_name(channel as usize)
            ),
            Step::Read { channel } => {
                let c = &state.channels[channel as usize];
                let item = next_readable(c).and_then(|at| c.arrived.get(at));
                let (to, _) = job.receiver(channel as usize);
                format!(
                    "{} reads {} from {}",
                    job.task_name(to),
                    item_name(job, item),
                    job.channel_name(channel as usize)
                )
            }
            Step::TimeoutPasses { checkpoint } => {
                format!("aligned-checkpoint-timeout of checkpoint {checkpoint} passes")
            }
            Step::TimerFires { task, checkpoint } => format!(
                "{}'s alignment timer of checkpoint {checkpoint} fires",
                job.task_name(task as usize)
            ),
            Step::AckArrives { task, checkpoint } => format!(
                "{}'s acknowledgement of checkpoint {checkpoint} reaches the coordinator",
                job.task_name(task as usize)
            ),
            Step::NoticeArrives { checkpoint } => {
                format!("notifyCheckpointComplete({checkpoint}) reaches the sink")
            }
            Step::Crash => {
                let completed = state.completed.as_ref().map(|c| c.id);
                match state.pending() {
                    Some((id, acked)) if job.restore_rule().keeps_pending() && acked != 0 => {
                        let tasks: Vec<String> = (0..job.tasks())
                            .filter(|&t| acked & (1 << t) != 0)
                            .map(|t| job.task_name(t))
                            .collect();
                        format!(
                            "the job crashes and restores pending checkpoint {id}: the snapshots of {} (acknowledged), {} for the other tasks",
                            tasks.join(", "),
                            completed.map_or("nothing".into(), |c| format!(
                                "completed checkpoint {c}'s"
                            ))
                        )
                    }
                    _ => format!(
                        "the job crashes and restores {}",
                        completed.map_or("nothing (no checkpoint completed)".into(), |c| {
                            format!("checkpoint {c}")
                        })
                    ),
                }
            }
        }
    }

    /// What the state holds, in a line: the keyed state, the sink's output, and the snapshots.
    pub fn describe_state(&self, state: &JobState) -> String {
        let job = &self.job;
        let names = |ids: &[RecordId]| {
            ids.iter()
                .map(|&id| job.record_name(id))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut line = format!(
            "keyed [{}] · sink committed [{}] pending [{}] open [{}]",
            names(&state.keyed),
            names(&state.committed),
            names(
                &state
                    .transactions
                    .iter()
                    .flat_map(|t| t.1.iter().copied())
                    .collect::<Vec<_>>()
            ),
            names(&state.open)
        );
        for (index, task) in state.tasks.iter().enumerate() {
            for (checkpoint, snapshot) in &task.snapshots {
                let _ = write!(line, " · {} snapshot {checkpoint}", job.task_name(index));
                if index < job.sources {
                    let _ = write!(line, " offset {}", snapshot.offset);
                } else if index == job.keyed() {
                    let _ = write!(line, " [{}]", names(&snapshot.state));
                }
                let input: Vec<RecordId> = snapshot
                    .input_channel_state
                    .iter()
                    .flatten()
                    .copied()
                    .collect();
                if !input.is_empty() || !snapshot.output_channel_state.is_empty() {
                    let _ = write!(
                        line,
                        " channel state in [{}] out [{}]",
                        names(&input),
                        names(&snapshot.output_channel_state)
                    );
                }
            }
        }
        if let Some(completed) = &state.completed {
            let _ = write!(line, " · completed checkpoint {}", completed.id);
        }
        line
    }
}

impl TransitionSystem for DataflowSystem {
    type State = JobState;
    type Action = Step;

    fn initial(&self) -> JobState {
        let job = &self.job;
        JobState {
            offsets: vec![0; job.sources],
            keyed: Vec::new(),
            open: Vec::new(),
            transactions: Vec::new(),
            committed: Vec::new(),
            tasks: (0..job.tasks()).map(|t| self.fresh_task(t)).collect(),
            channels: (0..=job.sources).map(|_| self.fresh_channel()).collect(),
            acks: Vec::new(),
            notices: Vec::new(),
            coordinator: CoordinatorState(Coordinator::new(job.coordinator_config())),
            timed_out: Vec::new(),
            completed: None,
            crashed: false,
            broken: None,
        }
    }

    fn actions(&self, state: &JobState, actions: &mut Vec<Step>) {
        if state.broken.is_none() {
            self.steps(state, actions, true);
        }
    }

    fn apply(&self, state: &JobState, action: Step) -> JobState {
        let mut next = state.clone();
        self.apply_step(&mut next, action);
        next
    }

    /// The bytes the state's derived `Hash` feeds a hasher, kept instead of hashed: derived
    /// `Hash` writes every field, enum discriminants and collection lengths (the standard
    /// library's prefix-free rule), so equal states give equal bytes and different states
    /// different ones. Every field is ordered (vectors kept sorted where order does not matter,
    /// `BTreeMap`s), so equal states are equal values.
    fn encode(&self, state: &JobState, key: &mut Vec<u8>) {
        state.hash(&mut ByteWriter(key));
    }

    /// For aligned and at-least-once barriers, an arrival: the head of a channel's wire moving
    /// into its receiver's input queue. Nothing in these modes looks at a wire or an input
    /// queue but the arrival and the read at either end: the sender appends to the wire's tail,
    /// the receiver takes the queue's head, and no channel state is recorded (no priority
    /// barrier takes the wire's contents, no unaligned snapshot the queue's). So an arrival
    /// commutes with every other step — except a crash, which empties every channel: while a
    /// crash may still come, nothing is reduced. The invariants are stable along the way: a
    /// broken rule stays broken once found, and the final states are kept as they are.
    fn persistent_action(&self, _state: &JobState, enabled: &[Step]) -> Option<Step> {
        if !matches!(
            self.job.protocol,
            SnapshotProtocol::Aligned | SnapshotProtocol::AtLeastOnce
        ) || enabled.contains(&Step::Crash)
        {
            return None;
        }
        enabled
            .iter()
            .copied()
            .find(|step| matches!(step, Step::Arrive { .. }))
    }

    fn violation(&self, state: &JobState) -> Option<String> {
        if let Some(broken) = &state.broken {
            return Some(broken.clone());
        }
        if self.busy(state) {
            return None;
        }
        self.check_final(state)
    }
}

/// A [`Hasher`] that keeps the bytes it is fed: a canonical encoding of any value whose `Hash`
/// is derived. (Its `finish` is never used.)
struct ByteWriter<'a>(&'a mut Vec<u8>);

impl ByteWriter<'_> {
    /// LEB128: seven bits a byte, the high bit set on all but the last. Prefix-free, so the
    /// encoding stays canonical, and lengths, ids and discriminants take a byte instead of eight.
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }
}

impl Hasher for ByteWriter<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn write_u32(&mut self, value: u32) {
        self.varint(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.varint(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.varint(value as u64);
    }

    fn write_isize(&mut self, value: isize) {
        self.varint(value as u64);
    }

    fn finish(&self) -> u64 {
        0
    }
}

/// Where the next item a task may read from this channel is: a priority barrier first, else the
/// head — unless the input is blocked.
fn next_readable(channel: &Channel) -> Option<usize> {
    if let Some(at) = channel
        .arrived
        .iter()
        .position(|i| matches!(i, Item::Barrier { priority: true, .. }))
    {
        return Some(at);
    }
    (!channel.blocked && !channel.arrived.is_empty()).then_some(0)
}

fn record_id(item: &Item) -> Option<RecordId> {
    match *item {
        Item::Record { id, .. } => Some(id),
        _ => None,
    }
}

fn item_name(job: &DataflowJob, item: Option<&Item>) -> String {
    match item {
        Some(Item::Record { id, replayed }) => format!(
            "{}{}",
            job.record_name(*id),
            if *replayed { " (replayed)" } else { "" }
        ),
        Some(Item::Barrier {
            checkpoint,
            priority,
        }) => format!(
            "{}barrier {checkpoint}",
            if *priority { "priority " } else { "" }
        ),
        Some(Item::Cancel { checkpoint }) => format!("cancellation marker {checkpoint}"),
        None => "nothing".into(),
    }
}

fn insert_sorted<T: Ord + Copy>(list: &mut Vec<T>, value: T) {
    let at = list.partition_point(|&v| v <= value);
    list.insert(at, value);
}

/// Adds records to a task's snapshot of `checkpoint` as input (`Some(input)`) or output channel
/// state — unless the snapshot forgets its channel state.
fn persist(
    state: &mut JobState,
    task: usize,
    checkpoint: CheckpointId,
    input: Option<usize>,
    records: &[RecordId],
) {
    let Some(snapshot) = state.tasks[task].snapshots.get_mut(&checkpoint) else {
        return;
    };
    if snapshot.forgets_channel_state || records.is_empty() {
        return;
    }
    match input {
        Some(input) => snapshot.input_channel_state[input].extend_from_slice(records),
        None => snapshot.output_channel_state.extend_from_slice(records),
    }
}

/// Aligned-with-timeout, sending side: a barrier still queued on the output at the timeout moves
/// to the head as a priority barrier; the records it overtook become output channel state.
fn convert_stuck_barriers(
    job: &DataflowJob,
    state: &mut JobState,
    task: usize,
    checkpoint: CheckpointId,
) {
    let Some(output) = job.output(task) else {
        return;
    };
    let wire = &mut state.channels[output].wire;
    let Some(at) = wire
        .iter()
        .position(|i| matches!(i, Item::Barrier { checkpoint: c, .. } if *c == checkpoint))
    else {
        return;
    };
    wire.remove(at);
    let overtaken: Vec<RecordId> = wire.iter().take(at).filter_map(record_id).collect();
    wire.push_front(Item::Barrier {
        checkpoint,
        priority: true,
    });
    if let Some(snapshot) = state.tasks[task].snapshots.get_mut(&checkpoint) {
        snapshot.outputs_pending = snapshot.outputs_pending.saturating_sub(1);
    }
    persist(state, task, checkpoint, None, &overtaken);
}

/// Sends the acknowledgement of a snapshot once it is complete.
fn maybe_acknowledge(state: &mut JobState, task: usize, checkpoint: CheckpointId) {
    let Some(snapshot) = state.tasks[task].snapshots.get_mut(&checkpoint) else {
        return;
    };
    if snapshot.acknowledged || !snapshot.channel_state_final || snapshot.outputs_pending > 0 {
        return;
    }
    snapshot.acknowledged = true;
    insert_sorted(&mut state.acks, (task as u8, checkpoint));
}

/// The sink executes its commit rule's action.
fn sink_commit_action(state: &mut JobState, action: CommitAction) {
    match action {
        CommitAction::PreCommit { checkpoint } => {
            if !state.open.is_empty() {
                let records = std::mem::take(&mut state.open);
                state.transactions.push((checkpoint, records));
            }
        }
        CommitAction::CommitUpTo { checkpoint } => {
            let ids: Vec<CheckpointId> = state
                .transactions
                .iter()
                .filter(|t| t.0 <= checkpoint)
                .map(|t| t.0)
                .collect();
            for id in ids {
                commit(state, id);
            }
        }
    }
}

/// Commits one pre-committed transaction (if it is still pending).
fn commit(state: &mut JobState, id: CheckpointId) {
    if let Some(at) = state.transactions.iter().position(|t| t.0 == id) {
        let (_, records) = state.transactions.remove(at);
        for record in records {
            insert_sorted(&mut state.committed, record);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::{Exploration, Limits, Verdict, explore};

    /// Two sources of one record each → keyed → sink, one checkpoint, a crash anywhere.
    pub(super) fn job(protocol: SnapshotProtocol, variant: DataflowVariant) -> DataflowJob {
        DataflowJob {
            sources: 2,
            records_per_source: 1,
            checkpoints: 1,
            crash: true,
            protocol,
            variant,
        }
    }

    fn explored(job: DataflowJob) -> (DataflowSystem, Exploration<Step>) {
        let system = DataflowSystem::new(job).unwrap();
        let exploration = explore(&system, Limits::default(), &mut |_| true);
        (system, exploration)
    }

    pub(super) const TIMEOUT: SnapshotProtocol =
        SnapshotProtocol::AlignedWithTimeout { timeout_us: 0 };

    #[test]
    fn every_sound_protocol_keeps_its_promise_in_every_interleaving_with_a_crash_anywhere() {
        // Pinned, as a model checker's tests pin them: a change to a barrier handler or to the
        // explorer that changes the state space shows here. Unaligned has more states than
        // aligned (records and barriers may pass each other, and channel state varies); aligned
        // with timeout has the most (every point at which the timeout may pass, and both modes).
        for (protocol, states) in [
            (SnapshotProtocol::Aligned, 7_879),
            (SnapshotProtocol::Unaligned, 59_680),
            (SnapshotProtocol::AtLeastOnce, 10_725),
            (TIMEOUT, 106_881),
            (SnapshotProtocol::ChandyLamport, 17_965),
        ] {
            let (_, exploration) = explored(job(protocol, DataflowVariant::Correct));
            assert_eq!(exploration.verdict, Verdict::Complete, "{protocol:?}");
            assert_eq!(exploration.counts.distinct_states, states, "{protocol:?}");
        }
    }

    #[test]
    fn every_broken_variant_is_caught_with_a_shortest_counterexample() {
        for (protocol, variant, steps, what) in [
            (
                SnapshotProtocol::Aligned,
                DataflowVariant::NoAlignment,
                18,
                "prefix_consistency",
            ),
            (
                SnapshotProtocol::Unaligned,
                DataflowVariant::UnalignedForgetsChannelState,
                14,
                "prefix_consistency",
            ),
            (
                SnapshotProtocol::Aligned,
                DataflowVariant::ForwardBarrierEarly,
                16,
                "the sink's output",
            ),
            (
                SnapshotProtocol::Aligned,
                DataflowVariant::CommitAtPreCommit,
                25,
                "exactly-once",
            ),
            (
                SnapshotProtocol::Aligned,
                DataflowVariant::RestoreFromPending,
                5,
                "the restore of pending checkpoint 1",
            ),
            (
                SnapshotProtocol::ChandyLamport,
                DataflowVariant::RecordingPastTheBarrier,
                15,
                "prefix_consistency",
            ),
            (
                TIMEOUT,
                DataflowVariant::RecordingPastTheBarrier,
                16,
                "prefix_consistency",
            ),
        ] {
            let (_, exploration) = explored(job(protocol, variant));
            let Verdict::Violated { violation } = &exploration.verdict else {
                panic!("{variant:?} under {protocol:?}: {:?}", exploration.verdict);
            };
            assert!(violation.contains(what), "{variant:?}: {violation}");
            assert_eq!(exploration.counterexample.len(), steps, "{variant:?}");
        }
    }

    #[test]
    fn without_alignment_the_record_behind_the_barrier_gets_into_the_snapshot() {
        // The story of the shortest counterexample: source[0] takes its snapshot at offset 0 and
        // emits its record after the barrier; the keyed task does not block that input after
        // its barrier, reads the record, and only then the other barrier: its snapshot holds a
        // record the sources' offsets say comes after the checkpoint.
        let (system, exploration) =
            explored(job(SnapshotProtocol::Aligned, DataflowVariant::NoAlignment));
        let mut state = system.initial();
        let mut story = Vec::new();
        for &step in &exploration.counterexample {
            story.push(system.describe(&state, step));
            state = system.apply(&state, step);
        }
        let at = |text: &str| {
            story
                .iter()
                .position(|s| s == text)
                .unwrap_or_else(|| panic!("no step {text:?} in {story:#?}"))
        };
        let emitted_after_barrier = at("source[0] emits r0.0");
        let barrier_read = at("keyed reads barrier 1 from source[0]→keyed");
        let record_read = at("keyed reads r0.0 from source[0]→keyed");
        let other_barrier = at("keyed reads barrier 1 from source[1]→keyed");
        assert!(barrier_read < record_read && record_read < other_barrier);
        assert!(emitted_after_barrier > at("the trigger of checkpoint 1 reaches source[0]"));
        assert!(system.violation(&state).unwrap().contains("holding [r0.0]"));
    }

    #[test]
    fn the_commit_at_pre_commit_duplicates_need_a_crash() {
        let mut no_crash = job(
            SnapshotProtocol::Aligned,
            DataflowVariant::CommitAtPreCommit,
        );
        no_crash.crash = false;
        assert_eq!(explored(no_crash).1.verdict, Verdict::Complete);
    }

    #[test]
    fn restoring_a_pending_checkpoint_mixes_two_cuts_and_needs_a_crash() {
        // The story of the shortest counterexample: source[0] emits r0.0, then takes its snapshot
        // at offset 1 and acknowledges it; the job crashes before the keyed task has seen the
        // record. Restoring the pending checkpoint rewinds source[0] to offset 1 while the keyed
        // task restores nothing: r0.0 is in nobody's state and will never be emitted again.
        let (system, exploration) = explored(job(
            SnapshotProtocol::Aligned,
            DataflowVariant::RestoreFromPending,
        ));
        let mut state = system.initial();
        let mut story = Vec::new();
        for &step in &exploration.counterexample {
            story.push(system.describe(&state, step));
            state = system.apply(&state, step);
        }
        assert_eq!(
            story.last().unwrap(),
            "the job crashes and restores pending checkpoint 1: the snapshots of source[0] (acknowledged), nothing for the other tasks"
        );
        assert_eq!(state.offsets[0], 1, "source[0] resumes after r0.0");
        assert!(state.keyed.is_empty());
        let mut no_crash = job(
            SnapshotProtocol::Aligned,
            DataflowVariant::RestoreFromPending,
        );
        no_crash.crash = false;
        assert_eq!(explored(no_crash).1.verdict, Verdict::Complete);
    }

    /// Partial-order reduction keeps what the checks see: every violation any state of the full
    /// search shows, every checkpoint it completes (each snapshot's contents) and every end
    /// state's output, for aligned and at-least-once barriers, every
    /// variant they run, with and without a crash. A reckless reduction that follows an
    /// emission alone, as if it commuted with everything, is caught: it misses some.
    #[test]
    fn partial_order_reduction_keeps_every_violation_and_every_end_state() {
        use crate::explore::{Reductions, explore_reduced};
        use std::cell::RefCell;
        use std::collections::BTreeSet;

        /// The system, except that it writes down what the checks see instead of stopping.
        struct Observer<'a> {
            system: &'a DataflowSystem,
            reckless: bool,
            seen: RefCell<BTreeSet<String>>,
        }
        impl TransitionSystem for Observer<'_> {
            type State = JobState;
            type Action = Step;
            fn initial(&self) -> JobState {
                self.system.initial()
            }
            fn actions(&self, state: &JobState, actions: &mut Vec<Step>) {
                self.system.actions(state, actions)
            }
            fn apply(&self, state: &JobState, step: Step) -> JobState {
                self.system.apply(state, step)
            }
            fn encode(&self, state: &JobState, key: &mut Vec<u8>) {
                self.system.encode(state, key)
            }
            fn violation(&self, state: &JobState) -> Option<String> {
                let mut seen = self.seen.borrow_mut();
                if let Some(violation) = self.system.violation(state) {
                    seen.insert(violation);
                }
                // One checkpoint: once complete, it stays what the state holds.
                if let Some(completed) = &state.completed {
                    seen.insert(format!("completed: {completed:?}"));
                }
                if !self.system.busy(state) {
                    seen.insert(format!(
                        "end: committed {:?} pending {:?} open {:?}",
                        state.committed, state.transactions, state.open
                    ));
                }
                None
            }
            fn persistent_action(&self, state: &JobState, enabled: &[Step]) -> Option<Step> {
                if !self.reckless {
                    return self.system.persistent_action(state, enabled);
                }
                // Wrong: an emission alone, as if it commuted with everything — but whether a
                // source emits before or after its trigger arrives decides its offset in the
                // checkpoint.
                enabled
                    .iter()
                    .copied()
                    .find(|step| matches!(step, Step::Emit { .. }))
            }
        }
        let observed = |job: DataflowJob, partial_order: bool, reckless: bool| {
            let system = DataflowSystem::new(job).unwrap();
            let observer = Observer {
                system: &system,
                reckless,
                seen: RefCell::default(),
            };
            let exploration = explore_reduced(
                &observer,
                Limits::default(),
                Reductions { partial_order },
                &mut |_| true,
            );
            assert_eq!(exploration.verdict, Verdict::Complete);
            (exploration.counts, observer.seen.into_inner())
        };
        let mut reckless_missed = 0;
        for protocol in [SnapshotProtocol::Aligned, SnapshotProtocol::AtLeastOnce] {
            for variant in [
                DataflowVariant::Correct,
                DataflowVariant::NoAlignment,
                DataflowVariant::ForwardBarrierEarly,
                DataflowVariant::CommitAtPreCommit,
                DataflowVariant::RestoreFromPending,
            ] {
                for crash in [false, true] {
                    let mut job = job(protocol, variant);
                    job.crash = crash;
                    let (full_counts, full) = observed(job.clone(), false, false);
                    let (reduced_counts, reduced) = observed(job.clone(), true, false);
                    let what = format!("{protocol:?} {variant:?} crash={crash}");
                    assert_eq!(reduced, full, "{what}");
                    assert!(
                        reduced_counts.distinct_states < full_counts.distinct_states,
                        "{what}: the reduction reduces"
                    );
                    let (_, reckless) = observed(job, true, true);
                    assert!(reckless.is_subset(&full), "{what}");
                    reckless_missed += full.len() - reckless.len();
                }
            }
        }
        assert!(
            reckless_missed > 0,
            "the reckless reduction must miss something"
        );
    }

    #[test]
    fn a_job_the_explorer_cannot_take_is_refused_with_the_reason() {
        let mut big = job(SnapshotProtocol::Aligned, DataflowVariant::Correct);
        big.records_per_source = 9;
        assert!(DataflowSystem::new(big).unwrap_err().contains("1 to 8"));
    }
}
