//! `stemma convert`: carry a record and its lineage from one file to another — onto an upscaled, re-encoded or
//! edited copy — with the relation between them.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use stemma_container::{ops, Edit, Limits};
use stemma_model::{relation, Parent};

use crate::cmd_stamp::{write_record, Target};
use crate::exit;
use stemma_import::{resolve, ResolveOptions};

use crate::output::done;

#[derive(clap::Args)]
pub struct Args {
    /// The file whose record is carried over (its stemma record, or the record imported from its metadata).
    source: PathBuf,
    /// The file that receives the record (rewritten in place unless --output is given).
    target: PathBuf,
    /// How TARGET was made from SOURCE: convert, upscale, edit, inpaint, outpaint, img2img, variation, ...
    #[arg(long, default_value = relation::CONVERT)]
    relation: String,
    /// Write the result here instead of rewriting TARGET in place.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Write TARGET's record to its sidecar instead of into the file.
    #[arg(long, conflicts_with = "output")]
    sidecar: bool,
    /// Rewrite TARGET even when it is read-only or carries a C2PA manifest that the change invalidates.
    #[arg(long)]
    force: bool,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let limits = Limits::default();
    if !relation::ALL.contains(&args.relation.as_str()) {
        eprintln!(
            "stemma: warning: --relation {:?} is not one the specification names ({}); it is written as given",
            args.relation,
            relation::ALL.join(", ")
        );
    }
    let view = resolve(
        &args.source,
        &ResolveOptions {
            limits,
            ..ResolveOptions::default()
        },
    )?;
    let Some(mut record) = view.record else {
        bail!(
            "{}: no stemma record and no generator metadata to carry over",
            args.source.display()
        );
    };
    let source_bytes =
        std::fs::read(&args.source).with_context(|| args.source.display().to_string())?;
    let source_id = ops::lineage_id(&source_bytes, &limits)
        .with_context(|| args.source.display().to_string())?;
    // The copy's only parent is the source; the source's own parents stay reachable through it.
    record.parents = vec![Parent {
        id: Some(source_id.to_string()),
        relation: args.relation.clone(),
        hint: args
            .source
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string),
        ..Parent::default()
    }];
    record.content = None;
    let target = Target {
        file: &args.target,
        output: args.output.as_deref(),
        sidecar: args.sidecar,
        edit: Edit {
            force: args.force,
            ..Edit::default()
        },
    };
    let written = write_record(&target, record, &limits)?;
    done(
        args.quiet,
        format_args!(
            "{written}, carried from {} (relation {})",
            args.source.display(),
            args.relation
        ),
    );
    Ok(exit::OK)
}
