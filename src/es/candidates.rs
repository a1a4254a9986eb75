//! One generation's candidates, drawn from the noise streams on demand instead of held as a
//! `[P, D]` matrix: a P = 4096 CarRacing population is 7.5 GB as a matrix (and its noise half
//! as much again), while the rollout only ever needs one chunk of rows at a time. Each noise row
//! comes from its own ChaCha stream keyed by (seed, generation, row), so any row can be redrawn
//! alone, on any thread, and `tell` re-streams the rows to sum them instead of storing them.

use std::ops::Range;
use std::sync::Arc;

use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use crate::seeds::{Purpose, derive};

/// Noise rows summed per task in [`Candidates::noise_sums`], and tasks summed per wave: both
/// fixed (not the thread count), so the sums' rounding is the same on every machine, and a wave
/// holds at most `WAVE` partial sums.
const BLOCK_ROWS: usize = 16;
const WAVE: usize = 8;

/// How far a candidate lies from the centre along its noise row.
#[derive(Clone, Debug)]
pub(crate) enum Spread {
    /// One σ for every dimension (OpenAI-ES).
    Scalar(f32),
    /// σ per dimension (PGPE, SNES).
    PerDimension(Arc<Vec<f32>>),
}

/// The candidates of one generation: row k is `centre ± spread ⊙ ε_m`, with ε_m the standard
/// normal noise row m; mirrored sampling pairs rows 2m (+) and 2m+1 (−) on one ε_m, otherwise
/// row k uses ε_k with a plus sign. Rows are bit-identical to forming the whole matrix at once.
#[derive(Clone, Debug)]
pub struct Candidates {
    centre: Arc<Vec<f32>>,
    spread: Spread,
    mirrored: bool,
    /// The stream every noise row of this generation derives from.
    noise_seed: u64,
    population: usize,
    device: Device,
}

impl Candidates {
    pub(crate) fn new(
        centre: Vec<f32>,
        spread: Spread,
        mirrored: bool,
        seed: u64,
        generation: u64,
        population: usize,
        device: Device,
    ) -> Self {
        Self {
            centre: Arc::new(centre),
            spread,
            mirrored,
            noise_seed: derive(seed, generation, Purpose::EsNoise),
            population,
            device,
        }
    }

    /// P, the number of candidates.
    pub fn len(&self) -> usize {
        self.population
    }

    pub fn is_empty(&self) -> bool {
        self.population == 0
    }

    /// D, the genome length.
    pub fn dim(&self) -> usize {
        self.centre.len()
    }

    pub fn device(&self) -> Device {
        self.device.clone()
    }

    /// The first `n` candidates only (e.g. a benchmark's odd population).
    pub fn truncated(mut self, n: usize) -> Self {
        self.population = self.population.min(n);
        self
    }

    /// Candidates `rows` as a `[rows.len(), D]` tensor on the ES's device.
    pub fn rows(&self, rows: Range<usize>) -> Tensor<2> {
        assert!(
            rows.start <= rows.end && rows.end <= self.population,
            "candidate rows {rows:?} out of 0..{}",
            self.population
        );
        let n = rows.len();
        let host = self.rows_host(rows);
        Tensor::from_data(TensorData::new(host, [n, self.dim()]), &self.device)
    }

    /// The whole `[P, D]` population (what a small run or a test may prefer).
    pub fn all(&self) -> Tensor<2> {
        self.rows(0..self.population)
    }

    /// How many noise rows the generation draws (P/2 when mirrored).
    pub(crate) fn noise_rows(&self) -> usize {
        if self.mirrored {
            self.population.div_ceil(2)
        } else {
            self.population
        }
    }

    /// The noise row of candidate `k`, and the sign it is added with.
    fn source(&self, k: usize) -> (usize, bool) {
        if self.mirrored {
            (k / 2, k % 2 == 1)
        } else {
            (k, false)
        }
    }

    /// Draws noise row `m` into `row`.
    fn draw(&self, m: usize, row: &mut [f32]) {
        let mut rng = ChaCha8Rng::seed_from_u64(derive(self.noise_seed, m as u64, Purpose::Row));
        row.iter_mut()
            .for_each(|v| *v = StandardNormal.sample(&mut rng));
    }

    /// Writes candidate row `centre ± spread ⊙ noise` into `out`.
    fn form(&self, noise: &[f32], negative: bool, out: &mut [f32]) {
        let c = &self.centre;
        match &self.spread {
            Spread::Scalar(s) => {
                for i in 0..out.len() {
                    let step = noise[i] * s;
                    out[i] = if negative { c[i] - step } else { c[i] + step };
                }
            }
            Spread::PerDimension(s) => {
                for i in 0..out.len() {
                    let step = noise[i] * s[i];
                    out[i] = if negative { c[i] - step } else { c[i] + step };
                }
            }
        }
    }

    fn rows_host(&self, rows: Range<usize>) -> Vec<f32> {
        let d = self.dim();
        let mut out = vec![0.0f32; rows.len() * d];
        if d == 0 {
            return out;
        }
        // One task per noise row: a mirrored pair shares one draw.
        let mut tasks: Vec<(usize, &mut [f32])> = Vec::new();
        let mut rest = out.as_mut_slice();
        let mut k = rows.start;
        while k < rows.end {
            let (m, _) = self.source(k);
            let mut n = 1;
            while k + n < rows.end && self.source(k + n).0 == m {
                n += 1;
            }
            let (mine, tail) = rest.split_at_mut(n * d);
            tasks.push((k, mine));
            rest = tail;
            k += n;
        }
        // One noise buffer per worker, not per task: fresh pages are slow to fault in (≈ 70 MB/s
        // measured in this VM), and a CarRacing noise row is 1.8 MB.
        tasks.into_par_iter().for_each_init(
            || vec![0.0f32; d],
            |noise, (first, block)| {
                let (m, _) = self.source(first);
                self.draw(m, noise);
                for (j, row) in block.chunks_mut(d).enumerate() {
                    self.form(noise, self.source(first + j).1, row);
                }
            },
        );
        out
    }

    /// Per candidate, the sum of its squared genome values over `ranges` (for the L2 penalty),
    /// from the rows exactly as [`Candidates::rows`] forms them, summed in f64.
    pub(crate) fn squared_sums(&self, ranges: &[Range<usize>]) -> Vec<f64> {
        let d = self.dim();
        let per_noise_row: Vec<Vec<(usize, f64)>> = (0..self.noise_rows())
            .into_par_iter()
            .map_init(
                || (vec![0.0f32; d], vec![0.0f32; d]),
                |(noise, row), m| {
                    self.draw(m, noise);
                    let members: Vec<usize> = if self.mirrored {
                        (2 * m..(2 * m + 2).min(self.population)).collect()
                    } else {
                        vec![m]
                    };
                    members
                        .into_iter()
                        .map(|k| {
                            self.form(noise, self.source(k).1, row);
                            let sum = ranges
                                .iter()
                                .flat_map(|r| row[r.clone()].iter())
                                .map(|&x| f64::from(x) * f64::from(x))
                                .sum::<f64>();
                            (k, sum)
                        })
                        .collect()
                },
            )
            .collect();
        let mut sums = vec![0.0f64; self.population];
        for (k, s) in per_noise_row.into_iter().flatten() {
            sums[k] = s;
        }
        sums
    }

    /// `Σ_m linear_m ε_m` and, when `squared` is given, `Σ_m squared_m (ε_m² − 1)`, over the
    /// generation's noise rows, re-drawn block by block (never all held) and summed in f64 in a
    /// fixed order.
    pub(crate) fn noise_sums(
        &self,
        linear: &[f32],
        squared: Option<&[f32]>,
    ) -> (Vec<f32>, Option<Vec<f32>>) {
        let rows = self.noise_rows();
        assert_eq!(linear.len(), rows, "one linear weight per noise row");
        if let Some(w) = squared {
            assert_eq!(w.len(), rows, "one squared weight per noise row");
        }
        let d = self.dim();
        let with_squares = squared.is_some();
        let mut total_linear = vec![0.0f64; d];
        let mut total_squared = vec![0.0f64; if with_squares { d } else { 0 }];
        let blocks: Vec<Range<usize>> = (0..rows)
            .step_by(BLOCK_ROWS)
            .map(|s| s..(s + BLOCK_ROWS).min(rows))
            .collect();
        for wave in blocks.chunks(WAVE) {
            let partials: Vec<(Vec<f64>, Vec<f64>)> = wave
                .par_iter()
                .map(|block| {
                    let mut lin = vec![0.0f64; d];
                    let mut sq = vec![0.0f64; if with_squares { d } else { 0 }];
                    let mut noise = vec![0.0f32; d];
                    for m in block.clone() {
                        self.draw(m, &mut noise);
                        let w = f64::from(linear[m]);
                        lin.iter_mut()
                            .zip(&noise)
                            .for_each(|(acc, &e)| *acc += w * f64::from(e));
                        if let Some(weights) = squared {
                            let w = f64::from(weights[m]);
                            sq.iter_mut().zip(&noise).for_each(|(acc, &e)| {
                                let e = f64::from(e);
                                *acc += w * (e * e - 1.0);
                            });
                        }
                    }
                    (lin, sq)
                })
                .collect();
            for (lin, sq) in partials {
                total_linear.iter_mut().zip(lin).for_each(|(a, b)| *a += b);
                total_squared.iter_mut().zip(sq).for_each(|(a, b)| *a += b);
            }
        }
        let to_f32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        (
            to_f32(total_linear),
            with_squares.then(|| to_f32(total_squared)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        crate::device::default_cpu()
    }

    fn host(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().unwrap()
    }

    /// Mirrored candidates get one σ, the others one per dimension.
    fn spread_at(mirrored: bool, i: usize) -> f32 {
        if mirrored {
            0.1
        } else {
            0.05 + 0.01 * i as f32
        }
    }

    fn candidates(mirrored: bool, p: usize, d: usize) -> Candidates {
        let centre: Vec<f32> = (0..d).map(|i| (i as f32 * 0.37).sin()).collect();
        let spread = if mirrored {
            Spread::Scalar(spread_at(true, 0))
        } else {
            Spread::PerDimension(Arc::new((0..d).map(|i| spread_at(false, i)).collect()))
        };
        Candidates::new(centre, spread, mirrored, 11, 4, p, device())
    }

    #[test]
    fn any_slice_of_rows_equals_the_same_rows_of_the_whole() {
        for mirrored in [true, false] {
            let c = candidates(mirrored, 10, 7);
            let all = host(c.all());
            for rows in [0..10, 3..8, 1..2, 5..6, 9..10, 4..4] {
                let part = host(c.rows(rows.clone()));
                assert_eq!(part, all[rows.start * 7..rows.end * 7].to_vec(), "{rows:?}");
            }
        }
    }

    #[test]
    fn mirrored_pairs_share_their_noise_with_opposite_signs() {
        let c = candidates(true, 6, 5);
        let all = host(c.all());
        for m in 0..3 {
            for i in 0..5 {
                let plus = all[(2 * m) * 5 + i] - c.centre[i];
                let minus = all[(2 * m + 1) * 5 + i] - c.centre[i];
                assert!((plus + minus).abs() < 1e-6, "pair {m} dim {i}");
                assert!(plus.abs() > 0.0);
            }
        }
    }

    #[test]
    fn noise_sums_match_the_explicit_weighted_sums() {
        // More rows than one wave of blocks, so the fixed-order reduction is exercised.
        let (p, d) = (2 * (BLOCK_ROWS * WAVE + 5), 9);
        for mirrored in [true, false] {
            let c = candidates(mirrored, p, d);
            let all = host(c.all());
            let rows = c.noise_rows();
            let lin: Vec<f32> = (0..rows)
                .map(|m| ((m * 7 % 11) as f32 - 5.0) / 5.0)
                .collect();
            let sq: Vec<f32> = (0..rows).map(|m| (m % 3) as f32 - 1.0).collect();
            let (got_lin, got_sq) = c.noise_sums(&lin, Some(&sq));
            let got_sq = got_sq.unwrap();
            for i in 0..d {
                let (mut want_lin, mut want_sq) = (0.0f64, 0.0f64);
                for m in 0..rows {
                    let k = if mirrored { 2 * m } else { m };
                    let e = f64::from((all[k * d + i] - c.centre[i]) / spread_at(mirrored, i));
                    want_lin += f64::from(lin[m]) * e;
                    want_sq += f64::from(sq[m]) * (e * e - 1.0);
                }
                assert!((f64::from(got_lin[i]) - want_lin).abs() < 1e-3, "{i}");
                assert!((f64::from(got_sq[i]) - want_sq).abs() < 1e-2, "{i}");
            }
            let (_, none) = c.noise_sums(&lin, None);
            assert!(none.is_none());
        }
    }

    #[test]
    fn squared_sums_are_those_of_the_formed_rows() {
        let c = candidates(true, 8, 6);
        let all = host(c.all());
        let ranges = [1..3, 4..6];
        let sums = c.squared_sums(&ranges);
        for (k, sum) in sums.iter().enumerate() {
            let want: f64 = ranges
                .iter()
                .flat_map(|r| r.clone())
                .map(|i| f64::from(all[k * 6 + i]).powi(2))
                .sum();
            assert!((sum - want).abs() < 1e-9, "{k}: {sum} vs {want}");
        }
    }

    #[test]
    fn truncation_keeps_the_first_rows() {
        let c = candidates(true, 8, 4);
        let all = host(c.all());
        let t = c.clone().truncated(5);
        assert_eq!(t.len(), 5);
        assert_eq!(host(t.all()), all[..20].to_vec());
    }
}
