//! The pixel id: `sha256:` of the canonical decoded pixels (specification §5.1).
//!
//! Canonical form: the ASCII bytes `stemma:pixels:1`, the width and height as u32 big-endian, one byte with the
//! sample depth (8 or 16), then every pixel row by row as RGBA samples (16-bit samples big-endian). Grey becomes
//! R = G = B, palettes are expanded, transparency becomes alpha (opaque = maximum), depths below 8 are scaled to 8,
//! and every fully transparent pixel becomes 0,0,0,0 (its colour is invisible, and encoders such as libwebp's
//! lossless mode replace it freely). Defined for lossless formats only (PNG, GIF, lossless WebP); for animations
//! it covers the default image: the first frame placed on a fully transparent canvas of the animation's size
//! (the `image` decoders do exactly that for GIF and animated WebP: background colours are ignored).

use std::io::Cursor;

use image::{DynamicImage, ImageReader};
use sha2::{Digest, Sha256};
use stemma_model::ContentId;

use crate::error::{Error, Result};
use crate::limits::Limits;

/// The prefix of the canonical pixel form.
pub const PIXELS_MAGIC: &[u8] = b"stemma:pixels:1";

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Decode `file` and return its pixel id. A PNG is decoded row by row straight into the hash
/// ([`crate::pixels_png`]); GIF and WebP go through the `image` decoders.
pub fn pixel_id(file: &[u8], limits: &Limits) -> Result<ContentId> {
    if file.starts_with(PNG_SIGNATURE) {
        return crate::pixels_png::png_pixel_id(file, limits);
    }
    if let Some(image) = animated_webp_default_image(file, limits)? {
        return Ok(hash_canonical(&image));
    }
    let image = decode(file, limits)?;
    Ok(hash_canonical(&image))
}

/// Decode a whole file (for an animation: the default image as the `image` decoders compose it).
fn decode(file: &[u8], limits: &Limits) -> Result<DynamicImage> {
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
    Ok(image)
}

/// The default image of an animated WebP (specification §5.1 step 3): the first `ANMF` frame placed on a fully
/// transparent canvas, each frame pixel replacing the canvas pixel. Done here rather than by the decoder because
/// libwebp-style alpha blending rounds (an opaque channel value v comes out as v − 1 over a transparent canvas).
/// `None` when the file is not an animated WebP.
fn animated_webp_default_image(file: &[u8], limits: &Limits) -> Result<Option<DynamicImage>> {
    if !(file.starts_with(b"RIFF") && file.get(8..12) == Some(b"WEBP")) {
        return Ok(None);
    }
    let parsed = crate::webp::parse(file, limits)?;
    let Some(frame) = parsed.chunks.iter().find(|c| &c.fourcc == b"ANMF") else {
        return Ok(None);
    };
    let vp8x = parsed.chunks.iter().find(|c| &c.fourcc == b"VP8X");
    let (Some(vp8x), p) = (vp8x.map(|c| c.payload(file)), frame.payload(file)) else {
        return Err(Error::Decode("animated WebP without VP8X".into()));
    };
    let u24 = |b: &[u8]| u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
    if vp8x.len() < 10 || p.len() < 16 {
        return Err(Error::Decode(
            "animated WebP: VP8X or ANMF too short".into(),
        ));
    }
    let (width, height) = (1 + u24(&vp8x[4..7]), 1 + u24(&vp8x[7..10]));
    let (x, y) = (2 * u24(&p[0..3]), 2 * u24(&p[3..6]));
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(Error::Limit {
            limit: "max_pixels",
            max: limits.max_pixels,
            found: pixels,
            context: "animated WebP canvas".into(),
        });
    }
    // The frame's bitstream chunks as a simple WebP file.
    let mut simple = b"RIFF".to_vec();
    simple.extend_from_slice(
        &u32::try_from(p.len() - 16 + 4)
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    simple.extend_from_slice(b"WEBP");
    simple.extend_from_slice(&p[16..]);
    let frame_image = decode(&simple, limits)?.to_rgba8();
    let mut canvas = image::RgbaImage::new(width, height);
    for (fx, fy, px) in frame_image.enumerate_pixels() {
        let (cx, cy) = (x.saturating_add(fx), y.saturating_add(fy));
        if cx < width && cy < height {
            canvas.put_pixel(cx, cy, *px);
        }
    }
    Ok(Some(DynamicImage::ImageRgba8(canvas)))
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
                let samples = if px.0[3] == 0 { [0; 4] } else { px.0 };
                for s in samples {
                    row.extend_from_slice(&s.to_be_bytes());
                }
            }
            hasher.update(&row);
        }
    } else {
        hasher.update([8u8]);
        let mut rgba = image.to_rgba8();
        for px in rgba.pixels_mut() {
            if px.0[3] == 0 {
                px.0 = [0; 4];
            }
        }
        hasher.update(rgba.as_raw());
    }
    ContentId::from_digest(hasher.finalize().into())
}
