//! A direct CPU convolution kernel for the frozen front end, plugged into burn as a backend
//! extension (flex only).
//!
//! burn-flex runs a grouped convolution (one group per agent) as thousands of tiny im2col GEMMs,
//! ~1.7 ms per agent-step here. This kernel processes one agent per rayon task, keeps each conv
//! row in L1, pools before the tanh (`pool(tanh(x)) = tanh(pool(x))` exactly, as tanh is
//! monotonic, so 4x fewer tanh), skips outputs that pooling discards, and reads strided inputs
//! from de-interleaved planes so every inner loop is contiguous and vectorises.

use burn::backend::{Backend, backend_extension, tensor::FloatTensor};
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::ConvShape;

/// The extension trait: the whole front end in one op.
#[backend_extension(Flex: cfg(feature = "flex"))]
pub trait FusedConvBackend: Backend {
    /// `input`: `[P, C, H, W]`; `conv1`: `[P*o1, C, k1, k1]`; `conv2`: `[P*o2, o1, k2, k2]`.
    /// Returns `[P, features]`.
    fn fused_conv_front_end(
        input: FloatTensor<Self>,
        conv1: FloatTensor<Self>,
        conv2: FloatTensor<Self>,
        stride2: usize,
    ) -> FloatTensor<Self>;
}

/// Whether the fused kernel can run on this device: the same rule as every flex extension.
pub use crate::kernel::supported;

/// Runs the fused kernel. The caller checks [`supported`] first.
pub fn forward_fused(
    input: Tensor<4>,
    conv1: Tensor<4>,
    conv2: Tensor<4>,
    stride2: usize,
) -> Tensor<2> {
    use burn::backend::Dispatch;
    let out = <Dispatch as FusedConvBackend>::fused_conv_front_end(
        input.into_dispatch(),
        conv1.into_dispatch(),
        conv2.into_dispatch(),
        stride2,
    );
    Tensor::from_dispatch(out)
}

/// The kernel on plain slices: `input` `[P, C, S, S]`, `w1` `[P, o1, C, k1, k1]`,
/// `w2` `[P, o2, o1, k2, k2]` → `out` `[P, features]`.
pub fn forward_slices(shape: &ConvShape, input: &[f32], w1: &[f32], w2: &[f32], out: &mut [f32]) {
    let image = shape.input_channels * shape.input_size * shape.input_size;
    let features = shape.features();
    out.par_chunks_mut(features)
        .zip(input.par_chunks(image))
        .zip(w1.par_chunks(shape.conv1_params()))
        .zip(w2.par_chunks(shape.conv2_params()))
        .for_each(|(((out, image), w1), w2)| agent_forward(shape, image, w1, w2, out));
}

/// One agent: conv1 → pool → tanh → conv2 (stride s) → pool → tanh.
// Compiled for each SIMD level (AVX2+FMA, AVX-512, ...) and picked at run time: the build
// stays portable while the direct convolution uses the widest vectors the CPU has.
#[multiversion::multiversion(targets = "simd")]
fn agent_forward(shape: &ConvShape, image: &[f32], w1: &[f32], w2: &[f32], out: &mut [f32]) {
    let (_, p1, _, p2) = shape.sides();
    let pooled1 = conv_pool_tanh(image, shape.input_size, w1, shape.conv1, 1, p1);
    let s = shape.stride2;
    // De-interleave columns by residue mod s so that the strided reads become contiguous:
    // planes[c][r][y][j] = pooled1[c][y][s*j + r].
    let width = p1.div_ceil(s);
    let mut planes = vec![0.0f32; shape.conv2[1] * s * p1 * width];
    for (c, src) in pooled1.chunks_exact(p1 * p1).enumerate() {
        for (y, row) in src.chunks_exact(p1).enumerate() {
            for r in 0..s {
                let plane = &mut planes[((c * s + r) * p1 + y) * width..][..width];
                for (out, &v) in plane.iter_mut().zip(row.iter().skip(r).step_by(s)) {
                    *out = v;
                }
            }
        }
    }
    let pooled2 = conv_pool_tanh(&planes, p1, w2, shape.conv2, s, p2);
    out.copy_from_slice(&pooled2);
}

/// A valid convolution with stride `s` over `[C, side, side]` (given as residue planes when
/// `s > 1`, see `agent_forward`), then 2x2/2 max pooling and tanh, for the `pooled x pooled`
/// outputs the pooling keeps. Returns `[o, pooled, pooled]`.
/// Pooling before the tanh is exact: tanh is monotonic.
#[inline(always)]
fn conv_pool_tanh(
    input: &[f32],
    side: usize,
    weights: &[f32],
    [out_c, in_c, k, _]: [usize; 4],
    s: usize,
    pooled: usize,
) -> Vec<f32> {
    let geometry = Geometry {
        side,
        in_c,
        k,
        s,
        pooled,
    };
    let mut result = vec![0.0f32; out_c * pooled * pooled];
    match out_c {
        6 => channel_group::<6>(input, &geometry, weights, 0, 6, &mut result),
        8 => channel_group::<8>(input, &geometry, weights, 0, 8, &mut result),
        _ => {
            for first in (0..out_c).step_by(4) {
                let n = 4.min(out_c - first);
                channel_group::<4>(input, &geometry, weights, first, n, &mut result);
            }
        }
    }
    // One branch-free pass vectorises; libm's scalar tanhf was 40 % of the kernel's time.
    result.iter_mut().for_each(|v| *v = tanh(*v));
    result
}

/// tanh as a rational minimax approximation (the form Eigen uses for f32): within 5e-7 of
/// `f32::tanh` everywhere (checked in the tests), and it vectorises.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    if x.is_nan() {
        return x;
    }
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let mut p = ALPHA[6];
    for a in ALPHA[..6].iter().rev() {
        p = p * x2 + a;
    }
    let q = ((BETA[3] * x2 + BETA[2]) * x2 + BETA[1]) * x2 + BETA[0];
    let t = x * p / q;
    // Tiny arguments: tanh(x) = x to f32 precision.
    if x.abs() < 4e-4 { x } else { t }
}

struct Geometry {
    side: usize,
    in_c: usize,
    k: usize,
    s: usize,
    pooled: usize,
}

/// Output pixels computed together: with G channels that is G x BLOCK accumulators, which stay
/// in registers, and every input load feeds G multiply-adds.
const BLOCK: usize = 8;

/// Channels `first..first + n` (n ≤ G; missing ones get zero weights) of `conv_pool_tanh`.
#[inline(always)]
fn channel_group<const G: usize>(
    input: &[f32],
    g: &Geometry,
    weights: &[f32],
    first: usize,
    n: usize,
    result: &mut [f32],
) {
    let taps = g.in_c * g.k * g.k;
    // Tap-major weights: w_t[t][o].
    let w_t: Vec<[f32; G]> = (0..taps)
        .map(|t| {
            std::array::from_fn(|o| {
                if o < n {
                    weights[(first + o) * taps + t]
                } else {
                    0.0
                }
            })
        })
        .collect();
    let width = g.side.div_ceil(g.s);
    // Where each tap reads, relative to the output block's origin, in tap order: computed once
    // here, since a division by the runtime stride per tap cost more than the tap's FMAs.
    let tap_offsets: Vec<usize> = (0..g.in_c)
        .flat_map(|c| (0..g.k).flat_map(move |ky| (0..g.k).map(move |kx| (c, ky, kx))))
        .map(|(c, ky, kx)| ((c * g.s + kx % g.s) * g.side + ky) * width + kx / g.s)
        .collect();
    let cols = 2 * g.pooled;
    // Whole blocks, so that a block's sums are stored as they are (past `cols`: never read).
    let stride = cols.next_multiple_of(BLOCK);
    let avx = avx_available();
    // Two conv rows of every channel, channel-major (`rows[(o·2 + dy)·stride + x]`), then
    // pooled into one output row per channel: contiguous stores, and a pooling loop over
    // contiguous rows instead of a transpose per output.
    let mut rows = vec![0.0f32; G * 2 * stride];
    for py in 0..g.pooled {
        for dy in 0..2 {
            let y = 2 * py + dy;
            for x0 in (0..cols).step_by(BLOCK) {
                let origin = g.s * y * width + x0;
                let acc = block_taps(input, origin, &w_t, &tap_offsets, avx);
                for (o, sums) in acc.iter().enumerate() {
                    rows[(o * 2 + dy) * stride + x0..][..BLOCK].copy_from_slice(sums);
                }
            }
        }
        for o in 0..n {
            let (top, bottom) = rows[o * 2 * stride..][..2 * stride].split_at(stride);
            let out = &mut result[((first + o) * g.pooled + py) * g.pooled..][..g.pooled];
            for (x, m) in out.iter_mut().enumerate() {
                *m = top[2 * x]
                    .max(top[2 * x + 1])
                    .max(bottom[2 * x])
                    .max(bottom[2 * x + 1]);
            }
        }
    }
}

/// One output block's sums over every tap: `acc[o][j] += w_t[t][o] · input[origin + offset_t + j]`
/// in tap order. On x86 with AVX, 8-wide vector registers hold the accumulators (LLVM's own
/// vectorisation of the loop used 4-wide halves and spilled them to the stack, ~4x slower);
/// the multiply and the add stay separate (no FMA), so both paths give the same bits.
#[inline(always)]
fn block_taps<const G: usize>(
    input: &[f32],
    origin: usize,
    w_t: &[[f32; G]],
    offsets: &[usize],
    avx: bool,
) -> [[f32; BLOCK]; G] {
    #[cfg(target_arch = "x86_64")]
    if avx {
        // SAFETY: `avx` is true only where the CPU reports AVX.
        return unsafe { block_taps_avx(input, origin, w_t, offsets) };
    }
    let _ = avx;
    let mut acc = [[0.0f32; BLOCK]; G];
    for (w, &offset) in w_t.iter().zip(offsets) {
        let v = load_block(input, origin + offset);
        for o in 0..G {
            for j in 0..BLOCK {
                acc[o][j] += w[o] * v[j];
            }
        }
    }
    acc
}

/// Whether [`block_taps`] may use its AVX path.
fn avx_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn block_taps_avx<const G: usize>(
    input: &[f32],
    origin: usize,
    w_t: &[[f32; G]],
    offsets: &[usize],
) -> [[f32; BLOCK]; G] {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_setzero_ps(); G];
    for (w, &offset) in w_t.iter().zip(offsets) {
        let start = origin + offset;
        let v = match input.get(start..start + BLOCK) {
            // SAFETY: the slice holds exactly BLOCK = 8 floats.
            Some(block) => unsafe { _mm256_loadu_ps(block.as_ptr()) },
            None => {
                let block = load_block(input, start);
                // SAFETY: as above, from the zero-padded copy.
                unsafe { _mm256_loadu_ps(block.as_ptr()) }
            }
        };
        for o in 0..G {
            acc[o] = _mm256_add_ps(acc[o], _mm256_mul_ps(_mm256_set1_ps(w[o]), v));
        }
    }
    let mut out = [[0.0f32; BLOCK]; G];
    for o in 0..G {
        // SAFETY: each row of `out` holds BLOCK = 8 floats.
        unsafe { _mm256_storeu_ps(out[o].as_mut_ptr(), acc[o]) };
    }
    out
}

/// `BLOCK` inputs from `start`; past the end of the buffer the missing lanes are 0 (their
/// outputs are beyond the row and never stored).
#[inline(always)]
fn load_block(input: &[f32], start: usize) -> [f32; BLOCK] {
    match input.get(start..start + BLOCK) {
        Some(v) => v.try_into().expect("block"),
        None => std::array::from_fn(|j| input.get(start + j).copied().unwrap_or(0.0)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vector_and_scalar_tap_sums_are_bit_identical() {
        // Inputs of mixed magnitude, so that any change in rounding order would show; the last
        // origins run past the end of the buffer (the zero-padded tail).
        let input: Vec<f32> = (0..300)
            .map(|i| ((i * 7919 % 1000) as f32 - 500.0) * 10f32.powi(i % 7 - 3))
            .collect();
        let w_t: Vec<[f32; 6]> = (0..27)
            .map(|t| std::array::from_fn(|o| ((t * 31 + o * 17) % 23) as f32 / 7.0 - 1.5))
            .collect();
        let offsets: Vec<usize> = (0..27).map(|t| (t * 13) % 40).collect();
        for origin in [0, 5, 100, 250, 260] {
            let scalar = super::block_taps(&input, origin, &w_t, &offsets, false);
            let vector = super::block_taps(&input, origin, &w_t, &offsets, super::avx_available());
            for (s, v) in scalar.iter().flatten().zip(vector.iter().flatten()) {
                assert_eq!(s.to_bits(), v.to_bits(), "origin {origin}");
            }
        }
    }

    #[test]
    fn fast_tanh_matches_libm() {
        let mut worst = 0.0f32;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            worst = worst.max((super::tanh(x) - x.tanh()).abs());
        }
        for x in [
            1e-8f32,
            -3e-4,
            5e-4,
            20.0,
            -1e30,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ] {
            worst = worst.max((super::tanh(x) - x.tanh()).abs());
        }
        assert!(worst < 5e-7, "max |error| {worst}");
        assert!(super::tanh(f32::NAN).is_nan());
    }
}

#[cfg(feature = "flex")]
mod flex_impl {
    use super::*;
    use crate::kernel::flex::{FlexTensor, dense, slice};
    use burn::backend::Flex;

    impl FusedConvBackend for Flex {
        fn fused_conv_front_end(
            input: FlexTensor,
            conv1: FlexTensor,
            conv2: FlexTensor,
            stride2: usize,
        ) -> FlexTensor {
            let dims = input.layout().shape().clone();
            let (p, c, side) = (dims[0], dims[1], dims[2]);
            let k1 = conv1.layout().shape().clone();
            let k2 = conv2.layout().shape().clone();
            let shape = ConvShape {
                input_channels: c,
                input_size: side,
                conv1: [k1[0] / p, k1[1], k1[2], k1[3]],
                conv2: [k2[0] / p, k2[1], k2[2], k2[3]],
                stride2,
            };
            let (input, conv1, conv2) = (dense(input), dense(conv1), dense(conv2));
            let mut out = vec![0.0f32; p * shape.features()];
            forward_slices(
                &shape,
                slice(&input),
                slice(&conv1),
                slice(&conv2),
                &mut out,
            );
            FlexTensor::from_data(burn::tensor::TensorData::new(out, [p, shape.features()]))
        }
    }
}
