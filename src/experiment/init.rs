//! Paper §4.1: do the evolved rules still work when the random weights they start from come
//! from another distribution (e.g. N(0, 0.1) instead of U(−0.1, 0.1))?

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::output::{self, Csv, bar_chart, num, png};
use super::{ExperimentError, ModelInfo, Progress, Report, Stats, Subject, bad, check_rollouts};
use crate::plastic::WeightInit;
use crate::rollout::{Chunking, RepeatedGenome, evaluate};

/// Options of [`init`].
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The initial-weight distributions to try (not `coevolve`).
    pub inits: Vec<WeightInit>,
    pub rollouts: usize,
    pub seed: u64,
    pub progress: bool,
}

impl Default for InitOptions {
    /// Every named distribution but `coevolve`, plus the paper's N(0, 0.1); 20 rollouts.
    fn default() -> Self {
        let mut inits: Vec<WeightInit> = WeightInit::ALL
            .into_iter()
            .filter(|w| *w != WeightInit::Coevolve)
            .collect();
        inits.push(WeightInit::NormalStd(0.1));
        Self {
            inits,
            rollouts: 20,
            seed: 0,
            progress: false,
        }
    }
}

/// Returns of one variant under one initial-weight distribution.
#[derive(Clone, Debug, Serialize)]
pub struct InitRow {
    pub init: String,
    /// The distribution the model was trained with.
    pub trained_with: bool,
    pub variant: String,
    #[serde(flatten)]
    pub stats: Stats,
    #[serde(skip)]
    pub returns: Vec<f32>,
}

/// The result of [`init`].
#[derive(Clone, Debug, Serialize)]
pub struct InitReport {
    #[serde(flatten)]
    pub model: ModelInfo,
    pub trained_init: String,
    pub rollouts: usize,
    pub rows: Vec<InitRow>,
}

/// Evaluates the model (as `hebbian eval` does, same seeds) once per initial-weight
/// distribution; the row of the trained distribution equals `hebbian eval`.
pub fn init(subject: &Subject, options: &InitOptions) -> Result<InitReport, ExperimentError> {
    subject.require_plastic("init")?;
    check_rollouts(options.rollouts, subject.model.genome.len())?;
    let m = &subject.model;
    if m.spec.init == WeightInit::Coevolve {
        return Err(bad(
            "--model",
            format!(
                "{} co-evolves its initial weights (init = coevolve): they are part of the \
                 genome, not drawn from a distribution",
                subject.path.display()
            ),
        ));
    }
    if options.inits.is_empty() {
        return Err(bad("--inits", "give at least one distribution"));
    }
    if options.inits.contains(&WeightInit::Coevolve) {
        return Err(bad(
            "--inits",
            "`coevolve` is not a distribution (the weights would have to be in the genome)",
        ));
    }
    let population = RepeatedGenome {
        genome: m.genome.clone(),
        count: options.rollouts,
        device: m.device.clone(),
    };
    let progress = Progress::new(options.progress, "init", options.inits.len() as u64);
    let mut rows = Vec::new();
    for &w in &options.inits {
        progress.message(w.to_string());
        let mut spec = m.spec.clone();
        spec.init = w;
        let eval = evaluate(
            &m.task,
            &spec,
            &population,
            Chunking {
                chunk: m.config.run.chunk,
            },
            options.seed,
        );
        for (variant, raw) in m.task.variants.iter().zip(eval.per_variant) {
            rows.push(InitRow {
                init: w.to_string(),
                trained_with: w == m.spec.init,
                variant: variant.name.clone(),
                stats: Stats::of(&raw),
                returns: raw,
            });
        }
        progress.bar.inc(1);
    }
    Ok(InitReport {
        model: ModelInfo::of(subject, options.seed),
        trained_init: m.spec.init.to_string(),
        rollouts: options.rollouts,
        rows,
    })
}

impl InitReport {
    /// The table as markdown.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "| init | variant | return (mean ± std over {} rollouts) | min | max |\n|---|---|---|---|---|\n",
            self.rollouts
        );
        for r in &self.rows {
            let mark = if r.trained_with { " (trained)" } else { "" };
            s.push_str(&format!(
                "| {}{mark} | {} | {:.1} ± {:.1} | {:.1} | {:.1} |\n",
                r.init, r.variant, r.stats.mean, r.stats.std, r.stats.min, r.stats.max
            ));
        }
        s
    }
}

impl Report for InitReport {
    fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        output::create_dir(dir)?;
        let mut csv = Csv::new(&["init", "variant", "rollout", "return"]);
        for r in &self.rows {
            for (k, &f) in r.returns.iter().enumerate() {
                csv.row(&[r.init.clone(), r.variant.clone(), k.to_string(), num(f)]);
            }
        }
        let mut files = vec![csv.write(&dir.join("init.csv"))?];
        files.push(output::write_text(&dir.join("init.md"), &self.markdown())?);
        let (inits, series) = output::bar_series(
            &self.rows,
            |r| &r.variant,
            |r| &r.init,
            |r| (r.stats.mean as f64, r.stats.std as f64),
        );
        let groups: Vec<String> = inits
            .iter()
            .map(|i| {
                if *i == self.trained_init {
                    format!("{i}*")
                } else {
                    i.clone()
                }
            })
            .collect();
        let title = format!(
            "{} {}: return by initial-weight distribution (* = trained with; {} rollouts, mean ± std)",
            self.model.task, self.model.rule, self.rollouts
        );
        let width = (110 * groups.len() as u32).clamp(700, 1400);
        files.push(png(&dir.join("init.png"), (width, 480), |root| {
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
                let mark = if r.trained_with { " (trained)" } else { "" };
                let variant = if self.rows.iter().any(|o| o.variant != r.variant) {
                    format!(" on {}", r.variant)
                } else {
                    String::new()
                };
                format!(
                    "{}{mark}{variant} {:.1} ± {:.1}",
                    r.init, r.stats.mean, r.stats.std
                )
            })
            .collect();
        format!(
            "init ({} {}, trained with {}, {} rollouts, seed {}): {}.",
            self.model.task,
            self.model.rule,
            self.trained_init,
            self.rollouts,
            self.model.seed,
            parts.join(", ")
        )
    }
}
