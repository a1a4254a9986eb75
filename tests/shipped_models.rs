//! The shipped models still score what `models/README.md` says (a change to the envs, the
//! network or the file format that breaks them fails here).

use std::path::Path;

use hebbian::eval::{evaluate_model, evaluate_model_stored};
use hebbian::plastic::CoefficientPrecision;

fn model(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(name)
}

/// Mean score per variant of a shipped model over `rollouts` rollouts (seed 123, flex); no
/// variants named = all of the task's.
fn means(file: &str, rollouts: usize, variants: &[&str]) -> Vec<f32> {
    let variants: Vec<String> = variants.iter().map(|v| v.to_string()).collect();
    let report = evaluate_model(&model(file), rollouts, 123, Some("flex"), &variants).unwrap();
    report.variants.iter().map(|v| v.mean).collect()
}

#[test]
fn shipped_cartpole_model_balances() {
    let mean = means("cartpole_ABCD_lr.safetensors", 20, &[])[0];
    assert!(mean > 400.0, "mean {mean}");
}

/// Mean Σ progress of an Ant model over 6 rollouts on its two training bodies.
fn ant_training_means(file: &str) -> Vec<f32> {
    means(file, 6, &["intact", "right_damaged"])
}

#[test]
fn shipped_ant_model_walks_on_its_training_morphologies() {
    let means = ant_training_means("ant_ABCD_lr_P256_g294.safetensors");
    // models/README.md: intact 1307.3 ± 55.3, right_damaged 1494.8 ± 53.3 over 100 rollouts
    // (these 6: 1291.3, 1471.2); a random network (generation 0) scores about −3.
    assert!(means[0] > 1150.0 && means[1] > 1350.0, "{means:?}");
}

/// The earlier snapshot of the same run that the README's Ant analyses and GIFs were made with.
#[test]
fn shipped_generation_105_ant_model_walks_on_its_training_morphologies() {
    let means = ant_training_means("ant_ABCD_lr_P256_g105.safetensors");
    // models/README.md: intact 842.7 ± 104.0, right_damaged 1093.4 ± 76.3 over 100 rollouts
    // (these 6: 877.3, 1121.7).
    assert!(means[0] > 600.0 && means[1] > 800.0, "{means:?}");
}

/// Mean return of a CarRacing model over 8 rollouts.
fn car_racing_mean(file: &str) -> f32 {
    means(file, 8, &[])[0]
}

#[test]
fn shipped_car_racing_model_drives() {
    let mean = car_racing_mean("car_racing_ABCD_lr_P200_g298.safetensors");
    // models/README.md: 839.3 ± 153.1 over 100 rollouts (852.7 over these 8); a random network
    // scores ~6.
    assert!(mean > 750.0, "mean {mean}");
}

/// 16-bit coefficient storage (`network.coefficient_precision`) keeps the car model's score:
/// measured over 16 rollouts (seed 123) f32 866.5, bf16 864.0, f16 865.7. On the same 8
/// rollouts each stays within 10 % of f32 (CarRacing is chaotic: one rollout can flip).
#[test]
fn car_racing_model_keeps_its_score_with_16_bit_coefficients() {
    let path = model("car_racing_ABCD_lr_P200_g298.safetensors");
    let score = |precision| {
        let report =
            evaluate_model_stored(&path, 8, 123, Some("flex"), &[], Some(precision)).unwrap();
        report.variants[0].mean
    };
    let f32_mean = score(CoefficientPrecision::F32);
    for precision in [CoefficientPrecision::Bf16, CoefficientPrecision::F16] {
        let mean = score(precision);
        assert!(
            (mean - f32_mean).abs() <= 0.1 * f32_mean,
            "{precision}: {mean} vs f32 {f32_mean}"
        );
    }
}

#[test]
fn shipped_static_ant_model_stays_where_its_run_stalled() {
    let means = means("ant_static_P256_g63.safetensors", 8, &[]);
    // models/README.md, 100 rollouts: intact 8.9 ± 1.4, right_damaged 10.2 ± 1.0, left_damaged
    // −2.5 ± 4.0 — the belly dive the run stalled on, not a gait (a walker scores hundreds).
    assert!((6.0..12.0).contains(&means[0]), "{means:?}");
    assert!((7.5..13.0).contains(&means[1]), "{means:?}");
    assert!((-8.0..3.0).contains(&means[2]), "{means:?}");
}

#[test]
fn shipped_static_car_racing_model_drives() {
    let mean = car_racing_mean("car_racing_static_P200_g299.safetensors");
    // models/README.md: 742.3 ± 182.3 over 100 rollouts (693.3 over these 8, min 330); a
    // random static network scores ~6.
    assert!(mean > 600.0, "mean {mean}");
}
