//! The fused CPU Hebbian kernel, plugged into burn through its backend-extension mechanism.
//!
//! The tensor-op update allocates a fresh `[P, out, in]` output per op and reaches only
//! 10-40 % of memory bandwidth. This kernel makes one pass over W, A', B', C', D' per step,
//! updates W in place (burn hands us the unique buffer) and fuses the max-|w| of the
//! normalisation into that pass. Data stays in burn tensors throughout.

use burn::backend::{Backend, backend_extension, tensor::FloatTensor};
use burn::tensor::{Tensor, bf16, f16};
use rayon::prelude::*;

use crate::rule::FoldedCoefficients;

/// Work per rayon task, in synapses: big enough to amortise scheduling, small enough to split
/// even one agent's layer over both cores.
const SYNAPSES_PER_TASK: usize = 16 * 1024;

/// The extension trait: one fused update op. Only flex implements it (see `supported`).
#[backend_extension(Flex: cfg(feature = "flex"))]
pub trait FusedHebbianBackend: Backend {
    /// `w`, `a`..`d`: `[P, out, in]`; `pre`: `[P, in]`; `post`: `[P, out]`.
    #[allow(clippy::too_many_arguments)]
    fn fused_hebbian_update(
        w: FloatTensor<Self>,
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        c: FloatTensor<Self>,
        d: FloatTensor<Self>,
        pre: FloatTensor<Self>,
        post: FloatTensor<Self>,
        normalize: bool,
    ) -> FloatTensor<Self>;

    /// The batched forward product `y[p] = W[p] · x[p]`: `w` `[P, out, in]`, `x` `[P, in]` →
    /// `[P, out]`.
    fn fused_batched_matvec(w: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// One whole timestep of one layer in a single pass over its rows: for each row,
    /// `post = act(scale · W·pre)`, then (when `update`) `W ← scale·W + ΔW(pre, post)` while
    /// the row is still in L1. `scale` (`[P]`) is the per-agent factor that turns the stored
    /// weights into the true ones: normalisation is deferred into it instead of an extra pass.
    /// Returns `(W, post, scale)`.
    #[allow(clippy::too_many_arguments)]
    fn fused_forward_update(
        w: FloatTensor<Self>,
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        c: FloatTensor<Self>,
        d: FloatTensor<Self>,
        pre: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        tanh: bool,
        update: bool,
        normalize: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// [`Self::fused_forward_update`] for a neuron-level (NcHL) rule: `pre_side` `[P, 4, in]`
    /// holds A_i, C_i, D_i, η_i and `post_side` `[P, 4, out]` B_j, C_j, D_j, η_j (see
    /// `plastic::neuron`); no per-synapse coefficient is read.
    #[allow(clippy::too_many_arguments)]
    fn fused_forward_update_neuron(
        w: FloatTensor<Self>,
        pre_side: FloatTensor<Self>,
        post_side: FloatTensor<Self>,
        pre: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        tanh: bool,
        update: bool,
        normalize: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// [`Self::fused_forward_update`] for merged (shared) rules: `table` `[P, 4, R]` holds the
    /// rules' folded a, b, c, d rows and `rule_of` (`out·in`, row-major, shared by all agents) the
    /// rule of each synapse (see `plastic::merged`); nothing per synapse but the index is read.
    #[allow(clippy::too_many_arguments)]
    fn fused_forward_update_merged(
        w: FloatTensor<Self>,
        table: FloatTensor<Self>,
        rule_of: &[u32],
        pre: FloatTensor<Self>,
        scale: FloatTensor<Self>,
        tanh: bool,
        update: bool,
        normalize: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// The tensor itself when its storage is already exactly its elements, else a contiguous
    /// copy (so that the kernels above never copy per step).
    fn fused_dense(t: FloatTensor<Self>) -> FloatTensor<Self>;
}

pub use crate::kernel::supported;

/// Runs the fused kernel. The caller checks [`supported`] first.
pub fn update_fused(
    weights: Tensor<3>,
    c: &FoldedCoefficients,
    pre: Tensor<2>,
    post: Tensor<2>,
    normalize: bool,
) -> Tensor<3> {
    use burn::backend::Dispatch;
    let out = <Dispatch as FusedHebbianBackend>::fused_hebbian_update(
        weights.into_dispatch(),
        c.a.clone().into_dispatch(),
        c.b.clone().into_dispatch(),
        c.c.clone().into_dispatch(),
        c.d.clone().into_dispatch(),
        pre.into_dispatch(),
        post.into_dispatch(),
        normalize,
    );
    Tensor::from_dispatch(out)
}

/// What [`forward_update_fused`] returns: the stored weights, the layer's output and the
/// per-agent scale.
pub struct LayerStep {
    pub weights: Tensor<3>,
    pub post: Tensor<2>,
    pub scale: Tensor<1>,
}

/// Runs [`FusedHebbianBackend::fused_forward_update`]. The caller checks [`supported`] first.
#[allow(clippy::too_many_arguments)]
pub fn forward_update_fused(
    weights: Tensor<3>,
    c: &FoldedCoefficients,
    pre: Tensor<2>,
    scale: Tensor<1>,
    tanh: bool,
    update: bool,
    normalize: bool,
) -> LayerStep {
    use burn::backend::Dispatch;
    let op = <Dispatch as FusedHebbianBackend>::fused_forward_update;
    run_layer_step(op, weights, c, pre, scale, [tanh, update, normalize])
}

/// A per-synapse layer step at the dispatch level: `(W, a, b, c, d, pre, scale, tanh, update,
/// normalize) → (W, post, scale)`, the signature the CPU and the GPU extensions share.
pub(crate) type DispatchLayerStep = fn(
    FloatTensor<burn::backend::Dispatch>,
    FloatTensor<burn::backend::Dispatch>,
    FloatTensor<burn::backend::Dispatch>,
    FloatTensor<burn::backend::Dispatch>,
    FloatTensor<burn::backend::Dispatch>,
    FloatTensor<burn::backend::Dispatch>,
    FloatTensor<burn::backend::Dispatch>,
    bool,
    bool,
    bool,
) -> (
    FloatTensor<burn::backend::Dispatch>,
    FloatTensor<burn::backend::Dispatch>,
    FloatTensor<burn::backend::Dispatch>,
);

/// Runs one layer step `op` on burn tensors.
pub(crate) fn run_layer_step(
    op: DispatchLayerStep,
    weights: Tensor<3>,
    c: &FoldedCoefficients,
    pre: Tensor<2>,
    scale: Tensor<1>,
    [tanh, update, normalize]: [bool; 3],
) -> LayerStep {
    let (w, post, scale) = op(
        weights.into_dispatch(),
        c.a.clone().into_dispatch(),
        c.b.clone().into_dispatch(),
        c.c.clone().into_dispatch(),
        c.d.clone().into_dispatch(),
        pre.into_dispatch(),
        scale.into_dispatch(),
        tanh,
        update,
        normalize,
    );
    LayerStep {
        weights: Tensor::from_dispatch(w),
        post: Tensor::from_dispatch(post),
        scale: Tensor::from_dispatch(scale),
    }
}

/// Runs [`FusedHebbianBackend::fused_forward_update_neuron`]. The caller checks [`supported`]
/// first.
pub fn forward_update_neuron_fused(
    weights: Tensor<3>,
    c: &crate::plastic::neuron::NeuronCoefficients,
    pre: Tensor<2>,
    scale: Tensor<1>,
    tanh: bool,
    update: bool,
    normalize: bool,
) -> LayerStep {
    use burn::backend::Dispatch;
    let (w, post, scale) = <Dispatch as FusedHebbianBackend>::fused_forward_update_neuron(
        weights.into_dispatch(),
        c.pre.clone().into_dispatch(),
        c.post.clone().into_dispatch(),
        pre.into_dispatch(),
        scale.into_dispatch(),
        tanh,
        update,
        normalize,
    );
    LayerStep {
        weights: Tensor::from_dispatch(w),
        post: Tensor::from_dispatch(post),
        scale: Tensor::from_dispatch(scale),
    }
}

/// Runs [`FusedHebbianBackend::fused_forward_update_merged`]. The caller checks [`supported`]
/// first.
pub fn forward_update_merged_fused(
    weights: Tensor<3>,
    c: &crate::plastic::merged::MergedCoefficients,
    pre: Tensor<2>,
    scale: Tensor<1>,
    tanh: bool,
    update: bool,
    normalize: bool,
) -> LayerStep {
    use burn::backend::Dispatch;
    let (w, post, scale) = <Dispatch as FusedHebbianBackend>::fused_forward_update_merged(
        weights.into_dispatch(),
        c.table.clone().into_dispatch(),
        &c.rule_of,
        pre.into_dispatch(),
        scale.into_dispatch(),
        tanh,
        update,
        normalize,
    );
    LayerStep {
        weights: Tensor::from_dispatch(w),
        post: Tensor::from_dispatch(post),
        scale: Tensor::from_dispatch(scale),
    }
}

/// A layer's four folded coefficient arrays (`[P, out, in]` each, row-major) as the kernel
/// reads them: f32, or stored in 16 bits (`CoefficientPrecision`) and widened to f32 as read
/// (bf16 element by element, f16 in blocks).
#[derive(Clone, Copy)]
pub enum CoefficientRows<'a> {
    F32([&'a [f32]; 4]),
    Bf16([&'a [bf16]; 4]),
    F16([&'a [f16]; 4]),
}

/// Elements widened at a time from 16-bit coefficients: four such blocks stay in L1.
const WIDEN_BLOCK: usize = 64;

impl CoefficientRows<'_> {
    /// Applies the rule to row `row` (`w`, one row of `in` weights); returns its max |w|.
    #[inline(always)]
    fn update_row(&self, row: usize, w: &mut [f32], pre: &[f32], post: f32, scale: f32) -> f32 {
        let span = row * w.len()..(row + 1) * w.len();
        match self {
            CoefficientRows::F32(k) => update_row(w, k.map(|k| &k[span.clone()]), pre, post, scale),
            CoefficientRows::Bf16(k) => {
                let k = k.map(|k| &k[span.clone()]);
                update_row_as(w, k, pre, post, scale, widen_bf16)
            }
            CoefficientRows::F16(k) => {
                let k = k.map(|k| &k[span.clone()]);
                update_row_widened(w, k, pre, post, scale, widen_f16)
            }
        }
    }
}

/// bf16 → f32 is the 16 bits shifted up (exact; NaN stays NaN), which vectorises.
#[inline(always)]
fn widen_bf16(x: bf16) -> f32 {
    f32::from_bits((x.to_bits() as u32) << 16)
}

/// f16 → f32 through `half`'s slice conversion (F16C where the CPU has it).
#[inline(always)]
fn widen_f16(src: &[f16], dst: &mut [f32]) {
    use half::slice::HalfFloatSliceExt;
    src.convert_to_f32_slice(dst);
}

/// [`update_row`] on f16 coefficients (whose per-element conversion does not vectorise
/// without F16C at compile time): each block of [`WIDEN_BLOCK`] is widened into f32
/// buffers on the stack, then updated by the f32 row kernel.
#[inline(always)]
fn update_row_widened<T>(
    w: &mut [f32],
    k: [&[T]; 4],
    pre: &[f32],
    post: f32,
    scale: f32,
    widen: impl Fn(&[T], &mut [f32]),
) -> f32 {
    let mut buf = [[0.0f32; WIDEN_BLOCK]; 4];
    let mut max = 0.0f32;
    for start in (0..w.len()).step_by(WIDEN_BLOCK) {
        let end = (start + WIDEN_BLOCK).min(w.len());
        let n = end - start;
        for (b, src) in buf.iter_mut().zip(k) {
            widen(&src[start..end], &mut b[..n]);
        }
        let [b0, b1, b2, b3] = &buf;
        let m = update_row(
            &mut w[start..end],
            [&b0[..n], &b1[..n], &b2[..n], &b3[..n]],
            &pre[start..end],
            post,
            scale,
        );
        max = max.max(m);
    }
    max
}

/// The single-pass layer step on plain slices (see `fused_forward_update`). `row_max`
/// receives each row's max |stored w| after the update.
fn forward_update_rows(
    rows: &RowPass,
    coefficients: CoefficientRows,
    w: &mut [f32],
    post: &mut [f32],
    row_max: &mut [f32],
) {
    rows.run(w, post, row_max, |first_row, w, post, max| {
        synapse_task(rows, coefficients, first_row, w, post, max)
    });
}

/// One task of [`forward_update_rows`], compiled for each SIMD level (AVX2, AVX-512, ...) and
/// picked at run time, as the conv kernel is: the portable build would otherwise run SSE2.
/// Lane order is fixed in the code, so every level gives the same bits.
#[multiversion::multiversion(targets = "simd")]
fn synapse_task(
    rows: &RowPass,
    coefficients: CoefficientRows,
    first_row: usize,
    w: &mut [f32],
    post: &mut [f32],
    max: &mut [f32],
) {
    rows.task(
        first_row,
        w,
        post,
        max,
        |row, _agent, w_row, pre_row, p, s| coefficients.update_row(row, w_row, pre_row, p, s),
    );
}

/// [`forward_update_rows`] for a neuron-level rule: `pre_side` `[P, 4, in]` (A, C, D, η of
/// each pre neuron), `post_side` `[P, 4, out]` (B, C, D, η of each post neuron).
fn forward_update_rows_neuron(
    rows: &RowPass,
    [pre_side, post_side]: [&[f32]; 2],
    w: &mut [f32],
    post: &mut [f32],
    row_max: &mut [f32],
) {
    rows.run(w, post, row_max, |first_row, w, post, max| {
        neuron_task(rows, [pre_side, post_side], first_row, w, post, max)
    });
}

/// One task of [`forward_update_rows_neuron`], per SIMD level like [`synapse_task`].
#[multiversion::multiversion(targets = "simd")]
fn neuron_task(
    rows: &RowPass,
    [pre_side, post_side]: [&[f32]; 2],
    first_row: usize,
    w: &mut [f32],
    post: &mut [f32],
    max: &mut [f32],
) {
    let (out, inp) = (rows.out, rows.inp);
    rows.task(
        first_row,
        w,
        post,
        max,
        |row, agent, w_row, pre_row, p, s| {
            let j = row - agent * out;
            let side = &pre_side[agent * 4 * inp..(agent + 1) * 4 * inp];
            let post_of = |k: usize| post_side[(agent * 4 + k) * out + j];
            update_row_neuron(
                w_row,
                [0, 1, 2, 3].map(|k| &side[k * inp..(k + 1) * inp]),
                pre_row,
                [post_of(0), post_of(1), post_of(2), post_of(3)],
                p,
                s,
            )
        },
    );
}

/// [`forward_update_rows`] for merged rules: `table` `[P, 4, R]` (the a, b, c, d rows of the
/// rules), `rule_of` `[out·in]` the rule of each synapse, the same for every agent.
fn forward_update_rows_merged(
    rows: &RowPass,
    (table, rule_of): (&[f32], &[u32]),
    w: &mut [f32],
    post: &mut [f32],
    row_max: &mut [f32],
) {
    let rules = table.len() / (4 * rows.scale.len()).max(1);
    // Every index in range, checked once here, so that the row loop may skip the bounds
    // checks that would keep it from vectorising (gathers).
    assert!(
        rule_of.iter().all(|&r| (r as usize) < rules),
        "a synapse's rule index is out of range"
    );
    let lookup = RuleTable { table, rules };
    rows.run(w, post, row_max, |first_row, w, post, max| {
        merged_task(rows, lookup, rule_of, first_row, w, post, max)
    });
}

/// The merged rules of every agent, `[P, 4, R]`, with R; every index the kernel reads through
/// it has been checked against R.
#[derive(Clone, Copy)]
struct RuleTable<'a> {
    table: &'a [f32],
    rules: usize,
}

impl<'a> RuleTable<'a> {
    /// Agent `agent`'s four rows a, b, c, d.
    #[inline(always)]
    fn agent(&self, agent: usize) -> [&'a [f32]; 4] {
        let r = self.rules;
        let t = &self.table[agent * 4 * r..(agent + 1) * 4 * r];
        [&t[..r], &t[r..2 * r], &t[2 * r..3 * r], &t[3 * r..]]
    }
}

/// One task of [`forward_update_rows_merged`], per SIMD level like [`synapse_task`].
#[multiversion::multiversion(targets = "simd")]
fn merged_task(
    rows: &RowPass,
    table: RuleTable,
    rule_of: &[u32],
    first_row: usize,
    w: &mut [f32],
    post: &mut [f32],
    max: &mut [f32],
) {
    let (out, inp) = (rows.out, rows.inp);
    rows.task(
        first_row,
        w,
        post,
        max,
        |row, agent, w_row, pre_row, p, s| {
            let j = row - agent * out;
            update_row_merged(
                w_row,
                &rule_of[j * inp..(j + 1) * inp],
                table.agent(agent),
                pre_row,
                p,
                s,
            )
        },
    );
}

/// What every single-pass layer step shares: rows in parallel, each row's forward product and
/// activation, then (when `update`) the row's rule while the row is in L1.
struct RowPass<'a> {
    pre: &'a [f32],
    scale: &'a [f32],
    out: usize,
    inp: usize,
    tanh: bool,
    update: bool,
}

impl RowPass<'_> {
    /// Splits the rows into tasks run in parallel: `task(first_row, w, post, row_max)` gets
    /// each chunk (and calls [`Self::task`]).
    fn run(
        &self,
        w: &mut [f32],
        post: &mut [f32],
        row_max: &mut [f32],
        task: impl Fn(usize, &mut [f32], &mut [f32], &mut [f32]) + Sync,
    ) {
        let rows_per_task = (SYNAPSES_PER_TASK / self.inp).max(1);
        w.par_chunks_mut(rows_per_task * self.inp)
            .zip(post.par_chunks_mut(rows_per_task))
            .zip(row_max.par_chunks_mut(rows_per_task))
            .enumerate()
            .for_each(|(k, ((w_chunk, post_chunk), max_chunk))| {
                task(k * rows_per_task, w_chunk, post_chunk, max_chunk)
            });
    }

    /// The rows of one task. `update_row(row, agent, w_row, pre_row, post, scale)` updates one
    /// row and returns its max |w|. Inlined into the per-SIMD-level task functions.
    #[inline(always)]
    fn task(
        &self,
        first_row: usize,
        w_chunk: &mut [f32],
        post_chunk: &mut [f32],
        max_chunk: &mut [f32],
        update_row: impl Fn(usize, usize, &mut [f32], &[f32], f32, f32) -> f32,
    ) {
        let (out, inp) = (self.out, self.inp);
        for (r, ((w_row, po), max)) in w_chunk
            .chunks_exact_mut(inp)
            .zip(post_chunk.iter_mut())
            .zip(max_chunk.iter_mut())
            .enumerate()
        {
            let row = first_row + r;
            let agent = row / out;
            let s = self.scale[agent];
            let pre_row = &self.pre[agent * inp..(agent + 1) * inp];
            let y = s * dot(w_row, pre_row);
            let p = if self.tanh { y.tanh() } else { y };
            *po = p;
            if self.update {
                *max = update_row(row, agent, w_row, pre_row, p, s);
            }
        }
    }
}

/// A contiguous tensor, copied only if it is a view. The caller checks [`supported`] first.
pub fn make_dense<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    use burn::backend::Dispatch;
    Tensor::from_dispatch(<Dispatch as FusedHebbianBackend>::fused_dense(
        t.into_dispatch(),
    ))
}

/// Runs the fused batched product `W[p] · x[p]`. The caller checks [`supported`] first.
pub fn matvec_fused(weights: Tensor<3>, x: Tensor<2>) -> Tensor<2> {
    use burn::backend::Dispatch;
    let out = <Dispatch as FusedHebbianBackend>::fused_batched_matvec(
        weights.into_dispatch(),
        x.into_dispatch(),
    );
    Tensor::from_dispatch(out)
}

/// `y[p, o] = Σ_i w[p, o, i] · x[p, i]` on plain slices, rows in parallel. burn's batched
/// matmul treats each agent's product as a tiny GEMM and was ~5x slower than reading W.
pub fn matvec_rows(w: &[f32], x: &[f32], y: &mut [f32], out: usize, inp: usize) {
    let rows_per_task = (SYNAPSES_PER_TASK / inp).max(1);
    y.par_chunks_mut(rows_per_task)
        .zip(w.par_chunks(rows_per_task * inp))
        .enumerate()
        .for_each(|(task, (y_chunk, w_chunk))| {
            let first_row = task * rows_per_task;
            for (r, (yv, w_row)) in y_chunk
                .iter_mut()
                .zip(w_chunk.chunks_exact(inp))
                .enumerate()
            {
                let agent = (first_row + r) / out;
                *yv = dot(w_row, &x[agent * inp..(agent + 1) * inp]);
            }
        });
}

/// One row of the rule: `w ← scale·w + (a·post + b)·pre + c·post + d`; returns max |w|
/// (lane-split, see [`row_with_max`]: with one running max the step reached about a third of
/// memory bandwidth).
#[inline(always)]
fn update_row(w: &mut [f32], k: [&[f32]; 4], pre: &[f32], post: f32, scale: f32) -> f32 {
    update_row_as(w, k, pre, post, scale, |x| x)
}

/// [`update_row`] on coefficients of any stored type, widened element by element by `widen`
/// inside the vectorised loop.
#[inline(always)]
fn update_row_as<T: Copy>(
    w: &mut [f32],
    [a, b, c, d]: [&[T]; 4],
    pre: &[f32],
    post: f32,
    scale: f32,
    widen: impl Fn(T) -> f32,
) -> f32 {
    row_with_max(w, [a, b, c, d], pre, |wv, [av, bv, cv, dv], xv| {
        let (av, bv, cv, dv) = (widen(av), widen(bv), widen(cv), widen(dv));
        *wv = scale * *wv + (av * post + bv) * xv + cv * post + dv;
        wv.abs()
    })
}

/// Runs `one(w_i, [k0_i, k1_i, k2_i, k3_i], pre_i)` (which updates `w_i` and returns its
/// |w|) over a row and returns the max. Eight independent running maxima over exact chunks (no
/// bounds checks): a single running max is a serial dependency that keeps the loop scalar.
#[inline(always)]
fn row_with_max<T: Copy>(
    w: &mut [f32],
    [k0, k1, k2, k3]: [&[T]; 4],
    pre: &[f32],
    one: impl Fn(&mut f32, [T; 4], f32) -> f32,
) -> f32 {
    const LANES: usize = 8;
    let mut m = [0.0f32; LANES];
    let n = w.len() / LANES * LANES;
    let (w_main, w_tail) = w.split_at_mut(n);
    for (((((wc, c0), c1), c2), c3), xc) in w_main
        .chunks_exact_mut(LANES)
        .zip(k0[..n].chunks_exact(LANES))
        .zip(k1[..n].chunks_exact(LANES))
        .zip(k2[..n].chunks_exact(LANES))
        .zip(k3[..n].chunks_exact(LANES))
        .zip(pre[..n].chunks_exact(LANES))
    {
        for l in 0..LANES {
            let v = one(&mut wc[l], [c0[l], c1[l], c2[l], c3[l]], xc[l]);
            m[l] = if v > m[l] { v } else { m[l] };
        }
    }
    let mut max = m.iter().copied().fold(0.0f32, f32::max);
    for (k, wv) in w_tail.iter_mut().enumerate() {
        let i = n + k;
        max = max.max(one(wv, [k0[i], k1[i], k2[i], k3[i]], pre[i]));
    }
    max
}

/// One row of a neuron-level rule: `w_i ← scale·w_i + (η_i+η_j)/2·(A_i x_i + B_j y + C_i x_i·C_j y
/// + D_i D_j)`; returns max |w|.
#[inline(always)]
fn update_row_neuron(
    w: &mut [f32],
    [a, c, d, e]: [&[f32]; 4],
    pre: &[f32],
    [b_j, c_j, d_j, e_j]: [f32; 4],
    post: f32,
    scale: f32,
) -> f32 {
    let (b, cy) = (b_j * post, c_j * post);
    row_with_max(w, [a, c, d, e], pre, |wv, [av, cv, dv, ev], xv| {
        let eta = (ev + e_j) * 0.5;
        *wv = scale * *wv + eta * (av * xv + b + (cv * xv) * cy + dv * d_j);
        wv.abs()
    })
}

/// One row of merged rules: synapse i follows rule `rule_of[i]` of the rows `[a, b, c, d]`;
/// `w_i ← scale·w_i + (a·post + b)·pre_i + c·post + d`, as [`update_row`]. Returns max |w|.
/// Every `rule_of[i]` must be below the rows' length (checked by the caller).
#[inline(always)]
fn update_row_merged(
    w: &mut [f32],
    rule_of: &[u32],
    [a, b, c, d]: [&[f32]; 4],
    pre: &[f32],
    post: f32,
    scale: f32,
) -> f32 {
    const LANES: usize = 8;
    let rules = a.len();
    debug_assert!(b.len() == rules && c.len() == rules && d.len() == rules);
    let one = |wv: &mut f32, r: u32, xv: f32| {
        let r = r as usize;
        debug_assert!(r < rules);
        // SAFETY: `forward_update_rows_merged` checked every index against the rows' length.
        let (ar, br, cr, dr) = unsafe {
            (
                *a.get_unchecked(r),
                *b.get_unchecked(r),
                *c.get_unchecked(r),
                *d.get_unchecked(r),
            )
        };
        *wv = scale * *wv + (ar * post + br) * xv + cr * post + dr;
        wv.abs()
    };
    let mut m = [0.0f32; LANES];
    let n = w.len() / LANES * LANES;
    let (w_main, w_tail) = w.split_at_mut(n);
    for ((wc, rc), xc) in w_main
        .chunks_exact_mut(LANES)
        .zip(rule_of[..n].chunks_exact(LANES))
        .zip(pre[..n].chunks_exact(LANES))
    {
        for l in 0..LANES {
            let v = one(&mut wc[l], rc[l], xc[l]);
            m[l] = if v > m[l] { v } else { m[l] };
        }
    }
    let mut max = m.iter().copied().fold(0.0f32, f32::max);
    for (k, wv) in w_tail.iter_mut().enumerate() {
        max = max.max(one(wv, rule_of[n + k], pre[n + k]));
    }
    max
}

/// A dot product with eight independent partial sums, so that it vectorises.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0.0f32; LANES];
    let (a_main, a_tail) = a.split_at(a.len() / LANES * LANES);
    let (b_main, b_tail) = b.split_at(a_main.len());
    for (ca, cb) in a_main.chunks_exact(LANES).zip(b_main.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] += ca[l] * cb[l];
        }
    }
    let tail: f32 = a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// The row-fused loop on plain slices: the kernel itself, shared by the flex implementation and
/// the benches' hand-loop baseline. `row_max` receives each row's max |w| after the update.
#[allow(clippy::too_many_arguments)]
pub fn update_rows(
    w: &mut [f32],
    coefficients: CoefficientRows,
    pre: &[f32],
    post: &[f32],
    row_max: &mut [f32],
    out: usize,
    inp: usize,
) {
    let rows_per_task = (SYNAPSES_PER_TASK / inp).max(1);
    let chunk = rows_per_task * inp;
    w.par_chunks_mut(chunk)
        .zip(row_max.par_chunks_mut(rows_per_task))
        .enumerate()
        .for_each(|(task, (w_chunk, max_chunk))| {
            let rows = [task * rows_per_task, out, inp];
            update_task(coefficients, pre, post, rows, w_chunk, max_chunk)
        });
}

/// One task of [`update_rows`] (`[first_row, out, in]`), per SIMD level like [`synapse_task`].
#[multiversion::multiversion(targets = "simd")]
fn update_task(
    coefficients: CoefficientRows,
    pre: &[f32],
    post: &[f32],
    [first_row, out, inp]: [usize; 3],
    w_chunk: &mut [f32],
    max_chunk: &mut [f32],
) {
    for (r, (w_row, max)) in w_chunk.chunks_exact_mut(inp).zip(max_chunk).enumerate() {
        let row = first_row + r;
        let agent = row / out;
        let pre_row = &pre[agent * inp..(agent + 1) * inp];
        *max = coefficients.update_row(row, w_row, pre_row, post[row], 1.0);
    }
}

/// Divides each agent's `[out, in]` block by its max |w| (from the per-row maxima).
pub fn normalize_rows(w: &mut [f32], row_max: &[f32], out: usize, inp: usize) {
    w.par_chunks_mut(out * inp)
        .zip(row_max.par_chunks(out))
        .for_each(|(agent_w, maxes)| {
            let m = maxes.iter().copied().fold(0.0f32, f32::max);
            if m > 0.0 {
                agent_w.iter_mut().for_each(|v| *v /= m);
            }
        });
}

#[cfg(feature = "flex")]
mod flex_impl {
    use super::*;
    use burn::backend::Flex;

    use crate::kernel::flex::{FlexTensor, dense, slice};

    /// The layer's outputs and next per-agent scale: the reference divides each matrix by its
    /// max |w| after the update; that division is kept as the agent's scale for the next step
    /// (an all-zero matrix stays).
    #[allow(clippy::too_many_arguments)]
    fn finish_step(
        w: FlexTensor,
        post: Vec<f32>,
        row_max: &[f32],
        scale: &[f32],
        p: usize,
        out: usize,
        update: bool,
        normalize: bool,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let new_scale: Vec<f32> = if !update {
            scale.to_vec()
        } else if normalize {
            row_max
                .chunks(out)
                .map(|r| {
                    let m = r.iter().copied().fold(0.0f32, f32::max);
                    if m > 0.0 { 1.0 / m } else { 1.0 }
                })
                .collect()
        } else {
            vec![1.0; p]
        };
        let post = FlexTensor::from_data(burn::tensor::TensorData::new(post, [p, out]));
        let scale = FlexTensor::from_data(burn::tensor::TensorData::new(new_scale, [p]));
        (w, post, scale)
    }

    /// One single-pass layer step on flex tensors: `rows_fn(rows, w, post, row_max)` runs the
    /// rule's row loop (one of the `forward_update_rows*`).
    fn layer_step(
        w: FlexTensor,
        pre: FlexTensor,
        scale: FlexTensor,
        [tanh, update, normalize]: [bool; 3],
        rows_fn: impl FnOnce(&RowPass, &mut [f32], &mut [f32], &mut [f32]),
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let dims = w.layout().shape().clone();
        let (p, out, inp) = (dims[0], dims[1], dims[2]);
        let mut w = dense(w);
        let (pre, scale) = (dense(pre), dense(scale));
        let mut post = vec![0.0f32; p * out];
        let mut row_max = vec![0.0f32; p * out];
        let rows = RowPass {
            pre: slice(&pre),
            scale: slice(&scale),
            out,
            inp,
            tanh,
            update,
        };
        rows_fn(&rows, w.storage_mut::<f32>(), &mut post, &mut row_max);
        finish_step(w, post, &row_max, slice(&scale), p, out, update, normalize)
    }

    /// The four coefficient tensors as the kernel reads them, by their stored dtype.
    fn coefficient_rows(t: [&FlexTensor; 4]) -> CoefficientRows<'_> {
        use burn::tensor::DType;
        match t[0].dtype() {
            DType::BF16 => CoefficientRows::Bf16(t.map(|t| t.as_slice().expect("dense bf16"))),
            DType::F16 => CoefficientRows::F16(t.map(|t| t.as_slice().expect("dense f16"))),
            _ => CoefficientRows::F32(t.map(slice)),
        }
    }

    impl FusedHebbianBackend for Flex {
        fn fused_hebbian_update(
            w: FlexTensor,
            a: FlexTensor,
            b: FlexTensor,
            c: FlexTensor,
            d: FlexTensor,
            pre: FlexTensor,
            post: FlexTensor,
            normalize: bool,
        ) -> FlexTensor {
            let dims = w.layout().shape().clone();
            let (out, inp) = (dims[1], dims[2]);
            let mut w = dense(w);
            let (a, b, c, d) = (dense(a), dense(b), dense(c), dense(d));
            let (pre, post) = (dense(pre), dense(post));
            let mut row_max = vec![0.0f32; post.layout().num_elements()];
            let ws = w.storage_mut::<f32>();
            update_rows(
                ws,
                coefficient_rows([&a, &b, &c, &d]),
                slice(&pre),
                slice(&post),
                &mut row_max,
                out,
                inp,
            );
            if normalize {
                normalize_rows(ws, &row_max, out, inp);
            }
            w
        }

        fn fused_forward_update(
            w: FlexTensor,
            a: FlexTensor,
            b: FlexTensor,
            c: FlexTensor,
            d: FlexTensor,
            pre: FlexTensor,
            scale: FlexTensor,
            tanh: bool,
            update: bool,
            normalize: bool,
        ) -> (FlexTensor, FlexTensor, FlexTensor) {
            let (a, b, c, d) = (dense(a), dense(b), dense(c), dense(d));
            let k = coefficient_rows([&a, &b, &c, &d]);
            layer_step(
                w,
                pre,
                scale,
                [tanh, update, normalize],
                |rows, w, post, max| forward_update_rows(rows, k, w, post, max),
            )
        }

        fn fused_forward_update_neuron(
            w: FlexTensor,
            pre_side: FlexTensor,
            post_side: FlexTensor,
            pre: FlexTensor,
            scale: FlexTensor,
            tanh: bool,
            update: bool,
            normalize: bool,
        ) -> (FlexTensor, FlexTensor, FlexTensor) {
            let (pre_side, post_side) = (dense(pre_side), dense(post_side));
            let sides = [slice(&pre_side), slice(&post_side)];
            layer_step(
                w,
                pre,
                scale,
                [tanh, update, normalize],
                |rows, w, post, max| forward_update_rows_neuron(rows, sides, w, post, max),
            )
        }

        fn fused_forward_update_merged(
            w: FlexTensor,
            table: FlexTensor,
            rule_of: &[u32],
            pre: FlexTensor,
            scale: FlexTensor,
            tanh: bool,
            update: bool,
            normalize: bool,
        ) -> (FlexTensor, FlexTensor, FlexTensor) {
            let table = dense(table);
            let rules = (slice(&table), rule_of);
            layer_step(
                w,
                pre,
                scale,
                [tanh, update, normalize],
                |rows, w, post, max| forward_update_rows_merged(rows, rules, w, post, max),
            )
        }

        fn fused_dense(t: FlexTensor) -> FlexTensor {
            dense(t)
        }

        fn fused_batched_matvec(w: FlexTensor, x: FlexTensor) -> FlexTensor {
            let dims = w.layout().shape().clone();
            let (p, out, inp) = (dims[0], dims[1], dims[2]);
            let (w, x) = (dense(w), dense(x));
            let mut y = vec![0.0f32; p * out];
            matvec_rows(slice(&w), slice(&x), &mut y, out, inp);
            FlexTensor::from_data(burn::tensor::TensorData::new(y, [p, out]))
        }
    }
}
