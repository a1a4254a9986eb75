//! Neuron-level (NcHL) rules: the compact kernels against the per-synapse form they equal, the
//! expansion against the scalar formula, the parameter counts, and learning CartPole.

use burn::tensor::{Device, Tensor, TensorData};
use hebbian::Rule;
use hebbian::architecture::Architecture;
use hebbian::config::{Config, QUICK_START};
use hebbian::plastic::{
    NeuronCoefficients, OutputActivation, PlasticConfig, PlasticNetwork, UpdateKernel,
};
use hebbian::train::{TrainOptions, train};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn cpu() -> Device {
    hebbian::device_from_name("flex").unwrap()
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

/// Random neuron coefficients `[P, 5, n]` per neuron layer, with the input layer's B and the
/// output layer's A zero (as the genome gives them).
fn neurons(p: usize, sizes: &[usize], seed: u64) -> Vec<Tensor<3>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let last = sizes.len() - 1;
    sizes
        .iter()
        .enumerate()
        .map(|(n, &size)| {
            let mut v = uniform(&mut rng, p * 5 * size, 0.5);
            for a in 0..p {
                let row = |r: usize| (a * 5 + r) * size..(a * 5 + r + 1) * size;
                if n == 0 {
                    v[row(1)].fill(0.0);
                }
                if n == last {
                    v[row(0)].fill(0.0);
                }
            }
            Tensor::from_data(TensorData::new(v, [p, 5, size]), &cpu())
        })
        .collect()
}

fn weights(p: usize, sizes: &[usize], seed: u64) -> Vec<Tensor<3>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    sizes
        .windows(2)
        .map(|w| {
            let (o, i) = (w[1], w[0]);
            Tensor::from_data(
                TensorData::new(uniform(&mut rng, p * o * i, 0.1), [p, o, i]),
                &cpu(),
            )
        })
        .collect()
}

fn config(sizes: &[usize], kernel: UpdateKernel, normalize: bool) -> PlasticConfig {
    PlasticConfig {
        layer_sizes: sizes.to_vec(),
        rule: Rule::AbcdLr,
        output_activation: OutputActivation::Tanh,
        normalize,
        kernel,
        coefficient_precision: Default::default(),
    }
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = 1e-4 * (1.0 + w.abs());
        assert!((g - w).abs() <= tol, "{what}[{k}]: {g} vs {w}");
    }
}

#[test]
fn the_expansion_is_the_nchl_formula() {
    let (p, sizes) = (2, [3usize, 4]);
    let n = neurons(p, &sizes, 1);
    let c = NeuronCoefficients::for_layer(&n, 0);
    let host = |t: &Tensor<3>| to_vec(t.clone());
    let (pre, post) = (host(&n[0]), host(&n[1]));
    let expanded = to_vec(c.expand());
    let at = |v: &[f32], a: usize, r: usize, i: usize, size: usize| v[(a * 5 + r) * size + i];
    for a in 0..p {
        for j in 0..4 {
            for i in 0..3 {
                let e = |k: usize| expanded[((a * 5 + k) * 4 + j) * 3 + i];
                let (pi, pj) = (|r| at(&pre, a, r, i, 3), |r| at(&post, a, r, j, 4));
                assert_eq!(e(0), pi(2) * pj(2), "A = C_i C_j");
                assert_eq!(e(1), pi(0), "B = A_i");
                assert_eq!(e(2), pj(1), "C = B_j");
                // The reference's ABCD_lr slot order: A, B, C, η, D.
                assert_eq!(e(3), (pi(4) + pj(4)) / 2.0, "η = (η_i + η_j)/2");
                assert_eq!(e(4), pi(3) * pj(3), "D = D_i D_j");
            }
        }
    }
}

#[test]
fn compact_kernels_equal_the_expanded_per_synapse_rule() {
    let p = 3;
    // A wide layer splits rows across rayon tasks on the fused path.
    let sizes = [40usize, 600, 16, 5];
    let inputs: Vec<Tensor<2>> = (0..6)
        .map(|t| {
            let mut rng = ChaCha8Rng::seed_from_u64(100 + t);
            Tensor::from_data(
                TensorData::new(uniform(&mut rng, p * 40, 1.0), [p, 40]),
                &cpu(),
            )
        })
        .collect();
    let n = neurons(p, &sizes, 7);
    let expanded: Vec<Tensor<4>> = (0..sizes.len() - 1)
        .map(|l| NeuronCoefficients::for_layer(&n, l).expand())
        .collect();
    for normalize in [false, true] {
        let mut oracle = PlasticNetwork::new(
            config(&sizes, UpdateKernel::TensorOps, normalize),
            expanded.clone(),
            weights(p, &sizes, 9),
        );
        let want: Vec<Vec<f32>> = inputs
            .iter()
            .map(|x| to_vec(oracle.step(x.clone())))
            .collect();
        let want_w: Vec<Vec<f32>> = oracle.weights().into_iter().map(to_vec).collect();
        for kernel in [UpdateKernel::TensorOps, UpdateKernel::Fused] {
            let mut net = PlasticNetwork::new_neuron_level(
                config(&sizes, kernel, normalize),
                n.clone(),
                weights(p, &sizes, 9),
            );
            for (t, x) in inputs.iter().enumerate() {
                let what = format!("{kernel:?} normalize={normalize} step {t}");
                assert_close(&to_vec(net.step(x.clone())), &want[t], &what);
            }
            for (l, w) in net.weights().into_iter().enumerate() {
                let what = format!("{kernel:?} normalize={normalize} layer {l} weights");
                assert_close(&to_vec(w), &want_w[l], &what);
            }
        }
    }
}

#[test]
fn neuron_level_counts_follow_nchl() {
    // 5 per neuron, less the input layer's B and the output layer's A.
    assert_eq!(
        Architecture::ant().neuron_coefficients(),
        5 * (28 + 128 + 64 + 8) - 28 - 8
    );
    assert_eq!(Architecture::ant().neuron_coefficients(), 1104);
    assert_eq!(Architecture::car_racing().neuron_coefficients(), 3564);
    // vs 61,440 per-synapse ABCD_lr coefficients on the Ant: 55.7x fewer.
    let ant = Architecture::ant().counts(Some(Rule::AbcdLr));
    assert_eq!(ant.coefficients, 61_440);
}

#[test]
fn neuron_level_needs_abcd_lr_and_learns_cartpole() {
    let parse = |o: &[&str]| {
        let o: Vec<String> = o.iter().map(|s| s.to_string()).collect();
        Config::parse(QUICK_START, "test", &o)
    };
    let err = parse(&["network.granularity=\"neuron\"", "network.rule=\"AD\""]).unwrap_err();
    assert!(err.to_string().contains("network.granularity"), "{err}");
    let config = parse(&[
        "network.granularity=\"neuron\"",
        "generations=20",
        "population=64",
    ])
    .unwrap();
    let layout = config.controller_spec(&config.task().unwrap()).layout();
    assert_eq!(layout.len(), 5 * (4 + 128 + 64 + 2) - 4 - 2);
    let dir = tempfile::tempdir().unwrap();
    let h = train(config, dir.path(), &TrainOptions::default())
        .unwrap()
        .history;
    let first = h[0].mean_fitness;
    let best_late = h[h.len() - 5..]
        .iter()
        .map(|m| m.mean_fitness)
        .fold(f32::MIN, f32::max);
    // Random neuron-level rules already balance for a while (few, shared coefficients); ES
    // takes the population mean to the 500-step limit.
    assert!(
        best_late >= 475.0 && best_late > first + 100.0,
        "mean fitness {first} -> {best_late}"
    );
    // The model file names its tensors per neuron layer.
    let model = hebbian::files::read_model_header(&dir.path().join("model.safetensors")).unwrap();
    assert!(model.config.contains("granularity = \"neuron\""));
}
