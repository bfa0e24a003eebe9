//! Civitai's on-site generator with the ComfyUI backend (generators.md §12): Exif `UserComment` holds the API
//! graph with a `resource-stack` node and an `extraMetadata` JSON *string* (`prompt`, `negativePrompt`,
//! `cfgScale`, `steps`, `seed`, `sampler`, `workflowId`, `resources`). Civitai's A1111-backend images
//! (`Civitai resources:` in infotext) are read by the A1111 importer.
//!
//! A Civitai download that kept only the site's job marker (IFD0 `Software` = the job UUID, `Artist` = `ai`; Civitai's
//! own `isMadeOnSite()`) and no recipe is still recognised as Civitai's, weakly, with nothing but the generator
//! filled in (generators.md §12, "Civitai, stripped").

use serde_json::Value;
use stemma_container::Entry;
use stemma_model::{ModelRef, Settings};

use super::a1111::made_on_civitai;
use super::helpers::{
    graph, json_f64, json_seed, json_text, json_u64, new_record, parse_json_lenient, put_extra,
    raw_entries,
};
use super::infotext::looks_like_infotext;
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The Civitai (ComfyUI backend) importer.
pub struct Civitai;

const ID: &str = "civitai";

fn find<'a>(evidence: &Evidence<'a>) -> Option<(&'a Entry, Value)> {
    evidence.entries().find_map(|e| {
        let t = e.value.as_text()?;
        if !t.contains("extraMetadata") && !t.contains("resource-stack") {
            return None;
        }
        let v = parse_json_lenient(t)?;
        (v.get("extraMetadata").is_some() || v.get("resource-stack").is_some()).then_some((e, v))
    })
}

/// The job marker and no text another importer reads (infotext or JSON): the A1111 backend's infotext, with the
/// same marker, stays the A1111 importer's.
fn marker_only(evidence: &Evidence) -> bool {
    made_on_civitai(evidence)
        && !evidence.entries().any(|e| {
            e.value.as_text().is_some_and(|t| {
                let t = t.trim_matches('\0').trim();
                looks_like_infotext(t) || parse_json_lenient(t).is_some_and(|v| v.is_object())
            })
        })
}

/// A record that says only "made on Civitai": the marker carries no recipe, so nothing else is filled in.
fn import_marker(evidence: &Evidence) -> Imported {
    let mut record = new_record("civitai", None, ID);
    record.raw = raw_entries(
        evidence,
        |e| e.origin == "exif" && (e.key == "Software" || e.key == "Artist"),
        |_| false,
    );
    Imported {
        dialect: ID,
        record,
        warnings: vec![
            "only Civitai's on-site job marker (Software = job id, Artist = ai); no recipe".into(),
        ],
    }
}

fn import(evidence: &Evidence, entry: &Entry, doc: &Value) -> Imported {
    let mut warnings = Vec::new();
    let extra = match doc.get("extraMetadata") {
        Some(Value::String(s)) => parse_json_lenient(s).unwrap_or_else(|| {
            warnings.push("extraMetadata is not JSON".to_string());
            Value::Null
        }),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let mut record = new_record("civitai", None, ID);
    let text = |k: &str| extra.get(k).and_then(json_text);
    let prompt = record.prompt_mut();
    prompt.positive = text("prompt");
    prompt.negative = text("negativePrompt");
    let p = record.params_mut();
    p.seed = extra
        .get("seed")
        .and_then(json_seed)
        .or_else(|| graph::sampler_value(doc, &["seed", "noise_seed"]).and_then(json_seed));
    p.steps = extra
        .get("steps")
        .and_then(json_u64)
        .or_else(|| graph::sampler_value(doc, &["steps"]).and_then(json_u64));
    p.cfg_scale = extra
        .get("cfgScale")
        .and_then(json_f64)
        .or_else(|| graph::sampler_value(doc, &["cfg"]).and_then(json_f64));
    p.sampler = text("sampler")
        .or_else(|| graph::sampler_value(doc, &["sampler_name"]).and_then(json_text));
    p.scheduler = graph::sampler_value(doc, &["scheduler"]).and_then(json_text);
    p.denoise = graph::sampler_value(doc, &["denoise"])
        .and_then(json_f64)
        .filter(|d| *d < 1.0);
    if let Some(ckpt) = graph::inputs(doc, "resource-stack")
        .and_then(|i| i.get("ckpt_name"))
        .and_then(json_text)
    {
        p.model = Some(ModelRef {
            name: Some(ckpt),
            ..ModelRef::default()
        });
    }
    if let Some((w, h)) = graph::first_sampler_size(doc) {
        p.width = Some(w);
        p.height = Some(h);
    }
    if let Some(obj) = extra.as_object() {
        for (k, v) in obj {
            if ![
                "prompt",
                "negativePrompt",
                "steps",
                "cfgScale",
                "sampler",
                "seed",
            ]
            .contains(&k.as_str())
            {
                put_extra(&mut p.extra, k, v.clone());
            }
        }
    }
    if let Some(airs) = doc.get("extra") {
        put_extra(&mut p.extra, "extra", airs.clone());
    }
    record.settings = Some(Settings {
        format: Some("comfyui-api".into()),
        data: Some(doc.clone()),
        ..Settings::default()
    });
    record.raw = raw_entries(evidence, |e| std::ptr::eq(e, entry), |_| false);
    Imported {
        dialect: ID,
        record,
        warnings,
    }
}

impl Importer for Civitai {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "Civitai on-site generator, ComfyUI backend (A1111 backend: see a1111)"
    }
    fn detection_rule(&self) -> &'static str {
        "JSON with `extraMetadata` or a `resource-stack` node (Exif UserComment or any text entry); weak: only the on-site marker Exif `Software` = job UUID + `Artist` = `ai`"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        if find(evidence).is_some() {
            Confidence::Strong
        } else {
            Confidence::when(marker_only(evidence), Confidence::Weak)
        }
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        if find(evidence).is_none() && marker_only(evidence) {
            return Ok(import_marker(evidence));
        }
        let (entry, doc) = find(evidence).ok_or(Error::Parse {
            dialect: ID,
            reason: "no Civitai graph found".into(),
        })?;
        Ok(import(evidence, entry, &doc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stemma_container::{Metadata, Value as V};

    #[test]
    fn graph_with_extra_metadata() {
        let doc = serde_json::json!({
            "resource-stack": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "urn:air:sdxl:checkpoint:civitai:1@2"}},
            "23": {"class_type": "ImageScale", "inputs": {"width": 1536, "height": 1536, "image": ["17", 0]}},
            "21": {"class_type": "VAEEncode", "inputs": {"pixels": ["23", 0]}},
            "11": {"class_type": "KSampler", "inputs": {"sampler_name": "euler_ancestral", "scheduler": "normal", "seed": 5, "steps": 25, "cfg": 5, "denoise": 0.3, "latent_image": ["21", 0]}},
            "extraMetadata": "{\"prompt\":\"p\",\"negativePrompt\":\"n\",\"steps\":25,\"cfgScale\":5,\"sampler\":\"euler_ancestral\",\"seed\":5}"
        });
        let m = Metadata {
            entries: vec![Entry {
                origin: "exif".into(),
                key: "UserComment".into(),
                value: V::Text(doc.to_string()),
                after_image_data: false,
                encoding: None,
            }],
            ..Metadata::default()
        };
        let ev = Evidence::new(&m);
        assert_eq!(Civitai.detect(&ev), Confidence::Strong);
        let r = Civitai.import(&ev).unwrap().record;
        let p = r.params.unwrap();
        assert_eq!((p.width, p.height), (Some(1536), Some(1536)));
        assert_eq!(p.scheduler.as_deref(), Some("normal"));
        assert_eq!(p.denoise, Some(0.3));
        assert_eq!(
            p.model.unwrap().name.as_deref(),
            Some("urn:air:sdxl:checkpoint:civitai:1@2")
        );
        assert_eq!(r.prompt.unwrap().negative.as_deref(), Some("n"));
    }
}
