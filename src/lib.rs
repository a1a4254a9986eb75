//! Evolving synapse-specific Hebbian learning rules (Najarro & Risi, NeurIPS 2020) on burn.
//!
//! A population of P random networks, each synapse following its own evolved rule
//! `dw = eta*(A*pre*post + B*pre + C*post + D)`, computed as burn tensors so one call advances
//! all P agents; an evolution strategy searches the coefficients.

pub mod architecture;
#[cfg(feature = "full")]
pub mod cluster;
#[cfg(feature = "full")]
pub mod config;
pub mod controller;
pub mod conv;
pub mod device;
#[cfg(feature = "full")]
pub mod env;
pub mod es;
#[cfg(feature = "full")]
pub mod eval;
#[cfg(feature = "full")]
pub mod experiment;
pub mod files;
pub mod genome;
#[cfg(feature = "full")]
pub mod held_out;
pub mod kernel;
pub mod limits;
#[cfg(feature = "full")]
pub mod merge;
#[cfg(feature = "full")]
pub mod metrics;
pub mod plastic;
#[cfg(feature = "full")]
pub mod protocol;
#[cfg(feature = "full")]
pub mod render;
#[cfg(feature = "full")]
pub mod rollout;
pub mod rule;
#[cfg(feature = "full")]
pub mod run_lock;
pub mod seeds;
pub mod static_net;
#[cfg(feature = "full")]
pub mod task;
#[cfg(feature = "full")]
pub mod train;

pub use device::device_from_name;
pub use rule::Rule;
