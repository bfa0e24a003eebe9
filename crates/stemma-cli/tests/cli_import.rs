#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `import`, `convert` and sidecars end to end: import keeps the original chunks, equals the on-the-fly view, and a
//! second run changes nothing.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

fn stemma() -> Command {
    Command::cargo_bin("stemma").unwrap()
}

fn show(path: &Path) -> Value {
    let out = stemma()
        .args(["show", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn library_copy() -> (TempDir, PathBuf) {
    let dir = TempDir::new().unwrap();
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/library");
    for sub in ["a1111", "comfyui", "plain"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(lib.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
        }
    }
    let root = dir.path().to_path_buf();
    (dir, root)
}

/// (type, bytes) of every PNG chunk.
fn chunks(file: &[u8]) -> Vec<Vec<u8>> {
    let mut pos = 8;
    let mut out = Vec::new();
    while pos + 12 <= file.len() {
        let len = u32::from_be_bytes(file[pos..pos + 4].try_into().unwrap()) as usize;
        out.push(file[pos..pos + 12 + len].to_vec());
        pos += 12 + len;
    }
    out
}

#[test]
fn import_writes_the_normalised_view_keeps_originals_and_is_idempotent() {
    let (_dir, root) = library_copy();
    let file = root.join("comfyui/ComfyUI_00001_.png");
    let before_bytes = std::fs::read(&file).unwrap();
    let direct = show(&file);
    assert_eq!(direct["source"], "imported");

    let out = stemma().arg("import").arg(&root).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("3 imported"), "{summary}");
    assert!(summary.contains("1 without metadata"), "{summary}");

    let after = show(&file);
    assert_eq!(after["source"], "stemma");
    assert_eq!(
        after["record"], direct["record"],
        "import then show must equal the direct view"
    );
    // Every original chunk is still there, byte-identical, in order.
    let after_bytes = std::fs::read(&file).unwrap();
    let after_chunks = chunks(&after_bytes);
    let mut it = after_chunks.iter();
    for chunk in chunks(&before_bytes) {
        assert!(
            it.any(|c| *c == chunk),
            "an original chunk was changed or reordered"
        );
    }

    // A second run changes nothing.
    let snapshot: Vec<Vec<u8>> = walk(&root)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let out = stemma().arg("import").arg(&root).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 imported, 3 already had a stemma record")
    );
    let again: Vec<Vec<u8>> = walk(&root)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(snapshot, again);
}

#[test]
fn dry_run_and_sidecar_leave_images_untouched() {
    let (_dir, root) = library_copy();
    let snapshot: Vec<Vec<u8>> = walk(&root)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let out = stemma()
        .args(["import", "--dry-run"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 would import"));
    stemma()
        .args(["import", "--sidecar"])
        .arg(&root)
        .assert()
        .success();
    let images: Vec<PathBuf> = walk(&root)
        .into_iter()
        .filter(|p| p.extension().unwrap() == "png")
        .collect();
    let now: Vec<Vec<u8>> = images.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert_eq!(snapshot, now);
    let file = root.join("a1111/00012-1234567890.png");
    assert!(root.join("a1111/00012-1234567890.png.stemma.json").exists());
    let view = show(&file);
    assert_eq!(view["source"], "sidecar");
    assert_eq!(view["record"]["params"]["seed"], "1234567890");
}

#[test]
fn stamp_sidecar_works_for_files_stemma_cannot_read() {
    let dir = TempDir::new().unwrap();
    let video = dir.path().join("clip.mp4");
    std::fs::write(&video, b"\0\0\0\x18ftypisom not really a video").unwrap();
    stemma()
        .arg("stamp")
        .arg(&video)
        .args(["--sidecar", "--prompt", "a timelapse of clouds"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&video).unwrap(),
        b"\0\0\0\x18ftypisom not really a video"
    );
    let view = show(&video);
    assert_eq!(
        view["record"]["prompt"]["positive"],
        "a timelapse of clouds"
    );
}

#[test]
fn convert_carries_the_record_onto_a_copy_with_the_relation() {
    let (_dir, root) = library_copy();
    let source = root.join("a1111/00012-1234567890.png");
    let target = root.join("plain/sketch.png");
    stemma()
        .arg("convert")
        .arg(&source)
        .arg(&target)
        .args(["--relation", "upscale"])
        .assert()
        .success();
    let view = show(&target);
    assert_eq!(view["source"], "stemma");
    assert_eq!(view["record"]["params"]["seed"], "1234567890");
    assert_eq!(view["record"]["parents"][0]["relation"], "upscale");
    let ids: Value = serde_json::from_slice(
        &stemma()
            .args(["id", "--json"])
            .arg(&source)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(view["record"]["parents"][0]["id"], ids["pixels"]);
    // The target's own ids, not the source's.
    let target_ids: Value = serde_json::from_slice(
        &stemma()
            .args(["id", "--json"])
            .arg(&target)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(view["record"]["content"]["data"], target_ids["data"]);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
