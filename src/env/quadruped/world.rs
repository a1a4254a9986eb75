//! rapier3d world for one ant: build, step, read out.
//!
//! Multibody (reduced coordinates) like Bullet's Featherstone model: the torso is the free root and
//! each hinge is one link. Everything pybullet does that rapier does not is emulated here:
//! torque-mode actuators (body-torque pairs), Bullet's quadratic link damping, one-way joint stops,
//! and the unnormalised ankle axis (see [`World::step_physics`]).

// Joint `i` indexes several parallel per-joint arrays: plain index loops read best here.
#![allow(clippy::needless_range_loop)]

use rapier3d::prelude::*;

use super::morphology::{Morphology, Part};

/// Joint torque per unit action: pybullet's `power` 2.5 × `power_coef` 100 (MJCF gear ignored).
pub const TORQUE_PER_ACTION: f32 = 250.0;
/// Bullet's default multibody damping coefficients (`k1 + k2·|v|`), linear and angular alike.
const DAMPING_K1: f32 = 0.04;
const DAMPING_K2: f32 = 0.04;
/// Bullet's multibody joint-speed clamp (rad/s).
const MAX_JOINT_SPEED: f32 = 100.0;
/// A joint more than this outside its range is stopped where it is (Bullet's limit rows only stop
/// motion further out and never push a deep violation back). Shallow violations are held too
/// (Bullet corrects them with ERP 0.2; they only arise from the ankle pull-back and are tiny).
const ONE_WAY_SLACK: f32 = 0.04;
/// Bullet's gravity in the pybullet scene.
const GRAVITY: f32 = 9.8;

/// Physics settings. The defaults are the calibrated ones (spec §5 gait, 30 inits each:
/// intact 299.6 ± 42.8, right-damaged 76.5 ± 17.2, left-damaged 4.9 ± 15.5 against pybullet's
/// 351.8 ± 71.3, 70.3 ± 21.1, 1.3 ± 18.2; inits 30–59 give 311.5, 76.2, 9.2).
///
/// The gait statistics are chaotic in every setting here (a small change can move the intact
/// mean by ±100 and switch gait regimes), so the values below were chosen among physically
/// defensible ones by sweeping, and checked on a second set of inits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhysicsConfig {
    /// rapier pipeline steps per env step. Calibrated: 2 pipeline steps × 2 TGS substeps
    /// ([`Self::solver_iterations`]), so the solver still advances in pybullet's 4 substeps of
    /// 4.125 ms, while collision detection, torques, damping, the joint stops and the ankle
    /// pull-back are refreshed every 8.25 ms. It costs as many mass-matrix rebuilds as 4 × 1 (the
    /// dominant cost) but half the collision/bookkeeping work, and it matched pybullet's gait
    /// statistics where 4 × 1 could not (intact ≤ 265 with every contact/friction setting tried).
    pub pipeline_steps: usize,
    /// rapier `num_solver_iterations` (in 0.36 these are TGS substeps, each redoing the mass matrix).
    pub solver_iterations: usize,
    /// Env step length in seconds (pybullet: 0.0165).
    pub env_dt: f32,
    /// Ground friction, multiplied with the ant's 1.5 (both `Multiply`, as Bullet combines
    /// them): pybullet's stadium value 0.8 → μ = 1.2. Bullet's multibody solver clamps two
    /// fixed tangent directions independently (a friction pyramid, up to √2 more on diagonals)
    /// where rapier clamps the tangent impulse's norm (a cone); 0.75–0.9 were swept and the
    /// literal 0.8 matched best (0.78–0.82 pass; 0.75 puts right-damaged 27 % high, 0.85–0.9
    /// push left-damaged to −60…−90), so no correction is applied.
    pub ground_friction: f32,
    /// rapier's `friction_in_bias_pass` (default `false`): `true`, because rapier integrates
    /// positions with the velocities of its biased pass, and Bullet's single velocity solve,
    /// whose velocities move the bodies, always includes friction; with `false`, friction acts
    /// on the position update only through warm-starting. With `false` no setting tried matched
    /// all three morphologies (intact ≤ 265 at 4 × 1; at 2 × 2 right-damaged 2–3× too high or
    /// negative). Side effect: a resting ant's yaw random-walks (≤ 0.47 rad in 500 steps over
    /// inits 0–5, ≈0.6 in 2000, against ≤ 0.09 with `false`): friction reacts to the contacts'
    /// position-correction velocities. Irrelevant to the paper protocol (a policy that leaves
    /// the ant on its belly is cut at t = 201), but visible in a rendered idle ant.
    pub friction_in_bias_pass: bool,
    /// Stiffness (Hz) of contacts against the fixed ground (rapier default 60). Bullet's
    /// contacts are stiffer than either; 40–90 were swept with the other calibrated settings:
    /// 45–55 pass, 40 and 60 lose 85 and 20 on the intact mean. The resting torso still sits at
    /// 0.250 (free-fall test).
    pub ground_contact_hz: f32,
    /// Damping ratio of contacts against the fixed ground (rapier default 10, kept; 5–15
    /// swept, 8–10 pass, 12 and 15 collapse the intact gait).
    pub ground_contact_damping: f32,
    /// Gauss–Seidel sweeps over the joint stops after each rapier step (see
    /// `World::post_step`; 1 and 3 swept, both worse).
    pub limit_sweeps: usize,
}

impl Default for PhysicsConfig {
    fn default() -> Self {
        PhysicsConfig {
            pipeline_steps: 2,
            solver_iterations: 2,
            env_dt: 0.0165,
            ground_friction: 0.8,
            friction_in_bias_pass: true,
            ground_contact_hz: 45.0,
            ground_contact_damping: 10.0,
            limit_sweeps: 2,
        }
    }
}

/// Readout of the joints in action order.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct JointState {
    /// Joint angle as pybullet reports it (rad).
    pub q: [f32; 8],
    /// Joint speed as pybullet reports it (rad/s; ankles: physical rate / |axis|).
    pub qd: [f32; 8],
}

/// One ant in its own rapier world.
pub struct World {
    pipeline: PhysicsPipeline,
    params: IntegrationParameters,
    islands: IslandManager,
    broad_phase: DefaultBroadPhase,
    narrow_phase: NarrowPhase,
    pub(crate) bodies: RigidBodySet,
    colliders: ColliderSet,
    impulse_joints: ImpulseJointSet,
    multibody_joints: MultibodyJointSet,
    soft_bodies: SoftBodySet,
    ccd: CCDSolver,
    cfg: PhysicsConfig,
    gravity: Vector,
    /// Torso then the 8 links in action order.
    pub(crate) body_handles: [RigidBodyHandle; 9],
    /// Local inertia (about the CoM) per body, for Bullet's angular damping.
    body_inertia: [Matrix; 9],
    body_mass: [f32; 9],
    mb_index: MultibodyIndex,
    link_ids: [usize; 8],
    dofs: [usize; 8],
    /// Unit hinge axis in the parent's body frame.
    axis_parent: [Vector; 8],
    axis_scale: [f32; 8],
    range: [[f32; 2]; 8],
    limits_now: [[f32; 2]; 8],
    shin_colliders: [ColliderHandle; 4],
    ground: ColliderHandle,
    disp: Vec<f32>,
    minv_col: DVector,
}

fn mass_props(part: &Part) -> MassProperties {
    let i = part.inertia;
    let off = i[0][1].abs() + i[0][2].abs() + i[1][2].abs();
    if off < 1e-7 {
        MassProperties::new(part.com, part.mass, Vector::new(i[0][0], i[1][1], i[2][2]))
    } else {
        let m = Matrix::from_cols(
            Vector::new(i[0][0], i[1][0], i[2][0]),
            Vector::new(i[0][1], i[1][1], i[2][1]),
            Vector::new(i[0][2], i[1][2], i[2][2]),
        );
        MassProperties::with_inertia_matrix(part.com, part.mass, m)
    }
}

fn part_matrix(part: &Part) -> Matrix {
    let i = part.inertia;
    Matrix::from_cols(
        Vector::new(i[0][0], i[1][0], i[2][0]),
        Vector::new(i[0][1], i[1][1], i[2][1]),
        Vector::new(i[0][2], i[1][2], i[2][2]),
    )
}

const ANT_GROUP: Group = Group::GROUP_1;
const GROUND_GROUP: Group = Group::GROUP_2;

impl World {
    /// Builds the ant at its zero pose with the given joint angles (action order).
    pub fn new(morph: &Morphology, cfg: PhysicsConfig, q0: &[f32; 8]) -> World {
        let mut bodies = RigidBodySet::new();
        let mut colliders = ColliderSet::new();
        let mut multibody_joints = MultibodyJointSet::new();

        let ground_body = bodies.insert(RigidBodyBuilder::fixed());
        let ground = colliders.insert_with_parent(
            ColliderBuilder::new(SharedShape::halfspace(Vector::Z))
                .friction(cfg.ground_friction)
                .friction_combine_rule(CoefficientCombineRule::Multiply)
                .restitution(0.5)
                .restitution_combine_rule(CoefficientCombineRule::Multiply)
                .collision_groups(InteractionGroups::new(
                    GROUND_GROUP,
                    ANT_GROUP,
                    InteractionTestMode::And,
                )),
            ground_body,
            &mut bodies,
        );

        let add_part = |bodies: &mut RigidBodySet,
                        colliders: &mut ColliderSet,
                        part: &Part,
                        origin: Vector|
         -> (RigidBodyHandle, Vec<ColliderHandle>) {
            let h = bodies.insert(
                RigidBodyBuilder::dynamic()
                    .translation(origin)
                    .additional_mass_properties(mass_props(part))
                    .can_sleep(false),
            );
            let mut hs = Vec::new();
            for g in &part.geoms {
                let shape = match *g {
                    super::morphology::Geom::Sphere { center, radius } => {
                        ColliderBuilder::ball(radius).translation(center)
                    }
                    super::morphology::Geom::Capsule { a, b, radius } => {
                        ColliderBuilder::capsule_from_endpoints(a, b, radius)
                    }
                };
                hs.push(
                    colliders.insert_with_parent(
                        shape
                            .density(0.0)
                            .friction(part.friction)
                            .friction_combine_rule(CoefficientCombineRule::Multiply)
                            .restitution(0.0)
                            .restitution_combine_rule(CoefficientCombineRule::Multiply)
                            .collision_groups(InteractionGroups::new(
                                ANT_GROUP,
                                GROUND_GROUP,
                                InteractionTestMode::And,
                            )),
                        h,
                        bodies,
                    ),
                );
            }
            (h, hs)
        };

        let (torso, _) = add_part(&mut bodies, &mut colliders, &morph.torso, morph.torso_pos);
        let mut body_handles = [torso; 9];
        let mut body_inertia = [Matrix::IDENTITY; 9];
        let mut body_mass = [0.0; 9];
        body_inertia[0] = part_matrix(&morph.torso);
        body_mass[0] = morph.torso.mass;
        let mut shin_colliders = [ground; 4];
        let mut joint_handles = Vec::with_capacity(8);
        let mut axis_parent = [Vector::Z; 8];
        let mut axis_scale = [1.0; 8];
        let mut range = [[0.0; 2]; 8];
        for (k, leg) in morph.legs.iter().enumerate() {
            let hip_pos = morph.torso_pos + leg.hip.pivot_in_parent;
            let (thigh, _) = add_part(&mut bodies, &mut colliders, &leg.thigh, hip_pos);
            let ankle_pos = hip_pos + leg.ankle.pivot_in_parent;
            let (shin, shin_cols) = add_part(&mut bodies, &mut colliders, &leg.shin, ankle_pos);
            shin_colliders[k] = shin_cols[0];
            for (j, (parent, child, hinge, part)) in [
                (torso, thigh, &leg.hip, &leg.thigh),
                (thigh, shin, &leg.ankle, &leg.shin),
            ]
            .into_iter()
            .enumerate()
            {
                let idx = 2 * k + j;
                let joint = RevoluteJointBuilder::new(hinge.axis_unit())
                    .local_anchor1(hinge.pivot_in_parent)
                    .local_anchor2(Vector::ZERO)
                    .contacts_enabled(false);
                let jh = multibody_joints
                    .insert(parent, child, joint, true)
                    .expect("ant joints form a tree");
                joint_handles.push(jh);
                body_handles[1 + idx] = child;
                body_inertia[1 + idx] = part_matrix(part);
                body_mass[1 + idx] = part.mass;
                axis_parent[idx] = hinge.axis_unit();
                axis_scale[idx] = hinge.axis_scale();
                range[idx] = hinge.range;
            }
        }

        let mut link_ids = [0usize; 8];
        let mut mb_index = None;
        for (i, h) in body_handles[1..].iter().enumerate() {
            let link = multibody_joints.rigid_body_link(*h).expect("link");
            link_ids[i] = link.id;
            mb_index = Some(link.multibody);
        }
        let mb_index = mb_index.expect("multibody");
        let mut dofs = [0usize; 8];
        let mut disp;
        {
            let mb = multibody_joints
                .get_multibody_mut(mb_index)
                .expect("multibody");
            // rapier puts damping 0.1 on every angular DoF by default; Bullet has none.
            mb.damping_mut().fill(0.0);
            for i in 0..8 {
                dofs[i] = mb.link(link_ids[i]).expect("link").assembly_id();
            }
            disp = vec![0.0; mb.ndofs()];
            for i in 0..8 {
                disp[dofs[i]] = q0[i];
            }
            mb.apply_displacements(&disp);
            // `true`: take the root pose from the torso body (the root joint does not know it yet).
            mb.forward_kinematics(&bodies, true);
            for i in 0..8 {
                let pose = *mb.link(link_ids[i]).expect("link").local_to_world();
                bodies[body_handles[1 + i]].set_position(pose, false);
            }
            disp.fill(0.0);
        }

        let mut params = IntegrationParameters {
            dt: cfg.env_dt / cfg.pipeline_steps as f32,
            num_solver_iterations: cfg.solver_iterations,
            ..IntegrationParameters::default()
        };
        params.num_internal_pgs_iterations = 1;
        params.friction_in_bias_pass = cfg.friction_in_bias_pass;
        params.static_contact_softness.natural_frequency = cfg.ground_contact_hz;
        params.static_contact_softness.damping_ratio = cfg.ground_contact_damping;

        World {
            pipeline: PhysicsPipeline::new(),
            params,
            islands: IslandManager::new(),
            broad_phase: DefaultBroadPhase::default(),
            narrow_phase: NarrowPhase::new(),
            bodies,
            colliders,
            impulse_joints: ImpulseJointSet::new(),
            multibody_joints,
            soft_bodies: SoftBodySet::new(),
            ccd: CCDSolver::new(),
            cfg,
            gravity: Vector::new(0.0, 0.0, -GRAVITY),
            body_handles,
            body_inertia,
            body_mass,
            mb_index,
            link_ids,
            dofs,
            axis_parent,
            axis_scale,
            range,
            limits_now: range,
            shin_colliders,
            ground,
            minv_col: DVector::zeros(disp.len()),
            disp,
        }
    }

    fn multibody(&self) -> &Multibody {
        self.multibody_joints
            .get_multibody(self.mb_index)
            .expect("multibody")
    }

    /// Raw rapier coordinates of the 8 hinges (geometric angle about the unit axis).
    fn coords(&self) -> [f32; 8] {
        let mb = self.multibody();
        std::array::from_fn(|i| mb.link(self.link_ids[i]).expect("link").joint().coords()[3])
    }

    /// Joint angles and speeds as pybullet reports them.
    pub fn joints(&self) -> JointState {
        let mb = self.multibody();
        let v = mb.generalized_velocity();
        let q = self.coords();
        JointState {
            q,
            qd: std::array::from_fn(|i| v[self.dofs[i]] / self.axis_scale[i]),
        }
    }

    /// One env step: `torque` = generalized joint torques (N·m, pybullet's 250·clip(a)), held
    /// constant over the pipeline steps.
    ///
    /// Per pipeline step: one-way limits, fresh damping and torque pairs (rapier user forces
    /// persist, so they are cleared and re-added), the rapier step, then the ankle-axis
    /// pull-back. pybullet keeps a joint axis of length s as given: velocities and the mass
    /// matrix use s·â (so the shin turns at s·q̇ and the generalized force τ is a physical
    /// torque τ/s), while the rotation uses â and advances only by q̇·dt. We simulate the unit
    /// axis with torque τ/s and pull the coordinate back by (1 − 1/s) of each increment.
    pub fn step_physics(&mut self, torque: &[f32; 8]) {
        for _ in 0..self.cfg.pipeline_steps {
            self.update_stops();
            self.apply_forces(torque);
            let before = self.coords();
            self.pipeline.step(
                self.gravity,
                &self.params,
                &mut self.islands,
                &mut self.broad_phase,
                &mut self.narrow_phase,
                &mut self.bodies,
                &mut self.colliders,
                &mut self.impulse_joints,
                &mut self.multibody_joints,
                &mut self.soft_bodies,
                &mut self.ccd,
                &(),
                &(),
            );
            self.post_step(&before);
        }
    }

    /// Effective stops for this substep: Bullet's limit rows only forbid moving further out, so
    /// a joint more than 0.04 rad outside its range is stopped where it is.
    fn update_stops(&mut self) {
        let q = self.coords();
        for i in 0..8 {
            let [lo, hi] = self.range[i];
            self.limits_now[i] = if q[i] < lo - ONE_WAY_SLACK {
                [q[i], hi]
            } else if q[i] > hi + ONE_WAY_SLACK {
                [lo, q[i]]
            } else {
                [lo, hi]
            };
        }
    }

    fn apply_forces(&mut self, torque: &[f32; 8]) {
        for (b, h) in self.body_handles.iter().enumerate() {
            let rb = &mut self.bodies[*h];
            rb.reset_forces(false);
            rb.reset_torques(false);
            let v = rb.linvel();
            let w = rb.angvel();
            let rot = *rb.rotation();
            let f = -v * (self.body_mass[b] * (DAMPING_K1 + DAMPING_K2 * v.length()));
            let w_local = rot.inverse() * w;
            let t_local =
                -(self.body_inertia[b] * w_local) * (DAMPING_K1 + DAMPING_K2 * w.length());
            rb.add_force(f, false);
            rb.add_torque(rot * t_local, false);
        }
        for i in 0..8 {
            let tau = torque[i] / self.axis_scale[i];
            if tau == 0.0 {
                continue;
            }
            let parent = if i % 2 == 0 {
                self.body_handles[0]
            } else {
                self.body_handles[i]
            };
            let child = self.body_handles[1 + i];
            let axis = *self.bodies[parent].rotation() * self.axis_parent[i];
            self.bodies[child].add_torque(axis * tau, false);
            self.bodies[parent].add_torque(-axis * tau, false);
        }
    }

    /// Joint stops, speed clamp and the ankle-axis pull-back, after one rapier step.
    ///
    /// Joint limits are ours, not rapier's: rapier integrates multibody positions with the
    /// velocities of its biased solver pass, where multibody limit rows do not act, so a joint
    /// pushed out of range creeps on by τ·dt²/I per substep while its final velocity reads ~0,
    /// and undoing only that coordinate ratchets the rest of the body (a resting ant slowly
    /// lifts itself). Instead, each stop that was crossed (or pushed further out) gets an
    /// inelastic impulse through the multibody's inverse mass matrix: it zeroes the joint's
    /// outward speed and moves every DoF consistently (position change = Δv·dt, plus a
    /// position-only projection back to the stop), like a Bullet limit row.
    ///
    /// Unlike Bullet, these impulses come after rapier's contact solve, not inside it, and
    /// the gait statistics are sensitive to how they are iterated: two sweeps matched pybullet
    /// best (one sweep, or a converged projected Gauss–Seidel, both moved the damaged ants far
    /// from it; re-checked with the calibrated 2 × 2 stepping). The position projection is
    /// essential: projecting back only part of the overshoot (Bullet's ERP 0.2 for shallow
    /// violations) or none collapses the intact gait to ≈0. rapier's own multibody limits
    /// (re-tried with the one-way widening) do not hold: under the §5 gait a hip reached
    /// 1.32 rad against its 0.70 limit. Side effect, with friction in the biased pass: see
    /// [`PhysicsConfig::friction_in_bias_pass`].
    fn post_step(&mut self, before: &[f32; 8]) {
        let dt = self.params.dt;
        let mb = self
            .multibody_joints
            .get_multibody_mut(self.mb_index)
            .expect("multibody");
        let n = mb.ndofs();
        self.disp.iter_mut().for_each(|d| *d = 0.0);
        let coord = |mb: &Multibody, i: usize| -> f32 {
            mb.link(self.link_ids[i]).expect("link").joint().coords()[3]
        };
        let after: [f32; 8] = std::array::from_fn(|i| coord(mb, i));
        // Two Gauss–Seidel sweeps over the stops (legs are coupled through the torso).
        for _sweep in 0..self.cfg.limit_sweeps {
            for i in 0..8 {
                let d = self.dofs[i];
                let [lo, hi] = self.limits_now[i];
                let q = after[i] + self.disp[d];
                let v = mb.generalized_velocity()[d];
                let (dv, dq) = if q > hi && q > before[i] {
                    ((-v).min(0.0), before[i].max(hi) - q)
                } else if q < lo && q < before[i] {
                    ((-v).max(0.0), before[i].min(lo) - q)
                } else {
                    continue;
                };
                // Column d of M⁻¹.
                self.minv_col.fill(0.0);
                self.minv_col[d] = 1.0;
                if !mb.inv_augmented_mass().solve_mut(&mut self.minv_col) {
                    continue;
                }
                let m_dd = self.minv_col[d];
                if m_dd.is_nan() || m_dd <= 0.0 {
                    continue;
                }
                let kv = dv / m_dd;
                let kq = (dq - dv * dt) / m_dd;
                {
                    let mut vel = mb.generalized_velocity_mut();
                    for k in 0..n {
                        vel[k] += kv * self.minv_col[k];
                    }
                }
                for k in 0..n {
                    self.disp[k] += (kv * dt + kq) * self.minv_col[k];
                }
            }
        }
        {
            let mut v = mb.generalized_velocity_mut();
            for i in 0..8 {
                let d = self.dofs[i];
                v[d] = v[d].clamp(-MAX_JOINT_SPEED, MAX_JOINT_SPEED);
            }
        }
        // Ankle-axis quirk: the coordinate advances only 1/s of the physical rotation.
        for i in 0..8 {
            let d = self.dofs[i];
            let s = self.axis_scale[i];
            let delta = after[i] + self.disp[d] - before[i];
            self.disp[d] -= (1.0 - 1.0 / s) * delta;
        }
        if self.disp.iter().all(|x| *x == 0.0) {
            return;
        }
        mb.apply_displacements(&self.disp);
        mb.forward_kinematics(&self.bodies, false);
        // Re-sync the bodies (and so their colliders) with the corrected coordinates;
        // `set_position` flags only the bodies that actually moved.
        let root = *mb.link(0).expect("root").local_to_world();
        self.bodies[self.body_handles[0]].set_position(root, false);
        for i in 0..8 {
            let pose = *mb.link(self.link_ids[i]).expect("link").local_to_world();
            self.bodies[self.body_handles[1 + i]].set_position(pose, false);
        }
    }

    /// Torso body pose (origin = torso centre for the shipped files).
    pub fn torso_pose(&self) -> Pose {
        *self.bodies[self.body_handles[0]].position()
    }

    /// Torso centre-of-mass position.
    pub fn torso_com(&self) -> Vector {
        self.bodies[self.body_handles[0]].center_of_mass()
    }

    /// Torso linear velocity (world), from the multibody root DoFs (body `linvel()` lags).
    pub fn torso_linvel(&self) -> Vector {
        let v = self.multibody().generalized_velocity();
        Vector::new(v[0], v[1], v[2])
    }

    /// Pose of body `b` (0 = torso, 1 + j = link of joint j).
    pub fn body_pose(&self, b: usize) -> Pose {
        *self.bodies[self.body_handles[b]].position()
    }

    /// Whether shin `k` touches the ground (contact points in the solver manifold).
    pub fn foot_contact(&self, k: usize) -> bool {
        self.narrow_phase
            .contact_pair(self.shin_colliders[k], self.ground)
            .is_some_and(|p| p.has_any_active_contact())
    }

    /// All generalized velocities and body positions finite and within sane bounds.
    pub fn is_sane(&self) -> bool {
        let mb = self.multibody();
        let v = mb.generalized_velocity();
        if !v.iter().all(|x| x.is_finite() && x.abs() < 1.0e3) {
            return false;
        }
        self.body_handles.iter().all(|h| {
            let p = self.bodies[*h].translation();
            p.is_finite() && p.abs().max_element() < 1.0e5
        })
    }
}
