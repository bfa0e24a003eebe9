// Shared helpers for the integration tests (included with `mod common;`).
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared reference folder, or `None` (after printing a loud SKIPPED) when it is absent.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("STEMMA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if dir.join("legacy").is_dir() {
        Some(dir)
    } else {
        assert!(
            std::env::var("STEMMA_ALLOW_MISSING_SHARED").as_deref() == Ok("1"),
            "{test}: shared reference data not found at {} (set STEMMA_SHARED, or STEMMA_ALLOW_MISSING_SHARED=1 to skip on purpose)",
            dir.display()
        );
        eprintln!(
            "SKIPPED {test}: shared reference data not found at {} (STEMMA_ALLOW_MISSING_SHARED=1)",
            dir.display()
        );
        None
    }
}
