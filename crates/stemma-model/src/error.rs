use thiserror::Error;

/// Errors of the record model.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not JSON, or not a record.
    #[error("record is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The record's `stemma` version is missing or of another major version.
    #[error("unsupported stemma version {found:?} (this reader implements {supported}.x)")]
    UnsupportedVersion { found: String, supported: u32 },
    /// The JSON cannot be canonicalised (RFC 8785 forbids it, e.g. a number outside IEEE-754 doubles).
    #[error("cannot canonicalise JSON: {0}")]
    Canonical(String),
    /// A content id is not of the form `sha256:<64 lower-case hex digits>`.
    #[error("invalid content id {0:?}: expected sha256:<64 lower-case hex digits>")]
    InvalidId(String),
    /// A `raw` entry refers to a value in the file, but no value there has its SHA-256 (the file was edited since).
    #[error(
        "raw entry {origin} {key:?} refers to a value with {sha256} that the file no longer holds"
    )]
    MissingRaw {
        origin: String,
        key: String,
        sha256: String,
    },
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
