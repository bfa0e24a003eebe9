//! Test helpers: small PNGs with generator metadata or a stemma record, made here.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use stemma_container::{handler_for, ops, Edit, Format, Limits};
use stemma_model::{record_to_json, Parent, Record};

/// A 16×16 RGB picture that differs with `seed`.
pub fn pixels(seed: u32) -> Vec<u8> {
    (0..16 * 16 * 3)
        .map(|i: u32| (i.wrapping_mul(31).wrapping_add(seed.wrapping_mul(97))) as u8)
        .enumerate()
        .map(|(i, v)| if i < 4 { seed.to_le_bytes()[i] } else { v })
        .collect()
}

/// A PNG with text chunks before IDAT.
pub fn png(seed: u32, texts: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 16, 16);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        for (k, v) in texts {
            enc.add_itxt_chunk(k.to_string(), v.to_string()).unwrap();
        }
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&pixels(seed)).unwrap();
        w.finish().unwrap();
    }
    out
}

/// A1111 infotext.
pub fn infotext(prompt: &str, seed: u64, steps: u32, extra: &str) -> String {
    format!(
        "{prompt}\nNegative prompt: blurry\nSteps: {steps}, Sampler: Euler a, CFG scale: 7, Seed: {seed}, \
         Size: 16x16, Model: dreamshaper_8{extra}"
    )
}

/// An A1111 PNG.
pub fn a1111(seed: u32, prompt: &str, steps: u32, extra: &str) -> Vec<u8> {
    png(
        seed,
        &[("parameters", &infotext(prompt, seed as u64, steps, extra))],
    )
}

/// A PNG with a stemma record holding `record` (content ids filled in).
pub fn stamped(seed: u32, mut record: Record) -> Vec<u8> {
    let limits = Limits::default();
    let bytes = png(seed, &[]);
    record.content = Some(ops::content_ids(&bytes, true, &limits).unwrap());
    let json = record_to_json(&record).unwrap();
    handler_for(Format::Png)
        .unwrap()
        .edit(&bytes, &Edit::set_record(json), &limits)
        .unwrap()
}

/// A record made from `parent_file` by `relation`.
pub fn child_record(parent_file: &[u8], relation: &str, hint: &str) -> Record {
    let mut r = Record::new();
    r.prompt_mut().positive = Some("an upscale".into());
    r.parents.push(Parent {
        id: Some(
            ops::lineage_id(parent_file, &Limits::default())
                .unwrap()
                .to_string(),
        ),
        relation: relation.into(),
        hint: Some(hint.into()),
        ..Parent::default()
    });
    r
}

pub fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

/// The shared test data folder; tests fail when it is missing unless STEMMA_ALLOW_MISSING_SHARED=1.
pub fn shared() -> Option<PathBuf> {
    stemma_testdata::shared_dir("corpus")
}
