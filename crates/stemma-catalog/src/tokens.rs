//! Prompt tokens and token-level diffs, shared by variations, templates and `diff`.

/// One token of a prompt: a word (letters, digits, `_`, `'`) or one punctuation character, with its byte span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
}

/// Split a prompt into tokens; whitespace separates and is dropped.
pub fn tokenize(s: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut word_start: Option<usize> = None;
    for (i, ch) in s.char_indices() {
        let wordy = ch.is_alphanumeric() || ch == '_' || ch == '\'';
        if wordy {
            word_start.get_or_insert(i);
            continue;
        }
        if let Some(ws) = word_start.take() {
            out.push(Token {
                text: &s[ws..i],
                start: ws,
                end: i,
            });
        }
        if !ch.is_whitespace() {
            let end = i + ch.len_utf8();
            out.push(Token {
                text: &s[i..end],
                start: i,
                end,
            });
        }
    }
    if let Some(ws) = word_start {
        out.push(Token {
            text: &s[ws..],
            start: ws,
            end: s.len(),
        });
    }
    out
}

/// One changed stretch: tokens `a_start..a_end` of the first sequence became `b_start..b_end` of the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hunk {
    pub a_start: usize,
    pub a_end: usize,
    pub b_start: usize,
    pub b_end: usize,
}

/// Longest prompts compared token by token; longer ones are compared as one changed stretch.
const MAX_DIFF_TOKENS: usize = 2000;

/// The changed stretches between two token sequences (longest common subsequence).
pub fn diff(a: &[&str], b: &[&str]) -> Vec<Hunk> {
    let (n, m) = (a.len(), b.len());
    if n > MAX_DIFF_TOKENS || m > MAX_DIFF_TOKENS {
        return if a == b {
            vec![]
        } else {
            vec![Hunk {
                a_start: 0,
                a_end: n,
                b_start: 0,
                b_end: m,
            }]
        };
    }
    // lcs[i][j] = length of the LCS of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut hunks = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut open: Option<(usize, usize)> = None;
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            if let Some((as_, bs)) = open.take() {
                hunks.push(Hunk {
                    a_start: as_,
                    a_end: i,
                    b_start: bs,
                    b_end: j,
                });
            }
            i += 1;
            j += 1;
            continue;
        }
        open.get_or_insert((i, j));
        if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            j += 1;
        } else {
            i += 1;
        }
    }
    if let Some((as_, bs)) = open {
        hunks.push(Hunk {
            a_start: as_,
            a_end: n,
            b_start: bs,
            b_end: m,
        });
    }
    hunks
}

/// Number of tokens changed (removed plus added).
pub fn changed_tokens(hunks: &[Hunk]) -> usize {
    hunks
        .iter()
        .map(|h| (h.a_end - h.a_start) + (h.b_end - h.b_start))
        .sum()
}

/// A readable token diff: `[-removed-]{+added+}` marks inside the common text.
pub fn render_diff(a: &str, b: &str) -> String {
    let (ta, tb) = (tokenize(a), tokenize(b));
    let wa: Vec<&str> = ta.iter().map(|t| t.text).collect();
    let wb: Vec<&str> = tb.iter().map(|t| t.text).collect();
    let hunks = diff(&wa, &wb);
    let mut out = Vec::new();
    let mut i = 0;
    for h in &hunks {
        out.extend(wa[i..h.a_start].iter().map(|s| s.to_string()));
        if h.a_end > h.a_start {
            out.push(format!("[-{}-]", wa[h.a_start..h.a_end].join(" ")));
        }
        if h.b_end > h.b_start {
            out.push(format!("{{+{}+}}", wb[h.b_start..h.b_end].join(" ")));
        }
        i = h.a_end;
    }
    out.extend(wa[i..].iter().map(|s| s.to_string()));
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_their_spans() {
        let t = tokenize("a red cat, (masterpiece:1.2)");
        let texts: Vec<&str> = t.iter().map(|t| t.text).collect();
        assert_eq!(
            texts,
            [
                "a",
                "red",
                "cat",
                ",",
                "(",
                "masterpiece",
                ":",
                "1",
                ".",
                "2",
                ")"
            ]
        );
        assert_eq!(t[2].start, 6);
    }

    #[test]
    fn diff_finds_the_changed_words() {
        let a = ["a", "red", "cat", "on", "a", "mat"];
        let b = ["a", "blue", "cat", "on", "a", "mat", "outside"];
        let h = diff(&a, &b);
        assert_eq!(h.len(), 2);
        assert_eq!(
            (h[0].a_start, h[0].a_end, h[0].b_start, h[0].b_end),
            (1, 2, 1, 2)
        );
        assert_eq!(
            (h[1].a_start, h[1].a_end, h[1].b_start, h[1].b_end),
            (6, 6, 6, 7)
        );
        assert_eq!(changed_tokens(&h), 3);
        assert_eq!(
            render_diff("a red cat", "a blue cat"),
            "a [-red-] {+blue+} cat"
        );
    }
}
