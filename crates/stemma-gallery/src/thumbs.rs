//! Thumbnails: made once per content id (decode, shrink to fit [`THUMB_SIZE`]), kept under
//! `.stemma/thumbs/<content id>.png`, written atomically so a half-made file is never served.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// The longest side of a thumbnail, in pixels.
pub const THUMB_SIZE: u32 = 256;
/// The biggest image a thumbnail is made from (decoded bytes): a bomb is refused, not decoded.
pub const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;

/// The cache file of a content id (`sha256:<hex>`); `None` for an id that is not plain hex after its algorithm.
pub fn cache_path(dir: &Path, content_id: &str) -> Option<PathBuf> {
    let hex = content_id.rsplit(':').next()?;
    (!hex.is_empty() && hex.len() <= 128 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| dir.join(format!("{hex}.png")))
}

/// The thumbnail of `source` as PNG bytes, from the cache or made now (and cached).
pub fn thumbnail(source: &Path, cached: &Path) -> Result<Vec<u8>> {
    if let Ok(bytes) = std::fs::read(cached) {
        return Ok(bytes);
    }
    let bytes = make(source)?;
    store(cached, &bytes)?;
    Ok(bytes)
}

fn make(source: &Path) -> Result<Vec<u8>> {
    let fail = |reason: String| Error::Thumbnail {
        path: source.display().to_string(),
        reason,
    };
    let mut reader = image::ImageReader::open(source)
        .map_err(|e| fail(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| fail(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| fail(e.to_string()))?;
    let small = img.thumbnail(THUMB_SIZE, THUMB_SIZE);
    let mut out = std::io::Cursor::new(Vec::new());
    small
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| fail(e.to_string()))?;
    Ok(out.into_inner())
}

/// Write a cache file through a temporary file in the same folder and a rename.
fn store(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        source: e,
    };
    let dir = path
        .parent()
        .ok_or_else(|| Error::NotFound(path.display().to_string()))?;
    std::fs::create_dir_all(dir).map_err(io)?;
    // Two requests for one thumbnail may race: each writes its own temporary file, the last rename wins, and
    // both files hold the same bytes.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}
