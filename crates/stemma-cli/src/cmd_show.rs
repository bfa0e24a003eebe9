//! `stemma show`: the record of each file, or what its metadata holds.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use rayon::prelude::*;
use serde_json::{json, Value};
use stemma_container::{Limits, Metadata};
use stemma_model::Record;

use crate::exit;
use crate::files::expand;
use crate::view::{view_file, Depth, FileView};

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
    /// Also look for metadata hidden in the pixels (stealth pnginfo) in files without other metadata; this decodes
    /// those images.
    #[arg(long)]
    deep: bool,
}

pub fn run(args: Args) -> Result<u8> {
    let files = expand(&args.paths);
    let limits = Limits::default();
    let depth = if args.no_import {
        Depth::StemmaOnly
    } else if args.deep {
        Depth::Deep
    } else {
        Depth::Import
    };
    // Files are read in parallel; output keeps the order of the command line.
    let results: Vec<(PathBuf, Result<FileView>)> = files
        .par_iter()
        .map(|path| (path.clone(), view_file(path, &limits, depth)))
        .collect();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failed = false;
    for (path, result) in &results {
        match result {
            Ok(view) if args.json && args.record_only => {
                serde_json::to_writer(&mut out, &view.record)?;
                writeln!(out)?;
            }
            Ok(view) if args.json => {
                serde_json::to_writer(&mut out, &json_view(path, view))?;
                writeln!(out)?;
            }
            Ok(view) => write_human(&mut out, path, view)?,
            Err(err) => {
                failed = true;
                if args.json && !args.record_only {
                    serde_json::to_writer(
                        &mut out,
                        &json!({"file": path, "error": format!("{err:#}")}),
                    )?;
                    writeln!(out)?;
                }
                out.flush()?;
                eprintln!("stemma: {err:#}");
            }
        }
    }
    out.flush()?;
    Ok(if failed { exit::FILE_ERROR } else { exit::OK })
}

fn json_view(path: &Path, view: &FileView) -> Value {
    json!({
        "file": path,
        "format": view.metadata.format,
        "width": view.metadata.width,
        "height": view.metadata.height,
        "source": view.source,
        "layers": view.layers,
        "record": view.record,
        "metadata": metadata_listing(&view.metadata),
        "warnings": view.warnings,
    })
}

/// The metadata a file holds: one line per decoded entry, with its size (never the whole value).
fn metadata_listing(meta: &Metadata) -> Vec<Value> {
    let mut items: Vec<Value> = meta
        .entries
        .iter()
        .map(|e| {
            let mut item = json!({"origin": e.origin, "key": e.key, "size": e.value.len()});
            if e.after_image_data {
                item["after_image_data"] = Value::Bool(true);
            }
            item
        })
        .collect();
    if let Some(origin) = &meta.record_origin {
        let size = meta.record_json.as_ref().map_or(0, String::len);
        items.push(json!({"origin": origin, "key": "stemma", "size": size}));
    }
    items
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
    let origin = match (&view.source, view.layers.first()) {
        (Some(crate::view::RecordSource::Stemma), _) => "stemma record".to_string(),
        (Some(crate::view::RecordSource::Sidecar), _) => "stemma sidecar".to_string(),
        (_, Some(dialect)) => format!("imported from {dialect} metadata"),
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
        writeln!(out, "  layers      {} (first used)", view.layers.join(", "))?;
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
