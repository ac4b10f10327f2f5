//! Invariants 1–4 (consistent cut, channel state, conservation, reachability) for Chandy-Lamport
//! snapshots on a process graph.
//!
//! Notation used in the explanations and comments: `R(p)` is the position in the event record at
//! which process `p` recorded its state for the snapshot being checked. An application event of
//! `p` is *inside* the snapshot (before the cut) when it comes before `R(p)`. For a channel
//! `c = p→q`, the paper's channel state is: sent inside the cut by `p`, not received inside the
//! cut by `q`.
//!
//! **One pass, memory for what is in flight.** The oracle reads the record once, entry by entry,
//! as the run writes it ([`Oracle`] is a [`RecordReader`]) or from a stored record ([`check`]).
//! It follows each snapshot from its first recording: every message received after its receiver
//! recorded but sent before its sender did goes into that snapshot's true channel state, every
//! message received before its receiver recorded but sent after its sender did is an orphan. When
//! the run says the snapshot completed, and every message sent inside its cut has arrived or been
//! lost, the oracle compares what the protocol recorded with that truth and forgets the snapshot.
//! What it keeps meanwhile is the messages in flight, the snapshots in progress, every lost
//! message (a lost message sent before a cut belongs to that cut's channel state forever), and the
//! stretch of the run since the oldest of those began — not the run.
//!
//! Whether the run ever *was* in a recorded state (the paper, §4: not necessarily) is decided
//! with a hash of the global state that follows the run one event at a time (a sum of terms, one
//! per process balance and one per message in flight, each computed twice with independent
//! mixers: 128 bits, so two different states agree by chance with probability about 2⁻¹²⁸). A
//! recorded state with messages in its channels can only be a state of the run while all of them
//! are in flight: that stretch is searched, in the kept stretch of the run and then as the run
//! goes on. A recorded state with every channel empty can only be a moment when nothing was in
//! flight: the first moment of each such state is kept in a table (as many entries as there are
//! distinct quiet states, not moments), looked up at the end.

use super::{Check, Invariant};
use crate::chandy_lamport::{GlobalSnapshot, IncompleteSnapshot, RecordReader, RecordedMessage};
use crate::engine::SimTime;
use crate::topology::{ChannelIndex, ProcessGraph, ProcessIndex};
use crate::trace::{MessageId, ProcessEvent, SnapshotId};
use serde::Serialize;
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

/// What the oracle knows of one message, from the record.
#[derive(Clone, Copy, Debug)]
struct MessageInfo {
    id: MessageId,
    channel: ChannelIndex,
    tokens: i64,
    send_position: usize,
    send_time: SimTime,
    /// `NOT_RECEIVED` while in flight, and for ever if lost.
    receive_position: usize,
    receive_time: SimTime,
    lost: bool,
    /// Where it was received or lost (`NOT_RECEIVED` while in flight).
    gone_position: usize,
    /// 0 for the first message sent on its channel, 1 for the next, …
    order_on_channel: usize,
}

impl MessageInfo {
    fn in_flight(&self) -> bool {
        self.gone_position == NOT_RECEIVED
    }
}

/// Where a process recorded its state for a snapshot, and what it truly held then.
#[derive(Clone, Copy, Debug)]
struct Recording {
    position: usize,
    time: SimTime,
    /// Its balance just before recording (its initial tokens plus its events so far).
    balance: i64,
    /// Its sends and receipts before recording.
    events_before: usize,
}

/// A snapshot being followed: its cut as far as the record has shown it.
struct Followed {
    id: SnapshotId,
    cut: Vec<Option<Recording>>,
    recorded: usize,
    /// The earliest record position this snapshot's checks may still ask about: its first
    /// recording, or the sending of the oldest message then in flight if earlier.
    floor: usize,
    /// The last application event of any process before its recording.
    last_inside: Option<(usize, SimTime)>,
    /// The first application event of a process after its recording.
    first_outside: Option<(usize, SimTime)>,
    /// Sent inside the cut, not received inside it (received after, lost, or still in flight at
    /// the end), in the order they became so.
    expected: Vec<MessageInfo>,
    /// Received inside the cut but sent outside it.
    orphans: Vec<MessageInfo>,
    /// What the protocol says it recorded, with the place each claim takes in the verdict.
    claims: Vec<(usize, GlobalSnapshot)>,
    /// Once claimed: messages sent inside the cut still in flight.
    waiting: usize,
}

impl Followed {
    fn sent_inside(&self, graph: &ProcessGraph, message: &MessageInfo) -> bool {
        self.cut[graph.channels[message.channel].from]
            .is_none_or(|r| message.send_position < r.position)
    }
}

/// A recorded state the run has not (yet) been seen in, watched as the run goes on.
struct Watch {
    slot: usize,
    target: (u64, u64),
    /// The recorded messages still in flight: the state can hold only while all of them are.
    in_flight: BTreeSet<MessageId>,
}

/// The process-graph oracle, reading the record one entry at a time ([`RecordReader`]) and
/// judging each snapshot as soon as the record has shown everything its checks need.
pub struct Oracle<'g> {
    graph: &'g ProcessGraph,
    /// Per process: its balance, its sends and receipts so far, its last application event.
    balances: Vec<i64>,
    local_events: Vec<usize>,
    last_app: Vec<Option<(usize, SimTime)>>,
    /// Per channel: messages sent on it so far.
    sent_on_channel: Vec<usize>,
    /// Messages by id, from `base`: every message still in flight and every one sent since the
    /// oldest snapshot in progress began (ids are dense, in send order).
    recent: VecDeque<Option<MessageInfo>>,
    base: MessageId,
    /// Every id below this one has arrived or been lost.
    oldest_in_flight: MessageId,
    in_flight: usize,
    /// Every lost message: it belongs to the channel state of every later cut.
    lost: BTreeMap<MessageId, MessageInfo>,
    followed: Vec<Followed>,
    judged: BTreeSet<SnapshotId>,
    /// The global state's hash after each application event since the oldest floor.
    history: VecDeque<(usize, SimTime, (u64, u64))>,
    hash: (u64, u64),
    /// The first moment of each state with nothing in flight (`None`: the start).
    quiet: BTreeMap<(u64, u64), Option<SimTime>>,
    watches: Vec<Watch>,
    quiet_watches: Vec<(usize, (u64, u64))>,
    results: BTreeMap<usize, SnapshotCheck>,
    /// Slots whose occurrence is searched beyond the cut (they get the Theorem 1 remark if not found).
    searched: BTreeSet<usize>,
    first_marker_lost: BTreeMap<SnapshotId, (u32, SimTime)>,
    claims_read: usize,
}

impl<'g> Oracle<'g> {
    /// An oracle for a run on `graph`, before its first record entry.
    pub fn new(graph: &'g ProcessGraph) -> Oracle<'g> {
        let balances: Vec<i64> = graph.processes.iter().map(|p| p.initial_tokens).collect();
        let hash = balances
            .iter()
            .enumerate()
            .fold((0, 0), |h, (p, &t)| add(h, process_term(p, t)));
        Oracle {
            graph,
            local_events: vec![0; balances.len()],
            last_app: vec![None; balances.len()],
            balances,
            sent_on_channel: vec![0; graph.channels.len()],
            recent: VecDeque::new(),
            base: 0,
            oldest_in_flight: 0,
            in_flight: 0,
            lost: BTreeMap::new(),
            followed: Vec::new(),
            judged: BTreeSet::new(),
            history: VecDeque::new(),
            hash,
            quiet: BTreeMap::from([(hash, None)]),
            watches: Vec::new(),
            quiet_watches: Vec::new(),
            results: BTreeMap::new(),
            searched: BTreeSet::new(),
            first_marker_lost: BTreeMap::new(),
            claims_read: 0,
        }
    }

    fn message(&self, id: MessageId) -> Option<&MessageInfo> {
        if id < self.base {
            return self.lost.get(&id);
        }
        self.recent
            .get((id - self.base) as usize)
            .and_then(Option::as_ref)
    }

    /// What the record says of `id`, if the oracle still knows it (see the module docs).
    fn lookup(&self, id: MessageId) -> Option<MessageInfo> {
        self.message(id).copied()
    }

    /// The sending position of the oldest message in flight, if any.
    fn oldest_in_flight_sent(&mut self) -> Option<usize> {
        loop {
            let index = (self.oldest_in_flight - self.base) as usize;
            match self.recent.get(index) {
                None => return None,
                Some(Some(info)) if info.in_flight() => return Some(info.send_position),
                Some(_) => self.oldest_in_flight += 1,
            }
        }
    }

    /// Reads one record entry (`position` counts every entry, from 0).
    pub fn read(&mut self, position: usize, event: &ProcessEvent) {
        match *event {
            ProcessEvent::Sent {
                time,
                channel,
                message,
                tokens,
            } => {
                let channel = channel as ChannelIndex;
                let sender = self.graph.channels[channel].from;
                let info = MessageInfo {
                    id: message,
                    channel,
                    tokens,
                    send_position: position,
                    send_time: time,
                    receive_position: NOT_RECEIVED,
                    receive_time: SimTime::NEVER,
                    lost: false,
                    gone_position: NOT_RECEIVED,
                    order_on_channel: self.sent_on_channel[channel],
                };
                self.sent_on_channel[channel] += 1;
                if message >= self.base {
                    let slot = (message - self.base) as usize;
                    if self.recent.len() <= slot {
                        self.recent.resize(slot + 1, None);
                    }
                    self.recent[slot] = Some(info);
                    self.in_flight += 1;
                    self.hash = add(self.hash, message_term(channel, message));
                }
                self.local_event(sender, position, time, -tokens);
                self.after_app_event(position, time);
            }
            ProcessEvent::Received {
                time,
                channel,
                message,
                tokens,
            } => {
                let channel = channel as ChannelIndex;
                let receiver = self.graph.channels[channel].to;
                let arrived = self.arrive(message, channel, position, time, false);
                self.local_event(receiver, position, time, tokens);
                if let Some(info) = arrived {
                    self.gone(&info);
                }
                self.after_app_event(position, time);
            }
            ProcessEvent::Lost {
                time,
                channel,
                message,
                ..
            } => {
                let channel = channel as ChannelIndex;
                let sender = self.graph.channels[channel].from;
                let arrived = self.arrive(message, channel, position, time, true);
                self.app_event(sender, position, time);
                if let Some(info) = arrived {
                    self.lost.insert(info.id, info);
                    self.gone(&info);
                }
                self.after_app_event(position, time);
            }
            ProcessEvent::StateRecorded {
                time,
                process,
                snapshot,
                ..
            } => self.recorded(position, time, process as ProcessIndex, snapshot),
            // Followed from here: a broken protocol may record channels before any state.
            ProcessEvent::SnapshotInitiated { snapshot, .. }
                if !self.judged.contains(&snapshot) =>
            {
                self.follow(snapshot, position);
            }
            ProcessEvent::MarkerLost {
                time,
                channel,
                snapshot,
            } => {
                self.first_marker_lost
                    .entry(snapshot)
                    .or_insert((channel, time));
            }
            _ => {}
        }
    }

    /// A send or receipt of `process`: its balance changes by `delta`.
    fn local_event(&mut self, process: ProcessIndex, position: usize, time: SimTime, delta: i64) {
        let old = self.balances[process];
        self.balances[process] += delta;
        self.local_events[process] += 1;
        self.hash = add(
            sub(self.hash, process_term(process, old)),
            process_term(process, self.balances[process]),
        );
        self.app_event(process, position, time);
    }

    /// An application event owned by `process` (its send, a loss of its send, its receipt).
    fn app_event(&mut self, process: ProcessIndex, position: usize, time: SimTime) {
        self.last_app[process] = Some((position, time));
        for followed in &mut self.followed {
            if followed.first_outside.is_none() && followed.cut[process].is_some() {
                followed.first_outside = Some((position, time));
            }
        }
    }

    /// A message leaves its channel (received, or lost): returns what is known of it if it was
    /// in flight there, and sorts it into every followed cut.
    fn arrive(
        &mut self,
        message: MessageId,
        channel: ChannelIndex,
        position: usize,
        time: SimTime,
        lost: bool,
    ) -> Option<MessageInfo> {
        if message < self.base {
            return None;
        }
        let slot = (message - self.base) as usize;
        let info = self.recent.get_mut(slot)?.as_mut()?;
        if !info.in_flight() || info.channel != channel {
            return None;
        }
        info.gone_position = position;
        if lost {
            info.lost = true;
        } else {
            info.receive_position = position;
            info.receive_time = time;
        }
        let info = *info;
        self.in_flight -= 1;
        self.hash = sub(self.hash, message_term(channel, message));
        let graph = self.graph;
        let receiver = graph.channels[channel].to;
        for followed in &mut self.followed {
            let sent_inside = followed.sent_inside(graph, &info);
            let received_inside = !lost && followed.cut[receiver].is_none();
            if sent_inside && !received_inside {
                followed.expected.push(info);
            } else if !sent_inside && received_inside {
                followed.orphans.push(info);
            }
            if sent_inside && followed.waiting > 0 {
                followed.waiting -= 1;
            }
        }
        Some(info)
    }

    /// A recorded message left its channel: the watched states holding it can no longer occur.
    fn gone(&mut self, info: &MessageInfo) {
        let mut closed = Vec::new();
        self.watches.retain(|w| {
            let holds = w.in_flight.contains(&info.id);
            if holds {
                closed.push(w.slot);
            }
            !holds
        });
        for slot in closed {
            self.never_occurred(slot);
        }
    }

    /// After every application event: remember the state, look for watched states, judge what
    /// can be judged, forget what no check will ask about.
    fn after_app_event(&mut self, position: usize, time: SimTime) {
        let hash = self.hash;
        if self.in_flight == 0 {
            self.quiet.entry(hash).or_insert(Some(time));
        }
        let mut found = Vec::new();
        self.watches.retain(|w| {
            let matches = w.target == hash;
            if matches {
                found.push(w.slot);
            }
            !matches
        });
        for slot in found {
            self.occurred_at(slot, time);
        }
        let mut index = 0;
        while index < self.followed.len() {
            if !self.try_judge(index) {
                index += 1;
            }
        }
        self.history.push_back((position, time, hash));
        self.forget();
    }

    fn forget(&mut self) {
        let oldest = self.oldest_in_flight_sent().unwrap_or(usize::MAX);
        let floor = self
            .followed
            .iter()
            .map(|f| f.floor)
            .min()
            .unwrap_or(usize::MAX)
            .min(oldest);
        while self.history.len() > 1 && self.history[1].0 <= floor {
            self.history.pop_front();
        }
        while let Some(front) = self.recent.front() {
            let keep = front.is_some_and(|info| info.in_flight() || info.send_position >= floor);
            if keep {
                break;
            }
            self.recent.pop_front();
            self.base += 1;
        }
        self.oldest_in_flight = self.oldest_in_flight.max(self.base);
    }

    fn recorded(&mut self, position: usize, time: SimTime, process: ProcessIndex, id: SnapshotId) {
        if self.judged.contains(&id) {
            return;
        }
        let index = self.follow(id, position);
        let recording = Recording {
            position,
            time,
            balance: self.balances[process],
            events_before: self.local_events[process],
        };
        let last_app = self.last_app[process];
        let followed = &mut self.followed[index];
        if followed.cut[process].is_some() {
            return;
        }
        followed.cut[process] = Some(recording);
        followed.recorded += 1;
        if let Some(last) = last_app {
            followed.last_inside = followed.last_inside.max(Some(last));
        }
        self.count_waiting(index);
    }

    /// The followed snapshot `id`, from now on if it is new.
    fn follow(&mut self, id: SnapshotId, position: usize) -> usize {
        if let Some(index) = self.followed.iter().position(|f| f.id == id) {
            return index;
        }
        let floor = self
            .oldest_in_flight_sent()
            .unwrap_or(position)
            .min(position);
        // Every message lost so far was sent before anyone's recording and never received.
        let expected = self.lost.values().copied().collect();
        self.followed.push(Followed {
            id,
            cut: vec![None; self.graph.processes.len()],
            recorded: 0,
            floor,
            last_inside: None,
            first_outside: None,
            expected,
            orphans: Vec::new(),
            claims: Vec::new(),
            waiting: 0,
        });
        self.followed.len() - 1
    }

    /// Once a snapshot is claimed and every process has recorded: how many messages sent inside
    /// its cut are still in flight (the truth of its channels waits for them).
    fn count_waiting(&mut self, index: usize) {
        let followed = &self.followed[index];
        if followed.claims.is_empty() || followed.recorded < followed.cut.len() {
            return;
        }
        let start = (self.oldest_in_flight.max(self.base) - self.base) as usize;
        let waiting = self
            .recent
            .iter()
            .skip(start)
            .flatten()
            .filter(|m| m.in_flight() && followed.sent_inside(self.graph, m))
            .count();
        self.followed[index].waiting = waiting;
    }

    /// The protocol says snapshot `snapshot.id` completed with this state (read when the record
    /// shows its completion).
    pub fn snapshot_completed(&mut self, snapshot: &GlobalSnapshot) {
        let slot = self.claims_read;
        self.claim(slot, snapshot.clone());
    }

    fn claim(&mut self, slot: usize, snapshot: GlobalSnapshot) {
        self.claims_read = self.claims_read.max(slot + 1);
        let position = self.history.back().map_or(0, |h| h.0);
        let index = self.follow(snapshot.id, position);
        let followed = &mut self.followed[index];
        let first = followed.claims.is_empty();
        followed.claims.push((slot, snapshot));
        if first {
            self.count_waiting(index);
        }
        self.try_judge(index);
    }

    /// Judges the followed snapshot at `index` if the record has shown all its checks need;
    /// returns whether it did (and so removed it).
    fn try_judge(&mut self, index: usize) -> bool {
        let followed = &self.followed[index];
        if followed.claims.is_empty()
            || followed.recorded < followed.cut.len()
            || followed.waiting > 0
            || followed.first_outside.is_none()
        {
            return false;
        }
        let followed = self.followed.remove(index);
        self.judge(followed);
        true
    }

    fn judge(&mut self, followed: Followed) {
        self.judged.insert(followed.id);
        let view = View::new(self, &followed);
        let mut checks = Vec::new();
        for (slot, snapshot) in &followed.claims {
            checks.push((*slot, view.check_snapshot(snapshot), snapshot));
        }
        let mut searches = Vec::new();
        for (slot, (check, search), snapshot) in checks {
            if search {
                searches.push((slot, target_of(snapshot), recorded_ids(snapshot)));
            }
            self.results.insert(slot, check);
        }
        for (slot, target, ids) in searches {
            self.searched.insert(slot);
            self.search(slot, target, ids);
        }
    }

    /// Where the run was in the recorded state `target`, if anywhere: see the module docs.
    fn search(&mut self, slot: usize, target: (u64, u64), ids: Vec<(ChannelIndex, MessageId)>) {
        if ids.is_empty() {
            self.quiet_watches.push((slot, target));
            return;
        }
        if ids.iter().collect::<BTreeSet<_>>().len() != ids.len() {
            // A message is in flight once: a state holding it twice never occurs.
            return self.never_occurred(slot);
        }
        let mut from = 0;
        let mut until = NOT_RECEIVED;
        let mut in_flight = BTreeSet::new();
        for &(channel, id) in &ids {
            // Unknown here: never sent on this channel, or (only a broken protocol records such a
            // message) arrived before the oldest snapshot in progress began.
            let Some(info) = self.lookup(id).filter(|m| m.channel == channel) else {
                return self.never_occurred(slot);
            };
            if info.in_flight() {
                in_flight.insert(id);
            }
            from = from.max(info.send_position);
            until = until.min(info.gone_position);
        }
        if from >= until {
            return self.never_occurred(slot);
        }
        let start = self.history.partition_point(|h| h.0 < from);
        let hit = self
            .history
            .range(start..)
            .take_while(|h| h.0 < until)
            .find(|h| h.2 == target)
            .map(|h| h.1);
        match hit {
            Some(time) => self.occurred_at(slot, time),
            None if until != NOT_RECEIVED => self.never_occurred(slot),
            None => {
                self.watches.push(Watch {
                    slot,
                    target,
                    in_flight,
                });
            }
        }
    }

    fn occurred_at(&mut self, slot: usize, time: SimTime) {
        if let Some(check) = self.results.get_mut(&slot) {
            check.occurred = Occurrence {
                occurred: true,
                explanation: format!(
                    "the run passed through exactly this global state at {time}, though not at a single cut instant of the snapshot"
                ),
            };
        }
    }

    fn never_occurred(&mut self, slot: usize) {
        if let Some(check) = self.results.get_mut(&slot) {
            let mut explanation = "the run never was in this global state at any instant: processes recorded at different moments and events between those moments were reordered in the recorded state".to_string();
            if check.checks[3].passed {
                // Theorem 1 promises reachability, not occurrence: say so only where it holds.
                explanation
                    .push_str(" (it is still reachable from the initial state, by Theorem 1)");
            }
            check.occurred = Occurrence {
                occurred: false,
                explanation,
            };
        }
    }

    /// The end of the record: judges what is left and gives the verdict, one snapshot check per
    /// completion read, in the order read. A run `cut_short` by its event budget stopped with
    /// markers still in flight: its incomplete snapshots are not judged, since the run never gave
    /// them the chance to complete.
    pub fn finish(
        mut self,
        incomplete: &[IncompleteSnapshot],
        cut_short: Option<crate::engine::CutShort>,
    ) -> ProcessGraphVerdict {
        let graph = self.graph;
        let in_flight: Vec<MessageInfo> = self
            .recent
            .iter()
            .flatten()
            .filter(|m| m.in_flight())
            .copied()
            .collect();
        let followed = std::mem::take(&mut self.followed);
        for mut followed in followed {
            if followed.claims.is_empty() {
                continue;
            }
            // Never received: in the channel state of every cut it was sent inside.
            for message in &in_flight {
                if followed.sent_inside(graph, message) {
                    followed.expected.push(*message);
                }
            }
            self.judge(followed);
        }
        for watch in std::mem::take(&mut self.watches) {
            self.never_occurred(watch.slot);
        }
        for (slot, target) in std::mem::take(&mut self.quiet_watches) {
            match self.quiet.get(&target) {
                Some(None) => {
                    if let Some(check) = self.results.get_mut(&slot) {
                        check.occurred = Occurrence {
                            occurred: true,
                            explanation: "the run was in exactly this global state at its start"
                                .into(),
                        };
                    }
                }
                Some(Some(time)) => self.occurred_at(slot, *time),
                None => self.never_occurred(slot),
            }
        }
        let completion = match cut_short {
            Some(cut) if !incomplete.is_empty() => Check::pass(
                Invariant::Completion,
                format!(
                    "not judged: {} snapshot(s) were still in progress when the event budget cut the run short at {}",
                    incomplete.len(),
                    SimTime::from_micros(cut.at_us)
                ),
            ),
            _ => check_completion(graph, incomplete, &self.first_marker_lost),
        };
        ProcessGraphVerdict {
            snapshots: self.results.into_values().collect(),
            completion,
        }
    }
}

impl RecordReader for Oracle<'_> {
    fn entry(&mut self, position: usize, event: &ProcessEvent) {
        self.read(position, event);
    }

    fn snapshot_completed(&mut self, snapshot: &GlobalSnapshot) {
        Oracle::snapshot_completed(self, snapshot);
    }
}

/// Checks every completed snapshot and the completion of every started one, from a stored
/// record: each snapshot is read where the record shows it completing (or, if it never does, at
/// the end). The verdict lists them in the order of `snapshots`.
pub fn check(
    graph: &ProcessGraph,
    events: &[ProcessEvent],
    snapshots: &[GlobalSnapshot],
    incomplete: &[IncompleteSnapshot],
    cut_short: Option<crate::engine::CutShort>,
) -> ProcessGraphVerdict {
    let mut oracle = Oracle::new(graph);
    let mut by_id: BTreeMap<SnapshotId, VecDeque<usize>> = BTreeMap::new();
    for (slot, snapshot) in snapshots.iter().enumerate() {
        by_id.entry(snapshot.id).or_default().push_back(slot);
    }
    for (position, event) in events.iter().enumerate() {
        oracle.read(position, event);
        if let ProcessEvent::SnapshotCompleted { snapshot, .. } = event
            && let Some(slots) = by_id.get_mut(snapshot)
        {
            while let Some(slot) = slots.pop_front() {
                oracle.claim(slot, snapshots[slot].clone());
            }
        }
    }
    for slot in by_id.into_values().flatten() {
        oracle.claim(slot, snapshots[slot].clone());
    }
    oracle.finish(incomplete, cut_short)
}

/// The hash of a recorded global state (see [`Oracle`]).
fn target_of(snapshot: &GlobalSnapshot) -> (u64, u64) {
    let mut hash = (0, 0);
    for (process, &tokens) in snapshot.process_tokens.iter().enumerate() {
        hash = add(hash, process_term(process, tokens));
    }
    for (channel, id) in recorded_ids(snapshot) {
        hash = add(hash, message_term(channel, id));
    }
    hash
}

/// The recorded messages, channel by channel (a channel listed twice counts with its first
/// entry, as [`GlobalSnapshot::channel`] has it).
fn recorded_ids(snapshot: &GlobalSnapshot) -> Vec<(ChannelIndex, MessageId)> {
    let mut seen = BTreeSet::new();
    snapshot
        .channel_messages
        .iter()
        .filter(|(channel, _)| seen.insert(*channel))
        .flat_map(|(channel, messages)| messages.iter().map(|m| (*channel, m.message)))
        .collect()
}

fn add(a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
    (a.0.wrapping_add(b.0), a.1.wrapping_add(b.1))
}

fn sub(a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
    (a.0.wrapping_sub(b.0), a.1.wrapping_sub(b.1))
}

/// A term of the global state's hash: a process holding `tokens`, or message `message` in flight
/// on `channel`, mixed twice with independent constants (splitmix64's finaliser; deterministic,
/// no hasher state).
fn state_term(kind: u64, item: u64, value: u64) -> (u64, u64) {
    let mix = |seed: u64| {
        let mut z = (kind ^ seed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(item.wrapping_mul(0xBF58_476D_1CE4_E5B9))
            .wrapping_add(value.wrapping_mul(0x94D0_49BB_1331_11EB));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (mix(0), mix(0xD6E8_FEB8_6659_FD93))
}

fn process_term(process: ProcessIndex, tokens: i64) -> (u64, u64) {
    state_term(1, process as u64, tokens as u64)
}

fn message_term(channel: ChannelIndex, message: MessageId) -> (u64, u64) {
    state_term(2, channel as u64, message)
}

/// One followed snapshot's cut, as the checks read it: where each process recorded, and per
/// channel the messages in flight across the cut and the orphans.
struct View<'a, 'g> {
    oracle: &'a Oracle<'g>,
    followed: &'a Followed,
    graph: &'g ProcessGraph,
    /// Empty unless every process recorded.
    cut: Vec<Recording>,
    cuts: Vec<ChannelCut>,
    /// The messages of `cuts`, as the record showed them.
    known: BTreeMap<MessageId, MessageInfo>,
}

/// What the cut looks like on one channel.
#[derive(Default)]
struct ChannelCut {
    /// Sent inside the cut, not received inside it: what the channel state must be (send order).
    expected: Vec<MessageId>,
    /// Received inside the cut but sent outside it (send order).
    orphans: Vec<MessageId>,
}

impl<'a, 'g> View<'a, 'g> {
    fn new(oracle: &'a Oracle<'g>, followed: &'a Followed) -> View<'a, 'g> {
        let graph = oracle.graph;
        let mut cuts: Vec<ChannelCut> = (0..graph.channels.len())
            .map(|_| ChannelCut::default())
            .collect();
        let mut known = BTreeMap::new();
        for (list, orphans) in [(&followed.expected, false), (&followed.orphans, true)] {
            let mut sorted: Vec<&MessageInfo> = list.iter().collect();
            sorted.sort_by_key(|m| (m.channel, m.order_on_channel, m.id));
            for message in sorted {
                let cut = &mut cuts[message.channel];
                if orphans {
                    cut.orphans.push(message.id);
                } else {
                    cut.expected.push(message.id);
                }
                known.insert(message.id, *message);
            }
        }
        View {
            oracle,
            followed,
            graph,
            cut: followed.cut.iter().flatten().copied().collect(),
            cuts,
            known,
        }
    }

    fn lookup(&self, message: MessageId) -> Option<MessageInfo> {
        self.known
            .get(&message)
            .copied()
            .or_else(|| self.oracle.lookup(message))
    }

    /// A message sent and received (not lost) before the oldest snapshot then in progress began:
    /// the oracle no longer holds its details, only that it arrived before this cut was taken.
    /// Only a broken protocol records such a message in a channel state.
    fn arrived_long_ago(&self, message: MessageId) -> bool {
        message < self.oracle.base && !self.oracle.lost.contains_key(&message)
    }

    fn info(&self, message: MessageId) -> MessageInfo {
        self.lookup(message)
            .expect("only messages of the cut are described this way")
    }

    fn process_name(&self, process: ProcessIndex) -> &str {
        &self.graph.processes[process].name
    }

    fn channel_name(&self, channel: ChannelIndex) -> String {
        self.graph.channel_name(channel)
    }

    fn describe(&self, message: MessageId) -> String {
        let info = self.info(message);
        format!("#{message} ({})", crate::topology::tokens(info.tokens))
    }

    /// Invariants 1–4 of one claimed snapshot, and whether its state held at its cut; `true`
    /// beside it: that it did not, and whether the run passed through it elsewhere is left to the
    /// search.
    fn check_snapshot(&self, snapshot: &GlobalSnapshot) -> (SnapshotCheck, bool) {
        let graph = self.graph;
        if let Some(missing) = (0..graph.processes.len()).find(|&p| self.followed.cut[p].is_none())
        {
            let detail = format!(
                "the event record shows no state recording by {} for snapshot {}, yet the snapshot claims to be complete",
                self.process_name(missing),
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
        let cut = &self.cut;
        let cuts = &self.cuts;
        let consistent_cut = check_consistent_cut(self, cut, cuts);
        let (channel_state, channel_mismatches) = check_channel_state(self, snapshot, cut, cuts);
        let replayed: Vec<(i64, usize)> =
            cut.iter().map(|r| (r.balance, r.events_before)).collect();
        let conservation = check_conservation(self, snapshot, cut, cuts, &replayed);
        let reachability = check_reachability(self, snapshot, cuts, &replayed, &channel_mismatches);
        let at_cut = self.occurred_at_cut(snapshot);
        let search = at_cut.is_none();
        let occurred = at_cut.unwrap_or(Occurrence {
            occurred: false,
            explanation: "decided by the search".into(),
        });
        (
            SnapshotCheck {
                snapshot: snapshot.id,
                checks: vec![consistent_cut, channel_state, conservation, reachability],
                occurred,
            },
            search,
        )
    }

    /// Fast answer: if every application event before the cut happened before every event after
    /// it, the cut *is* a moment of the run, and the recorded state either is the state then or
    /// (`None`) is left to the search.
    fn occurred_at_cut(&self, snapshot: &Recorded) -> Option<Occurrence> {
        let (last_inside, first_outside) = (self.followed.last_inside, self.followed.first_outside);
        let is_prefix = match (last_inside, first_outside) {
            (Some(last), Some(first)) => last.0 < first.0,
            _ => true,
        };
        if !(is_prefix && self.cut_state_matches(snapshot)) {
            return None;
        }
        let from = last_inside.map_or(SimTime::ZERO, |(_, time)| time);
        let until = first_outside.map_or("the end".to_string(), |(_, time)| time.to_string());
        Some(Occurrence {
            occurred: true,
            explanation: format!(
                "the run was in exactly this global state from {from} until {until}"
            ),
        })
    }

    /// The recorded state equals the true state at the cut (processes and channels).
    fn cut_state_matches(&self, snapshot: &Recorded) -> bool {
        self.cut
            .iter()
            .zip(&snapshot.process_tokens)
            .all(|(r, &tokens)| r.balance == tokens)
            && self.cuts.iter().enumerate().all(|(c, cut)| {
                let mut expected = cut.expected.clone();
                let mut recorded: Vec<MessageId> =
                    snapshot.channel(c).iter().map(|m| m.message).collect();
                expected.sort_unstable();
                recorded.sort_unstable();
                cut.orphans.is_empty() && expected == recorded
            })
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

fn check_completion(
    graph: &ProcessGraph,
    incomplete: &[IncompleteSnapshot],
    first_marker_lost: &BTreeMap<SnapshotId, (u32, SimTime)>,
) -> Check {
    let Some(first) = incomplete.first() else {
        return Check::pass(
            Invariant::Completion,
            "every snapshot that started completed",
        );
    };
    let lost_marker = first_marker_lost.get(&first.id).copied();
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

fn check_consistent_cut(view: &View, cut: &[Recording], cuts: &[ChannelCut]) -> Check {
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
    let info = view.info(first);
    let channel = &view.graph.channels[info.channel];
    let mut detail = format!(
        "orphan message {} on {}: {} received it at {}, before recording (at {}), but {} sent it at {}, after recording (at {}) — its receipt is in the snapshot, its sending is not",
        view.describe(first),
        view.channel_name(info.channel),
        view.process_name(channel.to),
        info.receive_time,
        cut[channel.to].time,
        view.process_name(channel.from),
        info.send_time,
        cut[channel.from].time,
    );
    if orphans.len() > 1 {
        detail += &format!(" (and {} more orphan(s))", orphans.len() - 1);
    }
    Check::fail(Invariant::ConsistentCut, detail)
}

/// Compares each channel's recorded messages with the cut's. Order matters on FIFO channels; on a
/// non-FIFO channel the state is a set.
fn check_channel_state(
    view: &View,
    snapshot: &Recorded,
    cut: &[Recording],
    cuts: &[ChannelCut],
) -> (Check, Vec<ChannelIndex>) {
    let mut mismatches = Vec::new();
    let mut first_detail = None;
    for (channel, channel_cut) in cuts.iter().enumerate() {
        // Compared in place: thousands of channels per snapshot are mostly empty, and a vector
        // built per channel to compare would cost more than the check.
        let recorded_ids = || snapshot.channel(channel).iter().map(|m| m.message);
        let fifo = view.graph.channels[channel].fifo;
        let same = if fifo {
            recorded_ids().eq(channel_cut.expected.iter().copied())
        } else {
            let mut a: Vec<MessageId> = recorded_ids().collect();
            let mut b = channel_cut.expected.clone();
            a.sort_unstable();
            b.sort_unstable();
            a == b
        };
        if same {
            continue;
        }
        let recorded: Vec<MessageId> = recorded_ids().collect();
        mismatches.push(channel);
        if first_detail.is_none() {
            first_detail = Some(explain_channel_mismatch(
                view,
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

fn list(view: &View, messages: &[MessageId], snapshot: &Recorded, channel: ChannelIndex) -> String {
    let recorded = snapshot.channel(channel);
    let describe = |m: &MessageId| match view.lookup(*m) {
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
    view: &View,
    channel: ChannelIndex,
    cut: &[Recording],
    expected: &[MessageId],
    recorded: &[MessageId],
    snapshot: &Recorded,
) -> String {
    let config = &view.graph.channels[channel];
    let (sender, receiver) = (view.process_name(config.from), view.process_name(config.to));
    let mut detail = format!(
        "channel {}: expected {}, recorded {}",
        view.channel_name(channel),
        list(view, expected, snapshot, channel),
        list(view, recorded, snapshot, channel)
    );
    if let Some(&missing) = expected.iter().find(|m| !recorded.contains(m)) {
        let info = view.info(missing);
        if info.lost {
            detail += &format!(
                " — {} was sent by {sender} at {} before it recorded, then lost in transit, so no receiver could record it",
                view.describe(missing),
                info.send_time
            );
        } else {
            detail += &format!(
                " — {} was sent by {sender} at {}, before {sender} recorded (at {}), and received by {receiver} at {}, after {receiver} recorded (at {}): it was in flight at the cut but is missing",
                view.describe(missing),
                info.send_time,
                cut[config.from].time,
                info.receive_time,
                cut[config.to].time,
            );
        }
    } else if let Some(&extra) = recorded.iter().find(|m| !expected.contains(m)) {
        match view.lookup(extra) {
            None if view.arrived_long_ago(extra) => {
                detail += &format!(
                    " — #{extra} had already been received by {receiver} before the snapshot began, before {receiver} recorded (at {}), so it is counted in {receiver}'s state",
                    cut[config.to].time
                )
            }
            None => detail += &format!(" — #{extra} was never sent on this channel"),
            Some(info) if info.send_position >= cut[config.from].position => {
                detail += &format!(
                    " — {} was sent by {sender} at {}, after {sender} recorded (at {}), so it belongs to the future of the snapshot, not to the channel",
                    view.describe(extra),
                    info.send_time,
                    cut[config.from].time
                )
            }
            Some(info) => {
                detail += &format!(
                    " — {} had already been received by {receiver} at {}, before {receiver} recorded (at {}), so it is counted in {receiver}'s state",
                    view.describe(extra),
                    info.receive_time,
                    cut[config.to].time
                )
            }
        }
    } else {
        detail += " — the same messages in a different order: a FIFO channel's state is a sequence";
    }
    detail
}

fn check_conservation(
    view: &View,
    snapshot: &Recorded,
    cut: &[Recording],
    cuts: &[ChannelCut],
    replayed: &[(i64, usize)],
) -> Check {
    let total = view.graph.total_initial_tokens();
    let in_processes: i64 = snapshot.process_tokens.iter().sum();
    let recorded_total = snapshot.total_tokens();
    let in_channels = recorded_total - in_processes;
    if recorded_total == total {
        return Check::pass(
            Invariant::Conservation,
            format!(
                "{} recorded ({in_processes} in processes + {in_channels} in channels) = {total} in the system",
                crate::topology::tokens(recorded_total)
            ),
        );
    }
    let difference = recorded_total - total;
    let mut detail = format!(
        "recorded {} ({in_processes} in processes + {in_channels} in channels) but the system holds {total}: {} too {}",
        crate::topology::tokens(recorded_total),
        crate::topology::tokens(difference.abs()),
        if difference > 0 { "many" } else { "few" }
    );
    // Account for the difference, item by item.
    let mut reasons = Vec::new();
    for (channel, channel_cut) in cuts.iter().enumerate() {
        let config = &view.graph.channels[channel];
        let recorded: Vec<MessageId> = snapshot
            .channel(channel)
            .iter()
            .map(|m| m.message)
            .collect();
        for &orphan in &channel_cut.orphans {
            reasons.push(format!(
                "{} on {} is counted twice: in {}'s state (received before it recorded) and in {}'s (sent after it recorded)",
                view.describe(orphan),
                view.channel_name(channel),
                view.process_name(config.to),
                view.process_name(config.from)
            ));
        }
        for &message in recorded
            .iter()
            .filter(|m| !channel_cut.expected.contains(m))
        {
            if let Some(info) = view.lookup(message) {
                let place = if info.send_position >= cut[config.from].position {
                    format!(
                        "in {}'s state (not yet sent when it recorded)",
                        view.process_name(config.from)
                    )
                } else {
                    format!(
                        "in {}'s state (already received when it recorded)",
                        view.process_name(config.to)
                    )
                };
                reasons.push(format!(
                    "{} on {} is counted twice: in the channel and {place}",
                    view.describe(message),
                    view.channel_name(channel)
                ));
            } else if view.arrived_long_ago(message) {
                let tokens = snapshot
                    .channel(channel)
                    .iter()
                    .find(|r| r.message == message)
                    .map_or(0, |r| r.tokens);
                reasons.push(format!(
                    "#{message} ({}) on {} is counted twice: in the channel and in {}'s state (already received when it recorded)",
                    crate::topology::tokens(tokens),
                    view.channel_name(channel),
                    view.process_name(config.to)
                ));
            }
        }
        for &message in channel_cut
            .expected
            .iter()
            .filter(|m| !recorded.contains(m))
        {
            let how = if view.info(message).lost {
                "lost in transit"
            } else {
                "in flight but not recorded"
            };
            reasons.push(format!(
                "{} on {} is counted nowhere ({how})",
                view.describe(message),
                view.channel_name(channel)
            ));
        }
    }
    for (process, &(true_tokens, _)) in replayed.iter().enumerate() {
        let recorded_tokens = snapshot.process_tokens[process];
        if recorded_tokens != true_tokens {
            reasons.push(format!(
                "{} recorded {} but held {true_tokens} at its recording point",
                view.process_name(process),
                crate::topology::tokens(recorded_tokens)
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
    view: &View,
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
                view.process_name(view.graph.channels[channel].to),
                view.describe(orphan),
                view.channel_name(channel)
            ),
        );
    }
    for (process, &(tokens, count)) in replayed.iter().enumerate() {
        if snapshot.process_tokens[process] != tokens {
            return Check::fail(
                Invariant::Reachability,
                format!(
                    "replaying the {count} event(s) of {} before its recording, from its initial {}, gives {}, but it recorded {}",
                    view.process_name(process),
                    crate::topology::tokens(view.graph.processes[process].initial_tokens),
                    crate::topology::tokens(tokens),
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
                list(view, &cuts[channel].expected, snapshot, channel),
                view.channel_name(channel),
                list(
                    view,
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
