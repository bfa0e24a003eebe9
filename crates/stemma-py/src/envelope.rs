//! The JSON envelope of one file, field for field the object `stemma show --json` prints: both render the
//! library's own envelope (`stemma_import::resolve::envelope`).

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use stemma_import::resolve::envelope::{envelope, error_envelope, record_out};

use crate::error::{Error, Result};
use crate::resolver::{resolve_library, ResolveOptions};

fn to_json<T: Serialize>(path: &Path, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::invalid(path, format!("cannot render: {e}")))
}

/// Only the record, as `stemma show --json --record-only` prints it; None when the file has none.
pub fn record_json(path: &Path, opts: &ResolveOptions) -> Result<Option<String>> {
    let view = resolve_library(path, opts)?;
    if view.record.is_none() {
        return Ok(None);
    }
    to_json(path, &record_out(&view)).map(Some)
}

/// The envelope of a file stemma could not read: `{"file": ..., "error": ...}`, as the command prints it.
pub fn error_envelope_json(path: &Path, error: &Error) -> String {
    let message = error.to_string();
    // A name and a message always serialise; were it ever to fail, the message still reaches Python.
    serde_json::to_string(&error_envelope(path, &message))
        .unwrap_or_else(|_| serde_json::json!({"error": message}).to_string())
}

/// Resolve and render one file.
pub fn show(path: &Path, opts: &ResolveOptions) -> Result<String> {
    let view = resolve_library(path, opts)?;
    to_json(path, &envelope(path, &view))
}

/// The envelopes of many files, read in parallel, in the order given; a file that cannot be read gets its error
/// envelope instead of stopping the others.
pub fn show_many(paths: &[PathBuf], opts: &ResolveOptions) -> Vec<String> {
    paths
        .par_iter()
        .map(|path| show(path, opts).unwrap_or_else(|e| error_envelope_json(path, &e)))
        .collect()
}
