//! Running queries and looking images up: by query, by file, by content id.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, OptionalExtension};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::query::{parse, select, Selection};

/// One image in the catalog, with where it is.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hit {
    #[serde(skip)]
    pub id: i64,
    pub content_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pixel_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_id: Option<String>,
    /// Paths where the file is now (relative to the library root, or absolute outside it).
    pub paths: Vec<String>,
    /// Paths where it was and is no more.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    pub generator: Option<String>,
    pub prompt: Option<String>,
    pub seed: Option<String>,
    pub steps: Option<i64>,
    pub cfg: Option<f64>,
    pub sampler: Option<String>,
    pub model: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub rating: Option<i64>,
    pub tags: Vec<String>,
    /// The record as kept in the catalog (without `raw`).
    pub record: Option<serde_json::Value>,
}

/// Days since 1970-01-01 today (UTC).
pub fn today() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 86_400) as i64)
}

/// The SQL selection of a query (every image for `None` or an empty query).
fn selection(query: Option<&str>) -> Result<Selection> {
    match query.map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => select(&parse(q)?, today()),
        None => Ok(Selection {
            from: "images i",
            sql: "TRUE".to_string(),
            params: Vec::new(),
        }),
    }
}

fn limit_param(limit: Option<usize>) -> SqlValue {
    SqlValue::Integer(limit.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX)))
}

/// The statement [`find_ids`] runs, with its parameters.
fn ids_statement(query: Option<&str>, limit: Option<usize>) -> Result<(String, Vec<SqlValue>)> {
    let s = selection(query)?;
    // With a limit, the first `limit` matches the plan finds are taken and then sorted: ordering the whole match
    // set first would make a broad query (`steps:20..30`) read every matching row just to keep 100.
    let order = if limit.is_some() {
        ""
    } else {
        " ORDER BY i.id"
    };
    let sql = format!("SELECT i.id FROM {} WHERE {}{order} LIMIT ?", s.from, s.sql);
    let mut params = s.params;
    params.push(limit_param(limit));
    Ok((sql, params))
}

/// The ids of images matching a query (every image for `None`), oldest first; with a limit, at most that many
/// of the matches (which ones is up to the query plan).
pub fn find_ids(cat: &Catalog, query: Option<&str>, limit: Option<usize>) -> Result<Vec<i64>> {
    let (sql, params) = ids_statement(query, limit)?;
    let mut stmt = cat.conn.prepare(&sql)?;
    let mut ids = stmt
        .query_map(params_from_iter(params), |r| r.get(0))?
        .collect::<std::result::Result<Vec<i64>, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// How many images match a query.
pub fn count(cat: &Catalog, query: Option<&str>) -> Result<u64> {
    let s = selection(query)?;
    let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", s.from, s.sql);
    let n: i64 = cat
        .conn
        .query_row(&sql, params_from_iter(s.params), |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How the catalog runs a query: SQLite's query plan of [`find_ids`], one line per step (`SEARCH i USING INDEX
/// images_seed (seed=?)`, `SCAN i`, ...).
pub fn explain(cat: &Catalog, query: Option<&str>, limit: Option<usize>) -> Result<Vec<String>> {
    let (sql, params) = ids_statement(query, limit)?;
    let mut stmt = cat.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let lines = stmt
        .query_map(params_from_iter(params), |r| r.get::<_, String>(3))?
        .collect::<std::result::Result<Vec<String>, _>>()?;
    Ok(lines)
}

/// The paths of an image: present ones, then the ones where it is no more.
pub fn paths_of(cat: &Catalog, id: i64) -> Result<(Vec<String>, Vec<String>)> {
    let mut stmt = cat
        .conn
        .prepare_cached("SELECT path, status FROM files WHERE image_id = ?1 ORDER BY path")?;
    let mut rows = stmt.query([id])?;
    let (mut present, mut missing) = (Vec::new(), Vec::new());
    while let Some(r) = rows.next()? {
        let (path, status): (String, String) = (r.get(0)?, r.get(1)?);
        if status == "missing" {
            missing.push(path);
        } else {
            present.push(path);
        }
    }
    Ok((present, missing))
}

/// Run a query and load its hits.
pub fn find(cat: &Catalog, query: Option<&str>, limit: Option<usize>) -> Result<Vec<Hit>> {
    find_ids(cat, query, limit)?
        .into_iter()
        .map(|id| hit(cat, id))
        .collect()
}

/// Load one image.
pub fn hit(cat: &Catalog, id: i64) -> Result<Hit> {
    let mut stmt = cat.conn.prepare_cached(
        "SELECT content_id, pixel_id, data_id, generator, prompt, seed, steps, cfg, sampler, model, width, height, \
         rating, (SELECT record_json FROM records WHERE image_id = images.id) FROM images WHERE id = ?1",
    )?;
    let mut h = stmt.query_row([id], |r| {
        let record: Option<String> = r.get(13)?;
        Ok(Hit {
            id,
            content_id: r.get(0)?,
            pixel_id: r.get(1)?,
            data_id: r.get(2)?,
            paths: vec![],
            missing: vec![],
            generator: r.get(3)?,
            prompt: r.get(4)?,
            seed: r.get(5)?,
            steps: r.get(6)?,
            cfg: r.get(7)?,
            sampler: r.get(8)?,
            model: r.get(9)?,
            width: r.get(10)?,
            height: r.get(11)?,
            rating: r.get(12)?,
            tags: vec![],
            record: record.and_then(|s| serde_json::from_str(&s).ok()),
        })
    })?;
    (h.paths, h.missing) = paths_of(cat, id)?;
    h.tags = tags_of(cat, id)?;
    Ok(h)
}

/// The tags of an image, sorted.
pub fn tags_of(cat: &Catalog, id: i64) -> Result<Vec<String>> {
    let mut stmt = cat
        .conn
        .prepare_cached("SELECT tag FROM tags WHERE image_id = ?1 ORDER BY tag")?;
    let tags = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<std::result::Result<Vec<String>, _>>()?;
    Ok(tags)
}

/// The image a file on disk is in the catalog as.
pub fn image_of_path(cat: &Catalog, path: &Path) -> Result<i64> {
    let key = cat.key_of(path)?;
    let id: Option<Option<i64>> = cat
        .conn
        .query_row("SELECT image_id FROM files WHERE path = ?1", [&key], |r| {
            r.get(0)
        })
        .optional()?;
    id.flatten().ok_or_else(|| {
        Error::NotInCatalog(format!(
            "{}: not in the catalog (run `stemma scan`)",
            path.display()
        ))
    })
}

/// The image known by a content id (pixel id or data id), if the catalog has it.
pub fn image_of_id(cat: &Catalog, content_id: &str) -> Result<Option<i64>> {
    let mut stmt = cat.conn.prepare_cached(
        "SELECT id FROM images WHERE content_id = ?1 OR pixel_id = ?1 OR data_id = ?1 ORDER BY id LIMIT 1",
    )?;
    Ok(stmt
        .query_row(params![content_id], |r| r.get(0))
        .optional()?)
}

/// A file path, or a content id (`sha256:…`), to an image.
pub fn image_of(cat: &Catalog, file_or_id: &str) -> Result<i64> {
    if file_or_id.starts_with("sha256:") && !Path::new(file_or_id).exists() {
        return image_of_id(cat, file_or_id)?
            .ok_or_else(|| Error::NotInCatalog(format!("{file_or_id}: not in the catalog")));
    }
    image_of_path(cat, Path::new(file_or_id))
}
