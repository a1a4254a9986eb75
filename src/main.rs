//! The `hebbian` command line: train, eval, info (and render/replay for the environments).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hebbian::Rule;
use hebbian::architecture::Architecture;
use hebbian::config::Config;
use hebbian::render::{PolicySource, RenderOptions, render_episode};
use hebbian::train::{TrainOptions, resume, train};

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
    Eval {
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
    },
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

fn architecture(task: &str) -> anyhow::Result<Architecture> {
    match task {
        "car_racing" => Ok(Architecture::car_racing()),
        "ant" => Ok(Architecture::ant()),
        "cartpole" => Ok(Architecture::cartpole()),
        other => anyhow::bail!("unknown task `{other}`; expected car_racing, ant or cartpole"),
    }
}

fn info(task: &str, rule: Rule, static_weights: bool) -> anyhow::Result<()> {
    let arch = architecture(task)?;
    let rule = (!static_weights).then_some(rule);
    let c = arch.counts(rule);
    let kind = rule.map_or("static weights".to_string(), |r| format!("Hebbian {r}"));
    println!("task: {task} ({kind})");
    let front = if arch.conv.is_some() {
        " after the conv front end"
    } else {
        ""
    };
    println!("network: {:?}{front}", arch.layer_sizes);
    let what = if rule.is_some() {
        "plastic"
    } else {
        "fully connected"
    };
    println!(
        "weights: {} = {} conv + {} {what}",
        c.total_weights(),
        c.conv_weights,
        c.mlp_weights
    );
    if let Some(r) = rule {
        println!(
            "coefficients: {} ({} per synapse)",
            c.coefficients,
            r.coefficients_per_synapse()
        );
    }
    println!("evolved numbers per candidate: {}", c.evolved);
    Ok(())
}

fn run_train(
    config: Option<PathBuf>,
    mut overrides: Vec<String>,
    device: Option<String>,
    out: Option<PathBuf>,
    resume_dir: Option<PathBuf>,
    quiet: bool,
) -> anyhow::Result<()> {
    let options = TrainOptions {
        progress: !quiet,
        stop_after: None,
    };
    let summary = if let Some(dir) = resume_dir {
        resume(&dir, &options)?
    } else {
        if let Some(d) = device {
            overrides.push(format!("run.device=\"{d}\""));
        }
        let config = match config {
            Some(path) => Config::load(&path, &overrides)?,
            None => Config::parse(
                hebbian::config::QUICK_START,
                "<built-in quick start>",
                &overrides,
            )?,
        };
        let out = out.unwrap_or_else(|| {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            PathBuf::from(format!(
                "runs/{}-{}-{secs}",
                config.task.name, config.network.rule
            ))
        });
        println!("run folder: {}", out.display());
        train(config, &out, &options)?
    };
    if let (Some(first), Some(last)) = (summary.history.first(), summary.history.last()) {
        println!(
            "generation {}: mean fitness {:.2} (max {:.2}); generation {}: mean {:.2} (max {:.2})",
            first.generation,
            first.mean_fitness,
            first.max_fitness,
            last.generation,
            last.mean_fitness,
            last.max_fitness
        );
    }
    println!(
        "model: {}",
        summary.run_dir.join(hebbian::train::MODEL_FILE).display()
    );
    Ok(())
}

fn run_eval(
    model: PathBuf,
    rollouts: usize,
    seed: u64,
    device: Option<String>,
    variants: Vec<String>,
    json: Option<PathBuf>,
) -> anyhow::Result<()> {
    let report =
        hebbian::eval::evaluate_model(&model, rollouts, seed, device.as_deref(), &variants)?;
    println!(
        "{} ({} {}, generation {}), {} rollouts, seed {}:",
        report.model, report.task, report.rule, report.generation, report.rollouts, report.seed
    );
    for v in &report.variants {
        println!(
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
    let json = json.unwrap_or_else(|| model.with_file_name("eval.json"));
    let text = serde_json::to_string_pretty(&report)?;
    hebbian::files::atomic_write(&json, text.as_bytes())?;
    println!("report: {}", json.display());
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
    println!(
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
            println!(
                "{} steps, return {:.2} -> {}",
                s.steps,
                s.total_reward,
                out.display()
            );
        }
        "ant" => {
            let morph = if morphology.ends_with(".xml") {
                quadruped::Morphology::from_mjcf_file(morphology)?
            } else {
                quadruped::Morphology::builtin(morphology)?
            };
            let actions = quadruped::read_actions_csv(&actions)?;
            let s = quadruped::replay(&morph, seed, &actions, &out)?;
            println!(
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
        Command::Eval {
            model,
            rollouts,
            seed,
            device,
            variants,
            json,
        } => run_eval(model, rollouts, seed, device, variants, json),
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
        Command::Info {
            task,
            rule,
            static_weights,
        } => info(&task, rule, static_weights),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
