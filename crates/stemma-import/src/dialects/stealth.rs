//! Stealth pnginfo (generators.md §3.7): metadata hidden in the least-significant bits of the pixels, written by
//! the `sd-webui-stealth-pnginfo` extension, Forge, reForge, SwarmUI and (always) NovelAI.
//!
//! Layout: alpha mode = LSB of alpha, 1 bit per pixel; RGB mode = LSBs of R, G, B, 3 bits per pixel; pixels in
//! column-major order (`for x { for y { … } }`), bytes MSB first. A 15-byte signature (`stealth_pnginfo`,
//! `stealth_pngcomp`, `stealth_rgbinfo`, `stealth_rgbcomp`), a 32-bit big-endian payload length **in bits**, then
//! the payload (UTF-8, or gzip of UTF-8 for `*comp`). A1111-family payloads are infotext; NovelAI's is a JSON
//! object of its PNG text fields; SwarmUI's is its metadata JSON (`sui_image_params`).
//!
//! Pixels are decoded only when the caller passed the file bytes, no other importer recognised the file's
//! metadata (decoding is expensive and the chunks are the primary layer), and the first pixel rows hold a signature
//! ([`probe_stealth`], which callers without the file bytes use to decide whether to read them).

use std::io::Read;
use std::sync::Mutex;

use image::{DynamicImage, GenericImageView};
use serde_json::Value;
use stemma_container::source::Source;
use stemma_container::Format;
use stemma_model::RawEntry;

use super::a1111::infotext_record;
use super::helpers::{parse_json_lenient, raw_entries};
use super::infotext::looks_like_infotext;
use super::stealth_probe::{probe_stealth, StealthProbe};
use super::{novelai, swarmui};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result, IMPORTERS};

/// The stealth pnginfo importer.
pub struct Stealth;

const ID: &str = "stealth";
const SIGNATURE_LEN: usize = 15;
/// Largest payload read, in bytes.
const MAX_PAYLOAD: usize = 16 << 20;
/// Largest image decoded, in pixels.
const MAX_PIXELS: u64 = 64 << 20;

/// Signature → (alpha mode, compressed).
const SIGNATURES: &[(&[u8], bool, bool)] = &[
    (b"stealth_pnginfo", true, false),
    (b"stealth_pngcomp", true, true),
    (b"stealth_rgbinfo", false, false),
    (b"stealth_rgbcomp", false, true),
];

/// A hidden payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hidden {
    pub signature: String,
    pub alpha: bool,
    pub text: String,
}

/// Bits of the image in stealth order for one mode.
fn bits(img: &DynamicImage, alpha: bool) -> impl Iterator<Item = u8> + '_ {
    let (w, h) = img.dimensions();
    (0..w).flat_map(move |x| {
        (0..h).flat_map(move |y| {
            let p = img.get_pixel(x, y).0;
            let (a, b) = if alpha {
                ([p[3] & 1, 0, 0], 1)
            } else {
                ([p[0] & 1, p[1] & 1, p[2] & 1], 3)
            };
            a.into_iter().take(b)
        })
    })
}

fn read_bytes(it: &mut impl Iterator<Item = u8>, n: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(n.min(MAX_PAYLOAD));
    for _ in 0..n {
        let mut byte = 0u8;
        for _ in 0..8 {
            byte = (byte << 1) | it.next()?;
        }
        out.push(byte);
    }
    Some(out)
}

/// Read a stealth payload from decoded pixels.
pub(crate) fn read_hidden(img: &DynamicImage) -> Option<Hidden> {
    let modes: &[bool] = if img.color().has_alpha() {
        &[true, false]
    } else {
        &[false]
    };
    for &alpha in modes {
        let mut it = bits(img, alpha);
        let Some(sig) = read_bytes(&mut it, SIGNATURE_LEN) else {
            continue;
        };
        let Some(&(name, _, compressed)) = SIGNATURES
            .iter()
            .find(|(s, a, _)| *s == sig.as_slice() && *a == alpha)
        else {
            continue;
        };
        let len_bytes = read_bytes(&mut it, 4)?;
        let bit_len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        let byte_len = usize::try_from(bit_len / 8).ok()?;
        if byte_len > MAX_PAYLOAD {
            return None;
        }
        let payload = read_bytes(&mut it, byte_len)?;
        let data = if compressed {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(payload.as_slice())
                .take(MAX_PAYLOAD as u64)
                .read_to_end(&mut out)
                .ok()?;
            out
        } else {
            payload
        };
        return Some(Hidden {
            signature: String::from_utf8_lossy(name).into_owned(),
            alpha,
            text: String::from_utf8_lossy(&data).into_owned(),
        });
    }
    None
}

/// Decode the file's pixels and read a stealth payload, for lossless formats within the size limit.
fn hidden_of(evidence: &Evidence) -> Option<Hidden> {
    let file = evidence.file?;
    if !matches!(evidence.metadata.format, Format::Png | Format::Webp) {
        return None;
    }
    let (w, h) = (evidence.metadata.width, evidence.metadata.height);
    if let (Some(w), Some(h)) = (w, h) {
        if u64::from(w) * u64::from(h) > MAX_PIXELS {
            return None;
        }
    }
    let key = fingerprint(file);
    if let Ok(cache) = LAST.lock() {
        if let Some((k, hidden)) = cache.as_ref() {
            if *k == key {
                return hidden.clone();
            }
        }
    }
    let hidden = image::load_from_memory(file)
        .ok()
        .and_then(|img| read_hidden(&img));
    if let Ok(mut cache) = LAST.lock() {
        *cache = Some((key, hidden.clone()));
    }
    hidden
}

/// The last file decoded and what it held: `detect` and `import` run one after the other on the same bytes, and
/// decoding the pixels is the expensive part.
static LAST: Mutex<Option<Cached>> = Mutex::new(None);

/// A file fingerprint and the payload found in it.
type Cached = ((usize, u64), Option<Hidden>);

/// Length and FNV-1a hash of the file bytes.
fn fingerprint(file: &[u8]) -> (usize, u64) {
    let hash = file.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (file.len(), hash)
}

fn others_detect(evidence: &Evidence) -> bool {
    IMPORTERS
        .iter()
        .filter(|i| i.id() != ID)
        .any(|i| i.detect(evidence) > Confidence::No)
}

/// Build a record from a hidden payload.
pub(crate) fn import_hidden(evidence: &Evidence, hidden: &Hidden) -> Result<Imported> {
    let carrier = RawEntry {
        origin: format!("stealth:{}", if hidden.alpha { "alpha" } else { "rgb" }),
        key: Some(hidden.signature.clone()),
        text: Some(hidden.text.clone()),
        used: true,
        ..RawEntry::default()
    };
    let mut raw = raw_entries(evidence, |_| false, |_| false);
    raw.push(carrier);
    match parse_json_lenient(&hidden.text) {
        Some(doc) if swarmui::is_swarm_doc(&doc) => {
            let mut imported = swarmui::record_from_doc(&doc, ID);
            imported.record.raw = raw;
            return Ok(imported);
        }
        Some(Value::Object(fields))
            if novelai::is_novelai(&fields) || fields.contains_key("Comment") =>
        {
            return novelai::import_fields(&fields, raw, ID);
        }
        _ => {}
    }
    if looks_like_infotext(&hidden.text) {
        let mut imported = infotext_record(evidence, &hidden.text, ID);
        imported.record.raw = raw;
        return Ok(imported);
    }
    Err(Error::Parse {
        dialect: ID,
        reason: format!(
            "{} payload is neither infotext nor NovelAI JSON",
            hidden.signature
        ),
    })
}

impl Importer for Stealth {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "Stealth pnginfo in pixel LSBs (A1111 extension, Forge, reForge, SwarmUI, NovelAI), read when no chunk metadata is found"
    }
    fn detection_rule(&self) -> &'static str {
        "alpha/RGB LSB signature `stealth_png{info,comp}` / `stealth_rgb{info,comp}` in a lossless PNG/WebP"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        let Some(file) = evidence.file else {
            return Confidence::No;
        };
        if others_detect(evidence) {
            return Confidence::No;
        }
        // The first pixel rows rule out almost every file; only a file whose first pixels are a signature (or a
        // lossless WebP, which cannot be probed) is decoded whole.
        let source: &dyn Source = &file;
        match probe_stealth(source, &evidence.limits) {
            Ok(StealthProbe::Signature | StealthProbe::NeedsFullDecode) => {
                Confidence::when(hidden_of(evidence).is_some(), Confidence::Strong)
            }
            Ok(StealthProbe::NoSignature) | Err(_) => Confidence::No,
        }
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let hidden = hidden_of(evidence).ok_or(Error::Parse {
            dialect: ID,
            reason: "no stealth signature in the pixels".into(),
        })?;
        import_hidden(evidence, &hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use stemma_container::Metadata;

    /// Embed `payload` under `signature` into a fresh image, the way Forge / NovelAI write it.
    fn embed(signature: &[u8], payload: &[u8], alpha: bool, w: u32, h: u32) -> DynamicImage {
        let compressed = signature.ends_with(b"comp");
        let data = if compressed {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(payload).unwrap();
            enc.finish().unwrap()
        } else {
            payload.to_vec()
        };
        let mut bytes = signature.to_vec();
        bytes.extend_from_slice(&((data.len() * 8) as u32).to_be_bytes());
        bytes.extend_from_slice(&data);
        let bits: Vec<u8> = bytes
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
            .collect();
        let mut img = image::RgbaImage::from_pixel(w, h, image::Rgba([200, 100, 50, 255]));
        let mut k = 0;
        for x in 0..w {
            for y in 0..h {
                let p = img.get_pixel_mut(x, y);
                let channels: &[usize] = if alpha { &[3] } else { &[0, 1, 2] };
                for &c in channels {
                    if let Some(bit) = bits.get(k) {
                        p.0[c] = (p.0[c] & 0xfe) | bit;
                    }
                    k += 1;
                }
            }
        }
        if alpha {
            DynamicImage::ImageRgba8(img)
        } else {
            DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(img).to_rgb8())
        }
    }

    fn png_bytes(img: &DynamicImage) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn every_signature_round_trips() {
        let text = "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, Seed: 42, Version: f2.0.1v1.10.1";
        for (sig, alpha, _) in SIGNATURES {
            let img = embed(sig, text.as_bytes(), *alpha, 40, 30);
            let hidden = read_hidden(&img).unwrap();
            assert_eq!(hidden.text, text, "{}", String::from_utf8_lossy(sig));
            assert_eq!(hidden.alpha, *alpha);
        }
    }

    #[test]
    fn a1111_payload_in_a_png_without_chunks() {
        let text = "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, Seed: 42, Version: f2.0.1v1.10.1";
        let file = png_bytes(&embed(b"stealth_pngcomp", text.as_bytes(), true, 64, 48));
        let meta = Metadata {
            format: Format::Png,
            width: Some(64),
            height: Some(48),
            ..Metadata::default()
        };
        let ev = Evidence {
            metadata: &meta,
            file_name: None,
            file: Some(&file),
            ..Evidence::new(&meta)
        };
        assert_eq!(Stealth.detect(&ev), Confidence::Strong);
        let r = Stealth.import(&ev).unwrap().record;
        assert_eq!(r.generator.as_ref().unwrap().name, "forge");
        assert_eq!(r.prompt.as_ref().unwrap().negative.as_deref(), Some("dog"));
        assert_eq!(r.raw.last().unwrap().origin, "stealth:alpha");
        // Without the file bytes nothing is decoded.
        assert_eq!(Stealth.detect(&Evidence::new(&meta)), Confidence::No);
    }

    #[test]
    fn novelai_payload_and_plain_images() {
        let payload = serde_json::json!({
            "Software": "NovelAI",
            "Source": "NovelAI Diffusion V4.5 4BDE2A90",
            "Description": "1girl",
            "Comment": "{\"prompt\": \"1girl\", \"uc\": \"bad\", \"seed\": 9, \"steps\": 28}"
        })
        .to_string();
        let img = embed(b"stealth_pngcomp", payload.as_bytes(), true, 80, 60);
        let hidden = read_hidden(&img).unwrap();
        let meta = Metadata::default();
        let r = import_hidden(&Evidence::new(&meta), &hidden)
            .unwrap()
            .record;
        assert_eq!(r.generator.unwrap().name, "novelai");
        assert_eq!(r.params.unwrap().seed.as_deref(), Some("9"));
        let swarm = r#"{"sui_image_params": {"prompt": "owl", "seed": 3, "steps": 20}}"#;
        let hidden =
            read_hidden(&embed(b"stealth_rgbinfo", swarm.as_bytes(), false, 30, 30)).unwrap();
        let r = import_hidden(&Evidence::new(&meta), &hidden)
            .unwrap()
            .record;
        assert_eq!(r.generator.as_ref().unwrap().name, "swarmui");
        assert_eq!(r.positive(), Some("owl"));
        let plain = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            30,
            30,
            image::Rgba([1, 2, 3, 255]),
        ));
        assert_eq!(read_hidden(&plain), None);
    }
}
