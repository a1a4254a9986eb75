//! The one place that decides which implementation runs the batched plastic step and the conv
//! front end: the fused CPU kernels (burn backend extensions on flex) or portable tensor ops.
//! A `PlasticNetwork` or `ConvFrontEnd` asks once, when it is built, and keeps the answer; the
//! flex helpers every fused kernel shares live here too.

use burn::tensor::Device;

/// Which implementation of the Hebbian step (and the conv front end) to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateKernel {
    /// The fused kernels where the device supports them (flex, or a GPU for the per-synapse
    /// layer step; no autodiff), tensor ops elsewhere.
    #[default]
    Auto,
    /// Always the portable tensor-op expressions.
    TensorOps,
    /// The fused kernels (CPU, or the CubeCL step on a GPU); falls back to tensor ops on
    /// devices they do not support.
    Fused,
}

impl UpdateKernel {
    /// Whether this choice runs the fused kernels on `device`.
    pub fn fused_on(self, device: &Device) -> bool {
        self != UpdateKernel::TensorOps && supported(device)
    }

    /// Whether this choice runs the CubeCL layer step on `device` (a GPU backend, no autodiff).
    pub fn cube_on(self, device: &Device) -> bool {
        #[cfg(feature = "wgpu")]
        {
            self != UpdateKernel::TensorOps && crate::plastic::cube::supported(device)
        }
        #[cfg(not(feature = "wgpu"))]
        {
            let _ = device;
            false
        }
    }
}

/// Whether the fused kernels can run on this device (flex without autodiff).
pub fn supported(device: &Device) -> bool {
    crate::device::is_flex(device) && !device.is_autodiff()
}

/// Raw access to flex tensors for the fused kernels.
#[cfg(feature = "flex")]
pub(crate) mod flex {
    use burn::backend::Flex;
    use burn::backend::tensor::FloatTensor;

    pub(crate) type FlexTensor = FloatTensor<Flex>;

    /// A contiguous tensor whose storage is exactly its elements (no offset, no view).
    pub(crate) fn dense(t: FlexTensor) -> FlexTensor {
        let n = t.layout().num_elements();
        if t.layout().contiguous_offsets() == Some((0, n))
            && t.bytes().len() == n * t.dtype().size()
        {
            t
        } else {
            t.to_contiguous()
        }
    }

    /// The elements of a dense f32 tensor.
    pub(crate) fn slice(t: &FlexTensor) -> &[f32] {
        t.as_slice::<f32>().expect("dense f32 tensor")
    }
}
