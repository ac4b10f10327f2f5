//! The web view: `snapsim ui` (a local server: watch, scrub and fork runs) and
//! `snapsim replay --html` (one self-contained page of a finished run).
//!
//! The page is one HTML file with its script and style inlined ([`page`]): no CDN, no network
//! access, so it works offline and the static export is the same page with its data embedded. It
//! shows a [`replay::Replay`] — the recorded facts of one run — and scrubs through it; it never
//! simulates. A what-if (crash a subtask at the scrubbed instant, change a checkpoint option) is
//! an edit of the scenario document, which the server runs from the start like any scenario
//! ([`server`]): the fork is deterministic, and saving it gives a file `snapsim run` reproduces.

pub mod page;
pub mod replay;
pub mod server;
