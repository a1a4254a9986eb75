//! OpenAI-ES exactly as the reference runs it (reference §3): mirrored sampling, centred ranks
//! then standardisation, a plain SGD step `α/(Pσ)·Σ F_k ε_k`, α and σ decays with floors.

use std::ops::Range;

use burn::tensor::{Device, Tensor, TensorData};

use super::{
    Candidates, EsConfig, EsError, EsState, Spread, TellReport, centred_standardised_ranks,
};

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
    /// The candidates of the generation asked and not yet told.
    pending: Option<Candidates>,
}

impl OpenEs {
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

    pub fn from_state(
        config: EsConfig,
        population: usize,
        state: EsState,
        device: &Device,
    ) -> Result<Self, EsError> {
        super::check_population(population)?;
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
        super::host(&self.centre)
    }

    pub fn state(&self) -> EsState {
        EsState {
            centre: self.centre_host(),
            learning_rate: self.learning_rate,
            sigma: self.sigma,
            generation: self.generation,
            seed: self.seed,
            vectors: Vec::new(),
        }
    }

    /// The candidates of this generation, `[P, D]`: rows 2m and 2m+1 are `centre ± σ·ε_m`.
    pub fn ask(&mut self) -> Candidates {
        let candidates = Candidates::new(
            self.centre_host(),
            Spread::Scalar(self.sigma),
            true,
            self.seed,
            self.generation,
            self.population,
            self.centre.device(),
        );
        self.pending = Some(candidates.clone());
        candidates
    }

    /// Moves the distribution with this generation's fitness (higher is better).
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
        let shaped = centred_standardised_ranks(&fitness).ok_or(EsError::NoSpread)?;

        // Σ_k F_k ε_k with ε_{2m} = e_m, ε_{2m+1} = -e_m  →  Σ_m (F_{2m} - F_{2m+1}) e_m.
        let pair: Vec<f32> = shaped.chunks(2).map(|c| c[0] - c[1]).collect();
        let d = self.dimension();
        let device = self.centre.device();
        let direction = super::vector(candidates.noise_sums(&pair, None).0, &device);

        let p = self.population as f32;
        let scale_now = self.learning_rate / (p * self.sigma);
        self.decay();
        let scale_after = self.learning_rate / (p * self.sigma);
        let scale = self.element_scales(d, scale_now, scale_after, &device);
        let step = direction * scale;
        let step_norm = super::norm(&step);
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
}
