//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code, clippy::panic)]

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
