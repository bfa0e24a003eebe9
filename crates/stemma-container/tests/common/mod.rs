//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code)]

#[allow(unused_imports)] // not every test file uses each
pub use stemma_testdata::{shared_dir, shared_dir_or_why};
