//! Wall time of one ES generation (ask → batched rollouts → tell) per task, and agent-steps/s.
//! `cargo bench --bench generation [-- --quick]`
//!
//! Anchor (anchor-python-baseline.md): the reference needs ~0.24 s CPU per Ant candidate-episode
//! of ~270 env steps, i.e. ~1,100-1,600 env steps/s per core.

use std::time::Instant;

use hebbian::config::Config;
use hebbian::es::{Es, stream_seed};
use hebbian::rollout::{Chunking, evaluate};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Reference Ant: CPU seconds per candidate-episode and env steps per episode.
const REFERENCE_ANT_SECONDS_PER_EPISODE: f64 = 0.24;

fn bench(task: &str, rule: &str, population: usize, generations: u64) {
    let text = format!(
        "seed = 3\ngenerations = {generations}\npopulation = {population}\n[task]\nname = \"{task}\"\n[network]\nrule = \"{rule}\"\n"
    );
    let config = Config::parse(&text, "bench", &[]).expect("bench config");
    let task_def = config.task().unwrap();
    let spec = config.controller_spec(&task_def);
    let layout = spec.layout();
    let device = hebbian::device_from_name(&config.run.device).unwrap();
    let centre = layout.initial_centre(config.network.distribution, 1);
    let mut es = Es::new(config.es.clone(), population, centre, 1, &device).unwrap();
    for g in 0..generations {
        let start = Instant::now();
        let pop = es.ask();
        let eval = evaluate(
            &task_def,
            &spec,
            &pop,
            Chunking { chunk: 0 },
            stream_seed(3, g, 1),
        );
        es.tell(&eval.fitness).unwrap();
        let wall = start.elapsed().as_secs_f64();
        let per_episode = wall / (population * task_def.variants.len()) as f64;
        let steps_per_episode =
            eval.env_steps as f64 / (population * task_def.variants.len()) as f64;
        println!(
            "{task:<10} {rule:<8} P={population:<4} gen {g}: {wall:>7.3} s wall, {:>9.0} agent-steps/s, {steps_per_episode:>6.0} steps/episode, {:>8.5} s per candidate-episode",
            eval.env_steps as f64 / wall,
            per_episode,
        );
        if task == "ant" {
            let reference = REFERENCE_ANT_SECONDS_PER_EPISODE * steps_per_episode / 270.0;
            let threads = rayon::current_num_threads() as f64;
            println!(
                "           reference at this episode length: {reference:.3} CPU-s per candidate-episode -> {:.1}x on {threads} threads, {:.1}x per core",
                reference / per_episode,
                reference / per_episode / threads
            );
        }
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let generations = if quick { 2 } else { 3 };
    bench("cartpole", "ABCD_lr", 64, generations);
    bench("cartpole", "ABCD_lr", 512, generations);
    bench("cartpole", "static", 512, generations);
    bench("car_racing", "ABCD_lr", 64, generations);
    bench("car_racing", "static", 64, generations);
    bench("ant", "ABCD_lr", 64, generations);
    if !quick {
        bench("ant", "ABCD_lr", 500, 2);
    }
}
