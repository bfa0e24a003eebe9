//! Full-text search over prompts: the one SQLite-specific part of the catalog (FTS5). A PostgreSQL catalog would
//! put a `tsvector` column and a GIN index behind the same functions.
//!
//! A query's text terms become one FTS5 expression ([`term`], [`all_of`], [`any_of`], [`but_not`]). When the
//! query is an AND whose parts include text, that expression *drives* the query ([`DRIVEN_FROM`],
//! [`DRIVEN_CONDITION`]): rows come from the full-text index in id order, the other conditions filter them, and
//! a `LIMIT` stops the index walk early instead of collecting every match first. Text nested under OR or NOT
//! is a membership test ([`MEMBER_CONDITION`]).

use rusqlite::Connection;

use crate::error::Result;

/// Create the search structures a schema version needs (called inside that version's migration transaction).
pub fn migrate(conn: &Connection, version: i64) -> Result<()> {
    if version == 1 {
        // External content: the text lives once, in `images`; triggers keep the index in step.
        conn.execute_batch(
            r#"
CREATE VIRTUAL TABLE prompt_fts USING fts5(
    prompt, negative, content = 'images', content_rowid = 'id', tokenize = 'unicode61'
);
CREATE TRIGGER images_fts_insert AFTER INSERT ON images BEGIN
    INSERT INTO prompt_fts (rowid, prompt, negative) VALUES (new.id, new.prompt, new.negative);
END;
CREATE TRIGGER images_fts_delete AFTER DELETE ON images BEGIN
    INSERT INTO prompt_fts (prompt_fts, rowid, prompt, negative) VALUES ('delete', old.id, old.prompt, old.negative);
END;
CREATE TRIGGER images_fts_update AFTER UPDATE OF prompt, negative ON images BEGIN
    INSERT INTO prompt_fts (prompt_fts, rowid, prompt, negative) VALUES ('delete', old.id, old.prompt, old.negative);
    INSERT INTO prompt_fts (rowid, prompt, negative) VALUES (new.id, new.prompt, new.negative);
END;
"#,
        )?;
    }
    if version == 3 {
        // A virtual table written from a trigger flushes its pending index at every row (each trigger step is a
        // savepoint): new rows are indexed by [`index_new`] from the writer instead, in the same transaction.
        conn.execute_batch("DROP TRIGGER IF EXISTS images_fts_insert;")?;
    }
    Ok(())
}

/// The triggers that keep the index in step with changed and deleted rows (as migration 1 made them).
const ROW_TRIGGERS: &str = r#"
CREATE TRIGGER IF NOT EXISTS images_fts_delete AFTER DELETE ON images BEGIN
    INSERT INTO prompt_fts (prompt_fts, rowid, prompt, negative) VALUES ('delete', old.id, old.prompt, old.negative);
END;
CREATE TRIGGER IF NOT EXISTS images_fts_update AFTER UPDATE OF prompt, negative ON images BEGIN
    INSERT INTO prompt_fts (prompt_fts, rowid, prompt, negative) VALUES ('delete', old.id, old.prompt, old.negative);
    INSERT INTO prompt_fts (rowid, prompt, negative) VALUES (new.id, new.prompt, new.negative);
END;
"#;

/// Stop following row changes (a bulk load indexes nothing row by row: a 'delete' of a row the index never
/// held would corrupt it). [`rebuild`] and [`resume_row_triggers`] end the pause.
pub fn suspend_row_triggers(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS images_fts_update; DROP TRIGGER IF EXISTS images_fts_delete;",
    )?;
    Ok(())
}

/// Follow row changes again (after [`suspend_row_triggers`]).
pub fn resume_row_triggers(conn: &Connection) -> Result<()> {
    conn.execute_batch(ROW_TRIGGERS)?;
    Ok(())
}

/// Index the prompts of a row just inserted into `images` (in the inserting transaction).
pub fn index_new(
    conn: &Connection,
    id: i64,
    prompt: Option<&str>,
    negative: Option<&str>,
) -> Result<()> {
    conn.prepare_cached("INSERT INTO prompt_fts (rowid, prompt, negative) VALUES (?1, ?2, ?3)")?
        .execute(rusqlite::params![id, prompt, negative])?;
    Ok(())
}

/// Which prompt a text search looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Positive,
    Negative,
}

/// The rows of `images i` that a full-text expression selects, when it drives the query: the FROM clause, and
/// the condition (its one parameter is the expression) that goes first in the WHERE clause.
pub const DRIVEN_FROM: &str = "prompt_fts JOIN images i ON i.id = prompt_fts.rowid";
/// See [`DRIVEN_FROM`].
pub const DRIVEN_CONDITION: &str = "prompt_fts MATCH ?";
/// A condition on `images i` true when the image's prompts match a full-text expression (its one parameter).
pub const MEMBER_CONDITION: &str =
    "i.id IN (SELECT rowid FROM prompt_fts WHERE prompt_fts MATCH ?)";

/// The full-text expression of one text term: a word, a word prefix (`text` ends with `*`), or a quoted phrase
/// (`phrase`), in one prompt. `None` when the text has no searchable word (only punctuation), which the caller
/// treats as "matches everything".
pub fn term(field: TextField, text: &str, phrase: bool) -> Option<String> {
    let prefix = !phrase && text.ends_with('*');
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    let column = match field {
        TextField::Positive => "prompt",
        TextField::Negative => "negative",
    };
    // Every word is passed as an FTS5 string (quotes doubled), so no user text is read as FTS5 syntax.
    let quoted = format!("\"{}\"", words.join(" ").replace('"', "\"\""));
    Some(format!(
        "{column} : {quoted}{}",
        if prefix { "*" } else { "" }
    ))
}

fn joined(parts: &[String], op: &str) -> String {
    parts
        .iter()
        .map(|p| format!("({p})"))
        .collect::<Vec<_>>()
        .join(op)
}

/// Every expression matches.
pub fn all_of(parts: &[String]) -> String {
    joined(parts, " AND ")
}

/// At least one expression matches.
pub fn any_of(parts: &[String]) -> String {
    joined(parts, " OR ")
}

/// `positive` matches and none of `negatives` does (FTS5's NOT is binary and binds tighter than AND, hence the
/// explicit nesting).
pub fn but_not(positive: String, negatives: &[String]) -> String {
    negatives
        .iter()
        .fold(positive, |acc, n| format!("({acc}) NOT ({n})"))
}

/// A condition on `images i` true when the prompt contains `text` (see [`term`]): the SQL and its parameter.
pub fn text_condition(field: TextField, text: &str, phrase: bool) -> Option<(String, String)> {
    term(field, text, phrase).map(|expr| (MEMBER_CONDITION.to_string(), expr))
}

/// Build the full-text index again from `images` (after a bulk load that did not index row by row); whatever
/// the index held is replaced.
pub fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute("INSERT INTO prompt_fts (prompt_fts) VALUES ('rebuild')", [])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_never_becomes_fts_syntax() {
        assert_eq!(
            term(TextField::Positive, "NOT \"x\" OR y*", false).as_deref(),
            Some("prompt : \"NOT x OR y\"*")
        );
        assert_eq!(term(TextField::Negative, "--", false), None);
        assert_eq!(
            but_not(all_of(&["a".into(), "b".into()]), &["c".into(), "d".into()]),
            "(((a) AND (b)) NOT (c)) NOT (d)"
        );
        assert_eq!(any_of(&["a".into(), "b".into()]), "(a) OR (b)");
    }
}
