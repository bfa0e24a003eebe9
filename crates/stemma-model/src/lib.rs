//! The stemma record model.
//!
//! A stemma record is one JSON object (specification `spec/stemma-1.md`) that carries an image's prompt, parameters,
//! native settings, verbatim original metadata, lineage and sequence position. This crate holds the types, reading
//! and writing them as JSON, the RFC 8785 canonical form, content ids, settings hashes and RFC 7396 merge patches.
//! It does no I/O.
//!
//! ```
//! use stemma_model::{Record, parse_record};
//! let record = parse_record(r#"{"stemma":"1.0","prompt":{"positive":"a duck"},"params":{"seed":"42"}}"#).unwrap();
//! assert_eq!(record.positive(), Some("a duck"));
//! assert_eq!(record.params.unwrap().seed.as_deref(), Some("42"));
//! ```

mod canonical;
mod error;
mod ids;
mod patch;
mod raw_ref;
mod record;
mod schema;
mod share;
mod strict_json;

pub use canonical::{canonical_json, make_ijson, settings_hash, to_ijson, IJSON_MAX_SAFE_INTEGER};
pub use error::{Error, Result};
pub use ids::{id_scheme, is_computable_id, ContentId, ID_PATTERN, SHA256_PREFIX};
pub use patch::{apply_merge_patch, merge_patch_diff};
pub use raw_ref::{
    expand_raw_references, expand_raw_references_reporting, has_raw_references,
    reference_raw_values,
};
pub use record::*;
pub use schema::{
    is_rfc3339_date_time, record_schema, validate_record_json, EXT_KEY_PATTERN, SCHEMA_ID,
};
pub use share::{base_name, lineage_only, share_record, without_absolute_paths};
pub use strict_json::{check_record_bytes, RecordTextError};

/// Parse a record from JSON text, checking that its major version is one this crate implements.
pub fn parse_record(text: &str) -> Result<Record> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    record_from_value(value)
}

/// Turn a JSON value into a record, checking the version.
pub fn record_from_value(value: serde_json::Value) -> Result<Record> {
    let version = value.get("stemma").and_then(|v| v.as_str()).unwrap_or("");
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    if major != Some(SPEC_MAJOR) {
        return Err(Error::UnsupportedVersion {
            found: version.to_string(),
            supported: SPEC_MAJOR,
        });
    }
    Ok(serde_json::from_value(value)?)
}

/// The record as compact JSON (the form written into files). The output is I-JSON (RFC 7493): integers beyond
/// 2^53 − 1 anywhere in the record (also in `params` extras and extensions) are written as decimal strings.
pub fn record_to_json(record: &Record) -> Result<String> {
    let mut value = serde_json::to_value(record)?;
    make_ijson(&mut value);
    Ok(serde_json::to_string(&value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_integer_beyond_ijson_reads_back_after_it_is_written() {
        // Found by fuzzing (import_entries): an infotext `Size` of 2^64-1 was written as the string I-JSON asks
        // for, and the record then did not read back.
        let text = r#"{"stemma":"1.0","params":{"width":18446744073709551615,"steps":20},"frames":[{"index":9007199254740993}]}"#;
        let record = parse_record(text).unwrap();
        let json = record_to_json(&record).unwrap();
        assert!(json.contains(r#""width":"18446744073709551615""#), "{json}");
        let again = parse_record(&json).unwrap();
        assert_eq!(again, record);
        assert_eq!(again.params.as_ref().and_then(|p| p.width), Some(u64::MAX));
        for bad in [r#""-1""#, r#""12a""#, "-1", "1.5", "true", r#""""#] {
            let text = format!(r#"{{"stemma":"1.0","params":{{"width":{bad}}}}}"#);
            assert!(parse_record(&text).is_err(), "{text}");
            let text = format!(r#"{{"stemma":"1.0","frames":[{{"index":{bad}}}]}}"#);
            assert!(parse_record(&text).is_err(), "{text}");
        }
        // A required integer is never null.
        assert!(parse_record(r#"{"stemma":"1.0","frames":[{"index":null}]}"#).is_err());
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let text = r#"{"stemma":"1.3","future":{"x":[1,2]},"params":{"seed":"1","my_knob":0.5},"prompt":{"positive":"p","lang":"en"}}"#;
        let record = parse_record(text).unwrap();
        let back: serde_json::Value =
            serde_json::from_str(&record_to_json(&record).unwrap()).unwrap();
        let original: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn a_numeric_seed_is_read_as_a_string() {
        let record =
            parse_record(r#"{"stemma":"1.0","params":{"seed":18446744073709551615}}"#).unwrap();
        assert_eq!(
            record.params.unwrap().seed.as_deref(),
            Some("18446744073709551615")
        );
    }

    #[test]
    fn a_64_bit_seed_inside_verbatim_settings_is_written_as_a_string() {
        let record = parse_record(
            r#"{"stemma":"1.0","settings":{"format":"comfyui-api","data":{"3":{"inputs":{"seed":18446744073709551615,"steps":20}}}},"params":{"noise_seed":9007199254740993}}"#,
        )
        .unwrap();
        let text = record_to_json(&record).unwrap();
        assert!(text.contains(r#""seed":"18446744073709551615""#), "{text}");
        assert!(text.contains(r#""steps":20"#), "{text}");
        assert!(
            text.contains(r#""noise_seed":"9007199254740993""#),
            "{text}"
        );
    }

    #[test]
    fn another_major_version_is_refused() {
        for text in [r#"{"stemma":"2.0"}"#, r#"{"prompt":{}}"#, r#"{"stemma":1}"#] {
            assert!(
                matches!(parse_record(text), Err(Error::UnsupportedVersion { .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn broken_json_is_an_error_not_a_panic() {
        assert!(matches!(
            parse_record("{\"stemma\":\"1.0\""),
            Err(Error::Json(_))
        ));
    }

    #[test]
    fn settings_hash_ignores_key_order_and_whitespace() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b": 1.50, "a": [1, "x"]}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":[1,"x"],"b":1.5}"#).unwrap();
        assert_eq!(settings_hash(&a).unwrap(), settings_hash(&b).unwrap());
        assert_eq!(canonical_json(&a).unwrap(), r#"{"a":[1,"x"],"b":1.5}"#);
    }
}
