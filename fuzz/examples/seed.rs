//! Writes the seed corpora: `fuzz/corpus/<target>/<name>` for every target (see `seeds.rs`). Run by `seed.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../seeds.rs"]
mod seeds;

use std::path::Path;

fn main() {
    let corpus = seeds::shared_corpus();
    let shared = corpus.is_dir().then_some(corpus.as_path());
    if shared.is_none() {
        eprintln!("seed: {} not found; generated seeds only", corpus.display());
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut count = 0;
    for s in seeds::all_seeds(shared) {
        let dir = out.join(s.target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(&s.name), &s.bytes).unwrap();
        count += 1;
    }
    println!("seed: wrote {count} seeds under {}", out.display());
}
