//! The catalog's search for Python: the same query language and results as `stemma find --json`.

use std::path::Path;

use stemma_catalog::find::find;
use stemma_catalog::Catalog;

use crate::error::{Error, Result};

/// The images matching `query` (empty: every image), at most `limit`, each as the JSON object `stemma find
/// --json` prints. The catalog is `catalog` when given, else the one found by walking up from `start`.
pub fn find_json(
    start: &Path,
    catalog: Option<&Path>,
    query: &str,
    limit: Option<usize>,
) -> Result<Vec<String>> {
    let at = catalog.unwrap_or(start);
    let failed = |reason: String| Error::Catalog {
        file: at.to_path_buf(),
        reason,
    };
    let cat = match catalog {
        Some(path) => Catalog::open(path),
        None => Catalog::find(start),
    }
    .map_err(|e| failed(e.to_string()))?;
    let q = Some(query).filter(|q| !q.trim().is_empty());
    let hits = find(&cat, q, limit).map_err(|e| failed(e.to_string()))?;
    hits.iter()
        .map(|h| serde_json::to_string(h).map_err(|e| failed(e.to_string())))
        .collect()
}
