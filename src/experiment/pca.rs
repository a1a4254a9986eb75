//! Paper Fig. 5: the trajectory of all plastic weights during an episode, projected on its first
//! three principal components, for the evolved coefficients and for random ones of the same
//! rule and scale.

use std::path::{Path, PathBuf};

use nalgebra::{DMatrix, SymmetricEigen};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use super::clamp::early_stop_text;
use super::output::{self, Csv, trajectory_3d};
use super::{
    ExperimentError, ModelInfo, Probe, Progress, Report, Subject, WeightSteps, analysis_protocol,
};
use crate::genome::SegmentKind;

/// Principal components of T points in D dimensions.
#[derive(Clone, Debug)]
pub struct Pca {
    /// Variance along each component (sample variance, divided by T − 1), largest first.
    pub variance: Vec<f64>,
    /// Each component's share of the total variance.
    pub explained_ratio: Vec<f64>,
    /// Σ of the variances of all D coordinates.
    pub total_variance: f64,
    /// Per point, its coordinates on the components (`T × k`), centred.
    pub scores: Vec<Vec<f64>>,
    /// The unit principal axes (`k × D`), each signed so that the trajectory's last point
    /// scores at least its first.
    pub components: Vec<Vec<f64>>,
}

/// Coordinates per block when forming the Gram matrix (keeps one f64 block at ~T·16 KiB).
const BLOCK: usize = 2048;

/// The first `k` principal components of `points` (T rows of D numbers each).
///
/// Uses the Gram-matrix (dual) method: with `X` the centred `T × D` data, the nonzero
/// eigenvalues of the covariance `XᵀX/(T−1)` (`D × D`) are those of `G = X Xᵀ` (`T × T`)
/// divided by T − 1, and its axes are `Xᵀu/√λ` for G's eigenvectors `u`; the scores are
/// `u·√λ`. An episode has T ≤ 1000 steps while the CarRacing network has D = 91,328 weights,
/// so G (8 MB) is small where the covariance (67 GB) is not; G is accumulated from blocks of
/// coordinates, so besides the f32 points only G and one f64 block are held (the CarRacing
/// trajectory: 365 MB of points, 8 MB of G, ~16 MB per block). The symmetric eigensolver is
/// nalgebra's, and the block products go through its matrix multiply.
pub fn principal_components(points: &[Vec<f32>], k: usize) -> Result<Pca, String> {
    let t = points.len();
    if t < 2 {
        return Err(format!("PCA needs at least 2 points, got {t}"));
    }
    let d = points[0].len();
    if points.iter().any(|p| p.len() != d) {
        return Err("PCA points differ in length".into());
    }
    if d == 0 {
        return Err("PCA points have no coordinates".into());
    }
    let mut mean = vec![0.0f64; d];
    for p in points {
        for (m, &x) in mean.iter_mut().zip(p) {
            *m += x as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= t as f64);
    let block = |d0: usize, db: usize| {
        DMatrix::<f64>::from_fn(db, t, |j, s| points[s][d0 + j] as f64 - mean[d0 + j])
    };
    let mut gram = DMatrix::<f64>::zeros(t, t);
    for d0 in (0..d).step_by(BLOCK) {
        let b = block(d0, BLOCK.min(d - d0));
        gram.gemm(1.0, &b.transpose(), &b, 1.0);
    }
    let trace = gram.trace();
    let eig = SymmetricEigen::new(gram);
    let mut order: Vec<usize> = (0..t).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let k = k.min(t);
    let chosen = &order[..k];
    let lambda: Vec<f64> = chosen
        .iter()
        .map(|&i| eig.eigenvalues[i].max(0.0))
        .collect();
    let mut u = DMatrix::<f64>::from_fn(t, k, |s, c| eig.eigenvectors[(s, chosen[c])]);
    for c in 0..k {
        if u[(t - 1, c)] < u[(0, c)] {
            u.column_mut(c).neg_mut();
        }
    }
    let mut components = vec![vec![0.0f64; d]; k];
    for d0 in (0..d).step_by(BLOCK) {
        let db = BLOCK.min(d - d0);
        let proj = block(d0, db) * &u;
        for c in 0..k {
            let norm = lambda[c].sqrt();
            for j in 0..db {
                components[c][d0 + j] = if norm > 0.0 { proj[(j, c)] / norm } else { 0.0 };
            }
        }
    }
    let scores = (0..t)
        .map(|s| (0..k).map(|c| u[(s, c)] * lambda[c].sqrt()).collect())
        .collect();
    let dof = (t - 1) as f64;
    Ok(Pca {
        variance: lambda.iter().map(|l| l / dof).collect(),
        explained_ratio: lambda
            .iter()
            .map(|l| if trace > 0.0 { l / trace } else { 0.0 })
            .collect(),
        total_variance: trace / dof,
        scores,
        components,
    })
}

/// Options of [`pca`].
#[derive(Clone, Debug)]
pub struct PcaOptions {
    /// Evaluation seed (the episode is rollout 0 of `hebbian eval --seed` with one rollout);
    /// also seeds the random coefficients.
    pub seed: u64,
    /// Also run random coefficients N(0, std of the model's coefficients), same rule.
    pub random: bool,
    /// Keep the protocol's negative-reward early stop (see [`analysis_protocol`]).
    pub keep_early_stops: bool,
    pub progress: bool,
}

impl Default for PcaOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            random: true,
            keep_early_stops: false,
            progress: false,
        }
    }
}

/// One episode's weight trajectory on its first three components.
#[derive(Clone, Debug, Serialize)]
pub struct PcaRun {
    pub variant: String,
    /// `evolved` or `random`.
    pub coefficients: String,
    pub episode_return: f32,
    /// Steps in the trajectory (the episode's policy steps: W_0 … W_{T−1}).
    pub steps: usize,
    /// Share of the variance on PC1, PC2, PC3.
    pub explained_variance_ratio: Vec<f64>,
    pub total_variance: f64,
    #[serde(skip)]
    pub scores: Vec<[f64; 3]>,
}

/// The result of [`pca`].
#[derive(Clone, Debug, Serialize)]
pub struct PcaReport {
    #[serde(flatten)]
    pub model: ModelInfo,
    pub early_stops: bool,
    /// Plastic weights per agent (the dimension of the trajectory).
    pub weights: usize,
    /// Standard deviation of the model's coefficients (the scale of the random ones).
    pub coefficient_std: f32,
    pub runs: Vec<PcaRun>,
}

/// Runs one episode per variant (and one with random coefficients), records all plastic
/// weights at every step and projects the trajectory on its first three principal components.
pub fn pca(subject: &Subject, options: &PcaOptions) -> Result<PcaReport, ExperimentError> {
    subject.require_plastic("pca")?;
    let protocol = analysis_protocol(&subject.model.task.protocol, options.keep_early_stops);
    let layout = subject.model.spec.layout();
    let coefficient_ranges: Vec<std::ops::Range<usize>> = layout
        .segments()
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                SegmentKind::Coefficients(_) | SegmentKind::NeuronCoefficients(_)
            )
        })
        .map(|s| s.offset..s.offset + s.len())
        .collect();
    let genome = &subject.model.genome;
    let coefficients: Vec<f32> = coefficient_ranges
        .iter()
        .flat_map(|r| genome[r.clone()].iter().copied())
        .collect();
    let (_, coefficient_std) = super::mean_std(&coefficients);
    let mut random_genome = genome.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(crate::seeds::derive(
        options.seed,
        0,
        crate::seeds::Purpose::PcaRandomCoefficients,
    ));
    let normal = Normal::new(0.0f32, coefficient_std.max(0.0))
        .map_err(|e| super::bad("--model", format!("coefficient scale: {e}")))?;
    for r in &coefficient_ranges {
        for x in &mut random_genome[r.clone()] {
            *x = normal.sample(&mut rng);
        }
    }
    let mut kinds = vec![("evolved", genome.clone())];
    if options.random {
        kinds.push(("random", random_genome));
    }
    let names = subject.variant_names();
    let mut plans = Vec::new();
    for (kind, g) in kinds {
        let mut plan = subject.plan(1, options.seed, protocol.clone());
        plan.genome = g;
        plans.push((kind, plan));
    }
    let progress = Progress::new(
        options.progress,
        "pca",
        plans[0].1.ticks() * (plans.len() * names.len()) as u64,
    );
    let mut runs = Vec::new();
    for (v, name) in names.iter().enumerate() {
        for (kind, plan) in &plans {
            progress.message(format!("{name} {kind}"));
            let o = plan.run(v, &progress, |_, _| Probe {
                weight_steps: WeightSteps::Every,
                ..Probe::default()
            });
            let points: Vec<Vec<f32>> = o.weights.into_iter().map(|s| s.weights).collect();
            let p = principal_components(&points, 3).map_err(|message| {
                super::bad(
                    "--model",
                    format!("{name} ({kind} coefficients): {message}: the episode is too short"),
                )
            })?;
            let scores = p
                .scores
                .iter()
                .map(|s| std::array::from_fn(|c| s.get(c).copied().unwrap_or(0.0)))
                .collect();
            runs.push(PcaRun {
                variant: name.clone(),
                coefficients: kind.to_string(),
                episode_return: o.fitness[0],
                steps: points.len(),
                explained_variance_ratio: p.explained_ratio,
                total_variance: p.total_variance,
                scores,
            });
        }
    }
    Ok(PcaReport {
        model: ModelInfo::of(subject, options.seed),
        early_stops: options.keep_early_stops,
        weights: subject
            .model
            .spec
            .architecture
            .layer_shapes()
            .iter()
            .map(|(o, i)| o * i)
            .sum(),
        coefficient_std,
        runs,
    })
}

fn ratio_text(r: &[f64]) -> String {
    let parts: Vec<String> = r.iter().map(|x| format!("{:.1}", 100.0 * x)).collect();
    format!("{} %", parts.join(" / "))
}

impl Report for PcaReport {
    fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        output::create_dir(dir)?;
        let mut csv = Csv::new(&["variant", "coefficients", "t", "pc1", "pc2", "pc3"]);
        for r in &self.runs {
            for (t, s) in r.scores.iter().enumerate() {
                csv.row(&[
                    r.variant.clone(),
                    r.coefficients.clone(),
                    t.to_string(),
                    s[0].to_string(),
                    s[1].to_string(),
                    s[2].to_string(),
                ]);
            }
        }
        let mut files = vec![csv.write(&dir.join("pca.csv"))?];
        let kinds = if self.runs.iter().any(|r| r.coefficients == "random") {
            2
        } else {
            1
        };
        let rows = self.runs.len().div_ceil(kinds);
        let title = format!(
            "{} {}: weight trajectory on PC1 (x), PC2 (up), PC3 (depth); colour = time, dark = start",
            self.model.task, self.model.rule
        );
        files.push(output::png(
            &dir.join("pca.png"),
            (460 * kinds as u32, 400 * rows as u32 + 30),
            |root| {
                let body = root
                    .titled(&title, ("sans-serif", 18))
                    .map_err(output::err)?;
                for (area, r) in body.split_evenly((rows, kinds)).iter().zip(&self.runs) {
                    trajectory_3d(
                        area,
                        &format!(
                            "{}, {} coefficients: {}",
                            r.variant,
                            r.coefficients,
                            ratio_text(&r.explained_variance_ratio)
                        ),
                        &r.scores,
                    )?;
                }
                Ok(())
            },
        )?);
        files.push(output::write_json(&dir.join("summary.json"), self)?);
        Ok(files)
    }

    fn paragraph(&self) -> String {
        let parts: Vec<String> = self
            .runs
            .iter()
            .map(|r| {
                format!(
                    "{} with {} coefficients (return {:.1}, {} steps): PC1/2/3 explain {}",
                    r.variant,
                    r.coefficients,
                    r.episode_return,
                    r.steps,
                    ratio_text(&r.explained_variance_ratio)
                )
            })
            .collect();
        format!(
            "pca ({} {}, {} plastic weights per step, seed {}, random coefficients ~ N(0, {:.3}), \
             {}): {}.",
            self.model.task,
            self.model.rule,
            self.weights,
            self.model.seed,
            self.coefficient_std,
            early_stop_text(self.early_stops),
            parts.join("; ")
        )
    }
}
