//! Seed inputs for every fuzz target, made from the project's own writers (tiny images of every format, stamped
//! with and without mirrors) and from the shared corpus of real generator files. Shared by `examples/seed.rs`
//! (which writes them to `fuzz/corpus/<target>/`) and `tests/replay.rs` (which runs them through the checks).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, RgbaImage};
use stemma_container::handler::RecordChange;
use stemma_container::source::Source;
use stemma_container::{exif, jpeg, ops, png, webp, Edit, Format};
use stemma_fuzz::{entries_to_bytes, FUZZ_LIMITS, RECORDS};

/// Files larger than this are seeded by their first [`HEAD_BYTES`] only (enough for the metadata of most
/// generators; whole multi-megabyte files would slow every execution).
const WHOLE_FILE_MAX: usize = 160 * 1024;
const HEAD_BYTES: usize = 64 * 1024;

/// One seed: the target it is for, a file name, the bytes.
pub struct Seed {
    pub target: &'static str,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Where the shared corpus is: `$STEMMA_SHARED/corpus`, else `../shared/corpus` beside the repository.
pub fn shared_corpus() -> PathBuf {
    std::env::var_os("STEMMA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
        .join("corpus")
}

/// Every seed. `corpus` = `None` gives the generated seeds only.
pub fn all_seeds(corpus: Option<&Path>) -> Vec<Seed> {
    let mut files: Vec<(String, Vec<u8>)> = generated_files();
    if let Some(dir) = corpus {
        for path in walk(dir) {
            let name = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('/', "__");
            files.push((name, std::fs::read(&path).unwrap()));
        }
    }
    let mut seeds = Vec::new();
    for (name, bytes) in &files {
        seeds_of_file(name, bytes, &mut seeds);
    }
    for (i, record) in RECORDS.iter().enumerate() {
        seeds.push(seed(
            "parse_record",
            format!("record{i}.json"),
            record.as_bytes(),
        ));
    }
    for (i, query) in stemma_fuzz::QUERIES.iter().enumerate() {
        seeds.push(seed("catalog_query", format!("query{i}.txt"), query.as_bytes()));
    }
    seeds.push(seed(
        "read_exif",
        "built.tiff".into(),
        &exif::build(&[
            exif::TextTag::ImageDescription("a duck".into()),
            exif::TextTag::UserComment("a duck ✓".into()),
            exif::TextTag::XpTitle("title".into()),
            exif::TextTag::XpComment("comment".into()),
        ]),
    ));
    seeds
}

fn seed(target: &'static str, name: String, bytes: &[u8]) -> Seed {
    Seed {
        target,
        name,
        bytes: bytes.to_vec(),
    }
}

/// The seeds one file gives: the reader of its format (and the writer when it is small and whole), its XMP
/// packets and EXIF blocks, its metadata entries for the importers, and the record an import makes of it.
fn seeds_of_file(name: &str, bytes: &[u8], out: &mut Vec<Seed>) {
    let head = &bytes[..bytes.len().min(HEAD_BYTES)];
    let reader_input = if bytes.len() <= WHOLE_FILE_MAX {
        bytes
    } else {
        head
    };
    let source: &dyn Source = &bytes;
    let format = ops::detect(source).unwrap_or(Format::Unknown);
    let reader = match format {
        Format::Png => Some("read_png"),
        Format::Jpeg => Some("read_jpeg"),
        Format::Webp => Some("read_webp"),
        Format::Gif => Some("read_gif"),
        Format::Avif | Format::Heif => Some("read_bmff"),
        _ => None,
    };
    if let Some(target) = reader {
        out.push(seed(target, name.into(), reader_input));
    }
    if bytes.len() <= WHOLE_FILE_MAX && reader.is_some() {
        out.push(seed("write_roundtrip", name.into(), bytes));
    }
    if name.ends_with(".json") || name.ends_with(".txt") {
        out.push(seed("parse_record", name.into(), bytes));
    }
    let Ok(meta) = ops::scan_source(source, &FUZZ_LIMITS) else {
        return;
    };
    for (i, e) in meta.entries.iter().enumerate() {
        if e.origin.contains("xmp") {
            if let Some(text) = e.value.as_text() {
                out.push(seed("read_xmp", format!("{name}.{i}.xmp"), text.as_bytes()));
            }
        }
    }
    for (i, block) in exif_blocks(format, bytes).into_iter().enumerate() {
        out.push(seed("read_exif", format!("{name}.{i}.exif"), &block));
    }
    let base_name = name.rsplit("__").next().unwrap_or(name);
    out.push(seed(
        "import_entries",
        format!("{name}.entries"),
        &entries_to_bytes(&meta.entries, Some(base_name)),
    ));
    let evidence = stemma_import::Evidence::new(&meta).with_file_name(Some(base_name));
    if let Some(imported) = stemma_import::import(&evidence).imported {
        if let Ok(json) = stemma_model::record_to_json(&imported.record) {
            out.push(seed(
                "parse_record",
                format!("{name}.record.json"),
                json.as_bytes(),
            ));
        }
    }
    if let Some(json) = &meta.record_json {
        out.push(seed(
            "parse_record",
            format!("{name}.stemma.json"),
            json.as_bytes(),
        ));
    }
}

/// The raw EXIF blocks of a file (PNG `eXIf`, JPEG APP1 `Exif`, WebP `EXIF`).
fn exif_blocks(format: Format, file: &[u8]) -> Vec<Vec<u8>> {
    let l = FUZZ_LIMITS;
    match format {
        Format::Png => png::parse_chunks(file, &l, false)
            .map(|list| {
                list.chunks
                    .iter()
                    .filter(|c| &c.kind.0 == b"eXIf")
                    .map(|c| c.data(file).to_vec())
                    .collect()
            })
            .unwrap_or_default(),
        Format::Jpeg => jpeg::parse(file, &l)
            .map(|p| {
                p.segs
                    .iter()
                    .map(|s| s.payload(file))
                    .filter(|d| d.starts_with(b"Exif\0"))
                    .map(<[u8]>::to_vec)
                    .collect()
            })
            .unwrap_or_default(),
        Format::Webp => webp::parse(file, &l)
            .map(|p| {
                p.chunks
                    .iter()
                    .filter(|c| &c.fourcc == b"EXIF")
                    .map(|c| c.payload(file).to_vec())
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Tiny images of every writable format from the project's own writers: plain, stamped with each record, and
/// stamped with every mirror.
fn generated_files() -> Vec<(String, Vec<u8>)> {
    let mut out = vec![("gen_items.avif".to_string(), avif_fixture())];
    for (ext, format) in [
        ("png", ImageFormat::Png),
        ("jpg", ImageFormat::Jpeg),
        ("webp", ImageFormat::WebP),
        ("gif", ImageFormat::Gif),
    ] {
        let plain = encode(format);
        out.push((format!("gen_plain.{ext}"), plain.clone()));
        let source: &dyn Source = &plain.as_slice();
        let handler = ops::handler_of(source).unwrap();
        for (i, record) in RECORDS.iter().enumerate() {
            for (mirrors, a1111, windows) in [(true, false, false), (true, true, true)] {
                let edit = Edit {
                    record: RecordChange::Set((*record).to_string()),
                    xmp_mirrors: mirrors,
                    a1111_mirror: a1111,
                    windows_text: windows,
                    ..Edit::default()
                };
                let stamped = handler.edit(&plain, &edit, &FUZZ_LIMITS).unwrap();
                out.push((format!("gen_stamped{i}_{a1111}.{ext}"), stamped));
            }
        }
    }
    out
}

fn encode(format: ImageFormat) -> Vec<u8> {
    let mut img = RgbaImage::new(4, 3);
    for (x, y, p) in img.enumerate_pixels_mut() {
        *p = image::Rgba([(x * 60) as u8, (y * 80) as u8, 128, 255]);
    }
    let img = DynamicImage::ImageRgba8(img);
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(img.to_rgb8())
            .write_to(&mut out, format)
            .unwrap(),
        _ => img.write_to(&mut out, format).unwrap(),
    }
    out.into_inner()
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

// ISO BMFF building (AVIF is read, not written, by stemma).

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

/// A small AVIF (ftyp, meta with av01 / Exif / XMP items, mdat), as `containers_hostile.rs` builds it.
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
