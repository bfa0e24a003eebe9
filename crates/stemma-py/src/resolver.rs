//! ADAPTER: what is this file's recipe (embedded record, sidecar, or imported from the generator's metadata).
//!
//! This module has the shape of `stemma_import::resolve` (`resolve(path, &ResolveOptions) -> Result<Resolved>`),
//! which is being moved into the library elsewhere; until then it is built from the same calls as the command's
//! `view.rs`. When the library's resolver lands, this file is replaced by a `pub use` of it.

use std::path::Path;

use serde::Serialize;
use stemma_container::{
    ops, sidecar, Entry, Error as ContainerError, Format, Limits, Metadata, Value,
};
use stemma_import::{import, Evidence};
use stemma_legacy::filename::Confidence;
use stemma_legacy::{recognise_filename, Tool};
use stemma_model::{parse_record, Record};

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

/// The file's record: the embedded one, else its sidecar, else one imported from its metadata.
pub fn resolve(path: &Path, opts: &ResolveOptions) -> Result<Resolved> {
    let limits = &opts.limits;
    let metadata = match ops::scan_path(path, limits) {
        Ok(m) => m,
        // A file stemma cannot read may still have a sidecar (videos, layered files, read-only media).
        Err(e @ (ContainerError::UnknownFormat(_) | ContainerError::Unsupported { .. })) => {
            return match read_sidecar(path, limits)? {
                Some(json) => sidecar_view(path, Metadata::default(), &json, vec![]),
                None => Err(Error::container(path, e)),
            };
        }
        Err(e) => return Err(Error::container(path, e)),
    };
    let mut warnings = metadata.warnings.clone();
    if metadata.format != Format::Unknown {
        if let Some(file_name) = path.file_name().and_then(|n| n.to_str()) {
            if metadata.format.extension_mismatch(file_name) {
                warnings.push(format!(
                    "the file is a {} despite its extension",
                    metadata.format.name().to_uppercase()
                ));
            }
        }
    }
    let sidecar_json = read_sidecar(path, limits)?;
    if let Some(json) = &metadata.record_json {
        if sidecar_json.is_some() {
            warnings.push("a sidecar exists too; the embedded record is used".into());
        }
        let record = parse_record(json).map_err(|source| Error::Record {
            file: path.to_path_buf(),
            source,
        })?;
        return Ok(Resolved {
            metadata,
            record: Some(record),
            source: Some(RecordSource::Stemma),
            layers: vec!["stemma"],
            warnings,
        });
    }
    if let Some(json) = sidecar_json {
        return sidecar_view(path, metadata, &json, warnings);
    }
    if !opts.import {
        return Ok(Resolved {
            metadata,
            record: None,
            source: None,
            layers: vec![],
            warnings,
        });
    }
    let file = if opts.deep {
        std::fs::read(path).ok()
    } else {
        None
    };
    let mut view = imported_view(path, metadata, file.as_deref(), warnings);
    if view.record.is_none() {
        // A1111's "save text file" option writes the infotext beside the image as `<stem>.txt`.
        if let Some(entry) = text_sidecar_entry(path) {
            let mut metadata = std::mem::take(&mut view.metadata);
            metadata.entries.push(entry);
            view = imported_view(
                path,
                metadata,
                file.as_deref(),
                std::mem::take(&mut view.warnings),
            );
        }
    }
    if view.record.is_none() {
        // Older tools keep what they know in the file name; only names carrying a tool's own marker are read.
        if let Some(m) = recognise_filename(path)
            .filter(|m| m.tool != Tool::Generic && m.confidence == Confidence::Strong)
        {
            view.layers = vec!["filename"];
            view.record = Some(m.to_record());
            view.source = Some(RecordSource::Imported);
        }
    }
    Ok(view)
}

fn read_sidecar(path: &Path, limits: &Limits) -> Result<Option<String>> {
    sidecar::read_sidecar(path, limits).map_err(|e| Error::container(path, e))
}

fn sidecar_view(
    path: &Path,
    metadata: Metadata,
    json: &str,
    warnings: Vec<String>,
) -> Result<Resolved> {
    let record = parse_record(json).map_err(|source| Error::Record {
        file: sidecar::sidecar_path(path),
        source,
    })?;
    Ok(Resolved {
        metadata,
        record: Some(record),
        source: Some(RecordSource::Sidecar),
        layers: vec!["stemma-sidecar"],
        warnings,
    })
}

fn imported_view(
    path: &Path,
    metadata: Metadata,
    file: Option<&[u8]>,
    mut warnings: Vec<String>,
) -> Resolved {
    let report = {
        let evidence = Evidence {
            metadata: &metadata,
            file_name: path.file_name().and_then(|n| n.to_str()),
            file,
        };
        import(&evidence)
    };
    for (dialect, reason) in &report.failures {
        warnings.push(format!("{dialect} metadata could not be read: {reason}"));
    }
    let (record, source) = match report.imported {
        Some(imported) => {
            warnings.extend(imported.warnings);
            (Some(imported.record), Some(RecordSource::Imported))
        }
        None => (None, None),
    };
    Resolved {
        metadata,
        record,
        source,
        layers: report.layers,
        warnings,
    }
}

/// The `<stem>.txt` next to an image, as an evidence entry, when it exists and is small text.
fn text_sidecar_entry(path: &Path) -> Option<Entry> {
    const MAX_TEXT_SIDECAR: u64 = 1024 * 1024;
    let txt = path.with_extension("txt");
    let meta = std::fs::metadata(&txt).ok()?;
    if !meta.is_file() || meta.len() > MAX_TEXT_SIDECAR {
        return None;
    }
    let text = String::from_utf8(std::fs::read(&txt).ok()?).ok()?;
    Some(Entry {
        origin: format!("file:{}", txt.file_name()?.to_string_lossy()),
        key: "text".into(),
        value: Value::Text(text),
        after_image_data: false,
        encoding: Some("utf-8"),
    })
}
