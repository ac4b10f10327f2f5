//! Pictures of Flink runs, told as stories: the space-time diagram shows what the event record
//! holds (barriers, snapshots, cuts, crashes, restarts), the timeline what the per-subtask
//! statistics say, and both are drawn without complaint.

use serde_json::{Value, json};
use snapsim::checkpoint::metrics::CheckpointStatus;
use snapsim::dataflow::DataflowRun;
use snapsim::plot::{
    ArrowKind, SnapshotPhase, checkpoint_timeline_from_stats, default_dataflow_window,
    default_process_window, space_time_from_dataflow_run, space_time_from_process_run,
};
use snapsim::scenario::{DataflowModel, Model, parse_str};
use snapsim::sweep::JsonPath;
use snapsim::trace::DataflowEvent;

fn document(file: &str) -> Value {
    let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn simulate(document: &Value) -> (DataflowRun, DataflowModel) {
    let scenario = parse_str(&document.to_string(), "test.json", "test").unwrap();
    let Model::Dataflow(model) = scenario.model else {
        panic!("a dataflow scenario")
    };
    let run = snapsim::dataflow::run(&model, scenario.seed);
    (run, *model)
}

#[test]
fn the_dataflow_diagram_has_a_line_per_subtask_and_one_cut_per_completed_checkpoint() {
    let (run, model) = simulate(&document("chart-space-time-dataflow.json"));
    let rpc = model.network.rpc_latency_us;
    let end = run.end_time.as_micros();
    let diagram = space_time_from_dataflow_run(&run, rpc, 0, end);
    assert_eq!(diagram.lines[0], "job manager");
    assert_eq!(diagram.lines.len(), run.graph.tasks.len() + 1);
    assert_eq!(diagram.lines[1], run.graph.tasks[0].name);

    let barriers_received = run
        .trace
        .events()
        .iter()
        .filter(|e| matches!(e, DataflowEvent::BarrierReceived { .. }))
        .count();
    let barrier_arrows = diagram
        .arrows
        .iter()
        .filter(|a| a.kind == ArrowKind::Barrier)
        .count();
    assert_eq!(
        barrier_arrows, barriers_received,
        "one arrow per delivered barrier"
    );
    assert!(
        diagram.arrows.iter().all(|a| a.receive_us >= a.send_us),
        "no arrow goes back in time"
    );

    let completed = run
        .checkpoints
        .iter()
        .filter(|c| c.status == CheckpointStatus::Completed)
        .count();
    assert_eq!(diagram.cuts.len(), completed);
    for cut in &diagram.cuts {
        assert_eq!(
            cut.points.len(),
            run.graph.tasks.len(),
            "checkpoint {}: every subtask snapshotted",
            cut.snapshot_id
        );
    }
    // sum[1] crashes at 520 ms; the whole job (one region) restarts.
    assert_eq!(diagram.failures.len(), 1);
    let crashed = diagram.failures[0].line;
    assert_eq!(diagram.lines[crashed], "sum[1]");
    assert_eq!(diagram.failures[0].time_us, 520_000);
    assert_eq!(diagram.restarts.len(), run.graph.tasks.len());
    assert!(
        diagram.restarts[0]
            .label
            .as_deref()
            .is_some_and(|l| l.starts_with("restart from checkpoint")),
        "{:?}",
        diagram.restarts[0]
    );
    let svg = diagram.to_svg().unwrap();
    assert!(svg.contains("job manager") && svg.contains("crash"));
}

#[test]
fn unaligned_barriers_that_arrive_after_the_snapshot_carry_the_channel_state() {
    let mut unaligned = document("chart-backpressure.json");
    JsonPath::parse("checkpointing.unaligned")
        .unwrap()
        .set(&mut unaligned, json!(true))
        .unwrap();
    let (run, model) = simulate(&unaligned);
    let (from_us, to_us) = default_dataflow_window(&run);
    let diagram = space_time_from_dataflow_run(&run, model.network.rpc_latency_us, from_us, to_us);
    let recorded: Vec<_> = diagram
        .arrows
        .iter()
        .filter(|a| a.in_channel_state)
        .collect();
    assert!(
        !recorded.is_empty(),
        "under backpressure some barrier overtakes data"
    );
    for arrow in recorded {
        assert_eq!(arrow.kind, ArrowKind::Barrier);
        assert!(
            arrow
                .label
                .as_deref()
                .unwrap()
                .ends_with("records recorded")
        );
    }
    assert!(diagram.title.contains("unaligned"), "{}", diagram.title);

    // The same job aligned records nothing in flight.
    let (run, model) = simulate(&document("chart-backpressure.json"));
    let diagram = space_time_from_dataflow_run(&run, model.network.rpc_latency_us, 0, 8_000_000);
    assert!(diagram.arrows.iter().all(|a| !a.in_channel_state));
    assert!(
        diagram.title.contains("(aligned barriers)"),
        "{}",
        diagram.title
    );
}

#[test]
fn the_timeline_puts_each_phase_where_the_statistics_say() {
    let (run, model) = simulate(&document("chart-backpressure.json"));
    let names: Vec<String> = run.graph.tasks.iter().map(|t| t.name.clone()).collect();
    let rpc = model.network.rpc_latency_us;
    let timeline = checkpoint_timeline_from_stats("test", &names, &run.checkpoints, rpc, 3, 3);
    assert_eq!(timeline.rows.len(), names.len());
    assert_eq!(timeline.markers.len(), 1);
    let checkpoint = run.checkpoints.iter().find(|c| c.id == 3).unwrap();
    assert_eq!(timeline.markers[0].time_us, checkpoint.trigger_timestamp_us);
    for (row, stats) in timeline.rows.iter().zip(&checkpoint.subtasks) {
        let phase = |wanted: SnapshotPhase| row.segments.iter().find(|s| s.phase == wanted);
        if stats.start_delay_us > 0 {
            let delay = phase(SnapshotPhase::StartDelay).unwrap();
            assert_eq!(delay.start_us, checkpoint.trigger_timestamp_us);
            assert_eq!(delay.end_us - delay.start_us, stats.start_delay_us);
        }
        let upload = phase(SnapshotPhase::Asynchronous).unwrap();
        assert_eq!(upload.end_us, stats.ack_timestamp_us.unwrap() - rpc);
        assert_eq!(upload.end_us - upload.start_us, stats.async_duration_us);
        let sync = phase(SnapshotPhase::Synchronous).unwrap();
        assert_eq!(
            sync.end_us, upload.start_us,
            "the upload follows the sync part"
        );
    }
    // Under backpressure the keyed subtasks wait for their first barrier for a long time.
    let keyed = &checkpoint.subtasks[2];
    assert!(keyed.start_delay_us > 100_000, "{keyed:?}");
    assert!(timeline.to_svg().is_ok());
}

#[test]
fn the_chandy_lamport_window_frames_the_first_snapshot() {
    let scenario = snapsim::scenario::load_file(
        format!(
            "{}/scenarios/chart-space-time-chandy-lamport.json",
            env!("CARGO_MANIFEST_DIR")
        )
        .as_ref(),
    )
    .unwrap();
    let Model::ProcessGraph(model) = &scenario.model else {
        panic!("a process graph")
    };
    let run = snapsim::chandy_lamport::run(model, scenario.seed, model.variant);
    let (from_us, to_us) = default_process_window(&run.snapshots, run.end_time.as_micros());
    let snapshot = &run.snapshots[0];
    assert!(from_us < snapshot.started_at.as_micros());
    assert!(to_us > snapshot.completed_at.as_micros());
    let diagram = space_time_from_process_run(
        &model.graph,
        run.trace.events(),
        &run.snapshots,
        from_us,
        to_us,
    );
    assert_eq!(diagram.cuts.len(), 1);
    assert!(
        diagram.arrows.iter().any(|a| a.in_channel_state),
        "the book's figure shows a transfer caught in flight"
    );
}
