//! `cargo bench --bench car_racing`: single-core CarRacing steps/s with rendering.
//!
//! Plain harness (prints its figures): a scripted driver keeps the car on the road so the
//! renderer sees a typical scene; the episode is reset every 1000 steps.

#[path = "common/full_rollout.rs"]
mod full_rollout;

use hebbian::env::car_racing::{CarRacing, preprocess};
use std::hint::black_box;
use std::time::Instant;

/// The allocator `hebbian train` uses, so that the rollout figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Pure-pursuit driver (spec §9) so the car stays on track like a trained policy.
fn drive(env: &CarRacing, k: &mut usize) -> [f32; 3] {
    let track = env.track();
    let n = track.len();
    let p = env.car_position();
    let mut best = (f64::MAX, *k);
    for d in 0..35 {
        let i = (*k + n + d - 5) % n;
        let q = track[i];
        let dist = (q.x - p[0]).powi(2) + (q.y - p[1]).powi(2);
        if dist < best.0 {
            best = (dist, i);
        }
    }
    *k = best.1;
    let t = track[(*k + 6) % n];
    let desired = (-(t.x - p[0])).atan2(t.y - p[1]);
    let err = (desired - env.car_angle() + std::f64::consts::PI)
        .rem_euclid(2.0 * std::f64::consts::PI)
        - std::f64::consts::PI;
    let v = env.car_velocity();
    let speed = v[0].hypot(v[1]);
    [
        (-2.0 * err).clamp(-1.0, 1.0) as f32,
        if speed < 45.0 { 0.6 } else { 0.0 },
        if speed > 60.0 { 0.5 } else { 0.0 },
    ]
}

/// This thread's on-CPU time (Linux schedstat, ns); lets figures survive a loaded machine.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Runs `f` (which performs `n` operations) `reps` times; returns the best and median
/// ops/s by wall clock and the best by on-CPU time (0 where schedstat is unavailable).
fn rate(reps: usize, n: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    let mut wall = Vec::new();
    let mut cpu: Vec<f64> = Vec::new();
    for _ in 0..reps {
        let c0 = thread_cpu_ns();
        let start = Instant::now();
        f();
        wall.push(n as f64 / start.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (c0, thread_cpu_ns()) {
            cpu.push(n as f64 / ((b - a) as f64 * 1e-9));
        }
    }
    wall.sort_by(f64::total_cmp);
    let cpu_best = cpu.iter().cloned().fold(0.0, f64::max);
    (wall[reps - 1], wall[reps / 2], cpu_best)
}

/// The reference's full CarRacing rollout on this machine (gym 0.21), steps/s per core.
const REFERENCE_ROLLOUT: f64 = 137.0;

fn rollouts() {
    full_rollout::print_rollouts(
        "car_racing",
        "render + 84x84 + conv + 648-128-64-3 + update",
        REFERENCE_ROLLOUT,
        if full_rollout::on_gpu() {
            &[(256, 200), (1024, 100), (4096, 20)]
        } else {
            &[(1, 300), (64, 200), (256, 100)]
        },
    );
}

fn main() {
    rollouts();
    if full_rollout::flag("rollouts-only") {
        return;
    }
    let reps = 5;
    let mut env = CarRacing::new();
    let mut seed = 1000;
    env.reset(seed);
    let mut k = 0;
    let mut resets = 0;
    // Warm-up.
    for _ in 0..500 {
        let a = drive(&env, &mut k);
        black_box(env.step(a));
    }
    env.reset(seed);
    k = 0;
    let total = 20_000;
    let (best, median, cpu) = rate(reps, total, || {
        for _ in 0..total {
            let a = drive(&env, &mut k);
            let o = env.step(a);
            black_box(env.frame());
            if o.done {
                seed += 1;
                env.reset(seed);
                resets += 1;
                k = 0;
            }
        }
    });
    println!(
        "car_racing env step (physics + 96x96 render, scripted driver, resets included), single core: \
         best {best:.0} steps/s ({:.1} us/step), median {median:.0} steps/s over {reps}x{total} steps, {resets} resets; \
         by on-CPU time {cpu:.0} steps/s",
        1e6 / best
    );

    let frame = env.frame().to_vec();
    let mut out = vec![0f32; 3 * 84 * 84];
    let n = 20_000;
    let (best, median, cpu) = rate(reps, n, || {
        for _ in 0..n {
            preprocess(black_box(&frame), &mut out);
            black_box(&out);
        }
    });
    println!(
        "car_racing preprocess 96->84 /255 transposed CHW: best {best:.0} frames/s ({:.1} us), median {median:.0}; \
         by on-CPU time {cpu:.0} frames/s",
        1e6 / best
    );

    let n = 200;
    let (best, median, cpu) = rate(reps, n, || {
        for _ in 0..n {
            black_box(env.render_large(600, 400));
        }
    });
    println!(
        "car_racing render_large 600x400: best {best:.0} frames/s, median {median:.0}; by on-CPU time {cpu:.0}"
    );

    let n = 50;
    let mut s = 2000;
    let (best, median, _) = rate(reps, n, || {
        for _ in 0..n {
            env.reset(s);
            s += 1;
        }
    });
    println!(
        "car_racing reset (track generation + first step): best {:.0} us, median {:.0} us",
        1e6 / best,
        1e6 / median
    );
}
