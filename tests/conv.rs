//! The batched conv front end against a naive scalar convolution and pooling.

use burn::tensor::{Tensor, TensorData};
use hebbian::conv::{ConvFrontEnd, ConvShape};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `x`: `[c, h, w]`, `k`: `[o, c, kh, kw]`; valid conv with stride `s`, then tanh, then 2x2 max pool.
fn conv_tanh_pool(
    x: &[f32],
    c: usize,
    h: usize,
    k: &[f32],
    o: usize,
    kk: usize,
    s: usize,
) -> (Vec<f32>, usize) {
    let oh = (h - kk) / s + 1;
    let mut y = vec![0.0f32; o * oh * oh];
    for oc in 0..o {
        for r in 0..oh {
            for q in 0..oh {
                let mut acc = 0.0f32;
                for ic in 0..c {
                    for dr in 0..kk {
                        for dq in 0..kk {
                            acc += k[((oc * c + ic) * kk + dr) * kk + dq]
                                * x[(ic * h + r * s + dr) * h + q * s + dq];
                        }
                    }
                }
                y[(oc * oh + r) * oh + q] = acc.tanh();
            }
        }
    }
    let ph = oh / 2;
    let mut p = vec![f32::MIN; o * ph * ph];
    for oc in 0..o {
        for r in 0..ph {
            for q in 0..ph {
                for dr in 0..2 {
                    for dq in 0..2 {
                        let v = y[(oc * oh + 2 * r + dr) * oh + 2 * q + dq];
                        let cell = &mut p[(oc * ph + r) * ph + q];
                        *cell = cell.max(v);
                    }
                }
            }
        }
    }
    (p, ph)
}

#[test]
fn batched_front_end_matches_naive_per_agent_convolution() {
    let shape = ConvShape::CAR_RACING;
    let p = 3;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let weights: Vec<f32> = (0..p * shape.params())
        .map(|_| rng.random_range(-0.5f32..0.5))
        .collect();
    let images: Vec<f32> = (0..p * 3 * 84 * 84)
        .map(|_| rng.random_range(0.0f32..1.0))
        .collect();
    let device = hebbian::device_from_name("flex").unwrap();
    let front = ConvFrontEnd::new(
        shape,
        Tensor::from_data(
            TensorData::new(weights.clone(), [p, shape.params()]),
            &device,
        ),
    );
    let input = Tensor::<4>::from_data(TensorData::new(images.clone(), [p, 3, 84, 84]), &device);
    // `forward` takes the fused direct kernel on flex; the tensor-op path is the portable one.
    let fused = front
        .forward(input.clone())
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let ops = front
        .forward_tensor_ops(input.clone())
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    // `kernel = "tensor_ops"` is honoured by the front end too: bit for bit the portable path
    // (the fused kernel's tanh differs from libm's in the last bits).
    let chosen = front
        .clone()
        .with_kernel(hebbian::plastic::UpdateKernel::TensorOps)
        .forward(input)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    assert_eq!(chosen, ops);
    assert_ne!(fused, ops, "the two paths are distinguishable");
    for got in [fused, ops] {
        check_against_naive(&got, &weights, &images, p);
    }
}

fn check_against_naive(got: &[f32], weights: &[f32], images: &[f32], p: usize) {
    assert_eq!(got.len(), p * 648);
    for a in 0..p {
        let w = &weights[a * 1362..(a + 1) * 1362];
        let x = &images[a * 3 * 84 * 84..(a + 1) * 3 * 84 * 84];
        let (h1, s1) = conv_tanh_pool(x, 3, 84, &w[..162], 6, 3, 1);
        assert_eq!(s1, 41);
        let (h2, s2) = conv_tanh_pool(&h1, 6, 41, &w[162..], 8, 5, 2);
        assert_eq!(s2, 9);
        for (n, (g, want)) in got[a * 648..(a + 1) * 648].iter().zip(&h2).enumerate() {
            assert!(
                (g - want).abs() < 1e-5,
                "agent {a} feature {n}: {g} vs {want}"
            );
        }
    }
}
