//! Status of a run by content: every file of the run folder is opened, checked for damage (truncation, bad CRC),
//! its record read (which run, which settings, which frame), and, when the manifest recorded a content id for the
//! item, its content id compared. File names only say which files to look at and, for frames without a record,
//! which item they claim.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use stemma_container::Limits;
use stemma_import::{recognise_filename, Depth, ResolveOptions};
use stemma_model::Record;

use crate::error::{io, Result};
use crate::infer::{is_image, OpenRun};

/// What an item (or a file) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Present, intact, its content id equal to the one the manifest recorded.
    Verified,
    /// Present, intact and of this run, with no recorded content id to compare.
    Produced,
    /// Present but truncated or corrupt (bad CRC, broken structure).
    Damaged,
    /// Present, intact, but its content differs from the id the manifest recorded.
    Mismatched,
    /// A file of another run (its record names other settings or another run).
    Foreign,
    /// Not present, though later items are.
    Missing,
    /// Not made yet (no later item is present).
    Planned,
}

impl ItemStatus {
    /// True when the item needs no redo.
    pub fn is_good(self) -> bool {
        matches!(self, ItemStatus::Verified | ItemStatus::Produced)
    }

    pub fn name(self) -> &'static str {
        match self {
            ItemStatus::Verified => "verified",
            ItemStatus::Produced => "produced",
            ItemStatus::Damaged => "damaged",
            ItemStatus::Mismatched => "mismatched",
            ItemStatus::Foreign => "foreign",
            ItemStatus::Missing => "missing",
            ItemStatus::Planned => "planned",
        }
    }
}

/// One file of the folder, as judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileStatus {
    pub path: PathBuf,
    /// The item the file is for: by its record (content) when it has one, else by its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    pub status: ItemStatus,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Content id, when computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// One planned item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub index: u64,
    pub status: ItemStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The status of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStatus {
    pub run: String,
    pub folder: PathBuf,
    pub items: Vec<Item>,
    /// Files that claim no item of the plan or belong to another run, and damaged files, with why.
    pub files: Vec<FileStatus>,
    /// The first item to redo, by content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_to_redo: Option<u64>,
    /// The last good item before `first_to_redo` (the init frame of a resume).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_good: Option<u64>,
    pub counts: BTreeMap<&'static str, u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl RunStatus {
    pub fn item(&self, index: u64) -> Option<&Item> {
        self.items.iter().find(|i| i.index == index)
    }

    /// Files that are in the way of a generator that counts files (damaged, foreign, mismatched): a resume
    /// names them so that they can be moved aside.
    pub fn in_the_way(&self) -> Vec<&FileStatus> {
        self.files.iter().filter(|f| !f.status.is_good()).collect()
    }
}

/// Who a record says made the file: `Ok(Some(note))` ours (with a note when only the run's name agrees),
/// `Ok(None)` no claim, `Err(reason)` another run's.
fn ownership(
    record: &Record,
    run: &OpenRun,
) -> std::result::Result<Option<Option<String>>, String> {
    let ours_hash = &run.manifest.settings.hash;
    let key_of = |s: &str| s.split('@').next().unwrap_or(s).to_string();
    let claimed = record
        .run
        .as_ref()
        .map(|r| r.id.clone())
        .or_else(|| record.sequence.as_ref().map(|s| s.id.clone()));
    let same_run = claimed
        .as_deref()
        .is_some_and(|id| id == run.manifest.id || Some(key_of(id)) == run.key);
    let hash = record
        .run
        .as_ref()
        .and_then(|r| r.settings.clone())
        .or_else(|| record.settings.as_ref().and_then(|s| s.reference.clone()));
    if let Some(h) = hash {
        if &h == ours_hash {
            return Ok(Some(None));
        }
        // A resumed run rewrites its settings file (Deforum stores the resume flags in it): frames made before
        // carry the earlier hash under the same run name.
        if same_run {
            return Ok(Some(Some(format!(
                "its record names the settings {h}: this run's settings changed since (a resume?)"
            ))));
        }
        return Err(format!(
            "its record names the settings {h} of another run, not this run's {ours_hash}"
        ));
    }
    match claimed {
        Some(_) if same_run => Ok(Some(None)),
        Some(id) => Err(format!(
            "its record names the run {id}, not {}",
            run.manifest.id
        )),
        None => Ok(None),
    }
}

fn record_index(record: &Record) -> Option<u64> {
    record
        .sequence
        .as_ref()
        .and_then(|s| s.frame)
        .or_else(|| record.run.as_ref().and_then(|r| r.index))
}

/// Judge one file.
fn judge(path: &Path, run: &OpenRun, limits: &Limits, with_ids: bool) -> FileStatus {
    let name_match = recognise_filename(path);
    let by_name = name_match.as_ref().and_then(|m| {
        let key_matches = m.sequence_key.is_some() && m.sequence_key == run.key;
        key_matches.then_some(m.frame.or(m.counter)).flatten()
    });
    // A file the manifest recorded for an item is that item's, even cut short before its record or replaced.
    let by_manifest = || {
        run.manifest
            .produced
            .iter()
            .find(|p| {
                p.file
                    .as_deref()
                    .is_some_and(|f| run.folder.join(f) == path)
            })
            .map(|p| p.index)
    };
    let mut out = FileStatus {
        path: path.to_path_buf(),
        index: by_name.or_else(by_manifest),
        status: ItemStatus::Produced,
        reason: None,
        id: None,
    };
    let bytes = match stemma_container::ops::read_for_edit(path, limits) {
        Ok(b) => b,
        Err(e) => {
            out.status = ItemStatus::Damaged;
            out.reason = Some(format!("cannot be read: {e}"));
            return out;
        }
    };
    let source: &dyn stemma_container::source::Source = &bytes.as_slice();
    let damage = stemma_container::ops::handler_of(source).and_then(|h| h.damage(&bytes, limits));
    match damage {
        Ok(problems) if problems.is_empty() => {}
        Ok(problems) => return damaged(out, problems.join("; "), path, run, limits),
        Err(e) => return damaged(out, e.to_string(), path, run, limits),
    }
    if let Some(batch) = batch_of(run) {
        return judge_batch_item(path, out, &batch, run, limits, with_ids, &bytes);
    }
    let options = ResolveOptions {
        limits: *limits,
        depth: Depth::StemmaOnly,
    };
    let record = stemma_import::resolve(path, &options)
        .ok()
        .and_then(|r| r.record);
    if let Some(record) = &record {
        let claimed = match ownership(record, run) {
            Err(reason) => {
                out.status = ItemStatus::Foreign;
                out.reason = Some(reason);
                out.index = record_index(record).or(out.index);
                return out;
            }
            Ok(Some(note)) => {
                out.reason = note;
                true
            }
            Ok(None) => false,
        };
        if claimed {
            if let Some(i) = record_index(record) {
                if out.index.is_some_and(|n| n != i) {
                    let renamed = format!(
                        "named as item {} but its record says item {i}",
                        out.index.unwrap_or_default()
                    );
                    out.reason = Some(match out.reason.take() {
                        Some(note) => format!("{renamed}; {note}"),
                        None => renamed,
                    });
                }
                out.index = Some(i);
            }
        }
    }
    if out.index.is_none() {
        out.status = ItemStatus::Foreign;
        out.reason =
            Some("neither its name, its record nor the manifest places it in this run".into());
        return out;
    }
    let recorded = out.index.and_then(|i| run.manifest.produced_id(i));
    if recorded.is_some() || with_ids {
        match stemma_container::ops::lineage_id(&bytes, limits) {
            Ok(id) => out.id = Some(id.to_string()),
            Err(e) => {
                out.status = ItemStatus::Damaged;
                out.reason = Some(e.to_string());
                return out;
            }
        }
    }
    if let (Some(want), Some(got)) = (recorded, out.id.as_deref()) {
        if want == got {
            out.status = ItemStatus::Verified;
        } else {
            out.status = ItemStatus::Mismatched;
            out.reason = Some(format!(
                "its content is {got}, the manifest recorded {want} for item {}",
                out.index.unwrap_or_default()
            ));
        }
    }
    out
}

/// An A1111 batch: its fingerprint and base seed (items are known by their seed).
struct Batch {
    fingerprint: String,
    base: i128,
}

fn batch_of(run: &OpenRun) -> Option<Batch> {
    let plan = &run.manifest.plan;
    let fingerprint = plan.unknown.get("fingerprint")?.as_str()?.to_string();
    let base = plan.seeds.as_ref()?.get("base")?.as_str()?.parse().ok()?;
    Some(Batch { fingerprint, base })
}

/// A damaged file. A PNG cut short still shows its text chunks: an A1111 image says its seed, so its item.
fn damaged(
    mut out: FileStatus,
    reason: String,
    path: &Path,
    run: &OpenRun,
    limits: &Limits,
) -> FileStatus {
    out.status = ItemStatus::Damaged;
    out.reason = Some(reason);
    if let Some(batch) = batch_of(run) {
        out.index = batch_record(path, limits)
            // Cut before its text, only its name (`00002-102.png`) says the seed.
            .filter(|r| {
                r.prompt.is_none()
                    || crate::link::batch_fingerprint(r).as_deref()
                        == Some(batch.fingerprint.as_str())
            })
            .and_then(|r| batch_index(&r, &batch));
    }
    out
}

fn batch_record(path: &Path, limits: &Limits) -> Option<Record> {
    let options = ResolveOptions {
        limits: *limits,
        depth: Depth::Import,
    };
    stemma_import::resolve(path, &options)
        .ok()
        .and_then(|r| r.record)
}

fn batch_index(record: &Record, batch: &Batch) -> Option<u64> {
    let seed: i128 = record.params.as_ref()?.seed.as_deref()?.parse().ok()?;
    u64::try_from(seed - batch.base).ok()
}

/// An image of an A1111 batch by its own metadata: ours when its settings are the batch's but for the seed, and
/// item `seed − base`.
fn judge_batch_item(
    path: &Path,
    mut out: FileStatus,
    batch: &Batch,
    run: &OpenRun,
    limits: &Limits,
    with_ids: bool,
    bytes: &[u8],
) -> FileStatus {
    let Some(record) = batch_record(path, limits) else {
        out.status = ItemStatus::Foreign;
        out.reason = Some("no generation parameters: not an image of this batch".into());
        return out;
    };
    if crate::link::batch_fingerprint(&record).as_deref() != Some(batch.fingerprint.as_str()) {
        out.status = ItemStatus::Foreign;
        out.reason = Some("its prompt or settings differ from the batch's (another run)".into());
        return out;
    }
    out.index = batch_index(&record, batch);
    if out.index.is_none() {
        out.status = ItemStatus::Foreign;
        out.reason = Some("its seed lies before the batch's first seed".into());
        return out;
    }
    let recorded = out.index.and_then(|i| run.manifest.produced_id(i));
    if recorded.is_some() || with_ids {
        out.id = stemma_container::ops::lineage_id(bytes, limits)
            .ok()
            .map(|id| id.to_string());
    }
    if let (Some(want), Some(got)) = (recorded, out.id.as_deref()) {
        out.status = if want == got {
            ItemStatus::Verified
        } else {
            out.reason = Some(format!(
                "its content is {got}, the manifest recorded {want}"
            ));
            ItemStatus::Mismatched
        };
    }
    out
}

/// The status of a run. `with_ids` computes the content id of every present item (for recording them).
pub fn status(run: &OpenRun, limits: &Limits, with_ids: bool) -> Result<RunStatus> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&run.folder)
        .map_err(io(&run.folder))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| is_image(p))
        .collect();
    paths.sort();
    let plan = &run.manifest.plan;
    let range = plan.first..plan.first + plan.count;
    let mut files = Vec::new();
    let mut by_index: BTreeMap<u64, Vec<FileStatus>> = BTreeMap::new();
    let mut warnings = Vec::new();
    for p in &paths {
        let f = judge(p, run, limits, with_ids);
        match f.index {
            Some(i) if range.contains(&i) => by_index.entry(i).or_default().push(f),
            Some(i) if f.status.is_good() => {
                warnings.push(format!(
                    "{}: item {i} lies outside the plan ({} items from {})",
                    p.display(),
                    plan.count,
                    plan.first
                ));
                files.push(f);
            }
            _ => files.push(f),
        }
    }
    let last_present = by_index
        .iter()
        .filter(|(_, fs)| fs.iter().any(|f| f.status.is_good()))
        .map(|(i, _)| *i)
        .max();
    let mut items = Vec::new();
    for index in range {
        let candidates = by_index.remove(&index).unwrap_or_default();
        // The best file for the item; the others are listed as files (duplicates, damaged copies).
        let best = candidates
            .iter()
            .enumerate()
            .min_by_key(|(_, f)| f.status)
            .map(|(at, _)| at);
        let mut item = Item {
            index,
            status: if last_present.is_some_and(|l| index < l) {
                ItemStatus::Missing
            } else {
                ItemStatus::Planned
            },
            file: None,
            reason: None,
            id: None,
        };
        for (at, f) in candidates.into_iter().enumerate() {
            if Some(at) == best {
                item.status = f.status;
                item.file = Some(f.path.clone());
                item.reason = f.reason.clone();
                item.id = f.id.clone();
                if !f.status.is_good() {
                    files.push(f);
                }
            } else {
                warnings.push(format!(
                    "{}: a second file for item {index}",
                    f.path.display()
                ));
                files.push(f);
            }
        }
        items.push(item);
    }
    let first_to_redo = items.iter().find(|i| !i.status.is_good()).map(|i| i.index);
    let last_good = match first_to_redo {
        Some(f) => items
            .iter()
            .filter(|i| i.index < f && i.status.is_good())
            .map(|i| i.index)
            .max(),
        None => items.last().map(|i| i.index),
    };
    let mut counts = BTreeMap::new();
    for i in &items {
        *counts.entry(i.status.name()).or_insert(0) += 1;
    }
    counts.insert("planned_total", plan.count);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(RunStatus {
        run: run.manifest.id.clone(),
        folder: run.folder.clone(),
        items,
        files,
        first_to_redo,
        last_good,
        counts,
        warnings,
    })
}
