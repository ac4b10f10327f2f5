//! The failure-free computation of a job: what its operators produce from its sources' logs, with
//! no network, no timing and no failures — just the operator functions applied to every record in
//! log order. Two checks stand on it:
//! - prefix consistency ([`super::dataflow`]): a checkpoint's state must equal this computation
//!   on the source prefixes the checkpoint recorded;
//! - delivery ([`super::delivery`]): what a read-committed reader sees at each sink must be what
//!   this computation hands the sink — every record the job should produce, once (or at least once).
//!
//! The computation regenerates each source's log from the run's seed (a source's log is the same
//! in every run with that seed, whatever the timing: that is what makes sources replayable), so it
//! reads only the scenario, never the simulated run's private state.

use crate::engine::RngStreams;
use crate::scenario::DataflowModel;
use crate::topology::job::{ExecutionGraph, OperatorIndex, Partitioner, TaskIndex};
use crate::workload::dataflow::{OperatorKind, OperatorState, Record, SourceLog, apply};
use std::collections::BTreeMap;

/// A record's identity: (source subtask, offset in its log). Records keep it through every
/// operator, so a sink's output can be traced back to the source record it came from.
pub(super) type Identity = (u32, u64);

/// A small value per record, stored densely by source subtask and offset — a source's offsets
/// run 0, 1, 2, … — so the delivery check's tables cost a few bytes per record rather than a
/// tree node each (for a job of 10⁶ records, megabytes instead of hundreds of them). A record
/// never stored reads as `T::default()`; iteration is in identity order, as a sorted map's.
#[derive(Default)]
pub(super) struct PerRecord<T> {
    by_task: Vec<Vec<T>>,
}

impl<T: Copy + Default + PartialEq> PerRecord<T> {
    /// The value stored for `id`, or the default.
    pub fn get(&self, (task, offset): Identity) -> T {
        self.by_task
            .get(task as usize)
            .and_then(|values| values.get(offset as usize))
            .copied()
            .unwrap_or_default()
    }

    /// The value for `id`, to change (the table grows to hold it).
    pub fn get_mut(&mut self, (task, offset): Identity) -> &mut T {
        let task = task as usize;
        if self.by_task.len() <= task {
            self.by_task.resize_with(task + 1, Vec::new);
        }
        let values = &mut self.by_task[task];
        let offset = usize::try_from(offset).expect("a source offset fits in memory");
        if values.len() <= offset {
            values.resize(offset + 1, T::default());
        }
        &mut values[offset]
    }

    /// Every record whose value is not the default, in (source subtask, offset) order.
    pub fn iter(&self) -> impl Iterator<Item = (Identity, T)> + '_ {
        self.by_task.iter().enumerate().flat_map(|(task, values)| {
            values
                .iter()
                .enumerate()
                .filter(|(_, value)| **value != T::default())
                .map(move |(offset, &value)| ((task as u32, offset as u64), value))
        })
    }
}

/// What the failure-free computation hands one sink.
#[derive(Default)]
pub(super) struct SinkOutput {
    /// Copies of each record the sink receives (more than one behind a broadcast), with its key;
    /// (0, 0) for a record that never reaches it.
    pub copies: PerRecord<(u32, u32)>,
    /// Per key, the value of the last record the sink receives: what an upserting sink's table
    /// holds at the end (meaningful when each key's last write comes along one path).
    pub last_value: BTreeMap<u32, i64>,
}

impl SinkOutput {
    /// Records the sink receives, copies counted.
    pub fn records(&self) -> u64 {
        self.copies
            .iter()
            .map(|(_, (copies, _))| u64::from(copies))
            .sum()
    }
}

/// The failure-free computation, extended source by source as prefixes grow.
pub(super) struct Reference<'a> {
    model: &'a DataflowModel,
    logs: BTreeMap<TaskIndex, (SourceLog, Vec<u32>)>,
    consumed: BTreeMap<TaskIndex, u64>,
    /// Per operator: the state its subtasks would hold together.
    pub states: Vec<OperatorState>,
    /// For each operator: its consumers, and how many copies of a record each receives.
    pub consumers: Vec<Vec<(OperatorIndex, u32)>>,
    /// Where the computation starts (empty, or a savepoint).
    initial_states: Vec<OperatorState>,
    initial_offsets: BTreeMap<TaskIndex, u64>,
    /// Per sink operator, what reaches it — kept only when asked for ([`Reference::with_sinks`]):
    /// prefix checks do not need it.
    sinks: Option<BTreeMap<OperatorIndex, SinkOutput>>,
}

impl<'a> Reference<'a> {
    /// The computation before any record: the initial state (empty, or the savepoint's).
    pub fn new(model: &'a DataflowModel, seed: u64, graph: &ExecutionGraph) -> Reference<'a> {
        let streams = RngStreams::new(seed);
        let mut logs = BTreeMap::new();
        for (task, vertex) in graph.tasks.iter().enumerate() {
            if let OperatorKind::Source(config) = &model.job.operators[vertex.chain[0]].kind {
                logs.insert(
                    task,
                    (
                        SourceLog::new(&streams, &format!("source-log/{}", vertex.name), config),
                        Vec::new(),
                    ),
                );
            }
        }
        let mut consumers = vec![Vec::new(); model.job.operators.len()];
        for (index, operator) in model.job.operators.iter().enumerate() {
            for input in &operator.inputs {
                let copies = if input.partitioner == Partitioner::Broadcast {
                    operator.parallelism
                } else {
                    1
                };
                consumers[input.from].push((index, copies));
            }
        }
        // A job started from a savepoint computes onwards from the savepoint's state and offsets.
        let mut initial_states = vec![OperatorState::default(); model.job.operators.len()];
        let mut initial_offsets = BTreeMap::new();
        if let Some(initial) = &model.initial_state {
            for (task, vertex) in graph.tasks.iter().enumerate() {
                for (position, &operator) in vertex.chain.iter().enumerate() {
                    let state = &initial.task_states[task][position];
                    if matches!(model.job.operators[operator].kind, OperatorKind::Source(_)) {
                        initial_offsets.insert(task, state.offset);
                    } else {
                        initial_states[operator].merge(state);
                    }
                }
            }
        }
        Reference {
            model,
            logs,
            consumed: initial_offsets.clone(),
            states: initial_states.clone(),
            consumers,
            initial_states,
            initial_offsets,
            sinks: None,
        }
    }

    /// Also keeps what reaches each sink, for the delivery check.
    pub fn with_sinks(mut self) -> Reference<'a> {
        let sinks = (0..self.model.job.operators.len())
            .filter(|&o| matches!(self.model.job.operators[o].kind, OperatorKind::Sink(_)))
            .map(|o| (o, SinkOutput::default()))
            .collect();
        self.sinks = Some(sinks);
        self
    }

    /// What reached `sink` so far (`None` unless built [`Reference::with_sinks`]).
    pub fn sink_output(&self, sink: OperatorIndex) -> Option<&SinkOutput> {
        self.sinks.as_ref()?.get(&sink)
    }

    fn reset(&mut self) {
        self.consumed = self.initial_offsets.clone();
        self.states = self.initial_states.clone();
        if let Some(sinks) = &mut self.sinks {
            for output in sinks.values_mut() {
                *output = SinkOutput::default();
            }
        }
    }

    /// Brings the reference to exactly these source prefixes.
    pub fn advance_to(
        &mut self,
        offsets: &BTreeMap<TaskIndex, u64>,
        source_operator: &BTreeMap<TaskIndex, OperatorIndex>,
    ) {
        if offsets
            .iter()
            .any(|(task, &offset)| self.consumed.get(task).copied().unwrap_or(0) > offset)
        {
            self.reset();
        }
        for (&task, &offset) in offsets {
            let from = self.consumed.get(&task).copied().unwrap_or(0);
            for position in from..offset {
                let key = self.key_at(task, position);
                let record = Record {
                    key,
                    source_task: task as u32,
                    offset: position,
                    value: 1,
                    created_at_us: 0,
                };
                let operator = source_operator[&task];
                self.push(operator, record, true);
            }
            self.consumed.insert(task, offset);
        }
    }

    fn key_at(&mut self, task: TaskIndex, offset: u64) -> u32 {
        let (log, keys) = self.logs.get_mut(&task).expect("a source task");
        while keys.len() as u64 <= offset {
            keys.push(log.next_key().1);
        }
        keys[offset as usize]
    }

    /// Applies `operator` (and everything downstream) to one record.
    fn push(&mut self, operator: OperatorIndex, record: Record, is_source_emission: bool) {
        let kind = &self.model.job.operators[operator].kind;
        if let (OperatorKind::Sink(_), Some(sinks)) = (kind, &mut self.sinks) {
            let output = sinks.get_mut(&operator).expect("every sink is listed");
            let entry = output.copies.get_mut((record.source_task, record.offset));
            *entry = (entry.0 + 1, record.key);
            output.last_value.insert(record.key, record.value);
        }
        let output = if is_source_emission {
            Some(record)
        } else {
            apply(kind, &mut self.states[operator], record)
        };
        if let Some(output) = output {
            for index in 0..self.consumers[operator].len() {
                let (consumer, copies) = self.consumers[operator][index];
                for _ in 0..copies {
                    self.push(consumer, output, false);
                }
            }
        }
    }
}

/// Applies the operators of a task's chain, from `position`, and everything downstream of it, to
/// one record — what a restore does with a persisted in-flight record.
pub(super) fn replay_into(
    model: &DataflowModel,
    consumers: &[Vec<(OperatorIndex, u32)>],
    states: &mut [OperatorState],
    operator: OperatorIndex,
    record: Record,
) {
    let kind = &model.job.operators[operator].kind;
    if let Some(output) = apply(kind, &mut states[operator], record) {
        for &(consumer, copies) in &consumers[operator] {
            for _ in 0..copies {
                replay_into(model, consumers, states, consumer, output);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PerRecord;

    /// The delivery check reads its tables in identity order to name the first lost record: the
    /// dense table must list what a sorted map would, in the same order, skipping the unset.
    #[test]
    fn a_per_record_table_reads_like_a_sorted_map() {
        let mut table: PerRecord<u32> = PerRecord::default();
        *table.get_mut((2, 5)) += 1;
        *table.get_mut((0, 3)) += 2;
        *table.get_mut((2, 1)) += 1;
        *table.get_mut((2, 5)) += 1;
        assert_eq!(table.get((2, 5)), 2);
        assert_eq!(
            table.get((1, 0)),
            0,
            "a task never stored reads as the default"
        );
        assert_eq!(
            table.get((0, 99)),
            0,
            "an offset past the end reads as the default"
        );
        let listed: Vec<_> = table.iter().collect();
        assert_eq!(listed, vec![((0, 3), 2), ((2, 1), 1), ((2, 5), 2)]);
    }
}
