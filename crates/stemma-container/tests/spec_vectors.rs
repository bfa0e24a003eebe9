#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The specification's test vectors (`spec/vectors/`, described in its README): every file there is exactly what
//! this generator makes, every image vector reads as its `.expected.json` says (the record and content ids, or the
//! error category of §10.2), and the properties the specification promises hold between vectors. `write_vectors`
//! (ignored; run with `cargo test -p stemma-container --test spec_vectors -- --ignored`) regenerates the files.

#[path = "support/json_vectors.rs"]
mod json_vectors;
#[path = "support/pictures.rs"]
mod pictures;
#[path = "support/reader.rs"]
mod reader;
#[path = "support/writer_vectors.rs"]
mod writer_vectors;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pictures::*;
use reader::read_vector;
use serde_json::{json, Value};
use stemma_container::png::{encode_chunk, encode_itxt, ChunkType};
use stemma_container::{Edit, Format, Limits};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/vectors")
}

pub const MINIMAL: &str = r#"{"stemma":"1.0","prompt":{"positive":"a lighthouse at dusk"},"params":{"seed":"18446744073709551615","steps":30}}"#;

pub fn itxt(keyword: &str, text: &str, compress: bool) -> Vec<u8> {
    encode_chunk(ChunkType(*b"iTXt"), &encode_itxt(keyword, text, compress))
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    encode_chunk(ChunkType(*kind), data)
}

/// The 4×4 ramp as an RGBA PNG with chunks before and after IDAT.
pub fn rgba(before: &[Vec<u8>], after: &[Vec<u8>]) -> Vec<u8> {
    png(
        (4, 4),
        6,
        8,
        0,
        &rgba8_rows(&ramp()),
        (None, None),
        before,
        after,
        6,
    )
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

/// The 4×4 ramp as a JPEG, a lossless WebP and a GIF, written by the `image` crate.
pub fn other_containers() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut pixels = image::RgbaImage::new(4, 4);
    for (y, line) in ramp().iter().enumerate() {
        for (x, p) in line.iter().enumerate() {
            pixels.put_pixel(x as u32, y as u32, image::Rgba(*p));
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
pub fn stamp(format: Format, file: &[u8], record: &str) -> Vec<u8> {
    stemma_container::handler_for(format)
        .unwrap()
        .edit(
            file,
            &Edit::set_record(record.to_string()),
            &Limits::default(),
        )
        .unwrap()
}

fn full_record() -> String {
    json!({
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
    .to_string()
}

/// A stemma iTXt chunk with a chosen compression flag and method and raw text bytes.
fn stemma_chunk_raw(flag: u8, method: u8, text: &[u8]) -> Vec<u8> {
    let mut data = b"stemma\0".to_vec();
    data.extend_from_slice(&[flag, method, 0, 0]);
    data.extend_from_slice(text);
    chunk(b"iTXt", &data)
}

/// The workflow text of the `raw-reference` vector: kept once, in its own tEXt chunk.
pub const WORKFLOW: &str =
    r#"{"3":{"class_type":"KSampler","inputs":{"seed":18446744073709551615,"steps":20}}}"#;

pub fn raw_reference_record() -> String {
    let mut record = stemma_model::parse_record(
        r#"{"stemma":"1.0","generator":{"name":"comfyui"},"prompt":{"positive":"a fox"}}"#,
    )
    .unwrap();
    record.raw.push(stemma_model::RawEntry::by_reference(
        "png:tEXt",
        Some("prompt"),
        WORKFLOW.as_bytes(),
    ));
    stemma_model::record_to_json(&record).unwrap()
}

/// (file name, bytes, expected error category or None) for every image vector.
fn image_vectors() -> Vec<(String, Vec<u8>, Option<&'static str>)> {
    let (plte, indices) = palette_version();
    let big = format!(
        r#"{{"stemma":"1.0","prompt":{{"positive":"compressed"}},"raw":[{{"origin":"png:tEXt","key":"workflow","text":"{}"}}]}}"#,
        "x".repeat(2000)
    );
    let good = rgba(&[], &[]);
    let (jpeg, webp, gif) = other_containers();
    let mut bad_crc = rgba(&[itxt("stemma", MINIMAL, false)], &[]);
    let idat_at = bad_crc.windows(4).position(|w| w == b"IDAT").unwrap();
    bad_crc[idat_at + 6] ^= 0x01;
    let mut record_crc = rgba(&[itxt("stemma", MINIMAL, false)], &[]);
    let at = record_crc.windows(6).position(|w| w == b"stemma").unwrap();
    record_crc[at + 20] ^= 0x01;
    let mut comment_crc = rgba(
        &[
            chunk(b"tEXt", b"Comment\0hello"),
            itxt("stemma", MINIMAL, false),
        ],
        &[],
    );
    let at = comment_crc.windows(5).position(|w| w == b"hello").unwrap();
    comment_crc[at] = b'j';
    let mut too_large = good[..33].to_vec();
    too_large.extend_from_slice(&0x8000_0000u32.to_be_bytes());
    too_large.extend_from_slice(b"tEXt");
    let mut bomb_data = b"stemma\0\x01\0\0\0".to_vec();
    bomb_data.extend(stemma_container::text::deflate(&vec![
        b' ';
        17 * 1024 * 1024
    ]));
    let with = |text: &str| rgba(&[itxt("stemma", text, false)], &[]);
    let transparent = |colour: u8| -> Vec<Vec<[u8; 4]>> {
        let mut p = ramp();
        p[0][0] = [colour, 200, 17, 0];
        p[3][3] = [colour, 0, colour, 0];
        p
    };
    let grey16: Vec<u8> = [0u8, 0x00, 0x00, 0x12, 0x34, 0, 0xAB, 0xCD, 0xFF, 0xFF].to_vec();
    let grey4: Vec<u8> = vec![0, 0x0F, 0x7A, 0, 0x35, 0xC1];
    let rgb_trns: Vec<u8> = vec![0, 10, 20, 30, 40, 50, 60, 0, 10, 20, 30, 1, 2, 3];
    let webp_frame = [
        [255, 0, 0, 255],
        [0, 255, 0, 255],
        [0, 0, 255, 128],
        [9, 9, 9, 0],
    ];
    vec![
        ("valid/minimal.png".into(), with(MINIMAL), None),
        ("valid/full-record.png".into(), with(&full_record()), None),
        (
            "valid/compressed-record.png".into(),
            rgba(&[itxt("stemma", &big, true)], &[]),
            None,
        ),
        (
            "valid/record-after-idat.png".into(),
            rgba(&[], &[itxt("stemma", MINIMAL, false)]),
            None,
        ),
        (
            "valid/two-records.png".into(),
            rgba(
                &[itxt("stemma", MINIMAL, false)],
                &[itxt("stemma", r#"{"stemma":"1.0"}"#, false)],
            ),
            None,
        ),
        ("valid/ancillary-bad-crc.png".into(), comment_crc, None),
        (
            "valid/raw-reference.png".into(),
            rgba(
                &[
                    chunk(
                        b"tEXt",
                        &[b"prompt\0".as_slice(), WORKFLOW.as_bytes()].concat(),
                    ),
                    itxt("stemma", &raw_reference_record(), false),
                ],
                &[],
            ),
            None,
        ),
        (
            "valid/later-id-scheme.png".into(),
            with(&format!(
                r#"{{"stemma":"1.1","content":{{"pixels":"sha256-px2:{}"}},"a_1_1_member":true}}"#,
                "c".repeat(64)
            )),
            None,
        ),
        ("valid/no-record.png".into(), good.clone(), None),
        (
            "valid/same-pixels-palette.png".into(),
            png((4, 4), 3, 8, 0, &indices, (Some(&plte), None), &[], &[], 9),
            None,
        ),
        (
            "valid/same-pixels-rgba-level0.png".into(),
            png(
                (4, 4),
                6,
                8,
                0,
                &rgba8_rows(&ramp()),
                (None, None),
                &[],
                &[],
                0,
            ),
            None,
        ),
        (
            "valid/pixels-adam7.png".into(),
            png(
                (4, 4),
                6,
                8,
                1,
                &adam7_rows(&ramp()),
                (None, None),
                &[],
                &[],
                6,
            ),
            None,
        ),
        (
            "valid/pixels-grey16.png".into(),
            png((2, 2), 0, 16, 0, &grey16, (None, None), &[], &[], 6),
            None,
        ),
        (
            "valid/pixels-grey4.png".into(),
            png((3, 2), 0, 4, 0, &grey4, (None, None), &[], &[], 6),
            None,
        ),
        (
            "valid/pixels-rgb-trns.png".into(),
            png(
                (2, 2),
                2,
                8,
                0,
                &rgb_trns,
                (None, Some(&[0, 10, 0, 20, 0, 30])),
                &[],
                &[],
                6,
            ),
            None,
        ),
        (
            "valid/pixels-transparent-coloured.png".into(),
            png(
                (4, 4),
                6,
                8,
                0,
                &rgba8_rows(&transparent(255)),
                (None, None),
                &[],
                &[],
                6,
            ),
            None,
        ),
        (
            "valid/pixels-transparent-zeroed.png".into(),
            png(
                (4, 4),
                6,
                8,
                0,
                &rgba8_rows(&transparent(0)),
                (None, None),
                &[],
                &[],
                6,
            ),
            None,
        ),
        ("valid/pixels-animated.gif".into(), gif_small_frame(), None),
        (
            "valid/pixels-animated-composite.png".into(),
            png(
                (4, 4),
                6,
                8,
                0,
                &rgba8_rows(&gif_small_frame_expected()),
                (None, None),
                &[],
                &[],
                6,
            ),
            None,
        ),
        (
            "valid/pixels-animated-webp.webp".into(),
            webp_small_frame(&webp_frame),
            None,
        ),
        (
            "valid/pixels-animated-webp-composite.png".into(),
            {
                let mut c = vec![vec![[0u8; 4]; 4]; 4];
                c[2][2] = webp_frame[0];
                c[2][3] = webp_frame[1];
                c[3][2] = webp_frame[2];
                c[3][3] = [0, 0, 0, 0];
                png((4, 4), 6, 8, 0, &rgba8_rows(&c), (None, None), &[], &[], 6)
            },
            None,
        ),
        ("valid/jpeg-no-record.jpg".into(), jpeg.clone(), None),
        (
            "valid/jpeg-minimal.jpg".into(),
            stamp(Format::Jpeg, &jpeg, MINIMAL),
            None,
        ),
        (
            "valid/webp-lossless-no-record.webp".into(),
            webp.clone(),
            None,
        ),
        (
            "valid/webp-lossless-minimal.webp".into(),
            stamp(Format::Webp, &webp, MINIMAL),
            None,
        ),
        ("valid/gif-no-record.gif".into(), gif.clone(), None),
        (
            "valid/gif-minimal.gif".into(),
            stamp(Format::Gif, &gif, MINIMAL),
            None,
        ),
        (
            "valid/avif-no-record.avif".into(),
            writer_vectors::avif(&[]),
            None,
        ),
        (
            "valid/avif-with-exif.avif".into(),
            writer_vectors::avif(b"Exif\0\0MM\0*\0\0\0\x08\0\0"),
            None,
        ),
        (
            "invalid/truncated.png".into(),
            good[..good.len() - 7].to_vec(),
            Some("truncated"),
        ),
        ("invalid/bad-crc.png".into(), bad_crc, Some("crc")),
        ("invalid/record-bad-crc.png".into(), record_crc, Some("crc")),
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
            rgba(&[chunk(b"iTXt", &bomb_data)], &[]),
            Some("limit"),
        ),
        (
            "invalid/unknown-compression.png".into(),
            rgba(&[stemma_chunk_raw(1, 7, b"x")], &[]),
            Some("bad-compression"),
        ),
        (
            "invalid/bad-json.png".into(),
            with("{\"stemma\":\"1.0\","),
            Some("bad-json"),
        ),
        (
            "invalid/not-utf8.png".into(),
            rgba(
                &[stemma_chunk_raw(
                    0,
                    0,
                    b"{\"stemma\":\"1.0\",\"prompt\":{\"positive\":\"caf\xe9\"}}",
                )],
                &[],
            ),
            Some("bad-json"),
        ),
        (
            "invalid/duplicate-member.png".into(),
            with(r#"{"stemma":"1.0","prompt":{"positive":"a","positive":"b"}}"#),
            Some("bad-json"),
        ),
        (
            "invalid/not-an-object.png".into(),
            with(r#"["stemma","1.0"]"#),
            Some("bad-json"),
        ),
        (
            "invalid/version-2.png".into(),
            with(r#"{"stemma":"2.0"}"#),
            Some("unsupported-version"),
        ),
        (
            "invalid/numeric-seed.png".into(),
            with(r#"{"stemma":"1.0","params":{"seed":42}}"#),
            Some("schema"),
        ),
        (
            "invalid/null-member.png".into(),
            with(r#"{"stemma":"1.0","prompt":{"positive":null}}"#),
            Some("schema"),
        ),
    ]
}

/// Every file under `spec/vectors/` except the README, by relative path.
fn all_files() -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for (name, bytes, _) in image_vectors() {
        let mut expected = serde_json::to_string_pretty(&read_vector(&bytes)).unwrap();
        expected.push('\n');
        let stem = name.rsplit_once('.').unwrap().0;
        files.insert(format!("{stem}.expected.json"), expected.into_bytes());
        files.insert(name, bytes);
    }
    files.extend(json_vectors::files());
    files.extend(writer_vectors::files());
    files
}

#[test]
#[ignore = "regenerates spec/vectors; run by hand after changing the vectors"]
fn write_vectors() {
    let dir = vectors_dir();
    for (name, bytes) in all_files() {
        let path = dir.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
    }
    std::fs::write(
        dir.join("../record.schema.json"),
        serde_json::to_string_pretty(&stemma_model::record_schema()).unwrap() + "\n",
    )
    .unwrap();
}

fn files_on_disk(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_on_disk(&path, base, out);
        } else {
            out.push(
                path.strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

#[test]
fn every_vector_on_disk_is_what_the_generator_makes() {
    let dir = vectors_dir();
    let files = all_files();
    for (name, bytes) in &files {
        let on_disk = std::fs::read(dir.join(name))
            .unwrap_or_else(|_| panic!("{name} missing: run write_vectors"));
        assert!(
            on_disk == *bytes,
            "{name} differs from what the generator makes: run write_vectors"
        );
    }
    let mut listed = Vec::new();
    files_on_disk(&dir, &dir, &mut listed);
    // `runs/` holds the run-manifest vectors, made and checked by stemma-runs' own test.
    listed.retain(|n| n != "README.md" && !n.starts_with("runs/"));
    for name in listed {
        assert!(
            files.contains_key(&name),
            "{name} is on disk but no longer generated"
        );
    }
}

#[test]
fn every_image_vector_gives_its_category() {
    for (name, bytes, error) in image_vectors() {
        let read = read_vector(&bytes);
        match error {
            Some(category) => assert_eq!(read["error"], category, "{name}"),
            None => assert!(read.get("error").is_none(), "{name}: {read}"),
        }
    }
}

fn expected(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(vectors_dir().join(name)).unwrap()).unwrap()
}

#[test]
fn readers_are_strict_or_lenient_about_a_numeric_seed() {
    let v = expected("invalid/numeric-seed.expected.json");
    assert_eq!(v["error"], "schema");
    assert_eq!(v["lenient"]["record"]["params"]["seed"], "42");
}

#[test]
fn a_record_after_idat_and_the_first_of_two_are_read() {
    assert_eq!(
        expected("valid/record-after-idat.expected.json")["record"]["params"]["seed"],
        "18446744073709551615"
    );
    let two = expected("valid/two-records.expected.json");
    assert_eq!(two["record"]["prompt"]["positive"], "a lighthouse at dusk");
    assert_eq!(two["warnings"], json!(["several-records"]));
    let crc = expected("valid/ancillary-bad-crc.expected.json");
    assert_eq!(crc["warnings"], json!(["crc"]));
    assert!(crc["record"].is_object());
}

#[test]
fn pixel_ids_follow_the_canonical_form() {
    let px = |n: &str| expected(&format!("valid/{n}.expected.json"))["pixels"].clone();
    let ramp_id = px("no-record");
    for same in [
        "same-pixels-palette",
        "same-pixels-rgba-level0",
        "pixels-adam7",
        "webp-lossless-no-record",
        "gif-no-record",
    ] {
        assert_eq!(px(same), ramp_id, "{same}");
    }
    assert_eq!(
        px("pixels-transparent-coloured"),
        px("pixels-transparent-zeroed")
    );
    assert_ne!(px("pixels-transparent-coloured"), ramp_id);
    assert_eq!(
        px("pixels-animated"),
        px("pixels-animated-composite"),
        "GIF first frame on a transparent canvas"
    );
    assert_eq!(
        px("pixels-animated-webp"),
        px("pixels-animated-webp-composite"),
        "WebP first frame on a transparent canvas"
    );
    assert!(expected("valid/jpeg-no-record.expected.json")["pixels"].is_null());
}

#[test]
fn pixel_ids_of_16_bit_grey_sub_8_bit_and_trns_are_computed_by_hand() {
    use sha2::{Digest, Sha256};
    let id = |w: u32, h: u32, depth: u8, samples: &[u8]| {
        let mut hasher = Sha256::new();
        hasher.update(b"stemma:pixels:1");
        hasher.update(w.to_be_bytes());
        hasher.update(h.to_be_bytes());
        hasher.update([depth]);
        hasher.update(samples);
        format!("sha256:{}", hex::encode(hasher.finalize()))
    };
    let px = |n: &str| {
        expected(&format!("valid/{n}.expected.json"))["pixels"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let g16 = |v: [u8; 2]| [v[0], v[1], v[0], v[1], v[0], v[1], 0xFF, 0xFF];
    let grey16 = [
        g16([0, 0]),
        g16([0x12, 0x34]),
        g16([0xAB, 0xCD]),
        g16([0xFF, 0xFF]),
    ]
    .concat();
    assert_eq!(px("pixels-grey16"), id(2, 2, 16, &grey16));
    // 4-bit grey 0, F, 7, A, 3, 5, C, 1 (the last sample of each row is padding): v × 17.
    let g = |v: u8| [v * 17, v * 17, v * 17, 255];
    let grey4 = [g(0), g(15), g(7), g(3), g(5), g(12)].concat();
    assert_eq!(px("pixels-grey4"), id(3, 2, 8, &grey4));
    // tRNS 10,20,30: that colour becomes transparent, and transparent pixels are 0,0,0,0.
    let trns = [
        [0, 0, 0, 0],
        [40, 50, 60, 255],
        [0, 0, 0, 0],
        [1, 2, 3, 255],
    ]
    .concat();
    assert_eq!(px("pixels-rgb-trns"), id(2, 2, 8, &trns));
}

#[test]
fn data_ids_do_not_change_when_a_record_is_written() {
    let id = |n: &str| expected(&format!("valid/{n}.expected.json"))["data"].clone();
    assert_eq!(id("minimal"), id("no-record"));
    assert_ne!(id("same-pixels-palette"), id("no-record"));
    for (bare, stamped) in [
        ("jpeg-no-record", "jpeg-minimal"),
        ("webp-lossless-no-record", "webp-lossless-minimal"),
        ("gif-no-record", "gif-minimal"),
    ] {
        assert_eq!(id(bare), id(stamped), "{stamped}");
        assert_eq!(
            expected(&format!("valid/{stamped}.expected.json"))["record"]["prompt"]["positive"],
            "a lighthouse at dusk"
        );
    }
    // AVIF: the Exif item does not enter the data id; the item properties do (checked in writer_vectors).
    assert_eq!(id("avif-no-record"), id("avif-with-exif"));
}

#[test]
fn a_later_minor_version_with_a_new_id_scheme_is_read() {
    let v = expected("valid/later-id-scheme.expected.json");
    assert_eq!(v["record"]["stemma"], "1.1");
    assert!(!stemma_model::is_computable_id(
        v["record"]["content"]["pixels"].as_str().unwrap()
    ));
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
