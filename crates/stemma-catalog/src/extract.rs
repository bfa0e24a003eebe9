//! What the catalog keeps of one resolved file: the searchable columns, lineage edges, LoRAs and tags.

use serde_json::Value;
use stemma_model::Record;

use crate::resolver::Resolved;

/// The record extension member where tags travel with the file.
pub const EXT_TAGS: &str = "org.stemma.tags";
/// The record extension member where the rating travels with the file.
pub const EXT_RATING: &str = "org.stemma.rating";

/// A `settings.data` document larger than this is left out of the catalog's copy of the record: the file keeps it,
/// and a ComfyUI graph per image would dominate the catalog's size.
const MAX_SETTINGS_IN_CATALOG: usize = 8 * 1024;

/// The ids an image is known by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ids {
    pub pixel: Option<String>,
    pub data: Option<String>,
    /// True when the ids were read from the record rather than computed from the file.
    pub stored: bool,
}

impl Ids {
    /// The image's identity in the catalog: its pixel id where known, else its data id.
    pub fn content_id(&self) -> Option<&str> {
        self.pixel.as_deref().or(self.data.as_deref())
    }
}

/// One lineage edge as recorded by the child.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRow {
    pub parent_ref: Option<String>,
    pub relation: String,
    pub hint: Option<String>,
}

/// Everything the catalog stores about one image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageRow {
    pub ids: Ids,
    pub format: Option<String>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub source: Option<String>,
    pub generator: Option<String>,
    pub prompt: Option<String>,
    pub negative: Option<String>,
    pub template: Option<String>,
    pub negative_template: Option<String>,
    pub seed: Option<String>,
    pub steps: Option<i64>,
    pub cfg: Option<f64>,
    pub sampler: Option<String>,
    pub scheduler: Option<String>,
    pub model: Option<String>,
    pub model_hash: Option<String>,
    pub created: Option<String>,
    /// `YYYY-MM-DD` of `created`, else of the file's modification time.
    pub created_day: Option<String>,
    pub run_id: Option<String>,
    pub run_index: Option<i64>,
    pub sequence_id: Option<String>,
    pub frame: Option<f64>,
    pub record_json: Option<String>,
    pub loras: Vec<(String, Option<f64>)>,
    pub edges: Vec<EdgeRow>,
    pub tags: Vec<String>,
    pub rating: Option<i64>,
}

/// Names are compared without case: the catalog keeps them in lower case (the record keeps the original).
fn lower(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
}

fn to_i64(v: Option<u64>) -> Option<i64> {
    v.and_then(|v| i64::try_from(v).ok())
}

/// Build the row of a resolved file, given its ids and the day its file was last modified. The resolved file is
/// taken by value: its record becomes the catalog's copy without being cloned.
pub fn image_row(resolved: Resolved, ids: Ids, file_day: Option<String>) -> ImageRow {
    let meta = &resolved.metadata;
    let mut row = ImageRow {
        ids,
        format: Some(meta.format.name().to_string()),
        width: meta.width.map(i64::from),
        height: meta.height.map(i64::from),
        source: resolved.source.map(|s| s.name().to_string()),
        created_day: file_day,
        ..ImageRow::default()
    };
    let Some(record) = resolved.record else {
        return row;
    };
    fill_from_record(&mut row, &record);
    row.record_json = catalog_copy(record);
    row
}

fn fill_from_record(row: &mut ImageRow, record: &Record) {
    row.generator = record.generator.as_ref().map(|g| g.name.to_lowercase());
    if let Some(p) = &record.prompt {
        row.prompt = p.positive.clone();
        row.negative = p.negative.clone();
        if let Some(t) = &p.template {
            row.template = t.positive.clone();
            row.negative_template = t.negative.clone();
        }
    }
    if let Some(p) = &record.params {
        row.seed = p.seed.clone();
        row.steps = to_i64(p.steps);
        row.cfg = p.cfg_scale;
        row.sampler = lower(&p.sampler);
        row.scheduler = lower(&p.scheduler);
        if let Some(m) = &p.model {
            row.model = lower(&m.name);
            row.model_hash = lower(&m.hash);
        }
        if row.width.is_none() {
            row.width = to_i64(p.width);
            row.height = to_i64(p.height);
        }
        for l in &p.loras {
            let name = l.name.trim().to_lowercase();
            if !name.is_empty() && !row.loras.iter().any(|(n, _)| *n == name) {
                row.loras.push((name, l.weight));
            }
        }
    }
    if let Some(c) = &record.created {
        row.created = Some(c.clone());
        if c.len() >= 10 && c.as_bytes()[4] == b'-' && c.as_bytes()[7] == b'-' {
            row.created_day = c.get(..10).map(str::to_string);
        }
    }
    if let Some(r) = &record.run {
        row.run_id = Some(r.id.clone());
        row.run_index = to_i64(r.index);
    }
    if let Some(s) = &record.sequence {
        row.sequence_id = Some(s.id.clone());
        row.frame = s.time.or(s.frame.map(|f| f as f64));
    }
    row.edges = record
        .parents
        .iter()
        .map(|p| EdgeRow {
            parent_ref: p.id.clone(),
            relation: p.relation.clone(),
            hint: p.hint.clone(),
        })
        .collect();
    if let Some(Value::Array(tags)) = record.ext.get(EXT_TAGS) {
        row.tags = tags
            .iter()
            .filter_map(|t| t.as_str())
            .map(normalise_tag)
            .filter(|t| !t.is_empty())
            .collect();
    }
    row.rating = record.ext.get(EXT_RATING).and_then(Value::as_i64);
}

/// A tag as stored: trimmed, lower case.
pub fn normalise_tag(tag: &str) -> String {
    tag.trim().to_lowercase()
}

/// The record as the catalog keeps it: without the verbatim original metadata (`raw`), which stays in the file,
/// and without a settings document larger than [`MAX_SETTINGS_IN_CATALOG`].
///
/// Serialised once in the usual case: a record no longer than the limit cannot hold a larger settings document.
/// A longer one has its settings measured by a serialisation that stops at the limit (a ComfyUI graph can be
/// hundreds of KiB).
fn catalog_copy(mut copy: Record) -> Option<String> {
    copy.raw.clear();
    let json = serde_json::to_string(&copy).ok()?;
    if json.len() <= MAX_SETTINGS_IN_CATALOG {
        return Some(json);
    }
    let Some(settings) = &mut copy.settings else {
        return Some(json);
    };
    if !settings.data.as_ref().is_some_and(longer_than_limit) {
        return Some(json);
    }
    settings.data = None;
    serde_json::to_string(&copy).ok()
}

/// True when `value` serialises to more than [`MAX_SETTINGS_IN_CATALOG`] bytes (found without serialising the rest).
fn longer_than_limit(value: &Value) -> bool {
    /// A sink that fails once more than its budget is written, which ends the serialisation there.
    struct Budget(usize);
    impl std::io::Write for Budget {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self
                .0
                .checked_sub(buf.len())
                .ok_or_else(|| std::io::Error::other("over the budget"))?;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(&mut Budget(MAX_SETTINGS_IN_CATALOG), value).is_err()
}

/// The civil date (`YYYY-MM-DD`, UTC) of a time in seconds since 1970 (Howard Hinnant's `civil_from_days`).
pub fn day_of(unix_seconds: i64) -> String {
    let (y, m, d) = civil_from_days(unix_seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_civil_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(951_782_400), "2000-02-29");
        assert_eq!(day_of(1_700_000_000), "2023-11-14");
        assert_eq!(day_of(-86_400), "1969-12-31");
    }

    fn record_with(prompt_len: usize, settings_len: usize) -> Record {
        Record {
            prompt: Some(stemma_model::Prompt {
                positive: Some("p".repeat(prompt_len)),
                ..Default::default()
            }),
            settings: Some(stemma_model::Settings {
                format: Some("comfyui-api".into()),
                data: Some(serde_json::json!({ "text": "s".repeat(settings_len) })),
                ..Default::default()
            }),
            raw: vec![stemma_model::RawEntry::default()],
            ..Default::default()
        }
    }

    fn kept_settings(json: &str) -> bool {
        let v: Value = serde_json::from_str(json).unwrap_or_default();
        v.pointer("/settings/data/text").is_some()
    }

    #[test]
    fn catalog_copy_drops_only_a_large_settings_document() {
        // Small record, small settings: kept, raw dropped.
        let small = catalog_copy(record_with(10, 100)).unwrap_or_default();
        assert!(kept_settings(&small));
        assert!(!small.contains("\"raw\""));
        // A long prompt makes the record longer than the limit; its small settings stay.
        let long_prompt =
            catalog_copy(record_with(3 * MAX_SETTINGS_IN_CATALOG, 100)).unwrap_or_default();
        assert!(kept_settings(&long_prompt));
        // Settings just under and just over the limit.
        let under =
            catalog_copy(record_with(10, MAX_SETTINGS_IN_CATALOG - 100)).unwrap_or_default();
        assert!(kept_settings(&under));
        let over = catalog_copy(record_with(10, MAX_SETTINGS_IN_CATALOG + 1)).unwrap_or_default();
        assert!(!kept_settings(&over));
        assert!(
            over.contains("comfyui-api"),
            "the settings' other members stay: {over}"
        );
    }
}
