//! Expanding the command line's paths: files as given, folders walked recursively for image files.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// Extensions of files picked up when walking a folder (files named on the command line are always taken, and
/// detected by content).
const IMAGE_EXTENSIONS: &[&str] = &[
    "png", "apng", "jpg", "jpeg", "jpe", "jfif", "webp", "gif", "avif", "heic", "heif",
];

/// Files named directly, plus the image files found under folders, in a stable order.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = WalkDir::new(path)
                .follow_links(false)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file() && is_image_name(e.path()))
                .map(|e| e.into_path())
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    out
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
