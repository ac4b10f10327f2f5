//! Invariants 6 (exactly-once) and 7 (at-least-once): what survives failures, checked against a failure-free
//! *golden* run of the same scenario (same seed, same settings, no faults).
//!
//! - **Exactly-once** (checkpointing EXACTLY_ONCE, and for the output a two-phase-commit or
//!   idempotent sink): the final keyed state and the committed output equal the golden run's —
//!   every record's effect once, none lost, none twice. An idempotent sink keeps it only when each
//!   key's last write reaches it along one path (typically: fed by one keyed aggregation through a
//!   forward or hash edge): otherwise one key's upserts arrive on several channels, and the last to
//!   land depends on timing — replays or not. Such a sink promises at-least-once, and says why.
//! - **At-least-once** (AT_LEAST_ONCE, or a plain sink): nothing the golden run produced is missing;
//!   duplicates are expected, counted per key, and shown.
//! - **No checkpointing**: no promise; losses and duplicates are reported as found.
//!
//! Records are identified by where they came from: (source subtask, offset in its log). When a
//! check fails, the explanation names the first divergent record, when it was written, and in
//! which transaction.

use super::{Check, Invariant};
use crate::checkpoint::SnapshotProtocol;
use crate::dataflow::{DataflowRun, JobStatus};
use crate::scenario::DataflowModel;
use crate::topology::job::Partitioner;
use crate::workload::dataflow::{KeyTotals, OperatorKind, OperatorState, SinkDelivery};
use crate::workload::sink::{AbortCause, ExternalSink, TransactionState, Write};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What the configuration promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Promise {
    /// Every record's effect exactly once.
    ExactlyOnce,
    /// Every record's effect at least once.
    AtLeastOnce,
    /// Nothing (checkpointing off).
    None,
}

/// What one sink delivered, compared with the golden run.
#[derive(Clone, Debug, Serialize)]
pub struct SinkDelivered {
    /// Sink operator name.
    pub sink: String,
    /// How it writes.
    pub delivery: SinkDelivery,
    /// What this sink's configuration promises.
    pub promise: Promise,
    /// Why it promises less than the checkpoint mode, if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promise_limited_because: Option<String>,
    /// Records a read-committed reader saw in the golden run.
    pub golden_records: usize,
    /// Records a read-committed reader saw in this run.
    pub committed_records: usize,
    /// Records a read-uncommitted reader saw in this run (everything written).
    pub uncommitted_records: usize,
    /// Extra copies seen by a read-committed reader (for an idempotent sink: upserts of a key
    /// replayed over an earlier write of the same record — overwrites, invisible in its table).
    pub duplicates: u64,
    /// Extra copies seen by a read-uncommitted reader (everything written, aborted transactions
    /// included).
    pub uncommitted_duplicates: u64,
    /// Golden records a read-committed reader never saw.
    pub lost: u64,
    /// Duplicates per key (the ten keys with most).
    pub duplicates_per_key: Vec<(u32, u64)>,
    /// Transactions aborted (two-phase commit).
    pub transactions_aborted: usize,
    /// Transactions committed (two-phase commit).
    pub transactions_committed: usize,
    /// Of the aborted transactions, those the external system aborted by its transaction timeout
    /// (their records are lost if a checkpoint held them).
    pub transactions_timed_out: usize,
}

/// The verdict on what survived the run's failures.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryVerdict {
    /// What the checkpoint mode promises for operator state.
    pub state_promise: Promise,
    /// Per sink.
    pub sinks: Vec<SinkDelivered>,
    /// Invariant 6 and/or 7, whichever the configuration promises (empty if it promises nothing).
    pub checks: Vec<Check>,
    /// Plain-language summary (also when nothing is promised).
    pub summary: String,
}

impl DeliveryVerdict {
    /// Invariants that failed.
    pub fn failed_invariants(&self) -> BTreeSet<Invariant> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.invariant)
            .collect()
    }
}

/// A copy of the model without faults: the golden run's scenario.
pub fn golden_model(model: &DataflowModel) -> DataflowModel {
    let mut golden = model.clone();
    golden.faults.scheduled.clear();
    golden.faults.random.clear();
    golden.faults.restore_from_pending = false;
    golden
}

fn merged_states(model: &DataflowModel, run: &DataflowRun) -> Vec<OperatorState> {
    let mut merged = vec![OperatorState::default(); model.job.operators.len()];
    for (task, vertex) in run.graph.tasks.iter().enumerate() {
        for (position, &operator) in vertex.chain.iter().enumerate() {
            merged[operator].merge(&run.final_states[task][position]);
        }
    }
    merged
}

type Identity = (u32, u64);

fn identity(write: &Write) -> Identity {
    (write.record.source_task, write.record.offset)
}

fn multiset(writes: &[&Write]) -> BTreeMap<Identity, u64> {
    let mut counts = BTreeMap::new();
    for write in writes {
        *counts.entry(identity(write)).or_insert(0) += 1;
    }
    counts
}

fn describe_write(run: &DataflowRun, sink: &ExternalSink, write: &Write) -> String {
    let source = &run.graph.tasks[write.record.source_task as usize].name;
    let mut text = format!(
        "record {source} offset {} (key {}) written at {}us by sink subtask {}",
        write.record.offset, write.record.key, write.at_us, write.subtask
    );
    if let Some(id) = write.transaction {
        let transaction = &sink.transactions[id as usize];
        let (container, committed, aborted) = if sink.delivery == SinkDelivery::File {
            (
                format!("part file {}", sink.part_file_name(id)),
                "finished",
                "discarded",
            )
        } else {
            (format!("transaction {id}"), "committed", "aborted")
        };
        text += &match &transaction.state {
            TransactionState::Committed { at_us } => {
                format!(" in {container}, {committed} at {at_us}us")
            }
            TransactionState::Aborted { at_us, reason } => {
                format!(" in {container}, {aborted} at {at_us}us ({reason})")
            }
            other => format!(" in {container} ({other:?})"),
        };
    }
    text
}

fn after(failures: usize) -> String {
    match failures {
        0 => "with this scenario's faults (no task failed)".to_string(),
        n => format!("after {n} failure(s)"),
    }
}

/// Compares a run with its golden run.
pub fn check(model: &DataflowModel, run: &DataflowRun, golden: &DataflowRun) -> DeliveryVerdict {
    let protocol = model.checkpointing.as_ref().map(|c| c.protocol);
    let state_promise = match protocol {
        None => Promise::None,
        Some(SnapshotProtocol::AtLeastOnce) => Promise::AtLeastOnce,
        Some(_) => Promise::ExactlyOnce,
    };
    let finished = matches!(run.status, JobStatus::Finished { .. })
        && matches!(golden.status, JobStatus::Finished { .. });
    let sink_operators: Vec<usize> = model
        .job
        .operators
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o.kind, OperatorKind::Sink(_)))
        .map(|(i, _)| i)
        .collect();

    let mut sinks = Vec::new();
    let mut output_problems: Vec<(Promise, String)> = Vec::new();
    for (index, &operator) in sink_operators.iter().enumerate() {
        let (sink, golden_sink) = (&run.sinks[index], &golden.sinks[index]);
        let last_write_determined = last_write_per_key_is_determined(model, operator);
        let promise = match (state_promise, sink.delivery) {
            (Promise::None, _) => Promise::None,
            (Promise::ExactlyOnce, SinkDelivery::TwoPhaseCommit | SinkDelivery::File) => {
                Promise::ExactlyOnce
            }
            (Promise::ExactlyOnce, SinkDelivery::Idempotent) if last_write_determined => {
                Promise::ExactlyOnce
            }
            _ => Promise::AtLeastOnce,
        };
        let promise_limited_because = (state_promise == Promise::ExactlyOnce
            && sink.delivery == SinkDelivery::Idempotent
            && !last_write_determined)
            .then(|| {
                "an idempotent sink's table is exactly-once only when each key's last write reaches \
                 it along one path; here one key's records arrive on several channels, so which \
                 one lands last depends on timing (feed the sink from one keyed operator)"
                    .to_string()
            });
        let committed = sink.read_committed();
        let golden_committed = golden_sink.read_committed();
        let have = multiset(&committed);
        let want = multiset(&golden_committed);
        let mut duplicates = 0;
        let mut lost = 0;
        let mut duplicates_by_key: BTreeMap<u32, u64> = BTreeMap::new();
        let mut first_duplicate: Option<&Write> = None;
        // One pass in output order: the copy of a record beyond the golden run's count is the
        // replayed one; each record's key is read off its first copy.
        let mut seen: BTreeMap<Identity, u64> = BTreeMap::new();
        let mut key_of: BTreeMap<Identity, u32> = BTreeMap::new();
        for write in &committed {
            let id = identity(write);
            let copies = seen.entry(id).or_insert(0);
            *copies += 1;
            if *copies == 1 {
                key_of.insert(id, write.record.key);
            }
            if first_duplicate.is_none() && *copies > want.get(&id).copied().unwrap_or(0) {
                first_duplicate = Some(write);
            }
        }
        for (id, &count) in &have {
            let golden_count = want.get(id).copied().unwrap_or(0);
            if count > golden_count {
                duplicates += count - golden_count;
                *duplicates_by_key.entry(key_of[id]).or_default() += count - golden_count;
            }
        }
        let mut first_lost: Option<&Write> = None;
        for write in &golden_committed {
            let id = identity(write);
            if have.get(&id).copied().unwrap_or(0) < want[&id] {
                lost += 1;
                if first_lost.is_none() {
                    first_lost = Some(write);
                }
            }
        }
        let mut by_key: Vec<(u32, u64)> = duplicates_by_key.into_iter().collect();
        by_key.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        by_key.truncate(10);
        let name = &model.job.operators[operator].name;
        if finished && lost > 0 {
            let write = first_lost.expect("counted");
            // Where did this record go in the faulted run?
            let trace = sink
                .writes
                .iter()
                .find(|w| identity(w) == identity(write))
                .map_or("it was never written in this run".to_string(), |w| {
                    format!("in this run it was {}", describe_write(run, sink, w))
                });
            output_problems.push((
                Promise::AtLeastOnce,
                format!(
                    "sink \"{name}\" lost {lost} record(s); the first: {} offset {} (key {}), in the golden output, never seen by a read-committed reader here — {trace}",
                    run.graph.tasks[write.record.source_task as usize].name, write.record.offset, write.record.key
                ),
            ));
        }
        if duplicates > 0 && promise == Promise::ExactlyOnce && sink.delivery.is_transactional() {
            let write = first_duplicate.expect("counted");
            let original = committed
                .iter()
                .find(|w| identity(w) == identity(write))
                .expect("present");
            output_problems.push((
                Promise::ExactlyOnce,
                format!(
                    "sink \"{name}\" committed {duplicates} duplicate(s); the first: {} — already committed as {}",
                    describe_write(run, sink, write),
                    describe_write(run, sink, original)
                ),
            ));
        }
        if promise == Promise::ExactlyOnce && sink.delivery == SinkDelivery::Idempotent && finished
        {
            let (table, golden_table) = (sink.upserted(), golden_sink.upserted());
            if let Some((key, value)) = golden_table.iter().find(|(k, v)| table.get(k) != Some(v)) {
                output_problems.push((
                    Promise::ExactlyOnce,
                    format!("idempotent sink \"{name}\": key {key} ends as {:?}, the golden run's table has {value}", table.get(key)),
                ));
            }
        }
        let transactions_aborted = sink
            .transactions
            .iter()
            .filter(|t| matches!(t.state, TransactionState::Aborted { .. }))
            .count();
        let transactions_committed = sink
            .transactions
            .iter()
            .filter(|t| matches!(t.state, TransactionState::Committed { .. }))
            .count();
        let transactions_timed_out = sink
            .transactions
            .iter()
            .filter(|t| {
                matches!(
                    t.state,
                    TransactionState::Aborted {
                        reason: AbortCause::TransactionTimeout,
                        ..
                    }
                )
            })
            .count();
        let everything = sink.read_uncommitted();
        let uncommitted_duplicates = multiset(&everything)
            .iter()
            .map(|(id, &count)| count.saturating_sub(want.get(id).copied().unwrap_or(0)))
            .sum();
        sinks.push(SinkDelivered {
            sink: name.clone(),
            delivery: sink.delivery,
            promise,
            promise_limited_because,
            golden_records: golden_committed.len(),
            committed_records: committed.len(),
            uncommitted_records: everything.len(),
            duplicates,
            uncommitted_duplicates,
            lost,
            duplicates_per_key: by_key,
            transactions_aborted,
            transactions_committed,
            transactions_timed_out,
        });
    }

    // Final keyed state, operator by operator.
    let mut state_problem: Option<(Promise, String)> = None;
    if finished {
        let (have, want) = (merged_states(model, run), merged_states(model, golden));
        'operators: for (index, operator) in model.job.operators.iter().enumerate() {
            if !matches!(operator.kind, OperatorKind::KeyedAggregation { .. }) {
                continue;
            }
            let keys: BTreeSet<u32> = have[index]
                .keyed
                .keys()
                .chain(want[index].keyed.keys())
                .copied()
                .collect();
            for key in keys {
                let (h, w): (KeyTotals, KeyTotals) = (
                    have[index].keyed.get(&key).copied().unwrap_or_default(),
                    want[index].keyed.get(&key).copied().unwrap_or_default(),
                );
                if h.count < w.count {
                    state_problem = Some((
                        Promise::AtLeastOnce,
                        format!(
                            "operator \"{}\" key {key}: final count {} but the golden run has {}: {} record(s) lost",
                            operator.name,
                            h.count,
                            w.count,
                            w.count - h.count
                        ),
                    ));
                    break 'operators;
                }
                if h.count > w.count && state_problem.is_none() {
                    state_problem = Some((
                        Promise::ExactlyOnce,
                        format!(
                            "operator \"{}\" key {key}: final count {} but the golden run has {}: {} record(s) counted twice",
                            operator.name,
                            h.count,
                            w.count,
                            h.count - w.count
                        ),
                    ));
                }
            }
        }
    }

    let mut problems: Vec<(Promise, String)> = output_problems;
    if let Some(problem) = state_problem {
        problems.push(problem);
    }
    let failures = run.recoveries.len();
    let mut checks = Vec::new();
    let promises_exactly_once = state_promise == Promise::ExactlyOnce
        && sinks.iter().all(|s| s.promise == Promise::ExactlyOnce);
    let scope = if finished {
        String::new()
    } else {
        " (the job did not finish, so only what it did deliver is compared; losses are not counted)"
            .to_string()
    };
    if promises_exactly_once {
        let broken: Vec<&String> = problems.iter().map(|(_, text)| text).collect();
        checks.push(match broken.first() {
            None => Check::pass(
                Invariant::ExactlyOnce,
                format!(
                    "{}, final keyed state and committed output equal the failure-free run{scope}",
                    after(failures)
                ),
            ),
            Some(first) => Check::fail(Invariant::ExactlyOnce, (*first).clone()),
        });
    } else if state_promise != Promise::None {
        let lost: Vec<&String> = problems
            .iter()
            .filter(|(p, _)| *p == Promise::AtLeastOnce)
            .map(|(_, t)| t)
            .collect();
        let duplicates: u64 = sinks.iter().map(|s| s.duplicates).sum();
        checks.push(match lost.first() {
            None => Check::pass(
                Invariant::AtLeastOnce,
                format!("{}, nothing the failure-free run produced is missing; {duplicates} duplicate record(s) reached the sinks{scope}", after(failures)),
            ),
            Some(first) => Check::fail(Invariant::AtLeastOnce, (*first).clone()),
        });
    }
    let summary = if failures == 0 {
        "no failure happened: nothing to recover".to_string()
    } else {
        let parts: Vec<String> = sinks
            .iter()
            .map(|s| {
                format!(
                    "{}: {} committed vs {} in the failure-free run, {} duplicate(s), {} lost",
                    s.sink, s.committed_records, s.golden_records, s.duplicates, s.lost
                )
            })
            .collect();
        format!("{failures} failure(s); {}", parts.join("; "))
    };
    DeliveryVerdict {
        state_promise,
        sinks,
        checks,
        summary,
    }
}

/// Does each key's last write to `operator` come out the same in every schedule? The sink's table
/// keeps the last upsert per key, so it is exactly-once only if the last record of each key reaches
/// it along one path whose last element no interleaving can change:
/// - a keyed aggregation's last output per key is the key's total, whatever order its inputs
///   arrived in (each key lives on one subtask);
/// - a stateless operator or sink with a single input keeps this if that input sends each key along
///   one channel (forward, hash, or anything into one subtask);
/// - several inputs, rebalance or broadcast into several subtasks, or a source of several subtasks
///   (each emits every key) interleave one key's records from several channels, and the last to
///   arrive depends on timing.
fn last_write_per_key_is_determined(model: &DataflowModel, operator: usize) -> bool {
    let op = &model.job.operators[operator];
    match op.kind {
        OperatorKind::KeyedAggregation { .. } => true,
        OperatorKind::Filter { .. } => single_channel_input(model, operator, ordered_per_key),
        _ => {
            ordered_per_key(model, operator)
                || single_channel_input(model, operator, last_write_per_key_is_determined)
        }
    }
}

/// Does `operator` emit each key's records from one subtask, in an order no schedule changes?
fn ordered_per_key(model: &DataflowModel, operator: usize) -> bool {
    let op = &model.job.operators[operator];
    match op.kind {
        OperatorKind::Source(_) => op.parallelism == 1,
        _ => single_channel_input(model, operator, ordered_per_key),
    }
}

/// Has `operator` exactly one input, which sends each key along one channel, from an operator for
/// which `upstream` holds?
fn single_channel_input(
    model: &DataflowModel,
    operator: usize,
    upstream: fn(&DataflowModel, usize) -> bool,
) -> bool {
    let op = &model.job.operators[operator];
    let [input] = op.inputs.as_slice() else {
        return false;
    };
    let one_channel_per_key = match input.partitioner {
        Partitioner::Forward | Partitioner::Hash => true,
        Partitioner::Rebalance | Partitioner::Broadcast => op.parallelism == 1,
    };
    one_channel_per_key && upstream(model, input.from)
}
