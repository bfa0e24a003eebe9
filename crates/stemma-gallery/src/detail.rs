//! The image page's data: the full recipe, parents and children, the settings diff to the first parent, the
//! lineage graph (nodes and edges with their relation), and the original infotext / ComfyUI graph when the file
//! carries them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use stemma_catalog::find::{hit, Hit};
use stemma_catalog::lineage::{
    ancestors, children, compare, descendants, parents, Comparison, Link,
};
use stemma_catalog::resolver::{resolve, ResolveOptions};
use stemma_catalog::Catalog;

use crate::error::Result;

/// A node of the lineage graph: a catalogued image, or a parent known only by its recorded id.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// `i<image id>` for a catalogued image, `x<content id>` for one the catalog has not.
    pub key: String,
    pub image: Option<i64>,
    pub label: String,
    /// Generations from the image shown: negative for ancestors, positive for descendants.
    pub depth: i64,
}

/// An edge of the lineage graph, parent to child.
#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub relation: String,
}

/// One parent as the image recorded it.
#[derive(Debug, Clone, Serialize)]
pub struct ParentView {
    pub relation: String,
    pub content_id: Option<String>,
    pub hint: Option<String>,
    pub image: Option<i64>,
    pub prompt: Option<String>,
}

/// Everything the image page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    pub id: i64,
    #[serde(flatten)]
    pub hit: Hit,
    pub parents: Vec<ParentView>,
    pub children: Vec<(String, i64)>,
    /// The settings diff from the first catalogued parent to this image.
    pub diff: Option<Comparison>,
    pub diff_parent: Option<i64>,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// The A1111 `parameters` text the file carries.
    pub infotext: Option<String>,
    /// The ComfyUI graphs the file carries (`prompt`: API graph, `workflow`: UI graph), as JSON text.
    pub comfy_prompt: Option<String>,
    pub comfy_workflow: Option<String>,
}

fn label(h: &Hit) -> String {
    let prompt = h.prompt.as_deref().unwrap_or("");
    let short: String = prompt.chars().take(40).collect();
    if short.is_empty() {
        h.paths
            .first()
            .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
            .unwrap_or_else(|| h.content_id.chars().take(19).collect())
    } else {
        short
    }
}

fn node_key(link: &Link) -> String {
    match &link.image {
        Some(h) => format!("i{}", h.id),
        None => format!(
            "x{}",
            link.id.as_deref().or(link.hint.as_deref()).unwrap_or("?")
        ),
    }
}

/// Walk a link tree into nodes and edges. `up` is true for ancestors (the link's image is the parent).
fn walk(
    links: &[Link],
    from: &str,
    depth: i64,
    up: bool,
    nodes: &mut BTreeMap<String, Node>,
    edges: &mut Vec<Edge>,
) {
    for link in links {
        let key = node_key(link);
        nodes.entry(key.clone()).or_insert_with(|| Node {
            key: key.clone(),
            image: link.image.as_ref().map(|h| h.id),
            label: link.image.as_ref().map(label).unwrap_or_else(|| {
                link.hint
                    .clone()
                    .or_else(|| link.id.clone())
                    .unwrap_or_default()
            }),
            depth,
        });
        let (a, b) = if up {
            (key.clone(), from.to_string())
        } else {
            (from.to_string(), key.clone())
        };
        if !edges
            .iter()
            .any(|e| e.from == a && e.to == b && e.relation == link.relation)
        {
            edges.push(Edge {
                from: a,
                to: b,
                relation: link.relation.clone(),
            });
        }
        let next = if up { depth - 1 } else { depth + 1 };
        walk(&link.links, &key, next, up, nodes, edges);
    }
}

/// The page of one image.
pub fn detail(cat: &Catalog, id: i64) -> Result<Detail> {
    let h = hit(cat, id)?;
    let mut parent_views = Vec::new();
    let mut diff = None;
    let mut diff_parent = None;
    for (relation, content_id, hint, image) in parents(cat, id)? {
        let ph = image.map(|p| hit(cat, p)).transpose()?;
        if diff.is_none() {
            if let Some(ph) = &ph {
                diff = Some(compare(ph, &h));
                diff_parent = Some(ph.id);
            }
        }
        parent_views.push(ParentView {
            relation,
            content_id,
            hint,
            image,
            prompt: ph.and_then(|p| p.prompt),
        });
    }
    let me = format!("i{id}");
    let mut nodes = BTreeMap::new();
    nodes.insert(
        me.clone(),
        Node {
            key: me.clone(),
            image: Some(id),
            label: label(&h),
            depth: 0,
        },
    );
    let mut edges = Vec::new();
    walk(&ancestors(cat, id)?, &me, -1, true, &mut nodes, &mut edges);
    walk(
        &descendants(cat, id)?,
        &me,
        1,
        false,
        &mut nodes,
        &mut edges,
    );
    let (infotext, comfy_prompt, comfy_workflow) = original_texts(cat, &h);
    Ok(Detail {
        id,
        children: children(cat, id)?,
        parents: parent_views,
        diff,
        diff_parent,
        nodes: nodes.into_values().collect(),
        edges,
        infotext,
        comfy_prompt,
        comfy_workflow,
        hit: h,
    })
}

/// The A1111 infotext and ComfyUI graphs kept verbatim in the file's metadata (the catalog does not keep `raw`).
fn original_texts(cat: &Catalog, h: &Hit) -> (Option<String>, Option<String>, Option<String>) {
    let Some(path) = h.paths.first().map(|p| cat.path_of(p)) else {
        return (None, None, None);
    };
    // A file that cannot be read now (moved since the scan) still has its catalogued recipe.
    let Ok(resolved) = resolve(&path, &ResolveOptions::default()) else {
        return (None, None, None);
    };
    let Some(record) = resolved.record else {
        return (None, None, None);
    };
    let text_of = |key: &str| {
        record
            .raw
            .iter()
            .find(|r| r.key.as_deref() == Some(key) && r.origin.starts_with("png:"))
            .and_then(|r| r.text.clone())
    };
    let json_text = |key: &str| text_of(key).filter(|t| serde_json::from_str::<Value>(t).is_ok());
    (
        text_of("parameters"),
        json_text("prompt"),
        json_text("workflow"),
    )
}
