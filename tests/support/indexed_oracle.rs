//! The process-graph oracle as it was before it streamed: it stores the whole record and builds an
//! index over it, then checks each snapshot with binary searches and finds occurrences with one
//! hashed replay. Kept here, beside the tests only, as the reference the one-pass oracle
//! (`snapsim::oracle::process_graph`) must agree with verdict for verdict, sentence for sentence.
#![allow(dead_code)]

use serde::Serialize;
use snapsim::chandy_lamport::{GlobalSnapshot, IncompleteSnapshot, RecordedMessage};
use snapsim::engine::SimTime;
use snapsim::oracle::{Check, Invariant};
use snapsim::topology::{ChannelIndex, ProcessGraph, ProcessIndex};
use snapsim::trace::{MessageId, ProcessEvent, SnapshotId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The oracle's verdict on one completed snapshot.
#[derive(Clone, Debug, Serialize)]
pub struct SnapshotCheck {
    /// Which snapshot.
    pub snapshot: SnapshotId,
    /// Invariants 1–4, in order.
    pub checks: Vec<Check>,
    /// Whether the recorded global state is one the run actually passed through.
    pub occurred: Occurrence,
}

/// Did the system ever actually *be* in the recorded global state? (The paper, §4: not
/// necessarily — the recorded state is only guaranteed reachable.)
#[derive(Clone, Debug, Serialize)]
pub struct Occurrence {
    /// True if some moment of the run had exactly the recorded process and channel states.
    pub occurred: bool,
    /// When, or why not.
    pub explanation: String,
}

/// The oracle's verdict on a whole process-graph run.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessGraphVerdict {
    /// One entry per completed snapshot, in completion order.
    pub snapshots: Vec<SnapshotCheck>,
    /// Whether every snapshot that started completed.
    pub completion: Check,
}

impl ProcessGraphVerdict {
    /// The invariants that failed at least once.
    pub fn failed_invariants(&self) -> BTreeSet<Invariant> {
        let mut failed: BTreeSet<Invariant> = self
            .snapshots
            .iter()
            .flat_map(|s| s.checks.iter())
            .filter(|c| !c.passed)
            .map(|c| c.invariant)
            .collect();
        if !self.completion.passed {
            failed.insert(Invariant::Completion);
        }
        failed
    }
}

const NOT_RECEIVED: usize = usize::MAX;

#[derive(Clone, Copy, Debug)]
struct MessageInfo {
    channel: ChannelIndex,
    tokens: i64,
    send_position: usize,
    send_time: SimTime,
    receive_position: usize,
    receive_time: SimTime,
    lost: bool,
    /// 0 for the first message sent on its channel, 1 for the next, …
    order_on_channel: usize,
}

/// Everything the checks need, built in one pass over the record.
struct Index<'a> {
    graph: &'a ProcessGraph,
    events: &'a [ProcessEvent],
    /// By message id (ids are dense: 0, 1, 2, … in send order).
    messages: Vec<Option<MessageInfo>>,
    /// Message ids per channel, in send order.
    channel_messages: Vec<Vec<MessageId>>,
    /// Beside `channel_messages`, each message's send and receive positions (`NOT_RECEIVED` if
    /// never): the cut of a channel is two binary searches over these, kept contiguous per
    /// channel because a run with a thousand snapshots searches every channel for each (through
    /// `messages` instead, every probe was a cache miss: 40 % of a 10⁶-message bank's run).
    channel_send_positions: Vec<Vec<usize>>,
    channel_receive_positions: Vec<Vec<usize>>,
    /// True when every message on the channel was received, in send order (enables binary search).
    channel_in_order: Vec<bool>,
    /// Per process: positions of its application events and the running token balance after each.
    local_positions: Vec<Vec<usize>>,
    local_balances: Vec<Vec<i64>>,
    /// Per snapshot: where each process recorded, if it did.
    recordings: BTreeMap<SnapshotId, Vec<Option<usize>>>,
    /// Per process: positions of the application events it owns (sends, losses of its sends,
    /// receipts), in record order.
    app_positions: Vec<Vec<usize>>,
}

impl<'a> Index<'a> {
    fn build(graph: &'a ProcessGraph, events: &'a [ProcessEvent]) -> Index<'a> {
        let process_count = graph.processes.len();
        let mut index = Index {
            graph,
            events,
            messages: Vec::new(),
            channel_messages: vec![Vec::new(); graph.channels.len()],
            channel_send_positions: vec![Vec::new(); graph.channels.len()],
            channel_receive_positions: vec![Vec::new(); graph.channels.len()],
            channel_in_order: vec![true; graph.channels.len()],
            local_positions: vec![Vec::new(); process_count],
            local_balances: vec![Vec::new(); process_count],
            recordings: BTreeMap::new(),
            app_positions: vec![Vec::new(); process_count],
        };
        let mut balances: Vec<i64> = graph.processes.iter().map(|p| p.initial_tokens).collect();
        let mut last_received: Vec<Option<usize>> = vec![None; graph.channels.len()];
        for (position, event) in events.iter().enumerate() {
            match *event {
                ProcessEvent::Sent {
                    time,
                    channel,
                    message,
                    tokens,
                } => {
                    let channel = channel as ChannelIndex;
                    let slot = message as usize;
                    if index.messages.len() <= slot {
                        index.messages.resize(slot + 1, None);
                    }
                    index.messages[slot] = Some(MessageInfo {
                        channel,
                        tokens,
                        send_position: position,
                        send_time: time,
                        receive_position: NOT_RECEIVED,
                        receive_time: SimTime::NEVER,
                        lost: false,
                        order_on_channel: index.channel_messages[channel].len(),
                    });
                    index.channel_messages[channel].push(message);
                    index.channel_send_positions[channel].push(position);
                    index.channel_receive_positions[channel].push(NOT_RECEIVED);
                    let sender = graph.channels[channel].from;
                    index.app_positions[sender].push(position);
                    balances[sender] -= tokens;
                    index.local_positions[sender].push(position);
                    index.local_balances[sender].push(balances[sender]);
                }
                ProcessEvent::Received {
                    time,
                    channel,
                    message,
                    tokens,
                } => {
                    let channel = channel as ChannelIndex;
                    let receiver = graph.channels[channel].to;
                    if let Some(Some(info)) = index.messages.get_mut(message as usize) {
                        info.receive_position = position;
                        info.receive_time = time;
                        index.channel_receive_positions[channel][info.order_on_channel] = position;
                        let order = Some(info.order_on_channel);
                        // In order means: each receipt is of the message right after the previous one.
                        let expected_order =
                            last_received[channel].map_or(0, |previous| previous + 1);
                        if order != Some(expected_order) {
                            index.channel_in_order[channel] = false;
                        }
                        last_received[channel] = order;
                    }
                    balances[receiver] += tokens;
                    index.app_positions[receiver].push(position);
                    index.local_positions[receiver].push(position);
                    index.local_balances[receiver].push(balances[receiver]);
                }
                ProcessEvent::Lost {
                    channel, message, ..
                } => {
                    index.app_positions[graph.channels[channel as ChannelIndex].from]
                        .push(position);
                    if let Some(Some(info)) = index.messages.get_mut(message as usize) {
                        info.lost = true;
                    }
                    index.channel_in_order[channel as ChannelIndex] = false;
                }
                ProcessEvent::StateRecorded {
                    process, snapshot, ..
                } => {
                    let recordings = index
                        .recordings
                        .entry(snapshot)
                        .or_insert_with(|| vec![None; process_count]);
                    recordings[process as ProcessIndex].get_or_insert(position);
                }
                _ => {}
            }
        }
        // Messages still in flight at the end keep the fast path only as a suffix: after the first
        // one never received, no later message may have been received.
        for (channel, messages) in index.channel_messages.iter().enumerate() {
            let received = |m: &MessageId| index.info(*m).receive_position != NOT_RECEIVED;
            let prefix = messages
                .iter()
                .position(|m| !received(m))
                .unwrap_or(messages.len());
            if messages[prefix..].iter().any(received) {
                index.channel_in_order[channel] = false;
            }
        }
        index
    }

    fn info(&self, message: MessageId) -> &MessageInfo {
        self.messages[message as usize]
            .as_ref()
            .expect("only sent messages are looked up")
    }

    fn lookup(&self, message: MessageId) -> Option<&MessageInfo> {
        self.messages.get(message as usize).and_then(Option::as_ref)
    }

    /// The tokens `process` held just before record position `cut`, by replaying its events.
    fn balance_before(&self, process: ProcessIndex, cut: usize) -> (i64, usize) {
        let positions = &self.local_positions[process];
        let count = positions.partition_point(|&p| p < cut);
        let balance = if count == 0 {
            self.graph.processes[process].initial_tokens
        } else {
            self.local_balances[process][count - 1]
        };
        (balance, count)
    }

    fn process_name(&self, process: ProcessIndex) -> &str {
        &self.graph.processes[process].name
    }

    fn channel_name(&self, channel: ChannelIndex) -> String {
        self.graph.channel_name(channel)
    }

    fn time_at(&self, position: usize) -> SimTime {
        self.events[position].time()
    }

    fn describe(&self, message: MessageId) -> String {
        let info = self.info(message);
        format!("#{message} ({})", snapsim::topology::tokens(info.tokens))
    }
}

/// A snapshot with its recorded channel states indexed by channel (`GlobalSnapshot::channel`
/// searches a list; the checks ask for every channel of every snapshot). A channel listed twice
/// counts with its first entry, as `GlobalSnapshot::channel` would have it.
struct Recorded<'a> {
    snapshot: &'a GlobalSnapshot,
    by_channel: Vec<&'a [RecordedMessage]>,
}

impl<'a> Recorded<'a> {
    fn new(snapshot: &'a GlobalSnapshot, channels: usize) -> Recorded<'a> {
        let mut by_channel: Vec<Option<&'a [RecordedMessage]>> = vec![None; channels];
        for (channel, messages) in &snapshot.channel_messages {
            if let Some(slot) = by_channel.get_mut(*channel) {
                slot.get_or_insert(messages.as_slice());
            }
        }
        Recorded {
            snapshot,
            by_channel: by_channel.into_iter().map(|m| m.unwrap_or(&[])).collect(),
        }
    }

    fn channel(&self, channel: ChannelIndex) -> &'a [RecordedMessage] {
        self.by_channel.get(channel).copied().unwrap_or(&[])
    }
}

impl std::ops::Deref for Recorded<'_> {
    type Target = GlobalSnapshot;
    fn deref(&self) -> &GlobalSnapshot {
        self.snapshot
    }
}

/// What the cut looks like on one channel.
struct ChannelCut {
    /// Sent inside the cut, not received inside it: what the channel state must be.
    expected: Vec<MessageId>,
    /// Received inside the cut but sent outside it.
    orphans: Vec<MessageId>,
}

fn channel_cut(
    index: &Index,
    channel: ChannelIndex,
    sender_cut: usize,
    receiver_cut: usize,
) -> ChannelCut {
    let messages = &index.channel_messages[channel];
    let received = &index.channel_receive_positions[channel];
    let sent_inside = index.channel_send_positions[channel].partition_point(|&p| p < sender_cut);
    if index.channel_in_order[channel] {
        // Receipts are in send order, so "received inside the cut" is a prefix of the messages.
        let received_prefix = received.partition_point(|&p| p < receiver_cut);
        ChannelCut {
            expected: messages[received_prefix.min(sent_inside)..sent_inside].to_vec(),
            orphans: messages[sent_inside..received_prefix.max(sent_inside)].to_vec(),
        }
    } else {
        let inside = |order: usize| received[order] < receiver_cut;
        ChannelCut {
            expected: (0..sent_inside)
                .filter(|&o| !inside(o))
                .map(|o| messages[o])
                .collect(),
            orphans: (sent_inside..messages.len())
                .filter(|&o| inside(o))
                .map(|o| messages[o])
                .collect(),
        }
    }
}

/// Checks every completed snapshot and the completion of every started one. A run `cut_short` by
/// its event budget stopped with markers still in flight: its incomplete snapshots are not
/// judged, since the run never gave them the chance to complete.
pub fn check(
    graph: &ProcessGraph,
    events: &[ProcessEvent],
    snapshots: &[GlobalSnapshot],
    incomplete: &[IncompleteSnapshot],
    cut_short: Option<snapsim::engine::CutShort>,
) -> ProcessGraphVerdict {
    let index = Index::build(graph, events);
    // One thread: a run is often one of many checked in parallel already (`check --seeds`,
    // sweeps), and a library call that waited on the shared thread pool could hang a caller
    // whose pool threads are all blocked waiting for runs to finish.
    let mut checked: Vec<(SnapshotCheck, bool)> = snapshots
        .iter()
        .map(|s| check_snapshot(&index, s))
        .collect();
    // The snapshots whose state did not hold at their own cut: one replay of the run for all.
    let pending: Vec<usize> = (0..checked.len()).filter(|&i| checked[i].1).collect();
    let wanted: Vec<&GlobalSnapshot> = pending.iter().map(|&i| &snapshots[i]).collect();
    for (&i, mut occurred) in pending.iter().zip(replay_occurrences(&index, &wanted)) {
        let check = &mut checked[i].0;
        if !occurred.occurred && check.checks[3].passed {
            // Theorem 1 promises reachability, not occurrence: say so only where it holds.
            occurred
                .explanation
                .push_str(" (it is still reachable from the initial state, by Theorem 1)");
        }
        check.occurred = occurred;
    }
    ProcessGraphVerdict {
        snapshots: checked.into_iter().map(|(check, _)| check).collect(),
        completion: match cut_short {
            Some(cut) if !incomplete.is_empty() => Check::pass(
                Invariant::Completion,
                format!(
                    "not judged: {} snapshot(s) were still in progress when the event budget cut the run short at {}",
                    incomplete.len(),
                    snapsim::engine::SimTime::from_micros(cut.at_us)
                ),
            ),
            _ => check_completion(graph, incomplete, events),
        },
    }
}

fn check_completion(
    graph: &ProcessGraph,
    incomplete: &[IncompleteSnapshot],
    events: &[ProcessEvent],
) -> Check {
    let Some(first) = incomplete.first() else {
        return Check::pass(
            Invariant::Completion,
            "every snapshot that started completed",
        );
    };
    let lost_marker = events.iter().find_map(|e| match *e {
        ProcessEvent::MarkerLost {
            channel,
            snapshot,
            time,
        } if snapshot == first.id => Some((channel, time)),
        _ => None,
    });
    let mut detail = format!(
        "snapshot {} (started by {} at {}) never completed",
        first.id, graph.processes[first.initiator].name, first.started_at
    );
    if !first.processes_not_recorded.is_empty() {
        let names: Vec<&str> = first
            .processes_not_recorded
            .iter()
            .take(5)
            .map(|&p| graph.processes[p].name.as_str())
            .collect();
        detail += &format!(": {} never recorded", names.join(", "));
    }
    if !first.channels_not_closed.is_empty() {
        let names: Vec<String> = first
            .channels_not_closed
            .iter()
            .take(5)
            .map(|&c| graph.channel_name(c))
            .collect();
        detail += &format!("; no marker ever closed {}", names.join(", "));
    }
    if let Some((channel, time)) = lost_marker {
        detail += &format!(
            " — its marker on {} was lost at {time}",
            graph.channel_name(channel as ChannelIndex)
        );
    }
    if incomplete.len() > 1 {
        detail += &format!(" (and {} more incomplete snapshots)", incomplete.len() - 1);
    }
    Check::fail(Invariant::Completion, detail)
}

/// Invariants 1–4 of one snapshot, and whether its state held at its cut; `true` beside it: that
/// it did not, and whether the run passed through it elsewhere is left to [`replay_occurrences`].
fn check_snapshot(index: &Index, snapshot: &GlobalSnapshot) -> (SnapshotCheck, bool) {
    let graph = index.graph;
    let missing: Vec<ProcessIndex> = match index.recordings.get(&snapshot.id) {
        None => (0..graph.processes.len()).collect(),
        Some(recordings) => (0..graph.processes.len())
            .filter(|&p| recordings[p].is_none())
            .collect(),
    };
    if !missing.is_empty() {
        let detail = format!(
            "the event record shows no state recording by {} for snapshot {}, yet the snapshot claims to be complete",
            index.process_name(missing[0]),
            snapshot.id
        );
        let checks = [
            Invariant::ConsistentCut,
            Invariant::ChannelState,
            Invariant::Conservation,
            Invariant::Reachability,
        ]
        .into_iter()
        .map(|i| Check::fail(i, detail.clone()))
        .collect();
        return (
            SnapshotCheck {
                snapshot: snapshot.id,
                checks,
                occurred: Occurrence {
                    occurred: false,
                    explanation: "cannot tell: the cut is not defined".into(),
                },
            },
            false,
        );
    }
    let snapshot = &Recorded::new(snapshot, graph.channels.len());
    let cut: Vec<usize> = index.recordings[&snapshot.id]
        .iter()
        .map(|r| r.expect("checked above"))
        .collect();
    let cuts: Vec<ChannelCut> = (0..graph.channels.len())
        .map(|c| {
            channel_cut(
                index,
                c,
                cut[graph.channels[c].from],
                cut[graph.channels[c].to],
            )
        })
        .collect();

    let consistent_cut = check_consistent_cut(index, &cut, &cuts);
    let (channel_state, channel_mismatches) = check_channel_state(index, snapshot, &cut, &cuts);
    let replayed: Vec<(i64, usize)> = (0..graph.processes.len())
        .map(|p| index.balance_before(p, cut[p]))
        .collect();
    let conservation = check_conservation(index, snapshot, &cut, &cuts, &replayed);
    let reachability = check_reachability(index, snapshot, &cuts, &replayed, &channel_mismatches);
    let at_cut = occurred_at_cut(index, snapshot, &cut);
    let replay = at_cut.is_none();
    let occurred = at_cut.unwrap_or(Occurrence {
        occurred: false,
        explanation: "decided by the replay".into(),
    });
    (
        SnapshotCheck {
            snapshot: snapshot.id,
            checks: vec![consistent_cut, channel_state, conservation, reachability],
            occurred,
        },
        replay,
    )
}

fn check_consistent_cut(index: &Index, cut: &[usize], cuts: &[ChannelCut]) -> Check {
    let orphans: Vec<MessageId> = cuts
        .iter()
        .flat_map(|c| c.orphans.iter().copied())
        .collect();
    let crossing: usize = cuts.iter().map(|c| c.expected.len()).sum();
    let Some(&first) = orphans.first() else {
        return Check::pass(
            Invariant::ConsistentCut,
            format!(
                "no message received inside the cut was sent outside it; {crossing} message(s) were in flight across it"
            ),
        );
    };
    let info = index.info(first);
    let channel = &index.graph.channels[info.channel];
    let mut detail = format!(
        "orphan message {} on {}: {} received it at {}, before recording (at {}), but {} sent it at {}, after recording (at {}) — its receipt is in the snapshot, its sending is not",
        index.describe(first),
        index.channel_name(info.channel),
        index.process_name(channel.to),
        info.receive_time,
        index.time_at(cut[channel.to]),
        index.process_name(channel.from),
        info.send_time,
        index.time_at(cut[channel.from]),
    );
    if orphans.len() > 1 {
        detail += &format!(" (and {} more orphan(s))", orphans.len() - 1);
    }
    Check::fail(Invariant::ConsistentCut, detail)
}

/// Compares each channel's recorded messages with the cut's. Order matters on FIFO channels; on a
/// non-FIFO channel the state is a set.
fn check_channel_state(
    index: &Index,
    snapshot: &Recorded,
    cut: &[usize],
    cuts: &[ChannelCut],
) -> (Check, Vec<ChannelIndex>) {
    let mut mismatches = Vec::new();
    let mut first_detail = None;
    for (channel, channel_cut) in cuts.iter().enumerate() {
        let recorded: Vec<MessageId> = snapshot
            .channel(channel)
            .iter()
            .map(|m| m.message)
            .collect();
        let fifo = index.graph.channels[channel].fifo;
        let same = if fifo {
            recorded == channel_cut.expected
        } else {
            let mut a = recorded.clone();
            let mut b = channel_cut.expected.clone();
            a.sort_unstable();
            b.sort_unstable();
            a == b
        };
        if same {
            continue;
        }
        mismatches.push(channel);
        if first_detail.is_none() {
            first_detail = Some(explain_channel_mismatch(
                index,
                channel,
                cut,
                &channel_cut.expected,
                &recorded,
                snapshot,
            ));
        }
    }
    let total: usize = cuts.iter().map(|c| c.expected.len()).sum();
    let check = match first_detail {
        None => Check::pass(
            Invariant::ChannelState,
            format!(
                "all {} channels recorded exactly what was in flight at the cut ({total} message(s))",
                cuts.len()
            ),
        ),
        Some(mut detail) => {
            if mismatches.len() > 1 {
                detail += &format!(" (and {} more channel(s) wrong)", mismatches.len() - 1);
            }
            Check::fail(Invariant::ChannelState, detail)
        }
    };
    (check, mismatches)
}

fn list(
    index: &Index,
    messages: &[MessageId],
    snapshot: &Recorded,
    channel: ChannelIndex,
) -> String {
    let recorded = snapshot.channel(channel);
    let describe = |m: &MessageId| match index.lookup(*m) {
        Some(info) => format!("#{m} ({})", info.tokens),
        None => {
            let tokens = recorded
                .iter()
                .find(|r| r.message == *m)
                .map_or(0, |r| r.tokens);
            format!("#{m} ({tokens})")
        }
    };
    let items: Vec<String> = messages.iter().take(6).map(describe).collect();
    let more = if messages.len() > 6 {
        format!(", … {} in all", messages.len())
    } else {
        String::new()
    };
    format!("[{}{more}]", items.join(", "))
}

fn explain_channel_mismatch(
    index: &Index,
    channel: ChannelIndex,
    cut: &[usize],
    expected: &[MessageId],
    recorded: &[MessageId],
    snapshot: &Recorded,
) -> String {
    let config = &index.graph.channels[channel];
    let (sender, receiver) = (
        index.process_name(config.from),
        index.process_name(config.to),
    );
    let mut detail = format!(
        "channel {}: expected {}, recorded {}",
        index.channel_name(channel),
        list(index, expected, snapshot, channel),
        list(index, recorded, snapshot, channel)
    );
    if let Some(&missing) = expected.iter().find(|m| !recorded.contains(m)) {
        let info = index.info(missing);
        if info.lost {
            detail += &format!(
                " — {} was sent by {sender} at {} before it recorded, then lost in transit, so no receiver could record it",
                index.describe(missing),
                info.send_time
            );
        } else {
            detail += &format!(
                " — {} was sent by {sender} at {}, before {sender} recorded (at {}), and received by {receiver} at {}, after {receiver} recorded (at {}): it was in flight at the cut but is missing",
                index.describe(missing),
                info.send_time,
                index.time_at(cut[config.from]),
                info.receive_time,
                index.time_at(cut[config.to]),
            );
        }
    } else if let Some(&extra) = recorded.iter().find(|m| !expected.contains(m)) {
        match index.lookup(extra) {
            None => detail += &format!(" — #{extra} was never sent on this channel"),
            Some(info) if info.send_position >= cut[config.from] => {
                detail += &format!(
                    " — {} was sent by {sender} at {}, after {sender} recorded (at {}), so it belongs to the future of the snapshot, not to the channel",
                    index.describe(extra),
                    info.send_time,
                    index.time_at(cut[config.from])
                )
            }
            Some(info) => {
                detail += &format!(
                    " — {} had already been received by {receiver} at {}, before {receiver} recorded (at {}), so it is counted in {receiver}'s state",
                    index.describe(extra),
                    info.receive_time,
                    index.time_at(cut[config.to])
                )
            }
        }
    } else {
        detail += " — the same messages in a different order: a FIFO channel's state is a sequence";
    }
    detail
}

fn check_conservation(
    index: &Index,
    snapshot: &Recorded,
    cut: &[usize],
    cuts: &[ChannelCut],
    replayed: &[(i64, usize)],
) -> Check {
    let total = index.graph.total_initial_tokens();
    let in_processes: i64 = snapshot.process_tokens.iter().sum();
    let recorded_total = snapshot.total_tokens();
    let in_channels = recorded_total - in_processes;
    if recorded_total == total {
        return Check::pass(
            Invariant::Conservation,
            format!(
                "{} recorded ({in_processes} in processes + {in_channels} in channels) = {total} in the system",
                snapsim::topology::tokens(recorded_total)
            ),
        );
    }
    let difference = recorded_total - total;
    let mut detail = format!(
        "recorded {} ({in_processes} in processes + {in_channels} in channels) but the system holds {total}: {} too {}",
        snapsim::topology::tokens(recorded_total),
        snapsim::topology::tokens(difference.abs()),
        if difference > 0 { "many" } else { "few" }
    );
    // Account for the difference, item by item.
    let mut reasons = Vec::new();
    for (channel, channel_cut) in cuts.iter().enumerate() {
        let config = &index.graph.channels[channel];
        let recorded: Vec<MessageId> = snapshot
            .channel(channel)
            .iter()
            .map(|m| m.message)
            .collect();
        for &orphan in &channel_cut.orphans {
            reasons.push(format!(
                "{} on {} is counted twice: in {}'s state (received before it recorded) and in {}'s (sent after it recorded)",
                index.describe(orphan),
                index.channel_name(channel),
                index.process_name(config.to),
                index.process_name(config.from)
            ));
        }
        for &message in recorded
            .iter()
            .filter(|m| !channel_cut.expected.contains(m))
        {
            if let Some(info) = index.lookup(message) {
                let place = if info.send_position >= cut[config.from] {
                    format!(
                        "in {}'s state (not yet sent when it recorded)",
                        index.process_name(config.from)
                    )
                } else {
                    format!(
                        "in {}'s state (already received when it recorded)",
                        index.process_name(config.to)
                    )
                };
                reasons.push(format!(
                    "{} on {} is counted twice: in the channel and {place}",
                    index.describe(message),
                    index.channel_name(channel)
                ));
            }
        }
        for &message in channel_cut
            .expected
            .iter()
            .filter(|m| !recorded.contains(m))
        {
            let how = if index.info(message).lost {
                "lost in transit"
            } else {
                "in flight but not recorded"
            };
            reasons.push(format!(
                "{} on {} is counted nowhere ({how})",
                index.describe(message),
                index.channel_name(channel)
            ));
        }
    }
    for (process, &(true_tokens, _)) in replayed.iter().enumerate() {
        let recorded_tokens = snapshot.process_tokens[process];
        if recorded_tokens != true_tokens {
            reasons.push(format!(
                "{} recorded {} but held {true_tokens} at its recording point",
                index.process_name(process),
                snapsim::topology::tokens(recorded_tokens)
            ));
        }
    }
    if !reasons.is_empty() {
        let shown: Vec<&str> = reasons.iter().take(3).map(String::as_str).collect();
        detail += &format!(" — {}", shown.join("; "));
        if reasons.len() > 3 {
            detail += &format!(" (and {} more)", reasons.len() - 3);
        }
    }
    Check::fail(Invariant::Conservation, detail)
}

fn check_reachability(
    index: &Index,
    snapshot: &Recorded,
    cuts: &[ChannelCut],
    replayed: &[(i64, usize)],
    channel_mismatches: &[ChannelIndex],
) -> Check {
    let events_before: usize = replayed.iter().map(|(_, count)| count).sum();
    if let Some((channel, orphan)) = cuts
        .iter()
        .enumerate()
        .find_map(|(c, cut)| cut.orphans.first().map(|&m| (c, m)))
    {
        return Check::fail(
            Invariant::Reachability,
            format!(
                "the events before the cut are not a computation of the system: {} receives {} on {} but its sending is after the cut, so no replay from the initial state can produce the recorded state",
                index.process_name(index.graph.channels[channel].to),
                index.describe(orphan),
                index.channel_name(channel)
            ),
        );
    }
    for (process, &(tokens, count)) in replayed.iter().enumerate() {
        if snapshot.process_tokens[process] != tokens {
            return Check::fail(
                Invariant::Reachability,
                format!(
                    "replaying the {count} event(s) of {} before its recording, from its initial {}, gives {}, but it recorded {}",
                    index.process_name(process),
                    snapsim::topology::tokens(index.graph.processes[process].initial_tokens),
                    snapsim::topology::tokens(tokens),
                    snapshot.process_tokens[process]
                ),
            );
        }
    }
    if let Some(&channel) = channel_mismatches.first() {
        return Check::fail(
            Invariant::Reachability,
            format!(
                "replaying the {events_before} event(s) before the cut leaves {} on {}, but the snapshot recorded {}",
                list(index, &cuts[channel].expected, snapshot, channel),
                index.channel_name(channel),
                list(
                    index,
                    &snapshot
                        .channel(channel)
                        .iter()
                        .map(|m: &RecordedMessage| m.message)
                        .collect::<Vec<_>>(),
                    snapshot,
                    channel
                )
            ),
        );
    }
    Check::pass(
        Invariant::Reachability,
        format!(
            "replaying the {events_before} application event(s) before the cut from the initial state gives exactly the recorded global state, and the run continues from it to its final state"
        ),
    )
}

/// An application event, compacted for the occurrence scan.
#[derive(Clone, Copy)]
struct AppEvent {
    position: usize,
    channel: ChannelIndex,
    message: MessageId,
    tokens: i64,
    kind: AppEventKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AppEventKind {
    Sent,
    Received,
    Lost,
}

/// The application events of the record in order, read as they are needed (collecting them
/// would hold a copy of every message's send and receipt at once).
fn app_events_of<'i>(index: &'i Index) -> impl Iterator<Item = AppEvent> + 'i {
    index
        .events
        .iter()
        .enumerate()
        .filter_map(|(position, event)| match *event {
            ProcessEvent::Sent {
                channel,
                message,
                tokens,
                ..
            } => Some(AppEvent {
                position,
                channel: channel as ChannelIndex,
                message,
                tokens,
                kind: AppEventKind::Sent,
            }),
            ProcessEvent::Received {
                channel,
                message,
                tokens,
                ..
            } => Some(AppEvent {
                position,
                channel: channel as ChannelIndex,
                message,
                tokens,
                kind: AppEventKind::Received,
            }),
            ProcessEvent::Lost {
                channel,
                message,
                tokens,
                ..
            } => Some(AppEvent {
                position,
                channel: channel as ChannelIndex,
                message,
                tokens,
                kind: AppEventKind::Lost,
            }),
            _ => None,
        })
}

/// Fast answer: if every application event before the cut happened before every event after it,
/// the cut *is* a moment of the run, and the recorded state either is the state then or (`None`)
/// is left to the replay.
fn occurred_at_cut(index: &Index, snapshot: &Recorded, cut: &[usize]) -> Option<Occurrence> {
    let mut last_inside: Option<usize> = None;
    let mut first_outside: Option<usize> = None;
    for (process, positions) in index.app_positions.iter().enumerate() {
        let inside = positions.partition_point(|&p| p < cut[process]);
        if inside > 0 {
            last_inside = last_inside.max(Some(positions[inside - 1]));
        }
        if let Some(&first) = positions.get(inside) {
            first_outside = Some(first_outside.map_or(first, |f: usize| f.min(first)));
        }
    }
    let is_prefix = match (last_inside, first_outside) {
        (Some(last), Some(first)) => last < first,
        _ => true,
    };
    if !(is_prefix && cut_state_matches(index, snapshot, cut)) {
        return None;
    }
    let from = last_inside.map_or(SimTime::ZERO, |p| index.time_at(p));
    let until = first_outside.map_or("the end".to_string(), |p| index.time_at(p).to_string());
    Some(Occurrence {
        occurred: true,
        explanation: format!("the run was in exactly this global state from {from} until {until}"),
    })
}

/// A term of the global state's hash: a process holding `tokens`, or message `message` in flight
/// on `channel`. The hash of a state is the wrapping sum of its terms, so it follows the run one
/// event at a time.
fn state_term(kind: u64, item: u64, value: u64) -> u64 {
    // splitmix64 finaliser over the three words: deterministic, no hasher state.
    let mut z = kind
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(item.wrapping_mul(0xBF58_476D_1CE4_E5B9))
        .wrapping_add(value.wrapping_mul(0x94D0_49BB_1331_11EB));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn process_term(process: ProcessIndex, tokens: i64) -> u64 {
    state_term(1, process as u64, tokens as u64)
}

fn message_term(channel: ChannelIndex, message: MessageId) -> u64 {
    state_term(2, channel as u64, message)
}

/// For each snapshot, the first instant of the run whose global state equals the recorded one.
///
/// One replay serves every snapshot: the run's global state is followed event by event with a
/// hash (a sum of per-process and per-message terms, updated in O(1) per event), each snapshot's
/// recorded state has its hash, and only a hash match is compared in full — so the cost is the
/// record plus the snapshots, not their product.
fn replay_occurrences(index: &Index, wanted: &[&GlobalSnapshot]) -> Vec<Occurrence> {
    let never = || {
        Occurrence {
        occurred: false,
        explanation: "the run never was in this global state at any instant: processes recorded at different moments and events between those moments were reordered in the recorded state".into(),
    }
    };
    let mut found: Vec<Occurrence> = wanted.iter().map(|_| never()).collect();
    if wanted.is_empty() {
        return found;
    }
    let graph = index.graph;
    // Each snapshot's recorded channel contents, sorted, non-empty channels only (in channel
    // order), for the full comparison.
    let recorded_ids: Vec<Vec<(ChannelIndex, Vec<MessageId>)>> = wanted
        .iter()
        .map(|s| {
            let r = Recorded::new(s, graph.channels.len());
            (0..graph.channels.len())
                .filter(|&c| !r.channel(c).is_empty())
                .map(|c| {
                    let mut ids: Vec<MessageId> = r.channel(c).iter().map(|m| m.message).collect();
                    ids.sort_unstable();
                    (c, ids)
                })
                .collect()
        })
        .collect();
    let mut targets: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (k, snapshot) in wanted.iter().enumerate() {
        let mut hash = 0u64;
        for (process, &tokens) in snapshot.process_tokens.iter().enumerate() {
            hash = hash.wrapping_add(process_term(process, tokens));
        }
        for (channel, ids) in &recorded_ids[k] {
            for &id in ids {
                hash = hash.wrapping_add(message_term(*channel, id));
            }
        }
        targets.entry(hash).or_default().push(k);
    }
    let mut tokens: Vec<i64> = graph.processes.iter().map(|p| p.initial_tokens).collect();
    let mut in_flight: Vec<VecDeque<MessageId>> = vec![VecDeque::new(); graph.channels.len()];
    let mut hash = tokens
        .iter()
        .enumerate()
        .fold(0u64, |h, (p, &t)| h.wrapping_add(process_term(p, t)));
    let mut remaining = wanted.len();
    let look = |hash: u64,
                tokens: &[i64],
                in_flight: &[VecDeque<MessageId>],
                found: &mut Vec<Occurrence>,
                when: &dyn Fn() -> String|
     -> usize {
        let Some(candidates) = targets.get(&hash) else {
            return 0;
        };
        let mut newly = 0;
        for &k in candidates {
            if found[k].occurred || tokens != wanted[k].process_tokens.as_slice() {
                continue;
            }
            let want = &recorded_ids[k];
            let channels_match = in_flight.iter().filter(|q| !q.is_empty()).count() == want.len()
                && want.iter().all(|(channel, ids)| {
                    let now = &in_flight[*channel];
                    now.len() == ids.len() && {
                        let mut now: Vec<MessageId> = now.iter().copied().collect();
                        now.sort_unstable();
                        now == *ids
                    }
                });
            if channels_match {
                found[k] = Occurrence {
                    occurred: true,
                    explanation: when(),
                };
                newly += 1;
            }
        }
        newly
    };
    remaining -= look(hash, &tokens, &in_flight, &mut found, &|| {
        "the run was in exactly this global state at its start".into()
    });
    for event in app_events_of(index) {
        if remaining == 0 {
            break;
        }
        let process = match event.kind {
            AppEventKind::Received => graph.channels[event.channel].to,
            AppEventKind::Sent | AppEventKind::Lost => graph.channels[event.channel].from,
        };
        let channel = &mut in_flight[event.channel];
        let old = tokens[process];
        match event.kind {
            AppEventKind::Sent => {
                tokens[process] -= event.tokens;
                channel.push_back(event.message);
                hash = hash.wrapping_add(message_term(event.channel, event.message));
            }
            AppEventKind::Received => {
                tokens[process] += event.tokens;
                if let Some(at) = channel.iter().position(|&m| m == event.message) {
                    channel.remove(at);
                    hash = hash.wrapping_sub(message_term(event.channel, event.message));
                }
            }
            AppEventKind::Lost => {
                if let Some(at) = channel.iter().rposition(|&m| m == event.message) {
                    channel.remove(at);
                    hash = hash.wrapping_sub(message_term(event.channel, event.message));
                }
            }
        }
        hash = hash
            .wrapping_sub(process_term(process, old))
            .wrapping_add(process_term(process, tokens[process]));
        let at = index.time_at(event.position);
        remaining -= look(hash, &tokens, &in_flight, &mut found, &|| {
            format!(
                "the run passed through exactly this global state at {at}, though not at a single cut instant of the snapshot"
            )
        });
    }
    found
}

/// The recorded state equals the true state at the cut (processes and channels).
fn cut_state_matches(index: &Index, snapshot: &Recorded, cut: &[usize]) -> bool {
    let graph = index.graph;
    (0..graph.processes.len())
        .all(|p| index.balance_before(p, cut[p]).0 == snapshot.process_tokens[p])
        && (0..graph.channels.len()).all(|c| {
            let channel_cut = channel_cut(
                index,
                c,
                cut[graph.channels[c].from],
                cut[graph.channels[c].to],
            );
            let mut expected = channel_cut.expected;
            let mut recorded: Vec<MessageId> =
                snapshot.channel(c).iter().map(|m| m.message).collect();
            expected.sort_unstable();
            recorded.sort_unstable();
            channel_cut.orphans.is_empty() && expected == recorded
        })
}
