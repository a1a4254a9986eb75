//! Paper Fig. 3 (right): every network output forced to a constant for a window of steps; how
//! fast does the agent recover?

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::perturb::{PerturbedVariant, draw_rewards, write_rewards_csv};
use super::{
    ClampWindow, ExperimentError, ModelInfo, Probe, Progress, Recovery, Report, Subject,
    analysis_protocol, bad, check_rollouts, output,
};

/// Options of [`clamp`].
#[derive(Clone, Debug)]
pub struct ClampOptions {
    /// The clamp window `from..to` (policy steps; empty when equal: no clamp at all).
    pub from: usize,
    pub to: usize,
    /// The value every raw network output is forced to.
    pub value: f32,
    /// Stop Hebbian updates during the window (restart them at `to`).
    pub frozen_during_clamp: bool,
    pub rollouts: usize,
    pub seed: u64,
    /// Keep the protocol's negative-reward early stop (see [`analysis_protocol`]).
    pub keep_early_stops: bool,
    pub recovery: Recovery,
    pub progress: bool,
}

impl Default for ClampOptions {
    /// Outputs at 1.0 for t in [300, 400), plasticity on, 10 rollouts, seed 0.
    fn default() -> Self {
        Self {
            from: 300,
            to: 400,
            value: 1.0,
            frozen_during_clamp: false,
            rollouts: 10,
            seed: 0,
            keep_early_stops: false,
            recovery: Recovery::default(),
            progress: false,
        }
    }
}

/// The result of [`clamp`].
#[derive(Clone, Debug, Serialize)]
pub struct ClampReport {
    #[serde(flatten)]
    pub model: ModelInfo,
    pub from: usize,
    pub to: usize,
    pub value: f32,
    pub frozen_during_clamp: bool,
    pub rollouts: usize,
    /// Whether the negative-reward early stop was on (normally off for this analysis).
    pub early_stops: bool,
    pub recovery_criterion: Recovery,
    pub variants: Vec<PerturbedVariant>,
}

/// Runs each variant's rollouts twice with the same seeds: unperturbed, and with every raw
/// network output set to `value` on steps `from..to`; compares their rewards per step. Works for
/// static models too (except `frozen_during_clamp`).
pub fn clamp(subject: &Subject, options: &ClampOptions) -> Result<ClampReport, ExperimentError> {
    check_rollouts(options.rollouts, subject.model.genome.len())?;
    let episode = subject.episode_steps();
    if options.from > options.to {
        return Err(bad(
            "--from",
            format!(
                "the clamp window starts at {} after it ends (--to {})",
                options.from, options.to
            ),
        ));
    }
    if options.to > episode {
        return Err(bad(
            "--to",
            format!(
                "{} is beyond the episode: task `{}` runs at most {episode} policy steps",
                options.to,
                subject.task()
            ),
        ));
    }
    if !options.value.is_finite() {
        return Err(bad("--value", "must be a finite number"));
    }
    if options.frozen_during_clamp {
        subject.require_plastic("clamp --frozen-during-clamp")?;
    }
    check_recovery(&options.recovery)?;
    let protocol = analysis_protocol(&subject.model.task.protocol, options.keep_early_stops);
    let plan = subject.plan(options.rollouts, options.seed, protocol);
    let names = subject.variant_names();
    let progress = Progress::new(
        options.progress,
        "clamp",
        plan.ticks() * 2 * names.len() as u64,
    );
    let window = ClampWindow {
        from: options.from,
        to: options.to,
        value: options.value,
        frozen: options.frozen_during_clamp,
    };
    let variants = names
        .iter()
        .enumerate()
        .map(|(v, name)| {
            progress.message(format!("{name} unperturbed"));
            let plain = plan.run(v, &progress, |_, _| Probe {
                record_rewards: true,
                ..Probe::default()
            });
            progress.message(format!("{name} clamped"));
            let clamped = plan.run(v, &progress, |_, _| Probe {
                record_rewards: true,
                clamp: Some(window),
                ..Probe::default()
            });
            PerturbedVariant::new(name, plain, clamped, options.to, &options.recovery)
        })
        .collect();
    Ok(ClampReport {
        model: ModelInfo::of(subject, options.seed),
        from: options.from,
        to: options.to,
        value: options.value,
        frozen_during_clamp: options.frozen_during_clamp,
        rollouts: options.rollouts,
        early_stops: options.keep_early_stops,
        recovery_criterion: options.recovery,
        variants,
    })
}

pub(crate) fn check_recovery(r: &Recovery) -> Result<(), ExperimentError> {
    if r.window == 0 {
        return Err(bad("--window", "must be at least 1 step"));
    }
    if !(r.tolerance.is_finite() && r.tolerance >= 0.0) {
        return Err(bad("--tolerance", "must be a finite number >= 0"));
    }
    Ok(())
}

pub(crate) fn early_stop_text(on: bool) -> &'static str {
    if on {
        "with the protocol's early stops"
    } else {
        "with the protocol's negative-reward early stop off (the env's own termination still \
         ends an episode)"
    }
}

impl Report for ClampReport {
    fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        output::create_dir(dir)?;
        let mut files = vec![write_rewards_csv(&dir.join("clamp.csv"), &self.variants)?];
        let frozen = if self.frozen_during_clamp {
            ", plasticity off meanwhile"
        } else {
            ""
        };
        let title = format!(
            "{} {}: outputs clamped to {} for t in [{}, {}){frozen}",
            self.model.task, self.model.rule, self.value, self.from, self.to
        );
        files.push(draw_rewards(
            &dir.join("clamp.png"),
            &title,
            &self.variants,
            self.recovery_criterion.window,
            (self.from as f64, self.to as f64),
            "clamped",
        )?);
        files.push(output::write_json(&dir.join("summary.json"), self)?);
        Ok(files)
    }

    fn paragraph(&self) -> String {
        let parts: Vec<String> = self
            .variants
            .iter()
            .map(|v| {
                format!(
                    "{}: return {:.1} ± {:.1} unperturbed vs {:.1} ± {:.1} clamped, {}",
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
            "clamp ({} {}, outputs = {} for t in [{}, {}){}, {} rollouts, seed {}, {}; recovery = \
             {}-step moving average of the reward within {} % of the unperturbed one to the end \
             of the episode): {}.",
            self.model.task,
            self.model.rule,
            self.value,
            self.from,
            self.to,
            if self.frozen_during_clamp {
                ", plasticity off during the clamp"
            } else {
                ""
            },
            self.rollouts,
            self.model.seed,
            early_stop_text(self.early_stops),
            self.recovery_criterion.window,
            self.recovery_criterion.tolerance * 100.0,
            parts.join("; ")
        )
    }
}
