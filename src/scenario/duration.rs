//! Durations as people write them in scenario files: `"250ms"`, `"1.5s"`, `"40us"`, `"2 min"`.
//!
//! The units follow Flink's configuration syntax (`ms`, `s`, `min`, `h`), plus `us`/`µs` because a
//! simulator cares about microseconds. Parsing is exact decimal arithmetic — no floats — so
//! `"1.1s"` is exactly 1 100 000 µs.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A non-negative duration in whole microseconds, read from a string with a unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DurationUs(pub u64);

impl DurationUs {
    /// The duration in microseconds.
    pub fn as_micros(self) -> u64 {
        self.0
    }
}

impl fmt::Display for DurationUs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::engine::SimTime::from_micros(self.0).fmt(f)
    }
}

const EXPECTED: &str =
    "a duration such as \"250ms\", \"1.5s\" or \"40us\" (units: us, ms, s, min, h)";

/// Parses a duration string into microseconds, explaining what is wrong if it cannot.
pub fn parse_duration_us(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') {
        return Err(format!("durations cannot be negative, got \"{text}\""));
    }
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim();
    let unit_us: u64 = match unit {
        "us" | "µs" | "micros" => 1,
        "ms" | "millis" => 1_000,
        "s" | "sec" | "secs" => 1_000_000,
        "min" | "mins" => 60_000_000,
        "h" | "hour" | "hours" => 3_600_000_000,
        "" => {
            return Err(format!("\"{text}\" has no unit: expected {EXPECTED}"));
        }
        _ => {
            return Err(format!(
                "unknown unit \"{unit}\" in \"{text}\": expected {EXPECTED}"
            ));
        }
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return Err(format!(
            "\"{text}\" is not a number with a unit: expected {EXPECTED}"
        ));
    }
    let overflow = || format!("\"{text}\" is too long to simulate");
    let whole_us = if whole.is_empty() {
        0
    } else {
        whole
            .parse::<u64>()
            .map_err(|_| overflow())?
            .checked_mul(unit_us)
            .ok_or_else(overflow)?
    };
    // The fractional part, scaled exactly: digits beyond the unit's microsecond precision must be zero.
    let mut fraction_us = 0u64;
    let mut scale = unit_us;
    for digit in fraction.bytes() {
        let value = u64::from(digit - b'0');
        if !scale.is_multiple_of(10) {
            if value != 0 {
                return Err(format!(
                    "\"{text}\" is finer than a microsecond, the simulator's resolution"
                ));
            }
            continue;
        }
        scale /= 10;
        fraction_us += value * scale;
    }
    whole_us.checked_add(fraction_us).ok_or_else(overflow)
}

impl<'de> Deserialize<'de> for DurationUs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = DurationUs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<DurationUs, E> {
                parse_duration_us(text).map(DurationUs).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<DurationUs, E> {
                Err(E::custom(format!(
                    "a bare number ({value}) has no unit: write it as a string with a unit, e.g. \"{value}ms\""
                )))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<DurationUs, E> {
                Err(E::custom(format!(
                    "durations cannot be negative, got {value}"
                )))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<DurationUs, E> {
                Err(E::custom(format!(
                    "a bare number ({value}) has no unit: write it as a string with a unit, e.g. \"{value}ms\""
                )))
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_units_people_write() {
        assert_eq!(parse_duration_us("250ms"), Ok(250_000));
        assert_eq!(parse_duration_us("1.5s"), Ok(1_500_000));
        assert_eq!(parse_duration_us("40us"), Ok(40));
        assert_eq!(parse_duration_us("40µs"), Ok(40));
        assert_eq!(parse_duration_us("2 min"), Ok(120_000_000));
        assert_eq!(parse_duration_us("1h"), Ok(3_600_000_000));
        assert_eq!(parse_duration_us("0ms"), Ok(0));
        assert_eq!(parse_duration_us(".5ms"), Ok(500));
        assert_eq!(parse_duration_us("1.100s"), Ok(1_100_000));
    }

    #[test]
    fn rejects_what_is_not_a_duration_and_says_why() {
        assert!(parse_duration_us("-5ms").unwrap_err().contains("negative"));
        assert!(parse_duration_us("250").unwrap_err().contains("no unit"));
        assert!(
            parse_duration_us("5 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(
            parse_duration_us("1.2.3s")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            parse_duration_us("ms")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            parse_duration_us("1.5us")
                .unwrap_err()
                .contains("finer than a microsecond")
        );
        assert!(
            parse_duration_us("99999999999999999999h")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn a_bare_number_in_json_is_rejected_with_a_hint() {
        let error = serde_json::from_str::<DurationUs>("250")
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"250ms\""), "{error}");
    }
}
