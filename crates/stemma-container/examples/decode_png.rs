//! A plain PNG decode of many files, for benchmarks (`benches/bench_write.py`): the `png` crate row by row,
//! samples expanded to 8 or 16 bits as any viewer would, on as many threads as the machine has cores. It does
//! nothing with the pixels but sum one byte a row, so that the decode cannot be optimised away.
//!
//! With `--sha256-only` it decodes nothing and does only the hashing the pixel and data ids need: SHA-256 over as
//! many bytes as the image has RGBA samples (4 a pixel at 8 bits, 8 at 16; one row buffer hashed `height` times)
//! and over the whole file (a little more than the image-data chunks the data id hashes). A plain decode plus this
//! is the least that computing both ids can cost.
//!
//! Usage: `cargo run --release -p stemma-container --example decode_png -- [--sha256-only] FILE_OR_FOLDER...`

use std::io::Cursor;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

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

/// SHA-256 over the bytes the two ids hash, without decoding (the sample values do not change its speed).
fn hash_only(path: &Path) -> Result<u64, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let info = png::Decoder::new(Cursor::new(&bytes[..]))
        .read_header_info()
        .map_err(|e| e.to_string())?
        .clone();
    let sample = if info.bit_depth == png::BitDepth::Sixteen {
        8
    } else {
        4
    };
    let row = vec![0u8; info.width as usize * sample];
    let mut pixels = Sha256::new();
    for _ in 0..info.height {
        pixels.update(&row);
    }
    let data = Sha256::digest(&bytes);
    Ok(u64::from(pixels.finalize()[0]) + u64::from(data[0]))
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
    let mut args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let only_hash = args
        .first()
        .is_some_and(|a| a.as_os_str() == "--sha256-only");
    if only_hash {
        args.remove(0);
    }
    let work = if only_hash { hash_only } else { decode };
    let list = files(&args);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let failed = std::sync::atomic::AtomicUsize::new(0);
    let total = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..threads {
            let (list, failed, total) = (&list, &failed, &total);
            s.spawn(move || {
                for f in list.iter().skip(t).step_by(threads) {
                    match work(f) {
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
