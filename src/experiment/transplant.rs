//! Does the rule adapt to the body it drives? The paper's claim for the unseen damaged Ant is
//! that the Hebbian network rebuilds its controller for the body it finds itself in. Here every
//! body's episodes run as `hebbian eval` runs them (same seeds) until step N; there the weights
//! are swapped for those another body's episode grew by its step N, and frozen. On its own
//! weights (frozen at N) a body keeps what freezing at N leaves; if another body's weights drive
//! it as well, the rule grew one controller for both bodies, not one per body.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::output::{self, Csv, bar_chart, num, png};
use super::{
    ExperimentError, ModelInfo, Probe, Progress, Report, Stats, Subject, bad, check_rollouts,
};

/// Options of [`transplant`].
#[derive(Clone, Debug)]
pub struct TransplantOptions {
    /// N: the step at which weights are swapped and frozen (policy steps; every source episode
    /// has grown its weights for N steps by then).
    pub at: usize,
    /// Rollouts per (source, target) pair; rollout `a` on every target gets the weights of
    /// rollout `a` on the source.
    pub rollouts: usize,
    /// Evaluation seed (rollout `a` is rollout `a` of `hebbian eval --seed`).
    pub seed: u64,
    pub progress: bool,
}

impl Default for TransplantOptions {
    /// N = 200 (past the paper's 30–80 steps of convergence), 20 rollouts, seed 0.
    fn default() -> Self {
        Self {
            at: 200,
            rollouts: 20,
            seed: 0,
            progress: false,
        }
    }
}

/// The returns of one body driven by weights from one source.
#[derive(Clone, Debug, Serialize)]
pub struct TransplantRow {
    /// The body the weights from step N on grew on, or `None` for the target's own plastic
    /// episodes throughout (the model as `hebbian eval` runs it).
    pub grown_on: Option<String>,
    /// The body driven.
    pub driven: String,
    #[serde(flatten)]
    pub stats: Stats,
    /// Rollouts in the statistics: those whose source episode was still running at step N.
    pub rollouts: usize,
    #[serde(skip)]
    pub returns: Vec<f32>,
}

/// The result of [`transplant`].
#[derive(Clone, Debug, Serialize)]
pub struct TransplantReport {
    #[serde(flatten)]
    pub model: ModelInfo,
    /// N.
    pub at: usize,
    pub rollouts: usize,
    /// Per body, its own plastic episodes first, then one row per source body.
    pub rows: Vec<TransplantRow>,
}

/// Runs every variant plastic (recording each rollout's weights at step `at`), then every
/// variant again with its weights swapped at step `at` for each source variant's and frozen.
/// The task's own protocol throughout (early stops included); a rollout whose source or own
/// episode ended before step `at` has no swap, and is left out of that row (each row says
/// how many rollouts it holds).
pub fn transplant(
    subject: &Subject,
    options: &TransplantOptions,
) -> Result<TransplantReport, ExperimentError> {
    subject.require_plastic("transplant")?;
    check_rollouts(options.rollouts, subject.model.genome.len())?;
    let episode = subject.episode_steps();
    if options.at >= episode {
        return Err(bad(
            "--at",
            format!(
                "{} is not before the episode's end: task `{}` runs at most {episode} policy \
                 steps",
                options.at,
                subject.task()
            ),
        ));
    }
    let plan = subject.plan(
        options.rollouts,
        options.seed,
        subject.model.task.protocol.clone(),
    );
    let variants = subject.variant_names();
    let progress = Progress::new(
        options.progress,
        "transplant",
        plan.ticks() * (variants.len() * (variants.len() + 1)) as u64,
    );
    // Every body's own episodes, which also grow the weights to transplant.
    let mut grown = Vec::new();
    let mut rows = Vec::new();
    for (v, name) in variants.iter().enumerate() {
        progress.message(format!("{name}: growing"));
        let o = plan.run(v, &progress, |_, _| Probe {
            capture_at: Some(options.at),
            ..Probe::default()
        });
        let alive: Vec<bool> = o.lengths.iter().map(|&len| len > options.at).collect();
        rows.push(TransplantRow {
            grown_on: None,
            driven: name.clone(),
            stats: Stats::of(&o.fitness),
            rollouts: o.fitness.len(),
            returns: o.fitness,
        });
        grown.push((o.captured, alive));
    }
    for (v, driven) in variants.iter().enumerate() {
        for ((weights, alive), source) in grown.iter().zip(&variants) {
            progress.message(format!("{source} → {driven}"));
            let o = plan.run(v, &progress, |start, n| Probe {
                implant: Some((
                    options.at,
                    weights
                        .iter()
                        .map(|layer| {
                            let per = layer.len() / options.rollouts;
                            layer[start * per..(start + n) * per].to_vec()
                        })
                        .collect(),
                )),
                freeze_at: Some(options.at),
                ..Probe::default()
            });
            let own_alive = &grown[v].1;
            let returns: Vec<f32> = o
                .fitness
                .iter()
                .zip(alive.iter().zip(own_alive))
                .filter(|(_, (a, b))| **a && **b)
                .map(|(&f, _)| f)
                .collect();
            rows.push(TransplantRow {
                grown_on: Some(source.clone()),
                driven: driven.clone(),
                stats: Stats::of(&returns),
                rollouts: returns.len(),
                returns,
            });
        }
    }
    // Each body's rows together: its own episodes, then the sources in variant order.
    rows.sort_by_key(|r| variants.iter().position(|v| *v == r.driven));
    Ok(TransplantReport {
        model: ModelInfo::of(subject, options.seed),
        at: options.at,
        rollouts: options.rollouts,
        rows,
    })
}

impl TransplantRow {
    fn source_label(&self, at: usize) -> String {
        match &self.grown_on {
            None => "own, plastic".into(),
            Some(s) => format!("from step {at}: grown on {s}, frozen"),
        }
    }
}

impl TransplantReport {
    /// The table as markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::from(
            "| body driven | weights | return (mean ± std) | rollouts | min | max |\n\
             |---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            s.push_str(&format!(
                "| {} | {} | {:.1} ± {:.1} | {} | {:.1} | {:.1} |\n",
                r.driven,
                r.source_label(self.at),
                r.stats.mean,
                r.stats.std,
                r.rollouts,
                r.stats.min,
                r.stats.max
            ));
        }
        s
    }
}

impl Report for TransplantReport {
    fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        output::create_dir(dir)?;
        let mut csv = Csv::new(&["driven", "grown_on", "rollout", "return"]);
        for r in &self.rows {
            for (k, &f) in r.returns.iter().enumerate() {
                csv.row(&[
                    r.driven.clone(),
                    r.grown_on.clone().unwrap_or_else(|| "own".into()),
                    k.to_string(),
                    num(f),
                ]);
            }
        }
        let mut files = vec![csv.write(&dir.join("transplant.csv"))?];
        files.push(output::write_text(
            &dir.join("transplant.md"),
            &self.markdown(),
        )?);
        let labels: Vec<String> = self.rows.iter().map(|r| r.source_label(self.at)).collect();
        let (groups, series) = output::bar_series(
            &self.rows.iter().zip(&labels).collect::<Vec<_>>(),
            |(_, label)| label.as_str(),
            |(r, _)| r.driven.as_str(),
            |(r, _)| (r.stats.mean as f64, r.stats.std as f64),
        );
        let title = format!(
            "{} {}: weights swapped at step {} and frozen ({} rollouts, mean ± std)",
            self.model.task, self.model.rule, self.at, self.rollouts
        );
        let width = (260 * groups.len() as u32).clamp(900, 1400);
        files.push(png(&dir.join("transplant.png"), (width, 480), |root| {
            bar_chart(root, &title, "episode return", &groups, &series)
        })?);
        files.push(output::write_json(&dir.join("summary.json"), self)?);
        Ok(files)
    }

    fn paragraph(&self) -> String {
        let parts: Vec<String> = self
            .rows
            .iter()
            .map(|r| {
                format!(
                    "{} with {} weights {:.1} ± {:.1}",
                    r.driven,
                    match &r.grown_on {
                        None => "its own plastic".to_string(),
                        Some(s) => format!("{s}'s frozen"),
                    },
                    r.stats.mean,
                    r.stats.std
                )
            })
            .collect();
        format!(
            "transplant ({} {}, weights swapped and frozen at step {}, {} rollouts, seed {}): {}.",
            self.model.task,
            self.model.rule,
            self.at,
            self.rollouts,
            self.model.seed,
            parts.join("; ")
        )
    }
}
