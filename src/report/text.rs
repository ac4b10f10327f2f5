//! The human-readable summary printed by `snapsim run`.

use super::outcome::OutcomeStatus;
use super::process_graph_report::{ProcessGraphReport, SnapshotReport};
use super::run_report::RunReport;
use super::text_format::{mark, wrap};
use crate::engine::SimTime;
use std::fmt::Write;

/// When a run has many snapshots: the first ones shown in full, and the last ones (failing ones
/// are always shown; the others become a block of aggregates).
const FIRST_SNAPSHOTS_SHOWN: usize = 3;
const LAST_SNAPSHOTS_SHOWN: usize = 1;
/// Channels listed with their recorded messages per snapshot shown in full.
const CHANNELS_SHOWN: usize = 12;

/// Renders the report as text for a terminal.
pub fn render(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "snapsim · {} · seed {}", report.scenario, report.seed);
    for line in wrap(&report.description, 96) {
        let _ = writeln!(out, "  {line}");
    }
    for warning in &report.warnings {
        for (index, line) in wrap(warning, 92).iter().enumerate() {
            let lead = if index == 0 { "warning:" } else { "        " };
            let _ = writeln!(out, "{lead} {line}");
        }
    }
    if let Some(cut) = &report.cut_short {
        for (index, line) in wrap(&cut.reason, 92).iter().enumerate() {
            let lead = if index == 0 {
                "CUT SHORT:"
            } else {
                "          "
            };
            let _ = writeln!(out, "{lead} {line}");
        }
    }
    let _ = writeln!(out);
    if let Some(pg) = &report.process_graph {
        render_process_graph(&mut out, report, pg);
    }
    if let Some(df) = &report.dataflow {
        super::text_dataflow::render(&mut out, report, df);
    }
    let _ = writeln!(out);
    if !report.outcome.expectations.is_empty() {
        let _ = writeln!(out, "lesson:");
        for result in &report.outcome.expectations {
            let restates = result
                .actual
                .strip_prefix("it is ")
                .is_some_and(|value| result.expectation.ends_with(&format!(" is {value}")));
            let line = if result.held && restates {
                // `… is 3` held: "it is 3" says nothing more.
                format!("{} {}", mark(true), result.expectation)
            } else if result.held {
                format!("{} {} ({})", mark(true), result.expectation, result.actual)
            } else {
                format!(
                    "{} {} — but {}",
                    mark(false),
                    result.expectation,
                    result.actual
                )
            };
            for (index, text) in wrap(&line, 96).iter().enumerate() {
                let lead = if index == 0 { "  " } else { "      " };
                let _ = writeln!(out, "{lead}{text}");
            }
            if let Some(why) = &result.why {
                for text in wrap(why, 92) {
                    let _ = writeln!(out, "      {text}");
                }
            }
        }
    }
    let names = |list: &[crate::oracle::Invariant]| {
        list.iter().map(|i| i.name()).collect::<Vec<_>>().join(", ")
    };
    let outcome = &report.outcome;
    let verdict = match outcome.status {
        OutcomeStatus::Passed => "PASSED — every invariant held".to_string(),
        OutcomeStatus::FailedAsExpected => format!(
            "FAILED AS EXPECTED — {} failed, which is what this scenario demonstrates",
            names(&outcome.failed_invariants)
        ),
        OutcomeStatus::Failed => format!("FAILED — {} failed", names(&outcome.failed_invariants)),
        OutcomeStatus::LessonNotShown => {
            let missed: Vec<&str> = outcome
                .expectations
                .iter()
                .filter(|r| !r.held)
                .map(|r| r.expectation.as_str())
                .collect();
            format!(
                "LESSON NOT SHOWN — the invariants did what this scenario says, but it expects {}",
                missed.join("; ")
            )
        }
        OutcomeStatus::CutShort => format!(
            "CUT SHORT — the event budget stopped the run after {} events, so it did not run as the scenario says",
            report.events_processed
        ),
        OutcomeStatus::ExpectedFailureMissing => format!(
            "UNEXPECTED PASS — the scenario expects {} to fail, but only [{}] did",
            names(&outcome.expected_failures),
            names(&outcome.failed_invariants)
        ),
    };
    let shown = outcome.expectations.len();
    let lesson = if outcome.is_success() && shown > 0 {
        format!(
            " · the lesson showed ({shown} expectation{} held)",
            if shown == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    let _ = writeln!(out, "result: {verdict}{lesson}");
    out
}

fn render_process_graph(out: &mut String, report: &RunReport, pg: &ProcessGraphReport) {
    let variant = match pg.protocol_variant {
        crate::chandy_lamport::ChandyLamportVariant::Correct => String::new(),
        other => format!(
            " · BROKEN PROTOCOL VARIANT: {}",
            serde_json::to_value(other)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?")
        ),
    };
    let _ = writeln!(
        out,
        "run: {} processes, {} channels, {} · {} application messages · {} events · ended at {}{variant}",
        pg.process_count,
        pg.channel_count,
        crate::topology::tokens(pg.total_tokens),
        pg.application_messages,
        report.events_processed,
        SimTime::from_micros(report.end_time_us)
    );
    let _ = writeln!(out, "digest: {}", report.digest);
    let count = pg.snapshots.len();
    let show_all = count <= 2 * (FIRST_SNAPSHOTS_SHOWN + LAST_SNAPSHOTS_SHOWN);
    let mut skipped: Vec<&SnapshotReport> = Vec::new();
    for (position, snapshot) in pg.snapshots.iter().enumerate() {
        let failing = snapshot.invariants.iter().any(|c| !c.passed);
        let at_an_end =
            position < FIRST_SNAPSHOTS_SHOWN || position + LAST_SNAPSHOTS_SHOWN >= count;
        if show_all || at_an_end || failing {
            render_skipped(out, &std::mem::take(&mut skipped));
            render_snapshot(out, snapshot);
        } else {
            skipped.push(snapshot);
        }
    }
    render_skipped(out, &skipped);
    if count == 0 {
        let _ = writeln!(out, "\nno snapshot completed");
    }
    for incomplete in &pg.incomplete_snapshots {
        let _ = writeln!(
            out,
            "\nsnapshot {} — started by {} at {}, NEVER COMPLETED (not recorded: {}; not closed: {})",
            incomplete.id,
            incomplete.initiator,
            SimTime::from_micros(incomplete.started_at_us),
            none_if_empty(&incomplete.processes_not_recorded),
            none_if_empty(&incomplete.channels_not_closed),
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} completion  {}",
        mark(pg.completion.passed),
        pg.completion.detail
    );
    let _ = writeln!(
        out,
        "all invariants checked on {count} completed snapshot(s)"
    );
}

fn render_snapshot(out: &mut String, snapshot: &SnapshotReport) {
    let _ = writeln!(
        out,
        "\nsnapshot {} — started by {} at {}, completed at {}",
        snapshot.id,
        snapshot.initiator,
        SimTime::from_micros(snapshot.started_at_us),
        SimTime::from_micros(snapshot.completed_at_us)
    );
    let states: Vec<String> = snapshot
        .processes
        .iter()
        .map(|p| format!("{}={}", p.process, p.tokens))
        .collect();
    for (index, line) in wrap(&states.join("  "), 92).into_iter().enumerate() {
        let _ = writeln!(
            out,
            "  {} {line}",
            if index == 0 {
                "processes:"
            } else {
                "          "
            }
        );
    }
    if snapshot.channels.is_empty() {
        let _ = writeln!(out, "  channels:  all empty");
    }
    for channel in snapshot.channels.iter().take(CHANNELS_SHOWN) {
        let messages: Vec<String> = channel
            .messages
            .iter()
            .map(|m| {
                format!(
                    "#{} ({} {})",
                    m.message,
                    m.tokens,
                    if m.tokens.abs() == 1 {
                        "token"
                    } else {
                        "tokens"
                    }
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  channel {}: {}",
            channel.channel,
            messages.join(", ")
        );
    }
    if let Some(rest) = snapshot.channels.get(CHANNELS_SHOWN..)
        && !rest.is_empty()
    {
        let messages: usize = rest.iter().map(|c| c.messages.len()).sum();
        let tokens: i64 = rest
            .iter()
            .flat_map(|c| &c.messages)
            .map(|m| m.tokens)
            .sum();
        let _ = writeln!(
            out,
            "  … {} more channels with recorded messages ({messages} messages, {}; all in report.json)",
            rest.len(),
            crate::topology::tokens(tokens)
        );
    }
    for check in &snapshot.invariants {
        let _ = writeln!(
            out,
            "  {} {:<15} {}",
            mark(check.passed),
            check.invariant.name(),
            check.detail
        );
    }
    let _ = writeln!(
        out,
        "  {} {}",
        if snapshot.occurred.occurred {
            "occurred:"
        } else {
            "never occurred:"
        },
        snapshot.occurred.explanation
    );
}

/// Snapshots not shown in full, as one block of aggregates (every one is in report.json).
fn render_skipped(out: &mut String, skipped: &[&SnapshotReport]) {
    let (Some(first), Some(last)) = (skipped.first(), skipped.last()) else {
        return;
    };
    let mut durations_us: Vec<u64> = skipped
        .iter()
        .map(|s| s.completed_at_us - s.started_at_us)
        .collect();
    let mut messages: Vec<u64> = skipped
        .iter()
        .map(|s| s.channels.iter().map(|c| c.messages.len() as u64).sum())
        .collect();
    let mut tokens: Vec<i64> = skipped
        .iter()
        .map(|s| {
            s.channels
                .iter()
                .flat_map(|c| &c.messages)
                .map(|m| m.tokens)
                .sum()
        })
        .collect();
    let occurred = skipped.iter().filter(|s| s.occurred.occurred).count();
    let _ = writeln!(
        out,
        "\nsnapshots {} to {} ({}), every invariant held on each — aggregates (each one in full in report.json):",
        first.id,
        last.id,
        skipped.len()
    );
    let _ = writeln!(
        out,
        "  {:<26} {:>12} {:>12} {:>12}",
        "", "min", "median", "max"
    );
    durations_us.sort_unstable();
    messages.sort_unstable();
    tokens.sort_unstable();
    let row = |name: &str, sorted: Vec<String>| {
        format!(
            "  {name:<26} {:>12} {:>12} {:>12}",
            sorted[0],
            sorted[sorted.len() / 2],
            sorted[sorted.len() - 1]
        )
    };
    let lines = [
        row(
            "start to completion",
            durations_us
                .iter()
                .map(|&d| SimTime::from_micros(d).to_string())
                .collect(),
        ),
        row(
            "messages in channel state",
            messages.iter().map(u64::to_string).collect(),
        ),
        row(
            "tokens in channel state",
            tokens.iter().map(i64::to_string).collect(),
        ),
    ];
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "  {occurred} of {} recorded a global state the run actually passed through",
        skipped.len()
    );
}

fn none_if_empty(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
