//! The verdict on a run: which invariants failed, against what the scenario declared it expects
//! to fail (a teaching scenario that breaks an assumption on purpose).

use crate::expectation::ExpectationResult;
use crate::oracle::Invariant;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The verdict on a whole run, against what the scenario says should happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Every invariant held, as expected.
    Passed,
    /// Exactly the invariants the scenario declared as expected failures failed.
    FailedAsExpected,
    /// An invariant failed that the scenario did not expect.
    Failed,
    /// The scenario expected an invariant to fail, and it held: the teaching point was not shown.
    ExpectedFailureMissing,
    /// The invariants did what the scenario says, but the run did not show what its `expect`
    /// list claims: the lesson was not shown.
    LessonNotShown,
    /// The run reached its event budget (`max_events`) before it ended: it did not run as the
    /// scenario says, and what it shows is judged only up to the cut.
    CutShort,
}

/// Overall result of a run.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The verdict.
    pub status: OutcomeStatus,
    /// Invariants that failed at least once.
    pub failed_invariants: Vec<Invariant>,
    /// Invariants the scenario declared as expected to fail.
    pub expected_failures: Vec<Invariant>,
    /// The scenario's expectations, each with what the run showed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expectations: Vec<ExpectationResult>,
}

impl Outcome {
    /// Compares what failed with what the scenario expected.
    pub fn judge(failed: BTreeSet<Invariant>, expected: BTreeSet<Invariant>) -> Outcome {
        let status = if !failed.is_subset(&expected) {
            OutcomeStatus::Failed
        } else if failed != expected {
            OutcomeStatus::ExpectedFailureMissing
        } else if failed.is_empty() {
            OutcomeStatus::Passed
        } else {
            OutcomeStatus::FailedAsExpected
        };
        Outcome {
            status,
            failed_invariants: failed.into_iter().collect(),
            expected_failures: expected.into_iter().collect(),
            expectations: Vec::new(),
        }
    }

    /// Marks a run the event budget stopped: unless an invariant already failed unexpectedly
    /// (a real finding, whatever came after), the verdict is that the run was cut short.
    pub fn cut_short(mut self, cut_short: bool) -> Outcome {
        if cut_short && self.status != OutcomeStatus::Failed {
            self.status = OutcomeStatus::CutShort;
        }
        self
    }

    /// Adds the verdicts on the scenario's expectations: a run whose invariants did what the
    /// scenario says but that misses an expectation has not shown its lesson.
    pub fn with_expectations(mut self, results: Vec<ExpectationResult>) -> Outcome {
        if self.is_success() && results.iter().any(|r| !r.held) {
            self.status = OutcomeStatus::LessonNotShown;
        }
        self.expectations = results;
        self
    }

    /// True when the run did what the scenario says it should (exit status 0).
    pub fn is_success(&self) -> bool {
        matches!(
            self.status,
            OutcomeStatus::Passed | OutcomeStatus::FailedAsExpected
        )
    }
}

pub(super) fn expected_failures(scenario: &Scenario) -> BTreeSet<Invariant> {
    scenario
        .expected_failures
        .iter()
        .filter_map(|n| Invariant::from_name(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[Invariant]) -> BTreeSet<Invariant> {
        items.iter().copied().collect()
    }

    #[test]
    fn the_outcome_compares_failures_with_expectations() {
        use Invariant::*;
        assert_eq!(
            Outcome::judge(set(&[]), set(&[])).status,
            OutcomeStatus::Passed
        );
        assert_eq!(
            Outcome::judge(set(&[Conservation]), set(&[])).status,
            OutcomeStatus::Failed
        );
        assert_eq!(
            Outcome::judge(set(&[Conservation]), set(&[Conservation])).status,
            OutcomeStatus::FailedAsExpected
        );
        assert_eq!(
            Outcome::judge(set(&[]), set(&[Conservation])).status,
            OutcomeStatus::ExpectedFailureMissing
        );
        assert_eq!(
            Outcome::judge(set(&[Conservation, ChannelState]), set(&[Conservation])).status,
            OutcomeStatus::Failed
        );
    }
}
