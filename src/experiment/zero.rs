//! Paper Fig. 4: a band of each layer's synapses set to zero in the middle of an episode; do the
//! Hebbian rules regrow them, and how fast does the reward recover?

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::clamp::{check_recovery, early_stop_text};
use super::output::{self, colorbar, heatmap, png};
use super::perturb::{PerturbedVariant, draw_rewards, write_rewards_csv};
use super::{
    ExperimentError, ModelInfo, Probe, Progress, Recovery, Report, Snapshot, Subject, WeightSteps,
    ZeroBand, analysis_protocol, bad, check_rollouts,
};

/// Options of [`zero`].
#[derive(Clone, Debug)]
pub struct ZeroOptions {
    /// The step before which the band is zeroed; `None` = 500, or the middle of shorter
    /// episodes (CartPole: 250).
    pub at: Option<usize>,
    /// The fraction of each layer's synapses zeroed, in [0, 1): a contiguous, centred band of
    /// the row-major `[out, in]` matrix ([`zero_band`](super::zero_band)). 0 zeroes nothing: the run equals the
    /// unperturbed one bit for bit.
    pub fraction: f64,
    pub rollouts: usize,
    pub seed: u64,
    /// Keep the protocol's negative-reward early stop (see [`analysis_protocol`]).
    pub keep_early_stops: bool,
    pub recovery: Recovery,
    pub progress: bool,
}

impl Default for ZeroOptions {
    /// A third of each layer at step 500 (or mid-episode), 10 rollouts, seed 0.
    fn default() -> Self {
        Self {
            at: None,
            fraction: 1.0 / 3.0,
            rollouts: 10,
            seed: 0,
            keep_early_stops: false,
            recovery: Recovery::default(),
            progress: false,
        }
    }
}

/// The result of [`zero`].
#[derive(Clone, Debug, Serialize)]
pub struct ZeroReport {
    #[serde(flatten)]
    pub model: ModelInfo,
    pub at: usize,
    pub fraction: f64,
    pub rollouts: usize,
    /// Whether the negative-reward early stop was on (normally off for this analysis).
    pub early_stops: bool,
    pub recovery_criterion: Recovery,
    pub variants: Vec<PerturbedVariant>,
    /// `(out, in)` of each layer.
    pub layers: Vec<(usize, usize)>,
    /// Per variant, rollout 0's weights just before zeroing, just after, and at `at + 1` and
    /// `at + 10` (the steps its episode reached).
    #[serde(skip)]
    pub images: Vec<Vec<Snapshot>>,
}

/// Runs each variant's rollouts with the same seeds without and with the band zeroed just
/// before step `at` acts, and records rollout 0's weights around it.
pub fn zero(subject: &Subject, options: &ZeroOptions) -> Result<ZeroReport, ExperimentError> {
    subject.require_plastic("zero")?;
    check_rollouts(options.rollouts, subject.model.genome.len())?;
    check_recovery(&options.recovery)?;
    let episode = subject.episode_steps();
    let at = options.at.unwrap_or(500.min(episode / 2));
    if at >= episode {
        return Err(bad(
            "--at",
            format!(
                "step {at} is beyond the episode: task `{}` runs policy steps 0..{episode}",
                subject.task()
            ),
        ));
    }
    if !(0.0..1.0).contains(&options.fraction) {
        return Err(bad(
            "--fraction",
            format!(
                "{} is outside [0, 1): give the share of each layer's synapses to zero, e.g. \
                 0.333 (0 zeroes nothing)",
                options.fraction
            ),
        ));
    }
    let protocol = analysis_protocol(&subject.model.task.protocol, options.keep_early_stops);
    let plan = subject.plan(options.rollouts, options.seed, protocol);
    let names = subject.variant_names();
    let progress = Progress::new(
        options.progress,
        "zero",
        plan.ticks() * 2 * names.len() as u64,
    );
    let image_steps: Vec<usize> = [at, at + 1, at + 10]
        .into_iter()
        .filter(|&t| t < episode)
        .collect();
    let band = ZeroBand {
        at,
        fraction: options.fraction,
    };
    let mut variants = Vec::new();
    let mut images = Vec::new();
    for (v, name) in names.iter().enumerate() {
        progress.message(format!("{name} unperturbed"));
        let plain = plan.run(v, &progress, |_, _| Probe {
            record_rewards: true,
            ..Probe::default()
        });
        progress.message(format!("{name} zeroed"));
        let mut zeroed = plan.run(v, &progress, |_, _| Probe {
            record_rewards: true,
            zero: Some(band),
            weight_steps: WeightSteps::At(image_steps.clone()),
            ..Probe::default()
        });
        // Only the steps rollout 0's episode reached.
        let reached = zeroed.lengths[0];
        let snaps: Vec<Snapshot> = std::mem::take(&mut zeroed.weights)
            .into_iter()
            .filter(|s| s.step < reached)
            .collect();
        images.push(snaps);
        variants.push(PerturbedVariant::new(
            name,
            plain,
            zeroed,
            at,
            &options.recovery,
        ));
    }
    Ok(ZeroReport {
        model: ModelInfo::of(subject, options.seed),
        at,
        fraction: options.fraction,
        rollouts: options.rollouts,
        early_stops: options.keep_early_stops,
        recovery_criterion: options.recovery,
        variants,
        layers: subject.model.spec.architecture.layer_shapes(),
        images,
    })
}

/// Splits a flat all-layer weight vector into per-layer slices.
pub(crate) fn layer_slices<'a>(flat: &'a [f32], layers: &[(usize, usize)]) -> Vec<&'a [f32]> {
    let mut out = Vec::new();
    let mut off = 0;
    for &(o, i) in layers {
        out.push(&flat[off..off + o * i]);
        off += o * i;
    }
    out
}

/// A grid of heat maps: rows = layers, columns = snapshots, one colour scale per layer (the
/// largest |w| of that layer over the columns).
pub(crate) fn draw_weight_grid(
    path: &Path,
    title: &str,
    layers: &[(usize, usize)],
    columns: &[(String, &[f32])],
) -> Result<PathBuf, ExperimentError> {
    let (panel_w, panel_h) = (220u32, 120u32);
    let cols = columns.len().max(1) as u32;
    let rows = layers.len() as u32;
    let width = 70 + panel_w * cols;
    let height = 34 + panel_h * rows;
    png(path, (width, height), |root| {
        let body = root
            .titled(title, ("sans-serif", 16))
            .map_err(output::err)?;
        let (grid, bars) = body.split_horizontally(width - 70);
        let cells = grid.split_evenly((layers.len(), columns.len().max(1)));
        let bar_cells = bars.split_evenly((layers.len(), 1));
        for (l, &(o, i)) in layers.iter().enumerate() {
            let slices: Vec<&[f32]> = columns
                .iter()
                .map(|(_, flat)| layer_slices(flat, layers)[l])
                .collect();
            let scale = slices
                .iter()
                .flat_map(|s| s.iter())
                .filter(|v| v.is_finite())
                .fold(0.0f32, |m, v| m.max(v.abs()));
            for (c, ((label, _), data)) in columns.iter().zip(&slices).enumerate() {
                let area = &cells[l * columns.len() + c];
                heatmap(
                    area,
                    &format!("layer {l} ({o}x{i}), {label}"),
                    data,
                    (o, i),
                    scale,
                )?;
            }
            colorbar(&bar_cells[l], scale)?;
        }
        Ok(())
    })
}

impl Report for ZeroReport {
    fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        output::create_dir(dir)?;
        let mut files = vec![write_rewards_csv(&dir.join("zero.csv"), &self.variants)?];
        let title = format!(
            "{} {}: {:.0} % of each layer's synapses zeroed before step {}",
            self.model.task,
            self.model.rule,
            self.fraction * 100.0,
            self.at
        );
        files.push(draw_rewards(
            &dir.join("zero.png"),
            &title,
            &self.variants,
            self.recovery_criterion.window,
            (self.at as f64, self.at as f64 + 1.0),
            "zeroed",
        )?);
        for (v, snaps) in self.variants.iter().zip(&self.images) {
            if snaps.is_empty() {
                continue;
            }
            let columns: Vec<(String, &[f32])> = snaps
                .iter()
                .map(|s| {
                    let label = if s.step == self.at && !s.after_perturbation {
                        format!("t={} before", s.step)
                    } else if s.step == self.at {
                        format!("t={} zeroed", s.step)
                    } else {
                        format!("t={}", s.step)
                    };
                    (label, s.weights.as_slice())
                })
                .collect();
            let name = format!("zero_weights_{}.png", output::file_part(&v.variant));
            files.push(draw_weight_grid(
                &dir.join(name),
                &format!(
                    "{} {} ({}, rollout 0): weights around the zeroing",
                    self.model.task, self.model.rule, v.variant
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
                format!(
                    "{}: return {:.1} ± {:.1} unperturbed vs {:.1} ± {:.1} zeroed, {}",
                    v.variant,
                    v.unperturbed.mean,
                    v.unperturbed.std,
                    v.perturbed.mean,
                    v.perturbed.std,
                    v.recovery_text()
                )
            })
            .collect();
        format!(
            "zero ({} {}, {:.1} % of each layer's synapses zeroed before step {}, {} rollouts, \
             seed {}, {}; recovery = {}-step moving average of the reward within {} % of the \
             unperturbed one to the end of the episode): {}.",
            self.model.task,
            self.model.rule,
            self.fraction * 100.0,
            self.at,
            self.rollouts,
            self.model.seed,
            early_stop_text(self.early_stops),
            self.recovery_criterion.window,
            self.recovery_criterion.tolerance * 100.0,
            parts.join("; ")
        )
    }
}
