//! Animated GIFs of rendered episodes (shared by every env's renderer and `hebbian render`).

use std::path::Path;

use anyhow::Context;
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, DynamicImage, Frame, RgbImage};

/// Writes `frames` as a looping GIF at `fps` frames per second.
pub fn write_gif(frames: &[RgbImage], path: impl AsRef<Path>, fps: u32) -> anyhow::Result<()> {
    let path = path.as_ref();
    anyhow::ensure!(
        !frames.is_empty(),
        "no frames to write to {}",
        path.display()
    );
    anyhow::ensure!(fps > 0, "fps must be positive");
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut enc = GifEncoder::new_with_speed(std::io::BufWriter::new(file), 10);
    enc.set_repeat(Repeat::Infinite)
        .with_context(|| format!("writing {}", path.display()))?;
    let delay = Delay::from_numer_denom_ms(1000, fps);
    for f in frames {
        let rgba = DynamicImage::ImageRgb8(f.clone()).into_rgba8();
        enc.encode_frame(Frame::from_parts(rgba, 0, 0, delay))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
