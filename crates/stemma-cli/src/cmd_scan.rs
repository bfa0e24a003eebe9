//! `stemma scan`: index new and changed files of a library into its catalog; `--watch` keeps following changes.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use notify::{EventKind, RecursiveMode, Watcher};
use stemma_catalog::{scan, Catalog, Progress, ScanOptions, ScanSummary};

use crate::cmd_init::CatalogArg;
use crate::exit;

/// Quiet time after a change before the watch scans.
const SETTLE: Duration = Duration::from_millis(500);
/// Longest a watch waits for changes to settle before scanning anyway.
const MAX_SETTLE: Duration = Duration::from_secs(5);

#[derive(clap::Args)]
pub struct Args {
    /// The folder (or file) to scan (default: the library root).
    path: Option<PathBuf>,
    /// After the scan, keep watching the folder and scan again when files change.
    #[arg(long)]
    watch: bool,
    /// List every file that could not be read (default: the first 20).
    #[arg(short, long)]
    verbose: bool,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    catalog: CatalogArg,
}

pub fn run(args: Args) -> Result<u8> {
    let start = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut cat = args.catalog.open(&start)?;
    let target = args.path.clone().unwrap_or_else(|| cat.root.clone());
    let code = scan_once(&mut cat, &target, &args)?;
    if !args.watch {
        return Ok(code);
    }
    let (tx, rx) = channel();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })
    .context("cannot watch for changes")?;
    watcher
        .watch(&target, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", target.display()))?;
    if !args.quiet {
        eprintln!("watching {} (Ctrl-C to stop)", target.display());
    }
    let catalog_dir = cat.path.parent().map(Path::to_path_buf);
    // A library change: a file created, written, renamed or removed outside the catalog's folder. Reads are not
    // changes (the scan's own reads would wake the watch again), nor are the catalog's own writes.
    let is_change = |e: &notify::Result<notify::Event>| match e {
        Ok(ev) => {
            !matches!(ev.kind, EventKind::Access(_))
                && ev
                    .paths
                    .iter()
                    .any(|p| catalog_dir.as_ref().is_none_or(|d| !p.starts_with(d)))
        }
        Err(_) => true,
    };
    while let Ok(event) = rx.recv() {
        if !is_change(&event) {
            continue;
        }
        // Let a burst of changes (a batch being saved) settle, then scan once; a burst that goes on is scanned
        // every few seconds.
        let settling = Instant::now();
        while settling.elapsed() < MAX_SETTLE {
            match rx.recv_timeout(SETTLE) {
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return Ok(exit::OK),
            }
        }
        // A scan that fails (the catalog busy past its timeout, a folder gone) is reported and the watch goes on:
        // the next change scans again.
        if let Err(e) = scan_once(&mut cat, &target, &args) {
            eprintln!("stemma: scan: {e:#}");
        }
    }
    Ok(exit::OK)
}

fn scan_once(cat: &mut Catalog, target: &Path, args: &Args) -> Result<u8> {
    let started = Instant::now();
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files  {elapsed_precise}  {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |p: Progress| match p {
        Progress::Planned(n) => bar.set_length(n),
        Progress::Done(n) => bar.set_position(n),
    };
    let opts = ScanOptions {
        progress: Some(&progress),
        ..ScanOptions::default()
    };
    let summary = scan(cat, target, &opts)?;
    bar.finish_and_clear();
    report(&summary, started.elapsed(), args);
    Ok(if summary.errors.is_empty() {
        exit::OK
    } else {
        exit::FILE_ERROR
    })
}

fn report(s: &ScanSummary, took: Duration, args: &Args) {
    let shown = if args.verbose { s.errors.len() } else { 20 };
    for (path, why) in s.errors.iter().take(shown) {
        eprintln!("unreadable: {path}: {why}");
    }
    if s.errors.len() > shown {
        eprintln!(
            "... and {} more unreadable files (-v lists them all)",
            s.errors.len() - shown
        );
    }
    if args.quiet {
        return;
    }
    let secs = took.as_secs_f64();
    let rate = if s.read > 0 && secs > 0.0 {
        format!(", {:.0} files/s", s.read as f64 / secs)
    } else {
        String::new()
    };
    println!(
        "scanned {} files in {secs:.2}s: {} read, {} unchanged, {} new images, {} moved, {} missing, {} unreadable{rate}",
        s.files,
        s.read,
        s.unchanged,
        s.new_images,
        s.moved,
        s.missing,
        s.errors.len()
    );
}
