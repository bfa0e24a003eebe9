//! Fixtures: small PNGs made here with the `png` crate and stemma's own writer, and run folders of the layouts
//! Deforum and Disco Diffusion write.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use stemma_container::{ops, Edit, Limits};

/// An 8×8 RGB PNG whose pixels depend on `shade` (different shades, different pixel ids), with text chunks.
pub fn png(shade: u32, texts: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 8, 8);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        for (k, v) in texts {
            enc.add_text_chunk(k.to_string(), v.to_string()).unwrap();
        }
        let mut w = enc.write_header().unwrap();
        let mut data: Vec<u8> = (0..8 * 8 * 3u32)
            .map(|i| ((i * 7 + shade * 13) % 256) as u8)
            .collect();
        // The shade's bytes first: every shade has its own pixels.
        data[..4].copy_from_slice(&shade.to_le_bytes());
        w.write_image_data(&data).unwrap();
        w.finish().unwrap();
    }
    out
}

/// A PNG with a stemma record written by stemma's writer.
pub fn stamped(shade: u32, record: &Value) -> Vec<u8> {
    let bytes = png(shade, &[]);
    let edit = Edit::set_record(record.to_string());
    ops::edit_bytes(&bytes, &edit, &Limits::DEFAULT)
        .unwrap()
        .bytes
}

/// The first half of a file: a frame whose render was cut off.
pub fn truncated(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len() / 2].to_vec()
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

/// Every file under `dir` (recursively) with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Every file of `before` is still there with the same bytes.
pub fn assert_kept(before: &BTreeMap<PathBuf, Vec<u8>>, dir: &Path) {
    let after = snapshot(dir);
    for (path, bytes) in before {
        assert_eq!(
            after.get(path),
            Some(bytes),
            "{} changed or vanished",
            path.display()
        );
    }
}

pub const DEFORUM_TS: &str = "20230812221310";

/// Deforum (A1111 extension) settings of a 2D animation.
pub fn deforum_settings(max_frames: u64) -> Value {
    json!({
        "W": 64, "H": 64, "seed": 1000, "sampler": "euler_ancestral", "steps": 25, "scale": 7,
        "seed_behavior": "iter", "seed_iter_N": 1, "animation_mode": "2D", "max_frames": max_frames,
        "diffusion_cadence": 1, "fps": 15, "timestring": DEFORUM_TS, "batch_name": "Deforum_{timestring}",
        "prompts": {"0": "a lighthouse at dusk", "100": "a lighthouse in a storm", "140": "a calm sea"},
        "positive_prompts": "", "negative_prompts": "blurry",
        "angle": "0: (0)", "zoom": "0: (1.0), 130: (1.02)", "translation_x": "0: (0)",
        "use_init": false, "init_image": "", "strength": 0.65,
        "resume_from_timestring": false, "resume_timestring": "",
        "sd_model_name": "sd15.safetensors", "deforum_git_commit_id": "3224268"
    })
}

pub fn deforum_frame(i: u64) -> String {
    format!("{DEFORUM_TS}_{i:09}.png")
}

/// A record of another run's frame (as stemma writes into frames it sequenced).
pub fn foreign_record(frame: u64) -> Value {
    json!({
        "stemma": "1.0",
        "run": {"id": "deforum:20220101000000@aaaaaaaaaaaa", "settings": format!("sha256:{}", "a".repeat(64)), "index": frame},
        "sequence": {"id": "deforum:20220101000000@aaaaaaaaaaaa", "frame": frame}
    })
}

/// The acceptance folder: settings for `planned` frames; frames 0-76 good, 77 truncated, 78-80 of another run.
pub fn deforum_folder(dir: &Path, planned: u64, good: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let settings = serde_json::to_string_pretty(&deforum_settings(planned)).unwrap();
    write(
        &dir.join(format!("{DEFORUM_TS}_settings.txt")),
        settings.as_bytes(),
    );
    for i in 0..good {
        write(&dir.join(deforum_frame(i)), &png(i as u32, &[]));
    }
}

pub fn disco_settings(max_frames: u64) -> Value {
    json!({
        "text_prompts": {"0": ["a misty forest, trending on artstation:2", "green:1"], "100": ["a burning forest:2"]},
        "image_prompts": {}, "clip_guidance_scale": 5000, "tv_scale": 0, "range_scale": 150, "sat_scale": 0,
        "cutn_batches": 4, "max_frames": max_frames, "interp_spline": "Linear", "init_image": null,
        "init_scale": 1000, "skip_steps": 10, "frames_scale": 1500, "frames_skip_steps": "60%",
        "seed": 500, "width": 64, "height": 64, "diffusion_model": "512x512_diffusion_uncond_finetune_008100",
        "steps": 250, "key_frames": true, "angle": "0:(0)", "zoom": "0: (1), 10: (1.05)",
        "translation_x": "0: (0)", "turbo_mode": false, "turbo_steps": "3"
    })
}

pub fn disco_frame(i: u64) -> String {
    format!("TimeToDisco(3)_{i:04}.png")
}
