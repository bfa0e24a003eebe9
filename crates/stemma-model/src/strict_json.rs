//! Reading record text the way the specification's error algorithm (§10.2) does: UTF-8, one JSON object, no
//! duplicate member names at any depth (RFC 7493 §2.3), and telling those failures apart from version and schema
//! problems.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why record text is not a record, with the category name of specification §10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordTextError {
    /// `bad-json`: not UTF-8, not JSON, not an object, or a member name repeated.
    BadJson(String),
    /// `unsupported-version`: `stemma` missing, not a string, or another major version.
    UnsupportedVersion(String),
    /// `schema`: the object does not match the record schema.
    Schema(Vec<String>),
}

impl RecordTextError {
    /// The category name of specification §10.
    pub fn category(&self) -> &'static str {
        match self {
            RecordTextError::BadJson(_) => "bad-json",
            RecordTextError::UnsupportedVersion(_) => "unsupported-version",
            RecordTextError::Schema(_) => "schema",
        }
    }
}

/// Check record bytes in the order of specification §10.2 (bad-json, then unsupported-version, then schema) and
/// return the record as a JSON value. With `strict` false (a lenient reader), an integer seed is turned into its
/// decimal string instead of failing the schema.
pub fn check_record_bytes(bytes: &[u8], strict: bool) -> Result<Value, RecordTextError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| RecordTextError::BadJson(format!("not UTF-8: {e}")))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = de
        .deserialize_any(NoDuplicates)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| RecordTextError::BadJson(e.to_string()))?;
    let Value::Object(_) = &value else {
        return Err(RecordTextError::BadJson(
            "the record is not a JSON object".into(),
        ));
    };
    // `^1\.[0-9]+$`: the major this crate implements, then a minor.
    let version = value.get("stemma").and_then(Value::as_str).unwrap_or("");
    let minor = version.strip_prefix(&format!("{}.", crate::SPEC_MAJOR));
    if !minor.is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit())) {
        return Err(RecordTextError::UnsupportedVersion(version.to_string()));
    }
    let mut value = value;
    if !strict {
        lenient_fixes(&mut value);
    }
    let problems = crate::validate_record_json(&value);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(RecordTextError::Schema(problems))
    }
}

/// What a lenient reader repairs: integer seeds (`params.seed`, `frames[].seed`) become decimal strings.
fn lenient_fixes(value: &mut Value) {
    let fix = |seed: Option<&mut Value>| {
        if let Some(v) = seed {
            if let Value::Number(n) = v {
                if n.is_i64() || n.is_u64() {
                    *v = Value::String(n.to_string());
                }
            }
        }
    };
    fix(value.get_mut("params").and_then(|p| p.get_mut("seed")));
    if let Some(Value::Array(frames)) = value.get_mut("frames") {
        for f in frames {
            fix(f.get_mut("seed"));
        }
    }
}

/// A JSON visitor that builds a `Value` and refuses repeated member names.
struct NoDuplicates;

impl<'de> de::DeserializeSeed<'de> for NoDuplicates {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(NoDuplicates)
    }
}

impl<'de> Visitor<'de> for NoDuplicates {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(NoDuplicates)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = map.next_value_seed(NoDuplicates)?;
            if members.insert(name.clone(), value).is_some() {
                return Err(de::Error::custom(format!("member name {name:?} repeated")));
            }
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(text: &[u8], strict: bool) -> &'static str {
        check_record_bytes(text, strict).map_or_else(|e| e.category(), |_| "ok")
    }

    #[test]
    fn each_failure_has_its_category() {
        assert_eq!(category(br#"{"stemma":"1.0"}"#, true), "ok");
        assert_eq!(
            category(b"{\"stemma\":\"1.0\",\"p\":\"\xff\"}", true),
            "bad-json"
        );
        assert_eq!(
            category(br#"{"stemma":"1.0","a":1,"a":2}"#, true),
            "bad-json"
        );
        assert_eq!(
            category(
                br#"{"stemma":"1.0","prompt":{"positive":"a","positive":"b"}}"#,
                true
            ),
            "bad-json"
        );
        assert_eq!(category(br#"["stemma","1.0"]"#, true), "bad-json");
        assert_eq!(category(br#"{"stemma":"1.0"} x"#, true), "bad-json");
        assert_eq!(
            category(br#"{"stemma":"2.0"}"#, true),
            "unsupported-version"
        );
        assert_eq!(category(br#"{"stemma":1}"#, true), "unsupported-version");
        assert_eq!(category(br#"{"stemma":"1"}"#, true), "unsupported-version");
        assert_eq!(
            category(br#"{"stemma":"1.0","params":{"seed":42}}"#, true),
            "schema"
        );
        // A lenient reader repairs the seed.
        let v = check_record_bytes(br#"{"stemma":"1.0","params":{"seed":42}}"#, false).unwrap();
        assert_eq!(v["params"]["seed"], "42");
    }
}
