//! `hebbian render`: one episode of a saved model as an animated GIF.
//!
//! The episode runs through the same batched rollout as training and evaluation (P = 1) while
//! the raw outputs are recorded; the outputs are then replayed on a fresh env with the same
//! seed, which renders each frame. Environments are deterministic, so the replay is the episode;
//! the replayed return is checked against the rollout's fitness.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::{Tensor, TensorData};

use crate::env::{EnvStep, VecEnv};
use crate::eval::LoadedModel;
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

/// Runs one episode of `model` and writes it as a GIF at `out`.
pub fn render_model(
    model: &Path,
    out: &Path,
    options: &RenderOptions,
) -> anyhow::Result<RenderSummary> {
    anyhow::ensure!(options.every > 0, "--every must be at least 1");
    anyhow::ensure!(
        options.width >= 16 && options.height >= 16,
        "--width and --height must be at least 16 pixels"
    );
    let variants: Vec<String> = options.variant.iter().cloned().collect();
    let loaded = LoadedModel::open(model, options.device.as_deref(), &variants)?;
    let task = &loaded.task;
    let variant = &task.variants[0];
    let d = loaded.genome.len();
    let genome = Tensor::<2>::from_data(
        TensorData::new(loaded.genome.clone(), [1, d]),
        &loaded.device,
    );
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
        &loaded.spec,
        &genome,
        &seeds,
        &mut recorder,
    );
    let policy_steps = stats.lengths[0];

    let mut env = (variant.factory)();
    env.reset(seeds.envs[0]);
    let (w, h) = (options.width, options.height);
    let no_renderer = || anyhow::anyhow!("task `{}` has no renderer", task.name);
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
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
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
