//! Importers of files that lie beside an image: the A1111 infotext `<stem>.txt` ("save text file" option) and
//! A1111's `log.csv` (the Save button's log, one row per image). They read the folder through
//! [`Evidence::folder`](crate::Evidence), never the file system directly.

use std::path::Path;

use stemma_container::{Entry, Value as EntryValue};
use stemma_model::RawEntry;

use crate::dialects::a1111::{looks_like_a1111_infotext, A1111};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result, Tier};

/// A1111's `.txt` beside the image.
pub struct A1111TextFile;

/// The name of the text file A1111 writes beside `file_name` (`00012-1.png` → `00012-1.txt`).
fn text_name(file_name: &str) -> Option<String> {
    let txt = Path::new(file_name).with_extension("txt");
    let name = txt.to_str()?;
    (name != file_name).then(|| name.to_string())
}

fn text_beside(evidence: &Evidence) -> Option<(String, std::sync::Arc<str>)> {
    let name = text_name(evidence.file_name?)?;
    let text = evidence.folder?.text(&name)?;
    looks_like_a1111_infotext(&text).then_some((name, text))
}

impl Importer for A1111TextFile {
    fn id(&self) -> &'static str {
        "a1111-txt"
    }
    fn describe(&self) -> &'static str {
        "AUTOMATIC1111 and forks: the infotext written beside the image (\"Create a text file next to every image\")"
    }
    fn detection_rule(&self) -> &'static str {
        "`<name>.txt` beside the image holding A1111 infotext"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(text_beside(evidence).is_some(), Confidence::Strong)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let (name, text) = text_beside(evidence).ok_or(Error::Parse {
            dialect: "a1111-txt",
            reason: "no infotext file beside the image".into(),
        })?;
        // The text file is read as one more entry of the image, by the A1111 importer itself (the one infotext
        // parser), so the record is the one the same text inside the image would give.
        let mut metadata = evidence.metadata.clone();
        metadata.entries.push(Entry {
            origin: format!("file:{name}"),
            key: "text".into(),
            value: EntryValue::Text(text.to_string()),
            after_image_data: false,
            encoding: Some("utf-8"),
        });
        let with_text = Evidence {
            metadata: &metadata,
            ..*evidence
        };
        A1111.import(&with_text)
    }
    fn tier(&self) -> Tier {
        Tier::Beside
    }
}

/// A1111's `log.csv` in the image's folder, with a row naming the image.
pub struct A1111LogCsv;

fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn log_row(evidence: &Evidence) -> Option<stemma_model::Record> {
    let name = evidence.file_name?;
    let folder = evidence.folder?;
    if !folder.has("log.csv") {
        return None;
    }
    folder
        .log_rows()
        .iter()
        .find(|row| base_name(&row.filename) == name)
        .map(|row| row.record.clone())
}

impl Importer for A1111LogCsv {
    fn id(&self) -> &'static str {
        "a1111-log-csv"
    }
    fn describe(&self) -> &'static str {
        "AUTOMATIC1111: the Save button's `log.csv` beside the saved images"
    }
    fn detection_rule(&self) -> &'static str {
        "`log.csv` beside the image with a row whose `filename` is the image's name"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(log_row(evidence).is_some(), Confidence::Strong)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let mut record = log_row(evidence).ok_or(Error::Parse {
            dialect: "a1111-log-csv",
            reason: "no row of log.csv names the image".into(),
        })?;
        for raw in &mut record.raw {
            raw.used = true;
        }
        record.raw.extend(evidence.entries().filter_map(|e| {
            e.value.as_text().map(|t| RawEntry {
                origin: e.origin.clone(),
                key: Some(e.key.clone()),
                text: Some(t.to_string()),
                ..RawEntry::default()
            })
        }));
        Ok(Imported {
            dialect: "a1111-log-csv",
            record,
            warnings: Vec::new(),
        })
    }
    fn tier(&self) -> Tier {
        Tier::Beside
    }
}
