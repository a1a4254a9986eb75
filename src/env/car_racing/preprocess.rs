//! The paper's observation pipeline (HebbianMetaLearning `fitness_functions.py`):
//! `cv2.resize(obs, (84, 84), INTER_AREA)` → `/255` → `np.swapaxes(obs, 0, 2)`.
//!
//! Layout choice: we follow the reference exactly, so `out` is `[3][84][84]` indexed
//! **`[channel][x][y]`** (the transposed image, `out[c*84*84 + x*84 + y]`), which keeps
//! reference-trained conv weights meaningful. For a network evolved from scratch the
//! transpose is functionally equivalent to plain CHW.

use super::{STATE_H, STATE_W};

/// Side of the preprocessed image.
pub const OBS_SIZE: usize = 84;

/// Per output index: up to two (source index, weight in 1/8ths) pairs of the 96→84 area map.
///
/// Output i covers source span [8i/7, 8(i+1)/7); in units of 1/7 pixel that is [8i, 8i+8)
/// against source pixel k's [7k, 7k+7), so weights are exact eighths.
const fn area_weights() -> [[(u8, u8); 2]; OBS_SIZE] {
    let mut out = [[(0u8, 0u8); 2]; OBS_SIZE];
    let mut i = 0;
    while i < OBS_SIZE {
        let (lo, hi) = (8 * i, 8 * i + 8);
        let k0 = lo / 7;
        let w0 = {
            let end = if 7 * k0 + 7 < hi { 7 * k0 + 7 } else { hi };
            end - lo
        };
        out[i][0] = (k0 as u8, w0 as u8);
        out[i][1] = ((k0 + 1) as u8, (8 - w0) as u8);
        i += 1;
    }
    out
}

static WEIGHTS: [[(u8, u8); 2]; OBS_SIZE] = area_weights();

/// `v / 255` as the reference computes it (float64 division, then float32).
static UNIT: [f32; 256] = {
    let mut t = [0f32; 256];
    let mut v = 0;
    while v < 256 {
        t[v] = (v as f64 / 255.0) as f32;
        v += 1;
    }
    t
};

/// 96x96x3 HWC u8 frame → `[3][84][84]` f32 in [0, 1], reference layout `[c][x][y]`.
///
/// Separable: per output row a contiguous vertical blend of two source rows (weights in
/// eighths), then the horizontal taps. The exact area average is rounded half to even to u8
/// before /255, as OpenCV does for a uint8 image (checked equal to `cv2.resize` on 1.27 M
/// values; the spec's round-half-up is off by one on ~0.3 %). Allocation-free.
pub fn preprocess(frame: &[u8], out: &mut [f32]) {
    assert_eq!(frame.len(), STATE_W * STATE_H * 3, "frame must be 96x96x3");
    assert_eq!(out.len(), 3 * OBS_SIZE * OBS_SIZE, "out must hold 3x84x84");
    const ROW: usize = STATE_W * 3;
    let plane = OBS_SIZE * OBS_SIZE;
    let (r_out, rest) = out.split_at_mut(plane);
    let (g_out, b_out) = rest.split_at_mut(plane);
    let mut tmp = [0u16; ROW];
    for (y, wy) in WEIGHTS.iter().enumerate() {
        let (ka, kb) = (wy[0].1 as u16, wy[1].1 as u16);
        let a = &frame[wy[0].0 as usize * ROW..][..ROW];
        let b = &frame[wy[1].0 as usize * ROW..][..ROW];
        for ((t, &pa), &pb) in tmp.iter_mut().zip(a).zip(b) {
            *t = ka * pa as u16 + kb * pb as u16;
        }
        for (x, wx) in WEIGHTS.iter().enumerate() {
            let (ia, ja) = (wx[0].0 as usize * 3, wx[0].1 as u32);
            let (ib, jb) = (wx[1].0 as usize * 3, wx[1].1 as u32);
            let px = |c: usize| {
                let v = ja * tmp[ia + c] as u32 + jb * tmp[ib + c] as u32;
                // v/64 rounded half to even (OpenCV's saturate_cast → cvRound).
                let (q, r) = (v >> 6, v & 63);
                UNIT[(q + (r > 32 || (r == 32 && q & 1 == 1)) as u32) as usize]
            };
            let o = x * OBS_SIZE + y;
            r_out[o] = px(0);
            g_out[o] = px(1);
            b_out[o] = px(2);
        }
    }
}
