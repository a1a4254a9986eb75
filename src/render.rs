//! `hebbian render`: one episode of a saved model as an animated GIF.
//!
//! The episode runs through the same batched rollout as training and evaluation (P = 1) while
//! the raw outputs are recorded; the outputs are then replayed on a fresh env with the same
//! seed, which renders each frame. Environments are deterministic, so the replay is the episode;
//! the replayed return is checked against the rollout's fitness.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};

use crate::config::{Config, NetworkConfig, RunConfig, TaskConfig};
use crate::controller::ControllerSpec;
use crate::rule::Rule;
use crate::task::Task;

use crate::env::{EnvStep, VecEnv};
use crate::eval::{EvalError, LoadedModel};
use crate::rollout::{EpisodeSeeds, OutputRecorder, env_seed, init_seed, run_episodes};

/// What to render.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Env variant (e.g. an Ant morphology); `None` = the task's first.
    pub variant: Option<String>,
    /// Evaluation seed: the episode equals candidate 0 of `hebbian eval --seed` on that variant.
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    /// Keep every n-th frame (GIFs of 1000 full frames get large).
    pub every: usize,
    pub fps: u32,
    pub device: Option<String>,
}

/// What a render did.
#[derive(Clone, Debug)]
pub struct RenderSummary {
    pub gif: PathBuf,
    pub variant: String,
    /// The rollout's fitness and the return of the rendered replay (equal for deterministic
    /// envs).
    pub fitness: f32,
    pub replayed_return: f32,
    pub policy_steps: usize,
    pub frames: usize,
}

/// Whose episode to render.
#[derive(Clone, Debug)]
pub enum PolicySource {
    /// A saved model file.
    Model(PathBuf),
    /// A random Hebbian ABCD_lr network on a task: coefficients from the ES's initial
    /// distribution (N(0,1)) drawn with the render seed, i.e. what generation 0 looks like.
    Random { task: String },
}

/// The task, controller and genome of a policy.
struct Policy {
    task: Task,
    spec: ControllerSpec,
    genome: Vec<f32>,
    device: Device,
}

fn open(source: &PolicySource, options: &RenderOptions) -> Result<Policy, RenderError> {
    let variants: Vec<String> = options.variant.iter().cloned().collect();
    match source {
        PolicySource::Model(path) => {
            let m = LoadedModel::open(path, options.device.as_deref(), &variants)?;
            Ok(Policy {
                task: m.task,
                spec: m.spec,
                genome: m.genome,
                device: m.device,
            })
        }
        PolicySource::Random { task } => {
            let device_name = options.device.as_deref().unwrap_or("flex");
            let config = Config {
                seed: options.seed,
                generations: 1,
                population: 2,
                task: TaskConfig {
                    name: task.clone(),
                    variants: Vec::new(),
                    physics: None,
                },
                network: NetworkConfig::hebbian(Rule::AbcdLr),
                es: Default::default(),
                run: RunConfig {
                    device: device_name.to_string(),
                    chunk: 0,
                },
                held_out: None,
            };
            config.validate().map_err(|e| {
                RenderError::Refused(format!("random policy for --task {task}: {e}"))
            })?;
            let task = Task::for_evaluation(task, &variants)?;
            let spec = config.controller_spec(&task);
            let genome = spec
                .layout()
                .initial_centre(config.network.distribution, options.seed);
            Ok(Policy {
                task,
                spec,
                genome,
                device: crate::device::device_from_name(device_name)?,
            })
        }
    }
}

/// Why an episode could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// An option is out of range, or the task cannot be drawn; the message says which.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Model(#[from] EvalError),
    #[error(transparent)]
    Media(#[from] crate::env::MediaError),
    #[error(transparent)]
    Task(#[from] crate::task::TaskError),
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
}

/// Runs one episode of `source` and writes it as a GIF at `out`.
pub fn render_episode(
    source: &PolicySource,
    out: &Path,
    options: &RenderOptions,
) -> Result<RenderSummary, RenderError> {
    let refuse = |message: String| Err(RenderError::Refused(message));
    if options.every == 0 {
        return refuse("--every must be at least 1".into());
    }
    let side = crate::limits::MAX_RENDER_SIDE;
    if !((16..=side).contains(&options.width) && (16..=side).contains(&options.height)) {
        return refuse(format!(
            "--width and --height must be 16 to {side} pixels, got {}x{}",
            options.width, options.height
        ));
    }
    if !(1..=100).contains(&options.fps) {
        return refuse(format!("--fps must be 1 to 100, got {}", options.fps));
    }
    let Policy {
        task,
        spec,
        genome,
        device,
    } = open(source, options)?;
    let task = &task;
    let most_frames =
        (task.protocol.burn_in_steps + task.protocol.policy_steps()) / options.every + 1;
    crate::limits::check_memory(
        &format!(
            "--width {} --height {} --every {}",
            options.width, options.height, options.every
        ),
        most_frames as f64 * options.width as f64 * options.height as f64 * 4.0 * 2.0,
        &format!("up to {most_frames} frames and their GIF encoding"),
    )
    .map_err(RenderError::Refused)?;
    let variant = &task.variants[0];
    let d = genome.len();
    let genome = Tensor::<2>::from_data(TensorData::new(genome, [1, d]), &device);
    // Variant index 0 of a one-variant task: the seeds `hebbian eval` gives candidate 0.
    let seeds = EpisodeSeeds {
        envs: vec![env_seed(options.seed, 0, 1, 0)],
        init: init_seed(options.seed, 0, 1, 0),
    };
    let mut envs = VecEnv::new(vec![(variant.factory)()]);
    let mut recorder = OutputRecorder::default();
    let stats = run_episodes(
        &mut envs,
        &task.protocol,
        &spec,
        &genome,
        &seeds,
        &mut recorder,
    );
    let policy_steps = stats.lengths[0];

    let mut env = (variant.factory)();
    env.reset(seeds.envs[0]);
    let (w, h) = (options.width, options.height);
    let no_renderer = || RenderError::Refused(format!("task `{}` has no renderer", task.name));
    let mut frames = vec![env.render(w, h).ok_or_else(no_renderer)?];
    let zeros = vec![0.0; env.output_len()];
    let mut t = 0;
    for _ in 0..task.protocol.burn_in_steps {
        env.step(&zeros);
        t += 1;
        if t % options.every == 0 {
            frames.extend(env.render(w, h));
        }
    }
    let mut replayed = 0.0f32;
    for output in recorder.outputs.iter().take(policy_steps) {
        let EnvStep {
            reward, diverged, ..
        } = env.step(output);
        replayed = if diverged {
            f32::NEG_INFINITY
        } else {
            replayed + reward
        };
        t += 1;
        if t % options.every == 0 {
            frames.extend(env.render(w, h));
        }
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::env::create_dir(parent)?;
    }
    crate::env::gif::write_gif(&frames, out, options.fps)?;
    Ok(RenderSummary {
        gif: out.to_path_buf(),
        variant: variant.name.clone(),
        fitness: stats.fitness[0],
        replayed_return: replayed,
        policy_steps,
        frames: frames.len(),
    })
}
