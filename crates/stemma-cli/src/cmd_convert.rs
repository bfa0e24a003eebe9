//! `stemma convert`: carry a record and its lineage from one file to another — onto an upscaled, re-encoded or
//! edited copy — with the relation between them. Given two folders, each file of the second gets the record of
//! the file of the first with the same name (extension aside), in parallel.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use stemma_container::atomic::FolderSyncs;
use stemma_container::{ops, Edit, Limits};
use stemma_model::{relation, Parent};

use crate::batch::Batch;
use crate::cmd_stamp::{write_record, write_record_in, Target, Written};
use crate::exit;
use crate::files::expand;
use crate::output::{Chain, UsageError};
use stemma_import::{resolve, ResolveOptions};

use crate::output::done;

#[derive(clap::Args)]
pub struct Args {
    /// The file whose record is carried over (its stemma record, or the record imported from its metadata); or a
    /// folder of such files.
    source: PathBuf,
    /// The file that receives the record (rewritten in place unless --output is given); or, when SOURCE is a
    /// folder, a folder whose files each receive the record of the SOURCE file with the same name (extension
    /// aside).
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
    match (args.source.is_dir(), args.target.is_dir()) {
        (false, false) => {}
        (true, true) if args.output.is_none() => return run_folders(&args, &limits),
        _ => {
            return Err(UsageError(
                "SOURCE and TARGET are both files, or both folders (then without --output)".into(),
            )
            .into())
        }
    }
    let written = convert_one(&args.source, &args.target, &args, &limits, None)?;
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

/// Each file of the target folder from the source-folder file of the same stem.
fn run_folders(args: &Args, limits: &Limits) -> Result<u8> {
    let mut sources: HashMap<OsString, Vec<PathBuf>> = HashMap::new();
    for file in expand(std::slice::from_ref(&args.source)) {
        let stem = file.file_stem().map(OsString::from).unwrap_or_default();
        sources.entry(stem).or_default().push(file);
    }
    let targets = expand(std::slice::from_ref(&args.target));
    let batch = Batch::new(targets.len(), args.quiet);
    let results = batch.run(&targets, |target| -> Result<Written> {
        let stem = target.file_stem().map(OsString::from).unwrap_or_default();
        let source = match sources.get(&stem).map(Vec::as_slice) {
            Some([one]) => one,
            Some(several) => bail!(
                "{}: several files in {} have its name: {}",
                target.display(),
                args.source.display(),
                several
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => bail!(
                "{}: no file in {} has its name",
                target.display(),
                args.source.display()
            ),
        };
        let written = convert_one(source, target, args, limits, Some(&batch.syncs))?;
        for note in &written.notes {
            batch.warn(&format!("{}: {note}", target.display()));
        }
        Ok(written)
    });
    batch.finish();
    let mut failed = 0usize;
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        failed += 1;
        eprintln!("stemma: {}", Chain(e));
    }
    done(
        args.quiet,
        format_args!(
            "{} files: {} records carried from {} (relation {}), {failed} failed",
            targets.len(),
            targets.len() - failed,
            args.source.display(),
            args.relation
        ),
    );
    Ok(if failed == 0 {
        exit::OK
    } else {
        exit::FILE_ERROR
    })
}

/// Carry `source`'s record onto `target`.
fn convert_one(
    source: &Path,
    target: &Path,
    args: &Args,
    limits: &Limits,
    syncs: Option<&FolderSyncs>,
) -> Result<Written> {
    let view = resolve(
        source,
        &ResolveOptions {
            limits: *limits,
            ..ResolveOptions::default()
        },
    )?;
    let Some(mut record) = view.record else {
        bail!(
            "{}: no stemma record and no generator metadata to carry over",
            source.display()
        );
    };
    let source_bytes = std::fs::read(source).with_context(|| source.display().to_string())?;
    let source_id =
        ops::lineage_id(&source_bytes, limits).with_context(|| source.display().to_string())?;
    drop(source_bytes);
    // The copy's only parent is the source; the source's own parents stay reachable through it.
    record.parents = vec![Parent {
        id: Some(source_id.to_string()),
        relation: args.relation.clone(),
        hint: source
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string),
        ..Parent::default()
    }];
    record.content = None;
    let target = Target {
        file: target,
        output: args.output.as_deref(),
        sidecar: args.sidecar,
        edit: Edit {
            force: args.force,
            ..Edit::default()
        },
    };
    match syncs {
        None => write_record(&target, record, limits),
        Some(_) => write_record_in(&target, record, limits, syncs),
    }
}
