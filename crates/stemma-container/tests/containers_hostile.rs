#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hostile and malformed input: XMP bombs, random bytes, and the read-only AVIF/HEIF handler.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbaImage};
use proptest::prelude::*;
use stemma_container::handler::handler_for;
use stemma_container::source::Source;
use stemma_container::{jpeg, Edit, Error, Format, Limits, StripProfile, HANDLERS};

fn encode(format: ImageFormat) -> Vec<u8> {
    let img = DynamicImage::ImageRgba8(RgbaImage::from_pixel(4, 4, image::Rgba([1, 2, 3, 255])));
    let img = if format == ImageFormat::Jpeg {
        DynamicImage::ImageRgb8(img.to_rgb8())
    } else {
        img
    };
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn jpeg_with_xmp(packet: &str) -> Vec<u8> {
    let plain = encode(ImageFormat::Jpeg);
    let mut payload = jpeg::XMP_SIG.to_vec();
    payload.extend_from_slice(packet.as_bytes());
    let mut file = plain[..2].to_vec();
    file.extend_from_slice(&[0xFF, 0xE1]);
    file.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    file.extend_from_slice(&payload);
    file.extend_from_slice(&plain[2..]);
    file
}

const LAUGHS: &str = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:stemma="https://w3id.org/stemma/ns/1.0/"><stemma:record>&lol2;</stemma:record></rdf:Description></rdf:RDF></x:xmpmeta>"#;
const XXE: &str = r#"<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:stemma="https://w3id.org/stemma/ns/1.0/"><stemma:record>&xxe;</stemma:record></rdf:Description></rdf:RDF></x:xmpmeta>"#;

#[test]
fn hostile_xmp_in_a_file_is_rejected_with_a_warning() {
    let deep = format!(
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">{}{}</x:xmpmeta>",
        "<a>".repeat(200),
        "</a>".repeat(200)
    );
    let h = handler_for(Format::Jpeg).unwrap();
    for packet in [LAUGHS, XXE, deep.as_str()] {
        let file = jpeg_with_xmp(packet);
        let source: &dyn Source = &file;
        let meta = h.scan(source, &Limits::DEFAULT).unwrap();
        assert!(meta.record_json.is_none());
        assert!(
            meta.warnings
                .iter()
                .any(|w| w.contains("DOCTYPE") || w.contains("max_xml_depth")),
            "{:?}",
            meta.warnings
        );
        // Writing into such a packet is refused with the same reason, not a panic.
        let err = h
            .edit(
                &file,
                &Edit::set_record("{\"stemma\":\"1.0\"}".into()),
                &Limits::DEFAULT,
            )
            .unwrap_err();
        assert!(
            matches!(err, Error::Malformed { .. } | Error::Limit { .. }),
            "{err}"
        );
        // Stripping everything still works.
        assert!(h
            .edit(&file, &Edit::strip(StripProfile::All), &Limits::DEFAULT)
            .is_ok());
    }
}

fn fixtures() -> Vec<Vec<u8>> {
    let record = Edit::set_record(
        r#"{"stemma":"1.0","prompt":{"positive":"p","negative":"n"},"params":{"seed":"1"}}"#.into(),
    );
    let mut out = vec![avif_fixture()];
    for (fmt, f) in [
        (Format::Png, ImageFormat::Png),
        (Format::Jpeg, ImageFormat::Jpeg),
        (Format::Webp, ImageFormat::WebP),
        (Format::Gif, ImageFormat::Gif),
    ] {
        let plain = encode(f);
        let stamped = handler_for(fmt)
            .unwrap()
            .edit(&plain, &record, &Limits::DEFAULT)
            .unwrap();
        out.push(plain);
        out.push(stamped);
    }
    out
}

fn exercise(bytes: &[u8]) {
    let l = Limits::DEFAULT;
    let source: &dyn Source = &bytes;
    for h in HANDLERS {
        let _ = h.scan(source, &l);
        let _ = h.data_id(bytes, &l);
        let _ = h.check(bytes, &l);
        let _ = h.edit(bytes, &Edit::set_record("{\"stemma\":\"1.0\"}".into()), &l);
        let _ = h.edit(bytes, &Edit::strip(StripProfile::Stemma), &l);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(which in 0usize..9, cut in 0usize..4096, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8)) {
        let all = fixtures();
        let mut f = all[which % all.len()].clone();
        for (at, v) in flips {
            if !f.is_empty() {
                let n = f.len();
                f[at % n] = v;
            }
        }
        f.truncate(cut.min(f.len()));
        exercise(&f);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// AVIF / HEIF

fn full_box(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![version, 0, 0, 0];
    b.extend_from_slice(body);
    plain_box(kind, &b)
}

fn plain_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

fn infe(id: u16, kind: &[u8; 4], content_type: Option<&str>) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec();
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(kind);
    b.push(0);
    if let Some(ct) = content_type {
        b.extend_from_slice(ct.as_bytes());
        b.push(0);
    }
    full_box(b"infe", 2, &b)
}

const AVIF_XMP: &str = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">an avif duck</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>"#;

fn avif_fixture() -> Vec<u8> {
    let coded = b"\x12\x00\x0a\x0bAV1-DATA".to_vec();
    let mut exif = vec![0, 0, 0, 6];
    exif.extend_from_slice(b"Exif\0\0");
    exif.extend_from_slice(&stemma_container::exif::build(&[
        stemma_container::exif::TextTag::UserComment("Steps: 20, Seed: 1".into()),
    ]));
    let items: Vec<(u16, Vec<u8>)> = vec![(1, coded), (2, exif), (3, AVIF_XMP.as_bytes().to_vec())];
    let ftyp = plain_box(b"ftyp", b"avif\0\0\0\0avifmif1");
    let build_meta = |mdat_data_start: u32| {
        let hdlr = full_box(b"hdlr", 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let pitm = full_box(b"pitm", 0, &1u16.to_be_bytes());
        let mut iinf_body = 3u16.to_be_bytes().to_vec();
        iinf_body.extend(infe(1, b"av01", None));
        iinf_body.extend(infe(2, b"Exif", None));
        iinf_body.extend(infe(3, b"mime", Some("application/rdf+xml")));
        let iinf = full_box(b"iinf", 0, &iinf_body);
        let mut iloc_body = vec![0x44, 0x00];
        iloc_body.extend_from_slice(&(items.len() as u16).to_be_bytes());
        let mut at = mdat_data_start;
        for (id, data) in &items {
            iloc_body.extend_from_slice(&id.to_be_bytes());
            iloc_body.extend_from_slice(&0u16.to_be_bytes());
            iloc_body.extend_from_slice(&1u16.to_be_bytes());
            iloc_body.extend_from_slice(&at.to_be_bytes());
            iloc_body.extend_from_slice(&(data.len() as u32).to_be_bytes());
            at += data.len() as u32;
        }
        let iloc = full_box(b"iloc", 0, &iloc_body);
        let mut ispe_body = 64u32.to_be_bytes().to_vec();
        ispe_body.extend_from_slice(&48u32.to_be_bytes());
        let ipco = plain_box(b"ipco", &full_box(b"ispe", 0, &ispe_body));
        let iprp = plain_box(b"iprp", &ipco);
        full_box(b"meta", 0, &[hdlr, pitm, iinf, iloc, iprp].concat())
    };
    let meta_len = build_meta(0).len();
    let start = (ftyp.len() + meta_len + 8) as u32;
    let meta = build_meta(start);
    let mdat_body: Vec<u8> = items.iter().flat_map(|(_, d)| d.clone()).collect();
    [ftyp, meta, plain_box(b"mdat", &mdat_body)].concat()
}

#[test]
fn avif_items_are_read_and_writing_is_refused() {
    let file = avif_fixture();
    assert_eq!(stemma_container::sniff(&file[..16]), Format::Avif);
    let h = handler_for(Format::Avif).unwrap();
    let source: &dyn Source = &file;
    let meta = h.scan(source, &Limits::DEFAULT).unwrap();
    assert_eq!((meta.width, meta.height), (Some(64), Some(48)));
    assert_eq!(meta.text("UserComment"), Some("Steps: 20, Seed: 1"));
    let packet = meta
        .entries
        .iter()
        .find(|e| e.origin == "xmp")
        .and_then(|e| e.value.as_text())
        .unwrap();
    let doc = stemma_container::xmp::parse(packet, &Limits::DEFAULT).unwrap();
    assert_eq!(doc.get("dc:description"), Some("an avif duck"));
    assert!(h.check(&file, &Limits::DEFAULT).unwrap().is_empty());
    // The data id covers the coded item only: changing the Exif item's text leaves it alone.
    let id = h.data_id(&file, &Limits::DEFAULT).unwrap();
    let mut other = file.clone();
    let at = other.windows(9).position(|w| w == b"avif duck").unwrap();
    other[at] = b's';
    assert_eq!(h.data_id(&other, &Limits::DEFAULT).unwrap(), id);
    assert!(matches!(
        h.edit(&file, &Edit::set_record("{}".into()), &Limits::DEFAULT),
        Err(Error::Unsupported { .. })
    ));
}

// ---------------------------------------------------------------------------------------------------------------
// Named attacks (issue #8): each hostile file, what it attacks, and the error category a reader must report.

/// The error category of a result: `ok`, or the kind of error (limits by name).
fn category<T>(result: &Result<T, Error>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(Error::Truncated { .. }) => "truncated".into(),
        Err(Error::Crc { .. }) => "crc".into(),
        Err(Error::UnknownFormat(_)) => "not-an-image".into(),
        Err(Error::Malformed { .. }) => "malformed".into(),
        Err(Error::Limit { limit, .. }) => format!("limit:{limit}"),
        Err(Error::Damaged(_)) => "damaged".into(),
        Err(e) => format!("other: {e}"),
    }
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    stemma_container::png::encode_chunk(stemma_container::png::ChunkType(*kind), data)
}

/// A PNG with `chunks` right after IHDR.
fn png_with(chunks: &[Vec<u8>]) -> Vec<u8> {
    let plain = encode(ImageFormat::Png);
    let mut out = plain[..33].to_vec();
    chunks.iter().for_each(|c| out.extend_from_slice(c));
    out.extend_from_slice(&plain[33..]);
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

fn scan_of(file: &[u8], limits: &Limits) -> Result<stemma_container::Metadata, Error> {
    let source: &dyn Source = &file;
    stemma_container::ops::scan_source(source, limits)
}

fn rewrite_of(file: &[u8], edit: &Edit, limits: &Limits) -> Result<Vec<u8>, Error> {
    stemma_container::ops::edit_bytes(file, edit, limits).map(|e| e.bytes)
}

#[test]
fn attack_zlib_bombs_stop_at_the_named_limit() {
    let bomb = zlib(&vec![b'a'; 40 * 1024 * 1024]);
    let mut ztxt = b"comment\0\0".to_vec();
    ztxt.extend_from_slice(&bomb);
    let mut itxt_record = b"stemma\0\x01\0\0\0".to_vec();
    itxt_record.extend_from_slice(&bomb);
    for (attack, chunk) in [
        ("zTXt bomb", png_chunk(b"zTXt", &ztxt)),
        (
            "compressed iTXt record bomb",
            png_chunk(b"iTXt", &itxt_record),
        ),
    ] {
        let file = png_with(&[chunk]);
        assert_eq!(
            category(&scan_of(&file, &Limits::DEFAULT)),
            "limit:max_text_decompressed",
            "{attack}"
        );
    }
    // Many small text chunks under the one-chunk limit still stop at the file's total.
    let small = zlib(&vec![b'b'; 3 * 1024 * 1024]);
    let mut data = b"k\0\0".to_vec();
    data.extend_from_slice(&small);
    let file = png_with(&vec![png_chunk(b"zTXt", &data); 4]);
    let limits = Limits {
        max_total_text: 8 * 1024 * 1024,
        ..Limits::DEFAULT
    };
    assert_eq!(
        category(&scan_of(&file, &limits)),
        "limit:max_total_text",
        "total text"
    );
}

#[test]
fn attack_xml_entities_and_deep_nesting_in_png_xmp() {
    let deep = format!(
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">{}{}</x:xmpmeta>",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    for (attack, packet, warning) in [
        ("billion laughs", LAUGHS, "DOCTYPE"),
        ("external entity", XXE, "DOCTYPE"),
        ("deep nesting", deep.as_str(), "max_xml_depth"),
    ] {
        let file = png_with(&[png_chunk(
            b"iTXt",
            &stemma_container::png::encode_itxt(stemma_container::png::XMP_KEYWORD, packet, false),
        )]);
        // A PNG reader lists the packet as text and never expands it.
        let meta = scan_of(&file, &Limits::DEFAULT).unwrap();
        let listed = meta.text(stemma_container::png::XMP_KEYWORD).unwrap();
        assert_eq!(listed.len(), packet.len(), "{attack}");
        assert!(stemma_container::xmp::parse(packet, &Limits::DEFAULT)
            .unwrap_err()
            .to_string()
            .contains(warning));
        // Merging a record into it is refused, naming the reason; the file is not half-written.
        let err = rewrite_of(
            &file,
            &Edit::set_record("{\"stemma\":\"1.0\",\"prompt\":{\"positive\":\"p\"}}".into()),
            &Limits::DEFAULT,
        );
        let got = category(&err);
        assert!(
            got == "malformed" || got == "limit:max_xml_depth",
            "{attack}: {got}"
        );
    }
}

#[test]
fn attack_chunk_counts_stop_at_max_chunks_in_every_container() {
    let limits = Limits {
        max_chunks: 50,
        ..Limits::DEFAULT
    };
    let png = png_with(&vec![png_chunk(b"tEXt", b"k\0v"); 100]);
    let plain_jpeg = encode(ImageFormat::Jpeg);
    let mut jpeg = plain_jpeg[..2].to_vec();
    for _ in 0..100 {
        jpeg.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x03, b'c']);
    }
    jpeg.extend_from_slice(&plain_jpeg[2..]);
    let webp = {
        let plain = encode(ImageFormat::WebP);
        let mut body = plain[12..].to_vec();
        for _ in 0..100 {
            body.extend_from_slice(b"JUNK\x02\x00\x00\x00ab");
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&((body.len() + 4) as u32).to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend(body);
        out
    };
    let gif = {
        let plain = encode(ImageFormat::Gif);
        let mut out = plain[..plain.len() - 1].to_vec();
        for _ in 0..100 {
            out.extend_from_slice(&[0x21, 0xFE, 0x01, b'c', 0x00]);
        }
        out.push(0x3B);
        out
    };
    for (attack, file) in [("png", png), ("jpeg", jpeg), ("webp", webp), ("gif", gif)] {
        assert_eq!(
            category(&scan_of(&file, &limits)),
            "limit:max_chunks",
            "{attack} scan"
        );
        assert_eq!(
            category(&rewrite_of(&file, &Edit::strip(StripProfile::All), &limits)),
            "limit:max_chunks",
            "{attack} rewrite"
        );
    }
}

#[test]
fn attack_huge_and_lying_lengths() {
    let png = encode(ImageFormat::Png);
    let mut png_over = png[..33].to_vec();
    png_over.extend_from_slice(&0x8000_0000u32.to_be_bytes());
    png_over.extend_from_slice(b"tEXt");
    let mut png_past_end = png[..33].to_vec();
    png_past_end.extend_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
    png_past_end.extend_from_slice(b"tEXtkeyword");
    let jpeg = encode(ImageFormat::Jpeg);
    let mut jpeg_long = jpeg[..2].to_vec();
    jpeg_long.extend_from_slice(&[0xFF, 0xE1, 0xFF, 0xFF, b'E', b'x']);
    let webp = encode(ImageFormat::WebP);
    let mut riff_chunk = webp.clone();
    riff_chunk.extend_from_slice(b"EXIF\xFF\xFF\xFF\xFFabc");
    let len = (riff_chunk.len() - 8) as u32;
    riff_chunk[4..8].copy_from_slice(&len.to_le_bytes());
    let mut riff_header = webp.clone();
    riff_header[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let bmff = |size: &[u8]| {
        let mut b = plain_box(b"ftyp", b"avifmif1");
        b.extend_from_slice(size);
        b.extend_from_slice(b"meta\0\0\0\0");
        b
    };
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "PNG chunk length over 2^31-1",
            png_over,
            "malformed",
            "malformed",
        ),
        (
            "PNG chunk length past the end",
            png_past_end,
            "truncated",
            "truncated",
        ),
        (
            "JPEG segment length past the end",
            jpeg_long,
            "truncated",
            "truncated",
        ),
        (
            "RIFF chunk size 4 GiB",
            riff_chunk,
            "truncated",
            "truncated",
        ),
        ("RIFF header size lies", riff_header, "ok", "damaged"),
        (
            "ISOBMFF box size past the end",
            bmff(&0xFFFF_FF00u32.to_be_bytes()),
            "malformed",
            "malformed",
        ),
        (
            "ISOBMFF 64-bit box size 2^63",
            bmff(&[
                0, 0, 0, 1, b'm', b'e', b't', b'a', 0x80, 0, 0, 0, 0, 0, 0, 0,
            ]),
            "malformed",
            "malformed",
        ),
        (
            "ISOBMFF box size below its header",
            bmff(&[0, 0, 0, 4]),
            "malformed",
            "malformed",
        ),
    ];
    for (attack, file, on_read, on_write) in cases {
        assert_eq!(
            category(&scan_of(&file, &Limits::DEFAULT)),
            on_read,
            "{attack}: read"
        );
        let write = rewrite_of(&file, &Edit::strip(StripProfile::All), &Limits::DEFAULT);
        let got = category(&write);
        assert!(
            got == on_write || (on_write == "malformed" && got.starts_with("other")),
            "{attack}: write gave {got}"
        );
    }
}

#[test]
fn attack_metadata_chunk_over_its_limit() {
    let limits = Limits {
        max_metadata_chunk: 1024,
        ..Limits::DEFAULT
    };
    let file = png_with(&[png_chunk(
        b"tEXt",
        &[b"k\0".as_slice(), &[b'x'; 4096]].concat(),
    )]);
    assert_eq!(
        category(&scan_of(&file, &limits)),
        "limit:max_metadata_chunk"
    );
}

#[test]
fn attack_exif_offset_loops_end_with_an_error() {
    // IFD0 at 8 whose next-IFD offset is 8 again, and whose Exif pointer is 8 too.
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&[0, 2]);
    tiff.extend_from_slice(&[0x01, 0x0E, 0, 2, 0, 0, 0, 4, b'a', b'b', b'c', 0]);
    tiff.extend_from_slice(&[0x87, 0x69, 0, 4, 0, 0, 0, 1, 0, 0, 0, 8]);
    tiff.extend_from_slice(&[0, 0, 0, 8]);
    // The block itself is read (the loop is cut at the first revisit) and never hangs.
    let entries = stemma_container::exif::entries(&tiff, false).unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    // IFD0 pointing into the header is refused outright.
    let mut bad = tiff.clone();
    bad[7] = 4;
    assert!(matches!(
        stemma_container::exif::entries(&bad, false),
        Err(Error::Malformed { .. })
    ));
    // In a file, the loop is a warning, not a failure.
    let jpeg = encode(ImageFormat::Jpeg);
    let mut payload = stemma_container::exif::EXIF_PREFIX.to_vec();
    payload.extend_from_slice(&bad);
    let mut file = jpeg[..2].to_vec();
    file.extend_from_slice(&[0xFF, 0xE1]);
    file.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    file.extend_from_slice(&payload);
    file.extend_from_slice(&jpeg[2..]);
    let meta = scan_of(&file, &Limits::DEFAULT).unwrap();
    assert!(!meta.warnings.is_empty());
}
