//! AntBulletEnv-v0 (pybullet) rebuilt on rapier3d, with the damaged-leg morphologies of
//! Najarro & Risi (2020).
//!
//! [`Ant`] is one environment: `reset(seed)`, `step(&action) -> AntStep`, `observation()`.
//! [`paper_episode`] runs the paper's protocol (40-step burn-in, 200-step grace, early stop after
//! 31 negative-progress steps, 1000-step limit, progress-only fitness).

pub mod damage;
pub mod morphology;
pub mod network_io;
pub mod observation;
pub mod render;
pub mod replay;
pub mod reward;
pub mod world;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rapier3d::math::Vector;

pub use crate::env::gif::write_gif;
pub use damage::{Damage, RANDOM_DAMAGE, RandomDamageAnt, random_damage_legs};
pub use morphology::{BUILTIN_NAMES, Morphology, MorphologyError};
pub use observation::OBS_DIM;
pub use render::render;
pub use replay::{ReplaySummary, read_actions_csv, replay};
pub use reward::RewardTerms;
pub use world::{GroundContact, JointState, PhysicsConfig, TORQUE_PER_ACTION};

use crate::protocol::{ANT_BURN_IN_STEPS, EpisodeScore, Protocol, TIME_LIMIT};
use world::World;

/// Number of actions (joints).
pub const ACT_DIM: usize = 8;
/// Fitness reported for an episode whose physics diverged (NaN or explosion): far below any real
/// fitness (real ones are within ±2·10⁴), finite so that averages stay finite.
pub const DIVERGED_FITNESS: f32 = -1.0e6;

/// Result of one env step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AntStep {
    /// Full env reward (alive + progress + electricity + joints-at-limit).
    pub reward: f32,
    /// Progress term: the paper's fitness per step.
    pub progress: f32,
    /// Torso z ≤ 0.26 (or diverged).
    pub done: bool,
    /// Physics blew up: the episode must end with [`DIVERGED_FITNESS`].
    pub diverged: bool,
}

/// One AntBulletEnv-v0 environment on its own rapier world.
pub struct Ant {
    morph: Morphology,
    cfg: PhysicsConfig,
    world: World,
    /// (body index, point in body frame) of pybullet's 21 robot parts.
    part_points: Vec<(usize, Vector)>,
    initial_z: f32,
    potential: f32,
    feet: [bool; 4],
    obs: [f32; OBS_DIM],
    terms: RewardTerms,
    steps: usize,
    diverged: bool,
}

fn collect_part_points(m: &Morphology) -> Vec<(usize, Vector)> {
    let mut v: Vec<(usize, Vector)> = m.torso.part_points.iter().map(|p| (0, *p)).collect();
    for (k, leg) in m.legs.iter().enumerate() {
        v.extend(leg.thigh.part_points.iter().map(|p| (1 + 2 * k, *p)));
        v.extend(leg.shin.part_points.iter().map(|p| (2 + 2 * k, *p)));
    }
    v
}

impl Ant {
    /// New env with the calibrated physics, reset with seed 0.
    pub fn new(morph: &Morphology) -> Self {
        Self::with_config(morph, PhysicsConfig::default())
    }

    /// New env with explicit physics settings, reset with seed 0.
    pub fn with_config(morph: &Morphology, cfg: PhysicsConfig) -> Self {
        let q0 = [0.0; 8];
        let mut ant = Ant {
            morph: morph.clone(),
            cfg,
            world: World::new(morph, cfg, &q0),
            part_points: collect_part_points(morph),
            initial_z: 0.0,
            potential: 0.0,
            feet: [false; 4],
            obs: [0.0; OBS_DIM],
            terms: RewardTerms::default(),
            steps: 0,
            diverged: false,
        };
        ant.reset(0);
        ant
    }

    /// The morphology.
    pub fn morphology(&self) -> &Morphology {
        &self.morph
    }

    /// Physics settings in use.
    pub fn config(&self) -> PhysicsConfig {
        self.cfg
    }

    /// Reset: torso at its start pose, each joint ~ U(−0.1, 0.1) rad from a ChaCha8 stream of
    /// `seed`, zero velocities, contact flags 0.
    pub fn reset(&mut self, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let q0: [f32; 8] = std::array::from_fn(|_| rng.random_range(-0.1f32..0.1f32));
        self.reset_with_joints(&q0);
    }

    /// Reset with explicit initial joint angles (action order), e.g. pybullet's seed-0 draw.
    pub fn reset_with_joints(&mut self, q0: &[f32; 8]) {
        let q0 = q0.map(|q| if q.is_finite() { q } else { 0.0 });
        self.world = World::new(&self.morph, self.cfg, &q0);
        self.initial_z = self.world.torso_com().z;
        self.feet = [false; 4];
        self.steps = 0;
        self.diverged = false;
        self.terms = RewardTerms::default();
        // pybullet: the floor is not yet in the parts dict at an env's first reset (every episode
        // in the paper uses a fresh env), so the reset potential divides by 21, later ones by 22.
        let xy = self.body_xy_with(false);
        self.potential = reward::potential(xy);
        self.obs = self.build_obs(xy);
    }

    /// Mean of the part positions; `with_floor` adds pybullet's floor part at the origin.
    fn body_xy_with(&self, with_floor: bool) -> [f32; 2] {
        let mut poses = [rapier3d::math::Pose::IDENTITY; 9];
        for (b, p) in poses.iter_mut().enumerate() {
            *p = self.world.body_pose(b);
        }
        let (mut sx, mut sy) = (0.0f64, 0.0f64);
        for (b, pt) in &self.part_points {
            let w = poses[*b] * *pt;
            sx += w.x as f64;
            sy += w.y as f64;
        }
        let n = self.part_points.len() as f64 + if with_floor { 1.0 } else { 0.0 };
        [(sx / n) as f32, (sy / n) as f32]
    }

    fn build_obs(&self, xy: [f32; 2]) -> [f32; OBS_DIM] {
        let js = self.world.joints();
        observation::build(&observation::ObsInputs {
            z: self.world.torso_com().z,
            initial_z: self.initial_z,
            body_xy: xy,
            rotation: self.world.torso_pose().rotation,
            linvel: self.world.torso_linvel(),
            q: js.q,
            qd: js.qd,
            ranges: self.ranges(),
            feet: self.feet,
        })
    }

    fn ranges(&self) -> [[f32; 2]; 8] {
        let j = self.morph.joints();
        std::array::from_fn(|i| j[i].range)
    }

    /// One env step (0.0165 s). Non-finite actions count as 0; actions are clipped to ±1 for the
    /// torque and used raw (bounded to ±10⁶) for the electricity cost, like pybullet. After divergence every step
    /// returns `done` and `diverged` without touching the physics.
    pub fn step(&mut self, action: &[f32; ACT_DIM]) -> AntStep {
        if self.diverged {
            return AntStep {
                reward: 0.0,
                progress: 0.0,
                done: true,
                diverged: true,
            };
        }
        // Non-finite → 0; the raw action enters the electricity cost (pybullet does not clip
        // it there), bounded so that its square stays finite in f32.
        let a = action.map(|x| {
            if x.is_finite() {
                x.clamp(-1e6, 1e6)
            } else {
                0.0
            }
        });
        let torque = a.map(|x| TORQUE_PER_ACTION * x.clamp(-1.0, 1.0));
        self.world.step_physics(&torque);
        self.steps += 1;
        if !self.world.is_sane() {
            self.diverged = true;
            return AntStep {
                reward: 0.0,
                progress: 0.0,
                done: true,
                diverged: true,
            };
        }
        let xy = self.body_xy_with(true);
        let obs = self.build_obs(xy);
        let new_potential = reward::potential(xy);
        let progress = new_potential - self.potential;
        self.potential = new_potential;
        for k in 0..4 {
            self.feet[k] = self.world.foot_contact(k);
        }
        let js = self.world.joints();
        let ranges = self.ranges();
        let pos: [f32; 8] =
            std::array::from_fn(|j| observation::scaled_joint_pos(js.q[j], ranges[j]));
        let vel = js.qd.map(|v| 0.1 * v);
        let z = self.world.torso_com().z;
        self.terms = reward::terms(&a, &pos, &vel, z, progress);
        self.obs = obs;
        let finite = obs.iter().all(|x| x.is_finite()) && progress.is_finite();
        if !finite {
            self.diverged = true;
        }
        AntStep {
            reward: self.terms.total(),
            progress,
            done: self.terms.alive < 0.0 || !finite,
            diverged: !finite,
        }
    }

    /// The current 28-dim observation (clipped; foot flags are those of the previous step).
    pub fn observation(&self) -> [f32; OBS_DIM] {
        self.obs
    }

    /// Reward terms of the last step.
    pub fn last_reward_terms(&self) -> RewardTerms {
        self.terms
    }

    /// Steps since reset.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Torso centre of mass (world).
    pub fn torso_position(&self) -> [f32; 3] {
        self.world.torso_com().to_array()
    }

    /// Torso orientation quaternion `[x, y, z, w]`.
    pub fn torso_quaternion(&self) -> [f32; 4] {
        let r = self.world.torso_pose().rotation;
        [r.x, r.y, r.z, r.w]
    }

    /// Torso (roll, pitch, yaw), Bullet convention.
    pub fn torso_rpy(&self) -> [f32; 3] {
        observation::euler_rpy(self.world.torso_pose().rotation)
    }

    /// Torso linear velocity (world).
    pub fn torso_velocity(&self) -> [f32; 3] {
        self.world.torso_linvel().to_array()
    }

    /// pybullet's body position (X, Y) used for the target distance.
    pub fn body_xy(&self) -> [f32; 2] {
        self.body_xy_with(true)
    }

    /// Joint angles/speeds in action order, as pybullet reports them.
    pub fn joint_state(&self) -> JointState {
        self.world.joints()
    }

    /// Current foot contact flags (they appear in the observation one step later).
    pub fn foot_contacts(&self) -> [bool; 4] {
        self.feet
    }

    /// Whether the physics has diverged since the last reset.
    pub fn diverged(&self) -> bool {
        self.diverged
    }

    /// Ground contacts per body (0 = torso, 1 + j = link of joint j in action order), for
    /// comparing contact patterns with pybullet.
    pub fn ground_contacts(&self) -> [GroundContact; 9] {
        self.world.ground_contacts()
    }

    pub(crate) fn world(&self) -> &World {
        &self.world
    }
}

/// Outcome of one paper-protocol episode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeOutcome {
    /// Σ progress over the scored steps, or [`DIVERGED_FITNESS`].
    pub fitness: f32,
    /// Scored (policy) steps taken.
    pub steps: usize,
    /// The physics diverged.
    pub diverged: bool,
}

/// One episode with the paper's protocol (HebbianMetaLearning `fitness_functions.py`).
///
/// Reset with `seed`; 40 zero-action steps whose observations are discarded, so the policy's first
/// input is the reset observation; then up to 960 policy steps scored by [`Protocol::ant`]
/// (the one implementation training uses too); fitness = Σ progress.
pub fn paper_episode(
    ant: &mut Ant,
    seed: u64,
    mut policy: impl FnMut(&[f32; OBS_DIM]) -> [f32; ACT_DIM],
) -> EpisodeOutcome {
    ant.reset(seed);
    let mut obs = ant.observation();
    for _ in 0..ANT_BURN_IN_STEPS {
        if ant.step(&[0.0; ACT_DIM]).diverged {
            return EpisodeOutcome {
                fitness: DIVERGED_FITNESS,
                steps: 0,
                diverged: true,
            };
        }
    }
    let protocol = Protocol::ant();
    let mut score = EpisodeScore::default();
    for t in 0..protocol.policy_steps() {
        let action = policy(&obs);
        let s = ant.step(&action);
        if s.diverged {
            return EpisodeOutcome {
                fitness: DIVERGED_FITNESS,
                steps: t + 1,
                diverged: true,
            };
        }
        obs = ant.observation();
        if score.record(&protocol, t, s.progress, s.done) {
            break;
        }
    }
    EpisodeOutcome {
        fitness: score.total,
        steps: score.steps,
        diverged: false,
    }
}

/// Mean paper-protocol fitness over several morphologies (the paper trains on the mean over
/// intact and right-damaged). `make_policy` builds a fresh policy per episode (Hebbian weights
/// restart every episode).
pub fn mean_paper_fitness<P>(
    morphologies: &[Morphology],
    seed: u64,
    mut make_policy: impl FnMut(&Morphology) -> P,
) -> f32
where
    P: FnMut(&[f32; OBS_DIM]) -> [f32; ACT_DIM],
{
    if morphologies.is_empty() {
        return 0.0;
    }
    let total: f32 = morphologies
        .iter()
        .map(|m| {
            let mut ant = Ant::new(m);
            paper_episode(&mut ant, seed, make_policy(m)).fitness
        })
        .sum();
    total / morphologies.len() as f32
}

/// The open-loop gait found by hill-climbing in pybullet (spec §5), at scored step `t`.
pub fn calibration_gait(t: usize) -> [f32; ACT_DIM] {
    const A: [f32; 8] = [1.0, 1.0, 1.0, 0.2027, 0.0, 0.0, 0.0580, 1.0];
    const PHI: [f32; 8] = [
        0.4502, 0.7508, 0.7408, 1.8518, -1.0434, 2.2623, -3.5556, -0.1650,
    ];
    const B: [f32; 8] = [
        0.1949, 0.4290, -0.1032, -0.1012, 0.9943, 0.7274, -0.0819, -0.1144,
    ];
    let w = 2.0 * std::f32::consts::PI * 1.8465 * 0.0165;
    std::array::from_fn(|j| (B[j] + A[j] * (w * t as f32 + PHI[j]).sin()).clamp(-1.0, 1.0))
}

/// Σ progress of the calibration gait after a 40-step zero burn-in, 960 steps, no early stop
/// (spec §5). `None` if the physics diverged.
pub fn calibration_gait_progress(ant: &mut Ant) -> Option<f32> {
    for _ in 0..ANT_BURN_IN_STEPS {
        if ant.step(&[0.0; ACT_DIM]).diverged {
            return None;
        }
    }
    let mut sum = 0.0;
    for t in 0..TIME_LIMIT - ANT_BURN_IN_STEPS {
        let s = ant.step(&calibration_gait(t));
        if s.diverged {
            return None;
        }
        sum += s.progress;
    }
    Some(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn ant_is_send() {
        assert_send::<Ant>();
    }
}
