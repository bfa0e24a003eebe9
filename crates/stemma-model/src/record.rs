//! The stemma record: one JSON object that travels inside the image.
//!
//! Every struct keeps the fields it does not know in an `unknown` map, so a record written by a newer
//! version (or with extension fields) is read, edited and written back without losing anything.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The major version of the specification this crate implements.
pub const SPEC_MAJOR: u32 = 1;
/// The version string written into new records.
pub const SPEC_VERSION: &str = "1.0";

/// One stemma record (specification §3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "stemma record",
    description = "A stemma record: the recipe of one image."
)]
pub struct Record {
    /// Specification version, `"1.0"`. Readers accept any `"1.x"`.
    #[schemars(regex(pattern = r"^1\.[0-9]+$"))]
    pub stemma: String,
    /// Content ids of the image this record describes, as computed when it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentIds>,
    /// The program that made the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<Generator>,
    /// What was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<Prompt>,
    /// Normalised generation parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Params>,
    /// The generator's native settings, verbatim or by reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    /// Verbatim original metadata that the record was imported from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw: Vec<RawEntry>,
    /// Typed lineage edges to the images this one was made from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<Parent>,
    /// Place of this image in an animation or frame sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<Sequence>,
    /// The run (batch, animation render, queue) this image belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// For a fork: the base settings and what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork: Option<Fork>,
    /// Per-frame table of an animated file (APNG, animated WebP, GIF).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<Frame>,
    /// When the image was made, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub created: Option<String>,
    /// Namespaced extensions: keys are reverse-DNS names (`org.example.tool`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ext: BTreeMap<String, Value>,
    /// Fields this version does not know; kept and written back unchanged.
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

impl Record {
    /// An empty record of the current specification version.
    pub fn new() -> Self {
        Record {
            stemma: SPEC_VERSION.to_string(),
            ..Record::default()
        }
    }

    /// The positive prompt, if any.
    pub fn positive(&self) -> Option<&str> {
        self.prompt.as_ref().and_then(|p| p.positive.as_deref())
    }

    /// The parameters, created empty on first use.
    pub fn params_mut(&mut self) -> &mut Params {
        self.params.get_or_insert_with(Params::default)
    }

    /// The prompt, created empty on first use.
    pub fn prompt_mut(&mut self) -> &mut Prompt {
        self.prompt.get_or_insert_with(Prompt::default)
    }
}

/// Content ids of an image (specification §5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ContentIds {
    /// `sha256:` hash of the canonical decoded pixels (lossless formats only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"))]
    pub pixels: Option<String>,
    /// `sha256:` hash of the encoded image data with all metadata left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"))]
    pub data: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// The program that made the image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Generator {
    /// Lower-case id of the program (`a1111`, `comfyui`, `forge`, `stemma`, ...).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The importer dialect the record was made from, when imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// What was asked for: the prompt texts and their structure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Prompt {
    /// The positive prompt, exactly as the generator used it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive: Option<String>,
    /// The negative prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative: Option<String>,
    /// Who wrote the prompt (IPTC `AIPromptWriterName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// True when the text is known to be cut short (for example recovered from a file name).
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Weighted parts of the positive prompt (Disco Diffusion / pytti `text:weight:stop`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PromptPart>,
    /// Prompt schedule: scenes with the frame each starts at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenes: Vec<Scene>,
    /// The template the prompt was expanded from, with the values chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// One weighted part of a prompt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PromptPart {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// pytti `stop` value: the loss level at which the part stops pulling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<f64>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// One scene of a prompt schedule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scene {
    /// The first frame this scene applies to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_integer"
    )]
    pub start_frame: Option<u64>,
    /// The scene's prompt text as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PromptPart>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// A prompt template (Dynamic Prompts `{a|b}`, `__wildcard__`) and the values chosen for this image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Template {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative: Option<String>,
    /// Template syntax, `dynamic-prompts` unless stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syntax: Option<String>,
    /// Values chosen for the template's variables or wildcards, when known.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, Value>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// Normalised generation parameters (specification §3.4).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Params {
    /// The seed as a decimal string (64-bit seeds do not survive JSON numbers in JavaScript).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_seed"
    )]
    #[schemars(regex(pattern = r"^-?[0-9]+$"))]
    pub seed: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_integer"
    )]
    pub steps: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cfg_scale: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampler: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vae: Option<ModelRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loras: Vec<Lora>,
    /// Generation width in pixels (for hires jobs: the first pass).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_integer"
    )]
    pub width: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_integer"
    )]
    pub height: Option<u64>,
    /// Denoising strength of img2img/inpaint (0..1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub denoise: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_integer"
    )]
    pub clip_skip: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hires: Option<Hires>,
    /// Further parameters under the generator's own names.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Params {
    /// True when nothing at all is set.
    pub fn is_empty(&self) -> bool {
        *self == Params::default()
    }
}

/// Accept a seed written as a string or, leniently, as an integer.
fn de_seed<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    let value = Option::<Value>::deserialize(de)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "seed must be a decimal string, found {other}"
        ))),
    }
}

/// An integer member: a number, or the string of its decimal digits, which is how a writer stores an integer
/// beyond I-JSON's safe range (specification §6.1, [`crate::make_ijson`]); without this a record holding one
/// would not read back after stemma wrote it.
fn de_opt_integer<'de, D: Deserializer<'de>>(de: D) -> Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(de)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a non-negative integer"))),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is beyond 64 bits"))),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a non-negative integer, found {other}"
        ))),
    }
}

/// A required integer member (see [`de_opt_integer`]).
fn de_integer<'de, D: Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    de_opt_integer(de)?.ok_or_else(|| serde::de::Error::custom("expected an integer, found null"))
}

/// A model file by name and hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Hash as the generator wrote it (`45a21ea00a`, `blake3:…`, `0x…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// A LoRA (or LyCORIS, hypernetwork) applied with a weight.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Lora {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// Hires-fix / second-pass settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hires {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upscaler: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_integer"
    )]
    pub steps: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub denoise: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_integer"
    )]
    pub width: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_integer"
    )]
    pub height: Option<u64>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// The generator's native settings: inline, or a reference by hash to a settings document kept once per run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Settings {
    /// What the settings are (`a1111-infotext`, `comfyui-api`, `disco-json`, `deforum-json`, `pytti-yaml`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The settings document itself: a JSON value for JSON formats, a string for text formats. Written as I-JSON:
    /// integers beyond 2^53 − 1 are written as decimal strings (§6.1).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::canonical::serialize_ijson"
    )]
    pub data: Option<Value>,
    /// `sha256:` of the RFC 8785 canonical form of the settings document (§6.2).
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"))]
    pub reference: Option<String>,
    /// Where the referenced settings can be found, relative to the image (a hint, not an identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// One piece of original metadata, kept verbatim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RawEntry {
    /// Where it was found (registry in specification §3.4): `png:tEXt`, `png:iTXt`, `exif`, `xmp`, `jpeg:COM`,
    /// `gif:comment`, `filename`, `file:settings.txt`.
    pub origin: String,
    /// The key within that place (PNG keyword, EXIF tag name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The value as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The value as bytes, base64 (standard alphabet, padded), when it is not text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
    /// `sha256:` of the value's bytes. An entry with `sha256` and neither `text` nor `base64` is a reference to a
    /// value kept in the same file (origin, key): it is expanded into a copy when the record leaves the file (§3.4.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
    /// True for the layer the record's fields were taken from.
    #[serde(default, skip_serializing_if = "is_false")]
    pub used: bool,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// A typed lineage edge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Parent {
    /// Content id of the parent (its pixel id where it has one, else its data id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"))]
    pub id: Option<String>,
    /// How this image was made from the parent (see [`relation`]).
    pub relation: String,
    /// For `interpolate`: the position between the two parents, 0 < t < 1, the same value on both edges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub t: Option<f64>,
    /// A file name or path the parent was known by; a hint for humans and resolvers, never an identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// The lineage relations defined by the specification. The set is open: readers treat an unknown relation as a
/// generic derivation.
pub mod relation {
    pub const IMG2IMG: &str = "img2img";
    pub const INPAINT: &str = "inpaint";
    pub const OUTPAINT: &str = "outpaint";
    pub const UPSCALE: &str = "upscale";
    pub const VARIATION: &str = "variation";
    pub const EDIT: &str = "edit";
    pub const INIT: &str = "init";
    pub const CONTROL: &str = "control";
    pub const REFERENCE: &str = "reference";
    pub const PREVIOUS_FRAME: &str = "previous_frame";
    pub const INTERPOLATE: &str = "interpolate";
    pub const FORK: &str = "fork";
    pub const CONVERT: &str = "convert";
    /// Every relation the specification names, in the order of the specification.
    pub const ALL: &[&str] = &[
        IMG2IMG,
        INPAINT,
        OUTPAINT,
        UPSCALE,
        VARIATION,
        EDIT,
        INIT,
        CONTROL,
        REFERENCE,
        PREVIOUS_FRAME,
        INTERPOLATE,
        FORK,
        CONVERT,
    ];
}

/// Place of an image in a sequence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sequence {
    /// Sequence id: any string unique to the sequence (stemma uses `run id` or a `sha256:` id).
    pub id: String,
    /// Zero-based frame index in the sequence as rendered.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_integer"
    )]
    pub frame: Option<u64>,
    /// Position in frames, fractional for interpolated frames (frame 3.5 lies halfway between 3 and 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub interpolated: bool,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// The run an image belongs to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Run {
    pub id: String,
    /// `sha256:` of the run's settings document (same value as `settings.ref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"))]
    pub settings: Option<String>,
    /// Index of this image in the run's output order.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_integer"
    )]
    pub index: Option<u64>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// A fork: new settings expressed as a change to a base.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Fork {
    /// `sha256:` of the base settings document.
    #[schemars(regex(pattern = r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"))]
    pub base: String,
    /// RFC 7396 merge patch that turns the base settings into this image's settings.
    #[serde(serialize_with = "crate::canonical::serialize_ijson_value")]
    pub diff: Value,
    /// Content id of the image forked from, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"))]
    pub from: Option<String>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

/// One row of the per-frame table of an animated file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Frame {
    /// Zero-based frame number in the animation.
    #[serde(deserialize_with = "de_integer")]
    pub index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_seed"
    )]
    #[schemars(regex(pattern = r"^-?[0-9]+$"))]
    pub seed: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<Parent>,
    /// Pixel id of the frame as it was before assembly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"))]
    pub pixels: Option<String>,
    /// The frame's number in the sequence it came from (differs from `index` when frames were missing).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_integer"
    )]
    pub frame: Option<u64>,
    /// Position in the source sequence, in frames (fractional for interpolated frames), as `sequence.time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
    #[serde(flatten)]
    pub unknown: Map<String, Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}
