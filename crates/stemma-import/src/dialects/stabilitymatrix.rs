//! Stability Matrix Inference (generators.md §12): PNG text `parameters-json` (its own JSON: `PositivePrompt`,
//! `NegativePrompt`, `Steps`, `Sampler`, `CfgScale`, `Seed`, `Width`, `Height`, `ModelHash`, `ModelName`, …),
//! `smproj` (the project state), `parameters` (A1111 text, raw UTF-8 in tEXt, CRLF) and `prompt` (ComfyUI graph).
//! `parameters-json` states the final size; the first-pass size is the primary sampler card's in `smproj`
//! (`State.Sampler.Width/Height`).

use stemma_model::{Hires, ModelRef, Settings};

use super::a1111::import_infotext;
use super::helpers::{
    json_f64, json_seed, json_text, json_u64, new_record, parse_json_lenient, put_extra,
    raw_entries,
};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The Stability Matrix importer.
pub struct StabilityMatrix;

const ID: &str = "stabilitymatrix";

const MAPPED: &[&str] = &[
    "PositivePrompt",
    "NegativePrompt",
    "Steps",
    "Sampler",
    "CfgScale",
    "Seed",
    "Width",
    "Height",
    "ModelHash",
    "ModelName",
];

fn text_of<'a>(evidence: &Evidence<'a>, key: &str) -> Option<&'a str> {
    evidence
        .entries()
        .find(|e| e.key == key && e.origin.starts_with("png:"))
        .and_then(|e| e.value.as_text())
}

impl Importer for StabilityMatrix {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "Stability Matrix Inference"
    }
    fn detection_rule(&self) -> &'static str {
        "PNG text `smproj` or `parameters-json`"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(
            text_of(evidence, "smproj").is_some() || text_of(evidence, "parameters-json").is_some(),
            Confidence::Strong,
        )
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let Some(data) = text_of(evidence, "parameters-json").and_then(parse_json_lenient) else {
            // Only the A1111 text is usable.
            let entry = evidence
                .entries()
                .find(|e| e.key == "parameters" && e.value.as_text().is_some())
                .ok_or(Error::Parse {
                    dialect: ID,
                    reason: "no parameters-json or parameters".into(),
                })?;
            let mut imported = import_infotext(evidence, entry, ID)?;
            if let Some(g) = imported.record.generator.as_mut() {
                g.name = ID.into();
            }
            return Ok(imported);
        };
        let project = text_of(evidence, "smproj").and_then(parse_json_lenient);
        let mut record = new_record(ID, None, ID);
        let prompt = record.prompt_mut();
        prompt.positive = data.get("PositivePrompt").and_then(json_text);
        prompt.negative = data.get("NegativePrompt").and_then(json_text);
        let p = record.params_mut();
        p.seed = data.get("Seed").and_then(json_seed);
        p.steps = data.get("Steps").and_then(json_u64);
        p.cfg_scale = data.get("CfgScale").and_then(json_f64);
        p.sampler = data.get("Sampler").and_then(json_text);
        let name = data.get("ModelName").and_then(json_text);
        let hash = data.get("ModelHash").and_then(json_text);
        if name.is_some() || hash.is_some() {
            p.model = Some(ModelRef {
                name,
                hash,
                ..ModelRef::default()
            });
        }
        let final_size = (
            data.get("Width").and_then(json_u64),
            data.get("Height").and_then(json_u64),
        );
        let first_size = project.as_ref().and_then(|pr| {
            let s = pr.pointer("/State/Sampler")?;
            Some((
                s.get("Width").and_then(json_u64)?,
                s.get("Height").and_then(json_u64)?,
            ))
        });
        match first_size {
            Some((w, h)) => {
                p.width = Some(w);
                p.height = Some(h);
                if final_size != (Some(w), Some(h)) {
                    p.hires = Some(Hires {
                        width: final_size.0,
                        height: final_size.1,
                        ..Hires::default()
                    });
                }
            }
            None => (p.width, p.height) = final_size,
        }
        if let Some(obj) = data.as_object() {
            for (k, v) in obj {
                if !MAPPED.contains(&k.as_str()) && !v.is_null() {
                    put_extra(&mut p.extra, k, v.clone());
                }
            }
        }
        record.settings = Some(Settings {
            format: Some("stabilitymatrix-json".into()),
            data: Some(data),
            ..Settings::default()
        });
        record.raw = raw_entries(
            evidence,
            |e| e.key == "parameters-json" || e.key == "smproj",
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
    use stemma_container::{Entry, Metadata};

    fn entry(key: &str, v: &str) -> Entry {
        crate::dialects::helpers::text_entry("png:tEXt", key, v)
    }

    #[test]
    fn first_pass_size_from_the_project() {
        let m = Metadata {
            entries: vec![
                entry(
                    "parameters-json",
                    r#"{"PositivePrompt":"a\r\n","NegativePrompt":"b\r\n","Steps":20,"Seed":2,"Width":1536,"Height":1536,"ModelName":"m.safetensors"}"#,
                ),
                entry(
                    "smproj",
                    r#"{"State":{"Sampler":{"Width":1024,"Height":1024}}}"#,
                ),
            ],
            ..Metadata::default()
        };
        let ev = Evidence::new(&m);
        assert_eq!(StabilityMatrix.detect(&ev), Confidence::Strong);
        let r = StabilityMatrix.import(&ev).unwrap().record;
        assert_eq!(r.positive(), Some("a\r\n"));
        let p = r.params.unwrap();
        assert_eq!((p.width, p.height), (Some(1024), Some(1024)));
        assert_eq!(p.hires.unwrap().width, Some(1536));
    }
}
