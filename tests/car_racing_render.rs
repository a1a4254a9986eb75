//! Rendering: golden 96x96 frames (checked by eye once, re-bless with CAR_RACING_BLESS=1),
//! plus invariants of the v0 state image (HUD strip, road colours, centred car, digits).

use hebbian::env::car_racing::glyphs::GLYPHS;
use hebbian::env::car_racing::{CarRacing, STATE_H, STATE_W};
use std::f64::consts::PI;
use std::path::PathBuf;

fn pursuit(env: &CarRacing, k: &mut usize) -> [f32; 3] {
    let track = env.track();
    let n = track.len();
    let p = env.car_position();
    let mut best = (f64::MAX, *k);
    for d in 0..35 {
        let i = (*k + n + d - 5) % n;
        let dist = (track[i].x - p[0]).powi(2) + (track[i].y - p[1]).powi(2);
        if dist < best.0 {
            best = (dist, i);
        }
    }
    *k = best.1;
    let t = track[(*k + 6) % n];
    let err = ((-(t.x - p[0])).atan2(t.y - p[1]) - env.car_angle() + PI).rem_euclid(2.0 * PI) - PI;
    let v = env.car_velocity();
    let speed = v[0].hypot(v[1]);
    [
        (-2.0 * err).clamp(-1.0, 1.0) as f32,
        if speed < 45.0 { 0.6 } else { 0.0 },
        if speed > 60.0 { 0.5 } else { 0.0 },
    ]
}

/// Env on gym seed `seed` after `steps` scripted steps.
fn driven(seed: u64, steps: usize) -> CarRacing {
    let mut env = CarRacing::new();
    env.reset(seed);
    let mut k = 0;
    for _ in 0..steps {
        let a = pursuit(&env, &mut k);
        env.step(a);
    }
    env
}

fn px(frame: &[u8], r: usize, c: usize) -> [u8; 3] {
    let i = (r * STATE_W + c) * 3;
    [frame[i], frame[i + 1], frame[i + 2]]
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/car_racing")
        .join(name)
}

fn golden(name: &str, frame: &[u8]) {
    let path = data(name);
    if std::env::var_os("CAR_RACING_BLESS").is_some() {
        image::RgbImage::from_raw(STATE_W as u32, STATE_H as u32, frame.to_vec())
            .unwrap()
            .save(&path)
            .unwrap();
    }
    let want = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    assert_eq!(want.dimensions(), (STATE_W as u32, STATE_H as u32));
    let differing = want
        .as_raw()
        .chunks(3)
        .zip(frame.chunks(3))
        .filter(|(a, b)| a != b)
        .count();
    // Allow a few edge-tie pixels (libm differences); any real change moves hundreds.
    assert!(differing <= 10, "{name}: {differing} pixels differ");
}

#[test]
fn golden_frames() {
    golden("seed0_reset.png", driven(0, 0).frame());
    golden("seed0_step60.png", driven(0, 60).frame());
    golden("seed1003_step420.png", driven(1003, 420).frame());
}

#[test]
fn hud_strip_is_black_with_bars_and_grey_text_only() {
    for env in [driven(0, 0), driven(0, 100), driven(1001, 300)] {
        let f = env.frame();
        for r in 84..STATE_H {
            for c in 0..STATE_W {
                let p = px(f, r, c);
                let grey = p[0] == p[1] && p[1] == p[2];
                let bar = [[0, 0, 255], [51, 0, 255], [0, 255, 0], [255, 0, 0]].contains(&p);
                assert!(grey || bar, "HUD pixel ({r},{c}) = {p:?}");
            }
        }
        // Nothing of the world leaks into the strip and the strip starts at row 84.
        assert_ne!(px(f, 83, 40), [0, 0, 0]);
        assert_eq!(px(f, 84, 40), [0, 0, 0]);
    }
}

/// Rows/cols whose pixel centre (window coords) lies in [lo, hi) (either order).
fn centres_in(lo: f64, hi: f64, n: usize, win: f64, flip: bool) -> Vec<usize> {
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    (0..n)
        .filter(|&i| {
            let k = if flip { n - 1 - i } else { i };
            let v = (k as f64 + 0.5) * win / n as f64;
            v >= lo && v < hi
        })
        .collect()
}

#[test]
fn wheel_and_steering_bars_follow_state() {
    let mut env = driven(1001, 80);
    for _ in 0..3 {
        env.step([-1.0, 0.3, 0.0]);
    }
    let f = env.frame();
    let car = env.car();
    // Front-left wheel spin: blue bar x in [175, 200), y in [20, 20 + 0.2·ω).
    let rows = centres_in(20.0, 20.0 + 0.2 * car.wheels[0].omega, 96, 800.0, true);
    let cols = centres_in(175.0, 200.0, 96, 1000.0, false);
    assert!(!rows.is_empty());
    for r in 84..96 {
        for &c in &cols {
            assert_eq!(
                px(f, r, c) == [0, 0, 255],
                rows.contains(&r),
                "blue bar ({r},{c})"
            );
        }
    }
    // Steering: green bar y in [40, 80), x from 500 to 500 + 25·(−10·δ0).
    let delta = car.wheels[0].joint;
    assert!(delta > 0.1);
    let cols = centres_in(500.0, 500.0 - 250.0 * delta, 96, 1000.0, false);
    let rows = centres_in(40.0, 80.0, 96, 800.0, true);
    for &r in &rows {
        for c in 30..60 {
            assert_eq!(
                px(f, r, c) == [0, 255, 0],
                cols.contains(&c),
                "steer bar ({r},{c})"
            );
        }
    }
}

#[test]
fn road_and_grass_colours_present_and_car_centred() {
    let mut env = CarRacing::new();
    env.reset(1002);
    let mut k = 0;
    for step in 1..=400 {
        let a = pursuit(&env, &mut k);
        env.step(a);
        if step < 50 || step % 10 != 0 {
            continue;
        }
        let f = env.frame();
        let (mut rmin, mut rmax, mut cmin, mut cmax) = (usize::MAX, 0, usize::MAX, 0);
        let (mut road, mut green) = (0, 0);
        for r in 0..84 {
            for c in 0..STATE_W {
                let p = px(f, r, c);
                if p == [204, 0, 0] {
                    rmin = rmin.min(r);
                    rmax = rmax.max(r);
                    cmin = cmin.min(c);
                    cmax = cmax.max(c);
                }
                if [[102; 3], [105; 3], [107; 3]].contains(&p) {
                    road += 1;
                }
                if p == [102, 204, 102] || p == [102, 230, 102] {
                    green += 1;
                }
            }
        }
        assert!(road > 500, "step {step}: only {road} road pixels");
        assert!(green > 100, "step {step}: only {green} grass pixels");
        assert!(
            (65..=68).contains(&rmin) && (74..=78).contains(&rmax),
            "step {step}: hull rows {rmin}..{rmax}"
        );
        assert!(
            (44..=47).contains(&cmin) && (48..=51).contains(&cmax),
            "step {step}: hull cols {cmin}..{cmax}"
        );
    }
}

#[test]
fn score_label_shows_truncated_total_with_captured_glyphs() {
    for (seed, steps) in [(0u64, 0usize), (0, 150), (1004, 500)] {
        let env = driven(seed, steps);
        let label = format!("{:04}", env.total_reward().trunc() as i64);
        let f = env.frame();
        // Cells 0..2 (cell 3 can be overlapped by the speed bar).
        for (pos, ch) in label.bytes().take(3).enumerate() {
            let g = GLYPHS[pos][(ch - b'0') as usize];
            for (row, cols) in g.iter().enumerate() {
                for (col, &v) in cols.iter().enumerate() {
                    assert_eq!(
                        px(f, 88 + row, 2 + 3 * pos + col),
                        [v; 3],
                        "label {label} cell {pos}"
                    );
                }
            }
        }
    }
}

#[test]
fn tiles_touched_turn_uniform_grey() {
    let env = driven(1000, 200);
    let tiles = env.tiles();
    let touched = tiles.grey.iter().filter(|&&g| g == 102).count();
    let visited = tiles.visited.iter().filter(|&&v| v).count();
    assert_eq!(visited, env.tiles_visited());
    for (i, (&g, &v)) in tiles.grey.iter().zip(&tiles.visited).enumerate() {
        if v {
            assert_eq!(g, 102, "visited tile {i} keeps colour {g}");
        }
    }
    assert!(touched >= visited);
}

#[test]
fn large_render_has_requested_size_and_centred_car() {
    let env = driven(1001, 120);
    let img = env.render_large(600, 400);
    assert_eq!(img.dimensions(), (600, 400));
    let red: Vec<(u32, u32)> = img
        .enumerate_pixels()
        .filter(|(_, _, p)| p.0 == [204, 0, 0])
        .map(|(x, y, _)| (x, y))
        .collect();
    assert!(red.len() > 200);
    let (sx, sy) = red.iter().fold((0, 0), |a, p| (a.0 + p.0, a.1 + p.1));
    let (mx, my) = (sx as f64 / red.len() as f64, sy as f64 / red.len() as f64);
    // Car at window (500·0.6, 400 − 200·0.5) = (300, 300).
    assert!(
        (mx - 300.0).abs() < 6.0 && (my - 300.0).abs() < 12.0,
        "car at ({mx}, {my})"
    );
}

#[test]
fn render_large_at_state_size_reproduces_the_observation() {
    let env = driven(1004, 250);
    assert_eq!(env.render_large(96, 96).as_raw().as_slice(), env.frame());
}
