//! Colours and type sizes shared by every chart.
//!
//! Series colours follow the Okabe-Ito palette (M. Okabe and K. Ito, "Color Universal Design",
//! 2008), chosen so that readers with the common forms of colour blindness can still tell the
//! lines apart; the order puts the most distinct colours first. Colours are fixed by position,
//! never by hashing, so the same chart always gets the same colours.

use plotters::style::RGBColor;

/// Colours for measured series, in the order series are given.
pub(crate) const SERIES_COLORS: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xB2), // blue
    RGBColor(0xD5, 0x5E, 0x00), // vermillion
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0xE6, 0x9F, 0x00), // orange
    RGBColor(0x56, 0xB4, 0xE9), // sky blue
    RGBColor(0x00, 0x00, 0x00), // black
];

/// Colours for dashed reference curves (theory drawn over measurements): black first.
pub(crate) const REFERENCE_COLORS: [RGBColor; 3] = [
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0x66, 0x66, 0x66),
    RGBColor(0x99, 0x99, 0x99),
];

/// Colours for vertical marker lines, distinct from the series colours.
pub(crate) const MARKER_COLORS: [RGBColor; 4] = [
    RGBColor(0x4D, 0x4D, 0x4D), // dark grey
    RGBColor(0x7B, 0x32, 0x94), // purple
    RGBColor(0xA6, 0x61, 0x1A), // brown
    RGBColor(0x00, 0x88, 0x37), // green
];

/// Colours for snapshot cuts and recorded states, by snapshot id (cycled).
pub(crate) const SNAPSHOT_COLORS: [RGBColor; 6] = [
    RGBColor(0x00, 0x9E, 0x73), // bluish green
    RGBColor(0xCC, 0x79, 0xA7), // reddish purple
    RGBColor(0x8C, 0x56, 0x4B), // brown
    RGBColor(0x7B, 0x32, 0x94), // purple
    RGBColor(0x99, 0x99, 0x00), // olive
    RGBColor(0x00, 0x00, 0x00), // black
];

/// Text and axes.
pub(crate) const INK: RGBColor = RGBColor(0x20, 0x20, 0x20);
/// Secondary text, e.g. small labels.
pub(crate) const INK_LIGHT: RGBColor = RGBColor(0x55, 0x55, 0x55);
/// Major grid lines.
pub(crate) const GRID: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);
/// Minor grid lines.
pub(crate) const GRID_LIGHT: RGBColor = RGBColor(0xF0, 0xF0, 0xF0);
/// Failures.
pub(crate) const FAILURE_RED: RGBColor = RGBColor(0xD0, 0x00, 0x00);

/// Font size of chart titles, in pixels.
pub(crate) const TITLE_FONT_PX: f64 = 28.0;
/// Font size of axis descriptions ("checkpoint interval (s)").
pub(crate) const AXIS_DESCRIPTION_FONT_PX: f64 = 21.0;
/// Font size of tick labels and legend entries.
pub(crate) const LABEL_FONT_PX: f64 = 18.0;
/// Font size of small annotations (arrow labels, dot labels).
pub(crate) const SMALL_FONT_PX: f64 = 14.0;

/// Picks the colour at `index` of a palette, cycling.
pub(crate) fn cycled(palette: &[RGBColor], index: usize) -> RGBColor {
    palette[index % palette.len()]
}

/// Parses a colour written as `#rrggbb`.
pub(crate) fn parse_hex_color(text: &str) -> Result<RGBColor, String> {
    let digits = text
        .strip_prefix('#')
        .filter(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| format!("colour \"{text}\" is not of the form #rrggbb"))?;
    let channel = |at: usize| u8::from_str_radix(&digits[at..at + 2], 16).unwrap_or(0);
    Ok(RGBColor(channel(0), channel(2), channel(4)))
}

/// The colour given in a chart spec, or the palette's colour at `index` if none was given.
pub(crate) fn chosen_or_cycled(
    chosen: Option<&str>,
    palette: &[RGBColor],
    index: usize,
) -> Result<RGBColor, String> {
    match chosen {
        Some(text) => parse_hex_color(text),
        None => Ok(cycled(palette, index)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_read_from_hex() {
        assert_eq!(parse_hex_color("#0072b2"), Ok(RGBColor(0, 0x72, 0xB2)));
        assert!(parse_hex_color("0072b2").is_err());
        assert!(parse_hex_color("#00722").is_err());
        assert!(parse_hex_color("#00zz00").is_err());
    }
}
