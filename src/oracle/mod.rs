//! The invariant oracle: checks every snapshot against what really happened.
//!
//! **Architecture invariant:** the oracle reads the run's event record and the scenario, never a
//! protocol's private state, so a buggy protocol cannot hide its own bug. Every check returns
//! pass/fail *and* a sentence saying why — which channel, which message, expected versus recorded —
//! because a learner needs the reason, not a red cross.
//!
//! The invariants (listed in `ARCHITECTURE.md`, with what each means) are named here; the submodules
//! check them for each kind of system.

pub mod dataflow;
pub mod delivery;
mod invariant;
pub mod process_graph;
mod reference;

pub use invariant::Invariant;

use serde::Serialize;

/// The outcome of one invariant on one snapshot (or on the whole run).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Which invariant.
    pub invariant: Invariant,
    /// Whether it held.
    pub passed: bool,
    /// Why it held, or precisely what broke it.
    pub detail: String,
}

impl Check {
    /// A passing check.
    pub fn pass(invariant: Invariant, detail: impl Into<String>) -> Check {
        Check {
            invariant,
            passed: true,
            detail: detail.into(),
        }
    }

    /// A failing check.
    pub fn fail(invariant: Invariant, detail: impl Into<String>) -> Check {
        Check {
            invariant,
            passed: false,
            detail: detail.into(),
        }
    }
}
