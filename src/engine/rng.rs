//! Seeded random number streams, one per component.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator every component uses: ChaCha8, portable and reproducible across platforms.
pub type SimRng = ChaCha8Rng;

/// A stable 64-bit id for a component name (FNV-1a), used as its ChaCha stream number.
///
/// Streams are keyed by *name* (`"channel p->q"`, `"source[0]"`, `"faults/crash-1"`), not by creation
/// order, so adding a channel or a fault does not shift the random numbers of any other component.
pub fn stream_id(component: &str) -> u64 {
    let mut digest = super::Digest::default();
    digest.write_str(component);
    digest.value()
}

/// Hands out independent random streams derived from (scenario seed, component name).
#[derive(Clone, Copy, Debug)]
pub struct RngStreams {
    seed: u64,
}

impl RngStreams {
    /// Streams for a run with this scenario seed.
    pub fn new(seed: u64) -> Self {
        RngStreams { seed }
    }

    /// The scenario seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The stream for one component: ChaCha8 keyed by the seed, on stream number
    /// `stream_id(component)`. Two different components never share a stream; the same component
    /// always gets the same one.
    pub fn stream(&self, component: &str) -> SimRng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(stream_id(component));
        rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn a_component_gets_the_same_numbers_every_time() {
        let streams = RngStreams::new(7);
        let a: Vec<u64> = (0..4)
            .map(|_| streams.stream("channel p->q").next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn different_components_and_seeds_get_different_streams() {
        let streams = RngStreams::new(7);
        let mut p = streams.stream("channel p->q");
        let mut q = streams.stream("channel q->p");
        assert_ne!(p.next_u64(), q.next_u64());
        let mut other_seed = RngStreams::new(8).stream("channel p->q");
        let mut same = RngStreams::new(7).stream("channel p->q");
        assert_ne!(other_seed.next_u64(), same.next_u64());
    }
}
