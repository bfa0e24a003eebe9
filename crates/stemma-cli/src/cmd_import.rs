//! `stemma import`: turn generator metadata into stemma records, in place (lossless, atomic), with a summary.
//!
//! Each file's record comes from the resolver (`stemma_import::resolve_metadata`). Files whose record would come
//! from their name alone (or that have none) may be frames of a run: the folder scan (`stemma-sequences`) gives
//! them per-frame sequence records (settings file, gaps, cadence and interpolated frames).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use stemma_container::atomic::FolderSyncs;
use stemma_container::edit_file::OpenedFile;
use stemma_container::mirror::Mirrors;
use stemma_container::{ops, sidecar, Edit, Limits, RecordChange};
use stemma_import::{import_path, resolve_metadata, ResolveOptions, Tool};
use stemma_model::{record_to_json, Record};
use stemma_sequences::FrameIndex;

use crate::exit;
use crate::files::{expand, Folders};
use crate::output::Chain;

#[derive(clap::Args)]
pub struct Args {
    /// Image files, or folders to walk recursively.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Report what would be imported; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Rewrite files that are read-only or carry a C2PA manifest (the change invalidates its signature).
    #[arg(long)]
    force: bool,
    /// Print one line per file.
    #[arg(short, long)]
    verbose: bool,
    /// Write each record to the sidecar `<file name>.stemma.json` and leave the images untouched.
    #[arg(long)]
    sidecar: bool,
    /// Read files without embedded generator metadata as this tool's (file names, settings files, frame
    /// sequences): disco, pytti, deforum, vqgan-clip, a1111, stable-diffusion, dalle, dreamstudio, midjourney,
    /// nmkd, fooocus, invokeai, rife, film, flowframes, filename. Without it such files are recognised by name.
    #[arg(long = "as", value_name = "TOOL", value_parser = parse_tool)]
    as_tool: Option<Tool>,
}

fn parse_tool(id: &str) -> std::result::Result<Tool, String> {
    Tool::from_id(id).ok_or_else(|| {
        let ids: Vec<&str> = Tool::ALL.iter().map(|t| t.id()).collect();
        format!("unknown tool {id:?}; one of: {}", ids.join(", "))
    })
}

/// What happened to one file.
enum Outcome {
    /// Imported, by this dialect (`a1111`), legacy sequence (`seq:deforum`) or file-name rule (`name:dalle`).
    Imported(String),
    AlreadyStemma,
    Unknown,
    /// No record from the file or the files beside it (at most one from its name): may be a frame of a run.
    Frame(Option<Box<Record>>),
    /// Left untouched because rewriting would invalidate its C2PA manifest (`--force` imports it).
    Protected(String),
    Failed(String, String),
}

pub fn run(args: Args) -> Result<u8> {
    let limits = Limits::default();
    let files = expand(&args.paths);
    let folders = Folders::new(&files);
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files  {elapsed_precise}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let lines = Mutex::new(Vec::new());
    let syncs = FolderSyncs::default();
    let log = |file: &Path, outcome: &Outcome| {
        if args.verbose {
            let line = match outcome {
                Outcome::Imported(d) => format!("imported  {} ({d})", file.display()),
                Outcome::AlreadyStemma => format!("has record {}", file.display()),
                Outcome::Unknown | Outcome::Frame(_) => format!("unknown   {}", file.display()),
                Outcome::Protected(why) => format!("protected {why}"),
                Outcome::Failed(_, why) => format!("failed    {why}"),
            };
            if let Ok(mut l) = lines.lock() {
                l.push(line);
            }
        }
        bar.inc(1);
    };
    let mut outcomes: Vec<Outcome> = files
        .par_iter()
        .map(|file| {
            let outcome = import_one(file, &args, &limits, &folders, &syncs);
            if !matches!(outcome, Outcome::Frame(_)) {
                log(file, &outcome);
            }
            outcome
        })
        .collect();
    // Files that may be frames of a run: one scan per folder.
    let frames: Vec<usize> = (0..files.len())
        .filter(|&i| matches!(outcomes[i], Outcome::Frame(_)))
        .collect();
    if !frames.is_empty() {
        let candidates: Vec<&Path> = frames.iter().map(|&i| files[i].as_path()).collect();
        let (found, warnings) = FrameIndex::build(&candidates, args.as_tool, &limits);
        if args.verbose {
            for w in warnings {
                eprintln!("stemma: warning: {w}");
            }
        }
        let results: Vec<(usize, Outcome)> = frames
            .par_iter()
            .map(|&i| {
                let file = files[i].as_path();
                let by_name = match &outcomes[i] {
                    Outcome::Frame(record) => record.as_deref(),
                    _ => None,
                };
                let outcome = import_frame(file, by_name, &found, &args, &limits, &syncs);
                log(file, &outcome);
                (i, outcome)
            })
            .collect();
        for (i, outcome) in results {
            outcomes[i] = outcome;
        }
    }
    bar.finish_and_clear();
    // Each folder written to is synced once, after all its files were renamed into place.
    for (folder, err) in syncs.sync() {
        eprintln!(
            "stemma: warning: {}: folder not synced to disk: {err}",
            folder.display()
        );
    }
    if let Ok(mut l) = lines.lock() {
        l.sort();
        for line in l.iter() {
            println!("{line}");
        }
    }
    let mut per_dialect: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let (mut already, mut unknown, mut protected, mut failed) = (0u64, 0u64, 0u64, Vec::new());
    for outcome in &outcomes {
        match outcome {
            Outcome::Imported(d) => per_dialect.entry(d.as_str()).or_default().0 += 1,
            Outcome::AlreadyStemma => already += 1,
            Outcome::Unknown | Outcome::Frame(_) => unknown += 1,
            Outcome::Protected(_) => protected += 1,
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
    if protected > 0 {
        println!(
            "{protected} files carry a C2PA manifest that rewriting would invalidate: left untouched (--force imports them, --sidecar leaves them intact)"
        );
    }
    for why in &failed {
        eprintln!("stemma: {why}");
    }
    Ok(if failed.is_empty() {
        exit::OK
    } else {
        exit::FILE_ERROR
    })
}

fn dialect_key(d: &str) -> &str {
    if d.is_empty() {
        "(unreadable)"
    } else {
        d
    }
}

fn import_one(
    file: &Path,
    args: &Args,
    limits: &Limits,
    folders: &Folders,
    syncs: &FolderSyncs,
) -> Outcome {
    let fail = |dialect: &str, e: anyhow::Error| {
        Outcome::Failed(dialect.to_string(), Chain(&e).to_string())
    };
    // Held from the read to the write, so that a concurrent stamp is not overwritten by this import.
    let _lock = stemma_container::lock::lock_for_update(file).ok();
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
    let opts = ResolveOptions {
        limits: *limits,
        ..ResolveOptions::default()
    };
    let resolved = resolve_metadata(
        metadata,
        file.file_name().and_then(|n| n.to_str()),
        Some(&bytes),
        &folders.of(file),
        &opts,
    );
    if FrameIndex::wants(&resolved) {
        if resolved.record.is_none() {
            if let Some((dialect, why)) = resolved.failures.first() {
                return Outcome::Failed(dialect.to_string(), format!("{}: {why}", file.display()));
            }
        }
        return Outcome::Frame(resolved.record.map(Box::new));
    }
    let Some(record) = &resolved.record else {
        return Outcome::Unknown;
    };
    let dialect = record_dialect(&resolved);
    // Written into the file it was read from, the record names the large values the file keeps instead of copying
    // them (spec §3.4.1); a sidecar holds copies.
    let mut record = record.clone();
    if !args.sidecar {
        stemma_import::reference_values_kept_in_file(&mut record, &resolved.metadata);
    }
    store(file, Some(bytes), &dialect, &record, args, limits, syncs)
}

/// The label of the importer that made the record, for the summary (`a1111`, `comfyui`, ...).
fn record_dialect(resolved: &stemma_import::Resolved) -> String {
    let generator_dialect = resolved
        .record
        .as_ref()
        .and_then(|r| r.generator.as_ref())
        .and_then(|g| g.dialect.clone());
    match resolved.record_layer() {
        // The `.txt` beside an image is read by the A1111 importer, whose dialect the record carries.
        Some(layer) if layer.dialect == "a1111-txt" => generator_dialect.unwrap_or_default(),
        Some(layer) => layer.dialect.to_string(),
        None => generator_dialect.unwrap_or_default(),
    }
}

/// Write `record` into `file` (or its sidecar) unless this is a dry run. `bytes`: the file as already read (under
/// the caller's update lock), so that it is not read again.
fn store(
    file: &Path,
    bytes: Option<Vec<u8>>,
    dialect: &str,
    record: &Record,
    args: &Args,
    limits: &Limits,
    syncs: &FolderSyncs,
) -> Outcome {
    let fail = |dialect: &str, e: anyhow::Error| {
        Outcome::Failed(dialect.to_string(), Chain(&e).to_string())
    };
    if args.dry_run {
        return Outcome::Imported(dialect.to_string());
    }
    let json = match record_to_json(record)
        .with_context(|| format!("{}: record not serialised", file.display()))
    {
        Ok(j) => j,
        Err(e) => return fail(dialect, e),
    };
    if args.sidecar {
        return match sidecar::write_sidecar(file, &json)
            .with_context(|| format!("{}: sidecar not written", file.display()))
        {
            Ok(_) => Outcome::Imported(dialect.to_string()),
            Err(e) => fail(dialect, e),
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
    let options = stemma_container::atomic::WriteOptions {
        allow_read_only: args.force,
        defer_folder_sync: true,
    };
    let opened = match bytes {
        Some(b) => OpenedFile::from_bytes(file, b, limits),
        None => OpenedFile::open(file, true, limits),
    };
    let mirrors = Mirrors::from_record(record, &edit);
    match opened.and_then(|o| o.write(None, &edit, &mirrors, limits, &options)) {
        Ok(done) => {
            syncs.add(done.unsynced_folder.as_deref());
            for note in &done.notes {
                eprintln!("stemma: warning: {}: {note}", file.display());
            }
            Outcome::Imported(dialect.to_string())
        }
        Err(e @ stemma_container::Error::C2paProtected(_)) => {
            Outcome::Protected(format!("{}: {e}", file.display()))
        }
        Err(e) => fail(
            dialect,
            crate::batch::with_force_hint(e).context(format!("{}: not written", file.display())),
        ),
    }
}

/// A file without a record from itself or the files beside it: its frame record from the folder scan, else (with
/// `--as`) what that tool's reader makes of it, else what its name says (`by_name`: only names that carry a
/// tool's own marker make one).
fn import_frame(
    file: &Path,
    by_name: Option<&Record>,
    index: &FrameIndex,
    args: &Args,
    limits: &Limits,
    syncs: &FolderSyncs,
) -> Outcome {
    if let Some((label, record)) = index.get(file) {
        return store(file, None, label, record, args, limits, syncs);
    }
    let record = match args.as_tool {
        Some(tool) => import_path(file, Some(tool), limits).ok(),
        None => by_name.cloned(),
    };
    let Some(record) = record else {
        return Outcome::Unknown;
    };
    let tool = record
        .generator
        .as_ref()
        .map(|g| g.name.clone())
        .unwrap_or_else(|| "filename".into());
    store(
        file,
        None,
        &format!("name:{tool}"),
        &record,
        args,
        limits,
        syncs,
    )
}
