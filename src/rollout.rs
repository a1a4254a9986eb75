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
    let mut times = Times::default();

    let mut observation = times.env(|| reset_and_burn_in(envs, protocol, &seeds.envs));
    let mut book = Book::new(p, protocol.burn_in_steps as u64 * p as u64);
    let mut controller = Controller::build(spec, genomes, seeds.init);
    let mut steps = vec![EnvStep::default(); p];
    let mut outputs = vec![0.0f32; p * out_len];
    for t in 0..protocol.policy_steps() {
        hook.before_act(t, &mut controller);
        let widths = [obs_len, out_len];
        times.policy(|| act(&mut controller, observation, widths, &device, &mut outputs));
        hook.map_outputs(t, &mut outputs);
        times.env(|| envs.step(&outputs, &book.active, &mut steps));
        hook.after_step(t, &steps);
        let running = book.record(protocol, t, &steps);
        if running == 0 {
            break;
        }
        if compact && 2 * running <= controller.population() {
            let keep: Vec<usize> = (0..controller.population())
                .filter(|&k| book.active[controller.agents()[k]])
                .collect();
            controller.select_agents(&keep);
        }
        observation = times.env(|| {
            let mut observation = vec![0.0f32; controller.population() * obs_len];
            envs.observe_rows(controller.agents(), &mut observation);
            observation
        });
    }
    book.into_stats(times)
}

/// Wall seconds spent in the batched policy and in the environments.
#[derive(Default)]
struct Times {
    policy: f64,
    env: f64,
}

impl Times {
    fn env<T>(&mut self, f: impl FnOnce() -> T) -> T {
        timed(&mut self.env, f)
    }

    fn policy<T>(&mut self, f: impl FnOnce() -> T) -> T {
        timed(&mut self.policy, f)
    }
}

/// Runs `f`, adding its wall seconds to `total`.
fn timed<T>(total: &mut f64, f: impl FnOnce() -> T) -> T {
    let clock = Instant::now();
    let out = f();
    *total += clock.elapsed().as_secs_f64();
    out
}

/// Resets the envs and runs the protocol's zero-action burn-in. Returns the first network
/// input, which is the reset observation (reference quirk): it is taken before the burn-in
/// steps, whose observations are dropped.
fn reset_and_burn_in<E: Env>(envs: &mut VecEnv<E>, protocol: &Protocol, seeds: &[u64]) -> Vec<f32> {
    let p = envs.len();
    envs.reset(seeds);
    let mut observation = vec![0.0f32; p * envs.observation_len()];
    envs.observe(&mut observation);
    let mut steps = vec![EnvStep::default(); p];
    let all = vec![true; p];
    let zeros = vec![0.0f32; p * envs.output_len()];
    for _ in 0..protocol.burn_in_steps {
        envs.step(&zeros, &all, &mut steps);
    }
    observation
}

/// One batched policy call: the controller's rows act on `observation` and their outputs are
/// written to their genome rows of `outputs` (`[P, A]`; rows of finished agents keep theirs).
fn act(
    controller: &mut Controller,
    observation: Vec<f32>,
    [obs_len, out_len]: [usize; 2],
    device: &Device,
    outputs: &mut [f32],
) {
    let rows = controller.population();
    let input = Tensor::<2>::from_data(TensorData::new(observation, [rows, obs_len]), device);
    let batch = read_host(controller.act(input));
    for (k, &a) in controller.agents().iter().enumerate() {
        outputs[a * out_len..(a + 1) * out_len]
            .copy_from_slice(&batch[k * out_len..(k + 1) * out_len]);
    }
}

/// Per-agent bookkeeping of P episodes: which still run, their scores, which diverged.
struct Book {
    active: Vec<bool>,
    scores: Vec<EpisodeScore>,
    diverged: Vec<bool>,
    env_steps: u64,
}

impl Book {
    fn new(p: usize, env_steps: u64) -> Self {
        Book {
            active: vec![true; p],
            scores: vec![EpisodeScore::default(); p],
            diverged: vec![false; p],
            env_steps,
        }
    }

    /// Scores policy step `t` of every running agent (a diverged simulation or a non-finite
    /// reward ends the agent's episode); returns how many still run.
    fn record(&mut self, protocol: &Protocol, t: usize, steps: &[EnvStep]) -> usize {
        for (a, s) in steps.iter().enumerate() {
            if !self.active[a] {
                continue;
            }
            self.env_steps += 1;
            if s.diverged || !s.reward.is_finite() {
                self.scores[a].steps += 1;
                self.diverged[a] = true;
                self.active[a] = false;
                continue;
            }
            if self.scores[a].record(protocol, t, s.reward, s.done) {
                self.active[a] = false;
            }
        }
        self.active.iter().filter(|&&a| a).count()
    }

    fn into_stats(self, times: Times) -> EpisodeStats {
        EpisodeStats {
            fitness: self
                .scores
                .iter()
                .zip(&self.diverged)
                .map(|(s, &d)| if d { f32::NEG_INFINITY } else { s.total })
                .collect(),
            lengths: self.scores.iter().map(|s| s.steps).collect(),
            env_steps: self.env_steps,
            policy_seconds: times.policy,
            env_seconds: times.env,
        }
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
    /// Agents evaluated together; 0 = automatic (cache-sized on CPU; on a GPU, halves, or
    /// smaller equal pairs where a half would not fit the device's tensor limit).
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
            // Two halves, which [`evaluate_rows`] runs two at a time: one half's environments
            // step on the CPU threads while the device runs the other half's networks. Pairs
            // of equal chunks instead where a half's tensors would pass the device's binding
            // limit (Ant above ≈ 17k candidates, CarRacing above ≈ 2.3k).
            let most = crate::limits::device_tensor_agents(genome_len, synapses);
            // The fewest chunks that fit, rounded up to an even count so they pair up.
            let chunks = population.div_ceil(most).max(2).next_multiple_of(2);
            return population.div_ceil(chunks).max(1);
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

/// Where an evaluation reads its candidates from: a `[P, D]` tensor, or a generation's
/// [`Candidates`](crate::es::Candidates), formed one chunk at a time so that a large population
/// is never held whole.
pub trait CandidateRows: Sync {
    /// P.
    fn count(&self) -> usize;
    /// D.
    fn genome_len(&self) -> usize;
    fn device(&self) -> Device;
    /// Candidates `rows` as `[rows.len(), D]`.
    fn rows(&self, rows: std::ops::Range<usize>) -> Tensor<2>;
}

impl CandidateRows for Tensor<2> {
    fn count(&self) -> usize {
        self.dims()[0]
    }
    fn genome_len(&self) -> usize {
        self.dims()[1]
    }
    fn device(&self) -> Device {
        Tensor::device(self)
    }
    fn rows(&self, rows: std::ops::Range<usize>) -> Tensor<2> {
        self.clone().narrow(0, rows.start, rows.len())
    }
}

impl CandidateRows for crate::es::Candidates {
    fn count(&self) -> usize {
        self.len()
    }
    fn genome_len(&self) -> usize {
        self.dim()
    }
    fn device(&self) -> Device {
        crate::es::Candidates::device(self)
    }
    fn rows(&self, rows: std::ops::Range<usize>) -> Tensor<2> {
        crate::es::Candidates::rows(self, rows)
    }
}

/// One genome evaluated `count` times (a model's rollouts), its rows formed chunk by chunk.
pub struct RepeatedGenome {
    pub genome: Vec<f32>,
    pub count: usize,
    pub device: Device,
}

impl CandidateRows for RepeatedGenome {
    fn count(&self) -> usize {
        self.count
    }
    fn genome_len(&self) -> usize {
        self.genome.len()
    }
    fn device(&self) -> Device {
        self.device.clone()
    }
    fn rows(&self, rows: std::ops::Range<usize>) -> Tensor<2> {
        let n = rows.len();
        let data: Vec<f32> = (0..n).flat_map(|_| self.genome.iter().copied()).collect();
        Tensor::from_data(TensorData::new(data, [n, self.genome.len()]), &self.device)
    }
}

/// The fitness of every candidate, averaged over the task's env variants.
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
    population: &impl CandidateRows,
    chunking: Chunking,
    seed: u64,
) -> Evaluation {
    let p = population.count();
    evaluate_rows(task, spec, population, chunking, seed, 0..p)
}

/// The chunk size [`evaluate`] uses for this population and controller.
pub fn chunk_size(
    spec: &ControllerSpec,
    population: &impl CandidateRows,
    chunking: Chunking,
) -> usize {
    chunking.resolve(
        population.count(),
        population.genome_len(),
        spec.architecture.synapses(),
        &population.device(),
    )
}

/// [`evaluate`] of the candidates `rows` only (the results are theirs, in order). `rows.start`
/// must be a multiple of [`chunk_size`], so that every chunk, and with it every candidate's
/// episode seeds and initial weights, is the one a whole-population evaluation gives: a
/// population split over processes on chunk boundaries evaluates bit for bit as in one. Each
/// chunk's rows are formed once and run on every variant before the next chunk's. On a GPU
/// two chunks run at a time, on two threads, so that the environments of one step on the CPU
/// while the device computes the other's networks (only observations and actions cross); each
/// chunk's results are the same as run alone.
pub fn evaluate_rows(
    task: &Task,
    spec: &ControllerSpec,
    population: &impl CandidateRows,
    chunking: Chunking,
    seed: u64,
    rows: std::ops::Range<usize>,
) -> Evaluation {
    let p = population.count();
    let chunk = chunk_size(spec, population, chunking);
    assert!(
        rows.start.is_multiple_of(chunk) && rows.end <= p,
        "rows {rows:?} must start on a chunk boundary (chunk {chunk}) within {p}"
    );
    let chunks: Vec<std::ops::Range<usize>> = (rows.start..rows.end)
        .step_by(chunk.max(1))
        .map(|start| start..(start + chunk).min(rows.end))
        .collect();
    let run_chunk = |chunk: &std::ops::Range<usize>| {
        evaluate_chunk(task, spec, population, seed, chunk.clone())
    };
    let done: Vec<ChunkResult> = if crate::device::is_cpu(&population.device()) {
        chunks.iter().map(run_chunk).collect()
    } else {
        chunks
            .chunks(2)
            .flat_map(|pair| {
                std::thread::scope(|scope| {
                    let handles: Vec<_> = pair
                        .iter()
                        .map(|c| scope.spawn(move || run_chunk(c)))
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                        .collect::<Vec<_>>()
                })
            })
            .collect()
    };
    let mut per_variant = vec![Vec::with_capacity(rows.len()); task.variants.len()];
    let (mut env_steps, mut policy_seconds, mut env_seconds) = (0, 0.0, 0.0);
    for result in done {
        for (all, part) in per_variant.iter_mut().zip(result.per_variant) {
            all.extend(part);
        }
        env_steps += result.env_steps;
        policy_seconds += result.policy_seconds;
        env_seconds += result.env_seconds;
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

/// What one chunk's episodes gave, per variant.
struct ChunkResult {
    per_variant: Vec<Vec<f32>>,
    env_steps: u64,
    policy_seconds: f64,
    env_seconds: f64,
}

/// The episodes of candidates `rows` (one chunk) on every variant.
fn evaluate_chunk(
    task: &Task,
    spec: &ControllerSpec,
    population: &impl CandidateRows,
    seed: u64,
    rows: std::ops::Range<usize>,
) -> ChunkResult {
    let (p, start, n) = (population.count(), rows.start, rows.len());
    let chunk_rows = population.rows(rows);
    let mut result = ChunkResult {
        per_variant: Vec::with_capacity(task.variants.len()),
        env_steps: 0,
        policy_seconds: 0.0,
        env_seconds: 0.0,
    };
    for (v, variant) in task.variants.iter().enumerate() {
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
        result.env_steps += stats.env_steps;
        result.policy_seconds += stats.policy_seconds;
        result.env_seconds += stats.env_seconds;
        result.per_variant.push(stats.fitness);
    }
    result
}

#[cfg(all(test, feature = "wgpu"))]
mod tests {
    use super::*;
    use crate::architecture::Architecture;

    /// On a GPU the population runs as two halves, or as more equal chunks (an even count, so
    /// they pair up) where a half's tensors would pass the device's binding limit.
    #[cfg(feature = "wgpu")]
    #[test]
    fn gpu_chunks_are_halves_until_a_half_would_not_fit_the_device() {
        let what = "gpu_chunks_are_halves_until_a_half_would_not_fit_the_device";
        let Some(gpu) = crate::device::device_or_skip("wgpu", what) else {
            return;
        };
        let auto = Chunking { chunk: 0 };
        let ant = Architecture::ant().synapses();
        let (ant_genome, car) = (5 * ant, Architecture::car_racing().synapses());
        let car_genome = 5 * car + 1362;
        assert_eq!(crate::limits::device_tensor_agents(ant_genome, ant), 8738);
        assert_eq!(auto.resolve(4096, ant_genome, ant, &gpu), 2048);
        assert_eq!(auto.resolve(16384, ant_genome, ant, &gpu), 8192);
        assert_eq!(auto.resolve(20000, ant_genome, ant, &gpu), 5000);
        assert_eq!(auto.resolve(1024, car_genome, car, &gpu), 512);
        assert_eq!(auto.resolve(4096, car_genome, car, &gpu), 1024);
        for p in [2, 3, 1000, 2345, 9999, 65536] {
            let c = auto.resolve(p, car_genome, car, &gpu);
            let bytes = 4 * c as u64 * car_genome as u64;
            assert!(
                bytes <= crate::limits::MAX_DEVICE_TENSOR_BYTES,
                "P={p}: {c}"
            );
            assert!(p.div_ceil(c) >= 2.min(p), "P={p}: {c}");
        }
        let cpu = crate::device::default_cpu();
        assert_eq!(auto.resolve(20000, ant_genome, ant, &cpu), 51);
    }
}
