//! `stemma verify`: structure and checksums, stored content ids, and the record against the schema.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;
use stemma_container::{ops, Limits};

use crate::exit;
use crate::files::expand;
use crate::output::Chain;

#[derive(clap::Args)]
pub struct Args {
    /// Image files, or folders to walk.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print only problems.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let limits = Limits::default();
    let files = expand(&args.paths);
    let results: Vec<(PathBuf, Result<Vec<String>>)> = files
        .par_iter()
        .map(|f| (f.clone(), verify_one(f, &limits)))
        .collect();
    let (mut bad, mut broken) = (0, 0);
    for (file, result) in &results {
        match result {
            Ok(problems) if problems.is_empty() => {
                if !args.quiet {
                    println!("OK    {}", file.display());
                }
            }
            Ok(problems) => {
                bad += 1;
                for p in problems {
                    println!("FAIL  {}: {p}", file.display());
                }
            }
            Err(e) => {
                broken += 1;
                println!("ERROR {}", Chain(e));
            }
        }
    }
    if !args.quiet || bad + broken > 0 {
        eprintln!(
            "{} files: {} ok, {bad} with problems, {broken} unreadable",
            results.len(),
            results.len() - bad - broken
        );
    }
    Ok(if broken > 0 {
        exit::FILE_ERROR
    } else if bad > 0 {
        exit::VERIFY_FAILED
    } else {
        exit::OK
    })
}

fn verify_one(file: &Path, limits: &Limits) -> Result<Vec<String>> {
    let name = || file.display().to_string();
    let bytes = std::fs::read(file).with_context(name)?;
    let source: &dyn stemma_container::source::Source = &bytes.as_slice();
    let handler = ops::handler_of(source).with_context(name)?;
    let mut problems = handler.check(&bytes, limits).with_context(name)?;
    let meta = handler.scan(source, limits).with_context(name)?;
    // The scan's CRC warnings (text chunks) repeat what the check found (every chunk) in shorter words: each is
    // added only when the check did not already report it.
    let new_crc_warnings: Vec<String> = meta
        .warnings
        .iter()
        .filter(|w| w.contains("CRC") && !problems.iter().any(|p| p.starts_with(w.as_str())))
        .cloned()
        .collect();
    problems.extend(new_crc_warnings);
    let Some(json) = &meta.record_json else {
        return Ok(problems);
    };
    let value: serde_json::Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("stemma record is not valid JSON: {e}"));
            return Ok(problems);
        }
    };
    for p in stemma_model::validate_record_json(&value) {
        problems.push(format!("record does not match the schema: {p}"));
    }
    let stored_pixels = value.pointer("/content/pixels").and_then(|v| v.as_str());
    let stored_data = value.pointer("/content/data").and_then(|v| v.as_str());
    if stored_pixels.is_some() || stored_data.is_some() {
        let ids = ops::content_ids(&bytes, stored_pixels.is_some(), limits).with_context(name)?;
        if let (Some(stored), Some(actual)) = (stored_data, ids.data.as_deref()) {
            if stored != actual {
                problems.push(format!("data id differs: stored {stored}, actual {actual}"));
            }
        }
        if let (Some(stored), Some(actual)) = (stored_pixels, ids.pixels.as_deref()) {
            if stored != actual {
                problems.push(format!(
                    "pixel id differs: stored {stored}, actual {actual}"
                ));
            }
        }
    }
    Ok(problems)
}
