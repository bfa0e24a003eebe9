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
    let mut problems: Vec<String> = match validator {
        Ok(v) => v
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path))
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
