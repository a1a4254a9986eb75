//! The Ant against real pybullet on many open-loop gaits, not just the §5 calibration gait.
//!
//! Why: settings tuned to one gait left other gaits ranked opposite to pybullet (spec
//! `env-quadruped.md` §5, "One gait is not a calibration"). `tests/data/quadruped/pybullet_suite.json`
//! holds pybullet 3.2.6's Σ progress for 24 gaits (the calibration gait, random sine gaits,
//! hill-climbed forward walkers, constant holds against the joint stops) × 3 morphologies × 32
//! start states, plus per-step traces of a few cases in `tests/data/quadruped/traces/`.
//! Regenerate with `tests/data/quadruped/pybullet_suite.py` (set-up and protocol in its docstring
//! and in `tests/data/quadruped/README.md`).
//!
//! Protocol (same as the script): `reset_with_joints(start)`, 40 zero-action steps, then 960 steps
//! of `a_j(t) = clip(b_j + a_j·sin(2π·f·0.0165·t + φ_j), −1, 1)` (computed in f64), no early stop;
//! Σ progress over the 960 scored steps.
//!
//! Per-start Σ progress is chaotic in pybullet itself (perturbing the actions by 1e-7 moves a
//! start's value by ±100 on the calibration gait), so the first test compares means over the 32
//! starts, by rank (Spearman) and within 35 % where pybullet moves (|mean| > 50). The second test
//! compares the traces step by step over the burn-in and the first 100 scored steps, where the
//! two simulators should still agree closely.
//!
//! Run: `cargo test --release --test quadruped_pybullet_suite -- --nocapture` (≈4 min on 2 cores).
//! Environment variables for probing other cases and settings: `tests/data/quadruped/README.md`.

use std::collections::BTreeMap;
use std::path::Path;

use hebbian::env::quadruped::{Ant, Morphology};
use rayon::prelude::*;
use serde::Deserialize;

mod common {
    pub mod ant_physics;
    pub mod pybullet_suite;
}
use common::ant_physics::physics;
use common::pybullet_suite::{BURN_IN, Case, DATA, Gait, SCORED, Suite, load, read_suite};

/// Cases where pybullet moves by more than this (|mean Σ progress|, ≈ 0.9 m) must match within
/// [`REL_TOL`] and have the same sign.
const MOVING: f64 = 50.0;
const REL_TOL: f64 = 0.35;
/// The targets (issue: Spearman ≥ 0.9, every moving case within 35 %) are not reached yet; these
/// bounds pin what the contact-solved stops achieve on the 32 starts (0.765, 14 of 14 moving
/// cases of the right sign, 8 of 14 within 35 %) with a little slack, so that a regression shows
/// (the stops corrected after the contact solve scored 0.32 and 1 of 7 on the first 8 starts).
/// Most of the gap is pybullet's solver not converging at its 5 sweeps: see
/// [`MIN_SPEARMAN_CONVERGED`].
const MIN_SPEARMAN: f64 = 0.7;
/// The same gaits and starts in pybullet with its solver at 20 sweeps per substep instead of the
/// scene's 5 (`pybullet_suite_20_iterations.json`): pybullet's damaged stubs fold through their
/// stops only because 5 cold-started sweeps do not converge, and ours does not fold. Against it
/// the default physics scores 0.881 (pybullet at 5 sweeps against itself at 20: 0.731).
const MIN_SPEARMAN_CONVERGED: f64 = 0.85;
const TARGET_SPEARMAN: f64 = 0.9;
const MIN_WITHIN: usize = 7;

/// Trace window: the burn-in plus this many scored steps.
const TRACE_SCORED: usize = 100;
/// Trace tolerances over that window. pybullet against itself, with the actions or the start
/// perturbed by 1e-6 (our f32 rounding is ~1e-7), differs over this window by up to 1.1 cm in
/// torso x/y, 0.4 cm in z, 0.02 rad in yaw, 0.02 rad RMS and 0.18 rad max in the joint angles
/// (impacts make single-step joint spikes). The tolerances are ≈3–5× that: torso x/y 5 cm, z 2 cm
/// (the torso rests at 0.25; a gait moves it ≈1.5 m in 100 steps), yaw 0.1 rad (the §5 hips+down
/// hold turns 0.54 rad), joint angles 0.05 rad RMS over the window and 0.3 rad at any step (ankle
/// range 1.22 rad; the stops sit 0.52 rad from the resting ankles).
const TOL_XY: f64 = 0.05;
const TOL_Z: f64 = 0.02;
const TOL_YAW: f64 = 0.1;
const TOL_Q_RMS: f64 = 0.05;
const TOL_Q_MAX: f64 = 0.3;

fn morphologies() -> BTreeMap<String, Morphology> {
    ["intact", "right_damaged", "left_damaged"]
        .into_iter()
        .map(|n| (n.to_string(), Morphology::builtin(n).unwrap()))
        .collect()
}

/// One row per env step: step, progress, x, y, z, roll, pitch, yaw, q0..q7, qd0..qd7.
type Row = [f64; 24];

struct Episode {
    progress: f64,
    min_z: f64,
    final_xy_yaw: [f64; 3],
    diverged: bool,
    rows: Vec<Row>,
    /// Per joint, the largest distance past its range over the scored steps (rad).
    max_violation: [f64; 8],
}

fn run(morph: &Morphology, start: &[f32; 8], gait: &Gait, keep_rows: usize) -> Episode {
    let mut ant = Ant::with_config(morph, physics());
    ant.reset_with_joints(start);
    let (mut progress, mut min_z, mut diverged) = (0.0f64, f64::INFINITY, false);
    let mut rows = Vec::new();
    let mut max_violation = [0.0f64; 8];
    // The stops the Ant enforces, in action order (pybullet's joint coordinate).
    let ranges = morph.joints().map(|h| h.range.map(f64::from));
    for k in 0..BURN_IN + SCORED {
        let action = if k < BURN_IN {
            [0.0; 8]
        } else {
            gait.action(k - BURN_IN)
        };
        let s = ant.step(&action);
        diverged |= s.diverged;
        let p = ant.torso_position();
        if k >= BURN_IN {
            progress += s.progress as f64;
            min_z = min_z.min(p[2] as f64);
            let q = ant.joint_state().q;
            for j in 0..8 {
                let [lo, hi] = ranges[j];
                let past = (lo - q[j] as f64).max(q[j] as f64 - hi).max(0.0);
                max_violation[j] = max_violation[j].max(past);
            }
        }
        if k < keep_rows {
            let rpy = ant.torso_rpy();
            let js = ant.joint_state();
            let mut r = [0.0; 24];
            r[0] = k as f64;
            r[1] = s.progress as f64;
            for i in 0..3 {
                r[2 + i] = p[i] as f64;
                r[5 + i] = rpy[i] as f64;
            }
            for j in 0..8 {
                r[8 + j] = js.q[j] as f64;
                r[16 + j] = js.qd[j] as f64;
            }
            rows.push(r);
        }
        if k + 1 >= keep_rows.max(1) && diverged {
            break;
        }
    }
    let p = ant.torso_position();
    Episode {
        progress,
        min_z,
        final_xy_yaw: [p[0] as f64, p[1] as f64, ant.torso_rpy()[2] as f64],
        diverged,
        rows,
        max_violation,
    }
}

/// Spearman and moving cases within [`REL_TOL`] (of how many) of `ours` against `reference`.
fn agreement(reference: &[f64], ours: &[f64]) -> (f64, usize, usize) {
    let moving: Vec<bool> = reference
        .iter()
        .zip(ours)
        .filter(|(r, _)| r.abs() > MOVING)
        .map(|(r, o)| r.signum() == o.signum() && (o - r).abs() <= REL_TOL * r.abs())
        .collect();
    let ok = moving.iter().filter(|ok| **ok).count();
    (spearman(reference, ours), ok, moving.len())
}

/// Compares the same means with pybullet at 20 solver sweeps (how much of the gap to pybullet
/// is its solver not converging at 5) and returns our Spearman against it; `None` when the suite
/// is not the committed one (`HEBBIAN_PYBULLET_SUITE`), whose gaits and starts it shares.
fn against_converged_pybullet(suite: &Suite, pb: &[f64], ours: &[f64]) -> Option<f64> {
    let converged = read_suite(&Path::new(DATA).join("pybullet_suite_20_iterations.json"));
    let same_cases = converged.starts == suite.starts
        && converged.results.len() == suite.results.len()
        && converged
            .results
            .iter()
            .zip(&suite.results)
            .all(|(a, b)| a.gait == b.gait && a.morphology == b.morphology);
    if !same_cases {
        eprintln!("(pybullet at 20 solver sweeps: not compared, the suite's cases differ)");
        return None;
    }
    let pb20: Vec<f64> = converged.results.iter().map(|c| c.mean).collect();
    let (rho, ok, n) = agreement(&pb20, ours);
    let (self_rho, self_ok, self_n) = agreement(pb, &pb20);
    eprintln!(
        "against pybullet at 20 solver sweeps (converged; the scene runs 5): Spearman {rho:.3}, \
         {ok} of {n} moving cases within {:.0} %; pybullet at 20 sweeps against pybullet at 5: \
         Spearman {self_rho:.3}, {self_ok} of {self_n}",
        REL_TOL * 100.0
    );
    Some(rho)
}

/// Ranks 1..n, ties get their average rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    sxy / (sxx * syy).sqrt()
}

fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn sd(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

#[test]
fn rank_helpers() {
    assert_eq!(ranks(&[3.0, 1.0, 2.0, 1.0]), vec![4.0, 1.5, 3.0, 1.5]);
    assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 35.0]) - 1.0).abs() < 1e-12);
    assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
}

#[test]
fn progress_matches_pybullet_across_gaits() {
    let suite = load();
    let morphs = morphologies();
    let gaits: BTreeMap<&str, &Gait> = suite.gaits.iter().map(|g| (g.name.as_str(), g)).collect();
    let jobs: Vec<(usize, usize)> = (0..suite.results.len())
        .flat_map(|c| (0..suite.starts.len()).map(move |s| (c, s)))
        .collect();
    let t0 = std::time::Instant::now();
    let eps: Vec<Episode> = jobs
        .par_iter()
        .map(|&(c, s)| {
            let case = &suite.results[c];
            run(
                &morphs[&case.morphology],
                &suite.starts[s],
                gaits[case.gait.as_str()],
                0,
            )
        })
        .collect();
    eprintln!(
        "{} episodes of {} steps in {:.1} s (pybullet {}); {:?}",
        eps.len(),
        BURN_IN + SCORED,
        t0.elapsed().as_secs_f64(),
        suite.pybullet,
        physics()
    );

    let n_starts = suite.starts.len();
    let mut pb = Vec::new();
    let mut ours = Vec::new();
    let mut moving = Vec::new(); // (rel err, label, ok, pybullet mean, ours, within noise)
    eprintln!(
        "\n{:<28} {:<13} {:>9} {:>7} {:>9} {:>7} {:>7} | {:>6} {:>6} | {:>7} {:>7} | {:>6} {:>6}",
        "gait",
        "morphology",
        "pb mean",
        "pb sd",
        "ours",
        "sd",
        "ratio",
        "pb fell",
        "ours",
        "pb x",
        "ours x",
        "pb yaw",
        "ours"
    );
    for (c, case) in suite.results.iter().enumerate() {
        let e = &eps[c * n_starts..(c + 1) * n_starts];
        let v: Vec<f64> = e.iter().map(|e| e.progress).collect();
        let m = mean(&v);
        assert_eq!(case.progress.len(), n_starts);
        let pb_fell = case.min_z.iter().filter(|z| **z <= 0.26).count();
        let our_fell = e.iter().filter(|e| e.min_z <= 0.26).count();
        let diverged = e.iter().filter(|e| e.diverged).count();
        let pb_x = mean(&case.final_xy_yaw.iter().map(|r| r[0]).collect::<Vec<_>>());
        let our_x = mean(&e.iter().map(|e| e.final_xy_yaw[0]).collect::<Vec<_>>());
        let pb_yaw = mean(&case.final_xy_yaw.iter().map(|r| r[2]).collect::<Vec<_>>());
        let our_yaw = mean(&e.iter().map(|e| e.final_xy_yaw[2]).collect::<Vec<_>>());
        let label = format!("{} / {}", case.gait, case.morphology);
        let mut flag = "";
        if case.mean.abs() > MOVING {
            let rel = (m - case.mean).abs() / case.mean.abs();
            let ok = m.signum() == case.mean.signum() && rel <= REL_TOL;
            flag = if ok { "  ok" } else { "  FAIL" };
            // Within 35 % or within two standard errors of the difference of the two means.
            let se = ((sd(&v).powi(2) + sd(&case.progress).powi(2)) / n_starts as f64).sqrt();
            let within_noise = (m - case.mean).abs() <= (REL_TOL * case.mean.abs()).max(2.0 * se);
            moving.push((rel, label.clone(), ok, case.mean, m, within_noise));
        }
        eprintln!(
            "{:<28} {:<13} {:>9.1} {:>7.1} {:>9.1} {:>7.1} {:>7.2} | {:>3}/{:<3} {:>3}/{:<3}| {:>7.2} {:>7.2} | {:>6.2} {:>6.2}{}{}",
            case.gait,
            case.morphology,
            case.mean,
            sd(&case.progress),
            m,
            sd(&v),
            m / case.mean,
            pb_fell,
            n_starts,
            our_fell,
            n_starts,
            pb_x,
            our_x,
            pb_yaw,
            our_yaw,
            flag,
            if diverged > 0 {
                format!("  DIVERGED×{diverged}")
            } else {
                String::new()
            }
        );
        pb.push(case.mean);
        ours.push(m);
    }
    eprintln!(
        "(fell = starts whose torso z went ≤ 0.26 during the scored steps; x, yaw = mean final)"
    );

    let rho = spearman(&pb, &ours);
    let by_kind = |pred: &dyn Fn(&str) -> bool| -> f64 {
        let (a, b): (Vec<f64>, Vec<f64>) = suite
            .results
            .iter()
            .zip(&ours)
            .filter(|(c, _)| pred(&gaits[c.gait.as_str()].kind))
            .map(|(c, o)| (c.mean, *o))
            .unzip();
        spearman(&a, &b)
    };
    eprintln!(
        "\nSpearman rank correlation of the {} case means: {rho:.3}",
        pb.len()
    );
    eprintln!(
        "  sine gaits only: {:.3}; holds only: {:.3}",
        by_kind(&|k| k != "hold"),
        by_kind(&|k| k == "hold")
    );
    // Where the ranks are lost: each kind's own correlation, and the overall one if that kind's
    // means were pybullet's.
    let kinds: std::collections::BTreeSet<&str> = gaits.values().map(|g| g.kind.as_str()).collect();
    for kind in kinds {
        let of_kind = |c: &Case| gaits[c.gait.as_str()].kind == kind;
        let matched: Vec<f64> = suite
            .results
            .iter()
            .zip(&ours)
            .map(|(c, o)| if of_kind(c) { c.mean } else { *o })
            .collect();
        eprintln!(
            "  {kind:<11} ({:>2} cases): {:.3} within; overall {:.3} if they matched",
            suite.results.iter().filter(|c| of_kind(c)).count(),
            by_kind(&|k| k == kind),
            spearman(&pb, &matched)
        );
    }
    let n_ok = moving.iter().filter(|m| m.2).count();
    eprintln!(
        "cases with pybullet |mean| > {MOVING}: {}; same sign and within {:.0} %: {n_ok}",
        moving.len(),
        REL_TOL * 100.0
    );
    moving.sort_by(|a, b| b.0.total_cmp(&a.0));
    eprintln!("worst three:");
    for (rel, label, _, p, o, _) in moving.iter().take(3) {
        eprintln!(
            "  {label}: pybullet {p:.1}, ours {o:.1} (rel err {:.0} %)",
            rel * 100.0
        );
    }

    // What sampling alone allows: pybullet against itself, the means over the even-numbered
    // starts against those over the odd-numbered ones (half as many starts as above, so a
    // lower bound on what the full means could reach).
    let half = |c: &Case, parity: usize| -> f64 {
        mean(
            &c.progress
                .iter()
                .skip(parity)
                .step_by(2)
                .copied()
                .collect::<Vec<_>>(),
        )
    };
    let (even, odd): (Vec<f64>, Vec<f64>) = suite
        .results
        .iter()
        .map(|c| (half(c, 0), half(c, 1)))
        .unzip();
    let (self_rho, self_ok, self_n) = agreement(&even, &odd);
    eprintln!(
        "pybullet against itself (even vs odd starts, {} each): Spearman {self_rho:.3}, {self_ok} of {self_n} moving cases within {:.0} %",
        n_starts / 2,
        REL_TOL * 100.0
    );
    let within_noise = moving.iter().filter(|m| m.5).count();
    eprintln!(
        "moving cases within 35 % or two standard errors of pybullet: {within_noise} of {}",
        moving.len()
    );
    eprintln!(
        "targets: Spearman >= {TARGET_SPEARMAN}, all {} moving cases within {:.0} %",
        moving.len(),
        REL_TOL * 100.0
    );
    let converged = against_converged_pybullet(&suite, &pb, &ours);
    assert!(rho >= MIN_SPEARMAN, "Spearman {rho:.3} < {MIN_SPEARMAN}");
    if let Some(rho20) = converged {
        assert!(
            rho20 >= MIN_SPEARMAN_CONVERGED,
            "Spearman against pybullet at 20 sweeps {rho20:.3} < {MIN_SPEARMAN_CONVERGED}"
        );
    }
    let same_sign = moving
        .iter()
        .filter(|m| m.3.signum() == m.4.signum())
        .count();
    assert_eq!(same_sign, moving.len(), "a moving case goes the wrong way");
    assert!(
        n_ok >= MIN_WITHIN,
        "only {n_ok} of {} moving cases within {:.0} %",
        moving.len(),
        REL_TOL * 100.0
    );
}

fn read_trace(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.len(), 24, "{}", path.display());
    assert_eq!(header[0], "step");
    assert_eq!(header[7], "yaw");
    assert_eq!(header[8], "q0");
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            v.try_into().unwrap()
        })
        .collect()
}

fn wrap(a: f64) -> f64 {
    let t = std::f64::consts::TAU;
    (a + std::f64::consts::PI).rem_euclid(t) - std::f64::consts::PI
}

#[test]
fn traces_match_pybullet() {
    let suite = load();
    let morphs = morphologies();
    let gaits: BTreeMap<&str, &Gait> = suite.gaits.iter().map(|g| (g.name.as_str(), g)).collect();
    let scored = std::env::var("HEBBIAN_TRACE_SCORED").map_or(TRACE_SCORED, |v| {
        v.parse().expect("HEBBIAN_TRACE_SCORED: a step count")
    });
    let window = BURN_IN + scored;
    let extra = std::env::var("HEBBIAN_EXTRA_TRACES").ok();
    let files: Vec<String> = match &extra {
        Some(dir) => std::fs::read_dir(dir)
            .expect("HEBBIAN_EXTRA_TRACES: a directory of traces")
            .map(|e| e.unwrap().path().to_str().unwrap().to_string())
            .collect(),
        None => suite.traces.clone(),
    };
    let results: Vec<(String, Vec<String>)> = files
        .par_iter()
        .map(|file| {
            let stem = Path::new(file).file_stem().unwrap().to_str().unwrap();
            let parts: Vec<&str> = stem.split("__").collect();
            let (gait, morph) = (gaits[parts[0]], parts[1]);
            let si: usize = parts[2].trim_start_matches('s').parse().unwrap();
            let pb = read_trace(&Path::new(DATA).join(file.as_str()));
            assert!(pb.len() >= window, "{file}: {} rows", pb.len());
            let ours = run(&morphs[morph], &suite.starts[si], gait, window).rows;
            if let Ok(dir) = std::env::var("HEBBIAN_TRACE_DUMP") {
                let mut csv = String::new();
                for r in &ours {
                    let cells: Vec<String> = r.iter().map(|v| v.to_string()).collect();
                    csv += &(cells.join(",") + "\n");
                }
                std::fs::write(Path::new(&dir).join(format!("{stem}.csv")), csv)
                    .expect("HEBBIAN_TRACE_DUMP: writable directory");
            }
            // Max abs differences over [0, BURN_IN) and [BURN_IN, window): x, y, z, yaw, q; and
            // the RMS joint-angle difference over each part.
            let mut d = [[0.0f64; 5]; 2];
            let mut sq = [(0.0f64, 0usize); 2];
            let mut first_off: Option<usize> = None;
            for k in 0..window {
                let (p, o) = (&pb[k], &ours[k]);
                assert_eq!(p[0] as usize, k);
                let q = (8..16).map(|j| (p[j] - o[j]).abs()).fold(0.0, f64::max);
                let diff = [
                    (p[2] - o[2]).abs(),
                    (p[3] - o[3]).abs(),
                    (p[4] - o[4]).abs(),
                    wrap(p[7] - o[7]).abs(),
                    q,
                ];
                let w = usize::from(k >= BURN_IN);
                for i in 0..5 {
                    d[w][i] = d[w][i].max(diff[i]);
                }
                sq[w].0 += (8..16).map(|j| (p[j] - o[j]).powi(2)).sum::<f64>();
                sq[w].1 += 8;
                let off = diff[0] > TOL_XY
                    || diff[1] > TOL_XY
                    || diff[2] > TOL_Z
                    || diff[3] > TOL_YAW
                    || diff[4] > TOL_Q_MAX;
                if off && first_off.is_none() {
                    first_off = Some(k);
                }
            }
            let rms = sq.map(|(s, n)| (s / n as f64).sqrt());
            let rms_all = ((sq[0].0 + sq[1].0) / (sq[0].1 + sq[1].1) as f64).sqrt();
            let end = &pb[window - 1];
            let oend = &ours[window - 1];
            let mut s = format!(
                "{stem}\n  burn-in    max |Δ| x {:.3} y {:.3} z {:.3} yaw {:.3} q {:.3} (rms {:.3})\n  scored<{scored} max |Δ| x {:.3} y {:.3} z {:.3} yaw {:.3} q {:.3} (rms {:.3})\n  at step {}: pybullet x {:.3} y {:.3} z {:.3} yaw {:.3}; ours x {:.3} y {:.3} z {:.3} yaw {:.3}",
                d[0][0], d[0][1], d[0][2], d[0][3], d[0][4], rms[0],
                d[1][0], d[1][1], d[1][2], d[1][3], d[1][4], rms[1],
                window - 1, end[2], end[3], end[4], end[7], oend[2], oend[3], oend[4], oend[7],
            );
            // Holds must agree throughout; the gaits must agree over the burn-in, and are
            // reported (not asserted) after it: they still part from pybullet within the first
            // 100 scored steps (see the closing notes of the Ant issue).
            let strict = stem.starts_with("hold_");
            let mut fails = Vec::new();
            if let Some(k) = first_off.filter(|&k| strict || k < BURN_IN) {
                let (p, o) = (&pb[k], &ours[k]);
                let fmt = |r: &Row| {
                    (8..16).map(|j| format!("{:.2}", r[j])).collect::<Vec<_>>().join(" ")
                };
                s += &format!(
                    "\n  first off at step {k}: q pybullet [{}] ours [{}]",
                    fmt(p),
                    fmt(o)
                );
                fails.push(format!("{stem}: off tolerance from step {k}"));
            }
            if strict && rms_all > TOL_Q_RMS {
                fails.push(format!("{stem}: joint angles {rms_all:.3} rad RMS apart"));
            }
            (s, fails)
        })
        .collect();
    eprintln!(
        "trace tolerances over burn-in + {scored} scored steps: x, y {TOL_XY} m, z {TOL_Z} m, yaw {TOL_YAW} rad, joint angles {TOL_Q_MAX} rad max, {TOL_Q_RMS} rad RMS"
    );
    let mut fails = Vec::new();
    for (s, f) in results {
        eprintln!("{s}");
        fails.extend(f);
    }
    assert!(
        fails.is_empty(),
        "traces disagree with pybullet:\n{}",
        fails.join("\n")
    );
}

#[derive(Deserialize)]
struct LeakReference {
    pybullet: String,
    starts: usize,
    cases: Vec<LeakCase>,
}

#[derive(Deserialize)]
struct LeakCase {
    gait: String,
    morphology: String,
    start: usize,
    progress: f64,
    max_violation: [f64; 8],
}

/// A joint "leaked" when it went this far past its stop (rad). After the burn-in every ankle
/// already rests ≈ 0.22 out of range and walking pushes it to ≈ 0.3, so 0.5 is a real leak.
const LEAK: f64 = 0.5;
/// Pins of today's default physics on the 4-start reference (25 / 42 / 110), with slack.
const MIN_LEAKS_BOTH: usize = 20;
const MAX_LEAKS_PYBULLET_ONLY: usize = 50;
const MAX_LEAKS_OURS_ONLY: usize = 130;

/// Joint stops under load against real pybullet (`tests/data/quadruped/pybullet_stop_leaks.json`,
/// written by `pybullet_stop_leaks.py`: the suite's 24 gaits × 3 bodies × its first 4 starts).
///
/// pybullet's stops are not hard (Bullet solves a violation past 0.04 rad at velocity level
/// only, in a cold-started 5-iteration Gauss-Seidel with the contacts): on the damaged bodies the
/// short shin's ankle is pushed past its 100° stop at each touchdown and folds under the body
/// (≈ 1.1 rad past it) in the walking gaits, while its constant holds barely move. Ours does
/// nearly the opposite: its stops hold under walking loads, and some constant ±1 ankle holds leak
/// (see `World::update_stops`). The test prints every (case, joint) that goes more than [`LEAK`]
/// past its stop in either simulator and counts them; the target is that the two agree. The
/// asserts pin today's counts with slack (default physics, 4 starts: both 25, pybullet only 42,
/// ours only 110), so that a change of the stops shows here. For comparison,
/// [`PhysicsConfig::bullet_like`] gives 46 / 21 / 46: it reproduces most of the folds (the
/// climbed walkers on both damaged bodies), and its own extra leaks are the constant ankle holds.
#[test]
fn stop_leaks_match_pybullet() {
    let path = Path::new(DATA).join("pybullet_stop_leaks.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reference: LeakReference = serde_json::from_str(&text).expect("pybullet_stop_leaks.json");
    let suite = load();
    let morphs = morphologies();
    let gaits: BTreeMap<&str, &Gait> = suite.gaits.iter().map(|g| (g.name.as_str(), g)).collect();
    let ours: Vec<Episode> = reference
        .cases
        .par_iter()
        .map(|c| {
            let start = &suite.starts[c.start];
            run(&morphs[&c.morphology], start, gaits[c.gait.as_str()], 0)
        })
        .collect();
    println!(
        "\njoint stops: (case, joint) pairs that went more than {LEAK} rad past the stop, {} cases \
         ({} starts, pybullet {})",
        reference.cases.len(),
        reference.starts,
        reference.pybullet
    );
    println!(
        "{:<28} {:<14} {:>5} {:>5} {:>8} {:>8} {:>9} {:>9}",
        "gait", "morphology", "start", "joint", "pb past", "ours", "pb prog", "ours prog"
    );
    let joint_names = [
        "hip1", "ankle1", "hip2", "ankle2", "hip3", "ankle3", "hip4", "ankle4",
    ];
    let (mut both, mut pybullet_only, mut ours_only) = (0, 0, 0);
    for (c, e) in reference.cases.iter().zip(&ours) {
        for (j, joint) in joint_names.iter().enumerate() {
            let (p, o) = (c.max_violation[j], e.max_violation[j]);
            match (p > LEAK, o > LEAK) {
                (true, true) => both += 1,
                (true, false) => pybullet_only += 1,
                (false, true) => ours_only += 1,
                (false, false) => continue,
            }
            println!(
                "{:<28} {:<14} {:>5} {:>5} {:>8.2} {:>8.2} {:>9.1} {:>9.1}",
                c.gait, c.morphology, c.start, joint, p, o, c.progress, e.progress
            );
        }
    }
    println!(
        "leaks in both: {both}; pybullet only: {pybullet_only}; ours only: {ours_only} (target: \
         the two simulators agree)"
    );
    assert!(
        both >= MIN_LEAKS_BOTH,
        "fewer shared leaks than pinned: {both}"
    );
    assert!(
        pybullet_only <= MAX_LEAKS_PYBULLET_ONLY,
        "more pybullet-only leaks than pinned: {pybullet_only}"
    );
    assert!(
        ours_only <= MAX_LEAKS_OURS_ONLY,
        "more leaks of ours alone than pinned: {ours_only}"
    );
}
