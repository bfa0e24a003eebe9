//! `stemma stamp`: write or update the record of one file or many (files and folders, in parallel) from flags
//! and/or a record file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use stemma_container::atomic::{FolderSyncs, WriteOptions};
use stemma_container::edit_file::{OpenedFile, PixelsFrom};
use stemma_container::{ops, sidecar, Edit, Limits};
use stemma_model::{
    parse_record, record_to_json, relation, ContentId, Params, Parent, Record, Sequence,
};

use crate::batch::{with_force_hint, Batch};
use crate::files::{expand, Folders};
use crate::output::{done, Chain, UsageError};
use crate::{config, exit};
use stemma_import::{resolve_in, ResolveOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The images to stamp, or folders to walk (their image files are stamped, in parallel).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Write the result here instead of rewriting FILE in place (only with a single FILE).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Start from this record (JSON file, `-` for standard input); flags are applied on top.
    #[arg(long)]
    record: Option<PathBuf>,
    /// The positive prompt.
    #[arg(long)]
    prompt: Option<String>,
    /// The negative prompt.
    #[arg(long)]
    negative: Option<String>,
    /// The seed (kept as a decimal string).
    #[arg(long, allow_hyphen_values = true)]
    seed: Option<String>,
    /// A parameter, `key=value` (value read as JSON when it parses, else as text). Repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// A parent image, as a file or a content id, with an optional relation: `FILE_OR_ID[:relation]`
    /// (default relation: img2img). Repeatable.
    #[arg(long = "parent", value_name = "FILE_OR_ID[:RELATION]")]
    parents: Vec<String>,
    /// Sequence id of the frame.
    #[arg(long)]
    sequence: Option<String>,
    /// Frame index in the sequence (needs --sequence).
    #[arg(long, requires = "sequence")]
    frame: Option<u64>,
    /// Generator name, when the record has none.
    #[arg(long)]
    generator: Option<String>,
    /// When the image was made (RFC 3339).
    #[arg(long)]
    created: Option<String>,
    /// Start from an empty record instead of the file's current record or its imported metadata.
    #[arg(long)]
    fresh: bool,
    /// Rewrite even when the file is read-only or carries a C2PA manifest that the change invalidates.
    #[arg(long)]
    force: bool,
    /// Also write the A1111 `parameters` text (PNG) or EXIF UserComment (JPEG/WebP), so that Civitai, A1111's PNG
    /// Info and other existing readers see the prompt (default from the configuration file, else off).
    #[arg(long, overrides_with = "no_a1111")]
    a1111: bool,
    /// Do not write the A1111 mirror, whatever the configuration says.
    #[arg(long)]
    no_a1111: bool,
    /// Also write Windows' EXIF text tags (ImageDescription, XPComment, XPTitle) where the container has EXIF
    /// (default from the configuration file, else off).
    #[arg(long, overrides_with = "no_windows")]
    windows: bool,
    /// Do not write Windows' EXIF text tags, whatever the configuration says.
    #[arg(long)]
    no_windows: bool,
    /// Do not write the XMP interop mirrors (dc:description, IPTC AI properties, Digital Source Type).
    #[arg(long)]
    no_xmp: bool,
    /// Who wrote the prompt (`prompt.author`, mirrored as IPTC AIPromptWriterName); default from the configuration.
    #[arg(long)]
    prompt_author: Option<String>,
    /// Write the record to the sidecar `<file name>.stemma.json` and leave the file untouched (for read-only media,
    /// formats stemma does not write, or by choice).
    #[arg(long, conflicts_with = "output")]
    sidecar: bool,
    /// For a video: record the per-frame table (each frame's pixel id and number) from the frames in this folder.
    #[arg(long, value_name = "FOLDER")]
    frames_from: Option<PathBuf>,
    /// Print nothing on success.
    #[arg(short, long)]
    quiet: bool,
}

/// What every file of the command shares: the configuration, the record file and the parents, read once.
struct Shared {
    config: config::Config,
    /// The record given with `--record`, parsed once.
    record: Option<Record>,
    /// The `--parent` edges, each parent file's id computed once.
    parents: Vec<Parent>,
    edit: Edit,
}

pub fn run(args: Args) -> Result<u8> {
    let limits = Limits::default();
    let single = args.files.len() == 1 && !args.files[0].is_dir();
    if !single && (args.output.is_some() || args.frames_from.is_some()) {
        return Err(UsageError("--output and --frames-from need exactly one FILE".into()).into());
    }
    let config = config::load()?;
    let record = args
        .record
        .as_ref()
        .map(|p| read_record_file(p))
        .transpose()?;
    let parents = args
        .parents
        .iter()
        .map(|spec| resolve_parent(spec, &limits))
        .collect::<Result<Vec<_>>>()?;
    let edit = Edit {
        force: args.force,
        xmp_mirrors: config::choose(false, args.no_xmp, config.xmp, true),
        a1111_mirror: config::choose(args.a1111, args.no_a1111, config.a1111, false),
        windows_text: config::choose(args.windows, args.no_windows, config.windows, false),
        ..Edit::default()
    };
    let shared = Shared {
        config,
        record,
        parents,
        edit,
    };
    if single {
        let file = &args.files[0];
        let folders = Folders::new(std::slice::from_ref(file));
        let written = stamp_one(file, &args, &shared, &folders, &limits, None)?;
        for note in &written.notes {
            eprintln!("stemma: warning: {}: {note}", file.display());
        }
        done(args.quiet, format_args!("{written}"));
        return Ok(exit::OK);
    }
    let files = expand(&args.files);
    let folders = Folders::new(&files);
    let batch = Batch::new(files.len(), args.quiet);
    let results = batch.run(&files, |file| {
        let result = stamp_one(file, &args, &shared, &folders, &limits, Some(&batch.syncs));
        if let Ok(w) = &result {
            for note in &w.notes {
                batch.warn(&format!("{}: {note}", file.display()));
            }
        }
        result
    });
    batch.finish();
    let mut tally = Tally::default();
    for result in &results {
        match result {
            Ok(w) => tally.add(w),
            Err(e) => {
                tally.failed += 1;
                eprintln!("stemma: {}", Chain(e));
            }
        }
    }
    done(args.quiet, format_args!("{}", tally.line(files.len())));
    Ok(if tally.failed == 0 {
        exit::OK
    } else {
        exit::FILE_ERROR
    })
}

/// The counts of a batch, for its one-line summary.
#[derive(Default)]
struct Tally {
    written: usize,
    unchanged: usize,
    sidecars: usize,
    failed: usize,
    decoded: usize,
    reused: usize,
}

impl Tally {
    fn add(&mut self, w: &Written) {
        match w.how {
            How::InPlace | How::Output => self.written += 1,
            How::Unchanged => self.unchanged += 1,
            How::Sidecar => self.sidecars += 1,
        }
        match w.pixels {
            PixelsFrom::Decoded => self.decoded += 1,
            PixelsFrom::Reused => self.reused += 1,
            PixelsFrom::None => {}
        }
    }

    fn line(&self, files: usize) -> String {
        let mut line = format!("{files} files: {} records written", self.written);
        if self.sidecars > 0 {
            line.push_str(&format!(", {} sidecars written", self.sidecars));
        }
        line.push_str(&format!(
            ", {} unchanged, {} failed (pixel ids: {} decoded, {} reused from unchanged image data)",
            self.unchanged, self.failed, self.decoded, self.reused
        ));
        line
    }
}

/// Stamp one file: its base record, the flags on top, then the write.
fn stamp_one(
    file: &Path,
    args: &Args,
    shared: &Shared,
    folders: &Folders,
    limits: &Limits,
    syncs: Option<&FolderSyncs>,
) -> Result<Written> {
    // Held from reading the current record to writing the new one, so that concurrent stamps serialise instead
    // of losing each other's changes (re-entrant: the write takes it again). A file that cannot be opened fails
    // below with a better message.
    let _lock = stemma_container::lock::lock_for_update(file).ok();
    let mut record = base_record(file, args, shared, folders, limits)?;
    apply_flags(&mut record, args, &shared.parents)?;
    if let Some(folder) = &args.frames_from {
        crate::stamp_frames::apply(&mut record, file, folder, limits)?;
    }
    if let Some(author) = args
        .prompt_author
        .clone()
        .or(shared.config.prompt_author.clone())
    {
        if record
            .prompt
            .as_ref()
            .and_then(|p| p.author.as_ref())
            .is_none()
            || args.prompt_author.is_some()
        {
            record.prompt_mut().author = Some(author);
        }
    }
    let target = Target {
        file,
        output: args.output.as_deref(),
        sidecar: args.sidecar,
        edit: shared.edit.clone(),
    };
    write_record_in(&target, record, limits, syncs)
}

/// What `write_record` did, as the one line a command prints.
pub struct Written {
    /// The file (or sidecar) written, or the file left as it was.
    pub path: PathBuf,
    pub how: How,
    /// Where the record's pixel id came from.
    pub pixels: PixelsFrom,
    /// What the user should know (mirrors not written, a hard link split), printed by the caller.
    pub notes: Vec<String>,
}

pub enum How {
    /// The file was rewritten in place with the record.
    InPlace,
    /// A new file was written from `file`.
    Output,
    /// The sidecar was written.
    Sidecar,
    /// The file already held exactly this record: nothing was written.
    Unchanged,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path.display();
        match self.how {
            How::InPlace => write!(f, "{path}: record written"),
            How::Output => write!(f, "{path}: written, with the record"),
            How::Sidecar => write!(f, "{path}: sidecar written"),
            How::Unchanged => write!(f, "{path}: unchanged (it already holds this record)"),
        }
    }
}

/// Where and how a record is written.
pub struct Target<'a> {
    pub file: &'a Path,
    pub output: Option<&'a Path>,
    pub sidecar: bool,
    /// Options of the edit; its record change is set by `write_record`.
    pub edit: Edit,
}

/// Write `record` for `target.file`: refuse damaged files, fill in the content ids, validate against the schema,
/// then rewrite the file atomically (or write its sidecar). Notes are printed on standard error.
pub fn write_record(target: &Target, record: Record, limits: &Limits) -> Result<Written> {
    let written = write_record_in(target, record, limits, None)?;
    for note in &written.notes {
        eprintln!("stemma: warning: {}: {note}", target.file.display());
    }
    Ok(written)
}

/// [`write_record`] for one file of a batch: the folder's fsync is left to `syncs` (when given), notes are
/// returned. The file is read once: the same bytes give the damage check, the content ids and the edit.
///
/// The pixel id is reused from the record's own `content` when its `data` equals the file's data id (the image
/// data did not change, so neither did the pixels); otherwise it is decoded, row by row.
pub fn write_record_in(
    target: &Target,
    mut record: Record,
    limits: &Limits,
    syncs: Option<&FolderSyncs>,
) -> Result<Written> {
    let file = target.file;
    let name = || file.display().to_string();
    let in_place = target.output.is_none() && !target.sidecar;
    let stored = record.content.take();
    let mut pixels = PixelsFrom::None;
    let opened = match OpenedFile::open(file, in_place, limits) {
        Ok(opened) => {
            // The ids describe the image data, which writing a record does not change, so they come from the input.
            let (ids, from) = opened
                .content_ids(stored.as_ref(), true, limits)
                .with_context(name)?;
            record.content = Some(ids);
            pixels = from;
            Some(opened)
        }
        // A damaged file is refused before anything else, with the damage named.
        Err(stemma_container::Error::Damaged(problems)) => {
            bail!("{}: not written: {problems}", file.display())
        }
        // Any file can have a sidecar, even one stemma cannot read.
        Err(
            stemma_container::Error::UnknownFormat(_) | stemma_container::Error::Unsupported { .. },
        ) if target.sidecar => {
            record.content = stored;
            None
        }
        Err(e) => return Err(e).with_context(name),
    };
    // Rewritten in place and keeping every other chunk, the file still holds the large values the record's `raw`
    // copies: the record names them instead (spec §3.4.1), as `import` does.
    if in_place && target.edit.strip.is_none() && !record.raw.is_empty() {
        if let Some(o) = &opened {
            let bytes: &[u8] = o.bytes();
            if let Ok(meta) = stemma_container::ops::scan_source(&bytes, limits) {
                stemma_import::reference_values_kept_in_file(&mut record, &meta);
            }
        }
    }
    let json = record_to_json(&record)?;
    let problems = stemma_model::validate_record_json(&serde_json::from_str(&json)?);
    if !problems.is_empty() {
        bail!(
            "{}: the record would not be valid: {}",
            file.display(),
            problems.join("; ")
        );
    }
    let opened = match opened {
        Some(opened) if !target.sidecar => opened,
        _ => {
            let path = sidecar::write_sidecar(file, &json)
                .with_context(|| format!("{}: sidecar not written", file.display()))?;
            return Ok(Written {
                path,
                how: How::Sidecar,
                pixels,
                notes: Vec::new(),
            });
        }
    };
    let options = WriteOptions {
        allow_read_only: target.edit.force,
        defer_folder_sync: syncs.is_some(),
    };
    let rewritten = opened
        .write_record(target.output, &record, json, &target.edit, limits, &options)
        .map_err(with_force_hint)
        .with_context(|| format!("{}: not written", file.display()))
        .map_err(|e| explain_overflow(e, file))?;
    if let Some(syncs) = syncs {
        syncs.add(rewritten.unsynced_folder.as_deref());
    }
    let how = match (target.output, rewritten.outcome) {
        (Some(_), _) => How::Output,
        (None, ops::Outcome::Unchanged) => How::Unchanged,
        (None, ops::Outcome::Written) => How::InPlace,
    };
    Ok(Written {
        path: target.output.unwrap_or(file).to_path_buf(),
        how,
        pixels,
        notes: rewritten.notes,
    })
}

/// A prompt too long for the XMP mirrors of a JPEG's standard XMP (64 KB; the record itself goes to ExtendedXMP)
/// gets a hint saying what to do.
fn explain_overflow(err: anyhow::Error, file: &Path) -> anyhow::Error {
    let overflow = err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<stemma_container::Error>(),
            Some(stemma_container::Error::Limit {
                limit: "max_standard_xmp",
                ..
            })
        )
    });
    if overflow {
        err.context(format!(
            "{}: the prompt is too long for the XMP copies other programs read (a JPEG's standard XMP holds \
             64 KB); stamp with --no-xmp to write the record without them, or --sidecar to keep the record \
             beside the file",
            file.display()
        ))
    } else {
        err
    }
}

/// The record file of `--record` (`-`: standard input), parsed.
fn read_record_file(path: &Path) -> Result<Record> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).with_context(|| path.display().to_string())?
    };
    parse_record(&text).with_context(|| path.display().to_string())
}

fn base_record(
    file: &Path,
    args: &Args,
    shared: &Shared,
    folders: &Folders,
    limits: &Limits,
) -> Result<Record> {
    if let Some(record) = &shared.record {
        return Ok(record.clone());
    }
    if args.fresh {
        return Ok(Record::new());
    }
    let opts = ResolveOptions {
        limits: *limits,
        ..ResolveOptions::default()
    };
    match resolve_in(file, &folders.of(file), &opts).map_err(anyhow::Error::new) {
        Ok(resolved) => Ok(resolved.record.unwrap_or_else(Record::new)),
        // A sidecar can describe a file stemma cannot read; it starts empty.
        Err(e) if args.sidecar => {
            eprintln!("stemma: {}; starting from an empty record", Chain(&e));
            Ok(Record::new())
        }
        Err(e) => Err(e),
    }
}

fn apply_flags(record: &mut Record, args: &Args, parents: &[Parent]) -> Result<()> {
    if let Some(p) = &args.prompt {
        record.prompt_mut().positive = Some(p.clone());
    }
    if let Some(n) = &args.negative {
        record.prompt_mut().negative = Some(n.clone());
    }
    if !args.params.is_empty() || args.seed.is_some() {
        let params = record.params.take().unwrap_or_default();
        let mut object = match serde_json::to_value(&params)? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        for kv in &args.params {
            let (key, value) = kv
                .split_once('=')
                .filter(|(key, _)| !key.is_empty())
                .ok_or_else(|| UsageError(format!("--param {kv:?}: expected KEY=VALUE")))?;
            object.insert(key.to_string(), param_value(key, value));
        }
        if let Some(seed) = &args.seed {
            object.insert("seed".into(), Value::String(seed.clone()));
        }
        let params: Params = serde_json::from_value(Value::Object(object))
            .map_err(|e| UsageError(format!("--param: {e}")))?;
        record.params = Some(params);
    }
    record.parents.extend(parents.iter().cloned());
    if let Some(id) = &args.sequence {
        let seq = record.sequence.get_or_insert_with(|| Sequence {
            id: id.clone(),
            ..Sequence::default()
        });
        seq.id = id.clone();
        if let Some(frame) = args.frame {
            seq.frame = Some(frame);
        }
    }
    if let Some(name) = &args.generator {
        let generator = record.generator.get_or_insert_with(Default::default);
        generator.name = name.clone();
    }
    if let Some(created) = &args.created {
        if !stemma_model::is_rfc3339_date_time(created) {
            bail!("--created {created:?}: not an RFC 3339 date-time (like 2024-05-01T12:30:00Z)");
        }
        record.created = Some(created.clone());
    }
    Ok(())
}

/// A `--param` value: the seed is always text; model and VAE are names; anything else is JSON when it parses.
fn param_value(key: &str, value: &str) -> Value {
    match key {
        "seed" => Value::String(value.to_string()),
        "model" | "vae" => serde_json::json!({ "name": value }),
        _ => serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string())),
    }
}

/// `FILE_OR_ID[:relation]` to a parent edge; a file is resolved to its content id.
fn resolve_parent(spec: &str, limits: &Limits) -> Result<Parent> {
    let (target, relation) = match spec.rsplit_once(':') {
        Some((t, r)) if !t.is_empty() && is_relation_word(r) && t != "sha256" => (t, r.to_string()),
        _ => (spec, relation::IMG2IMG.to_string()),
    };
    if let Ok(id) = target.parse::<ContentId>() {
        return Ok(Parent {
            id: Some(id.to_string()),
            relation,
            ..Parent::default()
        });
    }
    let path = Path::new(target);
    let bytes = std::fs::read(path)
        .with_context(|| format!("--parent {spec}: cannot read {}", path.display()))?;
    let id =
        ops::lineage_id(&bytes, limits).with_context(|| format!("--parent {}", path.display()))?;
    Ok(Parent {
        id: Some(id.to_string()),
        relation,
        hint: path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string),
        ..Parent::default()
    })
}

fn is_relation_word(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}
