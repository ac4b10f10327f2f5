//! The space-time diagram: the picture of a distributed computation the snapshot papers draw.
//!
//! Each process (or subtask) is a horizontal line and time runs left to right. A message is an
//! arrow from its sender's line at the send time to its receiver's line at the receipt time:
//! application messages thin and grey, markers and barriers in blue, and messages that ended up
//! in a recorded channel state thick and orange — those are the ones the snapshot caught in
//! flight. Each process's recorded state is a dot, and the dots of one snapshot are joined into
//! its *cut*, the line that separates the events the snapshot includes (left) from those it does
//! not (right); a consistent cut has no message arrow crossing it from right to left. Failures are
//! red crosses, restarts grey triangles.
//!
//! The diagram shows the window `from_us..to_us` only: arrows are clipped at its edges and
//! arrows entirely outside it are dropped, so a long run can be looked at piece by piece. Lines are
//! thin so that a few hundred arrows on ten processes stay readable.

use super::PlotError;
use super::axis::{AxisLayout, AxisScale, Frame, Tick};
use super::canvas::{
    DrawFailure, Figure, Painter, Pixel, RenderedFiles, render_files, render_svg_string,
};
use super::geometry::{Window, clip_polyline, clip_segment};
use super::legend::{CUT_OPACITY, LabelBoard, LabelSide, LegendEntry, Swatch, draw_arrowhead};
use super::palette::{FAILURE_RED, INK, INK_LIGHT, SMALL_FONT_PX, SNAPSHOT_COLORS, cycled};
use super::scaffold::{Scaffold, ScaffoldSpec};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

/// A space-time diagram of one window of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceTimeDiagram {
    /// What the diagram shows, e.g. "Chandy-Lamport on the bank, snapshot 2".
    pub title: String,
    /// The processes or subtasks, one horizontal line each, top to bottom.
    pub lines: Vec<String>,
    /// Start of the window (µs of virtual time).
    pub from_us: u64,
    /// End of the window.
    pub to_us: u64,
    /// Messages.
    pub arrows: Vec<Arrow>,
    /// Recorded local states, one dot each.
    #[serde(default)]
    pub recorded_states: Vec<Dot>,
    /// Snapshot cuts, each a line through its recording points.
    #[serde(default)]
    pub cuts: Vec<Cut>,
    /// Failures, drawn as red crosses.
    #[serde(default)]
    pub failures: Vec<Mark>,
    /// Restarts, drawn as triangles.
    #[serde(default)]
    pub restarts: Vec<Mark>,
}

/// One message from one line to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrow {
    /// Index of the sender's line.
    pub from_line: usize,
    /// Index of the receiver's line.
    pub to_line: usize,
    /// When it was sent.
    pub send_us: u64,
    /// When it was received (for a lost message: when it would have arrived; the arrow stops
    /// half-way there).
    pub receive_us: u64,
    /// What kind of message, which sets its colour.
    pub kind: ArrowKind,
    /// Whether the message is part of a recorded channel state (drawn thick and orange).
    #[serde(default)]
    pub in_channel_state: bool,
    /// Whether the message was lost in transit (drawn dashed, ending in a cross).
    #[serde(default)]
    pub lost: bool,
    /// Short text written along the arrow, e.g. "S1" on a marker of snapshot 1.
    #[serde(default)]
    pub label: Option<String>,
}

/// What a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrowKind {
    /// An ordinary message of the computation.
    Application,
    /// A Chandy-Lamport marker.
    Marker,
    /// A Flink checkpoint barrier.
    Barrier,
    /// Control messages: a job manager's trigger RPC, a task's acknowledgement.
    Other,
}

impl ArrowKind {
    fn color(self) -> RGBColor {
        match self {
            ArrowKind::Application => RGBColor(0x8C, 0x8C, 0x8C),
            ArrowKind::Marker => RGBColor(0x00, 0x72, 0xB2),
            ArrowKind::Barrier => RGBColor(0x56, 0xB4, 0xE9),
            ArrowKind::Other => RGBColor(0xB8, 0x86, 0x0B),
        }
    }

    fn width_px(self) -> u32 {
        match self {
            ArrowKind::Application => 1,
            _ => 2,
        }
    }

    fn legend_label(self) -> &'static str {
        match self {
            ArrowKind::Application => "application message",
            ArrowKind::Marker => "marker",
            ArrowKind::Barrier => "checkpoint barrier",
            ArrowKind::Other => "RPC: trigger, acknowledgement",
        }
    }
}

/// Orange, thick: a message recorded as part of a channel's state.
const CHANNEL_STATE_COLOR: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
/// The restart triangle.
const RESTART_COLOR: RGBColor = RGBColor(0x4D, 0x4D, 0x4D);
/// Snapshots listed one by one in the legend; beyond that one line says colours repeat.
const LEGEND_SNAPSHOTS_MAX: usize = 6;

/// A recorded local state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dot {
    /// Index of the line.
    pub line: usize,
    /// When the state was recorded.
    pub time_us: u64,
    /// The snapshot (or checkpoint) it belongs to, which sets its colour.
    pub snapshot_id: u64,
    /// Short text next to the dot, e.g. "40 tokens".
    #[serde(default)]
    pub label: Option<String>,
}

/// A snapshot's cut: the line through its recording points, one per line of the diagram.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cut {
    /// The snapshot, which sets the colour and the label `S<id>`.
    pub snapshot_id: u64,
    /// (line index, recording time in µs), in any order; drawn joined from the top line down.
    pub points: Vec<(usize, u64)>,
}

/// A labelled instant on one line: a failure or a restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mark {
    /// Index of the line.
    pub line: usize,
    /// When.
    pub time_us: u64,
    /// Short text next to the mark.
    #[serde(default)]
    pub label: Option<String>,
}

const WIDTH_PX: u32 = 1600;
const LINE_SPACING_PX: u32 = 72;

/// The colour of a snapshot's dots and cut.
fn snapshot_color(snapshot_id: u64) -> RGBColor {
    cycled(&SNAPSHOT_COLORS, snapshot_id as usize)
}

impl SpaceTimeDiagram {
    /// Keeps only what shows in the window `from_us..=to_us`: arrows that cross it, dots and
    /// marks inside it, and cuts that reach into it.
    pub fn keep_window(mut self) -> SpaceTimeDiagram {
        let (from_us, to_us) = (self.from_us, self.to_us);
        let in_window = |time_us: u64| time_us >= from_us && time_us <= to_us;
        self.arrows
            .retain(|a| a.send_us <= to_us && a.receive_us >= from_us);
        self.recorded_states.retain(|d| in_window(d.time_us));
        self.failures.retain(|m| in_window(m.time_us));
        self.restarts.retain(|m| in_window(m.time_us));
        self.cuts.retain(|cut| {
            let earliest = cut.points.iter().map(|p| p.1).min().unwrap_or(u64::MAX);
            let latest = cut.points.iter().map(|p| p.1).max().unwrap_or(0);
            earliest <= to_us && latest >= from_us
        });
        self
    }

    /// Draws the diagram to `<directory>/<stem>.png` and `<directory>/<stem>.svg`.
    pub fn render(&self, directory: &Path, stem: &str) -> Result<RenderedFiles, PlotError> {
        render_files(self, directory, stem)
    }

    /// The diagram as an SVG document.
    pub fn to_svg(&self) -> Result<String, PlotError> {
        render_svg_string(self)
    }

    /// Microseconds for short windows, milliseconds otherwise.
    fn time_unit(&self) -> TimeUnit {
        if self.to_us - self.from_us < 2000 {
            TimeUnit {
                microseconds_per_unit: 1.0,
                axis_description: "time (µs)",
            }
        } else {
            TimeUnit {
                microseconds_per_unit: 1000.0,
                axis_description: "time (ms)",
            }
        }
    }

    /// The axis position of line `index` (the first line is at the top).
    fn line_position(&self, index: usize) -> f64 {
        (self.lines.len() - 1 - index) as f64
    }

    fn in_window(&self, time_us: u64) -> bool {
        time_us >= self.from_us && time_us <= self.to_us
    }

    /// Whether an arrow has any part inside the window.
    fn arrow_visible(&self, arrow: &Arrow) -> bool {
        arrow.send_us <= self.to_us && arrow.receive_us >= self.from_us
    }

    /// Whether a cut has any part inside the window.
    fn cut_visible(&self, cut: &Cut) -> bool {
        let earliest = cut.points.iter().map(|p| p.1).min();
        let latest = cut.points.iter().map(|p| p.1).max();
        matches!((earliest, latest), (Some(e), Some(l)) if e <= self.to_us && l >= self.from_us)
    }

    /// The snapshots whose cut or dots are visible, in id order.
    fn visible_snapshots(&self) -> BTreeSet<u64> {
        let from_cuts = self
            .cuts
            .iter()
            .filter(|c| self.cut_visible(c))
            .map(|c| c.snapshot_id);
        let from_dots = self
            .recorded_states
            .iter()
            .filter(|d| self.in_window(d.time_us))
            .map(|d| d.snapshot_id);
        from_cuts.chain(from_dots).collect()
    }

    /// Legend entries for what is actually visible, in a fixed order.
    fn legend_entries(&self) -> Vec<LegendEntry> {
        let visible: Vec<&Arrow> = self
            .arrows
            .iter()
            .filter(|a| self.arrow_visible(a))
            .collect();
        let kinds: BTreeSet<ArrowKind> = visible.iter().map(|a| a.kind).collect();
        let mut entries = Vec::new();
        for kind in kinds {
            entries.push(LegendEntry::new(
                kind.legend_label(),
                Swatch::Arrow {
                    color: kind.color(),
                    width_px: kind.width_px(),
                },
            ));
        }
        if visible.iter().any(|a| a.in_channel_state) {
            entries.push(LegendEntry::new(
                "in a recorded channel state",
                Swatch::Arrow {
                    color: CHANNEL_STATE_COLOR,
                    width_px: 3,
                },
            ));
        }
        if visible.iter().any(|a| a.lost) {
            entries.push(LegendEntry::new(
                "lost in transit",
                Swatch::LostArrow {
                    color: ArrowKind::Application.color(),
                },
            ));
        }
        let snapshots = self.visible_snapshots();
        for &snapshot in snapshots.iter().take(LEGEND_SNAPSHOTS_MAX) {
            entries.push(LegendEntry::new(
                format!("snapshot {snapshot}: states, cut"),
                Swatch::Cut {
                    color: snapshot_color(snapshot),
                },
            ));
        }
        if snapshots.len() > LEGEND_SNAPSHOTS_MAX {
            entries.push(LegendEntry::new(
                format!(
                    "… {} more (colours repeat)",
                    snapshots.len() - LEGEND_SNAPSHOTS_MAX
                ),
                Swatch::Empty,
            ));
        }
        if self.failures.iter().any(|m| self.in_window(m.time_us)) {
            entries.push(LegendEntry::new(
                "failure",
                Swatch::Cross { color: FAILURE_RED },
            ));
        }
        if self.restarts.iter().any(|m| self.in_window(m.time_us)) {
            entries.push(LegendEntry::new(
                "restart",
                Swatch::Triangle {
                    color: RESTART_COLOR,
                },
            ));
        }
        entries
    }
}

impl Figure for SpaceTimeDiagram {
    fn title(&self) -> &str {
        &self.title
    }

    fn size_px(&self) -> (u32, u32) {
        let height = 56 + 70 + LINE_SPACING_PX * self.lines.len() as u32;
        let legend_rows = self.legend_entries().len() as u32;
        (
            WIDTH_PX,
            height.max(56 + 40 + 28 * legend_rows + 40).max(400),
        )
    }

    fn check(&self) -> Result<(), String> {
        if self.lines.is_empty() {
            return Err("there are no lines: give at least one process".to_string());
        }
        if self.from_us >= self.to_us {
            return Err(format!(
                "the window from {} µs to {} µs is empty: from_us must be before to_us",
                self.from_us, self.to_us
            ));
        }
        let lines = self.lines.len();
        let check_line = |line: usize, what: &str| {
            if line < lines {
                Ok(())
            } else {
                Err(format!(
                    "{what} is on line {line}, but there are only {lines} lines (0 to {})",
                    lines - 1
                ))
            }
        };
        for (index, arrow) in self.arrows.iter().enumerate() {
            let what = format!("arrow {index} (sent at {} µs)", arrow.send_us);
            check_line(arrow.from_line, &what)?;
            check_line(arrow.to_line, &what)?;
            if arrow.receive_us < arrow.send_us {
                return Err(format!(
                    "{what} is received at {} µs, before it was sent",
                    arrow.receive_us
                ));
            }
        }
        for dot in &self.recorded_states {
            check_line(
                dot.line,
                &format!("the recorded state of snapshot {}", dot.snapshot_id),
            )?;
        }
        for cut in &self.cuts {
            for &(line, _) in &cut.points {
                check_line(
                    line,
                    &format!("a point of snapshot {}'s cut", cut.snapshot_id),
                )?;
            }
        }
        for mark in self.failures.iter().chain(&self.restarts) {
            check_line(mark.line, &format!("the mark at {} µs", mark.time_us))?;
        }
        Ok(())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let painter = Painter::new(root);
        let lines = self.lines.len();
        let unit = self.time_unit();
        let x_axis = AxisLayout::new(
            AxisScale::Linear,
            unit.position(self.from_us),
            unit.position(self.to_us),
        );
        let y_axis = AxisLayout::with_ticks(
            (-0.5, lines as f64 - 0.5),
            self.lines
                .iter()
                .enumerate()
                .map(|(index, name)| Tick {
                    position: self.line_position(index),
                    label: name.clone(),
                })
                .collect(),
        );
        let scaffold = Scaffold::draw(
            root,
            ScaffoldSpec {
                title: &self.title,
                size_px: self.size_px(),
                x_axis: &x_axis,
                y_axis: &y_axis,
                x_description: unit.axis_description,
                y_description: "",
                legend: self.legend_entries(),
                markers: Vec::new(),
            },
        )?;
        let frame = scaffold.frame;
        let window = frame.window();
        let point = |line: usize, time_us: u64| (unit.position(time_us), self.line_position(line));

        for index in 0..lines {
            let y = frame.y_px(self.line_position(index));
            painter.polyline(vec![(frame.left_px, y), (frame.right_px, y)], INK_LIGHT, 1)?;
        }

        // Cuts go underneath, as wide translucent bands: the first marker of a snapshot often
        // runs exactly along its cut and must stay visible.
        let mut cuts: Vec<&Cut> = self.cuts.iter().filter(|c| self.cut_visible(c)).collect();
        cuts.sort_by_key(|c| c.snapshot_id);
        for cut in &cuts {
            let mut points = cut.points.clone();
            points.sort();
            let positions: Vec<(f64, f64)> = points.iter().map(|&(l, t)| point(l, t)).collect();
            let color = snapshot_color(cut.snapshot_id).mix(CUT_OPACITY);
            for piece in clip_polyline(&positions, window) {
                painter.translucent_polyline(
                    piece.into_iter().map(|p| frame.pixel(p)).collect(),
                    color,
                    7,
                )?;
            }
        }

        // Plain messages first, highlighted ones over them, control messages on top.
        let visible: Vec<&Arrow> = self
            .arrows
            .iter()
            .filter(|a| self.arrow_visible(a))
            .collect();
        let layer = |arrow: &Arrow| match (arrow.kind, arrow.in_channel_state) {
            (ArrowKind::Application, false) => 0,
            (ArrowKind::Application, true) => 1,
            (_, false) => 2,
            (_, true) => 3,
        };
        for current in 0..4 {
            for arrow in visible.iter().filter(|a| layer(a) == current) {
                self.draw_arrow(&painter, &frame, window, arrow)?;
            }
        }

        let dots: Vec<&Dot> = self
            .recorded_states
            .iter()
            .filter(|d| self.in_window(d.time_us))
            .collect();
        for dot in &dots {
            let at = frame.pixel(point(dot.line, dot.time_us));
            painter.dot(at, 6, snapshot_color(dot.snapshot_id), INK)?;
        }
        let marks: Vec<(&Mark, RGBColor)> = self
            .failures
            .iter()
            .map(|m| (m, FAILURE_RED))
            .chain(self.restarts.iter().map(|m| (m, RESTART_COLOR)))
            .filter(|(m, _)| self.in_window(m.time_us))
            .collect();
        for &(mark, color) in &marks {
            let at = frame.pixel(point(mark.line, mark.time_us));
            if color == FAILURE_RED {
                painter.cross(at, 8, color, 3)?;
            } else {
                painter.triangle_right(at, 8, color)?;
            }
        }

        // Labels last, most important first; a label that would overlap another is left out.
        let mut board =
            LabelBoard::new((frame.left_px, frame.top_px, frame.right_px, frame.bottom_px));
        for &(mark, color) in &marks {
            if let Some(label) = &mark.label {
                let at = frame.pixel(point(mark.line, mark.time_us));
                let sides = [
                    LabelSide::BelowRight,
                    LabelSide::AboveRight,
                    LabelSide::BelowLeft,
                    LabelSide::AboveLeft,
                ];
                board.place(&painter, label, at, &sides, SMALL_FONT_PX, color)?;
            }
        }
        for cut in &cuts {
            // Each cut is named under its lowest visible point.
            let lowest = cut
                .points
                .iter()
                .filter(|p| self.in_window(p.1))
                .max_by_key(|p| (p.0, p.1));
            if let Some(&(line, time_us)) = lowest {
                board.place(
                    &painter,
                    &format!("S{}", cut.snapshot_id),
                    frame.pixel(point(line, time_us)),
                    &[
                        LabelSide::Below,
                        LabelSide::BelowRight,
                        LabelSide::BelowLeft,
                    ],
                    SMALL_FONT_PX,
                    snapshot_color(cut.snapshot_id),
                )?;
            }
        }
        for dot in &dots {
            if let Some(label) = &dot.label {
                let at = frame.pixel(point(dot.line, dot.time_us));
                let sides = [
                    LabelSide::AboveRight,
                    LabelSide::AboveLeft,
                    LabelSide::BelowRight,
                    LabelSide::BelowLeft,
                ];
                board.place(&painter, label, at, &sides, SMALL_FONT_PX, INK)?;
            }
        }
        for arrow in &visible {
            if let Some(label) = &arrow.label {
                let send = point(arrow.from_line, arrow.send_us);
                let receive = point(arrow.to_line, arrow.receive_us);
                let at = (
                    0.6 * send.0 + 0.4 * receive.0,
                    0.6 * send.1 + 0.4 * receive.1,
                );
                if at.0 >= window.0 && at.0 <= window.2 {
                    let color = if arrow.in_channel_state {
                        CHANNEL_STATE_COLOR
                    } else {
                        arrow.kind.color()
                    };
                    let sides = [LabelSide::Right, LabelSide::Left];
                    board.place(
                        &painter,
                        label,
                        frame.pixel(at),
                        &sides,
                        SMALL_FONT_PX,
                        color,
                    )?;
                }
            }
        }
        scaffold.finish(&painter)
    }
}

/// The unit of the time axis: microseconds for windows shorter than 2 ms, milliseconds otherwise.
struct TimeUnit {
    microseconds_per_unit: f64,
    axis_description: &'static str,
}

impl TimeUnit {
    /// The axis position of an instant.
    fn position(&self, time_us: u64) -> f64 {
        time_us as f64 / self.microseconds_per_unit
    }
}

impl SpaceTimeDiagram {
    /// Draws one message, clipped to the window; the head only if the receipt is inside it.
    fn draw_arrow<DB: DrawingBackend>(
        &self,
        painter: &Painter<DB>,
        frame: &Frame,
        window: Window,
        arrow: &Arrow,
    ) -> Result<(), DrawFailure> {
        let (color, width_px) = if arrow.in_channel_state {
            (CHANNEL_STATE_COLOR, 3)
        } else {
            (arrow.kind.color(), arrow.kind.width_px())
        };
        let unit = self.time_unit();
        let send = (
            unit.position(arrow.send_us),
            self.line_position(arrow.from_line),
        );
        let receive = (
            unit.position(arrow.receive_us),
            self.line_position(arrow.to_line),
        );
        if arrow.lost {
            // Dashed to half-way, then a cross: it never arrived.
            let half = ((send.0 + receive.0) / 2.0, (send.1 + receive.1) / 2.0);
            if let Some((start, end)) = clip_segment(send, half, window) {
                painter.dashed_polyline(
                    vec![frame.pixel(start), frame.pixel(end)],
                    color,
                    1,
                    4,
                    3,
                )?;
                if end == half {
                    painter.cross(frame.pixel(half), 4, color, 2)?;
                }
            }
            return Ok(());
        }
        let path: Vec<(f64, f64)> = if arrow.from_line == arrow.to_line {
            // A message to itself: a small arch above the line.
            let middle = ((send.0 + receive.0) / 2.0, send.1 + 0.25);
            vec![send, middle, receive]
        } else {
            vec![send, receive]
        };
        let pieces = clip_polyline(&path, window);
        for piece in &pieces {
            let pixels: Vec<Pixel> = piece.iter().map(|&p| frame.pixel(p)).collect();
            painter.polyline(pixels, color, width_px)?;
        }
        let arrives_inside = arrow.receive_us >= self.from_us && arrow.receive_us <= self.to_us;
        if let (true, Some(last_piece)) = (arrives_inside, pieces.last()) {
            let tail = frame.pixel(last_piece[last_piece.len() - 2]);
            let tip = frame.pixel(receive);
            draw_arrowhead(
                painter,
                (f64::from(tail.0), f64::from(tail.1)),
                (f64::from(tip.0), f64::from(tip.1)),
                color,
            )?;
        }
        Ok(())
    }
}
