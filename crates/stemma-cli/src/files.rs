//! Expanding the command line's paths: files as given, folders walked recursively for image files.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use stemma_import::FolderContext;
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
    walk(paths, None)
}

/// [`expand`], and the contexts of the folders the walk listed (so that reading their files does not list each
/// folder again, nor look up each file's sidecar on its own).
pub fn expand_with_folders(paths: &[PathBuf]) -> (Vec<PathBuf>, Folders) {
    let mut listings = HashMap::new();
    let files = walk(paths, Some(&mut listings));
    let folders = Folders::new(&files);
    if let Ok(mut contexts) = folders.contexts.lock() {
        for (folder, names) in listings {
            let context = FolderContext::listed(&folder, names);
            contexts.insert(folder, Arc::new(context));
        }
    }
    (files, folders)
}

/// The file names of each folder walked (every file, not only images: sidecars and text files beside them).
type Listings = HashMap<PathBuf, BTreeSet<String>>;

fn walk(paths: &[PathBuf], mut listings: Option<&mut Listings>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = Vec::new();
            let mut once = OncePerFile::default();
            // Entries come sorted by name within each folder, folders depth first: the paths come out sorted.
            for entry in WalkDir::new(path).follow_links(true).sort_by_file_name() {
                match entry {
                    Ok(e) if e.file_type().is_dir() => once.enter(&e),
                    Ok(e) if e.file_type().is_file() => {
                        if let (Some(listings), Some(name), Some(parent)) = (
                            listings.as_deref_mut(),
                            e.file_name().to_str(),
                            e.path().parent(),
                        ) {
                            match listings.get_mut(parent) {
                                Some(names) => {
                                    names.insert(name.to_string());
                                }
                                None => {
                                    let names = BTreeSet::from([name.to_string()]);
                                    listings.insert(parent.to_path_buf(), names);
                                }
                            }
                        }
                        if is_image_name(e.path()) && once.first_time(&e) {
                            found.push(e.into_path());
                        }
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

/// Keeps the first name of each file under a folder (device and inode; Unix only: elsewhere there is no inode).
/// The inode comes from the folder listing and the device from the folder, so a file costs no lookup of its own;
/// only a file reached through a link is looked up (its target may be anywhere).
#[derive(Default)]
struct OncePerFile {
    seen: HashSet<(u64, u64)>,
    /// The device of each folder entered.
    devices: HashMap<PathBuf, u64>,
}

impl OncePerFile {
    #[cfg(unix)]
    fn enter(&mut self, dir: &walkdir::DirEntry) {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(dir.path()) {
            self.devices.insert(dir.path().to_path_buf(), meta.dev());
        }
    }

    #[cfg(not(unix))]
    fn enter(&mut self, _dir: &walkdir::DirEntry) {}

    #[cfg(unix)]
    fn first_time(&mut self, file: &walkdir::DirEntry) -> bool {
        use std::os::unix::fs::MetadataExt;
        use walkdir::DirEntryExt;
        let device = file.path().parent().and_then(|p| self.devices.get(p));
        let key = match device {
            Some(&dev) if !file.path_is_symlink() => (dev, file.ino()),
            _ => match std::fs::metadata(file.path()) {
                Ok(m) => (m.dev(), m.ino()),
                Err(_) => return true,
            },
        };
        self.seen.insert(key)
    }

    #[cfg(not(unix))]
    fn first_time(&mut self, _file: &walkdir::DirEntry) -> bool {
        true
    }
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
        // Most calls find the context made for an earlier file: look it up without building a path.
        let parent = file.parent().filter(|p| !p.as_os_str().is_empty());
        if let Ok(map) = self.contexts.lock() {
            if let Some(context) = map.get(parent.unwrap_or(Path::new("."))) {
                return context.clone();
            }
        }
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
