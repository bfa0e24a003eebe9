//! `stemma tag` and `stemma rate`: tags and ratings kept in the catalog by content id; `--write` also stores
//! them in each file's record (`ext`), so they travel with the file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use stemma_catalog::find::{image_of_path, tags_of};
use stemma_catalog::tags::{rate, rating_of, stamp_into, tag};
use stemma_catalog::Catalog;
use stemma_container::{Edit, Limits};

use crate::cmd_init::CatalogArg;
use crate::cmd_stamp::{write_record, Target};
use crate::exit;

#[derive(clap::Args)]
pub struct TagArgs {
    /// Files, then tags to add (`+tag`) and remove (`-tag`). Without tags: list each file's tags.
    #[arg(allow_hyphen_values = true, required = true)]
    items: Vec<String>,
    /// Also write the tags and rating into each file's record.
    #[arg(long)]
    write: bool,
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    catalog: CatalogArg,
}

#[derive(clap::Args)]
pub struct RateArgs {
    /// The files to rate, then the rating: 1 to 5 (0 clears it).
    #[arg(required = true, num_args = 2.., value_name = "FILE... N")]
    items: Vec<String>,
    /// Also write the tags and rating into each file's record.
    #[arg(long)]
    write: bool,
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    catalog: CatalogArg,
}

pub fn run_tag(args: TagArgs) -> Result<u8> {
    let mut files = Vec::new();
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    let (mut write, mut quiet) = (args.write, args.quiet);
    for item in &args.items {
        // `-tag` values are allowed among the files, so the flags may arrive here too.
        if item == "--write" {
            write = true;
        } else if item == "--quiet" || item == "-q" {
            quiet = true;
        } else if Path::new(item).exists() {
            files.push(PathBuf::from(item));
        } else if let Some(t) = item.strip_prefix('+') {
            add.push(t.to_string());
        } else if let Some(t) = item.strip_prefix('-') {
            remove.push(t.to_string());
        } else {
            bail!("{item}: no such file (tags are written +tag to add, -tag to remove)");
        }
    }
    let mut cat = args.catalog.open(Path::new("."))?;
    for file in &files {
        let image = image_of_path(&cat, file)?;
        let tags = if add.is_empty() && remove.is_empty() {
            tags_of(&cat, image)?
        } else {
            tag(&mut cat, image, &add, &remove)?
        };
        if write {
            write_back(&cat, file, image)?;
        }
        if !quiet {
            println!(
                "{}: {}",
                file.display(),
                if tags.is_empty() {
                    "(no tags)".to_string()
                } else {
                    tags.join(", ")
                }
            );
        }
    }
    Ok(exit::OK)
}

pub fn run_rate(args: RateArgs) -> Result<u8> {
    let Some((rating, files)) = args.items.split_last() else {
        bail!("stemma rate FILE... N");
    };
    let rating: u8 = match rating.parse() {
        Ok(n) if n <= 5 => n,
        _ => bail!("{rating}: a rating is 1 to 5 (0 clears it)"),
    };
    let mut cat = args.catalog.open(Path::new("."))?;
    for file in files.iter().map(Path::new) {
        let image = image_of_path(&cat, file)?;
        rate(&mut cat, image, rating)?;
        if args.write {
            write_back(&cat, file, image)?;
        }
        if !args.quiet {
            println!("{}: rated {rating}", file.display());
        }
    }
    Ok(exit::OK)
}

/// Write the catalog's tags and rating into the file's record, keeping everything else of the record.
fn write_back(cat: &Catalog, file: &Path, image: i64) -> Result<()> {
    let limits = Limits::default();
    let opts = stemma_import::ResolveOptions {
        limits,
        ..Default::default()
    };
    let mut record = stemma_import::resolve(file, &opts)?
        .record
        .unwrap_or_else(stemma_model::Record::new);
    stamp_into(&mut record, &tags_of(cat, image)?, rating_of(cat, image)?);
    let target = Target {
        file,
        output: None,
        sidecar: false,
        edit: Edit::default(),
    };
    write_record(&target, record, &limits)?;
    Ok(())
}
