//! NovelAI (generators.md §6): PNG text chunks `Title`, `Description`, `Software`, `Source`, `Generation time`,
//! `Comment` (JSON); WebP Exif (`Software` = source, `ImageDescription` = prompt behind four NULs, `UserComment`
//! = JSON of the whole text dictionary); the stealth alpha copy (a JSON object of the same fields, see
//! `stealth.rs`). Legacy 2022 images have no `prompt` in `Comment` (the prompt is `Description`); V4/V4.5 add
//! `v4_prompt` / `v4_negative_prompt` with per-character captions, kept in `params.extra`.

use serde_json::{Map, Value};
use stemma_model::{ModelRef, RawEntry, Settings};

use super::helpers::{
    json_f64, json_seed, json_text, json_u64, new_record, parse_json_lenient, put_extra,
    raw_entries,
};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The NovelAI importer.
pub struct NovelAi;

const ID: &str = "novelai";

/// The text fields NovelAI writes.
const FIELDS: &[&str] = &[
    "Title",
    "Description",
    "Software",
    "Source",
    "Generation time",
    "Comment",
];

/// `Comment` keys with a normalised meaning.
const MAPPED: &[&str] = &[
    "prompt",
    "uc",
    "seed",
    "steps",
    "scale",
    "sampler",
    "noise_schedule",
    "width",
    "height",
];

fn is_novelai_software(text: &str) -> bool {
    text.trim_matches('\0').trim_start().starts_with("NovelAI")
}

/// The NovelAI text fields of the evidence: PNG text chunks, else the Exif `UserComment` dictionary, else the
/// WebP Exif tag mapping (`Software` ← Source, `ImageDescription` ← Description).
pub(crate) fn fields(evidence: &Evidence) -> Map<String, Value> {
    let mut out = Map::new();
    for e in evidence.entries().filter(|e| e.origin.starts_with("png:")) {
        if let (true, Some(t)) = (FIELDS.contains(&e.key.as_str()), e.value.as_text()) {
            out.entry(e.key.clone())
                .or_insert_with(|| Value::String(t.to_string()));
        }
    }
    if out.contains_key("Comment") || out.contains_key("Description") {
        return out;
    }
    for e in evidence.entries().filter(|e| e.key == "UserComment") {
        if let Some(Value::Object(dict)) = e.value.as_text().and_then(parse_json_lenient) {
            if dict.contains_key("Comment")
                || dict
                    .get("Software")
                    .and_then(Value::as_str)
                    .is_some_and(is_novelai_software)
            {
                return dict;
            }
        }
    }
    for e in evidence.entries().filter(|e| e.origin.starts_with("exif")) {
        let Some(t) = e.value.as_text() else { continue };
        let key = match e.key.as_str() {
            "Software" if is_novelai_software(t) && t.contains("Diffusion") => "Source",
            "Software" => "Software",
            "ImageDescription" => "Description",
            "DocumentName" => "Title",
            _ => continue,
        };
        out.entry(key.to_string())
            .or_insert_with(|| Value::String(t.to_string()));
    }
    out
}

/// True when the fields are NovelAI's.
pub(crate) fn is_novelai(fields: &Map<String, Value>) -> bool {
    ["Software", "Source"]
        .iter()
        .filter_map(|k| fields.get(*k).and_then(Value::as_str))
        .any(is_novelai_software)
}

/// Build a record from NovelAI text fields.
pub(crate) fn import_fields(
    fields: &Map<String, Value>,
    raw: Vec<RawEntry>,
    dialect: &'static str,
) -> Result<Imported> {
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .map(|s| s.trim_matches('\0').to_string())
    };
    let comment = match fields.get("Comment") {
        Some(Value::String(s)) => Some(parse_json_lenient(s).ok_or_else(|| Error::Parse {
            dialect,
            reason: "Comment is not JSON".into(),
        })?),
        Some(v @ Value::Object(_)) => Some(v.clone()),
        _ => None,
    };
    let empty = Map::new();
    let c = comment
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut record = new_record("novelai", None, dialect);
    let caption = |k: &str| {
        c.get(k)
            .and_then(|v| v.pointer("/caption/base_caption"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let positive = c
        .get("prompt")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| caption("v4_prompt"))
        .or_else(|| text("Description"));
    let negative = c
        .get("uc")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| caption("v4_negative_prompt"));
    let prompt = record.prompt_mut();
    prompt.positive = positive;
    prompt.negative = negative;
    let p = record.params_mut();
    p.seed = c.get("seed").and_then(json_seed);
    p.steps = c.get("steps").and_then(json_u64);
    p.cfg_scale = c.get("scale").and_then(json_f64);
    p.sampler = c.get("sampler").and_then(json_text);
    p.scheduler = c.get("noise_schedule").and_then(json_text);
    p.width = c.get("width").and_then(json_u64);
    p.height = c.get("height").and_then(json_u64);
    if let Some(source) = text("Source") {
        p.model = Some(ModelRef {
            name: Some(source),
            ..ModelRef::default()
        });
    }
    for (k, v) in c {
        if !MAPPED.contains(&k.as_str()) {
            put_extra(&mut p.extra, k, v.clone());
        }
    }
    if let Some(t) = text("Generation time") {
        put_extra(&mut p.extra, "Generation time", Value::String(t));
    }
    record.settings = comment.map(|data| Settings {
        format: Some("novelai-comment".into()),
        data: Some(data),
        ..Settings::default()
    });
    record.raw = raw;
    Ok(Imported {
        dialect,
        record,
        warnings: Vec::new(),
    })
}

impl Importer for NovelAi {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "NovelAI (legacy 2022, V3, V4/V4.5 with character prompts), PNG and WebP"
    }
    fn detection_rule(&self) -> &'static str {
        "text `Software`/`Source` starting with `NovelAI` (PNG text, Exif), or an Exif UserComment JSON of NovelAI's text fields"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        if is_novelai(&fields(evidence)) {
            Confidence::Strong
        } else {
            Confidence::No
        }
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let f = fields(evidence);
        let raw = raw_entries(
            evidence,
            |e| {
                FIELDS.contains(&e.key.as_str())
                    || e.key == "UserComment"
                    || e.key == "ImageDescription"
            },
            |_| false,
        );
        import_fields(&f, raw, ID)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::dialects::helpers::text_metadata as meta;

    #[test]
    fn legacy_prompt_comes_from_description() {
        let m = meta(&[
            ("png:tEXt", "Description", "cat, space"),
            ("png:tEXt", "Software", "NovelAI"),
            ("png:tEXt", "Source", "Stable Diffusion 1D44365E"),
            (
                "png:tEXt",
                "Comment",
                r#"{"steps": 50, "sampler": "k_euler_ancestral", "seed": 2253955223, "strength": 0.4, "scale": 10.0, "uc": "lowres"}"#,
            ),
        ]);
        let ev = Evidence::new(&m);
        assert_eq!(NovelAi.detect(&ev), Confidence::Strong);
        let r = NovelAi.import(&ev).unwrap().record;
        assert_eq!(r.positive(), Some("cat, space"));
        let p = r.params.unwrap();
        assert_eq!(p.seed.as_deref(), Some("2253955223"));
        assert_eq!(p.cfg_scale, Some(10.0));
        assert_eq!(
            p.model.unwrap().name.as_deref(),
            Some("Stable Diffusion 1D44365E")
        );
        assert_eq!(p.extra["strength"], 0.4);
        assert_eq!(p.width, None);
    }

    #[test]
    fn v4_characters_and_webp_usercomment() {
        let comment = r#"{"prompt": "2girls", "uc": "bad", "seed": 1, "steps": 28, "scale": 5.0, "width": 1024, "height": 1024, "sampler": "k_euler_ancestral", "noise_schedule": "karras", "v4_prompt": {"caption": {"base_caption": "2girls", "char_captions": [{"char_caption": "girl, miku", "centers": [{"x": 0.5, "y": 0.3}]}]}}}"#;
        let dict = serde_json::json!({"Comment": comment, "Description": "\u{0}\u{0}\u{0}\u{0}2girls", "Software": "NovelAI", "Source": "NovelAI Diffusion V4.5 C02D4F98"});
        let m = meta(&[
            ("exif", "Software", "NovelAI Diffusion V4.5 C02D4F98"),
            ("exif", "UserComment", &dict.to_string()),
        ]);
        let ev = Evidence::new(&m);
        assert_eq!(NovelAi.detect(&ev), Confidence::Strong);
        let r = NovelAi.import(&ev).unwrap().record;
        let p = r.params.unwrap();
        assert_eq!(p.scheduler.as_deref(), Some("karras"));
        assert_eq!(
            p.model.unwrap().name.as_deref(),
            Some("NovelAI Diffusion V4.5 C02D4F98")
        );
        assert_eq!(
            p.extra["v4_prompt"]["caption"]["char_captions"][0]["char_caption"],
            "girl, miku"
        );
    }

    #[test]
    fn other_software_is_not_novelai() {
        let m = meta(&[("exif", "Software", "GIMP 3.0.6")]);
        assert_eq!(NovelAi.detect(&Evidence::new(&m)), Confidence::No);
    }
}
