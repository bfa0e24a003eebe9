//! What stemma knows about one file: its metadata, its stemma record (embedded or in a sidecar), or the record
//! imported from its generator's metadata.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use stemma_container::{
    ops, sidecar, Entry, Error as ContainerError, Format, Limits, Metadata, Value,
};
use stemma_import::{import, probe_stealth_path, Evidence, StealthProbe};
use stemma_legacy::filename::Confidence;
use stemma_legacy::{recognise_filename, Tool};
use stemma_model::{parse_record, Record};

/// Where a file's record came from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RecordSource {
    /// A stemma record stored in the file.
    Stemma,
    /// A stemma record in the file's sidecar `<file name>.stemma.json`.
    Sidecar,
    /// Imported on the fly from the generator's metadata.
    Imported,
}

/// One file as stemma sees it.
pub struct FileView {
    pub metadata: Metadata,
    pub record: Option<Record>,
    pub source: Option<RecordSource>,
    /// Dialects found in the file, most confident first.
    pub layers: Vec<&'static str>,
    pub warnings: Vec<String>,
}

/// How deep `view_file` looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Only stemma records (embedded or sidecar).
    StemmaOnly,
    /// Also import the generator's metadata.
    Import,
    /// Also read pixel-level metadata (stealth pnginfo), which decodes the image.
    Deep,
}

/// Scan a file and find its record: the embedded one, else its sidecar, else one imported from its metadata.
pub fn view_file(path: &Path, limits: &Limits, depth: Depth) -> Result<FileView> {
    let name = || path.display().to_string();
    let metadata = match ops::scan_path(path, limits) {
        Ok(m) => m,
        // A file stemma cannot read may still have a sidecar (videos, layered files, read-only media).
        Err(e @ (ContainerError::UnknownFormat(_) | ContainerError::Unsupported { .. })) => {
            match sidecar::read_sidecar(path, limits).with_context(name)? {
                Some(json) => return sidecar_view(path, Metadata::default(), &json, vec![]),
                None => return Err(e).with_context(name),
            }
        }
        // A file cut short still shows what comes before the cut, with a `truncated` warning.
        Err(e @ ContainerError::Truncated { .. }) => match ops::scan_path_truncated(path, limits) {
            Ok(m) => m,
            Err(_) => return Err(e).with_context(name),
        },
        Err(e) => return Err(e).with_context(name),
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
    let sidecar_json = sidecar::read_sidecar(path, limits).with_context(name)?;
    if let Some(json) = &metadata.record_json {
        if sidecar_json.is_some() {
            warnings.push("a sidecar exists too; the embedded record is used".into());
        }
        let record =
            parse_record(json).with_context(|| format!("{}: stemma record", path.display()))?;
        return Ok(FileView {
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
    if depth == Depth::StemmaOnly {
        return Ok(FileView {
            metadata,
            record: None,
            source: None,
            layers: vec![],
            warnings,
        });
    }
    let mut file = if depth == Depth::Deep {
        std::fs::read(path).ok()
    } else {
        None
    };
    let mut view = imported_view(path, metadata, file.as_deref(), warnings);
    if view.record.is_none() && file.is_none() && stealth_signature(path, &mut view, limits) {
        // The first pixel rows hold a stealth pnginfo signature: read the file so the stealth importer decodes it.
        file = std::fs::read(path).ok();
        let metadata = std::mem::take(&mut view.metadata);
        view = imported_view(
            path,
            metadata,
            file.as_deref(),
            std::mem::take(&mut view.warnings),
        );
    }
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
        // Older tools keep what they know in the file name (DALL·E, Midjourney, Disco Diffusion, Deforum, ...).
        // Only names that carry a tool's own marker are read; `stemma import` also links frames into sequences.
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

/// Whether a PNG without other metadata has a stealth pnginfo signature in its first pixels (a few rows are
/// decoded, never the whole image; lossless WebP needs a full decode and is left to `--deep`).
fn stealth_signature(path: &Path, view: &mut FileView, limits: &Limits) -> bool {
    if view.metadata.format != Format::Png {
        return false;
    }
    match probe_stealth_path(path, limits) {
        Ok(probe) => probe == StealthProbe::Signature,
        Err(e) => {
            view.warnings.push(e.to_string());
            false
        }
    }
}

fn sidecar_view(
    path: &Path,
    metadata: Metadata,
    json: &str,
    warnings: Vec<String>,
) -> Result<FileView> {
    let record =
        parse_record(json).with_context(|| sidecar::sidecar_path(path).display().to_string())?;
    Ok(FileView {
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
) -> FileView {
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
    FileView {
        metadata,
        record,
        source,
        layers: report.layers,
        warnings,
    }
}

/// The `<stem>.txt` next to an image, as an evidence entry, when it exists and is small text.
pub fn text_sidecar_entry(path: &Path) -> Option<Entry> {
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
