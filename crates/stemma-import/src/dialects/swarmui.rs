//! SwarmUI / StableSwarmUI (generators.md §8, `mcmonkeyprojects/SwarmUI:docs/Image Metadata Format.md`): a JSON
//! document with `sui_image_params` in PNG text `parameters`, in Exif `UserComment` (JPEG/WebP, UTF-16 in either
//! byte order — resolved by the container layer), or, for legacy StableSwarmUI < 0.5.8, in Exif `0x0110` (`Model`).

use serde_json::{Map, Value};
use stemma_container::Entry;
use stemma_model::{Lora, ModelRef, Settings};

use super::helpers::{
    json_f64, json_seed, json_text, json_u64, new_record, parse_json_lenient, put_extra,
    raw_entries,
};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The SwarmUI importer.
pub struct SwarmUi;

const ID: &str = "swarmui";

/// `sui_image_params` keys with a normalised meaning.
const MAPPED: &[&str] = &[
    "prompt",
    "negativeprompt",
    "seed",
    "steps",
    "cfgscale",
    "sampler",
    "scheduler",
    "model",
    "width",
    "height",
    "swarm_version",
    "loras",
    "loraweights",
];

fn find<'a>(evidence: &Evidence<'a>) -> Option<(&'a Entry, Value)> {
    evidence.entries().find_map(|e| {
        let t = e.value.as_text()?;
        if !t.contains("sui_image_params") {
            return None;
        }
        let v = parse_json_lenient(t)?;
        is_swarm_doc(&v).then_some((e, v))
    })
}

/// Swarm lists are JSON lists or comma-separated strings.
fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(json_text).collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// Build a record from a SwarmUI metadata document (without `raw`, which the caller fills).
pub(crate) fn record_from_doc(doc: &Value, dialect: &'static str) -> Imported {
    let empty = Map::new();
    let sp = doc
        .get("sui_image_params")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let version = sp.get("swarm_version").and_then(json_text);
    let mut record = new_record("swarmui", version, dialect);
    let prompt = record.prompt_mut();
    prompt.positive = sp.get("prompt").and_then(json_text);
    prompt.negative = sp.get("negativeprompt").and_then(json_text);
    let p = record.params_mut();
    p.seed = sp.get("seed").and_then(json_seed);
    p.steps = sp.get("steps").and_then(json_u64);
    p.cfg_scale = sp.get("cfgscale").and_then(json_f64);
    p.sampler = sp.get("sampler").and_then(json_text);
    p.scheduler = sp.get("scheduler").and_then(json_text);
    p.width = sp.get("width").and_then(json_u64);
    p.height = sp.get("height").and_then(json_u64);
    if let Some(model) = sp.get("model").and_then(json_text) {
        // `sui_models` names the file (`name.safetensors`) and its tensor hash.
        let hash = doc
            .get("sui_models")
            .and_then(Value::as_array)
            .and_then(|models| {
                models
                    .iter()
                    .find(|m| m.get("param").and_then(Value::as_str) == Some("model"))
            })
            .and_then(|m| m.get("hash"))
            .and_then(json_text);
        p.model = Some(ModelRef {
            name: Some(model),
            hash,
            ..ModelRef::default()
        });
    }
    let names = list(sp.get("loras"));
    let weights = list(sp.get("loraweights"));
    p.loras = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| Lora {
            name,
            weight: weights.get(i).and_then(|w| w.parse().ok()),
            ..Lora::default()
        })
        .collect();
    for (k, v) in sp {
        if !MAPPED.contains(&k.as_str()) {
            put_extra(&mut p.extra, k, v.clone());
        }
    }
    if let Some(obj) = doc.as_object() {
        for (k, v) in obj {
            if k != "sui_image_params" {
                put_extra(&mut p.extra, k, v.clone());
            }
        }
    }
    record.settings = Some(Settings {
        format: Some("swarmui-json".into()),
        data: Some(doc.clone()),
        ..Settings::default()
    });
    Imported {
        dialect,
        record,
        warnings: Vec::new(),
    }
}

/// True when a JSON document is SwarmUI's.
pub(crate) fn is_swarm_doc(doc: &Value) -> bool {
    doc.get("sui_image_params").is_some_and(Value::is_object)
}

fn import(evidence: &Evidence, entry: &Entry, doc: &Value) -> Imported {
    let mut imported = record_from_doc(doc, ID);
    imported.record.raw = raw_entries(evidence, |e| std::ptr::eq(e, entry), |_| false);
    imported
}

impl Importer for SwarmUi {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "SwarmUI and legacy StableSwarmUI (PNG, JPEG and WebP in both Exif byte orders)"
    }
    fn detection_rule(&self) -> &'static str {
        "JSON with `sui_image_params` in PNG text `parameters`, Exif UserComment or legacy Exif 0x0110"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(find(evidence).is_some(), Confidence::Strong)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let (entry, doc) = find(evidence).ok_or(Error::Parse {
            dialect: ID,
            reason: "no sui_image_params found".into(),
        })?;
        Ok(import(evidence, entry, &doc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::dialects::helpers::text_metadata as meta;

    #[test]
    fn exif_usercomment_and_legacy_model_tag() {
        let doc = r#"{"sui_image_params": {"prompt": "cat", "model": "OfficialStableDiffusion/sd_xl_base_1.0", "seed": 1, "steps": 20, "cfgscale": "4.5", "width": 1024, "height": 1024, "loras": "a,b", "loraweights": "0.5,1", "swarm_version": "0.9.3.1"}, "sui_models": [{"name": "x.safetensors", "param": "model", "hash": "0x22"}]}"#;
        for (key, origin) in [("UserComment", "exif"), ("Model", "exif")] {
            let m = meta(&[(origin, key, doc)]);
            let ev = Evidence::new(&m);
            assert_eq!(SwarmUi.detect(&ev), Confidence::Strong);
            let r = SwarmUi.import(&ev).unwrap().record;
            assert_eq!(r.prompt.as_ref().unwrap().negative, None);
            let p = r.params.unwrap();
            assert_eq!(p.cfg_scale, Some(4.5));
            assert_eq!(p.model.unwrap().hash.as_deref(), Some("0x22"));
            assert_eq!(p.loras.len(), 2);
            assert_eq!(p.loras[0].weight, Some(0.5));
            assert_eq!(r.generator.unwrap().version.as_deref(), Some("0.9.3.1"));
        }
    }
}
