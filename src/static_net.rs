//! The static-weight baseline: the same shapes as the plastic network, with the weights taken
//! straight from the genome and never changed during the episode.

use burn::tensor::{Int, Tensor};

use crate::kernel::UpdateKernel;
use crate::plastic::OutputActivation;
use crate::plastic::network::mlp_forward;

/// P fixed-weight MLPs (no bias, tanh hidden layers).
#[derive(Clone, Debug)]
pub struct StaticNetwork {
    weights: Vec<Tensor<3>>,
    output_activation: OutputActivation,
    /// The kernel choice, made once at construction.
    fused: bool,
}

impl StaticNetwork {
    /// `weights[l]`: `[P, out, in]`; the forward product runs the fused kernel where the device
    /// has it (see [`Self::with_kernel`]).
    pub fn new(weights: Vec<Tensor<3>>, output_activation: OutputActivation) -> Self {
        let fused = UpdateKernel::Auto.fused_on(&weights[0].device());
        Self {
            weights,
            output_activation,
            fused,
        }
    }

    /// The same network with its kernel chosen by `kernel`.
    pub fn with_kernel(mut self, kernel: UpdateKernel) -> Self {
        self.fused = kernel.fused_on(&self.device());
        self
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
        mlp_forward(&self.weights, input, self.output_activation, self.fused)
            .pop()
            .expect("at least one layer")
    }

    pub fn weights(&self) -> &[Tensor<3>] {
        &self.weights
    }
}
