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

/// The shared test data folder (`$STEMMA_SHARED`, else `shared/` beside the repository), when `needed` exists in
/// it. When it is missing the test FAILS, unless `STEMMA_ALLOW_MISSING_SHARED=1` says that running without it is
/// intended: then `None`, after a loud line naming what is skipped.
pub fn shared_dir(needed: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("STEMMA_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
        });
    let allow = std::env::var_os("STEMMA_ALLOW_MISSING_SHARED").is_some_and(|v| v == "1");
    match shared_dir_or_why(&dir, needed, allow) {
        Ok(found) => found,
        Err(why) => panic!("{why}"),
    }
}

/// [`shared_dir`] without the environment: `Ok(Some(dir))` when `dir/needed` exists, `Ok(None)` (skip) when it
/// does not and `allow_missing` is set, else the message the test fails with.
pub fn shared_dir_or_why(
    dir: &std::path::Path,
    needed: &str,
    allow_missing: bool,
) -> Result<Option<std::path::PathBuf>, String> {
    let wanted = dir.join(needed);
    if wanted.exists() {
        return Ok(Some(dir.to_path_buf()));
    }
    if allow_missing {
        eprintln!(
            "\n*** SKIPPED (STEMMA_ALLOW_MISSING_SHARED=1): {} not found ***\n",
            wanted.display()
        );
        return Ok(None);
    }
    Err(format!(
        "shared test data not found: {}. It is the project's shared/ folder (real generator files, see \
         shared/corpus/README.md) checked out beside the repository; point STEMMA_SHARED at it, or set \
         STEMMA_ALLOW_MISSING_SHARED=1 to skip the tests that need it",
        wanted.display()
    ))
}
