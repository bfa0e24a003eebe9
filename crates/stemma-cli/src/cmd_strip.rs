//! `stemma strip`: remove metadata for sharing.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use rayon::prelude::*;
use stemma_container::atomic::WriteOptions;
use stemma_container::{ops, Edit, Limits, RecordChange, StripProfile};
use stemma_model::{parse_record, record_to_json, share_record, Parent, Record, Sequence};

use crate::exit;
use crate::output::{done, Chain};

#[derive(Clone, Copy, ValueEnum)]
enum Profile {
    /// Every metadata chunk or segment (text, EXIF, XMP, C2PA, unknown ancillary chunks); colour kept.
    All,
    /// Like `all`, but keep a stemma record holding only content ids and lineage (no prompt or settings).
    Lineage,
    /// Only stemma's own chunks: the file returns to what it was before it was stamped.
    Stemma,
    /// The sharing profile (spec §12.2): like `all`, but keep the record without local paths: hints reduced to
    /// base names, no settings location, no binary raw values, every absolute path cut to its base name.
    Share,
}

#[derive(clap::Args)]
pub struct Args {
    /// Files to strip (rewritten in place unless --output is given).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// What to remove.
    #[arg(long, value_enum, default_value = "all")]
    profile: Profile,
    /// Write the result here (only with a single FILE).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Rewrite files even when they are read-only.
    #[arg(long)]
    force: bool,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: Args) -> Result<u8> {
    if args.output.is_some() && args.files.len() != 1 {
        bail!("--output needs exactly one FILE");
    }
    let limits = Limits::default();
    let results: Vec<Result<String>> = args
        .files
        .par_iter()
        .map(|file| strip_one(file, &args, &limits))
        .collect();
    let mut failures = Vec::new();
    for result in &results {
        match result {
            Ok(line) => done(args.quiet, format_args!("{line}")),
            Err(e) => failures.push(Chain(e).to_string()),
        }
    }
    for f in &failures {
        eprintln!("stemma: {f}");
    }
    Ok(if failures.is_empty() {
        exit::OK
    } else {
        exit::FILE_ERROR
    })
}

fn strip_one(file: &Path, args: &Args, limits: &Limits) -> Result<String> {
    let output = args.output.as_ref();
    let profile = args.profile;
    // The lineage profile reads the record before rewriting: hold the lock across both.
    let _lock = stemma_container::lock::lock_for_update(file).ok();
    let edit = match profile {
        Profile::All => Edit {
            record: RecordChange::Remove,
            strip: Some(StripProfile::All),
            force: true,
            ..Edit::default()
        },
        Profile::Stemma => Edit {
            record: RecordChange::Remove,
            strip: Some(StripProfile::Stemma),
            force: true,
            ..Edit::default()
        },
        Profile::Share => {
            let meta = ops::scan_path(file, limits).with_context(|| file.display().to_string())?;
            let change = match &meta.record_json {
                Some(json) => {
                    let mut record =
                        parse_record(json).with_context(|| file.display().to_string())?;
                    // References point at chunks the strip removes: copy them in first (spec §3.4.1).
                    stemma_model::expand_raw_references(&mut record, |origin, key| {
                        meta.raw_values(origin, key)
                    })
                    .with_context(|| format!("{}: not written", file.display()))?;
                    RecordChange::Set(record_to_json(&share_record(&record)?)?)
                }
                None => RecordChange::Remove,
            };
            Edit {
                record: change,
                strip: Some(StripProfile::All),
                force: true,
                ..Edit::default()
            }
        }
        Profile::Lineage => {
            let meta = ops::scan_path(file, limits).with_context(|| file.display().to_string())?;
            let record = match &meta.record_json {
                Some(json) => Some(parse_record(json).with_context(|| file.display().to_string())?),
                None => None,
            };
            let change = match record {
                Some(r) => RecordChange::Set(record_to_json(&lineage_only(&r))?),
                None => RecordChange::Remove,
            };
            Edit {
                record: change,
                strip: Some(StripProfile::All),
                force: true,
                ..Edit::default()
            }
        }
    };
    let options = WriteOptions {
        allow_read_only: args.force,
    };
    let rewritten = ops::rewrite_with(file, output.map(PathBuf::as_path), &edit, limits, &options)
        .with_context(|| format!("{}: not written", file.display()))?;
    for note in &rewritten.notes {
        eprintln!("stemma: warning: {}: {note}", file.display());
    }
    let outcome = rewritten.outcome;
    let name = profile.name();
    Ok(match (output, outcome) {
        (Some(out), _) => format!(
            "{}: written, {} stripped (--profile {name})",
            out.display(),
            file.display()
        ),
        (None, ops::Outcome::Unchanged) => {
            format!("{}: nothing to strip (--profile {name})", file.display())
        }
        (None, ops::Outcome::Written) => {
            format!("{}: stripped (--profile {name})", file.display())
        }
    })
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::All => "all",
            Profile::Lineage => "lineage",
            Profile::Stemma => "stemma",
            Profile::Share => "share",
        }
    }
}

/// The record reduced to content ids and lineage: no prompt, parameters, settings, raw metadata or file names.
fn lineage_only(record: &Record) -> Record {
    let parents = |list: &[Parent]| -> Vec<Parent> {
        list.iter()
            .map(|p| Parent {
                id: p.id.clone(),
                relation: p.relation.clone(),
                t: p.t,
                ..Parent::default()
            })
            .collect()
    };
    Record {
        content: record.content.clone(),
        parents: parents(&record.parents),
        sequence: record.sequence.as_ref().map(|s| Sequence {
            id: s.id.clone(),
            frame: s.frame,
            time: s.time,
            fps: s.fps,
            interpolated: s.interpolated,
            ..Sequence::default()
        }),
        frames: record
            .frames
            .iter()
            .map(|f| stemma_model::Frame {
                index: f.index,
                parents: parents(&f.parents),
                pixels: f.pixels.clone(),
                time: f.time,
                ..Default::default()
            })
            .collect(),
        ..Record::new()
    }
}
