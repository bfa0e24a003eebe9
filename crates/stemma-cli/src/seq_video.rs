//! `stemma seq video.mp4`: a video as a sequence — frame count, frame rate, duration, size and codec from the
//! container's headers (`stemma_container::video_info`), never decoding a frame.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;
use stemma_container::source::FileSource;
use stemma_container::{video_info, Limits};

use crate::exit;

/// Print the sequence facts of a video file.
pub fn run(path: &Path, as_json: bool, limits: &Limits) -> Result<u8> {
    let name = || path.display().to_string();
    let source = FileSource::new(File::open(path).with_context(name)?).with_context(name)?;
    let info = video_info(&source, limits).with_context(name)?;
    let mut out = io::stdout().lock();
    if as_json {
        serde_json::to_writer(&mut out, &json!({"file": path, "video": info}))?;
        writeln!(out)?;
        return Ok(exit::OK);
    }
    let mut parts = vec![info.container.name().to_string()];
    if let Some(f) = info.frames {
        parts.push(format!("{f} frames"));
    }
    if let Some(fps) = info.fps {
        parts.push(format!("{} fps", (fps * 1000.0).round() / 1000.0));
    }
    if let Some(d) = info.duration {
        parts.push(format!("{d:.3} s"));
    }
    if let (Some(w), Some(h)) = (info.width, info.height) {
        parts.push(format!("{w}x{h}"));
    }
    if let Some(c) = &info.codec {
        parts.push(c.clone());
    }
    writeln!(out, "{}: {}", path.display(), parts.join(", "))?;
    Ok(exit::OK)
}
