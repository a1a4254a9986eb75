//! The pybullet calibration suite of `tests/data/quadruped/` (written by `pybullet_suite.py`):
//! its file format, its gaits' actions and its protocol constants, shared by the suite test and
//! `examples/ant_contacts.rs` so that both replay a case exactly as the script ran it.
// Each user reads only part of the suite.
#![allow(dead_code)]

use std::path::Path;

use serde::Deserialize;

pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/quadruped");
/// Zero-action steps before a gait starts.
pub const BURN_IN: usize = 40;
/// Scored gait steps.
pub const SCORED: usize = 960;
/// Env step length (s), in the gait's phase.
pub const DT: f64 = 0.0165;

#[derive(Deserialize)]
pub struct Suite {
    pub pybullet: String,
    pub starts: Vec<[f32; 8]>,
    pub gaits: Vec<Gait>,
    pub results: Vec<Case>,
    pub traces: Vec<String>,
}

#[derive(Deserialize, Clone)]
pub struct Gait {
    pub name: String,
    pub kind: String,
    pub a: [f64; 8],
    pub phi: [f64; 8],
    pub b: [f64; 8],
    pub f: f64,
}

#[derive(Deserialize)]
pub struct Case {
    pub gait: String,
    pub morphology: String,
    pub progress: Vec<f64>,
    pub mean: f64,
    pub min_z: Vec<f64>,
    pub final_xy_yaw: Vec<[f64; 3]>,
}

impl Gait {
    /// Action at scored step `t`, exactly as the Python script computes it (f64, then f32).
    pub fn action(&self, t: usize) -> [f32; 8] {
        let w = 2.0 * std::f64::consts::PI * self.f * DT;
        std::array::from_fn(|j| {
            (self.b[j] + self.a[j] * (w * t as f64 + self.phi[j]).sin()).clamp(-1.0, 1.0) as f32
        })
    }
}

/// One suite file.
pub fn read_suite(path: &Path) -> Suite {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The committed suite, or the one in `HEBBIAN_PYBULLET_SUITE`, with the gaits of
/// `HEBBIAN_EXTRA_GAITS` added.
pub fn load() -> Suite {
    let path = std::env::var("HEBBIAN_PYBULLET_SUITE")
        .map_or_else(|_| Path::new(DATA).join("pybullet_suite.json"), Into::into);
    let mut suite = read_suite(&path);
    if let Ok(extra) = std::env::var("HEBBIAN_EXTRA_GAITS") {
        let text = std::fs::read_to_string(&extra).expect("HEBBIAN_EXTRA_GAITS: unreadable");
        let gaits: Vec<Gait> =
            serde_json::from_str(&text).expect("HEBBIAN_EXTRA_GAITS: not a JSON list of gaits");
        suite.gaits.extend(gaits);
    }
    suite
}
