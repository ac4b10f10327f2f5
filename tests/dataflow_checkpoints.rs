//! Flink checkpointing on the simulated reference job: the trends measured on a real Flink 2.3
//! MiniCluster on this kind of machine (runs A, B and C; the figures are in the tests below and in
//! the book's fidelity table), the coordinator's rules, and what each barrier
//! handler costs. These tests assert trends and orders of magnitude, not digits.

use serde_json::{Value, json};
use snapsim::checkpoint::metrics::CheckpointStatus;
use snapsim::dataflow::JobStatus;
use snapsim::oracle::delivery::Promise;
use snapsim::report::DataflowReport;
use snapsim::report::{CompletedRun, run_scenario};
use snapsim::scenario::parse_str;

/// Loads a scenario from `scenarios/`, lets the test change it, and runs it.
fn run_modified(file: &str, change: impl FnOnce(&mut Value)) -> CompletedRun {
    let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let original = value.clone();
    change(&mut value);
    if value != original {
        // The file's `expect` list is its own lesson; a changed job teaches something else.
        value.as_object_mut().unwrap().remove("expect");
    }
    let scenario = parse_str(&value.to_string(), file, "test").unwrap_or_else(|e| panic!("{e}"));
    run_scenario(&scenario, scenario.seed)
}

fn dataflow(run: &CompletedRun) -> &DataflowReport {
    run.report.dataflow.as_ref().expect("a dataflow run")
}

/// (uploaded, full size) of every completed checkpoint, in order.
fn sizes(run: &CompletedRun) -> Vec<(u64, u64)> {
    dataflow(run)
        .checkpoints
        .iter()
        .filter(|c| c.status == CheckpointStatus::Completed)
        .map(|c| (c.checkpointed_size, c.state_size))
        .collect()
}

fn assert_all_invariants_hold(run: &CompletedRun) {
    assert!(run.report.outcome.is_success(), "{:?}", run.report.outcome);
    assert!(
        dataflow(run)
            .checks
            .iter()
            .all(|c| c.prefix_consistency.passed)
    );
}

#[test]
fn unloaded_aligned_checkpoints_take_milliseconds_run_a() {
    let run = run_modified("flink-reference-a-aligned-unloaded.json", |_| {});
    let report = dataflow(&run);
    let summary = &report.summary;
    assert_all_invariants_hold(&run);
    assert!(
        report.counts.completed >= 33,
        "a checkpoint every second: {:?}",
        report.counts
    );
    assert!(summary.end_to_end_ms < 50.0, "{summary:?}");
    assert!(
        summary.start_delay_ms < 10.0 && summary.alignment_ms < 2.0,
        "{summary:?}"
    );
    assert!((summary.effective_interval_ms - 1000.0).abs() < 50.0);
    assert!(
        (10.0..40.0).contains(&summary.state_kib),
        "1000 keys × 18 B ≈ 18 KiB: {summary:?}"
    );
    // The 100 ms buffer timeout dominates latency: tens of milliseconds.
    assert!(
        (20_000..80_000).contains(&report.metrics.latency_p50_us),
        "{}",
        report.metrics.latency_p50_us
    );
}

#[test]
fn aligned_checkpoints_under_backpressure_take_seconds_of_start_delay_run_b() {
    let run = run_modified("flink-reference-b-aligned-backpressure.json", |_| {});
    let report = dataflow(&run);
    let summary = &report.summary;
    assert_all_invariants_hold(&run);
    assert!(
        summary.end_to_end_ms > 1000.0,
        "seconds, not milliseconds: {summary:?}"
    );
    assert!(
        summary.start_delay_ms > 0.8 * summary.end_to_end_ms,
        "dominated by start delay: {summary:?}"
    );
    assert!(
        summary.alignment_ms < 0.05 * summary.end_to_end_ms,
        "both inputs equally backed up: {summary:?}"
    );
    assert!(
        summary.effective_interval_ms > 1.5 * 1000.0,
        "back-to-back checkpoints stretch the interval: {summary:?}"
    );
    assert!(
        report.counts.triggered < 25,
        "far fewer than 35 checkpoints in 35 s: {:?}",
        report.counts
    );
    assert!(
        report.metrics.latency_p50_us > 1_000_000,
        "latency in seconds: {}",
        report.metrics.latency_p50_us
    );
    // Backpressure reaches the sources, which then emit less than offered.
    let source = &report.metrics.tasks[0];
    assert!(source.backpressured_us > source.idle_us / 2, "{source:?}");
    assert!(report.metrics.records_emitted < 35 * 20_000 * 3 / 4);
}

#[test]
fn unaligned_checkpoints_under_backpressure_stay_fast_but_persist_in_flight_data_run_c() {
    let run = run_modified("flink-reference-c-unaligned-backpressure.json", |_| {});
    let report = dataflow(&run);
    let summary = &report.summary;
    assert_all_invariants_hold(&run);
    assert!(
        summary.end_to_end_ms < 100.0,
        "tens of milliseconds: {summary:?}"
    );
    assert!(
        summary.persisted_kib > 100.0,
        "hundreds of KiB of in-flight data: {summary:?}"
    );
    assert!(
        summary.state_kib > summary.persisted_kib,
        "state size includes persisted data"
    );
    assert!((summary.effective_interval_ms - 1000.0).abs() < 50.0);
    // Unaligned checkpoints do not cure backpressure.
    assert!(report.metrics.latency_p50_us > 1_000_000);
    assert!(
        report
            .checkpoints
            .iter()
            .filter(|c| c.status == CheckpointStatus::Completed)
            .all(|c| c.unaligned)
    );
}

#[test]
fn every_barrier_handler_gives_consistent_checkpoints_on_the_backpressured_job() {
    let modes = [
        json!({"interval": "1s"}),
        json!({"interval": "1s", "unaligned": true}),
        json!({"interval": "1s", "unaligned": true, "aligned-checkpoint-timeout": "300ms"}),
        json!({"interval": "1s", "mode": "AT_LEAST_ONCE"}),
        json!({"interval": "1s", "protocol": "chandy-lamport"}),
        json!({"interval": "1s", "protocol": "stop-the-world"}),
    ];
    for mode in modes {
        let run = run_modified("flink-reference-b-aligned-backpressure.json", |v| {
            v["duration"] = json!("12s");
            v["checkpointing"] = mode.clone();
        });
        assert_all_invariants_hold(&run);
        assert!(
            dataflow(&run).counts.completed >= 3,
            "{mode}: {:?}",
            dataflow(&run).counts
        );
    }
}

#[test]
fn at_least_once_checkpoints_hold_records_that_crossed_a_barrier_early() {
    let run = run_modified("flink-mode-at-least-once-backpressure.json", |_| {});
    let report = dataflow(&run);
    let early: u64 = report.checks.iter().map(|c| c.records_across_barrier).sum();
    assert!(
        early > 0,
        "under backpressure, barriers arrive at different times and records cross them"
    );
    let explained = report
        .checks
        .iter()
        .find(|c| c.records_across_barrier > 0)
        .unwrap();
    assert!(
        explained.prefix_consistency.passed,
        "expected under AT_LEAST_ONCE, not a failure"
    );
    assert!(
        explained
            .prefix_consistency
            .detail
            .contains("not prefix-consistent, as expected under AT_LEAST_ONCE")
    );
}

#[test]
fn aligned_with_timeout_switches_to_unaligned_after_the_timeout_counted_from_the_trigger() {
    let run = run_modified("flink-mode-aligned-timeout-backpressure.json", |_| {});
    let report = dataflow(&run);
    assert_all_invariants_hold(&run);
    let switched: Vec<_> = report
        .checkpoints
        .iter()
        .filter(|c| c.unaligned && c.status == CheckpointStatus::Completed)
        .collect();
    assert!(!switched.is_empty());
    for checkpoint in switched {
        // The 500 ms include the start delay: the switch happens 500 ms after the trigger.
        let duration = checkpoint.end_to_end_duration_us.unwrap();
        assert!(
            (500_000..600_000).contains(&duration),
            "checkpoint {} took {duration} µs",
            checkpoint.id
        );
        assert!(checkpoint.persisted_data > 0);
    }
}

#[test]
fn min_pause_spaces_checkpoints_from_the_last_completion() {
    let run = run_modified("flink-reference-b-aligned-backpressure.json", |v| {
        v["duration"] = json!("20s");
        v["checkpointing"]["min-pause"] = json!("2s");
    });
    let report = dataflow(&run);
    assert_all_invariants_hold(&run);
    let completed: Vec<_> = report
        .checkpoints
        .iter()
        .filter(|c| c.status == CheckpointStatus::Completed)
        .collect();
    for pair in completed.windows(2) {
        let previous_end = pair[0].trigger_timestamp_us + pair[0].end_to_end_duration_us.unwrap();
        assert!(
            pair[1].trigger_timestamp_us >= previous_end + 2_000_000,
            "{} then {}",
            pair[0].id,
            pair[1].id
        );
    }
    assert!(
        report.protocol_rules.passed,
        "{}",
        report.protocol_rules.detail
    );
}

#[test]
fn concurrent_checkpoints_overlap_and_completion_subsumes_older_ones() {
    let run = run_modified("flink-reference-b-aligned-backpressure.json", |v| {
        v["duration"] = json!("15s");
        v["checkpointing"]["max-concurrent-checkpoints"] = json!(3);
    });
    let report = dataflow(&run);
    assert_all_invariants_hold(&run);
    let overlapping = report.checkpoints.windows(2).any(|w| {
        w[0].end_to_end_duration_us
            .is_some_and(|d| w[0].trigger_timestamp_us + d > w[1].trigger_timestamp_us)
    });
    assert!(
        overlapping,
        "with three allowed, a new checkpoint starts before the previous one ends"
    );
}

#[test]
fn expired_checkpoints_beyond_the_tolerable_count_fail_the_job_over() {
    let run = run_modified("flink-checkpoint-timeouts.json", |_| {});
    let report = dataflow(&run);
    // The third expiry in a row fails the job over; the restart rebuilds the same backpressure,
    // and the second failover exhausts the fixed-delay strategy's single attempt.
    let JobStatus::Failed { reason, .. } = &report.status else {
        panic!("{:?}", report.status)
    };
    assert!(
        reason.contains("fixed-delay restart strategy exhausted"),
        "{reason}"
    );
    assert_eq!(report.recoveries.len(), 2);
    assert!(
        report.recoveries[0]
            .failure
            .contains("beyond tolerable-failed-checkpoints")
    );
    assert!(report.recoveries[0].running_again_at_us.is_some());
    let expired = report
        .checkpoints
        .iter()
        .filter(|c| c.failure_reason.as_deref() == Some("CHECKPOINT_EXPIRED"))
        .count();
    assert_eq!(expired, 6, "tolerable 2: three expiries in a row, twice");
    // Aborts reach the tasks: a keyed task told of the abort before its barrier arrives skips that
    // snapshot (only the sources, which snapshot at the trigger, took one).
    let expired: Vec<u64> = report
        .checkpoints
        .iter()
        .filter(|c| c.status == CheckpointStatus::Failed)
        .map(|c| c.id)
        .collect();
    let events = run.dataflow_run().trace.events();
    let keyed_snapshots_of_expired = events
        .iter()
        .filter(|e| matches!(e, snapsim::trace::DataflowEvent::SnapshotTaken { task, checkpoint, .. } if *task >= 2 && expired.contains(checkpoint)))
        .count();
    assert_eq!(keyed_snapshots_of_expired, 0);
}

#[test]
fn incremental_checkpoints_upload_less_than_the_full_state() {
    let full = run_modified("flink-skewed-keys.json", |v| {
        v["state"] = json!({"backend": "rocksdb"})
    });
    let incremental = run_modified("flink-skewed-keys.json", |_| {});
    assert!(
        sizes(&full)
            .iter()
            .all(|(checkpointed, state)| checkpointed == state),
        "full snapshots upload everything"
    );
    let incremental_sizes = sizes(&incremental);
    assert!(
        incremental_sizes
            .iter()
            .skip(1)
            .any(|(checkpointed, state)| checkpointed < state),
        "{incremental_sizes:?}"
    );
    assert_all_invariants_hold(&incremental);
}

#[test]
fn a_bounded_job_finishes_and_every_record_reaches_the_sink() {
    let run = run_modified("flink-bounded-job.json", |_| {});
    let report = dataflow(&run);
    assert!(
        matches!(report.status, JobStatus::Finished { .. }),
        "{:?}",
        report.status
    );
    assert_eq!(report.metrics.records_emitted, 40_000);
    assert_eq!(report.metrics.records_at_sinks, 40_000);
    assert_all_invariants_hold(&run);
}

#[test]
fn skewed_keys_overload_one_subtask_and_lengthen_its_alignment() {
    let run = run_modified("flink-skewed-keys.json", |_| {});
    let report = dataflow(&run);
    let busy: Vec<f64> = report
        .metrics
        .tasks
        .iter()
        .filter(|t| t.task.starts_with("count"))
        .map(|t| t.busy_us as f64 / (t.busy_us + t.idle_us + t.backpressured_us) as f64)
        .collect();
    let hottest = busy.iter().cloned().fold(0.0, f64::max);
    let coolest = busy.iter().cloned().fold(1.0, f64::min);
    assert!(hottest > 0.9 && coolest < 0.6, "{busy:?}");
    assert!(report.summary.alignment_ms > 100.0, "{:?}", report.summary);
}

#[test]
fn remote_channels_with_credits_deliver_everything_across_task_managers() {
    let run = run_modified("flink-two-input-join.json", |_| {});
    let report = dataflow(&run);
    assert!(report.local_channel_count < report.channel_count);
    assert_all_invariants_hold(&run);
    // 160 000 orders and 40 000 payments, of which the filter keeps 90 %: about 196 000 reach the
    // sink, less what is still in flight when the run ends.
    assert_eq!(report.metrics.records_emitted, 200_000);
    assert!(
        report.metrics.records_at_sinks > 190_000,
        "{}",
        report.metrics.records_at_sinks
    );
}

/// Between task managers a barrier (or a Chandy-Lamport marker) can wait in the receiver's queue
/// long after it arrived, behind the backlog. Whatever arrives behind it was sent after the
/// sender's snapshot, so an input channel that records channel state must stop when the barrier
/// *arrives*, not when the task reads it. On two task managers of one slot each, markers and
/// aligned-with-timeout checkpoints (timeouts of 100, 200 and 500 ms) are consistent on every seed
/// — and the channel that records until the barrier is read (`recording_past_the_barrier`) breaks
/// every one of them.
#[test]
fn across_task_managers_an_input_stops_recording_when_its_barrier_arrives() {
    let modes = [
        json!({"interval": "1s", "protocol": "chandy-lamport"}),
        json!({"interval": "1s", "unaligned": true, "aligned-checkpoint-timeout": "100ms"}),
        json!({"interval": "1s", "unaligned": true, "aligned-checkpoint-timeout": "200ms"}),
        json!({"interval": "1s", "unaligned": true, "aligned-checkpoint-timeout": "500ms"}),
    ];
    let on_two_task_managers = |checkpointing: &Value, seed: u64, variant: &str| {
        let checkpointing = checkpointing.clone();
        run_modified("flink-mode-chandy-lamport-backpressure.json", move |s| {
            s["cluster"] =
                json!({"task-managers": 2, "slots-per-task-manager": 1, "rpc-latency": "2ms"});
            s["checkpointing"] = checkpointing;
            s["duration"] = json!("8s");
            s["seed"] = json!(seed);
            s["protocol_variant"] = json!(variant);
        })
    };
    for checkpointing in &modes {
        for seed in 0..3 {
            let run = on_two_task_managers(checkpointing, seed, "correct");
            let report = dataflow(&run);
            assert!(
                report.local_channel_count < report.channel_count,
                "the keyed exchange crosses task managers"
            );
            assert_all_invariants_hold(&run);
            assert!(
                report.counts.completed >= 1
                    && report.checkpoints.iter().any(|c| c.persisted_data > 0),
                "{checkpointing}: checkpoints complete and hold channel state: {:?}",
                report.counts
            );
        }
        let broken = on_two_task_managers(checkpointing, 1, "recording_past_the_barrier");
        assert!(
            broken
                .report
                .outcome
                .failed_invariants
                .contains(&snapsim::oracle::Invariant::PrefixConsistency),
            "{checkpointing}: recording past the barrier is caught"
        );
    }
}

/// An unaligned checkpoint across task managers, with a straggling keyed subtask: the first barrier
/// a task handles starts its snapshot, and another input's priority barrier may already wait, unread,
/// at the head of its queue. Only the buffers sent before that barrier are in-flight data of the
/// checkpoint; what arrived behind it was sent after the sender's snapshot. (Found by the property
/// test once it placed subtasks on several task managers: the receiver persisted the whole queue and
/// kept recording, and checkpoint 4 held records beyond its source prefixes.)
#[test]
fn an_unread_priority_barrier_still_ends_its_channels_in_flight_data() {
    let scenario = |task_managers: u64| {
        json!({
            "name": "unaligned-across-task-managers", "description": "regression", "seed": 0,
            "cluster": {"task-managers": task_managers, "slots-per-task-manager": 4 / task_managers},
            "checkpointing": {"interval": "20ms", "min-pause": "20ms", "unaligned": true},
            "restart-strategy": {"type": "fixed-delay", "attempts": 1000, "delay": "20ms"},
            "faults": {"scheduled": [{"at": "20ms", "straggler":
                {"operator": "op2", "subtask": 2, "factor": 7, "duration": "67ms"}}]},
            "job": {"operators": [
                {"name": "src0", "kind": "source", "parallelism": 2, "keys": 21,
                 "rate_per_s": 6757, "records": 703},
                {"name": "op2", "kind": "keyed_aggregation", "parallelism": 3, "cost": "59us",
                 "inputs": [{"from": "src0", "partitioner": "hash"}]},
                {"name": "op3", "kind": "sink", "parallelism": 3, "delivery": "two_phase_commit",
                 "inputs": [{"from": "src0", "partitioner": "hash"}]}
            ]}
        })
    };
    for task_managers in [1, 2, 4] {
        for seed in 0..3 {
            let mut value = scenario(task_managers);
            value["seed"] = json!(seed);
            let parsed = parse_str(&value.to_string(), "regression.json", "test").unwrap();
            let run = run_scenario(&parsed, parsed.seed);
            assert_all_invariants_hold(&run);
            assert!(
                dataflow(&run)
                    .checkpoints
                    .iter()
                    .any(|c| c.persisted_data > 0),
                "{task_managers} task manager(s), seed {seed}: checkpoints hold in-flight data"
            );
        }
    }
}

/// An idempotent sink's table keeps the last upsert of each key. Fed by one keyed aggregation, each
/// key's last write is its total, and the table is exactly-once. Fed by two operators (the
/// aggregation and a map of the raw records), one key's writes arrive on two channels and which
/// lands last depends on timing: the sink promises at-least-once and says why.
#[test]
fn an_idempotent_sink_is_exactly_once_only_when_each_keys_last_write_has_one_path() {
    let job = |second_input: bool| {
        let mut inputs = vec![json!({"from": "sum", "partitioner": "forward"})];
        if second_input {
            inputs.push(json!({"from": "raw", "partitioner": "hash"}));
        }
        json!({
            "name": "idempotent", "description": "idempotent sink", "seed": 1,
            "checkpointing": {"interval": "50ms"},
            "restart-strategy": {"type": "fixed-delay", "attempts": 10, "delay": "20ms"},
            "faults": {"scheduled": [{"at": "120ms", "task-crash": {"operator": "sum", "subtask": 0}}]},
            "job": {"operators": [
                {"name": "src", "kind": "source", "parallelism": 2, "keys": 10,
                 "rate_per_s": 4000, "records": 800},
                {"name": "sum", "kind": "keyed_aggregation", "parallelism": 2,
                 "inputs": [{"from": "src", "partitioner": "hash"}]},
                {"name": "raw", "kind": "map", "parallelism": 2,
                 "inputs": [{"from": "src", "partitioner": "forward"}]},
                {"name": "table", "kind": "sink", "parallelism": 2, "delivery": "idempotent",
                 "inputs": inputs}
            ]}
        })
    };
    let sink_of = |run: &CompletedRun| {
        let delivery = dataflow(run)
            .delivery
            .clone()
            .expect("a fault, so a delivery check");
        delivery.sinks[0].clone()
    };
    let run = |second_input: bool| {
        let text = job(second_input).to_string();
        run_scenario(&parse_str(&text, "idempotent.json", "test").unwrap(), 1)
    };
    let one_path = run(false);
    assert_all_invariants_hold(&one_path);
    let sink = sink_of(&one_path);
    assert_eq!(sink.promise, Promise::ExactlyOnce);
    assert!(sink.promise_limited_because.is_none());

    let two_paths = run(true);
    assert_all_invariants_hold(&two_paths);
    let sink = sink_of(&two_paths);
    assert_eq!(sink.promise, Promise::AtLeastOnce);
    assert!(
        sink.promise_limited_because
            .as_deref()
            .is_some_and(|why| why.contains("several channels")),
        "{:?}",
        sink.promise_limited_because
    );
}

/// One row of the measured table: real Flink 2.3.0 in a MiniCluster (one task manager, so every
/// channel is local) on a two-core machine; medians over the steady-state checkpoints of 35 s;
/// alignment and start delay are the maximum over the keyed subtasks. The job: two rate-limited
/// generator sources, keyBy, a keyed sum (one `ValueState<Long>` per key, 1000 keys) with a
/// busy-wait of `cost` per record, a chained sink that counts; 28-byte records; checkpoints every
/// second, hashmap backend. A: 10k rec/s, cost 0. B: 20k rec/s offered, cost 200 µs, aligned.
/// C: as B, unaligned.
struct Measured {
    scenario: &'static str,
    checkpoints: f64,
    effective_interval_ms: f64,
    end_to_end_ms: f64,
    alignment_ms: f64,
    start_delay_ms: f64,
    persisted_kib: f64,
    state_kib: f64,
    sink_records_per_s: f64,
    latency_p50_ms: f64,
}

const MEASURED: [Measured; 3] = [
    Measured {
        scenario: "flink-reference-a-aligned-unloaded.json",
        checkpoints: 35.0,
        effective_interval_ms: 1000.0,
        end_to_end_ms: 14.0,
        alignment_ms: 1.0,
        start_delay_ms: 5.0,
        persisted_kib: 0.0,
        state_kib: 18.0,
        sink_records_per_s: 9925.0,
        latency_p50_ms: 43.0,
    },
    Measured {
        scenario: "flink-reference-b-aligned-backpressure.json",
        checkpoints: 13.0,
        effective_interval_ms: 2470.0,
        end_to_end_ms: 2420.0,
        alignment_ms: 0.0,
        start_delay_ms: 2409.0,
        persisted_kib: 0.0,
        state_kib: 18.0,
        sink_records_per_s: 8310.0,
        latency_p50_ms: 1853.0,
    },
    Measured {
        scenario: "flink-reference-c-unaligned-backpressure.json",
        checkpoints: 35.0,
        effective_interval_ms: 1000.0,
        end_to_end_ms: 24.0,
        alignment_ms: 4.0,
        start_delay_ms: 7.0,
        persisted_kib: 515.0,
        state_kib: 533.0,
        sink_records_per_s: 8045.0,
        latency_p50_ms: 1601.0,
    },
];

/// Within a factor of two of the measurement. Flink reports durations in whole milliseconds, so a
/// measured 0 ms means "under a millisecond", and a measured 0 KiB means none.
fn within_twice(simulated: f64, measured: f64, unit_ms: bool) -> bool {
    if measured == 0.0 {
        return if unit_ms {
            simulated < 1.0
        } else {
            simulated == 0.0
        };
    }
    simulated >= measured / 2.0 && simulated <= measured * 2.0
}

/// The fidelity table: the three reference runs, configured as the measured jobs were (a
/// MiniCluster on two cores, Flink's defaults for everything else), give every metric within a
/// factor of two of real Flink 2.3 — the millisecond-scale ones included. The book's fidelity
/// appendix prints the same table.
#[test]
fn the_reference_runs_match_measured_flink_within_a_factor_of_two() {
    let mut misses = Vec::new();
    for measured in &MEASURED {
        let run = run_modified(measured.scenario, |_| {});
        assert_all_invariants_hold(&run);
        let report = dataflow(&run);
        let s = &report.summary;
        let rows = [
            (
                "checkpoints",
                report.counts.completed as f64,
                measured.checkpoints,
                false,
            ),
            (
                "effective interval ms",
                s.effective_interval_ms,
                measured.effective_interval_ms,
                true,
            ),
            (
                "end-to-end ms",
                s.end_to_end_ms,
                measured.end_to_end_ms,
                true,
            ),
            ("alignment ms", s.alignment_ms, measured.alignment_ms, true),
            (
                "start delay ms",
                s.start_delay_ms,
                measured.start_delay_ms,
                true,
            ),
            (
                "persisted KiB",
                s.persisted_kib,
                measured.persisted_kib,
                false,
            ),
            ("state KiB", s.state_kib, measured.state_kib, false),
            (
                "sink rec/s",
                report.metrics.sink_records_per_s,
                measured.sink_records_per_s,
                false,
            ),
            (
                "latency p50 ms",
                report.metrics.latency_p50_us as f64 / 1000.0,
                measured.latency_p50_ms,
                true,
            ),
        ];
        for (metric, simulated, flink, unit_ms) in rows {
            if !within_twice(simulated, flink, unit_ms) {
                misses.push(format!(
                    "{}: {metric} simulated {simulated:.2}, Flink {flink}",
                    measured.scenario
                ));
            }
        }
    }
    assert!(misses.is_empty(), "outside 2× of Flink: {misses:#?}");
}

/// Which measurement fixes which constant. Run B's sink rate fixes the framework cost per record:
/// two cores shared by every subtask, 8,310 rec/s, so 2 / 8,310 s = 240.7 µs of CPU per record, of
/// which the user function is 200 µs. And the CPU model is what makes it so: with a core per
/// subtask (unlimited cores) the same job runs faster than Flink did.
#[test]
fn run_b_fixes_the_framework_cost_and_the_shared_cores_are_why() {
    let cost = snapsim::dataflow::runtime_cost::FrameworkCost::FLINK_2_3_TWO_CORES;
    let per_record_us = cost.emit_us
        + cost.serialize_us
        + cost.deserialize_us
        + cost.state_access_us
        + cost.sink_us;
    let measured_us = 2.0 * 1e6 / 8310.0 - 200.0;
    assert!(
        (per_record_us as f64 - measured_us).abs() < 1.0,
        "framework cost {per_record_us} µs, run B implies {measured_us:.1} µs"
    );
    let on_two_cores = run_modified("flink-reference-b-aligned-backpressure.json", |_| {});
    let unlimited = run_modified("flink-reference-b-aligned-backpressure.json", |s| {
        s["cluster"].as_object_mut().unwrap().remove("mini-cluster");
    });
    let rate = |run: &CompletedRun| dataflow(run).metrics.sink_records_per_s;
    assert!(
        (rate(&on_two_cores) - 8310.0).abs() < 0.05 * 8310.0,
        "two shared cores: {:.0} rec/s",
        rate(&on_two_cores)
    );
    assert!(
        rate(&unlimited) > 1.05 * rate(&on_two_cores),
        "a core per subtask: the sources no longer take CPU from the keyed sum ({:.0} vs {:.0})",
        rate(&unlimited),
        rate(&on_two_cores)
    );
}

/// Where cores are plentiful, the host model changes nothing: a MiniCluster with a core for every
/// thread — four task threads, up to two snapshot writers each, the JobManager's — runs event for
/// event like unlimited cores (the same digest). With a core per subtask only, the snapshot writers
/// and the JobManager wait for the busy task threads, so the checkpoints take longer. With one core
/// the subtasks queue for it, and the job slows.
#[test]
fn a_core_for_every_thread_runs_exactly_like_unlimited_cores_and_fewer_slow_the_job() {
    let with_cores = |cores: Option<u64>| {
        run_modified("flink-reference-b-aligned-backpressure.json", move |s| {
            let cluster = s["cluster"].as_object_mut().unwrap();
            cluster.remove("mini-cluster");
            if let Some(cores) = cores {
                cluster.insert("mini-cluster".into(), json!({"cores": cores}));
            }
            s["duration"] = json!("8s");
        })
    };
    let unlimited = with_cores(None);
    let thirteen = with_cores(Some(13));
    assert_eq!(unlimited.report.digest, thirteen.report.digest);
    let four = with_cores(Some(4));
    assert_ne!(unlimited.report.digest, four.report.digest);
    let after_the_barrier = |run: &CompletedRun| -> u64 {
        dataflow(run)
            .checkpoints
            .iter()
            .filter(|c| c.status == CheckpointStatus::Completed)
            .map(|c| c.end_to_end_duration_us.unwrap_or(0) - c.start_delay_us)
            .sum()
    };
    assert!(
        after_the_barrier(&four) > after_the_barrier(&unlimited),
        "writers wait for a core: {} vs {} µs",
        after_the_barrier(&four),
        after_the_barrier(&unlimited)
    );
    let one = with_cores(Some(1));
    assert_all_invariants_hold(&one);
    let rate = |run: &CompletedRun| dataflow(run).metrics.sink_records_per_s;
    assert!(
        rate(&one) < 0.6 * rate(&four),
        "{} vs {}",
        rate(&one),
        rate(&four)
    );
}

/// RocksDB's files, as an incremental checkpoint sees them (`chart-checkpoint-size.json`): each
/// checkpoint uploads one new level-0 file of the keys changed since the last; the full size is
/// every file referenced, old versions included, so it grows past the live state until a
/// compaction (4 level-0 files) merges everything into one file, uploaded whole. Compression
/// scales every file: values that compress to a quarter make a quarter of the bytes.
#[test]
fn incremental_rocksdb_uploads_new_sst_files_and_compression_shrinks_them() {
    let with_compressibility = |ratio: f64| {
        run_modified("chart-checkpoint-size.json", move |s| {
            s["job"]["operators"][1]["state_compressibility"] = json!(ratio);
        })
    };
    let whole = with_compressibility(1.0);
    assert_all_invariants_hold(&whole);
    let whole_sizes = sizes(&whole);
    // Checkpoints 4, 8, 12, …: the compaction's file is uploaded whole, and is the whole state.
    for (index, &(uploaded, full)) in whole_sizes.iter().enumerate() {
        let id = index + 1;
        if id % 4 == 0 || id == 1 {
            assert_eq!(uploaded, full, "checkpoint {id} uploads every file it has");
        } else {
            assert!(
                uploaded < full,
                "checkpoint {id}: only the new file ({uploaded} of {full})"
            );
        }
    }
    // Between compactions the overlapping files make the full size grow faster than the live
    // state: checkpoint 7 references more than the compaction at 8 leaves.
    assert!(whole_sizes[6].1 > whole_sizes[7].1, "{whole_sizes:?}");
    let quarter = with_compressibility(0.25);
    for (&(u1, f1), &(u4, f4)) in whole_sizes.iter().zip(&sizes(&quarter)) {
        // Source offsets (16 bytes per source subtask) are not compressed.
        assert!(
            u4 * 4 <= u1 + 200 && f4 * 4 <= f1 + 200,
            "{u1} {f1} vs {u4} {f4}"
        );
    }
}

/// Retention (`flink-retention-incremental.json`): `num-retained` newest completed checkpoints are
/// kept, older ones discarded. Their files are deleted once no retained checkpoint references them,
/// so every byte uploaded is, at the end, either still in use or deleted — once — and keeping more
/// checkpoints keeps more storage.
#[test]
fn retention_keeps_the_newest_checkpoints_and_deletes_a_shared_file_once_nobody_needs_it() {
    let with_retained = |n: u32| {
        run_modified("flink-retention-incremental.json", move |s| {
            s["checkpointing"]["num-retained"] = json!(n);
        })
    };
    let mut in_use = Vec::new();
    for n in [1, 3, 5] {
        let run = with_retained(n);
        assert_all_invariants_hold(&run);
        let report = dataflow(&run);
        let completed: Vec<_> = report
            .checkpoints
            .iter()
            .filter(|c| c.status == CheckpointStatus::Completed)
            .collect();
        let retained: Vec<u64> = completed
            .iter()
            .filter(|c| c.discarded_at_us.is_none())
            .map(|c| c.id)
            .collect();
        let newest = completed.last().unwrap().id;
        assert_eq!(
            retained,
            ((newest + 1 - u64::from(n))..=newest).collect::<Vec<_>>(),
            "the {n} newest are retained"
        );
        let uploaded: u64 = completed.iter().map(|c| c.checkpointed_size).sum();
        let freed: u64 = completed.iter().filter_map(|c| c.freed_bytes).sum();
        let still = completed.last().unwrap().storage_in_use_bytes.unwrap();
        assert_eq!(
            uploaded,
            freed + still,
            "every uploaded byte is in use or deleted, once"
        );
        // Shared files count once: far less than the retained checkpoints' full sizes added up.
        let full_sizes: u64 = completed
            .iter()
            .filter(|c| retained.contains(&c.id))
            .map(|c| c.state_size)
            .sum();
        if n > 1 {
            assert!(still < full_sizes / 2, "{still} vs {full_sizes}");
        }
        in_use.push(still);
    }
    assert!(
        in_use[0] <= in_use[1] && in_use[1] < in_use[2],
        "more retained, more storage: {in_use:?}"
    );
}

/// Flink's records are 37 bytes on the wire, not the 28 the scenarios assume: a source subtask's
/// `numBytesOut / numRecordsOut` is 36.9 (`flink-measure/measured/bytes-per-record.txt`: a 24-byte
/// tuple, a tag byte, an 8-byte timestamp, a 4-byte length). With that size a 32 KiB buffer holds
/// 885 records instead of 1170, and run B's median start delay comes within 10 % of Flink's
/// 2,409 ms where 28-byte records put it 25 % above; the sink rate hardly moves (the framework cost
/// is per record, not per byte).
#[test]
fn the_measured_record_size_brings_run_b_to_flinks_start_delay() {
    // Run B with records of `record_size`: its median start delay (ms) and its sink rate.
    let run_b = |record_size: &str| {
        let run = run_modified("flink-reference-b-aligned-backpressure.json", |s| {
            s["job"]["operators"][0]["record_size"] = json!(record_size);
        });
        assert_all_invariants_hold(&run);
        let report = dataflow(&run);
        (
            report.summary.start_delay_ms,
            report.metrics.sink_records_per_s,
        )
    };
    let (measured_size, rate_37) = run_b("37b");
    let (described_size, rate_28) = run_b("28b");
    assert!(
        (measured_size - 2409.0).abs() < 0.10 * 2409.0,
        "37-byte records: {measured_size:.0} ms, Flink 2409 ms"
    );
    assert!(
        described_size > 1.2 * 2409.0,
        "28-byte records: {described_size:.0} ms"
    );
    assert!(
        (rate_37 - rate_28).abs() < 0.02 * rate_28,
        "{rate_37:.0} vs {rate_28:.0} records/s"
    );
}

/// A prediction tested. `flink-prediction-two-task-managers-at-least-once.json` — two task managers
/// of one slot, at-least-once every 500 ms, 100 µs per record, 15k records/s — was predicted with
/// the first reference machine's framework cost (41 µs a record) to be past capacity. Real Flink
/// 2.3.0 on a faster machine (`flink-measure/measured/two-task-managers-at-least-once-40s.txt`) kept
/// up. That machine's own run B (9,365 records/s, `…/b-aligned-backpressure-125s.txt`) fixes its
/// framework cost at 2 / 9,365 s − 200 µs ≈ 14 µs; with that one constant changed,
/// `flink-measured-two-task-managers-at-least-once.json` gives every measured metric within 2×, where
/// the prediction with the other machine's constant misses the latency by an order of magnitude.
#[test]
fn the_two_task_manager_prediction_holds_once_the_framework_cost_is_this_machines() {
    let this_machine_us = 2.0 * 1e6 / 9365.0 - 200.0;
    let path = format!(
        "{}/scenarios/flink-measured-two-task-managers-at-least-once.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let calibrated: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let steps = &calibrated["runtime"]["framework-cost"];
    let per_record_us: f64 = ["emit", "serialize", "deserialize", "state-access", "sink"]
        .iter()
        .map(|step| {
            let text = steps[step].as_str().unwrap();
            text.trim_end_matches("us").parse::<f64>().unwrap()
        })
        .sum();
    assert!(
        (per_record_us - this_machine_us).abs() < 1.0,
        "scenario's framework cost {per_record_us} µs, this machine's run B implies {this_machine_us:.1} µs"
    );
    // Flink 2.3.0, medians over the checkpoints of the first 35 s (the first left out).
    let flink = [
        ("checkpoints", 69.0, false),
        ("effective interval ms", 500.0, true),
        ("end-to-end ms", 118.0, true),
        ("alignment ms", 0.0, true),
        ("start delay ms", 100.0, true),
        ("sink rec/s", 15209.0, false),
        ("latency p50 ms", 78.0, true),
    ];
    let metrics = |scenario: &str| {
        let run = run_modified(scenario, |_| {});
        assert_all_invariants_hold(&run);
        let report = dataflow(&run);
        let s = &report.summary;
        [
            report.counts.completed as f64,
            s.effective_interval_ms,
            s.end_to_end_ms,
            s.alignment_ms,
            s.start_delay_ms,
            report.metrics.sink_records_per_s,
            report.metrics.latency_p50_us as f64 / 1000.0,
        ]
    };
    let simulated = metrics("flink-measured-two-task-managers-at-least-once.json");
    let misses: Vec<String> = flink
        .iter()
        .zip(simulated)
        .filter(|((_, measured, unit_ms), simulated)| {
            !within_twice(*simulated, *measured, *unit_ms)
        })
        .map(|((metric, measured, _), simulated)| {
            format!("{metric}: {simulated:.1}, Flink {measured}")
        })
        .collect();
    assert!(misses.is_empty(), "calibrated to this machine: {misses:?}");
    let predicted = metrics("flink-prediction-two-task-managers-at-least-once.json");
    assert!(
        predicted[6] > 5.0 * 78.0,
        "with the other machine's framework cost the queues fill: latency p50 {:.0} ms",
        predicted[6]
    );
}

/// Run B over 120 s, beside real Flink over 120 s. Flink's key groups give `sum[0]` 510 of the
/// 1000 keys and `sum[1]` 490; both subtasks read equally fast (they share the two cores), so
/// `sum[0]` falls behind by 2 % of the load: its subpartitions fill towards the output pool's limit
/// while `sum[1]`'s drain, and then the queues stay put. Real Flink 2.3.0 does exactly this (the
/// job in `flink-measure/`, measured on 2026-12-06, `flink-measure/measured/`): `sum[0]`'s median
/// start delay goes 2.09 → 2.89 → 2.93 s over the three thirds of 120 s, `sum[1]`'s 1.66 → 0.75 →
/// 0.21 s (a second run: 2.10 → 2.64 → 3.04 s and 1.59 → 0.98 → 0.42 s). The model must follow
/// the same curve: the busier subtask grows by more than a quarter and then settles (last third
/// within 25 % of the middle one), the other falls below half, and the fidelity table's metric
/// (the larger of the two) stays within 2× of both Flink runs in every third.
/// With 252 keys, which the key groups split exactly 126 / 126, both Flink and the model are steady
/// from the first third to the last — a prediction the model made before Flink was run on it.
#[test]
fn run_b_over_120_s_drifts_then_settles_as_real_flink_does_and_is_steady_when_keys_split_evenly() {
    use snapsim::workload::dataflow::{key_group, subtask_for_key_group};
    let on_first = |keys: u32| {
        (0..keys)
            .filter(|&k| subtask_for_key_group(key_group(k, 128), 2, 128) == 0)
            .count()
    };
    assert_eq!(on_first(1000), 510);
    assert_eq!(on_first(252), 126);
    // Median start delay (ms) over the checkpoints triggered in each third of 120 s (the first
    // checkpoint, before the queues filled, left out): of sum[0], of sum[1], and of the larger of
    // the two at each checkpoint, as Flink's web UI and the fidelity table show it.
    let thirds = |keys: u32| {
        let run = run_modified("flink-reference-b-aligned-backpressure.json", |s| {
            s["duration"] = json!("120s");
            s["job"]["operators"][0]["keys"] = json!(keys);
        });
        assert_all_invariants_hold(&run);
        let median = |delay: &dyn Fn(&[u64]) -> u64, third: u64| {
            let mut delays: Vec<u64> = dataflow(&run)
                .checkpoints
                .iter()
                .filter(|c| c.status == CheckpointStatus::Completed && c.id > 1)
                .filter(|c| {
                    (third * 40_000_000..(third + 1) * 40_000_000).contains(&c.trigger_timestamp_us)
                })
                .map(|c| {
                    let keyed: Vec<u64> =
                        c.subtasks[2..4].iter().map(|t| t.start_delay_us).collect();
                    delay(&keyed)
                })
                .collect();
            assert!(
                delays.len() >= 5,
                "{keys} keys: {} checkpoints",
                delays.len()
            );
            delays.sort_unstable();
            delays[delays.len() / 2] as f64 / 1000.0
        };
        let of = |delay: &dyn Fn(&[u64]) -> u64| [0, 1, 2].map(|third| median(delay, third));
        [
            of(&|d| d[0]),
            of(&|d| d[1]),
            of(&|d| *d.iter().max().unwrap()),
        ]
    };
    // Measured (flink-measure/measured/b-aligned-backpressure-125s.txt, …-125s-second-run.txt and
    // …-252-keys-125s.txt).
    const FLINK_1000_KEYS_MAX: [[f64; 3]; 2] = [[2122.0, 2886.0, 2929.0], [2114.0, 2638.0, 3035.0]];
    const FLINK_252_KEYS_MAX: [f64; 3] = [2172.0, 2394.0, 2260.0];
    let within_twice_each = |simulated: [f64; 3], flink: [f64; 3]| {
        (0..3).all(|k| within_twice(simulated[k], flink[k], true))
    };

    let [busier, other, larger] = thirds(1000);
    assert!(
        busier[2] > 1.25 * busier[0],
        "sum[0] grows: {busier:.0?} ms"
    );
    assert!(
        (0.75..=1.25).contains(&(busier[2] / busier[1])),
        "sum[0] settles: {busier:.0?} ms"
    );
    assert!(other[2] < 0.5 * other[0], "sum[1] drains: {other:.0?} ms");
    for flink in FLINK_1000_KEYS_MAX {
        assert!(
            within_twice_each(larger, flink),
            "1000 keys: simulated {larger:.0?} ms, Flink {flink:?} ms"
        );
    }

    let [first, second, larger] = thirds(252);
    for (subtask, delays) in [first, second].iter().enumerate() {
        assert!(
            (0.75..=1.25).contains(&(delays[2] / delays[0])),
            "sum[{subtask}] with an even split: {delays:.0?} ms"
        );
    }
    assert!(
        within_twice_each(larger, FLINK_252_KEYS_MAX),
        "252 keys: simulated {larger:.0?} ms, Flink {FLINK_252_KEYS_MAX:?} ms"
    );
}

/// Why a sweep's overhead can come out slightly negative: a barrier finishes the buffer it
/// follows, so the records in it leave at once instead of at the next buffer timeout. On the
/// bounded job (seed 1), checkpoint 2's barriers at 2.465 s flush what the end of input would
/// have flushed 35 ms later with a 100 ms burst behind it: the last record is processed about
/// 30 ms sooner than without checkpoints. With a 1 ms buffer timeout there is nothing to flush
/// early, and the two runs process their last record at the same microsecond.
#[test]
fn barriers_flush_buffers_so_a_checkpointed_bounded_job_can_end_sooner() {
    let processed_us = |checkpoints: bool, buffer_timeout: Option<&str>| {
        let run = run_modified("flink-bounded-job.json", |s| {
            s["seed"] = json!(1);
            if checkpoints {
                s["checkpointing"]["interval"] = json!("2s");
            } else {
                s.as_object_mut().unwrap().remove("checkpointing");
            }
            if let Some(timeout) = buffer_timeout {
                s["network"] = json!({"buffer-timeout": timeout});
            }
        });
        assert_all_invariants_hold(&run);
        dataflow(&run)
            .metrics
            .all_data_processed_us
            .expect("finished")
    };
    let (with, without) = (processed_us(true, None), processed_us(false, None));
    assert!(
        without > with + 20_000,
        "with checkpoints {with} µs, without {without} µs"
    );
    assert_eq!(
        processed_us(true, Some("1ms")),
        processed_us(false, Some("1ms"))
    );
}
