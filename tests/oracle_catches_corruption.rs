//! The oracle can fail: for each invariant, a deliberately corrupted snapshot (or event record) is
//! rejected, and the reason names what broke.

use snapsim::chandy_lamport::{GlobalSnapshot, IncompleteSnapshot, RecordedMessage};
use snapsim::engine::{LatencyDistribution, SimTime};
use snapsim::oracle::process_graph::{ProcessGraphVerdict, check};
use snapsim::oracle::{Check, Invariant};
use snapsim::report::run_scenario;
use snapsim::scenario::{Model, load_file};
use snapsim::topology::{ChannelConfig, Process, ProcessGraph};
use snapsim::trace::ProcessEvent;

/// Runs the paper's single-token example and returns its graph, event record and snapshots.
fn single_token_run() -> (ProcessGraph, Vec<ProcessEvent>, Vec<GlobalSnapshot>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/cl-paper-single-token.json"
    );
    let scenario = load_file(path.as_ref()).unwrap();
    let Model::ProcessGraph(model) = &scenario.model else {
        panic!("a process-graph scenario")
    };
    let completed = run_scenario(&scenario, scenario.seed);
    (
        model.graph.clone(),
        completed.process_graph_run().trace.events().to_vec(),
        completed.process_graph_run().snapshots.clone(),
    )
}

fn verdict_of(invariant: Invariant, verdict: &ProcessGraphVerdict) -> &Check {
    verdict.snapshots[0]
        .checks
        .iter()
        .find(|c| c.invariant == invariant)
        .unwrap()
}

#[test]
fn the_uncorrupted_run_passes_everything() {
    let (graph, events, snapshots) = single_token_run();
    let verdict = check(&graph, &events, &snapshots, &[], None);
    assert!(verdict.failed_invariants().is_empty(), "{verdict:#?}");
    // Snapshot 1 caught the token in channel p->q.
    assert_eq!(
        snapshots[0].channel(0),
        [RecordedMessage {
            message: 0,
            tokens: 1
        }]
    );
}

#[test]
fn a_channel_state_missing_the_token_in_flight_is_rejected() {
    let (graph, events, mut snapshots) = single_token_run();
    snapshots[0].channel_messages.clear(); // "forget" the token on p->q
    let verdict = check(&graph, &events, &snapshots, &[], None);
    let channel_state = verdict_of(Invariant::ChannelState, &verdict);
    assert!(!channel_state.passed);
    assert!(
        channel_state
            .detail
            .contains("channel p->q: expected [#0 (1)], recorded []"),
        "{}",
        channel_state.detail
    );
    assert!(
        channel_state
            .detail
            .contains("in flight at the cut but is missing")
    );
    let conservation = verdict_of(Invariant::Conservation, &verdict);
    assert!(!conservation.passed);
    assert!(
        conservation.detail.contains("recorded 0 tokens")
            && conservation.detail.contains("1 token too few")
    );
    assert!(
        conservation
            .detail
            .contains("#0 (1 token) on p->q is counted nowhere"),
        "{}",
        conservation.detail
    );
}

#[test]
fn an_extra_token_in_a_process_state_breaks_conservation() {
    let (graph, events, mut snapshots) = single_token_run();
    snapshots[0].process_tokens[1] = 1; // q claims to hold a token it never had
    let verdict = check(&graph, &events, &snapshots, &[], None);
    let conservation = verdict_of(Invariant::Conservation, &verdict);
    assert!(!conservation.passed);
    assert!(
        conservation.detail.contains("2 tokens")
            && conservation.detail.contains("1 token too many")
    );
    assert!(
        conservation
            .detail
            .contains("q recorded 1 token but held 0"),
        "{}",
        conservation.detail
    );
}

#[test]
fn a_state_that_adds_up_but_is_not_what_the_replay_gives_breaks_reachability() {
    let (graph, events, mut snapshots) = single_token_run();
    // Snapshot 2 recorded p=1, q=0. Swap them: the total is still 1, so conservation holds,
    // but no replay of the events before the cut puts the token at q.
    snapshots[1].process_tokens = vec![0, 1];
    let verdict = check(&graph, &events, &snapshots, &[], None);
    let second = &verdict.snapshots[1].checks;
    let conservation = second
        .iter()
        .find(|c| c.invariant == Invariant::Conservation)
        .unwrap();
    assert!(
        conservation.passed,
        "the total is still right: {}",
        conservation.detail
    );
    let reachability = second
        .iter()
        .find(|c| c.invariant == Invariant::Reachability)
        .unwrap();
    assert!(!reachability.passed);
    assert!(
        reachability.detail.contains("replaying the 2 event(s) of p before its recording, from its initial 1 token, gives 1 token, but it recorded 0"),
        "{}",
        reachability.detail
    );
}

/// Two processes, one channel each way, 5 tokens each.
fn two_processes() -> ProcessGraph {
    let channel = |from, to| ChannelConfig {
        from,
        to,
        latency: LatencyDistribution::Constant { latency_us: 1 },
        fifo: true,
        loss_probability: 0.0,
    };
    ProcessGraph {
        processes: vec![
            Process {
                name: "p".into(),
                initial_tokens: 5,
            },
            Process {
                name: "q".into(),
                initial_tokens: 5,
            },
        ],
        channels: vec![channel(0, 1), channel(1, 0)],
    }
}

#[test]
fn an_orphan_message_breaks_the_consistent_cut() {
    // A hand-written record: p records first, *then* sends 2 tokens to q; q receives them and
    // only then records. q's state includes a receipt whose sending is outside the snapshot.
    let at = SimTime::from_micros;
    let events = vec![
        ProcessEvent::StateRecorded {
            time: at(1),
            process: 0,
            snapshot: 1,
            tokens: 5,
        },
        ProcessEvent::Sent {
            time: at(2),
            channel: 0,
            message: 0,
            tokens: 2,
        },
        ProcessEvent::Received {
            time: at(3),
            channel: 0,
            message: 0,
            tokens: 2,
        },
        ProcessEvent::StateRecorded {
            time: at(4),
            process: 1,
            snapshot: 1,
            tokens: 7,
        },
    ];
    let snapshot = GlobalSnapshot {
        id: 1,
        initiator: 0,
        started_at: at(1),
        completed_at: at(5),
        process_tokens: vec![5, 7],
        channel_messages: vec![],
    };
    let verdict = check(&two_processes(), &events, &[snapshot], &[], None);
    let cut = verdict_of(Invariant::ConsistentCut, &verdict);
    assert!(!cut.passed);
    assert!(
        cut.detail
            .starts_with("orphan message #0 (2 tokens) on p->q"),
        "{}",
        cut.detail
    );
    assert!(
        cut.detail
            .contains("q received it at 3us, before recording (at 4us)")
    );
    assert!(
        cut.detail
            .contains("p sent it at 2us, after recording (at 1us)")
    );
    let conservation = verdict_of(Invariant::Conservation, &verdict);
    assert!(
        conservation.detail.contains("counted twice"),
        "{}",
        conservation.detail
    );
    assert!(!verdict_of(Invariant::Reachability, &verdict).passed);
}

#[test]
fn a_message_sent_after_the_cut_recorded_as_channel_state_is_rejected() {
    let at = SimTime::from_micros;
    let events = vec![
        ProcessEvent::StateRecorded {
            time: at(1),
            process: 0,
            snapshot: 1,
            tokens: 5,
        },
        ProcessEvent::StateRecorded {
            time: at(2),
            process: 1,
            snapshot: 1,
            tokens: 5,
        },
        ProcessEvent::Sent {
            time: at(3),
            channel: 0,
            message: 0,
            tokens: 2,
        },
        ProcessEvent::Received {
            time: at(4),
            channel: 0,
            message: 0,
            tokens: 2,
        },
    ];
    let snapshot = GlobalSnapshot {
        id: 1,
        initiator: 0,
        started_at: at(1),
        completed_at: at(5),
        process_tokens: vec![5, 5],
        channel_messages: vec![(
            0,
            vec![RecordedMessage {
                message: 0,
                tokens: 2,
            }],
        )],
    };
    let verdict = check(&two_processes(), &events, &[snapshot], &[], None);
    let channel_state = verdict_of(Invariant::ChannelState, &verdict);
    assert!(!channel_state.passed);
    assert!(
        channel_state
            .detail
            .contains("sent by p at 3us, after p recorded (at 1us)"),
        "{}",
        channel_state.detail
    );
}

#[test]
fn a_snapshot_that_never_completes_fails_completion_and_says_what_is_missing() {
    let (graph, events, snapshots) = single_token_run();
    let incomplete = IncompleteSnapshot {
        id: 3,
        initiator: 0,
        started_at: SimTime::from_micros(20_000),
        processes_not_recorded: vec![1],
        channels_not_closed: vec![0],
    };
    let verdict = check(&graph, &events, &snapshots, &[incomplete], None);
    assert!(!verdict.completion.passed);
    assert!(verdict.completion.detail.contains("snapshot 3 (started by p at 20.000ms) never completed: q never recorded; no marker ever closed p->q"));
}

#[test]
fn the_recorded_state_of_example_2_2_never_occurred_but_is_reachable() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/cl-paper-example-2-2.json"
    );
    let scenario = load_file(path.as_ref()).unwrap();
    let completed = run_scenario(&scenario, scenario.seed);
    let snapshot = &completed.report.process_graph.as_ref().unwrap().snapshots[0];
    assert!(snapshot.invariants.iter().all(|c| c.passed));
    assert!(
        !snapshot.occurred.occurred,
        "{}",
        snapshot.occurred.explanation
    );
    // And the single-token snapshot did occur: the token really was in the channel then.
    let (graph, events, snapshots) = single_token_run();
    assert!(
        check(&graph, &events, &snapshots, &[], None).snapshots[0]
            .occurred
            .occurred
    );
}
