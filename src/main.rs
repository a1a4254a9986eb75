//! The `hebbian` command line: train, eval, info (and render/replay for the environments).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hebbian::Rule;
use hebbian::config::Config;
use hebbian::render::{PolicySource, RenderOptions, render_episode};
use hebbian::train::{TrainOptions, resume, train};

/// `println!` that never panics: output to a closed pipe (`hebbian info | head -1`) is dropped.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "hebbian",
    version,
    about = "Evolve synapse-specific Hebbian learning rules"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evolve Hebbian coefficients (or static weights). With no arguments: the CartPole quick start.
    Train {
        /// Experiment file (TOML); default: the built-in CartPole quick start.
        #[arg(long, conflicts_with = "resume")]
        config: Option<PathBuf>,
        /// Override a config key, e.g. `--set generations=5 --set es.sigma=0.05`.
        #[arg(long = "set", value_name = "KEY=VALUE", conflicts_with = "resume")]
        overrides: Vec<String>,
        /// Backend: flex, ndarray or wgpu (same as `--set run.device=NAME`).
        #[arg(long, conflicts_with = "resume")]
        device: Option<String>,
        /// Run folder (default: runs/<task>-<rule>-<unix time>).
        #[arg(long, conflicts_with = "resume")]
        out: Option<PathBuf>,
        /// Continue the run in this folder from its last checkpoint.
        #[arg(long, value_name = "DIR")]
        resume: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Evaluate a model file: mean ± std over many rollouts, per environment variant.
    Eval(EvalArgs),
    /// Run one episode of a model (or of a random Hebbian network) and write it as a GIF.
    Render(RenderArgs),
    /// Replay a recorded action sequence (CSV) in an environment and write per-step files.
    Replay {
        /// car_racing (CSV rows `steer,gas,brake`) or ant (8 torques per row).
        #[arg(long)]
        task: String,
        /// The action CSV.
        #[arg(long)]
        actions: PathBuf,
        /// CarRacing: the gym seed of the track (`--gym-seed`). Ant: the reset seed.
        #[arg(long, alias = "gym-seed", default_value_t = 0)]
        seed: u64,
        /// Ant only: `intact`, `right_damaged`, `left_damaged` or an MJCF file.
        #[arg(long, default_value = "intact")]
        morphology: String,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// The paper's analyses of a model (freeze, clamp, zero, weights, pca, init, compare,
    /// transplant): each
    /// writes a CSV, a PNG figure and summary.json, and prints a summary.
    Experiment {
        #[command(subcommand)]
        which: ExperimentCommand,
    },
    /// Print a task network's parameter counts.
    Info {
        /// car_racing, ant or cartpole.
        #[arg(long, default_value = "car_racing")]
        task: String,
        /// Hebbian rule variant.
        #[arg(long, default_value = "ABCD_lr")]
        rule: Rule,
        /// Count the static-weight baseline instead of a Hebbian network.
        #[arg(long = "static")]
        static_weights: bool,
    },
}

/// `hebbian eval`'s arguments.
#[derive(clap::Args)]
struct EvalArgs {
    model: PathBuf,
    #[arg(long, default_value_t = 100)]
    rollouts: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Backend: flex, ndarray or wgpu (default: the one the model was trained with).
    #[arg(long)]
    device: Option<String>,
    /// Environment variants to evaluate (comma-separated; default: all of the task's).
    #[arg(long, value_delimiter = ',')]
    variants: Vec<String>,
    /// Where to write the JSON report (default: next to the model, `eval.json`).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Hold the coefficients in f32, bf16 or f16 during the episodes (default: as trained).
    #[arg(long)]
    coefficient_precision: Option<hebbian::plastic::CoefficientPrecision>,
}

/// `hebbian render`'s arguments.
#[derive(clap::Args)]
struct RenderArgs {
    /// car_racing or ant (default: the model's task).
    #[arg(long, required_unless_present = "model")]
    task: Option<String>,
    /// A model file; without it a random Hebbian ABCD_lr network drives.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Output GIF.
    #[arg(long, default_value = "episode.gif")]
    out: PathBuf,
    /// Env variant, e.g. an Ant morphology (`intact`, `right_damaged`, `left_damaged`, a
    /// `.xml` file); default: the task's first.
    #[arg(long, alias = "morphology")]
    variant: Option<String>,
    /// Evaluation seed (the episode `hebbian eval --seed` gives its first rollout).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value_t = 300)]
    width: u32,
    #[arg(long, default_value_t = 200)]
    height: u32,
    /// Keep every n-th frame.
    #[arg(long, default_value_t = 2)]
    every: usize,
    #[arg(long, default_value_t = 25)]
    fps: u32,
    /// Backend: flex, ndarray or wgpu (default: the one the model was trained with).
    #[arg(long)]
    device: Option<String>,
}

impl RenderArgs {
    fn options(self) -> (Option<String>, Option<PathBuf>, PathBuf, RenderOptions) {
        let options = RenderOptions {
            variant: self.variant,
            seed: self.seed,
            width: self.width,
            height: self.height,
            every: self.every,
            fps: self.fps,
            device: self.device,
        };
        (self.task, self.model, self.out, options)
    }
}

/// `hebbian experiment NAME`: one subcommand per analysis.
#[derive(Subcommand)]
enum ExperimentCommand {
    /// Paper Fig. 3 left: Hebbian updates stop after N steps; return vs N (mean ± std).
    Freeze {
        #[command(flatten)]
        on: OneModel,
        /// The N to try (policy steps; 0 = the random initial weights held fixed). The episode
        /// length (no freeze) is always added.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "0,10,20,30,40,50,60,70,80,90,100,110,120,130,140,150,160,170,180,190,200"
        )]
        steps: Vec<usize>,
        /// Rollouts per N and variant.
        #[arg(long, default_value_t = 20)]
        rollouts: usize,
    },
    /// Paper Fig. 3 right: all network outputs forced to a value for t in [FROM, TO); reward
    /// per step vs unclamped runs (same seeds) and the recovery time.
    Clamp {
        #[command(flatten)]
        on: OneModel,
        #[arg(long, default_value_t = 300)]
        from: usize,
        #[arg(long, default_value_t = 400)]
        to: usize,
        /// The value of every raw network output during the clamp.
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
        value: f32,
        /// No Hebbian updates during the clamp.
        #[arg(long)]
        frozen_during_clamp: bool,
        #[arg(long, default_value_t = 10)]
        rollouts: usize,
        #[command(flatten)]
        analysis: Analysis,
    },
    /// Paper Fig. 4: a band of each layer's synapses zeroed at step AT; reward per step vs
    /// unperturbed runs, recovery time, and weight images at AT, AT+1, AT+10.
    Zero {
        #[command(flatten)]
        on: OneModel,
        /// The step (default: 500, or the middle of shorter episodes).
        #[arg(long)]
        at: Option<usize>,
        /// Share of each layer's synapses zeroed, in [0, 1) (0 changes nothing).
        #[arg(long, default_value_t = 1.0 / 3.0)]
        fraction: f64,
        #[arg(long, default_value_t = 10)]
        rollouts: usize,
        #[command(flatten)]
        analysis: Analysis,
    },
    /// Paper Fig. 1: each layer's weights as heat maps at chosen steps of one episode.
    Weights {
        #[command(flatten)]
        on: OneModel,
        /// Steps to show: numbers or `end`.
        #[arg(long, value_delimiter = ',', default_value = "0,10,50,100,end")]
        at: Vec<hebbian::experiment::StepSpec>,
        /// Keep the protocol's negative-reward early stop (off by default).
        #[arg(long)]
        keep_early_stops: bool,
    },
    /// Paper Fig. 5: the weight trajectory of one episode on its first 3 principal components,
    /// evolved vs random coefficients.
    Pca {
        #[command(flatten)]
        on: OneModel,
        /// Skip the random-coefficient comparison.
        #[arg(long)]
        no_random: bool,
        /// Keep the protocol's negative-reward early stop (off by default).
        #[arg(long)]
        keep_early_stops: bool,
    },
    /// Paper §4.1: returns under other initial-weight distributions (table + bar chart).
    Init {
        #[command(flatten)]
        on: OneModel,
        /// Distributions, e.g. `uni,normal:0.1,zeros` (default: every named one but coevolve,
        /// and normal:0.1).
        #[arg(long, value_delimiter = ',')]
        inits: Vec<hebbian::plastic::WeightInit>,
        #[arg(long, default_value_t = 20)]
        rollouts: usize,
    },
    /// Does the rule adapt to the body? Weights grown for N steps on each body (variant), frozen,
    /// drive every body from the start, next to each body's own plastic episodes.
    Transplant {
        #[command(flatten)]
        on: OneModel,
        /// N: Hebbian steps the source episodes grow their weights for.
        #[arg(long, default_value_t = 200)]
        at: usize,
        /// Rollouts per (source, body) pair.
        #[arg(long, default_value_t = 20)]
        rollouts: usize,
    },
    /// Paper Table 1: several models over many rollouts per variant, with the Ant's "solved".
    Compare {
        /// A model file; repeat for several (all for one task).
        #[arg(long = "model", required = true)]
        models: Vec<PathBuf>,
        #[command(flatten)]
        common: ExperimentCommon,
        #[arg(long, default_value_t = 100)]
        rollouts: usize,
        /// Ant: Σ progress a solved rollout reaches (paper: 100 units ≈ 1.7 m).
        #[arg(long, default_value_t = 100.0)]
        solved_distance: f32,
        /// Ant: the largest drop of Σ progress below its running maximum a solved rollout may
        /// have (units).
        #[arg(long, default_value_t = 10.0)]
        max_setback: f32,
    },
}

/// The model of a one-model experiment and the common options.
#[derive(clap::Args)]
struct OneModel {
    /// The model file.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    common: ExperimentCommon,
}

#[derive(clap::Args)]
struct ExperimentCommon {
    /// Output folder (default: `experiments/NAME` next to the model).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Evaluation seed: rollout a is rollout a of `hebbian eval --seed`.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Backend: flex, ndarray or wgpu (default: the one the model was trained with).
    #[arg(long)]
    device: Option<String>,
    /// An env variant, e.g. an Ant morphology; repeat for several (default: all).
    #[arg(long = "variant")]
    variants: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Options of the perturbation analyses.
#[derive(clap::Args)]
struct Analysis {
    /// Keep the protocol's negative-reward early stop (off by default, so a perturbation that
    /// makes rewards negative for a while does not end the episode).
    #[arg(long)]
    keep_early_stops: bool,
    /// Recovery: moving-average window (steps).
    #[arg(long, default_value_t = 20)]
    window: usize,
    /// Recovery: relative tolerance around the unperturbed moving average.
    #[arg(long, default_value_t = 0.1)]
    tolerance: f32,
}

impl Analysis {
    fn recovery(&self) -> hebbian::experiment::Recovery {
        hebbian::experiment::Recovery {
            window: self.window,
            tolerance: self.tolerance,
        }
    }
}

fn run_experiment(which: ExperimentCommand) -> anyhow::Result<()> {
    use hebbian::experiment::{self as ex, Report, Subject};
    let open =
        |on: &OneModel| Subject::open(&on.model, on.common.device.as_deref(), &on.common.variants);
    let place = |on: &OneModel, subject: &Subject, name: &str| {
        on.common
            .out
            .clone()
            .unwrap_or_else(|| subject.default_out(name))
    };
    let (report, out): (Box<dyn Report>, PathBuf) = match which {
        ExperimentCommand::Freeze {
            on,
            steps,
            rollouts,
        } => {
            let s = open(&on)?;
            let options = ex::FreezeOptions {
                steps,
                rollouts,
                seed: on.common.seed,
                progress: !on.common.quiet,
            };
            (
                Box::new(ex::freeze(&s, &options)?),
                place(&on, &s, "freeze"),
            )
        }
        ExperimentCommand::Clamp {
            on,
            from,
            to,
            value,
            frozen_during_clamp,
            rollouts,
            analysis,
        } => {
            let s = open(&on)?;
            let options = ex::ClampOptions {
                from,
                to,
                value,
                frozen_during_clamp,
                rollouts,
                seed: on.common.seed,
                keep_early_stops: analysis.keep_early_stops,
                recovery: analysis.recovery(),
                progress: !on.common.quiet,
            };
            (Box::new(ex::clamp(&s, &options)?), place(&on, &s, "clamp"))
        }
        ExperimentCommand::Zero {
            on,
            at,
            fraction,
            rollouts,
            analysis,
        } => {
            let s = open(&on)?;
            let options = ex::ZeroOptions {
                at,
                fraction,
                rollouts,
                seed: on.common.seed,
                keep_early_stops: analysis.keep_early_stops,
                recovery: analysis.recovery(),
                progress: !on.common.quiet,
            };
            (Box::new(ex::zero(&s, &options)?), place(&on, &s, "zero"))
        }
        ExperimentCommand::Weights {
            on,
            at,
            keep_early_stops,
        } => {
            let s = open(&on)?;
            let options = ex::WeightsOptions {
                at,
                seed: on.common.seed,
                keep_early_stops,
                progress: !on.common.quiet,
            };
            (
                Box::new(ex::weights(&s, &options)?),
                place(&on, &s, "weights"),
            )
        }
        ExperimentCommand::Pca {
            on,
            no_random,
            keep_early_stops,
        } => {
            let s = open(&on)?;
            let options = ex::PcaOptions {
                seed: on.common.seed,
                random: !no_random,
                keep_early_stops,
                progress: !on.common.quiet,
            };
            (Box::new(ex::pca(&s, &options)?), place(&on, &s, "pca"))
        }
        ExperimentCommand::Init {
            on,
            inits,
            rollouts,
        } => {
            let s = open(&on)?;
            let mut options = ex::InitOptions {
                rollouts,
                seed: on.common.seed,
                progress: !on.common.quiet,
                ..ex::InitOptions::default()
            };
            if !inits.is_empty() {
                options.inits = inits;
            }
            (Box::new(ex::init(&s, &options)?), place(&on, &s, "init"))
        }
        ExperimentCommand::Transplant { on, at, rollouts } => {
            let s = open(&on)?;
            let options = ex::TransplantOptions {
                at,
                rollouts,
                seed: on.common.seed,
                progress: !on.common.quiet,
            };
            (
                Box::new(ex::transplant(&s, &options)?),
                place(&on, &s, "transplant"),
            )
        }
        ExperimentCommand::Compare {
            models,
            common,
            rollouts,
            solved_distance,
            max_setback,
        } => {
            let subjects = models
                .iter()
                .map(|m| Subject::open(m, common.device.as_deref(), &common.variants))
                .collect::<Result<Vec<_>, _>>()?;
            let options = ex::CompareOptions {
                rollouts,
                seed: common.seed,
                solved: ex::SolvedCriterion {
                    distance: solved_distance,
                    max_setback,
                },
                progress: !common.quiet,
            };
            let out = common
                .out
                .clone()
                .unwrap_or_else(|| subjects[0].default_out("compare"));
            (Box::new(ex::compare(&subjects, &options)?), out)
        }
    };
    let files = report.write(&out)?;
    // Written, not println!: a closed pipe (`| head`) is an error, not a panic.
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", report.paragraph())?;
    for f in files {
        writeln!(stdout, "  wrote {}", f.display())?;
    }
    Ok(())
}

fn info(task: &str, rule: Rule, static_weights: bool) -> anyhow::Result<()> {
    // The task registry (the same one configs and replays use) knows each task's network.
    let arch = hebbian::task::Task::for_evaluation(task, &[])?.architecture;
    let rule = (!static_weights).then_some(rule);
    let c = arch.counts(rule);
    let kind = rule.map_or("static weights".to_string(), |r| format!("Hebbian {r}"));
    outln!("task: {task} ({kind})");
    let front = if arch.conv.is_some() {
        " after the conv front end"
    } else {
        ""
    };
    outln!("network: {:?}{front}", arch.layer_sizes);
    let what = if rule.is_some() {
        "plastic"
    } else {
        "fully connected"
    };
    outln!(
        "weights: {} = {} conv + {} {what}",
        c.total_weights(),
        c.conv_weights,
        c.mlp_weights
    );
    if let Some(r) = rule {
        outln!(
            "coefficients: {} ({} per synapse)",
            c.coefficients,
            r.coefficients_per_synapse()
        );
        let neuron = arch.neuron_coefficients();
        outln!(
            "neuron-level coefficients (network.granularity = \"neuron\", NcHL, ABCD_lr): {neuron} \
             ({:.0}x fewer than per-synapse ABCD_lr)",
            arch.counts(Some(Rule::AbcdLr)).coefficients as f64 / neuron as f64
        );
        let merge = hebbian::merge::MergeConfig::default();
        let merged: usize = arch
            .layer_shapes()
            .iter()
            .map(|(o, i)| (o * i).min(merge.rules) * r.coefficients_per_synapse())
            .sum();
        outln!(
            "merged coefficients (network.granularity = \"merged\", Evolve & Merge, {} rules per \
             layer after the last merge): {merged} ({:.0}x fewer)",
            merge.rules,
            c.coefficients as f64 / merged as f64
        );
        let diagonal = hebbian::plastic::RuleAssignment::anti_diagonal(&arch.layer_shapes())
            .rules()
            .iter()
            .sum::<usize>()
            * r.coefficients_per_synapse();
        outln!(
            "anti-diagonal coefficients (network.granularity = \"anti_diagonal\", the reference's \
             indexing before its 2020-10-13 fix): {diagonal} ({:.0}x fewer)",
            c.coefficients as f64 / diagonal as f64
        );
    }
    outln!("evolved numbers per candidate: {}", c.evolved);
    Ok(())
}

fn run_train(
    config: Option<PathBuf>,
    overrides: Vec<String>,
    device: Option<String>,
    out: Option<PathBuf>,
    resume_dir: Option<PathBuf>,
    quiet: bool,
) -> anyhow::Result<()> {
    // Under an MPI launcher (`mpirun -np N hebbian train ...`), this process is one rank.
    let cluster = std::sync::Arc::new(
        hebbian::cluster::Cluster::from_environment().map_err(anyhow::Error::msg)?,
    );
    let root = cluster.is_root();
    let options = TrainOptions {
        progress: !quiet && root,
        stop_after: None,
        cluster: Some(cluster),
    };
    let summary = if let Some(dir) = resume_dir {
        resume(&dir, &options)?
    } else {
        if let Some(d) = &device
            && let Some(set) = overrides.iter().find(|o| {
                o.split_once('=')
                    .is_some_and(|(k, _)| k.trim() == "run.device")
            })
        {
            anyhow::bail!("--device {d} conflicts with --set {set}; give one of them");
        }
        let mut config = match config {
            Some(path) => Config::load(&path, &overrides)?,
            None => Config::parse(
                hebbian::config::QUICK_START,
                "<built-in quick start>",
                &overrides,
            )?,
        };
        if let Some(d) = device {
            config.run.device = d.clone();
            config
                .validate()
                .map_err(|e| anyhow::anyhow!("--device {d}: {e}"))?;
        }
        let out = out.unwrap_or_else(|| {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            PathBuf::from(format!(
                "runs/{}-{}-{secs}",
                config.task.name, config.network.rule
            ))
        });
        if root {
            outln!("run folder: {}", out.display());
        }
        train(config, &out, &options)?
    };
    if !root {
        return Ok(());
    }
    if let (Some(first), Some(last)) = (summary.history.first(), summary.history.last()) {
        outln!(
            "generation {}: mean fitness {:.2} (max {:.2}); generation {}: mean {:.2} (max {:.2})",
            first.generation,
            first.mean_fitness,
            first.max_fitness,
            last.generation,
            last.mean_fitness,
            last.max_fitness
        );
    }
    if let Some(m) = summary
        .history
        .iter()
        .rev()
        .find(|m| !m.held_out.is_empty())
    {
        let scores: Vec<String> = m
            .held_out
            .iter()
            .map(|h| {
                format!(
                    "{} {:.2} ± {:.2}",
                    h.score.variant, h.score.mean, h.score.std
                )
            })
            .collect();
        outln!(
            "held out, generation {}'s centre: {}",
            m.generation,
            scores.join(", ")
        );
    }
    outln!(
        "model: {}",
        summary.run_dir.join(hebbian::train::MODEL_FILE).display()
    );
    Ok(())
}

fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let report = hebbian::eval::evaluate_model_stored(
        &args.model,
        args.rollouts,
        args.seed,
        args.device.as_deref(),
        &args.variants,
        args.coefficient_precision,
    )?;
    outln!(
        "{} ({} {}, generation {}), {} rollouts, seed {}:",
        report.model,
        report.task,
        report.rule,
        report.generation,
        report.rollouts,
        report.seed
    );
    for v in &report.variants {
        outln!(
            "  {:<16} {:>9.2} ± {:<8.2} (min {:.2}, max {:.2}){}",
            v.variant,
            v.mean,
            v.std,
            v.min,
            v.max,
            if v.diverged > 0 {
                format!(", {} diverged (counted as the worst score)", v.diverged)
            } else {
                String::new()
            }
        );
    }
    let json = args
        .json
        .unwrap_or_else(|| args.model.with_file_name("eval.json"));
    let text = serde_json::to_string_pretty(&report)?;
    hebbian::files::atomic_write(&json, text.as_bytes())?;
    outln!("report: {}", json.display());
    Ok(())
}

fn run_render(
    task: Option<String>,
    model: Option<PathBuf>,
    out: PathBuf,
    options: RenderOptions,
) -> anyhow::Result<()> {
    let source = match (model, task) {
        (Some(path), task) => {
            if let Some(task) = task {
                let header = hebbian::files::read_model_header(&path)?;
                anyhow::ensure!(
                    header.task == task,
                    "--task {task}, but {} is a `{}` model",
                    path.display(),
                    header.task
                );
            }
            PolicySource::Model(path)
        }
        (None, Some(task)) => PolicySource::Random { task },
        (None, None) => anyhow::bail!("give --model FILE or --task NAME"),
    };
    let summary = render_episode(&source, &out, &options)?;
    outln!(
        "{}: {} policy steps, fitness {:.2} (replayed {:.2}), {} frames -> {}",
        summary.variant,
        summary.policy_steps,
        summary.fitness,
        summary.replayed_return,
        summary.frames,
        summary.gif.display()
    );
    Ok(())
}

fn run_replay(
    task: &str,
    actions: PathBuf,
    seed: u64,
    morphology: &str,
    out: PathBuf,
) -> anyhow::Result<()> {
    use hebbian::env::{car_racing, quadruped};
    match task {
        "car_racing" => {
            let actions = car_racing::read_actions_csv(&actions)?;
            let s = car_racing::replay(seed, &actions, &out)?;
            outln!(
                "{} steps, return {:.2} -> {}",
                s.steps,
                s.total_reward,
                out.display()
            );
        }
        "ant" => {
            let morph = quadruped::Morphology::by_name_or_file(morphology)?;
            let actions = quadruped::read_actions_csv(&actions)?;
            let s = quadruped::replay(&morph, seed, &actions, &out)?;
            outln!(
                "{} steps, env return {:.2}, progress {:.2}{} -> {}",
                s.steps,
                s.total_reward,
                s.total_progress,
                if s.diverged { " (diverged)" } else { "" },
                s.csv.display()
            );
        }
        other => anyhow::bail!("--task {other}: replay supports car_racing and ant"),
    }
    Ok(())
}

/// The error and its causes, `: `-separated, each cause printed only if the text so far does
/// not already say it (library errors often quote their OS error in their own message).
fn error_chain(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train {
            config,
            overrides,
            device,
            out,
            resume,
            quiet,
        } => run_train(config, overrides, device, out, resume, quiet),
        Command::Eval(args) => run_eval(args),
        Command::Render(args) => {
            let (task, model, out, options) = args.options();
            run_render(task, model, out, options)
        }
        Command::Replay {
            task,
            actions,
            seed,
            morphology,
            out,
        } => run_replay(&task, actions, seed, &morphology, out),
        Command::Experiment { which } => run_experiment(which),
        Command::Info {
            task,
            rule,
            static_weights,
        } => info(&task, rule, static_weights),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}
