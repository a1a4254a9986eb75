//! Merged (shared) Hebbian rules: Evolve & Merge (Pedersen & Risi, "Evolving and merging Hebbian
//! learning rules: increasing generalization by decreasing the number of rules", GECCO 2021).
//! A layer holds R rules of the usual form, each shared by a set of synapses; which rule a
//! synapse follows is the layer's assignment, fixed between merges (k-means on the rule
//! vectors, `crate::merge`). The update reads each synapse's rule through its index: nothing
//! per synapse but the index is stored, and the index is shared by the whole population.

use std::sync::Arc;

use burn::tensor::{Int, Tensor, TensorData};

use crate::rule::{FoldedCoefficients, Rule};

/// Which rule each synapse of each plastic layer follows. Shared by every candidate of a
/// generation; changes only when the rules are merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleAssignment {
    layers: Vec<LayerAssignment>,
    /// `(out, in)` of each layer.
    shapes: Vec<(usize, usize)>,
}

/// One layer's assignment: `rule_of[j*in + i]` (row-major over `[out, in]`) is the rule of the
/// synapse from pre `i` to post `j`, in `0..rules`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerAssignment {
    pub rules: usize,
    pub rule_of: Vec<u32>,
}

/// Why an assignment cannot be used for a network.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AssignmentError {
    #[error("{got} assigned layers, the network has {expected}")]
    Layers { got: usize, expected: usize },
    #[error("layer {layer}: {got} synapse indices, the layer has {expected} synapses")]
    Synapses {
        layer: usize,
        got: usize,
        expected: usize,
    },
    #[error("layer {layer}: synapse {synapse} follows rule {rule}, but the layer has {rules}")]
    Index {
        layer: usize,
        synapse: usize,
        rule: u32,
        rules: usize,
    },
    #[error("layer {layer}: rule {rule} of {rules} is followed by no synapse")]
    Unused {
        layer: usize,
        rule: usize,
        rules: usize,
    },
}

impl RuleAssignment {
    /// Checks every index against its layer; `layer_shapes` are `(out, in)`. A rule no synapse
    /// follows would be an evolved number with no effect, so it is refused too.
    pub fn new(
        layers: Vec<LayerAssignment>,
        layer_shapes: &[(usize, usize)],
    ) -> Result<Self, AssignmentError> {
        if layers.len() != layer_shapes.len() {
            return Err(AssignmentError::Layers {
                got: layers.len(),
                expected: layer_shapes.len(),
            });
        }
        for (l, (a, &(o, i))) in layers.iter().zip(layer_shapes).enumerate() {
            if a.rule_of.len() != o * i {
                return Err(AssignmentError::Synapses {
                    layer: l,
                    got: a.rule_of.len(),
                    expected: o * i,
                });
            }
            let mut used = vec![false; a.rules];
            for (s, &r) in a.rule_of.iter().enumerate() {
                match used.get_mut(r as usize) {
                    Some(u) => *u = true,
                    None => {
                        return Err(AssignmentError::Index {
                            layer: l,
                            synapse: s,
                            rule: r,
                            rules: a.rules,
                        });
                    }
                }
            }
            if let Some(r) = used.iter().position(|u| !u) {
                return Err(AssignmentError::Unused {
                    layer: l,
                    rule: r,
                    rules: a.rules,
                });
            }
        }
        Ok(Self {
            layers,
            shapes: layer_shapes.to_vec(),
        })
    }

    /// Every synapse its own rule (rule index = synapse index): the start of Evolve & Merge.
    pub fn per_synapse(layer_shapes: &[(usize, usize)]) -> Self {
        Self {
            layers: layer_shapes
                .iter()
                .map(|&(o, i)| LayerAssignment {
                    rules: o * i,
                    rule_of: (0..(o * i) as u32).collect(),
                })
                .collect(),
            shapes: layer_shapes.to_vec(),
        }
    }

    /// The reference's pre-fix indexing: synapse (pre `i`, post `j`) follows rule `i + j` of
    /// its layer (`Granularity::AntiDiagonal`).
    pub fn anti_diagonal(layer_shapes: &[(usize, usize)]) -> Self {
        Self {
            layers: layer_shapes
                .iter()
                .map(|&(o, i)| LayerAssignment {
                    rules: o + i - 1,
                    rule_of: (0..o)
                        .flat_map(|post| (0..i).map(move |pre| (pre + post) as u32))
                        .collect(),
                })
                .collect(),
            shapes: layer_shapes.to_vec(),
        }
    }

    /// `(out, in)` of each layer.
    pub fn shapes(&self) -> &[(usize, usize)] {
        &self.shapes
    }

    pub fn layers(&self) -> &[LayerAssignment] {
        &self.layers
    }

    /// Rules per layer.
    pub fn rules(&self) -> Vec<usize> {
        self.layers.iter().map(|a| a.rules).collect()
    }
}

/// One layer's shared rules for P agents, as the update reads them.
#[derive(Clone, Debug)]
pub struct MergedCoefficients {
    /// Folded rules `[P, 1, R]` each (a = η·A, ...): the same folding as per-synapse rules.
    pub rules: FoldedCoefficients,
    /// The same four rows side by side, `[P, 4, R]` (a, b, c, d): what the fused kernel
    /// looks each synapse's rule up in (a few KB per agent, in L1).
    pub table: Tensor<3>,
    /// The layer's assignment, on the host for the fused kernel.
    pub rule_of: Arc<[u32]>,
    /// ... and on the device for the tensor-op gather, `[out·in]`.
    rule_of_device: Tensor<1, Int>,
    out: usize,
    inp: usize,
}

impl MergedCoefficients {
    /// `coefficients`: `[P, K, R]` (coefficient-major, as in the genome) for `rule`;
    /// `assignment` of a layer of shape `(out, in)`.
    pub fn new(
        rule: Rule,
        coefficients: Tensor<3>,
        assignment: &LayerAssignment,
        (out, inp): (usize, usize),
    ) -> Self {
        let [p, k, r] = coefficients.dims();
        assert_eq!(r, assignment.rules, "rules in the genome vs the assignment");
        let rules = rule.fold(coefficients.reshape([p, k, 1, r]));
        let table = Tensor::cat(
            vec![
                rules.a.clone(),
                rules.b.clone(),
                rules.c.clone(),
                rules.d.clone(),
            ],
            1,
        );
        let device = table.device();
        let indices: Vec<i64> = assignment.rule_of.iter().map(|&v| v as i64).collect();
        let rule_of_device = Tensor::from_data(
            TensorData::new(indices, [assignment.rule_of.len()]),
            &device,
        );
        Self {
            rules,
            table,
            rule_of: assignment.rule_of.clone().into(),
            rule_of_device,
            out,
            inp,
        }
    }

    /// Keeps only the agents in `rows`.
    pub fn select_agents(&mut self, rows: &Tensor<1, Int>) {
        let keep = |t: Tensor<3>| t.select(0, rows.clone());
        self.rules = self.rules.clone().map(keep);
        self.table = keep(self.table.clone());
    }

    /// The per-synapse folded coefficients `[P, out, in]` (a gather through the assignment).
    /// The tensor-op path builds this for one step at a time; the fused kernel never does.
    pub fn expand(&self) -> FoldedCoefficients {
        let (out, inp) = (self.out, self.inp);
        let gather = |t: Tensor<3>| {
            let [p, _, r] = t.dims();
            t.reshape([p, r])
                .select(1, self.rule_of_device.clone())
                .reshape([p, out, inp])
        };
        self.rules.clone().map(gather)
    }
}

/// One merged-rule step of one layer with tensor ops. `pre`: `[P, in]`, `post`: `[P, out]`.
pub fn update_merged_tensor_ops(
    weights: Tensor<3>,
    c: &MergedCoefficients,
    pre: Tensor<2>,
    post: Tensor<2>,
    normalize: bool,
) -> Tensor<3> {
    super::update::update_tensor_ops(weights, &c.expand(), pre, post, normalize)
}
