//! Message latency distributions.
//!
//! Floating-point maths goes through `libm` (a pure-Rust port of musl's libm) rather than the
//! platform's C library, so `ln` and `cos` give the same bits on every operating system and a seed
//! reproduces the same run everywhere.

use super::SimRng;
use rand::{Rng, RngExt};
use serde::Serialize;

/// How long a message takes from send to arrival, before FIFO ordering and bandwidth are applied.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyDistribution {
    /// Always the same latency.
    Constant { latency_us: u64 },
    /// Uniform over `[min_us, max_us]`, inclusive.
    Uniform { min_us: u64, max_us: u64 },
    /// Exponential with the given mean: memoryless, the classic model of a queueing delay.
    Exponential { mean_us: u64 },
    /// Normal with the given mean and standard deviation, truncated at zero (negative draws are
    /// redrawn, so the shape above zero is the normal's own).
    Normal { mean_us: u64, std_dev_us: u64 },
}

impl LatencyDistribution {
    /// Draws one latency in microseconds.
    #[inline]
    pub fn sample_us(&self, rng: &mut SimRng) -> u64 {
        match *self {
            LatencyDistribution::Constant { latency_us } => latency_us,
            LatencyDistribution::Uniform { min_us, max_us } => rng.random_range(min_us..=max_us),
            LatencyDistribution::Exponential { mean_us } => exponential_us(rng, mean_us as f64),
            LatencyDistribution::Normal {
                mean_us,
                std_dev_us,
            } => {
                for _ in 0..64 {
                    let draw = mean_us as f64 + std_dev_us as f64 * standard_normal(rng);
                    if draw >= 0.0 {
                        return round_to_micros(draw);
                    }
                }
                0
            }
        }
    }

    /// The mean of the distribution in microseconds (before truncation for `Normal`).
    pub fn mean_us(&self) -> f64 {
        match *self {
            LatencyDistribution::Constant { latency_us } => latency_us as f64,
            LatencyDistribution::Uniform { min_us, max_us } => (min_us + max_us) as f64 / 2.0,
            LatencyDistribution::Exponential { mean_us } => mean_us as f64,
            LatencyDistribution::Normal { mean_us, .. } => mean_us as f64,
        }
    }
}

/// A uniform draw from [0, 1) with 53 bits of precision.
#[inline]
pub(crate) fn unit_interval(rng: &mut SimRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box-Muller, one of the pair).
#[inline]
pub(crate) fn standard_normal(rng: &mut SimRng) -> f64 {
    let u1 = 1.0 - unit_interval(rng); // in (0, 1], so ln is finite
    let u2 = unit_interval(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
}

/// An exponential draw with the given mean, in microseconds (used for Poisson arrivals).
#[inline]
pub(crate) fn exponential_us(rng: &mut SimRng, mean_us: f64) -> u64 {
    round_to_micros(mean_us * super::ziggurat::standard_exponential(|| rng.next_u64()))
}

#[inline]
fn round_to_micros(value_us: f64) -> u64 {
    // Round half up; `as` saturates at u64::MAX and maps NaN to 0, and both are exact IEEE
    // operations, so this is as portable as `round` and much cheaper.
    (value_us.max(0.0) + 0.5) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    fn mean_of(distribution: LatencyDistribution, draws: usize) -> f64 {
        let mut rng = RngStreams::new(1).stream("latency test");
        let total: u64 = (0..draws).map(|_| distribution.sample_us(&mut rng)).sum();
        total as f64 / draws as f64
    }

    #[test]
    fn every_distribution_has_roughly_its_configured_mean() {
        let cases = [
            LatencyDistribution::Constant { latency_us: 500 },
            LatencyDistribution::Uniform {
                min_us: 100,
                max_us: 900,
            },
            LatencyDistribution::Exponential { mean_us: 500 },
            LatencyDistribution::Normal {
                mean_us: 500,
                std_dev_us: 100,
            },
        ];
        for distribution in cases {
            let mean = mean_of(distribution, 20_000);
            assert!(
                (mean - 500.0).abs() < 15.0,
                "{distribution:?} gave mean {mean}"
            );
        }
    }

    #[test]
    fn a_normal_truncated_at_zero_never_goes_negative_and_is_pushed_up() {
        // Mean 0: half of all raw draws are negative and get redrawn.
        let mean = mean_of(
            LatencyDistribution::Normal {
                mean_us: 0,
                std_dev_us: 1000,
            },
            20_000,
        );
        // The half-normal's mean is σ·√(2/π) ≈ 798.
        assert!((mean - 798.0).abs() < 30.0, "mean {mean}");
    }

    #[test]
    fn uniform_stays_inside_its_bounds() {
        let mut rng = RngStreams::new(3).stream("bounds");
        let uniform = LatencyDistribution::Uniform {
            min_us: 10,
            max_us: 12,
        };
        for _ in 0..1000 {
            assert!((10..=12).contains(&uniform.sample_us(&mut rng)));
        }
    }
}
