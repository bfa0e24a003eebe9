//! A cheap answer to "does this file hide stealth pnginfo?" (generators.md §3.7), for files without other metadata.
//!
//! The 15-byte signature sits in the first pixels in column-major order: 120 pixels in alpha mode (1 bit each), 40
//! in RGB mode (3 bits each), that is the first column's top rows (more columns only for images less than 120
//! pixels high). A PNG is decoded row by row with the `png` crate and decoding stops as soon as every signature is
//! ruled out, which for an image without stealth data is almost always within its first row or two (the first
//! signature bit is already fixed: ASCII `s` starts with a 0 bit). Only files whose first pixels carry a whole
//! signature are decoded further, by the stealth importer.
//!
//! Interlaced PNGs: rows arrive pass by pass (Adam7); the probe follows the passes and checks each column-0 pixel
//! as its pass delivers it, so it stops within the first passes (a small fraction of the data) unless the pixels
//! really match.
//!
//! WebP: the lossless (`VP8L`) bitstream cannot be decoded row by row with the available decoder, so a lossless
//! WebP (or one with an alpha chunk) answers [`StealthProbe::NeedsFullDecode`] and the caller decides (`show`
//! decodes it only with `--deep`). A lossy WebP without alpha cannot keep pixel LSBs and answers
//! [`StealthProbe::NoSignature`], as does every other format.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use stemma_container::source::{FileSource, Source};
use stemma_container::{sniff, Format, Limits};

use crate::{Error, Result};

mod first_column;

const ID: &str = "stealth";

/// What the first pixels of a file say about stealth pnginfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StealthProbe {
    /// A whole stealth signature is in the first pixels: the stealth importer will find a payload.
    Signature,
    /// No stealth data (or a format that cannot keep it).
    NoSignature,
    /// A format that can hold stealth data but cannot be probed without decoding the whole image (lossless WebP).
    NeedsFullDecode,
}

/// Signatures with their carrier: (signature, alpha mode).
const SIGNATURES: &[(&[u8; 15], bool)] = &[
    (b"stealth_pnginfo", true),
    (b"stealth_pngcomp", true),
    (b"stealth_rgbinfo", false),
    (b"stealth_rgbcomp", false),
];
const SIGNATURE_BITS: usize = 15 * 8;

/// Adam7 passes as (x offset, x step, y offset, y step), in the order the rows are stored.
const ADAM7: [(u32, u32, u32, u32); 7] = [
    (0, 8, 0, 8),
    (4, 8, 0, 8),
    (0, 4, 4, 8),
    (2, 4, 0, 4),
    (0, 2, 2, 4),
    (1, 2, 0, 2),
    (0, 1, 1, 2),
];

/// Probe the file at `path` (see [`probe_stealth`]).
pub fn probe_stealth_path(path: &Path, limits: &Limits) -> Result<StealthProbe> {
    let source = std::fs::File::open(path)
        .and_then(FileSource::new)
        .map_err(|e| io_error(&e))?;
    probe_stealth(&source, limits)
}

/// Look at the first pixels of `source` for a stealth pnginfo signature, decoding as few PNG rows as it takes.
/// Never decodes a whole image unless its first pixels really are a signature.
pub fn probe_stealth(source: &dyn Source, limits: &Limits) -> Result<StealthProbe> {
    let mut head = [0u8; 12];
    let n = source.read_at(0, &mut head).map_err(|e| io_error(&e))?;
    match sniff(&head[..n]) {
        Format::Png => probe_png(source, limits),
        Format::Webp => probe_webp(source),
        _ => Ok(StealthProbe::NoSignature),
    }
}

fn io_error(e: &io::Error) -> Error {
    Error::Parse {
        dialect: ID,
        reason: format!("cannot read the pixels: {e}"),
    }
}

/// A [`Source`] as a `Read + Seek` stream, for the `png` decoder.
struct SourceReader<'a> {
    source: &'a dyn Source,
    pos: u64,
}

impl Read for SourceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SourceReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.source.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.pos)
    }
}

/// Which signatures are still possible, and how many of their bits the pixels seen so far confirmed.
struct Candidates {
    alive: [bool; 4],
    confirmed: [usize; 4],
}

impl Candidates {
    fn new(has_alpha: bool) -> Self {
        let mut alive = [false; 4];
        for (i, (_, alpha)) in SIGNATURES.iter().enumerate() {
            alive[i] = has_alpha || !*alpha;
        }
        Candidates {
            alive,
            confirmed: [0; 4],
        }
    }

    /// Check pixel number `k` (column-major) with 8-bit samples `rgba` against every live signature.
    fn check(&mut self, k: usize, rgba: [u8; 4]) {
        for (i, (sig, alpha)) in SIGNATURES.iter().enumerate() {
            if !self.alive[i] {
                continue;
            }
            let (first_bit, bits): (usize, &[u8]) = if *alpha {
                (k, &rgba[3..4])
            } else {
                (k * 3, &rgba[0..3])
            };
            for (j, sample) in bits.iter().enumerate() {
                let n = first_bit + j;
                if n >= SIGNATURE_BITS {
                    break;
                }
                let want = (sig[n / 8] >> (7 - n % 8)) & 1;
                if sample & 1 != want {
                    self.alive[i] = false;
                    break;
                }
                self.confirmed[i] += 1;
            }
        }
    }

    fn found(&self) -> bool {
        (0..4).any(|i| self.alive[i] && self.confirmed[i] == SIGNATURE_BITS)
    }

    fn ruled_out(&self) -> bool {
        !self.alive.iter().any(|a| *a)
    }

    /// Pixels (column-major) that can still hold an unchecked signature bit.
    fn pixels_needed(&self) -> usize {
        SIGNATURES
            .iter()
            .zip(self.alive)
            .filter(|(_, alive)| *alive)
            .map(|((_, alpha), _)| if *alpha { 120 } else { 40 })
            .max()
            .unwrap_or(0)
    }
}

/// One stored row: its image row and which columns it holds (first column, step).
#[derive(Clone, Copy)]
struct RowPlace {
    y: u32,
    x0: u32,
    dx: u32,
}

/// The rows of an image in storage order.
fn row_places(width: u32, height: u32, interlaced: bool) -> Box<dyn Iterator<Item = RowPlace>> {
    if !interlaced {
        return Box::new((0..height).map(|y| RowPlace { y, x0: 0, dx: 1 }));
    }
    Box::new(ADAM7.into_iter().flat_map(move |(x0, dx, y0, dy)| {
        let has_columns = width > x0;
        (y0..height)
            .step_by(dy as usize)
            .filter(move |_| has_columns)
            .map(move |y| RowPlace { y, x0, dx })
    }))
}

fn probe_png(source: &dyn Source, limits: &Limits) -> Result<StealthProbe> {
    match first_column::probe(source, limits)? {
        Some(answer) => Ok(answer),
        None => probe_png_rows(source, limits),
    }
}

/// The general probe: whole rows from the `png` decoder (interlaced images, palettes, depths below 8, `tRNS`).
fn probe_png_rows(source: &dyn Source, limits: &Limits) -> Result<StealthProbe> {
    let png_error = |e: png::DecodingError| Error::Parse {
        dialect: ID,
        reason: format!("cannot decode the first pixel rows: {e}"),
    };
    let reader = BufReader::with_capacity(8 * 1024, SourceReader { source, pos: 0 });
    let bytes = usize::try_from(limits.max_pixels.saturating_mul(8)).unwrap_or(usize::MAX);
    let mut decoder = png::Decoder::new_with_limits(reader, png::Limits { bytes });
    // Palettes, tRNS and depths below 8 become plain 8-bit samples, as the image decoder the importer uses does.
    decoder.set_transformations(png::Transformations::EXPAND);
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let mut reader = decoder.read_info().map_err(png_error)?;
    let (width, height, interlaced) = {
        let info = reader.info();
        (info.width, info.height, info.interlaced)
    };
    let (color, depth) = reader.output_color_type();
    let channels = color.samples();
    let sample_bytes = if depth == png::BitDepth::Sixteen {
        2
    } else {
        1
    };
    let has_alpha = matches!(color, png::ColorType::Rgba | png::ColorType::GrayscaleAlpha);
    let mut candidates = Candidates::new(has_alpha);
    let column_len = usize::try_from(height).unwrap_or(usize::MAX).max(1);
    for place in row_places(width, height, interlaced) {
        if candidates.found() {
            return Ok(StealthProbe::Signature);
        }
        if candidates.ruled_out() {
            return Ok(StealthProbe::NoSignature);
        }
        let Some(row) = reader.next_row().map_err(png_error)? else {
            break;
        };
        let data = row.data();
        let needed = candidates.pixels_needed();
        let y = place.y as usize;
        let mut x = place.x0 as usize;
        let mut i = 0usize;
        while x < width as usize && x.saturating_mul(column_len).saturating_add(y) < needed {
            let at = i * channels * sample_bytes;
            let Some(px) = data.get(at..at + channels * sample_bytes) else {
                break;
            };
            let sample = |c: usize| -> u8 {
                if sample_bytes == 2 {
                    let v = u32::from(u16::from_be_bytes([px[c * 2], px[c * 2 + 1]]));
                    // The image crate's 16 → 8 bit conversion, so the probe sees what the importer decodes.
                    ((v + 128) / 257) as u8
                } else {
                    px[c]
                }
            };
            let rgba = match color {
                png::ColorType::Grayscale => [sample(0), sample(0), sample(0), 255],
                png::ColorType::GrayscaleAlpha => [sample(0), sample(0), sample(0), sample(1)],
                png::ColorType::Rgb => [sample(0), sample(1), sample(2), 255],
                _ => [sample(0), sample(1), sample(2), sample(3)],
            };
            candidates.check(x * column_len + y, rgba);
            x += place.dx as usize;
            i += 1;
        }
    }
    Ok(if candidates.found() {
        StealthProbe::Signature
    } else {
        StealthProbe::NoSignature
    })
}

/// WebP: lossless images (or images with an alpha chunk) need a full decode; lossy ones cannot hold the data.
fn probe_webp(source: &dyn Source) -> Result<StealthProbe> {
    let mut reader = BufReader::new(SourceReader { source, pos: 12 });
    let mut header = [0u8; 8];
    // A few chunks are enough: the image chunk comes first or after VP8X/ICCP/ANIM.
    for _ in 0..64 {
        if reader.read_exact(&mut header).is_err() {
            break;
        }
        let size = u64::from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        match &header[0..4] {
            b"VP8L" | b"ALPH" => return Ok(StealthProbe::NeedsFullDecode),
            b"VP8 " => return Ok(StealthProbe::NoSignature),
            b"ANMF" => {
                // The frame's own sub-chunks follow its 16-byte header.
                reader.seek_relative(16).map_err(|e| io_error(&e))?;
                continue;
            }
            _ => {}
        }
        let skip = i64::try_from(size + (size & 1)).unwrap_or(i64::MAX);
        reader.seek_relative(skip).map_err(|e| io_error(&e))?;
        if reader.fill_buf().map_err(|e| io_error(&e))?.is_empty() {
            break;
        }
    }
    Ok(StealthProbe::NoSignature)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// An RGBA image of `w`×`h` whose first pixels (column-major) carry `signature` and a short payload.
    fn stealth_rgba(signature: &[u8], alpha: bool, w: u32, h: u32) -> image::RgbaImage {
        let mut bytes = signature.to_vec();
        bytes.extend_from_slice(&(40u32).to_be_bytes());
        bytes.extend_from_slice(b"a cat");
        let bits: Vec<u8> = bytes
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
            .collect();
        let mut img = image::RgbaImage::from_pixel(w, h, image::Rgba([201, 100, 51, 255]));
        let mut k = 0;
        for x in 0..w {
            for y in 0..h {
                let channels: &[usize] = if alpha { &[3] } else { &[0, 1, 2] };
                let p = img.get_pixel_mut(x, y);
                for &c in channels {
                    if let Some(bit) = bits.get(k) {
                        p.0[c] = (p.0[c] & 0xfe) | bit;
                    }
                    k += 1;
                }
            }
        }
        img
    }

    fn png_of(img: &image::DynamicImage) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn probe(file: &[u8]) -> StealthProbe {
        probe_stealth(&file, &Limits::DEFAULT).unwrap()
    }

    /// A PNG chunk with its CRC.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
        out
    }

    /// The same image written as an Adam7-interlaced PNG (the `png` encoder writes only progressive rows).
    fn interlaced_png(img: &image::RgbaImage) -> Vec<u8> {
        use std::io::Write;
        let (w, h) = img.dimensions();
        let mut raw = Vec::new();
        for (x0, dx, y0, dy) in ADAM7 {
            if w <= x0 || h <= y0 {
                continue;
            }
            for y in (y0..h).step_by(dy as usize) {
                raw.push(0u8);
                for x in (x0..w).step_by(dx as usize) {
                    raw.extend_from_slice(&img.get_pixel(x, y).0);
                }
            }
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&raw).unwrap();
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 1]);
        let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
        file.extend(chunk(b"IHDR", &ihdr));
        file.extend(chunk(b"IDAT", &z.finish().unwrap()));
        file.extend(chunk(b"IEND", &[]));
        file
    }

    #[test]
    fn every_signature_is_found_in_tall_and_short_images() {
        for (sig, alpha) in SIGNATURES {
            // 200 rows: the signature is in the first column; 7 rows: it runs over many columns.
            for (w, h) in [(16, 200), (90, 7)] {
                let img = image::DynamicImage::ImageRgba8(stealth_rgba(*sig, *alpha, w, h));
                let file = if *alpha {
                    png_of(&img)
                } else {
                    png_of(&image::DynamicImage::ImageRgb8(img.to_rgb8()))
                };
                assert_eq!(probe(&file), StealthProbe::Signature, "{w}x{h}");
            }
        }
    }

    #[test]
    fn plain_and_near_miss_images_have_no_signature() {
        let plain = image::DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            64,
            64,
            image::Rgba([0, 0, 0, 0]),
        ));
        assert_eq!(probe(&png_of(&plain)), StealthProbe::NoSignature);
        // A signature with its last byte wrong is not a signature.
        let img = stealth_rgba(b"stealth_pnginfX", true, 16, 200);
        let file = png_of(&image::DynamicImage::ImageRgba8(img));
        assert_eq!(probe(&file), StealthProbe::NoSignature);
        // An alpha-mode signature in an image without alpha cannot be read.
        let img = stealth_rgba(b"stealth_pnginfo", true, 16, 200);
        let file = png_of(&image::DynamicImage::ImageRgb8(
            image::DynamicImage::ImageRgba8(img).to_rgb8(),
        ));
        assert_eq!(probe(&file), StealthProbe::NoSignature);
        // Too few pixels for a whole signature.
        let img = stealth_rgba(b"stealth_rgbinfo", false, 5, 5);
        assert_eq!(
            probe(&png_of(&image::DynamicImage::ImageRgba8(img))),
            StealthProbe::NoSignature
        );
    }

    #[test]
    fn only_the_first_rows_are_decoded() {
        // Noise compresses badly, so the image data is large; cut the file to a tenth: a full decode fails, the
        // probe answers from the rows it has (a signature needs at most the first 120 rows).
        let (w, h) = (512u32, 512u32);
        let mut seed = 0x2545_f491u32;
        let mut img = image::RgbaImage::from_fn(w, h, |_, _| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let [r, g, b, _] = seed.to_le_bytes();
            image::Rgba([r, g, b, 255])
        });
        img.put_pixel(0, 0, image::Rgba([1, 1, 1, 255]));
        let file = png_of(&image::DynamicImage::ImageRgba8(img.clone()));
        let cut = &file[..file.len() / 10];
        assert!(image::load_from_memory(cut).is_err());
        assert_eq!(probe(cut), StealthProbe::NoSignature);
        // The same holds with a signature in the first column of the noise: half the file is plenty.
        let marked = stealth_rgba(b"stealth_rgbcomp", false, w, h);
        for y in 0..h {
            img.put_pixel(0, y, *marked.get_pixel(0, y));
        }
        let file = png_of(&image::DynamicImage::ImageRgba8(img));
        assert_eq!(probe(&file[..file.len() / 2]), StealthProbe::Signature);
    }

    #[test]
    fn interlaced_images_are_probed_pass_by_pass() {
        let img = stealth_rgba(b"stealth_pngcomp", true, 40, 150);
        let file = interlaced_png(&img);
        // The hand-made file decodes to the same pixels.
        assert_eq!(image::load_from_memory(&file).unwrap().to_rgba8(), img);
        assert_eq!(probe(&file), StealthProbe::Signature);
        let img = stealth_rgba(b"stealth_rgbinfo", false, 3, 20);
        assert_eq!(probe(&interlaced_png(&img)), StealthProbe::Signature);
        let plain = image::RgbaImage::from_pixel(40, 150, image::Rgba([0, 0, 0, 0]));
        assert_eq!(probe(&interlaced_png(&plain)), StealthProbe::NoSignature);
    }

    #[test]
    fn webp_and_other_formats() {
        let img = image::DynamicImage::ImageRgba8(stealth_rgba(b"stealth_pnginfo", true, 16, 200));
        let mut webp = std::io::Cursor::new(Vec::new());
        img.write_to(&mut webp, image::ImageFormat::WebP).unwrap();
        assert_eq!(probe(webp.get_ref()), StealthProbe::NeedsFullDecode);
        assert_eq!(probe(b"\xff\xd8\xff\xe0 a jpeg"), StealthProbe::NoSignature);
        assert_eq!(probe(b""), StealthProbe::NoSignature);
        // A broken PNG is an error naming the reason, not a panic.
        let err = probe_stealth(&&b"\x89PNG\r\n\x1a\n\0\0"[..], &Limits::DEFAULT).unwrap_err();
        assert!(err.to_string().contains("stealth"), "{err}");
    }
}
