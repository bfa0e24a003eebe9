//! Content ids: `sha256:` followed by 64 lower-case hex digits (an OCI digest).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The algorithm prefix of every stemma content id.
pub const SHA256_PREFIX: &str = "sha256:";

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
}
