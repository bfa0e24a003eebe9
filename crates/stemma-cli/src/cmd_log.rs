//! `stemma log` (ancestors of an image) and `stemma tree` (its descendants), across folders and tools.

use std::path::Path;

use anyhow::Result;
use stemma_catalog::find::{hit, image_of};
use stemma_catalog::lineage::{ancestors, descendants, render_tree};

use crate::cmd_init::CatalogArg;
use crate::exit;

#[derive(clap::Args)]
pub struct Args {
    /// The image: a file in the catalog, or a content id.
    file: String,
    /// JSON output: the image and its links, nested.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    catalog: CatalogArg,
}

pub fn run_log(args: Args) -> Result<u8> {
    run(args, true)
}

pub fn run_tree(args: Args) -> Result<u8> {
    run(args, false)
}

fn run(args: Args, up: bool) -> Result<u8> {
    let cat = args.catalog.open(Path::new("."))?;
    let image = image_of(&cat, &args.file)?;
    let root = hit(&cat, image)?;
    let links = if up {
        ancestors(&cat, image)?
    } else {
        descendants(&cat, image)?
    };
    if args.json {
        println!("{}", serde_json::json!({"image": root, "links": links}));
    } else {
        // `log` reads "made by <relation> of <parent>"; `tree` reads "<relation> into <child>".
        let arrow = if up { "of" } else { "into" };
        for line in render_tree(&cat, &root, &links, arrow) {
            println!("{line}");
        }
        if up {
            print_fork_diffs(&root, &links);
        }
    }
    Ok(exit::OK)
}

/// For each fork edge of the image: what changed from the source (settings rows and the prompt token diff).
fn print_fork_diffs(root: &stemma_catalog::find::Hit, links: &[stemma_catalog::lineage::Link]) {
    for link in links.iter().filter(|l| l.relation == "fork") {
        let Some(source) = &link.image else { continue };
        let diff = stemma_catalog::lineage::compare(source, root);
        let name = source
            .paths
            .first()
            .cloned()
            .unwrap_or_else(|| source.content_id.clone());
        println!("fork of {name}: {} changed", diff.rows.len());
        for (pointer, a, b) in &diff.rows {
            let show = |v: &Option<serde_json::Value>| {
                v.as_ref()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "(absent)".into())
            };
            println!("  {pointer}: {} \u{2192} {}", show(a), show(b));
        }
        if let Some(p) = &diff.prompt {
            println!("  prompt: {p}");
        }
        if let Some(n) = &diff.negative {
            println!("  negative: {n}");
        }
    }
}
