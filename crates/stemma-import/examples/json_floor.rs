//! The least work a reader that prints PNG metadata as JSON must do, for benchmarks (`benches/bench_read.py`): read
//! the first 16 KiB of each file, take every uncompressed text chunk before the image data, check each text that
//! looks like JSON (as the ComfyUI graphs are) by parsing it without building anything, and write every text as a
//! JSON string (the verbatim copy a record keeps). No record is made, no graph is built or walked, and text that
//! lies further in is not followed: a floor for `stemma show --json` on files with metadata before IDAT, not a
//! reader.
//!
//! Usage: `cargo run --release -p stemma-import --example json_floor -- FOLDER_OR_FILE... > out.jsonl`
//! (files in parallel on as many threads as the machine has cores, output in file order).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const HEAD: usize = 16 * 1024;

/// The uncompressed text chunks (`tEXt`, `iTXt` without compression) before the first `IDAT`: (keyword, text).
fn texts(png: &[u8]) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut pos = 8;
    while let Some(header) = png.get(pos..pos + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let Some(data) = png.get(pos + 8..pos + 8 + len) else {
            break;
        };
        if kind == b"IDAT" {
            break;
        }
        let text = match kind {
            b"tEXt" => data
                .iter()
                .position(|&b| b == 0)
                .map(|z| (&data[..z], &data[z + 1..])),
            b"iTXt" => itxt(data),
            _ => None,
        };
        if let Some((key, value)) = text {
            if let (Ok(key), Ok(value)) = (std::str::from_utf8(key), std::str::from_utf8(value)) {
                out.push((key, value));
            }
        }
        pos += 12 + len;
    }
    out
}

/// An `iTXt` chunk's keyword and text, when it is not compressed.
fn itxt(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let z = data.iter().position(|&b| b == 0)?;
    let (key, rest) = (&data[..z], data.get(z + 1..)?);
    if rest.first() != Some(&0) {
        return None; // compressed
    }
    let mut rest = rest.get(2..)?;
    for _ in 0..2 {
        let n = rest.iter().position(|&b| b == 0)?;
        rest = rest.get(n + 1..)?;
    }
    Some((key, rest))
}

fn render(path: &Path, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(HEAD);
    std::fs::File::open(path)?
        .take(HEAD as u64)
        .read_to_end(&mut head)?;
    out.extend_from_slice(b"{\"texts\":[");
    for (i, (key, text)) in texts(&head).into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, &(key, text))?;
        if text.starts_with('{') {
            let json = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
            out.extend_from_slice(if json { b",true" } else { b",false" });
        }
    }
    out.extend_from_slice(b"]}\n");
    Ok(())
}

fn files(args: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in args {
        match std::fs::read_dir(p) {
            Ok(entries) => {
                let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                found.sort();
                out.extend(found);
            }
            Err(_) => out.push(p.clone()),
        }
    }
    out
}

fn main() -> std::io::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let list = files(&args);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = list.len().div_ceil(threads).max(1);
    let outputs: Vec<std::io::Result<Vec<u8>>> = std::thread::scope(|s| {
        let workers: Vec<_> = list
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut out = Vec::new();
                    for f in part {
                        render(f, &mut out).map_err(|e| {
                            std::io::Error::new(e.kind(), format!("{}: {e}", f.display()))
                        })?;
                    }
                    Ok(out)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a worker failed")))
            })
            .collect()
    });
    let mut stdout = std::io::stdout().lock();
    for out in outputs {
        stdout.write_all(&out?)?;
    }
    Ok(())
}
