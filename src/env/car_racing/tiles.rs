//! Road tiles as sensors (spec §3.6, §4): quads, kerbs, colours and a grid for overlap queries.

use super::track::{BORDER, PLAYFIELD, TRACK_WIDTH, Track};

/// A 2-D point/vector in world units.
pub type Vec2 = [f64; 2];

/// Grey level of an untouched tile i (0.4 + 0.01·(i mod 3)), as the v0 renderer writes it.
pub const TILE_GREYS: [u8; 3] = [102, 105, 107];
/// Grey of a tile once any car fixture has touched it (gym resets its colour to ROAD_COLOR).
pub const TOUCHED_GREY: u8 = 102;

/// Grid cell size; tiles are inserted with a margin covering the whole car, so one lookup at
/// the car origin yields every candidate for all 8 fixtures.
const CELL: f64 = 8.0;
const MARGIN: f64 = 3.5;
const GRID_MIN: f64 = -PLAYFIELD - 20.0;
const GRID_N: usize = ((2.0 * (PLAYFIELD + 20.0)) / CELL) as usize + 1;

/// A red or white kerb quad drawn after tile `tile`.
#[derive(Clone, Copy, Debug)]
pub struct Kerb {
    pub tile: usize,
    pub quad: [Vec2; 4],
    pub rgb: [u8; 3],
}

/// All tiles of a track with their mutable sensor state.
#[derive(Clone, Debug, Default)]
pub struct Tiles {
    pub quads: Vec<[Vec2; 4]>,
    /// Bounding circle (centre x, centre y, radius) per tile, to skip most SAT tests.
    pub bounds: Vec<[f64; 3]>,
    pub grey: Vec<u8>,
    pub visited: Vec<bool>,
    /// Kerbs in draw order (each after its tile).
    pub kerbs: Vec<Kerb>,
    /// Per tile: range into `kerbs` (0 or 1 entry).
    pub kerb_of: Vec<u32>,
    cell_start: Vec<u32>,
    cell_items: Vec<u16>,
}

impl Tiles {
    /// Builds quads, colours, kerbs and the grid, reusing this value's allocations.
    pub fn rebuild(&mut self, track: &Track) {
        let n = track.len();
        self.quads.clear();
        self.bounds.clear();
        self.grey.clear();
        self.visited.clear();
        self.kerbs.clear();
        self.kerb_of.clear();
        for i in 0..n {
            let p1 = track.points[i];
            let p2 = track.points[(i + n - 1) % n];
            let n1 = [p1.beta.cos(), p1.beta.sin()];
            let n2 = [p2.beta.cos(), p2.beta.sin()];
            let w = TRACK_WIDTH;
            self.quads.push([
                [p1.x - w * n1[0], p1.y - w * n1[1]],
                [p1.x + w * n1[0], p1.y + w * n1[1]],
                [p2.x + w * n2[0], p2.y + w * n2[1]],
                [p2.x - w * n2[0], p2.y - w * n2[1]],
            ]);
            self.grey.push(TILE_GREYS[i % 3]);
            self.visited.push(false);
            self.kerb_of.push(self.kerbs.len() as u32);
            if track.border[i] {
                let d = p2.beta - p1.beta;
                let side = if d > 0.0 {
                    1.0
                } else if d < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                let (a, b) = (side * w, side * (w + BORDER));
                self.kerbs.push(Kerb {
                    tile: i,
                    quad: [
                        [p1.x + a * n1[0], p1.y + a * n1[1]],
                        [p1.x + b * n1[0], p1.y + b * n1[1]],
                        [p2.x + b * n2[0], p2.y + b * n2[1]],
                        [p2.x + a * n2[0], p2.y + a * n2[1]],
                    ],
                    rgb: if i % 2 == 0 {
                        [255, 255, 255]
                    } else {
                        [255, 0, 0]
                    },
                });
            }
        }
        self.kerb_of.push(self.kerbs.len() as u32);
        for q in &self.quads {
            let cx = (q[0][0] + q[1][0] + q[2][0] + q[3][0]) / 4.0;
            let cy = (q[0][1] + q[1][1] + q[2][1] + q[3][1]) / 4.0;
            let r = q
                .iter()
                .map(|p| (p[0] - cx).hypot(p[1] - cy))
                .fold(0.0, f64::max);
            self.bounds.push([cx, cy, r]);
        }
        self.build_grid();
    }

    fn cell_range(lo: f64, hi: f64) -> (usize, usize) {
        let a = ((lo - GRID_MIN) / CELL)
            .floor()
            .clamp(0.0, (GRID_N - 1) as f64) as usize;
        let b = ((hi - GRID_MIN) / CELL)
            .floor()
            .clamp(0.0, (GRID_N - 1) as f64) as usize;
        (a, b)
    }

    fn tile_cells(q: &[Vec2; 4]) -> ((usize, usize), (usize, usize)) {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in q {
            x0 = x0.min(p[0]);
            x1 = x1.max(p[0]);
            y0 = y0.min(p[1]);
            y1 = y1.max(p[1]);
        }
        (
            Self::cell_range(x0 - MARGIN, x1 + MARGIN),
            Self::cell_range(y0 - MARGIN, y1 + MARGIN),
        )
    }

    fn build_grid(&mut self) {
        let cells = GRID_N * GRID_N;
        self.cell_start.clear();
        self.cell_start.resize(cells + 1, 0);
        for q in &self.quads {
            let ((cx0, cx1), (cy0, cy1)) = Self::tile_cells(q);
            for cy in cy0..=cy1 {
                for cx in cx0..=cx1 {
                    self.cell_start[cy * GRID_N + cx + 1] += 1;
                }
            }
        }
        for c in 0..cells {
            self.cell_start[c + 1] += self.cell_start[c];
        }
        self.cell_items.clear();
        self.cell_items.resize(self.cell_start[cells] as usize, 0);
        let mut fill: Vec<u32> = self.cell_start[..cells].to_vec();
        for (t, q) in self.quads.iter().enumerate() {
            let ((cx0, cx1), (cy0, cy1)) = Self::tile_cells(q);
            for cy in cy0..=cy1 {
                for cx in cx0..=cx1 {
                    let c = cy * GRID_N + cx;
                    self.cell_items[fill[c] as usize] = t as u16;
                    fill[c] += 1;
                }
            }
        }
    }

    /// Tiles that may overlap any car fixture when the car origin is at `p`.
    pub fn candidates(&self, p: Vec2) -> &[u16] {
        &self.cell_items[self.candidate_range(p)]
    }

    /// Index range of `candidates(p)` (lets callers mutate tiles while iterating).
    pub fn candidate_range(&self, p: Vec2) -> std::ops::Range<usize> {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return 0..0;
        }
        let (cx, _) = Self::cell_range(p[0], p[0]);
        let (cy, _) = Self::cell_range(p[1], p[1]);
        let c = cy * GRID_N + cx;
        self.cell_start[c] as usize..self.cell_start[c + 1] as usize
    }

    /// Tile index stored at position `k` of the candidate lists.
    pub fn candidate_at(&self, k: usize) -> usize {
        self.cell_items[k] as usize
    }

    /// Number of tiles.
    pub fn len(&self) -> usize {
        self.quads.len()
    }

    /// True before the first reset.
    pub fn is_empty(&self) -> bool {
        self.quads.is_empty()
    }
}

fn project(poly: &[Vec2], axis: Vec2) -> (f64, f64) {
    let mut lo = f64::MAX;
    let mut hi = f64::MIN;
    for p in poly {
        let d = p[0] * axis[0] + p[1] * axis[1];
        lo = lo.min(d);
        hi = hi.max(d);
    }
    (lo, hi)
}

/// Box2D's polygon skin (`b2_polygonRadius`); two polygons touch within twice this distance.
pub const POLYGON_RADIUS: f64 = 0.01;

fn separated_on_edges_of(a: &[Vec2], b: &[Vec2], margin: f64) -> bool {
    let n = a.len();
    for i in 0..n {
        let p = a[i];
        let q = a[(i + 1) % n];
        let axis = [-(q[1] - p[1]), q[0] - p[0]];
        let gap = margin * axis[0].hypot(axis[1]);
        let (a0, a1) = project(a, axis);
        let (b0, b1) = project(b, axis);
        if a1 + gap < b0 || b1 + gap < a0 {
            return true;
        }
    }
    false
}

/// Separating-axis overlap test of two convex polygons without skin.
pub fn convex_overlap(a: &[Vec2], b: &[Vec2]) -> bool {
    convex_touch(a, b, 0.0)
}

/// Box2D sensor test: convex polygons closer than `margin` (2 × skin) count as touching.
/// The SAT margin squares off the skin's rounded corners, a ≤0.006-unit difference.
pub fn convex_touch(a: &[Vec2], b: &[Vec2], margin: f64) -> bool {
    !separated_on_edges_of(a, b, margin) && !separated_on_edges_of(b, a, margin)
}
