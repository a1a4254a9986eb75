//! What the clamp and zero experiments share: per-step rewards of unperturbed and perturbed
//! rollouts with the same seeds, recovery times, their CSV and their reward-curve figure.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::output::{Csv, Line, color, line_chart, num, png};
use super::{ExperimentError, Outcome, Recovery, Stats, moving_average};

/// The per-step rewards of one variant's rollouts, unperturbed and perturbed (same seeds).
/// Each inner vector holds one rollout's rewards for the steps it ran (its length is the
/// episode's); a diverged step is `NaN`.
#[derive(Clone, Debug, Default)]
pub struct RewardSeries {
    pub unperturbed: Vec<Vec<f32>>,
    pub perturbed: Vec<Vec<f32>>,
    pub unperturbed_fitness: Vec<f32>,
    pub perturbed_fitness: Vec<f32>,
}

/// One variant of a clamp or zero experiment.
#[derive(Clone, Debug, Serialize)]
pub struct PerturbedVariant {
    pub variant: String,
    /// Episode returns without and with the perturbation.
    pub unperturbed: Stats,
    pub perturbed: Stats,
    /// Mean episode length (policy steps) without and with the perturbation.
    pub unperturbed_length: f32,
    pub perturbed_length: f32,
    /// Per rollout: steps from the end of the perturbation to recovery ([`Recovery`]), `None`
    /// when it did not recover.
    pub recovery: Vec<Option<usize>>,
    /// Rollouts that recovered.
    pub recovered: usize,
    /// Rollouts whose unperturbed episode ended before the perturbation did (left out of the
    /// recovery counts: there is nothing to recover to).
    pub ended_before: usize,
    /// The first step after the perturbation, from which recovery is counted.
    pub end: usize,
    /// Median and mean recovery time over the rollouts that recovered.
    pub median_recovery: Option<f32>,
    pub mean_recovery: Option<f32>,
    #[serde(skip)]
    pub series: RewardSeries,
}

impl PerturbedVariant {
    pub(crate) fn new(
        variant: &str,
        plain: Outcome,
        perturbed: Outcome,
        end: usize,
        criterion: &Recovery,
    ) -> Self {
        let recovery: Vec<Option<usize>> = plain
            .rewards
            .iter()
            .zip(&perturbed.rewards)
            .map(|(u, p)| criterion.time(u, p, end))
            .collect();
        let mut times: Vec<f32> = recovery.iter().flatten().map(|&t| t as f32).collect();
        times.sort_by(f32::total_cmp);
        let median_recovery = (!times.is_empty()).then(|| {
            let n = times.len();
            if n % 2 == 1 {
                times[n / 2]
            } else {
                0.5 * (times[n / 2 - 1] + times[n / 2])
            }
        });
        let mean_recovery =
            (!times.is_empty()).then(|| times.iter().sum::<f32>() / times.len() as f32);
        let mean_len = |l: &[usize]| l.iter().sum::<usize>() as f32 / l.len().max(1) as f32;
        let ended_before = plain.rewards.iter().filter(|u| u.len() <= end).count();
        Self {
            variant: variant.to_string(),
            ended_before,
            end,
            unperturbed: Stats::of(&plain.fitness),
            perturbed: Stats::of(&perturbed.fitness),
            unperturbed_length: mean_len(&plain.lengths),
            perturbed_length: mean_len(&perturbed.lengths),
            recovered: times.len(),
            median_recovery,
            mean_recovery,
            recovery,
            series: RewardSeries {
                unperturbed: plain.rewards,
                perturbed: perturbed.rewards,
                unperturbed_fitness: plain.fitness,
                perturbed_fitness: perturbed.fitness,
            },
        }
    }

    /// "3/5 rollouts recovered (median 41 steps after the perturbation)".
    pub(crate) fn recovery_text(&self) -> String {
        let n = self.recovery.len() - self.ended_before;
        let mut text = match self.median_recovery {
            Some(m) => format!(
                "{}/{n} rollouts recovered (median {m:.0} steps after the perturbation)",
                self.recovered
            ),
            None => format!("0/{n} rollouts recovered"),
        };
        if self.ended_before > 0 {
            text.push_str(&format!(
                ", {} left out (unperturbed episode over by step {})",
                self.ended_before, self.end
            ));
        }
        text
    }
}

/// `variant,rollout,t,reward_unperturbed,reward_perturbed` (empty = the episode had ended).
pub(crate) fn write_rewards_csv(
    path: &Path,
    variants: &[PerturbedVariant],
) -> Result<PathBuf, ExperimentError> {
    let mut csv = Csv::new(&[
        "variant",
        "rollout",
        "t",
        "reward_unperturbed",
        "reward_perturbed",
    ]);
    for v in variants {
        for (r, (u, p)) in v
            .series
            .unperturbed
            .iter()
            .zip(&v.series.perturbed)
            .enumerate()
        {
            for t in 0..u.len().max(p.len()) {
                let at = |x: &Vec<f32>| x.get(t).copied().unwrap_or(f32::NAN);
                csv.row(&[
                    v.variant.clone(),
                    r.to_string(),
                    t.to_string(),
                    num(at(u)),
                    num(at(p)),
                ]);
            }
        }
    }
    csv.write(path)
}

/// Per step, the mean reward over the rollouts still running (`NaN` once none is).
pub(crate) fn mean_curve(rollouts: &[Vec<f32>]) -> Vec<f32> {
    let len = rollouts.iter().map(Vec::len).max().unwrap_or(0);
    (0..len)
        .map(|t| {
            let live: Vec<f32> = rollouts.iter().filter_map(|r| r.get(t).copied()).collect();
            if live.is_empty() {
                f32::NAN
            } else {
                live.iter().sum::<f32>() / live.len() as f32
            }
        })
        .collect()
}

/// Per step, how many rollouts are still running.
fn running(rollouts: &[Vec<f32>], len: usize) -> Vec<(f64, f64)> {
    (0..len)
        .map(|t| {
            let n = rollouts.iter().filter(|r| r.len() > t).count();
            (t as f64, n as f64)
        })
        .collect()
}

/// Per variant: above, the moving average of the mean reward per step (over the rollouts still
/// running), unperturbed vs perturbed; below, how many rollouts are still running. The
/// perturbation is shaded.
pub(crate) fn draw_rewards(
    path: &Path,
    title: &str,
    variants: &[PerturbedVariant],
    window: usize,
    shade: (f64, f64),
    perturbed_label: &str,
) -> Result<PathBuf, ExperimentError> {
    let rows = variants.len().max(1);
    png(path, (900, 420 * rows as u32 + 30), |root| {
        let body = root
            .titled(title, ("sans-serif", 20))
            .map_err(super::output::err)?;
        for (area, v) in body.split_evenly((rows, 1)).iter().zip(variants) {
            let (_, h) = area.dim_in_pixel();
            let (top, bottom) = area.split_vertically(h * 64 / 100);
            let curve = |r: &[Vec<f32>]| {
                moving_average(&mean_curve(r), window)
                    .iter()
                    .enumerate()
                    .map(|(t, &y)| (t as f64, y as f64))
                    .collect::<Vec<_>>()
            };
            let len = v
                .series
                .unperturbed
                .iter()
                .chain(&v.series.perturbed)
                .map(Vec::len)
                .max()
                .unwrap_or(0);
            let pair = |a: Vec<(f64, f64)>, b: Vec<(f64, f64)>| {
                [
                    Line {
                        label: "unperturbed".into(),
                        color: color(0),
                        points: a,
                        band: Vec::new(),
                        markers: false,
                    },
                    Line {
                        label: perturbed_label.into(),
                        color: color(1),
                        points: b,
                        band: Vec::new(),
                        markers: false,
                    },
                ]
            };
            line_chart(
                &top,
                &format!("{}: {}", v.variant, v.recovery_text()),
                ("policy step", &format!("reward ({window}-step moving avg)")),
                &pair(curve(&v.series.unperturbed), curve(&v.series.perturbed)),
                Some(shade),
            )?;
            line_chart(
                &bottom,
                "",
                ("policy step", "rollouts running"),
                &pair(
                    running(&v.series.unperturbed, len),
                    running(&v.series.perturbed, len),
                ),
                Some(shade),
            )?;
        }
        Ok(())
    })
}
