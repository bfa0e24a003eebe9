//! Fork: the settings of a new run made from an image's (or a frame's) record with changes applied, in the
//! generator's own formats, and the manifest that remembers the source, the base settings hash and the RFC 7396
//! merge patch, so that `stemma scan` can link the results back.

use serde::Serialize;
use serde_json::{json, Map, Value};
use stemma_model::{ModelRef, Record};

use crate::error::Result;
use crate::fork_input::{ForkFormat, ForkRequest, ForkSource};
use crate::manifest::{ForkInfo, Manifest, Plan, SettingsRef, MANIFEST_VERSION};
use crate::{emit_a1111, emit_anim, emit_comfyui, link};

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
