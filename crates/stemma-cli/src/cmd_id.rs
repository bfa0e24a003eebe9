//! `stemma id`: print content ids.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde_json::Value;
use stemma_container::{ops, Limits};

use crate::exit;
use crate::files::expand;
use crate::output::{json_file_object, Chain};

#[derive(clap::Args)]
pub struct Args {
    /// Image files, or folders to walk.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// One JSON object per file.
    #[arg(long)]
    json: bool,
    /// Skip the pixel id (it needs decoding; the data id does not).
    #[arg(long)]
    data_only: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let limits = Limits::default();
    let files = expand(&args.paths);
    let results: Vec<_> = files
        .par_iter()
        .map(|f| {
            let r = std::fs::read(f)
                .map_err(anyhow::Error::from)
                .and_then(|b| Ok(ops::content_ids(&b, !args.data_only, &limits)?))
                .with_context(|| f.display().to_string());
            (f, r)
        })
        .collect();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut failed = false;
    for (file, result) in results {
        match result {
            Ok(ids) if args.json => {
                let mut object = json_file_object(file);
                object.insert("pixels".into(), ids.pixels.into());
                object.insert("data".into(), ids.data.into());
                serde_json::to_writer(&mut out, &Value::Object(object))?;
                writeln!(out)?;
            }
            Ok(ids) => {
                if files.len() > 1 {
                    writeln!(out, "{}", file.display())?;
                }
                if let Some(p) = ids.pixels {
                    writeln!(out, "pixels {p}")?;
                }
                if let Some(d) = ids.data {
                    writeln!(out, "data   {d}")?;
                }
            }
            Err(e) => {
                failed = true;
                out.flush()?;
                eprintln!("stemma: {}", Chain(&e));
            }
        }
    }
    out.flush()?;
    Ok(if failed { exit::FILE_ERROR } else { exit::OK })
}
