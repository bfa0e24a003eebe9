//! The query language: a tokenizer and a recursive-descent parser. Every error carries the 1-based column of the
//! character where the problem is.
//!
//! ```text
//! query   := or
//! or      := and ("OR" and)*
//! and     := unary (["AND"] unary)*          juxtaposition is AND
//! unary   := ("NOT" | "-") unary | primary
//! primary := "(" or ")" | field ":" value | word | "quoted phrase"
//! ```

use crate::error::{Error, Result};

/// A typed field of the query language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Prompt,
    Negative,
    Seed,
    Steps,
    Cfg,
    Sampler,
    Scheduler,
    Model,
    ModelHash,
    Lora,
    Size,
    Width,
    Height,
    Date,
    Path,
    Generator,
    Tag,
    Rating,
    Has,
    Template,
    Id,
}

/// Field names and aliases (Diffusion Toolkit's spellings are accepted too).
pub const FIELDS: &[(&str, Field)] = &[
    ("prompt", Field::Prompt),
    ("negative", Field::Negative),
    ("negative_prompt", Field::Negative),
    ("seed", Field::Seed),
    ("steps", Field::Steps),
    ("cfg", Field::Cfg),
    ("cfg_scale", Field::Cfg),
    ("sampler", Field::Sampler),
    ("scheduler", Field::Scheduler),
    ("model", Field::Model),
    ("model_hash", Field::ModelHash),
    ("hash", Field::ModelHash),
    ("lora", Field::Lora),
    ("size", Field::Size),
    ("width", Field::Width),
    ("height", Field::Height),
    ("date", Field::Date),
    ("path", Field::Path),
    ("generator", Field::Generator),
    ("tag", Field::Tag),
    ("rating", Field::Rating),
    ("has", Field::Has),
    ("template", Field::Template),
    ("id", Field::Id),
];

fn field_named(name: &str) -> Option<Field> {
    let lower = name.to_ascii_lowercase();
    FIELDS.iter().find(|(n, _)| *n == lower).map(|(_, f)| *f)
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// Free text in the prompt: a word (`*` allowed) or a quoted phrase.
    Text {
        text: String,
        phrase: bool,
        column: usize,
    },
    /// `field:value`; `column` is where the value starts.
    Field {
        field: Field,
        value: String,
        quoted: bool,
        column: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Or,
    And,
    Not,
    Word(String),
    Phrase(String),
    Field(Field, String, bool, usize),
}

fn err(column: usize, message: impl Into<String>) -> Error {
    Error::Query {
        column,
        message: message.into(),
    }
}

/// Read a quoted string starting at `chars[i] == '"'`; returns the text and the index after the closing quote.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize)> {
    let mut out = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                out.push(chars[i + 1]);
                i += 2;
            }
            '"' => return Ok((out, i + 1)),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err(err(start + 1, "unterminated quote"))
}

fn is_break(c: char) -> bool {
    c.is_whitespace() || c == '(' || c == ')'
}

fn tokenize(input: &str) -> Result<Vec<(Tok, usize)>> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push((Tok::Open, col));
            i += 1;
        } else if c == ')' {
            out.push((Tok::Close, col));
            i += 1;
        } else if c == '-'
            && chars
                .get(i + 1)
                .is_some_and(|n| !n.is_whitespace() && *n != ')')
        {
            out.push((Tok::Not, col));
            i += 1;
        } else if c == '"' {
            let (text, next) = quoted(&chars, i)?;
            out.push((Tok::Phrase(text), col));
            i = next;
        } else {
            let start = i;
            while i < chars.len() && !is_break(chars[i]) && chars[i] != ':' && chars[i] != '"' {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if i < chars.len() && chars[i] == ':' {
                let field = field_named(&word).ok_or_else(|| {
                    let known: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
                    err(
                        col,
                        format!("unknown field `{word}` (fields: {})", known.join(", ")),
                    )
                })?;
                i += 1;
                // A space may follow the colon (`seed: 5`), as in Diffusion Toolkit.
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                let value_col = i + 1;
                if i < chars.len() && chars[i] == '"' {
                    let (text, next) = quoted(&chars, i)?;
                    out.push((Tok::Field(field, text, true, value_col), col));
                    i = next;
                } else {
                    let vstart = i;
                    while i < chars.len() && !is_break(chars[i]) {
                        i += 1;
                    }
                    let value: String = chars[vstart..i].iter().collect();
                    if value.is_empty() {
                        return Err(err(value_col, format!("`{word}:` needs a value")));
                    }
                    out.push((Tok::Field(field, value, false, value_col), col));
                }
            } else {
                let tok = match word.as_str() {
                    "OR" => Tok::Or,
                    "AND" => Tok::And,
                    "NOT" => Tok::Not,
                    _ => Tok::Word(word),
                };
                out.push((tok, col));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    depth: usize,
}

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn column(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(_, c)| *c)
    }

    fn or(&mut self) -> Result<Expr> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr> {
        let mut parts = vec![self.unary()?];
        loop {
            match self.peek() {
                None | Some(Tok::Or) | Some(Tok::Close) => break,
                Some(Tok::And) => {
                    self.pos += 1;
                    parts.push(self.unary()?);
                }
                Some(_) => parts.push(self.unary()?),
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(self.column(), "query nested too deeply"));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Expr> {
        let column = self.column();
        let Some((tok, col)) = self.toks.get(self.pos).cloned() else {
            return Err(err(column, "expected a search term"));
        };
        self.pos += 1;
        match tok {
            Tok::Open => {
                self.enter()?;
                let inner = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Tok::Close) {
                    return Err(err(
                        self.column(),
                        format!("expected `)` to close the `(` at column {col}"),
                    ));
                }
                self.pos += 1;
                Ok(inner)
            }
            Tok::Close => Err(err(col, "unexpected `)`")),
            Tok::Or | Tok::And => Err(err(col, "expected a search term before this operator")),
            Tok::Not => Err(err(col, "expected a search term after NOT")),
            Tok::Word(text) => Ok(Expr::Text {
                text,
                phrase: false,
                column: col,
            }),
            Tok::Phrase(text) => Ok(Expr::Text {
                text,
                phrase: true,
                column: col,
            }),
            Tok::Field(field, value, quoted, column) => Ok(Expr::Field {
                field,
                value,
                quoted,
                column,
            }),
        }
    }
}

/// Parse a query. An empty query is an error (use no query to list everything).
pub fn parse(input: &str) -> Result<Expr> {
    let toks = tokenize(input)?;
    let end = input.chars().count() + 1;
    let mut parser = Parser {
        toks,
        pos: 0,
        end,
        depth: 0,
    };
    let expr = parser.or()?;
    if parser.pos < parser.toks.len() {
        return Err(err(parser.column(), "unexpected `)`"));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn text(t: &str, column: usize) -> Expr {
        Expr::Text {
            text: t.into(),
            phrase: false,
            column,
        }
    }

    #[test]
    fn juxtaposition_is_and_and_or_binds_looser() {
        let e = parse("cat dog OR bird").unwrap();
        assert_eq!(
            e,
            Expr::Or(vec![
                Expr::And(vec![text("cat", 1), text("dog", 5)]),
                text("bird", 12)
            ])
        );
    }

    #[test]
    fn fields_phrases_negation_and_parentheses() {
        let e = parse(r#"-(sampler:"DPM++ 2M" OR steps:20..40) "red hat" NOT tag: fav"#).unwrap();
        let Expr::And(parts) = e else { panic!() };
        assert_eq!(parts.len(), 3);
        let Expr::Not(inner) = &parts[0] else {
            panic!()
        };
        let Expr::Or(alts) = inner.as_ref() else {
            panic!()
        };
        assert_eq!(
            alts[0],
            Expr::Field {
                field: Field::Sampler,
                value: "DPM++ 2M".into(),
                quoted: true,
                column: 11
            }
        );
        assert_eq!(
            parts[1],
            Expr::Text {
                text: "red hat".into(),
                phrase: true,
                column: 39
            }
        );
        assert!(
            matches!(&parts[2], Expr::Not(f) if matches!(f.as_ref(), Expr::Field { field: Field::Tag, value, .. } if value == "fav"))
        );
    }

    #[test]
    fn errors_name_the_column() {
        let cases = [
            ("cat (dog", 9, "expected `)`"),
            ("cat dog)", 8, "unexpected `)`"),
            ("sampeler:euler", 1, "unknown field"),
            ("a \"open", 3, "unterminated"),
            ("OR cat", 1, "before this operator"),
            ("cat AND", 8, "expected a search term"),
            ("seed:", 6, "needs a value"),
        ];
        for (q, col, msg) in cases {
            match parse(q) {
                Err(Error::Query { column, message }) => {
                    assert_eq!(column, col, "{q}: {message}");
                    assert!(message.contains(msg), "{q}: {message}");
                }
                other => panic!("{q}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_dash_inside_a_word_is_not_negation() {
        assert_eq!(parse("sci-fi").unwrap(), text("sci-fi", 1));
        assert_eq!(parse("-cat").unwrap(), Expr::Not(Box::new(text("cat", 2))));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let q = "(".repeat(10_000) + "cat" + &")".repeat(10_000);
        assert!(matches!(parse(&q), Err(Error::Query { .. })));
        let q = "NOT ".repeat(10_000) + "cat";
        assert!(matches!(parse(&q), Err(Error::Query { .. })));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_input(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_query_shaped_input(s in "[a-z:\"()\\- .|*<>=0-9]{0,60}|(seed|steps|size|date|tag|has):[ -~]{0,12}") {
            if let Err(Error::Query { column, .. }) = parse(&s) {
                proptest::prop_assert!(column >= 1 && column <= s.chars().count() + 1);
            }
        }
    }
}
