//! Animated GIFs of rendered episodes (shared by every env's renderer and `hebbian render`).

use std::path::Path;

use super::MediaError;

use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, DynamicImage, Frame, RgbImage};

/// Writes `frames` as a looping GIF at `fps` frames per second. The GIF is encoded in memory and
/// then written atomically, so a failed encode (e.g. frames too large for GIF) never truncates an
/// existing file.
pub fn write_gif(frames: &[RgbImage], path: impl AsRef<Path>, fps: u32) -> Result<(), MediaError> {
    let path = path.as_ref();
    if frames.is_empty() {
        return Err(MediaError::Invalid(format!(
            "no frames to write to {}",
            path.display()
        )));
    }
    if fps == 0 {
        return Err(MediaError::Invalid("fps must be positive".into()));
    }
    let encode = |e: image::ImageError| MediaError::Encode {
        path: path.to_path_buf(),
        message: format!("cannot encode the GIF: {e}"),
    };
    let mut bytes = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut bytes, 10);
        enc.set_repeat(Repeat::Infinite).map_err(encode)?;
        let delay = Delay::from_numer_denom_ms(1000, fps);
        for f in frames {
            let rgba = DynamicImage::ImageRgb8(f.clone()).into_rgba8();
            enc.encode_frame(Frame::from_parts(rgba, 0, 0, delay))
                .map_err(encode)?;
        }
    }
    crate::files::atomic_write(path, &bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_existing_gif_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.gif");
        write_gif(&[RgbImage::new(8, 8)], &path, 10).unwrap();
        let before = std::fs::read(&path).unwrap();
        // GIF dimensions are 16-bit: this frame cannot be encoded.
        let err = write_gif(&[RgbImage::new(70_000, 1)], &path, 10).unwrap_err();
        assert!(err.to_string().contains("a.gif"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
