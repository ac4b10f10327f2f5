//! Small pieces of the text reports: the pass/fail marks, sizes and durations as people read them,
//! word wrapping.

pub(super) fn mark(passed: bool) -> &'static str {
    if passed { "✓" } else { "✗" }
}

/// Bytes as Flink's UI shows them.
pub fn format_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// A duration in µs as milliseconds with sensible precision.
pub fn format_ms(duration_us: u64) -> String {
    let ms = duration_us as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

/// A moment of virtual time in seconds, always with millisecond precision (one format for a
/// column of trigger times).
pub fn format_seconds(at_us: u64) -> String {
    format!("{:.3}s", at_us as f64 / 1e6)
}

/// Greedy word wrap.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
