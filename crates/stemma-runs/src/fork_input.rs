//! What a fork starts from and what it is asked for: the source image or frame (read through the library's
//! resolver), the changes (`key=value`), and the formats to write. `fork` and the emitters take these.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use stemma_container::Limits;
use stemma_import::{Depth, ResolveOptions};
use stemma_model::Record;

use crate::error::{Error, Result};
use crate::infer::{open_run, OpenRun};

/// The formats a fork is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForkFormat {
    /// A1111 infotext, pastable into the prompt box.
    Infotext,
    /// A1111/Forge API `txt2img` (or `img2img`) payload.
    A1111Api,
    /// ComfyUI `POST /prompt` body: the API graph and the marker in `extra_data.extra_pnginfo`.
    Comfyui,
    /// Deforum settings file for an animation fork.
    Deforum,
    /// Disco Diffusion settings for an animation fork.
    Disco,
    /// stemma's own JSON: base, patch, source and the new parameters.
    Native,
}

impl ForkFormat {
    pub fn parse(name: &str) -> Option<ForkFormat> {
        Some(match name {
            "infotext" | "a1111" => ForkFormat::Infotext,
            "a1111-api" | "forge-api" | "api" => ForkFormat::A1111Api,
            "comfyui" | "comfyui-api" => ForkFormat::Comfyui,
            "deforum" => ForkFormat::Deforum,
            "disco" => ForkFormat::Disco,
            "native" | "json" => ForkFormat::Native,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ForkFormat::Infotext => "infotext",
            ForkFormat::A1111Api => "a1111-api",
            ForkFormat::Comfyui => "comfyui",
            ForkFormat::Deforum => "deforum",
            ForkFormat::Disco => "disco",
            ForkFormat::Native => "native",
        }
    }
}

/// What to change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForkRequest {
    /// `--set key=value`, keys in the vocabulary of `params` (aliases accepted: `cfg`, `checkpoint`, …).
    pub changes: Vec<(String, Value)>,
    /// `--from-frame N` for an animation.
    pub from_frame: Option<u64>,
    /// Write an `img2img` API payload with the source as init image instead of `txt2img`.
    pub img2img: bool,
}

/// Parse `key=value`: the value is JSON when it parses as a number, boolean or quoted string, else text.
pub fn parse_change(text: &str) -> Result<(String, Value)> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| Error::BadChange(text.to_string()))?;
    let key = canonical_key(key.trim());
    if key.is_empty() {
        return Err(Error::BadChange(text.to_string()));
    }
    let value = match serde_json::from_str::<Value>(value) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::String(_))) => v,
        _ => Value::String(value.to_string()),
    };
    Ok((key.to_string(), value))
}

/// The `params` name of a change key.
pub fn canonical_key(key: &str) -> &str {
    match key {
        "cfg" | "cfg_scale" | "CFG scale" | "guidance_scale" => "cfg_scale",
        "sampler" | "sampler_name" | "Sampler" => "sampler",
        "checkpoint" | "ckpt" | "ckpt_name" | "model" | "Model" => "model",
        "denoise" | "denoising_strength" | "strength" => "denoise",
        "prompt" | "positive" => "prompt",
        "negative" | "negative_prompt" => "negative",
        "Seed" => "seed",
        "Steps" => "steps",
        other => other,
    }
}

/// The image (or frame) forked from.
#[derive(Debug, Clone)]
pub struct ForkSource {
    pub path: PathBuf,
    pub record: Record,
    /// Content id (pixel id where the format has one).
    pub id: Option<String>,
    /// The native settings document and its format.
    pub settings: Option<(String, Value)>,
    /// For a frame of a run: the run and the frame number.
    pub run: Option<OpenRun>,
    pub frame: Option<u64>,
}

/// Read the source: an image file; or, with `from_frame`, a frame file, a run folder or a run manifest.
pub fn load_source(path: &Path, from_frame: Option<u64>, limits: &Limits) -> Result<ForkSource> {
    let (file, run) = if path.is_dir() || crate::infer::is_manifest_path(path) {
        let run = open_run(path)?;
        let frame = from_frame.ok_or_else(|| {
            Error::Fork(format!(
                "{} is a run; say which frame to fork from with --from-frame N",
                path.display()
            ))
        })?;
        let status = crate::status::status(&run, limits, false)?;
        let item = status.item(frame).ok_or_else(|| {
            Error::Fork(format!(
                "frame {frame} is not in the plan of {} ({} frames)",
                run.manifest.id, run.manifest.plan.count
            ))
        })?;
        if !item.status.is_good() {
            return Err(Error::Fork(format!(
                "frame {frame} of {} is {}{}: fork from a good frame",
                run.manifest.id,
                item.status.name(),
                item.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )));
        }
        let file = item
            .file
            .clone()
            .ok_or_else(|| Error::Fork(format!("frame {frame} has no file")))?;
        (file, Some(run))
    } else if from_frame.is_some() {
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        (path.to_path_buf(), crate::infer::infer_folder(folder).ok())
    } else {
        (path.to_path_buf(), None)
    };
    let bytes =
        stemma_container::ops::read_for_edit(&file, limits).map_err(|e| Error::Container {
            path: file.clone(),
            reason: e.to_string(),
        })?;
    let source: &dyn stemma_container::source::Source = &bytes.as_slice();
    let damage = stemma_container::ops::handler_of(source)
        .and_then(|h| h.damage(&bytes, limits))
        .map_err(|e| Error::Container {
            path: file.clone(),
            reason: e.to_string(),
        })?;
    if !damage.is_empty() {
        return Err(Error::Container {
            path: file.clone(),
            reason: format!("damaged ({}): fork from an intact file", damage.join("; ")),
        });
    }
    let id = stemma_container::ops::lineage_id(&bytes, limits)
        .ok()
        .map(|i| i.to_string());
    let options = ResolveOptions {
        limits: *limits,
        depth: Depth::Import,
    };
    let resolved = stemma_import::resolve(&file, &options).map_err(|e| Error::Container {
        path: file.clone(),
        reason: e.to_string(),
    })?;
    let mut record = resolved.record.unwrap_or_else(Record::new);
    let mut settings = record
        .settings
        .as_ref()
        .and_then(|s| Some((s.format.clone().unwrap_or_default(), s.data.clone()?)));
    // The infotext importer keeps the parameters as an object; the fork edits the text itself, kept in `raw`.
    if let Some((format, data)) = &settings {
        if format == "a1111-infotext" && !data.is_string() {
            let text = record
                .raw
                .iter()
                .filter(|r| r.text.is_some())
                .find(|r| r.used || matches!(r.key.as_deref(), Some("parameters" | "UserComment")))
                .and_then(|r| r.text.clone());
            if let Some(text) = text {
                settings = Some((format.clone(), Value::String(text)));
            }
        }
    }
    let frame = match &run {
        Some(r) => {
            let frame = from_frame.unwrap_or_default();
            if settings.is_none() {
                settings = Some((r.manifest.settings.format.clone(), r.settings.clone()));
            }
            if let Some(rs) = &r.run_settings {
                let frame_record = rs.frame_record(&r.manifest.id, frame, false);
                if record.prompt.is_none() {
                    record.prompt = frame_record.prompt;
                }
                if record.params.is_none() {
                    record.params = frame_record.params;
                }
            }
            Some(frame)
        }
        None => None,
    };
    if record.prompt.is_none() && record.params.is_none() && settings.is_none() {
        return Err(Error::Fork(format!(
            "{}: no recipe found (no stemma record, no generator metadata): nothing to fork",
            file.display()
        )));
    }
    Ok(ForkSource {
        path: file,
        record,
        id,
        settings,
        run,
        frame,
    })
}
