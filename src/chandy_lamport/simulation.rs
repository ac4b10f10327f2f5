//! The process-graph world: processes, channels and the workload, driven by the engine, with each
//! process's marker rules ([`super::process`]) deciding what the snapshot algorithm does.
//!
//! The world tells a process's rules what happened — it starts a snapshot ([`World::initiate`]),
//! a marker arrives ([`World::on_marker`]), a message arrives
//! ([`World::on_application_message`]) — and executes what they answer
//! ([`World::execute_marker_actions`]): write the process's state down, send markers, append a
//! message to a channel's recorded state, close a channel. It also assembles each snapshot from
//! every process's part, for the oracle.

use super::process::{
    MarkerAction, MarkerInput, MarkerProcess, MarkerRules, ProcessMarkers, RecordAfterNextMessage,
};
use super::{
    ChandyLamportVariant, GlobalSnapshot, IncompleteSnapshot, RecordReader, RecordedMessage,
    SnapshotSchedule,
};
use crate::engine::{CutShort, EventBudget, EventQueue, RngStreams, SimRng, SimTime};
use crate::net::{FifoLinks, UnorderedSlots};
use crate::scenario::ProcessGraphModel;
use crate::topology::{ChannelIndex, ProcessIndex};
use crate::trace::{MessageId, ProcessEvent, ProcessTrace, SnapshotId};
use crate::workload::{ProcessWorkload, ScriptedActionKind, ScriptedActionsRun};
use rand::RngExt;

/// What travels on a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Message {
    /// An application message moving tokens.
    Transfer { message: MessageId, tokens: i64 },
    /// A Chandy-Lamport marker.
    Marker { snapshot: SnapshotId },
}

/// Everything the engine can be asked to do, as a small `Copy` value (8 bytes): the hot loop
/// moves these around without allocating.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// The head of a FIFO channel arrives.
    Arrive { channel: u32 },
    /// A message parked on a non-FIFO channel arrives (the slot holds the channel and message).
    ArriveUnordered { slot: u32 },
    /// A bank process makes its next transfer.
    BankTransfer { process: u32 },
    /// A token-passing process passes its tokens on.
    PassTokens { process: u32 },
    /// A scheduled snapshot initiation is due.
    Initiate { schedule: u32 },
}

/// The result of a process-graph run.
#[derive(Debug)]
pub struct ProcessGraphRun {
    /// The event record (and its digest).
    pub trace: ProcessTrace,
    /// Completed snapshots, in completion order.
    pub snapshots: Vec<GlobalSnapshot>,
    /// Snapshots still in progress when the run ended.
    pub incomplete: Vec<IncompleteSnapshot>,
    /// Tokens each process held at the end.
    pub final_tokens: Vec<i64>,
    /// Time of the last event.
    pub end_time: SimTime,
    /// Engine events processed (the unit of simulation speed).
    pub events_processed: u64,
    /// Where the event budget stopped the run, if it did: everything here is up to that point
    /// (snapshots still in progress there are not judged incomplete).
    pub cut_short: Option<CutShort>,
    /// Application messages sent.
    pub application_messages: u64,
    /// Mean number of events waiting in the engine's heap (for the benchmark's ceiling).
    pub mean_pending_events: f64,
    /// Scripted sends refused because the sender held fewer tokens than it was to send.
    pub refused_sends: Vec<RefusedSend>,
}

/// A scripted send of more tokens than the sender held (and not marked `overdraw`): refused, so
/// that no balance goes negative unless the scenario says so.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RefusedSend {
    /// Position of the action in the script.
    pub action: usize,
    /// When it was due (µs).
    pub at_us: u64,
    /// The sender.
    pub process: ProcessIndex,
    /// Tokens it was to send.
    pub tokens: i64,
    /// Tokens it held.
    pub balance: i64,
}

/// What a delivery or a send needs to know about a channel, kept small (its random stream and its
/// in-flight messages live apart, in `World::channel_rngs` and `World::links`) so that the table of
/// thousands of channels stays in cache.
struct ChannelRuntime {
    from: u32,
    to: u32,
    /// Position of this channel among its receiver's incoming channels.
    incoming_position: u32,
    fifo: bool,
    loss_probability: f64,
    latency: crate::engine::LatencyDistribution,
}

struct ProcessRuntime {
    tokens: i64,
    rng: SimRng,
    pass_scheduled: bool,
    /// The marker rules of this process.
    markers: ProcessMarkers,
}

/// One snapshot while it runs; freed when it completes.
struct SnapshotProgress {
    id: SnapshotId,
    initiator: ProcessIndex,
    started_at: SimTime,
    recorded_tokens: Vec<Option<i64>>,
    channel_closed: Vec<bool>,
    /// The messages recorded as in flight, with their channel, in the order they arrived (a few
    /// hundred per snapshot, against thousands of channels: a list per channel would allocate and
    /// scan every channel for every snapshot).
    recorded_messages: Vec<(ChannelIndex, RecordedMessage)>,
    processes_recorded: usize,
    channels_closed: usize,
    done: bool,
    /// Markers of this snapshot with a latency of their own (a scripted snapshot's
    /// `marker_latency`), by channel.
    marker_latency_us: Vec<(ChannelIndex, u64)>,
    /// Channels on which this snapshot's marker is lost (a scripted snapshot's `markers_lost`).
    markers_lost: Vec<ChannelIndex>,
}

struct World<'a> {
    workload: &'a ProcessWorkload,
    schedules: &'a [SnapshotSchedule],
    stop_at: SimTime,
    queue: EventQueue<Event>,
    outgoing: Vec<Vec<ChannelIndex>>,
    incoming: Vec<Vec<ChannelIndex>>,
    processes: Vec<ProcessRuntime>,
    channels: Vec<ChannelRuntime>,
    /// Each channel's random stream (latency and loss draws), by channel.
    channel_rngs: Vec<SimRng>,
    /// The in-flight messages of every FIFO channel.
    links: FifoLinks<Message>,
    unordered: UnorderedSlots<(ChannelIndex, Message)>,
    progress: Vec<SnapshotProgress>,
    completed: Vec<GlobalSnapshot>,
    trace: ProcessTrace,
    reader: &'a mut dyn RecordReader,
    next_message: MessageId,
    transfers_sent: u64,
    refused_sends: Vec<RefusedSend>,
    /// Reused for the actions of each marker-rules input.
    marker_actions: Vec<MarkerAction>,
    /// The scripted actions in the order they are due (by time, then as listed), and how many
    /// have run: the script is a second source of events beside the queue, merged with it by
    /// `scripted_actions_run` (see [`World::script_goes_first`]).
    script: Vec<usize>,
    script_done: usize,
    scripted_actions_run: ScriptedActionsRun,
}

/// Runs a process-graph scenario to the end and returns what happened, with its whole record.
pub fn run(model: &ProcessGraphModel, seed: u64, variant: ChandyLamportVariant) -> ProcessGraphRun {
    run_read_by(model, seed, variant, true, &mut super::NoReader)
}

/// Runs a process-graph scenario to the end with `reader` reading the record as it is written,
/// keeping the record in the run only if `keep_record` (the simulation, and so the digest, is the
/// same either way).
pub fn run_read_by(
    model: &ProcessGraphModel,
    seed: u64,
    variant: ChandyLamportVariant,
    keep_record: bool,
    reader: &mut dyn RecordReader,
) -> ProcessGraphRun {
    let streams = RngStreams::new(seed);
    let graph = &model.graph;
    let incoming = graph.incoming();
    let mut incoming_position = vec![0; graph.channels.len()];
    for channels in &incoming {
        for (position, &channel) in channels.iter().enumerate() {
            incoming_position[channel] = position;
        }
    }
    let mut world = World {
        workload: &model.workload,
        schedules: &model.snapshots,
        stop_at: model.stop_at.unwrap_or(SimTime::NEVER),
        queue: EventQueue::new(),
        outgoing: graph.outgoing(),
        processes: graph
            .processes
            .iter()
            .enumerate()
            .map(|(index, p)| ProcessRuntime {
                tokens: p.initial_tokens,
                rng: streams.stream(&format!("workload/{}", p.name)),
                pass_scheduled: false,
                markers: match variant {
                    ChandyLamportVariant::Correct => {
                        ProcessMarkers::Sound(MarkerProcess::new(incoming[index].len()))
                    }
                    ChandyLamportVariant::RecordAfterNextMessage => {
                        ProcessMarkers::RecordAfterNextMessage(RecordAfterNextMessage::new(
                            incoming[index].len(),
                        ))
                    }
                },
            })
            .collect(),
        channels: (0..graph.channels.len())
            .map(|c| {
                let config = &graph.channels[c];
                ChannelRuntime {
                    from: config.from as u32,
                    to: config.to as u32,
                    incoming_position: incoming_position[c] as u32,
                    fifo: config.fifo,
                    loss_probability: config.loss_probability,
                    latency: config.latency,
                }
            })
            .collect(),
        channel_rngs: (0..graph.channels.len())
            .map(|c| streams.stream(&format!("channel/{}", graph.channel_name(c))))
            .collect(),
        links: FifoLinks::new(graph.channels.len()),
        unordered: UnorderedSlots::default(),
        progress: Vec::new(),
        completed: Vec::new(),
        trace: if keep_record {
            ProcessTrace::keeping(estimated_trace_length(model))
        } else {
            ProcessTrace::streaming()
        },
        reader,
        next_message: 0,
        refused_sends: Vec::new(),
        transfers_sent: 0,
        marker_actions: Vec::new(),
        incoming,
        script: match &model.workload {
            ProcessWorkload::Scripted(actions) => {
                let mut order: Vec<usize> = (0..actions.len()).collect();
                order.sort_by_key(|&i| actions[i].at);
                order
            }
            _ => Vec::new(),
        },
        script_done: 0,
        scripted_actions_run: model.scripted_actions_run,
    };
    world.schedule_start();
    let budget = EventBudget::new(model.max_events);
    let mut cut_short = None;
    loop {
        let now = if let Some(at) = world.script_goes_first() {
            world.queue.advance_to(at);
            let index = world.script[world.script_done];
            world.script_done += 1;
            world.scripted_action(at, index);
            at
        } else if let Some((now, event)) = world.queue.pop() {
            world.handle(now, event);
            now
        } else {
            break;
        };
        cut_short = budget.spent(world.queue.popped_total(), now);
        if cut_short.is_some() {
            break;
        }
    }
    world.finish(cut_short)
}

/// A guess at the number of recorded events, so the record is allocated once instead of being
/// copied as it grows (a million-transfer run records about three million events).
fn estimated_trace_length(model: &ProcessGraphModel) -> usize {
    let ProcessWorkload::Bank {
        transfers_per_s,
        max_transfers,
        ..
    } = model.workload
    else {
        return 1024;
    };
    let processes = model.graph.processes.len() as f64;
    let duration_s = match (max_transfers, model.stop_at) {
        (Some(max), _) => max as f64 / (transfers_per_s * processes),
        (None, Some(stop)) => stop.as_micros() as f64 / 1e6,
        (None, None) => return 1024,
    };
    let transfers = duration_s * transfers_per_s * processes;
    let snapshots: f64 = model
        .snapshots
        .iter()
        .map(|s| {
            s.every_us
                .map_or(1.0, |every| duration_s * 1e6 / every as f64)
        })
        .sum();
    // Per transfer: sent + received. Per snapshot: per channel a marker sent and received; per
    // process a recording; plus initiation and completion.
    let channels = model.graph.channels.len() as f64;
    let estimate = 2.0 * transfers + snapshots * (2.0 * channels + processes + 2.0);
    (estimate * 1.05).min(1e9) as usize
}

const _: () = assert!(std::mem::size_of::<Event>() == 8);

impl World<'_> {
    /// Writes an entry of the record, for the reader first.
    #[inline]
    fn record(&mut self, event: ProcessEvent) {
        self.reader.entry(self.trace.len(), &event);
        self.trace.push(event);
    }

    fn schedule_start(&mut self) {
        match self.workload {
            ProcessWorkload::Idle => {}
            ProcessWorkload::Bank {
                transfers_per_s, ..
            } => {
                let mean_us = 1e6 / transfers_per_s;
                for process in 0..self.processes.len() {
                    if !self.outgoing[process].is_empty() {
                        let delay = crate::engine::exponential_us(
                            &mut self.processes[process].rng,
                            mean_us,
                        );
                        self.queue.schedule_after(
                            delay,
                            Event::BankTransfer {
                                process: process as u32,
                            },
                        );
                    }
                }
            }
            ProcessWorkload::TokenPassing { hold_us } => {
                for process in 0..self.processes.len() {
                    if self.processes[process].tokens > 0 && !self.outgoing[process].is_empty() {
                        self.processes[process].pass_scheduled = true;
                        self.queue.schedule_after(
                            *hold_us,
                            Event::PassTokens {
                                process: process as u32,
                            },
                        );
                    }
                }
            }
            // The script is merged with the queue as the run goes (`script_goes_first`).
            ProcessWorkload::Scripted(_) => {}
        }
        for (index, schedule) in self.schedules.iter().enumerate() {
            self.queue.schedule_at(
                schedule.first_at,
                Event::Initiate {
                    schedule: index as u32,
                },
            );
        }
    }

    /// When the next scripted action is due, if it runs before the queue's next event: earlier,
    /// or at the same instant when actions run before deliveries. With `AfterDeliveries` an
    /// action waits until nothing is left at its instant — every delivery due then, and what
    /// those cause at that instant.
    fn script_goes_first(&mut self) -> Option<SimTime> {
        let ProcessWorkload::Scripted(actions) = self.workload else {
            return None;
        };
        let at = actions[*self.script.get(self.script_done)?].at;
        let first = match self.queue.peek_time() {
            None => true,
            Some(next) => {
                at < next
                    || (at == next
                        && self.scripted_actions_run == ScriptedActionsRun::BeforeDeliveries)
            }
        };
        first.then_some(at)
    }

    /// True once the workload should stop starting new work.
    fn workload_stopped(&self, now: SimTime) -> bool {
        if now >= self.stop_at {
            return true;
        }
        match self.workload {
            ProcessWorkload::Bank {
                max_transfers: Some(max),
                ..
            } => self.transfers_sent >= *max,
            _ => false,
        }
    }

    #[inline]
    fn handle(&mut self, now: SimTime, event: Event) {
        match event {
            Event::Arrive { channel } => {
                let channel = channel as usize;
                let (message, next) = self.links.deliver_head(channel);
                if let Some(next) = next {
                    self.queue.schedule_at(
                        next,
                        Event::Arrive {
                            channel: channel as u32,
                        },
                    );
                }
                self.deliver(now, channel, message);
            }
            Event::ArriveUnordered { slot } => {
                let (channel, message) = self.unordered.take(slot);
                self.deliver(now, channel, message);
            }
            Event::BankTransfer { process } => self.bank_transfer(now, process as usize),
            Event::PassTokens { process } => self.pass_tokens(now, process as usize),
            Event::Initiate { schedule: index } => {
                let schedule = self.schedules[index as usize];
                let periodic = schedule.every_us.is_some();
                if periodic && self.workload_stopped(now) {
                    return;
                }
                self.initiate(now, schedule.initiator, Vec::new(), Vec::new());
                if let Some(every_us) = schedule.every_us {
                    self.queue
                        .schedule_after(every_us, Event::Initiate { schedule: index });
                }
            }
        }
    }

    // ---- the application ----

    fn bank_transfer(&mut self, now: SimTime, process: ProcessIndex) {
        let ProcessWorkload::Bank {
            transfers_per_s,
            amount_max,
            ..
        } = *self.workload
        else {
            unreachable!("bank events only exist in bank runs")
        };
        if self.workload_stopped(now) {
            return;
        }
        let runtime = &mut self.processes[process];
        let outgoing = &self.outgoing[process];
        let channel = outgoing[runtime.rng.random_range(0..outgoing.len())];
        if runtime.tokens > 0 {
            let amount_limit = (amount_max as i64).min(runtime.tokens);
            let amount = runtime.rng.random_range(1..=amount_limit);
            self.send_transfer(now, channel, amount, None, false);
            self.transfers_sent += 1;
        }
        let delay =
            crate::engine::exponential_us(&mut self.processes[process].rng, 1e6 / transfers_per_s);
        self.queue.schedule_after(
            delay,
            Event::BankTransfer {
                process: process as u32,
            },
        );
    }

    fn pass_tokens(&mut self, now: SimTime, process: ProcessIndex) {
        self.processes[process].pass_scheduled = false;
        let tokens = self.processes[process].tokens;
        if self.workload_stopped(now) || tokens <= 0 {
            return;
        }
        let outgoing = &self.outgoing[process];
        let channel = outgoing[self.processes[process].rng.random_range(0..outgoing.len())];
        self.send_transfer(now, channel, tokens, None, false);
    }

    fn scripted_action(&mut self, now: SimTime, index: usize) {
        let ProcessWorkload::Scripted(actions) = self.workload else {
            unreachable!("script events only exist in scripted runs")
        };
        match &actions[index].kind {
            ScriptedActionKind::Send {
                channel,
                tokens,
                latency_us,
                overdraw,
                lost,
            } => {
                let (channel, tokens, latency_us, overdraw, lost) =
                    (*channel, *tokens, *latency_us, *overdraw, *lost);
                let process = self.channels[channel].from as usize;
                let balance = self.processes[process].tokens;
                if tokens > balance && !overdraw {
                    self.refused_sends.push(RefusedSend {
                        action: index,
                        at_us: now.as_micros(),
                        process,
                        tokens,
                        balance,
                    });
                    return;
                }
                self.send_transfer(now, channel, tokens, latency_us, lost)
            }
            ScriptedActionKind::Snapshot {
                initiator,
                marker_latency_us,
                markers_lost,
            } => self.initiate(
                now,
                *initiator,
                marker_latency_us.clone(),
                markers_lost.clone(),
            ),
        }
    }

    fn send_transfer(
        &mut self,
        now: SimTime,
        channel: ChannelIndex,
        tokens: i64,
        latency_us: Option<u64>,
        scripted_loss: bool,
    ) {
        let message = self.next_message;
        self.next_message += 1;
        self.processes[self.channels[channel].from as usize].tokens -= tokens;
        self.record(ProcessEvent::Sent {
            time: now,
            channel: channel as u32,
            message,
            tokens,
        });
        if scripted_loss || self.lost_in_transit(channel) {
            self.record(ProcessEvent::Lost {
                time: now,
                channel: channel as u32,
                message,
                tokens,
            });
            return;
        }
        self.transmit(
            now,
            channel,
            Message::Transfer { message, tokens },
            latency_us,
        );
    }

    fn deliver(&mut self, now: SimTime, channel: ChannelIndex, message: Message) {
        match message {
            Message::Transfer { message, tokens } => {
                self.on_application_message(now, channel, message, tokens)
            }
            Message::Marker { snapshot } => self.on_marker(now, channel, snapshot),
        }
    }

    /// A transfer arrives: the receiver applies it, and every snapshot currently recording this
    /// channel appends it to the channel's recorded state.
    fn on_application_message(
        &mut self,
        now: SimTime,
        channel: ChannelIndex,
        message: MessageId,
        tokens: i64,
    ) {
        let receiver = self.channels[channel].to as usize;
        self.processes[receiver].tokens += tokens;
        self.record(ProcessEvent::Received {
            time: now,
            channel: channel as u32,
            message,
            tokens,
        });
        let input = MarkerInput::Message {
            channel: self.channels[channel].incoming_position as usize,
        };
        self.marker_input(
            now,
            receiver,
            input,
            Some(RecordedMessage { message, tokens }),
        );
        if let ProcessWorkload::TokenPassing { hold_us } = *self.workload
            && !self.processes[receiver].pass_scheduled
            && !self.outgoing[receiver].is_empty()
        {
            self.processes[receiver].pass_scheduled = true;
            self.queue.schedule_after(
                hold_us,
                Event::PassTokens {
                    process: receiver as u32,
                },
            );
        }
    }

    // ---- the network ----

    fn lost_in_transit(&mut self, channel: ChannelIndex) -> bool {
        let loss_probability = self.channels[channel].loss_probability;
        loss_probability > 0.0 && self.channel_rngs[channel].random_bool(loss_probability)
    }

    fn transmit(
        &mut self,
        now: SimTime,
        channel: ChannelIndex,
        message: Message,
        latency_us: Option<u64>,
    ) {
        let latency_us = latency_us.unwrap_or_else(|| {
            self.channels[channel]
                .latency
                .sample_us(&mut self.channel_rngs[channel])
        });
        if self.channels[channel].fifo {
            if let Some(arrival) = self.links.send(channel, now, latency_us, message) {
                self.queue.schedule_at(
                    arrival,
                    Event::Arrive {
                        channel: channel as u32,
                    },
                );
            }
        } else {
            let slot = self.unordered.park((channel, message));
            self.queue
                .schedule_at(now.after_us(latency_us), Event::ArriveUnordered { slot });
        }
    }

    // ---- the marker algorithm ----

    /// A process starts a new snapshot on its own: its rules record its state and send markers.
    fn initiate(
        &mut self,
        now: SimTime,
        initiator: ProcessIndex,
        marker_latency_us: Vec<(ChannelIndex, u64)>,
        markers_lost: Vec<ChannelIndex>,
    ) {
        let id = self.progress.len() as SnapshotId + 1;
        self.progress.push(SnapshotProgress {
            id,
            initiator,
            started_at: now,
            recorded_tokens: vec![None; self.processes.len()],
            channel_closed: vec![false; self.channels.len()],
            recorded_messages: Vec::new(),
            processes_recorded: 0,
            channels_closed: 0,
            done: false,
            marker_latency_us,
            markers_lost,
        });
        self.record(ProcessEvent::SnapshotInitiated {
            time: now,
            process: initiator as u32,
            snapshot: id,
        });
        self.marker_input(now, initiator, MarkerInput::Initiate { snapshot: id }, None);
    }

    /// A marker arrives: the receiver's rules decide (the marker-receiving rule).
    fn on_marker(&mut self, now: SimTime, channel: ChannelIndex, snapshot: SnapshotId) {
        self.record(ProcessEvent::MarkerReceived {
            time: now,
            channel: channel as u32,
            snapshot,
        });
        let receiver = self.channels[channel].to as usize;
        let input = MarkerInput::Marker {
            channel: self.channels[channel].incoming_position as usize,
            snapshot,
        };
        self.marker_input(now, receiver, input, None);
    }

    /// Tells `process`'s marker rules of `input` and executes what they decide. `message` is the
    /// application message that just arrived, if that is the input.
    // Every application message comes through here: kept inline, with the actions executed out of
    // line only when there are any.
    #[inline(always)]
    fn marker_input(
        &mut self,
        now: SimTime,
        process: ProcessIndex,
        input: MarkerInput,
        message: Option<RecordedMessage>,
    ) {
        self.processes[process]
            .markers
            .handle(input, &mut self.marker_actions);
        // Most messages arrive on a channel no snapshot is recording: nothing to do.
        if !self.marker_actions.is_empty() {
            self.execute_marker_actions(now, process, message);
        }
    }

    /// Executes the marker actions a process's rules decided, in order.
    #[inline(never)]
    fn execute_marker_actions(
        &mut self,
        now: SimTime,
        process: ProcessIndex,
        message: Option<RecordedMessage>,
    ) {
        let mut actions = std::mem::take(&mut self.marker_actions);
        for &action in &actions {
            match action {
                MarkerAction::RecordState { snapshot } => self.write_state(now, process, snapshot),
                MarkerAction::SendMarkers { snapshot } => self.send_markers(now, process, snapshot),
                MarkerAction::RecordMessage { channel, snapshot } => {
                    let channel = self.incoming[process][channel];
                    let message = message.expect("a message to record");
                    self.progress[snapshot as usize - 1]
                        .recorded_messages
                        .push((channel, message));
                }
                MarkerAction::CloseChannel { channel, snapshot } => {
                    let channel = self.incoming[process][channel];
                    self.close_channel(now, channel, snapshot);
                }
            }
        }
        actions.clear();
        self.marker_actions = actions;
    }

    /// The marker-sending rule: a marker on every outgoing channel, before anything else.
    fn send_markers(&mut self, now: SimTime, process: ProcessIndex, snapshot: SnapshotId) {
        for index in 0..self.outgoing[process].len() {
            let channel = self.outgoing[process][index];
            self.record(ProcessEvent::MarkerSent {
                time: now,
                channel: channel as u32,
                snapshot,
            });
            let scripted_loss = self.progress[snapshot as usize - 1]
                .markers_lost
                .contains(&channel);
            if scripted_loss || self.lost_in_transit(channel) {
                self.record(ProcessEvent::MarkerLost {
                    time: now,
                    channel: channel as u32,
                    snapshot,
                });
            } else {
                let latency_us = self.progress[snapshot as usize - 1]
                    .marker_latency_us
                    .iter()
                    .find(|(c, _)| *c == channel)
                    .map(|(_, latency_us)| *latency_us);
                self.transmit(now, channel, Message::Marker { snapshot }, latency_us);
            }
        }
        self.check_complete(now, snapshot);
    }

    /// The moment the process writes down its state.
    fn write_state(&mut self, now: SimTime, process: ProcessIndex, snapshot: SnapshotId) {
        let tokens = self.processes[process].tokens;
        let progress = &mut self.progress[snapshot as usize - 1];
        progress.recorded_tokens[process] = Some(tokens);
        progress.processes_recorded += 1;
        self.record(ProcessEvent::StateRecorded {
            time: now,
            process: process as u32,
            snapshot,
            tokens,
        });
        self.check_complete(now, snapshot);
    }

    /// A channel's recorded state in a snapshot is complete.
    fn close_channel(&mut self, now: SimTime, channel: ChannelIndex, snapshot: SnapshotId) {
        let progress = &mut self.progress[snapshot as usize - 1];
        if !std::mem::replace(&mut progress.channel_closed[channel], true) {
            // No record entry of its own: a channel closes exactly at a `MarkerReceived`.
            progress.channels_closed += 1;
            self.check_complete(now, snapshot);
        }
    }

    fn check_complete(&mut self, now: SimTime, snapshot: SnapshotId) {
        let progress = &mut self.progress[snapshot as usize - 1];
        if progress.done
            || progress.processes_recorded < progress.recorded_tokens.len()
            || progress.channels_closed < progress.channel_closed.len()
        {
            return;
        }
        progress.done = true;
        // By channel, each channel's messages in the order they arrived (the sort is stable).
        let mut recorded = std::mem::take(&mut progress.recorded_messages);
        recorded.sort_by_key(|&(channel, _)| channel);
        let mut channel_messages: Vec<(ChannelIndex, Vec<RecordedMessage>)> = Vec::new();
        for (channel, message) in recorded {
            match channel_messages.last_mut() {
                Some((last, messages)) if *last == channel => messages.push(message),
                _ => channel_messages.push((channel, vec![message])),
            }
        }
        let snapshot_result = GlobalSnapshot {
            id: progress.id,
            initiator: progress.initiator,
            started_at: progress.started_at,
            completed_at: now,
            process_tokens: std::mem::take(&mut progress.recorded_tokens)
                .into_iter()
                .map(|t| t.expect("every process recorded"))
                .collect(),
            channel_messages,
        };
        progress.channel_closed = Vec::new();
        self.record(ProcessEvent::SnapshotCompleted {
            time: now,
            snapshot,
        });
        self.reader.snapshot_completed(&snapshot_result);
        self.completed.push(snapshot_result);
    }

    fn finish(self, cut_short: Option<CutShort>) -> ProcessGraphRun {
        let incomplete = self
            .progress
            .iter()
            .filter(|p| !p.done)
            .map(|p| IncompleteSnapshot {
                id: p.id,
                initiator: p.initiator,
                started_at: p.started_at,
                processes_not_recorded: (0..p.recorded_tokens.len())
                    .filter(|&i| p.recorded_tokens[i].is_none())
                    .collect(),
                channels_not_closed: (0..p.channel_closed.len())
                    .filter(|&c| !p.channel_closed[c])
                    .collect(),
            })
            .collect();
        ProcessGraphRun {
            end_time: self.queue.now(),
            events_processed: self.queue.popped_total(),
            cut_short,
            mean_pending_events: self.queue.mean_pending(),
            application_messages: self.next_message,
            refused_sends: self.refused_sends,
            final_tokens: self.processes.iter().map(|p| p.tokens).collect(),
            trace: self.trace,
            snapshots: self.completed,
            incomplete,
        }
    }
}
