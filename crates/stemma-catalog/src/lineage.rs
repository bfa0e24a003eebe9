//! Lineage: ancestors (`log`), descendants (`tree`) and what changed between two images (`diff`).
//!
//! Edges are stored as the child recorded them: a parent content id (pixel id or data id) and a hint. A parent is
//! found by looking the id up against both id columns; an edge whose parent is not in the catalog keeps its id and
//! hint for display.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;
use stemma_model::merge_patch_diff;

use crate::catalog::Catalog;
use crate::error::Result;
use crate::find::{hit, Hit};
use crate::tokens::render_diff;

/// One edge as seen from the image it was looked up from.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub relation: String,
    /// The content id recorded on the edge.
    pub id: Option<String>,
    pub hint: Option<String>,
    /// The other image, when the catalog has it.
    pub image: Option<Hit>,
    /// Its own links, further out (ancestors for `log`, descendants for `tree`).
    pub links: Vec<Link>,
    /// True when this image was already shown higher up (a shared ancestor or a cycle).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeated: bool,
}

/// How far `log` and `tree` follow edges.
const MAX_DEPTH: usize = 64;

/// One recorded edge: (relation, recorded parent id, hint, the parent's image id when the catalog has it).
pub type ParentEdge = (String, Option<String>, Option<String>, Option<i64>);

/// The parents of an image.
pub fn parents(cat: &Catalog, image: i64) -> Result<Vec<ParentEdge>> {
    let mut stmt = cat.conn.prepare_cached(
        "SELECT e.relation, e.parent_ref, e.hint, \
         (SELECT p.id FROM images p WHERE p.content_id = e.parent_ref OR p.pixel_id = e.parent_ref \
          OR p.data_id = e.parent_ref ORDER BY p.id LIMIT 1) \
         FROM edges e WHERE e.child_id = ?1 ORDER BY e.ord",
    )?;
    let rows = stmt
        .query_map([image], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The children of an image, as (relation, child image id).
pub fn children(cat: &Catalog, image: i64) -> Result<Vec<(String, i64)>> {
    let mut stmt = cat.conn.prepare_cached(
        "SELECT DISTINCT e.relation, e.child_id FROM edges e JOIN images i ON i.id = ?1 \
         WHERE e.parent_ref = i.content_id OR e.parent_ref = i.pixel_id OR e.parent_ref = i.data_id \
         ORDER BY e.child_id",
    )?;
    let rows = stmt
        .query_map([image], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The ancestors of an image, as a tree of links.
pub fn ancestors(cat: &Catalog, image: i64) -> Result<Vec<Link>> {
    let mut seen = HashSet::from([image]);
    ancestors_of(cat, image, 0, &mut seen)
}

fn ancestors_of(
    cat: &Catalog,
    image: i64,
    depth: usize,
    seen: &mut HashSet<i64>,
) -> Result<Vec<Link>> {
    let mut out = Vec::new();
    for (relation, id, hint, parent) in parents(cat, image)? {
        let mut link = Link {
            relation,
            id,
            hint,
            image: None,
            links: vec![],
            repeated: false,
        };
        if let Some(p) = parent {
            link.image = Some(hit(cat, p)?);
            if !seen.insert(p) {
                link.repeated = true;
            } else if depth < MAX_DEPTH {
                link.links = ancestors_of(cat, p, depth + 1, seen)?;
            }
        }
        out.push(link);
    }
    Ok(out)
}

/// The descendants of an image, as a tree of links.
pub fn descendants(cat: &Catalog, image: i64) -> Result<Vec<Link>> {
    let mut seen = HashSet::from([image]);
    descendants_of(cat, image, 0, &mut seen)
}

fn descendants_of(
    cat: &Catalog,
    image: i64,
    depth: usize,
    seen: &mut HashSet<i64>,
) -> Result<Vec<Link>> {
    let mut out = Vec::new();
    for (relation, child) in children(cat, image)? {
        let h = hit(cat, child)?;
        let mut link = Link {
            relation,
            id: Some(h.content_id.clone()),
            hint: None,
            image: Some(h),
            links: vec![],
            repeated: false,
        };
        if !seen.insert(child) {
            link.repeated = true;
        } else if depth < MAX_DEPTH {
            link.links = descendants_of(cat, child, depth + 1, seen)?;
        }
        out.push(link);
    }
    Ok(out)
}

/// Render a link tree as text, one image per line, with the relation on each edge.
pub fn render_tree(cat: &Catalog, root: &Hit, links: &[Link], arrow: &str) -> Vec<String> {
    let mut lines = vec![describe(cat, root)];
    render_links(cat, links, "", arrow, &mut lines);
    lines
}

fn render_links(cat: &Catalog, links: &[Link], indent: &str, arrow: &str, lines: &mut Vec<String>) {
    for (n, link) in links.iter().enumerate() {
        let last = n + 1 == links.len();
        let (branch, next) = if last {
            ("└─", "   ")
        } else {
            ("├─", "│  ")
        };
        let what = match &link.image {
            Some(h) if link.repeated => format!("{} (shown above)", describe(cat, h)),
            Some(h) => describe(cat, h),
            None => format!(
                "(not in the catalog) {}{}",
                link.id.as_deref().unwrap_or("no id"),
                link.hint
                    .as_deref()
                    .map(|h| format!("  hint: {h}"))
                    .unwrap_or_default()
            ),
        };
        lines.push(format!("{indent}{branch} {} {arrow} {what}", link.relation));
        render_links(cat, &link.links, &format!("{indent}{next}"), arrow, lines);
    }
}

/// One line for an image: where it is, its short id, and its generator and seed.
pub fn describe(cat: &Catalog, h: &Hit) -> String {
    let place = match (h.paths.first(), h.missing.first()) {
        (Some(p), _) => cat.path_of(p).display().to_string(),
        (None, Some(m)) => format!("{} (missing)", cat.path_of(m).display()),
        (None, None) => "(no file)".to_string(),
    };
    let short = h.content_id.get(..19).unwrap_or(&h.content_id);
    let mut extra = Vec::new();
    if let Some(g) = &h.generator {
        extra.push(g.clone());
    }
    if let Some(s) = &h.seed {
        extra.push(format!("seed {s}"));
    }
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("  ({})", extra.join(", "))
    };
    format!("{place}  {short}…{extra}")
}

/// What changed from image A to image B.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// RFC 7396 merge patch turning A's settings into B's.
    pub patch: Value,
    /// (field, A's value, B's value) of every changed setting, as JSON pointers.
    pub rows: Vec<(String, Option<Value>, Option<Value>)>,
    /// Token-level prompt diff, `[-removed-] {+added+}`, when the prompts differ.
    pub prompt: Option<String>,
    pub negative: Option<String>,
}

/// The comparable part of a record: what was asked for and how, not where the file is or what it hashes to.
fn comparable(record: Option<&Value>) -> Value {
    let mut v = record.cloned().unwrap_or(Value::Object(Default::default()));
    if let Value::Object(m) = &mut v {
        for key in ["content", "raw", "stemma"] {
            m.remove(key);
        }
    }
    v
}

/// Compare two images.
pub fn compare(a: &Hit, b: &Hit) -> Comparison {
    let (va, vb) = (comparable(a.record.as_ref()), comparable(b.record.as_ref()));
    let (patch, _) = merge_patch_diff(&va, &vb);
    let mut rows = Vec::new();
    leaf_changes(&va, &vb, "", &mut rows);
    let text = |h: &Hit, neg: bool| -> String {
        h.record
            .as_ref()
            .and_then(|r| {
                r.pointer(if neg {
                    "/prompt/negative"
                } else {
                    "/prompt/positive"
                })
            })
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let prompt_diff = |neg: bool| {
        let (pa, pb) = (text(a, neg), text(b, neg));
        (pa != pb).then(|| render_diff(&pa, &pb))
    };
    Comparison {
        patch,
        rows,
        prompt: prompt_diff(false),
        negative: prompt_diff(true),
    }
}

fn leaf_changes(
    a: &Value,
    b: &Value,
    at: &str,
    out: &mut Vec<(String, Option<Value>, Option<Value>)>,
) {
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let path = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (ma.get(k), mb.get(k)) {
                    (Some(x), Some(y)) => leaf_changes(x, y, &path, out),
                    (x, y) => out.push((path, x.cloned(), y.cloned())),
                }
            }
        }
        _ if a == b => {}
        _ => out.push((at.to_string(), Some(a.clone()), Some(b.clone()))),
    }
}
