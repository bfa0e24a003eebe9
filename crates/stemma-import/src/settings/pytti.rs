//! pytti's hydra YAML confs and `_settings.txt` files: scenes, the prompt syntax (`text:weight|...`), the
//! interpolated values of a conf and its defaults.

use super::*;

/// Split on `sep` where it is not inside `[...]` (pytti's `sep(?![^\[]*\])`), at most `max_parts` parts.
fn split_outside_brackets(s: &str, sep: char, max_parts: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in s.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if c == sep && depth == 0 && parts.len() + 1 < max_parts {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
}

/// One pytti prompt `text:weight:stop`, the weight optionally `weight_mask_cutoff`.
pub fn parse_pytti_prompt(prompt: &str) -> PromptPart {
    let fields = split_outside_brackets(prompt.trim(), ':', 3);
    let text = fields.first().map_or("", |t| t.trim()).to_string();
    let mut part = PromptPart {
        text,
        weight: Some(1.0),
        ..PromptPart::default()
    };
    if let Some(weight) = fields.get(1) {
        let w = split_outside_brackets(weight.trim(), '_', 3);
        let w0 = w.first().map_or("1", |s| s.trim());
        match w0.parse::<f64>() {
            Ok(v) => part.weight = Some(v),
            Err(_) => {
                part.weight = None;
                part.unknown
                    .insert("weight_expr".into(), Value::String(w0.to_string()));
            }
        }
        if let Some(mask) = w.get(1) {
            part.unknown
                .insert("mask".into(), Value::String(mask.trim().to_string()));
        }
        if let Some(cutoff) = w.get(2) {
            part.unknown.insert(
                "mask_cutoff".into(),
                Value::String(cutoff.trim().to_string()),
            );
        }
    }
    if let Some(stop) = fields.get(2) {
        let stop = stop.trim();
        match stop.parse::<f64>() {
            Ok(v) if v.is_finite() => part.stop = Some(v),
            Ok(_) => {}
            Err(_) => {
                part.unknown
                    .insert("stop_expr".into(), Value::String(stop.to_string()));
            }
        }
    }
    if part.text.starts_with('[') && part.text.ends_with(']') {
        part.unknown.insert("image".into(), Value::Bool(true));
    }
    part
}

/// A pytti scene: prompts split on `|`, empty ones dropped.
pub fn parse_pytti_scene(scene: &str) -> Vec<PromptPart> {
    scene
        .split('|')
        .filter(|p| !p.trim().is_empty())
        .map(parse_pytti_prompt)
        .collect()
}

fn yaml_to_json(v: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_yaml_ng::to_string(&other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

/// pytti's defaults (`assets/default.yaml`) for the keys the schedule and the frame numbering need.
const PYTTI_DEFAULTS: &[(&str, f64)] = &[
    ("steps_per_scene", 100.0),
    ("steps_per_frame", 50.0),
    ("save_every", 50.0),
    ("frames_per_second", 12.0),
    ("pre_animation_steps", 50.0),
];

static INTERPOLATION: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\$\{([A-Za-z_][A-Za-z0-9_.]*)\}$").ok());

/// Resolve `${key}` references to other top-level keys (OmegaConf interpolation); others (`${now:%f}`) stay.
fn resolve_interpolations(obj: &Map<String, Value>) -> Map<String, Value> {
    let mut out = obj.clone();
    for _ in 0..4 {
        let snapshot = out.clone();
        for value in out.values_mut() {
            let Some(text) = value.as_str() else { continue };
            let Some(caps) = INTERPOLATION.as_ref().and_then(|re| re.captures(text)) else {
                continue;
            };
            let key = caps.get(1).map_or("", |k| k.as_str());
            if let Some(target) = snapshot.get(key) {
                if !target.as_str().is_some_and(|t| t.starts_with("${")) {
                    *value = target.clone();
                }
            }
        }
    }
    out
}

fn pytti_common(s: &mut RunSettings, obj: &Map<String, Value>) {
    let resolved = resolve_interpolations(obj);
    let get = |k: &str| -> Option<f64> {
        as_f64(resolved.get(k)).or_else(|| {
            PYTTI_DEFAULTS
                .iter()
                .find(|(d, _)| *d == k)
                .map(|(_, v)| *v)
        })
    };
    let prefix = as_str(resolved.get("scene_prefix")).unwrap_or("");
    let suffix = as_str(resolved.get("scene_suffix")).unwrap_or("");
    let steps_per_scene = get("steps_per_scene").unwrap_or(100.0);
    let save_every = get("save_every").unwrap_or(50.0).max(1.0);
    match resolved.get("scenes") {
        Some(Value::String(scenes)) if scenes.trim() != "???" => {
            s.schedule = scenes
                .split("||")
                .enumerate()
                .map(|(i, scene)| {
                    let full = format!("{prefix}{scene}{suffix}");
                    ScheduleEntry {
                        // Scene i starts at iteration i·steps_per_scene = saved image i·sps/save_every.
                        start_frame: ((i as f64) * steps_per_scene / save_every).round() as u64,
                        positive: full.trim().to_string(),
                        negative: None,
                        parts: parse_pytti_scene(&full),
                    }
                })
                .collect();
        }
        Some(Value::String(_)) => s
            .warnings
            .push("scenes is the required placeholder ??? (no prompt)".into()),
        _ => s.warnings.push("no scenes".into()),
    }
    s.fps = get("frames_per_second");
    let p = &mut s.params;
    p.width = as_u64(resolved.get("width"));
    p.height = as_u64(resolved.get("height"));
    for key in [
        "image_model",
        "steps_per_scene",
        "steps_per_frame",
        "save_every",
        "pre_animation_steps",
        "file_namespace",
    ] {
        if let Some(v) = resolved.get(key) {
            p.extra.insert(key.to_string(), v.clone());
        }
    }
    let mode = match resolved.get("animation_mode") {
        Some(Value::Bool(false)) | None => "off".to_string(),
        Some(Value::String(m)) => m.clone(),
        Some(other) => other.to_string(),
    };
    s.animated = Some(!matches!(mode.as_str(), "off" | "false" | "False"));
    p.extra
        .insert("animation_mode".into(), Value::String(mode.clone()));
    // The frames of a pytti run are successive states of one optimisation (workhorse.py 244-246).
    s.feeds_previous_frame = true;
    s.seed = match resolved.get("seed") {
        Some(v) => match seed_string(v) {
            Some(seed) => SeedRule::Fixed { seed },
            None => SeedRule::Unknown {
                reason: format!("seed is not a number: {v}"),
            },
        },
        None => SeedRule::Unknown {
            reason: "no seed (pytti's default is ${now:%f}, the clock)".into(),
        },
    };
    if let Some(ns) = as_str(resolved.get("file_namespace")) {
        s.run_id.get_or_insert_with(|| format!("pytti:{ns}"));
    }
}

/// Import a pytti hydra conf (YAML).
pub fn import_pytti_yaml(name: &str, text: &str) -> Result<RunSettings> {
    let yaml: serde_yaml_ng::Value = if text.trim().is_empty() {
        serde_yaml_ng::Value::Mapping(serde_yaml_ng::Mapping::new())
    } else {
        serde_yaml_ng::from_str(text).map_err(|source| Error::Yaml {
            what: name.to_string(),
            source,
        })?
    };
    let parsed = match yaml_to_json(yaml) {
        Value::Null => Value::Object(Map::new()),
        v => v,
    };
    let obj = parsed.as_object().cloned().ok_or_else(|| Error::Invalid {
        what: name.to_string(),
        reason: "a pytti conf must be a mapping".into(),
    })?;
    // `pytti-yaml` is a text format (spec §13.3): the document is the conf exactly as written (comments, key order,
    // `${...}` interpolations), and its hash is that of its bytes. The parsed mapping only feeds the fields below.
    let data = Value::String(text.to_string());
    let mut s = RunSettings::new(Tool::Pytti, "pytti-yaml", data, Some(name))?;
    pytti_common(&mut s, &obj);
    if let Some(mode) = s
        .params
        .extra
        .get("animation_mode")
        .and_then(|m| m.as_str())
    {
        if !matches!(mode, "off" | "2D" | "3D" | "Video Source") {
            s.warnings
                .push(format!("animation_mode {mode:?} is not one pytti accepts"));
        }
    }
    Ok(s)
}

static PYTTI_NAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(?P<base>.+?)_settings\.txt$").ok());

/// Import a pytti `{base_name}_settings.txt`: one line of JSON, a blank line, then `b'{frame:.2f}: {scene}'`
/// lines (Python bytes reprs).
pub fn import_pytti_settings(name: &str, text: &str) -> Result<RunSettings> {
    let mut lines = text.lines();
    let first = lines.find(|l| !l.trim().is_empty()).unwrap_or_default();
    let data = parse_json(name, first)?;
    let obj = data.as_object().cloned().unwrap_or_default();
    let mut s = RunSettings::new(Tool::Pytti, "pytti-settings", data, Some(name))?;
    if let Some(caps) = PYTTI_NAME.as_ref().and_then(|re| re.captures(name)) {
        s.run_id = caps.name("base").map(|b| format!("pytti:{}", b.as_str()));
    }
    pytti_common(&mut s, &obj);
    // The scene lines give the saved-image number at which each scene starts; prefer them.
    let mut from_lines = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let decoded = python_bytes_repr(line.trim()).unwrap_or_else(|| line.trim().to_string());
        if let Some((at, scene)) = decoded.split_once(": ") {
            if let Ok(at) = at.trim().parse::<f64>() {
                from_lines.push(ScheduleEntry {
                    start_frame: at.max(0.0).round() as u64,
                    positive: scene.trim().to_string(),
                    negative: None,
                    parts: parse_pytti_scene(scene),
                });
            }
        }
    }
    if !from_lines.is_empty() {
        s.schedule = from_lines;
    }
    Ok(s)
}

/// Decode a Python bytes repr `b'...'` / `b"..."` to text (UTF-8, lossy).
pub fn python_bytes_repr(s: &str) -> Option<String> {
    let body = s
        .strip_prefix("b'")
        .and_then(|b| b.strip_suffix('\''))
        .or_else(|| s.strip_prefix("b\"").and_then(|b| b.strip_suffix('"')))?;
    let mut out = Vec::with_capacity(body.len());
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let c = bytes[i + 1];
            i += 2;
            match c {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'\\' => out.push(b'\\'),
                b'\'' => out.push(b'\''),
                b'"' => out.push(b'"'),
                b'x' if i + 2 <= bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i..i + 2]).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                other => {
                    out.push(b'\\');
                    out.push(other);
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}
