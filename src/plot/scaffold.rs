//! The layout every chart shares: title on top, labels of vertical markers in rows under it, the
//! plot with its axes, and the legend in a panel on the right.
//!
//! A chart hands its axes, legend entries and markers to [`Scaffold::draw`], which sizes each part
//! from the font metrics, draws title, axes and the dashed marker lines, and returns the plot
//! [`Frame`] for the chart to draw its data into (over the marker lines); the chart then calls
//! [`Scaffold::finish`] to draw the marker labels and the legend.

use super::axis::{AxesLayout, AxisLayout, Frame, draw_axes};
use super::canvas::{Anchor, DrawFailure, Painter};
use super::legend::{
    ColumnLabel, LegendEntry, draw_legend, legend_size_px, place_column_labels, rows_used,
};
use super::palette::{INK, LABEL_FONT_PX, TITLE_FONT_PX};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// Vertical room for the title.
const TITLE_BAND_PX: i32 = 56;
/// Height of one row of marker labels above the plot.
const MARKER_ROW_PX: i32 = 24;
/// At most this many rows of marker labels; labels that do not fit are left out (the line stays).
const MARKER_ROWS_MAX: usize = 3;

/// A vertical line across the plot at an x axis position, labelled above the plot.
#[derive(Clone, Debug)]
pub(crate) struct MarkerLine {
    pub position: f64,
    pub label: String,
    pub color: RGBColor,
}

/// What [`Scaffold::draw`] needs to know about a chart.
pub(crate) struct ScaffoldSpec<'a> {
    pub title: &'a str,
    pub size_px: (u32, u32),
    pub x_axis: &'a AxisLayout,
    pub y_axis: &'a AxisLayout,
    pub x_description: &'a str,
    pub y_description: &'a str,
    pub legend: Vec<LegendEntry>,
    pub markers: Vec<MarkerLine>,
}

/// A chart's title, axes and plot frame, drawn; markers and legend still to come.
pub(crate) struct Scaffold {
    /// Where the data goes.
    pub frame: Frame,
    legend: Vec<LegendEntry>,
    legend_left_px: i32,
    markers: Vec<(MarkerLine, Option<(usize, i32)>)>,
}

impl Scaffold {
    /// Draws title, grid and axes, leaving room for marker labels and the legend.
    pub fn draw<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        spec: ScaffoldSpec,
    ) -> Result<Scaffold, DrawFailure> {
        let painter = Painter::new(root);
        let (width, height) = (spec.size_px.0 as i32, spec.size_px.1 as i32);
        painter.text(
            spec.title,
            (width / 2, 16),
            TITLE_FONT_PX,
            INK,
            Anchor {
                horizontal: HPos::Center,
                vertical: VPos::Top,
            },
        )?;

        let legend_room = if spec.legend.is_empty() {
            0
        } else {
            legend_size_px(&spec.legend)?.0 as i32 + 28
        };
        let chart_right = width - legend_room;
        let layout = AxesLayout::for_labels(
            spec.y_axis.widest_label_px()?,
            !spec.y_description.is_empty(),
        );

        // Marker labels are placed before the plot is drawn, to know how many rows they need.
        let (left_px, right_px) =
            layout.predicted_columns(&root.clone().shrink((0, 0), (chart_right, height)));
        let columns_only = Frame {
            left_px,
            right_px,
            top_px: 0,
            bottom_px: 1,
            x_range: spec.x_axis.range,
            y_range: (0.0, 1.0),
        };
        let visible: Vec<MarkerLine> = spec
            .markers
            .into_iter()
            .filter(|m| m.position >= spec.x_axis.range.0 && m.position <= spec.x_axis.range.1)
            .collect();
        let labels: Vec<ColumnLabel> = visible
            .iter()
            .map(|marker| ColumnLabel {
                center_px: columns_only.x_px(marker.position),
                text: marker.label.clone(),
            })
            .collect();
        let places =
            place_column_labels(&labels, LABEL_FONT_PX, (left_px, right_px), MARKER_ROWS_MAX)?;
        let chart_top = TITLE_BAND_PX + rows_used(&places) as i32 * MARKER_ROW_PX;

        let area = root
            .clone()
            .shrink((0, chart_top), (chart_right, height - chart_top - 6));
        let frame = draw_axes(
            &area,
            layout,
            spec.x_axis,
            spec.y_axis,
            spec.x_description,
            spec.y_description,
        )?;
        debug_assert_eq!((frame.left_px, frame.right_px), (left_px, right_px));
        let scaffold = Scaffold {
            frame,
            legend: spec.legend,
            legend_left_px: chart_right + 4,
            markers: visible.into_iter().zip(places).collect(),
        };
        scaffold.draw_marker_lines(&painter)?;
        Ok(scaffold)
    }

    /// Draws the dashed marker lines; called before the data, so the data stays on top.
    fn draw_marker_lines<DB: DrawingBackend>(
        &self,
        painter: &Painter<DB>,
    ) -> Result<(), DrawFailure> {
        let frame = &self.frame;
        for (marker, _) in &self.markers {
            let column = frame.x_px(marker.position);
            painter.dashed_polyline(
                vec![(column, frame.top_px), (column, frame.bottom_px)],
                marker.color,
                2,
                6,
                5,
            )?;
        }
        Ok(())
    }

    /// Draws the marker labels and the legend.
    pub fn finish<DB: DrawingBackend>(&self, painter: &Painter<DB>) -> Result<(), DrawFailure> {
        let frame = &self.frame;
        for (marker, place) in &self.markers {
            let column = frame.x_px(marker.position);
            let color = marker.color;
            // A small downward triangle at the top of the plot; the label above it has the same
            // colour. (No connector line: it would cross the labels of the rows below.)
            painter.filled_polygon(
                vec![
                    (column - 5, frame.top_px - 7),
                    (column + 5, frame.top_px - 7),
                    (column, frame.top_px),
                ],
                color.to_rgba(),
            )?;
            if let Some((row, left)) = place {
                let baseline = frame.top_px - 9 - *row as i32 * MARKER_ROW_PX;
                painter.text(
                    &marker.label,
                    (*left, baseline),
                    LABEL_FONT_PX,
                    color,
                    Anchor::LEFT_BOTTOM,
                )?;
            }
        }
        if !self.legend.is_empty() {
            draw_legend(painter, &self.legend, (self.legend_left_px, frame.top_px))?;
        }
        Ok(())
    }
}
