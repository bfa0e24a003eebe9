//! `stemma import`: turn generator metadata into stemma records, in place (lossless, atomic), with a summary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use stemma_container::{ops, sidecar, Edit, Limits, RecordChange};
use stemma_import::{import, Evidence};
use stemma_model::record_to_json;

use crate::exit;
use crate::files::expand;
use crate::view::text_sidecar_entry;

#[derive(clap::Args)]
pub struct Args {
    /// Image files, or folders to walk recursively.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Report what would be imported; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Rewrite files that carry a C2PA manifest (the change invalidates its signature).
    #[arg(long)]
    force: bool,
    /// Print one line per file.
    #[arg(short, long)]
    verbose: bool,
    /// Write each record to the sidecar `<file name>.stemma.json` and leave the images untouched.
    #[arg(long)]
    sidecar: bool,
}

/// What happened to one file.
enum Outcome {
    Imported(&'static str),
    AlreadyStemma,
    Unknown,
    Failed(String, String),
}

pub fn run(args: Args) -> Result<u8> {
    let limits = Limits::default();
    let files = expand(&args.paths);
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files  {elapsed_precise}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let lines = Mutex::new(Vec::new());
    let outcomes: Vec<Outcome> = files
        .par_iter()
        .map(|file| {
            let outcome = import_one(file, &args, &limits);
            if args.verbose {
                let line = match &outcome {
                    Outcome::Imported(d) => format!("imported  {} ({d})", file.display()),
                    Outcome::AlreadyStemma => format!("has record {}", file.display()),
                    Outcome::Unknown => format!("unknown   {}", file.display()),
                    Outcome::Failed(_, why) => format!("failed    {why}"),
                };
                if let Ok(mut l) = lines.lock() {
                    l.push(line);
                }
            }
            bar.inc(1);
            outcome
        })
        .collect();
    bar.finish_and_clear();
    if let Ok(mut l) = lines.lock() {
        l.sort();
        for line in l.iter() {
            println!("{line}");
        }
    }
    let mut per_dialect: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let (mut already, mut unknown, mut failed) = (0u64, 0u64, Vec::new());
    for outcome in &outcomes {
        match outcome {
            Outcome::Imported(d) => per_dialect.entry(d).or_default().0 += 1,
            Outcome::AlreadyStemma => already += 1,
            Outcome::Unknown => unknown += 1,
            Outcome::Failed(d, why) => {
                per_dialect.entry(dialect_key(d)).or_default().1 += 1;
                failed.push(why.clone());
            }
        }
    }
    let verb = if args.dry_run {
        "would import"
    } else {
        "imported"
    };
    println!("{:<16} {:>10} {:>8}", "dialect", verb, "failed");
    for (dialect, (ok, bad)) in &per_dialect {
        println!("{dialect:<16} {ok:>10} {bad:>8}");
    }
    println!(
        "{} files: {} {verb}, {already} already had a stemma record, {unknown} without metadata stemma understands, {} failed",
        outcomes.len(),
        per_dialect.values().map(|v| v.0).sum::<u64>(),
        failed.len()
    );
    for why in &failed {
        eprintln!("stemma: {why}");
    }
    Ok(if failed.is_empty() {
        exit::OK
    } else {
        exit::FILE_ERROR
    })
}

fn dialect_key(d: &str) -> &'static str {
    stemma_import::IMPORTERS
        .iter()
        .map(|i| i.id())
        .find(|id| *id == d)
        .unwrap_or("(unreadable)")
}

fn import_one(file: &Path, args: &Args, limits: &Limits) -> Outcome {
    let fail =
        |dialect: &str, e: anyhow::Error| Outcome::Failed(dialect.to_string(), format!("{e:#}"));
    let bytes = match ops::read_for_edit(file, limits).with_context(|| file.display().to_string()) {
        Ok(b) => b,
        Err(e) => return fail("", e),
    };
    let source: &dyn stemma_container::source::Source = &bytes.as_slice();
    let metadata =
        match ops::scan_source(source, limits).with_context(|| file.display().to_string()) {
            Ok(m) => m,
            Err(e) => return fail("", e),
        };
    if metadata.record_json.is_some() || sidecar::sidecar_path(file).exists() {
        return Outcome::AlreadyStemma;
    }
    let file_name = file.file_name().and_then(|n| n.to_str());
    let mut report = import(&Evidence {
        metadata: &metadata,
        file_name,
        file: Some(&bytes),
    });
    if report.imported.is_none() {
        // A1111's "save text file" option writes the infotext beside the image as `<stem>.txt`.
        if let Some(entry) = text_sidecar_entry(file) {
            let mut with_text = metadata.clone();
            with_text.entries.push(entry);
            report = import(&Evidence {
                metadata: &with_text,
                file_name,
                file: Some(&bytes),
            });
        }
    }
    let Some(imported) = report.imported else {
        return match report.failures.first() {
            Some((dialect, why)) => {
                Outcome::Failed(dialect.to_string(), format!("{}: {why}", file.display()))
            }
            None => Outcome::Unknown,
        };
    };
    if args.dry_run {
        return Outcome::Imported(imported.dialect);
    }
    let json = match record_to_json(&imported.record) {
        Ok(j) => j,
        Err(e) => return fail(imported.dialect, e.into()),
    };
    if args.sidecar {
        return match sidecar::write_sidecar(file, &json)
            .with_context(|| format!("{}: sidecar not written", file.display()))
        {
            Ok(_) => Outcome::Imported(imported.dialect),
            Err(e) => fail(imported.dialect, e),
        };
    }
    let edit = Edit {
        record: RecordChange::Set(json),
        strip: None,
        force: args.force,
        // Import keeps every original chunk byte-identical, so it does not merge mirrors into existing XMP.
        xmp_mirrors: false,
        ..Edit::default()
    };
    match ops::rewrite(file, None, &edit, limits)
        .with_context(|| format!("{}: not written", file.display()))
    {
        Ok(_) => Outcome::Imported(imported.dialect),
        Err(e) => fail(imported.dialect, e),
    }
}
