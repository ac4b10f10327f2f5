//! Figures from single runs: space-time diagrams, checkpoint timelines, checkpoint sizes.

use super::context::{FigureContext, FigureError};
use crate::checkpoint::metrics::CheckpointStatus;
use crate::dataflow::DataflowRun;
use crate::plot::{
    Axis, LineChart, RenderedFiles, Series, checkpoint_timeline_from_stats, default_process_window,
    space_time_from_dataflow_run, space_time_from_process_run,
};
use crate::scenario::{DataflowModel, Model, Scenario, parse_str};
use crate::sweep::JsonPath;
use serde_json::{Value, json};

/// Parses a (possibly modified) scenario document.
pub(crate) fn scenario_of(
    context: &FigureContext,
    file: &str,
    document: &Value,
) -> Result<Scenario, FigureError> {
    let stem = file.trim_end_matches(".json");
    Ok(parse_str(
        &document.to_string(),
        &context.label(file),
        stem,
    )?)
}

/// Runs a dataflow scenario with its own seed (no oracle).
pub(crate) fn run_dataflow(
    scenario: &Scenario,
    stem: &'static str,
) -> Result<(DataflowRun, DataflowModel), FigureError> {
    let Model::Dataflow(model) = &scenario.model else {
        return Err(FigureError::Missing {
            stem,
            message: format!("{} is not a dataflow scenario", scenario.name),
        });
    };
    let mut model = (**model).clone();
    model.seed = scenario.seed;
    let run = crate::dataflow::run(&model, scenario.seed);
    Ok((run, model))
}

/// Sets one field of a scenario document (the path must exist up to its last key).
pub(crate) fn set(document: &mut Value, path: &str, value: Value) {
    JsonPath::parse(path)
        .and_then(|p| p.set(document, value))
        .unwrap_or_else(|e| panic!("figure scenario edit {path}: {e}"));
}

/// The Chandy-Lamport and the dataflow space-time diagrams.
pub fn space_time_figures(
    context: &FigureContext,
) -> Result<Vec<(&'static str, RenderedFiles)>, FigureError> {
    let mut figures = Vec::new();

    let file = "chart-space-time-chandy-lamport.json";
    let scenario = scenario_of(context, file, &context.document(file)?)?;
    let Model::ProcessGraph(model) = &scenario.model else {
        return Err(FigureError::Missing {
            stem: "space-time-chandy-lamport",
            message: format!("{file} is not a process-graph scenario"),
        });
    };
    let run = crate::chandy_lamport::run(model, scenario.seed, model.variant);
    let (from_us, to_us) = default_process_window(&run.snapshots, run.end_time.as_micros());
    let mut diagram = space_time_from_process_run(
        &model.graph,
        run.trace.events(),
        &run.snapshots,
        from_us,
        to_us,
    );
    diagram.title = "Chandy-Lamport: a0 starts a snapshot of four bank accounts; orange transfers \
                     were in flight and are the channel states"
        .to_string();
    figures.push((
        "space-time-chandy-lamport",
        diagram.render(&context.out_dir, "space-time-chandy-lamport")?,
    ));

    let file = "chart-explore-counterexample.json";
    let stem = "space-time-explore-counterexample";
    let scenario = scenario_of(context, file, &context.document(file)?)?;
    let Model::ProcessGraph(model) = &scenario.model else {
        return Err(FigureError::Missing {
            stem,
            message: format!("{file} is not a process-graph scenario"),
        });
    };
    let run = crate::chandy_lamport::run(model, scenario.seed, model.variant);
    // The whole schedule: seven steps at 1 … 7 ms.
    let mut diagram =
        space_time_from_process_run(&model.graph, run.trace.events(), &run.snapshots, 0, 8_000);
    diagram.title = "The shortest counterexample to record-after-next-message: the token is \
                     recorded by both p1 and p0"
        .to_string();
    figures.push((stem, diagram.render(&context.out_dir, stem)?));

    let file = "chart-space-time-dataflow.json";
    let scenario = scenario_of(context, file, &context.document(file)?)?;
    let (run, model) = run_dataflow(&scenario, "space-time-dataflow")?;
    let diagram =
        space_time_from_dataflow_run(&run, model.network.rpc_latency_us, 320_000, 840_000);
    figures.push((
        "space-time-dataflow",
        diagram.render(&context.out_dir, "space-time-dataflow")?,
    ));
    Ok(figures)
}

/// Checkpoint timelines of the backpressure scenario, aligned and unaligned.
pub fn timeline_figures(
    context: &FigureContext,
) -> Result<Vec<(&'static str, RenderedFiles)>, FigureError> {
    let file = "chart-backpressure.json";
    let mut figures = Vec::new();
    for (stem, unaligned) in [
        ("checkpoint-timeline-aligned", false),
        ("checkpoint-timeline-unaligned", true),
    ] {
        let mut document = context.document(file)?;
        set(&mut document, "checkpointing.unaligned", json!(unaligned));
        let scenario = scenario_of(context, file, &document)?;
        let (run, model) = run_dataflow(&scenario, stem)?;
        let names: Vec<String> = run.graph.tasks.iter().map(|t| t.name.clone()).collect();
        let title = if unaligned {
            "Unaligned checkpoint 4 under the same backpressure, close up: barriers overtake the \
             queued data"
        } else {
            "Aligned checkpoints 3-5 under backpressure (sum: 600 µs per record): barriers wait \
             behind the queued data"
        };
        let (first, last) = if unaligned { (4, 4) } else { (3, 5) };
        let mut timeline = checkpoint_timeline_from_stats(
            title,
            &names,
            &run.checkpoints,
            model.network.rpc_latency_us,
            first,
            last,
        );
        if unaligned {
            // One checkpoint, close up: it lasts milliseconds, not seconds.
            let checkpoint =
                run.checkpoints
                    .iter()
                    .find(|c| c.id == first)
                    .ok_or(FigureError::Missing {
                        stem,
                        message: format!("no checkpoint {first}"),
                    })?;
            let end = checkpoint
                .latest_ack_timestamp_us
                .unwrap_or(checkpoint.trigger_timestamp_us + 1000);
            timeline.from_us = Some(checkpoint.trigger_timestamp_us.saturating_sub(1000));
            timeline.to_us = Some(end + 1000);
        }
        figures.push((stem, timeline.render(&context.out_dir, stem)?));
    }
    Ok(figures)
}

/// Bytes uploaded per checkpoint, full (hashmap) versus incremental (RocksDB), and the full size
/// of the incremental checkpoints (every SST file they reference, compressed).
pub fn checkpoint_size_figures(
    context: &FigureContext,
) -> Result<Vec<(&'static str, RenderedFiles)>, FigureError> {
    let file = "chart-checkpoint-size.json";
    let stem = "checkpoint-size";
    let incremental_document = context.document(file)?;
    let mut full_document = incremental_document.clone();
    if let Some(state) = full_document
        .get_mut("state")
        .and_then(Value::as_object_mut)
    {
        state.insert("backend".into(), json!("hashmap"));
        state.remove("incremental");
        state.remove("compaction-trigger");
    }
    let kib = |bytes: u64| bytes as f64 / 1024.0;
    let mut series = Vec::new();
    for (name, color, document) in [
        (
            "full snapshots (hashmap): uploaded = full size",
            "#0072B2",
            &full_document,
        ),
        (
            "incremental (RocksDB): uploaded (checkpointed size)",
            "#D55E00",
            &incremental_document,
        ),
    ] {
        let incremental = std::ptr::eq(document, &incremental_document);
        let scenario = scenario_of(context, file, document)?;
        let (run, _) = run_dataflow(&scenario, stem)?;
        let completed: Vec<_> = run
            .checkpoints
            .iter()
            .filter(|c| c.status == CheckpointStatus::Completed && !c.is_savepoint)
            .collect();
        if completed.is_empty() {
            return Err(FigureError::Missing {
                stem,
                message: "no checkpoint completed".into(),
            });
        }
        let mut line = Series::new(
            name,
            completed
                .iter()
                .map(|c| (c.id as f64, kib(c.checkpointed_size)))
                .collect(),
        );
        line.color = Some(color.into());
        series.push(line);
        if incremental {
            let mut full = Series::new(
                "incremental (RocksDB): full size, every SST file referenced",
                completed
                    .iter()
                    .map(|c| (c.id as f64, kib(c.state_size)))
                    .collect(),
            );
            full.color = Some("#009E73".into());
            series.push(full);
        }
    }
    let chart = LineChart {
        title: "Bytes uploaded per checkpoint: full snapshots vs. incremental (RocksDB)".into(),
        x_axis: Axis::linear("checkpoint id (one per second; compaction after every 4th upload)"),
        y_axis: Axis::linear("size (KiB)"),
        series,
        reference_curves: Vec::new(),
        markers: Vec::new(),
    };
    Ok(vec![(stem, chart.render(&context.out_dir, stem)?)])
}
