//! Byte sizes and bandwidths as people write them: `"32kb"`, `"28b"`, `"1.5mb"`, `"100mb/s"`.
//!
//! As in Flink's `MemorySize`, `kb`/`mb`/`gb` are powers of 1024 (so `"32kb"` is Flink's default
//! 32 KiB network buffer); `kib`/`mib`/`gib` are accepted as the same thing.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A size in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Bytes(pub u64);

/// A bandwidth in bytes per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct BytesPerSecond(pub u64);

const EXPECTED_SIZE: &str = "a size such as \"32kb\", \"28b\" or \"1.5mb\" (units: b, kb, mb, gb)";
const EXPECTED_RATE: &str = "a bandwidth such as \"100mb/s\" or \"1gb/s\"";

/// Parses a size into bytes.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let trimmed = text.trim().to_ascii_lowercase();
    if trimmed.starts_with('-') {
        return Err(format!("sizes cannot be negative, got \"{text}\""));
    }
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let multiplier: f64 = match unit.trim() {
        "b" | "bytes" => 1.0,
        "kb" | "kib" | "k" => 1024.0,
        "mb" | "mib" | "m" => 1024.0 * 1024.0,
        "gb" | "gib" | "g" => 1024.0 * 1024.0 * 1024.0,
        "" => return Err(format!("\"{text}\" has no unit: expected {EXPECTED_SIZE}")),
        other => {
            return Err(format!(
                "unknown unit \"{other}\" in \"{text}\": expected {EXPECTED_SIZE}"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("\"{text}\" is not a number with a unit: expected {EXPECTED_SIZE}"))?;
    let bytes = (value * multiplier).round();
    if !(0.0..=1e15).contains(&bytes) {
        return Err(format!("\"{text}\" is too large"));
    }
    Ok(bytes as u64)
}

/// Parses a bandwidth (`<size>/s`) into bytes per second.
pub fn parse_bandwidth(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let Some(size) = lower.strip_suffix("/s") else {
        return Err(format!(
            "\"{text}\" is not a bandwidth: expected {EXPECTED_RATE}"
        ));
    };
    let bytes = parse_bytes(size).map_err(|e| format!("{e}; expected {EXPECTED_RATE}"))?;
    if bytes == 0 {
        return Err(format!(
            "a bandwidth of zero would never deliver anything: \"{text}\""
        ));
    }
    Ok(bytes)
}

fn deserialize_with<'de, D: Deserializer<'de>>(
    deserializer: D,
    expected: &'static str,
    parse: fn(&str) -> Result<u64, String>,
) -> Result<u64, D::Error> {
    struct TextVisitor(&'static str, fn(&str) -> Result<u64, String>);
    impl Visitor<'_> for TextVisitor {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<u64, E> {
            (self.1)(text).map_err(E::custom)
        }
        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
            Err(E::custom(format!(
                "a bare number ({value}) has no unit: expected {}",
                self.0
            )))
        }
        fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
            Err(E::custom(format!(
                "a bare number ({value}) has no unit: expected {}",
                self.0
            )))
        }
        fn visit_f64<E: de::Error>(self, value: f64) -> Result<u64, E> {
            Err(E::custom(format!(
                "a bare number ({value}) has no unit: expected {}",
                self.0
            )))
        }
    }
    deserializer.deserialize_any(TextVisitor(expected, parse))
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_with(deserializer, EXPECTED_SIZE, parse_bytes).map(Bytes)
    }
}

impl<'de> Deserialize<'de> for BytesPerSecond {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_with(deserializer, EXPECTED_RATE, parse_bandwidth).map(BytesPerSecond)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sizes_with_flinks_binary_units() {
        assert_eq!(parse_bytes("32kb"), Ok(32 * 1024));
        assert_eq!(parse_bytes("28b"), Ok(28));
        assert_eq!(parse_bytes("1.5mb"), Ok(1_572_864));
        assert_eq!(parse_bytes("32 KiB"), Ok(32 * 1024));
        assert!(parse_bytes("32").unwrap_err().contains("no unit"));
        assert!(parse_bytes("-1kb").unwrap_err().contains("negative"));
        assert!(
            parse_bytes("3 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
    }

    #[test]
    fn reads_bandwidths() {
        assert_eq!(parse_bandwidth("100mb/s"), Ok(100 * 1024 * 1024));
        assert!(
            parse_bandwidth("100mb")
                .unwrap_err()
                .contains("not a bandwidth")
        );
        assert!(
            parse_bandwidth("0b/s")
                .unwrap_err()
                .contains("never deliver")
        );
    }
}
