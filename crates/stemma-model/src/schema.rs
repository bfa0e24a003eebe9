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

/// The record schema as the validator compiles it: checked under draft 7's meta-schema. Its keywords mean the
/// same in draft 7 and 2020-12 (a test runs every spec vector through it), but jsonschema's 2020-12 meta-schema
/// check kept about 36 MB live in every process that stamps one file; draft 7's cost about 6 MB (jsonschema 0.33;
/// with 0.61 a whole one-file stamp peaks at 1.2 MB of heap).
fn for_validator(mut schema: Value) -> Value {
    if let Value::Object(map) = &mut schema {
        map.remove("$schema");
    }
    schema
}

/// Validate a JSON value against the record schema; returns one message per violation, empty when valid.
pub fn validate_record_json(value: &Value) -> Vec<String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&for_validator(record_schema()))
            .map_err(|e| e.to_string())
    });
    let mut problems: Vec<String> = match validator {
        Ok(v) => v
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect(),
        Err(e) => vec![format!("the record schema itself is invalid: {e}")],
    };
    // The schema's `format: date-time` is only an annotation for JSON Schema validators; stemma asserts it.
    if let Some(Value::String(created)) = value.get("created") {
        if !is_rfc3339_date_time(created) {
            problems.push(format!(
                "{created:?} is not an RFC 3339 date-time (like 2024-05-01T12:30:00Z) at /created"
            ));
        }
    }
    problems
}

/// True for an RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS`, optional fraction, then `Z` or `+HH:MM`/`-HH:MM`
/// (`T` and `Z` in either case), with days that exist in that month and a leap second allowed at `:60`.
pub fn is_rfc3339_date_time(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let fields = || -> Option<()> {
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
        let separators = at(4, b'-')
            && at(7, b'-')
            && matches!(b.get(10), Some(b'T' | b't'))
            && at(13, b':')
            && at(16, b':');
        if !separators {
            return None;
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if day == 0 || day > days || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut i = 19;
        if at(i, b'.') {
            let start = i + 1;
            i = start;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        match b.get(i) {
            Some(b'Z' | b'z') if b.len() == i + 1 => Some(()),
            Some(b'+' | b'-') if b.len() == i + 6 && at(i + 3, b':') => {
                let (h, m) = (digits(i + 1..i + 3)?, digits(i + 4..i + 6)?);
                (h <= 23 && m <= 59).then_some(())
            }
            _ => None,
        }
    };
    fields().is_some()
}

#[cfg(test)]
mod rfc3339_tests {
    use super::*;

    #[test]
    fn rfc3339_date_times_are_told_from_other_text() {
        for good in [
            "2024-05-01T12:30:00Z",
            "2024-05-01t12:30:00z",
            "2024-02-29T23:59:60.123456+05:30",
            "1999-12-31T00:00:00-08:00",
        ] {
            assert!(is_rfc3339_date_time(good), "{good}");
        }
        for bad in [
            "yesterday",
            "",
            "2024-05-01",
            "2024-05-01 12:30:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:30:00",
            "2024-05-01T12:30:00.Z",
            "2024-05-01T12:30:00+0530",
            "2024-05-01T12:30:00Zjunk",
            "２０２４-05-01T12:30:00Z",
        ] {
            assert!(!is_rfc3339_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn a_record_with_a_created_that_is_not_rfc3339_is_invalid() {
        let bad = serde_json::json!({"stemma": "1.0", "created": "yesterday"});
        let problems = validate_record_json(&bad);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("RFC 3339") && p.contains("/created")),
            "{problems:?}"
        );
        let good = serde_json::json!({"stemma": "1.0", "created": "2024-05-01T12:30:00Z"});
        assert!(validate_record_json(&good).is_empty());
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

    #[test]
    fn the_draft_7_validator_checks_every_keyword_the_schema_uses() {
        // The validator compiles the schema under draft 7 (see `for_validator`): each keyword kind must still bite.
        let id = format!("sha256:{}", "a".repeat(64));
        let good = serde_json::json!({
            "stemma": "1.0",
            "content": {"pixels": id},
            "prompt": {"positive": "a fox", "template": {"positive": "a {animal}"}},
            "params": {"seed": "42", "steps": 20, "loras": [{"name": "x", "weight": 0.5}]},
            "parents": [{"id": id, "relation": "upscale"}],
            "ext": {"org.example.note": 1}
        });
        assert_eq!(validate_record_json(&good), Vec::<String>::new());
        let broken = [
            ("pattern", serde_json::json!({"stemma": "2"})),
            ("required", serde_json::json!({"prompt": {"positive": "a"}})),
            (
                "type",
                serde_json::json!({"stemma": "1.0", "params": {"steps": "twenty"}}),
            ),
            (
                "minimum",
                serde_json::json!({"stemma": "1.0", "params": {"steps": -1}}),
            ),
            (
                "$ref'd pattern",
                serde_json::json!({"stemma": "1.0", "content": {"pixels": "nope"}}),
            ),
            (
                "propertyNames",
                serde_json::json!({"stemma": "1.0", "ext": {"Not A Key": 1}}),
            ),
            (
                "nested $ref",
                serde_json::json!({"stemma": "1.0", "prompt": {"template": {"positive": 3}}}),
            ),
        ];
        for (keyword, record) in broken {
            assert!(
                !validate_record_json(&record).is_empty(),
                "{keyword}: {record}"
            );
        }
    }
}
