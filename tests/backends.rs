//! Every compiled backend computes what flex computes. wgpu runs on the software Vulkan driver
//! in CI (lavapipe); it is compared within 1e-4.

use burn::tensor::{Device, Tensor, TensorData};
use hebbian::Rule;
use hebbian::conv::{ConvFrontEnd, ConvShape};
use hebbian::plastic::{OutputActivation, PlasticConfig, PlasticNetwork, UpdateKernel};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(n: usize, bound: f32, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

/// Runs 3 steps of a car-racing-shaped plastic net (with normalisation) plus the conv stack.
fn run(device: &Device, kernel: UpdateKernel) -> Vec<f32> {
    let p = 4;
    let sizes = vec![648, 16, 8, 3];
    let config = PlasticConfig {
        layer_sizes: sizes.clone(),
        rule: Rule::AbcdLr,
        output_activation: OutputActivation::Identity,
        normalize: true,
        kernel,
        coefficient_precision: Default::default(),
    };
    let shapes = config.layer_shapes();
    let coefficients = shapes
        .iter()
        .enumerate()
        .map(|(l, &(o, i))| {
            Tensor::from_data(
                TensorData::new(random(p * 5 * o * i, 0.5, l as u64), [p, 5, o, i]),
                device,
            )
        })
        .collect();
    let weights = shapes
        .iter()
        .enumerate()
        .map(|(l, &(o, i))| {
            Tensor::from_data(
                TensorData::new(random(p * o * i, 0.1, 10 + l as u64), [p, o, i]),
                device,
            )
        })
        .collect();
    let mut net = PlasticNetwork::new(config, coefficients, weights);
    let conv = ConvFrontEnd::new(
        ConvShape::CAR_RACING,
        Tensor::from_data(
            TensorData::new(random(p * 1362, 0.3, 20), [p, 1362]),
            device,
        ),
    );
    let mut out = Vec::new();
    for t in 0..3 {
        let img = random(p * 3 * 84 * 84, 1.0, 30 + t)
            .iter()
            .map(|v| v.abs())
            .collect();
        let img = Tensor::from_data(TensorData::new(img, [p, 3, 84, 84]), device);
        let features = conv.forward(img);
        out.extend(
            net.step(features)
                .into_data()
                .try_into_vec::<f32>()
                .unwrap(),
        );
    }
    for w in net.weights() {
        out.extend(w.clone().into_data().try_into_vec::<f32>().unwrap());
    }
    out
}

fn assert_agree(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len());
    for (n, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-4 * 1f32.max(y.abs()),
            "{what}[{n}]: {x} vs {y}"
        );
    }
}

#[test]
fn fused_and_tensor_op_paths_agree_on_flex() {
    let flex = hebbian::device_from_name("flex").unwrap();
    assert_agree(
        &run(&flex, UpdateKernel::Fused),
        &run(&flex, UpdateKernel::TensorOps),
        "fused",
    );
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_agrees_with_flex() {
    let flex = hebbian::device_from_name("flex").unwrap();
    let nd = hebbian::device_from_name("ndarray").unwrap();
    assert_agree(
        &run(&nd, UpdateKernel::Auto),
        &run(&flex, UpdateKernel::Auto),
        "ndarray",
    );
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_agrees_with_flex() {
    let flex = hebbian::device_from_name("flex").unwrap();
    let Some(gpu) = hebbian::device::device_or_skip("wgpu", "wgpu_agrees_with_flex") else {
        return;
    };
    assert_agree(
        &run(&gpu, UpdateKernel::Auto),
        &run(&flex, UpdateKernel::Auto),
        "wgpu",
    );
}

/// On a GPU the two halves of a population run concurrently (one half's environments step
/// while the device runs the other's networks); each half's fitness is what it gets alone.
#[cfg(feature = "wgpu")]
#[test]
fn overlapped_gpu_halves_score_as_each_half_alone() {
    use hebbian::config::{Config, QUICK_START};
    use hebbian::rollout::{Chunking, chunk_size, evaluate, evaluate_rows};
    let Some(device) =
        hebbian::device::device_or_skip("wgpu", "overlapped_gpu_halves_score_as_each_half_alone")
    else {
        return;
    };
    let config = Config::parse(
        QUICK_START,
        "test",
        &["population=8".into(), "run.device=\"wgpu\"".into()],
    )
    .unwrap();
    let mut task = config.task().unwrap();
    task.protocol.max_env_steps = task.protocol.max_env_steps.min(150);
    let spec = config.controller_spec(&task);
    let centre = spec.layout().initial_centre(config.network.distribution, 1);
    let mut es = hebbian::es::Es::new(config.es.clone(), 8, centre, 1, &device).unwrap();
    let population = es.ask().all();
    let chunking = Chunking { chunk: 0 };
    assert_eq!(
        chunk_size(&spec, &population, chunking),
        4,
        "two halves on a GPU"
    );
    let both = evaluate(&task, &spec, &population, chunking, 5);
    let first = evaluate_rows(&task, &spec, &population, chunking, 5, 0..4);
    let second = evaluate_rows(&task, &spec, &population, chunking, 5, 4..8);
    let alone: Vec<f32> = first
        .fitness
        .iter()
        .chain(&second.fitness)
        .copied()
        .collect();
    assert_eq!(both.fitness, alone);
    assert!(
        both.fitness.iter().any(|f| *f != both.fitness[0]),
        "{:?}",
        both.fitness
    );
}
