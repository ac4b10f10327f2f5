//! End of data and finishing (FLIP-147): a task whose input has ended sends end of partition
//! behind its last record, keeps taking checkpoints, and finishes once its consumers have read
//! everything, its producers have finished and — with checkpointing on — a checkpoint it took
//! after its input ended has completed, so a two-phase-commit sink commits its last transaction.

use super::channel::Item;
use super::event::Event;
use super::state::World;
use super::task::{Activity, Status};
use crate::dataflow::results::JobStatus;
use crate::engine::SimTime;
use crate::topology::job::{DataChannelIndex, TaskIndex};
use crate::trace::DataflowEvent;

impl World<'_> {
    /// The task finishes: end of partition behind its last record, its consumers woken, the job
    /// manager told.
    pub(super) fn finish_task(&mut self, now: SimTime, task: TaskIndex) {
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
    pub(super) fn maybe_finish(&mut self, now: SimTime, task: TaskIndex) {
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
    pub(super) fn end_data(&mut self, now: SimTime, task: TaskIndex) {
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
    pub(super) fn try_finish(&mut self, now: SimTime, task: TaskIndex) {
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
    pub(super) fn input_released(&self, channel: DataChannelIndex) -> bool {
        let c = &self.channels[channel];
        self.tasks[c.from].status == Status::Finished
            && c.sender.is_empty()
            && c.in_transit.is_empty()
            && c.receiver.is_empty()
    }

    /// Whether a task has seen all of its input: a bounded source has emitted its last record,
    /// any other task has seen end-of-partition on every input channel.
    pub(super) fn input_ended(&self, task: TaskIndex) -> bool {
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
    pub(super) fn waits_for_final_checkpoint(&self, task: TaskIndex) -> bool {
        self.coordinator.is_some() && !self.tasks[task].final_checkpoint_done
    }
}
