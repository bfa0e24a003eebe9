//! The JSON Schema of the record, generated from the types so that the published schema cannot drift from the code.

use std::sync::OnceLock;

use serde_json::Value;

use crate::record::Record;

/// The JSON Schema (draft 2020-12) of a stemma record.
pub fn record_schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Record)).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut schema {
        map.insert(
            "$id".into(),
            Value::String("https://stemma.invalid/spec/record.schema.json".into()),
        );
    }
    schema
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
