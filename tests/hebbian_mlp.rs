//! `HebbianMlp`, the burn-`Module` form of one plastic network: it steps as `PlasticNetwork`
//! does, and an evolved model survives burn's own `save_file` / `load_file`.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use hebbian::Rule;
use hebbian::architecture::Architecture;
use hebbian::files::{load_model, read_model_header};
use hebbian::genome::{GenomeLayout, population_tensor};
use hebbian::plastic::{
    HebbianMlp, HebbianMlpConfig, OutputActivation, PlasticConfig, PlasticNetwork, UpdateKernel,
    WeightInit,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn cpu() -> Device {
    hebbian::device_from_name("flex").unwrap()
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

fn inputs(batch: usize, n: usize, steps: usize) -> Vec<Tensor<2>> {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    (0..steps)
        .map(|_| {
            let v = (0..batch * n)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect();
            Tensor::from_data(TensorData::new(v, [batch, n]), &cpu())
        })
        .collect()
}

/// The shipped CartPole model's coefficients, one `[K, out, in]` tensor per layer.
fn shipped_cartpole() -> (Vec<Tensor<3>>, Vec<f32>, GenomeLayout) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/cartpole_ABCD_lr.safetensors");
    assert_eq!(read_model_header(&path).unwrap().rule, "ABCD_lr");
    let layout = Architecture::cartpole().genome(Some(Rule::AbcdLr), false);
    let genome = load_model(&path, &layout, "cartpole", "ABCD_lr")
        .unwrap()
        .genome;
    let row = population_tensor(genome.clone(), 1, &cpu());
    let coefficients = layout
        .coefficients(&row)
        .into_iter()
        .map(|c| {
            let [_, k, o, i] = c.dims();
            c.reshape([k, o, i])
        })
        .collect();
    (coefficients, genome, layout)
}

fn config(normalize: bool) -> HebbianMlpConfig {
    HebbianMlpConfig::new(
        Architecture::cartpole().layer_sizes,
        Rule::AbcdLr,
        OutputActivation::Identity,
    )
    .with_normalize(normalize)
}

fn run(mlp: &HebbianMlp, weights: Vec<Tensor<3>>, xs: &[Tensor<2>]) -> Vec<Vec<f32>> {
    let mut w = weights;
    xs.iter()
        .map(|x| {
            let (next, y) = mlp.step(w.clone(), x.clone());
            w = next;
            to_vec(y)
        })
        .collect()
}

#[test]
fn hebbian_mlp_steps_as_the_batched_network_does() {
    let (coefficients, genome, layout) = shipped_cartpole();
    let batch = 3;
    // Few steps: unnormalised, CartPole's weights grow geometrically (|y| ~ 1e10 by step 10),
    // and the two kernels' different rounding with them.
    let xs = inputs(batch, 4, 6);
    for normalize in [false, true] {
        let mlp = config(normalize).init_with(coefficients.clone());
        let weights = mlp.init_weights(batch, WeightInit::Uni, 11);
        let got = run(&mlp, weights.clone(), &xs);
        // The same genome for every agent of a PlasticNetwork.
        let population = population_tensor(genome.repeat(batch), batch, &cpu());
        let mut net = PlasticNetwork::new(
            PlasticConfig {
                layer_sizes: Architecture::cartpole().layer_sizes,
                rule: Rule::AbcdLr,
                output_activation: OutputActivation::Identity,
                normalize,
                kernel: UpdateKernel::Fused,
                coefficient_precision: Default::default(),
            },
            layout.coefficients(&population),
            weights,
        );
        for (t, x) in xs.iter().enumerate() {
            let want = to_vec(net.step(x.clone()));
            for (k, (g, w)) in got[t].iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                    "normalize={normalize} step {t} [{k}]: {g} vs {w}"
                );
            }
        }
    }
}

#[test]
fn an_evolved_model_survives_burns_save_file_and_load_file() {
    let (coefficients, _, _) = shipped_cartpole();
    let evolved = config(false).init_with(coefficients);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cartpole_rule");
    evolved.clone().save_file(&path).unwrap();
    // Into a module with other (random) coefficients: loading replaces them all.
    let fresh = config(false).init(&cpu());
    let xs = inputs(2, 4, 10);
    let weights = evolved.init_weights(2, WeightInit::Uni, 3);
    assert_ne!(
        run(&fresh, weights.clone(), &xs),
        run(&evolved, weights.clone(), &xs)
    );
    let saved = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .expect("a file was written")
        .unwrap()
        .path();
    let loaded = fresh.load_file(&saved);
    assert_eq!(
        run(&loaded, weights.clone(), &xs),
        run(&evolved, weights, &xs)
    );
}
