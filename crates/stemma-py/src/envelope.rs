//! The JSON envelope of one file, field for field the object `stemma show --json` prints.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::value::RawValue;
use stemma_container::{Format, Metadata};
use stemma_model::Record;

use crate::error::{Error, Result};
use crate::resolver::{resolve, RecordSource, ResolveOptions, Resolved};

/// The `--json` object of one file; its fields serialize in this order.
#[derive(Serialize)]
struct Envelope<'a> {
    file: &'a Path,
    format: Format,
    width: Option<u32>,
    height: Option<u32>,
    source: &'a Option<RecordSource>,
    layers: &'a [&'static str],
    record: RecordOut<'a>,
    metadata: Vec<ListingItem<'a>>,
    warnings: &'a [String],
}

/// The record as printed: a stored record is copied as it is written in the file, anything else is serialized.
#[derive(Serialize)]
#[serde(untagged)]
enum RecordOut<'a> {
    Stored(Box<RawValue>),
    Parsed(&'a Option<Record>),
}

fn record_out(view: &Resolved) -> RecordOut<'_> {
    let stored = match (&view.source, &view.metadata.record_json) {
        // As the command does: only single-line text is copied as it is.
        (Some(RecordSource::Stemma), Some(text)) if !text.contains(['\n', '\r']) => {
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

fn to_json<T: Serialize>(path: &Path, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::invalid(path, format!("cannot render: {e}")))
}

/// The envelope of a resolved file, as JSON text.
pub fn envelope_json(path: &Path, view: &Resolved) -> Result<String> {
    to_json(
        path,
        &Envelope {
            file: path,
            format: view.metadata.format,
            width: view.metadata.width,
            height: view.metadata.height,
            source: &view.source,
            layers: &view.layers,
            record: record_out(view),
            metadata: metadata_listing(&view.metadata),
            warnings: &view.warnings,
        },
    )
}

/// Only the record (`null` when the file has none), as `stemma show --json --record-only` prints it.
pub fn record_json(path: &Path, view: &Resolved) -> Result<String> {
    to_json(path, &record_out(view))
}

/// The envelope of a file stemma could not read: `{"file": ..., "error": ...}`, as the command prints it.
pub fn error_envelope_json(path: &Path, error: &Error) -> String {
    serde_json::json!({"file": path, "error": error.to_string()}).to_string()
}

/// Resolve and render one file.
pub fn show(path: &Path, opts: &ResolveOptions) -> Result<String> {
    envelope_json(path, &resolve(path, opts)?)
}

/// The envelopes of many files, read in parallel, in the order given; a file that cannot be read gets its error
/// envelope instead of stopping the others.
pub fn show_many(paths: &[PathBuf], opts: &ResolveOptions) -> Vec<String> {
    paths
        .par_iter()
        .map(|path| show(path, opts).unwrap_or_else(|e| error_envelope_json(path, &e)))
        .collect()
}
