//! The prompt texts reaching a sampler's conditioning inputs, and what is met on the way (guidance, clip skip).

use super::*;

impl<'a> Graph<'a> {
    /// The text reaching a conditioning input, and the distilled guidance and clip skip met on the way.
    pub(super) fn cond_text(
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
    pub(super) fn first_text(
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

    pub(super) fn encoder_text(
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
    pub(super) fn clip_skip(&self, node: &Node, ctx: &mut Ctx) -> Option<u64> {
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
}
