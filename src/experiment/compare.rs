//! Paper Table 1: several models (e.g. Hebbian and static) over many rollouts per variant, with
//! the paper's "solved" criterion for the Ant.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::output::{self, Csv, bar_chart, num, png};
use super::{ExperimentError, Probe, Progress, Report, Stats, Subject, bad, check_rollouts};

/// When an Ant rollout counts as solved.
///
/// The paper (Table 1) calls a morphology solved when the agent moves "at least 100 units" away
/// from its start along the walking axis, monotonically. The units are those of the fitness:
/// Σ progress, where one unit ≈ 1.73 cm of straight walking so 100 units ≈ 1.7 m. The
/// paper does not define "monotonically" further; this implementation makes it checkable:
///
/// 1. **distance**: the episode's Σ progress (its fitness) is at least `distance`;
/// 2. **monotonic**: the running Σ progress never falls more than `max_setback` below its
///    running maximum (a gait that sways back a few centimetres within a stride passes; one that
///    walks back, turns round, or first goes the wrong way by more than that does not).
///
/// A diverged rollout is never solved. A variant (morphology) is reported solved when more than
/// half of its rollouts are.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SolvedCriterion {
    /// Σ progress needed (the paper: 100 units).
    pub distance: f32,
    /// The largest allowed drop of Σ progress below its running maximum (units).
    pub max_setback: f32,
}

impl Default for SolvedCriterion {
    /// 100 units, setbacks of at most 10 units (≈ 17 cm, a tenth of the distance).
    fn default() -> Self {
        Self {
            distance: 100.0,
            max_setback: 10.0,
        }
    }
}

impl SolvedCriterion {
    /// Whether one rollout with return `fitness` and largest setback `setback` is solved.
    pub fn solved(&self, fitness: f32, setback: f32) -> bool {
        fitness.is_finite() && fitness >= self.distance && setback <= self.max_setback
    }
}

/// Options of [`compare`].
#[derive(Clone, Debug)]
pub struct CompareOptions {
    pub rollouts: usize,
    pub seed: u64,
    /// The Ant's solved criterion.
    pub solved: SolvedCriterion,
    pub progress: bool,
}

impl Default for CompareOptions {
    /// 100 rollouts per variant, seed 0, the default criterion.
    fn default() -> Self {
        Self {
            rollouts: 100,
            seed: 0,
            solved: SolvedCriterion::default(),
            progress: false,
        }
    }
}

/// One model on one variant.
#[derive(Clone, Debug, Serialize)]
pub struct CompareRow {
    /// The model's file name (without extension).
    pub model: String,
    pub rule: String,
    pub variant: String,
    #[serde(flatten)]
    pub stats: Stats,
    /// Ant: rollouts solved ([`SolvedCriterion`]); other tasks: rollouts at or above the gym
    /// threshold.
    pub solved_rollouts: Option<usize>,
    /// Ant: more than half of the rollouts solved; CarRacing/CartPole: the gym criterion (mean
    /// of the rollouts at least 900 / 475).
    pub solved: Option<bool>,
    #[serde(skip)]
    pub returns: Vec<f32>,
    /// Per rollout, the largest drop of the running return below its running maximum.
    #[serde(skip)]
    pub setbacks: Vec<f32>,
}

/// The result of [`compare`].
#[derive(Clone, Debug, Serialize)]
pub struct CompareReport {
    pub task: String,
    pub seed: u64,
    pub rollouts: usize,
    /// The criterion used for `solved`, in words.
    pub solved_definition: String,
    pub models: Vec<String>,
    pub rows: Vec<CompareRow>,
}

/// gym's "solved" return for a task without the paper's own criterion.
fn gym_threshold(task: &str) -> Option<f32> {
    match task {
        "car_racing" => Some(900.0),
        "cartpole" => Some(475.0),
        _ => None,
    }
}

/// Evaluates every model on every variant of their (common) task with the seeds of
/// `hebbian eval` (so each row's statistics equal `hebbian eval`'s).
pub fn compare(
    subjects: &[Subject],
    options: &CompareOptions,
) -> Result<CompareReport, ExperimentError> {
    check_rollouts(
        options.rollouts,
        subjects
            .iter()
            .map(|s| s.model.genome.len())
            .max()
            .unwrap_or(0),
    )?;
    let first = subjects
        .first()
        .ok_or_else(|| bad("--model", "give at least one model"))?;
    for s in subjects {
        if s.task() != first.task() {
            return Err(bad(
                "--model",
                format!(
                    "all models must be for one task: {} is `{}`, {} is `{}`",
                    first.path.display(),
                    first.task(),
                    s.path.display(),
                    s.task()
                ),
            ));
        }
    }
    let c = options.solved;
    if !(c.distance.is_finite() && c.max_setback.is_finite() && c.max_setback >= 0.0) {
        return Err(bad(
            "--solved-distance",
            "the distance and --max-setback must be finite, the setback >= 0",
        ));
    }
    let task = first.task().to_string();
    let ant = task == "ant";
    let plans: Vec<_> = subjects
        .iter()
        .map(|s| {
            s.plan(
                options.rollouts,
                options.seed,
                s.model.task.protocol.clone(),
            )
        })
        .collect();
    let total: u64 = plans
        .iter()
        .zip(subjects)
        .map(|(p, s)| p.ticks() * s.model.task.variants.len() as u64)
        .sum();
    let progress = Progress::new(options.progress, "compare", total);
    let mut rows = Vec::new();
    for (s, plan) in subjects.iter().zip(&plans) {
        for (v, name) in s.variant_names().iter().enumerate() {
            progress.message(format!("{} {name}", s.name()));
            let o = plan.run(v, &progress, |_, _| Probe {
                track_setback: true,
                ..Probe::default()
            });
            let stats = Stats::of(&o.fitness);
            let (solved_rollouts, solved) = if ant {
                let n = o
                    .fitness
                    .iter()
                    .zip(&o.setbacks)
                    .filter(|(f, b)| c.solved(**f, **b))
                    .count();
                (Some(n), Some(2 * n > o.fitness.len()))
            } else if let Some(th) = gym_threshold(&task) {
                let n = o.fitness.iter().filter(|&&f| f >= th).count();
                (Some(n), Some(stats.mean >= th))
            } else {
                (None, None)
            };
            rows.push(CompareRow {
                model: s.name(),
                rule: s.rule(),
                variant: name.clone(),
                stats,
                solved_rollouts,
                solved,
                returns: o.fitness,
                setbacks: o.setbacks,
            });
        }
    }
    let solved_definition = if ant {
        format!(
            "a rollout is solved when its Σ progress is at least {} units and never falls more \
             than {} units below its running maximum; a morphology when more than half of its \
             rollouts are",
            c.distance, c.max_setback
        )
    } else if let Some(th) = gym_threshold(&task) {
        format!("gym's criterion: mean return at least {th} (rollouts at or above it counted)")
    } else {
        "none".into()
    };
    Ok(CompareReport {
        task,
        seed: options.seed,
        rollouts: options.rollouts,
        solved_definition,
        models: subjects
            .iter()
            .map(|s| s.path.display().to_string())
            .collect(),
        rows,
    })
}

impl CompareReport {
    /// The table as markdown.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "| model | rule | variant | return (mean ± std over {} rollouts) | min | max | solved |\n\
             |---|---|---|---|---|---|---|\n",
            self.rollouts
        );
        for r in &self.rows {
            let solved = match (r.solved, r.solved_rollouts) {
                (Some(yes), Some(n)) => format!(
                    "{} ({n}/{})",
                    if yes { "yes" } else { "no" },
                    r.returns.len()
                ),
                _ => "-".into(),
            };
            let diverged = if r.stats.diverged > 0 {
                format!(" ({} diverged)", r.stats.diverged)
            } else {
                String::new()
            };
            s.push_str(&format!(
                "| {} | {} | {} | {:.1} ± {:.1}{diverged} | {:.1} | {:.1} | {solved} |\n",
                r.model, r.rule, r.variant, r.stats.mean, r.stats.std, r.stats.min, r.stats.max
            ));
        }
        s.push_str(&format!("\nSolved: {}.\n", self.solved_definition));
        s
    }
}

impl Report for CompareReport {
    fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        output::create_dir(dir)?;
        let mut csv = Csv::new(&["model", "rule", "variant", "rollout", "return", "setback"]);
        for r in &self.rows {
            for (k, (&f, &b)) in r.returns.iter().zip(&r.setbacks).enumerate() {
                csv.row(&[
                    r.model.clone(),
                    r.rule.clone(),
                    r.variant.clone(),
                    k.to_string(),
                    num(f),
                    num(b),
                ]);
            }
        }
        let mut files = vec![csv.write(&dir.join("compare.csv"))?];
        files.push(output::write_text(
            &dir.join("compare.md"),
            &self.markdown(),
        )?);
        let (variants, series) = output::bar_series(
            &self.rows,
            |r| &r.model,
            |r| &r.variant,
            |r| (r.stats.mean as f64, r.stats.std as f64),
        );
        let title = format!(
            "{}: return per variant ({} rollouts, mean ± std)",
            self.task, self.rollouts
        );
        let width = (260 * variants.len() as u32).clamp(600, 1200);
        files.push(png(&dir.join("compare.png"), (width, 460), |root| {
            bar_chart(root, &title, "episode return", &variants, &series)
        })?);
        files.push(output::write_json(&dir.join("summary.json"), self)?);
        Ok(files)
    }

    fn paragraph(&self) -> String {
        let parts: Vec<String> = self
            .rows
            .iter()
            .map(|r| {
                let solved = match (r.solved, r.solved_rollouts) {
                    (Some(yes), Some(n)) => format!(
                        ", {} ({n}/{} rollouts)",
                        if yes { "solved" } else { "not solved" },
                        r.returns.len()
                    ),
                    _ => String::new(),
                };
                format!(
                    "{} on {}: {:.1} ± {:.1}{solved}",
                    r.model, r.variant, r.stats.mean, r.stats.std
                )
            })
            .collect();
        format!(
            "compare ({}, {} rollouts per variant, seed {}; solved: {}): {}.",
            self.task,
            self.rollouts,
            self.seed,
            self.solved_definition,
            parts.join("; ")
        )
    }
}
