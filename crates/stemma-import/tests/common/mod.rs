// Shared helpers for the integration tests (included with `mod common;`).
#![allow(dead_code)]

use std::path::PathBuf;

#[allow(unused_imports)] // not every test file uses each
pub use stemma_testdata::{shared_dir as shared_data, shared_dir_or_why};

/// The shared reference folder holding `legacy/` (see [`shared_data`]); `test` is the calling test, for readers.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let _ = test;
    shared_data("legacy")
}
