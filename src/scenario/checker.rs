//! What every validation step shares: errors that name the file and the JSON path, and the checks
//! of values that appear in both kinds of scenario (probabilities, latency distributions).

use super::error::ScenarioError;
use super::latency_spec::LatencySpec;
use crate::engine::LatencyDistribution;

/// Makes errors for one file.
pub(super) struct Checker<'a> {
    pub(super) label: &'a str,
}

impl Checker<'_> {
    pub(super) fn error(
        &self,
        json_path: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError {
            file: self.label.to_string(),
            json_path: json_path.into(),
            message: message.into(),
            line_column: None,
        }
    }
}

pub(super) fn check_probability(
    value: f64,
    json_path: &str,
    check: &Checker,
) -> Result<(), ScenarioError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(check.error(
            json_path,
            format!("expected a probability between 0 and 1, got {value}"),
        ))
    }
}

pub(super) fn latency(
    spec: &LatencySpec,
    json_path: &str,
    check: &Checker,
) -> Result<LatencyDistribution, ScenarioError> {
    Ok(match *spec {
        LatencySpec::Constant(latency) => LatencyDistribution::Constant {
            latency_us: latency.as_micros(),
        },
        LatencySpec::Uniform { min, max } => {
            if min > max {
                return Err(check.error(
                    format!("{json_path}.uniform"),
                    format!("`min` ({min}) is larger than `max` ({max})"),
                ));
            }
            LatencyDistribution::Uniform {
                min_us: min.as_micros(),
                max_us: max.as_micros(),
            }
        }
        LatencySpec::Exponential { mean } => LatencyDistribution::Exponential {
            mean_us: mean.as_micros(),
        },
        LatencySpec::Normal { mean, std_dev } => LatencyDistribution::Normal {
            mean_us: mean.as_micros(),
            std_dev_us: std_dev.as_micros(),
        },
    })
}
