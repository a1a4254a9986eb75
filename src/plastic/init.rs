//! Per-episode initial weights of the plastic layers (reference `--init_weights`).
//!
//! Drawn on the host from a seeded ChaCha stream and uploaded, so that the same seed gives the
//! same weights on every backend (device RNGs differ between backends).

use std::fmt;
use std::str::FromStr;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// How the plastic weights start each episode.
///
/// Written (in configs, model headers and on the command line) as its name, e.g. `uni`, or for
/// [`WeightInit::NormalStd`] as `normal:STD`, e.g. `normal:0.1`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum WeightInit {
    /// U(-0.1, 0.1), the reference default and the paper's choice.
    Uni,
    /// N(0, 0.024).
    Normal,
    /// U(-1, 1).
    UniBig,
    /// Xavier-uniform with gain 0.3 (`xa_uni`).
    XaUni,
    /// Xavier-uniform with gain 1 (`xa_uni_big`).
    XaUniBig,
    /// Kaiming-uniform with a = 3 (`ka_uni`).
    KaUni,
    /// torch `sparse_` with sparsity 0.8 and std 0.01.
    Sparse,
    Zeros,
    Ones,
    /// PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    Default,
    /// No random draw: the initial weights are part of the evolved genome.
    Coevolve,
    /// N(0, std²) with the given standard deviation (`normal:STD`), e.g. the paper's §4.1
    /// N(0, 0.1) start weights.
    NormalStd(f32),
}

impl WeightInit {
    pub const ALL: [WeightInit; 11] = [
        WeightInit::Uni,
        WeightInit::Normal,
        WeightInit::UniBig,
        WeightInit::XaUni,
        WeightInit::XaUniBig,
        WeightInit::KaUni,
        WeightInit::Sparse,
        WeightInit::Zeros,
        WeightInit::Ones,
        WeightInit::Default,
        WeightInit::Coevolve,
    ];

    /// The family name (`normal` for [`WeightInit::NormalStd`]; its full form, `normal:STD`,
    /// is what `Display` writes).
    pub fn name(self) -> &'static str {
        match self {
            WeightInit::Uni => "uni",
            WeightInit::Normal | WeightInit::NormalStd(_) => "normal",
            WeightInit::UniBig => "uni_big",
            WeightInit::XaUni => "xa_uni",
            WeightInit::XaUniBig => "xa_uni_big",
            WeightInit::KaUni => "ka_uni",
            WeightInit::Sparse => "sparse",
            WeightInit::Zeros => "zeros",
            WeightInit::Ones => "ones",
            WeightInit::Default => "default",
            WeightInit::Coevolve => "coevolve",
        }
    }

    /// Draws `population` independent `[out, in]` matrices, row-major, agent after agent.
    /// Each agent has its own stream (from `seed` and its index), so agents are drawn in
    /// parallel and the result does not depend on the thread count.
    ///
    /// `Coevolve` has no distribution of its own: the caller takes the weights from the genome;
    /// asking it to sample is a programming error and returns zeros.
    pub fn sample(self, population: usize, out: usize, inp: usize, seed: u64) -> Vec<f32> {
        let mut w = vec![0.0f32; population * out * inp];
        if out * inp == 0 {
            return w;
        }
        w.par_chunks_mut(out * inp)
            .enumerate()
            .for_each(|(agent, matrix)| {
                let rng = ChaCha8Rng::seed_from_u64(crate::seeds::derive(
                    seed,
                    agent as u64,
                    crate::seeds::Purpose::InitialWeights,
                ));
                self.fill(matrix, out, inp, rng);
            });
        w
    }

    /// One agent's `[out, in]` matrix.
    fn fill(self, w: &mut [f32], out: usize, inp: usize, mut rng: ChaCha8Rng) {
        let fan_in = inp as f32;
        let fan_out = out as f32;
        let mut uniform = |bound: f32| {
            w.iter_mut()
                .for_each(|v| *v = rng.random_range(-bound..bound))
        };
        match self {
            WeightInit::Uni => uniform(0.1),
            WeightInit::UniBig => uniform(1.0),
            WeightInit::XaUni => uniform(0.3 * (6.0 / (fan_in + fan_out)).sqrt()),
            WeightInit::XaUniBig => uniform((6.0 / (fan_in + fan_out)).sqrt()),
            WeightInit::KaUni => {
                let gain = (2.0f32 / (1.0 + 9.0)).sqrt();
                uniform(gain * (3.0 / fan_in).sqrt())
            }
            WeightInit::Default => uniform(1.0 / fan_in.sqrt()),
            WeightInit::Normal => w
                .iter_mut()
                .for_each(|v| *v = 0.024 * rng.sample::<f32, _>(StandardNormal)),
            WeightInit::NormalStd(std) => w
                .iter_mut()
                .for_each(|v| *v = std * rng.sample::<f32, _>(StandardNormal)),
            WeightInit::Sparse => {
                // torch.nn.init.sparse_: per column, ceil(0.8*rows) random rows are zero.
                let zeros_per_column = (0.8 * out as f32).ceil() as usize;
                w.iter_mut()
                    .for_each(|v| *v = 0.01 * rng.sample::<f32, _>(StandardNormal));
                let mut rows: Vec<usize> = (0..out).collect();
                for col in 0..inp {
                    for k in 0..zeros_per_column {
                        let pick = rng.random_range(k..out);
                        rows.swap(k, pick);
                        w[rows[k] * inp + col] = 0.0;
                    }
                }
            }
            WeightInit::Ones => w.fill(1.0),
            WeightInit::Zeros | WeightInit::Coevolve => w.fill(0.0),
        }
    }
}

impl fmt::Display for WeightInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightInit::NormalStd(std) => write!(f, "normal:{std}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for WeightInit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(std) = s.strip_prefix("normal:") {
            return match std.trim().parse::<f32>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(WeightInit::NormalStd(v)),
                _ => Err(format!(
                    "weight init `{s}`: the standard deviation after `normal:` must be a \
                     finite number >= 0"
                )),
            };
        }
        WeightInit::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = WeightInit::ALL.iter().map(|w| w.name()).collect();
                format!(
                    "unknown weight init `{s}`; expected one of {}, or normal:STD",
                    names.join(", ")
                )
            })
    }
}

impl From<WeightInit> for String {
    fn from(w: WeightInit) -> String {
        w.to_string()
    }
}

impl TryFrom<String> for WeightInit {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uni_stays_in_bounds_and_is_seeded() {
        let a = WeightInit::Uni.sample(3, 4, 5, 7);
        assert_eq!(a.len(), 60);
        assert!(a.iter().all(|v| v.abs() < 0.1));
        assert_eq!(a, WeightInit::Uni.sample(3, 4, 5, 7));
        assert_ne!(a, WeightInit::Uni.sample(3, 4, 5, 8));
    }

    #[test]
    fn sparse_zeroes_eighty_percent_of_each_column() {
        let w = WeightInit::Sparse.sample(1, 10, 6, 1);
        for col in 0..6 {
            let zeros = (0..10).filter(|r| w[r * 6 + col] == 0.0).count();
            assert_eq!(zeros, 8);
        }
    }

    #[test]
    fn normal_std_parses_prints_and_has_its_spread() {
        let w: WeightInit = "normal:0.1".parse().unwrap();
        assert_eq!(w, WeightInit::NormalStd(0.1));
        assert_eq!(w.to_string(), "normal:0.1");
        assert_eq!(w.to_string().parse::<WeightInit>().unwrap(), w);
        let v = w.sample(10, 100, 100, 3);
        let std = (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
        assert!((std - 0.1).abs() < 0.003, "std {std}");
        for bad in ["normal:", "normal:-1", "normal:nan", "normal:x"] {
            let e = bad.parse::<WeightInit>().unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        assert_eq!("uni".parse::<WeightInit>().unwrap(), WeightInit::Uni);
        assert!("unix".parse::<WeightInit>().unwrap_err().contains("unix"));
    }

    #[test]
    fn inits_serialise_as_their_names() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct C {
            init: WeightInit,
        }
        for init in [WeightInit::KaUni, WeightInit::NormalStd(0.25)] {
            let text = toml::to_string(&C { init }).unwrap();
            assert_eq!(toml::from_str::<C>(&text).unwrap(), C { init });
        }
        assert_eq!(
            toml::to_string(&C {
                init: WeightInit::XaUniBig
            })
            .unwrap()
            .trim(),
            "init = \"xa_uni_big\""
        );
        assert!(toml::from_str::<C>("init = \"bogus\"").is_err());
    }

    #[test]
    fn normal_has_the_reference_spread() {
        let w = WeightInit::Normal.sample(10, 100, 100, 3);
        let var = w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
        assert!((var.sqrt() - 0.024).abs() < 0.001, "std {}", var.sqrt());
    }
}
