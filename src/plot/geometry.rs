//! Clipping: keeping lines and areas inside the plot rectangle.
//!
//! plotters draws whatever it is given, even outside the plot, over the axes and labels. Every
//! chart therefore clips its data to the visible window first, in axis positions (so a logarithmic
//! axis clips correctly too): segments with Liang-Barsky, polygons with Sutherland-Hodgman.

/// A point in axis positions.
pub(crate) type Point = (f64, f64);

/// The visible window in axis positions: (x_min, y_min, x_max, y_max).
pub(crate) type Window = (f64, f64, f64, f64);

/// The part of the segment `from`–`to` inside `window`, if any (Liang-Barsky).
pub(crate) fn clip_segment(from: Point, to: Point, window: Window) -> Option<(Point, Point)> {
    let (x_min, y_min, x_max, y_max) = window;
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let mut enter = 0.0_f64;
    let mut leave = 1.0_f64;
    for (p, q) in [
        (-dx, from.0 - x_min),
        (dx, x_max - from.0),
        (-dy, from.1 - y_min),
        (dy, y_max - from.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                enter = enter.max(t);
            } else {
                leave = leave.min(t);
            }
        }
    }
    if enter > leave {
        return None;
    }
    let at = |t: f64| (from.0 + t * dx, from.1 + t * dy);
    Some((at(enter), at(leave)))
}

/// The visible pieces of a polyline: each piece is a run of points to draw connected.
pub(crate) fn clip_polyline(points: &[Point], window: Window) -> Vec<Vec<Point>> {
    let mut pieces: Vec<Vec<Point>> = Vec::new();
    let mut current: Vec<Point> = Vec::new();
    for pair in points.windows(2) {
        match clip_segment(pair[0], pair[1], window) {
            Some((start, end)) => {
                if current.last() != Some(&start) {
                    if current.len() >= 2 {
                        pieces.push(std::mem::take(&mut current));
                    }
                    current.clear();
                    current.push(start);
                }
                current.push(end);
            }
            None => {
                if current.len() >= 2 {
                    pieces.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    if current.len() >= 2 {
        pieces.push(current);
    }
    pieces
}

/// The part of a polygon inside `window` (Sutherland-Hodgman; the result may be empty).
pub(crate) fn clip_polygon(points: &[Point], window: Window) -> Vec<Point> {
    let (x_min, y_min, x_max, y_max) = window;
    // Each edge of the window: is a point inside, and where does a segment cross the edge.
    type Inside = fn(Point, f64) -> bool;
    type Cross = fn(Point, Point, f64) -> Point;
    let cross_x: Cross = |a, b, x| (x, a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0));
    let cross_y: Cross = |a, b, y| (a.0 + (b.0 - a.0) * (y - a.1) / (b.1 - a.1), y);
    let edges: [(Inside, Cross, f64); 4] = [
        (|p, x| p.0 >= x, cross_x, x_min),
        (|p, x| p.0 <= x, cross_x, x_max),
        (|p, y| p.1 >= y, cross_y, y_min),
        (|p, y| p.1 <= y, cross_y, y_max),
    ];
    let mut output = points.to_vec();
    for (inside, cross, limit) in edges {
        let input = std::mem::take(&mut output);
        let Some(&last) = input.last() else {
            return output;
        };
        let mut previous = last;
        for &point in &input {
            match (inside(previous, limit), inside(point, limit)) {
                (true, true) => output.push(point),
                (true, false) => output.push(cross(previous, point, limit)),
                (false, true) => {
                    output.push(cross(previous, point, limit));
                    output.push(point);
                }
                (false, false) => {}
            }
            previous = point;
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Window = (0.0, 0.0, 1.0, 1.0);

    #[test]
    fn a_segment_crossing_the_window_is_cut_at_its_edges() {
        let clipped = clip_segment((-1.0, 0.5), (2.0, 0.5), UNIT).unwrap();
        assert_eq!(clipped, ((0.0, 0.5), (1.0, 0.5)));
        assert_eq!(clip_segment((2.0, 0.0), (3.0, 1.0), UNIT), None);
    }

    #[test]
    fn a_polyline_leaving_and_reentering_becomes_two_pieces() {
        let line = [(0.2, 0.5), (0.4, 2.0), (0.6, 0.5), (0.8, 0.5)];
        let pieces = clip_polyline(&line, UNIT);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[1].last(), Some(&(0.8, 0.5)));
    }

    #[test]
    fn a_band_taller_than_the_window_is_cut_flat() {
        let band = [(0.2, -1.0), (0.8, -1.0), (0.8, 2.0), (0.2, 2.0)];
        let clipped = clip_polygon(&band, UNIT);
        assert!(clipped.iter().all(|p| p.1 >= 0.0 && p.1 <= 1.0));
        assert_eq!(clipped.len(), 4);
    }
}
