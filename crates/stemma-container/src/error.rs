use std::io;

use thiserror::Error;

/// Errors of the container layer. Messages name the place in the file; callers add the file name.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not a file of any supported format.
    #[error("not a supported image: {0}")]
    UnknownFormat(String),
    /// The file ends before a structure it announces.
    #[error(
        "truncated file: {what} at offset {offset} needs {needed} bytes, only {available} left"
    )]
    Truncated {
        what: String,
        offset: u64,
        needed: u64,
        available: u64,
    },
    /// The structure of the file breaks its format's rules.
    #[error("malformed {format}: {reason} (at offset {offset})")]
    Malformed {
        format: &'static str,
        reason: String,
        offset: u64,
    },
    /// A checksum does not match.
    #[error(
        "bad CRC in {chunk} chunk at offset {offset}: stored {stored:08x}, computed {computed:08x}"
    )]
    Crc {
        chunk: String,
        offset: u64,
        stored: u32,
        computed: u32,
    },
    /// A named limit was exceeded (see [`crate::Limits`]).
    #[error("limit exceeded: {limit} is {max}, found {found} ({context})")]
    Limit {
        limit: &'static str,
        max: u64,
        found: u64,
        context: String,
    },
    /// Something to be written does not fit the format's own size field (a JPEG segment holds 65,533 bytes).
    #[error("{what} is {size} bytes; the format allows at most {max} in one piece")]
    TooLarge { what: String, size: u64, max: u64 },
    /// The operation is not available for this format.
    #[error("{operation} is not supported for {format} files")]
    Unsupported {
        operation: &'static str,
        format: &'static str,
    },
    /// The stemma record in the file cannot be read.
    #[error("stemma record: {0}")]
    Record(#[from] stemma_model::Error),
    /// The pixels cannot be decoded.
    #[error("cannot decode pixels: {0}")]
    Decode(String),
    /// The file is read-only and the caller did not allow rewriting it (`WriteOptions::allow_read_only`).
    #[error("{0} is read-only; not rewritten")]
    ReadOnly(String),
    /// The file's structure is damaged (truncated, inconsistent sizes): a writer must not rewrite it.
    #[error("damaged file, not rewritten: {0}")]
    Damaged(String),
    /// The file carries a C2PA manifest that the change would invalidate (`Edit::force` allows it).
    #[error("the file carries a C2PA manifest ({0}); rewriting it would invalidate the signature")]
    C2paProtected(String),
}

impl Error {
    /// True when the caller may override the refusal (a read-only file, a C2PA manifest): front ends name their
    /// own way of doing so (the CLI's `--force`).
    pub fn can_be_forced(&self) -> bool {
        matches!(self, Error::ReadOnly(_) | Error::C2paProtected(_))
    }
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
