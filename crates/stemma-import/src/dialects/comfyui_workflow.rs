//! A ComfyUI editor workflow (`workflow`) turned into an API-like graph, for files that store no `prompt`
//! (the frontend's "export workflow as PNG").
//!
//! Links become `[origin id, origin slot]` inputs. Widget values are positional; [`WIDGETS`] names them for
//! the common core nodes (`~` marks the `control_after_generate` companion of a seed widget). Widgets of other
//! classes are not named, so their values stay unknown; muted (mode 2) and bypassed (mode 4) nodes are left out.
//! A widget that was converted to an input and linked keeps the link: its value is decided at run time.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Widget names of core nodes, in `widgets_values` order.
pub const WIDGETS: &[(&str, &[&str])] = &[
    (
        "KSampler",
        &[
            "seed",
            "~",
            "steps",
            "cfg",
            "sampler_name",
            "scheduler",
            "denoise",
        ],
    ),
    (
        "KSamplerAdvanced",
        &[
            "add_noise",
            "noise_seed",
            "~",
            "steps",
            "cfg",
            "sampler_name",
            "scheduler",
            "start_at_step",
            "end_at_step",
            "return_with_leftover_noise",
        ],
    ),
    ("SamplerCustom", &["add_noise", "noise_seed", "~", "cfg"]),
    ("RandomNoise", &["noise_seed", "~"]),
    ("KSamplerSelect", &["sampler_name"]),
    ("BasicScheduler", &["scheduler", "steps", "denoise"]),
    ("CFGGuider", &["cfg"]),
    ("FluxGuidance", &["guidance"]),
    ("CLIPTextEncode", &["text"]),
    (
        "CLIPTextEncodeSDXL",
        &[
            "width",
            "height",
            "crop_w",
            "crop_h",
            "target_width",
            "target_height",
            "text_g",
            "text_l",
        ],
    ),
    ("CheckpointLoaderSimple", &["ckpt_name"]),
    ("CheckpointLoader", &["config_name", "ckpt_name"]),
    ("ImageOnlyCheckpointLoader", &["ckpt_name"]),
    ("UNETLoader", &["unet_name", "weight_dtype"]),
    ("VAELoader", &["vae_name"]),
    ("CLIPSetLastLayer", &["stop_at_clip_layer"]),
    (
        "LoraLoader",
        &["lora_name", "strength_model", "strength_clip"],
    ),
    ("LoraLoaderModelOnly", &["lora_name", "strength_model"]),
    ("EmptyLatentImage", &["width", "height", "batch_size"]),
    ("EmptySD3LatentImage", &["width", "height", "batch_size"]),
    (
        "LatentUpscale",
        &["upscale_method", "width", "height", "crop"],
    ),
    ("LatentUpscaleBy", &["upscale_method", "scale_by"]),
    ("ImageScale", &["upscale_method", "width", "height", "crop"]),
    ("ImageScaleBy", &["upscale_method", "scale_by"]),
    ("UpscaleModelLoader", &["model_name"]),
    ("LoadImage", &["image", "upload"]),
    ("SaveImage", &["filename_prefix"]),
    ("PrimitiveNode", &["value", "~"]),
    ("PrimitiveString", &["value"]),
    ("PrimitiveStringMultiline", &["value"]),
    ("PrimitiveInt", &["value", "~"]),
    ("PrimitiveFloat", &["value"]),
    ("PrimitiveBoolean", &["value"]),
];

/// A link's origin: `[link id, origin id, origin slot, target id, target slot, type]` or the object form of
/// newer saves.
struct Origin {
    node: String,
    slot: u64,
    kind: String,
}

fn link_origin(link: &Value) -> Option<(u64, Origin)> {
    let (id, node, slot, kind) = if let Some(a) = link.as_array() {
        (a.first()?, a.get(1)?, a.get(2)?, a.get(5))
    } else {
        (
            link.get("id")?,
            link.get("origin_id")?,
            link.get("origin_slot")?,
            link.get("type"),
        )
    };
    Some((
        id.as_u64()?,
        Origin {
            node: id_text(node)?,
            slot: slot.as_u64()?,
            kind: kind.and_then(Value::as_str).unwrap_or("").to_string(),
        },
    ))
}

/// Most bypassed nodes followed in a row.
const MAX_BYPASS_CHAIN: usize = 32;

/// The origin of a link, seen through bypassed nodes: a bypassed node passes on its first input of the
/// link's type.
fn resolve<'a>(
    mut origin: &'a Origin,
    links: &'a HashMap<u64, Origin>,
    bypassed: &HashMap<String, &'a Value>,
) -> Option<&'a Origin> {
    for _ in 0..MAX_BYPASS_CHAIN {
        let Some(node) = bypassed.get(&origin.node) else {
            return Some(origin);
        };
        let next = node
            .get("inputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|i| i.get("type").and_then(Value::as_str) == Some(origin.kind.as_str()))
            .find_map(|i| {
                i.get("link")
                    .and_then(Value::as_u64)
                    .and_then(|l| links.get(&l))
            })?;
        origin = next;
    }
    None
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Convert a workflow into an API-like graph (`{id: {class_type, inputs}}`). `None` when it has no nodes.
pub fn workflow_to_api(workflow: &Value) -> Option<Value> {
    let nodes = workflow.get("nodes")?.as_array()?;
    let links: HashMap<u64, Origin> = workflow
        .get("links")
        .and_then(Value::as_array)
        .map(|ls| ls.iter().filter_map(link_origin).collect())
        .unwrap_or_default();
    let bypassed: HashMap<String, &Value> = nodes
        .iter()
        .filter(|n| n.get("mode").and_then(Value::as_u64) == Some(4))
        .filter_map(|n| Some((n.get("id").and_then(id_text)?, n)))
        .collect();
    let mut out = Map::new();
    for node in nodes {
        let (Some(id), Some(class)) = (
            node.get("id").and_then(id_text),
            node.get("type").and_then(Value::as_str),
        ) else {
            continue;
        };
        let mode = node.get("mode").and_then(Value::as_u64).unwrap_or(0);
        if mode == 2 || mode == 4 {
            continue;
        }
        let mut inputs = Map::new();
        match node.get("widgets_values") {
            Some(Value::Object(named)) => {
                for (k, v) in named {
                    inputs.insert(k.clone(), v.clone());
                }
            }
            Some(Value::Array(values)) => {
                if let Some((_, names)) = WIDGETS.iter().find(|(c, _)| *c == class) {
                    for (name, v) in names.iter().zip(values) {
                        if *name != "~" {
                            inputs.insert((*name).to_string(), v.clone());
                        }
                    }
                }
            }
            _ => {}
        }
        for input in node
            .get("inputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = input.get("name").and_then(Value::as_str) else {
                continue;
            };
            let origin = input
                .get("link")
                .and_then(Value::as_u64)
                .and_then(|l| links.get(&l))
                .and_then(|o| resolve(o, &links, &bypassed));
            match origin {
                Some(o) => {
                    inputs.insert(
                        name.to_string(),
                        Value::Array(vec![Value::String(o.node.clone()), Value::from(o.slot)]),
                    );
                }
                None => {
                    // A widget converted to an input but left unconnected keeps its widget value.
                }
            }
        }
        // A UI `PrimitiveNode` keeps its class: the node table reads it as a value node.
        let class_type = class;
        let mut obj = Map::new();
        obj.insert("class_type".into(), Value::String(class_type.to_string()));
        obj.insert("inputs".into(), Value::Object(inputs));
        out.insert(id, Value::Object(obj));
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn widgets_are_named_and_links_kept() {
        let wf = json!({
            "nodes": [
                {"id": 3, "type": "KSampler", "mode": 0,
                 "inputs": [{"name": "model", "link": 1}, {"name": "steps", "link": 2, "widget": {"name": "steps"}}],
                 "widgets_values": [42, "randomize", 20, 7.0, "euler", "normal", 1.0]},
                {"id": 4, "type": "CheckpointLoaderSimple", "mode": 0, "widgets_values": ["m.ckpt"]},
                {"id": 5, "type": "Mystery", "mode": 0, "widgets_values": [30]},
                {"id": 6, "type": "KSampler", "mode": 2, "widgets_values": []},
                {"id": 7, "type": "LoraLoader", "mode": 4, "inputs": [{"name": "model", "type": "MODEL", "link": 3}]},
                {"id": 8, "type": "KSampler", "mode": 0, "inputs": [{"name": "model", "link": 4}]}
            ],
            "links": [[1, 4, 0, 3, 0, "MODEL"], [2, 5, 0, 3, 1, "INT"], [3, 4, 0, 7, 0, "MODEL"],
                      [4, 7, 0, 8, 0, "MODEL"]]
        });
        let api = workflow_to_api(&wf).unwrap();
        assert_eq!(api["3"]["inputs"]["seed"], 42);
        assert_eq!(api["3"]["inputs"]["cfg"], 7.0);
        assert_eq!(api["3"]["inputs"]["model"], json!(["4", 0]));
        assert_eq!(
            api["3"]["inputs"]["steps"],
            json!(["5", 0]),
            "a linked widget stays a link"
        );
        assert_eq!(api["4"]["inputs"]["ckpt_name"], "m.ckpt");
        assert!(api.get("6").is_none(), "muted nodes are left out");
        assert_eq!(
            api["8"]["inputs"]["model"],
            json!(["4", 0]),
            "bypassed nodes pass their input on"
        );
    }
}
