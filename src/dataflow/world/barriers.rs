//! The barrier handlers at work: each task's [`crate::checkpoint::barrier`] state machine is told
//! what the task read (barriers, end of partition, cancellation markers) and what the coordinator
//! said (triggers, aborts), and this file executes the actions it returns: block and unblock
//! inputs, take the snapshot, send barriers (priority ones overtake queued data), start
//! persisting inputs, start timers, decline. It decides nothing about the protocol itself.

use super::channel::{Barrier, Item};
use super::event::Event;
use super::state::World;
use super::task::{AlignmentWindow, Mail, Status};
use crate::checkpoint::SnapshotProtocol;
use crate::checkpoint::barrier::{self, Action, HandleBarriers};
use crate::checkpoint::coordinator::AbortReason;
use crate::engine::SimTime;
use crate::topology::job::{DataChannelIndex, TaskIndex};
use crate::trace::DataflowEvent;
use crate::workload::dataflow::Record;

impl World<'_> {
    /// A barrier was read from `channel`.
    pub(super) fn on_barrier(
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
        // The channel's own recording of this checkpoint ends at its barrier, if not before.
        c.recording.barrier_read(checkpoint);
        // Like Flink's input channels, each remembers where its newest barrier was in its stream.
        if checkpoint >= c.last_barrier_checkpoint {
            c.last_barrier_checkpoint = checkpoint;
            c.last_barrier_buffers_before = barrier.buffers_before;
        }
        // Aligned with timeout: had the timeout passed since the trigger? (Flink's `isTimedOut`.)
        let timed_out = match self.protocol_for(checkpoint) {
            SnapshotProtocol::AlignedWithTimeout { timeout_us } => {
                now.as_micros() >= barrier.trigger_us + timeout_us
            }
            _ => false,
        };
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

    /// A priority (unaligned) barrier is at the head of `channel`: it is read before any data.
    pub(super) fn take_priority_item(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        channel: DataChannelIndex,
    ) {
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

    /// Tells `task`'s barrier handler of `input` and executes the actions it decides.
    pub(super) fn barrier_input(&mut self, now: SimTime, task: TaskIndex, input: barrier::Input) {
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
    pub(super) fn execute_barrier_actions(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        actions: &[Action],
    ) {
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
                        self.channels[channel].recording.stop(checkpoint);
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
                    self.queue.schedule_at(
                        at,
                        Event::DeclineArrive {
                            task: task as u32,
                            checkpoint,
                            reason,
                        },
                    );
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
    pub(super) fn track_alignment_windows(&mut self, now: SimTime, task: TaskIndex) {
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
    pub(super) fn alignment_window(
        &self,
        now: SimTime,
        task: TaskIndex,
        checkpoint: u64,
    ) -> (SimTime, u64) {
        self.tasks[task]
            .alignment_windows
            .iter()
            .find(|w| w.checkpoint == checkpoint)
            .map_or((now, 0), |w| (w.first_barrier_at, w.processed_bytes))
    }

    /// Every open input has delivered the barrier (or ended): the alignment's statistics, and the
    /// snapshot's channel state is complete.
    pub(super) fn alignment_complete(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
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
    pub(super) fn note_processed_bytes(&mut self, task: TaskIndex, record: &Record) {
        let bytes = u64::from(self.record_bytes(record));
        for window in &mut self.tasks[task].alignment_windows {
            window.processed_bytes += bytes;
        }
    }

    /// A source (or a task whose inputs have all ended) is told to start a checkpoint.
    pub(super) fn triggered_at_task(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
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

    /// A cancellation marker of `checkpoint` was read: an upstream task gave it up.
    pub(super) fn on_cancel_marker(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        self.barrier_input(now, task, barrier::Input::CancelMarker { checkpoint });
    }

    /// End of partition counts as that channel's barrier for every pending and future checkpoint
    /// (FLIP-147).
    /// The producer learns that this consumer has processed all of its data (modelled as
    /// immediate), one of its conditions for finishing.
    pub(super) fn on_end_of_partition(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        channel: DataChannelIndex,
    ) {
        self.channels[channel].finished = true;
        self.channels[channel].recording.stop_all();
        let input = self.channels[channel].input_position;
        self.barrier_input(now, task, barrier::Input::EndOfPartition { input });
        let producer = self.channels[channel].from;
        self.try_finish(now, producer);
    }

    /// `notifyCheckpointAborted`: the coordinator aborted `checkpoint`.
    pub(super) fn notify_aborted(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        // A task whose data has ended may have been waiting only for this snapshot: the handler's
        // last action wakes it.
        self.barrier_input(now, task, barrier::Input::Aborted { checkpoint });
    }

    /// Puts barrier `checkpoint` on every output channel. With `priority` it overtakes the data
    /// queued in the subpartition, which becomes this task's output channel state.
    pub(super) fn broadcast_barrier(
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
    pub(super) fn barrier_left_sender(
        &mut self,
        now: SimTime,
        channel: DataChannelIndex,
        barrier: Barrier,
    ) {
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

    /// Aligned-with-timeout, sending side: at `trigger + timeout` a barrier of `checkpoint` still
    /// queued in an output is converted to a priority barrier; until then the snapshot waits for
    /// the outputs whose barrier is still queued.
    pub(super) fn convert_stuck_barriers_at_timeout(
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

    /// Aligned-with-timeout, sender side: a barrier still queued at `trigger + timeout` is moved to
    /// the head of its subpartition and becomes a priority barrier (FLINK-27251).
    pub(super) fn convert_stuck_barriers(
        &mut self,
        now: SimTime,
        task: TaskIndex,
        checkpoint: u64,
    ) {
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

    /// Sends a cancellation marker of `checkpoint` on every output.
    pub(super) fn forward_cancel(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
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

    /// The coordinator's trigger reaches a task (a source, or one whose inputs have all ended): it
    /// waits in the mailbox for the task to be between records.
    pub(super) fn trigger_rpc_arrived(&mut self, now: SimTime, task: TaskIndex, checkpoint: u64) {
        if self.tasks[task].status == Status::Finished {
            // Finished before the trigger arrived: it declines, and the checkpoint is aborted
            // without counting as a failure (FLIP-147 plans the next one anew).
            let at = now.after_us(self.model.network.rpc_latency_us);
            self.queue.schedule_at(
                at,
                Event::DeclineArrive {
                    task: task as u32,
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

    /// `aligned-checkpoint-timeout` passed: the timer runs in the mailbox, between records, never
    /// in the middle of one.
    pub(super) fn alignment_timer_expired(&mut self, task: TaskIndex, checkpoint: u64) {
        self.tasks[task]
            .mailbox
            .push_back(Mail::AlignmentTimeout { checkpoint });
        self.wake(task);
    }
}
