//! The network each task uses (reference §1) and its parameter counts.

use crate::conv::ConvShape;
use crate::genome::{GenomeLayout, SegmentKind};
use crate::plastic::OutputActivation;
use crate::rule::Rule;

/// Network shape of a task: optional conv front end, then the plastic (or static) MLP.
#[derive(Clone, Debug, PartialEq)]
pub struct Architecture {
    pub conv: Option<ConvShape>,
    /// MLP sizes, input first (the input is the conv features for pixel tasks).
    pub layer_sizes: Vec<usize>,
    /// What the last layer outputs and the Hebbian rule sees.
    pub output_activation: OutputActivation,
}

impl Architecture {
    /// CarRacing: conv → 648-128-64-3, raw outputs.
    pub fn car_racing() -> Self {
        let conv = ConvShape::CAR_RACING;
        Self {
            conv: Some(conv),
            layer_sizes: vec![conv.features(), 128, 64, 3],
            output_activation: OutputActivation::Identity,
        }
    }

    /// Ant (AntBulletEnv-v0): 28-128-64-8, tanh outputs.
    pub fn ant() -> Self {
        Self {
            conv: None,
            layer_sizes: vec![28, 128, 64, 8],
            output_activation: OutputActivation::Tanh,
        }
    }

    /// CartPole: 4-128-64-2, raw outputs (argmax action), as the reference treats discrete tasks.
    pub fn cartpole() -> Self {
        Self {
            conv: None,
            layer_sizes: vec![4, 128, 64, 2],
            output_activation: OutputActivation::Identity,
        }
    }

    /// `(out, in)` per MLP layer.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        self.layer_sizes.windows(2).map(|w| (w[1], w[0])).collect()
    }

    /// Synapses of the MLP (plastic in a Hebbian network).
    pub fn synapses(&self) -> usize {
        self.layer_shapes().iter().map(|(o, i)| o * i).sum()
    }

    /// The genome layout of a neuron-level (NcHL) Hebbian network.
    pub fn neuron_level_genome(&self, coevolve_initial_weights: bool) -> GenomeLayout {
        GenomeLayout::neuron_level(&self.layer_sizes, self.conv, coevolve_initial_weights)
    }

    /// Neuron-level (NcHL) coefficients: 5 per neuron, less the input layer's B and the output
    /// layer's A.
    pub fn neuron_coefficients(&self) -> usize {
        self.neuron_level_genome(false)
            .count(|k| matches!(k, SegmentKind::NeuronCoefficients(_)))
    }

    /// The genome layout of merged rules: `rules[l]` rules of `rule` in layer `l`.
    pub fn merged_genome(
        &self,
        rule: Rule,
        rules: &[usize],
        coevolve_initial_weights: bool,
    ) -> GenomeLayout {
        GenomeLayout::merged(
            rule,
            rules,
            &self.layer_shapes(),
            self.conv,
            coevolve_initial_weights,
        )
    }

    /// The genome layout for a Hebbian rule (`Some`) or the static baseline (`None`).
    pub fn genome(&self, rule: Option<Rule>, coevolve_initial_weights: bool) -> GenomeLayout {
        match rule {
            Some(rule) => GenomeLayout::hebbian(
                rule,
                &self.layer_shapes(),
                self.conv,
                coevolve_initial_weights,
            ),
            None => GenomeLayout::static_weights(&self.layer_shapes(), self.conv),
        }
    }

    /// Parameter counts as the paper reports them.
    pub fn counts(&self, rule: Option<Rule>) -> ParameterCounts {
        let genome = self.genome(rule, false);
        let conv_weights = self.conv.map_or(0, |c| c.params());
        let mlp_weights = self.synapses();
        ParameterCounts {
            conv_weights,
            mlp_weights,
            coefficients: genome.count(|k| matches!(k, SegmentKind::Coefficients(_))),
            evolved: genome.len(),
        }
    }
}

/// What `hebbian info` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ParameterCounts {
    /// Frozen conv weights (evolved, never plastic).
    pub conv_weights: usize,
    /// Synapses of the MLP (plastic in Hebbian networks).
    pub mlp_weights: usize,
    /// Hebbian coefficients (0 for the static baseline).
    pub coefficients: usize,
    /// Numbers the ES evolves per candidate.
    pub evolved: usize,
}

impl ParameterCounts {
    pub fn total_weights(&self) -> usize {
        self.conv_weights + self.mlp_weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_papers_parameter_counts() {
        let car = Architecture::car_racing().counts(Some(Rule::AbcdLr));
        assert_eq!(car.total_weights(), 92_690);
        assert_eq!(car.conv_weights, 1_362);
        assert_eq!(car.mlp_weights, 91_328);
        assert_eq!(car.coefficients, 456_640);
        assert_eq!(car.evolved, 458_002);
        let car_static = Architecture::car_racing().counts(None);
        assert_eq!((car_static.coefficients, car_static.evolved), (0, 92_690));
        let ant = Architecture::ant().counts(Some(Rule::AbcdLr));
        assert_eq!(
            (ant.mlp_weights, ant.coefficients, ant.evolved),
            (12_288, 61_440, 61_440)
        );
        assert_eq!(Architecture::ant().counts(None).evolved, 12_288);
    }
}
