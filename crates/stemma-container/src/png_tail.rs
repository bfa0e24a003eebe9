//! What follows a PNG's image data, read from the end of the file instead of walking every IDAT header.
//!
//! A generator's PNG holds tens to hundreds of IDAT chunks (64 KiB each from Pillow, 8 KiB from libpng), and
//! walking their headers costs a read each. The chunks after the image data are found instead from the file's
//! last bytes: the file must end with IEND, and the chunks before it are found backwards (a chunk ends where the
//! next one begins, which its length field says), each with a valid type and a matching CRC, until the image
//! data is reached. Where the image data ends is confirmed where the IDAT run predicts it: encoders cut the zlib
//! stream into chunks of one size (all but the last), so the last IDAT starts at `first + k × (length + 12)`, and
//! its header must say IDAT with the length that ends where the chunks after it begin.
//!
//! Anything else (bytes after IEND, a bad CRC, IDAT chunks of varying sizes, a critical chunk after the image
//! data, a chunk that starts before the largest tail read) answers `None`, and the caller walks the chunks one by
//! one as before, which reports what is wrong. The IDAT chunks between the first and the last are counted (for
//! [`Limits::max_chunks`]) but not read: the specification requires them to be consecutive, and a reader of
//! metadata has nothing to take from them (writers parse every chunk before they write).

use crate::error::Result;
use crate::limits::Limits;
use crate::png::{ChunkType, ACTL, FCTL, FDAT, IDAT};
use crate::source::Source;

/// The first tail read: the last page or two of the file.
const FIRST_TAIL: u64 = 4096;
/// The second and last tail read, made only when chunks after the image data were found and one of them starts
/// before the first read (a large text after IDAT); anything reaching further back is found by the walk.
const MAX_TAIL: u64 = 64 * 1024;
const PAGE: u64 = 4096;
/// The IEND chunk, as every encoder writes it (empty, with its fixed CRC).
const IEND_CHUNK: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];

/// One chunk found after the image data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TailChunk {
    pub kind: ChunkType,
    /// Offset of the length field.
    pub offset: u64,
    /// Data length.
    pub len: u64,
}

/// The end of a PNG: the last IDAT, the chunks after it and IEND.
#[derive(Debug)]
pub(crate) struct Tail {
    /// The last IDAT chunk (offset, data length) when it is not the first.
    pub last_idat: Option<(u64, u64)>,
    /// How many IDAT chunks the run holds after the first (the last included).
    pub more_idats: u64,
    /// The chunks between the image data and IEND, in file order.
    pub chunks: Vec<TailChunk>,
    /// Offset of IEND.
    pub iend: u64,
    bytes: Vec<u8>,
    start: u64,
}

impl Tail {
    /// A chunk's type, data and CRC (the bytes a CRC check and a text decoder need).
    pub fn chunk_bytes(&self, chunk: &TailChunk) -> &[u8] {
        let from = usize::try_from(chunk.offset + 4 - self.start).unwrap_or(usize::MAX);
        let to = usize::try_from(chunk.offset + 12 + chunk.len - self.start).unwrap_or(usize::MAX);
        self.bytes.get(from..to).unwrap_or(&[])
    }
}

/// The first IDAT of a file: where it starts and its data length.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FirstIdat {
    pub offset: u64,
    pub len: u64,
}

impl FirstIdat {
    fn end(self) -> u64 {
        self.offset + 12 + self.len
    }
}

/// Read the end of `source` (see the module documentation). `walked` counts the chunks up to the first IDAT
/// included. `None`: the tail does not parse this way; walk the chunks instead.
pub(crate) fn read_tail(
    source: &dyn Source,
    first: FirstIdat,
    walked: u64,
    limits: &Limits,
) -> Result<Option<Tail>> {
    let file_len = source.len();
    let image_end = first.end();
    if file_len < image_end + 12 {
        return Ok(None);
    }
    let mut want = FIRST_TAIL;
    loop {
        // Whole pages (a read that ends mid-page costs as much as one to its end), never before the first IDAT's end.
        let start = file_len
            .saturating_sub(want)
            .div_euclid(PAGE)
            .saturating_mul(PAGE)
            .max(image_end);
        let mut bytes = vec![0; usize::try_from(file_len - start).unwrap_or(0)];
        let got = source.read_at(start, &mut bytes)?;
        if got != bytes.len() {
            return Ok(None);
        }
        let mut tail = Tail {
            last_idat: None,
            more_idats: 0,
            chunks: Vec::new(),
            iend: file_len - 12,
            bytes,
            start,
        };
        match tail.parse(source, first, walked, limits)? {
            Parsed::Done => return Ok(Some(tail)),
            Parsed::No => return Ok(None),
            Parsed::NeedsMore { found_some }
                if found_some && start > image_end && want < MAX_TAIL =>
            {
                want = MAX_TAIL;
            }
            // A chunk before the tail and nothing after the image data found: most likely IDAT chunks of
            // varying sizes, which only the walk can follow.
            Parsed::NeedsMore { .. } => return Ok(None),
        }
    }
}

enum Parsed {
    Done,
    /// A chunk starts before the bytes read; `found_some`: chunks after the image data were found.
    NeedsMore {
        found_some: bool,
    },
    No,
}

impl Tail {
    fn byte_range(&self, offset: u64, n: u64) -> Option<&[u8]> {
        let from = usize::try_from(offset.checked_sub(self.start)?).ok()?;
        let to = from.checked_add(usize::try_from(n).ok()?)?;
        self.bytes.get(from..to)
    }

    fn parse(
        &mut self,
        source: &dyn Source,
        first: FirstIdat,
        walked: u64,
        limits: &Limits,
    ) -> Result<Parsed> {
        if self.byte_range(self.iend, 12) != Some(&IEND_CHUNK[..]) {
            return Ok(Parsed::No); // bytes after IEND, or a damaged end: the walk says which
        }
        let image_end = first.end();
        let stride = first.len + 12;
        // Chunks found backwards, IEND's start first.
        let mut boundary = self.iend;
        let mut found: Vec<TailChunk> = Vec::new();
        loop {
            if boundary == image_end {
                break; // the first IDAT is the only one
            }
            // The last IDAT, where the run of equal chunks puts it.
            let k = (boundary - 12 - first.offset) / stride;
            let at = first.offset + k * stride;
            if k > 0 && at + 12 <= boundary {
                let mut header = [0u8; 8];
                let header = match self.byte_range(at, 8) {
                    Some(h) => h,
                    None => {
                        if source.read_at(at, &mut header)? != 8 {
                            return Ok(Parsed::No);
                        }
                        &header[..]
                    }
                };
                let len = u64::from(u32::from_be_bytes([
                    header[0], header[1], header[2], header[3],
                ]));
                if header[4..8] == IDAT.0 && at + 12 + len == boundary && len <= first.len {
                    self.last_idat = Some((at, len));
                    self.more_idats = k;
                    break;
                }
            }
            // Else a chunk after the image data ends here.
            match self.chunk_ending_at(boundary) {
                Found::Chunk(chunk) => {
                    let frame_chunk = [ACTL, FCTL, FDAT].contains(&chunk.kind);
                    if !chunk.kind.is_ancillary() || frame_chunk || chunk.offset < image_end {
                        return Ok(Parsed::No); // IDAT runs of varying sizes, APNG frames, critical chunks
                    }
                    limits.check_chunk_count(walked + found.len() as u64, "chunk", chunk.offset)?;
                    boundary = chunk.offset;
                    found.push(chunk);
                }
                Found::BeforeStart => {
                    return Ok(Parsed::NeedsMore {
                        found_some: !found.is_empty(),
                    })
                }
                Found::BadCrc => return Ok(Parsed::No),
            }
        }
        limits.check_chunk_count(
            walked + self.more_idats + found.len() as u64,
            "chunk",
            self.iend,
        )?;
        found.reverse();
        self.chunks = found;
        Ok(Parsed::Done)
    }

    /// The chunk that ends at `boundary`: the nearest start whose length field reaches it, with a valid type and
    /// a matching CRC.
    fn chunk_ending_at(&self, boundary: u64) -> Found {
        let Some(mut p) = boundary.checked_sub(12) else {
            return Found::BeforeStart;
        };
        while p >= self.start {
            if let Some(h) = self.byte_range(p, 8) {
                let len = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
                let kind = ChunkType([h[4], h[5], h[6], h[7]]);
                if p + 12 + len == boundary && kind.0.iter().all(u8::is_ascii_alphabetic) {
                    let chunk = TailChunk {
                        kind,
                        offset: p,
                        len,
                    };
                    let bytes = self.chunk_bytes(&chunk);
                    let (body, crc) = bytes.split_at(bytes.len().saturating_sub(4));
                    let stored = u32::from_be_bytes(crc.try_into().unwrap_or([0; 4]));
                    return if crc32fast::hash(body) == stored {
                        Found::Chunk(chunk)
                    } else {
                        Found::BadCrc
                    };
                }
            }
            if p == 0 {
                break;
            }
            p -= 1;
        }
        Found::BeforeStart
    }
}

enum Found {
    Chunk(TailChunk),
    BeforeStart,
    BadCrc,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use proptest::prelude::*;

    use crate::detect::PNG_SIGNATURE;
    use crate::limits::Limits;
    use crate::metadata::Metadata;
    use crate::png::{encode_chunk, ChunkType, IDAT, IEND, IHDR, TEXT, ZTXT};
    use crate::text::deflate;

    /// A PNG whose image data is cut into IDAT chunks of these sizes (their bytes are never read as pixels by a
    /// scan), with `after` chunks after the image data and `trailer` after IEND.
    fn png(idat_sizes: &[usize], after: &[Vec<u8>], trailer: &[u8]) -> Vec<u8> {
        let mut out = PNG_SIGNATURE.to_vec();
        out.extend(encode_chunk(IHDR, &[0, 0, 1, 0, 0, 0, 1, 0, 8, 2, 0, 0, 0]));
        out.extend(encode_chunk(TEXT, b"Software\0test"));
        for (i, size) in idat_sizes.iter().enumerate() {
            let data: Vec<u8> = (0..*size).map(|j| (i * 31 + j * 7) as u8).collect();
            out.extend(encode_chunk(IDAT, &data));
        }
        for chunk in after {
            out.extend_from_slice(chunk);
        }
        out.extend(encode_chunk(IEND, b""));
        out.extend_from_slice(trailer);
        out
    }

    fn text(key: &str, value: &str) -> Vec<u8> {
        encode_chunk(TEXT, format!("{key}\0{value}").as_bytes())
    }

    fn ztext(key: &str, value: &str) -> Vec<u8> {
        let mut data = format!("{key}\0\0").into_bytes();
        data.extend(deflate(value.as_bytes()));
        encode_chunk(ZTXT, &data)
    }

    fn scan(file: &[u8]) -> Metadata {
        crate::ops::scan_source(&file, &Limits::DEFAULT).unwrap()
    }

    fn kinds(meta: &Metadata) -> Vec<&str> {
        meta.blocks.iter().map(|b| b.kind.as_str()).collect()
    }

    fn idat_count(meta: &Metadata) -> usize {
        meta.blocks.iter().filter(|b| b.kind == "IDAT").count()
    }

    /// The same file scanned by the chunk walk: bytes after IEND make the tail unparsable.
    fn walked(file: &[u8]) -> Metadata {
        let mut forced = file.to_vec();
        forced.extend_from_slice(b"x");
        let mut meta = scan(&forced);
        meta.warnings.retain(|w| !w.contains("after IEND"));
        meta
    }

    #[test]
    fn text_after_the_image_data_is_read_from_the_tail() {
        let mut sizes = vec![1000; 30];
        sizes.push(300);
        let after = [
            text("date:create", "2025-01-01"),
            ztext("parameters", "a fox\nSteps: 20"),
        ];
        let file = png(&sizes, &after, b"");
        let meta = scan(&file);
        // The first and the last IDAT only: the 29 between them were not walked.
        assert_eq!(
            kinds(&meta),
            ["IHDR", "tEXt", "IDAT", "IDAT", "tEXt", "zTXt", "IEND"]
        );
        let late: Vec<(&str, &str)> = meta
            .entries
            .iter()
            .filter(|e| e.after_image_data)
            .map(|e| (e.key.as_str(), e.value.as_text().unwrap()))
            .collect();
        assert_eq!(
            late,
            [
                ("date:create", "2025-01-01"),
                ("parameters", "a fox\nSteps: 20")
            ]
        );
        assert!(meta.warnings.is_empty(), "{:?}", meta.warnings);
        let walk = walked(&file);
        assert_eq!(idat_count(&walk), 31);
        assert_eq!(meta.entries, walk.entries);
        // The blocks found both ways agree on offsets and sizes.
        let last = meta.blocks.iter().rev().find(|b| b.kind == "IDAT").unwrap();
        assert!(walk.blocks.contains(last));
        for block in meta.blocks.iter().filter(|b| b.kind != "IDAT") {
            assert!(walk.blocks.contains(block), "{block:?}");
        }
    }

    #[test]
    fn a_file_without_text_after_the_image_data_ends_at_its_last_idat() {
        for sizes in [
            vec![8192; 12],
            vec![65536, 65536, 17],
            vec![500],
            vec![0, 0, 0],
        ] {
            let file = png(&sizes, &[], b"");
            let meta = scan(&file);
            assert_eq!(meta.entries, walked(&file).entries);
            assert_eq!(meta.blocks.last().unwrap().kind, "IEND");
            assert!(idat_count(&meta) <= 2, "{sizes:?}");
            assert!(meta.warnings.is_empty(), "{:?}", meta.warnings);
        }
    }

    #[test]
    fn idat_chunks_of_varying_sizes_are_walked() {
        let sizes = [1000, 700, 1000, 1200, 90];
        let file = png(&sizes, &[text("parameters", "late")], b"");
        let meta = scan(&file);
        assert_eq!(idat_count(&meta), sizes.len());
        assert_eq!(meta.text("parameters"), Some("late"));
        assert_eq!(meta.entries, walked(&file).entries);
    }

    #[test]
    fn a_bad_crc_after_the_image_data_is_reported_as_the_walk_reports_it() {
        let mut bad = text("parameters", "late");
        let n = bad.len();
        bad[n - 1] ^= 0xff;
        let file = png(&[1000; 20], &[text("date:create", "x"), bad], b"");
        let meta = scan(&file);
        let offset = file.len() - 12 - n;
        assert!(
            meta.warnings
                .contains(&format!("bad CRC in tEXt chunk at offset {offset}")),
            "{:?}",
            meta.warnings
        );
        // As before, the text is still shown, and every IDAT was walked.
        assert_eq!(meta.text("parameters"), Some("late"));
        assert_eq!(idat_count(&meta), 20);
    }

    #[test]
    fn bytes_after_iend_are_reported_as_before() {
        let file = png(&[1000; 20], &[text("parameters", "late")], b"junk");
        let meta = scan(&file);
        assert!(meta
            .warnings
            .contains(&"4 bytes after IEND (kept on write)".to_string()));
        assert_eq!(meta.text("parameters"), Some("late"));
    }

    #[test]
    fn a_large_text_after_the_image_data_is_found_either_way() {
        let long = "a very long prompt, ".repeat(1000); // 20 KB: more than the first tail read
        let file = png(
            &[8192; 40],
            &[text("parameters", &long), text("date:create", "x")],
            b"",
        );
        let meta = scan(&file);
        assert_eq!(meta.text("parameters"), Some(long.as_str()));
        assert!(idat_count(&meta) <= 2); // the second tail read found it
                                         // Alone before IEND, and larger than any tail read: the walk finds it.
        let longer = long.repeat(5);
        let file = png(&[8192; 40], &[text("parameters", &longer)], b"");
        let meta = scan(&file);
        assert_eq!(meta.text("parameters"), Some(longer.as_str()));
        assert_eq!(meta.entries, walked(&file).entries);
    }

    #[test]
    fn idat_chunks_not_read_still_count_against_max_chunks() {
        let file = png(&[100; 30], &[], b"");
        let limits = Limits {
            max_chunks: 20,
            ..Limits::DEFAULT
        };
        let err = crate::ops::scan_source(&file.as_slice(), &limits).unwrap_err();
        assert!(err.to_string().contains("max_chunks"), "{err}");
    }

    #[test]
    fn a_critical_chunk_after_the_image_data_is_left_to_the_walk() {
        let odd = encode_chunk(ChunkType(*b"ABCD"), b"critical");
        let file = png(&[1000; 10], &[odd, text("parameters", "late")], b"");
        let meta = scan(&file);
        assert_eq!(idat_count(&meta), 10);
        assert_eq!(meta.text("parameters"), Some("late"));
    }

    fn after_chunk() -> impl Strategy<Value = Vec<u8>> {
        let key = "[A-Za-z][A-Za-z:]{0,12}";
        prop_oneof![
            (key, "[ -~]{0,300}").prop_map(|(k, v)| text(&k, &v)),
            (key, "[ -~]{0,3000}").prop_map(|(k, v)| ztext(&k, &v)),
            (
                "[a-z][a-z][A-Z][a-z]",
                proptest::collection::vec(any::<u8>(), 0..200)
            )
                .prop_map(|(k, v)| encode_chunk(ChunkType(k.as_bytes().try_into().unwrap()), &v)),
        ]
    }

    proptest! {
        /// Whatever follows the image data, reading the tail finds what the walk finds.
        #[test]
        fn the_tail_and_the_walk_agree(
            count in 1usize..40,
            size in 0usize..9000,
            last in 0usize..9000,
            after in proptest::collection::vec(after_chunk(), 0..5),
        ) {
            let mut sizes = vec![size; count];
            sizes.push(last.min(size));
            let file = png(&sizes, &after, b"");
            let meta = scan(&file);
            let walk = walked(&file);
            prop_assert_eq!(&meta.entries, &walk.entries);
            prop_assert_eq!(&meta.warnings, &walk.warnings);
            prop_assert_eq!(meta.blocks.last(), walk.blocks.last());
        }
    }
}
