#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Snapshots of the normalised record made from every ComfyUI and InvokeAI file of the shared corpus
//! (`../shared/corpus/{comfyui,invokeai}`). The raw entries are reduced to origin, key, size and `used`, and the
//! native settings to their format, so that the snapshots show what the importers concluded, not the graphs.
//! When the corpus is absent the test says so loudly and checks nothing. Files the container layer cannot scan
//! yet are listed and skipped.

use std::path::PathBuf;

use serde_json::{json, Value};
use stemma_container::{ops, Limits};
use stemma_import::{import, Evidence};

mod common;

fn corpus_dir() -> Option<PathBuf> {
    common::shared_dir("corpus/expected.jsonl").map(|d| d.join("corpus"))
}

/// The record and report of one file, with bulky verbatim data reduced to a summary.
fn summary(path: &std::path::Path) -> Option<Value> {
    let bytes = std::fs::read(path).unwrap();
    let metadata = match ops::scan_path(path, &Limits::default()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("  skipped (cannot be scanned yet): {}: {e}", path.display());
            return None;
        }
    };
    let evidence = Evidence {
        metadata: &metadata,
        file_name: path.file_name().and_then(|n| n.to_str()),
        file: Some(&bytes),
        ..Evidence::new(&metadata)
    };
    let report = import(&evidence);
    let Some(imported) = report.imported else {
        return Some(json!({"layers": report.layers, "failures": report.failures}));
    };
    let mut record = serde_json::to_value(&imported.record).unwrap();
    if let Some(raw) = record.get_mut("raw").and_then(Value::as_array_mut) {
        for entry in raw.iter_mut() {
            let size = entry
                .get("text")
                .and_then(Value::as_str)
                .map(str::len)
                .or_else(|| entry.get("base64").and_then(Value::as_str).map(str::len));
            *entry = json!({
                "origin": entry["origin"],
                "key": entry["key"],
                "size": size,
                "used": entry.get("used").cloned().unwrap_or(Value::Bool(false)),
            });
        }
    }
    if let Some(settings) = record.get_mut("settings") {
        *settings = json!({"format": settings["format"]});
    }
    Some(json!({
        "dialect": imported.dialect,
        "layers": report.layers,
        "warnings": imported.warnings,
        "record": record,
    }))
}

#[test]
fn comfyui_and_invokeai_corpus_records() {
    let Some(dir) = corpus_dir() else {
        eprintln!("\n*** SKIPPED: ../shared/corpus not found; no ComfyUI/InvokeAI snapshot was checked ***\n");
        return;
    };
    for folder in ["comfyui", "invokeai"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(folder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let ext = p
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_ascii_lowercase();
                ["png", "webp", "jpg", "jpeg"].contains(&ext.as_str())
            })
            .collect();
        files.sort();
        for path in files {
            let Some(value) = summary(&path) else {
                continue;
            };
            let name = format!(
                "{folder}__{}",
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .replace('.', "_")
            );
            insta::assert_json_snapshot!(name, value);
        }
    }
}
