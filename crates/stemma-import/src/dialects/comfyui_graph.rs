//! Walking a ComfyUI API graph (`prompt`): from the saved image back to the samplers that made it, and from each
//! sampler to its seed, steps, model, prompt texts and latent origin.
//!
//! Every walk is bounded twice: by depth ([`MAX_DEPTH`]) and by a per-analysis budget of node visits
//! ([`VISIT_BUDGET`]), so cycles and diamond-shaped graphs cannot make it loop or explode. What the node tables
//! (`comfyui_nodes.rs`) do not cover is handled by generic rules keyed on input names.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::comfyui_nodes as table;

pub mod sites;
mod text;
mod trace;
mod values;

/// Deepest chain of links followed from one starting point.
pub const MAX_DEPTH: usize = 64;
/// Node visits allowed for one analysis of one graph.
pub const VISIT_BUDGET: usize = 100_000;
/// Most sampler passes followed from the final sampler upstream.
const MAX_STAGES: usize = 16;

/// One node of the API graph.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub id: String,
    pub class: String,
    /// Borrowed from the parsed document (no copy of the graph).
    pub inputs: Cow<'a, Map<String, Value>>,
}

impl Node<'_> {
    fn has(&self, name: &str) -> bool {
        self.inputs.contains_key(name)
    }
}

/// The API graph: nodes in file order, indexed by id.
#[derive(Debug, Clone, Default)]
pub struct Graph<'a> {
    pub nodes: Vec<Node<'a>>,
    index: HashMap<&'a str, usize>,
}

/// An input of a node: a literal, a link to another node's output, or a link to a node that is missing.
#[derive(Debug, Clone, Copy)]
enum Input<'g> {
    Lit(&'g Value),
    /// Source node, its output index, and the name of the input the link is plugged into.
    Link(&'g Node<'g>, u64, &'g str),
    Dangling,
}

/// Where an input path ends: an input, or a constant implied by the node class.
#[derive(Debug, Clone, Copy)]
enum PathEnd<'g> {
    Input(Input<'g>),
    Constant(&'static str),
}

/// A link `[node id, output index]`; ids may be strings or numbers.
fn as_link(v: &Value) -> Option<(String, u64)> {
    let arr = v.as_array()?;
    if arr.len() != 2 {
        return None;
    }
    let id = match &arr[0] {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
        _ => return None,
    };
    Some((id, arr[1].as_u64()?))
}

impl<'a> Graph<'a> {
    /// The nodes of an API graph: every member that is an object with a string `class_type`. Other members
    /// (Civitai's `extra`, `extraMetadata`) are ignored. `None` when there is no node at all.
    pub fn from_api(value: &'a Value) -> Option<Graph<'a>> {
        let obj = value.as_object()?;
        let mut graph = Graph::default();
        for (id, node) in obj {
            let Some(class) = node.get("class_type").and_then(Value::as_str) else {
                continue;
            };
            let inputs = match node.get("inputs").and_then(Value::as_object) {
                Some(inputs) => Cow::Borrowed(inputs),
                None => Cow::Owned(Map::new()),
            };
            graph.index.insert(id.as_str(), graph.nodes.len());
            graph.nodes.push(Node {
                id: id.clone(),
                class: class.to_string(),
                inputs,
            });
        }
        (!graph.nodes.is_empty()).then_some(graph)
    }

    pub fn node(&self, id: &str) -> Option<&Node<'_>> {
        self.index.get(id).and_then(|&i| self.nodes.get(i))
    }

    fn input<'g>(&'g self, node: &'g Node<'g>, name: &str) -> Option<Input<'g>> {
        let (key, v) = node.inputs.get_key_value(name)?;
        Some(match as_link(v) {
            Some((id, slot)) => match self.node(&id) {
                Some(n) => Input::Link(n, slot, key.as_str()),
                None => Input::Dangling,
            },
            None => Input::Lit(v),
        })
    }

    fn link<'g>(&'g self, node: &'g Node<'g>, name: &str) -> Option<(&'g Node<'g>, u64)> {
        match self.input(node, name)? {
            Input::Link(n, s, _) => Some((n, s)),
            _ => None,
        }
    }
}

/// A prompt text as far as the graph tells it.
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    /// The text fed to the sampler.
    Known(String),
    /// The conditioning has no text (an image conditioning, a zeroed conditioning, no negative input).
    Absent,
    /// The text exists only at run time (LLM expansion, unknown custom node, broken link).
    Unknown,
    /// The text was composed by the graph (string concatenation of known parts). The corpus convention
    /// reports such values as unknown; the composed text is kept for reference.
    Computed(String),
}

impl Text {
    pub fn known(&self) -> Option<&str> {
        match self {
            Text::Known(t) => Some(t),
            _ => None,
        }
    }
}

/// What one sampler node says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SamplerFacts {
    pub node: String,
    pub class: String,
    pub role: &'static str,
    pub seed: Option<String>,
    pub steps: Option<u64>,
    pub cfg: Option<f64>,
    pub sampler: Option<String>,
    pub scheduler: Option<String>,
    pub denoise: Option<f64>,
    pub model: Option<String>,
    pub loras: Vec<(String, Option<f64>)>,
    pub positive: Option<Text>,
    pub negative: Option<Text>,
    pub guidance: Option<f64>,
    pub clip_skip: Option<u64>,
}

/// Where a latent came from, following the latent path upstream.
#[derive(Debug, Clone, Default, PartialEq)]
struct LatentTrace {
    /// Earlier samplers (previous passes), canvas branch first.
    samplers: Vec<String>,
    /// The generation size stated by an empty-latent node or a resize of the input image (canvas branch).
    size: Option<(u64, u64)>,
    /// Size after an upscale between two passes.
    upscale_size: Option<(u64, u64)>,
    upscale_by: Option<f64>,
    upscaler: Option<String>,
    /// Input images by file name, with the lineage relation.
    files: Vec<(&'static str, String)>,
}

/// What the image path of an output node leads to.
#[derive(Debug, Clone, Default, PartialEq)]
struct ImageTrace {
    samplers: Vec<String>,
    size: Option<(u64, u64)>,
    upscaler: Option<String>,
    scale_by: Option<f64>,
    files: Vec<(&'static str, String)>,
    detailers: Vec<String>,
    vae: Option<String>,
}

/// The result of analysing a graph: the sampler chain of the chosen output, and the values it implies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    /// The output node chosen.
    pub output: Option<String>,
    /// Every output node that leads to a sampler, with its sampler passes (final first), when there are
    /// several: the file does not say which of them saved it.
    pub candidates: Vec<(String, Vec<Vec<String>>)>,
    /// Sampler passes, final pass first; each pass is a set of samplers (several when images or latents are
    /// merged).
    pub stages: Vec<Vec<String>>,
    /// Facts of every sampler in `stages`, plus detailers, in stage order.
    pub samplers: Vec<SamplerFacts>,
    pub size: Option<(u64, u64)>,
    pub hires_size: Option<(u64, u64)>,
    pub hires_scale: Option<f64>,
    pub upscaler: Option<String>,
    /// A resize after the last pass (no resampling): the size stated on the image path of the output.
    pub output_size: Option<(u64, u64)>,
    /// The VAE of the final decode, when a `VAELoader` names it.
    pub vae: Option<String>,
    pub files: Vec<(&'static str, String)>,
    pub warnings: Vec<String>,
}

/// Mutable state of one analysis: the visit budget and the warnings.
struct Ctx {
    budget: usize,
    warnings: Vec<String>,
    exhausted: bool,
    /// Set when a value was computed from several inputs (string concatenation).
    computed: bool,
}

impl Ctx {
    fn visit(&mut self) -> bool {
        if self.budget == 0 {
            if !self.exhausted {
                self.exhausted = true;
                self.warnings
                    .push("graph walk stopped: node visit budget exhausted".into());
            }
            return false;
        }
        self.budget -= 1;
        true
    }
    fn warn(&mut self, w: String) {
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1.8e19)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A seed as a decimal string: integers exactly, integral floats without the fraction.
pub fn seed_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| format!("{}", f as i64)),
        Value::String(s) if !s.trim().is_empty() && s.trim().parse::<i128>().is_ok() => {
            Some(s.trim().to_string())
        }
        _ => None,
    }
}

fn is_text_encoder_like(class: &str) -> bool {
    class.contains("TextEncode") || class.contains("CLIPText") || class.contains("Prompt")
}

fn parse_dimensions(s: &str) -> Option<(u64, u64)> {
    let mut nums = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse::<u64>().ok());
    Some((nums.next()?, nums.next()?))
}

impl<'a> Graph<'a> {
    /// The sampler row of a node, when it is a sampler (not a detailer).
    pub fn sampler_spec(&self, node: &Node) -> Option<table::SamplerSpec> {
        if self.is_detailer(node) {
            return None;
        }
        if let Some(spec) = table::sampler_spec(&node.class) {
            return Some(*spec);
        }
        let looks = node.has("steps")
            && (node.has("cfg") || node.has("sampler_name"))
            && table::LATENT_PATH_INPUTS.iter().any(|i| node.has(i));
        looks.then_some(table::GENERIC_SAMPLER)
    }

    fn is_detailer(&self, node: &Node) -> bool {
        table::DETAILERS.contains(&node.class.as_str())
            || (node.has("steps")
                && (node.has("cfg") || node.has("sampler_name"))
                && node.has("image")
                && !table::LATENT_PATH_INPUTS.iter().any(|i| node.has(i)))
    }

    /// The facts of one sampler node.
    fn facts(&self, node: &Node, spec: &table::SamplerSpec, ctx: &mut Ctx) -> SamplerFacts {
        let mut f = SamplerFacts {
            node: node.id.clone(),
            class: node.class.clone(),
            ..SamplerFacts::default()
        };
        f.seed = self
            .path_value(node, spec.seed, ctx)
            .as_ref()
            .and_then(seed_string);
        f.steps = self
            .path_value(node, spec.steps, ctx)
            .as_ref()
            .and_then(as_u64);
        f.cfg = self
            .path_value(node, spec.cfg, ctx)
            .as_ref()
            .and_then(as_f64);
        f.sampler = self
            .path_value(node, spec.sampler, ctx)
            .and_then(|v| v.as_str().map(str::to_string));
        f.scheduler = self
            .path_value(node, spec.scheduler, ctx)
            .and_then(|v| v.as_str().map(str::to_string));
        f.denoise = self
            .path_value(node, spec.denoise, ctx)
            .as_ref()
            .and_then(as_f64);
        let (model, loras) = self.model_chain(self.path_link(node, spec.model, ctx), ctx);
        f.model = model;
        f.loras = loras;
        let mut extras = CondExtras::default();
        ctx.computed = false;
        f.positive = Some(match self.path_link(node, spec.positive, ctx) {
            Some((n, s)) => self.cond_text(n, s, Role::Positive, ctx, 0, &mut extras),
            None if self.path_input(node, spec.positive, ctx).is_some() => Text::Unknown,
            None => Text::Absent,
        })
        .map(|t| computed(t, ctx));
        f.guidance = extras.guidance;
        f.clip_skip = extras.clip_skip;
        let mut neg_extras = CondExtras::default();
        ctx.computed = false;
        f.negative = Some(match self.path_link(node, spec.negative, ctx) {
            Some((n, s)) => self.cond_text(n, s, Role::Negative, ctx, 0, &mut neg_extras),
            None if self.path_input(node, spec.negative, ctx).is_some() => Text::Unknown,
            None => Text::Absent,
        })
        .map(|t| computed(t, ctx));
        f
    }

    /// Output nodes: savers and previews with an image input.
    fn outputs(&self) -> Vec<&Node<'_>> {
        self.nodes
            .iter()
            .filter(|n| {
                let listed = table::OUTPUTS.contains(&n.class.as_str());
                let named = n.class.contains("Save") || n.class.contains("Preview");
                (listed || named)
                    && ["images", "image"]
                        .iter()
                        .any(|k| self.link(n, k).is_some())
            })
            .collect()
    }

    /// The sampler passes upstream of a set of final samplers, final first, with the latent trace of each
    /// sampler.
    fn stages(
        &self,
        finals: Vec<String>,
        ctx: &mut Ctx,
    ) -> (Vec<Vec<String>>, HashMap<String, LatentTrace>) {
        let mut traces = HashMap::new();
        let mut seen: HashSet<String> = finals.iter().cloned().collect();
        let mut stages = vec![finals];
        for _ in 0..MAX_STAGES {
            let Some(current) = stages.last() else { break };
            let mut next = Vec::new();
            for id in current.clone() {
                let Some(node) = self.node(&id) else { continue };
                let Some(spec) = self.sampler_spec(node) else {
                    continue;
                };
                let t = match self.path_link(node, spec.latent, ctx) {
                    Some((n, s)) => self.trace_latent(n, s, ctx, 0),
                    None => LatentTrace::default(),
                };
                for prev in &t.samplers {
                    if seen.insert(prev.clone()) {
                        next.push(prev.clone());
                    }
                }
                traces.insert(id, t);
            }
            if next.is_empty() {
                break;
            }
            stages.push(next);
        }
        (stages, traces)
    }

    /// Analyse the graph: choose the output node with the longest sampler chain and collect its facts.
    /// `preferred_outputs`: output classes that match the file format, preferred on ties.
    pub fn analyse(&self, preferred_outputs: &[&str]) -> Analysis {
        let mut ctx = Ctx {
            budget: VISIT_BUDGET,
            warnings: Vec::new(),
            exhausted: false,
            computed: false,
        };
        // Candidate final-sampler sets: one per output node; without outputs, every sampler that no other
        // sampler consumes.
        let mut candidates: Vec<(Option<String>, ImageTrace)> = Vec::new();
        for out in self.outputs() {
            let link = ["images", "image"].iter().find_map(|k| self.link(out, k));
            if let Some((n, s)) = link {
                let t = self.trace_image(n, s, &mut ctx, 0);
                if !t.samplers.is_empty() {
                    candidates.push((Some(out.id.clone()), t));
                }
            }
        }
        if candidates.is_empty() {
            let samplers: Vec<&Node> = self
                .nodes
                .iter()
                .filter(|n| self.sampler_spec(n).is_some())
                .collect();
            let mut consumed = HashSet::new();
            for s in &samplers {
                let (stages, _) = self.stages(vec![s.id.clone()], &mut ctx);
                consumed.extend(stages.into_iter().skip(1).flatten());
            }
            for s in samplers {
                if !consumed.contains(&s.id) {
                    candidates.push((
                        None,
                        ImageTrace {
                            samplers: vec![s.id.clone()],
                            ..ImageTrace::default()
                        },
                    ));
                }
            }
            if !candidates.is_empty() {
                ctx.warn("no output node leads to a sampler; chose among the last samplers".into());
            }
        }
        let mut best: Option<(usize, usize, bool, bool, usize)> = None;
        let mut chosen = None;
        let mut results = Vec::new();
        for (i, (out, trace)) in candidates.into_iter().enumerate() {
            let mut finals = Vec::new();
            for s in &trace.samplers {
                if !finals.contains(s) {
                    finals.push(s.clone());
                }
            }
            let (stages, traces) = self.stages(finals, &mut ctx);
            let class = out
                .as_deref()
                .and_then(|id| self.node(id))
                .map(|n| n.class.as_str())
                .unwrap_or("");
            let total: usize = stages.iter().map(Vec::len).sum();
            let key = (
                stages.len(),
                total,
                preferred_outputs.contains(&class),
                !class.contains("Preview"),
                usize::MAX - i,
            );
            if best.is_none_or(|b| key > b) {
                best = Some(key);
                chosen = Some(results.len());
            }
            results.push((out, trace, stages, traces));
        }
        let distinct: HashSet<&Vec<Vec<String>>> = results.iter().map(|r| &r.2).collect();
        let several = distinct.len() > 1;
        if several {
            ctx.warn(format!(
                "{} output nodes lead to different samplers; chose the longest sampler chain",
                results.len()
            ));
        }
        let mut analysis = Analysis::default();
        if several {
            analysis.candidates = results
                .iter()
                .filter_map(|r| Some((r.0.clone()?, r.2.clone())))
                .collect();
        }
        let Some((out, image, stages, traces)) = chosen.and_then(|c| results.into_iter().nth(c))
        else {
            analysis.warnings = ctx.warnings;
            return analysis;
        };
        analysis.output = out;
        let n = stages.len();
        for (depth, stage) in stages.iter().enumerate() {
            for id in stage {
                let Some(node) = self.node(id) else { continue };
                let Some(spec) = self.sampler_spec(node) else {
                    continue;
                };
                let mut f = self.facts(node, &spec, &mut ctx);
                f.role = match (depth, n) {
                    (_, 1) => "base",
                    (0, _) => "final",
                    (d, n) if d + 1 == n => "base",
                    _ => "intermediate",
                };
                analysis.samplers.push(f);
            }
        }
        for id in &image.detailers {
            if let Some(node) = self.node(id) {
                let mut f = self.facts(node, &table::GENERIC_SAMPLER, &mut ctx);
                f.role = "detailer";
                analysis.samplers.push(f);
            }
        }
        let first = stages.last().and_then(|s| s.first());
        if let Some(t) = first.and_then(|id| traces.get(id)) {
            analysis.size = t.size;
            analysis.files = t.files.clone();
        }
        if n > 1 {
            // The step into the final pass: the upscale between the last two passes.
            if let Some(t) = stages
                .first()
                .and_then(|s| s.first())
                .and_then(|id| traces.get(id))
            {
                analysis.hires_size = t.upscale_size;
                analysis.hires_scale = t.upscale_by;
                analysis.upscaler = t.upscaler.clone();
            }
        } else if image.upscaler.is_some() {
            analysis.upscaler = image.upscaler.clone();
        }
        if image.size.is_some() {
            analysis.output_size = image.size;
        }
        analysis.vae = image.vae.clone();
        analysis.stages = stages;
        analysis.warnings = ctx.warnings;
        analysis
    }
}

/// A text reached through a string concatenation is `Computed`, not `Known`.
fn computed(t: Text, ctx: &mut Ctx) -> Text {
    match t {
        Text::Known(s) if ctx.computed => {
            ctx.computed = false;
            Text::Computed(s)
        }
        other => other,
    }
}

/// Which conditioning input of a sampler a walk started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Positive,
    Negative,
}

/// Values met on a conditioning path besides the text.
#[derive(Debug, Default)]
struct CondExtras {
    guidance: Option<f64>,
    clip_skip: Option<u64>,
}

#[cfg(test)]
mod tests;
