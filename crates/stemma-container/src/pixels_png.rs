//! The pixel id of a PNG, streamed: decoded rows go into the hash one at a time (specification §5.1 step 1), so
//! memory stays O(row) whatever the image size. Only an interlaced (Adam7) image needs its raw frame in memory,
//! because its rows arrive pass by pass; even then no RGBA copy of the frame is made.
//!
//! Rows are read from the `png` decoder untransformed (packed samples at the file's bit depth) and converted here
//! to the canonical RGBA form, so that the rules of §5.1 are applied exactly as written (grey scaling, palette and
//! `tRNS` lookup, colour keys compared at the original depth, transparent pixels zeroed).

use std::io::Cursor;

use png::{BitDepth, ColorType, Decoder, Transformations};
use sha2::{Digest, Sha256};
use stemma_model::ContentId;

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::pixels::PIXELS_MAGIC;

/// How each raw row becomes canonical RGBA samples.
struct RowFormat {
    color: ColorType,
    bits: u8,
    width: usize,
    /// Palette entries as RGBA (from `PLTE` and `tRNS`), for indexed images.
    palette: Vec<[u8; 4]>,
    /// The `tRNS` colour key of a grey (one sample) or RGB (three samples) image, at the original depth.
    key: Option<[u16; 3]>,
}

/// Decode a PNG's default image row by row and return its pixel id.
pub fn png_pixel_id(file: &[u8], limits: &Limits) -> Result<ContentId> {
    let mut decoder = Decoder::new_with_limits(
        Cursor::new(file),
        png::Limits {
            bytes: usize::try_from(limits.max_pixels.saturating_mul(8)).unwrap_or(usize::MAX),
        },
    );
    decoder.set_transformations(Transformations::IDENTITY);
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let header = decoder.read_header_info().map_err(decode_error)?;
    let pixels = u64::from(header.width) * u64::from(header.height);
    if pixels > limits.max_pixels {
        return Err(Error::Limit {
            limit: "max_pixels",
            max: limits.max_pixels,
            found: pixels,
            context: "image to hash".into(),
        });
    }
    let mut reader = decoder.read_info().map_err(decode_error)?;
    let info = reader.info();
    let (width, height, interlaced) = (info.width, info.height, info.interlaced);
    let format = RowFormat::new(info)?;
    let sixteen = format.bits == 16;
    let mut hasher = Sha256::new();
    hasher.update(PIXELS_MAGIC);
    hasher.update(width.to_be_bytes());
    hasher.update(height.to_be_bytes());
    hasher.update([if sixteen { 16u8 } else { 8 }]);
    let mut out = Vec::with_capacity(format.width * if sixteen { 8 } else { 4 });
    let mut rows = 0u32;
    if interlaced {
        // Adam7 rows come pass by pass: let the decoder place them in the raw frame, then hash its rows.
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| Error::Decode("PNG frame too large".into()))?;
        let line = reader
            .output_line_size(width)
            .ok_or_else(|| Error::Decode("PNG row too large".into()))?;
        let mut frame = vec![0u8; size];
        reader.next_frame(&mut frame).map_err(decode_error)?;
        for raw in frame.chunks_exact(line.max(1)).take(height as usize) {
            format.convert(raw, &mut out);
            hasher.update(&out);
            rows += 1;
        }
    } else {
        while let Some(row) = reader.next_row().map_err(decode_error)? {
            format.convert(row.data(), &mut out);
            hasher.update(&out);
            rows += 1;
        }
    }
    if rows != height {
        return Err(Error::Decode(format!(
            "PNG image data ends after {rows} of {height} rows"
        )));
    }
    Ok(ContentId::from_digest(hasher.finalize().into()))
}

fn decode_error(e: png::DecodingError) -> Error {
    Error::Decode(e.to_string())
}

impl RowFormat {
    fn new(info: &png::Info<'_>) -> Result<RowFormat> {
        let bits = match info.bit_depth {
            BitDepth::One => 1,
            BitDepth::Two => 2,
            BitDepth::Four => 4,
            BitDepth::Eight => 8,
            BitDepth::Sixteen => 16,
        };
        let trns = info.trns.as_deref();
        let mut palette = Vec::new();
        if info.color_type == ColorType::Indexed {
            let plte = info
                .palette
                .as_deref()
                .ok_or_else(|| Error::Decode("indexed PNG without PLTE".into()))?;
            for (i, rgb) in plte.chunks_exact(3).enumerate() {
                let alpha = trns.and_then(|t| t.get(i).copied()).unwrap_or(255);
                palette.push([rgb[0], rgb[1], rgb[2], alpha]);
            }
        }
        // The decoder keeps a colour key as the file has it at depth 16 (two bytes a sample, big-endian), and as
        // one byte a sample (the low byte of each 16-bit field) at lower depths.
        let sample = |t: &[u8], i: usize| -> Option<u16> {
            if bits == 16 {
                Some(u16::from_be_bytes([*t.get(2 * i)?, *t.get(2 * i + 1)?]))
            } else {
                t.get(i).map(|&v| u16::from(v))
            }
        };
        let key = match (info.color_type, trns) {
            (ColorType::Grayscale, Some(t)) => sample(t, 0).map(|g| [g, g, g]),
            (ColorType::Rgb, Some(t)) => match (sample(t, 0), sample(t, 1), sample(t, 2)) {
                (Some(r), Some(g), Some(b)) => Some([r, g, b]),
                _ => None,
            },
            _ => None,
        };
        Ok(RowFormat {
            color: info.color_type,
            bits,
            width: info.width as usize,
            palette,
            key,
        })
    }

    /// Convert one raw row into canonical samples in `out` (cleared first).
    fn convert(&self, raw: &[u8], out: &mut Vec<u8>) {
        out.clear();
        if self.bits == 16 {
            self.convert16(raw, out);
        } else {
            self.convert8(raw, out);
        }
    }

    /// Depths 1 to 8: one byte a sample.
    fn convert8(&self, raw: &[u8], out: &mut Vec<u8>) {
        let w = self.width;
        let mut push = |px: [u8; 4]| {
            out.extend_from_slice(if px[3] == 0 { &[0; 4] } else { &px });
        };
        match self.color {
            // The common cases, without a per-pixel branch on the output.
            ColorType::Rgba => {
                out.extend_from_slice(&raw[..(4 * w).min(raw.len())]);
                for p in out.chunks_exact_mut(4) {
                    if p[3] == 0 {
                        p.copy_from_slice(&[0; 4]);
                    }
                }
            }
            ColorType::Rgb if self.key.is_none() => {
                out.resize(4 * w, 255);
                for (o, p) in out.chunks_exact_mut(4).zip(raw.chunks_exact(3)) {
                    o[..3].copy_from_slice(p);
                }
            }
            ColorType::Rgb => {
                for p in raw.chunks_exact(3).take(w) {
                    let transparent = self
                        .key
                        .is_some_and(|k| k == [u16::from(p[0]), u16::from(p[1]), u16::from(p[2])]);
                    push([p[0], p[1], p[2], if transparent { 0 } else { 255 }]);
                }
            }
            ColorType::GrayscaleAlpha => {
                for p in raw.chunks_exact(2).take(w) {
                    push([p[0], p[0], p[0], p[1]]);
                }
            }
            ColorType::Grayscale => {
                let scale = 255 / ((1u16 << self.bits) - 1);
                for i in 0..w {
                    let v = packed(raw, i, self.bits);
                    let transparent = self.key.is_some_and(|k| k[0] == v);
                    let g = (v * scale) as u8;
                    push([g, g, g, if transparent { 0 } else { 255 }]);
                }
            }
            ColorType::Indexed => {
                for i in 0..w {
                    let index = usize::from(packed(raw, i, self.bits));
                    // An index beyond the palette: black, opaque (as decoders commonly do).
                    push(self.palette.get(index).copied().unwrap_or([0, 0, 0, 255]));
                }
            }
        }
    }

    /// Depth 16: two bytes a sample, big-endian, as in the file.
    fn convert16(&self, raw: &[u8], out: &mut Vec<u8>) {
        let w = self.width;
        let mut push = |px: [[u8; 2]; 4]| {
            if px[3] == [0, 0] {
                out.extend_from_slice(&[0; 8]);
            } else {
                for s in px {
                    out.extend_from_slice(&s);
                }
            }
        };
        const OPAQUE: [u8; 2] = [0xff, 0xff];
        match self.color {
            ColorType::Rgba => {
                for p in raw.chunks_exact(8).take(w) {
                    push([[p[0], p[1]], [p[2], p[3]], [p[4], p[5]], [p[6], p[7]]]);
                }
            }
            ColorType::Rgb => {
                for p in raw.chunks_exact(6).take(w) {
                    let (r, g, b) = ([p[0], p[1]], [p[2], p[3]], [p[4], p[5]]);
                    let transparent = self.key.is_some_and(|k| {
                        k == [
                            u16::from_be_bytes(r),
                            u16::from_be_bytes(g),
                            u16::from_be_bytes(b),
                        ]
                    });
                    push([r, g, b, if transparent { [0, 0] } else { OPAQUE }]);
                }
            }
            ColorType::GrayscaleAlpha => {
                for p in raw.chunks_exact(4).take(w) {
                    let g = [p[0], p[1]];
                    push([g, g, g, [p[2], p[3]]]);
                }
            }
            ColorType::Grayscale => {
                for p in raw.chunks_exact(2).take(w) {
                    let g = [p[0], p[1]];
                    let transparent = self.key.is_some_and(|k| k[0] == u16::from_be_bytes(g));
                    push([g, g, g, if transparent { [0, 0] } else { OPAQUE }]);
                }
            }
            // PNG has no 16-bit palettes; the decoder refuses them before a row is read.
            ColorType::Indexed => {}
        }
    }
}

/// Sample `i` of a row packed at `bits` (1, 2, 4 or 8) bits a sample, most significant bits first.
fn packed(raw: &[u8], i: usize, bits: u8) -> u16 {
    let bits = usize::from(bits);
    let bit = i * bits;
    let byte = raw.get(bit / 8).copied().unwrap_or(0);
    let shift = 8 - bits - bit % 8;
    u16::from((byte >> shift) & (((1u16 << bits) - 1) as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_samples_are_read_most_significant_first() {
        let row = [0b1011_0010u8, 0b0100_0000];
        assert_eq!(packed(&row, 0, 1), 1);
        assert_eq!(packed(&row, 1, 1), 0);
        assert_eq!(packed(&row, 0, 2), 0b10);
        assert_eq!(packed(&row, 3, 2), 0b10);
        assert_eq!(packed(&row, 1, 4), 0b0010);
        assert_eq!(packed(&row, 2, 4), 0b0100);
        assert_eq!(packed(&row, 1, 8), 0b0100_0000);
    }
}
