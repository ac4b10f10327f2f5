//! A problem with a scenario file: which file, where in it (the JSON path), and what was expected.

use std::fmt;

/// A problem with a scenario file: which file, where in it, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file as the user named it.
    pub file: String,
    /// Where in the JSON, e.g. `channels[2].to`; `.` for the whole document.
    pub json_path: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// Line and column in the file, when the JSON parser knows them.
    pub line_column: Option<(usize, usize)>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: at `{}`: {}",
            self.file, self.json_path, self.message
        )?;
        if let Some((line, column)) = self.line_column {
            write!(f, " (line {line}, column {column})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}
