//! `stemma run init SETTINGS` (a run manifest from a settings file), `stemma run status RUN` (what a run has by
//! content) and `stemma run diff A [B]` (two runs' settings, or a fork against its source).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use stemma_container::Limits;
use stemma_runs::{
    diff_settings, manifest_from_settings, manifest_path, open_run, status, ItemStatus, Manifest,
    Produced, SettingsStore,
};

use crate::exit;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RunCommand,
}

#[derive(clap::Subcommand)]
enum RunCommand {
    /// Make a run manifest (`<name>.stemma-run.json`) from a settings file (Deforum, Disco Diffusion, pytti, a
    /// ComfyUI API graph, or stemma JSON); the settings go into the settings store by hash.
    Init(InitArgs),
    /// List a run's items by content: verified, produced, damaged, mismatched, foreign, missing, planned.
    Status(StatusArgs),
    /// What changed between two runs' settings, or between a fork and its source (one manifest).
    Diff(DiffArgs),
}

#[derive(clap::Args)]
struct InitArgs {
    /// The run's settings file.
    settings: PathBuf,
    /// Items planned, when the settings do not say.
    #[arg(long)]
    count: Option<u64>,
    /// Folder of the run's files (default: the settings file's folder).
    #[arg(long)]
    folder: Option<PathBuf>,
    /// Where to write the manifest (default: `<folder>/<run>.stemma-run.json`).
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct StatusArgs {
    /// A run manifest or a run folder.
    run: PathBuf,
    /// Record the content id of every produced item in the manifest (RUN must be a manifest).
    #[arg(long)]
    record: bool,
    /// JSON output.
    #[arg(long)]
    json: bool,
    /// List every item, not only the ones that are not verified or produced.
    #[arg(long)]
    all: bool,
}

#[derive(clap::Args)]
struct DiffArgs {
    /// A run manifest or folder (a fork's manifest alone: the fork against its source).
    a: PathBuf,
    /// The other run.
    b: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<u8> {
    match args.command {
        RunCommand::Init(a) => init(a),
        RunCommand::Status(a) => run_status(a),
        RunCommand::Diff(a) => diff(a),
    }
}

fn init(args: InitArgs) -> Result<u8> {
    let (mut manifest, data, _) = manifest_from_settings(&args.settings, args.count)?;
    let settings_dir = args
        .settings
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let folder = args.folder.clone().unwrap_or_else(|| settings_dir.clone());
    let path = match &args.output {
        Some(p) => p.clone(),
        None => manifest_path(&folder, &manifest.id),
    };
    let manifest_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if let Some(f) = &args.folder {
        manifest.folder = relative(f, manifest_dir);
    } else if std::path::absolute(manifest_dir)? != std::path::absolute(&settings_dir)? {
        manifest.folder = relative(&settings_dir, manifest_dir);
    }
    let store = SettingsStore::for_folder(manifest_dir);
    store.put(&manifest.settings.format, &data)?;
    manifest.created = Some(now_rfc3339());
    manifest.save(&path, false)?;
    if !args.quiet {
        println!(
            "wrote run manifest {} ({} {} items, settings {} in {})",
            path.display(),
            manifest.plan.count,
            manifest.generator,
            manifest.settings.hash,
            store.root.display()
        );
    }
    Ok(exit::OK)
}

/// `to` relative to `from` when it lies inside it, else absolute.
fn relative(to: &Path, from: &Path) -> Option<String> {
    let to = std::path::absolute(to).ok()?;
    let from = std::path::absolute(from).ok()?;
    match to.strip_prefix(&from) {
        Ok(rel) if rel.as_os_str().is_empty() => None,
        Ok(rel) => Some(rel.to_string_lossy().into_owned()),
        Err(_) => Some(to.to_string_lossy().into_owned()),
    }
}

/// The current time as RFC 3339 UTC, without a date library.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn run_status(args: StatusArgs) -> Result<u8> {
    let opened = open_run(&args.run)?;
    let limits = Limits::DEFAULT;
    let st = status(&opened, &limits, args.record)?;
    if args.record {
        let path = opened
            .manifest_path
            .clone()
            .context("--record needs a manifest (make one with `stemma run init`)")?;
        let mut manifest: Manifest = opened.manifest.clone();
        let mut added = 0;
        for item in &st.items {
            if item.status != ItemStatus::Produced || manifest.produced_id(item.index).is_some() {
                continue;
            }
            if let Some(id) = &item.id {
                manifest.produced.push(Produced {
                    index: item.index,
                    id: id.clone(),
                    file: item
                        .file
                        .as_ref()
                        .and_then(|f| f.file_name())
                        .and_then(|n| n.to_str())
                        .map(str::to_string),
                });
                added += 1;
            }
        }
        manifest.produced.sort_by_key(|p| p.index);
        if added > 0 {
            manifest.save(&path, true)?;
        }
        eprintln!("recorded {added} content ids in {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
        return Ok(exit::OK);
    }
    let counts: Vec<String> = st
        .counts
        .iter()
        .filter(|(k, _)| **k != "planned_total")
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    println!(
        "{}: {} planned in {}: {}",
        st.run,
        st.counts.get("planned_total").copied().unwrap_or(0),
        st.folder.display(),
        counts.join(", ")
    );
    for item in &st.items {
        if !args.all && item.status.is_good() {
            continue;
        }
        if item.status == ItemStatus::Planned && !args.all {
            continue;
        }
        let file = item
            .file
            .as_ref()
            .map(|f| format!(" {}", f.display()))
            .unwrap_or_default();
        let reason = item
            .reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        println!("  {:>6} {}{file}{reason}", item.index, item.status.name());
    }
    for f in st.files.iter().filter(|f| f.index.is_none()) {
        println!(
            "  {} {}: {}",
            f.status.name(),
            f.path.display(),
            f.reason.as_deref().unwrap_or("")
        );
    }
    for w in &st.warnings {
        println!("  warning: {w}");
    }
    match st.first_to_redo {
        Some(i) => println!("first item to redo: {i}"),
        None => println!("complete: every planned item is present and intact"),
    }
    Ok(exit::OK)
}

fn diff(args: DiffArgs) -> Result<u8> {
    let a = open_run(&args.a)?;
    let (left, right, what) = match &args.b {
        Some(b) => {
            let b = open_run(b)?;
            let what = format!("{} → {}", a.manifest.id, b.manifest.id);
            (a.settings.clone(), b.settings.clone(), what)
        }
        None => {
            let fork = a
                .manifest
                .fork
                .clone()
                .context("one run given but it is not a fork: give two runs")?;
            let store = SettingsStore::for_folder(
                a.manifest_path
                    .as_deref()
                    .and_then(Path::parent)
                    .unwrap_or(Path::new(".")),
            );
            let base = store.get(&fork.base)?;
            let what = format!("{} (source) → {}", fork.base, a.manifest.id);
            (base.data, a.settings.clone(), what)
        }
    };
    let d = diff_settings(&left, &right);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(exit::OK);
    }
    println!("{what}: {} changed", d.rows.len());
    for (pointer, x, y) in &d.rows {
        let show = |v: &Option<serde_json::Value>| {
            v.as_ref()
                .map(|v| v.to_string())
                .unwrap_or_else(|| "(absent)".into())
        };
        println!("  {pointer}: {} → {}", show(x), show(y));
    }
    for (pointer, text) in &d.prompts {
        println!("  prompt {pointer}: {text}");
    }
    Ok(exit::OK)
}
