//! One input channel's recording of in-flight data for an unaligned or Chandy-Lamport snapshot:
//! Flink's `ChannelStatePersister`, a small state machine each input channel runs.
//!
//! The task's barrier handler decides *when* a channel starts recording
//! ([`super::Action::PersistInputs`]) and when a checkpoint is given up
//! ([`super::Action::StopPersisting`]). The channel itself decides where the recording *ends*: at
//! the barrier of that checkpoint, the moment the barrier **arrives** at the channel — not when the
//! task later reads it. Whatever arrives behind the barrier was sent after the sender's snapshot, so
//! it belongs after the checkpoint, even while it still waits in the queue in front of the task.
//! (Flink's `RemoteInputChannel` checks every arriving buffer for the barrier for this reason.) A
//! channel whose barrier has already arrived when the recording starts records only what is queued
//! ahead of it. On a local channel the consumer reads straight from the producer's queue, so there
//! the barrier arrives when it is read.

use super::interface::CheckpointId;

/// What an input channel is recording.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ChannelStatePersister {
    recording: Option<CheckpointId>,
}

impl ChannelStatePersister {
    /// The checkpoint whose channel state this channel is recording, if any: every record that
    /// arrives now is part of it.
    pub fn recording(&self) -> Option<CheckpointId> {
        self.recording
    }

    /// The handler asks the channel to record for `checkpoint`. If the channel's barrier of that
    /// checkpoint has already arrived, nothing more is recorded (what is queued ahead of it is
    /// persisted at once, by the caller).
    pub fn start(&mut self, checkpoint: CheckpointId, barrier_arrived: bool) {
        if !barrier_arrived {
            self.recording = Some(checkpoint);
        }
    }

    /// A barrier of `checkpoint` arrived at the channel (a priority one overtook the data).
    pub fn barrier_arrived(&mut self, checkpoint: CheckpointId, _priority: bool) {
        self.stop(checkpoint);
    }

    /// The task read barrier `checkpoint` from the channel.
    pub fn barrier_read(&mut self, checkpoint: CheckpointId) {
        self.stop(checkpoint);
    }

    /// The recording of `checkpoint` ends (the checkpoint was given up).
    pub fn stop(&mut self, checkpoint: CheckpointId) {
        if self.recording == Some(checkpoint) {
            self.recording = None;
        }
    }

    /// The channel ended (end of partition) or was reset by a failover: nothing is recorded.
    pub fn stop_all(&mut self) {
        self.recording = None;
    }
}

/// The recording rule an input channel runs: Flink's, or one that is broken for teaching.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordingRule {
    /// Flink's: the recording ends when the barrier arrives.
    Sound,
    /// Broken (`protocol_variant: recording_past_the_barrier`): the channel keeps recording until
    /// the task *reads* the barrier, and starts even when the barrier has already arrived. On a
    /// channel between task managers, records that arrive behind an ordinary barrier while it waits
    /// in the receiver's queue — sent after the sender's snapshot — are written into the checkpoint
    /// too, and would be replayed twice after a restore: Chandy-Lamport markers and
    /// aligned-with-timeout checkpoints across task managers then hold records beyond their
    /// prefix, and the oracle says which. Only a priority barrier, which is read at once, still
    /// stops it in time.
    PastTheBarrier,
}

/// An input channel's recording under its rule: the broken rule differs from Flink's only in when
/// a recording starts and what an arriving barrier does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InputChannelRecording {
    persister: ChannelStatePersister,
    rule: RecordingRule,
}

impl InputChannelRecording {
    /// A channel recording nothing yet, under the sound rule or the broken one.
    pub fn new(past_the_barrier: bool) -> InputChannelRecording {
        InputChannelRecording {
            persister: ChannelStatePersister::default(),
            rule: if past_the_barrier {
                RecordingRule::PastTheBarrier
            } else {
                RecordingRule::Sound
            },
        }
    }

    /// See [`ChannelStatePersister::recording`].
    pub fn recording(&self) -> Option<CheckpointId> {
        self.persister.recording()
    }

    /// See [`ChannelStatePersister::start`]; the broken rule starts even after the barrier.
    pub fn start(&mut self, checkpoint: CheckpointId, barrier_arrived: bool) {
        let arrived = barrier_arrived && self.rule == RecordingRule::Sound;
        self.persister.start(checkpoint, arrived);
    }

    /// See [`ChannelStatePersister::barrier_arrived`]; the broken rule notices only a priority one.
    pub fn barrier_arrived(&mut self, checkpoint: CheckpointId, priority: bool) {
        if priority || self.rule == RecordingRule::Sound {
            self.persister.barrier_arrived(checkpoint, priority);
        }
    }

    /// See [`ChannelStatePersister::barrier_read`].
    pub fn barrier_read(&mut self, checkpoint: CheckpointId) {
        self.persister.barrier_read(checkpoint);
    }

    /// See [`ChannelStatePersister::stop`].
    pub fn stop(&mut self, checkpoint: CheckpointId) {
        self.persister.stop(checkpoint);
    }

    /// See [`ChannelStatePersister::stop_all`].
    pub fn stop_all(&mut self) {
        self.persister.stop_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recording_ends_when_the_barrier_arrives_not_when_it_is_read() {
        let mut channel = ChannelStatePersister::default();
        channel.start(3, false);
        assert_eq!(
            channel.recording(),
            Some(3),
            "what arrives now is channel state"
        );
        channel.barrier_arrived(3, false);
        assert_eq!(
            channel.recording(),
            None,
            "what arrives behind the barrier is not"
        );
    }

    #[test]
    fn a_channel_whose_barrier_already_arrived_records_nothing_more() {
        let mut channel = ChannelStatePersister::default();
        channel.start(3, true);
        assert_eq!(channel.recording(), None);
    }

    #[test]
    fn another_checkpoint_s_barrier_or_abort_leaves_the_recording_alone() {
        let mut channel = ChannelStatePersister::default();
        channel.start(3, false);
        channel.barrier_arrived(2, false);
        channel.stop(4);
        assert_eq!(channel.recording(), Some(3));
        channel.stop(3);
        assert_eq!(channel.recording(), None, "giving 3 up ends it");
    }

    #[test]
    fn the_broken_channel_records_past_an_arrived_barrier_until_it_is_read() {
        let mut channel = InputChannelRecording::new(true);
        channel.start(3, true);
        assert_eq!(
            channel.recording(),
            Some(3),
            "started although the barrier is here"
        );
        channel.barrier_arrived(3, false);
        assert_eq!(
            channel.recording(),
            Some(3),
            "an arriving barrier goes unnoticed"
        );
        channel.barrier_read(3);
        assert_eq!(channel.recording(), None);
        channel.start(4, false);
        channel.barrier_arrived(4, true);
        assert_eq!(
            channel.recording(),
            None,
            "a priority barrier still stops it"
        );
    }
}
