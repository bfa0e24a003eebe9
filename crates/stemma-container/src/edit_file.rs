//! One write of one file, doing each piece of work once: the file is read once (under its update lock when it
//! is rewritten in place), refused once if damaged, its content ids come from the same bytes (the pixel id reused
//! from the stored record when the image data did not change, else decoded row by row), the mirrors are derived
//! once above the handlers, and the result is written atomically.

use std::path::{Path, PathBuf};

use stemma_model::{ContentId, ContentIds, Record};

use crate::atomic::{write_atomic_with, NoFaults, WriteOptions};
use crate::detect::Format;
use crate::error::{Error, Result};
use crate::handler::{ContainerHandler, Edit};
use crate::limits::Limits;
use crate::lock::{lock_for_update, UpdateLock};
use crate::mirror::{unmirrored, Mirrors};
use crate::ops::{handler_of, has_pixel_id, read_for_edit, Edited, Outcome, Rewritten};
use crate::source::Source;

/// Where a pixel id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelsFrom {
    /// Decoded from the file (streaming).
    Decoded,
    /// Taken from the stored record: its `content.data` equals the file's data id, so the pixels are the same.
    Reused,
    /// The format has no pixel id (lossy, video), or it was not asked for.
    None,
}

/// A file read once for a write.
pub struct OpenedFile {
    path: PathBuf,
    bytes: Vec<u8>,
    handler: &'static dyn ContainerHandler,
    /// Held from the read to the rename when the file is rewritten in place.
    _lock: Option<UpdateLock>,
}

impl std::fmt::Debug for OpenedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedFile")
            .field("path", &self.path)
            .field("len", &self.bytes.len())
            .field("format", &self.handler.format())
            .finish()
    }
}

impl OpenedFile {
    /// Open `path` for a write: take its update lock when `in_place` (so that concurrent writers serialise
    /// instead of losing each other's updates; re-entrant within a thread), read it within `max_edit_file`, and
    /// refuse it when it is damaged (specification §8).
    pub fn open(path: &Path, in_place: bool, limits: &Limits) -> Result<OpenedFile> {
        let lock = if in_place {
            Some(lock_for_update(path)?)
        } else {
            None
        };
        let bytes = read_for_edit(path, limits)?;
        let mut opened = OpenedFile::from_bytes(path, bytes, limits)?;
        opened._lock = lock;
        Ok(opened)
    }

    /// A file already read by the caller (who holds its update lock if it is rewritten in place): refused when
    /// damaged, as [`OpenedFile::open`].
    pub fn from_bytes(path: &Path, bytes: Vec<u8>, limits: &Limits) -> Result<OpenedFile> {
        let source: &dyn Source = &bytes.as_slice();
        let handler = handler_of(source)?;
        let damage = handler.damage(&bytes, limits)?;
        if !damage.is_empty() {
            return Err(Error::Damaged(damage.join("; ")));
        }
        Ok(OpenedFile {
            path: path.to_path_buf(),
            bytes,
            handler,
            _lock: None,
        })
    }

    /// The bytes read.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The container format.
    pub fn format(&self) -> Format {
        self.handler.format()
    }

    /// The data id (specification §5.2–5.3).
    pub fn data_id(&self, limits: &Limits) -> Result<ContentId> {
        self.handler.data_id(&self.bytes, limits)
    }

    /// The content ids of the file. The pixel id (when `with_pixels` and the format has one) is taken from
    /// `stored` when its `data` equals this file's data id — the encoded image data did not change, so neither did
    /// the pixels — and decoded otherwise.
    pub fn content_ids(
        &self,
        stored: Option<&ContentIds>,
        with_pixels: bool,
        limits: &Limits,
    ) -> Result<(ContentIds, PixelsFrom)> {
        let data = self.data_id(limits)?.to_string();
        let (pixels, from) = if !with_pixels || !has_pixel_id(self.format(), &self.bytes) {
            (None, PixelsFrom::None)
        } else {
            match stored.and_then(|s| reusable_pixels(s, &data)) {
                Some(p) => (Some(p), PixelsFrom::Reused),
                None => (
                    Some(crate::pixels::pixel_id(&self.bytes, limits)?.to_string()),
                    PixelsFrom::Decoded,
                ),
            }
        };
        Ok((
            ContentIds {
                pixels,
                data: Some(data),
                ..ContentIds::default()
            },
            from,
        ))
    }

    /// Apply `edit` in memory with `mirrors` (computed once by the caller: [`Mirrors::of`], or
    /// [`Mirrors::from_record`] when it holds the record), listing the mirrors that could not be written.
    pub fn edit(&self, edit: &Edit, mirrors: &Mirrors, limits: &Limits) -> Result<Edited> {
        let bytes = self.handler.apply(&self.bytes, edit, mirrors, limits)?;
        let notes = unmirrored(&bytes, edit, mirrors, limits);
        Ok(Edited { bytes, notes })
    }

    /// Apply `edit` and write the result atomically to `output`, or back in place (nothing is written when the
    /// result equals the file). On any error nothing is written at all.
    pub fn write(
        self,
        output: Option<&Path>,
        edit: &Edit,
        mirrors: &Mirrors,
        limits: &Limits,
        options: &WriteOptions,
    ) -> Result<Rewritten> {
        let Edited { bytes, mut notes } = self.edit(edit, mirrors, limits)?;
        if output.is_none() && bytes == self.bytes {
            return Ok(Rewritten {
                outcome: Outcome::Unchanged,
                notes,
                unsynced_folder: None,
            });
        }
        // The input is no longer needed: its memory goes before the output is written. The lock stays to the end.
        let OpenedFile {
            path,
            bytes: input,
            _lock: lock,
            ..
        } = self;
        drop(input);
        let written =
            write_atomic_with(output.unwrap_or(path.as_path()), &bytes, options, &NoFaults)?;
        drop(lock);
        notes.extend(written.notes);
        Ok(Rewritten {
            outcome: Outcome::Written,
            notes,
            unsynced_folder: written.unsynced_folder,
        })
    }

    /// Set `record` (its content ids filled in by the caller) with the mirrors `edit` asks for, derived from the
    /// record itself (no JSON round trip), and write the file.
    pub fn write_record(
        self,
        output: Option<&Path>,
        record: &Record,
        json: String,
        edit: &Edit,
        limits: &Limits,
        options: &WriteOptions,
    ) -> Result<Rewritten> {
        let edit = Edit {
            record: crate::handler::RecordChange::Set(json),
            ..edit.clone()
        };
        let mirrors = Mirrors::from_record(record, &edit);
        self.write(output, &edit, &mirrors, limits, options)
    }
}

/// The stored pixel id when the stored data id is this file's.
fn reusable_pixels(stored: &ContentIds, data: &str) -> Option<String> {
    if stored.data.as_deref() == Some(data) {
        stored.pixels.clone()
    } else {
        None
    }
}
