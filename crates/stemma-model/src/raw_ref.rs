//! `raw` entries by reference (specification §3.4.1): a value kept in the same file is named by origin, key and
//! the SHA-256 of its bytes instead of being copied into the record, and copied in only when the record leaves the
//! file (conversion to another container, a sidecar, a catalogue).

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ids::ContentId;
use crate::record::{RawEntry, Record};

impl RawEntry {
    /// A reference to the value `bytes` found at `origin` / `key` in the same file.
    pub fn by_reference(origin: &str, key: Option<&str>, bytes: &[u8]) -> RawEntry {
        RawEntry {
            origin: origin.to_string(),
            key: key.map(str::to_string),
            sha256: Some(ContentId::from_digest(Sha256::digest(bytes).into()).to_string()),
            ..RawEntry::default()
        }
    }

    /// True when the entry names a value kept elsewhere in the file instead of holding it.
    pub fn is_reference(&self) -> bool {
        self.sha256.is_some() && self.text.is_none() && self.base64.is_none()
    }

    /// The bytes of the value the entry holds (`text` as UTF-8, or `base64` decoded), if it holds one.
    pub fn value_bytes(&self) -> Option<Vec<u8>> {
        match (&self.text, &self.base64) {
            (Some(text), _) => Some(text.as_bytes().to_vec()),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD.decode(b64).ok(),
            (None, None) => None,
        }
    }
}

/// The `sha256:` id of a value's bytes.
fn value_id(bytes: &[u8]) -> String {
    ContentId::from_digest(Sha256::digest(bytes).into()).to_string()
}

/// Copy one referenced value in: the candidate `lookup` gives whose SHA-256 matches, as `text` (valid UTF-8) or
/// `base64`. The error names the entry when no candidate matches.
fn expand_one(
    entry: &mut RawEntry,
    lookup: &impl Fn(&str, Option<&str>) -> Vec<Vec<u8>>,
) -> Result<()> {
    let wanted = entry.sha256.clone().unwrap_or_default();
    let found = lookup(&entry.origin, entry.key.as_deref())
        .into_iter()
        .find(|bytes| value_id(bytes) == wanted);
    let Some(bytes) = found else {
        return Err(Error::MissingRaw {
            origin: entry.origin.clone(),
            key: entry.key.clone().unwrap_or_default(),
            sha256: wanted,
        });
    };
    match String::from_utf8(bytes) {
        Ok(text) => entry.text = Some(text),
        Err(e) => {
            entry.base64 = Some(base64::engine::general_purpose::STANDARD.encode(e.into_bytes()))
        }
    }
    Ok(())
}

/// Copy every referenced value into the record. `lookup` returns the candidate values the file holds at an entry's
/// origin and key (several chunks may share a keyword); the one whose SHA-256 matches is copied in as `text` (valid
/// UTF-8) or `base64`. The `sha256` member is kept so the copy can still be checked. Fails, naming the entry, when
/// no candidate matches: a record must never leave the file having silently lost its verbatim metadata.
pub fn expand_raw_references(
    record: &mut Record,
    lookup: impl Fn(&str, Option<&str>) -> Vec<Vec<u8>>,
) -> Result<usize> {
    let mut expanded = 0;
    for entry in record.raw.iter_mut().filter(|e| e.is_reference()) {
        expand_one(entry, &lookup)?;
        expanded += 1;
    }
    Ok(expanded)
}

/// [`expand_raw_references`] for a reader showing a record: every reference whose value the file still holds is
/// expanded; each one it does not hold is left as a reference and reported ([`Error::MissingRaw`]), since a
/// missing value is not an error of the record (specification §3.4.1).
pub fn expand_raw_references_reporting(
    record: &mut Record,
    lookup: impl Fn(&str, Option<&str>) -> Vec<Vec<u8>>,
) -> Vec<Error> {
    record
        .raw
        .iter_mut()
        .filter(|e| e.is_reference())
        .filter_map(|entry| expand_one(entry, &lookup).err())
        .collect()
}

/// The opposite of expansion, for a record about to be written into the file its values were read from: every entry
/// that holds a value of at least `min_len` bytes which the file keeps at the entry's origin and key (`lookup`, as
/// for expansion, byte for byte) becomes a reference to it, so that the record does not store it twice (§3.4.1).
/// Entries whose value the file does not hold (a file beside it, a value the importer normalised) stay copies.
/// `used` and unknown members are kept. Returns how many entries became references.
pub fn reference_raw_values(
    record: &mut Record,
    min_len: usize,
    lookup: impl Fn(&str, Option<&str>) -> Vec<Vec<u8>>,
) -> usize {
    let mut referenced = 0;
    for entry in record.raw.iter_mut().filter(|e| !e.is_reference()) {
        let Some(bytes) = entry.value_bytes() else {
            continue;
        };
        if bytes.len() < min_len {
            continue;
        }
        let id = value_id(&bytes);
        if entry.sha256.as_ref().is_some_and(|s| *s != id) {
            // A copy whose stated hash is not its value's: keep it as it is, for a reader to notice.
            continue;
        }
        if !lookup(&entry.origin, entry.key.as_deref()).contains(&bytes) {
            continue;
        }
        entry.sha256 = Some(id);
        entry.text = None;
        entry.base64 = None;
        referenced += 1;
    }
    referenced
}

/// Whether a record's text holds a `raw` reference (an entry with `sha256` and neither `text` nor `base64`): such a
/// record must be expanded before it leaves its file, so its text cannot be copied out as it is.
pub fn has_raw_references(record_json: &str) -> bool {
    record_json.contains("\"sha256\"")
        && crate::parse_record(record_json)
            .is_ok_and(|record| record.raw.iter().any(RawEntry::is_reference))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_record, record_to_json};

    #[test]
    fn a_reference_expands_to_the_matching_chunk_and_only_to_it() {
        let workflow = r#"{"3":{"class_type":"KSampler"}}"#;
        let mut record = Record::new();
        record.raw.push(RawEntry::by_reference(
            "png:tEXt",
            Some("prompt"),
            workflow.as_bytes(),
        ));
        let text = record_to_json(&record).unwrap();
        assert!(
            !text.contains("KSampler"),
            "a reference must not copy the value"
        );
        let mut back = parse_record(&text).unwrap();
        assert!(back.raw[0].is_reference());
        let lookup = |origin: &str, key: Option<&str>| -> Vec<Vec<u8>> {
            assert_eq!((origin, key), ("png:tEXt", Some("prompt")));
            vec![b"{}".to_vec(), workflow.as_bytes().to_vec()]
        };
        assert_eq!(expand_raw_references(&mut back, lookup).unwrap(), 1);
        assert_eq!(back.raw[0].text.as_deref(), Some(workflow));
        assert_eq!(back.raw[0].value_bytes().unwrap(), workflow.as_bytes());
    }

    #[test]
    fn a_changed_chunk_is_an_error_not_a_silent_loss() {
        let mut record = Record::new();
        record
            .raw
            .push(RawEntry::by_reference("png:tEXt", Some("prompt"), b"old"));
        let err = expand_raw_references(&mut record, |_, _| vec![b"new".to_vec()]).unwrap_err();
        assert!(err.to_string().contains("png:tEXt"), "{err}");
        assert!(record.raw[0].text.is_none());
    }

    #[test]
    fn binary_values_expand_to_base64() {
        let mut record = Record::new();
        record.raw.push(RawEntry::by_reference(
            "png:eXIf",
            None,
            &[0xff, 0x00, 0xfe],
        ));
        expand_raw_references(&mut record, |_, _| vec![vec![0xff, 0x00, 0xfe]]).unwrap();
        assert_eq!(record.raw[0].base64.as_deref(), Some("/wD+"));
    }

    #[test]
    fn kept_values_become_references_and_expand_back_to_the_same_record() {
        let workflow = "{\"3\":{\"class_type\":\"KSampler\"}}".repeat(40);
        let mut record = Record::new();
        record.raw.push(RawEntry {
            origin: "png:tEXt".into(),
            key: Some("prompt".into()),
            text: Some(workflow.clone()),
            used: true,
            ..RawEntry::default()
        });
        // Short values, values the file does not hold and values beside the file stay copies.
        record.raw.push(RawEntry {
            origin: "png:tEXt".into(),
            key: Some("short".into()),
            text: Some("tiny".into()),
            ..RawEntry::default()
        });
        record.raw.push(RawEntry {
            origin: "file:settings.txt".into(),
            text: Some(workflow.clone()),
            ..RawEntry::default()
        });
        let original = record.clone();
        let file = |origin: &str, key: Option<&str>| -> Vec<Vec<u8>> {
            match (origin, key) {
                ("png:tEXt", Some("prompt")) => vec![workflow.as_bytes().to_vec()],
                ("png:tEXt", Some("short")) => vec![b"tiny".to_vec()],
                _ => Vec::new(),
            }
        };
        assert_eq!(reference_raw_values(&mut record, 64, file), 1);
        assert!(record.raw[0].is_reference() && record.raw[0].used);
        assert!(!record.raw[1].is_reference() && !record.raw[2].is_reference());
        let json = crate::record_to_json(&record).unwrap();
        // One copy left: the value beside the file's; the one the file keeps is named, not copied.
        assert_eq!(json.matches("KSampler").count(), 40);
        assert!(has_raw_references(&json));
        let mut back = parse_record(&json).unwrap();
        assert!(expand_raw_references_reporting(&mut back, file).is_empty());
        assert!(!has_raw_references(&crate::record_to_json(&back).unwrap()));
        // The copy comes back with its hash kept.
        assert_eq!(back.raw[0].text, original.raw[0].text);
        assert_eq!(back.raw[0].sha256, record.raw[0].sha256);
        assert_eq!(back.raw[1..], original.raw[1..]);
    }

    #[test]
    fn a_reader_expands_what_it_can_and_reports_the_rest() {
        let mut record = Record::new();
        record
            .raw
            .push(RawEntry::by_reference("png:tEXt", Some("gone"), b"old"));
        record
            .raw
            .push(RawEntry::by_reference("png:tEXt", Some("kept"), b"value"));
        let file = |_: &str, key: Option<&str>| -> Vec<Vec<u8>> {
            match key {
                Some("kept") => vec![b"value".to_vec()],
                _ => vec![b"new".to_vec()],
            }
        };
        let missing = expand_raw_references_reporting(&mut record, file);
        assert_eq!(missing.len(), 1);
        assert!(missing[0].to_string().contains("gone"), "{}", missing[0]);
        assert!(record.raw[0].is_reference());
        assert_eq!(record.raw[1].text.as_deref(), Some("value"));
    }
}
