//! Shared rules. Merged rules (Evolve & Merge): the compact kernels against the per-synapse rule
//! they equal, the assignment's checks, a merge inside a training run (smaller genome, bit-exact
//! resume across it, the model file evaluates) and learning CartPole with merged rules. The
//! reference's pre-fix anti-diagonal sharing: its map, a run (genome size, resume, the model
//! file) and learning CartPole with it.

use burn::tensor::{Device, Tensor, TensorData};
use hebbian::Rule;
use hebbian::config::{Config, QUICK_START};
use hebbian::eval::evaluate_model;
use hebbian::files::read_model_assignment;
use hebbian::plastic::{
    AssignmentError, LayerAssignment, OutputActivation, PlasticConfig, PlasticNetwork,
    RuleAssignment, UpdateKernel,
};
use hebbian::train::{MODEL_FILE, TrainOptions, resume, train};
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

fn config(sizes: &[usize], rule: Rule, kernel: UpdateKernel, normalize: bool) -> PlasticConfig {
    PlasticConfig {
        layer_sizes: sizes.to_vec(),
        rule,
        output_activation: OutputActivation::Tanh,
        normalize,
        kernel,
        coefficient_precision: Default::default(),
    }
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

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = 1e-4 * (1.0 + w.abs());
        assert!((g - w).abs() <= tol, "{what}[{k}]: {g} vs {w}");
    }
}

#[test]
fn compact_kernels_equal_the_per_synapse_rule_they_share() {
    let p = 3;
    // A wide layer splits rows across rayon tasks on the fused path; odd row lengths exercise
    // the tail after the 8-lane blocks.
    let sizes = [37usize, 600, 16, 5];
    let shapes: Vec<(usize, usize)> = sizes.windows(2).map(|w| (w[1], w[0])).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let rules_per_layer = [5usize, 17, 80];
    for rule in [Rule::AbcdLr, Rule::Ad, Rule::Abcd] {
        let k = rule.coefficients_per_synapse();
        // A random assignment (every rule used) and random rules per agent.
        let layers: Vec<LayerAssignment> = shapes
            .iter()
            .zip(rules_per_layer)
            .map(|(&(o, i), r)| {
                let mut rule_of: Vec<u32> = (0..o * i).map(|s| (s % r) as u32).collect();
                for s in (1..rule_of.len()).rev() {
                    rule_of.swap(s, rng.random_range(0..=s));
                }
                LayerAssignment { rules: r, rule_of }
            })
            .collect();
        let assignment = RuleAssignment::new(layers, &shapes).unwrap();
        let rules: Vec<Vec<f32>> = rules_per_layer
            .iter()
            .map(|&r| uniform(&mut rng, p * k * r, 0.5))
            .collect();
        // The oracle: the same rules copied to every synapse that follows them.
        let expanded: Vec<Tensor<4>> = shapes
            .iter()
            .enumerate()
            .map(|(l, &(o, i))| {
                let r = rules_per_layer[l];
                let a = &assignment.layers()[l];
                let mut v = vec![0.0f32; p * k * o * i];
                for agent in 0..p {
                    for c in 0..k {
                        for s in 0..o * i {
                            v[(agent * k + c) * o * i + s] =
                                rules[l][(agent * k + c) * r + a.rule_of[s] as usize];
                        }
                    }
                }
                Tensor::from_data(TensorData::new(v, [p, k, o, i]), &cpu())
            })
            .collect();
        let compact = |l: usize| {
            let r = rules_per_layer[l];
            Tensor::<3>::from_data(TensorData::new(rules[l].clone(), [p, k, r]), &cpu())
        };
        let inputs: Vec<Tensor<2>> = (0..6)
            .map(|t| {
                let mut rng = ChaCha8Rng::seed_from_u64(100 + t);
                Tensor::from_data(
                    TensorData::new(uniform(&mut rng, p * sizes[0], 1.0), [p, sizes[0]]),
                    &cpu(),
                )
            })
            .collect();
        for normalize in [false, true] {
            let mut oracle = PlasticNetwork::new(
                config(&sizes, rule, UpdateKernel::TensorOps, normalize),
                expanded.clone(),
                weights(p, &sizes, 9),
            );
            let want: Vec<Vec<f32>> = inputs
                .iter()
                .map(|x| to_vec(oracle.step(x.clone())))
                .collect();
            let want_w: Vec<Vec<f32>> = oracle.weights().into_iter().map(to_vec).collect();
            for kernel in [UpdateKernel::TensorOps, UpdateKernel::Fused] {
                let mut net = PlasticNetwork::new_merged(
                    config(&sizes, rule, kernel, normalize),
                    (0..shapes.len()).map(compact).collect(),
                    &assignment,
                    weights(p, &sizes, 9),
                );
                for (t, x) in inputs.iter().enumerate() {
                    let what = format!("{rule} {kernel:?} normalize={normalize} step {t}");
                    assert_close(&to_vec(net.step(x.clone())), &want[t], &what);
                }
                for (l, w) in net.weights().into_iter().enumerate() {
                    let what = format!("{rule} {kernel:?} normalize={normalize} layer {l}");
                    assert_close(&to_vec(w), &want_w[l], &what);
                }
            }
        }
    }
}

#[test]
fn an_assignment_is_checked_against_its_layers() {
    let shapes = [(2usize, 3usize)];
    let layer = |rules, rule_of: Vec<u32>| vec![LayerAssignment { rules, rule_of }];
    assert!(RuleAssignment::new(layer(2, vec![0, 1, 0, 1, 0, 1]), &shapes).is_ok());
    assert_eq!(
        RuleAssignment::new(layer(2, vec![0, 1, 0]), &shapes).unwrap_err(),
        AssignmentError::Synapses {
            layer: 0,
            got: 3,
            expected: 6
        }
    );
    assert!(matches!(
        RuleAssignment::new(layer(2, vec![0, 1, 2, 0, 0, 0]), &shapes).unwrap_err(),
        AssignmentError::Index { synapse: 2, .. }
    ));
    assert!(matches!(
        RuleAssignment::new(layer(3, vec![0, 1, 0, 1, 0, 1]), &shapes).unwrap_err(),
        AssignmentError::Unused { rule: 2, .. }
    ));
    assert!(matches!(
        RuleAssignment::new(vec![], &shapes).unwrap_err(),
        AssignmentError::Layers { .. }
    ));
}

/// The CartPole quick start with `overrides`.
fn parse_quick_start(overrides: &[&str]) -> Result<Config, hebbian::config::ConfigError> {
    let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    Config::parse(QUICK_START, "test", &o)
}

/// The CartPole quick start with shared rules of `granularity`, plus `overrides`.
fn shared_cartpole(granularity: &str, overrides: &[&str]) -> Config {
    let mut o: Vec<String> = vec![format!("network.granularity=\"{granularity}\"")];
    o.extend(overrides.iter().map(|s| s.to_string()));
    Config::parse(QUICK_START, "test", &o).unwrap()
}

fn quiet() -> TrainOptions {
    TrainOptions::default()
}

#[test]
fn merge_settings_are_checked() {
    for (overrides, key) in [
        (
            vec!["network.granularity=\"merged\"", "network.rule=\"static\""],
            "network.granularity",
        ),
        (vec!["network.merge.rules=4"], "network.merge"),
        (
            vec!["network.granularity=\"merged\"", "network.merge.keep=1.5"],
            "network.merge.keep",
        ),
        (
            vec!["network.granularity=\"merged\"", "network.merge.every=0"],
            "network.merge.every",
        ),
        (
            vec!["network.granularity=\"merged\"", "network.merge.rules=0"],
            "network.merge.rules",
        ),
    ] {
        let err = parse_quick_start(&overrides).unwrap_err().to_string();
        assert!(err.contains(key), "{overrides:?}: {err}");
    }
}

#[test]
fn a_run_merges_its_rules_and_resumes_bit_for_bit_across_a_merge() {
    // CartPole 4-128-64-2: layers of 512, 8192 and 128 synapses; merging after generations 1,
    // 3 and 5 keeping a twentieth, down to 16 rules per layer: (26, 410, 16), (16, 21, 16),
    // (16, 16, 16).
    let c = shared_cartpole(
        "merged",
        &[
            "generations=6",
            "population=16",
            "network.merge.rules=16",
            "network.merge.every=2",
            "network.merge.keep=0.05",
        ],
    );
    let straight = tempfile::tempdir().unwrap();
    let a = train(c.clone(), straight.path(), &quiet()).unwrap();
    let model = straight.path().join(MODEL_FILE);
    let shapes = [(128usize, 4usize), (64, 128), (2, 64)];
    let assignment = read_model_assignment(&model, &shapes)
        .unwrap()
        .expect("a merged model stores its assignment");
    assert_eq!(assignment.rules(), vec![16, 16, 16]);
    // The centre is in the merged genome: K=5 coefficients per rule.
    assert_eq!(a.centre.len(), 5 * (16 + 16 + 16));
    // Every synapse follows a rule, and the merged rules are the members' means: the centre
    // is finite and not all equal.
    assert!(a.centre.iter().all(|v| v.is_finite()));
    assert!(a.centre.iter().any(|v| *v != a.centre[0]));

    // Interrupted after generation 3 (one merge behind it, one ahead), then resumed.
    let resumed = interrupted_then_resumed(c.clone(), 3);
    assert_eq!(resumed.centre, a.centre, "bit-identical across a merge");
    let fitness = |h: &[hebbian::metrics::GenerationMetrics]| {
        h.iter().map(|m| m.mean_fitness).collect::<Vec<_>>()
    };
    assert_eq!(fitness(&resumed.history), fitness(&a.history));

    // The model file evaluates with its own assignment.
    let report = evaluate_model(&model, 4, 7, None, &[]).unwrap();
    assert_eq!(report.variants[0].scores.len(), 4);
}

/// Trains `c` in a fresh folder, stopped after generation `after`, then resumes it to the end.
fn interrupted_then_resumed(c: Config, after: u64) -> hebbian::train::TrainSummary {
    let dir = tempfile::tempdir().unwrap();
    train(
        c,
        dir.path(),
        &TrainOptions {
            stop_after: Some(after),
            ..quiet()
        },
    )
    .unwrap();
    resume(dir.path(), &quiet()).unwrap()
}

/// Trains `c` in `dir`: the first generation's population mean and the best of the last ten.
fn first_and_best_late(c: Config, dir: &std::path::Path) -> (f32, f32) {
    let h = train(c, dir, &quiet()).unwrap().history;
    let best_late = h[h.len() - 10..]
        .iter()
        .map(|m| m.mean_fitness)
        .fold(f32::MIN, f32::max);
    (h[0].mean_fitness, best_late)
}

#[test]
fn merged_rules_learn_cartpole() {
    let c = shared_cartpole(
        "merged",
        &[
            "generations=30",
            "population=64",
            "network.merge.rules=32",
            "network.merge.every=6",
            "network.merge.keep=0.05",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    // Each merge moves the rules to their cluster means, and the population mean drops for a
    // generation or two (186 -> 101 after the first, seed 1); between merges it climbs back.
    let (first, best_late) = first_and_best_late(c, dir.path());
    assert!(
        best_late >= 400.0 && best_late > first + 100.0,
        "mean fitness {first} -> {best_late}"
    );
    let shapes = [(128, 4), (64, 128), (2, 64)];
    let assignment = read_model_assignment(&dir.path().join(MODEL_FILE), &shapes)
        .unwrap()
        .unwrap();
    assert_eq!(assignment.rules(), vec![32, 32, 32]);
}

/// The reference before its 2020-10-13 fix read the coefficients of synapse (pre i, post j) of a
/// layer from row `offset_layer + i + j`: one rule per anti-diagonal.
#[test]
fn the_anti_diagonal_map_is_the_references_pre_fix_indexing() {
    let shapes = [(128usize, 28usize), (64, 128), (8, 64)];
    let a = RuleAssignment::anti_diagonal(&shapes);
    // Spec reference-algorithm.md §2.5: 417 distinct rows for the Ant.
    assert_eq!(a.rules(), vec![155, 191, 71]);
    assert_eq!(a.rules().iter().sum::<usize>(), 417);
    for (l, &(out, inp)) in shapes.iter().enumerate() {
        let layer = &a.layers()[l];
        for post in 0..out {
            for pre in 0..inp {
                assert_eq!(layer.rule_of[post * inp + pre] as usize, pre + post);
            }
        }
    }
    // Every rule is used: the checked constructor accepts it.
    assert_eq!(
        RuleAssignment::new(a.layers().to_vec(), &shapes).unwrap(),
        a
    );
}

#[test]
fn an_anti_diagonal_run_evolves_one_rule_per_diagonal_and_resumes_bit_for_bit() {
    for (overrides, wanted) in [
        (
            vec![
                "network.granularity=\"anti_diagonal\"",
                "network.rule=\"static\"",
            ],
            "`anti_diagonal` shares Hebbian rules",
        ),
        (
            vec![
                "network.granularity=\"anti_diagonal\"",
                "network.merge.rules=4",
            ],
            "only for granularity = \"merged\" (this config's is `anti_diagonal`)",
        ),
    ] {
        let err = parse_quick_start(&overrides).unwrap_err().to_string();
        assert!(err.contains(wanted), "{overrides:?}: {err}");
    }

    let c = shared_cartpole(
        "anti_diagonal",
        &["generations=4", "population=16", "network.rule=\"ABCD\""],
    );
    let straight = tempfile::tempdir().unwrap();
    let a = train(c.clone(), straight.path(), &quiet()).unwrap();
    // CartPole 4-128-64-2: 131 + 191 + 65 diagonals, 4 coefficients each (ABCD).
    assert_eq!(a.centre.len(), 4 * (131 + 191 + 65));
    let resumed = interrupted_then_resumed(c, 2);
    assert_eq!(resumed.centre, a.centre, "bit-identical after a resume");
    // The model file carries the map (for readers) and evaluates.
    let model = straight.path().join(MODEL_FILE);
    let shapes = [(128usize, 4usize), (64, 128), (2, 64)];
    let stored = read_model_assignment(&model, &shapes).unwrap().unwrap();
    assert_eq!(stored, RuleAssignment::anti_diagonal(&shapes));
    let report = evaluate_model(&model, 4, 7, None, &[]).unwrap();
    assert_eq!(report.variants[0].scores.len(), 4);
}

#[test]
fn anti_diagonal_rules_learn_cartpole() {
    let c = shared_cartpole("anti_diagonal", &["generations=30", "population=64"]);
    let dir = tempfile::tempdir().unwrap();
    let (first, best_late) = first_and_best_late(c, dir.path());
    // Slower than per-synapse rules (seed 1: 9 -> 263 by generation 30, 449 by 45, against
    // 37 -> 489 and 500 from 44): one rule per anti-diagonal moves whole diagonals at once.
    assert!(
        best_late >= 200.0 && best_late > first + 150.0,
        "mean fitness {first} -> {best_late}"
    );
}
