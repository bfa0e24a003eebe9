#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Stealth pnginfo is read by plain `show` (no `--deep`) from a PNG that has no other metadata.

mod common;

use common::show_view;
use tempfile::TempDir;

/// An RGBA PNG whose alpha LSBs carry `text` under `stealth_pnginfo` (column-major, MSB first), as Forge writes it.
fn stealth_png(text: &str, w: u32, h: u32) -> Vec<u8> {
    let mut bytes = b"stealth_pnginfo".to_vec();
    bytes.extend_from_slice(&((text.len() * 8) as u32).to_be_bytes());
    bytes.extend_from_slice(text.as_bytes());
    let bits: Vec<u8> = bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
        .collect();
    assert!(bits.len() <= (w * h) as usize);
    let mut img = image::RgbaImage::from_pixel(w, h, image::Rgba([90, 120, 200, 255]));
    for (k, bit) in bits.iter().enumerate() {
        let (x, y) = ((k as u32) / h, (k as u32) % h);
        let p = img.get_pixel_mut(x, y);
        p.0[3] = (p.0[3] & 0xfe) | bit;
    }
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[test]
fn plain_show_reads_stealth_data_in_a_png_without_chunks() {
    let dir = TempDir::new().unwrap();
    let text = "a cat on a sofa\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, \
                Size: 64x256, Version: f2.0.1v1.10.1";
    let path = dir.path().join("stealth.png");
    std::fs::write(&path, stealth_png(text, 64, 256)).unwrap();
    let view = show_view(&path);
    assert_eq!(view["layers"], serde_json::json!(["stealth"]), "{view}");
    assert_eq!(view["record"]["prompt"]["positive"], "a cat on a sofa");
    assert_eq!(view["record"]["params"]["seed"], "42");

    // The same pixels without the signature: nothing found, nothing invented.
    let plain = dir.path().join("plain.png");
    let img = image::RgbaImage::from_pixel(64, 256, image::Rgba([90, 120, 200, 255]));
    image::DynamicImage::ImageRgba8(img).save(&plain).unwrap();
    let view = show_view(&plain);
    assert!(view["record"].is_null(), "{view}");
}
