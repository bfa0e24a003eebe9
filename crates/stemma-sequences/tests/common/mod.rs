// Shared helpers for the integration tests (included with `mod common;`).
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared reference folder holding `legacy/` (see `stemma_testdata::shared_dir`); `test` is the calling test,
/// for readers.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let _ = test;
    stemma_testdata::shared_dir("legacy")
}
