//! Queries the web gallery needs beyond `find`: a page of tiles after a key (keyset pagination), stacks collapsed
//! to one tile with a count, the members of a stack, the field names of the query language, and the folders and
//! file keys of the library (for sequences).

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, OptionalExtension};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::Result;
use crate::find::today;
use crate::prompts::STACK_FIELDS;
use crate::query::{compile, parse};

/// One tile of the grid: an image, or a stack of images shown by its first member.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Tile {
    /// The image shown (the stack's first member).
    pub id: i64,
    /// Images in the tile (1 for a single image).
    pub count: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
}

/// The field names (and aliases) of the query language, for completion.
pub fn field_names() -> Vec<&'static str> {
    crate::query::parse::FIELDS
        .iter()
        .map(|(n, _)| *n)
        .collect()
}

fn condition(query: Option<&str>) -> Result<(String, Vec<SqlValue>)> {
    Ok(match query.map(str::trim).filter(|q| !q.is_empty()) {
        Some(q) => {
            let c = compile(&parse(q)?, today())?;
            (c.sql, c.params)
        }
        None => ("TRUE".to_string(), Vec::new()),
    })
}

/// The stack key of `images i`: the stack fields but the seed; an image without a prompt is its own stack.
fn stack_key() -> String {
    let mut cols: Vec<String> = STACK_FIELDS
        .iter()
        .map(|f| format!("CAST(i.{f} AS TEXT)"))
        .collect();
    cols.push("CASE WHEN i.prompt IS NULL THEN i.id END".to_string());
    cols.join(", ")
}

/// At most `limit` tiles whose image id is above `after`, in id order. With `stacked`, images that share a
/// prompt and settings (differing in seed) are one tile, keyed by their lowest id.
pub fn page(
    cat: &Catalog,
    query: Option<&str>,
    after: i64,
    limit: usize,
    stacked: bool,
) -> Result<Vec<Tile>> {
    let (cond, mut params) = condition(query)?;
    let sql = if stacked {
        format!(
            "SELECT s.rep, s.n, j.width, j.height FROM (SELECT min(i.id) AS rep, count(*) AS n FROM images i \
             WHERE ({cond}) GROUP BY {} HAVING min(i.id) > ? ORDER BY rep LIMIT ?) s \
             JOIN images j ON j.id = s.rep ORDER BY s.rep",
            stack_key()
        )
    } else {
        format!(
            "SELECT i.id, 1, i.width, i.height FROM images i WHERE ({cond}) AND i.id > ? ORDER BY i.id LIMIT ?"
        )
    };
    params.push(SqlValue::Integer(after));
    params.push(SqlValue::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let mut stmt = cat.conn.prepare(&sql)?;
    let tiles = stmt
        .query_map(params_from_iter(params), |r| {
            Ok(Tile {
                id: r.get(0)?,
                count: r.get(1)?,
                width: r.get(2)?,
                height: r.get(3)?,
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(tiles)
}

/// How many tiles a query has (stacks counted once with `stacked`).
pub fn count(cat: &Catalog, query: Option<&str>, stacked: bool) -> Result<i64> {
    let (cond, params) = condition(query)?;
    let sql = if stacked {
        format!(
            "SELECT count(*) FROM (SELECT 1 FROM images i WHERE ({cond}) GROUP BY {})",
            stack_key()
        )
    } else {
        format!("SELECT count(*) FROM images i WHERE ({cond})")
    };
    Ok(cat
        .conn
        .query_row(&sql, params_from_iter(params), |r| r.get(0))?)
}

/// The members of the stack an image is in (itself alone when it has no prompt), by seed then id.
pub fn stack_members(cat: &Catalog, image: i64) -> Result<Vec<Tile>> {
    let same: Vec<String> = STACK_FIELDS
        .iter()
        .map(|f| format!("CAST(i.{f} AS TEXT) IS CAST(s.{f} AS TEXT)"))
        .collect();
    let sql = format!(
        "SELECT i.id, 1, i.width, i.height FROM images i JOIN images s ON s.id = ?1 \
         WHERE (i.id = s.id OR (s.prompt IS NOT NULL AND {})) ORDER BY i.seed, i.id",
        same.join(" AND ")
    );
    let mut stmt = cat.conn.prepare(&sql)?;
    let tiles = stmt
        .query_map([image], |r| {
            Ok(Tile {
                id: r.get(0)?,
                count: r.get(1)?,
                width: r.get(2)?,
                height: r.get(3)?,
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(tiles)
}

/// The folders (keys, `/`-separated, `""` for the root) holding files present in the catalog.
pub fn folders(cat: &Catalog) -> Result<Vec<String>> {
    let mut stmt = cat
        .conn
        .prepare("SELECT path FROM files WHERE status != 'missing' ORDER BY path")?;
    let mut out: Vec<String> = Vec::new();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let path: String = r.get(0)?;
        let folder = path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        if out.last() != Some(&folder) && !out.contains(&folder) {
            out.push(folder);
        }
    }
    Ok(out)
}

/// The image a stored file key is, when the catalog has the file.
pub fn image_of_key(cat: &Catalog, key: &str) -> Result<Option<i64>> {
    let mut stmt = cat
        .conn
        .prepare_cached("SELECT image_id FROM files WHERE path = ?1 AND status != 'missing'")?;
    Ok(stmt
        .query_row([key], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten())
}
