//! MP4, M4V, 3GP and QuickTime MOV (ISO BMFF video): metadata, the record, data id and movie facts.
//!
//! Reading walks boxes by their sizes (the box walker of [`crate::bmff`]) and reads only `moov` metadata boxes and
//! top-level XMP: never `mdat`. Metadata found (`video-containers.md` §1.2):
//! - `moov/udta/meta` and `moov/meta` with handler `mdir` → `ilst` items (`©cmt`, `©too`, `desc`, …), origin
//!   `mp4:ilst`, keys named by [`ITEM_KEYS`] (`comment`, `encoder`, `description`);
//! - the same with handler `mdta` → `keys` + `ilst` (ffmpeg `-movflags use_metadata_tags`), origin `mp4:mdta`, the
//!   key names verbatim (`prompt`, `workflow`);
//! - QuickTime user data atoms `moov/udta/©xxx`, origin `mp4:udta`;
//! - XMP in the top-level `uuid` box [`XMP_UUID`] and in `moov/udta/XMP_`; the stemma record is `stemma:record`
//!   in that XMP (placement: `spec/notes/video-placement.md`).
//!
//! Data id: SHA-256 of the payloads of every top-level `mdat` box in file order (the coded samples; metadata never
//! lives in `mdat`). Writing is in [`crate::mp4_write`].

use sha2::{Digest, Sha256};
use stemma_model::ContentId;

use crate::bmff::{boxes_in, read_exact, BoxRef, C2PA_UUID};
use crate::detect::Format;
use crate::error::{Error, Result};
use crate::handler::{ContainerHandler, Edit};
use crate::limits::Limits;
use crate::metadata::{Block, Entry, Metadata, Value};
use crate::source::Source;
use crate::video::VideoInfo;
use crate::xmp;

/// The `uuid` extended type of an XMP packet in ISO BMFF (XMP Specification Part 3).
pub const XMP_UUID: [u8; 16] = [
    0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
];

/// iTunes item and QuickTime user-data atom names → the key an entry gets (ffmpeg's names, `movenc.c`).
pub const ITEM_KEYS: &[(&[u8; 4], &str)] = &[
    (b"\xA9cmt", "comment"),
    (b"\xA9des", "description"),
    (b"desc", "description"),
    (b"ldes", "synopsis"),
    (b"\xA9too", "encoder"),
    (b"\xA9swr", "encoder"),
    (b"\xA9nam", "title"),
    (b"\xA9ART", "artist"),
    (b"\xA9aut", "author"),
    (b"\xA9day", "date"),
    (b"cprt", "copyright"),
    (b"\xA9cpy", "copyright"),
    (b"\xA9gen", "genre"),
    (b"keyw", "keywords"),
    (b"\xA9key", "keywords"),
    (b"\xA9alb", "album"),
    (b"\xA9wrt", "composer"),
    (b"\xA9inf", "information"),
    (b"\xA9mak", "make"),
    (b"\xA9mod", "model"),
];

pub(crate) fn malformed(reason: impl Into<String>, offset: u64) -> Error {
    Error::Malformed {
        format: "MP4",
        reason: reason.into(),
        offset,
    }
}

/// A box's name for messages and listings (`©cmt` with the copyright sign).
pub(crate) fn box_name(kind: &[u8; 4]) -> String {
    kind.iter()
        .map(|&c| if c == 0xA9 { '©' } else { char::from(c) })
        .collect()
}

/// The children of a box, one level deeper (checked against `max_depth`).
pub(crate) fn children(
    source: &dyn Source,
    parent: &BoxRef,
    skip: u64,
    depth: u64,
    limits: &Limits,
) -> Result<Vec<BoxRef>> {
    limits.check_depth(depth, "box", parent.start)?;
    boxes_in(source, parent.payload + skip, parent.end, limits)
}

/// A box's payload, within `max_metadata_chunk`.
pub(crate) fn payload(source: &dyn Source, b: &BoxRef, limits: &Limits) -> Result<Vec<u8>> {
    let n = b.end - b.payload;
    if n > limits.max_metadata_chunk {
        return Err(Error::Limit {
            limit: "max_metadata_chunk",
            max: limits.max_metadata_chunk,
            found: n,
            context: format!("'{}' box at offset {}", box_name(&b.kind), b.start),
        });
    }
    read_exact(source, b.payload, n as usize)
}

fn first<'a>(boxes: &'a [BoxRef], kind: &[u8; 4]) -> Option<&'a BoxRef> {
    boxes.iter().find(|b| &b.kind == kind)
}

/// True for a top-level `uuid` box with this extended type.
pub(crate) fn is_uuid(source: &dyn Source, b: &BoxRef, id: &[u8; 16]) -> bool {
    &b.kind == b"uuid"
        && b.end - b.payload >= 16
        && read_exact(source, b.payload, 16).ok().as_deref() == Some(&id[..])
}

/// Where the structures of a movie are.
#[derive(Debug, Default)]
pub(crate) struct Movie {
    pub top: Vec<BoxRef>,
    pub moov: Option<BoxRef>,
    pub moov_children: Vec<BoxRef>,
    pub udta: Option<BoxRef>,
    pub udta_children: Vec<BoxRef>,
}

/// Walk the top-level boxes and `moov`'s and `moov/udta`'s children.
pub(crate) fn parse_movie(source: &dyn Source, limits: &Limits) -> Result<Movie> {
    let top = boxes_in(source, 0, source.len(), limits)?;
    if top.is_empty() {
        return Err(Error::UnknownFormat(
            "not an MP4/MOV file (no boxes)".into(),
        ));
    }
    let mut movie = Movie {
        moov: first(&top, b"moov").copied(),
        ..Movie::default()
    };
    if let Some(moov) = &movie.moov {
        movie.moov_children = children(source, moov, 0, 1, limits)?;
        movie.udta = first(&movie.moov_children, b"udta").copied();
        if let Some(udta) = &movie.udta {
            movie.udta_children = children(source, udta, 0, 2, limits)?;
        }
    }
    movie.top = top;
    Ok(movie)
}

/// Where the children of a `meta` box start: ISO `meta` is a full box (4 bytes of version and flags), Apple's
/// QuickTime `meta` is not; the first child (`hdlr`) tells which.
fn meta_skip(source: &dyn Source, meta: &BoxRef) -> u64 {
    match read_exact(source, meta.payload, 8) {
        Ok(h) if &h[4..8] == b"hdlr" => 0,
        _ => 4,
    }
}

/// The value of a `data` atom: type 1 UTF-8, 2 UTF-16BE, 21/22 signed/unsigned big-endian integers, 0 (implicit)
/// text when it is UTF-8; anything else as bytes.
fn data_value(d: &[u8]) -> Value {
    let kind = d
        .get(0..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x00FF_FFFF)
        .unwrap_or(0);
    let body = d.get(8..).unwrap_or(&[]);
    match kind {
        1 => Value::Text(String::from_utf8_lossy(body).into_owned()),
        2 => {
            let units: Vec<u16> = body
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Value::Text(String::from_utf16_lossy(&units))
        }
        21 | 22 if (1..=8).contains(&body.len()) => {
            let mut v: u64 = 0;
            for &b in body {
                v = (v << 8) | u64::from(b);
            }
            if kind == 21 && body[0] & 0x80 != 0 {
                let shift = 64 - 8 * body.len() as u32;
                Value::Text(((v << shift) as i64 >> shift).to_string())
            } else {
                Value::Text(v.to_string())
            }
        }
        0 => match std::str::from_utf8(body) {
            Ok(t) => Value::Text(t.to_string()),
            Err(_) => Value::Bytes(body.to_vec()),
        },
        _ => Value::Bytes(body.to_vec()),
    }
}

fn item_key(kind: &[u8; 4]) -> String {
    ITEM_KEYS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, name)| (*name).to_string())
        .unwrap_or_else(|| box_name(kind))
}

fn entry(origin: &str, key: String, value: Value) -> Entry {
    Entry {
        origin: origin.into(),
        key,
        value,
        after_image_data: false,
        encoding: None,
    }
}

/// The entries of a `meta` box (`hdlr` + optional `keys` + `ilst`).
fn scan_meta(
    source: &dyn Source,
    meta: &BoxRef,
    depth: u64,
    out: &mut Metadata,
    limits: &Limits,
) -> Result<()> {
    let kids = children(source, meta, meta_skip(source, meta), depth, limits)?;
    let mut keys: Vec<String> = Vec::new();
    if let Some(k) = first(&kids, b"keys") {
        let d = payload(source, k, limits)?;
        let mut at = 8usize;
        while at + 8 <= d.len() {
            let size = u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]) as usize;
            if size < 8 || at + size > d.len() {
                return Err(malformed("bad entry in 'keys'", k.payload + at as u64));
            }
            keys.push(String::from_utf8_lossy(&d[at + 8..at + size]).into_owned());
            at += size;
        }
    }
    let Some(ilst) = first(&kids, b"ilst") else {
        return Ok(());
    };
    for item in children(source, ilst, 0, depth + 1, limits)? {
        let index = u32::from_be_bytes(item.kind) as usize;
        let (origin, mut key) = if !keys.is_empty() && (1..=keys.len()).contains(&index) {
            ("mp4:mdta", keys[index - 1].clone())
        } else {
            ("mp4:ilst", item_key(&item.kind))
        };
        for part in children(source, &item, 0, depth + 2, limits)? {
            match &part.kind {
                b"name" => {
                    let d = payload(source, &part, limits)?;
                    key = String::from_utf8_lossy(d.get(4..).unwrap_or(&[])).into_owned();
                }
                b"data" => {
                    let d = payload(source, &part, limits)?;
                    out.entries.push(entry(origin, key.clone(), data_value(&d)));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// A QuickTime user-data text atom (`©xxx`): one or more `u16 size, u16 language, text` strings; some writers
/// put an iTunes-style `data` atom there instead.
fn scan_udta_text(
    source: &dyn Source,
    b: &BoxRef,
    out: &mut Metadata,
    limits: &Limits,
) -> Result<()> {
    let d = payload(source, b, limits)?;
    let key = item_key(&b.kind);
    if d.get(4..8) == Some(b"data") {
        let size = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
        let body = d.get(8..size.min(d.len())).unwrap_or(&[]);
        out.entries.push(entry("mp4:udta", key, data_value(body)));
        return Ok(());
    }
    let mut at = 0usize;
    while at + 4 <= d.len() {
        let n = usize::from(u16::from_be_bytes([d[at], d[at + 1]]));
        let text = d.get(at + 4..at + 4 + n).unwrap_or(&d[at + 4..]);
        out.entries.push(entry(
            "mp4:udta",
            key.clone(),
            Value::Text(String::from_utf8_lossy(text).into_owned()),
        ));
        at += 4 + n;
    }
    Ok(())
}

/// The MP4/MOV handler (one instance per format).
#[derive(Debug, Clone, Copy)]
pub struct Mp4Handler(pub Format);

impl ContainerHandler for Mp4Handler {
    fn format(&self) -> Format {
        self.0
    }

    fn scan(&self, source: &dyn Source, limits: &Limits) -> Result<Metadata> {
        let movie = parse_movie(source, limits)?;
        let mut meta = Metadata {
            format: self.0,
            ..Metadata::default()
        };
        let mut after_media = false;
        for b in &movie.top {
            meta.blocks.push(Block {
                kind: box_name(&b.kind),
                offset: b.start,
                size: b.end - b.payload,
                label: None,
                after_image_data: after_media,
            });
            after_media |= &b.kind == b"mdat";
        }
        for b in &movie.moov_children {
            meta.blocks.push(Block {
                kind: format!("moov/{}", box_name(&b.kind)),
                offset: b.start,
                size: b.end - b.payload,
                label: None,
                after_image_data: false,
            });
        }
        for b in &movie.udta_children {
            let res = match &b.kind {
                b"meta" => scan_meta(source, b, 3, &mut meta, limits),
                b"XMP_" => payload(source, b, limits)
                    .map(|d| xmp::push_packet(&mut meta, &d, "packet", false, limits)),
                k if k[0] == 0xA9 => scan_udta_text(source, b, &mut meta, limits),
                _ => Ok(()),
            };
            if let Err(e) = res {
                meta.warnings
                    .push(format!("moov/udta/{}: {e}", box_name(&b.kind)));
            }
        }
        if let Some(m) = first(&movie.moov_children, b"meta") {
            if let Err(e) = scan_meta(source, m, 2, &mut meta, limits) {
                meta.warnings.push(format!("moov/meta: {e}"));
            }
        }
        for b in &movie.top {
            if is_uuid(source, b, &XMP_UUID) {
                let n = b.end - b.payload - 16;
                if n > limits.max_metadata_chunk {
                    meta.warnings.push(format!(
                        "XMP box at offset {} is {n} bytes, over max_metadata_chunk; not read",
                        b.start
                    ));
                    continue;
                }
                let d = read_exact(source, b.payload + 16, n as usize)?;
                xmp::push_packet(&mut meta, &d, "packet", false, limits);
            } else if is_uuid(source, b, &C2PA_UUID) {
                meta.entries
                    .push(entry("c2pa", "manifest".into(), Value::Bytes(Vec::new())));
            }
        }
        match movie_info(source, &movie, self.0, limits) {
            Ok(info) => {
                meta.width = info.width;
                meta.height = info.height;
                meta.frames = info.frames.and_then(|f| u32::try_from(f).ok());
            }
            Err(e) => meta.warnings.push(format!("movie header: {e}")),
        }
        Ok(meta)
    }

    fn apply(
        &self,
        file: &[u8],
        edit: &Edit,
        mirrors: &crate::mirror::Mirrors,
        limits: &Limits,
    ) -> Result<Vec<u8>> {
        crate::mp4_write::apply_edit(file, edit, mirrors, self.0, limits)
    }

    fn data_id(&self, file: &[u8], limits: &Limits) -> Result<ContentId> {
        let source: &dyn Source = &file;
        data_id_of(source, limits)
    }

    fn check(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>> {
        let source: &dyn Source = &file;
        let movie = parse_movie(source, limits)?;
        let mut problems = Vec::new();
        if movie.moov.is_none() {
            problems.push("no moov box (not a playable movie)".to_string());
        }
        if !movie
            .top
            .iter()
            .any(|b| &b.kind == b"mdat" || &b.kind == b"moof")
        {
            problems.push("no mdat box".to_string());
        }
        for t in crate::mp4_write::chunk_offset_tables(source, &movie, limits)? {
            for off in crate::mp4_write::table_offsets(file, &t)? {
                if off >= source.len() {
                    problems.push(format!("chunk offset {off} is past the end of the file"));
                    break;
                }
            }
        }
        Ok(problems)
    }
}

/// The data id of a movie: SHA-256 over the payloads of the top-level `mdat` boxes, in file order, read in
/// pieces (never the whole file at once).
pub fn data_id_of(source: &dyn Source, limits: &Limits) -> Result<ContentId> {
    let top = boxes_in(source, 0, source.len(), limits)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for b in top.iter().filter(|b| &b.kind == b"mdat") {
        let mut at = b.payload;
        while at < b.end {
            let n = usize::try_from((b.end - at).min(buf.len() as u64)).unwrap_or(buf.len());
            let got = source.read_at(at, &mut buf[..n])?;
            if got < n {
                return Err(Error::Truncated {
                    what: "mdat".into(),
                    offset: at,
                    needed: n as u64,
                    available: got as u64,
                });
            }
            hasher.update(&buf[..n]);
            at += n as u64;
        }
    }
    Ok(ContentId::from_digest(hasher.finalize().into()))
}

fn be_u32(d: &[u8], at: usize) -> Option<u32> {
    d.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be_u64(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 8)
        .map(|b| u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
}

/// (timescale, duration) of an `mvhd` or `mdhd` payload (version 0 or 1).
fn time_header(d: &[u8]) -> Option<(u32, u64)> {
    match d.first()? {
        1 => Some((be_u32(d, 20)?, be_u64(d, 24)?)),
        _ => Some((be_u32(d, 12)?, u64::from(be_u32(d, 16)?))),
    }
}

/// Movie facts from `mvhd` and the first video track (`tkhd` size, `mdhd` time, `stts` sample count, `stsd`
/// codec). Reads only boxes inside `moov`.
pub(crate) fn movie_info(
    source: &dyn Source,
    movie: &Movie,
    format: Format,
    limits: &Limits,
) -> Result<VideoInfo> {
    let mut info = VideoInfo {
        container: format,
        ..VideoInfo::default()
    };
    let Some(_) = movie.moov else {
        return Err(malformed("no moov box", 0));
    };
    if let Some(mvhd) = first(&movie.moov_children, b"mvhd") {
        if let Some((scale, dur)) = time_header(&payload(source, mvhd, limits)?) {
            if scale > 0 {
                info.duration = Some(dur as f64 / f64::from(scale));
            }
        }
    }
    for trak in movie.moov_children.iter().filter(|b| &b.kind == b"trak") {
        let tk = children(source, trak, 0, 2, limits)?;
        let Some(mdia) = first(&tk, b"mdia") else {
            continue;
        };
        let md = children(source, mdia, 0, 3, limits)?;
        let handler = match first(&md, b"hdlr") {
            Some(h) => payload(source, h, limits)?.get(8..12).map(<[u8]>::to_vec),
            None => None,
        };
        if handler.as_deref() != Some(b"vide") {
            continue;
        }
        if let Some(tkhd) = first(&tk, b"tkhd") {
            let d = payload(source, tkhd, limits)?;
            let at = if d.first() == Some(&1) { 88 } else { 76 };
            if let (Some(w), Some(h)) = (be_u32(&d, at), be_u32(&d, at + 4)) {
                info.width = Some(w >> 16);
                info.height = Some(h >> 16);
            }
        }
        let timing = match first(&md, b"mdhd") {
            Some(m) => time_header(&payload(source, m, limits)?),
            None => None,
        };
        let stbl = match first(&md, b"minf") {
            Some(minf) => {
                let mi = children(source, minf, 0, 4, limits)?;
                match first(&mi, b"stbl") {
                    Some(s) => children(source, s, 0, 5, limits)?,
                    None => Vec::new(),
                }
            }
            None => Vec::new(),
        };
        if let Some(stsd) = first(&stbl, b"stsd") {
            let d = read_exact(
                source,
                stsd.payload,
                16.min((stsd.end - stsd.payload) as usize),
            )?;
            if let Some(c) = d.get(12..16) {
                info.codec = Some(box_name(&[c[0], c[1], c[2], c[3]]));
            }
        }
        if let Some(stts) = first(&stbl, b"stts") {
            let d = payload(source, stts, limits)?;
            let count = be_u32(&d, 4).unwrap_or(0) as usize;
            let mut frames: u64 = 0;
            for i in 0..count {
                frames +=
                    u64::from(be_u32(&d, 8 + 8 * i).ok_or_else(|| {
                        malformed("stts shorter than its entry count", stts.payload)
                    })?);
            }
            // A fragmented movie lists its samples in the fragments, not in `stts`: frame count unknown.
            if frames == 0 {
                break;
            }
            info.frames = Some(frames);
            if let Some((scale, dur)) = timing.filter(|t| t.0 > 0 && t.1 > 0) {
                let seconds = dur as f64 / f64::from(scale);
                info.fps = Some(frames as f64 / seconds);
                info.duration.get_or_insert(seconds);
            }
        }
        break;
    }
    Ok(info)
}
