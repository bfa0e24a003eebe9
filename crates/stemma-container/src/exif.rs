//! EXIF: TIFF-structured tag blocks, read with checked offsets, and a small writer for the text tags stemma
//! mirrors.
//!
//! Reading accepts a block with or without the leading `Exif\0\0`, in either byte order, walks IFD0, the Exif IFD
//! (`0x8769`) and IFD1, refuses loops, and decodes the text tags listed in [`TEXT_TAGS`] into entries with
//! origin `exif` and the tag's name as key, whatever container the block came from.

use crate::error::{Error, Result};
use crate::metadata::{Entry, Value};
use crate::text::decode_latin1_or_utf8;

/// The prefix of EXIF in JPEG APP1 (and sometimes in WebP `EXIF`).
pub const EXIF_PREFIX: &[u8] = b"Exif\0\0";

/// Most IFD entries read from one block (a loop or a bomb stops here).
const MAX_ENTRIES: usize = 10_000;

/// The text tags decoded into entries: (tag id, name).
pub const TEXT_TAGS: &[(u16, &str)] = &[
    (0x010D, "DocumentName"),
    (0x010E, "ImageDescription"),
    (0x010F, "Make"),
    (0x0110, "Model"),
    (0x0131, "Software"),
    (0x0132, "DateTime"),
    (0x013B, "Artist"),
    (0x8298, "Copyright"),
    (0x9003, "DateTimeOriginal"),
    // DreamStudio keeps its whole generation request here (Z85 text, generators.md §12).
    (0x9213, "ImageHistory"),
    (0x9286, "UserComment"),
    (0x927C, "MakerNote"),
    (0x9C9B, "XPTitle"),
    (0x9C9C, "XPComment"),
    (0x9C9D, "XPAuthor"),
    (0x9C9E, "XPKeywords"),
    (0x9C9F, "XPSubject"),
];

/// Exif IFD pointer tag.
const EXIF_IFD: u16 = 0x8769;

/// Byte sizes of the TIFF field types (index = type id).
const TYPE_SIZES: &[(u16, u64)] = &[
    (1, 1),
    (2, 1),
    (3, 2),
    (4, 4),
    (5, 8),
    (6, 1),
    (7, 1),
    (8, 2),
    (9, 4),
    (10, 8),
    (11, 4),
    (12, 8),
    (13, 4),
    (129, 1),
];

/// Which IFD a field came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ifd {
    Ifd0,
    Exif,
    Ifd1,
}

/// One raw field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub ifd: Ifd,
    pub tag: u16,
    pub kind: u16,
    pub count: u32,
    /// The value bytes, in the block's byte order.
    pub value: Vec<u8>,
}

/// A parsed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExifBlock {
    pub little_endian: bool,
    pub fields: Vec<Field>,
}

fn bad(reason: impl Into<String>, offset: usize) -> Error {
    Error::Malformed {
        format: "EXIF",
        reason: reason.into(),
        offset: offset as u64,
    }
}

struct Tiff<'a> {
    data: &'a [u8],
    le: bool,
}

impl Tiff<'_> {
    fn bytes(&self, at: usize, n: usize) -> Result<&[u8]> {
        at.checked_add(n)
            .and_then(|end| self.data.get(at..end))
            .ok_or_else(|| {
                bad(
                    format!("{n} bytes at {at} run past the end of the block"),
                    at,
                )
            })
    }
    fn u16(&self, at: usize) -> Result<u16> {
        let b = self.bytes(at, 2)?;
        Ok(if self.le {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    }
    fn u32(&self, at: usize) -> Result<u32> {
        let b = self.bytes(at, 4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }
}

/// Strip an optional `Exif\0\0` prefix (also the common `Exif\0` + other byte variant).
pub fn tiff_part(data: &[u8]) -> &[u8] {
    // `Exif\0\0`, and the `Exif\0` + other byte variant some writers produce.
    let prefixed = data.starts_with(b"Exif") && data.len() >= 6 && !data[4..].starts_with(b"II");
    if prefixed {
        &data[6..]
    } else {
        data
    }
}

/// Parse a block (with or without `Exif\0\0`).
pub fn parse(data: &[u8]) -> Result<ExifBlock> {
    let data = tiff_part(data);
    let le = match data.get(0..4) {
        Some([b'I', b'I', 42, 0]) => true,
        Some([b'M', b'M', 0, 42]) => false,
        _ => return Err(bad("no TIFF header (II*\\0 or MM\\0*)", 0)),
    };
    let t = Tiff { data, le };
    let mut fields = Vec::new();
    let mut visited: Vec<usize> = Vec::new();
    let ifd0 = t.u32(4)? as usize;
    let next = read_ifd(&t, ifd0, Ifd::Ifd0, &mut fields, &mut visited)?;
    let exif_ptr = fields
        .iter()
        .find(|f| f.ifd == Ifd::Ifd0 && f.tag == EXIF_IFD)
        .and_then(|f| value_u32(f, le));
    if let Some(p) = exif_ptr {
        // A broken Exif IFD pointer loses only the Exif IFD.
        let _ = read_ifd(&t, p as usize, Ifd::Exif, &mut fields, &mut visited);
    }
    if next != 0 {
        let _ = read_ifd(&t, next as usize, Ifd::Ifd1, &mut fields, &mut visited);
    }
    Ok(ExifBlock {
        little_endian: le,
        fields,
    })
}

fn value_u32(f: &Field, le: bool) -> Option<u32> {
    match (f.kind, f.value.as_slice()) {
        (4 | 13, [a, b, c, d, ..]) => Some(if le {
            u32::from_le_bytes([*a, *b, *c, *d])
        } else {
            u32::from_be_bytes([*a, *b, *c, *d])
        }),
        (3, [a, b, ..]) => Some(u32::from(if le {
            u16::from_le_bytes([*a, *b])
        } else {
            u16::from_be_bytes([*a, *b])
        })),
        _ => None,
    }
}

fn read_ifd(
    t: &Tiff,
    offset: usize,
    ifd: Ifd,
    fields: &mut Vec<Field>,
    visited: &mut Vec<usize>,
) -> Result<u32> {
    if offset < 8 || visited.contains(&offset) {
        return Err(bad("IFD offset loops or points into the header", offset));
    }
    visited.push(offset);
    let count = usize::from(t.u16(offset)?);
    if fields.len() + count > MAX_ENTRIES {
        return Err(bad("too many IFD entries", offset));
    }
    for i in 0..count {
        let at = offset + 2 + i * 12;
        let tag = t.u16(at)?;
        let kind = t.u16(at + 2)?;
        let n = t.u32(at + 4)?;
        let Some(size) = TYPE_SIZES.iter().find(|(k, _)| *k == kind).map(|(_, s)| *s) else {
            // Unknown type: skip the entry, as TIFF readers must.
            continue;
        };
        let total = size.saturating_mul(u64::from(n));
        let Ok(total) = usize::try_from(total) else {
            continue;
        };
        let value = if total <= 4 {
            t.bytes(at + 8, total)?.to_vec()
        } else {
            let ptr = t.u32(at + 8)? as usize;
            match t.bytes(ptr, total) {
                Ok(b) => b.to_vec(),
                // A value that points outside the block is dropped, not fatal.
                Err(_) => continue,
            }
        };
        fields.push(Field {
            ifd,
            tag,
            kind,
            count: n,
            value,
        });
    }
    t.u32(offset + 2 + count * 12).or(Ok(0))
}

/// The name of a text tag.
pub fn tag_name(tag: u16) -> Option<&'static str> {
    TEXT_TAGS.iter().find(|(t, _)| *t == tag).map(|(_, n)| *n)
}

fn trim_nuls(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&c| c != 0).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| c != 0).map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

/// Decode UTF-16 whose byte order is unknown: a BOM decides, else the position of zero bytes (ASCII-heavy text
/// has its zero high bytes first in BE), else which order decodes without errors, else `fallback_le`.
pub fn decode_utf16_guess(bytes: &[u8], fallback_le: bool) -> (String, &'static str) {
    let (body, le) = match bytes {
        [0xFF, 0xFE, rest @ ..] => (rest, true),
        [0xFE, 0xFF, rest @ ..] => (rest, false),
        _ => {
            let even = bytes.iter().step_by(2).filter(|&&b| b == 0).count();
            let odd = bytes.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
            let le = if even != odd {
                odd > even
            } else {
                let ok_le = decode_utf16(bytes, true).is_some();
                let ok_be = decode_utf16(bytes, false).is_some();
                match (ok_le, ok_be) {
                    (true, false) => true,
                    (false, true) => false,
                    _ => fallback_le,
                }
            };
            (bytes, le)
        }
    };
    let text = decode_utf16(body, le).unwrap_or_else(|| lossy_utf16(body, le));
    let text = text.trim_end_matches('\0').to_string();
    (text, if le { "utf-16le" } else { "utf-16be" })
}

fn units(bytes: &[u8], le: bool) -> impl Iterator<Item = u16> + '_ {
    bytes.chunks_exact(2).map(move |c| {
        if le {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    })
}

fn decode_utf16(bytes: &[u8], le: bool) -> Option<String> {
    char::decode_utf16(units(bytes, le))
        .collect::<std::result::Result<String, _>>()
        .ok()
}

fn lossy_utf16(bytes: &[u8], le: bool) -> String {
    char::decode_utf16(units(bytes, le))
        .map(|r| r.unwrap_or('\u{FFFD}'))
        .collect()
}

/// Decode a UserComment value by its 8-byte character code.
pub fn decode_user_comment(value: &[u8], tiff_le: bool) -> Decoded {
    let (code, body) = if value.len() >= 8 {
        value.split_at(8)
    } else {
        (&[][..], value)
    };
    match code {
        b"UNICODE\0" => {
            let (t, enc) = decode_utf16_guess(body, tiff_le);
            Decoded::Text(t, enc)
        }
        b"ASCII\0\0\0" => {
            let (t, enc) = decode_latin1_or_utf8(trim_nuls(body));
            Decoded::Text(t, enc)
        }
        b"JIS\0\0\0\0\0" => match std::str::from_utf8(trim_nuls(body)) {
            Ok(s) => Decoded::Text(s.to_string(), "utf-8"),
            Err(_) => Decoded::Bytes(value.to_vec()),
        },
        [0, 0, 0, 0, 0, 0, 0, 0] => {
            let (t, enc) = decode_latin1_or_utf8(trim_nuls(body));
            Decoded::Text(t, enc)
        }
        // No character code: the whole value is text (ComfyUI savers, Fooocus in IFD0).
        _ => {
            let (t, enc) = decode_latin1_or_utf8(trim_nuls(value));
            Decoded::Text(t, enc)
        }
    }
}

/// A decoded value and how it was decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    Text(String, &'static str),
    Bytes(Vec<u8>),
}

/// Decode one field's value as the entry it becomes.
pub fn decode_field(field: &Field, le: bool) -> Decoded {
    let raw = field.value.as_slice();
    match field.tag {
        0x9286 if field.kind == 7 => decode_user_comment(raw, le),
        0x9C9B..=0x9C9F => {
            let (t, enc) = decode_utf16_guess(raw, true);
            Decoded::Text(t, enc)
        }
        0x927C => match std::str::from_utf8(trim_nuls(raw)) {
            Ok(s) if !s.is_empty() => Decoded::Text(s.to_string(), "utf-8"),
            _ => Decoded::Bytes(raw.to_vec()),
        },
        _ if field.kind == 129 => {
            let (t, _) = crate::text::decode_utf8_lossy(trim_nuls(raw));
            Decoded::Text(t, "utf-8")
        }
        _ if field.kind == 1 || field.kind == 2 || field.kind == 7 => {
            let (t, enc) = decode_latin1_or_utf8(trim_nuls(raw));
            Decoded::Text(t, enc)
        }
        _ => Decoded::Bytes(raw.to_vec()),
    }
}

/// The text entries of a block (origin `exif`), in IFD order.
pub fn entries(data: &[u8], after_image_data: bool) -> Result<Vec<Entry>> {
    let block = parse(data)?;
    let mut out = Vec::new();
    for f in &block.fields {
        // Pointer-free text tags only; IFD1 (thumbnail) text is ignored.
        if f.ifd == Ifd::Ifd1 {
            continue;
        }
        let Some(name) = tag_name(f.tag) else {
            continue;
        };
        let (value, encoding) = match decode_field(f, block.little_endian) {
            Decoded::Text(t, enc) => (Value::Text(t), Some(enc)),
            Decoded::Bytes(b) => (Value::Bytes(b), None),
        };
        out.push(Entry {
            origin: "exif".into(),
            key: name.into(),
            value,
            after_image_data,
            encoding,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/// A text tag to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextTag {
    /// IFD0 ImageDescription (ASCII type, UTF-8 bytes).
    ImageDescription(String),
    /// Exif IFD UserComment, `UNICODE\0` + UTF-16 in the block's byte order (big-endian blocks are written).
    UserComment(String),
    /// IFD0 XPTitle (UTF-16LE).
    XpTitle(String),
    /// IFD0 XPComment (UTF-16LE).
    XpComment(String),
}

/// Build a fresh big-endian TIFF block (without `Exif\0\0`) holding these tags.
pub fn build(tags: &[TextTag]) -> Vec<u8> {
    let mut ifd0: Vec<(u16, u16, Vec<u8>)> = Vec::new();
    let mut exif: Vec<(u16, u16, Vec<u8>)> = Vec::new();
    for t in tags {
        match t {
            TextTag::ImageDescription(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                ifd0.push((0x010E, 2, b));
            }
            TextTag::UserComment(s) => {
                let mut b = b"UNICODE\0".to_vec();
                for u in s.encode_utf16() {
                    b.extend_from_slice(&u.to_be_bytes());
                }
                exif.push((0x9286, 7, b));
            }
            TextTag::XpTitle(s) | TextTag::XpComment(s) => {
                let tag = if matches!(t, TextTag::XpTitle(_)) {
                    0x9C9B
                } else {
                    0x9C9C
                };
                let mut b = Vec::new();
                for u in s.encode_utf16().chain([0]) {
                    b.extend_from_slice(&u.to_le_bytes());
                }
                ifd0.push((tag, 1, b));
            }
        }
    }
    if !exif.is_empty() {
        // ExifVersion is required in every Exif IFD.
        exif.push((0x9000, 7, b"0232".to_vec()));
        ifd0.push((EXIF_IFD, 4, vec![0; 4]));
    }
    ifd0.sort_by_key(|e| e.0);
    exif.sort_by_key(|e| e.0);
    let ifd_size = |n: usize| 2 + 12 * n + 4;
    let ifd0_at = 8usize;
    let exif_at = ifd0_at + ifd_size(ifd0.len());
    let mut data_at = exif_at
        + if exif.is_empty() {
            0
        } else {
            ifd_size(exif.len())
        };
    let mut out = b"MM\0\x2a\0\0\0\x08".to_vec();
    let mut blobs: Vec<u8> = Vec::new();
    let mut write_ifd =
        |out: &mut Vec<u8>, entries: &[(u16, u16, Vec<u8>)], data_at: &mut usize| {
            out.extend_from_slice(&(entries.len() as u16).to_be_bytes());
            for (tag, kind, value) in entries {
                out.extend_from_slice(&tag.to_be_bytes());
                out.extend_from_slice(&kind.to_be_bytes());
                let value = if *tag == EXIF_IFD {
                    (exif_at as u32).to_be_bytes().to_vec()
                } else {
                    value.clone()
                };
                out.extend_from_slice(&(value.len() as u32).to_be_bytes());
                if value.len() <= 4 {
                    let mut v = value.clone();
                    v.resize(4, 0);
                    out.extend_from_slice(&v);
                } else {
                    out.extend_from_slice(&(*data_at as u32).to_be_bytes());
                    blobs.extend_from_slice(&value);
                    *data_at += value.len();
                    if value.len() % 2 == 1 {
                        blobs.push(0);
                        *data_at += 1;
                    }
                }
            }
            out.extend_from_slice(&0u32.to_be_bytes());
        };
    // The Exif IFD pointer has count 1 of LONG, not the byte length.
    write_ifd(&mut out, &ifd0, &mut data_at);
    if !exif.is_empty() {
        write_ifd(&mut out, &exif, &mut data_at);
    }
    out.extend_from_slice(&blobs);
    // Fix the Exif IFD pointer's count field (written as 4 bytes length, must be count 1).
    fix_pointer_count(&mut out);
    out
}

fn fix_pointer_count(out: &mut [u8]) {
    let n = usize::from(u16::from_be_bytes([out[8], out[9]]));
    for i in 0..n {
        let at = 10 + i * 12;
        if out.get(at..at + 2) == Some(&EXIF_IFD.to_be_bytes()[..]) {
            if let Some(c) = out.get_mut(at + 4..at + 8) {
                c.copy_from_slice(&1u32.to_be_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(entries: &[Entry], key: &str) -> Option<String> {
        entries
            .iter()
            .find(|e| e.key == key)
            .and_then(|e| e.value.as_text().map(str::to_string))
    }

    #[test]
    fn built_blocks_read_back() {
        let block = build(&[
            TextTag::ImageDescription("a cat, é".into()),
            TextTag::UserComment("steps 20 ✓".into()),
            TextTag::XpTitle("title".into()),
            TextTag::XpComment("comment".into()),
        ]);
        for data in [block.clone(), [EXIF_PREFIX, &block].concat()] {
            let e = entries(&data, false).unwrap();
            assert_eq!(text(&e, "ImageDescription").as_deref(), Some("a cat, é"));
            assert_eq!(text(&e, "UserComment").as_deref(), Some("steps 20 ✓"));
            assert_eq!(text(&e, "XPTitle").as_deref(), Some("title"));
            assert_eq!(text(&e, "XPComment").as_deref(), Some("comment"));
        }
    }

    #[test]
    fn user_comment_byte_order_is_taken_from_the_content() {
        let mut be = b"UNICODE\0".to_vec();
        let mut le = b"UNICODE\0".to_vec();
        for u in "Steps: 20".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
            le.extend_from_slice(&u.to_le_bytes());
        }
        for tiff_le in [true, false] {
            assert_eq!(
                decode_user_comment(&be, tiff_le),
                Decoded::Text("Steps: 20".into(), "utf-16be")
            );
            assert_eq!(
                decode_user_comment(&le, tiff_le),
                Decoded::Text("Steps: 20".into(), "utf-16le")
            );
        }
        assert_eq!(
            decode_user_comment(b"ASCII\0\0\0caf\xc3\xa9", true),
            Decoded::Text("café".into(), "utf-8")
        );
        assert_eq!(
            decode_user_comment(b"plain text", true),
            Decoded::Text("plain text".into(), "latin1")
        );
    }

    #[test]
    fn little_endian_ifd0_and_loops() {
        // II header, IFD0 with one ASCII Make "ab\0" inline, next IFD pointing back to IFD0 (a loop).
        let mut d = b"II\x2a\0\x08\0\0\0".to_vec();
        d.extend_from_slice(&1u16.to_le_bytes());
        d.extend_from_slice(&0x010Fu16.to_le_bytes());
        d.extend_from_slice(&2u16.to_le_bytes());
        d.extend_from_slice(&3u32.to_le_bytes());
        d.extend_from_slice(b"ab\0\0");
        d.extend_from_slice(&8u32.to_le_bytes());
        let e = entries(&d, false).unwrap();
        assert_eq!(text(&e, "Make").as_deref(), Some("ab"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse(b"").is_err());
        assert!(parse(b"Exif\0\0MM\0*\xff\xff\xff\xff").is_err());
        assert!(parse(b"II*\0\x08\0\0\0\xff\xff").is_err());
    }
}
