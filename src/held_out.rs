//! `[held_out]`: the centre scored on variants apart from the fitness while a run trains, so a
//! body the run never sees (the paper's left-damaged Ant) has a curve, not only a final score.
//! Scoring reads the centre and nothing else: the run's streams, updates and checkpoints are
//! the same with or without it.

use burn::tensor::Device;

use crate::config::Config;
use crate::controller::ControllerSpec;
use crate::eval::VariantScore;
use crate::metrics::HeldOutScore;
use crate::rollout::{Chunking, RepeatedGenome, evaluate};
use crate::seeds::{Purpose, derive};
use crate::task::{Task, TaskError};

/// The held-out episodes of one run.
pub struct HeldOut {
    task: Task,
    every: u64,
    rollouts: usize,
    seed: u64,
    chunking: Chunking,
    device: Device,
}

impl HeldOut {
    /// The run's `[held_out]`, if it has one.
    pub fn for_run(config: &Config, device: &Device) -> Result<Option<Self>, TaskError> {
        let Some(h) = &config.held_out else {
            return Ok(None);
        };
        Ok(Some(Self {
            task: config.held_out_task(h)?,
            every: h.every,
            rollouts: h.rollouts,
            seed: seed(config.seed),
            chunking: Chunking {
                chunk: config.run.chunk,
            },
            device: device.clone(),
        }))
    }

    /// Whether `generation` is scored: every `every`-th, and the run's last (`total` - 1).
    pub fn due(&self, generation: u64, total: u64) -> bool {
        generation.is_multiple_of(self.every) || generation + 1 == total
    }

    /// `genome` over the held-out rollouts of each variant, in the config's order.
    pub fn score(&self, spec: &ControllerSpec, genome: &[f32]) -> Vec<HeldOutScore> {
        let population = RepeatedGenome {
            genome: genome.to_vec(),
            count: self.rollouts,
            device: self.device.clone(),
        };
        let eval = evaluate(&self.task, spec, &population, self.chunking, self.seed);
        self.task
            .variants
            .iter()
            .zip(eval.per_variant)
            .map(|(v, raw)| HeldOutScore {
                score: VariantScore::new(&v.name, &raw),
                rollouts: self.rollouts,
                seed: self.seed,
            })
            .collect()
    }
}

/// The evaluation seed of a run's held-out episodes (recorded with each score): `hebbian eval
/// --seed` with this value replays them.
pub fn seed(run_seed: u64) -> u64 {
    derive(run_seed, 0, Purpose::HeldOut)
}
