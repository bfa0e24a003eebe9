#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Walk every image of the shared corpus with scan, data_id and check: no panics, and errors only for the
//! deliberately empty files.

use std::path::{Path, PathBuf};

use stemma_container::ops::{handler_of, scan_path};
use stemma_container::{Limits, Value};

mod common;

fn shared() -> Option<PathBuf> {
    common::shared_dir("corpus")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if let Some(ext) = p.extension().and_then(|e| e.to_str()) {
            if ["png", "jpg", "jpeg", "webp", "gif", "avif", "heic"]
                .contains(&ext.to_ascii_lowercase().as_str())
            {
                out.push(p);
            }
        }
    }
}

#[test]
fn every_corpus_image_scans() {
    let Some(shared) = shared() else {
        eprintln!("SKIPPED: shared corpus not found (set STEMMA_SHARED)");
        return;
    };
    let mut all = Vec::new();
    files(&shared.join("corpus"), &mut all);
    all.sort();
    assert!(!all.is_empty());
    let limits = Limits::DEFAULT;
    let mut failures = Vec::new();
    let mut exif_texts = 0;
    let mut round_trips = 0;
    for path in &all {
        let len = std::fs::metadata(path).unwrap().len();
        match scan_path(path, &limits) {
            Ok(meta) => {
                exif_texts += meta
                    .entries
                    .iter()
                    .filter(|e| e.origin == "exif" && matches!(e.value, Value::Text(_)))
                    .count();
                let bytes = std::fs::read(path).unwrap();
                let source: &dyn stemma_container::source::Source = &bytes;
                let h = handler_of(source).unwrap();
                h.data_id(&bytes, &limits)
                    .unwrap_or_else(|e| panic!("{}: data_id: {e}", path.display()));
                h.check(&bytes, &limits)
                    .unwrap_or_else(|e| panic!("{}: check: {e}", path.display()));
                // An edit that changes nothing returns the input unchanged.
                let same = h
                    .edit(&bytes, &stemma_container::Edit::default(), &limits)
                    .unwrap_or_else(|e| panic!("{}: edit: {e}", path.display()));
                assert!(
                    same == bytes,
                    "{}: no-op edit changed bytes",
                    path.display()
                );
                if stamp_and_strip(path, h, &bytes, &meta) {
                    round_trips += 1;
                }
            }
            Err(e) if len <= 160 => eprintln!("{} (empty, {len} bytes): {e}", path.display()),
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "scan failures:\n{}",
        failures.join("\n")
    );
    assert!(exif_texts > 0, "no EXIF text entries found in the corpus");
    eprintln!(
        "{} corpus files scanned, {exif_texts} EXIF text entries, {round_trips} stamp/strip round trips",
        all.len()
    );
    assert!(round_trips > 0);
}

const RECORD: &str =
    r#"{"stemma":"1.0","generator":{"name":"stemma"},"prompt":{"positive":"corpus round trip"}}"#;

/// Stamp a real file, read the record back, strip it: the original bytes come back; pixels are unchanged.
fn stamp_and_strip(
    path: &Path,
    h: &dyn stemma_container::ContainerHandler,
    bytes: &[u8],
    meta: &stemma_container::Metadata,
) -> bool {
    if meta
        .entries
        .iter()
        .any(|e| e.origin == "c2pa" || e.key == "c2pa")
        || meta.record_json.is_some()
    {
        return false;
    }
    let limits = Limits::DEFAULT;
    let name = path.display();
    let stamped = match h.edit(
        bytes,
        &stemma_container::Edit::set_record(RECORD.into()),
        &limits,
    ) {
        Ok(s) => s,
        Err(stemma_container::Error::Unsupported { .. }) => return false,
        Err(e) => panic!("{name}: stamp: {e}"),
    };
    let source: &dyn stemma_container::source::Source = &stamped;
    let again = h
        .scan(source, &limits)
        .unwrap_or_else(|e| panic!("{name}: rescan: {e}"));
    assert_eq!(again.record_json.as_deref(), Some(RECORD), "{name}");
    let stripped = h
        .edit(
            &stamped,
            &stemma_container::Edit::strip(stemma_container::StripProfile::Stemma),
            &limits,
        )
        .unwrap_or_else(|e| panic!("{name}: strip: {e}"));
    assert!(
        stripped == bytes,
        "{name}: strip stemma did not restore the original"
    );
    assert_eq!(
        h.data_id(&stamped, &limits).unwrap(),
        h.data_id(bytes, &limits).unwrap(),
        "{name}: data id changed"
    );
    if let Ok(before) = image::load_from_memory(bytes) {
        let after = image::load_from_memory(&stamped)
            .unwrap_or_else(|e| panic!("{name}: stamped file no longer decodes: {e}"));
        assert!(before == after, "{name}: pixels changed");
    }
    true
}
