//! What `stemma import --as <tool> PATH` makes of one file, when the caller names the tool instead of letting
//! the registry detect it.

use std::path::Path;

use stemma_container::Limits;
use stemma_model::Record;

use crate::dialects::a1111::looks_like_a1111_infotext;
use crate::error::{read_sibling_text, Error, Result};
use crate::names::{recognise_filename, FileKind};
use crate::settings::{self, import_settings_text};
use crate::sidecars::{import_a1111_log_csv, import_a1111_txt, parse_deforum_srt};
use crate::tool::Tool;

/// A settings file gives the run's record, an A1111 `.txt` its image's record, a `log.csv` its first row's, a
/// Deforum `.srt` its first frame's, an image what its name says. `tool` = `None` decides by name and content.
/// Text files are read within `limits` (at most `max_metadata_chunk` bytes).
pub fn import_path(path: &Path, tool: Option<Tool>, limits: &Limits) -> Result<Record> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let kind = recognise_filename(path).map(|m| m.kind);
    let is_text = name.ends_with(".txt") || name.ends_with(".yaml") || name.ends_with(".yml");
    if name.ends_with(".csv") {
        let text = read_sibling_text(path, limits)?;
        let rows = import_a1111_log_csv(&text)?;
        return rows
            .into_iter()
            .next()
            .map(|r| r.record)
            .ok_or(Error::Unrecognised(name));
    }
    if is_text {
        let text = read_sibling_text(path, limits)?;
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
        if forced_a1111 || looks_like_a1111_infotext(&text) {
            return Ok(import_a1111_txt(&text));
        }
        return Err(Error::Unrecognised(name));
    }
    if name.ends_with(".srt") {
        let text = read_sibling_text(path, limits)?;
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
