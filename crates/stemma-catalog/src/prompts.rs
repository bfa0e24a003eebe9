//! Prompt management: unique prompts, stacks (same prompt and settings, different seeds), variations (prompts a
//! few tokens apart) and templates (recorded Dynamic Prompts templates, or inferred from a family of variations).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::Result;
use crate::tokens::{changed_tokens, diff, tokenize, Hunk};

/// A prompt and how many images use it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PromptCount {
    pub prompt: String,
    pub count: i64,
}

/// Unique prompts, most used first.
pub fn unique(cat: &Catalog) -> Result<Vec<PromptCount>> {
    let mut stmt = cat.conn.prepare(
        "SELECT prompt, COUNT(*) FROM images WHERE prompt IS NOT NULL AND prompt <> '' \
         GROUP BY prompt ORDER BY COUNT(*) DESC, prompt",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(PromptCount {
                prompt: r.get(0)?,
                count: r.get(1)?,
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The settings a stack is keyed on; the seed is never part of it. `--vary` names more to leave out.
pub const STACK_FIELDS: &[&str] = &[
    "prompt",
    "negative",
    "steps",
    "cfg",
    "sampler",
    "scheduler",
    "model",
    "width",
    "height",
    "generator",
];

/// Images that share a prompt and settings and differ in seed (or in the fields named in `vary`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stack {
    /// The shared settings (field → value).
    pub shared: BTreeMap<String, String>,
    /// (image id, seed) of each member, by seed.
    pub images: Vec<(i64, Option<String>)>,
}

/// Stacks of two or more images.
pub fn stacks(cat: &Catalog, vary: &[String]) -> Result<Vec<Stack>> {
    let fields: Vec<&str> = STACK_FIELDS
        .iter()
        .copied()
        .filter(|f| !vary.iter().any(|v| v == f))
        .collect();
    // CAST keeps the values comparable as text; the column names come from the fixed list above.
    let cols: Vec<String> = fields
        .iter()
        .map(|f| format!("CAST({f} AS TEXT)"))
        .collect();
    let sql = format!(
        "SELECT id, seed, {} FROM images WHERE prompt IS NOT NULL ORDER BY id",
        cols.join(", ")
    );
    let mut stmt = cat.conn.prepare(&sql)?;
    type Members = Vec<(i64, Option<String>)>;
    let mut groups: HashMap<Vec<Option<String>>, Members> = HashMap::new();
    let mut order = Vec::new();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let mut key = Vec::with_capacity(fields.len());
        for n in 0..fields.len() {
            key.push(r.get::<_, Option<String>>(n + 2)?);
        }
        let members = groups.entry(key.clone()).or_default();
        if members.is_empty() {
            order.push(key);
        }
        members.push((r.get(0)?, r.get(1)?));
    }
    let mut out = Vec::new();
    for key in order {
        let Some(mut images) = groups.remove(&key) else {
            continue;
        };
        if images.len() < 2 {
            continue;
        }
        images.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        let shared = fields
            .iter()
            .zip(key)
            .filter_map(|(f, v)| v.map(|v| (f.to_string(), v)))
            .collect();
        out.push(Stack { shared, images });
    }
    out.sort_by_key(|s| std::cmp::Reverse(s.images.len()));
    Ok(out)
}

/// A family of prompts a few tokens apart.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Family {
    /// The most used prompt of the family, the others are compared to it.
    pub base: String,
    /// (prompt, images using it, token diff against the base) of the others.
    pub members: Vec<(String, i64, String)>,
    #[serde(skip)]
    pub counts: Vec<i64>,
}

/// Most unique prompts compared pairwise for variations.
pub const MAX_VARIATION_PROMPTS: usize = 20_000;

/// Group unique prompts that differ from another by at most `max_changes` tokens (removed plus added).
pub fn variations(cat: &Catalog, max_changes: usize) -> Result<Vec<Family>> {
    let mut prompts = unique(cat)?;
    prompts.truncate(MAX_VARIATION_PROMPTS);
    let toks: Vec<Vec<&str>> = prompts
        .iter()
        .map(|p| tokenize(&p.prompt).iter().map(|t| t.text).collect())
        .collect();
    let sorted: Vec<Vec<&str>> = toks
        .iter()
        .map(|t| {
            let mut s = t.clone();
            s.sort_unstable();
            s
        })
        .collect();
    let mut parent: Vec<usize> = (0..prompts.len()).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for a in 0..prompts.len() {
        for b in a + 1..prompts.len() {
            if toks[a].len().abs_diff(toks[b].len()) > max_changes
                || multiset_distance(&sorted[a], &sorted[b]) > max_changes
            {
                continue;
            }
            if changed_tokens(&diff(&toks[a], &toks[b])) <= max_changes {
                let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                if ra != rb {
                    parent[rb.max(ra)] = ra.min(rb);
                }
            }
        }
    }
    let mut families: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..prompts.len() {
        let r = root(&mut parent, i);
        families.entry(r).or_default().push(i);
    }
    let mut out: Vec<Family> = families
        .into_values()
        .filter(|m| m.len() > 1)
        .map(|m| {
            // Members are in "most used first" order, so the first is the base.
            let base = &prompts[m[0]].prompt;
            Family {
                base: base.clone(),
                members: m[1..]
                    .iter()
                    .map(|&i| {
                        let p = &prompts[i];
                        (
                            p.prompt.clone(),
                            p.count,
                            crate::tokens::render_diff(base, &p.prompt),
                        )
                    })
                    .collect(),
                counts: m.iter().map(|&i| prompts[i].count).collect(),
            }
        })
        .collect();
    out.sort_by_key(|f| std::cmp::Reverse(f.members.len()));
    Ok(out)
}

/// Tokens in one sorted list and not the other (a lower bound of the diff size, cheap to compute).
fn multiset_distance(a: &[&str], b: &[&str]) -> usize {
    let (mut i, mut j, mut d) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(b[j]) {
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                d += 1;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                d += 1;
                j += 1;
            }
        }
    }
    d + (a.len() - i) + (b.len() - j)
}

/// Images grouped under the template they came from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TemplateGroup {
    pub template: String,
    /// True when the template was recorded in the images; false when inferred from variations.
    pub recorded: bool,
    pub images: i64,
    /// For each slot (`{…}` or `__wildcard__`, in order), the values it took and how often.
    pub slots: Vec<(String, BTreeMap<String, i64>)>,
}

/// Recorded templates (Dynamic Prompts `Template:`, the record's `prompt.template`) with the values each slot
/// took, then templates inferred from variation families that no recorded template explains.
pub fn templates(cat: &Catalog, max_changes: usize) -> Result<Vec<TemplateGroup>> {
    let mut stmt = cat.conn.prepare(
        "SELECT template, prompt, COUNT(*) FROM images WHERE template IS NOT NULL \
         GROUP BY template, prompt ORDER BY template, prompt",
    )?;
    let mut by_template: BTreeMap<String, Vec<(Option<String>, i64)>> = BTreeMap::new();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        by_template
            .entry(r.get(0)?)
            .or_default()
            .push((r.get(1)?, r.get(2)?));
    }
    let mut explained: std::collections::HashSet<String> = Default::default();
    let mut out = Vec::new();
    for (template, prompts) in by_template {
        let names = slot_names(&template);
        let mut slots: Vec<(String, BTreeMap<String, i64>)> =
            names.iter().map(|n| (n.clone(), BTreeMap::new())).collect();
        let mut images = 0;
        for (prompt, count) in prompts {
            images += count;
            let Some(prompt) = prompt else { continue };
            if let Some(values) = slot_values(&template, &prompt) {
                for (slot, value) in slots.iter_mut().zip(values) {
                    *slot.1.entry(value).or_default() += count;
                }
            }
            explained.insert(prompt);
        }
        out.push(TemplateGroup {
            template,
            recorded: true,
            images,
            slots,
        });
    }
    for family in variations(cat, max_changes)? {
        let mut prompts = vec![family.base.clone()];
        prompts.extend(family.members.iter().map(|m| m.0.clone()));
        if prompts.iter().all(|p| explained.contains(p)) {
            continue;
        }
        out.push(infer_template(&prompts, &family.counts));
    }
    Ok(out)
}

/// The parts of a Dynamic Prompts template: literal text and slots (`{…}` with nesting, `__name__`).
fn template_parts(template: &str) -> Vec<(bool, String)> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '{' {
            let mut depth = 0;
            let start = i;
            while i < chars.len() {
                if chars[i] == '{' {
                    depth += 1;
                } else if chars[i] == '}' {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                i += 1;
            }
            parts.push((false, std::mem::take(&mut lit)));
            parts.push((
                true,
                chars[start..(i + 1).min(chars.len())].iter().collect(),
            ));
            i += 1;
        } else if chars[i] == '_' && chars.get(i + 1) == Some(&'_') {
            let rest: String = chars[i + 2..].iter().collect();
            if let Some(end) = rest.find("__").filter(|e| *e > 0) {
                let name: String = rest[..end].to_string();
                parts.push((false, std::mem::take(&mut lit)));
                parts.push((true, format!("__{name}__")));
                i += 2 + name.chars().count() + 2;
            } else {
                lit.push(chars[i]);
                i += 1;
            }
        } else {
            lit.push(chars[i]);
            i += 1;
        }
    }
    parts.push((false, lit));
    parts
        .into_iter()
        .filter(|(slot, s)| *slot || !s.is_empty())
        .collect()
}

fn slot_names(template: &str) -> Vec<String> {
    template_parts(template)
        .into_iter()
        .filter(|(slot, _)| *slot)
        .map(|(_, s)| s)
        .collect()
}

/// The text each slot of `template` took in `prompt`, by matching the literal parts in order.
pub fn slot_values(template: &str, prompt: &str) -> Option<Vec<String>> {
    let parts = template_parts(template);
    let mut pos = 0;
    let mut values = Vec::new();
    let mut pending_slot = false;
    for (slot, text) in &parts {
        if *slot {
            if pending_slot {
                // Two slots in a row cannot be told apart: the first takes nothing.
                values.push(String::new());
            }
            pending_slot = true;
            continue;
        }
        let found = prompt.get(pos..)?.find(text.as_str())? + pos;
        if pending_slot {
            values.push(prompt[pos..found].trim().to_string());
            pending_slot = false;
        } else if found != pos {
            return None;
        }
        pos = found + text.len();
    }
    if pending_slot {
        values.push(prompt.get(pos..)?.trim().to_string());
    }
    Some(values)
}

/// A template for a family of prompts: the first prompt with every stretch that changes across the family
/// replaced by a `{a|b|…}` slot.
fn infer_template(prompts: &[String], counts: &[i64]) -> TemplateGroup {
    let base_toks = tokenize(&prompts[0]);
    let base_words: Vec<&str> = base_toks.iter().map(|t| t.text).collect();
    let diffs: Vec<(Vec<&str>, Vec<Hunk>)> = prompts
        .iter()
        .map(|p| {
            let words: Vec<&str> = tokenize(p).iter().map(|t| t.text).collect();
            let hunks = diff(&base_words, &words);
            (words, hunks)
        })
        .collect();
    // Slots: the union of changed base ranges, merged when they touch.
    let mut ranges: Vec<(usize, usize)> = diffs
        .iter()
        .flat_map(|(_, h)| h.iter().map(|h| (h.a_start, h.a_end)))
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut slots: Vec<(String, BTreeMap<String, i64>)> = Vec::new();
    for (n, &(s, e)) in merged.iter().enumerate() {
        let mut values = BTreeMap::new();
        for (k, (words, hunks)) in diffs.iter().enumerate() {
            let value = replacement(&base_words, words, hunks, s, e);
            *values.entry(value).or_insert(0) += counts.get(k).copied().unwrap_or(1);
        }
        slots.push((format!("slot {}", n + 1), values));
    }
    // The template text keeps the base prompt's own spacing outside the slots.
    let text = &prompts[0];
    let mut template = String::new();
    let mut at = 0;
    for ((s, e), (_, values)) in merged.iter().zip(&slots) {
        let start = base_toks.get(*s).map_or(text.len(), |t| t.start);
        let end = if *e > *s {
            base_toks[*e - 1].end
        } else {
            start
        };
        template.push_str(&text[at..start]);
        let alts: Vec<&str> = values.keys().map(String::as_str).collect();
        template.push_str(&format!("{{{}}}", alts.join("|")));
        if *e == *s && start < text.len() {
            template.push(' ');
        }
        at = end;
    }
    template.push_str(&text[at..]);
    TemplateGroup {
        template,
        recorded: false,
        images: counts.iter().sum(),
        slots,
    }
}

/// What a prompt has in place of the base tokens `s..e`.
fn replacement(base: &[&str], words: &[&str], hunks: &[Hunk], s: usize, e: usize) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut i = s;
    // Walk the base range; copy unchanged tokens, substitute changed stretches.
    for h in hunks {
        if h.a_end < s || h.a_start > e || (h.a_start == e && h.a_end == e && e != s) {
            continue;
        }
        while i < h.a_start {
            out.push(base[i]);
            i += 1;
        }
        out.extend_from_slice(&words[h.b_start..h.b_end]);
        i = h.a_end.max(i);
    }
    while i < e {
        out.push(base[i]);
        i += 1;
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn slot_values_follow_the_literals() {
        let t = "a {red|blue} __animal__ on a {mat|rug}";
        assert_eq!(
            slot_values(t, "a blue cat on a rug").unwrap(),
            ["blue", "cat", "rug"]
        );
        assert_eq!(slot_names(t), ["{red|blue}", "__animal__", "{mat|rug}"]);
        assert!(slot_values(t, "something else").is_none());
    }

    #[test]
    fn a_family_becomes_a_template() {
        let prompts = vec![
            "a red cat on a mat".to_string(),
            "a blue cat on a mat".to_string(),
            "a green cat on a mat".to_string(),
        ];
        let t = infer_template(&prompts, &[2, 1, 1]);
        assert_eq!(t.template, "a {blue|green|red} cat on a mat");
        assert_eq!(t.images, 4);
        assert_eq!(t.slots[0].1["red"], 2);
    }
}
