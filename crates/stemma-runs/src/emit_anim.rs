//! Animation forks (Deforum, Disco Diffusion): the run's settings made to start at frame N of the source, with
//! that frame as init image, the prompt schedule and keyframe schedules re-keyed so that the fork's frame 0 is the
//! source's frame N (the entry in effect at N becomes the entry at 0), `max_frames` shortened, the seed continued
//! from frame N's seed, and the changes applied. `--set-prompt` replaces the schedule from N on with one prompt.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::fork_input::{ForkFormat, ForkRequest, ForkSource};

/// Prompt schedules: object frame → text (Deforum `prompts`, `cond_prompts`, `uncond_prompts`,
/// `animation_prompts`) or frame → list of texts (Disco `text_prompts`, `image_prompts`).
const PROMPT_SCHEDULES: &[&str] = &[
    "prompts",
    "cond_prompts",
    "uncond_prompts",
    "animation_prompts",
    "text_prompts",
    "image_prompts",
];

/// One keyframe of a schedule string `0: (1.0), 30: (1.02)`.
static KEYFRAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*(\d+)\s*:\s*(.+?)\s*$").ok());

/// Split a keyframe string at the commas between keyframes (not inside parentheses).
fn keyframes(text: &str) -> Option<Vec<(u64, String)>> {
    let re = KEYFRAME.as_ref()?;
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let bytes: Vec<char> = text.chars().collect();
    let mut pieces = Vec::new();
    for (i, c) in bytes.iter().enumerate() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                pieces.push(bytes[start..i].iter().collect::<String>());
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(bytes[start..].iter().collect::<String>());
    for piece in pieces {
        if piece.trim().is_empty() {
            continue;
        }
        let caps = re.captures(&piece)?;
        let frame = caps.get(1)?.as_str().parse().ok()?;
        out.push((frame, caps.get(2)?.as_str().to_string()));
    }
    (!out.is_empty()).then_some(out)
}

/// Re-key a list of (frame, value) so that `from` becomes 0: the entry in effect at `from` moves to 0, earlier
/// ones are dropped, later ones shift.
fn rekey<T: Clone>(entries: &[(u64, T)], from: u64) -> Vec<(u64, T)> {
    let mut sorted = entries.to_vec();
    sorted.sort_by_key(|(f, _)| *f);
    let current = sorted
        .iter()
        .rev()
        .find(|(f, _)| *f <= from)
        .or(sorted.first())
        .map(|(_, v)| v.clone());
    let mut out = Vec::new();
    if let Some(v) = current {
        out.push((0, v));
    }
    out.extend(
        sorted
            .into_iter()
            .filter(|(f, _)| *f > from)
            .map(|(f, v)| (f - from, v)),
    );
    out
}

fn rekey_schedule_string(text: &str, from: u64) -> Option<String> {
    let frames = keyframes(text)?;
    Some(
        rekey(&frames, from)
            .iter()
            .map(|(f, v)| format!("{f}: {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

fn rekey_object(map: &Map<String, Value>, from: u64) -> Option<Map<String, Value>> {
    let entries: Vec<(u64, Value)> = map
        .iter()
        .map(|(k, v)| k.trim().parse::<u64>().ok().map(|f| (f, v.clone())))
        .collect::<Option<_>>()?;
    Some(
        rekey(&entries, from)
            .into_iter()
            .map(|(f, v)| (f.to_string(), v))
            .collect(),
    )
}

/// Frames left after the fork frame: `max_frames − N`.
pub fn remaining_frames(source: &ForkSource) -> Option<u64> {
    let frame = source.frame?;
    let max = source.run.as_ref().map(|r| r.manifest.plan.count)?;
    Some(max.saturating_sub(frame).max(1))
}

/// The settings of an animation fork.
pub fn animation(source: &ForkSource, request: &ForkRequest, format: ForkFormat) -> Result<Value> {
    let frame = source.frame.ok_or_else(|| {
        Error::Fork("an animation fork needs --from-frame N (the frame to start from)".into())
    })?;
    let run = source.run.as_ref().ok_or_else(|| {
        Error::Fork(format!(
            "{}: not a frame of a Deforum or Disco run with a settings file",
            source.path.display()
        ))
    })?;
    let tool = run.manifest.generator.as_str();
    let wanted = if format == ForkFormat::Deforum {
        "deforum"
    } else {
        "disco"
    };
    if tool != wanted {
        return Err(Error::Fork(format!(
            "the run {} was made by {tool}; fork it as --format {tool}",
            run.manifest.id
        )));
    }
    let Value::Object(base) = &run.settings else {
        return Err(Error::Fork(
            "the run's settings are not a JSON object".into(),
        ));
    };
    let mut doc = base.clone();
    for key in PROMPT_SCHEDULES {
        if let Some(Value::Object(m)) = doc.get(*key) {
            if let Some(re) = rekey_object(m, frame) {
                doc.insert(key.to_string(), Value::Object(re));
            }
        }
    }
    // Keyframe schedules (`"0: (1.0), 30: (1.02)"`) of every member.
    let keys: Vec<String> = doc.keys().cloned().collect();
    for key in keys {
        if let Some(Value::String(s)) = doc.get(&key) {
            if s.contains(':') && s.contains('(') {
                if let Some(re) = rekey_schedule_string(s, frame) {
                    doc.insert(key, Value::String(re));
                }
            }
        }
    }
    if let Some(max) = doc.get("max_frames").and_then(Value::as_u64) {
        doc.insert("max_frames".into(), json!(max.saturating_sub(frame).max(1)));
    }
    let init = source.path.to_string_lossy().to_string();
    doc.insert("init_image".into(), json!(init));
    if format == ForkFormat::Deforum {
        doc.insert("use_init".into(), json!(true));
    }
    // Continue the seed sequence: frame N's seed becomes the fork's base seed.
    if let Some(seed) = run.run_settings.as_ref().and_then(|s| s.seed_at(frame)) {
        let value = seed
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::String(seed));
        doc.insert("seed".into(), value);
    }
    for (key, value) in &request.changes {
        match key.as_str() {
            "prompt" => set_prompt(&mut doc, format, value),
            // Deforum's `negative_prompts` is one text added to every frame's prompt.
            "negative" if format == ForkFormat::Deforum => {
                doc.insert("negative_prompts".into(), value.clone());
            }
            "seed" => {
                let text = value
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| value.to_string());
                let v = text
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or(Value::String(text));
                doc.insert("seed".into(), v);
            }
            "steps" => {
                doc.insert("steps".into(), value.clone());
            }
            "cfg_scale" => {
                let key = if format == ForkFormat::Deforum {
                    "scale"
                } else {
                    "clip_guidance_scale"
                };
                doc.insert(key.into(), value.clone());
            }
            other => {
                doc.insert(other.to_string(), value.clone());
            }
        }
    }
    Ok(Value::Object(doc))
}

fn set_prompt(doc: &mut Map<String, Value>, format: ForkFormat, value: &Value) {
    let text = value
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string());
    match format {
        ForkFormat::Disco => {
            doc.insert("text_prompts".into(), json!({"0": [text]}));
        }
        _ => {
            let mut touched = false;
            for key in ["prompts", "cond_prompts", "animation_prompts"] {
                if doc.contains_key(key) {
                    doc.insert(key.into(), json!({"0": text}));
                    touched = true;
                }
            }
            if !touched {
                doc.insert("prompts".into(), json!({"0": text}));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn schedules_are_rekeyed_to_the_fork_frame() {
        assert_eq!(
            rekey_schedule_string("0: (1.0), 100: (1.02), 150: (0.5)", 120).unwrap(),
            "0: (1.02), 30: (0.5)"
        );
        assert_eq!(rekey_schedule_string("0:(0)", 120).unwrap(), "0: (0)");
        let m = json!({"0": "a", "60": "b", "130": "c"});
        let re = rekey_object(m.as_object().unwrap(), 120).unwrap();
        assert_eq!(Value::Object(re), json!({"0": "b", "10": "c"}));
    }
}
