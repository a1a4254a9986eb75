//! [`HebbianLinear`]: a plastic linear layer as a burn `Module`, for use inside other burn models.
//!
//! The layer owns its per-synapse coefficients as a parameter; the fast weights are explicit
//! state passed in and returned, so an unrolled episode is an ordinary autodiff graph and the
//! gradient of any loss with respect to the coefficients is available.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use super::init::WeightInit;
use super::update::update_tensor_ops;
use crate::rule::Rule;

/// Builds a [`HebbianLinear`] (`HebbianLinearConfig::new(d_input, d_output, rule)`, then
/// `.with_normalize(true)` if wanted; saved and loaded like any burn `Config`).
#[derive(Config, Debug)]
pub struct HebbianLinearConfig {
    pub d_input: usize,
    pub d_output: usize,
    pub rule: Rule,
    /// Per-agent max-|w| normalisation after each update.
    #[config(default = false)]
    pub normalize: bool,
}

impl HebbianLinearConfig {
    /// Coefficients drawn from N(0, 1), the reference's initial search distribution.
    pub fn init(&self, device: &Device) -> HebbianLinear {
        let k = self.rule.coefficients_per_synapse();
        let coefficients = Tensor::random(
            [k, self.d_output, self.d_input],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            device,
        );
        self.init_with(coefficients)
    }

    /// The layer with given coefficients `[K, out, in]`.
    pub fn init_with(&self, coefficients: Tensor<3>) -> HebbianLinear {
        HebbianLinear {
            coefficients: Param::from_tensor(coefficients),
            rule: self.rule,
            normalize: self.normalize,
        }
    }
}

/// A linear layer without bias whose weights follow a Hebbian rule during the forward passes.
#[derive(Module, Debug)]
pub struct HebbianLinear {
    /// Per-synapse coefficients, `[K, out, in]` (the rule's K-vector, reference order).
    pub coefficients: Param<Tensor<3>>,
    #[module(skip)]
    pub rule: Rule,
    #[module(skip)]
    pub normalize: bool,
}

impl HebbianLinear {
    /// Fresh fast weights for a batch, `[B, out, in]`, drawn on the host from `init`.
    pub fn init_weights(&self, batch: usize, init: WeightInit, seed: u64) -> Tensor<3> {
        let [_, out, inp] = self.coefficients.val().dims();
        let data = init.sample(batch, out, inp, seed);
        Tensor::from_data(
            TensorData::new(data, [batch, out, inp]),
            &self.coefficients.val().device(),
        )
    }

    /// `y = W x` per batch element, no bias, no activation.
    ///
    /// # Shapes
    /// - weights: `[B, out, in]`, input: `[B, in]` → `[B, out]`
    pub fn forward(&self, weights: Tensor<3>, input: Tensor<2>) -> Tensor<2> {
        let [b, out, inp] = weights.dims();
        weights.matmul(input.reshape([b, inp, 1])).reshape([b, out])
    }

    /// The Hebbian update: returns `W + dW` (normalised if configured).
    ///
    /// # Shapes
    /// - weights: `[B, out, in]`, pre: `[B, in]`, post: `[B, out]` → `[B, out, in]`
    pub fn plasticity(&self, weights: Tensor<3>, pre: Tensor<2>, post: Tensor<2>) -> Tensor<3> {
        let [k, out, inp] = self.coefficients.val().dims();
        let folded = self
            .rule
            .fold(self.coefficients.val().reshape([1, k, out, inp]));
        update_tensor_ops(weights, &folded, pre, post, self.normalize)
    }
}
