//! Hugging Face Spaces (Gradio apps, generators.md §12): PNG text `parameters` holding a JSON object with
//! `prompt`, `negative_prompt`, `resolution` (`"1024 x 1024"`), `guidance_scale`, `num_inference_steps`, `seed`,
//! `sampler`, `Model`, `Model hash`. The marker is heuristic (`Model` and `resolution` keys), hence weak.

use serde_json::Value;
use stemma_container::Entry;
use stemma_model::{ModelRef, Settings};

use super::helpers::{
    json_f64, json_seed, json_text, json_u64, new_record, parse_json_lenient, parse_size,
    put_extra, raw_entries,
};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The Hugging Face Space importer.
pub struct HfSpace;

const ID: &str = "hf-space";

const MAPPED: &[&str] = &[
    "prompt",
    "negative_prompt",
    "resolution",
    "guidance_scale",
    "num_inference_steps",
    "seed",
    "sampler",
    "Model",
    "Model hash",
];

fn find<'a>(evidence: &Evidence<'a>) -> Option<(&'a Entry, Value)> {
    evidence.entries().find_map(|e| {
        if e.key != "parameters" {
            return None;
        }
        let v = parse_json_lenient(e.value.as_text()?)?;
        (v.get("Model").is_some() && v.get("resolution").is_some() && v.get("prompt").is_some())
            .then_some((e, v))
    })
}

impl Importer for HfSpace {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "Hugging Face Spaces (Gradio apps writing a JSON `parameters`)"
    }
    fn detection_rule(&self) -> &'static str {
        "`parameters` JSON with `Model`, `resolution` and `prompt` (heuristic)"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(find(evidence).is_some(), Confidence::Weak)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let (entry, data) = find(evidence).ok_or(Error::Parse {
            dialect: ID,
            reason: "no Gradio parameters JSON".into(),
        })?;
        let mut record = new_record(ID, None, ID);
        let prompt = record.prompt_mut();
        prompt.positive = data.get("prompt").and_then(json_text);
        prompt.negative = data.get("negative_prompt").and_then(json_text);
        let p = record.params_mut();
        p.seed = data.get("seed").and_then(json_seed);
        p.steps = data.get("num_inference_steps").and_then(json_u64);
        p.cfg_scale = data.get("guidance_scale").and_then(json_f64);
        p.sampler = data.get("sampler").and_then(json_text);
        if let Some((w, h)) = data
            .get("resolution")
            .and_then(Value::as_str)
            .and_then(parse_size)
        {
            p.width = Some(w);
            p.height = Some(h);
        }
        p.model = Some(ModelRef {
            name: data.get("Model").and_then(json_text),
            hash: data.get("Model hash").and_then(json_text),
            ..ModelRef::default()
        });
        if let Some(obj) = data.as_object() {
            for (k, v) in obj {
                if !MAPPED.contains(&k.as_str()) && !v.is_null() {
                    put_extra(&mut p.extra, k, v.clone());
                }
            }
        }
        record.settings = Some(Settings {
            format: Some("hf-space-json".into()),
            data: Some(data.clone()),
            ..Settings::default()
        });
        record.raw = raw_entries(evidence, |e| std::ptr::eq(e, entry), |_| false);
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
    use stemma_container::{Metadata, Value as V};

    #[test]
    fn gradio_json() {
        let m = Metadata {
            entries: vec![Entry {
                origin: "png:tEXt".into(),
                key: "parameters".into(),
                value: V::Text(r#"{"prompt": "p", "negative_prompt": "n \n", "resolution": "1024 x 768", "guidance_scale": 5.5, "num_inference_steps": 24, "seed": 443800072, "sampler": "DPM++ 2M Karras", "Model": "WAI", "use_upscaler": null}"#.into()),
                after_image_data: false,
                encoding: None,
            }],
            ..Metadata::default()
        };
        let ev = Evidence::new(&m);
        assert_eq!(HfSpace.detect(&ev), Confidence::Weak);
        let r = HfSpace.import(&ev).unwrap().record;
        assert_eq!(r.prompt.as_ref().unwrap().negative.as_deref(), Some("n \n"));
        let p = r.params.unwrap();
        assert_eq!((p.width, p.height), (Some(1024), Some(768)));
        assert_eq!(p.cfg_scale, Some(5.5));
    }
}
