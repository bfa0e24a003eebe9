#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A frame beside its run's settings file (Disco Diffusion, pytti, Deforum) or Deforum's subtitles resolves with the
//! prompt and seed those files give that frame: the run's files are importers of the one registry, read through
//! the folder context. Settings files are the real ones in `shared/legacy/`, copied under the names the tools give
//! them beside frames made here.

mod common;

use std::path::{Path, PathBuf};

use stemma_container::Limits;
use stemma_import::{resolve, Depth, RecordSource, ResolveOptions, Resolved, Tier};

fn legacy() -> Option<PathBuf> {
    common::shared_data("legacy").map(|d| d.join("legacy"))
}

/// A 2×2 RGB PNG without metadata: what Disco, pytti and Deforum write.
fn frame(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 2, 2);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[9u8; 12]).unwrap();
    writer.finish().unwrap();
}

fn copy(from: &Path, to: &Path) {
    std::fs::write(to, std::fs::read(from).unwrap()).unwrap();
}

fn resolved(path: &Path) -> Resolved {
    resolve(path, &ResolveOptions::default()).unwrap()
}

fn record_dialect(r: &Resolved) -> &'static str {
    r.record_layer().unwrap().dialect
}

fn positive(r: &Resolved) -> String {
    let record = r.record.as_ref().unwrap();
    record.prompt.as_ref().unwrap().positive.clone().unwrap()
}

fn seed(r: &Resolved) -> Option<String> {
    let record = r.record.as_ref().unwrap();
    record.params.as_ref().and_then(|p| p.seed.clone())
}

#[test]
fn a_disco_frame_beside_its_settings_gets_the_scheduled_prompt_and_its_seed() {
    let Some(legacy) = legacy() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    copy(
        &legacy.join("disco_diffusion/TimeToDisco(0)_settings.txt"),
        &dir.path().join("TimeToDisco(0)_settings.txt"),
    );
    // The still the run really wrote (unpadded index 0), an animation frame (padded) after the second prompt
    // starts (text_prompts "100"), and a second still of the batch.
    for name in [
        "TimeToDisco(0)_0.png",
        "TimeToDisco(0)_0120.png",
        "TimeToDisco(0)_1.png",
    ] {
        frame(&dir.path().join(name));
    }

    let still = resolved(&dir.path().join("TimeToDisco(0)_0.png"));
    assert_eq!(still.source, Some(RecordSource::Imported));
    assert_eq!(record_dialect(&still), "disco-settings");
    let layer = still.layers.iter().find(|l| l.dialect == "disco-settings");
    assert_eq!(layer.unwrap().tier, Tier::Beside);
    assert!(
        still.layer_ids().contains(&"filename"),
        "{:?}",
        still.layers
    );
    assert_eq!(
        positive(&still),
        "A beautiful painting of a singular lighthouse, shining its light across a tumultuous sea of blood by \
         greg rutkowski and thomas kinkade, Trending on artstation. | yellow color scheme"
    );
    assert_eq!(seed(&still).as_deref(), Some("2599079091"));
    let record = still.record.as_ref().unwrap();
    assert_eq!(record.generator.as_ref().unwrap().name, "disco");
    let settings = record.settings.as_ref().unwrap();
    assert_eq!(settings.format.as_deref(), Some("disco-json"));
    assert!(settings.data.is_some(), "the frame carries the settings");
    let sequence = record.sequence.as_ref().unwrap();
    assert!(
        sequence.id.starts_with("disco:TimeToDisco(0)@"),
        "{}",
        sequence.id
    );
    assert_eq!(sequence.frame, Some(0));
    assert_eq!(record.params.as_ref().unwrap().width, Some(1280));

    // An animation frame: seed + frame (disco.py), the prompt from frame 100 on.
    let animated = resolved(&dir.path().join("TimeToDisco(0)_0120.png"));
    assert_eq!(
        positive(&animated),
        "This set of prompts start at frame 100 | This prompt has weight five:5"
    );
    assert_eq!(seed(&animated).as_deref(), Some("2599079211"));
    // A still after the first: Disco does not re-seed a batch, so its seed is not known.
    let second = resolved(&dir.path().join("TimeToDisco(0)_1.png"));
    assert_eq!(record_dialect(&second), "disco-settings");
    assert_eq!(seed(&second), None);
    assert_eq!(
        second
            .record
            .as_ref()
            .unwrap()
            .sequence
            .as_ref()
            .unwrap()
            .id,
        still.record.as_ref().unwrap().sequence.as_ref().unwrap().id,
        "frames of one run share the sequence id"
    );
}

#[test]
fn without_its_settings_a_frame_is_read_from_its_name_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("TimeToDisco(0)_0003.png");
    frame(&path);
    let r = resolved(&path);
    assert_eq!(r.layer_ids(), vec!["filename"]);
    assert!(r.record.as_ref().unwrap().prompt.is_none());
}

/// The cues of `name` in the syrupy snapshot file of the Deforum extension's tests (real `.srt` output).
fn srt_snapshot(legacy: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(legacy.join("deforum/a1111ext_srt_snapshots.ambr")).unwrap();
    let mut body: Option<Vec<String>> = None;
    let mut current = String::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("# name: ") {
            current = n.to_string();
        } else if line.trim() == "'''" {
            match body.take() {
                Some(lines) if current == name => return lines.join("\n"),
                Some(_) => {}
                None => body = Some(Vec::new()),
            }
        } else if let Some(lines) = body.as_mut() {
            lines.push(line.strip_prefix("  ").unwrap_or(line).to_string());
        }
    }
    panic!("no snapshot {name}");
}

#[test]
fn a_deforum_frame_gets_its_prompt_from_the_settings_and_its_seed_from_the_subtitles() {
    let Some(legacy) = legacy() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ts = "20230812221310";
    copy(
        &legacy.join("deforum/a1111ext_test_simple.input_settings.txt"),
        &dir.path().join(format!("{ts}_settings.txt")),
    );
    for f in [0, 3, 45] {
        frame(&dir.path().join(format!("{ts}_{f:09}.png")));
    }

    // Settings alone: seed 1 with seed_behavior "iter" gives frame f the seed 1 + f; the schedule's "30" prompt
    // applies from frame 30.
    let third = resolved(&dir.path().join(format!("{ts}_000000003.png")));
    assert_eq!(record_dialect(&third), "deforum-settings");
    assert_eq!(seed(&third).as_deref(), Some("4"));
    assert!(
        positive(&third).starts_with("tiny cute swamp bunny"),
        "{}",
        positive(&third)
    );
    let later = resolved(&dir.path().join(format!("{ts}_000000045.png")));
    assert!(
        positive(&later).starts_with("anthropomorphic clean cat"),
        "{}",
        positive(&later)
    );
    let record = third.record.as_ref().unwrap();
    assert_eq!(record.sequence.as_ref().unwrap().fps, Some(20.0));
    assert_eq!(
        record.generator.as_ref().unwrap().version.as_deref(),
        Some("deforum-a1111")
    );

    // With the run's subtitles beside it, the cue says what was used: its seed wins, its text is kept in `raw`.
    let srt = srt_snapshot(&legacy, "test_simple_settings").replace("Seed: 4;", "Seed: 77;");
    std::fs::write(dir.path().join(format!("{ts}.srt")), srt).unwrap();
    let third = resolved(&dir.path().join(format!("{ts}_000000003.png")));
    assert_eq!(record_dialect(&third), "deforum-settings");
    assert!(
        third.layer_ids().contains(&"deforum-srt"),
        "{:?}",
        third.layers
    );
    assert_eq!(seed(&third).as_deref(), Some("77"));
    let raw = &third.record.as_ref().unwrap().raw;
    let cue = raw
        .iter()
        .find(|r| r.origin == format!("file:{ts}.srt"))
        .unwrap();
    assert_eq!(cue.key.as_deref(), Some("F#: 3"));
    assert!(cue
        .text
        .as_deref()
        .unwrap()
        .starts_with("F#: 3; Cadence: false; Seed: 77;"));
}

#[test]
fn deforum_subtitles_alone_give_the_frame_its_seed_and_prompt() {
    let Some(legacy) = legacy() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ts = "20230812221310";
    std::fs::write(
        dir.path().join(format!("{ts}.srt")),
        srt_snapshot(&legacy, "test_simple_settings"),
    )
    .unwrap();
    let path = dir.path().join(format!("{ts}_000000002.png"));
    frame(&path);
    let r = resolved(&path);
    assert_eq!(record_dialect(&r), "deforum-srt");
    assert_eq!(seed(&r).as_deref(), Some("3"));
    assert!(
        positive(&r).starts_with("tiny cute swamp bunny"),
        "{}",
        positive(&r)
    );
    let record = r.record.as_ref().unwrap();
    assert_eq!(
        record.generator.as_ref().unwrap().dialect.as_deref(),
        Some("deforum-srt")
    );
    assert_eq!(record.sequence.as_ref().unwrap().fps, Some(20.0));
    // A frame the subtitles have no cue for is read from its name.
    let beyond = dir.path().join(format!("{ts}_000000009.png"));
    frame(&beyond);
    assert_eq!(resolved(&beyond).layer_ids(), vec!["filename"]);
}

#[test]
fn a_pytti_frame_beside_its_settings_file_gets_the_scene_of_its_frame() {
    let dir = tempfile::tempdir().unwrap();
    // pytti's `{base}_settings.txt` (Notebook.py): one line of JSON, a blank line, then one Python bytes repr per
    // scene: the saved image at which it starts and its text.
    let settings = "{\"scenes\": \"a red bird || a blue bird\", \"seed\": 1234, \"width\": 180, \"height\": 112, \
                    \"steps_per_scene\": 100, \"save_every\": 10, \"file_namespace\": \"bird\", \"animation_mode\": \"off\"}\n\n\
                    b'0.00: a red bird'\nb'10.00: a blue bird'\n";
    std::fs::write(dir.path().join("bird(2)_settings.txt"), settings).unwrap();
    for n in [3, 12] {
        frame(&dir.path().join(format!("bird(2)_{n}.png")));
    }
    let early = resolved(&dir.path().join("bird(2)_3.png"));
    assert_eq!(record_dialect(&early), "pytti-settings");
    assert_eq!(positive(&early), "a red bird");
    assert_eq!(seed(&early).as_deref(), Some("1234"));
    let record = early.record.as_ref().unwrap();
    assert_eq!(
        record.sequence.as_ref().unwrap().frame,
        Some(2),
        "pytti counts images from 1"
    );
    let late = resolved(&dir.path().join("bird(2)_12.png"));
    assert_eq!(positive(&late), "a blue bird");
}

#[test]
fn a_pytti_frame_beside_the_hydra_conf_of_its_namespace_gets_its_scenes() {
    let Some(legacy) = legacy() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // demo.yaml's file_namespace is `default`: a conf named after the namespace, beside the frames.
    copy(
        &legacy.join("pytti/core_demo.yaml"),
        &dir.path().join("default.yaml"),
    );
    let path = dir.path().join("default_1.png");
    frame(&path);
    let r = resolved(&path);
    assert_eq!(record_dialect(&r), "pytti-settings");
    let scene = positive(&r);
    assert!(
        scene.starts_with("astrophotography #pixelart")
            && scene.contains("deep space habitation ring"),
        "{scene}"
    );
    assert_eq!(seed(&r).as_deref(), Some("-4854551145582748953"));
    // A conf of another namespace is not this run's.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    copy(
        &legacy.join("pytti/core_demo.yaml"),
        &other.join("bird.yaml"),
    );
    frame(&other.join("bird_1.png"));
    let r = resolved(&other.join("bird_1.png"));
    assert!(!r.layer_ids().contains(&"pytti-settings"), "{:?}", r.layers);
}

#[test]
fn a_settings_file_beyond_the_callers_limit_is_not_read() {
    let Some(legacy) = legacy() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("TimeToDisco(0)_settings.txt");
    copy(
        &legacy.join("disco_diffusion/TimeToDisco(0)_settings.txt"),
        &settings,
    );
    let path = dir.path().join("TimeToDisco(0)_0.png");
    frame(&path);
    let small = ResolveOptions {
        limits: Limits {
            max_metadata_chunk: 100,
            ..Limits::DEFAULT
        },
        depth: Depth::Import,
    };
    let r = resolve(&path, &small).unwrap();
    assert_eq!(r.layer_ids(), vec!["filename"]);
    // The same limit refuses the file when it is imported on its own, naming the limit.
    let err = stemma_import::import_settings_file(&settings, &small.limits).unwrap_err();
    assert!(err.to_string().contains("max_metadata_chunk"), "{err}");
    assert!(
        err.to_string().contains("TimeToDisco(0)_settings.txt"),
        "{err}"
    );
}

#[test]
fn a_broken_settings_file_is_a_failed_layer_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("20230101125957_settings.txt"),
        "{\"prompts\": ",
    )
    .unwrap();
    let path = dir.path().join("20230101125957_00004.png");
    frame(&path);
    let r = resolved(&path);
    let (dialect, why) = r.failures.first().unwrap();
    assert_eq!(*dialect, "deforum-settings");
    assert!(why.contains("20230101125957_settings.txt"), "{why}");
    // The name still gives what it says.
    assert_eq!(record_dialect(&r), "filename");
}
