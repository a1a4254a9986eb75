//! The fused Hebbian layer step as a CubeCL kernel, for the GPU backends (wgpu here; the same
//! code serves every CubeCL runtime burn was built with), plugged into burn through its backend
//! extension for `Cube` and its lazy `Fusion` wrapper.
//!
//! One timestep of one layer in one launch, with the semantics of the CPU kernel
//! (`fused::FusedHebbianBackend::fused_forward_update`): each cube owns one row of one agent;
//! its threads read the row's weights coalesced, reduce `W·pre` in shared memory, apply the
//! activation, then (when `update`) rewrite the row with `w ← scale·w + (a·post + b)·pre +
//! c·post + d` and reduce its max |w|. The per-agent scale of the normalisation is then one
//! max over the row maxima. Per synapse this reads W and the four folded coefficients and
//! writes W: no intermediate `[P, out, in]` tensor exists, where the tensor-op path makes
//! several per step.

use burn::backend::fusion::custom::TensorSpec;
use burn::backend::ops::FloatTensorOps;
use burn::backend::{Backend, backend_extension, tensor::FloatTensor};
use burn::tensor::{Shape, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use cubecl::prelude::{CubeCount, CubeDim};

use crate::rule::FoldedCoefficients;

use super::fused::LayerStep;

/// Threads per cube (one row): a power of two for the tree reductions. Rows of the paper's
/// networks hold 8 to 648 weights; 64 threads keep a cube's reads coalesced without idling most
/// of them on the short rows.
const THREADS: u32 = 64;
/// Cubes per grid row: launches spread the `P·out` rows over a 2-D grid, since a single grid
/// dimension is limited to 65,535 cubes.
const GRID_X: u32 = 32_768;

/// The extension trait: one whole layer step on a CubeCL device.
#[backend_extension(Cube: cfg(feature = "wgpu"), Fusion: cfg(feature = "wgpu"))]
pub trait CubeHebbianBackend: Backend {
    /// `w`, `a`..`d`: `[P, out, in]` (f32); `pre`: `[P, in]`; `scale`: `[P]`. Returns
    /// `(W, post [P, out], scale [P])` as [`super::fused::FusedHebbianBackend`] does.
    #[allow(clippy::too_many_arguments)]
    #[fusion(meta = step_outputs)]
    fn cube_forward_update(
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
}

/// The shapes and types of a step's outputs, which the lazy `Fusion` wrapper needs before the
/// kernel runs: W keeps its own, `post` is `[P, out]`, the scale keeps its own.
#[allow(clippy::too_many_arguments)]
fn step_outputs(
    w: &TensorSpec,
    _a: &TensorSpec,
    _b: &TensorSpec,
    _c: &TensorSpec,
    _d: &TensorSpec,
    _pre: &TensorSpec,
    scale: &TensorSpec,
    _tanh: &bool,
    _update: &bool,
    _normalize: &bool,
) -> (TensorSpec, TensorSpec, TensorSpec) {
    let post = Shape::new([w.shape[0], w.shape[1]]);
    (w.clone(), TensorSpec::new(post, w.dtype), scale.clone())
}

/// Whether this device runs the CubeCL kernel (a CubeCL device, no autodiff).
pub fn supported(device: &burn::tensor::Device) -> bool {
    !device.is_autodiff()
        && matches!(
            device.as_dispatch().clone().inner(),
            burn::backend::DispatchDevice::Cube(_)
        )
}

/// The device's own name (e.g. `NVIDIA H200`, or Mesa's `llvmpipe` for the software Vulkan
/// driver), for benchmark output; `None` for a device that is not a CubeCL one.
pub fn device_name(device: &burn::tensor::Device) -> Option<String> {
    match device.as_dispatch().clone().inner() {
        burn::backend::DispatchDevice::Cube(d) => {
            Some(d.client().properties().identity.name.clone())
        }
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Runs [`CubeHebbianBackend::cube_forward_update`]. The caller checks [`supported`] first.
pub fn forward_update_cube(
    weights: Tensor<3>,
    c: &FoldedCoefficients,
    pre: Tensor<2>,
    scale: Tensor<1>,
    tanh: bool,
    update: bool,
    normalize: bool,
) -> LayerStep {
    use burn::backend::Dispatch;
    let op = <Dispatch as CubeHebbianBackend>::cube_forward_update;
    super::fused::run_layer_step(op, weights, c, pre, scale, [tanh, update, normalize])
}

/// The kernel, apart from burn's `Tensor` (CubeCL's kernel arguments share the name).
mod kernel {
    use cubecl::prelude::*;

    use super::THREADS;

    /// One cube per (agent, row) of `w` `[P, out, in]`; see the module doc.
    #[allow(clippy::too_many_arguments)]
    #[cube(launch)]
    pub(super) fn layer_step_kernel<F: Float>(
        w: &mut Tensor<F>,
        a: &Tensor<F>,
        b: &Tensor<F>,
        c: &Tensor<F>,
        d: &Tensor<F>,
        pre: &Tensor<F>,
        scale: &Tensor<F>,
        post: &mut Tensor<F>,
        row_max: &mut Tensor<F>,
        rows: u32,
        out_features: u32,
        in_features: u32,
        #[comptime] tanh: bool,
        #[comptime] update: bool,
        #[comptime] normalize: bool,
        #[define(F)] _dtype: ElemType,
    ) {
        let row = (CUBE_POS_Y * CUBE_COUNT_X + CUBE_POS_X) as usize;
        if row >= rows as usize {
            terminate!();
        }
        let n = in_features as usize;
        let agent = row / out_features as usize;
        let first = row * n;
        let first_pre = agent * n;
        let threads = CUBE_DIM_X as usize;
        let unit = UNIT_POS_X as usize;
        let s = scale[agent];

        let mut partial = Shared::new_slice(THREADS as usize);
        let mut acc = F::new(0.0);
        let mut i = unit;
        while i < n {
            acc += w[first + i] * pre[first_pre + i];
            i += threads;
        }
        partial[unit] = acc;
        sync_cube();
        let mut stride = threads / 2;
        while stride > 0 {
            if unit < stride {
                partial[unit] = partial[unit] + partial[unit + stride];
            }
            sync_cube();
            stride /= 2;
        }
        let y = s * partial[0];
        let mut p = y;
        if tanh {
            p = F::tanh(y);
        }
        sync_cube();
        if unit == 0 {
            post[row] = p;
        }

        if update {
            let mut m = F::new(0.0);
            let mut i = unit;
            while i < n {
                let k = first + i;
                let x = pre[first_pre + i];
                let v = s * w[k] + (a[k] * p + b[k]) * x + c[k] * p + d[k];
                w[k] = v;
                m = F::max(m, F::abs(v));
                i += threads;
            }
            // The row's max |w| only feeds the normalisation: without it, no reduction.
            if normalize {
                partial[unit] = m;
                sync_cube();
                let mut stride = threads / 2;
                while stride > 0 {
                    if unit < stride {
                        partial[unit] = F::max(partial[unit], partial[unit + stride]);
                    }
                    sync_cube();
                    stride /= 2;
                }
                if unit == 0 {
                    row_max[row] = partial[0];
                }
            }
        }
    }
}

impl CubeHebbianBackend for CubeBackend {
    fn cube_forward_update(
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
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let [p, out, inp] = w.meta.shape().dims::<3>();
        let dtype = w.dtype;
        let [w, a, b, c, d, pre, scale] = [w, a, b, c, d, pre, scale].map(into_contiguous);
        // The kernel rewrites W in place: a buffer another tensor still reads is copied first.
        let w = if w.can_mut() { w } else { w.copy() };
        let (client, device) = (w.client.clone(), w.device.clone());
        let post = empty_device_dtype(client.clone(), device.clone(), Shape::new([p, out]), dtype);
        // Row maxima only where they are used (a one-element placeholder otherwise).
        let max_shape = if update && normalize {
            Shape::new([p, out])
        } else {
            Shape::new([1])
        };
        let row_max = empty_device_dtype(client.clone(), device, max_shape, dtype);
        let rows = (p * out) as u32;
        let grid_x = rows.clamp(1, GRID_X);
        let cube_count = CubeCount::Static(grid_x, rows.div_ceil(grid_x).max(1), 1);
        kernel::layer_step_kernel::launch(
            &client,
            cube_count,
            CubeDim::new_1d(THREADS),
            w.clone().into_tensor_arg(),
            a.into_tensor_arg(),
            b.into_tensor_arg(),
            c.into_tensor_arg(),
            d.into_tensor_arg(),
            pre.into_tensor_arg(),
            scale.clone().into_tensor_arg(),
            post.clone().into_tensor_arg(),
            row_max.clone().into_tensor_arg(),
            rows,
            out as u32,
            inp as u32,
            tanh,
            update,
            update && normalize,
            burn::backend::cubecl::dtype_to_storage_type(dtype),
        );
        let scale = if !update {
            scale
        } else if normalize {
            // 1 / (the agent's max |w|), or 1 where every weight is 0, as the CPU kernel does.
            let m = Self::float_reshape(Self::float_max_dim(row_max, 1), Shape::new([p]));
            let zero =
                Self::float_lower_equal_elem(m.clone(), 0.0.into(), burn::tensor::BoolStore::U32);
            let inverse = Self::float_recip(m);
            let ones = Self::float_ones(Shape::new([p]), &w.device, dtype.into());
            Self::float_mask_where(inverse, zero, ones)
        } else {
            Self::float_ones(Shape::new([p]), &w.device, dtype.into())
        };
        (w, post, scale)
    }
}
