//! The checkpoint timeline: a Gantt chart of where each subtask spent a checkpoint.
//!
//! One row per subtask; along it, coloured bars for the phases of Flink's checkpoint details view
//! (its web UI's per-subtask checkpoint statistics): the *start delay* from the trigger until the first barrier
//! reached the task, the *alignment* while the task waited for the barrier on every input, the
//! *synchronous* part of the snapshot (the task thread is paused), and the *asynchronous* part
//! (the upload to checkpoint storage, off the task thread). The first three happen on the task
//! thread and share the upper bar of a row; the asynchronous part runs in the background, so it
//! gets a thinner bar of its own underneath and may overlap the next checkpoint's start delay.
//! Time runs left to right in milliseconds.

use super::PlotError;
use super::axis::{AxisLayout, AxisScale, Tick, padded_range};
use super::canvas::{
    Anchor, DrawFailure, Figure, Painter, RenderedFiles, render_files, render_svg_string, text_size,
};
use super::legend::{LegendEntry, Swatch};
use super::palette::{INK, MARKER_COLORS, SMALL_FONT_PX, cycled};
use super::scaffold::{MarkerLine, Scaffold, ScaffoldSpec};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A Gantt chart of checkpoint phases, one row per subtask.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointTimeline {
    /// What the chart shows, e.g. "Checkpoints 3-5 of job B, aligned, under backpressure".
    pub title: String,
    /// One row per subtask, top to bottom.
    pub rows: Vec<TimelineRow>,
    /// Start of the time window; the earliest segment or marker when absent.
    #[serde(default)]
    pub from_us: Option<u64>,
    /// End of the time window; the latest segment or marker when absent.
    #[serde(default)]
    pub to_us: Option<u64>,
    /// Labelled instants drawn as vertical lines, e.g. "checkpoint 3 triggered".
    #[serde(default)]
    pub markers: Vec<TimelineMarker>,
}

/// One subtask's row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineRow {
    /// The subtask's name, e.g. `window[2]`.
    pub label: String,
    /// Its phases, in any order.
    pub segments: Vec<PhaseSegment>,
}

/// One phase of one checkpoint on one subtask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSegment {
    /// When the phase began (µs of virtual time).
    pub start_us: u64,
    /// When it ended.
    pub end_us: u64,
    /// Which phase.
    pub phase: SnapshotPhase,
    /// The checkpoint it belongs to; written on the bar when there is room.
    #[serde(default)]
    pub checkpoint: Option<u64>,
}

/// The phases of a task's part in a checkpoint, as Flink's web UI names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotPhase {
    /// From the trigger until the first barrier reached the task.
    StartDelay,
    /// From the first barrier to the last one (inputs with a barrier are blocked).
    Alignment,
    /// The synchronous part of the snapshot: the task thread is paused.
    Synchronous,
    /// The asynchronous part: the upload to checkpoint storage, in the background.
    Asynchronous,
}

impl SnapshotPhase {
    /// Every phase, in the order they happen.
    pub const ALL: [SnapshotPhase; 4] = [
        SnapshotPhase::StartDelay,
        SnapshotPhase::Alignment,
        SnapshotPhase::Synchronous,
        SnapshotPhase::Asynchronous,
    ];

    fn color(self) -> RGBColor {
        match self {
            SnapshotPhase::StartDelay => RGBColor(0xB4, 0xB4, 0xB4),
            SnapshotPhase::Alignment => RGBColor(0xE6, 0x9F, 0x00),
            SnapshotPhase::Synchronous => RGBColor(0xD5, 0x5E, 0x00),
            SnapshotPhase::Asynchronous => RGBColor(0x56, 0xB4, 0xE9),
        }
    }

    fn legend_label(self) -> &'static str {
        match self {
            SnapshotPhase::StartDelay => "start delay (barrier on its way)",
            SnapshotPhase::Alignment => "alignment (inputs blocked)",
            SnapshotPhase::Synchronous => "synchronous part (task paused)",
            SnapshotPhase::Asynchronous => "asynchronous upload (background)",
        }
    }

    /// Whether the phase runs on the task thread (upper bar) or in the background (lower bar).
    fn on_task_thread(self) -> bool {
        self != SnapshotPhase::Asynchronous
    }
}

/// A labelled instant on the timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineMarker {
    /// When (µs of virtual time).
    pub time_us: u64,
    /// Short text, e.g. "checkpoint 3 triggered".
    pub label: String,
}

const WIDTH_PX: u32 = 1400;
const ROW_HEIGHT_PX: u32 = 44;

impl CheckpointTimeline {
    /// Draws the chart to `<directory>/<stem>.png` and `<directory>/<stem>.svg`.
    pub fn render(&self, directory: &Path, stem: &str) -> Result<RenderedFiles, PlotError> {
        render_files(self, directory, stem)
    }

    /// The chart as an SVG document.
    pub fn to_svg(&self) -> Result<String, PlotError> {
        render_svg_string(self)
    }

    /// The time window in milliseconds.
    fn window_ms(&self) -> (f64, f64) {
        let starts = self
            .rows
            .iter()
            .flat_map(|r| r.segments.iter().map(|s| s.start_us));
        let ends = self
            .rows
            .iter()
            .flat_map(|r| r.segments.iter().map(|s| s.end_us));
        let marks = self.markers.iter().map(|m| m.time_us);
        let earliest = starts.chain(marks.clone()).min().unwrap_or(0);
        let latest = ends.chain(marks).max().unwrap_or(1);
        let (low, high) = padded_range(
            AxisScale::Linear,
            earliest as f64 / 1000.0,
            latest as f64 / 1000.0,
            0.02,
        );
        (
            self.from_us.map_or(low, |t| t as f64 / 1000.0),
            self.to_us.map_or(high, |t| t as f64 / 1000.0),
        )
    }
}

impl Figure for CheckpointTimeline {
    fn title(&self) -> &str {
        &self.title
    }

    fn size_px(&self) -> (u32, u32) {
        let markers = if self.markers.is_empty() { 0 } else { 72 };
        let height = 56 + markers + 76 + ROW_HEIGHT_PX * self.rows.len() as u32;
        (WIDTH_PX, height.max(330))
    }

    fn check(&self) -> Result<(), String> {
        if self.rows.is_empty() {
            return Err("there are no rows: give at least one subtask".to_string());
        }
        for row in &self.rows {
            if let Some(segment) = row.segments.iter().find(|s| s.end_us < s.start_us) {
                return Err(format!(
                    "row \"{}\" has a {:?} segment ending at {} µs before it starts at {} µs",
                    row.label, segment.phase, segment.end_us, segment.start_us
                ));
            }
        }
        let (from, to) = self.window_ms();
        if from >= to {
            return Err(format!(
                "the time window {from} ms to {to} ms is empty: from_us must be before to_us"
            ));
        }
        Ok(())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let painter = Painter::new(root);
        let (from_ms, to_ms) = self.window_ms();
        let x_axis = AxisLayout::new(AxisScale::Linear, from_ms, to_ms);
        let rows = self.rows.len();
        // Row i (from the top) spans y = rows-1-i .. rows-i; its label sits at its centre.
        let center = |row: usize| (rows - 1 - row) as f64 + 0.5;
        let y_axis = AxisLayout::with_ticks(
            (0.0, rows as f64),
            self.rows
                .iter()
                .enumerate()
                .map(|(row, r)| Tick {
                    position: center(row),
                    label: r.label.clone(),
                })
                .collect(),
        );
        let legend = SnapshotPhase::ALL
            .iter()
            .map(|&phase| {
                LegendEntry::new(
                    phase.legend_label(),
                    Swatch::Bar {
                        color: phase.color(),
                    },
                )
            })
            .collect();
        let markers = self
            .markers
            .iter()
            .enumerate()
            .map(|(index, marker)| MarkerLine {
                position: marker.time_us as f64 / 1000.0,
                label: marker.label.clone(),
                color: cycled(&MARKER_COLORS, index),
            })
            .collect();
        let scaffold = Scaffold::draw(
            root,
            ScaffoldSpec {
                title: &self.title,
                size_px: self.size_px(),
                x_axis: &x_axis,
                y_axis: &y_axis,
                x_description: "time (ms)",
                y_description: "",
                legend,
                markers,
            },
        )?;
        let frame = scaffold.frame;
        let clamp_ms = |time_us: u64| (time_us as f64 / 1000.0).clamp(from_ms, to_ms);

        for (row, timeline_row) in self.rows.iter().enumerate() {
            let middle = center(row);
            // Task-thread phases in the upper bar, the background upload in the lower one.
            let upper = (middle - 0.04, middle + 0.34);
            let lower = (middle - 0.34, middle - 0.12);
            let mut segments = timeline_row.segments.clone();
            segments.sort_by_key(|s| (s.start_us, s.phase, s.end_us));
            for segment in &segments {
                let (start, end) = (clamp_ms(segment.start_us), clamp_ms(segment.end_us));
                if segment.end_us as f64 / 1000.0 < from_ms
                    || segment.start_us as f64 / 1000.0 > to_ms
                {
                    continue;
                }
                let (bottom, top) = if segment.phase.on_task_thread() {
                    upper
                } else {
                    lower
                };
                let (left_px, right_px) = (
                    frame.x_px(start),
                    frame.x_px(end).max(frame.x_px(start) + 1),
                );
                painter.filled_rectangle(
                    (left_px, frame.y_px(top)),
                    (right_px, frame.y_px(bottom)),
                    segment.phase.color(),
                )?;
            }
            // The checkpoint id, centred on the span of its task-thread phases when it fits.
            let mut spans: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
            for segment in segments.iter().filter(|s| s.phase.on_task_thread()) {
                if let Some(checkpoint) = segment.checkpoint {
                    let span = spans
                        .entry(checkpoint)
                        .or_insert((segment.start_us, segment.end_us));
                    span.0 = span.0.min(segment.start_us);
                    span.1 = span.1.max(segment.end_us);
                }
            }
            for (checkpoint, (start_us, end_us)) in spans {
                let (left_px, right_px) =
                    (frame.x_px(clamp_ms(start_us)), frame.x_px(clamp_ms(end_us)));
                let text = checkpoint.to_string();
                if (right_px - left_px) as u32 >= text_size(&text, SMALL_FONT_PX)?.0 + 6 {
                    let y = (frame.y_px(upper.0) + frame.y_px(upper.1)) / 2;
                    painter.text(
                        &text,
                        ((left_px + right_px) / 2, y),
                        SMALL_FONT_PX,
                        INK,
                        Anchor::CENTER,
                    )?;
                }
            }
        }
        scaffold.finish(&painter)
    }
}
