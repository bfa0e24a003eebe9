//! AVIF and HEIF (ISO BMFF), read-only.
//!
//! Data id (specification §5.3): for every item whose type is not `Exif`, `mime` or `uri ` (the coded image items),
//! item by item in `iloc` order: the complete bytes (header and payload) of every property box associated with the
//! item in `ipma`, in association order, then the item's extents concatenated in order. Properties (`ispe`, `av1C`,
//! `colr`, `pixi`, `irot`, …) decide how the coded bytes become pixels, so they belong to the image data.
//!
//! Reading walks the top-level boxes with a count limit (and descends only into `meta`, `iinf` and
//! `iprp`/`ipco`, so nesting is bounded), reads the `meta` box (`pitm`, `iinf`/`infe`,
//! `iloc`, `idat`, `iprp`/`ipco`/`ispe`) and the data of `Exif` items and `mime` items whose content type is XML
//! (XMP). Image data is never read by a scan. Writing is not supported.

use sha2::{Digest, Sha256};
use stemma_model::ContentId;

use crate::detect::Format;
use crate::error::{Error, Result};
use crate::exif;
use crate::handler::{ContainerHandler, Edit};
use crate::limits::Limits;
use crate::metadata::{Block, Entry, Metadata, Value};
use crate::source::Source;
use crate::xmp;

fn malformed(reason: impl Into<String>, offset: u64) -> Error {
    Error::Malformed {
        format: "ISO BMFF",
        reason: reason.into(),
        offset,
    }
}

/// A box: type, where its payload starts and ends (absolute offsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BoxRef {
    pub(crate) kind: [u8; 4],
    pub(crate) start: u64,
    pub(crate) payload: u64,
    pub(crate) end: u64,
}

pub(crate) fn read_exact(source: &dyn Source, offset: u64, n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let got = source.read_at(offset, &mut buf)?;
    if got < n {
        return Err(Error::Truncated {
            what: "box data".into(),
            offset,
            needed: n as u64,
            available: got as u64,
        });
    }
    Ok(buf)
}

/// The boxes in `from..to` of a source.
pub(crate) fn boxes_in(
    source: &dyn Source,
    from: u64,
    to: u64,
    limits: &Limits,
) -> Result<Vec<BoxRef>> {
    let mut out = Vec::new();
    let mut pos = from;
    while pos + 8 <= to {
        limits.check_chunk_count(out.len() as u64, "box", pos)?;
        let h = read_exact(source, pos, 8)?;
        let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let kind = [h[4], h[5], h[6], h[7]];
        let (size, header) = match size32 {
            0 => (to - pos, 8),
            1 => {
                let l = read_exact(source, pos + 8, 8)?;
                let s = u64::from_be_bytes([l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7]]);
                (s, 16)
            }
            s => (u64::from(s), 8),
        };
        if size < header || pos.checked_add(size).is_none_or(|e| e > to) {
            return Err(malformed(
                format!(
                    "box '{}' size {size} runs past its parent",
                    String::from_utf8_lossy(&kind)
                ),
                pos,
            ));
        }
        out.push(BoxRef {
            kind,
            start: pos,
            payload: pos + header,
            end: pos + size,
        });
        pos += size;
    }
    Ok(out)
}

/// A byte cursor with checked reads.
struct Cur<'a> {
    d: &'a [u8],
    at: usize,
}

impl Cur<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.d.len())
            .ok_or_else(|| malformed("box content truncated", self.at as u64))?;
        let s = &self.d[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn uint(&mut self, size: u8) -> Result<u64> {
        Ok(match size {
            0 => 0,
            4 => u64::from(self.u32()?),
            8 => {
                let b = self.take(8)?;
                u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
            _ => return Err(malformed(format!("field size {size}"), self.at as u64)),
        })
    }
    fn cstr(&mut self) -> Result<String> {
        let rest = &self.d[self.at.min(self.d.len())..];
        let n = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.at += (n + 1).min(rest.len());
        Ok(s)
    }
}

/// One item of `iinf` with its location.
#[derive(Debug, Clone, Default)]
struct Item {
    id: u32,
    kind: [u8; 4],
    content_type: String,
    /// (construction method, extents as (offset, length)), absolute for method 0, into `idat` for method 1.
    method: u8,
    extents: Vec<(u64, u64)>,
}

/// What the `meta` box says.
#[derive(Debug, Default)]
struct MetaInfo {
    items: Vec<Item>,
    idat: Option<(u64, u64)>,
    size: Option<(u32, u32)>,
    /// Byte ranges (whole box) of the `ipco` children, in order: property index 1 is the first.
    properties: Vec<(u64, u64)>,
    /// `ipma`: item id → 1-based property indices, in association order.
    associations: Vec<(u32, Vec<u16>)>,
}

fn parse_meta(source: &dyn Source, meta: &BoxRef, limits: &Limits) -> Result<MetaInfo> {
    let mut info = MetaInfo::default();
    // `meta` is a full box: 4 bytes of version and flags before its children.
    let children = boxes_in(source, meta.payload + 4, meta.end, limits)?;
    let read_box = |b: &BoxRef| -> Result<Vec<u8>> {
        let n = b.end - b.payload;
        if n > limits.max_metadata_chunk {
            return Err(Error::Limit {
                limit: "max_metadata_chunk",
                max: limits.max_metadata_chunk,
                found: n,
                context: format!("'{}' box", String::from_utf8_lossy(&b.kind)),
            });
        }
        read_exact(source, b.payload, n as usize)
    };
    for b in &children {
        match &b.kind {
            b"iinf" => {
                let data = read_box(b)?;
                let mut c = Cur { d: &data, at: 0 };
                let version = c.u8()?;
                c.take(3)?;
                let _count = if version == 0 {
                    u32::from(c.u16()?)
                } else {
                    c.u32()?
                };
                let inner = boxes_in(source, b.payload + c.at as u64, b.end, limits)?;
                for infe in inner.iter().filter(|x| &x.kind == b"infe") {
                    let d = read_box(infe)?;
                    let mut c = Cur { d: &d, at: 0 };
                    let v = c.u8()?;
                    c.take(3)?;
                    if v < 2 {
                        continue;
                    }
                    let id = if v == 2 {
                        u32::from(c.u16()?)
                    } else {
                        c.u32()?
                    };
                    c.u16()?;
                    let t = c.take(4)?;
                    let kind = [t[0], t[1], t[2], t[3]];
                    let _name = c.cstr()?;
                    let content_type = if &kind == b"mime" {
                        c.cstr()?
                    } else {
                        String::new()
                    };
                    match info.items.iter_mut().find(|i| i.id == id) {
                        Some(i) => {
                            i.kind = kind;
                            i.content_type = content_type;
                        }
                        None => info.items.push(Item {
                            id,
                            kind,
                            content_type,
                            ..Item::default()
                        }),
                    }
                }
            }
            b"iloc" => {
                let data = read_box(b)?;
                parse_iloc(&data, &mut info)?;
            }
            b"idat" => info.idat = Some((b.payload, b.end - b.payload)),
            b"iprp" => {
                for ipco in boxes_in(source, b.payload, b.end, limits)?
                    .iter()
                    .filter(|x| &x.kind == b"ipco")
                {
                    for p in boxes_in(source, ipco.payload, ipco.end, limits)? {
                        info.properties.push((p.start, p.end));
                        if &p.kind == b"ispe" && info.size.is_none() {
                            let d = read_box(&p)?;
                            let mut c = Cur { d: &d, at: 4 };
                            info.size = Some((c.u32()?, c.u32()?));
                        }
                    }
                }
                for ipma in boxes_in(source, b.payload, b.end, limits)?
                    .iter()
                    .filter(|x| &x.kind == b"ipma")
                {
                    parse_ipma(&read_box(ipma)?, &mut info, limits)?;
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

/// `ipma` (ISO/IEC 23008-12 §9.3): per item, its property associations; the 15- or 7-bit index of each, without
/// the `essential` bit.
fn parse_ipma(data: &[u8], info: &mut MetaInfo, limits: &Limits) -> Result<()> {
    let mut c = Cur { d: data, at: 0 };
    let version = c.u8()?;
    let flags = c.take(3)?[2];
    let count = c.u32()?;
    for n in 0..count {
        limits.check_chunk_count(u64::from(n), "ipma entry", c.at as u64)?;
        let item = if version < 1 {
            u32::from(c.u16()?)
        } else {
            c.u32()?
        };
        let associations = c.u8()?;
        let mut indices = Vec::with_capacity(usize::from(associations));
        for _ in 0..associations {
            indices.push(if flags & 1 == 1 {
                c.u16()? & 0x7FFF
            } else {
                u16::from(c.u8()? & 0x7F)
            });
        }
        info.associations.push((item, indices));
    }
    Ok(())
}

fn parse_iloc(data: &[u8], info: &mut MetaInfo) -> Result<()> {
    let mut c = Cur { d: data, at: 0 };
    let version = c.u8()?;
    c.take(3)?;
    let a = c.u8()?;
    let b = c.u8()?;
    let (offset_size, length_size, base_size) = (a >> 4, a & 15, b >> 4);
    let index_size = if version >= 1 { b & 15 } else { 0 };
    let count = if version < 2 {
        u32::from(c.u16()?)
    } else {
        c.u32()?
    };
    for _ in 0..count {
        let id = if version < 2 {
            u32::from(c.u16()?)
        } else {
            c.u32()?
        };
        let method = if version >= 1 {
            (c.u16()? & 15) as u8
        } else {
            0
        };
        c.u16()?;
        let base = c.uint(base_size)?;
        let n = c.u16()?;
        let mut extents = Vec::new();
        for _ in 0..n {
            if index_size > 0 {
                c.uint(index_size)?;
            }
            let off = c.uint(offset_size)?;
            let len = c.uint(length_size)?;
            extents.push((base.saturating_add(off), len));
        }
        match info.items.iter_mut().find(|i| i.id == id) {
            Some(i) => {
                i.method = method;
                i.extents = extents;
            }
            None => info.items.push(Item {
                id,
                method,
                extents,
                ..Item::default()
            }),
        }
    }
    Ok(())
}

fn item_data(source: &dyn Source, info: &MetaInfo, item: &Item, max: u64) -> Result<Vec<u8>> {
    let total: u64 = item.extents.iter().map(|e| e.1).sum();
    if total > max {
        return Err(Error::Limit {
            limit: "max_metadata_chunk",
            max,
            found: total,
            context: format!("item {}", item.id),
        });
    }
    let mut out = Vec::new();
    for &(off, len) in &item.extents {
        let abs = match item.method {
            0 => off,
            1 => {
                let (start, size) = info
                    .idat
                    .ok_or_else(|| malformed("item in idat but no idat box", 0))?;
                if off.saturating_add(len) > size {
                    return Err(malformed("item extent outside idat", start));
                }
                start + off
            }
            m => return Err(malformed(format!("construction method {m}"), 0)),
        };
        if abs.saturating_add(len) > source.len() {
            return Err(Error::Truncated {
                what: format!("item {} data", item.id),
                offset: abs,
                needed: len,
                available: source.len().saturating_sub(abs),
            });
        }
        out.extend(read_exact(source, abs, len as usize)?);
    }
    Ok(out)
}

fn walk(source: &dyn Source, limits: &Limits) -> Result<(Vec<BoxRef>, MetaInfo)> {
    let top = boxes_in(source, 0, source.len(), limits)?;
    if top.first().map(|b| &b.kind) != Some(b"ftyp") {
        return Err(Error::UnknownFormat(
            "not an ISO BMFF file (ftyp missing)".into(),
        ));
    }
    let info = match top.iter().find(|b| &b.kind == b"meta") {
        Some(m) => parse_meta(source, m, limits)?,
        None => MetaInfo::default(),
    };
    Ok((top, info))
}

/// The AVIF/HEIF handler (one instance per format).
#[derive(Debug, Clone, Copy)]
pub struct BmffHandler(pub Format);

impl ContainerHandler for BmffHandler {
    fn format(&self) -> Format {
        self.0
    }

    fn scan(&self, source: &dyn Source, limits: &Limits) -> Result<Metadata> {
        let (top, info) = walk(source, limits)?;
        let mut meta = Metadata {
            format: self.0,
            width: info.size.map(|s| s.0),
            height: info.size.map(|s| s.1),
            ..Metadata::default()
        };
        for b in &top {
            meta.blocks.push(Block {
                kind: b.kind.iter().map(|&c| char::from(c)).collect(),
                offset: b.start,
                size: b.end - b.payload,
                label: None,
                after_image_data: false,
            });
        }
        for item in &info.items {
            let is_xmp = &item.kind == b"mime" && item.content_type.contains("xml");
            if &item.kind != b"Exif" && !is_xmp {
                continue;
            }
            let data = match item_data(source, &info, item, limits.max_metadata_chunk) {
                Ok(d) => d,
                Err(e) => {
                    meta.warnings.push(format!("item {}: {e}", item.id));
                    continue;
                }
            };
            if is_xmp {
                xmp::push_packet(&mut meta, &data, "packet", false, limits);
                continue;
            }
            // Exif items start with a 4-byte offset to the TIFF header.
            let skip = data
                .get(0..4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .unwrap_or(0);
            let tiff = data.get(4 + skip..).unwrap_or(&[]);
            meta.entries.push(Entry {
                origin: format!("{}:Exif", self.0.name()),
                key: "exif".into(),
                value: Value::Bytes(tiff.to_vec()),
                after_image_data: false,
                encoding: None,
            });
            match exif::entries(tiff, false) {
                Ok(e) => meta.entries.extend(e),
                Err(e) => meta.warnings.push(format!("Exif item {}: {e}", item.id)),
            }
        }
        if top.iter().any(|b| {
            &b.kind == b"uuid"
                && read_exact(source, b.payload, 16).ok().as_deref() == Some(&C2PA_UUID[..])
        }) {
            meta.entries.push(Entry {
                origin: "c2pa".into(),
                key: "manifest".into(),
                value: Value::Bytes(Vec::new()),
                after_image_data: false,
                encoding: None,
            });
        }
        Ok(meta)
    }

    fn apply(
        &self,
        _file: &[u8],
        _edit: &Edit,
        _mirrors: &crate::mirror::Mirrors,
        _limits: &Limits,
    ) -> Result<Vec<u8>> {
        Err(Error::Unsupported {
            operation: "writing",
            format: self.0.name(),
        })
    }

    fn data_id(&self, file: &[u8], limits: &Limits) -> Result<ContentId> {
        let source: &dyn Source = &file;
        let (_, info) = walk(source, limits)?;
        let mut hasher = Sha256::new();
        for item in &info.items {
            if matches!(&item.kind, b"Exif" | b"mime" | b"uri ") {
                continue;
            }
            let indices = info
                .associations
                .iter()
                .filter(|(id, _)| *id == item.id)
                .flat_map(|(_, list)| list.iter().copied());
            for index in indices.filter(|&i| i > 0) {
                let &(start, end) =
                    info.properties.get(usize::from(index) - 1).ok_or_else(|| {
                        malformed(format!("ipma names property {index}, ipco has fewer"), 0)
                    })?;
                hasher.update(read_exact(
                    source,
                    start,
                    usize::try_from(end - start).unwrap_or(usize::MAX),
                )?);
            }
            hasher.update(item_data(source, &info, item, limits.max_edit_file)?);
        }
        Ok(ContentId::from_digest(hasher.finalize().into()))
    }

    fn check(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>> {
        let source: &dyn Source = &file;
        let (top, info) = walk(source, limits)?;
        let mut problems = Vec::new();
        if !top.iter().any(|b| &b.kind == b"meta") {
            problems.push("no meta box".into());
        }
        for item in &info.items {
            if let Err(e) = item_data(source, &info, item, limits.max_edit_file) {
                problems.push(format!("item {}: {e}", item.id));
            }
        }
        Ok(problems)
    }
}

/// The `uuid` extended type of a C2PA manifest store in BMFF.
pub(crate) const C2PA_UUID: [u8; 16] = [
    0xD8, 0xFE, 0xC3, 0xD6, 0x1B, 0x0E, 0x48, 0x3C, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7E, 0xC4, 0x81,
];
