//! Making a manifest: from a settings file (`stemma run init`), or inferred from the folder of a run an older tool
//! made (Deforum, Disco Diffusion, pytti) through the importers and the sequence scanner.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use stemma_import::settings::{import_settings_text, RunSettings};

use crate::error::{io, Error, Result};
use crate::manifest::{Manifest, Plan, SettingsRef, MANIFEST_SUFFIX, MANIFEST_VERSION};

/// A run opened for status or resume: its manifest, where it is, and its settings document.
#[derive(Debug, Clone)]
pub struct OpenRun {
    pub manifest: Manifest,
    /// The manifest file, when the run was given as one.
    pub manifest_path: Option<PathBuf>,
    /// Folder of the run's files.
    pub folder: PathBuf,
    /// The base settings document.
    pub settings: Value,
    /// The tool's own reading of the settings (Deforum, Disco, pytti), when it has one.
    pub run_settings: Option<RunSettings>,
    /// The tool's settings file in the folder.
    pub settings_file: Option<PathBuf>,
    /// The run's name in its folder (`deforum:20230812221310`): files named for it belong to it by name.
    pub key: Option<String>,
}

/// The sequence id stemma writes into a run's frames: `<key>@<12 hex digits of the settings hash>`.
pub fn run_id(key: &str, hash: &str) -> String {
    let hex = hash.strip_prefix("sha256:").unwrap_or(hash);
    format!("{key}@{}", hex.get(..12).unwrap_or(hex))
}

/// Read a settings file as the generator wrote it. Text that is not JSON, YAML of pytti, or a settings document
/// of a known tool is refused with the parser's reason.
pub fn read_settings_file(path: &Path) -> Result<(Option<RunSettings>, String, Value)> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let text = String::from_utf8(bytes).map_err(|e| Error::Settings {
        path: path.to_path_buf(),
        reason: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let is_yaml = name.ends_with(".yaml") || name.ends_with(".yml");
    if !is_yaml {
        if let Err(e) = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) {
            // pytti's `_settings.txt` is one JSON line followed by scene lines: not JSON as a whole.
            let pytti = text
                .lines()
                .next()
                .is_some_and(|l| l.contains("\"scenes\""));
            if !pytti {
                return Err(Error::Json {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                });
            }
        }
    }
    match import_settings_text(name, &text, None) {
        Ok(s) => {
            let format = s.format.to_string();
            let data = s.data.clone();
            Ok((Some(s), format, data))
        }
        Err(_) if !is_yaml => {
            let value: Value =
                serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
                    Error::Json {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    }
                })?;
            let format = if stemma_import::comfyui_value_sites(&value).is_some() {
                "comfyui-api"
            } else {
                "stemma-params"
            };
            Ok((None, format.to_string(), value))
        }
        Err(e) => Err(Error::Settings {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// A manifest for a run described by a settings file. `count` overrides the planned count (needed when the
/// settings do not say it: still batches, generic settings).
pub fn manifest_from_settings(
    settings_file: &Path,
    count: Option<u64>,
) -> Result<(Manifest, Value, Option<RunSettings>)> {
    let (run_settings, format, data) = read_settings_file(settings_file)?;
    let hash = stemma_model::settings_hash(&data)?.to_string();
    let location = settings_file
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string);
    let (generator, key, planned, kind, seeds, schedule, first) = match &run_settings {
        Some(s) => (
            s.tool.id().to_string(),
            s.run_id.clone(),
            s.max_frames,
            if s.animated == Some(false) {
                "batch"
            } else {
                "animation"
            },
            serde_json::to_value(&s.seed).ok(),
            s.schedule
                .iter()
                .map(|e| {
                    let mut m = Map::new();
                    m.insert("start".into(), json!(e.start_frame));
                    m.insert("prompt".into(), json!(e.positive));
                    if let Some(n) = &e.negative {
                        m.insert("negative".into(), json!(n));
                    }
                    Value::Object(m)
                })
                .collect(),
            // Every tool's frames are numbered from 0 by the name recogniser (pytti's `_1.png` is frame 0).
            0,
        ),
        None => (
            if format == "comfyui-api" {
                "comfyui".to_string()
            } else {
                data.get("generator")
                    .and_then(Value::as_str)
                    .unwrap_or("stemma")
                    .to_string()
            },
            None,
            data.get("count").and_then(Value::as_u64),
            "batch",
            None,
            Vec::new(),
            0,
        ),
    };
    let count = count.or(planned).ok_or_else(|| Error::Settings {
        path: settings_file.to_path_buf(),
        reason: "the settings do not say how many items the run makes; give --count".into(),
    })?;
    let id = match &key {
        Some(k) => run_id(k, &hash),
        None => run_id("run", &hash),
    };
    let manifest = Manifest {
        stemma_run: MANIFEST_VERSION.into(),
        id,
        generator,
        key: key.clone(),
        settings: SettingsRef {
            format,
            hash,
            location,
            unknown: Map::new(),
        },
        folder: None,
        plan: Plan {
            kind: kind.into(),
            count,
            first,
            seeds,
            schedule,
            items: Vec::new(),
            unknown: Map::new(),
        },
        produced: Vec::new(),
        fork: None,
        created: None,
        unknown: Map::new(),
    };
    Ok((manifest, data, run_settings))
}

/// Open a run: a manifest file, or a run folder whose manifest is inferred (a `*.stemma-run.json` in the folder
/// is used when there is exactly one).
pub fn open_run(path: &Path) -> Result<OpenRun> {
    if path.is_file() {
        return open_manifest(path);
    }
    if !path.is_dir() {
        return Err(Error::NoRun {
            path: path.to_path_buf(),
            reason: "neither a manifest nor a folder".into(),
        });
    }
    let manifests: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io(path))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(MANIFEST_SUFFIX))
        })
        .collect();
    if let [one] = manifests.as_slice() {
        return open_manifest(one);
    }
    infer_folder(path)
}

fn open_manifest(path: &Path) -> Result<OpenRun> {
    let manifest = Manifest::load(path)?;
    let folder = manifest.run_folder(path);
    let store = crate::store::SettingsStore::for_folder(path.parent().unwrap_or(Path::new(".")));
    let location = manifest
        .settings
        .location
        .as_ref()
        .map(|l| folder.join(l))
        .filter(|p| p.is_file());
    // The store holds the document; the tool's own file beside the frames is read for the tool's view of it.
    let (settings, run_settings) = match store.get(&manifest.settings.hash) {
        Ok(stored) => {
            let rs = location
                .as_ref()
                .and_then(|p| read_settings_file(p).ok())
                .and_then(|(rs, _, data)| {
                    (stemma_model::settings_hash(&data).ok()?.to_string() == manifest.settings.hash)
                        .then_some(rs)?
                });
            (stored.data, rs)
        }
        Err(e) => {
            let Some(file) = &location else {
                return Err(e);
            };
            let (rs, _, data) = read_settings_file(file)?;
            let found = stemma_model::settings_hash(&data)?.to_string();
            if found != manifest.settings.hash {
                return Err(Error::Manifest {
                    path: path.to_path_buf(),
                    reason: format!(
                        "its settings are {} but {} hashes to {found} (edited since the manifest was made)",
                        manifest.settings.hash,
                        file.display()
                    ),
                });
            }
            (data, rs)
        }
    };
    let key = manifest
        .key
        .clone()
        .or_else(|| run_settings.as_ref().and_then(|s| s.run_id.clone()));
    Ok(OpenRun {
        manifest,
        manifest_path: Some(path.to_path_buf()),
        folder,
        settings,
        run_settings,
        settings_file: location,
        key,
    })
}

/// Infer the run of a folder: the sequence with a settings file and the most frames.
pub fn infer_folder(folder: &Path) -> Result<OpenRun> {
    let options = stemma_sequences::ScanOptions {
        compute_ids: false,
        ..Default::default()
    };
    let scan = stemma_sequences::scan_folder_with(folder, &options).map_err(|e| Error::NoRun {
        path: folder.to_path_buf(),
        reason: e.to_string(),
    })?;
    let best = scan
        .sequences
        .iter()
        .filter(|s| s.settings_file.is_some())
        .max_by_key(|s| s.frames.len());
    let Some(sequence) = best else {
        if let Some(batch) = infer_a1111_batch(folder)? {
            return Ok(batch);
        }
        let why = if scan.sequences.is_empty() {
            "no frames of Deforum, Disco Diffusion or pytti, and no A1111 batch here".to_string()
        } else {
            format!(
                "sequence {} has no settings file; make a manifest with `stemma run init SETTINGS`",
                scan.sequences[0].key
            )
        };
        return Err(Error::NoRun {
            path: folder.to_path_buf(),
            reason: why,
        });
    };
    let settings_file = sequence.settings_file.clone().ok_or_else(|| Error::NoRun {
        path: folder.to_path_buf(),
        reason: "no settings file".into(),
    })?;
    let last = sequence.frames.iter().map(|f| f.index).max();
    let (mut manifest, settings, run_settings) = match manifest_from_settings(&settings_file, None)
    {
        Ok(found) => found,
        // Settings without a planned count (a still batch): plan what the folder shows.
        Err(Error::Settings { .. }) if last.is_some() => {
            manifest_from_settings(&settings_file, last.map(|l| l + 1))?
        }
        Err(e) => return Err(e),
    };
    manifest.id = sequence.id.clone();
    manifest.key = Some(sequence.key.clone());
    Ok(OpenRun {
        manifest,
        manifest_path: None,
        folder: folder.to_path_buf(),
        settings,
        run_settings,
        settings_file: Some(settings_file),
        key: Some(sequence.key.clone()),
    })
}

/// True for an existing file named `*.stemma-run.json`.
pub fn is_manifest_path(path: &Path) -> bool {
    path.is_file()
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(MANIFEST_SUFFIX))
}

/// The A1111 batch of a folder: the largest group (two images at least) of A1111 images whose records differ only
/// in the seed. Item i is the image with seed `base + i` (A1111 gives each image of a batch the next seed).
fn infer_a1111_batch(folder: &Path) -> Result<Option<OpenRun>> {
    use std::collections::BTreeMap;
    let options = stemma_import::ResolveOptions::default();
    let mut groups: BTreeMap<String, Vec<(i128, PathBuf, String)>> = BTreeMap::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(io(folder))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_image(p))
        .collect();
    entries.sort();
    for path in entries {
        let Ok(resolved) = stemma_import::resolve(&path, &options) else {
            continue;
        };
        let Some(record) = resolved.record else {
            continue;
        };
        let is_a1111 = record
            .settings
            .as_ref()
            .is_some_and(|s| s.format.as_deref() == Some("a1111-infotext"));
        let seed = record
            .params
            .as_ref()
            .and_then(|p| p.seed.as_deref())
            .and_then(|s| s.parse::<i128>().ok());
        let text = record
            .raw
            .iter()
            .filter(|r| r.text.is_some())
            .find(|r| r.used || r.key.as_deref() == Some("parameters"))
            .and_then(|r| r.text.clone());
        let (Some(seed), Some(text), true) = (seed, text, is_a1111) else {
            continue;
        };
        if let Some(fp) = crate::link::batch_fingerprint(&record) {
            groups.entry(fp).or_default().push((seed, path, text));
        }
    }
    let Some((fp, mut members)) = groups.into_iter().max_by_key(|(_, m)| m.len()) else {
        return Ok(None);
    };
    if members.len() < 2 {
        return Ok(None);
    }
    members.sort();
    let base = members[0].0;
    let last = members[members.len() - 1].0;
    let count = u64::try_from(last - base + 1).unwrap_or(u64::MAX);
    let settings = Value::String(members[0].2.clone());
    let hash = stemma_model::settings_hash(&settings)?.to_string();
    let fp_hex = fp.strip_prefix("sha256:").unwrap_or(&fp);
    let key = format!("a1111:{}", fp_hex.get(..12).unwrap_or(fp_hex));
    let manifest = Manifest {
        stemma_run: MANIFEST_VERSION.into(),
        id: run_id(&key, &hash),
        generator: "a1111".into(),
        key: Some(key.clone()),
        settings: SettingsRef {
            format: "a1111-infotext".into(),
            hash,
            location: members[0]
                .1
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string),
            unknown: Map::new(),
        },
        folder: None,
        plan: Plan {
            kind: "batch".into(),
            count,
            first: 0,
            seeds: Some(
                json!({"rule": "increment", "base": base.to_string(), "every": 1, "cadence": 1}),
            ),
            schedule: Vec::new(),
            items: Vec::new(),
            unknown: [("fingerprint".to_string(), json!(fp))]
                .into_iter()
                .collect(),
        },
        produced: Vec::new(),
        fork: None,
        created: None,
        unknown: Map::new(),
    };
    Ok(Some(OpenRun {
        manifest,
        manifest_path: None,
        folder: folder.to_path_buf(),
        settings,
        run_settings: None,
        settings_file: None,
        key: Some(key),
    }))
}

const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "exr"];

/// Whether a file in a run's output folder is one of its images (by extension).
pub(crate) fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
