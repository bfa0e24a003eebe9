//! Assembling PNG frames into one APNG that carries one stemma record with a per-frame table (the chunks are
//! written by `stemma_container::apng`).
//!
//! When every frame shares the IHDR fields (and palette), each frame's compressed `IDAT` data is copied into
//! `fcTL` + `fdAT` chunks without re-encoding. Otherwise every frame is decoded with the `image` crate and
//! re-encoded losslessly (RGBA, 8 or 16 bits per sample) before assembly. Frames must all have the same size.

use std::path::{Path, PathBuf};

use serde::Serialize;
use stemma_container::atomic::write_atomic;
use stemma_container::png::{parse_chunks, ChunkType, ACTL, IDAT, IHDR};
use stemma_container::Limits;
use stemma_model::{Frame, Generator, Record, Sequence};

use crate::error::{io_err, Error, Result};
use crate::sequence::SequenceReport;
use stemma_import::recognise_filename;

const PLTE: ChunkType = ChunkType(*b"PLTE");
const TRNS: ChunkType = ChunkType(*b"tRNS");
/// Rendering chunks copied from the first frame (colour space, physical size).
const RENDERING: &[&[u8; 4]] = &[
    b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs", b"cICP",
];

/// One frame to assemble, with what is known about it.
#[derive(Debug, Clone, Default)]
pub struct ApngFrame {
    pub path: PathBuf,
    /// The frame's own record (prompt, seed, parents), if known. When `None`, the record embedded in the file is
    /// read, and failing that the file name is recognised.
    pub record: Option<Record>,
}

/// What an export did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApngExport {
    pub out: PathBuf,
    pub frames: usize,
    /// True when the compressed data was copied; false when the frames were decoded and re-encoded.
    pub copied: bool,
    pub width: u32,
    pub height: u32,
    /// The frame delay as written (`delay_num / delay_den` seconds).
    pub delay: (u16, u16),
    /// The record written into the APNG.
    pub record: Record,
}

/// Assemble `frames` (PNG files, in order) into an APNG at `out` playing at `fps`, with a sequence record whose
/// per-frame table is built from each frame's embedded record or file name. Frames are read within `limits`.
pub fn export_apng(
    frames: &[PathBuf],
    fps: f64,
    out: &Path,
    limits: &Limits,
) -> Result<ApngExport> {
    let frames: Vec<ApngFrame> = frames
        .iter()
        .map(|p| ApngFrame {
            path: p.clone(),
            record: None,
        })
        .collect();
    export_apng_with(&frames, fps, None, out, limits)
}

/// Export a scanned sequence (its generated and cadence frames, in order) with the records the scan made.
pub fn export_sequence(
    report: &SequenceReport,
    fps: Option<f64>,
    out: &Path,
    limits: &Limits,
) -> Result<ApngExport> {
    let fps = fps.or(report.fps).unwrap_or(12.0);
    let frames: Vec<ApngFrame> = report
        .frames
        .iter()
        .map(|f| ApngFrame {
            path: f.path.clone(),
            record: Some(f.record.clone()),
        })
        .collect();
    let mut base = Record::new();
    if let Some(first) = report.frames.first() {
        base.generator = first.record.generator.clone();
        base.settings = first.record.settings.clone();
        base.run = first.record.run.clone().map(|mut r| {
            r.index = None;
            r
        });
        base.params = first.record.params.clone().map(|mut p| {
            p.seed = None;
            p
        });
    }
    base.sequence = Some(Sequence {
        id: report.id.clone(),
        fps: Some(fps),
        ..Sequence::default()
    });
    export_apng_with(&frames, fps, Some(base), out, limits)
}

struct Source {
    path: PathBuf,
    bytes: Vec<u8>,
}

struct Prepared {
    ihdr: Vec<u8>,
    /// Chunks between IHDR and the first IDAT to carry over (PLTE, tRNS, rendering chunks).
    header_chunks: Vec<Vec<u8>>,
    /// Per frame: the data of its IDAT chunks, in order.
    idats: Vec<Vec<Vec<u8>>>,
}

fn chunk_data(file: &[u8], kind: ChunkType, limits: &Limits) -> Option<Vec<u8>> {
    let list = parse_chunks(file, limits, false).ok()?;
    list.chunks
        .iter()
        .find(|c| c.kind == kind)
        .map(|c| c.data(file).to_vec())
}

fn try_copy(sources: &[Source], limits: &Limits) -> Option<Prepared> {
    let first = sources.first()?;
    let list = parse_chunks(&first.bytes, limits, true).ok()?;
    let ihdr = chunk_data(&first.bytes, IHDR, limits)?;
    let plte = chunk_data(&first.bytes, PLTE, limits);
    let trns = chunk_data(&first.bytes, TRNS, limits);
    let mut header_chunks = Vec::new();
    for c in &list.chunks {
        if c.after_idat || c.kind == IDAT {
            break;
        }
        if c.kind == PLTE || c.kind == TRNS || RENDERING.contains(&&c.kind.0) {
            header_chunks.push(first.bytes[c.start..c.end].to_vec());
        }
        // An existing APNG cannot be copied frame-wise.
        if c.kind == ACTL {
            return None;
        }
    }
    let mut idats = Vec::new();
    for s in sources {
        let list = parse_chunks(&s.bytes, limits, true).ok()?;
        if chunk_data(&s.bytes, IHDR, limits)? != ihdr
            || chunk_data(&s.bytes, PLTE, limits) != plte
            || chunk_data(&s.bytes, TRNS, limits) != trns
            || list.chunks.iter().any(|c| c.kind == ACTL)
        {
            return None;
        }
        let data: Vec<Vec<u8>> = list
            .chunks
            .iter()
            .filter(|c| c.kind == IDAT)
            .map(|c| c.data(&s.bytes).to_vec())
            .collect();
        idats.push(data);
    }
    Some(Prepared {
        ihdr,
        header_chunks,
        idats,
    })
}

fn reencode(sources: &[Source], limits: &Limits) -> Result<Prepared> {
    let mut images = Vec::new();
    for s in sources {
        let img = image::load_from_memory(&s.bytes).map_err(|e| Error::Image {
            path: s.path.clone(),
            reason: e.to_string(),
        })?;
        images.push(img);
    }
    let sixteen = images.iter().any(|i| {
        matches!(
            i,
            image::DynamicImage::ImageLuma16(_)
                | image::DynamicImage::ImageLumaA16(_)
                | image::DynamicImage::ImageRgb16(_)
                | image::DynamicImage::ImageRgba16(_)
        )
    });
    let mut ihdr = None;
    let mut idats = Vec::new();
    for (img, s) in images.iter().zip(sources) {
        let mut encoded = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new(&mut encoded);
        let result = if sixteen {
            let rgba = img.to_rgba16();
            let bytes: Vec<u8> = rgba.as_raw().iter().flat_map(|v| v.to_ne_bytes()).collect();
            image::ImageEncoder::write_image(
                encoder,
                &bytes,
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgba16,
            )
        } else {
            let rgba = img.to_rgba8();
            image::ImageEncoder::write_image(
                encoder,
                rgba.as_raw(),
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgba8,
            )
        };
        result.map_err(|e| Error::Image {
            path: s.path.clone(),
            reason: format!("re-encoding: {e}"),
        })?;
        let list = parse_chunks(&encoded, limits, false).map_err(|source| Error::Container {
            path: s.path.clone(),
            source,
        })?;
        if ihdr.is_none() {
            ihdr = chunk_data(&encoded, IHDR, limits);
        }
        idats.push(
            list.chunks
                .iter()
                .filter(|c| c.kind == IDAT)
                .map(|c| c.data(&encoded).to_vec())
                .collect(),
        );
    }
    Ok(Prepared {
        ihdr: ihdr.ok_or_else(|| Error::Apng("no frame".into()))?,
        header_chunks: Vec::new(),
        idats,
    })
}

/// The frame delay for `fps` as a fraction that fits APNG's u16 fields.
pub fn delay_for_fps(fps: f64) -> Result<(u16, u16)> {
    if !fps.is_finite() || fps <= 0.0 {
        return Err(Error::Apng(format!("fps must be positive, got {fps}")));
    }
    for num in [1u32, 10, 100, 1000] {
        let den = fps * f64::from(num);
        if (den - den.round()).abs() < 1e-6 && den.round() >= 1.0 && den.round() <= 65535.0 {
            return Ok((num as u16, den.round() as u16));
        }
    }
    let den = (fps * 100.0).round().clamp(1.0, 65535.0);
    Ok((100, den as u16))
}

fn frame_row(index: u64, record: Option<&Record>, pixels: Option<String>) -> Frame {
    let mut frame = Frame {
        index,
        pixels,
        ..Frame::default()
    };
    if let Some(r) = record {
        frame.prompt = r.positive().map(str::to_string);
        frame.seed = r.params.as_ref().and_then(|p| p.seed.clone());
        frame.parents = r.parents.clone();
        // The number the frame had in its sequence: with missing frames it differs from its APNG index.
        frame.frame = r.sequence.as_ref().and_then(|s| s.frame);
        frame.time = r.sequence.as_ref().and_then(|s| s.time);
    }
    frame
}

fn record_of(frame: &ApngFrame, bytes: &[u8], limits: &Limits) -> Option<Record> {
    if let Some(r) = &frame.record {
        return Some(r.clone());
    }
    let embedded = stemma_container::ops::scan_source(&bytes, limits)
        .ok()
        .and_then(|m| m.record_json)
        .and_then(|json| stemma_model::parse_record(&json).ok());
    embedded.or_else(|| recognise_filename(&frame.path).map(|m| m.to_record()))
}

/// Assemble `frames` into an APNG at `out`. `base` is the sequence record to write (generator, settings, run,
/// sequence); the per-frame table is added to it. Every frame is read within `limits` (a frame file larger than
/// `max_edit_file` is refused before it is read; chunk walks and pixel decoding use the same limits).
pub fn export_apng_with(
    frames: &[ApngFrame],
    fps: f64,
    base: Option<Record>,
    out: &Path,
    limits: &Limits,
) -> Result<ApngExport> {
    if frames.is_empty() {
        return Err(Error::Apng("no frames".into()));
    }
    let delay = delay_for_fps(fps)?;
    let mut sources = Vec::with_capacity(frames.len());
    for f in frames {
        let size = std::fs::metadata(&f.path).map_err(io_err(&f.path))?.len();
        if size > limits.max_edit_file {
            return Err(Error::Container {
                path: f.path.clone(),
                source: stemma_container::Error::Limit {
                    limit: "max_edit_file",
                    max: limits.max_edit_file,
                    found: size,
                    context: "APNG frame read into memory".into(),
                },
            });
        }
        let bytes = std::fs::read(&f.path).map_err(io_err(&f.path))?;
        sources.push(Source {
            path: f.path.clone(),
            bytes,
        });
    }
    let (prepared, copied) = match try_copy(&sources, limits) {
        Some(p) => (p, true),
        None => (reencode(&sources, limits)?, false),
    };
    let ihdr = &prepared.ihdr;
    if ihdr.len() < 8 {
        return Err(Error::Apng("IHDR too short".into()));
    }
    let width = u32::from_be_bytes([ihdr[0], ihdr[1], ihdr[2], ihdr[3]]);
    let height = u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]]);
    if !copied {
        for s in &sources {
            let (w, h) = image::ImageReader::new(std::io::Cursor::new(&s.bytes))
                .with_guessed_format()
                .ok()
                .and_then(|r| r.into_dimensions().ok())
                .unwrap_or((0, 0));
            if (w, h) != (width, height) {
                return Err(Error::Apng(format!(
                    "{} is {w}x{h}, the first frame is {width}x{height}: frames must have one size",
                    s.path.display()
                )));
            }
        }
    }

    // The record with the per-frame table.
    let mut record = base.unwrap_or_else(|| {
        let mut r = Record::new();
        r.generator = Some(Generator {
            name: "stemma".into(),
            ..Generator::default()
        });
        r
    });
    let mut table = Vec::with_capacity(frames.len());
    let mut first_record = None;
    for (i, (f, s)) in frames.iter().zip(&sources).enumerate() {
        let rec = record_of(f, &s.bytes, limits);
        let pixels = stemma_container::pixels::pixel_id(&s.bytes, limits)
            .ok()
            .map(|id| id.to_string());
        table.push(frame_row(i as u64, rec.as_ref(), pixels));
        if i == 0 {
            first_record = rec;
        }
    }
    if record.prompt.is_none() {
        if let Some(first) = &first_record {
            record.prompt = first.prompt.clone();
            if record
                .generator
                .as_ref()
                .is_some_and(|g| g.name == "stemma")
            {
                record.generator = first.generator.clone().or(record.generator);
            }
        }
    }
    let seq = record.sequence.get_or_insert_with(Sequence::default);
    if seq.id.is_empty() {
        seq.id = first_record
            .as_ref()
            .and_then(|r| r.sequence.as_ref().map(|s| s.id.clone()))
            .unwrap_or_else(|| "apng".into());
    }
    seq.fps = Some(fps);
    record.frames = table;
    let json = stemma_model::record_to_json(&record)?;

    // Assemble (the chunk writer is the container layer's).
    let png = stemma_container::apng::assemble(&stemma_container::apng::ApngParts {
        ihdr,
        header_chunks: &prepared.header_chunks,
        frames: &prepared.idats,
        delay,
        record_json: Some(&json),
    })
    .map_err(|source| Error::Container {
        path: out.to_path_buf(),
        source,
    })?;
    write_atomic(out, &png).map_err(|source| Error::Container {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(ApngExport {
        out: out.to_path_buf(),
        frames: frames.len(),
        copied,
        width,
        height,
        delay,
        record,
    })
}
