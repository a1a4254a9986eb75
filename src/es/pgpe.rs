//! PGPE, policy gradients with parameter-based exploration (Sehnke et al. 2010, "Parameter-
//! exploring policy gradients", Neural Networks 23), with symmetric sampling, centred-rank
//! fitness, a per-dimension σ and its own gradient, and the centre moved by ClipUp (Toklu et al.
//! 2020, "ClipUp: a simple and powerful optimizer for distribution-based policy evolution") or
//! Adam (Kingma & Ba 2015). This is the PGPE that EvoJAX and EvoTorch run.
//!
//! Per generation, with M = P/2 directions ε_m ~ N(0, σ²) and candidates μ ± ε_m:
//! - fitness → centred ranks r ∈ [-0.5, 0.5] (NaN/inf rank last), baseline b = mean r;
//! - ∇μ = (1/M) Σ_m (r⁺_m − r⁻_m)/2 · ε_m;
//! - ∇σ = (1/M) Σ_m ((r⁺_m + r⁻_m)/2 − b) · (ε_m² − σ²)/σ;
//! - μ ← optimizer(μ, ∇μ); σ ← σ + η_σ ∇σ, each σ_i kept within ±`stdev_max_change` of its old
//!   value (relative), as pgpelib/EvoTorch do.

use burn::tensor::{Device, Tensor, TensorData};

use std::sync::Arc;

use super::{
    Candidates, CentreOptimizer, EsConfig, EsError, EsState, Spread, TellReport, centred_ranks,
};

/// ClipUp's velocity or Adam's moments.
enum OptimizerState {
    ClipUp { velocity: Tensor<1> },
    Adam { m: Tensor<1>, v: Box<Tensor<1>> },
}

/// PGPE's search distribution: centre μ and per-dimension σ, and the optimizer's state.
pub struct Pgpe {
    config: EsConfig,
    population: usize,
    centre: Tensor<1>,
    stdev: Tensor<1>,
    optimizer: OptimizerState,
    generation: u64,
    seed: u64,
    l2_ranges: Vec<std::ops::Range<usize>>,
    /// The candidates of the generation asked and not yet told.
    pending: Option<Candidates>,
}

const ADAM_BETA1: f32 = 0.9;
const ADAM_BETA2: f32 = 0.999;
const ADAM_EPSILON: f32 = 1e-8;

impl Pgpe {
    /// Restores (or, from [`EsState::initial`], starts) PGPE; `state.vectors` holds `stdev` and
    /// the optimizer's `velocity` or `adam_m`/`adam_v` (absent = a fresh start).
    pub fn from_state(
        config: EsConfig,
        population: usize,
        state: EsState,
        device: &Device,
    ) -> Result<Self, EsError> {
        super::check_population(population)?;
        let d = state.centre.len();
        let vector = |name: &str, default: f32| state.vector_or(name, default, device);
        let optimizer = match config.optimizer {
            CentreOptimizer::ClipUp => OptimizerState::ClipUp {
                velocity: vector("velocity", 0.0)?,
            },
            CentreOptimizer::Adam => OptimizerState::Adam {
                m: vector("adam_m", 0.0)?,
                v: Box::new(vector("adam_v", 0.0)?),
            },
        };
        Ok(Self {
            stdev: vector("stdev", config.sigma)?,
            optimizer,
            population,
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

    /// The mean σ over dimensions (what `metrics.jsonl` records).
    pub fn mean_sigma(&self) -> f32 {
        self.stdev.clone().mean().into_scalar::<f32>()
    }

    /// The per-dimension σ.
    pub fn stdev(&self) -> Vec<f32> {
        super::host(&self.stdev)
    }

    pub fn state(&self) -> EsState {
        let mut vectors = vec![("stdev".to_string(), super::host(&self.stdev))];
        match &self.optimizer {
            OptimizerState::ClipUp { velocity } => {
                vectors.push(("velocity".into(), super::host(velocity)));
            }
            OptimizerState::Adam { m, v } => {
                vectors.push(("adam_m".into(), super::host(m)));
                vectors.push(("adam_v".into(), super::host(v.as_ref())));
            }
        }
        // Sorted by name, the order a checkpoint reads them back in.
        vectors.sort_by(|a, b| a.0.cmp(&b.0));
        EsState {
            centre: super::host(&self.centre),
            learning_rate: self.config.learning_rate,
            sigma: self.mean_sigma(),
            generation: self.generation,
            seed: self.seed,
            vectors,
        }
    }

    /// Rows 2m and 2m+1 are `μ ± σ⊙ε_m`.
    pub fn ask(&mut self) -> Candidates {
        let candidates = Candidates::new(
            super::host(&self.centre),
            Spread::PerDimension(Arc::new(super::host(&self.stdev))),
            true,
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
        let ranks = centred_ranks(&fitness).ok_or(EsError::NoSpread)?;
        let m = self.population / 2;
        let device = self.centre.device();
        let baseline = ranks.iter().sum::<f32>() / ranks.len() as f32;
        let (diff, mean): (Vec<f32>, Vec<f32>) = ranks
            .chunks(2)
            .map(|c| ((c[0] - c[1]) / 2.0, (c[0] + c[1]) / 2.0 - baseline))
            .unzip();
        // With ε_m = σ⊙e_m: Σ diff_m ε_m = σ⊙Σ diff_m e_m, and (ε_m² − σ²)/σ = σ⊙(e_m² − 1).
        let (linear, squared) = candidates.noise_sums(&diff, Some(&mean));
        let squared = squared.expect("asked for");
        let sigma = self.stdev.clone();
        let grad_centre = sigma.clone() * super::vector(linear, &device) / m as f32;
        let grad_sigma = sigma.clone() * super::vector(squared, &device) / m as f32;

        let step = self.optimizer_step(grad_centre);
        let step_norm = super::norm(&step);
        self.centre = self.centre.clone() + step;

        let max_change = self.config.stdev_max_change;
        let lr_sigma = self
            .config
            .stdev_learning_rate
            .unwrap_or(super::PGPE_STDEV_LEARNING_RATE);
        let proposed = sigma.clone() + grad_sigma * lr_sigma;
        let lo = sigma.clone() * (1.0 - max_change);
        let hi = sigma * (1.0 + max_change);
        self.stdev = proposed.max_pair(lo).min_pair(hi);
        self.generation += 1;
        Ok(TellReport {
            fitness,
            non_finite,
            step_norm,
        })
    }

    /// The centre's step for an ascent gradient: ClipUp (normalised gradient, momentum,
    /// speed clipped at `max_speed`) or Adam.
    fn optimizer_step(&mut self, gradient: Tensor<1>) -> Tensor<1> {
        let lr = self.config.learning_rate;
        match &mut self.optimizer {
            OptimizerState::ClipUp { velocity } => {
                let g_norm = super::norm(&gradient);
                let direction = if g_norm > 0.0 {
                    gradient / g_norm
                } else {
                    gradient
                };
                let mut v = velocity.clone() * self.config.momentum + direction * lr;
                let max_speed = self.config.max_speed.unwrap_or(2.0 * lr);
                let speed = super::norm(&v);
                if speed > max_speed {
                    v = v * (max_speed / speed);
                }
                *velocity = v.clone();
                v
            }
            OptimizerState::Adam { m, v } => {
                let t = (self.generation + 1) as i32;
                *m = m.clone() * ADAM_BETA1 + gradient.clone() * (1.0 - ADAM_BETA1);
                **v = v.as_ref().clone() * ADAM_BETA2
                    + gradient.clone() * gradient * (1.0 - ADAM_BETA2);
                let m_hat = m.clone() / (1.0 - ADAM_BETA1.powi(t));
                let v_hat = v.as_ref().clone() / (1.0 - ADAM_BETA2.powi(t));
                m_hat / (v_hat.sqrt() + ADAM_EPSILON) * lr
            }
        }
    }
}
