//! The pixel id: `sha256:` of the canonical decoded pixels (specification §5.1).
//!
//! Canonical form: the ASCII bytes `stemma:pixels:1`, the width and height as u32 big-endian, one byte with the
//! sample depth (8 or 16), then every pixel row by row as RGBA samples (16-bit samples big-endian). Grey becomes
//! R = G = B, palettes are expanded, transparency becomes alpha (opaque = maximum), depths below 8 are scaled to 8.
//! Defined for lossless formats only (PNG, GIF, lossless WebP); for animations it covers the first frame.

use std::io::Cursor;

use image::{DynamicImage, ImageReader};
use sha2::{Digest, Sha256};
use stemma_model::ContentId;

use crate::error::{Error, Result};
use crate::limits::Limits;

/// The prefix of the canonical pixel form.
pub const PIXELS_MAGIC: &[u8] = b"stemma:pixels:1";

/// Decode `file` and return its pixel id.
pub fn pixel_id(file: &[u8], limits: &Limits) -> Result<ContentId> {
    let mut reader = ImageReader::new(Cursor::new(file))
        .with_guessed_format()
        .map_err(|e| Error::Decode(e.to_string()))?;
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    let side = u32::try_from(limits.max_pixels.min(u64::from(u32::MAX))).unwrap_or(u32::MAX);
    image_limits.max_image_width = Some(side);
    image_limits.max_image_height = Some(side);
    reader.limits(image_limits);
    let image = reader.decode().map_err(|e| Error::Decode(e.to_string()))?;
    let pixels = u64::from(image.width()) * u64::from(image.height());
    if pixels > limits.max_pixels {
        return Err(Error::Limit {
            limit: "max_pixels",
            max: limits.max_pixels,
            found: pixels,
            context: "image to hash".into(),
        });
    }
    Ok(hash_canonical(&image))
}

/// Hash decoded pixels in the canonical form.
pub fn hash_canonical(image: &DynamicImage) -> ContentId {
    let mut hasher = Sha256::new();
    hasher.update(PIXELS_MAGIC);
    hasher.update(image.width().to_be_bytes());
    hasher.update(image.height().to_be_bytes());
    let sixteen = matches!(
        image,
        DynamicImage::ImageLuma16(_)
            | DynamicImage::ImageLumaA16(_)
            | DynamicImage::ImageRgb16(_)
            | DynamicImage::ImageRgba16(_)
    );
    if sixteen {
        hasher.update([16u8]);
        let rgba = image.to_rgba16();
        let mut row = Vec::with_capacity(rgba.width() as usize * 8);
        for line in rgba.rows() {
            row.clear();
            for px in line {
                for s in px.0 {
                    row.extend_from_slice(&s.to_be_bytes());
                }
            }
            hasher.update(&row);
        }
    } else {
        hasher.update([8u8]);
        hasher.update(image.to_rgba8().as_raw());
    }
    ContentId::from_digest(hasher.finalize().into())
}
