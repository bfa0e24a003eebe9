use stemma_container::{Entry, Limits, Metadata};

use crate::FolderContext;

/// What importers see of a file: its decoded metadata entries, its name, the folder it is in (for the files
/// beside it) and the limits to read within. Never a file handle.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    pub metadata: &'a Metadata,
    /// The file name (no folder), for dialects that keep information in it.
    pub file_name: Option<&'a str>,
    /// The whole file, when the caller has it in memory (needed only for pixel-level dialects such as stealth
    /// pnginfo).
    pub file: Option<&'a [u8]>,
    /// The folder the file is in: the names of the files beside it and their text, read on demand.
    pub folder: Option<&'a FolderContext>,
    /// The caller's limits; every importer reads within them.
    pub limits: Limits,
}

impl<'a> Evidence<'a> {
    /// Evidence from metadata alone, read within the default limits.
    pub fn new(metadata: &'a Metadata) -> Self {
        Evidence {
            metadata,
            file_name: None,
            file: None,
            folder: None,
            limits: Limits::DEFAULT,
        }
    }

    /// The same evidence with the file's name.
    pub fn with_file_name(mut self, file_name: Option<&'a str>) -> Self {
        self.file_name = file_name;
        self
    }

    /// The same evidence with the whole file.
    pub fn with_file(mut self, file: Option<&'a [u8]>) -> Self {
        self.file = file;
        self
    }

    /// The same evidence with the folder the file is in.
    pub fn with_folder(mut self, folder: Option<&'a FolderContext>) -> Self {
        self.folder = folder;
        self
    }

    /// The same evidence read within `limits`.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> impl Iterator<Item = &'a Entry> {
        self.metadata.entries.iter()
    }

    /// The first text entry with this key, from any origin.
    pub fn text(&self, key: &str) -> Option<&'a str> {
        self.entries()
            .filter(|e| e.key == key)
            .find_map(|e| e.value.as_text())
    }

    /// The first text entry with this key from an origin that starts with `origin_prefix` (`png:`, `exif`).
    pub fn text_from(&self, origin_prefix: &str, key: &str) -> Option<&'a Entry> {
        self.entries().find(|e| {
            e.key == key && e.origin.starts_with(origin_prefix) && e.value.as_text().is_some()
        })
    }
}
