//! Invariants 5 (prefix consistency) and 8 (protocol rules) for Flink checkpoints on a dataflow.
//!
//! **Prefix consistency (5).** A completed checkpoint records, for every source subtask, the offset
//! it had reached. The oracle regenerates each source's log up to that offset, pushes those
//! records through the job's operators itself — no network, no timing, just the operator
//! functions — and compares the result with what the checkpoint holds: operator state, plus the
//! effect of replaying the persisted in-flight records (unaligned, Chandy-Lamport) through the
//! operators downstream of their channel. Under exactly-once the two must be equal. Under
//! at-least-once the checkpoint may hold *more* (records that crossed a barrier early); the oracle
//! counts those from the event record and reports them, and fails only if something is missing.
//!
//! **Protocol rules (8)** are read off the event record: ids increase, a checkpoint completes only
//! after every acknowledgement, never more than `max-concurrent-checkpoints` pending, triggers
//! respect `min-pause`.

use super::reference::{Reference, replay_into};
use super::{Check, Invariant};
use crate::checkpoint::SnapshotProtocol;
use crate::dataflow::{CheckpointObserver, CompletedCheckpoint, DataflowRun};
use crate::engine::SimTime;
use crate::scenario::DataflowModel;
use crate::topology::job::{ExecutionGraph, TaskIndex};
use crate::trace::DataflowEvent;
use crate::workload::dataflow::{OperatorKind, OperatorState, side_by_side};
use crate::workload::sink::{ExternalSink, TransactionState};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The verdict on one completed checkpoint.
#[derive(Clone, Debug, Serialize)]
pub struct CheckpointCheck {
    /// Checkpoint id.
    pub checkpoint: u64,
    /// Invariant 5.
    pub prefix_consistency: Check,
    /// Records that crossed a barrier early and are in this checkpoint's state (from the event record).
    pub records_across_barrier: u64,
}

/// The verdict on a dataflow run.
#[derive(Clone, Debug, Serialize)]
pub struct DataflowVerdict {
    /// One per completed checkpoint, by id.
    pub checkpoints: Vec<CheckpointCheck>,
    /// Invariant 8 over the whole run.
    pub protocol_rules: Check,
}

impl DataflowVerdict {
    /// The invariants that failed at least once.
    pub fn failed_invariants(&self) -> BTreeSet<Invariant> {
        let mut failed: BTreeSet<Invariant> = self
            .checkpoints
            .iter()
            .filter(|c| !c.prefix_consistency.passed)
            .map(|_| Invariant::PrefixConsistency)
            .collect();
        if !self.protocol_rules.passed {
            failed.insert(Invariant::ProtocolRules);
        }
        failed
    }
}

/// Checks every completed checkpoint of a run, and the protocol rules.
pub fn check(model: &DataflowModel, seed: u64, run: &DataflowRun) -> DataflowVerdict {
    let mut checker = CheckpointChecker::new(model, seed);
    for completed in &run.completed {
        checker.completed(&run.graph, run.trace.events(), &run.final_states, completed);
    }
    checker.verdict(model, run)
}

/// The checkpoint checks in one pass, one completed checkpoint at a time: after the run (from
/// [`check`]) or during it, as each checkpoint completes ([`crate::dataflow::run_observed`]), so
/// that a run of thousands of checkpoints need not keep their contents. Both give the same
/// verdicts: a checkpoint's check reads the record only up to its completion, and the states of
/// tasks that had finished by then.
pub struct CheckpointChecker<'a> {
    model: &'a DataflowModel,
    seed: u64,
    /// Built at the first checkpoint (it needs the execution graph).
    reference: Option<Reference<'a>>,
    index: TraceIndex,
    checks: Vec<CheckpointCheck>,
}

impl<'a> CheckpointChecker<'a> {
    /// A checker for a run of `model` with `seed`, before any checkpoint.
    pub fn new(model: &'a DataflowModel, seed: u64) -> CheckpointChecker<'a> {
        CheckpointChecker {
            model,
            seed,
            reference: None,
            index: TraceIndex::default(),
            checks: Vec::new(),
        }
    }

    /// The verdict: the checks of the checkpoints seen, and the protocol rules over the whole
    /// record of the finished run.
    pub fn verdict(self, model: &DataflowModel, run: &DataflowRun) -> DataflowVerdict {
        DataflowVerdict {
            checkpoints: self.checks,
            protocol_rules: check_protocol_rules(model, run.trace.events(), &run.sinks),
        }
    }
}

impl CheckpointObserver for CheckpointChecker<'_> {
    /// Checks one completed checkpoint: `events` is the record at least up to its completion,
    /// `states` the tasks' operator states (those of tasks finished before it are read).
    fn completed(
        &mut self,
        graph: &ExecutionGraph,
        events: &[DataflowEvent],
        states: &[Vec<OperatorState>],
        completed: &CompletedCheckpoint,
    ) {
        self.index.extend(events);
        let (model, seed) = (self.model, self.seed);
        let reference = self
            .reference
            .get_or_insert_with(|| Reference::new(model, seed, graph));
        let check = check_checkpoint(model, graph, states, reference, &self.index, completed);
        self.checks.push(check);
    }
}

/// What the checks need from the event record, gathered in one pass as the record grows.
#[derive(Default)]
struct TraceIndex {
    /// Events read so far.
    read: usize,
    /// Position of each checkpoint's completion in the record.
    completed_at: BTreeMap<u64, usize>,
    /// (position, task) of every task that finished.
    finished: Vec<(usize, TaskIndex)>,
    /// Per checkpoint: records processed after their channel's barrier and before the snapshot.
    early_records: BTreeMap<u64, u64>,
    /// Records consumed on a channel when checkpoint's barrier arrived there, by (checkpoint,
    /// channel).
    barrier_at: BTreeMap<(u64, u32), u64>,
}

impl TraceIndex {
    /// Reads the events of the record not read yet.
    fn extend(&mut self, events: &[DataflowEvent]) {
        for (position, event) in events.iter().enumerate().skip(self.read) {
            match *event {
                DataflowEvent::CheckpointCompleted { checkpoint, .. } => {
                    self.completed_at.insert(checkpoint, position);
                }
                DataflowEvent::TaskFinished { task, .. } => {
                    self.finished.push((position, task as TaskIndex))
                }
                DataflowEvent::BarrierReceived {
                    channel,
                    checkpoint,
                    records_consumed,
                    ..
                } => {
                    self.barrier_at
                        .entry((checkpoint, channel))
                        .or_insert(records_consumed);
                }
                DataflowEvent::InputPosition {
                    channel,
                    checkpoint,
                    records_consumed,
                    ..
                } => {
                    if let Some(&at_barrier) = self.barrier_at.get(&(checkpoint, channel)) {
                        *self.early_records.entry(checkpoint).or_default() +=
                            records_consumed.saturating_sub(at_barrier);
                    }
                }
                _ => {}
            }
        }
        self.read = self.read.max(events.len());
    }
}

fn check_checkpoint(
    model: &DataflowModel,
    graph: &ExecutionGraph,
    // The tasks' operator states when the checkpoint completed (at the latest, the run's end): a
    // task finished by then holds its final state.
    states: &[Vec<OperatorState>],
    reference: &mut Reference,
    index: &TraceIndex,
    completed: &CompletedCheckpoint,
) -> CheckpointCheck {
    // A task that finished before this checkpoint completed, without a snapshot in it, had ended
    // all its input (FLIP-147: end of partition is its barrier): its final state is its share.
    let trigger_position = index
        .completed_at
        .get(&completed.id)
        .copied()
        .unwrap_or(usize::MAX);
    let finished_before: BTreeSet<TaskIndex> = index
        .finished
        .iter()
        .filter(|(position, _)| *position < trigger_position)
        .map(|(_, task)| *task)
        .collect();
    let snapshot_of: BTreeMap<TaskIndex, &crate::dataflow::TaskSnapshot> =
        completed.tasks.iter().map(|s| (s.task, s)).collect();

    // Source prefixes recorded in the checkpoint.
    let mut offsets = BTreeMap::new();
    let mut source_operator = BTreeMap::new();
    for (task, vertex) in graph.tasks.iter().enumerate() {
        let head = vertex.chain[0];
        if let OperatorKind::Source(_) = &model.job.operators[head].kind {
            source_operator.insert(task, head);
            let offset = match snapshot_of.get(&task) {
                Some(snapshot) => snapshot.operator_states[0].offset,
                // A source that finished before the checkpoint had read its whole log.
                None => states[task][0].offset,
            };
            offsets.insert(task, offset);
        }
    }
    reference.advance_to(&offsets, &source_operator);

    // What the checkpoint holds: operator states merged over subtasks, then persisted channel
    // records replayed through their consumers.
    let mut actual = vec![OperatorState::default(); model.job.operators.len()];
    let mut missing_tasks = Vec::new();
    for (task, vertex) in graph.tasks.iter().enumerate() {
        let held: &[OperatorState] = match snapshot_of.get(&task) {
            Some(snapshot) => &snapshot.operator_states,
            None if finished_before.contains(&task) => &states[task],
            None => {
                missing_tasks.push(vertex.name.clone());
                continue;
            }
        };
        for (position, &operator) in vertex.chain.iter().enumerate() {
            actual[operator].merge(&held[position]);
        }
    }
    let mut persisted = 0u64;
    for snapshot in &completed.tasks {
        for (channel, record) in snapshot.channel_records() {
            let consumer = graph.channels[channel].to;
            let head = graph.tasks[consumer].chain[0];
            replay_into(model, &reference.consumers, &mut actual, head, *record);
            persisted += 1;
        }
    }

    let records_across_barrier = index.early_records.get(&completed.id).copied().unwrap_or(0);
    let protocol = model
        .checkpointing
        .as_ref()
        .map_or(SnapshotProtocol::Aligned, |c| c.protocol);
    let prefix_consistency = if !missing_tasks.is_empty() {
        Check::fail(
            Invariant::PrefixConsistency,
            format!(
                "checkpoint {} has no snapshot of {} although it was running",
                completed.id,
                missing_tasks.join(", ")
            ),
        )
    } else {
        compare_states(
            model,
            &reference.states,
            &actual,
            protocol,
            records_across_barrier,
            persisted,
            &offsets,
        )
    };
    CheckpointCheck {
        checkpoint: completed.id,
        prefix_consistency,
        records_across_barrier,
    }
}

fn compare_states(
    model: &DataflowModel,
    expected: &[OperatorState],
    actual: &[OperatorState],
    protocol: SnapshotProtocol,
    early: u64,
    persisted: u64,
    offsets: &BTreeMap<TaskIndex, u64>,
) -> Check {
    let prefix_records: u64 = offsets.values().sum();
    let sums_comparable = model.job.sums_are_order_independent();
    let mut surplus = 0u64;
    let mut first_surplus: Option<String> = None;
    for (index, operator) in model.job.operators.iter().enumerate() {
        if matches!(operator.kind, OperatorKind::Source(_)) {
            continue;
        }
        for (key, want, have) in side_by_side(&expected[index].keyed, &actual[index].keyed) {
            // Below a keyed aggregation only counts are order-independent (see JobGraph).
            if want.count == have.count && (want.sum == have.sum || !sums_comparable[index]) {
                continue;
            }
            if have.count <= want.count {
                return Check::fail(
                    Invariant::PrefixConsistency,
                    format!(
                        "operator \"{}\", key {key}: the checkpoint holds count {} (sum {}) but the failure-free computation on the recorded source prefixes ({prefix_records} records) gives count {} (sum {}): {} record(s) lost{}",
                        operator.name,
                        have.count,
                        have.sum,
                        want.count,
                        want.sum,
                        want.count.saturating_sub(have.count),
                        if persisted > 0 {
                            format!(", after replaying {persisted} persisted in-flight record(s)")
                        } else {
                            String::new()
                        }
                    ),
                );
            }
            surplus += have.count - want.count;
            if first_surplus.is_none() {
                first_surplus = Some(format!(
                    "operator \"{}\", key {key}: count {} where the prefixes give {}",
                    operator.name, have.count, want.count
                ));
            }
        }
    }
    match (first_surplus, protocol.is_exactly_once()) {
        (None, _) => Check::pass(
            Invariant::PrefixConsistency,
            format!(
                "operator state{} equals the failure-free computation on the recorded source prefixes ({prefix_records} records)",
                if persisted > 0 {
                    format!(" plus {persisted} persisted in-flight record(s)")
                } else {
                    String::new()
                }
            ),
        ),
        (Some(first), true) => Check::fail(
            Invariant::PrefixConsistency,
            format!(
                "{first}: the checkpoint holds {surplus} record contribution(s) beyond the recorded source prefixes ({prefix_records} records){}",
                if early > 0 {
                    format!(
                        "; the event record shows {early} record(s) processed after their channel's barrier and before the snapshot"
                    )
                } else {
                    String::new()
                }
            ),
        ),
        (Some(first), false) => Check::pass(
            Invariant::PrefixConsistency,
            format!(
                "not prefix-consistent, as expected under AT_LEAST_ONCE: {early} record(s) crossed a barrier early and are already in the state ({first}); nothing is missing, and after a restore they would be processed again (duplicates)"
            ),
        ),
    }
}

fn check_protocol_rules(
    model: &DataflowModel,
    events: &[DataflowEvent],
    sinks: &[ExternalSink],
) -> Check {
    let Some(config) = model.checkpointing.as_ref() else {
        return Check::pass(Invariant::ProtocolRules, "checkpointing is off");
    };
    let mut last_id = 0u64;
    let mut pending: BTreeMap<u64, (bool, u32, BTreeSet<u32>)> = BTreeMap::new();
    let mut finished: BTreeSet<u32> = BTreeSet::new();
    let mut last_completion: Option<SimTime> = None;
    let (mut triggered, mut completed) = (0, 0);
    for event in events {
        match *event {
            DataflowEvent::CheckpointTriggered {
                time,
                checkpoint,
                tasks_to_ack,
                is_savepoint,
            } => {
                triggered += 1;
                if checkpoint <= last_id {
                    return Check::fail(
                        Invariant::ProtocolRules,
                        format!(
                            "checkpoint {checkpoint} was triggered at {time} after checkpoint {last_id}: ids must increase"
                        ),
                    );
                }
                last_id = checkpoint;
                if !is_savepoint {
                    let regular = pending
                        .values()
                        .filter(|(savepoint, _, _)| !savepoint)
                        .count() as u32;
                    if regular >= config.max_concurrent {
                        return Check::fail(
                            Invariant::ProtocolRules,
                            format!(
                                "checkpoint {checkpoint} was triggered at {time} while {regular} were pending; max-concurrent-checkpoints is {}",
                                config.max_concurrent
                            ),
                        );
                    }
                    if let Some(last) = last_completion
                        && time.since_us(last) < config.min_pause_us
                    {
                        return Check::fail(
                            Invariant::ProtocolRules,
                            format!(
                                "checkpoint {checkpoint} was triggered {}us after the last completion at {last}; min-pause is {}us",
                                time.since_us(last),
                                config.min_pause_us
                            ),
                        );
                    }
                }
                pending.insert(checkpoint, (is_savepoint, tasks_to_ack, BTreeSet::new()));
            }
            DataflowEvent::AckReceived {
                task, checkpoint, ..
            } => {
                if let Some((_, _, acks)) = pending.get_mut(&checkpoint) {
                    acks.insert(task);
                }
            }
            DataflowEvent::TaskFinished { task, .. } => {
                finished.insert(task);
            }
            DataflowEvent::CheckpointCompleted { time, checkpoint } => {
                completed += 1;
                let Some((is_savepoint, needed, acks)) = pending.remove(&checkpoint) else {
                    return Check::fail(
                        Invariant::ProtocolRules,
                        format!(
                            "checkpoint {checkpoint} completed at {time} but was never triggered"
                        ),
                    );
                };
                let finished_not_acked =
                    finished.iter().filter(|t| !acks.contains(t)).count() as u32;
                if (acks.len() as u32) + finished_not_acked < needed {
                    return Check::fail(
                        Invariant::ProtocolRules,
                        format!(
                            "checkpoint {checkpoint} completed at {time} with {} of {needed} acknowledgements",
                            acks.len()
                        ),
                    );
                }
                if !is_savepoint {
                    last_completion = Some(time);
                }
            }
            DataflowEvent::CheckpointAborted { checkpoint, .. } => {
                pending.remove(&checkpoint);
            }
            _ => {}
        }
    }
    // Two-phase commit: a transaction pre-committed for checkpoint n may be committed only once
    // a checkpoint ≥ n has completed (or on restore of one).
    let completions: Vec<(u64, SimTime)> = events
        .iter()
        .filter_map(|e| {
            if let DataflowEvent::CheckpointCompleted { checkpoint, time } = e {
                Some((*checkpoint, *time))
            } else {
                None
            }
        })
        .collect();
    for (index, sink) in sinks.iter().enumerate() {
        for transaction in &sink.transactions {
            let (Some(checkpoint), TransactionState::Committed { at_us }) =
                (transaction.checkpoint, &transaction.state)
            else {
                continue;
            };
            let allowed = completions
                .iter()
                .any(|(id, time)| *id >= checkpoint && time.as_micros() <= *at_us);
            if !allowed {
                return Check::fail(
                    Invariant::ProtocolRules,
                    format!(
                        "sink {index}: transaction {} (pre-committed for checkpoint {checkpoint}) was committed at {}us, before any checkpoint from {checkpoint} on had completed",
                        transaction.id, at_us
                    ),
                );
            }
        }
    }
    Check::pass(
        Invariant::ProtocolRules,
        format!(
            "{triggered} triggered, {completed} completed: ids increase, every completion after all acknowledgements, at most {} pending, min-pause {}us respected, two-phase commits only after completion",
            config.max_concurrent, config.min_pause_us
        ),
    )
}
