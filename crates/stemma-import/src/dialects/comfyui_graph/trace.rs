//! Walking back from a node: the model chain and its LoRAs, where a latent comes from, and which samplers made an
//! image.

use super::*;

impl<'a> Graph<'a> {
    /// The model name and LoRAs on the model path of a node.
    pub(super) fn model_chain(
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
    pub(super) fn trace_latent(
        &self,
        node: &Node,
        slot: u64,
        ctx: &mut Ctx,
        depth: usize,
    ) -> LatentTrace {
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

    pub(super) fn merge_latents(
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

    pub(super) fn size_of(
        &self,
        node: &Node,
        w: &str,
        h: &str,
        ctx: &mut Ctx,
    ) -> Option<(u64, u64)> {
        let w = self.input(node, w).and_then(|i| self.value(i, ctx, 0))?;
        let h = self.input(node, h).and_then(|i| self.value(i, ctx, 0))?;
        let (w, h) = (as_u64(&w)?, as_u64(&h)?);
        (w > 0 && h > 0).then_some((w, h))
    }

    /// The file name of an image loaded upstream of a node's image inputs (`init_image`, `start_image`...).
    pub(super) fn image_file_of(&self, node: &Node, ctx: &mut Ctx) -> Option<String> {
        ["init_image", "start_image", "image"]
            .iter()
            .find_map(|k| self.link(node, k))
            .and_then(|(n, s)| self.trace_image(n, s, ctx, 1).files.into_iter().next())
            .map(|(_, f)| f)
    }

    /// Follow an image path upstream: decoders lead to samplers, image merges to several paths.
    pub(super) fn trace_image(
        &self,
        node: &Node,
        slot: u64,
        ctx: &mut Ctx,
        depth: usize,
    ) -> ImageTrace {
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
}
