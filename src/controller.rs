//! The batched policy of P candidates: optional conv front end, then a plastic or static MLP,
//! built from rows of the `[P, D]` population tensor.

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::architecture::Architecture;
use crate::conv::ConvFrontEnd;
use crate::genome::{GenomeLayout, Granularity, SegmentKind};
use crate::plastic::{
    CoefficientPrecision, PlasticConfig, PlasticNetwork, RuleAssignment, UpdateKernel, WeightInit,
};
use crate::rule::Rule;
use crate::static_net::StaticNetwork;

/// Everything needed to turn genomes into policies.
#[derive(Clone, Debug, PartialEq)]
pub struct ControllerSpec {
    pub architecture: Architecture,
    /// `None` = the static-weight baseline.
    pub rule: Option<Rule>,
    pub init: WeightInit,
    pub normalize: bool,
    pub kernel: UpdateKernel,
    /// Per-synapse rules (the paper), per-neuron ones (NcHL, ABCD_lr only) or merged ones.
    pub granularity: Granularity,
    /// Which rule each synapse follows: merged granularity after its first merge (`None`
    /// before it, when every synapse has its own rule, as in the per-synapse genome), and the
    /// fixed map of the anti-diagonal granularity.
    pub assignment: Option<Arc<RuleAssignment>>,
    /// Storage precision of the per-synapse coefficients during an episode.
    pub coefficient_precision: CoefficientPrecision,
}

impl ControllerSpec {
    pub fn layout(&self) -> GenomeLayout {
        let coevolve = self.init == WeightInit::Coevolve && self.rule.is_some();
        match (self.rule, self.granularity, &self.assignment) {
            (Some(_), Granularity::Neuron, _) => self.architecture.neuron_level_genome(coevolve),
            (Some(rule), Granularity::Merged | Granularity::AntiDiagonal, Some(a)) => {
                self.architecture.merged_genome(rule, &a.rules(), coevolve)
            }
            _ => self.architecture.genome(self.rule, coevolve),
        }
    }

    /// Takes the rule assignment a model or checkpoint file stored: a merged network continues
    /// with the rules its last merge left (`None` before the first); an anti-diagonal one's map
    /// follows from its shapes (the copy its files carry is for readers).
    pub fn adopt_stored_assignment(&mut self, stored: Option<RuleAssignment>) {
        if self.granularity == Granularity::Merged {
            self.assignment = stored.map(Arc::new);
        }
    }

    fn plastic_config(&self, rule: Rule) -> PlasticConfig {
        PlasticConfig {
            layer_sizes: self.architecture.layer_sizes.clone(),
            rule,
            output_activation: self.architecture.output_activation,
            normalize: self.normalize,
            kernel: self.kernel,
            coefficient_precision: self.coefficient_precision,
        }
    }
}

/// The MLP part of a controller.
#[derive(Clone, Debug)]
pub enum Network {
    Hebbian(PlasticNetwork),
    Static(StaticNetwork),
}

/// P policies evaluated as one.
#[derive(Clone, Debug)]
pub struct Controller {
    conv: Option<ConvFrontEnd>,
    network: Network,
    /// Which rows of the genomes the controller still holds (all, until finished episodes are
    /// dropped with [`Controller::select_agents`]).
    agents: Vec<usize>,
}

impl Controller {
    /// Builds P policies from `genomes` (`[P, D]`); plastic weights start from `spec.init`
    /// drawn with `init_seed`.
    pub fn build(spec: &ControllerSpec, genomes: &Tensor<2>, init_seed: u64) -> Self {
        let layout = spec.layout();
        let [p, d] = genomes.dims();
        assert_eq!(d, layout.len(), "genome length for this controller");
        let device = genomes.device();
        let conv = spec.architecture.conv.map(|shape| {
            ConvFrontEnd::new(shape, layout.conv_weights(genomes).expect("conv segment"))
                .with_kernel(spec.kernel)
        });
        let network = match spec.rule {
            Some(rule) => {
                let config = spec.plastic_config(rule);
                let weights = match layout
                    .layer_weights(genomes, |k| matches!(k, SegmentKind::InitialWeights(_)))
                {
                    Some(w) => w,
                    None => initial_weights(&config, spec.init, p, init_seed, &device),
                };
                let merged = layout.merged_coefficients(genomes);
                Network::Hebbian(match (layout.neuron_coefficients(genomes), merged) {
                    (Some(neurons), _) => {
                        PlasticNetwork::new_neuron_level(config, neurons, weights)
                    }
                    (None, Some(rules)) => {
                        let assignment = spec.assignment.as_ref().expect("merged layout");
                        PlasticNetwork::new_merged(config, rules, assignment, weights)
                    }
                    (None, None) => {
                        PlasticNetwork::new(config, layout.coefficients(genomes), weights)
                    }
                })
            }
            None => Network::Static(
                StaticNetwork::new(
                    layout
                        .layer_weights(genomes, |k| matches!(k, SegmentKind::Weights(_)))
                        .expect("static weights"),
                    spec.architecture.output_activation,
                )
                .with_kernel(spec.kernel),
            ),
        };
        Self {
            conv,
            network,
            agents: (0..p).collect(),
        }
    }

    /// Agents currently held.
    pub fn population(&self) -> usize {
        self.agents.len()
    }

    /// The genome row of each agent held, in batch order: batch row k is genome row `agents()[k]`.
    pub fn agents(&self) -> &[usize] {
        &self.agents
    }

    /// Keeps only the batch rows `rows` (increasing), e.g. the agents whose episodes still run.
    pub fn select_agents(&mut self, rows: &[usize]) {
        let device = match &self.network {
            Network::Hebbian(net) => net.device(),
            Network::Static(net) => net.device(),
        };
        let data: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
        let index = Tensor::<1, Int>::from_data(TensorData::new(data, [rows.len()]), &device);
        if let Some(conv) = &mut self.conv {
            conv.select_agents(&index);
        }
        match &mut self.network {
            Network::Hebbian(net) => net.select_agents(&index),
            Network::Static(net) => net.select_agents(&index),
        }
        self.agents = rows.iter().map(|&r| self.agents[r]).collect();
    }

    /// One step of all P policies. `observations`: `[P, obs]` → raw outputs `[P, A]`.
    /// A plastic network updates its weights here.
    pub fn act(&mut self, observations: Tensor<2>) -> Tensor<2> {
        let input = match &self.conv {
            Some(conv) => {
                let [p, n] = observations.dims();
                let c = 3;
                let side = ((n / c) as f64).sqrt() as usize;
                conv.forward(observations.reshape([p, c, side, side]))
            }
            None => observations,
        };
        match &mut self.network {
            Network::Hebbian(net) => net.step(input),
            Network::Static(net) => net.forward(input),
        }
    }

    /// The plastic network, for experiments that freeze or overwrite weights.
    pub fn plastic_mut(&mut self) -> Option<&mut PlasticNetwork> {
        match &mut self.network {
            Network::Hebbian(net) => Some(net),
            Network::Static(_) => None,
        }
    }

    pub fn network(&self) -> &Network {
        &self.network
    }
}

/// Fresh per-episode weights for all layers.
fn initial_weights(
    config: &PlasticConfig,
    init: WeightInit,
    population: usize,
    seed: u64,
    device: &Device,
) -> Vec<Tensor<3>> {
    let host = config
        .layer_shapes()
        .iter()
        .enumerate()
        .map(|(l, &(o, i))| {
            init.sample(
                population,
                o,
                i,
                crate::seeds::derive(seed, l as u64, crate::seeds::Purpose::InitialWeights),
            )
        })
        .collect();
    PlasticNetwork::weights_from_host(config, host, device)
}
