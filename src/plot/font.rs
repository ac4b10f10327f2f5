//! The one font every chart uses, compiled into the binary.
//!
//! plotters' default text support goes through fontconfig and the fonts installed on the host, so
//! the same chart would come out differently (or not at all) on another machine. With the pure-Rust
//! `ab_glyph` renderer and DejaVu Sans embedded with `include_bytes!`, text looks the same
//! everywhere and no system font is ever read. The family is registered once per process under the
//! name `sans-serif`; bold and italic requests fall back to this regular face.

use super::PlotError;
use plotters::style::{FontStyle, register_font};
use std::sync::OnceLock;

/// The font family name every chart asks for.
pub(crate) const FONT_FAMILY: &str = "sans-serif";

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/DejaVuSans-LICENSE.txt`).
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled font with plotters, once per process; later calls return the first
/// call's outcome.
pub fn ensure_font_registered() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FONT_FAMILY, FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "the bundled DejaVu Sans could not be parsed".to_string())
        })
        .clone()
        .map_err(PlotError::Font)
}
