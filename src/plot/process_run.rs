//! From a Chandy-Lamport run to its space-time diagram.
//!
//! The adapter reads only the event record and the completed snapshots, as the oracle does. It
//! pairs each `Sent` with the `Received` (or `Lost`) of the same message id, and each `MarkerSent`
//! with the `MarkerReceived` (or `MarkerLost`) of the same (channel, snapshot) in FIFO order. An
//! application message is drawn as part of a channel state when its id appears in some completed
//! snapshot's `channel_messages`. Every `StateRecorded` is a dot, and each completed snapshot's
//! `StateRecorded` events form its cut. Messages still in flight when the record ends have no
//! receipt and are not drawn.

use super::axis::format_number;
use super::space_time::{Arrow, ArrowKind, Cut, Dot, SpaceTimeDiagram};
use crate::chandy_lamport::GlobalSnapshot;
use crate::topology::ProcessGraph;
use crate::trace::{MessageId, ProcessEvent, SnapshotId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Builds the space-time diagram of the window `from_us..to_us` of a process-graph run: processes
/// as lines, application messages and markers as arrows, recorded states as dots, and one cut per
/// completed snapshot. Only what is at least partly inside the window is kept.
pub fn space_time_from_process_run(
    graph: &ProcessGraph,
    events: &[ProcessEvent],
    snapshots: &[GlobalSnapshot],
    from_us: u64,
    to_us: u64,
) -> SpaceTimeDiagram {
    let in_channel_state: BTreeSet<MessageId> = snapshots
        .iter()
        .flat_map(|s| s.channel_messages.iter())
        .flat_map(|(_, messages)| messages.iter().map(|m| m.message))
        .collect();
    let completed: BTreeSet<SnapshotId> = snapshots.iter().map(|s| s.id).collect();
    let endpoints = |channel: u32| {
        let config = &graph.channels[channel as usize];
        (config.from, config.to)
    };
    // A lost message is drawn towards where it would have arrived after a typical latency.
    let typical_latency_us =
        |channel: u32| graph.channels[channel as usize].latency.mean_us().round() as u64;

    // Markers are labelled "S<id>" only when snapshots overlap in time; otherwise each snapshot's
    // markers sit next to its cut and the labels would only add clutter.
    let label_markers = snapshots_overlap(events);

    let mut sent_at: BTreeMap<MessageId, u64> = BTreeMap::new();
    let mut markers_in_flight: BTreeMap<(u32, SnapshotId), VecDeque<u64>> = BTreeMap::new();
    let mut arrows = Vec::new();
    let mut recorded_states = Vec::new();
    let mut cut_points: BTreeMap<SnapshotId, Vec<(usize, u64)>> = BTreeMap::new();

    for event in events {
        match *event {
            ProcessEvent::Sent { time, message, .. } => {
                sent_at.insert(message, time.as_micros());
            }
            ProcessEvent::Received {
                time,
                channel,
                message,
                ..
            }
            | ProcessEvent::Lost {
                time,
                channel,
                message,
                ..
            } => {
                let lost = matches!(event, ProcessEvent::Lost { .. });
                let Some(send_us) = sent_at.remove(&message) else {
                    continue;
                };
                let (from_line, to_line) = endpoints(channel);
                let receive_us = if lost {
                    send_us + typical_latency_us(channel).max(1)
                } else {
                    time.as_micros()
                };
                arrows.push(Arrow {
                    from_line,
                    to_line,
                    send_us,
                    receive_us,
                    kind: ArrowKind::Application,
                    in_channel_state: in_channel_state.contains(&message),
                    lost,
                    label: None,
                });
            }
            ProcessEvent::MarkerSent {
                time,
                channel,
                snapshot,
            } => {
                markers_in_flight
                    .entry((channel, snapshot))
                    .or_default()
                    .push_back(time.as_micros());
            }
            ProcessEvent::MarkerReceived {
                time,
                channel,
                snapshot,
            }
            | ProcessEvent::MarkerLost {
                time,
                channel,
                snapshot,
            } => {
                let lost = matches!(event, ProcessEvent::MarkerLost { .. });
                let Some(send_us) = markers_in_flight
                    .get_mut(&(channel, snapshot))
                    .and_then(VecDeque::pop_front)
                else {
                    continue;
                };
                let (from_line, to_line) = endpoints(channel);
                let receive_us = if lost {
                    send_us + typical_latency_us(channel).max(1)
                } else {
                    time.as_micros()
                };
                arrows.push(Arrow {
                    from_line,
                    to_line,
                    send_us,
                    receive_us,
                    kind: ArrowKind::Marker,
                    in_channel_state: false,
                    lost,
                    label: label_markers.then(|| format!("S{snapshot}")),
                });
            }
            ProcessEvent::StateRecorded {
                time,
                process,
                snapshot,
                tokens,
            } => {
                let (line, time_us) = (process as usize, time.as_micros());
                recorded_states.push(Dot {
                    line,
                    time_us,
                    snapshot_id: u64::from(snapshot),
                    label: Some(format!(
                        "{tokens} token{}",
                        if tokens == 1 { "" } else { "s" }
                    )),
                });
                if completed.contains(&snapshot) {
                    cut_points
                        .entry(snapshot)
                        .or_default()
                        .push((line, time_us));
                }
            }
            ProcessEvent::SnapshotInitiated { .. } | ProcessEvent::SnapshotCompleted { .. } => {}
        }
    }

    let diagram = SpaceTimeDiagram {
        title: format!(
            "Chandy-Lamport run from {} to {}: messages, markers and snapshot cuts",
            window_time(from_us, to_us.saturating_sub(from_us)),
            window_time(to_us, to_us.saturating_sub(from_us))
        ),
        lines: graph.processes.iter().map(|p| p.name.clone()).collect(),
        from_us,
        to_us,
        arrows,
        recorded_states,
        cuts: cut_points
            .into_iter()
            .map(|(snapshot, points)| Cut {
                snapshot_id: u64::from(snapshot),
                points,
            })
            .collect(),
        failures: Vec::new(),
        restarts: Vec::new(),
    };
    diagram.keep_window()
}

/// An instant for the title, in the unit the diagram's time axis uses (µs for windows under 2 ms).
fn window_time(time_us: u64, window_us: u64) -> String {
    if window_us < 2000 {
        format!("{time_us} µs")
    } else {
        format!("{} ms", format_number(time_us as f64 / 1000.0))
    }
}

/// Whether some snapshot started before an earlier one had received its last marker.
fn snapshots_overlap(events: &[ProcessEvent]) -> bool {
    let mut spans: BTreeMap<SnapshotId, (u64, u64)> = BTreeMap::new();
    for event in events {
        let snapshot = match *event {
            ProcessEvent::SnapshotInitiated { snapshot, .. }
            | ProcessEvent::StateRecorded { snapshot, .. }
            | ProcessEvent::MarkerSent { snapshot, .. }
            | ProcessEvent::MarkerReceived { snapshot, .. }
            | ProcessEvent::MarkerLost { snapshot, .. } => snapshot,
            _ => continue,
        };
        let time_us = event.time().as_micros();
        let span = spans.entry(snapshot).or_insert((time_us, time_us));
        span.0 = span.0.min(time_us);
        span.1 = span.1.max(time_us);
    }
    let mut by_start: Vec<(u64, u64)> = spans.into_values().collect();
    by_start.sort();
    by_start.windows(2).any(|pair| pair[1].0 <= pair[0].1)
}

/// A window around the first completed snapshot: from a little before its initiation to a
/// little after its completion (`0..end_us` if none completed).
pub fn default_process_window(snapshots: &[GlobalSnapshot], end_us: u64) -> (u64, u64) {
    match snapshots.iter().min_by_key(|s| (s.started_at, s.id)) {
        Some(snapshot) => {
            let start = snapshot.started_at.as_micros();
            let end = snapshot.completed_at.as_micros().max(start + 1);
            let margin = ((end - start) / 4).max(1);
            (start.saturating_sub(margin), end + margin)
        }
        None => (0, end_us.max(1)),
    }
}
