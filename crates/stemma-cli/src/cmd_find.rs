//! `stemma find`: search the catalog with the query language (see `stemma find --help`).

use std::io::{self, Write};
use std::path::Path;

use anyhow::Result;
use stemma_catalog::find::{count, explain, find, find_ids, paths_of, Hit};
use stemma_catalog::Error as CatalogError;

use crate::cmd_init::CatalogArg;
use crate::exit;

#[derive(clap::Args)]
#[command(
    after_help = "Query language: words and \"quoted phrases\" search the prompt (word* for prefixes); \
  fields: seed: steps: cfg: sampler: scheduler: model: hash: lora: size: (512x?, 16:9, landscape, portrait, square) \
  width: height: date: (YYYY-MM-DD, YYYY-MM, today, yesterday, \"3 days ago\", ranges a..b, >=, <) \
  path: (a folder relative to the library root, or a glob: path:*night*) generator: tag: rating: (>=4, none) \
  has: (parents, children, sequence, run, template, record, metadata, lora, tags, rating) \
  negative: prompt: template: id:. Numbers take ranges (steps:20..40, cfg:>=7) and alternatives (steps:20|30); \
  names take * and ? wildcards and | alternatives. Combine with AND (or just a space), OR, NOT or -term, and \
  parentheses."
)]
pub struct Args {
    /// The query (several words are joined with spaces). Empty: every image.
    query: Vec<String>,
    /// One JSON object per image (ids, paths, tags, rating, record).
    #[arg(long, conflicts_with = "table")]
    json: bool,
    /// A table of the main settings.
    #[arg(long)]
    table: bool,
    /// At most this many images.
    #[arg(long)]
    limit: Option<usize>,
    /// Print only the number of matching images.
    #[arg(long, conflicts_with_all = ["json", "table"])]
    count: bool,
    /// Print how the catalog runs the query (SQLite's query plan) instead of running it.
    #[arg(long, conflicts_with_all = ["json", "table", "count"])]
    explain: bool,
    #[command(flatten)]
    catalog: CatalogArg,
}

pub fn run(args: Args) -> Result<u8> {
    let cat = args.catalog.open(Path::new("."))?;
    let query = args.query.join(" ");
    let q = Some(query.as_str()).filter(|q| !q.trim().is_empty());
    if args.count {
        let counted = match args.limit {
            Some(_) => find_ids(&cat, q, args.limit).map(|ids| ids.len() as u64),
            None => count(&cat, q),
        };
        match counted {
            Ok(n) => println!("{n}"),
            Err(e) => return query_error(&query, e),
        }
        return Ok(exit::OK);
    }
    if args.explain {
        match explain(&cat, q, args.limit) {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(e) => return query_error(&query, e),
        }
        return Ok(exit::OK);
    }
    let mut out = io::stdout().lock();
    if !args.json && !args.table {
        // Paths only: the records are not loaded.
        let ids = match find_ids(&cat, q, args.limit) {
            Ok(ids) => ids,
            Err(e) => return query_error(&query, e),
        };
        for id in ids {
            for p in paths_of(&cat, id)?.0 {
                writeln!(out, "{}", cat.path_of(&p).display())?;
            }
        }
        return Ok(exit::OK);
    }
    let hits = match find(&cat, q, args.limit) {
        Ok(h) => h,
        Err(e) => return query_error(&query, e),
    };
    if args.json {
        for h in &hits {
            serde_json::to_writer(&mut out, h)?;
            writeln!(out)?;
        }
    } else {
        writeln!(
            out,
            "{:<40} {:>12} {:>5} {:>5} {:<16} {:<20} {:>9} prompt",
            "path", "seed", "steps", "cfg", "sampler", "model", "size"
        )?;
        for h in &hits {
            writeln!(out, "{}", table_row(&cat, h))?;
        }
    }
    Ok(exit::OK)
}

fn table_row(cat: &stemma_catalog::Catalog, h: &Hit) -> String {
    let path = h
        .paths
        .first()
        .map(|p| cat.path_of(p).display().to_string())
        .unwrap_or_else(|| "(missing)".into());
    let size = match (h.width, h.height) {
        (Some(w), Some(hh)) => format!("{w}x{hh}"),
        _ => String::new(),
    };
    let prompt: String = h.prompt.as_deref().unwrap_or("").chars().take(60).collect();
    format!(
        "{:<40} {:>12} {:>5} {:>5} {:<16} {:<20} {:>9} {}",
        path,
        h.seed.as_deref().unwrap_or(""),
        h.steps.map(|s| s.to_string()).unwrap_or_default(),
        h.cfg.map(|s| s.to_string()).unwrap_or_default(),
        h.sampler.as_deref().unwrap_or(""),
        h.model.as_deref().unwrap_or(""),
        size,
        prompt.replace('\n', " ")
    )
}

/// A query error: the query with a caret under the column.
fn query_error(query: &str, e: CatalogError) -> Result<u8> {
    if let CatalogError::Query { column, message } = &e {
        eprintln!("stemma: query error: {message}");
        eprintln!("  {query}");
        eprintln!("  {}^", " ".repeat(column.saturating_sub(1)));
        return Ok(exit::USAGE);
    }
    Err(e.into())
}
