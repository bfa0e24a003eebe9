//! DreamStudio web app (generators.md §12; sample `Stability-AI/stability-sdk:tests/assets/4166726513_giant__….png`):
//! PNG `eXIf` with `ImageDescription` = full prompt, `Model` = `stability_diffusion`, `Software` = `stability.ai`
//! and tag `0x9213` (ImageHistory) = Z85-encoded protobuf `gooseai.Request` (engine id, request id, prompts with
//! weights, image parameters: height 1, width 2, seed 3, samples 4, steps 5, transform 6 → diffusion sampler 1,
//! step parameters 7 → sampler 2 → cfg_scale 5). When the request is unavailable the prompt comes from
//! `ImageDescription`.

use serde_json::{Map, Value};
use stemma_model::{ModelRef, Settings};

use super::helpers::new_record;
use super::helpers::raw_entries;
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The DreamStudio importer.
pub struct DreamStudio;

const ID: &str = "dreamstudio";

/// `gooseai.DiffusionSampler` enum names.
const SAMPLERS: &[&str] = &[
    "SAMPLER_DDIM",
    "SAMPLER_DDPM",
    "SAMPLER_K_EULER",
    "SAMPLER_K_EULER_ANCESTRAL",
    "SAMPLER_K_HEUN",
    "SAMPLER_K_DPM_2",
    "SAMPLER_K_DPM_2_ANCESTRAL",
    "SAMPLER_K_LMS",
    "SAMPLER_K_DPMPP_2S_ANCESTRAL",
    "SAMPLER_K_DPMPP_2M",
    "SAMPLER_K_DPMPP_SDE",
];

const Z85: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Decode Z85 (ZeroMQ RFC 32); trailing characters that do not fill a 5-character group are ignored.
pub(crate) fn z85_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 5 * 4);
    for chunk in text.trim().as_bytes().chunks_exact(5) {
        let mut v: u64 = 0;
        for &c in chunk {
            v = v * 85 + Z85.iter().position(|&z| z == c)? as u64;
        }
        out.extend_from_slice(&u32::try_from(v).ok()?.to_be_bytes());
    }
    Some(out)
}

/// One protobuf field: number and value.
#[derive(Debug, Clone, PartialEq)]
enum Wire<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(u64),
    Bytes(&'a [u8]),
}

/// Read one base-128 varint, advancing `data`.
fn varint(data: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = data.split_first()?;
        *data = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Read the fields of a protobuf message (no schema); stops at the first malformed field.
fn fields(mut data: &[u8]) -> Vec<(u64, Wire<'_>)> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let Some(key) = varint(&mut data) else { break };
        let value = match key & 7 {
            0 => varint(&mut data).map(Wire::Varint),
            1 if data.len() >= 8 => {
                let (b, rest) = data.split_at(8);
                data = rest;
                b.try_into().ok().map(u64::from_le_bytes).map(Wire::Fixed64)
            }
            2 => varint(&mut data).and_then(|n| {
                let n = usize::try_from(n).ok()?;
                (n <= data.len()).then(|| {
                    let (b, rest) = data.split_at(n);
                    data = rest;
                    Wire::Bytes(b)
                })
            }),
            5 if data.len() >= 4 => {
                let (b, rest) = data.split_at(4);
                data = rest;
                b.try_into().ok().map(u32::from_le_bytes).map(Wire::Fixed32)
            }
            _ => None,
        };
        match value {
            Some(v) => out.push((key >> 3, v)),
            None => break,
        }
    }
    out
}

fn varint_of(f: &[(u64, Wire<'_>)], n: u64) -> Option<u64> {
    f.iter().find_map(|(k, v)| match v {
        Wire::Varint(x) if *k == n => Some(*x),
        _ => None,
    })
}

fn float_of(f: &[(u64, Wire<'_>)], n: u64) -> Option<f64> {
    f.iter().find_map(|(k, v)| match v {
        Wire::Fixed32(x) if *k == n => Some(f64::from(f32::from_bits(*x))),
        _ => None,
    })
}

fn bytes_of<'a, 'f>(f: &'f [(u64, Wire<'a>)], n: u64) -> impl Iterator<Item = &'a [u8]> + 'f {
    f.iter().filter_map(move |(k, v)| match v {
        Wire::Bytes(b) if *k == n => Some(*b),
        _ => None,
    })
}

/// The generation request as a JSON object (`engine_id`, `request_id`, `prompts: [{text, weight}]`, `height`,
/// `width`, `seeds`, `samples`, `steps`, `sampler`, `cfg_scale`).
pub(crate) fn decode_request(bytes: &[u8]) -> Option<Value> {
    let req = fields(bytes);
    let mut out = Map::new();
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).ok();
    if let Some(e) = bytes_of(&req, 1).next().and_then(text) {
        out.insert("engine_id".into(), Value::String(e));
    }
    if let Some(r) = bytes_of(&req, 2).next().and_then(text) {
        out.insert("request_id".into(), Value::String(r));
    }
    let prompts: Vec<Value> = bytes_of(&req, 4)
        .filter_map(|p| {
            let pf = fields(p);
            let t = bytes_of(&pf, 2).next().and_then(text)?;
            let weight = bytes_of(&pf, 1)
                .next()
                .and_then(|pp| float_of(&fields(pp), 2));
            Some(serde_json::json!({"text": t, "weight": weight}))
        })
        .collect();
    out.insert("prompts".into(), Value::Array(prompts));
    let image = fields(bytes_of(&req, 5).next()?);
    for (name, n) in [("height", 1), ("width", 2), ("samples", 4), ("steps", 5)] {
        if let Some(v) = varint_of(&image, n) {
            out.insert(name.into(), Value::from(v));
        }
    }
    let mut seeds: Vec<Value> = image
        .iter()
        .filter_map(|(k, v)| match v {
            Wire::Varint(x) if *k == 3 => Some(Value::from(*x)),
            _ => None,
        })
        .collect();
    for packed in bytes_of(&image, 3) {
        let mut rest = packed;
        while let Some(v) = varint(&mut rest) {
            seeds.push(Value::from(v));
        }
    }
    out.insert("seeds".into(), Value::Array(seeds));
    if let Some(sampler) = bytes_of(&image, 6)
        .next()
        .and_then(|t| varint_of(&fields(t), 1))
    {
        let name = usize::try_from(sampler)
            .ok()
            .and_then(|i| SAMPLERS.get(i))
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("SAMPLER_{sampler}"));
        out.insert("sampler".into(), Value::String(name));
    }
    if let Some(cfg) = bytes_of(&image, 7).next().and_then(|sp| {
        bytes_of(&fields(sp), 2)
            .next()
            .and_then(|s| float_of(&fields(s), 5))
    }) {
        out.insert("cfg_scale".into(), Value::from(cfg));
    }
    Some(Value::Object(out))
}

fn is_dreamstudio(evidence: &Evidence) -> bool {
    evidence.entries().any(|e| {
        e.origin == "exif"
            && e.key == "Software"
            && e.value
                .as_text()
                .is_some_and(|t| t.trim_matches('\0').trim() == "stability.ai")
    })
}

impl Importer for DreamStudio {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "DreamStudio web app (Stability AI)"
    }
    fn detection_rule(&self) -> &'static str {
        "Exif `Software` = `stability.ai` (PNG eXIf), ImageHistory 0x9213 = Z85 protobuf request"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        if is_dreamstudio(evidence) {
            Confidence::Strong
        } else {
            Confidence::No
        }
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        if !is_dreamstudio(evidence) {
            return Err(Error::Parse {
                dialect: ID,
                reason: "no Software: stability.ai".into(),
            });
        }
        let description = evidence
            .text_from("exif", "ImageDescription")
            .and_then(|e| e.value.as_text())
            .map(|t| t.trim_matches('\0').to_string());
        let request = evidence
            .entries()
            .find(|e| e.key == "ImageHistory" || e.key == "0x9213")
            .and_then(|e| e.value.as_text())
            .and_then(z85_decode)
            .and_then(|b| decode_request(&b));
        let mut record = new_record("dreamstudio", None, ID);
        let mut warnings = Vec::new();
        let prompts = request
            .as_ref()
            .and_then(|r| r.get("prompts"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let weight = |p: &Value| p.get("weight").and_then(Value::as_f64).unwrap_or(1.0);
        let text_of = |p: &Value| p.get("text").and_then(Value::as_str).map(str::to_string);
        let positive = prompts.iter().find(|p| weight(p) >= 0.0).and_then(text_of);
        let negative = prompts.iter().find(|p| weight(p) < 0.0).and_then(text_of);
        let prompt = record.prompt_mut();
        prompt.positive = positive.or(description);
        prompt.negative = negative;
        let p = record.params_mut();
        match &request {
            Some(r) => {
                p.seed = r
                    .get("seeds")
                    .and_then(Value::as_array)
                    .and_then(|s| s.first())
                    .map(|s| s.to_string());
                p.steps = r.get("steps").and_then(Value::as_u64);
                p.width = r.get("width").and_then(Value::as_u64);
                p.height = r.get("height").and_then(Value::as_u64);
                p.cfg_scale = r.get("cfg_scale").and_then(Value::as_f64);
                p.sampler = r.get("sampler").and_then(Value::as_str).map(str::to_string);
                p.model = r
                    .get("engine_id")
                    .and_then(Value::as_str)
                    .map(|e| ModelRef {
                        name: Some(e.to_string()),
                        ..ModelRef::default()
                    });
            }
            None => warnings.push("ImageHistory request not found; prompt only".to_string()),
        }
        record.settings = request.map(|data| Settings {
            format: Some("stability-generation-request".into()),
            data: Some(data),
            ..Settings::default()
        });
        record.raw = raw_entries(evidence, |e| e.origin == "exif", |_| false);
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
    use stemma_container::{Entry, Metadata, Value as V};

    fn z85_encode(data: &[u8]) -> String {
        data.chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                let mut v = u32::from_be_bytes(b) as u64;
                let mut s = [0u8; 5];
                for i in (0..5).rev() {
                    s[i] = Z85[(v % 85) as usize];
                    v /= 85;
                }
                String::from_utf8(s.to_vec()).unwrap()
            })
            .collect()
    }

    fn ld(field: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![(field << 3) | 2, payload.len() as u8];
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn z85_protobuf_request() {
        assert_eq!(
            z85_decode("HelloWorld").unwrap(),
            vec![0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        );
        let mut prompt = ld(2, b"a giant tree");
        prompt.extend(ld(1, &[0x15, 0, 0, 0x80, 0x3f])); // weight 1.0
        let mut neg = ld(2, b"blurry");
        neg.extend(ld(1, &[0x15, 0, 0, 0x80, 0xbf])); // weight -1.0
        let sampler_params = ld(2, &[0x2d, 0, 0, 0xe0, 0x40]); // cfg_scale 7.0
        let mut image = vec![
            0x08, 0x80, 0x04, 0x10, 0x80, 0x04, 0x18, 0xf1, 0xe6, 0xec, 0xc2, 0x0f, 0x28, 50,
        ];
        image.extend(ld(6, &[0x08, 3]));
        image.extend(ld(7, &sampler_params));
        let mut req = ld(1, b"stable-diffusion-v1-5");
        req.extend(ld(4, &prompt));
        req.extend(ld(4, &neg));
        req.extend(ld(5, &image));
        while !req.len().is_multiple_of(4) {
            req.push(0);
        }
        let m = Metadata {
            entries: vec![
                Entry {
                    origin: "exif".into(),
                    key: "ImageDescription".into(),
                    value: V::Text("a giant tree".into()),
                    after_image_data: false,
                    encoding: None,
                },
                Entry {
                    origin: "exif".into(),
                    key: "Software".into(),
                    value: V::Text("stability.ai".into()),
                    after_image_data: false,
                    encoding: None,
                },
                Entry {
                    origin: "exif".into(),
                    key: "ImageHistory".into(),
                    value: V::Text(z85_encode(&req)),
                    after_image_data: false,
                    encoding: None,
                },
            ],
            ..Metadata::default()
        };
        let ev = Evidence::new(&m);
        assert_eq!(DreamStudio.detect(&ev), Confidence::Strong);
        let r = DreamStudio.import(&ev).unwrap().record;
        assert_eq!(
            r.prompt.as_ref().unwrap().negative.as_deref(),
            Some("blurry")
        );
        let p = r.params.unwrap();
        assert_eq!(
            (p.width, p.height, p.steps),
            (Some(512), Some(512), Some(50))
        );
        assert_eq!(p.seed.as_deref(), Some("4166726513"));
        assert_eq!(p.cfg_scale, Some(7.0));
        assert_eq!(p.sampler.as_deref(), Some("SAMPLER_K_EULER_ANCESTRAL"));
        assert_eq!(
            p.model.unwrap().name.as_deref(),
            Some("stable-diffusion-v1-5")
        );
    }
}
