//! The folder a file is in, as evidence: which files lie beside it and what the small text files among them say.
//!
//! A caller walking a folder builds one [`FolderContext`] per folder ([`FolderContext::scan`]: one directory
//! listing) and hands it to every file of that folder; [`crate::resolve()`] on a single file makes a lazy one
//! ([`FolderContext::lazy`]) that only looks at the names it is asked about. Text files are read at most once,
//! and only up to [`MAX_SIBLING_TEXT`] bytes each.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{io_err, Result};
use crate::sidecars::{import_a1111_log_csv, LogRow};

/// Largest sibling text file read (an A1111 `.txt`, a `log.csv`, a settings file).
pub const MAX_SIBLING_TEXT: u64 = 4 * 1024 * 1024;

/// The folder a file is in: the names of the files beside it, and their text read on demand (cached).
#[derive(Debug, Default)]
pub struct FolderContext {
    folder: PathBuf,
    /// Every UTF-8 file name in the folder, when it was listed; `None` asks the file system name by name.
    names: Option<BTreeSet<String>>,
    texts: Mutex<HashMap<String, Option<Arc<str>>>>,
    log_rows: Mutex<Option<Arc<Vec<LogRow>>>>,
}

impl FolderContext {
    /// List `folder` once (files only, not recursive).
    pub fn scan(folder: &Path) -> Result<FolderContext> {
        let mut names = BTreeSet::new();
        for entry in std::fs::read_dir(folder).map_err(io_err(folder))? {
            let entry = entry.map_err(io_err(folder))?;
            let is_file = entry
                .file_type()
                .is_ok_and(|t| t.is_file() || t.is_symlink());
            if let (true, Some(name)) = (is_file, entry.file_name().to_str()) {
                names.insert(name.to_string());
            }
        }
        Ok(FolderContext {
            folder: folder.to_path_buf(),
            names: Some(names),
            ..FolderContext::default()
        })
    }

    /// A context for `folder` from a listing the caller already made (a walk that read the folder): `names` are
    /// the file names in it (files and links, UTF-8 names only), as [`FolderContext::scan`] would list them.
    pub fn listed(folder: &Path, names: BTreeSet<String>) -> FolderContext {
        FolderContext {
            folder: folder.to_path_buf(),
            names: Some(names),
            ..FolderContext::default()
        }
    }

    /// A context for `folder` that lists nothing up front: each name asked about is looked up on its own.
    pub fn lazy(folder: &Path) -> FolderContext {
        FolderContext {
            folder: folder.to_path_buf(),
            ..FolderContext::default()
        }
    }

    /// The folder of `path` (`.` for a bare file name).
    pub fn folder_of(path: &Path) -> PathBuf {
        match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// The folder.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The file names listed, when the folder was scanned.
    pub fn names(&self) -> Option<&BTreeSet<String>> {
        self.names.as_ref()
    }

    /// Whether a file of this name is in the folder.
    pub fn has(&self, name: &str) -> bool {
        match &self.names {
            Some(names) => names.contains(name),
            None => self.folder.join(name).is_file(),
        }
    }

    /// The text of the file `name` beside the image: `None` when it is absent, larger than
    /// [`MAX_SIBLING_TEXT`], unreadable or not UTF-8 (a sibling that cannot be read is no evidence).
    pub fn text(&self, name: &str) -> Option<Arc<str>> {
        if !self.has(name) {
            return None;
        }
        if let Ok(cache) = self.texts.lock() {
            if let Some(hit) = cache.get(name) {
                return hit.clone();
            }
        }
        let path = self.folder.join(name);
        let text = std::fs::metadata(&path)
            .ok()
            .filter(|m| m.is_file() && m.len() <= MAX_SIBLING_TEXT)
            .and_then(|_| std::fs::read(&path).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(Arc::<str>::from);
        if let Ok(mut cache) = self.texts.lock() {
            cache.insert(name.to_string(), text.clone());
        }
        text
    }

    /// The rows of the folder's A1111 `log.csv` (empty when there is none or it cannot be read).
    pub fn log_rows(&self) -> Arc<Vec<LogRow>> {
        if let Ok(guard) = self.log_rows.lock() {
            if let Some(rows) = guard.as_ref() {
                return rows.clone();
            }
        }
        let rows = Arc::new(
            self.text("log.csv")
                .and_then(|t| import_a1111_log_csv(&t).ok())
                .unwrap_or_default(),
        );
        if let Ok(mut guard) = self.log_rows.lock() {
            *guard = Some(rows.clone());
        }
        rows
    }
}
