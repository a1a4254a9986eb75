//! Software renderer reproducing gym 0.17's pyglet frames (spec §6): the 1000x800 window
//! projection squeezed into a W x H viewport, last-polygon-wins at pixel centres, no AA.

use super::car::{Car, HULL_POLYS, WHEEL_HALF, rot};
use super::glyphs::{NEG_CELL_COLS, NEG_GLYPHS, glyph};
use super::tiles::{Tiles, Vec2};
use super::track::PLAYFIELD;

/// Window size of gym's projection.
pub const WINDOW_W: f64 = 1000.0;
pub const WINDOW_H: f64 = 800.0;
/// ZOOM·SCALE: window px per world unit once the intro zoom is over.
pub const FULL_ZOOM: f64 = 2.7 * 6.0;

pub const PLAYFIELD_RGB: [u8; 3] = [102, 204, 102];
pub const GRASS_RGB: [u8; 3] = [102, 230, 102];
pub const HULL_RGB: [u8; 3] = [204, 0, 0];
pub const WHEEL_RGB: [u8; 3] = [0, 0, 0];
pub const TREAD_RGB: [u8; 3] = [76, 76, 76];
const WHITE: [u8; 3] = [255, 255, 255];

/// Affine world → pixel map (pixel (c, r) has its centre at (c, r)).
#[derive(Clone, Copy, Debug)]
pub struct View {
    ax: f64,
    bx: f64,
    cx: f64,
    ay: f64,
    by: f64,
    cy: f64,
}

impl View {
    /// gym's camera: centre `s`, rotation `phi`, `zoom` window px per unit, window → W x H.
    pub fn new(s: Vec2, phi: f64, zoom: f64, w: usize, h: usize) -> Self {
        let (sn, cs) = phi.sin_cos();
        let kx = w as f64 / WINDOW_W;
        let ky = h as f64 / WINDOW_H;
        // xw = 500 + zoom(cs·dx − sn·dy); yw = 200 + zoom(sn·dx + cs·dy)
        let ax = kx * zoom * cs;
        let bx = -kx * zoom * sn;
        let cx = kx * 500.0 - 0.5 - ax * s[0] - bx * s[1];
        let ay = -ky * zoom * sn;
        let by = -ky * zoom * cs;
        let cy = h as f64 - 0.5 - ky * 200.0 - ay * s[0] - by * s[1];
        Self {
            ax,
            bx,
            cx,
            ay,
            by,
            cy,
        }
    }

    #[inline]
    pub fn apply(&self, p: Vec2) -> Vec2 {
        [
            self.ax * p[0] + self.bx * p[1] + self.cx,
            self.ay * p[0] + self.by * p[1] + self.cy,
        ]
    }

    /// Inverse map (pixel → world), used to cull the grass squares.
    fn inverse(&self, q: Vec2) -> Vec2 {
        let det = self.ax * self.by - self.bx * self.ay;
        let (x, y) = (q[0] - self.cx, q[1] - self.cy);
        [
            (self.by * x - self.bx * y) / det,
            (-self.ay * x + self.ax * y) / det,
        ]
    }
}

/// An RGB buffer being drawn into; `rows` limits world drawing (the HUD covers the rest).
pub struct Canvas<'a> {
    pub buf: &'a mut [u8],
    pub w: usize,
    pub h: usize,
}

impl Canvas<'_> {
    /// Fills the convex polygon `pts` (pixel coords) on rows `< row_lim`: pixel centres with
    /// xl ≤ c < xr on rows ymin < r ≤ ymax after 1/256-pixel snapping (matches gym's Mesa
    /// frames to ~0.002 % of pixels).
    pub fn fill_convex(&mut self, pts: &[Vec2], rgb: [u8; 3], row_lim: usize) {
        // 16-pixel pattern so spans are written with wide copies instead of 3-byte stores.
        let mut pat = [0u8; 48];
        for px in pat.chunks_exact_mut(3) {
            px.copy_from_slice(&rgb);
        }
        self.fill_convex_with(pts, row_lim, |span| {
            for chunk in span.chunks_mut(48) {
                chunk.copy_from_slice(&pat[..chunk.len()]);
            }
        });
    }

    /// Same coverage as `fill_convex`, blending white over the pixel with `alpha`/255.
    pub fn blend_white(&mut self, pts: &[Vec2], alpha: u8) {
        if alpha == 0 {
            return;
        }
        let a = alpha as u32;
        let h = self.h;
        self.fill_convex_with(pts, h, |span| {
            for v in span.iter_mut() {
                let bg = *v as u32;
                *v = ((bg * (255 - a) + 255 * a + 127) / 255) as u8;
            }
        });
    }

    /// Blends white with coverage `alpha`/255 over one pixel (the 96x96 score glyphs).
    #[inline]
    pub fn blend_white_px(&mut self, r: usize, c: usize, alpha: u8) {
        if alpha == 0 || r >= self.h || c >= self.w {
            return;
        }
        let a = alpha as u32;
        let i = (r * self.w + c) * 3;
        for v in &mut self.buf[i..i + 3] {
            *v = ((*v as u32 * (255 - a) + 255 * a + 127) / 255) as u8;
        }
    }

    /// Calls `f` once per covered row span (RGB bytes of pixels c0..c1).
    fn fill_convex_with(&mut self, pts: &[Vec2], row_lim: usize, mut f: impl FnMut(&mut [u8])) {
        // Snap vertices to the 1/256-pixel grid like Mesa's rasteriser (8 subpixel bits), so
        // pixel-centre ties resolve as in gym's frames.
        let mut q = [[0.0f64; 2]; 8];
        let n = pts.len().min(8);
        for (d, p) in q.iter_mut().zip(pts) {
            *d = [
                (p[0] * 256.0).round() / 256.0,
                (p[1] * 256.0).round() / 256.0,
            ];
        }
        let pts = &q[..n];
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in pts {
            x0 = x0.min(p[0]);
            x1 = x1.max(p[0]);
            y0 = y0.min(p[1]);
            y1 = y1.max(p[1]);
        }
        let lim_r = row_lim.min(self.h) as f64;
        if !(x1 >= 0.0 && x0 < self.w as f64 && y1 >= 0.0 && y0 < lim_r) {
            return;
        }
        // Rows ymin < r ≤ ymax (a centre on the upper edge, in image rows, is outside).
        let (r0, r1) = ((y0.floor() + 1.0).max(0.0), (y1.floor() + 1.0).min(lim_r));
        let (r0, r1) = (r0 as usize, r1 as usize);
        let wmax = self.w as f64;
        // Non-horizontal edges as (y_low, y_high, x at y_low, dx/dy), computed once.
        let mut edges = [[0.0f64; 4]; 8];
        let mut ne = 0;
        for i in 0..n {
            let a = pts[i];
            let b = pts[if i + 1 == n { 0 } else { i + 1 }];
            if a[1] == b[1] {
                continue;
            }
            let (lo, hi) = if a[1] < b[1] { (a, b) } else { (b, a) };
            edges[ne] = [lo[1], hi[1], lo[0], (hi[0] - lo[0]) / (hi[1] - lo[1])];
            ne += 1;
        }
        let edges = &edges[..ne];
        for r in r0..r1 {
            let y = r as f64;
            let mut xl = f64::MAX;
            let mut xr = f64::MIN;
            for e in edges {
                if e[0] < y && y <= e[1] {
                    let x = e[2] + (y - e[0]) * e[3];
                    xl = xl.min(x);
                    xr = xr.max(x);
                }
            }
            if xr < xl {
                continue;
            }
            // Columns xl ≤ c < xr.
            let (c0, c1) = (xl.ceil().max(0.0), xr.ceil().min(wmax));
            if c1 <= c0 {
                continue;
            }
            let (c0, c1) = (c0 as usize, c1 as usize);
            f(&mut self.buf[(r * self.w + c0) * 3..(r * self.w + c1) * 3]);
        }
    }
}

/// Everything the renderer reads from the environment.
pub struct Scene<'a> {
    pub tiles: &'a Tiles,
    pub car: &'a Car,
    /// Sim clock after the step (drives the intro zoom).
    pub t: f64,
    /// Running total reward (score label).
    pub reward: f64,
}

/// gym's camera for the current car state: (centre, rotation, zoom).
pub fn camera(car: &Car, t: f64) -> (Vec2, f64, f64) {
    let zoom = 0.1 * 6.0 * (1.0 - t).max(0.0) + FULL_ZOOM * t.min(1.0);
    let mut phi = -car.angle;
    if car.speed() > 0.5 {
        phi = car.vel[0].atan2(car.vel[1]);
    }
    (car.position(), phi, zoom)
}

#[inline]
fn map4(view: &View, q: &[Vec2; 4]) -> [Vec2; 4] {
    [
        view.apply(q[0]),
        view.apply(q[1]),
        view.apply(q[2]),
        view.apply(q[3]),
    ]
}

/// Window coords → pixel coords for the untransformed HUD.
#[inline]
fn win(w: usize, h: usize, x: f64, y: f64) -> Vec2 {
    [
        x * w as f64 / WINDOW_W - 0.5,
        h as f64 - 0.5 - y * h as f64 / WINDOW_H,
    ]
}

fn win_rect(w: usize, h: usize, x0: f64, x1: f64, y0: f64, y1: f64) -> [Vec2; 4] {
    [
        win(w, h, x0, y0),
        win(w, h, x1, y0),
        win(w, h, x1, y1),
        win(w, h, x0, y1),
    ]
}

/// Renders the scene into `buf` (W·H·3, HWC RGB). Allocation-free.
pub fn render(scene: &Scene, buf: &mut [u8], w: usize, h: usize) {
    assert_eq!(buf.len(), w * h * 3, "render buffer size");
    buf.fill(0);
    let (s, phi, zoom) = camera(scene.car, scene.t);
    let view = View::new(s, phi, zoom, w, h);
    // First pixel row whose centre lies in the HUD strip (window y ≤ 100).
    let hud_row = ((h as f64 - 0.5 - 100.0 * h as f64 / WINDOW_H).ceil()).max(0.0) as usize;
    let mut cv = Canvas { buf, w, h };

    let pf = PLAYFIELD;
    let field = [[-pf, pf], [pf, pf], [pf, -pf], [-pf, -pf]];
    cv.fill_convex(&map4(&view, &field), PLAYFIELD_RGB, hud_row);

    // Grass squares: only those intersecting the world AABB of the visible area.
    let corners = [
        view.inverse([-0.5, -0.5]),
        view.inverse([w as f64, -0.5]),
        view.inverse([w as f64, hud_row as f64]),
        view.inverse([-0.5, hud_row as f64]),
    ];
    let (mut wx0, mut wx1, mut wy0, mut wy1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for c in corners {
        wx0 = wx0.min(c[0]);
        wx1 = wx1.max(c[0]);
        wy0 = wy0.min(c[1]);
        wy1 = wy1.max(c[1]);
    }
    let k = PLAYFIELD / 20.0;
    for i in (-20..20).step_by(2) {
        let x = k * i as f64;
        if x > wx1 || x + k < wx0 {
            continue;
        }
        for j in (-20..20).step_by(2) {
            let y = k * j as f64;
            if y > wy1 || y + k < wy0 {
                continue;
            }
            let sq = [[x + k, y], [x, y], [x, y + k], [x + k, y + k]];
            cv.fill_convex(&map4(&view, &sq), GRASS_RGB, hud_row);
        }
    }

    // Road tiles, each followed by its kerb.
    let margin = 20.0;
    let tiles = scene.tiles;
    for (i, q) in tiles.quads.iter().enumerate() {
        let p = q[0];
        if p[0] < wx0 - margin || p[0] > wx1 + margin || p[1] < wy0 - margin || p[1] > wy1 + margin
        {
            continue;
        }
        let g = tiles.grey[i];
        cv.fill_convex(&map4(&view, q), [g, g, g], hud_row);
        for kerb in &tiles.kerbs[tiles.kerb_of[i] as usize..tiles.kerb_of[i + 1] as usize] {
            cv.fill_convex(&map4(&view, &kerb.quad), kerb.rgb, hud_row);
        }
    }

    // Car: each wheel box then its tread stripe, then the hull polygons.
    let car = scene.car;
    let origin = car.position();
    for (i, wheel) in car.wheels.iter().enumerate() {
        let (c, th) = car.wheel_pose(i);
        let local = |x: f64, y: f64| {
            let r = rot(th, [x, y]);
            view.apply([c[0] + r[0], c[1] + r[1]])
        };
        let (hx, hy) = (WHEEL_HALF[0], WHEEL_HALF[1]);
        let bx = [
            local(-hx, hy),
            local(hx, hy),
            local(hx, -hy),
            local(-hx, -hy),
        ];
        cv.fill_convex(&bx, WHEEL_RGB, hud_row);
        let a1 = wheel.phase;
        let a2 = wheel.phase + 1.2;
        let (s1, mut c1) = a1.sin_cos();
        let (s2, mut c2) = a2.sin_cos();
        if s1 > 0.0 && s2 > 0.0 {
            continue;
        }
        if s1 > 0.0 {
            c1 = sgn(c1);
        }
        if s2 > 0.0 {
            c2 = sgn(c2);
        }
        let tread = [
            local(-hx, hy * c1),
            local(hx, hy * c1),
            local(hx, hy * c2),
            local(-hx, hy * c2),
        ];
        cv.fill_convex(&tread, TREAD_RGB, hud_row);
    }
    for poly in HULL_POLYS {
        let mut pts = [[0.0; 2]; 8];
        for (d, v) in pts.iter_mut().zip(poly.iter()) {
            let r = rot(car.angle, *v);
            *d = view.apply([origin[0] + r[0], origin[1] + r[1]]);
        }
        cv.fill_convex(&pts[..poly.len()], HULL_RGB, hud_row);
    }

    draw_indicators(&mut cv, car, scene.reward);
}

fn sgn(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// gym `render_indicators`: black strip, bars and the score label.
fn draw_indicators(cv: &mut Canvas, car: &Car, reward: f64) {
    let (w, h) = (cv.w, cv.h);
    let s = WINDOW_W / 40.0;
    let hh = WINDOW_H / 40.0;
    let all = h; // the HUD may draw on every row
    cv.fill_convex(
        &win_rect(w, h, 0.0, WINDOW_W, 0.0, 5.0 * hh),
        [0, 0, 0],
        all,
    );
    let vertical = |cv: &mut Canvas, place: f64, val: f64, rgb: [u8; 3]| {
        let r = win_rect(w, h, place * s, (place + 1.0) * s, hh, hh + hh * val);
        cv.fill_convex(&r, rgb, all);
    };
    vertical(cv, 5.0, 0.02 * car.speed(), WHITE);
    vertical(cv, 7.0, 0.01 * car.wheels[0].omega, [0, 0, 255]);
    vertical(cv, 8.0, 0.01 * car.wheels[1].omega, [0, 0, 255]);
    vertical(cv, 9.0, 0.01 * car.wheels[2].omega, [51, 0, 255]);
    vertical(cv, 10.0, 0.01 * car.wheels[3].omega, [51, 0, 255]);
    let horiz = |cv: &mut Canvas, place: f64, val: f64, rgb: [u8; 3]| {
        let r = win_rect(w, h, place * s, (place + val) * s, 2.0 * hh, 4.0 * hh);
        cv.fill_convex(&r, rgb, all);
    };
    horiz(cv, 20.0, -10.0 * car.wheels[0].joint, [0, 255, 0]);
    horiz(cv, 30.0, -0.8 * car.ang_vel, [255, 0, 0]);
    draw_score(cv, reward);
}

/// The `"%04i" % reward` label as captured glyph coverages (cells at state cols 2,5,8,11,
/// rows 88–92), drawn as window-space rectangles so larger renders scale it (with a crisp
/// 3x5 font there instead of the 96x96 captures).
fn draw_score(cv: &mut Canvas, reward: f64) {
    let (w, h) = (cv.w, cv.h);
    let v = if reward.is_finite() {
        reward.trunc().clamp(-999.0, 9999.0) as i32
    } else {
        0
    };
    // Characters of "%04i": '-' then 3 digits when negative, else 4 digits.
    let mut chars = [0u8; 4];
    if v < 0 {
        chars[0] = b'-';
        let a = (-v) as u32;
        chars[1] = b'0' + (a / 100 % 10) as u8;
        chars[2] = b'0' + (a / 10 % 10) as u8;
        chars[3] = b'0' + (a % 10) as u8;
    } else {
        let a = v as u32;
        chars[0] = b'0' + (a / 1000 % 10) as u8;
        chars[1] = b'0' + (a / 100 % 10) as u8;
        chars[2] = b'0' + (a / 10 % 10) as u8;
        chars[3] = b'0' + (a % 10) as u8;
    }
    if w == 96 && h == 96 {
        // The captured glyphs are per state pixel: blend them in directly.
        if v < 0 {
            let a = (-v) as usize;
            for (pos, d) in [a / 100 % 10, a / 10 % 10, a % 10].into_iter().enumerate() {
                for (row, cols) in NEG_GLYPHS[pos][d].iter().enumerate() {
                    for (col, &alpha) in cols.iter().enumerate() {
                        cv.blend_white_px(88 + row, NEG_CELL_COLS[pos] + col, alpha);
                    }
                }
            }
        } else {
            for (pos, &ch) in chars.iter().enumerate() {
                for (row, cols) in glyph(ch, pos, true).iter().enumerate() {
                    for (col, &alpha) in cols.iter().enumerate() {
                        cv.blend_white_px(88 + row, 2 + 3 * pos + col, alpha);
                    }
                }
            }
        }
        return;
    }
    // Larger renders: a crisp 3x5 font on the same window-space cells, narrowed to 70 % so
    // that digits stay apart.
    let px_w = WINDOW_W / 96.0;
    let px_h = WINDOW_H / 96.0;
    let (inset, col_w) = (0.45 * px_w, 0.7 * px_w);
    for (pos, &ch) in chars.iter().enumerate() {
        let g = glyph(ch, pos, false);
        let cell_x = (2 + 3 * pos) as f64 * px_w + inset;
        for (row, cols) in g.iter().enumerate() {
            let y0 = (95 - (88 + row)) as f64 * px_h;
            for (col, &alpha) in cols.iter().enumerate() {
                let x0 = cell_x + col as f64 * col_w;
                cv.blend_white(&win_rect(w, h, x0, x0 + col_w, y0, y0 + px_h), alpha);
            }
        }
    }
}
