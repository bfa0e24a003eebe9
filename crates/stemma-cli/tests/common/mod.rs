//! Helpers shared by the CLI integration tests: running `stemma`, reading its JSON, walking folders, PNG chunks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use serde_json::Value;

/// An independent oracle (ffmpeg, ExifTool, Pillow, jsonschema) is missing: fail, unless skipping was asked for
/// with `STEMMA_ALLOW_MISSING_TOOLS=1` (then say loudly what was not checked). `.ci/run` installs every oracle.
pub fn tool_missing(tool: &str, install: &str, unchecked: &str) {
    assert!(
        std::env::var("STEMMA_ALLOW_MISSING_TOOLS").as_deref() == Ok("1"),
        "{tool} not found: {install} (.ci/run does), or set STEMMA_ALLOW_MISSING_TOOLS=1 to skip on purpose"
    );
    eprintln!("\n*** SKIPPED: {tool} not found; {unchecked} was not checked ***\n");
}

/// The `stemma` binary under test.
pub fn stemma() -> Command {
    Command::cargo_bin("stemma").unwrap()
}

/// Run a command that must succeed; its standard output.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command's standard output as one JSON document.
pub fn json_of(cmd: &mut Command) -> Value {
    serde_json::from_str(&run_ok(cmd)).unwrap()
}

/// `stemma show --json` of one file: the view object.
pub fn show_view(path: &Path) -> Value {
    json_of(stemma().args(["show", "--json"]).arg(path))
}

/// `stemma show --json` of a file or folder: one view per file.
pub fn show_views(path: &Path) -> Vec<Value> {
    run_ok(stemma().args(["show", "--json"]).arg(path))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `stemma id --json` of one file: `{file, pixels, data}`.
pub fn ids(path: &Path) -> Value {
    json_of(stemma().args(["id", "--json"]).arg(path))
}

/// Every file under `root`, sorted.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// (type, whole chunk bytes: length, type, data, CRC) of every PNG chunk, in order.
pub fn png_chunks(file: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut pos = 8;
    let mut out = Vec::new();
    while pos + 12 <= file.len() {
        let len = u32::from_be_bytes(file[pos..pos + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = file[pos + 4..pos + 8].try_into().unwrap();
        out.push((kind, file[pos..pos + 12 + len].to_vec()));
        pos += 12 + len;
    }
    out
}

/// Every chunk of `before` is still in `after`, byte-identical and in the same order.
pub fn assert_chunks_kept(before: &[u8], after: &[u8], what: &str) {
    let after_chunks = png_chunks(after);
    let mut it = after_chunks.iter();
    for chunk in png_chunks(before) {
        assert!(
            it.any(|c| *c == chunk),
            "{what}: an original chunk was changed or reordered"
        );
    }
}

/// True when python3 with Pillow is available.
pub fn has_pillow() -> bool {
    Process::new("python3")
        .args(["-c", "import PIL"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[allow(unused_imports)] // not every test file uses each
pub use stemma_testdata::{shared_dir, shared_dir_or_why};
