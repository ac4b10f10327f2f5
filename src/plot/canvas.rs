//! From a chart description to files: one drawing routine, two backends (PNG and SVG), atomic
//! writes.
//!
//! Every chart implements [`Figure`]: a size, a check of its input, and a `draw` generic over the
//! plotters backend. [`render_files`] runs `draw` once into an SVG string and once into a bitmap,
//! and writes each to a temporary file in the target directory that is then renamed over
//! `<stem>.svg` / `<stem>.png` (the convention of [`crate::output`]): a reader never sees half a
//! chart. Layout is computed from the bundled font's metrics, not the backend's, so the PNG and the
//! SVG have the same layout, and the same input always gives the same bytes.
//!
//! [`Painter`] holds the few pixel-space drawing operations the charts share.

use super::PlotError;
use super::font::{FONT_FAMILY, ensure_font_registered};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A drawing routine failed; the message comes from plotters.
#[derive(Debug)]
pub(crate) struct DrawFailure(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawFailure {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        DrawFailure(error.to_string())
    }
}

/// A chart that can be drawn on any plotters backend.
pub(crate) trait Figure {
    /// The chart's title, for error messages.
    fn title(&self) -> &str;
    /// Width and height in pixels.
    fn size_px(&self) -> (u32, u32);
    /// Checks the input, saying what to change when it cannot be drawn.
    fn check(&self) -> Result<(), String>;
    /// Draws the whole chart on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure>;
}

/// The two files a chart was written to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedFiles {
    /// The bitmap, for reports and quick viewing.
    pub png: PathBuf,
    /// The vector version, for the book and for zooming in.
    pub svg: PathBuf,
}

/// Checks the figure and the font: everything that must hold before drawing.
fn prepare(figure: &impl Figure) -> Result<(), PlotError> {
    ensure_font_registered()?;
    figure.check().map_err(|reason| PlotError::InvalidChart {
        title: figure.title().to_string(),
        reason,
    })
}

/// Draws the figure into an SVG document held in memory.
pub(crate) fn render_svg_string(figure: &impl Figure) -> Result<String, PlotError> {
    prepare(figure)?;
    draw_svg(figure).map_err(|failure| PlotError::Drawing {
        path: PathBuf::from("<svg in memory>"),
        message: failure.0,
    })
}

fn draw_svg(figure: &impl Figure) -> Result<String, DrawFailure> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, figure.size_px()).into_drawing_area();
        root.fill(&WHITE)?;
        figure.draw(&root)?;
        root.present()?;
    }
    Ok(svg)
}

/// Distinguishes temporary files of concurrent renders within one process.
static TEMPORARY_FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Draws the figure to `<directory>/<stem>.png` and `<directory>/<stem>.svg`, creating the
/// directory if needed. Each file is written to a temporary file next to it and renamed into place.
pub(crate) fn render_files(
    figure: &impl Figure,
    directory: &Path,
    stem: &str,
) -> Result<RenderedFiles, PlotError> {
    if stem.is_empty() || stem.contains(['/', '\\']) || stem.starts_with('.') {
        return Err(PlotError::InvalidFileStem {
            stem: stem.to_string(),
        });
    }
    prepare(figure)?;
    fs::create_dir_all(directory).map_err(|source| PlotError::Io {
        path: directory.to_path_buf(),
        source,
    })?;
    let svg_path = directory.join(format!("{stem}.svg"));
    let png_path = directory.join(format!("{stem}.png"));

    let svg = draw_svg(figure).map_err(|failure| PlotError::Drawing {
        path: svg_path.clone(),
        message: failure.0,
    })?;
    crate::output::write_bytes_atomically(&svg_path, svg.as_bytes()).map_err(|source| {
        PlotError::Io {
            path: svg_path.clone(),
            source,
        }
    })?;

    // plotters' bitmap backend writes the file itself and picks the encoder from the extension,
    // so the temporary name ends in `.png`.
    let temporary = directory.join(format!(
        ".{stem}.tmp-{}-{}.png",
        std::process::id(),
        TEMPORARY_FILE_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = draw_png(figure, &temporary)
        .map_err(|failure| PlotError::Drawing {
            path: png_path.clone(),
            message: failure.0,
        })
        .and_then(|()| {
            fs::File::open(&temporary)
                .and_then(|file| file.sync_all())
                .and_then(|()| fs::rename(&temporary, &png_path))
                .map_err(|source| PlotError::Io {
                    path: png_path.clone(),
                    source,
                })
        });
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result?;
    Ok(RenderedFiles {
        png: png_path,
        svg: svg_path,
    })
}

fn draw_png(figure: &impl Figure, path: &Path) -> Result<(), DrawFailure> {
    let root = BitMapBackend::new(path, figure.size_px()).into_drawing_area();
    root.fill(&WHITE)?;
    figure.draw(&root)?;
    root.present()?;
    Ok(())
}

/// The font at `size_px` pixels.
pub(crate) fn font(size_px: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT_FAMILY), size_px, FontStyle::Normal)
}

/// Width and height in pixels of `text` in the bundled font at `size_px`, as it will be drawn.
pub(crate) fn text_size(text: &str, size_px: f64) -> Result<(u32, u32), DrawFailure> {
    font(size_px)
        .box_size(text)
        .map_err(|error| DrawFailure(format!("measuring text \"{text}\": {error}")))
}

/// Where a piece of text sits relative to its anchor point.
#[derive(Clone, Copy)]
pub(crate) struct Anchor {
    /// Horizontal: left, centre or right edge of the text at the anchor.
    pub horizontal: HPos,
    /// Vertical: top, centre or bottom of the text at the anchor.
    pub vertical: VPos,
}

impl Anchor {
    /// The text's left edge, centred vertically.
    pub const LEFT_CENTER: Anchor = Anchor {
        horizontal: HPos::Left,
        vertical: VPos::Center,
    };
    /// Centred on the anchor.
    pub const CENTER: Anchor = Anchor {
        horizontal: HPos::Center,
        vertical: VPos::Center,
    };
    /// The text's left edge and top at the anchor.
    pub const LEFT_TOP: Anchor = Anchor {
        horizontal: HPos::Left,
        vertical: VPos::Top,
    };
    /// The text's left edge and bottom at the anchor.
    pub const LEFT_BOTTOM: Anchor = Anchor {
        horizontal: HPos::Left,
        vertical: VPos::Bottom,
    };
}

/// Pixel-space drawing on the whole canvas: the shapes the charts are made of.
pub(crate) struct Painter<'a, DB: DrawingBackend> {
    root: &'a DrawingArea<DB, Shift>,
}

/// A point in canvas pixels.
pub(crate) type Pixel = (i32, i32);

impl<'a, DB: DrawingBackend> Painter<'a, DB> {
    /// Draws on `root`, whose origin is the canvas' top-left corner.
    pub fn new(root: &'a DrawingArea<DB, Shift>) -> Self {
        Painter { root }
    }

    /// A solid polyline.
    pub fn polyline(
        &self,
        points: Vec<Pixel>,
        color: RGBColor,
        width_px: u32,
    ) -> Result<(), DrawFailure> {
        if points.len() >= 2 {
            self.root
                .draw(&PathElement::new(points, color.stroke_width(width_px)))?;
        }
        Ok(())
    }

    /// A polyline in a translucent colour.
    pub fn translucent_polyline(
        &self,
        points: Vec<Pixel>,
        color: RGBAColor,
        width_px: u32,
    ) -> Result<(), DrawFailure> {
        if points.len() >= 2 {
            self.root
                .draw(&PathElement::new(points, color.stroke_width(width_px)))?;
        }
        Ok(())
    }

    /// A dashed polyline: `dash_px` drawn, `gap_px` skipped.
    pub fn dashed_polyline(
        &self,
        points: Vec<Pixel>,
        color: RGBColor,
        width_px: u32,
        dash_px: u32,
        gap_px: u32,
    ) -> Result<(), DrawFailure> {
        if points.len() >= 2 {
            self.root.draw(&DashedPathElement::new(
                points,
                dash_px,
                gap_px,
                color.stroke_width(width_px),
            ))?;
        }
        Ok(())
    }

    /// A filled polygon in a translucent colour.
    pub fn filled_polygon(&self, points: Vec<Pixel>, color: RGBAColor) -> Result<(), DrawFailure> {
        if points.len() >= 3 {
            self.root.draw(&Polygon::new(points, color.filled()))?;
        }
        Ok(())
    }

    /// A filled rectangle between two corners.
    pub fn filled_rectangle(
        &self,
        corner: Pixel,
        opposite: Pixel,
        color: RGBColor,
    ) -> Result<(), DrawFailure> {
        self.root
            .draw(&Rectangle::new([corner, opposite], color.filled()))?;
        Ok(())
    }

    /// The outline of a rectangle.
    pub fn rectangle_outline(
        &self,
        corner: Pixel,
        opposite: Pixel,
        color: RGBColor,
        width_px: u32,
    ) -> Result<(), DrawFailure> {
        self.root.draw(&Rectangle::new(
            [corner, opposite],
            color.stroke_width(width_px),
        ))?;
        Ok(())
    }

    /// A filled disc with an outline.
    pub fn dot(
        &self,
        center: Pixel,
        radius_px: u32,
        fill: RGBColor,
        outline: RGBColor,
    ) -> Result<(), DrawFailure> {
        self.root
            .draw(&Circle::new(center, radius_px, fill.filled()))?;
        self.root
            .draw(&Circle::new(center, radius_px, outline.stroke_width(1)))?;
        Ok(())
    }

    /// A diagonal cross ×, `half_size_px` from the centre to each arm's end.
    pub fn cross(
        &self,
        center: Pixel,
        half_size_px: i32,
        color: RGBColor,
        width_px: u32,
    ) -> Result<(), DrawFailure> {
        let (x, y) = center;
        let h = half_size_px;
        self.polyline(vec![(x - h, y - h), (x + h, y + h)], color, width_px)?;
        self.polyline(vec![(x - h, y + h), (x + h, y - h)], color, width_px)
    }

    /// A filled triangle pointing right (the restart symbol), with its centre at `center`.
    pub fn triangle_right(
        &self,
        center: Pixel,
        half_size_px: i32,
        color: RGBColor,
    ) -> Result<(), DrawFailure> {
        let (x, y) = center;
        let h = half_size_px;
        self.root.draw(&Polygon::new(
            vec![(x - h, y - h), (x + h, y), (x - h, y + h)],
            color.filled(),
        ))?;
        Ok(())
    }

    /// Text in the bundled font.
    pub fn text(
        &self,
        text: &str,
        at: Pixel,
        size_px: f64,
        color: RGBColor,
        anchor: Anchor,
    ) -> Result<(), DrawFailure> {
        let style = font(size_px)
            .color(&color)
            .pos(Pos::new(anchor.horizontal, anchor.vertical));
        self.root.draw(&Text::new(text, at, style))?;
        Ok(())
    }
}
