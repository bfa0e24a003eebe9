#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The specification's test vectors (`spec/vectors/`): every vector reads as its `.expected.json` says — the record
//! and content ids, or the error category a reader must report. `write_vectors` (ignored; run with
//! `cargo test -p stemma-container --test spec_vectors -- --ignored`) regenerates the files.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use stemma_container::png::{encode_chunk, encode_itxt, ChunkType};
use stemma_container::{ops, Edit, Error, Format, Limits};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/vectors")
}

/// A small PNG made chunk by chunk: `colour` 6 = RGBA, 3 = palette, 0 = grey; `extra_before`/`extra_after` are
/// whole chunks placed before and after IDAT.
#[allow(clippy::too_many_arguments)]
fn png(
    width: u32,
    height: u32,
    colour: u8,
    depth: u8,
    raw_rows: &[u8],
    plte: Option<&[u8]>,
    before: &[Vec<u8>],
    after: &[Vec<u8>],
    level: u32,
) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
    out.extend(encode_chunk(ChunkType(*b"IHDR"), &ihdr));
    if let Some(p) = plte {
        out.extend(encode_chunk(ChunkType(*b"PLTE"), p));
    }
    for c in before {
        out.extend_from_slice(c);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
    std::io::Write::write_all(&mut z, raw_rows).unwrap();
    out.extend(encode_chunk(ChunkType(*b"IDAT"), &z.finish().unwrap()));
    for c in after {
        out.extend_from_slice(c);
    }
    out.extend(encode_chunk(ChunkType(*b"IEND"), b""));
    out
}

/// Rows with filter byte 0 of a 4×4 RGBA picture: a small colour ramp.
fn rgba_rows() -> Vec<u8> {
    let mut rows = Vec::new();
    for y in 0..4u8 {
        rows.push(0);
        for x in 0..4u8 {
            rows.extend_from_slice(&[x * 60, y * 60, 128, 255]);
        }
    }
    rows
}

/// The same picture as palette + indices (every colour opaque, so the pixel id equals the RGBA one).
fn palette_version() -> (Vec<u8>, Vec<u8>) {
    let mut plte = Vec::new();
    let mut rows = Vec::new();
    for y in 0..4u8 {
        rows.push(0);
        for x in 0..4u8 {
            plte.extend_from_slice(&[x * 60, y * 60, 128]);
            rows.push(y * 4 + x);
        }
    }
    (plte, rows)
}

fn itxt(keyword: &str, text: &str, compress: bool) -> Vec<u8> {
    encode_chunk(ChunkType(*b"iTXt"), &encode_itxt(keyword, text, compress))
}

fn rgba(before: &[Vec<u8>], after: &[Vec<u8>]) -> Vec<u8> {
    png(4, 4, 6, 8, &rgba_rows(), None, before, after, 6)
}

/// The 4×4 picture of `rgba_rows` as a JPEG, a lossless WebP and a GIF, written by the `image` crate.
fn other_containers() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut pixels = image::RgbaImage::new(4, 4);
    for y in 0..4u8 {
        for x in 0..4u8 {
            pixels.put_pixel(
                u32::from(x),
                u32::from(y),
                image::Rgba([x * 60, y * 60, 128, 255]),
            );
        }
    }
    let encode = |format: image::ImageFormat, img: image::DynamicImage| {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    };
    let rgb =
        image::DynamicImage::ImageRgb8(image::DynamicImage::ImageRgba8(pixels.clone()).to_rgb8());
    (
        encode(image::ImageFormat::Jpeg, rgb),
        encode(
            image::ImageFormat::WebP,
            image::DynamicImage::ImageRgba8(pixels.clone()),
        ),
        encode(
            image::ImageFormat::Gif,
            image::DynamicImage::ImageRgba8(pixels),
        ),
    )
}

/// A file with the record written by its container handler (XMP, with the interop mirrors).
fn stamp(format: Format, file: &[u8], record: &str) -> Vec<u8> {
    stemma_container::handler_for(format)
        .unwrap()
        .edit(
            file,
            &Edit::set_record(record.to_string()),
            &Limits::default(),
        )
        .unwrap()
}

/// (file name, bytes, expected error category or None) for every vector.
fn vectors() -> Vec<(String, Vec<u8>, Option<&'static str>)> {
    let minimal = r#"{"stemma":"1.0","prompt":{"positive":"a lighthouse at dusk"},"params":{"seed":"18446744073709551615","steps":30}}"#;
    let full = json!({
        "stemma": "1.0",
        "generator": {"name": "comfyui", "version": "0.3.40", "dialect": "comfyui"},
        "prompt": {
            "positive": "a {red|blue} fox in __season__ woods",
            "negative": "blurry",
            "template": {"positive": "a {red|blue} fox in __season__ woods", "values": {"season": "autumn"}},
            "parts": [{"text": "a fox", "weight": 1.0}, {"text": "autumn woods", "weight": 0.5, "stop": -1.0}]
        },
        "params": {"seed": "42", "steps": 25, "cfg_scale": 6.5, "sampler": "euler", "scheduler": "karras",
                   "model": {"name": "sdxl.safetensors", "hash": "45a21ea00a"},
                   "loras": [{"name": "fur", "weight": 0.8}], "width": 1024, "height": 1024, "denoise": 0.6,
                   "guidance": 3.5},
        "settings": {"format": "comfyui-api", "ref": format!("sha256:{}", "1".repeat(64))},
        "raw": [{"origin": "png:tEXt", "key": "prompt", "text": "{}", "used": true}],
        "parents": [
            {"id": format!("sha256:{}", "a".repeat(64)), "relation": "interpolate", "t": 0.25, "hint": "0001.png"},
            {"id": format!("sha256:{}", "b".repeat(64)), "relation": "interpolate", "t": 0.25, "hint": "0002.png"}
        ],
        "sequence": {"id": "run-7", "frame": 4, "time": 1.25, "fps": 24.0, "interpolated": true},
        "run": {"id": "run-7", "settings": format!("sha256:{}", "1".repeat(64)), "index": 4},
        "fork": {"base": format!("sha256:{}", "2".repeat(64)), "diff": {"steps": 25, "sampler": null}},
        "frames": [{"index": 0, "prompt": "a fox", "seed": "1"}],
        "created": "2026-11-25T20:15:00Z",
        "ext": {"org.example.tool": {"rating": 5}},
        "a_future_member": [1, 2, 3]
    })
    .to_string();
    let (plte, indices) = palette_version();
    let big = format!(
        r#"{{"stemma":"1.0","prompt":{{"positive":"compressed"}},"raw":[{{"origin":"png:tEXt","key":"workflow","text":"{}"}}]}}"#,
        "x".repeat(2000)
    );
    let good = rgba(&[], &[]);
    let (jpeg, webp, gif) = other_containers();
    let mut bad_crc = rgba(&[itxt("stemma", minimal, false)], &[]);
    let idat_at = bad_crc.windows(4).position(|w| w == b"IDAT").unwrap();
    bad_crc[idat_at + 6] ^= 0x01;
    let mut too_large = good[..33].to_vec();
    too_large.extend_from_slice(&0x8000_0000u32.to_be_bytes());
    too_large.extend_from_slice(b"tEXt");
    let mut bomb_data = b"stemma\0\x01\0\0\0".to_vec();
    bomb_data.extend(stemma_container::text::deflate(&vec![
        b' ';
        17 * 1024 * 1024
    ]));
    vec![
        (
            "valid/minimal.png".into(),
            rgba(&[itxt("stemma", minimal, false)], &[]),
            None,
        ),
        (
            "valid/full-record.png".into(),
            rgba(&[itxt("stemma", &full, false)], &[]),
            None,
        ),
        (
            "valid/compressed-record.png".into(),
            rgba(&[itxt("stemma", &big, true)], &[]),
            None,
        ),
        (
            "valid/record-after-idat.png".into(),
            rgba(&[], &[itxt("stemma", minimal, false)]),
            None,
        ),
        ("valid/no-record.png".into(), good.clone(), None),
        (
            "valid/same-pixels-palette.png".into(),
            png(4, 4, 3, 8, &indices, Some(&plte), &[], &[], 9),
            None,
        ),
        (
            "valid/same-pixels-rgba-level0.png".into(),
            png(4, 4, 6, 8, &rgba_rows(), None, &[], &[], 0),
            None,
        ),
        (
            "invalid/truncated.png".into(),
            good[..good.len() - 7].to_vec(),
            Some("truncated"),
        ),
        ("invalid/bad-crc.png".into(), bad_crc, Some("crc")),
        (
            "invalid/not-an-image.png".into(),
            b"this is text, not an image\n".to_vec(),
            Some("not-an-image"),
        ),
        (
            "invalid/chunk-too-large.png".into(),
            too_large,
            Some("chunk-too-large"),
        ),
        (
            "invalid/zlib-bomb.png".into(),
            rgba(&[encode_chunk(ChunkType(*b"iTXt"), &bomb_data)], &[]),
            Some("limit"),
        ),
        (
            "invalid/bad-json.png".into(),
            rgba(&[itxt("stemma", "{\"stemma\":\"1.0\",", false)], &[]),
            Some("bad-json"),
        ),
        (
            "invalid/version-2.png".into(),
            rgba(&[itxt("stemma", r#"{"stemma":"2.0"}"#, false)], &[]),
            Some("unsupported-version"),
        ),
        (
            "invalid/numeric-seed.png".into(),
            rgba(
                &[itxt(
                    "stemma",
                    r#"{"stemma":"1.0","params":{"seed":42}}"#,
                    false,
                )],
                &[],
            ),
            Some("schema"),
        ),
        ("valid/jpeg-no-record.jpg".into(), jpeg.clone(), None),
        (
            "valid/jpeg-minimal.jpg".into(),
            stamp(Format::Jpeg, &jpeg, minimal),
            None,
        ),
        (
            "valid/webp-lossless-no-record.webp".into(),
            webp.clone(),
            None,
        ),
        (
            "valid/webp-lossless-minimal.webp".into(),
            stamp(Format::Webp, &webp, minimal),
            None,
        ),
        ("valid/gif-no-record.gif".into(), gif.clone(), None),
        (
            "valid/gif-minimal.gif".into(),
            stamp(Format::Gif, &gif, minimal),
            None,
        ),
    ]
}

/// What a reader makes of a vector: the expected-output document.
fn read_vector(bytes: &[u8]) -> Value {
    let limits = Limits::default();
    let source: &dyn stemma_container::source::Source = &bytes;
    let category = |e: &Error| match e {
        Error::Truncated { .. } => "truncated",
        Error::Crc { .. } => "crc",
        Error::UnknownFormat(_) => "not-an-image",
        Error::Malformed { reason, .. } if reason.contains("2^31-1") => "chunk-too-large",
        Error::Limit { .. } => "limit",
        _ => "other",
    };
    let handler = match ops::handler_of(source) {
        Ok(h) => h,
        Err(e) => return json!({"error": category(&e)}),
    };
    if handler.format() == Format::Png {
        if let Err(e) = stemma_container::png::parse_chunks(bytes, &limits, true) {
            return json!({"error": category(&e)});
        }
    }
    let meta = match handler.scan(source, &limits) {
        Ok(m) => m,
        Err(e) => return json!({"error": category(&e)}),
    };
    let ids = ops::content_ids(bytes, true, &limits).unwrap();
    let record = match &meta.record_json {
        None => Value::Null,
        Some(text) => {
            let value: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(_) => return json!({"error": "bad-json"}),
            };
            if let Err(stemma_model::Error::UnsupportedVersion { .. }) =
                stemma_model::record_from_value(value.clone())
            {
                return json!({"error": "unsupported-version"});
            }
            if !stemma_model::validate_record_json(&value).is_empty() {
                return json!({"error": "schema"});
            }
            value
        }
    };
    json!({"record": record, "pixels": ids.pixels, "data": ids.data})
}

#[test]
#[ignore = "regenerates spec/vectors; run by hand after changing the vectors"]
fn write_vectors() {
    let dir = vectors_dir();
    for (name, bytes, _) in vectors() {
        let path = dir.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let expected = read_vector(&bytes);
        let mut text = serde_json::to_string_pretty(&expected).unwrap();
        text.push('\n');
        std::fs::write(path.with_extension("expected.json"), text).unwrap();
    }
    std::fs::write(
        dir.join("../record.schema.json"),
        serde_json::to_string_pretty(&stemma_model::record_schema()).unwrap() + "\n",
    )
    .unwrap();
}

#[test]
fn every_vector_reads_as_expected() {
    let dir = vectors_dir();
    let mut checked = 0;
    for (name, generated, error) in vectors() {
        let path = dir.join(&name);
        let bytes =
            std::fs::read(&path).unwrap_or_else(|_| panic!("{name} missing: run write_vectors"));
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(path.with_extension("expected.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(read_vector(&bytes), expected, "{name}");
        assert_eq!(
            bytes, generated,
            "{name} differs from what the generator makes"
        );
        match error {
            Some(category) => assert_eq!(expected["error"], category, "{name}"),
            None => assert!(expected.get("error").is_none(), "{name}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 21);
}

#[test]
fn palette_and_rgba_versions_share_a_pixel_id_but_not_a_data_id() {
    let dir = vectors_dir();
    let read = |n: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(n)).unwrap()).unwrap()
    };
    let a = read("valid/same-pixels-palette.expected.json");
    let b = read("valid/same-pixels-rgba-level0.expected.json");
    let c = read("valid/no-record.expected.json");
    assert_eq!(a["pixels"], b["pixels"]);
    assert_eq!(b["pixels"], c["pixels"]);
    assert_ne!(a["data"], b["data"]);
    // Metadata does not enter the ids.
    assert_eq!(read("valid/minimal.expected.json")["data"], c["data"]);
}

#[test]
fn the_published_schema_is_the_one_the_code_generates() {
    let published: Value = serde_json::from_str(
        &std::fs::read_to_string(vectors_dir().join("../record.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        published,
        stemma_model::record_schema(),
        "spec/record.schema.json is stale: run write_vectors"
    );
}

#[test]
fn other_containers_keep_their_ids_when_stamped_and_lossless_ones_share_the_pixel_id() {
    let dir = vectors_dir();
    let read = |n: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(n)).unwrap()).unwrap()
    };
    let png = read("valid/no-record.expected.json");
    for (bare, stamped) in [
        (
            "valid/jpeg-no-record.expected.json",
            "valid/jpeg-minimal.expected.json",
        ),
        (
            "valid/webp-lossless-no-record.expected.json",
            "valid/webp-lossless-minimal.expected.json",
        ),
        (
            "valid/gif-no-record.expected.json",
            "valid/gif-minimal.expected.json",
        ),
    ] {
        let (a, b) = (read(bare), read(stamped));
        assert_eq!(
            a["data"], b["data"],
            "{stamped}: writing the record changed the data id"
        );
        assert_eq!(a["pixels"], b["pixels"], "{stamped}");
        assert!(a["record"].is_null());
        assert_eq!(b["record"]["prompt"]["positive"], "a lighthouse at dusk");
    }
    // Lossless WebP and GIF hold the same pixels as the PNG vectors: same pixel id. JPEG has none (lossy).
    assert_eq!(
        read("valid/webp-lossless-no-record.expected.json")["pixels"],
        png["pixels"]
    );
    assert_eq!(
        read("valid/gif-no-record.expected.json")["pixels"],
        png["pixels"]
    );
    assert!(read("valid/jpeg-no-record.expected.json")["pixels"].is_null());
}
