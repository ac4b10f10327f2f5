//! The book's figures: the experiments behind them and the charts they produce.
//!
//! Every figure in `book/src/figures/` is made here, from a scenario in `scenarios/chart-*.json`,
//! by a small sweep or a single run, so that `snapsim figures` can regenerate all of them and a
//! test can check that the committed files are current (byte for byte: the simulator and the
//! renderer are deterministic).

pub mod overhead;
