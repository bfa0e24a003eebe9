//! `stemma show`: the record of each file, or what its metadata holds.

use std::io::{self, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;
use stemma_container::Limits;
use stemma_model::Record;

use crate::exit;
use crate::files::expand_with_folders;
use stemma_import::{resolve_in, Depth, RecordSource, ResolveOptions, Resolved as FileView};

use crate::output::Chain;
use stemma_import::resolve::envelope::{envelope, error_envelope, record_out};

#[derive(clap::Args)]
pub struct Args {
    /// Image files, or folders to walk.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// One JSON object per file (JSON Lines): file, format, record, where it came from, metadata, warnings.
    #[arg(long)]
    json: bool,
    /// With --json: print only the record (the form `stamp --record` takes), `null` for a file without one.
    #[arg(long, requires = "json")]
    record_only: bool,
    /// Show only a stored stemma record; do not import the generator's metadata on the fly.
    #[arg(long, conflicts_with = "deep")]
    no_import: bool,
    /// Also decode lossless WebP files without other metadata to look for stealth pnginfo in their pixels (PNGs are
    /// checked by default, from their first pixel rows only).
    #[arg(long)]
    deep: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let (files, folders) = expand_with_folders(&args.paths);
    let limits = Limits::default();
    let depth = if args.no_import {
        Depth::StemmaOnly
    } else if args.deep {
        Depth::Deep
    } else {
        Depth::Import
    };
    // Files are read and rendered in parallel, a batch at a time, on rayon's threads while this thread writes the
    // batch before; output keeps the order of the command line.
    let mode = Mode {
        json: args.json,
        record_only: args.record_only,
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    widen_pipe(&out);
    let mut failed = false;
    std::thread::scope(|scope| -> Result<()> {
        let (sender, batches) = mpsc::sync_channel::<Vec<Rendered>>(1);
        let files = &files;
        let opts = ResolveOptions { limits, depth };
        let folders = &folders;
        scope.spawn(move || {
            for batch in files.chunks(BATCH) {
                let rendered: Vec<Rendered> = batch
                    .par_iter()
                    .map(|path| {
                        let resolved =
                            resolve_in(path, &folders.of(path), &opts).map_err(anyhow::Error::new);
                        render(path, resolved, mode)
                    })
                    .collect();
                if sender.send(rendered).is_err() {
                    break; // the writer stopped
                }
            }
        });
        for mut rendered in batches {
            let mut from = 0;
            for i in 0..rendered.len() {
                if rendered[i].render_error.is_none() && rendered[i].error.is_none() {
                    continue;
                }
                write_items(&mut out, &rendered[from..=i])?;
                from = i + 1;
                if let Some(err) = rendered[i].render_error.take() {
                    return Err(err.into());
                }
                if let Some(message) = &rendered[i].error {
                    failed = true;
                    out.flush()?;
                    eprintln!("stemma: {message}");
                }
            }
            write_items(&mut out, &rendered[from..])?;
        }
        Ok(())
    })?;
    out.flush()?;
    Ok(if failed { exit::FILE_ERROR } else { exit::OK })
}

/// When standard output is a pipe, make its buffer larger (1 MiB instead of 64 KiB): the reader is woken far less
/// often for the megabytes of JSON a folder makes. Anything else (a file, a terminal) is left alone.
#[cfg(target_os = "linux")]
fn widen_pipe(out: &io::StdoutLock) {
    use std::os::fd::AsFd;
    let _ = rustix::pipe::fcntl_setpipe_size(out.as_fd(), 1 << 20);
}

#[cfg(not(target_os = "linux"))]
fn widen_pipe(_: &io::StdoutLock) {}

/// Files read in parallel before their output is written.
const BATCH: usize = 256;

/// Write the output of several files at once (one `writev` instead of a copy into a buffer).
fn write_items(out: &mut impl Write, items: &[Rendered]) -> io::Result<()> {
    let mut slices: Vec<IoSlice> = items
        .iter()
        .filter(|item| !item.bytes.is_empty())
        .map(|item| IoSlice::new(&item.bytes))
        .collect();
    let mut slices = slices.as_mut_slice();
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// How `show` prints.
#[derive(Clone, Copy)]
struct Mode {
    json: bool,
    record_only: bool,
}

/// One file's output, made on a worker thread.
struct Rendered {
    /// What goes to standard output (written even when rendering failed part way, as a direct write would).
    bytes: Vec<u8>,
    /// The file could not be read: the message for standard error.
    error: Option<String>,
    /// Rendering itself failed (stops the command, as before).
    render_error: Option<io::Error>,
}

fn render(path: &Path, result: Result<FileView>, mode: Mode) -> Rendered {
    let mut bytes = Vec::new();
    let mut error = None;
    let written: io::Result<()> = match &result {
        Ok(view) if mode.json && mode.record_only => write_json_line(&mut bytes, &record_out(view)),
        Ok(view) if mode.json => write_json_line(&mut bytes, &envelope(path, view)),
        Ok(view) => write_human(&mut bytes, path, view),
        Err(err) => {
            let message = Chain(err).to_string();
            let written = if mode.json && !mode.record_only {
                write_json_line(&mut bytes, &error_envelope(path, &message))
            } else {
                Ok(())
            };
            error = Some(message);
            written
        }
    };
    // Free the file's view on this worker thread.
    drop(result);
    Rendered {
        bytes,
        error,
        render_error: written.err(),
    }
}

fn write_json_line<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.push(b'\n');
    Ok(())
}

fn write_human(out: &mut impl Write, path: &Path, view: &FileView) -> io::Result<()> {
    let meta = &view.metadata;
    let size = match (meta.width, meta.height) {
        (Some(w), Some(h)) => format!(", {w}×{h}"),
        _ => String::new(),
    };
    let frames = meta
        .frames
        .map(|f| format!(", {f} frames"))
        .unwrap_or_default();
    writeln!(
        out,
        "{}  ({}{size}{frames})",
        path.display(),
        meta.format.name()
    )?;
    match &view.record {
        Some(record) => write_record(out, record, view)?,
        None => writeln!(
            out,
            "  no stemma record, and no generator metadata stemma understands"
        )?,
    }
    let listing: Vec<String> = meta
        .entries
        .iter()
        .map(|e| {
            let late = if e.after_image_data {
                ", after image data"
            } else {
                ""
            };
            format!("{} {} ({} B{late})", e.origin, e.key, e.value.len())
        })
        .collect();
    if listing.is_empty() && meta.record_origin.is_some() {
        writeln!(out, "  metadata    none besides the stemma record")?;
    } else if listing.is_empty() {
        writeln!(out, "  metadata    none")?;
    } else {
        writeln!(out, "  metadata    {}", listing.join("; "))?;
    }
    for w in &view.warnings {
        writeln!(out, "  warning     {w}")?;
    }
    writeln!(out)
}

fn write_record(out: &mut impl Write, record: &Record, view: &FileView) -> io::Result<()> {
    let origin = match (&view.source, view.record_layer()) {
        (Some(RecordSource::Stemma), _) => "stemma record".to_string(),
        (Some(RecordSource::Sidecar), _) => "stemma sidecar".to_string(),
        (_, Some(layer)) => format!("imported from {} metadata", layer.dialect),
        _ => "record".to_string(),
    };
    let generator = record
        .generator
        .as_ref()
        .map(|g| {
            format!(
                "{}{}",
                g.name,
                g.version
                    .as_ref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "unknown".into());
    writeln!(out, "  generator   {generator}  [{origin}]")?;
    if view.layers.len() > 1 {
        writeln!(
            out,
            "  layers      {} (first used)",
            view.layer_ids().join(", ")
        )?;
    }
    if let Some(prompt) = &record.prompt {
        if let Some(p) = &prompt.positive {
            let cut = if prompt.truncated { " [truncated]" } else { "" };
            writeln!(out, "  prompt      {}{cut}", one_line(p))?;
        }
        if let Some(n) = &prompt.negative {
            writeln!(out, "  negative    {}", one_line(n))?;
        }
        if let Some(t) = prompt.template.as_ref().and_then(|t| t.positive.as_ref()) {
            writeln!(out, "  template    {}", one_line(t))?;
        }
    }
    if let Some(p) = &record.params {
        let mut parts = Vec::new();
        let mut push = |name: &str, v: Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{name} {v}"));
            }
        };
        push("seed", p.seed.clone());
        push("steps", p.steps.map(|v| v.to_string()));
        push("cfg", p.cfg_scale.map(|v| v.to_string()));
        push("sampler", p.sampler.clone());
        push("scheduler", p.scheduler.clone());
        push("model", p.model.as_ref().and_then(|m| m.name.clone()));
        push(
            "size",
            p.width.zip(p.height).map(|(w, h)| format!("{w}×{h}")),
        );
        push("denoise", p.denoise.map(|v| v.to_string()));
        if !parts.is_empty() {
            writeln!(out, "  params      {}", parts.join(" · "))?;
        }
        if !p.loras.is_empty() {
            let loras: Vec<String> = p
                .loras
                .iter()
                .map(|l| {
                    format!(
                        "{}{}",
                        l.name,
                        l.weight.map(|w| format!(":{w}")).unwrap_or_default()
                    )
                })
                .collect();
            writeln!(out, "  loras       {}", loras.join(", "))?;
        }
    }
    for parent in &record.parents {
        let id = parent
            .id
            .as_deref()
            .map(short_id)
            .unwrap_or_else(|| "(unresolved)".into());
        let t = parent.t.map(|t| format!(" t={t}")).unwrap_or_default();
        let hint = parent
            .hint
            .as_ref()
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        writeln!(out, "  parent      {} {id}{t}{hint}", parent.relation)?;
    }
    if let Some(seq) = &record.sequence {
        let frame = seq.frame.map(|f| format!(" frame {f}")).unwrap_or_default();
        let interp = if seq.interpolated {
            " (interpolated)"
        } else {
            ""
        };
        writeln!(out, "  sequence    {}{frame}{interp}", seq.id)?;
    }
    if let Some(ids) = &record.content {
        if let Some(p) = &ids.pixels {
            writeln!(out, "  pixels id   {p}")?;
        }
    }
    Ok(())
}

fn short_id(id: &str) -> String {
    id.chars().take(7 + 12).collect::<String>() + "…"
}

fn one_line(text: &str) -> String {
    let flat = text.replace(['\r', '\n'], " ⏎ ");
    if flat.chars().count() > 200 {
        flat.chars().take(200).collect::<String>() + "…"
    } else {
        flat
    }
}
