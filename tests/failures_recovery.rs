//! Failures and recovery, told as stories: a task crashes, the job restores a checkpoint, and the
//! oracle compares what readers saw with what the job should produce.

use serde_json::{Value, json};
use snapsim::checkpoint::metrics::SubtaskProgress;
use snapsim::checkpoint::savepoint;
use snapsim::dataflow::JobStatus;
use snapsim::oracle::Invariant;
use snapsim::report::DataflowReport;
use snapsim::report::{CompletedRun, OutcomeStatus, run_scenario};
use snapsim::scenario::{Model, Scenario, start_from_savepoint};
use snapsim::trace::DataflowEvent;
use snapsim::workload::sink::TransactionState;

fn scenario_value(file: &str) -> Value {
    let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Parses a scenario as if it were a file in `scenarios/` (a `start-from-savepoint` names its
/// neighbour there).
fn scenario(value: &Value) -> Scenario {
    let label = format!("{}/scenarios/test.json", env!("CARGO_MANIFEST_DIR"));
    snapsim::deployment::parse(&value.to_string(), &label, "test").unwrap_or_else(|e| panic!("{e}"))
}

fn run_modified(file: &str, change: impl FnOnce(&mut Value)) -> CompletedRun {
    let mut value = scenario_value(file);
    let original = value.clone();
    change(&mut value);
    if value != original {
        // The file's `expect` list is its own lesson; a changed job teaches something else.
        value.as_object_mut().unwrap().remove("expect");
    }
    let scenario = scenario(&value);
    run_scenario(&scenario, scenario.seed)
}

/// A savepoint scenario as a file for `--from-savepoint`: without its own `start-from-savepoint`
/// and without the lesson that depends on it.
fn for_a_savepoint_file(file: &str) -> Value {
    let mut value = scenario_value(file);
    let object = value.as_object_mut().unwrap();
    object.remove("start-from-savepoint");
    object.remove("expect");
    value
}

fn dataflow(run: &CompletedRun) -> &DataflowReport {
    run.report.dataflow.as_ref().expect("a dataflow run")
}

fn check_of(run: &CompletedRun, invariant: Invariant) -> &snapsim::oracle::Check {
    let delivery = dataflow(run)
        .delivery
        .as_ref()
        .expect("every dataflow run has a delivery verdict");
    delivery
        .checks
        .iter()
        .find(|c| c.invariant == invariant)
        .unwrap_or_else(|| panic!("no {invariant} check: {:?}", delivery.checks))
}

#[test]
fn a_crash_during_alignment_is_exactly_once_with_a_two_phase_commit_sink() {
    let run = run_modified("flink-crash-during-alignment.json", |_| {});
    let report = dataflow(&run);
    assert!(matches!(report.status, JobStatus::Finished { .. }));
    let recovery = &report.recoveries[0];
    assert_eq!(recovery.checkpoint_restored, Some(3));
    assert!(recovery.records_reprocessed > 0);
    assert_eq!(
        recovery.downtime_us,
        Some(recovery.running_again_at_us.unwrap() - recovery.failed_at_us)
    );
    assert!(check_of(&run, Invariant::ExactlyOnce).passed);
    let sink = &report.delivery.as_ref().unwrap().sinks[0];
    assert_eq!(sink.committed_records as u64, sink.expected_records);
    assert!(
        sink.uncommitted_records > sink.committed_records,
        "aborted writes are visible to read-uncommitted readers"
    );
    assert!(sink.transactions_aborted > 0);
    // The failed checkpoint's row aggregates the subtasks that acknowledged; below it the history
    // says where each other subtask stood: the crashed one not running, its sibling aligning.
    let failed = report.checkpoints.iter().find(|c| c.id == 4).unwrap();
    let progress = |task: &str| {
        failed
            .subtasks
            .iter()
            .find(|s| s.task == task)
            .and_then(|s| s.progress)
    };
    assert_eq!(progress("sum→sink[0]"), Some(SubtaskProgress::NotRunning));
    assert_eq!(progress("sum→sink[1]"), Some(SubtaskProgress::Aligning));
    let text = snapsim::report::text::render(&run.report);
    assert!(
        text.contains("not acknowledged: sum→sink[0] not running · sum→sink[1] aligning"),
        "{text}"
    );
}

#[test]
fn the_same_crash_under_at_least_once_duplicates_and_without_checkpoints_replays_everything() {
    let at_least_once = run_modified("flink-crash-side-by-side-at-least-once.json", |_| {});
    let check = check_of(&at_least_once, Invariant::AtLeastOnce);
    assert!(check.passed, "{}", check.detail);
    let sink = &dataflow(&at_least_once).delivery.as_ref().unwrap().sinks[0];
    assert!(sink.duplicates > 0 && sink.lost == 0);
    assert!(!sink.duplicates_per_key.is_empty());

    let none = run_modified("flink-crash-side-by-side-no-checkpoints.json", |_| {});
    let report = dataflow(&none);
    assert_eq!(
        report.recoveries[0].checkpoint_restored, None,
        "no checkpoint: start from the beginning"
    );
    let delivery = report.delivery.as_ref().unwrap();
    assert!(delivery.checks.is_empty(), "nothing promised");
    assert!(
        delivery.sinks[0].duplicates > sink.duplicates,
        "a restart from scratch replays everything before the crash"
    );
}

#[test]
fn a_crash_between_completion_and_commit_commits_on_restore() {
    let run = run_modified("flink-crash-before-commit.json", |_| {});
    assert!(check_of(&run, Invariant::ExactlyOnce).passed);
    let crash_us = dataflow(&run).recoveries[0].failed_at_us;
    let raw = run.dataflow_run();
    // Subtask 0's transactions of checkpoint 3 were pre-committed before the crash and committed
    // only at the restore.
    let committed_at_restore = raw.sinks[0].transactions.iter().any(|t| {
        t.subtask == 0
            && t.opened_at_us < crash_us
            && matches!(t.state, TransactionState::Committed { at_us } if at_us > crash_us)
    });
    assert!(committed_at_restore);
}

#[test]
fn lost_completion_notices_delay_commits_but_lose_nothing() {
    let run = run_modified("flink-lost-completion-notice.json", |_| {});
    assert!(check_of(&run, Invariant::ExactlyOnce).passed);
    let raw = run.dataflow_run();
    // Transactions pre-committed before the window are committed only after it (at 4.5 s or later).
    let late = raw.sinks[0].transactions.iter().filter(|t| {
        t.opened_at_us < 3_000_000
            && matches!(t.state, TransactionState::Committed { at_us } if at_us >= 4_500_000)
    });
    assert!(late.count() > 0);
}

/// A task manager cut off from the JobManager keeps processing, but nothing of the checkpoint
/// protocol crosses: triggers and acknowledgements wait for the partition to heal, so no
/// checkpoint completes meanwhile. Shorter than `heartbeat.timeout` it costs only that; longer,
/// the JobManager declares the task manager lost, and the job restarts once it is back.
#[test]
fn a_task_manager_cut_off_from_the_job_manager_stalls_checkpoints_then_is_declared_lost() {
    let cut_off = |duration: &str, heartbeat: &str| {
        run_modified("flink-crash-side-by-side-exactly-once.json", |v| {
            v["faults"] = json!({
                "heartbeat-timeout": heartbeat,
                "scheduled": [{"at": "2s", "job-manager-partition": {"task-manager": 0, "duration": duration}}],
            });
        })
    };
    let short = cut_off("2500ms", "50s");
    let report = dataflow(&short);
    assert!(
        report.recoveries.is_empty(),
        "shorter than the heartbeat timeout: no failover"
    );
    assert!(matches!(report.status, JobStatus::Finished { .. }));
    assert!(check_of(&short, Invariant::ExactlyOnce).passed);
    // Nothing completes while the task manager is cut off (2 s to 4.5 s); the checkpoint in
    // flight completes just after it heals, its acknowledgements held until then.
    let completed_at = |c: &snapsim::checkpoint::metrics::CheckpointStats| {
        c.trigger_timestamp_us + c.end_to_end_duration_us.unwrap()
    };
    let completed: Vec<_> = report
        .checkpoints
        .iter()
        .filter(|c| c.end_to_end_duration_us.is_some())
        .collect();
    assert!(
        !completed
            .iter()
            .any(|c| (2_000_000..4_500_000).contains(&completed_at(c)))
    );
    let held = completed
        .iter()
        .find(|c| c.trigger_timestamp_us < 4_500_000 && completed_at(c) >= 4_500_000);
    assert!(
        held.is_some_and(|c| c.end_to_end_duration_us.unwrap() > 500_000),
        "{completed:#?}"
    );

    let long = cut_off("6s", "3s");
    let report = dataflow(&long);
    assert_eq!(report.recoveries.len(), 1, "{:#?}", report.recoveries);
    let lost = &report.recoveries[0];
    assert!(
        lost.failure.contains("heartbeat timed out"),
        "{}",
        lost.failure
    );
    assert_eq!(lost.failed_at_us, 5_000_000, "2 s + heartbeat.timeout");
    assert_eq!(
        lost.detected_at_us, 5_000_000,
        "the JobManager's own decision"
    );
    assert!(
        lost.restarted_at_us.unwrap() >= 8_000_000,
        "redeployed once reachable: {lost:?}"
    );
    assert!(matches!(report.status, JobStatus::Finished { .. }));
    assert!(check_of(&long, Invariant::ExactlyOnce).passed);
}

#[test]
fn a_storage_outage_fails_checkpoints_then_fails_the_job_over_and_recovers() {
    let run = run_modified("flink-storage-outage-failover.json", |_| {});
    let report = dataflow(&run);
    assert!(matches!(report.status, JobStatus::Finished { .. }));
    assert!(
        report
            .recoveries
            .iter()
            .all(|r| r.failure.contains("tolerable-failed-checkpoints")),
        "{:?}",
        report.recoveries
    );
    assert!(!report.recoveries.is_empty());
    let declined = report
        .checkpoints
        .iter()
        .filter(|c| c.failure_reason.as_deref() == Some("IO_EXCEPTION"))
        .count();
    assert!(declined >= 3);
    assert!(check_of(&run, Invariant::ExactlyOnce).passed);
}

#[test]
fn a_flapping_task_manager_exhausts_the_failure_rate_strategy() {
    let run = run_modified("flink-flapping-task-manager.json", |_| {});
    let report = dataflow(&run);
    let JobStatus::Failed { reason, .. } = &report.status else {
        panic!("{:?}", report.status)
    };
    assert!(reason.contains("failure-rate"), "{reason}");
    assert_eq!(report.recoveries.len(), 3);
    for recovery in &report.recoveries {
        assert_eq!(
            recovery.detected_at_us - recovery.failed_at_us,
            2_000_000,
            "noticed after the heartbeat timeout"
        );
    }
    assert!(
        check_of(&run, Invariant::ExactlyOnce).passed,
        "what was committed was committed once"
    );
}

#[test]
fn region_failover_restarts_only_the_failed_pipeline() {
    // Two independent pipelines (forward edges only): each subtask chain is its own region.
    let run = run_modified("flink-crash-side-by-side-exactly-once.json", |v| {
        v["job"] = json!({"operators": [
            {"name": "source", "kind": "source", "parallelism": 2, "rate_per_s": 5000, "records": 20000},
            {"name": "map", "kind": "map", "parallelism": 2, "inputs": [{"from": "source", "partitioner": "forward"}], "cost": "50us", "chain": false},
            {"name": "sink", "kind": "sink", "parallelism": 2, "inputs": [{"from": "map", "partitioner": "forward"}], "delivery": "two_phase_commit"}
        ]});
        v["faults"] =
            json!({"scheduled": [{"at": "2s", "task-crash": {"operator": "map", "subtask": 1}}]});
    });
    let report = dataflow(&run);
    assert_eq!(
        report.recoveries[0].tasks_restarted, 2,
        "source[1] and map→sink[1], not subtask 0's pipeline"
    );
    assert!(check_of(&run, Invariant::ExactlyOnce).passed);
    let full = run_modified("flink-crash-side-by-side-exactly-once.json", |v| {
        v["failover-strategy"] = json!("full");
    });
    assert_eq!(dataflow(&full).recoveries[0].tasks_restarted, 4);
}

#[test]
fn partitions_spikes_stragglers_and_declines_slow_the_job_but_lose_nothing() {
    let two_task_managers = |v: &mut Value| {
        v["cluster"] = json!({"task-managers": 2, "slots-per-task-manager": 1});
        v["job"]["operators"][0]["records"] = json!(30000);
    };
    let baseline = run_modified("flink-crash-side-by-side-exactly-once.json", |v| {
        two_task_managers(v);
        v["faults"] = json!({"scheduled": []});
    });
    let finish = |run: &CompletedRun| match dataflow(run).status {
        JobStatus::Finished { at_us } => at_us,
        ref other => panic!("{other:?}"),
    };
    for fault in [
        json!({"at": "1s", "network-partition": {"between": [0, 1], "duration": "2s"}}),
        json!({"at": "1s", "straggler": {"operator": "sum", "subtask": 1, "factor": 4, "duration": "3s"}}),
    ] {
        let run = run_modified("flink-crash-side-by-side-exactly-once.json", |v| {
            two_task_managers(v);
            v["faults"] = json!({"scheduled": [fault.clone()]});
        });
        assert!(
            finish(&run) > finish(&baseline),
            "{fault} should slow the job down"
        );
        assert!(check_of(&run, Invariant::ExactlyOnce).passed, "{fault}");
    }
    // A latency spike does not slow a CPU-bound job down, but records take longer to arrive.
    let unloaded = |v: &mut Value, faults: Value| {
        two_task_managers(v);
        v["job"]["operators"][1]
            .as_object_mut()
            .unwrap()
            .remove("cost");
        v["faults"] = faults;
    };
    let quiet = run_modified("flink-crash-side-by-side-exactly-once.json", |v| {
        unloaded(v, json!({"scheduled": []}))
    });
    let spike = run_modified("flink-crash-side-by-side-exactly-once.json", |v| {
        unloaded(
            v,
            json!({"scheduled": [{"at": "1s", "latency-spike": {"extra": "200ms", "duration": "3s"}}]}),
        )
    });
    assert!(
        dataflow(&spike).metrics.latency_max_us > dataflow(&quiet).metrics.latency_max_us + 150_000
    );
    assert!(check_of(&spike, Invariant::ExactlyOnce).passed);
    let declined = run_modified("flink-crash-side-by-side-exactly-once.json", |v| {
        v["faults"] = json!({"scheduled": [{"at": "2s", "decline-checkpoint": {"operator": "sum", "subtask": 0}}]});
        v["checkpointing"]["tolerable-failed-checkpoints"] = json!(1);
    });
    // The declined checkpoint is the only failure; one still pending when the bounded job
    // finishes is aborted by the coordinator's shutdown, which is not a failure of the protocol.
    let reasons: Vec<_> = dataflow(&declined)
        .checkpoints
        .iter()
        .filter_map(|c| c.failure_reason.clone())
        .filter(|r| r != "CHECKPOINT_COORDINATOR_SHUTDOWN")
        .collect();
    assert_eq!(reasons, ["CHECKPOINT_DECLINED"]);
}

#[test]
fn random_failures_are_seeded_and_each_fault_has_its_own_stream() {
    let with = |faults: Value| {
        run_modified("flink-crash-side-by-side-exactly-once.json", |v| {
            v["faults"] = faults;
            v["restart-strategy"] =
                json!({"type": "fixed-delay", "attempts": 100, "delay": "200ms"});
        })
    };
    let failure_times = |run: &CompletedRun| -> Vec<u64> {
        dataflow(run)
            .recoveries
            .iter()
            .map(|r| r.failed_at_us)
            .collect()
    };
    let one = with(json!({"random": [{"task-crashes": {"mtbf": "5s"}}]}));
    let again = with(json!({"random": [{"task-crashes": {"mtbf": "5s"}}]}));
    assert_eq!(one.report.digest, again.report.digest);
    assert!(!failure_times(&one).is_empty());
    // A second random entry that never fires within the run leaves the first one's times alone.
    let two = with(
        json!({"random": [{"task-crashes": {"mtbf": "5s"}}, {"task-manager-crashes": {"mtbf": "1000h"}}]}),
    );
    assert_eq!(failure_times(&one), failure_times(&two));
    assert!(check_of(&one, Invariant::ExactlyOnce).passed);
    // The crash times come from the run's seed (`snapsim run --seed`, `snapsim check --seeds`),
    // not from the seed written in the file: another seed replays other crashes.
    let mut value = scenario_value("flink-crash-side-by-side-exactly-once.json");
    value["faults"] = json!({"random": [{"task-crashes": {"mtbf": "5s"}}]});
    value["restart-strategy"] = json!({"type": "fixed-delay", "attempts": 100, "delay": "200ms"});
    let parsed = scenario(&value);
    let other_seed = run_scenario(&parsed, parsed.seed + 1);
    assert_ne!(failure_times(&one), failure_times(&other_seed));
    assert_eq!(
        failure_times(&one),
        failure_times(&run_scenario(&parsed, parsed.seed))
    );
}

#[test]
fn restoring_a_pending_checkpoint_is_caught_by_the_exactly_once_check() {
    let run = run_modified("flink-broken-restore-from-pending.json", |_| {});
    assert_eq!(run.report.outcome.status, OutcomeStatus::FailedAsExpected);
    let check = check_of(&run, Invariant::ExactlyOnce);
    assert!(!check.passed);
    assert!(
        check
            .detail
            .contains("never seen by a read-committed reader"),
        "{}",
        check.detail
    );
    assert!(
        check.detail.contains("aborted on restore"),
        "names where the record went: {}",
        check.detail
    );
}

/// Runs flink-savepoint-v1 and returns its stop-with-savepoint.
fn stop_savepoint() -> savepoint::Savepoint {
    let v1 = run_modified("flink-savepoint-v1.json", |_| {});
    let JobStatus::Stopped { savepoint: id, .. } = dataflow(&v1).status else {
        panic!("{:?}", dataflow(&v1).status)
    };
    let directory =
        std::env::temp_dir().join(format!("snapsim-savepoint-test-{}", std::process::id()));
    let paths = v1.write_savepoints(&directory).unwrap();
    assert_eq!(paths.len(), 2, "the plain savepoint and the stop savepoint");
    let path = paths
        .iter()
        .find(|p| p.ends_with(format!("savepoint-{id}.json")))
        .unwrap();
    let loaded = savepoint::load(path).unwrap();
    std::fs::remove_dir_all(&directory).ok();
    loaded
}

fn final_keyed_state(
    run: &CompletedRun,
    operator: &str,
) -> std::collections::BTreeMap<u32, (i64, u64)> {
    let raw = run.dataflow_run();
    let mut merged = std::collections::BTreeMap::new();
    for (task, vertex) in raw.graph.tasks.iter().enumerate() {
        for (position, name) in vertex
            .name
            .split('[')
            .next()
            .unwrap()
            .split('→')
            .enumerate()
        {
            if name == operator {
                for (key, totals) in &raw.final_states[task][position].keyed {
                    merged.insert(*key, (totals.sum, totals.count));
                }
            }
        }
    }
    merged
}

#[test]
fn rescaling_from_a_savepoint_keeps_every_keys_state() {
    let savepoint = stop_savepoint();
    let value = for_a_savepoint_file("flink-savepoint-v2-rescale.json");
    let mut restored = scenario(&value);
    start_from_savepoint(&mut restored, &savepoint, "v1", false).unwrap();
    let Model::Dataflow(model) = &restored.model else {
        unreachable!()
    };
    let initial = model.initial_state.as_ref().unwrap();
    // Every key landed on the subtask that owns its key group at parallelism 4.
    let graph = model.job.expand(&model.cluster);
    for (task, vertex) in graph
        .tasks
        .iter()
        .enumerate()
        .filter(|(_, v)| v.name.starts_with("sum"))
    {
        let (first, last) = snapsim::workload::dataflow::key_group_range(
            vertex.subtask,
            4,
            model.job.max_parallelism,
        );
        for key in initial.task_states[task][0].keyed.keys() {
            let group = snapsim::workload::dataflow::key_group(*key, model.job.max_parallelism);
            assert!((first..=last).contains(&group));
        }
    }
    let after_restore = run_scenario(&restored, restored.seed);
    assert!(after_restore.report.outcome.is_success());
    // The report says what the restore did: every operator matched by uid; at 2 → 4 subtasks the
    // key groups 32..128 change owner (0..32 stay with subtask 0); and checkpoint ids go on
    // after the savepoint's, as Flink's do.
    let report = dataflow(&after_restore);
    let restore = report.restored_from.as_ref().expect("a restore summary");
    assert!(restore.operators.iter().all(|o| o.matched));
    let sum = restore
        .operators
        .iter()
        .find(|o| o.operator == "sum")
        .unwrap();
    assert_eq!(
        (
            sum.saved_parallelism,
            sum.parallelism,
            sum.keys,
            sum.key_groups_moved
        ),
        (Some(2), 4, 1000, 96)
    );
    assert_eq!(report.checkpoints[0].id, savepoint.savepoint_id + 1);
    // Stop at 10 s, rescale, go on: the same final state as one uninterrupted run.
    let uninterrupted = run_scenario(&scenario(&value), 1);
    assert_eq!(
        final_keyed_state(&after_restore, "sum"),
        final_keyed_state(&uninterrupted, "sum")
    );
}

#[test]
fn upgrade_migration_and_ab_tests_start_from_one_savepoint() {
    // Each file names v1's stop savepoint (`start-from-savepoint`): loading it runs v1 and maps the
    // savepoint onto the job — the same state as the savepoint file v1 writes.
    let from_file = stop_savepoint();
    let mut finals = Vec::new();
    for file in [
        "flink-savepoint-v2-upgrade.json",
        "flink-savepoint-v2-migrate.json",
        "flink-savepoint-ab-a-aligned.json",
        "flink-savepoint-ab-b-unaligned.json",
    ] {
        let value = scenario_value(file);
        let restored = scenario(&value);
        let mut by_hand = scenario(&value);
        start_from_savepoint(&mut by_hand, &from_file, "v1", false).unwrap();
        let initial = |s: &Scenario| match &s.model {
            Model::Dataflow(model) => model.initial_state.as_ref().unwrap().task_states.clone(),
            Model::ProcessGraph(_) => unreachable!(),
        };
        assert_eq!(initial(&restored), initial(&by_hand), "{file}");
        let run = run_scenario(&restored, restored.seed);
        assert!(
            run.report.outcome.is_success(),
            "{file}: {:?}",
            run.report.outcome
        );
        let handover = dataflow(&run)
            .restored_from
            .as_ref()
            .and_then(|r| r.handover.as_ref())
            .expect("the previous job is known");
        assert!(handover.previous_stopped, "{file}: v1 stopped with it");
        assert_eq!(handover.previous_commits_after_savepoint, 0, "{file}");
        finals.push(final_keyed_state(&run, "sum"));
    }
    assert_eq!(
        finals[1], finals[2],
        "migration changes nothing about the result"
    );
    assert_eq!(
        finals[2], finals[3],
        "A and B differ only in checkpointing, not in what they compute"
    );
}

#[test]
fn a_savepoint_taken_while_the_job_runs_on_is_produced_twice_by_a_job_started_from_it() {
    // Blue (v1) takes savepoint 6 at 5 s and runs on until its stop at 10 s; green starts from 6.
    let green = run_modified("flink-deploy-blue-green.json", |_| {});
    let handover = dataflow(&green)
        .restored_from
        .as_ref()
        .and_then(|r| r.handover.clone())
        .expect("the previous job is known");
    assert!(!handover.previous_stopped);
    // Every record blue read, it committed (it stopped with a savepoint that committed); the
    // ones before savepoint 6's offsets are exactly those green does not produce again.
    let blue = run_modified("flink-savepoint-v1.json", |_| {});
    let raw = blue.dataflow_run();
    let committed = raw.sinks[0].read_committed().len() as u64;
    let six = raw.completed.iter().find(|c| c.id == 6).unwrap();
    let offsets_at_six: u64 = six
        .tasks
        .iter()
        .filter(|s| raw.graph.tasks[s.task].name.starts_with("source"))
        .map(|s| s.operator_states[0].offset)
        .sum();
    assert_eq!(
        handover.previous_commits_after_savepoint,
        committed - offsets_at_six
    );
    assert!(handover.previous_commits_after_savepoint > 30_000);
}

#[test]
fn incompatible_savepoints_are_refused_with_a_reason() {
    let savepoint = stop_savepoint();
    let refuse = |change: &dyn Fn(&mut Value), allow: bool| -> String {
        let mut value = for_a_savepoint_file("flink-savepoint-v2-rescale.json");
        change(&mut value);
        let mut target = scenario(&value);
        start_from_savepoint(&mut target, &savepoint, "v1.json", allow).unwrap_err()
    };
    let message = refuse(&|v| v["job"]["max_parallelism"] = json!(256), false);
    assert!(
        message.contains("key groups") && message.contains("128"),
        "{message}"
    );
    let dropped = |v: &mut Value| {
        let operators = v["job"]["operators"].as_array_mut().unwrap();
        operators[2]["uid"] = json!("sum-v2");
    };
    let message = refuse(&dropped, false);
    assert!(
        message.contains("uid \"sum\"") && message.contains("--allow-non-restored-state"),
        "{message}"
    );
    let mut value = for_a_savepoint_file("flink-savepoint-v2-rescale.json");
    dropped(&mut value);
    let mut target = scenario(&value);
    start_from_savepoint(&mut target, &savepoint, "v1.json", true).expect("allowed to drop it");
    let message = refuse(
        &|v| {
            v["job"]["operators"][0]["parallelism"] = json!(3);
            v["job"]["operators"][1]["parallelism"] = json!(3);
        },
        false,
    );
    assert!(message.contains("cannot be rescaled"), "{message}");
    let message = refuse(
        &|v| v["job"]["operators"][1]["kind"] = json!("filter"),
        false,
    );
    assert!(
        message.contains("its state does not fit") || message.contains("does not apply"),
        "{message}"
    );

    let broken = std::env::temp_dir().join(format!(
        "snapsim-broken-savepoint-{}.json",
        std::process::id()
    ));
    std::fs::write(&broken, r#"{"format": "snapsim-savepoint", "version": 1, "scenario": "x", "savepoint_id": 1, "taken_at_us": 0, "max_parallelism": 128, "operators": [{"uid": "a", "kind": "map", "parallelism": 1, "subtasks": [{"subtask": "zero"}]}]}"#).unwrap();
    let message = savepoint::load(&broken).unwrap_err();
    assert!(
        message.contains("operators[0].subtasks[0].subtask"),
        "{message}"
    );
    std::fs::remove_file(&broken).ok();
}

#[test]
fn a_plain_savepoint_commits_nothing_and_stop_with_savepoint_commits_and_stops() {
    let v1 = run_modified("flink-savepoint-v1.json", |_| {});
    let report = dataflow(&v1);
    let savepoints: Vec<_> = report
        .checkpoints
        .iter()
        .filter(|c| c.is_savepoint)
        .collect();
    let plain_done =
        savepoints[0].trigger_timestamp_us + savepoints[0].end_to_end_duration_us.unwrap();
    let next = report
        .checkpoints
        .iter()
        .find(|c| c.id == savepoints[0].id + 1)
        .unwrap();
    let next_done = next.trigger_timestamp_us + next.end_to_end_duration_us.unwrap();
    let commits_between = v1.dataflow_run().sinks[0]
        .transactions
        .iter()
        .filter(|t| matches!(t.state, TransactionState::Committed { at_us } if at_us > plain_done && at_us < next_done))
        .count();
    assert_eq!(
        commits_between, 0,
        "no notifyCheckpointComplete for a plain savepoint"
    );
    let JobStatus::Stopped { at_us, .. } = report.status else {
        panic!()
    };
    let delivery_sink = &v1.dataflow_run().sinks[0];
    let open = delivery_sink
        .transactions
        .iter()
        .filter(|t| matches!(t.state, TransactionState::Aborted { .. }))
        .count();
    assert_eq!(
        open, 0,
        "stop-with-savepoint commits everything before stopping at {at_us}"
    );
}

#[test]
fn a_job_manager_failure_with_high_availability_resumes_from_the_latest_checkpoint() {
    // The restart strategy is `none`: a JobManager failover is not a task failure, it is not asked.
    let run = run_modified("flink-job-manager-failure-ha.json", |v| {
        v["restart-strategy"] = json!({"type": "none"});
    });
    let report = dataflow(&run);
    assert!(matches!(report.status, JobStatus::Finished { .. }));
    let recovery = &report.recoveries[0];
    assert_eq!(recovery.failed_at_us, 4_500_000);
    assert_eq!(
        recovery.detected_at_us, 9_500_000,
        "the task managers notice after heartbeat.timeout (5 s)"
    );
    assert_eq!(
        recovery.restarted_at_us,
        Some(12_500_000),
        "the new JobManager recovers the job as soon as it runs"
    );
    assert_eq!(recovery.checkpoint_restored, Some(5));
    // While the JobManager is dead, nothing is triggered and no acknowledgement is taken.
    let raw = run.dataflow_run();
    let coordinator_activity = raw.trace.events().iter().filter(|e| {
        let at = e.time().as_micros();
        (4_500_000..12_500_000).contains(&at)
            && matches!(
                e,
                DataflowEvent::CheckpointTriggered { .. } | DataflowEvent::AckReceived { .. }
            )
    });
    assert_eq!(coordinator_activity.count(), 0);
    assert!(check_of(&run, Invariant::ExactlyOnce).passed);
}

#[test]
fn a_checkpoint_pending_when_the_job_manager_dies_never_completes() {
    // Checkpoint 5 is triggered at 4.233 s and needs about 30 ms: the crash lands in between.
    let run = run_modified("flink-job-manager-failure-ha.json", |v| {
        v["faults"]["scheduled"][0]["at"] = json!("4240ms");
    });
    let report = dataflow(&run);
    let five = report.checkpoints.iter().find(|c| c.id == 5).unwrap();
    assert_eq!(
        five.failure_reason.as_deref(),
        Some("CHECKPOINT_COORDINATOR_SHUTDOWN")
    );
    assert_eq!(report.recoveries[0].checkpoint_restored, Some(4));
    assert!(check_of(&run, Invariant::ExactlyOnce).passed);
}

#[test]
fn without_high_availability_a_job_manager_failure_loses_the_job() {
    let run = run_modified("flink-job-manager-failure-no-ha.json", |_| {});
    let report = dataflow(&run);
    match &report.status {
        JobStatus::Failed { at_us, reason } => {
            assert_eq!(*at_us, 9_500_000, "when the task managers give up");
            assert!(reason.contains("no high availability"), "{reason}");
            assert!(reason.contains("checkpoint 5"), "{reason}");
        }
        other => panic!("expected FAILED, got {other:?}"),
    }
    assert_eq!(report.recoveries[0].restarted_at_us, None);
}

/// The transaction timeout shorter than the checkpoint interval: the external system aborts the
/// sink's open transaction before the checkpoint that would pre-commit it comes, and refuses the
/// next write — Kafka fences the producer (`ProducerFencedException`, which the Kafka connector's
/// documentation traces to a transaction timeout on the broker), the error a Flink job
/// with too small a `transaction.timeout.ms` shows. The sink task fails, the job restores its last
/// checkpoint and replays, the same happens again, and the restart strategy gives up. No fault is
/// needed.
#[test]
fn a_transaction_timeout_shorter_than_the_interval_fences_the_sink_until_the_restarts_run_out() {
    let run = run_modified("flink-2pc-transaction-timeout.json", |v| {
        v.as_object_mut().unwrap().remove("faults");
        v["expected_failures"] = json!([]);
        v["job"]["operators"][2]["transaction_timeout"] = json!("500ms");
    });
    let report = dataflow(&run);
    let JobStatus::Failed { reason, .. } = &report.status else {
        panic!("{:?}", report.status)
    };
    assert!(reason.contains("restart strategy exhausted"), "{reason}");
    assert_eq!(report.recoveries.len(), 4, "three restarts, then the end");
    for recovery in &report.recoveries {
        assert!(
            recovery
                .failure
                .contains("refuses the next write (Kafka fences the producer)"),
            "{}",
            recovery.failure
        );
        // Both sink subtasks are fenced at the same instant: one failover, both causes named.
        assert!(recovery.failure.contains("; and "), "{}", recovery.failure);
    }
    // Each restore's first checkpoint comes within 500 ms of the restart and commits; nothing is
    // committed twice, and the job did not finish, so what it never delivered is not called lost.
    let sink = &report.delivery.as_ref().unwrap().sinks[0];
    assert!(sink.committed_records > 0, "{sink:?}");
    assert_eq!(sink.duplicates, 0, "{sink:?}");
    assert!(check_of(&run, Invariant::ExactlyOnce).passed);

    // The same job with a timeout longer than any transaction lives commits every record.
    let run = run_modified("flink-2pc-transaction-timeout.json", |v| {
        v.as_object_mut().unwrap().remove("faults");
        v["expected_failures"] = json!([]);
    });
    let sink = &dataflow(&run).delivery.as_ref().unwrap().sinks[0];
    assert_eq!((sink.committed_records, sink.lost), (80_000, 0));
    assert!(check_of(&run, Invariant::ExactlyOnce).passed);
}

/// With the crash, the outage outlives the timeout: the records lost are named with that cause,
/// and none is called a duplicate — a record committed once is not a copy of itself.
#[test]
fn an_outage_longer_than_the_transaction_timeout_loses_records_and_says_why() {
    let run = run_modified("flink-2pc-transaction-timeout.json", |_| {});
    let sink = &dataflow(&run).delivery.as_ref().unwrap().sinks[0];
    assert!(sink.lost > 0);
    assert_eq!(sink.lost_to_transaction_timeout, sink.lost);
    assert_eq!(sink.duplicates, 0);
    let check = check_of(&run, Invariant::ExactlyOnce);
    assert!(
        check.detail.contains("transaction timeout"),
        "{}",
        check.detail
    );
    assert!(!check.detail.contains("duplicate"), "{}", check.detail);
}

/// A scenario can expect only a guarantee the oracle checks: an AT_LEAST_ONCE job is checked for
/// at-least-once, a job without checkpointing for neither.
#[test]
fn expecting_an_unchecked_guarantee_to_fail_is_an_error_in_the_scenario() {
    let refused = |change: &dyn Fn(&mut Value)| {
        let mut value = scenario_value("flink-crash-side-by-side-at-least-once.json");
        value.as_object_mut().unwrap().remove("expect");
        change(&mut value);
        let label = format!("{}/scenarios/test.json", env!("CARGO_MANIFEST_DIR"));
        snapsim::deployment::parse(&value.to_string(), &label, "test")
            .err()
            .map(|e| e.to_string())
    };
    let error = refused(&|v| v["expected_failures"] = json!(["exactly_once"])).expect("refused");
    assert!(
        error.contains("expected_failures[0]")
            && error.contains("exactly_once is never evaluated for this job")
            && error.contains("AT_LEAST_ONCE"),
        "{error}"
    );
    let error = refused(&|v| {
        v.as_object_mut().unwrap().remove("checkpointing");
        v["expected_failures"] = json!(["at_least_once"]);
    })
    .expect("refused");
    assert!(
        error.contains("without checkpointing nothing is promised"),
        "{error}"
    );
    let error = refused(&|v| v["expected_failures"] = json!(["consistent_cut"])).expect("refused");
    assert!(error.contains("never evaluated on a dataflow"), "{error}");
    assert_eq!(
        refused(&|v| v["expected_failures"] = json!(["at_least_once"])),
        None
    );
}
