//! The AUTOMATIC1111 "infotext" grammar (generators.md §3.2–3.5), shared by every importer that meets A1111-style
//! text: A1111 and its forks, Civitai, Draw Things' description, ComfyUI saver nodes, Stability Matrix.
//!
//! ```text
//! infotext    = prompt [ LF "Negative prompt: " negative ] LF params-line *( LF trailer )
//! params-line = param *( ", " param )
//! param       = key ": " ( json-string | json-object | json-array | text-up-to-comma ) | key
//! trailer     = "Template: " … | "Negative Template: " … | any other line (kept verbatim)
//! ```
//!
//! Differences from A1111's own reader, all following the writer's rules: the parameter line is the last line that
//! starts with `Steps:` (else the last line made only of at least three `key: value` pairs), so lines after it
//! (old sd-dynamic-prompts `Template:` lines) do not swallow it; bare JSON values are read with a bracket-balancing
//! scanner instead of being cut at their first comma; the prompt and negative prompt keep their inner text
//! verbatim (inner trailing spaces, blank lines and CRLF line ends) and are only trimmed at both ends.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};
use stemma_model::{Hires, Lora, ModelRef, Record, Template};

use super::helpers::{parse_f64, parse_size, parse_u64, put_extra, seed_text};

/// One parsed infotext.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Infotext {
    /// The prompt block, trimmed at both ends.
    pub prompt: String,
    /// The negative prompt block, trimmed; `None` when there is no `Negative prompt:` line.
    pub negative: Option<String>,
    /// The parameters in written order: strings (JSON-quoted values decoded) or bare JSON objects/arrays.
    pub params: Vec<(String, Value)>,
    /// True when a parameter line was found.
    pub has_params: bool,
    /// Dynamic Prompts template, from a `Template:` trailer line or parameter.
    pub template: Option<String>,
    /// Dynamic Prompts negative template.
    pub negative_template: Option<String>,
    /// Other lines after the parameter line, verbatim.
    pub trailer: Vec<String>,
}

/// How the normalised field of a parameter key is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Steps,
    Sampler,
    Scheduler,
    Cfg,
    Seed,
    Size,
    Width,
    Height,
    Model,
    ModelHash,
    Vae,
    VaeHash,
    Denoise,
    ClipSkip,
    HiresScale,
    HiresSteps,
    HiresUpscaler,
    HiresSize,
    LoraHashes,
    Template,
    NegativeTemplate,
    /// Read by the importer (fork identification); not copied to `params.extra`.
    Version,
}

/// Infotext keys with a normalised meaning. Keys are case-sensitive as written; a few producers spell them
/// differently (comfy-image-saver `CFG Scale`, Draw Things `Guidance Scale`, SD.Next `Hires scale`/`Hires size`).
const KEYS: &[(&str, Field)] = &[
    ("Steps", Field::Steps),
    ("Sampler", Field::Sampler),
    ("Schedule type", Field::Scheduler),
    ("CFG scale", Field::Cfg),
    ("CFG Scale", Field::Cfg),
    ("Guidance Scale", Field::Cfg),
    ("Seed", Field::Seed),
    ("Size", Field::Size),
    ("Width", Field::Width),
    ("Height", Field::Height),
    ("Model", Field::Model),
    ("Model hash", Field::ModelHash),
    ("VAE", Field::Vae),
    ("VAE hash", Field::VaeHash),
    ("Denoising strength", Field::Denoise),
    ("Clip skip", Field::ClipSkip),
    ("Hires upscale", Field::HiresScale),
    ("Hires scale", Field::HiresScale),
    ("Hires steps", Field::HiresSteps),
    ("Hires upscaler", Field::HiresUpscaler),
    ("Hires resize", Field::HiresSize),
    ("Hires size", Field::HiresSize),
    ("Lora hashes", Field::LoraHashes),
    ("Template", Field::Template),
    ("Negative Template", Field::NegativeTemplate),
    ("Version", Field::Version),
];

const NEGATIVE_PREFIX: &str = "Negative prompt:";
const TEMPLATE_PREFIX: &str = "Template:";
const NEGATIVE_TEMPLATE_PREFIX: &str = "Negative Template:";

/// `<lora:name:weight>` / `<lyco:name:weight:…>` in a prompt.
static LORA_TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"<(?:lora|lyco):([^:>]+)(?::([^:>]*))?[^>]*>").ok());

/// One line of the text (without its line end) and the byte offset where it starts.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    start: usize,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        let body = piece.trim_end_matches('\n').trim_end_matches('\r');
        out.push(Line { text: body, start });
        start += piece.len();
    }
    out
}

/// `prompt Negative prompt: neg Steps: 20, …` on one line → the three-line form, when `Steps: <digit>` follows
/// the prompt after a space or comma.
fn unflatten(text: &str) -> Option<String> {
    let steps = STEPS_INLINE.as_ref()?.find_iter(text).last()?;
    let (head, params) = text.split_at(steps.start());
    let head = head.trim_end_matches([' ', ',']);
    let head = match head.find(NEGATIVE_PREFIX).filter(|i| *i > 0) {
        Some(i) => format!("{}\n{}", head[..i].trim_end(), &head[i..]),
        None => head.to_string(),
    };
    Some(format!("{head}\n{}", params.trim_start_matches([' ', ','])))
}

/// `Steps: <digit>` after a space or comma (a flattened parameter line).
static STEPS_INLINE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"[ ,]Steps: ?\d").ok());

/// True when `line` starts the parameter line as A1111 writes it (`Steps: <digit>`).
fn starts_with_steps(line: &str) -> bool {
    line.trim_start()
        .strip_prefix("Steps:")
        .map(|rest| rest.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(false)
}

impl Infotext {
    /// Parse an infotext. Never fails: text without a parameter line is all prompt.
    pub fn parse(text: &str) -> Infotext {
        let text = text.trim_start_matches('\u{feff}');
        let info = Infotext::parse_lines(text);
        if info.has_params {
            return info;
        }
        // A single-line paste (Civitai `normalizeGenerationDetails`): put the line breaks back before
        // `Negative prompt:` and before the last `Steps: <digit>`.
        match unflatten(text) {
            Some(fixed) => {
                let again = Infotext::parse_lines(&fixed);
                if again.has_params {
                    again
                } else {
                    info
                }
            }
            None => info,
        }
    }

    fn parse_lines(text: &str) -> Infotext {
        let all = lines(text);
        let param_idx = all
            .iter()
            .rposition(|l| starts_with_steps(l.text))
            .or_else(|| all.iter().rposition(|l| is_param_line(l.text)));
        let mut info = Infotext::default();
        let body_end = match param_idx {
            Some(i) => {
                info.has_params = true;
                info.params = parse_param_line(all[i].text).0;
                info.read_trailer(&all[i + 1..]);
                all[i].start
            }
            None => text.len(),
        };
        let before = &all[..param_idx.unwrap_or(all.len())];
        match before
            .iter()
            .find(|l| l.text.trim_start().starts_with(NEGATIVE_PREFIX))
        {
            Some(neg) => {
                info.prompt = text[..neg.start].trim().to_string();
                let neg_text_start = neg.start
                    + (neg.text.len() - neg.text.trim_start().len())
                    + NEGATIVE_PREFIX.len();
                info.negative = Some(text[neg_text_start..body_end].trim().to_string());
            }
            None => info.prompt = text[..body_end].trim().to_string(),
        }
        for (key, value) in &info.params {
            let field = field_of(key);
            if let Value::String(s) = value {
                if field == Some(Field::Template) && info.template.is_none() {
                    info.template = Some(s.clone());
                } else if field == Some(Field::NegativeTemplate) && info.negative_template.is_none()
                {
                    info.negative_template = Some(s.clone());
                }
            }
        }
        info
    }

    fn read_trailer(&mut self, rest: &[Line<'_>]) {
        enum Into {
            Nothing,
            Template,
            Negative,
        }
        let mut into = Into::Nothing;
        for line in rest {
            let t = line.text;
            if let Some(v) = t.strip_prefix(NEGATIVE_TEMPLATE_PREFIX) {
                self.negative_template = Some(v.trim_start().to_string());
                into = Into::Negative;
            } else if let Some(v) = t.strip_prefix(TEMPLATE_PREFIX) {
                self.template = Some(v.trim_start().to_string());
                into = Into::Template;
            } else {
                let target = match into {
                    Into::Template => self.template.as_mut(),
                    Into::Negative => self.negative_template.as_mut(),
                    Into::Nothing => None,
                };
                match target {
                    Some(s) => {
                        s.push('\n');
                        s.push_str(t);
                    }
                    None if !t.trim().is_empty() => self.trailer.push(t.to_string()),
                    None => {}
                }
            }
        }
        for s in [&mut self.template, &mut self.negative_template]
            .into_iter()
            .flatten()
        {
            let trimmed = s.trim_end().to_string();
            *s = trimmed;
        }
    }

    /// The value of a parameter as text (bare JSON values in their compact JSON form).
    pub fn get(&self, key: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| value_text(v))
    }

    /// True when a parameter with this key is present.
    pub fn has(&self, key: &str) -> bool {
        self.params.iter().any(|(k, _)| k == key)
    }

    /// The parameters as a JSON object (the native settings document); a repeated key gets a ` #n` suffix.
    pub fn settings_data(&self) -> Value {
        let mut map = Map::new();
        for (k, v) in &self.params {
            let mut key = k.clone();
            let mut n = 2;
            while map.contains_key(&key) {
                key = format!("{k} #{n}");
                n += 1;
            }
            map.insert(key, v.clone());
        }
        if !self.trailer.is_empty() {
            map.entry("trailer")
                .or_insert_with(|| Value::from(self.trailer.clone()));
        }
        Value::Object(map)
    }

    /// Fill the record's prompt and normalised parameters; keys without a normalised field go to
    /// `params.extra` under their own names.
    pub fn apply(&self, record: &mut Record) {
        let prompt = record.prompt_mut();
        prompt.positive = Some(self.prompt.clone());
        prompt.negative = self.negative.clone();
        if self.template.is_some() || self.negative_template.is_some() {
            prompt.template = Some(Template {
                positive: self.template.clone(),
                negative: self.negative_template.clone(),
                syntax: Some("dynamic-prompts".into()),
                ..Template::default()
            });
        }
        let has_hires = self.params.iter().any(|(k, _)| {
            matches!(
                field_of(k),
                Some(
                    Field::HiresScale | Field::HiresSteps | Field::HiresUpscaler | Field::HiresSize
                )
            )
        });
        let mut lora_hashes: Vec<(String, String)> = Vec::new();
        let p = record.params_mut();
        let mut hires = Hires::default();
        for (key, value) in &self.params {
            let text = value_text(value);
            let Some(field) = field_of(key) else {
                if !p.extra.contains_key(key) {
                    put_extra(&mut p.extra, key, value.clone());
                }
                continue;
            };
            // A value that does not parse as its field is kept under its own key.
            let mut keep = false;
            match field {
                Field::Steps => match parse_u64(&text) {
                    Some(v) => p.steps = Some(v),
                    None => keep = true,
                },
                Field::Sampler => p.sampler = Some(text),
                Field::Scheduler => p.scheduler = Some(text),
                Field::Cfg => match parse_f64(&text) {
                    Some(v) => p.cfg_scale = Some(v),
                    None => keep = true,
                },
                Field::Seed => match seed_text(&text) {
                    Some(v) => p.seed = Some(v),
                    None => keep = true,
                },
                Field::Size => match parse_size(&text) {
                    Some((w, h)) => {
                        p.width = Some(w);
                        p.height = Some(h);
                    }
                    None => keep = true,
                },
                Field::Width => match parse_u64(&text) {
                    Some(v) => p.width = Some(v),
                    None => keep = true,
                },
                Field::Height => match parse_u64(&text) {
                    Some(v) => p.height = Some(v),
                    None => keep = true,
                },
                Field::Model => p.model.get_or_insert_with(ModelRef::default).name = Some(text),
                Field::ModelHash => p.model.get_or_insert_with(ModelRef::default).hash = Some(text),
                Field::Vae => p.vae.get_or_insert_with(ModelRef::default).name = Some(text),
                Field::VaeHash => p.vae.get_or_insert_with(ModelRef::default).hash = Some(text),
                Field::Denoise => match parse_f64(&text) {
                    Some(v) if has_hires => hires.denoise = Some(v),
                    Some(v) => p.denoise = Some(v),
                    None => keep = true,
                },
                Field::ClipSkip => match parse_u64(&text) {
                    Some(v) => p.clip_skip = Some(v),
                    None => keep = true,
                },
                Field::HiresScale => match parse_f64(&text) {
                    Some(v) => hires.scale = Some(v),
                    None => keep = true,
                },
                Field::HiresSteps => match parse_u64(&text) {
                    Some(v) => hires.steps = Some(v),
                    None => keep = true,
                },
                Field::HiresUpscaler => hires.upscaler = Some(text),
                Field::HiresSize => match parse_size(&text) {
                    Some((w, h)) => {
                        hires.width = Some(w);
                        hires.height = Some(h);
                    }
                    None => keep = true,
                },
                Field::LoraHashes => lora_hashes = parse_name_hashes(&text),
                Field::Template | Field::NegativeTemplate | Field::Version => {}
            }
            if keep && !p.extra.contains_key(key) {
                put_extra(&mut p.extra, key, value.clone());
            }
        }
        if has_hires {
            p.hires = Some(hires);
        }
        if !self.trailer.is_empty() {
            p.extra
                .insert("trailer".into(), Value::from(self.trailer.clone()));
        }
        p.loras = loras_of(&self.prompt, &lora_hashes);
    }
}

fn field_of(key: &str) -> Option<Field> {
    KEYS.iter().find(|(k, _)| *k == key).map(|(_, f)| *f)
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `"name: hash, name2: hash2"` (the value of `Lora hashes` / `TI hashes`).
pub fn parse_name_hashes(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter_map(|pair| {
            let (name, hash) = pair.rsplit_once(':')?;
            let (name, hash) = (name.trim(), hash.trim());
            (!name.is_empty() && !hash.is_empty()).then(|| (name.to_string(), hash.to_string()))
        })
        .collect()
}

/// LoRAs named in the prompt (`<lora:name:weight>`), then any only named in `Lora hashes`.
fn loras_of(prompt: &str, hashes: &[(String, String)]) -> Vec<Lora> {
    let mut out: Vec<Lora> = Vec::new();
    if let Some(re) = LORA_TAG.as_ref() {
        for c in re.captures_iter(prompt) {
            let Some(name) = c.get(1).map(|m| m.as_str().trim().to_string()) else {
                continue;
            };
            if out.iter().any(|l| l.name == name) {
                continue;
            }
            let weight = c.get(2).and_then(|m| parse_f64(m.as_str()));
            out.push(Lora {
                name,
                weight,
                ..Lora::default()
            });
        }
    }
    for (name, hash) in hashes {
        match out.iter_mut().find(|l| &l.name == name) {
            Some(l) => l.hash = Some(hash.clone()),
            None => out.push(Lora {
                name: name.clone(),
                hash: Some(hash.clone()),
                ..Lora::default()
            }),
        }
    }
    out
}

/// True when a key has the shape A1111's reader accepts (`\w[\w \-/]*`, plus `.`, `(`, `)`, `+`, `#`).
fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_alphanumeric() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || " _-/.()+#'".contains(c))
}

/// Parse one parameter line. Returns the pairs and whether the whole line was well-formed pairs.
pub fn parse_param_line(line: &str) -> (Vec<(String, Value)>, bool) {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut clean = true;
    let mut pos = 0;
    let skip_ws = |mut p: usize| {
        while p < bytes.len() && (bytes[p] == b' ' || bytes[p] == b'\t') {
            p += 1;
        }
        p
    };
    while pos < bytes.len() {
        pos = skip_ws(pos);
        if pos >= bytes.len() {
            break;
        }
        let key_start = pos;
        while pos < bytes.len() && bytes[pos] != b':' && bytes[pos] != b',' {
            pos += 1;
        }
        let key = line[key_start..pos].trim();
        if pos >= bytes.len() || bytes[pos] == b',' {
            // A bare flag: the writer omits `: value` when the value equals the key.
            if !key.is_empty() {
                clean &= valid_key(key);
                out.push((key.to_string(), Value::String(key.to_string())));
            }
            pos += 1;
            continue;
        }
        clean &= valid_key(key);
        pos = skip_ws(pos + 1);
        let value_start = pos;
        let value = match bytes.get(pos) {
            Some(b'"') => {
                let end = scan_string(bytes, pos);
                let raw = &line[value_start..end];
                pos = end;
                serde_json::from_str::<String>(raw)
                    .map(Value::String)
                    .unwrap_or_else(|_| Value::String(raw.to_string()))
            }
            Some(b'{') | Some(b'[') => {
                let end = scan_balanced(bytes, pos);
                let raw = &line[value_start..end];
                pos = end;
                serde_json::from_str::<Value>(raw)
                    .unwrap_or_else(|_| Value::String(raw.to_string()))
            }
            _ => {
                while pos < bytes.len() && bytes[pos] != b',' {
                    pos += 1;
                }
                Value::String(line[value_start..pos].trim().to_string())
            }
        };
        // Anything between a quoted/JSON value and the next comma is appended (malformed writers).
        let tail_start = pos;
        while pos < bytes.len() && bytes[pos] != b',' {
            pos += 1;
        }
        let tail = line[tail_start..pos].trim();
        let value = if tail.is_empty() {
            value
        } else {
            clean = false;
            Value::String(line[value_start..pos].trim().to_string())
        };
        if !key.is_empty() {
            out.push((key.to_string(), value));
        }
        pos += 1;
    }
    (out, clean)
}

/// End (exclusive) of the JSON string starting at `start` (a `"`); the line end when unterminated.
fn scan_string(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// End (exclusive) of the JSON object/array starting at `start`, skipping brackets inside strings.
fn scan_balanced(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = scan_string(bytes, i);
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// True when the text has an A1111 parameter line (a `Steps:` line, or a line of at least three pairs).
pub fn looks_like_infotext(text: &str) -> bool {
    let t = text.trim();
    if t.starts_with('{') || t.starts_with('[') {
        return false;
    }
    // `Infotext::parse(t).has_params`, without building the infotext.
    let t = t.trim_start_matches('\u{feff}');
    has_param_line(t) || unflatten(t).is_some_and(|fixed| has_param_line(&fixed))
}

/// Whether `Infotext::parse_lines(text)` finds a parameter line (the same test, nothing built).
fn has_param_line(text: &str) -> bool {
    let all = lines(text);
    all.iter().any(|l| starts_with_steps(l.text)) || all.iter().any(|l| is_param_line(l.text))
}

/// Without `Steps:`, a parameter line is at least three well-formed `key: value` pairs (no bare flag first), one
/// of them a known A1111 key.
fn is_param_line(line: &str) -> bool {
    let (params, clean) = parse_param_line(line);
    clean
        && params.len() >= 3
        && params
            .first()
            .is_some_and(|(k, v)| v.as_str() != Some(k.as_str()))
        && params.iter().any(|(k, _)| field_of(k).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params_of(info: &Infotext) -> Vec<(&str, String)> {
        info.params
            .iter()
            .map(|(k, v)| (k.as_str(), value_text(v)))
            .collect()
    }

    #[test]
    fn simple_infotext() {
        let info = Infotext::parse(
            "photo of a duck\nNegative prompt: monochrome\nSteps: 15, Sampler: UniPC, CFG scale: 5, Seed: 235284042, Size: 512x400, Model hash: c0d1994c73, Model: realistic",
        );
        assert_eq!(info.prompt, "photo of a duck");
        assert_eq!(info.negative.as_deref(), Some("monochrome"));
        assert_eq!(info.get("Sampler").as_deref(), Some("UniPC"));
        let mut r = Record::new();
        info.apply(&mut r);
        let p = r.params.unwrap();
        assert_eq!(p.steps, Some(15));
        assert_eq!(p.seed.as_deref(), Some("235284042"));
        assert_eq!((p.width, p.height), (Some(512), Some(400)));
        assert_eq!(p.model.unwrap().hash.as_deref(), Some("c0d1994c73"));
    }

    #[test]
    fn multi_line_prompts_keep_inner_text_and_blank_lines() {
        let info = Infotext::parse(
            "line one, \nline two\n\nNegative prompt: bad, \nworse\n\nSteps: 20, Sampler: Euler a, Seed: 1",
        );
        assert_eq!(info.prompt, "line one, \nline two");
        assert_eq!(info.negative.as_deref(), Some("bad, \nworse"));
        assert!(info.has_params);
    }

    #[test]
    fn missing_negative_prompt_is_none() {
        let info = Infotext::parse("a cat\nSteps: 20, Sampler: Euler, Seed: 3");
        assert_eq!(info.prompt, "a cat");
        assert_eq!(info.negative, None);
    }

    #[test]
    fn text_without_parameters_is_all_prompt() {
        let info = Infotext::parse("just a prompt: with a colon");
        assert!(!info.has_params);
        assert_eq!(info.prompt, "just a prompt: with a colon");
        assert!(!looks_like_infotext("just a prompt"));
    }

    #[test]
    fn quoted_values_with_commas_and_bare_json() {
        let line = r#"Steps: 20, Lora hashes: "a: 1b2c, b: 3d4e", RP Ratios: "1,1; 1,1", Tiled Diffusion: {"Method": "MoD", "tile": [1, 2]}, RP Bboxes: [[0, 0], [1, 2]], Hires fix, Created Date: 2026-01-04T01:27:21Z, Version: v1.10.1"#;
        let (params, clean) = parse_param_line(line);
        assert!(clean);
        let info = Infotext {
            params,
            ..Infotext::default()
        };
        assert_eq!(
            params_of(&info),
            vec![
                ("Steps", "20".into()),
                ("Lora hashes", "a: 1b2c, b: 3d4e".into()),
                ("RP Ratios", "1,1; 1,1".into()),
                ("Tiled Diffusion", r#"{"Method":"MoD","tile":[1,2]}"#.into()),
                ("RP Bboxes", "[[0,0],[1,2]]".into()),
                ("Hires fix", "Hires fix".into()),
                ("Created Date", "2026-01-04T01:27:21Z".into()),
                ("Version", "v1.10.1".into()),
            ]
        );
    }

    #[test]
    fn quoted_value_with_escaped_quote() {
        let (params, _) = parse_param_line(r#"Steps: 1, Hires prompt: "say \"hi\", ok", Seed: 2"#);
        assert_eq!(params[1].1, Value::String("say \"hi\", ok".into()));
        assert_eq!(params[2].1, Value::String("2".into()));
    }

    #[test]
    fn old_template_lines_after_the_parameter_line() {
        let info = Infotext::parse(
            "a red cat\nNegative prompt: blur\nSteps: 20, Seed: 5, Sampler: Euler\nTemplate: a {red|blue} cat\nNegative Template: {blur|noise}",
        );
        assert_eq!(info.prompt, "a red cat");
        assert_eq!(info.negative.as_deref(), Some("blur"));
        assert_eq!(info.get("Seed").as_deref(), Some("5"));
        assert_eq!(info.template.as_deref(), Some("a {red|blue} cat"));
        assert_eq!(info.negative_template.as_deref(), Some("{blur|noise}"));
        let mut r = Record::new();
        info.apply(&mut r);
        let t = r.prompt.unwrap().template.unwrap();
        assert_eq!(t.positive.as_deref(), Some("a {red|blue} cat"));
        assert!(!r.params.unwrap().extra.contains_key("Template"));
    }

    #[test]
    fn multi_line_template_and_new_style_template_parameter() {
        let info = Infotext::parse(
            "p\nSteps: 20, Seed: 5, Sampler: Euler\nTemplate: line1\nline2\nNegative Template: n",
        );
        assert_eq!(info.template.as_deref(), Some("line1\nline2"));
        let info = Infotext::parse(
            "p\nSteps: 20, Seed: 5, Template: \"a {x|y}, b\", Negative Template: \"n\"",
        );
        assert_eq!(info.template.as_deref(), Some("a {x|y}, b"));
        assert_eq!(info.negative_template.as_deref(), Some("n"));
    }

    #[test]
    fn crlf_bom_and_trailing_spaces() {
        let info = Infotext::parse(
            "\u{feff}a, \r\nb \r\n\r\nNegative prompt: c \r\n\r\nSteps: 20, Sampler: Euler a, Seed: 7  \r\n",
        );
        assert_eq!(info.prompt, "a, \r\nb");
        assert_eq!(info.negative.as_deref(), Some("c"));
        assert_eq!(info.get("Seed").as_deref(), Some("7"));
    }

    #[test]
    fn extra_lines_after_parameters_are_kept() {
        let info = Infotext::parse("p\nSteps: 20, Seed: 5, Sampler: Euler\nsomething else");
        assert_eq!(info.trailer, vec!["something else".to_string()]);
        let mut r = Record::new();
        info.apply(&mut r);
        assert_eq!(r.params.unwrap().extra["trailer"][0], "something else");
    }

    #[test]
    fn hires_and_loras() {
        let info = Infotext::parse(
            "x <lora:NoobV065sHyperDmd:0.8> <lora:other:1>\nSteps: 4, Seed: 1, Size: 512x768, Denoising strength: 0.3, Hires upscale: 1.5, Hires steps: 10, Hires upscaler: R-ESRGAN 4x+, Lora hashes: \"NoobV065sHyperDmd: 45b5bd0819cf, extra: 0011\"",
        );
        let mut r = Record::new();
        info.apply(&mut r);
        let p = r.params.unwrap();
        let h = p.hires.unwrap();
        assert_eq!(h.scale, Some(1.5));
        assert_eq!(h.steps, Some(10));
        assert_eq!(h.denoise, Some(0.3));
        assert_eq!(p.denoise, None);
        assert_eq!(p.width, Some(512));
        assert_eq!(p.loras.len(), 3);
        assert_eq!(p.loras[0].weight, Some(0.8));
        assert_eq!(p.loras[0].hash.as_deref(), Some("45b5bd0819cf"));
        assert_eq!(p.loras[2].name, "extra");
    }

    #[test]
    fn single_line_paste() {
        let info = Infotext::parse(
            "a cat, sitting Negative prompt: dog, blur Steps: 20, Sampler: Euler a, Seed: 9",
        );
        assert_eq!(info.prompt, "a cat, sitting");
        assert_eq!(info.negative.as_deref(), Some("dog, blur"));
        assert_eq!(info.get("Seed").as_deref(), Some("9"));
        let info = Infotext::parse("a cat, Steps: 20, Seed: 9, Sampler: Euler");
        assert_eq!(info.prompt, "a cat");
        assert_eq!(info.negative, None);
        let plain = Infotext::parse("count the Steps: none here");
        assert!(!plain.has_params);
    }

    #[test]
    fn the_last_steps_line_is_the_parameter_line() {
        let info = Infotext::parse(
            "Steps: a poem line\nNegative prompt: n\nSteps: 3, Sampler: Euler, Seed: 1",
        );
        assert_eq!(info.prompt, "Steps: a poem line");
        assert_eq!(info.get("Steps").as_deref(), Some("3"));
    }

    #[test]
    fn a_line_of_three_pairs_without_steps_is_a_parameter_line() {
        let info = Infotext::parse("p\nSize: 1024x1024, Seed: 1, CFG scale: 6");
        assert!(info.has_params);
        assert_eq!(info.prompt, "p");
    }
}
