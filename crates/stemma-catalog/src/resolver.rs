//! The one place the catalog learns what a file holds. It has the shape of the library resolver
//! (`stemma_import::resolve`), a thin mapping of it into the catalog's terms. Nothing else in the catalog
//! reads a file's metadata.

use std::path::Path;

use stemma_container::{Limits, Metadata};
use stemma_import::FolderContext;
use stemma_model::Record;

use crate::error::{Error, Result};

/// Where a file's record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSource {
    /// A stemma record stored in the file.
    Stemma,
    /// A stemma record in the file's sidecar.
    Sidecar,
    /// Imported from the generator's metadata.
    Imported,
}

impl RecordSource {
    /// The name stored in the catalog.
    pub fn name(self) -> &'static str {
        match self {
            RecordSource::Stemma => "stemma",
            RecordSource::Sidecar => "sidecar",
            RecordSource::Imported => "imported",
        }
    }
}

/// How deep the resolver looks. The catalog never asks for pixel-level metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    StemmaOnly,
    Import,
}

/// Options of one resolution.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    pub limits: Limits,
    pub depth: Depth,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            limits: Limits::default(),
            depth: Depth::Import,
        }
    }
}

/// What stemma knows about one file.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub metadata: Metadata,
    pub record: Option<Record>,
    pub source: Option<RecordSource>,
    /// Dialects found in the file, most confident first.
    pub layers: Vec<String>,
    pub warnings: Vec<String>,
}

/// Resolve one file's record through the library's one resolver (`stemma_import::resolve`), in the catalog's terms.
pub fn resolve(path: &Path, opts: &ResolveOptions) -> Result<Resolved> {
    resolve_in(
        path,
        &FolderContext::lazy(&FolderContext::folder_of(path)),
        opts,
    )
}

/// [`resolve`] for one file of a folder whose listing is shared by its files (a scan lists each folder once).
pub fn resolve_in(path: &Path, folder: &FolderContext, opts: &ResolveOptions) -> Result<Resolved> {
    let resolved = stemma_import::resolve_in(path, folder, &library_options(opts));
    in_catalog_terms(path, resolved)
}

/// [`resolve_in`] for a file read whole by the caller (the scan reads each file once, for its record and ids).
pub fn resolve_bytes_in(
    path: &Path,
    bytes: &[u8],
    folder: &FolderContext,
    opts: &ResolveOptions,
) -> Result<Resolved> {
    let resolved = stemma_import::resolve_bytes(path, bytes, folder, &library_options(opts));
    in_catalog_terms(path, resolved)
}

fn library_options(opts: &ResolveOptions) -> stemma_import::ResolveOptions {
    stemma_import::ResolveOptions {
        limits: opts.limits,
        depth: match opts.depth {
            Depth::StemmaOnly => stemma_import::Depth::StemmaOnly,
            Depth::Import => stemma_import::Depth::Import,
        },
    }
}

fn in_catalog_terms(
    path: &Path,
    resolved: stemma_import::Result<stemma_import::Resolved>,
) -> Result<Resolved> {
    let resolved = resolved.map_err(|e| Error::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(Resolved {
        source: resolved.source.map(|s| match s {
            stemma_import::RecordSource::Stemma => RecordSource::Stemma,
            stemma_import::RecordSource::Sidecar => RecordSource::Sidecar,
            stemma_import::RecordSource::Imported => RecordSource::Imported,
        }),
        layers: resolved
            .layers
            .iter()
            .map(|l| l.dialect.to_string())
            .collect(),
        metadata: resolved.metadata,
        record: resolved.record,
        warnings: resolved.warnings,
    })
}
