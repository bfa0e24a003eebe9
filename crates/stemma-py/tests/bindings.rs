//! The Rust side of the Python bindings: resolver adapter, envelope, stamp, strip and error kinds, on real files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use _stemma::edit::{self, Base, ParentSpec, Profile, StampRequest};
use _stemma::envelope;
use _stemma::resolver::{resolve, RecordSource, ResolveOptions};
use _stemma::ErrorKind;
use serde_json::{json, Value};
use stemma_container::Limits;

/// `rel` in the shared test data (`stemma_testdata::shared_dir`: a test fails when it is missing unless
/// STEMMA_ALLOW_MISSING_SHARED=1).
fn shared(rel: &str) -> Option<PathBuf> {
    stemma_testdata::shared_dir(rel).map(|root| root.join(rel))
}

#[test]
fn an_a1111_png_is_imported_with_its_seed_as_text() {
    let Some(path) = shared("corpus/a1111/forge.png") else {
        return;
    };
    let view = resolve(&path, &ResolveOptions::default()).unwrap();
    assert_eq!(view.source, Some(RecordSource::Imported));
    assert_eq!(view.layers.first(), Some(&"a1111"));
    let record: Value = serde_json::from_str(
        &envelope::record_json(&path, &ResolveOptions::default())
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert!(record["params"]["seed"].is_string(), "{record}");
    assert!(record["prompt"]["positive"].as_str().unwrap().len() > 3);
}

#[test]
fn the_envelope_has_the_fields_of_show_json_in_order() {
    let Some(path) = shared("corpus/comfyui/comfyui-hires.png") else {
        return;
    };
    let text = envelope::show(&path, &ResolveOptions::default()).unwrap();
    let value: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = value.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "file", "format", "width", "height", "source", "layers", "record", "metadata",
            "warnings"
        ]
    );
    assert_eq!(value["source"], "imported");
    assert!(value["layers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l == "comfyui"));
}

#[test]
fn stamp_then_resolve_gives_the_record_back_and_strip_removes_it() {
    let Some(src) = shared("corpus/a1111/sd-webui.jpg") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.jpg");
    std::fs::write(&file, std::fs::read(&src).unwrap()).unwrap(); // the corpus is read-only
                                                                  // The shared corpus may be read-only; its copy is the user's own writable file.
    let mut perms = std::fs::metadata(&file).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    std::fs::set_permissions(&file, perms).unwrap();
    let original = std::fs::read(&file).unwrap();
    let mut req = StampRequest::new(&file);
    req.base = Base::Fresh;
    req.patch = Some(json!({"prompt": {"positive": "a red fox"}, "params": {"seed": "42"}}));
    req.parents = vec![ParentSpec {
        target: src.to_string_lossy().into_owned(),
        relation: Some("img2img".into()),
        hint: None,
    }];
    let written: Value =
        serde_json::from_str(&edit::stamp(&req, &Limits::default()).unwrap()).unwrap();
    assert_eq!(written["params"]["seed"], "42");
    // A JPEG has no pixel id (its decoders differ); its data id hashes the compressed image data.
    assert!(written["content"]["data"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    let parent_id = edit::lineage_id(&src, &Limits::default()).unwrap();
    assert_eq!(written["parents"][0]["id"], parent_id.as_str());

    let view = resolve(&file, &ResolveOptions::default()).unwrap();
    assert_eq!(view.source, Some(RecordSource::Stemma));
    let read: Value = serde_json::from_str(
        &envelope::record_json(&file, &ResolveOptions::default())
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(read, written);

    assert!(edit::strip(&file, None, Profile::Stemma, &Limits::default()).unwrap());
    assert_eq!(
        std::fs::read(&file).unwrap(),
        original,
        "strip --profile stemma restores the file byte for byte"
    );
}

#[test]
fn errors_name_the_file_and_have_a_kind() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.png");
    let err = resolve(&missing, &ResolveOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Missing);
    assert!(err.to_string().contains("nope.png"), "{err}");

    let Some(src) = shared("corpus/a1111/forge.png") else {
        return;
    };
    let bytes = std::fs::read(&src).unwrap();
    let truncated = dir.path().join("cut.png");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let mut req = StampRequest::new(&truncated);
    req.patch = Some(json!({"prompt": {"positive": "x"}}));
    let err = edit::stamp(&req, &Limits::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Damaged, "{err}");
    assert!(err.to_string().contains("cut.png"), "{err}");
    assert_eq!(
        std::fs::read(&truncated).unwrap(),
        &bytes[..bytes.len() / 2],
        "a refused file is left untouched"
    );

    let text = dir.path().join("notes.png");
    std::fs::write(&text, b"hello").unwrap();
    let err = resolve(&text, &ResolveOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
}

#[test]
fn a_patch_that_breaks_the_schema_is_refused_before_writing() {
    let Some(src) = shared("corpus/a1111/forge.png") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.png");
    std::fs::write(&file, std::fs::read(&src).unwrap()).unwrap(); // the corpus is read-only
    let mut req = StampRequest::new(&file);
    req.patch = Some(json!({"params": {"seed": "not a number"}}));
    let err = edit::stamp(&req, &Limits::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Record, "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(&src).unwrap());
}

#[test]
fn show_many_keeps_order_and_reports_unreadable_files_in_place() {
    let Some(a) = shared("corpus/a1111/forge.png") else {
        return;
    };
    let b = PathBuf::from("/nonexistent/b.png");
    let out = envelope::show_many(&[a.clone(), b, a], &ResolveOptions::default());
    assert_eq!(out.len(), 3);
    let second: Value = serde_json::from_str(&out[1]).unwrap();
    assert!(second["error"].as_str().unwrap().contains("b.png"));
    assert_eq!(out[0], out[2]);
}

#[test]
fn a_stored_record_with_references_is_shown_expanded_as_the_command_shows_it() {
    // An import in place leaves the graphs in their own chunks and stores references to them (spec §3.4.1); the
    // envelope shows the record whole, as `stemma show --json` does, never the stored references.
    let Some(src) = shared("corpus/comfyui/comfyui.png") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("comfyui.png");
    std::fs::write(&file, std::fs::read(&src).unwrap()).unwrap(); // the corpus is read-only
    let limits = Limits::default();
    let imported = resolve(&file, &ResolveOptions::default()).unwrap();
    assert_eq!(imported.source, Some(RecordSource::Imported));
    let mut record = imported.record.clone().unwrap();
    stemma_import::reference_values_kept_in_file(&mut record, &imported.metadata);
    let json = stemma_model::record_to_json(&record).unwrap();
    assert!(stemma_model::has_raw_references(&json), "{json}");
    let edit = stemma_container::Edit {
        record: stemma_container::RecordChange::Set(json),
        ..stemma_container::Edit::default()
    };
    stemma_container::ops::rewrite(&file, None, &edit, &limits).unwrap();

    let shown: Value =
        serde_json::from_str(&envelope::show(&file, &ResolveOptions::default()).unwrap()).unwrap();
    assert_eq!(shown["source"], "stemma");
    let whole = serde_json::to_value(imported.record.as_ref().unwrap()).unwrap();
    assert_eq!(shown["record"], whole);
    let alone: Value = serde_json::from_str(
        &envelope::record_json(&file, &ResolveOptions::default())
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(alone, whole);
}
