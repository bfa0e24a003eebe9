//! ComfyUI: the executed API graph (`prompt`) and the editor graph (`workflow`), wherever a saver put them.
//!
//! Places read (generators.md §4.1): PNG text chunks `prompt`/`workflow` (any of tEXt/zTXt/iTXt); APNG private
//! `comf` chunks (`key\0json`); WebP/JPEG EXIF tags with a `prompt:`/`workflow:` prefix (core savers) or
//! `Prompt: `/`Workflow: ` (save-image-extended); a JSON `{"prompt": …, "workflow": …}` in any text entry
//! (SaveImage+ in UserComment); an API graph as the whole of a text entry (Civitai's ComfyUI backend in
//! UserComment). Parameters come from the API graph (see `comfyui_graph.rs`); a workflow-only file is converted
//! to an API graph first (`comfyui_workflow.rs`).

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine;
use serde_json::{json, Map, Value};
use stemma_container::{Entry, Format, Limits, Value as EntryValue};
use stemma_model::{Hires, Lora, ModelRef, Params, Parent, RawEntry, Record, Settings};

use super::comfyui_graph::{Analysis, Graph, SamplerFacts, Text};
use super::comfyui_shape::Shape;
use super::comfyui_workflow::workflow_to_api;
use super::helpers::{new_record, parse_json_lenient};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

const ID: &str = "comfyui";

/// The ComfyUI importer.
pub struct ComfyUi;

/// What a metadata entry holds for ComfyUI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The API graph.
    Api,
    /// The editor workflow.
    Workflow,
    /// `{"prompt": {...}, "workflow": {...}}` in one value.
    Both,
}

/// A ComfyUI document found in an entry: which entry, what it is, and its JSON text.
#[derive(Debug, Clone)]
struct Found<'a> {
    entry: usize,
    kind: Kind,
    /// Borrowed from the entry where it can be (no copy of the graph for `detect`).
    json: Cow<'a, str>,
}

impl Found<'_> {
    fn into_owned(self) -> Found<'static> {
        Found {
            entry: self.entry,
            kind: self.kind,
            json: Cow::Owned(self.json.into_owned()),
        }
    }
}

/// Split `prompt:{…}` / `Workflow: {…}` into the lower-case prefix and the JSON.
fn split_prefix(text: &str) -> Option<(String, &str)> {
    let (prefix, rest) = text.split_once(':')?;
    if prefix.is_empty()
        || prefix.len() > 16
        || !prefix.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
    {
        return None;
    }
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    rest.trim_start()
        .starts_with('{')
        .then(|| (prefix.to_ascii_lowercase(), rest))
}

fn looks_like_api(text: &str) -> bool {
    text.contains("\"class_type\"")
}

fn looks_like_workflow(text: &str) -> bool {
    text.contains("\"nodes\"") && text.contains("\"links\"")
}

/// The ComfyUI document in one text value. `key`: the PNG keyword, EXIF tag or XMP property name; `png`: the
/// value is a PNG text chunk (where only the keys `prompt`/`workflow` are ComfyUI's).
fn classify_text<'r>(index: usize, key: &str, png: bool, raw: &'r str) -> Option<Found<'r>> {
    let found = |kind, json: &'r str| {
        Some(Found {
            entry: index,
            kind,
            json: Cow::Borrowed(json),
        })
    };
    let text = raw.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    // The content decides what a document is; the key only says that it is ComfyUI's.
    let by_content = |json: &'r str| {
        if json.starts_with("{\"prompt\"") && looks_like_api(json) {
            found(Kind::Both, json)
        } else if looks_like_api(json) {
            found(Kind::Api, json)
        } else if looks_like_workflow(json) {
            found(Kind::Workflow, json)
        } else {
            None
        }
    };
    if text.starts_with('{') {
        return match key {
            "prompt" | "workflow" => by_content(text),
            _ if png => None,
            _ if looks_like_api(text) => by_content(text),
            _ if looks_like_workflow(text) && text.contains("\"last_node_id\"") => {
                found(Kind::Workflow, text)
            }
            _ => None,
        };
    }
    let (prefix, json) = split_prefix(text)?;
    match prefix.as_str() {
        "prompt" | "workflow" => {
            by_content(json.trim_end_matches(|c: char| c == '\0' || c.is_whitespace()))
        }
        _ => None,
    }
}

/// The ComfyUI documents of one entry, without parsing JSON except inside XMP (cheap: used by `detect`).
fn classify<'e>(index: usize, entry: &'e Entry, limits: &Limits) -> Vec<Found<'e>> {
    match &entry.value {
        EntryValue::Bytes(bytes) if entry.origin == "png:comf" => {
            let Some(nul) = bytes.iter().position(|&b| b == 0) else {
                return Vec::new();
            };
            let key = String::from_utf8_lossy(&bytes[..nul]).to_string();
            // Latin-1, as SaveAnimatedPNG writes it.
            let text: String = bytes[nul + 1..].iter().map(|&b| char::from(b)).collect();
            classify_text(index, &key, true, &text)
                .map(Found::into_owned)
                .into_iter()
                .collect()
        }
        EntryValue::Bytes(_) => Vec::new(),
        EntryValue::Text(text) if entry.origin == "xmp" || entry.key == "XML:com.adobe.xmp" => {
            // Savers that put the graph into XMP: one property per document.
            if !text.contains("class_type") && !text.contains("last_node_id") {
                return Vec::new();
            }
            let Ok(doc) = stemma_container::xmp::parse(text, limits) else {
                return Vec::new();
            };
            doc.properties
                .iter()
                .flat_map(|p| {
                    p.values
                        .iter()
                        .map(move |v| (p.name.to_ascii_lowercase(), v))
                })
                .filter_map(|(name, v)| {
                    classify_text(index, &name, false, v).map(Found::into_owned)
                })
                .collect()
        }
        EntryValue::Text(text) => {
            classify_text(index, &entry.key, entry.origin.starts_with("png:"), text)
                .into_iter()
                .collect()
        }
    }
}

fn find_all<'a>(evidence: &Evidence<'a>) -> Vec<Found<'a>> {
    evidence
        .entries()
        .enumerate()
        .flat_map(|(i, e)| classify(i, e, &evidence.limits))
        .collect()
}

/// Other dialects that also carry a ComfyUI `prompt` graph next to their own, primary layer.
fn other_primary_layer(evidence: &Evidence) -> bool {
    evidence.entries().any(|e| {
        matches!(
            e.key.as_str(),
            "generation_data" | "smproj" | "parameters-json" | "invokeai_metadata"
        ) || (e.key == "parameters"
            && e.value
                .as_text()
                .is_some_and(|t| t.contains("sui_image_params")))
    })
}

impl Importer for ComfyUi {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "ComfyUI core savers (PNG, APNG, WebP), comfy-image-saver, save-image-extended, SaveImage+, \
         SaveImageWithMetaData PNG; Civitai's ComfyUI backend"
    }
    fn detection_rule(&self) -> &'static str {
        "an API graph (`class_type` nodes) or a workflow (`nodes`/`links`) in PNG text `prompt`/`workflow`, \
         APNG `comf` chunks, EXIF `prompt:`/`workflow:` (any case) prefixes, or a JSON UserComment; Weak when \
         SwarmUI/TensorArt/Stability Matrix/InvokeAI markers are present"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        if find_all(evidence).is_empty() {
            Confidence::No
        } else if other_primary_layer(evidence) {
            Confidence::Weak
        } else {
            Confidence::Strong
        }
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        import_comfyui(evidence)
    }
}

fn parse_doc(found: &Found, warnings: &mut Vec<String>) -> Option<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(&found.json) {
        return Some(v);
    }
    let Some(v) = parse_json_lenient(&found.json) else {
        // Data after the document (a tag read past its end): take the first JSON value.
        let first = serde_json::Deserializer::from_str(&found.json)
            .into_iter::<Value>()
            .next()
            .and_then(|r| r.ok())
            .filter(Value::is_object)?;
        warnings.push("data after the end of the ComfyUI JSON ignored".into());
        return Some(first);
    };
    warnings.push(format!(
        "{} JSON is not strict JSON (bare NaN/Infinity or trailing NULs); read leniently",
        match found.kind {
            Kind::Api => "prompt",
            Kind::Workflow => "workflow",
            Kind::Both => "prompt/workflow",
        }
    ));
    Some(v)
}

/// The editor workflow found: built, or (next to an API graph, where only its marks are used) only checked.
enum Workflow<'f> {
    Built(Value),
    /// Strict JSON, an object whose `nodes` is an array and without duplicate member names; built only when
    /// there is no API graph.
    Checked {
        found: &'f Found<'f>,
        civitai_marks: bool,
    },
}

fn import_comfyui(evidence: &Evidence) -> Result<Imported> {
    let mut warnings = Vec::new();
    let mut api: Option<(usize, Value)> = None;
    let mut workflow: Option<(usize, Workflow)> = None;
    let all = find_all(evidence);
    for found in &all {
        // A document the text calls a workflow, or any document once the API graph is found, is checked first
        // and built only when it must be.
        if found.kind == Kind::Workflow || api.is_some() {
            if let Ok(shape) = serde_json::from_str::<Shape>(&found.json) {
                if !shape.object {
                    // Strict JSON that is no object: neither a graph nor a workflow.
                    continue;
                }
                if !shape.duplicate_key && !shape.has_nodes && shape.nodes_array {
                    if workflow.is_none() {
                        workflow = Some((
                            found.entry,
                            Workflow::Checked {
                                found,
                                civitai_marks: shape.civitai_marks,
                            },
                        ));
                    }
                    continue;
                }
                if !shape.duplicate_key && shape.has_nodes && api.is_some() {
                    continue;
                }
            }
        }
        let Some(doc) = parse_doc(found, &mut warnings) else {
            warnings.push(format!(
                "entry {} holds ComfyUI JSON that cannot be parsed",
                found.entry
            ));
            continue;
        };
        // What the document really is: a wrapper `{"workflow": …, "prompt": …}` in any key order is both.
        let has_nodes = doc
            .as_object()
            .is_some_and(|o| o.values().any(|v| v.get("class_type").is_some()));
        let kind = if has_nodes {
            Kind::Api
        } else if doc.get("nodes").is_some_and(Value::is_array) {
            Kind::Workflow
        } else {
            Kind::Both
        };
        match kind {
            Kind::Api if api.is_none() => api = Some((found.entry, doc)),
            Kind::Workflow if workflow.is_none() => {
                workflow = Some((found.entry, Workflow::Built(doc)))
            }
            Kind::Both => {
                let mut doc = doc;
                if api.is_none() {
                    if let Some(p) = doc.get_mut("prompt").filter(|p| p.is_object()) {
                        api = Some((found.entry, p.take()));
                    }
                }
                if workflow.is_none() {
                    if let Some(w) = doc.get_mut("workflow").filter(|w| w.is_object()) {
                        workflow = Some((found.entry, Workflow::Built(w.take())));
                    }
                }
            }
            _ => {}
        }
    }
    let preferred: &[&str] = match evidence.metadata.format {
        Format::Webp => &["SaveAnimatedWEBP"],
        Format::Png if evidence.metadata.frames.is_some_and(|f| f > 1) => &["SaveAnimatedPNG"],
        _ => &["SaveImage"],
    };
    // Without an API graph the workflow is used: build it now (it is strict JSON, so nothing is warned).
    let workflow: Option<(usize, Workflow)> = match workflow {
        Some((i, Workflow::Checked { found, .. })) if api.is_none() => {
            parse_doc(found, &mut warnings).map(|doc| (i, Workflow::Built(doc)))
        }
        other => other,
    };
    let used: Vec<usize> = api
        .iter()
        .map(|(i, _)| *i)
        .chain(workflow.iter().map(|(i, _)| *i))
        .collect();
    let civitai = is_civitai(api.as_ref().map(|a| &a.1))
        || workflow.as_ref().is_some_and(|(_, wf)| match wf {
            Workflow::Built(doc) => workflow_marks(doc),
            Workflow::Checked { civitai_marks, .. } => *civitai_marks,
        });
    let workflow: Option<(usize, Value)> = workflow.and_then(|(i, wf)| match wf {
        Workflow::Built(doc) => Some((i, doc)),
        Workflow::Checked { .. } => None,
    });
    let mut record = new_record(if civitai { "civitai" } else { "comfyui" }, None, ID);

    // A workflow-only file is converted to an API graph first.
    let converted = match (&api, &workflow) {
        (None, Some((_, wf))) => {
            warnings.push(
                "only the editor workflow is stored (no executed graph): values read from node widgets".into(),
            );
            workflow_to_api(wf)
        }
        _ => None,
    };
    let graph = match (&api, &converted) {
        (Some((_, doc)), _) => Graph::from_api(doc),
        (None, Some(converted)) => Graph::from_api(converted),
        (None, None) => None,
    };
    let Some(graph) = graph else {
        if api.is_none() && workflow.is_none() {
            return Err(Error::Parse {
                dialect: ID,
                reason: "no parseable ComfyUI graph".into(),
            });
        }
        warnings.push("the ComfyUI document holds no nodes".into());
        record.raw = raw(evidence, &used);
        return Ok(Imported {
            dialect: ID,
            record,
            warnings,
        });
    };
    let analysis = graph.analyse(preferred);
    warnings.extend(analysis.warnings.iter().cloned());
    apply(&analysis, &mut record);
    drop(analysis);
    drop(graph);
    // The graph borrowed the document; now it moves into the settings without a copy.
    let settings = match (api, workflow) {
        (Some((_, doc)), _) => Settings {
            format: Some("comfyui-api".into()),
            data: Some(doc),
            ..Settings::default()
        },
        (None, wf) => Settings {
            format: Some("comfyui-workflow".into()),
            data: wf.map(|(_, wf)| wf),
            ..Settings::default()
        },
    };
    record.settings = Some(settings);
    record.raw = raw(evidence, &used);
    Ok(Imported {
        dialect: ID,
        record,
        warnings,
    })
}

/// Civitai's on-site generator (ComfyUI backend) marks its graphs with `extraMetadata`, a `resource-stack` node
/// or AIR lists in `extra`.
fn is_civitai(api: Option<&Value>) -> bool {
    api.and_then(Value::as_object).is_some_and(|o| {
        o.contains_key("extraMetadata")
            || o.contains_key("resource-stack")
            || o.get("extra").is_some_and(|e| e.get("airs").is_some())
    })
}

/// Civitai's marks in an editor workflow (`extra.airs`, `extra.ckpt_airs`).
fn workflow_marks(workflow: &Value) -> bool {
    workflow
        .get("extra")
        .is_some_and(|e| e.get("airs").is_some() || e.get("ckpt_airs").is_some())
}

/// Every entry verbatim; byte entries (APNG `comf`) as base64.
fn raw(evidence: &Evidence, used: &[usize]) -> Vec<RawEntry> {
    evidence
        .entries()
        .enumerate()
        .map(|(i, e)| {
            let (text, base64) = match &e.value {
                EntryValue::Text(t) => (Some(t.clone()), None),
                EntryValue::Bytes(b) => (
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(b)),
                ),
            };
            RawEntry {
                origin: e.origin.clone(),
                key: Some(e.key.clone()),
                text,
                base64,
                used: used.contains(&i),
                ..RawEntry::default()
            }
        })
        .collect()
}

/// The common value of a set: `Some` only when every member has the same value.
fn common<T: PartialEq + Clone>(mut items: impl Iterator<Item = Option<T>>) -> Option<T> {
    let first = items.next()??;
    for item in items {
        if item.as_ref() != Some(&first) {
            return None;
        }
    }
    Some(first)
}

fn text_of(t: &Option<Text>) -> Option<String> {
    t.as_ref().and_then(|t| t.known()).map(str::to_string)
}

fn sampler_json(f: &SamplerFacts) -> Value {
    let mut m = Map::new();
    m.insert("node".into(), json!(f.node));
    m.insert("class".into(), json!(f.class));
    m.insert("role".into(), json!(f.role));
    m.insert("seed".into(), json!(f.seed));
    m.insert("steps".into(), json!(f.steps));
    m.insert("cfg".into(), json!(f.cfg));
    m.insert("sampler".into(), json!(f.sampler));
    m.insert("scheduler".into(), json!(f.scheduler));
    m.insert("denoise".into(), json!(f.denoise));
    m.insert("model".into(), json!(f.model));
    if let Some(g) = f.guidance {
        m.insert("guidance".into(), json!(g));
    }
    Value::Object(m)
}

/// Fill the record from the analysis: numbers from the first pass, texts from the final pass.
fn apply(analysis: &Analysis, record: &mut Record) {
    let by_id: HashMap<&str, &SamplerFacts> = analysis
        .samplers
        .iter()
        .filter(|f| f.role != "detailer")
        .map(|f| (f.node.as_str(), f))
        .collect();
    let stage = |i: Option<&Vec<String>>| -> Vec<&SamplerFacts> {
        i.map(|ids| {
            ids.iter()
                .filter_map(|id| by_id.get(id.as_str()).copied())
                .collect()
        })
        .unwrap_or_default()
    };
    let firsts = stage(analysis.stages.last());
    let finals = stage(analysis.stages.first());
    let mut params = Params {
        seed: common(firsts.iter().map(|f| f.seed.clone())),
        steps: common(firsts.iter().map(|f| f.steps)),
        cfg_scale: common(firsts.iter().map(|f| f.cfg)),
        sampler: common(firsts.iter().map(|f| f.sampler.clone())),
        scheduler: common(firsts.iter().map(|f| f.scheduler.clone())),
        ..Params::default()
    };
    if let Some(name) = common(firsts.iter().map(|f| f.model.clone())) {
        params.model = Some(ModelRef {
            name: Some(name),
            ..ModelRef::default()
        });
    }
    if let Some((w, h)) = analysis.size {
        params.width = Some(w);
        params.height = Some(h);
    }
    let denoise = common(firsts.iter().map(|f| f.denoise));
    if denoise.is_some_and(|d| d < 1.0) || !analysis.files.is_empty() {
        params.denoise = denoise;
    }
    if let Some(first) = firsts.first() {
        params.loras = first
            .loras
            .iter()
            .map(|(name, weight)| Lora {
                name: name.clone(),
                weight: *weight,
                ..Lora::default()
            })
            .collect();
    }
    params.clip_skip = finals.iter().chain(firsts.iter()).find_map(|f| f.clip_skip);
    if analysis.stages.len() > 1 {
        params.hires = Some(Hires {
            upscaler: analysis.upscaler.clone(),
            scale: analysis.hires_scale,
            steps: common(finals.iter().map(|f| f.steps)),
            denoise: common(finals.iter().map(|f| f.denoise)),
            width: analysis.hires_size.map(|s| s.0),
            height: analysis.hires_size.map(|s| s.1),
            ..Hires::default()
        });
    }
    if let Some(vae) = &analysis.vae {
        params.vae = Some(ModelRef {
            name: Some(vae.clone()),
            ..ModelRef::default()
        });
    }
    if analysis.stages.len() == 1 && (analysis.upscaler.is_some() || analysis.output_size.is_some())
    {
        // Upscaled after the last pass, without resampling.
        let mut up = Map::new();
        if let Some(u) = &analysis.upscaler {
            up.insert("upscaler".into(), json!(u));
        }
        if let Some((w, h)) = analysis.output_size {
            up.insert("width".into(), json!(w));
            up.insert("height".into(), json!(h));
        }
        params.extra.insert("upscale".into(), Value::Object(up));
    }
    if let Some(g) = common(finals.iter().map(|f| f.guidance)) {
        params.extra.insert("guidance".into(), json!(g));
    }
    if !analysis.samplers.is_empty() {
        params.extra.insert(
            "samplers".into(),
            Value::Array(analysis.samplers.iter().map(sampler_json).collect()),
        );
    }
    if let Some(out) = &analysis.output {
        params.extra.insert("output_node".into(), json!(out));
    }
    if !analysis.candidates.is_empty() {
        let outputs: Vec<Value> = analysis
            .candidates
            .iter()
            .map(|(node, stages)| json!({"node": node, "samplers": stages}))
            .collect();
        params
            .extra
            .insert("output_candidates".into(), Value::Array(outputs));
    }
    for (key, texts) in [
        (
            "computed_positive",
            finals.iter().map(|f| &f.positive).collect::<Vec<_>>(),
        ),
        (
            "computed_negative",
            finals.iter().map(|f| &f.negative).collect(),
        ),
    ] {
        let composed = common(texts.into_iter().map(|t| match t {
            Some(Text::Computed(s)) => Some(s.clone()),
            _ => None,
        }));
        if let Some(text) = composed {
            params.extra.insert(key.into(), json!(text));
        }
    }
    let positive = common(finals.iter().map(|f| text_of(&f.positive)));
    let negative = common(finals.iter().map(|f| text_of(&f.negative)));
    if positive.is_some() || negative.is_some() {
        let p = record.prompt_mut();
        p.positive = positive;
        p.negative = negative;
    }
    record.parents = analysis
        .files
        .iter()
        .map(|(relation, file)| Parent {
            relation: (*relation).to_string(),
            hint: Some(file.clone()),
            ..Parent::default()
        })
        .collect();
    if !params.is_empty() {
        record.params = Some(params);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stemma_container::Metadata;

    use crate::dialects::helpers::text_entry as entry;

    fn meta(entries: Vec<Entry>) -> Metadata {
        Metadata {
            entries,
            ..Metadata::default()
        }
    }

    const GRAPH: &str = r#"{"3":{"class_type":"KSampler","inputs":{"seed":18446744073709551615,"steps":20,"cfg":7.5,
        "sampler_name":"euler","scheduler":"normal","denoise":1.0,"model":["4",0],"positive":["6",0],
        "negative":["7",0],"latent_image":["5",0]}},
        "4":{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"m.safetensors"}},
        "5":{"class_type":"EmptyLatentImage","inputs":{"width":640,"height":448,"batch_size":1}},
        "6":{"class_type":"CLIPTextEncode","inputs":{"text":"a cat","clip":["4",1]}},
        "7":{"class_type":"CLIPTextEncode","inputs":{"text":"blurry","clip":["4",1]}},
        "8":{"class_type":"VAEDecode","inputs":{"samples":["3",0],"vae":["4",2]}},
        "9":{"class_type":"SaveImage","inputs":{"images":["8",0]}}}"#;

    fn import_one(m: &Metadata) -> Imported {
        let ev = Evidence::new(m);
        assert_eq!(ComfyUi.detect(&ev), Confidence::Strong);
        ComfyUi.import(&ev).unwrap()
    }

    #[test]
    fn png_prompt_chunk_is_read_with_an_exact_64_bit_seed() {
        let m = meta(vec![entry("png:tEXt", "prompt", GRAPH)]);
        let r = import_one(&m).record;
        let p = r.params.unwrap();
        assert_eq!(p.seed.as_deref(), Some("18446744073709551615"));
        assert_eq!(p.steps, Some(20));
        assert_eq!(p.width, Some(640));
        assert_eq!(r.prompt.unwrap().positive.as_deref(), Some("a cat"));
        assert_eq!(r.settings.unwrap().format.as_deref(), Some("comfyui-api"));
        assert!(r.raw[0].used);
    }

    #[test]
    fn exif_prefixes_in_any_case_are_read() {
        for (key, text) in [
            ("Model", format!("prompt:{GRAPH}")),
            ("Make", format!("Prompt: {GRAPH}")),
        ] {
            let m = meta(vec![
                entry(
                    "exif",
                    "ImageDescription",
                    "Workflow: {\"nodes\":[],\"links\":[]}",
                ),
                entry("exif", key, &text),
            ]);
            let r = import_one(&m).record;
            assert_eq!(r.params.unwrap().cfg_scale, Some(7.5));
        }
    }

    #[test]
    fn saveimage_plus_wrapper_in_user_comment_is_read() {
        let text =
            format!("{{\"prompt\": {GRAPH}, \"workflow\": {{\"nodes\": [], \"links\": []}}}}");
        let m = meta(vec![entry("exif", "UserComment", &text)]);
        let r = import_one(&m).record;
        assert_eq!(r.prompt.unwrap().negative.as_deref(), Some("blurry"));
    }

    #[test]
    fn wrapper_with_workflow_first_is_read() {
        let text =
            format!("{{\"workflow\": {{\"nodes\": [], \"links\": []}}, \"prompt\": {GRAPH}}}");
        let m = meta(vec![entry("jpeg:COM", "comment", &text)]);
        let r = import_one(&m).record;
        assert_eq!(r.params.unwrap().steps, Some(20));
    }

    #[test]
    fn apng_comf_chunk_is_read() {
        let mut bytes = b"prompt\0".to_vec();
        bytes.extend_from_slice(GRAPH.as_bytes());
        let m = meta(vec![Entry {
            origin: "png:comf".into(),
            key: "data".into(),
            value: EntryValue::Bytes(bytes),
            after_image_data: true,
            encoding: None,
        }]);
        let r = import_one(&m).record;
        assert_eq!(
            r.params.unwrap().model.unwrap().name.as_deref(),
            Some("m.safetensors")
        );
        assert!(r.raw[0].base64.is_some());
    }

    #[test]
    fn nan_in_the_graph_is_read_leniently_with_a_warning() {
        let text = GRAPH.replace("\"denoise\":1.0", "\"denoise\":NaN");
        let m = meta(vec![entry("png:tEXt", "prompt", &text)]);
        let imported = import_one(&m);
        assert!(imported.warnings.iter().any(|w| w.contains("NaN")));
        assert_eq!(imported.record.params.unwrap().steps, Some(20));
    }

    #[test]
    fn swarmui_parameters_make_detection_weak() {
        let m = meta(vec![
            entry("png:tEXt", "parameters", "{\"sui_image_params\":{}}"),
            entry("png:tEXt", "prompt", GRAPH),
        ]);
        assert_eq!(ComfyUi.detect(&Evidence::new(&m)), Confidence::Weak);
    }

    #[test]
    fn non_comfy_metadata_is_not_claimed() {
        let m = meta(vec![
            entry("png:tEXt", "parameters", "a cat\nSteps: 20, Seed: 1"),
            entry("png:tEXt", "prompt", "a cat"),
            entry("exif", "Make", "Canon"),
        ]);
        assert_eq!(ComfyUi.detect(&Evidence::new(&m)), Confidence::No);
    }

    #[test]
    fn civitai_graph_is_named_civitai() {
        let text = GRAPH.replacen('{', "{\"extraMetadata\":\"{}\",", 1);
        let m = meta(vec![entry("exif", "UserComment", &text)]);
        let r = import_one(&m).record;
        assert_eq!(r.generator.unwrap().name, "civitai");
    }

    #[test]
    fn graph_in_an_xmp_property_and_a_jpeg_comment_workflow_are_read() {
        let escaped = GRAPH
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;");
        let packet = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description rdf:about=\"\" xmlns:comfy=\"https://example.org/comfy/\" comfy:prompt=\"{escaped}\"/>\
             </rdf:RDF></x:xmpmeta>"
        );
        let m = meta(vec![entry("xmp", "packet", &packet)]);
        let r = import_one(&m).record;
        assert_eq!(
            r.params.unwrap().seed.as_deref(),
            Some("18446744073709551615")
        );

        let wf = r#"{"last_node_id": 1, "nodes": [{"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["w.ckpt"]}], "links": []}"#;
        let m = meta(vec![entry("jpeg:COM", "comment", wf)]);
        let imported = import_one(&m);
        assert!(imported
            .warnings
            .iter()
            .any(|w| w.contains("only the editor workflow")));
    }

    #[test]
    fn workflow_only_file_yields_its_widget_values_and_links_stay_unknown() {
        let wf = r#"{"last_node_id": 9, "nodes": [
            {"id": 4, "type": "CheckpointLoaderSimple", "mode": 0, "widgets_values": ["w.safetensors"]},
            {"id": 5, "type": "EmptyLatentImage", "mode": 0, "widgets_values": [768, 512, 1]},
            {"id": 6, "type": "CLIPTextEncode", "mode": 0, "inputs": [{"name": "clip", "link": 3}], "widgets_values": ["a boat"]},
            {"id": 7, "type": "CLIPTextEncode", "mode": 0, "inputs": [{"name": "text", "link": 8, "widget": {"name": "text"}}], "widgets_values": ["stale"]},
            {"id": 8, "type": "SomeTextGenerator", "mode": 0, "widgets_values": ["x"]},
            {"id": 3, "type": "KSampler", "mode": 0,
             "inputs": [{"name": "model", "link": 1}, {"name": "positive", "link": 4}, {"name": "negative", "link": 5},
                        {"name": "latent_image", "link": 2}],
             "widgets_values": [123, "fixed", 25, 6.5, "euler", "karras", 1.0]},
            {"id": 9, "type": "SaveImage", "mode": 0, "inputs": [{"name": "images", "link": 7}], "widgets_values": ["x"]},
            {"id": 10, "type": "VAEDecode", "mode": 0, "inputs": [{"name": "samples", "link": 6}]}
          ],
          "links": [[1, 4, 0, 3, 0, "MODEL"], [2, 5, 0, 3, 3, "LATENT"], [3, 4, 1, 6, 0, "CLIP"],
                    [4, 6, 0, 3, 1, "CONDITIONING"], [5, 7, 0, 3, 2, "CONDITIONING"], [6, 3, 0, 10, 0, "LATENT"],
                    [7, 10, 0, 9, 0, "IMAGE"], [8, 8, 0, 7, 1, "STRING"]]}"#;
        let m = meta(vec![entry("png:tEXt", "workflow", wf)]);
        let imported = import_one(&m);
        let r = imported.record;
        let p = r.params.unwrap();
        assert_eq!(p.seed.as_deref(), Some("123"));
        assert_eq!(p.steps, Some(25));
        assert_eq!(p.cfg_scale, Some(6.5));
        assert_eq!(p.scheduler.as_deref(), Some("karras"));
        assert_eq!((p.width, p.height), (Some(768), Some(512)));
        assert_eq!(p.model.unwrap().name.as_deref(), Some("w.safetensors"));
        let prompt = r.prompt.unwrap();
        assert_eq!(prompt.positive.as_deref(), Some("a boat"));
        assert_eq!(
            prompt.negative, None,
            "a linked text widget is decided at run time"
        );
        assert_eq!(
            r.settings.unwrap().format.as_deref(),
            Some("comfyui-workflow")
        );
    }
}
