//! Charts for teaching: sweep curves, checkpoint timelines and space-time diagrams, as PNG and SVG.
//!
//! Every chart is described by plain data (serde-friendly structs: [`LineChart`],
//! [`CheckpointTimeline`], [`SpaceTimeDiagram`]) and drawn by one routine into both formats. The
//! description is all a chart depends on: text uses DejaVu Sans compiled into the binary (no system
//! fonts, no fontconfig), ticks and colours are computed deterministically, so the same description
//! gives byte-identical files on every run. Files are written atomically (temporary file, then
//! rename), and every problem comes back as a [`PlotError`] saying what to change — drawing never
//! panics on bad input.
//!
//! - [`LineChart`]: measured series with confidence bands, dashed theory curves (Daly's overhead,
//!   see [`crate::overhead`]) and labelled vertical markers; linear or logarithmic axes.
//! - [`CheckpointTimeline`]: a Gantt chart of checkpoint phases per subtask (start delay,
//!   alignment, synchronous and asynchronous parts), as in Flink's checkpoint details view.
//! - [`SpaceTimeDiagram`]: one horizontal line per process, messages as arrows, markers and
//!   barriers in their own colour, recorded states as dots joined into each snapshot's cut — the
//!   figure of the Chandy-Lamport paper. [`space_time_from_process_run`] builds one from a
//!   Chandy-Lamport run, [`space_time_from_dataflow_run`] from a Flink run (barriers, snapshots,
//!   acknowledgements, crashes and restarts); [`checkpoint_timeline_from_stats`] builds the
//!   timeline from Flink's per-subtask checkpoint statistics.
//! - [`perfetto`]: a run as Chrome trace-event JSON for Perfetto (`snapsim run --trace`).

mod axis;
mod canvas;
mod dataflow_run;
mod dataflow_schedule;
mod font;
mod geometry;
mod legend;
mod line_chart;
mod palette;
pub mod perfetto;
pub mod perfetto_process_graph;
mod process_run;
mod scaffold;
mod space_time;
mod timeline;

use std::path::PathBuf;

pub use axis::AxisScale;
pub use canvas::RenderedFiles;
pub use dataflow_run::{
    checkpoint_timeline_from_stats, default_dataflow_window, space_time_from_dataflow_run,
};
pub use dataflow_schedule::space_time_from_dataflow_schedule;
pub use font::ensure_font_registered;
pub use line_chart::{Axis, Band, BandPoint, LineChart, ReferenceCurve, Series, VerticalMarker};
pub use process_run::{default_process_window, space_time_from_process_run};
pub use space_time::{Arrow, ArrowKind, Cut, Dot, Mark, SpaceTimeDiagram};
pub use timeline::{CheckpointTimeline, PhaseSegment, SnapshotPhase, TimelineMarker, TimelineRow};

/// Why a chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The bundled font could not be loaded (a broken build, not bad input).
    #[error("cannot load the bundled font: {0}")]
    Font(String),
    /// The chart description cannot be drawn; the reason says what to change.
    #[error("cannot draw chart \"{title}\": {reason}")]
    InvalidChart {
        /// The chart's title.
        title: String,
        /// What is wrong, e.g. "series \"aligned\" has x = 0, but the x axis is logarithmic".
        reason: String,
    },
    /// The file name stem was empty, hidden, or contained a path separator.
    #[error("\"{stem}\" is not a usable file name stem: give a plain name such as \"overhead\"")]
    InvalidFileStem {
        /// The stem given.
        stem: String,
    },
    /// plotters failed while drawing.
    #[error("drawing {path} failed: {message}")]
    Drawing {
        /// The file being drawn.
        path: PathBuf,
        /// plotters' message.
        message: String,
    },
    /// The directory or file could not be created or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}
