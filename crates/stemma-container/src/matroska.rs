//! Matroska and WebM (EBML): metadata, the record, data id and video timing.
//!
//! Reading walks the EBML header and the Segment's top-level elements by their sizes, reading into memory only
//! `Info`, `Tracks` and `Tags` (each within `max_metadata_chunk`); clusters are skipped by their size, and a
//! cluster of unknown size is walked child by child (headers only) to its end. Entries: SimpleTags of Tags with
//! empty Targets as origin `mkv:tag` (of a track: `mkv:track-tag`), keys lower-cased (`PROMPT` → `prompt`);
//! `Info` Title, MuxingApp, WritingApp as origin `mkv:info`. The record is the SimpleTag `STEMMA`.
//!
//! Data id: SHA-256 of the frame data of every SimpleBlock and Block in file order: each block's data after its
//! header (track number, 16-bit timestamp, flags); lace sizes stay in for laced blocks. For a single-track file
//! this is the same as the MP4 data id of the same stream remuxed (`-c copy`). Writing is in [`crate::matroska_write`].

use sha2::{Digest, Sha256};
use stemma_model::ContentId;

use crate::bmff::read_exact;
use crate::detect::Format;
use crate::error::{Error, Result};
use crate::handler::{ContainerHandler, Edit};
use crate::limits::Limits;
use crate::metadata::{Block, Entry, Metadata, Value};
use crate::source::Source;
use crate::video::VideoInfo;

pub const EBML: u32 = 0x1A45_DFA3;
pub const DOC_TYPE: u32 = 0x4282;
pub const SEGMENT: u32 = 0x1853_8067;
pub const SEEK_HEAD: u32 = 0x114D_9B74;
pub const SEEK: u32 = 0x4DBB;
pub const SEEK_ID: u32 = 0x53AB;
pub const SEEK_POSITION: u32 = 0x53AC;
pub const INFO: u32 = 0x1549_A966;
pub const TRACKS: u32 = 0x1654_AE6B;
pub const CLUSTER: u32 = 0x1F43_B675;
pub const CUES: u32 = 0x1C53_BB6B;
pub const CHAPTERS: u32 = 0x1043_A770;
pub const ATTACHMENTS: u32 = 0x1941_A469;
pub const TAGS: u32 = 0x1254_C367;
pub const TAG: u32 = 0x7373;
pub const TARGETS: u32 = 0x63C0;
pub const SIMPLE_TAG: u32 = 0x67C8;
pub const TAG_NAME: u32 = 0x45A3;
pub const TAG_STRING: u32 = 0x4487;
pub const TAG_BINARY: u32 = 0x4485;
pub const VOID: u32 = 0xEC;
pub const CRC32: u32 = 0xBF;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;

/// The SimpleTag name of the stemma record.
pub const RECORD_TAG: &str = "STEMMA";

/// Top-level elements of a Segment: one of them ends a Cluster of unknown size.
const LEVEL1: &[u32] = &[
    SEEK_HEAD,
    INFO,
    TRACKS,
    CLUSTER,
    CUES,
    CHAPTERS,
    ATTACHMENTS,
    TAGS,
    EBML,
];

/// Info children read as entries: (ID, key).
const INFO_TEXT: &[(u32, &str)] = &[
    (0x7BA9, "title"),
    (0x4D80, "muxing_app"),
    (0x5741, "writing_app"),
];

pub(crate) fn malformed(reason: impl Into<String>, offset: u64) -> Error {
    Error::Malformed {
        format: "Matroska",
        reason: reason.into(),
        offset,
    }
}

/// An element: ID, where it starts, where its data starts and ends, how wide its size field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct El {
    pub id: u32,
    pub start: u64,
    pub data: u64,
    pub end: u64,
    pub size_len: u8,
    pub unknown_size: bool,
}

/// Decode an element header from bytes: (ID, ID length, size or None when unknown, size length).
pub(crate) fn parse_header(h: &[u8], offset: u64) -> Result<(u32, usize, Option<u64>, usize)> {
    let first = *h
        .first()
        .ok_or_else(|| malformed("element header missing", offset))?;
    let id_len = first.leading_zeros() as usize + 1;
    if id_len > 4 || h.len() < id_len + 1 {
        return Err(malformed("bad element ID", offset));
    }
    let id = h[..id_len]
        .iter()
        .fold(0u32, |a, &b| (a << 8) | u32::from(b));
    let s0 = h[id_len];
    let size_len = s0.leading_zeros() as usize + 1;
    if size_len > 8 || h.len() < id_len + size_len {
        return Err(malformed("bad element size", offset));
    }
    let mut v = u64::from(s0) & (0xFF >> size_len);
    let mut all_ones = v == (0xFF >> size_len);
    for &b in &h[id_len + 1..id_len + size_len] {
        v = (v << 8) | u64::from(b);
        all_ones &= b == 0xFF;
    }
    Ok((id, id_len, (!all_ones).then_some(v), size_len))
}

/// Read the header of the element at `pos` (within `to`).
pub(crate) fn header_at(source: &dyn Source, pos: u64, to: u64) -> Result<El> {
    let n = (to - pos).min(12) as usize;
    let mut h = vec![0u8; n];
    let got = source.read_at(pos, &mut h)?;
    h.truncate(got);
    let (id, id_len, size, size_len) = parse_header(&h, pos)?;
    let data = pos + (id_len + size_len) as u64;
    let end = match size {
        Some(s) => data
            .checked_add(s)
            .ok_or_else(|| malformed("element size overflows", pos))?,
        None => to,
    };
    Ok(El {
        id,
        start: pos,
        data,
        end,
        size_len: size_len as u8,
        unknown_size: size.is_none(),
    })
}

/// The end of a Cluster of unknown size: the first element that is not a Cluster child.
fn cluster_end(
    source: &dyn Source,
    c: &El,
    to: u64,
    walked: &mut u64,
    limits: &Limits,
) -> Result<u64> {
    let mut pos = c.data;
    while pos < to {
        limits.check_chunk_count(*walked, "cluster element", pos)?;
        *walked += 1;
        let e = header_at(source, pos, to)?;
        if LEVEL1.contains(&e.id) || e.unknown_size {
            return Ok(pos);
        }
        if e.end > to {
            return Err(Error::Truncated {
                what: "cluster element".into(),
                offset: pos,
                needed: e.end - pos,
                available: to - pos,
            });
        }
        pos = e.end;
    }
    Ok(to)
}

/// The file's layout: DocType, Segment and its top-level elements.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub doc_type: String,
    pub segment: El,
    pub level1: Vec<El>,
}

pub(crate) fn parse_layout(source: &dyn Source, limits: &Limits) -> Result<Layout> {
    let len = source.len();
    let head = header_at(source, 0, len)?;
    if head.id != EBML || head.unknown_size || head.end > len {
        return Err(Error::UnknownFormat(
            "not a Matroska file (EBML header)".into(),
        ));
    }
    let hd = read_exact(source, head.data, (head.end - head.data) as usize)?;
    let mut doc_type = String::new();
    for (id, r) in children(&hd, head.data)? {
        if id == DOC_TYPE {
            doc_type = text(&hd[r]);
        }
    }
    let segment = header_at(source, head.end, len)?;
    if segment.id != SEGMENT {
        return Err(malformed("no Segment after the EBML header", head.end));
    }
    if segment.end > len {
        return Err(Error::Truncated {
            what: "Segment".into(),
            offset: segment.start,
            needed: segment.end - segment.start,
            available: len - segment.start,
        });
    }
    let mut level1 = Vec::new();
    let mut walked = 0u64;
    let mut pos = segment.data;
    while pos < segment.end {
        limits.check_chunk_count(walked, "element", pos)?;
        walked += 1;
        let mut e = header_at(source, pos, segment.end)?;
        if e.unknown_size {
            if e.id != CLUSTER {
                return Err(malformed("unknown size outside a Cluster", pos));
            }
            e.end = cluster_end(source, &e, segment.end, &mut walked, limits)?;
        }
        if e.end > segment.end {
            return Err(Error::Truncated {
                what: "Segment element".into(),
                offset: pos,
                needed: e.end - pos,
                available: segment.end - pos,
            });
        }
        level1.push(e);
        pos = e.end;
    }
    Ok(Layout {
        doc_type,
        segment,
        level1,
    })
}

/// The children of a master element's data (all of known size), with ranges into `d`.
pub(crate) fn children(d: &[u8], base: u64) -> Result<Vec<(u32, std::ops::Range<usize>)>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < d.len() {
        let (id, id_len, size, size_len) =
            parse_header(&d[at..d.len().min(at + 12)], base + at as u64)?;
        let start = at + id_len + size_len;
        let size =
            size.ok_or_else(|| malformed("unknown size inside a master", base + at as u64))?;
        let end = usize::try_from(size)
            .ok()
            .and_then(|s| start.checked_add(s))
            .filter(|&e| e <= d.len())
            .ok_or_else(|| malformed("element runs past its parent", base + at as u64))?;
        out.push((id, start..end));
        at = end;
    }
    Ok(out)
}

pub(crate) fn uint(d: &[u8]) -> u64 {
    d.iter().take(8).fold(0u64, |a, &b| (a << 8) | u64::from(b))
}

fn float(d: &[u8]) -> Option<f64> {
    match d.len() {
        4 => Some(f64::from(f32::from_be_bytes([d[0], d[1], d[2], d[3]]))),
        8 => Some(f64::from_be_bytes([
            d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7],
        ])),
        _ => None,
    }
}

fn text(d: &[u8]) -> String {
    let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
    String::from_utf8_lossy(&d[..end]).into_owned()
}

/// An element's data in memory, within `max_metadata_chunk`.
pub(crate) fn element_data(source: &dyn Source, e: &El, limits: &Limits) -> Result<Vec<u8>> {
    let n = e.end - e.data;
    if n > limits.max_metadata_chunk {
        return Err(Error::Limit {
            limit: "max_metadata_chunk",
            max: limits.max_metadata_chunk,
            found: n,
            context: format!("element {:X} at offset {}", e.id, e.start),
        });
    }
    read_exact(source, e.data, n as usize)
}

/// One SimpleTag, flattened: name, string or binary value, nesting depth.
#[derive(Debug, Clone)]
pub(crate) struct SimpleTag {
    pub name: String,
    pub value: Value,
}

fn simple_tags(
    d: &[u8],
    base: u64,
    depth: u64,
    out: &mut Vec<SimpleTag>,
    limits: &Limits,
) -> Result<()> {
    limits.check_depth(depth, "SimpleTag", base)?;
    let mut name = String::new();
    let mut value = None;
    let mut nested = Vec::new();
    for (id, r) in children(d, base)? {
        match id {
            TAG_NAME => name = text(&d[r]),
            TAG_STRING => value = Some(Value::Text(String::from_utf8_lossy(&d[r]).into_owned())),
            TAG_BINARY => value = Some(Value::Bytes(d[r].to_vec())),
            SIMPLE_TAG => nested.push(r),
            _ => {}
        }
    }
    if let Some(v) = value {
        out.push(SimpleTag { name, value: v });
    }
    for r in nested {
        simple_tags(&d[r.clone()], base + r.start as u64, depth + 1, out, limits)?;
    }
    Ok(())
}

/// The SimpleTags of a Tags element's data: (global, tag) pairs; global = empty Targets (whole Segment).
pub(crate) fn tags_of(d: &[u8], base: u64, limits: &Limits) -> Result<Vec<(bool, SimpleTag)>> {
    let mut out = Vec::new();
    for (id, r) in children(d, base)? {
        if id != TAG {
            continue;
        }
        let tag = &d[r.clone()];
        let tb = base + r.start as u64;
        let mut global = true;
        let mut found = Vec::new();
        for (cid, cr) in children(tag, tb)? {
            match cid {
                TARGETS => {
                    // Only a TargetTypeValue/TargetType keeps the tag global; a UID narrows it.
                    global = children(&tag[cr.clone()], tb + cr.start as u64)?
                        .iter()
                        .all(|(t, _)| matches!(t, 0x68CA | 0x63CA));
                }
                SIMPLE_TAG => simple_tags(
                    &tag[cr.clone()],
                    tb + cr.start as u64,
                    1,
                    &mut found,
                    limits,
                )?,
                _ => {}
            }
        }
        out.extend(found.into_iter().map(|t| (global, t)));
    }
    Ok(out)
}

/// The Matroska/WebM handler.
#[derive(Debug, Clone, Copy)]
pub struct MatroskaHandler;

fn entry(origin: &str, key: String, value: Value) -> Entry {
    Entry {
        origin: origin.into(),
        key,
        value,
        after_image_data: false,
        encoding: None,
    }
}

fn name_of(id: u32) -> String {
    match id {
        SEEK_HEAD => "SeekHead".into(),
        INFO => "Info".into(),
        TRACKS => "Tracks".into(),
        CLUSTER => "Cluster".into(),
        CUES => "Cues".into(),
        CHAPTERS => "Chapters".into(),
        ATTACHMENTS => "Attachments".into(),
        TAGS => "Tags".into(),
        VOID => "Void".into(),
        other => format!("{other:X}"),
    }
}

impl ContainerHandler for MatroskaHandler {
    fn format(&self) -> Format {
        Format::Matroska
    }

    fn scan(&self, source: &dyn Source, limits: &Limits) -> Result<Metadata> {
        let layout = parse_layout(source, limits)?;
        let mut meta = Metadata {
            format: Format::Matroska,
            ..Metadata::default()
        };
        let mut after_media = false;
        for e in &layout.level1 {
            meta.blocks.push(Block {
                kind: name_of(e.id),
                offset: e.start,
                size: e.end - e.data,
                label: (e.id == SEGMENT).then(|| layout.doc_type.clone()),
                after_image_data: after_media,
            });
            after_media |= e.id == CLUSTER;
            let res = match e.id {
                INFO => element_data(source, e, limits).and_then(|d| {
                    for (id, r) in children(&d, e.data)? {
                        if let Some((_, key)) = INFO_TEXT.iter().find(|(i, _)| *i == id) {
                            meta.entries.push(entry(
                                "mkv:info",
                                (*key).into(),
                                Value::Text(text(&d[r])),
                            ));
                        }
                    }
                    Ok(())
                }),
                TAGS => element_data(source, e, limits).and_then(|d| {
                    for (global, t) in tags_of(&d, e.data, limits)? {
                        if global && t.name == RECORD_TAG {
                            match t.value.as_text() {
                                Some(json) if meta.record_json.is_none() => {
                                    if json.len() as u64 > limits.max_record {
                                        meta.warnings
                                            .push("stemma record over max_record; ignored".into());
                                    } else {
                                        meta.record_json = Some(json.to_string());
                                        meta.record_origin = Some("mkv:tag STEMMA".into());
                                    }
                                }
                                _ => meta
                                    .warnings
                                    .push("second stemma record (Matroska tag) ignored".into()),
                            }
                            continue;
                        }
                        let origin = if global { "mkv:tag" } else { "mkv:track-tag" };
                        meta.entries
                            .push(entry(origin, t.name.to_ascii_lowercase(), t.value));
                    }
                    Ok(())
                }),
                _ => Ok(()),
            };
            if let Err(err) = res {
                meta.warnings
                    .push(format!("{} at offset {}: {err}", name_of(e.id), e.start));
            }
        }
        match info_from_layout(source, &layout, false, limits) {
            Ok(info) => {
                meta.width = info.width;
                meta.height = info.height;
            }
            Err(e) => meta.warnings.push(format!("tracks: {e}")),
        }
        Ok(meta)
    }

    fn apply(
        &self,
        file: &[u8],
        edit: &Edit,
        _mirrors: &crate::mirror::Mirrors,
        limits: &Limits,
    ) -> Result<Vec<u8>> {
        crate::matroska_write::apply_edit(file, edit, limits)
    }

    fn data_id(&self, file: &[u8], limits: &Limits) -> Result<ContentId> {
        let source: &dyn Source = &file;
        let layout = parse_layout(source, limits)?;
        let mut hasher = Sha256::new();
        let mut walked = 0u64;
        for_each_block(source, &layout, &mut walked, limits, &mut |b| {
            let data = &file[idx(b.data)..idx(b.end)];
            // The block header: track number (a VINT), 16-bit timestamp, flags.
            let header = data.first().map_or(9, |x| x.leading_zeros() as usize + 1) + 3;
            let frame = data
                .get(header..)
                .ok_or_else(|| malformed("block shorter than its header", b.start))?;
            hasher.update(frame);
            Ok(())
        })?;
        Ok(ContentId::from_digest(hasher.finalize().into()))
    }

    fn check(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>> {
        let source: &dyn Source = &file;
        let layout = parse_layout(source, limits)?;
        let mut problems = Vec::new();
        if !layout.level1.iter().any(|e| e.id == CLUSTER) {
            problems.push("no Cluster (no media)".to_string());
        }
        if layout.segment.end < source.len() {
            problems.push(format!(
                "{} bytes after the Segment",
                source.len() - layout.segment.end
            ));
        }
        Ok(problems)
    }
}

fn idx(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Call `f` for every SimpleBlock and Block (headers read through the source, data not read), in file order.
fn for_each_block(
    source: &dyn Source,
    layout: &Layout,
    walked: &mut u64,
    limits: &Limits,
    f: &mut dyn FnMut(&El) -> Result<()>,
) -> Result<()> {
    for c in layout.level1.iter().filter(|e| e.id == CLUSTER) {
        let mut pos = c.data;
        while pos < c.end {
            limits.check_chunk_count(*walked, "block", pos)?;
            *walked += 1;
            let e = header_at(source, pos, c.end)?;
            if e.end > c.end {
                return Err(malformed("block runs past its cluster", pos));
            }
            match e.id {
                SIMPLE_BLOCK => f(&e)?,
                BLOCK_GROUP => {
                    let mut p = e.data;
                    while p < e.end {
                        let b = header_at(source, p, e.end)?;
                        if b.end > e.end {
                            return Err(malformed("element runs past its BlockGroup", p));
                        }
                        if b.id == BLOCK {
                            f(&b)?;
                        }
                        p = b.end;
                    }
                }
                _ => {}
            }
            pos = e.end;
        }
    }
    Ok(())
}

/// Timing facts; `count_frames` walks every block header of the video track.
fn info_from_layout(
    source: &dyn Source,
    layout: &Layout,
    count_frames: bool,
    limits: &Limits,
) -> Result<VideoInfo> {
    let mut info = VideoInfo {
        container: Format::Matroska,
        ..VideoInfo::default()
    };
    let mut scale = 1_000_000u64;
    let mut duration = None;
    let mut track = None;
    for e in &layout.level1 {
        match e.id {
            INFO => {
                let d = element_data(source, e, limits)?;
                for (id, r) in children(&d, e.data)? {
                    match id {
                        0x2AD7B1 => scale = uint(&d[r]),
                        0x4489 => duration = float(&d[r]),
                        _ => {}
                    }
                }
            }
            TRACKS if track.is_none() => {
                let d = element_data(source, e, limits)?;
                for (id, r) in children(&d, e.data)? {
                    if id != 0xAE {
                        continue;
                    }
                    let t = &d[r.clone()];
                    let (mut number, mut kind, mut default_duration) = (0, 0, None);
                    let (mut codec, mut w, mut h) = (None, None, None);
                    for (cid, cr) in children(t, e.data + r.start as u64)? {
                        match cid {
                            0xD7 => number = uint(&t[cr]),
                            0x83 => kind = uint(&t[cr]),
                            0x86 => codec = Some(text(&t[cr])),
                            0x23E383 => default_duration = Some(uint(&t[cr])),
                            0xE0 => {
                                for (vid, vr) in children(&t[cr.clone()], 0)? {
                                    let v = u32::try_from(uint(
                                        &t[cr.start + vr.start..cr.start + vr.end],
                                    ))
                                    .ok();
                                    match vid {
                                        0xB0 => w = v,
                                        0xBA => h = v,
                                        _ => {}
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    if kind == 1 {
                        info.codec = codec;
                        info.width = w;
                        info.height = h;
                        info.fps = default_duration.filter(|d| *d > 0).map(|d| 1e9 / d as f64);
                        track = Some(number);
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    info.duration = duration.map(|d| d * scale as f64 / 1e9);
    if let (true, Some(number)) = (count_frames, track) {
        let mut frames = 0u64;
        let mut walked = 0u64;
        for_each_block(source, layout, &mut walked, limits, &mut |b| {
            let h = read_exact(source, b.data, ((b.end - b.data).min(12)) as usize)?;
            let tl = h.first().map_or(9, |x| x.leading_zeros() as usize + 1);
            if tl > 8 || h.len() < tl + 3 {
                return Err(malformed("bad block header", b.start));
            }
            let t = uint(&h[..tl]) & !(1u64 << (7 * tl));
            if t == number {
                let lacing = (h[tl + 2] >> 1) & 3;
                frames += if lacing == 0 {
                    1
                } else {
                    u64::from(*h.get(tl + 3).unwrap_or(&0)) + 1
                };
            }
            Ok(())
        })?;
        info.frames = Some(frames);
        if info.fps.is_none() {
            info.fps = info
                .duration
                .filter(|d| *d > 0.0)
                .map(|d| frames as f64 / d);
        }
    }
    Ok(info)
}

/// The sequence facts of a Matroska/WebM file (frames counted from the blocks of the first video track).
pub fn video_info(source: &dyn Source, limits: &Limits) -> Result<VideoInfo> {
    let layout = parse_layout(source, limits)?;
    info_from_layout(source, &layout, true, limits)
}
