//! The batched Hebbian update, `W += (A'*post + B')*pre + C'*post + D'` for all P agents.
//!
//! Two paths compute the same thing: portable tensor ops (every backend, autodiff included) and
//! a fused single-pass CPU kernel (`fused`) that reads each array once, used on flex.

use burn::tensor::Tensor;

use crate::rule::FoldedCoefficients;

pub use crate::kernel::UpdateKernel;

/// One Hebbian step of one layer with tensor ops. `pre`: `[P, in]`, `post`: `[P, out]`.
/// Returns the new weights, optionally divided per agent by their max |w|.
pub fn update_tensor_ops(
    weights: Tensor<3>,
    coefficients: &FoldedCoefficients,
    pre: Tensor<2>,
    post: Tensor<2>,
    normalize: bool,
) -> Tensor<3> {
    let [p, out, inp] = weights.dims();
    let post = post.reshape([p, out, 1]);
    let pre = pre.reshape([p, 1, inp]);
    let c = coefficients;
    let mut inner = c.a.clone() * post.clone();
    if c.has_b {
        inner = inner + c.b.clone();
    }
    let mut delta = inner * pre;
    if c.has_c {
        delta = delta + c.c.clone() * post;
    }
    if c.has_d {
        delta = delta + c.d.clone();
    }
    let updated = weights + delta;
    if normalize {
        normalize_max_abs(updated)
    } else {
        updated
    }
}

/// Divides each agent's matrix by its largest magnitude (the reference's CarRacing
/// normalisation). An all-zero matrix stays zero instead of becoming NaN.
pub fn normalize_max_abs(weights: Tensor<3>) -> Tensor<3> {
    let max = weights
        .clone()
        .abs()
        .max_dim(2)
        .max_dim(1)
        .clamp_min(f32::MIN_POSITIVE);
    weights / max
}

/// Runs the update with the requested kernel on this device.
pub fn update(
    kernel: UpdateKernel,
    weights: Tensor<3>,
    coefficients: &FoldedCoefficients,
    pre: Tensor<2>,
    post: Tensor<2>,
    normalize: bool,
) -> Tensor<3> {
    if kernel.fused_on(&weights.device()) {
        return super::fused::update_fused(weights, coefficients, pre, post, normalize);
    }
    update_tensor_ops(weights, coefficients, pre, post, normalize)
}
