//! GIF writing, gym-seeded replays and action CSV parsing (library side of the CLI).

use super::{CarRacing, STATE_H, STATE_W};
use crate::env::MediaError;
use std::fmt::Write;
use std::path::Path;

/// What `replay` did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ReplaySummary {
    /// Action steps executed (stops early at `done`).
    pub steps: usize,
    /// Sum of step rewards (the episode score).
    pub total_reward: f64,
    pub done: bool,
    pub tile_count: usize,
    pub tiles_visited: usize,
}

#[derive(serde::Serialize)]
struct TrackJson<'a> {
    gym_seed: u64,
    tile_count: usize,
    /// [alpha, beta, x, y] per track point, as gym's `env.track`.
    track: Vec<[f64; 4]>,
    borders: &'a [bool],
}

/// Replays `actions` on gym seed `gym_seed`'s track, writing `rewards.csv` (step,reward,done),
/// `track.json` and the 96x96 observations `frame_00000.png` (after reset) … into `out_dir`.
pub fn replay(
    gym_seed: u64,
    actions: &[[f32; 3]],
    out_dir: &Path,
) -> Result<ReplaySummary, MediaError> {
    crate::env::create_dir(out_dir)?;
    let mut env = CarRacing::new();
    env.reset(gym_seed);
    let track_json = TrackJson {
        gym_seed,
        tile_count: env.tile_count(),
        track: env
            .track()
            .iter()
            .map(|p| [p.alpha, p.beta, p.x, p.y])
            .collect(),
        borders: env.track_borders(),
    };
    crate::files::atomic_write(
        &out_dir.join("track.json"),
        serde_json::to_string_pretty(&track_json)
            .expect("numbers and strings serialise")
            .as_bytes(),
    )?;
    save_frame(&env, out_dir, 0)?;

    // Every file is written whole (temporary file, rename): a failed replay never leaves a
    // truncated file behind.
    let mut csv = String::from("step,reward,done\n");
    let mut summary = ReplaySummary {
        steps: 0,
        total_reward: 0.0,
        done: false,
        tile_count: env.tile_count(),
        tiles_visited: 0,
    };
    for (i, a) in actions.iter().enumerate() {
        let o = env.step(*a);
        summary.steps = i + 1;
        summary.total_reward += o.reward as f64;
        writeln!(csv, "{},{},{}", i + 1, o.reward, o.done).expect("writing to a String");
        save_frame(&env, out_dir, i + 1)?;
        if o.done {
            summary.done = true;
            break;
        }
    }
    crate::files::atomic_write(&out_dir.join("rewards.csv"), csv.as_bytes())?;
    summary.tiles_visited = env.tiles_visited();
    Ok(summary)
}

fn save_frame(env: &CarRacing, dir: &Path, index: usize) -> Result<(), MediaError> {
    let path = dir.join(format!("frame_{index:05}.png"));
    crate::files::write_png_rgb(&path, env.frame(), STATE_W as u32, STATE_H as u32)?;
    Ok(())
}

/// Reads `steer,gas,brake` rows (see [`crate::env::action_csv`]: blank lines, `#` comments and
/// a header row are skipped; every value must be a finite number).
pub fn read_actions_csv(path: &Path) -> Result<Vec<[f32; 3]>, MediaError> {
    Ok(crate::env::action_csv::read_action_rows(
        path,
        ["steer", "gas", "brake"],
    )?)
}
