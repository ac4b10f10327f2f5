//! The Perfetto trace of a process-graph (Chandy-Lamport) run: a track per process, with its
//! application messages on one thread and its snapshot work on another — markers sent and
//! received, flow arrows from each send to its receipt, and for each snapshot a slice from the
//! moment the process recorded its state until a marker closed its last incoming channel (the
//! span during which it records channel state). Same file format as the dataflow trace
//! ([`super::perfetto`]): open it in ui.perfetto.dev.

use super::perfetto::{ChromeTrace, process_name, thread_name};
use crate::chandy_lamport::ProcessGraphRun;
use crate::topology::{ChannelIndex, ProcessGraph};
use crate::trace::ProcessEvent;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};

const MESSAGES_TID: u64 = 1;
const SNAPSHOT_TID: u64 = 2;

/// Builds the trace of the window `from_us..to_us` of a process-graph run, with at most
/// `max_events` timed events (then it stops, and says up to when it is complete).
pub fn chrome_trace_from_process_graph_run(
    run: &ProcessGraphRun,
    graph: &ProcessGraph,
    from_us: u64,
    to_us: u64,
    max_events: usize,
) -> ChromeTrace {
    let pid = |process: usize| process as u64 + 1;
    let mut metadata = Vec::new();
    for (index, process) in graph.processes.iter().enumerate() {
        metadata.push(process_name(pid(index), &process.name));
        metadata.push(thread_name(pid(index), MESSAGES_TID, "messages"));
        metadata.push(thread_name(pid(index), SNAPSHOT_TID, "snapshot"));
    }
    let incoming_count: Vec<usize> = graph.incoming().iter().map(Vec::len).collect();
    let mut timed: Vec<(u64, Value)> = Vec::new();
    let mut sends: InFlight = BTreeMap::new();
    let mut next_flow = 0u64;
    // Per (process, snapshot): when it recorded and how many incoming channels are still open.
    let mut recording: BTreeMap<(usize, u32), (u64, i64, usize)> = BTreeMap::new();
    // The last marker received: (process, snapshot, at). A process that records because of a
    // marker records right after it, and that marker's channel is already closed (empty).
    let mut last_marker: Option<(usize, u32, u64)> = None;
    let mut truncated = false;
    let mut covered_to_us = to_us;
    let zero_slice = |p: usize, tid: u64, at: u64, name: String, cat: &str| json!({"ph": "X", "name": name, "cat": cat, "pid": pid(p), "tid": tid, "ts": at, "dur": 0});
    let inside = |at: u64| (from_us..=to_us).contains(&at);
    for event in run.trace.events() {
        let at = event.time().as_micros();
        if at > to_us {
            break;
        }
        if timed.len() >= max_events {
            truncated = true;
            covered_to_us = at;
            break;
        }
        let channel_ends = |c: u32| {
            let channel = &graph.channels[c as ChannelIndex];
            (channel.from, channel.to)
        };
        match *event {
            ProcessEvent::Sent {
                channel,
                message,
                tokens,
                ..
            } => {
                let (from, to) = channel_ends(channel);
                if inside(at) {
                    let name = format!("send #{message} ({tokens}) → {}", graph.processes[to].name);
                    timed.push((at, zero_slice(from, MESSAGES_TID, at, name, "message")));
                }
                sends
                    .entry((channel, false))
                    .or_default()
                    .push_back((at, message));
            }
            ProcessEvent::Received {
                channel,
                message,
                tokens,
                ..
            } => {
                let (from, to) = channel_ends(channel);
                let sent = take_send(&mut sends, (channel, false), message);
                if inside(at) {
                    let name = format!(
                        "receive #{message} ({tokens}) ← {}",
                        graph.processes[from].name
                    );
                    timed.push((at, zero_slice(to, MESSAGES_TID, at, name, "message")));
                    if let Some(sent) = sent.filter(|&s| s >= from_us) {
                        let name = format!("#{message}");
                        let ends = ((pid(from), sent), (pid(to), at));
                        push_arrow(
                            &mut timed,
                            &mut next_flow,
                            &name,
                            "message",
                            MESSAGES_TID,
                            ends,
                        );
                    }
                }
            }
            ProcessEvent::Lost {
                channel, message, ..
            } => {
                let (from, _) = channel_ends(channel);
                take_send(&mut sends, (channel, false), message);
                if inside(at) {
                    let name = format!(
                        "#{message} lost in transit on {}",
                        graph.channel_name(channel as ChannelIndex)
                    );
                    timed.push((at, zero_slice(from, MESSAGES_TID, at, name, "message")));
                }
            }
            ProcessEvent::MarkerSent {
                channel, snapshot, ..
            } => {
                let (from, to) = channel_ends(channel);
                if inside(at) {
                    let name = format!("marker {snapshot} → {}", graph.processes[to].name);
                    timed.push((at, zero_slice(from, SNAPSHOT_TID, at, name, "marker")));
                }
                sends
                    .entry((channel, true))
                    .or_default()
                    .push_back((at, u64::from(snapshot)));
            }
            ProcessEvent::MarkerLost {
                channel, snapshot, ..
            } => {
                take_send(&mut sends, (channel, true), u64::from(snapshot));
            }
            ProcessEvent::MarkerReceived {
                channel, snapshot, ..
            } => {
                let (from, to) = channel_ends(channel);
                let sent = take_send(&mut sends, (channel, true), u64::from(snapshot));
                if inside(at) {
                    let name = format!("marker {snapshot} ← {}", graph.processes[from].name);
                    timed.push((at, zero_slice(to, SNAPSHOT_TID, at, name, "marker")));
                    if let Some(sent) = sent.filter(|&s| s >= from_us) {
                        let name = format!("marker {snapshot}");
                        let ends = ((pid(from), sent), (pid(to), at));
                        push_arrow(
                            &mut timed,
                            &mut next_flow,
                            &name,
                            "marker",
                            SNAPSHOT_TID,
                            ends,
                        );
                    }
                }
                // A marker before the process recorded makes it record (the next event); the
                // channels it still records are counted from its recording on.
                last_marker = Some((to, snapshot, at));
                if let Some(entry) = recording.get_mut(&(to, snapshot)) {
                    entry.2 = entry.2.saturating_sub(1);
                    if entry.2 == 0 {
                        let (start, tokens, _) =
                            recording.remove(&(to, snapshot)).expect("present");
                        push_recording(
                            &mut timed,
                            pid(to),
                            snapshot,
                            start,
                            at,
                            tokens,
                            from_us,
                            to_us,
                        );
                    }
                }
            }
            ProcessEvent::StateRecorded {
                process,
                snapshot,
                tokens,
                ..
            } => {
                let process = process as usize;
                let triggered_by_marker = last_marker == Some((process, snapshot, at));
                let open = incoming_count[process] - usize::from(triggered_by_marker);
                if open == 0 {
                    push_recording(
                        &mut timed,
                        pid(process),
                        snapshot,
                        at,
                        at,
                        tokens,
                        from_us,
                        to_us,
                    );
                } else {
                    recording.insert((process, snapshot), (at, tokens, open));
                }
            }
            ProcessEvent::SnapshotInitiated {
                process, snapshot, ..
            } => {
                if inside(at) {
                    timed.push((at, json!({"ph": "i", "s": "p", "name": format!("snapshot {snapshot} initiated"),
                        "pid": pid(process as usize), "tid": SNAPSHOT_TID, "ts": at})));
                }
            }
            ProcessEvent::SnapshotCompleted { snapshot, .. } => {
                if inside(at) {
                    timed.push((
                        at,
                        json!({"ph": "i", "s": "g", "name": format!("snapshot {snapshot} complete"),
                        "ts": at, "pid": 1, "tid": SNAPSHOT_TID}),
                    ));
                }
            }
        }
    }
    // Recordings still open at the end of the window.
    for ((process, snapshot), (start, tokens, _)) in recording {
        push_recording(
            &mut timed,
            pid(process),
            snapshot,
            start,
            covered_to_us,
            tokens,
            from_us,
            to_us,
        );
    }
    timed.sort_by_key(|(at, _)| *at);
    let mut events = metadata;
    events.extend(timed.into_iter().map(|(_, e)| e));
    ChromeTrace {
        events,
        truncated,
        covered_to_us,
        activity_covered_to_us: None,
        run_digest: None,
    }
}

/// Items sent on a channel and not yet arrived: (channel, is a marker) → (send time, message id
/// or snapshot id), in send order.
type InFlight = BTreeMap<(u32, bool), VecDeque<(u64, u64)>>;

/// Removes `item` from what is in flight on `key`; returns when it was sent.
fn take_send(sends: &mut InFlight, key: (u32, bool), item: u64) -> Option<u64> {
    let queue = sends.get_mut(&key)?;
    let index = queue.iter().position(|&(_, i)| i == item)?;
    queue.remove(index).map(|(sent, _)| sent)
}

/// A flow arrow from `(pid, time)` to `(pid, time)` on thread `tid`.
fn push_arrow(
    timed: &mut Vec<(u64, Value)>,
    next_flow: &mut u64,
    name: &str,
    category: &str,
    tid: u64,
    ((from_pid, sent), (to_pid, at)): ((u64, u64), (u64, u64)),
) {
    let id = *next_flow;
    *next_flow += 1;
    timed.push((
        sent,
        json!({"ph": "s", "id": id, "name": name, "cat": category, "pid": from_pid, "tid": tid, "ts": sent}),
    ));
    timed.push((
        at,
        json!({"ph": "f", "bp": "e", "id": id, "name": name, "cat": category, "pid": to_pid, "tid": tid, "ts": at}),
    ));
}

/// The slice of a process's part of a snapshot, clipped to the window.
#[allow(clippy::too_many_arguments)]
fn push_recording(
    timed: &mut Vec<(u64, Value)>,
    pid: u64,
    snapshot: u32,
    start: u64,
    end: u64,
    tokens: i64,
    from_us: u64,
    to_us: u64,
) {
    let (a, b) = (start.max(from_us), end.min(to_us));
    if b < a {
        return;
    }
    timed.push((a, json!({"ph": "X", "name": format!("snapshot {snapshot}: recorded {tokens} tokens, recording channels"),
        "cat": "snapshot", "pid": pid, "tid": SNAPSHOT_TID, "ts": a, "dur": b - a,
        "args": {"snapshot": snapshot, "recorded_tokens": tokens}})));
}
