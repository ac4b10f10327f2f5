//! Lesson expectations: what a scenario's lesson must show, stated as data in its `expect` list
//! and checked by `snapsim run` after the oracle.
//!
//! The oracle says whether the protocol kept its promises; an expectation says whether the run
//! showed what the scenario's description claims — "a completion notice is lost", "the crash hits
//! `sum[0]` while it aligns checkpoint 4", "a read-uncommitted reader sees duplicates". A run that
//! keeps every invariant but misses its lesson fails, naming the expectation and what happened
//! instead.
//!
//! The vocabulary is small on purpose: a **fact** — a named number or word the run's report
//! establishes ([`FactName`]), with a **selector** where the fact is about one checkpoint, task,
//! sink or failure — and one **comparison** (`is`, `at-least`, `at-most`, `more-than`,
//! `less-than`). An optional `why` says what the learner should notice.
//!
//! ```json
//! "expect": [
//!   {"fact": "completion-notices-lost", "at-least": 1},
//!   {"fact": "phase-at-failure", "task": "sum[0]", "is": "aligning checkpoint 4"},
//!   {"fact": "uncommitted-duplicates", "more-than": 0, "why": "aborted transactions were visible"}
//! ]
//! ```

mod facts;

pub use facts::evaluate;

use crate::checkpoint::coordinator::AbortReason;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One expectation as a scenario file writes it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExpectationSpec {
    /// The fact's name (see [`FactName::ALL`]).
    pub fact: String,
    /// Selector: a checkpoint id.
    pub checkpoint: Option<u64>,
    /// Selector: a subtask, `operator[index]` (for example `sum[0]`).
    pub task: Option<String>,
    /// Selector: a sink operator's name (default: every sink together).
    pub sink: Option<String>,
    /// Selector: a checkpoint failure reason (Flink's `CheckpointFailureReason` name).
    pub reason: Option<String>,
    /// Selector: which failure, counting from 1 (default 1).
    pub failure: Option<u32>,
    /// Selector: an invariant's name (`conservation`, `consistent_cut`…).
    pub invariant: Option<String>,
    /// Selector: a Chandy-Lamport snapshot's id (1, 2, … in initiation order).
    pub snapshot: Option<u32>,
    /// Selector: a process's name.
    pub process: Option<String>,
    /// Selector: a channel, `from->to`.
    pub channel: Option<String>,
    /// The fact equals this number or word.
    pub is: Option<serde_json::Value>,
    /// The fact is at least this.
    pub at_least: Option<f64>,
    /// The fact is at most this.
    pub at_most: Option<f64>,
    /// The fact is more than this.
    pub more_than: Option<f64>,
    /// The fact is less than this.
    pub less_than: Option<f64>,
    /// What the learner should notice (printed beside the verdict).
    pub why: Option<String>,
}

/// Which kind of scenario a fact is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactKind {
    /// A Flink job.
    Dataflow,
    /// A Chandy-Lamport process graph.
    ProcessGraph,
}

/// A selector a fact takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `checkpoint` (required).
    Checkpoint,
    /// `task` (required).
    Task,
    /// `sink` (optional).
    Sink,
    /// `reason` (optional).
    Reason,
    /// `failure` (optional, default 1).
    Failure,
    /// `invariant` (required): an invariant's name.
    Invariant,
    /// `snapshot` (required): a Chandy-Lamport snapshot's id.
    Snapshot,
    /// `process` (required): a process's name.
    Process,
    /// `channel` (required): a channel, `from->to`.
    Channel,
}

macro_rules! facts {
    ($($variant:ident $name:literal $kind:ident $text:literal [$($selector:ident),*] $about:literal;)*) => {
        /// Every fact an expectation can name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
        pub enum FactName { $(#[doc = $about] $variant,)* }

        impl FactName {
            /// Every fact, in the order the documentation lists them.
            pub const ALL: &'static [FactName] = &[$(FactName::$variant,)*];

            /// The name a scenario file uses.
            pub fn name(self) -> &'static str {
                match self { $(FactName::$variant => $name,)* }
            }

            /// What the fact is.
            pub fn about(self) -> &'static str {
                match self { $(FactName::$variant => $about,)* }
            }

            /// Dataflow or process graph.
            pub fn kind(self) -> FactKind {
                match self { $(FactName::$variant => FactKind::$kind,)* }
            }

            /// Is the fact a word (compared with `is` only) rather than a number?
            pub fn is_text(self) -> bool {
                match self { $(FactName::$variant => $text,)* }
            }

            /// The selectors it takes.
            pub fn selectors(self) -> &'static [Selector] {
                match self { $(FactName::$variant => &[$(Selector::$selector),*],)* }
            }
        }
    };
}

facts! {
    CheckpointsTriggered "checkpoints-triggered" Dataflow false [] "checkpoints (and savepoints) the coordinator started";
    CheckpointsCompleted "checkpoints-completed" Dataflow false [] "checkpoints (and savepoints) that completed";
    CheckpointsFailed "checkpoints-failed" Dataflow false [Reason] "checkpoints that failed, optionally only those of one `reason`";
    SavepointsCompleted "savepoints-completed" Dataflow false [] "savepoints that completed";
    CheckpointStatus "checkpoint-status" Dataflow true [Checkpoint] "COMPLETED, FAILED or IN_PROGRESS, as Flink's history shows it";
    CheckpointFailureReason "checkpoint-failure-reason" Dataflow true [Checkpoint] "why the checkpoint failed (Flink's `CheckpointFailureReason`), or `none`";
    CheckpointEndToEndMs "checkpoint-end-to-end-ms" Dataflow false [Checkpoint] "the checkpoint's end-to-end duration, trigger to last acknowledgement (ms)";
    CheckpointStartDelayMs "checkpoint-start-delay-ms" Dataflow false [Checkpoint] "the checkpoint's largest start delay over its subtasks (ms)";
    CheckpointAlignmentMs "checkpoint-alignment-ms" Dataflow false [Checkpoint] "the checkpoint's largest alignment over its subtasks (ms)";
    CheckpointPersistedKib "checkpoint-persisted-kib" Dataflow false [Checkpoint] "in-flight data the checkpoint persisted (KiB)";
    CheckpointCheckpointedKib "checkpoint-checkpointed-kib" Dataflow false [Checkpoint] "bytes the checkpoint uploaded (incremental: only what changed), KiB";
    CheckpointFullSizeKib "checkpoint-full-size-kib" Dataflow false [Checkpoint] "the checkpoint's full size, every file it references (KiB)";
    CheckpointsRetained "checkpoints-retained" Dataflow false [] "completed checkpoints still kept at the end (`num-retained`)";
    CheckpointsDiscarded "checkpoints-discarded" Dataflow false [] "completed checkpoints discarded because newer ones were retained";
    StorageInUseKib "storage-in-use-kib" Dataflow false [] "checkpoint storage the retained checkpoints hold at the end, shared files once (KiB)";
    StorageFreedKib "storage-freed-kib" Dataflow false [] "bytes deleted by discarding checkpoints, shared files only once no retained checkpoint needs them (KiB)";
    CompletionNoticesLost "completion-notices-lost" Dataflow false [] "checkpoints whose `notifyCheckpointComplete` never reached the tasks";
    JobStatus "job-status" Dataflow true [] "RUNNING, FINISHED, FAILED or STOPPED at the end of the run";
    Failures "failures" Dataflow false [] "failures (a crash, a lost task manager, a failover after failed checkpoints)";
    Restarts "restarts" Dataflow false [] "failures the restart strategy restarted the job after";
    CheckpointRestored "checkpoint-restored" Dataflow false [Failure] "the checkpoint the job restored after a failure (0: from the beginning)";
    DowntimeMs "downtime-ms" Dataflow false [Failure] "from a failure to every restarted task running again (ms)";
    TasksRestarted "tasks-restarted" Dataflow false [Failure] "tasks the failure's recovery cancelled and restarted";
    RecordsReadAgain "records-read-again" Dataflow false [] "source records read a second time after restores";
    PhaseAtFailure "phase-at-failure" Dataflow true [Task, Failure] "where a subtask was in the checkpoint pending when a failure struck: `running` (none pending), `waiting for the trigger of checkpoint N`, `waiting for the first barrier of checkpoint N`, `aligning checkpoint N`, `snapshotting checkpoint N` or `acknowledged checkpoint N`";
    OperatorsRestored "operators-restored" Dataflow false [] "operators that found their uid's state in the savepoint the job started from";
    OperatorsStartedEmpty "operators-started-empty" Dataflow false [] "operators whose uid the savepoint did not have: they start with no state";
    PreviousJobCommitsAfterSavepoint "previous-job-commits-after-savepoint" Dataflow false [] "records the job that took the savepoint (`start-from-savepoint`) committed past it: a job started from it produces them again";
    PreviousJobStopped "previous-job-stopped" Dataflow true [] "`yes` if the job that took the savepoint stopped with it (stop-with-savepoint), `no` if it ran on";
    KeyGroupsMoved "key-groups-moved" Dataflow false [] "key groups whose owning subtask changed at the restore (a rescale), over all keyed operators";
    RemoteChannels "remote-channels" Dataflow false [] "channels between task managers";
    LocalChannels "local-channels" Dataflow false [] "channels within a task manager";
    MedianEndToEndMs "median-end-to-end-ms" Dataflow false [] "median end-to-end duration of the steady-state checkpoints (ms)";
    MedianAlignmentMs "median-alignment-ms" Dataflow false [] "median alignment of the steady-state checkpoints (ms)";
    MedianStartDelayMs "median-start-delay-ms" Dataflow false [] "median start delay of the steady-state checkpoints (ms)";
    MedianPersistedKib "median-persisted-kib" Dataflow false [] "median in-flight data persisted by the steady-state checkpoints (KiB)";
    MedianEffectiveIntervalMs "median-effective-interval-ms" Dataflow false [] "median time between triggers of completed checkpoints (ms)";
    MaxAlignmentMs "max-alignment-ms" Dataflow false [] "the longest alignment of any checkpoint (ms)";
    MaxStartDelayMs "max-start-delay-ms" Dataflow false [] "the longest start delay of any checkpoint (ms)";
    MaxPersistedKib "max-persisted-kib" Dataflow false [] "the most in-flight data any checkpoint persisted (KiB)";
    MaxEndToEndMs "max-end-to-end-ms" Dataflow false [] "the longest end-to-end duration of a completed checkpoint (ms)";
    SinkRecordsPerS "sink-records-per-s" Dataflow false [] "mean records per second reaching the sinks";
    RecordsEmitted "records-emitted" Dataflow false [] "records the sources emitted (replays included)";
    FinishedAtS "finished-at-s" Dataflow false [] "when the job finished, stopped or failed (s of virtual time)";
    AllDataProcessedS "all-data-processed-s" Dataflow false [] "when a bounded job had processed all its input (s), before its final checkpoint";
    LatencyMaxMs "latency-max-ms" Dataflow false [] "the largest source-to-sink latency (ms)";
    LatencyP50Ms "latency-p50-ms" Dataflow false [] "median source-to-sink latency (ms)";
    MaxBackpressuredPercent "max-backpressured-percent" Dataflow false [] "the largest share of the run any subtask spent backpressured (%)";
    CommittedDuplicates "committed-duplicates" Dataflow false [Sink] "extra copies a read-committed reader sees, beyond what the job produces";
    UncommittedDuplicates "uncommitted-duplicates" Dataflow false [Sink] "extra copies a read-uncommitted reader sees (aborted transactions included)";
    LostRecords "lost-records" Dataflow false [Sink] "records the job should deliver that a read-committed reader never sees";
    TransactionsCommitted "transactions-committed" Dataflow false [Sink] "two-phase-commit transactions committed";
    TransactionsAborted "transactions-aborted" Dataflow false [Sink] "two-phase-commit transactions aborted";
    TransactionsTimedOut "transactions-timed-out" Dataflow false [Sink] "two-phase-commit transactions the external system aborted because they outlived `transaction_timeout` (Kafka's `transaction.timeout.ms`)";
    PartFilesFinished "part-files-finished" Dataflow false [Sink] "a file sink's part files renamed to finished (visible) when their checkpoint completed";
    PartFilesDiscarded "part-files-discarded" Dataflow false [Sink] "a file sink's in-progress part files a restore threw away (begun after the restored checkpoint)";
    LargestCommitBatch "largest-commit-batch" Dataflow false [Sink] "the most transactions one sink subtask committed at one instant (after lost notices, the next one commits every pending transaction at once)";
    SnapshotsCompleted "snapshots-completed" ProcessGraph false [] "Chandy-Lamport snapshots that completed";
    SnapshotsIncomplete "snapshots-incomplete" ProcessGraph false [] "snapshots that never completed (a lost marker, the run ending)";
    SnapshotsFailing "snapshots-failing" ProcessGraph false [Invariant] "completed snapshots on which the invariant failed";
    SnapshotsNeverOccurred "snapshots-never-occurred" ProcessGraph false [] "completed snapshots whose recorded state is not a state the run passed through";
    MessagesSent "messages-sent" ProcessGraph false [] "application messages sent";
    MessagesLost "messages-lost" ProcessGraph false [] "application messages a lossy channel dropped";
    MarkersLost "markers-lost" ProcessGraph false [] "markers a lossy channel dropped";
    InFlightTokensRecorded "in-flight-tokens-recorded" ProcessGraph false [] "the most tokens any completed snapshot recorded in channel state";
    RecordedTokens "recorded-tokens" ProcessGraph false [Snapshot, Process] "the tokens the process recorded as its own state in the snapshot";
    RecordedChannelTokens "recorded-channel-tokens" ProcessGraph false [Snapshot, Channel] "the tokens the snapshot recorded in flight on the channel (`from->to`)";
}

/// The vocabulary as `snapsim facts` prints it: every fact, its selectors and what it is.
pub fn vocabulary() -> String {
    let mut out = String::from(
        "An expectation: {\"fact\": NAME, [selectors], one of \"is\" / \"at-least\" / \"at-most\" / \"more-than\" / \"less-than\", optional \"why\"}\n",
    );
    for (kind, title) in [
        (FactKind::Dataflow, "Dataflow (Flink) scenarios"),
        (
            FactKind::ProcessGraph,
            "Process-graph (Chandy-Lamport) scenarios",
        ),
    ] {
        out.push_str(&format!("\n{title}:\n"));
        for fact in FactName::ALL.iter().filter(|f| f.kind() == kind) {
            let selectors: Vec<&str> = fact
                .selectors()
                .iter()
                .map(|s| match s {
                    Selector::Checkpoint => "checkpoint",
                    Selector::Task => "task",
                    Selector::Sink => "[sink]",
                    Selector::Reason => "[reason]",
                    Selector::Failure => "[failure]",
                    Selector::Invariant => "invariant",
                    Selector::Snapshot => "snapshot",
                    Selector::Process => "process",
                    Selector::Channel => "channel",
                })
                .collect();
            let value = if fact.is_text() { "word" } else { "number" };
            out.push_str(&format!(
                "  {:<28} {:<7} {:<20} {}\n",
                fact.name(),
                value,
                selectors.join(" "),
                fact.about()
            ));
        }
    }
    out
}

/// A value a fact takes or an expectation compares with.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FactValue {
    /// A count or a measurement.
    Number(f64),
    /// A status, a reason, a phase.
    Text(String),
}

impl fmt::Display for FactValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactValue::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => write!(f, "{n:.0}"),
            FactValue::Number(n) => write!(f, "{n:.2}"),
            FactValue::Text(t) => write!(f, "{t}"),
        }
    }
}

/// How the fact must compare.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Comparison {
    /// Equal.
    Is(FactValue),
    /// ≥.
    AtLeast(f64),
    /// ≤.
    AtMost(f64),
    /// >.
    MoreThan(f64),
    /// <.
    LessThan(f64),
}

impl Comparison {
    /// Does `value` satisfy it? Numbers compare as numbers; a word equals only the same word.
    pub fn holds(&self, value: &FactValue) -> bool {
        match (self, value) {
            (Comparison::Is(FactValue::Number(want)), FactValue::Number(have)) => {
                (want - have).abs() < 1e-9
            }
            (Comparison::Is(FactValue::Text(want)), FactValue::Text(have)) => want == have,
            (Comparison::AtLeast(bound), FactValue::Number(have)) => have >= bound,
            (Comparison::AtMost(bound), FactValue::Number(have)) => have <= bound,
            (Comparison::MoreThan(bound), FactValue::Number(have)) => have > bound,
            (Comparison::LessThan(bound), FactValue::Number(have)) => have < bound,
            _ => false,
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = |n: f64| FactValue::Number(n).to_string();
        match self {
            Comparison::Is(value) => write!(f, "is {value}"),
            Comparison::AtLeast(n) => write!(f, "≥ {}", number(*n)),
            Comparison::AtMost(n) => write!(f, "≤ {}", number(*n)),
            Comparison::MoreThan(n) => write!(f, "> {}", number(*n)),
            Comparison::LessThan(n) => write!(f, "< {}", number(*n)),
        }
    }
}

/// A fact with its selectors filled in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fact {
    /// Which fact.
    pub name: FactName,
    /// `checkpoint` selector.
    pub checkpoint: Option<u64>,
    /// `task` selector: operator name and subtask index.
    pub task: Option<(String, u32)>,
    /// `sink` selector.
    pub sink: Option<String>,
    /// `reason` selector.
    pub reason: Option<String>,
    /// `failure` selector (1-based).
    pub failure: u32,
    /// `invariant` selector.
    pub invariant: Option<String>,
    /// `snapshot` selector.
    pub snapshot: Option<u32>,
    /// `process` selector.
    pub process: Option<String>,
    /// `channel` selector.
    pub channel: Option<String>,
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name.name())?;
        if let Some(id) = self.checkpoint {
            write!(f, " of checkpoint {id}")?;
        }
        if let Some((operator, index)) = &self.task {
            write!(f, " of {operator}[{index}]")?;
        }
        if let Some(sink) = &self.sink {
            write!(f, " at sink {sink}")?;
        }
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        if let Some(invariant) = &self.invariant {
            write!(f, " ({invariant})")?;
        }
        if let Some(process) = &self.process {
            write!(f, " of {process}")?;
        }
        if let Some(channel) = &self.channel {
            write!(f, " on {channel}")?;
        }
        if let Some(snapshot) = self.snapshot {
            write!(f, " in snapshot {snapshot}")?;
        }
        if self.name.selectors().contains(&Selector::Failure) {
            write!(f, " at failure {}", self.failure)?;
        }
        Ok(())
    }
}

/// A checked-ready expectation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expectation {
    /// What is looked at.
    pub fact: Fact,
    /// How it must compare.
    pub comparison: Comparison,
    /// What the learner should notice.
    pub why: Option<String>,
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.fact, self.comparison)
    }
}

/// The verdict on one expectation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpectationResult {
    /// The expectation, as a sentence (`completion-notices-lost ≥ 1`).
    pub expectation: String,
    /// What the learner should notice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Did the run show it?
    pub held: bool,
    /// What the run showed instead (or as well).
    pub actual: String,
}

/// Turns the file's spec into an expectation for a scenario of `kind`; `Err` names the field and
/// what was expected. `operators` lists the job's operators with their parallelism and whether
/// each is a sink (empty for process graphs).
pub fn validate(
    spec: &ExpectationSpec,
    kind: FactKind,
    operators: &[(String, u32, bool)],
) -> Result<Expectation, (&'static str, String)> {
    let Some(name) = FactName::ALL
        .iter()
        .copied()
        .find(|f| f.name() == spec.fact)
    else {
        let known: Vec<&str> = FactName::ALL
            .iter()
            .filter(|f| f.kind() == kind)
            .map(|f| f.name())
            .collect();
        return Err((
            "fact",
            format!(
                "unknown fact \"{}\": expected one of {}",
                spec.fact,
                known.join(", ")
            ),
        ));
    };
    if name.kind() != kind {
        let about = match name.kind() {
            FactKind::Dataflow => "dataflow (Flink) scenarios",
            FactKind::ProcessGraph => "process-graph (Chandy-Lamport) scenarios",
        };
        return Err(("fact", format!("\"{}\" is a fact of {about}", spec.fact)));
    }
    let allowed = name.selectors();
    for (present, selector, field) in [
        (
            spec.checkpoint.is_some(),
            Selector::Checkpoint,
            "checkpoint",
        ),
        (spec.task.is_some(), Selector::Task, "task"),
        (spec.sink.is_some(), Selector::Sink, "sink"),
        (spec.reason.is_some(), Selector::Reason, "reason"),
        (spec.failure.is_some(), Selector::Failure, "failure"),
        (spec.invariant.is_some(), Selector::Invariant, "invariant"),
        (spec.snapshot.is_some(), Selector::Snapshot, "snapshot"),
        (spec.process.is_some(), Selector::Process, "process"),
        (spec.channel.is_some(), Selector::Channel, "channel"),
    ] {
        if present && !allowed.contains(&selector) {
            return Err((field, format!("\"{}\" takes no `{field}`", spec.fact)));
        }
        if !present
            && allowed.contains(&selector)
            && matches!(
                selector,
                Selector::Snapshot | Selector::Process | Selector::Channel
            )
        {
            return Err((field, format!("\"{}\" needs a `{field}`", spec.fact)));
        }
    }
    if allowed.contains(&Selector::Checkpoint) && spec.checkpoint.is_none() {
        return Err((
            "checkpoint",
            format!("\"{}\" needs a `checkpoint` id", spec.fact),
        ));
    }
    let task = match &spec.task {
        Some(task) => Some(parse_task(task, operators)?),
        None if allowed.contains(&Selector::Task) => {
            return Err((
                "task",
                format!("\"{}\" needs a `task`, like \"sum[0]\"", spec.fact),
            ));
        }
        None => None,
    };
    if let Some(sink) = &spec.sink
        && !operators
            .iter()
            .any(|(op, _, is_sink)| op == sink && *is_sink)
    {
        let sinks: Vec<&str> = operators
            .iter()
            .filter(|(_, _, is_sink)| *is_sink)
            .map(|(op, _, _)| op.as_str())
            .collect();
        return Err((
            "sink",
            format!(
                "no sink \"{sink}\" in this job: expected one of {}",
                sinks.join(", ")
            ),
        ));
    }
    let reasons = AbortReason::ALL.map(AbortReason::name);
    if let Some(reason) = &spec.reason
        && !reasons.contains(reason)
    {
        return Err((
            "reason",
            format!(
                "unknown failure reason \"{reason}\": expected one of {}",
                reasons.join(", ")
            ),
        ));
    }
    if allowed.contains(&Selector::Invariant) {
        match &spec.invariant {
            None => {
                return Err((
                    "invariant",
                    format!("\"{}\" needs an `invariant`", spec.fact),
                ));
            }
            Some(name) if crate::oracle::Invariant::from_name(name).is_none() => {
                return Err((
                    "invariant",
                    format!(
                        "unknown invariant \"{name}\": expected one of {}",
                        crate::oracle::Invariant::ALL.map(|i| i.name()).join(", ")
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if spec.failure == Some(0) {
        return Err(("failure", "failures count from 1".to_string()));
    }
    let mut comparisons = Vec::new();
    if let Some(value) = &spec.is {
        let value = match value {
            serde_json::Value::Number(n) if !name.is_text() => {
                FactValue::Number(n.as_f64().unwrap_or(f64::NAN))
            }
            serde_json::Value::String(s) if name.is_text() => FactValue::Text(s.clone()),
            _ if name.is_text() => {
                return Err((
                    "is",
                    format!("\"{}\" is a word: expected a string", spec.fact),
                ));
            }
            _ => {
                return Err((
                    "is",
                    format!("\"{}\" is a number: expected a number", spec.fact),
                ));
            }
        };
        comparisons.push(("is", Comparison::Is(value)));
    }
    for (bound, field, make) in [
        (
            spec.at_least,
            "at-least",
            Comparison::AtLeast as fn(f64) -> Comparison,
        ),
        (spec.at_most, "at-most", Comparison::AtMost),
        (spec.more_than, "more-than", Comparison::MoreThan),
        (spec.less_than, "less-than", Comparison::LessThan),
    ] {
        if let Some(bound) = bound {
            if name.is_text() {
                return Err((
                    field_name(field),
                    format!("\"{}\" is a word: compare it with `is`", spec.fact),
                ));
            }
            if !bound.is_finite() {
                return Err((field_name(field), "expected a finite number".to_string()));
            }
            comparisons.push((field, make(bound)));
        }
    }
    match comparisons.len() {
        0 => Err((
            "fact",
            format!(
                "\"{}\" needs one comparison: is, at-least, at-most, more-than or less-than",
                spec.fact
            ),
        )),
        1 => Ok(Expectation {
            fact: Fact {
                name,
                checkpoint: spec.checkpoint,
                task,
                sink: spec.sink.clone(),
                reason: spec.reason.clone(),
                failure: spec.failure.unwrap_or(1),
                invariant: spec.invariant.clone(),
                snapshot: spec.snapshot,
                process: spec.process.clone(),
                channel: spec.channel.clone(),
            },
            comparison: comparisons.pop().expect("one").1,
            why: spec.why.clone(),
        }),
        _ => Err((
            field_name(comparisons[1].0),
            "one comparison per expectation (write two expectations for a range)".to_string(),
        )),
    }
}

fn field_name(field: &str) -> &'static str {
    match field {
        "is" => "is",
        "at-least" => "at-least",
        "at-most" => "at-most",
        "more-than" => "more-than",
        _ => "less-than",
    }
}

/// `operator[index]`, with the operator in the job and the index below its parallelism.
fn parse_task(
    task: &str,
    operators: &[(String, u32, bool)],
) -> Result<(String, u32), (&'static str, String)> {
    let bad = || {
        (
            "task",
            format!("expected a subtask as operator[index], like \"sum[0]\", got \"{task}\""),
        )
    };
    let (operator, rest) = task.split_once('[').ok_or_else(bad)?;
    let index: u32 = rest
        .strip_suffix(']')
        .and_then(|i| i.parse().ok())
        .ok_or_else(bad)?;
    let Some((_, parallelism, _)) = operators.iter().find(|(op, _, _)| op == operator) else {
        let names: Vec<&str> = operators.iter().map(|(op, _, _)| op.as_str()).collect();
        return Err((
            "task",
            format!(
                "no operator \"{operator}\" in this job: expected one of {}",
                names.join(", ")
            ),
        ));
    };
    if index >= *parallelism {
        return Err((
            "task",
            format!("{operator} has parallelism {parallelism}: no subtask {index}"),
        ));
    }
    Ok((operator.to_string(), index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Vec<(String, u32, bool)> {
        vec![
            ("source".into(), 2, false),
            ("sum".into(), 2, false),
            ("sink".into(), 2, true),
        ]
    }

    fn spec(json: serde_json::Value) -> ExpectationSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn an_expectation_reads_as_a_sentence() {
        let e = validate(
            &spec(
                serde_json::json!({"fact": "phase-at-failure", "task": "sum[0]",
                                     "is": "aligning checkpoint 4"}),
            ),
            FactKind::Dataflow,
            &job(),
        )
        .unwrap();
        assert_eq!(
            e.to_string(),
            "phase-at-failure of sum[0] at failure 1 is aligning checkpoint 4"
        );
        let e = validate(
            &spec(serde_json::json!({"fact": "completion-notices-lost", "at-least": 1})),
            FactKind::Dataflow,
            &job(),
        )
        .unwrap();
        assert_eq!(e.to_string(), "completion-notices-lost ≥ 1");
    }

    #[test]
    fn mistakes_name_the_field_and_what_was_expected() {
        let error = |json: serde_json::Value| {
            validate(&spec(json), FactKind::Dataflow, &job()).unwrap_err()
        };
        assert_eq!(
            error(serde_json::json!({"fact": "notices", "is": 1})).0,
            "fact"
        );
        let (field, message) =
            error(serde_json::json!({"fact": "phase-at-failure", "task": "avg[0]", "is": "x"}));
        assert_eq!(field, "task");
        assert!(message.contains("source, sum, sink"), "{message}");
        let (field, message) =
            error(serde_json::json!({"fact": "failures", "at-least": 1, "at-most": 3}));
        assert_eq!(field, "at-most");
        assert!(message.contains("one comparison"), "{message}");
        assert_eq!(
            error(serde_json::json!({"fact": "job-status", "at-least": 1})).0,
            "at-least"
        );
        assert_eq!(
            error(serde_json::json!({"fact": "checkpoint-status", "is": "COMPLETED"})).0,
            "checkpoint"
        );
        assert_eq!(
            error(serde_json::json!({"fact": "snapshots-completed", "is": 1})).0,
            "fact"
        );
        assert_eq!(
            error(serde_json::json!({"fact": "checkpoints-failed", "reason": "TIMEOUT", "is": 1}))
                .0,
            "reason"
        );
    }

    #[test]
    fn comparisons_hold_only_for_values_of_their_kind() {
        let number = FactValue::Number(3.0);
        assert!(Comparison::AtLeast(3.0).holds(&number));
        assert!(!Comparison::MoreThan(3.0).holds(&number));
        assert!(Comparison::Is(FactValue::Number(3.0)).holds(&number));
        assert!(!Comparison::Is(FactValue::Text("3".into())).holds(&number));
        assert!(
            Comparison::Is(FactValue::Text("FAILED".into()))
                .holds(&FactValue::Text("FAILED".into()))
        );
    }
}
