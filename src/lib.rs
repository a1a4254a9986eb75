//! Evolving synapse-specific Hebbian learning rules (Najarro & Risi, NeurIPS 2020) on burn.
//!
//! A population of P random networks, each synapse following its own evolved rule
//! `dw = eta*(A*pre*post + B*pre + C*post + D)`, computed as burn tensors so one call advances
//! all P agents; an evolution strategy searches the coefficients.

pub mod architecture;
pub mod config;
pub mod controller;
pub mod conv;
pub mod device;
pub mod env;
pub mod es;
pub mod eval;
pub mod experiment;
pub mod files;
pub mod genome;
pub mod limits;
pub mod metrics;
pub mod plastic;
pub mod protocol;
pub mod render;
pub mod rollout;
pub mod rule;
pub mod run_lock;
pub mod static_net;
pub mod task;
pub mod train;

pub use device::device_from_name;
pub use rule::Rule;
