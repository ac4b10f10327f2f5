//! A run digest: a 64-bit FNV-1a hash folded over every recorded event, so that two runs can be
//! compared for byte-identical behaviour by comparing sixteen hex digits.

/// Incremental FNV-1a (64-bit) hash of a run's event sequence.
///
/// FNV is not cryptographic; it does not need to be. It is tiny, portable and has no
/// platform-dependent seed (unlike `std`'s `DefaultHasher`, whose output may change between Rust
/// releases), so a digest printed today matches one printed on another machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest(u64);

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Default for Digest {
    fn default() -> Self {
        Digest(FNV_OFFSET_BASIS)
    }
}

impl Digest {
    /// Folds a 64-bit word into the digest, byte by byte, little-endian.
    #[inline]
    pub fn write_u64(&mut self, word: u64) {
        let mut hash = self.0;
        for byte in word.to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
        self.0 = hash;
    }

    /// Folds a string into the digest.
    pub fn write_str(&mut self, text: &str) {
        for byte in text.bytes() {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// The digest as sixteen lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }

    /// The raw value.
    pub fn value(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_words_give_the_same_digest_and_order_matters() {
        let mut a = Digest::default();
        let mut b = Digest::default();
        a.write_u64(1);
        a.write_u64(2);
        b.write_u64(1);
        b.write_u64(2);
        assert_eq!(a, b);
        let mut c = Digest::default();
        c.write_u64(2);
        c.write_u64(1);
        assert_ne!(a, c);
    }

    #[test]
    fn matches_the_published_fnv1a_test_vector() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (from the reference test suite).
        let mut digest = Digest::default();
        digest.write_str("a");
        assert_eq!(digest.hex(), "af63dc4c8601ec8c");
    }
}
