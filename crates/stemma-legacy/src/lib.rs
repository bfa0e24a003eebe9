//! Importers for older and animation tools that keep little or nothing inside their images: file-name patterns
//! (DALL·E, Midjourney, DreamStudio, A1111, the original SD scripts, Disco Diffusion, pytti, Deforum, VQGAN+CLIP,
//! interpolation tools, and a generic fallback), settings files (Disco, pytti, Deforum, A1111 `.txt` and
//! `log.csv`, Deforum `.srt`), frame sequences with gaps, restarts and interpolated frames, and APNG export with a
//! per-frame table.
//!
//! ```
//! use stemma_legacy::{recognise_filename, Tool};
//! let m = recognise_filename("TimeToDisco(0)_0012.png").unwrap();
//! assert_eq!(m.tool, Tool::Disco);
//! assert_eq!(m.frame, Some(12));
//! assert_eq!(m.sequence_key.as_deref(), Some("disco:TimeToDisco(0)"));
//! ```

pub mod apng;
mod error;
pub mod filename;
pub mod sequence;
pub mod settings;
pub mod sidecar;
mod tool;

pub use apng::{export_apng, export_apng_with, export_sequence, ApngExport, ApngFrame};
pub use error::{Error, Result};
pub use filename::{
    recognise_filename, recognise_name, A1111Pattern, FileKind, FilenameMatch, PATTERNS,
};
pub use sequence::{
    scan_folder, scan_folder_with, write_frame_records, FolderScan, FrameEntry, FrameKind,
    ScanOptions, SequenceReport,
};
pub use settings::{import_settings_file, import_settings_text, RunSettings, SeedRule};
pub use sidecar::{import_a1111_log_csv, import_a1111_txt, parse_deforum_srt, DeforumSrt};
pub use tool::Tool;

use std::path::Path;

use stemma_model::Record;

/// What `stemma import --as <tool> PATH` makes of one file: a settings file gives the run's record, an A1111
/// `.txt` gives its image's record, an image gives what its name says. `tool` = `None` decides by name and
/// content.
pub fn import_path(path: &Path, tool: Option<Tool>) -> Result<Record> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let kind = recognise_filename(path).map(|m| m.kind);
    let is_text = name.ends_with(".txt") || name.ends_with(".yaml") || name.ends_with(".yml");
    if name.ends_with(".csv") {
        let text = std::fs::read_to_string(path).map_err(error::io_err(path))?;
        let rows = import_a1111_log_csv(&text)?;
        return rows
            .into_iter()
            .next()
            .map(|r| r.record)
            .ok_or(Error::Unrecognised(name));
    }
    if is_text {
        let text = std::fs::read_to_string(path).map_err(error::io_err(path))?;
        let forced_a1111 = tool == Some(Tool::A1111);
        if !forced_a1111
            && (kind == Some(FileKind::Settings)
                || tool.is_some()
                || settings::detect_tool(&text).is_some()
                || !name.ends_with(".txt"))
        {
            if let Ok(s) = import_settings_text(&name, &text, tool) {
                return Ok(s.run_record());
            }
        }
        if forced_a1111 || text.lines().any(|l| l.starts_with("Steps: ")) {
            return Ok(import_a1111_txt(&text));
        }
        return Err(Error::Unrecognised(name));
    }
    if name.ends_with(".srt") {
        let text = std::fs::read_to_string(path).map_err(error::io_err(path))?;
        let srt = parse_deforum_srt(&text)?;
        let mut record = match recognise_filename(path) {
            Some(m) => m.to_record(),
            None => Record::new(),
        };
        if let Some(first) = srt.frames.first() {
            let p = record.prompt_mut();
            p.positive = first.prompt.clone();
            p.negative = first.negative.clone();
            record.params_mut().seed = first.seed.clone();
        }
        return Ok(record);
    }
    match recognise_filename(path) {
        Some(m) if tool.is_none_or(|t| t == m.tool) => Ok(m.to_record()),
        _ => Err(Error::Unrecognised(name)),
    }
}
