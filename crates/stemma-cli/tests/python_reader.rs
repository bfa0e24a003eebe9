#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The spec's "no lock-in" example: `spec/examples/read_stemma.py`, standard-library Python (plus `jsonschema` for a
//! strict reader), reads what stemma wrote and agrees with every image vector: valid ones give their record, invalid
//! ones their error category, and nothing ends in a traceback.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;

fn python_with_jsonschema() -> bool {
    let ok = Process::new("python3")
        .args(["-c", "import jsonschema"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        common::tool_missing(
            "python3 with jsonschema",
            "pip install jsonschema",
            "the Python reader",
        );
    }
    ok
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run the reader on files; one parsed output line per file.
fn read_with_python(files: &[PathBuf]) -> Vec<Value> {
    let out = Process::new("python3")
        .arg(root().join("spec/examples/read_stemma.py"))
        .args(files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("Traceback"),
        "{stderr}"
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_python_reader_reads_what_stemma_wrote() {
    if !python_with_jsonschema() {
        return;
    }
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("fox.png");
    std::fs::copy(root().join("spec/vectors/valid/no-record.png"), &file).unwrap();
    Command::cargo_bin("stemma")
        .unwrap()
        .arg("stamp")
        .arg(&file)
        .args([
            "--prompt",
            "a fox in the snow, ünïcode",
            "--seed",
            "18446744073709551615",
        ])
        .assert()
        .success();
    let from_python = read_with_python(std::slice::from_ref(&file)).remove(0);
    let ours = Command::cargo_bin("stemma")
        .unwrap()
        .args(["show", "--json", "--record-only"])
        .arg(&file)
        .output()
        .unwrap();
    let from_stemma: Value = serde_json::from_slice(&ours.stdout).unwrap();
    assert_eq!(from_python, from_stemma);
    assert_eq!(from_python["params"]["seed"], "18446744073709551615");
}

#[test]
fn the_python_reader_agrees_with_every_image_vector() {
    if !python_with_jsonschema() {
        return;
    }
    let mut files = Vec::new();
    for folder in ["valid", "invalid"] {
        for entry in std::fs::read_dir(root().join("spec/vectors").join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().ends_with(".expected.json") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 40, "only {} vectors", files.len());
    let outputs = read_with_python(&files);
    for (path, read) in files.iter().zip(outputs) {
        let stem = path
            .to_string_lossy()
            .rsplit_once('.')
            .unwrap()
            .0
            .to_string();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{stem}.expected.json")).unwrap(),
        )
        .unwrap();
        match expected.get("error") {
            Some(category) => assert_eq!(read["error"], *category, "{}", path.display()),
            None => assert_eq!(read, expected["record"], "{}", path.display()),
        }
    }
}
