//! What stemma knows about one file: its metadata, its stemma record, or the record imported from its generator's
//! metadata.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use stemma_container::{ops, Format, Limits, Metadata};
use stemma_import::{import, Evidence};
use stemma_model::{parse_record, Record};

/// Where a file's record came from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RecordSource {
    /// A stemma record stored in the file.
    Stemma,
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

/// Scan a file and find its record: the stored one, else one imported from its metadata.
pub fn view_file(path: &Path, limits: &Limits, import_if_missing: bool) -> Result<FileView> {
    let metadata = ops::scan_path(path, limits).with_context(|| path.display().to_string())?;
    let mut warnings = metadata.warnings.clone();
    if metadata.format != Format::Unknown {
        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            if metadata.format.extension_mismatch(name) {
                warnings.push(format!(
                    "the file is a {} despite its extension",
                    metadata.format.name().to_uppercase()
                ));
            }
        }
    }
    if let Some(json) = &metadata.record_json {
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
    if !import_if_missing {
        return Ok(FileView {
            metadata,
            record: None,
            source: None,
            layers: vec![],
            warnings,
        });
    }
    let file_name = path.file_name().and_then(|n| n.to_str());
    let report = {
        let evidence = Evidence {
            metadata: &metadata,
            file_name,
            file: None,
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
    Ok(FileView {
        metadata,
        record,
        source,
        layers: report.layers,
        warnings,
    })
}
