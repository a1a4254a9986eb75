//! `hebbian eval`: many rollouts of a saved model, mean ± std per environment variant.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::controller::ControllerSpec;
use crate::files::{ModelHeader, load_model, read_model_assignment, read_model_header};
use crate::rollout::{Chunking, RepeatedGenome, evaluate};
use crate::task::Task;
use crate::train::rule_name;
use burn::tensor::Device;

/// Scores of one environment variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantScore {
    pub variant: String,
    pub mean: f32,
    pub std: f32,
    pub min: f32,
    pub max: f32,
    /// Rollouts whose simulation diverged. They are not dropped: each counts in the statistics
    /// as the worst score any rollout of this variant reached (as a failure, without one
    /// arbitrary sentinel value dominating the mean).
    pub diverged: usize,
    /// Per rollout, diverged ones already replaced by the worst score.
    pub scores: Vec<f32>,
}

impl VariantScore {
    /// Statistics over `raw` episode returns, where a non-finite return marks a diverged one.
    pub fn new(variant: &str, raw: &[f32]) -> Self {
        let worst = raw
            .iter()
            .copied()
            .filter(|f| f.is_finite())
            .fold(f32::INFINITY, f32::min);
        let diverged = raw.iter().filter(|f| !f.is_finite()).count();
        let scores: Vec<f32> = raw
            .iter()
            .map(|&f| if f.is_finite() { f } else { worst })
            .collect();
        let (mean, max, min, std, _) = crate::metrics::summarize(&scores);
        Self {
            variant: variant.to_string(),
            mean,
            std,
            min,
            max,
            diverged,
            scores,
        }
    }
}

/// What `hebbian eval` prints and writes as JSON.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub model: String,
    pub task: String,
    pub rule: String,
    pub generation: u64,
    pub rollouts: usize,
    pub seed: u64,
    pub device: String,
    pub variants: Vec<VariantScore>,
}

/// Why a model could not be opened or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// An argument or the embedded config is out of range; the message names it.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Task(#[from] crate::task::TaskError),
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
}

/// A model file opened for use: its embedded config, the task (all variants, or the named
/// ones), the controller and the genome.
pub struct LoadedModel {
    pub config: Config,
    pub header: ModelHeader,
    pub task: Task,
    pub spec: ControllerSpec,
    pub genome: Vec<f32>,
    pub device: Device,
}

impl LoadedModel {
    /// Opens `path`; `device_name` overrides the backend it was trained with.
    pub fn open(
        path: &Path,
        device_name: Option<&str>,
        variants: &[String],
    ) -> Result<Self, EvalError> {
        let header = read_model_header(path)?;
        let mut config = Config::parse(
            &header.config,
            &format!("{} (embedded config)", path.display()),
            &[],
        )?;
        if let Some(d) = device_name {
            config.run.device = d.to_string();
        }
        let device = crate::device::device_from_name(&config.run.device)?;
        let task = Task::for_evaluation_with(&config.task.name, variants, config.task.physics)?;
        let mut spec = config.controller_spec(&task);
        let shapes = spec.architecture.layer_shapes();
        spec.adopt_stored_assignment(read_model_assignment(path, &shapes)?);
        let model = load_model(path, &spec.layout(), &task.name, &rule_name(&spec))?;
        Ok(Self {
            config,
            header,
            task,
            spec,
            genome: model.genome,
            device,
        })
    }
}

/// Runs `rollouts` episodes of the model on each variant (all of the task's variants when
/// `variants` is empty), each with a fresh env seed and fresh initial weights.
pub fn evaluate_model(
    path: &Path,
    rollouts: usize,
    seed: u64,
    device_name: Option<&str>,
    variants: &[String],
) -> Result<EvalReport, EvalError> {
    evaluate_model_stored(path, rollouts, seed, device_name, variants, None)
}

/// [`evaluate_model`] with the coefficients held in `precision` during the episodes instead of
/// what the model's config says (`None`: as trained), e.g. to check that 16-bit storage keeps
/// a model's score.
pub fn evaluate_model_stored(
    path: &Path,
    rollouts: usize,
    seed: u64,
    device_name: Option<&str>,
    variants: &[String],
    precision: Option<crate::plastic::CoefficientPrecision>,
) -> Result<EvalReport, EvalError> {
    crate::limits::check_rollout_count(rollouts)
        .map_err(|m| EvalError::Refused(format!("--rollouts: {m}")))?;
    let LoadedModel {
        config,
        header,
        task,
        mut spec,
        genome,
        device,
    } = LoadedModel::open(path, device_name, variants)?;
    if let Some(precision) = precision {
        spec.coefficient_precision = precision;
    }
    let layout = spec.layout();
    let d = layout.len();
    let chunking = Chunking {
        chunk: config.run.chunk,
    };
    let synapses = spec.architecture.synapses();
    crate::limits::check_memory(
        &format!("--rollouts {rollouts}"),
        crate::limits::population_bytes(
            rollouts,
            chunking.resolve(rollouts, d, synapses, &device),
            d,
            synapses,
        ),
        "the rollouts' genomes and networks",
    )
    .map_err(EvalError::Refused)?;
    let population = RepeatedGenome {
        genome,
        count: rollouts,
        device,
    };
    let eval = evaluate(&task, &spec, &population, chunking, seed);
    let variants = task
        .variants
        .iter()
        .zip(eval.per_variant)
        .map(|(v, raw)| VariantScore::new(&v.name, &raw))
        .collect();
    Ok(EvalReport {
        model: path.display().to_string(),
        task: task.name.clone(),
        rule: rule_name(&spec),
        generation: header.generation,
        rollouts,
        seed,
        device: config.run.device.clone(),
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::VariantScore;

    #[test]
    fn diverged_rollouts_count_as_the_worst_score() {
        let v = VariantScore::new("x", &[10.0, f32::NEG_INFINITY, 30.0, f32::NAN]);
        assert_eq!(v.diverged, 2);
        assert_eq!(v.scores, vec![10.0, 10.0, 30.0, 10.0]);
        assert_eq!((v.mean, v.min, v.max), (15.0, 10.0, 30.0));
    }
}
