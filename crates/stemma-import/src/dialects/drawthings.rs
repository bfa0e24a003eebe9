//! Draw Things (iOS/macOS, generators.md §10): XMP (PNG iTXt `XML:com.adobe.xmp`, JPEG APP1) with
//! `xmp:CreatorTool` = `Draw Things`, `exif:UserComment` = JSON (`c` prompt, `uc` negative, `seed`, `steps`,
//! `scale`, `sampler`, `size` `"WxH"`, `model`, `lora: [{model, weight}]`, `strength`, `v2` = full configuration)
//! and `dc:description` = A1111-like text (used when the JSON is missing).

use serde_json::Value;
use stemma_container::Entry;
use stemma_model::{Lora, ModelRef, Settings};

use super::helpers::{
    json_f64, json_seed, json_text, json_u64, new_record, parse_json_lenient, parse_size,
    put_extra, raw_entries,
};
use super::infotext::Infotext;
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The Draw Things importer.
pub struct DrawThings;

const ID: &str = "drawthings";

const MAPPED: &[&str] = &[
    "c", "uc", "seed", "steps", "scale", "sampler", "size", "model", "lora",
];

/// Decode the five predefined XML entities and numeric character references.
pub(crate) fn xml_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';').filter(|e| *e <= 12) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The value of an XMP property (`prefix:Name`), as an attribute or an element (first `rdf:li` of a
/// container), entities decoded.
pub(crate) fn xmp_property(xml: &str, name: &str) -> Option<String> {
    let attr = format!("{name}=\"");
    if let Some(i) = xml.find(&attr) {
        let rest = &xml[i + attr.len()..];
        let end = rest.find('"')?;
        return Some(xml_unescape(&rest[..end]));
    }
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let start = xml.find(&open)?;
    let after_open = &xml[start + open.len()..];
    let gt = after_open.find('>')?;
    if after_open[..gt].ends_with('/') {
        return None;
    }
    let inner_and_rest = &after_open[gt + 1..];
    let inner = &inner_and_rest[..inner_and_rest.find(&close)?];
    let value = match inner.find("<rdf:li") {
        Some(li) => {
            let li_rest = &inner[li..];
            let body = &li_rest[li_rest.find('>')? + 1..];
            &body[..body.find("</rdf:li>")?]
        }
        None => inner,
    };
    Some(xml_unescape(
        value.trim_matches(|c: char| c == '\n' || c == '\r'),
    ))
}

fn packet<'a>(evidence: &Evidence<'a>) -> Option<(&'a Entry, &'a str)> {
    evidence.entries().find_map(|e| {
        let t = e.value.as_text()?;
        let is_xmp = e.origin == "xmp" || e.key == "XML:com.adobe.xmp" || e.key == "packet";
        if !is_xmp {
            return None;
        }
        let tool = xmp_property(t, "xmp:CreatorTool")?;
        tool.trim_start()
            .starts_with("Draw Things")
            .then_some((e, t))
    })
}

impl Importer for DrawThings {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "Draw Things (iOS/macOS), XMP in PNG or JPEG"
    }
    fn detection_rule(&self) -> &'static str {
        "XMP `xmp:CreatorTool` starting with `Draw Things`"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(packet(evidence).is_some(), Confidence::Strong)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let (entry, xml) = packet(evidence).ok_or(Error::Parse {
            dialect: ID,
            reason: "no Draw Things XMP".into(),
        })?;
        let tool = xmp_property(xml, "xmp:CreatorTool");
        let version = tool
            .as_deref()
            .and_then(|t| t.trim().strip_prefix("Draw Things"))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        let mut record = new_record("drawthings", version, ID);
        let json = xmp_property(xml, "exif:UserComment").and_then(|t| parse_json_lenient(&t));
        let description = xmp_property(xml, "dc:description");
        let mut warnings = Vec::new();
        match &json {
            Some(j) => {
                let prompt = record.prompt_mut();
                prompt.positive = j.get("c").and_then(json_text);
                prompt.negative = j.get("uc").and_then(json_text);
                let p = record.params_mut();
                p.seed = j.get("seed").and_then(json_seed);
                p.steps = j.get("steps").and_then(json_u64);
                p.cfg_scale = j.get("scale").and_then(json_f64);
                p.sampler = j.get("sampler").and_then(json_text);
                if let Some((w, h)) = j.get("size").and_then(Value::as_str).and_then(parse_size) {
                    p.width = Some(w);
                    p.height = Some(h);
                }
                p.model = j.get("model").and_then(json_text).map(|name| ModelRef {
                    name: Some(name),
                    ..ModelRef::default()
                });
                p.loras = j
                    .get("lora")
                    .and_then(Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(|l| {
                                Some(Lora {
                                    name: l.get("model").and_then(json_text)?,
                                    weight: l.get("weight").and_then(json_f64),
                                    ..Lora::default()
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(obj) = j.as_object() {
                    for (k, v) in obj {
                        if !MAPPED.contains(&k.as_str()) {
                            put_extra(&mut p.extra, k, v.clone());
                        }
                    }
                }
            }
            None => match &description {
                Some(d) => {
                    warnings.push("no exif:UserComment JSON; read dc:description".to_string());
                    Infotext::parse(d).apply(&mut record);
                }
                None => {
                    return Err(Error::Parse {
                        dialect: ID,
                        reason: "XMP has neither exif:UserComment nor dc:description".into(),
                    })
                }
            },
        }
        record.settings = Some(Settings {
            format: Some("drawthings-json".into()),
            data: json.or_else(|| description.map(Value::String)),
            ..Settings::default()
        });
        record.raw = raw_entries(evidence, |e| std::ptr::eq(e, entry), |_| false);
        Ok(Imported {
            dialect: ID,
            record,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stemma_container::{Metadata, Value as V};

    const XMP: &str = r#"<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 6.0.0"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:exif="http://ns.adobe.com/exif/1.0/"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">a robot&#xA;Steps: 26, Sampler: Euler A Trailing, Guidance Scale: 3.5, Seed: 2050777441, Size: 768x1024, Model: flux_1_dev_q8p.ckpt</rdf:li></rdf:Alt></dc:description><xmp:CreatorTool>Draw Things</xmp:CreatorTool><exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{&quot;c&quot;:&quot;a robot&quot;,&quot;uc&quot;:&quot;&quot;,&quot;seed&quot;:2050777441,&quot;steps&quot;:26,&quot;scale&quot;:3.5,&quot;sampler&quot;:&quot;Euler A Trailing&quot;,&quot;size&quot;:&quot;768x1024&quot;,&quot;model&quot;:&quot;flux_1_dev_q8p.ckpt&quot;,&quot;lora&quot;:[{&quot;model&quot;:&quot;x.ckpt&quot;,&quot;weight&quot;:0.8}],&quot;shift&quot;:2.6}</rdf:li></rdf:Alt></exif:UserComment></rdf:Description></rdf:RDF></x:xmpmeta>"#;

    fn meta(xmp: &str) -> Metadata {
        Metadata {
            entries: vec![Entry {
                origin: "png:iTXt".into(),
                key: "XML:com.adobe.xmp".into(),
                value: V::Text(xmp.into()),
                after_image_data: false,
                encoding: None,
            }],
            ..Metadata::default()
        }
    }

    #[test]
    fn json_user_comment() {
        let m = meta(XMP);
        let ev = Evidence::new(&m);
        assert_eq!(DrawThings.detect(&ev), Confidence::Strong);
        let r = DrawThings.import(&ev).unwrap().record;
        assert_eq!(r.positive(), Some("a robot"));
        let p = r.params.unwrap();
        assert_eq!((p.width, p.height), (Some(768), Some(1024)));
        assert_eq!(p.cfg_scale, Some(3.5));
        assert_eq!(p.loras[0].weight, Some(0.8));
        assert_eq!(p.extra["shift"], 2.6);
    }

    #[test]
    fn description_fallback() {
        let start = XMP.find("<exif:UserComment>").unwrap();
        let end = XMP.find("</exif:UserComment>").unwrap() + "</exif:UserComment>".len();
        let xmp = format!("{}{}", &XMP[..start], &XMP[end..]);
        let m = meta(&xmp);
        let r = DrawThings.import(&Evidence::new(&m)).unwrap().record;
        assert_eq!(r.positive(), Some("a robot"));
        let p = r.params.unwrap();
        assert_eq!(p.cfg_scale, Some(3.5));
        assert_eq!(p.seed.as_deref(), Some("2050777441"));
    }

    #[test]
    fn entities() {
        assert_eq!(
            xml_unescape("a &amp; b &lt;c&gt; &#65;&#x42; &bogus"),
            "a & b <c> AB &bogus"
        );
    }
}
