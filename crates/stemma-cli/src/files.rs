//! Expanding the command line's paths: files as given, folders walked recursively for image files.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// Extensions of files picked up when walking a folder (files named on the command line are always taken, and
/// detected by content).
const IMAGE_EXTENSIONS: &[&str] = &[
    "png", "apng", "jpg", "jpeg", "jpe", "jfif", "webp", "gif", "avif", "heic", "heif",
];

/// Files named directly, plus the image files found under folders, in a stable order. A folder without image
/// files is named on standard error.
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
            if found.is_empty() {
                // Saying nothing would look like "nothing to report" for files that were never read.
                eprintln!("stemma: no image files found in {}", path.display());
            }
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
