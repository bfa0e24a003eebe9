//! Disco Diffusion's `{batch}({N})_settings.txt` (a JSON document): prompts by frame, seed, model.

use super::*;

static DISCO_NAME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^(?P<batch>.+?)(?:\((?P<run>\d+)\)|-(?P<run2>\d+))_settings\.txt$").ok()
});

/// Disco's `text[:weight]` (disco.py `parse_prompt`: `rsplit(':', 1)`, URLs `rsplit(':', 2)`).
pub fn parse_disco_prompt(entry: &str) -> PromptPart {
    let (text, weight) = match entry.rsplit_once(':') {
        Some((text, w)) => match w.trim().parse::<f64>() {
            Ok(weight) if !(text.ends_with("http") || text.ends_with("https")) => {
                (text.to_string(), Some(weight))
            }
            _ => (entry.to_string(), None),
        },
        None => (entry.to_string(), None),
    };
    PromptPart {
        text,
        weight: weight.or(Some(1.0)),
        ..PromptPart::default()
    }
}

fn disco_entry(start_frame: u64, list: &Value) -> Option<ScheduleEntry> {
    let items: Vec<String> = match list {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => return None,
    };
    Some(ScheduleEntry {
        start_frame,
        positive: items.join(" | "),
        negative: None,
        parts: items.iter().map(|i| parse_disco_prompt(i)).collect(),
    })
}

/// Import a Disco Diffusion settings JSON.
pub fn import_disco(name: &str, text: &str) -> Result<RunSettings> {
    let data = parse_json(name, text)?;
    let mut s = RunSettings::new(Tool::Disco, "disco-json", data.clone(), Some(name))?;
    let obj = data.as_object().cloned().unwrap_or_default();
    if let Some(caps) = DISCO_NAME.as_ref().and_then(|re| re.captures(name)) {
        let batch = caps.name("batch").map_or("", |m| m.as_str());
        let run = caps
            .name("run")
            .or_else(|| caps.name("run2"))
            .map_or("", |m| m.as_str());
        s.run_id = Some(format!("disco:{batch}({run})"));
    }
    match obj.get("text_prompts") {
        Some(Value::Object(map)) => {
            s.variant = Some("disco-v4+".into());
            let mut entries: Vec<ScheduleEntry> = map
                .iter()
                .filter_map(|(k, v)| disco_entry(k.trim().parse().ok()?, v))
                .collect();
            entries.sort_by_key(|e| e.start_frame);
            s.schedule = entries;
        }
        Some(list @ Value::Array(_)) => {
            s.variant = Some("disco-v3".into());
            s.schedule = disco_entry(0, list).into_iter().collect();
        }
        _ => s.warnings.push("no text_prompts".into()),
    }
    let p = &mut s.params;
    p.width = as_u64(obj.get("width").or_else(|| obj.get("width_height")));
    p.height = as_u64(obj.get("height"));
    p.steps = as_u64(obj.get("steps"));
    if let Some(model) = as_str(obj.get("diffusion_model")) {
        p.model = Some(ModelRef {
            name: Some(model.to_string()),
            ..ModelRef::default()
        });
    }
    for key in [
        "clip_guidance_scale",
        "skip_steps",
        "diffusion_sampling_mode",
        "eta",
    ] {
        if let Some(v) = obj.get(key) {
            p.extra.insert(key.to_string(), v.clone());
        }
    }
    s.max_frames = as_u64(obj.get("max_frames"));
    // `animation_mode` is not saved (legacy-tools.md §1.3); the file names decide (padded = animation).
    s.animated = as_str(obj.get("animation_mode")).map(|m| m != "None");
    s.feeds_previous_frame = true;
    s.seed = match obj.get("seed").and_then(seed_string) {
        // seed(frame f) = seed + f for an uninterrupted 2D/3D run (disco.py 1161-1162).
        Some(seed) => SeedRule::Increment {
            base: seed,
            every: 1,
            cadence: 1,
        },
        None => SeedRule::Unknown {
            reason: "no seed in the settings".into(),
        },
    };
    Ok(s)
}
