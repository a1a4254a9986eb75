//! The paper's analyses (Najarro & Risi 2020) as library functions, each writing a CSV of the raw
//! numbers, a PNG figure and `summary.json` (`hebbian experiment NAME`):
//!
//! | function | paper | what |
//! |---|---|---|
//! | [`freeze()`] | Fig. 3 left | Hebbian updates stop after N steps: return vs N |
//! | [`clamp()`] | Fig. 3 right | every network output forced to a value for a window of steps: reward per step and recovery time |
//! | [`zero()`] | Fig. 4 | a band of each layer's synapses zeroed at one step: reward per step, recovery, weight images |
//! | [`weights()`] | Fig. 1 | each layer's weight matrix as a heat map at chosen steps |
//! | [`pca()`] | Fig. 5 | the weight trajectory on its first three principal components, evolved vs random coefficients |
//! | [`init()`] | §4.1 | returns under other initial-weight distributions |
//! | [`compare()`] | Table 1 | several models over many rollouts, with the paper's "solved" criterion for the Ant |
//! | [`transplant()`] | the unseen-body claim | each body runs until step N, then on the weights each body grew by N, frozen: does the rule adapt to the body? |
//!
//! Every rollout here is seeded exactly as [`crate::rollout::evaluate`] seeds candidate `a` of a
//! population of `rollouts` identical genomes (env seed [`env_seed`], initial weights drawn per
//! chunk with [`init_seed`], the same chunking), so rollout `a` of an experiment is rollout `a` of
//! `hebbian eval --rollouts R --seed S`; an unperturbed experiment reproduces `eval` bit for bit.
//!
//! ```no_run
//! use hebbian::experiment::{FreezeOptions, Report, Subject, freeze};
//! let model = Subject::open("models/cartpole_ABCD_lr.safetensors".as_ref(), None, &[])?;
//! let report = freeze(&model, &FreezeOptions::default())?;
//! println!("{}", report.paragraph());
//! report.write("out/freeze".as_ref())?;
//! # Ok::<(), hebbian::experiment::ExperimentError>(())
//! ```

mod clamp;
mod compare;
mod freeze;
mod init;
mod output;
mod pca;
mod perturb;
mod transplant;
mod weights;
mod zero;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use burn::tensor::{Bool, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::controller::{Controller, ControllerSpec};
use crate::env::{EnvStep, VecEnv};
use crate::eval::LoadedModel;
use crate::files::FileError;
use crate::protocol::Protocol;
use crate::rollout::{
    CandidateRows, Chunking, EpisodeSeeds, EpisodeStats, RepeatedGenome, StepHook, env_seed,
    init_seed, run_episodes_full_batch,
};

pub use clamp::{ClampOptions, ClampReport, clamp};
pub use compare::{CompareOptions, CompareReport, CompareRow, SolvedCriterion, compare};
pub use freeze::{FreezeOptions, FreezePoint, FreezeReport, FreezeVariant, freeze};
pub use init::{InitOptions, InitReport, InitRow, init};
pub use pca::{Pca, PcaOptions, PcaReport, PcaRun, pca, principal_components};
pub use perturb::{PerturbedVariant, RewardSeries};
pub use transplant::{TransplantOptions, TransplantReport, TransplantRow, transplant};
pub use weights::{StepSpec, WeightsOptions, WeightsReport, parse_steps, weights};
pub use zero::{ZeroOptions, ZeroReport, zero};

/// The experiments `hebbian experiment` knows, in the order of the paper's figures.
pub const NAMES: [&str; 8] = [
    "freeze",
    "clamp",
    "zero",
    "weights",
    "pca",
    "init",
    "compare",
    "transplant",
];

/// Why an experiment could not run or write its files.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// An option out of range; names the option.
    #[error("{option}: {message}")]
    BadOption {
        option: &'static str,
        message: String,
    },
    /// The experiment changes or reads plastic weights, which a static model does not have.
    #[error(
        "experiment `{experiment}` needs plastic (Hebbian) weights, but {model} is a \
         static-weight model (rule `static`)"
    )]
    NeedsPlasticity {
        experiment: &'static str,
        model: String,
    },
    /// A model that cannot be opened for this use (unreadable, unknown variant, ...).
    #[error("{path}: {message}")]
    Model { path: PathBuf, message: String },
    #[error(transparent)]
    File(#[from] FileError),
    /// A figure or folder that could not be written.
    #[error("{path}: {message}")]
    Output { path: PathBuf, message: String },
}

pub(crate) fn bad(option: &'static str, message: impl Into<String>) -> ExperimentError {
    ExperimentError::BadOption {
        option,
        message: message.into(),
    }
}

/// A model opened for experiments: the file's config, task (all variants or the chosen ones),
/// controller and genome.
pub struct Subject {
    pub path: PathBuf,
    pub model: LoadedModel,
}

impl Subject {
    /// Opens a model file; `device` overrides its backend, `variants` picks env variants (e.g.
    /// Ant morphologies; empty = all of the task's).
    pub fn open(
        path: &Path,
        device: Option<&str>,
        variants: &[String],
    ) -> Result<Self, ExperimentError> {
        let model = LoadedModel::open(path, device, variants).map_err(|e| {
            // Most load errors already name the file; say it once.
            let message = format!("{e:#}");
            let prefix = format!("{}: ", path.display());
            ExperimentError::Model {
                path: path.to_path_buf(),
                message: message
                    .strip_prefix(&prefix)
                    .unwrap_or(&message)
                    .to_string(),
            }
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            model,
        })
    }

    /// The file name without extension, to label results; a run folder's own files
    /// (`model`, `best`) are labelled by their folder too (`runs/x/model` → `x/model`), since
    /// every run has one.
    pub fn name(&self) -> String {
        let stem = self
            .path
            .file_stem()
            .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
        let run_file = [crate::train::MODEL_FILE, crate::train::BEST_FILE]
            .iter()
            .any(|f| f.strip_suffix(".safetensors") == Some(stem.as_str()));
        match self.path.parent().and_then(|p| p.file_name()) {
            Some(folder) if run_file => format!("{}/{stem}", folder.to_string_lossy()),
            _ => stem,
        }
    }

    /// The rule's name, or `static`.
    pub fn rule(&self) -> String {
        crate::train::rule_name(&self.model.spec)
    }

    pub fn task(&self) -> &str {
        &self.model.task.name
    }

    pub fn variant_names(&self) -> Vec<String> {
        self.model
            .task
            .variants
            .iter()
            .map(|v| v.name.clone())
            .collect()
    }

    /// Whether the model has plastic weights (a Hebbian rule, not the static baseline).
    pub fn is_plastic(&self) -> bool {
        self.model.spec.rule.is_some()
    }

    /// Policy steps of one episode at most (the task's time limit less its burn-in).
    pub fn episode_steps(&self) -> usize {
        self.model.task.protocol.policy_steps()
    }

    /// The default output folder of an experiment: `experiments/NAME` next to the model.
    pub fn default_out(&self, experiment: &str) -> PathBuf {
        self.path
            .parent()
            .unwrap_or(Path::new("."))
            .join("experiments")
            .join(experiment)
    }

    pub(crate) fn require_plastic(&self, experiment: &'static str) -> Result<(), ExperimentError> {
        if self.is_plastic() {
            Ok(())
        } else {
            Err(ExperimentError::NeedsPlasticity {
                experiment,
                model: self.path.display().to_string(),
            })
        }
    }

    /// Rollouts of this model, seeded as `evaluate` seeds them.
    pub(crate) fn plan(&self, rollouts: usize, seed: u64, protocol: Protocol) -> Plan<'_> {
        Plan {
            subject: self,
            spec: self.model.spec.clone(),
            genome: self.model.genome.clone(),
            rollouts,
            seed,
            protocol,
        }
    }
}

/// The protocol the perturbation and weight-trajectory analyses run under: the task's, with
/// the negative-reward early stop (CarRacing's 21 negative steps, the Ant's 31 negative-progress
/// steps) switched off unless `keep_early_stops`, so that an episode is not cut because the
/// perturbation made its rewards negative for a while. The env's own termination (a fall, the
/// pole down, the car off the playfield, the time limit) still ends an episode.
pub fn analysis_protocol(task: &Protocol, keep_early_stops: bool) -> Protocol {
    let mut p = task.clone();
    if !keep_early_stops {
        p.max_negative_streak = None;
    }
    p
}

/// One model's rollouts on one task: which controller and genome, how many, which seeds.
pub(crate) struct Plan<'a> {
    pub subject: &'a Subject,
    pub spec: ControllerSpec,
    pub genome: Vec<f32>,
    pub rollouts: usize,
    pub seed: u64,
    pub protocol: Protocol,
}

/// The per-rollout results of one variant, chunks merged in rollout order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outcome {
    /// Episode return per rollout; `-inf` for a diverged one.
    pub fitness: Vec<f32>,
    /// Policy steps per rollout.
    pub lengths: Vec<usize>,
    /// Per rollout, the reward of each step it ran (when recorded).
    pub rewards: Vec<Vec<f32>>,
    /// Rollout 0's recorded weights.
    pub weights: Vec<Snapshot>,
    /// Per rollout, the largest setback of the cumulative reward below its running maximum
    /// (when tracked).
    pub setbacks: Vec<f32>,
    /// Per layer, every rollout's `[out, in]` weights at [`Probe::capture_at`], row-major,
    /// rollout after rollout.
    pub captured: Vec<Vec<f32>>,
}

impl Plan<'_> {
    /// Agents per chunk, exactly as [`crate::rollout::evaluate`] chooses it.
    fn chunk(&self) -> usize {
        let synapses = self.spec.architecture.synapses();
        Chunking {
            chunk: self.subject.model.config.run.chunk,
        }
        .resolve(
            self.rollouts,
            self.genome.len(),
            synapses,
            &self.subject.model.device,
        )
    }

    /// Progress-bar ticks of one variant's rollouts (policy steps of each chunk).
    pub fn ticks(&self) -> u64 {
        let chunks = self.rollouts.div_ceil(self.chunk().max(1));
        (chunks * self.protocol.policy_steps()) as u64
    }

    /// Runs every rollout on variant `v`; `probe(start, n)` gives the hook of the chunk holding
    /// rollouts `start..start + n`. Weights are recorded only in the first chunk (rollout 0).
    pub fn run(
        &self,
        v: usize,
        progress: &Progress,
        mut probe: impl FnMut(usize, usize) -> Probe,
    ) -> Outcome {
        let task = &self.subject.model.task;
        let device = &self.subject.model.device;
        let p = self.rollouts;
        let chunk = self.chunk();
        let source = RepeatedGenome {
            genome: self.genome.clone(),
            count: p,
            device: device.clone(),
        };
        let variant = &task.variants[v];
        let mut out = Outcome::default();
        let mut start = 0;
        while start < p {
            let n = chunk.min(p - start);
            let genomes = source.rows(start..start + n);
            let mut envs = VecEnv::new((0..n).map(|_| (variant.factory)()).collect());
            let seeds = EpisodeSeeds {
                envs: (start..start + n)
                    .map(|a| env_seed(self.seed, v, p, a))
                    .collect(),
                init: init_seed(self.seed, v, p, start),
            };
            let mut hook = probe(start, n);
            hook.prepare(n);
            let stats: EpisodeStats = {
                let mut ticking = Ticking {
                    inner: &mut hook,
                    bar: &progress.bar,
                    ticked: 0,
                };
                let stats = run_episodes_full_batch(
                    &mut envs,
                    &self.protocol,
                    &self.spec,
                    &genomes,
                    &seeds,
                    &mut ticking,
                );
                let rest = self.protocol.policy_steps() as u64 - ticking.ticked;
                progress.bar.inc(rest);
                stats
            };
            if hook.record_rewards {
                for (mut r, &len) in hook.rewards.drain(..).zip(&stats.lengths) {
                    r.truncate(len);
                    out.rewards.push(r);
                }
            }
            if hook.track_setback {
                out.setbacks.extend(hook.setback.iter().copied());
            }
            if start == 0 {
                out.weights = std::mem::take(&mut hook.snapshots);
            }
            out.captured.resize(hook.captured.len(), Vec::new());
            for (all, chunk) in out.captured.iter_mut().zip(hook.captured.drain(..)) {
                all.extend(chunk);
            }
            out.fitness.extend(stats.fitness);
            out.lengths.extend(stats.lengths);
            start += n;
        }
        out
    }
}

/// Weights of rollout 0 at one step: every layer's `[out, in]` matrix, row-major, layer after
/// layer.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The policy step whose weights these are (before the policy acts at it).
    pub step: usize,
    /// `false` for the copy taken at the zeroing step just before the band is zeroed.
    pub after_perturbation: bool,
    pub weights: Vec<f32>,
}

/// Which steps' weights a [`Probe`] records.
#[derive(Clone, Debug, Default)]
pub(crate) enum WeightSteps {
    #[default]
    None,
    Every,
    At(Vec<usize>),
    /// These steps and the latest one (so the episode's last step is kept without holding
    /// every step).
    AtAndLatest(Vec<usize>),
}

impl WeightSteps {
    fn wants(&self, t: usize) -> bool {
        match self {
            WeightSteps::None => false,
            WeightSteps::Every | WeightSteps::AtAndLatest(_) => true,
            WeightSteps::At(steps) => steps.contains(&t),
        }
    }

    /// Whether a snapshot of step `t` may be dropped once a later one is taken.
    fn transient(&self, t: usize) -> bool {
        matches!(self, WeightSteps::AtAndLatest(steps) if !steps.contains(&t))
    }
}

/// Force every raw network output to `value` on steps `from..to`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClampWindow {
    pub from: usize,
    pub to: usize,
    pub value: f32,
    /// No Hebbian updates during the window.
    pub frozen: bool,
}

/// Zero the synapses `band(out*in)` of each layer (row-major) just before step `at` acts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ZeroBand {
    pub at: usize,
    pub fraction: f64,
}

/// The contiguous, centred band of `n` synapses (row-major `[out, in]`, so a block of whole rows
/// plus parts of the rows at its edges) holding `round(fraction·n)` synapses.
pub fn zero_band(n: usize, fraction: f64) -> std::ops::Range<usize> {
    let k = ((fraction * n as f64).round() as usize).min(n);
    let start = (n - k) / 2;
    start..start + k
}

/// The one hook every experiment uses: optional perturbations and recordings.
#[derive(Default)]
pub(crate) struct Probe {
    /// Stop all Hebbian updates from this step on.
    pub freeze_at: Option<usize>,
    pub clamp: Option<ClampWindow>,
    pub zero: Option<ZeroBand>,
    pub record_rewards: bool,
    rewards: Vec<Vec<f32>>,
    /// Rollout 0's weights, recorded before the policy acts at these steps.
    pub weight_steps: WeightSteps,
    snapshots: Vec<Snapshot>,
    pub track_setback: bool,
    /// Record every agent's weights before the policy acts at this step.
    pub capture_at: Option<usize>,
    captured: Vec<Vec<f32>>,
    /// At this step, before the policy acts, every agent's weights are replaced: per layer, the
    /// chunk's `[n, out, in]`.
    pub implant: Option<(usize, Vec<Vec<f32>>)>,
    cumulative: Vec<f32>,
    peak: Vec<f32>,
    setback: Vec<f32>,
}

impl Probe {
    fn prepare(&mut self, n: usize) {
        self.rewards = vec![Vec::new(); n];
        self.cumulative = vec![0.0; n];
        self.peak = vec![0.0; n];
        self.setback = vec![0.0; n];
    }

    fn snapshot(&mut self, t: usize, controller: &mut Controller, after: bool) {
        let Some(net) = controller.plastic_mut() else {
            return;
        };
        let mut flat = Vec::new();
        for w in net.weights() {
            let [_, o, i] = w.dims();
            let row = w.narrow(0, 0, 1).reshape([o * i]);
            flat.extend(
                row.into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .expect("f32 weights"),
            );
        }
        self.snapshots.push(Snapshot {
            step: t,
            after_perturbation: after,
            weights: flat,
        });
    }
}

/// Every agent's weights, per layer as a flat `[P, out, in]`.
fn all_weights(net: &crate::plastic::PlasticNetwork) -> Vec<Vec<f32>> {
    net.weights()
        .into_iter()
        .map(|w| {
            w.into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .expect("f32 weights")
        })
        .collect()
}

impl StepHook for Probe {
    fn before_act(&mut self, t: usize, controller: &mut Controller) {
        if let Some(net) = controller.plastic_mut() {
            if self.implant.as_ref().is_some_and(|(at, _)| *at == t)
                && let Some((_, implant)) = self.implant.take()
            {
                let device = net.device();
                for (l, (w, new)) in net.weights().into_iter().zip(implant).enumerate() {
                    let dims = w.dims();
                    net.set_weights(
                        l,
                        Tensor::<3>::from_data(TensorData::new(new, dims), &device),
                    );
                }
            }
            if self.capture_at == Some(t) {
                self.captured = all_weights(net);
            }
            if self.freeze_at == Some(t) {
                net.set_plastic(false);
            }
            if let Some(c) = self.clamp.filter(|c| c.frozen && c.from < c.to) {
                if t == c.from {
                    net.set_plastic(false);
                } else if t == c.to {
                    net.set_plastic(true);
                }
            }
        }
        let zero_now = self.zero.filter(|z| z.at == t && z.fraction > 0.0);
        if let Some(z) = zero_now {
            if self.weight_steps.wants(t) {
                self.snapshot(t, controller, false);
            }
            if let Some(net) = controller.plastic_mut() {
                let device = net.device();
                for (l, w) in net.weights().into_iter().enumerate() {
                    let [p, o, i] = w.dims();
                    let band = zero_band(o * i, z.fraction);
                    let mask: Vec<bool> = (0..p * o * i)
                        .map(|k| band.contains(&(k % (o * i))))
                        .collect();
                    let mask =
                        Tensor::<3, Bool>::from_data(TensorData::new(mask, [p, o, i]), &device);
                    net.set_weights(l, w.mask_fill(mask, 0.0));
                }
            }
        }
        if self.weight_steps.wants(t) {
            if let Some(last) = self.snapshots.last()
                && self.weight_steps.transient(last.step)
            {
                self.snapshots.pop();
            }
            self.snapshot(t, controller, true);
        }
    }

    fn map_outputs(&mut self, t: usize, outputs: &mut [f32]) {
        if let Some(c) = self.clamp
            && (c.from..c.to).contains(&t)
        {
            outputs.fill(c.value);
        }
    }

    fn after_step(&mut self, _t: usize, steps: &[EnvStep]) {
        if self.record_rewards {
            for (r, s) in self.rewards.iter_mut().zip(steps) {
                r.push(if s.diverged { f32::NAN } else { s.reward });
            }
        }
        if self.track_setback {
            // Agents whose episode ended get a default step (reward 0): nothing changes.
            for (a, s) in steps.iter().enumerate() {
                if !s.reward.is_finite() {
                    continue;
                }
                self.cumulative[a] += s.reward;
                self.peak[a] = self.peak[a].max(self.cumulative[a]);
                self.setback[a] = self.setback[a].max(self.peak[a] - self.cumulative[a]);
            }
        }
    }
}

/// Ticks the progress bar once per policy step around another hook.
struct Ticking<'a> {
    inner: &'a mut dyn StepHook,
    bar: &'a ProgressBar,
    ticked: u64,
}

impl StepHook for Ticking<'_> {
    fn before_act(&mut self, t: usize, controller: &mut Controller) {
        self.inner.before_act(t, controller);
    }
    fn map_outputs(&mut self, t: usize, outputs: &mut [f32]) {
        self.inner.map_outputs(t, outputs);
    }
    fn after_step(&mut self, t: usize, steps: &[EnvStep]) {
        self.inner.after_step(t, steps);
        self.bar.inc(1);
        self.ticked += 1;
    }
}

/// A progress bar on stderr, drawn only when asked for and stderr is a terminal.
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(show: bool, experiment: &str, total: u64) -> Self {
        let bar = if show && std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(&format!(
                    "{{spinner}} {experiment} [{{bar:30}}] {{percent}}% {{msg}} (eta {{eta}})"
                ))
                .expect("template")
                .progress_chars("=> "),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        Self { bar }
    }

    pub fn message(&self, msg: String) {
        self.bar.set_message(msg);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// How recovery after a perturbation is measured.
///
/// With `r_u` and `r_p` the per-step rewards of the unperturbed and the perturbed episode
/// (same seeds, so the same env and the same initial weights), of lengths `L_u` and `L_p`
/// policy steps, and `m(t)` the mean reward over the `window` steps `t-window+1 ..= t`
/// (defined for `t >= window-1`), the perturbed run has *recovered at step `s`* when, for every
/// `t` in `max(s, window-1) .. L_u`, `|m_p(t) - m_u(t)| <= tolerance·|m_u(t)|`. The recovery
/// time is `s - e` for the smallest such `s >= e`, where `e` is the first step after the
/// perturbation (the clamp window's end, or the zeroing step).
///
/// Episodes that end early: the comparison runs to the end of the unperturbed episode. If the
/// perturbed episode ends before it (`L_p < L_u`), or the unperturbed one ends by `e`, or the
/// condition fails at its last step, there is no recovery (`None`). Rewards after an episode's
/// end are missing, never zeros.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Recovery {
    /// Moving-average window (steps).
    pub window: usize,
    /// Relative tolerance of the perturbed moving average around the unperturbed one.
    pub tolerance: f32,
}

impl Default for Recovery {
    /// The paper's analysis: a 20-step moving average within 10 %.
    fn default() -> Self {
        Self {
            window: 20,
            tolerance: 0.1,
        }
    }
}

impl Recovery {
    /// Steps from `end` (the first step after the perturbation) to recovery, or `None`; see the
    /// type's documentation.
    pub fn time(&self, unperturbed: &[f32], perturbed: &[f32], end: usize) -> Option<usize> {
        let w = self.window.max(1);
        let horizon = unperturbed.len();
        if perturbed.len() < horizon || end >= horizon || horizon < w {
            return None;
        }
        let mu = moving_average(unperturbed, w);
        let mp = moving_average(perturbed, w);
        let first = end.max(w - 1);
        let ok = |t: usize| (mp[t] - mu[t]).abs() <= self.tolerance * mu[t].abs();
        let last_bad = (first..horizon).rev().find(|&t| !ok(t));
        match last_bad {
            None => Some(0),
            Some(t) if t + 1 >= horizon => None,
            Some(t) => Some(t + 1 - end),
        }
    }
}

/// The trailing moving average over `window` steps; `NaN` where fewer than `window` steps (or
/// a non-finite reward) are in the window.
pub fn moving_average(x: &[f32], window: usize) -> Vec<f32> {
    let w = window.max(1);
    let mut out = vec![f32::NAN; x.len()];
    let mut sum = 0.0f64;
    for t in 0..x.len() {
        sum += x[t] as f64;
        if t >= w {
            sum -= x[t - w] as f64;
        }
        if t + 1 >= w {
            // Recompute from the window when a NaN is in it (the running sum stays NaN).
            out[t] = if sum.is_finite() {
                (sum / w as f64) as f32
            } else {
                let s: f64 = x[t + 1 - w..=t].iter().map(|&v| v as f64).sum();
                (s / w as f64) as f32
            };
        }
    }
    out
}

/// What an experiment's report can do: write its files and say what it found.
pub trait Report {
    /// Writes the CSV, PNG(s) and `summary.json` into `dir` (created if missing), each file
    /// atomically; returns the paths written.
    fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError>;
    /// One paragraph for a human.
    fn paragraph(&self) -> String;
}

/// Checks `1 <= rollouts <= MAX_ROLLOUTS` and that the rollouts' genomes and per-step records
/// fit in memory, before anything is allocated.
pub(crate) fn check_rollouts(rollouts: usize, genome_len: usize) -> Result<(), ExperimentError> {
    crate::limits::check_rollout_count(rollouts).map_err(|m| bad("--rollouts", m))?;
    let bytes = rollouts as f64 * (2.0 * genome_len as f64 + 2.0 * 1000.0) * 4.0;
    crate::limits::check_memory(
        &format!("--rollouts {rollouts}"),
        bytes,
        "the rollouts' genomes and per-step records",
    )
    .map_err(|m| bad("--rollouts", m))
}

/// Mean and population standard deviation of the finite values (`NaN` if none).
pub(crate) fn mean_std(x: &[f32]) -> (f32, f32) {
    let (mean, _, _, std, _) = crate::metrics::summarize(x);
    (mean, std)
}

/// Rollout statistics in summaries.
#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    pub mean: f32,
    pub std: f32,
    pub min: f32,
    pub max: f32,
    /// Diverged rollouts, counted as the worst score (as `hebbian eval` does).
    pub diverged: usize,
}

impl Stats {
    pub(crate) fn of(raw: &[f32]) -> Self {
        let v = crate::eval::VariantScore::new("", raw);
        Self {
            mean: v.mean,
            std: v.std,
            min: v.min,
            max: v.max,
            diverged: v.diverged,
        }
    }
}

/// The common header of every `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct ModelInfo {
    pub model: String,
    pub task: String,
    pub rule: String,
    pub generation: u64,
    pub seed: u64,
    pub device: String,
}

impl ModelInfo {
    pub(crate) fn of(s: &Subject, seed: u64) -> Self {
        Self {
            model: s.path.display().to_string(),
            task: s.task().to_string(),
            rule: s.rule(),
            generation: s.model.header.generation,
            seed,
            device: s.model.config.run.device.clone(),
        }
    }
}
