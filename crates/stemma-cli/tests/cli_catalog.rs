#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The catalog commands end to end: init, scan, find, prompts, tag/rate, log/tree, diff, export; a scan killed
//! at random points never corrupts the catalog, and two scans at once both finish.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use common::{run_ok, stemma};
use serde_json::Value;

fn picture(seed: u32) -> Vec<u8> {
    (0..16 * 16 * 3)
        .map(|i: u32| (i.wrapping_mul(31).wrapping_add(seed.wrapping_mul(97))) as u8)
        .enumerate()
        .map(|(i, v)| if i < 4 { seed.to_le_bytes()[i] } else { v })
        .collect()
}

fn a1111_png(seed: u32, prompt: &str) -> Vec<u8> {
    let text = format!(
        "{prompt}\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: {seed}, Size: 16x16, \
         Model: dreamshaper_8"
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

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn in_dir(dir: &Path, args: &[&str]) -> String {
    run_ok(stemma().current_dir(dir).args(args))
}

fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn log_shows_a_renamed_parent_at_its_new_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("gen/parent.png"), &a1111_png(1, "a lighthouse"));
    write(&root.join("up/upscale.png"), &a1111_png(2, "whatever"));
    in_dir(
        root,
        &[
            "convert",
            "gen/parent.png",
            "up/upscale.png",
            "--relation",
            "upscale",
        ],
    );
    in_dir(root, &["init", "-q"]);
    let out = in_dir(root, &["scan"]);
    assert!(out.contains("2 new images"), "{out}");
    let log = in_dir(&root.join("up"), &["log", "upscale.png"]);
    assert!(log.contains("upscale of"), "{log}");
    assert!(log.contains("gen/parent.png"), "{log}");

    std::fs::create_dir(root.join("kept")).unwrap();
    std::fs::rename(root.join("gen/parent.png"), root.join("kept/renamed.png")).unwrap();
    let out = in_dir(root, &["scan"]);
    assert!(out.contains("1 moved"), "{out}");
    let log = in_dir(root, &["log", "up/upscale.png"]);
    assert!(log.contains("kept/renamed.png"), "{log}");
    assert!(!log.contains("gen/parent.png"), "{log}");
    let tree = in_dir(root, &["tree", "kept/renamed.png"]);
    assert!(
        tree.contains("upscale into") && tree.contains("up/upscale.png"),
        "{tree}"
    );

    let prov: Value =
        serde_json::from_str(&in_dir(root, &["export", "-q", "--prov", "up/upscale.png"])).unwrap();
    assert_eq!(prov["entity"].as_object().unwrap().len(), 2);
    let d = prov["wasDerivedFrom"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(d["prov:type"]["$"], "stemma:upscale");
    assert!(prov["activity"].as_object().is_some());

    let diff = in_dir(
        root,
        &["diff", "--json", "kept/renamed.png", "up/upscale.png"],
    );
    let diff: Value = serde_json::from_str(&diff).unwrap();
    assert!(diff["patch"]["parents"].is_array(), "{diff}");
}

#[test]
fn find_tag_rate_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("a.png"), &a1111_png(1, "a red cat"));
    write(&root.join("b.png"), &a1111_png(2, "a blue cat"));
    in_dir(root, &["init", "-q"]);
    in_dir(root, &["scan", "-q"]);
    assert_eq!(in_dir(root, &["find", "--count", "cat"]).trim(), "2");
    let found = in_dir(root, &["find", "red"]);
    assert_eq!(found.trim(), root.join("a.png").display().to_string());

    let out = stemma()
        .current_dir(root)
        .args(["find", "steps:2x OR"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("steps:2x OR") && err.contains("^"), "{err}");

    in_dir(root, &["tag", "a.png", "+Sky", "+keep"]);
    in_dir(root, &["tag", "a.png", "-keep", "+best", "--write"]);
    in_dir(root, &["rate", "a.png", "5"]);
    assert_eq!(
        in_dir(root, &["find", "--count", "tag:sky rating:5"]).trim(),
        "1"
    );
    // --write put the tags into the file's record: a fresh catalog finds them.
    let shown: Value = serde_json::from_str(&in_dir(root, &["show", "--json", "a.png"])).unwrap();
    assert_eq!(
        shown["record"]["ext"]["org.stemma.tags"],
        serde_json::json!(["best", "sky"])
    );
    std::fs::remove_dir_all(root.join(".stemma")).unwrap();
    in_dir(root, &["init", "-q"]);
    in_dir(root, &["scan", "-q"]);
    assert_eq!(
        in_dir(root, &["find", "--count", "tag:best has:record"]).trim(),
        "1"
    );

    let csv = in_dir(root, &["export", "-q", "--csv"]);
    assert!(csv.starts_with("content_id,path,"));
    assert_eq!(csv.lines().count(), 3);
    let jsonl = in_dir(root, &["export", "-q", "--jsonl", "--query", "blue"]);
    let v: Value = serde_json::from_str(jsonl.trim()).unwrap();
    assert_eq!(v["paths"], serde_json::json!(["b.png"]));
    let prompts = in_dir(root, &["prompts"]);
    assert!(prompts.contains("a red cat") && prompts.contains("a blue cat"));
}

fn library(root: &Path, n: u32) {
    for i in 0..n {
        write(
            &root.join(format!("d{}/img{i:05}.png", i % 7)),
            &a1111_png(i, &format!("a lighthouse number {i}, dramatic sky")),
        );
    }
}

fn scan_process(root: &Path, db: &Path) -> Process {
    let mut p = Process::new(assert_cmd::cargo::cargo_bin("stemma"));
    p.current_dir(root)
        .args(["scan", "-q", "--catalog"])
        .arg(db)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    p
}

#[test]
fn a_scan_killed_at_random_points_never_corrupts_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    library(root, 1500);
    let db: PathBuf = root.join(".stemma/catalog.db");
    in_dir(root, &["init", "-q"]);
    // A fixed pseudo-random sequence of kill delays, so a failure can be replayed.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..8 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let delay = 20 + (state >> 33) % 400;
        let mut child = scan_process(root, &db).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_eq!(
            integrity(&db),
            "ok",
            "round {round}, killed after {delay} ms"
        );
        // Change a slice of the library so the next scan has work again.
        for i in (round * 150)..(round * 150 + 150) {
            write(
                &root.join(format!("d{}/img{i:05}.png", i % 7)),
                &a1111_png(i + 10_000, "changed"),
            );
        }
    }
    let status = scan_process(root, &db).status().unwrap();
    assert!(status.success());
    assert_eq!(integrity(&db), "ok");
    // Every file is in the catalog once, at its image; replaced contents stay as images without a present path.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let present: i64 = conn
        .query_row(
            "SELECT COUNT(DISTINCT image_id) FROM files WHERE status = 'ok'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(present, 1500);
    // Every index is there (a load killed before it built them is finished by the next scan).
    let indexes: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        indexes,
        stemma_catalog::schema::SECONDARY_INDEXES.len() as i64
    );
    conn.execute(
        "INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .unwrap();
    let again = in_dir(root, &["scan"]);
    assert!(again.contains("0 read, 1500 unchanged"), "{again}");
}

#[test]
fn two_scans_at_once_both_finish() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    library(root, 600);
    let db: PathBuf = root.join(".stemma/catalog.db");
    in_dir(root, &["init", "-q"]);
    let mut a = scan_process(root, &db).spawn().unwrap();
    let mut b = scan_process(root, &db).spawn().unwrap();
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    assert_eq!(integrity(&db), "ok");
    assert_eq!(in_dir(root, &["find", "--count"]).trim(), "600");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let files: i64 = conn
        .query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0))
        .unwrap();
    assert_eq!(files, 600);
}

fn a1111_with(seed: u32, prompt: &str, steps: u32, extra: &str) -> Vec<u8> {
    let text = format!(
        "{prompt}\nNegative prompt: blurry\nSteps: {steps}, Sampler: Euler a, CFG scale: 7, Seed: {seed}, \
         Size: 16x16, Model: dreamshaper_8{extra}"
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

#[test]
fn prompts_groups_dynamic_prompts_under_their_template_and_seed_runs_into_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tpl = ", Template: \"a {red|blue} cat on a {mat|rug}\"";
    for (n, prompt) in [
        "a red cat on a mat",
        "a blue cat on a mat",
        "a blue cat on a rug",
    ]
    .iter()
    .enumerate()
    {
        write(
            &root.join(format!("dp/{n}.png")),
            &a1111_with(n as u32 + 1, prompt, 20, tpl),
        );
    }
    for seed in 10..13 {
        write(
            &root.join(format!("run/{seed}.png")),
            &a1111_with(seed, "a castle in fog", 25, ""),
        );
    }
    in_dir(root, &["init", "-q"]);
    in_dir(root, &["scan", "-q"]);

    let templates = in_dir(root, &["prompts", "--templates"]);
    assert!(
        templates.contains("3 images  recorded  a {red|blue} cat on a {mat|rug}"),
        "{templates}"
    );
    assert!(
        templates.contains("blue (2)") && templates.contains("rug (1)"),
        "{templates}"
    );
    let json: Vec<Value> = in_dir(root, &["prompts", "--templates", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let recorded: Vec<&Value> = json.iter().filter(|t| t["recorded"] == true).collect();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["images"], 3);

    let stacks = in_dir(root, &["prompts", "--stacks"]);
    assert!(stacks.contains("stack of 3: a castle in fog"), "{stacks}");
    for seed in 10..13 {
        assert!(stacks.contains(&format!("run/{seed}.png")), "{stacks}");
    }
    assert!(
        !stacks.contains("dp/"),
        "a template's expansions differ in prompt: {stacks}"
    );
}
