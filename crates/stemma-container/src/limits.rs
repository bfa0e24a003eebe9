use crate::error::{Error, Result};

/// Resource limits for reading untrusted files. Every limit is named, and errors quote the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most chunks (PNG), segments (JPEG) or RIFF chunks walked in one file.
    pub max_chunks: u64,
    /// Largest metadata chunk read into memory (text, EXIF, XMP), compressed size.
    pub max_metadata_chunk: u64,
    /// Largest decompressed text of one zTXt/iTXt chunk.
    pub max_text_decompressed: u64,
    /// Most text decompressed from one file in total.
    pub max_total_text: u64,
    /// Largest stemma record (decompressed JSON).
    pub max_record: u64,
    /// Largest file that is edited in memory.
    pub max_edit_file: u64,
    /// Deepest XML element nesting accepted in XMP.
    pub max_xml_depth: u64,
    /// Most pixels decoded for a pixel id (width × height).
    pub max_pixels: u64,
    /// Deepest nesting of container structures followed (video boxes, EBML elements, nested Matroska tags).
    pub max_depth: u64,
}

impl Limits {
    /// The defaults: generous for real AI images (ComfyUI graphs of several MiB), small enough to stop bombs.
    pub const DEFAULT: Limits = Limits {
        max_chunks: 1_000_000,
        max_metadata_chunk: 64 * 1024 * 1024,
        max_text_decompressed: 16 * 1024 * 1024,
        max_total_text: 64 * 1024 * 1024,
        max_record: 16 * 1024 * 1024,
        max_edit_file: 2 * 1024 * 1024 * 1024,
        max_xml_depth: 64,
        max_pixels: 268_435_456,
        max_depth: 32,
    };
}

impl Limits {
    /// An error when walking one more chunk (segment, box, block) would exceed `max_chunks`; `walked` counts the
    /// ones walked before it, `what` and `offset` name it in the message.
    pub fn check_chunk_count(
        &self,
        walked: u64,
        what: &str,
        offset: impl std::fmt::Display,
    ) -> Result<()> {
        if walked >= self.max_chunks {
            return Err(Error::Limit {
                limit: "max_chunks",
                max: self.max_chunks,
                found: walked.saturating_add(1),
                context: format!("{what} at offset {offset}"),
            });
        }
        Ok(())
    }
}

impl Limits {
    /// An error when descending into one more level of nesting would exceed `max_depth`.
    pub fn check_depth(&self, depth: u64, what: &str, offset: u64) -> Result<()> {
        if depth > self.max_depth {
            return Err(Error::Limit {
                limit: "max_depth",
                max: self.max_depth,
                found: depth,
                context: format!("{what} at offset {offset}"),
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_count_limit_names_itself_and_the_place() {
        let limits = Limits {
            max_chunks: 3,
            ..Limits::DEFAULT
        };
        assert!(limits.check_chunk_count(2, "chunk", 40).is_ok());
        let err = limits
            .check_chunk_count(3, "chunk", 40)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("max_chunks") && err.contains("chunk at offset 40"),
            "{err}"
        );
    }

    #[test]
    fn a_png_with_more_chunks_than_allowed_is_refused() {
        let mut png = crate::detect::PNG_SIGNATURE.to_vec();
        png.extend(crate::png::encode_chunk(
            crate::png::IHDR,
            &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0],
        ));
        for _ in 0..5 {
            png.extend(crate::png::encode_chunk(crate::png::TEXT, b"k\0v"));
        }
        png.extend(crate::png::encode_chunk(crate::png::IDAT, &[]));
        png.extend(crate::png::encode_chunk(crate::png::IEND, &[]));
        let limits = Limits {
            max_chunks: 4,
            ..Limits::DEFAULT
        };
        let source: &dyn crate::source::Source = &png.as_slice();
        let err = crate::ops::scan_source(source, &limits)
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_chunks"), "{err}");
        assert!(crate::png::parse_chunks(&png, &limits, true).is_err());
    }
}
