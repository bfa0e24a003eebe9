//! File-level operations: detect, scan, compute ids, rewrite atomically.

use std::fs::File;
use std::path::Path;

use stemma_model::{ContentId, ContentIds};

use crate::atomic::WriteOptions;
use crate::detect::{sniff, Format};
use crate::edit_file::OpenedFile;
use crate::error::{Error, Result};
use crate::handler::{handler_for, ContainerHandler, Edit};
use crate::limits::Limits;
use crate::metadata::Metadata;
use crate::mirror::Mirrors;
use crate::pixels::pixel_id;
use crate::source::{FileSource, Source};

/// Detect the format of a source from its first bytes.
pub fn detect(source: &dyn Source) -> Result<Format> {
    let mut head = [0u8; 16];
    let n = source.read_at(0, &mut head)?;
    Ok(sniff(&head[..n]))
}

/// The handler for a source, or an error naming what it is.
pub fn handler_of(source: &dyn Source) -> Result<&'static dyn ContainerHandler> {
    let format = detect(source)?;
    if source.is_empty() {
        return Err(Error::UnknownFormat("empty file (0 bytes)".into()));
    }
    handler_for(format).ok_or_else(|| match format {
        Format::Unknown => Error::UnknownFormat("unrecognised file signature".into()),
        other => Error::Unsupported {
            operation: "reading",
            format: other.name(),
        },
    })
}

/// How much of a file is read at once when it is opened for a scan: the signature for format detection and, in
/// the same read, the metadata of most generators' files (more is read only when a file holds more).
const HEAD_READ: usize = 16 * 1024;

/// Scan a file's metadata without decoding pixels.
pub fn scan_path(path: &Path, limits: &Limits) -> Result<Metadata> {
    let source = FileSource::with_head(File::open(path)?, HEAD_READ)?;
    scan_source(&source, limits)
}

/// Scan a file that may be cut short (for showing it): a truncated PNG gives what was read before the cut, with
/// a `truncated: ...` warning; other formats and other errors are as [`scan_path`].
pub fn scan_path_truncated(path: &Path, limits: &Limits) -> Result<Metadata> {
    scan_source_truncated(&open_for_scan(path)?, limits)
}

/// Open a file for a scan: its length and first bytes are read at once (the metadata of most files is in them).
/// A caller that reads the file again after the scan (the stealth probe) keeps the source instead of reopening.
pub fn open_for_scan(path: &Path) -> Result<FileSource> {
    Ok(FileSource::with_head(File::open(path)?, HEAD_READ)?)
}

/// [`scan_path_truncated`] of a source already open.
pub fn scan_source_truncated(source: &dyn Source, limits: &Limits) -> Result<Metadata> {
    match handler_of(source)?.format() {
        Format::Png => crate::png::scan_truncated(source, limits),
        _ => scan_source(source, limits),
    }
}

/// Scan any source's metadata without decoding pixels.
pub fn scan_source(source: &dyn Source, limits: &Limits) -> Result<Metadata> {
    handler_of(source)?.scan(source, limits)
}

/// Whether a format has a pixel id (lossless formats only). `file` is needed for WebP, lossy or lossless.
pub fn has_pixel_id(format: Format, file: &[u8]) -> bool {
    match format {
        Format::Png | Format::Gif => true,
        Format::Webp => webp_is_lossless(file),
        _ => false,
    }
}

/// True when a WebP's first image is lossless (`VP8L`), by a chunk walk.
fn webp_is_lossless(file: &[u8]) -> bool {
    crate::webp::is_lossless(file)
}

/// The content ids of an in-memory file. The pixel id needs decoding and is computed only when asked.
pub fn content_ids(file: &[u8], with_pixels: bool, limits: &Limits) -> Result<ContentIds> {
    let source: &dyn Source = &file;
    let handler = handler_of(source)?;
    let data = handler.data_id(file, limits)?;
    let pixels = if with_pixels && has_pixel_id(handler.format(), file) {
        Some(pixel_id(file, limits)?)
    } else {
        None
    };
    Ok(ContentIds {
        pixels: pixels.map(|p| p.to_string()),
        data: Some(data.to_string()),
        ..ContentIds::default()
    })
}

/// The id a file is known by in lineage: its pixel id where it has one, else its data id.
pub fn lineage_id(file: &[u8], limits: &Limits) -> Result<ContentId> {
    let ids = content_ids(file, true, limits)?;
    let text = ids.pixels.or(ids.data).unwrap_or_default();
    Ok(text.parse()?)
}

/// Read a whole file for editing, within the edit limit.
pub fn read_for_edit(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)?.len();
    if len > limits.max_edit_file {
        return Err(Error::Limit {
            limit: "max_edit_file",
            max: limits.max_edit_file,
            found: len,
            context: "file to rewrite".into(),
        });
    }
    Ok(std::fs::read(path)?)
}

/// What a rewrite did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The file was written.
    Written,
    /// The edit changed nothing; nothing was written.
    Unchanged,
}

/// An edit's result in memory: the new bytes and what the user should know about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub bytes: Vec<u8>,
    /// Mirrors that could not be written (see [`crate::mirror::unmirrored`]).
    pub notes: Vec<String>,
}

/// Apply `edit` to an in-memory file as a writer must: a damaged file is refused (specification §8), and the
/// mirrors the edit asked for that could not be written are listed. The mirrors are derived once, here.
pub fn edit_bytes(file: &[u8], edit: &Edit, limits: &Limits) -> Result<Edited> {
    let source: &dyn Source = &file;
    let handler = handler_of(source)?;
    let damage = handler.damage(file, limits)?;
    if !damage.is_empty() {
        return Err(Error::Damaged(damage.join("; ")));
    }
    let mirrors = Mirrors::of(edit);
    let bytes = handler.apply(file, edit, &mirrors, limits)?;
    let notes = crate::mirror::unmirrored(&bytes, edit, &mirrors, limits);
    Ok(Edited { bytes, notes })
}

/// What [`rewrite_with`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub outcome: Outcome,
    /// Things the user should know: mirrors not written, a hard link split.
    pub notes: Vec<String>,
    /// The folder whose fsync was left to the caller ([`WriteOptions::defer_folder_sync`]).
    pub unsynced_folder: Option<std::path::PathBuf>,
}

/// Apply `edit` to the bytes of `input` and write the result atomically to `output` (or back to `input`).
/// Nothing is written when the result equals the input in place; on any error nothing is written at all.
pub fn rewrite(
    input: &Path,
    output: Option<&Path>,
    edit: &Edit,
    limits: &Limits,
) -> Result<Outcome> {
    rewrite_with(input, output, edit, limits, &WriteOptions::default()).map(|r| r.outcome)
}

/// [`rewrite`] with write options, reporting notes. The file is read once ([`OpenedFile`]); an in-place rewrite
/// holds the file's update lock from the read to the rename, so that concurrent writers serialise instead of
/// losing each other's updates.
pub fn rewrite_with(
    input: &Path,
    output: Option<&Path>,
    edit: &Edit,
    limits: &Limits,
    options: &WriteOptions,
) -> Result<Rewritten> {
    let file = OpenedFile::open(input, output.is_none(), limits)?;
    file.write(output, edit, &Mirrors::of(edit), limits, options)
}
