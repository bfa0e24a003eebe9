#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Command-sequence property tests (issue #8): random sequences of stamp / import / restamp / convert / strip on
//! every container, on generated files and on real files of the shared corpus. Invariants:
//! - `strip --profile stemma` after any sequence gives back the original bytes;
//! - after every command, each PNG chunk stemma does not own is byte-identical and in the same order as in the
//!   original, and the file's own XMP packet comes back exactly when stemma's description is cut out of it.

use std::io::Cursor;
use std::path::PathBuf;

use image::{DynamicImage, ImageFormat, RgbaImage};
use proptest::prelude::*;
use stemma_container::ops::edit_bytes;
use stemma_container::png::{self, encode_chunk, ITXT, TEXT};
use stemma_container::xmp::{self, Removed};
use stemma_container::{exif, jpeg, Edit, Limits, RecordChange, StripProfile};

const L: Limits = Limits::DEFAULT;

fn encode(format: ImageFormat) -> Vec<u8> {
    let img = DynamicImage::ImageRgba8(RgbaImage::from_fn(6, 5, |x, y| {
        image::Rgba([x as u8 * 40, y as u8 * 50, 9, 255])
    }));
    let img = if format == ImageFormat::Jpeg {
        DynamicImage::ImageRgb8(img.to_rgb8())
    } else {
        img
    };
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

const FOREIGN_XMP: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="GIMP"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">their caption</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;

fn generated() -> Vec<(String, Vec<u8>)> {
    let png = encode(ImageFormat::Png);
    let with = |chunks: &[Vec<u8>], after: &[Vec<u8>]| {
        let mut out = png[..33].to_vec();
        chunks.iter().for_each(|c| out.extend_from_slice(c));
        let iend = png.len() - 12;
        out.extend_from_slice(&png[33..iend]);
        after.iter().for_each(|c| out.extend_from_slice(c));
        out.extend_from_slice(&png[iend..]);
        out
    };
    let params = encode_chunk(
        TEXT,
        b"parameters\0a castle\nSteps: 20, Sampler: Euler a, Seed: 1",
    );
    let xmp_chunk = encode_chunk(
        ITXT,
        &png::encode_itxt(png::XMP_KEYWORD, FOREIGN_XMP, false),
    );
    let jpg = encode(ImageFormat::Jpeg);
    let app1 = |payload: Vec<u8>| {
        let mut s = vec![0xFF, 0xE1];
        s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        s.extend(payload);
        s
    };
    let mut exif_payload = exif::EXIF_PREFIX.to_vec();
    exif_payload.extend(exif::build(&[exif::TextTag::UserComment("theirs".into())]));
    let mut xmp_payload = jpeg::XMP_SIG.to_vec();
    xmp_payload.extend_from_slice(FOREIGN_XMP.as_bytes());
    let jpeg_with = |segments: Vec<Vec<u8>>| {
        let mut out = jpg[..2].to_vec();
        segments.iter().for_each(|s| out.extend_from_slice(s));
        out.extend_from_slice(&jpg[2..]);
        out
    };
    let mut trailer = png.clone();
    trailer.extend_from_slice(b"after IEND");
    vec![
        ("png".into(), png.clone()),
        (
            "png + parameters".into(),
            with(std::slice::from_ref(&params), &[]),
        ),
        (
            "png + text after IDAT".into(),
            with(&[], std::slice::from_ref(&params)),
        ),
        ("png + foreign XMP".into(), with(&[xmp_chunk, params], &[])),
        ("png + trailer".into(), trailer),
        ("jpeg".into(), jpg.clone()),
        (
            "jpeg + EXIF + XMP".into(),
            jpeg_with(vec![app1(exif_payload), app1(xmp_payload)]),
        ),
        ("webp".into(), encode(ImageFormat::WebP)),
        ("gif".into(), encode(ImageFormat::Gif)),
    ]
}

/// Real files of every container from `../shared/corpus` (required unless STEMMA_ALLOW_MISSING_SHARED=1).
fn corpus() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if !root.is_dir() {
        assert!(
            std::env::var_os("STEMMA_ALLOW_MISSING_SHARED").is_some_and(|v| v == "1"),
            "{} is missing (set STEMMA_ALLOW_MISSING_SHARED=1 to skip)",
            root.display()
        );
        return Vec::new();
    }
    [
        "a1111/automatic1111_cropped.png",
        "a1111/text_after_idat.png",
        "other/stability-matrix.png",
        "a1111/automatic1111_cropped.jpg",
        "other/gimp.jpg",
        "a1111/sd-webui.webp",
        "other/gimp.webp",
        "comfyui/comfyui-save-image-extended.webp",
    ]
    .iter()
    .map(|name| (name.to_string(), std::fs::read(root.join(name)).unwrap()))
    .collect()
}

#[derive(Debug, Clone)]
enum Command {
    /// `stamp` with a prompt variant and the mirrors asked for.
    Stamp {
        prompt: u8,
        xmp: bool,
        a1111: bool,
        windows: bool,
    },
    /// `import`: a record, no mirrors.
    Import,
    /// `convert`: a record with a parent edge.
    Convert,
    /// `stamp` again with the record the file already has.
    Restamp,
    /// `strip --profile stemma`.
    StripStemma,
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (0u8..4, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(prompt, xmp, a1111, windows)| Command::Stamp {
                prompt,
                xmp,
                a1111,
                windows
            }
        ),
        Just(Command::Import),
        Just(Command::Convert),
        Just(Command::Restamp),
        Just(Command::StripStemma),
    ]
}

fn record(prompt: &str, extra: &str) -> String {
    format!(
        r#"{{"stemma":"1.0","generator":{{"name":"test"}},"prompt":{{"positive":"{prompt}","negative":"blur"}},"params":{{"seed":"7","steps":20}}{extra}}}"#
    )
}

fn run(file: &[u8], command: &Command) -> Vec<u8> {
    let edit = match command {
        Command::Stamp {
            prompt,
            xmp,
            a1111,
            windows,
        } => Edit {
            record: RecordChange::Set(record(
                ["a castle", "a red fox", "ünïcödé ✓", "x & <y>"][*prompt as usize],
                "",
            )),
            xmp_mirrors: *xmp,
            a1111_mirror: *a1111,
            windows_text: *windows,
            ..Edit::default()
        },
        Command::Import => Edit {
            record: RecordChange::Set(record("a castle", "")),
            xmp_mirrors: false,
            ..Edit::default()
        },
        Command::Convert => Edit::set_record(record(
            "a castle",
            r#","parents":[{"id":"sha256:0000000000000000000000000000000000000000000000000000000000000000","relation":"upscale"}]"#,
        )),
        Command::Restamp => {
            let source: &dyn stemma_container::source::Source = &file;
            let meta = stemma_container::ops::scan_source(source, &L).unwrap();
            match meta.record_json {
                Some(json) => Edit::set_record(json),
                None => Edit::default(),
            }
        }
        Command::StripStemma => Edit::strip(StripProfile::Stemma),
    };
    edit_bytes(file, &edit, &L)
        .unwrap_or_else(|e| panic!("{command:?}: {e}"))
        .bytes
}

/// The PNG chunks stemma does not own, as bytes, in order; and the file's XMP packet with stemma's part cut out.
fn foreign_png_pieces(file: &[u8]) -> (Vec<Vec<u8>>, Option<String>) {
    let list = png::parse_chunks(file, &L, true).unwrap();
    let mut pieces = Vec::new();
    let mut packet = None;
    for c in &list.chunks {
        let data = c.data(file);
        let keyword = data.split(|&b| b == 0).next().unwrap_or(&[]);
        if c.kind == ITXT && (keyword == b"stemma" || png::is_stemma_mirror(data)) {
            continue;
        }
        if c.kind == ITXT && keyword == png::XMP_KEYWORD.as_bytes() {
            let mut budget = u64::MAX;
            let text = png::decode_text_chunk(c.kind, data, &L, &mut budget)
                .unwrap()
                .text;
            packet = match xmp::remove_stemma(&text, &L).unwrap() {
                Removed::Nothing => Some(text),
                Removed::WholePacket(_) => None,
                Removed::Packet(rest, _) => Some(rest),
            };
            continue;
        }
        pieces.push(file[c.start..c.end].to_vec());
    }
    pieces.push(file[list.trailer.clone()].to_vec());
    (pieces, packet)
}

fn check_sequence(name: &str, original: &[u8], commands: &[Command]) {
    let is_png = original.starts_with(b"\x89PNG");
    let before = is_png.then(|| foreign_png_pieces(original));
    let mut file = original.to_vec();
    for (i, c) in commands.iter().enumerate() {
        file = run(&file, c);
        if let Some(before) = &before {
            assert_eq!(
                &foreign_png_pieces(&file),
                before,
                "{name}: {:?} changed a chunk stemma does not own",
                &commands[..=i]
            );
        }
    }
    let stripped = run(&file, &Command::StripStemma);
    assert!(
        stripped == original,
        "{name}: strip --profile stemma after {commands:?} does not give back the original"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_command_sequence_strips_back_to_the_original(
        commands in proptest::collection::vec(command(), 1..7),
    ) {
        for (name, original) in generated().iter().chain(corpus().iter()) {
            check_sequence(name, original, &commands);
        }
    }
}

#[test]
fn the_issue_sequence_on_real_a1111_files() {
    // `import` then `strip --profile stemma` on the files named in issue #8.
    for (name, original) in corpus() {
        check_sequence(&name, &original, &[Command::Import]);
        check_sequence(
            &name,
            &original,
            &[
                Command::Import,
                Command::Stamp {
                    prompt: 1,
                    xmp: true,
                    a1111: true,
                    windows: true,
                },
            ],
        );
    }
}
