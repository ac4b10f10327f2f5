//! Rate-limited sources, as Flink limits them: `RateLimiterStrategy.perSecond` (used by
//! `DataGeneratorSource`) gives each source subtask a Guava `RateLimiter` — the "smooth bursty"
//! one, which hands out one permit every `1 / rate` seconds and, while nobody asks, saves unused
//! permits up to one second's worth.
//!
//! A source asks for one permit per record, and only when its output can take a record. So while
//! it is backpressured it asks for none, saves up to a second of permits, and when the
//! backpressure lifts it spends them at once: a stalled source catches up by up to one second of
//! records, and then goes on at its rate. (A limiter that never bursts makes queues drift instead
//! of settling.) The arithmetic follows Guava's: integer microseconds, each wait truncated to a
//! whole microsecond, saved permits counted fractionally.

/// One source subtask's rate limiter.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimiter {
    /// Time between permits (µs).
    interval_us: f64,
    /// Permits saved at most: one second's worth.
    max_permits: f64,
    /// Permits saved so far.
    stored_permits: f64,
    /// When the next fresh permit is free (µs).
    next_free_us: u64,
}

impl RateLimiter {
    /// A limiter of `rate_per_s` permits per second, created at `now_us` with nothing saved.
    pub fn per_second(rate_per_s: f64, now_us: u64) -> RateLimiter {
        RateLimiter {
            interval_us: 1e6 / rate_per_s,
            max_permits: rate_per_s,
            stored_permits: 0.0,
            next_free_us: now_us,
        }
    }

    /// Takes one permit at `now_us` and returns when it may be used (`now_us` if at once). As in
    /// Guava, the wait for a fresh permit is charged to the permit after this one: a request is
    /// served at the time the previous ones left free.
    pub fn reserve(&mut self, now_us: u64) -> u64 {
        if now_us > self.next_free_us {
            // Idle since the last free permit: save what was not used, up to the maximum.
            let unused = (now_us - self.next_free_us) as f64 / self.interval_us;
            self.stored_permits = (self.stored_permits + unused).min(self.max_permits);
            self.next_free_us = now_us;
        }
        let ticket = self.next_free_us;
        let saved = self.stored_permits.min(1.0);
        let fresh = 1.0 - saved;
        self.next_free_us = self
            .next_free_us
            .saturating_add((fresh * self.interval_us) as u64);
        self.stored_permits -= saved;
        ticket
    }

    /// Starts afresh at `now_us` with nothing saved: a restarted source has a new limiter.
    pub fn restart(&mut self, now_us: u64) {
        self.stored_permits = 0.0;
        self.next_free_us = now_us;
    }

    /// The end of a stop-the-world pause at `now_us`, `reserved_us` being the permit the source
    /// had already reserved, if any: the schedule resumes where it stood — that permit (or the
    /// next free one) at `now_us` at the earliest, the next one an interval later — and nothing was
    /// saved during the pause (the machine of Young's and Daly's model stood still). The source
    /// reserves afresh.
    pub fn resume(&mut self, now_us: u64, reserved_us: Option<u64>) {
        self.stored_permits = 0.0;
        self.next_free_us = reserved_us.unwrap_or(self.next_free_us).max(now_us);
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn a_source_that_keeps_asking_gets_one_permit_per_interval() {
        let mut limiter = RateLimiter::per_second(10_000.0, 0);
        let mut now = 0;
        let mut served = Vec::new();
        for _ in 0..5 {
            let ticket = limiter.reserve(now);
            served.push(ticket);
            now = ticket + 30; // 30 µs of work per record, less than the 100 µs interval
        }
        assert_eq!(served, [0, 100, 200, 300, 400]);
    }

    #[test]
    fn a_stalled_source_catches_up_by_at_most_one_second_of_permits() {
        let mut limiter = RateLimiter::per_second(1000.0, 0);
        assert_eq!(limiter.reserve(0), 0);
        // Backpressured for 5 s: it asks for nothing, and saves 1000 permits (one second's).
        let resumed = 5_000_000;
        let served: Vec<u64> = (0..1003).map(|_| limiter.reserve(resumed)).collect();
        let burst = served.iter().filter(|&&t| t == resumed).count();
        // A second's worth of saved permits, plus the fresh one whose wait the next one pays.
        assert_eq!(burst, 1001);
        assert_eq!(
            served[1001..],
            [resumed + 1000, resumed + 2000],
            "then the rate again"
        );
    }

    #[test]
    fn waits_are_whole_microseconds_as_in_guava() {
        let mut limiter = RateLimiter::per_second(3000.0, 0); // 333.33 µs apart
        let served: Vec<u64> = (0..4).map(|_| limiter.reserve(0)).collect();
        assert_eq!(served, [0, 333, 666, 999]);
    }

    #[test]
    fn after_a_pause_or_a_restart_nothing_is_saved() {
        let mut limiter = RateLimiter::per_second(1000.0, 0);
        limiter.reserve(0);
        let waiting_for = limiter.reserve(0); // 1 ms: paused while it waits
        limiter.resume(3_000_000, Some(waiting_for));
        assert_eq!(limiter.reserve(3_000_000), 3_000_000);
        assert_eq!(
            limiter.reserve(3_000_000),
            3_001_000,
            "no burst after the pause"
        );
        let waiting_for = limiter.reserve(3_000_000);
        limiter.resume(3_001_500, Some(waiting_for));
        assert_eq!(
            limiter.reserve(3_001_500),
            3_002_000,
            "a pause shorter than the wait leaves the permit where it was"
        );
        limiter.restart(9_000_000);
        assert_eq!(limiter.reserve(9_000_000), 9_000_000);
        assert_eq!(limiter.reserve(9_000_000), 9_001_000);
    }
}
