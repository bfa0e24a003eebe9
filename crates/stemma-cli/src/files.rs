//! Expanding the command line's paths: files as given, folders walked recursively for image files.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// Extensions of files picked up when walking a folder (files named on the command line are always taken, and
/// detected by content).
const IMAGE_EXTENSIONS: &[&str] = &[
    "png", "apng", "jpg", "jpeg", "jpe", "jfif", "webp", "gif", "avif", "heic", "heif", "mp4",
    "m4v", "mov", "webm", "mkv",
];

/// Files named directly, plus the image files found under folders, in a stable order. A folder without image
/// files is named on standard error.
///
/// Symbolic links under a folder are followed (a link to a file is that file; a link to a folder is walked),
/// with loop detection; a loop or an unreadable entry is reported on standard error, never skipped silently. A
/// file reached twice under one folder (through a link, or a hard link) is listed once, so that it is never
/// rewritten twice at the same time.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = Vec::new();
            for entry in WalkDir::new(path).follow_links(true) {
                match entry {
                    Ok(e) if e.file_type().is_file() && is_image_name(e.path()) => {
                        found.push(e.into_path())
                    }
                    Ok(_) => {}
                    Err(err) => {
                        let place = err
                            .path()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| path.display().to_string());
                        let why = match err.loop_ancestor() {
                            Some(a) => {
                                format!("symbolic link loop back to {}; not followed", a.display())
                            }
                            None => err.to_string(),
                        };
                        eprintln!("stemma: warning: {place}: {why}");
                    }
                }
            }
            found.sort();
            if found.is_empty() {
                // Saying nothing would look like "nothing to report" for files that were never read.
                eprintln!("stemma: no image files found in {}", path.display());
            }
            out.extend(once_per_file(found));
        } else {
            out.push(path.clone());
        }
    }
    out
}

/// Keep the first name of each file (device and inode), in order (Unix only: elsewhere there is no inode).
fn once_per_file(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if !cfg!(unix) {
        return paths;
    }
    let mut seen = std::collections::HashSet::new();
    paths
        .into_iter()
        .filter(|p| match std::fs::metadata(p) {
            Ok(m) => seen.insert(stemma_container::lock::FileId::of(&m)),
            Err(_) => true,
        })
        .collect()
}

fn is_image_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with(".stemma-") {
        return false; // our own temporary files
    }
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// The folder context of each folder of a file list, listed once per folder and shared by its files. A lone
/// file gets a lazy context (only the names importers ask about are looked up).
pub struct Folders {
    contexts: std::sync::Mutex<
        std::collections::HashMap<PathBuf, std::sync::Arc<stemma_import::FolderContext>>,
    >,
    scan: bool,
}

impl Folders {
    /// Contexts for `files`: listed when several files are read, lazy for one.
    pub fn new(files: &[PathBuf]) -> Folders {
        Folders {
            contexts: std::sync::Mutex::default(),
            scan: files.len() > 1,
        }
    }

    /// The context of the folder holding `file`.
    pub fn of(&self, file: &Path) -> std::sync::Arc<stemma_import::FolderContext> {
        use stemma_import::FolderContext;
        let folder = FolderContext::folder_of(file);
        let make = || {
            std::sync::Arc::new(if self.scan {
                FolderContext::scan(&folder).unwrap_or_else(|_| FolderContext::lazy(&folder))
            } else {
                FolderContext::lazy(&folder)
            })
        };
        match self.contexts.lock() {
            Ok(mut map) => map.entry(folder.clone()).or_insert_with(make).clone(),
            Err(_) => make(),
        }
    }
}
