//! The checks behind every fuzz target, one public function per target (`fuzz_targets/<name>.rs` only calls it).
//!
//! A check returns normally for any input the code under test rejects with an error, and panics (which libFuzzer
//! reports as a crash) when the code panics or when an invariant fails: a writer that does not give back the
//! input, a parse that does not survive its own serialisation. Keeping the checks in a library lets the stable
//! test `tests/replay.rs` run every seed and every saved crash through the very same code without libFuzzer.
// Panicking on a broken invariant is what a fuzz check is for.
#![allow(clippy::panic)]

use stemma_container::handler::{handler_for, RecordChange};
use stemma_container::source::Source;
use stemma_container::{exif, mirror, ops, xmp};
use stemma_container::{Edit, Entry, Format, Limits, Metadata, StripProfile, Value};
use stemma_import::Evidence;

/// Limits for fuzzing: the defaults, with the sizes that allow large allocations cut down so that an input which
/// claims huge sizes fails fast instead of tripping libFuzzer's memory limit.
pub const FUZZ_LIMITS: Limits = Limits {
    max_metadata_chunk: 4 * 1024 * 1024,
    max_text_decompressed: 4 * 1024 * 1024,
    max_total_text: 16 * 1024 * 1024,
    max_record: 4 * 1024 * 1024,
    max_edit_file: 64 * 1024 * 1024,
    max_pixels: 4 * 1024 * 1024,
    ..Limits::DEFAULT
};

/// Every fuzz target by name, with its check: what `run.sh`, the seed script and the replay test iterate over.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("read_png", read_png),
    ("read_jpeg", read_jpeg),
    ("read_webp", read_webp),
    ("read_gif", read_gif),
    ("read_bmff", read_bmff),
    ("read_xmp", read_xmp),
    ("read_exif", read_exif),
    ("write_roundtrip", write_roundtrip),
    ("import_entries", import_entries),
    ("parse_record", parse_record),
    ("catalog_query", catalog_query),
];

/// Example queries of the catalog's language (README, `stemma find --help`): the seeds of `catalog_query`.
pub const QUERIES: &[&str] = &[
    "lighthouse",
    "lighthouse -fog steps:20..40 model:dream* size:portrait",
    "date:\"3 days ago\".. tag:keeper rating:>=4",
    "(seed:42 OR seed:43) AND NOT sampler:\"euler a\"",
    "size:512x? cfg:7.5 lora:detail* has:parents generator:comfyui",
    "negative:blurry path:out/* has:template has:sequence size:16:9 landscape",
    "\"a red fox\" -(tag:bad OR rating:<2) date:2024-01-01..2024-12-31",
];

/// The catalog's query language: parsing and compiling to SQL never panic, and a parse error points inside the
/// input (its column is at most one past the end).
pub fn catalog_query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match stemma_catalog::query::parse(text) {
        Ok(expr) => {
            let _ = stemma_catalog::query::compile(&expr, 19_000);
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty(), "an empty parse error for {text:?}");
        }
    }
}

/// PNG reader: scan, integrity check and data id through the PNG handler.
pub fn read_png(data: &[u8]) {
    read_as(Format::Png, data);
}

/// JPEG reader.
pub fn read_jpeg(data: &[u8]) {
    read_as(Format::Jpeg, data);
}

/// WebP reader.
pub fn read_webp(data: &[u8]) {
    read_as(Format::Webp, data);
}

/// GIF reader.
pub fn read_gif(data: &[u8]) {
    read_as(Format::Gif, data);
}

/// ISO BMFF reader (AVIF and HEIF share it).
pub fn read_bmff(data: &[u8]) {
    read_as(Format::Avif, data);
}

/// Run one handler's readers over the bytes, whatever their signature says; then the format-sniffing path.
fn read_as(format: Format, data: &[u8]) {
    let Some(handler) = handler_for(format) else {
        panic!("no handler for {format:?}");
    };
    let source: &dyn Source = &data;
    let scanned = handler.scan(source, &FUZZ_LIMITS);
    let _ = handler.check(data, &FUZZ_LIMITS);
    let _ = handler.data_id(data, &FUZZ_LIMITS);
    let _ = ops::scan_source(source, &FUZZ_LIMITS);
    if let Ok(meta) = scanned {
        check_metadata(&meta);
    }
}

/// What a successful scan returns must be printable (`show --json`) and its record parseable without a panic.
fn check_metadata(meta: &Metadata) {
    if let Err(e) = serde_json::to_string(meta) {
        panic!("scan result does not serialise: {e}");
    }
    if let Some(json) = &meta.record_json {
        let _ = stemma_model::parse_record(json);
    }
}

/// XMP: safe parsing, and the merge invariant: merging stemma's description into a packet that has none, then
/// removing it, gives back the packet byte for byte.
pub fn read_xmp(data: &[u8]) {
    let packet = String::from_utf8_lossy(data);
    let Ok(doc) = xmp::parse(&packet, &FUZZ_LIMITS) else {
        return;
    };
    let _ = doc.record();
    let _ = doc.extended_guid();
    let _ = xmp::marker(&packet, "packet", &FUZZ_LIMITS);
    if !matches!(
        xmp::remove_stemma(&packet, &FUZZ_LIMITS),
        Ok(xmp::Removed::Nothing)
    ) {
        return;
    }
    let values = [mirror::record_value(RECORDS[1])];
    let Ok(merged) = xmp::merge(Some(&packet), &values, &[], &FUZZ_LIMITS) else {
        return;
    };
    match xmp::remove_stemma(&merged, &FUZZ_LIMITS) {
        Ok(xmp::Removed::Packet(back, _)) => assert!(
            back == packet,
            "XMP merge then removal changed the packet:\n{packet:?}\n->\n{back:?}"
        ),
        other => panic!("XMP merge did not remove cleanly: {other:?}\nmerged: {merged:?}"),
    }
}

/// EXIF: the TIFF walker and the text decoders.
pub fn read_exif(data: &[u8]) {
    if let Ok(block) = exif::parse(data) {
        for field in &block.fields {
            let _ = exif::decode_field(field, block.little_endian);
        }
    }
    let _ = exif::entries(data, false);
    let _ = exif::decode_utf16_guess(data, true);
    let _ = exif::decode_user_comment(data, data.len() % 2 == 0);
}

/// Records the writer target stamps: minimal, full with characters XML and JSON escape, and one whose prompt
/// overflows a JPEG's standard XMP (ExtendedXMP).
pub const RECORDS: [&str; 2] = [
    r#"{"stemma":"1.0","prompt":{"positive":"a duck"}}"#,
    r#"{"stemma":"1.0","generator":{"name":"comfyui","version":"0.3.1"},"prompt":{"positive":"a duck & a <cat>\nin \"rain\" ✓ ]]> --","negative":"blur"},"params":{"seed":"42","steps":20,"cfg_scale":7.0,"sampler":"euler","width":8,"height":6,"model":{"name":"sdxl"}}}"#,
];

/// The long-prompt record (about 70 KB, more than one JPEG APP1 segment holds).
fn long_record() -> String {
    format!(
        r#"{{"stemma":"1.0","prompt":{{"positive":"{}"}}}}"#,
        "a very long prompt, ".repeat(3500)
    )
}

/// Writers: for a file the writer accepts, stamping a record and then stripping stemma's profile gives back what
/// stripping alone gives; for a file that carries nothing of stemma's, that is the input byte for byte. The record
/// reads back, and the strip is idempotent. The file's length picks the record and the mirrors, so the fuzzer
/// reaches every combination.
pub fn write_roundtrip(data: &[u8]) {
    let source: &dyn Source = &data;
    let Ok(handler) = ops::handler_of(source) else {
        return;
    };
    let Ok(before) = handler.scan(source, &FUZZ_LIMITS) else {
        return;
    };
    // Every writer refuses a file the handler finds damaged (`OpenedFile::open`): only what a write would accept is
    // checked here.
    match handler.damage(data, &FUZZ_LIMITS) {
        Ok(problems) if problems.is_empty() => {}
        _ => return,
    }
    let strip = Edit::strip(StripProfile::Stemma);
    let Ok(base) = handler.edit(data, &strip, &FUZZ_LIMITS) else {
        return;
    };
    let choice = data.len();
    let json = match (choice / 8) % 3 {
        0 => RECORDS[0].to_string(),
        1 => RECORDS[1].to_string(),
        _ => long_record(),
    };
    let edit = Edit {
        record: RecordChange::Set(json.clone()),
        strip: None,
        force: false,
        xmp_mirrors: choice & 1 == 0,
        a1111_mirror: choice & 2 != 0,
        windows_text: choice & 4 != 0,
    };
    let Ok(stamped) = handler.edit(data, &edit, &FUZZ_LIMITS) else {
        return;
    };
    let format = handler.format();
    let stamped_source: &dyn Source = &stamped.as_slice();
    let after = match handler.scan(stamped_source, &FUZZ_LIMITS) {
        Ok(meta) => meta,
        Err(e) => panic!("{format:?}: a stamped file cannot be read back: {e}"),
    };
    assert_eq!(
        after.record_json.as_deref().map(json_value),
        Some(json_value(&json)),
        "{format:?}: the stamped record does not read back"
    );
    let back = match handler.edit(&stamped, &strip, &FUZZ_LIMITS) {
        Ok(back) => back,
        Err(e) => panic!("{format:?}: a stamped file cannot be stripped: {e}"),
    };
    assert!(
        back == base,
        "{format:?}: stamp then strip differs from strip alone ({} vs {} bytes)",
        back.len(),
        base.len()
    );
    match handler.edit(&base, &strip, &FUZZ_LIMITS) {
        Ok(again) => assert!(again == base, "{format:?}: strip is not idempotent"),
        Err(e) => panic!("{format:?}: a stripped file cannot be stripped again: {e}"),
    }
    if before.record_json.is_none() && before.record_origin.is_none() && !has_stemma_xmp(&before) {
        assert!(
            base == data,
            "{format:?}: strip --profile stemma changed a file that carries nothing of stemma's ({} -> {} bytes)",
            data.len(),
            base.len()
        );
    }
}

/// True when an XMP packet of the scan carries a stemma description (a record that did not parse, say).
fn has_stemma_xmp(meta: &Metadata) -> bool {
    meta.entries.iter().any(|e| {
        e.origin.contains("xmp")
            && e.value
                .as_text()
                .is_some_and(|t| t.contains(xmp::STEMMA_NS))
    })
}

fn json_value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// Field separator of the `import_entries` input: `origin US key US value`, entries separated by RS. An entry with
/// the origin `file_name` gives the file name instead.
pub const UNIT_SEPARATOR: u8 = 0x1f;
/// Entry separator of the `import_entries` input.
pub const RECORD_SEPARATOR: u8 = 0x1e;

/// Importers: the whole registry over arbitrary metadata entries (and, when the input is an image, over what a
/// scan of it finds). Every record an importer makes must serialise and read back as the same record.
pub fn import_entries(data: &[u8]) {
    let source: &dyn Source = &data;
    if let Ok(meta) = ops::scan_source(source, &FUZZ_LIMITS) {
        import_checked(&meta, None);
    }
    let (meta, name) = entries_from_bytes(data);
    import_checked(&meta, name.as_deref());
}

/// Decode the `import_entries` format: entries separated by RS, fields by US; a value that is not UTF-8 becomes
/// a byte value.
pub fn entries_from_bytes(data: &[u8]) -> (Metadata, Option<String>) {
    let mut meta = Metadata::default();
    let mut name = None;
    for raw in data.split(|b| *b == RECORD_SEPARATOR) {
        let mut fields = raw.splitn(3, |b| *b == UNIT_SEPARATOR);
        let origin = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
        let key = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
        let value = fields.next().unwrap_or_default();
        if origin == "file_name" {
            name = Some(key);
            continue;
        }
        let value = match std::str::from_utf8(value) {
            Ok(text) => Value::Text(text.to_string()),
            Err(_) => Value::Bytes(value.to_vec()),
        };
        meta.entries.push(Entry {
            origin,
            key,
            value,
            after_image_data: false,
            encoding: None,
        });
    }
    (meta, name)
}

/// Encode entries in the `import_entries` format (for seeds).
pub fn entries_to_bytes(entries: &[Entry], file_name: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(name) = file_name {
        out.extend_from_slice(b"file_name");
        out.push(UNIT_SEPARATOR);
        out.extend_from_slice(name.as_bytes());
    }
    for e in entries {
        if !out.is_empty() {
            out.push(RECORD_SEPARATOR);
        }
        out.extend_from_slice(e.origin.as_bytes());
        out.push(UNIT_SEPARATOR);
        out.extend_from_slice(e.key.as_bytes());
        out.push(UNIT_SEPARATOR);
        match &e.value {
            Value::Text(t) => out.extend_from_slice(t.as_bytes()),
            Value::Bytes(b) => out.extend_from_slice(b),
        }
    }
    out
}

fn import_checked(meta: &Metadata, file_name: Option<&str>) {
    let evidence = Evidence::new(meta).with_file_name(file_name);
    let report = stemma_import::import(&evidence);
    if let Some(imported) = report.imported {
        record_round_trip(&imported.record, imported.dialect);
    }
}

/// A record serialises, and its JSON reads back as the same record.
fn record_round_trip(record: &stemma_model::Record, what: &str) {
    let json = match stemma_model::record_to_json(record) {
        Ok(json) => json,
        Err(e) => panic!("{what}: a record does not serialise: {e}"),
    };
    match stemma_model::parse_record(&json) {
        Ok(again) => {
            let a = stemma_model::record_to_json(&again).unwrap_or_default();
            assert!(
                a == json,
                "{what}: a record changes when read back:\n{json}\n->\n{a}"
            );
        }
        Err(e) => panic!("{what}: a record's own JSON does not read back: {e}\n{json}"),
    }
}

/// The record parser: any text; a record that parses survives its own serialisation, and the canonical form and
/// schema check never panic.
pub fn parse_record(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(record) = stemma_model::parse_record(text) {
        record_round_trip(&record, "parse_record");
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = stemma_model::canonical_json(&value);
        let _ = stemma_model::validate_record_json(&value);
    }
}
