//! The settings store: each settings document kept once, by its settings hash, in `.stemma/settings/` beside the
//! catalog (the `.stemma` folder that holds `catalog.db`, found from the run's folder upwards), or, when there is
//! no catalog, in `.stemma/settings/` of the manifest's own folder. Fork manifests are registered in
//! `.stemma/runs/` of the same root, where `stemma scan` finds them to link results to their source.
//!
//! A stored file `sha256-<hex>.json` holds `{"format": …, "data": <document>}`; its name is the settings hash of
//! `data` (`spec/stemma-1.md` §6.2), checked again when it is read.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::{io, Error, Result};
use crate::manifest::{manifest_path, write_new, Manifest};

/// The folder of the catalog and the store inside a library root.
pub const STEMMA_DIR: &str = ".stemma";
const CATALOG_FILE: &str = "catalog.db";

/// A settings store rooted at a `.stemma` folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsStore {
    /// The `.stemma` folder.
    pub root: PathBuf,
}

/// One stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSettings {
    pub format: String,
    pub data: Value,
    pub hash: String,
}

impl SettingsStore {
    /// The store for a run whose manifest lives in `folder`: beside the catalog found from `folder` upwards,
    /// else `folder/.stemma`.
    pub fn for_folder(folder: &Path) -> SettingsStore {
        let start = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        let mut dir = Some(start.as_path());
        while let Some(d) = dir {
            let candidate = d.join(STEMMA_DIR);
            if candidate.join(CATALOG_FILE).is_file() {
                return SettingsStore { root: candidate };
            }
            dir = d.parent();
        }
        SettingsStore {
            root: start.join(STEMMA_DIR),
        }
    }

    /// The store of the catalog at `catalog_file` (`<root>/.stemma/catalog.db`).
    pub fn of_catalog(catalog_file: &Path) -> SettingsStore {
        SettingsStore {
            root: catalog_file
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        }
    }

    fn settings_dir(&self) -> PathBuf {
        self.root.join("settings")
    }

    /// Folder of registered fork manifests.
    pub fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }

    fn path_of(&self, hash: &str) -> PathBuf {
        self.settings_dir()
            .join(format!("{}.json", hash.replace(':', "-")))
    }

    /// Keep a document; returns its settings hash. Storing a document that is already there does nothing.
    pub fn put(&self, format: &str, data: &Value) -> Result<String> {
        let hash = stemma_model::settings_hash(data)?.to_string();
        let path = self.path_of(&hash);
        if path.is_file() {
            return Ok(hash);
        }
        let dir = self.settings_dir();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let doc = json!({"format": format, "data": stemma_model::to_ijson(data)});
        let text = serde_json::to_string_pretty(&doc).map_err(stemma_model::Error::from)?;
        write_new(&path, text.as_bytes())?;
        Ok(hash)
    }

    /// The document with this hash, checked against its hash.
    pub fn get(&self, hash: &str) -> Result<StoredSettings> {
        let path = self.path_of(hash);
        if !path.is_file() {
            return Err(Error::NotStored {
                hash: hash.to_string(),
                store: self.settings_dir(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| Error::Json {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let format = doc
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let data = doc.get("data").cloned().ok_or_else(|| Error::Settings {
            path: path.clone(),
            reason: "stored settings without \"data\"".into(),
        })?;
        let found = stemma_model::settings_hash(&data)?.to_string();
        if found != hash {
            return Err(Error::Settings {
                path,
                reason: format!(
                    "stored document hashes to {found}, not {hash}: the store was edited"
                ),
            });
        }
        Ok(StoredSettings {
            format,
            data,
            hash: found,
        })
    }

    /// Register a fork manifest where `stemma scan` looks for forks. Returns the registered path.
    pub fn register(&self, manifest: &Manifest) -> Result<PathBuf> {
        let dir = self.runs_dir();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = manifest_path(&dir, &manifest.id);
        manifest.save(&path, true)?;
        Ok(path)
    }

    /// Every registered manifest (unreadable ones are returned as errors, each naming its file).
    pub fn registered(&self) -> Vec<Result<Manifest>> {
        let dir = self.runs_dir();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(crate::manifest::MANIFEST_SUFFIX))
            })
            .collect();
        paths.sort();
        paths.iter().map(|p| Manifest::load(p)).collect()
    }
}
