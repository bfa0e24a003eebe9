//! Bulk load: the first scan into an empty catalog writes every row without the secondary indexes and the
//! full-text index, and builds them once at the end (sorting once is far cheaper than keeping eighteen B-trees
//! and an inverted index in step row by row).
//!
//! The full-text index's row triggers are paused with the indexes (see [`crate::search`]).
//!
//! A `bulk_load` marker in `catalog_meta` is set in the transaction that drops the indexes and cleared in the one
//! that builds them again, so a load that was killed is finished by the next scan ([`recover`]): the catalog is
//! never left without its indexes for longer than until the next scan.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::{Error, Result};
use crate::schema::{drop_indexes, ensure_indexes, missing_indexes};

const MARKER: &str = "bulk_load";

/// Held by the one scan that may load in bulk or finish a load another left undone: an exclusive advisory lock
/// on `<catalog>-bulk.lock`, released by the system when the process ends (also when it is killed). A second scan
/// that finds it held knows a load is running, and neither starts one nor "finishes" the running one (which
/// would build the indexes under it); it writes row by row, and the loader's final rebuild covers its rows.
pub struct LoadLock {
    _file: File,
}

/// Try to take the load lock of the catalog at `db`; None when another scan holds it. An error names the lock
/// file (not the catalog): that is the file whose folder or type the user has to fix.
pub fn try_lock(db: &Path) -> Result<Option<LoadLock>> {
    let mut name = db.as_os_str().to_os_string();
    name.push("-bulk.lock");
    let path = PathBuf::from(name);
    let failed = |what: &str, e: std::io::Error| Error::File {
        path: path.clone(),
        reason: format!("cannot {what} the catalog's load lock: {e}"),
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| failed("open", e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(LoadLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(failed("take", e)),
    }
}

/// Start a bulk load: drop the secondary indexes and set the marker (one transaction).
pub fn begin(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    drop_indexes(&tx)?;
    crate::search::suspend_row_triggers(&tx)?;
    tx.execute(
        "INSERT INTO catalog_meta (key, value) VALUES (?1, '1') \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [MARKER],
    )?;
    tx.commit()?;
    Ok(())
}

/// Finish a bulk load (or one a killed scan left): build the missing indexes and the full-text index, clear the
/// marker (one transaction). Returns true when there was anything to do.
pub fn finish(conn: &mut Connection) -> Result<bool> {
    crate::catalog::index_build_settings(conn, true)?;
    let built = build(conn);
    crate::catalog::index_build_settings(conn, false)?;
    built
}

fn build(conn: &mut Connection) -> Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let pending = load_pending(&tx)?;
    let created = ensure_indexes(&tx)?;
    if pending {
        crate::search::resume_row_triggers(&tx)?;
        crate::search::rebuild(&tx)?;
        tx.execute("DELETE FROM catalog_meta WHERE key = ?1", [MARKER])?;
    }
    tx.commit()?;
    Ok(pending || created > 0)
}

/// Finish what a killed bulk load left undone; cheap when nothing is (a read of `sqlite_master`).
pub fn recover(conn: &mut Connection) -> Result<bool> {
    if !load_pending(conn)? && missing_indexes(conn)?.is_empty() {
        return Ok(false);
    }
    finish(conn)
}

/// True while the marker of a bulk load is set.
fn load_pending(conn: &Connection) -> Result<bool> {
    let marker: Option<String> = conn
        .query_row(
            "SELECT value FROM catalog_meta WHERE key = ?1",
            [MARKER],
            |r| r.get(0),
        )
        .optional()?;
    Ok(marker.is_some())
}
