//! Experiment files: TOML, unknown keys rejected, every error naming the key and the file.
//!
//! `--set key=value` overrides are applied to the parsed TOML before validation, so they go
//! through exactly the same checks as the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::controller::ControllerSpec;
use crate::es::EsConfig;
use crate::genome::{Granularity, InitialDistribution};
use crate::merge::MergeConfig;
use crate::plastic::{CoefficientPrecision, RuleAssignment, UpdateKernel, WeightInit};
use crate::rule::{Rule, RuleChoice};
use crate::task::Task;

/// A whole experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Seeds the ES noise, the environments and the per-episode weights.
    pub seed: u64,
    /// Generations to run in total.
    pub generations: u64,
    /// Candidates per generation (positive and even: mirrored sampling).
    pub population: usize,
    pub task: TaskConfig,
    pub network: NetworkConfig,
    #[serde(default)]
    pub es: EsConfig,
    #[serde(default)]
    pub run: RunConfig,
    /// Variants scored on the centre every few generations, apart from the fitness
    /// (`[held_out]`): a body the run never trains on, watched while it learns. It never
    /// changes the run, so a resume may add, change or drop it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out: Option<HeldOutConfig>,
}

/// `[held_out]`: which variants, how often, how many rollouts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldOutConfig {
    /// Variant names as `task.variants` takes them (e.g. `left_damaged`, `leg1_shin_0.5`).
    pub variants: Vec<String>,
    /// Scored at generations 0, `every`, 2·`every`, … and at the run's last generation.
    #[serde(default = "default_held_out_every")]
    pub every: u64,
    /// Rollouts per variant, the same episodes (starts, tracks, initial weights) every time,
    /// so that the curve moves with the centre, not with the draw.
    #[serde(default = "default_held_out_rollouts")]
    pub rollouts: usize,
}

fn default_held_out_every() -> u64 {
    10
}

fn default_held_out_rollouts() -> usize {
    10
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// `cartpole`, `ant` or `car_racing`.
    pub name: String,
    /// Env variants the training fitness averages over (e.g. Ant morphologies); empty = default.
    #[serde(default)]
    pub variants: Vec<String>,
    /// The Ant's physics settings (`[task.physics]`, keys as the fields of
    /// [`crate::env::quadruped::PhysicsConfig`]; unset keys keep their defaults), so that a run can
    /// train on a candidate physics before it becomes the default. Stored with the run and its
    /// models, so `eval`, `render` and `experiment` replay the physics it trained on. Ant only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physics: Option<crate::env::quadruped::PhysicsConfig>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// A Hebbian rule name (`ABCD_lr`, ...) or `static` for the fixed-weight baseline.
    pub rule: RuleChoice,
    #[serde(default = "default_init")]
    pub init: WeightInit,
    /// Per-layer max-|w| normalisation; unset = the task's default (on for CarRacing only).
    #[serde(default)]
    pub normalize: Option<bool>,
    #[serde(default)]
    pub kernel: UpdateKernel,
    /// Initial search distribution of the evolved numbers.
    #[serde(default = "default_distribution")]
    pub distribution: InitialDistribution,
    /// `synapse` (the paper: a rule per synapse), `neuron` (NcHL: five numbers per neuron;
    /// needs rule `ABCD_lr`), `merged` (Evolve & Merge: rules shared by k-means clusters of
    /// synapses, merged during training as `[network.merge]` says) or `anti_diagonal` (the
    /// reference's indexing before its 2020-10-13 fix: a rule per anti-diagonal of a layer).
    #[serde(default)]
    pub granularity: Granularity,
    /// When and how far `merged` rules are merged (defaults: see `MergeConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<MergeConfig>,
    /// How the evolved per-synapse coefficients are stored during an episode: `f32` (default),
    /// `bf16` or `f16` (16 bits: a third less memory traffic in the Hebbian step; arithmetic
    /// stays f32; the genome and the ES stay f32).
    #[serde(default)]
    pub coefficient_precision: CoefficientPrecision,
}

impl NetworkConfig {
    /// A Hebbian network with every other setting at its default.
    pub fn hebbian(rule: Rule) -> Self {
        Self {
            rule: RuleChoice::Hebbian(rule),
            init: default_init(),
            normalize: None,
            kernel: UpdateKernel::default(),
            distribution: default_distribution(),
            granularity: Granularity::default(),
            merge: None,
            coefficient_precision: CoefficientPrecision::default(),
        }
    }
}

/// A granularity as configs spell it.
fn granularity_name(g: Granularity) -> String {
    serde_json::to_value(g)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn default_init() -> WeightInit {
    WeightInit::Uni
}

fn default_distribution() -> InitialDistribution {
    InitialDistribution::Normal
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// `flex`, `ndarray` or `wgpu`.
    pub device: String,
    /// Agents evaluated together; 0 = automatic.
    pub chunk: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            device: "flex".into(),
            chunk: 0,
        }
    }
}

/// A config error, always naming where.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("--set {}: {message}", assignment.replace('\n', "\\n").replace('\r', "\\r"))]
    BadOverride { assignment: String, message: String },
}

impl Config {
    /// Reads a config file and applies `key=value` overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        let text =
            crate::limits::read_text_capped(path, crate::limits::MAX_CONFIG_BYTES, "config file")
                .map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        Self::parse(&text, &path.display().to_string(), overrides)
    }

    /// Parses config text; `origin` names the source in errors. An error about a key that an
    /// override set names the override (`--set KEY=VALUE`), not the file.
    pub fn parse(text: &str, origin: &str, overrides: &[String]) -> Result<Self, ConfigError> {
        let mut value: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        for assignment in overrides {
            apply_override(&mut value, assignment)?;
        }
        let blame = |message: String| -> ConfigError {
            match overrides
                .iter()
                .rev()
                .find(|a| override_is_named_in(a, &message))
            {
                Some(assignment) => ConfigError::BadOverride {
                    assignment: assignment.clone(),
                    message: format!("{message} (applied over {origin})"),
                },
                None => ConfigError::Invalid {
                    path: origin.to_string(),
                    message,
                },
            }
        };
        check_f32_range(&value, "").map_err(&blame)?;
        // The path of a refused value names its key (`network.kernel: unknown variant ...`).
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(value)).map_err(|e| {
                let path = e.path().to_string();
                // toml's `message()` is what went wrong without its own "in `KEY`", which
                // the message below names.
                let inner = e.into_inner().message().trim_end().to_string();
                blame(if path.is_empty() || path == "." {
                    inner
                } else {
                    format!("key `{path}`: {inner}")
                })
            })?;
        config.validate().map_err(blame)?;
        Ok(config)
    }

    /// Checks what serde cannot: value ranges and names.
    pub fn validate(&self) -> Result<(), String> {
        if self.population == 0 || self.population % 2 == 1 {
            return Err(format!(
                "key `population`: must be a positive even number (mirrored sampling), got {}",
                self.population
            ));
        }
        if self.generations == 0 {
            return Err("key `generations`: must be at least 1".into());
        }
        if let Some(physics) = &self.task.physics {
            physics
                .validate()
                .map_err(|(key, why)| format!("key `task.physics.{key}`: {why}"))?;
        }
        self.task().map_err(|e| format!("key `task`: {e}"))?;
        let device = crate::device::device_from_name(&self.run.device)
            .map_err(|e| format!("key `run.device`: {e}"))?;
        self.es.validate()?;
        let task = self.task().map_err(|e| format!("key `task`: {e}"))?;
        let spec = self.controller_spec(&task);
        let (genome_len, synapses) = (spec.layout().len(), spec.architecture.synapses());
        let at_once = crate::rollout::Chunking {
            chunk: self.run.chunk,
        }
        .resolve(self.population, genome_len, synapses, &device);
        let on_device = crate::limits::device_tensor_agents(genome_len, synapses);
        if !crate::device::is_cpu(&device) && at_once > on_device {
            return Err(format!(
                "key `run.chunk` = {at_once}: on `{}` at most {on_device} agents of this network \
                 fit one evaluation chunk (a GPU binds at most {} per tensor); set a smaller \
                 `run.chunk`, or 0 for automatic",
                self.run.device,
                crate::limits::human_bytes(crate::limits::MAX_DEVICE_TENSOR_BYTES as f64)
            ));
        }
        crate::limits::check_memory(
            &format!("key `population` = {}", self.population),
            crate::limits::population_bytes(self.population, at_once, genome_len, synapses),
            &format!(
                "{} candidates, {at_once} of them at once (genomes of {genome_len} numbers and \
                 their networks; `run.chunk` sets how many)",
                self.population
            ),
        )?;
        if self.network.granularity == Granularity::Neuron && self.rule() != Some(Rule::AbcdLr) {
            return Err(format!(
                "key `network.granularity`: `neuron` (NcHL) is the neuron-level ABCD_lr rule; \
                 set network.rule = \"ABCD_lr\", not `{}`",
                self.network.rule
            ));
        }
        match (self.network.granularity, &self.network.merge) {
            (g @ (Granularity::Merged | Granularity::AntiDiagonal), _) if self.rule().is_none() => {
                return Err(format!(
                    "key `network.granularity`: `{}` shares Hebbian rules; it needs a Hebbian \
                     network.rule, not `static`",
                    granularity_name(g)
                ));
            }
            (Granularity::Merged, merge) => merge.clone().unwrap_or_default().validate()?,
            (other, Some(_)) => {
                return Err(format!(
                    "key `network.merge`: only for granularity = \"merged\" (this config's is \
                     `{}`)",
                    granularity_name(other)
                ));
            }
            _ => {}
        }
        if let Some(held_out) = &self.held_out {
            self.validate_held_out(held_out, genome_len, synapses, &device)?;
        }
        if self.network.init == WeightInit::Coevolve && self.rule().is_none() {
            return Err("key `network.init`: `coevolve` needs a Hebbian rule, not `static`".into());
        }
        Ok(())
    }

    fn validate_held_out(
        &self,
        h: &HeldOutConfig,
        genome_len: usize,
        synapses: usize,
        device: &burn::tensor::Device,
    ) -> Result<(), String> {
        if h.variants.is_empty() {
            return Err("key `held_out.variants`: name at least one variant".into());
        }
        self.held_out_task(h)
            .map_err(|e| format!("key `held_out.variants`: {e}"))?;
        if h.every == 0 {
            return Err("key `held_out.every`: must be at least 1 (generations)".into());
        }
        crate::limits::check_rollout_count(h.rollouts)
            .map_err(|m| format!("key `held_out.rollouts`: {m}"))?;
        let at_once = crate::rollout::Chunking {
            chunk: self.run.chunk,
        }
        .resolve(h.rollouts, genome_len, synapses, device);
        crate::limits::check_memory(
            &format!("key `held_out.rollouts` = {}", h.rollouts),
            crate::limits::population_bytes(h.rollouts, at_once, genome_len, synapses),
            "the held-out rollouts' genomes and networks",
        )
    }

    /// The task the `[held_out]` variants are scored on (the run's physics).
    pub fn held_out_task(&self, h: &HeldOutConfig) -> Result<Task, crate::task::TaskError> {
        Task::for_evaluation_with(&self.task.name, &h.variants, self.task.physics)
    }

    /// The Hebbian rule, or `None` for the static baseline.
    pub fn rule(&self) -> Option<Rule> {
        self.network.rule.hebbian()
    }

    /// The task this config trains on.
    pub fn task(&self) -> Result<Task, crate::task::TaskError> {
        Task::by_name_with(&self.task.name, &self.task.variants, self.task.physics)
    }

    /// The merge schedule of a `merged` network (`None` for other granularities).
    pub fn merge(&self) -> Option<MergeConfig> {
        (self.network.granularity == Granularity::Merged)
            .then(|| self.network.merge.clone().unwrap_or_default())
    }

    /// The controller spec for this config and task.
    pub fn controller_spec(&self, task: &Task) -> ControllerSpec {
        ControllerSpec {
            architecture: task.architecture.clone(),
            rule: self.rule(),
            init: self.network.init,
            normalize: self.network.normalize.unwrap_or(task.default_normalize),
            kernel: self.network.kernel,
            granularity: self.network.granularity,
            assignment: (self.network.granularity == Granularity::AntiDiagonal).then(|| {
                Arc::new(RuleAssignment::anti_diagonal(
                    &task.architecture.layer_shapes(),
                ))
            }),
            coefficient_precision: self.network.coefficient_precision,
        }
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }

    /// The built-in quick start: Hebbian ABCD_lr on CartPole, learns in well under a minute.
    pub fn quick_start() -> Self {
        Self::parse(QUICK_START, "<built-in quick start>", &[]).expect("built-in config is valid")
    }
}

/// The quick-start experiment (also shipped as `configs/cartpole.toml`).
pub const QUICK_START: &str = r#"seed = 1
generations = 30
population = 64

[task]
name = "cartpole"

[network]
rule = "ABCD_lr"
init = "uni"

[es]
learning_rate = 0.2
sigma = 0.1
"#;

fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<(), ConfigError> {
    let bad = |message: String| ConfigError::BadOverride {
        assignment: assignment.to_string(),
        message,
    };
    if assignment.contains(['\n', '\r']) {
        return Err(bad("a value cannot contain a line break".into()));
    }
    let (key, raw) = assignment
        .split_once('=')
        .ok_or_else(|| bad("expected key=value".into()))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(bad("empty key".into()));
    }
    // A TOML literal if it parses as one (numbers, booleans, arrays), else a plain string.
    let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.trim().to_string()));
    let parts: Vec<&str> = key.split('.').collect();
    let mut node = table;
    for part in &parts[..parts.len() - 1] {
        node = node
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| bad(format!("`{part}` is not a table")))?;
    }
    node.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// Whether an error message is about the key an override `KEY=VALUE` set (the value in effect
/// is the override's, so the error is the override's).
fn override_is_named_in(assignment: &str, message: &str) -> bool {
    let key = assignment
        .split_once('=')
        .map_or(assignment, |(k, _)| k)
        .trim();
    let last = key.rsplit('.').next().unwrap_or(key);
    message.contains(&format!("`{key}`")) || message.contains(&format!("`{last}`"))
}

/// Every float in a config is an f32: a value that rounds to 0 or to infinity is refused here,
/// naming the key, instead of silently becoming 0 or inf.
fn check_f32_range(table: &toml::Table, prefix: &str) -> Result<(), String> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => check_f32_range(t, &key)?,
            toml::Value::Float(f) => {
                let narrowed = *f as f32;
                if *f != 0.0 && narrowed == 0.0 {
                    return Err(format!(
                        "key `{key}`: {f:e} underflows f32 (it would become 0; the smallest \
                         positive f32 is ~1.4e-45)"
                    ));
                }
                if f.is_finite() && narrowed.is_infinite() {
                    return Err(format!(
                        "key `{key}`: {f:e} overflows f32 (largest ~3.4e38)"
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_start_parses_and_overrides_apply() {
        let c = Config::parse(
            QUICK_START,
            "q",
            &["generations=5".into(), "es.sigma=0.05".into()],
        )
        .unwrap();
        assert_eq!(c.generations, 5);
        assert_eq!(c.es.sigma, 0.05);
    }

    #[test]
    fn unknown_and_mistyped_keys_name_the_key_and_file() {
        let err = Config::parse(QUICK_START, "exp.toml", &["es.sigmaa=0.1".into()]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("--set es.sigmaa=0.1") && msg.contains("sigmaa"),
            "{msg}"
        );
        let err = Config::parse("seed = 1\nsigma = 0.1\n", "exp.toml", &[]).unwrap_err();
        assert!(err.to_string().starts_with("exp.toml:"), "{err}");
        let err = Config::parse(QUICK_START, "exp.toml", &["population=-4".into()]).unwrap_err();
        assert!(err.to_string().contains("population"), "{err}");
        let err = Config::parse(QUICK_START, "exp.toml", &["population=31".into()]).unwrap_err();
        assert!(err.to_string().contains("even"), "{err}");
        let err =
            Config::parse(QUICK_START, "exp.toml", &["network.rule=ABCDE".into()]).unwrap_err();
        assert!(err.to_string().contains("network.rule"), "{err}");
        let err = Config::parse("seed = 1\n[[", "broken.toml", &[]).unwrap_err();
        assert!(err.to_string().contains("broken.toml"), "{err}");
    }

    #[test]
    fn nonsense_es_settings_are_refused() {
        let msg = |set: &str| {
            Config::parse(QUICK_START, "q.toml", &[set.to_string()])
                .unwrap_err()
                .to_string()
        };
        for (set, needle) in [
            ("es.sigma_decay=5", "(0, 1]"),
            ("es.learning_rate_decay=0", "(0, 1]"),
            ("es.sigma_floor=-0.1", ">= 0"),
            ("es.learning_rate_floor=nan", ">= 0"),
            ("es.sigma=inf", "positive"),
            ("es.learning_rate=1e-50", "underflows f32"),
            ("es.l2_penalty=1e40", "overflows f32"),
        ] {
            let m = msg(set);
            assert!(
                m.contains(&format!("--set {set}")) && m.contains(needle),
                "{set}: {m}"
            );
        }
        assert!(msg("seed=1\nx=2").contains("line break"));
        let m = msg("population=1000000000000");
        assert!(m.contains("population") && m.contains("memory"), "{m}");
    }

    /// A chunk whose tensors a GPU cannot bind is refused up front, not an allocation failure
    /// in the first generation; the same chunk on the CPU is fine.
    #[cfg(feature = "wgpu")]
    #[test]
    fn a_chunk_past_the_device_tensor_limit_is_refused_on_a_gpu() {
        let what = "a_chunk_past_the_device_tensor_limit_is_refused_on_a_gpu";
        if crate::device::device_or_skip("wgpu", what).is_none() {
            return;
        }
        let base = ["task.name=ant".to_string(), "population=20000".into()];
        let with = |extra: &[&str]| {
            let mut sets = base.to_vec();
            sets.extend(extra.iter().map(|s| s.to_string()));
            Config::parse(QUICK_START, "big.toml", &sets)
        };
        let err = with(&["run.device=\"wgpu\"", "run.chunk=10000"]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("run.chunk") && msg.contains("10000") && msg.contains("8738"),
            "{msg}"
        );
        with(&["run.device=\"wgpu\"", "run.chunk=8738"]).unwrap();
        with(&["run.device=\"wgpu\""]).unwrap();
        with(&["run.chunk=10000"]).unwrap();
    }
}
