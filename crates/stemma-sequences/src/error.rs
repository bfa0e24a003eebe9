use std::path::PathBuf;

use thiserror::Error;

/// Errors of the folder scanner and the APNG exporter. Each names the file or the document
/// it is about.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file beside the frames (a settings file, subtitles) cannot be read.
    #[error(transparent)]
    Import(#[from] stemma_import::Error),
    /// The container layer refused a file.
    #[error("{path}: {source}")]
    Container {
        path: PathBuf,
        source: stemma_container::Error,
    },
    /// The record model refused a value.
    #[error("record: {0}")]
    Model(#[from] stemma_model::Error),
    /// A frame cannot be decoded or encoded.
    #[error("{path}: image: {reason}")]
    Image { path: PathBuf, reason: String },
    /// The frames cannot be assembled into one animation.
    #[error("APNG export: {0}")]
    Apng(String),
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
