//! Fork: the settings of a new run made from an image's (or a frame's) record with changes applied, in the
//! generator's own formats, and the manifest that remembers the source, the base settings hash and the RFC 7396
//! merge patch, so that `stemma scan` can link the results back.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Map, Value};
use stemma_container::Limits;
use stemma_import::{Depth, ResolveOptions};
use stemma_model::{ModelRef, Record};

use crate::error::{Error, Result};
use crate::infer::{open_run, OpenRun};
use crate::manifest::{ForkInfo, Manifest, Plan, SettingsRef, MANIFEST_VERSION};
use crate::{emit_a1111, emit_anim, emit_comfyui, link};

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

/// One emitted document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForkOutput {
    pub format: ForkFormat,
    /// File name used with `-o DIR`.
    pub file_name: String,
    /// The document as written (text formats as text, JSON pretty-printed).
    pub text: String,
}

/// A fork: its outputs and its manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Forked {
    pub outputs: Vec<ForkOutput>,
    pub manifest: Manifest,
    /// The record the fork's results are expected to carry (the source's with the changes applied).
    pub expected: Record,
    /// The source's settings document (format, document): the fork's base.
    pub base: (String, Value),
    /// The fork's own settings document (its hash is the manifest's `settings.hash`).
    pub document: Value,
}

/// The source's record with the changes applied to prompt and parameters.
pub fn apply_changes(record: &Record, changes: &[(String, Value)]) -> Record {
    let mut out = record.clone();
    out.content = None;
    out.raw.clear();
    out.parents.clear();
    for (key, value) in changes {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match key.as_str() {
            "prompt" => out.prompt_mut().positive = Some(text),
            "negative" => out.prompt_mut().negative = Some(text),
            "seed" => out.params_mut().seed = Some(text),
            "steps" => out.params_mut().steps = text.parse().ok(),
            "cfg_scale" => out.params_mut().cfg_scale = text.parse().ok(),
            "sampler" => out.params_mut().sampler = Some(text),
            "scheduler" => out.params_mut().scheduler = Some(text),
            "denoise" => out.params_mut().denoise = text.parse().ok(),
            "width" => out.params_mut().width = text.parse().ok(),
            "height" => out.params_mut().height = text.parse().ok(),
            "clip_skip" => out.params_mut().clip_skip = text.parse().ok(),
            "model" => {
                out.params_mut().model = Some(ModelRef {
                    name: Some(text),
                    ..ModelRef::default()
                })
            }
            other => {
                out.params_mut()
                    .extra
                    .insert(other.to_string(), value.clone());
            }
        }
    }
    out
}

fn pretty(value: &Value) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value).map_err(stemma_model::Error::from)?;
    text.push('\n');
    Ok(text)
}

/// Make the fork in each format asked for. The manifest's id is derived from the source and the changes, so the
/// same fork asked twice has the same id.
pub fn fork(source: &ForkSource, request: &ForkRequest, formats: &[ForkFormat]) -> Result<Forked> {
    let expected = apply_changes(&source.record, &request.changes);
    let (base_format, base_doc) = match &source.settings {
        Some((f, d)) => (f.clone(), d.clone()),
        None => ("stemma-params".to_string(), native_params(&source.record)),
    };
    let base_hash = stemma_model::settings_hash(&base_doc)?.to_string();
    let changes: Map<String, Value> = request.changes.iter().cloned().collect();
    let seed_text = format!(
        "{}|{}|{}|{}",
        source.id.as_deref().unwrap_or(""),
        base_hash,
        stemma_model::canonical_json(&changes)?,
        request
            .from_frame
            .map(|f| f.to_string())
            .unwrap_or_default()
    );
    let id_hash = stemma_model::settings_hash(&Value::String(seed_text))?.to_string();
    let fork_id = crate::infer::run_id("fork", &id_hash);
    let marker = json!({"run": fork_id, "from": source.id, "base": base_hash});
    let mut outputs = Vec::new();
    let mut forked_doc: Option<(String, Value)> = None;
    let mut fingerprints = Vec::new();
    if let Some(f) = link::params_fingerprint(&expected) {
        fingerprints.push(f);
    }
    for format in formats {
        let (file_name, text) = match format {
            ForkFormat::Infotext => {
                let text = emit_a1111::infotext(source, &expected, &request.changes)?;
                if base_format == "a1111-infotext" {
                    forked_doc = Some((base_format.clone(), Value::String(text.clone())));
                }
                ("fork.infotext.txt".to_string(), text)
            }
            ForkFormat::A1111Api => {
                let payload = emit_a1111::api_payload(source, &expected, request.img2img)?;
                let name = if request.img2img {
                    "fork.img2img.json"
                } else {
                    "fork.txt2img.json"
                };
                (name.to_string(), pretty(&payload)?)
            }
            ForkFormat::Comfyui => {
                let graph = emit_comfyui::graph(source, &expected, &request.changes)?;
                if base_format == "comfyui-api" {
                    forked_doc = Some((base_format.clone(), graph.clone()));
                }
                let body = json!({
                    "prompt": graph,
                    "extra_data": {"extra_pnginfo": {link::COMFYUI_MARKER_KEY: marker}},
                });
                ("fork.comfyui.json".to_string(), pretty(&body)?)
            }
            ForkFormat::Deforum | ForkFormat::Disco => {
                let doc = emit_anim::animation(source, request, *format)?;
                if let Some(f) = link::settings_fingerprint(&doc) {
                    fingerprints.push(f);
                }
                forked_doc = Some((base_format.clone(), doc.clone()));
                let name = if *format == ForkFormat::Deforum {
                    "fork.deforum.txt"
                } else {
                    "fork.disco.json"
                };
                (name.to_string(), pretty(&doc)?)
            }
            ForkFormat::Native => continue,
        };
        outputs.push(ForkOutput {
            format: *format,
            file_name,
            text,
        });
    }
    let forked_doc = match forked_doc {
        Some((_, d)) => d,
        None if base_format == "stemma-params" => native_params(&expected),
        None => {
            let mut d = base_doc.clone();
            stemma_model::apply_merge_patch(&mut d, &Value::Object(changes.clone()));
            d
        }
    };
    let (diff, _) = stemma_model::merge_patch_diff(&base_doc, &forked_doc);
    let forked_hash = stemma_model::settings_hash(&forked_doc)?.to_string();
    let manifest = Manifest {
        stemma_run: MANIFEST_VERSION.into(),
        id: fork_id.clone(),
        generator: expected
            .generator
            .as_ref()
            .map(|g| g.name.clone())
            .or_else(|| source.run.as_ref().map(|r| r.manifest.generator.clone()))
            .unwrap_or_else(|| "stemma".into()),
        key: None,
        settings: SettingsRef {
            format: base_format.clone(),
            hash: forked_hash,
            location: None,
            unknown: Map::new(),
        },
        folder: None,
        plan: Plan {
            kind: if source.frame.is_some() {
                "animation"
            } else {
                "batch"
            }
            .into(),
            count: emit_anim::remaining_frames(source).unwrap_or(1),
            first: 0,
            seeds: None,
            schedule: Vec::new(),
            items: Vec::new(),
            unknown: Map::new(),
        },
        produced: Vec::new(),
        fork: Some(ForkInfo {
            base: base_hash,
            diff,
            from: source.id.clone(),
            from_file: source
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string),
            from_frame: source.frame,
            changes,
            fingerprints,
            marker: Some(fork_id),
            unknown: Map::new(),
        }),
        created: None,
        unknown: Map::new(),
    };
    if formats.contains(&ForkFormat::Native) {
        let doc = json!({
            "stemma_fork": "1.0",
            "run": manifest.id,
            "from": source.id,
            "from_frame": source.frame,
            "base": {"format": &base_format, "hash": manifest.fork.as_ref().map(|f| f.base.clone())},
            "diff": manifest.fork.as_ref().map(|f| f.diff.clone()),
            "prompt": expected.prompt,
            "params": expected.params,
        });
        outputs.push(ForkOutput {
            format: ForkFormat::Native,
            file_name: "fork.native.json".into(),
            text: pretty(&doc)?,
        });
    }
    Ok(Forked {
        outputs,
        manifest,
        expected,
        base: (base_format, base_doc),
        document: forked_doc,
    })
}

/// stemma's own settings document for a record without native settings: its prompt and parameters.
pub fn native_params(record: &Record) -> Value {
    json!({"prompt": record.prompt, "params": record.params})
}
