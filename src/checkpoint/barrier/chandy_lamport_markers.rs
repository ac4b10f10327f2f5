//! Chandy-Lamport markers on a dataflow (K. M. Chandy and L. Lamport, 1985, §3.2), for comparison
//! with Flink's barriers: what the ABS paper (Carbone et al., 2015) improved on.
//!
//! The first marker of snapshot *n* makes the task record its state at once and send markers on
//! every output — in order, behind the data already queued (markers never overtake, channels are
//! FIFO). Every other input is recorded from then until its own marker arrives: that is the
//! channel's state. Nothing is blocked, as in unaligned checkpoints, but markers wait behind the
//! data like aligned barriers do, so under backpressure a snapshot takes as long as an aligned one
//! and stores in-flight data besides.

use super::alignment::{Alignment, AlignmentRules};
use super::interface::{Action, InputIndex, SnapshotKind};

/// The marker rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ChandyLamportMarkers;

impl ChandyLamportMarkers {
    /// Record the state, send markers on, record the inputs still awaiting theirs.
    fn record(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        alignment.take_snapshot(SnapshotKind::Marker, actions);
        alignment.forward_barrier(false, actions);
        alignment.persist_awaiting_inputs(actions);
    }
}

impl AlignmentRules for ChandyLamportMarkers {
    /// The marker-receiving rule for a first marker: record now.
    fn first_barrier(
        &self,
        alignment: &mut Alignment,
        _input: InputIndex,
        _priority: bool,
        _timed_out: bool,
        actions: &mut Vec<Action>,
    ) {
        self.record(alignment, actions);
    }

    /// Only reached without any marker: every producer had finished. Record now.
    fn all_barriers_in(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        self.record(alignment, actions);
    }

    /// A source records its state and sends its markers (it has no channel to record).
    fn source_snapshot(&self, alignment: &mut Alignment, actions: &mut Vec<Action>) {
        alignment.take_snapshot(SnapshotKind::Marker, actions);
        alignment.forward_barrier(false, actions);
    }
}

#[cfg(test)]
mod tests {
    use super::super::interface::SnapshotKind::Marker;
    use super::super::story::*;
    use crate::checkpoint::SnapshotProtocol;

    #[test]
    fn the_first_marker_records_at_once_sends_markers_behind_the_data_and_records_the_other_inputs()
    {
        let mut task = Task::new(SnapshotProtocol::ChandyLamport, 2);
        assert_eq!(
            task.on(barrier(0, 1)),
            [snapshot(1, Marker), forward(1), persist(1, &[1])]
        );
        assert_eq!(
            task.on(barrier(1, 1)),
            [complete(1)],
            "its marker closes input 1"
        );
    }

    #[test]
    fn a_source_records_and_sends_markers() {
        let mut task = Task::new(SnapshotProtocol::ChandyLamport, 0);
        assert_eq!(
            task.on(trigger(1)),
            [snapshot(1, Marker), forward(1), complete(1)]
        );
    }

    #[test]
    fn when_every_producer_has_finished_the_end_of_partition_markers_close_every_input() {
        let mut task = Task::new(SnapshotProtocol::ChandyLamport, 2);
        task.on(end_of_partition(0));
        task.on(end_of_partition(1));
        assert_eq!(
            task.on(trigger(2)),
            [
                snapshot(2, Marker),
                forward(2),
                persist(2, &[0, 1]),
                complete(2)
            ]
        );
    }
}
