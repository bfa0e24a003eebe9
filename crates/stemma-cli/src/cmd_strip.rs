//! `stemma strip`: remove metadata for sharing.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use stemma_container::atomic::WriteOptions;
use stemma_container::edit_file::OpenedFile;
use stemma_container::mirror::Mirrors;
use stemma_container::source::Source;
use stemma_container::{ops, Edit, Limits, RecordChange, StripProfile};
use stemma_model::{lineage_only, parse_record, record_to_json, share_record};

use crate::batch::{with_force_hint, Batch};
use crate::exit;
use crate::files::expand;
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
    /// Files to strip (rewritten in place unless --output is given), or folders to walk.
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
    let single = args.files.len() == 1 && !args.files[0].is_dir();
    if args.output.is_some() && !single {
        bail!("--output needs exactly one FILE");
    }
    let limits = Limits::default();
    if single {
        let line = strip_one(&args.files[0], &args, &limits, None)?;
        done(args.quiet, format_args!("{}", line.text));
        return Ok(exit::OK);
    }
    let files = expand(&args.files);
    let batch = Batch::new(files.len(), args.quiet);
    let results = batch.run(&files, |file| {
        let result = strip_one(file, &args, &limits, Some(&batch));
        if let Ok(stripped) = &result {
            for note in &stripped.notes {
                batch.warn(note);
            }
        }
        result
    });
    batch.finish();
    let (mut written, mut unchanged, mut failed) = (0usize, 0usize, 0usize);
    for result in &results {
        match result {
            Ok(s) if s.written => written += 1,
            Ok(_) => unchanged += 1,
            Err(e) => {
                failed += 1;
                eprintln!("stemma: {}", Chain(e));
            }
        }
    }
    done(
        args.quiet,
        format_args!(
            "{} files: {written} stripped, {unchanged} with nothing to strip, {failed} failed (--profile {})",
            files.len(),
            args.profile.name()
        ),
    );
    Ok(if failed == 0 {
        exit::OK
    } else {
        exit::FILE_ERROR
    })
}

/// What stripping one file did.
struct Stripped {
    /// The line a single-file strip prints.
    text: String,
    written: bool,
    /// Warnings, each naming the file.
    notes: Vec<String>,
}

fn strip_one(file: &Path, args: &Args, limits: &Limits, batch: Option<&Batch>) -> Result<Stripped> {
    let output = args.output.as_ref();
    let profile = args.profile;
    // Read once, under the update lock when rewritten in place: the record the lineage and share profiles keep
    // comes from the same bytes that are rewritten.
    let opened = OpenedFile::open(file, output.is_none(), limits)
        .map_err(with_force_hint)
        .with_context(|| format!("{}: not written", file.display()))?;
    let scan = || {
        let source: &dyn Source = &opened.bytes();
        ops::scan_source(source, limits).with_context(|| file.display().to_string())
    };
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
            let meta = scan()?;
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
            let meta = scan()?;
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
    let options = match batch {
        Some(b) => b.options(args.force),
        None => WriteOptions {
            allow_read_only: args.force,
            ..WriteOptions::default()
        },
    };
    let rewritten = opened
        .write(
            output.map(PathBuf::as_path),
            &edit,
            &Mirrors::of(&edit),
            limits,
            &options,
        )
        .map_err(with_force_hint)
        .with_context(|| format!("{}: not written", file.display()))?;
    if let Some(b) = batch {
        b.syncs.add(rewritten.unsynced_folder.as_deref());
    }
    let notes: Vec<String> = rewritten
        .notes
        .iter()
        .map(|n| format!("{}: {n}", file.display()))
        .collect();
    if batch.is_none() {
        for note in &notes {
            eprintln!("stemma: warning: {note}");
        }
    }
    let outcome = rewritten.outcome;
    let name = profile.name();
    let text = match (output, outcome) {
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
    };
    Ok(Stripped {
        text,
        written: outcome == ops::Outcome::Written,
        notes,
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
