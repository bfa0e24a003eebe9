//! The catalog's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in the catalog.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("catalog {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("catalog: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("no catalog found in {0} or any folder above it (run `stemma init`)")]
    NotFound(PathBuf),
    #[error("catalog {path} has schema version {found}, newer than this stemma knows ({known}); upgrade stemma")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("query error at column {column}: {message}")]
    Query { column: usize, message: String },
    #[error("{0}")]
    NotInCatalog(String),
    #[error("record JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Model(#[from] stemma_model::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
