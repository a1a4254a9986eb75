//! The one place that maps a backend name to a burn [`Device`].
//!
//! Library code never names a backend: it receives a `Device` and works on whatever the runtime
//! picked. Which backends exist is decided by our Cargo features (`flex`, `ndarray`, `wgpu`).

use burn::tensor::Device;

/// Backend names accepted by `--device`, with the Cargo feature each needs.
pub const BACKENDS: [(&str, &str); 3] =
    [("flex", "flex"), ("ndarray", "ndarray"), ("wgpu", "wgpu")];

/// Why a device name could not be turned into a device.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    #[error("unknown device `{0}`; expected one of: flex, ndarray, wgpu")]
    Unknown(String),
    #[error(
        "device `{name}` was not compiled in; rebuild with `--features {feature}` (e.g. `cargo run --release --features {feature} -- ...`)"
    )]
    NotCompiled { name: String, feature: String },
    #[error(
        "device `wgpu`: this machine has no GPU adapter (none answered on Vulkan, DX12 or OpenGL); install a driver (without a GPU, Mesa's software Vulkan: `apt-get install mesa-vulkan-drivers`) or use `--device flex`"
    )]
    NoAdapter,
}

/// Returns the device for a backend name (`flex`, `ndarray`, `wgpu`).
pub fn device_from_name(name: &str) -> Result<Device, DeviceError> {
    let feature = BACKENDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .ok_or_else(|| DeviceError::Unknown(name.to_string()))?;
    let not_compiled = || DeviceError::NotCompiled {
        name: name.to_string(),
        feature: feature.to_string(),
    };
    match name {
        "flex" => {
            #[cfg(feature = "flex")]
            return Ok(Device::flex());
            #[allow(unreachable_code)]
            Err(not_compiled())
        }
        "ndarray" => {
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            return Ok(Device::ndarray());
            #[allow(unreachable_code)]
            Err(not_compiled())
        }
        "wgpu" => {
            #[cfg(feature = "wgpu")]
            return if wgpu_adapter_available() {
                Ok(Device::wgpu(Default::default()))
            } else {
                Err(DeviceError::NoAdapter)
            };
            #[allow(unreachable_code)]
            Err(not_compiled())
        }
        _ => Err(not_compiled()),
    }
}

/// Whether wgpu finds an adapter on any API its runtime tries (Vulkan, DX12, OpenGL), asked
/// once per process. Without one, the runtime panics on its own thread at the first tensor
/// (and the caller then with an opaque channel error); asking first turns that into
/// [`DeviceError::NoAdapter`].
#[cfg(feature = "wgpu")]
fn wgpu_adapter_available() -> bool {
    use cubecl::wgpu::wgpu;
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        [
            wgpu::Backend::Vulkan,
            wgpu::Backend::Dx12,
            wgpu::Backend::Gl,
        ]
        .into_iter()
        .any(|backend| {
            let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
                backends: backend.into(),
                ..wgpu::InstanceDescriptor::new_without_display_handle()
            });
            !cubecl::future::block_on(instance.enumerate_adapters(backend.into())).is_empty()
        })
    })
}

/// The device for `name`, or `None` after saying on stderr why `what` is skipped, when the
/// backend is compiled in but this machine has no adapter for it: a GPU test's visible skip.
/// With `HEBBIAN_REQUIRE_ALL=1` (as `.ci/run` sets, having installed a driver) a missing
/// adapter fails instead. Any other error panics.
pub fn device_or_skip(name: &str, what: &str) -> Option<Device> {
    match device_from_name(name) {
        Ok(device) => Some(device),
        Err(DeviceError::NoAdapter) => {
            assert!(
                std::env::var("HEBBIAN_REQUIRE_ALL").as_deref() != Ok("1"),
                "{what}: no `{name}` adapter, and HEBBIAN_REQUIRE_ALL=1"
            );
            eprintln!("skipped {what}: {}", DeviceError::NoAdapter);
            None
        }
        Err(e) => panic!("{what}: {e}"),
    }
}

/// Names of the backends compiled into this build and usable on this machine.
pub fn compiled_backends() -> Vec<&'static str> {
    BACKENDS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| device_from_name(n).is_ok())
        .collect()
}

/// The default CPU device of this build (flex when compiled in, else ndarray).
pub fn default_cpu() -> Device {
    for name in ["flex", "ndarray"] {
        if let Ok(d) = device_from_name(name) {
            return d;
        }
    }
    Device::default()
}

/// Whether this device runs on the host CPU (flex or ndarray), where the fused kernel applies.
pub fn is_flex(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    {
        matches!(
            device.as_dispatch().clone().inner(),
            burn::backend::DispatchDevice::Flex(_)
        )
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}

/// What a device is, for benchmark and log output: the GPU's own name where it has one
/// (`NVIDIA H200`), else the backend (`flex (CPU)`).
pub fn describe(device: &Device) -> String {
    #[cfg(feature = "wgpu")]
    if let Some(name) = crate::plastic::cube::device_name(device) {
        return name;
    }
    if is_cpu(device) {
        let backend = if is_flex(device) { "flex" } else { "ndarray" };
        return format!("{backend} (CPU, {} threads)", rayon::current_num_threads());
    }
    format!("{device:?}")
}

/// Whether this device computes on the host CPU (flex or ndarray, with or without autodiff).
pub fn is_cpu(device: &Device) -> bool {
    match device.as_dispatch().clone().inner() {
        #[cfg(feature = "flex")]
        burn::backend::DispatchDevice::Flex(_) => true,
        #[cfg(feature = "ndarray")]
        burn::backend::DispatchDevice::NdArray(_) => true,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_are_rejected_with_the_list() {
        let err = device_from_name("cuda9").unwrap_err();
        assert!(err.to_string().contains("flex, ndarray, wgpu"));
    }

    #[test]
    fn flex_is_compiled_by_default() {
        assert!(compiled_backends().contains(&"flex"));
        assert!(is_flex(&device_from_name("flex").unwrap()));
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn missing_backend_names_its_feature() {
        let err = device_from_name("wgpu").unwrap_err();
        assert!(err.to_string().contains("--features wgpu"), "{err}");
    }
}
