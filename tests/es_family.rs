//! The ES family behind one ask/tell interface: OpenAI-ES, PGPE (ClipUp, Adam) and SNES on
//! analytic functions with known behaviour, exact resume of every algorithm (through the
//! checkpoint file), and learning CartPole end to end.

use hebbian::config::{Config, QUICK_START};
use hebbian::es::{Algorithm, CentreOptimizer, Es, EsConfig, EsState, nes_utilities};
use hebbian::files::{read_checkpoint, save_checkpoint};
use hebbian::train::{TrainOptions, train};

fn device() -> burn::tensor::Device {
    hebbian::device::default_cpu()
}

fn rows(t: burn::tensor::Tensor<2>) -> Vec<Vec<f32>> {
    let [_, d] = t.dims();
    let v = t.into_data().try_into_vec::<f32>().unwrap();
    v.chunks(d).map(|c| c.to_vec()).collect()
}

fn sphere(x: &[f32]) -> f32 {
    x.iter().map(|v| v * v).sum()
}

fn rastrigin(x: &[f32]) -> f32 {
    10.0 * x.len() as f32
        + x.iter()
            .map(|v| v * v - 10.0 * (2.0 * std::f32::consts::PI * v).cos())
            .sum::<f32>()
}

/// Minimises `f` for `generations`; returns f at the final centre.
fn minimise(es: &mut Es, f: fn(&[f32]) -> f32, generations: usize) -> f32 {
    for _ in 0..generations {
        let fitness: Vec<f32> = rows(es.ask().all()).iter().map(|x| -f(x)).collect();
        es.tell(&fitness).unwrap();
    }
    f(&es.centre_host())
}

fn pgpe(optimizer: CentreOptimizer, learning_rate: f32, sigma: f32) -> EsConfig {
    EsConfig {
        algorithm: Algorithm::Pgpe,
        optimizer,
        learning_rate,
        sigma,
        ..EsConfig::default()
    }
}

fn snes(sigma: f32) -> EsConfig {
    EsConfig {
        algorithm: Algorithm::Snes,
        learning_rate: 1.0,
        sigma,
        ..EsConfig::default()
    }
}

fn every_algorithm() -> Vec<(&'static str, EsConfig)> {
    vec![
        (
            "openai_es",
            EsConfig {
                learning_rate: 0.05,
                ..EsConfig::default()
            },
        ),
        ("pgpe_clipup", pgpe(CentreOptimizer::ClipUp, 0.05, 0.3)),
        ("pgpe_adam", pgpe(CentreOptimizer::Adam, 0.05, 0.3)),
        ("snes", snes(0.5)),
    ]
}

#[test]
fn every_algorithm_descends_the_sphere() {
    let d = 20;
    for (name, config) in every_algorithm() {
        let mut es = Es::new(config, 40, vec![1.0; d], 5, &device()).unwrap();
        let start = sphere(&es.centre_host());
        let end = minimise(&mut es, sphere, 300);
        assert!(end < 1e-2 * start, "{name}: sphere {start} -> {end}");
    }
    // SNES adapts σ and converges geometrically: far below what a fixed σ allows.
    let mut es = Es::new(snes(0.5), 40, vec![1.0; d], 5, &device()).unwrap();
    let end = minimise(&mut es, sphere, 300);
    assert!(end < 1e-6, "snes sphere {end}");
    assert!(
        es.sigma() < 1e-2,
        "snes σ shrinks with the distance: {}",
        es.sigma()
    );
}

#[test]
fn pgpe_and_snes_escape_rastrigins_local_minima() {
    // From x = 2.5 in every dimension (f = 262.5, a local maximum of each coordinate's term,
    // amid a lattice of local minima), plain descent stops in a neighbouring local minimum
    // (f ≥ 40 at x = 2 everywhere). A wide search distribution smooths the landscape and moves
    // into the global basin: SNES (adapting σ) converges there; PGPE, whose centre keeps
    // moving at its step size, passes below every local minimum around the start.
    let d = 10;
    let cases = [
        ("snes", snes(2.0), 5.0),
        (
            "pgpe_clipup",
            pgpe(CentreOptimizer::ClipUp, 0.01, 1.0),
            40.0,
        ),
        ("pgpe_adam", pgpe(CentreOptimizer::Adam, 0.02, 1.0), 40.0),
    ];
    for (name, config, bound) in cases {
        let mut es = Es::new(config, 100, vec![2.5; d], 11, &device()).unwrap();
        minimise(&mut es, rastrigin, 500);
        let best_late = (0..100)
            .map(|_| minimise(&mut es, rastrigin, 1))
            .fold(f32::MAX, f32::min);
        assert!(
            best_late < bound,
            "{name}: rastrigin 262.5 -> best late {best_late}"
        );
    }
}

#[test]
fn nes_utilities_sum_to_zero_and_favour_the_best() {
    let u = nes_utilities(&[3.0, f32::NAN, 10.0, -1.0, 5.0, 0.0]);
    assert!(u.iter().sum::<f32>().abs() < 1e-6, "{u:?}");
    assert!(u[2] > u[4] && u[4] > u[0], "{u:?}");
    // Only the better half gets positive weight; NaN ranks last.
    assert!(u[1] < 0.0 && u[3] < 0.0 && u[5] < 0.0 && (u[1] - u[3]).abs() < 1e-7);
}

#[test]
fn every_algorithm_resumes_bit_for_bit_through_a_checkpoint() {
    let d = 12;
    let dir = tempfile::tempdir().unwrap();
    for (name, config) in every_algorithm() {
        let run = |es: &mut Es, g: usize| minimise(es, sphere, g);
        let mut straight = Es::new(config.clone(), 8, vec![0.7; d], 9, &device()).unwrap();
        run(&mut straight, 6);

        let mut first = Es::new(config.clone(), 8, vec![0.7; d], 9, &device()).unwrap();
        run(&mut first, 3);
        let path = dir.path().join(format!("{name}.safetensors"));
        save_checkpoint(&path, &first.state(), "sphere", "none", "cfg", None).unwrap();
        let loaded = read_checkpoint(&path, "sphere", "none", d).unwrap();
        assert_eq!(
            loaded.state,
            first.state(),
            "{name}: the checkpoint holds the whole state"
        );
        let mut resumed = Es::from_state(config.clone(), 8, loaded.state, &device()).unwrap();
        run(&mut resumed, 3);
        assert_eq!(resumed.state(), straight.state(), "{name}");
        if config.algorithm != Algorithm::OpenAiEs {
            // A resume that lost σ or the optimizer's state would differ.
            let mut forgetful = Es::from_state(
                config,
                8,
                EsState {
                    vectors: Vec::new(),
                    ..first.state()
                },
                &device(),
            )
            .unwrap();
            run(&mut forgetful, 3);
            assert_ne!(forgetful.state().centre, straight.state().centre, "{name}");
        }
    }
}

#[test]
fn pgpe_and_snes_learn_cartpole() {
    for (algorithm, overrides) in [
        (
            "pgpe",
            // ClipUp's step is a norm over all 44,160 coefficients: ~0.02 per coefficient.
            vec![
                "es.algorithm=\"pgpe\"",
                "es.learning_rate=5.0",
                "es.sigma=0.1",
            ],
        ),
        (
            "snes",
            vec![
                "es.algorithm=\"snes\"",
                "es.learning_rate=1.0",
                "es.sigma=0.5",
            ],
        ),
    ] {
        let mut o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        o.extend(["generations=20".to_string(), "population=64".to_string()]);
        let config = Config::parse(QUICK_START, "test", &o).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let h = train(config, dir.path(), &TrainOptions::default())
            .unwrap()
            .history;
        let first = h[0].mean_fitness;
        let best_late = h[h.len() - 5..]
            .iter()
            .map(|m| m.mean_fitness)
            .fold(f32::MIN, f32::max);
        assert!(
            best_late > 200.0 && best_late > 3.0 * first,
            "{algorithm}: mean fitness {first} -> {best_late}"
        );
    }
}

#[test]
fn a_pgpe_and_a_snes_run_resume_bit_for_bit() {
    for algorithm in ["pgpe", "snes"] {
        let o: Vec<String> = [
            format!("es.algorithm=\"{algorithm}\""),
            "es.optimizer=\"adam\"".into(),
            "generations=4".into(),
            "population=8".into(),
        ]
        .into();
        let config = Config::parse(QUICK_START, "test", &o).unwrap();
        let straight = train(
            config.clone(),
            tempfile::tempdir().unwrap().path(),
            &TrainOptions::default(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        train(
            config,
            dir.path(),
            &TrainOptions {
                stop_after: Some(2),
                ..TrainOptions::default()
            },
        )
        .unwrap();
        let resumed = hebbian::train::resume(dir.path(), &TrainOptions::default()).unwrap();
        assert_eq!(resumed.centre, straight.centre, "{algorithm}");
        let sigmas = |h: &[hebbian::metrics::GenerationMetrics]| -> Vec<f32> {
            h.iter().map(|m| m.sigma).collect()
        };
        assert_eq!(sigmas(&resumed.history), sigmas(&straight.history));
    }
}
