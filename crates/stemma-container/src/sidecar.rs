//! Sidecars: the record as `<file name>.stemma.json` next to any file (`photo.jpg` → `photo.jpg.stemma.json`).
//! The sidecar holds the record JSON exactly as written; writes are atomic.

use std::io;
use std::path::{Path, PathBuf};

use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use crate::limits::Limits;

/// The suffix added to the image's file name.
pub const SIDECAR_SUFFIX: &str = ".stemma.json";

/// The sidecar path of a file.
pub fn sidecar_path(file: &Path) -> PathBuf {
    let mut name = file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(SIDECAR_SUFFIX);
    file.with_file_name(name)
}

/// Read the sidecar of `file`: `None` when there is none. The text must be a JSON object no larger than
/// `max_record`.
pub fn read_sidecar(file: &Path, limits: &Limits) -> Result<Option<String>> {
    let path = sidecar_path(file);
    let len = match std::fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if len > limits.max_record {
        return Err(Error::Limit {
            limit: "max_record",
            max: limits.max_record,
            found: len,
            context: format!("sidecar {}", path.display()),
        });
    }
    let bytes = std::fs::read(&path)?;
    let text = String::from_utf8(bytes).map_err(|_| Error::Malformed {
        format: "sidecar",
        reason: format!("{} is not UTF-8", path.display()),
        offset: 0,
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Malformed {
        format: "sidecar",
        reason: format!("{}: {e}", path.display()),
        offset: 0,
    })?;
    if !value.is_object() {
        return Err(Error::Malformed {
            format: "sidecar",
            reason: format!("{} does not hold a JSON object", path.display()),
            offset: 0,
        });
    }
    Ok(Some(text))
}

/// Write (or replace) the sidecar of `file` atomically; returns its path.
pub fn write_sidecar(file: &Path, json: &str) -> Result<PathBuf> {
    let path = sidecar_path(file);
    write_atomic(&path, json.as_bytes())?;
    Ok(path)
}

/// Remove the sidecar of `file`; returns whether there was one.
pub fn remove_sidecar(file: &Path) -> Result<bool> {
    match std::fs::remove_file(sidecar_path(file)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_remove() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("a.png");
        assert_eq!(sidecar_path(&img), dir.path().join("a.png.stemma.json"));
        assert_eq!(read_sidecar(&img, &Limits::DEFAULT).unwrap(), None);
        write_sidecar(&img, "{\"stemma\":\"1.0\"}").unwrap();
        assert_eq!(
            read_sidecar(&img, &Limits::DEFAULT).unwrap().as_deref(),
            Some("{\"stemma\":\"1.0\"}")
        );
        assert!(remove_sidecar(&img).unwrap());
        assert!(!remove_sidecar(&img).unwrap());
        std::fs::write(sidecar_path(&img), "[1]").unwrap();
        assert!(read_sidecar(&img, &Limits::DEFAULT).is_err());
    }
}
