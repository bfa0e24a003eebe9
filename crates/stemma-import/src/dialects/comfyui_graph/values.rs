//! Resolving an input of a node to the value it carries: through links, reroutes, switches and input paths.

use super::*;

impl<'a> Graph<'a> {
    /// Follow reroutes and switches from a link to the node that really produces the value.
    pub(super) fn deref<'g>(
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
    pub(super) fn value(&self, input: Input, ctx: &mut Ctx, depth: usize) -> Option<Value> {
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
    pub(super) fn index_switch<'g>(
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

    /// The node reached from `node` by following the links of `hops` (input names, through reroutes and switches);
    /// None when one is missing.
    pub(super) fn follow_hops<'g>(
        &'g self,
        node: &'g Node<'g>,
        hops: &[&str],
        ctx: &mut Ctx,
    ) -> Option<&'g Node<'g>> {
        let mut cur = node;
        for hop in hops {
            let (next, _) = self
                .link(cur, hop)
                .and_then(|(n, s)| self.deref(n, s, ctx))?;
            cur = next;
        }
        Some(cur)
    }

    /// Follow an input path (see `comfyui_nodes`) from a node; the input found at its end.
    pub(super) fn path_input<'g>(
        &'g self,
        node: &'g Node<'g>,
        path: &str,
        ctx: &mut Ctx,
    ) -> Option<PathEnd<'g>> {
        for segments in table::path_alternatives(path) {
            let Some((last, hops)) = segments.split_last() else {
                continue;
            };
            let Some(cur) = self.follow_hops(node, hops, ctx) else {
                continue;
            };
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

    pub(super) fn path_value(&self, node: &Node, path: &str, ctx: &mut Ctx) -> Option<Value> {
        match self.path_input(node, path, ctx)? {
            PathEnd::Constant(c) => Some(Value::String(c.to_string())),
            PathEnd::Input(i) => self.value(i, ctx, 0),
        }
    }

    pub(super) fn path_link<'g>(
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
}
