//! Writing commands take many files and folders in one command: a bad file is named and the others are written;
//! a re-stamp reuses the stored pixel id when the image data did not change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use common::{ids, run_ok, show_view, stemma};
use serde_json::Value;
use tempfile::TempDir;

/// A small PNG whose pixels depend on `seed`.
fn png(seed: u8) -> Vec<u8> {
    let mut img = image::RgbImage::new(9, 5);
    for (x, y, p) in img.enumerate_pixels_mut() {
        *p = image::Rgb([(x * 27) as u8, (y * 50) as u8, seed]);
    }
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn record_of(path: &Path) -> Value {
    show_view(path)["record"].clone()
}

#[test]
fn a_folder_is_stamped_in_one_command_and_a_bad_file_is_named_while_the_others_are_written() {
    let dir = TempDir::new().unwrap();
    let good: Vec<PathBuf> = ["a.png", "b.png", "sub/c.png"]
        .iter()
        .enumerate()
        .map(|(i, n)| write(dir.path(), n, &png(i as u8)))
        .collect();
    // A PNG cut short in its image data: damaged, so a writer must refuse it.
    let whole = png(9);
    let cut = &whole[..whole.len() - 20];
    let bad = write(dir.path(), "bad.png", cut);
    let out = stemma()
        .args(["stamp", "--prompt", "a fox"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert_eq!(stderr.matches("bad.png").count(), 1, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("4 files: 3 records written") && stdout.contains("1 failed"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(&bad).unwrap(),
        cut,
        "the bad file is untouched"
    );
    for (i, file) in good.iter().enumerate() {
        let record = record_of(file);
        assert_eq!(record["prompt"]["positive"], "a fox", "{}", file.display());
        // Each file's own ids, computed in the batch.
        let expected = ids(file);
        assert_eq!(record["content"]["pixels"], expected["pixels"], "{i}");
        assert_eq!(record["content"]["data"], expected["data"], "{i}");
    }
    // No temporary file is left behind.
    let leftovers: Vec<PathBuf> = common::walk(dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".stemma-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn output_and_frames_from_need_a_single_file() {
    let dir = TempDir::new().unwrap();
    write(dir.path(), "a.png", &png(1));
    let out = stemma()
        .args(["stamp", "--prompt", "x", "-o"])
        .arg(dir.path().join("out.png"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_restamp_reuses_the_stored_pixel_id_only_while_the_image_data_is_unchanged() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "x.png", &png(3));
    let real = ids(&file);
    // A record claiming this file's data id with a made-up pixel id: taken as it is, so nothing was decoded.
    let fake = format!("sha256:{}", "ab".repeat(32));
    let claim = serde_json::json!({
        "stemma": "1.0",
        "prompt": {"positive": "a fox"},
        "content": {"data": real["data"], "pixels": fake},
    });
    let rec = write(dir.path(), "rec.json", claim.to_string().as_bytes());
    run_ok(
        stemma()
            .args(["stamp", "-q", "--record"])
            .arg(&rec)
            .arg(&file),
    );
    assert_eq!(record_of(&file)["content"]["pixels"], fake.as_str());
    // A plain re-stamp keeps it too: the stored record's data id is still the file's.
    run_ok(stemma().args(["stamp", "-q", "--seed", "7"]).arg(&file));
    let record = record_of(&file);
    assert_eq!(record["content"]["pixels"], fake.as_str());
    assert_eq!(record["params"]["seed"], "7");

    // A record whose data id is another image's (the pixels changed since): the pixel id is decoded again.
    let changed = serde_json::json!({
        "stemma": "1.0",
        "content": {"data": format!("sha256:{}", "cd".repeat(32)), "pixels": fake},
    });
    let rec = write(dir.path(), "changed.json", changed.to_string().as_bytes());
    let out = run_ok(stemma().args(["stamp", "--record"]).arg(&rec).arg(&file));
    assert!(out.contains("record written"), "{out}");
    let record = record_of(&file);
    assert_eq!(record["content"]["pixels"], real["pixels"]);
    assert_eq!(record["content"]["data"], real["data"]);
}

#[test]
fn strip_takes_folders_and_says_what_it_did_in_one_line() {
    let dir = TempDir::new().unwrap();
    let originals: Vec<(PathBuf, Vec<u8>)> = (0..3u8)
        .map(|i| {
            let bytes = png(i);
            (write(dir.path(), &format!("f{i}.png"), &bytes), bytes)
        })
        .collect();
    run_ok(
        stemma()
            .args(["stamp", "-q", "--prompt", "p"])
            .arg(dir.path()),
    );
    let out = run_ok(
        stemma()
            .args(["strip", "--profile", "stemma"])
            .arg(dir.path()),
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("3 files: 3 stripped"), "{out}");
    for (path, bytes) in &originals {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
    }
}

#[test]
fn convert_pairs_two_folders_by_file_name() {
    let dir = TempDir::new().unwrap();
    let src = write(dir.path(), "src/a.png", &png(1));
    write(dir.path(), "src/b.png", &png(2));
    run_ok(
        stemma()
            .args(["stamp", "-q", "--prompt", "the source"])
            .arg(dir.path().join("src")),
    );
    let copy = write(dir.path(), "dst/a.png", &png(11));
    let orphan = write(dir.path(), "dst/zzz.png", &png(12));
    let out = stemma()
        .args(["convert", "--relation", "upscale"])
        .arg(dir.path().join("src"))
        .arg(dir.path().join("dst"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("zzz.png") && stderr.contains("no file"),
        "{stderr}"
    );
    let record = record_of(&copy);
    assert_eq!(record["prompt"]["positive"], "the source");
    assert_eq!(record["parents"][0]["relation"], "upscale");
    assert_eq!(record["parents"][0]["id"], ids(&src)["pixels"]);
    assert_eq!(record["content"]["pixels"], ids(&copy)["pixels"]);
    assert!(record_of(&orphan).is_null());
}
