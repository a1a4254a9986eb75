//! Environments: one `Env` trait, stepped in parallel by [`VecEnv`].
//!
//! An `Env` takes the network's raw output and maps it to its own action space (the reference's
//! per-task action mapping lives with the task's env adapter), and writes the observation the
//! network sees (already preprocessed, e.g. resized pixels).

pub mod action_csv;
pub mod car_racing;
pub mod cartpole;
pub mod gif;
pub mod quadruped;
mod vec_env;

pub use vec_env::VecEnv;

/// Why writing an episode's media (GIF, frames, replay CSVs) or reading an action log failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    #[error(transparent)]
    Actions(#[from] action_csv::ActionCsvError),
    #[error("{path}: {message}")]
    Encode {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Creates `dir` (and its parents), naming it on failure.
pub(crate) fn create_dir(dir: &std::path::Path) -> Result<(), MediaError> {
    std::fs::create_dir_all(dir).map_err(|source| MediaError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// One environment step as the fitness protocol sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EnvStep {
    /// The reward the fitness sums (for the Ant: the progress term only).
    pub reward: f32,
    /// The environment's own termination (fall, off-track, all tiles, pole down, time limit).
    pub done: bool,
    /// The simulation blew up (NaN, explosion): the episode ends with the worst fitness.
    pub diverged: bool,
}

/// A single environment instance.
pub trait Env: Send {
    /// Length of the flat observation written by [`Env::observe`].
    fn observation_len(&self) -> usize;
    /// Number of network outputs this env reads.
    fn output_len(&self) -> usize;
    /// Starts a new episode; the same seed gives the same episode.
    fn reset(&mut self, seed: u64);
    /// Writes the current observation (network input) into `out`.
    fn observe(&self, out: &mut [f32]);
    /// Maps the raw network output to an action and advances one step. Never panics on
    /// NaN or out-of-range outputs.
    fn step(&mut self, network_output: &[f32]) -> EnvStep;
    /// A picture of the current state for videos; `None` where the env has no renderer.
    fn render(&self, _width: u32, _height: u32) -> Option<image::RgbImage> {
        None
    }
}

impl Env for Box<dyn Env> {
    fn observation_len(&self) -> usize {
        (**self).observation_len()
    }
    fn output_len(&self) -> usize {
        (**self).output_len()
    }
    fn reset(&mut self, seed: u64) {
        (**self).reset(seed)
    }
    fn observe(&self, out: &mut [f32]) {
        (**self).observe(out)
    }
    fn step(&mut self, network_output: &[f32]) -> EnvStep {
        (**self).step(network_output)
    }
    fn render(&self, width: u32, height: u32) -> Option<image::RgbImage> {
        (**self).render(width, height)
    }
}
