//! gym 0.17 `CarRacing-v0` reimplemented without Box2D or OpenGL (spec `env-car-racing.md`).
//!
//! `reset(seed)` builds gym's track for `env.seed(seed)` (SHA-512 → MT19937 → uniform), spawns
//! the car and performs gym's internal no-action step; `step` applies one action and returns
//! the v0 reward/done (including the 1000-step TimeLimit); `frame` is the 96x96 RGB
//! observation rendered in software. Submodules, one concept each:
//! `seeding` (gym RNG), `track` (generation), `tiles` (sensor quads, kerbs, overlap grid),
//! `car` (force law + Box2D-equivalent solve), `render` (rasteriser, camera, HUD),
//! `glyphs` (score digits), `preprocess` (paper's 84x84 pipeline), `media` (GIF, replay, CSV).
//!
//! Fidelity (checked against recordings of the real gym, `tests/car_racing_gym_reference.rs`):
//! the car uses the spec's momentum projection plus Box2D's joint position correction (incl.
//! gym's spawn quirk) and its warm-started motor/limit impulses (a joint pinned at its limit
//! sticks for a step); tile contacts include Box2D's 0.01 polygon skin; the rasteriser snaps
//! to 1/256 pixel like Mesa. Open-loop replays of gym actions give gym's rewards step for step
//! and frames equal but for ~0.005 % tie pixels. Not reproduced: skid marks (absent from
//! state frames; `render_large` omits them too) and labels below "-092" (never reached).

pub mod car;
pub mod glyphs;
pub mod media;
pub mod network_io;
pub mod preprocess;
pub mod render;
pub mod seeding;
pub mod tiles;
pub mod track;

pub use crate::env::gif::write_gif;
pub use car::Car;
pub use media::{ReplaySummary, read_actions_csv, replay};
pub use preprocess::{OBS_SIZE, preprocess};
pub use seeding::GymRng;
pub use tiles::{Tiles, Vec2, convex_overlap, convex_touch};
pub use track::{PLAYFIELD, Track, TrackPoint};

use car::{HULL_POLYS, WHEEL_HALF, rot};

/// Simulation time step (FPS 50).
pub const DT: f64 = 1.0 / 50.0;
/// Observation side length.
pub const STATE_W: usize = 96;
pub const STATE_H: usize = 96;
/// gym's `max_episode_steps` for CarRacing-v0.
pub const MAX_EPISODE_STEPS: usize = 1000;

/// Bounding radii (hull about its origin, wheel about its centre) for the overlap prefilter.
const HULL_RADIUS: f64 = 2.95;
/// Fixtures touch tiles within both polygons' Box2D skin.
const SKIN: f64 = 2.0 * tiles::POLYGON_RADIUS;
const WHEEL_RADIUS: f64 = 0.65;

/// Result of one `step`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutcome {
    pub reward: f32,
    pub done: bool,
}

/// The environment. Cheap per step (no allocation); `Clone + Send` for vectorised stepping.
#[derive(Clone)]
pub struct CarRacing {
    track: Track,
    tiles: Tiles,
    car: Car,
    reward: f64,
    prev_reward: f64,
    tiles_visited: usize,
    t: f64,
    steps: usize,
    frame: Vec<u8>,
}

impl Default for CarRacing {
    fn default() -> Self {
        Self::new()
    }
}

/// Normalises a raw action like gym's Box + car code would treat it, without NaN poisoning.
///
/// Steer beyond ±1 and brake beyond [0, 1] act exactly like their clamped values in gym
/// (motor speed saturates at 3 rad/s; brake ≥ 0.9 locks, ≤ 0 is off), gas is clipped by gym.
/// NaN (which would corrupt gym's physics) is treated as 0.
pub fn sanitize_action(a: [f32; 3]) -> [f64; 3] {
    let f = |v: f32, lo: f64, hi: f64| {
        if v.is_nan() {
            0.0
        } else {
            (v as f64).clamp(lo, hi)
        }
    };
    [f(a[0], -1.0, 1.0), f(a[1], 0.0, 1.0), f(a[2], 0.0, 1.0)]
}

impl CarRacing {
    /// An environment holding gym seed 0's track; call `reset` before use.
    pub fn new() -> Self {
        let mut env = Self {
            track: Track::default(),
            tiles: Tiles::default(),
            car: Car::new(0.0, 0.0, 0.0),
            reward: 0.0,
            prev_reward: 0.0,
            tiles_visited: 0,
            t: 0.0,
            steps: 0,
            frame: vec![0; STATE_W * STATE_H * 3],
        };
        env.reset(0);
        env
    }

    /// New track from gym seed `seed`, car at `track[0]`, then gym's internal no-action step.
    pub fn reset(&mut self, seed: u64) {
        let mut rng = GymRng::from_gym_seed(seed);
        let track = Track::generate(&mut rng);
        self.reset_with_track(track);
    }

    /// Like `reset` but on a given track (e.g. from an entropy-seeded `GymRng`).
    pub fn reset_with_track(&mut self, track: Track) {
        self.track = track;
        self.tiles.rebuild(&self.track);
        let p0 = self.track.points[0];
        self.car = Car::new(p0.beta, p0.x, p0.y);
        self.reward = 0.0;
        self.prev_reward = 0.0;
        self.tiles_visited = 0;
        self.t = 0.0;
        self.steps = 0;
        self.physics_step();
        self.render_state();
    }

    /// One action step: controls, physics, render, reward (gym `step`), with the TimeLimit.
    pub fn step(&mut self, action: [f32; 3]) -> StepOutcome {
        let [steer, gas, brake] = sanitize_action(action);
        self.car.steer(-steer);
        self.car.gas(gas);
        self.car.brake(brake);
        self.physics_step();
        self.render_state();
        self.steps += 1;
        self.reward -= 0.1;
        let mut step_reward = self.reward - self.prev_reward;
        self.prev_reward = self.reward;
        let mut done = self.tiles_visited == self.tiles.len();
        let p = self.car.position();
        if p[0].abs() > PLAYFIELD
            || p[1].abs() > PLAYFIELD
            || !(p[0].is_finite() && p[1].is_finite())
        {
            done = true;
            step_reward = -100.0;
        }
        if self.steps >= MAX_EPISODE_STEPS {
            done = true;
        }
        StepOutcome {
            reward: step_reward as f32,
            done,
        }
    }

    /// Car forces (friction from last step's overlaps), sensor update at the pre-integration
    /// pose (rewards fire here), then integration: Box2D's order within `world.Step`.
    fn physics_step(&mut self) {
        self.car.step_forces(DT);
        self.update_contacts();
        self.car.integrate(DT);
        self.t += DT;
    }

    fn update_contacts(&mut self) {
        let car = &self.car;
        let origin = car.position();
        let candidates = self.tiles.candidate_range(origin);
        let mut wheel_boxes = [[[0.0; 2]; 4]; 4];
        for (i, b) in wheel_boxes.iter_mut().enumerate() {
            let (c, th) = car.wheel_pose(i);
            let (hx, hy) = (WHEEL_HALF[0], WHEEL_HALF[1]);
            for (d, v) in b
                .iter_mut()
                .zip([[-hx, hy], [hx, hy], [hx, -hy], [-hx, -hy]])
            {
                let r = rot(th, v);
                *d = [c[0] + r[0], c[1] + r[1]];
            }
        }
        let mut hull = [[[0.0; 2]; 8]; 4];
        for (poly, dst) in HULL_POLYS.iter().zip(hull.iter_mut()) {
            for (d, v) in dst.iter_mut().zip(poly.iter()) {
                let r = rot(car.angle, *v);
                *d = [origin[0] + r[0], origin[1] + r[1]];
            }
        }
        let mut on_road = [false; 4];
        let n = self.tiles.len();
        let mut wheel_centres = [[0.0; 2]; 4];
        for (i, c) in wheel_centres.iter_mut().enumerate() {
            *c = car.wheel_pose(i).0;
        }
        for k in candidates {
            let t = self.tiles.candidate_at(k);
            let [bx, by, br] = self.tiles.bounds[t];
            let near =
                |p: Vec2, r: f64| (p[0] - bx).powi(2) + (p[1] - by).powi(2) <= (br + r).powi(2);
            if !near(origin, HULL_RADIUS) {
                continue;
            }
            let quad = self.tiles.quads[t];
            let mut touched = false;
            for (i, b) in wheel_boxes.iter().enumerate() {
                if near(wheel_centres[i], WHEEL_RADIUS) && convex_touch(b, &quad, SKIN) {
                    on_road[i] = true;
                    touched = true;
                    if !self.tiles.visited[t] {
                        self.tiles.visited[t] = true;
                        self.reward += 1000.0 / n as f64;
                        self.tiles_visited += 1;
                    }
                }
            }
            if !touched {
                touched = HULL_POLYS
                    .iter()
                    .zip(hull.iter())
                    .any(|(p, h)| convex_touch(&h[..p.len()], &quad, SKIN));
            }
            if touched {
                self.tiles.grey[t] = tiles::TOUCHED_GREY;
            }
        }
        for (w, r) in self.car.wheels.iter_mut().zip(on_road) {
            w.on_road = r;
        }
    }

    fn render_state(&mut self) {
        let scene = render::Scene {
            tiles: &self.tiles,
            car: &self.car,
            t: self.t,
            reward: self.reward,
        };
        render::render(&scene, &mut self.frame, STATE_W, STATE_H);
    }

    /// The current 96x96x3 RGB observation (HWC, row-major, row 0 at the top).
    pub fn frame(&self) -> &[u8] {
        &self.frame
    }

    /// The same scene at another resolution (gym's rgb_array squeeze; no skid marks).
    pub fn render_large(&self, width: u32, height: u32) -> image::RgbImage {
        let (w, h) = (width as usize, height as usize);
        let mut buf = vec![0u8; w * h * 3];
        let scene = render::Scene {
            tiles: &self.tiles,
            car: &self.car,
            t: self.t,
            reward: self.reward,
        };
        render::render(&scene, &mut buf, w, h);
        image::RgbImage::from_raw(width, height, buf).expect("buffer matches size")
    }

    /// Action steps taken since reset (reset's internal step excluded).
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The car (hull pose/velocities, wheels).
    pub fn car(&self) -> &Car {
        &self.car
    }

    /// Hull body origin (gym `hull.position`).
    pub fn car_position(&self) -> Vec2 {
        self.car.position()
    }

    /// Hull angle (radians).
    pub fn car_angle(&self) -> f64 {
        self.car.angle
    }

    /// Hull centre-of-mass velocity.
    pub fn car_velocity(&self) -> Vec2 {
        self.car.vel
    }

    /// The track's centre-line points (`track[0]` is the spawn).
    pub fn track(&self) -> &[TrackPoint] {
        &self.track.points
    }

    /// Kerb flags per tile.
    pub fn track_borders(&self) -> &[bool] {
        &self.track.border
    }

    /// Road tiles with their sensor state.
    pub fn tiles(&self) -> &Tiles {
        &self.tiles
    }

    /// N, the number of tiles.
    pub fn tile_count(&self) -> usize {
        self.tiles.len()
    }

    /// Tiles visited so far (reset's step included).
    pub fn tiles_visited(&self) -> usize {
        self.tiles_visited
    }

    /// gym's running total `reward` (sum of step rewards, before a -100 replacement).
    pub fn total_reward(&self) -> f64 {
        self.reward
    }

    /// Sim clock (0.02 after reset).
    pub fn time(&self) -> f64 {
        self.t
    }
}
