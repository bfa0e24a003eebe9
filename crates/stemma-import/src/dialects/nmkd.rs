//! NMKD Stable Diffusion GUI (generators.md §12; keys from its reader `n00mkrad/text2image-gui:Data/ImageMetadata.cs`,
//! no public sample): PNG text `Nmkdiffusers` = JSON with `model`, `prompt`, `promptNeg`, `initImg`,
//! `initStrength`, `steps`, `seed`, `sampler`, `scaleTxt`, `scaleImg`, `refineFrac`, `w`, `h`, `upscaleW`,
//! `upscaleH`. (Its other backends write InvokeAI `Dream` or A1111 `parameters`, read by those importers.)

use stemma_model::{relation, Hires, ModelRef, Parent, Settings};

use super::helpers::{
    json_f64, json_seed, json_text, json_u64, new_record, parse_json_lenient, put_extra,
    raw_entries,
};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The NMKD importer.
pub struct Nmkd;

const ID: &str = "nmkd";
const KEY: &str = "Nmkdiffusers";

const MAPPED: &[&str] = &[
    "model",
    "prompt",
    "promptNeg",
    "initImg",
    "initStrength",
    "steps",
    "seed",
    "sampler",
    "scaleTxt",
    "w",
    "h",
    "upscaleW",
    "upscaleH",
];

impl Importer for Nmkd {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "NMKD Stable Diffusion GUI (diffusers backend)"
    }
    fn detection_rule(&self) -> &'static str {
        "PNG text `Nmkdiffusers` (JSON)"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(evidence.text(KEY).is_some(), Confidence::Strong)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let data = evidence
            .text(KEY)
            .and_then(parse_json_lenient)
            .ok_or(Error::Parse {
                dialect: ID,
                reason: format!("{KEY} is missing or not JSON"),
            })?;
        let mut record = new_record("nmkd", None, ID);
        let prompt = record.prompt_mut();
        prompt.positive = data.get("prompt").and_then(json_text);
        prompt.negative = data.get("promptNeg").and_then(json_text);
        let init = data
            .get("initImg")
            .and_then(json_text)
            .filter(|s| !s.trim().is_empty());
        let p = record.params_mut();
        p.seed = data.get("seed").and_then(json_seed);
        p.steps = data.get("steps").and_then(json_u64);
        p.cfg_scale = data.get("scaleTxt").and_then(json_f64);
        p.sampler = data.get("sampler").and_then(json_text);
        p.width = data.get("w").and_then(json_u64);
        p.height = data.get("h").and_then(json_u64);
        p.model = data.get("model").and_then(json_text).map(|name| ModelRef {
            name: Some(name),
            ..ModelRef::default()
        });
        if init.is_some() {
            p.denoise = data.get("initStrength").and_then(json_f64);
        }
        let up = (
            data.get("upscaleW").and_then(json_u64).filter(|v| *v > 0),
            data.get("upscaleH").and_then(json_u64).filter(|v| *v > 0),
        );
        if up.0.is_some() || up.1.is_some() {
            p.hires = Some(Hires {
                width: up.0,
                height: up.1,
                ..Hires::default()
            });
        }
        if let Some(obj) = data.as_object() {
            for (k, v) in obj {
                if !MAPPED.contains(&k.as_str()) || (k == "initStrength" && init.is_none()) {
                    put_extra(&mut p.extra, k, v.clone());
                }
            }
        }
        if let Some(path) = init {
            record.parents.push(Parent {
                relation: relation::IMG2IMG.into(),
                hint: Some(path),
                ..Parent::default()
            });
        }
        record.settings = Some(Settings {
            format: Some("nmkd-json".into()),
            data: Some(data),
            ..Settings::default()
        });
        record.raw = raw_entries(evidence, |e| e.key == KEY, |_| false);
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
    use stemma_container::{Entry, Metadata, Value as V};

    #[test]
    fn nmkdiffusers_json() {
        let m = Metadata {
            entries: vec![Entry {
                origin: "png:tEXt".into(),
                key: KEY.into(),
                value: V::Text(r#"{"model":"sd-v1-5.ckpt","prompt":"a fox","promptNeg":"blur","initImg":"C:\\in.png","initStrength":0.6,"steps":30,"seed":1234,"sampler":"k_euler_a","scaleTxt":7.5,"scaleImg":1.5,"refineFrac":0.8,"w":512,"h":768,"upscaleW":0,"upscaleH":0}"#.into()),
                after_image_data: false,
                encoding: None,
            }],
            ..Metadata::default()
        };
        let ev = Evidence::new(&m);
        assert_eq!(Nmkd.detect(&ev), Confidence::Strong);
        let r = Nmkd.import(&ev).unwrap().record;
        assert_eq!(r.parents[0].hint.as_deref(), Some("C:\\in.png"));
        let p = r.params.unwrap();
        assert_eq!(p.denoise, Some(0.6));
        assert_eq!(p.height, Some(768));
        assert_eq!(p.hires, None);
        assert_eq!(p.extra["scaleImg"], 1.5);
    }
}
