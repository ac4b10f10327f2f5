//! Parameter sweeps (work in progress).
