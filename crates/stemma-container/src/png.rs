//! PNG and APNG, at chunk level.
//!
//! Reading walks the chunk list and skips image data (`IDAT`, `fdAT`) by length; only metadata chunks are read.
//! Writing copies every chunk it does not own byte for byte, in order, with its original CRC, and keeps any data
//! after `IEND`.

use sha2::{Digest, Sha256};
use stemma_model::ContentId;

use crate::detect::{Format, PNG_SIGNATURE};
use crate::error::{Error, Result};
use crate::handler::{ContainerHandler, Edit, RecordChange, StripProfile};
use crate::limits::Limits;
use crate::metadata::{Block, Entry, Metadata, Value};
use crate::mirror::Mirrors;
use crate::png_tail::{read_tail, FirstIdat, Tail};
use crate::source::{Source, Window};
use crate::text::{
    decode_latin1_or_utf8, decode_latin1_or_utf8_owned, decode_utf8_lossy, decode_utf8_lossy_owned,
    deflate, inflate_bounded,
};
use crate::xmp;

/// The keyword of the iTXt chunk that carries the stemma record.
pub const RECORD_KEYWORD: &str = "stemma";
/// The keyword of the XMP iTXt chunk.
pub const XMP_KEYWORD: &str = "XML:com.adobe.xmp";

/// The largest chunk length the PNG specification allows (2^31 − 1).
const MAX_CHUNK_LEN: u64 = 0x7FFF_FFFF;
/// How much of the file the first read takes: enough for the metadata of most generators' PNGs; larger text
/// chunks are read as they come.
const FIRST_READ: usize = 16 * 1024;

/// A chunk type: four bytes, kept open so that unknown chunks are representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkType(pub [u8; 4]);

impl ChunkType {
    /// Ancillary chunks have a lower-case first letter.
    pub fn is_ancillary(self) -> bool {
        self.0[0] & 0x20 != 0
    }
    /// The chunk type as text (`IDAT`).
    pub fn name(self) -> String {
        match std::str::from_utf8(&self.0) {
            Ok(s) => s.to_owned(),
            Err(_) => self.0.iter().map(|&b| char::from(b)).collect(),
        }
    }
    fn is_valid(self) -> bool {
        self.0.iter().all(|b| b.is_ascii_alphabetic())
    }
}

pub const IHDR: ChunkType = ChunkType(*b"IHDR");
pub const IDAT: ChunkType = ChunkType(*b"IDAT");
pub const IEND: ChunkType = ChunkType(*b"IEND");
pub const TEXT: ChunkType = ChunkType(*b"tEXt");
pub const ZTXT: ChunkType = ChunkType(*b"zTXt");
pub const ITXT: ChunkType = ChunkType(*b"iTXt");
pub const EXIF: ChunkType = ChunkType(*b"eXIf");
pub const ACTL: ChunkType = ChunkType(*b"acTL");
pub const FCTL: ChunkType = ChunkType(*b"fcTL");
pub const FDAT: ChunkType = ChunkType(*b"fdAT");
pub const CABX: ChunkType = ChunkType(*b"caBX");

/// What a chunk is, for reading, stripping and hashing. One table, so that the rules are data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Needed to decode the pixels: part of the data id, never stripped.
    ImageData,
    /// Changes how pixels are shown (colour, size on paper): kept by every strip profile, not hashed.
    Rendering,
    /// Metadata: read by the scanner, removed by `strip --profile all`.
    Metadata,
}

const CHUNK_ROLES: &[(&[u8; 4], Role)] = &[
    (b"IHDR", Role::ImageData),
    (b"PLTE", Role::ImageData),
    (b"tRNS", Role::ImageData),
    (b"IDAT", Role::ImageData),
    (b"acTL", Role::ImageData),
    (b"fcTL", Role::ImageData),
    (b"fdAT", Role::ImageData),
    (b"IEND", Role::ImageData),
    (b"gAMA", Role::Rendering),
    (b"cHRM", Role::Rendering),
    (b"sRGB", Role::Rendering),
    (b"iCCP", Role::Rendering),
    (b"cICP", Role::Rendering),
    (b"mDCV", Role::Rendering),
    (b"cLLI", Role::Rendering),
    (b"sBIT", Role::Rendering),
    (b"bKGD", Role::Rendering),
    (b"pHYs", Role::Rendering),
    (b"hIST", Role::Rendering),
    (b"sPLT", Role::Rendering),
    (b"tEXt", Role::Metadata),
    (b"zTXt", Role::Metadata),
    (b"iTXt", Role::Metadata),
    (b"eXIf", Role::Metadata),
    (b"zxIf", Role::Metadata),
    (b"tIME", Role::Metadata),
    (b"caBX", Role::Metadata),
    (b"comf", Role::Metadata),
    (b"dSIG", Role::Metadata),
];

fn role(kind: ChunkType) -> Role {
    CHUNK_ROLES
        .iter()
        .find(|(k, _)| **k == kind.0)
        .map(|(_, r)| *r)
        // Unknown critical chunks are needed to decode; unknown ancillary ones may hold anything and count as
        // metadata (they are kept by every edit except `strip --profile all`).
        .unwrap_or(if kind.is_ancillary() {
            Role::Metadata
        } else {
            Role::ImageData
        })
}

/// One chunk of a parsed file: where its bytes are in the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawChunk {
    pub kind: ChunkType,
    /// Offset of the length field.
    pub start: usize,
    /// Offset just past the CRC.
    pub end: usize,
    /// True when the chunk comes after the first IDAT.
    pub after_idat: bool,
}

impl RawChunk {
    /// The chunk's data field.
    pub fn data<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        &file[self.start + 8..self.end - 4]
    }
}

/// A whole PNG split into chunks; `trailer` is whatever follows `IEND` (kept on write).
#[derive(Debug, Clone)]
pub struct ChunkList {
    pub chunks: Vec<RawChunk>,
    pub trailer: std::ops::Range<usize>,
}

/// Parse every chunk of an in-memory PNG, checking lengths and (when `check_crc`) every CRC.
pub fn parse_chunks(file: &[u8], limits: &Limits, check_crc: bool) -> Result<ChunkList> {
    if !file.starts_with(&PNG_SIGNATURE) {
        return Err(Error::UnknownFormat("not a PNG (signature missing)".into()));
    }
    let mut chunks = Vec::new();
    let mut pos = PNG_SIGNATURE.len();
    let mut seen_idat = false;
    loop {
        let header = file.get(pos..pos + 8).ok_or_else(|| Error::Truncated {
            what: "chunk header".into(),
            offset: pos as u64,
            needed: 8,
            available: (file.len() - pos.min(file.len())) as u64,
        })?;
        let len = u64::from(u32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let kind = ChunkType([header[4], header[5], header[6], header[7]]);
        check_header(kind, len, pos as u64, chunks.len() as u64, limits)?;
        let end = pos as u64 + 12 + len;
        if end > file.len() as u64 {
            return Err(Error::Truncated {
                what: format!("{} chunk", kind.name()),
                offset: pos as u64,
                needed: 12 + len,
                available: (file.len() - pos) as u64,
            });
        }
        let end = end as usize;
        if chunks.is_empty() && kind != IHDR {
            return Err(malformed(
                format!("first chunk is {}, not IHDR", kind.name()),
                pos,
            ));
        }
        let chunk = RawChunk {
            kind,
            start: pos,
            end,
            after_idat: seen_idat,
        };
        if check_crc {
            verify_crc(file, &chunk)?;
        }
        chunks.push(chunk);
        if kind == IDAT {
            seen_idat = true;
        }
        pos = end;
        if kind == IEND {
            break;
        }
    }
    if !seen_idat {
        return Err(malformed("no IDAT chunk".into(), pos));
    }
    Ok(ChunkList {
        chunks,
        trailer: pos..file.len(),
    })
}

fn check_header(kind: ChunkType, len: u64, offset: u64, count: u64, limits: &Limits) -> Result<()> {
    if !kind.is_valid() {
        return Err(malformed(
            format!("invalid chunk type bytes {:02x?}", kind.0),
            offset as usize,
        ));
    }
    if len > MAX_CHUNK_LEN {
        return Err(malformed(
            format!("{} chunk length {len} exceeds 2^31-1", kind.name()),
            offset as usize,
        ));
    }
    limits.check_chunk_count(count, "chunk", offset)?;
    Ok(())
}

fn verify_crc(file: &[u8], chunk: &RawChunk) -> Result<()> {
    let stored = u32::from_be_bytes(file[chunk.end - 4..chunk.end].try_into().unwrap_or([0; 4]));
    let computed = crc32fast::hash(&file[chunk.start + 4..chunk.end - 4]);
    if stored != computed {
        return Err(Error::Crc {
            chunk: chunk.kind.name(),
            offset: chunk.start as u64,
            stored,
            computed,
        });
    }
    Ok(())
}

fn malformed(reason: String, offset: usize) -> Error {
    Error::Malformed {
        format: "PNG",
        reason,
        offset: offset as u64,
    }
}

/// Serialise one chunk (length, type, data, CRC).
pub fn encode_chunk(kind: ChunkType, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(&kind.0);
    out.extend_from_slice(data);
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&kind.0);
    hasher.update(data);
    out.extend_from_slice(&hasher.finalize().to_be_bytes());
    out
}

/// The data of an iTXt chunk: uncompressed unless asked, empty language tag and translated keyword.
pub fn encode_itxt(keyword: &str, text: &str, compress: bool) -> Vec<u8> {
    let mut data = Vec::with_capacity(keyword.len() + text.len() + 5);
    data.extend_from_slice(keyword.as_bytes());
    data.push(0);
    if compress {
        data.extend_from_slice(&[1, 0, 0, 0]);
        data.extend_from_slice(&deflate(text.as_bytes()));
    } else {
        data.extend_from_slice(&[0, 0, 0, 0]);
        data.extend_from_slice(text.as_bytes());
    }
    data
}

/// A decoded text chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextChunk {
    pub keyword: String,
    pub text: String,
    pub encoding: &'static str,
    pub compressed: bool,
    pub language: String,
}

/// Decode a tEXt, zTXt or iTXt chunk's data. `budget` is the remaining total-text allowance and is reduced.
pub fn decode_text_chunk(
    kind: ChunkType,
    data: &[u8],
    limits: &Limits,
    budget: &mut u64,
) -> Result<TextChunk> {
    let bad = |reason: &str| malformed(format!("{} chunk: {reason}", kind.name()), 0);
    let nul = data
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| bad("keyword not terminated"))?;
    if nul == 0 || nul > 79 {
        return Err(bad("keyword must be 1 to 79 bytes"));
    }
    let keyword: String = match std::str::from_utf8(&data[..nul]) {
        Ok(k) if k.is_ascii() => k.to_owned(),
        _ => data[..nul].iter().map(|&b| char::from(b)).collect(),
    };
    let rest = &data[nul + 1..];
    let mut inflate = |bytes: &[u8]| -> Result<Vec<u8>> {
        let context = format!("{} '{keyword}'", kind.name());
        let limit = limits.max_text_decompressed.min(*budget);
        let name = if limit == limits.max_text_decompressed {
            "max_text_decompressed"
        } else {
            "max_total_text"
        };
        let out = inflate_bounded(bytes, limit, name, &context)?;
        *budget = budget.saturating_sub(out.len() as u64);
        Ok(out)
    };
    match kind {
        TEXT => {
            let (text, encoding) = decode_latin1_or_utf8(rest);
            Ok(TextChunk {
                keyword,
                text,
                encoding,
                compressed: false,
                language: String::new(),
            })
        }
        ZTXT => {
            let (&method, stream) = rest
                .split_first()
                .ok_or_else(|| bad("missing compression method"))?;
            if method != 0 {
                return Err(bad("unknown compression method"));
            }
            let (text, encoding) = decode_latin1_or_utf8_owned(inflate(stream)?);
            Ok(TextChunk {
                keyword,
                text,
                encoding,
                compressed: true,
                language: String::new(),
            })
        }
        ITXT => {
            if rest.len() < 2 {
                return Err(bad("missing compression flag"));
            }
            let (flag, method) = (rest[0], rest[1]);
            let rest = &rest[2..];
            let lang_end = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| bad("language tag not terminated"))?;
            let language = String::from_utf8_lossy(&rest[..lang_end]).into_owned();
            let rest = &rest[lang_end + 1..];
            let tk_end = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| bad("translated keyword not terminated"))?;
            let body = &rest[tk_end + 1..];
            let (text, encoding) = match flag {
                0 => decode_utf8_lossy(body),
                1 if method == 0 => decode_utf8_lossy_owned(inflate(body)?),
                1 => return Err(bad("unknown compression method")),
                _ => return Err(bad("compression flag must be 0 or 1")),
            };
            Ok(TextChunk {
                keyword,
                text,
                encoding,
                compressed: flag == 1,
                language,
            })
        }
        _ => Err(bad("not a text chunk")),
    }
}

/// The PNG/APNG handler.
#[derive(Debug, Default, Clone, Copy)]
pub struct PngHandler;

impl ContainerHandler for PngHandler {
    fn format(&self) -> Format {
        Format::Png
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
        let list = parse_chunks(file, limits, false)?;
        let mut hasher = Sha256::new();
        hasher.update(PNG_SIGNATURE);
        for chunk in &list.chunks {
            if role(chunk.kind) == Role::ImageData && chunk.kind != IEND {
                hasher.update(&file[chunk.start..chunk.end]);
            }
        }
        Ok(ContentId::from_digest(hasher.finalize().into()))
    }

    fn check(&self, file: &[u8], limits: &Limits) -> Result<Vec<String>> {
        let list = parse_chunks(file, limits, false)?;
        let mut problems = Vec::new();
        for chunk in &list.chunks {
            if let Err(e) = verify_crc(file, chunk) {
                problems.push(e.to_string());
            }
        }
        if let Some(last) = list.chunks.last() {
            if last.kind != IEND {
                problems.push("file does not end with IEND".into());
            }
        }
        Ok(problems)
    }
}

fn scan(source: &dyn Source, limits: &Limits) -> Result<Metadata> {
    scan_chunks(source, limits, false)
}

/// Scan a PNG that may be cut short: what was read before the cut, with a `truncated: ...` warning. Only a file
/// cut before the end of IHDR is an error.
pub fn scan_truncated(source: &dyn Source, limits: &Limits) -> Result<Metadata> {
    scan_chunks(source, limits, true)
}

fn scan_chunks(source: &dyn Source, limits: &Limits, lenient: bool) -> Result<Metadata> {
    let mut meta = Metadata {
        format: Format::Png,
        ..Metadata::default()
    };
    match walk_chunks(source, limits, &mut meta) {
        Err(e @ Error::Truncated { .. }) if lenient && !meta.blocks.is_empty() => {
            meta.warnings
                .push(format!("truncated: {e}; showing what comes before"));
            Ok(meta)
        }
        Err(e) => Err(e),
        Ok(()) => Ok(meta),
    }
}

fn walk_chunks(source: &dyn Source, limits: &Limits, meta: &mut Metadata) -> Result<()> {
    let mut window = Window::new(source, FIRST_READ)?;
    let file_len = window.len();
    if window.get(0, 8)? != PNG_SIGNATURE {
        return Err(Error::UnknownFormat("not a PNG (signature missing)".into()));
    }
    let mut budget = limits.max_total_text;
    let mut pos: u64 = 8;
    let mut seen_idat = false;
    let mut count: u64 = 0;
    let mut ended = false;
    while pos < file_len {
        let header = window.get(pos, 8)?;
        if header.len() < 8 {
            return Err(Error::Truncated {
                what: "chunk header".into(),
                offset: pos,
                needed: 8,
                available: header.len() as u64,
            });
        }
        let len = u64::from(u32::from_be_bytes([
            header[0], header[1], header[2], header[3],
        ]));
        let kind = ChunkType([header[4], header[5], header[6], header[7]]);
        check_header(kind, len, pos, count, limits)?;
        if count == 0 && kind != IHDR {
            return Err(malformed(
                format!("first chunk is {}, not IHDR", kind.name()),
                pos as usize,
            ));
        }
        count += 1;
        let end = pos + 12 + len;
        if end > file_len {
            return Err(Error::Truncated {
                what: format!("{} chunk", kind.name()),
                offset: pos,
                needed: 12 + len,
                available: file_len - pos,
            });
        }
        let first_idat = kind == IDAT && !seen_idat;
        if kind == IDAT {
            seen_idat = true;
        }
        let mut block = Block {
            kind: kind.name(),
            offset: pos,
            size: len,
            label: None,
            after_image_data: seen_idat && kind != IDAT,
        };
        let wanted = kind == IHDR || kind == ACTL || (role(kind) == Role::Metadata);
        if wanted {
            check_metadata_len(kind, len, pos, limits)?;
            let bytes = window.get(pos + 4, len as usize + 8)?;
            let (type_and_data, crc) = bytes.split_at(bytes.len() - 4);
            let stored = u32::from_be_bytes(crc.try_into().unwrap_or([0; 4]));
            if crc32fast::hash(type_and_data) != stored {
                meta.warnings
                    .push(format!("bad CRC in {} chunk at offset {pos}", kind.name()));
            }
            let data = &type_and_data[4..];
            read_chunk(kind, data, pos, &mut block, meta, limits, &mut budget)?;
        }
        meta.blocks.push(block);
        // After the first IDAT of a still image, the rest is read from the end of the file when it parses.
        if first_idat && meta.frames.is_none() {
            let first = FirstIdat { offset: pos, len };
            if let Some(tail) = read_tail(source, first, count, limits)? {
                return read_from_tail(&tail, meta, limits, &mut budget);
            }
        }
        pos = end;
        if kind == IEND {
            ended = true;
            break;
        }
    }
    if !ended {
        return Err(Error::Truncated {
            what: "IEND chunk".into(),
            offset: pos,
            needed: 12,
            available: 0,
        });
    }
    if pos < file_len {
        meta.warnings.push(format!(
            "{} bytes after IEND (kept on write)",
            file_len - pos
        ));
    }
    Ok(())
}

fn check_metadata_len(kind: ChunkType, len: u64, pos: u64, limits: &Limits) -> Result<()> {
    if len > limits.max_metadata_chunk {
        return Err(Error::Limit {
            limit: "max_metadata_chunk",
            max: limits.max_metadata_chunk,
            found: len,
            context: format!("{} chunk at offset {pos}", kind.name()),
        });
    }
    Ok(())
}

/// The blocks and metadata of a file's end read from its tail: the last IDAT, the chunks after the image data
/// (their CRCs were checked when the tail was parsed) and IEND.
fn read_from_tail(
    tail: &Tail,
    meta: &mut Metadata,
    limits: &Limits,
    budget: &mut u64,
) -> Result<()> {
    if let Some((offset, size)) = tail.last_idat {
        meta.blocks.push(Block {
            kind: IDAT.name(),
            offset,
            size,
            label: None,
            after_image_data: false,
        });
    }
    for chunk in &tail.chunks {
        let mut block = Block {
            kind: chunk.kind.name(),
            offset: chunk.offset,
            size: chunk.len,
            label: None,
            after_image_data: true,
        };
        if role(chunk.kind) == Role::Metadata {
            check_metadata_len(chunk.kind, chunk.len, chunk.offset, limits)?;
            let bytes = tail.chunk_bytes(chunk);
            let data = bytes.get(4..bytes.len().saturating_sub(4)).unwrap_or(&[]);
            read_chunk(
                chunk.kind,
                data,
                chunk.offset,
                &mut block,
                meta,
                limits,
                budget,
            )?;
        }
        meta.blocks.push(block);
    }
    meta.blocks.push(Block {
        kind: IEND.name(),
        offset: tail.iend,
        size: 0,
        label: None,
        after_image_data: true,
    });
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn read_chunk(
    kind: ChunkType,
    data: &[u8],
    pos: u64,
    block: &mut Block,
    meta: &mut Metadata,
    limits: &Limits,
    budget: &mut u64,
) -> Result<()> {
    let after = block.after_image_data;
    match kind {
        IHDR if data.len() >= 8 => {
            meta.width = Some(u32::from_be_bytes([data[0], data[1], data[2], data[3]]));
            meta.height = Some(u32::from_be_bytes([data[4], data[5], data[6], data[7]]));
        }
        ACTL if data.len() >= 4 => {
            meta.frames = Some(u32::from_be_bytes([data[0], data[1], data[2], data[3]]));
        }
        TEXT | ZTXT | ITXT => match decode_text_chunk(kind, data, limits, budget) {
            Ok(text) => {
                block.label = Some(text.keyword.clone());
                if kind == ITXT && text.keyword == RECORD_KEYWORD {
                    if text.text.len() as u64 > limits.max_record {
                        return Err(Error::Limit {
                            limit: "max_record",
                            max: limits.max_record,
                            found: text.text.len() as u64,
                            context: format!("stemma iTXt at offset {pos}"),
                        });
                    }
                    if meta.record_json.is_some() {
                        meta.warnings
                            .push(format!("second stemma record at offset {pos} ignored"));
                    } else {
                        meta.record_json = Some(text.text);
                        meta.record_origin = Some(format!("png:iTXt {RECORD_KEYWORD}"));
                    }
                } else {
                    meta.entries.push(Entry {
                        origin: format!("png:{}", kind.name()),
                        key: text.keyword,
                        value: Value::Text(text.text),
                        after_image_data: after,
                        encoding: Some(text.encoding),
                    });
                }
            }
            Err(e @ Error::Limit { .. }) => return Err(e),
            Err(e) => meta.warnings.push(format!(
                "{} chunk at offset {pos} skipped: {e}",
                kind.name()
            )),
        },
        _ => {
            let key = match kind {
                EXIF => "exif",
                CABX => "c2pa",
                _ => "data",
            };
            meta.entries.push(Entry {
                origin: format!("png:{}", kind.name()),
                key: key.into(),
                value: Value::Bytes(data.to_vec()),
                after_image_data: after,
                encoding: None,
            });
            if kind == EXIF {
                match crate::exif::entries(data, after) {
                    Ok(entries) => meta.entries.extend(entries),
                    Err(e) => meta
                        .warnings
                        .push(format!("eXIf chunk at offset {pos}: {e}")),
                }
            }
        }
    }
    Ok(())
}

/// The keyword of A1111's text chunk.
pub const A1111_KEYWORD: &str = "parameters";
/// The translated keyword that marks a text chunk as a mirror stemma wrote (an iTXt field other writers leave
/// empty).
pub const MIRROR_MARK: &str = "stemma";

/// The data of a mirror iTXt chunk: uncompressed, empty language tag, translated keyword [`MIRROR_MARK`].
pub fn encode_mirror_itxt(keyword: &str, text: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(keyword.len() + text.len() + MIRROR_MARK.len() + 5);
    data.extend_from_slice(keyword.as_bytes());
    data.extend_from_slice(&[0, 0, 0, 0]);
    data.extend_from_slice(MIRROR_MARK.as_bytes());
    data.push(0);
    data.extend_from_slice(text.as_bytes());
    data
}

/// True when iTXt data carries stemma's mirror mark (translated keyword [`MIRROR_MARK`]).
pub fn is_stemma_mirror(data: &[u8]) -> bool {
    let fields = || -> Option<bool> {
        let nul = data.iter().position(|&b| b == 0)?;
        let rest = data.get(nul + 3..)?; // keyword NUL, compression flag, compression method
        let lang_end = rest.iter().position(|&b| b == 0)?;
        let rest = rest.get(lang_end + 1..)?;
        let tk_end = rest.iter().position(|&b| b == 0)?;
        Some(&rest[..tk_end] == MIRROR_MARK.as_bytes())
    };
    fields().unwrap_or(false)
}

fn is_record_chunk(file: &[u8], chunk: &RawChunk) -> bool {
    chunk.kind == ITXT && keyword_of(chunk.data(file)) == Some(RECORD_KEYWORD.as_bytes())
}

fn keyword_of(data: &[u8]) -> Option<&[u8]> {
    data.iter().position(|&b| b == 0).map(|n| &data[..n])
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
    let list = parse_chunks(file, limits, true)?;
    let has_c2pa = list.chunks.iter().any(|c| c.kind == CABX);
    if edit.breaks_c2pa(has_c2pa) {
        return Err(Error::C2paProtected("PNG caBX chunk".into()));
    }
    let strip_all = matches!(edit.strip, Some(StripProfile::All));
    let keep_other = |chunk: &RawChunk| -> bool {
        match edit.strip {
            Some(StripProfile::All) => role(chunk.kind) != Role::Metadata,
            Some(StripProfile::Stemma) | None => true,
        }
    };
    // stemma's interop chunks: the XMP mirror (marked inside the packet) and an A1111 `parameters` iTXt marked
    // by the translated keyword `stemma` (see `spec/notes/mirror-ownership.md`). A `parameters` text without the
    // mark is the generator's own and is never taken for a mirror, whatever it says.
    let touch_stemma = !matches!(edit.record, RecordChange::Keep) || edit.strip.is_some();
    let decode = |c: &RawChunk| -> Option<TextChunk> {
        let mut budget = limits.max_total_text;
        decode_text_chunk(c.kind, c.data(file), limits, &mut budget).ok()
    };
    let is_parameters = |c: &RawChunk| {
        (c.kind == TEXT || c.kind == ITXT || c.kind == ZTXT)
            && keyword_of(c.data(file)) == Some(A1111_KEYWORD.as_bytes())
    };
    let is_our_a1111 = |c: &RawChunk| -> bool { c.kind == ITXT && is_stemma_mirror(c.data(file)) };
    let xmp_index = list
        .chunks
        .iter()
        .position(|c| c.kind == ITXT && keyword_of(c.data(file)) == Some(XMP_KEYWORD.as_bytes()));
    let existing_xmp = xmp_index
        .and_then(|i| decode(&list.chunks[i]))
        .map(|t| t.text);
    // The packet left after removing stemma's part (None: none remains).
    let base_xmp = xmp::after_removal(
        existing_xmp.as_deref(),
        touch_stemma && !strip_all,
        !matches!(edit.record, RecordChange::Keep),
        limits,
    )?;
    let new_record = match &edit.record {
        // Never compressed (specification §4.1): Exiv2 and Pillow refuse large compressed text.
        RecordChange::Set(json) => Some(encode_chunk(
            ITXT,
            &encode_itxt(RECORD_KEYWORD, json, false),
        )),
        RecordChange::Keep | RecordChange::Remove => None,
    };
    // XMP mirrors and the A1111 text that go with a new record.
    let mut new_xmp: Option<Vec<u8>> = None;
    let mut new_a1111: Option<Vec<u8>> = None;
    if let RecordChange::Set(_) = &edit.record {
        if edit.xmp_mirrors {
            let values = &mirrors.xmp;
            if !values.is_empty() {
                let source = if strip_all {
                    None
                } else {
                    existing_xmp.as_deref()
                };
                let packet = xmp::merge(source, values, &[], limits)?;
                new_xmp = Some(encode_chunk(
                    ITXT,
                    &encode_itxt(XMP_KEYWORD, &packet, false),
                ));
            }
        }
        if edit.a1111_mirror {
            let foreign = !strip_all
                && list
                    .chunks
                    .iter()
                    .any(|c| is_parameters(c) && !is_our_a1111(c));
            if let Some(text) = &mirrors.a1111 {
                if !foreign {
                    new_a1111 = Some(encode_chunk(ITXT, &encode_mirror_itxt(A1111_KEYWORD, text)));
                }
            }
        }
    }
    // An unchanged record survives only an edit that strips nothing.
    let keep_old_record = matches!(edit.record, RecordChange::Keep) && edit.strip.is_none();
    // A new record replaces the first record chunk before IDAT in place; otherwise it goes right after IHDR.
    let replace_at = list
        .chunks
        .iter()
        .position(|c| is_record_chunk(file, c) && !c.after_idat);
    let extra = new_record.as_ref().map_or(0, Vec::len) + new_xmp.as_ref().map_or(0, Vec::len);
    let mut out = Vec::with_capacity(file.len() + extra);
    out.extend_from_slice(&PNG_SIGNATURE);
    let emit_new = |out: &mut Vec<u8>, rec: &[u8]| {
        out.extend_from_slice(rec);
        if let Some(a) = &new_a1111 {
            out.extend_from_slice(a);
        }
        if xmp_index.is_none() {
            if let Some(x) = &new_xmp {
                out.extend_from_slice(x);
            }
        }
    };
    for (i, chunk) in list.chunks.iter().enumerate() {
        let original = &file[chunk.start..chunk.end];
        if is_record_chunk(file, chunk) {
            match &new_record {
                Some(rec) if replace_at == Some(i) => emit_new(&mut out, rec),
                _ if keep_old_record => out.extend_from_slice(original),
                _ => {}
            }
        } else if Some(i) == xmp_index {
            if let Some(x) = &new_xmp {
                out.extend_from_slice(x);
            } else if strip_all {
            } else if !touch_stemma || base_xmp.as_ref() == existing_xmp.as_ref() {
                out.extend_from_slice(original);
            } else if let Some(p) = &base_xmp {
                out.extend_from_slice(&encode_chunk(ITXT, &encode_itxt(XMP_KEYWORD, p, false)));
            }
        } else if touch_stemma && is_our_a1111(chunk) {
            // stemma's own A1111 text goes with the old record.
        } else if keep_other(chunk) {
            out.extend_from_slice(original);
        }
        if chunk.kind == IHDR && replace_at.is_none() {
            if let Some(rec) = &new_record {
                emit_new(&mut out, rec);
            }
        }
    }
    out.extend_from_slice(&file[list.trailer.clone()]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_roles_table_has_no_duplicates() {
        for (i, (a, _)) in CHUNK_ROLES.iter().enumerate() {
            assert!(
                CHUNK_ROLES[i + 1..].iter().all(|(b, _)| a != b),
                "{a:?} twice"
            );
        }
    }

    #[test]
    fn unknown_chunks_get_a_role_from_their_case() {
        assert_eq!(role(ChunkType(*b"prVt")), Role::Metadata);
        assert_eq!(role(ChunkType(*b"CRIT")), Role::ImageData);
    }

    #[test]
    fn itxt_encode_decode_round_trip() {
        for compress in [false, true] {
            let data = encode_itxt("stemma", "{\"a\":\"é\"}", compress);
            let mut budget = u64::MAX;
            let t = decode_text_chunk(ITXT, &data, &Limits::DEFAULT, &mut budget).unwrap();
            assert_eq!(t.keyword, "stemma");
            assert_eq!(t.text, "{\"a\":\"é\"}");
            assert_eq!(t.compressed, compress);
        }
    }

    #[test]
    fn malformed_text_chunks_are_errors() {
        let mut budget = u64::MAX;
        for (kind, data) in [
            (TEXT, b"no-nul".to_vec()),
            (TEXT, b"\0empty keyword".to_vec()),
            (ZTXT, b"k\0\x05xx".to_vec()),
            (ITXT, b"k\0\x01".to_vec()),
            (ITXT, b"k\0\x02\0\0\0text".to_vec()),
        ] {
            assert!(decode_text_chunk(kind, &data, &Limits::DEFAULT, &mut budget).is_err());
        }
    }
}
