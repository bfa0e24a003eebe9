//! Writing the stemma record into MP4/MOV without losing a byte.
//!
//! The record lives in XMP (`stemma:record`, with the mirrors of specification §7). stemma merges into the file's
//! XMP where it is (the top-level XMP `uuid` box, else `moov/udta/XMP_`); a file without XMP gets a new XMP `uuid`
//! box appended at the end of the file (before a final `mfra`), which moves no byte of the file. When a box that
//! lies before media data changes size, every entry of every `stco`/`co64` chunk offset table that points after it
//! is shifted, and the sizes of the boxes around the change are updated; fragmented movies (`moof`, `mvex`,
//! `sidx`) are refused in that case. Every rewrite is verified: the media data (`mdat` payloads) and the first
//! bytes of every chunk must be unchanged at their new offsets.

use std::ops::Range;

use crate::bmff::{read_exact, BoxRef, C2PA_UUID};
use crate::detect::Format;
use crate::error::{Error, Result};
use crate::handler::{Edit, RecordChange, StripProfile};
use crate::limits::Limits;
use crate::mp4::{children, is_uuid, malformed, parse_movie, Movie, XMP_UUID};
use crate::source::Source;
use crate::xmp;

/// One `stco` or `co64` table: where its entries start, their width and their number.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OffsetTable {
    pub entries: u64,
    pub wide: bool,
    pub count: u64,
}

/// Every chunk offset table of every track (`moov/trak/mdia/minf/stbl/stco|co64`).
pub(crate) fn chunk_offset_tables(
    source: &dyn Source,
    movie: &Movie,
    limits: &Limits,
) -> Result<Vec<OffsetTable>> {
    let mut out = Vec::new();
    let path: [&[u8; 4]; 3] = [b"mdia", b"minf", b"stbl"];
    for trak in movie.moov_children.iter().filter(|b| &b.kind == b"trak") {
        let mut level = vec![*trak];
        for (depth, name) in path.iter().enumerate() {
            let mut next = Vec::new();
            for b in &level {
                next.extend(
                    children(source, b, 0, depth as u64 + 2, limits)?
                        .into_iter()
                        .filter(|c| &c.kind == *name),
                );
            }
            level = next;
        }
        for stbl in &level {
            for t in children(source, stbl, 0, 5, limits)? {
                let wide = match &t.kind {
                    b"stco" => false,
                    b"co64" => true,
                    _ => continue,
                };
                let h = read_exact(source, t.payload, 8)?;
                let count = u64::from(u32::from_be_bytes([h[4], h[5], h[6], h[7]]));
                let width = if wide { 8 } else { 4 };
                if t.payload + 8 + count * width > t.end {
                    return Err(malformed("chunk offset table longer than its box", t.start));
                }
                out.push(OffsetTable {
                    entries: t.payload + 8,
                    wide,
                    count,
                });
            }
        }
    }
    Ok(out)
}

/// The entries of a chunk offset table.
pub(crate) fn table_offsets(file: &[u8], t: &OffsetTable) -> Result<Vec<u64>> {
    let width = if t.wide { 8 } else { 4 };
    (0..t.count)
        .map(|i| {
            let at = usize::try_from(t.entries + i * width).unwrap_or(usize::MAX);
            let b = file
                .get(at..at + width as usize)
                .ok_or_else(|| malformed("chunk offset table truncated", at as u64))?;
            Ok(if t.wide {
                u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            } else {
                u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            })
        })
        .collect()
}

fn unsupported(operation: &'static str, format: Format) -> Error {
    Error::Unsupported {
        operation,
        format: format.name(),
    }
}

fn idx(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Replace `at` of `file` with `bytes`. `ancestors` are the starts of the boxes that contain `at` (their sizes
/// change by the difference). Chunk offsets after the change are shifted; a shift that a fragmented movie would
/// need is refused.
fn splice(
    file: Vec<u8>,
    at: Range<u64>,
    bytes: &[u8],
    ancestors: &[u64],
    format: Format,
    limits: &Limits,
) -> Result<Vec<u8>> {
    let delta = i128::from(bytes.len() as u64) - i128::from(at.end - at.start);
    let source: &dyn Source = &file.as_slice();
    let movie = parse_movie(source, limits)?;
    let media_after = movie
        .top
        .iter()
        .any(|b| b.start >= at.end && matches!(&b.kind, b"mdat" | b"moof" | b"sidx" | b"meta"));
    let tables = if media_after && delta != 0 {
        let fragmented = movie
            .top
            .iter()
            .any(|b| matches!(&b.kind, b"moof" | b"sidx" | b"meta"))
            || movie.moov_children.iter().any(|b| &b.kind == b"mvex");
        if fragmented {
            return Err(unsupported(
                "moving media data of a fragmented movie (a sidecar keeps the record instead)",
                format,
            ));
        }
        let tables = chunk_offset_tables(source, &movie, limits)?;
        let values: Vec<Vec<u64>> = tables
            .iter()
            .map(|t| table_offsets(&file, t))
            .collect::<Result<_>>()?;
        tables.into_iter().zip(values).collect()
    } else {
        Vec::new()
    };
    let shift = |v: u64| -> Result<u64> {
        u64::try_from(i128::from(v) + delta).map_err(|_| malformed("offset below zero", v))
    };
    let mut out = Vec::with_capacity(file.len() + bytes.len());
    out.extend_from_slice(&file[..idx(at.start)]);
    out.extend_from_slice(bytes);
    out.extend_from_slice(&file[idx(at.end)..]);
    for &start in ancestors {
        let s = idx(start);
        let size32 = u32::from_be_bytes([out[s], out[s + 1], out[s + 2], out[s + 3]]);
        match size32 {
            0 => {}
            1 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&out[s + 8..s + 16]);
                let new = shift(u64::from_be_bytes(b))?;
                out[s + 8..s + 16].copy_from_slice(&new.to_be_bytes());
            }
            n => {
                let new = u32::try_from(shift(u64::from(n))?)
                    .map_err(|_| unsupported("growing a box past 4 GiB", format))?;
                out[s..s + 4].copy_from_slice(&new.to_be_bytes());
            }
        }
    }
    for (t, values) in tables {
        let entries = if t.entries >= at.end {
            shift(t.entries)?
        } else if t.entries >= at.start {
            return Err(malformed(
                "chunk offset table inside the replaced box",
                t.entries,
            ));
        } else {
            t.entries
        };
        let width = if t.wide { 8 } else { 4 };
        for (i, v) in values.into_iter().enumerate() {
            let new = if v >= at.end {
                shift(v)?
            } else if v >= at.start {
                return Err(malformed("a chunk offset points into the replaced box", v));
            } else {
                v
            };
            let p = idx(entries + i as u64 * width);
            if t.wide {
                out[p..p + 8].copy_from_slice(&new.to_be_bytes());
            } else {
                let n = u32::try_from(new).map_err(|_| {
                    unsupported("moving chunks past 4 GiB in a 32-bit 'stco' table", format)
                })?;
                out[p..p + 4].copy_from_slice(&n.to_be_bytes());
            }
        }
    }
    Ok(out)
}

/// A new top-level XMP `uuid` box.
fn xmp_box(packet: &[u8]) -> Vec<u8> {
    let len = 8 + 16 + packet.len() as u64;
    let mut b = Vec::with_capacity(len as usize + 8);
    match u32::try_from(len) {
        Ok(n) => {
            b.extend_from_slice(&n.to_be_bytes());
            b.extend_from_slice(b"uuid");
        }
        Err(_) => {
            b.extend_from_slice(&1u32.to_be_bytes());
            b.extend_from_slice(b"uuid");
            b.extend_from_slice(&(len + 8).to_be_bytes());
        }
    }
    b.extend_from_slice(&XMP_UUID);
    b.extend_from_slice(packet);
    b
}

/// Add a new XMP box at the end of the file (before a final `mfra`, which readers find from the end).
fn append_xmp(file: Vec<u8>, packet: &str, format: Format, limits: &Limits) -> Result<Vec<u8>> {
    let source: &dyn Source = &file.as_slice();
    let movie = parse_movie(source, limits)?;
    let Some(last) = movie.top.last() else {
        return Err(malformed("no boxes", 0));
    };
    if read_exact(source, last.start, 4)? == [0, 0, 0, 0] {
        return Err(unsupported(
            "adding a box after a last box of size 0 (it runs to the end of the file)",
            format,
        ));
    }
    let at = if &last.kind == b"mfra" {
        last.start
    } else {
        file.len() as u64
    };
    splice(
        file,
        at..at,
        &xmp_box(packet.as_bytes()),
        &[],
        format,
        limits,
    )
}

/// Where the XMP of a movie is.
struct XmpPlace {
    whole: Range<u64>,
    data: Range<u64>,
    /// Starts of the boxes around the XMP box.
    ancestors: Vec<u64>,
}

fn xmp_place(source: &dyn Source, movie: &Movie) -> Option<XmpPlace> {
    if let Some(b) = movie.top.iter().find(|b| is_uuid(source, b, &XMP_UUID)) {
        return Some(XmpPlace {
            whole: b.start..b.end,
            data: b.payload + 16..b.end,
            ancestors: Vec::new(),
        });
    }
    let (moov, udta) = (movie.moov?, movie.udta?);
    let b = movie.udta_children.iter().find(|b| &b.kind == b"XMP_")?;
    Some(XmpPlace {
        whole: b.start..b.end,
        data: b.payload..b.end,
        ancestors: vec![moov.start, udta.start],
    })
}

/// The media must not have changed: same `mdat` payloads, and every chunk starts with the same bytes at its new
/// offset.
fn verify_media(before: &[u8], after: &[u8], limits: &Limits) -> Result<()> {
    let fail = |why: &str| malformed(format!("rewrite check failed: {why}; nothing written"), 0);
    let (a, b): (&dyn Source, &dyn Source) = (&before, &after);
    let (ma, mb) = (parse_movie(a, limits)?, parse_movie(b, limits)?);
    let mdats = |m: &Movie| -> Vec<BoxRef> {
        m.top
            .iter()
            .filter(|x| &x.kind == b"mdat")
            .copied()
            .collect()
    };
    let (da, db) = (mdats(&ma), mdats(&mb));
    if da.len() != db.len()
        || da
            .iter()
            .zip(&db)
            .any(|(x, y)| before[idx(x.payload)..idx(x.end)] != after[idx(y.payload)..idx(y.end)])
    {
        return Err(fail("media data changed"));
    }
    let offsets = |file: &[u8], m: &Movie, s: &dyn Source| -> Result<Vec<u64>> {
        let mut all = Vec::new();
        for t in chunk_offset_tables(s, m, limits)? {
            all.extend(table_offsets(file, &t)?);
        }
        Ok(all)
    };
    let (oa, ob) = (offsets(before, &ma, a)?, offsets(after, &mb, b)?);
    if oa.len() != ob.len() {
        return Err(fail("chunk tables changed"));
    }
    for (x, y) in oa.iter().zip(&ob) {
        let take = |f: &[u8], o: u64| {
            f.get(idx(o)..idx(o).saturating_add(32).min(f.len()))
                .map(<[u8]>::to_vec)
        };
        if take(before, *x) != take(after, *y) {
            return Err(fail("a chunk offset no longer points at its chunk"));
        }
    }
    Ok(())
}

/// Apply an edit to an MP4/MOV file.
pub(crate) fn apply_edit(
    file: &[u8],
    edit: &Edit,
    mirrors: &crate::mirror::Mirrors,
    format: Format,
    limits: &Limits,
) -> Result<Vec<u8>> {
    if file.len() as u64 > limits.max_edit_file {
        return Err(Error::Limit {
            limit: "max_edit_file",
            max: limits.max_edit_file,
            found: file.len() as u64,
            context: "file to rewrite".into(),
        });
    }
    let source: &dyn Source = &file;
    let movie = parse_movie(source, limits)?;
    if movie.moov.is_none() {
        return Err(malformed("no moov box; not a movie stemma can write", 0));
    }
    let has_c2pa = movie.top.iter().any(|b| is_uuid(source, b, &C2PA_UUID));
    if edit.breaks_c2pa(has_c2pa) {
        return Err(Error::C2paProtected("MP4 C2PA uuid box".into()));
    }
    let strip_all = matches!(edit.strip, Some(StripProfile::All));
    let touch_stemma = !matches!(edit.record, RecordChange::Keep) || edit.strip.is_some();
    let place = xmp_place(source, &movie);
    let existing = place
        .as_ref()
        .map(|p| xmp::packet_text(&file[idx(p.data.start)..idx(p.data.end)]))
        .transpose()?;
    let base = xmp::after_removal(
        existing.as_deref(),
        touch_stemma && !strip_all,
        !matches!(edit.record, RecordChange::Keep),
        limits,
    )?;
    let new_packet = match &edit.record {
        RecordChange::Set(json) => {
            let from = if strip_all { None } else { existing.as_deref() };
            Some(
                xmp::plan_record_packet(from, json, mirrors.for_xmp(edit), &[], None, limits)?
                    .standard,
            )
        }
        _ => None,
    };
    let mut out = file.to_vec();
    if strip_all {
        // Every metadata box, the last first so that the positions of the earlier ones stay valid.
        let mut doomed: Vec<(Range<u64>, Vec<u64>)> = movie
            .top
            .iter()
            .filter(|b| is_uuid(source, b, &XMP_UUID) || is_uuid(source, b, &C2PA_UUID))
            .map(|b| (b.start..b.end, Vec::new()))
            .collect();
        if let Some(moov) = movie.moov {
            doomed.extend(
                movie
                    .moov_children
                    .iter()
                    .filter(|b| matches!(&b.kind, b"udta" | b"meta"))
                    .map(|b| (b.start..b.end, vec![moov.start])),
            );
        }
        doomed.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
        for (range, ancestors) in doomed {
            out = splice(out, range, &[], &ancestors, format, limits)?;
        }
        if let Some(p) = &new_packet {
            out = append_xmp(out, p, format, limits)?;
        }
    } else {
        match (&new_packet, &place) {
            (Some(p), Some(place)) => {
                let mut anc = place.ancestors.clone();
                anc.push(place.whole.start);
                out = splice(out, place.data.clone(), p.as_bytes(), &anc, format, limits)?;
            }
            (Some(p), None) => out = append_xmp(out, p, format, limits)?,
            (None, Some(place)) => match &base {
                Some(b) if Some(b) == existing.as_ref() => {}
                Some(b) => {
                    let mut anc = place.ancestors.clone();
                    anc.push(place.whole.start);
                    out = splice(out, place.data.clone(), b.as_bytes(), &anc, format, limits)?;
                }
                None => {
                    out = splice(
                        out,
                        place.whole.clone(),
                        &[],
                        &place.ancestors,
                        format,
                        limits,
                    )?
                }
            },
            (None, None) => {}
        }
    }
    if out != file {
        verify_media(file, &out, limits)?;
    }
    Ok(out)
}
