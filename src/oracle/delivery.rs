//! Invariants 6 (exactly-once) and 7 (at-least-once): what a reader of each sink sees, checked
//! against what the job should produce — the failure-free computation of its operators on every
//! record its sources hold ([`super::reference`]), not against another simulated run, which would
//! share a misconfiguration (a transaction timeout shorter than the checkpoint interval loses the
//! same records in every run). The check runs with and without faults.
//!
//! - **Exactly-once** (checkpointing EXACTLY_ONCE, and for the output a two-phase-commit, file, or
//!   idempotent sink): the final keyed state and the committed output are the computation's —
//!   every record's effect once, none lost, none twice. An idempotent sink keeps it only when each
//!   key's last write reaches it along one path (typically: fed by one keyed aggregation through a
//!   forward or hash edge): otherwise one key's upserts arrive on several channels, and the last to
//!   land depends on timing — replays or not. Such a sink promises at-least-once, and says why.
//! - **At-least-once** (AT_LEAST_ONCE, or a plain sink): nothing the job should produce is
//!   missing; duplicates are expected, counted per key, and shown.
//! - **No checkpointing**: no promise; losses and duplicates are reported as found.
//!
//! Which of the two is checked is decided by the configuration alone
//! ([`crate::scenario::guarantee`]). Losses are counted only for a job that finished: a job still
//! running at the end of the run has records on their way. Records are identified by where they
//! came from: (source subtask, offset in its log). When a check fails, the explanation names the
//! first divergent record, when it was written, in which transaction, and why that transaction
//! never committed.

use super::reference::{Identity, PerRecord, Reference};
use super::{Check, Invariant};
use crate::dataflow::{DataflowRun, JobStatus};
use crate::scenario::DataflowModel;
pub use crate::scenario::guarantee::Promise;
use crate::scenario::guarantee::{sink_promise, state_promise};
use crate::topology::job::TaskIndex;
use crate::workload::dataflow::{KeyTotals, OperatorKind, OperatorState, SinkDelivery};
use crate::workload::sink::{AbortCause, ExternalSink, TransactionState, Write};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What one sink delivered, compared with what the job should produce.
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
    /// Records the job should deliver to this sink: the failure-free computation's output on
    /// every record its sources read (copies behind a broadcast counted).
    pub expected_records: u64,
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
    /// Expected records a read-committed reader never saw (for a job that did not finish: not
    /// yet delivered, not counted as lost).
    pub lost: u64,
    /// Of the lost records, those whose only writes were in transactions the external system
    /// aborted by its transaction timeout.
    pub lost_to_transaction_timeout: u64,
    /// Duplicates per key (the ten keys with most).
    pub duplicates_per_key: Vec<(u32, u64)>,
    /// Transactions aborted (two-phase commit).
    pub transactions_aborted: usize,
    /// Transactions committed (two-phase commit).
    pub transactions_committed: usize,
    /// Of the aborted transactions, those the external system aborted by its transaction timeout
    /// (their records are lost if a checkpoint held them).
    pub transactions_timed_out: usize,
    /// When each of the `duplicates` became visible to a read-committed reader (µs, ascending): a
    /// plain or idempotent sink's write at once, a transaction's writes when it committed. Not in
    /// the report (it grows with the output); the web view shows the count at the scrubbed instant.
    #[serde(skip)]
    pub duplicates_visible_at_us: Vec<u64>,
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

fn describe_write(run: &DataflowRun, sink: &ExternalSink, write: &Write) -> String {
    let source = &run.graph.tasks[write.record.source_task as usize].name;
    format!(
        "record {source} offset {} (key {}) {}",
        write.record.offset,
        write.record.key,
        write_details(sink, write)
    )
}

/// When, by which subtask and in which transaction (and what became of it) a write happened.
fn write_details(sink: &ExternalSink, write: &Write) -> String {
    let mut text = format!(
        "written at {}us by sink subtask {}",
        write.at_us, write.subtask
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

fn merged_states(model: &DataflowModel, run: &DataflowRun) -> Vec<OperatorState> {
    let mut merged = vec![OperatorState::default(); model.job.operators.len()];
    for (task, vertex) in run.graph.tasks.iter().enumerate() {
        for (position, &operator) in vertex.chain.iter().enumerate() {
            merged[operator].merge(&run.final_states[task][position]);
        }
    }
    merged
}

fn identity(write: &Write) -> Identity {
    (write.record.source_task, write.record.offset)
}

fn after(failures: usize) -> String {
    match failures {
        0 => "without failures".to_string(),
        n => format!("after {n} failure(s)"),
    }
}

/// The source records the job should have processed, per source subtask: a finished job, each
/// source's whole log (from its savepoint offset, if it started from one); a job still running,
/// what its sources read — the furthest any of them got, counting reads undone by a rewind, since
/// their output may have been committed before it.
fn expected_offsets(
    model: &DataflowModel,
    run: &DataflowRun,
    finished: bool,
) -> (BTreeMap<TaskIndex, u64>, BTreeMap<TaskIndex, usize>) {
    let mut offsets = BTreeMap::new();
    let mut source_operator = BTreeMap::new();
    for (task, vertex) in run.graph.tasks.iter().enumerate() {
        let operator = vertex.chain[0];
        let OperatorKind::Source(config) = &model.job.operators[operator].kind else {
            continue;
        };
        source_operator.insert(task, operator);
        let read = run.final_states[task][0].offset;
        let offset = match config.records {
            Some(records) if finished => records,
            _ => read,
        };
        offsets.insert(task, offset);
    }
    if !finished {
        for sink in &run.sinks {
            for write in &sink.writes {
                let task = write.record.source_task as TaskIndex;
                if let Some(offset) = offsets.get_mut(&task) {
                    *offset = (*offset).max(write.record.offset + 1);
                }
            }
        }
    }
    (offsets, source_operator)
}

/// Compares what each sink's readers see, and the final keyed state, with what the job should
/// produce.
pub fn check(model: &DataflowModel, seed: u64, run: &DataflowRun) -> DeliveryVerdict {
    let state_promise = state_promise(model);
    let finished = matches!(run.status, JobStatus::Finished { .. });
    let (offsets, source_operator) = expected_offsets(model, run, finished);
    let mut reference = Reference::new(model, seed, &run.graph).with_sinks();
    reference.advance_to(&offsets, &source_operator);
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
        let sink = &run.sinks[index];
        let expected = reference
            .sink_output(operator)
            .expect("the reference keeps every sink's output");
        let (promise, promise_limited_because) = sink_promise(model, operator);
        let name = &model.job.operators[operator].name;
        let committed = sink.read_committed();
        let allowed = |id: &Identity| u64::from(expected.copies.get(*id).0);

        // One pass in output order: a copy beyond what the job produces is a duplicate (the
        // replayed one, since it comes later); the first copy of each record is its original.
        let mut have: PerRecord<u32> = PerRecord::default();
        let mut duplicates = 0;
        let mut duplicates_by_key: BTreeMap<u32, u64> = BTreeMap::new();
        let mut first_duplicate: Option<&Write> = None;
        for &write in &committed {
            let id = identity(write);
            let copies = have.get_mut(id);
            *copies += 1;
            if u64::from(*copies) > allowed(&id) {
                duplicates += 1;
                *duplicates_by_key.entry(write.record.key).or_default() += 1;
                first_duplicate.get_or_insert(write);
            }
        }
        // The same count in the order a read-committed reader saw the writes: at each instant,
        // the copies visible then beyond what the job produces.
        let visible_at_us = |write: &Write| match write.transaction {
            None => write.at_us,
            Some(id) => match sink.transactions[id as usize].state {
                TransactionState::Committed { at_us } => at_us,
                _ => write.at_us,
            },
        };
        let mut in_visible_order: Vec<(u64, &Write)> =
            committed.iter().map(|&w| (visible_at_us(w), w)).collect();
        in_visible_order.sort_by_key(|&(at_us, _)| at_us);
        let mut visible: PerRecord<u32> = PerRecord::default();
        let mut duplicates_visible_at_us = Vec::new();
        for (at_us, write) in in_visible_order {
            let id = identity(write);
            let copies = visible.get_mut(id);
            *copies += 1;
            if u64::from(*copies) > allowed(&id) {
                duplicates_visible_at_us.push(at_us);
            }
        }
        // Every write, committed or not, by record: where a missing record went (as its index
        // in the sink's writes plus one; 0 for never written).
        let mut last_write_index: PerRecord<u32> = PerRecord::default();
        for (index, write) in sink.writes.iter().enumerate() {
            *last_write_index.get_mut(identity(write)) =
                u32::try_from(index + 1).expect("fewer than 2³² writes per sink");
        }
        let last_write = |id: Identity| match last_write_index.get(id) {
            0 => None,
            index => Some(&sink.writes[index as usize - 1]),
        };
        let timed_out = |write: &Write| {
            write.transaction.is_some_and(|id| {
                matches!(
                    sink.transactions[id as usize].state,
                    TransactionState::Aborted {
                        reason: AbortCause::TransactionTimeout,
                        ..
                    }
                )
            })
        };
        let mut lost = 0;
        let mut lost_to_transaction_timeout = 0;
        let mut first_lost: Option<(Identity, u32)> = None;
        for (id, (copies, key)) in expected.copies.iter() {
            let missing = u64::from(copies.saturating_sub(have.get(id)));
            if missing == 0 {
                continue;
            }
            lost += missing;
            if last_write(id).is_some_and(timed_out) {
                lost_to_transaction_timeout += missing;
            }
            first_lost.get_or_insert((id, key));
        }
        let mut by_key: Vec<(u32, u64)> = duplicates_by_key.into_iter().collect();
        by_key.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        by_key.truncate(10);

        if finished && let Some((id, key)) = first_lost {
            let source = &run.graph.tasks[id.0 as usize].name;
            let fate = last_write(id).map_or("it was never written in this run".to_string(), |w| {
                format!("in this run it was {}", write_details(sink, w))
            });
            let cause = if lost_to_transaction_timeout > 0 {
                let timeout = match &model.job.operators[operator].kind {
                    OperatorKind::Sink(config) => config
                        .transaction_timeout_us
                        .map_or(String::new(), |t| format!(" ({}ms)", t / 1000)),
                    _ => String::new(),
                };
                format!(
                    "; {lost_to_transaction_timeout} of them were in transactions the external system aborted by its transaction timeout{timeout} before Flink committed them — a transaction must outlive the checkpoint that commits it, and any downtime before the commit"
                )
            } else {
                String::new()
            };
            output_problems.push((
                Promise::AtLeastOnce,
                format!(
                    "sink \"{name}\" lost {lost} of the {} record(s) the job should deliver to it{cause}; the first: {source} offset {} (key {key}), never seen by a read-committed reader — {fate}",
                    expected.records(),
                    id.1
                ),
            ));
        }
        if let Some(write) = first_duplicate
            && promise == Promise::ExactlyOnce
            && sink.delivery.is_transactional()
        {
            let id = identity(write);
            // The original is the first committed copy of the same record.
            let original = committed
                .iter()
                .copied()
                .find(|w| identity(w) == id)
                .expect("a duplicate's record was committed before");
            let detail = if allowed(&id) == 0 {
                format!(
                    "{} — a record the job does not deliver to this sink",
                    describe_write(run, sink, write)
                )
            } else {
                format!(
                    "{} — already committed as {}",
                    describe_write(run, sink, write),
                    describe_write(run, sink, original)
                )
            };
            output_problems.push((
                Promise::ExactlyOnce,
                format!("sink \"{name}\" committed {duplicates} duplicate(s); the first: {detail}"),
            ));
        }
        if promise == Promise::ExactlyOnce && sink.delivery == SinkDelivery::Idempotent && finished
        {
            let table = sink.upserted();
            if let Some((key, value)) = expected
                .last_value
                .iter()
                .find(|(k, v)| table.get(k) != Some(v))
            {
                output_problems.push((
                    Promise::ExactlyOnce,
                    format!(
                        "idempotent sink \"{name}\": key {key} ends as {:?}, but the job's last write of it is {value}",
                        table.get(key)
                    ),
                ));
            }
        }
        let count = |wanted: fn(&TransactionState) -> bool| {
            sink.transactions
                .iter()
                .filter(|t| wanted(&t.state))
                .count()
        };
        let mut uncommitted: PerRecord<u32> = PerRecord::default();
        for write in &sink.writes {
            *uncommitted.get_mut(identity(write)) += 1;
        }
        let uncommitted_duplicates = uncommitted
            .iter()
            .map(|(id, count)| u64::from(count).saturating_sub(allowed(&id)))
            .sum();
        sinks.push(SinkDelivered {
            sink: name.clone(),
            delivery: sink.delivery,
            promise,
            promise_limited_because,
            expected_records: expected.records(),
            committed_records: committed.len(),
            uncommitted_records: sink.writes.len(),
            duplicates,
            uncommitted_duplicates,
            lost,
            lost_to_transaction_timeout,
            duplicates_per_key: by_key,
            transactions_aborted: count(|s| matches!(s, TransactionState::Aborted { .. })),
            transactions_committed: count(|s| matches!(s, TransactionState::Committed { .. })),
            transactions_timed_out: count(|s| {
                matches!(
                    s,
                    TransactionState::Aborted {
                        reason: AbortCause::TransactionTimeout,
                        ..
                    }
                )
            }),
            duplicates_visible_at_us,
        });
    }

    // Final keyed state, operator by operator, against the computation on every source record.
    let mut state_problem: Option<(Promise, String)> = None;
    if finished {
        let have = merged_states(model, run);
        let want = &reference.states;
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
                            "operator \"{}\" key {key}: final count {} but the job's records give {}: {} record(s) lost",
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
                            "operator \"{}\" key {key}: final count {} but the job's records give {}: {} record(s) counted twice",
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
        " (the job did not finish, so only what it did deliver is compared; records still on their way are not counted as lost)"
            .to_string()
    };
    if promises_exactly_once {
        checks.push(match problems.first() {
            None => Check::pass(
                Invariant::ExactlyOnce,
                format!(
                    "{}, final keyed state and committed output are exactly what the job's records produce{scope}",
                    after(failures)
                ),
            ),
            Some((_, first)) => Check::fail(Invariant::ExactlyOnce, first.clone()),
        });
    } else if state_promise != Promise::None {
        let duplicates: u64 = sinks.iter().map(|s| s.duplicates).sum();
        checks.push(
            match problems.iter().find(|(p, _)| *p == Promise::AtLeastOnce) {
                None => Check::pass(
                    Invariant::AtLeastOnce,
                    format!(
                        "{}, nothing the job's records produce is missing; {duplicates} duplicate record(s) reached the sinks{scope}",
                        after(failures)
                    ),
                ),
                Some((_, first)) => Check::fail(Invariant::AtLeastOnce, first.clone()),
            },
        );
    }
    let parts: Vec<String> = sinks
        .iter()
        .map(|s| {
            format!(
                "{}: {} committed of {} expected, {} duplicate(s), {} {}",
                s.sink,
                s.committed_records,
                s.expected_records,
                s.duplicates,
                s.lost,
                if finished {
                    "lost"
                } else {
                    "not yet delivered"
                }
            )
        })
        .collect();
    let summary = format!(
        "{}; {}",
        match failures {
            0 => "no failure".to_string(),
            n => format!("{n} failure(s)"),
        },
        if parts.is_empty() {
            "no sinks".to_string()
        } else {
            parts.join("; ")
        }
    );
    DeliveryVerdict {
        state_promise,
        sinks,
        checks,
        summary,
    }
}
