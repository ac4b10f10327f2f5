//! How a scenario file writes a latency distribution: `"5ms"` (constant), or `{"uniform": …}`,
//! `{"exponential": …}`, `{"normal": …}`, `{"constant": …}` — used by process-graph channels and
//! dataflow operator costs alike.

use super::duration::DurationUs;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A latency: `"5ms"` (constant) or `{"uniform": {"min": "1ms", "max": "5ms"}}`,
/// `{"exponential": {"mean": "2ms"}}`, `{"normal": {"mean": "5ms", "std_dev": "1ms"}}`,
/// `{"constant": "5ms"}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencySpec {
    Constant(DurationUs),
    Uniform {
        min: DurationUs,
        max: DurationUs,
    },
    Exponential {
        mean: DurationUs,
    },
    Normal {
        mean: DurationUs,
        std_dev: DurationUs,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum TaggedLatency {
    Constant(DurationUs),
    Uniform(UniformLatency),
    Exponential(ExponentialLatency),
    Normal(NormalLatency),
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UniformLatency {
    min: DurationUs,
    max: DurationUs,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExponentialLatency {
    mean: DurationUs,
}
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalLatency {
    mean: DurationUs,
    std_dev: DurationUs,
}

impl<'de> Deserialize<'de> for LatencySpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LatencyVisitor;
        impl<'de> Visitor<'de> for LatencyVisitor {
            type Value = LatencySpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration such as \"5ms\", or one of {\"constant\": …}, {\"uniform\": {\"min\", \"max\"}}, \
                     {\"exponential\": {\"mean\"}}, {\"normal\": {\"mean\", \"std_dev\"}}",
                )
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<LatencySpec, E> {
                super::duration::parse_duration_us(text)
                    .map(|us| LatencySpec::Constant(DurationUs(us)))
                    .map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<LatencySpec, A::Error> {
                Ok(
                    match TaggedLatency::deserialize(MapAccessDeserializer::new(map))? {
                        TaggedLatency::Constant(latency) => LatencySpec::Constant(latency),
                        TaggedLatency::Uniform(u) => LatencySpec::Uniform {
                            min: u.min,
                            max: u.max,
                        },
                        TaggedLatency::Exponential(e) => LatencySpec::Exponential { mean: e.mean },
                        TaggedLatency::Normal(n) => LatencySpec::Normal {
                            mean: n.mean,
                            std_dev: n.std_dev,
                        },
                    },
                )
            }
        }
        deserializer.deserialize_any(LatencyVisitor)
    }
}
