//! Paper Fig. 1: each layer's weight matrix as a heat map at chosen steps of one episode.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use super::clamp::early_stop_text;
use super::output::{self, Csv, num};
use super::zero::{draw_weight_grid, layer_slices};
use super::{
    ExperimentError, ModelInfo, Probe, Progress, Report, Snapshot, Subject, WeightSteps,
    analysis_protocol, bad,
};

/// A step of the episode: a number, or `end` (its last policy step).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepSpec {
    At(usize),
    End,
}

impl fmt::Display for StepSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepSpec::At(t) => write!(f, "{t}"),
            StepSpec::End => f.write_str("end"),
        }
    }
}

impl FromStr for StepSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "end" => Ok(StepSpec::End),
            t => t
                .parse()
                .map(StepSpec::At)
                .map_err(|_| format!("`{s}` is not a step: give a number or `end`")),
        }
    }
}

/// Parses `0,10,50,end`.
pub fn parse_steps(s: &str) -> Result<Vec<StepSpec>, String> {
    s.split(',').map(str::parse).collect()
}

/// Options of [`weights`].
#[derive(Clone, Debug)]
pub struct WeightsOptions {
    /// Steps to show; `W_t` is the weights the policy uses at step `t`, after `t` Hebbian
    /// updates (`0` = the random initial weights).
    pub at: Vec<StepSpec>,
    /// Evaluation seed; the episode is rollout 0 of `hebbian eval --seed` with one rollout (the
    /// episode `hebbian render --seed` shows).
    pub seed: u64,
    /// Keep the protocol's negative-reward early stop (see [`analysis_protocol`]).
    pub keep_early_stops: bool,
    pub progress: bool,
}

impl Default for WeightsOptions {
    /// Steps 0, 10, 50, 100 and the end; seed 0.
    fn default() -> Self {
        Self {
            at: vec![
                StepSpec::At(0),
                StepSpec::At(10),
                StepSpec::At(50),
                StepSpec::At(100),
                StepSpec::End,
            ],
            seed: 0,
            keep_early_stops: false,
            progress: false,
        }
    }
}

/// One variant's episode.
#[derive(Clone, Debug, Serialize)]
pub struct WeightsVariant {
    pub variant: String,
    /// Policy steps the episode ran.
    pub length: usize,
    pub episode_return: f32,
    /// The steps shown (asked-for steps the episode did not reach are left out).
    pub steps: Vec<usize>,
    /// Per shown step and layer, the largest |w|.
    pub max_abs: Vec<Vec<f32>>,
    #[serde(skip)]
    pub snapshots: Vec<Snapshot>,
}

/// The result of [`weights`].
#[derive(Clone, Debug, Serialize)]
pub struct WeightsReport {
    #[serde(flatten)]
    pub model: ModelInfo,
    pub early_stops: bool,
    /// `(out, in)` of each layer.
    pub layers: Vec<(usize, usize)>,
    pub variants: Vec<WeightsVariant>,
}

/// Runs one episode per variant and keeps the weights at the chosen steps.
pub fn weights(
    subject: &Subject,
    options: &WeightsOptions,
) -> Result<WeightsReport, ExperimentError> {
    subject.require_plastic("weights")?;
    let episode = subject.episode_steps();
    if options.at.is_empty() {
        return Err(bad("--at", "give at least one step"));
    }
    for s in &options.at {
        if let StepSpec::At(t) = *s
            && t >= episode
        {
            return Err(bad(
                "--at",
                format!(
                    "step {t} is beyond the episode: task `{}` runs policy steps 0..{episode} \
                     (use `end` for the last)",
                    subject.task()
                ),
            ));
        }
    }
    let protocol = analysis_protocol(&subject.model.task.protocol, options.keep_early_stops);
    let plan = subject.plan(1, options.seed, protocol);
    let names = subject.variant_names();
    let progress = Progress::new(
        options.progress,
        "weights",
        plan.ticks() * names.len() as u64,
    );
    let fixed: Vec<usize> = options
        .at
        .iter()
        .filter_map(|s| match s {
            StepSpec::At(t) => Some(*t),
            StepSpec::End => None,
        })
        .collect();
    let wants_end = options.at.contains(&StepSpec::End);
    let layers = subject.model.spec.architecture.layer_shapes();
    let mut variants = Vec::new();
    for (v, name) in names.iter().enumerate() {
        progress.message(name.clone());
        // The episode's end is only known afterwards: keep the latest step as well.
        let steps = if wants_end {
            WeightSteps::AtAndLatest(fixed.clone())
        } else {
            WeightSteps::At(fixed.clone())
        };
        let mut o = plan.run(v, &progress, |_, _| Probe {
            weight_steps: steps.clone(),
            ..Probe::default()
        });
        let length = o.lengths[0];
        let mut keep: Vec<usize> = fixed.iter().copied().filter(|&t| t < length).collect();
        if wants_end && length > 0 {
            keep.push(length - 1);
        }
        keep.sort_unstable();
        keep.dedup();
        let snapshots: Vec<Snapshot> = std::mem::take(&mut o.weights)
            .into_iter()
            .filter(|s| keep.contains(&s.step))
            .collect();
        let max_abs = snapshots
            .iter()
            .map(|s| {
                layer_slices(&s.weights, &layers)
                    .iter()
                    .map(|w| w.iter().fold(0.0f32, |m, v| m.max(v.abs())))
                    .collect()
            })
            .collect();
        variants.push(WeightsVariant {
            variant: name.clone(),
            length,
            episode_return: o.fitness[0],
            steps: snapshots.iter().map(|s| s.step).collect(),
            max_abs,
            snapshots,
        });
    }
    Ok(WeightsReport {
        model: ModelInfo::of(subject, options.seed),
        early_stops: options.keep_early_stops,
        layers,
        variants,
    })
}

impl Report for WeightsReport {
    fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        output::create_dir(dir)?;
        let mut csv = Csv::new(&["variant", "t", "layer", "row", "col", "weight"]);
        for v in &self.variants {
            for s in &v.snapshots {
                for (l, w) in layer_slices(&s.weights, &self.layers).iter().enumerate() {
                    let cols = self.layers[l].1;
                    for (k, &x) in w.iter().enumerate() {
                        csv.row(&[
                            v.variant.clone(),
                            s.step.to_string(),
                            l.to_string(),
                            (k / cols).to_string(),
                            (k % cols).to_string(),
                            num(x),
                        ]);
                    }
                }
            }
        }
        let mut files = vec![csv.write(&dir.join("weights.csv"))?];
        for v in &self.variants {
            let columns: Vec<(String, &[f32])> = v
                .snapshots
                .iter()
                .map(|s| {
                    let end = if s.step + 1 == v.length { " (end)" } else { "" };
                    (format!("t={}{end}", s.step), s.weights.as_slice())
                })
                .collect();
            let name = format!("weights_{}.png", output::file_part(&v.variant));
            files.push(draw_weight_grid(
                &dir.join(name),
                &format!(
                    "{} {} ({}): weights during one episode (return {:.1}, {} steps)",
                    self.model.task, self.model.rule, v.variant, v.episode_return, v.length
                ),
                &self.layers,
                &columns,
            )?);
        }
        files.push(output::write_json(&dir.join("summary.json"), self)?);
        Ok(files)
    }

    fn paragraph(&self) -> String {
        let parts: Vec<String> = self
            .variants
            .iter()
            .map(|v| {
                let growth: Vec<String> = v
                    .steps
                    .iter()
                    .zip(&v.max_abs)
                    .map(|(t, m)| {
                        let m: Vec<String> = m.iter().map(|x| format!("{x:.3}")).collect();
                        format!("t={t}: [{}]", m.join(", "))
                    })
                    .collect();
                format!(
                    "{} (return {:.1} over {} steps), max |w| per layer {}",
                    v.variant,
                    v.episode_return,
                    v.length,
                    growth.join(", ")
                )
            })
            .collect();
        format!(
            "weights ({} {}, seed {}, one episode per variant {}): {}.",
            self.model.task,
            self.model.rule,
            self.model.seed,
            early_stop_text(self.early_stops),
            parts.join("; ")
        )
    }
}
