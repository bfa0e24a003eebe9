//! Per-image and per-frame sidecars: A1111 `.txt` infotext and `log.csv`, Deforum `{timestring}.srt`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use stemma_model::{Generator, Hires, ModelRef, Params, Prompt, RawEntry, Record};

use crate::error::{Error, Result};

// ---------------------------------------------------------------------------------------------------------------
// A1111 infotext (`.txt` sidecar, `params.txt`)
// ---------------------------------------------------------------------------------------------------------------

/// The parts of an A1111 infotext: prompt, negative prompt and the `key: value` parameters in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Infotext {
    pub prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative: Option<String>,
    pub params: Vec<(String, String)>,
}

impl Infotext {
    /// The value of a parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Split A1111's parameter line at `, ` outside quotes and brackets into `key: value` pairs.
pub fn split_infotext_params(line: &str) -> Vec<(String, String)> {
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut escaped = false;
    let mut current = String::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if quoted {
            current.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
            i += 1;
            continue;
        }
        match c {
            '"' => quoted = true,
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth <= 0 && chars.get(i + 1) == Some(&' ') {
            items.push(std::mem::take(&mut current));
            i += 2;
            continue;
        }
        current.push(c);
        i += 1;
    }
    items.push(current);
    items
        .into_iter()
        .filter_map(|item| {
            let (k, v) = item.split_once(": ")?;
            let v = v.trim();
            let v = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
                serde_json::from_str::<String>(v).unwrap_or_else(|_| v.to_string())
            } else {
                v.to_string()
            };
            Some((k.trim().to_string(), v))
        })
        .collect()
}

/// Parse A1111 infotext: prompt lines, an optional `Negative prompt:` block, and the last line that starts with
/// `Steps: ` as the parameters.
pub fn parse_infotext(text: &str) -> Infotext {
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let params_at = lines
        .iter()
        .rposition(|l| l.trim_start().starts_with("Steps: "));
    let (body, params) = match params_at {
        Some(i) => (&lines[..i], split_infotext_params(lines[i].trim())),
        None => (&lines[..], Vec::new()),
    };
    let neg_at = body.iter().position(|l| l.starts_with("Negative prompt:"));
    let (prompt_lines, negative) = match neg_at {
        Some(i) => {
            let mut neg = body[i..].join("\n");
            neg = neg
                .trim_start_matches("Negative prompt:")
                .trim()
                .to_string();
            (&body[..i], Some(neg))
        }
        None => (body, None),
    };
    Infotext {
        prompt: prompt_lines.join("\n").trim().to_string(),
        negative,
        params,
    }
}

fn parse_num<T: std::str::FromStr>(v: Option<&str>) -> Option<T> {
    v?.trim().parse().ok()
}

/// A record from A1111 infotext (a `.txt` sidecar, `params.txt`): prompt, negative, the common parameters
/// normalised, every other parameter under its own name in `params`, and the text verbatim in `raw`.
pub fn import_a1111_txt(text: &str) -> Record {
    let info = parse_infotext(text);
    let mut record = Record::new();
    record.generator = Some(Generator {
        name: "a1111".into(),
        version: info.get("Version").map(str::to_string),
        dialect: Some("a1111-txt".into()),
        ..Generator::default()
    });
    if !info.prompt.is_empty() || info.negative.is_some() {
        record.prompt = Some(Prompt {
            positive: Some(info.prompt.clone()),
            negative: info.negative.clone(),
            ..Prompt::default()
        });
    }
    let mut p = Params::default();
    let mut hires = Hires::default();
    for (key, value) in &info.params {
        let v = Some(value.as_str());
        match key.as_str() {
            "Steps" => p.steps = parse_num(v),
            "Sampler" => p.sampler = Some(value.clone()),
            "Schedule type" => p.scheduler = Some(value.clone()),
            "CFG scale" => p.cfg_scale = parse_num(v),
            "Seed" => p.seed = Some(value.clone()),
            "Size" => {
                if let Some((w, h)) = value.split_once('x') {
                    p.width = parse_num(Some(w));
                    p.height = parse_num(Some(h));
                }
            }
            "Model hash" => {
                p.model.get_or_insert_with(ModelRef::default).hash = Some(value.clone());
            }
            "Model" => {
                p.model.get_or_insert_with(ModelRef::default).name = Some(value.clone());
            }
            "Denoising strength" => p.denoise = parse_num(v),
            "Clip skip" => p.clip_skip = parse_num(v),
            "Hires upscale" => hires.scale = parse_num(v),
            "Hires upscaler" => hires.upscaler = Some(value.clone()),
            "Hires steps" => hires.steps = parse_num(v),
            "Version" => {}
            _ => {
                p.extra.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
    if hires != Hires::default() {
        hires.denoise = p.denoise;
        p.hires = Some(hires);
    }
    if !p.is_empty() {
        record.params = Some(p);
    }
    record.raw.push(RawEntry {
        origin: "file:txt".into(),
        key: Some("parameters".into()),
        text: Some(text.to_string()),
        used: true,
        ..RawEntry::default()
    });
    record
}

/// One row of A1111's `log/images/log.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    /// The image file the row describes (column `filename`).
    pub filename: String,
    pub record: Record,
}

/// Read A1111's `log.csv` (`prompt,seed,width,height,sampler,cfgs,steps,filename,negative_prompt`; older logs
/// lack columns, so columns are found by header name).
pub fn import_a1111_log_csv(text: &str) -> Result<Vec<LogRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let bad = |source| Error::Csv {
        what: "log.csv".into(),
        source,
    };
    let headers = reader.headers().map_err(bad)?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (c_prompt, c_seed, c_w, c_h) = (col("prompt"), col("seed"), col("width"), col("height"));
    let (c_sampler, c_cfg, c_steps) = (col("sampler"), col("cfgs"), col("steps"));
    let (c_file, c_neg) = (col("filename"), col("negative_prompt"));
    let mut rows = Vec::new();
    for result in reader.records() {
        let row = result.map_err(bad)?;
        let get = |c: Option<usize>| c.and_then(|i| row.get(i)).map(str::to_string);
        let mut record = Record::new();
        record.generator = Some(Generator {
            name: "a1111".into(),
            dialect: Some("a1111-log-csv".into()),
            ..Generator::default()
        });
        record.prompt = Some(Prompt {
            positive: get(c_prompt),
            negative: get(c_neg).filter(|n| !n.is_empty()),
            ..Prompt::default()
        });
        let p = Params {
            seed: get(c_seed).filter(|s| !s.is_empty()),
            width: parse_num(get(c_w).as_deref()),
            height: parse_num(get(c_h).as_deref()),
            sampler: get(c_sampler).filter(|s| !s.is_empty()),
            cfg_scale: parse_num(get(c_cfg).as_deref()),
            steps: parse_num(get(c_steps).as_deref()),
            ..Params::default()
        };
        record.params = Some(p);
        let line: Vec<&str> = row.iter().collect();
        record.raw.push(RawEntry {
            origin: "file:log.csv".into(),
            key: Some(headers.iter().collect::<Vec<_>>().join(",")),
            text: Some(line.join("\u{1f}")),
            used: true,
            ..RawEntry::default()
        });
        rows.push(LogRow {
            filename: get(c_file).unwrap_or_default(),
            record,
        });
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------------------------
// Deforum `.srt`
// ---------------------------------------------------------------------------------------------------------------

/// One cue of a Deforum `{timestring}.srt`: what was used for one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SrtFrame {
    /// `F#` (cue N is frame N − 1).
    pub frame: u64,
    /// `Cadence: True` marks a cadence in-between frame.
    pub cadence: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative: Option<String>,
    /// Start and end of the cue in milliseconds.
    pub start_ms: u64,
    pub end_ms: u64,
    /// The other `Key: value` fields (schedule values).
    pub fields: BTreeMap<String, String>,
}

/// A parsed Deforum `.srt`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeforumSrt {
    pub frames: Vec<SrtFrame>,
    /// Frames per second from the cue timing (cue duration is 1/fps), rounded to a whole number when within 1%.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
}

impl DeforumSrt {
    /// The cue of frame `frame`.
    pub fn frame(&self, frame: u64) -> Option<&SrtFrame> {
        self.frames.iter().find(|f| f.frame == frame)
    }
}

fn srt_time(t: &str) -> Option<u64> {
    let (hms, ms) = t.trim().split_once([',', '.'])?;
    let mut parts = hms.split(':');
    let h: u64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let s: u64 = parts.next()?.parse().ok()?;
    let ms: u64 = ms.trim().parse().ok()?;
    Some(((h * 60 + m) * 60 + s) * 1000 + ms)
}

/// Parse a Deforum `.srt` (subtitle_handler.py: `F#: {frame}; Cadence: {bool}; Seed: {seed}; ...; Prompt: ...`).
pub fn parse_deforum_srt(text: &str) -> Result<DeforumSrt> {
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let mut frames = Vec::new();
    for block in text.split("\n\n") {
        let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
        let Some(arrow) = lines.iter().position(|l| l.contains("-->")) else {
            continue;
        };
        let (start, end) = lines[arrow].split_once("-->").unwrap_or(("", ""));
        let body = lines[arrow + 1..].join("\n");
        let (head, prompt) = match body.split_once("Prompt: ") {
            Some((head, prompt)) => (head.to_string(), Some(prompt.to_string())),
            None => (body.clone(), None),
        };
        let mut fields = BTreeMap::new();
        for item in head.split(';') {
            if let Some((k, v)) = item.split_once(':') {
                fields.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        let Some(frame) = fields.remove("F#").and_then(|f| f.parse().ok()) else {
            continue;
        };
        let cadence = fields
            .remove("Cadence")
            .is_some_and(|c| c.eq_ignore_ascii_case("true"));
        let seed = fields.remove("Seed");
        let (prompt, negative) = match prompt {
            Some(p) => {
                let (pos, neg) = crate::settings::split_deforum_neg(p.trim_end_matches(';'));
                (Some(pos), neg)
            }
            None => (None, None),
        };
        frames.push(SrtFrame {
            frame,
            cadence,
            seed,
            prompt,
            negative,
            start_ms: srt_time(start).unwrap_or(0),
            end_ms: srt_time(end).unwrap_or(0),
            fields,
        });
    }
    if frames.is_empty() && !text.trim().is_empty() {
        return Err(Error::Parse {
            what: "srt".into(),
            reason: "no Deforum cue (F#: ...) found".into(),
        });
    }
    let fps = frames.last().and_then(|last| {
        if last.end_ms == 0 {
            return None;
        }
        let fps = frames.len() as f64 * 1000.0 / last.end_ms as f64;
        let round = fps.round();
        Some(if (fps - round).abs() <= round * 0.01 {
            round
        } else {
            (fps * 1000.0).round() / 1000.0
        })
    });
    Ok(DeforumSrt { frames, fps })
}
