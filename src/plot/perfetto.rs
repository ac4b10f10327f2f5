//! Trace export: a run as Chrome trace-event JSON, which opens in Perfetto (ui.perfetto.dev) and
//! in `chrome://tracing`, for zooming through a run interactively.
//!
//! Layout: the job manager is one process with a track for the
//! checkpoint coordinator (one slice per checkpoint, trigger → completion or abort) and one for
//! recoveries (failure → every task running again). Each subtask is a process of its own with
//! four tracks:
//! - **task thread**: `running` while the task is deployed and processing records, with the
//!   synchronous part of each snapshot nested inside (the task thread is paused then);
//! - **checkpoint**: the start delay (trigger → first barrier) and the alignment (first → last
//!   barrier) of each checkpoint;
//! - **upload**: the asynchronous part (upload to checkpoint storage, up to the acknowledgement);
//! - **barriers**: a short slice where a barrier was sent or received, joined by flow arrows from
//!   each `BarrierSent` to its `BarrierReceived`.
//!
//! Crashes and restarts are instant events. Times are virtual microseconds, which is the unit of
//! the format (`ts`). A run made with [`crate::dataflow::RunDetail::Traced`] adds a fifth track,
//! **busy / backpressured**, with a slice for every period the task was processing or blocked on
//! its output (idle is the gap between slices) — filling only the room the bound leaves.
//!
//! Traces are windowed (only what overlaps `from_us..to_us`, clipped to it) and bounded: at most
//! `max_events` trace events, the earliest kept, so a long run cannot produce a file Perfetto
//! cannot load (10⁶ events are about 100 MB).

use crate::checkpoint::metrics::CheckpointStatus;
use crate::dataflow::{DataflowRun, JobStatus, TaskActivity};
use crate::trace::DataflowEvent;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};

/// A trace ready to be written.
#[derive(Clone, Debug, PartialEq)]
pub struct ChromeTrace {
    /// The trace events, metadata first, then by time.
    pub events: Vec<Value>,
    /// Events were dropped to stay within the bound; the trace ends at `covered_to_us`.
    pub truncated: bool,
    /// The last instant the trace covers completely.
    pub covered_to_us: u64,
    /// Busy and backpressured slices did not all fit in the bound: they stop here.
    pub activity_covered_to_us: Option<u64>,
    /// The digest of the run it shows (its `report.json`'s `digest`), written in the trace
    /// format's `otherData` metadata so that a trace is never mistaken for another run's.
    pub run_digest: Option<String>,
}

impl ChromeTrace {
    /// The JSON document (`{"displayTimeUnit": "ms", "otherData": {...}, "traceEvents": [...]}`),
    /// one event per line.
    pub fn to_json(&self) -> String {
        let mut text = String::from("{\"displayTimeUnit\":\"ms\",");
        if let Some(digest) = &self.run_digest {
            text.push_str(&format!(
                "\"otherData\":{},",
                json!({ "run_digest": digest })
            ));
        }
        text.push_str("\"traceEvents\":[\n");
        for (index, event) in self.events.iter().enumerate() {
            if index > 0 {
                text.push_str(",\n");
            }
            text.push_str(&event.to_string());
        }
        text.push_str("\n]}\n");
        text
    }
}

/// Process id of the job manager; subtask `i` is process `i + 2`.
const JOB_MANAGER_PID: u64 = 1;
const COORDINATOR_TID: u64 = 1;
const RECOVERY_TID: u64 = 2;
const TASK_THREAD_TID: u64 = 1;
const CHECKPOINT_TID: u64 = 2;
const UPLOAD_TID: u64 = 3;
const BARRIERS_TID: u64 = 4;
const ACTIVITY_TID: u64 = 5;

/// A slice before nesting is checked.
#[derive(Clone, Debug)]
struct Slice {
    pid: u64,
    tid: u64,
    start_us: u64,
    end_us: u64,
    name: String,
    category: &'static str,
    args: Value,
}

/// Builds the trace of the window `from_us..to_us` of a dataflow run, with at most `max_events`
/// events. `rpc_latency_us` is the model's job manager ↔ task latency.
pub fn chrome_trace_from_dataflow_run(
    run: &DataflowRun,
    rpc_latency_us: u64,
    from_us: u64,
    to_us: u64,
    max_events: usize,
) -> ChromeTrace {
    let graph = &run.graph;
    let tasks = graph.tasks.len();
    let pid = |task: usize| task as u64 + 2;
    let end_of_run = match run.status {
        JobStatus::Finished { at_us } | JobStatus::Failed { at_us, .. } => at_us,
        JobStatus::Stopped { at_us, .. } => at_us,
        JobStatus::Running => run.end_time.as_micros(),
    }
    .max(run.end_time.as_micros());

    let mut metadata = vec![
        process_name(JOB_MANAGER_PID, "job manager"),
        process_sort_index(JOB_MANAGER_PID, 0),
    ];
    metadata.push(thread_name(
        JOB_MANAGER_PID,
        COORDINATOR_TID,
        "checkpoint coordinator",
    ));
    metadata.push(thread_name(JOB_MANAGER_PID, RECOVERY_TID, "recovery"));
    for (index, task) in graph.tasks.iter().enumerate() {
        metadata.push(process_name(pid(index), &task.name));
        metadata.push(process_sort_index(pid(index), index as u64 + 1));
        metadata.push(thread_name(pid(index), TASK_THREAD_TID, "task thread"));
        metadata.push(thread_name(pid(index), CHECKPOINT_TID, "checkpoint"));
        metadata.push(thread_name(pid(index), UPLOAD_TID, "upload"));
        metadata.push(thread_name(pid(index), BARRIERS_TID, "barriers"));
        if !run.activity.is_empty() {
            metadata.push(thread_name(
                pid(index),
                ACTIVITY_TID,
                "busy / backpressured",
            ));
        }
    }

    let mut slices: Vec<Slice> = Vec::new();
    let mut instants: Vec<Value> = Vec::new();
    let mut flows: Vec<(u64, u64, Value)> = Vec::new();

    // Checkpoints on the coordinator track, phases on the subtasks' tracks.
    for checkpoint in &run.checkpoints {
        let trigger = checkpoint.trigger_timestamp_us;
        let end = trigger + checkpoint.end_to_end_duration_us.unwrap_or(0);
        let status = match checkpoint.status {
            CheckpointStatus::Completed => "completed",
            CheckpointStatus::Failed => "failed",
            CheckpointStatus::InProgress => "in progress",
        };
        let kind = if checkpoint.is_savepoint {
            "savepoint"
        } else {
            "checkpoint"
        };
        slices.push(Slice {
            pid: JOB_MANAGER_PID,
            tid: COORDINATOR_TID,
            start_us: trigger,
            end_us: if checkpoint.status == CheckpointStatus::InProgress {
                end_of_run
            } else {
                end
            },
            name: format!("{kind} {} ({status})", checkpoint.id),
            category: "checkpoint",
            args: json!({
                "end_to_end_duration_us": checkpoint.end_to_end_duration_us,
                "state_size": checkpoint.state_size,
                "checkpointed_size": checkpoint.checkpointed_size,
                "persisted_data": checkpoint.persisted_data,
                "unaligned": checkpoint.unaligned,
                "failure_reason": checkpoint.failure_reason,
            }),
        });
        for (task, subtask) in checkpoint.subtasks.iter().enumerate().take(tasks) {
            let Some(ack_us) = subtask.ack_timestamp_us else {
                continue;
            };
            let first_barrier = trigger + subtask.start_delay_us;
            let mut push = |tid: u64, start_us: u64, end_us: u64, name: String| {
                if end_us > start_us {
                    slices.push(Slice {
                        pid: pid(task),
                        tid,
                        start_us,
                        end_us,
                        name,
                        category: "checkpoint",
                        args: json!({"checkpoint": checkpoint.id}),
                    });
                }
            };
            push(
                CHECKPOINT_TID,
                trigger,
                first_barrier,
                format!("start delay {}", checkpoint.id),
            );
            push(
                CHECKPOINT_TID,
                first_barrier,
                first_barrier + subtask.alignment_duration_us,
                format!("alignment {}", checkpoint.id),
            );
            let async_end = ack_us.saturating_sub(rpc_latency_us).max(trigger);
            let async_start = async_end.saturating_sub(subtask.async_duration_us);
            push(
                TASK_THREAD_TID,
                async_start.saturating_sub(subtask.sync_duration_us),
                async_start,
                format!("synchronous snapshot {}", checkpoint.id),
            );
            push(
                UPLOAD_TID,
                async_start,
                async_end,
                format!("asynchronous upload {}", checkpoint.id),
            );
        }
    }

    // Recoveries on their track; running periods of each task from the event record.
    for recovery in &run.recoveries {
        let end = recovery.running_again_at_us.unwrap_or(end_of_run);
        slices.push(Slice {
            pid: JOB_MANAGER_PID,
            tid: RECOVERY_TID,
            start_us: recovery.failed_at_us,
            end_us: end.max(recovery.failed_at_us + 1),
            name: format!("downtime: {}", recovery.failure),
            category: "recovery",
            args: json!({
                "detected_at_us": recovery.detected_at_us,
                "restarted_at_us": recovery.restarted_at_us,
                "checkpoint_restored": recovery.checkpoint_restored,
                "tasks_restarted": recovery.tasks_restarted,
                "records_reprocessed": recovery.records_reprocessed,
            }),
        });
    }
    let mut running_since: Vec<Option<u64>> = vec![Some(0); tasks];
    fn close_running(
        slices: &mut Vec<Slice>,
        running_since: &mut [Option<u64>],
        task: usize,
        at_us: u64,
        why: &str,
    ) {
        if let Some(start) = running_since[task].take()
            && at_us > start
        {
            slices.push(Slice {
                pid: task as u64 + 2,
                tid: TASK_THREAD_TID,
                start_us: start,
                end_us: at_us,
                name: "running".to_string(),
                category: "task",
                args: json!({"ended_by": why}),
            });
        }
    }
    let mut barriers_in_flight: BTreeMap<(u32, u64), VecDeque<u64>> = BTreeMap::new();
    let mut next_flow_id: u64 = 1;
    let mut barrier_slices: BTreeMap<(usize, u64, u64, bool), ()> = BTreeMap::new();
    for event in run.trace.events() {
        match *event {
            DataflowEvent::TaskFailed { time, task } => {
                let at = time.as_micros();
                close_running(&mut slices, &mut running_since, task as usize, at, "crash");
                instants.push(instant(pid(task as usize), TASK_THREAD_TID, at, "crash"));
            }
            DataflowEvent::TaskFinished { time, task } => {
                close_running(
                    &mut slices,
                    &mut running_since,
                    task as usize,
                    time.as_micros(),
                    "finished",
                );
            }
            DataflowEvent::JobRestarted { time, checkpoint } => {
                let at = time.as_micros();
                let recovery = run
                    .recoveries
                    .iter()
                    .find(|r| r.restarted_at_us == Some(at));
                let whole_job = recovery.is_none_or(|r| r.tasks_restarted >= tasks);
                let detected = recovery.map_or(at, |r| r.detected_at_us);
                let back = recovery.and_then(|r| r.running_again_at_us).unwrap_or(at);
                for task in 0..tasks {
                    let affected = whole_job || running_since[task].is_none();
                    if !affected {
                        continue;
                    }
                    close_running(
                        &mut slices,
                        &mut running_since,
                        task,
                        detected,
                        "cancelled for failover",
                    );
                    if back > at {
                        slices.push(Slice {
                            pid: pid(task),
                            tid: TASK_THREAD_TID,
                            start_us: at,
                            end_us: back,
                            name: format!("restoring checkpoint {checkpoint}"),
                            category: "recovery",
                            args: json!({"checkpoint": checkpoint}),
                        });
                    }
                    running_since[task] = Some(back);
                }
                instants.push(instant(
                    JOB_MANAGER_PID,
                    RECOVERY_TID,
                    at,
                    &format!("restart from checkpoint {checkpoint}"),
                ));
            }
            DataflowEvent::BarrierSent {
                time,
                channel,
                checkpoint,
                ..
            } => {
                let at = time.as_micros();
                barriers_in_flight
                    .entry((channel, checkpoint))
                    .or_default()
                    .push_back(at);
                let from = graph.channels[channel as usize].from;
                barrier_slices.insert((from, at, checkpoint, true), ());
            }
            DataflowEvent::BarrierReceived {
                time,
                channel,
                checkpoint,
                ..
            } => {
                let at = time.as_micros();
                let Some(sent) = barriers_in_flight
                    .get_mut(&(channel, checkpoint))
                    .and_then(VecDeque::pop_front)
                else {
                    continue;
                };
                let vertex = &graph.channels[channel as usize];
                barrier_slices.insert((vertex.to, at, checkpoint, false), ());
                if sent >= from_us && at <= to_us {
                    let id = next_flow_id;
                    next_flow_id += 1;
                    let name = format!("barrier {checkpoint}");
                    flows.push((
                        sent,
                        0,
                        json!({"ph": "s", "id": id, "name": name, "cat": "barrier",
                               "pid": pid(vertex.from), "tid": BARRIERS_TID, "ts": sent}),
                    ));
                    flows.push((
                        at,
                        1,
                        json!({"ph": "f", "bp": "e", "id": id, "name": name, "cat": "barrier",
                               "pid": pid(vertex.to), "tid": BARRIERS_TID, "ts": at}),
                    ));
                }
            }
            _ => {}
        }
    }
    for task in 0..tasks {
        close_running(
            &mut slices,
            &mut running_since,
            task,
            end_of_run,
            "end of run",
        );
    }
    for &(task, at, checkpoint, sent) in barrier_slices.keys() {
        slices.push(Slice {
            pid: pid(task),
            tid: BARRIERS_TID,
            start_us: at,
            end_us: at + 1,
            name: if sent {
                format!("barrier {checkpoint} sent")
            } else {
                format!("barrier {checkpoint} received")
            },
            category: "barrier",
            args: json!({"checkpoint": checkpoint}),
        });
    }

    // Window, nesting, and the bound.
    let mut windowed: Vec<Slice> = slices
        .into_iter()
        .filter(|s| s.start_us <= to_us && s.end_us >= from_us)
        .map(|mut s| {
            s.start_us = s.start_us.max(from_us);
            s.end_us = s.end_us.min(to_us).max(s.start_us);
            s
        })
        .filter(|s| s.end_us > s.start_us)
        .collect();
    nest(&mut windowed);
    let mut timed: Vec<(u64, u64, Value)> = windowed.into_iter().map(complete_event).collect();
    timed.extend(
        instants
            .into_iter()
            .filter(|e| (from_us..=to_us).contains(&e["ts"].as_u64().unwrap_or(0)))
            .map(|e| (e["ts"].as_u64().unwrap_or(0), 3, e)),
    );
    timed.extend(flows);
    // Stable: events of equal time and kind keep the (deterministic) order they were made in.
    timed.sort_by_key(|&(at, kind, _)| (at, kind));
    let room = max_events.saturating_sub(metadata.len());
    let truncated = timed.len() > room;
    let covered_to_us = if truncated {
        timed[room].0.saturating_sub(1)
    } else {
        to_us
    };
    timed.truncate(room);
    // Busy and backpressured periods (one or two per record) fill only the room that is left, so
    // they never push checkpoints and recoveries out of a bounded trace.
    let activity = activity_slices(run, end_of_run, from_us, to_us.min(covered_to_us), pid);
    let activity_room = room - timed.len();
    let activity_covered_to_us = if activity.len() > activity_room {
        Some(activity[activity_room].start_us.saturating_sub(1))
    } else {
        None
    };
    let mut activity_events: Vec<(u64, u64, Value)> = activity
        .into_iter()
        .take(activity_room)
        .map(complete_event)
        .collect();
    if !activity_events.is_empty() {
        timed.append(&mut activity_events);
        timed.sort_by_key(|&(at, kind, _)| (at, kind));
    }
    let mut events = metadata;
    events.extend(timed.into_iter().map(|(_, _, event)| event));
    ChromeTrace {
        events,
        truncated,
        covered_to_us,
        activity_covered_to_us,
        run_digest: None,
    }
}

/// The busy and backpressured periods of every task inside the window, in time order (idle is
/// the gap between them), from the run's activity changes ([`crate::dataflow::RunDetail::Traced`]).
fn activity_slices(
    run: &DataflowRun,
    end_of_run: u64,
    from_us: u64,
    to_us: u64,
    pid: impl Fn(usize) -> u64,
) -> Vec<Slice> {
    let tasks = run.graph.tasks.len();
    let mut since: Vec<Option<(u64, TaskActivity)>> = vec![None; tasks];
    let mut slices = Vec::new();
    let mut close = |task: usize, start: u64, activity: TaskActivity, end: u64| {
        let (start, end) = (start.max(from_us), end.min(to_us));
        let name = match activity {
            TaskActivity::Idle => return,
            TaskActivity::Busy => "busy",
            TaskActivity::Backpressured => "backpressured",
        };
        if end > start {
            slices.push(Slice {
                pid: pid(task),
                tid: ACTIVITY_TID,
                start_us: start,
                end_us: end,
                name: name.to_string(),
                category: "activity",
                args: Value::Null,
            });
        }
    };
    for change in &run.activity {
        let task = change.task as usize;
        if let Some((start, activity)) = since[task] {
            close(task, start, activity, change.at_us);
        }
        since[task] = Some((change.at_us, change.activity));
    }
    for (task, open) in since.iter().enumerate() {
        if let Some((start, activity)) = *open {
            close(task, start, activity, end_of_run);
        }
    }
    slices.sort_by_key(|s| (s.start_us, s.pid));
    slices
}

/// A slice as a complete ("X") trace event, keyed by (start, kind 2) for the time-ordered merge.
/// A slice without arguments has no `args` key at all (not `"args": null`).
fn complete_event(s: Slice) -> (u64, u64, Value) {
    let mut event = json!({"ph": "X", "name": s.name, "cat": s.category, "pid": s.pid,
                           "tid": s.tid, "ts": s.start_us, "dur": s.end_us - s.start_us});
    if !s.args.is_null() {
        event["args"] = s.args;
    }
    (s.start_us, 2, event)
}

/// Makes the slices of every track nest: a slice that starts inside another and would end after
/// it is cut at the other's end (slices on one track must not partly overlap).
fn nest(slices: &mut [Slice]) {
    slices.sort_by(|a, b| {
        (
            a.pid,
            a.tid,
            a.start_us,
            std::cmp::Reverse(a.end_us),
            &a.name,
        )
            .cmp(&(
                b.pid,
                b.tid,
                b.start_us,
                std::cmp::Reverse(b.end_us),
                &b.name,
            ))
    });
    let mut stack: Vec<(u64, u64, u64)> = Vec::new();
    for slice in slices.iter_mut() {
        while let Some(&(pid, tid, end)) = stack.last() {
            if pid != slice.pid || tid != slice.tid || end <= slice.start_us {
                stack.pop();
            } else {
                break;
            }
        }
        if let Some(&(_, _, end)) = stack.last() {
            slice.end_us = slice.end_us.min(end);
        }
        stack.push((slice.pid, slice.tid, slice.end_us));
    }
}

pub(super) fn process_name(pid: u64, name: &str) -> Value {
    json!({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}})
}

fn process_sort_index(pid: u64, sort_index: u64) -> Value {
    json!({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0,
           "args": {"sort_index": sort_index}})
}

pub(super) fn thread_name(pid: u64, tid: u64, name: &str) -> Value {
    json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}})
}

fn instant(pid: u64, tid: u64, at_us: u64, name: &str) -> Value {
    json!({"ph": "i", "s": "t", "name": name, "pid": pid, "tid": tid, "ts": at_us})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(tid: u64, start_us: u64, end_us: u64) -> Slice {
        Slice {
            pid: 1,
            tid,
            start_us,
            end_us,
            name: String::new(),
            category: "t",
            args: Value::Null,
        }
    }

    #[test]
    fn a_slice_that_would_overlap_its_parent_is_cut_at_the_parent_end() {
        let mut slices = vec![slice(1, 0, 100), slice(1, 90, 120), slice(2, 90, 120)];
        nest(&mut slices);
        let ends: Vec<(u64, u64)> = slices.iter().map(|s| (s.tid, s.end_us)).collect();
        assert_eq!(ends, vec![(1, 100), (1, 100), (2, 120)]);
    }
}
