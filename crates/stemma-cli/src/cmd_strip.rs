//! `stemma strip`: remove metadata for sharing.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use rayon::prelude::*;
use stemma_container::{ops, Edit, Limits, RecordChange, StripProfile};
use stemma_model::{parse_record, record_to_json, Parent, Record, Sequence};

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
        .map(|file| strip_one(file, args.output.as_ref(), args.profile, &limits))
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

fn strip_one(
    file: &Path,
    output: Option<&PathBuf>,
    profile: Profile,
    limits: &Limits,
) -> Result<String> {
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
    let outcome = ops::rewrite(file, output.map(PathBuf::as_path), &edit, limits)
        .with_context(|| format!("{}: not written", file.display()))?;
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
