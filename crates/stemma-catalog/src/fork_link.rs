//! Linking fork results to their source (relation `fork`). `stemma fork` registers each fork's manifest in
//! `.stemma/runs/` beside the catalog; after a scan, every image without a fork edge is matched against them by
//! what it carries (`stemma_runs::link`): the ComfyUI marker chunk, its parameter fingerprint, or the settings
//! fingerprint of its run's settings file. Nothing is done when no fork is registered.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::params;
use serde_json::Value;
use stemma_container::{ops, Limits};
use stemma_import::{recognise_filename, FileKind};
use stemma_model::Record;
use stemma_runs::link::{match_fork, Evidence, COMFYUI_MARKER_KEY};
use stemma_runs::{Manifest, SettingsStore};

use crate::catalog::Catalog;
use crate::error::Result;

/// The settings file of the run a frame's name places it in (`deforum:<ts>` → `<ts>_settings.txt`,
/// `disco:<batch>(<n>)` → `<batch>(<n>)_settings.txt`).
fn settings_file_of(path: &Path) -> Option<PathBuf> {
    let m = recognise_filename(path)?;
    if m.kind != FileKind::Frame {
        return None;
    }
    let key = m.sequence_key?;
    let (_, name) = key.split_once(':')?;
    Some(path.parent()?.join(format!("{name}_settings.txt")))
}

/// Link what can be linked; returns the number of fork edges added.
pub fn link_forks(cat: &Catalog, limits: &Limits) -> Result<u64> {
    let store = SettingsStore::of_catalog(&cat.path);
    let forks: Vec<Manifest> = store
        .registered()
        .into_iter()
        .filter_map(|m| m.ok())
        .filter(|m| m.fork.is_some())
        .collect();
    if forks.is_empty() {
        return Ok(0);
    }
    let has_marker = forks
        .iter()
        .any(|m| m.generator == "comfyui" || m.fork.as_ref().is_some_and(|f| f.marker.is_some()));
    let has_animation = forks
        .iter()
        .any(|m| m.fork.as_ref().is_some_and(|f| f.from_frame.is_some()));
    let mut stmt = cat.conn.prepare(
        "SELECT i.id, i.content_id, i.pixel_id, i.data_id, \
         (SELECT r.record_json FROM records r WHERE r.image_id = i.id), \
         (SELECT f.path FROM files f WHERE f.image_id = i.id AND f.status = 'ok' ORDER BY f.path LIMIT 1) \
         FROM images i WHERE NOT EXISTS (SELECT 1 FROM edges e WHERE e.child_id = i.id AND e.relation = 'fork')",
    )?;
    type Row = (
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<std::result::Result<_, _>>()?;
    let mut settings_cache: HashMap<PathBuf, Option<Value>> = HashMap::new();
    let mut linked = 0;
    for (image, content_id, pixel_id, data_id, record_json, key) in rows {
        let Some(key) = key else { continue };
        let path = cat.path_of(&key);
        let record: Option<Record> = record_json
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok());
        let marker = if has_marker {
            ops::scan_path(&path, limits)
                .ok()
                .and_then(|m| m.text(COMFYUI_MARKER_KEY).map(str::to_string))
        } else {
            None
        };
        let run_settings = if has_animation {
            settings_file_of(&path).and_then(|file| {
                settings_cache
                    .entry(file.clone())
                    .or_insert_with(|| {
                        std::fs::read_to_string(&file)
                            .ok()
                            .and_then(|t| serde_json::from_str(&t).ok())
                    })
                    .clone()
            })
        } else {
            None
        };
        let evidence = Evidence {
            record: record.as_ref(),
            run_settings: run_settings.as_ref(),
            marker: marker.as_deref(),
        };
        // The source itself is not its own fork, whichever of its ids the fork recorded.
        let ids = [
            Some(content_id.as_str()),
            pixel_id.as_deref(),
            data_id.as_deref(),
        ];
        let Some((fork, _how)) = match_fork(&forks, &evidence, None) else {
            continue;
        };
        let Some(info) = &fork.fork else { continue };
        if ids
            .iter()
            .flatten()
            .any(|id| info.from.as_deref() == Some(*id))
        {
            continue;
        }
        cat.conn.execute(
            "INSERT INTO edges (child_id, ord, parent_ref, relation, hint) VALUES \
             (?1, (SELECT COALESCE(MAX(ord), -1) + 1 FROM edges WHERE child_id = ?1), ?2, 'fork', ?3)",
            params![image, info.from, info.from_file],
        )?;
        linked += 1;
    }
    Ok(linked)
}
