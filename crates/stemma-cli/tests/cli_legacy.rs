#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `seq`, `seq export` and the legacy route of `import` end to end, on generated Deforum-style and Disco-style run
//! folders: gaps, a restarted run, cadence in-betweens, an interpolation folder; records written losslessly and
//! once; an APNG whose frames are the input pixels.

mod common;

use common::{assert_chunks_kept, json_of, run_ok, stemma, walk};

use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

/// A tiny RGB frame with an sRGB chunk besides the image data, so that "original chunks" is more than IDAT.
fn write_png(path: &Path, seed: u8) {
    let (w, h) = (4u32, 3u32);
    let mut data = Vec::new();
    for y in 0..h {
        for x in 0..w {
            data.extend_from_slice(&[seed, (x as u8) * 40, (y as u8) * 60 + seed / 2]);
        }
    }
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_source_srgb(png::SrgbRenderingIntent::Perceptual);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
}

fn show(path: &Path) -> Value {
    let v = json_of(stemma().args(["show", "--json"]).arg(path));
    assert_eq!(v["source"], "stemma", "{v}");
    v["record"].clone()
}

fn pixel_id(path: &Path) -> String {
    let v = common::ids(path);
    v["pixels"].as_str().unwrap().to_string()
}

fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walk(root)
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

/// Each file's original chunks are all still there, byte-identical and in order.
fn assert_all_chunks_kept(before: &[(PathBuf, Vec<u8>)]) {
    for (path, bytes) in before {
        if path.extension().and_then(|e| e.to_str()) != Some("png") {
            continue;
        }
        assert_chunks_kept(
            bytes,
            &std::fs::read(path).unwrap(),
            &path.display().to_string(),
        );
    }
}

fn sequence<'a>(scan: &'a Value, key: &str) -> &'a Value {
    scan["sequences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no sequence {key} in {scan}"))
}

fn parents(record: &Value) -> Vec<(String, String, Option<f64>)> {
    record["parents"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|p| {
                    (
                        p["relation"].as_str().unwrap().to_string(),
                        p["id"].as_str().unwrap_or_default().to_string(),
                        p["t"].as_f64(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The frames of a PNG or APNG, decoded to raw samples.
fn decode_frames(path: &Path) -> Vec<Vec<u8>> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let count = reader
        .info()
        .animation_control()
        .map_or(1, |a| a.num_frames);
    let mut frames = Vec::new();
    for _ in 0..count {
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        frames.push(buf);
    }
    frames
}

fn deforum_settings(seed: i64) -> String {
    serde_json::json!({
        "W": 4, "H": 3, "seed": seed, "sampler": "Euler a", "steps": 20,
        "seed_behavior": "iter", "seed_iter_N": 1,
        "prompts": {"0": "a cat in a hat --neg blurry", "6": "a dog on a log"},
        "positive_prompts": "", "negative_prompts": "",
        "animation_mode": "2D", "max_frames": 10, "diffusion_cadence": 2, "fps": 10,
        "frame_interpolation_engine": "RIFE v4.6", "frame_interpolation_x_amount": 2,
        "frame_interpolation_slow_mo_enabled": false,
        "resume_from_timestring": false, "resume_timestring": "20230101000000",
        "sd_model_name": "v1-5-pruned-emaonly.safetensors", "sd_model_hash": "6ce0161689"
    })
    .to_string()
}

const TS: &str = "20230812221310";
const TS2: &str = "20230813090000";

/// Deforum: frames 0..=8 with 5 missing, cadence 2, a restart with a new timestring, a RIFE folder.
fn deforum_folder() -> TempDir {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    for f in (0..9u8).filter(|f| *f != 5) {
        write_png(&dir.join(format!("{TS}_{f:09}.png")), f * 25);
    }
    std::fs::write(dir.join(format!("{TS}_settings.txt")), deforum_settings(50)).unwrap();
    for f in 0..3u8 {
        write_png(&dir.join(format!("{TS2}_{f:09}.png")), 240 - f);
    }
    std::fs::write(
        dir.join(format!("{TS2}_settings.txt")),
        deforum_settings(77),
    )
    .unwrap();
    let rife = dir.join(format!("interpolated_frames_rife_{TS}"));
    std::fs::create_dir(&rife).unwrap();
    for i in 0..15u8 {
        write_png(&rife.join(format!("{i:09}.png")), 3 + i);
    }
    tmp
}

const DISCO_SETTINGS: &str = r#"{
    "text_prompts": {"0": ["a misty forest:2", "muted colours"], "5": ["a neon city"]},
    "seed": SEED, "width": 4, "height": 3, "steps": 50, "max_frames": 10,
    "diffusion_model": "512x512_diffusion_uncond_finetune_008100", "translation_z": "0: (10.0)"
}"#;

/// Disco: run 0 with frames 4 and 7 missing, run 1 a restart, a RIFE `vid_out/` folder over run 0, stray files.
fn disco_folder() -> TempDir {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    for f in (0..10u8).filter(|f| *f != 4 && *f != 7) {
        write_png(&dir.join(format!("Flow(0)_{f:04}.png")), f * 20);
    }
    std::fs::write(
        dir.join("Flow(0)_settings.txt"),
        DISCO_SETTINGS.replace("SEED", "100"),
    )
    .unwrap();
    for f in 0..3u8 {
        write_png(&dir.join(format!("Flow(1)_{f:04}.png")), 200 + f);
    }
    std::fs::write(
        dir.join("Flow(1)_settings.txt"),
        DISCO_SETTINGS.replace("SEED", "555"),
    )
    .unwrap();
    write_png(&dir.join("progress.png"), 1);
    let vid_out = dir.join("vid_out");
    std::fs::create_dir(&vid_out).unwrap();
    for i in 0..15u8 {
        write_png(&vid_out.join(format!("{i:07}.png")), 100 + i);
    }
    tmp
}

#[test]
fn deforum_folder_seq_import_show_and_export() {
    let tmp = deforum_folder();
    let dir = tmp.path();
    let frame = |i: u64| dir.join(format!("{TS}_{i:09}.png"));

    // seq --json: the runs, their gaps and the first missing frame, the restart, the interpolation folder.
    let scan = json_of(stemma().args(["seq", "--json"]).arg(dir));
    assert_eq!(scan["sequences"].as_array().unwrap().len(), 2, "{scan}");
    let run = sequence(&scan, &format!("deforum:{TS}"));
    let restart = sequence(&scan, &format!("deforum:{TS2}"));
    assert_eq!(run["tool"], "deforum");
    assert_eq!(run["frames"].as_array().unwrap().len(), 8);
    assert_eq!(run["gaps"], serde_json::json!([5]));
    assert_eq!(run["first_missing"], 5);
    assert_eq!(run["fps"], 10.0);
    assert_eq!(run["related"], serde_json::json!([restart["id"]]));
    assert_eq!(run["interpolations"][0]["factor"], 2);
    assert_eq!(run["interpolations"][0]["factor_source"], "settings");
    assert!(restart["gaps"].as_array().unwrap().is_empty());
    let seq_id = run["id"].as_str().unwrap().to_string();

    // The human summary says the same.
    let text = run_ok(stemma().arg("seq").arg(dir));
    assert!(text.contains(&seq_id), "{text}");
    assert!(text.contains("first missing 5"), "{text}");
    assert!(text.contains("same settings: a restart"), "{text}");

    // Import: the legacy route writes every frame's record, losslessly.
    let before = snapshot(dir);
    let summary = run_ok(stemma().arg("import").arg(dir));
    assert!(summary.contains("seq:deforum"), "{summary}");
    assert!(summary.contains("seq:rife"), "{summary}");
    assert!(summary.contains("26 imported"), "{summary}");
    assert_all_chunks_kept(&before);

    // A generated frame: the prompt of its scene, its place, made from the previous generated frame.
    let r6 = show(&frame(6));
    assert_eq!(r6["prompt"]["positive"], "a dog on a log");
    assert_eq!(r6["sequence"]["id"], seq_id.as_str());
    assert_eq!(r6["sequence"]["frame"], 6);
    assert_eq!(r6["params"]["seed"], "53");
    assert_eq!(
        parents(&r6),
        [("previous_frame".to_string(), pixel_id(&frame(4)), None)]
    );
    let r2 = show(&frame(2));
    assert_eq!(r2["prompt"]["positive"], "a cat in a hat");
    assert_eq!(r2["prompt"]["negative"], "blurry");
    // A cadence in-between: interpolated from both generated neighbours, with t.
    let r3 = show(&frame(3));
    assert_eq!(r3["sequence"]["frame"], 3);
    assert_eq!(r3["sequence"]["interpolated"], true);
    assert_eq!(
        parents(&r3),
        [
            ("interpolate".to_string(), pixel_id(&frame(2)), Some(0.5)),
            ("interpolate".to_string(), pixel_id(&frame(4)), Some(0.5)),
        ]
    );
    // An interpolated frame of the RIFE folder points at its two source frames.
    let i3 = show(
        &dir.join(format!("interpolated_frames_rife_{TS}"))
            .join("000000003.png"),
    );
    assert_eq!(
        parents(&i3),
        [
            ("interpolate".to_string(), pixel_id(&frame(1)), Some(0.5)),
            ("interpolate".to_string(), pixel_id(&frame(2)), Some(0.5)),
        ]
    );
    assert_eq!(i3["sequence"]["id"], format!("{seq_id}/rife-x2"));

    // A second import changes nothing.
    let after = snapshot(dir);
    let summary = run_ok(stemma().arg("import").arg(dir));
    assert!(
        summary.contains("0 imported, 26 already had a stemma record"),
        "{summary}"
    );
    assert_eq!(snapshot(dir), after);

    // seq export: an APNG of the run's frames, pixel for pixel, with the per-frame table.
    let out_dir = TempDir::new().unwrap();
    let out = out_dir.path().join("run.png");
    let printed = run_ok(
        stemma()
            .args(["seq", "export"])
            .arg(dir)
            .arg("--output")
            .arg(&out)
            .args(["--sequence", &format!("deforum:{TS}")]),
    );
    assert!(printed.contains("8 frames"), "{printed}");
    let decoded = decode_frames(&out);
    let inputs: Vec<u64> = vec![0, 1, 2, 3, 4, 6, 7, 8];
    assert_eq!(decoded.len(), inputs.len());
    for (k, i) in inputs.iter().enumerate() {
        assert_eq!(
            decoded[k],
            decode_frames(&frame(*i))[0],
            "APNG frame {k} differs from input frame {i}"
        );
    }
    let record = show(&out);
    let table = record["frames"].as_array().unwrap();
    assert_eq!(table.len(), 8);
    assert_eq!(table[0]["prompt"], "a cat in a hat");
    assert_eq!(table[0]["seed"], "50");
    assert_eq!(table[5]["prompt"], "a dog on a log");
    assert_eq!(record["sequence"]["fps"], 10.0);
    // The file's own table through `seq FILE`.
    let listed = json_of(stemma().args(["seq", "--json"]).arg(&out));
    assert_eq!(listed["frames"].as_array().unwrap().len(), 8);
    let text = run_ok(stemma().arg("seq").arg(&out));
    assert!(
        text.contains("a dog on a log") && text.contains("previous_frame"),
        "{text}"
    );

    // The output is not overwritten without --force; several sequences need --sequence.
    let bytes = std::fs::read(&out).unwrap();
    stemma()
        .args(["seq", "export"])
        .arg(dir)
        .arg("-o")
        .arg(&out)
        .args(["--sequence", &format!("deforum:{TS}")])
        .assert()
        .code(3);
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    stemma()
        .args(["seq", "export"])
        .arg(dir)
        .arg("-o")
        .arg(out_dir.path().join("other.png"))
        .assert()
        .code(2);
    run_ok(
        stemma()
            .args(["seq", "export", "--force", "--fps", "24"])
            .arg(dir)
            .arg("-o")
            .arg(&out)
            .args(["--sequence", &format!("deforum:{TS2}")]),
    );
    assert_eq!(decode_frames(&out).len(), 3);
    assert_eq!(show(&out)["sequence"]["fps"], 24.0);
}

#[test]
fn disco_folder_seq_import_dry_run_sidecar_and_rife() {
    let tmp = disco_folder();
    let dir = tmp.path();
    let frame = |i: u64| dir.join(format!("Flow(0)_{i:04}.png"));

    let scan = json_of(stemma().args(["seq", "--json"]).arg(dir));
    let run0 = sequence(&scan, "disco:Flow(0)");
    let run1 = sequence(&scan, "disco:Flow(1)");
    assert_eq!(run0["gaps"], serde_json::json!([4, 7]));
    assert_eq!(run0["first_missing"], 4);
    assert_eq!(run0["last_frame"], 9);
    assert_eq!(run0["related"], serde_json::json!([run1["id"]]));
    assert_eq!(run1["related"], serde_json::json!([run0["id"]]));
    assert!(run1.get("first_missing").is_none());
    assert_eq!(run0["interpolations"][0]["tool"], "rife");
    assert!(run0["settings_file"]
        .as_str()
        .unwrap()
        .ends_with("Flow(0)_settings.txt"));
    let stray: Vec<&str> = scan["stray"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        stray.iter().any(|p| p.ends_with("progress.png")),
        "{stray:?}"
    );

    // --dry-run writes nothing; --sidecar writes only sidecars.
    let before = snapshot(dir);
    let summary = run_ok(stemma().args(["import", "--dry-run"]).arg(dir));
    assert!(summary.contains("26 would import"), "{summary}");
    assert!(summary.contains("1 without metadata"), "{summary}");
    assert_eq!(snapshot(dir), before);
    let sidecars = TempDir::new().unwrap();
    for (p, b) in &before {
        let rel = p.strip_prefix(dir).unwrap();
        let target = sidecars.path().join(rel);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, b).unwrap();
    }
    run_ok(stemma().args(["import", "--sidecar"]).arg(sidecars.path()));
    let sidecar = sidecars.path().join("Flow(0)_0003.png.stemma.json");
    let record: Value = serde_json::from_str(&std::fs::read_to_string(sidecar).unwrap()).unwrap();
    assert_eq!(record["sequence"]["frame"], 3);
    assert_eq!(
        std::fs::read(sidecars.path().join("Flow(0)_0003.png")).unwrap(),
        std::fs::read(frame(3)).unwrap()
    );

    // Import in place.
    let summary = run_ok(stemma().args(["import", "-v"]).arg(dir));
    assert!(summary.contains("seq:disco"), "{summary}");
    assert!(summary.contains("26 imported"), "{summary}");
    assert_all_chunks_kept(&before);

    let r3 = show(&frame(3));
    assert_eq!(r3["sequence"]["frame"], 3);
    assert_eq!(r3["sequence"]["id"], run0["id"]);
    assert_eq!(r3["params"]["seed"], "103");
    assert_eq!(r3["prompt"]["parts"][0]["text"], "a misty forest");
    assert_eq!(
        parents(&r3),
        [("previous_frame".to_string(), pixel_id(&frame(2)), None)]
    );
    // The settings are referenced by hash from every frame (inline once).
    let reference = r3["settings"]["ref"].as_str().unwrap().to_string();
    assert!(reference.starts_with("sha256:"), "{reference}");
    assert_eq!(show(&frame(9))["settings"]["ref"], reference.as_str());
    // Frame 6: the later scene's prompt.
    let r6 = show(&frame(6));
    assert_eq!(r6["prompt"]["parts"][0]["text"], "a neon city");
    assert_eq!(r6["sequence"]["frame"], 6);
    // RIFE in-between 1 of vid_out lies halfway between frames 0 and 1.
    let i1 = show(&dir.join("vid_out").join("0000001.png"));
    assert_eq!(
        parents(&i1),
        [
            ("interpolate".to_string(), pixel_id(&frame(0)), Some(0.5)),
            ("interpolate".to_string(), pixel_id(&frame(1)), Some(0.5)),
        ]
    );
    assert_eq!(i1["sequence"]["time"], 0.5);

    // Twice changes nothing.
    let after = snapshot(dir);
    let summary = run_ok(stemma().arg("import").arg(dir));
    assert!(summary.contains("0 imported"), "{summary}");
    assert_eq!(snapshot(dir), after);
}

#[test]
fn import_as_dalle_marks_the_prompt_truncated() {
    let tmp = TempDir::new().unwrap();
    let prompt = "a gherkin monster in a field of sunflowers at dawn, oil painting in the style of an old master, \
                  soft light, highly detailed, dramatic sky with cl";
    assert!(prompt.len() >= 132);
    let file = tmp
        .path()
        .join(format!("DALL·E 2022-09-27 21.08.11 - {prompt}.png"));
    write_png(&file, 7);
    let plain = tmp.path().join("holiday.png");
    write_png(&plain, 8);
    let before = std::fs::read(&file).unwrap();

    let summary = run_ok(
        stemma()
            .args(["import", "--as", "dalle"])
            .arg(&file)
            .arg(&plain),
    );
    assert!(summary.contains("name:dalle"), "{summary}");
    assert!(summary.contains("1 imported"), "{summary}");
    assert!(summary.contains("1 without metadata"), "{summary}");
    let record = show(&file);
    assert_eq!(record["prompt"]["positive"], prompt);
    assert_eq!(record["prompt"]["truncated"], true);
    assert_eq!(record["generator"]["name"], "dalle");
    assert_all_chunks_kept(&[(file.clone(), before)]);
    // The plain file was left alone.
    let out = stemma()
        .args(["show", "--json"])
        .arg(&plain)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(v["source"], "stemma");

    // An unknown tool is a usage error.
    stemma()
        .args(["import", "--as", "nosuchtool"])
        .arg(&file)
        .assert()
        .code(2);
}

/// Issue 8 item 5: camera names carry no tool marker. `import` makes no record of them and `seq` finds no run in a
/// camera roll; with the run's settings file beside them they are a run's frames again.
#[test]
fn camera_names_make_no_record_and_no_run_without_a_settings_file() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let names = [
        "IMG_1234.png",
        "IMG_1236.png",
        "IMG_20240101_123456.png",
        "IMG_20240101_123457.png",
        "IMG_101234.png",
    ];
    for (i, name) in names.iter().enumerate() {
        write_png(&dir.join(name), i as u8);
    }
    let before = snapshot(dir);
    let summary = run_ok(stemma().arg("import").arg(dir));
    assert!(summary.contains("0 imported"), "{summary}");
    assert!(
        summary.contains(&format!("{} without metadata", names.len())),
        "{summary}"
    );
    assert_eq!(snapshot(dir), before, "no file was touched");
    for name in names {
        let v = json_of(stemma().args(["show", "--json"]).arg(dir.join(name)));
        assert!(v["record"].is_null(), "{name}: {v}");
    }
    let scan = json_of(stemma().args(["seq", "--json"]).arg(dir));
    assert!(
        scan["sequences"].as_array().unwrap().is_empty(),
        "a camera roll is no run: {scan}"
    );
}
