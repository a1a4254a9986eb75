//! Batched plastic networks: weights `[P, out, in]`, one Hebbian rule per synapse (or per
//! neuron, or shared by clusters of synapses).

/// The CubeCL kernel of the per-synapse layer step (GPU backends): reached through
/// `PlasticNetwork` and `UpdateKernel`.
#[cfg(feature = "wgpu")]
pub mod cube;
/// The fused flex kernels: reached through `PlasticNetwork` and `UpdateKernel`; public only for
/// the benches' hand-loop baselines, not API.
#[doc(hidden)]
pub mod fused;
pub mod init;
pub mod merged;
pub mod module;
pub mod network;
pub mod neuron;
pub mod precision;
pub mod update;

pub use init::WeightInit;
pub use merged::{AssignmentError, LayerAssignment, MergedCoefficients, RuleAssignment};
pub use module::{HebbianLinear, HebbianLinearConfig, HebbianMlp, HebbianMlpConfig};
pub use network::{LayerRule, OutputActivation, PlasticConfig, PlasticNetwork};
pub use neuron::NeuronCoefficients;
pub use precision::CoefficientPrecision;
pub use update::{UpdateKernel, normalize_max_abs, update, update_tensor_ops};
