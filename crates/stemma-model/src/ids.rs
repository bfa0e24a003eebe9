//! Content ids: `<scheme>:<digest>` in the OCI digest grammar. Scheme `sha256` (64 lower-case hex digits) is the
//! one stemma 1.0 computes; other schemes are reserved for later canonical forms and are carried, not computed.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The algorithm prefix of every content id stemma 1.0 computes.
pub const SHA256_PREFIX: &str = "sha256:";

/// JSON Schema pattern of every id-like member (`content.*`, `parents[].id`, `settings.ref`, `run.settings`,
/// `fork.base`, `fork.from`, `frames[].pixels`): the OCI digest grammar. A 1.0 reader that meets a scheme it does
/// not know keeps the id and does not try to verify it (specification §5.5), so a later canonical form with a new
/// scheme name never makes a 1.0 reader refuse a record.
pub const ID_PATTERN: &str = r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$";

/// The scheme of an id (`sha256` for `sha256:ab…`), or `None` when the text is not of the form `scheme:digest`.
pub fn id_scheme(id: &str) -> Option<&str> {
    let (scheme, digest) = id.split_once(':')?;
    let component =
        |c: &str| !c.is_empty() && c.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9'));
    let scheme_ok = scheme.split(['+', '.', '_', '-']).all(component);
    let digest_ok = !digest.is_empty()
        && digest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    (scheme_ok && digest_ok).then_some(scheme)
}

/// True when `id` uses a scheme this implementation computes (today only `sha256`) and is well formed for it. An
/// id for which this is false is kept and shown but never compared as a mismatch.
pub fn is_computable_id(id: &str) -> bool {
    id.parse::<ContentId>().is_ok()
}

/// A `sha256:<hex>` content id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId([u8; 32]);

impl ContentId {
    /// Wrap a finished SHA-256 digest.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        ContentId(digest)
    }

    /// The raw digest.
    pub fn digest(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SHA256_PREFIX}{}", hex::encode(self.0))
    }
}

impl FromStr for ContentId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidId(s.to_string());
        let hex_part = s.strip_prefix(SHA256_PREFIX).ok_or_else(invalid)?;
        if hex_part.len() != 64
            || !hex_part
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(invalid());
        }
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut digest).map_err(|_| invalid())?;
        Ok(ContentId(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_same_text() {
        let text = format!("sha256:{}", "ab".repeat(32));
        let id: ContentId = text.parse().unwrap();
        assert_eq!(id.to_string(), text);
    }

    #[test]
    fn rejects_upper_case_short_and_unprefixed_ids() {
        for bad in [
            format!("sha256:{}", "AB".repeat(32)),
            format!("sha256:{}", "ab".repeat(31)),
            "ab".repeat(32),
            format!("blake3:{}", "ab".repeat(32)),
        ] {
            assert!(bad.parse::<ContentId>().is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn later_schemes_are_well_formed_but_not_computable() {
        let later = format!("sha256-px2:{}", "ab".repeat(32));
        assert_eq!(id_scheme(&later), Some("sha256-px2"));
        assert!(!is_computable_id(&later));
        assert!(is_computable_id(&format!("sha256:{}", "ab".repeat(32))));
        for bad in [
            "",
            "sha256",
            ":ab",
            "SHA256:ab",
            "sha256:",
            "sha 256:ab",
            "sha256--x:ab",
        ] {
            assert_eq!(id_scheme(bad), None, "{bad:?}");
        }
    }
}
