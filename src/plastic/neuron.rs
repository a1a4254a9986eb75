//! Neuron-level Hebbian rules: NcHL (Ferigo, Cunegatti & Iacca, "Neuron-centric Hebbian
//! Learning", GECCO 2024). Every neuron n carries five numbers (A_n, B_n, C_n, D_n, η_n) instead
//! of every synapse; the synapse from pre neuron i to post neuron j changes by
//!
//! `Δw_ij = (η_i + η_j)/2 · (A_i·o_i + B_j·o_j + (C_i·o_i)·(C_j·o_j) + D_i·D_j)`
//!
//! as the authors' code (`ndr09/NCHL`, `cdw`) computes it: A acts on the neuron's activity when
//! it is pre-synaptic, B when it is post-synaptic, so input neurons have no B and output neurons
//! no A (5N − n_in − n_out numbers per network). In the ABCD_lr form this is a synapse rule with
//! A = C_i·C_j, B = A_i, C = B_j, D = D_i·D_j and η = (η_i + η_j)/2 ([`NeuronCoefficients::expand`],
//! the test oracle), but nothing per synapse is ever stored: the update reads the per-neuron
//! vectors only.

use burn::tensor::{Int, Tensor};

/// Rows of a neuron layer's coefficient tensor `[P, 5, n]`.
pub const A: usize = 0;
pub const B: usize = 1;
pub const C: usize = 2;
pub const D: usize = 3;
pub const ETA: usize = 4;
/// Numbers per neuron.
pub const PER_NEURON: usize = 5;

/// The neuron coefficients one plastic layer reads.
#[derive(Clone, Debug)]
pub struct NeuronCoefficients {
    /// Pre-synaptic side `[P, 4, in]`: rows A_i, C_i, D_i, η_i.
    pub pre: Tensor<3>,
    /// Post-synaptic side `[P, 4, out]`: rows B_j, C_j, D_j, η_j.
    pub post: Tensor<3>,
}

impl NeuronCoefficients {
    /// Layer `l` of a network whose neuron layers hold `[P, 5, n]` coefficients (rows
    /// [`A`], [`B`], [`C`], [`D`], [`ETA`]): pre side from neuron layer l, post side from l+1.
    pub fn for_layer(neurons: &[Tensor<3>], l: usize) -> Self {
        let rows = |t: &Tensor<3>, which: [usize; 4]| {
            Tensor::cat(
                which.iter().map(|&r| t.clone().narrow(1, r, 1)).collect(),
                1,
            )
        };
        Self {
            pre: rows(&neurons[l], [A, C, D, ETA]),
            post: rows(&neurons[l + 1], [B, C, D, ETA]),
        }
    }

    fn pre_row(&self, r: usize) -> Tensor<3> {
        let [p, _, inp] = self.pre.dims();
        self.pre.clone().narrow(1, r, 1).reshape([p, 1, inp])
    }

    fn post_row(&self, r: usize) -> Tensor<3> {
        let [p, _, out] = self.post.dims();
        self.post.clone().narrow(1, r, 1).reshape([p, out, 1])
    }

    /// Keeps only the agents in `rows`.
    pub fn select_agents(&mut self, rows: &Tensor<1, Int>) {
        self.pre = self.pre.clone().select(0, rows.clone());
        self.post = self.post.clone().select(0, rows.clone());
    }

    /// The same rule as per-synapse ABCD_lr coefficients `[P, 5, out, in]` (the reference's slot
    /// order A, B, C, η, D). Only for tests and inspection: this is the expansion the kernels
    /// avoid.
    pub fn expand(&self) -> Tensor<4> {
        let (a_i, c_i, d_i, e_i) = (
            self.pre_row(0),
            self.pre_row(1),
            self.pre_row(2),
            self.pre_row(3),
        );
        let (b_j, c_j, d_j, e_j) = (
            self.post_row(0),
            self.post_row(1),
            self.post_row(2),
            self.post_row(3),
        );
        let [p, _, inp] = self.pre.dims();
        let out = self.post.dims()[2];
        let full = |t: Tensor<3>| t.expand([p, out, inp]);
        Tensor::stack::<4>(
            vec![
                full(c_i * c_j),
                full(a_i),
                full(b_j),
                full((e_i + e_j) / 2.0),
                full(d_i * d_j),
            ],
            1,
        )
    }
}

/// One neuron-level Hebbian step of one layer with tensor ops (broadcasts of the per-neuron
/// vectors; no per-synapse coefficient is stored). `pre`: `[P, in]`, `post`: `[P, out]`.
pub fn update_neuron_tensor_ops(
    weights: Tensor<3>,
    c: &NeuronCoefficients,
    pre: Tensor<2>,
    post: Tensor<2>,
    normalize: bool,
) -> Tensor<3> {
    let [p, out, inp] = weights.dims();
    let x = pre.reshape([p, 1, inp]);
    let y = post.reshape([p, out, 1]);
    let pre_terms = c.pre_row(0) * x.clone();
    let post_terms = c.post_row(0) * y.clone();
    let correlation = (c.pre_row(1) * x) * (c.post_row(1) * y);
    let constant = c.pre_row(2) * c.post_row(2);
    let eta = (c.pre_row(3) + c.post_row(3)) / 2.0;
    let updated = weights + eta * (pre_terms + post_terms + correlation + constant);
    if normalize {
        super::normalize_max_abs(updated)
    } else {
        updated
    }
}
