//! Fast, deterministic hashing for the search's cache (no random seed: a check gives the same
//! answer, and takes the same steps, on every run).

use std::hash::{BuildHasherDefault, Hasher};

const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// A multiply-rotate hasher over 8-byte words, finished with a full avalanche so that every
/// bit of the result depends on every input bit.
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(26) ^ word).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        mix(self.hash)
    }
}

/// A full-avalanche mix of one word (the finaliser of SplitMix64).
#[inline]
pub fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A random-looking word for operation `i` of a partition: the set of linearized operations
/// is hashed as the XOR of its members' words, updated in O(1) as operations come and go.
#[inline]
pub fn op_word(i: u32) -> u64 {
    mix(u64::from(i).wrapping_add(1).wrapping_mul(MULTIPLIER))
}

/// A hasher for keys that are already good hashes: passes the `u64` through.
#[derive(Debug, Default, Clone, Copy)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with this; fold anything else in all the same.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(MULTIPLIER);
        }
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Builds [`PassThrough`] hashers.
pub type BuildPassThrough = BuildHasherDefault<PassThrough>;

/// The hash of one value with [`FastHasher`].
#[inline]
pub fn hash_one<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = FastHasher::default();
    value.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_strings_hash_equal_and_different_ones_apart() {
        assert_eq!(hash_one("x 0 1 y"), hash_one(&"x 0 1 y".to_string()));
        assert_ne!(hash_one("x 0 1 y"), hash_one("x 0 1 z"));
        // A trailing byte that is zero still changes the hash.
        assert_ne!(hash_one(&[1u8, 2, 3][..]), hash_one(&[1u8, 2, 3, 0][..]));
    }

    #[test]
    fn operation_words_differ() {
        let words: std::collections::HashSet<u64> = (0..10_000).map(op_word).collect();
        assert_eq!(words.len(), 10_000);
    }
}
