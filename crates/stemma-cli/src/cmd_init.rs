//! `stemma init`: create a library's catalog (`.stemma/catalog.db`). Also holds the `--catalog` option every
//! catalog command shares.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use stemma_catalog::Catalog;

use crate::exit;

/// The catalog a command works on.
#[derive(clap::Args, Clone)]
pub struct CatalogArg {
    /// The catalog file to use instead of the `.stemma/catalog.db` found from the current folder upwards.
    #[arg(long, value_name = "PATH")]
    pub catalog: Option<PathBuf>,
}

impl CatalogArg {
    /// Open the catalog: the one given, else the one found from `start` upwards.
    pub fn open(&self, start: &Path) -> Result<Catalog> {
        match &self.catalog {
            Some(path) => Catalog::open(path).with_context(|| path.display().to_string()),
            None => Ok(Catalog::find(start)?),
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// The library root (default: the current folder).
    path: Option<PathBuf>,
    #[command(flatten)]
    catalog: CatalogArg,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let cat = match &args.catalog.catalog {
        Some(path) => Catalog::open(path)?,
        None => Catalog::init(args.path.as_deref().unwrap_or(Path::new(".")))?,
    };
    if !args.quiet {
        println!(
            "catalog ready at {} (library root {})",
            cat.path.display(),
            cat.root.display()
        );
    }
    Ok(exit::OK)
}
