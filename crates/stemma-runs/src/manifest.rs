//! The run manifest, `<name>.stemma-run.json` (specification `spec/runs.md`): what a run is (generator, base
//! settings by hash), what it plans (how many items, seeds, per-item patches) and what it produced (each item's
//! content id once it exists). A fork's manifest also says what it was forked from and what changed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{io, Error, Result};

/// Version of the manifest format this crate writes; readers accept `1.x`.
pub const MANIFEST_VERSION: &str = "1.0";
/// File name suffix of a manifest.
pub const MANIFEST_SUFFIX: &str = ".stemma-run.json";

/// A run manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version, `"1.0"`.
    pub stemma_run: String,
    /// The run's id: the sequence id its frames carry (`deforum:20230812221310@3f9a…`) or `run:<12 hex>`.
    pub id: String,
    /// Generator (registered name: `deforum`, `disco`, `pytti`, `a1111`, `comfyui`, …).
    pub generator: String,
    /// The run's name in its folder (`deforum:20230812221310`, `disco:TimeToDisco(3)`): files named for it are
    /// the run's by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The base settings, by hash (the document is in the settings store).
    pub settings: SettingsRef,
    /// Folder of the run's files, relative to the manifest (default: the manifest's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    pub plan: Plan,
    /// What was produced: one entry per item whose content id is known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub produced: Vec<Produced>,
    /// For a fork: where it came from and what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork: Option<ForkInfo>,
    /// RFC 3339 time the manifest was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Members this version does not know, kept.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// The run's base settings document, by settings hash (`spec/stemma-1.md` §6.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsRef {
    /// `settings.format` name (`deforum-json`, `disco-json`, `a1111-infotext`, `comfyui-api`, `stemma-params`, …).
    pub format: String,
    /// `sha256:` settings hash of the document.
    pub hash: String,
    /// Where the generator's own copy is, relative to the run folder (a hint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// What the run is to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `animation` (frames feed each other) or `batch` (independent images).
    pub kind: String,
    /// Items planned.
    pub count: u64,
    /// Index of the first item (0 for every tool but pytti, which numbers images from 1).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub first: u64,
    /// How the seed of item i follows: `{"rule": "fixed"|"increment"|"first_only"|"unknown", …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<Value>,
    /// Prompt schedule: `[{"start": frame, "prompt": text, "negative"?: text}]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<Value>,
    /// Per-item changes: `{"index": i, "seed"?: "…", "patch"?: <RFC 7396 patch of the base settings>}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Value>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// One produced item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Produced {
    pub index: u64,
    /// Content id (pixel id where the format has one, else data id).
    pub id: String,
    /// File name it was found at, relative to the run folder (a hint, never an identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// What a fork was made from and what it changed (the record's `fork` member, plus what linking needs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForkInfo {
    /// Settings hash of the source's settings document.
    pub base: String,
    /// RFC 7396 merge patch turning the base document into the fork's.
    pub diff: Value,
    /// Content id of the image (or frame) forked from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// File name of the source (a hint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_file: Option<String>,
    /// Animation forks: the source frame the fork starts at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_frame: Option<u64>,
    /// The changes as asked for, in the vocabulary of `params` (`{"seed": "42", "prompt": "…"}`).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub changes: Map<String, Value>,
    /// Settings fingerprints a result may carry (`spec/runs.md` §5), one per emitted format.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprints: Vec<String>,
    /// The marker the ComfyUI payload carries in `extra_pnginfo` (the `stemma_fork` key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Manifest {
    /// Parse a manifest, checking its version and required members.
    pub fn from_json(text: &str, path: &Path) -> Result<Manifest> {
        let value: Value = serde_json::from_str(text).map_err(|e| Error::Json {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let bad = |reason: String| Error::Manifest {
            path: path.to_path_buf(),
            reason,
        };
        let version = value
            .get("stemma_run")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no \"stemma_run\" version member".into()))?;
        if !version.starts_with("1.") {
            return Err(bad(format!("version {version} (this build reads 1.x)")));
        }
        let manifest: Manifest = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        if !is_settings_hash(&manifest.settings.hash) {
            return Err(bad(format!(
                "settings.hash {} is not a sha256: settings hash",
                manifest.settings.hash
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &manifest.produced {
            if !seen.insert(p.index) {
                return Err(bad(format!(
                    "item {} is listed twice in \"produced\"",
                    p.index
                )));
            }
            if p.index < manifest.plan.first || p.index >= manifest.plan.first + manifest.plan.count
            {
                return Err(bad(format!(
                    "produced item {} lies outside the plan ({} items from {})",
                    p.index, manifest.plan.count, manifest.plan.first
                )));
            }
        }
        Ok(manifest)
    }

    /// Read a manifest file.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        Manifest::from_json(&text, path)
    }

    /// The manifest as pretty JSON with a final line end.
    pub fn to_json(&self) -> Result<String> {
        let mut text = serde_json::to_string_pretty(self).map_err(stemma_model::Error::from)?;
        text.push('\n');
        Ok(text)
    }

    /// Write the manifest atomically. `replace` allows replacing an existing manifest (an update of the same
    /// run); otherwise an existing file is refused.
    pub fn save(&self, path: &Path, replace: bool) -> Result<()> {
        if !replace && path.exists() {
            return Err(Error::Exists {
                path: path.to_path_buf(),
            });
        }
        write_new_or_replace(path, self.to_json()?.as_bytes())
    }

    /// The folder of the run's files for a manifest at `manifest_path`.
    pub fn run_folder(&self, manifest_path: &Path) -> PathBuf {
        // A bare file name has the parent "", which names no folder.
        let base = manifest_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        match &self.folder {
            Some(f) => base.join(f),
            None => base.to_path_buf(),
        }
    }

    /// The content id recorded for item `index`.
    pub fn produced_id(&self, index: u64) -> Option<&str> {
        self.produced
            .iter()
            .find(|p| p.index == index)
            .map(|p| p.id.as_str())
    }
}

/// True for `sha256:` and 64 lower-case hex digits.
pub fn is_settings_hash(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Write a file atomically (temporary file, fsync, rename) through the container crate's writer.
pub(crate) fn write_new_or_replace(path: &Path, bytes: &[u8]) -> Result<()> {
    stemma_container::atomic::write_atomic(path, bytes)
        .map(|_| ())
        .map_err(|e| Error::Container {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Write a new file atomically; an existing file is refused (stemma never overwrites what it did not make).
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.exists() {
        return Err(Error::Exists {
            path: path.to_path_buf(),
        });
    }
    write_new_or_replace(path, bytes)
}

/// A manifest path for a run name in a folder: `<folder>/<name>.stemma-run.json`, with characters that do not
/// belong in file names replaced.
pub fn manifest_path(folder: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    folder.join(format!("{safe}{MANIFEST_SUFFIX}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_manifest_named_without_a_folder_has_its_files_in_the_current_folder() {
        let text = r#"{"stemma_run": "1.0", "id": "stemma:a@000000000000", "generator": "stemma",
            "settings": {"format": "stemma-params", "hash": "sha256:0000000000000000000000000000000000000000000000000000000000000000"},
            "plan": {"kind": "batch", "count": 1}}"#;
        let mut m = Manifest::from_json(text, Path::new("a.stemma-run.json")).unwrap();
        assert_eq!(m.run_folder(Path::new("a.stemma-run.json")), Path::new("."));
        assert_eq!(
            m.run_folder(Path::new("d/a.stemma-run.json")),
            Path::new("d")
        );
        m.folder = Some("frames".into());
        assert_eq!(
            m.run_folder(Path::new("a.stemma-run.json")),
            Path::new("./frames")
        );
    }
}
