//! Every random stream of a run derives from the run's seed through [`derive()`]: one function,
//! and one named [`Purpose`] per use, so that two uses can never share a stream by accident and
//! a reader sees at a glance what each stream is for. The values of the purposes are fixed:
//! changing one changes every result that depends on it (runs resume and reproduce bit for
//! bit because they do not change).

/// What a derived stream is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The ES's starting centre (index 0).
    InitialCentre,
    /// One generation's evaluation (index = generation): the seed its env and weight seeds
    /// derive from.
    Evaluation,
    /// One episode's environment (index = variant × P + candidate).
    Environment,
    /// Per-episode random initial weights (index = the first candidate of a chunk, then layer,
    /// then agent).
    InitialWeights,
    /// One generation's ES noise (index = generation; each row then uses [`Purpose::Row`]).
    EsNoise,
    /// One row of a noise matrix (index = row).
    Row,
    /// The random coefficients the PCA analysis compares against (index 0).
    PcaRandomCoefficients,
    /// An episode's random leg damage (index 0).
    Damage,
    /// The `[held_out]` episodes (index 0: the same episodes at every generation scored).
    HeldOut,
}

impl Purpose {
    /// The fixed constant mixed into the seed (changing it changes results).
    const fn constant(self) -> u64 {
        match self {
            Purpose::InitialCentre => 0xC3,
            Purpose::Evaluation => 0xF17,
            Purpose::Environment => 0xE4,
            Purpose::InitialWeights => 0x1417,
            Purpose::EsNoise => 0x0E5,
            Purpose::Row => 0,
            Purpose::PcaRandomCoefficients => 0x9CA,
            Purpose::Damage => 0xDA3A6E,
            Purpose::HeldOut => 0x4E1D,
        }
    }
}

/// The seed of stream `index` for `purpose`, derived from `seed`.
pub fn derive(seed: u64, index: u64, purpose: Purpose) -> u64 {
    stream_seed(seed, index, purpose.constant())
}

/// Derives independent stream seeds from (seed, index, purpose constant): a SplitMix64
/// finaliser over a combination of the three. Prefer [`derive()`] with a named purpose.
pub fn stream_seed(seed: u64, index: u64, purpose: u64) -> u64 {
    let mut z = seed
        .wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(purpose.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_give_distinct_streams() {
        let all = [
            Purpose::InitialCentre,
            Purpose::Evaluation,
            Purpose::Environment,
            Purpose::InitialWeights,
            Purpose::EsNoise,
            Purpose::Row,
            Purpose::PcaRandomCoefficients,
            Purpose::Damage,
        ];
        let seeds: std::collections::HashSet<u64> = all.iter().map(|&p| derive(42, 3, p)).collect();
        assert_eq!(seeds.len(), all.len());
        // Pinned: results of every shipped run depend on these values.
        assert_eq!(derive(0, 0, Purpose::Row), stream_seed(0, 0, 0));
        assert_eq!(stream_seed(1, 2, 3), stream_seed(1, 2, 3));
        assert_ne!(stream_seed(1, 2, 3), stream_seed(1, 3, 2));
    }
}
