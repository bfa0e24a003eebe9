//! The PyO3 module `stemma._stemma`: argument conversion, the GIL released while Rust works, errors mapped to the
//! exception classes of `stemma._errors`. Records cross as JSON text (Python's `json` turns them into plain dicts).

use std::path::PathBuf;

use pyo3::prelude::*;
use serde_json::Value;
use stemma_container::{Edit, Limits};

use crate::edit::{self, Base, ParentSpec, Profile, StampRequest};
use crate::envelope;
use crate::error::Error;
use crate::files;
use crate::resolver::{resolve, ResolveOptions};
use crate::runs;

/// The stemma exception for `e`, with `path` and `reason` attributes.
fn to_py_err(py: Python<'_>, e: Error) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let class = py
            .import("stemma._errors")?
            .getattr(e.kind().class_name())?;
        let value = class.call1((
            e.to_string(),
            e.file().to_string_lossy().into_owned(),
            e.reason(),
        ))?;
        Ok(PyErr::from_value(value))
    })();
    made.unwrap_or_else(|err| err)
}

fn value_error(message: String) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(message)
}

fn options(import: bool, deep: bool) -> ResolveOptions {
    ResolveOptions {
        limits: Limits::default(),
        import,
        deep,
    }
}

/// The `stemma show --json` envelope of one file, as JSON text.
#[pyfunction]
#[pyo3(signature = (path, import_ = true, deep = false))]
fn show_json(py: Python<'_>, path: PathBuf, import_: bool, deep: bool) -> PyResult<String> {
    py.allow_threads(|| envelope::show(&path, &options(import_, deep)))
        .map_err(|e| to_py_err(py, e))
}

/// The record of one file as JSON text, or None when it has none.
#[pyfunction]
#[pyo3(signature = (path, import_ = true, deep = false))]
fn read_json(py: Python<'_>, path: PathBuf, import_: bool, deep: bool) -> PyResult<Option<String>> {
    py.allow_threads(|| envelope::record_json(&path, &options(import_, deep)))
        .map_err(|e| to_py_err(py, e))
}

/// The catalog's search: each matching image as the JSON object `stemma find --json` prints.
#[pyfunction]
#[pyo3(signature = (query, start, catalog = None, limit = None))]
fn find_json(
    py: Python<'_>,
    query: &str,
    start: PathBuf,
    catalog: Option<PathBuf>,
    limit: Option<usize>,
) -> PyResult<Vec<String>> {
    py.allow_threads(|| crate::catalog::find_json(&start, catalog.as_deref(), query, limit))
        .map_err(|e| to_py_err(py, e))
}

/// The envelopes of many files (read in parallel), in order; unreadable files get `{"file", "error"}`.
#[pyfunction]
#[pyo3(signature = (paths, import_ = true, deep = false))]
fn show_many_json(py: Python<'_>, paths: Vec<PathBuf>, import_: bool, deep: bool) -> Vec<String> {
    py.allow_threads(|| envelope::show_many(&paths, &options(import_, deep)))
}

/// Files named directly, plus the image files under folders, sorted.
#[pyfunction]
fn expand(py: Python<'_>, paths: Vec<PathBuf>) -> Vec<String> {
    py.allow_threads(|| {
        files::expand(&paths)
            .into_iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    })
}

/// Stamp a record; returns the record written, as JSON text.
#[pyfunction]
#[pyo3(signature = (path, output = None, record = None, fresh = false, patch = None, parents = Vec::new(),
    sidecar = false, xmp = true, a1111 = false, windows = false, force = false))]
#[allow(clippy::too_many_arguments)]
fn stamp(
    py: Python<'_>,
    path: PathBuf,
    output: Option<PathBuf>,
    record: Option<String>,
    fresh: bool,
    patch: Option<String>,
    parents: Vec<(String, Option<String>, Option<String>)>,
    sidecar: bool,
    xmp: bool,
    a1111: bool,
    windows: bool,
    force: bool,
) -> PyResult<String> {
    let patch: Option<Value> = match patch {
        Some(text) => {
            Some(serde_json::from_str(&text).map_err(|e| value_error(format!("patch: {e}")))?)
        }
        None => None,
    };
    let base = match (record, fresh) {
        (Some(json), _) => Base::Given(json),
        (None, true) => Base::Fresh,
        (None, false) => Base::Resolved,
    };
    let request = StampRequest {
        file: path,
        output,
        base,
        patch,
        parents: parents
            .into_iter()
            .map(|(target, relation, hint)| ParentSpec {
                target,
                relation,
                hint,
            })
            .collect(),
        sidecar,
        edit: Edit {
            force,
            xmp_mirrors: xmp,
            a1111_mirror: a1111,
            windows_text: windows,
            ..Edit::default()
        },
    };
    py.allow_threads(|| edit::stamp(&request, &Limits::default()))
        .map_err(|e| to_py_err(py, e))
}

/// Strip metadata (`profile`: all, lineage, stemma); true when the file was written.
#[pyfunction]
#[pyo3(signature = (path, profile = "stemma", output = None))]
fn strip(py: Python<'_>, path: PathBuf, profile: &str, output: Option<PathBuf>) -> PyResult<bool> {
    let profile = Profile::from_name(profile).ok_or_else(|| {
        value_error(format!(
            "profile {profile:?}: expected 'all', 'lineage' or 'stemma'"
        ))
    })?;
    py.allow_threads(|| edit::strip(&path, output.as_deref(), profile, &Limits::default()))
        .map_err(|e| to_py_err(py, e))
}

/// The content ids `(pixels, data)` of a file.
#[pyfunction]
#[pyo3(signature = (path, pixels = true))]
fn ids(py: Python<'_>, path: PathBuf, pixels: bool) -> PyResult<(Option<String>, Option<String>)> {
    py.allow_threads(|| edit::content_ids(&path, pixels, &Limits::default()))
        .map_err(|e| to_py_err(py, e))
}

/// The id a child names this file by: its pixel id where it has one, else its data id.
#[pyfunction]
fn lineage_id(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    py.allow_threads(|| edit::lineage_id(&path, &Limits::default()))
        .map_err(|e| to_py_err(py, e))
}

/// The problems that keep a record (JSON text) from being valid against the schema; empty when it is valid.
#[pyfunction]
fn validate_record(record: &str) -> PyResult<Vec<String>> {
    let value: Value =
        serde_json::from_str(record).map_err(|e| value_error(format!("record: {e}")))?;
    Ok(stemma_model::validate_record_json(&value))
}

/// The `sha256:` settings hash of a JSON document (RFC 8785 canonical JSON), as run manifests and records use it.
#[pyfunction]
fn settings_hash(document: &str) -> PyResult<String> {
    let value: Value =
        serde_json::from_str(document).map_err(|e| value_error(format!("settings: {e}")))?;
    stemma_model::settings_hash(&value)
        .map(|id| id.to_string())
        .map_err(|e| value_error(format!("settings: {e}")))
}

fn parse_json(what: &str, text: Option<String>) -> PyResult<Option<Value>> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| value_error(format!("{what}: {e}"))))
        .transpose()
}

/// Open or create the run manifest `<folder>/<name>.stemma-run.json`; returns its path and the manifest as JSON.
#[pyfunction]
#[pyo3(signature = (folder, name, generator = None, settings = None, count = None,
    pattern = "{name}_{index:05d}.png", created = None))]
#[allow(clippy::too_many_arguments)]
fn run_open(
    py: Python<'_>,
    folder: PathBuf,
    name: &str,
    generator: Option<&str>,
    settings: Option<String>,
    count: Option<u64>,
    pattern: &str,
    created: Option<String>,
) -> PyResult<(String, String)> {
    let request = runs::OpenRequest {
        folder: &folder,
        name,
        generator,
        settings: parse_json("settings", settings)?,
        count,
        pattern,
        created,
    };
    py.allow_threads(|| {
        let (path, manifest) = runs::open(&request)?;
        let text = runs::manifest_json(&path, &manifest)?;
        Ok((path.to_string_lossy().into_owned(), text))
    })
    .map_err(|e| to_py_err(py, e))
}

/// Record a produced item in a run manifest; returns the manifest as JSON.
#[pyfunction]
#[pyo3(signature = (manifest, index, file, id = None, seed = None, patch = None, parents = Vec::new()))]
#[allow(clippy::too_many_arguments)]
fn run_record(
    py: Python<'_>,
    manifest: PathBuf,
    index: u64,
    file: String,
    id: Option<String>,
    seed: Option<String>,
    patch: Option<String>,
    parents: Vec<String>,
) -> PyResult<String> {
    let item = runs::ProducedItem {
        index,
        file,
        id,
        seed,
        patch: parse_json("patch", patch)?,
        parents,
    };
    py.allow_threads(|| {
        let written = runs::record(&manifest, &item, &Limits::default())?;
        runs::manifest_json(&manifest, &written)
    })
    .map_err(|e| to_py_err(py, e))
}

/// The status of a run by content (`stemma run status --json`), as JSON.
#[pyfunction]
fn run_status(py: Python<'_>, manifest: PathBuf) -> PyResult<String> {
    py.allow_threads(|| runs::status_json(&manifest, &Limits::default()))
        .map_err(|e| to_py_err(py, e))
}

#[pymodule]
fn _stemma(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(show_json, m)?)?;
    m.add_function(wrap_pyfunction!(read_json, m)?)?;
    m.add_function(wrap_pyfunction!(show_many_json, m)?)?;
    m.add_function(wrap_pyfunction!(find_json, m)?)?;
    m.add_function(wrap_pyfunction!(expand, m)?)?;
    m.add_function(wrap_pyfunction!(stamp, m)?)?;
    m.add_function(wrap_pyfunction!(strip, m)?)?;
    m.add_function(wrap_pyfunction!(ids, m)?)?;
    m.add_function(wrap_pyfunction!(lineage_id, m)?)?;
    m.add_function(wrap_pyfunction!(validate_record, m)?)?;
    m.add_function(wrap_pyfunction!(settings_hash, m)?)?;
    m.add_function(wrap_pyfunction!(run_open, m)?)?;
    m.add_function(wrap_pyfunction!(run_record, m)?)?;
    m.add_function(wrap_pyfunction!(run_status, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
