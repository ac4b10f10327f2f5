//! The task loop (Flink's mailbox model): a task runs mailbox actions first (checkpoint
//! triggers, timers), then priority events (unaligned barriers), then one record at a time from
//! the next input in round-robin order, paying each record's cost in virtual time; a source emits
//! at its rate. A task is woken whenever something may let it make progress, and its time is
//! accounted as busy, backpressured or idle, as Flink's task metrics split it.

use super::buffer::BufferId;
use super::channel::Item;
use super::event::Event;
use super::state::World;
use super::task::{Activity, Mail, Status};
use crate::checkpoint::barrier;
use crate::dataflow::results::{ActivityChange, RunDetail};
use crate::engine::SimTime;
use crate::topology::job::{DataChannelIndex, TaskIndex};
use crate::workload::dataflow::{OperatorKind, Record, apply};

impl World<'_> {
    /// Schedules the task to be reconsidered: something may let it make progress.
    pub(super) fn wake(&mut self, task: TaskIndex) {
        if !self.waking[task] {
            self.waking[task] = true;
            self.wake.push_back(task);
        }
    }

    /// Lets every woken task make progress, in the order they were woken.
    pub(super) fn drain_wake(&mut self, now: SimTime) {
        while let Some(task) = self.wake.pop_front() {
            self.waking[task] = false;
            self.progress(now, task);
        }
    }

    /// Accounts the time since the last change to what the task was doing, and notes the change.
    pub(super) fn set_activity(&mut self, now: SimTime, task: TaskIndex, activity: Activity) {
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
            self.activity_log.push(ActivityChange {
                at_us: now.as_micros(),
                task: task as u32,
                activity,
            });
        }
    }

    /// Traced runs: the channel's record count changed (a record written or read, or a reset).
    pub(super) fn note_channel_level(&mut self, now: SimTime, channel: DataChannelIndex) {
        if self.detail == RunDetail::Traced {
            let c = &self.channels[channel];
            self.channel_log
                .push(crate::dataflow::results::ChannelLevel {
                    at_us: now.as_micros(),
                    channel: channel as u32,
                    records: c.records_enqueued.saturating_sub(c.records_consumed) as u32,
                });
        }
    }

    /// Can the task produce output? Flink's `RecordWriter.isAvailable`: a free buffer in the pool
    /// and no subpartition over `max-buffers-per-channel`.
    pub(super) fn output_available(&self, task: TaskIndex) -> bool {
        let t = &self.tasks[task];
        t.pool_used < t.pool_capacity
            && t.outputs
                .iter()
                .all(|&c| self.channels[c].queued_data < self.model.network.max_buffers_per_channel)
    }

    /// The task loop: mailbox actions first, then priority events, then one record at a time.
    pub(super) fn progress(&mut self, now: SimTime, task: TaskIndex) {
        loop {
            if self.stopped || !matches!(self.tasks[task].status, Status::Idle) {
                return;
            }
            let woken_for =
                !self.tasks[task].mailbox.is_empty() || !self.tasks[task].priority.is_empty();
            if woken_for && !self.core_for_mail(now, task) {
                return; // a sleeping thread woken for a mail or a priority barrier waits for a core
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
                self.note_channel_level(now, channel);
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
    pub(super) fn poll_next(&mut self, now: SimTime, task: TaskIndex) -> bool {
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
    pub(super) fn has_readable_item(&self, channel: DataChannelIndex) -> bool {
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
    pub(super) fn take_slice(
        &mut self,
        task: TaskIndex,
        channel: DataChannelIndex,
        buffer: BufferId,
    ) -> bool {
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
        if let Some(checkpoint) = self.channels[channel].recording.recording()
            && local
        {
            self.persist_records(task, checkpoint, channel, buffer, from, to, false);
        }
        self.tasks[task].reading = Some((channel, buffer, from, to));
        true
    }

    /// Queues `channel` among the task's inputs with something to read.
    pub(super) fn enqueue_poll(&mut self, task: TaskIndex, channel: DataChannelIndex) {
        if !self.channels[channel].in_poll_queue {
            self.channels[channel].in_poll_queue = true;
            self.tasks[task].poll.push_back(channel);
        }
    }

    /// Starts processing one record: its work (the user functions' cost and the framework cost)
    /// takes virtual time on a core; work-free records run at once.
    pub(super) fn start_record(&mut self, now: SimTime, task: TaskIndex, record: Record) {
        self.tasks[task].metrics.records_in += 1;
        let t = &mut self.tasks[task];
        let mut cost_us = t.framework_us;
        for index in 0..t.costs.len() {
            cost_us += t.costs[index].sample_us(&mut t.rng);
        }
        if now < t.straggling_until {
            cost_us = (cost_us as f64 * t.straggle_factor) as u64;
        }
        if cost_us == 0 {
            self.run_chain(now, task, record);
        } else {
            self.tasks[task].in_hand = Some(record);
            self.run_on_core(now, task, cost_us);
        }
    }

    /// A costly record is done: its results go through the rest of the chain.
    pub(super) fn record_done(&mut self, now: SimTime, task: TaskIndex, incarnation: u32) {
        if incarnation != self.tasks[task].incarnation {
            return; // the record of an attempt that a failure cancelled
        }
        let record = self.tasks[task]
            .in_hand
            .take()
            .expect("a record was in hand");
        self.tasks[task].status = Status::Idle;
        self.after_work(task);
        self.run_chain(now, task, record);
        self.wake(task);
    }

    /// Applies the chain's operators to a record and emits what comes out of the last one.
    pub(super) fn run_chain(&mut self, now: SimTime, task: TaskIndex, record: Record) {
        let mut current = Some(record);
        for position in 0..self.tasks[task].chain.len() {
            let Some(record) = current else { break };
            let operator = self.tasks[task].chain[position];
            let kind = &self.model.job.operators[operator].kind;
            if let Some(Some(db)) = self.tasks[task].rocksdb.get_mut(position) {
                db.write(record.key);
            }
            if let Some((sink_position, sink)) = self.tasks[task].sink
                && sink_position == position
            {
                let subtask = self.tasks[task].subtask;
                if let Err(fenced) = self.sinks[sink].write(subtask, record, now.as_micros()) {
                    let cause = format!(
                        "{}: the external system aborted transaction {} at {} (open longer than the transaction timeout) and refuses the next write (Kafka fences the producer)",
                        self.graph.tasks[task].name,
                        fenced.transaction,
                        SimTime::from_micros(fenced.aborted_at_us)
                    );
                    self.crash_task(now, task, self.model.network.rpc_latency_us, cause);
                    return;
                }
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
    pub(super) fn source_step(&mut self, now: SimTime, task: TaskIndex) -> bool {
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
        // A source asks for its next record only when its output can take one.
        if !self.output_available(task) {
            self.set_activity(now, task, Activity::Backpressured);
            return false;
        }
        let source = self.tasks[task].source.as_mut().expect("source");
        if let Some(limiter) = source.limiter.as_mut() {
            let ticket = *source
                .reserved_until_us
                .get_or_insert_with(|| limiter.reserve(now.as_micros()));
            if ticket > now.as_micros() {
                if !source.tick_scheduled {
                    source.tick_scheduled = true;
                    self.queue.schedule_at(
                        SimTime::from_micros(ticket),
                        Event::SourceTick { task: task as u32 },
                    );
                }
                self.set_activity(now, task, Activity::Idle);
                return false;
            }
            source.reserved_until_us = None;
        }
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

    /// A rate-limited source may emit again.
    pub(super) fn source_tick(&mut self, task: TaskIndex) {
        if let Some(source) = self.tasks[task].source.as_mut() {
            source.tick_scheduled = false;
        }
        self.wake(task);
    }
}
