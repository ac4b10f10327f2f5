//! The event budget: a run stops after at most `max_events` engine events.
//!
//! Validation estimates a run's events from the file and refuses one that is too large, but an
//! estimate cannot foresee everything (replays after failures, a storm of retransmissions). The
//! budget is the backstop that holds whatever the file says: the world counts every event it
//! handles and, at the budget, stops where it is. What ran is kept, judged by the oracle as far
//! as it goes, and reported as *cut short* — never a run that grows until the machine runs out of
//! memory. The cut falls on an event count, not on the wall clock, so it is as deterministic as
//! the run: the same scenario and seed are cut at the same event on every machine.

use super::SimTime;
use serde::{Deserialize, Serialize};

/// Where a run was cut short by its event budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutShort {
    /// Virtual time of the last event handled (µs).
    pub at_us: u64,
    /// Engine events handled: the budget.
    pub events: u64,
}

/// How many engine events a run may handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventBudget {
    max_events: u64,
}

impl EventBudget {
    /// A budget of `max_events` engine events.
    pub fn new(max_events: u64) -> EventBudget {
        EventBudget { max_events }
    }

    /// The budget in events.
    pub fn max_events(self) -> u64 {
        self.max_events
    }

    /// `Some` once `events_handled` has reached the budget: the run stops here, at `now`.
    pub fn spent(self, events_handled: u64, now: SimTime) -> Option<CutShort> {
        (events_handled >= self.max_events).then(|| CutShort {
            at_us: now.as_micros(),
            events: events_handled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_spent_at_exactly_max_events() {
        let budget = EventBudget::new(3);
        let now = SimTime::from_micros(7);
        assert_eq!(budget.spent(2, now), None);
        assert_eq!(
            budget.spent(3, now),
            Some(CutShort {
                at_us: 7,
                events: 3
            })
        );
    }
}
