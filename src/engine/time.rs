//! Virtual time.

use serde::Serialize;
use std::fmt;

/// An instant of virtual time, in integer microseconds since the start of the run.
///
/// Integer time is a determinism rule: floats are never used as event keys, so the
/// order of events cannot depend on rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SimTime(u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// A time after every event (used as "never").
    pub const NEVER: SimTime = SimTime(u64::MAX);

    /// The instant `time_us` microseconds after the start.
    pub const fn from_micros(time_us: u64) -> SimTime {
        SimTime(time_us)
    }

    /// Microseconds since the start.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Milliseconds since the start, as a float for display and metrics (never for ordering).
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// The instant `duration_us` later, saturating at [`SimTime::NEVER`].
    pub const fn after_us(self, duration_us: u64) -> SimTime {
        SimTime(self.0.saturating_add(duration_us))
    }

    /// Microseconds from `earlier` to `self` (zero if `earlier` is later).
    pub const fn since_us(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for SimTime {
    /// Formats as milliseconds with microsecond precision, e.g. `12.345ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        format_duration_us(self.0, f)
    }
}

/// Writes a duration in microseconds in the most readable unit: `40us`, `12.345ms`, `1.500000s`.
pub(crate) fn format_duration_us(duration_us: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if duration_us == u64::MAX {
        write!(f, "never")
    } else if duration_us < 1000 {
        write!(f, "{duration_us}us")
    } else if duration_us < 10_000_000 {
        write!(f, "{}.{:03}ms", duration_us / 1000, duration_us % 1000)
    } else {
        write!(
            f,
            "{}.{:06}s",
            duration_us / 1_000_000,
            duration_us % 1_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_in_a_readable_unit() {
        assert_eq!(SimTime::from_micros(40).to_string(), "40us");
        assert_eq!(SimTime::from_micros(12_345).to_string(), "12.345ms");
        assert_eq!(SimTime::from_micros(15_000_000).to_string(), "15.000000s");
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(SimTime::NEVER.after_us(5), SimTime::NEVER);
        assert_eq!(SimTime::from_micros(3).since_us(SimTime::from_micros(5)), 0);
    }
}
