//! `stemma fork IMAGE... --set key=value`: the settings of a new run from each image's record with the changes
//! applied, in the generator's formats (A1111 infotext, A1111/Forge API payload, ComfyUI API graph, Deforum and
//! Disco animation settings from a frame, native JSON). Printed, or written into `-o DIR`. Every fork is recorded
//! in a run manifest (base settings hash, RFC 7396 merge patch, source content id), registered beside the
//! catalog so that `stemma scan` links the results to their source with relation `fork`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use stemma_container::Limits;
use stemma_runs::{
    fork, load_source, manifest_path, parse_change, ForkFormat, ForkRequest, ForkSource,
    SettingsStore,
};

use crate::exit;

#[derive(clap::Args)]
pub struct Args {
    /// The images to fork (one change, many images: one fork each); with `--from-frame`, a frame, a run
    /// folder or a run manifest.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// A change, `key=value` (seed, steps, cfg, sampler, scheduler, denoise, width, height, model, or any
    /// setting name); repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// A new prompt (for an animation: the prompt from the fork frame on).
    #[arg(long)]
    set_prompt: Option<String>,
    /// A new negative prompt.
    #[arg(long)]
    set_negative: Option<String>,
    /// Fork an animation from this frame (the frame becomes the init image).
    #[arg(long, value_name = "N")]
    from_frame: Option<u64>,
    /// Output formats (repeatable or comma separated): infotext, a1111-api, comfyui, deforum, disco, native.
    /// Default: the source generator's own format and native.
    #[arg(long, value_delimiter = ',')]
    format: Vec<String>,
    /// An img2img API payload with the image as init image (instead of txt2img).
    #[arg(long)]
    img2img: bool,
    /// Write the fork files and the manifest into this folder instead of printing.
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
    #[arg(short, long)]
    quiet: bool,
}

fn default_formats(source: &ForkSource) -> Vec<ForkFormat> {
    let generator = source
        .run
        .as_ref()
        .map(|r| r.manifest.generator.clone())
        .or_else(|| source.record.generator.as_ref().map(|g| g.name.clone()))
        .unwrap_or_default();
    let own = match (source.frame, generator.as_str()) {
        (Some(_), "deforum") => ForkFormat::Deforum,
        (Some(_), "disco") => ForkFormat::Disco,
        (_, "comfyui") => ForkFormat::Comfyui,
        _ => ForkFormat::Infotext,
    };
    vec![own, ForkFormat::Native]
}

pub fn run(args: Args) -> Result<u8> {
    let mut changes = Vec::new();
    for s in &args.set {
        changes.push(parse_change(s)?);
    }
    if let Some(p) = &args.set_prompt {
        changes.push(("prompt".to_string(), serde_json::Value::String(p.clone())));
    }
    if let Some(n) = &args.set_negative {
        changes.push(("negative".to_string(), serde_json::Value::String(n.clone())));
    }
    let mut formats = Vec::new();
    for f in &args.format {
        match ForkFormat::parse(f.trim()) {
            Some(ff) => formats.push(ff),
            None => bail!(crate::output::UsageError(format!(
                "--format {f}: expected infotext, a1111-api, comfyui, deforum, disco or native"
            ))),
        }
    }
    let request = ForkRequest {
        changes,
        from_frame: args.from_frame,
        img2img: args.img2img,
    };
    let limits = Limits::DEFAULT;
    let many = args.images.len() > 1;
    let mut failed = 0;
    for image in &args.images {
        if let Err(e) = fork_one(image, &request, &formats, &args, many, &limits) {
            eprintln!("stemma: {}", crate::output::Chain(&e));
            failed += 1;
        }
    }
    Ok(if failed > 0 {
        exit::FILE_ERROR
    } else {
        exit::OK
    })
}

fn fork_one(
    image: &Path,
    request: &ForkRequest,
    formats: &[ForkFormat],
    args: &Args,
    many: bool,
    limits: &Limits,
) -> Result<()> {
    let source = load_source(image, request.from_frame, limits)?;
    let formats = if formats.is_empty() {
        default_formats(&source)
    } else {
        formats.to_vec()
    };
    let mut forked = fork(&source, request, &formats)?;
    forked.manifest.created = Some(crate::cmd_run::now_rfc3339());
    let library = match &args.output {
        Some(dir) => dir.clone(),
        None => source
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf(),
    };
    let stem = source
        .path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("image")
        .to_string();
    let targets: Vec<PathBuf> = match &args.output {
        Some(dir) => forked
            .outputs
            .iter()
            .map(|out| match many {
                true => dir.join(format!("{stem}.{}", out.file_name)),
                false => dir.join(&out.file_name),
            })
            .collect(),
        None => Vec::new(),
    };
    // Refused before anything is written or recorded: stemma never overwrites a file.
    if let Some(path) = targets.iter().find(|p| p.exists()) {
        bail!(
            "{}: already exists; stemma never overwrites it",
            path.display()
        );
    }
    if let Some(dir) = &args.output {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    let store = SettingsStore::for_folder(&library);
    store.put(&forked.base.0, &forked.base.1)?;
    store.put(&forked.manifest.settings.format, &forked.document)?;
    let registered = store.register(&forked.manifest)?;
    match &args.output {
        Some(dir) => {
            let mut written = Vec::new();
            for (out, path) in forked.outputs.iter().zip(targets) {
                stemma_container::atomic::write_atomic(&path, out.text.as_bytes())
                    .with_context(|| path.display().to_string())?;
                written.push(path);
            }
            let manifest_file = manifest_path(dir, &forked.manifest.id);
            forked.manifest.save(&manifest_file, true)?;
            if !args.quiet {
                println!(
                    "forked {} as {} ({}): wrote {} and {}",
                    source.path.display(),
                    forked.manifest.id,
                    describe_changes(&forked),
                    written
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    manifest_file.display()
                );
            }
        }
        None => {
            for out in &forked.outputs {
                if forked.outputs.len() > 1 || many {
                    println!("# {} ({})", out.file_name, source.path.display());
                }
                print!("{}", out.text);
                if !out.text.ends_with('\n') {
                    println!();
                }
            }
            if !args.quiet {
                eprintln!(
                    "forked {} as {} ({}); recorded in {}",
                    source.path.display(),
                    forked.manifest.id,
                    describe_changes(&forked),
                    registered.display()
                );
            }
        }
    }
    Ok(())
}

fn describe_changes(forked: &stemma_runs::Forked) -> String {
    let Some(f) = &forked.manifest.fork else {
        return String::new();
    };
    let mut parts: Vec<String> = f
        .changes
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) if s.chars().count() > 40 => format!("{k}=…"),
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    if let Some(n) = f.from_frame {
        parts.push(format!("from frame {n}"));
    }
    if parts.is_empty() {
        "no changes".into()
    } else {
        parts.join(", ")
    }
}
