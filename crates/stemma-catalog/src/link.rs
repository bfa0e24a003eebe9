//! Resolving lineage edges whose parent the catalog cannot find by id.
//!
//! Edges name parents by pixel id, but a scan never decodes pixels, so a parent without a stored record is known
//! only by its data id. For each unresolved edge with a hint (the parent's file name), the files of that name
//! are decoded, and a matching pixel id is stored on the image; a renamed parent then stays linked, because its
//! image keeps that pixel id wherever it moves.

use std::path::Path;

use rusqlite::params;
use stemma_container::{ops, pixels::pixel_id, Limits};

use crate::catalog::Catalog;
use crate::error::Result;

/// Candidate files decoded per unresolved edge at most: a hint is a name, and names repeat.
const MAX_CANDIDATES: usize = 8;

/// Link what can be linked; returns the number of edges resolved.
pub fn link_parents(cat: &Catalog, limits: &Limits) -> Result<u64> {
    let mut stmt = cat.conn.prepare(
        "SELECT DISTINCT e.parent_ref, e.hint FROM edges e WHERE e.parent_ref IS NOT NULL AND e.hint IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM images p WHERE p.content_id = e.parent_ref) \
         AND NOT EXISTS (SELECT 1 FROM images p WHERE p.pixel_id = e.parent_ref) \
         AND NOT EXISTS (SELECT 1 FROM images p WHERE p.data_id = e.parent_ref)",
    )?;
    let unresolved = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut linked = 0;
    for (parent_ref, hint) in unresolved {
        let Some(name) = Path::new(&hint).file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let mut cands = cat.conn.prepare_cached(
            "SELECT f.path, f.image_id FROM files f JOIN images i ON i.id = f.image_id \
             WHERE f.status = 'ok' AND i.pixel_id IS NULL AND (f.path = ?1 OR f.path LIKE ?2 ESCAPE '\\') LIMIT ?3",
        )?;
        let escaped = name
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let candidates = cands
            .query_map(
                params![name, format!("%/{escaped}"), MAX_CANDIDATES as i64],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for (key, image) in candidates {
            let Ok(bytes) = ops::read_for_edit(&cat.path_of(&key), limits) else {
                continue;
            };
            let Ok(id) = pixel_id(&bytes, limits) else {
                continue;
            };
            if id.to_string() == parent_ref {
                cat.conn.execute(
                    "UPDATE images SET pixel_id = ?2 WHERE id = ?1",
                    params![image, parent_ref],
                )?;
                linked += 1;
                break;
            }
        }
    }
    Ok(linked)
}
