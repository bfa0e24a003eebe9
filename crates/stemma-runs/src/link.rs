//! Linking a fork's results to its source (`spec/runs.md` §5). The generator knows nothing of stemma, so a
//! result is recognised by what it carries:
//!
//! 1. the **marker** a ComfyUI fork puts in `extra_data.extra_pnginfo` (`stemma_fork`), which `SaveImage` writes
//!    into every PNG as a text chunk of that name;
//! 2. its **parameter fingerprint**: the settings hash of `{prompt, negative, seed, steps, cfg_scale, sampler,
//!    width, height}` of its record, equal to the fingerprint of the source's record with the changes applied;
//! 3. for animation forks, the **settings fingerprint** of the run's settings file: its settings hash without
//!    the members a generator rewrites on every run (timestring, output folder, batch name, resume flags).

use serde_json::{json, Map, Value};
use stemma_model::Record;

use crate::manifest::Manifest;

/// The key of the marker in ComfyUI's `extra_pnginfo` (and so of the PNG text chunk `SaveImage` writes).
pub const COMFYUI_MARKER_KEY: &str = "stemma_fork";

/// Members of a run's settings that change on every run of the same settings.
pub const VOLATILE_SETTINGS: &[&str] = &[
    "timestring",
    "outdir",
    "batch_name",
    "batchNum",
    "resume_from_timestring",
    "resume_timestring",
    "resume_run",
    "run_to_resume",
    "resume_from_frame",
    "retain_overwritten_frames",
    "seed_internal",
    "sd_model_name",
    "sd_model_hash",
    "deforum_git_commit_id",
];

fn hash(value: &Value) -> Option<String> {
    stemma_model::settings_hash(value)
        .ok()
        .map(|h| h.to_string())
}

/// The parameter fingerprint of a record; `None` without a prompt and a seed (too little to tell runs apart).
pub fn params_fingerprint(record: &Record) -> Option<String> {
    let prompt = record.prompt.as_ref()?;
    let params = record.params.as_ref()?;
    let positive = prompt.positive.as_ref()?;
    let seed = params.seed.as_ref()?;
    let cfg = params.cfg_scale.map(|c| format!("{:.4}", c));
    hash(&json!({
        "prompt": positive,
        "negative": prompt.negative.clone().unwrap_or_default(),
        "seed": seed,
        "steps": params.steps,
        "cfg_scale": cfg,
        "sampler": params.sampler,
        "width": params.width,
        "height": params.height,
    }))
}

/// The settings fingerprint of a run's settings document (an object), without its volatile members.
pub fn settings_fingerprint(doc: &Value) -> Option<String> {
    let mut m: Map<String, Value> = doc.as_object()?.clone();
    for key in VOLATILE_SETTINGS {
        m.remove(*key);
    }
    hash(&Value::Object(m)).map(|h| format!("settings:{h}"))
}

/// What a candidate result carries.
#[derive(Debug, Clone, Default)]
pub struct Evidence<'a> {
    pub record: Option<&'a Record>,
    /// The run's settings document, when the result is a frame of a run with a settings file.
    pub run_settings: Option<&'a Value>,
    /// The text of a `stemma_fork` chunk.
    pub marker: Option<&'a str>,
}

/// How a result was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    Marker,
    Params,
    Settings,
}

/// The fork (among `forks`) a result belongs to, and how it was recognised. A result that is the source itself
/// (same content id) is not its own fork.
pub fn match_fork<'m>(
    forks: &'m [Manifest],
    evidence: &Evidence,
    content_id: Option<&str>,
) -> Option<(&'m Manifest, MatchedBy)> {
    let marker_run = evidence
        .marker
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| v.get("run").and_then(Value::as_str).map(str::to_string));
    let params = evidence.record.and_then(params_fingerprint);
    let settings = evidence
        .run_settings
        .or_else(|| {
            evidence
                .record
                .and_then(|r| r.settings.as_ref()?.data.as_ref())
        })
        .and_then(settings_fingerprint);
    for m in forks {
        let Some(fork) = &m.fork else { continue };
        if content_id.is_some() && fork.from.as_deref() == content_id {
            continue;
        }
        if marker_run.as_deref() == Some(m.id.as_str()) {
            return Some((m, MatchedBy::Marker));
        }
    }
    for m in forks {
        let Some(fork) = &m.fork else { continue };
        if content_id.is_some() && fork.from.as_deref() == content_id {
            continue;
        }
        if params
            .as_ref()
            .is_some_and(|p| fork.fingerprints.contains(p))
        {
            return Some((m, MatchedBy::Params));
        }
        if settings
            .as_ref()
            .is_some_and(|s| fork.fingerprints.contains(s))
        {
            return Some((m, MatchedBy::Settings));
        }
    }
    None
}

/// The fingerprint of an A1111 batch: the parameter fingerprint without the seed (images of one batch differ
/// only in their seeds).
pub fn batch_fingerprint(record: &Record) -> Option<String> {
    let prompt = record.prompt.as_ref()?;
    let params = record.params.as_ref()?;
    let cfg = params.cfg_scale.map(|c| format!("{:.4}", c));
    hash(&json!({
        "prompt": prompt.positive.as_ref()?,
        "negative": prompt.negative.clone().unwrap_or_default(),
        "steps": params.steps,
        "cfg_scale": cfg,
        "sampler": params.sampler,
        "width": params.width,
        "height": params.height,
        "model": params.model.as_ref().and_then(|m| m.name.clone()),
    }))
}
