//! Deliberately broken barrier handling, for teaching: each file is a sound rule with one step
//! changed, named after the step, so a learner can put it beside the sound one and see what the
//! step was for. The oracle catches every one of them (`tests/properties.rs` proves it).
//!
//! - [`no_alignment`]: exactly-once without blocking inputs (wraps any handler).
//! - [`forward_barrier_early`]: the aligned rules, forwarding the barrier on the first one.
//! - [`forgets_channel_state`]: unaligned snapshots that drop their in-flight data (wraps any
//!   handler).

pub mod forgets_channel_state;
pub mod forward_barrier_early;
pub mod no_alignment;
