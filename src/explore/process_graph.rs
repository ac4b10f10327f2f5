//! The Chandy-Lamport transition system: every interleaving of one snapshot on a small process
//! graph.
//!
//! The system, exactly (so that its counts can be compared with other tools):
//! - processes p0 … p(P−1) on any digraph; FIFO, unbounded channels; T indistinguishable
//!   one-token units, with the scenario's initial balances;
//! - enabled actions: (a) a process with a positive balance sends one token on one of its
//!   outgoing channels; (b) the head of a non-empty channel is delivered; (c) the initiator starts
//!   the snapshot, at most once;
//! - a state is the balances, every channel's contents in order (tokens and markers), each
//!   process's recorded balance (or none), each channel's recording status (not started,
//!   recording, closed) and the tokens recorded on it — and each process's marker state machine,
//!   which for the paper's rules is a function of the rest, so it adds no states (for a broken
//!   variant it can: that is where the variant's extra behaviour lives).
//!
//! The assumption breakers add actions: on a channel that is not FIFO, any queued message may be
//! delivered, not only the head; on a lossy channel, any queued message may be lost.
//!
//! Every state in which the snapshot is complete — every process recorded, every channel closed
//! by its marker — is checked: the recorded tokens must add up to T (conservation), and the
//! recorded global state (the balances, and the tokens recorded in each channel) must be one the
//! system without snapshots can reach from its initial state (Theorem 1 of the paper).

use super::TransitionSystem;
use crate::chandy_lamport::ChandyLamportVariant;
use crate::chandy_lamport::process::{MarkerAction, MarkerInput, MarkerRules, ProcessMarkers};
use crate::topology::{ChannelIndex, ProcessGraph, ProcessIndex};
use std::cell::OnceCell;
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;

/// The one snapshot the system runs.
const SNAPSHOT: crate::trace::SnapshotId = 1;

/// What travels on a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Item {
    /// One token.
    Token,
    /// The snapshot's marker.
    Marker,
}

/// A channel's contents. Tokens are indistinguishable and a channel carries at most one marker
/// (one snapshot), so the contents in order are: some tokens, the marker if it is on the way,
/// and the tokens sent after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Contents {
    /// Tokens ahead of the marker (all of them, when no marker is on the way).
    pub ahead: u8,
    /// Whether the marker is on the way.
    pub marker: bool,
    /// Tokens sent after the marker.
    pub behind: u8,
}

impl Contents {
    /// Messages on the channel.
    pub fn len(&self) -> usize {
        usize::from(self.ahead) + usize::from(self.marker) + usize::from(self.behind)
    }

    /// True when nothing is on the channel.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The message at the head.
    pub fn head(&self) -> Option<Item> {
        if self.ahead > 0 {
            Some(Item::Token)
        } else if self.marker {
            Some(Item::Marker)
        } else {
            None
        }
    }

    /// Appends a message at the back.
    fn push(&mut self, item: Item) {
        match item {
            Item::Marker => self.marker = true,
            Item::Token if self.marker => self.behind += 1,
            Item::Token => self.ahead += 1,
        }
    }

    /// Takes out the message `which` names (it must be there).
    fn take(&mut self, which: Which) -> Item {
        match which {
            Which::Head => match self.head().expect("a message on the channel") {
                Item::Token => {
                    self.ahead -= 1;
                    Item::Token
                }
                Item::Marker => {
                    self.marker = false;
                    self.ahead = self.behind;
                    self.behind = 0;
                    Item::Marker
                }
            },
            Which::Marker => {
                self.marker = false;
                self.ahead += self.behind;
                self.behind = 0;
                Item::Marker
            }
            Which::TokenBehindMarker => {
                self.behind -= 1;
                Item::Token
            }
        }
    }
}

/// Which message of a channel an action takes. The tokens ahead of the marker are
/// indistinguishable, so taking any of them is taking the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The head: the oldest message (FIFO delivery).
    Head,
    /// The marker, overtaking the tokens ahead of it (not FIFO).
    Marker,
    /// A token sent after the marker, overtaking it (not FIFO).
    TokenBehindMarker,
}

/// One step of the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The channel's sender sends one token on it.
    Send {
        /// The channel.
        channel: ChannelIndex,
    },
    /// A message of the channel arrives: the head, or on a channel that is not FIFO, one that
    /// overtakes.
    Deliver {
        /// The channel.
        channel: ChannelIndex,
        /// Which message.
        which: Which,
    },
    /// A message of the channel is lost (lossy channels only).
    Lose {
        /// The channel.
        channel: ChannelIndex,
        /// Which message.
        which: Which,
    },
    /// The initiator records its state and starts the snapshot.
    Initiate,
}

/// A global state.
#[derive(Debug)]
pub struct GlobalState {
    /// Tokens each process holds.
    pub balances: Vec<u8>,
    /// Each process's recorded balance, once it has recorded.
    pub recorded: Vec<Option<u8>>,
    /// Each channel's contents.
    pub channels: Vec<Contents>,
    /// Whether each channel's recorded state is complete (its marker arrived).
    pub closed: Vec<bool>,
    /// Tokens recorded as in flight on each channel.
    pub recorded_tokens: Vec<u32>,
    /// Each process's marker rules: the simulator's state machine (shared between states until
    /// one of them changes it).
    pub rules: Vec<Rc<ProcessMarkers>>,
    /// Whether the initiator has started the snapshot.
    pub initiated: bool,
}

impl Clone for GlobalState {
    fn clone(&self) -> Self {
        GlobalState {
            balances: self.balances.clone(),
            recorded: self.recorded.clone(),
            channels: self.channels.clone(),
            closed: self.closed.clone(),
            recorded_tokens: self.recorded_tokens.clone(),
            rules: self.rules.clone(),
            initiated: self.initiated,
        }
    }

    // Field by field, so that the explorer's scratch state reuses its buffers.
    fn clone_from(&mut self, source: &Self) {
        self.balances.clone_from(&source.balances);
        self.recorded.clone_from(&source.recorded);
        self.channels.clone_from(&source.channels);
        self.closed.clone_from(&source.closed);
        self.recorded_tokens.clone_from(&source.recorded_tokens);
        self.rules.clone_from(&source.rules);
        self.initiated = source.initiated;
    }
}

impl GlobalState {
    /// Every process recorded and every channel closed.
    pub fn snapshot_complete(&self) -> bool {
        self.recorded.iter().all(Option::is_some) && self.closed.iter().all(|&c| c)
    }
}

/// Assumption breakers added to every channel, on top of what the graph's own channels break.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Breakers {
    /// Any queued message may be delivered, overtaking those sent before it.
    pub non_fifo: bool,
    /// Any queued message may be lost.
    pub loss: bool,
}

impl Breakers {
    /// Channels that may deliver out of order.
    pub const NON_FIFO: Breakers = Breakers {
        non_fifo: true,
        loss: false,
    };
    /// Channels that may lose messages.
    pub const LOSS: Breakers = Breakers {
        non_fifo: false,
        loss: true,
    };
}

/// A process graph as a transition system.
pub struct ChandyLamportSystem {
    graph: ProcessGraph,
    initiator: ProcessIndex,
    variant: ChandyLamportVariant,
    /// Per channel: whether any queued message may be delivered, and whether one may be lost.
    any_order: Vec<bool>,
    lossy: Vec<bool>,
    outgoing: Vec<Vec<ChannelIndex>>,
    incoming_position: Vec<usize>,
    /// Per process, its incoming channels by position (what the marker rules call them).
    incoming: Vec<Vec<ChannelIndex>>,
    /// Reused for the marker rules' actions, so a step allocates nothing for them.
    scratch: std::cell::Cell<Vec<MarkerAction>>,
    /// With symmetry reduction: every renaming but the identity; states are then known by the
    /// smallest encoding of any renaming.
    symmetries: Option<Vec<Symmetry>>,
    incoming_count: Vec<usize>,
    total_tokens: u32,
    /// Whether every process can reach every other: then every configuration of the T tokens
    /// is reachable (below), and Theorem 1's check needs no search.
    strongly_connected: bool,
    /// The token configurations (balances, tokens per channel) the system without snapshots
    /// reaches: computed on first use, `None` if there are too many to list.
    reachable: OnceCell<Option<BTreeSet<Vec<u32>>>>,
}

/// A renaming of the processes that maps the system onto itself: the initiator to itself, every
/// process to one with the same initial balance, every channel to a channel that breaks the same
/// assumptions. States related by one have the same futures, so the explorer need keep only one.
#[derive(Clone, Debug)]
struct Symmetry {
    /// For each process of the renamed state, the process it comes from.
    process_from: Vec<ProcessIndex>,
    /// For each channel of the renamed state, the channel it comes from.
    channel_from: Vec<ChannelIndex>,
}

/// Processes up to which the symmetries are enumerated (8! renamings to try).
const MAX_SYMMETRY_PROCESSES: usize = 8;

/// Token configurations the reachability check lists at most (beyond, it is not checked).
const MAX_CONFIGURATIONS: usize = 1_000_000;

/// What a caller may not ask of the explorer: the state space of anything larger does not fit.
const MAX_PROCESSES: usize = 16;
const MAX_TOKENS: i64 = 64;

impl ChandyLamportSystem {
    /// The system of `graph` (balances from its processes), the snapshot started by `initiator`,
    /// with the marker rules of `variant`; `breakers` makes every channel non-FIFO, lossy or
    /// both (a channel the graph already marks so is so regardless).
    pub fn new(
        graph: ProcessGraph,
        initiator: ProcessIndex,
        variant: ChandyLamportVariant,
        breakers: Breakers,
    ) -> Result<ChandyLamportSystem, String> {
        if graph.processes.len() > MAX_PROCESSES {
            return Err(format!(
                "{} processes: exhaustive exploration is for small systems, at most {MAX_PROCESSES}",
                graph.processes.len()
            ));
        }
        let total = graph.total_initial_tokens();
        if !(0..=MAX_TOKENS).contains(&total)
            || graph.processes.iter().any(|p| p.initial_tokens < 0)
        {
            return Err(format!(
                "{total} tokens in all: exhaustive exploration is for small systems, 0 to {MAX_TOKENS} tokens"
            ));
        }
        let mut incoming_position = vec![0; graph.channels.len()];
        let mut incoming_count = vec![0; graph.processes.len()];
        for (index, channel) in graph.channels.iter().enumerate() {
            incoming_position[index] = incoming_count[channel.to];
            incoming_count[channel.to] += 1;
        }
        Ok(ChandyLamportSystem {
            any_order: graph
                .channels
                .iter()
                .map(|c| breakers.non_fifo || !c.fifo)
                .collect(),
            lossy: graph
                .channels
                .iter()
                .map(|c| breakers.loss || c.loss_probability > 0.0)
                .collect(),
            outgoing: graph.outgoing(),
            incoming_position,
            incoming: graph.incoming(),
            scratch: std::cell::Cell::new(Vec::new()),
            symmetries: None,
            incoming_count,
            total_tokens: total as u32,
            initiator,
            variant,
            strongly_connected: (0..graph.processes.len())
                .all(|p| graph.reachable_from(p).iter().all(|&r| r)),
            graph,
            reachable: OnceCell::new(),
        })
    }

    /// Turns on symmetry reduction: states that differ only by a renaming of processes that
    /// maps the system onto itself count once. Returns how many renamings besides the identity
    /// there are (0: nothing to reduce). Systems of more than 8 processes are not reduced.
    pub fn reduce_symmetry(&mut self) -> usize {
        let processes = self.graph.processes.len();
        let mut found = Vec::new();
        if processes <= MAX_SYMMETRY_PROCESSES {
            let mut permutation: Vec<ProcessIndex> = (0..processes).collect();
            let mut seen_first = true;
            loop {
                if !seen_first && let Some(symmetry) = self.as_symmetry(&permutation) {
                    found.push(symmetry);
                }
                seen_first = false;
                if !next_permutation(&mut permutation) {
                    break;
                }
            }
        }
        let count = found.len();
        self.symmetries = Some(found);
        count
    }

    /// `process_from` as a symmetry, if it maps the system onto itself.
    fn as_symmetry(&self, process_from: &[ProcessIndex]) -> Option<Symmetry> {
        let processes = &self.graph.processes;
        if process_from[self.initiator] != self.initiator {
            return None;
        }
        if (0..processes.len())
            .any(|p| processes[process_from[p]].initial_tokens != processes[p].initial_tokens)
        {
            return None;
        }
        let mut channel_from = Vec::with_capacity(self.graph.channels.len());
        for (index, channel) in self.graph.channels.iter().enumerate() {
            let source = self.graph.channels.iter().position(|c| {
                c.from == process_from[channel.from] && c.to == process_from[channel.to]
            })?;
            if self.any_order[source] != self.any_order[index]
                || self.lossy[source] != self.lossy[index]
            {
                return None;
            }
            channel_from.push(source);
        }
        Some(Symmetry {
            process_from: process_from.to_vec(),
            channel_from,
        })
    }

    /// The encoding of `state` renamed by `symmetry` (`None`: as it is): the fields of the
    /// transition system's definition, and what of the marker rules is not a function of them
    /// (for the paper's rules nothing; their state follows from who recorded and which channels
    /// are closed, so it adds no states — the pinned counts, equal to an independent search of
    /// the definition, show it).
    fn encode_renamed(&self, state: &GlobalState, symmetry: Option<&Symmetry>, key: &mut Vec<u8>) {
        let process = |p: usize| symmetry.map_or(p, |s| s.process_from[p]);
        let channel = |c: usize| symmetry.map_or(c, |s| s.channel_from[c]);
        for p in 0..state.balances.len() {
            let from = process(p);
            key.push(state.balances[from]);
            key.push(state.recorded[from].unwrap_or(u8::MAX));
            state.rules[from].encode_beyond_channels(key);
        }
        for c in 0..state.channels.len() {
            let from = channel(c);
            let contents = state.channels[from];
            key.extend_from_slice(&[
                contents.ahead,
                u8::from(contents.marker),
                contents.behind,
                u8::from(state.closed[from]),
            ]);
            key.extend_from_slice(&state.recorded_tokens[from].to_le_bytes());
        }
        key.push(u8::from(state.initiated));
    }

    /// The graph explored.
    pub fn graph(&self) -> &ProcessGraph {
        &self.graph
    }

    /// The snapshot's initiator.
    pub fn initiator(&self) -> ProcessIndex {
        self.initiator
    }

    /// The marker rules explored.
    pub fn variant(&self) -> ChandyLamportVariant {
        self.variant
    }

    /// Whether channel `channel` may deliver out of order.
    pub fn any_order(&self, channel: ChannelIndex) -> bool {
        self.any_order[channel]
    }

    /// Whether channel `channel` may lose messages.
    pub fn lossy(&self, channel: ChannelIndex) -> bool {
        self.lossy[channel]
    }

    /// Runs the marker rules of `process` on `input` and executes their actions on `state`
    /// (the same actions the engine's world executes).
    fn rules(&self, state: &mut GlobalState, process: ProcessIndex, input: MarkerInput) {
        let mut actions = self.scratch.take();
        actions.clear();
        Rc::make_mut(&mut state.rules[process]).handle(input, &mut actions);
        for &action in &actions {
            match action {
                MarkerAction::RecordState { .. } => {
                    state.recorded[process] = Some(state.balances[process]);
                }
                MarkerAction::SendMarkers { .. } => {
                    for &channel in &self.outgoing[process] {
                        state.channels[channel].push(Item::Marker);
                    }
                }
                MarkerAction::RecordMessage { channel, .. } => {
                    state.recorded_tokens[self.incoming[process][channel]] += 1;
                }
                MarkerAction::CloseChannel { channel, .. } => {
                    state.closed[self.incoming[process][channel]] = true;
                }
            }
        }
        self.scratch.set(actions);
    }

    /// The token configurations of the system without snapshots that are reachable from the
    /// initial balances: each a list of the balances, then the tokens in each channel. Tokens
    /// are indistinguishable, so a channel's contents are a count. (On a strongly connected
    /// graph every configuration of the T tokens is reachable: gather the tokens at one process,
    /// then walk each to where it belongs — a token passing a channel that already holds parked
    /// tokens delivers the head and leaves one parked, the same counts — so no list is needed.)
    fn reachable(&self) -> Option<&BTreeSet<Vec<u32>>> {
        self.reachable
            .get_or_init(|| {
                let processes = self.graph.processes.len();
                let start: Vec<u32> = self
                    .graph
                    .processes
                    .iter()
                    .map(|p| p.initial_tokens as u32)
                    .chain(std::iter::repeat_n(0, self.graph.channels.len()))
                    .collect();
                let mut seen = BTreeSet::from([start.clone()]);
                let mut queue = vec![start];
                while let Some(configuration) = queue.pop() {
                    for (channel, config) in self.graph.channels.iter().enumerate() {
                        let slot = processes + channel;
                        let mut moves = Vec::new();
                        if configuration[config.from] > 0 {
                            let mut sent = configuration.clone();
                            sent[config.from] -= 1;
                            sent[slot] += 1;
                            moves.push(sent);
                        }
                        if configuration[slot] > 0 {
                            let mut delivered = configuration.clone();
                            delivered[slot] -= 1;
                            delivered[config.to] += 1;
                            moves.push(delivered);
                        }
                        for next in moves {
                            if seen.insert(next.clone()) {
                                if seen.len() > MAX_CONFIGURATIONS {
                                    return None;
                                }
                                queue.push(next);
                            }
                        }
                    }
                }
                Some(seen)
            })
            .as_ref()
    }

    /// One step, in words, taken in `state` (before it).
    pub fn describe(&self, state: &GlobalState, step: Step) -> String {
        let name = |p: ProcessIndex| self.graph.processes[p].name.as_str();
        let channel = |c: ChannelIndex| self.graph.channel_name(c);
        match step {
            Step::Send { channel: c } => format!(
                "{} sends a token on {} (it held {})",
                name(self.graph.channels[c].from),
                channel(c),
                state.balances[self.graph.channels[c].from]
            ),
            Step::Deliver { channel: c, which } => format!(
                "{} delivers {} to {}",
                channel(c),
                describe_which(&state.channels[c], which),
                name(self.graph.channels[c].to)
            ),
            Step::Lose { channel: c, which } => format!(
                "{} loses {}",
                channel(c),
                describe_which(&state.channels[c], which)
            ),
            Step::Initiate => format!(
                "{} starts the snapshot (it holds {})",
                name(self.initiator),
                state.balances[self.initiator]
            ),
        }
    }

    /// What the processes recorded so far, in words.
    pub fn describe_recorded(&self, state: &GlobalState) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (p, recorded) in state.recorded.iter().enumerate() {
            if let Some(tokens) = recorded {
                parts.push(format!(
                    "{} recorded {tokens}",
                    self.graph.processes[p].name
                ));
            }
        }
        for (c, &closed) in state.closed.iter().enumerate() {
            if closed {
                parts.push(format!(
                    "{} closed with {} token(s)",
                    self.graph.channel_name(c),
                    state.recorded_tokens[c]
                ));
            }
        }
        if parts.is_empty() {
            "nothing recorded yet".into()
        } else {
            parts.join(", ")
        }
    }
}

/// The next permutation in lexicographic order; `false` after the last.
fn next_permutation(items: &mut [usize]) -> bool {
    let Some(pivot) = (1..items.len()).rev().find(|&i| items[i - 1] < items[i]) else {
        return false;
    };
    let successor = (pivot..items.len())
        .rev()
        .find(|&i| items[i] > items[pivot - 1])
        .expect("a larger item after the pivot");
    items.swap(pivot - 1, successor);
    items[pivot..].reverse();
    true
}

/// The message `which` takes from `contents`, in words.
fn describe_which(contents: &Contents, which: Which) -> String {
    match which {
        Which::Head => match contents.head() {
            Some(Item::Token) => "a token".into(),
            _ => "the marker".into(),
        },
        Which::Marker => format!(
            "the marker, overtaking {} token(s) sent before it",
            contents.ahead
        ),
        Which::TokenBehindMarker => "a token sent after the marker, overtaking it".into(),
    }
}

impl TransitionSystem for ChandyLamportSystem {
    type State = GlobalState;
    type Action = Step;

    fn initial(&self) -> GlobalState {
        GlobalState {
            balances: self
                .graph
                .processes
                .iter()
                .map(|p| p.initial_tokens as u8)
                .collect(),
            channels: vec![Contents::default(); self.graph.channels.len()],
            recorded: vec![None; self.graph.processes.len()],
            closed: vec![false; self.graph.channels.len()],
            recorded_tokens: vec![0; self.graph.channels.len()],
            rules: self
                .incoming_count
                .iter()
                .map(|&incoming| Rc::new(ProcessMarkers::new(self.variant, incoming)))
                .collect(),
            initiated: false,
        }
    }

    fn actions(&self, state: &GlobalState, actions: &mut Vec<Step>) {
        for (channel, config) in self.graph.channels.iter().enumerate() {
            if state.balances[config.from] > 0 {
                actions.push(Step::Send { channel });
            }
        }
        for channel in 0..self.graph.channels.len() {
            let contents = state.channels[channel];
            let overtaking = self.any_order[channel] || self.lossy[channel];
            let candidates = [
                (!contents.is_empty(), Which::Head),
                (
                    overtaking && contents.marker && contents.ahead > 0,
                    Which::Marker,
                ),
                (
                    overtaking && contents.marker && contents.behind > 0,
                    Which::TokenBehindMarker,
                ),
            ];
            for which in candidates.into_iter().filter(|c| c.0).map(|c| c.1) {
                if which == Which::Head || self.any_order[channel] {
                    actions.push(Step::Deliver { channel, which });
                }
                if self.lossy[channel] {
                    actions.push(Step::Lose { channel, which });
                }
            }
        }
        if !state.initiated {
            actions.push(Step::Initiate);
        }
    }

    fn apply(&self, state: &GlobalState, step: Step) -> GlobalState {
        let mut next = state.clone();
        self.apply_into(state, step, &mut next);
        next
    }

    fn apply_into(&self, state: &GlobalState, step: Step, next: &mut GlobalState) {
        next.clone_from(state);
        match step {
            Step::Send { channel } => {
                next.balances[self.graph.channels[channel].from] -= 1;
                next.channels[channel].push(Item::Token);
            }
            Step::Deliver { channel, which } => {
                let item = next.channels[channel].take(which);
                let to = self.graph.channels[channel].to;
                let position = self.incoming_position[channel];
                match item {
                    Item::Token => {
                        next.balances[to] += 1;
                        self.rules(next, to, MarkerInput::Message { channel: position });
                    }
                    Item::Marker => self.rules(
                        next,
                        to,
                        MarkerInput::Marker {
                            channel: position,
                            snapshot: SNAPSHOT,
                        },
                    ),
                }
            }
            Step::Lose { channel, which } => {
                next.channels[channel].take(which);
            }
            Step::Initiate => {
                next.initiated = true;
                self.rules(
                    next,
                    self.initiator,
                    MarkerInput::Initiate { snapshot: SNAPSHOT },
                );
            }
        }
    }

    fn encode(&self, state: &GlobalState, key: &mut Vec<u8>) {
        let start = key.len();
        self.encode_renamed(state, None, key);
        // With symmetry reduction, the smallest encoding of any renaming: the same for every
        // state of one orbit.
        let mut candidate = Vec::new();
        for symmetry in self.symmetries.iter().flatten() {
            candidate.clear();
            self.encode_renamed(state, Some(symmetry), &mut candidate);
            if candidate.as_slice() < &key[start..] {
                key.truncate(start);
                key.extend_from_slice(&candidate);
            }
        }
    }

    /// The head of a FIFO, reliable channel whose receiver has recorded its state. Delivering
    /// it commutes with every other action, in this state and after any actions that do not
    /// take it: only this action takes from that channel's head (the channel is FIFO and loses
    /// nothing), others only append to its tail; other processes' actions touch only their own
    /// state and channel ends; and once the receiver has recorded, the marker rules no longer
    /// read its balance — a token on the channel is at most counted in that channel's own
    /// recording, a marker closes that channel alone — so its deliveries on different
    /// channels, and its sends, commute. (Initiation is not among them: no process records
    /// before the snapshot starts.) The invariant is stable too: once
    /// the snapshot is complete, nothing it recorded changes.
    fn persistent_action(&self, state: &GlobalState, enabled: &[Step]) -> Option<Step> {
        enabled.iter().copied().find(|&step| match step {
            Step::Deliver {
                channel,
                which: Which::Head,
            } => {
                !self.any_order[channel]
                    && !self.lossy[channel]
                    && state.recorded[self.graph.channels[channel].to].is_some()
            }
            _ => false,
        })
    }

    fn violation(&self, state: &GlobalState) -> Option<String> {
        if !state.snapshot_complete() {
            return None;
        }
        let recorded_balances: Vec<u32> = state
            .recorded
            .iter()
            .map(|r| u32::from(r.unwrap_or(0)))
            .collect();
        let total: u32 =
            recorded_balances.iter().sum::<u32>() + state.recorded_tokens.iter().sum::<u32>();
        if total != self.total_tokens {
            return Some(format!(
                "conservation: the snapshot recorded {total} token(s), but the system holds {}",
                self.total_tokens
            ));
        }
        let configuration: Vec<u32> = recorded_balances
            .iter()
            .chain(&state.recorded_tokens)
            .copied()
            .collect();
        if !self.strongly_connected
            && self
                .reachable()
                .is_some_and(|reachable| !reachable.contains(&configuration))
        {
            return Some(
                "reachability: the recorded global state is not one the system can reach from its initial state"
                    .into(),
            );
        }
        None
    }
}

/// The reference case as a scenario document: `processes` processes p0 … p(P−1) on the complete
/// graph, `tokens` tokens split evenly with the remainder going to the lowest indices, p0
/// starting the snapshot.
pub fn complete_graph_document(processes: usize, tokens: u32) -> serde_json::Value {
    let count = processes.max(1) as u32;
    let balances: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            let share = tokens / count + u32::from(i < tokens % count);
            serde_json::json!({"name": format!("p{i}"), "tokens": share})
        })
        .collect();
    serde_json::json!({
        "name": format!("complete-{processes}-processes-{tokens}-tokens"),
        "description": format!("{processes} processes on the complete graph, {tokens} tokens, p0 starts the snapshot"),
        "processes": balances,
        "topology": "complete",
        "snapshots": [{"initiator": "p0", "at": "0us"}],
    })
}

impl ChandyLamportSystem {
    /// A schedule as a scripted scenario that `snapsim run` replays: step k happens at k ms;
    /// each token is a scripted send whose latency makes it arrive at the step that delivers
    /// it, and the snapshot's markers take, channel by channel, the latency that does the same
    /// (`marker_latency`). Messages the schedule never delivers arrive after its last step. A
    /// message the schedule loses is a scripted loss: a token's send says `"lost": true`, a
    /// marker's channel is in the snapshot's `markers_lost` (the simulator loses it as it is
    /// sent; nothing can tell the difference, since a lost message is never read).
    pub fn replay_scenario(
        &self,
        steps: &[Step],
        name: &str,
        description: &str,
    ) -> serde_json::Value {
        use serde_json::json;
        let end = steps.len() as u64 + 1;
        let mut state = self.initial();
        // Beside each channel's contents, its messages in order with the step each was sent at.
        let mut queues: Vec<VecDeque<(Item, u64)>> =
            vec![VecDeque::new(); self.graph.channels.len()];
        // (channel, sent at, delivered at, lost) for every token; the same for the markers.
        let mut tokens: Vec<(ChannelIndex, u64, u64, bool)> = Vec::new();
        let mut markers: Vec<(ChannelIndex, u64, u64, bool)> = Vec::new();
        let mut initiated_at = None;
        for (index, &step) in steps.iter().enumerate() {
            let now = index as u64 + 1;
            if let Step::Deliver { channel, which } | Step::Lose { channel, which } = step {
                let lost = matches!(step, Step::Lose { .. });
                let queue = &mut queues[channel];
                let marker = queue.iter().position(|m| m.0 == Item::Marker);
                // The oldest message of the kind the step takes (tokens are alike).
                let position = match which {
                    Which::Head => Some(0),
                    Which::Marker => marker,
                    Which::TokenBehindMarker => marker.map(|m| m + 1),
                }
                .expect("the step's message is queued");
                let (item, sent) = queue.remove(position).expect("a queued message");
                match item {
                    Item::Token => tokens.push((channel, sent, now, lost)),
                    Item::Marker => markers.push((channel, sent, now, lost)),
                }
            }
            if step == Step::Initiate {
                initiated_at = Some(now);
            }
            let before = state.channels.clone();
            state = self.apply(&state, step);
            for (channel, queue) in queues.iter_mut().enumerate() {
                // What this step put on the channel: the marker, or a token.
                if state.channels[channel].marker && !before[channel].marker {
                    queue.push_back((Item::Marker, now));
                }
                while queue.len() < state.channels[channel].len() {
                    queue.push_back((Item::Token, now));
                }
            }
        }
        for (channel, queue) in queues.iter().enumerate() {
            for &(item, sent) in queue {
                match item {
                    Item::Token => tokens.push((channel, sent, end, false)),
                    Item::Marker => markers.push((channel, sent, end, false)),
                }
            }
        }
        let ms = |steps: u64| format!("{steps}ms");
        let name_of = |p: ProcessIndex| self.graph.processes[p].name.clone();
        let mut script: Vec<(u64, serde_json::Value)> = tokens
            .iter()
            .map(|&(channel, sent, delivered, lost)| {
                let config = &self.graph.channels[channel];
                let mut send = json!({"from": name_of(config.from), "to": name_of(config.to),
                    "tokens": 1, "latency": ms(delivered - sent)});
                if lost {
                    send["lost"] = json!(true);
                }
                (sent, json!({"at": ms(sent), "send": send}))
            })
            .collect();
        if let Some(at) = initiated_at {
            let latency: serde_json::Map<String, serde_json::Value> = markers
                .iter()
                .filter(|m| !m.3)
                .map(|&(channel, sent, delivered, _)| {
                    (
                        self.graph.channel_name(channel),
                        json!(ms(delivered - sent)),
                    )
                })
                .collect();
            let lost: Vec<String> = markers
                .iter()
                .filter(|m| m.3)
                .map(|&(channel, ..)| self.graph.channel_name(channel))
                .collect();
            let mut action = json!({"at": ms(at), "snapshot": name_of(self.initiator), "marker_latency": latency});
            if !lost.is_empty() {
                action["markers_lost"] = json!(lost);
            }
            script.push((at, action));
        }
        // In step order; a step is one action, so no two share an instant.
        script.sort_by_key(|(at, _)| *at);
        let mut document = json!({
            "name": name,
            "description": description,
            "processes": self.graph.processes.iter().map(|p| json!({"name": p.name, "tokens": p.initial_tokens})).collect::<Vec<_>>(),
            "channels": (0..self.graph.channels.len()).map(|c| {
                let config = &self.graph.channels[c];
                json!({"from": name_of(config.from), "to": name_of(config.to), "latency": "1ms", "fifo": !self.any_order[c]})
            }).collect::<Vec<_>>(),
            "workload": {"scripted": script.into_iter().map(|(_, action)| action).collect::<Vec<_>>()},
        });
        if self.variant == ChandyLamportVariant::RecordAfterNextMessage {
            document["protocol_variant"] = json!("record_after_next_message");
        }
        document
    }
}
