//! The paper's analyses (`hebbian::experiment`, `hebbian experiment NAME`): their identities with
//! plain rollouts, the PCA on data with known components, the recovery-time definition, every
//! command on the shipped CartPole model through the CLI, and clear errors for bad options.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::{Tensor, TensorData};
use hebbian::config::{Config, QUICK_START};
use hebbian::controller::{Controller, ControllerSpec};
use hebbian::env::VecEnv;
use hebbian::env::cartpole::CartPole;
use hebbian::experiment::{
    ClampOptions, FreezeOptions, Recovery, Report, Subject, TransplantOptions, ZeroOptions, clamp,
    freeze, principal_components, transplant, zero, zero_band,
};
use hebbian::files::{Model, ModelHeader, save_model};
use hebbian::genome::InitialDistribution;
use hebbian::rollout::{
    Chunking, EpisodeSeeds, NoHook, env_seed, evaluate, init_seed, run_episodes_full_batch,
};
use hebbian::task::Task;

const ROLLOUTS: usize = 8;
const SEED: u64 = 3;

fn cartpole_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/cartpole_ABCD_lr.safetensors")
}

fn open() -> Subject {
    Subject::open(&cartpole_model(), Some("flex"), &[]).unwrap()
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// `hebbian eval`'s raw returns of the subject (`rollout::evaluate` on R copies of the genome).
fn plain_eval(s: &Subject, rollouts: usize, seed: u64) -> Vec<f32> {
    let m = &s.model;
    let d = m.genome.len();
    let rows: Vec<f32> = (0..rollouts).flat_map(|_| m.genome.clone()).collect();
    let population = Tensor::<2>::from_data(TensorData::new(rows, [rollouts, d]), &m.device);
    let chunking = Chunking {
        chunk: m.config.run.chunk,
    };
    evaluate(&m.task, &m.spec, &population, chunking, seed).per_variant[0].clone()
}

#[test]
fn freeze_after_the_episode_is_plain_evaluation_bit_for_bit() {
    let s = open();
    let options = FreezeOptions {
        steps: vec![0, 10, 500],
        rollouts: ROLLOUTS,
        seed: SEED,
        progress: false,
    };
    let report = freeze(&s, &options).unwrap();
    let points = &report.variants[0].points;
    assert_eq!(
        points.iter().map(|p| p.freeze_after).collect::<Vec<_>>(),
        [0, 10, 500]
    );
    let eval = plain_eval(&s, ROLLOUTS, SEED);
    assert_eq!(bits(&points[2].returns), bits(&eval));
    // A model that balances: freezing at once (random weights) is far worse than not at all.
    assert!(
        points[0].stats.mean < 0.5 * points[2].stats.mean,
        "{points:?}"
    );
}

/// N = 0 is the random initial weights held fixed: the same episodes as a static-weight network
/// given exactly the weights the Hebbian controller starts from.
#[test]
fn freeze_at_zero_is_the_random_initial_weights_held_fixed() {
    let s = open();
    let options = FreezeOptions {
        steps: vec![0],
        rollouts: ROLLOUTS,
        seed: SEED,
        progress: false,
    };
    let report = freeze(&s, &options).unwrap();
    let frozen = &report.variants[0].points[0];
    assert_eq!(frozen.freeze_after, 0);

    let m = &s.model;
    let d = m.genome.len();
    let rows: Vec<f32> = (0..ROLLOUTS).flat_map(|_| m.genome.clone()).collect();
    let genomes = Tensor::<2>::from_data(TensorData::new(rows, [ROLLOUTS, d]), &m.device);
    // One chunk of ROLLOUTS agents: the initial weights evaluate draws for it.
    let mut controller = Controller::build(&m.spec, &genomes, init_seed(SEED, 0, ROLLOUTS, 0));
    let weights = controller.plastic_mut().unwrap().weights();
    let host: Vec<Vec<f32>> = weights
        .iter()
        .map(|w| {
            w.clone()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap()
        })
        .collect();
    let static_rows: Vec<f32> = (0..ROLLOUTS)
        .flat_map(|a| {
            host.iter()
                .zip(m.spec.architecture.layer_shapes())
                .flat_map(move |(w, (o, i))| w[a * o * i..(a + 1) * o * i].to_vec())
        })
        .collect();
    let static_spec = ControllerSpec {
        rule: None,
        ..m.spec.clone()
    };
    let n = static_rows.len() / ROLLOUTS;
    assert_eq!(n, static_spec.layout().len());
    let static_genomes =
        Tensor::<2>::from_data(TensorData::new(static_rows, [ROLLOUTS, n]), &m.device);
    let mut envs = VecEnv::new((0..ROLLOUTS).map(|_| CartPole::new()).collect());
    let seeds = EpisodeSeeds {
        envs: (0..ROLLOUTS)
            .map(|a| env_seed(SEED, 0, ROLLOUTS, a))
            .collect(),
        init: 0,
    };
    let fixed = run_episodes_full_batch(
        &mut envs,
        &m.task.protocol,
        &static_spec,
        &static_genomes,
        &seeds,
        &mut NoHook,
    );
    assert_eq!(bits(&frozen.returns), bits(&fixed.fitness));
    assert_eq!(frozen.lengths, fixed.lengths);
}

/// On the Ant's three bodies: a body given back its own weights at step N is the same episode
/// as freezing at N, its plastic row is `hebbian eval`, and another body's weights change the
/// episodes (the swap reaches the network).
#[test]
fn transplanting_a_bodys_own_weights_is_freezing_them() {
    let model =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ant_ABCD_lr_P256_g294.safetensors");
    let s = Subject::open(&model, Some("flex"), &[]).unwrap();
    let (rollouts, at) = (2, 60);
    let report = transplant(
        &s,
        &TransplantOptions {
            at,
            rollouts,
            seed: SEED,
            progress: false,
        },
    )
    .unwrap();
    let frozen = freeze(
        &s,
        &FreezeOptions {
            steps: vec![at],
            rollouts,
            seed: SEED,
            progress: false,
        },
    )
    .unwrap();
    let names = s.variant_names();
    assert_eq!(report.rows.len(), names.len() * (names.len() + 1));
    for (v, name) in names.iter().enumerate() {
        let rows: Vec<_> = report.rows.iter().filter(|r| &r.driven == name).collect();
        assert_eq!(rows[0].grown_on, None);
        let eval = &frozen.variants[v].points;
        assert_eq!(
            bits(&rows[0].returns),
            bits(&eval[1].returns),
            "{name}: plastic"
        );
        let own = rows
            .iter()
            .find(|r| r.grown_on.as_ref() == Some(name))
            .unwrap();
        assert_eq!(own.rollouts, rollouts, "no episode ends before step {at}");
        assert_eq!(
            bits(&own.returns),
            bits(&eval[0].returns),
            "{name}: own weights"
        );
        for other in rows
            .iter()
            .skip(1)
            .filter(|r| r.grown_on.as_ref() != Some(name))
        {
            assert_ne!(
                bits(&other.returns),
                bits(&own.returns),
                "{name} with {:?}'s weights",
                other.grown_on
            );
        }
    }
    let err = transplant(
        &s,
        &TransplantOptions {
            at: 5000,
            ..TransplantOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--at") && err.contains("5000"), "{err}");
}

#[test]
fn an_empty_clamp_window_and_a_zero_fraction_change_nothing() {
    let s = open();
    let eval = plain_eval(&s, ROLLOUTS, SEED);
    for keep_early_stops in [false, true] {
        let c = clamp(
            &s,
            &ClampOptions {
                from: 100,
                to: 100,
                rollouts: ROLLOUTS,
                seed: SEED,
                keep_early_stops,
                ..ClampOptions::default()
            },
        )
        .unwrap();
        let z = zero(
            &s,
            &ZeroOptions {
                at: Some(100),
                fraction: 0.0,
                rollouts: ROLLOUTS,
                seed: SEED,
                keep_early_stops,
                ..ZeroOptions::default()
            },
        )
        .unwrap();
        for v in [&c.variants[0], &z.variants[0]] {
            let series = &v.series;
            assert_eq!(series.perturbed.len(), ROLLOUTS);
            for (u, p) in series.unperturbed.iter().zip(&series.perturbed) {
                assert_eq!(bits(u), bits(p));
            }
            assert_eq!(
                bits(&series.unperturbed_fitness),
                bits(&series.perturbed_fitness)
            );
            // Identical runs recover at once, except where the episode ended before the
            // "perturbation".
            for (r, u) in v.recovery.iter().zip(&series.unperturbed) {
                assert_eq!(*r, (u.len() > 100).then_some(0));
            }
            // CartPole has no negative-reward stop: with or without it, this is `eval`.
            assert_eq!(bits(&series.perturbed_fitness), bits(&eval));
        }
    }
    // A real clamp (always push left) does change the episodes.
    let c = clamp(
        &s,
        &ClampOptions {
            from: 100,
            to: 150,
            rollouts: ROLLOUTS,
            seed: SEED,
            ..ClampOptions::default()
        },
    )
    .unwrap();
    assert_ne!(bits(&c.variants[0].series.perturbed_fitness), bits(&eval));
}

#[test]
fn zeroing_a_band_changes_the_weights_and_the_band_has_the_asked_size() {
    assert_eq!(zero_band(12, 1.0 / 3.0), 4..8);
    assert_eq!(zero_band(10, 0.0), 5..5);
    assert_eq!(zero_band(128 * 64, 0.25).len(), 2048);
    let s = open();
    let z = zero(
        &s,
        &ZeroOptions {
            at: Some(100),
            rollouts: 2,
            seed: SEED,
            ..ZeroOptions::default()
        },
    )
    .unwrap();
    // Images: before zeroing, zeroed, t+1, t+10; the zeroed one has its band at 0.
    let snaps = &z.images[0];
    let steps: Vec<(usize, bool)> = snaps
        .iter()
        .map(|s| (s.step, s.after_perturbation))
        .collect();
    assert_eq!(steps, [(100, false), (100, true), (101, true), (110, true)]);
    let mut offset = 0;
    for (o, i) in z.layers.clone() {
        let band = zero_band(o * i, 1.0 / 3.0);
        let before = &snaps[0].weights[offset..offset + o * i];
        let after = &snaps[1].weights[offset..offset + o * i];
        for k in 0..o * i {
            if band.contains(&k) {
                assert_eq!(after[k], 0.0);
            } else {
                assert_eq!(after[k].to_bits(), before[k].to_bits());
            }
        }
        offset += o * i;
    }
}

#[test]
fn recovery_time_follows_its_definition() {
    let r = Recovery {
        window: 4,
        tolerance: 0.1,
    };
    let plain = vec![1.0f32; 50];
    assert_eq!(r.time(&plain, &plain, 10), Some(0));
    // Rewards 0 on steps 10..20: the 4-step average is back within 10 % once the window holds
    // no zero, i.e. at t = 23, three steps after the perturbation ended at 20.
    let mut dip = plain.clone();
    dip[10..20].fill(0.0);
    assert_eq!(r.time(&plain, &dip, 20), Some(3));
    // A perturbed episode that ends before the unperturbed one has not recovered.
    assert_eq!(r.time(&plain, &plain[..40], 20), None);
    // Nothing to recover to when the unperturbed episode is over by then.
    assert_eq!(r.time(&plain[..20], &plain, 20), None);
    // Still off at the last step: not recovered.
    let mut late = plain.clone();
    late[49] = 0.0;
    assert_eq!(r.time(&plain, &late, 20), None);
    // Longer perturbed episodes are compared to the end of the unperturbed one.
    assert_eq!(r.time(&plain[..30], &plain, 20), Some(0));
}

/// Points on a known 3-D subspace of R^40 with variances 9 : 4 : 1 (exactly orthogonal cosine
/// coordinates): the PCA finds the ratios and the axes.
#[test]
fn pca_recovers_known_components() {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let (t, d) = (200usize, 40usize);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    // An orthonormal basis e1..e3 by Gram-Schmidt on random vectors.
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for _ in 0..3 {
        let mut v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        for e in &basis {
            let dot: f64 = v.iter().zip(e).map(|(a, b)| a * b).sum();
            v.iter_mut().zip(e).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        v.iter_mut().for_each(|a| *a /= norm);
        basis.push(v);
    }
    let amplitude = [3.0f64, 2.0, 1.0];
    let offset: Vec<f64> = (0..d).map(|j| j as f64 * 0.1).collect();
    let points: Vec<Vec<f32>> = (0..t)
        .map(|s| {
            let coord: Vec<f64> = (0..3)
                .map(|k| {
                    let f = (k + 1) as f64;
                    amplitude[k]
                        * 2f64.sqrt()
                        * (2.0 * std::f64::consts::PI * f * s as f64 / t as f64).cos()
                })
                .collect();
            (0..d)
                .map(|j| (offset[j] + (0..3).map(|k| coord[k] * basis[k][j]).sum::<f64>()) as f32)
                .collect()
        })
        .collect();
    let p = principal_components(&points, 3).unwrap();
    let expected = [9.0 / 14.0, 4.0 / 14.0, 1.0 / 14.0];
    for k in 0..3 {
        assert!(
            (p.explained_ratio[k] - expected[k]).abs() < 1e-3,
            "{:?}",
            p.explained_ratio
        );
        let dot: f64 = p.components[k]
            .iter()
            .zip(&basis[k])
            .map(|(a, b)| a * b)
            .sum();
        assert!((dot.abs() - 1.0).abs() < 1e-3, "component {k}: |cos| {dot}");
        // Sample variance (T − 1) of amplitude·√2·cos: amplitude² · T/(T − 1).
        let var = amplitude[k] * amplitude[k] * t as f64 / (t - 1) as f64;
        assert!((p.variance[k] - var).abs() < 1e-3 * var, "{:?}", p.variance);
        assert_eq!(p.scores.len(), t);
    }
    assert!(p.explained_ratio.iter().sum::<f64>() > 1.0 - 1e-3);
}

fn hebbian(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hebbian"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A static-weight CartPole model file (random weights) in `dir`.
fn static_model(dir: &Path) -> PathBuf {
    let config = Config::parse(QUICK_START, "test", &["network.rule=static".into()]).unwrap();
    let task = Task::cartpole();
    let layout = config.controller_spec(&task).layout();
    let path = dir.join("static.safetensors");
    let model = Model {
        header: ModelHeader {
            task: "cartpole".into(),
            rule: "static".into(),
            generation: 0,
            config: config.to_toml(),
        },
        genome: layout.initial_centre(InitialDistribution::Normal, 1),
    };
    save_model(&path, &layout, &model, None).unwrap();
    path
}

#[test]
fn every_experiment_runs_on_cartpole_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let model = cartpole_model();
    let m = model.to_str().unwrap();
    let static_path = static_model(dir.path());
    let s = static_path.to_str().unwrap();
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        (
            "freeze",
            vec!["--steps", "0,20,100", "--rollouts", "4"],
            vec!["freeze.csv", "freeze.png"],
        ),
        (
            "clamp",
            vec!["--from", "100", "--to", "103", "--rollouts", "3"],
            vec!["clamp.csv", "clamp.png"],
        ),
        (
            "zero",
            vec!["--at", "100", "--rollouts", "3"],
            vec!["zero.csv", "zero.png", "zero_weights_cartpole.png"],
        ),
        (
            "weights",
            vec!["--at", "0,10,end"],
            vec!["weights.csv", "weights_cartpole.png"],
        ),
        ("pca", vec![], vec!["pca.csv", "pca.png"]),
        (
            "init",
            vec!["--inits", "uni,normal:0.1,zeros", "--rollouts", "3"],
            vec!["init.csv", "init.md", "init.png"],
        ),
        (
            "compare",
            vec!["--model", s, "--rollouts", "3"],
            vec!["compare.csv", "compare.md", "compare.png"],
        ),
        (
            "transplant",
            vec!["--at", "50", "--rollouts", "3"],
            vec!["transplant.csv", "transplant.md", "transplant.png"],
        ),
    ];
    for (name, extra, files) in cases {
        let out = dir.path().join(name);
        let mut args = vec![
            "experiment",
            name,
            "--model",
            m,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        args.extend(extra);
        let (ok, stdout, err) = hebbian(&args);
        assert!(ok, "{name}: {stdout}\n{err}");
        assert!(stdout.starts_with(name), "{stdout}");
        for f in files.iter().chain(&["summary.json"]) {
            let path = out.join(f);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {f}: {e}"));
            if f.ends_with(".png") {
                assert_eq!(&bytes[1..4], b"PNG", "{name}: {f}");
                assert!(
                    bytes.len() < 200_000,
                    "{name}: {f} is {} bytes",
                    bytes.len()
                );
            }
            if f.ends_with(".csv") {
                let text = String::from_utf8_lossy(&bytes);
                assert!(text.lines().count() > 1, "{name}: {f} has no rows");
            }
            if *f == "summary.json" {
                let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                assert!(v.is_object(), "{name}");
            }
        }
        // No temporary files left behind.
        for entry in std::fs::read_dir(&out).unwrap() {
            let p = entry.unwrap().path();
            assert!(!p.to_string_lossy().ends_with(".tmp"), "{}", p.display());
        }
    }
    // The static baseline where it makes sense: clamp and compare (above) run on it.
    let out = dir.path().join("static_clamp");
    let (ok, stdout, err) = hebbian(&[
        "experiment",
        "clamp",
        "--model",
        s,
        "--from",
        "10",
        "--to",
        "12",
        "--rollouts",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}\n{err}");
    assert!(out.join("clamp.png").exists());
}

#[test]
fn bad_options_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = cartpole_model();
    let m = model.to_str().unwrap();
    let static_path = static_model(dir.path());
    let s = static_path.to_str().unwrap();
    let out = dir.path().join("never");
    let o = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["experiment", "bogus", "--model", m], vec!["bogus"]),
        (
            vec!["experiment", "freeze", "--model", m, "--steps", "0,900"],
            vec!["--steps", "900", "beyond the episode"],
        ),
        (
            vec!["experiment", "zero", "--model", m, "--fraction", "1.5"],
            vec!["--fraction", "1.5"],
        ),
        (
            vec!["experiment", "zero", "--model", m, "--fraction=-0.2"],
            vec!["--fraction", "-0.2"],
        ),
        (
            vec!["experiment", "zero", "--model", m, "--fraction", "1"],
            vec!["--fraction"],
        ),
        (
            vec!["experiment", "zero", "--model", m, "--at", "500"],
            vec!["--at", "500"],
        ),
        (
            vec!["experiment", "clamp", "--model", m, "--to", "700"],
            vec!["--to", "700"],
        ),
        (
            vec![
                "experiment",
                "clamp",
                "--model",
                m,
                "--from",
                "50",
                "--to",
                "40",
            ],
            vec!["--from"],
        ),
        (
            vec!["experiment", "weights", "--model", m, "--at", "0,900"],
            vec!["--at", "900"],
        ),
        (
            vec!["experiment", "weights", "--model", m, "--at", "0,later"],
            vec!["later"],
        ),
        (
            vec!["experiment", "freeze", "--model", m, "--rollouts", "0"],
            vec!["--rollouts"],
        ),
        (
            vec!["experiment", "freeze", "--model", m, "--variant", "intact"],
            vec!["intact", "cartpole"],
        ),
        (
            vec![
                "experiment",
                "init",
                "--model",
                m,
                "--inits",
                "uni,coevolve",
            ],
            vec!["coevolve"],
        ),
        (
            vec!["experiment", "init", "--model", m, "--inits", "normal:-1"],
            vec!["normal:-1"],
        ),
        (
            vec!["experiment", "pca", "--model", "/no/such/model.safetensors"],
            vec!["/no/such/model.safetensors"],
        ),
    ];
    let mut cases = cases;
    for name in ["freeze", "zero", "weights", "pca", "init"] {
        cases.push((
            vec!["experiment", name, "--model", s],
            vec![name, "static", "static.safetensors"],
        ));
    }
    cases.push((
        vec!["experiment", "clamp", "--model", s, "--frozen-during-clamp"],
        vec!["static"],
    ));
    for (mut args, needles) in cases {
        args.extend(["--out", o, "--quiet"]);
        let (ok, stdout, err) = hebbian(&args);
        assert!(!ok, "{args:?} succeeded: {stdout}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        for n in needles {
            assert!(err.contains(n), "{args:?}: `{n}` not in: {err}");
        }
    }
    assert!(!out.exists(), "a failed experiment wrote {}", out.display());
    // The library reports the same through its typed error.
    let subject = Subject::open(&static_path, Some("flex"), &[]).unwrap();
    let e = freeze(&subject, &FreezeOptions::default()).unwrap_err();
    assert!(matches!(
        e,
        hebbian::experiment::ExperimentError::NeedsPlasticity { .. }
    ));
}

#[test]
fn reports_write_atomically_into_a_new_folder() {
    let s = open();
    let report = freeze(
        &s,
        &FreezeOptions {
            steps: vec![0, 50],
            rollouts: 2,
            seed: 0,
            progress: false,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a/b");
    let files = report.write(&out).unwrap();
    assert_eq!(files.len(), 3);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["task"], "cartpole");
    assert_eq!(summary["variants"][0]["points"][2]["freeze_after"], 500);
    assert!(report.paragraph().starts_with("freeze (cartpole ABCD_lr"));
}

#[test]
fn compare_labels_run_folder_models_by_their_folder() {
    let dir = tempfile::tempdir().unwrap();
    let source = static_model(dir.path());
    let mut args = vec!["experiment".to_string(), "compare".into()];
    for run in ["run_a", "run_b"] {
        let folder = dir.path().join(run);
        std::fs::create_dir_all(&folder).unwrap();
        let model = folder.join("model.safetensors");
        std::fs::copy(&source, &model).unwrap();
        args.extend(["--model".into(), model.to_string_lossy().into_owned()]);
    }
    let out = dir.path().join("compare");
    args.extend(["--rollouts", "2", "--quiet", "--out", out.to_str().unwrap()].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, stdout, err) = hebbian(&args);
    assert!(ok, "{stdout}\n{err}");
    let table = std::fs::read_to_string(out.join("compare.csv")).unwrap();
    assert!(
        table.contains("run_a/model") && table.contains("run_b/model"),
        "{table}"
    );
}
