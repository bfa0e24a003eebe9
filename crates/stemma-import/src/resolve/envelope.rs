//! The JSON envelope of one resolved file: the object `stemma show --json` prints and Python's `stemma.show`
//! returns, built here once so that the two cannot drift apart.

use std::borrow::Cow;
use std::path::Path;

use serde::Serialize;
use serde_json::value::RawValue;
use stemma_container::{Format, Metadata};
use stemma_model::Record;

use super::{RecordSource, Resolved};

/// A file name as JSON fields. `file` is the path as text, each byte sequence that is not UTF-8 replaced by U+FFFD;
/// when (and only when) the path is not valid UTF-8, `file_bytes` also holds the path's raw bytes as an array of
/// numbers (0-255), so that nothing is lost. Linux allows any byte but `/` and NUL in a name.
#[derive(Debug, Serialize)]
pub struct JsonFile<'a> {
    pub file: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_bytes: Option<Cow<'a, [u8]>>,
}

/// The JSON fields naming `path`.
pub fn json_file(path: &Path) -> JsonFile<'_> {
    match path.to_str() {
        Some(text) => JsonFile {
            file: Cow::Borrowed(text),
            file_bytes: None,
        },
        None => JsonFile {
            file: path.to_string_lossy(),
            file_bytes: Some(path_bytes(path)),
        },
    }
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Cow<'_, [u8]> {
    use std::os::unix::ffi::OsStrExt;
    Cow::Borrowed(path.as_os_str().as_bytes())
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Cow<'_, [u8]> {
    Cow::Owned(path.to_string_lossy().into_owned().into_bytes())
}

/// The envelope of one file; its fields serialize in this order.
#[derive(Serialize)]
pub struct Envelope<'a> {
    #[serde(flatten)]
    file: JsonFile<'a>,
    format: Format,
    width: Option<u32>,
    height: Option<u32>,
    source: &'a Option<RecordSource>,
    layers: Vec<&'static str>,
    record: RecordOut<'a>,
    metadata: Vec<ListingItem<'a>>,
    warnings: &'a [String],
}

/// The envelope of `view`, the resolved file at `path`.
pub fn envelope<'a>(path: &'a Path, view: &'a Resolved) -> Envelope<'a> {
    Envelope {
        file: json_file(path),
        format: view.metadata.format,
        width: view.metadata.width,
        height: view.metadata.height,
        source: &view.source,
        layers: view.layer_ids(),
        record: record_out(view),
        metadata: metadata_listing(&view.metadata),
        warnings: &view.warnings,
    }
}

/// The envelope of a file that could not be read: its name and why.
#[derive(Serialize)]
pub struct ErrorEnvelope<'a> {
    #[serde(flatten)]
    file: JsonFile<'a>,
    error: &'a str,
}

/// The envelope of the file at `path` that could not be read, with the message saying why.
pub fn error_envelope<'a>(path: &'a Path, message: &'a str) -> ErrorEnvelope<'a> {
    ErrorEnvelope {
        file: json_file(path),
        error: message,
    }
}

/// The record as printed (`null` for a file without one): a stored record is copied as it is written in the file
/// (it was parsed and checked when the file was read), which spares re-escaping its long texts; anything else is
/// serialized.
#[derive(Serialize)]
#[serde(untagged)]
pub enum RecordOut<'a> {
    Stored(Box<RawValue>),
    Parsed(&'a Option<Record>),
}

/// The record of `view` as the envelope prints it (also alone: `stemma show --json --record-only`).
pub fn record_out(view: &Resolved) -> RecordOut<'_> {
    let stored = match (&view.source, &view.metadata.record_json) {
        // JSON Lines: only single-line text can be copied as it is.
        // A record holding `raw` references is shown expanded (the parsed record), never as stored.
        (Some(RecordSource::Stemma), Some(text))
            if !text.contains(['\n', '\r']) && !stemma_model::has_raw_references(text) =>
        {
            RawValue::from_string(text.clone()).ok()
        }
        _ => None,
    };
    match stored {
        Some(raw) => RecordOut::Stored(raw),
        None => RecordOut::Parsed(&view.record),
    }
}

/// One line of the metadata listing.
#[derive(Serialize)]
struct ListingItem<'a> {
    origin: &'a str,
    key: &'a str,
    size: usize,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    after_image_data: bool,
}

/// The metadata a file holds: one line per decoded entry, with its size (never the whole value).
fn metadata_listing(meta: &Metadata) -> Vec<ListingItem<'_>> {
    let mut items: Vec<ListingItem> = meta
        .entries
        .iter()
        .map(|e| ListingItem {
            origin: &e.origin,
            key: &e.key,
            size: e.value.len(),
            after_image_data: e.after_image_data,
        })
        .collect();
    if let Some(origin) = &meta.record_origin {
        let size = meta.record_json.as_ref().map_or(0, String::len);
        items.push(ListingItem {
            origin,
            key: "stemma",
            size,
            after_image_data: false,
        });
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_utf8_name_has_no_file_bytes() {
        let v = serde_json::to_value(json_file(Path::new("a/ü.png"))).unwrap();
        assert_eq!(v, serde_json::json!({"file": "a/ü.png"}));
    }

    #[cfg(unix)]
    #[test]
    fn a_name_that_is_not_utf8_keeps_its_bytes() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(OsStr::from_bytes(b"d/x\xff\xfe.png"));
        let v = serde_json::to_value(json_file(path)).unwrap();
        assert_eq!(v["file"], "d/x\u{fffd}\u{fffd}.png");
        let bytes: Vec<u8> = v["file_bytes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap() as u8)
            .collect();
        assert_eq!(bytes, b"d/x\xff\xfe.png");
        let error = serde_json::to_value(error_envelope(path, "unreadable")).unwrap();
        assert_eq!(error["file_bytes"], v["file_bytes"]);
        assert_eq!(error["error"], "unreadable");
    }
}
