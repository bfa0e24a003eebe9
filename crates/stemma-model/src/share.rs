//! The sharing profile (specification §12.2): a record reduced to what can leave the author's machine without
//! leaking local paths. Hints become base names, `settings.location` goes, raw bytes that cannot be read as text go,
//! and every absolute path inside any string (settings, raw text, parameters, extensions) is cut to its base name.
//! Also the lineage profile: only content ids and lineage.

use serde_json::Value;

use crate::record::{Frame, Parent, Record, Sequence};

/// The record reduced to content ids and lineage (`strip --profile lineage`): no prompt, parameters, settings, raw
/// metadata or file names.
pub fn lineage_only(record: &Record) -> Record {
    let parents = |list: &[Parent]| -> Vec<Parent> {
        list.iter()
            .map(|p| Parent {
                id: p.id.clone(),
                relation: p.relation.clone(),
                t: p.t,
                ..Parent::default()
            })
            .collect()
    };
    Record {
        content: record.content.clone(),
        parents: parents(&record.parents),
        sequence: record.sequence.as_ref().map(|s| Sequence {
            id: s.id.clone(),
            frame: s.frame,
            time: s.time,
            fps: s.fps,
            interpolated: s.interpolated,
            ..Sequence::default()
        }),
        frames: record
            .frames
            .iter()
            .map(|f| Frame {
                index: f.index,
                parents: parents(&f.parents),
                pixels: f.pixels.clone(),
                time: f.time,
                ..Default::default()
            })
            .collect(),
        ..Record::new()
    }
}

/// The record as the sharing profile keeps it. Returns an error only if the record cannot be serialised.
pub fn share_record(record: &Record) -> crate::Result<Record> {
    let mut shared = record.clone();
    for parent in all_parents(&mut shared) {
        parent.hint = parent
            .hint
            .as_deref()
            .map(base_name)
            .filter(|h| !h.is_empty());
    }
    if let Some(settings) = &mut shared.settings {
        settings.location = None;
    }
    shared.raw.retain(|entry| entry.base64.is_none());
    // Every remaining string anywhere in the record: absolute paths cut to base names.
    let mut value = serde_json::to_value(&shared)?;
    scrub(&mut value);
    Ok(serde_json::from_value(value)?)
}

fn all_parents(record: &mut Record) -> impl Iterator<Item = &mut Parent> {
    record
        .parents
        .iter_mut()
        .chain(record.frames.iter_mut().flat_map(|f| f.parents.iter_mut()))
}

fn scrub(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let Some(clean) = without_absolute_paths(text) {
                *text = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(members) => {
            // Member names can be paths too (a ComfyUI graph keyed by file); rebuild the map only when one is.
            let renamed: Vec<(String, String)> = members
                .keys()
                .filter_map(|k| without_absolute_paths(k).map(|c| (k.clone(), c)))
                .collect();
            for (old, new) in renamed {
                if let Some(v) = members.remove(&old) {
                    members.insert(new, v);
                }
            }
            members.values_mut().for_each(scrub);
        }
        _ => {}
    }
}

/// The last component of a path, with `/` and `\` both separators (`C:\Users\a\m.safetensors` → `m.safetensors`).
pub fn base_name(path: &str) -> String {
    path.rsplit(['/', '\\']).next().unwrap_or(path).to_string()
}

/// Characters that end a path token inside free text (JSON punctuation, quotes, whitespace).
fn ends_token(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | ',' | ';' | '<' | '>' | '|' | '(' | ')' | '[' | ']' | '{' | '}' | '`'
        )
}

/// True when `token` starts like an absolute path: a drive (`C:\`, `C:/`, also with JSON-escaped backslashes), a
/// UNC share (`\\host`), a home (`~/`, `~\`), or a POSIX path of at least two components (`/home/a`, not `/imagine`).
fn is_absolute_path(token: &str) -> bool {
    let b = token.as_bytes();
    let drive =
        b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/');
    let unc = token.starts_with("\\\\");
    let home = token.starts_with("~/") || token.starts_with("~\\");
    let posix = token.starts_with('/')
        && !token.starts_with("//")
        && token[1..].trim_end_matches('/').contains('/');
    drive || unc || home || posix
}

/// The text with every absolute-path token replaced by its base name, or `None` when it holds none.
pub fn without_absolute_paths(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest.find(|c: char| !ends_token(c)).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(ends_token).unwrap_or(rest.len());
        let token = &rest[..end];
        if is_absolute_path(token) {
            out.push_str(&base_name(token));
            changed = true;
        } else {
            out.push_str(token);
        }
        rest = &rest[end..];
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_record;

    #[test]
    fn the_lineage_profile_keeps_ids_and_lineage_only() {
        let full = parse_record(
            r#"{"stemma":"1.0","prompt":{"positive":"a duck"},"params":{"seed":"42"},
               "content":{"pixels":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
               "parents":[{"id":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                           "relation":"img2img","hint":"/home/me/in.png","t":0.5}],
               "sequence":{"id":"run-1","frame":3,"fps":12,"prompt_index":2},
               "raw":[{"origin":"png:tEXt","key":"parameters","text":"a duck"}]}"#,
        )
        .unwrap();
        let kept = serde_json::to_value(lineage_only(&full)).unwrap();
        assert_eq!(
            kept,
            serde_json::json!({"stemma":"1.0",
                "content":{"pixels":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
                "parents":[{"id":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                            "relation":"img2img","t":0.5}],
                "sequence":{"id":"run-1","frame":3,"fps":12.0}})
        );
    }

    #[test]
    fn paths_and_locations_do_not_leave_the_machine() {
        let record = parse_record(
            r#"{"stemma":"1.0",
                "prompt":{"positive":"/imagine a cat"},
                "params":{"model":{"name":"C:\\Users\\alice\\models\\sdxl.safetensors"}},
                "settings":{"format":"comfyui-api","data":{"4":{"inputs":{"ckpt_name":"D:/models/x.ckpt","image":"/home/alice/private/in.png"}}},"location":"../run/settings.json"},
                "raw":[{"origin":"png:tEXt","key":"prompt","text":"{\"image\": \"C:\\\\Users\\\\alice\\\\in.png\"}"},
                       {"origin":"png:caBX","base64":"AAAA"}],
                "parents":[{"relation":"img2img","hint":"/home/alice/private/parent.png"}],
                "frames":[{"index":0,"parents":[{"relation":"init","hint":"renders\\0001.png"}]}]}"#,
        )
        .unwrap();
        let shared = share_record(&record).unwrap();
        let text = crate::record_to_json(&shared).unwrap();
        for leak in [
            "alice", "Users", "models/", "location", "AAAA", "private", "renders",
        ] {
            assert!(!text.contains(leak), "{leak} leaked: {text}");
        }
        assert_eq!(shared.positive(), Some("/imagine a cat"));
        assert_eq!(shared.parents[0].hint.as_deref(), Some("parent.png"));
        assert_eq!(
            shared.frames[0].parents[0].hint.as_deref(),
            Some("0001.png")
        );
        let model = shared
            .params
            .as_ref()
            .and_then(|p| p.model.as_ref())
            .and_then(|m| m.name.as_deref());
        assert_eq!(model, Some("sdxl.safetensors"));
        let data = shared
            .settings
            .as_ref()
            .and_then(|s| s.data.as_ref())
            .unwrap();
        assert_eq!(data["4"]["inputs"]["ckpt_name"], "x.ckpt");
        assert_eq!(data["4"]["inputs"]["image"], "in.png");
        assert_eq!(shared.raw.len(), 1);
        assert_eq!(
            shared.raw[0].text.as_deref(),
            Some("{\"image\": \"in.png\"}")
        );
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "a cat, 1/2 size",
            "Steps: 20, Sampler: Euler a",
            "/imagine",
            "http://example.org/a/b",
        ] {
            assert_eq!(without_absolute_paths(text), None, "{text}");
        }
    }
}
