//! How the evolved coefficients are held during an episode: f32, or a 16-bit float that cuts
//! the Hebbian step's memory traffic from 24 to 16 bytes per synapse. Arithmetic stays f32
//! (each coefficient is widened as it is read); only the stored values are rounded, once per
//! episode, and the genome, the ES and the model files stay f32.

use burn::tensor::{FloatDType, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Storage precision of the folded coefficients (`network.coefficient_precision`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoefficientPrecision {
    /// 32-bit floats, exact (the default).
    #[default]
    F32,
    /// bfloat16: f32's range, 8 significant bits (relative rounding ≤ 2⁻⁹ ≈ 0.2 %). Widening
    /// is a shift, so the fused kernel stays vectorised.
    Bf16,
    /// IEEE half: 11 significant bits (≤ 2⁻¹² ≈ 0.02 %), but magnitudes below 6.1e-5 lose
    /// precision and above 65504 become infinite.
    F16,
}

impl CoefficientPrecision {
    /// Bytes per stored coefficient.
    pub fn bytes(self) -> usize {
        match self {
            CoefficientPrecision::F32 => 4,
            CoefficientPrecision::Bf16 | CoefficientPrecision::F16 => 2,
        }
    }

    /// Rounds one value as the stored coefficient will be seen by the kernel.
    pub fn round(self, x: f32) -> f32 {
        match self {
            CoefficientPrecision::F32 => x,
            CoefficientPrecision::Bf16 => half::bf16::from_f32(x).to_f32(),
            CoefficientPrecision::F16 => half::f16::from_f32(x).to_f32(),
        }
    }

    /// The coefficient tensor as the kernel will hold it. `narrow`: keep it in 16 bits (the
    /// fused flex kernel reads those); otherwise round on the host and keep f32, so that every
    /// backend and kernel computes with the same numbers.
    pub fn store(self, t: Tensor<3>, narrow: bool) -> Tensor<3> {
        match self {
            CoefficientPrecision::F32 => t,
            CoefficientPrecision::Bf16 if narrow => t.cast(FloatDType::BF16),
            CoefficientPrecision::F16 if narrow => t.cast(FloatDType::F16),
            _ => {
                let device = t.device();
                let shape = t.dims();
                let values: Vec<f32> = t
                    .into_data()
                    .try_into_vec::<f32>()
                    .expect("coefficients are f32")
                    .into_iter()
                    .map(|x| self.round(x))
                    .collect();
                Tensor::from_data(TensorData::new(values, shape), &device)
            }
        }
    }
}

impl std::str::FromStr for CoefficientPrecision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(CoefficientPrecision::F32),
            "bf16" => Ok(CoefficientPrecision::Bf16),
            "f16" => Ok(CoefficientPrecision::F16),
            _ => Err(format!(
                "unknown coefficient precision `{s}`; expected f32, bf16 or f16"
            )),
        }
    }
}

impl std::fmt::Display for CoefficientPrecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CoefficientPrecision::F32 => "f32",
            CoefficientPrecision::Bf16 => "bf16",
            CoefficientPrecision::F16 => "f16",
        })
    }
}
