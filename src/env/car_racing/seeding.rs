//! gym 0.17's `seeding.np_random`: seed → SHA-512 → numpy MT19937 (`init_by_array`) → `uniform`.
//!
//! Reproducing it bit for bit is what lets `reset(s)` build the same track as gym's `env.seed(s)`.

use rand_mt::Mt;
use sha2::{Digest, Sha512};

/// numpy `RandomState` equivalent restricted to what CarRacing draws (`uniform`).
#[derive(Clone)]
pub struct GymRng {
    mt: Mt,
}

/// gym's `hash_seed(create_seed(seed))` split into the u32 words handed to `init_by_array`.
///
/// The first 8 bytes of SHA-512 of the decimal seed are read as little-endian u32 words;
/// high zero words are dropped (Python's bigint → list conversion), `[0]` if all are zero.
pub fn seed_words(seed: u64) -> Vec<u32> {
    let digest = Sha512::digest(seed.to_string().as_bytes());
    let mut value = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
    let mut words = Vec::with_capacity(2);
    while value > 0 {
        words.push((value & 0xffff_ffff) as u32);
        value >>= 32;
    }
    if words.is_empty() {
        words.push(0);
    }
    words
}

impl GymRng {
    /// The generator gym builds for `env.seed(seed)`.
    pub fn from_gym_seed(seed: u64) -> Self {
        Self {
            mt: Mt::new_with_key(seed_words(seed)),
        }
    }

    /// numpy `random_sample()`: 53-bit double from two consecutive outputs.
    pub fn next_f64(&mut self) -> f64 {
        let a = (self.mt.next_u32() >> 5) as f64;
        let b = (self.mt.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// numpy `uniform(lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}
