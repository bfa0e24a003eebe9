//! Sequences of the library: each folder holding catalogued files is read by the frame-sequence scanner
//! (`stemma seq`), and each frame is matched to its catalog image so the page can show it by id.

use std::path::Path;

use serde::Serialize;
use stemma_catalog::gallery::{folders, image_of_key};
use stemma_catalog::Catalog;
use stemma_sequences::{scan_folder_with, ScanOptions};

use crate::error::Result;

/// One frame slot of a sequence: a frame, a gap, or an interpolated in-between.
#[derive(Debug, Clone, Serialize)]
pub struct Slot {
    pub index: u64,
    /// `frame`, `gap` or `interpolated`.
    pub kind: &'static str,
    /// The frame's catalog image (none for a gap, or a file not in the catalog).
    pub image: Option<i64>,
    pub time: f64,
}

/// A run of frames.
#[derive(Debug, Clone, Serialize)]
pub struct Sequence {
    pub id: String,
    pub key: String,
    pub tool: String,
    pub folder: String,
    pub fps: Option<f64>,
    pub animated: bool,
    pub frames: usize,
    pub gaps: Vec<u64>,
    /// The first index a resumed run would render next.
    pub first_missing: Option<u64>,
    pub resumed_at: Option<u64>,
    pub slots: Vec<Slot>,
    pub warnings: Vec<String>,
}

/// Every sequence of the catalogued folders.
pub fn sequences(cat: &Catalog) -> Result<Vec<Sequence>> {
    let options = ScanOptions {
        compute_ids: false,
        ..ScanOptions::default()
    };
    let mut out = Vec::new();
    for folder in folders(cat)? {
        if Path::new(&folder)
            .components()
            .any(|c| c.as_os_str() == stemma_catalog::catalog::CATALOG_DIR)
        {
            continue;
        }
        let dir = cat.path_of(&folder);
        // A folder the scanner cannot read has no sequences to show; the catalog lists its files anyway.
        let Ok(scan) = scan_folder_with(&dir, &options) else {
            continue;
        };
        for s in scan.sequences {
            let mut slots = Vec::new();
            for f in &s.frames {
                slots.push(Slot {
                    index: f.index,
                    kind: "frame",
                    image: image_of_key(cat, &cat.key_of(&f.path)?)?,
                    time: f.time,
                });
            }
            for g in &s.gaps {
                slots.push(Slot {
                    index: *g,
                    kind: "gap",
                    image: None,
                    time: *g as f64,
                });
            }
            for f in &s.interpolated {
                slots.push(Slot {
                    index: f.index,
                    kind: "interpolated",
                    image: image_of_key(cat, &cat.key_of(&f.path)?)?,
                    time: f.time,
                });
            }
            slots.sort_by(|a, b| a.time.total_cmp(&b.time).then(a.index.cmp(&b.index)));
            out.push(Sequence {
                id: s.id.clone(),
                key: s.key.clone(),
                tool: format!("{:?}", s.tool),
                folder: folder.clone(),
                fps: s.fps,
                animated: s.animated,
                frames: s.frames.len(),
                gaps: s.gaps.clone(),
                first_missing: s.first_missing,
                resumed_at: s.resumed_at,
                slots,
                warnings: s.warnings.clone(),
            });
        }
    }
    Ok(out)
}
