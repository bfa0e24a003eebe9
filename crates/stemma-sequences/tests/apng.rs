#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! APNG export: every frame decodes to the same pixels, and the record carries the per-frame table.

use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};
use stemma_container::Limits;
use stemma_model::relation;
use stemma_sequences::apng::delay_for_fps;
use stemma_sequences::{export_apng, export_sequence, scan_folder};

/// Decode every frame of an APNG with the `png` crate, as RGBA8.
fn apng_frames(path: &Path) -> (u32, Vec<Vec<u8>>) {
    let file = std::fs::File::open(path).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().unwrap();
    let actl = reader.info().animation_control.expect("acTL");
    let mut frames = Vec::new();
    for _ in 0..actl.num_frames {
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        let (w, h) = (info.width, info.height);
        let img = match (info.color_type, info.bit_depth) {
            (png::ColorType::Rgb, png::BitDepth::Eight) => {
                DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, buf).unwrap())
            }
            (png::ColorType::Rgba, png::BitDepth::Eight) => {
                DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, buf).unwrap())
            }
            (png::ColorType::Grayscale, png::BitDepth::Eight) => {
                DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, buf).unwrap())
            }
            other => panic!("unexpected {other:?}"),
        };
        frames.push(img.to_rgba8().into_raw());
    }
    (actl.num_frames, frames)
}

fn rgba_of(path: &Path) -> Vec<u8> {
    image::open(path).unwrap().to_rgba8().into_raw()
}

#[test]
fn same_format_frames_are_copied_without_reencoding() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut paths = Vec::new();
    for f in 0..5u8 {
        let p = dir.join(format!("Run(0)_{f:04}.png"));
        RgbImage::from_fn(5, 4, |x, y| Rgb([f * 50, x as u8 * 30, y as u8 * 40]))
            .save(&p)
            .unwrap();
        paths.push(p);
    }
    std::fs::write(
        dir.join("Run(0)_settings.txt"),
        r#"{"text_prompts": {"0": ["a red kite"], "3": ["a blue kite:3"]}, "seed": 9, "width": 5, "height": 4}"#,
    )
    .unwrap();
    let out = tmp.path().join("out").join("run.png");
    std::fs::create_dir(out.parent().unwrap()).unwrap();
    let seqs = scan_folder(dir, &Limits::DEFAULT).unwrap();
    assert_eq!(seqs.len(), 1);
    let export = export_sequence(&seqs[0], Some(12.0), &out, &Limits::DEFAULT).unwrap();
    assert!(export.copied);
    assert_eq!(export.frames, 5);
    assert_eq!(export.delay, (1, 12));

    let (n, frames) = apng_frames(&out);
    assert_eq!(n, 5);
    for (frame, path) in frames.iter().zip(&paths) {
        assert_eq!(frame, &rgba_of(path), "{}", path.display());
    }
    // The IDAT data of each source frame appears byte for byte in the APNG.
    let apng = std::fs::read(&out).unwrap();
    let limits = stemma_container::Limits::DEFAULT;
    for path in &paths {
        let src = std::fs::read(path).unwrap();
        let list = stemma_container::png::parse_chunks(&src, &limits, true).unwrap();
        for c in list
            .chunks
            .iter()
            .filter(|c| c.kind == stemma_container::png::IDAT)
        {
            let data = c.data(&src);
            assert!(apng.windows(data.len()).any(|w| w == data));
        }
    }

    // The record: one per file, with the per-frame table.
    let meta = stemma_container::ops::scan_path(&out, &limits).unwrap();
    assert_eq!(meta.frames, Some(5));
    let record = stemma_model::parse_record(meta.record_json.as_deref().unwrap()).unwrap();
    assert_eq!(record.frames.len(), 5);
    assert_eq!(record.sequence.as_ref().unwrap().id, seqs[0].id);
    assert!(seqs[0].id.starts_with("disco:Run(0)@"));
    assert_eq!(record.sequence.as_ref().unwrap().fps, Some(12.0));
    assert!(
        record.settings.as_ref().unwrap().data.is_some(),
        "the run's settings, once"
    );
    let prompts: Vec<&str> = record
        .frames
        .iter()
        .map(|f| f.prompt.as_deref().unwrap())
        .collect();
    assert_eq!(
        prompts,
        [
            "a red kite",
            "a red kite",
            "a red kite",
            "a blue kite:3",
            "a blue kite:3"
        ]
    );
    let seeds: Vec<&str> = record
        .frames
        .iter()
        .map(|f| f.seed.as_deref().unwrap())
        .collect();
    assert_eq!(seeds, ["9", "10", "11", "12", "13"]);
    for (i, f) in record.frames.iter().enumerate() {
        assert_eq!(f.index, i as u64);
        let pixels =
            stemma_container::pixels::pixel_id(&std::fs::read(&paths[i]).unwrap(), &limits)
                .unwrap();
        assert_eq!(f.pixels.as_deref(), Some(pixels.to_string().as_str()));
        if i > 0 {
            assert_eq!(f.parents[0].relation, relation::PREVIOUS_FRAME);
            assert_eq!(
                f.parents[0].hint.as_deref(),
                paths[i - 1].file_name().unwrap().to_str()
            );
        }
    }
    let problems = stemma_model::validate_record_json(&serde_json::to_value(&record).unwrap());
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn mixed_formats_are_reencoded_losslessly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let paths: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("{i}.png"))).collect();
    RgbImage::from_fn(3, 3, |x, y| Rgb([x as u8 * 80, y as u8 * 80, 7]))
        .save(&paths[0])
        .unwrap();
    RgbaImage::from_fn(3, 3, |x, y| {
        Rgba([9, x as u8 * 70, y as u8 * 70, 128 + x as u8])
    })
    .save(&paths[1])
    .unwrap();
    GrayImage::from_fn(3, 3, |x, y| Luma([(x * 3 + y) as u8 * 20]))
        .save(&paths[2])
        .unwrap();
    let out = dir.join("mixed.apng");
    let export = export_apng(&paths, 8.0, &out, &Limits::DEFAULT).unwrap();
    assert!(!export.copied);
    let (n, frames) = apng_frames(&out);
    assert_eq!(n, 3);
    for (frame, path) in frames.iter().zip(&paths) {
        assert_eq!(frame, &rgba_of(path), "{}", path.display());
    }
    // `image` reads the animation too.
    let decoder = image::codecs::png::PngDecoder::new(std::io::BufReader::new(
        std::fs::File::open(&out).unwrap(),
    ))
    .unwrap();
    assert!(decoder.is_apng().unwrap());
    use image::AnimationDecoder;
    let decoded: Vec<_> = decoder
        .apng()
        .unwrap()
        .into_frames()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(decoded.len(), 3);
    for (frame, path) in decoded.iter().zip(&paths) {
        assert_eq!(frame.buffer().as_raw(), &rgba_of(path));
    }
}

#[test]
fn frames_of_different_sizes_and_bad_fps_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a.png");
    let b = tmp.path().join("b.png");
    RgbImage::new(3, 3).save(&a).unwrap();
    RgbImage::new(4, 3).save(&b).unwrap();
    let out = tmp.path().join("x.png");
    assert!(export_apng(&[a.clone(), b], 10.0, &out, &Limits::DEFAULT).is_err());
    assert!(!out.exists(), "nothing written on error");
    assert!(export_apng(&[a], 0.0, &out, &Limits::DEFAULT).is_err());
    assert!(export_apng(&[], 10.0, &out, &Limits::DEFAULT).is_err());
    assert_eq!(delay_for_fps(29.97).unwrap(), (100, 2997));
    assert_eq!(delay_for_fps(24.0).unwrap(), (1, 24));
}

#[test]
fn missing_frames_keep_their_sequence_numbers_in_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for f in [0u8, 1, 3, 4] {
        RgbImage::from_fn(5, 4, |x, y| Rgb([f * 50, x as u8 * 30, y as u8 * 40]))
            .save(dir.join(format!("Run(0)_{f:04}.png")))
            .unwrap();
    }
    std::fs::write(
        dir.join("Run(0)_settings.txt"),
        r#"{"text_prompts": {"0": ["a kite"]}, "seed": 9}"#,
    )
    .unwrap();
    let out = tmp.path().join("run.apng");
    let seqs = scan_folder(dir, &Limits::DEFAULT).unwrap();
    export_sequence(&seqs[0], Some(12.0), &out, &Limits::DEFAULT).unwrap();
    let meta = stemma_container::ops::scan_path(&out, &stemma_container::Limits::DEFAULT).unwrap();
    let record = stemma_model::parse_record(meta.record_json.as_deref().unwrap()).unwrap();
    let rows: Vec<(u64, Option<u64>)> = record.frames.iter().map(|f| (f.index, f.frame)).collect();
    assert_eq!(
        rows,
        [(0, Some(0)), (1, Some(1)), (2, Some(3)), (3, Some(4))]
    );
}
