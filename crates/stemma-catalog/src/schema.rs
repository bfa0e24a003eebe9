//! The catalog's tables and their migrations. The SQL here is kept portable (plain types, `ON CONFLICT`, no
//! SQLite pragmas): a team catalog on PostgreSQL is planned. SQLite-only parts (FTS5) live in [`crate::search`].
//!
//! The schema version is kept in the `catalog_meta` table (not `PRAGMA user_version`, which PostgreSQL lacks).
//! Each migration runs in one transaction with the version bump, so a catalog is always at a whole version.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::error::Result;

/// One step of the schema: the version it produces and the statements that get there.
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// Every migration, oldest first. Never edit a shipped one: add the next.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: r#"
CREATE TABLE catalog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- One row per distinct image (by content id), wherever and however often it is stored.
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    content_id TEXT NOT NULL UNIQUE,
    pixel_id TEXT,
    data_id TEXT,
    ids_stored INTEGER NOT NULL DEFAULT 0,
    format TEXT,
    width INTEGER,
    height INTEGER,
    source TEXT,
    generator TEXT,
    prompt TEXT,
    negative TEXT,
    seed TEXT,
    steps INTEGER,
    cfg REAL,
    sampler TEXT,
    model TEXT,
    created TEXT,
    record_json TEXT,
    rating INTEGER
);
CREATE INDEX images_pixel_id ON images (pixel_id);
CREATE INDEX images_data_id ON images (data_id);
-- Every path an image was seen at; a file that could not be read has no image.
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    image_id INTEGER REFERENCES images (id),
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    scanned_at INTEGER NOT NULL
);
CREATE INDEX files_image ON files (image_id);
CREATE TABLE edges (
    child_id INTEGER NOT NULL REFERENCES images (id),
    ord INTEGER NOT NULL,
    parent_ref TEXT,
    relation TEXT NOT NULL,
    hint TEXT,
    PRIMARY KEY (child_id, ord)
);
CREATE INDEX edges_parent ON edges (parent_ref);
CREATE TABLE tags (
    image_id INTEGER NOT NULL REFERENCES images (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (image_id, tag)
);
CREATE INDEX tags_tag ON tags (tag);
"#,
    },
    Migration {
        version: 2,
        sql: r#"
ALTER TABLE images ADD COLUMN scheduler TEXT;
ALTER TABLE images ADD COLUMN model_hash TEXT;
ALTER TABLE images ADD COLUMN template TEXT;
ALTER TABLE images ADD COLUMN negative_template TEXT;
ALTER TABLE images ADD COLUMN run_id TEXT;
ALTER TABLE images ADD COLUMN run_index INTEGER;
ALTER TABLE images ADD COLUMN sequence_id TEXT;
ALTER TABLE images ADD COLUMN frame REAL;
ALTER TABLE images ADD COLUMN created_day TEXT;
CREATE TABLE loras (
    image_id INTEGER NOT NULL REFERENCES images (id),
    name TEXT NOT NULL,
    weight REAL,
    PRIMARY KEY (image_id, name)
);
CREATE INDEX loras_name ON loras (name);
CREATE INDEX images_seed ON images (seed);
CREATE INDEX images_steps ON images (steps);
CREATE INDEX images_cfg ON images (cfg);
CREATE INDEX images_sampler ON images (sampler);
CREATE INDEX images_model ON images (model);
CREATE INDEX images_generator ON images (generator);
CREATE INDEX images_size ON images (width, height);
CREATE INDEX images_created ON images (created_day);
CREATE INDEX images_rating ON images (rating);
CREATE INDEX images_template ON images (template);
CREATE INDEX images_run ON images (run_id);
CREATE INDEX images_sequence ON images (sequence_id, frame);
-- Version 1 did not keep templates, runs or sequences: read every file again on the next scan.
UPDATE files SET size = -1;
"#,
    },
    // Version 3 changes only how the full-text index is written (see `search::migrate`).
    Migration {
        version: 3,
        sql: "",
    },
    // Version 4: the stored record moves out of `images` into its own table. Rows of `images` stay small, so a
    // query that checks a field of thousands of rows, and every index build, reads far fewer pages.
    Migration {
        version: 4,
        sql: r#"
CREATE TABLE records (
    image_id INTEGER PRIMARY KEY REFERENCES images (id),
    record_json TEXT NOT NULL
);
INSERT INTO records (image_id, record_json) SELECT id, record_json FROM images WHERE record_json IS NOT NULL;
ALTER TABLE images DROP COLUMN record_json;
"#,
    },
    // Version 5: indexes of columns most images leave empty (a pixel id only when stamped, ratings, templates,
    // runs, sequences) hold only the rows that have a value. `x = ?`, ranges and `x IS NOT NULL` imply the
    // condition, so every query that used them still does; the index builds of a bulk load sort far fewer keys.
    Migration {
        version: 5,
        sql: r#"
DROP INDEX IF EXISTS images_pixel_id;
CREATE INDEX images_pixel_id ON images (pixel_id) WHERE pixel_id IS NOT NULL;
DROP INDEX IF EXISTS images_rating;
CREATE INDEX images_rating ON images (rating) WHERE rating IS NOT NULL;
DROP INDEX IF EXISTS images_template;
CREATE INDEX images_template ON images (template) WHERE template IS NOT NULL;
DROP INDEX IF EXISTS images_run;
CREATE INDEX images_run ON images (run_id) WHERE run_id IS NOT NULL;
DROP INDEX IF EXISTS images_sequence;
CREATE INDEX images_sequence ON images (sequence_id, frame) WHERE sequence_id IS NOT NULL;
"#,
    },
];

/// The secondary indexes of the latest schema (name, what it indexes: `table (columns) [WHERE condition]`). A
/// bulk load (the first scan into an empty catalog) drops them and builds them again once at the end, which is far
/// cheaper than keeping every one of them in step row by row; [`ensure_indexes`] puts back any that a killed load
/// left out. A test checks this list against what the migrations create.
pub const SECONDARY_INDEXES: &[(&str, &str)] = &[
    (
        "images_pixel_id",
        "images (pixel_id) WHERE pixel_id IS NOT NULL",
    ),
    ("images_data_id", "images (data_id)"),
    ("files_image", "files (image_id)"),
    ("edges_parent", "edges (parent_ref)"),
    ("tags_tag", "tags (tag)"),
    ("loras_name", "loras (name)"),
    ("images_seed", "images (seed)"),
    ("images_steps", "images (steps)"),
    ("images_cfg", "images (cfg)"),
    ("images_sampler", "images (sampler)"),
    ("images_model", "images (model)"),
    ("images_generator", "images (generator)"),
    ("images_size", "images (width, height)"),
    ("images_created", "images (created_day)"),
    ("images_rating", "images (rating) WHERE rating IS NOT NULL"),
    (
        "images_template",
        "images (template) WHERE template IS NOT NULL",
    ),
    ("images_run", "images (run_id) WHERE run_id IS NOT NULL"),
    (
        "images_sequence",
        "images (sequence_id, frame) WHERE sequence_id IS NOT NULL",
    ),
];

/// Drop every secondary index (inside the caller's transaction).
pub fn drop_indexes(conn: &Connection) -> Result<()> {
    for (name, _) in SECONDARY_INDEXES {
        conn.execute_batch(&format!("DROP INDEX IF EXISTS {name};"))?;
    }
    Ok(())
}

/// The secondary indexes the catalog lacks (name, columns): all present after migrations, none during a bulk load.
pub fn missing_indexes(conn: &Connection) -> Result<Vec<(&'static str, &'static str)>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'index'")?;
    let present = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(SECONDARY_INDEXES
        .iter()
        .copied()
        .filter(|(name, _)| !present.iter().any(|p| p == name))
        .collect())
}

/// Create every secondary index that is missing; returns how many were created.
pub fn ensure_indexes(conn: &Connection) -> Result<usize> {
    let missing = missing_indexes(conn)?;
    for (name, on) in &missing {
        conn.execute_batch(&format!("CREATE INDEX {name} ON {on};"))?;
    }
    Ok(missing.len())
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The schema version of an open catalog (0 for an empty database).
pub fn version(conn: &Connection) -> Result<i64> {
    let has_meta: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'catalog_meta'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if has_meta.is_none() {
        return Ok(0);
    }
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM catalog_meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Bring the catalog to the latest version; returns the versions applied. Each step is one immediate
/// transaction, and the version is checked again inside it, so two processes opening an old catalog at once
/// migrate it once.
pub fn migrate(conn: &mut Connection) -> Result<Vec<i64>> {
    let mut applied = Vec::new();
    // An up-to-date catalog is only read: a reader (`find`) never takes the write lock, so it never waits for a
    // running scan.
    if version(conn)? >= latest_version() {
        return Ok(applied);
    }
    for migration in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if version(&tx)? >= migration.version {
            continue;
        }
        tx.execute_batch(migration.sql)?;
        crate::search::migrate(&tx, migration.version)?;
        tx.execute(
            "INSERT INTO catalog_meta (key, value) VALUES ('schema_version', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![migration.version.to_string()],
        )?;
        tx.commit()?;
        applied.push(migration.version);
    }
    Ok(applied)
}
