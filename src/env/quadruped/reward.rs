//! AntBulletEnv-v0 reward terms (pybullet `WalkerBaseBulletEnv.step`).

/// pybullet's scene dt: the potential is `−distance / dt`.
pub const POTENTIAL_DT: f32 = 0.0165;
/// Torso height below or at which the ant is "not alive" (`done`).
pub const ALIVE_Z: f32 = 0.26;
const ELECTRICITY_COST: f32 = -2.0;
const STALL_TORQUE_COST: f32 = -0.1;
const JOINTS_AT_LIMIT_COST: f32 = -0.1;

/// Potential of a body position (X, Y): `−hypot(target − (X, Y)) / dt`.
pub fn potential(body_xy: [f32; 2]) -> f32 {
    let [tx, ty] = super::observation::TARGET;
    // f64 avoids losing the per-step change (~1e-2 m) against the 1000 m distance.
    let d = (tx as f64 - body_xy[0] as f64).hypot(ty as f64 - body_xy[1] as f64);
    (-d / POTENTIAL_DT as f64) as f32
}

/// The five terms of one step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RewardTerms {
    /// +1 if z > 0.26 else −1.
    pub alive: f32,
    /// Potential difference (the paper's fitness term).
    pub progress: f32,
    /// `−2·mean|a·0.1q̇| − 0.1·mean a²` on the raw (unclipped) action.
    pub electricity: f32,
    /// `−0.1 × #{|pos_j| > 0.99}`.
    pub joints_at_limit: f32,
    /// Disabled upstream: always 0.
    pub feet_collision: f32,
}

impl RewardTerms {
    /// Sum of the terms (the env reward).
    pub fn total(&self) -> f32 {
        self.alive + self.progress + self.electricity + self.joints_at_limit + self.feet_collision
    }
}

/// Computes the terms from the unclipped scaled joint positions and 0.1-scaled speeds.
pub fn terms(
    action: &[f32; 8],
    joint_pos: &[f32; 8],
    joint_vel: &[f32; 8],
    z: f32,
    progress: f32,
) -> RewardTerms {
    let mut elec = 0.0;
    let mut stall = 0.0;
    let mut at_limit = 0;
    for j in 0..8 {
        let (pos, vel) = (joint_pos[j], joint_vel[j]);
        elec += (action[j] * vel).abs();
        stall += action[j] * action[j];
        if pos.abs() > 0.99 {
            at_limit += 1;
        }
    }
    RewardTerms {
        alive: if z > ALIVE_Z { 1.0 } else { -1.0 },
        progress,
        electricity: ELECTRICITY_COST * elec / 8.0 + STALL_TORQUE_COST * stall / 8.0,
        joints_at_limit: JOINTS_AT_LIMIT_COST * at_limit as f32,
        feet_collision: 0.0,
    }
}
