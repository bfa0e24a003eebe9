//! A plain PNG decode of many files, for benchmarks (`benches/bench_write.py`): the `png` crate row by row,
//! samples expanded to 8 or 16 bits as any viewer would, on as many threads as the machine has cores. It does
//! nothing with the pixels but sum one byte a row, so that the decode cannot be optimised away.
//!
//! Usage: `cargo run --release -p stemma-container --example decode_png -- FILE_OR_FOLDER...`

use std::io::Cursor;
use std::path::{Path, PathBuf};

fn files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|e| e == "png"))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    out
}

fn decode(path: &Path) -> Result<u64, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let mut decoder = png::Decoder::new(Cursor::new(&bytes[..]));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let mut sum = 0u64;
    while let Some(row) = reader.next_row().map_err(|e| e.to_string())? {
        sum += u64::from(row.data().first().copied().unwrap_or(0));
    }
    Ok(sum)
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let list = files(&args);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let total = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (list, failed, total) = (&list, &failed, &total);
            s.spawn(move || {
                for f in list.iter().skip(t).step_by(threads) {
                    match decode(f) {
                        Ok(v) => {
                            total.fetch_add(v, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(e) => {
                            eprintln!("{}: {e}", f.display());
                            failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    println!(
        "{} files decoded ({} failed), checksum {}",
        list.len(),
        failed.load(std::sync::atomic::Ordering::Relaxed),
        total.load(std::sync::atomic::Ordering::Relaxed)
    );
}
