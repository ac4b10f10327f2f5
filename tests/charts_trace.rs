//! The Perfetto trace of a run: valid trace-event JSON whose slices nest on every track, whose
//! barrier arrows start and end, and which stays inside its window and its size bound; the
//! run's metrics under Flink's names in the Prometheus text format; and the web view's replay
//! of a run, its forks and its server.

use serde_json::Value;
use snapsim::plot::perfetto::chrome_trace_from_dataflow_run;
use snapsim::scenario::{DataflowModel, Model, load_file};
use std::collections::BTreeMap;
use std::process::Command;

/// A dataflow scenario of `scenarios/` and its seed.
fn dataflow_scenario(file: &str) -> (DataflowModel, u64) {
    let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    let scenario = load_file(path.as_ref()).unwrap();
    let Model::Dataflow(model) = scenario.model else {
        panic!("{file} is a dataflow scenario")
    };
    (*model, scenario.seed)
}

fn crash_run() -> (snapsim::dataflow::DataflowRun, u64) {
    let (model, seed) = dataflow_scenario("chart-space-time-dataflow.json");
    (
        snapsim::dataflow::run(&model, seed),
        model.network.rpc_latency_us,
    )
}

/// Runs the `snapsim` binary from the repository root.
fn snapsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_snapsim"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap()
}

/// (pid, tid) → slices as (start, end), in file order.
fn slices_by_track(events: &[Value]) -> BTreeMap<(u64, u64), Vec<(u64, u64)>> {
    let mut tracks: BTreeMap<(u64, u64), Vec<(u64, u64)>> = BTreeMap::new();
    for event in events.iter().filter(|e| e["ph"] == "X") {
        let start = event["ts"].as_u64().unwrap();
        let end = start + event["dur"].as_u64().unwrap();
        tracks
            .entry((
                event["pid"].as_u64().unwrap(),
                event["tid"].as_u64().unwrap(),
            ))
            .or_default()
            .push((start, end));
    }
    tracks
}

#[test]
fn every_track_nests_and_every_barrier_arrow_has_two_ends() {
    let (run, rpc) = crash_run();
    let end = run.end_time.as_micros();
    let trace = chrome_trace_from_dataflow_run(&run, rpc, 0, end, 1_000_000);
    assert!(!trace.truncated);
    let document: Value = serde_json::from_str(&trace.to_json()).unwrap();
    let events = document["traceEvents"].as_array().unwrap();
    // An event either has arguments or no `args` key: never `"args": null`.
    assert!(events.iter().all(|e| e.get("args") != Some(&Value::Null)));

    let names: Vec<&str> = events
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "job manager");
    assert_eq!(
        names.len(),
        run.graph.tasks.len() + 1,
        "a process per subtask"
    );

    for ((pid, tid), mut slices) in slices_by_track(events) {
        slices.sort_by_key(|&(start, end)| (start, std::cmp::Reverse(end)));
        let mut open: Vec<u64> = Vec::new();
        for (start, end) in slices {
            while open.last().is_some_and(|&e| e <= start) {
                open.pop();
            }
            if let Some(&parent_end) = open.last() {
                assert!(
                    end <= parent_end,
                    "track {pid}/{tid}: a slice {start}..{end} overlaps its parent ending at {parent_end}"
                );
            }
            open.push(end);
        }
    }

    let mut flows: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for event in events {
        match event["ph"].as_str() {
            Some("s") => flows.entry(event["id"].as_u64().unwrap()).or_default().0 += 1,
            Some("f") => flows.entry(event["id"].as_u64().unwrap()).or_default().1 += 1,
            _ => {}
        }
    }
    assert!(!flows.is_empty());
    assert!(flows.values().all(|&ends| ends == (1, 1)), "{flows:?}");

    let slice_names: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for expected in ["running", "synchronous snapshot 1", "asynchronous upload 1"] {
        assert!(slice_names.contains(&expected), "no {expected} slice");
    }
    assert!(
        slice_names
            .iter()
            .any(|n| n.starts_with("restoring checkpoint"))
    );
    assert!(slice_names.iter().any(|n| n.starts_with("downtime: ")));
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "i" && e["name"] == "crash")
    );
}

#[test]
fn a_window_clips_the_trace_and_a_bound_cuts_it_short() {
    let (run, rpc) = crash_run();
    let trace = chrome_trace_from_dataflow_run(&run, rpc, 300_000, 400_000, 1_000_000);
    for event in trace.events.iter().filter(|e| e["ph"] != "M") {
        let start = event["ts"].as_u64().unwrap();
        let end = start + event["dur"].as_u64().unwrap_or(0);
        assert!(
            (300_000..=400_000).contains(&start) && end <= 400_000,
            "{event}"
        );
    }
    let whole = chrome_trace_from_dataflow_run(&run, rpc, 0, u64::MAX / 2, 1_000_000);
    let bounded = chrome_trace_from_dataflow_run(&run, rpc, 0, u64::MAX / 2, 60);
    assert_eq!(bounded.events.len(), 60);
    assert!(bounded.truncated && !whole.truncated);
    assert_eq!(
        bounded.events[..40],
        whole.events[..40],
        "the earliest part is kept"
    );
}

#[test]
fn snapsim_run_with_trace_writes_trace_json_and_diagram_writes_svg_and_png() {
    let out = std::env::temp_dir().join(format!("snapsim-trace-cli-{}", std::process::id()));
    let out_arg = out.to_str().unwrap();
    let output = snapsim(&[
        "run",
        "scenarios/chart-space-time-dataflow.json",
        "--trace=100ms..900ms",
        "--out",
        out_arg,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(out.join("chart-space-time-dataflow/trace.json")).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    assert!(document["traceEvents"].as_array().unwrap().len() > 50);

    let output = snapsim(&[
        "diagram",
        "scenarios/chart-space-time-dataflow.json",
        "--from",
        "320ms",
        "--to",
        "800ms",
        "--out",
        out_arg,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for file in ["space-time.svg", "space-time.png"] {
        assert!(out.join("chart-space-time-dataflow").join(file).is_file());
    }
    let output = snapsim(&[
        "diagram",
        "scenarios/chart-space-time-dataflow.json",
        "--from",
        "800ms",
        "--to",
        "300ms",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is empty"));
    std::fs::remove_dir_all(&out).unwrap();
}

/// A traced run of the backpressured crash scenario: the keyed subtasks are busy, the sources
/// backpressured, each on its own "busy / backpressured" track. Keeping this detail changes
/// nothing in the simulation, and a tight bound drops it before it drops any checkpoint.
#[test]
fn a_traced_run_shows_busy_and_backpressured_periods_without_changing_the_run() {
    let (model, seed) = dataflow_scenario("flink-crash-during-alignment.json");
    let plain = snapsim::dataflow::run(&model, seed);
    let traced = snapsim::dataflow::run_with(&model, seed, snapsim::dataflow::RunDetail::Traced);
    assert!(
        plain.activity.is_empty(),
        "only a traced run keeps activity"
    );
    assert_eq!(plain.trace.digest(), traced.trace.digest());
    assert_eq!(plain.metrics, traced.metrics);

    let rpc = model.network.rpc_latency_us;
    let end = traced.end_time.as_micros();
    let trace = chrome_trace_from_dataflow_run(&traced, rpc, 0, end, 1_000_000);
    assert_eq!(trace.activity_covered_to_us, None);
    let activity: Vec<&Value> = trace
        .events
        .iter()
        .filter(|e| e["cat"] == "activity")
        .collect();
    let on_task = |name: &str, task: &str| {
        let pid = traced
            .graph
            .tasks
            .iter()
            .position(|t| t.name == task)
            .unwrap() as u64
            + 2;
        activity
            .iter()
            .filter(|e| e["name"] == name && e["pid"] == pid)
            .map(|e| e["dur"].as_u64().unwrap())
            .sum::<u64>()
    };
    // The keyed sum is the bottleneck: busy most of the run; the sources wait on it.
    assert!(on_task("busy", "sum→sink[0]") > end / 2);
    assert!(on_task("backpressured", "source[0]") > end / 10);
    // A source pays only the framework's cost of emitting a record, a fifth of the keyed sum's
    // 200 µs user function: busy, but far less than the sum.
    let (source_busy, sum_busy) = (on_task("busy", "source[0]"), on_task("busy", "sum→sink[0]"));
    assert!(
        source_busy > 0 && source_busy < sum_busy / 3,
        "source busy {source_busy} µs, sum busy {sum_busy} µs"
    );
    // The track's slices never overlap.
    for slices in slices_by_track(&trace.events)
        .iter()
        .filter(|((_, tid), _)| *tid == 5)
        .map(|(_, s)| s)
    {
        for pair in slices.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "{pair:?}");
        }
    }

    let without_activity = chrome_trace_from_dataflow_run(&plain, rpc, 0, end, 1_000_000);
    // One more metadata line per task names its activity track; then room for three slices.
    let bound = without_activity.events.len() + traced.graph.tasks.len() + 3;
    let bounded = chrome_trace_from_dataflow_run(&traced, rpc, 0, end, bound);
    assert!(!bounded.truncated, "checkpoints and recoveries all fit");
    assert!(bounded.activity_covered_to_us.is_some());
    assert_eq!(
        bounded
            .events
            .iter()
            .filter(|e| e["cat"] == "activity")
            .count(),
        3,
        "activity fills exactly the room left"
    );
}

#[test]
fn the_event_log_is_written_only_on_request_and_never_left_beside_another_runs_report() {
    let out = std::env::temp_dir().join(format!("snapsim-events-cli-{}", std::process::id()));
    let out_arg = out.to_str().unwrap();
    let directory = out.join("cl-paper-single-token");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "scenarios/cl-paper-single-token.json",
            "--out",
            out_arg,
        ];
        args.extend_from_slice(extra);
        let output = snapsim(&args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let stdout = run(&["--events"]);
    assert!(stdout.contains("report.json and events.jsonl"), "{stdout}");
    let log = std::fs::read_to_string(directory.join("events.jsonl")).unwrap();
    assert!(log.lines().count() > 3);
    assert!(
        log.lines()
            .all(|line| serde_json::from_str::<Value>(line).is_ok())
    );
    // A run without --events removes the older log: report and events always come from one run.
    let stdout = run(&[]);
    assert!(!stdout.contains("events.jsonl"), "{stdout}");
    assert!(directory.join("report.json").is_file());
    assert!(!directory.join("events.jsonl").exists());
    std::fs::remove_dir_all(&out).ok();
}

/// Every sample of a Prometheus exposition: (name, labels, value, timestamp ms), checking that
/// each metric is declared (# HELP, # TYPE gauge) before its samples.
fn samples(text: &str) -> Vec<(String, String, f64, u64)> {
    let mut declared = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, "gauge");
            declared.insert(name.to_string());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (name, rest) = line.split_once('{').unwrap_or_else(|| panic!("{line}"));
        let (labels, rest) = rest.split_once("} ").unwrap_or_else(|| panic!("{line}"));
        let (value, at) = rest.split_once(' ').unwrap_or_else(|| panic!("{line}"));
        assert!(declared.contains(name), "{name} used before its # TYPE");
        out.push((
            name.to_string(),
            labels.to_string(),
            value.parse().unwrap_or_else(|_| panic!("{line}")),
            at.parse().unwrap_or_else(|_| panic!("{line}")),
        ));
    }
    out
}

/// The exposition agrees with the run: the counters end where the checkpoint history ends, never
/// go down, and each second of each subtask is split between busy, backpressured and idle.
#[test]
fn flink_metrics_in_prometheus_format_agree_with_the_run() {
    let (model, seed) = dataflow_scenario("flink-crash-during-alignment.json");
    let run = snapsim::dataflow::run_with(&model, seed, snapsim::dataflow::RunDetail::Traced);
    let text = snapsim::report::prometheus::exposition(&run, "job", "digest", 1_000_000);
    assert!(text.starts_with("# snapsim run of job, digest digest"));
    let all = samples(&text);
    let series = |name: &str| -> Vec<(u64, f64)> {
        all.iter()
            .filter(|(n, labels, _, _)| n == name && labels == "job_name=\"job\"")
            .map(|&(_, _, v, at)| (at, v))
            .collect()
    };
    let completed = series("flink_jobmanager_job_numberOfCompletedCheckpoints");
    let end_ms = run.end_time.as_micros() / 1000;
    assert_eq!(completed.last().unwrap().0, end_ms);
    let finished = run
        .checkpoints
        .iter()
        .filter(|c| c.status == snapsim::checkpoint::metrics::CheckpointStatus::Completed)
        .count();
    assert_eq!(completed.last().unwrap().1, finished as f64);
    assert!(
        completed
            .windows(2)
            .all(|w| w[0].1 <= w[1].1 && w[0].0 < w[1].0)
    );
    let restarts = series("flink_jobmanager_job_numRestarts");
    assert_eq!(restarts.last().unwrap().1, run.recoveries.len() as f64);
    let restored = series("flink_jobmanager_job_lastCheckpointRestoreTimestamp");
    assert_eq!(
        restored[0].1, -1.0,
        "-1 before any restore, as Flink reports"
    );
    assert!(restored.last().unwrap().1 > 0.0);
    // busy + backpressured + idle = 1000 ms per second, for every subtask at every full second.
    let mut per_instant: BTreeMap<(String, u64), f64> = BTreeMap::new();
    for (name, labels, value, at) in &all {
        if name.ends_with("TimeMsPerSecond") && *at >= 1000 && at.is_multiple_of(1000) {
            *per_instant.entry((labels.clone(), *at)).or_default() += value;
        }
    }
    assert!(!per_instant.is_empty());
    for ((labels, at), sum) in &per_instant {
        assert!((sum - 1000.0).abs() < 1e-6, "{labels} at {at} ms: {sum}");
    }
    let backpressured = all
        .iter()
        .filter(|(n, ..)| n == "flink_taskmanager_job_task_backPressuredTimeMsPerSecond")
        .map(|s| s.2)
        .fold(0.0, f64::max);
    assert!(
        backpressured > 500.0,
        "this job is backpressured: {backpressured}"
    );
}

/// `snapsim run --metrics FILE` writes it; on a process graph it is refused before the run.
#[test]
fn run_writes_the_metrics_file_and_refuses_it_for_a_process_graph() {
    let path = std::env::temp_dir().join(format!("snapsim-metrics-{}.prom", std::process::id()));
    let out = std::env::temp_dir().join(format!("snapsim-metrics-out-{}", std::process::id()));
    let path_text = path.to_str().unwrap();
    let output = snapsim(&[
        "run",
        "scenarios/flink-crash-during-alignment.json",
        "--metrics",
        path_text,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!samples(&text).is_empty());
    let output = snapsim(&[
        "run",
        "scenarios/cl-bank-5-accounts.json",
        "--metrics",
        path_text,
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "refused before the run");
    std::fs::remove_file(&path).ok();
    std::fs::remove_dir_all(&out).ok();
}

// ---------------------------------------------------------------------------------------------
// The web view (`snapsim ui`, `snapsim replay --html`): the replay it scrubs through tells the
// same story as the report, a what-if is a deterministic fork, and the server answers on loopback.

use snapsim::ui::replay::{ACTIVITY_BUCKETS, Replay, replay_document};

fn scenario_document(file: &str) -> (Value, String) {
    let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    (serde_json::from_str(&text).unwrap(), path)
}

fn replay_of(file: &str) -> Replay {
    let (document, path) = scenario_document(file);
    replay_document(&document, &path).unwrap()
}

#[test]
fn a_replay_of_the_crash_shows_the_checkpoints_the_report_lists_and_the_backpressured_source() {
    let replay = replay_of("flink-crash-during-alignment.json");
    let view = replay.dataflow.as_ref().unwrap();
    // Every checkpoint of the report, with the trigger time the report gives, and an end that
    // matches its status: completed ones at their latest acknowledgement, failed ones aborted.
    let reported = replay.report["dataflow"]["checkpoints"].as_array().unwrap();
    assert_eq!(reported.len(), view.checkpoints.len());
    for (stats, times) in reported.iter().zip(&view.checkpoints) {
        assert_eq!(stats["id"], times.id);
        assert_eq!(stats["trigger_timestamp_us"], times.triggered_us);
        match stats["status"].as_str().unwrap() {
            "COMPLETED" => {
                assert!(
                    times.completed_us.unwrap()
                        >= stats["latest_ack_timestamp_us"].as_u64().unwrap()
                )
            }
            "FAILED" => assert_eq!(
                times.reason.as_deref(),
                stats["failure_reason"].as_str(),
                "checkpoint {}",
                times.id
            ),
            other => panic!(
                "checkpoint {} is {other} at the end of a finished job",
                times.id
            ),
        }
    }
    // The crash at 7 s and the restart from checkpoint 3 are moments to step to.
    assert!(
        replay
            .moments
            .iter()
            .any(|m| m.kind == "failure" && m.at_us == 7_000_000)
    );
    assert!(
        replay
            .moments
            .iter()
            .any(|m| m.kind == "restart" && m.label.ends_with("checkpoint 3"))
    );
    // Just before the crash sum[0] is aligning checkpoint 4: the two corrections channels' barriers
    // are in, the main source's two are not (the scenario's phase-at-failure fact, instant by
    // instant).
    let sum0 = view
        .tasks
        .iter()
        .position(|t| t.name == "sum→sink[0]")
        .unwrap();
    let phase_at = |at_us: u64| {
        view.phases[sum0]
            .iter()
            .take_while(|(at, _)| *at <= at_us)
            .last()
            .map(|(_, phase)| phase.clone())
            .unwrap()
    };
    assert_eq!(
        phase_at(6_999_000),
        "aligning checkpoint 4 (2 of 4 inputs' barriers in)"
    );
    assert_eq!(phase_at(1_000), "running");
    // The records pile up in front of the sum: at 3 s each main-source channel holds thousands,
    // each corrections channel a few hundred at most.
    for (channel, levels) in view.channels.iter().zip(&view.channel_levels) {
        let from = &view.tasks[channel.from].name;
        let [most, now] = levels[(3_000_000 / view.activity_bucket_us) as usize];
        assert!(now <= most);
        if from.starts_with("source") {
            assert!(now > 1000, "{from}: {now}");
        } else {
            assert!(most < 500, "{from}: {most}");
        }
    }
    // Checkpoint 4's barriers behind them never arrive: the failover drops them.
    let dropped: Vec<_> = view
        .barriers_not_received
        .iter()
        .filter(|b| b.checkpoint == 4)
        .collect();
    assert_eq!(dropped.len(), 4, "one per main-source channel");
    assert!(
        dropped
            .iter()
            .all(|b| b.sent_us < 7_000_000 && b.until_us > 7_000_000)
    );
    // The lesson's backpressure is visible in the colours: at 3 s both main sources are
    // backpressured most of the bucket while the corrections sources idle.
    assert_eq!(view.activity.len(), view.tasks.len());
    let bucket = (3_000_000 / view.activity_bucket_us) as usize;
    for (task, buckets) in view.tasks.iter().zip(&view.activity) {
        assert!(buckets.len() as u64 <= ACTIVITY_BUCKETS);
        assert!(
            buckets.iter().all(|[busy, bp]| busy + bp <= 1001),
            "{}",
            task.name
        );
        let [busy, bp] = buckets[bucket];
        match task.name.as_str() {
            "source[0]" | "source[1]" => assert!(bp > 700, "{}: {bp}‰ backpressured", task.name),
            "corrections[0]" | "corrections[1]" => assert!(busy < 100 && bp < 100),
            _ => assert!(busy > 900, "{} is the bottleneck: {busy}‰ busy", task.name),
        }
    }
}

/// A step function's total at `t_us`: the last point at or before it.
fn total_at(steps: &[(u64, u64)], t_us: u64) -> u64 {
    steps
        .iter()
        .take_while(|(at_us, _)| *at_us <= t_us)
        .last()
        .map_or(0, |(_, total)| *total)
}

#[test]
fn a_replay_shows_what_each_reader_of_the_sink_saw_at_every_instant() {
    // The plain sink without checkpoints: the crash replays everything, and every copy is visible
    // at once, so the duplicates appear after the restart, never before the crash.
    let replay = replay_of("flink-crash-side-by-side-no-checkpoints.json");
    let reported = &replay.report["dataflow"]["delivery"]["sinks"][0];
    let sink = &replay.dataflow.as_ref().unwrap().sinks[0];
    assert!(!sink.transactional);
    let end_us = u64::MAX;
    assert_eq!(
        total_at(&sink.written, end_us),
        reported["uncommitted_records"]
    );
    assert_eq!(
        total_at(&sink.committed, end_us),
        reported["committed_records"]
    );
    assert_eq!(total_at(&sink.duplicates, end_us), reported["duplicates"]);
    assert!(reported["duplicates"].as_u64().unwrap() > 0);
    let crash_us = replay.report["dataflow"]["recoveries"][0]["failed_at_us"]
        .as_u64()
        .unwrap();
    assert_eq!(total_at(&sink.duplicates, crash_us), 0);
    assert!(sink.transactions.is_empty() && sink.discarded.is_empty());

    // The two-phase-commit sink whose transactions time out: a read-committed reader sees a
    // transaction's records only when it commits, so at every instant it sees no more than was
    // written, and what it sees grows only at commits; the aborted ones are discarded.
    let replay = replay_of("flink-2pc-transaction-timeout.json");
    let reported = &replay.report["dataflow"]["delivery"]["sinks"][0];
    let sink = &replay.dataflow.as_ref().unwrap().sinks[0];
    assert!(sink.transactional);
    assert_eq!(
        total_at(&sink.written, end_us),
        reported["uncommitted_records"]
    );
    assert_eq!(
        total_at(&sink.committed, end_us),
        reported["committed_records"]
    );
    let commits_us: Vec<i64> = sink
        .transactions
        .iter()
        .map(|t| t[3])
        .filter(|&c| c >= 0)
        .collect();
    let aborts = sink.transactions.iter().filter(|t| t[4] >= 0).count();
    assert_eq!(commits_us.len(), reported["transactions_committed"]);
    assert_eq!(aborts, reported["transactions_aborted"]);
    assert!(aborts > 0, "the lesson's timed-out transactions");
    // Sampled or not, a point of the committed series is the records of the transactions
    // committed by then (before the sampling boundary, or at the instant itself; a sampled series
    // ends with the whole total at the run's end), and never more than a read-uncommitted reader
    // saw at the same point.
    let sampled = replay.notes.iter().any(|n| n.contains("output is sampled"));
    let last_us = sink.committed.last().map_or(0, |p| p.0);
    let committed_by = |at_us: u64| -> i64 {
        let before_only = sampled && at_us != last_us;
        let counts = |c: i64| {
            if before_only {
                c < at_us as i64
            } else {
                c <= at_us as i64
            }
        };
        sink.transactions
            .iter()
            .filter(|t| t[3] >= 0 && counts(t[3]))
            .map(|t| t[5])
            .sum()
    };
    for &(at_us, total) in &sink.committed {
        assert_eq!(total as i64, committed_by(at_us), "committed at {at_us} µs");
        assert!(
            total <= total_at(&sink.written, at_us),
            "more committed than written at {at_us} µs"
        );
        if !sampled {
            assert!(
                commits_us.contains(&(at_us as i64)),
                "visible at {at_us} µs: no commit then"
            );
        }
    }
    let aborted_records: i64 = sink
        .transactions
        .iter()
        .filter(|t| t[4] >= 0)
        .map(|t| t[5])
        .sum();
    assert_eq!(total_at(&sink.discarded, end_us) as i64, aborted_records);
    // A transaction is opened, pre-committed at its checkpoint's barrier, then committed or aborted.
    for t in &sink.transactions {
        if t[2] >= 0 {
            assert!(t[1] <= t[2]);
        }
        if t[3] >= 0 {
            assert!(
                t[2] >= 0 && t[2] <= t[3],
                "committed only after its pre-commit: {t:?}"
            );
        }
    }
}

#[test]
fn a_what_if_crash_is_a_fork_that_the_saved_scenario_reproduces() {
    let (document, path) = scenario_document("flink-crash-during-alignment.json");
    let original = replay_document(&document, &path).unwrap();
    // What the page's "crash a subtask" adds: one more scheduled fault at the scrubbed instant.
    let mut fork = document.clone();
    fork["faults"]["scheduled"].as_array_mut().unwrap().push(
        serde_json::json!({"at": "3000000us", "task-crash": {"operator": "sum", "subtask": 1}}),
    );
    fork["name"] = "flink-crash-during-alignment-fork-1".into();
    fork.as_object_mut().unwrap().remove("expect");
    let forked = replay_document(&fork, &path).unwrap();
    assert_ne!(forked.digest, original.digest);
    let recoveries = forked.report["dataflow"]["recoveries"].as_array().unwrap();
    assert_eq!(recoveries.len(), 2, "the fork's crash and the original's");
    assert_eq!(recoveries[0]["failed_at_us"], 3_000_000);
    // Deterministic: the same fork again is the same run, and `snapsim run` of the saved file
    // reports the same digest.
    assert_eq!(replay_document(&fork, &path).unwrap().digest, forked.digest);
    let saved = std::env::temp_dir().join(format!("snapsim-fork-{}.json", std::process::id()));
    std::fs::write(&saved, serde_json::to_string_pretty(&fork).unwrap()).unwrap();
    let out = std::env::temp_dir().join(format!("snapsim-fork-out-{}", std::process::id()));
    let output = snapsim(&[
        "run",
        saved.to_str().unwrap(),
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["digest"], forked.digest.as_str());
    let _ = std::fs::remove_file(saved);
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn the_static_page_embeds_the_replay_so_that_a_browser_reads_it_back_unchanged() {
    let replay = replay_of("cl-lossy-channel.json");
    let page = snapsim::ui::page::standalone_page(&replay);
    let start = page
        .find("<script id=\"replay-data\" type=\"application/json\">")
        .unwrap();
    let data_start = page[start..].find('>').unwrap() + start + 1;
    let data_end = page[data_start..].find("</script>").unwrap() + data_start;
    let data = &page[data_start..data_end];
    assert!(!data.contains('<'), "no tag can end the data early");
    let embedded: Value = serde_json::from_str(data).unwrap();
    assert_eq!(embedded, serde_json::to_value(&replay).unwrap());
    // The lesson's lost transfer: message #18 vanished on a0->a1, and the page can point at it.
    let messages = &replay.process_graph.as_ref().unwrap().messages;
    let lost: Vec<_> = messages.iter().filter(|m| m[3] == 2).collect();
    assert_eq!(lost.len(), 2);
    assert_eq!(lost[0][4], 7, "#18 carried 7 tokens");
    assert!(
        replay
            .moments
            .iter()
            .any(|m| m.kind == "violation" && m.label.contains("#18")),
        "a failed check names the lost message"
    );
    // No CDN, no network: the page loads nothing from elsewhere.
    for needle in ["http://", "https://", "src=\"//"] {
        assert!(
            !page
                .replace(replay.description.as_str(), "")
                .contains(needle),
            "{needle}"
        );
    }
}

/// One HTTP/1.1 request to the server, answered with (status, body).
fn http(address: std::net::SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn the_server_lists_scenarios_serves_replays_and_explains_a_bad_fork() {
    use snapsim::ui::server::{Catalogue, UiServer};
    let scenarios = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let catalogue = Catalogue::load(&scenarios, None).unwrap();
    let mut server = UiServer::bind(0, catalogue).unwrap();
    let address = server.address().unwrap();
    assert!(address.ip().is_loopback());
    let stop = server.stopper();
    let serving = std::thread::spawn(move || server.serve());

    let (status, page) = http(address, "GET", "/", "");
    assert_eq!(status, 200);
    assert!(page.contains("id=\"scrubber\"") && !page.contains("/*SCRIPT*/"));
    let (status, listing) = http(address, "GET", "/api/scenarios", "");
    assert_eq!(status, 200);
    let listing: Value = serde_json::from_str(&listing).unwrap();
    assert!(listing["scenarios"].as_array().unwrap().len() > 40);
    let (status, replay) = http(address, "GET", "/api/replay/cl-paper-example-2-2.json", "");
    assert_eq!(status, 200);
    let replay: Value = serde_json::from_str(&replay).unwrap();
    assert_eq!(replay["scenario"], "cl-paper-example-2-2");
    assert_eq!(replay["world"], "process_graph");
    // Only listed files are served: no path leaves the scenarios directory.
    let (status, _) = http(address, "GET", "/api/replay/..%2FCargo.toml", "");
    assert_eq!(status, 404);
    // A fork with a mistake gets the scenario loader's error, naming the JSON path.
    let (mut document, _) = scenario_document("cl-lossy-channel.json");
    document["snapshots"][0]["initiator"] = "nobody".into();
    let request = serde_json::json!({"base": "cl-lossy-channel.json", "document": document});
    let (status, error) = http(address, "POST", "/api/run", &request.to_string());
    assert_eq!(status, 400);
    let error: Value = serde_json::from_str(&error).unwrap();
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains("the fork of cl-lossy-channel.json"),
        "{message}"
    );
    assert!(message.contains("snapshots[0].initiator"), "{message}");

    stop();
    serving.join().unwrap();
}
