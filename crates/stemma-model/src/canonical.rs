//! RFC 8785 (JCS) canonical JSON, I-JSON (RFC 7493) numbers, and the settings hash built on them.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ids::ContentId;

/// The largest integer magnitude I-JSON (RFC 7493 §2.2) holds exactly: 2^53 − 1.
pub const IJSON_MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The RFC 8785 canonical form of a JSON value: sorted keys (by UTF-16 code units), no whitespace,
/// ECMAScript number formatting.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_jcs::to_string(value).map_err(|e| Error::Canonical(e.to_string()))
}

/// Make a JSON value I-JSON in place (specification §6.1): every integer whose magnitude exceeds 2^53 − 1 becomes
/// the string of its decimal digits, because JavaScript's `JSON.parse` would round it (a 64-bit seed
/// `18446744073709551615` becomes `18446744073709552000`). Returns how many numbers were converted.
pub fn make_ijson(value: &mut Value) -> usize {
    match value {
        Value::Number(n) if is_unsafe_integer(n) => {
            *value = Value::String(n.to_string());
            1
        }
        Value::Array(items) => items.iter_mut().map(make_ijson).sum(),
        Value::Object(members) => members.values_mut().map(make_ijson).sum(),
        _ => 0,
    }
}

/// True for an integer I-JSON cannot hold exactly (magnitude above 2^53 − 1).
fn is_unsafe_integer(n: &serde_json::Number) -> bool {
    n.as_u64().is_some_and(|u| u > IJSON_MAX_SAFE_INTEGER)
        || n.as_i64()
            .is_some_and(|i| i.unsigned_abs() > IJSON_MAX_SAFE_INTEGER)
}

/// A JSON value that serialises as [`make_ijson`] would make it, without copying it (a ComfyUI graph is large,
/// and every record written or catalogued serialises its settings).
struct IJsonView<'a>(&'a Value);

impl Serialize for IJsonView<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Number(n) if is_unsafe_integer(n) => serializer.serialize_str(&n.to_string()),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&IJsonView(item))?;
                }
                seq.end()
            }
            Value::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, member) in members {
                    map.serialize_entry(key, &IJsonView(member))?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// A copy of `value` made I-JSON (see [`make_ijson`]).
pub fn to_ijson(value: &Value) -> Value {
    let mut copy = value.clone();
    make_ijson(&mut copy);
    copy
}

/// The settings hash (specification §6.2): `sha256:` of
/// - the UTF-8 bytes of the document when it is a JSON string (text formats: A1111 infotext, YAML, …), exactly as
///   stored, with no normalisation of line ends or whitespace;
/// - otherwise the RFC 8785 canonical form of the document after [`make_ijson`].
pub fn settings_hash<T: Serialize + ?Sized>(value: &T) -> Result<ContentId> {
    let value = serde_json::to_value(value)?;
    let bytes = match value {
        Value::String(text) => text.into_bytes(),
        mut document => {
            make_ijson(&mut document);
            canonical_json(&document)?.into_bytes()
        }
    };
    Ok(ContentId::from_digest(Sha256::digest(&bytes).into()))
}

/// Serialise a free JSON member (`settings.data`, `fork.diff`) as I-JSON without changing the value held in memory.
pub(crate) fn serialize_ijson<S: serde::Serializer>(
    value: &Option<Value>,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    value.as_ref().map(IJsonView).serialize(serializer)
}

/// As [`serialize_ijson`], for a member that is always present.
pub(crate) fn serialize_ijson_value<S: serde::Serializer>(
    value: &Value,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    IJsonView(value).serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unsafe_integers_become_strings_and_safe_ones_stay() {
        let mut v: Value = serde_json::from_str(
            r#"{"seed":18446744073709551615,"neg":-9007199254740992,"ok":9007199254740991,"f":1.5,"l":[9007199254740992]}"#,
        )
        .unwrap();
        assert_eq!(make_ijson(&mut v), 3);
        assert_eq!(
            v,
            json!({"seed":"18446744073709551615","neg":"-9007199254740992","ok":9_007_199_254_740_991_u64,"f":1.5,"l":["9007199254740992"]})
        );
    }

    #[test]
    fn the_ijson_view_serialises_as_the_converted_copy() {
        let v: Value = serde_json::from_str(
            r#"{"seed":18446744073709551615,"neg":-9007199254740992,"ok":9007199254740991,"f":1.5,"s":"x","n":null,"t":true,"l":[9007199254740992,{"deep":[-18446744073709551615]}],"e":{},"a":[]}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&IJsonView(&v)).unwrap(),
            serde_json::to_string(&to_ijson(&v)).unwrap()
        );
    }

    #[test]
    fn a_text_document_is_hashed_as_its_bytes() {
        let text = "a cat\nSteps: 20, Seed: 1";
        let expected = format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())));
        assert_eq!(settings_hash(&json!(text)).unwrap().to_string(), expected);
    }

    #[test]
    fn jcs_orders_by_utf16_and_formats_numbers_like_ecmascript() {
        // U+10000 is D800 DC00 in UTF-16, which sorts before U+FB01 (one unit FB01) although its code point is larger.
        let v: Value = serde_json::from_str(
            r#"{"\ufb01":1,"\ud800\udc00":2,"a":1E30,"b":4.50,"c":-0.0,"d":1e-7,"e":1e21}"#,
        )
        .unwrap();
        assert_eq!(
            canonical_json(&v).unwrap(),
            "{\"a\":1e+30,\"b\":4.5,\"c\":0,\"d\":1e-7,\"e\":1e+21,\"\u{10000}\":2,\"\u{fb01}\":1}"
        );
    }
}
