//! A `HebbianLinear` layer in your own burn model, on a toy memory task, two ways:
//!
//! 1. **Differentiable plasticity** (Miconi et al. 2018): the rule's coefficients are ordinary
//!    burn parameters, trained end to end with autodiff and Adam through the unrolled episode.
//! 2. **Evolved plasticity** (the paper's way): the same layer's coefficients searched by the ES
//!    (`hebbian::es::Es`), every candidate of a generation evaluated in one batched
//!    `PlasticNetwork`.
//!
//! The task: each episode shows a random ±1 pattern for a few steps (the layer's weights start
//! at zero and only the Hebbian rule can store it), then shows it with half its entries blanked;
//! the output must be the whole pattern. Predicting zeros scores a loss of 1.
//!
//! `cargo run --release --example hebbian_in_burn` (needs only the core: builds with
//! `--no-default-features --features flex` too). Both parts run in well under a minute on a CPU.

use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use hebbian::Rule;
use hebbian::es::{Es, EsConfig};
use hebbian::plastic::{
    HebbianLinear, HebbianLinearConfig, OutputActivation, PlasticConfig, PlasticNetwork,
    UpdateKernel,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Pattern size (the layer is N → N).
const N: usize = 8;
/// Steps the pattern is shown before the query.
const SHOW: usize = 3;

/// One batch of episodes: the patterns `[B, N]` and their half-blanked queries `[B, N]`.
fn episodes(batch: usize, seed: u64, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pattern = vec![0.0f32; batch * N];
    let mut query = vec![0.0f32; batch * N];
    for b in 0..batch {
        for i in 0..N {
            let v = if rng.random::<bool>() { 1.0 } else { -1.0 };
            pattern[b * N + i] = v;
            query[b * N + i] = if i < N / 2 { v } else { 0.0 };
        }
    }
    (
        Tensor::from_data(TensorData::new(pattern, [batch, N]), device),
        Tensor::from_data(TensorData::new(query, [batch, N]), device),
    )
}

/// The episode through a `HebbianLinear`: show, update, show, …, then answer the query.
/// Returns the mean squared error of the answer.
fn episode_loss(layer: &HebbianLinear, pattern: Tensor<2>, query: Tensor<2>) -> Tensor<1> {
    let batch = pattern.dims()[0];
    let mut weights = Tensor::<3>::zeros([batch, N, N], &pattern.device());
    for _ in 0..SHOW {
        let out = layer.forward(weights.clone(), pattern.clone()).tanh();
        weights = layer.plasticity(weights, pattern.clone(), out);
    }
    let answer = layer.forward(weights, query).tanh();
    (answer - pattern).powf_scalar(2.0).mean()
}

/// Part 1: gradient descent on the coefficients through the unrolled episodes.
fn differentiable(device: &Device) -> (f32, f32) {
    let train_device = device.clone().autodiff();
    // Small initial coefficients: N(0, 1) rules blow zero weights up within the episode.
    let coefficients = Tensor::random(
        [5, N, N],
        burn::tensor::Distribution::Normal(0.0, 0.1),
        &train_device,
    );
    let mut layer = HebbianLinearConfig::new(N, N, Rule::AbcdLr).init_with(coefficients);
    let mut optimizer = AdamConfig::new().init();
    let test = episodes(256, 999, &train_device);
    let score = |layer: &HebbianLinear| {
        episode_loss(layer, test.0.clone(), test.1.clone()).into_scalar::<f32>()
    };
    let before = score(&layer);
    for step in 0..300 {
        let (pattern, query) = episodes(32, step, &train_device);
        let loss = episode_loss(&layer, pattern, query);
        let grads = GradientsParams::from_grads(loss.backward(), &layer);
        layer = optimizer.step(0.01, layer, grads);
    }
    (before, score(&layer))
}

/// Part 2: the ES searches the same coefficients; each generation's candidates run as one
/// batched plastic network (one candidate per batch row, the same episode for every row).
fn evolved(device: &Device) -> (f32, f32) {
    let config = PlasticConfig {
        layer_sizes: vec![N, N],
        rule: Rule::AbcdLr,
        output_activation: OutputActivation::Tanh,
        normalize: false,
        kernel: UpdateKernel::Auto,
        coefficient_precision: Default::default(),
    };
    let d = 5 * N * N;
    let population = 64;
    // Mean loss of each candidate (`[P, D]` genomes) over `episodes` episodes.
    let losses = |genomes: &Tensor<2>, episodes_seed: u64, count: usize| -> Vec<f32> {
        let p = genomes.dims()[0];
        let mut total = vec![0.0f32; p];
        for e in 0..count {
            let (pattern, query) = episodes(1, episodes_seed + e as u64, device);
            let (pattern, query) = (pattern.repeat_dim(0, p), query.repeat_dim(0, p));
            let mut net = PlasticNetwork::new(
                config.clone(),
                vec![genomes.clone().reshape([p, 5, N, N])],
                vec![Tensor::zeros([p, N, N], device)],
            );
            for _ in 0..SHOW {
                net.step(pattern.clone());
            }
            net.set_plastic(false);
            let answer = net.step(query);
            let err = (answer - pattern).powf_scalar(2.0).mean_dim(1);
            for (t, e) in total
                .iter_mut()
                .zip(err.into_data().try_into_vec::<f32>().unwrap())
            {
                *t += e / count as f32;
            }
        }
        total
    };
    let es_config = EsConfig {
        learning_rate: 0.05,
        sigma: 0.05,
        ..EsConfig::default()
    };
    let mut es = Es::new(es_config, population, vec![0.0; d], 7, device).unwrap();
    let centre_loss = |es: &Es| {
        let c = Tensor::<2>::from_data(TensorData::new(es.centre_host(), [1, d]), device);
        losses(&c, 10_000, 64)[0]
    };
    let before = centre_loss(&es);
    for generation in 0..150 {
        let candidates = es.ask().all();
        let fitness: Vec<f32> = losses(&candidates, generation * 16, 16)
            .into_iter()
            .map(|l| -l)
            .collect();
        es.tell(&fitness).unwrap();
    }
    (before, centre_loss(&es))
}

fn main() {
    let device = hebbian::device::default_cpu();
    let start = std::time::Instant::now();
    let (before, after) = differentiable(&device);
    println!(
        "differentiable plasticity (autodiff + Adam, 300 steps): loss {before:.3} -> {after:.3} ({:.1} s)",
        start.elapsed().as_secs_f64()
    );
    let start = std::time::Instant::now();
    let (before, after) = evolved(&device);
    println!(
        "evolved plasticity (OpenAI-ES, P=64, 150 generations): loss {before:.3} -> {after:.3} ({:.1} s)",
        start.elapsed().as_secs_f64()
    );
}
