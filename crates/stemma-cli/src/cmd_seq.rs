//! `stemma seq`: the frame sequences of a folder (gaps, duplicates, restarts, interpolated frames), the per-frame
//! table of an animated file, and `stemma seq export`, which assembles a sequence into an APNG.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use stemma_container::Limits;
use stemma_import::{resolve, Depth, ResolveOptions};
use stemma_model::{Parent, Record};
use stemma_sequences::{
    export_sequence, scan_folder_with, FolderScan, ScanOptions, SequenceReport,
};

use crate::exit;
use crate::output::json_file_object;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<SeqCommand>,
    /// A folder of frames (lists its sequences), or an animated file with a stemma record (lists its frames).
    #[arg(required = true)]
    path: Option<PathBuf>,
    /// Print the folder scan (or the file's sequence and frames) as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum SeqCommand {
    /// Assemble the PNG frames of a sequence into one APNG carrying a record with the per-frame table.
    Export(ExportArgs),
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The folder holding the sequence's frames.
    path: PathBuf,
    /// The APNG to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Frames per second (default: the run's fps, else 12).
    #[arg(long)]
    fps: Option<f64>,
    /// Which sequence, by id or key (`deforum:20230812221310`), when the folder holds several.
    #[arg(long)]
    sequence: Option<String>,
    /// Overwrite the output if it exists.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<u8> {
    if let Some(SeqCommand::Export(export)) = args.command {
        return run_export(export);
    }
    let Some(path) = args.path else {
        eprintln!("stemma: seq needs a folder or a file");
        return Ok(exit::USAGE);
    };
    if path.is_dir() {
        let scan = scan_folder_with(&path, &ScanOptions::default())
            .with_context(|| format!("{}: folder not scanned", path.display()))?;
        let mut out = BufWriter::new(io::stdout().lock());
        if args.json {
            serde_json::to_writer(&mut out, &scan_json(&scan)?)?;
            writeln!(out)?;
        } else {
            print_scan(&mut out, &path, &scan)?;
        }
        out.flush()?;
        return Ok(exit::OK);
    }
    run_file(&path, args.json)
}

/// The folder scan as JSON. Paths that are not UTF-8 are given as text with U+FFFD, and listed once more in
/// `non_utf8_paths` as `{"path": <that text>, "bytes": [<the raw bytes>]}`, so that nothing is lost.
fn scan_json(scan: &FolderScan) -> Result<serde_json::Value> {
    let mut scan = scan.clone();
    let mut odd: Vec<serde_json::Value> = Vec::new();
    let mut fix = |path: &mut PathBuf| {
        if path.to_str().is_none() {
            let mut named = json_file_object(path);
            let text = named.remove("file").unwrap_or_default();
            *path = PathBuf::from(text.as_str().unwrap_or_default());
            odd.push(serde_json::json!({"path": text, "bytes": named.remove("file_bytes")}));
        }
    };
    scan.stray.iter_mut().for_each(&mut fix);
    scan.orphan_settings.iter_mut().for_each(&mut fix);
    for s in &mut scan.sequences {
        fix(&mut s.folder);
        s.frames.iter_mut().for_each(|f| fix(&mut f.path));
        s.interpolated.iter_mut().for_each(|f| fix(&mut f.path));
        s.duplicates
            .iter_mut()
            .for_each(|d| d.paths.iter_mut().for_each(&mut fix));
        s.interpolations.iter_mut().for_each(|i| fix(&mut i.folder));
        s.settings_file.iter_mut().for_each(&mut fix);
        s.resume_settings.iter_mut().for_each(&mut fix);
        s.srt_file.iter_mut().for_each(&mut fix);
    }
    let mut value = serde_json::to_value(&scan)?;
    if let (Some(object), false) = (value.as_object_mut(), odd.is_empty()) {
        object.insert("non_utf8_paths".into(), odd.into());
    }
    Ok(value)
}

/// The per-frame table of an animated file's record.
fn run_file(path: &Path, as_json: bool) -> Result<u8> {
    let opts = ResolveOptions {
        limits: Limits::default(),
        depth: Depth::StemmaOnly,
    };
    let resolved = resolve(path, &opts)?;
    if stemma_container::video::is_video(resolved.metadata.format) {
        return crate::seq_video::run(path, as_json, &opts.limits);
    }
    let Some(record) = resolved.record else {
        eprintln!(
            "stemma: {}: no stemma record (seq lists the frames of an animation stemma exported or recorded)",
            path.display()
        );
        return Ok(exit::FILE_ERROR);
    };
    if record.frames.is_empty() {
        eprintln!(
            "stemma: {}: its record has no per-frame table",
            path.display()
        );
        return Ok(exit::FILE_ERROR);
    }
    let mut out = BufWriter::new(io::stdout().lock());
    if as_json {
        let mut object = json_file_object(path);
        object.insert("sequence".into(), serde_json::to_value(&record.sequence)?);
        object.insert("frames".into(), serde_json::to_value(&record.frames)?);
        serde_json::to_writer(&mut out, &object)?;
        writeln!(out)?;
    } else {
        print_frames(&mut out, path, &record)?;
    }
    out.flush()?;
    Ok(exit::OK)
}

fn run_export(args: ExportArgs) -> Result<u8> {
    if args.output.exists() && !args.force {
        eprintln!(
            "stemma: {}: exists; not overwritten (use --force)",
            args.output.display()
        );
        return Ok(exit::FILE_ERROR);
    }
    if let Some(fps) = args.fps {
        if !fps.is_finite() || fps <= 0.0 {
            eprintln!("stemma: --fps must be a positive number, got {fps}");
            return Ok(exit::USAGE);
        }
    }
    let options = ScanOptions::default();
    let scan = scan_folder_with(&args.path, &options)
        .with_context(|| format!("{}: folder not scanned", args.path.display()))?;
    let report = match pick(&scan.sequences, args.sequence.as_deref()) {
        Ok(r) => r,
        Err(why) => {
            eprintln!("stemma: {}: {why}", args.path.display());
            return Ok(exit::USAGE);
        }
    };
    if let Some(f) = report.frames.iter().find(|f| !is_png(&f.path)) {
        eprintln!(
            "stemma: {}: not a PNG frame; seq export assembles PNG frames only",
            f.path.display()
        );
        return Ok(exit::FILE_ERROR);
    }
    let export = export_sequence(report, args.fps, &args.output, &options.limits)
        .with_context(|| format!("{}: not written", args.output.display()))?;
    let fps = export
        .record
        .sequence
        .as_ref()
        .and_then(|s| s.fps)
        .unwrap_or_default();
    println!(
        "{}: {} frames of {}, {}x{}, {} fps, {}",
        export.out.display(),
        export.frames,
        report.id,
        export.width,
        export.height,
        fmt_num(fps),
        if export.copied {
            "frame data copied"
        } else {
            "frames re-encoded losslessly"
        }
    );
    if !report.gaps.is_empty() {
        eprintln!(
            "stemma: warning: {} frame(s) missing ({}); the animation skips them",
            report.gaps.len(),
            ranges(&report.gaps, 12)
        );
    }
    Ok(exit::OK)
}

fn is_png(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
}

/// The sequence to export: the one named (id, key or id prefix), or the only one.
fn pick<'a>(
    sequences: &'a [SequenceReport],
    wanted: Option<&str>,
) -> std::result::Result<&'a SequenceReport, String> {
    let list = || {
        sequences
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        None => match sequences {
            [] => Err("no frame sequence found".into()),
            [one] => Ok(one),
            _ => Err(format!(
                "{} sequences; choose one with --sequence: {}",
                sequences.len(),
                list()
            )),
        },
        Some(w) => {
            if let Some(s) = sequences.iter().find(|s| s.id == w || s.key == w) {
                return Ok(s);
            }
            let prefixed: Vec<&SequenceReport> =
                sequences.iter().filter(|s| s.id.starts_with(w)).collect();
            match prefixed.as_slice() {
                [one] => Ok(one),
                [] => Err(format!("no sequence {w:?}; found: {}", list())),
                _ => Err(format!("{w:?} names several sequences: {}", list())),
            }
        }
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// `4, 7, 10-20`, at most `max` ranges.
fn ranges(values: &[u64], max: usize) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    let mut shown = 0;
    while i < values.len() {
        let start = values[i];
        let mut end = start;
        while i + 1 < values.len() && values[i + 1] == end + 1 {
            i += 1;
            end += 1;
        }
        i += 1;
        if parts.len() == max {
            parts.push(format!("… {} more", values.len() - shown));
            break;
        }
        shown += (end - start + 1) as usize;
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(", ")
}

fn print_scan(out: &mut impl Write, folder: &Path, scan: &FolderScan) -> Result<()> {
    writeln!(
        out,
        "{}: {} sequence(s), {} stray file(s)",
        folder.display(),
        scan.sequences.len(),
        scan.stray.len()
    )?;
    for s in &scan.sequences {
        writeln!(out)?;
        let span = match (s.frames.first(), s.last_frame) {
            (Some(first), Some(last)) => format!(" ({}-{last})", first.index),
            _ => String::new(),
        };
        let fps = s
            .fps
            .map(|f| format!(", {} fps", fmt_num(f)))
            .unwrap_or_default();
        writeln!(
            out,
            "{}  {}  {} frames{span}{fps}, {}",
            s.id,
            s.tool,
            s.frames.len(),
            if s.animated { "animation" } else { "stills" }
        )?;
        if !s.gaps.is_empty() {
            writeln!(
                out,
                "  missing      {} frame(s): {} (first missing {})",
                s.gaps.len(),
                ranges(&s.gaps, 12),
                s.first_missing.map(|f| f.to_string()).unwrap_or_default()
            )?;
        }
        for d in &s.duplicates {
            let names: Vec<String> = d.paths.iter().map(|p| file_name(p)).collect();
            writeln!(
                out,
                "  duplicate    frame {}: {} ({})",
                d.index,
                names.join(", "),
                if d.identical {
                    "same pixels"
                } else {
                    "different pixels"
                }
            )?;
        }
        let cadence = s
            .frames
            .iter()
            .filter(|f| f.kind == stemma_sequences::FrameKind::Cadence)
            .count();
        if cadence > 0 {
            writeln!(out, "  cadence      {cadence} in-between frame(s)")?;
        }
        match &s.settings_file {
            Some(p) => writeln!(out, "  settings     {}", file_name(p))?,
            None => writeln!(out, "  settings     (none)")?,
        }
        for p in &s.resume_settings {
            writeln!(out, "  resumed with {}", file_name(p))?;
        }
        if let Some(p) = &s.srt_file {
            writeln!(out, "  subtitles    {}", file_name(p))?;
        }
        if let Some(r) = s.resumed_at {
            writeln!(out, "  resumed at   frame {r}")?;
        }
        for i in &s.interpolations {
            let factor = match (i.factor, i.factor_source) {
                (Some(f), Some(src)) => format!("x{f} (from {src})"),
                (Some(f), None) => format!("x{f}"),
                _ => "factor unknown".into(),
            };
            let fps = i
                .fps
                .map(|f| format!(", {} fps", fmt_num(f)))
                .unwrap_or_default();
            writeln!(
                out,
                "  interpolated {}/: {} {factor}, {} frames{fps}",
                file_name(&i.folder),
                i.tool,
                i.frames
            )?;
        }
        for r in &s.related {
            writeln!(out, "  related      {r} (same settings: a restart)")?;
        }
        for w in &s.warnings {
            writeln!(out, "  warning      {w}")?;
        }
    }
    if !scan.stray.is_empty() {
        writeln!(out)?;
        let names: Vec<String> = scan.stray.iter().map(|p| file_name(p)).collect();
        writeln!(out, "stray: {}", names.join(", "))?;
    }
    if !scan.orphan_settings.is_empty() {
        let names: Vec<String> = scan.orphan_settings.iter().map(|p| file_name(p)).collect();
        writeln!(out, "settings without frames: {}", names.join(", "))?;
    }
    for w in &scan.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

fn short(text: &str, max: usize) -> String {
    let text = text.replace('\n', " ");
    if text.chars().count() <= max {
        text
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn parent_text(p: &Parent) -> String {
    let what = p
        .hint
        .clone()
        .or_else(|| p.id.as_ref().map(|id| short(id, 19)))
        .unwrap_or_else(|| "?".into());
    match p.t {
        Some(t) => format!("{} {what} t={}", p.relation, fmt_num(t)),
        None => format!("{} {what}", p.relation),
    }
}

fn print_frames(out: &mut impl Write, path: &Path, record: &Record) -> Result<()> {
    let seq = record.sequence.as_ref();
    let fps = seq
        .and_then(|s| s.fps)
        .map(|f| format!(", {} fps", fmt_num(f)))
        .unwrap_or_default();
    writeln!(
        out,
        "{}: {} frames of {}{fps}",
        path.display(),
        record.frames.len(),
        seq.map(|s| s.id.as_str()).unwrap_or("(no sequence id)")
    )?;
    writeln!(
        out,
        "{:>6}  {:>6}  {:<12}  {:<48}  parents",
        "index", "frame", "seed", "prompt"
    )?;
    for f in &record.frames {
        let parents: Vec<String> = f.parents.iter().map(parent_text).collect();
        writeln!(
            out,
            "{:>6}  {:>6}  {:<12}  {:<48}  {}",
            f.index,
            f.frame.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
            short(f.seed.as_deref().unwrap_or("-"), 12),
            short(f.prompt.as_deref().unwrap_or("-"), 48),
            if parents.is_empty() {
                "-".to_string()
            } else {
                parents.join("; ")
            }
        )?;
    }
    Ok(())
}
