//! Text helpers shared by the container handlers: bounded inflate and text decoding.

use std::io::Read;

use crate::error::{Error, Result};

/// Inflate a zlib stream, refusing to produce more than `limit` bytes (a compressed bomb stops here).
pub fn inflate_bounded(
    data: &[u8],
    limit: u64,
    limit_name: &'static str,
    context: &str,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    // `bufread`: the input is already in memory (no 32 KiB read buffer to allocate and clear per chunk).
    let mut decoder = flate2::bufread::ZlibDecoder::new(data).take(limit.saturating_add(1));
    decoder
        .read_to_end(&mut out)
        .map_err(|e| Error::Malformed {
            format: "zlib",
            reason: format!("{context}: {e}"),
            offset: 0,
        })?;
    if out.len() as u64 > limit {
        return Err(Error::Limit {
            limit: limit_name,
            max: limit,
            found: out.len() as u64,
            context: format!("{context} inflates to more"),
        });
    }
    Ok(out)
}

/// Deflate with zlib at the default level.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Decode Latin-1 text. Real files put raw UTF-8 into Latin-1 fields (TensorArt, Stability Matrix): bytes that
/// are valid UTF-8 and contain a byte ≥ 0x80 are read as UTF-8. Returns the text and the decoding applied.
pub fn decode_latin1_or_utf8(bytes: &[u8]) -> (String, &'static str) {
    match std::str::from_utf8(bytes) {
        // Pure ASCII: both decodings agree.
        Ok(s) if s.is_ascii() => (s.to_owned(), "latin1"),
        Ok(s) => (s.to_owned(), "utf-8"),
        Err(_) => {
            let mut text = String::with_capacity(bytes.len() * 2);
            text.extend(bytes.iter().map(|&b| char::from(b)));
            (text, "latin1")
        }
    }
}

/// [`decode_latin1_or_utf8`] for bytes the caller owns (inflated text): valid UTF-8 is kept without a copy.
pub fn decode_latin1_or_utf8_owned(bytes: Vec<u8>) -> (String, &'static str) {
    match String::from_utf8(bytes) {
        Ok(s) if s.is_ascii() => (s, "latin1"),
        Ok(s) => (s, "utf-8"),
        Err(e) => decode_latin1_or_utf8(e.as_bytes()),
    }
}

/// [`decode_utf8_lossy`] for bytes the caller owns (inflated text): valid UTF-8 is kept without a copy.
pub fn decode_utf8_lossy_owned(bytes: Vec<u8>) -> (String, &'static str) {
    match String::from_utf8(bytes) {
        Ok(s) => (s, "utf-8"),
        Err(e) => decode_utf8_lossy(e.as_bytes()),
    }
}

/// Decode UTF-8 text, replacing invalid sequences (and saying so).
pub fn decode_utf8_lossy(bytes: &[u8]) -> (String, &'static str) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), "utf-8"),
        Err(_) => (String::from_utf8_lossy(bytes).into_owned(), "utf-8-lossy"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bomb_is_stopped_at_the_limit() {
        let bomb = deflate(&vec![0u8; 10 * 1024 * 1024]);
        assert!(bomb.len() < 20_000);
        let err = inflate_bounded(&bomb, 1024 * 1024, "max_text_decompressed", "zTXt").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Limit {
                    limit: "max_text_decompressed",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn inflate_round_trips() {
        let text = b"hello hello hello".to_vec();
        assert_eq!(
            inflate_bounded(&deflate(&text), 100, "x", "t").unwrap(),
            text
        );
    }

    #[test]
    fn latin1_and_utf8_are_told_apart() {
        assert_eq!(
            decode_latin1_or_utf8(b"caf\xe9"),
            ("café".to_string(), "latin1")
        );
        assert_eq!(
            decode_latin1_or_utf8("café".as_bytes()),
            ("café".to_string(), "utf-8")
        );
    }
}
