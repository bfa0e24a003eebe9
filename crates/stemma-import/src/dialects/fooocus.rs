//! The Fooocus family (generators.md §7): Fooocus ≥ 2.2 (`parameters` + `fooocus_scheme` in PNG; Exif
//! UserComment + MakerNote scheme + `Software: Fooocus v…` in JPEG/WebP; scheme `fooocus` = sorted JSON, scheme
//! `a1111` = infotext), Fooocus-MRE (PNG `Comment` JSON) and RuinedFooocus (`parameters` JSON with
//! `"software": "RuinedFooocus"`).

use serde_json::{Map, Value};
use stemma_container::Entry;
use stemma_model::{Lora, ModelRef, Settings};

use super::a1111::import_infotext;
use super::helpers::{
    json_f64, json_seed, json_text, json_u64, new_record, parse_json_lenient, parse_size,
    put_extra, raw_entries,
};
use super::infotext::looks_like_infotext;
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The Fooocus-family importer.
pub struct Fooocus;

const ID: &str = "fooocus";

/// One JSON layout: generator id, settings format, and the key of each normalised field.
struct Layout {
    generator: &'static str,
    format: &'static str,
    prompt: &'static str,
    negative: &'static str,
    seed: &'static str,
    steps: &'static str,
    cfg: &'static str,
    sampler: &'static str,
    scheduler: &'static str,
    model: &'static str,
    model_hash: &'static str,
    clip_skip: &'static str,
    denoise: &'static str,
}

/// Fooocus `fooocus` scheme (`modules/meta_parser.py`).
const FOOOCUS: Layout = Layout {
    generator: "fooocus",
    format: "fooocus-json",
    prompt: "prompt",
    negative: "negative_prompt",
    seed: "seed",
    steps: "steps",
    cfg: "guidance_scale",
    sampler: "sampler",
    scheduler: "scheduler",
    model: "base_model",
    model_hash: "base_model_hash",
    clip_skip: "clip_skip",
    denoise: "denoising_strength",
};

/// RuinedFooocus (`enslo/sd-metadata:samples/png/ruined-fooocus.png`).
const RUINED: Layout = Layout {
    generator: "ruinedfooocus",
    format: "ruinedfooocus-json",
    prompt: "Prompt",
    negative: "Negative",
    seed: "seed",
    steps: "steps",
    cfg: "cfg",
    sampler: "sampler_name",
    scheduler: "scheduler",
    model: "base_model_name",
    model_hash: "base_model_hash",
    clip_skip: "clip_skip",
    denoise: "denoise",
};

/// Fooocus-MRE `Comment` JSON (`receyuki/stable-diffusion-prompt-reader:sd_prompt_reader/format/fooocus.py`).
const MRE: Layout = Layout {
    generator: "fooocus-mre",
    format: "fooocus-mre-json",
    prompt: "prompt",
    negative: "negative_prompt",
    seed: "seed",
    steps: "steps",
    cfg: "cfg",
    sampler: "sampler",
    scheduler: "scheduler",
    model: "base_model",
    model_hash: "base_model_hash",
    clip_skip: "clip_skip",
    denoise: "denoising_strength",
};

enum Found<'a> {
    Json(&'a Entry, Map<String, Value>, &'static Layout, Confidence),
    Infotext(&'a Entry),
}

fn scheme(evidence: &Evidence) -> Option<String> {
    evidence
        .entries()
        .find(|e| e.key == "fooocus_scheme" || e.key == "MakerNote")
        .and_then(|e| e.value.as_text())
        .map(|t| t.trim_matches('\0').trim().to_ascii_lowercase())
        .filter(|s| s == "fooocus" || s == "a1111")
}

fn fooocus_software(evidence: &Evidence) -> bool {
    evidence.entries().any(|e| {
        e.key == "Software"
            && e.value
                .as_text()
                .is_some_and(|t| t.trim_matches('\0').trim_start().starts_with("Fooocus"))
    })
}

fn find<'a>(evidence: &Evidence<'a>) -> Option<Found<'a>> {
    let scheme = scheme(evidence);
    let marked = scheme.is_some() || fooocus_software(evidence);
    for e in evidence.entries() {
        let Some(text) = e.value.as_text() else {
            continue;
        };
        let is_params = (e.origin.starts_with("png:") && e.key == "parameters")
            || (e.key == "UserComment" && marked);
        let is_mre = e.origin.starts_with("png:") && e.key == "Comment";
        if !is_params && !is_mre {
            continue;
        }
        if let Some(Value::Object(obj)) = parse_json_lenient(text) {
            let software = obj.get("software").and_then(Value::as_str).unwrap_or("");
            if software.starts_with("RuinedFooocus") {
                return Some(Found::Json(e, obj, &RUINED, Confidence::Strong));
            }
            if is_mre {
                if software.starts_with("Fooocus")
                    || (obj.contains_key("prompt") && obj.contains_key("base_model"))
                {
                    return Some(Found::Json(e, obj, &MRE, Confidence::Strong));
                }
                continue;
            }
            if marked {
                return Some(Found::Json(e, obj, &FOOOCUS, Confidence::Strong));
            }
            // Fooocus JSON whose `fooocus_scheme` chunk was lost (generators.md §2, heuristic).
            if obj.contains_key("prompt") && obj.contains_key("base_model") {
                return Some(Found::Json(e, obj, &FOOOCUS, Confidence::Weak));
            }
        } else if is_params && scheme.as_deref() == Some("a1111") && looks_like_infotext(text) {
            return Some(Found::Infotext(e));
        }
    }
    None
}

fn import_json(
    evidence: &Evidence,
    entry: &Entry,
    obj: &Map<String, Value>,
    layout: &Layout,
) -> Imported {
    let version = obj
        .get("version")
        .and_then(Value::as_str)
        .map(|v| v.trim_start_matches("Fooocus").trim().to_string());
    let mut record = new_record(layout.generator, version, ID);
    let prompt = record.prompt_mut();
    prompt.positive = obj.get(layout.prompt).and_then(json_text);
    prompt.negative = obj.get(layout.negative).and_then(json_text);
    let p = record.params_mut();
    p.seed = obj.get(layout.seed).and_then(json_seed);
    p.steps = obj.get(layout.steps).and_then(json_u64);
    p.cfg_scale = obj.get(layout.cfg).and_then(json_f64);
    p.sampler = obj.get(layout.sampler).and_then(json_text);
    p.scheduler = obj.get(layout.scheduler).and_then(json_text);
    p.clip_skip = obj.get(layout.clip_skip).and_then(json_u64);
    p.denoise = obj.get(layout.denoise).and_then(json_f64);
    let name = obj.get(layout.model).and_then(json_text);
    let hash = obj.get(layout.model_hash).and_then(json_text);
    if name.is_some() || hash.is_some() {
        p.model = Some(ModelRef {
            name,
            hash,
            ..ModelRef::default()
        });
    }
    let size = obj
        .get("resolution")
        .and_then(Value::as_str)
        .and_then(parse_size);
    p.width = size
        .map(|s| s.0)
        .or_else(|| obj.get("width").and_then(json_u64));
    p.height = size
        .map(|s| s.1)
        .or_else(|| obj.get("height").and_then(json_u64));
    p.loras = obj.get("loras").map(loras).unwrap_or_default();
    let mapped = [
        layout.prompt,
        layout.negative,
        layout.seed,
        layout.steps,
        layout.cfg,
        layout.sampler,
        layout.scheduler,
        layout.clip_skip,
        layout.denoise,
        layout.model,
        layout.model_hash,
        "version",
        "width",
        "height",
    ];
    for (k, v) in obj {
        let mapped_here = mapped.contains(&k.as_str())
            || (k == "resolution" && size.is_some())
            || (k == "loras" && v.is_array());
        if !mapped_here && !v.is_null() {
            put_extra(&mut p.extra, k, v.clone());
        }
    }
    record.settings = Some(Settings {
        format: Some(layout.format.into()),
        data: Some(Value::Object(obj.clone())),
        ..Settings::default()
    });
    record.raw = raw_entries(evidence, |e| std::ptr::eq(e, entry), |_| false);
    Imported {
        dialect: ID,
        record,
        warnings: Vec::new(),
    }
}

/// Fooocus LoRA lists: `[[name, weight, hash?], …]`, `[{name|model, weight}, …]` or `["name : weight", …]`.
fn loras(v: &Value) -> Vec<Lora> {
    let Some(list) = v.as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|item| {
            let (name, weight, hash) = match item {
                Value::Array(a) => (
                    a.first().and_then(json_text),
                    a.get(1).and_then(json_f64),
                    a.get(2).and_then(json_text),
                ),
                Value::Object(o) => (
                    o.get("name").or_else(|| o.get("model")).and_then(json_text),
                    o.get("weight").and_then(json_f64),
                    o.get("hash").and_then(json_text),
                ),
                Value::String(s) => match s.rsplit_once(':') {
                    Some((n, w)) => (Some(n.trim().to_string()), w.trim().parse().ok(), None),
                    None => (Some(s.clone()), None, None),
                },
                _ => (None, None, None),
            };
            let name = name.filter(|n| !n.is_empty() && n != "None")?;
            Some(Lora {
                name,
                weight,
                hash,
                ..Lora::default()
            })
        })
        .collect()
}

impl Importer for Fooocus {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "Fooocus ≥ 2.2 (fooocus and a1111 schemes), Fooocus-MRE, RuinedFooocus"
    }
    fn detection_rule(&self) -> &'static str {
        "text `fooocus_scheme` / Exif MakerNote scheme or `Software: Fooocus v…`; `parameters` JSON with `\"software\": \"RuinedFooocus\"`; PNG `Comment` JSON (MRE); `parameters` JSON with `prompt` + `base_model` (weak)"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        match find(evidence) {
            Some(Found::Json(_, _, _, c)) => c,
            Some(Found::Infotext(_)) => Confidence::Strong,
            None => Confidence::No,
        }
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        match find(evidence) {
            Some(Found::Json(entry, obj, layout, _)) => {
                Ok(import_json(evidence, entry, &obj, layout))
            }
            Some(Found::Infotext(entry)) => {
                let mut imported = import_infotext(evidence, entry, ID)?;
                if let Some(g) = imported.record.generator.as_mut() {
                    g.name = "fooocus".into();
                }
                Ok(imported)
            }
            None => Err(Error::Parse {
                dialect: ID,
                reason: "no Fooocus metadata found".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::dialects::helpers::text_metadata as meta;

    #[test]
    fn fooocus_jpeg_layout_with_makernote_scheme() {
        let json = r#"{"prompt": "a fish", "negative_prompt": "", "seed": "6952411511246973023", "steps": 30, "guidance_scale": 4, "sampler": "dpmpp_2m_sde_gpu", "scheduler": "karras", "base_model": "juggernaut", "resolution": "(768, 1280)", "loras": [["lcm.safetensors", 0.5, "abc"]], "version": "Fooocus v2.4.3"}"#;
        let m = meta(&[
            ("exif", "UserComment", json),
            ("exif", "Software", "Fooocus v2.4.3"),
            ("exif", "MakerNote", "fooocus"),
        ]);
        let ev = Evidence::new(&m);
        assert_eq!(Fooocus.detect(&ev), Confidence::Strong);
        let r = Fooocus.import(&ev).unwrap().record;
        let g = r.generator.as_ref().unwrap();
        assert_eq!(
            (g.name.as_str(), g.version.as_deref()),
            ("fooocus", Some("v2.4.3"))
        );
        let p = r.params.unwrap();
        assert_eq!(p.seed.as_deref(), Some("6952411511246973023"));
        assert_eq!((p.width, p.height), (Some(768), Some(1280)));
        assert_eq!(p.loras[0].weight, Some(0.5));
    }

    #[test]
    fn ruined_fooocus_and_a1111_scheme() {
        let m = meta(&[(
            "png:tEXt",
            "parameters",
            r#"{"Prompt": "p", "Negative": "n", "cfg": 8, "seed": 2, "software": "RuinedFooocus"}"#,
        )]);
        let r = Fooocus.import(&Evidence::new(&m)).unwrap().record;
        assert_eq!(r.generator.unwrap().name, "ruinedfooocus");
        assert_eq!(r.prompt.unwrap().negative.as_deref(), Some("n"));
        let m = meta(&[
            (
                "png:tEXt",
                "parameters",
                "p\nSteps: 30, Seed: 1, Version: Fooocus v2.4.3",
            ),
            ("png:tEXt", "fooocus_scheme", "a1111"),
        ]);
        let ev = Evidence::new(&m);
        assert_eq!(Fooocus.detect(&ev), Confidence::Strong);
        assert_eq!(
            Fooocus.import(&ev).unwrap().record.generator.unwrap().name,
            "fooocus"
        );
    }
}
