//! The write path does its work once: the streamed PNG pixel id equals the canonical form computed from a whole
//! decoded image, a write reuses the stored pixel id when the image data did not change (and only then), and a
//! batch of writes leaves each folder's fsync to one call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;

use stemma_container::atomic::{FolderSyncs, WriteOptions};
use stemma_container::edit_file::{OpenedFile, PixelsFrom};
use stemma_container::mirror::Mirrors;
use stemma_container::ops::{self, Outcome};
use stemma_container::pixels::{hash_canonical, pixel_id};
use stemma_container::{Edit, Limits};
use stemma_model::ContentIds;

/// A PNG of `w`×`h` made by the `png` encoder from `data` (raw, packed rows).
fn encode(
    w: u32,
    h: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    palette: Option<&[u8]>,
    trns: Option<&[u8]>,
    data: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(Cursor::new(&mut out), w, h);
        e.set_color(color);
        e.set_depth(depth);
        if let Some(p) = palette {
            e.set_palette(p.to_vec());
        }
        if let Some(t) = trns {
            e.set_trns(t.to_vec());
        }
        let mut writer = e.write_header().unwrap();
        writer.write_image_data(data).unwrap();
    }
    out
}

/// Deterministic bytes, with some zeros so that alpha 0 and colour-key hits occur.
fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if x.is_multiple_of(7) {
                0
            } else {
                (x >> 8) as u8
            }
        })
        .collect()
}

#[test]
fn streamed_png_pixel_ids_equal_the_canonical_form_of_the_whole_image() {
    use png::{BitDepth as D, ColorType as C};
    let (w, h) = (13u32, 7u32);
    let limits = Limits::default();
    let row = |bits_per_pixel: u32| (w * bits_per_pixel).div_ceil(8) as usize;
    let palette: Vec<u8> = noise(16 * 3, 9);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "rgba8",
            encode(
                w,
                h,
                C::Rgba,
                D::Eight,
                None,
                None,
                &noise(row(32) * h as usize, 1),
            ),
        ),
        (
            "rgb8",
            encode(
                w,
                h,
                C::Rgb,
                D::Eight,
                None,
                None,
                &noise(row(24) * h as usize, 2),
            ),
        ),
        (
            "rgb8 tRNS",
            encode(
                w,
                h,
                C::Rgb,
                D::Eight,
                None,
                Some(&[0, 0, 0, 0, 0, 0]),
                &noise(row(24) * h as usize, 3),
            ),
        ),
        (
            "grey8",
            encode(
                w,
                h,
                C::Grayscale,
                D::Eight,
                None,
                None,
                &noise(row(8) * h as usize, 4),
            ),
        ),
        (
            "grey8 tRNS",
            encode(
                w,
                h,
                C::Grayscale,
                D::Eight,
                None,
                Some(&[0, 0]),
                &noise(row(8) * h as usize, 5),
            ),
        ),
        (
            "greyA8",
            encode(
                w,
                h,
                C::GrayscaleAlpha,
                D::Eight,
                None,
                None,
                &noise(row(16) * h as usize, 6),
            ),
        ),
        (
            "grey1",
            encode(
                w,
                h,
                C::Grayscale,
                D::One,
                None,
                None,
                &noise(row(1) * h as usize, 7),
            ),
        ),
        (
            "grey2",
            encode(
                w,
                h,
                C::Grayscale,
                D::Two,
                None,
                None,
                &noise(row(2) * h as usize, 8),
            ),
        ),
        (
            "grey4",
            encode(
                w,
                h,
                C::Grayscale,
                D::Four,
                None,
                None,
                &noise(row(4) * h as usize, 9),
            ),
        ),
        (
            "palette4 tRNS",
            encode(
                w,
                h,
                C::Indexed,
                D::Four,
                Some(&palette),
                Some(&[0, 128, 255]),
                &noise(row(4) * h as usize, 10),
            ),
        ),
        (
            "palette8",
            encode(
                w,
                h,
                C::Indexed,
                D::Eight,
                Some(&noise(256 * 3, 11)),
                None,
                &noise(row(8) * h as usize, 12),
            ),
        ),
        (
            "rgba16",
            encode(
                w,
                h,
                C::Rgba,
                D::Sixteen,
                None,
                None,
                &noise(row(64) * h as usize, 13),
            ),
        ),
        (
            "rgb16",
            encode(
                w,
                h,
                C::Rgb,
                D::Sixteen,
                None,
                None,
                &noise(row(48) * h as usize, 14),
            ),
        ),
        (
            "grey16",
            encode(
                w,
                h,
                C::Grayscale,
                D::Sixteen,
                None,
                None,
                &noise(row(16) * h as usize, 15),
            ),
        ),
        (
            "greyA16",
            encode(
                w,
                h,
                C::GrayscaleAlpha,
                D::Sixteen,
                None,
                None,
                &noise(row(32) * h as usize, 16),
            ),
        ),
    ];
    // Colour keys that the pixels do hit (the first pixel of each image is the key).
    let keyed = |n: usize, seed: u32, key: &[u8]| {
        let mut data = noise(n, seed);
        data[..key.len()].copy_from_slice(key);
        data
    };
    let keyed_cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "rgb8 key hit",
            encode(
                w,
                h,
                C::Rgb,
                D::Eight,
                None,
                Some(&[0, 10, 0, 20, 0, 30]),
                &keyed(row(24) * h as usize, 21, &[10, 20, 30]),
            ),
        ),
        (
            "grey8 key hit",
            encode(
                w,
                h,
                C::Grayscale,
                D::Eight,
                None,
                Some(&[0, 77]),
                &keyed(row(8) * h as usize, 22, &[77]),
            ),
        ),
        (
            "grey4 key hit",
            encode(
                w,
                h,
                C::Grayscale,
                D::Four,
                None,
                Some(&[0, 5]),
                &keyed(row(4) * h as usize, 23, &[0x55]),
            ),
        ),
        (
            "rgb16 key hit",
            encode(
                w,
                h,
                C::Rgb,
                D::Sixteen,
                None,
                Some(&[1, 2, 3, 4, 5, 6]),
                &keyed(row(48) * h as usize, 24, &[1, 2, 3, 4, 5, 6]),
            ),
        ),
        (
            "grey16 key hit",
            encode(
                w,
                h,
                C::Grayscale,
                D::Sixteen,
                None,
                Some(&[7, 8]),
                &keyed(row(16) * h as usize, 25, &[7, 8]),
            ),
        ),
    ];
    for (name, file) in &keyed_cases {
        // The key is hit: the first pixel is transparent, so the id differs from the same file without tRNS.
        let whole = image::load_from_memory(file).unwrap().to_rgba16();
        assert_eq!(whole.get_pixel(0, 0).0[3], 0, "{name}");
    }
    for (name, file) in cases.into_iter().chain(keyed_cases) {
        let whole = image::load_from_memory(&file).unwrap();
        assert_eq!(
            pixel_id(&file, &limits).unwrap(),
            hash_canonical(&whole),
            "{name}"
        );
    }
}

#[test]
fn a_png_cut_in_its_image_data_has_no_pixel_id() {
    let file = encode(
        64,
        64,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        None,
        None,
        &noise(64 * 64 * 3, 1),
    );
    let cut = &file[..file.len() * 2 / 3];
    assert!(pixel_id(cut, &Limits::default()).is_err());
}

#[test]
fn too_many_pixels_are_refused_before_decoding() {
    let file = encode(
        8,
        8,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        None,
        None,
        &[0; 192],
    );
    let limits = Limits {
        max_pixels: 63,
        ..Limits::default()
    };
    let err = pixel_id(&file, &limits).unwrap_err();
    assert!(err.to_string().contains("max_pixels"), "{err}");
}

fn stamped_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("a.png");
    let file = encode(
        16,
        16,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        None,
        None,
        &noise(16 * 16 * 3, 5),
    );
    std::fs::write(&path, file).unwrap();
    path
}

#[test]
fn the_stored_pixel_id_is_reused_only_when_the_image_data_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = stamped_file(dir.path());
    let limits = Limits::default();
    let bytes = std::fs::read(&path).unwrap();
    let real = ops::content_ids(&bytes, true, &limits).unwrap();
    let opened = OpenedFile::open(&path, true, &limits).unwrap();

    // Same data id: the stored pixel id is taken as it is (a made-up one shows that nothing was decoded).
    let fake = format!("sha256:{}", "ab".repeat(32));
    let stored = ContentIds {
        pixels: Some(fake.clone()),
        data: real.data.clone(),
        ..ContentIds::default()
    };
    let (ids, from) = opened.content_ids(Some(&stored), true, &limits).unwrap();
    assert_eq!(from, PixelsFrom::Reused);
    assert_eq!(ids.pixels.as_deref(), Some(fake.as_str()));
    assert_eq!(ids.data, real.data);

    // Another data id (the pixels changed since the record was written): decoded again.
    let changed = ContentIds {
        pixels: Some(fake),
        data: Some(format!("sha256:{}", "cd".repeat(32))),
        ..ContentIds::default()
    };
    let (ids, from) = opened.content_ids(Some(&changed), true, &limits).unwrap();
    assert_eq!(from, PixelsFrom::Decoded);
    assert_eq!(ids, real);

    // No stored record, or one without a pixel id: decoded.
    let (ids, from) = opened.content_ids(None, true, &limits).unwrap();
    assert_eq!((ids, from), (real.clone(), PixelsFrom::Decoded));
    let no_pixels = ContentIds {
        data: real.data.clone(),
        ..ContentIds::default()
    };
    let (ids, from) = opened.content_ids(Some(&no_pixels), true, &limits).unwrap();
    assert_eq!((ids, from), (real, PixelsFrom::Decoded));
}

#[test]
fn a_write_of_a_batch_leaves_the_folder_sync_to_one_call_and_keeps_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = stamped_file(dir.path());
    let limits = Limits::default();
    let before = std::fs::read(&path).unwrap();
    let edit = Edit::set_record(r#"{"stemma":"1.0","prompt":{"positive":"a fox"}}"#.into());
    let options = WriteOptions {
        defer_folder_sync: true,
        ..WriteOptions::default()
    };
    let opened = OpenedFile::open(&path, true, &limits).unwrap();
    let done = opened
        .write(None, &edit, &Mirrors::of(&edit), &limits, &options)
        .unwrap();
    assert_eq!(done.outcome, Outcome::Written);
    assert_eq!(done.unsynced_folder.as_deref(), Some(dir.path()));
    let syncs = FolderSyncs::default();
    syncs.add(done.unsynced_folder.as_deref());
    syncs.add(done.unsynced_folder.as_deref());
    assert!(syncs.sync().is_empty());
    // The same result as the one-call rewrite of the same bytes.
    let expected = ops::edit_bytes(&before, &edit, &limits).unwrap().bytes;
    assert_eq!(std::fs::read(&path).unwrap(), expected);
    // Written again with the same record: nothing changes, nothing is written.
    let again = OpenedFile::open(&path, true, &limits)
        .unwrap()
        .write(None, &edit, &Mirrors::of(&edit), &limits, &options)
        .unwrap();
    assert_eq!(again.outcome, Outcome::Unchanged);
    assert_eq!(again.unsynced_folder, None);
}

#[test]
fn mirrors_from_the_record_equal_mirrors_from_its_json() {
    let json = r#"{"stemma":"1.0","generator":{"name":"comfyui"},"prompt":{"positive":"a duck","negative":"blur"},"params":{"seed":"1","steps":20}}"#;
    let record = stemma_model::parse_record(json).unwrap();
    let edit = Edit {
        a1111_mirror: true,
        windows_text: true,
        ..Edit::set_record(json.into())
    };
    let typed = Mirrors::from_record(&record, &edit);
    assert_eq!(typed, Mirrors::of(&edit));
    assert_eq!(typed.windows.as_deref(), Some("a duck"));
    assert!(typed
        .a1111
        .as_deref()
        .unwrap()
        .starts_with("a duck\nNegative prompt: blur"));
    assert!(!typed.xmp.is_empty() && !typed.exif.is_empty());
    let off = Edit {
        xmp_mirrors: false,
        ..Edit::set_record(json.into())
    };
    let none = Mirrors::of(&off);
    assert!(none.xmp.is_empty() && none.a1111.is_none() && none.exif.is_empty());
}
