//! Importers of a run's files that lie beside its frames: the settings file of a Disco Diffusion, pytti or Deforum
//! run, and Deforum's per-frame subtitles `{timestring}.srt`.
//!
//! A frame's name says which run it belongs to and which frame it is ([`crate::names`]: `TimeToDisco(0)_0012.png`
//! is frame 12 of the run `TimeToDisco(0)`); the name also says what the run's files are called
//! (`TimeToDisco(0)_settings.txt`). The settings say the prompt schedule, the seed rule and the parameters, so the
//! frame gets the prompt and seed that applied to it ([`RunFrame`]). Only the files the name points at are read,
//! through [`Evidence::folder`](crate::Evidence): one frame is resolved without listing its folder.
//!
//! Linking the frames of a run (gaps, duplicates, cadence and previous-frame parents, interpolation folders,
//! resumes) needs the whole folder and is done by the `stemma-sequences` crate, which builds each frame's record
//! with the same [`RunFrame`].

use std::sync::{Arc, LazyLock, Mutex};

use stemma_model::{RawEntry, Record, Sequence};

use crate::name_importer::name_match;
use crate::names::{FileKind, FilenameMatch};
use crate::settings::{import_settings_text, RunSettings};
use crate::sidecars::{parse_deforum_srt, DeforumSrt};
use crate::tool::Tool;
use crate::{Confidence, Error, Evidence, Imported, Importer, Result, Tier};

/// The dialect ids of the importers of this module: a record made by one of them is a frame's record by its run's
/// files, which a folder scan (that also knows the frame's neighbours) may replace.
pub const RUN_FILE_DIALECTS: &[&str] = &[
    DISCO_SETTINGS.id,
    PYTTI_SETTINGS.id,
    DEFORUM_SETTINGS.id,
    DEFORUM_SRT_ID,
];

// ---------------------------------------------------------------------------------------------------------------
// One frame's record from its run's files
// ---------------------------------------------------------------------------------------------------------------

/// One frame of a run and what its run's files say: the inputs of its record.
#[derive(Debug, Clone, Copy)]
pub struct RunFrame<'a> {
    /// The run's settings, when its settings file was found.
    pub settings: Option<&'a RunSettings>,
    /// Deforum's per-frame subtitles, when found.
    pub srt: Option<&'a DeforumSrt>,
    /// The sequence id written into the record ([`run_sequence_id`]).
    pub sequence_id: &'a str,
    /// Zero-based frame index.
    pub index: u64,
    /// True for an animation (frames feed each other), false for a still batch.
    pub animated: bool,
    /// Write the settings document inline (one frame per run does; the others name it by hash).
    pub inline_settings: bool,
    /// The seed of this frame is known to differ from what the settings say (a resumed segment).
    pub seed_unknown: bool,
}

impl RunFrame<'_> {
    /// Whether the frame is a cadence in-between (not diffused): by the settings' cadence when it is above 1,
    /// else by the subtitles' `Cadence` flag (frame 0 never is one).
    pub fn is_cadence(&self) -> bool {
        let cadence = self.settings.and_then(|s| s.cadence).unwrap_or(1).max(1);
        if cadence > 1 {
            self.animated && !self.index.is_multiple_of(cadence)
        } else {
            self.srt
                .and_then(|t| t.frame(self.index))
                .is_some_and(|cue| cue.cadence && self.index > 0)
        }
    }

    /// Whether the tool set a seed of this frame's own.
    fn seed_is_unknown(&self) -> bool {
        let disco_still = self.settings.is_some_and(|s| s.tool == Tool::Disco) && !self.animated;
        self.seed_unknown || self.is_cadence() || (disco_still && self.index > 0)
    }

    /// The frame's record: the prompt and seed that applied to it by the settings (the subtitles' cue, when there is
    /// one, says what was actually used and wins), its place in the sequence, and its name in `raw`. Without
    /// settings the record starts from what the name says (`by_name`). Parents are the folder scan's to add.
    pub fn record(&self, by_name: Option<&FilenameMatch>, file_name: &str) -> Record {
        let mut record = match self.settings {
            Some(s) => {
                let mut record = s.frame_record(self.sequence_id, self.index, self.inline_settings);
                record.raw.push(RawEntry {
                    origin: "filename".into(),
                    text: Some(file_name.to_string()),
                    ..RawEntry::default()
                });
                record
            }
            // `Record::new`, not `Record::default`: a record states its version.
            None => match by_name {
                Some(m) => m.to_record(),
                None => Record::new(),
            },
        };
        if self.seed_is_unknown() {
            if let Some(p) = record.params.as_mut() {
                p.seed = None;
            }
        }
        let cue = self.srt.and_then(|t| t.frame(self.index));
        if let Some(cue) = cue {
            if let Some(seed) = &cue.seed {
                record.params_mut().seed = Some(seed.clone());
            }
            if let Some(prompt) = &cue.prompt {
                let p = record.prompt_mut();
                p.positive = Some(prompt.clone());
                p.negative = cue.negative.clone();
                p.parts.clear();
            }
        }
        if let Some(run) = record.run.as_mut() {
            run.id = self.sequence_id.to_string();
        }
        let cadence = self.is_cadence();
        let fps = self
            .srt
            .and_then(|t| t.fps)
            .or(self.settings.and_then(|s| s.fps));
        let seq = record.sequence.get_or_insert_with(|| Sequence {
            id: self.sequence_id.to_string(),
            ..Sequence::default()
        });
        seq.id = self.sequence_id.to_string();
        seq.frame = Some(self.index);
        seq.time = Some(self.index as f64);
        seq.fps = fps;
        seq.interpolated = cadence;
        record
    }
}

/// The sequence id of a run: its key (`disco:TimeToDisco(0)`) and the first 12 hex digits of `unique_by` (the
/// settings hash, or the first frame's lineage id), so that runs with a tool's default name in different folders
/// do not share an id. Just the key when nothing unique is known.
pub fn run_sequence_id(key: &str, unique_by: Option<&str>) -> String {
    match unique_by {
        Some(hash) => {
            let hex = hash.trim_start_matches("sha256:");
            format!("{key}@{}", hex.get(..12).unwrap_or(hex))
        }
        None => key.to_string(),
    }
}

/// Whether a run of `tool` is an animation, by its settings and the frame's name: Disco does not save
/// `animation_mode`, so its padded frame numbers (`_0012`) mean animation, except in v3, which padded stills; the
/// others say it in their settings, else the name's shape decides.
pub fn run_is_animated(tool: Tool, settings: Option<&RunSettings>, framed_name: bool) -> bool {
    match (tool, settings.and_then(|s| s.animated)) {
        (Tool::Disco, _) => {
            framed_name && settings.and_then(|s| s.variant.as_deref()) != Some("disco-v3")
        }
        (_, Some(animated)) => animated,
        _ => framed_name,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Finding and reading the run's files
// ---------------------------------------------------------------------------------------------------------------

/// A frame of a Disco, pytti or Deforum run, by its name (matched once per file: [`name_match`] keeps the last).
fn run_frame_name(evidence: &Evidence) -> Option<FilenameMatch> {
    name_match(evidence).filter(|m| {
        let is_frame = matches!(m.kind, FileKind::Frame | FileKind::Image);
        let run_tool = matches!(m.tool, Tool::Disco | Tool::Pytti | Tool::Deforum);
        is_frame && run_tool && m.sequence_key.is_some() && m.frame.or(m.counter).is_some()
    })
}

/// The names a run's settings file has beside a frame (legacy-tools.md §1.1, §2.3, §3): Disco
/// `{batch}({N})_settings.txt` (older `{batch}-{N}_settings.txt`), pytti `{base}_settings.txt` and a hydra conf
/// named after the namespace (`{ns}.yaml`), Deforum `{timestring}_settings.txt`.
fn settings_names(m: &FilenameMatch) -> Vec<String> {
    match (m.tool, m.batch.as_deref(), m.run, m.timestring.as_deref()) {
        (Tool::Deforum, _, _, Some(ts)) => vec![format!("{ts}_settings.txt")],
        (Tool::Disco | Tool::Pytti, Some(batch), Some(run), _) => vec![
            format!("{batch}({run})_settings.txt"),
            format!("{batch}-{run}_settings.txt"),
            format!("{batch}.yaml"),
            format!("{batch}.yml"),
        ],
        (Tool::Disco | Tool::Pytti, Some(batch), None, _) => vec![
            format!("{batch}_settings.txt"),
            format!("{batch}.yaml"),
            format!("{batch}.yml"),
        ],
        _ => Vec::new(),
    }
}

/// Parsed settings files, by the text they were parsed from: the files of one folder share one text per name
/// ([`crate::FolderContext::text`] reads each once), so every frame of a run parses its settings once. Keyed by the
/// text's allocation, which the cache keeps alive, so a key is never reused for another text.
type ParsedCache<T> = Mutex<Vec<(Arc<str>, Arc<Result<T>>)>>;
const CACHE_SIZE: usize = 16;

static SETTINGS_CACHE: LazyLock<ParsedCache<RunSettings>> = LazyLock::new(Mutex::default);
static SRT_CACHE: LazyLock<ParsedCache<DeforumSrt>> = LazyLock::new(Mutex::default);

fn parsed<T>(
    cache: &ParsedCache<T>,
    text: Arc<str>,
    parse: impl FnOnce(&str) -> Result<T>,
) -> Arc<Result<T>> {
    if let Ok(entries) = cache.lock() {
        if let Some((_, hit)) = entries.iter().find(|(t, _)| Arc::ptr_eq(t, &text)) {
            return hit.clone();
        }
    }
    let result = Arc::new(parse(&text));
    if let Ok(mut entries) = cache.lock() {
        if entries.len() >= CACHE_SIZE {
            entries.remove(0);
        }
        entries.push((text, result.clone()));
    }
    result
}

/// The text of the sibling `name`, when it is there and within the caller's limit on one metadata value.
fn sibling_text(evidence: &Evidence, name: &str) -> Option<Arc<str>> {
    let text = evidence.folder?.text(name)?;
    (text.len() as u64 <= evidence.limits.max_metadata_chunk).then_some(text)
}

/// The run's settings file beside the frame: its name and what it says (or why it cannot be read).
fn settings_of(
    evidence: &Evidence,
    m: &FilenameMatch,
) -> Option<(String, Arc<Result<RunSettings>>)> {
    settings_names(m).into_iter().find_map(|name| {
        let text = sibling_text(evidence, &name)?;
        let settings = parsed(&SETTINGS_CACHE, text, |t| {
            let forced = name.ends_with(".yaml") || name.ends_with(".yml");
            import_settings_text(&name, t, forced.then_some(Tool::Pytti))
        });
        // A hydra conf belongs to the run only when its namespace is the frame's.
        if let (true, Ok(s)) = (
            name.ends_with(".yaml") || name.ends_with(".yml"),
            &*settings,
        ) {
            let ns = format!("pytti:{}", m.batch.as_deref().unwrap_or_default());
            if s.run_id.as_deref() != Some(ns.as_str()) {
                return None;
            }
        }
        Some((name, settings))
    })
}

/// Deforum's subtitles beside the frame (`{timestring}.srt`), parsed.
fn srt_of(evidence: &Evidence, m: &FilenameMatch) -> Option<(String, Arc<Result<DeforumSrt>>)> {
    if m.tool != Tool::Deforum {
        return None;
    }
    let name = format!("{}.srt", m.timestring.as_deref()?);
    let text = sibling_text(evidence, &name)?;
    Some((name, parsed(&SRT_CACHE, text, parse_deforum_srt)))
}

/// The frame's name as the run's files read it: `name(k)_n.png` is Disco's when the run's settings are Disco's.
fn frame_by_settings(m: FilenameMatch, settings: Option<&RunSettings>) -> FilenameMatch {
    match settings {
        Some(s) if s.tool == Tool::Disco => m.read_as_disco(),
        _ => m,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The importers
// ---------------------------------------------------------------------------------------------------------------

/// The importer of one tool's settings file beside a frame of its run.
pub struct RunSettingsFile {
    tool: Tool,
    id: &'static str,
    describe: &'static str,
    rule: &'static str,
}

/// Disco Diffusion's `{batch}({N})_settings.txt` beside `{batch}({N})_{frame}.png`.
pub static DISCO_SETTINGS: RunSettingsFile = RunSettingsFile {
    tool: Tool::Disco,
    id: "disco-settings",
    describe: "Disco Diffusion: the run's settings JSON beside its frames (prompt schedule, seed, parameters)",
    rule: "`{batch}({N})_settings.txt` (or `{batch}-{N}_settings.txt`) holding `text_prompts`, beside a frame named `{batch}({N})_{n}.png`",
};

/// pytti's `{base}_settings.txt` (or a hydra conf `{namespace}.yaml`) beside `{base}_{n}.png`.
pub static PYTTI_SETTINGS: RunSettingsFile = RunSettingsFile {
    tool: Tool::Pytti,
    id: "pytti-settings",
    describe: "pytti: the run's settings file (or its YAML conf) beside its frames (scenes, seed, parameters)",
    rule: "`{base}_settings.txt` holding `scenes` beside a frame named `{base}_{n}.png`, or `{namespace}.yaml` whose `file_namespace` is the frame's",
};

/// Deforum's `{timestring}_settings.txt` beside `{timestring}_{frame}.png`.
pub static DEFORUM_SETTINGS: RunSettingsFile = RunSettingsFile {
    tool: Tool::Deforum,
    id: "deforum-settings",
    describe: "Deforum (notebook and A1111 extension): the run's settings JSON beside its frames (prompt schedule, seed behaviour, cadence)",
    rule: "`{timestring}_settings.txt` beside a frame named `{timestring}_{frame}.png`",
};

impl RunSettingsFile {
    /// The frame's name (as the settings read it) and the settings file, when this importer's tool wrote it.
    fn find(
        &self,
        evidence: &Evidence,
    ) -> Option<(FilenameMatch, String, Arc<Result<RunSettings>>)> {
        let m = run_frame_name(evidence)?;
        let (name, settings) = settings_of(evidence, &m)?;
        let tool = match &*settings {
            Ok(s) => s.tool,
            // A file that cannot be read is still this tool's when the frame's name says so: the import then
            // reports why it failed.
            Err(_) => m.tool,
        };
        if tool != self.tool {
            return None;
        }
        let m = frame_by_settings(m, (*settings).as_ref().ok());
        Some((m, name, settings))
    }
}

impl Importer for RunSettingsFile {
    fn id(&self) -> &'static str {
        self.id
    }
    fn describe(&self) -> &'static str {
        self.describe
    }
    fn detection_rule(&self) -> &'static str {
        self.rule
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(self.find(evidence).is_some(), Confidence::Strong)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let (m, name, settings) = self.find(evidence).ok_or(Error::Parse {
            dialect: self.id,
            reason: "no settings file of the run beside the frame".into(),
        })?;
        let settings = match &*settings {
            Ok(s) => s,
            Err(e) => {
                return Err(Error::Parse {
                    dialect: self.id,
                    reason: format!("{name}: {e}"),
                })
            }
        };
        let srt_file = srt_of(evidence, &m);
        let mut warnings = settings.warnings.clone();
        let srt = match srt_file.as_ref().map(|(n, s)| (n, &**s)) {
            Some((_, Ok(srt))) => Some(srt),
            Some((n, Err(e))) => {
                warnings.push(format!("{n}: {e}"));
                None
            }
            None => None,
        };
        let index = m.frame.or(m.counter).unwrap_or(0);
        let key = m
            .sequence_key
            .clone()
            .or_else(|| settings.run_id.clone())
            .unwrap_or_else(|| name.clone());
        let sequence_id = run_sequence_id(&key, Some(&settings.hash));
        let frame = RunFrame {
            settings: Some(settings),
            srt,
            sequence_id: &sequence_id,
            index,
            animated: run_is_animated(self.tool, Some(settings), m.kind == FileKind::Frame),
            inline_settings: true,
            seed_unknown: false,
        };
        let mut record = frame.record(Some(&m), &m.name);
        // The subtitles' cue says what was used for this frame: kept verbatim beside the settings.
        if let (Some((srt_name, _)), Some(cue)) = (&srt_file, srt.and_then(|t| t.frame(index))) {
            record.raw.push(cue_entry(srt_name, index, &cue.text));
        }
        Ok(Imported {
            dialect: self.id,
            record,
            warnings,
        })
    }
    fn tier(&self) -> Tier {
        Tier::Beside
    }
}

const DEFORUM_SRT_ID: &str = "deforum-srt";

/// The `raw` entry of one subtitle cue: origin the `.srt` file, key the cue's frame, the cue's text verbatim.
fn cue_entry(srt_name: &str, index: u64, text: &str) -> RawEntry {
    RawEntry {
        origin: format!("file:{srt_name}"),
        key: Some(format!("F#: {index}")),
        text: Some(text.to_string()),
        used: true,
        ..RawEntry::default()
    }
}

/// Deforum's per-frame subtitles `{timestring}.srt` beside a frame: the seed and prompt actually used for it.
pub struct DeforumSubtitles;

impl DeforumSubtitles {
    fn find(evidence: &Evidence) -> Option<(FilenameMatch, String, DeforumSrt)> {
        let m = run_frame_name(evidence)?;
        let (name, srt) = srt_of(evidence, &m)?;
        let srt = (*srt).as_ref().ok()?;
        let index = m.frame.or(m.counter)?;
        srt.frame(index)?;
        Some((m, name, srt.clone()))
    }
}

impl Importer for DeforumSubtitles {
    fn id(&self) -> &'static str {
        DEFORUM_SRT_ID
    }
    fn describe(&self) -> &'static str {
        "Deforum A1111 extension: the per-frame subtitles (`deforum_save_gen_info_as_srt`) beside the frames: seed and prompt used for each frame"
    }
    fn detection_rule(&self) -> &'static str {
        "`{timestring}.srt` with a cue `F#: {frame}` beside a frame named `{timestring}_{frame}.png`"
    }
    fn detect(&self, evidence: &Evidence) -> Confidence {
        Confidence::when(Self::find(evidence).is_some(), Confidence::Strong)
    }
    fn import(&self, evidence: &Evidence) -> Result<Imported> {
        let (m, name, srt) = Self::find(evidence).ok_or(Error::Parse {
            dialect: DEFORUM_SRT_ID,
            reason: "no subtitle cue for the frame beside it".into(),
        })?;
        let key = m.sequence_key.clone().unwrap_or_default();
        let index = m.frame.or(m.counter).unwrap_or(0);
        let frame = RunFrame {
            settings: None,
            srt: Some(&srt),
            sequence_id: &key,
            index,
            animated: m.kind == FileKind::Frame,
            inline_settings: false,
            seed_unknown: false,
        };
        let mut record = frame.record(Some(&m), &m.name);
        if let Some(generator) = record.generator.as_mut() {
            generator.dialect = Some(DEFORUM_SRT_ID.into());
        }
        for raw in &mut record.raw {
            raw.used = false;
        }
        if let Some(cue) = srt.frame(index) {
            record.raw.push(cue_entry(&name, index, &cue.text));
        }
        Ok(Imported {
            dialect: DEFORUM_SRT_ID,
            record,
            warnings: Vec::new(),
        })
    }
    fn tier(&self) -> Tier {
        Tier::Beside
    }
}
