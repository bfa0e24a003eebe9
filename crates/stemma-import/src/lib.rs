//! Importers: one module per generator dialect, listed once in [`IMPORTERS`].
//!
//! An importer sees the decoded metadata of a file ([`Evidence`]), never a file handle. It says how sure it is
//! that the file is its dialect ([`Importer::detect`]) and turns the metadata into a stemma record plus warnings
//! ([`Importer::import`]), keeping every original value it read verbatim in the record's `raw` list.

mod dialects;
mod error;
mod evidence;
mod table;

pub use dialects::stealth_probe::{probe_stealth, probe_stealth_path, StealthProbe};
pub use dialects::IMPORTERS;
pub use error::{Error, Result};
pub use evidence::Evidence;
pub use table::{dialect_rows, dialects_markdown, DialectRow};

use stemma_model::Record;

/// How sure an importer is that a file is of its dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
}

/// What every matching importer said about a file: the record of the most confident one, and the dialects of
/// every layer found.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    /// The record made by the most confident importer, if any succeeded.
    pub imported: Option<Imported>,
    /// Every dialect detected, most confident first.
    pub layers: Vec<&'static str>,
    /// Importers that detected their dialect but failed, with the reason.
    pub failures: Vec<(&'static str, String)>,
}

/// Run every importer over the evidence and keep the most confident result.
pub fn import(evidence: &Evidence) -> ImportReport {
    let mut candidates: Vec<(Confidence, usize, &'static dyn Importer)> = IMPORTERS
        .iter()
        .enumerate()
        .map(|(i, imp)| (imp.detect(evidence), i, *imp))
        .filter(|(c, _, _)| *c > Confidence::No)
        .collect();
    // Most confident first; ties keep registry order (more specific dialects are listed first).
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let layers = candidates.iter().map(|(_, _, imp)| imp.id()).collect();
    let mut failures = Vec::new();
    let mut imported = None;
    for (_, _, importer) in &candidates {
        match importer.import(evidence) {
            Ok(result) => {
                imported = Some(result);
                break;
            }
            Err(e) => failures.push((importer.id(), e.to_string())),
        }
    }
    ImportReport {
        imported,
        layers,
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
