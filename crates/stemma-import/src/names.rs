//! File-name importers: one data table of patterns per tool ([`PATTERNS`]), each recovering what the name holds.
//!
//! Names are lossy (legacy-tools.md §0.2): prompts are slugged and cut. What a name yields is kept as a prompt
//! *fragment*: [`FilenameMatch::prompt_lossy`] says characters were replaced or dropped, [`FilenameMatch::truncated`]
//! says the text was (or may have been) cut. Patterns are matched on the base name, some also on the name of the
//! folder that holds the file (VQGAN `steps/`, RIFE `vid_out/`, the basujindal prompt folder, ...).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{LazyLock, OnceLock};

use regex::{Captures, Regex, RegexSet};
use serde::Serialize;
use serde_json::{json, Map, Value};
use stemma_model::{Generator, Params, Prompt, RawEntry, Record, Run, Sequence};

use crate::tool::Tool;
use crate::Confidence;

mod a1111_pattern;
pub use a1111_pattern::A1111Pattern;

/// What kind of file a name denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A single generated image (a still of a batch, a download).
    Image,
    /// One frame of an animation or of an optimisation run.
    Frame,
    /// An intermediate save of a frame (Disco `partials/`).
    Partial,
    /// A depth map written beside the frames.
    Depth,
    /// A grid of several images.
    Grid,
    /// A frame written by a frame-interpolation tool.
    Interpolated,
    /// A per-run settings file.
    Settings,
    /// A per-frame subtitle file (Deforum `.srt`).
    Subtitles,
    /// A video made from the frames.
    Video,
    /// A model-state backup (pytti `.bak`).
    Backup,
}

/// What one capture group of a pattern means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Prompt text with its spaces (characters may be replaced).
    Prompt,
    /// Prompt text with spaces written as `_`.
    PromptSlug,
    /// The generation seed.
    Seed,
    /// A counter that is not an animation frame (A1111 `00012-`, still index in a batch).
    Counter,
    /// Zero-based frame index.
    Frame,
    /// One-based image number that is also the frame index plus one (pytti `_{n}`).
    FrameFrom1,
    /// Batch or namespace name.
    Batch,
    /// Run number within the batch (Disco `(N)`, pytti `(k)`).
    Run,
    /// User name.
    User,
    /// Job or request UUID.
    Uuid,
    /// Position in a grid.
    GridIndex,
    /// A local date and time: six digit groups Y M D h m s, or one 14-digit timestring.
    Timestamp,
    /// Deforum timestring `YYYYMMDDhhmmss` (also the sequence key).
    Timestring,
    /// Unix time in seconds.
    UnixTime,
    /// ChatGPT parts: month name, day, year, 12-hour clock, AM/PM.
    MonthName,
    Day,
    Year,
    Hour12,
    Minute,
    Second,
    AmPm,
    /// Text a user put before the tool's own name.
    Prefix,
    /// Anything else, kept in [`FilenameMatch::extra`] under this key.
    Extra(&'static str),
}

/// How a tool cuts the prompt in its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The name has no prompt, or the tool does not cut it.
    Never,
    /// The prompt part is cut to this many characters.
    Prompt(usize),
    /// The whole stem (name without extension) is cut to this many characters.
    Stem(usize),
    /// The tool's cut is not known: the prompt may be cut at any length.
    Unknown,
}

/// Tool-specific steps after a match that a regex cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Post {
    None,
    /// DALL·E: era from the date (DALL·E 2 before 2023-10, DALL·E 3 in ChatGPT after), its cut, and the
    /// re-slugged `_-_` variant.
    Dalle,
    /// `name(N)_i.png` is written by Disco Diffusion and by pytti; decide by each tool's numbering rules.
    DiscoOrPytti,
    /// Deforum: the frame padding tells the writer (5 digits: Colab or extension before 2023-03-05; 9: extension).
    DeforumPadding,
    /// The generic fallback: a long unpadded number is a seed, anything else a counter.
    Generic,
}

/// A rule for the folder that holds the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirRule {
    /// Regex over the folder's name, with named groups listed in the pattern's `captures`.
    pub regex: &'static str,
    /// When true the pattern applies only inside a matching folder.
    pub required: bool,
}

/// One row of the file-name table.
#[derive(Debug, Clone, Copy)]
pub struct FilenamePattern {
    /// Pattern id, written to `generator.dialect` as `filename:<id>`.
    pub id: &'static str,
    pub tool: Tool,
    pub kind: FileKind,
    /// Regex over the base name, anchored, with named groups.
    pub regex: &'static str,
    /// Folder rule, if the folder matters.
    pub dir: Option<DirRule>,
    /// What each named group means.
    pub captures: &'static [(&'static str, Field)],
    /// True when the tool replaces or drops characters of the prompt.
    pub lossy: bool,
    pub cut: Cut,
    pub confidence: Confidence,
    pub post: Post,
    /// Where the rule comes from (legacy-tools.md section and the tool's source).
    pub source: &'static str,
}

const fn pat(
    id: &'static str,
    tool: Tool,
    kind: FileKind,
    regex: &'static str,
    captures: &'static [(&'static str, Field)],
) -> FilenamePattern {
    FilenamePattern {
        id,
        tool,
        kind,
        regex,
        dir: None,
        captures,
        lossy: false,
        cut: Cut::Never,
        confidence: Confidence::Strong,
        post: Post::None,
        source: "",
    }
}

impl FilenamePattern {
    const fn lossy(mut self, cut: Cut) -> Self {
        self.lossy = true;
        self.cut = cut;
        self
    }
    const fn cut(mut self, cut: Cut) -> Self {
        self.cut = cut;
        self
    }
    const fn weak(mut self) -> Self {
        self.confidence = Confidence::Weak;
        self
    }
    const fn post(mut self, post: Post) -> Self {
        self.post = post;
        self
    }
    const fn dir(mut self, regex: &'static str, required: bool) -> Self {
        self.dir = Some(DirRule { regex, required });
        self
    }
    const fn src(mut self, source: &'static str) -> Self {
        self.source = source;
        self
    }
}

use Field as F;
use FileKind as K;

/// Every file-name pattern, most specific first. The first matching row wins.
pub static PATTERNS: &[FilenamePattern] = &[
    // --- OpenAI (legacy-tools.md §7) ---
    pat("dalle", Tool::Dalle, K::Image,
        r"^(?P<prefix>.*?)DALL(?:·|Â·|路|[-_ ])?E[ _](?P<ts>[0-9]{4}-[0-9]{2}-[0-9]{2}[ _][0-9]{2}[.: ][0-9]{2}[.: ][0-9]{2})(?:(?P<sep>[ _]-[ _])(?P<prompt>.+?)|_(?P<suffix>[0-9]+))?\s*(?:\.(?P<ext>png|webp|jpe?g))?$",
        &[("prefix", F::Prefix), ("ts", F::Timestamp), ("sep", F::Extra("separator")), ("prompt", F::Prompt), ("suffix", F::Extra("suffix")), ("ext", F::Extra("ext"))])
        .lossy(Cut::Prompt(150)).post(Post::Dalle).src("§7: DALL·E {local date} {HH.MM.SS} - {prompt}; ChatGPT cuts to 150, ':' → '_'"),
    pat("chatgpt-image", Tool::Dalle, K::Image,
        r"^ChatGPT Image (?P<mon>[A-Z][a-z]{2}) (?P<day>[0-9]{1,2}), (?P<year>[0-9]{4})(?:,| at) (?P<h>[0-9]{1,2})_(?P<m>[0-9]{2})_(?P<s>[0-9]{2})[ \x{202f}](?P<ampm>AM|PM)(?: \((?P<dup>[0-9]+)\))?\.(?P<ext>png|webp|jpe?g)$",
        &[("mon", F::MonthName), ("day", F::Day), ("year", F::Year), ("h", F::Hour12), ("m", F::Minute), ("s", F::Second), ("ampm", F::AmPm), ("dup", F::Extra("duplicate")), ("ext", F::Extra("ext"))])
        .src("§7: GPT-4o / gpt-image-1 in ChatGPT, no prompt, 12-hour clock"),
    // --- Midjourney (§9) ---
    pat("midjourney", Tool::Midjourney, K::Image,
        r"^(?P<user>[^_]+(?:_[^_]+)*?)_(?P<slug>.*?)_?(?P<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:_(?P<idx>[0-3]))?\.(?P<ext>png|webp|jpe?g)$",
        &[("user", F::User), ("slug", F::PromptSlug), ("uuid", F::Uuid), ("idx", F::GridIndex), ("ext", F::Extra("ext"))])
        .lossy(Cut::Stem(100)).src("§9: {user}_{prompt slug}_{job uuid}[_{grid index}], stem cut to 100"),
    // --- Stable Diffusion Discord beta bot (§5) ---
    pat("sd-dreambot", Tool::StableDiffusion, K::Image,
        r"^(?P<slug>.+?)_-C_(?P<cfg>[0-9.]+)_-n_(?P<n>[0-9]+)(?:_-g)?_-S_(?P<seed>[0-9]+)_ts-(?P<ts>[0-9]+)_idx-(?P<idx>[0-9]+)\.png$",
        &[("slug", F::PromptSlug), ("cfg", F::Extra("cfg_scale")), ("n", F::Extra("n_samples")), ("seed", F::Seed), ("ts", F::UnixTime), ("idx", F::Counter)])
        .lossy(Cut::Unknown).src("§5: Discord beta bot {slug}_-C_{cfg}_-n_{n}_-S_{seed}_ts-{unix}_idx-{i}"),
    // --- DreamStudio (§8) ---
    pat("dreamstudio-web", Tool::DreamStudio, K::Image,
        r"^(?P<seed>[0-9]{1,10})_(?P<slug>[A-Za-z0-9_]{1,100})\.png$",
        &[("seed", F::Seed), ("slug", F::PromptSlug)])
        .lossy(Cut::Prompt(100)).weak().src("§8: {seed}_{re.sub('[^A-Za-z0-9]','_',prompt)[:100]}.png"),
    pat("stability-sdk", Tool::DreamStudio, K::Image,
        r"^(?P<prefix>generation_|upscale_)(?P<prompt>.*)_(?P<ts>[0-9]{9,11})_(?P<idx>[0-9]+)\.(?P<ext>png|jpe?g|webp|pb(?:\.json)?)$",
        &[("prefix", F::Extra("kind")), ("prompt", F::Prompt), ("ts", F::UnixTime), ("idx", F::Counter), ("ext", F::Extra("ext"))])
        .cut(Cut::Unknown).src("§8: stability-sdk {prefix}{prompt[:budget]}_{unix}_{idx}"),
    // --- Other GUIs (§10) ---
    pat("nmkd", Tool::Nmkd, K::Image,
        r"^(?P<ts>[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2})-(?P<num>[0-9]+)-(?P<slug>[A-Za-z0-9._]*)-(?P<seed>[0-9]+)-scale(?P<scale>[0-9]+\.[0-9]{2})-(?P<sampler>[^-]+)-(?P<model>.+)\.png$",
        &[("ts", F::Timestamp), ("num", F::Counter), ("slug", F::PromptSlug), ("seed", F::Seed), ("scale", F::Extra("cfg_scale")), ("sampler", F::Extra("sampler")), ("model", F::Extra("model"))])
        .lossy(Cut::Unknown).src("§10.1: NMKD export name"),
    pat("fooocus", Tool::Fooocus, K::Image,
        r"^(?P<ts>[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2})_(?P<rnd>[0-9]{4})\.(?P<ext>png|jpe?g|webp)$",
        &[("ts", F::Timestamp), ("rnd", F::Extra("random")), ("ext", F::Extra("ext"))])
        .src("§10.3: outputs/{date}/{date}_{time}_{rnd}"),
    pat("invokeai2", Tool::InvokeAi, K::Image,
        r"^(?P<n>[0-9]{6})\.(?P<seed>[0-9]+)(?:\.(?P<var>[0-9]+|[a-z_]+))?\.png$",
        &[("n", F::Counter), ("seed", F::Seed), ("var", F::Extra("variant"))])
        .src("§5: InvokeAI 2.x {prefix:06}.{seed}[.{variant}].png"),
    // --- Deforum (§3) ---
    pat("deforum-settings", Tool::Deforum, K::Settings, r"^(?P<ts>[0-9]{14})_settings\.txt$",
        &[("ts", F::Timestring)]).src("§3: {timestring}_settings.txt"),
    pat("deforum-srt", Tool::Deforum, K::Subtitles, r"^(?P<ts>[0-9]{14})\.srt$",
        &[("ts", F::Timestring)]).src("§3.2: {timestring}.srt"),
    pat("deforum-video", Tool::Deforum, K::Video,
        r"^(?P<ts>[0-9]{14})(?:_(?P<engine>RIFE|FILM)_x(?P<x>[0-9]+)(?:_slomo_x(?P<slomo>[0-9]+))?|_Upscaled_(?P<up>[\w.]+))?\.(?P<ext>mp4|gif)$",
        &[("ts", F::Timestring), ("engine", F::Extra("engine")), ("x", F::Extra("factor")), ("slomo", F::Extra("slow_mo")), ("up", F::Extra("upscale")), ("ext", F::Extra("ext"))])
        .src("§3.2: {timestring}[_RIFE_x{N}[_slomo_x{M}]].mp4"),
    pat("deforum-depth", Tool::Deforum, K::Depth, r"^(?P<ts>[0-9]{14})_depth_(?P<frame>[0-9]{5}|[0-9]{9})\.png$",
        &[("ts", F::Timestring), ("frame", F::Frame)]).post(Post::DeforumPadding).src("§3: {timestring}_depth_{frame}.png"),
    pat("deforum-grid", Tool::Deforum, K::Grid, r"^(?P<ts>[0-9]{14})_(?P<ip>[0-9]{5})_grid_(?P<seed>[0-9]+)\.png$",
        &[("ts", F::Timestring), ("ip", F::Counter), ("seed", F::Seed)]).src("§3.1: {timestring}_{iprompt:05}_grid_{seed}.png"),
    pat("deforum-frame", Tool::Deforum, K::Frame, r"^(?P<ts>[0-9]{14})_(?P<frame>[0-9]{5}|[0-9]{9})\.(?P<ext>png|jpg|exr)$",
        &[("ts", F::Timestring), ("frame", F::Frame), ("ext", F::Extra("ext"))]).post(Post::DeforumPadding)
        .src("§3: {timestring}_{frame:05}.png (Colab, extension before 2023-03-05) or _{frame:09}"),
    pat("deforum-still-seed", Tool::Deforum, K::Image, r"^(?P<ts>[0-9]{14})_(?P<idx>[0-9]{5})_(?P<seed>[0-9]+)\.png$",
        &[("ts", F::Timestring), ("idx", F::Counter), ("seed", F::Seed)]).src("§3.1: {timestring}_{index:05}_{seed}.png"),
    pat("deforum-still-prompt", Tool::Deforum, K::Image, r"^(?P<ts>[0-9]{14})_(?P<idx>[0-9]{5})_(?P<slug>[A-Za-z_]+)\.png$",
        &[("ts", F::Timestring), ("idx", F::Counter), ("slug", F::PromptSlug)]).lossy(Cut::Prompt(160))
        .src("§3.1: {timestring}_{index:05}_{sanitize(prompt)[:160]}.png, sanitize keeps [A-Za-z ]"),
    pat("deforum-interp-rife", Tool::Deforum, K::Interpolated, r"^(?P<frame>[0-9]{9})\.png$",
        &[("frame", F::Frame), ("its", F::Timestring)]).dir(r"^interpolated_frames_rife_(?P<its>.+)$", true)
        .src("§3.2: interpolated_frames_rife_{timestring}/{cnt:09}.png"),
    pat("deforum-interp-film", Tool::Deforum, K::Interpolated, r"^frame_(?P<frame>[0-9]{9})\.png$",
        &[("frame", F::Frame), ("its", F::Timestring)]).dir(r"^interpolated_frames_film_(?P<its>.+)$", true)
        .src("§3.2: interpolated_frames_film_{timestring}/frame_{n:09}.png"),
    // --- Disco Diffusion (§1) ---
    pat("disco-settings", Tool::Disco, K::Settings,
        r"^(?P<batch>.+?)(?:\((?P<run>[0-9]+)\)|-(?P<run2>[0-9]+))_settings\.txt$",
        &[("batch", F::Batch), ("run", F::Run), ("run2", F::Run)]).post(Post::DiscoOrPytti)
        .src("§1.2: {batch}({N})_settings.txt, older {batch}-{N}_settings.txt"),
    pat("disco-partial", Tool::Disco, K::Partial,
        r"^(?P<batch>.+)\((?P<run>[0-9]+)\)_(?P<frame>[0-9]{4})-(?:(?P<pct>[0-9]{2,3})%|(?P<step>[0-9]{3}))\.png$",
        &[("batch", F::Batch), ("run", F::Run), ("frame", F::Frame), ("pct", F::Extra("percent")), ("step", F::Extra("step"))])
        .src("§1.2: intermediate saves"),
    pat("disco-vr", Tool::Disco, K::Frame, r"^frame_(?P<frame>[0-9]{4,})_(?P<eye>[lr])\.png$",
        &[("frame", F::Frame), ("eye", F::Extra("eye"))]).src("§1.2: VR eye views"),
    pat("disco-video", Tool::Disco, K::Video, r"^(?P<batch>.+)\((?P<run>[0-9]+)\)(?:_(?P<vk>flow|blend))?\.mp4$",
        &[("batch", F::Batch), ("run", F::Run), ("vk", F::Extra("video"))]).src("§1.2: {batch}({run}).mp4"),
    pat("disco-frame", Tool::Disco, K::Frame, r"^(?P<batch>.+)\((?P<run>[0-9]+)\)_(?P<frame>[0-9]{4,})\.png$",
        &[("batch", F::Batch), ("run", F::Run), ("frame", F::Frame)])
        .src("§1.2: {batch}({N})_{frame:04}.png (animation; also v3 stills)"),
    pat("disco-still", Tool::Disco, K::Image, r"^(?P<batch>.+)\((?P<run>[0-9]+)\)_(?P<idx>0|[1-9][0-9]{0,2})\.png$",
        &[("batch", F::Batch), ("run", F::Run), ("idx", F::Counter)]).post(Post::DiscoOrPytti)
        .src("§1.2: {batch}({N})_{i}.png, i unpadded (v4.1+ stills)"),
    // --- pytti (§2) ---
    pat("pytti-batch-settings", Tool::Pytti, K::Settings, r"^(?P<ns>.+)_batch settings\.txt$",
        &[("ns", F::Batch)]).src("§2.3: {ns}_batch settings.txt"),
    pat("pytti-settings", Tool::Pytti, K::Settings, r"^(?P<ns>.+?)(?:\((?P<run>[0-9]+)\))?_settings\.txt$",
        &[("ns", F::Batch), ("run", F::Run)]).weak().src("§2.3: {base_name}_settings.txt"),
    pat("pytti-backup", Tool::Pytti, K::Backup, r"^(?P<ns>.+?)(?:\((?P<run>[0-9]+)\))?_(?P<n>[0-9]+)\.bak$",
        &[("ns", F::Batch), ("run", F::Run), ("n", F::FrameFrom1)]).src("§2.3: backup/{ns}/{base_name}_{n}.bak"),
    pat("pytti-frame", Tool::Pytti, K::Frame, r"^(?P<ns>.+?)(?:\((?P<run>[0-9]+)\))?_(?P<n>[1-9][0-9]{0,5})\.png$",
        &[("ns", F::Batch), ("run", F::Run), ("n", F::FrameFrom1)]).weak()
        .src("§2.3: images_out/{ns}/{ns}[(k)]_{n}.png, n from 1, unpadded (a count of saved images: at most 6 digits)"),
    // --- AUTOMATIC1111 (§6) ---
    pat("a1111-grid-folder", Tool::A1111, K::Grid,
        r"^grid-(?P<n>[0-9]{4})(?:-(?P<seed>-?[0-9]+)-(?P<prompt>.+?))?\.(?P<ext>png|jpe?g|webp)$",
        &[("n", F::Counter), ("seed", F::Seed), ("prompt", F::Prompt), ("ext", F::Extra("ext"))])
        .dir(r"-grids$", true).lossy(Cut::Prompt(128)).src("§6.1: outputs/txt2img-grids/grid-{n:04}.png"),
    pat("a1111-grid", Tool::A1111, K::Grid,
        r"^grid-(?P<n>[0-9]{4})-(?P<seed>-?[0-9]+)-(?P<prompt>.+?)\.(?P<ext>png|jpe?g|webp)$",
        &[("n", F::Counter), ("seed", F::Seed), ("prompt", F::Prompt), ("ext", F::Extra("ext"))])
        .lossy(Cut::Prompt(128)).src("§6.2: grid-{n:04}-[seed]-[prompt_spaces]"),
    pat("a1111", Tool::A1111, K::Image,
        r"^(?P<n>[0-9]{5})-(?P<seed>-?[0-9]+)(?:-(?P<prompt>.+?))??(?P<suffix>-before-highres-fix|-before-face-restoration|-before-color-correction|-mask-composite|-mask)?(?:-(?P<dup>[0-9]+))?\.(?P<ext>png|jpe?g|webp|avif|gif)$",
        &[("n", F::Counter), ("seed", F::Seed), ("prompt", F::Prompt), ("suffix", F::Extra("suffix")), ("dup", F::Extra("duplicate")), ("ext", F::Extra("ext"))])
        .lossy(Cut::Prompt(128)).src("§6.2: {n:05}-[seed]-[prompt_spaces], prompt sanitised and cut to 128"),
    pat("a1111-early", Tool::A1111, K::Image, r"^(?P<n>[0-9]{5})-(?P<seed>[0-9]+)_(?P<slug>.+)\.png$",
        &[("n", F::Counter), ("seed", F::Seed), ("slug", F::PromptSlug)])
        .lossy(Cut::Prompt(128)).src("§6.2: 2022-08-22 {n:05}-{seed}_{prompt with underscores[:128]}.png"),
    // --- Original Stable Diffusion scripts (§5) ---
    pat("sd-compvis-sample", Tool::StableDiffusion, K::Image, r"^(?P<n>[0-9]{5})\.png$",
        &[("n", F::Counter)]).dir(r"^samples$", true).src("§5: CompVis {outdir}/samples/{n:05}.png"),
    pat("sd-compvis-grid", Tool::StableDiffusion, K::Grid, r"^grid-(?P<n>[0-9]{4})\.png$",
        &[("n", F::Counter)]).weak().src("§5: CompVis {outdir}/grid-{n:04}.png (A1111 grids in *-grids/ folders)"),
    pat("sd-basujindal", Tool::StableDiffusion, K::Image, r"^seed_(?P<seed>[0-9]+)_(?P<n>[0-9]{5})\.(?P<ext>png|jpg)$",
        &[("seed", F::Seed), ("n", F::Counter), ("folder", F::PromptSlug), ("ext", F::Extra("ext"))])
        .dir(r"^(?P<folder>.+)$", false).lossy(Cut::Unknown)
        .src("§5: basujindal {prompt with ':' and ' ' → '_'}[:150 of the path]/seed_{seed}_{n:05}.png"),
    // --- VQGAN+CLIP (§4) ---
    pat("vqgan-step", Tool::VqganClip, K::Frame, r"^(?P<i>[0-9]+)\.png$",
        &[("i", F::Frame)]).dir(r"^steps$", true).src("§4: steps/{i}.png (optimisation step)"),
    // --- Frame interpolation (§11) ---
    pat("rife-video", Tool::Rife, K::Interpolated, r"^(?P<frame>[0-9]{7})\.png$",
        &[("frame", F::Frame)]).dir(r"^vid_out$", true).src("§11: Practical-RIFE vid_out/{cnt:07}.png from 0"),
    pat("rife-img", Tool::Rife, K::Interpolated, r"^img(?P<frame>[0-9]+)\.png$",
        &[("frame", F::Frame)]).dir(r"^output$", true).src("§11: RIFE inference_img output/img{i}.png"),
    pat("film", Tool::Film, K::Interpolated, r"^frame_(?P<frame>[0-9]{3,})\.png$",
        &[("frame", F::Frame)]).dir(r"^interpolated_frames$", true).src("§11: FILM interpolated_frames/frame_{idx:03}.png"),
    pat("flowframes", Tool::Flowframes, K::Interpolated, r"^(?P<n>[0-9]{8})\.(?P<ext>png|jpg|webp)$",
        &[("n", F::FrameFrom1), ("name", F::Batch), ("factor", F::Extra("factor")), ("model", F::Extra("model")), ("fps", F::Extra("fps")), ("ext", F::Extra("ext"))])
        .dir(r"^(?P<name>.+?)-(?P<factor>[0-9]+(?:\.[0-9]+)?)x-(?P<model>.+?)-(?P<fps>[0-9]+(?:\.[0-9]+)?)fps(?:-fpsLimit)?-(?:png|jpg|webp)$", true)
        .src("§11: Flowframes {name}-{factor}x-{model}-{fps}fps-png/{n:08}.png from 1"),
    pat("flowframes-temp", Tool::Flowframes, K::Interpolated, r"^(?P<n>[0-9]{8})\.png$",
        &[("n", F::FrameFrom1)]).dir(r"^interp$", true).src("§11: Flowframes temp interp/{n:08}.png"),
    // --- Generic fallback: a prompt in the name, maybe with a counter or seed ---
    pat("generic-number-first", Tool::Generic, K::Image,
        r"^(?P<num>[0-9]+)[ _-]+(?P<prompt>[^.]*\p{L}.*?)\.(?P<ext>png|jpe?g|webp|gif|bmp|tiff?)$",
        &[("num", F::Extra("number")), ("prompt", F::Prompt), ("ext", F::Extra("ext"))])
        .lossy(Cut::Unknown).weak().post(Post::Generic).src("weakest fallback: {number} {prompt}"),
    pat("generic", Tool::Generic, K::Image,
        r"^(?P<prompt>.*?\p{L}.*?)(?:[ _.-]*\(?(?P<num>[0-9]+)\)?)?\.(?P<ext>png|jpe?g|webp|gif|bmp|tiff?)$",
        &[("prompt", F::Prompt), ("num", F::Extra("number")), ("ext", F::Extra("ext"))])
        .lossy(Cut::Unknown).weak().post(Post::Generic).src("weakest fallback: {prompt}[ {number}]"),
];

/// The default batch or namespace names of the tools that share the `name(N)_i.png` shape.
const DISCO_DEFAULT_BATCH: &str = "TimeToDisco";

struct Compiled {
    name: Regex,
    dir: Option<Regex>,
}

/// Each pattern's regexes, compiled the first time [`NAME_SET`] says the pattern can match a name: a command that
/// reads one file compiles the few patterns its name fits, not the whole table (compiling every one took most of
/// the time, and tens of MB, of a single `stemma show`).
static COMPILED: LazyLock<Vec<OnceLock<Option<Compiled>>>> =
    LazyLock::new(|| PATTERNS.iter().map(|_| OnceLock::new()).collect());

/// The compiled regexes of pattern `i` (None when one does not compile, or `i` is out of range).
fn compiled(i: usize) -> Option<&'static Compiled> {
    let p = PATTERNS.get(i)?;
    COMPILED
        .get(i)?
        .get_or_init(|| {
            let name = Regex::new(p.regex).ok()?;
            let dir = match p.dir {
                Some(rule) => Some(Regex::new(rule.regex).ok()?),
                None => None,
            };
            Some(Compiled { name, dir })
        })
        .as_ref()
}

/// Every name regex in one set, in [`PATTERNS`] order: one pass over a name tells which patterns can match, so
/// captures (the costly part) run only for those. None when a regex does not compile (the per-pattern loop then
/// runs alone; a test checks that every regex compiles).
static NAME_SET: LazyLock<Option<RegexSet>> =
    LazyLock::new(|| RegexSet::new(PATTERNS.iter().map(|p| p.regex)).ok());

/// Patterns whose regex does not compile (always empty; checked by a test).
pub fn broken_patterns() -> Vec<&'static str> {
    PATTERNS
        .iter()
        .enumerate()
        .filter(|(i, _)| compiled(*i).is_none())
        .map(|(_, p)| p.id)
        .collect()
}

/// What a file name says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilenameMatch {
    /// The base name that was matched.
    pub name: String,
    /// Id of the table row that matched ([`FilenamePattern::id`]).
    pub pattern: &'static str,
    pub tool: Tool,
    pub kind: FileKind,
    pub confidence: Confidence,
    /// Which version or writer of the tool (`dall-e-2`, `dall-e-3`, `gpt-image-1`, `deforum-a1111`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The prompt fragment the name holds, with `_` turned back into spaces where the tool slugged it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// True when the prompt was cut (its length reached the tool's cut) or may have been (unknown cut, a name
    /// without its extension).
    pub truncated: bool,
    /// True when the tool replaced or dropped characters of the prompt.
    pub prompt_lossy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// Local date and time as `YYYY-MM-DDTHH:MM:SS` (no zone: the tools write local wall-clock time), or
    /// RFC 3339 UTC with `Z` when the name holds Unix time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Zero-based frame index in an animation or optimisation run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    /// A number that orders files but is not a frame (A1111 counter, still index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
    /// Batch name or namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// Run number within the batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<u64>,
    /// Deforum timestring.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestring: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid_index: Option<u64>,
    /// Text a user put before the tool's own name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The run or sequence this file belongs to (`disco:TimeToDisco(0)`, `deforum:20230101125957`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_key: Option<String>,
    /// Other captures (`cfg_scale`, `sampler`, `engine`, `factor`, `fps`, `ext`, ...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
    /// What is ambiguous or assumed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl FilenameMatch {
    fn empty(name: &str, p: &FilenamePattern) -> Self {
        FilenameMatch {
            name: name.to_string(),
            pattern: p.id,
            tool: p.tool,
            kind: p.kind,
            confidence: p.confidence,
            variant: None,
            prompt: None,
            truncated: false,
            prompt_lossy: false,
            seed: None,
            timestamp: None,
            frame: None,
            counter: None,
            batch: None,
            run: None,
            timestring: None,
            user: None,
            uuid: None,
            grid_index: None,
            prefix: None,
            sequence_key: None,
            extra: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    /// The same name read as Disco Diffusion's when other files of its run (its settings file, other frames) are
    /// Disco's: `name(k)_n.png` is written by both Disco (still `n` from 0) and pytti (`n` counts saved images from
    /// 1), and the name alone chose pytti. Any other match is returned unchanged.
    pub fn read_as_disco(mut self) -> FilenameMatch {
        if self.tool != Tool::Pytti || self.run.is_none() {
            return self;
        }
        self.tool = Tool::Disco;
        self.kind = FileKind::Image;
        self.pattern = "disco-still";
        self.frame = self.counter;
        self.notes
            .push("read as Disco Diffusion: other files of this run are Disco's".into());
        self.sequence_key = sequence_key(&self);
        self
    }

    /// A record holding what the name says: prompt fragment (marked `truncated` when cut), seed, sequence
    /// position, run, the name itself as a `raw` entry, and the match under `ext["org.stemma.filename"]`.
    pub fn to_record(&self) -> Record {
        let mut record = Record::new();
        record.generator = Some(Generator {
            name: self.tool.id().to_string(),
            version: self.variant.clone(),
            dialect: Some(format!("filename:{}", self.pattern)),
            ..Generator::default()
        });
        if let Some(prompt) = &self.prompt {
            record.prompt = Some(Prompt {
                positive: Some(prompt.clone()),
                truncated: self.truncated,
                ..Prompt::default()
            });
        }
        let mut params = Params {
            seed: self.seed.clone(),
            ..Params::default()
        };
        if let Some(cfg) = self.extra.get("cfg_scale").and_then(|v| v.parse().ok()) {
            params.cfg_scale = Some(cfg);
        }
        if let Some(sampler) = self.extra.get("sampler") {
            params.sampler = Some(sampler.clone());
        }
        if !params.is_empty() {
            record.params = Some(params);
        }
        if let Some(key) = &self.sequence_key {
            let index = self.frame.or(self.counter);
            record.run = Some(Run {
                id: key.clone(),
                index,
                ..Run::default()
            });
            if let Some(frame) = self.frame {
                record.sequence = Some(Sequence {
                    id: key.clone(),
                    frame: Some(frame),
                    time: Some(frame as f64),
                    interpolated: self.kind == FileKind::Interpolated,
                    ..Sequence::default()
                });
            }
        }
        if let Some(ts) = &self.timestamp {
            if ts.ends_with('Z') {
                record.created = Some(ts.clone());
            }
        }
        record.raw.push(RawEntry {
            origin: "filename".into(),
            text: Some(self.name.clone()),
            used: true,
            ..RawEntry::default()
        });
        if let Ok(Value::Object(map)) = serde_json::to_value(self) {
            let mut ext = Map::new();
            for (k, v) in map {
                if !matches!(k.as_str(), "name") {
                    ext.insert(k, v);
                }
            }
            record.ext.insert(EXT_KEY.into(), Value::Object(ext));
        }
        record
    }
}

/// The extension key under which a record keeps the file-name match.
pub const EXT_KEY: &str = "org.stemma.filename";

/// Recognise a file name (or a path: its folder name is used by folder-dependent patterns). Returns the first
/// matching row of [`PATTERNS`], or `None` when nothing fits (not even the generic fallback, which needs a letter).
pub fn recognise_filename(path_or_name: impl AsRef<Path>) -> Option<FilenameMatch> {
    let path = path_or_name.as_ref();
    let name = path.file_name()?.to_str()?;
    let dir = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|d| d.to_str());
    let full_dir = path.parent().and_then(|p| p.to_str());
    recognise_name_in(name, dir, full_dir)
}

/// Recognise a base name with the name of its folder, if known.
pub fn recognise_name(name: &str, dir: Option<&str>) -> Option<FilenameMatch> {
    recognise_name_in(name, dir, dir)
}

fn recognise_name_in(
    name: &str,
    dir: Option<&str>,
    full_dir: Option<&str>,
) -> Option<FilenameMatch> {
    let name = name.trim_end_matches(['\r', '\n']);
    let candidates = NAME_SET.as_ref().map(|set| set.matches(name));
    if candidates.as_ref().is_some_and(|c| !c.matched_any()) {
        return None;
    }
    for (i, p) in PATTERNS.iter().enumerate() {
        if candidates.as_ref().is_some_and(|c| !c.matched(i)) {
            continue;
        }
        let Some(compiled) = compiled(i) else {
            continue;
        };
        let Some(caps) = compiled.name.captures(name) else {
            continue;
        };
        let dir_caps = match (&compiled.dir, p.dir, dir) {
            (Some(re), Some(_), Some(d)) => match re.captures(d) {
                Some(c) => Some(c),
                None if p.dir.is_some_and(|r| r.required) => continue,
                None => None,
            },
            (Some(_), Some(rule), None) if rule.required => continue,
            _ => None,
        };
        if let Some(m) = build(name, p, &caps, dir_caps.as_ref(), full_dir) {
            return Some(m);
        }
    }
    None
}

fn build(
    name: &str,
    p: &FilenamePattern,
    caps: &Captures,
    dir_caps: Option<&Captures>,
    full_dir: Option<&str>,
) -> Option<FilenameMatch> {
    let mut m = FilenameMatch::empty(name, p);
    let mut clock = ChatClock::default();
    for (group, field) in p.captures {
        let value = caps
            .name(group)
            .or_else(|| dir_caps.and_then(|d| d.name(group)))
            .map(|v| v.as_str());
        let Some(value) = value else { continue };
        let number = || value.parse::<u64>().ok();
        match field {
            F::Prompt => m.prompt = Some(value.to_string()),
            F::PromptSlug => m.prompt = Some(deslug(value)),
            F::Seed => m.seed = Some(value.to_string()),
            F::Counter => m.counter = number(),
            F::Frame => m.frame = number(),
            F::FrameFrom1 => {
                m.counter = number();
                m.frame = number().and_then(|n| n.checked_sub(1));
            }
            F::Batch => m.batch = Some(value.to_string()),
            F::Run => m.run = number(),
            F::User => m.user = Some(value.to_string()),
            F::Uuid => m.uuid = Some(value.to_string()),
            F::GridIndex => m.grid_index = number(),
            F::Timestamp => m.timestamp = timestamp_from_digits(value),
            F::Timestring => {
                if m.timestring.is_none() {
                    m.timestring = Some(value.to_string());
                    m.timestamp = timestamp_from_digits(value);
                }
            }
            F::UnixTime => m.timestamp = value.parse::<i64>().ok().map(unix_to_rfc3339),
            F::MonthName => clock.month = month_number(value),
            F::Day => clock.day = number(),
            F::Year => clock.year = number(),
            F::Hour12 => clock.hour = number(),
            F::Minute => clock.minute = number(),
            F::Second => clock.second = number(),
            F::AmPm => clock.pm = Some(value == "PM"),
            F::Prefix => {
                if !value.is_empty() {
                    m.prefix = Some(value.to_string());
                }
            }
            F::Extra(key) => {
                m.extra.insert((*key).to_string(), value.to_string());
            }
        }
    }
    if let Some(ts) = clock.render() {
        m.timestamp = Some(ts);
    }
    if let Some(prompt) = &m.prompt {
        let trimmed = prompt.trim();
        m.prompt = (!trimmed.is_empty()).then(|| trimmed.to_string());
    }
    m.prompt_lossy = p.lossy && m.prompt.is_some();
    let stem_len = name
        .rsplit_once('.')
        .map_or(name, |(stem, _)| stem)
        .chars()
        .count();
    let prompt_len = p
        .captures
        .iter()
        .find(|(_, f)| matches!(f, F::Prompt | F::PromptSlug))
        .and_then(|(g, _)| caps.name(g).or_else(|| dir_caps.and_then(|d| d.name(g))))
        .map_or(0, |v| v.as_str().chars().count());
    m.truncated = m.prompt.is_some()
        && match p.cut {
            Cut::Never => false,
            Cut::Prompt(n) => prompt_len >= n,
            Cut::Stem(n) => stem_len >= n,
            Cut::Unknown => true,
        };
    match p.post {
        Post::None => {}
        Post::Dalle => post_dalle(&mut m, prompt_len),
        Post::DiscoOrPytti => post_disco_or_pytti(&mut m),
        Post::DeforumPadding => {
            let digits = caps.name("frame").map_or(0, |f| f.as_str().len());
            m.variant = Some(
                if digits == 9 {
                    "deforum-a1111"
                } else {
                    "deforum-5digit"
                }
                .into(),
            );
        }
        Post::Generic => post_generic(&mut m),
    }
    if p.id == "sd-basujindal" {
        if let (Some(folder), Some(full)) = (dir_caps.and_then(|d| d.name("folder")), full_dir) {
            // The whole output path is cut to 150 characters; the default outdir is `outputs/txt2img-samples`.
            m.truncated = full.chars().count() >= 150 || folder.as_str().chars().count() >= 126;
            m.notes
                .push("prompt taken from the folder name; ':' was lost".into());
        } else {
            m.truncated = false;
        }
    }
    if p.id == "midjourney" {
        m.notes.push(
            "user and prompt are split at the first '_'; user names with '_' are ambiguous".into(),
        );
    }
    if p.id == "a1111" && m.extra.contains_key("duplicate") {
        m.notes
            .push("a trailing -<digits> may be a duplicate suffix or the end of the prompt".into());
    }
    m.sequence_key = sequence_key(&m);
    Some(m)
}

fn post_dalle(m: &mut FilenameMatch, prompt_len: usize) {
    if m.extra.get("separator").is_some_and(|s| s.contains('_')) {
        if let Some(p) = &m.prompt {
            m.prompt = Some(deslug(p));
        }
    }
    let date = m.timestamp.clone().unwrap_or_default();
    let dalle3 = date.as_str() >= "2023-10";
    m.variant = Some(if dalle3 { "dall-e-3" } else { "dall-e-2" }.into());
    if m.prompt.is_some() {
        // DALL·E 3 in ChatGPT cuts the rewritten prompt to exactly 150 characters; DALL·E 2 cut long prompts
        // (the one observed cut is at 132 characters).
        let cut = if dalle3 { 150 } else { 132 };
        m.truncated = prompt_len >= cut;
        if !m.extra.contains_key("ext") {
            m.truncated = true;
            m.notes
                .push("name has no extension: it may have been cut where it was quoted".into());
        }
    }
}

fn post_disco_or_pytti(m: &mut FilenameMatch) {
    // Disco: run numbers from 0, still index from 0, default batch name TimeToDisco.
    // pytti: the first run has no "(k)", later runs k >= 1; images count from 1.
    let is_disco = m.run == Some(0)
        || m.counter == Some(0)
        || m.batch.as_deref() == Some(DISCO_DEFAULT_BATCH)
        || (m.kind == FileKind::Settings && !m.name.contains(")_settings"));
    if is_disco || m.run.is_none() {
        if m.kind == FileKind::Image {
            m.frame = m.counter;
        }
        return;
    }
    m.tool = Tool::Pytti;
    m.confidence = Confidence::Weak;
    m.notes
        .push("name(k)_n shape is written by both pytti and Disco Diffusion; pytti chosen (run and index are not 0 and the batch name is not Disco's default)".into());
    if m.kind == FileKind::Image {
        m.kind = FileKind::Frame;
        m.pattern = "pytti-frame";
        m.frame = m.counter.and_then(|n| n.checked_sub(1));
    } else {
        m.pattern = "pytti-settings";
    }
}

fn post_generic(m: &mut FilenameMatch) {
    if let Some(num) = m.extra.remove("number") {
        // A long number without leading zeros is most likely a seed; anything else orders files.
        if num.len() >= 6 && !num.starts_with('0') {
            m.seed = Some(num);
            m.notes
                .push("a long number in the name is taken as a seed; it may be a counter".into());
        } else {
            m.counter = num.parse().ok();
        }
    }
    if let Some(prompt) = &m.prompt {
        if !prompt.contains(' ') {
            m.prompt = Some(deslug(prompt));
        }
    }
    m.notes
        .push("no tool's naming rule matched; the name is read as a prompt fragment".into());
}

fn sequence_key(m: &FilenameMatch) -> Option<String> {
    let tool = m.tool.id();
    match m.tool {
        Tool::Disco => {
            let batch = m.batch.as_deref()?;
            Some(format!("{tool}:{batch}({})", m.run?))
        }
        Tool::Pytti => {
            let ns = m.batch.as_deref()?;
            Some(match m.run {
                Some(k) => format!("{tool}:{ns}({k})"),
                None => format!("{tool}:{ns}"),
            })
        }
        Tool::Deforum => Some(format!("{tool}:{}", m.timestring.as_deref()?)),
        Tool::Midjourney => Some(format!("{tool}:{}", m.uuid.as_deref()?)),
        _ => None,
    }
}

/// Turn a slug back into text: `_` → space, runs of spaces collapsed.
pub fn deslug(slug: &str) -> String {
    slug.replace('_', " ")
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2022-07-11 07.31.17`, `20230101125957`, `2023-08-12_10-20-30` → `2022-07-11T07:31:17`.
fn timestamp_from_digits(text: &str) -> Option<String> {
    let groups: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let (y, mo, d, h, mi, s) = match groups.as_slice() {
        [one] if one.len() == 14 => (
            &one[0..4],
            &one[4..6],
            &one[6..8],
            &one[8..10],
            &one[10..12],
            &one[12..14],
        ),
        [y, mo, d, h, mi, s] => (*y, *mo, *d, *h, *mi, *s),
        _ => return None,
    };
    Some(format!("{y}-{mo}-{d}T{h}:{mi}:{s}"))
}

#[derive(Default)]
struct ChatClock {
    year: Option<u64>,
    month: Option<u64>,
    day: Option<u64>,
    hour: Option<u64>,
    minute: Option<u64>,
    second: Option<u64>,
    pm: Option<bool>,
}

impl ChatClock {
    fn render(&self) -> Option<String> {
        let (y, mo, d) = (self.year?, self.month?, self.day?);
        let (h, mi, s, pm) = (self.hour?, self.minute?, self.second?, self.pm?);
        let h24 = match (h % 12, pm) {
            (h, false) => h,
            (h, true) => h + 12,
        };
        Some(format!("{y:04}-{mo:02}-{d:02}T{h24:02}:{mi:02}:{s:02}"))
    }
}

fn month_number(name: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS.iter().position(|m| *m == name).map(|i| i as u64 + 1)
}

/// Unix seconds → RFC 3339 UTC (`1660889775` → `2022-08-19T06:16:15Z`).
pub fn unix_to_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A summary of the table for documentation: one JSON object per row.
pub fn patterns_table() -> Value {
    Value::Array(
        PATTERNS
            .iter()
            .map(|p| {
                json!({
                    "id": p.id,
                    "tool": p.tool.id(),
                    "kind": p.kind,
                    "regex": p.regex,
                    "folder": p.dir.map(|d| d.regex),
                    "lossy": p.lossy,
                    "source": p.source,
                })
            })
            .collect(),
    )
}
