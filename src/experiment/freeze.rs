//! Paper Fig. 3 (left): Hebbian updates stop after N steps; how much of the return is left?

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::output::{self, Csv, Line, color, line_chart, num, png};
use super::{
    ExperimentError, ModelInfo, Probe, Progress, Report, Stats, Subject, bad, check_rollouts,
};

/// Options of [`freeze`].
#[derive(Clone, Debug)]
pub struct FreezeOptions {
    /// The steps N after which plasticity stops (policy steps; N = 0: the random initial
    /// weights act unchanged). The episode length (no freeze, the reference) is always added.
    pub steps: Vec<usize>,
    /// Rollouts per N and variant.
    pub rollouts: usize,
    /// Evaluation seed (rollout `a` is rollout `a` of `hebbian eval --seed`).
    pub seed: u64,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

impl Default for FreezeOptions {
    /// N = 0, 10, ..., 200; 20 rollouts; seed 0.
    fn default() -> Self {
        Self {
            steps: (0..=200).step_by(10).collect(),
            rollouts: 20,
            seed: 0,
            progress: false,
        }
    }
}

/// Returns with plasticity frozen after N steps.
#[derive(Clone, Debug, Serialize)]
pub struct FreezePoint {
    /// N: Hebbian updates at steps `0..N`, none after.
    pub freeze_after: usize,
    #[serde(flatten)]
    pub stats: Stats,
    /// Mean episode length (policy steps).
    pub mean_length: f32,
    /// Per rollout (diverged ones as `-inf`).
    #[serde(skip)]
    pub returns: Vec<f32>,
    #[serde(skip)]
    pub lengths: Vec<usize>,
}

/// One variant (e.g. an Ant morphology).
#[derive(Clone, Debug, Serialize)]
pub struct FreezeVariant {
    pub variant: String,
    /// One point per N, increasing; the last is the episode length (no freeze).
    pub points: Vec<FreezePoint>,
    /// The smallest listed N from which every later listed N keeps the mean return at least at
    /// the unfrozen mean less 10 % of its magnitude: "the weights have converged by then".
    /// `None` if only the unfrozen run qualifies.
    pub converged_after: Option<usize>,
}

/// The result of [`freeze`].
#[derive(Clone, Debug, Serialize)]
pub struct FreezeReport {
    #[serde(flatten)]
    pub model: ModelInfo,
    pub rollouts: usize,
    /// Policy steps of a full episode.
    pub episode_steps: usize,
    pub variants: Vec<FreezeVariant>,
}

/// Runs `rollouts` episodes per N and variant with Hebbian updates stopped after N steps, with
/// the task's own protocol (early stops included) and the seeds of `hebbian eval`: N = 0 is
/// the random initial weights held fixed, N ≥ the episode length is plain evaluation.
pub fn freeze(subject: &Subject, options: &FreezeOptions) -> Result<FreezeReport, ExperimentError> {
    subject.require_plastic("freeze")?;
    check_rollouts(options.rollouts, subject.model.genome.len())?;
    let episode = subject.episode_steps();
    if let Some(&n) = options.steps.iter().find(|&&n| n > episode) {
        return Err(bad(
            "--steps",
            format!(
                "{n} is beyond the episode: task `{}` runs at most {episode} policy steps",
                subject.task()
            ),
        ));
    }
    let mut steps = options.steps.clone();
    steps.push(episode);
    steps.sort_unstable();
    steps.dedup();
    let plan = subject.plan(
        options.rollouts,
        options.seed,
        subject.model.task.protocol.clone(),
    );
    let variants = subject.variant_names();
    let progress = Progress::new(
        options.progress,
        "freeze",
        plan.ticks() * (steps.len() * variants.len()) as u64,
    );
    let mut out = Vec::new();
    for (v, name) in variants.iter().enumerate() {
        let mut points = Vec::new();
        for &n in &steps {
            progress.message(format!("{name} N={n}"));
            let o = plan.run(v, &progress, |_, _| Probe {
                freeze_at: Some(n),
                ..Probe::default()
            });
            let mean_length =
                o.lengths.iter().sum::<usize>() as f32 / o.lengths.len().max(1) as f32;
            points.push(FreezePoint {
                freeze_after: n,
                stats: Stats::of(&o.fitness),
                mean_length,
                returns: o.fitness,
                lengths: o.lengths,
            });
        }
        let full = points.last().expect("the unfrozen point").stats.mean;
        let floor = full - 0.1 * full.abs();
        // Walk back from the unfrozen end while the means stay above the floor.
        let mut converged = None;
        for p in points.iter().rev().skip(1) {
            if p.stats.mean >= floor {
                converged = Some(p.freeze_after);
            } else {
                break;
            }
        }
        out.push(FreezeVariant {
            variant: name.clone(),
            points,
            converged_after: converged,
        });
    }
    Ok(FreezeReport {
        model: ModelInfo::of(subject, options.seed),
        rollouts: options.rollouts,
        episode_steps: episode,
        variants: out,
    })
}

impl Report for FreezeReport {
    fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        output::create_dir(dir)?;
        let mut csv = Csv::new(&["variant", "freeze_after", "rollout", "return", "length"]);
        for v in &self.variants {
            for p in &v.points {
                for (r, (&f, &l)) in p.returns.iter().zip(&p.lengths).enumerate() {
                    csv.row(&[
                        v.variant.clone(),
                        p.freeze_after.to_string(),
                        r.to_string(),
                        num(f),
                        l.to_string(),
                    ]);
                }
            }
        }
        let mut files = vec![csv.write(&dir.join("freeze.csv"))?];
        let title = format!(
            "{} {}: return when plasticity stops after N steps ({} rollouts, mean ± std)",
            self.model.task, self.model.rule, self.rollouts
        );
        files.push(png(&dir.join("freeze.png"), (900, 520), |root| {
            let lines: Vec<Line> = self
                .variants
                .iter()
                .enumerate()
                .map(|(i, v)| Line {
                    label: v.variant.clone(),
                    color: color(i),
                    points: v
                        .points
                        .iter()
                        .map(|p| (p.freeze_after as f64, p.stats.mean as f64))
                        .collect(),
                    band: v
                        .points
                        .iter()
                        .map(|p| {
                            let (m, s) = (p.stats.mean as f64, p.stats.std as f64);
                            (p.freeze_after as f64, m - s, m + s)
                        })
                        .collect(),
                    markers: true,
                })
                .collect();
            line_chart(
                root,
                &title,
                (
                    "N: Hebbian steps before the weights freeze",
                    "episode return",
                ),
                &lines,
                None,
            )
        })?);
        files.push(output::write_json(&dir.join("summary.json"), self)?);
        Ok(files)
    }

    fn paragraph(&self) -> String {
        let parts: Vec<String> = self
            .variants
            .iter()
            .map(|v| {
                let first = &v.points[0];
                let last = v.points.last().expect("points");
                let conv = match v.converged_after {
                    Some(n) => format!("within 10 % of it from N = {n} on"),
                    None => "below it for every listed N".into(),
                };
                format!(
                    "{}: {:.1} ± {:.1} with the weights frozen after N = {} steps, {:.1} ± {:.1} \
                     unfrozen, {conv}",
                    v.variant,
                    first.stats.mean,
                    first.stats.std,
                    first.freeze_after,
                    last.stats.mean,
                    last.stats.std
                )
            })
            .collect();
        format!(
            "freeze ({} {}, {} rollouts per N, seed {}): {}.",
            self.model.task,
            self.model.rule,
            self.rollouts,
            self.model.seed,
            parts.join("; ")
        )
    }
}
