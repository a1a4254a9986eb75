//! Calibration of the rapier3d Ant against measurements on pybullet's AntBulletEnv-v0
//! (spec `env-quadruped.md` §5). Reference numbers in the asserts were measured on pybullet.

use hebbian::env::quadruped::{Ant, Morphology, calibration_gait_progress};

mod common {
    pub mod ant_physics;
}
use common::ant_physics::physics;

/// pybullet's initial joint draw for seed 0 (hip1, ankle1, …, hip4, ankle4).
const PYBULLET_SEED0: [f32; 8] = [
    0.0274, -0.0460, -0.0918, -0.0967, 0.0627, 0.0826, 0.0213, 0.0459,
];

fn intact() -> Ant {
    let mut ant = Ant::with_config(&Morphology::builtin("intact").unwrap(), physics());
    ant.reset_with_joints(&PYBULLET_SEED0);
    ant
}

fn ankles(ant: &Ant) -> [f32; 4] {
    let q = ant.joint_state().q;
    [q[1], q[3], q[5], q[7]]
}

#[test]
fn free_fall_timeline_matches_pybullet() {
    let mut ant = intact();
    let expected = [(1, 0.748), (6, 0.700), (11, 0.586), (16, 0.406)];
    let mut all_feet_at = None;
    for t in 1..=40 {
        let s = ant.step(&[0.0; 8]);
        let z = ant.torso_position()[2];
        if let Some((_, ez)) = expected.iter().find(|(et, _)| *et == t) {
            assert!((z - ez).abs() < 0.005, "step {t}: z {z} vs pybullet {ez}");
        }
        if t >= 22 {
            assert!((z - 0.25).abs() < 0.003, "step {t}: resting z {z} vs 0.250");
            assert!(s.done, "step {t}: lying on the belly must be done");
        }
        if t <= 18 {
            // alive 1, electricity 0, joints_at_limit −0.4 (four ankles out of range).
            assert!(
                (0.55..0.66).contains(&s.reward),
                "step {t}: reward {}",
                s.reward
            );
            assert!(!s.done);
        }
        if all_feet_at.is_none() && ant.foot_contacts().iter().all(|f| *f) {
            all_feet_at = Some(t);
        }
    }
    let at = all_feet_at.expect("all four feet touch the floor at rest");
    assert!(
        (20..=28).contains(&at),
        "all feet down at step {at} (pybullet ≈25)"
    );
    // The shins droop until their tips touch: ankles ≈ ±0.29–0.32 rad in pybullet.
    for (k, a) in ankles(&ant).iter().enumerate() {
        assert!((0.26..0.36).contains(&a.abs()), "ankle {k} rests at {a}");
    }
}

#[test]
fn in_air_ankle_torque_and_one_way_stop() {
    // Ankles "down" for 5 steps from reset, hips 0: pybullet ankles → (0.313, −0.432, −0.245, 0.397).
    let mut ant = intact();
    let down = [0.0, 1.0, 0.0, -1.0, 0.0, -1.0, 0.0, 1.0];
    for _ in 0..5 {
        ant.step(&down);
    }
    let got = ankles(&ant);
    let want = [0.313, -0.432, -0.245, 0.397];
    for k in 0..4 {
        assert!(
            (got[k] - want[k]).abs() < 0.02,
            "ankle {k}: {} vs pybullet {}",
            got[k],
            want[k]
        );
    }
    assert!((ant.torso_position()[2] - 0.755).abs() < 0.004);
    // Without the √2 ankle-axis quirk the travel would be ≈0.65–0.74 rad.
    let travel = got[0] - PYBULLET_SEED0[1];
    assert!(travel < 0.45, "ankle-axis quirk missing: travel {travel}");

    // The opposite sign pushes the ankles further out of range: the one-way stop holds them.
    let mut ant = intact();
    let up = down.map(|a| -a);
    for _ in 0..5 {
        ant.step(&up);
    }
    let got = ankles(&ant);
    let start = [
        PYBULLET_SEED0[1],
        PYBULLET_SEED0[3],
        PYBULLET_SEED0[5],
        PYBULLET_SEED0[7],
    ];
    for k in 0..4 {
        assert!(
            (got[k] - start[k]).abs() < 0.01,
            "ankle {k} moved {} → {}",
            start[k],
            got[k]
        );
    }
}

#[test]
fn hips_and_ankles_after_burn_in() {
    // Hips +1 and ankles down after the zero burn-in: pybullet yaw −0.543 after 20 steps, z 0.258.
    let mut ant = intact();
    for _ in 0..40 {
        ant.step(&[0.0; 8]);
    }
    let a = [1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0];
    for _ in 0..20 {
        ant.step(&a);
    }
    let yaw = ant.torso_rpy()[2];
    assert!((yaw + 0.543).abs() < 0.06, "yaw {yaw} vs pybullet −0.543");
    assert!(ant.torso_position()[2] < 0.27);

    // Ankles down alone cannot lift the splayed 182 kg body: nothing moves.
    let mut ant = intact();
    for _ in 0..40 {
        ant.step(&[0.0; 8]);
    }
    let start = ant.torso_position();
    let a = [0.0, 1.0, 0.0, -1.0, 0.0, -1.0, 0.0, 1.0];
    for _ in 0..20 {
        ant.step(&a);
    }
    let p = ant.torso_position();
    assert!(p[2] < 0.26, "z {}", p[2]);
    assert!(
        (p[0] - start[0]).hypot(p[1] - start[1]) < 0.03,
        "moved {p:?}"
    );
}

/// Lying still under zero action must stay lying still: no energy from the joint stops or the
/// ankle pull-back (an earlier position-only stop let the ant ratchet itself up above 0.26).
#[test]
fn resting_ant_stays_down() {
    let mut ant = Ant::with_config(&Morphology::builtin("intact").unwrap(), physics());
    for seed in [0, 3] {
        ant.reset(seed);
        for t in 1..=500 {
            let s = ant.step(&[0.0; 8]);
            if t > 25 {
                assert!(
                    s.done,
                    "seed {seed} step {t}: z {}",
                    ant.torso_position()[2]
                );
                assert!(ant.torso_position()[2] < 0.253);
            }
        }
        for (k, a) in ankles(&ant).iter().enumerate() {
            assert!((0.26..0.36).contains(&a.abs()), "ankle {k} rests at {a}");
        }
        // Known residual: the torso turns slowly on its belly while the feet stay put (the free
        // hips take up the turn; ≈0.3 rad after 500 steps for these seeds, up to 0.47 over
        // inits 0–5). Not a random walk: a steady turn, ≈0.5 mrad per step, mostly from friction
        // being solved in rapier's biased pass (`PhysicsConfig::friction_in_bias_pass`, needed
        // for the gait calibration; with `false` seed 0's hips turn 0.02 rad in 300 steps
        // instead of 0.2; in the Bullet-like stepping 30 solver sweeps do not remove it). pybullet
        // turns the same way, 15× slower (env seed 0: yaw 0.020 → 0.034 from step 50 to 500;
        // seed 3: 0.049 → 0.067).
        let yaw = ant.torso_rpy()[2];
        assert!(yaw.abs() < 0.5, "seed {seed}: resting ant turned {yaw} rad");
        let p = ant.torso_position();
        assert!(p[0].hypot(p[1]) < 0.02, "resting ant slid to {p:?}");
    }
}

fn gait_stats(name: &str, seeds: std::ops::Range<u64>) -> (f32, f32) {
    let m = Morphology::builtin(name).unwrap();
    let mut ant = Ant::with_config(&m, physics());
    let v: Vec<f32> = seeds
        .map(|s| {
            ant.reset(s);
            calibration_gait_progress(&mut ant).expect("no divergence")
        })
        .collect();
    let mean = v.iter().sum::<f32>() / v.len() as f32;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32).sqrt();
    (mean, sd)
}

/// Fast version of the §5 gait check (8 random inits per morphology): ordering intact ≫
/// right-damaged > left-damaged, damaged means in pybullet's regime. Bands: this port's 8-init
/// means (intact 307, right 86, left 3) ± at least 3 standard errors of an 8-init mean (30-init
/// sd 43, 17, 16 → 15, 6, 5.5), each band also containing pybullet's 30-init mean.
#[test]
fn calibration_gait_orders_intact_above_damaged() {
    let (intact, _) = gait_stats("intact", 0..8);
    let (right, _) = gait_stats("right_damaged", 0..8);
    let (left, _) = gait_stats("left_damaged", 0..8);
    eprintln!("gait Σprogress (8 inits): intact {intact:.1}, right {right:.1}, left {left:.1}");
    eprintln!("pybullet (30 inits):       intact 351.8, right 70.3, left 1.3");
    assert!(intact > 240.0, "intact ant barely walks: {intact}");
    assert!(intact > right + 150.0, "intact ≫ right-damaged violated");
    assert!(right > left + 30.0, "right-damaged > left-damaged violated");
    assert!(
        right > 40.0 && right < 105.0,
        "right-damaged far from pybullet's 70: {right}"
    );
    assert!(
        left.abs() < 25.0,
        "left-damaged should make ~no progress: {left}"
    );
}

/// The full §5 criterion: 30 inits each, ordering intact ≫ right > left and means within 25 % of
/// pybullet's. Calibrated: intact 299.6 ± 42.8, right 76.5 ± 17.2, left 4.9 ± 15.5 (90 episodes,
/// ≈10 s in `--release`).
#[test]
fn calibration_gait_full() {
    let (i, isd) = gait_stats("intact", 0..30);
    let (r, rsd) = gait_stats("right_damaged", 0..30);
    let (l, lsd) = gait_stats("left_damaged", 0..30);
    eprintln!("intact {i:.1} ± {isd:.1} (pybullet 351.8 ± 71.3)");
    eprintln!("right  {r:.1} ± {rsd:.1} (pybullet 70.3 ± 21.1)");
    eprintln!("left   {l:.1} ± {lsd:.1} (pybullet 1.3 ± 18.2)");
    assert!(i > r && r > l, "ordering");
    assert!((i - 351.8).abs() < 0.25 * 351.8, "intact mean");
    assert!((r - 70.3).abs() < 0.25 * 70.3, "right mean");
    // 25 % of 1.3 is meaningless: require the same "no progress" regime (within one pybullet sd).
    assert!((l - 1.3).abs() < 18.2, "left mean");
}

/// The seed-0 ant after pybullet's 40-step zero burn-in, lying on its belly.
fn after_burn_in(morphology: &str) -> Ant {
    let mut ant = Ant::with_config(&Morphology::builtin(morphology).unwrap(), physics());
    ant.reset_with_joints(&PYBULLET_SEED0);
    for _ in 0..40 {
        ant.step(&[0.0; 8]);
    }
    ant
}

const HIPS_PLUS: [f32; 8] = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
const HIP_STOP: f32 = 40.0 * std::f32::consts::PI / 180.0;

/// Hips +1: pybullet's ant turns until the hips sit on their +40° stops (yaw −0.432 after 100
/// steps from the seed-0 start), then holds its yaw (a stop solved outside the contact solve
/// made ours spin on to −2.3). Ours: −0.432, then a residual drift of 0.06 rad over 860 steps.
#[test]
fn hips_held_at_their_stops_hold_the_yaw() {
    let mut ant = after_burn_in("intact");
    for _ in 0..100 {
        ant.step(&HIPS_PLUS);
    }
    let yaw_held = ant.torso_rpy()[2];
    let mut drift = 0.0f32;
    for _ in 100..960 {
        ant.step(&HIPS_PLUS);
        drift = drift.max((ant.torso_rpy()[2] - yaw_held).abs());
        for k in 0..4 {
            let hip = ant.joint_state().q[2 * k];
            assert!(
                (hip - HIP_STOP).abs() < 2e-3,
                "hip {k} at {hip}, stop {HIP_STOP}"
            );
        }
    }
    eprintln!("hips +1: yaw {yaw_held:.3} after 100 steps, then drifts {drift:.4}");
    assert!(
        (yaw_held + 0.432).abs() < 0.05,
        "yaw {yaw_held} after 100 steps (pybullet −0.432)"
    );
    assert!(drift < 0.1, "yaw drifts {drift} rad while the hips hold");
}

/// The first hit of a hip stop is inelastic: pybullet's hip speed drops to ≈0.1 rad/s (ours
/// used to bounce back at −7 rad/s and jitter).
#[test]
fn a_hip_stop_hit_does_not_bounce() {
    let mut ant = after_burn_in("intact");
    let mut hit = None;
    for t in 0..200 {
        ant.step(&HIPS_PLUS);
        let js = ant.joint_state();
        if hit.is_none() && js.q[0] > HIP_STOP - 5e-3 {
            hit = Some(t);
        }
        if let Some(h) = hit.filter(|&h| t > h && t <= h + 30) {
            assert!(
                js.qd[0] > -0.5 && js.q[0] > HIP_STOP - 0.02,
                "step {t} ({} after the hit): hip {} at {} rad/s",
                t - h,
                js.q[0],
                js.qd[0]
            );
        }
    }
    assert!(hit.is_some(), "hip 1 never reached its stop");
}

/// Ankles "up" push every ankle further out of its range, into its one-way stop: pybullet holds
/// them where they are and the ant lies still (ours used to leak through the stop and crawl 1.2 m).
#[test]
fn ankles_up_leave_the_ant_still() {
    let mut ant = after_burn_in("intact");
    let start = ant.torso_position();
    let held = ankles(&ant);
    let up = [0.0, -1.0, 0.0, 1.0, 0.0, 1.0, 0.0, -1.0];
    for t in 0..960 {
        ant.step(&up);
        for (k, a) in ankles(&ant).iter().enumerate() {
            assert!(
                (a - held[k]).abs() < 3e-2,
                "step {t}: ankle {k} at {a}, held at {}",
                held[k]
            );
        }
    }
    let p = ant.torso_position();
    let moved = (p[0] - start[0]).hypot(p[1] - start[1]);
    assert!(moved < 0.05, "the ant crawled {moved} m");
}

/// A joint held against a stop does not leak through it: under the hip holds (±1) on all three
/// bodies and "ankles up" on the intact one, each joint pushed into a stop after 40 steps (at its
/// range limit, or out of range and pushed further out: the ankles' one-way stop) moves less
/// than 1e-2 rad further out over the next 920 steps (measured: hips ≤ 5.5e-3, ankles up
/// 2.3e-2 → bound 3e-2 for that case; pybullet: none). Ours used to leak ~0.6 mrad per step
/// ("ankles up" went 0.291 → −0.280 rad). Known gap, not asserted: constant ±1 holds on all
/// ankles still leak 0.5–2 rad on some bodies (see `World::update_stops`).
#[test]
fn joints_held_against_a_stop_barely_leak() {
    let d = std::f32::consts::PI / 180.0;
    let ranges: [[f32; 2]; 8] = [
        [-40.0 * d, 40.0 * d],
        [30.0 * d, 100.0 * d],
        [-40.0 * d, 40.0 * d],
        [-100.0 * d, -30.0 * d],
        [-40.0 * d, 40.0 * d],
        [-100.0 * d, -30.0 * d],
        [-40.0 * d, 40.0 * d],
        [30.0 * d, 100.0 * d],
    ];
    const HIPS_MINUS: [f32; 8] = [-1.0, 0.0, -1.0, 0.0, -1.0, 0.0, -1.0, 0.0];
    const ANKLES_UP: [f32; 8] = [0.0, -1.0, 0.0, 1.0, 0.0, 1.0, 0.0, -1.0];
    let cases = [
        ("intact", HIPS_PLUS, 1e-2),
        ("intact", HIPS_MINUS, 1e-2),
        ("right_damaged", HIPS_PLUS, 1e-2),
        ("right_damaged", HIPS_MINUS, 1e-2),
        ("left_damaged", HIPS_PLUS, 1e-2),
        ("left_damaged", HIPS_MINUS, 1e-2),
        ("intact", ANKLES_UP, 3e-2),
    ];
    let mut checked = 0;
    for (name, hold, bound) in cases {
        {
            let hold = &hold;
            let mut ant = after_burn_in(name);
            for _ in 0..40 {
                ant.step(hold);
            }
            let start = ant.joint_state().q;
            // Joints pushed into a stop: the signed distance past it must not grow.
            let pressed: Vec<usize> = (0..8)
                .filter(|&j| {
                    let [lo, hi] = ranges[j];
                    (hold[j] > 0.0 && start[j] > hi - 0.01)
                        || (hold[j] < 0.0 && start[j] < lo + 0.01)
                })
                .collect();
            let mut worst = 0.0f32;
            for _ in 40..960 {
                ant.step(hold);
                let q = ant.joint_state().q;
                for &j in &pressed {
                    worst = worst.max(hold[j].signum() * (q[j] - start[j]));
                }
            }
            checked += pressed.len();
            assert!(
                worst < bound,
                "{name} hold {hold:?}: a pressed joint leaked {worst} rad past its stop"
            );
        }
    }
    assert!(checked >= 28, "only {checked} pressed joints checked");
}
