//! Per-run settings files: Disco Diffusion `{batch}({N})_settings.txt`, pytti YAML confs and `_settings.txt`,
//! Deforum `{timestring}_settings.txt` (Colab and A1111-extension shapes).
//!
//! A settings file becomes one [`RunSettings`]: the document (kept once per run, referenced by its
//! [`stemma_model::settings_hash`] from every frame), the prompt schedule, the seed rule and the key parameters.
//! [`RunSettings::frame_record`] builds the record of one frame.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};
use stemma_container::Limits;
use stemma_model::{
    settings_hash, Generator, ModelRef, Params, Prompt, PromptPart, Record, Run, Scene, Sequence,
    Settings,
};

use crate::error::{read_sibling_text, Error, Result};
use crate::tool::Tool;

/// One entry of a prompt schedule: from `start_frame` on (until the next entry), this prompt applies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleEntry {
    pub start_frame: u64,
    /// The prompt as the tool's syntax writes it (Disco: entries joined by ` | `; pytti: the whole scene).
    pub positive: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative: Option<String>,
    /// Weighted parts (Disco `text:weight`, pytti `text:weight:stop`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PromptPart>,
}

/// How the seed of frame `f` follows from the settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum SeedRule {
    /// Every frame uses this seed (pytti: one optimisation; Deforum `fixed`).
    Fixed { seed: String },
    /// Generated frame `g` (= frame / cadence) uses `base + g / every` (Disco animation: +1 per frame; Deforum
    /// `iter` with `seed_iter_N`). Frames between cadence steps have no seed of their own.
    Increment {
        base: String,
        every: u64,
        cadence: u64,
    },
    /// Only the first image has this seed (Disco still batches are not re-seeded per image).
    FirstOnly { seed: String },
    /// The seed cannot be derived (random seed, `-1`, an unresolved expression, a schedule).
    Unknown { reason: String },
}

/// Frame interpolation configured in the settings (Deforum).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterpolationSettings {
    pub engine: String,
    pub factor: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_mo: Option<u64>,
}

/// A per-run settings file, imported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSettings {
    pub tool: Tool,
    /// `settings.format` value: `disco-json`, `pytti-yaml`, `pytti-settings`, `deforum-json`.
    pub format: &'static str,
    /// Which writer (`deforum-colab`, `deforum-a1111`, `disco-v5`, `disco-v3`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The settings document.
    pub data: Value,
    /// `sha256:` of the canonical document.
    pub hash: String,
    /// File name the settings came from (a hint written to `settings.location`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The run this file belongs to (`disco:TimeToDisco(0)`, `deforum:20230812221310`, `pytti:bird(2)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Prompt schedule, sorted by start frame.
    pub schedule: Vec<ScheduleEntry>,
    /// Normalised parameters shared by every frame (the seed is per frame: see `seed`).
    pub params: Params,
    pub seed: SeedRule,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_frames: Option<u64>,
    /// Deforum `diffusion_cadence`: every n-th frame is diffused, the ones between are blended in-betweens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cadence: Option<u64>,
    /// `Some(true)` for 2D/3D/video animation, `Some(false)` for stills, `None` when the file does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub animated: Option<bool>,
    /// True when each frame is made from the previous one (2D/3D warps, pytti's continued optimisation).
    pub feeds_previous_frame: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpolation: Option<InterpolationSettings>,
    /// Deforum: the timestring of the run this file resumes (`resume_from_timestring: true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumes: Option<String>,
    /// What the file lacks or what was assumed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl RunSettings {
    fn new(tool: Tool, format: &'static str, data: Value, location: Option<&str>) -> Result<Self> {
        let hash = settings_hash(&data)?.to_string();
        Ok(RunSettings {
            tool,
            format,
            variant: None,
            data,
            hash,
            location: location.map(str::to_string),
            run_id: None,
            schedule: Vec::new(),
            params: Params::default(),
            seed: SeedRule::Unknown {
                reason: "no seed in the settings".into(),
            },
            fps: None,
            max_frames: None,
            cadence: None,
            animated: None,
            feeds_previous_frame: false,
            interpolation: None,
            resumes: None,
            warnings: Vec::new(),
        })
    }

    /// The schedule entry that applies at `frame`: the one with the greatest start ≤ frame, else the first
    /// (Disco's `ffill().bfill()`).
    pub fn entry_at(&self, frame: u64) -> Option<&ScheduleEntry> {
        self.schedule
            .iter()
            .rev()
            .find(|e| e.start_frame <= frame)
            .or_else(|| self.schedule.first())
    }

    /// The prompt that applied at `frame`.
    pub fn prompt_at(&self, frame: u64) -> Option<Prompt> {
        self.entry_at(frame).map(|e| Prompt {
            positive: Some(e.positive.clone()),
            negative: e.negative.clone(),
            parts: e.parts.clone(),
            ..Prompt::default()
        })
    }

    /// The whole prompt of the run: the first entry, with the schedule as `scenes` when there is more than one.
    pub fn run_prompt(&self) -> Option<Prompt> {
        let mut prompt = self.prompt_at(0)?;
        if self.schedule.len() > 1 {
            prompt.scenes = self
                .schedule
                .iter()
                .map(|e| Scene {
                    start_frame: Some(e.start_frame),
                    text: Some(e.positive.clone()),
                    parts: e.parts.clone(),
                    ..Scene::default()
                })
                .collect();
        }
        Some(prompt)
    }

    /// Whether `frame` is a cadence in-between (not diffused) by the settings alone.
    pub fn is_cadence_frame(&self, frame: u64) -> bool {
        matches!(self.cadence, Some(c) if c > 1 && !frame.is_multiple_of(c))
    }

    /// The seed of `frame` by the seed rule, for an uninterrupted run.
    pub fn seed_at(&self, frame: u64) -> Option<String> {
        match &self.seed {
            SeedRule::Fixed { seed } => Some(seed.clone()),
            SeedRule::FirstOnly { seed } => (frame == 0).then(|| seed.clone()),
            SeedRule::Increment {
                base,
                every,
                cadence,
            } => {
                let cadence = (*cadence).max(1);
                if !frame.is_multiple_of(cadence) {
                    return None;
                }
                let generated = frame / cadence;
                let base: i128 = base.parse().ok()?;
                let step = i128::from(generated / (*every).max(1));
                Some((base + step).to_string())
            }
            SeedRule::Unknown { .. } => None,
        }
    }

    /// The record of the run as a whole: prompt with its schedule, parameters, the settings inline.
    pub fn run_record(&self) -> Record {
        let mut record = self.base_record(true);
        record.prompt = self.run_prompt();
        if let Some(seed) = self.seed_at(0) {
            record.params_mut().seed = Some(seed);
        }
        record
    }

    /// The record of frame `frame` of the run `sequence_id`: the prompt that applied there, its seed, the
    /// settings by reference (inline too when `inline_settings`: do that for one frame per run).
    pub fn frame_record(&self, sequence_id: &str, frame: u64, inline_settings: bool) -> Record {
        let mut record = self.base_record(inline_settings);
        record.prompt = self.prompt_at(frame);
        if let Some(seed) = self.seed_at(frame) {
            record.params_mut().seed = Some(seed);
        }
        if let Some(run) = record.run.as_mut() {
            run.index = Some(frame);
            run.id = sequence_id.to_string();
        }
        record.sequence = Some(Sequence {
            id: sequence_id.to_string(),
            frame: Some(frame),
            time: Some(frame as f64),
            fps: self.fps,
            ..Sequence::default()
        });
        record
    }

    fn base_record(&self, inline: bool) -> Record {
        let mut record = Record::new();
        record.generator = Some(Generator {
            name: self.tool.id().to_string(),
            version: self.variant.clone(),
            dialect: Some(self.format.to_string()),
            ..Generator::default()
        });
        if !self.params.is_empty() {
            record.params = Some(self.params.clone());
        }
        record.settings = Some(Settings {
            format: Some(self.format.to_string()),
            data: inline.then(|| self.data.clone()),
            reference: Some(self.hash.clone()),
            location: self.location.clone(),
            ..Settings::default()
        });
        record.run = Some(Run {
            id: self.run_id.clone().unwrap_or_else(|| self.hash.clone()),
            settings: Some(self.hash.clone()),
            ..Run::default()
        });
        record
    }
}

/// Import a settings file, deciding the tool from its name and content, read within `limits` (a file larger than
/// `max_metadata_chunk` is refused).
pub fn import_settings_file(path: &Path, limits: &Limits) -> Result<RunSettings> {
    let text = read_sibling_text(path, limits)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    import_settings_text(name, &text, None)
}

/// Import settings text. `name` is the file name (used for the run id and for YAML detection); `tool` forces a
/// tool (`stemma import --as`), otherwise the content decides.
pub fn import_settings_text(name: &str, text: &str, tool: Option<Tool>) -> Result<RunSettings> {
    let text = text.trim_start_matches('\u{feff}');
    let is_yaml = name.ends_with(".yaml") || name.ends_with(".yml");
    let tool = match tool {
        Some(t) => t,
        None if is_yaml => Tool::Pytti,
        None => detect_tool(text).ok_or_else(|| Error::Unrecognised(name.to_string()))?,
    };
    match tool {
        Tool::Disco => import_disco(name, text),
        Tool::Pytti if is_yaml => import_pytti_yaml(name, text),
        Tool::Pytti => import_pytti_settings(name, text),
        Tool::Deforum => import_deforum(name, text),
        other => Err(Error::Invalid {
            what: name.to_string(),
            reason: format!("{} has no per-run settings importer", other.id()),
        }),
    }
}

/// Which tool wrote a JSON settings document, by its keys.
pub fn detect_tool(text: &str) -> Option<Tool> {
    let first = text.lines().find(|l| !l.trim().is_empty())?.trim();
    // pytti `_settings.txt`: one line of JSON, then scene lines.
    if first.starts_with('{') && first.ends_with('}') && first.contains("\"scenes\"") {
        return Some(Tool::Pytti);
    }
    let value: Value = serde_json::from_str(text).ok()?;
    let obj = value.as_object()?;
    if obj.contains_key("text_prompts") {
        Some(Tool::Disco)
    } else if obj.contains_key("scenes") {
        Some(Tool::Pytti)
    } else if obj.contains_key("prompts")
        || obj.contains_key("cond_prompts")
        || obj.contains_key("animation_prompts")
        || (obj.contains_key("W") && obj.contains_key("seed_behavior"))
    {
        Some(Tool::Deforum)
    } else {
        None
    }
}

fn parse_json(name: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|source| Error::DocumentJson {
        what: name.to_string(),
        source,
    })
}

fn seed_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Number(n) => n.as_f64().map(|f| format!("{f}")),
        Value::String(s) if s.trim().parse::<i128>().is_ok() => Some(s.trim().to_string()),
        _ => None,
    }
}

fn as_u64(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_f64(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_str(v: Option<&Value>) -> Option<&str> {
    v?.as_str()
}

// ---------------------------------------------------------------------------------------------------------------
// Disco Diffusion
// ---------------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------------
// pytti
// ---------------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------------
// Deforum
// ---------------------------------------------------------------------------------------------------------------

static DEFORUM_NAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(?P<ts>\d{14})_settings\.txt$").ok());
static SCHEDULE_FIRST: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*0\s*:\s*\(\s*(-?[\d.]+)\s*\)\s*$").ok());

/// Split a Deforum prompt at ` --neg ` into (positive, negative).
pub fn split_deforum_neg(text: &str) -> (String, Option<String>) {
    match text.split_once("--neg") {
        Some((pos, neg)) => {
            let neg = neg.trim();
            (
                pos.trim().to_string(),
                (!neg.is_empty()).then(|| neg.to_string()),
            )
        }
        None => (text.trim().to_string(), None),
    }
}

fn join_prompt(a: Option<String>, b: &str, sep: &str) -> Option<String> {
    let b = b.trim();
    match (a, b.is_empty()) {
        (Some(a), false) if !a.is_empty() => Some(format!("{a}{sep}{b}")),
        (Some(a), _) => Some(a),
        (None, false) => Some(b.to_string()),
        (None, true) => None,
    }
}

/// Import a Deforum `{timestring}_settings.txt` (Colab/local notebook or A1111 extension).
pub fn import_deforum(name: &str, text: &str) -> Result<RunSettings> {
    let data = parse_json(name, text)?;
    let obj = data.as_object().cloned().unwrap_or_default();
    let mut s = RunSettings::new(Tool::Deforum, "deforum-json", data, Some(name))?;
    let extension = [
        "sd_model_name",
        "deforum_git_commit_id",
        "positive_prompts",
        "animation_prompts_positive",
        "show_info_on_ui",
        "cfg_scale_schedule",
    ]
    .iter()
    .any(|k| obj.contains_key(*k));
    s.variant = Some(
        if extension {
            "deforum-a1111"
        } else {
            "deforum-colab"
        }
        .into(),
    );
    let ts = DEFORUM_NAME
        .as_ref()
        .and_then(|re| re.captures(name))
        .and_then(|c| c.name("ts"))
        .map(|m| m.as_str().to_string())
        .or_else(|| as_str(obj.get("timestring")).map(str::to_string))
        .or_else(|| {
            let batch = as_str(obj.get("batch_name"))?;
            let digits: String = batch.chars().filter(char::is_ascii_digit).collect();
            (digits.len() == 14 && batch.contains(&digits)).then_some(digits)
        });
    if let Some(ts) = &ts {
        s.run_id = Some(format!("deforum:{ts}"));
    }
    if obj.get("resume_from_timestring").and_then(Value::as_bool) == Some(true) {
        if let Some(resumed) = as_str(obj.get("resume_timestring")) {
            s.resumes = Some(resumed.to_string());
            s.warnings.push(format!("this run resumes {resumed}"));
        }
    }
    let mode = as_str(obj.get("animation_mode")).unwrap_or("None");
    s.animated = Some(mode != "None");
    // 2D and 3D warp the previous frame; Video Input and Interpolation start from other images.
    s.feeds_previous_frame = matches!(mode, "2D" | "3D");
    let common_pos = as_str(obj.get("positive_prompts"))
        .or_else(|| as_str(obj.get("animation_prompts_positive")))
        .unwrap_or("")
        .to_string();
    let common_neg = as_str(obj.get("negative_prompts"))
        .or_else(|| as_str(obj.get("animation_prompts_negative")))
        .unwrap_or("")
        .to_string();
    let mut schedule = Vec::new();
    if let Some(Value::Object(prompts)) = obj.get("prompts").or_else(|| obj.get("cond_prompts")) {
        let inverted = !prompts.is_empty()
            && prompts.iter().all(|(k, v)| {
                k.trim().parse::<u64>().is_err()
                    && v.as_str()
                        .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
            });
        let uncond = match obj.get("uncond_prompts") {
            Some(Value::Object(u)) => u.clone(),
            _ => Map::new(),
        };
        for (k, v) in prompts {
            // Colab still mode stores {"<prompt>": "00000"} (render.py 93-94).
            let (frame, text) = if inverted {
                (v.as_str().and_then(|v| v.parse().ok()), k.clone())
            } else {
                (
                    k.trim().parse::<u64>().ok(),
                    v.as_str().unwrap_or("").to_string(),
                )
            };
            let Some(frame) = frame else {
                s.warnings.push(format!(
                    "prompt key {k:?} is not a frame number (Parseq or an expression)"
                ));
                continue;
            };
            let (pos, neg) = split_deforum_neg(&text);
            let neg = neg.or_else(|| {
                uncond
                    .get(k)
                    .and_then(|u| u.as_str())
                    .map(str::to_string)
                    .filter(|u| !u.trim().is_empty())
            });
            let positive = join_prompt(
                (!common_pos.trim().is_empty()).then(|| common_pos.trim().to_string()),
                &pos,
                " ",
            )
            .unwrap_or_default();
            // args.py: f"{positive} {prompt} {'' if '--neg' in prompt else '--neg'} {negative}".
            let negative = join_prompt(neg, &common_neg, " ");
            schedule.push(ScheduleEntry {
                start_frame: frame,
                positive,
                negative,
                parts: Vec::new(),
            });
        }
        if inverted {
            s.variant = Some("deforum-colab-still".into());
        }
    } else if let Some(prompt) = as_str(obj.get("prompt")).filter(|p| !p.trim().is_empty()) {
        let (pos, neg) = split_deforum_neg(prompt);
        schedule.push(ScheduleEntry {
            start_frame: 0,
            positive: pos,
            negative: neg,
            parts: Vec::new(),
        });
    }
    schedule.sort_by_key(|e| e.start_frame);
    s.schedule = schedule;

    let p = &mut s.params;
    p.width = as_u64(obj.get("W"));
    p.height = as_u64(obj.get("H"));
    p.steps = as_u64(obj.get("steps"));
    p.sampler = as_str(obj.get("sampler")).map(str::to_string);
    p.cfg_scale = as_f64(obj.get("scale")).or_else(|| {
        as_str(obj.get("cfg_scale_schedule"))
            .and_then(|sch| SCHEDULE_FIRST.as_ref()?.captures(sch))
            .and_then(|c| c.get(1)?.as_str().parse().ok())
    });
    if let Some(model) = as_str(obj.get("sd_model_name")) {
        p.model = Some(ModelRef {
            name: Some(model.to_string()),
            hash: as_str(obj.get("sd_model_hash")).map(str::to_string),
            ..ModelRef::default()
        });
    }
    for key in [
        "animation_mode",
        "seed_behavior",
        "diffusion_cadence",
        "max_frames",
    ] {
        if let Some(v) = obj.get(key) {
            p.extra.insert(key.to_string(), v.clone());
        }
    }
    s.max_frames = as_u64(obj.get("max_frames"));
    s.fps = as_f64(obj.get("fps"));
    s.cadence = as_u64(obj.get("diffusion_cadence")).filter(|c| *c >= 1);
    let engine = as_str(obj.get("frame_interpolation_engine")).unwrap_or("None");
    if engine != "None" && !engine.is_empty() {
        let slow = obj
            .get("frame_interpolation_slow_mo_enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        s.interpolation =
            as_u64(obj.get("frame_interpolation_x_amount")).map(|factor| InterpolationSettings {
                engine: engine.to_string(),
                factor,
                slow_mo: slow
                    .then(|| as_u64(obj.get("frame_interpolation_slow_mo_amount")))
                    .flatten(),
            });
    }
    let behavior = as_str(obj.get("seed_behavior")).unwrap_or("iter");
    let cadence = if s.animated == Some(true) {
        s.cadence.unwrap_or(1)
    } else {
        1
    };
    s.seed = match obj.get("seed").and_then(seed_string) {
        Some(seed) if seed == "-1" => SeedRule::Unknown {
            reason: "seed -1: a random seed was drawn and not saved here".into(),
        },
        Some(seed) => match behavior {
            "fixed" => SeedRule::Fixed { seed },
            "iter" => SeedRule::Increment {
                base: seed,
                every: as_u64(obj.get("seed_iter_N")).unwrap_or(1).max(1),
                cadence,
            },
            other => SeedRule::Unknown {
                reason: format!("seed_behavior {other:?}: per-frame seeds are in the .srt, if any"),
            },
        },
        None => SeedRule::Unknown {
            reason: "no seed in the settings".into(),
        },
    };
    Ok(s)
}
