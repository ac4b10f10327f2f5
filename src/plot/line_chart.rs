//! The generic line chart: measured series (with optional confidence bands), dashed theory curves
//! drawn over them, and labelled vertical markers.
//!
//! One description serves every sweep chart of the project: overhead against checkpoint interval
//! (logarithmic x, a 95 % band over seeds, Daly's curve dashed, "Young τ*" and "Daly τ*" markers),
//! backpressure throughput per checkpoint mode against per-record cost, checkpoint size per
//! checkpoint id for full and incremental snapshots. The description is plain data (serde), so a
//! sweep can save it next to the chart and the chart can be redrawn without rerunning anything.
//!
//! Measured data sets the axis ranges; reference curves are clipped to them, so a theoretical curve
//! that shoots to infinity at τ → 0 does not squash the measurements into a corner.

use super::PlotError;
use super::axis::{AxisLayout, AxisScale, padded_range};
use super::canvas::{DrawFailure, Figure, Painter, RenderedFiles, render_files, render_svg_string};
use super::geometry::{Point, clip_polygon, clip_polyline};
use super::legend::{LegendEntry, Swatch};
use super::palette::{MARKER_COLORS, REFERENCE_COLORS, SERIES_COLORS, chosen_or_cycled};
use super::scaffold::{MarkerLine, Scaffold, ScaffoldSpec};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A line chart: what it shows (title), its axes, and the curves on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineChart {
    /// What the chart shows, in words ("Overhead vs checkpoint interval, M = 60 s").
    pub title: String,
    /// The horizontal axis.
    pub x_axis: Axis,
    /// The vertical axis.
    pub y_axis: Axis,
    /// Measured curves, each a line through its points, in legend order.
    pub series: Vec<Series>,
    /// Theory drawn dashed over the measurements (e.g. Daly's expected overhead).
    #[serde(default)]
    pub reference_curves: Vec<ReferenceCurve>,
    /// Vertical lines at notable x values (e.g. "Young τ*", "Daly τ*", "simulated optimum").
    #[serde(default)]
    pub markers: Vec<VerticalMarker>,
}

/// One axis: its description with the unit, its scale, and optionally a fixed range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// The quantity and its unit, e.g. "checkpoint interval (s)".
    pub label: String,
    /// Linear or logarithmic.
    #[serde(default)]
    pub scale: AxisScale,
    /// The values at the two ends; chosen from the measured data when absent.
    #[serde(default)]
    pub range: Option<(f64, f64)>,
}

impl Axis {
    /// A linear axis with the range chosen from the data.
    pub fn linear(label: impl Into<String>) -> Axis {
        Axis {
            label: label.into(),
            scale: AxisScale::Linear,
            range: None,
        }
    }

    /// A logarithmic axis with the range chosen from the data.
    pub fn logarithmic(label: impl Into<String>) -> Axis {
        Axis {
            label: label.into(),
            scale: AxisScale::Logarithmic,
            range: None,
        }
    }

    /// The same axis showing exactly `low..high`.
    pub fn with_range(mut self, low: f64, high: f64) -> Axis {
        self.range = Some((low, high));
        self
    }
}

/// A measured curve: a line with a dot at each point, and optionally its uncertainty band.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    /// The legend entry, e.g. "simulated (mean of 20 seeds)".
    pub name: String,
    /// (x, y) points, drawn joined in the order given.
    pub points: Vec<(f64, f64)>,
    /// A shaded band around the line, e.g. its 95 % confidence interval.
    #[serde(default)]
    pub band: Option<Band>,
    /// `#rrggbb`; the next palette colour when absent.
    #[serde(default)]
    pub color: Option<String>,
}

impl Series {
    /// A series with the next palette colour and no band.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.into(),
            points,
            band: None,
            color: None,
        }
    }

    /// The same series with a shaded band named `name` in the legend.
    pub fn with_band(mut self, name: impl Into<String>, points: Vec<BandPoint>) -> Series {
        self.band = Some(Band {
            name: name.into(),
            points,
        });
        self
    }
}

/// A shaded region between a lower and an upper curve, drawn in its series' colour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// The legend entry, e.g. "95 % confidence interval".
    pub name: String,
    /// Lower and upper bound at each x.
    pub points: Vec<BandPoint>,
}

/// The band's bounds at one x.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandPoint {
    /// Where.
    pub x: f64,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

/// A theoretical curve, drawn dashed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceCurve {
    /// The legend entry, e.g. "Daly (2006) model".
    pub name: String,
    /// (x, y) points; sample densely, the curve is drawn as straight pieces between them.
    pub points: Vec<(f64, f64)>,
    /// `#rrggbb`; black, then greys when absent.
    #[serde(default)]
    pub color: Option<String>,
}

impl ReferenceCurve {
    /// A reference curve with the default colour.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> ReferenceCurve {
        ReferenceCurve {
            name: name.into(),
            points,
            color: None,
        }
    }
}

/// A vertical line at `x` with its label written above the plot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerticalMarker {
    /// Short text, e.g. "Daly τ* = 38.3 s".
    pub label: String,
    /// Where the line is.
    pub x: f64,
    /// `#rrggbb`; the next marker colour when absent.
    #[serde(default)]
    pub color: Option<String>,
}

impl VerticalMarker {
    /// A marker with the default colour.
    pub fn new(label: impl Into<String>, x: f64) -> VerticalMarker {
        VerticalMarker {
            label: label.into(),
            x,
            color: None,
        }
    }
}

const WIDTH_PX: u32 = 1280;
const HEIGHT_PX: u32 = 800;

impl LineChart {
    /// Draws the chart to `<directory>/<stem>.png` and `<directory>/<stem>.svg`.
    pub fn render(&self, directory: &Path, stem: &str) -> Result<RenderedFiles, PlotError> {
        render_files(self, directory, stem)
    }

    /// The chart as an SVG document (for embedding in a page).
    pub fn to_svg(&self) -> Result<String, PlotError> {
        render_svg_string(self)
    }

    /// Every (x, y) that the x range should show.
    fn all_x(&self) -> impl Iterator<Item = f64> + '_ {
        let series = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0));
        let bands = self
            .series
            .iter()
            .flat_map(|s| s.band.iter().flat_map(|b| b.points.iter().map(|p| p.x)));
        let references = self
            .reference_curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0));
        let markers = self.markers.iter().map(|m| m.x);
        series.chain(bands).chain(references).chain(markers)
    }

    /// Every y of the measured data, or of the reference curves if nothing was measured.
    fn all_y(&self) -> Vec<f64> {
        let mut measured: Vec<f64> = Vec::new();
        for series in &self.series {
            measured.extend(series.points.iter().map(|p| p.1));
            if let Some(band) = &series.band {
                measured.extend(band.points.iter().flat_map(|p| [p.lower, p.upper]));
            }
        }
        if measured.is_empty() {
            measured.extend(
                self.reference_curves
                    .iter()
                    .flat_map(|c| c.points.iter().map(|p| p.1)),
            );
        }
        measured
    }

    /// The axes' ranges in values (not positions).
    fn value_ranges(&self) -> ((f64, f64), (f64, f64)) {
        let x_range = self.x_axis.range.unwrap_or_else(|| {
            let (low, high) = min_max(self.all_x());
            padded_range(self.x_axis.scale, low, high, 0.03)
        });
        let y_range = self.y_axis.range.unwrap_or_else(|| {
            let (low, high) = min_max(self.all_y().into_iter());
            if self.y_axis.scale == AxisScale::Linear && low >= 0.0 {
                // Quantities that cannot be negative start at zero, so heights compare honestly.
                let (_, padded_high) = padded_range(AxisScale::Linear, 0.0, high, 0.05);
                (0.0, if high > 0.0 { padded_high } else { 1.0 })
            } else {
                padded_range(self.y_axis.scale, low, high, 0.05)
            }
        });
        (x_range, y_range)
    }

    fn colors(&self) -> Result<Colors, String> {
        let mut colors = Colors::default();
        for (index, series) in self.series.iter().enumerate() {
            colors.series.push(chosen_or_cycled(
                series.color.as_deref(),
                &SERIES_COLORS,
                index,
            )?);
        }
        for (index, curve) in self.reference_curves.iter().enumerate() {
            colors.references.push(chosen_or_cycled(
                curve.color.as_deref(),
                &REFERENCE_COLORS,
                index,
            )?);
        }
        for (index, marker) in self.markers.iter().enumerate() {
            colors.markers.push(chosen_or_cycled(
                marker.color.as_deref(),
                &MARKER_COLORS,
                index,
            )?);
        }
        Ok(colors)
    }

    fn legend_entries(&self, colors: &Colors) -> Vec<LegendEntry> {
        let mut entries = Vec::new();
        for (series, &color) in self.series.iter().zip(&colors.series) {
            entries.push(LegendEntry::new(
                &series.name,
                Swatch::LineWithPoint { color },
            ));
            if let Some(band) = &series.band {
                entries.push(LegendEntry::new(&band.name, Swatch::Band { color }));
            }
        }
        for (curve, &color) in self.reference_curves.iter().zip(&colors.references) {
            entries.push(LegendEntry::new(
                &curve.name,
                Swatch::DashedLine { color, width_px: 2 },
            ));
        }
        entries
    }
}

#[derive(Default)]
struct Colors {
    series: Vec<RGBColor>,
    references: Vec<RGBColor>,
    markers: Vec<RGBColor>,
}

/// Smallest and largest of some values (infinities if there are none).
fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), v| {
        (low.min(v), high.max(v))
    })
}

/// Checks one axis' values: finite, and positive on a logarithmic axis.
fn check_values(
    axis: &Axis,
    name: &str,
    values: impl Iterator<Item = f64>,
    what: &str,
) -> Result<(), String> {
    for value in values {
        if !value.is_finite() {
            return Err(format!(
                "{what} has a {name} value that is not a finite number ({value})"
            ));
        }
        if axis.scale == AxisScale::Logarithmic && value <= 0.0 {
            return Err(format!(
                "{what} has {name} = {value}, but the {name} axis is logarithmic: use values > 0 \
                 or a linear axis"
            ));
        }
    }
    Ok(())
}

fn check_range(axis: &Axis, name: &str) -> Result<(), String> {
    if let Some((low, high)) = axis.range {
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(format!(
                "the {name} axis range ({low}, {high}) must be two finite numbers, low < high"
            ));
        }
        if axis.scale == AxisScale::Logarithmic && low <= 0.0 {
            return Err(format!(
                "the {name} axis is logarithmic, so its range must start above 0 (it starts at {low})"
            ));
        }
    }
    Ok(())
}

impl Figure for LineChart {
    fn title(&self) -> &str {
        &self.title
    }

    fn size_px(&self) -> (u32, u32) {
        (WIDTH_PX, HEIGHT_PX)
    }

    fn check(&self) -> Result<(), String> {
        check_range(&self.x_axis, "x")?;
        check_range(&self.y_axis, "y")?;
        let has_points = self.series.iter().any(|s| !s.points.is_empty())
            || self.reference_curves.iter().any(|c| !c.points.is_empty());
        if !has_points {
            return Err(
                "there is nothing to draw: give at least one series or reference curve a point"
                    .to_string(),
            );
        }
        for series in &self.series {
            let what = format!("series \"{}\"", series.name);
            check_values(&self.x_axis, "x", series.points.iter().map(|p| p.0), &what)?;
            check_values(&self.y_axis, "y", series.points.iter().map(|p| p.1), &what)?;
            if let Some(band) = &series.band {
                let what = format!("band \"{}\"", band.name);
                check_values(&self.x_axis, "x", band.points.iter().map(|p| p.x), &what)?;
                check_values(
                    &self.y_axis,
                    "y",
                    band.points.iter().flat_map(|p| [p.lower, p.upper]),
                    &what,
                )?;
                if let Some(point) = band.points.iter().find(|p| p.lower > p.upper) {
                    return Err(format!(
                        "{what} has lower {} above upper {} at x = {}",
                        point.lower, point.upper, point.x
                    ));
                }
            }
        }
        for curve in &self.reference_curves {
            let what = format!("reference curve \"{}\"", curve.name);
            check_values(&self.x_axis, "x", curve.points.iter().map(|p| p.0), &what)?;
            check_values(&self.y_axis, "y", curve.points.iter().map(|p| p.1), &what)?;
        }
        for marker in &self.markers {
            let what = format!("marker \"{}\"", marker.label);
            check_values(&self.x_axis, "x", std::iter::once(marker.x), &what)?;
        }
        self.colors().map(|_| ())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure> {
        let colors = self.colors().map_err(DrawFailure)?;
        let painter = Painter::new(root);
        let ((x_low, x_high), (y_low, y_high)) = self.value_ranges();
        let x_axis = AxisLayout::new(self.x_axis.scale, x_low, x_high);
        let y_axis = AxisLayout::new(self.y_axis.scale, y_low, y_high);
        let markers = self
            .markers
            .iter()
            .zip(&colors.markers)
            .map(|(marker, &color)| MarkerLine {
                position: self.x_axis.scale.position(marker.x),
                label: marker.label.clone(),
                color,
            })
            .collect();
        let scaffold = Scaffold::draw(
            root,
            ScaffoldSpec {
                title: &self.title,
                size_px: (WIDTH_PX, HEIGHT_PX),
                x_axis: &x_axis,
                y_axis: &y_axis,
                x_description: &self.x_axis.label,
                y_description: &self.y_axis.label,
                legend: self.legend_entries(&colors),
                markers,
            },
        )?;
        let frame = scaffold.frame;
        let window = frame.window();
        let position =
            |(x, y): (f64, f64)| (self.x_axis.scale.position(x), self.y_axis.scale.position(y));

        for (series, &color) in self.series.iter().zip(&colors.series) {
            if let Some(band) = &series.band {
                let mut points = band.points.clone();
                points.sort_by(|a, b| a.x.total_cmp(&b.x));
                let outline: Vec<Point> = points
                    .iter()
                    .map(|p| position((p.x, p.upper)))
                    .chain(points.iter().rev().map(|p| position((p.x, p.lower))))
                    .collect();
                let clipped = clip_polygon(&outline, window);
                painter.filled_polygon(
                    clipped.into_iter().map(|p| frame.pixel(p)).collect(),
                    color.mix(0.22),
                )?;
            }
        }
        for (curve, &color) in self.reference_curves.iter().zip(&colors.references) {
            let points: Vec<Point> = curve.points.iter().map(|&p| position(p)).collect();
            for piece in clip_polyline(&points, window) {
                painter.dashed_polyline(
                    piece.into_iter().map(|p| frame.pixel(p)).collect(),
                    color,
                    2,
                    9,
                    6,
                )?;
            }
        }
        for (series, &color) in self.series.iter().zip(&colors.series) {
            let points: Vec<Point> = series.points.iter().map(|&p| position(p)).collect();
            for piece in clip_polyline(&points, window) {
                painter.polyline(
                    piece.into_iter().map(|p| frame.pixel(p)).collect(),
                    color,
                    2,
                )?;
            }
            for &point in &points {
                if inside(point, window) {
                    painter.dot(frame.pixel(point), 4, color, WHITE)?;
                }
            }
        }
        scaffold.finish(&painter)
    }
}

/// Whether an axis position lies in the window (edges included).
pub(crate) fn inside((x, y): Point, (x_min, y_min, x_max, y_max): (f64, f64, f64, f64)) -> bool {
    x >= x_min && x <= x_max && y >= y_min && y <= y_max
}
