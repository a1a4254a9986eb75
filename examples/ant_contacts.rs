//! Where the Ant touches the ground, on one case of the pybullet suite: per window of env steps,
//! for each body in contact, the steps it touched, its mean contact points and its mean normal
//! force (N); then how far each joint went past its stop. The same table as
//! `tests/data/quadruped/pybullet_contacts.py` prints for real pybullet, so that the two can be
//! read side by side (tests/data/quadruped/README.md, "Where the load goes").
//!
//!     cargo run --release --example ant_contacts -- climb_intact_2 right_damaged 0
//!
//! Arguments: gait name, morphology, start index (of `pybullet_suite.json`). The physics is
//! `PhysicsConfig::default()`, or the keys in `HEBBIAN_ANT_PHYSICS` (as the suite test takes them).

use hebbian::env::quadruped::{Ant, Morphology, PhysicsConfig};

const SUITE: &str = "tests/data/quadruped/pybullet_suite.json";
const BURN_IN: usize = 40;
const STEPS: usize = 1000;
const WINDOWS: [(usize, usize); 4] = [(0, 40), (40, 300), (300, 600), (600, 1000)];
const BODIES: [&str; 9] = [
    "torso", "thigh1", "foot1", "thigh2", "foot2", "thigh3", "foot3", "thigh4", "foot4",
];

fn numbers(v: &serde_json::Value) -> Result<Vec<f64>, String> {
    v.as_array()
        .ok_or("not a list")?
        .iter()
        .map(|x| x.as_f64().ok_or_else(|| format!("{x} is not a number")))
        .collect()
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [gait, morph, start] = args.as_slice() else {
        return Err("usage: ant_contacts GAIT MORPHOLOGY START".into());
    };
    let start: usize = start
        .parse()
        .map_err(|_| format!("START: `{start}` is not an index"))?;
    let text = std::fs::read_to_string(SUITE).map_err(|e| format!("{SUITE}: {e}"))?;
    let suite: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{SUITE}: {e}"))?;
    let g = suite["gaits"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["name"] == gait.as_str()))
        .ok_or_else(|| format!("{SUITE}: no gait `{gait}`"))?;
    let field = |k: &str| numbers(&g[k]).map_err(|e| format!("gait `{gait}`, `{k}`: {e}"));
    let (a, phi, b) = (field("a")?, field("phi")?, field("b")?);
    let f = g["f"].as_f64().ok_or("gait `f` is not a number")?;
    let q0: [f32; 8] = numbers(&suite["starts"][start])
        .map_err(|e| format!("start {start}: {e}"))?
        .iter()
        .map(|x| *x as f32)
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| format!("start {start}: not 8 joint angles"))?;
    let physics: PhysicsConfig = match std::env::var("HEBBIAN_ANT_PHYSICS") {
        Ok(t) => toml::from_str(&t.replace(',', "\n"))
            .map_err(|e| format!("HEBBIAN_ANT_PHYSICS: {e}"))?,
        Err(_) => PhysicsConfig::default(),
    };
    let morphology = Morphology::builtin(morph).map_err(|e| e.to_string())?;
    let ranges = morphology.joints().map(|h| h.range);
    let mut ant = Ant::with_config(&morphology, physics);
    ant.reset_with_joints(&q0);

    // Per window and body: steps in contact, contact points, Σ normal force.
    let mut load = [[(0usize, 0usize, 0.0f64); 9]; WINDOWS.len()];
    let mut past = [0.0f32; 8];
    let mut progress = 0.0f64;
    let w = 2.0 * std::f64::consts::PI * f * 0.0165;
    for k in 0..STEPS {
        let action: [f32; 8] = if k < BURN_IN {
            [0.0; 8]
        } else {
            let t = (k - BURN_IN) as f64;
            std::array::from_fn(|j| (b[j] + a[j] * (w * t + phi[j]).sin()).clamp(-1.0, 1.0) as f32)
        };
        let step = ant.step(&action);
        let window = WINDOWS.iter().position(|(lo, hi)| (*lo..*hi).contains(&k));
        let window = window.expect("the windows cover every step");
        for (body, c) in ant.ground_contacts().iter().enumerate() {
            if c.points > 0 {
                let cell = &mut load[window][body];
                cell.0 += 1;
                cell.1 += c.points;
                cell.2 += f64::from(c.normal_force);
            }
        }
        if k >= BURN_IN {
            progress += f64::from(step.progress);
            let q = ant.joint_state().q;
            for j in 0..8 {
                past[j] = past[j].max((ranges[j][0] - q[j]).max(q[j] - ranges[j][1]));
            }
        }
    }
    println!("{gait} / {morph} / start {start}: Σ progress {progress:.1}");
    println!("window: body (steps in contact, mean points, mean normal force N per step)");
    for ((lo, hi), cells) in WINDOWS.iter().zip(&load) {
        let bodies: Vec<String> = cells
            .iter()
            .enumerate()
            .filter(|(_, c)| c.0 > 0)
            .map(|(i, (n, p, f))| {
                let (n, p) = (*n as f64, *p as f64);
                format!(
                    "{}:({n}, {:.2}, {:.1})",
                    BODIES[i],
                    p / n,
                    f / (hi - lo) as f64
                )
            })
            .collect();
        println!("{lo}-{hi}: {}", bodies.join(" "));
    }
    println!("largest distance past each stop (rad, scored steps, action order): {past:.2?}");
    Ok(())
}
