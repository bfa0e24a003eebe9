//! Atomic replacement of a file: write a temporary file in the same folder, fsync it, rename it over the target.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::Result;

/// Write `bytes` to `path` atomically. On any error the previous content of `path` is untouched and the temporary
/// file is removed. The new file keeps the permissions of the file it replaces.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".stemma-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| in_folder(e, "cannot create a file in the folder", dir))?;
    tmp.write_all(bytes)?;
    if let Ok(meta) = fs::metadata(path) {
        fs::set_permissions(tmp.path(), meta.permissions())?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable.
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// An error creating the temporary file, named by the folder (the caller names the target file), not by the
/// temporary file's random name that tempfile puts in its message.
fn in_folder(err: std::io::Error, what: &str, dir: &Path) -> std::io::Error {
    // tempfile's message is "<OS error> at path <temporary file>": keep the OS error.
    let text = err.to_string();
    let cause = text.split(" at path ").next().unwrap_or_default();
    std::io::Error::new(err.kind(), format!("{what} {}: {cause}", dir.display()))
}
