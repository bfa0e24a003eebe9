//! ComfyUI fork format: the source's API graph with exactly the inputs that hold the changed values rewritten,
//! found by the importer's own graph walk (`stemma_import::comfyui_value_sites`). A source without a graph gets
//! the standard text-to-image graph (checkpoint, two text encoders, empty latent, KSampler, decode, save) filled
//! from its record.

use serde_json::{json, Value};
use stemma_import::{comfyui_value_sites, ComfyuiValueSite};
use stemma_model::Record;

use crate::error::{Error, Result};
use crate::fork_input::ForkSource;

/// The value a graph input takes for a change: integers for seeds, steps and sizes, numbers for scales, text
/// otherwise.
fn typed(param: &str, value: &Value) -> Value {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match param {
        "seed" | "steps" | "width" | "height" => text
            .parse::<u64>()
            .map(Value::from)
            .or_else(|_| text.parse::<i64>().map(Value::from))
            .unwrap_or(Value::String(text)),
        "cfg_scale" | "denoise" => text
            .parse::<f64>()
            .ok()
            .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            .unwrap_or(Value::String(text)),
        _ => Value::String(text),
    }
}

fn literal<'v>(graph: &'v Value, site: &ComfyuiValueSite) -> Option<&'v Value> {
    graph.get(&site.node)?.get("inputs")?.get(&site.input)
}

/// The sites to change for `param`: every pass whose value equals the first pass's (a hires pass with its own
/// steps keeps them; a shared seed changes everywhere).
fn chosen<'s>(
    graph: &Value,
    sites: &'s [ComfyuiValueSite],
    param: &str,
) -> Vec<&'s ComfyuiValueSite> {
    let of_param: Vec<&ComfyuiValueSite> = sites.iter().filter(|s| s.param == param).collect();
    let Some(first) = of_param.iter().find(|s| s.pass == 0).or(of_param.first()) else {
        return Vec::new();
    };
    let reference = literal(graph, first).cloned();
    of_param
        .into_iter()
        .filter(|s| literal(graph, s).cloned() == reference)
        .collect()
}

/// Apply changes to an API graph; a change the graph has no input for is an error naming it.
pub fn edit_graph(graph: &Value, changes: &[(String, Value)]) -> Result<Value> {
    let sites = comfyui_value_sites(graph)
        .ok_or_else(|| Error::Fork("the ComfyUI settings are not an API graph".into()))?;
    let mut out = graph.clone();
    for (key, value) in changes {
        let targets = chosen(graph, &sites, key);
        if targets.is_empty() {
            return Err(Error::Fork(format!(
                "the ComfyUI graph has no input that holds `{key}` (it is computed, or no sampler uses it)"
            )));
        }
        for site in targets {
            if let Some(slot) = out
                .get_mut(&site.node)
                .and_then(|n| n.get_mut("inputs"))
                .and_then(|i| i.get_mut(&site.input))
            {
                *slot = typed(key, value);
            }
        }
    }
    Ok(out)
}

/// A1111 sampler names → ComfyUI `sampler_name` and `scheduler`.
const SAMPLERS: &[(&str, &str, &str)] = &[
    ("Euler a", "euler_ancestral", "normal"),
    ("Euler", "euler", "normal"),
    ("DPM++ 2M Karras", "dpmpp_2m", "karras"),
    ("DPM++ 2M", "dpmpp_2m", "normal"),
    ("DPM++ SDE Karras", "dpmpp_sde", "karras"),
    ("DPM++ 2M SDE Karras", "dpmpp_2m_sde", "karras"),
    ("DPM++ 2S a Karras", "dpmpp_2s_ancestral", "karras"),
    ("DDIM", "ddim", "ddim_uniform"),
    ("UniPC", "uni_pc", "normal"),
    ("LMS", "lms", "normal"),
    ("Heun", "heun", "normal"),
];

fn comfy_sampler(record: &Record) -> (String, String) {
    let params = record.params.clone().unwrap_or_default();
    let name = params.sampler.unwrap_or_else(|| "euler".into());
    let (sampler, scheduler) = SAMPLERS
        .iter()
        .find(|(a, ..)| *a == name)
        .map(|(_, s, k)| (s.to_string(), k.to_string()))
        .unwrap_or_else(|| {
            (
                name.to_lowercase().replace([' ', '+'], "_"),
                "normal".into(),
            )
        });
    let scheduler = match params.scheduler.as_deref() {
        Some("Karras") => "karras".to_string(),
        Some(s) if !s.is_empty() && s != "Automatic" => s.to_lowercase().replace(' ', "_"),
        _ => scheduler,
    };
    (sampler, scheduler)
}

/// The standard text-to-image graph of a record.
pub fn template_graph(record: &Record) -> Value {
    let params = record.params.clone().unwrap_or_default();
    let prompt = record.prompt.clone().unwrap_or_default();
    let seed = params
        .seed
        .as_deref()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0);
    let (sampler, scheduler) = comfy_sampler(record);
    let ckpt = params
        .model
        .as_ref()
        .and_then(|m| m.name.clone())
        .map(|n| {
            if n.contains('.') {
                n
            } else {
                format!("{n}.safetensors")
            }
        })
        .unwrap_or_else(|| "model.safetensors".into());
    json!({
        "3": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": params.steps.unwrap_or(20), "cfg": params.cfg_scale.unwrap_or(7.0),
            "sampler_name": sampler, "scheduler": scheduler, "denoise": 1.0,
            "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {
            "width": params.width.unwrap_or(512), "height": params.height.unwrap_or(512), "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt.positive.unwrap_or_default(), "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt.negative.unwrap_or_default(), "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "stemma-fork", "images": ["8", 0]}}
    })
}

/// The fork as an API graph: the source's graph edited, or the template filled from the forked record.
pub fn graph(source: &ForkSource, expected: &Record, changes: &[(String, Value)]) -> Result<Value> {
    match source.settings.as_ref() {
        Some((format, data)) if format == "comfyui-api" => edit_graph(data, changes),
        _ => Ok(template_graph(expected)),
    }
}
