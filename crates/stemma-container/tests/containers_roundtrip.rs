#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Stamp, scan, strip round trips for every writable container, byte preservation, pixels, C2PA, ExtendedXMP.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbaImage};
use stemma_container::handler::{handler_for, RecordChange};
use stemma_container::{gif, jpeg, png, webp, xmp};
use stemma_container::{ContainerHandler, Edit, Error, Format, Limits, Metadata, StripProfile};

const RECORD: &str = r#"{"stemma":"1.0","generator":{"name":"comfyui","version":"0.3.1"},"prompt":{"positive":"a duck & a <cat>\nin \"rain\" ✓","negative":"blur"},"params":{"seed":"42","steps":20,"cfg_scale":7.0,"sampler":"euler","width":8,"height":6,"model":{"name":"sdxl"}}}"#;

fn picture() -> DynamicImage {
    let mut img = RgbaImage::new(8, 6);
    for (x, y, p) in img.enumerate_pixels_mut() {
        *p = image::Rgba([(x * 30) as u8, (y * 40) as u8, 128, 255]);
    }
    DynamicImage::ImageRgba8(img)
}

fn encode(format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let img = picture();
    match format {
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(img.to_rgb8())
            .write_to(&mut out, format)
            .unwrap(),
        _ => img.write_to(&mut out, format).unwrap(),
    }
    out.into_inner()
}

fn handler(format: Format) -> &'static dyn ContainerHandler {
    handler_for(format).unwrap()
}

fn scan(format: Format, bytes: &[u8]) -> Metadata {
    let source: &dyn stemma_container::source::Source = &bytes;
    handler(format).scan(source, &Limits::DEFAULT).unwrap()
}

fn decode(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).unwrap()
}

/// The original pieces of a file (chunks, segments, blocks) as byte slices, in order.
fn pieces(format: Format, file: &[u8]) -> Vec<Vec<u8>> {
    let l = Limits::DEFAULT;
    match format {
        Format::Png => png::parse_chunks(file, &l, true)
            .unwrap()
            .chunks
            .iter()
            .map(|c| file[c.start..c.end].to_vec())
            .collect(),
        Format::Jpeg => jpeg::parse(file, &l)
            .unwrap()
            .segs
            .iter()
            .map(|s| file[s.start..s.end].to_vec())
            .collect(),
        Format::Webp => webp::parse(file, &l)
            .unwrap()
            .chunks
            .iter()
            .filter(|c| &c.fourcc != b"VP8X")
            .map(|c| file[c.start..c.end].to_vec())
            .collect(),
        Format::Gif => gif::parse(file, &l)
            .unwrap()
            .blocks
            .iter()
            .map(|b| file[b.start..b.end].to_vec())
            .collect(),
        _ => unreachable!(),
    }
}

/// Every piece of `before` appears in `after`, byte-identical and in the same order.
fn assert_pieces_kept(format: Format, before: &[u8], after: &[u8]) {
    let old = pieces(format, before);
    let new = pieces(format, after);
    let mut j = 0;
    for p in &old {
        while j < new.len() && &new[j] != p {
            j += 1;
        }
        assert!(
            j < new.len(),
            "{format:?}: piece of {} bytes lost or reordered",
            p.len()
        );
        j += 1;
    }
}

fn round_trip(format: Format, original: &[u8]) {
    let h = handler(format);
    let l = Limits::DEFAULT;
    let before = scan(format, original);
    assert!(!before.blocks.is_empty());
    assert!(before.record_json.is_none());

    let stamped = h
        .edit(original, &Edit::set_record(RECORD.into()), &l)
        .unwrap();
    let meta = scan(format, &stamped);
    assert_eq!(meta.record_json.as_deref(), Some(RECORD), "{format:?}");
    assert!(meta.warnings.is_empty(), "{format:?}: {:?}", meta.warnings);
    // The XMP mirrors are there and readable.
    let packet = meta
        .entries
        .iter()
        .find(|e| e.origin == "xmp" || e.key == png::XMP_KEYWORD)
        .and_then(|e| e.value.as_text())
        .expect("an XMP packet");
    let doc = xmp::parse(packet, &l).unwrap();
    assert_eq!(
        doc.get("dc:description"),
        Some("a duck & a <cat>\nin \"rain\" ✓")
    );
    assert_eq!(doc.get("Iptc4xmpExt:AISystemUsed"), Some("comfyui (sdxl)"));
    assert_eq!(doc.get("Iptc4xmpExt:AISystemVersionUsed"), Some("0.3.1"));
    assert_eq!(
        doc.get("Iptc4xmpExt:DigitalSourceType"),
        Some("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")
    );
    assert_pieces_kept(format, original, &stamped);
    assert_eq!(
        h.check(&stamped, &l).unwrap(),
        h.check(original, &l).unwrap(),
        "{format:?}"
    );
    // Metadata does not change the data id; pixels decode identically.
    assert_eq!(
        h.data_id(original, &l).unwrap(),
        h.data_id(&stamped, &l).unwrap()
    );
    assert_eq!(decode(original), decode(&stamped), "{format:?} pixels");

    // Stamping again replaces, it does not stack.
    let again = h
        .edit(&stamped, &Edit::set_record(RECORD.into()), &l)
        .unwrap();
    assert_eq!(again, stamped, "{format:?}: re-stamp is not idempotent");
    let other = RECORD.replace("a duck", "a goose");
    let changed = h
        .edit(&stamped, &Edit::set_record(other.clone()), &l)
        .unwrap();
    assert_eq!(
        scan(format, &changed).record_json.as_deref(),
        Some(other.as_str())
    );

    // strip --profile stemma gives back the original bytes exactly.
    for file in [&stamped, &changed] {
        let stripped = h
            .edit(file, &Edit::strip(StripProfile::Stemma), &l)
            .unwrap();
        assert!(
            stripped == original,
            "{format:?}: strip stemma is not exact"
        );
    }
    let removed = h
        .edit(
            &stamped,
            &Edit {
                record: RecordChange::Remove,
                ..Edit::default()
            },
            &l,
        )
        .unwrap();
    assert!(removed == original, "{format:?}: remove is not exact");
    // Keep + no strip is the identity.
    assert!(h.edit(&stamped, &Edit::default(), &l).unwrap() == stamped);
    // strip --profile all leaves no metadata entries and decodes the same.
    let bare = h
        .edit(&stamped, &Edit::strip(StripProfile::All), &l)
        .unwrap();
    let m = scan(format, &bare);
    assert!(m.record_json.is_none());
    assert!(m.entries.is_empty(), "{format:?}: {:?}", m.entries);
    assert_eq!(decode(&bare), decode(original));
}

#[test]
fn png_round_trip() {
    round_trip(Format::Png, &encode(ImageFormat::Png));
}

#[test]
fn jpeg_round_trip() {
    round_trip(Format::Jpeg, &encode(ImageFormat::Jpeg));
}

#[test]
fn jpeg_with_exif_comment_and_trailer_round_trip() {
    let plain = encode(ImageFormat::Jpeg);
    let exif_block = [
        b"Exif\0\0".as_slice(),
        &stemma_container::exif::build(&[stemma_container::exif::TextTag::UserComment(
            "hello".into(),
        )]),
    ]
    .concat();
    let mut file = plain[..2].to_vec();
    file.extend_from_slice(&[0xFF, 0xE1]);
    file.extend_from_slice(&((exif_block.len() + 2) as u16).to_be_bytes());
    file.extend_from_slice(&exif_block);
    file.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x07, b'h', b'i', b'!', b'!', b'!']);
    file.extend_from_slice(&plain[2..]);
    file.extend_from_slice(b"TRAILING");
    let meta = scan(Format::Jpeg, &file);
    assert_eq!(meta.text("UserComment"), Some("hello"));
    assert_eq!(meta.text("comment"), Some("hi!!!"));
    round_trip(Format::Jpeg, &file);
    let stamped = handler(Format::Jpeg)
        .edit(&file, &Edit::set_record(RECORD.into()), &Limits::DEFAULT)
        .unwrap();
    assert!(stamped.ends_with(b"TRAILING"));
    // The XMP APP1 comes after the existing APP0 and Exif APP1, before the frame.
    let labels: Vec<String> = scan(Format::Jpeg, &stamped)
        .blocks
        .iter()
        .map(|b| b.label.clone().unwrap_or_else(|| b.kind.clone()))
        .collect();
    let at = |l: &str| labels.iter().position(|x| x == l).unwrap();
    assert!(at("XMP") > at("Exif") && at("XMP") > at("JFIF") && at("XMP") < at("DQT"));
}

#[test]
fn webp_lossless_round_trip_converts_to_vp8x_and_back() {
    let original = encode(ImageFormat::WebP);
    assert_eq!(&original[12..16], b"VP8L");
    round_trip(Format::Webp, &original);
    let stamped = handler(Format::Webp)
        .edit(
            &original,
            &Edit::set_record(RECORD.into()),
            &Limits::DEFAULT,
        )
        .unwrap();
    assert_eq!(&stamped[12..16], b"VP8X");
    // Flags: XMP (and ALPHA when the VP8L header says so); canvas 8x6.
    let flags = stamped[20];
    assert_ne!(flags & webp::FLAG_XMP, 0);
    assert_eq!(&stamped[24..30], &[7, 0, 0, 5, 0, 0]);
    let riff = u32::from_le_bytes(stamped[4..8].try_into().unwrap()) as usize;
    assert_eq!(riff + 8, stamped.len());
    assert_eq!(scan(Format::Webp, &stamped).width, Some(8));
}

#[test]
fn gif_round_trip() {
    round_trip(Format::Gif, &encode(ImageFormat::Gif));
}

#[test]
fn existing_xmp_is_merged_and_restored() {
    let foreign = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="Krita"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;
    let plain = encode(ImageFormat::Jpeg);
    let mut payload = jpeg::XMP_SIG.to_vec();
    payload.extend_from_slice(foreign.as_bytes());
    let mut file = plain[..2].to_vec();
    file.extend_from_slice(&[0xFF, 0xE1]);
    file.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    file.extend_from_slice(&payload);
    file.extend_from_slice(&plain[2..]);
    let h = handler(Format::Jpeg);
    let l = Limits::DEFAULT;
    let stamped = h.edit(&file, &Edit::set_record(RECORD.into()), &l).unwrap();
    let meta = scan(Format::Jpeg, &stamped);
    assert_eq!(meta.record_json.as_deref(), Some(RECORD));
    let doc = xmp::parse(meta.text("packet").unwrap(), &l).unwrap();
    assert_eq!(doc.get("xmp:CreatorTool"), Some("Krita"));
    assert_eq!(
        doc.get("dc:description").map(|d| d.starts_with("a duck")),
        Some(true)
    );
    // Only one XMP APP1.
    let xmps = meta
        .blocks
        .iter()
        .filter(|b| b.label.as_deref() == Some("XMP"))
        .count();
    assert_eq!(xmps, 1);
    let stripped = h
        .edit(&stamped, &Edit::strip(StripProfile::Stemma), &l)
        .unwrap();
    assert!(stripped == file);
}

#[test]
fn big_record_goes_to_extended_xmp_and_back() {
    let original = encode(ImageFormat::Jpeg);
    let big_graph: String = (0..4000)
        .map(|i| format!("\"node{i}\":{{\"class_type\":\"KSampler\",\"seed\":{i}}},"))
        .collect();
    let record = format!(
        r#"{{"stemma":"1.0","prompt":{{"positive":"a duck"}},"settings":{{"format":"comfyui-api","data":{{{}"end":1}}}}}}"#,
        big_graph
    );
    assert!(record.len() > 100_000);
    let h = handler(Format::Jpeg);
    let l = Limits::DEFAULT;
    let stamped = h
        .edit(&original, &Edit::set_record(record.clone()), &l)
        .unwrap();
    let meta = scan(Format::Jpeg, &stamped);
    assert_eq!(meta.record_json.as_deref(), Some(record.as_str()));
    let ext = meta
        .blocks
        .iter()
        .filter(|b| b.label.as_deref() == Some("ExtendedXMP"))
        .count();
    assert!(ext >= 2, "{ext} ExtendedXMP segments");
    // The standard packet names the GUID: MD5 of the extended packet, upper-case hex.
    let standard = xmp::parse(meta.text("packet").unwrap(), &l).unwrap();
    let guid = standard.extended_guid().unwrap();
    assert_eq!(guid.len(), 32);
    assert!(guid
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
    assert_eq!(standard.get("dc:description"), Some("a duck"));
    assert_eq!(decode(&stamped), decode(&original));
    // Re-stamping with a small record drops the extended segments; strip restores the original.
    let small = h
        .edit(&stamped, &Edit::set_record(RECORD.into()), &l)
        .unwrap();
    assert!(scan(Format::Jpeg, &small)
        .blocks
        .iter()
        .all(|b| b.label.as_deref() != Some("ExtendedXMP")));
    // Re-stamping with another big record replaces the extended segments (new GUID).
    let record2 = record.replace("a duck", "a goose");
    let big2 = h
        .edit(&stamped, &Edit::set_record(record2.clone()), &l)
        .unwrap();
    let meta2 = scan(Format::Jpeg, &big2);
    assert_eq!(meta2.record_json.as_deref(), Some(record2.as_str()));
    assert_eq!(
        meta2
            .blocks
            .iter()
            .filter(|b| b.label.as_deref() == Some("ExtendedXMP"))
            .count(),
        ext
    );
    for f in [&stamped, &small, &big2] {
        assert!(h.edit(f, &Edit::strip(StripProfile::Stemma), &l).unwrap() == original);
    }
}

#[test]
fn a1111_and_windows_mirrors() {
    let l = Limits::DEFAULT;
    let edit = Edit {
        a1111_mirror: true,
        windows_text: true,
        ..Edit::set_record(RECORD.into())
    };
    let infotext = "a duck & a <cat>\nin \"rain\" ✓\nNegative prompt: blur\nSteps: 20, Sampler: euler, CFG scale: 7, Seed: 42, Size: 8x6, Model: sdxl";
    for (format, original) in [
        (Format::Jpeg, encode(ImageFormat::Jpeg)),
        (Format::Webp, encode(ImageFormat::WebP)),
    ] {
        let h = handler(format);
        let stamped = h.edit(&original, &edit, &l).unwrap();
        let meta = scan(format, &stamped);
        assert_eq!(meta.text("UserComment"), Some(infotext), "{format:?}");
        assert_eq!(
            meta.text("XPComment"),
            Some("a duck & a <cat>\nin \"rain\" ✓")
        );
        assert_eq!(meta.text("XPTitle"), Some("comfyui"));
        assert_eq!(decode(&stamped), decode(&original));
        let again = h.edit(&stamped, &edit, &l).unwrap();
        assert!(again == stamped, "{format:?}");
        // Re-stamping without the EXIF mirrors drops the EXIF stemma created.
        let plain = h
            .edit(&stamped, &Edit::set_record(RECORD.into()), &l)
            .unwrap();
        let m = scan(format, &plain);
        assert_eq!(m.text("UserComment"), None, "{format:?}");
        assert_eq!(m.record_json.as_deref(), Some(RECORD));
        assert!(
            h.edit(&plain, &Edit::strip(StripProfile::Stemma), &l)
                .unwrap()
                == original
        );
        assert!(h.check(&plain, &l).unwrap().is_empty(), "{format:?}");
        assert!(
            h.edit(&stamped, &Edit::strip(StripProfile::Stemma), &l)
                .unwrap()
                == original
        );
    }
    let original = encode(ImageFormat::Png);
    let h = handler(Format::Png);
    let stamped = h.edit(&original, &edit, &l).unwrap();
    assert_eq!(
        scan(Format::Png, &stamped).text("parameters"),
        Some(infotext)
    );
    assert!(h.edit(&stamped, &edit, &l).unwrap() == stamped);
    assert!(
        h.edit(&stamped, &Edit::strip(StripProfile::Stemma), &l)
            .unwrap()
            == original
    );
}

#[test]
fn png_xmp_mirror_has_the_22_byte_header() {
    let original = encode(ImageFormat::Png);
    let stamped = handler(Format::Png)
        .edit(
            &original,
            &Edit::set_record(RECORD.into()),
            &Limits::DEFAULT,
        )
        .unwrap();
    let list = png::parse_chunks(&stamped, &Limits::DEFAULT, true).unwrap();
    let idat = list
        .chunks
        .iter()
        .position(|c| c.kind == png::IDAT)
        .unwrap();
    let xmp_at = list
        .chunks
        .iter()
        .position(|c| {
            c.data(&stamped)
                .starts_with(b"XML:com.adobe.xmp\0\0\0\0\0<?xpacket")
        })
        .expect("XMP iTXt with the exact 22-byte header");
    assert!(xmp_at < idat);
}

#[test]
fn c2pa_files_refuse_edits_unless_forced_or_stripped() {
    let l = Limits::DEFAULT;
    // JPEG with an APP11 JUMBF segment.
    let plain = encode(ImageFormat::Jpeg);
    let jumbf = b"JP\x02\x11\0\0\0\x01\0\0\0\x10jumbc2pa";
    let mut jpg = plain[..2].to_vec();
    jpg.extend_from_slice(&[0xFF, 0xEB]);
    jpg.extend_from_slice(&((jumbf.len() + 2) as u16).to_be_bytes());
    jpg.extend_from_slice(jumbf);
    jpg.extend_from_slice(&plain[2..]);
    // WebP with a C2PA chunk: an extended file.
    let wp = encode(ImageFormat::WebP);
    let vp8x = handler(Format::Webp)
        .edit(&wp, &Edit::set_record(RECORD.into()), &l)
        .unwrap();
    let mut webp_c2pa = vp8x.clone();
    webp_c2pa.extend_from_slice(b"C2PA\x04\0\0\0abcd");
    let size = (webp_c2pa.len() - 8) as u32;
    webp_c2pa[4..8].copy_from_slice(&size.to_le_bytes());
    // PNG with caBX.
    let p = encode(ImageFormat::Png);
    let mut png_c2pa = p[..33].to_vec();
    png_c2pa.extend_from_slice(&png::encode_chunk(png::CABX, b"jumb"));
    png_c2pa.extend_from_slice(&p[33..]);
    for (format, file) in [
        (Format::Jpeg, jpg),
        (Format::Webp, webp_c2pa),
        (Format::Png, png_c2pa),
    ] {
        let h = handler(format);
        let meta = scan(format, &file);
        assert!(meta
            .entries
            .iter()
            .any(|e| e.origin.contains("c2pa") || e.key == "c2pa"));
        let err = h
            .edit(&file, &Edit::set_record(RECORD.into()), &l)
            .unwrap_err();
        assert!(matches!(err, Error::C2paProtected(_)), "{format:?}: {err}");
        let forced = Edit {
            force: true,
            ..Edit::set_record(RECORD.into())
        };
        assert!(h.edit(&file, &forced, &l).is_ok());
        assert!(h.edit(&file, &Edit::strip(StripProfile::All), &l).is_ok());
    }
}

#[test]
fn truncated_files_are_errors_not_panics() {
    let l = Limits::DEFAULT;
    for (format, file) in [
        (Format::Png, encode(ImageFormat::Png)),
        (Format::Jpeg, encode(ImageFormat::Jpeg)),
        (Format::Webp, encode(ImageFormat::WebP)),
        (Format::Gif, encode(ImageFormat::Gif)),
    ] {
        let h = handler(format);
        let stamped = h.edit(&file, &Edit::set_record(RECORD.into()), &l).unwrap();
        for cut in 0..stamped.len() {
            let part = &stamped[..cut];
            let source: &dyn stemma_container::source::Source = &part;
            let _ = h.scan(source, &l);
            let _ = h.edit(part, &Edit::set_record(RECORD.into()), &l);
            let _ = h.edit(part, &Edit::strip(StripProfile::Stemma), &l);
            let _ = h.data_id(part, &l);
            let _ = h.check(part, &l);
        }
    }
}

fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    for (fcc, data) in chunks {
        body.extend_from_slice(*fcc);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

#[test]
fn lossy_and_alpha_webp_headers_give_the_vp8x_canvas_and_flags() {
    let l = Limits::DEFAULT;
    let h = handler(Format::Webp);
    // A lossy frame header: key frame tag, start code, 300x200 (odd payload size, so a padding byte).
    let mut vp8 = vec![0x50, 0x01, 0x00, 0x9D, 0x01, 0x2A];
    vp8.extend_from_slice(&300u16.to_le_bytes());
    vp8.extend_from_slice(&200u16.to_le_bytes());
    vp8.extend_from_slice(&[1, 2, 3]);
    // A lossless header: 0x2F, 14-bit width-1, 14-bit height-1, alpha bit set.
    let bits: u32 = 99 | (49 << 14) | (1 << 28);
    let mut vp8l = vec![0x2F];
    vp8l.extend_from_slice(&bits.to_le_bytes());
    vp8l.extend_from_slice(&[0, 0, 0]);
    for (fcc, data, w, hgt, alpha) in [
        (b"VP8 ", vp8, 300u32, 200u32, false),
        (b"VP8L", vp8l, 100, 50, true),
    ] {
        let file = riff(&[(fcc, data)]);
        assert_eq!(scan(Format::Webp, &file).width, Some(w));
        let stamped = h.edit(&file, &Edit::set_record(RECORD.into()), &l).unwrap();
        let m = scan(Format::Webp, &stamped);
        assert_eq!((m.width, m.height), (Some(w), Some(hgt)));
        assert_eq!(m.record_json.as_deref(), Some(RECORD));
        assert_eq!(&stamped[12..16], b"VP8X");
        let flags = stamped[20];
        assert_eq!(flags & webp::FLAG_ALPHA != 0, alpha);
        assert_ne!(flags & webp::FLAG_XMP, 0);
        assert_eq!(flags & webp::FLAG_EXIF, 0);
        assert!(h.check(&stamped, &l).unwrap().is_empty());
        assert!(
            h.edit(&stamped, &Edit::strip(StripProfile::Stemma), &l)
                .unwrap()
                == file
        );
        // strip --profile all of the stamped file: extended form without metadata flags.
        let bare = h
            .edit(&stamped, &Edit::strip(StripProfile::All), &l)
            .unwrap();
        assert_eq!(bare[20] & (webp::FLAG_XMP | webp::FLAG_EXIF), 0);
        assert!(h.check(&bare, &l).unwrap().is_empty());
    }
}

#[test]
fn animated_gif_keeps_frames_loop_and_comment() {
    use image::codecs::gif::{GifEncoder, Repeat};
    use image::{Delay, Frame};
    let mut bytes = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut bytes);
        enc.set_repeat(Repeat::Infinite).unwrap();
        for i in 0..3u8 {
            let img = RgbaImage::from_pixel(5, 4, image::Rgba([i * 80, 10, 10, 255]));
            enc.encode_frame(Frame::from_parts(
                img,
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            ))
            .unwrap();
        }
    }
    // A comment extension before the trailer.
    let trailer = bytes.pop().unwrap();
    assert_eq!(trailer, 0x3B);
    bytes.extend_from_slice(&[0x21, 0xFE, 5, b'h', b'e', b'l', b'l', b'o', 0, 0x3B]);
    let meta = scan(Format::Gif, &bytes);
    assert_eq!(meta.frames, Some(3));
    assert_eq!(meta.text("comment"), Some("hello"));
    let h = handler(Format::Gif);
    let l = Limits::DEFAULT;
    let stamped = h
        .edit(&bytes, &Edit::set_record(RECORD.into()), &l)
        .unwrap();
    assert_pieces_kept(Format::Gif, &bytes, &stamped);
    let m = scan(Format::Gif, &stamped);
    assert_eq!(m.frames, Some(3));
    assert_eq!(m.record_json.as_deref(), Some(RECORD));
    // The XMP extension sits just before the trailer.
    let tail = &stamped[stamped.len() - 259..];
    assert_eq!(tail[258], 0x3B);
    assert_eq!(&tail[..258], gif::magic_trailer().as_slice());
    assert!(
        h.edit(&stamped, &Edit::strip(StripProfile::Stemma), &l)
            .unwrap()
            == bytes
    );
    let bare = h
        .edit(&stamped, &Edit::strip(StripProfile::All), &l)
        .unwrap();
    let m = scan(Format::Gif, &bare);
    assert!(m.entries.is_empty());
    assert!(m
        .blocks
        .iter()
        .any(|b| b.label.as_deref() == Some("NETSCAPE2.0")));
    assert_eq!(m.frames, Some(3));
}

#[test]
fn png_exif_chunk_gives_exif_entries() {
    use stemma_container::exif::{build, TextTag};
    let p = encode(ImageFormat::Png);
    let mut file = p[..33].to_vec();
    let block = build(&[
        TextTag::UserComment("Steps: 20, Seed: 7".into()),
        TextTag::ImageDescription("desc".into()),
    ]);
    file.extend_from_slice(&png::encode_chunk(png::EXIF, &block));
    file.extend_from_slice(&p[33..]);
    let meta = scan(Format::Png, &file);
    assert!(meta.entries.iter().any(|e| e.origin == "png:eXIf"));
    let exif: Vec<_> = meta.entries.iter().filter(|e| e.origin == "exif").collect();
    assert_eq!(exif.len(), 2);
    assert_eq!(meta.text("UserComment"), Some("Steps: 20, Seed: 7"));
    assert_eq!(meta.text("ImageDescription"), Some("desc"));
}

/// Found by fuzzing (write_roundtrip): a 70 KB prompt mirrored into a JPEG's EXIF made a segment whose 16-bit
/// length wrapped, and the stamped file could not be read back. The mirror must be refused, the file untouched.
#[test]
fn a_jpeg_exif_mirror_too_long_for_one_segment_is_refused_not_cut() {
    let l = Limits::DEFAULT;
    let original = encode(ImageFormat::Jpeg);
    let record = format!(
        r#"{{"stemma":"1.0","prompt":{{"positive":"{}"}}}}"#,
        "a very long prompt, ".repeat(3500)
    );
    let h = handler_for(Format::Jpeg).unwrap();
    let edit = Edit {
        a1111_mirror: true,
        ..Edit::set_record(record.clone())
    };
    match h.edit(&original, &edit, &l) {
        Err(Error::TooLarge { size, max, .. }) => assert!(size > max, "{size} {max}"),
        Err(other) => panic!("wrong error: {other}"),
        Ok(bytes) => {
            // A writer that splits or shortens the mirror instead must still give a readable file.
            let meta = scan(Format::Jpeg, &bytes);
            assert_eq!(meta.record_json.as_deref(), Some(record.as_str()));
        }
    }
    // Without the mirrors the same record is written (ExtendedXMP) and reads back. (The XMP mirrors of a 70 KB
    // prompt do not fit a JPEG's standard XMP either: that is refused with `max_standard_xmp`, as the CLI test
    // `a_prompt_too_long_for_a_jpegs_standard_xmp_says_what_to_do` shows.)
    let no_mirrors = Edit {
        xmp_mirrors: false,
        ..Edit::set_record(record.clone())
    };
    let stamped = h.edit(&original, &no_mirrors, &l).unwrap();
    assert_eq!(
        scan(Format::Jpeg, &stamped).record_json.as_deref(),
        Some(record.as_str())
    );
}
