//! Gradients through an unrolled plastic episode, checked by central finite differences.

use burn::tensor::{Device, Tensor, TensorData};
use hebbian::Rule;
use hebbian::plastic::{HebbianLinearConfig, WeightInit};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const STEPS: usize = 4;

/// The gradients with respect to both layers' coefficients.
type Gradients = (Vec<f32>, Vec<f32>);

/// Loss after T plastic steps of a 2-layer model built from two `HebbianLinear`s.
fn loss(c1: Vec<f32>, c2: Vec<f32>, device: &Device, grad: bool) -> (f32, Option<Gradients>) {
    let rule = Rule::AbcdLr;
    let (b, i, h, o) = (2, 3, 4, 2);
    let t1 = Tensor::<3>::from_data(TensorData::new(c1, [5, h, i]), device);
    let t2 = Tensor::<3>::from_data(TensorData::new(c2, [5, o, h]), device);
    let (t1, t2) = if grad {
        (t1.require_grad(), t2.require_grad())
    } else {
        (t1, t2)
    };
    let l1 = HebbianLinearConfig::new(i, h, rule).init_with(t1.clone());
    let l2 = HebbianLinearConfig::new(h, o, rule)
        .with_normalize(true)
        .init_with(t2.clone());
    let mut w1 = l1.init_weights(b, WeightInit::Uni, 1);
    let mut w2 = l2.init_weights(b, WeightInit::Uni, 2);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut total = Tensor::<1>::zeros([1], device);
    for _ in 0..STEPS {
        let x: Vec<f32> = (0..b * i).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let x = Tensor::<2>::from_data(TensorData::new(x, [b, i]), device);
        let hdn = l1.forward(w1.clone(), x.clone()).tanh();
        let y = l2.forward(w2.clone(), hdn.clone()).tanh();
        total = total + y.clone().powf_scalar(2.0).sum();
        w1 = l1.plasticity(w1, x, hdn.clone());
        w2 = l2.plasticity(w2, hdn, y);
    }
    let value = total.clone().into_data().try_into_vec::<f32>().unwrap()[0];
    let grads = grad.then(|| {
        let g = total.backward();
        let v = |t: &Tensor<3>| {
            t.grad(&g)
                .unwrap()
                .into_data()
                .try_into_vec::<f32>()
                .unwrap()
        };
        (v(&t1), v(&t2))
    });
    (value, grads)
}

#[test]
fn coefficient_gradient_after_unrolled_steps_matches_finite_differences() {
    let plain = hebbian::device_from_name("flex").unwrap();
    let device = plain.clone().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let c1: Vec<f32> = (0..5 * 4 * 3)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let c2: Vec<f32> = (0..5 * 2 * 4)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let (_, grads) = loss(c1.clone(), c2.clone(), &device, true);
    let (g1, g2) = grads.unwrap();
    assert!(
        g1.iter().any(|g| g.abs() > 1e-4),
        "layer-1 gradient is not all zero"
    );
    let eps = 1e-2f32;
    let mut checked = 0;
    for (layer, n) in [(0usize, c1.len()), (1, c2.len())] {
        for idx in (0..n).step_by(3) {
            let bump = |delta: f32| {
                let (mut a, mut b) = (c1.clone(), c2.clone());
                if layer == 0 {
                    a[idx] += delta
                } else {
                    b[idx] += delta
                }
                loss(a, b, &plain, false).0 as f64
            };
            let fd = (bump(eps) - bump(-eps)) / (2.0 * eps as f64);
            let g = if layer == 0 { g1[idx] } else { g2[idx] } as f64;
            assert!(
                (fd - g).abs() <= 2e-3 + 2e-2 * fd.abs(),
                "layer {layer} coefficient {idx}: autodiff {g}, finite difference {fd}"
            );
            checked += 1;
        }
    }
    assert!(checked > 20);
}
