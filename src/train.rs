//! The generation loop: ES ask → batched rollouts → tell, with metrics, plot, progress bar and
//! a checkpoint after every generation, so an interrupted run loses at most the generation in
//! progress and `--resume` continues bit for bit.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::cluster::Cluster;
use crate::config::Config;
use crate::controller::ControllerSpec;
use crate::es::Es;
use crate::files::{
    Model, ModelHeader, read_checkpoint, read_checkpoint_assignment, save_checkpoint, save_model,
};
use crate::genome::{GenomeLayout, SegmentKind};
use crate::held_out::HeldOut;
use crate::metrics::{self, GenerationMetrics};
use crate::rollout::{Chunking, chunk_size, evaluate_rows};
use crate::run_lock::RunLock;
use crate::seeds::{Purpose, derive};
use crate::task::Task;

pub const CONFIG_FILE: &str = "config.toml";
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";
pub const MODEL_FILE: &str = "model.safetensors";
/// The centre of the generation with the best population-mean fitness so far.
pub const BEST_FILE: &str = "best.safetensors";
pub const METRICS_FILE: &str = "metrics.jsonl";
pub const PLOT_FILE: &str = "fitness.png";

/// Why a run could not start, continue or save.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The run folder or config says no (a run already there, an edited config, ranks that
    /// disagree, ...): the message says what to do.
    #[error("{0}")]
    Refused(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Task(#[from] crate::task::TaskError),
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
    #[error(transparent)]
    Es(#[from] crate::es::EsError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error(transparent)]
    Lock(#[from] crate::run_lock::LockError),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// How to run (not part of the experiment itself).
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// Show the progress bar.
    pub progress: bool,
    /// Stop after this many generations in this process (for tests of interrupted runs).
    pub stop_after: Option<u64>,
    /// The processes the run is spread over (default: this one alone).
    pub cluster: Option<Arc<Cluster>>,
}

impl TrainOptions {
    fn cluster(&self) -> Arc<Cluster> {
        self.cluster
            .clone()
            .unwrap_or_else(|| Arc::new(Cluster::single()))
    }
}

/// What a run ended with.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    pub run_dir: PathBuf,
    pub history: Vec<GenerationMetrics>,
    pub centre: Vec<f32>,
}

struct Run {
    config: Config,
    task: Task,
    spec: ControllerSpec,
    layout: GenomeLayout,
    es: Es,
    dir: PathBuf,
    history: Vec<GenerationMetrics>,
    /// What the run scores apart from the fitness (rank 0 only).
    held_out: Option<HeldOut>,
    /// Held for the whole run by the process that writes the folder (rank 0): no other process
    /// writes it meanwhile.
    _lock: Option<RunLock>,
    cluster: Arc<Cluster>,
}

/// Starts a new run in `dir` (which must not already hold a run).
pub fn train(
    config: Config,
    dir: &Path,
    options: &TrainOptions,
) -> Result<TrainSummary, TrainError> {
    let cluster = options.cluster();
    cluster
        .check_agreement("config", &config.to_toml())
        .map_err(TrainError::Refused)?;
    // Only rank 0 touches the folder (a failure there makes the MPI launcher end every rank).
    let lock = if cluster.is_root() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let lock = RunLock::acquire(dir)?;
        if dir.join(CHECKPOINT_FILE).exists() || dir.join(CONFIG_FILE).exists() {
            return Err(TrainError::Refused(format!(
                "{} already holds a run; continue it with `hebbian train --resume {}` or choose another --out",
                dir.display(),
                dir.display()
            )));
        }
        Some(lock)
    } else {
        None
    };
    let run = Run::new(config, dir, None, lock, cluster)?;
    if run.cluster.is_root() {
        crate::files::atomic_write(&dir.join(CONFIG_FILE), run.config.to_toml().as_bytes())?;
    }
    run.go(options)
}

/// Continues the run in `dir` from its last checkpoint.
/// A run killed before its first checkpoint (only `config.toml` written) starts from generation 0,
/// dropping any metrics line its unfinished first generation may have left.
pub fn resume(dir: &Path, options: &TrainOptions) -> Result<TrainSummary, TrainError> {
    if !dir.is_dir() {
        return Err(TrainError::Refused(format!(
            "--resume {}: no such run folder",
            dir.display()
        )));
    }
    // Checked before the folder is locked, so a wrong path leaves nothing behind in it.
    if !dir.join(CONFIG_FILE).is_file() {
        return Err(TrainError::Refused(format!(
            "--resume {}: not a run folder (it has no {CONFIG_FILE}; a run folder is what \
             `hebbian train --out DIR` writes)",
            dir.display()
        )));
    }
    let cluster = options.cluster();
    // Every rank reads the folder (it must be visible to all, e.g. on a shared filesystem);
    // rank 0 alone locks and writes it.
    let lock = if cluster.is_root() {
        Some(RunLock::acquire(dir)?)
    } else {
        None
    };
    let config = Config::load(&dir.join(CONFIG_FILE), &[])?;
    let checkpoint = dir.join(CHECKPOINT_FILE);
    let run = if checkpoint.exists() {
        Run::new(config, dir, Some(checkpoint), lock, cluster)?
    } else {
        let metrics = dir.join(METRICS_FILE);
        if cluster.is_root() {
            tracing::warn!(
                "{} has no checkpoint yet: starting it from generation 0",
                dir.display()
            );
            if metrics.exists() {
                std::fs::remove_file(&metrics).map_err(io_error(&metrics))?;
            }
        }
        Run::new(config, dir, None, lock, cluster)?
    };
    run.go(options)
}

/// Whether a resume may change `key`: how long the run goes on, and what it scores apart from
/// the fitness (`[held_out]`), neither of which changes the run.
fn resumable(key: &str) -> bool {
    key == "generations" || key == "held_out" || key.starts_with("held_out.")
}

/// Refuses a resume whose `config.toml` differs from the config the checkpoint was made with
/// in anything but the [`resumable`] keys, naming every changed key with both values.
fn check_unchanged(config: &Config, recorded: &str, dir: &Path) -> Result<(), TrainError> {
    let now = config.to_toml();
    if crate::files::config_hash(&now) == crate::files::config_hash(recorded) {
        return Ok(());
    }
    let flat = |text: &str| -> Result<std::collections::BTreeMap<String, String>, TrainError> {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            TrainError::Refused(format!(
                "{}: the checkpoint's recorded config is not TOML: {e}",
                dir.display()
            ))
        })?;
        let mut out = std::collections::BTreeMap::new();
        flatten("", &toml::Value::Table(table), &mut out);
        Ok(out)
    };
    // The recorded config is re-read with this build's defaults, so keys added since (with
    // their defaults) are not edits.
    let recorded = Config::parse(recorded, "the checkpoint's config", &[])
        .map(|c| c.to_toml())
        .unwrap_or_else(|_| recorded.to_string());
    if recorded == now {
        return Ok(());
    }
    let (before, after) = (flat(&recorded)?, flat(&now)?);
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let changed: Vec<String> = keys
        .into_iter()
        .filter(|k| !resumable(k) && before.get(*k) != after.get(*k))
        .map(|k| {
            let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(unset)".into());
            format!("`{k}` ({} → {})", show(before.get(k)), show(after.get(k)))
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    Err(TrainError::Refused(format!(
        "{}: edited since the last checkpoint: {}. A resume continues the same experiment, so \
         only `generations` and `[held_out]` may change; undo the edit, or start a new run \
         with --config",
        dir.join(CONFIG_FILE).display(),
        changed.join(", ")
    )))
}

fn flatten(
    prefix: &str,
    value: &toml::Value,
    out: &mut std::collections::BTreeMap<String, String>,
) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Tells the ES which parts of the genome are what. The L2 penalty sees what the reference
/// penalises: the Hebbian coefficients (not the co-evolved conv or initial weights), or every
/// weight of the static baseline (enajx/ES penalises its whole parameter vector, conv
/// included); OpenAI-ES decays the co-evolved ranges as the reference does.
fn with_genome_ranges(es: Es, spec: &ControllerSpec, layout: &GenomeLayout) -> Es {
    let ranges = |pred: fn(SegmentKind) -> bool| -> Vec<std::ops::Range<usize>> {
        layout
            .segments()
            .iter()
            .filter(|s| pred(s.kind))
            .map(|s| s.offset..s.offset + s.len())
            .collect()
    };
    let penalised: fn(SegmentKind) -> bool = if spec.rule.is_some() {
        |k| {
            matches!(
                k,
                SegmentKind::Coefficients(_)
                    | SegmentKind::NeuronCoefficients(_)
                    | SegmentKind::MergedCoefficients(_)
            )
        }
    } else {
        |k| matches!(k, SegmentKind::Weights(_) | SegmentKind::Conv)
    };
    es.with_l2_ranges(ranges(penalised))
        .with_coevolved_ranges(if spec.rule.is_some() {
            ranges(|k| matches!(k, SegmentKind::Conv | SegmentKind::InitialWeights(_)))
        } else {
            Vec::new()
        })
}

/// The names under which files record the rule (`static` for the baseline).
pub fn rule_name(spec: &ControllerSpec) -> String {
    spec.rule
        .map_or("static".to_string(), |r| r.name().to_string())
}

impl Run {
    fn new(
        config: Config,
        dir: &Path,
        checkpoint: Option<PathBuf>,
        lock: Option<RunLock>,
        cluster: Arc<Cluster>,
    ) -> Result<Self, TrainError> {
        // Before anything else every rank can fail on: ranks with different configs would
        // evaluate different experiments.
        cluster
            .check_agreement("config", &config.to_toml())
            .map_err(TrainError::Refused)?;
        let task = config.task()?;
        let mut spec = config.controller_spec(&task);
        if let Some(path) = &checkpoint {
            let shapes = spec.architecture.layer_shapes();
            spec.adopt_stored_assignment(read_checkpoint_assignment(path, &shapes)?);
        }
        let layout = spec.layout();
        let device = crate::device::device_from_name(&config.run.device)?;
        let rule = rule_name(&spec);
        let (es, history) = match checkpoint {
            Some(path) => {
                let checkpoint = read_checkpoint(&path, &task.name, &rule, layout.len())?;
                match &checkpoint.config {
                    Some(recorded) => check_unchanged(&config, recorded, dir)?,
                    None => tracing::warn!(
                        "{} predates recorded configs: {CONFIG_FILE} is taken as it is",
                        path.display()
                    ),
                }
                let state = checkpoint.state;
                // Rank 0 keeps the history (metrics, best model, plot); the others need none.
                let history = if cluster.is_root() {
                    metrics::truncate_from(&dir.join(METRICS_FILE), state.generation)?
                } else {
                    Vec::new()
                };
                tracing::info!(generation = state.generation, "resuming {}", dir.display());
                let es = Es::from_state(config.es.clone(), config.population, state, &device)?;
                (es, history)
            }
            None => {
                let centre = layout.initial_centre(
                    config.network.distribution,
                    derive(config.seed, 0, Purpose::InitialCentre),
                );
                let es = Es::new(
                    config.es.clone(),
                    config.population,
                    centre,
                    config.seed,
                    &device,
                )?;
                (es, Vec::new())
            }
        };
        let es = with_genome_ranges(es, &spec, &layout);
        let held_out = if cluster.is_root() {
            HeldOut::for_run(&config, &device)?
        } else {
            None
        };
        Ok(Self {
            config,
            task,
            spec,
            layout,
            es,
            dir: dir.to_path_buf(),
            history,
            held_out,
            _lock: lock,
            cluster,
        })
    }

    fn go(mut self, options: &TrainOptions) -> Result<TrainSummary, TrainError> {
        let total = self.config.generations;
        let bar = if options.progress {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} gen {pos}/{len} [{bar:30}] {msg} (eta {eta})",
                )
                .expect("template")
                .progress_chars("=> "),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        bar.set_position(self.es.generation());
        let mut ran = 0;
        while self.es.generation() < total {
            if options.stop_after.is_some_and(|n| ran >= n) {
                break;
            }
            let m = self.generation()?;
            bar.set_message(format!(
                "best {:.1} mean {:.1} | {:.0} steps/s",
                m.max_fitness, m.mean_fitness, m.agent_steps_per_second
            ));
            bar.inc(1);
            ran += 1;
        }
        bar.finish();
        // A resume of a finished run redraws its plot with this build.
        if ran == 0 && self.cluster.is_root() {
            self.plot();
        }
        Ok(TrainSummary {
            run_dir: self.dir.clone(),
            centre: self.es.centre_host(),
            history: self.history,
        })
    }

    fn generation(&mut self) -> Result<GenerationMetrics, TrainError> {
        let start = Instant::now();
        let generation = self.es.generation();
        let centre = self.es.centre_host();
        let population = self.es.ask();
        let chunking = Chunking {
            chunk: self.config.run.chunk,
        };
        // This process's share of the population, on chunk boundaries (so it evaluates exactly
        // as the whole population would), then every rank's fitness in rank (= row) order.
        let p = population.len();
        let chunk = chunk_size(&self.spec, &population, chunking);
        let chunks = self.cluster.share(p.div_ceil(chunk));
        let rows = (chunks.start * chunk).min(p)..(chunks.end * chunk).min(p);
        let eval = evaluate_rows(
            &self.task,
            &self.spec,
            &population,
            chunking,
            derive(self.config.seed, generation, Purpose::Evaluation),
            rows,
        );
        let fitness = self.cluster.gather_f32(&eval.fitness);
        let env_steps = self.cluster.sum_f64(eval.env_steps as f64) as u64;
        let policy_seconds = self.cluster.sum_f64(eval.policy_seconds);
        let env_seconds = self.cluster.sum_f64(eval.env_seconds);
        let report = self.es.tell(&fitness)?;
        let (mean, max, min, std, non_finite) = metrics::summarize(&fitness);
        let wall = start.elapsed().as_secs_f64();
        let held_out = match &self.held_out {
            Some(h) if h.due(generation, self.config.generations) => h.score(&self.spec, &centre),
            _ => Vec::new(),
        };
        let m = GenerationMetrics {
            generation,
            mean_fitness: mean,
            max_fitness: max,
            min_fitness: min,
            std_fitness: std,
            non_finite,
            learning_rate: self.es.learning_rate(),
            sigma: self.es.sigma(),
            wall_seconds: wall,
            env_steps,
            agent_steps_per_second: env_steps as f64 / wall.max(1e-9),
            policy_seconds,
            env_seconds,
            held_out,
        };
        tracing::debug!(?m, step_norm = report.step_norm, "generation done");
        if self.cluster.is_root() {
            // The centre this generation sampled around is kept when its population did best;
            // it is written before the checkpoint, so a crash in between redoes the generation
            // and rewrites the same file.
            let best_so_far = self
                .history
                .iter()
                .map(|h| h.mean_fitness)
                .filter(|f| f.is_finite())
                .fold(f32::NEG_INFINITY, f32::max);
            if mean.is_finite() && mean > best_so_far {
                self.save_model(&self.dir.join(BEST_FILE), generation, centre)?;
            }
            let metrics_path = self.dir.join(METRICS_FILE);
            metrics::append(&metrics_path, &m).map_err(io_error(&metrics_path))?;
        }
        self.history.push(m.clone());
        // Every rank merges (deterministically, from the same centre), before the checkpoint.
        self.merge_if_due(generation)?;
        if self.cluster.is_root() {
            self.save()?;
        }
        Ok(m)
    }

    /// Evolve & Merge: clusters the rules when the schedule says so, and continues the search
    /// in the merged genome.
    fn merge_if_due(&mut self, generation: u64) -> Result<(), TrainError> {
        let Some(schedule) = self.config.merge() else {
            return Ok(());
        };
        let before = crate::merge::current_rules(&self.spec);
        if !schedule.due(generation, &before) {
            return Ok(());
        }
        let merged = crate::merge::merge(&self.spec, &schedule, &self.es.state());
        self.spec.assignment = Some(merged.assignment);
        self.layout = self.spec.layout();
        let device = crate::device::device_from_name(&self.config.run.device)?;
        let es = Es::from_state(
            self.config.es.clone(),
            self.config.population,
            merged.state,
            &device,
        )?;
        self.es = with_genome_ranges(es, &self.spec, &self.layout);
        tracing::info!(
            generation,
            ?before,
            after = ?crate::merge::current_rules(&self.spec),
            genome = self.layout.len(),
            "rules merged"
        );
        Ok(())
    }

    fn save(&self) -> Result<(), TrainError> {
        let state = self.es.state();
        let rule = rule_name(&self.spec);
        save_checkpoint(
            &self.dir.join(CHECKPOINT_FILE),
            &state,
            &self.task.name,
            &rule,
            &self.config.to_toml(),
            self.spec.assignment.as_deref(),
        )?;
        self.save_model(&self.dir.join(MODEL_FILE), state.generation, state.centre)?;
        self.plot();
        Ok(())
    }

    /// Draws `fitness.png` from the history (a failure only warns: the plot is a view).
    fn plot(&self) {
        let title = format!("{} · {}", self.task.name, rule_name(&self.spec));
        if let Err(e) = metrics::plot(&self.dir.join(PLOT_FILE), &title, &self.history) {
            tracing::warn!("could not draw the fitness plot: {e}");
        }
    }

    /// Writes a centre as a model file; `generation` = ES updates it has had.
    fn save_model(&self, path: &Path, generation: u64, genome: Vec<f32>) -> Result<(), TrainError> {
        let model = Model {
            header: ModelHeader {
                task: self.task.name.clone(),
                rule: rule_name(&self.spec),
                generation,
                config: self.config.to_toml(),
            },
            genome,
        };
        save_model(path, &self.layout, &model, self.spec.assignment.as_deref())?;
        Ok(())
    }
}
