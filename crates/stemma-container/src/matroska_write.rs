//! Writing the stemma record into Matroska/WebM without moving a cluster.
//!
//! The record goes into a `Tags` element of its own, appended as the last element of the Segment: one `Tag`
//! with empty `Targets` (the whole Segment) and one SimpleTag `STEMMA` holding the record JSON. A Tags element
//! nothing points to is ignored by ffmpeg, so a `Seek` entry for it (SeekID = Tags, 8-byte SeekPosition) is added
//! as the last child of the first SeekHead, taking its bytes from the `Void` element that follows the SeekHead
//! (the space muxers reserve for this). The Segment size is patched in place (same width). Nothing before the
//! Segment's end moves, so clusters, cues and every offset stay valid. Each step is reversible exactly: removing
//! the record removes the Tags element and the Seek entry and gives the Void its bytes back (zeros), so a
//! strip restores the original file. A SeekHead CRC-32 is recomputed when it was correct and kept otherwise.
//! Files without a SeekHead followed by a zero-filled Void large enough, or with data after the Segment, are
//! refused (a sidecar keeps the record instead).

use crate::error::{Error, Result};
use crate::handler::{Edit, RecordChange, StripProfile};
use crate::limits::Limits;
use crate::matroska::{
    children, element_data, malformed, parse_layout, tags_of, uint, El, Layout, CRC32, RECORD_TAG,
    SEEK, SEEK_HEAD, SEEK_ID, SEEK_POSITION, SIMPLE_TAG, TAG, TAGS, TAG_NAME, TAG_STRING, TARGETS,
    VOID,
};
use crate::source::Source;

fn unsupported(operation: &'static str) -> Error {
    Error::Unsupported {
        operation,
        format: "matroska",
    }
}

fn idx(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// An EBML size of exactly `width` bytes, when `n` fits (all-ones is reserved for "unknown").
fn size_of_width(n: u64, width: u8) -> Option<Vec<u8>> {
    let w = u32::from(width);
    if !(1..=8).contains(&w) || n >= (1u64 << (7 * w)) - 1 {
        return None;
    }
    let v = n | (1u64 << (7 * w));
    Some(v.to_be_bytes()[8 - w as usize..].to_vec())
}

/// The shortest EBML size field for `n`.
fn size_min(n: u64) -> Vec<u8> {
    (1..=8)
        .find_map(|w| size_of_width(n, w))
        .unwrap_or_else(|| size_of_width(n, 8).unwrap_or_default())
}

fn id_bytes(id: u32) -> Vec<u8> {
    let b = id.to_be_bytes();
    let skip = b.iter().position(|&x| x != 0).unwrap_or(3);
    b[skip..].to_vec()
}

fn element(id: u32, data: &[u8]) -> Vec<u8> {
    let mut out = id_bytes(id);
    out.extend(size_min(data.len() as u64));
    out.extend_from_slice(data);
    out
}

/// The Tags element stemma writes.
pub(crate) fn record_tags(json: &str) -> Vec<u8> {
    let mut simple = element(TAG_NAME, RECORD_TAG.as_bytes());
    simple.extend(element(TAG_STRING, json.as_bytes()));
    let mut tag = element(TARGETS, &[]);
    tag.extend(element(SIMPLE_TAG, &simple));
    element(TAGS, &element(TAG, &tag))
}

/// A Seek entry for a Tags element at Segment position `position`.
fn seek_entry(position: u64) -> Vec<u8> {
    let mut seek = element(SEEK_ID, &id_bytes(TAGS));
    seek.extend(element(SEEK_POSITION, &position.to_be_bytes()));
    element(SEEK, &seek)
}

/// stemma's own Tags element: the last element of the Segment, holding a global `STEMMA` SimpleTag.
fn our_tags(source: &dyn Source, layout: &Layout, limits: &Limits) -> Result<Option<El>> {
    let Some(last) = layout.level1.last().filter(|e| e.id == TAGS) else {
        return Ok(None);
    };
    let d = element_data(source, last, limits)?;
    let ours = tags_of(&d, last.data, limits)?
        .iter()
        .any(|(global, t)| *global && t.name == RECORD_TAG);
    Ok(ours.then_some(*last))
}

/// Rewrite the SeekHead (`sh`) and the Void after it with `data` as the SeekHead's new data; the two together
/// keep their length. The CRC-32 child, if any, is recomputed when it matched before.
fn rewrite_seek_head(out: &mut [u8], layout: &Layout, sh: &El, new_data: Vec<u8>) -> Result<()> {
    let void = layout
        .level1
        .iter()
        .find(|e| e.start == sh.end && e.id == VOID)
        .ok_or_else(|| {
            unsupported("adding a Seek entry without a Void after the SeekHead (use a sidecar)")
        })?;
    let old = &out[idx(sh.data)..idx(sh.end)];
    let mut data = new_data;
    let kids = children(old, sh.data)?;
    if let Some((CRC32, r)) = kids.first().cloned() {
        let stored = &old[r.clone()];
        let valid = stored.len() == 4 && crc32fast::hash(&old[r.end..]).to_le_bytes() == stored;
        if valid && data.len() >= r.end {
            let crc = crc32fast::hash(&data[r.end..]).to_le_bytes();
            data[r.start..r.end].copy_from_slice(&crc);
        }
    }
    let mut head = id_bytes(SEEK_HEAD);
    head.extend(
        size_of_width(data.len() as u64, sh.size_len)
            .ok_or_else(|| unsupported("growing a SeekHead past its size field (use a sidecar)"))?,
    );
    let total = (void.end - sh.start) as usize;
    let void_header = 1 + usize::from(void.size_len);
    let used = head.len() + data.len();
    let void_data = total.checked_sub(used + void_header).ok_or_else(|| {
        unsupported("adding a Seek entry: the Void after the SeekHead is too small (use a sidecar)")
    })?;
    let mut region = head;
    region.extend(data);
    region.push(VOID as u8);
    region.extend(
        size_of_width(void_data as u64, void.size_len)
            .ok_or_else(|| malformed("Void size field too narrow", void.start))?,
    );
    region.resize(total, 0);
    out[idx(sh.start)..idx(void.end)].copy_from_slice(&region);
    Ok(())
}

/// Patch the Segment's size by `delta` in place (same width); an unknown size stays unknown.
fn patch_segment_size(out: &mut [u8], layout: &Layout, delta: i128) -> Result<()> {
    let seg = &layout.segment;
    if seg.unknown_size {
        return Ok(());
    }
    let size = u64::try_from(i128::from(seg.end - seg.data) + delta)
        .map_err(|_| malformed("Segment size below zero", seg.start))?;
    let field = size_of_width(size, seg.size_len)
        .ok_or_else(|| unsupported("growing a Segment past its size field (use a sidecar)"))?;
    let at = idx(seg.start) + 4;
    out[at..at + field.len()].copy_from_slice(&field);
    Ok(())
}

/// Apply an edit to a Matroska/WebM file.
pub(crate) fn apply_edit(file: &[u8], edit: &Edit, limits: &Limits) -> Result<Vec<u8>> {
    if file.len() as u64 > limits.max_edit_file {
        return Err(Error::Limit {
            limit: "max_edit_file",
            max: limits.max_edit_file,
            found: file.len() as u64,
            context: "file to rewrite".into(),
        });
    }
    let source: &dyn Source = &file;
    let layout = parse_layout(source, limits)?;
    let strip_all = matches!(edit.strip, Some(StripProfile::All));
    let touch_stemma = !matches!(edit.record, RecordChange::Keep) || edit.strip.is_some();
    let ours = our_tags(source, &layout, limits)?;
    let mut out = file.to_vec();
    if strip_all {
        // Other tags become Void of the same length: nothing moves.
        for e in layout
            .level1
            .iter()
            .filter(|e| e.id == TAGS && Some(**e) != ours)
        {
            let n = e.end - e.start;
            let mut void = vec![VOID as u8];
            let width = (2..=8u8)
                .find(|&w| n > u64::from(w) && size_of_width(n - 1 - u64::from(w), w).is_some())
                .ok_or_else(|| malformed("Tags element too small to void", e.start))?;
            void.extend(size_of_width(n - 1 - u64::from(width), width).unwrap_or_default());
            void.resize(idx(n), 0);
            out[idx(e.start)..idx(e.end)].copy_from_slice(&void);
        }
    }
    let new_tags = match &edit.record {
        RecordChange::Set(json) => Some(record_tags(json)),
        _ => None,
    };
    if !touch_stemma || (ours.is_none() && new_tags.is_none()) {
        return Ok(out);
    }
    if layout.segment.end != file.len() as u64 {
        return Err(unsupported(
            "writing into a file with data after the Segment (use a sidecar)",
        ));
    }
    let sh = layout
        .level1
        .iter()
        .find(|e| e.id == SEEK_HEAD)
        .copied()
        .ok_or_else(|| {
            unsupported("writing tags into a file without a SeekHead (use a sidecar)")
        })?;
    let sh_data = out[idx(sh.data)..idx(sh.end)].to_vec();
    match (ours, new_tags) {
        (Some(o), Some(t)) => {
            let delta = t.len() as i128 - i128::from(o.end - o.start);
            patch_segment_size(&mut out, &layout, delta)?;
            out.truncate(idx(o.start));
            out.extend(t);
        }
        (Some(o), None) => {
            let position = o.start - layout.segment.data;
            let kids = children(&sh_data, sh.data)?;
            kids.last()
                .filter(|(id, r)| *id == SEEK && seek_points_at(&sh_data[r.clone()], position))
                .ok_or_else(|| {
                    malformed(
                        "stemma's Seek entry is not the last child of the SeekHead",
                        sh.start,
                    )
                })?;
            // Children are contiguous: the last one starts where the one before it ends.
            let start = kids.len().checked_sub(2).map_or(0, |i| kids[i].1.end);
            rewrite_seek_head(&mut out, &layout, &sh, sh_data[..start].to_vec())?;
            patch_segment_size(&mut out, &layout, -i128::from(o.end - o.start))?;
            out.truncate(idx(o.start));
        }
        (None, Some(t)) => {
            let position = layout.segment.end - layout.segment.data;
            let mut data = sh_data;
            data.extend(seek_entry(position));
            rewrite_seek_head(&mut out, &layout, &sh, data)?;
            patch_segment_size(&mut out, &layout, t.len() as i128)?;
            out.extend(t);
        }
        (None, None) => {}
    }
    // Check the rewrite: the same elements (clusters included) at the same offsets, then stemma's Tags.
    let check: &dyn Source = &out.as_slice();
    let after = parse_layout(check, limits)?;
    let kept = |l: &Layout| -> Vec<(u32, u64, u64)> {
        l.level1
            .iter()
            .filter(|e| !matches!(e.id, SEEK_HEAD | VOID | TAGS))
            .map(|e| (e.id, e.start, e.end))
            .collect()
    };
    if kept(&layout) != kept(&after) {
        return Err(malformed(
            "rewrite check failed: elements moved; nothing written",
            0,
        ));
    }
    Ok(out)
}

/// True when a Seek entry's data points at a Tags element at `position`.
fn seek_points_at(seek: &[u8], position: u64) -> bool {
    let Ok(kids) = children(seek, 0) else {
        return false;
    };
    let id = kids
        .iter()
        .find(|(i, _)| *i == SEEK_ID)
        .map(|(_, r)| &seek[r.clone()]);
    let pos = kids
        .iter()
        .find(|(i, _)| *i == SEEK_POSITION)
        .map(|(_, r)| uint(&seek[r.clone()]));
    id == Some(&id_bytes(TAGS)[..]) && pos == Some(position)
}
