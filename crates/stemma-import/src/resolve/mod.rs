//! The one answer to "what is this file's recipe".
//!
//! [`resolve`] (or [`resolve_in`] with a [`FolderContext`] shared by the files of one folder) reads a file's
//! metadata once and returns, in one [`Resolved`] value:
//!
//! 1. the stemma record stored in the file ([`RecordSource::Stemma`]); else
//! 2. the record in its sidecar `<file name>.stemma.json` ([`RecordSource::Sidecar`]); else, unless the caller asked
//!    for stemma records only ([`Depth::StemmaOnly`]),
//! 3. the record the importer registry makes ([`RecordSource::Imported`]) from the most trustworthy layer: what is
//!    inside the file first, then the files beside it (an A1111 `.txt`, `log.csv`), then the name ([`Tier`]);
//!    within a tier the most confident importer. A name that carries no tool marker (a camera's `IMG_1234.png`)
//!    never makes a record on its own.
//!
//! **Layers combine** ([`combine`]): when the record's layer leaves a field empty that another layer of the file
//! has (a ComfyUI graph whose prompt is computed at run time, beside an A1111-style `parameters` text with the
//! resolved prompt), the field is taken from the most trustworthy layer that has it. Which layer supplied which
//! field is said twice: in [`Layer::supplied`] (dotted field paths), and in the record itself, where the raw
//! entries the field was read from are marked `used`. File names never fill fields (they are lossy fragments).
//!
//! The caller's [`Limits`] reach the container reader, the sidecar reader and every importer (through
//! [`Evidence::limits`]). Every error names the file and the reason ([`Error`]).

mod combine;
pub mod envelope;

use std::path::Path;

use serde::Serialize;
use stemma_container::{ops, sidecar, Error as ContainerError, Format, Limits, Metadata};
use stemma_model::{parse_record, Record};

use crate::{
    import_layers, probe_stealth, Confidence, Error, Evidence, FolderContext, Result, StealthProbe,
    Tier,
};

pub use combine::combine;

/// What [`resolve`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolveOptions {
    pub limits: Limits,
    pub depth: Depth,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            limits: Limits::DEFAULT,
            depth: Depth::Import,
        }
    }
}

/// How deep [`resolve`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Depth {
    /// Only stemma records (embedded or sidecar).
    StemmaOnly,
    /// Also import the generator's metadata, the files beside the image and the file name.
    #[default]
    Import,
    /// Also read pixel-level metadata (stealth pnginfo), which decodes the image.
    Deep,
}

/// Where a file's record came from.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RecordSource {
    /// A stemma record stored in the file.
    Stemma,
    /// A stemma record in the file's sidecar `<file name>.stemma.json`.
    Sidecar,
    /// Made by the importers from the generator's metadata, the files beside the image or the file name.
    Imported,
}

/// One metadata layer found for a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layer {
    /// The importer's dialect id (`a1111`, `comfyui`, `filename`, ...), or `stemma` / `stemma-sidecar`.
    pub dialect: &'static str,
    pub confidence: Confidence,
    /// Which kind of evidence the layer is.
    pub tier: Tier,
    /// The record fields this layer supplied to the resolved record (`prompt`, `params`, ... for the layer that
    /// made it; dotted paths such as `prompt.positive` for a field filled from another layer). Empty for a layer
    /// that supplied nothing.
    pub supplied: Vec<String>,
}

/// A file as stemma sees it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub metadata: Metadata,
    pub record: Option<Record>,
    pub source: Option<RecordSource>,
    /// Every layer found, most trustworthy first.
    pub layers: Vec<Layer>,
    pub warnings: Vec<String>,
    /// Importers that detected their layer but could not read it: (dialect, reason). Each is also a warning.
    pub failures: Vec<(&'static str, String)>,
}

impl Resolved {
    /// The dialect ids of the layers, most trustworthy first.
    pub fn layer_ids(&self) -> Vec<&'static str> {
        self.layers.iter().map(|l| l.dialect).collect()
    }

    /// The layer that made the record (the first that supplied anything).
    pub fn record_layer(&self) -> Option<&Layer> {
        self.layers.iter().find(|l| !l.supplied.is_empty())
    }
}

/// Resolve one file; the files beside it are looked at only when an importer asks (a lazy [`FolderContext`]).
pub fn resolve(path: &Path, opts: &ResolveOptions) -> Result<Resolved> {
    let folder = FolderContext::lazy(&FolderContext::folder_of(path));
    resolve_in(path, &folder, opts)
}

/// Resolve one file of `folder` (built once per folder by the caller with [`FolderContext::scan`]).
pub fn resolve_in(path: &Path, folder: &FolderContext, opts: &ResolveOptions) -> Result<Resolved> {
    // The file is opened once: the scan and, for a PNG without metadata, the stealth probe read it.
    let source = ops::open_for_scan(path).map_err(|error| Error::Container {
        path: path.to_path_buf(),
        error,
    })?;
    resolve_source(path, &source, folder, opts)
}

/// [`resolve_in`] for a file the caller already holds in memory, whole (the catalog reads each file once for its
/// record and its content ids, so that both come from the same bytes).
pub fn resolve_bytes(
    path: &Path,
    bytes: &[u8],
    folder: &FolderContext,
    opts: &ResolveOptions,
) -> Result<Resolved> {
    resolve_source(path, &bytes, folder, opts)
}

fn resolve_source(
    path: &Path,
    source: &dyn stemma_container::source::Source,
    folder: &FolderContext,
    opts: &ResolveOptions,
) -> Result<Resolved> {
    let limits = &opts.limits;
    let container = |error: ContainerError| Error::Container {
        path: path.to_path_buf(),
        error,
    };
    // A PNG cut short still shows what comes before the cut (with a warning); writers refuse it.
    let metadata = match ops::scan_source_truncated(source, limits) {
        Ok(m) => m,
        // A file stemma cannot read may still have a sidecar (videos, layered files, read-only media).
        Err(e @ (ContainerError::UnknownFormat(_) | ContainerError::Unsupported { .. })) => {
            return match read_sidecar_in(path, folder, limits).map_err(container)? {
                Some(json) => from_sidecar(path, Metadata::default(), &json, Vec::new()),
                None => Err(container(e)),
            };
        }
        Err(e) => return Err(container(e)),
    };
    let mut warnings = metadata.warnings.clone();
    let file_name = path.file_name().and_then(|n| n.to_str());
    if metadata.format != Format::Unknown
        && file_name.is_some_and(|n| metadata.format.extension_mismatch(n))
    {
        warnings.push(format!(
            "the file is a {} despite its extension",
            metadata.format.name().to_uppercase()
        ));
    }
    let sidecar_json = read_sidecar_in(path, folder, limits).map_err(container)?;
    if let Some(json) = &metadata.record_json {
        if sidecar_json.is_some() {
            warnings.push("a sidecar exists too; the embedded record is used".into());
        }
        let mut record = parse_record(json).map_err(|error| Error::Record {
            path: path.to_path_buf(),
            error,
        })?;
        // A record leaves its file complete: `raw` references are expanded from the file's own values (§3.4.1).
        warnings.extend(crate::raw_refs::expand_values_from_file(
            &mut record,
            &metadata,
        ));
        return Ok(Resolved {
            metadata,
            record: Some(record),
            source: Some(RecordSource::Stemma),
            layers: vec![stemma_layer("stemma", Tier::Embedded)],
            warnings,
            failures: Vec::new(),
        });
    }
    if let Some(json) = sidecar_json {
        return from_sidecar(path, metadata, &json, warnings);
    }
    if opts.depth == Depth::StemmaOnly {
        return Ok(Resolved {
            metadata,
            record: None,
            source: None,
            layers: Vec::new(),
            warnings,
            failures: Vec::new(),
        });
    }
    // Pixel-level dialects need the bytes; only a deep read pays for them.
    let file = match opts.depth {
        Depth::Deep => Some(std::fs::read(path).map_err(crate::error::io_err(path))?),
        _ => None,
    };
    let resolved = imported(
        metadata,
        file_name,
        file.as_deref(),
        folder,
        limits,
        warnings,
    );
    if file.is_some() || resolved.record.is_some() || resolved.metadata.format != Format::Png {
        return Ok(resolved);
    }
    // A PNG with no other metadata may hide stealth pnginfo in its pixels (Forge, NovelAI): its first pixel rows
    // say so cheaply, and only then is the file read and decoded.
    let mut resolved = resolved;
    match probe_stealth(source, limits) {
        Ok(StealthProbe::Signature) => {
            let file = std::fs::read(path).map_err(crate::error::io_err(path))?;
            let Resolved {
                metadata, warnings, ..
            } = resolved;
            Ok(imported(
                metadata,
                file_name,
                Some(&file),
                folder,
                limits,
                warnings,
            ))
        }
        Ok(_) => Ok(resolved),
        Err(e) => {
            resolved.warnings.push(e.to_string());
            Ok(resolved)
        }
    }
}

/// The sidecar of `path`, when it has one. A folder that was listed says whether the sidecar exists without a
/// lookup per file; otherwise (a lazy context, a name that is not UTF-8) the file system is asked.
fn read_sidecar_in(
    path: &Path,
    folder: &FolderContext,
    limits: &Limits,
) -> std::result::Result<Option<String>, ContainerError> {
    let name = path.file_name().and_then(|n| n.to_str());
    if let (Some(names), Some(name)) = (folder.names(), name) {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        let in_folder = parent.unwrap_or(Path::new(".")) == folder.folder();
        if in_folder {
            let mut sidecar_name =
                String::with_capacity(name.len() + sidecar::SIDECAR_SUFFIX.len());
            sidecar_name.push_str(name);
            sidecar_name.push_str(sidecar::SIDECAR_SUFFIX);
            if !names.contains(&sidecar_name) {
                return Ok(None);
            }
        }
    }
    sidecar::read_sidecar(path, limits)
}

/// What the importers make of metadata already read (for callers that hold the file in memory, such as
/// `stemma import`): the record of the most trustworthy layer, combined with the others.
pub fn resolve_metadata(
    metadata: Metadata,
    file_name: Option<&str>,
    file: Option<&[u8]>,
    folder: &FolderContext,
    opts: &ResolveOptions,
) -> Resolved {
    let warnings = metadata.warnings.clone();
    imported(metadata, file_name, file, folder, &opts.limits, warnings)
}

fn imported(
    metadata: Metadata,
    file_name: Option<&str>,
    file: Option<&[u8]>,
    folder: &FolderContext,
    limits: &Limits,
    mut warnings: Vec<String>,
) -> Resolved {
    let report = {
        let evidence = Evidence::new(&metadata)
            .with_file_name(file_name)
            .with_file(file)
            .with_folder(Some(folder))
            .with_limits(*limits);
        import_layers(&evidence, true)
    };
    for (dialect, reason) in &report.failures {
        warnings.push(format!("{dialect} metadata could not be read: {reason}"));
    }
    let mut layers: Vec<Layer> = report
        .detected
        .iter()
        .map(|d| Layer {
            dialect: d.dialect,
            confidence: d.confidence,
            tier: d.tier,
            supplied: Vec::new(),
        })
        .collect();
    let Some(mut primary) = report.imported else {
        return Resolved {
            metadata,
            record: None,
            source: None,
            layers,
            warnings,
            failures: report.failures,
        };
    };
    warnings.extend(std::mem::take(&mut primary.warnings));
    let others: Vec<(usize, &Record)> = report
        .others
        .iter()
        .map(|(at, imported)| (*at, &imported.record))
        .collect();
    let own = combine::present_fields(&primary.record);
    let filled = combine(&mut primary.record, &others, &layers);
    if let Some(at) = report.primary {
        layers[at].supplied = own;
    }
    for (at, fields) in filled {
        layers[at].supplied = fields;
    }
    Resolved {
        metadata,
        record: Some(primary.record),
        source: Some(RecordSource::Imported),
        layers,
        warnings,
        failures: report.failures,
    }
}

fn stemma_layer(dialect: &'static str, tier: Tier) -> Layer {
    Layer {
        dialect,
        confidence: Confidence::Strong,
        tier,
        supplied: vec!["record".into()],
    }
}

fn from_sidecar(
    path: &Path,
    metadata: Metadata,
    json: &str,
    warnings: Vec<String>,
) -> Result<Resolved> {
    let record = parse_record(json).map_err(|error| Error::Record {
        path: sidecar::sidecar_path(path),
        error,
    })?;
    Ok(Resolved {
        metadata,
        record: Some(record),
        source: Some(RecordSource::Sidecar),
        layers: vec![stemma_layer("stemma-sidecar", Tier::Beside)],
        warnings,
        failures: Vec::new(),
    })
}
