//! Interoperability mirrors derived from a record: what other tools read (XMP `dc:description`, the IPTC 2025.1
//! AI properties, Digital Source Type, the A1111 `parameters` text, Windows text tags). The record stays the
//! source of truth; mirrors are written beside it and removed with it.

use stemma_model::{relation, Record};

use crate::exif::TextTag;
use crate::handler::{Edit, RecordChange};
use crate::limits::Limits;
use crate::source::Source;
use crate::xmp::{XmpDoc, XmpValue, STEMMA_NS};

const DC: &str = "http://purl.org/dc/elements/1.1/";
const IPTC_EXT: &str = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/";

/// The Digital Source Type vocabulary prefix.
pub const DIGITAL_SOURCE_TYPE: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/";

/// Relations that make the image a composite with generative AI (IPTC `compositeWithTrainedAlgorithmicMedia`).
const COMPOSITE_RELATIONS: &[&str] = &[relation::INPAINT, relation::OUTPAINT, relation::EDIT];

/// The record as an XMP property (`stemma:record`).
pub fn record_value(json: &str) -> XmpValue {
    XmpValue {
        prefix: "stemma",
        ns: STEMMA_NS,
        name: "record",
        value: json.to_string(),
        lang_alt: false,
    }
}

fn simple(prefix: &'static str, ns: &'static str, name: &'static str, value: String) -> XmpValue {
    XmpValue {
        prefix,
        ns,
        name,
        value,
        lang_alt: false,
    }
}

/// The prompt as IPTC AI Prompt Information and A1111 use it: positive, then `Negative prompt: ...`.
pub fn prompt_text(record: &Record) -> Option<String> {
    let prompt = record.prompt.as_ref()?;
    let positive = prompt.positive.clone().unwrap_or_default();
    match prompt.negative.as_deref() {
        Some(neg) if !neg.is_empty() => Some(format!("{positive}\nNegative prompt: {neg}")),
        _ if positive.is_empty() => None,
        _ => Some(positive),
    }
}

/// The XMP mirrors of a record: `dc:description` (x-default = positive prompt), `Iptc4xmpExt:AISystemUsed`
/// (generator, and model when known), `AISystemVersionUsed`, `AIPromptInformation` and
/// `Iptc4xmpExt:DigitalSourceType`, and `AIPromptWriterName` from `prompt.author` (or, for records written before
/// that field, `ext["iptc:AIPromptWriterName"]`).
pub fn xmp_mirrors(record: &Record) -> Vec<XmpValue> {
    let mut out = Vec::new();
    if let Some(p) = record.positive().filter(|p| !p.is_empty()) {
        out.push(XmpValue {
            prefix: "dc",
            ns: DC,
            name: "description",
            value: p.to_string(),
            lang_alt: true,
        });
    }
    let generator = record.generator.as_ref().map(|g| g.name.clone());
    let model = record
        .params
        .as_ref()
        .and_then(|p| p.model.as_ref())
        .and_then(|m| m.name.clone());
    let system = match (generator, model) {
        (Some(g), Some(m)) => Some(format!("{g} ({m})")),
        (Some(g), None) => Some(g),
        (None, Some(m)) => Some(m),
        (None, None) => None,
    };
    if let Some(s) = system.filter(|s| !s.is_empty()) {
        out.push(simple("Iptc4xmpExt", IPTC_EXT, "AISystemUsed", s));
    }
    if let Some(v) = record
        .generator
        .as_ref()
        .and_then(|g| g.version.clone())
        .filter(|v| !v.is_empty())
    {
        out.push(simple("Iptc4xmpExt", IPTC_EXT, "AISystemVersionUsed", v));
    }
    if let Some(p) = prompt_text(record) {
        out.push(simple("Iptc4xmpExt", IPTC_EXT, "AIPromptInformation", p));
    }
    let writer = record
        .prompt
        .as_ref()
        .and_then(|p| p.author.as_deref())
        .or_else(|| {
            record
                .ext
                .get("iptc:AIPromptWriterName")
                .and_then(|v| v.as_str())
        });
    if let Some(w) = writer.filter(|w| !w.is_empty()) {
        out.push(simple(
            "Iptc4xmpExt",
            IPTC_EXT,
            "AIPromptWriterName",
            w.to_string(),
        ));
    }
    out.push(simple(
        "Iptc4xmpExt",
        IPTC_EXT,
        "DigitalSourceType",
        format!("{DIGITAL_SOURCE_TYPE}{}", digital_source_term(record)),
    ));
    out
}

/// `compositeWithTrainedAlgorithmicMedia` when a parent relation is inpaint, outpaint or edit; else
/// `trainedAlgorithmicMedia`.
pub fn digital_source_term(record: &Record) -> &'static str {
    if record
        .parents
        .iter()
        .any(|p| COMPOSITE_RELATIONS.contains(&p.relation.as_str()))
    {
        "compositeWithTrainedAlgorithmicMedia"
    } else {
        "trainedAlgorithmicMedia"
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The A1111 `parameters` text of a record:
/// `prompt\nNegative prompt: neg\nSteps: 20, Sampler: x, CFG scale: 7, Seed: 1, Size: WxH, Model: name`.
pub fn a1111_parameters(record: &Record) -> Option<String> {
    let mut text = prompt_text(record).unwrap_or_default();
    let mut fields: Vec<String> = Vec::new();
    if let Some(p) = &record.params {
        if let Some(s) = p.steps {
            fields.push(format!("Steps: {s}"));
        }
        if let Some(s) = &p.sampler {
            fields.push(format!("Sampler: {s}"));
        }
        if let Some(s) = &p.scheduler {
            fields.push(format!("Schedule type: {s}"));
        }
        if let Some(c) = p.cfg_scale {
            fields.push(format!("CFG scale: {}", number(c)));
        }
        if let Some(s) = &p.seed {
            fields.push(format!("Seed: {s}"));
        }
        if let (Some(w), Some(h)) = (p.width, p.height) {
            fields.push(format!("Size: {w}x{h}"));
        }
        if let Some(h) = p.model.as_ref().and_then(|m| m.hash.as_ref()) {
            fields.push(format!("Model hash: {h}"));
        }
        if let Some(n) = p.model.as_ref().and_then(|m| m.name.as_ref()) {
            fields.push(format!("Model: {n}"));
        }
        if let Some(d) = p.denoise {
            fields.push(format!("Denoising strength: {}", number(d)));
        }
        if let Some(c) = p.clip_skip {
            fields.push(format!("Clip skip: {c}"));
        }
    }
    if text.is_empty() && fields.is_empty() {
        return None;
    }
    if !fields.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&fields.join(", "));
    }
    Some(text)
}

/// The EXIF text tags an edit writes: the A1111 text as UserComment, and for Windows the positive prompt as
/// ImageDescription and XPComment, and the generator as XPTitle.
pub fn exif_tags(record: &Record, a1111: bool, windows: bool) -> Vec<TextTag> {
    let mut tags = Vec::new();
    if windows {
        if let Some(p) = record.positive().filter(|p| !p.is_empty()) {
            tags.push(TextTag::ImageDescription(p.to_string()));
            tags.push(TextTag::XpComment(p.to_string()));
        }
        if let Some(g) = &record.generator {
            tags.push(TextTag::XpTitle(g.name.clone()));
        }
    }
    if a1111 {
        if let Some(t) = a1111_parameters(record) {
            tags.push(TextTag::UserComment(t));
        }
    }
    tags
}

/// Parse a record's JSON for deriving mirrors; `None` when it does not parse (then only the record is written).
pub fn parse_for_mirrors(json: &str) -> Option<Record> {
    stemma_model::parse_record(json).ok()
}

/// The mirrors of one edit, derived once from the record above the handlers: each handler gets these typed
/// values and writes the ones its container holds; none parses the record again. Only the mirrors the edit asked
/// for are filled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mirrors {
    /// The XMP properties (empty unless `Edit::xmp_mirrors`).
    pub xmp: Vec<XmpValue>,
    /// The A1111 `parameters` text (unless `Edit::a1111_mirror` is off or the record gives no text).
    pub a1111: Option<String>,
    /// The positive prompt as the Windows tags carry it (with `Edit::windows_text`).
    pub windows: Option<String>,
    /// The EXIF text tags for containers that carry EXIF (A1111 UserComment, Windows tags).
    pub exif: Vec<TextTag>,
}

impl Mirrors {
    /// The mirrors `edit` asks for, from the record it sets (none for other edits, or a record that does not
    /// parse: then only the record is written).
    pub fn of(edit: &Edit) -> Mirrors {
        match &edit.record {
            RecordChange::Set(json) => parse_for_mirrors(json)
                .map(|r| Mirrors::from_record(&r, edit))
                .unwrap_or_default(),
            _ => Mirrors::default(),
        }
    }

    /// The XMP properties to write with the record: none when the edit turned the XMP mirrors off.
    pub fn for_xmp(&self, edit: &Edit) -> &[XmpValue] {
        if edit.xmp_mirrors {
            &self.xmp
        } else {
            &[]
        }
    }

    /// The mirrors of `record` that `edit` asks for (for callers that hold the record: no JSON round trip).
    pub fn from_record(record: &Record, edit: &Edit) -> Mirrors {
        Mirrors {
            xmp: if edit.xmp_mirrors {
                xmp_mirrors(record)
            } else {
                Vec::new()
            },
            a1111: edit
                .a1111_mirror
                .then(|| a1111_parameters(record))
                .flatten(),
            windows: edit
                .windows_text
                .then(|| {
                    record
                        .positive()
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                })
                .flatten(),
            exif: exif_tags(record, edit.a1111_mirror, edit.windows_text),
        }
    }
}

/// The mirrors an edit asked for that the edited file does not carry with the record's values, one sentence each.
/// stemma never rewrites what it does not own (an A1111 `parameters` text or EXIF another program wrote, an XMP
/// property outside stemma's description), so such a mirror is left out and said so here: the file's own value
/// then disagrees with the record. Checked on the result, whatever the container, so nothing is missed silently.
pub fn unmirrored(file: &[u8], edit: &Edit, mirrors: &Mirrors, limits: &Limits) -> Vec<String> {
    if !matches!(edit.record, RecordChange::Set(_)) {
        return Vec::new();
    }
    let source: &dyn Source = &file;
    let Ok(meta) = crate::ops::scan_source(source, limits) else {
        return Vec::new();
    };
    let format = meta.format.name().to_uppercase();
    let texts = |keys: &[&str]| -> Vec<&str> {
        meta.entries
            .iter()
            .filter(|e| keys.contains(&e.key.as_str()) && e.origin != "xmp")
            .filter_map(|e| e.value.as_text())
            .collect()
    };
    let has_exif = meta
        .entries
        .iter()
        .any(|e| e.origin == "exif" || e.key == "exif");
    let mut notes = Vec::new();
    let mut expect = |what: &str, keys: &[&str], want: &str| {
        let found = texts(keys);
        if found.contains(&want) {
            return;
        }
        notes.push(if found.is_empty() && has_exif {
            format!("{what} not written: the file already has EXIF, which stemma does not rewrite")
        } else if found.is_empty() {
            format!("{what} not written: stemma writes it in no {format} file")
        } else {
            format!("{what} not written: the file already has its own, which stemma does not rewrite; it now disagrees with the record")
        });
    };
    if let Some(text) = &mirrors.a1111 {
        expect(
            "A1111 parameters text",
            &["parameters", "UserComment"],
            text,
        );
    }
    if let Some(p) = &mirrors.windows {
        expect("Windows ImageDescription/XPComment", &["XPComment"], p);
    }
    if !mirrors.xmp.is_empty() {
        let packets: Vec<XmpDoc> = meta
            .entries
            .iter()
            .filter(|e| {
                (e.origin == "xmp" && e.key == "packet") || e.key == crate::png::XMP_KEYWORD
            })
            .filter_map(|e| e.value.as_text())
            .filter_map(|t| crate::xmp::parse(t, limits).ok())
            .collect();
        for v in &mirrors.xmp {
            let qname = format!("{}:{}", v.prefix, v.name);
            let found: Vec<&str> = packets.iter().filter_map(|d| d.get(&qname)).collect();
            if !found.is_empty() && !found.contains(&v.value.as_str()) {
                notes.push(format!(
                    "XMP {qname} not written: the file's XMP already has its own, which stemma does not rewrite; it now disagrees with the record"
                ));
            }
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_and_infotext() {
        let r = stemma_model::parse_record(
            r#"{"stemma":"1.0","generator":{"name":"comfyui","version":"0.3"},"prompt":{"positive":"a duck","negative":"blur"},
               "params":{"seed":"42","steps":20,"cfg_scale":7.0,"sampler":"euler","width":512,"height":768,"model":{"name":"sdxl"}},
               "parents":[{"relation":"inpaint"}]}"#,
        )
        .unwrap();
        let m = xmp_mirrors(&r);
        let get = |n: &str| m.iter().find(|v| v.name == n).map(|v| v.value.as_str());
        assert_eq!(get("description"), Some("a duck"));
        assert_eq!(get("AISystemUsed"), Some("comfyui (sdxl)"));
        assert_eq!(get("AISystemVersionUsed"), Some("0.3"));
        assert_eq!(
            get("AIPromptInformation"),
            Some("a duck\nNegative prompt: blur")
        );
        assert_eq!(
            get("DigitalSourceType"),
            Some("http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia")
        );
        assert_eq!(
            a1111_parameters(&r).unwrap(),
            "a duck\nNegative prompt: blur\nSteps: 20, Sampler: euler, CFG scale: 7, Seed: 42, Size: 512x768, Model: sdxl"
        );
    }
}
