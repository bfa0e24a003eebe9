//! Advisory locks that serialise concurrent read-modify-write updates of one file.
//!
//! An update locks the file it is about to read (`flock`, exclusive), and keeps the lock until it has renamed the
//! new content into place. Because an atomic rewrite replaces the file (a new inode), a waiter that locked the old
//! inode would otherwise go on to read stale bytes: after taking the lock it checks that the path still names the
//! inode it locked, and starts again on the new one when it does not. The writer also locks its temporary file
//! before the rename (see [`handoff`]), so the lock moves with the content and nobody reads the new file before
//! the writer is done.
//!
//! Locks are re-entrant within a thread: a command that locks a file for its whole read-modify-write can call
//! [`crate::ops::rewrite`], which locks the same file again, without deadlocking. Other threads and processes
//! wait. On platforms without `flock` the guard is a no-op (documented limitation).

use std::cell::RefCell;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The identity of a file: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity from a file's metadata (on non-Unix systems every file looks the same and locking is off).
    pub fn of(meta: &fs::Metadata) -> FileId {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileId {
                dev: meta.dev(),
                ino: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            FileId { dev: 0, ino: 0 }
        }
    }
}

/// A lock this thread holds.
struct Held {
    token: u64,
    id: FileId,
    /// The open file the `flock` lives on; dropping it releases the lock.
    _file: File,
    depth: usize,
}

thread_local! {
    static HELD: RefCell<Vec<Held>> = const { RefCell::new(Vec::new()) };
    static NEXT_TOKEN: RefCell<u64> = const { RefCell::new(0) };
}

/// Holds the update lock of a file until dropped.
#[derive(Debug)]
#[must_use = "the lock is released when the guard is dropped"]
pub struct UpdateLock {
    token: Option<u64>,
}

impl Drop for UpdateLock {
    fn drop(&mut self) {
        let Some(token) = self.token else { return };
        HELD.with(|held| {
            let mut held = held.borrow_mut();
            if let Some(i) = held.iter().position(|h| h.token == token) {
                held[i].depth -= 1;
                if held[i].depth == 0 {
                    held.remove(i);
                }
            }
        });
    }
}

/// The file a path finally names: symbolic links are followed, so that the target is what gets locked and
/// rewritten (the link itself is kept).
pub fn resolve(path: &Path) -> Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("symbolic link {} cannot be followed: {e}", path.display()),
            ))
        }),
        _ => Ok(path.to_path_buf()),
    }
}

/// Lock `path` (its target, for a symbolic link) for a read-modify-write update, waiting for other writers.
/// Re-entrant within a thread.
pub fn lock_for_update(path: &Path) -> Result<UpdateLock> {
    let target = resolve(path)?;
    loop {
        let file = File::open(&target)?;
        let id = FileId::of(&file.metadata()?);
        let again = HELD.with(|held| {
            held.borrow_mut().iter_mut().find(|h| h.id == id).map(|h| {
                h.depth += 1;
                h.token
            })
        });
        if let Some(token) = again {
            return Ok(UpdateLock { token: Some(token) });
        }
        if !flock_exclusive(&file, true)? {
            // Locking is not available here (platform or file system): updates are not serialised.
            return Ok(UpdateLock { token: None });
        }
        // The file may have been replaced while we waited: then lock the new one.
        if FileId::of(&fs::metadata(&target)?) != id {
            continue;
        }
        let token = NEXT_TOKEN.with(|t| {
            let mut t = t.borrow_mut();
            *t += 1;
            *t
        });
        HELD.with(|held| {
            held.borrow_mut().push(Held {
                token,
                id,
                _file: file,
                depth: 1,
            })
        });
        return Ok(UpdateLock { token: Some(token) });
    }
}

/// True when this thread holds the update lock of the file with this identity.
pub fn holds(id: FileId) -> bool {
    HELD.with(|held| held.borrow().iter().any(|h| h.id == id))
}

/// A lock moved by [`handoff`]: the previous file, still locked until this is dropped (after the rename) or
/// handed back with [`Moved::undo`] (when the rename failed).
pub(crate) struct Moved {
    new_id: FileId,
    old: Option<(FileId, File)>,
}

impl Moved {
    /// Give the lock back to the original file.
    pub(crate) fn undo(mut self) {
        if let Some((id, file)) = self.old.take() {
            swap(self.new_id, id, file);
        }
    }
}

/// Move this thread's lock on `old` to `new_file` (the temporary file about to be renamed over it): the new file
/// is locked first, so that a waiter that opens it after the rename waits until this update is finished. The old
/// file stays locked until the returned value is dropped, which must happen after the rename: a waiter on the old
/// file must not find it still in place.
pub(crate) fn handoff(old: FileId, new_file: &File) -> Result<Moved> {
    let file = new_file.try_clone()?;
    let new_id = FileId::of(&file.metadata()?);
    if !holds(old) {
        return Ok(Moved { new_id, old: None });
    }
    // A fresh temporary file: nobody else can hold its lock.
    flock_exclusive(&file, false)?;
    Ok(Moved {
        new_id,
        old: swap(old, new_id, file),
    })
}

/// Make the held entry for `from` hold `file` (identity `to`); returns what it held.
fn swap(from: FileId, to: FileId, file: File) -> Option<(FileId, File)> {
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        let h = held.iter_mut().find(|h| h.id == from)?;
        let previous = std::mem::replace(&mut h._file, file);
        h.id = to;
        Some((from, previous))
    })
}

/// Take an exclusive `flock`; `Ok(false)` when the platform or file system has none.
fn flock_exclusive(file: &File, wait: bool) -> Result<bool> {
    #[cfg(unix)]
    {
        use rustix::fs::{flock, FlockOperation};
        let op = if wait {
            FlockOperation::LockExclusive
        } else {
            FlockOperation::NonBlockingLockExclusive
        };
        loop {
            match flock(file, op) {
                Ok(()) => return Ok(true),
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::NOLCK) | Err(rustix::io::Errno::OPNOTSUPP) => {
                    return Ok(false)
                }
                Err(e) => return Err(Error::Io(e.into())),
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, wait);
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_are_reentrant_in_a_thread_and_exclusive_across_threads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"x").unwrap();
        let outer = lock_for_update(&path).unwrap();
        let inner = lock_for_update(&path).unwrap();
        let id = FileId::of(&fs::metadata(&path).unwrap());
        assert!(holds(id));
        // Another thread cannot take it while this one holds it.
        let p = path.clone();
        let other = std::thread::spawn(move || {
            let f = File::open(&p).unwrap();
            flock_exclusive(&f, false).is_err()
        });
        assert!(other.join().unwrap(), "a second lock was granted");
        drop(inner);
        assert!(holds(id));
        drop(outer);
        assert!(!holds(id));
        let p = path.clone();
        let other = std::thread::spawn(move || {
            let f = File::open(&p).unwrap();
            flock_exclusive(&f, false).unwrap()
        });
        assert!(other.join().unwrap(), "the lock was not released");
    }
}
