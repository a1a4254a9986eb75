//! Where the Ant touches the ground, on one case of the pybullet suite: per window of env steps,
//! for each body in contact, the steps it touched, its mean contact points and its mean normal
//! force (N); then how far each joint went past its stop. The same table as
//! `tests/data/quadruped/pybullet_contacts.py` prints for real pybullet, so that the two can be
//! read side by side (tests/data/quadruped/README.md, "Where the load goes").
//!
//!     cargo run --release --example ant_contacts -- climb_intact_2 right_damaged 0
//!
//! Arguments: gait name, morphology, start index (of `pybullet_suite.json`, or the suite in
//! `HEBBIAN_PYBULLET_SUITE`). The physics is `PhysicsConfig::default()`, or the keys in
//! `HEBBIAN_ANT_PHYSICS`, as the suite test takes them.

use hebbian::env::quadruped::{Ant, Morphology};

// The suite's file format, gait actions and protocol, and the `HEBBIAN_ANT_PHYSICS` parser, as
// the suite test uses them.
#[path = "../tests/common/ant_physics.rs"]
mod ant_physics;
#[path = "../tests/common/pybullet_suite.rs"]
mod pybullet_suite;
use pybullet_suite::{BURN_IN, SCORED};

const WINDOWS: [(usize, usize); 4] = [(0, 40), (40, 300), (300, 600), (600, 1000)];
const BODIES: [&str; 9] = [
    "torso", "thigh1", "foot1", "thigh2", "foot2", "thigh3", "foot3", "thigh4", "foot4",
];

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [gait, morph, start] = args.as_slice() else {
        return Err("usage: ant_contacts GAIT MORPHOLOGY START".into());
    };
    let suite = pybullet_suite::load();
    let gait = suite
        .gaits
        .iter()
        .find(|g| g.name == *gait)
        .ok_or_else(|| format!("the suite has no gait `{gait}`"))?;
    let q0 = start
        .parse::<usize>()
        .ok()
        .and_then(|i| suite.starts.get(i))
        .ok_or_else(|| {
            format!(
                "START: `{start}` is not one of the suite's {} starts",
                suite.starts.len()
            )
        })?;
    let morphology = Morphology::builtin(morph).map_err(|e| e.to_string())?;
    let ranges = morphology.joints().map(|h| h.range);
    let mut ant = Ant::with_config(&morphology, ant_physics::physics());
    ant.reset_with_joints(q0);

    // Per window and body: steps in contact, contact points, Σ normal force.
    let mut load = [[(0usize, 0usize, 0.0f64); 9]; WINDOWS.len()];
    let mut at_rest = Vec::new();
    let mut past = [0.0f32; 8];
    let mut progress = 0.0f64;
    for k in 0..BURN_IN + SCORED {
        let action = if k < BURN_IN {
            [0.0; 8]
        } else {
            gait.action(k - BURN_IN)
        };
        let step = ant.step(&action);
        let window = WINDOWS.iter().position(|(lo, hi)| (*lo..*hi).contains(&k));
        let window = window.expect("the windows cover every step");
        let contacts = ant.ground_contacts();
        for (body, c) in contacts.iter().enumerate() {
            if c.points > 0 {
                let cell = &mut load[window][body];
                cell.0 += 1;
                cell.1 += c.points;
                cell.2 += f64::from(c.normal_force);
            }
        }
        if k + 1 == BURN_IN {
            at_rest = (0..9)
                .filter(|b| contacts[*b].points > 0)
                .map(|b| format!("{}:{:.1}", BODIES[b], contacts[b].normal_force))
                .collect();
        }
        if k >= BURN_IN {
            progress += f64::from(step.progress);
            let q = ant.joint_state().q;
            for j in 0..8 {
                past[j] = past[j].max((ranges[j][0] - q[j]).max(q[j] - ranges[j][1]));
            }
        }
    }
    println!(
        "{} / {morph} / start {start}: Σ progress {progress:.1}",
        gait.name
    );
    println!(
        "at rest (last burn-in step), normal force N: {}",
        at_rest.join(" ")
    );
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
