//! `stemma export`: the catalog as JSON Lines or CSV, or a lineage graph as W3C PROV-JSON.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use stemma_catalog::export::{csv, jsonl, prov};
use stemma_catalog::find::image_of;

use crate::cmd_init::CatalogArg;
use crate::exit;

#[derive(clap::Args)]
#[group(id = "format", required = true, multiple = false)]
pub struct Args {
    /// One JSON object per image.
    #[arg(long, group = "format")]
    jsonl: bool,
    /// One CSV row per image path.
    #[arg(long, group = "format")]
    csv: bool,
    /// W3C PROV-JSON of the lineage graph around IMAGE (file or content id), or of the whole catalog.
    #[arg(long, group = "format", value_name = "IMAGE", num_args = 0..=1, default_missing_value = "")]
    prov: Option<String>,
    /// Only images matching this query (JSON Lines and CSV).
    #[arg(long)]
    query: Option<String>,
    /// Write here instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    catalog: CatalogArg,
}

pub fn run(args: Args) -> Result<u8> {
    let cat = args.catalog.open(Path::new("."))?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| p.display().to_string())?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    let what = if let Some(start) = &args.prov {
        let start = if start.is_empty() {
            None
        } else {
            Some(image_of(&cat, start)?)
        };
        let doc = prov(&cat, start)?;
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        let n = doc
            .get("entity")
            .and_then(|e| e.as_object())
            .map_or(0, |e| e.len());
        format!("{n} entities as PROV-JSON")
    } else if args.csv {
        format!("{} CSV rows", csv(&cat, args.query.as_deref(), &mut out)?)
    } else {
        format!(
            "{} images as JSON Lines",
            jsonl(&cat, args.query.as_deref(), &mut out)?
        )
    };
    out.flush()?;
    if !args.quiet {
        eprintln!("exported {what}");
    }
    Ok(exit::OK)
}
