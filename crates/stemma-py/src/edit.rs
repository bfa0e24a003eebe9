//! Writing: stamp a record into a file (or its sidecar), strip metadata, compute content ids.
//!
//! The steps of `stamp` are those of the command's `stamp` (crates/stemma-cli/src/cmd_stamp.rs): refuse damaged
//! files, fill in the content ids from the input, validate against the schema, rewrite atomically.

use std::path::{Path, PathBuf};

use serde_json::Value;
use stemma_container::{ops, sidecar, Edit, Limits, RecordChange, StripProfile};
use stemma_model::{
    apply_merge_patch, lineage_only, parse_record, record_from_value, record_to_json, relation,
    ContentId, Parent, Record,
};

use crate::error::{Error, Result};
use crate::resolver::{resolve, ResolveOptions};

/// What the new record starts from.
#[derive(Debug, Clone)]
pub enum Base {
    /// The file's current record: embedded, sidecar, or imported from its generator's metadata.
    Resolved,
    /// An empty record.
    Fresh,
    /// This record (JSON text).
    Given(String),
}

/// A parent image: a file (resolved to its content id) or a content id, and how this image was made from it.
#[derive(Debug, Clone, Default)]
pub struct ParentSpec {
    /// A path, or a `sha256:` content id.
    pub target: String,
    /// Default: `img2img`.
    pub relation: Option<String>,
    /// Default for a file: its file name.
    pub hint: Option<String>,
}

/// One stamp.
#[derive(Debug, Clone)]
pub struct StampRequest {
    pub file: PathBuf,
    /// Write the result here instead of rewriting `file`.
    pub output: Option<PathBuf>,
    pub base: Base,
    /// An RFC 7396 merge patch applied to the base record (prompt, params, sequence, run, ...).
    pub patch: Option<Value>,
    /// Parents appended to the record's.
    pub parents: Vec<ParentSpec>,
    /// Write the sidecar `<file name>.stemma.json` instead of the file.
    pub sidecar: bool,
    /// Options of the edit (mirrors, force); its record change is set by `stamp`.
    pub edit: Edit,
}

impl StampRequest {
    /// Stamp `file` in place on top of its current record, with the default mirrors.
    pub fn new(file: impl Into<PathBuf>) -> Self {
        StampRequest {
            file: file.into(),
            output: None,
            base: Base::Resolved,
            patch: None,
            parents: Vec::new(),
            sidecar: false,
            edit: Edit::default(),
        }
    }
}

/// Build the record and write it; returns the record as written (JSON text).
pub fn stamp(req: &StampRequest, limits: &Limits) -> Result<String> {
    let file = req.file.as_path();
    let mut record = match &req.base {
        Base::Fresh => Record::new(),
        Base::Given(json) => parse_record(json).map_err(|source| Error::Record {
            file: file.to_path_buf(),
            source,
        })?,
        Base::Resolved => {
            let opts = ResolveOptions {
                limits: *limits,
                ..ResolveOptions::default()
            };
            match resolve(file, &opts) {
                Ok(view) => view.record.unwrap_or_else(Record::new),
                // A sidecar can describe a file stemma cannot read; it starts empty.
                Err(_) if req.sidecar => Record::new(),
                Err(e) => return Err(e),
            }
        }
    };
    if let Some(patch) = &req.patch {
        let mut value = serde_json::to_value(&record)
            .map_err(|e| Error::invalid(file, format!("record: {e}")))?;
        apply_merge_patch(&mut value, patch);
        record = record_from_value(value)
            .map_err(|e| Error::invalid(file, format!("the record would not be valid: {e}")))?;
    }
    for spec in &req.parents {
        record.parents.push(resolve_parent(file, spec, limits)?);
    }
    write_record(req, record, limits)
}

/// Write `record` for the request's file: refuse damaged files, fill in the content ids, validate, then rewrite
/// the file atomically (or write its sidecar).
fn write_record(req: &StampRequest, mut record: Record, limits: &Limits) -> Result<String> {
    let file = req.file.as_path();
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    let source: &dyn stemma_container::source::Source = &bytes.as_slice();
    match ops::handler_of(source) {
        Ok(handler) => {
            // A damaged file is refused before anything else, with the damage named.
            let problems = handler
                .check(&bytes, limits)
                .map_err(|e| Error::container(file, e))?;
            if !problems.is_empty() {
                return Err(Error::Damaged {
                    file: file.to_path_buf(),
                    reason: problems.join("; "),
                });
            }
            // The ids describe the image data, which writing a record does not change, so they come from the input.
            record.content = Some(
                ops::content_ids(&bytes, true, limits).map_err(|e| Error::container(file, e))?,
            );
        }
        // Any file can have a sidecar, even one stemma cannot read.
        Err(_) if req.sidecar => {}
        Err(e) => return Err(Error::container(file, e)),
    }
    let json = record_to_json(&record).map_err(|source| Error::Record {
        file: file.to_path_buf(),
        source,
    })?;
    let value: Value =
        serde_json::from_str(&json).map_err(|e| Error::invalid(file, format!("record: {e}")))?;
    let problems = stemma_model::validate_record_json(&value);
    if !problems.is_empty() {
        return Err(Error::invalid(
            file,
            format!("the record would not be valid: {}", problems.join("; ")),
        ));
    }
    if req.sidecar {
        sidecar::write_sidecar(file, &json).map_err(|e| Error::not_written(file, e))?;
        return Ok(json);
    }
    let edit = Edit {
        record: RecordChange::Set(json.clone()),
        ..req.edit.clone()
    };
    ops::rewrite(file, req.output.as_deref(), &edit, limits)
        .map_err(|e| Error::not_written(file, e))?;
    Ok(json)
}

/// A parent spec to a lineage edge; a file is resolved to its content id (pixel id where it has one).
fn resolve_parent(file: &Path, spec: &ParentSpec, limits: &Limits) -> Result<Parent> {
    let relation = spec
        .relation
        .clone()
        .unwrap_or_else(|| relation::IMG2IMG.to_string());
    if !is_relation_word(&relation) {
        return Err(Error::invalid(
            file,
            format!("parent relation {relation:?}: expected lower-case letters, digits and '_'"),
        ));
    }
    if spec.target.starts_with("sha256:") {
        let id: ContentId = spec.target.parse().map_err(|source| Error::Record {
            file: file.to_path_buf(),
            source,
        })?;
        return Ok(Parent {
            id: Some(id.to_string()),
            relation,
            hint: spec.hint.clone(),
            ..Parent::default()
        });
    }
    let path = Path::new(&spec.target);
    let id = lineage_id(path, limits)?;
    Ok(Parent {
        id: Some(id),
        relation,
        hint: spec.hint.clone().or_else(|| {
            path.file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
        }),
        ..Parent::default()
    })
}

fn is_relation_word(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The content id a child names this file by: its pixel id where it has one, else its data id.
pub fn lineage_id(path: &Path, limits: &Limits) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    ops::lineage_id(&bytes, limits)
        .map(|id| id.to_string())
        .map_err(|e| Error::container(path, e))
}

/// The file's content ids `(pixels, data)`; the pixel id (which decodes the image) only when asked for.
pub fn content_ids(
    path: &Path,
    with_pixels: bool,
    limits: &Limits,
) -> Result<(Option<String>, Option<String>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let ids =
        ops::content_ids(&bytes, with_pixels, limits).map_err(|e| Error::container(path, e))?;
    Ok((ids.pixels, ids.data))
}

/// What `strip` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Every metadata chunk or segment; colour kept.
    All,
    /// Like `All`, but keep a stemma record holding only content ids and lineage.
    Lineage,
    /// Only stemma's own chunks.
    Stemma,
}

impl Profile {
    /// The profile by its command-line name.
    pub fn from_name(name: &str) -> Option<Profile> {
        match name {
            "all" => Some(Profile::All),
            "lineage" => Some(Profile::Lineage),
            "stemma" => Some(Profile::Stemma),
            _ => None,
        }
    }
}

/// Strip `file` (in place, or into `output`); true when something was written.
pub fn strip(
    file: &Path,
    output: Option<&Path>,
    profile: Profile,
    limits: &Limits,
) -> Result<bool> {
    let (record, strip) = match profile {
        Profile::All => (RecordChange::Remove, StripProfile::All),
        Profile::Stemma => (RecordChange::Remove, StripProfile::Stemma),
        Profile::Lineage => {
            let meta = ops::scan_path(file, limits).map_err(|e| Error::container(file, e))?;
            let change = match &meta.record_json {
                Some(json) => {
                    let record = parse_record(json).map_err(|source| Error::Record {
                        file: file.to_path_buf(),
                        source,
                    })?;
                    RecordChange::Set(record_to_json(&lineage_only(&record)).map_err(|source| {
                        Error::Record {
                            file: file.to_path_buf(),
                            source,
                        }
                    })?)
                }
                None => RecordChange::Remove,
            };
            (change, StripProfile::All)
        }
    };
    let edit = Edit {
        record,
        strip: Some(strip),
        force: true,
        ..Edit::default()
    };
    let outcome =
        ops::rewrite(file, output, &edit, limits).map_err(|e| Error::not_written(file, e))?;
    Ok(outcome == ops::Outcome::Written)
}
