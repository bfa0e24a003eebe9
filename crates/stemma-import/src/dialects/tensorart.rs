//! TensorArt (generators.md §12): PNG text `generation_data` = JSON (raw UTF-8 inside tEXt, often ending in a
//! NUL) with `prompt`, `negativePrompt`, `width`, `height`, `steps`, `cfgScale`, `seed` (a string, `"-1"` when
//! random), `clipSkip`, `baseModel{modelFileName, hash, …}`, `ksamplerName`, `schedule`; plus text `prompt` (the
//! ComfyUI API graph that ran). A random seed is read from the graph's samplers when they agree.

use serde_json::Value;
use stemma_container::Entry;
use stemma_model::{ModelRef, Settings};

use super::helpers::{
    graph, json_f64, json_seed, json_text, json_u64, new_record, parse_json_lenient, put_extra,
    raw_entries,
};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The TensorArt importer.
pub struct TensorArt;

const ID: &str = "tensorart";

const MAPPED: &[&str] = &[
    "prompt",
    "negativePrompt",
    "width",
    "height",
    "steps",
    "cfgScale",
    "seed",
    "clipSkip",
    "ksamplerName",
    "schedule",
];

fn find<'a>(evidence: &Evidence<'a>) -> Option<&'a Entry> {
    evidence
        .entries()
        .find(|e| e.key == "generation_data" && e.value.as_text().is_some())
}

impl Importer for TensorArt {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "TensorArt web generator"
    }
    fn detection_rule(&self) -> &'static str {
        "text `generation_data` (JSON), next to a ComfyUI `prompt` graph"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(find(evidence).is_some(), Confidence::Strong)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let entry = find(evidence).ok_or(Error::Parse {
            dialect: ID,
            reason: "no generation_data".into(),
        })?;
        let data = entry
            .value
            .as_text()
            .and_then(parse_json_lenient)
            .ok_or(Error::Parse {
                dialect: ID,
                reason: "generation_data is not JSON".into(),
            })?;
        let graph_doc = evidence
            .entries()
            .find(|e| e.key == "prompt" && e.origin.starts_with("png:"))
            .and_then(|e| e.value.as_text())
            .and_then(parse_json_lenient);
        let mut warnings = Vec::new();
        let mut record = new_record("tensorart", None, ID);
        let prompt = record.prompt_mut();
        prompt.positive = data.get("prompt").and_then(json_text);
        prompt.negative = data.get("negativePrompt").and_then(json_text);
        let p = record.params_mut();
        p.seed = data.get("seed").and_then(json_seed);
        if p.seed.as_deref() == Some("-1") {
            let from_graph = graph_doc
                .as_ref()
                .and_then(|g| graph::sampler_value(g, &["seed", "noise_seed"]))
                .and_then(json_seed);
            if from_graph.is_some() {
                put_extra(&mut p.extra, "seed", Value::String("-1".into()));
                p.seed = from_graph;
            } else {
                warnings.push("seed is -1 (random) and the graph does not state one".into());
            }
        }
        p.steps = data.get("steps").and_then(json_u64);
        p.cfg_scale = data.get("cfgScale").and_then(json_f64);
        p.sampler = data.get("ksamplerName").and_then(json_text);
        p.scheduler = data.get("schedule").and_then(json_text);
        p.width = data.get("width").and_then(json_u64);
        p.height = data.get("height").and_then(json_u64);
        p.clip_skip = data.get("clipSkip").and_then(json_u64);
        if let Some(base) = data.get("baseModel") {
            p.model = Some(ModelRef {
                name: base.get("modelFileName").and_then(json_text),
                hash: base.get("hash").and_then(json_text),
                ..ModelRef::default()
            });
        }
        if let Some(obj) = data.as_object() {
            for (k, v) in obj {
                if !MAPPED.contains(&k.as_str()) {
                    put_extra(&mut p.extra, k, v.clone());
                }
            }
        }
        record.settings = Some(Settings {
            format: Some("tensorart-json".into()),
            data: Some(data),
            ..Settings::default()
        });
        record.raw = raw_entries(evidence, |e| std::ptr::eq(e, entry), |_| false);
        Ok(Imported {
            dialect: ID,
            record,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stemma_container::Metadata;

    fn entry(key: &str, v: &str) -> Entry {
        crate::dialects::helpers::text_entry("png:tEXt", key, v)
    }

    #[test]
    fn random_seed_comes_from_the_graph() {
        let m = Metadata {
            entries: vec![
                entry("generation_data", "{\"prompt\":\"p\",\"seed\":\"-1\",\"steps\":25,\"baseModel\":{\"modelFileName\":\"WAI\"}}\u{0}"),
                entry("prompt", r#"{"1": {"class_type": "KSampler", "inputs": {"sampler_name": "euler", "seed": 3036459311}}}"#),
            ],
            ..Metadata::default()
        };
        let r = TensorArt.import(&Evidence::new(&m)).unwrap().record;
        let p = r.params.unwrap();
        assert_eq!(p.seed.as_deref(), Some("3036459311"));
        assert_eq!(p.model.unwrap().name.as_deref(), Some("WAI"));
    }
}
