//! What a job's configuration promises about delivery — decided by the configuration alone, before
//! anything runs, as Flink's documentation states it:
//! - the checkpointing mode decides what operator state promises (`EXACTLY_ONCE` — aligned,
//!   unaligned, aligned with a timeout — or `AT_LEAST_ONCE`; no checkpointing promises nothing);
//! - each sink can keep that promise end to end or weaken it: a two-phase-commit or file sink
//!   keeps exactly-once; an idempotent sink keeps it only when each key's last write reaches it
//!   along one path; a plain sink writes at once, so a replay shows duplicates: at-least-once.
//!
//! The oracle's delivery check evaluates exactly the guarantee promised here, and a scenario may
//! only expect a guarantee to fail if it is evaluated (the scenario loader asks this module).

use super::model::DataflowModel;
use crate::checkpoint::SnapshotProtocol;
use crate::oracle::Invariant;
use crate::topology::job::Partitioner;
use crate::workload::dataflow::{OperatorKind, SinkDelivery};
use serde::Serialize;

/// What a configuration promises.
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

/// What the checkpointing mode promises for operator state.
pub fn state_promise(model: &DataflowModel) -> Promise {
    match model.checkpointing.as_ref().map(|c| c.protocol) {
        None => Promise::None,
        Some(SnapshotProtocol::AtLeastOnce) => Promise::AtLeastOnce,
        Some(_) => Promise::ExactlyOnce,
    }
}

/// What one sink operator promises end to end, and why it is less than the state's promise when it
/// is.
pub fn sink_promise(model: &DataflowModel, sink: usize) -> (Promise, Option<String>) {
    let OperatorKind::Sink(config) = &model.job.operators[sink].kind else {
        panic!("operator {sink} is not a sink")
    };
    let state = state_promise(model);
    match (state, config.delivery) {
        (Promise::None, _) => (Promise::None, None),
        (Promise::ExactlyOnce, SinkDelivery::TwoPhaseCommit | SinkDelivery::File) => {
            (Promise::ExactlyOnce, None)
        }
        (Promise::ExactlyOnce, SinkDelivery::Idempotent) => {
            if last_write_per_key_is_determined(model, sink) {
                (Promise::ExactlyOnce, None)
            } else {
                (
                    Promise::AtLeastOnce,
                    Some(
                        "an idempotent sink's table is exactly-once only when each key's last write \
                         reaches it along one path; here one key's records arrive on several \
                         channels, so which one lands last depends on timing (feed the sink from \
                         one keyed operator)"
                            .to_string(),
                    ),
                )
            }
        }
        (Promise::ExactlyOnce, SinkDelivery::Plain) => (
            Promise::AtLeastOnce,
            Some(
                "a plain sink writes each record at once, so records replayed after a restore are \
                 written again"
                    .to_string(),
            ),
        ),
        (Promise::AtLeastOnce, _) => (Promise::AtLeastOnce, None),
    }
}

/// The delivery invariant the oracle evaluates for this job, with the reason in words: exactly-once
/// when the state and every sink promise it, at-least-once when something promises less, none
/// without checkpointing.
pub fn evaluated_guarantee(model: &DataflowModel) -> (Option<Invariant>, String) {
    let sinks: Vec<usize> = (0..model.job.operators.len())
        .filter(|&o| matches!(model.job.operators[o].kind, OperatorKind::Sink(_)))
        .collect();
    match state_promise(model) {
        Promise::None => (
            None,
            "without checkpointing nothing is promised, so neither exactly_once nor at_least_once is checked".to_string(),
        ),
        Promise::AtLeastOnce => (
            Some(Invariant::AtLeastOnce),
            "checkpointing mode AT_LEAST_ONCE promises at-least-once, so at_least_once is checked".to_string(),
        ),
        Promise::ExactlyOnce => match sinks
            .iter()
            .find(|&&s| sink_promise(model, s).0 != Promise::ExactlyOnce)
        {
            None => (
                Some(Invariant::ExactlyOnce),
                "checkpointing mode EXACTLY_ONCE with sinks that keep it promises exactly-once, so exactly_once is checked".to_string(),
            ),
            Some(&sink) => (
                Some(Invariant::AtLeastOnce),
                format!(
                    "sink \"{}\" promises only at-least-once ({}), so at_least_once is checked",
                    model.job.operators[sink].name,
                    sink_promise(model, sink).1.unwrap_or_default()
                ),
            ),
        },
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
pub fn last_write_per_key_is_determined(model: &DataflowModel, operator: usize) -> bool {
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
