#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! What the commands say: file names that are not UTF-8 (JSON keeps their bytes, one never stops a folder),
//! errors said once and naming the right file, usage errors exiting 2, one line on success, hints.

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use common::{run_ok, stemma};
use serde_json::Value;
use tempfile::TempDir;

fn encoded(format: image::ImageFormat) -> Vec<u8> {
    let mut img = image::RgbImage::new(6, 4);
    for (x, y, p) in img.enumerate_pixels_mut() {
        *p = image::Rgb([(x * 40) as u8, (y * 60) as u8, 90]);
    }
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

fn png() -> Vec<u8> {
    encoded(image::ImageFormat::Png)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(unix)]
fn non_utf8_name() -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b"b-\xff\xfe-frame.png"))
}

/// The raw bytes a JSON object gives for its file: `file_bytes` when present, else `file`'s UTF-8.
fn file_bytes_of(v: &Value) -> Vec<u8> {
    match v.get("file_bytes") {
        Some(bytes) => bytes
            .as_array()
            .unwrap()
            .iter()
            .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
            .collect(),
        None => v["file"].as_str().unwrap().as_bytes().to_vec(),
    }
}

#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_are_listed_losslessly_and_never_stop_a_folder() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new().unwrap();
    write(dir.path(), "a.png", &png());
    let odd = dir.path().join(non_utf8_name());
    std::fs::write(&odd, png()).unwrap();
    write(dir.path(), "c.png", &png());

    for command in ["id", "show"] {
        let out = stemma()
            .args([command, "--json"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}: {}", stderr_of(&out));
        let lines: Vec<Value> = stdout_of(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{command}: {e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 3, "{command}: one line per file");
        let odd_line = &lines[1];
        assert_eq!(
            file_bytes_of(odd_line),
            odd.as_os_str().as_bytes(),
            "{command}: file_bytes gives the name back"
        );
        assert!(odd_line["file"].as_str().unwrap().contains('\u{fffd}'));
        assert!(lines[0].get("file_bytes").is_none(), "only for odd names");
        assert!(lines[2]["file"].as_str().unwrap().ends_with("c.png"));
    }

    // seq reads the folder as a whole and still gives one JSON document.
    let out = stemma()
        .args(["seq", "--json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "seq: {}", stderr_of(&out));
    let scan: Value = serde_json::from_str(stdout_of(&out).trim()).unwrap();
    let listed = scan["non_utf8_paths"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{scan}");
    let bytes: Vec<u8> = listed[0]["bytes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
        .collect();
    assert_eq!(bytes, odd.as_os_str().as_bytes());

    // Writing commands take the odd name too, and say what they did.
    let out = stemma()
        .args(["stamp", "--prompt", "a fox"])
        .arg(&odd)
        .output()
        .unwrap();
    assert!(out.status.success(), "stamp: {}", stderr_of(&out));
    assert_eq!(stdout_of(&out).lines().count(), 1);
    let shown: Value =
        serde_json::from_str(&run_ok(stemma().args(["show", "--json"]).arg(&odd))).unwrap();
    assert_eq!(shown["record"]["prompt"]["positive"], "a fox");
    assert_eq!(file_bytes_of(&shown), odd.as_os_str().as_bytes());
}

#[test]
fn a_folder_that_cannot_be_written_is_named_with_the_target_and_the_os_error_once() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "x.png", &png());
    // A regular file where the output's folder should be: creating the temporary file fails even for root.
    write(dir.path(), "not-a-folder", b"");
    let out = stemma()
        .args(["stamp", "--prompt", "p", "-o"])
        .arg(dir.path().join("not-a-folder/out.png"))
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(err.contains("x.png: not written"), "{err}");
    assert!(err.contains("not-a-folder"), "names the folder: {err}");
    assert!(!err.contains(".stemma-"), "no temporary file name: {err}");
    assert_eq!(err.matches("(os error").count(), 1, "OS error once: {err}");
}

#[test]
fn an_io_error_is_said_once() {
    let dir = TempDir::new().unwrap();
    let out = stemma()
        .args(["strip"])
        .arg(dir.path().join("missing.png"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(err.contains("missing.png"), "{err}");
    assert_eq!(err.matches("(os error 2)").count(), 1, "{err}");
}

#[test]
fn a_malformed_param_is_a_usage_error() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "x.png", &png());
    for bad in ["steps", "=20"] {
        let out = stemma()
            .args(["stamp", "--param", bad])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "--param {bad}: {}",
            stderr_of(&out)
        );
        assert!(stderr_of(&out).contains("KEY=VALUE"));
    }
    assert_eq!(std::fs::read(&file).unwrap(), png(), "nothing written");
}

#[test]
fn an_empty_folder_is_reported() {
    let dir = TempDir::new().unwrap();
    for command in ["show", "id", "verify"] {
        let out = stemma().arg(command).arg(dir.path()).output().unwrap();
        let err = stderr_of(&out);
        assert!(
            err.contains("no image files found in") && err.contains(&*dir.path().to_string_lossy()),
            "{command}: {err}"
        );
    }
}

#[test]
fn a_missing_config_named_by_the_environment_is_an_error() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "x.png", &png());
    let config = dir.path().join("nope.toml");
    let out = stemma()
        .env("STEMMA_CONFIG", &config)
        .args(["stamp", "--prompt", "p"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(
        err.contains("nope.toml") && err.contains("STEMMA_CONFIG"),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), png(), "nothing written");
}

/// A PNG with a `tEXt` chunk whose CRC is wrong.
fn png_with_bad_text_crc() -> Vec<u8> {
    let file = png();
    let mut chunk = Vec::new();
    let data = b"Comment\0hello";
    chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
    chunk.extend_from_slice(b"tEXt");
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(&0xDEAD_BEEFu32.to_be_bytes());
    let ihdr_end = 8 + 8 + 13 + 4;
    [&file[..ihdr_end], &chunk, &file[ihdr_end..]].concat()
}

#[test]
fn verify_reports_a_bad_crc_once() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "bad.png", &png_with_bad_text_crc());
    let out = stemma().arg("verify").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    assert_eq!(text.matches("CRC").count(), 1, "{text}");
}

#[test]
fn writing_commands_say_what_they_did_unless_quiet() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "x.png", &png());
    let copy = write(dir.path(), "y.png", &png());

    let out = run_ok(stemma().args(["stamp", "--prompt", "a fox"]).arg(&file));
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("x.png") && out.contains("record written"),
        "{out}"
    );

    let out = run_ok(stemma().arg("convert").arg(&file).arg(&copy));
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("y.png") && out.contains("x.png"), "{out}");

    let out = run_ok(stemma().args(["strip", "--profile", "stemma"]).arg(&file));
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("x.png: stripped"), "{out}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        png(),
        "strip gave the file back"
    );
    let out = run_ok(stemma().args(["strip", "--profile", "stemma"]).arg(&file));
    assert!(out.contains("nothing to strip"), "{out}");

    for args in [
        vec!["stamp", "-q", "--prompt", "b"],
        vec!["strip", "-q", "--profile", "stemma"],
    ] {
        let out = run_ok(stemma().args(&args).arg(&file));
        assert_eq!(out, "", "{args:?}");
    }
    let out = run_ok(stemma().args(["convert", "-q"]).arg(&copy).arg(&file));
    assert_eq!(out, "");
}

#[test]
fn a_relation_outside_the_specification_is_warned_about() {
    let dir = TempDir::new().unwrap();
    let file = write(dir.path(), "x.png", &png());
    let copy = write(dir.path(), "y.png", &png());
    run_ok(stemma().args(["stamp", "--prompt", "a fox"]).arg(&file));
    let out = stemma()
        .args(["convert", "--relation", "bogus-rel"])
        .arg(&file)
        .arg(&copy)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains("warning") && err.contains("bogus-rel"),
        "{err}"
    );
    let out = stemma()
        .args(["convert", "--relation", "upscale"])
        .arg(&file)
        .arg(&copy)
        .output()
        .unwrap();
    assert!(!stderr_of(&out).contains("warning"), "{}", stderr_of(&out));
}

#[test]
fn a_prompt_too_long_for_a_jpegs_standard_xmp_says_what_to_do() {
    let dir = TempDir::new().unwrap();
    let jpeg = encoded(image::ImageFormat::Jpeg);
    let file = write(dir.path(), "x.jpg", &jpeg);
    let prompt = "a very long prompt, ".repeat(4000);
    let out = stemma()
        .args(["stamp", "--prompt", &prompt])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(
        err.contains("--no-xmp") && err.contains("--sidecar"),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), jpeg, "nothing written");
    // What the hint says works.
    run_ok(
        stemma()
            .args(["stamp", "--no-xmp", "--prompt", &prompt])
            .arg(&file),
    );
    let shown: Value =
        serde_json::from_str(&run_ok(stemma().args(["show", "--json"]).arg(&file))).unwrap();
    assert_eq!(shown["record"]["prompt"]["positive"], prompt.as_str());
}

#[test]
fn missing_shared_data_fails_unless_allowed() {
    let dir = TempDir::new().unwrap();
    let missing = common::shared_dir_or_why(dir.path(), "corpus", false).unwrap_err();
    assert!(missing.contains("STEMMA_ALLOW_MISSING_SHARED"), "{missing}");
    assert_eq!(
        common::shared_dir_or_why(dir.path(), "corpus", true).unwrap(),
        None
    );
    std::fs::create_dir(dir.path().join("corpus")).unwrap();
    assert_eq!(
        common::shared_dir_or_why(dir.path(), "corpus", false).unwrap(),
        Some(dir.path().to_path_buf())
    );
}
