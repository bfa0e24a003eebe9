//! Midjourney website downloads (generators.md §11): PNG text `Description` = `[image URLs] prompt --params Job ID:
//! <uuid>`, `Author`, `Creation Time` (RFC 1123); XMP `Iptc4xmpExt:DigImageGUID` (the job id) and
//! `DigitalSourceType`. The `--name value` parameters stay part of the prompt (that is how Midjourney stores it)
//! and are also listed in `params.extra`; `--seed` fills `params.seed`; leading image URLs become `reference`
//! parents.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};
use stemma_container::Entry;
use stemma_model::{relation, Parent, Settings};

use super::drawthings::xmp_property;
use super::helpers::{new_record, put_extra, raw_entries, seed_text};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The Midjourney importer.
pub struct Midjourney;

const ID: &str = "midjourney";
const JOB_ID: &str = "Job ID:";

static XMP_GUID: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"DigImageGUID(?:\s*=\s*"|>)([^"<]+)"#).ok());
static XMP_SOURCE_TYPE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"DigitalSourceType(?:\s*=\s*"|>|[^>]*rdf:resource\s*=\s*")([^"<]+)"#).ok()
});

/// The entry holding the description and the description text: PNG text `Description`, else an XMP
/// `dc:description` (JPEG/WebP downloads).
fn description<'a>(evidence: &Evidence<'a>) -> Option<(&'a Entry, String)> {
    evidence
        .entries()
        .find_map(|e| {
            let t = e.value.as_text()?;
            (e.key == "Description" && t.contains(JOB_ID)).then(|| (e, t.to_string()))
        })
        .or_else(|| {
            evidence
                .entries()
                .filter(|e| e.origin == "xmp" || e.key == "XML:com.adobe.xmp")
                .find_map(|e| {
                    let d = xmp_property(e.value.as_text()?, "dc:description")?;
                    d.contains(JOB_ID).then_some((e, d))
                })
        })
}

/// `--name value` parameters of a prompt, in order; a flag without a value is `true`.
pub(crate) fn prompt_parameters(prompt: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for part in prompt.split(" --").skip(1) {
        let part = part.trim();
        let (name, value) = match part.split_once(char::is_whitespace) {
            Some((n, v)) => (n, Value::String(v.trim().to_string())),
            None => (part, Value::Bool(true)),
        };
        if !name.is_empty() {
            out.insert(name.to_string(), value);
        }
    }
    out
}

/// `Thu, 20 Jun 2024 22:50:03 GMT` → `2024-06-20T22:50:03Z`.
pub(crate) fn rfc1123_to_rfc3339(text: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let rest = text.split_once(',').map(|(_, r)| r).unwrap_or(text);
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, time, zone] = parts.as_slice() else {
        return None;
    };
    if !matches!(*zone, "GMT" | "UTC" | "Z" | "+0000") {
        return None;
    }
    let m = MONTHS.iter().position(|x| x == month)? + 1;
    let d: u32 = day.parse().ok()?;
    let y: u32 = year.parse().ok()?;
    let hms: Vec<u32> = time
        .split(':')
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    let [h, mi, s] = hms.as_slice() else {
        return None;
    };
    Some(format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
}

fn xmp_value(evidence: &Evidence, key: &str, re: &LazyLock<Option<Regex>>) -> Option<String> {
    if let Some(t) = evidence.text(key) {
        return Some(t.trim().to_string());
    }
    let re = re.as_ref()?;
    evidence
        .entries()
        .filter(|e| e.origin == "xmp" || e.key == "XML:com.adobe.xmp")
        .filter_map(|e| e.value.as_text())
        .find_map(|t| {
            re.captures(t)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().trim().to_string())
        })
}

impl Importer for Midjourney {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "Midjourney (website downloads)"
    }
    fn detection_rule(&self) -> &'static str {
        "text `Description` (or XMP `dc:description`) containing `Job ID:`"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(description(evidence).is_some(), Confidence::Strong)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let (entry, text) = description(evidence).ok_or(Error::Parse {
            dialect: ID,
            reason: "no Description with Job ID".into(),
        })?;
        let text = text.as_str();
        let (prompt, job) = match text.rfind(JOB_ID) {
            Some(i) => (text[..i].trim(), Some(text[i + JOB_ID.len()..].trim())),
            None => (text.trim(), None),
        };
        let mut record = new_record(ID, None, ID);
        record.prompt_mut().positive = Some(prompt.to_string());
        for url in prompt
            .split_whitespace()
            .take_while(|w| w.starts_with("https://") || w.starts_with("http://"))
        {
            record.parents.push(Parent {
                relation: relation::REFERENCE.into(),
                hint: Some(url.to_string()),
                ..Parent::default()
            });
        }
        let mj_params = prompt_parameters(prompt);
        let p = record.params_mut();
        if let Some(seed) = mj_params
            .get("seed")
            .and_then(Value::as_str)
            .and_then(seed_text)
        {
            p.seed = Some(seed);
        }
        for (k, v) in &mj_params {
            put_extra(&mut p.extra, k, v.clone());
        }
        if let Some(job) = job.filter(|j| !j.is_empty()) {
            p.extra
                .insert("Job ID".into(), Value::String(job.to_string()));
        }
        let mut settings = Map::new();
        for key in ["Author", "Creation Time"] {
            if let Some(v) = evidence.text(key) {
                put_extra(&mut p.extra, key, Value::String(v.to_string()));
                settings.insert(key.into(), Value::String(v.to_string()));
            }
        }
        for (key, re) in [
            ("DigImageGUID", &XMP_GUID),
            ("DigitalSourceType", &XMP_SOURCE_TYPE),
        ] {
            if let Some(v) = xmp_value(evidence, key, re) {
                put_extra(&mut p.extra, key, Value::String(v.clone()));
                settings.insert(key.into(), Value::String(v));
            }
        }
        record.created = evidence.text("Creation Time").and_then(rfc1123_to_rfc3339);
        settings.insert("Description".into(), Value::String(text.to_string()));
        record.settings = Some(Settings {
            format: Some("midjourney-text".into()),
            data: Some(Value::Object(settings)),
            ..Settings::default()
        });
        record.raw = raw_entries(evidence, |e| std::ptr::eq(e, entry), |_| false);
        Ok(Imported {
            dialect: ID,
            record,
            warnings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stemma_container::Metadata;

    use crate::dialects::helpers::text_entry as entry;

    #[test]
    fn xmp_description_of_a_webp_download() {
        let m = Metadata {
            entries: vec![entry(
                "xmp",
                "packet",
                r#"<rdf:Description><dc:description><rdf:Alt><rdf:li xml:lang="x-default">a fox --v 6.1 Job ID: 1234</rdf:li></rdf:Alt></dc:description></rdf:Description>"#,
            )],
            ..Metadata::default()
        };
        let r = Midjourney.import(&Evidence::new(&m)).unwrap().record;
        assert_eq!(r.positive(), Some("a fox --v 6.1"));
        assert_eq!(r.params.unwrap().extra["v"], "6.1");
    }

    #[test]
    fn description_with_job_id_and_xmp() {
        let m = Metadata {
            entries: vec![
                entry(
                    "png:tEXt",
                    "Description",
                    "https://s.mj.run/x a fox --chaos 16 --ar 4:5 --seed 7 --tile Job ID: d95b-1",
                ),
                entry("png:tEXt", "Creation Time", "Thu, 20 Jun 2024 22:50:03 GMT"),
                entry(
                    "png:iTXt",
                    "XML:com.adobe.xmp",
                    r#"<rdf:Description Iptc4xmpExt:DigImageGUID="d95b-1" Iptc4xmpExt:DigitalSourceType="https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>"#,
                ),
            ],
            ..Metadata::default()
        };
        let ev = Evidence::new(&m);
        assert_eq!(Midjourney.detect(&ev), Confidence::Strong);
        let r = Midjourney.import(&ev).unwrap().record;
        assert_eq!(
            r.positive(),
            Some("https://s.mj.run/x a fox --chaos 16 --ar 4:5 --seed 7 --tile")
        );
        assert_eq!(r.created.as_deref(), Some("2024-06-20T22:50:03Z"));
        assert_eq!(r.parents[0].hint.as_deref(), Some("https://s.mj.run/x"));
        let p = r.params.unwrap();
        assert_eq!(p.seed.as_deref(), Some("7"));
        assert_eq!(p.extra["ar"], "4:5");
        assert_eq!(p.extra["tile"], true);
        assert_eq!(p.extra["Job ID"], "d95b-1");
        assert_eq!(p.extra["DigImageGUID"], "d95b-1");
    }
}
