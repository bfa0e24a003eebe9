//! Where the tests find the project's shared test data: real generator files, settings files and file-name lists
//! (`shared/corpus`, `shared/legacy`), kept beside the repository and never copied into it.
//!
//! A test that needs it FAILS when it is missing, unless `STEMMA_ALLOW_MISSING_SHARED=1` says that running without
//! it is intended; then the test returns early after a loud line naming what it skipped. `STEMMA_SHARED` points at
//! another copy.

use std::path::{Path, PathBuf};

/// The shared test data folder (`$STEMMA_SHARED`, else `shared/` beside the repository), when `needed` exists in
/// it; `None` (after a loud SKIPPED line) when it does not and `STEMMA_ALLOW_MISSING_SHARED=1`.
///
/// # Panics
/// When `needed` is missing and skipping was not asked for: that is the test failing, with the reason.
#[allow(clippy::panic)]
pub fn shared_dir(needed: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("STEMMA_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let allow = std::env::var_os("STEMMA_ALLOW_MISSING_SHARED").is_some_and(|v| v == "1");
    match shared_dir_or_why(&dir, needed, allow) {
        Ok(found) => found,
        Err(why) => panic!("{why}"),
    }
}

/// [`shared_dir`] without the environment: `Ok(Some(dir))` when `dir/needed` exists, `Ok(None)` (skip) when it
/// does not and `allow_missing` is set, else the message the test fails with.
pub fn shared_dir_or_why(
    dir: &Path,
    needed: &str,
    allow_missing: bool,
) -> Result<Option<PathBuf>, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_data_fails_the_test_unless_skipping_was_asked_for() {
        let dir = std::env::temp_dir().join(format!("stemma-testdata-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let why = shared_dir_or_why(&dir, "corpus", false).unwrap_err();
        assert!(why.contains("STEMMA_ALLOW_MISSING_SHARED=1"), "{why}");
        assert_eq!(shared_dir_or_why(&dir, "corpus", true).unwrap(), None);
        std::fs::create_dir_all(dir.join("corpus")).unwrap();
        assert_eq!(
            shared_dir_or_why(&dir, "corpus", false).unwrap(),
            Some(dir.clone())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
