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
    /// ISO BMFF video: MP4, M4V, 3GP (any `ftyp` brand of the MP4 family).
    Mp4,
    /// QuickTime movie (`ftyp qt  `, or an old movie without `ftyp`).
    Mov,
    /// Matroska and WebM (EBML, DocType `matroska` or `webm`).
    Matroska,
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
            Format::Mp4 => "mp4",
            Format::Mov => "mov",
            Format::Matroska => "matroska",
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
            // MP4 and QuickTime are read by the same readers; a `.mov` holding an MP4 is not a lie.
            Format::Mp4 | Format::Mov => &["mp4", "m4v", "mov", "qt", "3gp", "3g2", "m4a"],
            Format::Matroska => &["mkv", "webm", "mka", "mk3d"],
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
            Format::Mp4,
            Format::Matroska,
        ];
        known.iter().any(|f| f.extensions().contains(&ext.as_str()))
            && !self.extensions().contains(&ext.as_str())
    }
}

/// PNG file signature.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// The EBML header ID that starts every Matroska/WebM file.
pub const EBML_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];

/// Major brands of MP4-family video files (ISO/IEC 14496-12/14/15, 3GPP, Apple, Adobe, DASH).
const MP4_BRANDS: &[&[u8]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
    b"mp42", b"mp71", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"M4A ", b"M4B ", b"f4v ", b"f4p ",
    b"dash", b"msnv", b"MSNV", b"mmp4", b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3gp8", b"3gp9",
    b"3g2a", b"3g2b", b"3g2c", b"XAVC", b"av01", b"cmfc",
];

/// First boxes of QuickTime movies written without `ftyp` (pre-2001 QuickTime).
const QUICKTIME_FIRST_BOXES: &[&[u8]] = &[b"moov", b"mdat", b"wide", b"pnot"];

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
            b"qt  " => Format::Mov,
            brand if MP4_BRANDS.contains(&brand) => Format::Mp4,
            _ => Format::Unknown,
        }
    } else if head.len() >= 8 && QUICKTIME_FIRST_BOXES.contains(&&head[4..8]) {
        Format::Mov
    } else if head.starts_with(&EBML_MAGIC) {
        Format::Matroska
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
        assert_eq!(sniff(b"\0\0\0\x20ftypisom\0\0\x02\0"), Format::Mp4);
        assert_eq!(sniff(b"\0\0\0\x14ftypqt  \0\0\x02\0"), Format::Mov);
        assert_eq!(sniff(b"\0\0\0\x08wide\0\0\0\x10mdat"), Format::Mov);
        assert_eq!(sniff(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]), Format::Matroska);
        assert_eq!(sniff(b"\0\0\0\x14ftypcrx \0\0\0\0"), Format::Unknown);
        assert_eq!(sniff(b"hello"), Format::Unknown);
        assert_eq!(sniff(b""), Format::Unknown);
    }

    #[test]
    fn extension_mismatch_is_reported_only_for_other_known_formats() {
        assert!(Format::Png.extension_mismatch("a.JPG"));
        assert!(!Format::Png.extension_mismatch("a.png"));
        assert!(!Format::Png.extension_mismatch("a.bin"));
        assert!(!Format::Jpeg.extension_mismatch("a.jpeg"));
        assert!(!Format::Mp4.extension_mismatch("a.mov"));
        assert!(Format::Mp4.extension_mismatch("a.webm"));
        assert!(!Format::Matroska.extension_mismatch("a.webm"));
    }
}
