//! The static-weight baseline: the same shapes as the plastic network, with the weights taken
//! straight from the genome and never changed during the episode.

use burn::tensor::{Int, Tensor};

use crate::plastic::OutputActivation;
use crate::plastic::network::mlp_forward;

/// P fixed-weight MLPs (no bias, tanh hidden layers).
#[derive(Clone, Debug)]
pub struct StaticNetwork {
    weights: Vec<Tensor<3>>,
    output_activation: OutputActivation,
}

impl StaticNetwork {
    /// `weights[l]`: `[P, out, in]`.
    pub fn new(weights: Vec<Tensor<3>>, output_activation: OutputActivation) -> Self {
        Self {
            weights,
            output_activation,
        }
    }

    pub fn device(&self) -> burn::tensor::Device {
        self.weights[0].device()
    }

    /// Keeps only the agents in `rows` (in that order).
    pub fn select_agents(&mut self, rows: &Tensor<1, Int>) {
        self.weights = std::mem::take(&mut self.weights)
            .into_iter()
            .map(|w| w.select(0, rows.clone()))
            .collect();
    }

    /// # Shapes
    /// - input: `[P, in]` → `[P, A]`
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        mlp_forward(
            &self.weights,
            input,
            self.output_activation,
            crate::plastic::UpdateKernel::Auto,
        )
        .pop()
        .expect("at least one layer")
    }

    pub fn weights(&self) -> &[Tensor<3>] {
        &self.weights
    }
}
