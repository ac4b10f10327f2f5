//! Legends and labels that must not cover the data.
//!
//! The legend sits in its own panel to the right of the plot, never on top of it: a curve that
//! happens to run through the upper-right corner stays visible. Labels of vertical marker lines
//! ("Young τ*", "checkpoint 3 triggered") sit in rows above the plot, moved up a row when they
//! would overlap a neighbour. Small labels inside the plot go through a [`LabelBoard`], which
//! leaves a label out rather than pile it on another.

use super::canvas::{Anchor, DrawFailure, Painter, Pixel, text_size};
use super::palette::{INK, LABEL_FONT_PX};
use plotters::prelude::*;

/// The small picture in front of a legend entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Swatch {
    /// A line with a dot on it (a measured series).
    LineWithPoint { color: RGBColor },
    /// A wide translucent line with a dot (a snapshot's cut and its recorded states).
    Cut { color: RGBColor },
    /// A dashed line (a reference curve or a marker line).
    DashedLine { color: RGBColor, width_px: u32 },
    /// A translucent band (a confidence interval).
    Band { color: RGBColor },
    /// A filled bar (a phase in a timeline).
    Bar { color: RGBColor },
    /// An arrow (a message).
    Arrow { color: RGBColor, width_px: u32 },
    /// A dashed arrow ending in a cross (a lost message).
    LostArrow { color: RGBColor },
    /// A cross (a failure).
    Cross { color: RGBColor },
    /// A triangle (a restart).
    Triangle { color: RGBColor },
    /// No picture (an entry that only explains).
    Empty,
}

/// One line of a legend.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LegendEntry {
    pub label: String,
    pub swatch: Swatch,
}

impl LegendEntry {
    /// An entry with the given label and picture.
    pub fn new(label: impl Into<String>, swatch: Swatch) -> LegendEntry {
        LegendEntry {
            label: label.into(),
            swatch,
        }
    }
}

const SWATCH_WIDTH_PX: i32 = 40;
/// Opacity of the wide band that draws a snapshot's cut.
pub(crate) const CUT_OPACITY: f64 = 0.55;
const ROW_HEIGHT_PX: i32 = 28;
const PADDING_PX: i32 = 12;

/// Width and height of the legend box for these entries.
pub(crate) fn legend_size_px(entries: &[LegendEntry]) -> Result<(u32, u32), DrawFailure> {
    let mut widest = 0;
    for entry in entries {
        widest = widest.max(text_size(&entry.label, LABEL_FONT_PX)?.0);
    }
    let width = widest as i32 + SWATCH_WIDTH_PX + 3 * PADDING_PX;
    let height = entries.len() as i32 * ROW_HEIGHT_PX + 2 * PADDING_PX - 6;
    Ok((width.max(0) as u32, height.max(0) as u32))
}

/// Draws the legend box with its top-left corner at `top_left`.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    painter: &Painter<DB>,
    entries: &[LegendEntry],
    top_left: Pixel,
) -> Result<(), DrawFailure> {
    if entries.is_empty() {
        return Ok(());
    }
    let (width, height) = legend_size_px(entries)?;
    let (left, top) = top_left;
    let bottom_right = (left + width as i32, top + height as i32);
    painter.rectangle_outline(top_left, bottom_right, RGBColor(0xBB, 0xBB, 0xBB), 1)?;
    for (row, entry) in entries.iter().enumerate() {
        let y = top + PADDING_PX + row as i32 * ROW_HEIGHT_PX + ROW_HEIGHT_PX / 2 - 3;
        let x = left + PADDING_PX;
        draw_swatch(painter, entry.swatch, (x, y))?;
        painter.text(
            &entry.label,
            (x + SWATCH_WIDTH_PX + PADDING_PX, y),
            LABEL_FONT_PX,
            INK,
            Anchor::LEFT_CENTER,
        )?;
    }
    Ok(())
}

/// Draws one swatch, `SWATCH_WIDTH_PX` wide, starting at `left_middle`.
fn draw_swatch<DB: DrawingBackend>(
    painter: &Painter<DB>,
    swatch: Swatch,
    (x, y): Pixel,
) -> Result<(), DrawFailure> {
    let right = x + SWATCH_WIDTH_PX;
    let middle = x + SWATCH_WIDTH_PX / 2;
    match swatch {
        Swatch::LineWithPoint { color } => {
            painter.polyline(vec![(x, y), (right, y)], color, 2)?;
            painter.dot((middle, y), 4, color, color)
        }
        Swatch::Cut { color } => {
            painter.translucent_polyline(vec![(x, y), (right, y)], color.mix(CUT_OPACITY), 7)?;
            painter.dot((middle, y), 5, color, INK)
        }
        Swatch::DashedLine { color, width_px } => {
            painter.dashed_polyline(vec![(x, y), (right, y)], color, width_px, 7, 4)
        }
        Swatch::Band { color } => painter.filled_polygon(
            vec![(x, y - 8), (right, y - 8), (right, y + 8), (x, y + 8)],
            color.mix(0.22),
        ),
        Swatch::Bar { color } => painter.filled_rectangle((x, y - 8), (right, y + 8), color),
        Swatch::Arrow { color, width_px } => {
            painter.polyline(vec![(x, y + 6), (right - 2, y - 6)], color, width_px)?;
            draw_arrowhead(
                painter,
                (x as f64, y as f64 + 6.0),
                ((right - 2) as f64, y as f64 - 6.0),
                color,
            )
        }
        Swatch::LostArrow { color } => {
            painter.dashed_polyline(vec![(x, y + 6), (middle + 4, y - 2)], color, 1, 4, 3)?;
            painter.cross((middle + 6, y - 3), 4, color, 2)
        }
        Swatch::Cross { color } => painter.cross((middle, y), 7, color, 3),
        Swatch::Triangle { color } => painter.triangle_right((middle, y), 7, color),
        Swatch::Empty => Ok(()),
    }
}

/// A filled arrowhead at `tip`, pointing away from `tail`, in canvas pixels.
pub(crate) fn draw_arrowhead<DB: DrawingBackend>(
    painter: &Painter<DB>,
    tail: (f64, f64),
    tip: (f64, f64),
    color: RGBColor,
) -> Result<(), DrawFailure> {
    const LENGTH_PX: f64 = 9.0;
    const HALF_WIDTH_PX: f64 = 3.5;
    let (dx, dy) = (tip.0 - tail.0, tip.1 - tail.1);
    let length = libm::sqrt(dx * dx + dy * dy);
    if length < 1.0 {
        return Ok(());
    }
    let (ux, uy) = (dx / length, dy / length);
    let base = (tip.0 - ux * LENGTH_PX, tip.1 - uy * LENGTH_PX);
    let round = |x: f64, y: f64| (libm::round(x) as i32, libm::round(y) as i32);
    let points = vec![
        round(tip.0, tip.1),
        round(base.0 - uy * HALF_WIDTH_PX, base.1 + ux * HALF_WIDTH_PX),
        round(base.0 + uy * HALF_WIDTH_PX, base.1 - ux * HALF_WIDTH_PX),
    ];
    painter.filled_polygon(points, color.to_rgba())
}

/// Small labels inside the plot (next to dots, marks and arrows), placed only where they do not
/// overlap a label already placed and do not leave the plot: in a busy diagram some labels are
/// left out rather than piled on top of each other. Each label gets a translucent white backing
/// so that it stays readable over lines.
pub(crate) struct LabelBoard {
    bounds: (i32, i32, i32, i32),
    taken: Vec<(i32, i32, i32, i32)>,
}

/// Where a label may go relative to its point, in order of preference.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LabelSide {
    /// Up and to the right of the point.
    AboveRight,
    /// Down and to the right.
    BelowRight,
    /// Up and to the left.
    AboveLeft,
    /// Down and to the left.
    BelowLeft,
    /// Centred below the point.
    Below,
    /// To the right, vertically centred.
    Right,
    /// To the left, vertically centred.
    Left,
}

impl LabelBoard {
    /// A board covering the rectangle (left, top, right, bottom) in canvas pixels.
    pub fn new(bounds: (i32, i32, i32, i32)) -> LabelBoard {
        LabelBoard {
            bounds,
            taken: Vec::new(),
        }
    }

    /// Draws `text` at the first of `sides` of `point` where it fits; returns whether it did.
    pub fn place<DB: DrawingBackend>(
        &mut self,
        painter: &Painter<DB>,
        text: &str,
        point: Pixel,
        sides: &[LabelSide],
        font_px: f64,
        color: RGBColor,
    ) -> Result<bool, DrawFailure> {
        const GAP_PX: i32 = 7;
        let (width, height) = text_size(text, font_px)?;
        let (width, height) = (width as i32, height as i32);
        let (x, y) = point;
        for side in sides {
            let (left, top) = match side {
                LabelSide::AboveRight => (x + GAP_PX, y - GAP_PX - height),
                LabelSide::BelowRight => (x + GAP_PX, y + GAP_PX),
                LabelSide::AboveLeft => (x - GAP_PX - width, y - GAP_PX - height),
                LabelSide::Below => (x - width / 2, y + GAP_PX + 3),
                LabelSide::BelowLeft => (x - GAP_PX - width, y + GAP_PX),
                LabelSide::Right => (x + GAP_PX, y - height / 2),
                LabelSide::Left => (x - GAP_PX - width, y - height / 2),
            };
            let rectangle = (left - 2, top - 1, left + width + 2, top + height + 1);
            let (bound_left, bound_top, bound_right, bound_bottom) = self.bounds;
            let inside = rectangle.0 >= bound_left
                && rectangle.1 >= bound_top
                && rectangle.2 <= bound_right
                && rectangle.3 <= bound_bottom;
            let overlaps = |other: &(i32, i32, i32, i32)| {
                rectangle.0 < other.2
                    && other.0 < rectangle.2
                    && rectangle.1 < other.3
                    && other.1 < rectangle.3
            };
            if inside && !self.taken.iter().any(overlaps) {
                painter.filled_polygon(
                    vec![
                        (rectangle.0, rectangle.1),
                        (rectangle.2, rectangle.1),
                        (rectangle.2, rectangle.3),
                        (rectangle.0, rectangle.3),
                    ],
                    WHITE.mix(0.8),
                )?;
                painter.text(text, (left, top), font_px, color, Anchor::LEFT_TOP)?;
                self.taken.push(rectangle);
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// A label to be put in a row above the plot, centred on the pixel column `center_px`.
#[derive(Clone, Debug)]
pub(crate) struct ColumnLabel {
    pub center_px: i32,
    pub text: String,
}

/// Where a column label goes: its row (0 = nearest the plot) and its left edge; `None` for
/// labels that found no room within `max_rows`.
pub(crate) fn place_column_labels(
    labels: &[ColumnLabel],
    font_px: f64,
    (left_limit_px, right_limit_px): (i32, i32),
    max_rows: usize,
) -> Result<Vec<Option<(usize, i32)>>, DrawFailure> {
    const GAP_PX: i32 = 10;
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_key(|&index| (labels[index].center_px, index));
    let mut row_right_edges: Vec<i32> = Vec::new();
    let mut placed = vec![None; labels.len()];
    for index in order {
        let width = text_size(&labels[index].text, font_px)?.0 as i32;
        let left = (labels[index].center_px - width / 2)
            .min(right_limit_px - width)
            .max(left_limit_px);
        let row = row_right_edges
            .iter()
            .position(|&right| right + GAP_PX <= left);
        let row = match row {
            Some(row) => Some(row),
            None if row_right_edges.len() < max_rows => {
                row_right_edges.push(i32::MIN);
                Some(row_right_edges.len() - 1)
            }
            None => None,
        };
        if let Some(row) = row {
            row_right_edges[row] = left + width;
            placed[index] = Some((row, left));
        }
    }
    Ok(placed)
}

/// How many rows the placed labels use.
pub(crate) fn rows_used(placed: &[Option<(usize, i32)>]) -> usize {
    placed
        .iter()
        .flatten()
        .map(|(row, _)| row + 1)
        .max()
        .unwrap_or(0)
}
