//! RFC 8785 (JCS) canonical JSON and the hashes built on it.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ids::ContentId;

/// The RFC 8785 canonical form of a JSON value: sorted keys (by UTF-16 code units), no whitespace,
/// ECMAScript number formatting.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_jcs::to_string(value).map_err(|e| Error::Canonical(e.to_string()))
}

/// `sha256:` of the canonical form of a settings document (specification §6.2).
pub fn settings_hash<T: Serialize + ?Sized>(value: &T) -> Result<ContentId> {
    let canonical = canonical_json(value)?;
    Ok(ContentId::from_digest(
        Sha256::digest(canonical.as_bytes()).into(),
    ))
}
