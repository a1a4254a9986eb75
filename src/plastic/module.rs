//! [`HebbianLinear`]: a plastic linear layer as a burn `Module`, for use inside other burn models,
//! and [`HebbianMlp`], a stack of them (one network of the kind `PlasticNetwork` batches).
//!
//! The layer owns its per-synapse coefficients as a parameter; the fast weights are explicit
//! state passed in and returned, so an unrolled episode is an ordinary autodiff graph and the
//! gradient of any loss with respect to the coefficients is available.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use super::init::WeightInit;
use super::network::OutputActivation;
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

/// Builds a [`HebbianMlp`]: `layer_sizes` input first (`[28, 128, 64, 8]` for the Ant), tanh
/// hidden layers, `output_activation` on the last.
#[derive(Config, Debug)]
pub struct HebbianMlpConfig {
    pub layer_sizes: Vec<usize>,
    pub rule: Rule,
    pub output_activation: OutputActivation,
    /// Per-agent max-|w| normalisation after each update (the reference's CarRacing setting).
    #[config(default = false)]
    pub normalize: bool,
}

impl HebbianMlpConfig {
    fn layer(&self, l: usize) -> HebbianLinearConfig {
        HebbianLinearConfig::new(self.layer_sizes[l], self.layer_sizes[l + 1], self.rule)
            .with_normalize(self.normalize)
    }

    /// Coefficients drawn from N(0, 1) (the reference's initial search distribution).
    pub fn init(&self, device: &Device) -> HebbianMlp {
        let layers = (0..self.layer_sizes.len() - 1)
            .map(|l| self.layer(l).init(device))
            .collect();
        self.assemble(layers)
    }

    /// The network of one evolved genome: `coefficients[l]` `[K, out, in]` (per-synapse
    /// coefficients in the genome's order, e.g. a model file's `coefficients.{l}` tensors or
    /// `GenomeLayout::coefficients` of one row).
    pub fn init_with(&self, coefficients: Vec<Tensor<3>>) -> HebbianMlp {
        assert_eq!(
            coefficients.len(),
            self.layer_sizes.len() - 1,
            "one coefficient tensor per layer"
        );
        let layers = coefficients
            .into_iter()
            .enumerate()
            .map(|(l, c)| self.layer(l).init_with(c))
            .collect();
        self.assemble(layers)
    }

    fn assemble(&self, layers: Vec<HebbianLinear>) -> HebbianMlp {
        HebbianMlp {
            layers,
            output_activation: self.output_activation,
        }
    }
}

/// A plastic MLP (no bias, tanh hidden layers) as a burn `Module`: the single-network form of
/// `PlasticNetwork`, for burn models, autodiff and burn's own files. Its coefficients are
/// parameters, so `save_file` / `load_file` (burnpack) keep an evolved or trained rule; the
/// fast weights are explicit state, fresh every episode.
#[derive(Module, Debug)]
pub struct HebbianMlp {
    pub layers: Vec<HebbianLinear>,
    #[module(skip)]
    pub output_activation: OutputActivation,
}

impl HebbianMlp {
    /// Fresh fast weights for a batch, one `[B, out, in]` tensor per layer, layer `l` drawn
    /// with seed `seed + l`.
    pub fn init_weights(&self, batch: usize, init: WeightInit, seed: u64) -> Vec<Tensor<3>> {
        self.layers
            .iter()
            .enumerate()
            .map(|(l, layer)| layer.init_weights(batch, init, seed + l as u64))
            .collect()
    }

    /// One timestep, as `PlasticNetwork::step`: every layer's activity from the current
    /// weights, then every layer's Hebbian update. Returns the new weights and the output.
    ///
    /// # Shapes
    /// - weights: `[B, out_l, in_l]` per layer, input: `[B, in]` → output `[B, out]`
    pub fn step(&self, weights: Vec<Tensor<3>>, input: Tensor<2>) -> (Vec<Tensor<3>>, Tensor<2>) {
        let last = self.layers.len() - 1;
        let mut activities = vec![input];
        for (l, (layer, w)) in self.layers.iter().zip(&weights).enumerate() {
            let y = layer.forward(w.clone(), activities[l].clone());
            let y = if l < last || self.output_activation == OutputActivation::Tanh {
                y.tanh()
            } else {
                y
            };
            activities.push(y);
        }
        let weights = weights
            .into_iter()
            .zip(&self.layers)
            .enumerate()
            .map(|(l, (w, layer))| {
                layer.plasticity(w, activities[l].clone(), activities[l + 1].clone())
            })
            .collect();
        (weights, activities.pop().expect("an output layer"))
    }
}
