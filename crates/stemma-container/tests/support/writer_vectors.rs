//! Writer vectors (`spec/vectors/writer/`): an input file, a record, and the exact bytes a conforming writer
//! produces (or the refusal it reports); sidecar vectors (`spec/vectors/sidecar/`); and the AVIF builder.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use stemma_container::{handler_for, Edit, Error, Format, Limits};

use super::{itxt, other_containers, rgba, stamp, MINIMAL};

fn plain_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

fn full_box(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![version, 0, 0, 0];
    b.extend_from_slice(body);
    plain_box(kind, &b)
}

fn infe(id: u16, kind: &[u8; 4]) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec();
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(kind);
    b.push(0);
    full_box(b"infe", 2, &b)
}

/// A small AVIF: one coded `av01` item with `ispe` and `av1C` associated in `ipma`, and, when `exif` is not
/// empty, an `Exif` item. The coded bytes are a placeholder (the data id never decodes them).
pub fn avif(exif: &[u8]) -> Vec<u8> {
    avif_with(exif, 64)
}

fn avif_with(exif: &[u8], width: u32) -> Vec<u8> {
    let coded = b"\x12\x00\x0a\x0bAV1-OBUS".to_vec();
    let mut items: Vec<(u16, Vec<u8>)> = vec![(1, coded)];
    if !exif.is_empty() {
        items.push((2, exif.to_vec()));
    }
    let ftyp = plain_box(b"ftyp", b"avif\0\0\0\0avifmif1");
    let build_meta = |data_start: u32| {
        let hdlr = full_box(b"hdlr", 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let pitm = full_box(b"pitm", 0, &1u16.to_be_bytes());
        let mut iinf_body = (items.len() as u16).to_be_bytes().to_vec();
        iinf_body.extend(infe(1, b"av01"));
        if items.len() > 1 {
            iinf_body.extend(infe(2, b"Exif"));
        }
        let iinf = full_box(b"iinf", 0, &iinf_body);
        let mut iloc_body = vec![0x44, 0x00];
        iloc_body.extend_from_slice(&(items.len() as u16).to_be_bytes());
        let mut at = data_start;
        for (id, data) in &items {
            iloc_body.extend_from_slice(&id.to_be_bytes());
            iloc_body.extend_from_slice(&0u16.to_be_bytes());
            iloc_body.extend_from_slice(&1u16.to_be_bytes());
            iloc_body.extend_from_slice(&at.to_be_bytes());
            iloc_body.extend_from_slice(&(data.len() as u32).to_be_bytes());
            at += data.len() as u32;
        }
        let iloc = full_box(b"iloc", 0, &iloc_body);
        let mut ispe_body = width.to_be_bytes().to_vec();
        ispe_body.extend_from_slice(&48u32.to_be_bytes());
        let av1c = plain_box(b"av1C", &[0x81, 0x00, 0x0C, 0x00]);
        let ipco = plain_box(b"ipco", &[full_box(b"ispe", 0, &ispe_body), av1c].concat());
        // ipma: item 1 → property 1 (ispe), property 2 (av1C, essential).
        let ipma = full_box(b"ipma", 0, &[0, 0, 0, 1, 0, 1, 2, 0x01, 0x82]);
        let iprp = plain_box(b"iprp", &[ipco, ipma].concat());
        full_box(b"meta", 0, &[hdlr, pitm, iinf, iloc, iprp].concat())
    };
    let start = (ftyp.len() + build_meta(0).len() + 8) as u32;
    let meta = build_meta(start);
    let mdat: Vec<u8> = items.iter().flat_map(|(_, d)| d.clone()).collect();
    [ftyp, meta, plain_box(b"mdat", &mdat)].concat()
}

/// A JPEG with an XMP packet that already has a `dc:description`.
fn jpeg_with_description(jpeg: &[u8]) -> Vec<u8> {
    let packet = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">the photographer's caption</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>"#;
    let mut payload = stemma_container::jpeg::XMP_SIG.to_vec();
    payload.extend_from_slice(packet.as_bytes());
    let mut file = jpeg[..2].to_vec();
    file.extend_from_slice(&[0xFF, 0xE1]);
    file.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    file.extend_from_slice(&payload);
    file.extend_from_slice(&jpeg[2..]);
    file
}

fn gif87a() -> Vec<u8> {
    let mut f = b"GIF87a\x01\x00\x01\x00\x80\x00\x00".to_vec();
    f.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    f.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0, 0x3B]);
    f
}

/// (case name, format, extension, input, record) for every writer vector.
fn cases() -> Vec<(&'static str, Format, &'static str, Vec<u8>, String)> {
    let (jpeg, _, _) = other_containers();
    let large = format!(
        r#"{{"stemma":"1.0","prompt":{{"positive":"a large record"}},"raw":[{{"origin":"png:tEXt","key":"workflow","text":"{}"}}]}}"#,
        "w".repeat(70_000)
    );
    let mut cabx = b"\x89PNG\r\n\x1a\n".to_vec();
    let plain = rgba(&[], &[]);
    cabx.extend_from_slice(&plain[8..33]);
    cabx.extend(stemma_container::png::encode_chunk(
        stemma_container::png::ChunkType(*b"caBX"),
        b"\0\0\0\x10jumbc2pa",
    ));
    cabx.extend_from_slice(&plain[33..]);
    vec![
        (
            "png-new-record",
            Format::Png,
            "png",
            rgba(&[], &[]),
            MINIMAL.to_string(),
        ),
        (
            "png-record-after-idat-moves-before",
            Format::Png,
            "png",
            rgba(&[], &[itxt("stemma", r#"{"stemma":"1.0"}"#, false)]),
            MINIMAL.to_string(),
        ),
        (
            "png-duplicates-collapse",
            Format::Png,
            "png",
            rgba(
                &[itxt("stemma", r#"{"stemma":"1.0"}"#, false)],
                &[itxt("stemma", r#"{"stemma":"1.0","x":1}"#, true)],
            ),
            MINIMAL.to_string(),
        ),
        (
            "png-large-record-not-compressed",
            Format::Png,
            "png",
            rgba(&[], &[]),
            large.clone(),
        ),
        (
            "png-c2pa-refused",
            Format::Png,
            "png",
            cabx,
            MINIMAL.to_string(),
        ),
        (
            "jpeg-xmp-merge-keeps-description",
            Format::Jpeg,
            "jpg",
            jpeg_with_description(&jpeg),
            MINIMAL.to_string(),
        ),
        (
            "jpeg-extended-xmp",
            Format::Jpeg,
            "jpg",
            jpeg.clone(),
            large,
        ),
        (
            "gif87a-becomes-gif89a",
            Format::Gif,
            "gif",
            gif87a(),
            MINIMAL.to_string(),
        ),
    ]
}

pub fn files() -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut manifest = Vec::new();
    for (name, format, ext, input, record) in cases() {
        let input_name = format!("writer/{name}.input.{ext}");
        let record_name = format!("writer/{name}.record.json");
        let mut entry =
            json!({"name": name, "input": input_name, "record": record_name, "mirrors": true});
        match handler_for(format).unwrap().edit(
            &input,
            &Edit::set_record(record.clone()),
            &Limits::default(),
        ) {
            Ok(output) => {
                let output_name = format!("writer/{name}.output.{ext}");
                entry["output"] = json!(output_name);
                files.insert(output_name, output);
            }
            Err(Error::C2paProtected(_)) => entry["error"] = json!("c2pa-protected"),
            Err(e) => panic!("{name}: {e}"),
        }
        files.insert(input_name, input);
        files.insert(record_name, record.into_bytes());
        manifest.push(entry);
    }
    let mut text = serde_json::to_string_pretty(&Value::Array(manifest)).unwrap();
    text.push('\n');
    files.insert("writer/cases.json".into(), text.into_bytes());
    // Sidecars: a JPEG without a record and its sidecar; a JPEG with a record and a sidecar that loses.
    let (jpeg, _, _) = other_containers();
    let sidecar =
        r#"{"stemma":"1.0","prompt":{"positive":"from the sidecar"},"params":{"seed":"9"}}"#;
    files.insert("sidecar/photo.jpg".into(), jpeg.clone());
    files.insert(
        "sidecar/photo.jpg.stemma.json".into(),
        format!("{sidecar}\n").into_bytes(),
    );
    files.insert(
        "sidecar/both.jpg".into(),
        stamp(Format::Jpeg, &jpeg, MINIMAL),
    );
    files.insert(
        "sidecar/both.jpg.stemma.json".into(),
        format!("{sidecar}\n").into_bytes(),
    );
    let expected = json!([
        {"file": "photo.jpg", "record": serde_json::from_str::<Value>(sidecar).unwrap(), "source": "sidecar"},
        {"file": "both.jpg", "record": serde_json::from_str::<Value>(MINIMAL).unwrap(), "source": "embedded", "warnings": ["sidecar-ignored"]}
    ]);
    let mut text = serde_json::to_string_pretty(&expected).unwrap();
    text.push('\n');
    files.insert("sidecar/expected.json".into(), text.into_bytes());
    files
}

#[test]
fn writer_vectors_follow_the_writing_rules() {
    let files = files();
    let png_records = |bytes: &[u8]| -> Vec<(usize, bool, u8)> {
        let list = stemma_container::png::parse_chunks(bytes, &Limits::default(), true).unwrap();
        let idat = list
            .chunks
            .iter()
            .position(|c| &c.kind.0 == b"IDAT")
            .unwrap();
        list.chunks
            .iter()
            .enumerate()
            .filter(|(_, c)| &c.kind.0 == b"iTXt" && c.data(bytes).starts_with(b"stemma\0"))
            .map(|(i, c)| (i, i < idat, c.data(bytes)[7]))
            .collect()
    };
    for name in [
        "png-new-record",
        "png-record-after-idat-moves-before",
        "png-duplicates-collapse",
        "png-large-record-not-compressed",
    ] {
        let out = &files[&format!("writer/{name}.output.png")];
        let records = png_records(out);
        assert_eq!(records.len(), 1, "{name}: exactly one record");
        assert_eq!(records[0].0, 1, "{name}: right after IHDR");
        assert!(records[0].1, "{name}: before IDAT");
        assert_eq!(records[0].2, 0, "{name}: not compressed");
    }
    let manifest: Value = serde_json::from_slice(&files["writer/cases.json"]).unwrap();
    let refused = manifest
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "png-c2pa-refused")
        .unwrap();
    assert_eq!(refused["error"], "c2pa-protected");
    let merged =
        String::from_utf8_lossy(&files["writer/jpeg-xmp-merge-keeps-description.output.jpg"])
            .into_owned();
    assert_eq!(
        merged.matches("<dc:description>").count(),
        1,
        "no second dc:description"
    );
    assert!(merged.contains("the photographer's caption"));
    let extended = &files["writer/jpeg-extended-xmp.output.jpg"];
    assert!(extended
        .windows(35)
        .any(|w| w == b"http://ns.adobe.com/xmp/extension/\0"));
    assert!(files["writer/gif87a-becomes-gif89a.output.gif"].starts_with(b"GIF89a"));
}

#[test]
fn avif_data_id_covers_item_properties_but_not_exif() {
    let h = handler_for(Format::Avif).unwrap();
    let l = Limits::default();
    let id = |f: &[u8]| h.data_id(f, &l).unwrap();
    assert_eq!(id(&avif(&[])), id(&avif(b"Exif\0\0MM\0*")));
    assert_ne!(
        id(&avif(&[])),
        id(&avif_with(&[], 65)),
        "ispe is part of the image"
    );
}
