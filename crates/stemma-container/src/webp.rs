//! WebP (RIFF), simple (`VP8 `/`VP8L`) and extended (`VP8X`, animated `ANIM`/`ANMF`).
//!
//! Data id (specification §5.3): SHA-256 over the canvas width and height (u32 big-endian each: from `VP8X` when
//! present, else from the bitstream), then the `VP8 `, `VP8L`, `ALPH`, `ANIM` and `ANMF` chunks, in file order,
//! each as stored (fourcc, size, payload and padding byte). The RIFF header, `VP8X` itself, `ICCP`, metadata and
//! unknown chunks are left out: adding metadata to a simple file (which adds a `VP8X` with the bitstream's size)
//! keeps the id, while a different canvas gives another.
//!
//! The record lives in stemma's description inside the `XMP ` chunk. Adding metadata to a simple file turns it
//! into the extended form (a `VP8X` chunk with the canvas size from the bitstream); stemma's description then
//! notes the original state (`stemma:webp="simple"` or `"vp8x:<hex of the original VP8X payload>"`) so that
//! `strip --profile stemma` restores the original bytes exactly.

use sha2::{Digest, Sha256};
use stemma_model::ContentId;

use crate::detect::Format;
use crate::error::{Error, Result};
use crate::exif;
use crate::handler::{ContainerHandler, Edit, RecordChange, StripProfile};
use crate::limits::Limits;
use crate::metadata::{Block, Entry, Metadata, Value};
use crate::mirror::Mirrors;
use crate::source::{Source, Window};
use crate::xmp;

/// VP8X flag bits.
pub const FLAG_ANIMATION: u8 = 0x02;
pub const FLAG_XMP: u8 = 0x04;
pub const FLAG_EXIF: u8 = 0x08;
pub const FLAG_ALPHA: u8 = 0x10;
pub const FLAG_ICCP: u8 = 0x20;

/// Chunks that hold coded image data (hashed for the data id, never stripped).
const IMAGE_CHUNKS: &[&[u8; 4]] = &[b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF"];
/// Chunks kept by every strip profile.
const KEPT_CHUNKS: &[&[u8; 4]] = &[
    b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
];

fn malformed(reason: impl Into<String>, offset: usize) -> Error {
    Error::Malformed {
        format: "WebP",
        reason: reason.into(),
        offset: offset as u64,
    }
}

/// One RIFF chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub fourcc: [u8; 4],
    pub start: usize,
    /// Payload size as stored.
    pub size: usize,
    /// End including the padding byte (when present).
    pub end: usize,
}

impl Chunk {
    pub fn payload<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        file.get(self.start + 8..self.start + 8 + self.size)
            .unwrap_or(&[])
    }
    fn name(&self) -> String {
        self.fourcc.iter().map(|&b| char::from(b)).collect()
    }
}

/// A parsed file.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub chunks: Vec<Chunk>,
    /// The RIFF size field.
    pub riff_size: u32,
    /// Where the RIFF data ends (what follows is kept as a trailer).
    pub end: usize,
}

/// Parse a whole in-memory WebP.
pub fn parse(file: &[u8], limits: &Limits) -> Result<Parsed> {
    if file.len() < 12 || &file[0..4] != b"RIFF" || &file[8..12] != b"WEBP" {
        return Err(Error::UnknownFormat(
            "not a WebP (RIFF/WEBP header missing)".into(),
        ));
    }
    let riff_size = u32::from_le_bytes([file[4], file[5], file[6], file[7]]);
    let declared_end = 8usize.saturating_add(riff_size as usize);
    let end = declared_end.min(file.len());
    let mut chunks = Vec::new();
    let mut pos = 12usize;
    while pos + 8 <= end {
        limits.check_chunk_count(chunks.len() as u64, "RIFF chunk", pos)?;
        let fourcc = [file[pos], file[pos + 1], file[pos + 2], file[pos + 3]];
        let size = u32::from_le_bytes([file[pos + 4], file[pos + 5], file[pos + 6], file[pos + 7]])
            as usize;
        let data_end = pos + 8 + size;
        if data_end > file.len() {
            return Err(Error::Truncated {
                what: format!("{} chunk", String::from_utf8_lossy(&fourcc)),
                offset: pos as u64,
                needed: size as u64 + 8,
                available: (file.len() - pos) as u64,
            });
        }
        let padded = (data_end + (size & 1)).min(file.len());
        chunks.push(Chunk {
            fourcc,
            start: pos,
            size,
            end: padded,
        });
        pos = padded;
    }
    if chunks.is_empty() {
        return Err(malformed("no chunks after the RIFF header", 12));
    }
    let first = &chunks[0].fourcc;
    if !matches!(first, b"VP8 " | b"VP8L" | b"VP8X") {
        return Err(malformed(
            format!("first chunk is {}, not VP8 /VP8L/VP8X", chunks[0].name()),
            12,
        ));
    }
    Ok(Parsed {
        chunks,
        riff_size,
        end: pos,
    })
}

/// The canvas size: from `VP8X` (24-bit width − 1, height − 1) when present, else from the first bitstream.
fn canvas_size(file: &[u8], parsed: &Parsed) -> Option<(u32, u32)> {
    if let Some(v) = parsed.chunks.iter().find(|c| &c.fourcc == b"VP8X") {
        let p = v.payload(file);
        return (p.len() >= 10).then(|| (1 + u24(&p[4..7]), 1 + u24(&p[7..10])));
    }
    parsed
        .chunks
        .iter()
        .find_map(|c| bitstream_size(&c.fourcc, c.payload(file)))
        .map(|(w, h, _)| (w, h))
}

/// Width and height from a `VP8 ` or `VP8L` payload.
pub fn bitstream_size(fourcc: &[u8; 4], p: &[u8]) -> Option<(u32, u32, bool)> {
    match fourcc {
        b"VP8 " if p.len() >= 10 && p[3..6] == [0x9D, 0x01, 0x2A] => {
            let w = u32::from(u16::from_le_bytes([p[6], p[7]]) & 0x3FFF);
            let h = u32::from(u16::from_le_bytes([p[8], p[9]]) & 0x3FFF);
            Some((w, h, false))
        }
        b"VP8L" if p.len() >= 5 && p[0] == 0x2F => {
            let bits = u32::from_le_bytes([p[1], p[2], p[3], p[4]]);
            let w = (bits & 0x3FFF) + 1;
            let h = ((bits >> 14) & 0x3FFF) + 1;
            let alpha = (bits >> 28) & 1 == 1;
            Some((w, h, alpha))
        }
        _ => None,
    }
}

fn u24(b: &[u8]) -> u32 {
    u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16
}

/// True when the first image of the file is lossless (`VP8L`), looking at chunks only.
pub fn is_lossless(file: &[u8]) -> bool {
    let Ok(parsed) = parse(file, &Limits::DEFAULT) else {
        return false;
    };
    for c in &parsed.chunks {
        match &c.fourcc {
            b"VP8L" => return true,
            b"VP8 " => return false,
            b"ANMF" => {
                // Frame data starts after the 16-byte frame header; sub-chunks follow.
                let p = c.payload(file);
                let mut pos = 16usize;
                while pos + 8 <= p.len() {
                    let fcc = &p[pos..pos + 4];
                    if fcc == b"VP8L" {
                        return true;
                    }
                    if fcc == b"VP8 " {
                        return false;
                    }
                    let size = u32::from_le_bytes([p[pos + 4], p[pos + 5], p[pos + 6], p[pos + 7]])
                        as usize;
                    pos = pos.saturating_add(8 + size + (size & 1));
                }
                return false;
            }
            _ => {}
        }
    }
    false
}

/// The WebP handler.
#[derive(Debug, Default, Clone, Copy)]
pub struct WebpHandler;

impl ContainerHandler for WebpHandler {
    fn format(&self) -> Format {
        Format::Webp
    }

    fn scan(&self, source: &dyn Source, limits: &Limits) -> Result<Metadata> {
        scan(source, limits)
    }

    fn apply(
        &self,
        file: &[u8],
        edit: &Edit,
        mirrors: &Mirrors,
        limits: &Limits,
    ) -> Result<Vec<u8>> {
        apply_edit(file, edit, mirrors, limits)
    }

    fn data_id(&self, file: &[u8], limits: &Limits) -> Result<ContentId> {
        let parsed = parse(file, limits)?;
        let mut hasher = Sha256::new();
        let (width, height) = canvas_size(file, &parsed)
            .ok_or_else(|| malformed("no canvas size (no VP8X, VP8 or VP8L chunk)", 12))?;
        hasher.update(width.to_be_bytes());
        hasher.update(height.to_be_bytes());
        for c in &parsed.chunks {
            if IMAGE_CHUNKS.contains(&&c.fourcc) {
                hasher.update(&file[c.start..c.end]);
            }
        }
        Ok(ContentId::from_digest(hasher.finalize().into()))
    }

    fn check(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>> {
        let mut problems = self.damage(file, limits)?;
        let parsed = parse(file, limits)?;
        let declared = 8u64 + u64::from(parsed.riff_size);
        if declared < file.len() as u64 {
            problems.push(format!(
                "RIFF size says {declared} bytes, the file has {} (the rest is kept on write)",
                file.len()
            ));
        }
        Ok(problems)
    }

    fn damage(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>> {
        let parsed = parse(file, limits)?;
        let mut problems = Vec::new();
        let declared = 8u64 + u64::from(parsed.riff_size);
        if declared > file.len() as u64 {
            problems.push(format!(
                "RIFF size says {declared} bytes, the file has {}: the file is truncated",
                file.len()
            ));
        }
        if let Some(last) = parsed.chunks.last() {
            if last.end < last.start + 8 + last.size + (last.size & 1) {
                problems.push(format!("{} chunk lacks its padding byte", last.name()));
            }
            // Bytes the RIFF size covers after the last chunk that are too few for a chunk: a rewrite would have
            // to change the RIFF size, which stripping would not give back.
            let inside = declared.min(file.len() as u64);
            if (parsed.end as u64) < inside {
                problems.push(format!(
                    "{} bytes inside the RIFF size after the last chunk are not a chunk",
                    inside - parsed.end as u64
                ));
            }
            // A chunk that starts inside the RIFF data but ends past its declared size: a writer would have to
            // either cut the chunk or change the RIFF size, bytes stemma does not own.
            if (last.start + 8 + last.size) as u64 > declared && declared <= file.len() as u64 {
                problems.push(format!(
                    "{} chunk runs past the RIFF size ({declared} bytes)",
                    last.name()
                ));
            }
        }
        let has = |f: &[u8; 4]| parsed.chunks.iter().any(|c| &c.fourcc == f);
        if let Some(v) = parsed.chunks.iter().find(|c| &c.fourcc == b"VP8X") {
            let flags = v.payload(file).first().copied().unwrap_or(0);
            for (bit, fcc, name) in [
                (FLAG_XMP, b"XMP ", "XMP"),
                (FLAG_EXIF, b"EXIF", "EXIF"),
                (FLAG_ICCP, b"ICCP", "ICC"),
                (FLAG_ANIMATION, b"ANIM", "animation"),
            ] {
                if (flags & bit != 0) != has(fcc) {
                    problems.push(format!(
                        "VP8X {name} flag is {} but the chunk is {}",
                        if flags & bit != 0 { "set" } else { "clear" },
                        if has(fcc) { "present" } else { "absent" }
                    ));
                }
            }
        } else if parsed.chunks.len() > 1 {
            problems.push("simple WebP carries extra chunks without VP8X".into());
        }
        if !parsed
            .chunks
            .iter()
            .any(|c| matches!(&c.fourcc, b"VP8 " | b"VP8L" | b"ANMF"))
        {
            problems.push("no image data chunk".into());
        }
        Ok(problems)
    }
}

fn scan(source: &dyn Source, limits: &Limits) -> Result<Metadata> {
    let mut window = Window::new(source, 64 * 1024)?;
    let len = window.len();
    let head = window.get(0, 12)?.to_vec();
    if head.len() < 12 || &head[0..4] != b"RIFF" || &head[8..12] != b"WEBP" {
        return Err(Error::UnknownFormat(
            "not a WebP (RIFF/WEBP header missing)".into(),
        ));
    }
    let riff_size = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
    let end = (8 + riff_size).min(len);
    let mut meta = Metadata {
        format: Format::Webp,
        ..Metadata::default()
    };
    if 8 + riff_size != len {
        meta.warnings.push(format!(
            "RIFF size says {} bytes, the file has {len}",
            8 + riff_size
        ));
    }
    let mut pos: u64 = 12;
    let mut frames: u32 = 0;
    let mut count: u64 = 0;
    let mut seen_image = false;
    while pos + 8 <= end {
        limits.check_chunk_count(count, "RIFF chunk", pos)?;
        count += 1;
        let h = window.get(pos, 8)?.to_vec();
        if h.len() < 8 {
            break;
        }
        let fourcc = [h[0], h[1], h[2], h[3]];
        let size = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        if pos + 8 + size > len {
            return Err(Error::Truncated {
                what: format!("{} chunk", String::from_utf8_lossy(&fourcc)),
                offset: pos,
                needed: size + 8,
                available: len - pos,
            });
        }
        if count == 1 && !matches!(&fourcc, b"VP8 " | b"VP8L" | b"VP8X") {
            return Err(malformed(
                format!(
                    "first chunk is {}, not VP8 /VP8L/VP8X",
                    String::from_utf8_lossy(&fourcc)
                ),
                pos as usize,
            ));
        }
        let is_image = IMAGE_CHUNKS.contains(&&fourcc) && &fourcc != b"ANIM";
        let after = seen_image && !is_image;
        let name: String = fourcc.iter().map(|&b| char::from(b)).collect();
        meta.blocks.push(Block {
            kind: name.clone(),
            offset: pos,
            size,
            label: None,
            after_image_data: after,
        });
        match &fourcc {
            b"VP8X" => {
                let p = window.get(pos + 8, 10)?.to_vec();
                if p.len() == 10 {
                    meta.width = Some(u24(&p[4..7]) + 1);
                    meta.height = Some(u24(&p[7..10]) + 1);
                }
            }
            b"VP8 " | b"VP8L" if meta.width.is_none() => {
                let p = window.get(pos + 8, 10)?.to_vec();
                if let Some((w, h, _)) = bitstream_size(&fourcc, &p) {
                    meta.width = Some(w);
                    meta.height = Some(h);
                }
            }
            b"ANMF" => frames = frames.saturating_add(1),
            b"EXIF" | b"XMP " | b"C2PA" => {
                if size > limits.max_metadata_chunk {
                    return Err(Error::Limit {
                        limit: "max_metadata_chunk",
                        max: limits.max_metadata_chunk,
                        found: size,
                        context: format!("{name} chunk at offset {pos}"),
                    });
                }
                let p = window.get(pos + 8, size as usize)?.to_vec();
                match &fourcc {
                    b"EXIF" => {
                        meta.entries.push(Entry {
                            origin: "webp:EXIF".into(),
                            key: "exif".into(),
                            value: Value::Bytes(p.clone()),
                            after_image_data: after,
                            encoding: None,
                        });
                        match exif::entries(&p, after) {
                            Ok(e) => meta.entries.extend(e),
                            Err(e) => meta
                                .warnings
                                .push(format!("EXIF chunk at offset {pos}: {e}")),
                        }
                    }
                    b"XMP " => xmp::push_packet(&mut meta, &p, "packet", after, limits),
                    _ => meta.entries.push(Entry {
                        origin: "c2pa".into(),
                        key: "manifest".into(),
                        value: Value::Bytes(p),
                        after_image_data: after,
                        encoding: None,
                    }),
                }
            }
            _ => {}
        }
        if is_image {
            seen_image = true;
        }
        pos += 8 + size + (size & 1);
    }
    if frames > 0 {
        meta.frames = Some(frames);
    }
    Ok(meta)
}

fn chunk_bytes(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 9);
    out.extend_from_slice(fourcc);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// What goes into the output, in order.
enum Piece<'a> {
    Original(&'a [u8]),
    New(Vec<u8>),
    Vp8x,
}

fn apply_edit(file: &[u8], edit: &Edit, mirrors: &Mirrors, limits: &Limits) -> Result<Vec<u8>> {
    if file.len() as u64 > limits.max_edit_file {
        return Err(Error::Limit {
            limit: "max_edit_file",
            max: limits.max_edit_file,
            found: file.len() as u64,
            context: "file to rewrite".into(),
        });
    }
    let parsed = parse(file, limits)?;
    let chunks = &parsed.chunks;
    let has_c2pa = chunks.iter().any(|c| &c.fourcc == b"C2PA");
    if edit.breaks_c2pa(has_c2pa) {
        return Err(Error::C2paProtected("WebP C2PA chunk".into()));
    }
    let strip_all = matches!(edit.strip, Some(StripProfile::All));
    let touch_stemma = !matches!(edit.record, RecordChange::Keep) || edit.strip.is_some();
    let vp8x = chunks.iter().find(|c| &c.fourcc == b"VP8X").copied();
    let xmp_index = chunks.iter().position(|c| &c.fourcc == b"XMP ");
    let exif_index = chunks.iter().position(|c| &c.fourcc == b"EXIF");
    let existing_packet = xmp_index
        .map(|i| xmp::packet_text(chunks[i].payload(file)))
        .transpose()?;
    let marker = |name: &str| {
        existing_packet
            .as_deref()
            .and_then(|p| xmp::marker(p, name, limits))
    };
    let exif_was_new = marker("exif").as_deref() == Some("new");
    // RIFF pads an odd chunk with a zero byte. A file whose XMP chunk has another byte there keeps it as long as
    // the chunk is kept; rewriting the chunk would replace a byte stemma does not own (and stripping would not
    // give it back), so such an XMP chunk is not rewritten.
    let xmp_pad_foreign = xmp_index.is_some_and(|i| {
        let c = &chunks[i];
        c.size & 1 == 1 && file.get(c.start + 8 + c.size).is_some_and(|&b| b != 0)
    });
    let refuse_pad = || Error::Malformed {
        format: "WebP",
        reason: "the XMP chunk's padding byte is not zero; stemma does not rewrite that XMP".into(),
        offset: xmp_index.map_or(0, |i| chunks[i].start as u64),
    };
    let webp_marker = marker("webp");
    let base_packet = xmp::after_removal(
        existing_packet.as_deref(),
        touch_stemma && !strip_all,
        !matches!(edit.record, RecordChange::Keep),
        limits,
    )?;
    let mut new_exif: Option<Vec<u8>> = None;
    let new_packet = match &edit.record {
        RecordChange::Set(json) => {
            let has_exif = exif_index.is_some() && !strip_all && !exif_was_new;
            let mut markers: Vec<(&str, String)> = Vec::new();
            if !mirrors.exif.is_empty() && !has_exif {
                new_exif = Some(exif::build(&mirrors.exif));
                markers.push(("exif", "new".into()));
            }
            let source = if strip_all {
                None
            } else {
                existing_packet.as_deref()
            };
            if source.is_none() {
                // Note the state stemma starts from, for an exact strip.
                let state = match vp8x {
                    None => "simple".to_string(),
                    Some(v) => format!("vp8x:{}", hex::encode(v.payload(file))),
                };
                markers.push(("webp", state));
            }
            Some(
                xmp::plan_record_packet(
                    source,
                    json,
                    mirrors.for_xmp(edit),
                    &markers,
                    None,
                    limits,
                )?
                .standard,
            )
        }
        _ => None,
    };
    // Build the chunk list.
    let mut pieces: Vec<Piece> = Vec::new();
    let mut xmp_out = false;
    let mut exif_out = false;
    let anchor = chunks
        .iter()
        .rposition(|c| {
            matches!(
                &c.fourcc,
                b"VP8X" | b"ICCP" | b"ANIM" | b"VP8 " | b"VP8L" | b"ALPH" | b"ANMF" | b"EXIF"
            )
        })
        .unwrap_or(0);
    for (i, c) in chunks.iter().enumerate() {
        let original = &file[c.start..c.end];
        let kept_by_all = KEPT_CHUNKS.contains(&&c.fourcc);
        if &c.fourcc == b"VP8X" {
            pieces.push(Piece::Vp8x);
        } else if Some(i) == xmp_index {
            if let Some(p) = &new_packet {
                if xmp_pad_foreign {
                    return Err(refuse_pad());
                }
                if let Some(e) = new_exif.take() {
                    pieces.push(Piece::New(chunk_bytes(b"EXIF", &e)));
                    exif_out = true;
                }
                pieces.push(Piece::New(chunk_bytes(b"XMP ", p.as_bytes())));
                xmp_out = true;
            } else if !strip_all {
                match &base_packet {
                    Some(p) if Some(p) == existing_packet.as_ref() => {
                        pieces.push(Piece::Original(original));
                        xmp_out = true;
                    }
                    Some(p) => {
                        if xmp_pad_foreign {
                            return Err(refuse_pad());
                        }
                        pieces.push(Piece::New(chunk_bytes(b"XMP ", p.as_bytes())));
                        xmp_out = true;
                    }
                    None => {}
                }
            }
        } else if Some(i) == exif_index && exif_was_new && touch_stemma {
            if let Some(e) = new_exif.take() {
                pieces.push(Piece::New(chunk_bytes(b"EXIF", &e)));
                exif_out = true;
            }
        } else if kept_by_all || !strip_all {
            if &c.fourcc == b"EXIF" {
                exif_out = true;
            }
            pieces.push(Piece::Original(original));
        }
        if i == anchor && xmp_index.is_none() {
            if let Some(e) = new_exif.take() {
                pieces.push(Piece::New(chunk_bytes(b"EXIF", &e)));
                exif_out = true;
            }
            if let Some(p) = &new_packet {
                pieces.push(Piece::New(chunk_bytes(b"XMP ", p.as_bytes())));
                xmp_out = true;
            }
        }
    }
    // The VP8X chunk of the result.
    let restoring = touch_stemma && !strip_all && new_packet.is_none() && !xmp_out;
    // The original state comes back only when it fits what remains: a file that was simple stays extended while
    // another chunk is left (a foreign EXIF, say), and a saved VP8X whose flags disagree with the chunks left is
    // made again from them. Otherwise the result would be damaged, and a second strip would change it again.
    let only_bitstream = pieces.iter().all(|p| match p {
        Piece::Original(b) => b.starts_with(b"VP8 ") || b.starts_with(b"VP8L"),
        Piece::New(b) => b.starts_with(b"VP8 ") || b.starts_with(b"VP8L"),
        Piece::Vp8x => true,
    });
    let flags_agree = |payload: &[u8]| {
        let flags = payload.first().copied().unwrap_or(0);
        (flags & FLAG_XMP != 0) == xmp_out && (flags & FLAG_EXIF != 0) == exif_out
    };
    let saved_vp8x = match (&webp_marker, restoring) {
        (Some(m), true) if m.starts_with("vp8x:") => {
            Some(hex::decode(&m[5..]).map_err(|_| malformed("bad stemma:webp marker", 0))?)
        }
        _ => None,
    };
    let vp8x_bytes: Option<Vec<u8>> = match (&webp_marker, restoring) {
        (Some(m), true) if m == "simple" && only_bitstream => None,
        (Some(_), true) if saved_vp8x.as_deref().is_some_and(flags_agree) => saved_vp8x
            .as_deref()
            .map(|payload| chunk_bytes(b"VP8X", payload)),
        _ => {
            let needs = xmp_out || exif_out || vp8x.is_some();
            if needs {
                Some(vp8x_for(file, chunks, vp8x, xmp_out, exif_out)?)
            } else {
                None
            }
        }
    };
    let mut body: Vec<u8> = Vec::with_capacity(file.len() + 1024);
    body.extend_from_slice(b"WEBP");
    if vp8x.is_none() {
        if let Some(v) = &vp8x_bytes {
            body.extend_from_slice(v);
        }
    }
    for p in &pieces {
        match p {
            Piece::Original(b) => body.extend_from_slice(b),
            Piece::New(b) => body.extend_from_slice(b),
            Piece::Vp8x => {
                if let Some(v) = &vp8x_bytes {
                    body.extend_from_slice(v);
                }
            }
        }
    }
    let mut out = Vec::with_capacity(body.len() + 8 + file.len() - parsed.end);
    out.extend_from_slice(b"RIFF");
    let size = u32::try_from(body.len()).map_err(|_| Error::Limit {
        limit: "riff_size",
        max: u64::from(u32::MAX),
        found: body.len() as u64,
        context: "WebP after the edit".into(),
    })?;
    // Keep a RIFF size that did not match the file when nothing changed in the body.
    let original_body = file.get(8..parsed.end).unwrap_or(&[]);
    if body == original_body {
        out.extend_from_slice(&file[4..8]);
    } else {
        out.extend_from_slice(&size.to_le_bytes());
    }
    out.extend_from_slice(&body);
    out.extend_from_slice(file.get(parsed.end..).unwrap_or(&[]));
    Ok(out)
}

/// The VP8X chunk for the result: the original one with the XMP and EXIF flags set to what is present, or a
/// new one for a simple file (canvas from the bitstream, alpha from the VP8L header or an ALPH chunk).
fn vp8x_for(
    file: &[u8],
    chunks: &[Chunk],
    vp8x: Option<Chunk>,
    xmp: bool,
    exif: bool,
) -> Result<Vec<u8>> {
    let mut payload = match vp8x {
        Some(v) => {
            let mut p = v.payload(file).to_vec();
            if p.len() < 10 {
                return Err(malformed("VP8X chunk shorter than 10 bytes", v.start));
            }
            p[0] &= !(FLAG_XMP | FLAG_EXIF);
            p
        }
        None => {
            let img = chunks
                .iter()
                .find(|c| matches!(&c.fourcc, b"VP8 " | b"VP8L"))
                .ok_or_else(|| malformed("no VP8 /VP8L chunk", 12))?;
            let (w, h, alpha) = bitstream_size(&img.fourcc, img.payload(file))
                .ok_or_else(|| malformed("cannot read the bitstream header", img.start))?;
            if w == 0 || h == 0 {
                return Err(malformed("zero canvas size", img.start));
            }
            let alpha = alpha || chunks.iter().any(|c| &c.fourcc == b"ALPH");
            let mut p = vec![0u8; 10];
            p[0] = if alpha { FLAG_ALPHA } else { 0 };
            p[4..7].copy_from_slice(&(w - 1).to_le_bytes()[..3]);
            p[7..10].copy_from_slice(&(h - 1).to_le_bytes()[..3]);
            p
        }
    };
    if xmp {
        payload[0] |= FLAG_XMP;
    }
    if exif {
        payload[0] |= FLAG_EXIF;
    }
    if let Some(v) = vp8x {
        if payload == v.payload(file) {
            return Ok(file[v.start..v.end].to_vec());
        }
    }
    Ok(chunk_bytes(b"VP8X", &payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 extended WebP whose XMP chunk (odd length) is padded with `pad`.
    fn webp_with_xmp_pad(pad: u8) -> Vec<u8> {
        let packet = br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF></x:xmpmeta>"#;
        let packet = if packet.len() % 2 == 1 {
            packet.to_vec()
        } else {
            [&packet[..], b" "].concat()
        };
        let mut body = b"WEBP".to_vec();
        body.extend_from_slice(&chunk_bytes(
            b"VP8X",
            &[FLAG_XMP, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ));
        body.extend_from_slice(&chunk_bytes(b"VP8L", &[0x2F, 0, 0, 0, 0, 0]));
        body.extend_from_slice(b"XMP ");
        body.extend_from_slice(&(packet.len() as u32).to_le_bytes());
        body.extend_from_slice(&packet);
        body.push(pad);
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend_from_slice(&body);
        file
    }

    fn riff(body: &[u8]) -> Vec<u8> {
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(body.len() as u32 + 4).to_le_bytes());
        file.extend_from_slice(b"WEBP");
        file.extend_from_slice(body);
        file
    }

    #[test]
    fn a_simple_file_stays_extended_while_a_foreign_chunk_is_left() {
        // Found by fuzzing (write_roundtrip): stemma had made a simple file extended; an EXIF chunk it does not own
        // was added since. Stripping went back to a simple file that still carried the EXIF (damaged), and a
        // second strip changed it again.
        let limits = Limits::default();
        let handler = WebpHandler;
        let simple = riff(&chunk_bytes(b"VP8L", &[0x2F, 0, 0, 0, 0, 0]));
        let stamped = handler
            .edit(
                &simple,
                &Edit::set_record(r#"{"stemma":"1.0"}"#.into()),
                &limits,
            )
            .unwrap();
        let strip = Edit::strip(StripProfile::Stemma);
        assert_eq!(handler.edit(&stamped, &strip, &limits).unwrap(), simple);
        // Add a foreign EXIF chunk (and its VP8X flag) to the stamped file.
        let parsed = parse(&stamped, &limits).unwrap();
        let mut body = Vec::new();
        for c in &parsed.chunks {
            let mut bytes = stamped[c.start..c.end].to_vec();
            if &c.fourcc == b"VP8X" {
                bytes[8] |= FLAG_EXIF;
            }
            body.extend_from_slice(&bytes);
            if &c.fourcc == b"VP8L" {
                body.extend_from_slice(&chunk_bytes(b"EXIF", b"MM\0*\0\0\0\x08\0\0"));
            }
        }
        let with_exif = riff(&body);
        assert!(handler.damage(&with_exif, &limits).unwrap().is_empty());
        let once = handler.edit(&with_exif, &strip, &limits).unwrap();
        assert!(handler.damage(&once, &limits).unwrap().is_empty());
        assert_eq!(handler.edit(&once, &strip, &limits).unwrap(), once);
        assert!(once.windows(4).any(|w| w == b"EXIF"));
    }

    #[test]
    fn bytes_inside_the_riff_size_that_are_no_chunk_are_damage() {
        // Found by fuzzing (write_roundtrip): the RIFF size covered 4 bytes after the last chunk; a rewrite
        // shortened the size, so stamp then strip changed the header that strip alone kept.
        let limits = Limits::default();
        let mut file = riff(&chunk_bytes(b"VP8L", &[0x2F, 0, 0, 0, 0, 0]));
        let riff_size = u32::from_le_bytes([file[4], file[5], file[6], file[7]]) + 4;
        file[4..8].copy_from_slice(&riff_size.to_le_bytes());
        file.extend_from_slice(&[1, 2, 3, 4]);
        let problems = WebpHandler.damage(&file, &limits).unwrap();
        assert!(
            problems.iter().any(|p| p.contains("are not a chunk")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_chunk_past_the_riff_size_is_damage() {
        // Found by fuzzing (write_roundtrip): the XMP chunk ran past the declared RIFF size; a rewrite fixed the
        // size, so stamp then strip changed the header that strip alone kept.
        let limits = Limits::default();
        let mut file = webp_with_xmp_pad(0);
        let riff = u32::from_le_bytes([file[4], file[5], file[6], file[7]]) - 40;
        file[4..8].copy_from_slice(&riff.to_le_bytes());
        let problems = WebpHandler.damage(&file, &limits).unwrap();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("runs past the RIFF size")),
            "{problems:?}"
        );
        assert!(WebpHandler
            .damage(&webp_with_xmp_pad(0), &limits)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn an_xmp_chunk_with_a_foreign_padding_byte_is_not_rewritten() {
        // Found by fuzzing (write_roundtrip): the rewrite padded with zero, so stamp then strip changed the byte
        // after the file's XMP chunk that strip alone kept.
        let limits = Limits::default();
        let handler = WebpHandler;
        let zero = webp_with_xmp_pad(0);
        let stamp = Edit::set_record(r#"{"stemma":"1.0"}"#.into());
        assert!(handler.edit(&zero, &stamp, &limits).is_ok());
        let odd = webp_with_xmp_pad(b'<');
        let err = handler.edit(&odd, &stamp, &limits).unwrap_err();
        assert!(err.to_string().contains("padding byte"), "{err}");
        let strip = Edit::strip(StripProfile::Stemma);
        assert_eq!(handler.edit(&odd, &strip, &limits).unwrap(), odd);
    }
}
