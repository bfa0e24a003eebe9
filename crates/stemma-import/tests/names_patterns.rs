#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! File-name rules beyond the real samples: each tool's documented shapes, folders, and A1111 patterns.

use stemma_import::names::{broken_patterns, patterns_table, unix_to_rfc3339};
use stemma_import::{recognise_filename, A1111Pattern, FileKind, Tool};

#[test]
fn every_pattern_compiles_and_ids_are_unique() {
    assert!(broken_patterns().is_empty(), "{:?}", broken_patterns());
    let table = patterns_table();
    let ids: Vec<&str> = table
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len());
}

#[track_caller]
fn tool_of(path: &str) -> (Tool, &'static str) {
    let m = recognise_filename(path).unwrap_or_else(|| panic!("{path} not recognised"));
    (m.tool, m.pattern)
}

#[test]
fn documented_shapes_of_each_tool() {
    let cases: &[(&str, Tool, &str)] = &[
        ("TimeToDisco(2)_0007.png", Tool::Disco, "disco-frame"),
        ("MyRun(1)_0000-50%.png", Tool::Disco, "disco-partial"),
        ("MyRun(1)_0003-120.png", Tool::Disco, "disco-partial"),
        ("frame_0012_l.png", Tool::Disco, "disco-vr"),
        ("MyRun(1)_blend.mp4", Tool::Disco, "disco-video"),
        ("MyRun-3_settings.txt", Tool::Disco, "disco-settings"),
        (
            "20230812221310_000000012.png",
            Tool::Deforum,
            "deforum-frame",
        ),
        ("20230812221310_00012.png", Tool::Deforum, "deforum-frame"),
        (
            "20230812221310_depth_00012.png",
            Tool::Deforum,
            "deforum-depth",
        ),
        (
            "20230812221310_00000_2634866518.png",
            Tool::Deforum,
            "deforum-still-seed",
        ),
        (
            "20230812221310_00003_grid_2634866518.png",
            Tool::Deforum,
            "deforum-grid",
        ),
        ("20230812221310.srt", Tool::Deforum, "deforum-srt"),
        (
            "20230812221310_RIFE_x2_slomo_x2.mp4",
            Tool::Deforum,
            "deforum-video",
        ),
        (
            "interpolated_frames_rife_20230812221310/000000004.png",
            Tool::Deforum,
            "deforum-interp-rife",
        ),
        (
            "interpolated_frames_film_20230812221310/frame_000000004.png",
            Tool::Deforum,
            "deforum-interp-film",
        ),
        ("bird(2)_settings.txt", Tool::Pytti, "pytti-settings"),
        (
            "bird_batch settings.txt",
            Tool::Pytti,
            "pytti-batch-settings",
        ),
        ("backup/bird/bird(2)_30.bak", Tool::Pytti, "pytti-backup"),
        ("out/steps/17.png", Tool::VqganClip, "vqgan-step"),
        ("out/steps/0017.png", Tool::VqganClip, "vqgan-step"),
        (
            "outputs/txt2img-samples/samples/00042.png",
            Tool::StableDiffusion,
            "sd-compvis-sample",
        ),
        (
            "outputs/txt2img-samples/grid-0003.png",
            Tool::StableDiffusion,
            "sd-compvis-grid",
        ),
        (
            "outputs/txt2img-grids/grid-0003.png",
            Tool::A1111,
            "a1111-grid-folder",
        ),
        (
            "outputs/txt2img-samples/a_red_fox_in_snow/seed_27_00003.png",
            Tool::StableDiffusion,
            "sd-basujindal",
        ),
        ("00012-1234567890.png", Tool::A1111, "a1111"),
        (
            "00012-1234567890-a cat-before-highres-fix.png",
            Tool::A1111,
            "a1111",
        ),
        (
            "00012-1234567890_a_cat_on_a_mat.png",
            Tool::A1111,
            "a1111-early",
        ),
        ("grid-0001-1234-a cat.jpg", Tool::A1111, "a1111-grid"),
        (
            "generation_a cat in the rain_1672531200_0.png",
            Tool::DreamStudio,
            "stability-sdk",
        ),
        (
            "2022-11-05-13-02-11-3-a_cat_sitting-12345-scale7.50-k_euler-sd-v1-4.png",
            Tool::Nmkd,
            "nmkd",
        ),
        ("2023-08-12_10-20-30_1234.png", Tool::Fooocus, "fooocus"),
        ("000012.3456789.png", Tool::InvokeAi, "invokeai2"),
        ("000012.3456789.gfpgan.png", Tool::InvokeAi, "invokeai2"),
        ("vid_out/0000012.png", Tool::Rife, "rife-video"),
        ("output/img3.png", Tool::Rife, "rife-img"),
        ("clip/interpolated_frames/frame_007.png", Tool::Film, "film"),
        (
            "myclip-2x-RIFE4.6-60fps-png/00000003.png",
            Tool::Flowframes,
            "flowframes",
        ),
        (
            "DALLE_2022-09-27_21.08.11_-_a_gherkin_monster.png",
            Tool::Dalle,
            "dalle",
        ),
        (
            "DALLÂ·E 2022-09-27 21.08.11 - a gherkin monster.png",
            Tool::Dalle,
            "dalle",
        ),
        ("a cute cat 0012.png", Tool::Generic, "generic"),
        ("12 a cute cat.png", Tool::Generic, "generic-number-first"),
    ];
    for (path, tool, pattern) in cases {
        assert_eq!(tool_of(path), (*tool, *pattern), "{path}");
    }
}

#[test]
fn fields_follow_the_rules() {
    let m = recognise_filename("20230812221310_000000012.png").unwrap();
    assert_eq!(m.frame, Some(12));
    assert_eq!(m.variant.as_deref(), Some("deforum-a1111"));
    assert_eq!(m.sequence_key.as_deref(), Some("deforum:20230812221310"));
    assert_eq!(m.kind, FileKind::Frame);

    let m = recognise_filename("myclip-2x-RIFE4.6-60fps-png/00000003.png").unwrap();
    assert_eq!(m.frame, Some(2), "Flowframes counts from 1");
    assert_eq!(m.extra["factor"], "2");
    assert_eq!(m.extra["fps"], "60");

    let m =
        recognise_filename("outputs/txt2img-samples/a_red_fox_in_snow/seed_27_00003.png").unwrap();
    assert_eq!(m.prompt.as_deref(), Some("a red fox in snow"));
    assert_eq!(m.seed.as_deref(), Some("27"));
    assert!(!m.truncated);

    let m = recognise_filename("DALLE_2022-09-27_21.08.11_-_a_gherkin_monster.png").unwrap();
    assert_eq!(m.prompt.as_deref(), Some("a gherkin monster"));

    let m = recognise_filename("a_cute_cat_1234567890.png").unwrap();
    assert_eq!(m.tool, Tool::Generic);
    assert_eq!(m.prompt.as_deref(), Some("a cute cat"));
    assert_eq!(m.seed.as_deref(), Some("1234567890"));
    assert!(
        m.truncated,
        "a generic fragment is never presented as complete"
    );

    // Disco's run 0 and index 0 decide against pytti; pytti never writes `_0`.
    assert_eq!(tool_of("MyArt(0)_3.png").0, Tool::Disco);
    assert_eq!(tool_of("MyArt(3)_0.png").0, Tool::Disco);
    assert_eq!(tool_of("MyArt(3)_4.png").0, Tool::Pytti);
    assert_eq!(tool_of("MyArt_0.png").0, Tool::Generic);

    assert_eq!(unix_to_rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(unix_to_rfc3339(1_709_000_000), "2024-02-27T02:13:20Z");
    assert!(
        recognise_filename("00001.png").is_none(),
        "a bare number has no tool"
    );
}

#[test]
fn a1111_patterns_from_settings() {
    let p = A1111Pattern::compile("[seed]-[prompt_spaces]", true).unwrap();
    let m = p.recognise("00003-42-a cat on a mat.png").unwrap();
    assert_eq!(m.counter, Some(3));
    assert_eq!(m.seed.as_deref(), Some("42"));
    assert_eq!(m.prompt.as_deref(), Some("a cat on a mat"));

    let p =
        A1111Pattern::compile("[date]_[model_name]_[seed]_[steps]_[cfg]_[prompt]", false).unwrap();
    let m = p
        .recognise("2024-02-26_sd_xl_base_1.0_1234_30_7.5_a_red_fox-1.png")
        .unwrap();
    assert_eq!(m.timestamp.as_deref(), Some("2024-02-26"));
    assert_eq!(m.extra["model"], "sd_xl_base_1.0");
    assert_eq!(m.seed.as_deref(), Some("1234"));
    assert_eq!(m.extra["steps"], "30");
    assert_eq!(m.extra["cfg_scale"], "7.5");
    assert_eq!(m.prompt.as_deref(), Some("a red fox"));
    assert_eq!(m.extra["dup"], "1");

    let p = A1111Pattern::compile("[datetime]-[unknown_token]-[seed]", true).unwrap();
    let m = p
        .recognise("00001-20240226120000-[unknown_token]-77.webp")
        .unwrap();
    assert_eq!(m.timestamp.as_deref(), Some("2024-02-26T12:00:00"));
    assert_eq!(m.seed.as_deref(), Some("77"));

    let long = "x".repeat(128);
    let p = A1111Pattern::compile("[seed]-[prompt_spaces]", true).unwrap();
    assert!(
        p.recognise(&format!("00001-5-{long}.png"))
            .unwrap()
            .truncated
    );
    assert!(p.recognise("not-a-match.png").is_none());
}

/// Numbers in names are ASCII digits, as every tool writes them: other scripts' digits are not read as a counter or a
/// seed (they would not parse as one), and the name falls through to what else it can be.
#[test]
fn only_ascii_digits_are_numbers_in_a_name() {
    let ascii = recognise_filename("00012-1234567.png").unwrap();
    assert_eq!(ascii.seed.as_deref(), Some("1234567"));
    assert_eq!(ascii.counter, Some(12));
    // The same name in Arabic-Indic digits: no pattern reads a counter or a seed from it.
    let other = recognise_filename("٠٠٠١٢-١٢٣٤٥٦٧.png");
    assert!(
        other
            .as_ref()
            .is_none_or(|m| m.seed.is_none() && m.counter.is_none()),
        "{other:?}"
    );
}
