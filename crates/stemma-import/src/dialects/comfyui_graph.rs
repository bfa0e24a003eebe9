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
    /// Follow reroutes and switches from a link to the node that really produces the value.
    fn deref<'g>(
        &'g self,
        mut node: &'g Node<'g>,
        mut slot: u64,
        ctx: &mut Ctx,
    ) -> Option<(&'g Node<'g>, u64)> {
        for _ in 0..MAX_DEPTH {
            if !ctx.visit() {
                return None;
            }
            if let Some(name) = table::lookup(table::PASS_THROUGH, &node.class) {
                let next = if name.is_empty() {
                    node.inputs.keys().find_map(|k| self.link(node, k))
                } else {
                    self.link(node, name)
                };
                let (n, s) = next?;
                node = n;
                slot = s;
                continue;
            }
            if let Some((_, select, prefix)) = table::INDEX_SWITCHES
                .iter()
                .find(|(c, ..)| *c == node.class)
            {
                let (n, s) = self.index_switch(node, select, prefix, ctx)?;
                node = n;
                slot = s;
                continue;
            }
            if let Some((_, pipe, names)) = table::UNPACKERS.iter().find(|(c, ..)| *c == node.class)
            {
                let name = names.get(usize::try_from(slot).ok()?)?;
                let (packer, _) = self
                    .link(node, pipe)
                    .and_then(|(n, s)| self.deref(n, s, ctx))?;
                let (n, s) = self.link(packer, name)?;
                node = n;
                slot = s;
                continue;
            }
            if let Some((_, sw, on_true, on_false)) =
                table::SWITCHES.iter().find(|(c, ..)| *c == node.class)
            {
                let choice = self
                    .input(node, sw)
                    .and_then(|i| self.value(i, ctx, 0))
                    .and_then(|v| v.as_bool());
                let (first, second) = match choice {
                    Some(true) | None => (*on_true, *on_false),
                    Some(false) => (*on_false, *on_true),
                };
                let a = self.link(node, first);
                let b = self.link(node, second);
                let next = match (choice, a, b) {
                    (Some(_), Some(a), _) => a,
                    (None, Some(a), Some(b)) if a.0.id == b.0.id && a.1 == b.1 => a,
                    _ => return None,
                };
                node = next.0;
                slot = next.1;
                continue;
            }
            return Some((node, slot));
        }
        None
    }

    /// The value of an input: a literal, or the value a primitive/literal/switch/concat node holds. `None` when
    /// it is computed at run time.
    fn value(&self, input: Input, ctx: &mut Ctx, depth: usize) -> Option<Value> {
        let (node, slot, wanted) = match input {
            Input::Lit(v) => return Some(v.clone()),
            Input::Dangling => return None,
            Input::Link(n, s, name) => (n, s, name),
        };
        if depth > MAX_DEPTH || !ctx.visit() {
            return None;
        }
        let class = node.class.as_str();
        if let Some(name) = table::lookup(table::VALUE_NODES, class) {
            return self.value(self.input(node, name)?, ctx, depth + 1);
        }
        if let Some(name) = table::lookup(table::PASS_THROUGH, class) {
            let next = if name.is_empty() {
                node.inputs.keys().find_map(|k| self.link(node, k))
            } else {
                self.link(node, name)
            };
            let (n, s) = next?;
            return self.value(Input::Link(n, s, wanted), ctx, depth + 1);
        }
        if let Some((_, sw, on_true, on_false)) = table::SWITCHES.iter().find(|(c, ..)| *c == class)
        {
            let choice = self
                .input(node, sw)
                .and_then(|i| self.value(i, ctx, depth + 1))
                .and_then(|v| v.as_bool());
            let (first, second) = match choice {
                Some(true) => (*on_true, *on_false),
                Some(false) => (*on_false, *on_true),
                None => return None,
            };
            if let Some(v) = self
                .input(node, first)
                .and_then(|i| self.value(i, ctx, depth + 1))
            {
                return Some(v);
            }
            // The selected branch exists only at run time (an LLM expansion, say): report the other branch,
            // which is what the user typed, and say so.
            let other = self
                .input(node, second)
                .and_then(|i| self.value(i, ctx, depth + 1));
            if other.is_some() {
                ctx.warn(format!(
                    "switch {} selects a value computed at run time; reported its other input",
                    node.id
                ));
            }
            return other;
        }
        if let Some((_, parts, delim)) = table::CONCATS.iter().find(|(c, ..)| *c == class) {
            let delimiter = if delim.is_empty() {
                String::new()
            } else {
                match self.input(node, delim) {
                    None => String::new(),
                    Some(i) => self
                        .value(i, ctx, depth + 1)?
                        .as_str()
                        .map(str::to_string)?,
                }
            };
            let mut out: Vec<String> = Vec::new();
            for part in *parts {
                let Some(i) = self.input(node, part) else {
                    continue;
                };
                let v = self.value(i, ctx, depth + 1)?;
                out.push(v.as_str()?.to_string());
            }
            ctx.computed = true;
            return Some(Value::String(out.join(&delimiter)));
        }
        if table::RUNTIME_TEXT.contains(&class) {
            return None;
        }
        if let Some((_, select, prefix)) = table::INDEX_SWITCHES.iter().find(|(c, ..)| *c == class)
        {
            let (n, s) = self.index_switch(node, select, prefix, ctx)?;
            return self.value(Input::Link(n, s, wanted), ctx, depth + 1);
        }
        if slot != 0 {
            return None;
        }
        // Unknown nodes. A small node with an input of the requested name passes it on (seed, steps and
        // checkpoint selectors) — a text only when that is its only input, since text nodes with more inputs
        // usually transform it (find/replace, stylers), and larger nodes compute their outputs (aspect-ratio
        // pickers); a `Primitive…` gives its `value`; a node whose only input is a literal gives it.
        if let Some(i) = self.input(node, wanted) {
            let v = self.value(i, ctx, depth + 1)?;
            let len = node.inputs.len();
            return (len == 1 || (len == 2 && !v.is_string())).then_some(v);
        }
        if class.contains("Primitive") {
            return self.value(self.input(node, "value")?, ctx, depth + 1);
        }
        if node.inputs.len() == 1 {
            return node
                .inputs
                .values()
                .next()
                .filter(|v| v.is_string() || v.is_number() || v.is_boolean())
                .cloned();
        }
        None
    }

    /// The input an integer-indexed switch selects (`ImpactSwitch`: `select` 2 picks `input2`).
    fn index_switch<'g>(
        &'g self,
        node: &'g Node<'g>,
        select: &str,
        prefix: &str,
        ctx: &mut Ctx,
    ) -> Option<(&'g Node<'g>, u64)> {
        let index = self
            .input(node, select)
            .and_then(|i| self.value(i, ctx, 1))
            .as_ref()
            .and_then(as_u64)?;
        self.link(node, &format!("{prefix}{index}"))
    }

    /// Follow an input path (see `comfyui_nodes`) from a node; the input found at its end.
    fn path_input<'g>(
        &'g self,
        node: &'g Node<'g>,
        path: &str,
        ctx: &mut Ctx,
    ) -> Option<PathEnd<'g>> {
        for segments in table::path_alternatives(path) {
            let Some((last, hops)) = segments.split_last() else {
                continue;
            };
            let mut cur = node;
            let mut ok = true;
            for hop in hops {
                match self.link(cur, hop).and_then(|(n, s)| self.deref(n, s, ctx)) {
                    Some((n, _)) => cur = n,
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                continue;
            }
            if let Some(i) = self.input(cur, last) {
                return Some(PathEnd::Input(i));
            }
            // A scheduler or sampler node without the input (KarrasScheduler, SamplerDPMPP_2M_SDE...): its
            // class names it.
            let implied = match *last {
                "scheduler" => table::lookup(table::SIGMA_SCHEDULERS, &cur.class),
                "sampler_name" => table::lookup(table::SAMPLER_NODES, &cur.class),
                _ => None,
            };
            if let Some(name) = implied {
                return Some(PathEnd::Constant(name));
            }
        }
        None
    }

    fn path_value(&self, node: &Node, path: &str, ctx: &mut Ctx) -> Option<Value> {
        match self.path_input(node, path, ctx)? {
            PathEnd::Constant(c) => Some(Value::String(c.to_string())),
            PathEnd::Input(i) => self.value(i, ctx, 0),
        }
    }

    fn path_link<'g>(
        &'g self,
        node: &'g Node<'g>,
        path: &str,
        ctx: &mut Ctx,
    ) -> Option<(&'g Node<'g>, u64)> {
        match self.path_input(node, path, ctx)? {
            PathEnd::Input(Input::Link(n, s, _)) => self.deref(n, s, ctx),
            _ => None,
        }
    }

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

    /// The text reaching a conditioning input, and the distilled guidance and clip skip met on the way.
    fn cond_text(
        &self,
        node: &Node,
        slot: u64,
        role: Role,
        ctx: &mut Ctx,
        depth: usize,
        found: &mut CondExtras,
    ) -> Text {
        if depth > MAX_DEPTH || !ctx.visit() {
            return Text::Unknown;
        }
        let Some((node, slot)) = self.deref(node, slot, ctx) else {
            return Text::Unknown;
        };
        let class = node.class.as_str();
        if let Some((_, pos, neg)) = table::ROLE_TEXT.iter().find(|(c, ..)| *c == class) {
            let name = match role {
                Role::Positive => *pos,
                Role::Negative => *neg,
            };
            if name.is_empty() || !node.has(name) {
                return Text::Absent;
            }
            return match self.link(node, name) {
                Some((n, s))
                    if self
                        .value(Input::Link(n, s, name), ctx, depth + 1)
                        .is_none() =>
                {
                    self.cond_text(n, s, role, ctx, depth + 1, found)
                }
                _ => self.encoder_text(node, &[name], ctx, found),
            };
        }
        if let Some(names) = table::lookup(table::TEXT_ENCODERS, class) {
            return self.encoder_text(node, names, ctx, found);
        }
        if let Some(names) = table::lookup(table::TEXT_ALTERNATIVES, class) {
            return self.first_text(node, names, ctx, found);
        }
        if table::COND_WITHOUT_TEXT.contains(&class) {
            return Text::Absent;
        }
        if let Some(name) = table::lookup(table::GUIDANCE_NODES, class) {
            if found.guidance.is_none() {
                found.guidance = node.inputs.get(*name).and_then(as_f64);
            }
        }
        let combined: Vec<&String> = node
            .inputs
            .keys()
            .filter(|k| k.starts_with("conditioning") && self.link(node, k).is_some())
            .collect();
        if table::COND_COMBINERS.contains(&class) || combined.len() > 1 {
            let mut texts = Vec::new();
            for k in combined {
                let Some((n, s)) = self.link(node, k) else {
                    continue;
                };
                match self.cond_text(n, s, role, ctx, depth + 1, found) {
                    Text::Known(t) | Text::Computed(t) => texts.push(t),
                    Text::Absent => {}
                    Text::Unknown => return Text::Unknown,
                }
            }
            return if texts.is_empty() {
                Text::Absent
            } else {
                Text::Known(texts.join(", "))
            };
        }
        if node.has("positive") && node.has("negative") && self.sampler_spec(node).is_none() {
            let literal = |k: &str| matches!(node.inputs.get(k), Some(Value::String(_)));
            if table::LOADERS_WITH_PROMPTS.contains(&class)
                || (literal("positive") && literal("negative"))
            {
                // A loader that encodes the texts itself: its inputs are the texts.
                let name = match role {
                    Role::Positive => "positive",
                    Role::Negative => "negative",
                };
                return self.encoder_text(node, &[name], ctx, found);
            }
            // Conditioning in, conditioning out (ControlNetApplyAdvanced, InstructPixToPix...): output 0 is
            // the positive, output 1 the negative.
            let (name, role) = if slot == 1 {
                ("negative", Role::Negative)
            } else {
                ("positive", Role::Positive)
            };
            return match self.link(node, name) {
                Some((n, s)) => self.cond_text(n, s, role, ctx, depth + 1, found),
                None => Text::Unknown,
            };
        }
        if let Some((n, s)) = self.link(node, "conditioning") {
            return self.cond_text(n, s, role, ctx, depth + 1, found);
        }
        if is_text_encoder_like(class) {
            return self.encoder_text(node, table::GENERIC_TEXT_INPUTS, ctx, found);
        }
        Text::Unknown
    }

    /// The text of the first of `names` that holds a non-empty one (a computed one stops the search: the
    /// template after it is not what was encoded).
    fn first_text(
        &self,
        node: &Node,
        names: &[&str],
        ctx: &mut Ctx,
        found: &mut CondExtras,
    ) -> Text {
        let mut empty = Text::Unknown;
        for name in names {
            if self.input(node, name).is_none() {
                continue;
            }
            match self.encoder_text(node, &[name], ctx, found) {
                Text::Known(t) if t.is_empty() => empty = Text::Known(t),
                text => return text,
            }
        }
        empty
    }

    fn encoder_text(
        &self,
        node: &Node,
        names: &[&str],
        ctx: &mut Ctx,
        found: &mut CondExtras,
    ) -> Text {
        if found.clip_skip.is_none() {
            found.clip_skip = self.clip_skip(node, ctx);
        }
        let mut texts: Vec<String> = Vec::new();
        let mut any = false;
        for name in names {
            let Some(input) = self.input(node, name) else {
                continue;
            };
            any = true;
            match self.value(input, ctx, 0) {
                Some(Value::String(s)) => {
                    if !texts.contains(&s) {
                        texts.push(s);
                    }
                }
                Some(_) => {}
                // A later field that is computed at run time does not spoil a text already read.
                None if texts.iter().any(|t| !t.is_empty()) => {}
                None => return Text::Unknown,
            }
        }
        if !any {
            return Text::Unknown;
        }
        let non_empty: Vec<&String> = texts.iter().filter(|t| !t.is_empty()).collect();
        if non_empty.is_empty() {
            return Text::Known(String::new());
        }
        Text::Known(
            non_empty
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )
    }

    /// Clip skip from a `CLIPSetLastLayer` on the CLIP path of a text encoder (`-stop_at_clip_layer`).
    fn clip_skip(&self, node: &Node, ctx: &mut Ctx) -> Option<u64> {
        let mut cur = node;
        for _ in 0..MAX_DEPTH {
            let (n, _) = table::CLIP_PATH_INPUTS
                .iter()
                .find_map(|k| self.link(cur, k))
                .and_then(|(n, s)| self.deref(n, s, ctx))?;
            if n.class == "CLIPSetLastLayer" {
                let layer = n.inputs.get("stop_at_clip_layer").and_then(as_f64)?;
                return (layer < 0.0).then(|| (-layer) as u64);
            }
            cur = n;
        }
        None
    }

    /// The model name and LoRAs on the model path of a node.
    fn model_chain(
        &self,
        start: Option<(&Node, u64)>,
        ctx: &mut Ctx,
    ) -> (Option<String>, Vec<(String, Option<f64>)>) {
        let mut loras = Vec::new();
        let mut cur = start;
        for _ in 0..MAX_DEPTH {
            let Some((node, _)) = cur.and_then(|(n, s)| self.deref(n, s, ctx)) else {
                break;
            };
            let class = node.class.as_str();
            if let Some((_, name, strength)) =
                table::LORA_LOADERS.iter().find(|(c, ..)| *c == class)
            {
                if let Some(Value::String(n)) =
                    self.input(node, name).and_then(|i| self.value(i, ctx, 0))
                {
                    let w = self
                        .input(node, strength)
                        .and_then(|i| self.value(i, ctx, 0))
                        .as_ref()
                        .and_then(as_f64);
                    loras.push((n, w));
                }
            } else if class == "Power Lora Loader (rgthree)"
                || class == "Lora Loader Stack (rgthree)"
            {
                // Several LoRAs in one node, applied in input order. The list is reversed at the end (it is
                // collected from the sampler upstream), so push this node's LoRAs last-first.
                let mut here = Vec::new();
                for (k, v) in node.inputs.iter() {
                    if let Some(obj) = v.as_object().filter(|_| k.starts_with("lora_")) {
                        let on = obj.get("on").and_then(Value::as_bool).unwrap_or(true);
                        if let (true, Some(name)) = (on, obj.get("lora").and_then(Value::as_str)) {
                            here.push((name.to_string(), obj.get("strength").and_then(as_f64)));
                        }
                    } else if let (Some(name), Some(i)) = (v.as_str(), k.strip_prefix("lora_")) {
                        let weight = node.inputs.get(&format!("strength_{i}")).and_then(as_f64);
                        if name != "None" && weight != Some(0.0) {
                            here.push((name.to_string(), weight));
                        }
                    }
                }
                loras.extend(here.into_iter().rev());
            } else if let Some(name) = table::lookup(table::MODEL_LOADERS, class) {
                let value = self.input(node, name).and_then(|i| self.value(i, ctx, 0));
                loras.reverse();
                return (value.and_then(|v| v.as_str().map(str::to_string)), loras);
            }
            let next = table::MODEL_PATH_INPUTS
                .iter()
                .find_map(|k| self.link(node, k));
            if next.is_none() {
                let name = table::GENERIC_MODEL_INPUTS
                    .iter()
                    .find_map(|k| self.input(node, k))
                    .and_then(|i| self.value(i, ctx, 0))
                    .and_then(|v| v.as_str().map(str::to_string));
                loras.reverse();
                return (name, loras);
            }
            cur = next;
        }
        loras.reverse();
        (None, loras)
    }

    /// Where the latent at a link comes from.
    fn trace_latent(&self, node: &Node, slot: u64, ctx: &mut Ctx, depth: usize) -> LatentTrace {
        let mut t = LatentTrace::default();
        if depth > MAX_DEPTH || !ctx.visit() {
            return t;
        }
        let Some((node, _slot)) = self.deref(node, slot, ctx) else {
            return t;
        };
        let class = node.class.as_str();
        if self.sampler_spec(node).is_some() {
            t.samplers.push(node.id.clone());
            return t;
        }
        if let Some((_, w, h)) = table::LATENT_SOURCES.iter().find(|(c, ..)| *c == class) {
            t.size = self.size_of(node, w, h, ctx);
            if let Some(file) = self.image_file_of(node, ctx) {
                t.files.push(("init", file));
            }
            return t;
        }
        if let Some(name) = table::lookup(table::LATENT_SOURCES_DIMENSIONS, class) {
            t.size = node
                .inputs
                .get(*name)
                .and_then(Value::as_str)
                .and_then(parse_dimensions);
            return t;
        }
        if class.starts_with("Empty") && class.contains("Latent") {
            t.size = self.size_of(node, "width", "height", ctx);
            return t;
        }
        let encoder = table::ENCODERS
            .iter()
            .find(|(c, ..)| *c == class)
            .map(|(_, p, r)| (*p, *r))
            .or_else(|| {
                (class.contains("Encode") && node.has("pixels")).then_some(("pixels", "img2img"))
            });
        if let Some((pixels, relation)) = encoder {
            if let Some((n, s)) = self.link(node, pixels) {
                let img = self.trace_image(n, s, ctx, depth + 1);
                if img.samplers.is_empty() {
                    t.size = img.size;
                    t.files = img.files.into_iter().map(|(_, f)| (relation, f)).collect();
                } else {
                    t.samplers = img.samplers;
                    t.upscale_size = img.size;
                    t.upscale_by = img.scale_by;
                    t.upscaler = img.upscaler;
                }
            }
            return t;
        }
        if let Some(inputs) = table::lookup(table::LATENT_MERGES, class) {
            return self.merge_latents(node, inputs, ctx, depth);
        }
        if node.has("samples1") && node.has("samples2") {
            return self.merge_latents(node, &["samples1", "samples2"], ctx, depth);
        }
        if let Some(input) = table::lookup(table::LATENT_UPSCALERS, class) {
            if let Some((n, s)) = self.link(node, input) {
                t = self.trace_latent(n, s, ctx, depth + 1);
            }
            if let Some(size) = self.size_of(node, "width", "height", ctx) {
                t.upscale_size = Some(size);
            }
            t.upscale_by = ["scale_by", "scale_factor"]
                .iter()
                .find_map(|k| node.inputs.get(*k).and_then(as_f64));
            return t;
        }
        if let Some((n, s)) = table::LATENT_PATH_INPUTS
            .iter()
            .find_map(|k| self.link(node, k))
        {
            return self.trace_latent(n, s, ctx, depth + 1);
        }
        t
    }

    fn merge_latents(
        &self,
        node: &Node,
        inputs: &[&str],
        ctx: &mut Ctx,
        depth: usize,
    ) -> LatentTrace {
        let mut out = LatentTrace::default();
        for (i, name) in inputs.iter().enumerate() {
            let Some((n, s)) = self.link(node, name) else {
                continue;
            };
            let t = self.trace_latent(n, s, ctx, depth + 1);
            for id in t.samplers {
                if !out.samplers.contains(&id) {
                    out.samplers.push(id);
                }
            }
            if i == 0 {
                out.size = t.size;
                out.upscale_size = t.upscale_size;
                out.upscale_by = t.upscale_by;
                out.upscaler = t.upscaler;
            }
            out.files.extend(t.files);
        }
        out
    }

    fn size_of(&self, node: &Node, w: &str, h: &str, ctx: &mut Ctx) -> Option<(u64, u64)> {
        let w = self.input(node, w).and_then(|i| self.value(i, ctx, 0))?;
        let h = self.input(node, h).and_then(|i| self.value(i, ctx, 0))?;
        let (w, h) = (as_u64(&w)?, as_u64(&h)?);
        (w > 0 && h > 0).then_some((w, h))
    }

    /// The file name of an image loaded upstream of a node's image inputs (`init_image`, `start_image`...).
    fn image_file_of(&self, node: &Node, ctx: &mut Ctx) -> Option<String> {
        ["init_image", "start_image", "image"]
            .iter()
            .find_map(|k| self.link(node, k))
            .and_then(|(n, s)| self.trace_image(n, s, ctx, 1).files.into_iter().next())
            .map(|(_, f)| f)
    }

    /// Follow an image path upstream: decoders lead to samplers, image merges to several paths.
    fn trace_image(&self, node: &Node, slot: u64, ctx: &mut Ctx, depth: usize) -> ImageTrace {
        let mut t = ImageTrace::default();
        let mut cur = Some((node, slot));
        let mut seen = HashSet::new();
        let mut d = depth;
        while let Some((n, s)) = cur.take() {
            if d > MAX_DEPTH || !ctx.visit() {
                break;
            }
            d += 1;
            let Some((node, _)) = self.deref(n, s, ctx) else {
                break;
            };
            if !seen.insert(node.id.clone()) {
                ctx.warn(format!("cycle in the image path at node {}", node.id));
                break;
            }
            let class = node.class.as_str();
            if self.sampler_spec(node).is_some() {
                // Samplers that decode their own result (`KSampler (Efficient)` has an IMAGE output).
                t.samplers.push(node.id.clone());
                break;
            }
            if (class.contains("Decode") || class.contains("decode")) && node.has("samples") {
                if t.vae.is_none() {
                    t.vae = self
                        .link(node, "vae")
                        .and_then(|(n, s)| self.deref(n, s, ctx))
                        .filter(|(n, _)| n.class == "VAELoader")
                        .and_then(|(n, _)| n.inputs.get("vae_name"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                }
                if let Some((n, s)) = self.link(node, "samples") {
                    let lt = self.trace_latent(n, s, ctx, d + 1);
                    t.samplers.extend(lt.samplers);
                    t.files.extend(lt.files);
                }
                break;
            }
            if let Some(name) = table::lookup(table::IMAGE_LOADERS, class) {
                if let Some(Value::String(f)) = node.inputs.get(*name) {
                    t.files.push(("img2img", f.clone()));
                }
                break;
            }
            let merge = table::lookup(table::IMAGE_MERGES, class)
                .copied()
                .or_else(|| {
                    (node.has("image1") && node.has("image2")).then_some(&["image1", "image2"][..])
                });
            if let Some(inputs) = merge {
                for name in inputs {
                    if let Some((n, s)) = self.link(node, name) {
                        let sub = self.trace_image(n, s, ctx, d + 1);
                        t.samplers.extend(sub.samplers);
                        t.files.extend(sub.files);
                        t.detailers.extend(sub.detailers);
                        if t.upscaler.is_none() {
                            t.upscaler = sub.upscaler;
                        }
                    }
                }
                break;
            }
            if self.is_detailer(node) {
                t.detailers.push(node.id.clone());
            }
            if let Some((m, _)) = self.link(node, "upscale_model") {
                if let Some(name) = table::lookup(table::UPSCALE_MODEL_LOADERS, &m.class) {
                    if t.upscaler.is_none() {
                        t.upscaler = m
                            .inputs
                            .get(*name)
                            .and_then(Value::as_str)
                            .map(str::to_string);
                    }
                }
            }
            if t.size.is_none() {
                t.size = self.size_of(node, "width", "height", ctx);
            }
            if t.scale_by.is_none() {
                t.scale_by = node.inputs.get("scale_by").and_then(as_f64);
            }
            cur = table::IMAGE_PATH_INPUTS
                .iter()
                .find_map(|k| self.link(node, k));
        }
        t
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
mod tests {
    use super::*;
    use serde_json::json;

    fn analyse(v: Value) -> Analysis {
        Graph::from_api(&v).unwrap().analyse(&["SaveImage"])
    }

    fn base(a: &Analysis) -> &SamplerFacts {
        let id = &a.stages.last().unwrap()[0];
        a.samplers.iter().find(|f| &f.node == id).unwrap()
    }

    fn fin(a: &Analysis) -> &SamplerFacts {
        let id = &a.stages[0][0];
        a.samplers.iter().find(|f| &f.node == id).unwrap()
    }

    /// A txt2img graph; `extra` nodes are merged in (and may replace the defaults).
    fn simple(extra: Value) -> Value {
        let mut g = json!({
            "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "base.safetensors"}},
            "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
            "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
            "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}},
            "5": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20, "cfg": 7.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
                  "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}},
            "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
            "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "x"}}
        });
        if let (Some(g), Some(e)) = (g.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                g.insert(k.clone(), v.clone());
            }
        }
        g
    }

    #[test]
    fn plain_txt2img() {
        let a = analyse(simple(json!({})));
        let f = base(&a);
        assert_eq!(f.seed.as_deref(), Some("42"));
        assert_eq!(f.steps, Some(20));
        assert_eq!(f.model.as_deref(), Some("base.safetensors"));
        assert_eq!(f.positive, Some(Text::Known("a cat".into())));
        assert_eq!(f.negative, Some(Text::Known("blurry".into())));
        assert_eq!(a.size, Some((512, 768)));
        assert_eq!(a.output.as_deref(), Some("7"));
    }

    #[test]
    fn reroute_chains_and_primitives_are_followed() {
        let a = analyse(simple(json!({
            "10": {"class_type": "PrimitiveString", "inputs": {"value": "from a primitive"}},
            "11": {"class_type": "Reroute", "inputs": {"": ["10", 0]}},
            "12": {"class_type": "Reroute", "inputs": {"": ["11", 0]}},
            "2": {"class_type": "CLIPTextEncode", "inputs": {"text": ["12", 0], "clip": ["1", 1]}},
            "13": {"class_type": "CR Seed", "inputs": {"seed": 18446744073709551615u64}},
            "14": {"class_type": "Reroute", "inputs": {"": ["4", 0]}},
            "5": {"class_type": "KSampler", "inputs": {"seed": ["13", 0], "steps": 20, "cfg": 7.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
                  "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["14", 0]}}
        })));
        let f = base(&a);
        assert_eq!(f.positive, Some(Text::Known("from a primitive".into())));
        assert_eq!(f.seed.as_deref(), Some("18446744073709551615"));
        assert_eq!(a.size, Some((512, 768)));
    }

    #[test]
    fn string_concat_of_known_parts_is_joined() {
        let a = analyse(simple(json!({
            "10": {"class_type": "PrimitiveString", "inputs": {"value": "a cat"}},
            "11": {"class_type": "StringConcatenate", "inputs": {"string_a": ["10", 0], "string_b": "on a mat", "delimiter": ", "}},
            "2": {"class_type": "CLIPTextEncode", "inputs": {"text": ["11", 0], "clip": ["1", 1]}}
        })));
        assert_eq!(
            base(&a).positive,
            Some(Text::Computed("a cat, on a mat".into())),
            "composed at run time: reported apart from the prompt"
        );
    }

    #[test]
    fn runtime_text_is_unknown_and_switches_fall_back_to_the_typed_text() {
        let a = analyse(simple(json!({
            "10": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "user text"}},
            "11": {"class_type": "TextGenerate", "inputs": {"prompt": ["10", 0]}},
            "12": {"class_type": "PrimitiveBoolean", "inputs": {"value": true}},
            "13": {"class_type": "ComfySwitchNode", "inputs": {"switch": ["12", 0], "on_true": ["11", 0], "on_false": ["10", 0]}},
            "2": {"class_type": "CLIPTextEncode", "inputs": {"text": ["13", 0], "clip": ["1", 1]}},
            "3": {"class_type": "CLIPTextEncode", "inputs": {"text": ["11", 0], "clip": ["1", 1]}}
        })));
        let f = base(&a);
        assert_eq!(f.positive, Some(Text::Known("user text".into())));
        assert_eq!(f.negative, Some(Text::Unknown));
        assert!(a.warnings.iter().any(|w| w.contains("switch")));
    }

    #[test]
    fn conditioning_combine_collects_both_and_zero_out_has_no_text() {
        let a = analyse(simple(json!({
            "8": {"class_type": "CLIPTextEncode", "inputs": {"text": "a hat", "clip": ["1", 1]}},
            "9": {"class_type": "ConditioningSetArea", "inputs": {"conditioning": ["8", 0], "width": 64, "height": 64}},
            "10": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["2", 0], "conditioning_2": ["9", 0]}},
            "11": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["2", 0]}},
            "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
                  "positive": ["10", 0], "negative": ["11", 0], "latent_image": ["4", 0]}}
        })));
        let f = base(&a);
        assert_eq!(f.positive, Some(Text::Known("a cat, a hat".into())));
        assert_eq!(f.negative, Some(Text::Absent));
    }

    #[test]
    fn sampler_custom_advanced_with_guider_sigmas_noise_and_flux_guidance() {
        let a = analyse(json!({
            "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors"}},
            "2": {"class_type": "ModelSamplingFlux", "inputs": {"model": ["1", 0]}},
            "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a fox", "clip": ["9", 0]}},
            "4": {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["3", 0]}},
            "5": {"class_type": "CFGGuider", "inputs": {"cfg": 1.5, "model": ["2", 0], "positive": ["4", 0], "negative": ["3", 0]}},
            "6": {"class_type": "RandomNoise", "inputs": {"noise_seed": 7}},
            "7": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
            "8": {"class_type": "BasicScheduler", "inputs": {"scheduler": "simple", "steps": 28, "denoise": 1.0, "model": ["2", 0]}},
            "10": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 1024}},
            "11": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["6", 0], "guider": ["5", 0],
                   "sampler": ["7", 0], "sigmas": ["8", 0], "latent_image": ["10", 0]}},
            "12": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0]}},
            "13": {"class_type": "SaveImage", "inputs": {"images": ["12", 0]}}
        }));
        let f = base(&a);
        assert_eq!(f.seed.as_deref(), Some("7"));
        assert_eq!(f.steps, Some(28));
        assert_eq!(f.cfg, Some(1.5));
        assert_eq!(f.sampler.as_deref(), Some("euler"));
        assert_eq!(f.scheduler.as_deref(), Some("simple"));
        assert_eq!(f.model.as_deref(), Some("flux1-dev.safetensors"));
        assert_eq!(f.guidance, Some(3.5));
        assert_eq!(f.positive, Some(Text::Known("a fox".into())));
        assert_eq!(a.size, Some((1024, 1024)));
    }

    #[test]
    fn basic_guider_has_no_negative_and_karras_scheduler_names_itself() {
        let a = analyse(json!({
            "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "u"}},
            "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a fox"}},
            "5": {"class_type": "BasicGuider", "inputs": {"model": ["1", 0], "conditioning": ["3", 0]}},
            "8": {"class_type": "KarrasScheduler", "inputs": {"steps": 12, "sigma_max": 14.6}},
            "11": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["6", 0], "guider": ["5", 0],
                   "sigmas": ["8", 0], "latent_image": ["10", 0]}},
            "12": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0]}},
            "13": {"class_type": "PreviewImage", "inputs": {"images": ["12", 0]}}
        }));
        let f = base(&a);
        assert_eq!(f.negative, Some(Text::Absent));
        assert_eq!(f.cfg, None);
        assert_eq!(f.scheduler.as_deref(), Some("karras"));
        assert_eq!(f.steps, Some(12));
        assert_eq!(f.seed, None, "the noise node is missing: no seed");
    }

    #[test]
    fn lora_chains_are_collected_in_application_order() {
        let a = analyse(simple(json!({
            "20": {"class_type": "LoraLoader", "inputs": {"lora_name": "first.safetensors", "strength_model": 0.8,
                   "strength_clip": 1.0, "model": ["1", 0], "clip": ["1", 1]}},
            "21": {"class_type": "LoraLoaderModelOnly", "inputs": {"lora_name": "second.safetensors", "strength_model": 0.5,
                   "model": ["20", 0]}},
            "22": {"class_type": "CLIPSetLastLayer", "inputs": {"stop_at_clip_layer": -2, "clip": ["20", 1]}},
            "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["22", 0]}},
            "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["21", 0],
                  "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}}
        })));
        let f = base(&a);
        assert_eq!(f.model.as_deref(), Some("base.safetensors"));
        assert_eq!(
            f.loras,
            vec![
                ("first.safetensors".to_string(), Some(0.8)),
                ("second.safetensors".to_string(), Some(0.5))
            ]
        );
        assert_eq!(f.clip_skip, Some(2));
    }

    #[test]
    fn hires_chain_reports_first_pass_and_final_prompt() {
        let a = analyse(simple(json!({
            "8": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat, detailed", "clip": ["1", 1]}},
            "30": {"class_type": "LatentUpscaleBy", "inputs": {"scale_by": 1.5, "samples": ["5", 0]}},
            "31": {"class_type": "KSampler", "inputs": {"seed": 99, "steps": 10, "cfg": 5.0,
                   "sampler_name": "dpmpp_2m", "scheduler": "karras", "denoise": 0.4, "model": ["1", 0],
                   "positive": ["8", 0], "negative": ["3", 0], "latent_image": ["30", 0]}},
            "6": {"class_type": "VAEDecode", "inputs": {"samples": ["31", 0]}},
            "40": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0]}},
            "41": {"class_type": "PreviewImage", "inputs": {"images": ["40", 0]}}
        })));
        assert_eq!(a.output.as_deref(), Some("7"), "the longest chain wins");
        assert_eq!(
            a.stages,
            vec![vec!["31".to_string()], vec!["5".to_string()]]
        );
        assert_eq!(base(&a).seed.as_deref(), Some("42"));
        assert_eq!(
            fin(&a).positive,
            Some(Text::Known("a cat, detailed".into()))
        );
        assert_eq!(a.hires_scale, Some(1.5));
        assert_eq!(a.size, Some((512, 768)));
    }

    #[test]
    fn image_upscale_then_encode_is_a_second_pass_and_load_image_is_img2img() {
        let a = analyse(simple(json!({
            "30": {"class_type": "LoadImage", "inputs": {"image": "input.png"}},
            "31": {"class_type": "ImageScale", "inputs": {"width": 640, "height": 640, "image": ["30", 0]}},
            "32": {"class_type": "VAEEncode", "inputs": {"pixels": ["31", 0], "vae": ["1", 2]}},
            "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 0.6, "model": ["1", 0],
                  "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["32", 0]}}
        })));
        assert_eq!(a.stages.len(), 1);
        assert_eq!(
            a.size,
            Some((640, 640)),
            "the graph resized the input image"
        );
        assert_eq!(a.files, vec![("img2img", "input.png".to_string())]);
    }

    #[test]
    fn cycles_and_missing_links_do_not_hang_or_panic() {
        let a = analyse(simple(json!({
            "2": {"class_type": "CLIPTextEncode", "inputs": {"text": ["50", 0], "clip": ["1", 1]}},
            "50": {"class_type": "Reroute", "inputs": {"": ["51", 0]}},
            "51": {"class_type": "Reroute", "inputs": {"": ["50", 0]}},
            "3": {"class_type": "CLIPTextEncode", "inputs": {"text": ["404", 0], "clip": ["1", 1]}},
            "60": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["61", 0], "conditioning_2": ["2", 0]}},
            "61": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["60", 0], "conditioning_2": ["2", 0]}},
            "4": {"class_type": "LatentUpscale", "inputs": {"samples": ["5", 0], "width": 8, "height": 8}},
            "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
                  "positive": ["60", 0], "negative": ["3", 0], "latent_image": ["4", 0]}}
        })));
        let f = base(&a);
        assert_eq!(f.positive, Some(Text::Unknown));
        assert_eq!(f.negative, Some(Text::Unknown));
        assert_eq!(a.stages.len(), 1, "a sampler feeding itself is one pass");
    }

    #[test]
    fn several_samplers_merged_by_an_image_stitch_keep_only_common_values() {
        let a = analyse(simple(json!({
            "8": {"class_type": "CLIPTextEncode", "inputs": {"text": "a dog", "clip": ["1", 1]}},
            "9": {"class_type": "KSampler", "inputs": {"seed": 43, "steps": 20, "cfg": 7.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
                  "positive": ["8", 0], "negative": ["3", 0], "latent_image": ["4", 0]}},
            "10": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0]}},
            "11": {"class_type": "ImageStitch", "inputs": {"image1": ["6", 0], "image2": ["10", 0]}},
            "7": {"class_type": "SaveImage", "inputs": {"images": ["11", 0]}}
        })));
        assert_eq!(a.stages, vec![vec!["5".to_string(), "9".to_string()]]);
    }

    #[test]
    fn without_output_nodes_the_last_sampler_is_used() {
        let mut g = simple(json!({}));
        if let Some(o) = g.as_object_mut() {
            o.remove("7");
        }
        let a = analyse(g);
        assert_eq!(a.stages, vec![vec!["5".to_string()]]);
        assert!(a.output.is_none());
    }

    #[test]
    fn numeric_link_ids_and_unknown_custom_samplers_are_understood() {
        let a = analyse(simple(json!({
            "5": {"class_type": "MyFancySampler", "inputs": {"seed": 5, "steps": 9, "cfg": 3.0,
                  "sampler_name": "lcm", "model": [1, 0], "positive": [2, 0], "negative": [3, 0],
                  "latent_image": [4, 0]}}
        })));
        let f = base(&a);
        assert_eq!(f.steps, Some(9));
        assert_eq!(f.model.as_deref(), Some("base.safetensors"));
        assert_eq!(f.positive, Some(Text::Known("a cat".into())));
    }

    #[test]
    fn efficient_loader_texts_latent_and_basic_pipes() {
        let a = analyse(json!({
            "1": {"class_type": "Efficient Loader", "inputs": {"ckpt_name": "eff.safetensors",
                  "positive": "a castle", "negative": "ugly", "empty_latent_width": 832,
                  "empty_latent_height": 1216}},
            "2": {"class_type": "ToBasicPipe", "inputs": {"model": ["1", 0], "clip": ["1", 5], "vae": ["1", 4],
                  "positive": ["1", 1], "negative": ["1", 2]}},
            "3": {"class_type": "FromBasicPipe", "inputs": {"basic_pipe": ["2", 0]}},
            "5": {"class_type": "KSampler (Efficient)", "inputs": {"seed": 3, "steps": 25, "cfg": 6.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["3", 0],
                  "positive": ["3", 3], "negative": ["3", 4], "latent_image": ["1", 3]}},
            "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0]}},
            "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0]}}
        }));
        let f = base(&a);
        assert_eq!(f.positive, Some(Text::Known("a castle".into())));
        assert_eq!(f.negative, Some(Text::Known("ugly".into())));
        assert_eq!(f.model.as_deref(), Some("eff.safetensors"));
        assert_eq!(a.size, Some((832, 1216)));
    }

    #[test]
    fn controlnet_outputs_map_to_positive_and_negative() {
        let a = analyse(simple(json!({
            "20": {"class_type": "ControlNetApplyAdvanced", "inputs": {"positive": ["2", 0], "negative": ["3", 0],
                   "control_net": ["21", 0], "image": ["22", 0], "strength": 1.0}},
            "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
                  "positive": ["20", 0], "negative": ["20", 1], "latent_image": ["4", 0]}}
        })));
        let f = base(&a);
        assert_eq!(f.positive, Some(Text::Known("a cat".into())));
        assert_eq!(f.negative, Some(Text::Known("blurry".into())));
    }

    #[test]
    fn sampler_custom_with_split_sigmas_and_a_sampler_node() {
        let a = analyse(simple(json!({
            "20": {"class_type": "BasicScheduler", "inputs": {"scheduler": "karras", "steps": 30, "denoise": 1.0}},
            "21": {"class_type": "SplitSigmas", "inputs": {"sigmas": ["20", 0], "step": 10}},
            "22": {"class_type": "SamplerDPMPP_2M_SDE", "inputs": {"solver_type": "midpoint"}},
            "5": {"class_type": "SamplerCustom", "inputs": {"noise_seed": 8, "cfg": 4.5, "add_noise": true,
                  "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "sampler": ["22", 0],
                  "sigmas": ["21", 1], "latent_image": ["4", 0]}}
        })));
        let f = base(&a);
        assert_eq!(f.steps, Some(30));
        assert_eq!(f.scheduler.as_deref(), Some("karras"));
        assert_eq!(f.sampler.as_deref(), Some("dpmpp_2m_sde"));
        assert_eq!(f.seed.as_deref(), Some("8"));
        assert_eq!(f.cfg, Some(4.5));
    }

    #[test]
    fn index_switches_and_selector_nodes_are_resolved() {
        let a = analyse(simple(json!({
            "20": {"class_type": "CLIPTextEncode", "inputs": {"text": "a fox", "clip": ["1", 1]}},
            "21": {"class_type": "ImpactSwitch", "inputs": {"select": 2, "input1": ["2", 0], "input2": ["20", 0]}},
            "22": {"class_type": "Checkpoint Selector", "inputs": {"ckpt_name": "picked.safetensors"}},
            "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ["22", 0]}},
            "23": {"class_type": "Fancy Int", "inputs": {"number": 31}},
            "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": ["23", 0], "cfg": 7.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
                  "positive": ["21", 0], "negative": ["3", 0], "latent_image": ["4", 0]}}
        })));
        let f = base(&a);
        assert_eq!(f.positive, Some(Text::Known("a fox".into())));
        assert_eq!(f.model.as_deref(), Some("picked.safetensors"));
        assert_eq!(f.steps, Some(31));
    }

    #[test]
    fn a_sampler_with_its_own_image_output_is_found_from_the_saver() {
        let a = analyse(simple(json!({
            "5": {"class_type": "KSampler (Efficient)", "inputs": {"seed": 9, "steps": 20, "cfg": 7.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
                  "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}},
            "7": {"class_type": "SaveImage", "inputs": {"images": ["5", 5]}},
            "8": {"class_type": "PreviewImage", "inputs": {"images": ["9", 0]}},
            "9": {"class_type": "LoadImage", "inputs": {"image": "ref.png"}}
        })));
        assert_eq!(a.output.as_deref(), Some("7"));
        assert_eq!(base(&a).seed.as_deref(), Some("9"));
    }

    #[test]
    fn power_lora_loader_keeps_its_order_and_skips_disabled_loras() {
        let a = analyse(simple(json!({
            "20": {"class_type": "Power Lora Loader (rgthree)", "inputs": {
                   "lora_1": {"on": true, "lora": "a.safetensors", "strength": 0.5},
                   "lora_2": {"on": false, "lora": "off.safetensors", "strength": 1.0},
                   "lora_3": {"on": true, "lora": "b.safetensors", "strength": 0.7},
                   "model": ["1", 0], "clip": ["1", 1]}},
            "5": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0, "model": ["20", 0],
                  "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}}
        })));
        let names: Vec<&str> = base(&a).loras.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(names, vec!["a.safetensors", "b.safetensors"]);
    }

    #[test]
    fn two_expert_video_chain_reads_the_first_expert_and_the_conditioning_latent() {
        let a = analyse(json!({
            "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "high.safetensors"}},
            "2": {"class_type": "UNETLoader", "inputs": {"unet_name": "low.safetensors"}},
            "5": {"class_type": "LoadImage", "inputs": {"image": "start.png"}},
            "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "a bird"}},
            "8": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark"}},
            "11": {"class_type": "WanFirstLastFrameToVideo", "inputs": {"positive": ["7", 0], "negative": ["8", 0],
                   "start_image": ["5", 0], "width": 480, "height": 544, "length": 25}},
            "12": {"class_type": "KSamplerAdvanced", "inputs": {"model": ["1", 0], "positive": ["11", 0],
                   "negative": ["11", 1], "latent_image": ["11", 2], "noise_seed": 301, "steps": 4, "cfg": 1.0,
                   "sampler_name": "euler", "scheduler": "simple", "start_at_step": 0, "end_at_step": 2}},
            "13": {"class_type": "KSamplerAdvanced", "inputs": {"model": ["2", 0], "positive": ["11", 0],
                   "negative": ["11", 1], "latent_image": ["12", 0], "noise_seed": 301, "steps": 4, "cfg": 1.0,
                   "sampler_name": "euler", "scheduler": "simple", "start_at_step": 2, "end_at_step": 10000}},
            "14": {"class_type": "VAEDecode", "inputs": {"samples": ["13", 0]}},
            "15": {"class_type": "VHS_VideoCombine", "inputs": {"images": ["14", 0], "frame_rate": 16}}
        }));
        assert_eq!(a.stages.len(), 2);
        let f = base(&a);
        assert_eq!(f.model.as_deref(), Some("high.safetensors"));
        assert_eq!(f.positive, Some(Text::Known("a bird".into())));
        assert_eq!(f.negative, Some(Text::Known("text, watermark".into())));
        assert_eq!(a.size, Some((480, 544)));
        assert_eq!(a.files, vec![("init", "start.png".to_string())]);
    }

    #[test]
    fn video_wrapper_text_embeds_carry_both_prompts() {
        let a = analyse(json!({
            "198": {"class_type": "WanVideoModelLoader", "inputs": {"model": "wan\\wan2.1.safetensors"}},
            "232": {"class_type": "WanVideoTextEmbedBridge", "inputs": {"positive": ["234", 0], "negative": ["235", 0]}},
            "234": {"class_type": "CLIPTextEncode", "inputs": {"text": "positive prompt"}},
            "235": {"class_type": "CLIPTextEncode", "inputs": {"text": "negative prompt"}},
            "240": {"class_type": "WanVideoEmptyEmbeds", "inputs": {"width": 832, "height": 480, "num_frames": 81}},
            "252": {"class_type": "WanVideoSampler", "inputs": {"steps": 30, "cfg": 6.0, "seed": 1234,
                    "scheduler": "unipc", "denoise_strength": 1.0, "model": ["198", 0],
                    "text_embeds": ["232", 0], "image_embeds": ["240", 0]}}
        }));
        let f = base(&a);
        assert_eq!(f.sampler.as_deref(), Some("unipc"));
        assert_eq!(f.model.as_deref(), Some("wan\\wan2.1.safetensors"));
        assert_eq!(f.positive, Some(Text::Known("positive prompt".into())));
        assert_eq!(f.negative, Some(Text::Known("negative prompt".into())));
        assert_eq!(a.size, Some((832, 480)));

        let a = analyse(json!({
            "1": {"class_type": "WanVideoTextEncode", "inputs": {"positive_prompt": "a fox", "negative_prompt": "blur"}},
            "2": {"class_type": "WanVideoSampler", "inputs": {"steps": 4, "cfg": 1.0, "seed": 1,
                  "scheduler": "euler", "text_embeds": ["1", 0]}}
        }));
        assert_eq!(base(&a).negative, Some(Text::Known("blur".into())));
    }

    #[test]
    fn long_chains_and_diamond_lattices_stay_bounded() {
        // 5000 reroutes in a row, and 60 levels of ConditioningCombine each combining the level below twice
        // (2^60 paths without a visit budget).
        let mut g = simple(json!({}));
        let o = g.as_object_mut().unwrap();
        o.insert(
            "r0".into(),
            json!({"class_type": "Reroute", "inputs": {"": ["2", 0]}}),
        );
        for i in 1..5000 {
            o.insert(
                format!("r{i}"),
                json!({"class_type": "Reroute", "inputs": {"": [format!("r{}", i - 1), 0]}}),
            );
        }
        o.insert(
            "c0".into(),
            json!({"class_type": "CLIPTextEncode", "inputs": {"text": "x"}}),
        );
        for i in 1..60 {
            let below = format!("c{}", i - 1);
            o.insert(
                format!("c{i}"),
                json!({"class_type": "ConditioningCombine",
                       "inputs": {"conditioning_1": [below.clone(), 0], "conditioning_2": [below, 0]}}),
            );
        }
        o.insert(
            "5".into(),
            json!({"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20, "cfg": 7.0,
                   "sampler_name": "euler", "scheduler": "normal", "model": ["1", 0],
                   "positive": ["c59", 0], "negative": ["r4999", 0], "latent_image": ["4", 0]}}),
        );
        let start = std::time::Instant::now();
        let a = analyse(g);
        assert!(start.elapsed().as_secs() < 5);
        let f = base(&a);
        assert_eq!(f.positive, Some(Text::Unknown));
        assert_eq!(f.negative, Some(Text::Unknown), "beyond the depth limit");
        assert!(a.warnings.iter().any(|w| w.contains("budget")));
    }
}
