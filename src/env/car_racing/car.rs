//! gym 0.17 `car_dynamics.Car` without Box2D: the force law of `Car.step` plus the reduced
//! per-step momentum projection of spec §5, which reproduces Box2D's joint solve.

use super::tiles::Vec2;
use std::f64::consts::PI;

/// Source-unit → world scale of the car drawing.
pub const SIZE: f64 = 0.02;
pub const ENGINE_POWER: f64 = 100_000_000.0 * SIZE * SIZE;
pub const WHEEL_MOMENT_OF_INERTIA: f64 = 4000.0 * SIZE * SIZE;
pub const FRICTION_LIMIT: f64 = 1_000_000.0 * SIZE * SIZE;
/// Grass friction multiplier (no tile under the wheel).
pub const GRASS_FRICTION: f64 = 0.6;
/// Slip-to-force gain ("random coefficient to cut oscillations").
pub const SLIP_GAIN: f64 = 205_000.0 * SIZE * SIZE;
pub const BRAKE_FORCE: f64 = 15.0;
/// Rolling radius.
pub const WHEEL_R: f64 = 27.0 * SIZE;
/// Wheel box half extents (x, y).
pub const WHEEL_HALF: Vec2 = [14.0 * SIZE, 27.0 * SIZE];
/// Wheel anchors in hull coordinates: front-left, front-right, rear-left, rear-right.
pub const WHEEL_POS: [Vec2; 4] = [
    [-55.0 * SIZE, 80.0 * SIZE],
    [55.0 * SIZE, 80.0 * SIZE],
    [-55.0 * SIZE, -82.0 * SIZE],
    [55.0 * SIZE, -82.0 * SIZE],
];
/// Steering joint limit (revolute joint lower/upper angle).
pub const STEER_LIMIT: f64 = 0.4;
const ANGULAR_SLOP: f64 = 2.0 / 180.0 * PI;
const MAX_ANGULAR_CORRECTION: f64 = 8.0 / 180.0 * PI;
const MAX_TRANSLATION: f64 = 2.0;
const LINEAR_SLOP: f64 = 0.005;
const MAX_ROTATION: f64 = 0.5 * PI;

/// Hull polygons in hull coordinates (already × SIZE).
pub const HULL_POLYS: [&[Vec2]; 4] = [
    &[[-1.2, 2.6], [1.2, 2.6], [1.2, 2.2], [-1.2, 2.2]],
    &[[-0.3, 2.4], [0.3, 2.4], [0.4, 0.4], [-0.4, 0.4]],
    &[
        [0.5, 0.4],
        [1.0, -0.2],
        [1.0, -0.8],
        [0.4, -1.8],
        [-0.4, -1.8],
        [-1.0, -0.8],
        [-1.0, -0.2],
        [-0.5, 0.4],
    ],
    &[[-1.0, -2.4], [1.0, -2.4], [1.0, -1.8], [-1.0, -1.8]],
];

/// Mass, centre of mass and inertia about the centre, computed like Box2D's `ComputeMass`.
#[derive(Clone, Copy, Debug)]
pub struct MassData {
    pub mass: f64,
    pub center: Vec2,
    pub inertia: f64,
}

/// Box2D polygon mass properties (density 1) summed over polygons.
pub fn hull_mass() -> MassData {
    let (mut mass, mut cx, mut cy, mut i_origin) = (0.0, 0.0, 0.0, 0.0);
    for poly in HULL_POLYS {
        let n = poly.len();
        let mut area = 0.0;
        let (mut px, mut py, mut inertia) = (0.0, 0.0, 0.0);
        let s = poly[0];
        for k in 0..n {
            let e1 = [poly[k][0] - s[0], poly[k][1] - s[1]];
            let p = poly[(k + 1) % n];
            let e2 = [p[0] - s[0], p[1] - s[1]];
            let d = e1[0] * e2[1] - e1[1] * e2[0];
            let tri = 0.5 * d;
            area += tri;
            px += tri * (e1[0] + e2[0]) / 3.0;
            py += tri * (e1[1] + e2[1]) / 3.0;
            let intx2 = e1[0] * e1[0] + e2[0] * e1[0] + e2[0] * e2[0];
            let inty2 = e1[1] * e1[1] + e2[1] * e1[1] + e2[1] * e2[1];
            inertia += (0.25 / 3.0 * d) * (intx2 + inty2);
        }
        // Box2D winds counter-clockwise; gym's lists are clockwise, so take magnitudes.
        let sg = area.signum();
        let (area, px, py, inertia) = (area * sg, px * sg, py * sg, inertia * sg);
        let c = [px / area + s[0], py / area + s[1]];
        let ic = inertia - area * ((px / area).powi(2) + (py / area).powi(2));
        mass += area;
        cx += area * c[0];
        cy += area * c[1];
        i_origin += ic + area * (c[0] * c[0] + c[1] * c[1]);
    }
    let center = [cx / mass, cy / mass];
    MassData {
        mass,
        center,
        inertia: i_origin - mass * (center[0] * center[0] + center[1] * center[1]),
    }
}

/// Wheel mass (box 0.56 x 1.08, density 0.1).
pub fn wheel_mass() -> MassData {
    let (w, h) = (2.0 * WHEEL_HALF[0], 2.0 * WHEEL_HALF[1]);
    let mass = 0.1 * w * h;
    MassData {
        mass,
        center: [0.0, 0.0],
        inertia: mass * (w * w + h * h) / 12.0,
    }
}

/// Rotates `v` by `angle`.
#[inline]
pub fn rot(angle: f64, v: Vec2) -> Vec2 {
    let (s, c) = angle.sin_cos();
    [c * v[0] - s * v[1], s * v[0] + c * v[1]]
}

/// One wheel: Box2D body velocity state plus gym's per-wheel attributes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wheel {
    /// Wheel centre (world); Box2D keeps it as a separate body position.
    pub pos: Vec2,
    /// Body linear velocity (kept as state: the force law uses it, spec §5 step 3).
    pub vel: Vec2,
    /// Body angular velocity (Box2D), not the rolling speed.
    pub body_spin: f64,
    /// Steering joint angle (wheel angle − hull angle).
    pub joint: f64,
    /// Rolling angular speed (gym's `omega`).
    pub omega: f64,
    /// Tread phase for drawing.
    pub phase: f64,
    pub gas: f64,
    pub brake: f64,
    pub steer: f64,
    /// Friction state: true when the wheel's tile set is non-empty.
    pub on_road: bool,
    motor_speed: f64,
    /// Box2D's warm-started accumulated motor and limit impulses and limit state; they make
    /// a joint pinned at its limit stick for a step when the target moves just inside it.
    motor_impulse: f64,
    limit_impulse: f64,
    limit_state: i8,
}

/// Box2D's `velocityIterations` as gym calls `world.Step(dt, 6*30, 2*30)`.
const VELOCITY_ITERATIONS: usize = 180;
/// Motor torque limit (gym: 180·900·SIZE²).
const MAX_MOTOR_TORQUE: f64 = 180.0 * 900.0 * SIZE * SIZE;

impl Wheel {
    /// Relative spin (wheel − hull) the revolute joint's motor and limit settle on this step,
    /// replayed as Box2D's warm-started Gauss-Seidel on the angular row (k = 1/I_hull + 1/I_wheel).
    /// Free joints reach the motor speed; a joint at its limit keeps the limit's accumulated
    /// impulse, so a motor turning it back inside only wins once that impulse is used up.
    /// Overwrites `motor_speed` with the settled relative spin.
    fn solve_joint_spin(&mut self, hull_spin: f64, k: f64, dt: f64) {
        let state = if self.joint <= -STEER_LIMIT {
            -1
        } else if self.joint >= STEER_LIMIT {
            1
        } else {
            0
        };
        if state != self.limit_state || state == 0 {
            self.limit_impulse = 0.0;
        }
        self.limit_state = state;
        let max_impulse = dt * MAX_MOTOR_TORQUE;
        let u = self.motor_speed;
        // Warm start: last step's impulses are applied again before iterating.
        let mut r = self.body_spin - hull_spin + k * (self.motor_impulse + self.limit_impulse);
        if state == 0 {
            let new = (self.motor_impulse - (r - u) / k).clamp(-max_impulse, max_impulse);
            r += k * (new - self.motor_impulse);
            self.motor_impulse = new;
            self.motor_speed = r;
            return;
        }
        for _ in 0..VELOCITY_ITERATIONS {
            let new = (self.motor_impulse - (r - u) / k).clamp(-max_impulse, max_impulse);
            r += k * (new - self.motor_impulse);
            // Limit row: drive r to 0 with an impulse that may only push away from the limit.
            let z = self.limit_impulse - r / k;
            let z = if state < 0 { z.max(0.0) } else { z.min(0.0) };
            r += k * (z - self.limit_impulse);
            let settled = new == self.motor_impulse && z == self.limit_impulse;
            self.motor_impulse = new;
            self.limit_impulse = z;
            if settled {
                break; // a fixed point: further iterations change nothing
            }
        }
        self.motor_speed = r;
    }
}

/// The car: hull rigid body plus four jointed wheels.
#[derive(Clone, Debug)]
pub struct Car {
    /// Hull centre of mass (world).
    pub com: Vec2,
    pub angle: f64,
    /// Hull centre-of-mass velocity.
    pub vel: Vec2,
    pub ang_vel: f64,
    pub wheels: [Wheel; 4],
    /// Box2D's joint position correction (spec §5 step 6, with gym's spawn quirk); when off,
    /// wheels are rigidly placed at their anchors.
    pub position_correction: bool,
    hull: MassData,
    wheel: MassData,
}

impl Car {
    /// Car whose hull body origin is at (x, y) with heading `angle`, at rest (gym `Car(world, angle, x, y)`).
    pub fn new(angle: f64, x: f64, y: f64) -> Self {
        let hull = hull_mass();
        let c = rot(angle, hull.center);
        let mut wheels = [Wheel::default(); 4];
        for (w, a) in wheels.iter_mut().zip(WHEEL_POS) {
            // gym creates wheels at *unrotated* offsets; the first position solve fixes it up.
            w.pos = [x + a[0], y + a[1]];
        }
        Self {
            com: [x + c[0], y + c[1]],
            angle,
            vel: [0.0; 2],
            ang_vel: 0.0,
            wheels,
            position_correction: true,
            hull,
            wheel: wheel_mass(),
        }
    }

    /// Hull body origin (what gym calls `hull.position`).
    pub fn position(&self) -> Vec2 {
        let c = rot(self.angle, self.hull.center);
        [self.com[0] - c[0], self.com[1] - c[1]]
    }

    /// |hull velocity|.
    pub fn speed(&self) -> f64 {
        self.vel[0].hypot(self.vel[1])
    }

    /// Wheel centre (world) and wheel angle.
    pub fn wheel_pose(&self, i: usize) -> (Vec2, f64) {
        let o = self.position();
        let a = rot(self.angle, WHEEL_POS[i]);
        (
            [o[0] + a[0], o[1] + a[1]],
            self.angle + self.wheels[i].joint,
        )
    }

    /// gym `Car.steer`: front wheels only.
    pub fn steer(&mut self, s: f64) {
        self.wheels[0].steer = s;
        self.wheels[1].steer = s;
    }

    /// gym `Car.gas`: rear wheels, ramp up at most 0.1 per step, drop instantly.
    pub fn gas(&mut self, gas: f64) {
        let gas = gas.clamp(0.0, 1.0);
        for w in &mut self.wheels[2..4] {
            let diff = (gas - w.gas).min(0.1);
            w.gas += diff;
        }
    }

    /// gym `Car.brake`: all wheels.
    pub fn brake(&mut self, b: f64) {
        for w in &mut self.wheels {
            w.brake = b;
        }
    }

    /// gym `Car.step`: joint motor targets and tyre forces, applied as wheel velocity impulses.
    pub fn step_forces(&mut self, dt: f64) {
        let m_w = self.wheel.mass;
        for w in &mut self.wheels {
            let diff = w.steer - w.joint;
            let dir = if diff > 0.0 {
                1.0
            } else if diff < 0.0 {
                -1.0
            } else {
                0.0
            };
            w.motor_speed = dir * (50.0 * diff.abs()).min(3.0);
            let limit = if w.on_road {
                FRICTION_LIMIT
            } else {
                FRICTION_LIMIT * GRASS_FRICTION
            };
            let theta = self.angle + w.joint;
            let (s, c) = theta.sin_cos();
            let forw = [-s, c];
            let side = [c, s];
            let vf = forw[0] * w.vel[0] + forw[1] * w.vel[1];
            let vs = side[0] * w.vel[0] + side[1] * w.vel[1];
            w.omega += dt * ENGINE_POWER * w.gas / WHEEL_MOMENT_OF_INERTIA / (w.omega.abs() + 5.0);
            if w.brake >= 0.9 {
                w.omega = 0.0;
            } else if w.brake > 0.0 {
                let dir = -w.omega.signum() * if w.omega == 0.0 { 0.0 } else { 1.0 };
                let mut val = BRAKE_FORCE * w.brake;
                if val.abs() > w.omega.abs() {
                    val = w.omega.abs();
                }
                w.omega += dir * val;
            }
            w.phase += w.omega * dt;
            let vr = w.omega * WHEEL_R;
            let mut f_force = (vr - vf) * SLIP_GAIN;
            let mut p_force = -vs * SLIP_GAIN;
            let force = f_force.hypot(p_force);
            if force > limit {
                f_force = f_force / force * limit;
                p_force = p_force / force * limit;
            }
            w.omega -= dt * f_force * WHEEL_R / WHEEL_MOMENT_OF_INERTIA;
            let fx = p_force * side[0] + f_force * forw[0];
            let fy = p_force * side[1] + f_force * forw[1];
            w.vel[0] += dt * fx / m_w;
            w.vel[1] += dt * fy / m_w;
        }
    }

    /// Box2D's velocity solve (as a momentum projection), clamps and position update.
    pub fn integrate(&mut self, dt: f64) {
        let (m_h, i_h) = (self.hull.mass, self.hull.inertia);
        let (m_w, i_w) = (self.wheel.mass, self.wheel.inertia);
        let mut r = [[0.0; 2]; 4];
        let mut u = [0.0; 4];
        let mut at_limit = [0i8; 4];
        let (mut sx, mut sy, mut rr) = (0.0, 0.0, 0.0);
        let mut p = [m_h * self.vel[0], m_h * self.vel[1]];
        let mut l = i_h * self.ang_vel;
        let ang_vel = self.ang_vel;
        for w in &mut self.wheels {
            w.solve_joint_spin(ang_vel, 1.0 / i_h + 1.0 / i_w, dt);
        }
        for (i, w) in self.wheels.iter().enumerate() {
            let ri = rot(
                self.angle,
                [
                    WHEEL_POS[i][0] - self.hull.center[0],
                    WHEEL_POS[i][1] - self.hull.center[1],
                ],
            );
            r[i] = ri;
            at_limit[i] = w.limit_state;
            u[i] = w.motor_speed;
            sx += m_w * ri[0];
            sy += m_w * ri[1];
            rr += m_w * (ri[0] * ri[0] + ri[1] * ri[1]);
            p[0] += m_w * w.vel[0];
            p[1] += m_w * w.vel[1];
            l += m_w * (ri[0] * w.vel[1] - ri[1] * w.vel[0]) + i_w * (w.body_spin - u[i]);
        }
        let m = m_h + 4.0 * m_w;
        let j = i_h + rr + 4.0 * i_w;
        let omega = (l + (sy * p[0] - sx * p[1]) / m) / (j - (sx * sx + sy * sy) / m);
        let v = [(p[0] + omega * sy) / m, (p[1] - omega * sx) / m];
        self.vel = clamp_linear(v, dt);
        self.ang_vel = clamp_angular(omega, dt);
        for (i, w) in self.wheels.iter_mut().enumerate() {
            let wv = [v[0] - omega * r[i][1], v[1] + omega * r[i][0]];
            w.vel = clamp_linear(wv, dt);
            w.body_spin = clamp_angular(omega + u[i], dt);
        }
        if self.position_correction {
            self.integrate_positions_box2d(dt, &at_limit);
            return;
        }
        self.com[0] += dt * self.vel[0];
        self.com[1] += dt * self.vel[1];
        self.angle += dt * self.ang_vel;
        for (i, w) in self.wheels.iter_mut().enumerate() {
            w.joint += dt * (w.body_spin - self.ang_vel);
            // Revolute limit position fix (state chosen at step start, slop 2°, ≤ 8° per step).
            if at_limit[i] > 0 {
                let c = (w.joint - STEER_LIMIT - ANGULAR_SLOP).clamp(0.0, MAX_ANGULAR_CORRECTION);
                w.joint -= c;
            } else if at_limit[i] < 0 {
                let c = (w.joint + STEER_LIMIT + ANGULAR_SLOP).clamp(-MAX_ANGULAR_CORRECTION, 0.0);
                w.joint -= c;
            }
        }
    }

    /// Box2D position update: every body integrates its own velocity, then up to 60
    /// Gauss-Seidel passes of the revolute joints' limit and point constraints (island order
    /// j3..j0) until all point errors are ≤ linear slop and limit errors ≤ angular slop.
    fn integrate_positions_box2d(&mut self, dt: f64, at_limit: &[i8; 4]) {
        let mut wheel_angle = [0.0; 4];
        for (a, w) in wheel_angle.iter_mut().zip(&self.wheels) {
            *a = self.angle + w.joint + dt * w.body_spin;
        }
        self.com[0] += dt * self.vel[0];
        self.com[1] += dt * self.vel[1];
        self.angle += dt * self.ang_vel;
        for w in &mut self.wheels {
            w.pos[0] += dt * w.vel[0];
            w.pos[1] += dt * w.vel[1];
        }
        let (m_a, i_a) = (1.0 / self.hull.mass, 1.0 / self.hull.inertia);
        let (m_b, i_b) = (1.0 / self.wheel.mass, 1.0 / self.wheel.inertia);
        for _ in 0..60 {
            let mut ok = true;
            for i in (0..4).rev() {
                let mut angular_error = 0.0;
                let delta = wheel_angle[i] - self.angle;
                let c = if at_limit[i] > 0 {
                    let c = delta - STEER_LIMIT;
                    angular_error = c;
                    (c - ANGULAR_SLOP).clamp(0.0, MAX_ANGULAR_CORRECTION)
                } else if at_limit[i] < 0 {
                    let c = delta + STEER_LIMIT;
                    angular_error = -c;
                    (c + ANGULAR_SLOP).clamp(-MAX_ANGULAR_CORRECTION, 0.0)
                } else {
                    0.0
                };
                if c != 0.0 {
                    let impulse = -c / (i_a + i_b);
                    self.angle -= i_a * impulse;
                    wheel_angle[i] += i_b * impulse;
                }
                let ra = rot(
                    self.angle,
                    [
                        WHEEL_POS[i][0] - self.hull.center[0],
                        WHEEL_POS[i][1] - self.hull.center[1],
                    ],
                );
                let w = &mut self.wheels[i];
                let cx = w.pos[0] - self.com[0] - ra[0];
                let cy = w.pos[1] - self.com[1] - ra[1];
                let err = cx.hypot(cy);
                let k11 = m_a + m_b + i_a * ra[1] * ra[1];
                let k12 = -i_a * ra[0] * ra[1];
                let k22 = m_a + m_b + i_a * ra[0] * ra[0];
                let det = k11 * k22 - k12 * k12;
                let det = if det != 0.0 { 1.0 / det } else { 0.0 };
                // impulse = -K⁻¹ C
                let px = -det * (k22 * cx - k12 * cy);
                let py = -det * (k11 * cy - k12 * cx);
                self.com[0] -= m_a * px;
                self.com[1] -= m_a * py;
                self.angle -= i_a * (ra[0] * py - ra[1] * px);
                w.pos[0] += m_b * px;
                w.pos[1] += m_b * py;
                ok &= err <= LINEAR_SLOP && angular_error <= ANGULAR_SLOP;
            }
            if ok {
                break;
            }
        }
        for (w, a) in self.wheels.iter_mut().zip(wheel_angle) {
            w.joint = a - self.angle;
        }
    }

    /// Forces then integration, with the friction state left as set by the caller.
    pub fn step(&mut self, dt: f64) {
        self.step_forces(dt);
        self.integrate(dt);
    }
}

fn clamp_linear(v: Vec2, dt: f64) -> Vec2 {
    let t = [v[0] * dt, v[1] * dt];
    let d2 = t[0] * t[0] + t[1] * t[1];
    if d2 > MAX_TRANSLATION * MAX_TRANSLATION {
        let s = MAX_TRANSLATION / d2.sqrt();
        [v[0] * s, v[1] * s]
    } else {
        v
    }
}

fn clamp_angular(w: f64, dt: f64) -> f64 {
    let r = w * dt;
    if r * r > MAX_ROTATION * MAX_ROTATION {
        w * (MAX_ROTATION / r.abs())
    } else {
        w
    }
}
