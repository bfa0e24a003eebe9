#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `import`, `convert` and sidecars end to end: import keeps the original chunks, equals the on-the-fly view, and a
//! second run changes nothing.

mod common;

use common::{assert_chunks_kept, ids, show_view, stemma, walk};

use std::path::{Path, PathBuf};

use tempfile::TempDir;

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

#[test]
fn import_writes_the_normalised_view_keeps_originals_and_is_idempotent() {
    let (_dir, root) = library_copy();
    let file = root.join("comfyui/ComfyUI_00001_.png");
    let before_bytes = std::fs::read(&file).unwrap();
    let direct = show_view(&file);
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

    let after = show_view(&file);
    assert_eq!(after["source"], "stemma");
    assert_eq!(
        after["record"], direct["record"],
        "import then show must equal the direct view"
    );
    // Every original chunk is still there, byte-identical, in order.
    assert_chunks_kept(&before_bytes, &std::fs::read(&file).unwrap(), "import");

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
    let view = show_view(&file);
    assert_eq!(view["source"], "sidecar");
    assert_eq!(view["record"]["params"]["seed"], "1234567890");
}

#[test]
fn stamp_sidecar_works_for_files_stemma_cannot_read() {
    let dir = TempDir::new().unwrap();
    let video = dir.path().join("clip.avi");
    std::fs::write(&video, b"RIFF\x1c\0\0\0AVI LIST not really a video").unwrap();
    stemma()
        .arg("stamp")
        .arg(&video)
        .args(["--sidecar", "--prompt", "a timelapse of clouds"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&video).unwrap(),
        b"RIFF\x1c\0\0\0AVI LIST not really a video"
    );
    let view = show_view(&video);
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
    let view = show_view(&target);
    assert_eq!(view["source"], "stemma");
    assert_eq!(view["record"]["params"]["seed"], "1234567890");
    assert_eq!(view["record"]["parents"][0]["relation"], "upscale");
    assert_eq!(view["record"]["parents"][0]["id"], ids(&source)["pixels"]);
    // The target's own ids, not the source's.
    assert_eq!(view["record"]["content"]["data"], ids(&target)["data"]);
}

#[test]
fn error_paths_name_what_is_wrong() {
    let (_dir, root) = library_copy();
    let plain = root.join("plain/sketch.png");
    let target = root.join("a1111/00012-1234567890.png");
    let before = std::fs::read(&target).unwrap();
    // convert from a file with nothing to carry over
    let out = stemma()
        .arg("convert")
        .arg(&plain)
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no stemma record and no generator metadata")
    );
    assert_eq!(std::fs::read(&target).unwrap(), before);
    // a broken configuration file is reported, not ignored
    let config = root.join("config.toml");
    std::fs::write(&config, "a1111 = maybe\n").unwrap();
    let out = stemma()
        .arg("stamp")
        .arg(&target)
        .args(["--prompt", "x"])
        .env("STEMMA_CONFIG", &config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.toml"));
    assert_eq!(std::fs::read(&target).unwrap(), before);
    // with a good one, its defaults apply: the A1111 mirror is written into a PNG that had none
    std::fs::write(&config, "a1111 = true\nprompt_author = \"Ada\"\n").unwrap();
    stemma()
        .arg("stamp")
        .arg(&plain)
        .args(["--prompt", "a quiet harbour", "--seed", "7"])
        .env("STEMMA_CONFIG", &config)
        .assert()
        .success();
    let view = show_view(&plain);
    assert_eq!(view["record"]["prompt"]["author"], "Ada");
    let keys: Vec<&str> = view["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["key"].as_str())
        .collect();
    assert!(keys.contains(&"parameters"), "{keys:?}");
}

#[test]
fn import_leaves_files_with_a_c2pa_manifest_untouched_unless_forced() {
    let (_dir, root) = library_copy();
    let file = root.join("a1111/00012-1234567890.png");
    let original = std::fs::read(&file).unwrap();
    // Put a (placeholder) C2PA manifest store chunk right after IHDR.
    let cabx = stemma_container::png::encode_chunk(
        stemma_container::png::ChunkType(*b"caBX"),
        b"jumb manifest",
    );
    let with_manifest = [&original[..33], &cabx[..], &original[33..]].concat();
    std::fs::write(&file, &with_manifest).unwrap();
    let out = stemma().arg("import").arg(&file).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 files carry a C2PA manifest"));
    assert_eq!(std::fs::read(&file).unwrap(), with_manifest);
    stemma()
        .args(["import", "--force"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(show_view(&file)["source"], "stemma");
}
