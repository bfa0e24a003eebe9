//! C2PA manifests written by AI services (generators.md §12, standards.md §6): PNG `caBX`, JPEG APP11 (JPEG-XT
//! boxes), WebP `C2PA`. No prompt and no parameters — only provenance: the claim generator and, from the
//! `c2pa.actions` assertion, the action, software agent and IPTC digital source type. Read by walking the JUMBF
//! boxes and decoding the CBOR of the claim and actions assertions; signatures are not validated.
//!
//! Only manifests that state AI generation (an IPTC `…AlgorithmicMedia` source type, or a known AI producer) are
//! claimed; a camera or editor manifest is not a generator dialect.

use serde_json::{Map, Value};
use stemma_container::{Entry, Value as EntryValue};
use stemma_model::Settings;

use super::helpers::{new_record, put_extra, raw_entries};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The C2PA importer.
pub struct C2pa;

const ID: &str = "c2pa";

/// Producer names (claim generator or software agent, case-insensitive substring) → generator id.
const PRODUCERS: &[(&str, &str)] = &[
    ("openai", "dalle-c2pa"),
    ("gpt-image", "dalle-c2pa"),
    ("dall", "dalle-c2pa"),
    ("chatgpt", "dalle-c2pa"),
    ("microsoft", "dalle-c2pa"),
    ("designer", "dalle-c2pa"),
    ("bing", "dalle-c2pa"),
    ("google", "gemini-c2pa"),
    ("gemini", "gemini-c2pa"),
    ("imagen", "gemini-c2pa"),
    ("firefly", "firefly-c2pa"),
];

/// IPTC digital source types that mean "made by AI" (compared by term: the URI scheme varies).
const AI_SOURCE_TYPES: &[&str] = &[
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
];

const MAX_DEPTH: usize = 32;

/// What the manifests say.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Provenance {
    pub claim_generator: Option<String>,
    pub claim_generator_version: Option<String>,
    pub actions: Vec<Value>,
    pub manifests: usize,
}

impl Provenance {
    fn source_types(&self) -> impl Iterator<Item = &str> {
        self.actions
            .iter()
            .filter_map(|a| a.get("digitalSourceType").and_then(Value::as_str))
    }

    fn software_agents(&self) -> impl Iterator<Item = String> + '_ {
        self.actions
            .iter()
            .filter_map(|a| match a.get("softwareAgent") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Object(o)) => o.get("name").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
    }

    fn producer_id(&self) -> Option<&'static str> {
        let names: Vec<String> = self
            .claim_generator
            .iter()
            .cloned()
            .chain(self.software_agents())
            .map(|s| s.to_ascii_lowercase())
            .collect();
        PRODUCERS
            .iter()
            .find(|(needle, _)| names.iter().any(|n| n.contains(needle)))
            .map(|(_, id)| *id)
    }

    fn is_ai(&self) -> bool {
        self.source_types().any(|t| {
            AI_SOURCE_TYPES
                .iter()
                .any(|ai| t.rsplit('/').next() == Some(*ai))
        }) || self.producer_id().is_some()
    }
}

/// The C2PA entries of the evidence and the JUMBF manifest store they hold (JPEG-XT APP11 segments joined).
fn store<'a>(evidence: &Evidence<'a>) -> Option<(Vec<&'a Entry>, Vec<u8>)> {
    let entries: Vec<&Entry> = evidence
        .entries()
        .filter(|e| {
            matches!(e.value, EntryValue::Bytes(_))
                && (e.key.eq_ignore_ascii_case("c2pa")
                    || e.key.eq_ignore_ascii_case("jumbf")
                    || e.origin.contains("caBX")
                    || e.origin.contains("C2PA")
                    || e.origin.contains("APP11"))
        })
        .collect();
    let mut out = Vec::new();
    let mut first_xt = true;
    for e in &entries {
        let EntryValue::Bytes(b) = &e.value else {
            continue;
        };
        if b.len() > 16 && b.starts_with(b"JP") {
            // JPEG-XT: "JP", box instance (2), sequence (4), then the box header (repeated in every segment).
            let payload = &b[8..];
            if first_xt {
                out.extend_from_slice(payload);
                first_xt = false;
            } else {
                let header = if payload.get(0..4) == Some(&[0, 0, 0, 1]) {
                    16
                } else {
                    8
                };
                out.extend_from_slice(payload.get(header..).unwrap_or_default());
            }
        } else {
            out.extend_from_slice(b);
        }
    }
    (!entries.is_empty() && out.len() >= 8).then_some((entries, out))
}

/// One JUMBF box: type, payload.
fn boxes(data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 8 <= data.len() {
        let lbox =
            u32::from_be_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let kind = [data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]];
        let (header, size) = match lbox {
            0 => (8, data.len() - pos),
            1 => {
                let Some(x) = data.get(pos + 8..pos + 16) else {
                    break;
                };
                let mut b = [0u8; 8];
                b.copy_from_slice(x);
                (
                    16,
                    usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX),
                )
            }
            n => (8, n),
        };
        if size < header || pos.checked_add(size).is_none_or(|end| end > data.len()) {
            break;
        }
        out.push((kind, &data[pos + header..pos + size]));
        pos += size;
    }
    out
}

/// The label of a `jumd` description box.
fn label(jumd: &[u8]) -> Option<String> {
    let toggles = *jumd.get(16)?;
    if toggles & 0x02 == 0 {
        return None;
    }
    let rest = jumd.get(17..)?;
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// Walk a superbox; call `f(label, cbor_payload)` for every CBOR content box, tracking manifests.
fn walk(data: &[u8], depth: usize, prov: &mut Provenance) {
    if depth > MAX_DEPTH {
        return;
    }
    let children = boxes(data);
    let lbl = children
        .iter()
        .find(|(k, _)| k == b"jumd")
        .and_then(|(_, p)| label(p))
        .unwrap_or_default();
    if lbl.starts_with("urn:") {
        prov.manifests += 1;
    }
    for (kind, payload) in &children {
        match kind {
            b"jumb" => walk(payload, depth + 1, prov),
            b"cbor" => {
                let Some(value) = Cbor::new(payload).read(0) else {
                    continue;
                };
                if lbl.starts_with("c2pa.claim") {
                    read_claim(&value, prov);
                } else if lbl.starts_with("c2pa.actions") {
                    if let Some(actions) = value.get("actions").and_then(Value::as_array) {
                        prov.actions.extend(actions.iter().cloned());
                    }
                }
            }
            _ => {}
        }
    }
}

/// The claim generator; the last manifest read (the active one) wins.
fn read_claim(claim: &Value, prov: &mut Provenance) {
    let info = match claim.get("claim_generator_info") {
        Some(Value::Array(a)) => a.first().cloned(),
        Some(v @ Value::Object(_)) => Some(v.clone()),
        _ => None,
    };
    let name = info
        .as_ref()
        .and_then(|i| i.get("name"))
        .and_then(Value::as_str)
        .or_else(|| claim.get("claim_generator").and_then(Value::as_str));
    if let Some(name) = name {
        prov.claim_generator = Some(name.to_string());
        prov.claim_generator_version = info
            .as_ref()
            .and_then(|i| i.get("version"))
            .and_then(Value::as_str)
            .map(str::to_string);
    }
}

/// Read the provenance of a JUMBF manifest store.
pub(crate) fn provenance(store: &[u8]) -> Provenance {
    let mut prov = Provenance::default();
    for (kind, payload) in boxes(store) {
        if &kind == b"jumb" {
            walk(payload, 0, &mut prov);
        }
    }
    prov
}

/// A minimal CBOR (RFC 8949) reader into JSON values: byte strings become null, tags are skipped.
struct Cbor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cbor<'a> {
    fn new(data: &'a [u8]) -> Self {
        Cbor { data, pos: 0 }
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn uint(&mut self, info: u8) -> Option<u64> {
        Some(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.take(2)?.try_into().ok()?)),
            26 => u64::from(u32::from_be_bytes(self.take(4)?.try_into().ok()?)),
            27 => u64::from_be_bytes(self.take(8)?.try_into().ok()?),
            _ => return None,
        })
    }

    /// Length of a definite item, `None` for indefinite (info 31).
    fn len(&mut self, info: u8) -> Option<Option<usize>> {
        if info == 31 {
            return Some(None);
        }
        let n = usize::try_from(self.uint(info)?).ok()?;
        // Every item takes at least one byte: a larger count is a lie.
        (n <= self.data.len()).then_some(Some(n))
    }

    fn at_break(&mut self) -> bool {
        if self.data.get(self.pos) == Some(&0xff) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn read(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let head = self.byte()?;
        let (major, info) = (head >> 5, head & 0x1f);
        Some(match major {
            0 => Value::from(self.uint(info)?),
            1 => Value::from(-1i128.checked_sub(i128::from(self.uint(info)?))? as f64),
            2 | 3 => {
                let bytes = match self.len(info)? {
                    Some(n) => self.take(n)?.to_vec(),
                    None => {
                        let mut all = Vec::new();
                        while !self.at_break() {
                            match self.read(depth + 1)? {
                                Value::String(s) => all.extend_from_slice(s.as_bytes()),
                                _ => return None,
                            }
                        }
                        all
                    }
                };
                if major == 3 {
                    Value::String(String::from_utf8_lossy(&bytes).into_owned())
                } else {
                    Value::Null
                }
            }
            4 => {
                let mut items = Vec::new();
                match self.len(info)? {
                    Some(n) => {
                        for _ in 0..n {
                            items.push(self.read(depth + 1)?);
                        }
                    }
                    None => {
                        while !self.at_break() {
                            items.push(self.read(depth + 1)?);
                        }
                    }
                }
                Value::Array(items)
            }
            5 => {
                let mut map = Map::new();
                let mut pair = |me: &mut Self| -> Option<()> {
                    let k = me.read(depth + 1)?;
                    let v = me.read(depth + 1)?;
                    let key = match k {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    map.insert(key, v);
                    Some(())
                };
                match self.len(info)? {
                    Some(n) => {
                        for _ in 0..n {
                            pair(self)?;
                        }
                    }
                    None => {
                        while !self.at_break() {
                            pair(self)?;
                        }
                    }
                }
                Value::Object(map)
            }
            6 => {
                self.uint(info)?;
                self.read(depth + 1)?
            }
            _ => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 | 23 => Value::Null,
                24 => {
                    self.byte()?;
                    Value::Null
                }
                25 => Value::from(f16(u16::from_be_bytes(self.take(2)?.try_into().ok()?))),
                26 => Value::from(f64::from(f32::from_be_bytes(
                    self.take(4)?.try_into().ok()?,
                ))),
                27 => Value::from(f64::from_be_bytes(self.take(8)?.try_into().ok()?)),
                _ => Value::Null,
            },
        })
    }
}

fn f16(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f64::from(bits & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

impl Importer for C2pa {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "C2PA manifests of AI services (OpenAI / Microsoft Designer → dalle-c2pa, Google Gemini → gemini-c2pa); provenance only"
    }
    fn detection_rule(&self) -> &'static str {
        "PNG `caBX`, JPEG APP11 or WebP `C2PA` JUMBF whose manifest states an AI source type or a known AI producer"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        match store(evidence) {
            Some((_, bytes)) if provenance(&bytes).is_ai() => Confidence::Weak,
            _ => Confidence::No,
        }
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let (_, bytes) = store(evidence).ok_or(Error::Parse {
            dialect: ID,
            reason: "no C2PA manifest store".into(),
        })?;
        let prov = provenance(&bytes);
        let name = prov.producer_id().unwrap_or("c2pa");
        // The version of the generating software agent (the claim generator is the signing library, whose
        // version stays in `params.extra`).
        let version = prov
            .actions
            .iter()
            .find_map(|a| a.pointer("/softwareAgent/version").and_then(Value::as_str))
            .map(str::to_string);
        let mut record = new_record(name, version, ID);
        let p = record.params_mut();
        if let Some(g) = &prov.claim_generator {
            p.extra
                .insert("claim_generator".into(), Value::String(g.clone()));
        }
        if let Some(v) = &prov.claim_generator_version {
            p.extra
                .insert("claim_generator_version".into(), Value::String(v.clone()));
        }
        let agents: Vec<Value> = prov.software_agents().map(Value::String).collect();
        if !agents.is_empty() {
            put_extra(&mut p.extra, "softwareAgent", Value::Array(agents));
        }
        if let Some(t) = prov.source_types().next() {
            p.extra
                .insert("digitalSourceType".into(), Value::String(t.to_string()));
        }
        record.created = prov
            .actions
            .iter()
            .find(|a| a.get("action").and_then(Value::as_str) == Some("c2pa.created"))
            .and_then(|a| a.get("when"))
            .and_then(Value::as_str)
            .filter(|w| stemma_model::is_rfc3339_date_time(w))
            .map(str::to_string);
        record.settings = Some(Settings {
            format: Some("c2pa-actions".into()),
            data: Some(serde_json::json!({
                "claim_generator": prov.claim_generator,
                "claim_generator_version": prov.claim_generator_version,
                "manifests": prov.manifests,
                "actions": prov.actions,
            })),
            ..Settings::default()
        });
        let is_c2pa = |e: &Entry| {
            matches!(e.value, EntryValue::Bytes(_))
                && (e.key.eq_ignore_ascii_case("c2pa")
                    || e.key.eq_ignore_ascii_case("jumbf")
                    || e.origin.contains("caBX")
                    || e.origin.contains("C2PA")
                    || e.origin.contains("APP11"))
        };
        record.raw = raw_entries(evidence, is_c2pa, is_c2pa);
        Ok(Imported {
            dialect: ID,
            record,
            warnings: vec!["C2PA signature not validated".into()],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stemma_container::Metadata;

    fn jbox(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(payload);
        v
    }

    fn superbox(lbl: &str, children: &[Vec<u8>]) -> Vec<u8> {
        let mut jumd = vec![0u8; 16];
        jumd.push(0x03);
        jumd.extend_from_slice(lbl.as_bytes());
        jumd.push(0);
        let mut payload = jbox(b"jumd", &jumd);
        for c in children {
            payload.extend_from_slice(c);
        }
        jbox(b"jumb", &payload)
    }

    /// CBOR text string.
    fn t(s: &str) -> Vec<u8> {
        let mut v = vec![0x60 | s.len() as u8];
        if s.len() >= 24 {
            v = vec![0x78, s.len() as u8];
        }
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn sample_store(agent: &str, source: &str) -> Vec<u8> {
        // {"claim_generator_info": [{"name": agent}]}
        let mut claim = vec![0xa1];
        claim.extend(t("claim_generator_info"));
        claim.extend([0x81, 0xa1]);
        claim.extend(t("name"));
        claim.extend(t(agent));
        // {"actions": [{"action": "c2pa.created", "digitalSourceType": source}]}
        let mut actions = vec![0xa1];
        actions.extend(t("actions"));
        actions.extend([0x81, 0xa2]);
        actions.extend(t("action"));
        actions.extend(t("c2pa.created"));
        actions.extend(t("digitalSourceType"));
        actions.extend(t(source));
        let assertions = superbox(
            "c2pa.assertions",
            &[superbox("c2pa.actions.v2", &[jbox(b"cbor", &actions)])],
        );
        let claim = superbox("c2pa.claim.v2", &[jbox(b"cbor", &claim)]);
        let manifest = superbox("urn:c2pa:1234", &[assertions, claim]);
        superbox("c2pa", &[manifest])
    }

    fn evidence_of(bytes: Vec<u8>) -> Metadata {
        Metadata {
            entries: vec![Entry {
                origin: "png:caBX".into(),
                key: "c2pa".into(),
                value: EntryValue::Bytes(bytes),
                after_image_data: false,
                encoding: None,
            }],
            ..Metadata::default()
        }
    }

    #[test]
    fn openai_manifest() {
        let m = evidence_of(sample_store(
            "OpenAI Media Service API",
            "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        ));
        let ev = Evidence::new(&m);
        assert_eq!(C2pa.detect(&ev), Confidence::Weak);
        let r = C2pa.import(&ev).unwrap().record;
        assert_eq!(r.generator.unwrap().name, "dalle-c2pa");
        assert_eq!(
            r.params.unwrap().extra["claim_generator"],
            "OpenAI Media Service API"
        );
        assert!(r.raw[0].base64.is_some());
    }

    #[test]
    fn camera_manifest_is_not_claimed_and_garbage_does_not_panic() {
        let m = evidence_of(sample_store(
            "Leica Camera",
            "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
        ));
        assert_eq!(C2pa.detect(&Evidence::new(&m)), Confidence::No);
        for junk in [
            vec![0u8; 3],
            vec![0xff; 64],
            vec![0, 0, 0, 1, b'j', b'u', b'm', b'b', 0xff, 0xff],
        ] {
            assert_eq!(
                C2pa.detect(&Evidence::new(&evidence_of(junk))),
                Confidence::No
            );
        }
        assert_eq!(
            Cbor::new(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).read(0),
            None
        );
    }
}
