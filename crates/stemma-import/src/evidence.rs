use stemma_container::{Entry, Metadata};

/// What importers see of a file: its decoded metadata entries and its name. Never a file handle.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    pub metadata: &'a Metadata,
    /// The file name (no folder), for dialects that keep information in it.
    pub file_name: Option<&'a str>,
    /// The whole file, when the caller has it in memory (needed only for pixel-level dialects such as stealth
    /// pnginfo).
    pub file: Option<&'a [u8]>,
}

impl<'a> Evidence<'a> {
    /// Evidence from metadata alone.
    pub fn new(metadata: &'a Metadata) -> Self {
        Evidence {
            metadata,
            file_name: None,
            file: None,
        }
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
