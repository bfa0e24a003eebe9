//! Atomic replacement of a file: write a temporary file in the same folder, fsync it, rename it over the target.
//!
//! What a rewrite keeps and what it does not:
//! - the content is replaced all at once (readers see the old file or the new one, never a mix) and a failure at
//!   any step leaves the old file untouched and removes the temporary file;
//! - a new file gets the mode the umask gives (`0666 & !umask`), like any program's output; a rewritten file keeps
//!   its mode and, where the system allows it, its owner and group;
//! - a symbolic link is followed: the file it points to is rewritten and the link stays a link;
//! - a read-only file (no write permission bit at all) is refused unless the caller allows it;
//! - a file with several hard links is replaced under this name only, and the caller gets a note saying so;
//! - timestamps are not carried over: the rewritten file has a new modification time, as any change of content
//!   does, so that backup and sync tools see the change (the record's `created` keeps when the image was made).

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::lock::{self, FileId};

/// Choices of a rewrite.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Rewrite a file even when it is read-only.
    pub allow_read_only: bool,
    /// Leave the folder's fsync (which makes the rename durable) to the caller: a batch writing many files of a
    /// folder syncs it once at the end ([`FolderSyncs`]) instead of once per file. The file's own content is
    /// always synced before the rename.
    pub defer_folder_sync: bool,
}

/// What a write did besides writing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Things the user should know (a hard link split).
    pub notes: Vec<String>,
    /// The folder whose fsync was left to the caller (with [`WriteOptions::defer_folder_sync`]).
    pub unsynced_folder: Option<PathBuf>,
}

/// The folders of a batch of writes whose fsync was deferred: each is synced once, by [`FolderSyncs::sync`].
#[derive(Debug, Default)]
pub struct FolderSyncs {
    folders: Mutex<BTreeSet<PathBuf>>,
}

impl FolderSyncs {
    /// Remember the folder a write left unsynced (`Written::unsynced_folder`; safe from several threads).
    pub fn add(&self, folder: Option<&Path>) {
        if let Some(folder) = folder {
            if let Ok(mut set) = self.folders.lock() {
                set.insert(folder.to_path_buf());
            }
        }
    }

    /// Sync every folder remembered, once each; returns the folders that could not be synced, with the reason.
    /// The renames are in place whatever this says; a failure only means they may not survive a power cut.
    pub fn sync(&self) -> Vec<(PathBuf, io::Error)> {
        let folders = match self.folders.lock() {
            Ok(mut set) => std::mem::take(&mut *set),
            Err(_) => return Vec::new(),
        };
        folders
            .into_iter()
            .filter_map(|folder| sync_folder(&folder).err().map(|e| (folder, e)))
            .collect()
    }
}

/// Flush a folder's entries (a rename in it) to disk.
fn sync_folder(folder: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(folder)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = folder;
        Ok(())
    }
}

/// A step of the write path, for fault injection in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Before each block of bytes written to the temporary file.
    Write,
    /// Before the temporary file is flushed to disk.
    Sync,
    /// Before the temporary file is renamed over the target.
    Rename,
}

/// A seam for tests: called before each step; an error makes the step fail as the file system would.
pub trait Faults {
    fn before(&self, step: Step) -> io::Result<()>;
}

/// The production file system: no faults.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFaults;

impl Faults for NoFaults {
    fn before(&self, _step: Step) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes written per call, so that a fault can strike in the middle of a file.
const WRITE_BLOCK: usize = 64 * 1024;

/// Write `bytes` to `path` atomically with the default options (a read-only file is refused).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<Written> {
    write_atomic_with(path, bytes, &WriteOptions::default(), &NoFaults)
}

/// Write `bytes` to `path` atomically. On any error the previous content of `path` is untouched and the temporary
/// file is removed.
pub fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    options: &WriteOptions,
    faults: &dyn Faults,
) -> Result<Written> {
    let target = lock::resolve(path)?;
    let mut written = Written::default();
    let existing = match fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        // Named by the target: "Not a directory" alone does not say which folder is wrong.
        Err(e) => {
            return Err(Error::Io(io::Error::new(
                e.kind(),
                format!("cannot write {}: {e}", target.display()),
            )))
        }
    };
    if let Some(meta) = &existing {
        if !meta.is_file() {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", path.display()),
            )));
        }
        if meta.permissions().readonly() && !options.allow_read_only {
            return Err(Error::ReadOnly(path.display().to_string()));
        }
        if let Some(n) = link_count(meta).filter(|n| *n > 1) {
            written.notes.push(format!(
                "{} has {n} hard links: only this name gets the new content, the other names keep the old file",
                path.display()
            ));
        }
    }
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".stemma-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The kernel applies the umask to this mode, so a new file gets the mode any program would give it.
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| in_folder(e, "cannot create a file in the folder", dir))?;
    for block in bytes.chunks(WRITE_BLOCK) {
        faults.before(Step::Write)?;
        tmp.write_all(block)?;
    }
    if let Some(meta) = &existing {
        keep_owner(tmp.as_file(), meta);
        // After the owner: changing the owner clears set-id bits.
        fs::set_permissions(tmp.path(), meta.permissions())?;
    }
    faults.before(Step::Sync)?;
    tmp.as_file().sync_all()?;
    let moved = match &existing {
        Some(meta) => Some(lock::handoff(FileId::of(meta), tmp.as_file())?),
        None => None,
    };
    let renamed = faults
        .before(Step::Rename)
        .and_then(|()| tmp.persist(&target).map_err(|e| e.error));
    if let Err(e) = renamed {
        if let Some(m) = moved {
            m.undo();
        }
        return Err(e.into());
    }
    // Only now may a writer waiting on the old file go on (it will find the new one in place).
    drop(moved);
    // Make the rename itself durable; the new content is in place whatever this says.
    if options.defer_folder_sync {
        written.unsynced_folder = Some(dir.to_path_buf());
    } else {
        let _ = sync_folder(dir);
    }
    Ok(written)
}

#[cfg(unix)]
fn link_count(meta: &fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(meta.nlink())
}

#[cfg(not(unix))]
fn link_count(_meta: &fs::Metadata) -> Option<u64> {
    None
}

/// Give the new file the old one's owner and group where the system allows it (root, or the group for a member);
/// a refusal is not an error: the file then belongs to the user who rewrote it, as with any editor.
#[cfg(unix)]
fn keep_owner(file: &fs::File, meta: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    if std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())).is_err() {
        let _ = std::os::unix::fs::fchown(file, None, Some(meta.gid()));
    }
}

#[cfg(not(unix))]
fn keep_owner(_file: &fs::File, _meta: &fs::Metadata) {}
/// An error creating the temporary file, named by the folder (the caller names the target file), not by the
/// temporary file's random name that tempfile puts in its message.
fn in_folder(err: std::io::Error, what: &str, dir: &Path) -> std::io::Error {
    // tempfile's message is "<OS error> at path <temporary file>": keep the OS error.
    let text = err.to_string();
    let cause = text.split(" at path ").next().unwrap_or_default();
    std::io::Error::new(err.kind(), format!("{what} {}: {cause}", dir.display()))
}
