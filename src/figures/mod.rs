//! The book's figures: the experiments behind them and the charts they produce.
//!
//! Every figure in `book/src/figures/` is made here, from a scenario in `scenarios/chart-*.json`,
//! by a small sweep or a single run, so that `snapsim figures` regenerates all of them and a test
//! checks that the committed files are current, byte for byte: simulation and rendering are
//! deterministic, and sweeps put their results back in order whatever the thread timing.
//!
//! The sweeps here are deliberately small (a few seeds, ten or so points) so that regenerating
//! every figure takes seconds; the full-size experiments are a `snapsim sweep` away, and each
//! scenario's description says which command reproduces the figure at any size.
//!
//! - [`overhead`]: overhead versus checkpoint interval, against Young's and Daly's theory;
//! - [`backpressure`]: checkpoint duration, start delay, alignment and persisted data against the
//!   consumer's per-record cost, one line per checkpointing mode;
//! - [`pictures`]: space-time diagrams, checkpoint timelines, checkpoint sizes.

pub mod backpressure;
mod context;
pub mod overhead;
pub mod pictures;

pub use context::{FigureContext, FigureError};

use crate::plot::RenderedFiles;
use std::path::{Path, PathBuf};

/// One figure of the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FigureInfo {
    /// File name stem in `book/src/figures/` (`.png` and `.svg`).
    pub stem: &'static str,
    /// The scenario it is made from, in `scenarios/`.
    pub scenario: &'static str,
    /// What it shows, in one sentence.
    pub shows: &'static str,
}

/// Every figure, in book order.
pub const FIGURES: &[FigureInfo] = &[
    FigureInfo {
        stem: "space-time-chandy-lamport",
        scenario: "chart-space-time-chandy-lamport.json",
        shows: "a Chandy-Lamport snapshot of a bank: markers, recorded states, the cut, channel state",
    },
    FigureInfo {
        stem: "space-time-explore-counterexample",
        scenario: "chart-explore-counterexample.json",
        shows: "the shortest schedule `snapsim explore` finds to break the record-after-next-message rules",
    },
    FigureInfo {
        stem: "space-time-dataflow",
        scenario: "chart-space-time-dataflow.json",
        shows: "aligned checkpoint barriers in a Flink job, a crash and the restart from a checkpoint",
    },
    FigureInfo {
        stem: "checkpoint-timeline-aligned",
        scenario: "chart-backpressure.json",
        shows: "where each subtask spends an aligned checkpoint under backpressure (start delay)",
    },
    FigureInfo {
        stem: "checkpoint-timeline-unaligned",
        scenario: "chart-backpressure.json",
        shows: "the same job with unaligned checkpoints: no start delay, in-flight data persisted",
    },
    FigureInfo {
        stem: "backpressure-checkpoint-duration",
        scenario: "chart-backpressure.json",
        shows: "end-to-end checkpoint duration against the consumer's per-record cost, per mode",
    },
    FigureInfo {
        stem: "backpressure-start-delay",
        scenario: "chart-backpressure.json",
        shows: "start delay (trigger → first barrier) against per-record cost, per mode",
    },
    FigureInfo {
        stem: "backpressure-alignment",
        scenario: "chart-backpressure.json",
        shows: "alignment duration (first → last barrier) against per-record cost, per mode",
    },
    FigureInfo {
        stem: "backpressure-persisted-data",
        scenario: "chart-backpressure.json",
        shows: "in-flight data persisted per checkpoint against per-record cost, per mode",
    },
    FigureInfo {
        stem: "checkpoint-size",
        scenario: "chart-checkpoint-size.json",
        shows: "bytes uploaded per checkpoint: full (hashmap) versus incremental (RocksDB)",
    },
    FigureInfo {
        stem: "overhead-stop-the-world",
        scenario: "chart-overhead-stop-the-world.json",
        shows: "overhead against checkpoint interval with crashes, stop-the-world, against Daly",
    },
    FigureInfo {
        stem: "overhead-aligned",
        scenario: "chart-overhead-aligned.json",
        shows: "the same with aligned barriers: the checkpoint no longer stalls the job",
    },
    FigureInfo {
        stem: "overhead-unaligned",
        scenario: "chart-overhead-unaligned.json",
        shows: "the same with unaligned checkpoints",
    },
    FigureInfo {
        stem: "overhead-no-failures",
        scenario: "chart-overhead-stop-the-world.json",
        shows: "the pure cost of checkpointing (no crashes) for the three protocols",
    },
];

/// Regenerates every figure of [`FIGURES`] into `context.out_dir`, calling `progress` with each
/// stem as it is written. Returns the files written, in [`FIGURES`] order.
pub fn regenerate(
    context: &FigureContext,
    progress: &dyn Fn(&str),
) -> Result<Vec<RenderedFiles>, FigureError> {
    let mut written: Vec<(&'static str, RenderedFiles)> = Vec::new();
    let mut record = |stem: &'static str, files: RenderedFiles| {
        progress(stem);
        written.push((stem, files));
    };
    for (stem, files) in pictures::space_time_figures(context)? {
        record(stem, files);
    }
    for (stem, files) in pictures::timeline_figures(context)? {
        record(stem, files);
    }
    for (stem, files) in backpressure::backpressure_figures(context)? {
        record(stem, files);
    }
    for (stem, files) in pictures::checkpoint_size_figures(context)? {
        record(stem, files);
    }
    for (stem, files) in overhead::overhead_figures(context)? {
        record(stem, files);
    }
    let mut files = Vec::new();
    for figure in FIGURES {
        let Some((_, rendered)) = written.iter().find(|(stem, _)| *stem == figure.stem) else {
            return Err(FigureError::Missing {
                stem: figure.stem,
                message: "listed in FIGURES but not produced".into(),
            });
        };
        files.push(rendered.clone());
    }
    Ok(files)
}

/// The path of a figure file in a directory.
pub fn figure_path(directory: &Path, stem: &str, extension: &str) -> PathBuf {
    directory.join(format!("{stem}.{extension}"))
}
