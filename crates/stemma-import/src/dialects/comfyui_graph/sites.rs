//! Where a graph keeps each value the importer reads: the node and input holding the literal seed, steps,
//! sampler, prompt text, checkpoint and size of the sampler passes, found by the same walk as [`Graph::analyse`].
//! A fork changes exactly these inputs (`stemma fork --set seed=42` on a ComfyUI image).

use serde_json::Value;

use super::{as_link, is_text_encoder_like, table, Ctx, Graph, Node, MAX_DEPTH, VISIT_BUDGET};

/// One literal input of the graph that holds a parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueSite {
    /// The parameter, in the vocabulary of `params`: `seed`, `steps`, `cfg_scale`, `sampler`, `scheduler`,
    /// `denoise`, `model`, `width`, `height`, `prompt`, `negative`.
    pub param: &'static str,
    /// Which sampler pass: 0 for the first pass (where the record's numbers come from), counting up.
    pub pass: usize,
    pub node: String,
    pub input: String,
}

/// Text inputs of text encoders, most common first.
const TEXT_INPUTS: &[&str] = &["text", "prompt", "text_g", "clip_l", "t5xxl", "text_l"];
/// Inputs a conditioning passes through (combiners, ControlNet appliers, area setters).
const CONDITIONING_INPUTS: &[&str] = &[
    "conditioning",
    "conditioning_to",
    "conditioning_1",
    "positive",
];

impl<'a> Graph<'a> {
    /// The node and input where the value of `name` on `node` is written as a literal: the input itself, or
    /// the literal of the primitive or selector node it is linked to.
    fn literal_site(
        &self,
        node: &Node,
        name: &str,
        ctx: &mut Ctx,
        depth: usize,
    ) -> Option<(String, String)> {
        if depth > MAX_DEPTH || !ctx.visit() {
            return None;
        }
        let value = node.inputs.get(name)?;
        let Some((id, slot)) = as_link(value) else {
            return Some((node.id.clone(), name.to_string()));
        };
        let source = self.node(&id)?;
        let (source, _) = self.deref(source, slot, ctx)?;
        if let Some(inner) = table::lookup(table::VALUE_NODES, &source.class) {
            return self.literal_site(source, inner, ctx, depth + 1);
        }
        if source.inputs.contains_key(name) {
            return self.literal_site(source, name, ctx, depth + 1);
        }
        if source.class.contains("Primitive") {
            return self.literal_site(source, "value", ctx, depth + 1);
        }
        if source.inputs.len() == 1 {
            let only = source.inputs.keys().next()?.clone();
            return self.literal_site(source, &only, ctx, depth + 1);
        }
        None
    }

    /// The node at the end of an input path's hops and the last input name, for each alternative that exists.
    fn path_end_node<'g>(
        &'g self,
        node: &'g Node<'g>,
        path: &'g str,
        ctx: &mut Ctx,
    ) -> Option<(&'g Node<'g>, &'g str)> {
        for segments in table::path_alternatives(path) {
            let Some((last, hops)) = segments.split_last() else {
                continue;
            };
            match self.follow_hops(node, hops, ctx) {
                Some(cur) if cur.inputs.contains_key(*last) => return Some((cur, last)),
                _ => {}
            }
        }
        None
    }

    fn param_site(&self, node: &Node, path: &str, ctx: &mut Ctx) -> Option<(String, String)> {
        let (end, last) = self.path_end_node(node, path, ctx)?;
        self.literal_site(end, last, ctx, 0)
    }

    /// The text inputs feeding a conditioning link, through combiners and appliers.
    fn text_sites(&self, node: &Node, path: &str, ctx: &mut Ctx, out: &mut Vec<(String, String)>) {
        let Some((end, last)) = self.path_end_node(node, path, ctx) else {
            return;
        };
        let mut todo = vec![(end.id.clone(), last.to_string(), 0usize)];
        while let Some((id, input, depth)) = todo.pop() {
            if depth > MAX_DEPTH || !ctx.visit() {
                continue;
            }
            let Some(cur) = self.node(&id) else { continue };
            let Some((src, _)) = self
                .link(cur, &input)
                .and_then(|(n, s)| self.deref(n, s, ctx))
            else {
                continue;
            };
            if is_text_encoder_like(&src.class) {
                for name in TEXT_INPUTS {
                    if let Some(site) = self.literal_site(src, name, ctx, 0) {
                        if !out.contains(&site) {
                            out.push(site);
                        }
                        break;
                    }
                }
                continue;
            }
            for name in CONDITIONING_INPUTS {
                if src.inputs.contains_key(*name) {
                    todo.push((src.id.clone(), name.to_string(), depth + 1));
                }
            }
        }
    }

    /// The checkpoint (or UNet) name feeding a sampler's model, through LoRA loaders and model patches.
    fn model_site(&self, node: &Node, path: &str, ctx: &mut Ctx) -> Option<(String, String)> {
        let (end, last) = self.path_end_node(node, path, ctx)?;
        let (mut cur, _) = self
            .link(end, last)
            .and_then(|(n, s)| self.deref(n, s, ctx))?;
        for _ in 0..MAX_DEPTH {
            for name in ["ckpt_name", "unet_name"] {
                if cur.inputs.contains_key(name) {
                    return self.literal_site(cur, name, ctx, 0);
                }
            }
            let (next, _) = self
                .link(cur, "model")
                .and_then(|(n, s)| self.deref(n, s, ctx))?;
            cur = next;
        }
        None
    }

    /// Every site of the analysed sampler passes.
    pub fn value_sites(&self) -> Vec<ValueSite> {
        let analysis = self.analyse(&[]);
        let mut ctx = Ctx {
            budget: VISIT_BUDGET,
            warnings: Vec::new(),
            exhausted: false,
            computed: false,
        };
        let mut sites = Vec::new();
        // Stages are listed final pass first; pass 0 is the first pass.
        for (pass, stage) in analysis.stages.iter().rev().enumerate() {
            for id in stage {
                let Some(node) = self.node(id) else { continue };
                let Some(spec) = self.sampler_spec(node) else {
                    continue;
                };
                let numeric = [
                    ("seed", spec.seed),
                    ("steps", spec.steps),
                    ("cfg_scale", spec.cfg),
                    ("sampler", spec.sampler),
                    ("scheduler", spec.scheduler),
                    ("denoise", spec.denoise),
                ];
                for (param, path) in numeric {
                    if let Some((node, input)) = self.param_site(node, path, &mut ctx) {
                        sites.push(ValueSite {
                            param,
                            pass,
                            node,
                            input,
                        });
                    }
                }
                if let Some((node, input)) = self.model_site(node, spec.model, &mut ctx) {
                    sites.push(ValueSite {
                        param: "model",
                        pass,
                        node,
                        input,
                    });
                }
                for (param, path) in [("prompt", spec.positive), ("negative", spec.negative)] {
                    let mut found = Vec::new();
                    self.text_sites(node, path, &mut ctx, &mut found);
                    for (node, input) in found {
                        sites.push(ValueSite {
                            param,
                            pass,
                            node,
                            input,
                        });
                    }
                }
                if pass == 0 {
                    if let Some((end, last)) = self.path_end_node(node, spec.latent, &mut ctx) {
                        if let Some((latent, _)) = self
                            .link(end, last)
                            .and_then(|(n, s)| self.deref(n, s, &mut ctx))
                        {
                            for param in ["width", "height"] {
                                if let Some((node, input)) =
                                    self.literal_site(latent, param, &mut ctx, 0)
                                {
                                    sites.push(ValueSite {
                                        param,
                                        pass,
                                        node,
                                        input,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        sites.sort();
        sites.dedup();
        sites
    }
}

/// The sites of an API graph (`None` when the value is not one).
pub fn value_sites(api: &Value) -> Option<Vec<ValueSite>> {
    Graph::from_api(api).map(|g| g.value_sites())
}
