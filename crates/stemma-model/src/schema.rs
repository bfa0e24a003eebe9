//! The JSON Schema of the record, generated from the types so that the published schema cannot drift from the code.
//!
//! The generated schema is adjusted where the specification says more than the types do: the permanent `$id`, only
//! standard `format` values, no `null` for optional members (absent and `null` mean the same to a reader, writers
//! leave members out), and reverse-DNS `ext` keys.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::record::Record;

/// The permanent identifier of the record schema (a w3id.org redirect, `spec/registrations/w3id.md`).
pub const SCHEMA_ID: &str = "https://w3id.org/stemma/schema/1.0/record.schema.json";

/// JSON Schema pattern of `ext` member names: a reverse-DNS name of the extension's owner (`org.example.tool`).
pub const EXT_KEY_PATTERN: &str =
    r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)+$";

/// `format` values of JSON Schema 2020-12 that every validator knows; others (schemars' `uint64`, `double`) go.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "uuid",
    "regex",
];

/// The JSON Schema (draft 2020-12) of a stemma record.
pub fn record_schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Record)).unwrap_or(Value::Null);
    tidy(&mut schema);
    if let Value::Object(map) = &mut schema {
        map.insert("$id".into(), Value::String(SCHEMA_ID.into()));
        if let Some(Value::Object(ext)) = map.get_mut("properties").and_then(|p| p.get_mut("ext")) {
            ext.insert(
                "propertyNames".into(),
                json!({ "pattern": EXT_KEY_PATTERN }),
            );
        }
    }
    schema
}

/// Drop non-standard formats and the `null` alternative of optional members, everywhere in the schema.
fn tidy(node: &mut Value) {
    match node {
        Value::Object(map) => {
            drop_nonstandard_format(map);
            drop_null_alternative(map);
            for child in map.values_mut() {
                tidy(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

fn drop_nonstandard_format(map: &mut Map<String, Value>) {
    if let Some(Value::String(format)) = map.get("format") {
        if !STANDARD_FORMATS.contains(&format.as_str()) {
            map.remove("format");
        }
    }
}

fn drop_null_alternative(map: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
    if let Some(Value::Array(alternatives)) = map.get_mut("anyOf") {
        if alternatives.iter().any(is_null) {
            alternatives.retain(|v| !is_null(v));
            if alternatives.len() == 1 {
                if let Some(Value::Object(only)) = alternatives.pop() {
                    map.remove("anyOf");
                    for (k, v) in only {
                        map.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
}

/// Validate a JSON value against the record schema; returns one message per violation, empty when valid.
pub fn validate_record_json(value: &Value) -> Vec<String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    let validator = VALIDATOR
        .get_or_init(|| jsonschema::validator_for(&record_schema()).map_err(|e| e.to_string()));
    match validator {
        Ok(v) => v
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect(),
        Err(e) => vec![format!("the record schema itself is invalid: {e}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        validate_record_json(&serde_json::from_str(text).unwrap())
    }

    #[test]
    fn the_schema_says_what_the_specification_says() {
        let id = format!("sha256:{}", "a".repeat(64));
        assert!(errors(&format!(
            r#"{{"stemma":"1.0","parents":[{{"id":"{id}","relation":"img2img"}}]}}"#
        ))
        .is_empty());
        // A later id scheme is carried, not refused.
        assert!(errors(&format!(
            r#"{{"stemma":"1.0","content":{{"pixels":"sha256-px2:{}"}}}}"#,
            "a".repeat(64)
        ))
        .is_empty());
        for bad in [
            r#"{"stemma":"1.0","params":{"seed":42}}"#,
            r#"{"stemma":"1.0","fork":{"base":"not an id","diff":{}}}"#,
            r#"{"stemma":"1.0","run":{"id":"r","settings":"C:\\x"}}"#,
            r#"{"stemma":"1.0","frames":[{"index":0,"pixels":"abc"}]}"#,
            r#"{"stemma":"1.0","ext":{"rating":5}}"#,
            r#"{"stemma":"1.0","parents":[{"relation":"interpolate","t":1.5}]}"#,
            r#"{"stemma":"1.0","params":{"denoise":-0.1}}"#,
            r#"{"stemma":"1.0","settings":{"format":"x","ref":"not an id"}}"#,
            r#"{"stemma":"1.0","prompt":{"positive":null}}"#,
        ] {
            assert!(!errors(bad).is_empty(), "accepted {bad}");
        }
    }

    #[test]
    fn only_standard_formats_remain() {
        let text = record_schema().to_string();
        for nonstandard in ["uint64", "\"double\"", "\"uint\"", "int64"] {
            assert!(!text.contains(nonstandard), "{nonstandard}");
        }
    }
}
