//! Replays an action log and writes per-step observation, reward terms and torso pose as CSV, so a
//! run can be compared line by line with pybullet on the same log.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{ACT_DIM, Ant, Morphology, OBS_DIM};
use crate::env::MediaError;

/// What a replay wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplaySummary {
    /// Steps replayed (stops early only on divergence).
    pub steps: usize,
    /// Σ env reward.
    pub total_reward: f32,
    /// Σ progress (the paper's fitness for the same steps).
    pub total_progress: f32,
    /// Whether the physics diverged.
    pub diverged: bool,
    /// The CSV file.
    pub csv: PathBuf,
}

/// Reads an action log: one step per line, 8 comma-separated numbers in action order
/// (hip_1, ankle_1, …, hip_4, ankle_4); see [`crate::env::action_csv`] for what is skipped and
/// refused.
pub fn read_actions_csv(path: impl AsRef<Path>) -> Result<Vec<[f32; ACT_DIM]>, MediaError> {
    Ok(crate::env::action_csv::read_action_rows(
        path.as_ref(),
        [
            "hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3", "hip_4", "ankle_4",
        ],
    )?)
}

/// Resets an ant of `morphology` with `seed`, applies `actions` one per step and writes
/// `out_dir/replay.csv`: row 0 is the reset state, row t the state after action t. Columns:
/// step, a0..a7, reward, progress, alive, electricity, joints_at_limit, done, diverged,
/// torso x y z, quaternion qx qy qz qw, roll pitch yaw, body_x body_y (target-distance
/// position), o0..o27 (observation after the step).
pub fn replay(
    morphology: &Morphology,
    seed: u64,
    actions: &[[f32; ACT_DIM]],
    out_dir: impl AsRef<Path>,
) -> Result<ReplaySummary, MediaError> {
    let out_dir = out_dir.as_ref();
    crate::env::create_dir(out_dir)?;
    let csv = out_dir.join("replay.csv");
    // Built in memory and written whole (temporary file, rename): a failed replay never
    // leaves a truncated CSV behind.
    let mut w: Vec<u8> = Vec::new();
    let mut header = String::from("step");
    for j in 0..ACT_DIM {
        header.push_str(&format!(",a{j}"));
    }
    header.push_str(",reward,progress,alive,electricity,joints_at_limit,done,diverged");
    header.push_str(",x,y,z,qx,qy,qz,qw,roll,pitch,yaw,body_x,body_y");
    for k in 0..OBS_DIM {
        header.push_str(&format!(",o{k}"));
    }
    writeln!(w, "{header}").expect("writing to memory");

    let mut ant = Ant::new(morphology);
    ant.reset(seed);
    let mut summary = ReplaySummary {
        steps: 0,
        total_reward: 0.0,
        total_progress: 0.0,
        diverged: false,
        csv: csv.clone(),
    };
    let write_row =
        |w: &mut Vec<u8>, ant: &Ant, t: usize, a: &[f32; ACT_DIM], step: Option<super::AntStep>| {
            let terms = ant.last_reward_terms();
            let s = step.unwrap_or_default();
            let mut row = format!("{t}");
            for x in a {
                row.push_str(&format!(",{x}"));
            }
            row.push_str(&format!(
                ",{},{},{},{},{},{},{}",
                s.reward,
                s.progress,
                terms.alive,
                terms.electricity,
                terms.joints_at_limit,
                s.done as u8,
                s.diverged as u8
            ));
            let p = ant.torso_position();
            let q = ant.torso_quaternion();
            let r = ant.torso_rpy();
            let b = ant.body_xy();
            for x in p.iter().chain(&q).chain(&r).chain(&b) {
                row.push_str(&format!(",{x}"));
            }
            for x in ant.observation() {
                row.push_str(&format!(",{x}"));
            }
            writeln!(w, "{row}").expect("writing to memory");
        };
    write_row(&mut w, &ant, 0, &[0.0; ACT_DIM], None);
    for (t, a) in actions.iter().enumerate() {
        let s = ant.step(a);
        summary.steps += 1;
        summary.total_reward += s.reward;
        summary.total_progress += s.progress;
        write_row(&mut w, &ant, t + 1, a, Some(s));
        if s.diverged {
            summary.diverged = true;
            break;
        }
    }
    crate::files::atomic_write(&csv, &w)?;
    Ok(summary)
}
