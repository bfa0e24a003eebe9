//! Format detection by magic bytes, never by file extension.

use serde::Serialize;

/// A container format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Png,
    Jpeg,
    Webp,
    Gif,
    Avif,
    Heif,
    #[default]
    Unknown,
}

impl Format {
    /// Lower-case name (`png`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpeg",
            Format::Webp => "webp",
            Format::Gif => "gif",
            Format::Avif => "avif",
            Format::Heif => "heif",
            Format::Unknown => "unknown",
        }
    }

    /// File extensions that name this format.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Png => &["png", "apng"],
            Format::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            Format::Webp => &["webp"],
            Format::Gif => &["gif"],
            Format::Avif => &["avif"],
            Format::Heif => &["heic", "heif"],
            Format::Unknown => &[],
        }
    }

    /// True when a file named `name` has an extension of another known format than this one
    /// (a PNG named `.jpg`). Unknown extensions are not a mismatch.
    pub fn extension_mismatch(self, name: &str) -> bool {
        let Some((_, ext)) = name.rsplit_once('.') else {
            return false;
        };
        let ext = ext.to_ascii_lowercase();
        let known = [
            Format::Png,
            Format::Jpeg,
            Format::Webp,
            Format::Gif,
            Format::Avif,
            Format::Heif,
        ];
        known.iter().any(|f| f.extensions().contains(&ext.as_str()))
            && !self.extensions().contains(&ext.as_str())
    }
}

/// PNG file signature.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Detect the format from the first bytes of a file (16 are enough).
pub fn sniff(head: &[u8]) -> Format {
    if head.starts_with(&PNG_SIGNATURE) {
        Format::Png
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Format::Jpeg
    } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Format::Webp
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Format::Gif
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        match &head[8..12] {
            b"avif" | b"avis" => Format::Avif,
            b"heic" | b"heix" | b"mif1" | b"msf1" | b"heim" | b"heis" | b"hevc" | b"hevx" => {
                Format::Heif
            }
            _ => Format::Unknown,
        }
    } else {
        Format::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(&PNG_SIGNATURE), Format::Png);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Format::Jpeg);
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Format::Webp);
        assert_eq!(sniff(b"GIF89a...."), Format::Gif);
        assert_eq!(sniff(b"\0\0\0\x1cftypavif"), Format::Avif);
        assert_eq!(sniff(b"hello"), Format::Unknown);
        assert_eq!(sniff(b""), Format::Unknown);
    }

    #[test]
    fn extension_mismatch_is_reported_only_for_other_known_formats() {
        assert!(Format::Png.extension_mismatch("a.JPG"));
        assert!(!Format::Png.extension_mismatch("a.png"));
        assert!(!Format::Png.extension_mismatch("a.bin"));
        assert!(!Format::Jpeg.extension_mismatch("a.jpeg"));
    }
}
