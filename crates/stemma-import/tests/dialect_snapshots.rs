#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Snapshots of the normalised record made from every corpus file of the A1111 family and the other non-ComfyUI,
//! non-InvokeAI dialects (every `expected.jsonl` row whose generator is not `comfyui`/`invokeai`), one snapshot
//! per file. Raw entries are reduced to origin, key, size and `used`; native settings are kept unless large.
//! Also checks the stealth (pixel LSB) reader on the real files that carry a stealth copy, with their text
//! chunks removed. When the corpus is absent the tests say so loudly and check nothing.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use stemma_container::{ops, Entry, Format, Limits, Metadata};
use stemma_import::{import, Evidence};

/// Settings documents larger than this are reduced to their format and size.
const MAX_SETTINGS: usize = 4000;

mod common;

fn corpus_dir() -> Option<PathBuf> {
    common::shared_dir("corpus/expected.jsonl").map(|d| d.join("corpus"))
}

/// A key/value dump (`midjourney/picteus_mj_metadata.json`) as PNG text entries, as in `corpus.rs`.
fn metadata_from_dump(bytes: &[u8]) -> Metadata {
    let dump: serde_json::Map<String, Value> = serde_json::from_slice(bytes).unwrap();
    Metadata {
        format: Format::Png,
        entries: dump
            .into_iter()
            .filter_map(|(key, value)| match value {
                Value::String(text) => Some(Entry {
                    origin: "png:tEXt".into(),
                    key,
                    value: stemma_container::Value::Text(text),
                    after_image_data: false,
                    encoding: None,
                }),
                _ => None,
            })
            .collect(),
        ..Metadata::default()
    }
}

fn scan(path: &Path, bytes: &[u8]) -> Option<Metadata> {
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        return Some(metadata_from_dump(bytes));
    }
    match ops::scan_path(path, &Limits::default()) {
        Ok(m) => Some(m),
        Err(e) => {
            eprintln!("  skipped (cannot be scanned): {}: {e}", path.display());
            None
        }
    }
}

fn summary(metadata: &Metadata, path: &Path, bytes: &[u8]) -> Value {
    let evidence = Evidence {
        metadata,
        file_name: path.file_name().and_then(|n| n.to_str()),
        file: Some(bytes),
        ..Evidence::new(metadata)
    };
    let report = import(&evidence);
    let Some(imported) = report.imported else {
        return json!({"layers": report.layers, "failures": report.failures});
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
        let size = settings["data"].to_string().len();
        if size > MAX_SETTINGS {
            *settings = json!({"format": settings["format"], "data_size": size});
        }
    }
    json!({
        "dialect": imported.dialect,
        "layers": report.layers,
        "warnings": imported.warnings,
        "record": record,
    })
}

/// The corpus files of these dialects, from `expected.jsonl`.
fn files(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("expected.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|row| {
            let file = row["file"].as_str().unwrap_or("");
            let generator = row["generator"].as_str().unwrap_or("");
            !["comfyui", "invokeai"].contains(&generator) && !file.starts_with("comfyui/")
        })
        .map(|row| row["file"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn dialect_corpus_records() {
    let Some(dir) = corpus_dir() else {
        eprintln!(
            "\n*** SKIPPED: ../shared/corpus not found; no dialect snapshot was checked ***\n"
        );
        return;
    };
    let list = files(&dir);
    assert!(
        list.len() >= 40,
        "expected the corpus rows, found {}",
        list.len()
    );
    for file in list {
        let path = dir.join(&file);
        let bytes = std::fs::read(&path).unwrap_or_default();
        let Some(metadata) = scan(&path, &bytes) else {
            continue;
        };
        let value = summary(&metadata, &path, &bytes);
        let name = format!("dialects__{}", file.replace(['/', '.'], "_"));
        insta::assert_json_snapshot!(name, value);
    }
}

/// The stealth copy of real files, read with every chunk removed, agrees with the chunks.
#[test]
fn stealth_copy_of_real_files_agrees_with_the_chunks() {
    let Some(dir) = corpus_dir() else {
        eprintln!("\n*** SKIPPED: ../shared/corpus not found; stealth was not checked on real files ***\n");
        return;
    };
    let mut checked = 0;
    for file in [
        "a1111/forge.png",
        "novelai/novelai-curated.png",
        "novelai/novelai-full.png",
        "novelai/novelai-full-3char.png",
    ] {
        let path = dir.join(file);
        let bytes = std::fs::read(&path).unwrap();
        let full = ops::scan_path(&path, &Limits::default()).unwrap();
        let from_chunks = import(&Evidence {
            metadata: &full,
            file_name: None,
            file: Some(&bytes),
            ..Evidence::new(&full)
        })
        .imported
        .unwrap()
        .record;
        let stripped = Metadata {
            format: full.format,
            width: full.width,
            height: full.height,
            ..Metadata::default()
        };
        let report = import(&Evidence {
            metadata: &stripped,
            file_name: None,
            file: Some(&bytes),
            ..Evidence::new(&stripped)
        });
        let imported = report
            .imported
            .unwrap_or_else(|| panic!("{file}: no stealth data found"));
        assert_eq!(imported.dialect, "stealth", "{file}");
        let r = imported.record;
        assert_eq!(
            r.generator.as_ref().unwrap().name,
            from_chunks.generator.as_ref().unwrap().name,
            "{file}"
        );
        assert_eq!(r.prompt, from_chunks.prompt, "{file}");
        let (a, b) = (r.params.unwrap(), from_chunks.params.unwrap());
        assert_eq!(
            (a.seed, a.steps, a.cfg_scale, a.sampler),
            (b.seed, b.steps, b.cfg_scale, b.sampler),
            "{file}"
        );
        checked += 1;
    }
    assert_eq!(checked, 4);
}

/// Real A1111 `params.txt` files (`../shared/legacy/a1111/params_*.txt`) read as a `.txt` sidecar: multi-line
/// prompts with `BREAK`, quoted values with commas, bare JSON objects and arrays, hires keys, LoRA tags.
#[test]
fn real_params_txt_files() {
    let Some(dir) = corpus_dir() else {
        eprintln!("\n*** SKIPPED: ../shared not found; params.txt files were not checked ***\n");
        return;
    };
    let legacy = dir.join("../legacy/a1111");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&legacy)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("params_") && n.ends_with(".txt"))
        })
        .collect();
    names.sort();
    assert!(names.len() >= 4, "params files: {names:?}");
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        let metadata = Metadata {
            entries: vec![Entry {
                origin: "file:params.txt".into(),
                key: "text".into(),
                value: stemma_container::Value::Text(text.clone()),
                after_image_data: false,
                encoding: None,
            }],
            ..Metadata::default()
        };
        let imported = import(&Evidence::new(&metadata)).imported.unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(imported.dialect, "a1111", "{name}");
        let r = imported.record;
        let settings = r.settings.as_ref().unwrap().data.clone().unwrap();
        let p = r.params.clone().unwrap();
        assert!(
            p.seed.is_some() && p.steps.is_some() && p.width.is_some(),
            "{name}"
        );
        assert!(!r.positive().unwrap().contains("Steps: "), "{name}");
        // Every key of the parameter line is in the settings document.
        let param_line = text.lines().rfind(|l| l.starts_with("Steps: ")).unwrap();
        for key in ["Steps", "Sampler", "CFG scale", "Seed", "Size"] {
            assert!(
                param_line.contains(key) == settings.get(key).is_some(),
                "{name}: {key}"
            );
        }
        if name.contains("pony") {
            assert_eq!(
                settings["Tiled Diffusion"]["Method"],
                "Mixture of Diffusers"
            );
            assert_eq!(settings["Version"], "v1.10.1");
        }
        if name.contains("rpg") {
            assert_eq!(settings["RP Ratios"], "1,1; 1,1; 1,1; 1,1; 1,1; 1,1");
            assert!(
                settings["RP Bboxes"].is_array(),
                "{}",
                settings["RP Bboxes"]
            );
            assert!(r.positive().unwrap().matches("BREAK").count() >= 5);
            assert_eq!(r.prompt.as_ref().unwrap().negative, None);
        }
        if name.contains("24mlight") {
            assert_eq!(p.denoise, Some(0.75));
            assert_eq!(p.extra["Seed resize from"], "-1x-1");
        }
        if name.contains("626170998") {
            let h = p.hires.unwrap();
            assert_eq!((h.scale, h.denoise), (Some(2.0), Some(0.25)));
            assert_eq!(p.loras[0].name, "add-detail-xl");
            assert_eq!(p.loras[0].weight, Some(0.6));
            assert!(r
                .prompt
                .as_ref()
                .unwrap()
                .negative
                .as_ref()
                .unwrap()
                .contains('\n'));
        }
    }
}

/// Every A1111-style text of the corpus, re-read with CRLF line ends, a BOM and trailing spaces on the
/// parameter line, gives the same parameters and the same prompts (up to the line-end convention).
#[test]
fn infotext_line_end_variants() {
    let Some(dir) = corpus_dir() else {
        eprintln!(
            "\n*** SKIPPED: ../shared/corpus not found; line-end variants were not checked ***\n"
        );
        return;
    };
    let entry = |text: &str| Metadata {
        entries: vec![Entry {
            origin: "png:tEXt".into(),
            key: "parameters".into(),
            value: stemma_container::Value::Text(text.into()),
            after_image_data: false,
            encoding: None,
        }],
        ..Metadata::default()
    };
    let mut checked = 0;
    for file in files(&dir) {
        let path = dir.join(&file);
        let bytes = std::fs::read(&path).unwrap_or_default();
        let Some(metadata) = scan(&path, &bytes) else {
            continue;
        };
        let report = import(&Evidence::new(&metadata));
        let Some(imported) = report.imported.filter(|i| i.dialect == "a1111") else {
            continue;
        };
        let text = imported
            .record
            .raw
            .iter()
            .find(|r| r.used)
            .and_then(|r| r.text.clone())
            .unwrap();
        let variant = format!(
            "\u{feff}{}  \r\n",
            text.replace("\r\n", "\n").replace('\n', "\r\n")
        );
        let m = entry(&variant);
        let again = import(&Evidence::new(&m)).imported.unwrap().record;
        let norm = |s: Option<&String>| s.map(|s| s.replace("\r\n", "\n"));
        let (a, b) = (
            imported.record.prompt.as_ref().unwrap(),
            again.prompt.as_ref().unwrap(),
        );
        assert_eq!(
            norm(a.positive.as_ref()),
            norm(b.positive.as_ref()),
            "{file}"
        );
        assert_eq!(
            norm(a.negative.as_ref()),
            norm(b.negative.as_ref()),
            "{file}"
        );
        assert_eq!(imported.record.params, again.params, "{file}");
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} A1111 texts checked");
}
