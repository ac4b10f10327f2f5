//! The analytical model of checkpoint overhead: how often should a job checkpoint?
//!
//! Checkpointing too often wastes time writing checkpoints; too rarely wastes time redoing lost
//! work after a failure. Two classic results give the interval that balances the two, and the
//! simulated sweeps are drawn against them:
//!
//! - J. W. Young, "A first order approximation to the optimum checkpoint interval",
//!   Communications of the ACM 17(9), 1974: τ_opt ≈ √(2δM).
//! - J. T. Daly, "A higher order estimate of the optimum checkpoint interval for restart dumps",
//!   Future Generation Computer Systems 22(3), 2006: the expected wall time of a job with
//!   exponentially distributed failures (his eq. 20) and a higher-order estimate of its minimum
//!   (his eq. 37).
//!
//! The symbols, as in Daly's paper: `Ts` useful work the job needs (solve time), τ the compute time
//! between two checkpoints, δ the time one checkpoint takes, `R` the time to restart after a
//! failure, `M` the mean time between failures (failures arrive as a Poisson process).
//!
//! **Units:** every function takes plain `f64` durations in *any unit, the same for all
//! arguments* (seconds, minutes, hours …), and returns durations in that same unit. Overheads are
//! fractions (0.167 means 16.7 %).
//!
//! The model assumes what the stop-the-world (synchronous) snapshot does: the job makes no progress
//! while it checkpoints, and a failure loses everything since the last completed checkpoint.
//! Asynchronous snapshots (Flink) pay much less than δ on the task thread, which is exactly what
//! the simulated curves show against this one.
//!
//! `exp` and `sqrt` come from `libm` (a pure-Rust port of musl), so the numbers, and therefore the
//! charts drawn from them, have the same bits on every platform.

/// Young's first-order optimum checkpoint interval, √(2δM) (Young 1974).
///
/// Good when checkpoints are cheap compared with the mean time between failures (δ ≪ M);
/// it ignores the restart cost, and overestimates the optimum as δ grows.
pub fn young_optimum_interval(checkpoint_cost: f64, mean_time_between_failures: f64) -> f64 {
    assert_valid_durations(checkpoint_cost, 0.0, mean_time_between_failures);
    libm::sqrt(2.0 * checkpoint_cost * mean_time_between_failures)
}

/// Daly's higher-order optimum checkpoint interval (Daly 2006, eq. 37):
/// √(2δM)·[1 + ⅓·√(δ/(2M)) + (δ/(2M))/9] − δ for δ < 2M, and M otherwise.
///
/// It is an estimate of the minimum of [`daly_expected_wall_time`]: 0.001 % below the true
/// minimum for δ = M/100, 0.04 % for δ = M/10, 0.6 % for δ = M/2 (see the tests). The restart
/// cost `R` does not move the optimum, because it scales the wall time by the constant factor
/// e^{R/M}.
pub fn daly_optimum_interval(checkpoint_cost: f64, mean_time_between_failures: f64) -> f64 {
    assert_valid_durations(checkpoint_cost, 0.0, mean_time_between_failures);
    let (cost, mean) = (checkpoint_cost, mean_time_between_failures);
    if cost >= 2.0 * mean {
        return mean;
    }
    let ratio = cost / (2.0 * mean);
    libm::sqrt(2.0 * cost * mean) * (1.0 + libm::sqrt(ratio) / 3.0 + ratio / 9.0) - cost
}

/// Daly's expected wall-clock time of a job that needs `useful_work` (Ts) of computation, when it
/// checkpoints after every `interval` (τ) of computation (Daly 2006, eq. 20):
/// T_w = M·e^{R/M}·(e^{(τ+δ)/M} − 1)·Ts/τ.
///
/// Failures arrive as a Poisson process with mean `mean_time_between_failures` (M), and may also
/// strike during a checkpoint or a restart; each failure costs `restart_cost` (R) plus the work
/// since the last checkpoint.
pub fn daly_expected_wall_time(
    useful_work: f64,
    interval: f64,
    checkpoint_cost: f64,
    restart_cost: f64,
    mean_time_between_failures: f64,
) -> f64 {
    assert!(
        useful_work.is_finite() && useful_work >= 0.0,
        "useful work must be a finite duration ≥ 0, got {useful_work}"
    );
    assert!(
        interval.is_finite() && interval > 0.0,
        "the checkpoint interval must be a finite duration > 0, got {interval}"
    );
    assert_valid_durations(checkpoint_cost, restart_cost, mean_time_between_failures);
    let mean = mean_time_between_failures;
    mean * libm::exp(restart_cost / mean)
        * libm::expm1((interval + checkpoint_cost) / mean)
        * useful_work
        / interval
}

/// Daly's expected overhead at checkpoint interval `interval`: T_w/Ts − 1, the fraction of extra
/// wall time spent checkpointing, redoing lost work and restarting (0.167 = 16.7 % longer than a
/// failure-free run without checkpoints). It does not depend on the amount of useful work.
pub fn daly_overhead(
    interval: f64,
    checkpoint_cost: f64,
    restart_cost: f64,
    mean_time_between_failures: f64,
) -> f64 {
    daly_expected_wall_time(
        1.0,
        interval,
        checkpoint_cost,
        restart_cost,
        mean_time_between_failures,
    ) - 1.0
}

/// The model's preconditions: costs are finite and non-negative, failures have a positive mean.
fn assert_valid_durations(
    checkpoint_cost: f64,
    restart_cost: f64,
    mean_time_between_failures: f64,
) {
    assert!(
        checkpoint_cost.is_finite() && checkpoint_cost >= 0.0,
        "the checkpoint cost must be a finite duration ≥ 0, got {checkpoint_cost}"
    );
    assert!(
        restart_cost.is_finite() && restart_cost >= 0.0,
        "the restart cost must be a finite duration ≥ 0, got {restart_cost}"
    );
    assert!(
        mean_time_between_failures.is_finite() && mean_time_between_failures > 0.0,
        "the mean time between failures must be a finite duration > 0, got {mean_time_between_failures}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rounds to `digits` decimal places, the precision the check values are quoted with.
    fn rounded(value: f64, digits: i32) -> f64 {
        let scale = 10f64.powi(digits);
        (value * scale).round() / scale
    }

    /// (δ, R, M) → Daly's optimum, and Daly's overhead there (in %), as Daly's paper and its worked examples give them.
    const CHECK_VALUES: [(f64, f64, f64, f64, i32, f64, i32); 4] = [
        // δ, R, M, optimum, its decimals, overhead %, its decimals
        (1.0, 1.0, 100.0, 13.48, 2, 16.7, 1),
        (1.0, 0.0, 1000.0, 44.06, 2, 4.6, 1),
        (10.0, 10.0, 100.0, 38.3, 1, 79.0, 0),
        // Daly's own example, in minutes: 5 min checkpoints, 10 min restarts, a failure every 24 h.
        (5.0, 10.0, 24.0 * 60.0, 116.7, 1, 9.6, 1),
    ];

    #[test]
    fn the_design_check_values_reproduce() {
        for (cost, restart, mean, optimum, optimum_digits, overhead_percent, overhead_digits) in
            CHECK_VALUES
        {
            let interval = daly_optimum_interval(cost, mean);
            let overhead = daly_overhead(interval, cost, restart, mean);
            assert_eq!(
                rounded(interval, optimum_digits),
                optimum,
                "optimum for δ={cost}, R={restart}, M={mean}: {interval}"
            );
            assert_eq!(
                rounded(100.0 * overhead, overhead_digits),
                overhead_percent,
                "overhead for δ={cost}, R={restart}, M={mean}: {overhead}"
            );
        }
    }

    #[test]
    fn young_is_the_first_order_term_of_daly() {
        // Daly's correction terms shrink as δ/M does: at δ = M/100 000 the two agree to 0.3 %.
        let young = young_optimum_interval(1.0, 100_000.0);
        let daly = daly_optimum_interval(1.0, 100_000.0);
        assert_eq!(young, libm::sqrt(200_000.0));
        assert!((young - daly).abs() / young < 0.003, "{young} vs {daly}");
        // For expensive checkpoints Young overestimates: (δ, M) = (10, 100) gives 44.7, not 38.3.
        assert!(young_optimum_interval(10.0, 100.0) > daly_optimum_interval(10.0, 100.0) + 6.0);
    }

    #[test]
    fn checkpoints_costing_twice_the_mean_time_between_failures_use_the_mean() {
        assert_eq!(daly_optimum_interval(200.0, 100.0), 100.0);
        assert_eq!(daly_optimum_interval(500.0, 100.0), 100.0);
    }

    #[test]
    fn wall_time_scales_with_the_work_and_restarts_only_scale_it() {
        let one = daly_expected_wall_time(1.0, 20.0, 1.0, 0.0, 100.0);
        assert!(
            (daly_expected_wall_time(1000.0, 20.0, 1.0, 0.0, 100.0) - 1000.0 * one).abs() < 1e-9
        );
        let with_restarts = daly_expected_wall_time(1.0, 20.0, 1.0, 5.0, 100.0);
        assert!((with_restarts / one - libm::exp(0.05)).abs() < 1e-12);
    }

    #[test]
    fn with_rare_failures_the_overhead_is_the_checkpoint_cost_per_interval() {
        // M → ∞: T_w/Ts → (τ+δ)/τ, so checkpointing every 100 costing 1 costs 1 %.
        let overhead = daly_overhead(100.0, 1.0, 0.0, 1e12);
        assert!((overhead - 0.01).abs() < 1e-6, "{overhead}");
    }

    /// Finds the interval with the smallest overhead by scanning `steps` points geometrically
    /// spaced over [M/10 000, 2M].
    fn scanned_minimum(cost: f64, restart: f64, mean: f64, steps: u32) -> f64 {
        let (low, high) = (mean * 1e-4, 2.0 * mean);
        let ratio = libm::pow(high / low, 1.0 / f64::from(steps));
        (0..=steps)
            .map(|step| low * libm::pow(ratio, f64::from(step)))
            .min_by(|a, b| {
                daly_overhead(*a, cost, restart, mean)
                    .total_cmp(&daly_overhead(*b, cost, restart, mean))
            })
            .unwrap()
    }

    #[test]
    fn dalys_formula_lands_on_the_minimum_of_his_wall_time() {
        // The scan's step is 0.0005 % of the interval. Daly's estimate sits 0.001 % below the true
        // minimum for δ/M = 1/100, 0.00004 % for δ/M = 1/1000 and 0.04 % for δ/M = 1/10 (it
        // drifts to 0.1 % at 1/5 and 0.6 % at 1/2). The overhead there is higher than the minimum
        // by less than 1e-7, because the curve is flat at its minimum.
        let tolerances = [
            (1.0, 1.0, 100.0, 2e-5),
            (1.0, 0.0, 1000.0, 1e-5),
            (5.0, 10.0, 1440.0, 1e-5),
            (10.0, 10.0, 100.0, 5e-4),
        ];
        for (cost, restart, mean, tolerance) in tolerances {
            let scanned = scanned_minimum(cost, restart, mean, 2_000_000);
            let estimate = daly_optimum_interval(cost, mean);
            let relative_error = (estimate - scanned).abs() / scanned;
            assert!(
                relative_error < tolerance,
                "δ={cost}, M={mean}: Daly {estimate}, scanned {scanned}, error {relative_error}"
            );
            let overhead_gap = daly_overhead(estimate, cost, restart, mean)
                - daly_overhead(scanned, cost, restart, mean);
            assert!(overhead_gap.abs() < 1e-7, "overhead gap {overhead_gap}");
        }
    }
}
