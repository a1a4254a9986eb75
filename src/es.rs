//! Evolution strategies behind one ask/tell interface over flat parameter vectors: `ask` gives
//! the generation's [`Candidates`], whose `[P, D]` rows are burn tensors formed chunk by chunk
//! on demand, and the update is tensor ops on the centre.
//!
//! - [`OpenEs`]: OpenAI-ES exactly as the reference runs it (the default; the paper's).
//! - [`Pgpe`]: PGPE with ClipUp or Adam and a per-dimension σ (what EvoJAX and EvoTorch run).
//! - [`Snes`]: separable NES.
//!
//! [`Es`] picks one from `es.algorithm`. Noise is drawn on the host from a ChaCha stream keyed by
//! (seed, generation, row), so the same seed gives the same candidates on every backend, any row
//! can be redrawn alone (neither the population nor its noise is ever held whole: `tell`
//! re-streams the rows it sums), and the state needs no RNG snapshot: resuming at generation g
//! redraws exactly generation g's noise.
//! What else an algorithm carries (σ per dimension, optimizer moments) is in
//! [`EsState::vectors`], which the checkpoint stores, so every algorithm resumes bit for bit.

mod candidates;
mod openai;
mod pgpe;
mod snes;

use std::ops::Range;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

pub use candidates::Candidates;
pub(crate) use candidates::Spread;
pub use openai::OpenEs;
pub use pgpe::Pgpe;
pub use snes::{Snes, nes_utilities};

/// Which evolution strategy searches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Algorithm {
    /// OpenAI-ES as the reference runs it (the paper).
    #[default]
    #[serde(rename = "openai_es")]
    OpenAiEs,
    /// PGPE (Sehnke et al. 2010) with ClipUp or Adam.
    #[serde(rename = "pgpe")]
    Pgpe,
    /// Separable NES (Schaul et al. 2011).
    #[serde(rename = "snes")]
    Snes,
}

/// How PGPE moves its centre along the estimated gradient.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CentreOptimizer {
    /// ClipUp (Toklu et al. 2020): normalised gradient, momentum, speed clipped at `max_speed`.
    #[default]
    #[serde(rename = "clipup")]
    ClipUp,
    /// Adam (β₁ 0.9, β₂ 0.999, ε 1e-8).
    #[serde(rename = "adam")]
    Adam,
}

/// PGPE's default σ learning rate (pgpelib's and EvoTorch's).
pub const PGPE_STDEV_LEARNING_RATE: f32 = 0.1;

/// ES hyper-parameters (reference defaults for OpenAI-ES).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EsConfig {
    /// `openai_es` (default), `pgpe` or `snes`.
    pub algorithm: Algorithm,
    /// Learning rate: OpenAI-ES's α; PGPE's centre step size (ClipUp) or Adam's rate; SNES's
    /// centre rate η_μ (the SNES paper uses 1).
    pub learning_rate: f32,
    /// OpenAI-ES only: α is multiplied by this each generation while above `learning_rate_floor`.
    pub learning_rate_decay: f32,
    pub learning_rate_floor: f32,
    /// Noise scale σ (PGPE, SNES: the initial σ of every dimension).
    pub sigma: f32,
    /// OpenAI-ES only.
    pub sigma_decay: f32,
    pub sigma_floor: f32,
    /// L2 penalty weight on the perturbed coefficients: `R - l2·mean(H_k²)` (reference 0.01 on
    /// its default parallel path, which the shipped paper configs use; off by default here, as
    /// on the reference's serial path, so that an ES run on a plain objective is unpenalised).
    pub l2_penalty: f32,
    /// PGPE only: `clipup` (default) or `adam`.
    pub optimizer: CentreOptimizer,
    /// PGPE with ClipUp: the largest step (default 2 × `learning_rate`, EvoTorch's guidance).
    pub max_speed: Option<f32>,
    /// PGPE with ClipUp: the velocity's momentum.
    pub momentum: f32,
    /// PGPE, SNES: σ's learning rate (default PGPE 0.1; SNES (3 + ln D)/(5√D)).
    pub stdev_learning_rate: Option<f32>,
    /// PGPE: the most each σ_i may change per generation, relative.
    pub stdev_max_change: f32,
}

impl Default for EsConfig {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::OpenAiEs,
            learning_rate: 0.2,
            learning_rate_decay: 0.995,
            learning_rate_floor: 0.001,
            sigma: 0.1,
            sigma_decay: 0.999,
            sigma_floor: 0.01,
            l2_penalty: 0.0,
            optimizer: CentreOptimizer::ClipUp,
            max_speed: None,
            momentum: 0.9,
            stdev_learning_rate: None,
            stdev_max_change: 0.2,
        }
    }
}

impl EsConfig {
    /// Checks the ranges serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        for (key, v) in [
            ("es.learning_rate", self.learning_rate),
            ("es.sigma", self.sigma),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("key `{key}`: must be a positive number, got {v}"));
            }
        }
        for (key, v) in [
            ("es.learning_rate_decay", self.learning_rate_decay),
            ("es.sigma_decay", self.sigma_decay),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(format!(
                    "key `{key}`: must be in (0, 1] (a factor applied every generation; above 1 \
                     it grows without end), got {v}"
                ));
            }
        }
        for (key, v) in [
            ("es.learning_rate_floor", self.learning_rate_floor),
            ("es.sigma_floor", self.sigma_floor),
            ("es.l2_penalty", self.l2_penalty),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!(
                    "key `{key}`: must be a finite number >= 0, got {v}"
                ));
            }
        }
        for (key, v) in [
            ("es.max_speed", self.max_speed),
            ("es.stdev_learning_rate", self.stdev_learning_rate),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                return Err(format!("key `{key}`: must be a positive number, got {v}"));
            }
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(format!(
                "key `es.momentum`: must be in [0, 1), got {}",
                self.momentum
            ));
        }
        if !(self.stdev_max_change > 0.0 && self.stdev_max_change < 1.0) {
            return Err(format!(
                "key `es.stdev_max_change`: must be in (0, 1), got {}",
                self.stdev_max_change
            ));
        }
        Ok(())
    }
}

/// Everything needed to continue a run: the search distribution and where it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EsState {
    pub centre: Vec<f32>,
    /// OpenAI-ES: the decayed α; others: the configured rate.
    pub learning_rate: f32,
    /// OpenAI-ES: the decayed σ; PGPE, SNES: the mean of the per-dimension σ.
    pub sigma: f32,
    /// Generations completed so far (the next `ask` is this generation).
    pub generation: u64,
    pub seed: u64,
    /// Named per-dimension state of the algorithm (`stdev`, `velocity`, `adam_m`, `adam_v`).
    #[serde(default)]
    pub vectors: Vec<(String, Vec<f32>)>,
}

impl EsState {
    /// A fresh start at `centre`.
    pub fn initial(config: &EsConfig, centre: Vec<f32>, seed: u64) -> Self {
        Self {
            centre,
            learning_rate: config.learning_rate,
            sigma: config.sigma,
            generation: 0,
            seed,
            vectors: Vec::new(),
        }
    }

    /// The named per-dimension vector as a tensor, `default` everywhere when the state lacks it
    /// (a fresh start); a vector of the wrong length is an error.
    pub fn vector_or(
        &self,
        name: &str,
        default: f32,
        device: &Device,
    ) -> Result<Tensor<1>, EsError> {
        let d = self.centre.len();
        let v = match self.vector(name) {
            Some(v) if v.len() == d => v.to_vec(),
            Some(v) => {
                return Err(EsError::StateShape {
                    name: name.to_string(),
                    got: v.len(),
                    expected: d,
                });
            }
            None => vec![default; d],
        };
        Ok(Tensor::from_data(TensorData::new(v, [d]), device))
    }

    /// The named vector, if the state has it.
    pub fn vector(&self, name: &str) -> Option<&[f32]> {
        self.vectors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// What one `tell` did.
#[derive(Clone, Debug, PartialEq)]
pub struct TellReport {
    /// Fitness after the L2 penalty, as ranked.
    pub fitness: Vec<f32>,
    /// Candidates whose fitness was NaN or infinite (ranked last).
    pub non_finite: usize,
    /// Norm of the step applied to the centre.
    pub step_norm: f32,
}

/// Why a `tell` was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EsError {
    #[error("population must be a positive even number (mirrored sampling), got {0}")]
    BadPopulation(usize),
    #[error("tell got {got} fitness values for a population of {expected}")]
    FitnessCount { got: usize, expected: usize },
    #[error("tell called without a pending ask")]
    NoAsk,
    #[error("every candidate's fitness ranked equal; cannot standardise")]
    NoSpread,
    #[error("ES state vector `{name}` has {got} numbers, expected {expected}")]
    StateShape {
        name: String,
        got: usize,
        expected: usize,
    },
}

/// One of the strategies, chosen by [`EsConfig::algorithm`].
pub enum Es {
    OpenAi(Box<OpenEs>),
    Pgpe(Box<Pgpe>),
    Snes(Box<Snes>),
}

impl Es {
    /// A fresh search around `centre`.
    pub fn new(
        config: EsConfig,
        population: usize,
        centre: Vec<f32>,
        seed: u64,
        device: &Device,
    ) -> Result<Self, EsError> {
        let state = EsState::initial(&config, centre, seed);
        Self::from_state(config, population, state, device)
    }

    /// Continues from a saved state.
    pub fn from_state(
        config: EsConfig,
        population: usize,
        state: EsState,
        device: &Device,
    ) -> Result<Self, EsError> {
        Ok(match config.algorithm {
            Algorithm::OpenAiEs => Self::OpenAi(Box::new(OpenEs::from_state(
                config, population, state, device,
            )?)),
            Algorithm::Pgpe => Self::Pgpe(Box::new(Pgpe::from_state(
                config, population, state, device,
            )?)),
            Algorithm::Snes => Self::Snes(Box::new(Snes::from_state(
                config, population, state, device,
            )?)),
        })
    }

    /// Which genome ranges the L2 penalty sees (default: all of it).
    pub fn with_l2_ranges(self, ranges: Vec<Range<usize>>) -> Self {
        match self {
            Self::OpenAi(e) => Self::OpenAi(Box::new(e.with_l2_ranges(ranges))),
            Self::Pgpe(e) => Self::Pgpe(Box::new(e.with_l2_ranges(ranges))),
            Self::Snes(e) => Self::Snes(Box::new(e.with_l2_ranges(ranges))),
        }
    }

    /// OpenAI-ES's co-evolved ranges (the reference's quirk); the other algorithms have no
    /// decays, so nothing to do there.
    pub fn with_coevolved_ranges(self, ranges: Vec<Range<usize>>) -> Self {
        match self {
            Self::OpenAi(e) => Self::OpenAi(Box::new(e.with_coevolved_ranges(ranges))),
            other => other,
        }
    }

    /// This generation's candidates (`[P, D]`, formed on demand).
    pub fn ask(&mut self) -> Candidates {
        match self {
            Self::OpenAi(e) => e.ask(),
            Self::Pgpe(e) => e.ask(),
            Self::Snes(e) => e.ask(),
        }
    }

    /// Moves the distribution with the fitness of the last `ask` (higher is better).
    pub fn tell(&mut self, fitness: &[f32]) -> Result<TellReport, EsError> {
        match self {
            Self::OpenAi(e) => e.tell(fitness),
            Self::Pgpe(e) => e.tell(fitness),
            Self::Snes(e) => e.tell(fitness),
        }
    }

    pub fn generation(&self) -> u64 {
        match self {
            Self::OpenAi(e) => e.generation(),
            Self::Pgpe(e) => e.generation(),
            Self::Snes(e) => e.generation(),
        }
    }

    pub fn centre(&self) -> Tensor<1> {
        match self {
            Self::OpenAi(e) => e.centre(),
            Self::Pgpe(e) => e.centre(),
            Self::Snes(e) => e.centre(),
        }
    }

    pub fn centre_host(&self) -> Vec<f32> {
        host(&self.centre())
    }

    /// The state to checkpoint.
    pub fn state(&self) -> EsState {
        match self {
            Self::OpenAi(e) => e.state(),
            Self::Pgpe(e) => e.state(),
            Self::Snes(e) => e.state(),
        }
    }

    /// The learning rate now (OpenAI-ES decays it).
    pub fn learning_rate(&self) -> f32 {
        self.state_scalars().0
    }

    /// σ now (PGPE, SNES: its mean over dimensions).
    pub fn sigma(&self) -> f32 {
        self.state_scalars().1
    }

    fn state_scalars(&self) -> (f32, f32) {
        match self {
            Self::OpenAi(e) => (e.learning_rate(), e.sigma()),
            Self::Pgpe(e) => (e.state().learning_rate, e.mean_sigma()),
            Self::Snes(e) => (e.state().learning_rate, e.mean_sigma()),
        }
    }
}

pub(crate) fn check_population(population: usize) -> Result<(), EsError> {
    if population == 0 || population % 2 == 1 {
        return Err(EsError::BadPopulation(population));
    }
    Ok(())
}

pub(crate) fn check_fitness_count(fitness: &[f32], population: usize) -> Result<(), EsError> {
    if fitness.len() != population {
        return Err(EsError::FitnessCount {
            got: fitness.len(),
            expected: population,
        });
    }
    Ok(())
}

pub(crate) fn host(t: &Tensor<1>) -> Vec<f32> {
    t.clone()
        .into_data()
        .try_into_vec::<f32>()
        .expect("f32 tensor")
}

pub(crate) fn norm(t: &Tensor<1>) -> f32 {
    t.clone().powf_scalar(2.0).sum().into_scalar::<f32>().sqrt()
}

/// What every `tell` starts with: the fitness count checked, the pending `ask` taken, the L2
/// penalty applied, and the non-finite candidates counted.
pub(crate) struct Told {
    pub candidates: Candidates,
    pub fitness: Vec<f32>,
    pub non_finite: usize,
}

pub(crate) fn receive(
    raw_fitness: &[f32],
    population: usize,
    pending: &mut Option<Candidates>,
    l2_ranges: &[Range<usize>],
    l2: f32,
) -> Result<Told, EsError> {
    check_fitness_count(raw_fitness, population)?;
    let candidates = pending.take().ok_or(EsError::NoAsk)?;
    let fitness = apply_l2(raw_fitness, &candidates, l2_ranges, l2);
    let non_finite = fitness.iter().filter(|f| !f.is_finite()).count();
    Ok(Told {
        candidates,
        fitness,
        non_finite,
    })
}

/// Fitness minus `l2 · mean(x²)` over `ranges` of each candidate's row.
fn apply_l2(raw: &[f32], candidates: &Candidates, ranges: &[Range<usize>], l2: f32) -> Vec<f32> {
    let mut fitness = raw.to_vec();
    if l2 == 0.0 {
        return fitness;
    }
    let count = ranges.iter().map(|r| r.len()).sum::<usize>().max(1) as f64;
    for (f, sum) in fitness.iter_mut().zip(candidates.squared_sums(ranges)) {
        *f -= l2 * (sum / count) as f32;
    }
    fitness
}

/// A host vector as a tensor on `device`.
pub(crate) fn vector(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let d = values.len();
    Tensor::from_data(TensorData::new(values, [d]), device)
}

pub use crate::seeds::stream_seed;

/// Candidate indices from worst to best: NaN/±inf first, ties in index order.
fn worst_first(fitness: &[f32]) -> Vec<usize> {
    let key = |f: f32| if f.is_finite() { f } else { f32::NEG_INFINITY };
    let mut order: Vec<usize> = (0..fitness.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (key(fitness[a]), key(fitness[b]));
        let non_finite_first = (!fitness[b].is_finite()).cmp(&!fitness[a].is_finite());
        non_finite_first.then(fa.total_cmp(&fb)).then(a.cmp(&b))
    });
    order
}

/// Candidate indices from best to worst (non-finite last).
pub(crate) fn best_first(fitness: &[f32]) -> Vec<usize> {
    let mut order = worst_first(fitness);
    order.reverse();
    order
}

fn centred_ranks_f64(fitness: &[f32]) -> Option<Vec<f64>> {
    let p = fitness.len();
    if p < 2 {
        return None;
    }
    let mut u = vec![0.0f64; p];
    for (rank, &i) in worst_first(fitness).iter().enumerate() {
        u[i] = rank as f64 / (p - 1) as f64 - 0.5;
    }
    Some(u)
}

/// Centred ranks in [-0.5, 0.5] (worst −0.5, best 0.5). NaN/±inf rank last. Ties keep index
/// order. `None` if the population has fewer than two members.
pub fn centred_ranks(fitness: &[f32]) -> Option<Vec<f32>> {
    centred_ranks_f64(fitness).map(|u| u.into_iter().map(|v| v as f32).collect())
}

/// [`centred_ranks`], then standardised (population std): what the reference's OpenAI-ES uses.
pub fn centred_standardised_ranks(fitness: &[f32]) -> Option<Vec<f32>> {
    let u = centred_ranks_f64(fitness)?;
    let p = u.len() as f64;
    let mean = u.iter().sum::<f64>() / p;
    let std = (u.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / p).sqrt();
    (std > 0.0).then(|| u.iter().map(|v| ((v - mean) / std) as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shaping_spans_the_reference_range_for_200() {
        let f: Vec<f32> = (0..200).map(|i| (i * 37 % 200) as f32).collect();
        let s = centred_standardised_ranks(&f).unwrap();
        let max = s.iter().cloned().fold(f32::MIN, f32::max);
        let min = s.iter().cloned().fold(f32::MAX, f32::min);
        assert!(
            (max - 1.723).abs() < 1e-3 && (min + 1.723).abs() < 1e-3,
            "{min} {max}"
        );
        let best = f
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(s[best], max);
    }

    #[test]
    fn non_finite_fitness_ranks_last() {
        let s =
            centred_standardised_ranks(&[1.0, f32::NAN, 3.0, f32::INFINITY, -5.0, 2.0]).unwrap();
        let min = s.iter().cloned().fold(f32::MAX, f32::min);
        assert!(s[1] <= s[4] && s[3] <= s[4], "{s:?}");
        assert!(s[1] == min || s[3] == min);
        assert!(s[2] > s[5] && s[5] > s[0] && s[0] > s[4]);
    }

    #[test]
    fn decays_stop_at_the_floors() {
        let device = crate::device::default_cpu();
        let mut es = OpenEs::new(EsConfig::default(), 2, vec![0.0; 3], 1, &device).unwrap();
        for _ in 0..3000 {
            es.ask();
            es.tell(&[1.0, 0.0]).unwrap();
        }
        assert!(es.learning_rate() < 0.001 && es.learning_rate() > 0.001 * 0.995);
        assert!(es.sigma() < 0.01 && es.sigma() > 0.01 * 0.999);
        let mut es = OpenEs::new(EsConfig::default(), 2, vec![0.0; 3], 1, &device).unwrap();
        for _ in 0..300 {
            es.ask();
            es.tell(&[1.0, 0.0]).unwrap();
        }
        assert!(
            (es.learning_rate() - 0.0445).abs() < 5e-4,
            "{}",
            es.learning_rate()
        );
        assert!((es.sigma() - 0.0741).abs() < 5e-4, "{}", es.sigma());
    }

    #[test]
    fn odd_or_empty_population_is_refused() {
        let device = crate::device::default_cpu();
        for p in [0, 3] {
            let err = OpenEs::new(EsConfig::default(), p, vec![0.0], 1, &device)
                .err()
                .unwrap();
            assert_eq!(err, EsError::BadPopulation(p));
        }
    }

    #[test]
    fn climbs_a_quadratic_and_ignores_nan_candidates() {
        let device = crate::device::default_cpu();
        let target: Vec<f32> = (0..20).map(|i| (i as f32 * 0.1).sin()).collect();
        let config = EsConfig {
            learning_rate: 0.05,
            ..EsConfig::default()
        };
        let mut es = OpenEs::new(config, 40, vec![0.0; 20], 3, &device).unwrap();
        let dist = |c: &[f32]| {
            c.iter()
                .zip(&target)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f32>()
        };
        let start = dist(&es.centre_host());
        for g in 0..150 {
            let pop = es.ask().all().into_data().try_into_vec::<f32>().unwrap();
            let mut f: Vec<f32> = pop.chunks(20).map(|c| -dist(c)).collect();
            if g % 3 == 0 {
                f[0] = f32::NAN; // a diverged candidate must not steer the centre
            }
            es.tell(&f).unwrap();
            assert!(es.centre_host().iter().all(|v| v.is_finite()));
        }
        let end = dist(&es.centre_host());
        assert!(end < 0.1 * start, "distance {start} -> {end}");
    }
}
