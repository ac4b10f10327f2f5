//! Importing the COS418 Chandy-Lamport assignment (Princeton's distributed-systems course, also
//! used by many others): its `.top`, `.events` and `.snap` test files.
//!
//! The assignment's formats, as its test helpers read them:
//! - **`.top`**: the number of servers N; then N lines `ID TOKENS`; then one line `SRC DEST` per
//!   unidirectional link. A link from a server to itself is ignored, a repeated one counts once.
//! - **`.events`**: `send SRC DEST TOKENS`, `snapshot ID`, and `tick [N]` (N time steps, default
//!   1). Lines between two ticks happen at the same step.
//! - **`.snap`**: a snapshot id; then `ID TOKENS` per server; then `SRC DEST token(N)` per message
//!   recorded in a channel, in the order recorded.
//!
//! Lines starting with `#` and blank lines are skipped in all three.
//!
//! How the import maps them onto a scenario:
//! - A tick is `tick_us` of virtual time; the lines after the k-th tick happen at k ticks.
//! - COS418's simulator delivers first and injects afterwards: each tick delivers what is due,
//!   then the events file's next lines run. The scenario says the same with
//!   `"scripted_actions_run": "after_deliveries"`: an action at an instant runs after every
//!   delivery due at that instant (and what those deliveries cause then).
//! - Every message, token or marker, takes `latency_ticks` ticks (default 1). **This is where
//!   the model differs:** COS418 draws each message's delay at random (1 to 5 steps, from Go's
//!   `math/rand` with the test's fixed seed) and delivers at most one message per sending server
//!   per step; snapsim does neither. A recorded state that depends on those draws can come out
//!   differently here. To reproduce one, give a marker the delay the reference run drew
//!   ([`MarkerLatency`]: the scripted snapshot's `marker_latency`).
//! - COS418 numbers snapshots from 0, snapsim from 1: COS418's snapshot k is snapsim's k + 1.
//!
//! [`compare`] then sets a run's recorded states beside the `.snap` files: the tokens of every
//! server, and each channel's recorded messages in order. (COS418's own test compares the
//! messages per destination; per channel is the finer comparison, and what the algorithm
//! defines.)

use crate::report::SnapshotReport;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt;

/// Most ticks an events file may span, so that virtual time stays far from overflow.
const MAX_TICKS: u64 = 1_000_000_000;

/// A line of an input file that cannot be read: the file, the line (1-based) and what was
/// expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    /// The file, as named on the command line.
    pub file: String,
    /// The line, 1-based; 0 for the file as a whole.
    pub line: usize,
    /// What was wrong, and what the format expects.
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for ImportError {}

/// The servers and links of a `.top` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Each server and the tokens it starts with, in file order.
    pub servers: Vec<(String, i64)>,
    /// Each unidirectional link (source, destination), in file order, without repeats.
    pub links: Vec<(String, String)>,
}

/// One line of an `.events` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cos418Event {
    /// `send SRC DEST TOKENS`.
    Send {
        from: String,
        to: String,
        tokens: i64,
    },
    /// `snapshot ID`: the server starts a snapshot.
    Snapshot { initiator: String },
    /// `tick N`: N time steps pass.
    Tick { ticks: u64 },
}

/// A `.snap` file: the recorded state COS418's reference solution produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapFile {
    /// COS418's snapshot id (from 0).
    pub id: u64,
    /// Each server's recorded tokens.
    pub tokens: Vec<(String, i64)>,
    /// Each recorded message: source, destination, tokens — in file order.
    pub messages: Vec<(String, String, i64)>,
}

/// A marker of one snapshot that takes a latency of its own: `SNAPSHOT:FROM->TO=TICKS` on the
/// command line, COS418's snapshot id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerLatency {
    /// COS418's snapshot id (from 0).
    pub snapshot: u64,
    /// The channel's source.
    pub from: String,
    /// The channel's destination.
    pub to: String,
    /// Its latency in ticks.
    pub ticks: u64,
}

impl MarkerLatency {
    /// Parses `SNAPSHOT:FROM->TO=TICKS`, e.g. `0:N2->N1=3`.
    pub fn parse(text: &str) -> Result<MarkerLatency, String> {
        let wrong = || format!("\"{text}\": write SNAPSHOT:FROM->TO=TICKS, e.g. 0:N2->N1=3");
        let (snapshot, rest) = text.split_once(':').ok_or_else(wrong)?;
        let (channel, ticks) = rest.split_once('=').ok_or_else(wrong)?;
        let (from, to) = channel.split_once("->").ok_or_else(wrong)?;
        let snapshot = snapshot.trim().parse().map_err(|_| wrong())?;
        let ticks: u64 = ticks.trim().parse().map_err(|_| wrong())?;
        if ticks == 0 || ticks > MAX_TICKS {
            return Err(format!("\"{text}\": a latency is 1 to {MAX_TICKS} ticks"));
        }
        Ok(MarkerLatency {
            snapshot,
            from: from.trim().to_string(),
            to: to.trim().to_string(),
            ticks,
        })
    }
}

/// How the import maps COS418's steps onto virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// Virtual time of one tick (µs).
    pub tick_us: u64,
    /// Ticks every message takes unless a marker has its own.
    pub latency_ticks: u64,
    /// Markers with a latency of their own.
    pub marker_latencies: Vec<MarkerLatency>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            tick_us: 1000,
            latency_ticks: 1,
            marker_latencies: Vec::new(),
        }
    }
}

/// The meaningful lines of a file: (1-based line number, whitespace-separated fields).
fn lines(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(number, line)| (number, line.split_whitespace().collect()))
}

fn tokens_of(text: &str) -> Option<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|t| (0..=crate::scenario::MAX_TOKENS).contains(t))
}

/// Reads a `.top` file.
pub fn parse_topology(text: &str, file: &str) -> Result<Topology, ImportError> {
    let error = |line: usize, message: String| ImportError {
        file: file.to_string(),
        line,
        message,
    };
    let mut servers: Vec<(String, i64)> = Vec::new();
    let mut links: Vec<(String, String)> = Vec::new();
    let mut expected: Option<usize> = None;
    let mut seen_links = BTreeSet::new();
    for (number, fields) in lines(text) {
        let Some(count) = expected else {
            let count = match fields.as_slice() {
                [count] => count.parse::<usize>().ok(),
                _ => None,
            };
            match count {
                Some(count @ 1..=10_000) => expected = Some(count),
                _ => {
                    return Err(error(
                        number,
                        format!(
                            "expected the number of servers (1 to 10000), got \"{}\"",
                            fields.join(" ")
                        ),
                    ));
                }
            }
            continue;
        };
        let [a, b] = fields.as_slice() else {
            return Err(error(
                number,
                format!(
                    "expected two fields (`ID TOKENS` for a server, `SRC DEST` for a link), got \"{}\"",
                    fields.join(" ")
                ),
            ));
        };
        if servers.len() < count {
            let Some(tokens) = tokens_of(b) else {
                return Err(error(
                    number,
                    format!(
                        "server {a}: expected its tokens, a whole number from 0 to {}, got \"{b}\"",
                        crate::scenario::MAX_TOKENS
                    ),
                ));
            };
            if servers.iter().any(|(name, _)| name == a) {
                return Err(error(number, format!("server {a} is listed twice")));
            }
            servers.push((a.to_string(), tokens));
            continue;
        }
        for end in [a, b] {
            if !servers.iter().any(|(name, _)| name == end) {
                return Err(error(
                    number,
                    format!("link {a} {b}: there is no server {end} among the {count} listed"),
                ));
            }
        }
        // COS418 ignores a link to oneself and keeps one link per pair.
        if a != b && seen_links.insert((a.to_string(), b.to_string())) {
            links.push((a.to_string(), b.to_string()));
        }
    }
    match expected {
        None => Err(error(
            0,
            "the file is empty: expected the number of servers".into(),
        )),
        Some(count) if servers.len() < count => Err(error(
            0,
            format!(
                "the file announces {count} servers but lists {}",
                servers.len()
            ),
        )),
        Some(_) => Ok(Topology { servers, links }),
    }
}

/// Reads an `.events` file.
pub fn parse_events(text: &str, file: &str) -> Result<Vec<Cos418Event>, ImportError> {
    let error = |line: usize, message: String| ImportError {
        file: file.to_string(),
        line,
        message,
    };
    let mut events = Vec::new();
    let mut ticks_total: u64 = 0;
    for (number, fields) in lines(text) {
        let event = match fields.as_slice() {
            ["send", from, to, tokens] => match tokens.parse::<i64>() {
                Ok(tokens @ 1..=crate::scenario::MAX_TOKENS) => Cos418Event::Send {
                    from: from.to_string(),
                    to: to.to_string(),
                    tokens,
                },
                _ => {
                    return Err(error(
                        number,
                        format!(
                            "send {from} {to}: expected a positive whole number of tokens, got \"{tokens}\""
                        ),
                    ));
                }
            },
            ["snapshot", initiator] => Cos418Event::Snapshot {
                initiator: initiator.to_string(),
            },
            ["tick"] => Cos418Event::Tick { ticks: 1 },
            ["tick", count] => match count.parse::<u64>() {
                Ok(ticks) if ticks <= MAX_TICKS => Cos418Event::Tick { ticks },
                _ => {
                    return Err(error(
                        number,
                        format!(
                            "tick: expected a number of ticks from 0 to {MAX_TICKS}, got \"{count}\""
                        ),
                    ));
                }
            },
            _ => {
                return Err(error(
                    number,
                    format!(
                        "expected `send SRC DEST TOKENS`, `snapshot ID` or `tick [N]`, got \"{}\"",
                        fields.join(" ")
                    ),
                ));
            }
        };
        if let Cos418Event::Tick { ticks } = event {
            ticks_total += ticks;
            if ticks_total > MAX_TICKS {
                return Err(error(
                    number,
                    format!("the file spans more than {MAX_TICKS} ticks"),
                ));
            }
        }
        events.push(event);
    }
    Ok(events)
}

/// Reads a `.snap` file.
pub fn parse_snap(text: &str, file: &str) -> Result<SnapFile, ImportError> {
    let error = |line: usize, message: String| ImportError {
        file: file.to_string(),
        line,
        message,
    };
    let mut id = None;
    let mut tokens = Vec::new();
    let mut messages = Vec::new();
    for (number, fields) in lines(text) {
        match fields.as_slice() {
            [single] => match single.parse::<u64>() {
                Ok(value) if id.is_none() => id = Some(value),
                _ => {
                    return Err(error(
                        number,
                        format!(
                            "expected the snapshot id once, on the first line, got \"{single}\""
                        ),
                    ));
                }
            },
            [server, count] => match tokens_of(count) {
                Some(count) => tokens.push((server.to_string(), count)),
                None => {
                    return Err(error(
                        number,
                        format!("server {server}: expected its recorded tokens, got \"{count}\""),
                    ));
                }
            },
            [from, to, message] => {
                let count = message
                    .strip_prefix("token(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .and_then(tokens_of);
                let Some(count) = count else {
                    return Err(error(
                        number,
                        format!("expected a recorded message written token(N), got \"{message}\""),
                    ));
                };
                messages.push((from.to_string(), to.to_string(), count));
            }
            _ => {
                return Err(error(
                    number,
                    format!(
                        "expected an id, `ID TOKENS` or `SRC DEST token(N)`, got \"{}\"",
                        fields.join(" ")
                    ),
                ));
            }
        }
    }
    let Some(id) = id else {
        return Err(error(0, "no snapshot id: the first line is the id".into()));
    };
    Ok(SnapFile {
        id,
        tokens,
        messages,
    })
}

/// The scenario document for a topology and its events. `names` labels the input files in the
/// description. Errors name the events file's line where a server or link does not exist.
pub fn scenario(
    topology: &Topology,
    events: &[Cos418Event],
    options: &ImportOptions,
    name: &str,
    names: (&str, &str),
) -> Result<Value, String> {
    let has_server = |id: &str| topology.servers.iter().any(|(name, _)| name == id);
    let has_link = |from: &str, to: &str| topology.links.iter().any(|(a, b)| a == from && b == to);
    let ticks_us = |ticks: u64| format!("{}us", ticks.saturating_mul(options.tick_us));
    let mut now_ticks: u64 = 0;
    let mut snapshots_started: u64 = 0;
    let mut script = Vec::new();
    for event in events {
        match event {
            Cos418Event::Tick { ticks } => now_ticks += ticks,
            Cos418Event::Send { from, to, tokens } => {
                if !has_link(from, to) {
                    return Err(format!(
                        "{}: send {from} {to} {tokens}: the topology {} has no link {from} {to}",
                        names.1, names.0
                    ));
                }
                script.push(json!({
                    "at": ticks_us(now_ticks),
                    "send": {"from": from, "to": to, "tokens": tokens},
                }));
            }
            Cos418Event::Snapshot { initiator } => {
                if !has_server(initiator) {
                    return Err(format!(
                        "{}: snapshot {initiator}: the topology {} has no server {initiator}",
                        names.1, names.0
                    ));
                }
                let mut action = json!({"at": ticks_us(now_ticks), "snapshot": initiator});
                let own: serde_json::Map<String, Value> = options
                    .marker_latencies
                    .iter()
                    .filter(|m| m.snapshot == snapshots_started)
                    .map(|m| (format!("{}->{}", m.from, m.to), json!(ticks_us(m.ticks))))
                    .collect();
                if !own.is_empty() {
                    action["marker_latency"] = Value::Object(own);
                }
                script.push(action);
                snapshots_started += 1;
            }
        }
    }
    if let Some(unused) = options
        .marker_latencies
        .iter()
        .find(|m| m.snapshot >= snapshots_started)
    {
        return Err(format!(
            "--marker-latency {}:{}->{}: {} starts {snapshots_started} snapshot(s), numbered from 0",
            unused.snapshot, unused.from, unused.to, names.1
        ));
    }
    let marker_note = if options.marker_latencies.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = options
            .marker_latencies
            .iter()
            .map(|m| {
                format!(
                    "snapshot {}'s marker {}->{} takes {} tick(s)",
                    m.snapshot, m.from, m.to, m.ticks
                )
            })
            .collect();
        format!(" Given their own latency: {}.", list.join("; "))
    };
    let description = format!(
        "Imported from the COS418 assignment's {} and {}. A tick is {}; every message takes {} tick(s) \
         (COS418 draws 1 to 5 at random, so a recorded state that depends on those draws can differ); \
         as in COS418, the lines after a tick run after that tick's deliveries. COS418's snapshot k is \
         snapsim's snapshot k + 1.{marker_note}",
        names.0,
        names.1,
        crate::engine::SimTime::from_micros(options.tick_us),
        options.latency_ticks,
    );
    Ok(json!({
        "name": name,
        "description": description,
        "processes": topology
            .servers
            .iter()
            .map(|(name, tokens)| json!({"name": name, "tokens": tokens}))
            .collect::<Vec<_>>(),
        "channels": topology
            .links
            .iter()
            .map(|(from, to)| json!({"from": from, "to": to}))
            .collect::<Vec<_>>(),
        "channel_defaults": {"latency": ticks_us(options.latency_ticks)},
        "scripted_actions_run": "after_deliveries",
        "workload": {"scripted": script},
    }))
}

/// One `.snap` file set beside the run's recorded state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// COS418's snapshot id.
    pub id: u64,
    /// The `.snap` file, as named.
    pub file: String,
    /// Every difference, in words; empty when the run recorded exactly this state.
    pub differences: Vec<String>,
}

impl Comparison {
    /// True when the run recorded the `.snap` file's state exactly.
    pub fn matches(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Compares `snap` (read from `file`) with the run's completed snapshots.
pub fn compare(snap: &SnapFile, file: &str, snapshots: &[SnapshotReport]) -> Comparison {
    let mut differences = Vec::new();
    match snapshots.iter().find(|s| u64::from(s.id) == snap.id + 1) {
        None => differences.push(format!(
            "the run completed no snapshot {} (COS418's {})",
            snap.id + 1,
            snap.id
        )),
        Some(ours) => {
            for (server, tokens) in &snap.tokens {
                match ours.processes.iter().find(|p| &p.process == server) {
                    None => differences.push(format!("the run has no server {server}")),
                    Some(p) if p.tokens != *tokens => differences.push(format!(
                        "{server} recorded {} token(s), the .snap file has {tokens}",
                        p.tokens
                    )),
                    Some(_) => {}
                }
            }
            for p in &ours.processes {
                if !snap.tokens.iter().any(|(server, _)| server == &p.process) {
                    differences.push(format!("the .snap file has no line for {}", p.process));
                }
            }
            let mut channels: BTreeSet<String> = snap
                .messages
                .iter()
                .map(|(from, to, _)| format!("{from}->{to}"))
                .collect();
            channels.extend(ours.channels.iter().map(|c| c.channel.clone()));
            for channel in channels {
                let expected: Vec<i64> = snap
                    .messages
                    .iter()
                    .filter(|(from, to, _)| format!("{from}->{to}") == channel)
                    .map(|m| m.2)
                    .collect();
                let recorded: Vec<i64> = ours
                    .channels
                    .iter()
                    .filter(|c| c.channel == channel)
                    .flat_map(|c| c.messages.iter().map(|m| m.tokens))
                    .collect();
                if expected != recorded {
                    let list = |tokens: &[i64]| {
                        if tokens.is_empty() {
                            "nothing".to_string()
                        } else {
                            tokens
                                .iter()
                                .map(|t| format!("token({t})"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    };
                    differences.push(format!(
                        "channel {channel} recorded {}, the .snap file has {}",
                        list(&recorded),
                        list(&expected)
                    ));
                }
            }
        }
    }
    Comparison {
        id: snap.id,
        file: file.to_string(),
        differences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topology_lists_servers_then_links_and_skips_comments_self_links_and_repeats() {
        let top = "# two servers\n2\nN1 1\nN2 0\nN1 N2\nN2 N1\nN1 N1\nN1 N2\n";
        let topology = parse_topology(top, "2nodes.top").unwrap();
        assert_eq!(
            topology.servers,
            vec![("N1".to_string(), 1), ("N2".to_string(), 0)]
        );
        assert_eq!(topology.links.len(), 2);
        let error = parse_topology("2\nN1 1\nN1 3\n", "bad.top").unwrap_err();
        assert_eq!(error.to_string(), "bad.top:3: server N1 is listed twice");
        let error = parse_topology("2\nN1 1\nN2 3\nN1 N3\n", "bad.top").unwrap_err();
        assert_eq!(
            error.to_string(),
            "bad.top:4: link N1 N3: there is no server N3 among the 2 listed"
        );
        let error = parse_topology("3\nN1 1\n", "short.top").unwrap_err();
        assert_eq!(
            error.to_string(),
            "short.top: the file announces 3 servers but lists 1"
        );
    }

    #[test]
    fn bad_lines_name_the_file_the_line_and_what_the_format_expects() {
        let error = parse_events("send N1 N2 1\nsnap N1\n", "x.events").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.message.contains("`tick [N]`"), "{error}");
        let error = parse_events("send N1 N2 -3\n", "x.events").unwrap_err();
        assert!(error.message.contains("positive whole number"), "{error}");
        let error = parse_events("tick 99999999999\n", "x.events").unwrap_err();
        assert!(error.message.contains("number of ticks"), "{error}");
        let error = parse_snap("0\nN1 0\nN1 N2 marker\n", "x.snap").unwrap_err();
        assert!(error.message.contains("token(N)"), "{error}");
        assert!(MarkerLatency::parse("0:N2-N1=3").is_err());
        assert_eq!(
            MarkerLatency::parse("1:N2->N1=3").unwrap(),
            MarkerLatency {
                snapshot: 1,
                from: "N2".into(),
                to: "N1".into(),
                ticks: 3
            }
        );
    }

    #[test]
    fn events_become_scripted_actions_at_their_tick() {
        let topology = parse_topology("2\nN1 1\nN2 0\nN1 N2\nN2 N1\n", "2nodes.top").unwrap();
        let events = parse_events("send N1 N2 1\ntick 2\nsnapshot N2\n", "e.events").unwrap();
        let options = ImportOptions {
            marker_latencies: vec![MarkerLatency::parse("0:N2->N1=3").unwrap()],
            ..ImportOptions::default()
        };
        let document = scenario(
            &topology,
            &events,
            &options,
            "x",
            ("2nodes.top", "e.events"),
        )
        .unwrap();
        let script = document["workload"]["scripted"].as_array().unwrap();
        assert_eq!(script[0]["at"], "0us");
        assert_eq!(script[1]["at"], "2000us");
        assert_eq!(script[1]["marker_latency"]["N2->N1"], "3000us");
        assert_eq!(document["scripted_actions_run"], "after_deliveries");
        let missing = parse_events("send N1 N3 1\n", "e.events").unwrap();
        assert!(
            scenario(
                &topology,
                &missing,
                &options,
                "x",
                ("2nodes.top", "e.events")
            )
            .unwrap_err()
            .contains("no link N1 N3")
        );
    }
}
