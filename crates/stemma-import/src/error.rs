use std::path::PathBuf;

use thiserror::Error;

/// Errors of an importer, of the settings-file and file-name readers and of the resolver. Each names the dialect,
/// the file or the document it is about, and what was wrong.
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
    /// Reading a file failed. (The cause is printed in the message, not chained as a source, so that a caller
    /// printing the chain does not say it twice.)
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A settings document is not valid JSON.
    #[error("{what}: broken JSON: {source}")]
    DocumentJson {
        what: String,
        source: serde_json::Error,
    },
    /// A settings document is not valid YAML.
    #[error("{what}: broken YAML: {source}")]
    Yaml {
        what: String,
        source: serde_yaml_ng::Error,
    },
    /// A CSV log cannot be read.
    #[error("{what}: broken CSV: {source}")]
    Csv { what: String, source: csv::Error },
    /// The document is of a known kind but does not follow its tool's rules.
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
    /// The file is not one of a supported tool.
    #[error("{0}: not a settings file of a supported tool")]
    Unrecognised(String),
    /// An A1111 file-name pattern cannot be compiled.
    #[error("A1111 file-name pattern {pattern:?}: {reason}")]
    Pattern { pattern: String, reason: String },
    /// The container layer refused a file.
    #[error("{path}: {error}")]
    Container {
        path: PathBuf,
        error: stemma_container::Error,
    },
    /// The record model refused a value.
    #[error("record: {0}")]
    Model(#[from] stemma_model::Error),
    /// A stemma record (embedded or in a sidecar) is not valid.
    #[error("{path}: stemma record: {error}")]
    Record {
        path: PathBuf,
        error: stemma_model::Error,
    },
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |error| Error::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Read a text file beside an image (a settings file, subtitles, a log) within the caller's limit on one metadata
/// value: a larger file is refused, naming the limit, before it is read.
pub fn read_sibling_text(
    path: &std::path::Path,
    limits: &stemma_container::Limits,
) -> Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let max = limits.max_metadata_chunk;
    let too_large = |found: u64| Error::Container {
        path: path.to_path_buf(),
        error: stemma_container::Error::Limit {
            limit: "max_metadata_chunk",
            max,
            found,
            context: "text file beside the image".into(),
        },
    };
    let size = file.metadata().map_err(io_err(path))?.len();
    if size > max {
        return Err(too_large(size));
    }
    let mut bytes = Vec::new();
    // The file may grow between the size check and the read: never read more than the limit.
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_err(path))?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| Error::Invalid {
        what: path.display().to_string(),
        reason: format!("not UTF-8 text ({e})"),
    })
}
