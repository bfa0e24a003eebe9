//! `stemma diff A B`: what changed between two images: settings as an RFC 7396 merge patch and a table, and a
//! token-level prompt diff.

use std::path::Path;

use anyhow::Result;
use serde_json::Value;
use stemma_catalog::find::{hit, image_of};
use stemma_catalog::lineage::compare;

use crate::cmd_init::CatalogArg;
use crate::exit;

#[derive(clap::Args)]
pub struct Args {
    /// The first image (file or content id).
    a: String,
    /// The second image (file or content id).
    b: String,
    /// Print only the merge patch (JSON) that turns A's record into B's.
    #[arg(long)]
    patch: bool,
    /// JSON output: patch, rows and prompt diffs.
    #[arg(long, conflicts_with = "patch")]
    json: bool,
    #[command(flatten)]
    catalog: CatalogArg,
}

pub fn run(args: Args) -> Result<u8> {
    let cat = args.catalog.open(Path::new("."))?;
    let a = hit(&cat, image_of(&cat, &args.a)?)?;
    let b = hit(&cat, image_of(&cat, &args.b)?)?;
    let c = compare(&a, &b);
    if args.patch {
        println!("{}", serde_json::to_string_pretty(&c.patch)?);
        return Ok(exit::OK);
    }
    if args.json {
        println!("{}", serde_json::to_string(&c)?);
        return Ok(exit::OK);
    }
    let show = |v: &Option<Value>| match v {
        None => "(none)".to_string(),
        Some(Value::String(s)) => s.replace('\n', " "),
        Some(other) => other.to_string(),
    };
    if c.rows.is_empty() {
        println!("same settings");
    } else {
        let width = c.rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        println!("{:<width$}  {:<30}  B", "field", "A");
        for (field, va, vb) in &c.rows {
            println!("{field:<width$}  {:<30}  {}", show(va), show(vb));
        }
    }
    if let Some(p) = &c.prompt {
        println!("prompt: {p}");
    }
    if let Some(n) = &c.negative {
        println!("negative: {n}");
    }
    println!("merge patch: {}", c.patch);
    Ok(exit::OK)
}
