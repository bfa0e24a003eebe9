//! Exports: the catalog as JSON Lines or CSV, and a lineage graph as W3C PROV-JSON.

use std::collections::{BTreeSet, HashSet};
use std::io::Write;

use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::find::{find_ids, hit, Hit};
use crate::lineage::{children, parents};

fn io(e: std::io::Error) -> Error {
    Error::io("output", e)
}

/// One JSON object per image: ids, paths, tags, rating and the record.
pub fn jsonl(cat: &Catalog, query: Option<&str>, out: &mut dyn Write) -> Result<u64> {
    let mut n = 0;
    for id in find_ids(cat, query, None)? {
        let h = hit(cat, id)?;
        serde_json::to_writer(&mut *out, &h)?;
        out.write_all(b"\n").map_err(io)?;
        n += 1;
    }
    Ok(n)
}

/// CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "content_id",
    "path",
    "generator",
    "prompt",
    "negative",
    "seed",
    "steps",
    "cfg",
    "sampler",
    "model",
    "width",
    "height",
    "rating",
    "tags",
];

/// A CSV field, quoted when it must be (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One CSV row per present path of each image (an image with no present path gets one row, path empty).
pub fn csv(cat: &Catalog, query: Option<&str>, out: &mut dyn Write) -> Result<u64> {
    writeln!(out, "{}", CSV_COLUMNS.join(",")).map_err(io)?;
    let mut n = 0;
    for id in find_ids(cat, query, None)? {
        let h = hit(cat, id)?;
        let negative = h
            .record
            .as_ref()
            .and_then(|r| r.pointer("/prompt/negative"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let paths = if h.paths.is_empty() {
            vec![String::new()]
        } else {
            h.paths.clone()
        };
        for path in paths {
            let cells = [
                Some(h.content_id.clone()),
                Some(path),
                h.generator.clone(),
                h.prompt.clone(),
                negative.clone(),
                h.seed.clone(),
                h.steps.map(|v| v.to_string()),
                h.cfg.map(|v| v.to_string()),
                h.sampler.clone(),
                h.model.clone(),
                h.width.map(|v| v.to_string()),
                h.height.map(|v| v.to_string()),
                h.rating.map(|v| v.to_string()),
                Some(h.tags.join(";")),
            ];
            let line: Vec<String> = cells
                .iter()
                .map(|c| csv_field(c.as_deref().unwrap_or("")))
                .collect();
            writeln!(out, "{}", line.join(",")).map_err(io)?;
            n += 1;
        }
    }
    Ok(n)
}

/// The qualified name of an image entity: content ids are `sha256:<hex>`, a valid PROV qualified name under
/// the `sha256` prefix.
fn entity_id(content_id: &str) -> String {
    content_id.to_string()
}

fn activity_id(content_id: &str) -> String {
    format!("gen:{}", content_id.trim_start_matches("sha256:"))
}

/// The lineage graph around `start` (all its ancestors and descendants; the whole catalog for `None`) as W3C
/// PROV-JSON: images are entities by content id, each generation an activity carrying its settings, with
/// `wasGeneratedBy`, `used` and `wasDerivedFrom` (typed with the stemma relation).
pub fn prov(cat: &Catalog, start: Option<i64>) -> Result<Value> {
    let ids: BTreeSet<i64> = match start {
        Some(s) => connected(cat, s)?,
        None => find_ids(cat, None, None)?.into_iter().collect(),
    };
    let mut entity = Map::new();
    let mut activity = Map::new();
    let mut generated = Map::new();
    let mut used = Map::new();
    let mut derived = Map::new();
    let mut blank = 0;
    let mut next_blank = || {
        blank += 1;
        format!("_:r{blank}")
    };
    for &id in &ids {
        let h = hit(cat, id)?;
        entity.insert(entity_id(&h.content_id), entity_attributes(&h));
        let act = activity_id(&h.content_id);
        let has_generation = h.record.is_some();
        if has_generation {
            activity.insert(act.clone(), activity_attributes(&h));
            generated.insert(
                next_blank(),
                json!({"prov:entity": entity_id(&h.content_id), "prov:activity": act}),
            );
        }
        for (relation, parent_ref, hint, parent) in parents(cat, id)? {
            let parent_entity = match parent {
                Some(p) => entity_id(&hit(cat, p)?.content_id),
                None => {
                    // A parent outside the catalog is still an entity, known by its recorded id and hint.
                    let Some(r) = parent_ref else { continue };
                    let mut attrs = Map::new();
                    if let Some(hint) = hint {
                        attrs.insert("prov:label".into(), Value::String(hint));
                    }
                    entity.entry(entity_id(&r)).or_insert(Value::Object(attrs));
                    entity_id(&r)
                }
            };
            if has_generation {
                used.insert(
                    next_blank(),
                    json!({"prov:activity": act, "prov:entity": parent_entity, "prov:role": relation}),
                );
            }
            let mut d = json!({
                "prov:generatedEntity": entity_id(&h.content_id),
                "prov:usedEntity": parent_entity,
                "prov:type": {"$": format!("stemma:{relation}"), "type": "prov:QUALIFIED_NAME"},
            });
            if has_generation {
                d["prov:activity"] = Value::String(act.clone());
            }
            derived.insert(next_blank(), d);
        }
    }
    let mut doc = Map::new();
    doc.insert(
        "prefix".into(),
        json!({
            "sha256": "urn:sha256:",
            "gen": "urn:stemma:generation:",
            "stemma": "https://stemma.example/ns#",
        }),
    );
    for (name, map) in [
        ("entity", entity),
        ("activity", activity),
        ("wasGeneratedBy", generated),
        ("used", used),
        ("wasDerivedFrom", derived),
    ] {
        if !map.is_empty() {
            doc.insert(name.into(), Value::Object(map));
        }
    }
    Ok(Value::Object(doc))
}

fn entity_attributes(h: &Hit) -> Value {
    let mut m = Map::new();
    if let Some(p) = h.paths.first() {
        m.insert("prov:label".into(), Value::String(p.clone()));
    }
    if let Some(p) = &h.pixel_id {
        m.insert("stemma:pixels".into(), Value::String(p.clone()));
    }
    if let Some(d) = &h.data_id {
        m.insert("stemma:data".into(), Value::String(d.clone()));
    }
    Value::Object(m)
}

fn activity_attributes(h: &Hit) -> Value {
    let mut m = Map::new();
    let r = h.record.as_ref();
    let created = r.and_then(|r| r.get("created")).and_then(Value::as_str);
    if let Some(c) = created {
        m.insert("prov:endTime".into(), Value::String(c.to_string()));
    }
    let generator = h.generator.clone();
    let fields: [(&str, Option<Value>); 8] = [
        ("stemma:generator", generator.map(Value::String)),
        ("stemma:prompt", h.prompt.clone().map(Value::String)),
        ("stemma:seed", h.seed.clone().map(Value::String)),
        ("stemma:steps", h.steps.map(Value::from)),
        ("stemma:cfg", h.cfg.map(Value::from)),
        ("stemma:sampler", h.sampler.clone().map(Value::String)),
        ("stemma:model", h.model.clone().map(Value::String)),
        (
            "stemma:negative",
            r.and_then(|r| r.pointer("/prompt/negative")).cloned(),
        ),
    ];
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert(k.into(), v);
        }
    }
    Value::Object(m)
}

/// Every image reachable from `start` through parent or child edges.
fn connected(cat: &Catalog, start: i64) -> Result<BTreeSet<i64>> {
    let mut seen = HashSet::from([start]);
    let mut todo = vec![start];
    while let Some(id) = todo.pop() {
        let mut next: Vec<i64> = parents(cat, id)?.into_iter().filter_map(|p| p.3).collect();
        next.extend(children(cat, id)?.into_iter().map(|c| c.1));
        for n in next {
            if seen.insert(n) {
                todo.push(n);
            }
        }
    }
    Ok(seen.into_iter().collect())
}
