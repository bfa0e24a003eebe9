#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `stemma scan --watch` follows a library: a file added, moved and deleted while it runs shows up in the
//! catalog. The catalog is polled with a generous deadline (no timing is asserted).

mod common;

use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use common::{run_ok, stemma};

fn picture(seed: u32) -> Vec<u8> {
    (0..16 * 16 * 3)
        .map(|i: u32| (i.wrapping_mul(31).wrapping_add(seed.wrapping_mul(97))) as u8)
        .enumerate()
        .map(|(i, v)| if i < 4 { seed.to_le_bytes()[i] } else { v })
        .collect()
}

fn a1111_png(seed: u32, prompt: &str) -> Vec<u8> {
    let text = format!(
        "{prompt}\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: {seed}, Size: 16x16"
    );
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 16, 16);
        enc.set_color(png::ColorType::Rgb);
        enc.add_text_chunk("parameters".into(), text).unwrap();
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&picture(seed)).unwrap();
        w.finish().unwrap();
    }
    out
}

/// Writes a file whole under a temporary name, then renames it into place (as generators save).
fn save(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The watcher, stopped when the test ends (also when it fails).
struct Watcher(Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `(path, status)` of every file row, sorted.
fn files(db: &Path) -> Vec<(String, String)> {
    let Ok(conn) = rusqlite::Connection::open(db) else {
        return Vec::new();
    };
    let _ = conn.busy_timeout(Duration::from_secs(5));
    let Ok(mut stmt) = conn.prepare("SELECT path, status FROM files ORDER BY path") else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// Polls the catalog until `want` holds; fails after a generous deadline.
fn wait_until(db: &Path, what: &str, want: impl Fn(&[(String, String)]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let now = files(db);
        if want(&now) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the watching scan did not catch up: {what}\ncatalog files: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn status<'a>(files: &'a [(String, String)], path: &str) -> Option<&'a str> {
    files
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, s)| s.as_str())
}

#[test]
fn a_watching_scan_follows_added_moved_and_deleted_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    save(&root.join("a/one.png"), &a1111_png(1, "a red cat"));
    save(&root.join("a/two.png"), &a1111_png(2, "a blue dog"));
    run_ok(stemma().current_dir(root).args(["init", "-q"]));
    let db = root.join(".stemma/catalog.db");
    let _watcher = Watcher(
        Process::new(assert_cmd::cargo::cargo_bin("stemma"))
            .current_dir(root)
            .args(["scan", "--watch", "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until(&db, "the first scan", |f| {
        status(f, "a/one.png") == Some("ok") && status(f, "a/two.png") == Some("ok")
    });

    save(&root.join("b/three.png"), &a1111_png(3, "a green owl"));
    wait_until(&db, "an added file", |f| {
        status(f, "b/three.png") == Some("ok")
    });

    std::fs::rename(root.join("a/one.png"), root.join("b/moved.png")).unwrap();
    wait_until(&db, "a moved file", |f| {
        status(f, "b/moved.png") == Some("ok") && status(f, "a/one.png") == Some("missing")
    });

    std::fs::remove_file(root.join("a/two.png")).unwrap();
    wait_until(&db, "a deleted file", |f| {
        status(f, "a/two.png") == Some("missing")
    });

    // The moved file is the same image (found by its prompt at its new path); the deleted one is kept, missing.
    let found = run_ok(stemma().current_dir(root).args(["find", "red"]));
    assert_eq!(found.trim(), root.join("b/moved.png").display().to_string());
    assert_eq!(
        run_ok(stemma().current_dir(root).args(["find", "--count"])).trim(),
        "3"
    );
}
