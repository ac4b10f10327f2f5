//! Axes: value ranges, tick positions and labels, and the mapping from values to pixels.
//!
//! Ticks are computed here rather than by plotters so that the chart is the same on every platform
//! (all logarithms and powers go through `libm`) and so that a logarithmic axis is just a linear
//! axis over log10 of the values: every chart then shares one coordinate type and one clipping
//! routine. Tick labels print numbers without trailing zeros ("0.5", "20", "1000").

use super::canvas::{DrawFailure, font, text_size};
use super::palette::{AXIS_DESCRIPTION_FONT_PX, GRID, GRID_LIGHT, INK, LABEL_FONT_PX};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

/// How values are spread along an axis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AxisScale {
    /// Equal distances for equal differences.
    #[default]
    Linear,
    /// Equal distances for equal ratios (every value must be > 0): for parameters swept over
    /// several orders of magnitude, such as a checkpoint interval from 1 s to 10 min.
    Logarithmic,
}

impl AxisScale {
    /// The position of `value` on the axis: the value itself, or its log10.
    pub(crate) fn position(self, value: f64) -> f64 {
        match self {
            AxisScale::Linear => value,
            AxisScale::Logarithmic => libm::log10(value),
        }
    }
}

/// One labelled tick: where it is (in axis positions) and what it says.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tick {
    pub position: f64,
    pub label: String,
}

/// An axis ready to draw: its range in axis positions, labelled ticks and unlabelled minor ticks.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AxisLayout {
    pub range: (f64, f64),
    pub ticks: Vec<Tick>,
    pub minor_ticks: Vec<f64>,
}

impl AxisLayout {
    /// An axis over the values `low..high` (already padded as wished) on the given scale.
    pub fn new(scale: AxisScale, low: f64, high: f64) -> AxisLayout {
        match scale {
            AxisScale::Linear => linear_axis(low, high),
            AxisScale::Logarithmic => logarithmic_axis(low, high),
        }
    }

    /// An axis whose ticks are given explicitly (e.g. one per row of a timeline).
    pub fn with_ticks(range: (f64, f64), ticks: Vec<Tick>) -> AxisLayout {
        AxisLayout {
            range,
            ticks,
            minor_ticks: Vec::new(),
        }
    }

    /// The label of the tick at `position` (plotters asks by position).
    fn label_at(&self, position: f64) -> String {
        self.ticks
            .iter()
            .find(|tick| tick.position == position)
            .map(|tick| tick.label.clone())
            .unwrap_or_default()
    }

    /// The widest tick label, in pixels.
    pub fn widest_label_px(&self) -> Result<u32, DrawFailure> {
        let mut widest = 0;
        for tick in &self.ticks {
            widest = widest.max(text_size(&tick.label, LABEL_FONT_PX)?.0);
        }
        Ok(widest)
    }
}

/// Pads a data range by `fraction` of its width on each side (in axis positions), or around a
/// single value by a sensible amount.
pub(crate) fn padded_range(scale: AxisScale, low: f64, high: f64, fraction: f64) -> (f64, f64) {
    let (low, high) = (scale.position(low), scale.position(high));
    let width = high - low;
    let (low, high) = if width > 0.0 {
        (low - fraction * width, high + fraction * width)
    } else {
        let half = match scale {
            AxisScale::Linear if low != 0.0 => low.abs() * 0.1,
            AxisScale::Linear => 1.0,
            AxisScale::Logarithmic => 0.5,
        };
        (low - half, high + half)
    };
    match scale {
        AxisScale::Linear => (low, high),
        AxisScale::Logarithmic => (libm::pow(10.0, low), libm::pow(10.0, high)),
    }
}

/// The "nice" step (1, 2 or 5 times a power of ten) that cuts `width` into about `count` parts.
fn nice_step(width: f64, count: f64) -> f64 {
    let raw = width / count;
    let magnitude = libm::pow(10.0, libm::floor(libm::log10(raw)));
    let mantissa = raw / magnitude;
    let nice = if mantissa < 1.5 {
        1.0
    } else if mantissa < 3.5 {
        2.0
    } else if mantissa < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

fn linear_axis(low: f64, high: f64) -> AxisLayout {
    let step = nice_step(high - low, 8.0);
    let decimals = decimals_for_step(step);
    let first = libm::ceil(low / step - 1e-9) as i64;
    let last = libm::floor(high / step + 1e-9) as i64;
    let ticks = (first..=last)
        .map(|k| {
            let position = k as f64 * step;
            Tick {
                position,
                label: format_fixed(position, decimals),
            }
        })
        .collect();
    AxisLayout {
        range: (low, high),
        ticks,
        minor_ticks: Vec::new(),
    }
}

fn logarithmic_axis(low: f64, high: f64) -> AxisLayout {
    let (low_position, high_position) = (libm::log10(low), libm::log10(high));
    let first_decade = libm::floor(low_position) as i32;
    let last_decade = libm::ceil(high_position) as i32;
    let decades = high_position - low_position;
    // Label 1-2-5 within each decade when the axis spans few decades, decades only otherwise.
    let labelled: &[f64] = if decades <= 3.2 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let mut ticks = Vec::new();
    let mut minor_ticks = Vec::new();
    for decade in first_decade..=last_decade {
        let power = libm::pow(10.0, f64::from(decade));
        for multiple in 1..=9 {
            let value = f64::from(multiple) * power;
            let position = libm::log10(value);
            if position < low_position - 1e-12 || position > high_position + 1e-12 {
                continue;
            }
            if labelled.contains(&f64::from(multiple)) {
                ticks.push(Tick {
                    position,
                    label: format_number(value),
                });
            } else {
                minor_ticks.push(position);
            }
        }
    }
    AxisLayout {
        range: (low_position, high_position),
        ticks,
        minor_ticks,
    }
}

/// How many decimals show a multiple of `step` exactly (0 for steps ≥ 1).
fn decimals_for_step(step: f64) -> usize {
    (0..=9)
        .find(|&decimals| {
            let scale = libm::pow(10.0, decimals as f64);
            let scaled = step * scale;
            (scaled - libm::round(scaled)).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(9)
}

/// `value` with `decimals` decimals, never "-0".
fn format_fixed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.starts_with('-') && text[1..].chars().all(|c| c == '0' || c == '.') {
        text[1..].to_string()
    } else {
        text
    }
}

/// A number with as few decimals as show it to six significant digits: 0.001, 2, 50, 1000.
pub(crate) fn format_number(value: f64) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    for decimals in 0..=9 {
        let text = format_fixed(value, decimals);
        let shown: f64 = text.parse().unwrap_or(f64::NAN);
        if (shown - value).abs() <= 1e-6 * value.abs() {
            return text;
        }
    }
    format!("{value:e}")
}

/// The plot rectangle in canvas pixels and the axis ranges it shows: maps axis positions to pixels
/// exactly as plotters maps them, so data lines up with the grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Frame {
    /// Leftmost pixel column of the plot.
    pub left_px: i32,
    /// Rightmost pixel column.
    pub right_px: i32,
    /// Top pixel row.
    pub top_px: i32,
    /// Bottom pixel row.
    pub bottom_px: i32,
    /// Axis positions at the left and right edge.
    pub x_range: (f64, f64),
    /// Axis positions at the bottom and top edge.
    pub y_range: (f64, f64),
}

impl Frame {
    /// Pixel column of axis position `x`.
    pub fn x_px(&self, x: f64) -> i32 {
        let fraction = (x - self.x_range.0) / (self.x_range.1 - self.x_range.0);
        self.left_px + libm::floor(f64::from(self.right_px - self.left_px) * fraction + 1e-3) as i32
    }

    /// Pixel row of axis position `y`.
    pub fn y_px(&self, y: f64) -> i32 {
        let fraction = (y - self.y_range.0) / (self.y_range.1 - self.y_range.0);
        self.bottom_px
            - libm::floor(f64::from(self.bottom_px - self.top_px) * fraction + 1e-3) as i32
    }

    /// Pixel of the point (x, y) in axis positions.
    pub fn pixel(&self, (x, y): (f64, f64)) -> (i32, i32) {
        (self.x_px(x), self.y_px(y))
    }

    /// The rectangle of axis positions the plot shows: (x_min, y_min, x_max, y_max).
    pub fn window(&self) -> (f64, f64, f64, f64) {
        (
            self.x_range.0,
            self.y_range.0,
            self.x_range.1,
            self.y_range.1,
        )
    }
}

/// A linear plotters coordinate over axis positions whose grid lines are exactly our ticks.
///
/// (plotters' own `with_key_points` wrapper loses the default label formatting, so the mesh could
/// not print our labels through it.)
struct TickedRange {
    range: (f64, f64),
    major: Vec<f64>,
    minor: Vec<f64>,
}

impl TickedRange {
    fn of(axis: &AxisLayout) -> TickedRange {
        TickedRange {
            range: axis.range,
            major: axis.ticks.iter().map(|tick| tick.position).collect(),
            minor: axis.minor_ticks.clone(),
        }
    }
}

impl Ranged for TickedRange {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    /// The same mapping as plotters' `RangedCoordf64`.
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let fraction = (value - self.range.0) / (self.range.1 - self.range.0);
        let length = f64::from(limit.1 - limit.0);
        if length >= 0.0 {
            limit.0 + libm::floor(length * fraction + 1e-3) as i32
        } else {
            limit.0 + libm::ceil(length * fraction - 1e-3) as i32
        }
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.0..self.range.1
    }
}

/// Margins and label room around the plot rectangle, in pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AxesLayout {
    pub margin_top_px: u32,
    pub margin_right_px: u32,
    pub margin_left_px: u32,
    pub x_label_area_px: u32,
    pub y_label_area_px: u32,
}

impl AxesLayout {
    /// Room for tick labels `widest_y_label_px` wide and, if `y_description` is set, for the
    /// rotated y-axis description.
    pub fn for_labels(widest_y_label_px: u32, has_y_description: bool) -> AxesLayout {
        let description = if has_y_description {
            AXIS_DESCRIPTION_FONT_PX as u32 + 14
        } else {
            0
        };
        AxesLayout {
            margin_top_px: 8,
            margin_right_px: 24,
            margin_left_px: 8,
            x_label_area_px: 60,
            y_label_area_px: widest_y_label_px + 18 + description,
        }
    }

    /// Where the plot's left and right pixel columns will be inside `area`, before drawing.
    pub fn predicted_columns<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> (i32, i32) {
        let (columns, _) = area.get_pixel_range();
        (
            columns.start + (self.margin_left_px + self.y_label_area_px) as i32,
            columns.end - self.margin_right_px as i32 - 1,
        )
    }
}

/// Draws grid, axes, tick labels and axis descriptions in `area`, and returns the plot frame.
pub(crate) fn draw_axes<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    layout: AxesLayout,
    x_axis: &AxisLayout,
    y_axis: &AxisLayout,
    x_description: &str,
    y_description: &str,
) -> Result<Frame, DrawFailure> {
    let x_spec = TickedRange::of(x_axis);
    let y_spec = TickedRange::of(y_axis);
    let mut chart = ChartBuilder::on(area)
        .margin_top(layout.margin_top_px)
        .margin_right(layout.margin_right_px)
        .margin_left(layout.margin_left_px)
        .margin_bottom(0)
        .x_label_area_size(layout.x_label_area_px)
        .y_label_area_size(layout.y_label_area_px)
        .build_cartesian_2d(x_spec, y_spec)?;
    let x_label = |position: &f64| x_axis.label_at(*position);
    let y_label = |position: &f64| y_axis.label_at(*position);
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style(font(LABEL_FONT_PX).color(&INK))
        .axis_desc_style(font(AXIS_DESCRIPTION_FONT_PX).color(&INK))
        .axis_style(INK.stroke_width(1))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(GRID_LIGHT.stroke_width(1));
    if !x_description.is_empty() {
        mesh.x_desc(x_description);
    }
    if !y_description.is_empty() {
        mesh.y_desc(y_description);
    }
    mesh.draw()?;
    let (columns, rows) = chart.plotting_area().get_pixel_range();
    Ok(Frame {
        left_px: columns.start,
        right_px: columns.end - 1,
        top_px: rows.start,
        bottom_px: rows.end - 1,
        x_range: x_axis.range,
        y_range: y_axis.range,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_without_trailing_zeros() {
        assert_eq!(format_number(1000.0), "1000");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(0.001), "0.001");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_fixed(-0.0001, 2), "0.00");
    }

    #[test]
    fn linear_ticks_are_round_numbers_inside_the_range() {
        let axis = linear_axis(-0.3, 9.7);
        let labels: Vec<_> = axis.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
        let axis = linear_axis(0.0, 0.36);
        assert_eq!(axis.ticks[1].label, "0.05");
    }

    #[test]
    fn logarithmic_ticks_label_decades_or_one_two_five() {
        let wide = logarithmic_axis(0.8, 12_000.0);
        let labels: Vec<_> = wide.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["1", "10", "100", "1000", "10000"]);
        assert!(wide.minor_ticks.len() > 30);
        let narrow = logarithmic_axis(3.0, 120.0);
        let labels: Vec<_> = narrow.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["5", "10", "20", "50", "100"]);
    }
}
