//! CartPole with gym's CartPole-v1 dynamics: the cheap task for tests and the quick start.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Env, EnvStep};

const GRAVITY: f64 = 9.8;
const MASS_CART: f64 = 1.0;
const MASS_POLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASS_CART + MASS_POLE;
const HALF_LENGTH: f64 = 0.5;
const POLE_MASS_LENGTH: f64 = MASS_POLE * HALF_LENGTH;
const FORCE: f64 = 10.0;
const TAU: f64 = 0.02;
const THETA_LIMIT: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
const X_LIMIT: f64 = 2.4;
/// CartPole-v1's TimeLimit.
pub const MAX_STEPS: usize = 500;

/// State `[x, x_dot, theta, theta_dot]`, Euler integration as gym does.
#[derive(Clone, Debug)]
pub struct CartPole {
    state: [f64; 4],
    steps: usize,
    done: bool,
}

impl Default for CartPole {
    fn default() -> Self {
        Self::new()
    }
}

impl CartPole {
    pub fn new() -> Self {
        Self {
            state: [0.0; 4],
            steps: 0,
            done: false,
        }
    }

    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// One step with a discrete action (0 = push left, 1 = push right). Reward 1 per step.
    pub fn step_discrete(&mut self, push_right: bool) -> EnvStep {
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if push_right { FORCE } else { -FORCE };
        let (sin, cos) = theta.sin_cos();
        let temp = (force + POLE_MASS_LENGTH * theta_dot * theta_dot * sin) / TOTAL_MASS;
        let theta_acc = (GRAVITY * sin - cos * temp)
            / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos * cos / TOTAL_MASS));
        let x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS;
        self.state = [
            x + TAU * x_dot,
            x_dot + TAU * x_acc,
            theta + TAU * theta_dot,
            theta_dot + TAU * theta_acc,
        ];
        self.steps += 1;
        let fallen = self.state[0].abs() > X_LIMIT || self.state[2].abs() > THETA_LIMIT;
        self.done = fallen || self.steps >= MAX_STEPS;
        EnvStep {
            reward: 1.0,
            done: self.done,
            diverged: false,
        }
    }
}

impl Env for CartPole {
    fn observation_len(&self) -> usize {
        4
    }

    fn output_len(&self) -> usize {
        2
    }

    fn reset(&mut self, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        self.state = std::array::from_fn(|_| rng.random_range(-0.05..0.05));
        self.steps = 0;
        self.done = false;
    }

    fn observe(&self, out: &mut [f32]) {
        for (o, s) in out.iter_mut().zip(self.state) {
            *o = s as f32;
        }
    }

    /// Discrete action = argmax of the two outputs (reference §1.3); NaN counts as smallest.
    fn step(&mut self, output: &[f32]) -> EnvStep {
        let right = output[1] > output[0] || (output[0].is_nan() && !output[1].is_nan());
        self.step_discrete(right)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_push_topples_the_pole_quickly() {
        let mut env = CartPole::new();
        env.reset(0);
        let mut n = 0;
        while !env.step(&[0.0, 1.0]).done {
            n += 1;
        }
        assert!((5..40).contains(&n), "fell after {n} steps");
    }

    #[test]
    fn a_simple_controller_balances_to_the_limit() {
        let mut env = CartPole::new();
        env.reset(3);
        let mut total = 0.0;
        loop {
            let s = env.state();
            let right = s[2] + 0.5 * s[3] + 0.01 * s[0] + 0.1 * s[1] > 0.0;
            let step = env.step_discrete(right);
            total += step.reward;
            if step.done {
                break;
            }
        }
        assert_eq!(total as usize, MAX_STEPS);
    }

    #[test]
    fn nan_output_does_not_panic() {
        let mut env = CartPole::new();
        env.reset(1);
        env.step(&[f32::NAN, f32::NAN]);
    }
}
