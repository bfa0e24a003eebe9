//! Opening a catalog: where it lives (`.stemma/catalog.db` in the library root, found like git finds `.git`),
//! the connection settings, and how file paths are stored (relative to the root, `/`-separated).

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::schema;

/// The folder that marks a library root.
pub const CATALOG_DIR: &str = ".stemma";
/// The catalog file inside [`CATALOG_DIR`].
pub const CATALOG_FILE: &str = "catalog.db";

/// How long a writer waits for another process's write to finish before giving up. A scan writes in short
/// batches, so a second scan waits its turn instead of failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

/// The page cache of a connection that writes many rows ([`writer_settings`]), in KiB as SQLite takes it
/// (negative).
const WRITER_CACHE_KIB: i64 = -65_536;

/// An open catalog.
pub struct Catalog {
    pub conn: Connection,
    /// The catalog file.
    pub path: PathBuf,
    /// The library root: paths in the catalog are relative to it.
    pub root: PathBuf,
}

/// Walk up from `start` to the first folder holding `.stemma/catalog.db`.
pub fn locate(start: &Path) -> Result<PathBuf> {
    let start = absolute(start)?;
    let mut dir = Some(start.as_path());
    while let Some(d) = dir {
        let candidate = d.join(CATALOG_DIR).join(CATALOG_FILE);
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent();
    }
    Err(Error::NotFound(start))
}

/// An absolute, normalised form of a path (without resolving symbolic links, like `git` paths).
pub fn absolute(path: &Path) -> Result<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::io(path, e))?
            .join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    Ok(out)
}

impl Catalog {
    /// Create (or open) the catalog of the library at `root`.
    pub fn init(root: &Path) -> Result<Catalog> {
        let root = absolute(root)?;
        let dir = root.join(CATALOG_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Catalog::open(&dir.join(CATALOG_FILE))
    }

    /// Open the catalog found from `start` upwards.
    pub fn find(start: &Path) -> Result<Catalog> {
        Catalog::open(&locate(start)?)
    }

    /// Open a catalog file (created when missing), bringing its schema up to date.
    pub fn open(path: &Path) -> Result<Catalog> {
        let path = absolute(path)?;
        let sql = |source| Error::Sqlite {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        // WAL: readers never block the writer; NORMAL sync is durable against process crashes (a killed scan
        // loses at most its open batch, never the database) and is what WAL is designed for.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(sql)?;
        let found = schema::version(&conn).map_err(|e| with_path(e, &path))?;
        if found > schema::latest_version() {
            return Err(Error::TooNew {
                path,
                found,
                known: schema::latest_version(),
            });
        }
        schema::migrate(&mut conn).map_err(|e| with_path(e, &path))?;
        // The library root is the folder holding `.stemma`; a catalog elsewhere (`--catalog`) roots at its folder.
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let root = if parent.file_name().is_some_and(|n| n == CATALOG_DIR) {
            parent.parent().map(Path::to_path_buf).unwrap_or(parent)
        } else {
            parent
        };
        Ok(Catalog { conn, path, root })
    }

    /// The key a file is stored under: relative to the root with `/` separators when inside it, else absolute.
    pub fn key_of(&self, path: &Path) -> Result<String> {
        let abs = absolute(path)?;
        let rel = abs.strip_prefix(&self.root).unwrap_or(&abs);
        Ok(path_key(rel))
    }

    /// The path on disk of a stored key.
    pub fn path_of(&self, key: &str) -> PathBuf {
        let p = Path::new(key);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }
}

/// The page cache while a bulk load builds its indexes: every `CREATE INDEX` reads the whole table, so a cache
/// that holds it reads it from the file once instead of once per index.
const BUILD_CACHE_KIB: i64 = -524_288;

/// Settings for building indexes after a bulk load (`on`), or back to a writer's ([`writer_settings`]). SQLite only
/// (a PostgreSQL catalog has its own `maintenance_work_mem`).
pub fn index_build_settings(conn: &Connection, on: bool) -> Result<()> {
    // Helper threads for the sorter each CREATE INDEX runs.
    conn.pragma_update(None, "threads", if on { 2 } else { 0 })?;
    if on {
        conn.pragma_update(None, "cache_size", BUILD_CACHE_KIB)?;
        Ok(())
    } else {
        writer_settings(conn)
    }
}

/// Settings for a connection that writes many rows (a scan): a page cache large enough for the indexes it updates
/// at random (seeds, ids). Other commands keep SQLite's small default: they read few pages once each, and a large
/// cache would only make a new process allocate (and fault in) fresh memory for every page it reads.
pub fn writer_settings(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
    Ok(())
}

/// How often the background checkpoint of a scan copies the write-ahead log into the catalog.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// While a scan writes: copies the write-ahead log into the catalog file from a connection and thread of its own
/// (SQLite: a passive checkpoint runs beside a writer), so the single writer, the slowest part of a scan, never
/// stops to do it. The writer's automatic checkpoints are off until [`BackgroundCheckpoint::restore`]. SQLite only.
pub struct BackgroundCheckpoint {
    conn: Connection,
}

impl BackgroundCheckpoint {
    /// A second connection to the catalog at `path`; turns off the automatic checkpoints of `writer`, last, so that
    /// when the connection cannot be had the writer keeps its own checkpoints.
    pub fn start(path: &Path, writer: &Connection) -> Result<BackgroundCheckpoint> {
        let sql = |source| Error::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(sql)?;
        Ok(BackgroundCheckpoint { conn })
    }

    /// Checkpoint every [`CHECKPOINT_EVERY`] until `stop` is disconnected (the writer ended). A checkpoint that
    /// fails is left to the next one, and to the writer's own once [`Self::restore`] turns them back on: the log
    /// holds every committed row either way.
    pub fn run(self, stop: std::sync::mpsc::Receiver<()>) {
        use std::sync::mpsc::RecvTimeoutError;
        while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
            let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE);");
        }
    }

    /// Give the writer its automatic checkpoints back (SQLite's default, every 1,000 pages).
    pub fn restore(writer: &Connection) -> Result<()> {
        writer.pragma_update(None, "wal_autocheckpoint", 1000)?;
        Ok(())
    }
}

/// Refresh the statistics the query planner chooses indexes by, for every table where enough has changed
/// (SQLite's own rule), each in a bounded time.
pub fn optimize(conn: &Connection) -> Result<()> {
    conn.execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")?;
    Ok(())
}

fn with_path(e: Error, path: &Path) -> Error {
    match e {
        Error::Db(source) => Error::Sqlite {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    }
}

/// A path as a `/`-separated string.
pub fn path_key(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let joined = parts.join("/");
    // An absolute path's root component is `/` itself: avoid doubling it.
    if joined.starts_with("//") {
        joined[1..].to_string()
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn autocheckpoint(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_background_checkpoint_that_cannot_open_names_the_file_and_leaves_the_writer_alone() {
        let dir = tempfile::tempdir().unwrap();
        let cat = Catalog::init(dir.path()).unwrap();
        // SQLite cannot open a folder as a database, whoever runs the test (root ignores permissions, not this).
        let folder = dir.path().join("a-folder");
        std::fs::create_dir(&folder).unwrap();
        let err = match BackgroundCheckpoint::start(&folder, &cat.conn) {
            Ok(_) => panic!("a folder opened as a catalog"),
            Err(e) => e,
        };
        match &err {
            Error::Sqlite { path, .. } => assert_eq!(path, &folder, "{err}"),
            other => panic!("expected an error naming the file, got {other:?}"),
        }
        assert!(err.to_string().contains("a-folder"), "{err}");
        // Nothing was taken from the writer: its automatic checkpoints are still on.
        assert_eq!(autocheckpoint(&cat.conn), 1000);
        // The same writer hands them over to a checkpoint that does open, and gets them back.
        let checkpoint = BackgroundCheckpoint::start(&cat.path, &cat.conn).unwrap();
        assert_eq!(autocheckpoint(&cat.conn), 0);
        drop(checkpoint);
        BackgroundCheckpoint::restore(&cat.conn).unwrap();
        assert_eq!(autocheckpoint(&cat.conn), 1000);
    }
}
