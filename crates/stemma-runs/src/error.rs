//! The one error type of this crate.

use std::path::PathBuf;

/// What went wrong, naming the file and the reason.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not valid JSON: {reason}", path.display())]
    Json { path: PathBuf, reason: String },
    #[error("{}: not a run manifest: {reason}", path.display())]
    Manifest { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Settings { path: PathBuf, reason: String },
    #[error("{}: no run found: {reason}", path.display())]
    NoRun { path: PathBuf, reason: String },
    #[error("settings {hash} are not in the settings store {}", store.display())]
    NotStored { hash: String, store: PathBuf },
    #[error("{}: {reason}", path.display())]
    Container { path: PathBuf, reason: String },
    #[error("--set {0}: expected key=value")]
    BadChange(String),
    #[error("{0}")]
    Fork(String),
    #[error("{}: already exists; stemma never overwrites it", path.display())]
    Exists { path: PathBuf },
    #[error("nothing to resume: {0}")]
    NothingToResume(String),
    #[error(transparent)]
    Model(#[from] stemma_model::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// `map_err` helper for I/O on a path.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
