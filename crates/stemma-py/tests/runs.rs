//! The run manifest writer behind `stemma.Run`: the manifest and settings store it makes, the items it records,
//! and the library's status by content after a simulated crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use _stemma::edit::{self, Base, StampRequest};
use _stemma::runs::{self, OpenRequest, ProducedItem};
use _stemma::ErrorKind;
use serde_json::{json, Value};
use stemma_container::Limits;
use stemma_runs::{ItemStatus, Manifest, SettingsStore};

/// A 4×4 grey PNG whose shade tells frames apart.
fn write_png(path: &Path, shade: u8) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 4, 4);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[shade; 16]).unwrap();
}

fn request<'a>(folder: &'a Path, settings: Value, count: Option<u64>) -> OpenRequest<'a> {
    OpenRequest {
        folder,
        name: "forest",
        generator: Some("notebook"),
        settings: Some(settings),
        count,
        pattern: "{name}_{index:05d}.png",
        created: Some("2026-12-03T08:00:00Z".into()),
    }
}

/// Save frame `i` the way `stemma.Run.save` does: a PNG stamped with the run and sequence, then recorded.
fn save_frame(folder: &Path, manifest_path: &Path, manifest: &Manifest, i: u64) -> Manifest {
    let name = format!("forest_{i:05}.png");
    let file = folder.join(&name);
    write_png(&file, (i * 37 % 256) as u8);
    let mut req = StampRequest::new(&file);
    req.base = Base::Fresh;
    req.patch = Some(json!({
        "prompt": {"positive": "a forest"},
        "params": {"seed": format!("{}", 1000 + i)},
        "sequence": {"id": manifest.id, "frame": i},
        "run": {"id": manifest.id, "settings": manifest.settings.hash, "index": i},
    }));
    edit::stamp(&req, &Limits::default()).unwrap();
    let item = ProducedItem {
        index: i,
        file: name,
        seed: Some(format!("{}", 1000 + i)),
        patch: Some(json!({"strength": 0.6})),
        ..ProducedItem::default()
    };
    runs::record(manifest_path, &item, &Limits::default()).unwrap()
}

#[test]
fn a_new_run_keeps_its_settings_in_the_store_and_is_a_valid_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let settings = json!({"prompt": "a forest", "steps": 20});
    let (path, manifest) = runs::open(&request(dir.path(), settings.clone(), Some(6))).unwrap();
    assert_eq!(path, dir.path().join("forest.stemma-run.json"));
    let hash = stemma_model::settings_hash(&settings).unwrap().to_string();
    assert_eq!(manifest.settings.hash, hash);
    assert_eq!(manifest.settings.format, "stemma-params");
    assert_eq!(manifest.id, stemma_runs::run_id("stemma:forest", &hash));
    assert_eq!(manifest.generator, "notebook");
    assert_eq!(manifest.plan.count, 6);
    let stored = SettingsStore::for_folder(dir.path()).get(&hash).unwrap();
    assert_eq!(stored.data, settings);
    // What was written is what the library reads back.
    assert_eq!(Manifest::load(&path).unwrap(), manifest);
    // Reopening gives the same run; other settings are refused.
    let (_, again) = runs::open(&request(dir.path(), settings, None)).unwrap();
    assert_eq!(again.id, manifest.id);
    let err = runs::open(&request(dir.path(), json!({"steps": 21}), None)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Record);
    assert!(err.to_string().contains("other settings"), "{err}");
}

#[test]
fn recorded_items_carry_content_ids_and_patches_and_stay_inside_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let (path, manifest) = runs::open(&request(dir.path(), json!({}), Some(2))).unwrap();
    let written = save_frame(dir.path(), &path, &manifest, 1);
    let id = edit::lineage_id(&dir.path().join("forest_00001.png"), &Limits::default()).unwrap();
    assert_eq!(written.produced_id(1), Some(id.as_str()));
    assert_eq!(
        written.plan.items,
        vec![json!({"index": 1, "seed": "1001", "patch": {"strength": 0.6}})]
    );
    let item = ProducedItem {
        index: 2,
        file: "forest_00001.png".into(),
        ..ProducedItem::default()
    };
    let err = runs::record(&path, &item, &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("outside the plan"), "{err}");
    assert_eq!(
        Manifest::load(&path).unwrap(),
        written,
        "a refused item changes nothing"
    );
}

#[test]
fn an_open_ended_run_grows_its_plan() {
    let dir = tempfile::tempdir().unwrap();
    let (path, manifest) = runs::open(&request(dir.path(), json!({}), None)).unwrap();
    assert_eq!(manifest.plan.count, 0);
    let written = save_frame(dir.path(), &path, &manifest, 0);
    let written = save_frame(dir.path(), &path, &written, 1);
    assert_eq!(written.plan.count, 2);
    assert_eq!(
        runs::status(&path, &Limits::default())
            .unwrap()
            .first_to_redo,
        None
    );
}

#[test]
fn after_a_crash_the_status_by_content_resumes_at_the_truncated_frame() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut manifest) = runs::open(&request(dir.path(), json!({"a": 1}), Some(8))).unwrap();
    for i in 0..5 {
        manifest = save_frame(dir.path(), &path, &manifest, i);
    }
    // What a Python run writes is a manifest by the specification's schema.
    let schema_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/run-manifest.schema.json"),
    )
    .unwrap();
    let schema = jsonschema::validator_for(&serde_json::from_str(&schema_text).unwrap()).unwrap();
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let errors: Vec<String> = schema
        .iter_errors(&written)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(written["produced"].as_array().unwrap().len(), 5);
    let third = dir.path().join("forest_00003.png");
    let bytes = std::fs::read(&third).unwrap();
    std::fs::write(&third, &bytes[..bytes.len() - 20]).unwrap();
    let st = runs::status(&path, &Limits::default()).unwrap();
    let states: Vec<ItemStatus> = st.items.iter().map(|i| i.status).collect();
    use ItemStatus::*;
    assert_eq!(
        states,
        [Verified, Verified, Verified, Damaged, Verified, Planned, Planned, Planned]
    );
    assert_eq!(st.first_to_redo, Some(3));
    assert_eq!(st.last_good, Some(2));
    let json: Value =
        serde_json::from_str(&runs::status_json(&path, &Limits::default()).unwrap()).unwrap();
    assert_eq!(json["first_to_redo"], 3);
}
