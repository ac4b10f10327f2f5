//! Fast exponential draws: the ziggurat method (G. Marsaglia and W. W. Tsang, "The Ziggurat Method
//! for Generating Random Variables", Journal of Statistical Software 5(8), 2000).
//!
//! Poisson arrivals and exponential latencies are drawn for nearly every event, and `-ln(u)` costs
//! more than the rest of an event's handling. The ziggurat covers the density with 256 horizontal
//! layers of equal area; about 98.9 % of draws land strictly inside a layer and need one random
//! word, one multiply and one compare — no logarithm at all. The rare rest uses `libm` (pure Rust),
//! so draws stay bit-identical on every platform. The tables are computed once, with `libm`, from
//! the paper's two constants.

use std::sync::OnceLock;

/// Right edge of the base layer (256 layers), from the paper.
const R: f64 = 7.697_117_470_131_05;
/// Area of each layer, from the paper.
const V: f64 = 0.003_949_659_822_581_557;

struct Tables {
    /// Layer edges: `x[0] = V / f(R)` (the base strip), `x[1] = R`, decreasing to `x[256] = 0`.
    x: [f64; 257],
    /// `f(x[i]) = exp(-x[i])`.
    f: [f64; 257],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut x = [0.0; 257];
        x[0] = V / libm::exp(-R);
        x[1] = R;
        for i in 1..256 {
            x[i + 1] = -libm::log(V / x[i] + libm::exp(-x[i]));
        }
        x[256] = 0.0;
        let mut f = [0.0; 257];
        for i in 0..257 {
            f[i] = libm::exp(-x[i]);
        }
        Tables { x, f }
    })
}

/// One draw from the standard exponential distribution (mean 1), using 64-bit words from `next_word`.
#[inline]
pub fn standard_exponential(mut next_word: impl FnMut() -> u64) -> f64 {
    let tables = tables();
    loop {
        let bits = next_word();
        let layer = (bits & 0xff) as usize;
        // The top 53 bits, independent of the 8 low bits that chose the layer.
        let u = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        let x = u * tables.x[layer];
        if x < tables.x[layer + 1] {
            return x;
        }
        if layer == 0 {
            // The tail beyond R is itself exponential (memorylessness): R + Exp(1).
            let u = (next_word() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
            return R - libm::log(1.0 - u);
        }
        let u = (next_word() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        let height = tables.f[layer + 1] + (tables.f[layer] - tables.f[layer + 1]) * u;
        if height < libm::exp(-x) {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;
    use rand::Rng;

    #[test]
    fn every_layer_has_the_same_area() {
        let t = tables();
        // Every layer, up to the top one (which ends at f(0) = 1), has area V.
        for i in 1..=255 {
            let area = t.x[i] * (t.f[i + 1] - t.f[i]);
            assert!((area - V).abs() < 1e-9, "layer {i} has area {area}");
        }
        // The base strip (rectangle plus tail) has area V too: R·f(R) + ∫_R^∞ e^-x dx = x[0]·f(R).
        assert!((t.x[0] * t.f[1] - V).abs() < 1e-15);
    }

    #[test]
    fn draws_follow_the_exponential_distribution() {
        let mut rng = RngStreams::new(9).stream("ziggurat");
        let draws: Vec<f64> = (0..200_000)
            .map(|_| standard_exponential(|| rng.next_u64()))
            .collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let variance =
            draws.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.02, "variance {variance}");
        // The survival function P(X > t) = e^-t, including the tail beyond R.
        for t in [0.1, 1.0, 3.0, 6.0] {
            let share = draws.iter().filter(|&&d| d > t).count() as f64 / draws.len() as f64;
            let expected = libm::exp(-t);
            assert!(
                (share - expected).abs() < 4.0 * (expected / draws.len() as f64).sqrt() + 1e-4,
                "P(X > {t}) = {share}, expected {expected}"
            );
        }
        assert!(draws.iter().any(|&d| d > R), "the tail is reachable");
    }
}
