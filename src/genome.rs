//! One flat vector per agent ↔ the structured tensors of a network. The single place that
//! defines the genome layout, so the ES can treat every candidate as a row of a `[P, D]` tensor.
//!
//! Layout of a Hebbian genome, segment after segment, each flattened row-major:
//! 1. per plastic layer `l` (input side first): coefficients `[K, out, in]`
//!    (coefficient-major: `k*out*in + j*in + i` for the synapse from pre `i` to post `j`);
//! 2. pixel tasks only: the conv weights, conv1 `[6,3,3,3]` then conv2 `[8,6,5,5]` (1,362);
//! 3. `coevolve` init only: per layer the initial weights `[out, in]`.
//!
//! A static-weight genome is the conv weights (pixel tasks) followed by each layer's `[out, in]`
//! weights: exactly the reference's module-order parameter vector.
//!
//! The reference stores coefficients as `H[S, K]` with pre-major rows; see
//! [`GenomeLayout::coefficients_to_reference`] to convert.

use burn::tensor::{Tensor, TensorData};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::conv::ConvShape;
use crate::rule::Rule;

/// Whose rule the Hebbian coefficients are: each synapse's (the paper), each neuron's (NcHL,
/// `plastic::neuron`), shared by clusters of synapses that k-means merges during training
/// (Evolve & Merge, `plastic::merged`; per synapse until the first merge), or shared along each
/// anti-diagonal of a layer, as the reference code indexed them until its 2020-10-13 fix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    #[default]
    Synapse,
    Neuron,
    Merged,
    /// The reference's indexing before commit `99821ea` (2020-10-13): synapse (pre i, post j)
    /// of a layer read coefficient row `offset + i + j`, so the synapses of one anti-diagonal
    /// share a rule (in + out − 1 rules per layer; the Ant: 417 instead of 12,288). The paper
    /// predates the fix, so its published runs probably evolved these shared rules (spec
    /// `reference-algorithm.md` §2.5). Any Hebbian rule; the fixed map is a
    /// `plastic::RuleAssignment`.
    AntiDiagonal,
}

/// A buffer that does not fit the layout.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GenomeError {
    #[error(
        "reference coefficients have {got} numbers, expected {expected} (genome {genome} vs \
         {genome_expected})"
    )]
    ReferenceSize {
        got: usize,
        expected: usize,
        genome: usize,
        genome_expected: usize,
    },
}

/// What a run of the genome holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentKind {
    /// Hebbian coefficients of plastic layer `l`, `[K, out, in]`.
    Coefficients(usize),
    /// Neuron-level coefficients of neuron layer `n` (input = 0): `[4, size]` rows A, C, D, η
    /// for the input layer, `[5, size]` A, B, C, D, η for hidden layers, `[4, size]` B, C, D, η
    /// for the output layer (an input neuron is never post-synaptic, an output never pre).
    NeuronCoefficients(usize),
    /// Merged rules of plastic layer `l`, `[K, R]` (coefficient-major: `k*R + r`), R rules
    /// shared by the layer's synapses through its `plastic::RuleAssignment`.
    MergedCoefficients(usize),
    /// The frozen conv front end's weights.
    Conv,
    /// Co-evolved initial weights of plastic layer `l`, `[out, in]`.
    InitialWeights(usize),
    /// Fixed weights of static layer `l`, `[out, in]`.
    Weights(usize),
}

/// A contiguous run of the genome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub kind: SegmentKind,
    pub offset: usize,
    /// Per-agent shape of the run.
    pub shape: Vec<usize>,
}

impl Segment {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How the ES draws the initial centre (reference `--distribution`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialDistribution {
    /// N(0, 1) for coefficients, conv and co-evolved weights (reference default).
    Normal,
    /// U(-1, 1).
    Uniform,
}

/// The genome layout of one network family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenomeLayout {
    segments: Vec<Segment>,
    len: usize,
}

impl GenomeLayout {
    fn from_segments(parts: Vec<(SegmentKind, Vec<usize>)>) -> Self {
        let mut offset = 0;
        let segments = parts
            .into_iter()
            .map(|(kind, shape)| {
                let s = Segment {
                    kind,
                    offset,
                    shape,
                };
                offset += s.len();
                s
            })
            .collect();
        Self {
            segments,
            len: offset,
        }
    }

    /// `rules` (one segment per layer) followed by what every Hebbian genome ends with: the
    /// conv weights of a pixel task, then the co-evolved initial weights if asked for.
    fn with_tail(
        mut parts: Vec<(SegmentKind, Vec<usize>)>,
        layer_shapes: &[(usize, usize)],
        conv: Option<ConvShape>,
        coevolve_initial_weights: bool,
    ) -> Self {
        if let Some(c) = conv {
            parts.push((SegmentKind::Conv, vec![c.params()]));
        }
        if coevolve_initial_weights {
            parts.extend(
                layer_shapes
                    .iter()
                    .enumerate()
                    .map(|(l, &(o, i))| (SegmentKind::InitialWeights(l), vec![o, i])),
            );
        }
        Self::from_segments(parts)
    }

    /// A Hebbian network: `layer_shapes` are `(out, in)` per plastic layer.
    pub fn hebbian(
        rule: Rule,
        layer_shapes: &[(usize, usize)],
        conv: Option<ConvShape>,
        coevolve_initial_weights: bool,
    ) -> Self {
        let k = rule.coefficients_per_synapse();
        let parts: Vec<_> = layer_shapes
            .iter()
            .enumerate()
            .map(|(l, &(o, i))| (SegmentKind::Coefficients(l), vec![k, o, i]))
            .collect();
        Self::with_tail(parts, layer_shapes, conv, coevolve_initial_weights)
    }

    /// A neuron-level (NcHL) Hebbian network of neuron layers `layer_sizes` (input first).
    pub fn neuron_level(
        layer_sizes: &[usize],
        conv: Option<ConvShape>,
        coevolve_initial_weights: bool,
    ) -> Self {
        let last = layer_sizes.len() - 1;
        let mut parts: Vec<_> = layer_sizes
            .iter()
            .enumerate()
            .map(|(n, &size)| {
                let rows = if n == 0 || n == last { 4 } else { 5 };
                (SegmentKind::NeuronCoefficients(n), vec![rows, size])
            })
            .collect();
        if let Some(c) = conv {
            parts.push((SegmentKind::Conv, vec![c.params()]));
        }
        if coevolve_initial_weights {
            parts.extend(
                layer_sizes
                    .windows(2)
                    .enumerate()
                    .map(|(l, w)| (SegmentKind::InitialWeights(l), vec![w[1], w[0]])),
            );
        }
        Self::from_segments(parts)
    }

    /// A Hebbian network of merged rules: `rules[l]` rules of `rule` in plastic layer `l`;
    /// `layer_shapes` `(out, in)` as in [`Self::hebbian`] (for the co-evolved weights).
    pub fn merged(
        rule: Rule,
        rules: &[usize],
        layer_shapes: &[(usize, usize)],
        conv: Option<ConvShape>,
        coevolve_initial_weights: bool,
    ) -> Self {
        let k = rule.coefficients_per_synapse();
        let parts: Vec<_> = rules
            .iter()
            .enumerate()
            .map(|(l, &r)| (SegmentKind::MergedCoefficients(l), vec![k, r]))
            .collect();
        Self::with_tail(parts, layer_shapes, conv, coevolve_initial_weights)
    }

    /// A static-weight network of the same shapes.
    pub fn static_weights(layer_shapes: &[(usize, usize)], conv: Option<ConvShape>) -> Self {
        let mut parts = Vec::new();
        if let Some(c) = conv {
            parts.push((SegmentKind::Conv, vec![c.params()]));
        }
        parts.extend(
            layer_shapes
                .iter()
                .enumerate()
                .map(|(l, &(o, i))| (SegmentKind::Weights(l), vec![o, i])),
        );
        Self::from_segments(parts)
    }

    /// Numbers per agent (D).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    pub fn segment(&self, kind: SegmentKind) -> Option<&Segment> {
        self.segments.iter().find(|s| s.kind == kind)
    }

    /// Total numbers per agent in segments matching `pred`.
    pub fn count(&self, pred: impl Fn(SegmentKind) -> bool) -> usize {
        self.segments
            .iter()
            .filter(|s| pred(s.kind))
            .map(Segment::len)
            .sum()
    }

    fn slice<const D: usize>(&self, population: &Tensor<2>, s: &Segment) -> Tensor<D> {
        let [p, _] = population.dims();
        let mut shape = [p; D];
        shape[1..].copy_from_slice(&s.shape);
        population
            .clone()
            .narrow(1, s.offset, s.len())
            .reshape(shape)
    }

    /// Coefficients of every plastic layer, `[P, K, out, in]`.
    pub fn coefficients(&self, population: &Tensor<2>) -> Vec<Tensor<4>> {
        self.segments
            .iter()
            .filter(|s| matches!(s.kind, SegmentKind::Coefficients(_)))
            .map(|s| self.slice::<4>(population, s))
            .collect()
    }

    /// Neuron-level coefficients of every neuron layer as `[P, 5, size]` (rows A, B, C, D, η;
    /// the rows an input or output layer does not evolve are zero), or `None` for a
    /// per-synapse genome.
    pub fn neuron_coefficients(&self, population: &Tensor<2>) -> Option<Vec<Tensor<3>>> {
        let segments: Vec<&Segment> = self
            .segments
            .iter()
            .filter(|s| matches!(s.kind, SegmentKind::NeuronCoefficients(_)))
            .collect();
        if segments.is_empty() {
            return None;
        }
        let last = segments.len() - 1;
        Some(
            segments
                .iter()
                .enumerate()
                .map(|(n, s)| {
                    let t = self.slice::<3>(population, s);
                    let [p, _, size] = t.dims();
                    let zero = || Tensor::<3>::zeros([p, 1, size], &t.device());
                    if n == 0 {
                        // A, C, D, η → A, 0, C, D, η
                        Tensor::cat(
                            vec![t.clone().narrow(1, 0, 1), zero(), t.narrow(1, 1, 3)],
                            1,
                        )
                    } else if n == last {
                        // B, C, D, η → 0, B, C, D, η
                        Tensor::cat(vec![zero(), t], 1)
                    } else {
                        t
                    }
                })
                .collect(),
        )
    }

    /// Merged rules of every plastic layer as `[P, K, R]`, or `None` for other genomes.
    pub fn merged_coefficients(&self, population: &Tensor<2>) -> Option<Vec<Tensor<3>>> {
        let rules: Vec<_> = self
            .segments
            .iter()
            .filter(|s| matches!(s.kind, SegmentKind::MergedCoefficients(_)))
            .map(|s| self.slice::<3>(population, s))
            .collect();
        (!rules.is_empty()).then_some(rules)
    }

    /// Conv weights `[P, 1362]`, if this genome has them.
    pub fn conv_weights(&self, population: &Tensor<2>) -> Option<Tensor<2>> {
        self.segment(SegmentKind::Conv)
            .map(|s| self.slice::<2>(population, s))
    }

    /// Per-layer `[P, out, in]` weights of the segments matching `pred` (static weights or
    /// co-evolved initial weights), or `None` if there are none.
    pub fn layer_weights(
        &self,
        population: &Tensor<2>,
        pred: impl Fn(SegmentKind) -> bool,
    ) -> Option<Vec<Tensor<3>>> {
        let w: Vec<_> = self
            .segments
            .iter()
            .filter(|s| pred(s.kind))
            .map(|s| self.slice::<3>(population, s))
            .collect();
        (!w.is_empty()).then_some(w)
    }

    /// The ES's initial centre: N(0,1) or U(-1,1) for Hebbian genomes (reference §3.1), and
    /// PyTorch's default init U(±1/sqrt(fan_in)) for static weights and static conv weights.
    pub fn initial_centre(&self, distribution: InitialDistribution, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let is_static = self.segment(SegmentKind::Weights(0)).is_some();
        let mut centre = Vec::with_capacity(self.len);
        for s in &self.segments {
            let fan_in_bound = |fan_in: usize| 1.0 / (fan_in as f32).sqrt();
            let bound = match s.kind {
                SegmentKind::Weights(_) => Some(fan_in_bound(s.shape[1])),
                SegmentKind::Conv if is_static => None,
                _ => None,
            };
            if let (SegmentKind::Conv, true) = (s.kind, is_static) {
                // Conv default init per layer: fan_in = in_c*k*k of conv1 (27) and conv2 (150).
                let (n1, f1, f2) = (162usize.min(s.len()), 27, 150);
                for i in 0..s.len() {
                    let b = fan_in_bound(if i < n1 { f1 } else { f2 });
                    centre.push(rng.random_range(-b..b));
                }
                continue;
            }
            for _ in 0..s.len() {
                let v = match (bound, distribution) {
                    (Some(b), _) => rng.random_range(-b..b),
                    (None, InitialDistribution::Normal) => rng.sample::<f32, _>(StandardNormal),
                    (None, InitialDistribution::Uniform) => rng.random_range(-1.0f32..1.0),
                };
                centre.push(v);
            }
        }
        centre
    }

    /// Converts one genome's coefficients to the reference's `H[S, K]` (pre-major rows, layer
    /// after layer), e.g. to compare with or export to the Python code.
    pub fn coefficients_to_reference(&self, genome: &[f32]) -> Vec<f32> {
        let mut h = Vec::new();
        for s in self.coefficient_segments() {
            let (k, o, i) = (s.shape[0], s.shape[1], s.shape[2]);
            let g = &genome[s.offset..s.offset + s.len()];
            for pre in 0..i {
                for post in 0..o {
                    for c in 0..k {
                        h.push(g[c * o * i + post * i + pre]);
                    }
                }
            }
        }
        h
    }

    /// Writes reference-layout coefficients `H[S, K]` into a genome (inverse of
    /// [`Self::coefficients_to_reference`]). Returns an error naming the expected size.
    pub fn coefficients_from_reference(
        &self,
        h: &[f32],
        genome: &mut [f32],
    ) -> Result<(), GenomeError> {
        let expected: usize = self.coefficient_segments().map(Segment::len).sum();
        if h.len() != expected || genome.len() != self.len {
            return Err(GenomeError::ReferenceSize {
                got: h.len(),
                expected,
                genome: genome.len(),
                genome_expected: self.len,
            });
        }
        let mut next = h.iter();
        for s in self.coefficient_segments() {
            let (k, o, i) = (s.shape[0], s.shape[1], s.shape[2]);
            for pre in 0..i {
                for post in 0..o {
                    for c in 0..k {
                        genome[s.offset + c * o * i + post * i + pre] =
                            *next.next().expect("sized");
                    }
                }
            }
        }
        Ok(())
    }

    fn coefficient_segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments
            .iter()
            .filter(|s| matches!(s.kind, SegmentKind::Coefficients(_)))
    }
}

/// Uploads host genomes `[P, D]` (row-major) to a device.
pub fn population_tensor(
    data: Vec<f32>,
    population: usize,
    device: &burn::tensor::Device,
) -> Tensor<2> {
    let d = data.len() / population.max(1);
    Tensor::from_data(TensorData::new(data, [population, d]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANT: [(usize, usize); 3] = [(128, 28), (64, 128), (8, 64)];

    #[test]
    fn reference_layout_round_trips() {
        let layout = GenomeLayout::hebbian(Rule::AbcdLr, &[(3, 2), (2, 3)], None, false);
        let genome: Vec<f32> = (0..layout.len()).map(|v| v as f32).collect();
        let h = layout.coefficients_to_reference(&genome);
        // Row 0 = synapse pre 0 -> post 0 of layer 0: [A,B,C,eta,D] at stride out*in = 6.
        assert_eq!(&h[..5], &[0.0, 6.0, 12.0, 18.0, 24.0]);
        // Row 1 = pre 0 -> post 1: W[1,0] is element 1*2+0 = 2.
        assert_eq!(h[5], 2.0);
        let mut back = vec![0.0; layout.len()];
        layout.coefficients_from_reference(&h, &mut back).unwrap();
        assert_eq!(back, genome);
    }

    #[test]
    fn ant_and_static_lengths() {
        assert_eq!(
            GenomeLayout::hebbian(Rule::AbcdLr, &ANT, None, false).len(),
            61_440
        );
        assert_eq!(GenomeLayout::static_weights(&ANT, None).len(), 12_288);
        assert_eq!(
            GenomeLayout::hebbian(Rule::A, &ANT, None, true).len(),
            2 * 12_288
        );
    }
}
