//! The batched plastic network against plain scalar oracles.

use burn::tensor::{Device, Tensor, TensorData};
use hebbian::Rule;
use hebbian::plastic::{
    CoefficientPrecision, OutputActivation, PlasticConfig, PlasticNetwork, UpdateKernel,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn cpu() -> Device {
    hebbian::device_from_name("flex").unwrap()
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// Host copy of one population's parameters, in the `[P, K, out, in]` / `[P, out, in]` layouts.
struct Host {
    layers: Vec<(usize, usize)>,
    coefficients: Vec<Vec<f32>>,
    weights: Vec<Vec<f32>>,
}

fn random_host(p: usize, sizes: &[usize], k: usize, seed: u64) -> Host {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let layers: Vec<_> = sizes.windows(2).map(|w| (w[1], w[0])).collect();
    let coefficients = layers
        .iter()
        .map(|&(o, i)| {
            (0..p * k * o * i)
                .map(|_| rng.random_range(-0.5f32..0.5))
                .collect()
        })
        .collect();
    let weights = layers
        .iter()
        .map(|&(o, i)| {
            (0..p * o * i)
                .map(|_| rng.random_range(-0.1f32..0.1))
                .collect()
        })
        .collect();
    Host {
        layers,
        coefficients,
        weights,
    }
}

/// The oracle: loops over agents, posts and pres, with the rule's scalar formula.
fn oracle_episode(
    rule: Rule,
    host: &Host,
    p: usize,
    inputs: &[Vec<f32>],
    output: OutputActivation,
    normalize: bool,
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let k = rule.coefficients_per_synapse();
    let mut w = host.weights.clone();
    let mut outputs = Vec::new();
    for x in inputs {
        let mut out_t = Vec::new();
        for a in 0..p {
            let in0 = host.layers[0].1;
            let mut acts = vec![x[a * in0..(a + 1) * in0].to_vec()];
            for (l, &(o, i)) in host.layers.iter().enumerate() {
                let mut y = vec![0.0f32; o];
                for j in 0..o {
                    for ii in 0..i {
                        y[j] += w[l][a * o * i + j * i + ii] * acts[l][ii];
                    }
                    let last = l + 1 == host.layers.len();
                    if !last || output == OutputActivation::Tanh {
                        y[j] = y[j].tanh();
                    }
                }
                acts.push(y);
            }
            out_t.extend_from_slice(acts.last().unwrap());
            for (l, &(o, i)) in host.layers.iter().enumerate() {
                for j in 0..o {
                    for ii in 0..i {
                        let h: Vec<f32> = (0..k)
                            .map(|c| host.coefficients[l][((a * k + c) * o + j) * i + ii])
                            .collect();
                        w[l][a * o * i + j * i + ii] += rule.delta(&h, acts[l][ii], acts[l + 1][j]);
                    }
                }
                if normalize {
                    let block = &mut w[l][a * o * i..(a + 1) * o * i];
                    let m = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                    block.iter_mut().for_each(|v| *v /= m);
                }
            }
        }
        outputs.push(out_t);
    }
    (w, outputs)
}

#[allow(clippy::too_many_arguments)]
fn run_batched(
    rule: Rule,
    host: &Host,
    p: usize,
    sizes: &[usize],
    inputs: &[Vec<f32>],
    output: OutputActivation,
    normalize: bool,
    kernel: UpdateKernel,
    device: &Device,
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let run = Run {
        output,
        normalize,
        kernel,
        precision: CoefficientPrecision::F32,
    };
    run_stored(rule, host, p, sizes, inputs, run, device)
}

/// How [`run_stored`] runs the network.
#[derive(Clone, Copy)]
struct Run {
    output: OutputActivation,
    normalize: bool,
    kernel: UpdateKernel,
    precision: CoefficientPrecision,
}

fn run_stored(
    rule: Rule,
    host: &Host,
    p: usize,
    sizes: &[usize],
    inputs: &[Vec<f32>],
    run: Run,
    device: &Device,
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let k = rule.coefficients_per_synapse();
    let config = PlasticConfig {
        layer_sizes: sizes.to_vec(),
        rule,
        output_activation: run.output,
        normalize: run.normalize,
        kernel: run.kernel,
        coefficient_precision: run.precision,
    };
    let coefficients = host
        .layers
        .iter()
        .zip(&host.coefficients)
        .map(|(&(o, i), c)| Tensor::from_data(TensorData::new(c.clone(), [p, k, o, i]), device))
        .collect();
    let weights = PlasticNetwork::weights_from_host(&config, host.weights.clone(), device);
    let mut net = PlasticNetwork::new(config, coefficients, weights);
    let mut outputs = Vec::new();
    for x in inputs {
        let input = Tensor::from_data(TensorData::new(x.clone(), [p, sizes[0]]), device);
        outputs.push(to_vec(net.step(input)));
    }
    let w = net.weights().iter().map(|w| to_vec(w.clone())).collect();
    (w, outputs)
}

fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (n, (g, w)) in got.iter().zip(want).enumerate() {
        let scale = 1.0f32.max(w.abs());
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{n}]: got {g}, want {w}"
        );
    }
}

fn inputs(p: usize, n: usize, steps: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..steps)
        .map(|_| (0..p * n).map(|_| rng.random_range(-1.0f32..1.0)).collect())
        .collect()
}

/// Every rule, with and without normalisation, with both output activations: each kernel's
/// weights and outputs against the scalar oracle, within `tol` (relative).
fn every_rule_matches_the_oracle(
    device: &Device,
    (p, sizes): (usize, [usize; 4]),
    (input_seed, host_seed): (u64, u64),
    kernels: &[(UpdateKernel, &str)],
    tol: f32,
) {
    let xs = inputs(p, sizes[0], 4, input_seed);
    for (r, rule) in Rule::ALL.into_iter().enumerate() {
        let host = random_host(
            p,
            &sizes,
            rule.coefficients_per_synapse(),
            host_seed + r as u64,
        );
        for normalize in [false, true] {
            for output in [OutputActivation::Identity, OutputActivation::Tanh] {
                let (w_want, y_want) = oracle_episode(rule, &host, p, &xs, output, normalize);
                for &(kernel, name) in kernels {
                    let (w, y) = run_batched(
                        rule, &host, p, &sizes, &xs, output, normalize, kernel, device,
                    );
                    let what = format!("{rule} normalize={normalize} {output:?} {name}");
                    for l in 0..3 {
                        assert_close(&w[l], &w_want[l], tol, &format!("{what} W{l}"));
                    }
                    for t in 0..xs.len() {
                        assert_close(&y[t], &y_want[t], tol, &format!("{what} y{t}"));
                    }
                }
            }
        }
    }
}

#[test]
fn every_rule_matches_the_scalar_oracle_on_both_kernels() {
    let kernels = [
        (UpdateKernel::TensorOps, "tensor ops"),
        (UpdateKernel::Fused, "fused"),
    ];
    every_rule_matches_the_oracle(&cpu(), (3, [5, 7, 4, 2]), (11, 100), &kernels, 1e-5);
}

/// The CubeCL layer step (wgpu; the software Vulkan driver in CI) against the same oracle, with
/// and without normalisation, on rows of several passes of a cube's 64 threads (300, as
/// CarRacing's 648), of one partial pass (70) and far shorter than a cube (4).
#[cfg(feature = "wgpu")]
#[test]
fn every_rule_matches_the_scalar_oracle_on_the_gpu_kernel() {
    let Some(device) = hebbian::device::device_or_skip(
        "wgpu",
        "every_rule_matches_the_scalar_oracle_on_the_gpu_kernel",
    ) else {
        return;
    };
    let kernels = [(UpdateKernel::Auto, "cubecl")];
    every_rule_matches_the_oracle(&device, (3, [300, 70, 4, 2]), (12, 200), &kernels, 1e-4);
}

/// The GPU kernel rewrites W in place, so weights read out of the network must keep their
/// values while it steps on (without the copy-if-shared guard they changed with it).
#[cfg(feature = "wgpu")]
#[test]
fn gpu_weights_read_out_keep_their_values() {
    let Some(device) =
        hebbian::device::device_or_skip("wgpu", "gpu_weights_read_out_keep_their_values")
    else {
        return;
    };
    let (p, sizes) = (2, [6usize, 5, 3]);
    let host = random_host(p, &sizes, Rule::AbcdLr.coefficients_per_synapse(), 9);
    let config = PlasticConfig {
        layer_sizes: sizes.to_vec(),
        rule: Rule::AbcdLr,
        output_activation: OutputActivation::Tanh,
        normalize: false,
        kernel: UpdateKernel::Auto,
        coefficient_precision: CoefficientPrecision::F32,
    };
    let coefficients = host
        .layers
        .iter()
        .zip(&host.coefficients)
        .map(|(&(o, i), c)| Tensor::from_data(TensorData::new(c.clone(), [p, 5, o, i]), &device))
        .collect();
    let weights = PlasticNetwork::weights_from_host(&config, host.weights.clone(), &device);
    let mut net = PlasticNetwork::new(config, coefficients, weights);
    assert_eq!(net.step_kernel(), "cubecl");
    let xs = inputs(p, sizes[0], 4, 3);
    let step = |net: &mut PlasticNetwork, x: &Vec<f32>| {
        net.step(Tensor::from_data(
            TensorData::new(x.clone(), [p, sizes[0]]),
            &device,
        ))
    };
    // Before the first step the network hands out its own buffers (no deferred scale yet).
    let held = net.weights();
    let snapshot: Vec<Vec<f32>> = held.iter().map(|w| to_vec(w.clone())).collect();
    for x in &xs {
        step(&mut net, x);
    }
    let later: Vec<Vec<f32>> = net.weights().iter().map(|w| to_vec(w.clone())).collect();
    for (l, w) in held.into_iter().enumerate() {
        assert_eq!(
            to_vec(w),
            snapshot[l],
            "layer {l}: the held weights changed"
        );
        assert_ne!(
            later[l], snapshot[l],
            "layer {l}: the network stopped learning"
        );
    }
}

/// The GPU kernel is what a wgpu network runs unless tensor ops are asked for.
#[cfg(feature = "wgpu")]
#[test]
fn a_wgpu_network_runs_the_cubecl_kernel() {
    let Some(device) =
        hebbian::device::device_or_skip("wgpu", "a_wgpu_network_runs_the_cubecl_kernel")
    else {
        return;
    };
    let sizes = [4usize, 3, 2];
    let host = random_host(2, &sizes, Rule::AbcdLr.coefficients_per_synapse(), 7);
    for (kernel, want) in [
        (UpdateKernel::Auto, "cubecl"),
        (UpdateKernel::Fused, "cubecl"),
        (UpdateKernel::TensorOps, "tensor-ops"),
    ] {
        let config = PlasticConfig {
            layer_sizes: sizes.to_vec(),
            rule: Rule::AbcdLr,
            output_activation: OutputActivation::Tanh,
            normalize: false,
            kernel,
            coefficient_precision: CoefficientPrecision::F32,
        };
        let k = Rule::AbcdLr.coefficients_per_synapse();
        let coefficients = host
            .layers
            .iter()
            .zip(&host.coefficients)
            .map(|(&(o, i), c)| {
                Tensor::from_data(TensorData::new(c.clone(), [2, k, o, i]), &device)
            })
            .collect();
        let weights = PlasticNetwork::weights_from_host(&config, host.weights.clone(), &device);
        let net = PlasticNetwork::new(config, coefficients, weights);
        assert_eq!(net.step_kernel(), want, "{kernel:?}");
    }
    let flex = PlasticNetwork::new(
        PlasticConfig {
            layer_sizes: sizes.to_vec(),
            rule: Rule::AbcdLr,
            output_activation: OutputActivation::Tanh,
            normalize: false,
            kernel: UpdateKernel::Auto,
            coefficient_precision: CoefficientPrecision::F32,
        },
        host.layers
            .iter()
            .zip(&host.coefficients)
            .map(|(&(o, i), c)| Tensor::from_data(TensorData::new(c.clone(), [2, 5, o, i]), &cpu()))
            .collect(),
        host.layers
            .iter()
            .zip(&host.weights)
            .map(|(&(o, i), w)| Tensor::from_data(TensorData::new(w.clone(), [2, o, i]), &cpu()))
            .collect(),
    );
    assert_eq!(flex.step_kernel(), "fused-cpu");
}

/// 16-bit coefficient storage computes exactly the rule on the rounded coefficients, on both
/// kernels (the fused one widens bf16 per element and f16 in blocks of 64, so rows of 130
/// cross block ends), and it is not a no-op.
#[test]
fn coefficients_stored_in_16_bits_are_the_rule_on_rounded_coefficients() {
    // ABCD: the folded arrays are the raw coefficients, so the oracle can round them itself.
    let (p, sizes, rule) = (3, [130usize, 9, 3], Rule::Abcd);
    let device = cpu();
    let host = random_host(p, &sizes, 4, 31);
    let xs = inputs(p, sizes[0], 5, 7);
    let (w_f32, _) = oracle_episode(rule, &host, p, &xs, OutputActivation::Tanh, true);
    for precision in [CoefficientPrecision::Bf16, CoefficientPrecision::F16] {
        let rounded = Host {
            layers: host.layers.clone(),
            coefficients: host
                .coefficients
                .iter()
                .map(|c| c.iter().map(|&x| precision.round(x)).collect())
                .collect(),
            weights: host.weights.clone(),
        };
        let (w_want, y_want) = oracle_episode(rule, &rounded, p, &xs, OutputActivation::Tanh, true);
        let moved = w_want[0]
            .iter()
            .zip(&w_f32[0])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(moved > 1e-5, "{precision}: rounding changed nothing");
        for kernel in [UpdateKernel::TensorOps, UpdateKernel::Fused] {
            let run = Run {
                output: OutputActivation::Tanh,
                normalize: true,
                kernel,
                precision,
            };
            let (w, y) = run_stored(rule, &host, p, &sizes, &xs, run, &device);
            let what = format!("{precision} {kernel:?}");
            for l in 0..2 {
                assert_close(&w[l], &w_want[l], 1e-5, &format!("{what} W{l}"));
            }
            for t in 0..xs.len() {
                assert_close(&y[t], &y_want[t], 1e-5, &format!("{what} y{t}"));
            }
        }
    }
}

#[test]
fn fused_kernel_handles_rows_split_across_tasks() {
    // in = 640 makes 25 rows per rayon task, so agents straddle task boundaries.
    let (p, sizes) = (3, [640usize, 60, 3]);
    let device = cpu();
    let host = random_host(p, &sizes, 5, 9);
    let xs = inputs(p, sizes[0], 2, 3);
    let (w_want, _) = oracle_episode(
        Rule::AbcdLr,
        &host,
        p,
        &xs,
        OutputActivation::Identity,
        true,
    );
    let (w, _) = run_batched(
        Rule::AbcdLr,
        &host,
        p,
        &sizes,
        &xs,
        OutputActivation::Identity,
        true,
        UpdateKernel::Fused,
        &device,
    );
    assert_close(&w[0], &w_want[0], 1e-5, "layer 0");
}

#[test]
fn frozen_network_keeps_its_weights_and_weights_can_be_written() {
    let (p, sizes) = (2, [3usize, 4, 2]);
    let device = cpu();
    let host = random_host(p, &sizes, 5, 1);
    let config = PlasticConfig {
        layer_sizes: sizes.to_vec(),
        rule: Rule::AbcdLr,
        output_activation: OutputActivation::Tanh,
        normalize: false,
        kernel: UpdateKernel::Auto,
        coefficient_precision: Default::default(),
    };
    let coefficients = host
        .layers
        .iter()
        .zip(&host.coefficients)
        .map(|(&(o, i), c)| Tensor::from_data(TensorData::new(c.clone(), [p, 5, o, i]), &device))
        .collect();
    let weights = PlasticNetwork::weights_from_host(&config, host.weights.clone(), &device);
    let mut net = PlasticNetwork::new(config, coefficients, weights);
    let x = Tensor::<2>::ones([p, 3], &device);
    net.step(x.clone());
    let after_one = to_vec(net.weights()[0].clone());
    assert_ne!(
        after_one, host.weights[0],
        "a plastic step changes the weights"
    );
    net.set_plastic(false);
    net.step(x.clone());
    assert_eq!(to_vec(net.weights()[0].clone()), after_one, "frozen");
    net.set_weights(0, Tensor::zeros([p, 4, 3], &device));
    assert!(to_vec(net.weights()[0].clone()).iter().all(|v| *v == 0.0));
}
