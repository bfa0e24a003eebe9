//! Every seed (the project's own generated files and the shared corpus) and every saved crash input
//! (`fuzz/regressions/<target>/`) runs through the same check as its fuzz target, on the stable toolchain and
//! without libFuzzer. This is CI's fuzz smoke test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../seeds.rs"]
mod seeds;

use std::path::Path;

use stemma_fuzz::TARGETS;

fn check_of(target: &str) -> fn(&[u8]) {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz target {target}"))
}

#[test]
fn every_seed_passes_its_target() {
    let corpus = seeds::shared_corpus();
    let shared = if corpus.is_dir() {
        Some(corpus.as_path())
    } else if std::env::var_os("STEMMA_ALLOW_MISSING_SHARED").is_some_and(|v| v == "1") {
        eprintln!(
            "\n*** {} not found: generated seeds only ***\n",
            corpus.display()
        );
        None
    } else {
        panic!(
            "{} not found: the shared corpus is needed (set STEMMA_SHARED, or STEMMA_ALLOW_MISSING_SHARED=1 to run without it)",
            corpus.display()
        );
    };
    let seeds = seeds::all_seeds(shared);
    for (target, _) in TARGETS {
        let n = seeds.iter().filter(|s| s.target == *target).count();
        assert!(n > 0, "no seed for {target}");
    }
    for s in &seeds {
        eprintln!("{} {}", s.target, s.name);
        check_of(s.target)(&s.bytes);
    }
    eprintln!("{} seeds replayed", seeds.len());
}

#[test]
fn every_saved_crash_passes_its_target() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut count = 0;
    for (target, check) in TARGETS {
        let Ok(entries) = std::fs::read_dir(dir.join(target)) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            eprintln!("{}", path.display());
            check(&std::fs::read(&path).unwrap());
            count += 1;
        }
    }
    eprintln!("{count} saved crash inputs replayed");
}
