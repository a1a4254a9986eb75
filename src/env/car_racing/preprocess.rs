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

/// Output rows (`y`) computed together: the transposed layout makes a block of consecutive `y`
/// contiguous in `out`, so each block is written as short vectors instead of one float per
/// 336-byte stride (84 = 7 blocks).
const Y_BLOCK: usize = 12;

/// 96x96x3 HWC u8 frame → `[3][84][84]` f32 in [0, 1], reference layout `[c][x][y]`.
///
/// Separable and exact in integers: per block of output rows, the vertical blends of
/// two source rows (weights in eighths) are kept transposed (`[source column][row in block]`),
/// then each output column `x` blends two of those columns for all rows of the block at once
/// (blocks of 12 rows).
/// The exact area average is rounded half to even to u8 before /255, as OpenCV does for a uint8
/// image (checked equal to `cv2.resize` on 1.27 M values; the spec's round-half-up is off by one
/// on ~0.3 %); `q as f32 / 255` equals the reference's f64 division rounded to f32 for every
/// u8 `q` (tested). Allocation-free.
pub fn preprocess(frame: &[u8], out: &mut [f32]) {
    assert_eq!(frame.len(), STATE_W * STATE_H * 3, "frame must be 96x96x3");
    assert_eq!(out.len(), 3 * OBS_SIZE * OBS_SIZE, "out must hold 3x84x84");
    const ROW: usize = STATE_W * 3;
    let plane = OBS_SIZE * OBS_SIZE;
    let mut blend = [[0u16; Y_BLOCK]; ROW];
    for (block, wys) in WEIGHTS.chunks_exact(Y_BLOCK).enumerate() {
        for (j, wy) in wys.iter().enumerate() {
            let (ka, kb) = (wy[0].1 as u16, wy[1].1 as u16);
            let a = &frame[wy[0].0 as usize * ROW..][..ROW];
            let b = &frame[wy[1].0 as usize * ROW..][..ROW];
            for ((t, &pa), &pb) in blend.iter_mut().zip(a).zip(b) {
                t[j] = ka * pa as u16 + kb * pb as u16;
            }
        }
        let y0 = block * Y_BLOCK;
        for (x, wx) in WEIGHTS.iter().enumerate() {
            let (ia, ja) = (wx[0].0 as usize * 3, wx[0].1 as u16);
            let (ib, jb) = (wx[1].0 as usize * 3, wx[1].1 as u16);
            for c in 0..3 {
                let (ta, tb) = (&blend[ia + c], &blend[ib + c]);
                let dst = &mut out[c * plane + x * OBS_SIZE + y0..][..Y_BLOCK];
                for ((d, &va), &vb) in dst.iter_mut().zip(ta).zip(tb) {
                    // ≤ 64 · 255 = 16,320: 16-bit lanes suffice.
                    let v = ja * va + jb * vb;
                    // v/64 rounded half to even (OpenCV's saturate_cast → cvRound).
                    let (q, r) = (v >> 6, v & 63);
                    let q = q + ((r > 32) | ((r == 32) & (q & 1 == 1))) as u16;
                    *d = q as f32 / 255.0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// The reference's `/255`: float64 division, then float32.
    #[test]
    fn f32_division_equals_the_references_f64_division_for_every_u8() {
        for q in 0u32..256 {
            assert_eq!(q as f32 / 255.0, (q as f64 / 255.0) as f32, "q = {q}");
        }
    }

    /// The straightforward per-pixel area average (two taps per axis, weights in eighths).
    fn per_pixel(frame: &[u8]) -> Vec<f32> {
        let mut out = vec![0.0; 3 * OBS_SIZE * OBS_SIZE];
        for (y, wy) in WEIGHTS.iter().enumerate() {
            for (x, wx) in WEIGHTS.iter().enumerate() {
                for c in 0..3 {
                    let mut v = 0u32;
                    for &(sy, ky) in wy {
                        for &(sx, kx) in wx {
                            let p = frame[(sy as usize * STATE_W + sx as usize) * 3 + c];
                            v += ky as u32 * kx as u32 * p as u32;
                        }
                    }
                    let (q, r) = (v / 64, v % 64);
                    let q = if r > 32 || (r == 32 && q % 2 == 1) {
                        q + 1
                    } else {
                        q
                    };
                    out[c * OBS_SIZE * OBS_SIZE + x * OBS_SIZE + y] = (q as f64 / 255.0) as f32;
                }
            }
        }
        out
    }

    #[test]
    fn blocked_pass_equals_the_per_pixel_average() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut out = vec![0.0; 3 * OBS_SIZE * OBS_SIZE];
        for trial in 0..6 {
            // Uniform noise, then coarse levels (ties at r = 32 are common on flat colours).
            let frame: Vec<u8> = (0..STATE_W * STATE_H * 3)
                .map(|_| match trial % 2 {
                    0 => rng.random::<u8>(),
                    _ => rng.random_range(0u8..4) * 85,
                })
                .collect();
            preprocess(&frame, &mut out);
            assert_eq!(out, per_pixel(&frame), "trial {trial}");
        }
    }
}
