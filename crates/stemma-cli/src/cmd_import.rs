//! `stemma import`: turn generator metadata into stemma records, in place (lossless, atomic), with a summary.
//!
//! Files without embedded metadata that `stemma-import` understands go to the legacy importers (`stemma-legacy`):
//! frames of a run folder get per-frame sequence records from the folder scan (settings file, gaps, cadence and
//! interpolated frames), other files what their name says.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use stemma_container::{ops, sidecar, Edit, Limits, RecordChange};
use stemma_import::{import, Evidence};
use stemma_legacy::filename::Confidence;
use stemma_legacy::{
    import_path, recognise_filename, scan_folder_with, FileKind, ScanOptions, Tool,
};
use stemma_model::{record_to_json, Record};

use crate::exit;
use crate::files::expand;
use crate::output::Chain;
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
    /// No embedded metadata stemma understands: left to the legacy importers.
    Legacy,
    /// Left untouched because rewriting would invalidate its C2PA manifest (`--force` imports it).
    Protected(String),
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
    let log = |file: &Path, outcome: &Outcome| {
        if args.verbose {
            let line = match outcome {
                Outcome::Imported(d) => format!("imported  {} ({d})", file.display()),
                Outcome::AlreadyStemma => format!("has record {}", file.display()),
                Outcome::Unknown | Outcome::Legacy => format!("unknown   {}", file.display()),
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
            let outcome = import_one(file, &args, &limits);
            if !matches!(outcome, Outcome::Legacy) {
                log(file, &outcome);
            }
            outcome
        })
        .collect();
    // Files without embedded metadata: the legacy importers, with one scan per folder.
    let legacy: Vec<usize> = (0..files.len())
        .filter(|&i| matches!(outcomes[i], Outcome::Legacy))
        .collect();
    if !legacy.is_empty() {
        let candidates: Vec<&Path> = legacy.iter().map(|&i| files[i].as_path()).collect();
        let (found, warnings) = LegacyIndex::build(&candidates, args.as_tool, &limits);
        if args.verbose {
            for w in warnings {
                eprintln!("stemma: warning: {w}");
            }
        }
        let results: Vec<(usize, Outcome)> = legacy
            .par_iter()
            .map(|&i| {
                let file = files[i].as_path();
                let outcome = import_legacy(file, &found, &args, &limits);
                log(file, &outcome);
                (i, outcome)
            })
            .collect();
        for (i, outcome) in results {
            outcomes[i] = outcome;
        }
    }
    bar.finish_and_clear();
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
            Outcome::Unknown | Outcome::Legacy => unknown += 1,
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

fn import_one(file: &Path, args: &Args, limits: &Limits) -> Outcome {
    let fail = |dialect: &str, e: anyhow::Error| {
        Outcome::Failed(dialect.to_string(), Chain(&e).to_string())
    };
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
            None => Outcome::Legacy,
        };
    };
    store(file, imported.dialect, &imported.record, args, limits)
}

/// Write `record` into `file` (or its sidecar) unless this is a dry run.
fn store(file: &Path, dialect: &str, record: &Record, args: &Args, limits: &Limits) -> Outcome {
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
    match ops::rewrite(file, None, &edit, limits) {
        Ok(_) => Outcome::Imported(dialect.to_string()),
        Err(e @ stemma_container::Error::C2paProtected(_)) => {
            Outcome::Protected(format!("{}: {e}", file.display()))
        }
        Err(e) => fail(
            dialect,
            anyhow::Error::new(e).context(format!("{}: not written", file.display())),
        ),
    }
}

/// The tools whose files form frame sequences that a folder scan links.
fn sequence_tool(tool: Tool) -> bool {
    matches!(
        tool,
        Tool::Disco
            | Tool::Pytti
            | Tool::Deforum
            | Tool::VqganClip
            | Tool::Rife
            | Tool::Film
            | Tool::Flowframes
            | Tool::Generic
    )
}

/// A file's path made comparable with the paths a folder scan reports.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The records the folder scans made for the frames of their sequences, by canonical path: (tool label, record).
struct LegacyIndex {
    records: HashMap<PathBuf, (String, Record)>,
}

impl LegacyIndex {
    /// Scan, once each, the folders whose candidates look like frames of a run (interpolated frames: the folder
    /// above theirs, where their source sequence is). Returns the index and the scans' warnings.
    fn build(candidates: &[&Path], forced: Option<Tool>, limits: &Limits) -> (Self, Vec<String>) {
        let mut folders = BTreeSet::new();
        for file in candidates {
            let m = recognise_filename(file);
            let interpolated = m.as_ref().is_some_and(|m| m.kind == FileKind::Interpolated);
            let wanted = match forced {
                Some(tool) => sequence_tool(tool),
                None => m.as_ref().is_some_and(|m| {
                    m.tool != Tool::Generic && (m.sequence_key.is_some() || interpolated)
                }),
            };
            if !wanted {
                continue;
            }
            let folder = folder_of(file);
            folders.insert(if interpolated {
                folder_of(&folder)
            } else {
                folder
            });
        }
        let options = ScanOptions {
            limits: *limits,
            ..ScanOptions::default()
        };
        let scans: Vec<_> = folders
            .par_iter()
            .map(|folder| (folder, scan_folder_with(folder, &options)))
            .collect();
        let mut records = HashMap::new();
        let mut warnings = Vec::new();
        for (folder, scan) in scans {
            let scan = match scan {
                Ok(s) => s,
                Err(e) => {
                    warnings.push(format!("{}: folder not scanned: {e}", folder.display()));
                    continue;
                }
            };
            for s in &scan.sequences {
                let accept = |tool: Tool| match forced {
                    Some(t) => t == tool || t == s.tool,
                    None => s.tool != Tool::Generic,
                };
                for f in &s.frames {
                    if accept(s.tool) {
                        let label = format!("seq:{}", s.tool);
                        records.insert(canonical(&f.path), (label, f.record.clone()));
                    }
                }
                // A duplicate with the same pixels as the frame kept is that frame.
                for d in s
                    .duplicates
                    .iter()
                    .filter(|d| d.identical && accept(s.tool))
                {
                    let Some(kept) = s.frames.iter().find(|f| f.index == d.index) else {
                        continue;
                    };
                    for p in d.paths.iter().skip(1) {
                        let label = format!("seq:{}", s.tool);
                        records.insert(canonical(p), (label, kept.record.clone()));
                    }
                }
                for f in &s.interpolated {
                    let tool = f
                        .record
                        .generator
                        .as_ref()
                        .and_then(|g| Tool::from_id(&g.name))
                        .unwrap_or(s.tool);
                    if accept(tool) {
                        let label = format!("seq:{tool}");
                        records.insert(canonical(&f.path), (label, f.record.clone()));
                    }
                }
            }
            warnings.extend(scan.warnings);
        }
        (LegacyIndex { records }, warnings)
    }
}

/// A file without embedded metadata: its frame record from the folder scan, else what its name says (in auto
/// mode only names that carry a tool's own marker).
fn import_legacy(file: &Path, index: &LegacyIndex, args: &Args, limits: &Limits) -> Outcome {
    if let Some((label, record)) = index.records.get(&canonical(file)) {
        return store(file, label, record, args, limits);
    }
    let record = match args.as_tool {
        Some(tool) => import_path(file, Some(tool)).ok(),
        None => recognise_filename(file)
            .filter(|m| m.tool != Tool::Generic && m.confidence == Confidence::Strong)
            .map(|m| m.to_record()),
    };
    let Some(record) = record else {
        return Outcome::Unknown;
    };
    let tool = record
        .generator
        .as_ref()
        .map(|g| g.name.clone())
        .unwrap_or_else(|| "filename".into());
    store(file, &format!("name:{tool}"), &record, args, limits)
}
