//! GIF writing, gym-seeded replays and action CSV parsing (library side of the CLI).

use super::{CarRacing, STATE_H, STATE_W};
use anyhow::{Context, bail};
use image::RgbImage;
use std::fs::File;
use std::io::{BufWriter, Write};
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
) -> anyhow::Result<ReplaySummary> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("creating directory {}", out_dir.display()))?;
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
    let track_path = out_dir.join("track.json");
    std::fs::write(&track_path, serde_json::to_string_pretty(&track_json)?)
        .with_context(|| format!("writing {}", track_path.display()))?;
    save_frame(&env, out_dir, 0)?;

    let csv_path = out_dir.join("rewards.csv");
    let mut csv = BufWriter::new(
        File::create(&csv_path).with_context(|| format!("creating {}", csv_path.display()))?,
    );
    writeln!(csv, "step,reward,done")?;
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
        writeln!(csv, "{},{},{}", i + 1, o.reward, o.done)?;
        save_frame(&env, out_dir, i + 1)?;
        if o.done {
            summary.done = true;
            break;
        }
    }
    csv.flush()
        .with_context(|| format!("writing {}", csv_path.display()))?;
    summary.tiles_visited = env.tiles_visited();
    Ok(summary)
}

fn save_frame(env: &CarRacing, dir: &Path, index: usize) -> anyhow::Result<()> {
    let img = RgbImage::from_raw(STATE_W as u32, STATE_H as u32, env.frame().to_vec())
        .expect("frame is 96x96x3");
    let path = dir.join(format!("frame_{index:05}.png"));
    img.save(&path)
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads `steer,gas,brake` rows. Blank lines and `#` comments are skipped, and a first line
/// that is not numeric is taken as a header. Errors name the file and the 1-based line.
pub fn read_actions_csv(path: &Path) -> anyhow::Result<Vec<[f32; 3]>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    let mut seen_row = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let parsed: Vec<Option<f32>> = fields.iter().map(|f| f.parse::<f32>().ok()).collect();
        if !seen_row && parsed.iter().all(Option::is_none) {
            seen_row = true;
            continue; // header
        }
        seen_row = true;
        if fields.len() != 3 {
            bail!(
                "{}:{}: expected 3 comma-separated values (steer,gas,brake), found {}: {:?}",
                path.display(),
                n + 1,
                fields.len(),
                line
            );
        }
        let mut a = [0f32; 3];
        for (k, (v, f)) in parsed.iter().zip(&fields).enumerate() {
            a[k] = v.with_context(|| {
                format!(
                    "{}:{}: column {} is not a number: {:?}",
                    path.display(),
                    n + 1,
                    k + 1,
                    f
                )
            })?;
        }
        out.push(a);
    }
    Ok(out)
}
