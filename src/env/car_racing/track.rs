//! Track generation, a line-by-line port of gym 0.17 `CarRacing._create_track` (spec §3).

use super::seeding::GymRng;
use std::f64::consts::PI;

/// Box2D units per source unit (gym's SCALE).
pub const SCALE: f64 = 6.0;
/// Radius scale of the checkpoint ring.
pub const TRACK_RAD: f64 = 900.0 / SCALE;
/// Half side of the square outside which the episode ends with -100.
pub const PLAYFIELD: f64 = 2000.0 / SCALE;
/// Distance between consecutive track points.
pub const TRACK_DETAIL_STEP: f64 = 21.0 / SCALE;
/// Maximum heading change per track point.
pub const TRACK_TURN_RATE: f64 = 0.31;
/// Half width of the road.
pub const TRACK_WIDTH: f64 = 40.0 / SCALE;
/// Width of the red/white kerb.
pub const BORDER: f64 = 8.0 / SCALE;
/// Consecutive sharp points needed for a kerb.
pub const BORDER_MIN_COUNT: usize = 4;
const CHECKPOINTS: usize = 12;

/// One centre-line point: polar angle, road heading (lateral axis = (cos β, sin β)), position.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct TrackPoint {
    pub alpha: f64,
    pub beta: f64,
    pub x: f64,
    pub y: f64,
}

/// A closed lap plus the kerb flags used for drawing.
#[derive(Clone, Debug, Default)]
pub struct Track {
    pub points: Vec<TrackPoint>,
    pub border: Vec<bool>,
}

/// Python's `seq[i]` for `i` possibly negative.
fn wrap(i: isize, n: usize) -> usize {
    i.rem_euclid(n as isize) as usize
}

fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl Track {
    /// Retry `try_create` until one attempt succeeds, consuming `rng` exactly as gym does.
    pub fn generate(rng: &mut GymRng) -> Self {
        loop {
            if let Some(track) = Self::try_create(rng) {
                return track;
            }
        }
    }

    /// One attempt of gym's `_create_track`; `None` where gym returns False.
    pub fn try_create(rng: &mut GymRng) -> Option<Self> {
        let mut checkpoints = [(0.0f64, 0.0f64, 0.0f64); CHECKPOINTS];
        let start_alpha = 2.0 * PI * (-0.5) / CHECKPOINTS as f64;
        for (c, cp) in checkpoints.iter_mut().enumerate() {
            let noise = rng.uniform(0.0, 2.0 * PI / CHECKPOINTS as f64);
            let mut alpha = 2.0 * PI * c as f64 / CHECKPOINTS as f64 + noise;
            let mut rad = rng.uniform(TRACK_RAD / 3.0, TRACK_RAD);
            if c == 0 {
                alpha = 0.0;
                rad = 1.5 * TRACK_RAD;
            }
            if c == CHECKPOINTS - 1 {
                alpha = 2.0 * PI * c as f64 / CHECKPOINTS as f64;
                rad = 1.5 * TRACK_RAD;
            }
            *cp = (alpha, rad * alpha.cos(), rad * alpha.sin());
        }

        let (mut x, mut y, mut beta) = (1.5 * TRACK_RAD, 0.0f64, 0.0f64);
        let mut dest_i = 0usize;
        let mut laps = 0;
        let mut track: Vec<TrackPoint> = Vec::with_capacity(2500);
        let mut no_freeze = 2500;
        let mut visited_other_side = false;
        loop {
            let mut alpha = y.atan2(x);
            if visited_other_side && alpha > 0.0 {
                laps += 1;
                visited_other_side = false;
            }
            if alpha < 0.0 {
                visited_other_side = true;
                alpha += 2.0 * PI;
            }
            let (dest_x, dest_y);
            loop {
                let mut failed = true;
                let mut found = (0.0, 0.0);
                loop {
                    let (dest_alpha, dx, dy) = checkpoints[dest_i % CHECKPOINTS];
                    if alpha <= dest_alpha {
                        failed = false;
                        found = (dx, dy);
                        break;
                    }
                    dest_i += 1;
                    if dest_i.is_multiple_of(CHECKPOINTS) {
                        break;
                    }
                }
                if !failed {
                    (dest_x, dest_y) = found;
                    break;
                }
                alpha -= 2.0 * PI;
            }
            let r1x = beta.cos();
            let r1y = beta.sin();
            let p1x = -r1y;
            let p1y = r1x;
            let mut proj = r1x * (dest_x - x) + r1y * (dest_y - y);
            while beta - alpha > 1.5 * PI {
                beta -= 2.0 * PI;
            }
            while beta - alpha < -1.5 * PI {
                beta += 2.0 * PI;
            }
            let prev_beta = beta;
            proj *= SCALE;
            if proj > 0.3 {
                beta -= TRACK_TURN_RATE.min((0.001 * proj).abs());
            }
            if proj < -0.3 {
                beta += TRACK_TURN_RATE.min((0.001 * proj).abs());
            }
            x += p1x * TRACK_DETAIL_STEP;
            y += p1y * TRACK_DETAIL_STEP;
            track.push(TrackPoint {
                alpha,
                beta: prev_beta * 0.5 + beta * 0.5,
                x,
                y,
            });
            if laps > 4 {
                break;
            }
            no_freeze -= 1;
            if no_freeze == 0 {
                break;
            }
        }

        // Closed loop i1..i2: scanning backwards, the first start crossing is i2, the second i1.
        let (mut i1, mut i2) = (None, None);
        let mut i = track.len();
        loop {
            i -= 1;
            if i == 0 {
                return None;
            }
            let pass = track[i].alpha > start_alpha && track[i - 1].alpha <= start_alpha;
            if pass && i2.is_none() {
                i2 = Some(i);
            } else if pass && i1.is_none() {
                i1 = Some(i);
                break;
            }
        }
        let (i1, i2) = (i1?, i2?);
        let points: Vec<TrackPoint> = track[i1..i2 - 1].to_vec();
        let n = points.len();
        if n < 2 {
            return None;
        }

        let first_beta = points[0].beta;
        let dx = first_beta.cos() * (points[0].x - points[n - 1].x);
        let dy = first_beta.sin() * (points[0].y - points[n - 1].y);
        if (dx * dx + dy * dy).sqrt() > TRACK_DETAIL_STEP {
            return None;
        }

        let mut border = vec![false; n];
        for (i, b) in border.iter_mut().enumerate() {
            let mut good = true;
            let mut oneside = 0.0;
            for neg in 0..BORDER_MIN_COUNT as isize {
                let beta1 = points[wrap(i as isize - neg, n)].beta;
                let beta2 = points[wrap(i as isize - neg - 1, n)].beta;
                good &= (beta1 - beta2).abs() > TRACK_TURN_RATE * 0.2;
                oneside += sign(beta1 - beta2);
            }
            good &= oneside.abs() == BORDER_MIN_COUNT as f64;
            *b = good;
        }
        for i in 0..n {
            for neg in 0..BORDER_MIN_COUNT as isize {
                let j = wrap(i as isize - neg, n);
                border[j] |= border[i];
            }
        }
        Some(Self { points, border })
    }

    /// Number of tiles (= track points).
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True for the (never produced) empty track.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}
