//! The frozen convolutional front end of the pixel tasks (reference §1.1), batched over P with
//! per-agent (evolved) weights: conv 3→6 3x3 → tanh → maxpool 2 → conv 6→8 5x5/2 → tanh →
//! maxpool 2 → 648 features. On flex a direct fused kernel (`fused`) runs it; elsewhere (GPU,
//! autodiff) per-agent weights become one grouped convolution with P groups.

pub mod fused;

use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Int, Tensor};

/// Shapes of the two conv layers (`[out_c, in_c, k, k]`), their strides and the input size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub input_channels: usize,
    pub input_size: usize,
    pub conv1: [usize; 4],
    pub conv2: [usize; 4],
    pub stride2: usize,
}

impl ConvShape {
    /// The reference CarRacing front end: 3x84x84 → 648.
    pub const CAR_RACING: ConvShape = ConvShape {
        input_channels: 3,
        input_size: 84,
        conv1: [6, 3, 3, 3],
        conv2: [8, 6, 5, 5],
        stride2: 2,
    };

    pub fn conv1_params(&self) -> usize {
        self.conv1.iter().product()
    }

    pub fn conv2_params(&self) -> usize {
        self.conv2.iter().product()
    }

    /// Evolved conv weights per agent (1,362 for CarRacing).
    pub fn params(&self) -> usize {
        self.conv1_params() + self.conv2_params()
    }

    /// Spatial side after each stage, as (conv1, pool1, conv2, pool2).
    pub fn sides(&self) -> (usize, usize, usize, usize) {
        let c1 = self.input_size - self.conv1[2] + 1;
        let p1 = c1 / 2;
        let c2 = (p1 - self.conv2[2]) / self.stride2 + 1;
        (c1, p1, c2, c2 / 2)
    }

    /// Features handed to the first plastic layer (648 for CarRacing).
    pub fn features(&self) -> usize {
        let (_, _, _, p2) = self.sides();
        self.conv2[0] * p2 * p2
    }
}

/// P frozen conv stacks with per-agent weights.
#[derive(Clone, Debug)]
pub struct ConvFrontEnd {
    shape: ConvShape,
    /// `[P*out_c, in_c, k, k]`: agents stacked along the output channels (grouped conv layout).
    conv1: Tensor<4>,
    conv2: Tensor<4>,
    population: usize,
    /// The kernel choice, made once at construction.
    fused: bool,
}

impl ConvFrontEnd {
    /// `weights`: `[P, conv1_params + conv2_params]`, each agent's conv1 then conv2, row-major
    /// `(out, in, kh, kw)` (the reference's 1,362-vector layout).
    pub fn new(shape: ConvShape, weights: Tensor<2>) -> Self {
        let [p, n] = weights.dims();
        assert_eq!(n, shape.params(), "conv weights per agent");
        let [o1, i1, k1, _] = shape.conv1;
        let [o2, i2, k2, _] = shape.conv2;
        let conv1 =
            weights
                .clone()
                .narrow(1, 0, shape.conv1_params())
                .reshape([p * o1, i1, k1, k1]);
        let conv2 = weights
            .narrow(1, shape.conv1_params(), shape.conv2_params())
            .reshape([p * o2, i2, k2, k2]);
        let fused = crate::kernel::UpdateKernel::Auto.fused_on(&conv1.device());
        Self {
            shape,
            conv1,
            conv2,
            population: p,
            fused,
        }
    }

    /// The same front end with its kernel chosen by `kernel` (`tensor_ops` runs burn's grouped
    /// `conv2d` even on flex).
    pub fn with_kernel(mut self, kernel: crate::kernel::UpdateKernel) -> Self {
        self.fused = kernel.fused_on(&self.conv1.device());
        self
    }

    /// Keeps only the agents in `rows` (in that order).
    pub fn select_agents(&mut self, rows: &Tensor<1, Int>) {
        let p = self.population;
        let keep = |t: Tensor<4>| {
            let [pc, c, k1, k2] = t.dims();
            let o = pc / p;
            let n = rows.dims()[0];
            t.reshape([p, o * c * k1 * k2])
                .select(0, rows.clone())
                .reshape([n * o, c, k1, k2])
        };
        self.conv1 = keep(self.conv1.clone());
        self.conv2 = keep(self.conv2.clone());
        self.population = rows.dims()[0];
    }

    /// # Shapes
    /// - input: `[P, C, H, W]` → `[P, features]`
    pub fn forward(&self, input: Tensor<4>) -> Tensor<2> {
        if self.fused {
            return fused::forward_fused(
                input,
                self.conv1.clone(),
                self.conv2.clone(),
                self.shape.stride2,
            );
        }
        self.forward_tensor_ops(input)
    }

    /// The portable path: two grouped convolutions (every backend, autodiff included).
    pub fn forward_tensor_ops(&self, input: Tensor<4>) -> Tensor<2> {
        let p = self.population;
        let [_, c, h, w] = input.dims();
        let x = input.reshape([1, p * c, h, w]);
        let x = conv2d(
            x,
            self.conv1.clone(),
            None,
            ConvOptions::new([1, 1], [0, 0], [1, 1], p),
        );
        let x = max_pool2d(x.tanh(), MaxPoolOptions::new([2, 2]));
        let s = self.shape.stride2;
        let x = conv2d(
            x,
            self.conv2.clone(),
            None,
            ConvOptions::new([s, s], [0, 0], [1, 1], p),
        );
        let x = max_pool2d(x.tanh(), MaxPoolOptions::new([2, 2]));
        x.reshape([p, self.shape.features()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn car_racing_sizes_match_the_paper() {
        let s = ConvShape::CAR_RACING;
        assert_eq!(s.sides(), (82, 41, 19, 9));
        assert_eq!(s.features(), 648);
        assert_eq!(s.params(), 1362);
    }
}
