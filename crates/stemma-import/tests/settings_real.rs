#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every real settings file and sidecar in `shared/legacy/` imports into a record whose prompt and key settings
//! match the file.

mod common;

use std::path::{Path, PathBuf};

use stemma_container::Limits;
use stemma_import::settings::{import_settings_file, SeedRule};
use stemma_import::sidecars::{import_a1111_log_csv, import_a1111_txt, parse_deforum_srt};
use stemma_import::Tool;
use stemma_model::settings_hash;

fn legacy(test: &str) -> Option<PathBuf> {
    common::shared_dir(test).map(|d| d.join("legacy"))
}

fn json_of(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn disco_settings() {
    let Some(dir) = legacy("disco_settings") else {
        return;
    };
    let path = dir.join("disco_diffusion/TimeToDisco(0)_settings.txt");
    let s = import_settings_file(&path, &Limits::DEFAULT).unwrap();
    assert_eq!(s.tool, Tool::Disco);
    assert_eq!(s.format, "disco-json");
    assert_eq!(s.run_id.as_deref(), Some("disco:TimeToDisco(0)"));
    assert_eq!(s.hash, settings_hash(&json_of(&path)).unwrap().to_string());
    assert_eq!(s.schedule.len(), 2);
    let first = &s.schedule[0];
    assert_eq!(first.start_frame, 0);
    assert_eq!(first.parts.len(), 2);
    assert!(first.parts[0]
        .text
        .starts_with("A beautiful painting of a singular lighthouse"));
    assert_eq!(first.parts[0].weight, Some(1.0));
    assert_eq!(first.parts[1].text, "yellow color scheme");
    let second = &s.schedule[1];
    assert_eq!(second.start_frame, 100);
    assert_eq!(second.parts[1].text, "This prompt has weight five");
    assert_eq!(second.parts[1].weight, Some(5.0));
    // The prompt of frame f is the entry with the greatest key <= f.
    assert_eq!(
        s.prompt_at(99).unwrap().parts[1].text,
        "yellow color scheme"
    );
    assert_eq!(
        s.prompt_at(100).unwrap().parts[0].text,
        "This set of prompts start at frame 100"
    );
    // seed(frame f) = seed + f for an uninterrupted run.
    assert_eq!(s.seed_at(0).as_deref(), Some("2599079091"));
    assert_eq!(s.seed_at(7).as_deref(), Some("2599079098"));
    assert_eq!(s.params.width, Some(1280));
    assert_eq!(s.params.height, Some(768));
    assert_eq!(s.params.steps, Some(250));
    assert_eq!(
        s.params.model.as_ref().unwrap().name.as_deref(),
        Some("512x512_diffusion_uncond_finetune_008100")
    );
    assert_eq!(s.max_frames, Some(10000));

    let run = s.run_record();
    assert_eq!(run.prompt.as_ref().unwrap().scenes.len(), 2);
    assert_eq!(
        run.params.as_ref().unwrap().seed.as_deref(),
        Some("2599079091")
    );
    // Settings once per run: inline in one frame, by reference in the others.
    let f0 = s.frame_record("disco:TimeToDisco(0)", 0, true);
    let f5 = s.frame_record("disco:TimeToDisco(0)", 5, false);
    assert!(f0.settings.as_ref().unwrap().data.is_some());
    assert!(f5.settings.as_ref().unwrap().data.is_none());
    assert_eq!(
        f5.settings.as_ref().unwrap().reference.as_deref(),
        Some(s.hash.as_str())
    );
    assert_eq!(
        f5.run.as_ref().unwrap().settings.as_deref(),
        Some(s.hash.as_str())
    );
    assert_eq!(f5.sequence.as_ref().unwrap().frame, Some(5));
    assert_eq!(
        f5.params.as_ref().unwrap().seed.as_deref(),
        Some("2599079096")
    );
    let problems = stemma_model::validate_record_json(&serde_json::to_value(&f0).unwrap());
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn pytti_confs() {
    let Some(dir) = legacy("pytti_confs") else {
        return;
    };
    let demo = import_settings_file(&dir.join("pytti/core_demo.yaml"), &Limits::DEFAULT).unwrap();
    assert_eq!(demo.tool, Tool::Pytti);
    assert_eq!(demo.format, "pytti-yaml");
    assert_eq!(demo.schedule.len(), 1, "no '||': one scene");
    let scene = &demo.schedule[0];
    assert!(scene
        .positive
        .starts_with("astrophotography #pixelart | image credit nasa"));
    assert!(scene.positive.contains("deep space habitation ring made of glass | galactic nebula | wow! space is full of fractal creatures"));
    assert!(scene.positive.ends_with("map:-1:-.95"));
    let texts: Vec<&str> = scene.parts.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "astrophotography #pixelart",
            "image credit nasa",
            "space full of cybernetic neon",
            "isometric pixelart by Sachin Teng",
            "deep space habitation ring made of glass",
            "galactic nebula",
            "wow! space is full of fractal creatures darting around everywhere like fireflies",
            "satellite image",
            "text",
            "anime",
            "watermark",
            "backyard telescope",
            "map",
        ]
    );
    // `neon:3_galactic nebula`: weight 3 with the semantic mask "galactic nebula".
    assert_eq!(scene.parts[2].weight, Some(3.0));
    assert_eq!(scene.parts[2].unknown["mask"], "galactic nebula");
    // `map:-1:-.95`: negative weight, stop -0.95.
    assert_eq!(scene.parts[12].weight, Some(-1.0));
    assert_eq!(scene.parts[12].stop, Some(-0.95));
    assert_eq!(
        demo.seed,
        SeedRule::Fixed {
            seed: "-4854551145582748953".into()
        }
    );
    assert_eq!(demo.seed_at(40).as_deref(), Some("-4854551145582748953"));
    assert_eq!(demo.animated, Some(true));
    assert_eq!(demo.params.extra["steps_per_frame"], 3);
    assert_eq!(
        demo.params.extra["save_every"], 3,
        "${{steps_per_frame}} resolved"
    );
    assert_eq!(demo.params.extra["image_model"], "Limited Palette");
    assert_eq!(demo.params.extra["animation_mode"], "3D");

    let default =
        import_settings_file(&dir.join("pytti/core_default.yaml"), &Limits::DEFAULT).unwrap();
    assert!(
        default.schedule.is_empty(),
        "scenes: ??? is a required placeholder"
    );
    assert!(
        matches!(default.seed, SeedRule::Unknown { .. }),
        "seed is ${{now:%f}}"
    );
    assert_eq!(default.params.width, Some(512));
    assert_eq!(default.fps, Some(12.0));
    assert_eq!(default.params.extra["save_every"], 50);
    assert_eq!(default.params.extra["file_namespace"], "default");
    assert_eq!(default.animated, Some(false));
    assert_eq!(default.run_id.as_deref(), Some("pytti:default"));

    for name in [
        "test__test_limited_palette.yaml",
        "test__test_unlimited_palette.yaml",
        "test__test_vqgan.yaml",
    ] {
        let s = import_settings_file(&dir.join("pytti").join(name), &Limits::DEFAULT).unwrap();
        assert_eq!(s.schedule.len(), 1, "{name}");
        assert_eq!(s.schedule[0].positive, "fear is the mind killer");
        assert_eq!(s.schedule[0].parts[0].text, "fear is the mind killer");
        assert_eq!(s.seed_at(0).as_deref(), Some("12345"));
        assert_eq!(s.animated, Some(false));
        assert_eq!(s.params.extra["save_every"], 3);
        assert_eq!(s.params.extra["steps_per_scene"], 30);
        let record = s.run_record();
        assert_eq!(record.positive(), Some("fear is the mind killer"));
        assert_eq!(
            record.settings.as_ref().unwrap().format.as_deref(),
            Some("pytti-yaml")
        );
    }
    let invalid = import_settings_file(
        &dir.join("pytti/test__invalid_animation.yaml"),
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(
        invalid.run_record().positive(),
        Some("an invalid animation mode")
    );
    assert!(invalid.warnings.iter().any(|w| w.contains("1D")));
    let valid = import_settings_file(
        &dir.join("pytti/test__valid_animation.yaml"),
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(
        valid.run_record().positive(),
        Some("an okay animation mode")
    );
    assert_eq!(valid.animated, Some(true));
    let empty = import_settings_file(&dir.join("pytti/test_empty.yaml"), &Limits::DEFAULT).unwrap();
    assert!(empty.run_record().prompt.is_none());
}

#[test]
fn pytti_settings_txt_with_scene_lines() {
    let text = "{\"scenes\": \"a red fox || a blue bird:2\", \"scene_prefix\": \"\", \"scene_suffix\": \"\", \"seed\": 7, \"steps_per_scene\": 60, \"save_every\": 10, \"file_namespace\": \"fox\"}\n\nb'0.00: a red fox '\nb'6.00:  a blue bird:2 \\xc3\\xa9'\n";
    let s = stemma_import::import_settings_text("fox(2)_settings.txt", text, None).unwrap();
    assert_eq!(s.format, "pytti-settings");
    assert_eq!(s.run_id.as_deref(), Some("pytti:fox(2)"));
    assert_eq!(s.schedule.len(), 2);
    assert_eq!(s.schedule[1].start_frame, 6);
    assert_eq!(s.schedule[1].positive, "a blue bird:2 é");
    assert_eq!(s.schedule[1].parts[0].weight, None, "'2 é' is not a number");
    assert_eq!(
        s.prompt_at(5).unwrap().positive.as_deref(),
        Some("a red fox")
    );
    assert_eq!(s.seed_at(9).as_deref(), Some("7"));
}

#[test]
fn deforum_colab_still_settings() {
    let Some(dir) = legacy("deforum_colab_still_settings") else {
        return;
    };
    let s = import_settings_file(
        &dir.join("deforum/colab_20230101125957_settings.txt"),
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(s.tool, Tool::Deforum);
    assert_eq!(s.variant.as_deref(), Some("deforum-colab-still"));
    assert_eq!(s.run_id.as_deref(), Some("deforum:20230101125957"));
    assert_eq!(s.schedule.len(), 2);
    assert_eq!(
        s.prompt_at(0).unwrap().positive.as_deref(),
        Some("a beautiful lake by Asher Brown Durand, trending on Artstation")
    );
    assert_eq!(
        s.prompt_at(1).unwrap().positive.as_deref(),
        Some("a beautiful portrait of a woman by Artgerm, trending on Artstation")
    );
    assert_eq!(s.seed_at(0).as_deref(), Some("2634866518"));
    assert_eq!(
        s.seed_at(1).as_deref(),
        Some("2634866519"),
        "seed_behavior iter"
    );
    assert_eq!((s.params.width, s.params.height), (Some(768), Some(768)));
    assert_eq!(s.params.steps, Some(80));
    assert_eq!(s.params.sampler.as_deref(), Some("dpmpp_2s_a"));
    assert_eq!(s.params.cfg_scale, Some(7.0));
    assert_eq!(s.animated, Some(false));
    // The still's file name carries the same prompt, slugged: the settings are the better source.
    let m = stemma_import::recognise_filename(
        "20230101125957_00000_a_beautiful_lake_by_Asher_Brown_Durand_trending_on_Artstation.png",
    )
    .unwrap();
    assert_eq!(m.sequence_key, s.run_id);
}

#[test]
fn deforum_extension_settings() {
    let Some(dir) = legacy("deforum_extension_settings") else {
        return;
    };
    let s = import_settings_file(
        &dir.join("deforum/a1111ext_default_settings.txt"),
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(s.variant.as_deref(), Some("deforum-a1111"));
    assert_eq!(
        s.run_id.as_deref(),
        Some("deforum:20230812221310"),
        "from batch_name Deforum_{{timestring}}"
    );
    let starts: Vec<u64> = s.schedule.iter().map(|e| e.start_frame).collect();
    assert_eq!(starts, [0, 30, 60, 90]);
    let p0 = s.prompt_at(10).unwrap();
    assert_eq!(p0.positive.as_deref(), Some("tiny cute swamp bunny, highly detailed, intricate, ultra hd, sharp photo, crepuscular rays, in focus, 4k, landscape"));
    // The frame's own `--neg` part, then the common negative_prompts (args.py joins them with a space).
    assert_eq!(p0.negative.as_deref(), Some("nsfw, nude nsfw, nude"));
    let p60 = s.prompt_at(75).unwrap();
    assert_eq!(p60.positive.as_deref(), Some("a beautiful coconut"));
    assert_eq!(
        p60.negative.as_deref(),
        Some("photo, realistic  nsfw, nude nsfw, nude")
    );
    assert!(
        matches!(s.seed, SeedRule::Unknown { .. }),
        "seed -1 is random"
    );
    assert_eq!(s.fps, Some(15.0));
    assert_eq!(s.cadence, Some(2));
    assert!(s.is_cadence_frame(1) && !s.is_cadence_frame(2));
    assert_eq!(s.max_frames, Some(120));
    assert_eq!(s.animated, Some(true));
    assert!(s.feeds_previous_frame, "3D warps the previous frame");
    assert_eq!((s.params.width, s.params.height), (Some(512), Some(512)));
    assert_eq!(s.params.steps, Some(25));
    assert_eq!(s.params.sampler.as_deref(), Some("Euler a"));
    assert_eq!(s.params.cfg_scale, Some(7.0));
    let model = s.params.model.as_ref().unwrap();
    assert_eq!(model.name.as_deref(), Some("revAnimated_v122.safetensors"));
    assert_eq!(model.hash.as_deref(), Some("3f4fefd9"));
    assert_eq!(s.interpolation, None, "frame_interpolation_engine None");
    assert_eq!(s.resumes, None);

    let simple = import_settings_file(
        &dir.join("deforum/a1111ext_test_simple.input_settings.txt"),
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(simple.fps, Some(20.0));
    assert_eq!(simple.max_frames, Some(5));
    assert_eq!(simple.prompt_at(0).unwrap().positive.as_deref(), Some("tiny cute swamp bunny, highly detailed, intricate, ultra hd, sharp photo, crepuscular rays, in focus, by tomasz alen kopera"));
    assert_eq!(simple.prompt_at(0).unwrap().negative, None);
    assert_eq!(
        simple.prompt_at(60).unwrap().negative.as_deref(),
        Some("photo, realistic")
    );
    for f in 0..5 {
        assert_eq!(
            simple.seed_at(f),
            Some((f + 1).to_string()),
            "iter from seed 1"
        );
    }
}

/// The `.srt` texts inside the syrupy snapshot file (each block between `'''` lines, indented by two spaces).
fn srt_snapshots(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut name = String::new();
    let mut body: Option<Vec<String>> = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("# name: ") {
            name = n.to_string();
        } else if line.trim() == "'''" {
            match body.take() {
                Some(lines) => out.push((name.clone(), lines.join("\n"))),
                None => body = Some(Vec::new()),
            }
        } else if let Some(lines) = body.as_mut() {
            lines.push(line.strip_prefix("  ").unwrap_or(line).to_string());
        }
    }
    out
}

#[test]
fn deforum_srt_snapshots() {
    let Some(dir) = legacy("deforum_srt_snapshots") else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("deforum/a1111ext_srt_snapshots.ambr")).unwrap();
    let snaps = srt_snapshots(&text);
    assert_eq!(snaps.len(), 5);
    let simple = import_settings_file(
        &dir.join("deforum/a1111ext_test_simple.input_settings.txt"),
        &Limits::DEFAULT,
    )
    .unwrap();
    for (name, srt) in &snaps {
        let parsed = parse_deforum_srt(srt).unwrap();
        match name.as_str() {
            "test_with_parseq_inline_with_overrides" => {
                assert_eq!(parsed.frames.len(), 10);
                assert_eq!(parsed.fps, Some(60.0));
                assert!(parsed
                    .frames
                    .iter()
                    .all(|f| f.seed.as_deref() == Some("56")));
                assert!(parsed.frames[2].cadence && !parsed.frames[3].cadence);
                assert_eq!(parsed.frames[0].prompt.as_deref(), Some("Parseq prompt!"));
                assert_eq!(
                    parsed.frames[0].negative.as_deref(),
                    Some("neg parseq prompt!")
                );
                assert_eq!(parsed.frames[1].fields["Angle"], "30.111");
            }
            _ => {
                assert_eq!(parsed.frames.len(), 5, "{name}");
                assert_eq!(parsed.fps, Some(20.0), "{name}");
                for (i, f) in parsed.frames.iter().enumerate() {
                    assert_eq!(f.frame, i as u64);
                    assert!(!f.cadence);
                }
                if name != "test_with_parseq_inline_without_overrides" {
                    // The per-frame seeds are the settings' seed rule (seed 1, iter), and the prompt is frame 0's.
                    for f in &parsed.frames {
                        assert_eq!(f.seed, simple.seed_at(f.frame), "{name} frame {}", f.frame);
                        assert_eq!(
                            f.prompt,
                            simple.prompt_at(f.frame).unwrap().positive,
                            "{name}"
                        );
                        assert_eq!(f.negative, None);
                    }
                }
            }
        }
    }
}

#[test]
fn a1111_txt_sidecars() {
    let Some(dir) = legacy("a1111_txt_sidecars") else {
        return;
    };
    let r = import_a1111_txt(
        &std::fs::read_to_string(dir.join("a1111/params_24mlight_sd.txt")).unwrap(),
    );
    assert_eq!(
        r.positive(),
        Some("best quality,  1girl, smile, white hair, looking at viewer")
    );
    assert!(r
        .prompt
        .as_ref()
        .unwrap()
        .negative
        .as_deref()
        .unwrap()
        .starts_with("paintings, sketches, (worst quality:2)"));
    let p = r.params.as_ref().unwrap();
    assert_eq!(p.steps, Some(20));
    assert_eq!(p.sampler.as_deref(), Some("DPM++ SDE Karras"));
    assert_eq!(p.cfg_scale, Some(8.0));
    assert_eq!(p.seed.as_deref(), Some("461454081"));
    assert_eq!((p.width, p.height), (Some(512), Some(512)));
    assert_eq!(
        p.model.as_ref().unwrap().name.as_deref(),
        Some("anything-v4.5")
    );
    assert_eq!(
        p.model.as_ref().unwrap().hash.as_deref(),
        Some("fbcf965a62")
    );
    assert_eq!(p.denoise, Some(0.75));
    assert_eq!(p.extra["Seed resize from"], "-1x-1");

    let r = import_a1111_txt(
        &std::fs::read_to_string(dir.join("a1111/params_626170998_stable_diffusion.txt")).unwrap(),
    );
    let prompt = r.positive().unwrap();
    assert!(prompt.starts_with("Symmetrical art\nDouble Exposure Style"));
    assert!(prompt.ends_with("(orange:1.2)<lora:add-detail-xl:0.6>"));
    let neg = r.prompt.as_ref().unwrap().negative.as_deref().unwrap();
    assert!(
        neg.contains("\nimperfect hands, painting"),
        "multi-line negative kept"
    );
    assert!(neg.ends_with("(repeating hair)"));
    let p = r.params.as_ref().unwrap();
    assert_eq!(p.seed.as_deref(), Some("1921934623"));
    assert_eq!((p.width, p.height), (Some(768), Some(1152)));
    assert_eq!(p.hires.as_ref().unwrap().scale, Some(2.0));
    assert_eq!(
        p.hires.as_ref().unwrap().upscaler.as_deref(),
        Some("Latent")
    );
    assert_eq!(
        r.generator.as_ref().unwrap().version.as_deref(),
        Some("v1.6.0")
    );

    let r = import_a1111_txt(
        &std::fs::read_to_string(dir.join("a1111/params_pony_controlnet.txt")).unwrap(),
    );
    let p = r.params.as_ref().unwrap();
    assert_eq!(p.scheduler.as_deref(), Some("Automatic"));
    assert_eq!(p.clip_skip, Some(2));
    assert_eq!(p.seed.as_deref(), Some("1984013602"));
    // The one infotext parser (the A1111 importer's) reads JSON-valued parameters as JSON.
    assert_eq!(p.extra["Tiled Diffusion"]["Method"], "Mixture of Diffusers");
    assert_eq!(p.extra["Tiled Diffusion"]["Tile batch size"], 6);
    assert_eq!(
        r.generator.as_ref().unwrap().version.as_deref(),
        Some("v1.10.1")
    );

    let r = import_a1111_txt(
        &std::fs::read_to_string(dir.join("a1111/params_rpg_layered.txt")).unwrap(),
    );
    let prompt = r.positive().unwrap();
    assert!(prompt.starts_with("stylized stadium background"));
    assert!(prompt.ends_with("in the relay race. BREAK"));
    assert!(r.prompt.as_ref().unwrap().negative.is_none());
    let p = r.params.as_ref().unwrap();
    assert_eq!(p.seed.as_deref(), Some("1234"));
    assert_eq!(
        p.extra["RP Ratios"], "1,1; 1,1; 1,1; 1,1; 1,1; 1,1",
        "quoted value with commas"
    );
    assert_eq!(
        p.extra["RP Bboxes"][0],
        serde_json::json!([0, 0, 1024, 1024])
    );
    assert_eq!(p.extra["RP Merge Ratio"], "0.8");
}

#[test]
fn a1111_log_csv() {
    let Some(dir) = legacy("a1111_log_csv") else {
        return;
    };
    let rows = import_a1111_log_csv(
        &std::fs::read_to_string(dir.join("a1111/log_images_log.csv")).unwrap(),
    )
    .unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert!(row
        .filename
        .starts_with("00000-2239682674-Double Exposure Style"));
    let r = &row.record;
    assert_eq!(r.positive(), Some("Double Exposure Style, Volumetric Lighting, a girl Wrap top, light depth, dramatic atmospheric lighting, Volumetric Lighting, double image ghost effect, image combination, double exposure style"));
    assert_eq!(r.prompt.as_ref().unwrap().negative.as_deref(), Some("ugly, deformed, noisy, blurry, low contrast, ugly, deformed, noisy, blurry, low contrast"));
    let p = r.params.as_ref().unwrap();
    assert_eq!(p.seed.as_deref(), Some("2239682674"));
    assert_eq!((p.width, p.height), (Some(768), Some(1152)));
    assert_eq!(p.sampler.as_deref(), Some("DPM++ 2S a"));
    assert_eq!(p.cfg_scale, Some(4.5));
    assert_eq!(p.steps, Some(30));
    // The log row's full prompt completes the file name's cut prompt.
    let m = stemma_import::recognise_filename(&row.filename).unwrap();
    assert!(m.truncated);
    assert!(r
        .positive()
        .unwrap()
        .starts_with(m.prompt.as_deref().unwrap()));
}

#[test]
fn import_path_dispatches_by_file() {
    let Some(dir) = legacy("import_path_dispatches_by_file") else {
        return;
    };
    let r = stemma_import::import_path(
        &dir.join("disco_diffusion/TimeToDisco(0)_settings.txt"),
        None,
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(r.generator.as_ref().unwrap().name, "disco");
    assert!(r.settings.as_ref().unwrap().data.is_some());
    let r = stemma_import::import_path(
        &dir.join("pytti/core_demo.yaml"),
        Some(Tool::Pytti),
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(r.generator.as_ref().unwrap().name, "pytti");
    let r = stemma_import::import_path(
        &dir.join("a1111/params_24mlight_sd.txt"),
        None,
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(r.generator.as_ref().unwrap().name, "a1111");
    let r = stemma_import::import_path(
        &dir.join("deforum/a1111ext_default_settings.txt"),
        Some(Tool::Deforum),
        &Limits::DEFAULT,
    )
    .unwrap();
    assert_eq!(r.prompt.as_ref().unwrap().scenes.len(), 4);
}
