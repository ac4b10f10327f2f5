//! Restart strategies: after a failure, restart after a delay, or give up and fail the job.
//! Semantics and defaults of Flink's `restart-strategy.*` options.

use crate::engine::{SimRng, SimTime};
use serde::Serialize;

/// `restart-strategy.type` and its options.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum RestartStrategy {
    /// Never restart: the first failure fails the job.
    None,
    /// Restart after `delay_us`, at most `attempts` times.
    FixedDelay { attempts: u32, delay_us: u64 },
    /// Restart after `delay_us` unless more than `max_failures` failures fall within
    /// `interval_us`.
    FailureRate {
        max_failures: u32,
        interval_us: u64,
        delay_us: u64,
    },
    /// Restart after a growing delay: `initial_us`, × `multiplier` per failure up to `max_us`,
    /// ± `jitter` × delay; back to `initial_us` after `reset_after_us` without a failure.
    ExponentialDelay {
        initial_us: u64,
        max_us: u64,
        multiplier: f64,
        reset_after_us: u64,
        jitter: f64,
    },
}

impl RestartStrategy {
    /// Flink's default when checkpointing is enabled (since 1.19).
    pub fn flink_default() -> RestartStrategy {
        RestartStrategy::ExponentialDelay {
            initial_us: 1_000_000,
            max_us: 60_000_000,
            multiplier: 1.5,
            reset_after_us: 3_600_000_000,
            jitter: 0.1,
        }
    }
}

/// The decision after a failure.
#[derive(Clone, Debug, PartialEq)]
pub enum RestartDecision {
    /// Restart after this delay.
    RestartAfter { delay_us: u64 },
    /// Give up; the reason says which limit was hit.
    GiveUp { reason: String },
}

/// The failure history a restart strategy needs.
#[derive(Clone, Debug)]
pub struct RestartTracker {
    strategy: RestartStrategy,
    failures: Vec<SimTime>,
    current_backoff_us: u64,
}

impl RestartTracker {
    /// A tracker with no failures yet.
    pub fn new(strategy: RestartStrategy) -> RestartTracker {
        let current_backoff_us = match &strategy {
            RestartStrategy::ExponentialDelay { initial_us, .. } => *initial_us,
            _ => 0,
        };
        RestartTracker {
            strategy,
            failures: Vec::new(),
            current_backoff_us,
        }
    }

    /// Failures so far.
    pub fn failures(&self) -> usize {
        self.failures.len()
    }

    /// A failure happened at `now`: restart, or give up?
    pub fn on_failure(&mut self, now: SimTime, rng: &mut SimRng) -> RestartDecision {
        let previous = self.failures.last().copied();
        self.failures.push(now);
        match &self.strategy {
            RestartStrategy::None => RestartDecision::GiveUp {
                reason: "restart-strategy is none: the first failure fails the job".into(),
            },
            RestartStrategy::FixedDelay { attempts, delay_us } => {
                if self.failures.len() as u32 > *attempts {
                    RestartDecision::GiveUp {
                        reason: format!(
                            "fixed-delay restart strategy exhausted its {attempts} attempt(s)"
                        ),
                    }
                } else {
                    RestartDecision::RestartAfter {
                        delay_us: *delay_us,
                    }
                }
            }
            RestartStrategy::FailureRate {
                max_failures,
                interval_us,
                delay_us,
            } => {
                let window_start = now.as_micros().saturating_sub(*interval_us);
                let recent = self
                    .failures
                    .iter()
                    .filter(|t| t.as_micros() > window_start)
                    .count() as u32;
                if recent > *max_failures {
                    RestartDecision::GiveUp {
                        reason: format!(
                            "failure-rate restart strategy: {recent} failures within {} s, more than the {max_failures} allowed",
                            interval_us / 1_000_000
                        ),
                    }
                } else {
                    RestartDecision::RestartAfter {
                        delay_us: *delay_us,
                    }
                }
            }
            RestartStrategy::ExponentialDelay {
                initial_us,
                max_us,
                multiplier,
                reset_after_us,
                jitter,
            } => {
                if previous.is_some_and(|p| now.since_us(p) >= *reset_after_us) {
                    self.current_backoff_us = *initial_us;
                }
                let base = self.current_backoff_us;
                let spread = (base as f64 * jitter) as u64;
                let delay_us = if spread > 0 {
                    use rand::RngExt;
                    base - spread + rng.random_range(0..=2 * spread)
                } else {
                    base
                };
                self.current_backoff_us = ((base as f64 * multiplier) as u64).min(*max_us);
                RestartDecision::RestartAfter { delay_us }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    fn at(s: u64) -> SimTime {
        SimTime::from_micros(s * 1_000_000)
    }

    #[test]
    fn fixed_delay_gives_up_after_its_attempts() {
        let mut rng = RngStreams::new(1).stream("restart");
        let mut tracker = RestartTracker::new(RestartStrategy::FixedDelay {
            attempts: 2,
            delay_us: 5,
        });
        assert_eq!(
            tracker.on_failure(at(1), &mut rng),
            RestartDecision::RestartAfter { delay_us: 5 }
        );
        assert_eq!(
            tracker.on_failure(at(2), &mut rng),
            RestartDecision::RestartAfter { delay_us: 5 }
        );
        assert!(matches!(
            tracker.on_failure(at(3), &mut rng),
            RestartDecision::GiveUp { .. }
        ));
    }

    #[test]
    fn failure_rate_counts_only_failures_inside_the_interval() {
        let mut rng = RngStreams::new(1).stream("restart");
        let mut tracker = RestartTracker::new(RestartStrategy::FailureRate {
            max_failures: 2,
            interval_us: 60_000_000,
            delay_us: 1,
        });
        assert!(matches!(
            tracker.on_failure(at(0), &mut rng),
            RestartDecision::RestartAfter { .. }
        ));
        assert!(matches!(
            tracker.on_failure(at(10), &mut rng),
            RestartDecision::RestartAfter { .. }
        ));
        assert!(
            matches!(
                tracker.on_failure(at(100), &mut rng),
                RestartDecision::RestartAfter { .. }
            ),
            "the first two are outside the window by now"
        );
        assert!(matches!(
            tracker.on_failure(at(110), &mut rng),
            RestartDecision::RestartAfter { .. }
        ));
        let RestartDecision::GiveUp { reason } = tracker.on_failure(at(120), &mut rng) else {
            panic!("three within a minute")
        };
        assert!(reason.contains("3 failures within 60 s"), "{reason}");
    }

    #[test]
    fn exponential_delay_grows_to_its_maximum_and_resets_after_a_quiet_hour() {
        let mut rng = RngStreams::new(1).stream("restart");
        let mut tracker = RestartTracker::new(RestartStrategy::ExponentialDelay {
            initial_us: 1_000_000,
            max_us: 2_000_000,
            multiplier: 1.5,
            reset_after_us: 3_600_000_000,
            jitter: 0.0,
        });
        let delays: Vec<u64> = [0, 1, 2, 3]
            .iter()
            .map(|&s| match tracker.on_failure(at(s), &mut rng) {
                RestartDecision::RestartAfter { delay_us } => delay_us,
                RestartDecision::GiveUp { .. } => panic!("exponential delay never gives up"),
            })
            .collect();
        assert_eq!(delays, [1_000_000, 1_500_000, 2_000_000, 2_000_000]);
        assert_eq!(
            tracker.on_failure(at(3 + 3600), &mut rng),
            RestartDecision::RestartAfter {
                delay_us: 1_000_000
            }
        );
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let mut rng = RngStreams::new(2).stream("restart");
        for _ in 0..50 {
            let mut tracker = RestartTracker::new(RestartStrategy::flink_default());
            let RestartDecision::RestartAfter { delay_us } = tracker.on_failure(at(0), &mut rng)
            else {
                panic!()
            };
            assert!((900_000..=1_100_000).contains(&delay_us), "{delay_us}");
        }
    }
}
