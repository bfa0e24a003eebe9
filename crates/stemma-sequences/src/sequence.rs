//! Linking the frames of a run into a sequence: gaps, duplicates, restarts, resumes, cadence in-betweens and
//! interpolated frames (RIFE, FILM, Flowframes, Deforum's interpolation folders).
//!
//! [`scan_folder`] reads one folder (plus the interpolation and `retained/` folders inside it) and returns one
//! [`SequenceReport`] per run, each frame with the record to write into it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;
use stemma_container::Limits;
use stemma_model::{relation, Parent, RawEntry, Record, Sequence};

use crate::error::{io_err, Result};
use stemma_import::names::{recognise_filename, FileKind, FilenameMatch};
use stemma_import::run_files::{run_is_animated, run_sequence_id};
use stemma_import::settings::{import_settings_file, RunSettings};
use stemma_import::sidecars::{parse_deforum_srt, DeforumSrt};
use stemma_import::{is_camera_name, RunFrame, Tool};

/// What a frame is within its sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameKind {
    /// Made by the generator (diffused, optimised).
    Generated,
    /// A cadence in-between (Deforum `diffusion_cadence`): a blend of its two generated neighbours.
    Cadence,
    /// Written by an interpolation tool between two source frames.
    Interpolated,
    /// Written by an interpolation tool at a source frame's position (a copy of that frame).
    SourceCopy,
}

/// One frame of a sequence with the record to write into it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameEntry {
    pub path: PathBuf,
    /// Zero-based index in its sequence.
    pub index: u64,
    pub kind: FrameKind,
    /// Position in source-frame units (fractional for in-betweens).
    pub time: f64,
    /// Lineage id (`sha256:`) of the file, when computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub record: Record,
}

/// Several files claiming one frame index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duplicate {
    pub index: u64,
    /// Every file with that index; the first is the one kept in `frames`.
    pub paths: Vec<PathBuf>,
    /// True when all of them have the same lineage id (the same pixels).
    pub identical: bool,
}

/// An interpolation folder linked to its source sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterpolationReport {
    pub folder: PathBuf,
    pub tool: Tool,
    /// Sequence id of the interpolated sequence (`<source id>/<tool>-x<factor>`).
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<u64>,
    /// Where the factor came from: `settings`, `folder name`, `video name`, `count`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor_source: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    /// Frames in the folder (copies of source frames and in-betweens).
    pub frames: usize,
}

/// One run found in a folder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceReport {
    /// Sequence id written into every frame's record: `<key>@<12 hex digits>` of the run's settings hash, or of
    /// the first frame's lineage id when there are no settings (`disco:TimeToDisco(0)@3f9a…`), so that runs with a
    /// tool's default name in different folders do not share an id. Just the key when neither is known.
    pub id: String,
    /// The run's name in its folder (`disco:TimeToDisco(0)`, `deforum:20230812221310`, `pytti:bird(2)`,
    /// `frames:<prefix>`).
    pub key: String,
    pub tool: Tool,
    pub folder: PathBuf,
    /// The frames present, by index (one per index; see `duplicates`).
    pub frames: Vec<FrameEntry>,
    /// Missing indices between the first index of the tool (0) and the last present frame.
    pub gaps: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_missing: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_frame: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<Duplicate>,
    /// Frames written by interpolation tools, each linked to its two source neighbours.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interpolated: Vec<FrameEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interpolations: Vec<InterpolationReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    /// True for animations (frames feed each other), false for still batches.
    pub animated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings_file: Option<PathBuf>,
    /// Settings files written by a resumed run of this sequence (Deforum writes them under a new timestring).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resume_settings: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srt_file: Option<PathBuf>,
    /// First frame of a resumed segment, when known (Disco `retained/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_at: Option<u64>,
    /// Other sequences of the same folder made with the same settings (restarts with a new batch number or
    /// timestring).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A folder scan: the sequences and what was not part of any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FolderScan {
    pub sequences: Vec<SequenceReport>,
    /// Files that belong to no sequence (stray files, single images, unknown names).
    pub stray: Vec<PathBuf>,
    /// Settings files whose frames are not in the folder.
    pub orphan_settings: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

/// Options of a scan.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// Compute lineage ids (decodes every frame) so that parents carry ids. Default true.
    pub compute_ids: bool,
    pub limits: Limits,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            compute_ids: true,
            limits: Limits::DEFAULT,
        }
    }
}

/// Most missing indices listed in [`SequenceReport::gaps`].
pub const MAX_GAPS: usize = 100_000;

/// Scan a folder within `limits` (computing lineage ids) and return its sequences.
pub fn scan_folder(path: &Path, limits: &Limits) -> Result<Vec<SequenceReport>> {
    let options = ScanOptions {
        compute_ids: true,
        limits: *limits,
    };
    Ok(scan_folder_with(path, &options)?.sequences)
}

static NUMBERED: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(?P<prefix>.*?)(?P<n>\d+)\.(?P<ext>png|jpe?g|webp)$").ok());
static RIFE_VIDEO: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"_(?P<x>\d+)X_(?P<fps>\d+)fps\.(?:mp4|mkv|webm|mov|gif)$").ok());

struct Candidate {
    path: PathBuf,
    index: u64,
    m: Option<FilenameMatch>,
}

struct Group {
    id: String,
    tool: Tool,
    animated_by_name: bool,
    members: Vec<Candidate>,
}

fn list_dir(path: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io_err(path))? {
        let entry = entry.map_err(io_err(path))?;
        let p = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            dirs.push(p);
        } else if kind.is_file() {
            files.push(p);
        }
    }
    files.sort();
    dirs.sort();
    Ok((files, dirs))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Scan a folder.
pub fn scan_folder_with(path: &Path, options: &ScanOptions) -> Result<FolderScan> {
    let (files, dirs) = list_dir(path)?;
    let mut scan = FolderScan {
        sequences: Vec::new(),
        stray: Vec::new(),
        orphan_settings: Vec::new(),
        warnings: Vec::new(),
    };

    // 1. Settings and subtitles, by run id.
    let mut settings: BTreeMap<String, (PathBuf, RunSettings)> = BTreeMap::new();
    let mut resume_settings: BTreeMap<String, Vec<(PathBuf, RunSettings)>> = BTreeMap::new();
    let mut srts: BTreeMap<String, (PathBuf, DeforumSrt)> = BTreeMap::new();
    let mut videos: Vec<FilenameMatch> = Vec::new();
    let mut frames: Vec<(PathBuf, FilenameMatch)> = Vec::new();
    let mut unknown: Vec<PathBuf> = Vec::new();
    for file in &files {
        let m = recognise_filename(file);
        match m.as_ref().map(|m| m.kind) {
            Some(FileKind::Settings) => match import_settings_file(file, &options.limits) {
                Ok(s) => {
                    if let Some(resumed) = s.resumes.clone() {
                        resume_settings
                            .entry(format!("{}:{resumed}", Tool::Deforum.id()))
                            .or_default()
                            .push((file.clone(), s.clone()));
                    }
                    let key = s
                        .run_id
                        .clone()
                        .or_else(|| m.as_ref().and_then(|m| m.sequence_key.clone()))
                        .unwrap_or_else(|| file_name(file));
                    settings.insert(key, (file.clone(), s));
                }
                Err(e) => scan.warnings.push(format!("{}: {e}", file.display())),
            },
            Some(FileKind::Subtitles) => {
                // Subtitles that cannot be read (too large, not UTF-8, no cue) are a warning, not a failed scan.
                let srt = stemma_import::read_sibling_text(file, &options.limits)
                    .and_then(|text| parse_deforum_srt(&text));
                match (srt, m.and_then(|m| m.sequence_key)) {
                    (Ok(srt), Some(key)) => {
                        srts.insert(key, (file.clone(), srt));
                    }
                    (Err(e), _) => scan.warnings.push(format!("{}: {e}", file.display())),
                    _ => {}
                }
            }
            Some(FileKind::Video) => videos.extend(m),
            Some(FileKind::Frame | FileKind::Image) => {
                let m = m.filter(|m| {
                    m.sequence_key.is_some()
                        && matches!(
                            m.tool,
                            Tool::Disco | Tool::Pytti | Tool::Deforum | Tool::VqganClip
                        )
                });
                match m {
                    Some(m) => frames.push((file.clone(), m)),
                    None => unknown.push(file.clone()),
                }
            }
            // Interpolated frames scanned in their own folder: a plain numbered sequence.
            Some(FileKind::Interpolated) => unknown.push(file.clone()),
            Some(_) => {}
            None => unknown.push(file.clone()),
        }
    }
    // Names cameras and phones write (`IMG_1234.png`, `IMG_20240101_123456.png`) carry no tool marker: they are
    // a run's frames only when the run's settings file is beside them, and never a plain numbered sequence.
    let (frames, camera): (Vec<_>, Vec<_>) = frames.into_iter().partition(|(path, m)| {
        !is_camera_name(&file_name(path))
            || m.sequence_key
                .as_ref()
                .is_some_and(|k| settings.contains_key(k))
    });
    scan.stray.extend(camera.into_iter().map(|(path, _)| path));
    let (unknown, camera): (Vec<_>, Vec<_>) = unknown
        .into_iter()
        .partition(|path| !is_camera_name(&file_name(path)));
    scan.stray.extend(camera);

    // 2. Group frames. `name(k)_n.png` is read as Disco when anything else says the run is Disco's.
    let disco_runs: BTreeSet<String> = frames
        .iter()
        .filter(|(_, m)| m.tool == Tool::Disco)
        .filter_map(|(_, m)| m.sequence_key.clone())
        .chain(
            settings
                .iter()
                .filter(|(_, (_, s))| s.tool == Tool::Disco)
                .map(|(k, _)| k.clone()),
        )
        .collect();
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for (path, m) in frames {
        let m = match (&m.batch, m.run) {
            (Some(b), Some(r))
                if m.tool == Tool::Pytti
                    && disco_runs.contains(&format!("{}:{b}({r})", Tool::Disco.id())) =>
            {
                m.read_as_disco()
            }
            _ => m,
        };
        let Some(key) = m.sequence_key.clone() else {
            continue;
        };
        let Some(index) = m.frame.or(m.counter) else {
            continue;
        };
        let group = groups.entry(key.clone()).or_insert_with(|| Group {
            id: key,
            tool: m.tool,
            animated_by_name: false,
            members: Vec::new(),
        });
        if m.kind == FileKind::Frame {
            group.animated_by_name = true;
        }
        group.members.push(Candidate {
            path,
            index,
            m: Some(m),
        });
    }
    // Plain numbered files (`0001.png`, `frame_0001.png`, re-numbered exports) form a generic sequence per prefix.
    let mut numbered: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for path in unknown {
        let name = file_name(&path);
        let caps = NUMBERED.as_ref().and_then(|re| re.captures(&name));
        match caps.and_then(|c| {
            Some((
                c.name("prefix")?.as_str().to_string(),
                c.name("n")?.as_str().parse::<u64>().ok()?,
            ))
        }) {
            Some((prefix, n)) => numbered.entry(prefix).or_default().push(Candidate {
                path,
                index: n,
                m: None,
            }),
            None => scan.stray.push(path),
        }
    }
    for (prefix, members) in numbered {
        if members.len() < 2 {
            scan.stray.extend(members.into_iter().map(|c| c.path));
            continue;
        }
        let id = format!("frames:{prefix}");
        groups.insert(
            id.clone(),
            Group {
                id,
                tool: Tool::Generic,
                animated_by_name: true,
                members,
            },
        );
    }

    // 3. Interpolation and retained folders.
    let mut interp_dirs: Vec<(PathBuf, Vec<(PathBuf, FilenameMatch)>)> = Vec::new();
    let mut retained: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for dir in &dirs {
        let dir_name = file_name(dir);
        let Ok((sub_files, _)) = list_dir(dir) else {
            continue;
        };
        if dir_name == "retained" {
            for f in &sub_files {
                if let Some(m) = recognise_filename(f) {
                    if let (Some(key), Some(i)) = (m.sequence_key.clone(), m.frame.or(m.counter)) {
                        retained.entry(key).or_default().push(i);
                    }
                }
            }
            continue;
        }
        let matches: Vec<(PathBuf, FilenameMatch)> = sub_files
            .iter()
            .filter_map(|f| Some((f.clone(), recognise_filename(f)?)))
            .filter(|(_, m)| m.kind == FileKind::Interpolated)
            .collect();
        if !matches.is_empty() {
            interp_dirs.push((dir.clone(), matches));
        }
    }

    // 4. Build each sequence.
    let mut ids = IdCache::new(options);
    let mut fingerprints: BTreeMap<String, String> = BTreeMap::new();
    for (key, group) in groups {
        let run_settings = settings.remove(&key);
        let srt = srts.remove(&key);
        let mut report = build_sequence(
            path,
            group,
            run_settings.as_ref(),
            srt.as_ref(),
            retained.get(&key),
            &mut ids,
        );
        if let Some(list) = resume_settings.get(&key) {
            report.resume_settings = list.iter().map(|(p, _)| p.clone()).collect();
            report
                .warnings
                .push("a resumed run wrote its settings under a new timestring".into());
        }
        if let Some((_, s)) = &run_settings {
            if let Some(fp) = fingerprint(&s.data) {
                fingerprints.insert(report.id.clone(), fp);
            }
        }
        scan.sequences.push(report);
    }
    for (key, (p, s)) in settings {
        if s.resumes.is_none() {
            scan.orphan_settings.push(p);
        }
        let _ = key;
    }

    // 5. Interpolated folders → their source sequence.
    for (dir, matches) in interp_dirs {
        link_interpolation(&mut scan, &dir, matches, &videos, &mut ids);
    }

    // 6. Re-numbered exports: generic numbered frames that are pixel-identical copies of a tool's frames.
    link_copies(&mut scan);

    // 7. Restarts: sequences with the same settings apart from seed, timestring and batch number.
    let ids_by_fp: Vec<(String, String)> = fingerprints.into_iter().collect();
    for report in &mut scan.sequences {
        let Some((_, fp)) = ids_by_fp.iter().find(|(id, _)| *id == report.id) else {
            continue;
        };
        report.related = ids_by_fp
            .iter()
            .filter(|(id, other)| other == fp && *id != report.id)
            .map(|(id, _)| id.clone())
            .collect();
    }
    Ok(scan)
}

/// Hash of the settings without the keys that change between restarts of the same job.
fn fingerprint(data: &Value) -> Option<String> {
    let mut obj = data.as_object()?.clone();
    for key in [
        "seed",
        "timestring",
        "batch_name",
        "outdir",
        "resume_from_timestring",
        "resume_timestring",
        "seed_internal",
    ] {
        obj.remove(key);
    }
    stemma_model::settings_hash(&Value::Object(obj))
        .ok()
        .map(|h| h.to_string())
}

/// Lineage ids of files, computed once.
struct IdCache<'a> {
    options: &'a ScanOptions,
    ids: HashMap<PathBuf, Option<String>>,
}

impl<'a> IdCache<'a> {
    fn new(options: &'a ScanOptions) -> Self {
        IdCache {
            options,
            ids: HashMap::new(),
        }
    }

    fn get(&mut self, path: &Path) -> Option<String> {
        if !self.options.compute_ids {
            return None;
        }
        if let Some(id) = self.ids.get(path) {
            return id.clone();
        }
        let id = std::fs::read(path).ok().and_then(|bytes| {
            stemma_container::ops::lineage_id(&bytes, &self.options.limits)
                .ok()
                .map(|id| id.to_string())
        });
        self.ids.insert(path.to_path_buf(), id.clone());
        id
    }
}

fn parent(rel: &str, id: Option<String>, path: &Path, t: Option<f64>) -> Parent {
    Parent {
        id,
        relation: rel.to_string(),
        t,
        hint: Some(file_name(path)),
        ..Parent::default()
    }
}

fn build_sequence(
    folder: &Path,
    mut group: Group,
    settings: Option<&(PathBuf, RunSettings)>,
    srt: Option<&(PathBuf, DeforumSrt)>,
    retained: Option<&Vec<u64>>,
    ids: &mut IdCache,
) -> SequenceReport {
    group
        .members
        .sort_by(|a, b| a.index.cmp(&b.index).then(a.path.cmp(&b.path)));
    let mut report = SequenceReport {
        id: group.id.clone(),
        key: group.id.clone(),
        tool: group.tool,
        folder: folder.to_path_buf(),
        frames: Vec::new(),
        gaps: Vec::new(),
        first_missing: None,
        last_frame: None,
        duplicates: Vec::new(),
        interpolated: Vec::new(),
        interpolations: Vec::new(),
        fps: None,
        animated: false,
        settings_file: settings.map(|(p, _)| p.clone()),
        resume_settings: Vec::new(),
        srt_file: srt.map(|(p, _)| p.clone()),
        resumed_at: None,
        related: Vec::new(),
        warnings: Vec::new(),
    };
    let s = settings.map(|(_, s)| s);
    let srt = srt.map(|(_, s)| s);
    report.animated = run_is_animated(group.tool, s, group.animated_by_name);
    report.fps = srt.and_then(|s| s.fps).or(s.and_then(|s| s.fps));

    // One member per index; the rest are duplicates.
    let mut unique: Vec<Candidate> = Vec::new();
    let mut dups: BTreeMap<u64, Vec<PathBuf>> = BTreeMap::new();
    for c in group.members {
        match unique.last() {
            Some(last) if last.index == c.index => {
                dups.entry(c.index)
                    .or_insert_with(|| vec![last.path.clone()])
                    .push(c.path);
            }
            _ => unique.push(c),
        }
    }
    for (index, paths) in dups {
        let first = ids.get(&paths[0]);
        let identical = first.is_some() && paths.iter().all(|p| ids.get(p) == first);
        report.duplicates.push(Duplicate {
            index,
            paths,
            identical,
        });
    }
    let unique_by = s
        .map(|s| s.hash.clone())
        .or_else(|| unique.first().and_then(|c| ids.get(&c.path)));
    report.id = run_sequence_id(&report.key, unique_by.as_deref());
    let present: BTreeSet<u64> = unique.iter().map(|c| c.index).collect();
    if let Some(&last) = present.iter().next_back() {
        report.last_frame = Some(last);
        // A stray huge number must not make a huge list: at most MAX_GAPS missing indices are listed.
        report.gaps = (0..=last)
            .filter(|i| !present.contains(i))
            .take(MAX_GAPS)
            .collect();
        let missing = (last + 1).saturating_sub(present.len() as u64);
        if missing > MAX_GAPS as u64 {
            report.warnings.push(format!(
                "{missing} frames missing; only the first {MAX_GAPS} are listed in gaps"
            ));
        }
        report.first_missing = report.gaps.first().copied();
    }
    if let Some(r) = retained.and_then(|r| r.iter().min()) {
        report.resumed_at = Some(*r);
        report.warnings.push(format!(
            "retained/ holds earlier frames from {r} on: the run was resumed there; seeds from there on are unknown"
        ));
    }
    if s.is_none() && matches!(group.tool, Tool::Disco | Tool::Deforum | Tool::Pytti) {
        report
            .warnings
            .push("no settings file: prompt and seed only from the file names".into());
    }
    let animated = report.animated;
    let resumed_at = report.resumed_at;
    let id = report.id.clone();
    let frame_of = |index: u64, inline_settings: bool| RunFrame {
        settings: s,
        srt,
        sequence_id: &id,
        index,
        animated,
        inline_settings,
        seed_unknown: resumed_at.is_some_and(|r| index >= r),
    };
    // Cadence in-betweens: by the settings' cadence when > 1, else by the `.srt` flag (frame 0 never is one).
    let is_cadence = |i: u64| -> bool { frame_of(i, false).is_cadence() };
    let prev_generated =
        |i: u64| -> Option<u64> { (0..i).rev().take(100_000).find(|&j| !is_cadence(j)) };
    let next_generated =
        |i: u64| -> Option<u64> { (i + 1..i.saturating_add(100_000)).find(|&j| !is_cadence(j)) };
    let feeds = report.animated
        && match (group.tool, s) {
            (Tool::Generic, _) => false,
            (_, Some(s)) => s.feeds_previous_frame,
            (Tool::Disco | Tool::Pytti | Tool::VqganClip, None) => true,
            _ => false,
        };
    let by_index: BTreeMap<u64, PathBuf> =
        unique.iter().map(|c| (c.index, c.path.clone())).collect();
    for (n, c) in unique.iter().enumerate() {
        let i = c.index;
        let frame = frame_of(i, n == 0);
        let cadence_frame = frame.is_cadence();
        // The settings (inline in the first frame), the seed by the seed rule unless this frame's seed is
        // unknown (Disco stills, resumed segments, cadence in-betweens), the `.srt` cue, the sequence position.
        let mut record = frame.record(c.m.as_ref(), &file_name(&c.path));
        let mut parents = Vec::new();
        let time = i as f64;
        if cadence_frame {
            let prev = prev_generated(i).unwrap_or(0);
            let next = next_generated(i).unwrap_or(i + 1);
            if let (Some(a), Some(b)) = (by_index.get(&prev), by_index.get(&next)) {
                let t = (i - prev) as f64 / (next - prev) as f64;
                parents.push(parent(relation::INTERPOLATE, ids.get(a), a, Some(t)));
                parents.push(parent(relation::INTERPOLATE, ids.get(b), b, Some(t)));
            } else {
                report.warnings.push(format!(
                    "cadence frame {i}: a neighbour ({prev} or {next}) is missing"
                ));
            }
        } else if feeds && i > 0 {
            let prev = prev_generated(i).unwrap_or(i - 1);
            match by_index.get(&prev) {
                Some(p) => parents.push(parent(relation::PREVIOUS_FRAME, ids.get(p), p, None)),
                None => report
                    .warnings
                    .push(format!("frame {i}: previous frame {prev} is missing")),
            }
        }
        record.parents = parents;
        report.frames.push(FrameEntry {
            path: c.path.clone(),
            index: i,
            kind: if cadence_frame {
                FrameKind::Cadence
            } else {
                FrameKind::Generated
            },
            time,
            id: ids.get(&c.path),
            record,
        });
    }
    report
}

fn link_interpolation(
    scan: &mut FolderScan,
    dir: &Path,
    mut matches: Vec<(PathBuf, FilenameMatch)>,
    videos: &[FilenameMatch],
    ids: &mut IdCache,
) {
    matches.sort_by_key(|(_, m)| m.frame.unwrap_or(0));
    let Some((_, first)) = matches.first() else {
        return;
    };
    let tool = match first.tool {
        Tool::Deforum if first.pattern.contains("film") => Tool::Film,
        Tool::Deforum => Tool::Rife,
        t => t,
    };
    // Which sequence: Deforum names it; otherwise the only animated sequence of the folder, or the one whose
    // frame count fits the interpolated count.
    let count = matches.len() as u64;
    let named = first
        .sequence_key
        .as_ref()
        .and_then(|key| scan.sequences.iter().position(|s| &s.key == key));
    let target = match named {
        Some(i) => Some(i),
        // Deforum's Interpolation tab names the folder after a video, not a timestring.
        None => {
            let animated: Vec<usize> = (0..scan.sequences.len())
                .filter(|&i| scan.sequences[i].animated)
                .collect();
            if animated.len() == 1 {
                animated.first().copied()
            } else {
                // Several candidates: those whose frame count fits RIFE/FILM's (N−1)·m + 1 or Flowframes' N·m;
                // the longest wins (an interpolation of a short restart is rarer than one of the main run).
                let fits: Vec<usize> = animated
                    .into_iter()
                    .filter(|&i| {
                        let n = scan.sequences[i].frames.len() as u64;
                        n > 1 && ((count - 1).is_multiple_of(n - 1) || count.is_multiple_of(n))
                    })
                    .collect();
                if fits.len() > 1 {
                    scan.warnings.push(format!(
                        "{}: several sequences fit the interpolated frame count; the longest was chosen",
                        dir.display()
                    ));
                }
                fits.into_iter()
                    .max_by_key(|&i| (scan.sequences[i].frames.len(), std::cmp::Reverse(i)))
            }
        }
    };
    let Some(target) = target else {
        scan.warnings.push(format!(
            "{}: interpolated frames whose source sequence is not in this folder",
            dir.display()
        ));
        return;
    };
    let seq = &mut scan.sequences[target];
    let sources: Vec<(u64, PathBuf)> = seq
        .frames
        .iter()
        .map(|f| (f.index, f.path.clone()))
        .collect();
    let n = sources.len() as u64;
    // The factor: settings, folder name, video name, then counting.
    let ts = first.timestring.clone();
    let mut factor: Option<(u64, &'static str)> = None;
    let mut slow_mo: Option<u64> = None;
    if let Some(f) = first
        .extra
        .get("factor")
        .and_then(|f| f.parse::<f64>().ok())
    {
        factor = Some((f.round() as u64, "folder name"));
    }
    if factor.is_none() {
        if let Some(settings) = &seq.settings_file {
            if let Ok(s) = import_settings_file(settings, &ids.options.limits) {
                if let Some(i) = s.interpolation {
                    factor = Some((i.factor, "settings"));
                    slow_mo = i.slow_mo;
                }
            }
        }
    }
    if factor.is_none() {
        for v in videos {
            let same_run = ts.is_none() || v.timestring == ts;
            if let (true, Some(x)) = (same_run, v.extra.get("factor").and_then(|x| x.parse().ok()))
            {
                factor = Some((x, "video name"));
                slow_mo = v.extra.get("slow_mo").and_then(|x| x.parse().ok());
                break;
            }
            if let Some(c) = RIFE_VIDEO.as_ref().and_then(|re| re.captures(&v.name)) {
                if let Some(x) = c.name("x").and_then(|x| x.as_str().parse().ok()) {
                    factor = Some((x, "video name"));
                    break;
                }
            }
        }
    }
    if factor.is_none() && n > 1 && count > 1 {
        // RIFE `--multi m`: (N−1)·m + 1 frames; FILM: (N−1)·2^t + 1; Flowframes ≈ N·factor.
        if (count - 1).is_multiple_of(n - 1) && (count - 1) / (n - 1) >= 2 {
            factor = Some(((count - 1) / (n - 1), "count"));
        } else if count.is_multiple_of(n) && count / n >= 2 {
            factor = Some((count / n, "count"));
        }
    }
    let id = match factor {
        Some((f, _)) => format!("{}/{}-x{f}", seq.id, tool.id()),
        None => format!("{}/{}", seq.id, tool.id()),
    };
    let fps = match (seq.fps, factor, slow_mo) {
        (Some(fps), Some((f, _)), None) => Some(fps * f as f64),
        (Some(fps), Some((f, _)), Some(slow)) if slow > 0 => Some(fps * f as f64 / slow as f64),
        _ => None,
    };
    seq.interpolations.push(InterpolationReport {
        folder: dir.to_path_buf(),
        tool,
        id: id.clone(),
        factor: factor.map(|(f, _)| f),
        factor_source: factor.map(|(_, s)| s),
        fps,
        frames: matches.len(),
    });
    let Some((factor, _)) = factor.filter(|(f, _)| *f >= 1) else {
        seq.warnings.push(format!(
            "{}: interpolation factor unknown ({count} frames from {n}); frames not linked",
            dir.display()
        ));
        return;
    };
    for (path, m) in &matches {
        let Some(i) = m.frame else { continue };
        let k = (i / factor) as usize;
        let j = i % factor;
        let mut record = Record::new();
        record.generator = Some(stemma_model::Generator {
            name: tool.id().to_string(),
            dialect: Some(format!("filename:{}", m.pattern)),
            ..stemma_model::Generator::default()
        });
        record.raw.push(RawEntry {
            origin: "filename".into(),
            text: Some(file_name(path)),
            ..RawEntry::default()
        });
        let (kind, time, parents) = match (sources.get(k), sources.get(k + 1)) {
            (Some((ia, a)), _) if j == 0 => (
                FrameKind::SourceCopy,
                *ia as f64,
                vec![parent(relation::CONVERT, ids.get(a), a, None)],
            ),
            (Some((ia, a)), Some((ib, b))) => {
                let t = j as f64 / factor as f64;
                (
                    FrameKind::Interpolated,
                    *ia as f64 + t * (*ib as f64 - *ia as f64),
                    vec![
                        parent(relation::INTERPOLATE, ids.get(a), a, Some(t)),
                        parent(relation::INTERPOLATE, ids.get(b), b, Some(t)),
                    ],
                )
            }
            _ => {
                seq.warnings.push(format!(
                    "{}: frame {i} lies past the last source frame",
                    path.display()
                ));
                (
                    FrameKind::Interpolated,
                    i as f64 / factor as f64,
                    Vec::new(),
                )
            }
        };
        record.parents = parents;
        record.sequence = Some(Sequence {
            id: id.clone(),
            frame: Some(i),
            time: Some(time),
            fps,
            interpolated: kind == FrameKind::Interpolated,
            ..Sequence::default()
        });
        seq.interpolated.push(FrameEntry {
            path: path.clone(),
            index: i,
            kind,
            time,
            id: ids.get(path),
            record,
        });
    }
}

/// Generic numbered frames (`export_0001.png`) that have the lineage id of a frame of a tool's sequence are
/// copies of it (a re-numbered export): link them with a `convert` parent and name the sequence in `related`.
fn link_copies(scan: &mut FolderScan) {
    let mut originals: HashMap<String, (String, PathBuf)> = HashMap::new();
    for s in scan.sequences.iter().filter(|s| s.tool != Tool::Generic) {
        for f in &s.frames {
            if let Some(id) = &f.id {
                originals
                    .entry(id.clone())
                    .or_insert_with(|| (s.id.clone(), f.path.clone()));
            }
        }
    }
    for s in scan
        .sequences
        .iter_mut()
        .filter(|s| s.tool == Tool::Generic)
    {
        let mut sources = BTreeSet::new();
        for f in &mut s.frames {
            let Some((seq, path)) = f.id.as_ref().and_then(|id| originals.get(id)) else {
                continue;
            };
            f.record
                .parents
                .push(parent(relation::CONVERT, f.id.clone(), path, None));
            sources.insert(seq.clone());
        }
        for seq in sources {
            s.warnings
                .push(format!("frames are re-numbered copies of frames of {seq}"));
            if !s.related.contains(&seq) {
                s.related.push(seq);
            }
        }
    }
}

/// Write each frame's record (generated, cadence and interpolated frames) into its file, atomically, one file at
/// a time. Pixels are untouched, so the lineage ids that parents refer to stay valid. Returns each file's outcome.
pub fn write_frame_records(
    report: &SequenceReport,
    limits: &Limits,
) -> Vec<(PathBuf, Result<stemma_container::ops::Outcome>)> {
    report
        .frames
        .iter()
        .chain(&report.interpolated)
        .map(|f| (f.path.clone(), write_record(&f.path, &f.record, limits)))
        .collect()
}

fn write_record(
    path: &Path,
    record: &Record,
    limits: &Limits,
) -> Result<stemma_container::ops::Outcome> {
    let json = stemma_model::record_to_json(record)?;
    let edit = stemma_container::Edit {
        record: stemma_container::RecordChange::Set(json),
        ..stemma_container::Edit::default()
    };
    stemma_container::ops::rewrite(path, None, &edit, limits).map_err(|source| {
        crate::Error::Container {
            path: path.to_path_buf(),
            source,
        }
    })
}
