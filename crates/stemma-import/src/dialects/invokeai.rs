//! InvokeAI, every generation of its metadata (generators.md §5):
//! 1.x `Dream` (a CLI command line), 2.x `sd-metadata` (JSON next to `Dream`), 3.x–6.x `invokeai_metadata`
//! (flat JSON) with `invokeai_graph` / `invokeai_workflow`. When only the graph survives, its `core_metadata`
//! node (with the values linked into it by edges) stands in for `invokeai_metadata`.
//!
//! 1.x/2.x keep the negative prompt inside the prompt as `[bracketed]` parts; they are split out. When both `Dream`
//! and `sd-metadata` are there, the prompt comes from the `Dream` command line: it is the text as typed, weights
//! included (`blue sphere:0.5 red cube:0.5`), while `sd-metadata` stores it split into weighted parts.
//!
//! JPEG output keeps the same documents in COM segments (`invokeai_graph: {…}`, or a JSON object whose keys are the
//! PNG keys); they are read like the PNG text chunks.

use std::borrow::Cow;

use serde_json::{Map, Value};
use stemma_model::{Lora, ModelRef, Params, Parent, Record, Settings};

use super::helpers::{json_f64, json_seed, json_u64, new_record, parse_json_lenient, raw_entries};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

const ID: &str = "invokeai";

/// The InvokeAI importer.
pub struct InvokeAi;

const KEYS: &[&str] = &[
    "invokeai_metadata",
    "invokeai_graph",
    "invokeai_workflow",
    "sd-metadata",
    "Dream",
];

/// The text of an InvokeAI key: a PNG text chunk, else a JPEG COM segment that carries it.
fn invoke_text<'a>(evidence: &Evidence<'a>, key: &str) -> Option<Cow<'a, str>> {
    if let Some(t) = evidence.text(key) {
        return Some(Cow::Borrowed(t));
    }
    evidence
        .entries()
        .filter(|e| e.origin == "jpeg:COM")
        .filter_map(|e| e.value.as_text())
        .find_map(|t| comment_value(t, key))
}

/// `key` from one COM segment: `key: <json>` / `key:<json>`, or a JSON object holding `key` (a string or a
/// document).
fn comment_value<'a>(comment: &'a str, key: &str) -> Option<Cow<'a, str>> {
    let t = comment.trim_matches('\0').trim();
    if let Some(rest) = t
        .strip_prefix(key)
        .and_then(|r| r.trim_start().strip_prefix(':'))
    {
        return Some(Cow::Borrowed(rest.trim_start()));
    }
    if !t.starts_with('{') || !t.contains(key) {
        return None;
    }
    match parse_json_lenient(t)?.get(key)? {
        Value::String(s) => Some(Cow::Owned(s.clone())),
        v @ Value::Object(_) => Some(Cow::Owned(v.to_string())),
        _ => None,
    }
}

/// The prompt of a 1.x command line as typed (before its flags).
fn dream_prompt(dream: &str) -> Option<&str> {
    let text = dream.trim();
    if let Some(body) = text.strip_prefix('"') {
        let close = body.rfind('"')?;
        Some(&body[..close])
    } else {
        Some(&text[..text.find(" -").unwrap_or(text.len())])
    }
}

impl Importer for InvokeAi {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "InvokeAI 1.x (`Dream`), 2.x (`sd-metadata`), 3.x–6.x (`invokeai_metadata`, `invokeai_graph`)"
    }
    fn detection_rule(&self) -> &'static str {
        "PNG text key (or JPEG COM segment) `invokeai_metadata`, `invokeai_graph`, `invokeai_workflow`, `sd-metadata` or `Dream`"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        let has = |k: &str| invoke_text(evidence, k).is_some();
        // A `Dream` key alone must look like the 1.x command line (`"prompt" -s 50 ...`).
        let dream = evidence
            .text("Dream")
            .is_some_and(|d| d.trim_start().starts_with('"') || d.contains(" -s"));
        if KEYS[..4].iter().any(|k| has(k)) || dream {
            Confidence::Strong
        } else {
            Confidence::No
        }
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let mut warnings = Vec::new();
        let json = |key: &str, warnings: &mut Vec<String>| -> Option<Value> {
            let text = invoke_text(evidence, key)?;
            let v = parse_json_lenient(&text);
            if v.is_none() {
                warnings.push(format!("{key}: broken JSON, ignored"));
            }
            v.filter(Value::is_object)
        };
        let mut record;
        let used_key: &str;
        let mut also_used: Option<&str> = None;
        if let Some(meta) = json("invokeai_metadata", &mut warnings) {
            record = from_v3(&meta);
            used_key = "invokeai_metadata";
            record.settings = Some(settings("invokeai-metadata", meta));
        } else if let Some(meta) =
            json("invokeai_graph", &mut warnings).and_then(|g| metadata_from_graph(&g))
        {
            warnings.push(
                "no invokeai_metadata: values read from the graph's core_metadata node".into(),
            );
            record = from_v3(&meta);
            used_key = "invokeai_graph";
            record.settings = Some(settings("invokeai-metadata", meta));
        } else if let Some(meta) = json("sd-metadata", &mut warnings) {
            record = from_v2(&meta);
            used_key = "sd-metadata";
            if let Some(prompt) = evidence.text("Dream").and_then(dream_prompt) {
                let (positive, negative) = split_negative(prompt);
                let p = record.prompt_mut();
                p.positive = Some(positive);
                p.negative = negative;
                also_used = Some("Dream");
            }
            record.settings = Some(settings("invokeai-sd-metadata", meta));
        } else if let Some(wf) = json("invokeai_workflow", &mut warnings) {
            // Only the editor workflow: its `core_metadata` node's field values, when it has one.
            used_key = "invokeai_workflow";
            record = match metadata_from_workflow(&wf) {
                Some(meta) => from_v3(&meta),
                None => {
                    warnings.push(
                        "only the editor workflow is stored; no generation values found".into(),
                    );
                    new_record(ID, None, ID)
                }
            };
            record.settings = Some(settings("invokeai-workflow", wf));
        } else if let Some(dream) = evidence.text("Dream") {
            record = from_dream(dream).ok_or(Error::Parse {
                dialect: ID,
                reason: "Dream string has no quoted prompt".into(),
            })?;
            used_key = "Dream";
        } else if let Some(key) = KEYS.iter().find(|k| invoke_text(evidence, k).is_some()) {
            // The marker is there but holds nothing readable (a graph without `core_metadata`, broken JSON):
            // keep it verbatim.
            warnings.push(format!("{key}: no generation values found"));
            record = new_record(ID, None, ID);
            used_key = key;
        } else {
            return Err(Error::Parse {
                dialect: ID,
                reason: "no readable InvokeAI metadata".into(),
            });
        }
        record.raw = raw_entries(
            evidence,
            |e| {
                e.key == used_key
                    || Some(e.key.as_str()) == also_used
                    || (e.origin == "jpeg:COM"
                        && e.value
                            .as_text()
                            .is_some_and(|t| comment_value(t, used_key).is_some()))
            },
            |_| true,
        );
        Ok(Imported {
            dialect: ID,
            record,
            warnings,
        })
    }
}

fn settings(format: &str, data: Value) -> Settings {
    Settings {
        format: Some(format.into()),
        data: Some(data),
        ..Settings::default()
    }
}

/// A model given as `{name | model_name, hash}` or as a plain string.
fn model_ref(v: &Value) -> Option<ModelRef> {
    match v {
        Value::String(s) if !s.is_empty() => Some(ModelRef {
            name: Some(s.clone()),
            ..ModelRef::default()
        }),
        Value::Object(o) => {
            let name = o
                .get("name")
                .or_else(|| o.get("model_name"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let hash = o.get("hash").and_then(Value::as_str).map(str::to_string);
            (name.is_some() || hash.is_some()).then(|| ModelRef {
                name,
                hash,
                ..ModelRef::default()
            })
        }
        _ => None,
    }
}

fn str_of(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_string)
}

/// InvokeAI 3.x–6.x `invokeai_metadata`.
fn from_v3(meta: &Value) -> Record {
    let empty = Map::new();
    let m = meta.as_object().unwrap_or(&empty);
    let mut record = new_record(ID, str_of(m, "app_version"), ID);
    let positive = str_of(m, "positive_prompt");
    let negative = str_of(m, "negative_prompt");
    if positive.is_some() || negative.is_some() {
        let p = record.prompt_mut();
        p.positive = positive;
        p.negative = negative;
    }
    let mut params = Params {
        seed: m.get("seed").and_then(json_seed),
        steps: m.get("steps").and_then(json_u64),
        cfg_scale: m.get("cfg_scale").and_then(json_f64),
        // InvokeAI calls its sampler "scheduler".
        sampler: str_of(m, "scheduler"),
        model: m.get("model").and_then(model_ref),
        vae: m.get("vae").and_then(model_ref),
        width: m.get("width").and_then(json_u64),
        height: m.get("height").and_then(json_u64),
        denoise: m.get("strength").and_then(json_f64),
        clip_skip: m.get("clip_skip").and_then(json_u64).filter(|c| *c > 0),
        ..Params::default()
    };
    for lora in m
        .get("loras")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = lora
            .get("lora")
            .or_else(|| lora.get("model"))
            .and_then(model_ref)
            .and_then(|r| r.name);
        if let Some(name) = name {
            params.loras.push(Lora {
                name,
                weight: lora.get("weight").and_then(json_f64),
                ..Lora::default()
            });
        }
    }
    const MAPPED: &[&str] = &[
        "positive_prompt",
        "negative_prompt",
        "seed",
        "steps",
        "cfg_scale",
        "scheduler",
        "model",
        "vae",
        "width",
        "height",
        "strength",
        "clip_skip",
        "loras",
        "app_version",
    ];
    for (k, v) in m {
        if !MAPPED.contains(&k.as_str()) && !v.is_null() {
            params.extra.insert(k.clone(), v.clone());
        }
    }
    if let Some(init) = m.get("init_image") {
        let name = init
            .as_str()
            .or_else(|| init.get("image_name").and_then(Value::as_str));
        if let Some(name) = name {
            record.parents.push(Parent {
                relation: "img2img".into(),
                hint: Some(name.to_string()),
                ..Parent::default()
            });
        }
    }
    if !params.is_empty() {
        record.params = Some(params);
    }
    record
}

/// The `core_metadata` node of an `invokeai_graph`, with fields fed by edges from value nodes filled in.
fn metadata_from_graph(graph: &Value) -> Option<Value> {
    let nodes = graph.get("nodes")?.as_object()?;
    let (id, node) = nodes
        .iter()
        .find(|(_, n)| n.get("type").and_then(Value::as_str) == Some("core_metadata"))?;
    let mut meta = node.as_object()?.clone();
    for edge in graph
        .get("edges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let dest = edge.get("destination");
        if dest.and_then(|d| d.get("node_id")).and_then(Value::as_str) != Some(id.as_str()) {
            continue;
        }
        let Some(field) = dest.and_then(|d| d.get("field")).and_then(Value::as_str) else {
            continue;
        };
        let source = edge.get("source");
        let value = source
            .and_then(|s| s.get("node_id"))
            .and_then(Value::as_str)
            .and_then(|sid| nodes.get(sid))
            .and_then(|n| {
                let f = source
                    .and_then(|s| s.get("field"))
                    .and_then(Value::as_str)?;
                n.get(f).or_else(|| n.get("value"))
            });
        if let Some(v) = value.filter(|v| !v.is_null()) {
            meta.insert(field.to_string(), v.clone());
        }
    }
    Some(Value::Object(meta))
}

/// The field values of the `core_metadata` node of an `invokeai_workflow` (`nodes[].data.inputs.<field>.value`).
fn metadata_from_workflow(wf: &Value) -> Option<Value> {
    let node = wf.get("nodes")?.as_array()?.iter().find(|n| {
        n.get("data")
            .and_then(|d| d.get("type"))
            .and_then(Value::as_str)
            == Some("core_metadata")
    })?;
    let inputs = node.get("data")?.get("inputs")?.as_object()?;
    let meta: Map<String, Value> = inputs
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.get("value")?.clone())))
        .filter(|(_, v)| !v.is_null())
        .collect();
    (!meta.is_empty()).then_some(Value::Object(meta))
}

/// Split `[negative]` parts out of a 1.x/2.x prompt.
fn split_negative(prompt: &str) -> (String, Option<String>) {
    let mut positive = String::new();
    let mut negatives = Vec::new();
    let mut rest = prompt;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open + 1..].find([']', '[']) else {
            break;
        };
        let close = open + 1 + close;
        if rest.as_bytes().get(close) == Some(&b'[') {
            // Nested or unbalanced bracket: keep the text as it is.
            positive.push_str(&rest[..close]);
            rest = &rest[close..];
            continue;
        }
        positive.push_str(&rest[..open]);
        negatives.push(rest[open + 1..close].trim().to_string());
        rest = &rest[close + 1..];
    }
    positive.push_str(rest);
    let negative = (!negatives.is_empty()).then(|| negatives.join(", "));
    (positive.trim().to_string(), negative)
}

/// InvokeAI 2.x `sd-metadata`.
fn from_v2(meta: &Value) -> Record {
    let version = meta
        .get("app_version")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut record = new_record(ID, version, ID);
    let image = meta.get("image").cloned().unwrap_or(Value::Null);
    let prompt_text = match image.get("prompt") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(parts)) => {
            // Several parts are the weighted sub-prompts of `text:weight text:weight`: write them back in that
            // syntax (the weights as stored, normalised by InvokeAI), not as one unweighted text.
            let weighted = parts.len() > 1;
            let texts: Vec<String> = parts
                .iter()
                .filter_map(|p| {
                    let text = p.get("prompt").and_then(Value::as_str)?;
                    Some(
                        match p.get("weight").filter(|w| weighted && w.is_number()) {
                            Some(w) => format!("{text}:{w}"),
                            None => text.to_string(),
                        },
                    )
                })
                .collect();
            (!texts.is_empty()).then(|| texts.join(" "))
        }
        _ => None,
    };
    if let Some(text) = prompt_text {
        let (positive, negative) = split_negative(&text);
        let p = record.prompt_mut();
        p.positive = Some(positive);
        p.negative = negative;
    }
    let mut params = Params {
        seed: image.get("seed").and_then(json_seed),
        steps: image.get("steps").and_then(json_u64),
        cfg_scale: image.get("cfg_scale").and_then(json_f64),
        sampler: image
            .get("sampler")
            .and_then(Value::as_str)
            .map(str::to_string),
        width: image.get("width").and_then(json_u64),
        height: image.get("height").and_then(json_u64),
        denoise: image.get("strength").and_then(json_f64),
        ..Params::default()
    };
    // 2.0–2.2 call the model `model_id`, 2.3 `model_weights`.
    let model_name = meta
        .get("model_weights")
        .or_else(|| meta.get("model_id"))
        .and_then(Value::as_str);
    let model_hash = meta.get("model_hash").and_then(Value::as_str);
    if model_name.is_some() || model_hash.is_some() {
        params.model = Some(ModelRef {
            name: model_name.map(str::to_string),
            hash: model_hash.map(str::to_string),
            ..ModelRef::default()
        });
    }
    if let Some(obj) = image.as_object() {
        for (k, v) in obj {
            if ![
                "prompt",
                "seed",
                "steps",
                "cfg_scale",
                "sampler",
                "width",
                "height",
                "strength",
            ]
            .contains(&k.as_str())
            {
                params.extra.insert(k.clone(), v.clone());
            }
        }
        if let Some(init) = obj.get("init_image_path").and_then(Value::as_str) {
            record.parents.push(Parent {
                relation: "img2img".into(),
                hint: Some(init.to_string()),
                ..Parent::default()
            });
        }
    }
    record.params = Some(params);
    record
}

/// Flags of the 1.x `Dream` command line: short name, long name, number of values.
const DREAM_FLAGS: &[(&str, &str, usize)] = &[
    ("s", "steps", 1),
    ("S", "seed", 1),
    ("W", "width", 1),
    ("H", "height", 1),
    ("C", "cfg_scale", 1),
    ("A", "sampler", 1),
    ("f", "strength", 1),
    ("I", "init_img", 1),
    ("G", "gfpgan_strength", 1),
    ("cf", "codeformer_fidelity", 1),
    ("U", "upscale", 2),
    ("n", "iterations", 1),
    ("b", "batch_size", 1),
    ("F", "fit", 0),
    ("t", "tokenize", 0),
    ("V", "variation_amount", 1),
    ("v", "variation_amount", 1),
    ("m", "model", 1),
    ("mask", "init_mask", 1),
    ("M", "init_mask", 1),
    ("seamless", "seamless", 0),
    ("embiggen", "embiggen", 1),
    ("hires", "hires_fix", 0),
];

/// Parse the flags after the prompt: `-s 50`, `-s50`, `--steps 50`, `-U 4 0.95`.
fn dream_flags(rest: &str) -> Vec<(&'static str, Vec<String>)> {
    let tokens: Vec<&str> = rest.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let tok = tokens[i];
        i += 1;
        let Some(body) = tok.strip_prefix('-') else {
            continue;
        };
        let (body, long) = match body.strip_prefix('-') {
            Some(b) => (b, true),
            None => (body, false),
        };
        let exact = DREAM_FLAGS
            .iter()
            .find(|(s, l, _)| if long { *l == body } else { *s == body });
        if let Some((_, name, arity)) = exact {
            let mut values = Vec::new();
            while values.len() < *arity && i < tokens.len() {
                values.push(tokens[i].to_string());
                i += 1;
            }
            out.push((*name, values));
            continue;
        }
        if long {
            continue;
        }
        // Attached value: the longest short flag that prefixes the token.
        let attached = DREAM_FLAGS
            .iter()
            .filter(|(s, _, arity)| *arity == 1 && body.starts_with(s) && body.len() > s.len())
            .max_by_key(|(s, ..)| s.len());
        if let Some((s, name, _)) = attached {
            out.push((*name, vec![body[s.len()..].to_string()]));
        }
    }
    out
}

/// InvokeAI 1.x `Dream`: `"<prompt>" -s 50 -S 2980747362 -W 512 -H 768 -C 5 -A k_lms`.
fn from_dream(dream: &str) -> Option<Record> {
    let text = dream.trim();
    let prompt = dream_prompt(text)?;
    let rest = if text.starts_with('"') {
        &text[prompt.len() + 2..]
    } else {
        &text[prompt.len()..]
    };
    let mut record = new_record(ID, None, ID);
    let (positive, negative) = split_negative(prompt);
    let p = record.prompt_mut();
    p.positive = Some(positive);
    p.negative = negative;
    let mut params = Params::default();
    for (name, values) in dream_flags(rest) {
        let first = values.first().map(String::as_str).unwrap_or("");
        match name {
            "steps" => params.steps = first.parse().ok(),
            "seed" => params.seed = super::helpers::seed_text(first),
            "width" => params.width = first.parse().ok(),
            "height" => params.height = first.parse().ok(),
            "cfg_scale" => params.cfg_scale = first.parse().ok(),
            "sampler" => params.sampler = Some(first.to_string()),
            "strength" => params.denoise = first.parse().ok(),
            "init_img" => record.parents.push(Parent {
                relation: "img2img".into(),
                hint: Some(first.to_string()),
                ..Parent::default()
            }),
            other => {
                let v = match values.len() {
                    0 => Value::Bool(true),
                    1 => first
                        .parse::<f64>()
                        .ok()
                        .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
                        .unwrap_or_else(|| Value::String(first.to_string())),
                    _ => Value::from(values.clone()),
                };
                params.extra.insert(other.to_string(), v);
            }
        }
    }
    record.settings = Some(settings("invokeai-dream", Value::String(dream.to_string())));
    record.params = Some(params);
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stemma_container::{Entry, Metadata, Value as V};

    fn meta(entries: &[(&str, &str)]) -> Metadata {
        Metadata {
            entries: entries
                .iter()
                .map(|(k, v)| Entry {
                    origin: "png:tEXt".into(),
                    key: k.to_string(),
                    value: V::Text(v.to_string()),
                    after_image_data: false,
                    encoding: None,
                })
                .collect(),
            ..Metadata::default()
        }
    }

    #[test]
    fn dream_flags_with_and_without_spaces() {
        for dream in [
            r#""a cat [blurry, dark]" -s 50 -S 42 -W 512 -H 768 -C 7.5 -A k_lms -G 0.9 -U 4 0.95"#,
            r#""a cat [blurry, dark]" -s50 -W512 -H768 -C7.5 -Ak_lms -S42"#,
        ] {
            let r = from_dream(dream).unwrap();
            let p = r.params.unwrap();
            assert_eq!(p.steps, Some(50), "{dream}");
            assert_eq!(p.seed.as_deref(), Some("42"));
            assert_eq!((p.width, p.height), (Some(512), Some(768)));
            assert_eq!(p.cfg_scale, Some(7.5));
            assert_eq!(p.sampler.as_deref(), Some("k_lms"));
            let prompt = r.prompt.unwrap();
            assert_eq!(prompt.positive.as_deref(), Some("a cat"));
            assert_eq!(prompt.negative.as_deref(), Some("blurry, dark"));
        }
        let p = from_dream(r#""x" -U 4 0.95 -s 10"#)
            .unwrap()
            .params
            .unwrap();
        assert_eq!(p.extra["upscale"], serde_json::json!(["4", "0.95"]));
        assert_eq!(p.steps, Some(10));
    }

    #[test]
    fn v3_metadata_maps_scheduler_to_sampler() {
        let m = meta(&[(
            "invokeai_metadata",
            r#"{"positive_prompt":"a","negative_prompt":"b","seed":1,"steps":2,"cfg_scale":3.5,
               "scheduler":"euler_a","width":8,"height":16,"model":{"name":"m","hash":"blake3:x"},
               "loras":[{"model":{"name":"l"},"weight":0.5}],"app_version":"6.10.0"}"#,
        )]);
        let ev = Evidence::new(&m);
        assert_eq!(InvokeAi.detect(&ev), Confidence::Strong);
        let r = InvokeAi.import(&ev).unwrap().record;
        let p = r.params.unwrap();
        assert_eq!(p.sampler.as_deref(), Some("euler_a"));
        assert_eq!(p.model.unwrap().hash.as_deref(), Some("blake3:x"));
        assert_eq!(p.loras[0].name, "l");
        assert_eq!(r.generator.unwrap().version.as_deref(), Some("6.10.0"));
    }

    #[test]
    fn graph_only_uses_core_metadata_and_its_edges() {
        let g = r#"{"nodes":{"p":{"type":"string","value":"a dog"},
            "c":{"type":"core_metadata","positive_prompt":null,"steps":7}},
            "edges":[{"source":{"node_id":"p","field":"value"},"destination":{"node_id":"c","field":"positive_prompt"}}]}"#;
        let m = meta(&[("invokeai_graph", g)]);
        let r = InvokeAi.import(&Evidence::new(&m)).unwrap().record;
        assert_eq!(r.prompt.unwrap().positive.as_deref(), Some("a dog"));
        assert_eq!(r.params.unwrap().steps, Some(7));
    }

    #[test]
    fn unrelated_dream_key_is_not_claimed() {
        let m = meta(&[("Dream", "sweet dreams")]);
        assert_eq!(InvokeAi.detect(&Evidence::new(&m)), Confidence::No);
    }

    #[test]
    fn workflow_only_reads_the_core_metadata_node() {
        let wf = r#"{"nodes":[{"id":"a","type":"invocation","data":{"type":"core_metadata",
            "inputs":{"positive_prompt":{"name":"positive_prompt","value":"a cat"},"seed":{"value":5}}}}],"edges":[]}"#;
        let m = meta(&[("invokeai_workflow", wf)]);
        let r = InvokeAi.import(&Evidence::new(&m)).unwrap().record;
        assert_eq!(r.prompt.unwrap().positive.as_deref(), Some("a cat"));
        assert_eq!(r.params.unwrap().seed.as_deref(), Some("5"));
        assert_eq!(
            r.settings.unwrap().format.as_deref(),
            Some("invokeai-workflow")
        );
    }
}
