//! GIF87a/GIF89a, at block level.
//!
//! Data id (specification §5.3): SHA-256 over every byte of the file up to and including the trailer `3B`, with the
//! signature hashed as `GIF89a` whatever the version, except Comment (`21 FE`) and Application (`21 FF`)
//! extensions, each left out whole (introducer, label and all sub-blocks). Plain Text extensions (`21 01`) are drawn
//! content and stay in. Data after the trailer is left out.
//!
//! A GIF87a file has no extensions; when stemma adds its XMP extension the header becomes `GIF89a`, noted by the
//! marker `stemma:gif="87a"` so that removing the record gives back the `GIF87a` file byte for byte.
//!
//! The record lives in stemma's description inside an XMP Application Extension (`XMP DataXMP`, raw packet plus
//! the 258-byte magic trailer), written just before the trailer.

use sha2::{Digest, Sha256};
use stemma_model::ContentId;

use crate::detect::Format;
use crate::error::{Error, Result};
use crate::handler::{ContainerHandler, Edit, RecordChange, StripProfile};
use crate::limits::Limits;
use crate::metadata::{Block, Entry, Metadata, Value};
use crate::mirror::Mirrors;
use crate::source::Source;
use crate::text::decode_latin1_or_utf8;
use crate::xmp;

/// The application identifier and authentication code of XMP in GIF.
pub const XMP_APP_ID: &[u8; 11] = b"XMP DataXMP";
/// The identifier of C2PA in GIF (`C2PA_GIF` + auth code 0x010000).
pub const C2PA_APP_ID: &[u8; 8] = b"C2PA_GIF";

fn malformed(reason: impl Into<String>, offset: usize) -> Error {
    Error::Malformed {
        format: "GIF",
        reason: reason.into(),
        offset: offset as u64,
    }
}

/// The XMP magic trailer: `01`, `FF` down to `00`, and the block terminator `00`.
pub fn magic_trailer() -> Vec<u8> {
    let mut t = vec![1u8];
    t.extend((0..=255u8).rev());
    t.push(0);
    t
}

/// What a block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Header, logical screen descriptor and global colour table.
    Header,
    /// Graphic Control Extension.
    GraphicControl,
    Comment,
    PlainText,
    /// Application extension; `xmp`, `c2pa` tell the known ones apart.
    Application,
    /// Image descriptor, local colour table and image data.
    Image,
    /// Unknown extension label.
    OtherExtension,
    Trailer,
}

/// One block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GifBlock {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// A parsed file.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub blocks: Vec<GifBlock>,
    /// Offset just past the trailer (or the end when it is missing).
    pub end: usize,
    pub trailer_missing: bool,
    pub width: u32,
    pub height: u32,
}

fn need(file: &[u8], at: usize, n: usize, what: &str) -> Result<()> {
    if at.checked_add(n).is_some_and(|e| e <= file.len()) {
        Ok(())
    } else {
        Err(Error::Truncated {
            what: what.into(),
            offset: at as u64,
            needed: n as u64,
            available: file.len().saturating_sub(at) as u64,
        })
    }
}

/// Skip a chain of sub-blocks starting at `at`; returns the offset past the terminator.
fn skip_sub_blocks(file: &[u8], mut at: usize) -> Result<usize> {
    loop {
        need(file, at, 1, "sub-block")?;
        let n = usize::from(file[at]);
        if n == 0 {
            return Ok(at + 1);
        }
        need(file, at + 1, n, "sub-block data")?;
        at += 1 + n;
    }
}

/// Concatenate the data of a sub-block chain.
fn sub_block_data(file: &[u8], mut at: usize, end: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while at < end {
        let n = usize::from(file[at]);
        if n == 0 {
            break;
        }
        out.extend_from_slice(file.get(at + 1..at + 1 + n).unwrap_or(&[]));
        at += 1 + n;
    }
    out
}

/// Parse a whole in-memory GIF.
pub fn parse(file: &[u8], limits: &Limits) -> Result<Parsed> {
    if !(file.starts_with(b"GIF87a") || file.starts_with(b"GIF89a")) {
        return Err(Error::UnknownFormat("not a GIF (signature missing)".into()));
    }
    need(file, 6, 7, "logical screen descriptor")?;
    let width = u32::from(u16::from_le_bytes([file[6], file[7]]));
    let height = u32::from(u16::from_le_bytes([file[8], file[9]]));
    let flags = file[10];
    let mut pos = 13usize;
    if flags & 0x80 != 0 {
        let n = 3usize << ((flags & 7) + 1);
        need(file, pos, n, "global colour table")?;
        pos += n;
    }
    let mut blocks = vec![GifBlock {
        kind: Kind::Header,
        start: 0,
        end: pos,
    }];
    loop {
        limits.check_chunk_count(blocks.len() as u64, "GIF block", pos)?;
        if pos >= file.len() {
            return Ok(Parsed {
                blocks,
                end: pos,
                trailer_missing: true,
                width,
                height,
            });
        }
        let start = pos;
        match file[pos] {
            0x3B => {
                blocks.push(GifBlock {
                    kind: Kind::Trailer,
                    start,
                    end: pos + 1,
                });
                return Ok(Parsed {
                    blocks,
                    end: pos + 1,
                    trailer_missing: false,
                    width,
                    height,
                });
            }
            0x21 => {
                need(file, pos, 2, "extension")?;
                let label = file[pos + 1];
                let end = skip_sub_blocks(file, pos + 2)?;
                let kind = match label {
                    0xF9 => Kind::GraphicControl,
                    0xFE => Kind::Comment,
                    0x01 => Kind::PlainText,
                    0xFF => Kind::Application,
                    _ => Kind::OtherExtension,
                };
                blocks.push(GifBlock { kind, start, end });
                pos = end;
            }
            0x2C => {
                need(file, pos, 10, "image descriptor")?;
                let f = file[pos + 9];
                let mut at = pos + 10;
                if f & 0x80 != 0 {
                    let n = 3usize << ((f & 7) + 1);
                    need(file, at, n, "local colour table")?;
                    at += n;
                }
                need(file, at, 1, "LZW minimum code size")?;
                let end = skip_sub_blocks(file, at + 1)?;
                blocks.push(GifBlock {
                    kind: Kind::Image,
                    start,
                    end,
                });
                pos = end;
            }
            b => {
                return Err(malformed(
                    format!("unexpected block introducer {b:02X}"),
                    pos,
                ))
            }
        }
    }
}

/// The application identifier (11 bytes) of an Application Extension block.
fn app_id<'a>(file: &'a [u8], b: &GifBlock) -> &'a [u8] {
    if b.kind != Kind::Application || file.get(b.start + 2) != Some(&11) {
        return &[];
    }
    file.get(b.start + 3..b.start + 14).unwrap_or(&[])
}

fn is_xmp(file: &[u8], b: &GifBlock) -> bool {
    app_id(file, b) == XMP_APP_ID
}

fn is_c2pa(file: &[u8], b: &GifBlock) -> bool {
    app_id(file, b).starts_with(C2PA_APP_ID)
}

/// The raw packet of an XMP application extension (the bytes between the identifier and the magic trailer).
fn xmp_packet<'a>(file: &'a [u8], b: &GifBlock) -> &'a [u8] {
    let from = b.start + 14;
    let to = b.end.saturating_sub(258).max(from);
    file.get(from..to).unwrap_or(&[])
}

/// True when an XMP application extension ends with the standard magic trailer.
fn trailer_intact(file: &[u8], b: &GifBlock) -> bool {
    b.end >= b.start + 14 + 258 && file.get(b.end - 258..b.end) == Some(magic_trailer().as_slice())
}

/// The bytes of an XMP application extension.
pub fn xmp_extension(packet: &[u8]) -> Vec<u8> {
    let mut out = vec![0x21, 0xFF, 11];
    out.extend_from_slice(XMP_APP_ID);
    out.extend_from_slice(packet);
    out.extend_from_slice(&magic_trailer());
    out
}

/// The GIF handler.
#[derive(Debug, Default, Clone, Copy)]
pub struct GifHandler;

impl ContainerHandler for GifHandler {
    fn format(&self) -> Format {
        Format::Gif
    }

    fn scan(&self, source: &dyn Source, limits: &Limits) -> Result<Metadata> {
        // GIF blocks cannot be skipped without reading their sub-block lengths, so the file is read whole,
        // within the edit limit.
        let len = source.len();
        if len > limits.max_edit_file {
            return Err(Error::Limit {
                limit: "max_edit_file",
                max: limits.max_edit_file,
                found: len,
                context: "GIF to scan".into(),
            });
        }
        let mut file = vec![0u8; usize::try_from(len).unwrap_or(0)];
        let n = source.read_at(0, &mut file)?;
        file.truncate(n);
        scan(&file, limits)
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
        for b in &parsed.blocks {
            if b.kind == Kind::Header {
                // The version does not change the picture; a writer may raise 87a to 89a.
                hasher.update(b"GIF89a");
                hasher.update(&file[b.start + 6..b.end]);
            } else if !matches!(b.kind, Kind::Comment | Kind::Application) {
                hasher.update(&file[b.start..b.end]);
            }
        }
        Ok(ContentId::from_digest(hasher.finalize().into()))
    }

    fn check(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>> {
        let mut problems = self.damage(file, limits)?;
        let parsed = parse(file, limits)?;
        if parsed.end < file.len() {
            problems.push(format!(
                "{} bytes after the trailer (kept on write)",
                file.len() - parsed.end
            ));
        }
        Ok(problems)
    }

    fn damage(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>> {
        let parsed = parse(file, limits)?;
        let mut problems = Vec::new();
        if parsed.trailer_missing {
            problems.push("no trailer (3B): the file is truncated".into());
        }
        if !parsed.blocks.iter().any(|b| b.kind == Kind::Image) {
            problems.push("no image descriptor".into());
        }
        Ok(problems)
    }
}

fn block_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Header => "Header",
        Kind::GraphicControl => "GraphicControl",
        Kind::Comment => "Comment",
        Kind::PlainText => "PlainText",
        Kind::Application => "Application",
        Kind::Image => "Image",
        Kind::OtherExtension => "Extension",
        Kind::Trailer => "Trailer",
    }
}

fn scan(file: &[u8], limits: &Limits) -> Result<Metadata> {
    let parsed = parse(file, limits)?;
    let mut meta = Metadata {
        format: Format::Gif,
        width: Some(parsed.width),
        height: Some(parsed.height),
        ..Metadata::default()
    };
    let mut frames = 0u32;
    let mut seen_image = false;
    for b in &parsed.blocks {
        let after = seen_image && b.kind != Kind::Image;
        let mut label = None;
        match b.kind {
            Kind::Image => frames = frames.saturating_add(1),
            Kind::Comment => {
                let data = sub_block_data(file, b.start + 2, b.end);
                let (text, encoding) = decode_latin1_or_utf8(&data);
                meta.entries.push(Entry {
                    origin: "gif:comment".into(),
                    key: "comment".into(),
                    value: Value::Text(text),
                    after_image_data: after,
                    encoding: Some(encoding),
                });
            }
            Kind::Application => {
                let id = app_id(file, b);
                label = Some(String::from_utf8_lossy(id).into_owned());
                if is_xmp(file, b) {
                    xmp::push_packet(&mut meta, xmp_packet(file, b), "packet", after, limits);
                } else if is_c2pa(file, b) {
                    meta.entries.push(Entry {
                        origin: "c2pa".into(),
                        key: "manifest".into(),
                        value: Value::Bytes(sub_block_data(file, b.start + 14, b.end)),
                        after_image_data: after,
                        encoding: None,
                    });
                }
            }
            _ => {}
        }
        meta.blocks.push(Block {
            kind: block_name(b.kind).into(),
            offset: b.start as u64,
            size: (b.end - b.start) as u64,
            label,
            after_image_data: after,
        });
        if b.kind == Kind::Image {
            seen_image = true;
        }
    }
    if frames > 1 {
        meta.frames = Some(frames);
    }
    if parsed.trailer_missing {
        meta.warnings
            .push("no trailer (3B): the file is truncated".into());
    }
    if parsed.end < file.len() {
        meta.warnings.push(format!(
            "{} bytes after the trailer (kept on write)",
            file.len() - parsed.end
        ));
    }
    Ok(meta)
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
    let has_c2pa = parsed.blocks.iter().any(|b| is_c2pa(file, b));
    if edit.breaks_c2pa(has_c2pa) {
        return Err(Error::C2paProtected(
            "GIF C2PA_GIF application extension".into(),
        ));
    }
    if parsed.trailer_missing && !matches!(edit.record, RecordChange::Keep) {
        return Err(malformed("no trailer (3B): cannot place XMP", parsed.end));
    }
    let strip_all = matches!(edit.strip, Some(StripProfile::All));
    let touch_stemma = !matches!(edit.record, RecordChange::Keep) || edit.strip.is_some();
    let xmp_index = parsed.blocks.iter().position(|b| is_xmp(file, b));
    let existing: Option<String> = xmp_index
        .map(|i| xmp::packet_text(xmp_packet(file, &parsed.blocks[i])))
        .transpose()?;
    let base = xmp::after_removal(
        existing.as_deref(),
        touch_stemma && !strip_all,
        !matches!(edit.record, RecordChange::Keep),
        limits,
    )?;
    let was_87a = existing
        .as_deref()
        .and_then(|p| xmp::marker(p, "gif", limits))
        .is_some_and(|v| v == "87a");
    let new_packet = match &edit.record {
        RecordChange::Set(json) => {
            let source = if strip_all { None } else { existing.as_deref() };
            let markers: Vec<(&str, String)> = if file.starts_with(b"GIF87a") {
                vec![("gif", "87a".to_string())]
            } else {
                Vec::new()
            };
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
    let mut out = Vec::with_capacity(file.len() + 1024);
    let mut written = false;
    for (i, b) in parsed.blocks.iter().enumerate() {
        let original = &file[b.start..b.end];
        let strippable = matches!(
            b.kind,
            Kind::Comment | Kind::Application | Kind::OtherExtension
        ) && !matches!(app_id(file, b), b"NETSCAPE2.0" | b"ANIMEXTS1.0");
        if Some(i) == xmp_index {
            let rewritten = match (&new_packet, &base) {
                (Some(_), _) => true,
                (None, Some(p)) => Some(p) != existing.as_ref(),
                (None, None) => false,
            };
            // A packet is rewritten with a fresh magic trailer; the file's own trailer must be the standard one,
            // or the rewrite would change bytes stemma does not own (and stripping would not give them back).
            if rewritten && !trailer_intact(file, b) {
                return Err(malformed(
                    "the XMP extension's magic trailer is damaged; stemma does not rewrite that XMP",
                    b.start,
                ));
            }
            match (&new_packet, &base) {
                (Some(p), _) => {
                    out.extend_from_slice(&xmp_extension(p.as_bytes()));
                    written = true;
                }
                (None, _) if strip_all => {}
                (None, Some(p)) if Some(p) == existing.as_ref() => out.extend_from_slice(original),
                (None, Some(p)) => out.extend_from_slice(&xmp_extension(p.as_bytes())),
                (None, None) => {}
            }
            continue;
        }
        if b.kind == Kind::Trailer && !written {
            if let Some(p) = &new_packet {
                out.extend_from_slice(&xmp_extension(p.as_bytes()));
                written = true;
            }
        }
        if !(strip_all && strippable) {
            out.extend_from_slice(original);
        }
    }
    out.extend_from_slice(file.get(parsed.end..).unwrap_or(&[]));
    set_version(&mut out, was_87a, limits)?;
    Ok(out)
}

/// GIF87a has no extensions: a file that has any is written as GIF89a; one that stemma raised from 87a and that no
/// longer has any goes back to GIF87a.
fn set_version(out: &mut [u8], was_87a: bool, limits: &Limits) -> Result<()> {
    let has_extension = parse(out, limits)?
        .blocks
        .iter()
        .any(|b| !matches!(b.kind, Kind::Header | Kind::Image | Kind::Trailer));
    if has_extension && out.starts_with(b"GIF87a") {
        out[3..6].copy_from_slice(b"89a");
    } else if !has_extension && was_87a && out.starts_with(b"GIF89a") {
        out[3..6].copy_from_slice(b"87a");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 GIF87a: header, screen 1×1 with a 2-colour table, one image, trailer.
    fn gif87a() -> Vec<u8> {
        let mut f = b"GIF87a\x01\x00\x01\x00\x80\x00\x00".to_vec();
        f.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        f.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0, 0x3B]);
        f
    }

    /// `file` with a minimal record set.
    fn stamp(file: &[u8], limits: &Limits) -> Result<Vec<u8>> {
        apply_edit(
            file,
            &Edit::set_record(r#"{"stemma":"1.0"}"#.into()),
            &Mirrors::default(),
            limits,
        )
    }

    #[test]
    fn a_gif87a_gaining_a_record_becomes_gif89a_and_comes_back() {
        let original = gif87a();
        let limits = Limits::default();
        parse(&original, &limits).unwrap();
        let stamped = stamp(&original, &limits).unwrap();
        assert!(stamped.starts_with(b"GIF89a"));
        let handler = GifHandler;
        assert_eq!(
            handler.data_id(&stamped, &limits).unwrap(),
            handler.data_id(&original, &limits).unwrap()
        );
        let removed = apply_edit(
            &stamped,
            &Edit {
                record: RecordChange::Remove,
                ..Edit::default()
            },
            &Mirrors::default(),
            &limits,
        )
        .unwrap();
        assert_eq!(removed, original);
    }

    #[test]
    fn plain_text_is_drawn_content_and_stays_in_the_data_id() {
        let limits = Limits::default();
        let mut with_text = gif87a();
        with_text[3..6].copy_from_slice(b"89a");
        let at = with_text.len() - 1;
        let plain_text = [
            0x21, 0x01, 12, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1, b'A', 0,
        ];
        with_text.splice(at..at, plain_text);
        let mut other_text = with_text.clone();
        let a = other_text.iter().rposition(|&b| b == b'A').unwrap();
        other_text[a] = b'B';
        let handler = GifHandler;
        assert_ne!(
            handler.data_id(&with_text, &limits).unwrap(),
            handler.data_id(&other_text, &limits).unwrap()
        );
    }

    #[test]
    fn magic_trailer_is_258_bytes_and_walks_to_the_terminator() {
        let t = magic_trailer();
        assert_eq!(t.len(), 258);
        // Any packet followed by the trailer is a valid sub-block chain.
        for packet in [&b""[..], b"<x/>", &[0xFFu8; 300][..]] {
            let ext = xmp_extension(packet);
            assert_eq!(skip_sub_blocks(&ext, 2).unwrap(), ext.len());
        }
    }

    #[test]
    fn an_xmp_extension_with_a_damaged_magic_trailer_is_not_rewritten() {
        // Found by fuzzing (write_roundtrip): the rewrite made a fresh trailer, so stamp then strip changed bytes
        // of the file's own XMP extension that strip alone kept.
        let limits = Limits::default();
        let mut file = gif87a();
        file[3..6].copy_from_slice(b"89a");
        let mut ext = xmp_extension(
            br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF></x:xmpmeta>"#,
        );
        let n = ext.len();
        ext[n - 20] = 0xFF; // inside the trailer; the chain still ends at the terminator
        assert_eq!(skip_sub_blocks(&ext, 2).unwrap(), ext.len());
        let at = file.len() - 1;
        file.splice(at..at, ext);
        parse(&file, &limits).unwrap();
        let err = stamp(&file, &limits).unwrap_err();
        assert!(err.to_string().contains("magic trailer"), "{err}");
        // Stripping stemma's profile has nothing to rewrite there and keeps every byte.
        let stripped = apply_edit(
            &file,
            &Edit::strip(StripProfile::Stemma),
            &Mirrors::default(),
            &limits,
        )
        .unwrap();
        assert_eq!(stripped, file);
    }
}
