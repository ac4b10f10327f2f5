//! From a replayed dataflow schedule (`snapsim explore --dataflow`'s counterexamples) to its
//! space-time diagram: the coordinator and the tasks as lines, step `k` at `k` ms; records grey
//! from the step that sent them to the step that read them, barriers blue, RPCs (trigger,
//! acknowledgement, completion notice) gold; records a completed checkpoint holds as channel
//! state thick and orange; each task's snapshot a dot, one cut per checkpoint; what the crash
//! dropped dashed, ending in a cross.

use super::space_time::{Arrow, ArrowKind, Cut, Dot, Mark, SpaceTimeDiagram};
use crate::explore::dataflow::schedule::{MessageKind, Timeline};
use std::collections::BTreeMap;

/// A step's time on the diagram.
const STEP_US: u64 = 1000;

/// Builds the diagram of a replayed schedule, all of it.
pub fn space_time_from_dataflow_schedule(title: &str, timeline: &Timeline) -> SpaceTimeDiagram {
    let end_us = (timeline.steps as u64 + 1) * STEP_US;
    let at = |step: usize| step as u64 * STEP_US;
    let arrows = timeline
        .messages
        .iter()
        .map(|m| Arrow {
            from_line: m.from_line,
            to_line: m.to_line,
            send_us: at(m.sent),
            receive_us: m.taken.map_or(end_us, at),
            kind: match m.kind {
                MessageKind::Record => ArrowKind::Application,
                MessageKind::Barrier => ArrowKind::Barrier,
                MessageKind::Rpc => ArrowKind::Other,
            },
            in_channel_state: m.in_channel_state,
            lost: m.dropped,
            label: Some(m.label.clone()),
        })
        .collect();
    let mut cuts: BTreeMap<u64, Vec<(usize, u64)>> = BTreeMap::new();
    let recorded_states = timeline
        .snapshots
        .iter()
        .map(|&(line, step, checkpoint)| {
            cuts.entry(checkpoint).or_default().push((line, at(step)));
            Dot {
                line,
                time_us: at(step),
                snapshot_id: checkpoint,
                label: Some(format!("C{checkpoint}")),
            }
        })
        .collect();
    let (failures, restarts) = match &timeline.crash {
        None => (Vec::new(), Vec::new()),
        Some((step, _)) => {
            let tasks = 1..timeline.lines.len();
            (
                tasks
                    .clone()
                    .map(|line| Mark {
                        line,
                        time_us: at(*step),
                        label: (line == 1).then(|| "crash".to_string()),
                    })
                    .collect(),
                tasks
                    .map(|line| Mark {
                        line,
                        time_us: at(*step),
                        label: (line == 1).then(|| "restore".to_string()),
                    })
                    .collect(),
            )
        }
    };
    SpaceTimeDiagram {
        title: title.to_string(),
        lines: timeline.lines.clone(),
        from_us: 0,
        to_us: end_us,
        arrows,
        recorded_states,
        cuts: cuts
            .into_iter()
            .filter(|(_, points)| points.len() > 1)
            .map(|(snapshot_id, points)| Cut {
                snapshot_id,
                points,
            })
            .collect(),
        failures,
        restarts,
    }
}
