//! What is this file's recipe, in the bindings' terms: a thin mapping of the library's one resolver
//! (`stemma_import::resolve`), so that Python sees exactly what `stemma show` sees.

use std::path::Path;

use serde::Serialize;
use stemma_container::{Limits, Metadata};
use stemma_import::{
    Depth, Error as ImportError, RecordSource as LibrarySource, ResolveOptions as LibraryOptions,
};
use stemma_model::Record;

use crate::error::{Error, Result};

/// Where a file's record came from.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RecordSource {
    /// A stemma record stored in the file.
    Stemma,
    /// A stemma record in the file's sidecar `<file name>.stemma.json`.
    Sidecar,
    /// Imported on the fly from the generator's metadata.
    Imported,
}

/// A metadata dialect found in the file (`"stemma"`, `"a1111"`, `"comfyui"`, ...).
pub type Layer = &'static str;

/// How deep `resolve` looks.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    pub limits: Limits,
    /// Import the generator's metadata when there is no stemma record.
    pub import: bool,
    /// Also read pixel-level metadata (stealth pnginfo), which decodes those images.
    pub deep: bool,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            limits: Limits::default(),
            import: true,
            deep: false,
        }
    }
}

/// One file as stemma sees it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub metadata: Metadata,
    pub record: Option<Record>,
    pub source: Option<RecordSource>,
    /// Dialects found in the file, most confident first.
    pub layers: Vec<Layer>,
    pub warnings: Vec<String>,
}

/// The file's record through the library's one resolver (`stemma_import::resolve`): the embedded one, else its
/// sidecar, else one imported from its metadata (or the files beside it, or its name).
pub fn resolve(path: &Path, opts: &ResolveOptions) -> Result<Resolved> {
    let resolved = resolve_library(path, opts)?;
    Ok(Resolved {
        source: resolved.source.map(|s| match s {
            LibrarySource::Stemma => RecordSource::Stemma,
            LibrarySource::Sidecar => RecordSource::Sidecar,
            LibrarySource::Imported => RecordSource::Imported,
        }),
        layers: resolved.layer_ids(),
        metadata: resolved.metadata,
        record: resolved.record,
        warnings: resolved.warnings,
    })
}

/// The library's own answer for the file, its errors in the bindings' terms (for what is rendered exactly as the
/// command renders it: the `show` envelope).
pub fn resolve_library(path: &Path, opts: &ResolveOptions) -> Result<stemma_import::Resolved> {
    let depth = if !opts.import {
        Depth::StemmaOnly
    } else if opts.deep {
        Depth::Deep
    } else {
        Depth::Import
    };
    let library_opts = LibraryOptions {
        limits: opts.limits,
        depth,
    };
    stemma_import::resolve(path, &library_opts).map_err(|e| match e {
        ImportError::Container { path, error } => Error::container(&path, error),
        ImportError::Io { path, error } => Error::io(&path, error),
        ImportError::Record { path, error } => Error::Record {
            file: path,
            source: error,
        },
        other => Error::invalid(path, other.to_string()),
    })
}
