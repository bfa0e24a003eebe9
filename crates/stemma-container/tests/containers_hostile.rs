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
