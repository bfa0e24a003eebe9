//! AUTOMATIC1111 and its forks (Forge, Forge Classic, Forge Neo, reForge, EasyReforge, SD.Next) and every other
//! producer of A1111-style infotext (Civitai's A1111 backend, ComfyUI saver nodes, Fooocus' `a1111` scheme).
//!
//! Where the text is (generators.md §3.1): PNG text chunk `parameters` (tEXt, zTXt or iTXt, before or after
//! IDAT), Exif `UserComment` (JPEG, WebP, AVIF, PNG `eXIf`), the GIF comment, a `.txt` sidecar. The fork is
//! identified from the text itself (§3.6), by the table [`FORKS`].

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;
use stemma_container::Entry;
use stemma_model::{relation, Parent, Settings};

use super::helpers::{new_record, put_extra, raw_entries};
use super::infotext::{looks_like_infotext, parse_param_line, Infotext};
use crate::{Confidence, Error, Evidence, Imported, Importer, Result};

/// The A1111-family importer.
pub struct A1111;

const ID: &str = "a1111";

/// Where infotext can be: (origin prefix, key); `*` matches any key.
const LOCATIONS: &[(&str, &str)] = &[
    ("png:", "parameters"),
    ("exif", "UserComment"),
    ("png:eXIf", "UserComment"),
    ("gif:", "*"),
    ("jpeg:COM", "*"),
    ("sidecar", "*"),
    ("file:", "*"),
    // AnimateDiff's MP4 (`©cmt`) and WebM (`COMMENT`) (video-containers.md §3.3).
    ("mp4:", "comment"),
    ("mkv:tag", "comment"),
];

/// `Version:` values → generator id, first match wins (enslo/sd-metadata `detect.ts`, sample values in the
/// comments: `enslo/sd-metadata:samples/png/*`).
const FORKS: &[(&str, &str)] = &[
    (r"^v\d", "a1111"),                     // v1.10.1
    (r"^classic", "forge-classic"),         // classic
    (r"^neo", "forge-neo"),                 // neo, neo-2.28
    (r"^f\d+\.\d+\.\d+v\d+-v", "reforge"),  // f1.0.0v2-v1.10.1RC-latest-2498-g5120e679
    (r"^f\d+\.\d+\.\d+-v", "easy-reforge"), // f1.3.0-v1.10.1RC-latest-1038-g19395bf9
    (r"^f\d", "forge"),                     // f2.0.1v1.10.1-previous-669-gdfdcbab6
    (r"^(?i:fooocus)", "fooocus"),          // Fooocus v2.4.3 (a1111 metadata scheme)
    (r"^(?i:comfyui)", "comfyui"),          // comfy-image-saver
    (r"^(?i:stability ?matrix)", "stabilitymatrix"),
];

/// PNG text keys of the Extras (postprocessing) tab's own infotext.
const POSTPROCESSING_KEYS: &[&str] = &["postprocessing", "extras"];

/// `App:` values → generator id.
const APPS: &[(&str, &str)] = &[("SD.Next", "sdnext")];

/// Parameter keys only one producer writes → generator id.
const MARKER_KEYS: &[(&str, &str)] = &[
    ("Civitai resources", "civitai"),
    ("Civitai metadata", "civitai"),
];

static FORK_RES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    FORKS
        .iter()
        .filter_map(|(re, id)| Regex::new(re).ok().map(|r| (r, *id)))
        .collect()
});

/// File names only one producer writes → generator id. kohya sd-scripts training samples:
/// `<output>_e<epoch:06>_<index:02>_<YYYYmmddHHMMSS>.png` (or `_<steps:06>_…`), A1111 text in Exif UserComment
/// (generators.md §12).
const FILE_NAMES: &[(&str, &str)] = &[(r"_e?\d{6}_\d{2}_\d{14}\.[A-Za-z]+$", "kohya")];

static FILE_NAME_RES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    FILE_NAMES
        .iter()
        .filter_map(|(re, id)| Regex::new(re).ok().map(|r| (r, *id)))
        .collect()
});

static UUID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$").ok()
});

fn at_location(e: &Entry) -> bool {
    LOCATIONS
        .iter()
        .any(|(o, k)| e.origin.starts_with(o) && (*k == "*" || e.key == *k))
}

/// The first entry holding infotext.
pub(crate) fn infotext_entry<'a>(evidence: &Evidence<'a>) -> Option<&'a Entry> {
    evidence.entries().find(|e| {
        at_location(e)
            && e.value
                .as_text()
                .is_some_and(|t| looks_like_infotext(t.trim_matches('\0')))
    })
}

/// Civitai marks images made on its site with Exif `Software` = job UUID and `Artist` = `ai`
/// (`civitai/civitai:src/utils/metadata/index.ts`, `isMadeOnSite`).
pub(crate) fn made_on_civitai(evidence: &Evidence) -> bool {
    let artist_ai = evidence
        .entries()
        .any(|e| e.key == "Artist" && e.value.as_text().map(str::trim) == Some("ai"));
    let uuid_software = evidence.entries().any(|e| {
        e.key == "Software"
            && e.value.as_text().is_some_and(|t| {
                UUID.as_ref()
                    .is_some_and(|re| re.is_match(t.trim_matches('\0').trim()))
            })
    });
    artist_ai && uuid_software
}

/// The generator id of an infotext (§3.6) and its version.
pub(crate) fn identify(info: &Infotext, evidence: &Evidence) -> (&'static str, Option<String>) {
    let version = info.get("Version");
    if let Some(app) = info.get("App") {
        if let Some((_, id)) = APPS.iter().find(|(a, _)| *a == app) {
            return (id, version);
        }
    }
    if let Some((_, id)) = MARKER_KEYS.iter().find(|(k, _)| info.has(k)) {
        return (id, version);
    }
    if made_on_civitai(evidence) {
        return ("civitai", version);
    }
    if let Some(v) = &version {
        if let Some((_, id)) = FORK_RES.iter().find(|(re, _)| re.is_match(v.trim())) {
            return (id, version);
        }
        return ("a1111", version);
    }
    if let Some(name) = evidence.file_name {
        if let Some((_, id)) = FILE_NAME_RES.iter().find(|(re, _)| re.is_match(name)) {
            return (id, None);
        }
    }
    // A1111 and its forks always write `Version:` since v1.0 and draw random seeds below 2^32
    // (`random.randrange(4294967294)`); a versionless text with a 64-bit seed comes from a ComfyUI saver node
    // (SaveImageWithMetaData, generators.md §3.5).
    let big_seed = info
        .get("Seed")
        .and_then(|s| s.trim().parse::<u64>().ok())
        .is_some_and(|s| s > u64::from(u32::MAX));
    if big_seed {
        return ("comfyui", None);
    }
    ("a1111", None)
}

/// Build a record from infotext found in `entry`; every entry of the evidence goes to `raw`.
pub(crate) fn import_infotext(
    evidence: &Evidence,
    entry: &Entry,
    dialect: &'static str,
) -> Result<Imported> {
    let text = entry.value.as_text().ok_or(Error::Parse {
        dialect,
        reason: format!("{} {} is not text", entry.origin, entry.key),
    })?;
    let mut imported = infotext_record(evidence, text, dialect);
    imported.record.raw = raw_entries(evidence, |e| std::ptr::eq(e, entry), |_| false);
    Ok(imported)
}

/// Build a record from infotext (without `raw`, which the caller fills).
pub(crate) fn infotext_record(evidence: &Evidence, text: &str, dialect: &'static str) -> Imported {
    let info = Infotext::parse(text.trim_matches('\0'));
    let (name, version) = identify(&info, evidence);
    let mut record = new_record(name, version, dialect);
    info.apply(&mut record);
    if let Some(hash) = info.get("Init image hash") {
        record.parents.push(Parent {
            relation: relation::IMG2IMG.into(),
            hint: Some(format!("Init image hash: {hash}")),
            ..Parent::default()
        });
    }
    // The Extras tab re-saves the source's `parameters` and adds its own line under `postprocessing` (older
    // versions: `extras`).
    for e in evidence
        .entries()
        .filter(|e| e.origin.starts_with("png:") && POSTPROCESSING_KEYS.contains(&e.key.as_str()))
    {
        if let Some(t) = e.value.as_text() {
            let pairs: serde_json::Map<String, Value> =
                parse_param_line(t.trim()).0.into_iter().collect();
            put_extra(&mut record.params_mut().extra, &e.key, Value::Object(pairs));
        }
    }
    record.settings = Some(Settings {
        format: Some("a1111-infotext".into()),
        data: Some(info.settings_data()),
        ..Settings::default()
    });
    let mut warnings = Vec::new();
    if !info.trailer.is_empty() {
        warnings.push(format!(
            "{} line(s) after the parameter line kept verbatim",
            info.trailer.len()
        ));
    }
    if let Some((_, Value::String(s))) = info.params.iter().find(|(k, _)| k == "Civitai resources")
    {
        warnings.push(format!("Civitai resources not JSON: {s}"));
    }
    Imported {
        dialect,
        record,
        warnings,
    }
}

impl Importer for A1111 {
    fn id(&self) -> &'static str {
        ID
    }
    fn describe(&self) -> &'static str {
        "AUTOMATIC1111 and forks (Forge, Forge Classic, Forge Neo, reForge, EasyReforge, SD.Next), Civitai (A1111 backend), kohya samples, ComfyUI saver nodes, other A1111-style text"
    }
    fn detection_rule(&self) -> &'static str {
        "A1111 infotext (a `Steps:` parameter line) in PNG text `parameters`, Exif UserComment, GIF comment or .txt sidecar; fork from `Version:`/`App:`"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(infotext_entry(evidence).is_some(), Confidence::Weak)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let entry = infotext_entry(evidence).ok_or(Error::Parse {
            dialect: ID,
            reason: "no infotext found".into(),
        })?;
        import_infotext(evidence, entry, ID)
    }
}

/// The record an A1111 infotext gives (generator identified from the text), without `raw`: for infotext kept in
/// a file of its own.
pub(crate) fn a1111_infotext_record(
    evidence: &crate::Evidence,
    text: &str,
) -> stemma_model::Record {
    infotext_record(evidence, text, "a1111").record
}

/// Whether a text is A1111 infotext (has the parameter line).
pub(crate) fn looks_like_a1111_infotext(text: &str) -> bool {
    looks_like_infotext(text.trim_matches('\0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stemma_container::Metadata;

    use crate::dialects::helpers::text_metadata as meta;

    fn generator_of(m: &Metadata) -> String {
        let imported = A1111.import(&Evidence::new(m)).unwrap();
        imported.record.generator.unwrap().name
    }

    #[test]
    fn forks_from_version() {
        let cases = [
            ("v1.10.1", "a1111"),
            ("classic", "forge-classic"),
            ("neo-2.28", "forge-neo"),
            ("f1.0.0v2-v1.10.1RC-latest-2498-g5120e679", "reforge"),
            ("f1.3.0-v1.10.1RC-latest-1038-g19395bf9", "easy-reforge"),
            ("f2.0.1v1.10.1-previous-669-gdfdcbab6", "forge"),
            ("ComfyUI", "comfyui"),
            ("Fooocus v2.4.3", "fooocus"),
        ];
        for (version, id) in cases {
            let text = format!("p\nSteps: 20, Seed: 1, Version: {version}");
            let m = meta(&[("png:tEXt", "parameters", &text)]);
            assert_eq!(generator_of(&m), id, "{version}");
        }
    }

    #[test]
    fn sdnext_civitai_and_exif_usercomment() {
        let m = meta(&[(
            "exif",
            "UserComment",
            "p\nSteps: 20, Size: 1024x1024, Seed: 1, App: SD.Next, Version: 56a8aea",
        )]);
        assert_eq!(generator_of(&m), "sdnext");
        let m = meta(&[(
            "exif",
            "UserComment",
            "p\nSteps: 20, Seed: 1, Civitai resources: [{\"type\":\"checkpoint\",\"modelVersionId\":1}]",
        )]);
        assert_eq!(generator_of(&m), "civitai");
        let m = meta(&[
            ("exif", "Software", "42adebcb-68ad-45e2-9c83-f92b6b11d852"),
            ("exif", "Artist", "ai"),
            ("exif", "UserComment", "p\nSteps: 20, Seed: 1"),
        ]);
        assert_eq!(generator_of(&m), "civitai");
    }

    #[test]
    fn gif_comment_and_versionless_text() {
        let m = meta(&[(
            "gif:comment",
            "comment",
            "p\nSteps: 20, Seed: 7, Sampler: Euler",
        )]);
        assert_eq!(A1111.detect(&Evidence::new(&m)), Confidence::Weak);
        assert_eq!(generator_of(&m), "a1111");
        let m = meta(&[(
            "png:tEXt",
            "parameters",
            "p\nSteps: 20, Seed: 347382230306562",
        )]);
        assert_eq!(generator_of(&m), "comfyui");
    }

    #[test]
    fn json_parameters_and_plain_comments_are_not_infotext() {
        let m = meta(&[(
            "png:tEXt",
            "parameters",
            "{\"prompt\": \"x\", \"steps\": 3}",
        )]);
        assert_eq!(A1111.detect(&Evidence::new(&m)), Confidence::No);
        let m = meta(&[("png:iTXt", "Comment", "GIMPで再保存しただけ")]);
        assert_eq!(A1111.detect(&Evidence::new(&m)), Confidence::No);
    }

    #[test]
    fn kohya_sample_file_name() {
        let m = meta(&[(
            "exif",
            "UserComment",
            "p\nSteps: 20, Seed: 1, Sampler: Euler a",
        )]);
        let ev = Evidence {
            metadata: &m,
            file_name: Some("Elysian_e000001_02_20250321072508.png"),
            file: None,
            ..Evidence::new(&m)
        };
        assert_eq!(
            A1111.import(&ev).unwrap().record.generator.unwrap().name,
            "kohya"
        );
        let ev = Evidence {
            metadata: &m,
            file_name: Some("00001-1234.png"),
            file: None,
            ..Evidence::new(&m)
        };
        assert_eq!(
            A1111.import(&ev).unwrap().record.generator.unwrap().name,
            "a1111"
        );
    }

    #[test]
    fn postprocessing_and_sidecar() {
        let m = meta(&[
            (
                "png:tEXt",
                "parameters",
                "p\nSteps: 20, Seed: 1, Version: v1.10.1",
            ),
            (
                "png:tEXt",
                "postprocessing",
                "Postprocess upscale by: 2, Postprocess upscaler: R-ESRGAN 4x+",
            ),
        ]);
        let r = A1111.import(&Evidence::new(&m)).unwrap().record;
        let extra = r.params.unwrap().extra;
        assert_eq!(extra["postprocessing"]["Postprocess upscale by"], "2");
        let m = meta(&[(
            "file:00001-1.txt",
            "text",
            "p\nNegative prompt: n\nSteps: 20, Seed: 1\n",
        )]);
        let r = A1111.import(&Evidence::new(&m)).unwrap().record;
        assert_eq!(r.prompt.unwrap().negative.as_deref(), Some("n"));
    }

    #[test]
    fn raw_keeps_every_entry_and_marks_the_used_one() {
        let m = meta(&[
            ("png:tEXt", "date:create", "2023"),
            ("png:zTXt", "parameters", "p\nSteps: 20, Seed: 1"),
        ]);
        let r = A1111.import(&Evidence::new(&m)).unwrap().record;
        assert_eq!(r.raw.len(), 2);
        assert!(!r.raw[0].used);
        assert!(r.raw[1].used);
        assert_eq!(
            r.settings.unwrap().format.as_deref(),
            Some("a1111-infotext")
        );
    }
}
