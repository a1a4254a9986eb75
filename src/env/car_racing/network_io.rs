//! CarRacing as the network sees it (reference §1.3–1.4): the 84x84 transposed pixels in, and
//! the raw outputs mapped to steer = tanh, gas = sigmoid, brake = sigmoid.

use super::{CarRacing, OBS_SIZE, preprocess};
use crate::env::{Env, EnvStep};

/// The reference's action for the raw outputs `o3` (the Hebbian rule still sees the raw values).
pub fn network_action(output: &[f32]) -> [f32; 3] {
    let sigmoid = |x: f32| 1.0 / (1.0 + (-x).exp());
    [output[0].tanh(), sigmoid(output[1]), sigmoid(output[2])]
}

impl Env for CarRacing {
    fn observation_len(&self) -> usize {
        3 * OBS_SIZE * OBS_SIZE
    }

    fn output_len(&self) -> usize {
        3
    }

    fn reset(&mut self, seed: u64) {
        CarRacing::reset(self, seed);
    }

    fn observe(&self, out: &mut [f32]) {
        preprocess(self.frame(), out);
    }

    /// NaN outputs become a NaN action, which `sanitize_action` treats as 0.
    fn step(&mut self, output: &[f32]) -> EnvStep {
        let s = CarRacing::step(self, network_action(output));
        EnvStep {
            reward: s.reward,
            done: s.done,
            diverged: false,
        }
    }

    fn render(&self, width: u32, height: u32) -> Option<image::RgbImage> {
        Some(self.render_large(width, height))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_outputs_map_to_the_reference_action_ranges() {
        let a = network_action(&[100.0, -100.0, 0.0]);
        assert!((a[0] - 1.0).abs() < 1e-6 && a[1].abs() < 1e-6 && (a[2] - 0.5).abs() < 1e-6);
        let a = network_action(&[-0.5, 2.0, f32::NAN]);
        assert!((a[0] + 0.5f32.tanh()).abs() < 1e-6);
        assert!((a[1] - 0.880_797).abs() < 1e-5);
        assert!(a[2].is_nan(), "NaN passes through to the env's sanitiser");
    }

    #[test]
    fn the_env_trait_drives_the_car_and_sees_preprocessed_pixels() {
        let mut env = CarRacing::new();
        Env::reset(&mut env, 3);
        let mut obs = vec![0.0; env.observation_len()];
        env.observe(&mut obs);
        assert!(obs.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(obs.iter().any(|&v| v > 0.0));
        // Full gas (sigmoid(10) ≈ 1), no brake, straight: the car moves and tiles are collected.
        let mut total = 0.0;
        for _ in 0..100 {
            total += Env::step(&mut env, &[0.0, 10.0, -10.0]).reward;
        }
        assert!(env.tiles_visited() > 3, "visited {}", env.tiles_visited());
        assert!(total > 0.0, "reward {total}");
        // NaN output must not poison the physics.
        Env::step(&mut env, &[f32::NAN; 3]);
        assert!(env.car_position()[0].is_finite());
    }
}
