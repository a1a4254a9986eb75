//! Full Hebbian rollouts (env + observation + network + update) through the library's batched
//! `evaluate`, with early stops disabled so every episode runs its whole length; shared by the
//! env benches.

use std::time::Instant;

use hebbian::config::Config;
use hebbian::es::Es;
use hebbian::rollout::{Chunking, evaluate};

/// Throughput of one generation of P random Hebbian ABCD_lr candidates on a task's first
/// variant, `steps` env steps each, then the ES update (timed apart).
pub struct RolloutFigures {
    pub agent_steps_per_second: f64,
    /// Share of the wall time spent in the batched policy (conv + MLP + Hebbian update).
    pub policy_share: f64,
    pub env_share: f64,
    /// Seconds of the ES update that follows (it re-draws every noise row it sums).
    pub tell_seconds: f64,
}

/// The value of `--NAME VALUE` among the bench's arguments.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2)
        .find(|w| w[0] == format!("--{name}"))
        .map(|w| w[1].clone())
}

/// Whether `--NAME` is among the bench's arguments.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == format!("--{name}"))
}

/// This process's peak resident memory so far (Linux `VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Whether `--device` names a GPU backend (the benches then use GPU-sized populations).
pub fn on_gpu() -> bool {
    arg("device").is_some_and(|d| d != "flex" && d != "ndarray")
}

pub fn full_rollout(
    task: &str,
    population: usize,
    steps: usize,
    device: &str,
    precision: &str,
) -> RolloutFigures {
    let text = format!(
        "seed = 1\ngenerations = 1\npopulation = {}\n[task]\nname = \"{task}\"\n[network]\nrule = \"ABCD_lr\"\ncoefficient_precision = \"{precision}\"\n[run]\ndevice = \"{device}\"\n",
        population.max(2).next_multiple_of(2)
    );
    let config = Config::parse(&text, "bench", &[]).expect("bench config");
    let mut task = config.task().expect("task");
    task.variants.truncate(1);
    task.protocol.max_env_steps = steps;
    task.protocol.checks_after = Some(usize::MAX);
    task.protocol.max_negative_streak = None;
    let spec = config.controller_spec(&task);
    let device = hebbian::device_from_name(&config.run.device).expect("device");
    if !hebbian::device::is_cpu(&device) {
        println!("networks on {}", hebbian::device::describe(&device));
    }
    let centre = spec.layout().initial_centre(config.network.distribution, 1);
    let mut es = Es::new(config.es.clone(), config.population, centre, 1, &device).expect("es");
    let candidates = es.ask().truncated(population);
    let start = Instant::now();
    let eval = evaluate(&task, &spec, &candidates, Chunking { chunk: 0 }, 7);
    let wall = start.elapsed().as_secs_f64();
    // The ES update too (timed apart), so that the peak memory printed is a whole generation's.
    let tell = Instant::now();
    if eval.fitness.len() == config.population {
        es.tell(&eval.fitness).expect("tell");
    }
    let tell_seconds = tell.elapsed().as_secs_f64();
    RolloutFigures {
        agent_steps_per_second: eval.env_steps as f64 / wall,
        policy_share: eval.policy_seconds / wall,
        env_share: eval.env_seconds / wall,
        tell_seconds,
    }
}

/// Prints one line per `(P, steps)` case: agent-steps/s in total and per core, the ratio to
/// the reference's per-core rate, the policy/env split and the peak RSS. `--device NAME` runs
/// the networks on that backend (the environments stay on CPU threads); `--population P
/// --steps N` runs that one case instead (e.g. P = 4096 for its peak memory);
/// `--coefficient-precision f32,bf16` runs every case with each storage precision in turn, so
/// their ratio is taken in one run.
pub fn print_rollouts(task: &str, what: &str, reference_per_core: f64, cases: &[(usize, usize)]) {
    let device = arg("device").unwrap_or_else(|| "flex".into());
    let number = |name: &str| {
        arg(name).map(|v| {
            v.parse::<usize>()
                .unwrap_or_else(|_| panic!("--{name} takes a whole number, got `{v}`"))
        })
    };
    let one = number("population").map(|p| [(p, number("steps").unwrap_or(20))]);
    let precisions = arg("coefficient-precision").unwrap_or_else(|| "f32".into());
    for &(p, steps) in one.as_ref().map_or(cases, |c| c.as_slice()) {
        for precision in precisions.split(',') {
            // On a GPU a case's first run compiles and tunes its kernels (for every batch
            // shape the finished agents' compaction makes); the second is what every later
            // generation of a training run costs.
            let passes: &[&str] = if on_gpu() {
                &[", cold: kernels compiled", ", warm"]
            } else {
                &[""]
            };
            for pass in passes {
                print_rollout(
                    task,
                    what,
                    reference_per_core,
                    &device,
                    precision,
                    p,
                    steps,
                    pass,
                );
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn print_rollout(
    task: &str,
    what: &str,
    reference_per_core: f64,
    device: &str,
    precision: &str,
    p: usize,
    steps: usize,
    pass: &str,
) {
    let threads = rayon::current_num_threads() as f64;
    let f = full_rollout(task, p, steps, device, precision);
    let label = if precision == "f32" {
        String::new()
    } else {
        format!(", {precision} coefficients")
    } + pass;
    println!(
        "{task} full Hebbian rollout ({what}, {device}{label}) P={p}, {steps} steps: {:.0} agent-steps/s on \
         {threads} threads ({:.0} per core, {:.1}x the reference's {reference_per_core}); \
         policy {:.0}% / env {:.0}% of wall; ES update {:.2} s; peak RSS so far {}",
        f.agent_steps_per_second,
        f.agent_steps_per_second / threads,
        f.agent_steps_per_second / threads / reference_per_core,
        100.0 * f.policy_share,
        100.0 * f.env_share,
        f.tell_seconds,
        peak_rss_bytes().map_or("unknown".into(), |b| format!("{:.0} MB", b as f64 / 1e6))
    );
}
