//! `raw` entries by reference (specification §3.4.1), between a record and the file it lives in.
//!
//! An imported record keeps the generator's metadata verbatim in `raw`; when the record is written into the same
//! file, that metadata is still there (a ComfyUI workflow in its `tEXt` chunk), so the record names it by SHA-256
//! instead of holding a second copy ([`reference_values_kept_in_file`]). A record read from its file is expanded
//! back into copies ([`expand_values_from_file`], which [`crate::resolve()`] applies), so every record a caller
//! gets — to show, to convert, to catalogue, to write as a sidecar — is complete; only the record at rest inside its
//! file holds references.

use stemma_container::Metadata;
use stemma_model::{expand_raw_references_reporting, reference_raw_values, Record};

/// Smallest value stored by reference: a reference costs about 120 bytes of JSON, so shorter values are copied.
pub const MIN_REFERENCED_VALUE: usize = 1024;

/// Origins whose values a record write never changes: text chunks of PNG (stemma writes only its own `stemma`
/// chunk and, when asked, a marked `parameters` mirror), JPEG and GIF comments, and EXIF (left as it is on import).
/// XMP is not among them: stemma's record goes into the packet, which then no longer hashes as it did.
fn kept_by_writes(origin: &str, key: Option<&str>) -> bool {
    let stemma_own = matches!(key, Some("stemma" | "XML:com.adobe.xmp"));
    match origin {
        "png:tEXt" | "png:zTXt" | "png:iTXt" => !stemma_own,
        "jpeg:COM" | "gif:comment" | "exif" => true,
        _ => false,
    }
}

/// The values `metadata` holds at `origin`/`key`.
fn values_in(metadata: &Metadata, origin: &str, key: Option<&str>) -> Vec<Vec<u8>> {
    metadata.raw_values(origin, key)
}

/// Make every large `raw` value that the file (`metadata`, read from the file the record is about to be written
/// into) keeps, and that writing the record leaves untouched, a reference. Call it only for a record written into
/// that same file, never for a sidecar or another file. Returns how many entries became references.
pub fn reference_values_kept_in_file(record: &mut Record, metadata: &Metadata) -> usize {
    reference_raw_values(record, MIN_REFERENCED_VALUE, |origin, key| {
        if kept_by_writes(origin, key) {
            values_in(metadata, origin, key)
        } else {
            Vec::new()
        }
    })
}

/// Expand every reference of a record read from the file `metadata` describes, into the copy an importer makes (the
/// hash, checked on the way, is not kept: the record a caller gets is the record as it was before it was written, so
/// importing a file and reading it back gives the same record). A reference whose value the file no longer holds
/// stays a reference and is reported in the returned warnings (it is not an error of the record).
pub fn expand_values_from_file(record: &mut Record, metadata: &Metadata) -> Vec<String> {
    let references: Vec<usize> = (0..record.raw.len())
        .filter(|&i| record.raw[i].is_reference())
        .collect();
    let missing =
        expand_raw_references_reporting(record, |origin, key| values_in(metadata, origin, key));
    for i in references {
        if let Some(entry) = record.raw.get_mut(i).filter(|e| !e.is_reference()) {
            entry.sha256 = None;
        }
    }
    missing.into_iter().map(|e| e.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stemma_container::{Entry, Value as EntryValue};
    use stemma_model::RawEntry;

    fn entry(origin: &str, key: &str, text: &str) -> Entry {
        Entry {
            origin: origin.into(),
            key: key.into(),
            value: EntryValue::Text(text.into()),
            after_image_data: false,
            encoding: Some("utf-8"),
        }
    }

    #[test]
    fn only_values_that_record_writes_leave_alone_become_references() {
        let big = "x".repeat(MIN_REFERENCED_VALUE);
        let metadata = Metadata {
            entries: vec![
                entry("png:tEXt", "workflow", &big),
                entry("xmp", "xmp:Description", &big),
            ],
            ..Metadata::default()
        };
        let copy = |origin: &str, key: &str| RawEntry {
            origin: origin.into(),
            key: Some(key.into()),
            text: Some(big.clone()),
            ..RawEntry::default()
        };
        let mut record = Record::new();
        record.raw = vec![copy("png:tEXt", "workflow"), copy("xmp", "xmp:Description")];
        assert_eq!(reference_values_kept_in_file(&mut record, &metadata), 1);
        assert!(record.raw[0].is_reference());
        assert!(!record.raw[1].is_reference());
        assert!(expand_values_from_file(&mut record, &metadata).is_empty());
        assert_eq!(record.raw[0].text.as_deref(), Some(big.as_str()));
        // The chunk changed since: the reference stays and is reported.
        let mut record2 = Record::new();
        record2.raw.push(RawEntry::by_reference(
            "png:tEXt",
            Some("workflow"),
            b"gone",
        ));
        let warnings = expand_values_from_file(&mut record2, &metadata);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("workflow"), "{}", warnings[0]);
    }
}
