//! `cargo bench --bench ant`: Ant env steps per second (anchor: pybullet AntBulletEnv-v0 does
//! 2,130–2,170 steps/s per core on this machine). Prints its figures; no statistics harness.
//! `-- --env-only` skips the full rollouts, `-- --rollouts-only` the env figures; with
//! `PYBULLET_PYTHON=/path/to/venv/bin/python` it also times pybullet (`benches/pybullet_ant.py`)
//! and prints our env's speed as a ratio of it, measured in the same run.

#[path = "common/full_rollout.rs"]
mod full_rollout;

use std::hint::black_box;
use std::time::Instant;

use hebbian::env::quadruped::{Ant, Morphology, PhysicsConfig};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// The allocator `hebbian train` uses, so that the rollout figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EPISODE: usize = 1000;

fn actions(seed: u64) -> Vec<[f32; 8]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..EPISODE)
        .map(|_| std::array::from_fn(|_| rng.random_range(-1.0f32..1.0)))
        .collect()
}

/// CPU time of the calling thread in seconds (Linux `schedstat`), so that the per-core rate is
/// honest on a machine shared with other jobs; `None` elsewhere.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// (wall-clock steps/s, steps per CPU-second) of one env on one thread: `episodes` × 1000
/// random-action steps, resets included.
fn single(morph: &Morphology, cfg: PhysicsConfig, episodes: usize) -> (f64, Option<f64>) {
    let acts = actions(1);
    let mut ant = Ant::with_config(morph, cfg);
    let c0 = thread_cpu_seconds();
    let t0 = Instant::now();
    for e in 0..episodes {
        ant.reset(e as u64);
        for a in &acts {
            black_box(ant.step(a));
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let n = (episodes * EPISODE) as f64;
    let cpu = c0.zip(thread_cpu_seconds()).map(|(a, b)| n / (b - a));
    (n / wall, cpu)
}

/// Total steps/s of `n` envs stepped in lock-step with rayon (one world per env).
fn parallel(morph: &Morphology, cfg: PhysicsConfig, n: usize) -> f64 {
    let acts = actions(2);
    let mut ants: Vec<Ant> = (0..n)
        .map(|i| {
            let mut a = Ant::with_config(morph, cfg);
            a.reset(i as u64);
            a
        })
        .collect();
    let t0 = Instant::now();
    for a in &acts {
        ants.par_iter_mut().for_each(|ant| {
            black_box(ant.step(a));
        });
    }
    (n * EPISODE) as f64 / t0.elapsed().as_secs_f64()
}

/// The reference's full Ant rollout on this machine, steps/s per core.
const REFERENCE_ROLLOUT: f64 = 1_600.0;

fn rollouts() {
    full_rollout::print_rollouts(
        "ant",
        "physics + 28-128-64-8 + update",
        REFERENCE_ROLLOUT,
        if full_rollout::on_gpu() {
            &[(1024, 200), (4096, 100), (16384, 20)]
        } else {
            &[(1, 1000), (64, 500), (512, 200)]
        },
    );
}

/// pybullet's steps per CPU-second from `benches/pybullet_ant.py`, run with the Python named by
/// `PYBULLET_PYTHON` (a venv with pybullet 3.2.6), so the ratio is measured in this run.
fn pybullet_steps_per_cpu_second() -> Option<f64> {
    let python = std::env::var("PYBULLET_PYTHON").ok()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/pybullet_ant.py");
    let out = std::process::Command::new(&python)
        .arg(script)
        .output()
        .map_err(|e| eprintln!("PYBULLET_PYTHON={python}: {e}"))
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("steps per CPU-second"))?;
    println!("  {line}");
    line.split(": ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn main() {
    if !full_rollout::flag("env-only") {
        rollouts();
    }
    if full_rollout::flag("rollouts-only") {
        return;
    }
    let morph = Morphology::builtin("intact").expect("built-in morphology");
    let threads = rayon::current_num_threads();
    let episodes: usize = std::env::var("ANT_BENCH_EPISODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    // Warm-up (page faults, caches).
    single(&morph, PhysicsConfig::default(), 1);
    let configs = [
        (
            "default: 2 × 0.00825 s, 2 substeps, 8 PGS sweeps over stops + contacts",
            PhysicsConfig::default(),
        ),
        (
            "1 PGS sweep (what the 8 sweeps of the stop fix cost; leakier stops)",
            PhysicsConfig {
                pgs_iterations: 1,
                ..PhysicsConfig::default()
            },
        ),
        (
            "PhysicsConfig::bullet_like (not adopted): 4 × 0.004125 s, 1 substep, 5 sweeps, no warm start or relaxation",
            PhysicsConfig::bullet_like(),
        ),
    ];
    println!("Ant env (AntBulletEnv-v0 on rapier3d), random actions, {episodes} × {EPISODE} steps");
    println!(
        "pybullet anchor: 2,130–2,170 env steps/s per core (set PYBULLET_PYTHON to measure it here)"
    );
    let pybullet = pybullet_steps_per_cpu_second();
    for (name, cfg) in configs {
        let (s, cpu) = single(&morph, cfg, episodes);
        let ratio = match (cpu, pybullet) {
            (Some(c), Some(p)) => format!(", {:.2}x pybullet per CPU-second", c / p),
            _ => String::new(),
        };
        let cpu = cpu
            .map(|c| format!(", {c:.0} steps per CPU-second ({:.1} µs){ratio}", 1e6 / c))
            .unwrap_or_default();
        println!(
            "  {name}: 1 thread {s:>8.0} steps/s wall ({:.1} µs/step){cpu}",
            1e6 / s
        );
        let n = 4 * threads;
        let p = parallel(&morph, cfg, n);
        println!(
            "  {name}: {n} envs on {threads} threads {:>8.0} steps/s total, {:.0} per thread",
            p,
            p / threads as f64
        );
    }
}
