use thiserror::Error;

/// Errors of an importer. Each names the dialect and what was wrong with the metadata.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The metadata is of the dialect but cannot be parsed.
    #[error("{dialect}: {reason}")]
    Parse {
        dialect: &'static str,
        reason: String,
    },
    /// A JSON document in the metadata is broken.
    #[error("{dialect}: broken JSON in {key}: {source}")]
    Json {
        dialect: &'static str,
        key: String,
        source: serde_json::Error,
    },
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
