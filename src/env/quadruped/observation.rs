//! The 28-dim AntBulletEnv-v0 observation (pybullet `WalkerBase.calc_state`).
//!
//! Layout: 0 `z − z0`; 1–2 sin/cos of the angle to the target relative to yaw; 3–5 torso
//! velocity × 0.3 in the yaw-only frame; 6 roll; 7 pitch; 8–23 `[pos_j, vel_j]` per joint in action
//! order (`pos = 2(q − mid)/(hi − lo)`, `vel = 0.1·q̇`); 24–27 foot contacts of the previous step.
//! Everything clipped to ±5 like pybullet.

use rapier3d::math::{Rotation, Vector};

/// Observation length.
pub const OBS_DIM: usize = 28;
/// pybullet clips every entry to ±5.
pub const OBS_CLIP: f32 = 5.0;
/// The walk target (pybullet's `walk_target_x`, `walk_target_y`).
pub const TARGET: [f32; 2] = [1000.0, 0.0];

/// Index of the first joint entry.
pub const OBS_JOINTS: usize = 8;
/// Index of the first foot-contact flag.
pub const OBS_FEET: usize = 24;

/// Bullet's `getEulerFromQuaternion`: (roll, pitch, yaw) with R = Rz(yaw)·Ry(pitch)·Rx(roll).
pub fn euler_rpy(q: Rotation) -> [f32; 3] {
    let (x, y, z, w) = (q.x, q.y, q.z, q.w);
    let roll = (2.0 * (w * x + y * z)).atan2(1.0 - 2.0 * (x * x + y * y));
    let pitch = (2.0 * (w * y - z * x)).clamp(-1.0, 1.0).asin();
    let yaw = (2.0 * (w * z + x * y)).atan2(1.0 - 2.0 * (y * y + z * z));
    [roll, pitch, yaw]
}

/// Scaled joint position `2(q − mid)/(hi − lo)` (out-of-range values exceed ±1).
pub fn scaled_joint_pos(q: f32, range: [f32; 2]) -> f32 {
    let mid = 0.5 * (range[0] + range[1]);
    2.0 * (q - mid) / (range[1] - range[0])
}

/// Inputs to the observation, gathered from the world.
#[derive(Clone, Copy, Debug)]
pub struct ObsInputs {
    /// Torso centre z.
    pub z: f32,
    /// `initial_z` recorded at reset.
    pub initial_z: f32,
    /// Body position (X, Y): mean of pybullet's part positions.
    pub body_xy: [f32; 2],
    /// Torso orientation.
    pub rotation: Rotation,
    /// Torso linear velocity (world).
    pub linvel: Vector,
    /// Joint angles (action order).
    pub q: [f32; 8],
    /// Joint speeds (action order).
    pub qd: [f32; 8],
    /// Joint ranges (action order).
    pub ranges: [[f32; 2]; 8],
    /// Foot contact flags from the previous step.
    pub feet: [bool; 4],
}

/// Builds the clipped observation.
pub fn build(inp: &ObsInputs) -> [f32; OBS_DIM] {
    let [roll, pitch, yaw] = euler_rpy(inp.rotation);
    let theta = (TARGET[1] - inp.body_xy[1]).atan2(TARGET[0] - inp.body_xy[0]);
    let angle = theta - yaw;
    let (s, c) = ((-yaw).sin(), (-yaw).cos());
    let v = inp.linvel;
    let vx = c * v.x - s * v.y;
    let vy = s * v.x + c * v.y;
    let mut o = [0.0f32; OBS_DIM];
    o[0] = inp.z - inp.initial_z;
    o[1] = angle.sin();
    o[2] = angle.cos();
    o[3] = 0.3 * vx;
    o[4] = 0.3 * vy;
    o[5] = 0.3 * v.z;
    o[6] = roll;
    o[7] = pitch;
    for j in 0..8 {
        o[OBS_JOINTS + 2 * j] = scaled_joint_pos(inp.q[j], inp.ranges[j]);
        o[OBS_JOINTS + 2 * j + 1] = 0.1 * inp.qd[j];
    }
    for k in 0..4 {
        o[OBS_FEET + k] = if inp.feet[k] { 1.0 } else { 0.0 };
    }
    for x in &mut o {
        // NaN stays NaN (the env reports divergence separately); clamp keeps it.
        *x = x.clamp(-OBS_CLIP, OBS_CLIP);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euler_matches_composition() {
        let (r, p, y) = (0.3f32, -0.2f32, 1.1f32);
        let q = Rotation::from_rotation_z(y)
            * Rotation::from_rotation_y(p)
            * Rotation::from_rotation_x(r);
        let e = euler_rpy(q);
        assert!(
            (e[0] - r).abs() < 1e-5 && (e[1] - p).abs() < 1e-5 && (e[2] - y).abs() < 1e-5,
            "{e:?}"
        );
    }

    #[test]
    fn joint_scaling() {
        let r = [std::f32::consts::FRAC_PI_6, 1.7453];
        assert!((scaled_joint_pos(1.7453, r) - 1.0).abs() < 1e-6);
        assert!((scaled_joint_pos(r[0], r) + 1.0).abs() < 1e-6);
        // Ankle at 0 with a 30..100° range: (0 − 1.13446)·2/1.2217 = −1.857.
        assert!((scaled_joint_pos(0.0, r) + 1.857).abs() < 1e-3);
    }
}
