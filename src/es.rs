//! OpenAI-ES exactly as the reference runs it (reference §3): mirrored sampling, centred ranks
//! then standardisation, a plain SGD step `α/(Pσ)·Σ F_k ε_k`, α and σ decays with floors.
//!
//! Ask/tell over any flat parameter vector: the population is a `[P, D]` burn tensor, the noise
//! and the update are tensor ops. Noise is drawn on the host from a ChaCha stream keyed by
//! (seed, generation), so the same seed gives the same candidates on every backend, and the
//! state needs no RNG snapshot: resuming at generation g redraws exactly generation g's noise.

use std::ops::Range;

use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// ES hyper-parameters (reference defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EsConfig {
    /// Learning rate α.
    pub learning_rate: f32,
    /// α is multiplied by this each generation while above `learning_rate_floor`.
    pub learning_rate_decay: f32,
    pub learning_rate_floor: f32,
    /// Noise scale σ.
    pub sigma: f32,
    pub sigma_decay: f32,
    pub sigma_floor: f32,
    /// L2 penalty weight on the perturbed coefficients: `R - l2·mean(H_k²)` (reference 0.01 on
    /// its default parallel path, which the shipped paper configs use; off by default here, as
    /// on the reference's serial path, so that an ES run on a plain objective is unpenalised).
    pub l2_penalty: f32,
}

impl Default for EsConfig {
    fn default() -> Self {
        Self {
            learning_rate: 0.2,
            learning_rate_decay: 0.995,
            learning_rate_floor: 0.001,
            sigma: 0.1,
            sigma_decay: 0.999,
            sigma_floor: 0.01,
            l2_penalty: 0.0,
        }
    }
}

/// Everything needed to continue a run: the search distribution and where it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EsState {
    pub centre: Vec<f32>,
    pub learning_rate: f32,
    pub sigma: f32,
    /// Generations completed so far (the next `ask` is this generation).
    pub generation: u64,
    pub seed: u64,
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
}

/// The OpenAI-ES search distribution over flat vectors of length D.
pub struct OpenEs {
    config: EsConfig,
    population: usize,
    centre: Tensor<1>,
    learning_rate: f32,
    sigma: f32,
    generation: u64,
    seed: u64,
    /// Genome ranges penalised by L2 (the coefficients).
    l2_ranges: Vec<Range<usize>>,
    /// Genome ranges updated with the already-decayed α and σ (reference §3.7 quirk for the
    /// co-evolved conv weights / initial weights).
    coevolved_ranges: Vec<Range<usize>>,
    pending: Option<(Tensor<2>, Tensor<2>)>,
}

impl OpenEs {
    pub fn new(
        config: EsConfig,
        population: usize,
        centre: Vec<f32>,
        seed: u64,
        device: &Device,
    ) -> Result<Self, EsError> {
        let state = EsState {
            learning_rate: config.learning_rate,
            sigma: config.sigma,
            centre,
            generation: 0,
            seed,
        };
        Self::from_state(config, population, state, device)
    }

    pub fn from_state(
        config: EsConfig,
        population: usize,
        state: EsState,
        device: &Device,
    ) -> Result<Self, EsError> {
        if population == 0 || population % 2 == 1 {
            return Err(EsError::BadPopulation(population));
        }
        let d = state.centre.len();
        Ok(Self {
            config,
            population,
            centre: Tensor::from_data(TensorData::new(state.centre, [d]), device),
            learning_rate: state.learning_rate,
            sigma: state.sigma,
            generation: state.generation,
            seed: state.seed,
            l2_ranges: std::iter::once(0..d).collect(),
            coevolved_ranges: Vec::new(),
            pending: None,
        })
    }

    /// Which genome ranges the L2 penalty sees (default: all of it).
    pub fn with_l2_ranges(mut self, ranges: Vec<Range<usize>>) -> Self {
        self.l2_ranges = ranges;
        self
    }

    /// Which genome ranges are co-evolved vectors, updated after the decays as the reference does.
    pub fn with_coevolved_ranges(mut self, ranges: Vec<Range<usize>>) -> Self {
        self.coevolved_ranges = ranges;
        self
    }

    pub fn dimension(&self) -> usize {
        self.centre.dims()[0]
    }

    pub fn population(&self) -> usize {
        self.population
    }

    pub fn learning_rate(&self) -> f32 {
        self.learning_rate
    }

    pub fn sigma(&self) -> f32 {
        self.sigma
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn centre(&self) -> Tensor<1> {
        self.centre.clone()
    }

    pub fn centre_host(&self) -> Vec<f32> {
        self.centre
            .clone()
            .into_data()
            .try_into_vec::<f32>()
            .expect("f32 centre")
    }

    pub fn state(&self) -> EsState {
        EsState {
            centre: self.centre_host(),
            learning_rate: self.learning_rate,
            sigma: self.sigma,
            generation: self.generation,
            seed: self.seed,
        }
    }

    /// The noise of one generation, `[P/2, D]`: each row from its own stream keyed by
    /// (seed, generation, row), drawn in parallel (the values do not depend on the thread count).
    fn half_noise(&self) -> Tensor<2> {
        let half = self.population / 2;
        let d = self.dimension();
        let base = stream_seed(self.seed, self.generation, 0x0E5);
        let mut noise = vec![0.0f32; half * d];
        if d > 0 {
            noise.par_chunks_mut(d).enumerate().for_each(|(m, row)| {
                let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(base, m as u64, 0));
                row.iter_mut()
                    .for_each(|v| *v = StandardNormal.sample(&mut rng));
            });
        }
        Tensor::from_data(TensorData::new(noise, [half, d]), &self.centre.device())
    }

    /// The candidates of this generation, `[P, D]`: rows 2m and 2m+1 are `centre ± σ·ε_m`.
    pub fn ask(&mut self) -> Tensor<2> {
        let half = self.half_noise();
        let [h, d] = half.dims();
        let mirrored =
            Tensor::stack::<3>(vec![half.clone(), half.clone().neg()], 1).reshape([2 * h, d]);
        let population = self.centre.clone().reshape([1, d]) + mirrored.clone() * self.sigma;
        self.pending = Some((half, population.clone()));
        population
    }

    /// Moves the distribution with this generation's fitness (higher is better).
    pub fn tell(&mut self, raw_fitness: &[f32]) -> Result<TellReport, EsError> {
        if raw_fitness.len() != self.population {
            return Err(EsError::FitnessCount {
                got: raw_fitness.len(),
                expected: self.population,
            });
        }
        let (half, population) = self.pending.take().ok_or(EsError::NoAsk)?;
        let mut fitness = raw_fitness.to_vec();
        if self.config.l2_penalty != 0.0 {
            let penalty = self.mean_square(&population);
            for (f, pen) in fitness.iter_mut().zip(penalty) {
                *f -= self.config.l2_penalty * pen;
            }
        }
        let non_finite = fitness.iter().filter(|f| !f.is_finite()).count();
        let shaped = centred_standardised_ranks(&fitness).ok_or(EsError::NoSpread)?;

        // Σ_k F_k ε_k with ε_{2m} = e_m, ε_{2m+1} = -e_m  →  Σ_m (F_{2m} - F_{2m+1}) e_m.
        let pair: Vec<f32> = shaped.chunks(2).map(|c| c[0] - c[1]).collect();
        let [h, d] = half.dims();
        let device = self.centre.device();
        let weights = Tensor::<2>::from_data(TensorData::new(pair, [1, h]), &device);
        let direction = weights.matmul(half).reshape([d]);

        let p = self.population as f32;
        let scale_now = self.learning_rate / (p * self.sigma);
        self.decay();
        let scale_after = self.learning_rate / (p * self.sigma);
        let scale = self.element_scales(d, scale_now, scale_after, &device);
        let step = direction * scale;
        let step_norm = step
            .clone()
            .powf_scalar(2.0)
            .sum()
            .into_scalar::<f32>()
            .sqrt();
        self.centre = self.centre.clone() + step;
        self.generation += 1;
        Ok(TellReport {
            fitness,
            non_finite,
            step_norm,
        })
    }

    fn decay(&mut self) {
        let c = &self.config;
        if self.learning_rate > c.learning_rate_floor {
            self.learning_rate *= c.learning_rate_decay;
        }
        if self.sigma > c.sigma_floor {
            self.sigma *= c.sigma_decay;
        }
    }

    /// Per-element step scale: α/(Pσ) before the decay, or after it on co-evolved ranges.
    fn element_scales(&self, d: usize, now: f32, after: f32, device: &Device) -> Tensor<1> {
        if self.coevolved_ranges.is_empty() {
            return Tensor::full([d], now, device);
        }
        let mut s = vec![now; d];
        for r in &self.coevolved_ranges {
            s[r.clone()].iter_mut().for_each(|v| *v = after);
        }
        Tensor::from_data(TensorData::new(s, [d]), device)
    }

    /// mean(H_k²) over the L2 ranges, per candidate.
    fn mean_square(&self, population: &Tensor<2>) -> Vec<f32> {
        let [p, _] = population.dims();
        let mut total = Tensor::<2>::zeros([p, 1], &population.device());
        let mut count = 0;
        for r in &self.l2_ranges {
            let part = population.clone().narrow(1, r.start, r.len());
            total = total + part.powf_scalar(2.0).sum_dim(1);
            count += r.len();
        }
        let total = total.into_data().try_into_vec::<f32>().expect("f32");
        total.into_iter().map(|t| t / count.max(1) as f32).collect()
    }
}

/// Derives independent stream seeds from (run seed, generation, purpose).
pub fn stream_seed(seed: u64, generation: u64, purpose: u64) -> u64 {
    // SplitMix64 finaliser over a combination of the three.
    let mut z = seed
        .wrapping_add(generation.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(purpose.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Centred ranks in [-0.5, 0.5], then standardised (population std). NaN/±inf rank last.
/// Ties keep index order. `None` if the population has fewer than two members.
pub fn centred_standardised_ranks(fitness: &[f32]) -> Option<Vec<f32>> {
    let p = fitness.len();
    if p < 2 {
        return None;
    }
    let key = |f: f32| if f.is_finite() { f } else { f32::NEG_INFINITY };
    let mut order: Vec<usize> = (0..p).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (key(fitness[a]), key(fitness[b]));
        let non_finite_first = (!fitness[b].is_finite()).cmp(&!fitness[a].is_finite());
        non_finite_first.then(fa.total_cmp(&fb)).then(a.cmp(&b))
    });
    let mut u = vec![0.0f64; p];
    for (rank, &i) in order.iter().enumerate() {
        u[i] = rank as f64 / (p - 1) as f64 - 0.5;
    }
    let mean = u.iter().sum::<f64>() / p as f64;
    let std = (u.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / p as f64).sqrt();
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
            let pop = es.ask().into_data().try_into_vec::<f32>().unwrap();
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
