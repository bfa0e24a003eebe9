//! Compiling a parsed query to a parameterised SQL condition over `images i`. User text only ever reaches SQL as
//! a bound parameter.

use rusqlite::types::Value as SqlValue;

use super::parse::{Expr, Field};
use crate::error::{Error, Result};
use crate::extract::{civil_from_days, normalise_tag};
use crate::search::{
    all_of, any_of, but_not, term, text_condition, TextField, DRIVEN_CONDITION, DRIVEN_FROM,
};

/// A SQL condition and its parameters, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condition {
    pub sql: String,
    pub params: Vec<SqlValue>,
}

fn err(column: usize, message: impl Into<String>) -> Error {
    Error::Query {
        column,
        message: message.into(),
    }
}

fn text(s: impl Into<String>) -> SqlValue {
    SqlValue::Text(s.into())
}

/// Compile an expression to one condition on `images i`. `today` is the number of days since 1970-01-01 (for
/// `date:today`, `N days ago`).
pub fn compile(expr: &Expr, today: i64) -> Result<Condition> {
    let mut c = Condition::default();
    emit(expr, today, &mut c)?;
    Ok(c)
}

/// A whole query as SQL over `images i`: where its rows come from, and the condition they meet.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The FROM clause: `images i`, or the full-text index joined to it when the query's text drives it.
    pub from: &'static str,
    /// The WHERE condition, and its parameters in order.
    pub sql: String,
    pub params: Vec<SqlValue>,
}

/// The rows of `images i` the query selects, planned for a `LIMIT`: when the query is an AND with text terms
/// (words, phrases, `prompt:`/`negative:`, a text-only OR, a negated text), those terms become one full-text
/// expression that drives the query, so a result page reads a page of index entries, not every match. Otherwise
/// this is [`compile`] over `images i`.
pub fn select(expr: &Expr, today: i64) -> Result<Selection> {
    let mut parts = Vec::new();
    flatten_and(expr, &mut parts);
    let mut positives = Vec::new();
    let mut negatives: Vec<(&Expr, String)> = Vec::new();
    let mut rest: Vec<&Expr> = Vec::new();
    for part in parts {
        match part {
            Expr::Not(inner) => match search_of(inner) {
                Some(Some(e)) => negatives.push((part, e)),
                _ => rest.push(part),
            },
            _ => match search_of(part) {
                Some(Some(e)) => positives.push(e),
                // A term without a searchable word matches everything.
                Some(None) => {}
                None => rest.push(part),
            },
        }
    }
    let mut c = Condition::default();
    let from = if positives.is_empty() {
        // FTS5 cannot start from a negation: those stay membership tests.
        rest.extend(negatives.iter().map(|(part, _)| *part));
        "images i"
    } else {
        let negs: Vec<String> = negatives.into_iter().map(|(_, e)| e).collect();
        c.sql.push_str(DRIVEN_CONDITION);
        c.params.push(text(but_not(all_of(&positives), &negs)));
        DRIVEN_FROM
    };
    for part in rest {
        if !c.sql.is_empty() {
            c.sql.push_str(" AND ");
        }
        emit(part, today, &mut c)?;
    }
    if c.sql.is_empty() {
        c.sql.push_str("TRUE");
    }
    Ok(Selection {
        from,
        sql: c.sql,
        params: c.params,
    })
}

fn flatten_and<'a>(expr: &'a Expr, out: &mut Vec<&'a Expr>) {
    match expr {
        Expr::And(parts) => parts.iter().for_each(|p| flatten_and(p, out)),
        other => out.push(other),
    }
}

/// True when a text term has a wildcard the full-text index cannot serve (anywhere but at the end).
fn inner_wildcard(value: &str, phrase: bool) -> bool {
    !phrase && value.trim_end_matches('*').contains(['*', '?'])
}

/// The full-text expression of an expression made only of text: `Some(Some(e))`; `Some(None)` when it matches
/// everything (no searchable word); `None` when it is not text only.
fn search_of(expr: &Expr) -> Option<Option<String>> {
    let text_term = |field, value: &str, phrase| {
        (!inner_wildcard(value, phrase)).then(|| term(field, value, phrase))
    };
    match expr {
        Expr::Text { text, phrase, .. } => text_term(TextField::Positive, text, *phrase),
        Expr::Field {
            field: Field::Prompt,
            value,
            quoted,
            ..
        } => text_term(TextField::Positive, value, *quoted),
        Expr::Field {
            field: Field::Negative,
            value,
            quoted,
            ..
        } => text_term(TextField::Negative, value, *quoted),
        Expr::Or(alts) => {
            let mut out = Vec::new();
            for alt in alts {
                match search_of(alt)? {
                    Some(e) => out.push(e),
                    None => return Some(None),
                }
            }
            Some(Some(any_of(&out)))
        }
        Expr::And(parts) => {
            let mut out = Vec::new();
            for part in parts {
                if let Some(e) = search_of(part)? {
                    out.push(e);
                }
            }
            Some((!out.is_empty()).then(|| all_of(&out)))
        }
        _ => None,
    }
}

fn emit(expr: &Expr, today: i64, c: &mut Condition) -> Result<()> {
    match expr {
        Expr::And(parts) | Expr::Or(parts) => {
            let op = if matches!(expr, Expr::And(_)) {
                " AND "
            } else {
                " OR "
            };
            c.sql.push('(');
            for (n, p) in parts.iter().enumerate() {
                if n > 0 {
                    c.sql.push_str(op);
                }
                emit(p, today, c)?;
            }
            c.sql.push(')');
        }
        Expr::Not(inner) => {
            // NULL-safe: "not matching" includes rows whose column is empty.
            c.sql.push_str("NOT COALESCE((");
            emit(inner, today, c)?;
            c.sql.push_str("), FALSE)");
        }
        Expr::Text {
            text: t, phrase, ..
        } => full_text(TextField::Positive, t, *phrase, c),
        Expr::Field {
            field,
            value,
            quoted,
            column,
        } => field_condition(*field, value, *quoted, *column, today, c)?,
    }
    Ok(())
}

fn full_text(field: TextField, value: &str, phrase: bool, c: &mut Condition) {
    let column = match field {
        TextField::Positive => "i.prompt",
        TextField::Negative => "i.negative",
    };
    // FTS5 handles words and word prefixes; a wildcard elsewhere falls back to LIKE.
    if inner_wildcard(value, phrase) {
        c.sql.push_str(&format!("{column} LIKE ? ESCAPE '\\'"));
        c.params.push(text(format!("%{}%", like_pattern(value))));
        return;
    }
    match text_condition(field, value, phrase) {
        Some((sql, param)) => {
            c.sql.push_str(&sql);
            c.params.push(text(param));
        }
        None => c.sql.push_str("TRUE"),
    }
}

/// A glob (`*`, `?`) as a LIKE pattern, with LIKE's own characters escaped.
fn like_pattern(glob: &str) -> String {
    let mut out = String::new();
    for ch in glob.chars() {
        match ch {
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '*' => out.push('%'),
            '?' => out.push('_'),
            other => out.push(other),
        }
    }
    out
}

/// `column` equal to one of `a|b|c` (case-insensitive: columns hold lower case), with globs. A trailing `*` only
/// becomes an index range.
fn string_in(column: &str, value: &str, c: &mut Condition) {
    let alts: Vec<String> = value
        .split('|')
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .collect();
    if alts.is_empty() {
        c.sql.push_str("FALSE");
        return;
    }
    c.sql.push('(');
    for (n, alt) in alts.iter().enumerate() {
        if n > 0 {
            c.sql.push_str(" OR ");
        }
        let stem = alt.trim_end_matches('*');
        if !alt.contains(['*', '?']) {
            c.sql.push_str(&format!("{column} = ?"));
            c.params.push(text(alt.clone()));
        } else if !stem.contains(['*', '?']) && !stem.is_empty() {
            c.sql.push_str(&format!("({column} >= ? AND {column} < ?)"));
            c.params.push(text(stem));
            c.params.push(text(format!("{stem}\u{10FFFF}")));
        } else {
            c.sql.push_str(&format!("{column} LIKE ? ESCAPE '\\'"));
            c.params.push(text(like_pattern(alt)));
        }
    }
    c.sql.push(')');
}

/// Comparisons: `N`, `a..b`, `a..`, `..b`, `>=N`, `<N`, `a|b`.
fn numeric(column: &str, value: &str, col: usize, c: &mut Condition) -> Result<()> {
    let num = |s: &str| -> Result<SqlValue> {
        let s = s.trim();
        if let Ok(i) = s.parse::<i64>() {
            return Ok(SqlValue::Integer(i));
        }
        s.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(SqlValue::Real)
            .ok_or_else(|| err(col, format!("`{s}` is not a number")))
    };
    let alts: Vec<&str> = value.split('|').collect();
    c.sql.push('(');
    for (n, alt) in alts.iter().enumerate() {
        if n > 0 {
            c.sql.push_str(" OR ");
        }
        if let Some((lo, hi)) = alt.split_once("..") {
            match (lo.is_empty(), hi.is_empty()) {
                (true, true) => return Err(err(col, "a range needs at least one end")),
                (false, true) => {
                    c.sql.push_str(&format!("{column} >= ?"));
                    c.params.push(num(lo)?);
                }
                (true, false) => {
                    c.sql.push_str(&format!("{column} <= ?"));
                    c.params.push(num(hi)?);
                }
                (false, false) => {
                    c.sql.push_str(&format!("{column} BETWEEN ? AND ?"));
                    c.params.push(num(lo)?);
                    c.params.push(num(hi)?);
                }
            }
            continue;
        }
        let (op, rest) = [">=", "<=", "<>", "!=", ">", "<", "="]
            .iter()
            .find_map(|op| alt.strip_prefix(op).map(|r| (*op, r)))
            .unwrap_or(("=", alt));
        let op = if op == "!=" { "<>" } else { op };
        c.sql.push_str(&format!("{column} {op} ?"));
        c.params.push(num(rest)?);
    }
    c.sql.push(')');
    Ok(())
}

/// `column` (text `YYYY-MM-DD`) within a date expression.
fn date(value: &str, col: usize, today: i64, c: &mut Condition) -> Result<()> {
    let (lo, hi) = if let Some((a, b)) = value.split_once("..") {
        let lo = if a.is_empty() {
            None
        } else {
            Some(day_range(a, col, today)?.0)
        };
        let hi = if b.is_empty() {
            None
        } else {
            Some(day_range(b, col, today)?.1)
        };
        (lo, hi)
    } else if let Some(rest) = value.strip_prefix(">=").or(value.strip_prefix("since ")) {
        (Some(day_range(rest, col, today)?.0), None)
    } else if let Some(rest) = value.strip_prefix("<=") {
        (None, Some(day_range(rest, col, today)?.1))
    } else if let Some(rest) = value.strip_prefix('>') {
        (Some(next_day(&day_range(rest, col, today)?.1)), None)
    } else if let Some(rest) = value.strip_prefix('<').or(value.strip_prefix("before ")) {
        (None, Some(prev_day(&day_range(rest, col, today)?.0)))
    } else {
        let (a, b) = day_range(value, col, today)?;
        (Some(a), Some(b))
    };
    match (lo, hi) {
        (Some(a), Some(b)) => {
            c.sql.push_str("i.created_day BETWEEN ? AND ?");
            c.params.extend([text(a), text(b)]);
        }
        (Some(a), None) => {
            c.sql.push_str("i.created_day >= ?");
            c.params.push(text(a));
        }
        (None, Some(b)) => {
            c.sql.push_str("i.created_day <= ?");
            c.params.push(text(b));
        }
        (None, None) => return Err(err(col, "a date range needs at least one end")),
    }
    Ok(())
}

fn ymd(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn days_of(y: i64, m: i64, d: i64) -> i64 {
    // Inverse of civil_from_days (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn next_day(day: &str) -> String {
    shift(day, 1)
}

fn prev_day(day: &str) -> String {
    shift(day, -1)
}

fn shift(day: &str, by: i64) -> String {
    let parts: Vec<i64> = day.split('-').filter_map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [y, m, d] => ymd(days_of(*y, *m, *d) + by),
        _ => day.to_string(),
    }
}

/// The first and last day a date word covers: `YYYY-MM-DD`, `YYYY-MM`, `YYYY`, `today`, `yesterday`,
/// `N days ago` / `N weeks ago` / `N months ago` (also written `N-days-ago`).
fn day_range(word: &str, col: usize, today: i64) -> Result<(String, String)> {
    let w = word.trim().to_ascii_lowercase().replace('-', " ");
    let bad = || {
        err(
            col,
            format!("`{word}` is not a date (YYYY-MM-DD, today, N days ago)"),
        )
    };
    match w.as_str() {
        "today" => return Ok((ymd(today), ymd(today))),
        "yesterday" => return Ok((ymd(today - 1), ymd(today - 1))),
        _ => {}
    }
    let parts: Vec<&str> = w.split_whitespace().collect();
    if let [n, unit, "ago"] = parts.as_slice() {
        let n: i64 = n.parse().map_err(|_| bad())?;
        let per = match unit.trim_end_matches('s') {
            "day" => 1,
            "week" => 7,
            "month" => 30,
            "year" => 365,
            _ => return Err(bad()),
        };
        let day = ymd(today - n.saturating_mul(per).min(1_000_000));
        return Ok((day.clone(), day));
    }
    // Numeric dates keep their dashes.
    let nums: Vec<&str> = word.trim().split('-').collect();
    let parse = |s: &str, len: usize| (s.len() == len).then(|| s.parse::<i64>().ok()).flatten();
    match nums.as_slice() {
        [y] => {
            let y = parse(y, 4).ok_or_else(bad)?;
            Ok((format!("{y:04}-01-01"), format!("{y:04}-12-31")))
        }
        [y, m] => {
            let (y, m) = (parse(y, 4).ok_or_else(bad)?, parse(m, 2).ok_or_else(bad)?);
            if !(1..=12).contains(&m) {
                return Err(bad());
            }
            let last = days_of(
                if m == 12 { y + 1 } else { y },
                if m == 12 { 1 } else { m + 1 },
                1,
            ) - 1;
            Ok((format!("{y:04}-{m:02}-01"), ymd(last)))
        }
        [y, m, d] => {
            let (y, m, d) = (
                parse(y, 4).ok_or_else(bad)?,
                parse(m, 2).ok_or_else(bad)?,
                parse(d, 2).ok_or_else(bad)?,
            );
            if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
                return Err(bad());
            }
            let day = format!("{y:04}-{m:02}-{d:02}");
            Ok((day.clone(), day))
        }
        _ => Err(bad()),
    }
}

/// `size:WxH` (`?` = any), `size:W:H` ratio (2% tolerance, for bucketed sizes), landscape/portrait/square.
fn size(value: &str, col: usize, c: &mut Condition) -> Result<()> {
    let v = value.trim().to_ascii_lowercase();
    match v.as_str() {
        "landscape" => c.sql.push_str("i.width > i.height"),
        "portrait" => c.sql.push_str("i.width < i.height"),
        "square" => c.sql.push_str("i.width = i.height"),
        _ => {
            let dim = |s: &str| -> Result<Option<i64>> {
                match s {
                    "?" | "*" | "" => Ok(None),
                    n => n
                        .parse::<i64>()
                        .map(Some)
                        .map_err(|_| err(col, format!("`{n}` is not a size in pixels"))),
                }
            };
            if let Some((w, h)) = v.split_once('x') {
                let (w, h) = (dim(w)?, dim(h)?);
                let mut parts = Vec::new();
                if let Some(w) = w {
                    parts.push("i.width = ?");
                    c.params.push(SqlValue::Integer(w));
                }
                if let Some(h) = h {
                    parts.push("i.height = ?");
                    c.params.push(SqlValue::Integer(h));
                }
                c.sql.push_str(&if parts.is_empty() {
                    "i.width IS NOT NULL".to_string()
                } else {
                    format!("({})", parts.join(" AND "))
                });
            } else if let Some((w, h)) = v.split_once(':') {
                let (w, h) = match (dim(w)?, dim(h)?) {
                    (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
                    _ => return Err(err(col, "a ratio needs two positive numbers, e.g. 16:9")),
                };
                c.sql
                    .push_str("ABS(i.width * ? - i.height * ?) <= 0.02 * i.height * ?");
                c.params.extend([
                    SqlValue::Integer(h),
                    SqlValue::Integer(w),
                    SqlValue::Integer(w),
                ]);
            } else {
                return Err(err(
                    col,
                    "size is WxH (`?` for any), W:H, landscape, portrait or square",
                ));
            }
        }
    }
    Ok(())
}

fn exists(sql: &str, c: &mut Condition) {
    c.sql.push_str(sql);
}

fn field_condition(
    field: Field,
    value: &str,
    quoted: bool,
    col: usize,
    today: i64,
    c: &mut Condition,
) -> Result<()> {
    match field {
        Field::Prompt => full_text(TextField::Positive, value, quoted, c),
        Field::Negative => full_text(TextField::Negative, value, quoted, c),
        Field::Seed => {
            if value.contains(['*', '?']) {
                c.sql.push_str("i.seed LIKE ? ESCAPE '\\'");
                c.params.push(text(like_pattern(value)));
            } else if value.contains("..") || value.starts_with(['<', '>']) {
                numeric("CAST(i.seed AS INTEGER)", value, col, c)?;
            } else {
                string_in("i.seed", value, c);
            }
        }
        Field::Steps => numeric("i.steps", value, col, c)?,
        Field::Cfg => numeric("i.cfg", value, col, c)?,
        Field::Width => numeric("i.width", value, col, c)?,
        Field::Height => numeric("i.height", value, col, c)?,
        Field::Sampler => string_in("i.sampler", value, c),
        Field::Scheduler => string_in("i.scheduler", value, c),
        Field::Model => string_in("i.model", value, c),
        Field::ModelHash => string_in("i.model_hash", value, c),
        Field::Generator => string_in("i.generator", value, c),
        Field::Template => {
            if value.contains(['*', '?']) {
                c.sql.push_str("i.template LIKE ? ESCAPE '\\'");
                c.params.push(text(like_pattern(value)));
            } else {
                c.sql.push_str("i.template = ?");
                c.params.push(text(value));
            }
        }
        Field::Size => size(value, col, c)?,
        Field::Date => date(value, col, today, c)?,
        Field::Rating => {
            if value.eq_ignore_ascii_case("none") {
                c.sql.push_str("i.rating IS NULL");
            } else {
                numeric("i.rating", value, col, c)?;
            }
        }
        // Membership in a set read through the side table's index (not a correlated EXISTS, which would
        // make a rare tag read every image).
        Field::Lora => {
            exists("i.id IN (SELECT l.image_id FROM loras l WHERE ", c);
            string_in("l.name", value, c);
            c.sql.push(')');
        }
        Field::Tag => {
            exists("i.id IN (SELECT t.image_id FROM tags t WHERE ", c);
            string_in("t.tag", &normalise_tag(value), c);
            c.sql.push(')');
        }
        Field::Path => {
            // A plain value is a prefix of the path relative to the library root (a folder, like git's
            // pathspecs), read as a range of the path index; a glob matches the whole path (`*part*`: anywhere).
            c.sql
                .push_str("i.id IN (SELECT f.image_id FROM files f WHERE f.status = 'ok' AND ");
            if value.contains(['*', '?']) {
                c.sql.push_str("f.path LIKE ? ESCAPE '\\')");
                c.params.push(text(like_pattern(value)));
            } else {
                let prefix = value.trim_start_matches("./");
                c.sql.push_str("f.path >= ? AND f.path < ?)");
                c.params.push(text(prefix));
                c.params.push(text(format!("{prefix}\u{10FFFF}")));
            }
        }
        Field::Id => {
            let v = value.trim().to_ascii_lowercase();
            let v = if v.starts_with("sha256:") {
                v
            } else {
                format!("sha256:{v}")
            };
            c.sql.push_str(
                "(i.content_id LIKE ? ESCAPE '\\' OR i.pixel_id LIKE ? ESCAPE '\\' OR i.data_id LIKE ? ESCAPE '\\')",
            );
            let p = format!("{}%", like_pattern(&v));
            c.params.extend([text(p.clone()), text(p.clone()), text(p)]);
        }
        Field::Has => {
            let sql = match value.to_ascii_lowercase().as_str() {
                "parents" | "parent" => "EXISTS (SELECT 1 FROM edges e WHERE e.child_id = i.id)",
                "children" | "child" => {
                    "(EXISTS (SELECT 1 FROM edges e WHERE e.parent_ref = i.content_id) \
                     OR EXISTS (SELECT 1 FROM edges e WHERE e.parent_ref = i.pixel_id) \
                     OR EXISTS (SELECT 1 FROM edges e WHERE e.parent_ref = i.data_id))"
                }
                "sequence" => "i.sequence_id IS NOT NULL",
                "run" => "i.run_id IS NOT NULL",
                "template" => "i.template IS NOT NULL",
                "record" | "stemma" => "i.source IN ('stemma', 'sidecar')",
                "metadata" => "i.source IS NOT NULL",
                "prompt" => "i.prompt IS NOT NULL",
                "negative" => "i.negative IS NOT NULL",
                "lora" | "loras" => "EXISTS (SELECT 1 FROM loras l WHERE l.image_id = i.id)",
                "tags" | "tag" => "EXISTS (SELECT 1 FROM tags t WHERE t.image_id = i.id)",
                "rating" => "i.rating IS NOT NULL",
                other => {
                    return Err(err(
                        col,
                        format!(
                            "has:{other}: expected parents, children, sequence, run, template, record, metadata, \
                             prompt, negative, lora, tags or rating"
                        ),
                    ))
                }
            };
            c.sql.push_str(sql);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn date_words_cover_their_days() {
        let today = days_of(2024, 3, 15);
        assert_eq!(day_range("today", 1, today).unwrap().0, "2024-03-15");
        assert_eq!(day_range("3 days ago", 1, today).unwrap().0, "2024-03-12");
        assert_eq!(day_range("2-weeks-ago", 1, today).unwrap().0, "2024-03-01");
        assert_eq!(
            day_range("2024-02", 1, today).unwrap(),
            ("2024-02-01".into(), "2024-02-29".into())
        );
        assert_eq!(
            day_range("2023", 1, today).unwrap(),
            ("2023-01-01".into(), "2023-12-31".into())
        );
        assert!(day_range("2024-13-01", 5, today).is_err());
        assert_eq!(next_day("2024-02-29"), "2024-03-01");
    }

    #[test]
    fn user_text_is_only_ever_a_parameter() {
        let expr =
            crate::query::parse::parse("model:\"x' OR 1=1 --\" tag:\"'; DROP TABLE images\"")
                .unwrap();
        let c = compile(&expr, 0).unwrap();
        assert!(!c.sql.contains("DROP"), "{}", c.sql);
        assert!(!c.sql.contains("1=1"), "{}", c.sql);
        assert_eq!(c.params.len(), 2);
    }
}
