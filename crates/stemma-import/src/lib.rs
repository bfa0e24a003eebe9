//! Importers: one module per generator dialect, listed once in [`IMPORTERS`].
//!
//! An importer sees the decoded metadata of a file ([`Evidence`]), never a file handle. It says how sure it is
//! that the file is its dialect ([`Importer::detect`]) and turns the metadata into a stemma record plus warnings
//! ([`Importer::import`]), keeping every original value it read verbatim in the record's `raw` list.
//!
//! Evidence is not only what is inside the file: the file's name ([`names`]) and the files beside it (an A1111
//! `.txt` or `log.csv`, a run's settings file or Deforum subtitles beside a frame: [`sidecars`], [`settings`],
//! [`run_files`]) reach importers too, through the [`FolderContext`]. Each importer says which kind of evidence it
//! reads ([`Tier`]); what is inside the file is trusted before what lies beside it, and that before what the name
//! says.
//!
//! [`resolve()`] is the one answer to "what is this file's recipe": the stemma record stored in the file or its
//! sidecar, else the record the importers make, with every layer found and which fields each supplied.

mod as_tool;
mod beside;
mod dialects;
mod error;
mod evidence;
mod folder;
mod name_importer;
pub mod names;
pub mod raw_refs;
pub mod resolve;
pub mod run_files;
pub mod settings;
pub mod sidecars;
mod table;
mod tool;

pub use as_tool::import_path;
pub use dialects::comfyui_graph::sites::{
    value_sites as comfyui_value_sites, ValueSite as ComfyuiValueSite,
};
pub use dialects::stealth_probe::{probe_stealth, probe_stealth_path, StealthProbe};
pub use dialects::IMPORTERS;
pub use error::{read_sibling_text, Error, Result};
pub use evidence::Evidence;
pub use folder::FolderContext;
pub use name_importer::is_camera_name;
pub use names::{
    recognise_filename, recognise_name, A1111Pattern, FileKind, FilenameMatch, PATTERNS,
};
pub use raw_refs::{expand_values_from_file, reference_values_kept_in_file};
pub use resolve::{
    resolve, resolve_bytes, resolve_in, resolve_metadata, Depth, Layer, RecordSource,
    ResolveOptions, Resolved,
};
pub use run_files::{RunFrame, RUN_FILE_DIALECTS};
pub use settings::{import_settings_file, import_settings_text, RunSettings, SeedRule};
pub use sidecars::{import_a1111_log_csv, import_a1111_txt, parse_deforum_srt, DeforumSrt};
pub use table::{dialect_rows, dialects_markdown, DialectRow};
pub use tool::Tool;

use serde::Serialize;
use stemma_model::Record;

/// Which kind of evidence an importer reads, most trustworthy first: what is inside the file, a file beside it,
/// the file's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Metadata inside the file (text chunks, EXIF, XMP, pixels).
    Embedded,
    /// A file beside it written by the same tool (A1111 `.txt`, `log.csv`, a run's settings file or subtitles).
    Beside,
    /// The file's name. A name alone never makes a record unless it carries the tool's own marker
    /// ([`Confidence::Strong`]).
    Name,
}

/// How sure an importer is that a file is of its dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Not this dialect.
    No,
    /// Could be this dialect (a generic marker, such as an A1111-style `parameters` text).
    Weak,
    /// This dialect's own marker is present.
    Strong,
}

impl Confidence {
    /// `level` when the dialect's marker was found, else [`Confidence::No`].
    pub fn when(found: bool, level: Confidence) -> Confidence {
        if found {
            level
        } else {
            Confidence::No
        }
    }
}

/// The result of importing one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The dialect id of the importer that made the record.
    pub dialect: &'static str,
    pub record: Record,
    pub warnings: Vec<String>,
}

/// One generator dialect.
pub trait Importer: Send + Sync {
    /// Dialect id (`a1111`, `comfyui`, ...), also written to `generator.dialect`.
    fn id(&self) -> &'static str;
    /// One line for the supported-generators table: which tools write this dialect.
    fn describe(&self) -> &'static str;
    /// The marker this importer detects, for the supported-generators table.
    fn detection_rule(&self) -> &'static str;
    /// How sure the importer is that the evidence is its dialect. Must be cheap.
    fn detect(&self, evidence: &Evidence) -> Confidence;
    /// Build the record. Called only after `detect` said `Weak` or `Strong`.
    fn import(&self, evidence: &Evidence) -> Result<Imported>;
    /// Which kind of evidence this importer reads.
    fn tier(&self) -> Tier {
        Tier::Embedded
    }
}

/// One importer that recognised the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    pub dialect: &'static str,
    pub confidence: Confidence,
    pub tier: Tier,
}

/// What every matching importer said about a file: the record of the most confident one, and the dialects of
/// every layer found.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    /// The record made by the most confident importer, if any succeeded.
    pub imported: Option<Imported>,
    /// Every dialect detected, most trustworthy first.
    pub layers: Vec<&'static str>,
    /// The same layers with their confidence and tier.
    pub detected: Vec<Detected>,
    /// Which of `detected` made `imported`.
    pub primary: Option<usize>,
    /// With [`import_layers`]: every other layer's own import, by its index in `detected`, for combining fields.
    pub others: Vec<(usize, Imported)>,
    /// Importers that detected their dialect but failed, with the reason.
    pub failures: Vec<(&'static str, String)>,
}

/// Run every importer over the evidence and keep the most trustworthy result: evidence inside the file first,
/// then files beside it, then the name ([`Tier`]); within a tier the most confident; ties keep registry order
/// (more specific dialects are listed first). A name that carries no tool marker (a weak name layer) is listed
/// but never makes the record on its own.
pub fn import(evidence: &Evidence) -> ImportReport {
    import_layers(evidence, false)
}

/// [`import`], and when `every_layer` also the record of every other layer (in `others`), for combining.
pub fn import_layers(evidence: &Evidence, every_layer: bool) -> ImportReport {
    let mut candidates: Vec<(Tier, Confidence, usize, &'static dyn Importer)> = IMPORTERS
        .iter()
        .enumerate()
        .map(|(i, imp)| (imp.tier(), imp.detect(evidence), i, *imp))
        .filter(|(_, c, _, _)| *c > Confidence::No)
        .collect();
    candidates.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let layers = candidates.iter().map(|(_, _, _, imp)| imp.id()).collect();
    let detected = candidates
        .iter()
        .map(|(tier, confidence, _, imp)| Detected {
            dialect: imp.id(),
            confidence: *confidence,
            tier: *tier,
        })
        .collect();
    let mut failures = Vec::new();
    let mut imported = None;
    let mut others = Vec::new();
    let mut primary = None;
    for (at, (tier, confidence, _, importer)) in candidates.iter().enumerate() {
        let may_make_record = *tier != Tier::Name || *confidence == Confidence::Strong;
        if imported.is_some() && !every_layer {
            break;
        }
        if imported.is_none() && !may_make_record {
            continue;
        }
        match importer.import(evidence) {
            Ok(result) if imported.is_none() => {
                imported = Some(result);
                primary = Some(at);
            }
            Ok(result) => others.push((at, result)),
            Err(e) => failures.push((importer.id(), e.to_string())),
        }
    }
    ImportReport {
        imported,
        layers,
        detected,
        primary,
        others,
        failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_when_gives_the_level_only_for_a_found_marker() {
        assert_eq!(Confidence::when(true, Confidence::Weak), Confidence::Weak);
        assert_eq!(
            Confidence::when(true, Confidence::Strong),
            Confidence::Strong
        );
        assert_eq!(Confidence::when(false, Confidence::Strong), Confidence::No);
    }
}
