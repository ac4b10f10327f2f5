//! The deterministic discrete-event engine.
//!
//! Everything that happens in a simulation is an *event* scheduled at an integer virtual time
//! ([`SimTime`], microseconds). The [`EventQueue`] hands events back in (time, sequence number)
//! order, the sequence number being assigned when the event is scheduled, so two events at the same
//! instant run in the order they were scheduled — on every machine, every time. Randomness comes from
//! [`RngStreams`]: one ChaCha8 stream per component, derived from the scenario seed and the
//! component's name, so adding a component never shifts the random numbers another one draws
//! ("common random numbers" when many runs are compared).
//!
//! The engine knows nothing about snapshots, Flink or charts; the worlds built on it do.

mod budget;
mod digest;
mod latency;
mod queue;
mod rng;
mod time;
mod ziggurat;

pub use budget::{CutShort, EventBudget};
pub use digest::Digest;
pub use latency::LatencyDistribution;
pub(crate) use latency::exponential_us;
pub use queue::EventQueue;
pub use rng::{RngStreams, SimRng, stream_id};
pub use time::SimTime;
