//! Runs P policies against P environments: one loop over timesteps with batched policy calls,
//! environments stepped in parallel, per-agent done masks.

use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};

use crate::controller::{Controller, ControllerSpec};
use crate::env::{Env, EnvStep, VecEnv};
use crate::protocol::{EpisodeScore, Protocol};
use crate::seeds::{Purpose, derive};
use crate::task::Task;

/// Hooks into an episode, for experiments (freeze after N steps, clamp the actuators, zero
/// weights). `t` is the 0-based policy step.
pub trait StepHook {
    /// Called before the policy acts at step `t`. The controller may hold only the agents still
    /// running ([`Controller::agents`] maps its batch rows to genome rows).
    fn before_act(&mut self, _t: usize, _controller: &mut Controller) {}
    /// May rewrite the raw outputs `[P, A]` before the envs see them.
    fn map_outputs(&mut self, _t: usize, _outputs: &mut [f32]) {}
    /// Called after the envs stepped, with each agent's step.
    fn after_step(&mut self, _t: usize, _steps: &[EnvStep]) {}
}

/// A hook that does nothing.
pub struct NoHook;
impl StepHook for NoHook {}

/// Records every raw output row, e.g. to replay an episode through a renderer afterwards.
#[derive(Default)]
pub struct OutputRecorder {
    /// Per policy step, the raw outputs `[P * A]`.
    pub outputs: Vec<Vec<f32>>,
}

impl StepHook for OutputRecorder {
    fn map_outputs(&mut self, _t: usize, outputs: &mut [f32]) {
        self.outputs.push(outputs.to_vec());
    }
}

/// The outcome of P episodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EpisodeStats {
    /// Sum of rewards per agent; `-inf` for a diverged simulation.
    pub fitness: Vec<f32>,
    /// Policy steps taken per agent (burn-in excluded).
    pub lengths: Vec<usize>,
    /// Env steps of all agents, burn-in included (for throughput figures).
    pub env_steps: u64,
    /// Wall seconds spent in the batched policy (conv + network + Hebbian update, transfers
    /// included) and in stepping and observing the environments, to show where time goes.
    pub policy_seconds: f64,
    pub env_seconds: f64,
}

/// Seeds of one batch of episodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpisodeSeeds {
    pub envs: Vec<u64>,
    pub init: u64,
}

/// Runs one episode for each row of `genomes` in `envs` (already built, one per row).
///
/// Agents whose episode has ended are dropped from the batch once at most half of it still
/// runs, so a generation costs about what its live agents cost; results are the same as with
/// the full batch ([`run_episodes_full_batch`]).
pub fn run_episodes<E: Env>(
    envs: &mut VecEnv<E>,
    protocol: &Protocol,
    spec: &ControllerSpec,
    genomes: &Tensor<2>,
    seeds: &EpisodeSeeds,
    hook: &mut dyn StepHook,
) -> EpisodeStats {
    run(envs, protocol, spec, genomes, seeds, hook, true)
}

/// [`run_episodes`] that keeps every agent in the batch to the end (for checks and for hooks
/// that index the controller by genome row).
pub fn run_episodes_full_batch<E: Env>(
    envs: &mut VecEnv<E>,
    protocol: &Protocol,
    spec: &ControllerSpec,
    genomes: &Tensor<2>,
    seeds: &EpisodeSeeds,
    hook: &mut dyn StepHook,
) -> EpisodeStats {
    run(envs, protocol, spec, genomes, seeds, hook, false)
}

fn run<E: Env>(
    envs: &mut VecEnv<E>,
    protocol: &Protocol,
    spec: &ControllerSpec,
    genomes: &Tensor<2>,
    seeds: &EpisodeSeeds,
    hook: &mut dyn StepHook,
    compact: bool,
) -> EpisodeStats {
    let [p, _] = genomes.dims();
    assert_eq!(envs.len(), p, "one env per genome");
    let device = genomes.device();
    let (obs_len, out_len) = (envs.observation_len(), envs.output_len());

    let env_clock = Instant::now();
    envs.reset(&seeds.envs);
    // The first network input is the reset observation (reference quirk): it is taken before
    // the burn-in steps, whose observations are dropped.
    let mut observation = vec![0.0f32; p * obs_len];
    envs.observe(&mut observation);
    let mut steps = vec![EnvStep::default(); p];
    let mut env_steps = 0u64;
    let all = vec![true; p];
    let zeros = vec![0.0f32; p * out_len];
    for _ in 0..protocol.burn_in_steps {
        envs.step(&zeros, &all, &mut steps);
        env_steps += p as u64;
    }
    let mut env_seconds = env_clock.elapsed().as_secs_f64();
    let mut policy_seconds = 0.0;

    let mut controller = Controller::build(spec, genomes, seeds.init);
    let mut active = vec![true; p];
    let mut scores = vec![EpisodeScore::default(); p];
    let mut diverged = vec![false; p];
    let mut outputs = vec![0.0f32; p * out_len];
    for t in 0..protocol.policy_steps() {
        hook.before_act(t, &mut controller);
        let policy_clock = Instant::now();
        let rows = controller.population();
        let input = Tensor::<2>::from_data(TensorData::new(observation, [rows, obs_len]), &device);
        let batch = read_host(controller.act(input));
        for (k, &a) in controller.agents().iter().enumerate() {
            outputs[a * out_len..(a + 1) * out_len]
                .copy_from_slice(&batch[k * out_len..(k + 1) * out_len]);
        }
        policy_seconds += policy_clock.elapsed().as_secs_f64();
        hook.map_outputs(t, &mut outputs);
        let env_clock = Instant::now();
        envs.step(&outputs, &active, &mut steps);
        env_seconds += env_clock.elapsed().as_secs_f64();
        hook.after_step(t, &steps);
        for a in 0..p {
            if !active[a] {
                continue;
            }
            let s = steps[a];
            env_steps += 1;
            if s.diverged || !s.reward.is_finite() {
                scores[a].steps += 1;
                diverged[a] = true;
                active[a] = false;
                continue;
            }
            if scores[a].record(protocol, t, s.reward, s.done) {
                active[a] = false;
            }
        }
        let running = active.iter().filter(|&&a| a).count();
        if running == 0 {
            break;
        }
        if compact && 2 * running <= controller.population() {
            let keep: Vec<usize> = (0..controller.population())
                .filter(|&k| active[controller.agents()[k]])
                .collect();
            controller.select_agents(&keep);
        }
        let env_clock = Instant::now();
        observation = vec![0.0f32; controller.population() * obs_len];
        envs.observe_rows(controller.agents(), &mut observation);
        env_seconds += env_clock.elapsed().as_secs_f64();
    }
    EpisodeStats {
        fitness: scores
            .iter()
            .zip(&diverged)
            .map(|(s, &d)| if d { f32::NEG_INFINITY } else { s.total })
            .collect(),
        lengths: scores.iter().map(|s| s.steps).collect(),
        env_steps,
        policy_seconds,
        env_seconds,
    }
}

fn read_host(t: Tensor<2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 outputs")
}

/// How a population is split for evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunking {
    /// Agents evaluated together; 0 = automatic (cache-sized on CPU, all on a GPU).
    pub chunk: usize,
}

impl Chunking {
    /// The chunk size for this population, network and device.
    pub fn resolve(
        &self,
        population: usize,
        genome_len: usize,
        synapses: usize,
        device: &Device,
    ) -> usize {
        if self.chunk > 0 {
            return self.chunk.min(population);
        }
        if !crate::device::is_cpu(device) {
            return population;
        }
        // Keep weights + folded coefficients + genome rows around 24 MiB (a typical L3), but
        // batch at least 32 agents: fewer leave the cores idle between the per-step ops
        // (measured on CarRacing: 8 agents per chunk was ~25 % slower than 32 or 64).
        let bytes_per_agent = 4 * (5 * synapses + genome_len);
        (24 * 1024 * 1024 / bytes_per_agent.max(1))
            .max(32)
            .min(population)
    }
}

/// The env seed of candidate `a` (of `p`) on variant `v` in an evaluation seeded with `seed`.
pub fn env_seed(seed: u64, v: usize, p: usize, a: usize) -> u64 {
    derive(seed, (v * p + a) as u64, Purpose::Environment)
}

/// The initial-weight seed of a chunk starting at candidate `start`.
pub fn init_seed(seed: u64, v: usize, p: usize, start: usize) -> u64 {
    derive(seed, (v * p + start) as u64, Purpose::InitialWeights)
}

/// The fitness of every candidate (`[P, D]`), averaged over the task's env variants.
pub struct Evaluation {
    pub fitness: Vec<f32>,
    pub env_steps: u64,
    /// Seconds in the batched policy and in the environments (see [`EpisodeStats`]).
    pub policy_seconds: f64,
    pub env_seconds: f64,
    /// Per variant, per candidate.
    pub per_variant: Vec<Vec<f32>>,
}

/// Evaluates a population on a task: each candidate runs one episode per env variant with seeds
/// derived from `seed`; fitness is the variant mean.
pub fn evaluate(
    task: &Task,
    spec: &ControllerSpec,
    population: &Tensor<2>,
    chunking: Chunking,
    seed: u64,
) -> Evaluation {
    let p = population.dims()[0];
    evaluate_rows(task, spec, population, chunking, seed, 0..p)
}

/// The chunk size [`evaluate`] uses for this population and controller.
pub fn chunk_size(spec: &ControllerSpec, population: &Tensor<2>, chunking: Chunking) -> usize {
    let [p, d] = population.dims();
    chunking.resolve(p, d, spec.architecture.synapses(), &population.device())
}

/// [`evaluate`] of the candidates `rows` only (the results are theirs, in order). `rows.start`
/// must be a multiple of [`chunk_size`], so that every chunk, and with it every candidate's
/// episode seeds and initial weights, is the one a whole-population evaluation gives: a
/// population split over processes on chunk boundaries evaluates bit for bit as in one.
pub fn evaluate_rows(
    task: &Task,
    spec: &ControllerSpec,
    population: &Tensor<2>,
    chunking: Chunking,
    seed: u64,
    rows: std::ops::Range<usize>,
) -> Evaluation {
    let p = population.dims()[0];
    let chunk = chunk_size(spec, population, chunking);
    assert!(
        rows.start.is_multiple_of(chunk) && rows.end <= p,
        "rows {rows:?} must start on a chunk boundary (chunk {chunk}) within {p}"
    );
    let mut per_variant = Vec::with_capacity(task.variants.len());
    let mut env_steps = 0;
    let (mut policy_seconds, mut env_seconds) = (0.0, 0.0);
    for (v, variant) in task.variants.iter().enumerate() {
        let mut fitness = Vec::with_capacity(rows.len());
        let mut start = rows.start;
        while start < rows.end {
            let n = chunk.min(p - start).min(rows.end - start);
            let chunk_rows = population.clone().narrow(0, start, n);
            let mut envs = VecEnv::new((0..n).map(|_| (variant.factory)()).collect());
            let seeds = EpisodeSeeds {
                envs: (start..start + n)
                    .map(|a| env_seed(seed, v, p, a))
                    .collect(),
                init: init_seed(seed, v, p, start),
            };
            let stats = run_episodes(
                &mut envs,
                &task.protocol,
                spec,
                &chunk_rows,
                &seeds,
                &mut NoHook,
            );
            env_steps += stats.env_steps;
            policy_seconds += stats.policy_seconds;
            env_seconds += stats.env_seconds;
            fitness.extend(stats.fitness);
            start += n;
        }
        per_variant.push(fitness);
    }
    let k = per_variant.len() as f32;
    let fitness = (0..rows.len())
        .map(|a| per_variant.iter().map(|f| f[a]).sum::<f32>() / k)
        .collect();
    Evaluation {
        fitness,
        env_steps,
        policy_seconds,
        env_seconds,
        per_variant,
    }
}
