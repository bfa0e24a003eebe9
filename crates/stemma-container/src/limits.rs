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
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
