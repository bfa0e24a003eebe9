//! The probe for the common PNG (not interlaced, 8 or 16 bits per sample, grey or RGB with or without alpha, no
//! `tRNS`): only the first pixels of each row are unfiltered.
//!
//! A stealth signature lies in the first column (column-major order), and the first pixel of a PNG row is
//! unfiltered from that row's and the row above's first bytes alone (its left and upper-left neighbours are zero
//! for every filter), so a row's first pixels are all that is kept: the zlib stream is inflated row by row into a
//! few hundred bytes and the rest of each row is inflated into a scratch buffer and dropped. Memory is constant,
//! and the image data read is what the first rows take (usually the first few KiB of the first IDAT, which the
//! scan's first read already holds). Most images rule out every signature with their first pixel; the inflater is
//! kept per thread and reset, not rebuilt, for each file.
//!
//! Anything else answers `None` and the `png` decoder's probe handles it (palettes, low bit depths and `tRNS`
//! need the decoder's expansion to 8-bit RGBA; interlaced images store their first column across passes).

use std::cell::RefCell;

use flate2::{Decompress, FlushDecompress, Status};
use stemma_container::source::Source;
use stemma_container::Limits;

use super::{io_error, Candidates, StealthProbe, ID};
use crate::{Error, Result};

/// Most pixels of one row that can hold a signature bit (120 in alpha mode, when the image is one row high).
const MAX_ROW_PIXELS: usize = 120;
/// Bytes per pixel at most (16-bit RGBA).
const MAX_PIXEL_BYTES: usize = 8;
/// How much image data is read at once beyond the bytes the source already holds.
const READ: usize = 8 * 1024;

thread_local! {
    /// One inflater per thread, reset for each file (building one allocates and clears tens of KiB).
    static INFLATER: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// The IHDR fields the probe needs.
struct Header {
    width: u32,
    height: u32,
    /// Samples per pixel: 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA).
    channels: usize,
    /// 1 or 2 (16-bit samples).
    sample_bytes: usize,
}

impl Header {
    fn has_alpha(&self) -> bool {
        self.channels == 2 || self.channels == 4
    }

    fn pixel_bytes(&self) -> usize {
        self.channels * self.sample_bytes
    }

    /// A pixel's samples as 8-bit RGBA, as the image decoder the importer uses gives them.
    fn rgba(&self, px: &[u8]) -> [u8; 4] {
        let sample = |c: usize| -> u8 {
            if self.sample_bytes == 2 {
                let v = u32::from(u16::from_be_bytes([px[c * 2], px[c * 2 + 1]]));
                ((v + 128) / 257) as u8
            } else {
                px[c]
            }
        };
        match self.channels {
            1 => [sample(0), sample(0), sample(0), 255],
            2 => [sample(0), sample(0), sample(0), sample(1)],
            3 => [sample(0), sample(1), sample(2), 255],
            _ => [sample(0), sample(1), sample(2), sample(3)],
        }
    }
}

/// Probe a PNG this way, or `None` when it needs the decoder.
pub(super) fn probe(source: &dyn Source, limits: &Limits) -> Result<Option<StealthProbe>> {
    let Some((header, first_idat)) = read_header(source, limits)? else {
        return Ok(None);
    };
    INFLATER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let inflater = slot.get_or_insert_with(|| Decompress::new(true));
            inflater.reset(true);
            scan_rows(source, &header, first_idat, inflater).map(Some)
        }
        Err(_) => scan_rows(source, &header, first_idat, &mut Decompress::new(true)).map(Some),
    })
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The header, and the offset of the first IDAT chunk; `None` for a PNG the decoder must handle.
fn read_header(source: &dyn Source, limits: &Limits) -> Result<Option<(Header, u64)>> {
    let mut ihdr = [0u8; 33];
    if source.read_at(0, &mut ihdr).map_err(|e| io_error(&e))? < ihdr.len()
        || &ihdr[12..16] != b"IHDR"
        || be32(&ihdr[8..12]) != 13
    {
        return Ok(None);
    }
    let (width, height) = (be32(&ihdr[16..20]), be32(&ihdr[20..24]));
    let (depth, color, interlace) = (ihdr[24], ihdr[25], ihdr[28]);
    let channels = match color {
        0 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => return Ok(None),
    };
    let sample_bytes = match depth {
        8 => 1,
        16 => 2,
        _ => return Ok(None),
    };
    let pixels = u64::from(width).saturating_mul(u64::from(height));
    if interlace != 0 || width == 0 || height == 0 || pixels > limits.max_pixels {
        return Ok(None);
    }
    let header = Header {
        width,
        height,
        channels,
        sample_bytes,
    };
    let mut pos = ihdr.len() as u64;
    for _ in 0..limits.max_chunks {
        let mut chunk = [0u8; 8];
        if source.read_at(pos, &mut chunk).map_err(|e| io_error(&e))? < chunk.len() {
            return Ok(None);
        }
        match &chunk[4..8] {
            b"IDAT" => return Ok(Some((header, pos))),
            // tRNS makes an alpha channel the decoder adds; IEND: no image data.
            b"tRNS" | b"IEND" => return Ok(None),
            _ => pos += 12 + u64::from(be32(&chunk[..4])),
        }
    }
    Ok(None)
}

fn decode_error(reason: impl std::fmt::Display) -> Error {
    Error::Parse {
        dialect: ID,
        reason: format!("cannot decode the first pixel rows: {reason}"),
    }
}

/// Unfilter the first `prefix.len()` bytes of a row (`filter` is the row's filter type) given the same bytes of
/// the row above, unfiltered (zeros above the first row).
fn unfilter(filter: u8, prefix: &mut [u8], above: &[u8], bpp: usize) -> Result<()> {
    for i in 0..prefix.len() {
        let a = if i >= bpp { prefix[i - bpp] } else { 0 };
        let b = above[i];
        let c = if i >= bpp { above[i - bpp] } else { 0 };
        let add = match filter {
            0 => 0,
            1 => a,
            2 => b,
            3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
            4 => paeth(a, b, c),
            other => return Err(decode_error(format!("unknown filter type {other}"))),
        };
        prefix[i] = prefix[i].wrapping_add(add);
    }
    Ok(())
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

fn scan_rows(
    source: &dyn Source,
    header: &Header,
    first_idat: u64,
    inflater: &mut Decompress,
) -> Result<StealthProbe> {
    let bpp = header.pixel_bytes();
    let row_len = u64::from(header.width) * bpp as u64;
    let column_len = usize::try_from(header.height).unwrap_or(usize::MAX);
    let mut stream = IdatStream::new(source, first_idat, inflater);
    let mut candidates = Candidates::new(header.has_alpha());
    let mut above = [0u8; MAX_ROW_PIXELS * MAX_PIXEL_BYTES];
    let mut row = [0u8; MAX_ROW_PIXELS * MAX_PIXEL_BYTES];
    let mut filter = [0u8; 1];
    for y in 0..column_len {
        if candidates.found() {
            return Ok(StealthProbe::Signature);
        }
        let needed = candidates.pixels_needed();
        if candidates.ruled_out() || y >= needed {
            break;
        }
        // The pixels of this row that can hold a signature bit: x × height + y < needed.
        let pixels = (needed - y)
            .div_ceil(column_len)
            .min(header.width as usize)
            .min(MAX_ROW_PIXELS);
        let kept = pixels * bpp;
        stream.inflate(&mut filter)?;
        stream.inflate(&mut row[..kept])?;
        unfilter(filter[0], &mut row[..kept], &above[..kept], bpp)?;
        for x in 0..pixels {
            let rgba = header.rgba(&row[x * bpp..(x + 1) * bpp]);
            candidates.check(x * column_len + y, rgba);
        }
        if candidates.found() || candidates.ruled_out() {
            break; // the rest of the row is not needed
        }
        stream.skip(row_len - kept as u64)?;
        std::mem::swap(&mut above, &mut row);
    }
    Ok(if candidates.found() {
        StealthProbe::Signature
    } else {
        StealthProbe::NoSignature
    })
}

/// The zlib stream of a PNG's IDAT chunks, inflated on demand.
struct IdatStream<'a> {
    source: &'a dyn Source,
    inflater: &'a mut Decompress,
    /// File offset of the next compressed byte not yet in `input`.
    next: u64,
    /// Compressed bytes of the current chunk not yet in `input`.
    left_in_chunk: u64,
    /// Compressed bytes read from the file (when they were not in the source's head).
    buffer: Vec<u8>,
    /// The unread input: a range of the source's head, or of `buffer`.
    input: std::ops::Range<usize>,
    from_head: bool,
    /// The first chunk header was read (later headers follow a CRC).
    started: bool,
    ended: bool,
}

impl<'a> IdatStream<'a> {
    fn new(source: &'a dyn Source, first_idat: u64, inflater: &'a mut Decompress) -> Self {
        IdatStream {
            source,
            inflater,
            next: first_idat,
            left_in_chunk: 0,
            buffer: Vec::new(),
            input: 0..0,
            from_head: false,
            started: false,
            ended: false,
        }
    }

    /// Make more compressed bytes available; false at the end of the image data.
    fn refill(&mut self) -> Result<bool> {
        while self.left_in_chunk == 0 {
            // The next chunk's header (the first call starts at the first IDAT's; later ones skip a CRC).
            let at = if self.started {
                self.next + 4
            } else {
                self.next
            };
            self.started = true;
            let mut header = [0u8; 8];
            let n = self
                .source
                .read_at(at, &mut header)
                .map_err(|e| io_error(&e))?;
            if n < header.len() || &header[4..8] != b"IDAT" {
                return Ok(false);
            }
            self.left_in_chunk = u64::from(be32(&header[..4]));
            self.next = at + 8;
            self.from_head = false;
            self.buffer.clear();
        }
        let head = self.source.head();
        let start = usize::try_from(self.next).unwrap_or(usize::MAX);
        let in_chunk = usize::try_from(self.left_in_chunk).unwrap_or(usize::MAX);
        let take = if start < head.len() {
            self.from_head = true;
            let take = (head.len() - start).min(in_chunk);
            self.input = start..start + take;
            take
        } else {
            self.from_head = false;
            let take = READ.min(in_chunk);
            self.buffer.resize(take, 0);
            let got = self
                .source
                .read_at(self.next, &mut self.buffer)
                .map_err(|e| io_error(&e))?;
            if got == 0 {
                return Ok(false);
            }
            self.buffer.truncate(got);
            self.input = 0..got;
            got
        };
        self.next += take as u64;
        self.left_in_chunk -= take as u64;
        Ok(true)
    }

    /// Fill `out` with the next inflated bytes.
    fn inflate(&mut self, out: &mut [u8]) -> Result<()> {
        let mut filled = 0;
        while filled < out.len() {
            let (in_before, out_before) = (self.inflater.total_in(), self.inflater.total_out());
            let input_len = self.input.len();
            // With no input left the inflater may still hold output: it is asked before more is read.
            let status = {
                let bytes = if self.from_head {
                    self.source.head()
                } else {
                    &self.buffer
                };
                let input = bytes.get(self.input.clone()).unwrap_or(&[]);
                self.inflater
                    .decompress(input, &mut out[filled..], FlushDecompress::None)
                    .map_err(decode_error)?
            };
            let used = usize::try_from(self.inflater.total_in() - in_before).unwrap_or(input_len);
            let made = usize::try_from(self.inflater.total_out() - out_before).unwrap_or(0);
            self.input.start += used.min(input_len);
            filled += made;
            if status == Status::StreamEnd {
                self.ended = true;
            }
            if filled == out.len() {
                break;
            }
            if self.ended {
                return Err(decode_error("the image data ends before the first rows"));
            }
            if used == 0 && made == 0 {
                if !self.input.is_empty() {
                    // No progress with input left: the stream is stuck (a zlib error would have said so).
                    return Err(decode_error("the image data does not inflate"));
                }
                if !self.refill()? {
                    return Err(decode_error("the image data ends before the first rows"));
                }
            }
        }
        Ok(())
    }

    /// Inflate `n` bytes and drop them.
    fn skip(&mut self, mut n: u64) -> Result<()> {
        let mut scratch = [0u8; 4096];
        while n > 0 {
            let step = usize::try_from(n)
                .unwrap_or(scratch.len())
                .min(scratch.len());
            self.inflate(&mut scratch[..step])?;
            n -= step as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::{probe_png_rows, SIGNATURES};
    use super::*;

    /// A PNG of noise (`samples` 8-bit values per pixel) whose first pixels, column-major, carry `signature`
    /// and a short payload in the LSBs of alpha (`alpha`) or of R, G and B. 16-bit samples are v × 257.
    fn stealth_png(
        color: png::ColorType,
        depth: png::BitDepth,
        filter: png::Filter,
        (w, h): (u32, u32),
        signature: Option<(&[u8], bool)>,
    ) -> Vec<u8> {
        let channels = color.samples();
        let mut seed = 0x9e37_79b9u32 ^ w ^ (h << 8);
        let mut px: Vec<u8> = (0..w * h * channels as u32)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        if let Some((sig, alpha)) = signature {
            let mut bytes = sig.to_vec();
            bytes.extend_from_slice(&40u32.to_be_bytes());
            bytes.extend_from_slice(b"a cat");
            let bits: Vec<u8> = bytes
                .iter()
                .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
                .collect();
            let targets: Vec<usize> = if alpha {
                vec![channels - 1]
            } else {
                vec![0, 1, 2]
            };
            let mut k = 0;
            'fill: for x in 0..w as usize {
                for y in 0..h as usize {
                    for &c in &targets {
                        let Some(bit) = bits.get(k) else {
                            break 'fill;
                        };
                        let at = (y * w as usize + x) * channels + c;
                        px[at] = (px[at] & 0xfe) | bit;
                        k += 1;
                    }
                }
            }
        }
        let data: Vec<u8> = if depth == png::BitDepth::Sixteen {
            px.iter()
                .flat_map(|v| (u16::from(*v) * 257).to_be_bytes())
                .collect()
        } else {
            px
        };
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(color);
        encoder.set_depth(depth);
        encoder.set_filter(filter);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&data).unwrap();
        writer.finish().unwrap();
        out
    }

    /// The same file with its image data cut into IDAT chunks of `size` bytes.
    fn rechunk(file: &[u8], size: usize) -> Vec<u8> {
        let mut pos = 8;
        let (mut before, mut stream, mut after) = (file[..8].to_vec(), Vec::new(), Vec::new());
        while pos < file.len() {
            let len = be32(&file[pos..]) as usize;
            let whole = &file[pos..pos + 12 + len];
            match &file[pos + 4..pos + 8] {
                b"IDAT" => stream.extend_from_slice(&whole[8..8 + len]),
                _ if stream.is_empty() => before.extend_from_slice(whole),
                _ => after.extend_from_slice(whole),
            }
            pos += 12 + len;
        }
        for piece in stream.chunks(size) {
            before.extend((piece.len() as u32).to_be_bytes());
            let mut body = b"IDAT".to_vec();
            body.extend_from_slice(piece);
            before.extend_from_slice(&body);
            before.extend(crc32(&body).to_be_bytes());
        }
        before.extend(after);
        before
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        crc.sum()
    }

    fn both(file: &[u8]) -> (Option<StealthProbe>, StealthProbe) {
        let fast = probe(&file, &Limits::DEFAULT).unwrap();
        let rows = probe_png_rows(&file, &Limits::DEFAULT).unwrap();
        (fast, rows)
    }

    #[test]
    fn the_first_column_gives_the_decoders_answer_for_every_filter_depth_and_colour() {
        use png::{BitDepth::*, ColorType::*, Filter};
        let kinds = [
            (Grayscale, Eight),
            (GrayscaleAlpha, Eight),
            (Rgb, Eight),
            (Rgba, Eight),
            (GrayscaleAlpha, Sixteen),
            (Rgb, Sixteen),
            (Rgba, Sixteen),
        ];
        let filters = [
            Filter::NoFilter,
            Filter::Sub,
            Filter::Up,
            Filter::Avg,
            Filter::Paeth,
            Filter::Adaptive,
        ];
        let mut found = 0;
        for (color, depth) in kinds {
            let alpha = matches!(color, GrayscaleAlpha | Rgba);
            for filter in filters {
                for size in [(24, 150), (90, 5)] {
                    for (sig, in_alpha) in SIGNATURES {
                        let rgb = matches!(color, Rgb | Rgba);
                        if *in_alpha && !alpha || !*in_alpha && !rgb {
                            continue;
                        }
                        for signature in [None, Some((&sig[..], *in_alpha))] {
                            let file = stealth_png(color, depth, filter, size, signature);
                            let (fast, rows) = both(&file);
                            let case =
                                format!("{color:?} {depth:?} {filter:?} {size:?} {signature:?}");
                            assert_eq!(fast, Some(rows), "{case}");
                            if signature.is_some() {
                                assert_eq!(rows, StealthProbe::Signature, "{case}");
                                found += 1;
                            }
                            // Image data cut into tiny IDAT chunks reads the same.
                            assert_eq!(
                                probe(&rechunk(&file, 5).as_slice(), &Limits::DEFAULT).unwrap(),
                                fast
                            );
                        }
                    }
                }
            }
        }
        assert!(found > 100, "{found}");
    }

    #[test]
    fn images_the_decoder_must_expand_are_left_to_it() {
        // Interlaced, palette and 1-bit files answer None here (the decoder's probe handles them).
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 8, 8);
        encoder.set_color(png::ColorType::Indexed);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_palette(vec![0u8; 3]);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[0u8; 64]).unwrap();
        writer.finish().unwrap();
        assert_eq!(probe(&out.as_slice(), &Limits::DEFAULT).unwrap(), None);
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 8, 8);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[0u8; 8]).unwrap();
        writer.finish().unwrap();
        assert_eq!(probe(&out.as_slice(), &Limits::DEFAULT).unwrap(), None);
    }

    #[test]
    fn broken_image_data_is_an_error_naming_the_reason() {
        let file = stealth_png(
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            png::Filter::NoFilter,
            (64, 64),
            None,
        );
        // The image data cut after its zlib header: nothing to inflate.
        let idat = file.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
        let mut cut = file[..idat].to_vec();
        cut.extend(rechunk(&file, 2)[idat..idat + 14].iter());
        let err = probe(&cut.as_slice(), &Limits::DEFAULT)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("stealth") && err.contains("first pixel rows"),
            "{err}"
        );
        // A filter type PNG does not define.
        let mut raw = vec![9u8];
        raw.extend([0u8; 3 * 4]);
        let mut bad = file[..idat].to_vec();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &raw).unwrap();
        let body = [b"IDAT".to_vec(), z.finish().unwrap()].concat();
        bad.extend(((body.len() - 4) as u32).to_be_bytes());
        bad.extend_from_slice(&body);
        bad.extend(crc32(&body).to_be_bytes());
        let err = probe(&bad.as_slice(), &Limits::DEFAULT)
            .unwrap_err()
            .to_string();
        assert!(err.contains("filter type 9"), "{err}");
    }
}
