//! Full-text search over prompts: the one SQLite-specific part of the catalog (FTS5). A PostgreSQL catalog would
//! put a `tsvector` column and a GIN index behind the same two functions.

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
    Ok(())
}

/// Which prompt a text search looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Positive,
    Negative,
}

/// A condition on `images` (aliased `i`) true when the prompt contains `text`: a word, a word prefix (`text`
/// ends with `*`), or a quoted phrase (`phrase`). Returns the SQL and its one parameter; `None` when the text
/// has no searchable word (only punctuation), which the caller treats as "matches everything".
pub fn text_condition(field: TextField, text: &str, phrase: bool) -> Option<(String, String)> {
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
    let expr = format!("{column} : {quoted}{}", if prefix { "*" } else { "" });
    Some((
        "i.id IN (SELECT rowid FROM prompt_fts WHERE prompt_fts MATCH ?)".to_string(),
        expr,
    ))
}

/// Rebuild the full-text index from `images` (after a bulk load that bypassed the triggers).
pub fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute("INSERT INTO prompt_fts (prompt_fts) VALUES ('rebuild')", [])?;
    Ok(())
}
