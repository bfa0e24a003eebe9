//! AUTOMATIC1111's configurable file-name patterns (the `filename pattern` setting: `[seed]-[prompt_spaces]`,
//! `[datetime]-[model_name]`, ...), read back into what they hold.

use super::*;

/// A compiled A1111 `filename pattern` setting (`[seed]-[prompt_spaces]`, `[datetime]-[model_name]`, ...), with the
/// per-folder counter `{n:05}-` in front (unless `save_images_add_number` was off) and A1111's suffixes after.
#[derive(Debug, Clone)]
pub struct A1111Pattern {
    pattern: String,
    regex: Regex,
    groups: Vec<(String, A1111Token)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum A1111Token {
    Seed,
    Prompt { slug: bool },
    PromptWords,
    Number(&'static str),
    Text(&'static str),
    Date,
}

/// (token, regex, meaning). Tokens from `modules/images.py` `FilenameGenerator.replacements`.
const A1111_TOKENS: &[(&str, &str, A1111Token)] = &[
    ("seed", r"-?\d+", A1111Token::Seed),
    ("seed_first", r"-?\d+", A1111Token::Seed),
    ("seed_last", r"-?\d+", A1111Token::Number("seed_last")),
    ("steps", r"\d+", A1111Token::Number("steps")),
    ("cfg", r"\d+(?:\.\d+)?", A1111Token::Number("cfg_scale")),
    ("width", r"\d+", A1111Token::Number("width")),
    ("height", r"\d+", A1111Token::Number("height")),
    ("styles", r".*?", A1111Token::Text("styles")),
    ("sampler", r".+?", A1111Token::Text("sampler")),
    ("scheduler", r".+?", A1111Token::Text("scheduler")),
    (
        "sampler_scheduler",
        r".+?",
        A1111Token::Text("sampler_scheduler"),
    ),
    (
        "model_hash",
        r"[0-9a-f]{8,10}",
        A1111Token::Text("model_hash"),
    ),
    ("model_name", r".+?", A1111Token::Text("model")),
    ("date", r"\d{4}-\d{2}-\d{2}", A1111Token::Date),
    ("datetime", r"\d{14}", A1111Token::Date),
    ("job_timestamp", r"\d{14}", A1111Token::Date),
    (
        "prompt_hash",
        r"[0-9a-f]{8}",
        A1111Token::Text("prompt_hash"),
    ),
    (
        "negative_prompt_hash",
        r"[0-9a-f]{8}",
        A1111Token::Text("negative_prompt_hash"),
    ),
    (
        "full_prompt_hash",
        r"[0-9a-f]{8}",
        A1111Token::Text("full_prompt_hash"),
    ),
    ("prompt", r".+?", A1111Token::Prompt { slug: true }),
    (
        "prompt_no_styles",
        r".+?",
        A1111Token::Prompt { slug: false },
    ),
    ("prompt_spaces", r".+?", A1111Token::Prompt { slug: false }),
    ("prompt_words", r".+?", A1111Token::PromptWords),
    ("batch_number", r"\d+", A1111Token::Number("batch_number")),
    ("batch_size", r"\d+", A1111Token::Number("batch_size")),
    (
        "generation_number",
        r"\d+",
        A1111Token::Number("generation_number"),
    ),
    ("clip_skip", r"\d+", A1111Token::Number("clip_skip")),
    (
        "denoising",
        r"\d+(?:\.\d+)?",
        A1111Token::Number("denoising"),
    ),
    ("user", r".+?", A1111Token::Text("user")),
    ("vae_filename", r".+?", A1111Token::Text("vae")),
    ("image_hash", r"[0-9a-f]+", A1111Token::Text("image_hash")),
    ("none", r"", A1111Token::Text("none")),
];

static A1111_TOKEN_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\[(\w+)(?:<([^>]*)>)*\]").ok());

impl A1111Pattern {
    /// Compile a pattern. `add_number` is A1111's `save_images_add_number` (default true).
    pub fn compile(pattern: &str, add_number: bool) -> crate::Result<A1111Pattern> {
        let bad = |reason: &str| crate::Error::Pattern {
            pattern: pattern.to_string(),
            reason: reason.to_string(),
        };
        let token_re = A1111_TOKEN_RE
            .as_ref()
            .ok_or_else(|| bad("internal token regex"))?;
        let mut regex = String::from("^");
        if add_number {
            regex.push_str(r"(?P<n>\d{5})");
            if !pattern.is_empty() {
                regex.push('-');
            }
        }
        let mut groups = Vec::new();
        let mut last = 0;
        for caps in token_re.captures_iter(pattern) {
            let Some(whole) = caps.get(0) else { continue };
            regex.push_str(&regex::escape(&pattern[last..whole.start()]));
            last = whole.end();
            let token = caps.get(1).map_or("", |t| t.as_str()).to_ascii_lowercase();
            if let Some((_, re, meaning)) = A1111_TOKENS.iter().find(|(t, _, _)| *t == token) {
                let group = format!("t{}", groups.len());
                regex.push_str(&format!("(?P<{group}>{re})"));
                groups.push((group, *meaning));
            } else if token.starts_with("datetime") || token == "hasprompt" {
                let group = format!("t{}", groups.len());
                regex.push_str(&format!("(?P<{group}>.*?)"));
                let meaning = if token == "hasprompt" {
                    A1111Token::Text("hasprompt")
                } else {
                    A1111Token::Date
                };
                groups.push((group, meaning));
            } else {
                // Unknown tokens stay literally in the name.
                regex.push_str(&regex::escape(whole.as_str()));
            }
        }
        regex.push_str(&regex::escape(&pattern[last..]));
        regex.push_str(r"(?P<suffix>-before-highres-fix|-before-face-restoration|-before-color-correction|-mask-composite|-mask)?(?:-(?P<dup>\d+))?\.(?P<ext>png|jpe?g|webp|avif|gif)$");
        let compiled = Regex::new(&regex).map_err(|e| bad(&e.to_string()))?;
        Ok(A1111Pattern {
            pattern: pattern.to_string(),
            regex: compiled,
            groups,
        })
    }

    /// The pattern as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Match a base name.
    pub fn recognise(&self, name: &str) -> Option<FilenameMatch> {
        let caps = self.regex.captures(name)?;
        let row = FilenamePattern {
            id: "a1111-pattern",
            ..pat("a1111-pattern", Tool::A1111, K::Image, "", &[])
        };
        let mut m = FilenameMatch::empty(name, &row);
        m.counter = caps.name("n").and_then(|n| n.as_str().parse().ok());
        for key in ["suffix", "dup", "ext"] {
            if let Some(v) = caps.name(key) {
                m.extra.insert(key.to_string(), v.as_str().to_string());
            }
        }
        m.extra.insert("pattern".into(), self.pattern.clone());
        for (group, meaning) in &self.groups {
            let Some(value) = caps.name(group).map(|v| v.as_str()) else {
                continue;
            };
            match meaning {
                A1111Token::Seed => m.seed = Some(value.to_string()),
                A1111Token::Prompt { slug } => {
                    let len = value.chars().count();
                    m.prompt = Some(if *slug {
                        deslug(value)
                    } else {
                        value.trim().to_string()
                    });
                    m.prompt_lossy = true;
                    m.truncated = len >= 128;
                }
                A1111Token::PromptWords => {
                    m.prompt = Some(value.to_string());
                    m.prompt_lossy = true;
                    // Only the first `directories_max_prompt_words` (default 8) words are kept.
                    m.truncated = value.split_whitespace().count() >= 8;
                }
                A1111Token::Date => {
                    m.timestamp = timestamp_from_digits(value).or_else(|| Some(value.to_string()))
                }
                A1111Token::Number(key) | A1111Token::Text(key) => {
                    m.extra.insert((*key).to_string(), value.to_string());
                }
            }
        }
        Some(m)
    }
}
