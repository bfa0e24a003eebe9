#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `raw` references (spec §3.4.1) between an imported record and its file: written into the file that keeps the
//! generator's metadata, the record names the large values instead of copying them, and every record read back from
//! the file is expanded into the copy again. A real ComfyUI PNG of the shared corpus is the file.

mod common;

use std::path::Path;

use stemma_container::{ops, Edit, Limits, RecordChange};
use stemma_import::{
    reference_values_kept_in_file, resolve, RecordSource, ResolveOptions, Resolved,
};
use stemma_model::{has_raw_references, record_to_json};

fn writable_copy(from: &Path, to: &Path) {
    std::fs::write(to, std::fs::read(from).unwrap()).unwrap();
}

fn write_record(path: &Path, json: String) {
    let edit = Edit {
        record: RecordChange::Set(json),
        xmp_mirrors: false,
        ..Edit::default()
    };
    ops::rewrite(path, None, &edit, &Limits::DEFAULT).unwrap();
}

fn resolved(path: &Path) -> Resolved {
    resolve(path, &ResolveOptions::default()).unwrap()
}

#[test]
fn an_imported_comfyui_record_names_its_graphs_in_the_file_and_comes_back_whole() {
    let Some(shared) = common::shared_data("corpus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("comfyui.png");
    writable_copy(&shared.join("corpus/comfyui/comfyui.png"), &path);

    let first = resolved(&path);
    assert_eq!(first.source, Some(RecordSource::Imported));
    let imported = first.record.clone().unwrap();
    let copied = record_to_json(&imported).unwrap();
    let graphs: Vec<_> = imported
        .raw
        .iter()
        .filter(|e| {
            e.origin == "png:tEXt" && matches!(e.key.as_deref(), Some("prompt" | "workflow"))
        })
        .collect();
    assert!(
        !graphs.is_empty(),
        "the corpus file keeps its graphs in tEXt chunks"
    );

    let mut stored = imported.clone();
    let referenced = reference_values_kept_in_file(&mut stored, &first.metadata);
    assert_eq!(referenced, graphs.len());
    let json = record_to_json(&stored).unwrap();
    assert!(has_raw_references(&json));
    assert!(
        json.len() * 2 < copied.len(),
        "the record no longer doubles the file's text: {} vs {} bytes",
        json.len(),
        copied.len()
    );
    write_record(&path, json.clone());

    // At rest, the file holds the record with references; read back, the record is whole again.
    let again = resolved(&path);
    assert_eq!(again.source, Some(RecordSource::Stemma));
    assert_eq!(again.metadata.record_json.as_deref(), Some(json.as_str()));
    assert!(
        again
            .warnings
            .iter()
            .all(|w| !w.contains("no longer holds")),
        "{:?}",
        again.warnings
    );
    // Exactly the record the import made: importing and reading back changes nothing a caller sees.
    let back = again.record.unwrap();
    assert_eq!(record_to_json(&back).unwrap(), copied);
}

#[test]
fn a_reference_whose_value_is_gone_is_reported_not_fatal() {
    let Some(shared) = common::shared_data("corpus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("comfyui.png");
    writable_copy(&shared.join("corpus/comfyui/comfyui.png"), &path);
    let mut record = resolved(&path).record.unwrap();
    record.raw.push(stemma_model::RawEntry::by_reference(
        "png:tEXt",
        Some("prompt"),
        b"a graph this file never held",
    ));
    write_record(&path, record_to_json(&record).unwrap());
    let r = resolved(&path);
    assert_eq!(r.source, Some(RecordSource::Stemma));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("png:tEXt") && w.contains("no longer holds")),
        "{:?}",
        r.warnings
    );
    assert!(r.record.unwrap().raw.last().unwrap().is_reference());
}
