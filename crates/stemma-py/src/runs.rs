//! The writer side of run manifests (`spec/runs.md`) for `stemma.Run`: open or create `<name>.stemma-run.json`
//! with its base settings kept in the settings store, record each produced item, and ask the library
//! (`stemma_runs::status`) which items are good and where the run resumes, by content.
//!
//! Everything the format says is `stemma_runs`'s: this module only decides what a Python run names things
//! (key `stemma:<name>`, settings format `stemma-params`) and what it keeps beside the format (the file name
//! pattern and whether the plan is open-ended, as `plan` members readers ignore).

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use stemma_container::Limits;
use stemma_runs::{
    manifest_path, run_id, Manifest, Plan, Produced, RunStatus, SettingsRef, SettingsStore,
    MANIFEST_VERSION,
};

use crate::error::{Error, Result};

/// Settings format of a Python run's base settings: a plain JSON document.
pub const SETTINGS_FORMAT: &str = "stemma-params";
/// `plan` member: the plan grows with each item saved (the run was made without a count).
const OPEN_ENDED: &str = "open_ended";
/// `plan` member: the Python file name pattern of the items (`{name}_{index:05d}.png`).
const PATTERN: &str = "pattern";

/// What `stemma.Run(...)` asks for.
#[derive(Debug, Clone)]
pub struct OpenRequest<'a> {
    pub folder: &'a Path,
    pub name: &'a str,
    pub generator: Option<&'a str>,
    /// The base settings; when the manifest exists they must be the ones it was made with.
    pub settings: Option<Value>,
    /// Planned items; `None` makes an open-ended plan (or keeps the existing one).
    pub count: Option<u64>,
    pub pattern: &'a str,
    /// RFC 3339 time, for a new manifest.
    pub created: Option<String>,
}

/// One item just saved.
#[derive(Debug, Clone, Default)]
pub struct ProducedItem {
    pub index: u64,
    /// The file, relative to the run folder.
    pub file: String,
    /// Its content id (pixel id, else data id); computed from the file when `None`.
    pub id: Option<String>,
    pub seed: Option<String>,
    /// RFC 7396 merge patch of the base settings for this item.
    pub patch: Option<Value>,
    /// Content ids of its parents.
    pub parents: Vec<String>,
}

fn run_error(file: &Path, source: stemma_runs::Error) -> Error {
    Error::Run {
        file: file.to_path_buf(),
        source,
    }
}

/// The manifest path of run `name` in `folder`.
pub fn path_of(folder: &Path, name: &str) -> PathBuf {
    manifest_path(folder, name)
}

/// Open `<folder>/<name>.stemma-run.json`, or create it (settings into the settings store). Returns its path and
/// the manifest.
pub fn open(request: &OpenRequest<'_>) -> Result<(PathBuf, Manifest)> {
    let path = path_of(request.folder, request.name);
    let store = SettingsStore::for_folder(request.folder);
    if path.exists() {
        let mut manifest = Manifest::load(&path).map_err(|e| run_error(&path, e))?;
        if let Some(settings) = &request.settings {
            let hash = stemma_model::settings_hash(settings)
                .map_err(|e| Error::invalid(&path, format!("settings: {e}")))?
                .to_string();
            if hash != manifest.settings.hash {
                return Err(Error::invalid(
                    &path,
                    format!(
                        "the run was started with other settings ({}, these are {hash}); start a new run or fork it",
                        manifest.settings.hash
                    ),
                ));
            }
            // Puts back a store that was moved or deleted; a no-op when the document is there.
            store
                .put(&manifest.settings.format, settings)
                .map_err(|e| run_error(&path, e))?;
        }
        if let Some(count) = request.count {
            if count != manifest.plan.count || manifest.plan.unknown.contains_key(OPEN_ENDED) {
                let last = manifest.produced.iter().map(|p| p.index + 1).max();
                if last.is_some_and(|l| l > manifest.plan.first + count) {
                    return Err(Error::invalid(
                        &path,
                        format!("a plan of {count} items leaves out items already produced"),
                    ));
                }
                manifest.plan.count = count;
                manifest.plan.unknown.remove(OPEN_ENDED);
                manifest
                    .save(&path, true)
                    .map_err(|e| run_error(&path, e))?;
            }
        }
        return Ok((path, manifest));
    }
    let settings = request
        .settings
        .clone()
        .unwrap_or_else(|| Value::Object(Map::new()));
    std::fs::create_dir_all(request.folder).map_err(|e| Error::io(request.folder, e))?;
    let hash = store
        .put(SETTINGS_FORMAT, &settings)
        .map_err(|e| run_error(&path, e))?;
    let key = format!("stemma:{}", request.name);
    let mut plan_extra = Map::new();
    plan_extra.insert(PATTERN.into(), json!(request.pattern));
    if request.count.is_none() {
        plan_extra.insert(OPEN_ENDED.into(), json!(true));
    }
    let manifest = Manifest {
        stemma_run: MANIFEST_VERSION.into(),
        id: run_id(&key, &hash),
        generator: request.generator.unwrap_or("stemma").to_string(),
        key: Some(key),
        settings: SettingsRef {
            format: SETTINGS_FORMAT.into(),
            hash,
            location: None,
            unknown: Map::new(),
        },
        folder: None,
        plan: Plan {
            kind: "animation".into(),
            count: request.count.unwrap_or(0),
            first: 0,
            seeds: None,
            schedule: Vec::new(),
            items: Vec::new(),
            unknown: plan_extra,
        },
        produced: Vec::new(),
        fork: None,
        created: request.created.clone(),
        unknown: Map::new(),
    };
    manifest
        .save(&path, false)
        .map_err(|e| run_error(&path, e))?;
    Ok((path, manifest))
}

/// Record a produced item in the manifest at `path` (replacing an earlier entry for the same index), write it
/// atomically and return it.
pub fn record(path: &Path, item: &ProducedItem, limits: &Limits) -> Result<Manifest> {
    let mut manifest = Manifest::load(path).map_err(|e| run_error(path, e))?;
    let plan = &mut manifest.plan;
    let end = plan.first + plan.count;
    if item.index < plan.first || item.index >= end {
        if plan.unknown.contains_key(OPEN_ENDED) && item.index >= plan.first {
            plan.count = item.index + 1 - plan.first;
        } else {
            return Err(Error::invalid(
                path,
                format!(
                    "item {} is outside the plan of {} items from {}",
                    item.index, plan.count, plan.first
                ),
            ));
        }
    }
    let folder = manifest.run_folder(path);
    let id = match &item.id {
        Some(id) => id.clone(),
        None => crate::edit::lineage_id(&folder.join(&item.file), limits)?,
    };
    manifest.produced.retain(|p| p.index != item.index);
    manifest.produced.push(Produced {
        index: item.index,
        id,
        file: Some(item.file.clone()),
    });
    manifest.produced.sort_by_key(|p| p.index);
    let mut entry = Map::new();
    entry.insert("index".into(), json!(item.index));
    if let Some(seed) = &item.seed {
        entry.insert("seed".into(), json!(seed));
    }
    if let Some(patch) = item.patch.as_ref().filter(|p| !is_empty_object(p)) {
        entry.insert("patch".into(), patch.clone());
    }
    if !item.parents.is_empty() {
        entry.insert("parents".into(), json!(item.parents));
    }
    let items = &mut manifest.plan.items;
    items.retain(|v| v.get("index").and_then(Value::as_u64) != Some(item.index));
    if entry.len() > 1 {
        items.push(Value::Object(entry));
    }
    items.sort_by_key(|v| v.get("index").and_then(Value::as_u64));
    manifest.save(path, true).map_err(|e| run_error(path, e))?;
    Ok(manifest)
}

fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

/// The library's status of the run (what `stemma run status` reports): each item's state by content, the first
/// item to redo and the last good one.
pub fn status(path: &Path, limits: &Limits) -> Result<RunStatus> {
    let run = stemma_runs::open_run(path).map_err(|e| run_error(path, e))?;
    stemma_runs::status(&run, limits, false).map_err(|e| run_error(path, e))
}

/// [`status`] as JSON text.
pub fn status_json(path: &Path, limits: &Limits) -> Result<String> {
    let st = status(path, limits)?;
    serde_json::to_string(&st).map_err(|e| Error::invalid(path, e.to_string()))
}

/// A manifest as JSON text.
pub fn manifest_json(path: &Path, manifest: &Manifest) -> Result<String> {
    manifest.to_json().map_err(|e| run_error(path, e))
}
