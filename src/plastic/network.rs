//! A population of P plastic MLPs evaluated as one: weights `[P, out, in]` per layer.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::fused::update_fused;
use super::merged::{MergedCoefficients, RuleAssignment, update_merged_tensor_ops};
use super::neuron::{NeuronCoefficients, update_neuron_tensor_ops};
use super::precision::CoefficientPrecision;
use super::update::{UpdateKernel, update_tensor_ops};
use crate::rule::{FoldedCoefficients, Rule};

/// The rule of one plastic layer: per-synapse coefficients (folded with η), per-neuron ones
/// (NcHL, `plastic::neuron`), or rules shared by clusters of synapses (`plastic::merged`).
#[derive(Clone, Debug)]
pub enum LayerRule {
    Synapse(Box<FoldedCoefficients>),
    Neuron(Box<NeuronCoefficients>),
    Merged(Box<MergedCoefficients>),
}

/// What the last layer outputs, which is also what its Hebbian rule sees as `post`
/// (reference §1.3: raw for CarRacing and discrete tasks, tanh for Bullet tasks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputActivation {
    Identity,
    Tanh,
}

/// Settings of a plastic network that do not depend on the population.
#[derive(Clone, Debug, PartialEq)]
pub struct PlasticConfig {
    /// Neurons per layer, input first: `[28, 128, 64, 8]` for the Ant.
    pub layer_sizes: Vec<usize>,
    pub rule: Rule,
    pub output_activation: OutputActivation,
    /// Per-layer max-|w| normalisation after every update (the reference does it for CarRacing).
    pub normalize: bool,
    pub kernel: UpdateKernel,
    /// How the folded coefficients are stored during an episode (f32 or 16-bit).
    pub coefficient_precision: CoefficientPrecision,
}

impl PlasticConfig {
    /// `(out, in)` of each layer.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        self.layer_sizes.windows(2).map(|w| (w[1], w[0])).collect()
    }

    /// Synapses per agent (all layers).
    pub fn synapses(&self) -> usize {
        self.layer_shapes().iter().map(|(o, i)| o * i).sum()
    }

    /// Hebbian coefficients per agent.
    pub fn coefficients(&self) -> usize {
        self.synapses() * self.rule.coefficients_per_synapse()
    }
}

/// P plastic networks. Start an episode with [`PlasticNetwork::new`] (fresh weights), then call
/// [`PlasticNetwork::step`] once per timestep.
#[derive(Clone, Debug)]
pub struct PlasticNetwork {
    config: PlasticConfig,
    population: usize,
    /// Stored weights; the true weights are these times `scales` where present.
    weights: Vec<Tensor<3>>,
    coefficients: Vec<LayerRule>,
    /// Per layer, per agent `[P]`: the single-pass fused step defers the normalisation into
    /// this factor instead of rewriting W. `None` on the tensor-op path.
    scales: Option<Vec<Tensor<1>>>,
    plastic: bool,
    /// The kernel choice, made once at construction (`UpdateKernel::fused_on`).
    fused: bool,
    /// The CubeCL layer step on a GPU device (`UpdateKernel::cube_on`; per-synapse rules only).
    cube: bool,
}

impl PlasticNetwork {
    /// P networks with per-synapse rules (the paper).
    ///
    /// # Shapes
    /// - coefficients: `[P, K, out_l, in_l]` per layer (K of `config.rule`, reference order)
    /// - initial_weights: `[P, out_l, in_l]` per layer
    pub fn new(
        config: PlasticConfig,
        coefficients: Vec<Tensor<4>>,
        initial_weights: Vec<Tensor<3>>,
    ) -> Self {
        assert_eq!(
            coefficients.len(),
            config.layer_shapes().len(),
            "one coefficient tensor per layer"
        );
        Self::with_rules(config, initial_weights, |config, fused| {
            coefficients
                .into_iter()
                .map(|c| {
                    // 16-bit tensors only for the fused kernel, which widens them as it reads;
                    // the tensor-op path keeps f32 holding the rounded values. Dense once per
                    // episode, so that the fused kernel never copies per step.
                    let precision = config.coefficient_precision;
                    let folded = config.rule.fold(c).map(|t| precision.store(t, fused));
                    LayerRule::Synapse(Box::new(if fused {
                        folded.map(crate::plastic::fused::make_dense::<3>)
                    } else {
                        folded
                    }))
                })
                .collect()
        })
    }

    /// What every constructor shares: the population, the kernel choice (made once, here) and
    /// the layers' rules built by `rules(config, fused)`.
    fn with_rules(
        config: PlasticConfig,
        initial_weights: Vec<Tensor<3>>,
        rules: impl FnOnce(&PlasticConfig, bool) -> Vec<LayerRule>,
    ) -> Self {
        assert_eq!(
            initial_weights.len(),
            config.layer_shapes().len(),
            "one weight tensor per layer"
        );
        let population = initial_weights[0].dims()[0];
        let device = initial_weights[0].device();
        let fused = config.kernel.fused_on(&device);
        let coefficients = rules(&config, fused);
        let cube = config.kernel.cube_on(&device)
            && coefficients
                .iter()
                .all(|r| matches!(r, LayerRule::Synapse(_)));
        Self {
            config,
            population,
            weights: initial_weights,
            coefficients,
            scales: None,
            plastic: true,
            fused,
            cube,
        }
    }

    /// A neuron-level (NcHL) network (rows A, B, C, D, η per neuron, see `plastic::neuron`).
    ///
    /// # Shapes
    /// - neurons: `[P, 5, size_n]` per neuron layer, input first
    /// - initial_weights: `[P, out_l, in_l]` per layer
    pub fn new_neuron_level(
        config: PlasticConfig,
        neurons: Vec<Tensor<3>>,
        initial_weights: Vec<Tensor<3>>,
    ) -> Self {
        let layers = config.layer_shapes().len();
        assert_eq!(
            neurons.len(),
            layers + 1,
            "one coefficient tensor per neuron layer"
        );
        Self::with_rules(config, initial_weights, |_, _| {
            (0..layers)
                .map(|l| LayerRule::Neuron(Box::new(NeuronCoefficients::for_layer(&neurons, l))))
                .collect()
        })
    }

    /// A network of merged rules (Evolve & Merge): `assignment` says which of its layer's
    /// rules each synapse follows.
    ///
    /// # Shapes
    /// - rules: `[P, K, R_l]` per layer (coefficient-major, K of `config.rule`)
    /// - initial_weights: `[P, out_l, in_l]` per layer
    pub fn new_merged(
        config: PlasticConfig,
        rules: Vec<Tensor<3>>,
        assignment: &RuleAssignment,
        initial_weights: Vec<Tensor<3>>,
    ) -> Self {
        let shapes = config.layer_shapes();
        assert_eq!(rules.len(), shapes.len(), "one rule tensor per layer");
        Self::with_rules(config, initial_weights, |config, _| {
            rules
                .into_iter()
                .zip(assignment.layers())
                .zip(&shapes)
                .map(|((r, a), &shape)| {
                    LayerRule::Merged(Box::new(MergedCoefficients::new(config.rule, r, a, shape)))
                })
                .collect()
        })
    }

    /// Uploads host weights (`[P, out, in]` per layer, row-major) to the device.
    pub fn weights_from_host(
        config: &PlasticConfig,
        host: Vec<Vec<f32>>,
        device: &Device,
    ) -> Vec<Tensor<3>> {
        let population = host[0].len() / (config.layer_shapes()[0].0 * config.layer_shapes()[0].1);
        host.into_iter()
            .zip(config.layer_shapes())
            .map(|(w, (o, i))| Tensor::from_data(TensorData::new(w, [population, o, i]), device))
            .collect()
    }

    pub fn config(&self) -> &PlasticConfig {
        &self.config
    }

    pub fn population(&self) -> usize {
        self.population
    }

    /// Forward pass only: the activities `o0..oL` (input first), nothing changes.
    ///
    /// # Shapes
    /// - input: `[P, in]` → one `[P, size_n]` per neuron layer, input first
    pub fn forward(&self, input: Tensor<2>) -> Vec<Tensor<2>> {
        mlp_forward(
            &self.weights(),
            input,
            self.config.output_activation,
            self.fused,
        )
    }

    /// The Hebbian update of every layer from one step's activities (all computed before any
    /// weight changed, as the reference does). Does nothing while plasticity is frozen.
    pub fn update(&mut self, activations: &[Tensor<2>]) {
        if !self.plastic {
            return;
        }
        self.materialize();
        // Move the weights out so that each update may reuse its buffer.
        let old = std::mem::take(&mut self.weights);
        self.weights = old
            .into_iter()
            .enumerate()
            .map(|(l, w)| {
                let (pre, post) = (activations[l].clone(), activations[l + 1].clone());
                match &self.coefficients[l] {
                    LayerRule::Synapse(c) if self.fused => {
                        update_fused(w, c, pre, post, self.config.normalize)
                    }
                    LayerRule::Synapse(c) => {
                        update_tensor_ops(w, c, pre, post, self.config.normalize)
                    }
                    LayerRule::Neuron(c) => {
                        update_neuron_tensor_ops(w, c, pre, post, self.config.normalize)
                    }
                    LayerRule::Merged(c) => {
                        update_merged_tensor_ops(w, c, pre, post, self.config.normalize)
                    }
                }
            })
            .collect();
    }

    /// One timestep: forward, then the Hebbian update. Returns the output.
    ///
    /// # Shapes
    /// - input: `[P, in]` → output `[P, out]`
    ///
    /// On flex each layer runs as one fused pass (forward row, then its update while the row is
    /// in cache), on a GPU as one CubeCL launch per layer; the result equals
    /// forward-then-update, as every activity is computed before that layer's weights change
    /// and no layer's update affects another's input.
    pub fn step(&mut self, input: Tensor<2>) -> Tensor<2> {
        if !self.fused && !self.cube {
            let activations = self.forward(input);
            self.update(&activations);
            return activations.last().cloned().expect("at least one layer");
        }
        let device = input.device();
        let p = self.population;
        let layers = self.weights.len();
        let mut scales = self
            .scales
            .take()
            .unwrap_or_else(|| vec![Tensor::ones([p], &device); layers]);
        let weights = std::mem::take(&mut self.weights);
        let mut x = input;
        for (l, w) in weights.into_iter().enumerate() {
            let tanh = l + 1 < layers || self.config.output_activation == OutputActivation::Tanh;
            let (scale, update, normalize) =
                (scales[l].clone(), self.plastic, self.config.normalize);
            let step = match &self.coefficients[l] {
                #[cfg(feature = "wgpu")]
                LayerRule::Synapse(c) if self.cube => {
                    super::cube::forward_update_cube(w, c, x, scale, tanh, update, normalize)
                }
                LayerRule::Synapse(c) => {
                    super::fused::forward_update_fused(w, c, x, scale, tanh, update, normalize)
                }
                LayerRule::Neuron(c) => super::fused::forward_update_neuron_fused(
                    w, c, x, scale, tanh, update, normalize,
                ),
                LayerRule::Merged(c) => super::fused::forward_update_merged_fused(
                    w, c, x, scale, tanh, update, normalize,
                ),
            };
            self.weights.push(step.weights);
            scales[l] = step.scale;
            x = step.post;
        }
        self.scales = Some(scales);
        x
    }

    /// Folds the deferred per-agent scales into the stored weights.
    fn materialize(&mut self) {
        if self.scales.is_some() {
            self.weights = self.weights();
            self.scales = None;
        }
    }

    /// Which implementation runs [`Self::step`]: `"fused-cpu"` (the flex kernels), `"cubecl"`
    /// (the GPU kernel) or `"tensor-ops"`.
    pub fn step_kernel(&self) -> &'static str {
        if self.cube {
            "cubecl"
        } else if self.fused {
            "fused-cpu"
        } else {
            "tensor-ops"
        }
    }

    /// Stops (or restarts) all Hebbian updates, e.g. to freeze the weights after N steps.
    pub fn set_plastic(&mut self, plastic: bool) {
        self.plastic = plastic;
    }

    pub fn is_plastic(&self) -> bool {
        self.plastic
    }

    /// The current weights of each layer, `[P, out, in]`.
    pub fn weights(&self) -> Vec<Tensor<3>> {
        match &self.scales {
            None => self.weights.clone(),
            Some(scales) => self
                .weights
                .iter()
                .zip(scales)
                .map(|(w, s)| w.clone() * s.clone().reshape([self.population, 1, 1]))
                .collect(),
        }
    }

    pub fn device(&self) -> Device {
        self.weights[0].device()
    }

    /// Keeps only the agents in `rows` (in that order), e.g. to drop finished episodes.
    pub fn select_agents(&mut self, rows: &Tensor<1, Int>) {
        let keep = |t: Tensor<3>| t.select(0, rows.clone());
        self.weights = std::mem::take(&mut self.weights)
            .into_iter()
            .map(keep)
            .collect();
        if let Some(scales) = &mut self.scales {
            for s in scales.iter_mut() {
                *s = s.clone().select(0, rows.clone());
            }
        }
        for rule in &mut self.coefficients {
            match rule {
                LayerRule::Synapse(c) => **c = (**c).clone().map(keep),
                LayerRule::Neuron(c) => c.select_agents(rows),
                LayerRule::Merged(c) => c.select_agents(rows),
            }
        }
        self.population = rows.dims()[0];
    }

    /// Replaces one layer's weights from outside (e.g. zeroing a band of synapses).
    pub fn set_weights(&mut self, layer: usize, weights: Tensor<3>) {
        self.materialize();
        assert_eq!(
            weights.dims(),
            self.weights[layer].dims(),
            "layer {layer} shape"
        );
        self.weights[layer] = weights;
    }
}

/// The forward pass shared by plastic and static networks: tanh hidden layers, no bias.
/// Returns every layer's activity, input first. `fused` (the network's kernel choice) picks the
/// fused batched product (flex) or burn's matmul.
pub fn mlp_forward(
    weights: &[Tensor<3>],
    input: Tensor<2>,
    output_activation: OutputActivation,
    fused: bool,
) -> Vec<Tensor<2>> {
    let last = weights.len() - 1;
    let mut activations = Vec::with_capacity(weights.len() + 1);
    activations.push(input);
    for (l, w) in weights.iter().enumerate() {
        let y = if fused {
            super::fused::matvec_fused(w.clone(), activations[l].clone())
        } else {
            let [p, out, inp] = w.dims();
            let x = activations[l].clone().reshape([p, inp, 1]);
            w.clone().matmul(x).reshape([p, out])
        };
        let y = if l < last || output_activation == OutputActivation::Tanh {
            y.tanh()
        } else {
            y
        };
        activations.push(y);
    }
    activations
}
