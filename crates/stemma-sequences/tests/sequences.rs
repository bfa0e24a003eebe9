#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Generated Disco-style and Deforum-style run folders: missing frames, a restarted run, duplicates, stray files,
//! cadence in-betweens and interpolation folders.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use stemma_import::Tool;
use stemma_model::relation;
use stemma_sequences::{scan_folder_with, FrameKind, ScanOptions, SequenceReport};

fn write_png(path: &Path, seed: u8) {
    let img = RgbImage::from_fn(4, 3, |x, y| {
        Rgb([seed, (x as u8) * 40, (y as u8) * 60 + seed / 2])
    });
    img.save(path).unwrap();
}

fn id_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    stemma_container::ops::lineage_id(&bytes, &stemma_container::Limits::DEFAULT)
        .unwrap()
        .to_string()
}

fn seq<'a>(seqs: &'a [SequenceReport], id: &str) -> &'a SequenceReport {
    seqs.iter()
        .find(|s| s.key == id)
        .unwrap_or_else(|| panic!("no sequence {id}"))
}

const DISCO_SETTINGS: &str = r#"{
    "text_prompts": {"0": ["a misty forest:2", "muted colours"], "5": ["a neon city"]},
    "seed": SEED, "width": 4, "height": 3, "steps": 50, "max_frames": 10,
    "diffusion_model": "512x512_diffusion_uncond_finetune_008100", "translation_z": "0: (10.0)"
}"#;

#[test]
fn disco_run_with_gaps_restart_stray_files_and_rife_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Run 0: frames 0..=9 with 4 and 7 missing.
    for f in (0..10u8).filter(|f| *f != 4 && *f != 7) {
        write_png(&dir.join(format!("Flow(0)_{f:04}.png")), f * 20);
    }
    std::fs::write(
        dir.join("Flow(0)_settings.txt"),
        DISCO_SETTINGS.replace("SEED", "100"),
    )
    .unwrap();
    // Run 1: a restart with a new batch number, same settings but another seed.
    for f in 0..3u8 {
        write_png(&dir.join(format!("Flow(1)_{f:04}.png")), 200 + f);
    }
    std::fs::write(
        dir.join("Flow(1)_settings.txt"),
        DISCO_SETTINGS.replace("SEED", "555"),
    )
    .unwrap();
    // Stray files.
    std::fs::write(dir.join("notes.txt"), "stray").unwrap();
    write_png(&dir.join("progress.png"), 1);
    write_png(&dir.join("Flow(0)_0003-50%.png"), 2);
    // RIFE --multi 2 over the 8 frames of run 0: (8 − 1)·2 + 1 = 15 frames, from 0.
    let vid_out = dir.join("vid_out");
    std::fs::create_dir(&vid_out).unwrap();
    for i in 0..15u8 {
        write_png(&vid_out.join(format!("{i:07}.png")), 100 + i);
    }

    let scan = scan_folder_with(dir, &ScanOptions::default()).unwrap();
    assert_eq!(
        scan.sequences.len(),
        2,
        "{:?}",
        scan.sequences.iter().map(|s| &s.id).collect::<Vec<_>>()
    );
    let names: Vec<String> = scan
        .stray
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"notes.txt".to_string()) && names.contains(&"progress.png".to_string()),
        "{names:?}"
    );

    let run0 = seq(&scan.sequences, "disco:Flow(0)");
    assert_eq!(run0.tool, Tool::Disco);
    assert!(run0.animated, "padded frame numbers mean animation");
    assert_eq!(run0.frames.len(), 8);
    assert_eq!(run0.gaps, [4, 7]);
    assert_eq!(run0.first_missing, Some(4));
    assert_eq!(run0.last_frame, Some(9));
    assert_eq!(
        run0.settings_file.as_ref().unwrap().file_name().unwrap(),
        "Flow(0)_settings.txt"
    );
    let run1 = seq(&scan.sequences, "disco:Flow(1)");
    assert_eq!(
        run0.related,
        std::slice::from_ref(&run1.id),
        "a restart with the same settings"
    );
    assert!(run0.id.starts_with("disco:Flow(0)@") && run0.id != run1.id);
    assert_eq!(run1.frames.len(), 3);
    assert!(run1.gaps.is_empty() && run1.first_missing.is_none());
    assert_eq!(run1.related, std::slice::from_ref(&run0.id));

    // Settings once per run, by reference from every frame.
    let hash = run0.frames[0]
        .record
        .settings
        .as_ref()
        .unwrap()
        .reference
        .clone()
        .unwrap();
    let inline: Vec<bool> = run0
        .frames
        .iter()
        .map(|f| f.record.settings.as_ref().unwrap().data.is_some())
        .collect();
    assert_eq!(inline.iter().filter(|b| **b).count(), 1);
    assert!(inline[0]);
    for f in &run0.frames {
        let r = &f.record;
        assert_eq!(r.settings.as_ref().unwrap().reference.as_ref(), Some(&hash));
        assert_eq!(r.run.as_ref().unwrap().settings.as_ref(), Some(&hash));
        assert_eq!(r.sequence.as_ref().unwrap().id, run0.id);
        assert_eq!(r.sequence.as_ref().unwrap().frame, Some(f.index));
        assert_eq!(f.id.as_deref(), Some(id_of(&f.path).as_str()));
    }
    // Prompt by frame, seed = settings seed + frame.
    let f3 = run0.frames.iter().find(|f| f.index == 3).unwrap();
    assert_eq!(
        f3.record.prompt.as_ref().unwrap().parts[0].text,
        "a misty forest"
    );
    assert_eq!(
        f3.record.prompt.as_ref().unwrap().parts[0].weight,
        Some(2.0)
    );
    assert_eq!(
        f3.record.params.as_ref().unwrap().seed.as_deref(),
        Some("103")
    );
    // previous_frame parents point at the neighbour's lineage id.
    assert_eq!(f3.record.parents.len(), 1);
    let p = &f3.record.parents[0];
    assert_eq!(p.relation, relation::PREVIOUS_FRAME);
    assert_eq!(p.hint.as_deref(), Some("Flow(0)_0002.png"));
    assert_eq!(
        p.id.as_deref(),
        Some(id_of(&dir.join("Flow(0)_0002.png")).as_str())
    );
    // Frame 5 follows a missing frame: no parent, a warning; its prompt is the frame-5 scene.
    let f5 = run0.frames.iter().find(|f| f.index == 5).unwrap();
    assert!(f5.record.parents.is_empty());
    assert!(run0.warnings.iter().any(|w| w.contains("frame 5")));
    assert_eq!(f5.record.positive(), Some("a neon city"));
    assert_eq!(
        f5.record.params.as_ref().unwrap().seed.as_deref(),
        Some("105")
    );
    let f0 = &run0.frames[0];
    assert!(f0.record.parents.is_empty());
    assert_eq!(
        run1.frames[2]
            .record
            .params
            .as_ref()
            .unwrap()
            .seed
            .as_deref(),
        Some("557")
    );

    // The RIFE folder: factor from the count, in-betweens linked to both neighbours with t.
    assert_eq!(run0.interpolations.len(), 1);
    let interp = &run0.interpolations[0];
    assert_eq!(interp.tool, Tool::Rife);
    assert_eq!(interp.factor, Some(2));
    assert_eq!(interp.factor_source, Some("count"));
    assert_eq!(run0.interpolated.len(), 15);
    let i1 = run0.interpolated.iter().find(|f| f.index == 1).unwrap();
    assert_eq!(i1.kind, FrameKind::Interpolated);
    assert_eq!(i1.time, 0.5);
    let parents: Vec<(&str, Option<f64>)> = i1
        .record
        .parents
        .iter()
        .map(|p| (p.hint.as_deref().unwrap(), p.t))
        .collect();
    assert_eq!(
        parents,
        [
            ("Flow(0)_0000.png", Some(0.5)),
            ("Flow(0)_0001.png", Some(0.5))
        ]
    );
    assert!(i1
        .record
        .parents
        .iter()
        .all(|p| p.relation == relation::INTERPOLATE && p.id.is_some()));
    assert!(i1.record.sequence.as_ref().unwrap().interpolated);
    let i2 = run0.interpolated.iter().find(|f| f.index == 2).unwrap();
    assert_eq!(i2.kind, FrameKind::SourceCopy);
    assert_eq!(
        i2.record.parents[0].hint.as_deref(),
        Some("Flow(0)_0001.png")
    );
    // Source 4 of the interpolation input is frame 5 (frame 4 was missing when RIFE read the folder).
    let i7 = run0.interpolated.iter().find(|f| f.index == 7).unwrap();
    let hints: Vec<&str> = i7
        .record
        .parents
        .iter()
        .map(|p| p.hint.as_deref().unwrap())
        .collect();
    assert_eq!(hints, ["Flow(0)_0003.png", "Flow(0)_0005.png"]);
    assert_eq!(i7.time, 4.0);
    assert_eq!(
        i7.record.sequence.as_ref().unwrap().id,
        format!("{}/rife-x2", run0.id)
    );
}

fn deforum_settings(seed: i64, resume: Option<&str>) -> String {
    serde_json::json!({
        "W": 4, "H": 3, "seed": seed, "sampler": "Euler a", "steps": 20,
        "seed_behavior": "iter", "seed_iter_N": 1,
        "prompts": {"0": "a cat in a hat --neg blurry", "6": "a dog on a log"},
        "positive_prompts": "", "negative_prompts": "",
        "animation_mode": "2D", "max_frames": 10, "diffusion_cadence": 2, "fps": 10,
        "cfg_scale_schedule": "0: (7)",
        "frame_interpolation_engine": "RIFE v4.6", "frame_interpolation_x_amount": 2,
        "frame_interpolation_slow_mo_enabled": false,
        "resume_from_timestring": resume.is_some(), "resume_timestring": resume.unwrap_or("20230101000000"),
        "sd_model_name": "v1-5-pruned-emaonly.safetensors", "sd_model_hash": "6ce0161689"
    })
    .to_string()
}

#[test]
fn deforum_run_with_cadence_duplicates_resume_restart_and_rife_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ts = "20230812221310";
    // Frames 0..=8 (9-digit names), frame 5 missing; frame 3 also exists under the old 5-digit name.
    for f in (0..9u8).filter(|f| *f != 5) {
        write_png(&dir.join(format!("{ts}_{f:09}.png")), f * 25);
    }
    let dup5 = dir.join(format!("{ts}_{:05}.png", 3));
    std::fs::copy(dir.join(format!("{ts}_{:09}.png", 3)), &dup5).unwrap();
    write_png(&dir.join(format!("{ts}_depth_{:09}.png", 0)), 9);
    std::fs::write(
        dir.join(format!("{ts}_settings.txt")),
        deforum_settings(50, None),
    )
    .unwrap();
    // A later resume of the same run wrote its settings under a new timestring.
    std::fs::write(
        dir.join("20230812235959_settings.txt"),
        deforum_settings(50, Some(ts)),
    )
    .unwrap();
    // A restart from scratch with a new timestring and seed.
    let ts2 = "20230813090000";
    for f in 0..3u8 {
        write_png(&dir.join(format!("{ts2}_{f:09}.png")), 240 - f);
    }
    std::fs::write(
        dir.join(format!("{ts2}_settings.txt")),
        deforum_settings(77, None),
    )
    .unwrap();
    // Deforum's RIFE folder: x2 (from the settings) over the 8 present frames = 15 frames.
    let rife = dir.join(format!("interpolated_frames_rife_{ts}"));
    std::fs::create_dir(&rife).unwrap();
    for i in 0..15u8 {
        write_png(&rife.join(format!("{i:09}.png")), 3 + i);
    }

    let scan = scan_folder_with(dir, &ScanOptions::default()).unwrap();
    assert_eq!(scan.sequences.len(), 2);
    assert!(
        scan.orphan_settings.is_empty(),
        "{:?}",
        scan.orphan_settings
    );
    let run = seq(&scan.sequences, &format!("deforum:{ts}"));
    assert_eq!(run.tool, Tool::Deforum);
    assert!(run.animated);
    assert_eq!(run.fps, Some(10.0));
    assert_eq!(run.frames.len(), 8);
    assert_eq!(run.gaps, [5]);
    assert_eq!(run.first_missing, Some(5));
    assert_eq!(run.duplicates.len(), 1);
    assert_eq!(run.duplicates[0].index, 3);
    assert_eq!(run.duplicates[0].paths.len(), 2);
    assert!(run.duplicates[0].identical);
    assert_eq!(run.resume_settings.len(), 1);
    let restart_id = seq(&scan.sequences, &format!("deforum:{ts2}")).id.clone();
    assert_eq!(run.related, [restart_id]);

    let frame = |i: u64| run.frames.iter().find(|f| f.index == i).unwrap();
    // Generated frames: 0, 2, 4, 6, 8; seeds iterate per generated frame.
    assert_eq!(frame(0).kind, FrameKind::Generated);
    assert_eq!(
        frame(0).record.params.as_ref().unwrap().seed.as_deref(),
        Some("50")
    );
    assert_eq!(
        frame(2).record.params.as_ref().unwrap().seed.as_deref(),
        Some("51")
    );
    assert_eq!(
        frame(4).record.params.as_ref().unwrap().seed.as_deref(),
        Some("52")
    );
    assert_eq!(frame(0).record.positive(), Some("a cat in a hat"));
    assert_eq!(
        frame(0).record.prompt.as_ref().unwrap().negative.as_deref(),
        Some("blurry")
    );
    assert_eq!(frame(6).record.positive(), Some("a dog on a log"));
    // A generated frame is made from the previous generated one.
    let p4 = &frame(4).record.parents;
    assert_eq!(p4.len(), 1);
    assert_eq!(p4[0].relation, relation::PREVIOUS_FRAME);
    assert_eq!(
        p4[0].hint.as_deref(),
        Some(format!("{ts}_000000002.png").as_str())
    );
    // Cadence in-betweens: interpolate children of both generated neighbours, no seed of their own.
    let c3 = frame(3);
    assert_eq!(c3.kind, FrameKind::Cadence);
    assert!(c3.record.sequence.as_ref().unwrap().interpolated);
    assert!(c3
        .record
        .params
        .as_ref()
        .and_then(|p| p.seed.as_ref())
        .is_none());
    let parents: Vec<(String, Option<f64>, String)> = c3
        .record
        .parents
        .iter()
        .map(|p| (p.hint.clone().unwrap(), p.t, p.relation.clone()))
        .collect();
    assert_eq!(
        parents,
        [
            (
                format!("{ts}_000000002.png"),
                Some(0.5),
                relation::INTERPOLATE.to_string()
            ),
            (
                format!("{ts}_000000004.png"),
                Some(0.5),
                relation::INTERPOLATE.to_string()
            ),
        ]
    );
    assert_eq!(
        c3.record.parents[0].id.as_deref(),
        Some(id_of(&dir.join(format!("{ts}_000000002.png"))).as_str())
    );
    // Cadence frame 7 sits between 6 and 8.
    assert_eq!(
        frame(7)
            .record
            .parents
            .iter()
            .map(|p| p.hint.clone().unwrap())
            .collect::<Vec<_>>(),
        [format!("{ts}_000000006.png"), format!("{ts}_000000008.png")]
    );

    // Interpolation folder: factor from the settings, fps doubled.
    let interp = &run.interpolations[0];
    assert_eq!(interp.factor, Some(2));
    assert_eq!(interp.factor_source, Some("settings"));
    assert_eq!(interp.fps, Some(20.0));
    assert_eq!(run.interpolated.len(), 15);
    let i3 = run.interpolated.iter().find(|f| f.index == 3).unwrap();
    assert_eq!(i3.kind, FrameKind::Interpolated);
    assert_eq!(i3.time, 1.5);
    let hints: Vec<&str> = i3
        .record
        .parents
        .iter()
        .map(|p| p.hint.as_deref().unwrap())
        .collect();
    assert_eq!(
        hints,
        [format!("{ts}_000000001.png"), format!("{ts}_000000002.png")]
    );
    assert!(i3.record.parents.iter().all(|p| p.t == Some(0.5)));
    // Past frame 4 of the input lies frame 6 (5 was missing): in-between 9 links frames 4 and 6.
    let i9 = run.interpolated.iter().find(|f| f.index == 9).unwrap();
    assert_eq!(i9.time, 5.0);
    let hints: Vec<&str> = i9
        .record
        .parents
        .iter()
        .map(|p| p.hint.as_deref().unwrap())
        .collect();
    assert_eq!(
        hints,
        [format!("{ts}_000000004.png"), format!("{ts}_000000006.png")]
    );

    let restart = seq(&scan.sequences, &format!("deforum:{ts2}"));
    assert_eq!(restart.frames.len(), 3);
    assert_eq!(
        restart.frames[0]
            .record
            .params
            .as_ref()
            .unwrap()
            .seed
            .as_deref(),
        Some("77")
    );
    assert_eq!(restart.frames[1].kind, FrameKind::Cadence);
}

#[test]
fn generic_numbered_frames_and_ids_off() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for i in [1u8, 2, 3, 5] {
        write_png(&dir.join(format!("export_{i:04}.png")), i);
    }
    let scan = scan_folder_with(
        dir,
        &ScanOptions {
            compute_ids: false,
            ..ScanOptions::default()
        },
    )
    .unwrap();
    assert_eq!(scan.sequences.len(), 1);
    let s = &scan.sequences[0];
    assert_eq!(s.tool, Tool::Generic);
    assert_eq!(s.key, "frames:export_");
    assert_eq!(s.id, s.key, "no settings and no ids: the key alone");
    assert_eq!(s.gaps, [0, 4]);
    assert!(s
        .frames
        .iter()
        .all(|f| f.id.is_none() && f.record.parents.is_empty()));
}

#[test]
fn a_missing_folder_is_an_error_not_a_panic() {
    let err = stemma_sequences::scan_folder(
        &PathBuf::from("/nonexistent/stemma-legacy-test"),
        &stemma_container::Limits::DEFAULT,
    )
    .unwrap_err();
    assert!(err.to_string().contains("nonexistent"));
}

#[test]
fn disco_resume_with_retained_frames_and_renumbered_export() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for f in 0..6u8 {
        write_png(&dir.join(format!("Loop(0)_{f:04}.png")), 10 + f);
    }
    std::fs::write(
        dir.join("Loop(0)_settings.txt"),
        DISCO_SETTINGS.replace("SEED", "7"),
    )
    .unwrap();
    // The run was resumed at frame 3: the frames it overwrote were moved to retained/.
    std::fs::create_dir(dir.join("retained")).unwrap();
    for f in 3..5u8 {
        write_png(
            &dir.join("retained").join(format!("Loop(0)_{f:04}.png")),
            90 + f,
        );
    }
    // A re-numbered export of frames 2..=4, from 1.
    for (k, f) in (2..5u8).enumerate() {
        std::fs::copy(
            dir.join(format!("Loop(0)_{f:04}.png")),
            dir.join(format!("clip_{:03}.png", k + 1)),
        )
        .unwrap();
    }
    let scan = scan_folder_with(dir, &ScanOptions::default()).unwrap();
    let run = seq(&scan.sequences, "disco:Loop(0)");
    assert_eq!(run.resumed_at, Some(3));
    let seeds: Vec<Option<&str>> = run
        .frames
        .iter()
        .map(|f| f.record.params.as_ref().and_then(|p| p.seed.as_deref()))
        .collect();
    assert_eq!(
        seeds,
        [Some("7"), Some("8"), Some("9"), None, None, None],
        "seeds after a resume are unknown"
    );
    let export = seq(&scan.sequences, "frames:clip_");
    assert_eq!(export.tool, Tool::Generic);
    assert_eq!(export.gaps, [0], "numbering from 1 leaves index 0 unseen");
    assert_eq!(export.related, std::slice::from_ref(&run.id));
    let hints: Vec<&str> = export
        .frames
        .iter()
        .map(|f| f.record.parents[0].hint.as_deref().unwrap())
        .collect();
    assert_eq!(
        hints,
        ["Loop(0)_0002.png", "Loop(0)_0003.png", "Loop(0)_0004.png"]
    );
    assert!(export
        .frames
        .iter()
        .all(|f| f.record.parents[0].relation == relation::CONVERT));
}

#[test]
fn deforum_srt_gives_per_frame_seed_and_prompt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let ts = "20240101101010";
    for f in 0..3u8 {
        write_png(&dir.join(format!("{ts}_{f:09}.png")), f);
    }
    let mut settings: serde_json::Value =
        serde_json::from_str(&deforum_settings(-1, None)).unwrap();
    settings["diffusion_cadence"] = 1.into();
    std::fs::write(dir.join(format!("{ts}_settings.txt")), settings.to_string()).unwrap();
    let srt = "1\n00:00:00,000 --> 00:00:00,100\nF#: 0; Cadence: false; Seed: 901; Angle: 0; Prompt: a fox --neg fog\n\n\
               2\n00:00:00,100 --> 00:00:00,200\nF#: 1; Cadence: false; Seed: 902; Angle: 0; Prompt: a fox --neg fog\n\n\
               3\n00:00:00,200 --> 00:00:00,300\nF#: 2; Cadence: false; Seed: 903; Angle: 1; Prompt: a wolf --neg\n\n";
    std::fs::write(dir.join(format!("{ts}.srt")), srt).unwrap();
    let scans = stemma_sequences::scan_folder(dir, &stemma_container::Limits::DEFAULT).unwrap();
    let run = seq(&scans, &format!("deforum:{ts}"));
    assert!(run.srt_file.is_some());
    assert_eq!(run.fps, Some(10.0), "from the cue timing");
    let seeds: Vec<&str> = run
        .frames
        .iter()
        .map(|f| f.record.params.as_ref().unwrap().seed.as_deref().unwrap())
        .collect();
    assert_eq!(
        seeds,
        ["901", "902", "903"],
        "the .srt has the seeds that the random seed -1 hides"
    );
    assert_eq!(run.frames[2].record.positive(), Some("a wolf"));
    assert_eq!(run.frames[2].record.prompt.as_ref().unwrap().negative, None);
    assert_eq!(
        run.frames[0]
            .record
            .prompt
            .as_ref()
            .unwrap()
            .negative
            .as_deref(),
        Some("fog")
    );
}

#[test]
fn pytti_run_folder_with_settings_txt() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for n in 1..=4u8 {
        write_png(&dir.join(format!("bird(2)_{n}.png")), n * 30);
    }
    let settings = "{\"scenes\": \"a bird || a cloud\", \"scene_prefix\": \"\", \"scene_suffix\": \" | oil painting:0.5\", \"seed\": 31337, \"steps_per_scene\": 40, \"save_every\": 20, \"steps_per_frame\": 20, \"animation_mode\": \"2D\", \"frames_per_second\": 8, \"file_namespace\": \"bird\"}\n\nb'0.00: a bird  | oil painting:0.5'\nb'2.00:  a cloud | oil painting:0.5'\n";
    std::fs::write(dir.join("bird(2)_settings.txt"), settings).unwrap();
    let scans = stemma_sequences::scan_folder(dir, &stemma_container::Limits::DEFAULT).unwrap();
    assert_eq!(scans.len(), 1);
    let run = &scans[0];
    assert_eq!(run.key, "pytti:bird(2)");
    assert_eq!(run.tool, Tool::Pytti);
    assert_eq!(run.fps, Some(8.0));
    assert!(run.gaps.is_empty(), "image n is frame n − 1");
    let prompts: Vec<&str> = run
        .frames
        .iter()
        .map(|f| f.record.prompt.as_ref().unwrap().parts[0].text.as_str())
        .collect();
    assert_eq!(prompts, ["a bird", "a bird", "a cloud", "a cloud"]);
    assert_eq!(
        run.frames[1].record.prompt.as_ref().unwrap().parts[1].weight,
        Some(0.5)
    );
    assert!(run
        .frames
        .iter()
        .all(|f| f.record.params.as_ref().unwrap().seed.as_deref() == Some("31337")));
    assert_eq!(
        run.frames[3].record.parents[0].relation,
        relation::PREVIOUS_FRAME
    );
}

#[test]
fn film_and_flowframes_folders_and_writing_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for f in 0..4u8 {
        write_png(&dir.join(format!("Sky(0)_{f:04}.png")), 40 * f);
    }
    // FILM with 2 recursions: (4 − 1)·4 + 1 = 13 frames from frame_000.
    let film = dir.join("interpolated_frames");
    std::fs::create_dir(&film).unwrap();
    for i in 0..13u8 {
        write_png(&film.join(format!("frame_{i:03}.png")), i);
    }
    // Flowframes x3 export, numbered from 1; the factor is in the folder name.
    let ff = dir.join("Sky-3x-RIFE4.6-36fps-png");
    std::fs::create_dir(&ff).unwrap();
    for n in 1..=12u8 {
        write_png(&ff.join(format!("{n:08}.png")), 100 + n);
    }
    let scan = scan_folder_with(dir, &ScanOptions::default()).unwrap();
    let run = seq(&scan.sequences, "disco:Sky(0)");
    assert_eq!(run.interpolations.len(), 2);
    let film_report = run
        .interpolations
        .iter()
        .find(|i| i.tool == Tool::Film)
        .unwrap();
    assert_eq!(
        (film_report.factor, film_report.factor_source),
        (Some(4), Some("count"))
    );
    let ff_report = run
        .interpolations
        .iter()
        .find(|i| i.tool == Tool::Flowframes)
        .unwrap();
    assert_eq!(
        (ff_report.factor, ff_report.factor_source),
        (Some(3), Some("folder name"))
    );
    // FILM frame 6 = source 1 + 2/4.
    let f6 = run
        .interpolated
        .iter()
        .find(|f| f.path.ends_with("interpolated_frames/frame_006.png"))
        .unwrap();
    assert_eq!(f6.time, 1.5);
    assert!(f6.record.parents.iter().all(|p| p.t == Some(0.5)));
    // Flowframes 00000005.png is index 4 = source 1 + 1/3.
    let ff5 = run
        .interpolated
        .iter()
        .find(|f| f.path.ends_with("00000005.png"))
        .unwrap();
    assert_eq!(ff5.index, 4);
    let t = ff5.record.parents[0].t.unwrap();
    assert!((t - 1.0 / 3.0).abs() < 1e-9);
    let hints: Vec<&str> = ff5
        .record
        .parents
        .iter()
        .map(|p| p.hint.as_deref().unwrap())
        .collect();
    assert_eq!(hints, ["Sky(0)_0001.png", "Sky(0)_0002.png"]);

    // Writing the records keeps the pixels, so the ids the parents refer to stay valid.
    let before = id_of(&dir.join("Sky(0)_0001.png"));
    let results = stemma_sequences::write_frame_records(run, &stemma_container::Limits::DEFAULT);
    assert_eq!(results.len(), 4 + 13 + 12);
    assert!(results.iter().all(|(_, r)| r.is_ok()));
    assert_eq!(id_of(&dir.join("Sky(0)_0001.png")), before);
    let meta = stemma_container::ops::scan_path(
        &ff.join("00000005.png"),
        &stemma_container::Limits::DEFAULT,
    )
    .unwrap();
    let record = stemma_model::parse_record(meta.record_json.as_deref().unwrap()).unwrap();
    assert_eq!(record.parents, ff5.record.parents);
    assert!(record.sequence.as_ref().unwrap().interpolated);
}
