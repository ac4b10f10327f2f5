//! The marker rules of one process (Chandy and Lamport 1985, §3.2) as a state machine: it is told
//! what happened at the process — it decided to start a snapshot, a marker arrived, a message
//! arrived — and answers with what the paper's rules make it do. The process-graph world executes
//! the answers (writes the recorded state down, sends the markers, appends messages to a channel's
//! recorded state); unit tests read them; an explorer could run them over every interleaving.
//!
//! - **Marker-sending rule.** After recording its state, a process sends one marker on every
//!   outgoing channel, before it sends anything else on it.
//! - **Marker-receiving rule.** On a marker along channel *c*: if the process has not recorded its
//!   state, it records it, records *c* as empty, and follows the marker-sending rule; otherwise
//!   the state of *c* is the sequence of messages received on *c* after the process recorded its
//!   state and before this marker.
//!
//! Any process may start a snapshot by recording its state spontaneously. Several snapshots may be
//! in progress at once; markers carry the snapshot's id, so they never interfere. The machine
//! forgets a snapshot once every incoming channel has been closed by its marker: on a reliable
//! channel, no second marker of it can come.

use crate::trace::SnapshotId;

/// A position among the process's incoming channels.
pub type IncomingChannel = usize;

/// Something that happened at the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MarkerInput {
    /// The process starts snapshot `snapshot` on its own initiative.
    Initiate {
        /// The snapshot.
        snapshot: SnapshotId,
    },
    /// A marker of `snapshot` arrived on incoming channel `channel`.
    Marker {
        /// Which incoming channel.
        channel: IncomingChannel,
        /// The snapshot.
        snapshot: SnapshotId,
    },
    /// An application message arrived on incoming channel `channel` (and was applied).
    Message {
        /// Which incoming channel.
        channel: IncomingChannel,
    },
}

/// What the rules make the process do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MarkerAction {
    /// Record the process's own state for `snapshot`, as it is now.
    RecordState {
        /// The snapshot.
        snapshot: SnapshotId,
    },
    /// Send a marker of `snapshot` on every outgoing channel (the marker-sending rule).
    SendMarkers {
        /// The snapshot.
        snapshot: SnapshotId,
    },
    /// The message that just arrived on `channel` is part of `channel`'s recorded state in
    /// `snapshot`.
    RecordMessage {
        /// Which incoming channel.
        channel: IncomingChannel,
        /// The snapshot.
        snapshot: SnapshotId,
    },
    /// `channel`'s state in `snapshot` is complete: the messages recorded on it so far (none, if
    /// this marker is what made the process record).
    CloseChannel {
        /// Which incoming channel.
        channel: IncomingChannel,
        /// The snapshot.
        snapshot: SnapshotId,
    },
}

/// A process's marker rules: a state machine of inputs and actions.
pub trait MarkerRules {
    /// Handles one input, appending the actions it decides to `actions`, in order.
    fn handle(&mut self, input: MarkerInput, actions: &mut Vec<MarkerAction>);
}

/// The marker state of one process, as the paper's rules need it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MarkerProcess {
    /// Snapshots this process has recorded, with how many incoming channels each still records.
    open: Vec<(SnapshotId, usize)>,
    /// Per incoming channel, the snapshots recording it.
    recording: Vec<Vec<SnapshotId>>,
}

impl MarkerProcess {
    /// A process with `incoming` incoming channels, in no snapshot yet.
    pub fn new(incoming: usize) -> MarkerProcess {
        MarkerProcess {
            open: Vec::new(),
            recording: vec![Vec::new(); incoming],
        }
    }

    /// Has this process recorded its state in `snapshot` (and not yet closed every channel)?
    pub fn has_recorded(&self, snapshot: SnapshotId) -> bool {
        self.open.iter().any(|&(s, _)| s == snapshot)
    }

    /// Record the state; the marker's channel (if any) is recorded as empty, every other incoming
    /// channel is recorded from now on; then markers go out.
    fn record(
        &mut self,
        snapshot: SnapshotId,
        marker_channel: Option<IncomingChannel>,
        actions: &mut Vec<MarkerAction>,
    ) {
        actions.push(MarkerAction::RecordState { snapshot });
        let mut still_open = 0;
        for channel in 0..self.recording.len() {
            if Some(channel) == marker_channel {
                actions.push(MarkerAction::CloseChannel { channel, snapshot });
            } else {
                self.recording[channel].push(snapshot);
                still_open += 1;
            }
        }
        if still_open > 0 {
            self.open.push((snapshot, still_open));
        }
        actions.push(MarkerAction::SendMarkers { snapshot });
    }

    /// The marker of `snapshot` closes `channel`'s recording.
    fn close(
        &mut self,
        channel: IncomingChannel,
        snapshot: SnapshotId,
        actions: &mut Vec<MarkerAction>,
    ) {
        let recording = &mut self.recording[channel];
        if let Some(position) = recording.iter().position(|&s| s == snapshot) {
            recording.swap_remove(position);
        }
        if let Some(index) = self.open.iter().position(|&(s, _)| s == snapshot) {
            self.open[index].1 -= 1;
            if self.open[index].1 == 0 {
                self.open.swap_remove(index);
            }
        }
        actions.push(MarkerAction::CloseChannel { channel, snapshot });
    }
}

impl MarkerProcess {
    /// Initiation and markers: the rules proper (rare, next to messages).
    #[inline(never)]
    fn initiate_or_marker(&mut self, input: MarkerInput, actions: &mut Vec<MarkerAction>) {
        match input {
            MarkerInput::Initiate { snapshot } => self.record(snapshot, None, actions),
            MarkerInput::Marker { channel, snapshot } => {
                if self.has_recorded(snapshot) {
                    self.close(channel, snapshot, actions);
                } else {
                    self.record(snapshot, Some(channel), actions);
                }
            }
            MarkerInput::Message { .. } => unreachable!("messages take the fast path"),
        }
    }
}

impl MarkerRules for MarkerProcess {
    // Every application message comes through here, so its path is kept small and inline.
    #[inline(always)]
    fn handle(&mut self, input: MarkerInput, actions: &mut Vec<MarkerAction>) {
        if let MarkerInput::Message { channel } = input {
            // A message on a channel being recorded is part of that channel's state.
            for &snapshot in &self.recording[channel] {
                actions.push(MarkerAction::RecordMessage { channel, snapshot });
            }
        } else {
            self.initiate_or_marker(input, actions);
        }
    }
}

/// Broken, for teaching (`protocol_variant: record_after_next_message`): the marker rules, except
/// that the process writes its state down only after the next application message it receives.
/// Markers go out and channels are recorded as the rules say, so that message is counted both in
/// the process's state and in a channel's recorded state — or, sent before the marker, it is an
/// orphan. The oracle catches it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecordAfterNextMessage {
    rules: MarkerProcess,
    /// Snapshots whose state is still to be recorded at the next message.
    deferred: Vec<SnapshotId>,
}

impl RecordAfterNextMessage {
    /// The broken rules for a process with `incoming` incoming channels.
    pub fn new(incoming: usize) -> RecordAfterNextMessage {
        RecordAfterNextMessage {
            rules: MarkerProcess::new(incoming),
            deferred: Vec::new(),
        }
    }
}

impl MarkerRules for RecordAfterNextMessage {
    fn handle(&mut self, input: MarkerInput, actions: &mut Vec<MarkerAction>) {
        let start = actions.len();
        self.rules.handle(input, actions);
        let mut index = start;
        while index < actions.len() {
            if let MarkerAction::RecordState { snapshot } = actions[index] {
                self.deferred.push(snapshot);
                actions.remove(index);
            } else {
                index += 1;
            }
        }
        if matches!(input, MarkerInput::Message { .. }) {
            actions.extend(
                self.deferred
                    .drain(..)
                    .map(|snapshot| MarkerAction::RecordState { snapshot }),
            );
        }
    }
}

/// The marker rules a process runs: the paper's, or the broken variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProcessMarkers {
    /// The rules of the paper.
    Sound(MarkerProcess),
    /// Broken: state recorded one message late.
    RecordAfterNextMessage(RecordAfterNextMessage),
}

impl ProcessMarkers {
    /// The rules `variant` names, for a process with `incoming` incoming channels.
    pub fn new(variant: super::ChandyLamportVariant, incoming: usize) -> ProcessMarkers {
        match variant {
            super::ChandyLamportVariant::Correct => {
                ProcessMarkers::Sound(MarkerProcess::new(incoming))
            }
            super::ChandyLamportVariant::RecordAfterNextMessage => {
                ProcessMarkers::RecordAfterNextMessage(RecordAfterNextMessage::new(incoming))
            }
        }
    }

    /// The part of the state that is not a function of which snapshots the process recorded
    /// and which of its channels each still records: nothing for the paper's rules; for the
    /// broken variant, the snapshots whose recording it has put off. It names no channel, so
    /// it reads the same under any renaming of processes (the explorer's symmetry reduction).
    pub fn encode_beyond_channels(&self, key: &mut Vec<u8>) {
        match self {
            ProcessMarkers::Sound(_) => key.push(0),
            ProcessMarkers::RecordAfterNextMessage(rules) => {
                let mut deferred = rules.deferred.clone();
                deferred.sort_unstable();
                key.push(deferred.len() as u8);
                for snapshot in deferred {
                    key.extend_from_slice(&snapshot.to_le_bytes());
                }
            }
        }
    }
}

impl MarkerRules for ProcessMarkers {
    #[inline(always)]
    fn handle(&mut self, input: MarkerInput, actions: &mut Vec<MarkerAction>) {
        match self {
            ProcessMarkers::Sound(rules) => rules.handle(input, actions),
            ProcessMarkers::RecordAfterNextMessage(rules) => rules.handle(input, actions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MarkerAction::{CloseChannel, RecordMessage, RecordState, SendMarkers};
    use super::*;

    fn on(process: &mut impl MarkerRules, input: MarkerInput) -> Vec<MarkerAction> {
        let mut actions = Vec::new();
        process.handle(input, &mut actions);
        actions
    }

    fn marker(channel: IncomingChannel, snapshot: SnapshotId) -> MarkerInput {
        MarkerInput::Marker { channel, snapshot }
    }

    fn message(channel: IncomingChannel) -> MarkerInput {
        MarkerInput::Message { channel }
    }

    #[test]
    fn the_initiator_records_sends_markers_and_records_every_incoming_channel_until_its_marker() {
        let mut p = MarkerProcess::new(2);
        assert_eq!(
            on(&mut p, MarkerInput::Initiate { snapshot: 1 }),
            [RecordState { snapshot: 1 }, SendMarkers { snapshot: 1 }]
        );
        assert_eq!(
            on(&mut p, message(0)),
            [RecordMessage {
                channel: 0,
                snapshot: 1
            }]
        );
        assert_eq!(
            on(&mut p, marker(0, 1)),
            [CloseChannel {
                channel: 0,
                snapshot: 1
            }]
        );
        assert_eq!(on(&mut p, message(0)), [], "channel 0 is closed");
        assert_eq!(
            on(&mut p, message(1)),
            [RecordMessage {
                channel: 1,
                snapshot: 1
            }],
            "channel 1 is still recorded"
        );
    }

    #[test]
    fn a_first_marker_records_the_state_records_its_channel_as_empty_and_sends_markers() {
        let mut q = MarkerProcess::new(2);
        assert_eq!(
            on(&mut q, marker(1, 1)),
            [
                RecordState { snapshot: 1 },
                CloseChannel {
                    channel: 1,
                    snapshot: 1
                },
                SendMarkers { snapshot: 1 }
            ]
        );
        assert!(q.has_recorded(1));
        assert_eq!(
            on(&mut q, message(1)),
            [],
            "its channel is empty, and stays so"
        );
        assert_eq!(
            on(&mut q, message(0)).len(),
            1,
            "the other channel is recorded"
        );
        assert_eq!(
            on(&mut q, marker(0, 1)),
            [CloseChannel {
                channel: 0,
                snapshot: 1
            }]
        );
        assert!(
            !q.has_recorded(1),
            "every channel closed: the snapshot is forgotten"
        );
    }

    #[test]
    fn concurrent_snapshots_never_interfere() {
        let mut p = MarkerProcess::new(2);
        on(&mut p, marker(0, 1));
        on(&mut p, marker(0, 2));
        assert_eq!(
            on(&mut p, message(1)),
            [
                RecordMessage {
                    channel: 1,
                    snapshot: 1
                },
                RecordMessage {
                    channel: 1,
                    snapshot: 2
                }
            ]
        );
        assert_eq!(
            on(&mut p, marker(1, 2)),
            [CloseChannel {
                channel: 1,
                snapshot: 2
            }]
        );
        assert_eq!(
            on(&mut p, message(1)),
            [RecordMessage {
                channel: 1,
                snapshot: 1
            }]
        );
    }

    #[test]
    fn the_broken_variant_records_its_state_only_after_the_next_message() {
        let mut q = RecordAfterNextMessage::new(2);
        assert_eq!(
            on(&mut q, marker(1, 1)),
            [
                CloseChannel {
                    channel: 1,
                    snapshot: 1
                },
                SendMarkers { snapshot: 1 }
            ],
            "markers go out, but no state is recorded"
        );
        assert_eq!(
            on(&mut q, message(0)),
            [
                RecordMessage {
                    channel: 0,
                    snapshot: 1
                },
                RecordState { snapshot: 1 }
            ],
            "the message is in the channel's state and in the process's"
        );
        assert_eq!(on(&mut q, message(1)), [], "recorded once");
    }

    #[test]
    fn with_a_single_incoming_channel_the_first_marker_is_also_the_last() {
        let mut q = MarkerProcess::new(1);
        assert_eq!(
            on(&mut q, marker(0, 7)),
            [
                RecordState { snapshot: 7 },
                CloseChannel {
                    channel: 0,
                    snapshot: 7
                },
                SendMarkers { snapshot: 7 }
            ]
        );
        assert!(!q.has_recorded(7), "nothing left to record");
        assert_eq!(on(&mut q, message(0)), []);
    }
}
