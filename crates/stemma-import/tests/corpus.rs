#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every file of the shared corpus against `expected.jsonl`: the generator and the normalised fields must match.
//! Prints a per-generator table. The corpus lives outside the project (`../shared/corpus`); when it is absent the
//! test fails, unless `STEMMA_ALLOW_MISSING_SHARED=1` asks to skip it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use stemma_container::{ops, Limits};
use stemma_import::{import, Evidence};

/// Share of files with metadata that must be fully correct.
const REQUIRED_SHARE: f64 = 0.95;

mod common;

fn corpus_dir() -> Option<PathBuf> {
    common::shared_dir("corpus/expected.jsonl").map(|d| d.join("corpus"))
}

/// The fields compared, as (expected key, value read from the record).
fn actual_fields(record: &stemma_model::Record) -> BTreeMap<&'static str, Value> {
    let p = record.params.clone().unwrap_or_default();
    let prompt = record.prompt.clone().unwrap_or_default();
    let opt_str = |s: Option<String>| s.map(Value::String).unwrap_or(Value::Null);
    let mut m = BTreeMap::new();
    m.insert(
        "generator",
        opt_str(record.generator.as_ref().map(|g| g.name.clone())),
    );
    m.insert("prompt", opt_str(prompt.positive));
    m.insert("negative_prompt", opt_str(prompt.negative));
    m.insert("seed", opt_str(p.seed));
    m.insert("steps", p.steps.map(Value::from).unwrap_or(Value::Null));
    m.insert(
        "cfg_scale",
        p.cfg_scale.map(Value::from).unwrap_or(Value::Null),
    );
    m.insert("sampler", opt_str(p.sampler));
    m.insert("model", opt_str(p.model.and_then(|m| m.name)));
    m.insert("width", p.width.map(Value::from).unwrap_or(Value::Null));
    m.insert("height", p.height.map(Value::from).unwrap_or(Value::Null));
    m
}

/// A key/value dump of a file's metadata (ExifTool style, e.g. `midjourney/picteus_mj_metadata.json`) as the
/// entries a PNG scan would have produced: every string value becomes a text entry with that key. Numbers
/// (pixel size, bit depth) describe the image, not its metadata, and are left out.
fn metadata_from_dump(bytes: &[u8]) -> stemma_container::Metadata {
    let dump: serde_json::Map<String, Value> = serde_json::from_slice(bytes).unwrap_or_default();
    stemma_container::Metadata {
        format: stemma_container::Format::Png,
        entries: dump
            .into_iter()
            .filter_map(|(key, value)| match value {
                Value::String(text) => Some(stemma_container::Entry {
                    origin: "png:tEXt".into(),
                    key,
                    value: stemma_container::Value::Text(text),
                    after_image_data: false,
                    encoding: None,
                }),
                _ => None,
            })
            .collect(),
        ..stemma_container::Metadata::default()
    }
}

fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => (x - y).abs() < 1e-6,
            _ => a == b,
        },
        _ => expected == actual,
    }
}

#[test]
fn corpus_matches_expected_values() {
    let Some(dir) = corpus_dir() else {
        eprintln!(
            "\n*** SKIPPED: ../shared/corpus not found; the corpus test checked nothing ***\n"
        );
        return;
    };
    let expected = std::fs::read_to_string(dir.join("expected.jsonl")).unwrap();
    let limits = Limits::default();
    // generator -> (files, fully correct)
    let mut table: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut failures = Vec::new();
    let (mut with_metadata, mut correct) = (0u32, 0u32);
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let row: Value = serde_json::from_str(line).unwrap();
        let file = row["file"].as_str().unwrap();
        let path = dir.join(file);
        let generator = row["generator"].as_str().unwrap_or("?").to_string();
        let has_metadata = row["has_metadata"].as_bool().unwrap_or(true);
        let entry = table.entry(generator.clone()).or_default();
        entry.0 += 1;
        let bytes = std::fs::read(&path).unwrap_or_default();
        let scanned = if file.ends_with(".json") {
            Ok(metadata_from_dump(&bytes))
        } else {
            ops::scan_path(&path, &limits)
        };
        let report = scanned.as_ref().ok().map(|metadata| {
            let evidence = Evidence {
                metadata,
                file_name: path.file_name().and_then(|n| n.to_str()),
                file: Some(&bytes),
                ..Evidence::new(metadata)
            };
            import(&evidence)
        });
        let record = report
            .as_ref()
            .and_then(|r| r.imported.as_ref())
            .map(|i| &i.record);
        if !has_metadata {
            // A negative sample must not be claimed by any importer (an unreadable file is fine: it is reported).
            if record.is_none() {
                entry.1 += 1;
            } else {
                failures.push(format!(
                    "{file}: no metadata expected, but an importer claimed it"
                ));
            }
            continue;
        }
        with_metadata += 1;
        let Some(record) = record else {
            let why = match &scanned {
                Err(e) => format!("scan failed: {e}"),
                Ok(_) => format!("not imported ({:?})", report.map(|r| r.failures)),
            };
            failures.push(format!("{file}: {why}"));
            continue;
        };
        let actual = actual_fields(record);
        let wrong: Vec<String> = actual
            .iter()
            .filter(|(k, v)| !same(&row[**k], v))
            .map(|(k, v)| format!("{k}: expected {} got {}", row[*k], v))
            .collect();
        if wrong.is_empty() {
            entry.1 += 1;
            correct += 1;
        } else {
            failures.push(format!("{file}: {}", wrong.join("; ")));
        }
    }
    eprintln!("\n{:<18} {:>6} {:>8}", "generator", "files", "correct");
    for (generator, (files, ok)) in &table {
        eprintln!("{generator:<18} {files:>6} {ok:>8}");
    }
    let share = f64::from(correct) / f64::from(with_metadata.max(1));
    eprintln!(
        "files with metadata: {with_metadata}, fully correct: {correct} ({:.1}%)",
        share * 100.0
    );
    for f in &failures {
        eprintln!("  MISMATCH {f}");
    }
    assert!(
        share >= REQUIRED_SHARE,
        "only {:.1}% of corpus files fully correct, {:.0}% required",
        share * 100.0,
        REQUIRED_SHARE * 100.0
    );
}
