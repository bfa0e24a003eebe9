//! The one place the catalog learns what a file holds. It has the shape of the library resolver
//! (`stemma_import::resolve`), built here from today's pieces until that resolver lands: the embedded stemma
//! record, else the sidecar, else the record imported from the generator's metadata. Nothing else in the catalog
//! reads a file's metadata.

use std::path::Path;

use stemma_container::{ops, sidecar, Error as ContainerError, Limits, Metadata};
use stemma_import::{import, Evidence};
use stemma_model::{parse_record, Record};

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

/// Resolve one file's record.
pub fn resolve(path: &Path, opts: &ResolveOptions) -> Result<Resolved> {
    let fail = |reason: String| Error::File {
        path: path.to_path_buf(),
        reason,
    };
    let metadata = match ops::scan_path(path, &opts.limits) {
        Ok(m) => m,
        Err(e @ (ContainerError::UnknownFormat(_) | ContainerError::Unsupported { .. })) => {
            return match sidecar::read_sidecar(path, &opts.limits)
                .map_err(|s| fail(s.to_string()))?
            {
                Some(json) => sidecar_resolved(path, Metadata::default(), &json),
                None => Err(fail(e.to_string())),
            };
        }
        Err(e) => return Err(fail(e.to_string())),
    };
    let warnings = metadata.warnings.clone();
    if let Some(json) = &metadata.record_json {
        let record = parse_record(json).map_err(|e| fail(format!("stemma record: {e}")))?;
        return Ok(Resolved {
            metadata,
            record: Some(record),
            source: Some(RecordSource::Stemma),
            layers: vec!["stemma".into()],
            warnings,
        });
    }
    if let Some(json) =
        sidecar::read_sidecar(path, &opts.limits).map_err(|e| fail(e.to_string()))?
    {
        return sidecar_resolved(path, metadata, &json);
    }
    if opts.depth == Depth::StemmaOnly {
        return Ok(Resolved {
            metadata,
            record: None,
            source: None,
            layers: vec![],
            warnings,
        });
    }
    let report = import(&Evidence {
        metadata: &metadata,
        file_name: path.file_name().and_then(|n| n.to_str()),
        file: None,
    });
    let mut warnings = warnings;
    for (dialect, reason) in &report.failures {
        warnings.push(format!("{dialect} metadata could not be read: {reason}"));
    }
    let layers = report.layers.iter().map(|s| s.to_string()).collect();
    let (record, source) = match report.imported {
        Some(imported) => {
            warnings.extend(imported.warnings);
            (Some(imported.record), Some(RecordSource::Imported))
        }
        None => (None, None),
    };
    Ok(Resolved {
        metadata,
        record,
        source,
        layers,
        warnings,
    })
}

fn sidecar_resolved(path: &Path, metadata: Metadata, json: &str) -> Result<Resolved> {
    let record = parse_record(json).map_err(|e| Error::File {
        path: sidecar::sidecar_path(path),
        reason: e.to_string(),
    })?;
    Ok(Resolved {
        metadata,
        record: Some(record),
        source: Some(RecordSource::Sidecar),
        layers: vec!["stemma-sidecar".into()],
        warnings: vec![],
    })
}
