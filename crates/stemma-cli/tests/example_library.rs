#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The example library shipped in `examples/library/`: pictures drawn by this code, carrying the metadata of several
//! generators the way those generators write it. `make_example_library` (ignored) writes it; the other tests check
//! that stemma reads every file of it.

mod common;

use common::{ids, show_views, stemma};

use std::path::{Path, PathBuf};

fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/library")
}

/// A 96×64 picture: a sky gradient with a sun whose place and colour depend on `seed`.
fn picture(seed: u32) -> Vec<u8> {
    let (w, h) = (96u32, 64u32);
    let (cx, cy) = (20 + (seed * 37 % 56) as i32, 14 + (seed * 11 % 30) as i32);
    let mut px = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h as i32 {
        for x in 0..w as i32 {
            let d = (x - cx) * (x - cx) + (y - cy) * (y - cy);
            let sky = [
                (40 + y * 2) as u8,
                (80 + y * 2) as u8,
                (160 + (seed % 60) as i32) as u8,
            ];
            let sun = [250, (200 - (seed % 80)) as u8, 90];
            px.extend_from_slice(if d < 90 { &sun } else { &sky });
        }
    }
    px
}

fn png_with_text(seed: u32, texts: &[(&str, &str)], after_idat: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 96, 64);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        for (k, v) in texts {
            if v.is_ascii() {
                enc.add_text_chunk(k.to_string(), v.to_string()).unwrap();
            } else {
                enc.add_itxt_chunk(k.to_string(), v.to_string()).unwrap();
            }
        }
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&picture(seed)).unwrap();
        for (k, v) in after_idat {
            let mut data = k.as_bytes().to_vec();
            data.push(0);
            data.extend_from_slice(v.as_bytes());
            w.write_chunk(png::chunk::ChunkType(*b"tEXt"), &data)
                .unwrap();
        }
        w.finish().unwrap();
    }
    out
}

/// `picture(seed)` at twice the size, each pixel repeated 2×2: what an upscaler makes, with its own pixel id.
fn upscaled_png(seed: u32) -> Vec<u8> {
    let (w, h) = (96usize, 64usize);
    let small = picture(seed);
    let mut big = Vec::with_capacity(small.len() * 4);
    for y in 0..h * 2 {
        for x in 0..w * 2 {
            let at = ((y / 2) * w + x / 2) * 3;
            big.extend_from_slice(&small[at..at + 3]);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, (w * 2) as u32, (h * 2) as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(&big).unwrap();
        writer.finish().unwrap();
    }
    out
}

const A1111: &str = "masterpiece, a lighthouse on a cliff at dusk, <lora:film_grain:0.6>, dramatic sky\n\
Negative prompt: blurry, lowres, watermark\n\
Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 1234567890, Size: 768x512, \
Model hash: 45a21ea00a, Model: dreamshaper_8, Denoising strength: 0.45, Hires upscale: 2, Hires steps: 12, \
Hires upscaler: R-ESRGAN 4x+, Lora hashes: \"film_grain: 3a9c2f1b0e7d\", Version: v1.10.1";

const COMFY_PROMPT: &str = r#"{"3":{"class_type":"KSampler","inputs":{"seed":887766554433221100,"steps":20,"cfg":7.5,"sampler_name":"euler_ancestral","scheduler":"normal","denoise":1.0,"model":["4",0],"positive":["6",0],"negative":["7",0],"latent_image":["5",0]}},"4":{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"sd_xl_base_1.0.safetensors"}},"5":{"class_type":"EmptyLatentImage","inputs":{"width":1024,"height":1024,"batch_size":1}},"6":{"class_type":"CLIPTextEncode","inputs":{"text":"a paper boat on a calm lake, morning mist","clip":["4",1]}},"7":{"class_type":"CLIPTextEncode","inputs":{"text":"text, watermark","clip":["4",1]}},"8":{"class_type":"VAEDecode","inputs":{"samples":["3",0],"vae":["4",2]}},"9":{"class_type":"SaveImage","inputs":{"filename_prefix":"ComfyUI","images":["8",0]}}}"#;

#[test]
#[ignore = "writes examples/library; run by hand after changing it"]
fn make_example_library() {
    let dir = library();
    for sub in ["a1111", "comfyui", "plain", "stemma", "disco"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(
        dir.join("a1111/00012-1234567890.png"),
        png_with_text(1, &[("parameters", A1111)], &[]),
    )
    .unwrap();
    std::fs::write(
        dir.join("a1111/00013-1234567891-late-text.png"),
        png_with_text(
            2,
            &[],
            &[("parameters", &A1111.replace("1234567890", "1234567891"))],
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("comfyui/ComfyUI_00001_.png"),
        png_with_text(3, &[("prompt", COMFY_PROMPT)], &[]),
    )
    .unwrap();
    std::fs::write(
        dir.join("plain/sketch.png"),
        png_with_text(4, &[("Software", "a paint program")], &[]),
    )
    .unwrap();
    // A Disco Diffusion animation run: frames named by Disco's rule, the settings file beside them, frame 3 missing.
    for frame in [0u32, 1, 2, 4, 5] {
        std::fs::write(
            dir.join(format!("disco/LighthouseRun(0)_{frame:04}.png")),
            png_with_text(10 + frame, &[], &[]),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("disco/LighthouseRun(0)_settings.txt"),
        r#"{"text_prompts": {"0": ["a lighthouse at dusk, oil painting:3", "fog:1"], "3": ["a lighthouse in a storm:3"]}, "seed": 4242, "steps": 250, "width_height": [96, 64], "animation_mode": "2D", "max_frames": 6, "batch_name": "LighthouseRun", "diffusion_model": "512x512_diffusion_uncond_finetune_008100"}"#,
    )
    .unwrap();
    // A stamped 2× upscale of the A1111 image (nearest neighbour, so new pixels): made with stemma itself.
    let upscale = dir.join("stemma/lighthouse-upscaled.png");
    std::fs::write(&upscale, upscaled_png(1)).unwrap();
    stemma()
        .arg("stamp")
        .arg(&upscale)
        .args([
            "--prompt",
            "masterpiece, a lighthouse on a cliff at dusk, dramatic sky",
        ])
        .args([
            "--generator",
            "stemma-example",
            "--seed",
            "1234567890",
            "--param",
            "upscaler=R-ESRGAN 4x+",
        ])
        .arg("--parent")
        .arg(format!(
            "{}:upscale",
            dir.join("a1111/00012-1234567890.png").display()
        ))
        .assert()
        .success();
}

#[test]
fn stemma_reads_every_file_of_the_example_library() {
    let views = show_views(&library());
    assert_eq!(views.len(), 10);
    let by_name = |name: &str| {
        views
            .iter()
            .find(|v| v["file"].as_str().unwrap().ends_with(name))
            .unwrap()
    };
    let a1111 = by_name("00012-1234567890.png");
    assert_eq!(a1111["record"]["params"]["seed"], "1234567890");
    assert_eq!(a1111["source"], "imported");
    let late = by_name("late-text.png");
    assert_eq!(
        late["record"]["params"]["seed"], "1234567891",
        "text after IDAT must be found"
    );
    let stamped = by_name("lighthouse-upscaled.png");
    assert_eq!(stamped["source"], "stemma");
    assert_eq!(stamped["record"]["parents"][0]["relation"], "upscale");
    let plain = by_name("sketch.png");
    assert!(plain["record"].is_null());
    assert_eq!(plain["metadata"][0]["key"], "Software");
}

#[test]
fn the_upscale_points_at_its_source_by_pixel_id() {
    let dir = library();
    let ids = ids(&dir.join("a1111/00012-1234567890.png"));
    let stamped = show_views(&dir.join("stemma/lighthouse-upscaled.png"));
    assert_eq!(stamped[0]["record"]["parents"][0]["id"], ids["pixels"]);
}
