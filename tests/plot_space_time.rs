//! Space-time diagrams: drawn from plain data and from real Chandy-Lamport runs, in PNG and SVG,
//! byte-identical on a second rendering; and the adapter from a run turns a tiny hand-written event
//! record into exactly the arrows, dots and cut a student would draw by hand.
//!
//! Set `SNAPSIM_PLOT_PREVIEW=/some/dir` to get a copy of every PNG there for a look.

use snapsim::chandy_lamport::{ChandyLamportVariant, GlobalSnapshot, RecordedMessage};
use snapsim::engine::{LatencyDistribution, SimTime};
use snapsim::plot::{
    Arrow, ArrowKind, Cut, Dot, Mark, PlotError, RenderedFiles, SpaceTimeDiagram,
    space_time_from_process_run,
};
use snapsim::scenario::{Model, load_file};
use snapsim::topology::{ChannelConfig, Process, ProcessGraph};
use snapsim::trace::ProcessEvent;
use std::path::{Path, PathBuf};

fn scratch_directory(name: &str) -> PathBuf {
    let directory = std::env::temp_dir()
        .join(format!("snapsim-plot-tests-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&directory);
    directory
}

/// Renders twice into two directories, checks the bytes are identical, copies the PNG to the
/// preview directory if asked, and returns the SVG text.
fn render_twice(diagram: &SpaceTimeDiagram, stem: &str) -> String {
    let first = diagram
        .render(&scratch_directory(&format!("{stem}-1")), stem)
        .unwrap();
    let second = diagram
        .render(&scratch_directory(&format!("{stem}-2")), stem)
        .unwrap();
    let read = |path: &Path| std::fs::read(path).unwrap();
    assert_eq!(
        read(&first.png),
        read(&second.png),
        "PNG differs between runs"
    );
    assert_eq!(
        read(&first.svg),
        read(&second.svg),
        "SVG differs between runs"
    );
    preview(&first);
    String::from_utf8(read(&first.svg)).unwrap()
}

fn preview(files: &RenderedFiles) {
    if let Some(directory) = std::env::var_os("SNAPSIM_PLOT_PREVIEW") {
        let directory = PathBuf::from(directory);
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::copy(&files.png, directory.join(files.png.file_name().unwrap())).unwrap();
    }
}

/// Two processes, p and q, one channel each way with a 10 µs latency.
fn two_processes() -> ProcessGraph {
    let channel = |from, to| ChannelConfig {
        from,
        to,
        latency: LatencyDistribution::Constant { latency_us: 10 },
        fifo: true,
        loss_probability: 0.0,
    };
    ProcessGraph {
        processes: ["p", "q"]
            .map(|name| Process {
                name: name.to_string(),
                initial_tokens: 10,
            })
            .to_vec(),
        channels: vec![channel(0, 1), channel(1, 0)],
    }
}

/// The story: q sends p 3 tokens (message 1) just before p records; p records at 10 µs and sends
/// its marker; p's own earlier message 0 reaches q first (FIFO), then the marker, so q records at
/// 20 µs; message 1 reached p after p recorded and before q's marker, so it is p's channel state.
/// Later, message 2 from p is lost.
fn story() -> (Vec<ProcessEvent>, Vec<GlobalSnapshot>) {
    let t = SimTime::from_micros;
    let events = vec![
        ProcessEvent::Sent {
            time: t(0),
            channel: 0,
            message: 0,
            tokens: 5,
        },
        ProcessEvent::Sent {
            time: t(5),
            channel: 1,
            message: 1,
            tokens: 3,
        },
        ProcessEvent::SnapshotInitiated {
            time: t(10),
            process: 0,
            snapshot: 1,
        },
        ProcessEvent::StateRecorded {
            time: t(10),
            process: 0,
            snapshot: 1,
            tokens: 5,
        },
        ProcessEvent::MarkerSent {
            time: t(10),
            channel: 0,
            snapshot: 1,
        },
        ProcessEvent::Received {
            time: t(12),
            channel: 0,
            message: 0,
            tokens: 5,
        },
        ProcessEvent::Received {
            time: t(15),
            channel: 1,
            message: 1,
            tokens: 3,
        },
        ProcessEvent::MarkerReceived {
            time: t(20),
            channel: 0,
            snapshot: 1,
        },
        ProcessEvent::StateRecorded {
            time: t(20),
            process: 1,
            snapshot: 1,
            tokens: 12,
        },
        ProcessEvent::MarkerSent {
            time: t(20),
            channel: 1,
            snapshot: 1,
        },
        ProcessEvent::MarkerReceived {
            time: t(30),
            channel: 1,
            snapshot: 1,
        },
        ProcessEvent::SnapshotCompleted {
            time: t(30),
            snapshot: 1,
        },
        ProcessEvent::Sent {
            time: t(40),
            channel: 0,
            message: 2,
            tokens: 1,
        },
        ProcessEvent::Lost {
            time: t(40),
            channel: 0,
            message: 2,
            tokens: 1,
        },
    ];
    let snapshot = GlobalSnapshot {
        id: 1,
        initiator: 0,
        started_at: t(10),
        completed_at: t(30),
        process_tokens: vec![5, 12],
        channel_messages: vec![(
            1,
            vec![RecordedMessage {
                message: 1,
                tokens: 3,
            }],
        )],
    };
    (events, vec![snapshot])
}

fn arrow(
    from_line: usize,
    to_line: usize,
    send_us: u64,
    receive_us: u64,
    kind: ArrowKind,
) -> Arrow {
    Arrow {
        from_line,
        to_line,
        send_us,
        receive_us,
        kind,
        in_channel_state: false,
        lost: false,
        label: None,
    }
}

#[test]
fn the_adapter_draws_what_a_student_would_draw_by_hand() {
    let (events, snapshots) = story();
    let diagram = space_time_from_process_run(&two_processes(), &events, &snapshots, 0, 60);
    assert_eq!(diagram.lines, ["p", "q"]);
    let message_0 = arrow(0, 1, 0, 12, ArrowKind::Application);
    let message_1 = Arrow {
        in_channel_state: true,
        ..arrow(1, 0, 5, 15, ArrowKind::Application)
    };
    // One snapshot at a time: its markers need no "S1" label, the cut is named.
    let marker_p_to_q = arrow(0, 1, 10, 20, ArrowKind::Marker);
    let marker_q_to_p = arrow(1, 0, 20, 30, ArrowKind::Marker);
    // Lost: drawn towards where it would have arrived after the channel's 10 µs latency.
    let message_2 = Arrow {
        lost: true,
        ..arrow(0, 1, 40, 50, ArrowKind::Application)
    };
    assert_eq!(
        diagram.arrows,
        [
            message_0,
            message_1,
            marker_p_to_q,
            marker_q_to_p,
            message_2
        ],
        "arrows in the order of their receipt"
    );
    assert_eq!(
        diagram.recorded_states,
        [
            Dot {
                line: 0,
                time_us: 10,
                snapshot_id: 1,
                label: Some("5 tokens".to_string())
            },
            Dot {
                line: 1,
                time_us: 20,
                snapshot_id: 1,
                label: Some("12 tokens".to_string())
            },
        ]
    );
    assert_eq!(
        diagram.cuts,
        [Cut {
            snapshot_id: 1,
            points: vec![(0, 10), (1, 20)]
        }]
    );
    let svg = render_twice(&diagram, "space-time-story");
    assert!(
        svg.contains("Chandy-Lamport run from 0 µs to 60 µs"),
        "title"
    );
    assert!(
        svg.contains("time (µs)"),
        "a 60 µs window is labelled in µs"
    );
    assert!(svg.contains("in a recorded channel state"), "legend");
}

#[test]
fn a_window_keeps_only_what_touches_it() {
    let (events, snapshots) = story();
    let diagram = space_time_from_process_run(&two_processes(), &events, &snapshots, 25, 60);
    // Only q's marker (20 → 30 µs) and the lost message (40 µs) reach into 25..60 µs.
    let kept: Vec<(u64, u64)> = diagram
        .arrows
        .iter()
        .map(|a| (a.send_us, a.receive_us))
        .collect();
    assert_eq!(kept, [(20, 30), (40, 50)]);
    assert!(diagram.recorded_states.is_empty());
    assert!(
        diagram.cuts.is_empty(),
        "the cut (10-20 µs) lies before the window"
    );
    render_twice(&diagram, "space-time-story-window");
}

/// A made-up dataflow picture: eight subtasks, a few hundred records, barriers, two checkpoints
/// with channel state, a failure and a restart.
fn busy_diagram() -> SpaceTimeDiagram {
    let lines: Vec<String> = [
        "source[0]",
        "source[1]",
        "map[0]",
        "map[1]",
        "map[2]",
        "map[3]",
        "sink[0]",
        "sink[1]",
    ]
    .map(String::from)
    .to_vec();
    let mut arrows = Vec::new();
    // Records: sources → maps → sinks, every 250 µs, 1-2 ms in flight.
    for step in 0..120u64 {
        let source = (step % 2) as usize;
        let map = 2 + (step % 4) as usize;
        let sink = 6 + (step % 2) as usize;
        let sent = step * 250;
        let hop = 1000 + (step * 7919) % 1000;
        arrows.push(arrow(source, map, sent, sent + hop, ArrowKind::Application));
        arrows.push(Arrow {
            in_channel_state: step % 29 == 3,
            ..arrow(
                map,
                sink,
                sent + hop + 200,
                sent + 2 * hop + 200,
                ArrowKind::Application,
            )
        });
    }
    let mut recorded_states = Vec::new();
    let mut cuts = Vec::new();
    for (checkpoint, trigger_us) in [(1u64, 8_000u64), (2, 20_000)] {
        let mut points = Vec::new();
        for source in 0..2usize {
            recorded_states.push(Dot {
                line: source,
                time_us: trigger_us,
                snapshot_id: checkpoint,
                label: None,
            });
            points.push((source, trigger_us));
            for map in 2..6usize {
                let arrive = trigger_us + 900 + 150 * map as u64 + 300 * source as u64;
                arrows.push(Arrow {
                    label: (source == 0 && map == 2).then(|| format!("B{checkpoint}")),
                    ..arrow(source, map, trigger_us, arrive, ArrowKind::Barrier)
                });
            }
        }
        for map in 2..6usize {
            let aligned = trigger_us + 900 + 150 * map as u64 + 300;
            recorded_states.push(Dot {
                line: map,
                time_us: aligned,
                snapshot_id: checkpoint,
                label: None,
            });
            points.push((map, aligned));
            for sink in 6..8usize {
                arrows.push(arrow(
                    map,
                    sink,
                    aligned,
                    aligned + 1200,
                    ArrowKind::Barrier,
                ));
            }
        }
        for sink in 6..8usize {
            let aligned = trigger_us + 900 + 150 * 5 + 300 + 1200 + 50;
            recorded_states.push(Dot {
                line: sink,
                time_us: aligned,
                snapshot_id: checkpoint,
                label: Some(format!("ack {checkpoint}")),
            });
            points.push((sink, aligned));
        }
        cuts.push(Cut {
            snapshot_id: checkpoint,
            points,
        });
    }
    SpaceTimeDiagram {
        title: "A made-up job: records, barriers, two checkpoints, a failure and a restart"
            .to_string(),
        lines,
        from_us: 2_000,
        to_us: 30_000,
        arrows,
        recorded_states,
        cuts,
        failures: vec![Mark {
            line: 4,
            time_us: 25_000,
            label: Some("map[2] crashes".to_string()),
        }],
        restarts: vec![Mark {
            line: 4,
            time_us: 28_000,
            label: Some("restored from checkpoint 2".to_string()),
        }],
    }
}

#[test]
fn a_busy_diagram_renders_and_clips_to_its_window() {
    let diagram = busy_diagram();
    assert!(diagram.arrows.len() > 250);
    let svg = render_twice(&diagram, "space-time-busy");
    for text in [
        "A made-up job",
        "time (ms)",
        "source[0]",
        "sink[1]",
        "checkpoint barrier",
        "failure",
        "restart",
    ] {
        assert!(svg.contains(text), "the SVG does not contain \"{text}\"");
    }
}

/// The space-time diagram of a real run: five bank accounts, snapshots every 25 ms.
#[test]
fn a_bank_run_with_concurrent_messages_and_periodic_snapshots() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/cl-bank-5-accounts.json"
    );
    let scenario = load_file(path.as_ref()).unwrap();
    let Model::ProcessGraph(model) = &scenario.model else {
        panic!("a process-graph scenario");
    };
    let run = snapsim::chandy_lamport::run(model, scenario.seed, ChandyLamportVariant::Correct);
    let diagram = space_time_from_process_run(
        &model.graph,
        run.trace.events(),
        &run.snapshots,
        20_000,
        80_000,
    );
    assert!(diagram.arrows.len() > 50, "{} arrows", diagram.arrows.len());
    assert!(!diagram.cuts.is_empty());
    assert!(
        diagram.arrows.iter().any(|a| a.in_channel_state),
        "money in flight is recorded"
    );
    assert!(
        diagram.arrows.iter().all(|a| a.label.is_none()),
        "snapshots 25 ms apart never overlap: no marker labels"
    );
    render_twice(&diagram, "space-time-bank");

    let mut zoomed = space_time_from_process_run(
        &model.graph,
        run.trace.events(),
        &run.snapshots,
        49_000,
        56_000,
    );
    zoomed.title = "Bank, 5 accounts: snapshot 2 up close (49-56 ms)".to_string();
    render_twice(&zoomed, "space-time-bank-zoomed");
}

#[test]
fn an_arrow_to_a_line_that_does_not_exist_is_refused() {
    let mut diagram = busy_diagram();
    diagram.arrows[3].to_line = 9;
    match diagram.to_svg().unwrap_err() {
        PlotError::InvalidChart { reason, .. } => assert!(reason.contains("line 9"), "{reason}"),
        other => panic!("expected InvalidChart, got {other:?}"),
    }
}

/// Concurrent snapshots on a ring: markers of different snapshots cross, so each carries its id.
#[test]
fn concurrent_snapshots_get_labelled_markers() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/cl-ring-concurrent-snapshots.json"
    );
    let scenario = load_file(path.as_ref()).unwrap();
    let Model::ProcessGraph(model) = &scenario.model else {
        panic!("a process-graph scenario");
    };
    let run = snapsim::chandy_lamport::run(model, scenario.seed, ChandyLamportVariant::Correct);
    let first = &run.snapshots[0];
    let from_us = first.started_at.as_micros().saturating_sub(1000);
    let to_us = first.completed_at.as_micros() + 4000;
    let diagram = space_time_from_process_run(
        &model.graph,
        run.trace.events(),
        &run.snapshots,
        from_us,
        to_us,
    );
    let labels: std::collections::BTreeSet<&str> = diagram
        .arrows
        .iter()
        .filter_map(|a| a.label.as_deref())
        .collect();
    assert!(
        labels.len() >= 2,
        "markers of several snapshots, labelled: {labels:?}"
    );
    render_twice(&diagram, "space-time-ring-concurrent");
}
