//! Resume: from the status by content, what the generator needs to go on at the first item to redo.
//!
//! - Deforum: the settings with `resume_from_timestring: true` and `resume_timestring` (both the Colab notebook
//!   and the A1111 extension). Deforum finds its start frame by **counting** the files that carry the timestring,
//!   so the files in the way (damaged, foreign) are named, and can be moved aside (never deleted).
//! - Disco Diffusion: `resume_run`, `run_to_resume` (the batch number), `resume_from_frame` (the last good frame:
//!   Disco starts at that frame + 1) and `retain_overwritten_frames: true`, so that Disco moves later frames to
//!   `retained/` instead of writing over them.
//! - pytti: `restore`, `reencode`, `restore_run`, `restore_frame`.
//! - Every tool: a generic JSON plan of the remaining items with the last good frame as init image.
//!
//! Files are written new (an existing file is refused), atomically. Frames are never deleted or written over.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Map, Value};
use stemma_import::Tool;

use crate::error::{io, Error, Result};
use crate::infer::OpenRun;
use crate::manifest::write_new;
use crate::status::RunStatus;

/// One file a resume wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Written {
    pub path: PathBuf,
    /// `deforum`, `disco`, `pytti`, `plan`.
    pub kind: &'static str,
}

/// What a resume found and wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resume {
    pub run: String,
    pub first_to_redo: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_image: Option<PathBuf>,
    /// Files in the way of the generator's own resume (damaged, foreign), with why.
    pub in_the_way: Vec<(PathBuf, String)>,
    /// Files moved aside (with `move_aside`): from → to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<(PathBuf, PathBuf)>,
    pub written: Vec<Written>,
    /// The settings changes the tool needs, for printing (`resume_timestring = 20230812221310`).
    pub settings: Map<String, Value>,
}

/// Folder that files in the way are moved into by `move_aside`.
pub const RETAINED_DIR: &str = "stemma-retained";

fn deforum_timestring(run: &OpenRun) -> Option<String> {
    run.key
        .as_deref()
        .and_then(|k| k.strip_prefix("deforum:"))
        .map(str::to_string)
        .or_else(|| {
            run.settings
                .get("timestring")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
}

/// Disco's batch number from the key `disco:<batch>(<n>)`.
fn disco_batch(run: &OpenRun) -> Option<(String, u64)> {
    let key = run.key.as_deref()?.strip_prefix("disco:")?;
    let open = key.rfind('(')?;
    let n = key.get(open + 1..key.len().checked_sub(1)?)?.parse().ok()?;
    Some((key.get(..open)?.to_string(), n))
}

fn tool_of(run: &OpenRun) -> Option<Tool> {
    run.run_settings
        .as_ref()
        .map(|s| s.tool)
        .or_else(|| Tool::from_id(&run.manifest.generator))
}

/// A file name for a resume file that does not carry the run's timestring as an `_`-separated part (Deforum's
/// notebook counts such files as frames).
fn resume_name(run_name: &str, first: u64, suffix: &str) -> String {
    let safe: String = run_name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    format!("stemma-resume-{safe}-from-{first}{suffix}")
}

/// Write what the generator needs to resume the run at `status.first_to_redo` into `out` (the run folder when
/// `None`). With `move_aside`, the files in the way are moved into `stemma-retained/` of the run folder (refused
/// when a file of that name is already there).
pub fn resume(
    run: &OpenRun,
    status: &RunStatus,
    out: Option<&Path>,
    move_aside: bool,
) -> Result<Resume> {
    let first = status.first_to_redo.ok_or_else(|| {
        Error::NothingToResume(format!(
            "all {} items of {} are present and intact",
            run.manifest.plan.count, run.manifest.id
        ))
    })?;
    let out_dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| run.folder.clone());
    std::fs::create_dir_all(&out_dir).map_err(io(&out_dir))?;
    let init_image = status
        .last_good
        .and_then(|i| status.item(i))
        .and_then(|i| i.file.clone());
    let in_the_way: Vec<(PathBuf, String)> = status
        .in_the_way()
        .into_iter()
        .map(|f| {
            let what = match f.index {
                Some(i) => format!("item {i}: {}", f.status.name()),
                None => f.status.name().to_string(),
            };
            let why = f
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            (f.path.clone(), format!("{what}{why}"))
        })
        .collect();
    let mut written = Vec::new();
    let mut settings = Map::new();
    let tool = tool_of(run);
    let run_name = run.key.clone().unwrap_or_else(|| run.manifest.id.clone());
    match tool {
        Some(Tool::Deforum) => {
            let ts = deforum_timestring(run).ok_or_else(|| Error::Settings {
                path: run.folder.clone(),
                reason: "no Deforum timestring in the run's name or settings".into(),
            })?;
            settings.insert("resume_from_timestring".into(), json!(true));
            settings.insert("resume_timestring".into(), json!(ts));
            let doc = patched(&run.settings, &settings);
            let path = out_dir.join(resume_name(&run_name, first, ".deforum.txt"));
            write_json(&path, &doc)?;
            written.push(Written {
                path,
                kind: "deforum",
            });
        }
        Some(Tool::Disco) => {
            let (_, batch) = disco_batch(run).ok_or_else(|| Error::Settings {
                path: run.folder.clone(),
                reason: "no Disco batch number in the run's name".into(),
            })?;
            settings.insert("resume_run".into(), json!(true));
            settings.insert("run_to_resume".into(), json!(batch));
            // Disco starts at `resume_from_frame + 1`; before frame 1 there is nothing to resume from.
            match first.checked_sub(1) {
                Some(last) => settings.insert("resume_from_frame".into(), json!(last)),
                None => settings.insert("resume_from_frame".into(), json!("latest")),
            };
            settings.insert("retain_overwritten_frames".into(), json!(true));
            let doc = patched(&run.settings, &settings);
            let path = out_dir.join(resume_name(&run_name, first, ".disco.json"));
            write_json(&path, &doc)?;
            written.push(Written {
                path,
                kind: "disco",
            });
        }
        Some(Tool::Pytti) => {
            let restore_run = run
                .key
                .as_deref()
                .and_then(|k| k.rsplit_once('('))
                .and_then(|(_, n)| n.trim_end_matches(')').parse::<u64>().ok());
            settings.insert("restore".into(), json!(true));
            settings.insert("reencode".into(), json!(true));
            if let Some(r) = restore_run {
                settings.insert("restore_run".into(), json!(r));
            }
            // pytti restores image `{base}_{n}.png`, numbered from 1: frame i is image i + 1.
            settings.insert(
                "restore_frame".into(),
                json!(status.last_good.map(|i| i + 1).unwrap_or(0)),
            );
            let mut yaml = String::from("# pytti overrides to resume this run (stemma)\n");
            for (k, v) in &settings {
                yaml.push_str(&format!("{k}: {v}\n"));
            }
            let path = out_dir.join(resume_name(&run_name, first, ".pytti.yaml"));
            write_new(&path, yaml.as_bytes())?;
            written.push(Written {
                path,
                kind: "pytti",
            });
        }
        _ => {}
    }
    let plan = plan_document(run, status, first, init_image.as_deref(), &in_the_way);
    let path = out_dir.join(resume_name(&run_name, first, ".plan.json"));
    write_json(&path, &plan)?;
    written.push(Written { path, kind: "plan" });
    let mut moved = Vec::new();
    if move_aside && !in_the_way.is_empty() {
        let dir = run.folder.join(RETAINED_DIR);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        for (from, _) in &in_the_way {
            let Some(name) = from.file_name() else {
                continue;
            };
            let to = dir.join(name);
            if to.exists() {
                return Err(Error::Exists { path: to });
            }
            std::fs::rename(from, &to).map_err(io(from))?;
            moved.push((from.clone(), to));
        }
    }
    Ok(Resume {
        run: run.manifest.id.clone(),
        first_to_redo: first,
        init_image,
        in_the_way,
        moved,
        written,
        settings,
    })
}

fn patched(base: &Value, changes: &Map<String, Value>) -> Value {
    let mut doc = base.clone();
    stemma_model::apply_merge_patch(&mut doc, &Value::Object(changes.clone()));
    doc
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(stemma_model::Error::from)?;
    text.push('\n');
    write_new(path, text.as_bytes())
}

/// The generic plan: the remaining items with their seed and prompt, the last good frame as init image.
fn plan_document(
    run: &OpenRun,
    status: &RunStatus,
    first: u64,
    init: Option<&Path>,
    in_the_way: &[(PathBuf, String)],
) -> Value {
    let remaining: Vec<Value> = status
        .items
        .iter()
        .filter(|i| i.index >= first || !i.status.is_good())
        .map(|i| {
            let mut m = Map::new();
            m.insert("index".into(), json!(i.index));
            m.insert("status".into(), json!(i.status.name()));
            let seeds = run.manifest.plan.seeds.as_ref();
            if let Some(base) = seeds
                .filter(|s| {
                    s.get("rule").and_then(Value::as_str) == Some("increment")
                        && run.run_settings.is_none()
                })
                .and_then(|s| s.get("base")?.as_str()?.parse::<i128>().ok())
            {
                m.insert(
                    "seed".into(),
                    json!((base + i128::from(i.index)).to_string()),
                );
            }
            if let Some(s) = &run.run_settings {
                if let Some(seed) = s.seed_at(i.index) {
                    m.insert("seed".into(), json!(seed));
                }
                if let Some(p) = s.entry_at(i.index) {
                    m.insert("prompt".into(), json!(p.positive));
                }
            }
            Value::Object(m)
        })
        .collect();
    let init_id = init.and_then(|p| {
        let bytes = std::fs::read(p).ok()?;
        stemma_container::ops::lineage_id(&bytes, &stemma_container::Limits::DEFAULT)
            .ok()
            .map(|id| id.to_string())
    });
    json!({
        "stemma_resume": "1.0",
        "run": run.manifest.id,
        "generator": run.manifest.generator,
        "settings": run.manifest.settings.hash,
        "first_to_redo": first,
        "init_image": init.map(|p| json!({
            "file": p.file_name().and_then(|n| n.to_str()),
            "index": status.last_good,
            "id": init_id,
        })),
        "move_aside": in_the_way.iter().map(|(p, why)| json!({
            "file": p.file_name().and_then(|n| n.to_str()),
            "why": why,
        })).collect::<Vec<_>>(),
        "remaining": remaining,
    })
}
