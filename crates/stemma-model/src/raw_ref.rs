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
        let wanted = entry.sha256.clone().unwrap_or_default();
        let found = lookup(&entry.origin, entry.key.as_deref())
            .into_iter()
            .find(|bytes| {
                ContentId::from_digest(Sha256::digest(bytes).into()).to_string() == wanted
            });
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
                entry.base64 =
                    Some(base64::engine::general_purpose::STANDARD.encode(e.into_bytes()))
            }
        }
        expanded += 1;
    }
    Ok(expanded)
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
}
