//! `scan`: walk a folder and read new and changed files in parallel (the walk overlapping the reads), write them
//! from one thread in batched transactions, and mark files that disappeared as missing.
//!
//! Identity is the content id. The ids stored in a file's stemma record are trusted at scan time (reading them
//! costs nothing; recomputing a pixel id would decode every image): `ids_stored` marks such images, and
//! `stemma verify` is the tool that checks a stored id against the pixels. Every file's data id is computed from
//! its encoded image data (hashing, no decoding): a file without stored ids is known by it, and stored ids are
//! trusted only when the stored data id is the file's. A pixel id is never computed here.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rayon::iter::{ParallelBridge, ParallelIterator};
use rusqlite::{Connection, TransactionBehavior};
use stemma_container::{ops, Limits, HANDLERS};
use stemma_import::FolderContext;
use stemma_model::ContentId;

use crate::catalog::{path_key, BackgroundCheckpoint, Catalog};
use crate::error::{Error, Result};
use crate::extract::{day_of, image_row, Ids, ImageRow};
use crate::resolver::{resolve_bytes_in, ResolveOptions};
use crate::store::{file_error, mark_missing, upsert_file, RowWriter, Stat};

/// Files written per transaction at most; a batch is also closed after [`BATCH_TIME`]. Each commit writes every
/// page its rows touched, and new content ids land all over their unique index, so fewer, larger batches write
/// far less; a scan killed mid-batch reads those files again next time.
const BATCH_FILES: usize = 16_000;
const BATCH_TIME: Duration = Duration::from_millis(1000);
/// Files read and waiting for the writer at most (the readers wait when it is behind).
const CHANNEL_FILES: usize = 4000;

/// Progress of a scan, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// This many files need reading so far (it grows while the walk goes on).
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

struct Parsed {
    key: String,
    stat: Stat,
    row: std::result::Result<ImageRow, String>,
}

/// File extensions stemma can read, lower case.
fn image_extensions() -> Vec<&'static str> {
    let mut exts: Vec<&'static str> = HANDLERS
        .iter()
        .flat_map(|h| h.format().extensions().iter().copied())
        .collect();
    exts.sort_unstable();
    exts.dedup();
    exts
}

fn is_image(path: &Path, exts: &[&'static str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
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

/// What the walk found, summed over the threads that walked.
#[derive(Default)]
struct Walked {
    files: u64,
    unchanged: u64,
    read: u64,
    /// Keys of every image file found.
    seen: Vec<String>,
    errors: Vec<(String, String)>,
}

impl Walked {
    fn merge(mut self, other: Walked) -> Walked {
        self.files += other.files;
        self.unchanged += other.unchanged;
        self.read += other.read;
        self.seen.extend(other.seen);
        self.errors.extend(other.errors);
        self
    }
}

/// The catalog key of a file found under the library root: its path relative to the root, `/`-separated (as
/// [`Catalog::key_of`], without normalising a path the walk already made clean).
fn key_for(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) => relative_key(rel),
        Err(_) => path_key(path),
    }
}

#[cfg(unix)]
fn relative_key(rel: &Path) -> String {
    rel.to_str().map_or_else(|| path_key(rel), str::to_owned)
}

#[cfg(not(unix))]
fn relative_key(rel: &Path) -> String {
    path_key(rel)
}

/// Folder listings shared by the files of each folder, made when the first file of the folder is read.
#[derive(Default)]
struct Folders(Mutex<HashMap<PathBuf, Arc<FolderContext>>>);

impl Folders {
    fn of(&self, file: &Path) -> Arc<FolderContext> {
        let dir = FolderContext::folder_of(file);
        if let Ok(map) = self.0.lock() {
            if let Some(f) = map.get(&dir) {
                return f.clone();
            }
        }
        // Listed outside the lock; a folder that cannot be listed is asked name by name.
        let folder =
            Arc::new(FolderContext::scan(&dir).unwrap_or_else(|_| FolderContext::lazy(&dir)));
        match self.0.lock() {
            Ok(mut map) => map.entry(dir).or_insert(folder).clone(),
            Err(_) => folder,
        }
    }
}

/// Scan `path` (a folder or one file) into the catalog.
///
/// The walk, the reading and the writing overlap: walker threads take the next directory entry, compare its
/// size, modification time and inode with the catalog, and read the files that changed (each file through the
/// resolver, and once more whole for its data id); one writer thread stores what they read in batched
/// transactions.
pub fn scan(cat: &mut Catalog, path: &Path, opts: &ScanOptions) -> Result<ScanSummary> {
    let abs = crate::catalog::absolute(path)?;
    let prefix = cat.key_of(&abs)?;
    // A scan killed during a bulk load left the indexes to build: build them before anything reads, unless a load
    // is running in another scan right now (it holds the lock and builds them when it ends).
    let load_lock = crate::bulk::try_lock(&cat.path)?;
    if load_lock.is_some() {
        crate::bulk::recover(&mut cat.conn)?;
    }
    crate::catalog::writer_settings(&cat.conn)?;
    let known = known_under(&cat.conn, &prefix)?;
    let exts = image_extensions();
    let root = cat.root.clone();
    let before: i64 = cat
        .conn
        .query_row("SELECT COUNT(*) FROM images", [], |r| r.get(0))?;
    // Only the scan holding the load lock loads in bulk, and only into an empty catalog.
    let bulk = before == 0 && load_lock.is_some();
    if bulk {
        crate::bulk::begin(&mut cat.conn)?;
    }
    let rows = if bulk {
        RowWriter::bulk()
    } else {
        RowWriter::indexed()
    };
    let planned = AtomicU64::new(0);
    let folders = Folders::default();
    // The background checkpoint only spares the writer time: when its connection cannot be opened, the writer,
    // whose automatic checkpoints are then left on, does them itself and the scan goes on (failing here would
    // also leave a bulk load's indexes dropped until the next scan).
    let checkpoint = BackgroundCheckpoint::start(&cat.path, &cat.conn).ok();
    let conn = &mut cat.conn;
    let (walked, written) = std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<Parsed>(CHANNEL_FILES);
        let planned = &planned;
        let (stop_checkpoints, checkpoints_stopped) = std::sync::mpsc::channel::<()>();
        if let Some(checkpoint) = checkpoint {
            scope.spawn(move || checkpoint.run(checkpoints_stopped));
        }
        let writer = scope.spawn(move || {
            let written = write_all(conn, rows, rx, opts.progress, planned);
            drop(stop_checkpoints);
            written
        });
        let walker = walkdir::WalkDir::new(&abs)
            .follow_links(false)
            .into_iter()
            .filter_entry(|e| e.file_name() != crate::catalog::CATALOG_DIR);
        let walked = walker
            .par_bridge()
            .map_with(tx, |tx, entry| {
                let mut w = Walked::default();
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        let at = e
                            .path()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default();
                        w.errors.push((at, e.to_string()));
                        return w;
                    }
                };
                if !entry.file_type().is_file() || !is_image(entry.path(), &exts) {
                    return w;
                }
                let key = key_for(&root, entry.path());
                let stat = match entry.metadata() {
                    Ok(m) => stat_of(&m),
                    Err(e) => {
                        w.errors.push((key, e.to_string()));
                        return w;
                    }
                };
                w.files = 1;
                match known.get(&key) {
                    Some(k) if k.stat == stat && k.status != "missing" => {
                        w.unchanged = 1;
                        if k.status == "error" {
                            w.errors
                                .push((key.clone(), k.error.clone().unwrap_or_default()));
                        }
                    }
                    _ => {
                        w.read = 1;
                        planned.fetch_add(1, Ordering::Relaxed);
                        let folder = folders.of(entry.path());
                        let row = read_one(entry.path(), stat, &folder, &opts.resolve);
                        // A send fails only when the writer stopped on an error, which it reports below.
                        let _ = tx.send(Parsed {
                            key: key.clone(),
                            stat,
                            row,
                        });
                    }
                }
                w.seen.push(key);
                w
            })
            .reduce(Walked::default, Walked::merge);
        let written = writer.join().unwrap_or_else(|_| {
            Err(Error::NotInCatalog(
                "the catalog writer thread stopped".into(),
            ))
        });
        (walked, written)
    });
    // Its error waits until a bulk load's indexes are back (below): they must not stay dropped because of it.
    let restored = BackgroundCheckpoint::restore(&cat.conn);
    let mut summary = ScanSummary {
        files: walked.files,
        unchanged: walked.unchanged,
        read: walked.read,
        errors: walked.errors,
        ..ScanSummary::default()
    };
    if bulk {
        // Also when the writer failed: the indexes come back before the error is reported.
        crate::bulk::finish(&mut cat.conn)?;
    }
    drop(load_lock);
    restored?;
    summary.errors.extend(written?);
    let after: i64 = cat
        .conn
        .query_row("SELECT COUNT(*) FROM images", [], |r| r.get(0))?;
    summary.new_images = u64::try_from(after - before).unwrap_or(0);
    let seen: HashSet<&str> = walked.seen.iter().map(String::as_str).collect();
    let gone: Vec<&String> = known
        .iter()
        .filter(|(k, v)| v.status != "missing" && !seen.contains(k.as_str()))
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
    if summary.read > 0 || summary.moved > 0 || summary.missing > 0 {
        crate::catalog::optimize(&cat.conn)?;
    }
    summary.errors.sort();
    Ok(summary)
}

/// The single writer: batches parsed files into immediate transactions.
fn write_all(
    conn: &mut Connection,
    mut rows: RowWriter,
    rx: Receiver<Parsed>,
    progress: Option<&(dyn Fn(Progress) + Sync)>,
    planned: &AtomicU64,
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
                    let image = rows.upsert_image(&tx, row)?;
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
            p(Progress::Planned(planned.load(Ordering::Relaxed)));
            p(Progress::Done(done));
        }
    }
    Ok(errors)
}

/// Read one file: its record through the resolver, and its ids, from one read of the whole file (so that the
/// record and the ids describe the same bytes even when the file changes while it is scanned).
///
/// The data id is a hash of the encoded image data, metadata left out. Ids stored in a stemma record are used when
/// the stored data id is the file's (or only a pixel id is stored): recomputing a pixel id would decode the image,
/// and `stemma verify` is the tool that checks one. A record whose stored data id is not the file's (image data
/// changed by another tool) is not trusted for ids.
fn read_one(
    abs: &Path,
    stat: Stat,
    folder: &FolderContext,
    opts: &ResolveOptions,
) -> std::result::Result<ImageRow, String> {
    let reason = |e: Error| match e {
        Error::File { reason, .. } => reason,
        other => other.to_string(),
    };
    let bytes = read_whole(abs, stat, &opts.limits)?;
    let resolved = resolve_bytes_in(abs, &bytes, folder, opts).map_err(reason)?;
    let data = data_id(&bytes, &opts.limits)?;
    let stored = resolved.record.as_ref().and_then(|r| r.content.as_ref());
    let valid = |id: &Option<String>| id.clone().filter(|s| s.parse::<ContentId>().is_ok());
    let ids = match stored.map(|c| (valid(&c.pixels), valid(&c.data))) {
        Some((pixel, Some(stored_data))) if stored_data == data => Ids {
            pixel,
            data: Some(data),
            stored: true,
        },
        Some((Some(pixel), None)) => Ids {
            pixel: Some(pixel),
            data: Some(data),
            stored: true,
        },
        _ => Ids {
            pixel: None,
            data: Some(data),
            stored: false,
        },
    };
    let day = Some(day_of(stat.mtime_ns.div_euclid(1_000_000_000)));
    Ok(image_row(resolved, ids, day))
}

/// The whole file, within `max_edit_file`.
fn read_whole(abs: &Path, stat: Stat, limits: &Limits) -> std::result::Result<Vec<u8>, String> {
    let size = u64::try_from(stat.size).unwrap_or(0);
    if size > limits.max_edit_file {
        return Err(format!(
            "{size} bytes: larger than max_edit_file ({}), its data id is not computed",
            limits.max_edit_file
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    std::fs::File::open(abs)
        .and_then(|f| {
            f.take(limits.max_edit_file.saturating_add(1))
                .read_to_end(&mut bytes)
        })
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limits.max_edit_file {
        return Err(format!(
            "larger than max_edit_file ({}), its data id is not computed",
            limits.max_edit_file
        ));
    }
    Ok(bytes)
}

/// The data id of a file's bytes.
fn data_id(bytes: &[u8], limits: &Limits) -> std::result::Result<String, String> {
    let source: &dyn stemma_container::source::Source = &bytes;
    let handler = ops::handler_of(source).map_err(|e| e.to_string())?;
    let id = handler.data_id(bytes, limits).map_err(|e| e.to_string())?;
    Ok(id.to_string())
}
