#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The spec's "no lock-in" example: a 20-line Python script with only Pillow and `json` reads what stemma wrote.

use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;

#[test]
fn pillow_reads_the_record_stemma_wrote() {
    let has_pillow = Process::new("python3")
        .args(["-c", "import PIL"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !has_pillow {
        eprintln!(
            "\n*** SKIPPED: python3 with Pillow not found; the Python reader was not checked ***\n"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("fox.png");
    std::fs::copy(root.join("spec/vectors/valid/no-record.png"), &file).unwrap();
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
    let python = Process::new("python3")
        .arg(root.join("spec/examples/read_stemma.py"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        python.status.success(),
        "{}",
        String::from_utf8_lossy(&python.stderr)
    );
    let from_python: Value = serde_json::from_slice(&python.stdout).unwrap();
    let ours = Command::cargo_bin("stemma")
        .unwrap()
        .args(["show", "--json", "--record-only"])
        .arg(&file)
        .output()
        .unwrap();
    let from_stemma: Value = serde_json::from_slice(&ours.stdout).unwrap();
    assert_eq!(from_python, from_stemma);
    assert_eq!(from_python["params"]["seed"], "18446744073709551615");
    // And for every valid vector.
    for name in ["minimal", "full-record", "compressed-record"] {
        let path = root.join(format!("spec/vectors/valid/{name}.png"));
        let out = Process::new("python3")
            .arg(root.join("spec/examples/read_stemma.py"))
            .arg(&path)
            .output()
            .unwrap();
        let read: Value = serde_json::from_slice(&out.stdout).unwrap();
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(path.with_extension("expected.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(read, expected["record"], "{name}");
    }
}
