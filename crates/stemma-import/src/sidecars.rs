//! Per-image and per-frame sidecars: A1111 `.txt` infotext and `log.csv`, Deforum `{timestring}.srt`.
//! The infotext itself is parsed by the A1111 importer (`dialects/infotext.rs`), the one parser of that text.

use std::collections::BTreeMap;

use serde::Serialize;
use stemma_container::{Entry, Metadata, Value as EntryValue};
use stemma_model::{Generator, Params, Prompt, RawEntry, Record};

use crate::error::{Error, Result};
use crate::Evidence;

/// A record from A1111 infotext kept in a file of its own (a `.txt` sidecar, `params.txt`), read by the one
/// infotext parser of the A1111 importer: the same record the text gives inside an image, with the text verbatim
/// in `raw` (origin `file:txt`).
pub fn import_a1111_txt(text: &str) -> Record {
    let metadata = Metadata {
        entries: vec![Entry {
            origin: "file:txt".into(),
            key: "parameters".into(),
            value: EntryValue::Text(text.to_string()),
            after_image_data: false,
            encoding: Some("utf-8"),
        }],
        ..Metadata::default()
    };
    let evidence = Evidence::new(&metadata);
    let mut record = crate::dialects::a1111::a1111_infotext_record(&evidence, text);
    record.raw = vec![RawEntry {
        origin: "file:txt".into(),
        key: Some("parameters".into()),
        text: Some(text.to_string()),
        used: true,
        ..RawEntry::default()
    }];
    record
}

fn parse_num<T: std::str::FromStr>(v: Option<&str>) -> Option<T> {
    v?.trim().parse().ok()
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
    /// The cue's text as written (the lines after its timing line), kept verbatim in a record's `raw`.
    pub text: String,
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
            text: body.clone(),
        });
    }
    if frames.is_empty() && !text.trim().is_empty() {
        return Err(Error::Invalid {
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
