//! The uniform view of what a file holds, the same for every container: a listing of its blocks (chunks or
//! segments) and the metadata entries decoded from them, in file order.

use serde::Serialize;

use crate::detect::Format;

/// Everything a metadata scan found in a file. Nothing here required decoding pixels.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Metadata {
    pub format: Format,
    /// Pixel size from the header, when the format states one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Number of animation frames, for animated files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
    /// Every chunk or segment, in file order. A PNG whose end was read from its tail lists its first and last
    /// IDAT chunks only (the run between them is not read; see `png_tail`).
    pub blocks: Vec<Block>,
    /// Decoded metadata entries (text chunks, EXIF fields, XMP packets, comments), in file order.
    pub entries: Vec<Entry>,
    /// The stemma record's JSON text, when the file carries one.
    #[serde(skip)]
    pub record_json: Option<String>,
    /// Where the record was found (`png:iTXt stemma`, `xmp`, `sidecar`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_origin: Option<String>,
    /// Problems that did not stop the scan (bad CRC on a text chunk, duplicate records, data after the end).
    pub warnings: Vec<String>,
}

/// One chunk or segment of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Block {
    /// Chunk type (`IDAT`, `tEXt`), segment name (`APP1`), RIFF fourcc.
    pub kind: String,
    pub offset: u64,
    /// Payload size in bytes.
    pub size: u64,
    /// For text chunks: the keyword; for APPn: the signature (`Exif`, `XMP`, `ExtendedXMP`, `ICC_PROFILE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// True when the block comes after the image data (text after IDAT).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub after_image_data: bool,
}

/// One decoded piece of metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// Where it came from: `png:tEXt`, `png:zTXt`, `png:iTXt`, `png:eXIf`, `exif`, `xmp`, `jpeg:COM`, `c2pa`.
    pub origin: String,
    /// The key: PNG keyword, EXIF tag name (`UserComment`), `packet` for XMP.
    pub key: String,
    pub value: Value,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub after_image_data: bool,
    /// How text was decoded when the bytes did not say (`latin1`, `utf-8`, `utf-16le`, `utf-16be`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
}

/// The value of an entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    #[serde(serialize_with = "serialize_len")]
    Bytes(Vec<u8>),
}

fn serialize_len<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("<{} bytes>", bytes.len()))
}

impl Value {
    /// The text, when the value is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            Value::Bytes(_) => None,
        }
    }
    /// Size in bytes.
    pub fn len(&self) -> usize {
        match self {
            Value::Text(t) => t.len(),
            Value::Bytes(b) => b.len(),
        }
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Metadata {
    /// The values at `origin` / `key` as bytes (text as UTF-8): the candidates a `raw` reference of the record
    /// (specification §3.4.1) is expanded from. `key` None matches entries of any key.
    pub fn raw_values(&self, origin: &str, key: Option<&str>) -> Vec<Vec<u8>> {
        self.entries
            .iter()
            .filter(|e| e.origin == origin && key.is_none_or(|k| e.key == k))
            .map(|e| match &e.value {
                Value::Text(t) => t.as_bytes().to_vec(),
                Value::Bytes(b) => b.clone(),
            })
            .collect()
    }

    /// The first entry with this key (any origin).
    pub fn text(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .and_then(|e| e.value.as_text())
    }
}
