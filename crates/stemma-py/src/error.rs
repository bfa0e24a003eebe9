//! The bindings' errors: every one names the file and the reason, and has a kind that picks the Python exception.

use std::io;
use std::path::{Path, PathBuf};

use stemma_container::Error as ContainerError;
use thiserror::Error;

/// What went wrong, coarsely: one Python exception class per kind (see `python/stemma/_errors.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file does not exist.
    Missing,
    /// Reading or writing failed for another reason.
    Io,
    /// Not an image stemma reads (and no sidecar), or an operation the format does not support.
    Unsupported,
    /// Truncated, bad checksum, malformed structure, undecodable pixels.
    Damaged,
    /// A named limit was exceeded.
    Limit,
    /// A stored record, or the record to write, is not a valid stemma record; or an argument is malformed.
    Record,
    /// The file carries a C2PA manifest that the change would invalidate.
    Protected,
    /// No catalog was found, it cannot be opened, or a query is not valid.
    Catalog,
}

impl ErrorKind {
    /// The name of the Python exception class raised for this kind.
    pub fn class_name(self) -> &'static str {
        match self {
            ErrorKind::Missing => "MissingFileError",
            ErrorKind::Io => "StemmaIOError",
            ErrorKind::Unsupported => "UnsupportedFormatError",
            ErrorKind::Damaged => "DamagedFileError",
            ErrorKind::Limit => "LimitExceededError",
            ErrorKind::Record => "RecordError",
            ErrorKind::Protected => "ProtectedFileError",
            ErrorKind::Catalog => "CatalogError",
        }
    }
}

/// Errors of the bindings.
#[derive(Debug, Error)]
pub enum Error {
    /// The container layer refused the file; `action` says what did not happen (`"not written: "` or empty).
    #[error("{}: {action}{source}", file.display())]
    Container {
        file: PathBuf,
        action: &'static str,
        #[source]
        source: ContainerError,
    },
    /// A stemma record (stored, in a sidecar, or given) cannot be read.
    #[error("{}: stemma record: {source}", file.display())]
    Record {
        file: PathBuf,
        #[source]
        source: stemma_model::Error,
    },
    /// The record to write, or an argument, is not acceptable.
    #[error("{}: {reason}", file.display())]
    Invalid { file: PathBuf, reason: String },
    /// The file is damaged and is not written.
    #[error("{}: not written: {reason}", file.display())]
    Damaged { file: PathBuf, reason: String },
    /// The catalog (at or above `file`) cannot answer: none found, unreadable, or a query that does not parse.
    #[error("{}: {reason}", file.display())]
    Catalog { file: PathBuf, reason: String },
    /// A run manifest or the settings store refused (the library's error names its own file).
    #[error("{source}")]
    Run {
        file: PathBuf,
        #[source]
        source: stemma_runs::Error,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn container(file: &Path, source: ContainerError) -> Self {
        Error::Container {
            file: file.to_path_buf(),
            action: "",
            source,
        }
    }

    pub(crate) fn not_written(file: &Path, source: ContainerError) -> Self {
        Error::Container {
            file: file.to_path_buf(),
            action: "not written: ",
            source,
        }
    }

    pub(crate) fn io(file: &Path, source: io::Error) -> Self {
        Error::Io {
            file: file.to_path_buf(),
            source,
        }
    }

    pub(crate) fn invalid(file: &Path, reason: impl Into<String>) -> Self {
        Error::Invalid {
            file: file.to_path_buf(),
            reason: reason.into(),
        }
    }

    /// The file the error is about.
    pub fn file(&self) -> &Path {
        match self {
            Error::Container { file, .. }
            | Error::Record { file, .. }
            | Error::Invalid { file, .. }
            | Error::Damaged { file, .. }
            | Error::Catalog { file, .. }
            | Error::Run { file, .. }
            | Error::Io { file, .. } => file,
        }
    }

    /// The reason without the file name.
    pub fn reason(&self) -> String {
        match self {
            Error::Container { action, source, .. } => format!("{action}{source}"),
            Error::Record { source, .. } => format!("stemma record: {source}"),
            Error::Invalid { reason, .. } | Error::Catalog { reason, .. } => reason.clone(),
            Error::Damaged { reason, .. } => format!("not written: {reason}"),
            Error::Io { source, .. } => source.to_string(),
            Error::Run { source, .. } => source.to_string(),
        }
    }

    /// Which Python exception this error becomes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Container { source, .. } => container_kind(source),
            Error::Record { .. } | Error::Invalid { .. } => ErrorKind::Record,
            Error::Damaged { .. } => ErrorKind::Damaged,
            Error::Catalog { .. } => ErrorKind::Catalog,
            Error::Io { source, .. } => io_kind(source),
            Error::Run { source, .. } => run_kind(source),
        }
    }
}

fn io_kind(e: &io::Error) -> ErrorKind {
    if e.kind() == io::ErrorKind::NotFound {
        ErrorKind::Missing
    } else {
        ErrorKind::Io
    }
}

fn run_kind(e: &stemma_runs::Error) -> ErrorKind {
    match e {
        stemma_runs::Error::Io { source, .. } => io_kind(source),
        stemma_runs::Error::Container { .. } => ErrorKind::Damaged,
        // A manifest, settings document or store that is not what it should be.
        _ => ErrorKind::Record,
    }
}

fn container_kind(e: &ContainerError) -> ErrorKind {
    match e {
        ContainerError::Io(io) => io_kind(io),
        ContainerError::UnknownFormat(_) | ContainerError::Unsupported { .. } => {
            ErrorKind::Unsupported
        }
        ContainerError::Limit { .. } => ErrorKind::Limit,
        ContainerError::Record(_) => ErrorKind::Record,
        ContainerError::C2paProtected(_) => ErrorKind::Protected,
        // Truncated, Malformed, Crc, Decode, and whatever the container layer adds later.
        _ => ErrorKind::Damaged,
    }
}
