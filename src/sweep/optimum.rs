//! Where a measured curve has its minimum: the simulated optimum of an overhead sweep.
//!
//! Near its optimum an overhead curve is flat — that is why the optimum matters less than people
//! fear, and also why the lowest of a few noisy points is a poor estimate of where it lies. So the
//! minimum is taken from a least-squares parabola through the lowest point and its neighbours
//! (in ln x on a logarithmic sweep, where the curve is nearly symmetric: for Young's first-order
//! overhead δ/τ + τ/2M it is exactly a cosh in ln τ). The fit uses only the measurements; no
//! theory enters it. If the lowest point is the first or the last of the sweep (the minimum may
//! lie outside it), or the points do not curve upwards around it, the lowest point itself is
//! returned and `fitted` is false.

use serde::{Deserialize, Serialize};

/// The minimum of a measured curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedMinimum {
    /// Where the minimum is.
    pub x: f64,
    /// The curve's value there.
    pub y: f64,
    /// Position of the lowest measured point.
    pub lowest_index: usize,
    /// True if the parabola was used, false if it is the lowest measured point.
    pub fitted: bool,
}

/// The minimum of `points` (sorted by x), fitted through the lowest point and up to `neighbours`
/// points on each side (the window slides inwards at the ends of the sweep).
pub fn fitted_minimum(
    points: &[(f64, f64)],
    logarithmic: bool,
    neighbours: usize,
) -> Option<FittedMinimum> {
    let lowest_index = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.1.is_finite())
        .min_by(|a, b| a.1.1.total_cmp(&b.1.1))
        .map(|(index, _)| index)?;
    let lowest = FittedMinimum {
        x: points[lowest_index].0,
        y: points[lowest_index].1,
        lowest_index,
        fitted: false,
    };
    let width = 2 * neighbours + 1;
    if points.len() < 3 || neighbours == 0 || lowest_index == 0 || lowest_index == points.len() - 1
    {
        return Some(lowest);
    }
    let width = width.min(points.len());
    let start = lowest_index
        .saturating_sub(neighbours)
        .min(points.len() - width);
    let window = &points[start..start + width];
    let transform = |x: f64| if logarithmic { x.ln() } else { x };
    let inverse = |u: f64| if logarithmic { u.exp() } else { u };
    let samples: Vec<(f64, f64)> = window.iter().map(|&(x, y)| (transform(x), y)).collect();
    let Some((a, b, c)) = least_squares_parabola(&samples) else {
        return Some(lowest);
    };
    if c <= 0.0 {
        return Some(lowest);
    }
    let vertex = -b / (2.0 * c);
    let (low, high) = (samples[0].0, samples[samples.len() - 1].0);
    if !(low..=high).contains(&vertex) {
        return Some(lowest);
    }
    Some(FittedMinimum {
        x: inverse(vertex),
        y: a + b * vertex + c * vertex * vertex,
        lowest_index,
        fitted: true,
    })
}

/// Coefficients (a, b, c) of y = a + b·u + c·u² minimising the squared error, or `None` if the
/// points do not determine a parabola.
fn least_squares_parabola(samples: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    if samples.len() < 3 {
        return None;
    }
    // Centre u for a well-conditioned system.
    let mean_u = samples.iter().map(|s| s.0).sum::<f64>() / samples.len() as f64;
    let mut sums = [0.0f64; 5];
    let mut rhs = [0.0f64; 3];
    for &(u, y) in samples {
        let d = u - mean_u;
        let mut power = 1.0;
        for (k, sum) in sums.iter_mut().enumerate() {
            *sum += power;
            if k < 3 {
                rhs[k] += power * y;
            }
            power *= d;
        }
    }
    let matrix = [
        [sums[0], sums[1], sums[2]],
        [sums[1], sums[2], sums[3]],
        [sums[2], sums[3], sums[4]],
    ];
    let (p, q, r) = solve_3x3(matrix, rhs)?;
    // Undo the centring: y = p + q(u−m) + r(u−m)².
    let a = p - q * mean_u + r * mean_u * mean_u;
    let b = q - 2.0 * r * mean_u;
    Some((a, b, r))
}

/// Cramer's rule for a 3×3 system.
fn solve_3x3(m: [[f64; 3]; 3], v: [f64; 3]) -> Option<(f64, f64, f64)> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(m);
    if d.abs() < 1e-300 || !d.is_finite() {
        return None;
    }
    let column = |k: usize| {
        let mut replaced = m;
        for row in 0..3 {
            replaced[row][k] = v[row];
        }
        det(replaced) / d
    };
    Some((column(0), column(1), column(2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_parabola_in_log_x_gives_its_vertex_between_the_samples() {
        // y = (ln x − ln 3)² + 0.5, sampled at powers of 2: the vertex is at x = 3.
        let points: Vec<(f64, f64)> = (0..8)
            .map(|k| {
                let x = 2f64.powi(k);
                (x, (x.ln() - 3f64.ln()).powi(2) + 0.5)
            })
            .collect();
        let minimum = fitted_minimum(&points, true, 2).unwrap();
        assert!(minimum.fitted);
        assert!((minimum.x - 3.0).abs() < 1e-9, "{minimum:?}");
        assert!((minimum.y - 0.5).abs() < 1e-9);
    }

    #[test]
    fn a_curve_still_falling_at_the_edge_has_its_lowest_point_as_the_minimum() {
        let points = vec![(1.0, 5.0), (2.0, 4.0), (3.0, 3.0), (4.0, 2.0)];
        let minimum = fitted_minimum(&points, false, 2).unwrap();
        assert!(!minimum.fitted);
        assert_eq!((minimum.x, minimum.y), (4.0, 2.0));
    }
}
