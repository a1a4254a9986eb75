//! SNES, separable natural evolution strategies (Schaul, Glasmachers & Schmidhuber 2011, "High
//! dimensions and heavy tails for natural evolution strategies", GECCO): a diagonal Gaussian
//! moved along its natural gradient with rank-based utilities.
//!
//! Per generation, with s_k ~ N(0, I) and candidates z_k = μ + σ⊙s_k (k = 1..P, not mirrored):
//! - utilities u_k = max(0, ln(P/2 + 1) − ln rank_k) / Σ_j max(…) − 1/P (rank 1 = best; NaN/inf
//!   rank last);
//! - ∇μ = Σ_k u_k s_k, ∇σ = Σ_k u_k (s_k² − 1);
//! - μ ← μ + η_μ σ⊙∇μ, σ ← σ⊙exp(η_σ/2 · ∇σ), with η_μ = `learning_rate` (the paper: 1) and
//!   η_σ = `stdev_learning_rate` or the paper's (3 + ln D)/(5√D).

use burn::tensor::{Device, Tensor, TensorData};

use std::sync::Arc;

use super::{Candidates, EsConfig, EsError, EsState, Spread, TellReport};

/// SNES's search distribution: centre μ and per-dimension σ.
pub struct Snes {
    config: EsConfig,
    population: usize,
    centre: Tensor<1>,
    stdev: Tensor<1>,
    generation: u64,
    seed: u64,
    l2_ranges: Vec<std::ops::Range<usize>>,
    /// The candidates of the generation asked and not yet told.
    pending: Option<Candidates>,
}

impl Snes {
    /// Restores (or starts) SNES; `state.vectors` holds `stdev` (absent = σ everywhere).
    pub fn from_state(
        config: EsConfig,
        population: usize,
        state: EsState,
        device: &Device,
    ) -> Result<Self, EsError> {
        if population < 2 {
            return Err(EsError::BadPopulation(population));
        }
        let d = state.centre.len();
        Ok(Self {
            population,
            stdev: state.vector_or("stdev", config.sigma, device)?,
            centre: Tensor::from_data(TensorData::new(state.centre, [d]), device),
            generation: state.generation,
            seed: state.seed,
            l2_ranges: std::iter::once(0..d).collect(),
            pending: None,
            config,
        })
    }

    pub fn with_l2_ranges(mut self, ranges: Vec<std::ops::Range<usize>>) -> Self {
        self.l2_ranges = ranges;
        self
    }

    pub fn centre(&self) -> Tensor<1> {
        self.centre.clone()
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn mean_sigma(&self) -> f32 {
        self.stdev.clone().mean().into_scalar::<f32>()
    }

    pub fn stdev(&self) -> Vec<f32> {
        super::host(&self.stdev)
    }

    pub fn state(&self) -> EsState {
        EsState {
            centre: super::host(&self.centre),
            learning_rate: self.config.learning_rate,
            sigma: self.mean_sigma(),
            generation: self.generation,
            seed: self.seed,
            vectors: vec![("stdev".to_string(), super::host(&self.stdev))],
        }
    }

    /// The paper's σ learning rate for dimension `d`.
    pub fn default_stdev_learning_rate(d: usize) -> f32 {
        let d = d.max(1) as f32;
        (3.0 + d.ln()) / (5.0 * d.sqrt())
    }

    /// Row k is `μ + σ⊙s_k`.
    pub fn ask(&mut self) -> Candidates {
        let candidates = Candidates::new(
            super::host(&self.centre),
            Spread::PerDimension(Arc::new(super::host(&self.stdev))),
            false,
            self.seed,
            self.generation,
            self.population,
            self.centre.device(),
        );
        self.pending = Some(candidates.clone());
        candidates
    }

    pub fn tell(&mut self, raw_fitness: &[f32]) -> Result<TellReport, EsError> {
        let super::Told {
            candidates,
            fitness,
            non_finite,
        } = super::receive(
            raw_fitness,
            self.population,
            &mut self.pending,
            &self.l2_ranges,
            self.config.l2_penalty,
        )?;
        let utilities = nes_utilities(&fitness);
        let d = self.centre.dims()[0];
        let device = self.centre.device();
        let (linear, squared) = candidates.noise_sums(&utilities, Some(&utilities));
        let grad_centre = super::vector(linear, &device);
        let grad_sigma = super::vector(squared.expect("asked for"), &device);
        let lr_sigma = self
            .config
            .stdev_learning_rate
            .unwrap_or_else(|| Self::default_stdev_learning_rate(d));
        let step = self.stdev.clone() * grad_centre * self.config.learning_rate;
        let step_norm = super::norm(&step);
        self.centre = self.centre.clone() + step;
        self.stdev = self.stdev.clone() * (grad_sigma * (lr_sigma / 2.0)).exp();
        self.generation += 1;
        Ok(TellReport {
            fitness,
            non_finite,
            step_norm,
        })
    }
}

/// NES rank utilities (higher fitness = larger utility; they sum to 0). Non-finite fitness
/// ranks last; ties keep index order.
pub fn nes_utilities(fitness: &[f32]) -> Vec<f32> {
    let p = fitness.len();
    let order = super::best_first(fitness);
    let raw: Vec<f64> = (1..=p)
        .map(|rank| ((p as f64 / 2.0 + 1.0).ln() - (rank as f64).ln()).max(0.0))
        .collect();
    let total: f64 = raw.iter().sum();
    let mut u = vec![0.0f32; p];
    for (rank, &i) in order.iter().enumerate() {
        u[i] = (raw[rank] / total - 1.0 / p as f64) as f32;
    }
    u
}
