//! Writing scanned files into the catalog: one image per content id, one row per path.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, ToSql};

use crate::error::Result;
use crate::extract::ImageRow;

/// What the file system says about a file; unchanged when all three match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub size: i64,
    pub mtime_ns: i64,
    pub inode: i64,
}

/// How the writer finds the image a row belongs to and keeps the full-text index.
///
/// Normally both go through SQL. During a bulk load (the first scan into an empty catalog, secondary indexes
/// dropped) every image in the catalog was written by this writer, so a map of the ids it wrote answers the
/// lookup, and the full-text index is built once at the end ([`crate::bulk`]).
#[derive(Debug, Default)]
pub struct RowWriter {
    bulk: Option<HashMap<String, i64>>,
}

impl RowWriter {
    /// A writer for a catalog whose secondary indexes are in place.
    pub fn indexed() -> RowWriter {
        RowWriter { bulk: None }
    }

    /// A writer for a bulk load into an empty catalog.
    pub fn bulk() -> RowWriter {
        RowWriter {
            bulk: Some(HashMap::new()),
        }
    }

    /// The image a row's ids belong to: the same content id, or a data id or pixel id already known (a file
    /// that gained a record keeps its entry when its identity moves from the data id to the pixel id).
    fn find_image(&self, conn: &Connection, row: &ImageRow, content: &str) -> Result<Option<i64>> {
        if let Some(map) = &self.bulk {
            // The lowest id among the matches, as the SQL lookup orders them. An image this load did not write
            // (stored by a scan running beside it) is found by the insert, through the content id's unique index.
            return Ok([
                Some(content),
                row.ids.data.as_deref(),
                row.ids.pixel.as_deref(),
            ]
            .into_iter()
            .flatten()
            .filter_map(|id| map.get(id).copied())
            .min());
        }
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM images WHERE content_id = ?1 OR data_id = ?2 OR pixel_id = ?3 ORDER BY id LIMIT 1",
        )?;
        Ok(stmt
            .query_row(params![content, row.ids.data, row.ids.pixel], |r| r.get(0))
            .optional()?)
    }

    fn remember(&mut self, id: i64, row: &ImageRow, content: &str) {
        if let Some(map) = &mut self.bulk {
            for key in [
                Some(content),
                row.ids.data.as_deref(),
                row.ids.pixel.as_deref(),
            ]
            .into_iter()
            .flatten()
            {
                map.entry(key.to_string()).or_insert(id);
            }
        }
    }

    /// Insert a new image; its id, or None when its content id is stored already (only possible in a bulk load,
    /// by a scan running beside it: outside one, [`Self::find_image`] found it first).
    fn insert_image(
        &mut self,
        conn: &Connection,
        row: &ImageRow,
        content: &str,
    ) -> Result<Option<i64>> {
        let id: Option<i64> = conn
            .prepare_cached(
                "INSERT INTO images (content_id, pixel_id, data_id, ids_stored, format, width, height, \
                 source, generator, prompt, negative, seed, steps, cfg, sampler, model, created, \
                 scheduler, model_hash, template, negative_template, run_id, run_index, sequence_id, \
                 frame, created_day, rating) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
                 ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27) \
                 ON CONFLICT (content_id) DO NOTHING RETURNING id",
            )?
            .query_row(&image_values(&content, row)[..], |r| r.get(0))
            .optional()?;
        if let Some(id) = id {
            if self.bulk.is_none() {
                crate::search::index_new(conn, id, row.prompt.as_deref(), row.negative.as_deref())?;
            }
            self.remember(id, row, content);
        }
        Ok(id)
    }

    /// Write a row's values over a stored image; the rating kept in the catalog wins over the record's.
    fn update_image(conn: &Connection, id: i64, row: &ImageRow) -> Result<()> {
        // ?10 and ?11 (the prompts) are written below, only when they changed.
        conn.prepare_cached(
            "UPDATE images SET pixel_id = COALESCE(?2, pixel_id), data_id = COALESCE(?3, data_id), \
             ids_stored = ?4, format = ?5, width = ?6, height = ?7, source = ?8, generator = ?9, \
             seed = ?12, steps = ?13, cfg = ?14, sampler = ?15, model = ?16, created = ?17, \
             scheduler = ?18, model_hash = ?19, template = ?20, negative_template = ?21, \
             run_id = ?22, run_index = ?23, sequence_id = ?24, frame = ?25, created_day = ?26, \
             rating = COALESCE(rating, ?27) WHERE id = ?1",
        )?
        .execute(&image_values(&id, row)[..])?;
        // The prompts only when they changed: their full-text update (a trigger) is costly.
        conn.prepare_cached(
            "UPDATE images SET prompt = ?2, negative = ?3 WHERE id = ?1 \
             AND (prompt IS NOT ?2 OR negative IS NOT ?3)",
        )?
        .execute(params![id, row.prompt, row.negative])?;
        conn.prepare_cached("DELETE FROM edges WHERE child_id = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM loras WHERE image_id = ?1")?
            .execute([id])?;
        Ok(())
    }

    /// Insert or update the image of a row; returns its id. The rating and tags kept in the catalog are not
    /// overwritten: values carried in the record are added.
    pub fn upsert_image(&mut self, conn: &Connection, row: &ImageRow) -> Result<Option<i64>> {
        let Some(content) = row.ids.content_id() else {
            return Ok(None);
        };
        let mut existing = self.find_image(conn, row, content)?;
        let id = match existing {
            Some(id) => id,
            None => match self.insert_image(conn, row, content)? {
                Some(id) => id,
                None => {
                    let mut stmt =
                        conn.prepare_cached("SELECT id FROM images WHERE content_id = ?1")?;
                    let id: i64 = stmt.query_row([content], |r| r.get(0))?;
                    existing = Some(id);
                    id
                }
            },
        };
        if existing.is_some() {
            Self::update_image(conn, id, row)?;
        }
        match &row.record_json {
            Some(json) => {
                conn.prepare_cached(
                    "INSERT INTO records (image_id, record_json) VALUES (?1, ?2) \
                 ON CONFLICT (image_id) DO UPDATE SET record_json = excluded.record_json",
                )?
                .execute(params![id, json])?;
            }
            None if existing.is_some() => {
                conn.prepare_cached("DELETE FROM records WHERE image_id = ?1")?
                    .execute([id])?;
            }
            None => {}
        }
        if !row.edges.is_empty() {
            let mut stmt = conn.prepare_cached(
            "INSERT INTO edges (child_id, ord, parent_ref, relation, hint) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
            for (ord, e) in row.edges.iter().enumerate() {
                stmt.execute(params![id, ord as i64, e.parent_ref, e.relation, e.hint])?;
            }
        }
        if !row.loras.is_empty() {
            let mut stmt = conn.prepare_cached(
            "INSERT INTO loras (image_id, name, weight) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )?;
            for (name, weight) in &row.loras {
                stmt.execute(params![id, name, weight])?;
            }
        }
        if !row.tags.is_empty() {
            let mut stmt = conn.prepare_cached(
                "INSERT INTO tags (image_id, tag) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )?;
            for tag in &row.tags {
                stmt.execute(params![id, tag])?;
            }
        }
        Ok(Some(id))
    }
}

/// The values of an `images` row as ?1..?27 of its INSERT and UPDATE, `key` first (the content id to insert, the
/// row id to update).
fn image_values<'a>(key: &'a dyn ToSql, row: &'a ImageRow) -> [&'a dyn ToSql; 27] {
    [
        key,
        &row.ids.pixel,
        &row.ids.data,
        &row.ids.stored,
        &row.format,
        &row.width,
        &row.height,
        &row.source,
        &row.generator,
        &row.prompt,
        &row.negative,
        &row.seed,
        &row.steps,
        &row.cfg,
        &row.sampler,
        &row.model,
        &row.created,
        &row.scheduler,
        &row.model_hash,
        &row.template,
        &row.negative_template,
        &row.run_id,
        &row.run_index,
        &row.sequence_id,
        &row.frame,
        &row.created_day,
        &row.rating,
    ]
}

/// Record a file that was read, at its image.
pub fn upsert_file(
    conn: &Connection,
    key: &str,
    stat: Stat,
    image: Option<i64>,
    now: i64,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO files (path, image_id, size, mtime_ns, inode, status, error, scanned_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'ok', NULL, ?6) \
         ON CONFLICT (path) DO UPDATE SET image_id = excluded.image_id, size = excluded.size, \
         mtime_ns = excluded.mtime_ns, inode = excluded.inode, status = 'ok', error = NULL, \
         scanned_at = excluded.scanned_at",
    )?;
    stmt.execute(params![
        key,
        image,
        stat.size,
        stat.mtime_ns,
        stat.inode,
        now
    ])?;
    Ok(())
}

/// Record a file that could not be read, with why. An image it was known as stays linked (not forgotten).
pub fn file_error(conn: &Connection, key: &str, stat: Stat, reason: &str, now: i64) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO files (path, image_id, size, mtime_ns, inode, status, error, scanned_at) \
         VALUES (?1, NULL, ?2, ?3, ?4, 'error', ?5, ?6) \
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, \
         inode = excluded.inode, status = 'error', error = excluded.error, scanned_at = excluded.scanned_at",
    )?;
    stmt.execute(params![
        key,
        stat.size,
        stat.mtime_ns,
        stat.inode,
        reason,
        now
    ])?;
    Ok(())
}

/// Mark a path as no longer on disk. Returns true when its image is still present at another path (a move).
pub fn mark_missing(conn: &Connection, key: &str) -> Result<bool> {
    conn.prepare_cached("UPDATE files SET status = 'missing' WHERE path = ?1")?
        .execute([key])?;
    let mut stmt = conn.prepare_cached(
        "SELECT COUNT(*) FROM files f JOIN files g ON g.image_id = f.image_id \
         WHERE f.path = ?1 AND g.status = 'ok'",
    )?;
    let present: i64 = stmt.query_row([key], |r| r.get(0))?;
    Ok(present > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Ids;

    fn row(steps: i64) -> ImageRow {
        ImageRow {
            ids: Ids {
                pixel: None,
                data: Some("sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
                stored: false,
            },
            prompt: Some("a red cat".into()),
            steps: Some(steps),
            ..ImageRow::default()
        }
    }

    #[test]
    fn a_bulk_load_updates_an_image_another_scan_stored_first() {
        let dir = tempfile::tempdir().unwrap();
        let cat = crate::Catalog::init(dir.path()).unwrap();
        // A scan running beside the load writes row by row, and stores the image first.
        let other = RowWriter::indexed()
            .upsert_image(&cat.conn, &row(20))
            .unwrap();
        // The loader never wrote it (not in its map): its insert meets the content id and updates that image.
        let mut loader = RowWriter::bulk();
        let found = loader.upsert_image(&cat.conn, &row(30)).unwrap();
        assert!(other.is_some());
        assert_eq!(found, other);
        let (images, steps): (i64, i64) = cat
            .conn
            .query_row("SELECT COUNT(*), MAX(steps) FROM images", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((images, steps), (1, 30));
        // A new image is inserted and remembered: the next row with its ids is found in memory.
        let mut new = row(25);
        new.ids.data = Some("sha256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB".into());
        let first = loader.upsert_image(&cat.conn, &new).unwrap();
        let second = loader.upsert_image(&cat.conn, &new).unwrap();
        assert!(first.is_some() && first != other);
        assert_eq!(first, second);
    }
}
