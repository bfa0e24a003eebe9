//! Small helpers shared by the importers of this crate: raw entries, generator stamps, lenient JSON reads.

use base64::Engine;
use serde_json::Value;
use stemma_container::{Entry, Value as EntryValue};
use stemma_model::{Generator, RawEntry, Record};

use crate::Evidence;

/// Every text entry of the evidence verbatim, plus the byte entries `keep_bytes` selects, with `used` set for
/// the entries `used` selects. Keeps file order.
pub(crate) fn raw_entries(
    evidence: &Evidence,
    used: impl Fn(&Entry) -> bool,
    keep_bytes: impl Fn(&Entry) -> bool,
) -> Vec<RawEntry> {
    evidence
        .entries()
        .filter_map(|e| {
            let (text, base64) = match &e.value {
                EntryValue::Text(t) => (Some(t.clone()), None),
                EntryValue::Bytes(b) if keep_bytes(e) => (
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(b)),
                ),
                EntryValue::Bytes(_) => return None,
            };
            Some(RawEntry {
                origin: e.origin.clone(),
                key: Some(e.key.clone()),
                text,
                base64,
                used: used(e),
                ..RawEntry::default()
            })
        })
        .collect()
}

/// A new record stamped with the generator name, version and importer dialect.
pub(crate) fn new_record(name: &str, version: Option<String>, dialect: &str) -> Record {
    let mut record = Record::new();
    record.generator = Some(Generator {
        name: name.to_string(),
        version,
        dialect: Some(dialect.to_string()),
        ..Generator::default()
    });
    record
}

/// Names of the normalised `Params` fields: `params.extra` is flattened into `params`, so a native key with one
/// of these names is stored as `native:<name>` instead.
const PARAM_FIELDS: &[&str] = &[
    "seed",
    "steps",
    "cfg_scale",
    "sampler",
    "scheduler",
    "model",
    "vae",
    "loras",
    "width",
    "height",
    "denoise",
    "clip_skip",
    "hires",
];

/// Put a native parameter into `params.extra` under its own name (renamed when it would shadow a normalised
/// field). An existing key is not overwritten.
pub(crate) fn put_extra(extra: &mut serde_json::Map<String, Value>, key: &str, value: Value) {
    let key = if PARAM_FIELDS.contains(&key) {
        format!("native:{key}")
    } else {
        key.to_string()
    };
    extra.entry(key).or_insert(value);
}

/// Parse JSON leniently: also accepts the bare `NaN`/`Infinity` tokens some writers emit (replaced by null).
pub(crate) fn parse_json_lenient(text: &str) -> Option<Value> {
    let trimmed = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    if let Ok(v) = serde_json::from_str(trimmed) {
        return Some(v);
    }
    // Without a bare token the replacement changes nothing: the second parse would fail the same way.
    if !trimmed.contains("NaN") && !trimmed.contains("Infinity") {
        return None;
    }
    let replaced = replace_bare_tokens(trimmed);
    serde_json::from_str(&replaced).ok()
}

/// Replace `NaN`, `Infinity` and `-Infinity` outside strings by `null`.
fn replace_bare_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        if let Some(t) = token {
            out.push_str("null");
            rest = &rest[t.len()..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// A JSON value as text: strings as they are, numbers and booleans in their JSON form; null is `None`.
pub(crate) fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A JSON value as an unsigned integer: integers, integral floats and numeric strings.
pub(crate) fn json_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => parse_u64(s),
        _ => None,
    }
}

/// A JSON value as a float: numbers and numeric strings.
pub(crate) fn json_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// A seed as a decimal string: integers, integral floats and decimal strings (`"6952411511246973023"`).
pub(crate) fn json_seed(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i.to_string())
            } else if let Some(u) = n.as_u64() {
                Some(u.to_string())
            } else {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1.8e19)
                    .map(|f| format!("{f:.0}"))
            }
        }
        Value::String(s) => seed_text(s),
        _ => None,
    }
}

/// A seed written as text, when it is a (possibly negative) decimal integer.
pub(crate) fn seed_text(s: &str) -> Option<String> {
    let t = s.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| t.to_string())
}

/// Parse an unsigned integer, also from an integral float text (`"20.0"`).
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    let t = s.trim();
    t.parse::<u64>().ok().or_else(|| {
        t.parse::<f64>()
            .ok()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && f.is_finite())
            .map(|f| f as u64)
    })
}

/// Parse a float.
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Split `WxH`, `W x H`, `(W, H)` or `W*H` into two numbers.
pub(crate) fn parse_size(s: &str) -> Option<(u64, u64)> {
    let t = s
        .trim()
        .trim_start_matches(['(', '['])
        .trim_end_matches([')', ']']);
    let (w, h) = t.split_once(['x', 'X', ',', '*', '×'])?;
    Some((parse_u64(w)?, parse_u64(h)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_keys_never_shadow_normalised_fields() {
        let mut extra = serde_json::Map::new();
        put_extra(&mut extra, "vae", Value::from("Default (model)"));
        put_extra(&mut extra, "RNG", Value::from("CPU"));
        put_extra(&mut extra, "RNG", Value::from("GPU"));
        assert_eq!(extra["native:vae"], "Default (model)");
        assert_eq!(extra["RNG"], "CPU");
    }

    #[test]
    fn sizes_in_every_spelling() {
        assert_eq!(parse_size("512x400"), Some((512, 400)));
        assert_eq!(parse_size("1024 x 1024"), Some((1024, 1024)));
        assert_eq!(parse_size("(768, 1280)"), Some((768, 1280)));
        assert_eq!(parse_size("big"), None);
    }

    #[test]
    fn seeds_stay_exact() {
        assert_eq!(
            json_seed(&serde_json::json!("6952411511246973023")).as_deref(),
            Some("6952411511246973023")
        );
        assert_eq!(
            json_seed(&serde_json::json!(18446744073709551615u64)).as_deref(),
            Some("18446744073709551615")
        );
        assert_eq!(json_seed(&serde_json::json!(-1)).as_deref(), Some("-1"));
        assert_eq!(json_seed(&serde_json::json!("abc")), None);
    }

    #[test]
    fn nan_and_infinity_become_null_outside_strings() {
        let v = parse_json_lenient(r#"{"a": NaN, "b": "NaN", "c": -Infinity}"#).unwrap();
        assert_eq!(v["a"], Value::Null);
        assert_eq!(v["b"], "NaN");
        assert_eq!(v["c"], Value::Null);
    }
}

/// Minimal reading of a ComfyUI API graph (`{id: {class_type, inputs}}`) for services that embed one next to their
/// own JSON (Civitai, TensorArt). Full graph tracing is the ComfyUI importer's job; these helpers only answer
/// questions whose answer is unambiguous.
pub(crate) mod graph {
    use serde_json::{Map, Value};

    /// The inputs of the node `id`.
    pub(crate) fn inputs<'a>(graph: &'a Value, id: &str) -> Option<&'a Map<String, Value>> {
        graph.get(id)?.get("inputs")?.as_object()
    }

    /// Every sampler node (inputs with a `sampler_name`), in document order.
    pub(crate) fn samplers(graph: &Value) -> Vec<&Map<String, Value>> {
        graph
            .as_object()
            .map(|nodes| {
                nodes
                    .values()
                    .filter_map(|n| n.get("inputs").and_then(Value::as_object))
                    .filter(|i| i.contains_key("sampler_name"))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The literal value of `key` shared by every sampler that sets it literally, when they agree.
    pub(crate) fn sampler_value<'a>(graph: &'a Value, keys: &[&str]) -> Option<&'a Value> {
        let mut found: Option<&Value> = None;
        for s in samplers(graph) {
            for k in keys {
                match s.get(*k) {
                    Some(Value::Array(_)) | None => {}
                    Some(v) => match found {
                        Some(f) if f != v => return None,
                        _ => found = Some(v),
                    },
                }
            }
        }
        found
    }

    /// The node id a link input (`["id", slot]`) points at.
    pub(crate) fn link<'a>(inputs: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
        inputs.get(key)?.as_array()?.first()?.as_str()
    }

    /// The generation size of the first sampler: follow its latent input through encoders and scalers to the
    /// first node stating a literal `width` and `height`.
    pub(crate) fn first_sampler_size(graph: &Value) -> Option<(u64, u64)> {
        let sampler = samplers(graph).into_iter().next()?;
        let mut id = link(sampler, "latent_image")?.to_string();
        for _ in 0..16 {
            let node = inputs(graph, &id)?;
            if let (Some(w), Some(h)) = (
                node.get("width").and_then(Value::as_u64),
                node.get("height").and_then(Value::as_u64),
            ) {
                return Some((w, h));
            }
            id = ["pixels", "image", "samples", "latent_image", "images"]
                .iter()
                .find_map(|k| link(node, k))?
                .to_string();
        }
        None
    }
}

/// A text entry, for importer unit tests.
#[cfg(test)]
pub(crate) fn text_entry(origin: &str, key: &str, value: &str) -> Entry {
    Entry {
        origin: origin.to_string(),
        key: key.to_string(),
        value: EntryValue::Text(value.to_string()),
        after_image_data: false,
        encoding: None,
    }
}

/// Metadata made of text entries `(origin, key, value)`, for importer unit tests.
#[cfg(test)]
pub(crate) fn text_metadata(entries: &[(&str, &str, &str)]) -> stemma_container::Metadata {
    stemma_container::Metadata {
        entries: entries
            .iter()
            .map(|(o, k, v)| text_entry(o, k, v))
            .collect(),
        ..stemma_container::Metadata::default()
    }
}
