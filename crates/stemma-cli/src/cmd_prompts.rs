//! `stemma prompts`: unique prompts with counts, stacks, variations and templates.

use std::io::{self, Write};
use std::path::Path;

use anyhow::Result;
use stemma_catalog::find::hit;
use stemma_catalog::prompts::{stacks, templates, unique, variations, STACK_FIELDS};

use crate::cmd_init::CatalogArg;
use crate::exit;

#[derive(clap::Args)]
pub struct Args {
    /// Images that share prompt and settings and differ only in seed (and the --vary fields).
    #[arg(long, conflicts_with_all = ["variations", "templates"])]
    stacks: bool,
    /// Prompts that differ by a few tokens, grouped, with the token diff.
    #[arg(long, conflicts_with = "templates")]
    variations: bool,
    /// Images grouped by template (recorded, or inferred from variations), with the values each slot took.
    #[arg(long)]
    templates: bool,
    /// With --stacks: settings that may also differ within a stack (prompt, negative, steps, cfg, sampler,
    /// scheduler, model, width, height, generator). Repeatable.
    #[arg(long, value_name = "FIELD")]
    vary: Vec<String>,
    /// With --variations and --templates: how many tokens (removed plus added) make a variation.
    #[arg(long, default_value_t = 4)]
    max_changes: usize,
    /// JSON output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    catalog: CatalogArg,
}

pub fn run(args: Args) -> Result<u8> {
    let cat = args.catalog.open(Path::new("."))?;
    let mut out = io::stdout().lock();
    if args.stacks {
        for v in &args.vary {
            if !STACK_FIELDS.contains(&v.as_str()) {
                anyhow::bail!("--vary {v}: expected one of {}", STACK_FIELDS.join(", "));
            }
        }
        let all = stacks(&cat, &args.vary)?;
        for s in &all {
            if args.json {
                serde_json::to_writer(&mut out, s)?;
                writeln!(out)?;
                continue;
            }
            let prompt = s.shared.get("prompt").map(String::as_str).unwrap_or("");
            writeln!(out, "stack of {}: {}", s.images.len(), one_line(prompt))?;
            for (id, seed) in &s.images {
                let h = hit(&cat, *id)?;
                let path = h
                    .paths
                    .first()
                    .map(|p| cat.path_of(p).display().to_string())
                    .unwrap_or_default();
                writeln!(out, "  seed {:<12} {path}", seed.as_deref().unwrap_or("-"))?;
            }
        }
        eprintln!("{} stacks", all.len());
    } else if args.variations {
        let all = variations(&cat, args.max_changes)?;
        for f in &all {
            if args.json {
                serde_json::to_writer(&mut out, f)?;
                writeln!(out)?;
                continue;
            }
            writeln!(out, "{}", one_line(&f.base))?;
            for (_, count, diff) in &f.members {
                writeln!(out, "  {count:>5}  {}", one_line(diff))?;
            }
        }
        eprintln!("{} families of variations", all.len());
    } else if args.templates {
        let all = templates(&cat, args.max_changes)?;
        for t in &all {
            if args.json {
                serde_json::to_writer(&mut out, t)?;
                writeln!(out)?;
                continue;
            }
            let how = if t.recorded { "recorded" } else { "inferred" };
            writeln!(out, "{} images  {how}  {}", t.images, one_line(&t.template))?;
            for (slot, values) in &t.slots {
                let vals: Vec<String> = values.iter().map(|(v, n)| format!("{v} ({n})")).collect();
                writeln!(out, "    {slot}: {}", vals.join(", "))?;
            }
        }
        eprintln!("{} templates", all.len());
    } else {
        let all = unique(&cat)?;
        for p in &all {
            if args.json {
                serde_json::to_writer(&mut out, p)?;
                writeln!(out)?;
            } else {
                writeln!(out, "{:>6}  {}", p.count, one_line(&p.prompt))?;
            }
        }
        eprintln!("{} unique prompts", all.len());
    }
    Ok(exit::OK)
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}
