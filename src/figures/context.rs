//! What every figure needs: where the scenarios are and the figures go, and why a figure could not
//! be made.

use crate::plot::PlotError;
use crate::scenario::ScenarioError;
use crate::sweep::SweepError;
use serde_json::Value;
use std::path::PathBuf;

/// Why a figure could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    /// A scenario file is missing or invalid.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// A sweep could not be planned.
    #[error("{0}")]
    Sweep(#[from] SweepError),
    /// A chart could not be drawn or written.
    #[error("{0}")]
    Plot(#[from] PlotError),
    /// A scenario file could not be read as JSON.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The run did not produce what the figure needs.
    #[error("figure {stem}: {message}")]
    Missing {
        /// The figure.
        stem: &'static str,
        /// What was missing.
        message: String,
    },
}

/// Where the figures come from and go to.
#[derive(Clone, Debug)]
pub struct FigureContext {
    /// The `scenarios/` directory.
    pub scenarios_dir: PathBuf,
    /// Where the figures are written (`book/src/figures/`).
    pub out_dir: PathBuf,
    /// Threads for the sweeps (the figures do not depend on it).
    pub jobs: usize,
}

impl FigureContext {
    /// Reads a scenario file as JSON.
    pub fn document(&self, scenario: &str) -> Result<Value, FigureError> {
        let path = self.scenarios_dir.join(scenario);
        let text = std::fs::read_to_string(&path).map_err(|error| FigureError::Read {
            path: path.clone(),
            message: error.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|error| FigureError::Read {
            path,
            message: error.to_string(),
        })
    }

    /// The label a scenario is named by in errors.
    pub fn label(&self, scenario: &str) -> String {
        self.scenarios_dir.join(scenario).display().to_string()
    }
}
