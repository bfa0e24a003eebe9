//! A1111/Forge fork formats: the infotext (pastable into the prompt box) and the HTTP API payload
//! (`/sdapi/v1/txt2img`, `/sdapi/v1/img2img`; reference `catalog-runs-gallery.md` §5).
//!
//! When the source carries an infotext, the fork edits it in place: only the values that change are rewritten,
//! every other byte (key order, unknown keys, the trailer lines) is kept. Otherwise the infotext is built from the
//! record the way stemma's A1111 mirror writes it.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Map, Value};
use stemma_model::Record;

use crate::error::{Error, Result};
use crate::fork_input::ForkSource;

/// The parameter-line regex of A1111's `parse_generation_parameters`.
static PARAM: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)"#).ok());

/// Infotext label of a `params` key.
fn label(key: &str) -> Option<&'static str> {
    Some(match key {
        "seed" => "Seed",
        "steps" => "Steps",
        "cfg_scale" => "CFG scale",
        "sampler" => "Sampler",
        "scheduler" => "Schedule type",
        "denoise" => "Denoising strength",
        "model" => "Model",
        "clip_skip" => "Clip skip",
        _ => return None,
    })
}

fn value_text(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    // A1111 quotes a value that holds its separators.
    if text.contains(',') || text.contains(':') || text.contains('\n') {
        serde_json::to_string(&text).unwrap_or(text)
    } else {
        text
    }
}

fn is_param_line(line: &str) -> bool {
    let starts = line.trim_start().strip_prefix("Steps:").is_some();
    let count = PARAM
        .as_ref()
        .map(|r| r.find_iter(line).count())
        .unwrap_or(0);
    starts || count >= 3
}

/// Set `key: value` in a parameter line, keeping every other byte; a missing key is appended.
fn set_param(line: &str, key: &str, value: &str) -> String {
    if let Some(re) = PARAM.as_ref() {
        for caps in re.captures_iter(line) {
            let (Some(k), Some(v)) = (caps.get(1), caps.get(2)) else {
                continue;
            };
            if k.as_str() == key {
                return format!("{}{}{}", &line[..v.start()], value, &line[v.end()..]);
            }
        }
    }
    if line.trim().is_empty() {
        format!("{key}: {value}")
    } else {
        format!("{line}, {key}: {value}")
    }
}

/// Edit an infotext: changed prompt blocks and parameter values, everything else verbatim.
pub fn edit_infotext(text: &str, changes: &[(String, Value)]) -> Result<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let param_at = lines.iter().rposition(|l| is_param_line(l));
    let (head, param, tail): (Vec<&str>, String, Vec<&str>) = match param_at {
        Some(i) => (
            lines[..i].to_vec(),
            lines[i].to_string(),
            lines[i + 1..].to_vec(),
        ),
        None => (lines.clone(), String::new(), Vec::new()),
    };
    let neg_at = head.iter().position(|l| l.starts_with("Negative prompt:"));
    let (mut prompt, mut negative) = match neg_at {
        Some(i) => (
            head[..i].join("\n"),
            Some(
                head[i..]
                    .join("\n")
                    .trim_start_matches("Negative prompt:")
                    .trim_start()
                    .to_string(),
            ),
        ),
        None => (head.join("\n"), None),
    };
    let mut param = param;
    let mut head_changed = false;
    for (key, value) in changes {
        match key.as_str() {
            "prompt" => {
                prompt = value
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| value.to_string());
                head_changed = true;
            }
            "negative" => {
                negative = Some(
                    value
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| value.to_string()),
                );
                head_changed = true;
            }
            "width" | "height" => {
                let re = PARAM.as_ref();
                let size = re.and_then(|re| {
                    re.captures_iter(&param)
                        .find(|c| c.get(1).is_some_and(|k| k.as_str() == "Size"))
                        .and_then(|c| c.get(2).map(|v| v.as_str().to_string()))
                });
                let (w, h) = size
                    .as_deref()
                    .and_then(|s| s.split_once('x'))
                    .map(|(w, h)| (w.trim().to_string(), h.trim().to_string()))
                    .unwrap_or_default();
                let v = value_text(value);
                let new = if key == "width" {
                    format!("{v}x{h}")
                } else {
                    format!("{w}x{v}")
                };
                param = set_param(&param, "Size", &new);
            }
            other => {
                let key = label(other)
                    .map(str::to_string)
                    .unwrap_or_else(|| other.to_string());
                param = set_param(&param, &key, &value_text(value));
            }
        }
    }
    let mut out = if head_changed {
        let mut h = prompt;
        if let Some(n) = negative {
            h.push_str("\nNegative prompt: ");
            h.push_str(&n);
        }
        h
    } else {
        head.join("\n")
    };
    if param_at.is_some() || !param.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&param);
    }
    for t in tail {
        out.push('\n');
        out.push_str(t);
    }
    Ok(out)
}

/// The fork as an infotext.
pub fn infotext(
    source: &ForkSource,
    expected: &Record,
    changes: &[(String, Value)],
) -> Result<String> {
    if let Some(("a1111-infotext", Value::String(text))) =
        source.settings.as_ref().map(|(f, d)| (f.as_str(), d))
    {
        return edit_infotext(text, changes);
    }
    stemma_container::mirror::a1111_parameters(expected).ok_or_else(|| {
        Error::Fork(format!(
            "{}: the record has no prompt or parameters to write as an infotext",
            source.path.display()
        ))
    })
}

/// A seed as the API's integer when it fits, else as text.
fn seed_value(seed: &str) -> Value {
    seed.parse::<i64>()
        .map(Value::from)
        .or_else(|_| seed.parse::<u64>().map(Value::from))
        .unwrap_or_else(|_| Value::String(seed.to_string()))
}

/// The API payload of a record (`txt2img`, or `img2img` with the source as init image).
pub fn api_payload(source: &ForkSource, record: &Record, img2img: bool) -> Result<Value> {
    let mut m = Map::new();
    let prompt = record.prompt.clone().unwrap_or_default();
    m.insert("prompt".into(), json!(prompt.positive.unwrap_or_default()));
    m.insert(
        "negative_prompt".into(),
        json!(prompt.negative.unwrap_or_default()),
    );
    let params = record.params.clone().unwrap_or_default();
    if let Some(s) = &params.seed {
        m.insert("seed".into(), seed_value(s));
    }
    if let Some(s) = params.steps {
        m.insert("steps".into(), json!(s));
    }
    if let Some(c) = params.cfg_scale {
        m.insert("cfg_scale".into(), json!(c));
    }
    if let Some(s) = &params.sampler {
        m.insert("sampler_name".into(), json!(s));
    }
    if let Some(s) = &params.scheduler {
        m.insert("scheduler".into(), json!(s));
    }
    if let Some(w) = params.width {
        m.insert("width".into(), json!(w));
    }
    if let Some(h) = params.height {
        m.insert("height".into(), json!(h));
    }
    let mut overrides = Map::new();
    if let Some(name) = params.model.as_ref().and_then(|m| m.name.clone()) {
        overrides.insert("sd_model_checkpoint".into(), json!(name));
    }
    if let Some(c) = params.clip_skip {
        overrides.insert("CLIP_stop_at_last_layers".into(), json!(c));
    }
    if let Some(h) = &params.hires {
        m.insert("enable_hr".into(), json!(true));
        if let Some(s) = h.scale {
            m.insert("hr_scale".into(), json!(s));
        }
        if let Some(u) = &h.upscaler {
            m.insert("hr_upscaler".into(), json!(u));
        }
        if let Some(s) = h.steps {
            m.insert("hr_second_pass_steps".into(), json!(s));
        }
        if let Some(d) = h.denoise {
            m.insert("denoising_strength".into(), json!(d));
        }
    }
    if img2img {
        let bytes = std::fs::read(&source.path).map_err(crate::error::io(&source.path))?;
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        m.insert("init_images".into(), json!([encoded]));
        m.insert(
            "denoising_strength".into(),
            json!(params.denoise.unwrap_or(0.75)),
        );
    } else if let Some(d) = params.denoise {
        m.entry("denoising_strength").or_insert(json!(d));
    }
    if !overrides.is_empty() {
        m.insert("override_settings".into(), Value::Object(overrides));
    }
    Ok(Value::Object(m))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn editing_an_infotext_changes_only_the_value() {
        let text = "a cat, <lora:x:0.5>\nNegative prompt: ugly\nSteps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 1234, Size: 512x768, Model: sd15, Lora hashes: \"x: abc\"\nTemplate: a cat";
        let out = edit_infotext(text, &[("seed".into(), json!("42"))]).unwrap();
        assert_eq!(out, text.replace("Seed: 1234", "Seed: 42"));
        let out = edit_infotext(text, &[("width".into(), json!(640))]).unwrap();
        assert_eq!(out, text.replace("512x768", "640x768"));
        let out = edit_infotext(text, &[("prompt".into(), json!("a dog"))]).unwrap();
        assert_eq!(out, text.replacen("a cat, <lora:x:0.5>", "a dog", 1));
        let out = edit_infotext(text, &[("Hires steps".into(), json!(10))]).unwrap();
        assert!(
            out.contains("Lora hashes: \"x: abc\", Hires steps: 10\nTemplate"),
            "{out}"
        );
    }
}
