//! Status by content and resume of broken runs (issue #10 acceptance): a Deforum folder and a Disco Diffusion
//! folder of 120 planned frames with frames 0-76 good, 77 truncated and 78-80 from another run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{json, Value};
use stemma_container::Limits;
use stemma_runs::{open_run, resume, status, Error, ItemStatus};
use support::*;

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn deforum_folder_resumes_at_the_truncated_frame_with_the_right_timestring() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("Deforum_20230812221310");
    deforum_folder(&dir, 120, 77);
    let frame77 = png(77, &[]);
    write(&dir.join(deforum_frame(77)), &truncated(&frame77));
    for i in 78..=80 {
        write(
            &dir.join(deforum_frame(i)),
            &stamped(1000 + i as u32, &foreign_record(i)),
        );
    }
    let before = snapshot(&dir);

    let run = open_run(&dir).unwrap();
    assert_eq!(run.manifest.generator, "deforum");
    assert_eq!(run.manifest.plan.count, 120);
    assert_eq!(run.key.as_deref(), Some("deforum:20230812221310"));
    let st = status(&run, &Limits::DEFAULT, false).unwrap();
    assert_eq!(st.first_to_redo, Some(77));
    assert_eq!(st.last_good, Some(76));
    for i in 0..77 {
        assert_eq!(
            st.item(i).unwrap().status,
            ItemStatus::Produced,
            "frame {i}"
        );
    }
    let damaged = st.item(77).unwrap();
    assert_eq!(damaged.status, ItemStatus::Damaged);
    assert!(damaged.reason.is_some());
    for i in 78..=80 {
        let item = st.item(i).unwrap();
        assert_eq!(item.status, ItemStatus::Foreign, "frame {i}");
        assert!(
            item.reason.as_deref().unwrap().contains("another run")
                || item.reason.as_deref().unwrap().contains("not this run"),
            "{:?}",
            item.reason
        );
    }
    for i in 81..120 {
        assert_eq!(st.item(i).unwrap().status, ItemStatus::Planned);
    }
    assert_eq!(st.counts["produced"], 77);
    assert_eq!(st.counts["foreign"], 3);

    let done = resume(&run, &st, None, false).unwrap();
    assert_eq!(done.first_to_redo, 77);
    assert_eq!(
        done.init_image.as_deref(),
        Some(dir.join(deforum_frame(76)).as_path())
    );
    let deforum = done.written.iter().find(|w| w.kind == "deforum").unwrap();
    let name = deforum.path.file_name().unwrap().to_str().unwrap();
    // Deforum's notebook counts files with the timestring as an `_`-separated part: the resume file has none.
    assert!(!name.split('_').any(|p| p == DEFORUM_TS), "{name}");
    let doc = read_json(&deforum.path);
    assert_eq!(doc["resume_from_timestring"], json!(true));
    assert_eq!(doc["resume_timestring"], json!(DEFORUM_TS));
    let (patch, _) = stemma_model::merge_patch_diff(&deforum_settings(120), &doc);
    assert_eq!(
        patch,
        json!({"resume_from_timestring": true, "resume_timestring": DEFORUM_TS})
    );
    let plan = read_json(&done.written.iter().find(|w| w.kind == "plan").unwrap().path);
    assert_eq!(plan["first_to_redo"], json!(77));
    assert_eq!(plan["init_image"]["file"], json!(deforum_frame(76)));
    assert!(plan["init_image"]["id"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    let aside: Vec<&str> = plan["move_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        aside,
        (77..=80)
            .map(deforum_frame)
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert_eq!(plan["remaining"][0]["index"], json!(77));
    assert_eq!(plan["remaining"][0]["seed"], json!("1077"));
    assert_eq!(plan["remaining"].as_array().unwrap().len(), 43);
    assert_kept(&before, &dir);

    // Asked again, the resume files exist: refused, nothing written over.
    let again = snapshot(&dir);
    assert!(matches!(
        resume(&run, &st, None, false),
        Err(Error::Exists { .. })
    ));
    assert_kept(&again, &dir);

    // Moving aside keeps every byte, in `stemma-retained/`.
    let out = tmp.path().join("out");
    let moved = resume(&run, &st, Some(&out), true).unwrap();
    assert_eq!(moved.moved.len(), 4);
    let retained = dir.join(stemma_runs::RETAINED_DIR);
    assert_eq!(
        std::fs::read(retained.join(deforum_frame(77))).unwrap(),
        truncated(&frame77)
    );
    let after = open_run(&dir).unwrap();
    let st2 = status(&after, &Limits::DEFAULT, false).unwrap();
    assert_eq!(st2.first_to_redo, Some(77));
    assert!(st2.files.is_empty(), "{:?}", st2.files);
}

#[test]
fn disco_folder_resumes_at_the_truncated_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("TimeToDisco");
    std::fs::create_dir_all(&dir).unwrap();
    let settings = serde_json::to_string_pretty(&disco_settings(120)).unwrap();
    write(
        &dir.join("TimeToDisco(3)_settings.txt"),
        settings.as_bytes(),
    );
    for i in 0..77 {
        write(&dir.join(disco_frame(i)), &png(i as u32, &[]));
    }
    write(&dir.join(disco_frame(77)), &truncated(&png(77, &[])));
    for i in 78..=80 {
        write(
            &dir.join(disco_frame(i)),
            &stamped(2000 + i as u32, &foreign_record(i)),
        );
    }
    let before = snapshot(&dir);
    let run = open_run(&dir).unwrap();
    assert_eq!(run.manifest.generator, "disco");
    assert_eq!(run.key.as_deref(), Some("disco:TimeToDisco(3)"));
    let st = status(&run, &Limits::DEFAULT, false).unwrap();
    assert_eq!(st.first_to_redo, Some(77));
    assert_eq!(st.item(77).unwrap().status, ItemStatus::Damaged);
    assert_eq!(st.item(79).unwrap().status, ItemStatus::Foreign);
    let done = resume(&run, &st, None, false).unwrap();
    let disco = done.written.iter().find(|w| w.kind == "disco").unwrap();
    let doc = read_json(&disco.path);
    assert_eq!(doc["resume_run"], json!(true));
    assert_eq!(doc["run_to_resume"], json!(3));
    // Disco starts at resume_from_frame + 1.
    assert_eq!(doc["resume_from_frame"], json!(76));
    assert_eq!(doc["retain_overwritten_frames"], json!(true));
    assert_eq!(doc["seed"], json!(500));
    assert_eq!(done.settings["resume_from_frame"], json!(76));
    assert_kept(&before, &dir);
}

#[test]
fn a_manifest_that_does_not_match_the_files_is_reported_item_by_item() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    deforum_folder(&dir, 10, 10);
    let settings_file = dir.join(format!("{DEFORUM_TS}_settings.txt"));
    let (mut manifest, data, _) =
        stemma_runs::manifest_from_settings(&settings_file, None).unwrap();
    let store = stemma_runs::SettingsStore::for_folder(&dir);
    assert_eq!(
        store.put(&manifest.settings.format, &data).unwrap(),
        manifest.settings.hash
    );
    // Record the content ids of the frames as they are.
    let path = stemma_runs::manifest_path(&dir, &manifest.id);
    manifest.save(&path, false).unwrap();
    let run = open_run(&path).unwrap();
    let st = status(&run, &Limits::DEFAULT, true).unwrap();
    for item in &st.items {
        manifest.produced.push(stemma_runs::Produced {
            index: item.index,
            id: item.id.clone().unwrap(),
            file: None,
        });
    }
    manifest.save(&path, true).unwrap();
    // Frame 4 is replaced by other pixels; frame 6 disappears.
    write(&dir.join(deforum_frame(4)), &png(999, &[]));
    std::fs::remove_file(dir.join(deforum_frame(6))).unwrap();
    let run = open_run(&path).unwrap();
    let st = status(&run, &Limits::DEFAULT, false).unwrap();
    assert_eq!(st.item(3).unwrap().status, ItemStatus::Verified);
    let changed = st.item(4).unwrap();
    assert_eq!(changed.status, ItemStatus::Mismatched);
    assert!(
        changed
            .reason
            .as_deref()
            .unwrap()
            .contains("the manifest recorded"),
        "{:?}",
        changed.reason
    );
    assert_eq!(st.item(6).unwrap().status, ItemStatus::Missing);
    assert_eq!(st.first_to_redo, Some(4));
    assert_eq!(st.last_good, Some(3));

    // The settings file edited after the manifest was made, with the store gone: named precisely.
    std::fs::remove_dir_all(&store.root).unwrap();
    let mut edited = deforum_settings(10);
    edited["steps"] = json!(40);
    write(&settings_file, edited.to_string().as_bytes());
    match open_run(&path) {
        Err(Error::Manifest { reason, .. }) => assert!(reason.contains("edited since"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_inputs_are_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let broken = dir.join("20230812221310_settings.txt");
    write(&broken, b"{\"W\": 64, \"prompts\": {\"0\": \"a\"");
    match stemma_runs::manifest_from_settings(&broken, None) {
        Err(Error::Json { path, reason }) => {
            assert_eq!(path, broken);
            assert!(reason.contains("EOF"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let manifest = dir.join("x.stemma-run.json");
    write(&manifest, b"{\"stemma_run\": \"2.0\"}");
    match open_run(&manifest) {
        Err(Error::Manifest { reason, .. }) => assert!(reason.contains("2.0"), "{reason}"),
        other => panic!("{other:?}"),
    }
    write(&manifest, br#"{"stemma_run":"1.0","id":"r","generator":"deforum","settings":{"format":"deforum-json","hash":"sha256:00"},"plan":{"kind":"animation","count":3}}"#);
    match open_run(&manifest) {
        Err(Error::Manifest { reason, .. }) => {
            assert!(reason.contains("settings hash"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // A folder of frames without settings: no run, said why.
    let frames = dir.join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    write(&frames.join(deforum_frame(0)), &png(0, &[]));
    match open_run(&frames) {
        Err(Error::NoRun { reason, .. }) => assert!(reason.contains("settings"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // A complete run has nothing to resume.
    let full = dir.join("full");
    deforum_folder(&full, 5, 5);
    let run = open_run(&full).unwrap();
    let st = status(&run, &Limits::DEFAULT, false).unwrap();
    assert_eq!(st.first_to_redo, None);
    assert!(matches!(
        resume(&run, &st, None, false),
        Err(Error::NothingToResume(_))
    ));
}

#[test]
fn frames_stamped_before_a_resume_stay_the_runs_own() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    deforum_folder(&dir, 6, 4);
    // Stamped by stemma before Deforum rewrote the settings file on a resume: same run name, older hash.
    let record = json!({
        "stemma": "1.0",
        "run": {"id": format!("deforum:{DEFORUM_TS}@0123456789ab"), "settings": format!("sha256:{}", "b".repeat(64)), "index": 4},
        "sequence": {"id": format!("deforum:{DEFORUM_TS}@0123456789ab"), "frame": 4}
    });
    // Named as frame 9, but its record says frame 4: the content wins.
    write(&dir.join(deforum_frame(9)), &stamped(4, &record));
    let run = open_run(&dir).unwrap();
    let st = status(&run, &Limits::DEFAULT, false).unwrap();
    let item = st.item(4).unwrap();
    assert_eq!(item.status, ItemStatus::Produced);
    assert!(
        item.reason.as_deref().unwrap().contains("changed since"),
        "{:?}",
        item.reason
    );
    assert_eq!(
        item.file.as_deref(),
        Some(dir.join(deforum_frame(9)).as_path())
    );
    assert_eq!(st.first_to_redo, Some(5));
}

#[test]
fn an_a1111_batch_is_inferred_from_its_images_and_judged_by_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let text = |prompt: &str, seed: u64| {
        format!("{prompt}\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: {seed}, Size: 8x8, Model: sd15")
    };
    for (n, seed) in [(0, 100), (1, 101), (4, 104)] {
        write(
            &dir.join(format!("0000{n}-{seed}.png")),
            &png(seed as u32, &[("parameters", &text("a red barn", seed))]),
        );
    }
    write(
        &dir.join("00002-102.png"),
        &truncated(&png(102, &[("parameters", &text("a red barn", 102))])),
    );
    write(
        &dir.join("00003-103.png"),
        &png(103, &[("parameters", &text("a blue lake", 103))]),
    );
    let run = open_run(dir).unwrap();
    assert_eq!(run.manifest.generator, "a1111");
    assert_eq!(run.manifest.plan.count, 5);
    let st = status(&run, &Limits::DEFAULT, false).unwrap();
    assert_eq!(st.item(0).unwrap().status, ItemStatus::Produced);
    assert_eq!(st.item(2).unwrap().status, ItemStatus::Damaged);
    assert_eq!(st.item(3).unwrap().status, ItemStatus::Missing);
    assert_eq!(st.item(4).unwrap().status, ItemStatus::Produced);
    let foreign = st
        .files
        .iter()
        .find(|f| f.path.ends_with("00003-103.png"))
        .unwrap();
    assert_eq!(foreign.status, ItemStatus::Foreign);
    assert_eq!(st.first_to_redo, Some(2));
    let done = resume(&run, &st, None, false).unwrap();
    let plan = read_json(&done.written[0].path);
    assert_eq!(
        plan["remaining"][0],
        json!({"index": 2, "status": "damaged", "seed": "102"})
    );
    assert_eq!(plan["init_image"]["file"], json!("00001-101.png"));
}

#[test]
fn pytti_run_resumes_from_its_last_good_image() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let settings = json!({"scenes": "a bird | a tree", "seed": 7, "steps_per_frame": 50, "save_every": 50,
        "animation_mode": "2D", "steps_per_scene": 500, "file_namespace": "bird", "width": 64, "height": 64});
    write(
        &dir.join("bird(2)_settings.txt"),
        format!("{settings}\n\nb'0.00: a bird'\nb'5.00: a tree'\n").as_bytes(),
    );
    for n in 1..8u32 {
        write(&dir.join(format!("bird(2)_{n}.png")), &png(n, &[]));
    }
    write(&dir.join("bird(2)_8.png"), &truncated(&png(8, &[])));
    let run = open_run(dir).unwrap();
    assert_eq!(run.manifest.generator, "pytti");
    let st = status(&run, &Limits::DEFAULT, false).unwrap();
    // `bird(2)_1.png` is frame 0; the truncated `_8` is frame 7.
    assert_eq!(
        st.item(0).unwrap().file.as_deref(),
        Some(dir.join("bird(2)_1.png").as_path())
    );
    assert_eq!(st.first_to_redo, Some(7));
    let done = resume(&run, &st, None, false).unwrap();
    assert_eq!(done.settings["restore_run"], json!(2));
    // pytti restores image `bird(2)_7.png`, its number 7.
    assert_eq!(done.settings["restore_frame"], json!(7));
    let yaml = std::fs::read_to_string(
        &done
            .written
            .iter()
            .find(|w| w.kind == "pytti")
            .unwrap()
            .path,
    )
    .unwrap();
    assert!(
        yaml.contains("restore: true\nreencode: true\nrestore_run: 2\nrestore_frame: 7\n"),
        "{yaml}"
    );
}

#[test]
fn files_the_manifest_recorded_are_placed_by_it_when_neither_name_nor_record_says_the_item() {
    // A run written by `stemma.Run`: generic file names no tool's naming rule places, frames placed by their
    // records, and the manifest's `produced[].file` for a file whose record is gone (cut short, replaced).
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let settings = json!({"prompt": "a forest"});
    let store = stemma_runs::SettingsStore::for_folder(dir);
    let hash = store.put("stemma-params", &settings).unwrap();
    let id = stemma_runs::run_id("stemma:forest", &hash);
    let mut manifest: stemma_runs::Manifest = serde_json::from_value(json!({
        "stemma_run": "1.0", "id": id, "generator": "stemma", "key": "stemma:forest",
        "settings": {"format": "stemma-params", "hash": hash},
        "plan": {"kind": "animation", "count": 5},
    }))
    .unwrap();
    for i in 0..4u64 {
        let name = format!("forest_{i:05}.png");
        let record = json!({"stemma": "1.0", "run": {"id": id, "settings": hash, "index": i},
            "sequence": {"id": id, "frame": i}});
        let bytes = stamped(i as u32 * 40, &record);
        write(&dir.join(&name), &bytes);
        let content = stemma_container::ops::lineage_id(&bytes, &Limits::DEFAULT).unwrap();
        manifest.produced.push(stemma_runs::Produced {
            index: i,
            id: content.to_string(),
            file: Some(name),
        });
    }
    let path = stemma_runs::manifest_path(dir, "forest");
    manifest.save(&path, false).unwrap();
    let cut = std::fs::read(dir.join("forest_00001.png")).unwrap();
    write(&dir.join("forest_00001.png"), &truncated(&cut));
    write(&dir.join("forest_00002.png"), &png(999, &[]));
    write(&dir.join("stray.png"), &png(998, &[]));

    let st = status(&open_run(&path).unwrap(), &Limits::DEFAULT, false).unwrap();
    let states: Vec<ItemStatus> = st.items.iter().map(|i| i.status).collect();
    use ItemStatus::*;
    assert_eq!(states, [Verified, Damaged, Mismatched, Verified, Planned]);
    assert_eq!(st.first_to_redo, Some(1));
    let stray = st
        .files
        .iter()
        .find(|f| f.path.ends_with("stray.png"))
        .unwrap();
    assert_eq!(stray.status, Foreign);
    assert_eq!(stray.index, None);
}
