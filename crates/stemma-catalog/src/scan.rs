//! `scan`: walk a folder, read new and changed files in parallel, write them from one thread in batched
//! transactions, and mark files that disappeared as missing.
//!
//! Identity is the content id. The ids stored in a file's stemma record are trusted at scan time (reading them
//! costs nothing; recomputing a pixel id would decode every image): `ids_stored` marks such images, and
//! `stemma verify` is the tool that checks a stored id against the pixels. A file without stored ids is known by
//! its data id, computed from its encoded image data (hashing, no decoding). A pixel id is never computed here.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use rusqlite::{Connection, TransactionBehavior};
use stemma_container::{ops, HANDLERS};
use stemma_model::ContentId;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::extract::{day_of, image_row, Ids, ImageRow};
use crate::resolver::{resolve, ResolveOptions};
use crate::store::{file_error, mark_missing, upsert_file, upsert_image, Stat};

/// Files written per transaction at most; a batch is also closed after [`BATCH_TIME`].
const BATCH_FILES: usize = 4000;
const BATCH_TIME: Duration = Duration::from_millis(300);

/// Progress of a scan, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// This many files need reading.
    Planned(u64),
    /// This many of them are in the catalog.
    Done(u64),
}

/// Options of a scan.
#[derive(Default)]
pub struct ScanOptions<'a> {
    pub resolve: ResolveOptions,
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
}

/// What a scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Image files found under the scanned path.
    pub files: u64,
    /// Skipped: same size, modification time and inode as at the last scan.
    pub unchanged: u64,
    /// Read (new or changed).
    pub read: u64,
    /// Images the catalog did not know before.
    pub new_images: u64,
    /// Paths gone whose image is present elsewhere.
    pub moved: u64,
    /// Paths gone whose image is nowhere else: marked missing.
    pub missing: u64,
    /// Lineage edges linked to their parent by decoding the files their hint names.
    pub linked: u64,
    /// Files that could not be read, with why (catalog key, reason).
    pub errors: Vec<(String, String)>,
}

struct Known {
    stat: Stat,
    status: String,
    error: Option<String>,
}

struct Todo {
    key: String,
    abs: PathBuf,
    stat: Stat,
}

struct Parsed {
    key: String,
    stat: Stat,
    row: std::result::Result<ImageRow, String>,
}

/// File extensions stemma can read, lower case.
fn image_extensions() -> HashSet<&'static str> {
    HANDLERS
        .iter()
        .flat_map(|h| h.format().extensions().iter().copied())
        .collect()
}

fn is_image(path: &Path, exts: &HashSet<&'static str>) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.contains(e.to_ascii_lowercase().as_str()))
}

fn stat_of(meta: &std::fs::Metadata) -> Stat {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        meta.ino() as i64
    };
    #[cfg(not(unix))]
    let inode = 0;
    Stat {
        size: i64::try_from(meta.len()).unwrap_or(i64::MAX),
        mtime_ns,
        inode,
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Stored rows under a key prefix (`""` = the whole catalog).
fn known_under(conn: &Connection, prefix: &str) -> Result<HashMap<String, Known>> {
    let mut out = HashMap::new();
    let sql = "SELECT path, size, mtime_ns, inode, status, error FROM files \
               WHERE ?1 = '' OR path = ?1 OR (path >= ?1 || '/' AND path < ?1 || '0')";
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([prefix])?;
    while let Some(r) = rows.next()? {
        out.insert(
            r.get(0)?,
            Known {
                stat: Stat {
                    size: r.get(1)?,
                    mtime_ns: r.get(2)?,
                    inode: r.get(3)?,
                },
                status: r.get(4)?,
                error: r.get(5)?,
            },
        );
    }
    Ok(out)
}

/// Scan `path` (a folder or one file) into the catalog.
pub fn scan(cat: &mut Catalog, path: &Path, opts: &ScanOptions) -> Result<ScanSummary> {
    let abs = crate::catalog::absolute(path)?;
    let prefix = cat.key_of(&abs)?;
    let known = known_under(&cat.conn, &prefix)?;
    let exts = image_extensions();
    let mut summary = ScanSummary::default();
    let mut seen = HashSet::new();
    let mut todo = Vec::new();
    let walker = walkdir::WalkDir::new(&abs)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.file_name() != crate::catalog::CATALOG_DIR);
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let where_ = e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                summary.errors.push((where_, e.to_string()));
                continue;
            }
        };
        if !entry.file_type().is_file() || !is_image(entry.path(), &exts) {
            continue;
        }
        let key = cat.key_of(entry.path())?;
        let stat = match entry.metadata() {
            Ok(m) => stat_of(&m),
            Err(e) => {
                summary.errors.push((key, e.to_string()));
                continue;
            }
        };
        summary.files += 1;
        match known.get(&key) {
            Some(k) if k.stat == stat && k.status != "missing" => {
                summary.unchanged += 1;
                if k.status == "error" {
                    summary
                        .errors
                        .push((key.clone(), k.error.clone().unwrap_or_default()));
                }
            }
            _ => todo.push(Todo {
                key: key.clone(),
                abs: entry.path().to_path_buf(),
                stat,
            }),
        }
        seen.insert(key);
    }
    if let Some(p) = opts.progress {
        p(Progress::Planned(todo.len() as u64));
    }
    summary.read = todo.len() as u64;
    let before: i64 = cat
        .conn
        .query_row("SELECT COUNT(*) FROM images", [], |r| r.get(0))?;
    let conn = &mut cat.conn;
    let errors = std::thread::scope(|scope| -> Result<Vec<(String, String)>> {
        let (tx, rx) = sync_channel::<Parsed>(BATCH_FILES);
        let writer = scope.spawn(move || write_all(conn, rx, opts.progress));
        todo.par_iter().for_each_with(tx, |tx, item| {
            let parsed = Parsed {
                key: item.key.clone(),
                stat: item.stat,
                row: read_one(&item.abs, item.stat, &opts.resolve),
            };
            // A send fails only when the writer stopped on an error, which it reports below.
            let _ = tx.send(parsed);
        });
        writer.join().unwrap_or_else(|_| {
            Err(Error::NotInCatalog(
                "the catalog writer thread stopped".into(),
            ))
        })
    })?;
    summary.errors.extend(errors);
    let after: i64 = cat
        .conn
        .query_row("SELECT COUNT(*) FROM images", [], |r| r.get(0))?;
    summary.new_images = u64::try_from(after - before).unwrap_or(0);
    let gone: Vec<&String> = known
        .iter()
        .filter(|(k, v)| v.status != "missing" && !seen.contains(*k))
        .map(|(k, _)| k)
        .collect();
    if !gone.is_empty() {
        let tx = cat
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for key in gone {
            if mark_missing(&tx, key)? {
                summary.moved += 1;
            } else {
                summary.missing += 1;
            }
        }
        tx.commit()?;
    }
    let forks = crate::fork_link::link_forks(cat, &opts.resolve.limits)?;
    summary.linked = crate::link::link_parents(cat, &opts.resolve.limits)? + forks;
    summary.errors.sort();
    Ok(summary)
}

/// The single writer: batches parsed files into immediate transactions.
fn write_all(
    conn: &mut Connection,
    rx: Receiver<Parsed>,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
) -> Result<Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut done = 0u64;
    let now = now_secs();
    while let Ok(first) = rx.recv() {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let started = Instant::now();
        let mut next = Some(first);
        let mut in_batch = 0;
        while let Some(parsed) = next.take() {
            match &parsed.row {
                Ok(row) => {
                    let image = upsert_image(&tx, row)?;
                    upsert_file(&tx, &parsed.key, parsed.stat, image, now)?;
                }
                Err(reason) => {
                    file_error(&tx, &parsed.key, parsed.stat, reason, now)?;
                    errors.push((parsed.key.clone(), reason.clone()));
                }
            }
            in_batch += 1;
            if in_batch >= BATCH_FILES {
                break;
            }
            let left = BATCH_TIME.saturating_sub(started.elapsed());
            match rx.recv_timeout(left) {
                Ok(p) => next = Some(p),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
        }
        tx.commit()?;
        done += in_batch as u64;
        if let Some(p) = progress {
            p(Progress::Done(done));
        }
    }
    Ok(errors)
}

/// Read one file: its record through the resolver, and its ids.
fn read_one(
    abs: &Path,
    stat: Stat,
    opts: &ResolveOptions,
) -> std::result::Result<ImageRow, String> {
    let reason = |e: Error| match e {
        Error::File { reason, .. } => reason,
        other => other.to_string(),
    };
    let resolved = resolve(abs, opts).map_err(reason)?;
    let stored = resolved.record.as_ref().and_then(|r| r.content.as_ref());
    let valid = |id: &Option<String>| id.clone().filter(|s| s.parse::<ContentId>().is_ok());
    let ids = match stored.map(|c| (valid(&c.pixels), valid(&c.data))) {
        Some((pixel, data)) if pixel.is_some() || data.is_some() => Ids {
            pixel,
            data,
            stored: true,
        },
        _ => {
            let bytes = ops::read_for_edit(abs, &opts.limits).map_err(|e| e.to_string())?;
            let source: &dyn stemma_container::source::Source = &bytes.as_slice();
            let handler = ops::handler_of(source).map_err(|e| e.to_string())?;
            let data = handler
                .data_id(&bytes, &opts.limits)
                .map_err(|e| e.to_string())?;
            Ids {
                pixel: None,
                data: Some(data.to_string()),
                stored: false,
            }
        }
    };
    let day = Some(day_of(stat.mtime_ns.div_euclid(1_000_000_000)));
    Ok(image_row(&resolved, ids, day))
}
