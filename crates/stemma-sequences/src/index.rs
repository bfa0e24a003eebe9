//! The records folder scans give the frames of runs, by file: what `stemma import` writes into frames, in place
//! of what a frame's name alone says.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use stemma_container::Limits;
use stemma_import::{
    recognise_filename, FileKind, FolderContext, Resolved, Tier, Tool, RUN_FILE_DIALECTS,
};
use stemma_model::Record;

use crate::sequence::{scan_folder_with, ScanOptions};

/// The tools whose files form frame sequences that a folder scan links.
fn sequence_tool(tool: Tool) -> bool {
    matches!(
        tool,
        Tool::Disco
            | Tool::Pytti
            | Tool::Deforum
            | Tool::VqganClip
            | Tool::Rife
            | Tool::Film
            | Tool::Flowframes
            | Tool::Generic
    )
}

/// A file's path made comparable with the paths a folder scan reports.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The records the folder scans made for the frames of their sequences, by canonical path: (label such as
/// `seq:deforum`, record).
#[derive(Debug, Default)]
pub struct FrameIndex {
    records: HashMap<PathBuf, (String, Record)>,
}

impl FrameIndex {
    /// Whether a file's resolved record may be replaced by its frame record: a run's frame record (settings,
    /// gaps, cadence, parents) says more than the file's name or than the run's files read for this frame alone
    /// (`stemma_import::run_files`, which build the same record without the neighbours), but never overrides what
    /// the file itself or other files beside it (an A1111 `.txt`) hold.
    pub fn wants(resolved: &Resolved) -> bool {
        resolved.source.is_none()
            || resolved.record_layer().is_some_and(|layer| {
                layer.tier == Tier::Name || RUN_FILE_DIALECTS.contains(&layer.dialect)
            })
    }

    /// Scan, once each, the folders whose candidates look like frames of a run (interpolated frames: the folder
    /// above theirs, where their source sequence is). `forced` reads every candidate as that tool's. Returns the
    /// index and the scans' warnings.
    pub fn build(
        candidates: &[&Path],
        forced: Option<Tool>,
        limits: &Limits,
    ) -> (Self, Vec<String>) {
        let mut folders = BTreeSet::new();
        for file in candidates {
            let m = recognise_filename(file);
            let interpolated = m.as_ref().is_some_and(|m| m.kind == FileKind::Interpolated);
            let wanted = match forced {
                Some(tool) => sequence_tool(tool),
                None => m.as_ref().is_some_and(|m| {
                    m.tool != Tool::Generic && (m.sequence_key.is_some() || interpolated)
                }),
            };
            if !wanted {
                continue;
            }
            let folder = FolderContext::folder_of(file);
            folders.insert(if interpolated {
                FolderContext::folder_of(&folder)
            } else {
                folder
            });
        }
        let options = ScanOptions {
            limits: *limits,
            ..ScanOptions::default()
        };
        let scans: Vec<_> = folders
            .par_iter()
            .map(|folder| (folder, scan_folder_with(folder, &options)))
            .collect();
        let mut records = HashMap::new();
        let mut warnings = Vec::new();
        for (folder, scan) in scans {
            let scan = match scan {
                Ok(s) => s,
                Err(e) => {
                    warnings.push(format!("{}: folder not scanned: {e}", folder.display()));
                    continue;
                }
            };
            for s in &scan.sequences {
                let accept = |tool: Tool| match forced {
                    Some(t) => t == tool || t == s.tool,
                    None => s.tool != Tool::Generic,
                };
                let label = format!("seq:{}", s.tool);
                if accept(s.tool) {
                    for f in &s.frames {
                        records.insert(canonical(&f.path), (label.clone(), f.record.clone()));
                    }
                    // A duplicate with the same pixels as the frame kept is that frame.
                    for d in s.duplicates.iter().filter(|d| d.identical) {
                        let Some(kept) = s.frames.iter().find(|f| f.index == d.index) else {
                            continue;
                        };
                        for p in d.paths.iter().skip(1) {
                            records.insert(canonical(p), (label.clone(), kept.record.clone()));
                        }
                    }
                }
                for f in &s.interpolated {
                    let tool = f
                        .record
                        .generator
                        .as_ref()
                        .and_then(|g| Tool::from_id(&g.name))
                        .unwrap_or(s.tool);
                    if accept(tool) {
                        let label = format!("seq:{tool}");
                        records.insert(canonical(&f.path), (label, f.record.clone()));
                    }
                }
            }
            warnings.extend(scan.warnings);
        }
        (FrameIndex { records }, warnings)
    }

    /// The frame record of `file` and its label, if a scan made one.
    pub fn get(&self, file: &Path) -> Option<&(String, Record)> {
        self.records.get(&canonical(file))
    }
}
