//! `stemma stamp`: write or update a file's record from flags and/or a record file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use stemma_container::atomic::WriteOptions;
use stemma_container::{ops, sidecar, Edit, Limits, RecordChange};
use stemma_model::{
    parse_record, record_to_json, relation, ContentId, Params, Parent, Record, Sequence,
};

use crate::output::{done, Chain, UsageError};
use crate::{config, exit};
use stemma_import::{resolve, ResolveOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The image to stamp.
    file: PathBuf,
    /// Write the result here instead of rewriting FILE in place.
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

pub fn run(args: Args) -> Result<u8> {
    let limits = Limits::default();
    let config = config::load()?;
    // Held from reading the current record to writing the new one, so that concurrent stamps serialise instead
    // of losing each other's changes. A file that cannot be opened fails below with a better message.
    let _lock = stemma_container::lock::lock_for_update(&args.file).ok();
    let mut record = base_record(&args, &limits)?;
    apply_flags(&mut record, &args, &limits)?;
    if let Some(folder) = &args.frames_from {
        crate::stamp_frames::apply(&mut record, &args.file, folder, &limits)?;
    }
    if let Some(author) = args.prompt_author.clone().or(config.prompt_author.clone()) {
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
        file: &args.file,
        output: args.output.as_deref(),
        sidecar: args.sidecar,
        edit: Edit {
            force: args.force,
            xmp_mirrors: config::choose(false, args.no_xmp, config.xmp, true),
            a1111_mirror: config::choose(args.a1111, args.no_a1111, config.a1111, false),
            windows_text: config::choose(args.windows, args.no_windows, config.windows, false),
            ..Edit::default()
        },
    };
    let written = write_record(&target, record, &limits)?;
    done(args.quiet, format_args!("{written}"));
    Ok(exit::OK)
}

/// What `write_record` did, as the one line a command prints.
pub struct Written {
    /// The file (or sidecar) written, or the file left as it was.
    pub path: PathBuf,
    pub how: How,
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
/// then rewrite the file atomically (or write its sidecar).
pub fn write_record(target: &Target, mut record: Record, limits: &Limits) -> Result<Written> {
    let file = target.file;
    let name = || file.display().to_string();
    let bytes = std::fs::read(file).with_context(name)?;
    let source: &dyn stemma_container::source::Source = &bytes.as_slice();
    match ops::handler_of(source) {
        Ok(handler) => {
            // A damaged file is refused before anything else, with the damage named.
            let problems = handler.damage(&bytes, limits).with_context(name)?;
            if !problems.is_empty() {
                bail!("{}: not written: {}", file.display(), problems.join("; "));
            }
            // The ids describe the image data, which writing a record does not change, so they come from the input.
            record.content = Some(ops::content_ids(&bytes, true, limits).with_context(name)?);
        }
        // Any file can have a sidecar, even one stemma cannot read.
        Err(_) if target.sidecar => {}
        Err(e) => return Err(e).with_context(name),
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
    if target.sidecar {
        let path = sidecar::write_sidecar(file, &json)
            .with_context(|| format!("{}: sidecar not written", file.display()))?;
        return Ok(Written {
            path,
            how: How::Sidecar,
        });
    }
    let edit = Edit {
        record: RecordChange::Set(json),
        ..target.edit.clone()
    };
    let options = WriteOptions {
        allow_read_only: target.edit.force,
    };
    let rewritten = ops::rewrite_with(file, target.output, &edit, limits, &options)
        .with_context(|| format!("{}: not written", file.display()))
        .map_err(|e| explain_overflow(e, file))?;
    for note in &rewritten.notes {
        eprintln!("stemma: warning: {}: {note}", file.display());
    }
    Ok(match (target.output, rewritten.outcome) {
        (Some(out), _) => Written {
            path: out.to_path_buf(),
            how: How::Output,
        },
        (None, ops::Outcome::Unchanged) => Written {
            path: file.to_path_buf(),
            how: How::Unchanged,
        },
        (None, ops::Outcome::Written) => Written {
            path: file.to_path_buf(),
            how: How::InPlace,
        },
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

fn base_record(args: &Args, limits: &Limits) -> Result<Record> {
    if let Some(path) = &args.record {
        let text = if path == Path::new("-") {
            std::io::read_to_string(std::io::stdin())?
        } else {
            std::fs::read_to_string(path).with_context(|| path.display().to_string())?
        };
        return parse_record(&text).with_context(|| path.display().to_string());
    }
    if args.fresh {
        return Ok(Record::new());
    }
    let opts = ResolveOptions {
        limits: *limits,
        ..ResolveOptions::default()
    };
    match resolve(&args.file, &opts).map_err(anyhow::Error::new) {
        Ok(resolved) => Ok(resolved.record.unwrap_or_else(Record::new)),
        // A sidecar can describe a file stemma cannot read; it starts empty.
        Err(e) if args.sidecar => {
            eprintln!("stemma: {}; starting from an empty record", Chain(&e));
            Ok(Record::new())
        }
        Err(e) => Err(e),
    }
}

fn apply_flags(record: &mut Record, args: &Args, limits: &Limits) -> Result<()> {
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
    for spec in &args.parents {
        record.parents.push(resolve_parent(spec, limits)?);
    }
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
