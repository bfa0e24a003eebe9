#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Properties of the PNG handler over generated files: stamping keeps every other byte, stripping restores the
//! original, and no input — truncated, corrupted or random — makes it panic.

use proptest::prelude::*;
use stemma_container::png::{encode_chunk, parse_chunks, ChunkType, PngHandler};
use stemma_container::{ContainerHandler, Edit, Limits, RecordChange, StripProfile};

fn base_png(before: &[Vec<u8>], after: &[Vec<u8>], trailer: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(encode_chunk(
        ChunkType(*b"IHDR"),
        &[0, 0, 0, 2, 0, 0, 0, 1, 8, 0, 0, 0, 0],
    ));
    for c in before {
        out.extend_from_slice(c);
    }
    // Two grey pixels, filter 0, stored (uncompressed) deflate block.
    out.extend(encode_chunk(
        ChunkType(*b"IDAT"),
        &[
            0x78, 0x01, 0x01, 0x03, 0x00, 0xfc, 0xff, 0x00, 0x10, 0x20, 0x00, 0x43, 0x00, 0x31,
        ],
    ));
    for c in after {
        out.extend_from_slice(c);
    }
    out.extend(encode_chunk(ChunkType(*b"IEND"), b""));
    out.extend_from_slice(trailer);
    out
}

fn ancillary_chunk() -> impl Strategy<Value = Vec<u8>> {
    let text = (
        "[A-Za-z][A-Za-z ]{0,20}",
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(k, v)| {
            let mut data = k.trim_end().as_bytes().to_vec();
            data.push(0);
            data.extend(v.into_iter().filter(|b| *b != 0));
            encode_chunk(ChunkType(*b"tEXt"), &data)
        });
    let private = (
        "[a-z][a-z][A-Z][a-z]",
        proptest::collection::vec(any::<u8>(), 0..100),
    )
        .prop_map(|(k, v)| encode_chunk(ChunkType(k.as_bytes().try_into().unwrap()), &v));
    prop_oneof![text, private]
}

fn no_mirrors(record: RecordChange, strip: Option<StripProfile>) -> Edit {
    Edit {
        record,
        strip,
        xmp_mirrors: false,
        ..Edit::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn stamp_then_strip_restores_every_byte(
        before in proptest::collection::vec(ancillary_chunk(), 0..5),
        after in proptest::collection::vec(ancillary_chunk(), 0..5),
        trailer in proptest::collection::vec(any::<u8>(), 0..20),
        prompt in "\\PC{0,200}",
    ) {
        let limits = Limits::default();
        let original = base_png(&before, &after, &trailer);
        let record = serde_json::json!({"stemma": "1.0", "prompt": {"positive": prompt}}).to_string();
        let stamped = PngHandler.edit(&original, &no_mirrors(RecordChange::Set(record.clone()), None), &limits).unwrap();
        let source: &dyn stemma_container::source::Source = &stamped.as_slice();
        let meta = PngHandler.scan(source, &limits).unwrap();
        prop_assert_eq!(meta.record_json.as_deref(), Some(record.as_str()));
        // Every original chunk, in order, byte-identical.
        let old = parse_chunks(&original, &limits, true).unwrap();
        let new = parse_chunks(&stamped, &limits, true).unwrap();
        let new_others: Vec<&[u8]> = new.chunks.iter()
            .filter(|c| !(c.kind.0 == *b"iTXt" && c.data(&stamped).starts_with(b"stemma\0")))
            .map(|c| &stamped[c.start..c.end]).collect();
        let old_all: Vec<&[u8]> = old.chunks.iter().map(|c| &original[c.start..c.end]).collect();
        prop_assert_eq!(new_others, old_all);
        // Restamping is idempotent, and stripping stemma's chunk gives back the original.
        let again = PngHandler.edit(&stamped, &no_mirrors(RecordChange::Set(record), None), &limits).unwrap();
        prop_assert_eq!(&again, &stamped);
        let stripped = PngHandler.edit(&stamped, &no_mirrors(RecordChange::Remove, Some(StripProfile::Stemma)), &limits).unwrap();
        prop_assert_eq!(stripped, original);
    }

    #[test]
    fn damaged_files_give_errors_not_panics(
        cut in 0usize..400,
        flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..4),
    ) {
        let limits = Limits::default();
        let mut bytes = base_png(&[encode_chunk(ChunkType(*b"tEXt"), b"parameters\0steps: 20")], &[], b"");
        for (at, value) in flips {
            if let Some(b) = bytes.get_mut(at) { *b ^= value; }
        }
        bytes.truncate(cut.min(bytes.len()));
        let source: &dyn stemma_container::source::Source = &bytes.as_slice();
        let _ = PngHandler.scan(source, &limits);
        let _ = PngHandler.check(&bytes, &limits);
        let _ = PngHandler.data_id(&bytes, &limits);
        let _ = PngHandler.edit(&bytes, &Edit::set_record("{}".into()), &limits);
    }

    #[test]
    fn random_bytes_after_the_signature_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let limits = Limits::default();
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend(tail);
        let source: &dyn stemma_container::source::Source = &bytes.as_slice();
        let _ = PngHandler.scan(source, &limits);
        let _ = PngHandler.edit(&bytes, &Edit::set_record("{}".into()), &limits);
    }
}

#[test]
fn strip_all_keeps_colour_and_image_chunks_and_drops_the_rest() {
    let limits = Limits::default();
    let srgb = encode_chunk(ChunkType(*b"sRGB"), &[0]);
    let text = encode_chunk(ChunkType(*b"tEXt"), b"parameters\0secret");
    let private = encode_chunk(ChunkType(*b"prVt"), b"anything");
    let time = encode_chunk(ChunkType(*b"tIME"), &[7, 234, 11, 25, 20, 15, 0]);
    let original = base_png(&[srgb.clone(), text], &[private, time], b"");
    let stripped = PngHandler
        .edit(&original, &Edit::strip(StripProfile::All), &limits)
        .unwrap();
    assert_eq!(stripped, base_png(&[srgb], &[], b""));
}
