//! From a dataflow (Flink) run to its pictures: the space-time diagram and the checkpoint timeline.
//!
//! Like the oracle, the adapters read only what the run recorded: the event record
//! ([`DataflowEvent`]), the checkpoint statistics with Flink's metric names, the recoveries and the
//! execution graph.
//!
//! **Space-time diagram.** One line for the job manager, then one per subtask. A checkpoint's
//! trigger is an arrow from the job manager to each source (the trigger RPC, arriving when the
//! source snapshots); each barrier is an arrow from its `BarrierSent` to the matching
//! `BarrierReceived` (same channel and checkpoint, in FIFO order); each `SnapshotTaken` is a dot,
//! and the dots of every completed checkpoint are joined into its cut; each acknowledgement is an
//! arrow back to the job manager. A barrier that arrived after its receiver had already taken an
//! unaligned snapshot carries the records the receiver consumed in between into the checkpoint —
//! that channel's state — and is drawn highlighted, labelled with the number of records.
//! Crashes are red crosses; restarts are triangles on the tasks that were redeployed.
//! The records themselves are not drawn: the event record holds no per-record events (a run has
//! millions), which the diagram's title says.
//!
//! **Checkpoint timeline.** Per subtask and checkpoint, from the per-subtask statistics: start
//! delay (trigger → first barrier), alignment (first → last barrier), the synchronous part and the
//! asynchronous part, which ends when the acknowledgement leaves the task (its arrival at the job
//! manager, `ack_timestamp`, minus the RPC latency).

use super::axis::format_number;
use super::space_time::{Arrow, ArrowKind, Cut, Dot, Mark, SpaceTimeDiagram};
use super::timeline::{
    CheckpointTimeline, PhaseSegment, SnapshotPhase, TimelineMarker, TimelineRow,
};
use crate::checkpoint::metrics::{CheckpointStats, CheckpointStatus};
use crate::dataflow::DataflowRun;
use crate::trace::DataflowEvent;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The line of the job manager in a dataflow diagram.
const JOB_MANAGER_LINE: usize = 0;

/// Builds the space-time diagram of the window `from_us..to_us` of a dataflow run.
/// `rpc_latency_us` is the model's job manager ↔ task latency (to place the sending end of
/// acknowledgements).
pub fn space_time_from_dataflow_run(
    run: &DataflowRun,
    rpc_latency_us: u64,
    from_us: u64,
    to_us: u64,
) -> SpaceTimeDiagram {
    let graph = &run.graph;
    let task_line = |task: u32| task as usize + 1;
    let mut lines = vec!["job manager".to_string()];
    lines.extend(graph.tasks.iter().map(|t| t.name.clone()));
    let sources: BTreeSet<usize> = (0..graph.tasks.len())
        .filter(|&t| graph.tasks[t].inputs.is_empty())
        .collect();
    let completed: BTreeSet<u64> = run
        .checkpoints
        .iter()
        .filter(|c| c.status == CheckpointStatus::Completed)
        .map(|c| c.id)
        .collect();

    // A dot says "unaligned" only where a checkpoint mixes both kinds (aligned with timeout).
    let mut kinds: BTreeMap<u64, (bool, bool)> = BTreeMap::new();
    for event in run.trace.events() {
        if let DataflowEvent::SnapshotTaken {
            checkpoint,
            unaligned,
            ..
        } = *event
        {
            let entry = kinds.entry(checkpoint).or_insert((false, false));
            if unaligned {
                entry.1 = true;
            } else {
                entry.0 = true;
            }
        }
    }
    let mixed = |checkpoint: u64| kinds.get(&checkpoint) == Some(&(true, true));

    let mut arrows = Vec::new();
    let mut recorded_states = Vec::new();
    let mut cut_points: BTreeMap<u64, Vec<(usize, u64)>> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut restarts = Vec::new();
    let mut triggered_at: BTreeMap<u64, u64> = BTreeMap::new();
    let mut barriers_in_flight: BTreeMap<(u32, u64), VecDeque<(u64, u64)>> = BTreeMap::new();
    let mut snapshot_positions: BTreeMap<(u32, u64), u64> = BTreeMap::new();
    let mut failed_since_restart: BTreeSet<usize> = BTreeSet::new();

    for event in run.trace.events() {
        match *event {
            DataflowEvent::CheckpointTriggered {
                time, checkpoint, ..
            } => {
                triggered_at.insert(checkpoint, time.as_micros());
            }
            DataflowEvent::SnapshotTaken {
                time,
                task,
                checkpoint,
                unaligned,
            } => {
                let (line, time_us) = (task_line(task), time.as_micros());
                recorded_states.push(Dot {
                    line,
                    time_us,
                    snapshot_id: checkpoint,
                    label: (unaligned && mixed(checkpoint)).then(|| "unaligned".to_string()),
                });
                if completed.contains(&checkpoint) {
                    cut_points
                        .entry(checkpoint)
                        .or_default()
                        .push((line, time_us));
                }
                // The trigger RPC reached a source: it snapshots at once.
                if sources.contains(&(task as usize))
                    && let Some(&trigger_us) = triggered_at.get(&checkpoint)
                    && time_us.saturating_sub(trigger_us) <= rpc_latency_us.max(1) * 4
                {
                    arrows.push(Arrow {
                        from_line: JOB_MANAGER_LINE,
                        to_line: line,
                        send_us: trigger_us,
                        receive_us: time_us.max(trigger_us),
                        kind: ArrowKind::Other,
                        in_channel_state: false,
                        lost: false,
                        label: None,
                    });
                }
            }
            DataflowEvent::InputPosition {
                channel,
                checkpoint,
                records_consumed,
                ..
            } => {
                snapshot_positions.insert((channel, checkpoint), records_consumed);
            }
            DataflowEvent::BarrierSent {
                time,
                channel,
                checkpoint,
                records_before,
                ..
            } => {
                barriers_in_flight
                    .entry((channel, checkpoint))
                    .or_default()
                    .push_back((time.as_micros(), records_before));
            }
            DataflowEvent::BarrierReceived {
                time,
                channel,
                checkpoint,
                ..
            } => {
                let Some((send_us, records_before)) = barriers_in_flight
                    .get_mut(&(channel, checkpoint))
                    .and_then(VecDeque::pop_front)
                else {
                    continue;
                };
                let vertex = &graph.channels[channel as usize];
                // Records that arrived on this channel between the receiver's snapshot and this
                // barrier belong to the checkpoint: the channel's recorded state.
                let persisted = snapshot_positions
                    .get(&(channel, checkpoint))
                    .map_or(0, |&consumed| records_before.saturating_sub(consumed));
                arrows.push(Arrow {
                    from_line: task_line(vertex.from as u32),
                    to_line: task_line(vertex.to as u32),
                    send_us,
                    receive_us: time.as_micros().max(send_us),
                    kind: ArrowKind::Barrier,
                    in_channel_state: persisted > 0,
                    lost: false,
                    label: (persisted > 0).then(|| format!("{persisted} records recorded")),
                });
            }
            DataflowEvent::AckReceived {
                time,
                task,
                checkpoint,
            } => {
                let receive_us = time.as_micros();
                let send_us = receive_us.saturating_sub(rpc_latency_us);
                let _ = checkpoint;
                arrows.push(Arrow {
                    from_line: task_line(task),
                    to_line: JOB_MANAGER_LINE,
                    send_us,
                    receive_us,
                    kind: ArrowKind::Other,
                    in_channel_state: false,
                    lost: false,
                    label: None,
                });
            }
            DataflowEvent::TaskFailed { time, task } => {
                failed_since_restart.insert(task_line(task));
                failures.push(Mark {
                    line: task_line(task),
                    time_us: time.as_micros(),
                    label: Some("crash".to_string()),
                });
            }
            DataflowEvent::JobRestarted { time, checkpoint } => {
                let time_us = time.as_micros();
                // The recovery this restart belongs to says how many tasks were redeployed.
                let restarted = run
                    .recoveries
                    .iter()
                    .find(|r| r.restarted_at_us == Some(time_us))
                    .map_or(graph.tasks.len(), |r| r.tasks_restarted);
                let label = if checkpoint == 0 {
                    "restart from the beginning".to_string()
                } else {
                    format!("restart from checkpoint {checkpoint}")
                };
                let failed = std::mem::take(&mut failed_since_restart);
                let lines: Vec<usize> = if restarted >= graph.tasks.len() {
                    (1..=graph.tasks.len()).collect()
                } else {
                    failed.into_iter().collect()
                };
                for (index, line) in lines.into_iter().enumerate() {
                    restarts.push(Mark {
                        line,
                        time_us,
                        label: (index == 0).then(|| label.clone()),
                    });
                }
            }
            _ => {}
        }
    }

    let window = to_us.saturating_sub(from_us);
    let shown: Vec<(bool, bool)> = recorded_states
        .iter()
        .filter(|d| d.time_us >= from_us && d.time_us <= to_us)
        .filter_map(|d| kinds.get(&d.snapshot_id).copied())
        .collect();
    let kind = if shown.is_empty() {
        ""
    } else if shown
        .iter()
        .all(|&(aligned, unaligned)| aligned && !unaligned)
    {
        "aligned "
    } else if shown
        .iter()
        .all(|&(aligned, unaligned)| unaligned && !aligned)
    {
        "unaligned "
    } else {
        "aligned and unaligned "
    };
    let diagram = SpaceTimeDiagram {
        title: format!(
            "Checkpoints ({kind}barriers) from {} to {}: snapshots, cuts, RPCs — records not drawn",
            window_time(from_us, window),
            window_time(to_us, window)
        ),
        lines,
        from_us,
        to_us,
        arrows,
        recorded_states,
        cuts: cut_points
            .into_iter()
            .map(|(snapshot_id, points)| Cut {
                snapshot_id,
                points,
            })
            .collect(),
        failures,
        restarts,
    };
    diagram.keep_window()
}

/// A window around the first completed checkpoint: from a little before its trigger to a little
/// after its completion (the whole run if none completed).
pub fn default_dataflow_window(run: &DataflowRun) -> (u64, u64) {
    let first = run
        .checkpoints
        .iter()
        .find(|c| c.status == CheckpointStatus::Completed && !c.is_savepoint);
    match first {
        Some(checkpoint) => {
            let start = checkpoint.trigger_timestamp_us;
            let end = checkpoint
                .latest_ack_timestamp_us
                .unwrap_or(start)
                .max(start + 1);
            let margin = ((end - start) / 8).max(1);
            (start.saturating_sub(margin), end + margin)
        }
        None => (0, run.end_time.as_micros().max(1)),
    }
}

/// The checkpoint timeline of checkpoints `first_id..=last_id` (savepoints included if in range):
/// one row per subtask, phases from its statistics, a marker at each trigger.
pub fn checkpoint_timeline_from_stats(
    title: &str,
    task_names: &[String],
    checkpoints: &[CheckpointStats],
    rpc_latency_us: u64,
    first_id: u64,
    last_id: u64,
) -> CheckpointTimeline {
    let mut rows: Vec<TimelineRow> = task_names
        .iter()
        .map(|name| TimelineRow {
            label: name.clone(),
            segments: Vec::new(),
        })
        .collect();
    let mut markers = Vec::new();
    for checkpoint in checkpoints
        .iter()
        .filter(|c| (first_id..=last_id).contains(&c.id))
    {
        let trigger = checkpoint.trigger_timestamp_us;
        markers.push(TimelineMarker {
            time_us: trigger,
            label: format!("{} triggered", checkpoint.id),
        });
        for (row, subtask) in rows.iter_mut().zip(&checkpoint.subtasks) {
            let Some(ack_us) = subtask.ack_timestamp_us else {
                continue;
            };
            let id = Some(checkpoint.id);
            let mut push = |start_us: u64, end_us: u64, phase: SnapshotPhase| {
                if end_us > start_us {
                    row.segments.push(PhaseSegment {
                        start_us,
                        end_us,
                        phase,
                        checkpoint: id,
                    });
                }
            };
            let first_barrier = trigger + subtask.start_delay_us;
            push(trigger, first_barrier, SnapshotPhase::StartDelay);
            push(
                first_barrier,
                first_barrier + subtask.alignment_duration_us,
                SnapshotPhase::Alignment,
            );
            let async_end = ack_us.saturating_sub(rpc_latency_us).max(trigger);
            let async_start = async_end.saturating_sub(subtask.async_duration_us);
            let sync_start = async_start.saturating_sub(subtask.sync_duration_us);
            push(sync_start, async_start, SnapshotPhase::Synchronous);
            push(async_start, async_end, SnapshotPhase::Asynchronous);
        }
    }
    CheckpointTimeline {
        title: title.to_string(),
        rows,
        from_us: None,
        to_us: None,
        markers,
    }
}

/// An instant for a title, in the unit of the diagram's time axis.
fn window_time(time_us: u64, window_us: u64) -> String {
    if window_us < 2000 {
        format!("{time_us} µs")
    } else {
        format!("{} ms", format_number(time_us as f64 / 1000.0))
    }
}
