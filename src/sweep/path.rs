//! Addressing one number inside a scenario document, and the values a sweep gives it.
//!
//! A sweep parameter is named by its path in the scenario *file* (not in the validated model), so
//! what a learner sweeps is exactly what they would edit by hand: `checkpointing.interval`,
//! `state.sync-base`, `faults.random[0].task-crashes.mtbf`, `job.operators[1].cost`. Inside a list,
//! a step may also name an element by its `name` field: `job.operators.sum.cost`.
//!
//! Three kinds of number can be swept, recognised from the value already in the file:
//! plain numbers (`"rate_per_s": 10000`; integers stay integers), durations (`"interval": "1s"`,
//! written back as whole microseconds, e.g. `"250000us"`) and sizes (`"record_size": "28b"`,
//! written back as whole bytes). A range is written `FROM..TO` in the same form as the value:
//! `100ms..10s`, `1000..20000`, `16b..1kb`.

use crate::scenario::{parse_bytes, parse_duration_us};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// What kind of number a parameter is, which decides how its values are parsed and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// A plain JSON number; `integer` keeps generated values whole.
    Number {
        /// Whether the file holds an integer (generated values are rounded).
        integer: bool,
    },
    /// A duration string such as `"250ms"`; values are whole microseconds.
    Duration,
    /// A size string such as `"28b"`; values are whole bytes.
    Size,
}

impl ValueKind {
    /// The unit suffix of this kind's base unit in column names (`_us`, `_bytes`, or nothing).
    pub fn unit_suffix(self) -> &'static str {
        match self {
            ValueKind::Number { .. } => "",
            ValueKind::Duration => "_us",
            ValueKind::Size => "_bytes",
        }
    }

    /// Parses one end of a range written by the user, in this kind's base unit.
    pub fn parse(self, text: &str) -> Result<f64, String> {
        match self {
            ValueKind::Duration => parse_duration_us(text).map(|us| us as f64),
            ValueKind::Size => parse_bytes(text).map(|bytes| bytes as f64),
            ValueKind::Number { .. } => {
                let value: f64 = text.trim().parse().map_err(|_| {
                    format!(
                        "\"{text}\" is not a plain number; this field holds a number, so write \
                         the range without units, e.g. 1000..20000"
                    )
                })?;
                if value.is_finite() {
                    Ok(value)
                } else {
                    Err(format!("\"{text}\" is not a finite number"))
                }
            }
        }
    }

    /// Rounds a generated value as the field requires (whole µs, whole bytes, integers).
    pub fn round(self, value: f64) -> f64 {
        match self {
            ValueKind::Number { integer: false } => value,
            _ => value.round(),
        }
    }

    /// The JSON value to write into the document.
    pub fn to_json(self, value: f64) -> Value {
        match self {
            ValueKind::Duration => Value::String(format!("{}us", value.round() as u64)),
            ValueKind::Size => Value::String(format!("{}b", value.round() as u64)),
            ValueKind::Number { integer: true } => Value::from(value.round() as i64),
            ValueKind::Number { integer: false } => Value::from(value),
        }
    }

    /// A value for people: `250ms`, `1.5s`, `28 B`, `10000`.
    pub fn display(self, value: f64) -> String {
        match self {
            ValueKind::Duration => compact_duration(value.round() as u64),
            ValueKind::Size => format!("{}b", value.round() as u64),
            ValueKind::Number { integer: true } => format!("{}", value.round() as i64),
            ValueKind::Number { integer: false } => format!("{value}"),
        }
    }
}

/// A duration in the largest unit that keeps it short: `40us`, `250ms`, `1.5s`, `12.709252s`.
pub fn compact_duration(duration_us: u64) -> String {
    let (unit_us, unit) = if duration_us >= 1_000_000 {
        (1_000_000, "s")
    } else if duration_us >= 1000 {
        (1000, "ms")
    } else {
        return format!("{duration_us}us");
    };
    let whole = duration_us / unit_us;
    let fraction = duration_us % unit_us;
    if fraction == 0 {
        return format!("{whole}{unit}");
    }
    let digits = if unit_us == 1000 { 3 } else { 6 };
    let fraction = format!("{fraction:0digits$}");
    format!("{whole}.{}{unit}", fraction.trim_end_matches('0'))
}

/// One step of a path: an object key, a list index, or a list element picked by its `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed path such as `faults.random[0].task-crashes.mtbf`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    key: String,
    indices: Vec<usize>,
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl JsonPath {
    /// Parses `a.b[2].c`; keys may contain letters, digits, `-` and `_`.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("the path is empty: name a field, e.g. checkpointing.interval".into());
        }
        let mut segments = Vec::new();
        for part in trimmed.split('.') {
            let (key, mut rest) = match part.find('[') {
                Some(open) => (&part[..open], &part[open..]),
                None => (part, ""),
            };
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "\"{trimmed}\" is not a path: each step is a key such as `checkpointing` or \
                     `operators[1]`, separated by dots"
                ));
            }
            let mut indices = Vec::new();
            while !rest.is_empty() {
                let close = rest
                    .find(']')
                    .ok_or_else(|| format!("\"{trimmed}\": a `[` without its `]`"))?;
                let index: usize = rest[1..close].parse().map_err(|_| {
                    format!(
                        "\"{trimmed}\": `{}` is not a list index (a whole number)",
                        &rest[1..close]
                    )
                })?;
                indices.push(index);
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(format!("\"{trimmed}\": unexpected `{rest}` after `]`"));
                }
            }
            segments.push(Segment {
                key: key.to_string(),
                indices,
            });
        }
        Ok(JsonPath {
            text: trimmed.to_string(),
            segments,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Resolves the path in `document`: every step must exist, except that the last key may be
    /// missing from an existing object (the sweep then adds it). Returns the concrete steps and
    /// the value found, if any.
    fn resolve<'a>(&self, document: &'a Value) -> Result<(Vec<Step>, Option<&'a Value>), String> {
        let mut steps = Vec::new();
        let mut current = document;
        let mut walked = String::new();
        let last_segment = self.segments.len() - 1;
        for (position, segment) in self.segments.iter().enumerate() {
            let is_last_key = position == last_segment && segment.indices.is_empty();
            match current {
                Value::Object(map) => match map.get(&segment.key) {
                    Some(value) => {
                        steps.push(Step::Key(segment.key.clone()));
                        current = value;
                    }
                    None if is_last_key => {
                        steps.push(Step::Key(segment.key.clone()));
                        return Ok((steps, None));
                    }
                    // A missing object on the way (`faults.crash.at` in a file with no faults):
                    // made when the value is written, if the rest are plain keys; the scenario's
                    // own validation then says whether the result means anything.
                    None if self.segments[position..]
                        .iter()
                        .all(|s| s.indices.is_empty()) =>
                    {
                        steps.extend(
                            self.segments[position..]
                                .iter()
                                .map(|s| Step::Key(s.key.clone())),
                        );
                        return Ok((steps, None));
                    }
                    None => {
                        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                        return Err(format!(
                            "{} has no key `{}`; it has: {}",
                            describe(&walked),
                            segment.key,
                            if keys.is_empty() {
                                "nothing".to_string()
                            } else {
                                keys.join(", ")
                            }
                        ));
                    }
                },
                Value::Array(list) => {
                    // A step into a list by an element's name.
                    let found = list.iter().position(|element| {
                        element.get("name").and_then(Value::as_str) == Some(segment.key.as_str())
                    });
                    match found {
                        Some(index) => {
                            steps.push(Step::Index(index));
                            current = &list[index];
                        }
                        None => {
                            let names: Vec<&str> = list
                                .iter()
                                .filter_map(|e| e.get("name").and_then(Value::as_str))
                                .collect();
                            return Err(format!(
                                "{} is a list with no element named `{}`{}",
                                describe(&walked),
                                segment.key,
                                if names.is_empty() {
                                    "; use an index such as [0]".to_string()
                                } else {
                                    format!("; the names are: {}", names.join(", "))
                                }
                            ));
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "{} is {}, so it has no `{}` inside",
                        describe(&walked),
                        kind_of(other),
                        segment.key
                    ));
                }
            }
            walked = join(&walked, &segment.key);
            for &index in &segment.indices {
                match current {
                    Value::Array(list) if index < list.len() => {
                        steps.push(Step::Index(index));
                        current = &list[index];
                    }
                    Value::Array(list) => {
                        return Err(format!(
                            "`{walked}[{index}]` is out of range: the list has {} element(s)",
                            list.len()
                        ));
                    }
                    other => {
                        return Err(format!(
                            "`{walked}` is {}, not a list, so `[{index}]` does not apply",
                            kind_of(other)
                        ));
                    }
                }
                walked = format!("{walked}[{index}]");
            }
        }
        Ok((steps, Some(current)))
    }

    /// Finds what kind of number the path addresses. For a field the file does not set yet,
    /// the kind is taken from how the range is written (`hint`: with a unit or without).
    pub fn kind_in(&self, document: &Value, hint: &str) -> Result<ValueKind, String> {
        let (_, value) = self.resolve(document)?;
        match value {
            None => Ok(guess_kind(hint)),
            Some(Value::Number(number)) => Ok(ValueKind::Number {
                integer: number.is_i64() || number.is_u64(),
            }),
            Some(Value::String(text)) => {
                if parse_duration_us(text).is_ok() {
                    Ok(ValueKind::Duration)
                } else if parse_bytes(text).is_ok() {
                    Ok(ValueKind::Size)
                } else {
                    Err(format!(
                        "`{self}` is the text \"{text}\", not a number, a duration or a size: \
                         only numeric fields can be swept"
                    ))
                }
            }
            Some(Value::Object(map)) => {
                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                Err(format!(
                    "`{self}` is an object ({{{}}}), not a number: sweep a number inside it, \
                     e.g. `{self}.{}`",
                    keys.join(", "),
                    keys.first().copied().unwrap_or("…")
                ))
            }
            Some(other) => Err(format!(
                "`{self}` is {}, not a number: only numeric fields can be swept",
                kind_of(other)
            )),
        }
    }

    /// Writes `value` at the path (adding the last key if the file does not have it, and the
    /// objects on the way to it).
    pub fn set(&self, document: &mut Value, value: Value) -> Result<(), String> {
        let (steps, _) = self.resolve(document)?;
        let mut current = document;
        let (last, leading) = steps.split_last().expect("a path has at least one step");
        for step in leading {
            current = match step {
                Step::Key(key) => match current {
                    Value::Object(map) => map
                        .entry(key.clone())
                        .or_insert_with(|| Value::Object(Default::default())),
                    _ => unreachable!("resolve checked the container"),
                },
                Step::Index(index) => current.get_mut(*index).expect("resolved above"),
            };
        }
        match (last, current) {
            (Step::Key(key), Value::Object(map)) => {
                map.insert(key.clone(), value);
            }
            (Step::Index(index), Value::Array(list)) => list[*index] = value,
            _ => unreachable!("resolve checked the container"),
        }
        Ok(())
    }
}

/// A field absent from the file: a range with a unit is a duration (or a size), else a number.
fn guess_kind(hint: &str) -> ValueKind {
    let end = hint.split("..").next().unwrap_or("").trim();
    if parse_duration_us(end).is_ok() {
        ValueKind::Duration
    } else if parse_bytes(end).is_ok() {
        ValueKind::Size
    } else {
        ValueKind::Number {
            integer: !end.contains(['.', 'e', 'E']),
        }
    }
}

fn join(walked: &str, key: &str) -> String {
    if walked.is_empty() {
        key.to_string()
    } else {
        format!("{walked}.{key}")
    }
}

fn describe(walked: &str) -> String {
    if walked.is_empty() {
        "the scenario".to_string()
    } else {
        format!("`{walked}`")
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a true/false value",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A parameter's range as the user wrote it: `FROM..TO`.
pub fn split_range(text: &str) -> Result<(&str, &str), String> {
    text.split_once("..")
        .map(|(from, to)| (from.trim(), to.trim()))
        .filter(|(from, to)| !from.is_empty() && !to.is_empty())
        .ok_or_else(|| {
            format!("\"{text}\" is not a range: write FROM..TO, e.g. 100ms..10s or 1000..20000")
        })
}

/// The most values one axis may take (`--points`).
pub const POINTS_PER_AXIS_MAX: usize = 10_000;

/// `points` values from `from` to `to`, evenly spaced (or evenly on a log scale), rounded as the
/// kind requires, duplicates (after rounding) removed.
pub fn spaced_values(
    kind: ValueKind,
    from: f64,
    to: f64,
    points: usize,
    logarithmic: bool,
) -> Result<Vec<f64>, String> {
    if points == 0 || points > POINTS_PER_AXIS_MAX {
        return Err(format!(
            "--points must be between 1 and {}, got {points}",
            POINTS_PER_AXIS_MAX
        ));
    }
    if logarithmic && (from <= 0.0 || to <= 0.0) {
        return Err(format!(
            "a logarithmic range must stay above zero, got {}..{}",
            kind.display(from),
            kind.display(to)
        ));
    }
    if points > 1 && from == to {
        return Err(format!(
            "the range {}..{} is a single value: widen it or use --points 1",
            kind.display(from),
            kind.display(to)
        ));
    }
    let mut values: Vec<f64> = (0..points)
        .map(|i| {
            if points == 1 {
                return from;
            }
            let fraction = i as f64 / (points - 1) as f64;
            if logarithmic {
                from * (to / from).powf(fraction)
            } else {
                from + (to - from) * fraction
            }
        })
        .map(|v| kind.round(v))
        .collect();
    values.dedup();
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({
            "checkpointing": {"interval": "1s", "mode": "EXACTLY_ONCE"},
            "job": {"operators": [
                {"name": "source", "rate_per_s": 10000, "records": 5},
                {"name": "sum", "cost": "200us", "selectivity": 0.5}
            ]}
        })
    }

    #[test]
    fn paths_find_numbers_durations_and_list_elements_by_index_or_name() {
        let doc = document();
        let kind = |path: &str| JsonPath::parse(path).unwrap().kind_in(&doc, "1..2");
        assert_eq!(kind("checkpointing.interval"), Ok(ValueKind::Duration));
        assert_eq!(
            kind("job.operators[0].rate_per_s"),
            Ok(ValueKind::Number { integer: true })
        );
        assert_eq!(kind("job.operators.sum.cost"), Ok(ValueKind::Duration));
        assert_eq!(
            kind("job.operators.sum.selectivity"),
            Ok(ValueKind::Number { integer: false })
        );
    }

    #[test]
    fn a_path_into_a_missing_section_makes_it() {
        let mut doc = document();
        let path = JsonPath::parse("checkpoint-storage.upload.latency").unwrap();
        assert_eq!(path.kind_in(&doc, "1ms..5ms"), Ok(ValueKind::Duration));
        path.set(&mut doc, json!("3ms")).unwrap();
        assert_eq!(doc["checkpoint-storage"]["upload"]["latency"], json!("3ms"));
        assert_eq!(
            doc["checkpointing"]["interval"],
            json!("1s"),
            "the rest kept"
        );
    }

    #[test]
    fn a_wrong_path_says_what_is_there_instead() {
        let doc = document();
        let error = |path: &str| {
            JsonPath::parse(path)
                .and_then(|p| p.kind_in(&doc, "1..2"))
                .unwrap_err()
        };
        assert!(error("job.operators[0].nope[1]").contains("has no key `nope`"));
        assert!(error("job.operators[0].nope[1]").contains("name"));
        assert!(error("job.operators[7].cost").contains("out of range"));
        assert!(error("job.operators.summ.cost").contains("the names are: source, sum"));
        assert!(error("checkpointing.mode").contains("not a number"));
        assert!(error("job").contains("an object"));
        assert!(error("a..b").contains("not a path"));
    }

    #[test]
    fn setting_writes_durations_as_whole_microseconds_and_adds_a_missing_last_key() {
        let mut doc = document();
        let interval = JsonPath::parse("checkpointing.interval").unwrap();
        interval
            .set(&mut doc, ValueKind::Duration.to_json(250_000.4))
            .unwrap();
        assert_eq!(doc["checkpointing"]["interval"], json!("250000us"));
        let pause = JsonPath::parse("checkpointing.min-pause").unwrap();
        assert_eq!(pause.kind_in(&doc, "1s..2s"), Ok(ValueKind::Duration));
        pause.set(&mut doc, json!("5us")).unwrap();
        assert_eq!(doc["checkpointing"]["min-pause"], json!("5us"));
    }

    #[test]
    fn durations_are_shown_in_the_largest_unit_without_trailing_zeros() {
        assert_eq!(compact_duration(40), "40us");
        assert_eq!(compact_duration(250_000), "250ms");
        assert_eq!(compact_duration(1_500_000), "1.5s");
        assert_eq!(compact_duration(448_406), "448.406ms");
    }

    #[test]
    fn log_spacing_is_geometric_and_rounding_removes_duplicates() {
        let values = spaced_values(ValueKind::Duration, 100.0, 10_000.0, 3, true).unwrap();
        assert_eq!(values, vec![100.0, 1000.0, 10_000.0]);
        let integers =
            spaced_values(ValueKind::Number { integer: true }, 1.0, 2.0, 5, false).unwrap();
        assert_eq!(integers, vec![1.0, 2.0]);
        assert!(spaced_values(ValueKind::Duration, 0.0, 10.0, 3, true).is_err());
    }
}
