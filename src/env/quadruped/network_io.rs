//! The Ant as the network sees it (reference §1.3, §4.2): the 28-D observation in, the tanh
//! outputs as torques, and the progress term as the fitness reward.

use super::{ACT_DIM, Ant, OBS_DIM};
use crate::env::{Env, EnvStep};

/// Clamps to [-1, 1]; NaN becomes 0 so that a diverged network cannot corrupt the physics.
pub fn network_action(output: &[f32]) -> [f32; ACT_DIM] {
    std::array::from_fn(|j| {
        let v = output[j];
        if v.is_nan() { 0.0 } else { v.clamp(-1.0, 1.0) }
    })
}

impl Env for Ant {
    fn observation_len(&self) -> usize {
        OBS_DIM
    }

    fn output_len(&self) -> usize {
        ACT_DIM
    }

    fn reset(&mut self, seed: u64) {
        Ant::reset(self, seed);
    }

    fn observe(&self, out: &mut [f32]) {
        out.copy_from_slice(&self.observation());
    }

    /// The paper's fitness counts the progress term only (no alive bonus, no costs).
    fn step(&mut self, output: &[f32]) -> EnvStep {
        let s = Ant::step(self, &network_action(output));
        EnvStep {
            reward: s.progress,
            done: s.done,
            diverged: s.diverged,
        }
    }

    fn render(&self, width: u32, height: u32) -> Option<image::RgbImage> {
        Some(super::render(self, width, height))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::quadruped::{Morphology, calibration_gait};

    #[test]
    fn actions_are_clamped_and_nan_free() {
        let a = network_action(&[2.0, -3.0, f32::NAN, 0.5, 0.0, -0.25, 1.0, -1.0]);
        assert_eq!(a, [1.0, -1.0, 0.0, 0.5, 0.0, -0.25, 1.0, -1.0]);
    }

    #[test]
    fn the_env_trait_reports_progress_and_the_observation() {
        let morph = Morphology::builtin("intact").unwrap();
        let mut ant = Ant::new(&morph);
        Env::reset(&mut ant, 5);
        let mut obs = vec![0.0; OBS_DIM];
        ant.observe(&mut obs);
        assert_eq!(obs, ant.observation().to_vec());
        for _ in 0..40 {
            Env::step(&mut ant, &[0.0; ACT_DIM]);
        }
        let mut progress = 0.0;
        // 600 steps: some inits take a few hundred steps to get off the belly.
        for t in 0..600 {
            let s = Env::step(&mut ant, &calibration_gait(t));
            assert!(!s.diverged);
            progress += s.reward;
        }
        // The calibration gait walks forward: the summed reward is progress, not the alive bonus.
        assert!(progress > 20.0, "progress {progress}");
    }
}
