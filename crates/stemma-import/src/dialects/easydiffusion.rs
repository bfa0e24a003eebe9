//! Easy Diffusion (generators.md §9; format from `easydiffusion/sdkit:sdkit/utils/file_utils.py` `save_dicts`,
//! no public sample): with `metadata_output_format` `embed`, PNG gets **one text chunk per key** (raw keys such as
//! `use_stable_diffusion_model`, or display keys such as `Stable Diffusion model`); JPEG/WebP get Exif
//! `UserComment` = JSON of the same dictionary; the `txt` sidecar holds `Key: value` lines with display keys.

use serde_json::{Map, Value};
use stemma_model::{Lora, ModelRef, Settings};

use super::helpers::{
    json_f64, json_seed, json_text, json_u64, new_record, parse_json_lenient, put_extra,
    raw_entries,
};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The Easy Diffusion importer.
pub struct EasyDiffusion;

const ID: &str = "easydiffusion";

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Prompt,
    Negative,
    Seed,
    Model,
    Sampler,
    Steps,
    Cfg,
    Width,
    Height,
    ClipSkip,
    Denoise,
    Vae,
    Lora,
    LoraWeight,
}

/// (raw key, display key, field).
const KEYS: &[(&str, &str, Field)] = &[
    ("prompt", "Prompt", Field::Prompt),
    ("negative_prompt", "Negative Prompt", Field::Negative),
    ("seed", "Seed", Field::Seed),
    (
        "use_stable_diffusion_model",
        "Stable Diffusion model",
        Field::Model,
    ),
    ("sampler_name", "Sampler", Field::Sampler),
    ("num_inference_steps", "Steps", Field::Steps),
    ("guidance_scale", "Guidance Scale", Field::Cfg),
    ("width", "Width", Field::Width),
    ("height", "Height", Field::Height),
    ("clip_skip", "Clip Skip", Field::ClipSkip),
    ("prompt_strength", "Prompt Strength", Field::Denoise),
    ("use_vae_model", "VAE model", Field::Vae),
    ("use_lora_model", "LoRA model", Field::Lora),
    ("lora_alpha", "LoRA Strength", Field::LoraWeight),
];

/// The model keys that mark the dialect.
const MARKERS: &[&str] = &["use_stable_diffusion_model", "Stable Diffusion model"];

/// The Easy Diffusion dictionary of the evidence: PNG text chunks, an Exif/any JSON with a marker key, or a
/// `Key: value` sidecar text with a marker line.
fn dictionary(evidence: &Evidence) -> Option<Map<String, Value>> {
    let png_marker = evidence.entries().any(|e| {
        e.origin.starts_with("png:")
            && MARKERS.contains(&e.key.as_str())
            && e.value.as_text().is_some()
    });
    if png_marker {
        let png: Map<String, Value> = evidence
            .entries()
            .filter(|e| e.origin.starts_with("png:"))
            .filter_map(|e| Some((e.key.clone(), Value::String(e.value.as_text()?.to_string()))))
            .collect();
        return Some(png);
    }
    for e in evidence.entries() {
        let Some(t) = e.value.as_text() else { continue };
        if !MARKERS.iter().any(|m| t.contains(m)) {
            continue;
        }
        if let Some(Value::Object(obj)) = parse_json_lenient(t) {
            if MARKERS.iter().any(|m| obj.contains_key(*m)) {
                return Some(obj);
            }
        }
        if e.origin.starts_with("sidecar") || e.origin.starts_with("file:") {
            let lines: Map<String, Value> = t
                .lines()
                .filter_map(|l| l.split_once(": "))
                .map(|(k, v)| (k.trim().to_string(), Value::String(v.trim().to_string())))
                .collect();
            if MARKERS.iter().any(|m| lines.contains_key(*m)) {
                return Some(lines);
            }
        }
    }
    None
}

/// A value that may be a list (`["a", "b"]`, `['a', 'b']`, `a,b`) as a list of strings.
fn list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(json_text).collect(),
        Value::String(s) => {
            let t = s.trim().trim_start_matches('[').trim_end_matches(']');
            t.split(',')
                .map(|x| x.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
                .filter(|x| !x.is_empty() && x != "None")
                .collect()
        }
        other => json_text(other).into_iter().collect(),
    }
}

impl Importer for EasyDiffusion {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "Easy Diffusion (embedded PNG text per key, Exif JSON, txt/json sidecars)"
    }
    fn detection_rule(&self) -> &'static str {
        "key `use_stable_diffusion_model` (or display key `Stable Diffusion model`) in PNG text, a JSON, or a sidecar"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(dictionary(evidence).is_some(), Confidence::Strong)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let dict = dictionary(evidence).ok_or(Error::Parse {
            dialect: ID,
            reason: "no Easy Diffusion keys".into(),
        })?;
        let mut record = new_record("easydiffusion", None, ID);
        let mut loras: Vec<String> = Vec::new();
        let mut weights: Vec<String> = Vec::new();
        for (key, value) in &dict {
            let Some((_, _, field)) = KEYS.iter().find(|(r, d, _)| key == r || key == d) else {
                put_extra(&mut record.params_mut().extra, key, value.clone());
                continue;
            };
            let text = json_text(value);
            match field {
                Field::Prompt => record.prompt_mut().positive = text,
                Field::Negative => record.prompt_mut().negative = text,
                Field::Seed => record.params_mut().seed = json_seed(value),
                Field::Model => {
                    record.params_mut().model = text.map(|name| ModelRef {
                        name: Some(name),
                        ..ModelRef::default()
                    })
                }
                Field::Sampler => record.params_mut().sampler = text,
                Field::Steps => record.params_mut().steps = json_u64(value),
                Field::Cfg => record.params_mut().cfg_scale = json_f64(value),
                Field::Width => record.params_mut().width = json_u64(value),
                Field::Height => record.params_mut().height = json_u64(value),
                Field::ClipSkip => {
                    // Easy Diffusion stores a boolean (`True` = skip the last layer, i.e. clip skip 2).
                    let p = record.params_mut();
                    match value {
                        Value::Bool(b) => p.clip_skip = Some(if *b { 2 } else { 1 }),
                        Value::String(s) if s == "True" || s == "False" => {
                            p.clip_skip = Some(if s == "True" { 2 } else { 1 })
                        }
                        other => p.clip_skip = json_u64(other),
                    }
                }
                Field::Denoise => record.params_mut().denoise = json_f64(value),
                Field::Vae => {
                    record.params_mut().vae =
                        text.filter(|t| !t.is_empty() && t != "None")
                            .map(|name| ModelRef {
                                name: Some(name),
                                ..ModelRef::default()
                            })
                }
                Field::Lora => loras = list(value),
                Field::LoraWeight => weights = list(value),
            }
        }
        record.params_mut().loras = loras
            .into_iter()
            .enumerate()
            .map(|(i, name)| Lora {
                name,
                weight: weights.get(i).and_then(|w| w.parse().ok()),
                ..Lora::default()
            })
            .collect();
        record.settings = Some(Settings {
            format: Some("easydiffusion".into()),
            data: Some(Value::Object(dict)),
            ..Settings::default()
        });
        record.raw = raw_entries(
            evidence,
            |e| {
                e.origin.starts_with("png:")
                    || e.key == "UserComment"
                    || e.origin.starts_with("sidecar")
            },
            |_| false,
        );
        Ok(Imported {
            dialect: ID,
            record,
            warnings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stemma_container::Metadata;

    use crate::dialects::helpers::text_entry as entry;

    #[test]
    fn one_png_chunk_per_key() {
        let m = Metadata {
            entries: vec![
                entry("png:tEXt", "prompt", "a fox"),
                entry("png:tEXt", "seed", "42"),
                entry("png:tEXt", "use_stable_diffusion_model", "sd-v1-5"),
                entry("png:tEXt", "num_inference_steps", "25"),
                entry("png:tEXt", "guidance_scale", "7.5"),
                entry("png:tEXt", "use_lora_model", "['a', 'b']"),
                entry("png:tEXt", "lora_alpha", "[0.5, 1]"),
                entry("png:tEXt", "use_face_correction", "GFPGANv1.4"),
            ],
            ..Metadata::default()
        };
        let ev = Evidence::new(&m);
        assert_eq!(EasyDiffusion.detect(&ev), Confidence::Strong);
        let p = EasyDiffusion.import(&ev).unwrap().record.params.unwrap();
        assert_eq!(p.steps, Some(25));
        assert_eq!(p.cfg_scale, Some(7.5));
        assert_eq!(p.loras[1].name, "b");
        assert_eq!(p.loras[0].weight, Some(0.5));
        assert_eq!(p.extra["use_face_correction"], "GFPGANv1.4");
    }

    #[test]
    fn exif_json_and_sidecar_display_keys() {
        let m = Metadata {
            entries: vec![entry(
                "exif",
                "UserComment",
                r#"{"prompt": "a fox", "seed": 42, "use_stable_diffusion_model": "sd", "width": 512}"#,
            )],
            ..Metadata::default()
        };
        assert_eq!(
            EasyDiffusion
                .import(&Evidence::new(&m))
                .unwrap()
                .record
                .params
                .unwrap()
                .width,
            Some(512)
        );
        let m = Metadata {
            entries: vec![entry(
                "sidecar",
                "txt",
                "Prompt: a fox\nSeed: 42\nStable Diffusion model: sd\nClip Skip: True\n",
            )],
            ..Metadata::default()
        };
        let r = EasyDiffusion.import(&Evidence::new(&m)).unwrap().record;
        assert_eq!(r.positive(), Some("a fox"));
        assert_eq!(r.params.unwrap().clip_skip, Some(2));
    }
}
