//! The reference reader of the specification's error algorithm (§10.2), as the vectors' `.expected.json` record it.

use flate2::read::ZlibDecoder;
use serde_json::{json, Value};
use stemma_container::png::ChunkType;
use stemma_container::{ops, Error, Format, Limits};
use stemma_model::{check_record_bytes, RecordTextError};

fn container_category(e: &Error) -> &'static str {
    match e {
        Error::Truncated { .. } => "truncated",
        Error::Crc { .. } => "crc",
        Error::UnknownFormat(_) => "not-an-image",
        Error::Malformed { reason, .. } if reason.contains("2^31-1") => "chunk-too-large",
        Error::Limit { .. } => "limit",
        _ => "malformed",
    }
}

fn is_critical(kind: ChunkType) -> bool {
    kind.0[0].is_ascii_uppercase()
}

/// The record text of a PNG by §4.1 and §10.2 steps 2–4, with warnings.
fn png_record(
    bytes: &[u8],
    limits: &Limits,
    warnings: &mut Vec<String>,
) -> Result<Option<Vec<u8>>, &'static str> {
    let list = stemma_container::png::parse_chunks(bytes, limits, false)
        .map_err(|e| container_category(&e))?;
    let mut record: Option<&[u8]> = None;
    for chunk in &list.chunks {
        let data = chunk.data(bytes);
        let stored = u32::from_be_bytes(bytes[chunk.end - 4..chunk.end].try_into().unwrap());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&chunk.kind.0);
        crc.update(data);
        let is_record = &chunk.kind.0 == b"iTXt" && data.starts_with(b"stemma\0");
        if crc.finalize() != stored {
            if is_critical(chunk.kind) || is_record {
                return Err("crc");
            }
            warnings.push("crc".into());
        }
        if is_record {
            if record.is_some() {
                warnings.push("several-records".into());
            } else {
                record = Some(data);
            }
        }
    }
    let Some(data) = record else { return Ok(None) };
    let rest = &data[7..];
    let (flag, method) = (rest.first().copied(), rest.get(1).copied());
    let mut fields = rest.get(2..).unwrap_or(&[]).splitn(3, |&b| b == 0);
    let (_lang, _translated, text) = (
        fields.next(),
        fields.next(),
        fields.next().ok_or("malformed")?,
    );
    match (flag, method) {
        (Some(0), Some(_)) => Ok(Some(text.to_vec())),
        (Some(1), Some(0)) => {
            let mut out = Vec::new();
            let max = limits.max_text_decompressed;
            let mut reader = std::io::Read::take(ZlibDecoder::new(text), max + 1);
            std::io::Read::read_to_end(&mut reader, &mut out).map_err(|_| "bad-compression")?;
            if out.len() as u64 > max {
                return Err("limit");
            }
            Ok(Some(out))
        }
        _ => Err("bad-compression"),
    }
}

/// What a reader makes of a vector: the expected-output document.
pub fn read_vector(bytes: &[u8]) -> Value {
    let limits = Limits::default();
    let source: &dyn stemma_container::source::Source = &bytes;
    let handler = match ops::handler_of(source) {
        Ok(h) => h,
        Err(e) => return json!({"error": container_category(&e)}),
    };
    let mut warnings: Vec<String> = Vec::new();
    let text = if handler.format() == Format::Png {
        match png_record(bytes, &limits, &mut warnings) {
            Ok(t) => t,
            Err(category) => return json!({"error": category}),
        }
    } else {
        match handler.scan(source, &limits) {
            Ok(m) => m.record_json.map(String::into_bytes),
            Err(e) => return json!({"error": container_category(&e)}),
        }
    };
    let mut out = match ops::content_ids(bytes, true, &limits) {
        Ok(ids) => json!({"record": null, "pixels": ids.pixels, "data": ids.data}),
        Err(_) => json!({"record": null, "pixels": null, "data": null}),
    };
    if let Some(text) = text {
        match check_record_bytes(&text, true) {
            Ok(v) => out["record"] = v,
            Err(e @ RecordTextError::Schema(_)) => {
                let mut failed = json!({"error": e.category()});
                if let Ok(repaired) = check_record_bytes(&text, false) {
                    failed["lenient"] = json!({"record": repaired, "warnings": ["repaired"]});
                }
                return failed;
            }
            Err(e) => return json!({"error": e.category()}),
        }
    }
    if !warnings.is_empty() {
        out["warnings"] = json!(warnings);
    }
    out
}
