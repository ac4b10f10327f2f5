//! The report of a process-graph run: simulate, hand the event record and the snapshots to the
//! oracle, name everything.

use super::outcome::{Outcome, expected_failures};
use super::process_graph_report::{
    ChannelStateReport, IncompleteSnapshotReport, MessageReport, ProcessGraphReport,
    ProcessStateReport, SnapshotReport,
};
use super::run_report::{CompletedRun, CutShortReport, RawRun, RunReport};
use crate::chandy_lamport;
use crate::oracle::process_graph as pg_oracle;
use crate::scenario::Scenario;

pub(super) fn run_process_graph(
    scenario: &Scenario,
    model: &crate::scenario::ProcessGraphModel,
    seed: u64,
    keep_record: bool,
) -> CompletedRun {
    // The oracle reads the record as the run writes it (on the other core, when there is one to
    // spare), so the record need not be kept for it.
    let mut oracle = pg_oracle::Oracle::new(&model.graph);
    let run = chandy_lamport::run_read_beside(model, seed, model.variant, keep_record, &mut oracle);
    let verdict = oracle.finish(&run.incomplete, run.cut_short);
    let graph = &model.graph;
    let name = |p: usize| graph.processes[p].name.clone();
    let snapshots = run
        .snapshots
        .iter()
        .zip(verdict.snapshots.iter())
        .map(|(snapshot, check)| SnapshotReport {
            id: snapshot.id,
            initiator: name(snapshot.initiator),
            started_at_us: snapshot.started_at.as_micros(),
            completed_at_us: snapshot.completed_at.as_micros(),
            processes: snapshot
                .process_tokens
                .iter()
                .enumerate()
                .map(|(p, &tokens)| ProcessStateReport {
                    process: name(p),
                    tokens,
                })
                .collect(),
            channels: snapshot
                .channel_messages
                .iter()
                .map(|(c, messages)| ChannelStateReport {
                    channel: graph.channel_name(*c),
                    messages: messages
                        .iter()
                        .map(|m| MessageReport {
                            message: m.message,
                            tokens: m.tokens,
                        })
                        .collect(),
                })
                .collect(),
            invariants: check.checks.clone(),
            occurred: check.occurred.clone(),
        })
        .collect();
    let incomplete_snapshots = run
        .incomplete
        .iter()
        .map(|i| IncompleteSnapshotReport {
            id: i.id,
            initiator: name(i.initiator),
            started_at_us: i.started_at.as_micros(),
            processes_not_recorded: i.processes_not_recorded.iter().map(|&p| name(p)).collect(),
            channels_not_closed: i
                .channels_not_closed
                .iter()
                .map(|&c| graph.channel_name(c))
                .collect(),
        })
        .collect();
    let report = RunReport {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed,
        digest: run.trace.digest().hex(),
        end_time_us: run.end_time.as_micros(),
        events_processed: run.events_processed,
        recorded_events: run.trace.len(),
        outcome: Outcome::judge(verdict.failed_invariants(), expected_failures(scenario))
            .cut_short(run.cut_short.is_some()),
        cut_short: run.cut_short.map(|cut| CutShortReport::new(cut, model.max_events)),
        warnings: scenario.warnings.clone(),
        dataflow: None,
        process_graph: Some(ProcessGraphReport {
            protocol_variant: model.variant,
            process_count: graph.processes.len(),
            channel_count: graph.channels.len(),
            application_messages: run.application_messages,
            total_tokens: graph.total_initial_tokens(),
            snapshots,
            incomplete_snapshots,
            completion: verdict.completion.clone(),
            refused_sends: run
                .refused_sends
                .iter()
                .map(|r| {
                    format!(
                        "at `workload.scripted[{}]`: {} is to send {} token(s) at {} but holds {}; a transfer cannot overdraw an account (write \"overdraw\": true in the send to break that assumption on purpose)",
                        r.action,
                        name(r.process),
                        r.tokens,
                        crate::engine::SimTime::from_micros(r.at_us),
                        r.balance
                    )
                })
                .collect(),
            final_tokens: run
                .final_tokens
                .iter()
                .enumerate()
                .map(|(p, &tokens)| ProcessStateReport {
                    process: name(p),
                    tokens,
                })
                .collect(),
        }),
    };
    CompletedRun {
        report,
        raw: RawRun::ProcessGraph(Box::new(run), graph.clone()),
    }
}
