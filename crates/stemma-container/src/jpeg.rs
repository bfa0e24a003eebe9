//! JPEG, at segment level.
//!
//! Data id (specification §5.3): SHA-256 over, in file order, the bytes of SOI, of every marker segment except
//! APP0–APP15 and COM (marker, length and payload, with any fill bytes before the marker), of every entropy-coded
//! data run, of every RST marker, and of EOI. Data after EOI is left out. An Adobe APP14 segment (payload starting
//! `Adobe`) stays in: its colour transform flag decides whether the samples are YCbCr/YCCK or RGB/CMYK.
//!
//! Reading walks the marker segments up to the first SOS and reads only APPn, COM and SOFn payloads; entropy
//! data is never read. Editing parses the whole file (entropy data is skipped by scanning for markers, honouring
//! `FF00` stuffing and RST markers), copies every segment it does not own byte for byte, and keeps data after
//! EOI. The record lives in stemma's description of the standard XMP packet (APP1), or, when that packet would
//! exceed 65502 bytes, in an ExtendedXMP packet split over APP1 segments.

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
use crate::text::decode_latin1_or_utf8;
use crate::xmp::{self, XmpWrite};

/// The APP1 signature of the standard XMP packet (29 bytes).
pub const XMP_SIG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// The APP1 signature of ExtendedXMP portions (35 bytes).
pub const XMP_EXT_SIG: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";
/// The largest standard packet written into one APP1 segment.
pub const MAX_STANDARD_PACKET: usize = 65502;
/// The largest ExtendedXMP portion written per segment.
pub const EXT_PORTION: usize = 65400;

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP11: u8 = 0xEB;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

/// Marker names for the block listing.
fn marker_name(m: u8) -> String {
    match m {
        SOI => "SOI".into(),
        EOI => "EOI".into(),
        SOS => "SOS".into(),
        0xC4 => "DHT".into(),
        0xDB => "DQT".into(),
        0xDD => "DRI".into(),
        0xCC => "DAC".into(),
        0xDC => "DNL".into(),
        0xFE => "COM".into(),
        0xD0..=0xD7 => format!("RST{}", m - 0xD0),
        0xE0..=0xEF => format!("APP{}", m - 0xE0),
        0xC0..=0xCF => format!("SOF{}", m - 0xC0),
        _ => format!("FF{m:02X}"),
    }
}

fn is_sof(m: u8) -> bool {
    matches!(m, 0xC0..=0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC
}

/// Markers without a length field.
fn standalone(m: u8) -> bool {
    matches!(m, SOI | EOI | 0x01 | 0xD0..=0xD7)
}

fn malformed(reason: impl Into<String>, offset: usize) -> Error {
    Error::Malformed {
        format: "JPEG",
        reason: reason.into(),
        offset: offset as u64,
    }
}

/// One piece of a parsed JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seg {
    /// The marker byte; 0 for an entropy-coded data run.
    pub marker: u8,
    /// Offset of the first byte (fill bytes included).
    pub start: usize,
    /// Offset of the marker's `FF` (equal to `start` without fill bytes).
    pub marker_at: usize,
    pub end: usize,
}

/// True for an Adobe APP14 segment, which carries the colour transform and so belongs to the image data.
fn is_adobe_app14(s: &Seg, file: &[u8]) -> bool {
    s.marker == 0xEE && s.payload(file).starts_with(b"Adobe")
}

impl Seg {
    /// The payload after the length field (empty for standalone markers and entropy data).
    pub fn payload<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        if self.marker == 0 || standalone(self.marker) {
            &[]
        } else {
            file.get(self.marker_at + 4..self.end).unwrap_or(&[])
        }
    }
}

/// A whole JPEG split into pieces.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub segs: Vec<Seg>,
    /// Offset just past EOI (or the end of the file when EOI is missing).
    pub end: usize,
    pub eoi_missing: bool,
}

/// Parse a whole in-memory JPEG.
pub fn parse(file: &[u8], limits: &Limits) -> Result<Parsed> {
    if !file.starts_with(&[0xFF, SOI]) {
        return Err(Error::UnknownFormat("not a JPEG (SOI missing)".into()));
    }
    let mut segs = vec![Seg {
        marker: SOI,
        start: 0,
        marker_at: 0,
        end: 2,
    }];
    let mut pos = 2usize;
    loop {
        limits.check_chunk_count(segs.len() as u64, "JPEG segment", pos)?;
        if pos >= file.len() {
            return Ok(Parsed {
                segs,
                end: pos,
                eoi_missing: true,
            });
        }
        if file[pos] != 0xFF {
            return Err(malformed(
                format!("expected a marker, found byte {:02X}", file[pos]),
                pos,
            ));
        }
        let start = pos;
        let mut at = pos;
        while file.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let Some(&marker) = file.get(at + 1) else {
            return Err(truncated("marker", at, 2, file.len() - at));
        };
        if marker == 0 {
            return Err(malformed("FF00 outside entropy-coded data", at));
        }
        if standalone(marker) {
            segs.push(Seg {
                marker,
                start,
                marker_at: at,
                end: at + 2,
            });
            pos = at + 2;
            if marker == EOI {
                return Ok(Parsed {
                    segs,
                    end: pos,
                    eoi_missing: false,
                });
            }
            if matches!(marker, 0xD0..=0xD7) {
                pos = skip_entropy(file, pos, &mut segs);
            }
            continue;
        }
        let len_bytes = file
            .get(at + 2..at + 4)
            .ok_or_else(|| truncated("segment length", at, 4, file.len() - at))?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(malformed(
                format!("{} segment length {len} < 2", marker_name(marker)),
                at,
            ));
        }
        let end = at + 2 + len;
        if end > file.len() {
            return Err(truncated(
                &format!("{} segment", marker_name(marker)),
                at,
                (len + 2) as u64,
                file.len() - at,
            ));
        }
        segs.push(Seg {
            marker,
            start,
            marker_at: at,
            end,
        });
        pos = end;
        if marker == SOS {
            pos = skip_entropy(file, pos, &mut segs);
        }
    }
}

/// Record the entropy-coded run from `from` up to the next real marker; returns the marker's offset.
fn skip_entropy(file: &[u8], from: usize, segs: &mut Vec<Seg>) -> usize {
    let mut i = from;
    let end = loop {
        match memchr_ff(file, i) {
            None => break file.len(),
            Some(p) => match file.get(p + 1) {
                None => break file.len(),
                Some(0) | Some(0xD0..=0xD7) => i = p + 2,
                Some(0xFF) => i = p + 1,
                Some(_) => break p,
            },
        }
    };
    // RST markers stay inside the run; the next real marker ends it. Fill bytes before the marker belong to
    // the marker, so back up over them.
    let mut run_end = end;
    while run_end > from && file.get(run_end - 1) == Some(&0xFF) && end < file.len() {
        run_end -= 1;
    }
    if run_end > from {
        segs.push(Seg {
            marker: 0,
            start: from,
            marker_at: from,
            end: run_end,
        });
    }
    run_end
}

fn memchr_ff(file: &[u8], from: usize) -> Option<usize> {
    file.get(from..)?
        .iter()
        .position(|&b| b == 0xFF)
        .map(|p| p + from)
}

fn truncated(what: &str, offset: usize, needed: u64, available: usize) -> Error {
    Error::Truncated {
        what: what.into(),
        offset: offset as u64,
        needed,
        available: available as u64,
    }
}

/// What an APPn/COM payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exif,
    Xmp,
    XmpExt,
    Icc,
    Jfif,
    Jumbf,
    Photoshop,
    Adobe,
    Comment,
    Other,
}

fn classify(marker: u8, payload: &[u8]) -> Kind {
    match marker {
        APP1 if payload.starts_with(b"Exif\0") => Kind::Exif,
        APP1 if payload.starts_with(XMP_SIG) => Kind::Xmp,
        APP1 if payload.starts_with(XMP_EXT_SIG) => Kind::XmpExt,
        APP2 if payload.starts_with(b"ICC_PROFILE\0") => Kind::Icc,
        APP0 if payload.starts_with(b"JFIF\0") || payload.starts_with(b"JFXX\0") => Kind::Jfif,
        APP11 if payload.starts_with(b"JP") => Kind::Jumbf,
        0xED if payload.starts_with(b"Photoshop 3.0\0") => Kind::Photoshop,
        APP14 if payload.starts_with(b"Adobe") => Kind::Adobe,
        COM => Kind::Comment,
        _ => Kind::Other,
    }
}

fn label(kind: Kind) -> Option<String> {
    let s = match kind {
        Kind::Exif => "Exif",
        Kind::Xmp => "XMP",
        Kind::XmpExt => "ExtendedXMP",
        Kind::Icc => "ICC_PROFILE",
        Kind::Jfif => "JFIF",
        Kind::Jumbf => "JUMBF",
        Kind::Photoshop => "Photoshop",
        Kind::Adobe => "Adobe",
        Kind::Comment | Kind::Other => return None,
    };
    Some(s.into())
}

/// ExtendedXMP portions being collected: GUID → (full length, portions (offset, bytes)).
#[derive(Default)]
struct Extended {
    parts: Vec<(String, u32, u32, Vec<u8>)>,
}

impl Extended {
    fn add(&mut self, payload: &[u8]) {
        let rest = &payload[XMP_EXT_SIG.len()..];
        if rest.len() < 40 {
            return;
        }
        let guid = String::from_utf8_lossy(&rest[..32]).into_owned();
        let full = u32::from_be_bytes([rest[32], rest[33], rest[34], rest[35]]);
        let offset = u32::from_be_bytes([rest[36], rest[37], rest[38], rest[39]]);
        self.parts.push((guid, full, offset, rest[40..].to_vec()));
    }

    /// The assembled packet of one GUID, when its portions fit its full length.
    fn assemble(&self, guid: &str, limits: &Limits) -> Option<Vec<u8>> {
        let full = self.parts.iter().find(|p| p.0 == guid)?.1;
        if u64::from(full) > limits.max_metadata_chunk {
            return None;
        }
        let mut out = vec![0u8; full as usize];
        let mut covered = 0usize;
        for (_, f, off, bytes) in self.parts.iter().filter(|p| p.0 == guid) {
            if *f != full {
                return None;
            }
            let off = *off as usize;
            let dest = out.get_mut(off..off.checked_add(bytes.len())?)?;
            dest.copy_from_slice(bytes);
            covered += bytes.len();
        }
        (covered == full as usize).then_some(out)
    }
}

/// The JPEG handler.
#[derive(Debug, Default, Clone, Copy)]
pub struct JpegHandler;

impl ContainerHandler for JpegHandler {
    fn format(&self) -> Format {
        Format::Jpeg
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
        for s in &parsed.segs {
            if matches!(s.marker, 0xE0..=0xEF | COM) && !is_adobe_app14(s, file) {
                continue;
            }
            hasher.update(&file[s.start..s.end]);
        }
        Ok(ContentId::from_digest(hasher.finalize().into()))
    }

    fn check(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>> {
        let mut problems = self.damage(file, limits)?;
        let parsed = parse(file, limits)?;
        if parsed.end < file.len() {
            problems.push(format!(
                "{} bytes after EOI (kept on write)",
                file.len() - parsed.end
            ));
        }
        Ok(problems)
    }

    fn damage(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>> {
        let parsed = parse(file, limits)?;
        let mut problems = Vec::new();
        if parsed.eoi_missing {
            problems.push("no EOI marker: the file is truncated".into());
        }
        if !parsed.segs.iter().any(|s| s.marker == SOS) {
            problems.push("no SOS segment: no image data".into());
        }
        if !parsed.segs.iter().any(|s| is_sof(s.marker)) {
            problems.push("no SOF segment: no frame header".into());
        }
        Ok(problems)
    }
}

fn scan(source: &dyn Source, limits: &Limits) -> Result<Metadata> {
    let mut window = Window::new(source, 64 * 1024)?;
    let len = window.len();
    if window.get(0, 2)? != [0xFF, SOI] {
        return Err(Error::UnknownFormat("not a JPEG (SOI missing)".into()));
    }
    let mut meta = Metadata {
        format: Format::Jpeg,
        ..Metadata::default()
    };
    meta.blocks.push(Block {
        kind: "SOI".into(),
        offset: 0,
        size: 0,
        label: None,
        after_image_data: false,
    });
    let mut extended = Extended::default();
    let mut standard_guid: Option<String> = None;
    let mut pos: u64 = 2;
    let mut count: u64 = 1;
    while pos < len {
        limits.check_chunk_count(count, "JPEG segment", pos)?;
        count += 1;
        let head = window.get(pos, 2)?.to_vec();
        if head.len() < 2 {
            return Err(truncated("marker", pos as usize, 2, head.len()));
        }
        if head[0] != 0xFF {
            return Err(malformed(
                format!("expected a marker, found byte {:02X}", head[0]),
                pos as usize,
            ));
        }
        if head[1] == 0xFF {
            pos += 1;
            continue;
        }
        let marker = head[1];
        if marker == 0 {
            return Err(malformed("FF00 outside entropy-coded data", pos as usize));
        }
        if standalone(marker) {
            meta.blocks.push(Block {
                kind: marker_name(marker),
                offset: pos,
                size: 0,
                label: None,
                after_image_data: false,
            });
            pos += 2;
            if marker == EOI {
                break;
            }
            continue;
        }
        let lb = window.get(pos + 2, 2)?.to_vec();
        if lb.len() < 2 {
            return Err(truncated("segment length", pos as usize, 4, lb.len() + 2));
        }
        let seg_len = u64::from(u16::from_be_bytes([lb[0], lb[1]]));
        if seg_len < 2 {
            return Err(malformed(
                format!("{} segment length {seg_len} < 2", marker_name(marker)),
                pos as usize,
            ));
        }
        if pos + 2 + seg_len > len {
            return Err(Error::Truncated {
                what: format!("{} segment", marker_name(marker)),
                offset: pos,
                needed: seg_len + 2,
                available: len - pos,
            });
        }
        let payload_len = (seg_len - 2) as usize;
        let mut block = Block {
            kind: marker_name(marker),
            offset: pos,
            size: payload_len as u64,
            label: None,
            after_image_data: false,
        };
        let wanted = matches!(marker, 0xE0..=0xEF | COM) || is_sof(marker);
        if wanted {
            let payload = window.get(pos + 4, payload_len)?.to_vec();
            if is_sof(marker) && payload.len() >= 5 {
                meta.height = Some(u32::from(u16::from_be_bytes([payload[1], payload[2]])));
                meta.width = Some(u32::from(u16::from_be_bytes([payload[3], payload[4]])));
            }
            let kind = classify(marker, &payload);
            block.label = label(kind);
            read_segment(
                kind,
                &payload,
                pos,
                &mut meta,
                &mut extended,
                &mut standard_guid,
                limits,
            );
        }
        meta.blocks.push(block);
        pos += 2 + seg_len;
        if marker == SOS {
            // Metadata after the first scan is rare; the entropy-coded data is not read.
            break;
        }
    }
    if let Some(guid) = standard_guid {
        match extended.assemble(&guid, limits) {
            Some(bytes) => xmp::push_packet(&mut meta, &bytes, "extended", false, limits),
            None if extended.parts.is_empty() => meta.warnings.push(format!(
                "XMP names ExtendedXMP {guid} but no portion is present"
            )),
            None => meta
                .warnings
                .push(format!("ExtendedXMP {guid} is incomplete or inconsistent")),
        }
    }
    Ok(meta)
}

fn read_segment(
    kind: Kind,
    payload: &[u8],
    pos: u64,
    meta: &mut Metadata,
    extended: &mut Extended,
    standard_guid: &mut Option<String>,
    limits: &Limits,
) {
    match kind {
        Kind::Exif => {
            meta.entries.push(Entry {
                origin: "jpeg:APP1".into(),
                key: "exif".into(),
                value: Value::Bytes(payload.to_vec()),
                after_image_data: false,
                encoding: None,
            });
            match exif::entries(payload, false) {
                Ok(e) => meta.entries.extend(e),
                Err(e) => meta
                    .warnings
                    .push(format!("EXIF in APP1 at offset {pos}: {e}")),
            }
        }
        Kind::Xmp => {
            let packet = &payload[XMP_SIG.len()..];
            if standard_guid.is_none() {
                let text = String::from_utf8_lossy(packet);
                if let Ok(doc) = xmp::parse(&text, limits) {
                    *standard_guid = doc.extended_guid().map(str::to_string);
                }
            }
            xmp::push_packet(meta, packet, "packet", false, limits);
        }
        Kind::XmpExt => extended.add(payload),
        Kind::Comment => {
            let (text, encoding) = decode_latin1_or_utf8(payload);
            meta.entries.push(Entry {
                origin: "jpeg:COM".into(),
                key: "comment".into(),
                value: Value::Text(text),
                after_image_data: false,
                encoding: Some(encoding),
            });
        }
        Kind::Jumbf => meta.entries.push(Entry {
            origin: "c2pa".into(),
            key: "jumbf".into(),
            value: Value::Bytes(payload.to_vec()),
            after_image_data: false,
            encoding: None,
        }),
        _ => {}
    }
}

/// The largest payload one marker segment holds (its 16-bit length counts itself).
const MAX_SEGMENT_PAYLOAD: usize = 65533;

/// Encode one marker segment. Callers keep `payload` within [`MAX_SEGMENT_PAYLOAD`].
fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The ExtendedXMP segments of a packet with its GUID.
fn extended_segments(packet: &[u8], guid: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let full = packet.len() as u32;
    for (i, chunk) in packet.chunks(EXT_PORTION).enumerate() {
        let mut p = XMP_EXT_SIG.to_vec();
        p.extend_from_slice(guid.as_bytes());
        p.extend_from_slice(&full.to_be_bytes());
        p.extend_from_slice(&((i * EXT_PORTION) as u32).to_be_bytes());
        p.extend_from_slice(chunk);
        out.extend_from_slice(&segment(APP1, &p));
    }
    out
}

fn ext_guid(payload: &[u8]) -> Option<&[u8]> {
    payload.get(XMP_EXT_SIG.len()..XMP_EXT_SIG.len() + 32)
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
    // Metadata is what comes before the first scan, which is all a reader looks at (`scan`). Segments after it
    // belong to the image data (DHT between progressive scans, or what a broken file carries inside its scan,
    // like another JPEG's header) and are copied as they are: never read, rewritten or stripped.
    let header_end = parsed
        .segs
        .iter()
        .position(|s| s.marker == SOS)
        .unwrap_or(parsed.segs.len());
    let kinds: Vec<Kind> = parsed
        .segs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i < header_end {
                classify(s.marker, s.payload(file))
            } else {
                Kind::Other
            }
        })
        .collect();
    let has_c2pa = kinds.contains(&Kind::Jumbf);
    if edit.breaks_c2pa(has_c2pa) {
        return Err(Error::C2paProtected("JPEG APP11 JUMBF".into()));
    }
    let strip_all = matches!(edit.strip, Some(StripProfile::All));
    let touch_stemma = !matches!(edit.record, RecordChange::Keep) || edit.strip.is_some();
    // The first standard XMP segment: the one stemma reads and writes.
    let xmp_index = kinds.iter().position(|k| *k == Kind::Xmp);
    let existing_packet: Option<String> = xmp_index
        .map(|i| xmp::packet_text(&parsed.segs[i].payload(file)[XMP_SIG.len()..]))
        .transpose()?;
    // stemma's markers in the existing packet.
    let old_ext_guid = existing_packet
        .as_deref()
        .and_then(|p| xmp::marker(p, "extended", limits));
    let exif_was_new = existing_packet
        .as_deref()
        .and_then(|p| xmp::marker(p, "exif", limits))
        .as_deref()
        == Some("new");
    // The packet after removing stemma's part (None: no packet remains).
    let base_packet = xmp::after_removal(
        existing_packet.as_deref(),
        touch_stemma && !strip_all,
        !matches!(edit.record, RecordChange::Keep),
        limits,
    )?;
    // New XMP to write.
    let mut new_exif: Option<Vec<u8>> = None;
    let write = match &edit.record {
        RecordChange::Set(json) => {
            let has_exif = kinds.contains(&Kind::Exif) && !strip_all;
            let mut markers: Vec<(&str, String)> = Vec::new();
            let tags = &mirrors.exif;
            if !tags.is_empty() && (!has_exif || exif_was_new) {
                let mut block = exif::EXIF_PREFIX.to_vec();
                block.extend_from_slice(&exif::build(tags));
                // EXIF cannot span segments: a mirror that does not fit is refused, never cut.
                if block.len() > MAX_SEGMENT_PAYLOAD {
                    return Err(Error::TooLarge {
                        what: "the EXIF mirror (A1111 UserComment / Windows tags)".into(),
                        size: block.len() as u64,
                        max: MAX_SEGMENT_PAYLOAD as u64,
                    });
                }
                new_exif = Some(block);
                markers.push(("exif", "new".into()));
            }
            // Merge into the ORIGINAL packet, so that an earlier stamp's markers survive.
            let source = if strip_all {
                None
            } else {
                existing_packet.as_deref()
            };
            Some(xmp::plan_record_packet(
                source,
                json,
                mirrors.for_xmp(edit),
                &markers,
                Some(MAX_STANDARD_PACKET),
                limits,
            )?)
        }
        _ => None,
    };
    // Where a new XMP segment goes when the file has none: after the leading APP0 / Exif APP1 segments.
    let insert_after = {
        let mut last = 0usize;
        for (i, s) in parsed.segs.iter().enumerate().skip(1) {
            if s.marker == APP0 || kinds[i] == Kind::Exif {
                last = i;
            } else if !matches!(s.marker, 0xE0..=0xEF | COM) {
                break;
            }
        }
        last
    };
    let mut out = Vec::with_capacity(file.len() + 1024);
    let write_xmp = |out: &mut Vec<u8>, w: &XmpWrite| -> Result<()> {
        let mut payload = XMP_SIG.to_vec();
        payload.extend_from_slice(w.standard.as_bytes());
        if payload.len() > 65533 {
            return Err(Error::Limit {
                limit: "max_standard_xmp",
                max: MAX_STANDARD_PACKET as u64,
                found: w.standard.len() as u64,
                context: "standard XMP packet".into(),
            });
        }
        out.extend_from_slice(&segment(APP1, &payload));
        if let Some((packet, guid)) = &w.extended {
            out.extend_from_slice(&extended_segments(packet.as_bytes(), guid));
        }
        Ok(())
    };
    let mut xmp_written = false;
    let mut exif_written = false;
    for (i, s) in parsed.segs.iter().enumerate() {
        let original = &file[s.start..s.end];
        let kind = kinds[i];
        let is_app = matches!(s.marker, 0xE0..=0xEF | COM);
        let stripped_by_all = strip_all
            && i < header_end
            && is_app
            && !matches!(kind, Kind::Jfif | Kind::Icc | Kind::Adobe)
            && s.marker != APP2;
        if Some(i) == xmp_index {
            if let Some(w) = &write {
                write_xmp(&mut out, w)?;
                xmp_written = true;
            } else if !stripped_by_all {
                if let Some(p) = &base_packet {
                    if Some(p) == existing_packet.as_ref() {
                        out.extend_from_slice(original);
                    } else {
                        let mut payload = XMP_SIG.to_vec();
                        payload.extend_from_slice(p.as_bytes());
                        out.extend_from_slice(&segment(APP1, &payload));
                    }
                }
            }
        } else if kind == Kind::XmpExt {
            let ours = old_ext_guid
                .as_deref()
                .is_some_and(|g| ext_guid(s.payload(file)) == Some(g.as_bytes()));
            if !(stripped_by_all || (ours && touch_stemma)) {
                out.extend_from_slice(original);
            }
        } else if kind == Kind::Exif && exif_was_new && touch_stemma {
            // stemma created this EXIF: it goes (and is rewritten when the record is set again).
            if let Some(e) = new_exif.take() {
                out.extend_from_slice(&segment(APP1, &e));
                exif_written = true;
            }
        } else if !stripped_by_all {
            out.extend_from_slice(original);
        }
        if i == 0 {
            if let Some(e) = new_exif.take() {
                if !exif_written {
                    // A new EXIF goes right after SOI and any APP0.
                    let after_app0 = parsed.segs.get(1).is_some_and(|n| n.marker == APP0);
                    if after_app0 {
                        new_exif = Some(e);
                    } else {
                        out.extend_from_slice(&segment(APP1, &e));
                        exif_written = true;
                    }
                }
            }
        } else if i == 1 && s.marker == APP0 {
            if let Some(e) = new_exif.take() {
                out.extend_from_slice(&segment(APP1, &e));
                exif_written = true;
            }
        }
        if i == insert_after && !xmp_written && xmp_index.is_none() {
            if let Some(w) = &write {
                write_xmp(&mut out, w)?;
                xmp_written = true;
            }
        }
    }
    out.extend_from_slice(&file[parsed.end..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_scan_honours_stuffing_and_restart_markers() {
        // SOI, SOS(len 2), data with FF00 and RST0, then EOI and a trailer.
        let file = [
            0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF,
            0xD9, 0xAA,
        ];
        let p = parse(&file, &Limits::DEFAULT).unwrap();
        let kinds: Vec<u8> = p.segs.iter().map(|s| s.marker).collect();
        assert_eq!(kinds, vec![SOI, SOS, 0, EOI]);
        assert_eq!(p.end, 15);
        assert!(!p.eoi_missing);
    }

    #[test]
    fn extended_xmp_portions_reassemble_in_any_order() {
        let packet = vec![b'x'; 150_000];
        let segs = extended_segments(&packet, &"A".repeat(32));
        let mut ext = Extended::default();
        let mut pos = 0;
        let mut payloads = Vec::new();
        while pos < segs.len() {
            let len = usize::from(u16::from_be_bytes([segs[pos + 2], segs[pos + 3]]));
            payloads.push(segs[pos + 4..pos + 2 + len].to_vec());
            pos += 2 + len;
        }
        payloads.reverse();
        for p in &payloads {
            ext.add(p);
        }
        assert_eq!(
            ext.assemble(&"A".repeat(32), &Limits::DEFAULT).unwrap(),
            packet
        );
    }

    #[test]
    fn segments_inside_the_image_data_are_never_taken_for_metadata() {
        // Found by fuzzing (write_roundtrip): a scan that carries another JPEG's header (SOI, APP1 XMP) had the
        // record merged into that XMP, where no reader looks; the write reported success.
        let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>";
        let mut file = vec![0xFF, SOI];
        file.extend_from_slice(&segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        file.extend_from_slice(&segment(SOS, &[1, 1, 0, 0, 0x3F, 0]));
        file.extend_from_slice(&[0x12, 0x34, 0xFF, SOI]);
        let embedded_at = file.len();
        file.extend_from_slice(&segment(APP1, xmp));
        let embedded_end = file.len();
        file.extend_from_slice(&segment(SOS, &[1, 1, 0, 0, 0x3F, 0]));
        file.extend_from_slice(&[0x56, 0xFF, EOI]);
        let record = r#"{"stemma":"1.0","prompt":{"positive":"a fox"}}"#;
        let edit = Edit {
            record: RecordChange::Set(record.into()),
            strip: None,
            force: false,
            xmp_mirrors: false,
            a1111_mirror: false,
            windows_text: false,
        };
        let out = apply_edit(&file, &edit, &Mirrors::default(), &Limits::DEFAULT).unwrap();
        let source: &dyn Source = &out.as_slice();
        let meta = scan(source, &Limits::DEFAULT).unwrap();
        assert_eq!(meta.record_json.as_deref(), Some(record));
        // Everything from the scan on is the original, byte for byte.
        let sos = file.windows(2).position(|w| w == [0xFF, SOS]).unwrap();
        assert!(out.ends_with(&file[sos..]));
        assert!(out[..out.len() - (file.len() - sos)]
            .windows(embedded_end - embedded_at)
            .all(|w| w != &file[embedded_at..embedded_end]));
        // Stripping everything leaves the scan's content alone too.
        let all = Edit::strip(StripProfile::All);
        let stripped = apply_edit(&file, &all, &Mirrors::default(), &Limits::DEFAULT).unwrap();
        assert!(stripped.ends_with(&file[sos..]));
    }
}
