//! The Ant physics a quadruped test runs on: the defaults, or the settings in
//! `HEBBIAN_ANT_PHYSICS` (keys of `PhysicsConfig` as TOML, comma-separated, e.g.
//! `"limit_erp = 0.5, pgs_iterations = 4"`), so that a candidate setting can be re-run on the
//! pybullet suite and on the calibration regressions without editing them.

use hebbian::env::quadruped::PhysicsConfig;

pub fn physics() -> PhysicsConfig {
    static PHYSICS: std::sync::OnceLock<PhysicsConfig> = std::sync::OnceLock::new();
    *PHYSICS.get_or_init(|| match std::env::var("HEBBIAN_ANT_PHYSICS") {
        Err(_) => PhysicsConfig::default(),
        Ok(text) => {
            let cfg: PhysicsConfig = toml::from_str(&text.replace(',', "\n"))
                .unwrap_or_else(|e| panic!("HEBBIAN_ANT_PHYSICS: {e}"));
            if let Err((key, why)) = cfg.validate() {
                panic!("HEBBIAN_ANT_PHYSICS: `{key}` {why}");
            }
            eprintln!("HEBBIAN_ANT_PHYSICS: {cfg:?}");
            cfg
        }
    })
}
