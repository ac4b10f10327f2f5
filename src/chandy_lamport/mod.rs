//! The Chandy-Lamport snapshot algorithm (K. M. Chandy and L. Lamport, "Distributed Snapshots:
//! Determining Global States of Distributed Systems", ACM TOCS 3(1), 1985).
//!
//! The *marker-sending rule* (§3.2): a process that records its state sends one marker on every
//! outgoing channel, after recording and before sending anything else.
//! The *marker-receiving rule*: a process receiving a marker on channel `c`
//! - if it has not recorded yet, records its state, records `c` as empty, and follows the
//!   marker-sending rule;
//! - otherwise records, as the state of `c`, the messages it received on `c` after recording its
//!   own state and before this marker.
//!
//! Any process may start a snapshot by recording its state spontaneously. Several snapshots may run
//! at once; markers carry the snapshot id so they never interfere. A snapshot is complete when every
//! process has recorded and every channel has been closed by its marker; the assembled
//! [`GlobalSnapshot`] is what the oracle checks.
//!
//! The algorithm assumes reliable FIFO channels. Scenarios can break that on purpose (non-FIFO
//! channels, loss), and the oracle then explains what went wrong.
//!
//! [`process`] holds the two rules as the state machine of one process (inputs: it initiates, a
//! marker or a message arrives; actions: record the state, send markers, record a message, close a
//! channel); the process-graph world (`simulation.rs`) runs them on the engine and assembles the
//! global snapshot from every process's part.

pub mod process;
mod reader_thread;
mod simulation;

pub use reader_thread::run_read_beside;
pub use simulation::{ProcessGraphRun, RefusedSend, run, run_read_by};

use crate::engine::SimTime;
use crate::topology::{ChannelIndex, ProcessIndex};
use crate::trace::{MessageId, SnapshotId};
use serde::Serialize;

/// When a process starts snapshots on its own initiative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotSchedule {
    /// The process that records first.
    pub initiator: ProcessIndex,
    /// The first (or only) initiation.
    pub first_at: SimTime,
    /// If set, a new snapshot every `every_us` until the run's stop time.
    pub every_us: Option<u64>,
}

/// A reader of a run's record as it is written: the oracle follows a run this way instead of
/// reading a stored record afterwards ([`run_read_by`]). It sees every entry at the position it
/// takes in the record, and each snapshot the protocol assembles right after the entry that says
/// it completed — nothing of the world's or the protocol's private state.
pub trait RecordReader {
    /// The record's entry at `position` (every entry counts, from 0).
    fn entry(&mut self, position: usize, event: &crate::trace::ProcessEvent);
    /// The snapshot whose `SnapshotCompleted` entry was just read, as the protocol assembled it.
    fn snapshot_completed(&mut self, snapshot: &GlobalSnapshot);
}

/// Reads nothing: for runs whose record is kept and read afterwards.
pub struct NoReader;

impl RecordReader for NoReader {
    fn entry(&mut self, _: usize, _: &crate::trace::ProcessEvent) {}
    fn snapshot_completed(&mut self, _: &GlobalSnapshot) {}
}

/// A message as recorded in a channel's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RecordedMessage {
    /// Which message (ids are global and in send order).
    pub message: MessageId,
    /// What it carried.
    pub tokens: i64,
}

/// A completed snapshot: the recorded state of every process and of every channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GlobalSnapshot {
    /// Snapshot id (1, 2, … in initiation order).
    pub id: SnapshotId,
    /// The process that started it.
    pub initiator: ProcessIndex,
    /// When the initiator recorded.
    pub started_at: SimTime,
    /// When the last channel was closed.
    pub completed_at: SimTime,
    /// The tokens each process said it held, by process index.
    pub process_tokens: Vec<i64>,
    /// Recorded messages of every channel whose recorded state is not empty, by channel index, in
    /// the order they were received.
    pub channel_messages: Vec<(ChannelIndex, Vec<RecordedMessage>)>,
}

impl GlobalSnapshot {
    /// The recorded messages of one channel (empty if none).
    pub fn channel(&self, channel: ChannelIndex) -> &[RecordedMessage] {
        self.channel_messages
            .iter()
            .find(|(c, _)| *c == channel)
            .map_or(&[], |(_, messages)| messages.as_slice())
    }

    /// Tokens in the recorded processes plus tokens in the recorded channels.
    pub fn total_tokens(&self) -> i64 {
        let in_processes: i64 = self.process_tokens.iter().sum();
        let in_channels: i64 = self
            .channel_messages
            .iter()
            .flat_map(|(_, messages)| messages.iter().map(|m| m.tokens))
            .sum();
        in_processes + in_channels
    }
}

/// A snapshot that had not finished when the run ended, and what it was still waiting for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IncompleteSnapshot {
    /// Snapshot id.
    pub id: SnapshotId,
    /// The process that started it.
    pub initiator: ProcessIndex,
    /// When it started.
    pub started_at: SimTime,
    /// Processes that never recorded.
    pub processes_not_recorded: Vec<ProcessIndex>,
    /// Channels whose marker never arrived.
    pub channels_not_closed: Vec<ChannelIndex>,
}

/// How the algorithm is run. Anything but `Correct` is a deliberately broken variant for teaching:
/// the oracle must catch it (`tests/properties.rs` shows it does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChandyLamportVariant {
    /// The algorithm of the paper.
    #[default]
    Correct,
    /// Broken: on its first marker a process sends its markers and starts recording its channels,
    /// but records its own state only after processing one more application message. That message
    /// is then counted both in its state and in a channel (or is an orphan).
    RecordAfterNextMessage,
}
