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

mod deforum;
mod disco;
mod pytti;

pub use deforum::{import_deforum, split_deforum_neg};
pub use disco::{import_disco, parse_disco_prompt};
pub use pytti::{
    import_pytti_settings, import_pytti_yaml, parse_pytti_prompt, parse_pytti_scene,
    python_bytes_repr,
};

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
