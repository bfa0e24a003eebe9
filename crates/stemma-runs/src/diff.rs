//! Diff of two settings documents (two runs, or a fork and its source): the RFC 7396 merge patch, one row per
//! changed value (JSON pointer, before, after), and a token-level diff of the prompts.

use serde::Serialize;
use serde_json::Value;

/// What changed from A to B.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsDiff {
    /// RFC 7396 merge patch turning A into B.
    pub patch: Value,
    /// (JSON pointer, A's value, B's value) of every changed leaf.
    pub rows: Vec<(String, Option<Value>, Option<Value>)>,
    /// Token diff of each changed prompt text: (JSON pointer, `[-removed-] {+added+}` text).
    pub prompts: Vec<(String, String)>,
}

/// Members that hold prompt text (compared token by token).
const PROMPT_MEMBERS: &[&str] = &[
    "prompt",
    "negative",
    "positive",
    "negative_prompt",
    "prompts",
    "cond_prompts",
    "uncond_prompts",
    "text_prompts",
    "text",
];

/// Diff two settings documents. Text documents (an infotext) are compared line by line as rows and token by
/// token as prompt.
pub fn diff_settings(a: &Value, b: &Value) -> SettingsDiff {
    let (patch, _) = stemma_model::merge_patch_diff(a, b);
    let mut rows = Vec::new();
    leaf_changes(a, b, "", &mut rows);
    let prompts = rows
        .iter()
        .filter(|(p, ..)| p.is_empty() || p.split('/').any(|seg| PROMPT_MEMBERS.contains(&seg)))
        .filter_map(|(p, x, y)| {
            let x = x.as_ref()?.as_str()?;
            let y = y.as_ref()?.as_str()?;
            Some((p.clone(), token_diff(x, y)))
        })
        .collect();
    SettingsDiff {
        patch,
        rows,
        prompts,
    }
}

fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

fn leaf_changes(
    a: &Value,
    b: &Value,
    at: &str,
    out: &mut Vec<(String, Option<Value>, Option<Value>)>,
) {
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let path = format!("{at}/{}", escape(k));
                match (ma.get(k), mb.get(k)) {
                    (Some(x), Some(y)) => leaf_changes(x, y, &path, out),
                    (x, y) => out.push((path, x.cloned(), y.cloned())),
                }
            }
        }
        _ if a == b => {}
        _ => out.push((at.to_string(), Some(a.clone()), Some(b.clone()))),
    }
}

/// Split a prompt into tokens: words and punctuation, whitespace attached to nothing.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let word = c.is_alphanumeric() || c == '_' || c == '\'' || c == '-' || c == '.';
        if word {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            out.push(&text[s..i]);
        }
        if !c.is_whitespace() {
            out.push(&text[i..i + c.len_utf8()]);
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

/// Most tokens compared by the quadratic diff; longer prompts are shown as a whole replacement.
const MAX_DIFF_TOKENS: usize = 2_000;

/// A token-level diff: unchanged tokens as they are, removed ones as `[-…-]`, added ones as `{+…+}`.
pub fn token_diff(a: &str, b: &str) -> String {
    let (ta, tb) = (tokens(a), tokens(b));
    if ta.len() > MAX_DIFF_TOKENS || tb.len() > MAX_DIFF_TOKENS {
        return format!("[-{a}-] {{+{b}+}}");
    }
    // Longest common subsequence table, from the ends.
    let (n, m) = (ta.len(), tb.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if ta[i] == tb[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut parts: Vec<String> = Vec::new();
    let (mut removed, mut added): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let flush = |parts: &mut Vec<String>, removed: &mut Vec<&str>, added: &mut Vec<&str>| {
        if !removed.is_empty() {
            parts.push(format!("[-{}-]", removed.join(" ")));
            removed.clear();
        }
        if !added.is_empty() {
            parts.push(format!("{{+{}+}}", added.join(" ")));
            added.clear();
        }
    };
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && ta[i] == tb[j] {
            flush(&mut parts, &mut removed, &mut added);
            parts.push(ta[i].to_string());
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            added.push(tb[j]);
            j += 1;
        } else {
            removed.push(ta[i]);
            i += 1;
        }
    }
    flush(&mut parts, &mut removed, &mut added);
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn a_changed_seed_is_one_row_and_the_patch() {
        let a = json!({"seed": 1, "prompts": {"0": "a red cat"}, "W": 512});
        let b = json!({"seed": 42, "prompts": {"0": "a blue cat"}, "W": 512});
        let d = diff_settings(&a, &b);
        assert_eq!(d.patch, json!({"seed": 42, "prompts": {"0": "a blue cat"}}));
        assert_eq!(d.rows.len(), 2);
        assert_eq!(
            d.prompts,
            vec![(
                "/prompts/0".to_string(),
                "a [-red-] {+blue+} cat".to_string()
            )]
        );
    }

    #[test]
    fn token_diff_keeps_punctuation_apart() {
        assert_eq!(
            token_diff("a cat, sitting", "a cat, standing"),
            "a cat , [-sitting-] {+standing+}"
        );
        assert_eq!(token_diff("", "new"), "{+new+}");
    }
}
