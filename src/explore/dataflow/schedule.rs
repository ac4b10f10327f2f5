//! A schedule of the dataflow explorer written down as a file, and replayed: `snapsim explore
//! --dataflow` writes every counterexample it finds as one, `snapsim run` replays it step by step
//! to the same violation, and `snapsim diagram` draws it.
//!
//! **What the replay is.** The steps run through [`DataflowSystem`] — the explorer's job, whose
//! barrier handlers, channel recordings, coordinator, commit rule and restore rule are the
//! simulator's own state machines — one step after the other, each checked to be enabled where
//! it comes, and the explorer's invariants are checked after every step. It is *not* the timed
//! simulation: to force one schedule on the simulator, every buffer flush, credit, core and
//! RPC latency of its network stack would have to be scripted. The untimed job is the same one
//! the explorer proved things about, so the replay shows exactly the run it found. In the
//! diagram, step `k` happens at `k` ms.
//!
//! The file (a `dataflow_schedule` section beside `name` and `description`):
//!
//! ```json
//! {"name": "…", "description": "…",
//!  "dataflow_schedule": {"sources": 2, "records_per_source": 1, "checkpoints": 1, "crash": false,
//!    "protocol": "unaligned", "variant": "unaligned_forgets_channel_state",
//!    "steps": [{"step": "trigger"}, {"step": "trigger_arrives", "source": "source[0]"},
//!              {"step": "emit", "source": "source[1]"}, {"step": "arrive", "channel": "source[0]→keyed"},
//!              {"step": "read", "channel": "keyed→sink"}, {"step": "timeout_passes", "checkpoint": 1},
//!              {"step": "timer_fires", "task": "keyed", "checkpoint": 1},
//!              {"step": "ack_arrives", "task": "sink", "checkpoint": 1},
//!              {"step": "notice_arrives", "checkpoint": 1}, {"step": "crash"}]}}
//! ```
//!
//! Each step may carry `"says"`, what it does in words; it is written for the reader and not
//! read back (the replay says what each step does).

use super::{DataflowJob, DataflowSystem, Item, JobState, RecordId, Step, next_readable};
use crate::checkpoint::barrier::CheckpointId;
use crate::checkpoint::{DataflowVariant, SnapshotProtocol};
use crate::explore::TransitionSystem;
use crate::scenario::ScenarioError;
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::path::Path;

/// The key that makes a file a dataflow schedule rather than a scenario.
pub const SECTION: &str = "dataflow_schedule";

/// The barrier modes by their `--dataflow` names.
pub const MODES: [&str; 5] = [
    "aligned",
    "unaligned",
    "at-least-once",
    "aligned-with-timeout",
    "chandy-lamport",
];

/// The protocol a `--dataflow` mode name stands for. Time disappears, so aligned-with-timeout's
/// timeout is a step that may come at any point after the trigger (its length plays no part).
pub fn protocol_named(name: &str) -> Option<SnapshotProtocol> {
    Some(match name {
        "aligned" => SnapshotProtocol::Aligned,
        "unaligned" => SnapshotProtocol::Unaligned,
        "at-least-once" => SnapshotProtocol::AtLeastOnce,
        "aligned-with-timeout" => SnapshotProtocol::AlignedWithTimeout { timeout_us: 0 },
        "chandy-lamport" => SnapshotProtocol::ChandyLamport,
        _ => return None,
    })
}

/// The `--dataflow` name of a protocol (the inverse of [`protocol_named`]).
pub fn protocol_name(protocol: SnapshotProtocol) -> &'static str {
    match protocol {
        SnapshotProtocol::Aligned => "aligned",
        SnapshotProtocol::Unaligned => "unaligned",
        SnapshotProtocol::AtLeastOnce => "at-least-once",
        SnapshotProtocol::AlignedWithTimeout { .. } => "aligned-with-timeout",
        SnapshotProtocol::ChandyLamport => "chandy-lamport",
        SnapshotProtocol::StopTheWorld => "stop-the-world",
    }
}

/// The name of a variant the explorer drives, as `--variant` takes it.
pub fn variant_name(variant: DataflowVariant) -> &'static str {
    DataflowVariant::ALL
        .iter()
        .find(|(_, v)| *v == variant)
        .map_or("correct", |(name, _)| name)
}

/// The variant the explorer drives of this `--variant` name, or what the names are.
pub fn variant_named(name: &str) -> Result<DataflowVariant, String> {
    DataflowVariant::ALL
        .iter()
        .find(|(n, v)| *n == name && DataflowJob::VARIANTS.contains(v))
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            let names: Vec<&str> = DataflowVariant::ALL
                .iter()
                .filter(|(_, v)| DataflowJob::VARIANTS.contains(v))
                .map(|(n, _)| *n)
                .collect();
            format!("expected one of {}", names.join(", "))
        })
}

/// Is `text` a dataflow schedule (a JSON object with a `dataflow_schedule` section)?
pub fn is_schedule(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.as_object().map(|o| o.contains_key(SECTION)))
        .unwrap_or(false)
}

/// One explored schedule of a small job: the job, and its steps in order.
#[derive(Clone, Debug, PartialEq)]
pub struct DataflowSchedule {
    /// Output directory name.
    pub name: String,
    /// What the schedule shows.
    pub description: String,
    /// The job explored.
    pub job: DataflowJob,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One replayed step: what it did, and what the job holds after it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ReplayedStep {
    /// The step in words.
    pub says: String,
    /// The keyed state, the sink's output and the snapshots after it.
    pub state: String,
}

/// A replayed schedule: every step, the first violation, and what travelled where.
#[derive(Clone, Debug, PartialEq)]
pub struct Replay {
    /// The steps, in order.
    pub steps: Vec<ReplayedStep>,
    /// The first violation: after which step (counted from 1), and what.
    pub violation: Option<(usize, String)>,
    /// What the diagram draws.
    pub timeline: Timeline,
}

/// What a replay looked like, for a space-time diagram: lines are the coordinator (0) and the
/// tasks (1 + task index); time is the step number.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    /// The lines' names, top to bottom.
    pub lines: Vec<String>,
    /// Records, barriers and RPCs.
    pub messages: Vec<TimelineMessage>,
    /// Snapshots taken: (line, step, checkpoint).
    pub snapshots: Vec<(usize, usize, CheckpointId)>,
    /// The step at which the job crashed, and what it restored.
    pub crash: Option<(usize, String)>,
    /// The number of steps.
    pub steps: usize,
}

/// What a timeline message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A record.
    Record,
    /// A barrier or a cancellation marker.
    Barrier,
    /// A trigger, acknowledgement or completion notice.
    Rpc,
}

/// One message of a timeline, from its sending step to the step that took it.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineMessage {
    /// The sender's line.
    pub from_line: usize,
    /// The receiver's line.
    pub to_line: usize,
    /// The step that sent it.
    pub sent: usize,
    /// The step that read it (or delivered the RPC); `None` if nothing did by the end.
    pub taken: Option<usize>,
    /// Dropped by the crash at `taken`.
    pub dropped: bool,
    /// What it is.
    pub kind: MessageKind,
    /// E.g. `r0.1`, `barrier 1`, `ack 1`.
    pub label: String,
    /// A record that a completed checkpoint holds as channel state.
    pub in_channel_state: bool,
}

/// An error at `json_path` in `file`.
fn error(file: &str, json_path: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError {
        file: file.to_string(),
        json_path: json_path.to_string(),
        message: message.into(),
        line_column: None,
    }
}

impl DataflowSchedule {
    /// Reads a schedule file.
    pub fn load(path: &Path) -> Result<DataflowSchedule, ScenarioError> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| error(&label, ".", format!("cannot read the file: {e}")))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("schedule");
        DataflowSchedule::parse(&text, &label, stem)
    }

    /// Parses and checks a schedule: the job must be one the explorer takes, and every step
    /// enabled where it comes (replaying it from the start).
    pub fn parse(
        text: &str,
        label: &str,
        default_name: &str,
    ) -> Result<DataflowSchedule, ScenarioError> {
        let document: Value = serde_json::from_str(text).map_err(|e| ScenarioError {
            file: label.to_string(),
            json_path: ".".into(),
            message: format!("not JSON: {e}"),
            line_column: Some((e.line(), e.column())),
        })?;
        let top = document
            .as_object()
            .ok_or_else(|| error(label, ".", "expected a JSON object"))?;
        for key in top.keys() {
            if !["name", "description", SECTION].contains(&key.as_str()) {
                return Err(error(
                    label,
                    key,
                    format!(
                        "unknown field `{key}`: a dataflow schedule has name, description and {SECTION}"
                    ),
                ));
            }
        }
        let text_field = |key: &str| -> Result<Option<String>, ScenarioError> {
            match top.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(error(label, key, "expected a string")),
            }
        };
        let name = text_field("name")?.unwrap_or_else(|| default_name.to_string());
        let description = text_field("description")?.unwrap_or_default();
        let section = top
            .get(SECTION)
            .and_then(Value::as_object)
            .ok_or_else(|| error(label, SECTION, "expected an object"))?;
        let at = |key: &str| format!("{SECTION}.{key}");
        const KEYS: [&str; 7] = [
            "sources",
            "records_per_source",
            "checkpoints",
            "crash",
            "protocol",
            "variant",
            "steps",
        ];
        for key in section.keys() {
            if !KEYS.contains(&key.as_str()) {
                return Err(error(
                    label,
                    &at(key),
                    format!("unknown field `{key}`, expected one of {}", KEYS.join(", ")),
                ));
            }
        }
        let number = |key: &str| -> Result<u64, ScenarioError> {
            section
                .get(key)
                .and_then(Value::as_u64)
                .ok_or_else(|| error(label, &at(key), "expected a whole number"))
        };
        let mode = section
            .get("protocol")
            .and_then(Value::as_str)
            .ok_or_else(|| error(label, &at("protocol"), "expected a string"))?;
        let protocol = protocol_named(mode).ok_or_else(|| {
            error(
                label,
                &at("protocol"),
                format!("`{mode}`: expected one of {}", MODES.join(", ")),
            )
        })?;
        let variant = match section.get("variant") {
            None => DataflowVariant::Correct,
            Some(value) => variant_named(value.as_str().unwrap_or(""))
                .map_err(|e| error(label, &at("variant"), format!("{value}: {e}")))?,
        };
        let small = |key: &str, max: u64| -> Result<u64, ScenarioError> {
            let value = number(key)?;
            if value > max {
                return Err(error(label, &at(key), format!("{value}: at most {max}")));
            }
            Ok(value)
        };
        let job = DataflowJob {
            sources: small("sources", 4)? as usize,
            records_per_source: small("records_per_source", 8)? as u8,
            checkpoints: small("checkpoints", 4)?,
            crash: match section.get("crash") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(error(label, &at("crash"), "expected true or false")),
            },
            protocol,
            variant,
        };
        let system = DataflowSystem::new(job.clone()).map_err(|e| error(label, SECTION, e))?;
        let list = section
            .get("steps")
            .and_then(Value::as_array)
            .ok_or_else(|| error(label, &at("steps"), "expected a list of steps"))?;
        let mut steps = Vec::with_capacity(list.len());
        let mut state = system.initial();
        let mut enabled = Vec::new();
        for (index, value) in list.iter().enumerate() {
            let path = format!("{SECTION}.steps[{index}]");
            let step = parse_step(&job, value).map_err(|m| error(label, &path, m))?;
            enabled.clear();
            system.actions(&state, &mut enabled);
            if !enabled.contains(&step) {
                let possible: Vec<String> = enabled
                    .iter()
                    .map(|&s| system.describe(&state, s))
                    .collect();
                return Err(error(
                    label,
                    &path,
                    if possible.is_empty() {
                        "the job has nothing left to do here (or a rule was already broken): remove the steps from here on".to_string()
                    } else {
                        format!(
                            "this step cannot happen here; what can: {}",
                            possible.join("; ")
                        )
                    },
                ));
            }
            state = system.apply(&state, step);
            steps.push(step);
        }
        Ok(DataflowSchedule {
            name,
            description,
            job,
            steps,
        })
    }

    /// The schedule as a file, each step with what it does in words.
    pub fn to_json(&self) -> Value {
        let system = DataflowSystem::new(self.job.clone()).expect("a valid job");
        let mut state = system.initial();
        let mut steps = Vec::with_capacity(self.steps.len());
        for &step in &self.steps {
            let mut entry = step_json(&self.job, step);
            entry.insert("says".into(), json!(system.describe(&state, step)));
            steps.push(Value::Object(entry));
            state = system.apply(&state, step);
        }
        let mut section = self.job_json();
        section["steps"] = json!(steps);
        json!({
            "name": self.name,
            "description": self.description,
            SECTION: section,
        })
    }

    /// The job, as the file and the run's report write it.
    pub fn job_json(&self) -> Value {
        let job = &self.job;
        json!({
            "sources": job.sources,
            "records_per_source": job.records_per_source,
            "checkpoints": job.checkpoints,
            "crash": job.crash,
            "protocol": protocol_name(job.protocol),
            "variant": variant_name(job.variant),
        })
    }

    /// Replays the steps, checking the invariants after each.
    pub fn replay(&self) -> Replay {
        let system = DataflowSystem::new(self.job.clone()).expect("a valid job");
        let mut state = system.initial();
        let mut tracker = Tracker::new(&self.job);
        let mut steps = Vec::with_capacity(self.steps.len());
        let mut violation = None;
        for (index, &step) in self.steps.iter().enumerate() {
            let says = system.describe(&state, step);
            let next = system.apply(&state, step);
            tracker.step(&self.job, &state, &next, step, index + 1, &says);
            state = next;
            steps.push(ReplayedStep {
                says,
                state: system.describe_state(&state),
            });
            if violation.is_none()
                && let Some(found) = system.violation(&state)
            {
                violation = Some((index + 1, found));
            }
        }
        let mut timeline = tracker.finish(&self.job);
        timeline.steps = self.steps.len();
        Replay {
            steps,
            violation,
            timeline,
        }
    }
}

/// A step as JSON fields, tasks and channels by name.
fn step_json(job: &DataflowJob, step: Step) -> Map<String, Value> {
    let value = match step {
        Step::Trigger => json!({"step": "trigger"}),
        Step::TriggerArrives { source } => {
            json!({"step": "trigger_arrives", "source": job.task_name(source as usize)})
        }
        Step::Emit { source } => json!({"step": "emit", "source": job.task_name(source as usize)}),
        Step::Arrive { channel } => {
            json!({"step": "arrive", "channel": job.channel_name(channel as usize)})
        }
        Step::Read { channel } => {
            json!({"step": "read", "channel": job.channel_name(channel as usize)})
        }
        Step::TimeoutPasses { checkpoint } => {
            json!({"step": "timeout_passes", "checkpoint": checkpoint})
        }
        Step::TimerFires { task, checkpoint } => {
            json!({"step": "timer_fires", "task": job.task_name(task as usize), "checkpoint": checkpoint})
        }
        Step::AckArrives { task, checkpoint } => {
            json!({"step": "ack_arrives", "task": job.task_name(task as usize), "checkpoint": checkpoint})
        }
        Step::NoticeArrives { checkpoint } => {
            json!({"step": "notice_arrives", "checkpoint": checkpoint})
        }
        Step::Crash => json!({"step": "crash"}),
    };
    match value {
        Value::Object(map) => map,
        _ => unreachable!("a step is an object"),
    }
}

/// A step from its JSON fields.
fn parse_step(job: &DataflowJob, value: &Value) -> Result<Step, String> {
    let object = value
        .as_object()
        .ok_or("expected an object such as {\"step\": \"emit\", \"source\": \"source[0]\"}")?;
    let kind = object
        .get("step")
        .and_then(Value::as_str)
        .ok_or("expected `step`: trigger, trigger_arrives, emit, arrive, read, timeout_passes, timer_fires, ack_arrives, notice_arrives or crash")?;
    let fields: &[&str] = match kind {
        "trigger" | "crash" => &[],
        "trigger_arrives" | "emit" => &["source"],
        "arrive" | "read" => &["channel"],
        "timeout_passes" | "notice_arrives" => &["checkpoint"],
        "timer_fires" | "ack_arrives" => &["task", "checkpoint"],
        other => {
            return Err(format!(
                "step `{other}`: expected trigger, trigger_arrives, emit, arrive, read, timeout_passes, timer_fires, ack_arrives, notice_arrives or crash"
            ));
        }
    };
    for key in object.keys() {
        if key != "step" && key != "says" && !fields.contains(&key.as_str()) {
            return Err(format!(
                "unknown field `{key}` for a `{kind}` step (it takes {})",
                if fields.is_empty() {
                    "no other field".to_string()
                } else {
                    fields.join(" and ")
                }
            ));
        }
    }
    let tasks: Vec<String> = (0..job.tasks()).map(|t| job.task_name(t)).collect();
    let named = |key: &str, names: &[String]| -> Result<u8, String> {
        let name = object
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("expected `{key}`, one of {}", names.join(", ")))?;
        names
            .iter()
            .position(|n| n == name)
            .map(|i| i as u8)
            .ok_or_else(|| format!("{key} `{name}`: expected one of {}", names.join(", ")))
    };
    let checkpoint = || -> Result<CheckpointId, String> {
        object
            .get("checkpoint")
            .and_then(Value::as_u64)
            .filter(|&c| c >= 1)
            .ok_or_else(|| "expected `checkpoint`, a checkpoint id from 1".to_string())
    };
    let sources = &tasks[..job.sources];
    let channels: Vec<String> = (0..=job.sources).map(|c| job.channel_name(c)).collect();
    Ok(match kind {
        "trigger" => Step::Trigger,
        "crash" => Step::Crash,
        "trigger_arrives" => Step::TriggerArrives {
            source: named("source", sources)?,
        },
        "emit" => Step::Emit {
            source: named("source", sources)?,
        },
        "arrive" => Step::Arrive {
            channel: named("channel", &channels)?,
        },
        "read" => Step::Read {
            channel: named("channel", &channels)?,
        },
        "timeout_passes" => Step::TimeoutPasses {
            checkpoint: checkpoint()?,
        },
        "notice_arrives" => Step::NoticeArrives {
            checkpoint: checkpoint()?,
        },
        "timer_fires" => Step::TimerFires {
            task: named("task", &tasks)?,
            checkpoint: checkpoint()?,
        },
        _ => Step::AckArrives {
            task: named("task", &tasks)?,
            checkpoint: checkpoint()?,
        },
    })
}

/// An item in flight, with the step that sent it.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    item: Item,
    sent: usize,
}

/// Follows every item and RPC through a replay, step by step, to draw it.
struct Tracker {
    /// Per channel: the wire and the input queue, mirrored with sending steps.
    wires: Vec<VecDeque<InFlight>>,
    arrived: Vec<VecDeque<InFlight>>,
    /// Triggers on their way, per source: (sent, checkpoint).
    triggers: Vec<Option<(usize, CheckpointId)>>,
    /// Acknowledgements on their way: (task, checkpoint, sent).
    acks: Vec<(u8, CheckpointId, usize)>,
    /// Completion notices on their way: (checkpoint, sent).
    notices: Vec<(CheckpointId, usize)>,
    /// Channel state of completed checkpoints: (channel, record).
    channel_state: Vec<(usize, RecordId)>,
    timeline: Timeline,
    /// Per message of `timeline.messages` that is a record: (channel, record).
    record_of: Vec<Option<(usize, RecordId)>>,
}

impl Tracker {
    fn new(job: &DataflowJob) -> Tracker {
        let channels = job.sources + 1;
        let mut lines = vec!["coordinator".to_string()];
        lines.extend((0..job.tasks()).map(|t| job.task_name(t)));
        Tracker {
            wires: vec![VecDeque::new(); channels],
            arrived: vec![VecDeque::new(); channels],
            triggers: vec![None; job.sources],
            acks: Vec::new(),
            notices: Vec::new(),
            channel_state: Vec::new(),
            timeline: Timeline {
                lines,
                ..Timeline::default()
            },
            record_of: Vec::new(),
        }
    }

    fn push(&mut self, message: TimelineMessage, record: Option<(usize, RecordId)>) {
        self.timeline.messages.push(message);
        self.record_of.push(record);
    }

    /// An item leaves its channel at step `taken`: read, or dropped by a crash (or, `None`, it is
    /// still on its way when the schedule ends).
    fn item_taken(
        &mut self,
        job: &DataflowJob,
        channel: usize,
        flight: InFlight,
        taken: Option<usize>,
        dropped: bool,
    ) {
        let (to, _) = job.receiver(channel);
        let from = job.sender(channel);
        let (kind, record) = match flight.item {
            Item::Record { id, .. } => (MessageKind::Record, Some((channel, id))),
            _ => (MessageKind::Barrier, None),
        };
        let label = super::item_name(job, Some(&flight.item));
        self.push(
            TimelineMessage {
                from_line: 1 + from,
                to_line: 1 + to,
                sent: flight.sent,
                taken,
                dropped,
                kind,
                label,
                in_channel_state: false,
            },
            record,
        );
    }

    fn rpc(&mut self, from_line: usize, to_line: usize, sent: usize, taken: usize, label: String) {
        self.push(
            TimelineMessage {
                from_line,
                to_line,
                sent,
                taken: Some(taken),
                dropped: false,
                kind: MessageKind::Rpc,
                label,
                in_channel_state: false,
            },
            None,
        );
    }

    /// Follows step `at` (from 1) from `before` to `after`.
    fn step(
        &mut self,
        job: &DataflowJob,
        before: &JobState,
        after: &JobState,
        step: Step,
        at: usize,
        says: &str,
    ) {
        // What the step itself moves or takes.
        match step {
            Step::Arrive { channel } => {
                let c = channel as usize;
                if let Some(flight) = self.wires[c].pop_front() {
                    if matches!(flight.item, Item::Barrier { priority: true, .. }) {
                        self.arrived[c].push_front(flight);
                    } else {
                        self.arrived[c].push_back(flight);
                    }
                }
            }
            Step::Read { channel } => {
                let c = channel as usize;
                if let Some(position) = next_readable(&before.channels[c])
                    && let Some(flight) = self.arrived[c].remove(position)
                {
                    self.item_taken(job, c, flight, Some(at), false);
                }
            }
            Step::Crash => {
                for c in 0..self.wires.len() {
                    let dropped: Vec<InFlight> = self.wires[c]
                        .drain(..)
                        .chain(self.arrived[c].drain(..))
                        .collect();
                    for flight in dropped {
                        self.item_taken(job, c, flight, Some(at), true);
                    }
                }
                self.triggers.iter_mut().for_each(|t| *t = None);
                self.acks.clear();
                self.notices.clear();
                self.timeline.crash = Some((at, says.to_string()));
            }
            _ => {}
        }
        // Whatever else changed on a channel (a record or barrier sent, a barrier moved to the
        // head at a timeout, channel state put back by a restore) is matched item by item.
        for c in 0..self.wires.len() {
            self.wires[c] = matched(&self.wires[c], &after.channels[c].wire, at);
            self.arrived[c] = matched(&self.arrived[c], &after.channels[c].arrived, at);
        }
        // RPCs.
        if step == Step::Trigger
            && let Some((id, _)) = after.pending()
        {
            for t in self.triggers.iter_mut() {
                *t = Some((at, id));
            }
        }
        if let Step::TriggerArrives { source } = step
            && let Some((sent, id)) = self.triggers[source as usize].take()
        {
            self.rpc(0, 1 + source as usize, sent, at, format!("trigger {id}"));
        }
        if let Step::AckArrives { task, checkpoint } = step
            && let Some(i) = self
                .acks
                .iter()
                .position(|&(t, c, _)| (t, c) == (task, checkpoint))
        {
            let (_, _, sent) = self.acks.remove(i);
            self.rpc(1 + task as usize, 0, sent, at, format!("ack {checkpoint}"));
        }
        if let Step::NoticeArrives { checkpoint } = step
            && let Some(i) = self.notices.iter().position(|&(c, _)| c == checkpoint)
        {
            let (_, sent) = self.notices.remove(i);
            self.rpc(0, 1 + job.sink(), sent, at, format!("notify {checkpoint}"));
        }
        for &(task, checkpoint) in &after.acks {
            if !self
                .acks
                .iter()
                .any(|&(t, c, _)| (t, c) == (task, checkpoint))
            {
                self.acks.push((task, checkpoint, at));
            }
        }
        for &checkpoint in &after.notices {
            if !self.notices.iter().any(|&(c, _)| c == checkpoint) {
                self.notices.push((checkpoint, at));
            }
        }
        // Snapshots taken at this step.
        for (task, (b, a)) in before.tasks.iter().zip(&after.tasks).enumerate() {
            for &checkpoint in a.snapshots.keys() {
                if !b.snapshots.contains_key(&checkpoint) {
                    self.timeline.snapshots.push((1 + task, at, checkpoint));
                }
            }
        }
        // A checkpoint completed: the records its channel state holds.
        let completed = |s: &JobState| s.completed.as_ref().map(|c| c.id);
        if completed(after) != completed(before)
            && let Some(checkpoint) = &after.completed
        {
            for (task, snapshot) in checkpoint.snapshots.iter().enumerate() {
                for (input, records) in snapshot.input_channel_state.iter().enumerate() {
                    let channel = job.inputs(task)[input];
                    self.channel_state
                        .extend(records.iter().map(|&r| (channel, r)));
                }
                if let Some(channel) = job.output(task) {
                    self.channel_state
                        .extend(snapshot.output_channel_state.iter().map(|&r| (channel, r)));
                }
            }
        }
    }

    /// What was still in flight at the end has no taking step.
    fn finish(mut self, job: &DataflowJob) -> Timeline {
        for c in 0..self.wires.len() {
            let left: Vec<InFlight> = self.wires[c]
                .drain(..)
                .chain(self.arrived[c].drain(..))
                .collect();
            for flight in left {
                self.item_taken(job, c, flight, None, false);
            }
        }
        for (message, record) in self.timeline.messages.iter_mut().zip(&self.record_of) {
            if let Some(key) = record {
                message.in_channel_state = self.channel_state.contains(key);
            }
        }
        self.timeline
    }
}

/// The items of `now`, each matched with the first equal item of `mirror` not yet matched (it
/// keeps its sending step); an item that matches none was sent at step `at`.
fn matched(mirror: &VecDeque<InFlight>, now: &VecDeque<Item>, at: usize) -> VecDeque<InFlight> {
    let mut used = vec![false; mirror.len()];
    now.iter()
        .map(|&item| {
            let found = mirror
                .iter()
                .enumerate()
                .position(|(i, f)| !used[i] && f.item == item);
            match found {
                Some(i) => {
                    used[i] = true;
                    mirror[i]
                }
                None => InFlight { item, sent: at },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::{Limits, Verdict, explore};

    use crate::explore::dataflow::tests::{TIMEOUT, job};

    /// The explorer's shortest counterexample for a variant, written down as a schedule.
    fn counterexample(
        protocol: SnapshotProtocol,
        variant: DataflowVariant,
    ) -> (DataflowSchedule, String) {
        let job = job(protocol, variant);
        let system = DataflowSystem::new(job.clone()).unwrap();
        let exploration = explore(&system, Limits::default(), &mut |_| true);
        let Verdict::Violated { violation } = exploration.verdict else {
            panic!("{variant:?} under {protocol:?} is caught");
        };
        let schedule = DataflowSchedule {
            name: "counterexample".into(),
            description: String::new(),
            job,
            steps: exploration.counterexample,
        };
        (schedule, violation)
    }

    fn parsed(document: &Value) -> Result<DataflowSchedule, ScenarioError> {
        DataflowSchedule::parse(&document.to_string(), "schedule.json", "schedule")
    }

    #[test]
    fn every_counterexample_written_down_replays_to_the_same_violation_at_its_last_step() {
        for (protocol, variant) in [
            (SnapshotProtocol::Aligned, DataflowVariant::NoAlignment),
            (
                SnapshotProtocol::Unaligned,
                DataflowVariant::UnalignedForgetsChannelState,
            ),
            (
                SnapshotProtocol::Aligned,
                DataflowVariant::ForwardBarrierEarly,
            ),
            (
                SnapshotProtocol::Aligned,
                DataflowVariant::CommitAtPreCommit,
            ),
            (
                SnapshotProtocol::Aligned,
                DataflowVariant::RestoreFromPending,
            ),
            (
                SnapshotProtocol::ChandyLamport,
                DataflowVariant::RecordingPastTheBarrier,
            ),
            (TIMEOUT, DataflowVariant::RecordingPastTheBarrier),
        ] {
            let (schedule, violation) = counterexample(protocol, variant);
            let read_back = parsed(&schedule.to_json()).unwrap();
            assert_eq!(
                read_back, schedule,
                "{variant:?}: the file says what was found"
            );
            let replay = read_back.replay();
            assert_eq!(
                replay.violation,
                Some((schedule.steps.len(), violation)),
                "{variant:?} under {protocol:?}"
            );
            // The diagram has every task's line, and a dot wherever a task took a snapshot.
            assert_eq!(replay.timeline.lines.len(), 1 + 4);
            assert!(!replay.timeline.snapshots.is_empty(), "{variant:?}");
        }
    }

    #[test]
    fn the_timeline_follows_each_record_from_the_step_that_sent_it_to_the_step_that_read_it() {
        // Unaligned barriers that forget their channel state: r1.0 is emitted at step 3, before
        // source[1]'s snapshot at step 4; the priority barrier overtakes it, and it is still on
        // its way when the checkpoint completes — in flight, and in no snapshot.
        let (schedule, _) = counterexample(
            SnapshotProtocol::Unaligned,
            DataflowVariant::UnalignedForgetsChannelState,
        );
        let timeline = schedule.replay().timeline;
        let record = timeline
            .messages
            .iter()
            .find(|m| m.label == "r1.0")
            .expect("r1.0 is drawn");
        assert_eq!(
            (record.from_line, record.to_line),
            (2, 3),
            "source[1] → keyed"
        );
        assert_eq!((record.sent, record.taken), (3, None));
        assert!(!record.in_channel_state);
        // Every task's acknowledgement goes to the coordinator, and the trigger to each source.
        let rpcs: Vec<&str> = timeline
            .messages
            .iter()
            .filter(|m| m.kind == MessageKind::Rpc)
            .map(|m| m.label.as_str())
            .collect();
        assert_eq!(rpcs.iter().filter(|l| **l == "ack 1").count(), 4);
        assert_eq!(rpcs.iter().filter(|l| **l == "trigger 1").count(), 2);
        assert_eq!(timeline.snapshots.len(), 4);

        // Restoring the pending checkpoint: the crash at step 5 drops the record in flight.
        let (schedule, _) = counterexample(
            SnapshotProtocol::Aligned,
            DataflowVariant::RestoreFromPending,
        );
        let timeline = schedule.replay().timeline;
        assert_eq!(timeline.crash.as_ref().map(|c| c.0), Some(5));
        assert!(
            timeline
                .messages
                .iter()
                .any(|m| m.label == "r0.0" && m.dropped && m.taken == Some(5)),
            "{:?}",
            timeline.messages
        );
    }

    #[test]
    fn a_schedule_that_cannot_happen_is_refused_naming_the_step_and_what_could_happen() {
        let (schedule, _) = counterexample(SnapshotProtocol::Aligned, DataflowVariant::NoAlignment);
        let document = schedule.to_json();
        let mutate = |f: &dyn Fn(&mut Value)| {
            let mut d = document.clone();
            f(&mut d);
            parsed(&d).unwrap_err()
        };
        // Reading before anything arrived.
        let error = mutate(&|d| {
            d[SECTION]["steps"]
                .as_array_mut()
                .unwrap()
                .insert(0, json!({"step": "read", "channel": "keyed→sink"}));
        });
        assert_eq!(error.json_path, "dataflow_schedule.steps[0]");
        assert!(error.message.contains("cannot happen here"), "{error}");
        assert!(
            error.message.contains("the coordinator triggers"),
            "{error}"
        );
        // A channel that does not exist, a step that does not exist, a field nothing reads.
        let error = mutate(&|d| {
            d[SECTION]["steps"][3] = json!({"step": "arrive", "channel": "keyed→source[0]"});
        });
        assert_eq!(error.json_path, "dataflow_schedule.steps[3]");
        assert!(error.message.contains("source[0]→keyed"), "{error}");
        let error = mutate(&|d| d[SECTION]["steps"][0] = json!({"step": "deliver"}));
        assert!(error.message.contains("step `deliver`"), "{error}");
        let error = mutate(&|d| d[SECTION]["steps"][0]["source"] = json!("source[0]"));
        assert!(error.message.contains("unknown field `source`"), "{error}");
        let error = mutate(&|d| d[SECTION]["protocol"] = json!("exactly-once"));
        assert_eq!(error.json_path, "dataflow_schedule.protocol");
        let error = mutate(&|d| d[SECTION]["records_per_source"] = json!(200));
        assert!(error.message.contains("at most 8"), "{error}");
        // A scenario loader says what the file is.
        let error = crate::scenario::parse_str(&document.to_string(), "x.json", "x").unwrap_err();
        assert!(error.message.contains("snapsim run"), "{error}");
    }
}
