//! `stemma stamp video.mp4 --frames-from FOLDER`: the per-frame table of a video (specification §3.8) from the
//! lossless frames it was encoded from — each frame's pixel id and its number in the sequence — so that the video
//! links back to its frames.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use stemma_container::source::FileSource;
use stemma_container::{ops, pixels, video_info, Limits};
use stemma_model::{Frame, Record};

/// The trailing number of a file stem (`frame_00012` → 12).
fn trailing_number(path: &Path) -> Option<u64> {
    let stem = path.file_stem()?.to_str()?;
    let digits: String = stem
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// The frame files of a folder (lossless images with a pixel id), in frame-number order, then name order.
fn frame_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("{}: frames folder not read", folder.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "gif" | "webp"))
        })
        .collect();
    files.sort_by(|a, b| (trailing_number(a), a).cmp(&(trailing_number(b), b)));
    Ok(files)
}

/// Replace the record's per-frame table with one row per frame file; the count must match the video's.
pub fn apply(record: &mut Record, video: &Path, folder: &Path, limits: &Limits) -> Result<()> {
    let files = frame_files(folder)?;
    if files.is_empty() {
        bail!("{}: no PNG, GIF or WebP frames", folder.display());
    }
    let source = FileSource::new(File::open(video).with_context(|| video.display().to_string())?)?;
    let info = video_info(&source, limits).with_context(|| video.display().to_string())?;
    if let Some(n) = info.frames.filter(|&n| n != files.len() as u64) {
        bail!(
            "{}: {n} frames, but {} has {} frame files",
            video.display(),
            folder.display(),
            files.len()
        );
    }
    record.frames.clear();
    for (index, path) in files.iter().enumerate() {
        let name = || path.display().to_string();
        let bytes = std::fs::read(path).with_context(name)?;
        let format = ops::detect(&bytes.as_slice()).with_context(name)?;
        if !ops::has_pixel_id(format, &bytes) {
            bail!("{}: not a lossless frame (no pixel id)", path.display());
        }
        let id = pixels::pixel_id(&bytes, limits).with_context(name)?;
        record.frames.push(Frame {
            index: index as u64,
            pixels: Some(id.to_string()),
            frame: trailing_number(path),
            ..Frame::default()
        });
    }
    Ok(())
}
