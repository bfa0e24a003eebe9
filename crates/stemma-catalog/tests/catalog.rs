#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The catalog on real SQLite files in temporary folders, built from images made by the tests.

mod common;

use std::path::Path;

use common::*;
use stemma_catalog::find::{find, find_ids, image_of_path};
use stemma_catalog::lineage::{ancestors, descendants};
use stemma_catalog::prompts::{stacks, templates, variations};
use stemma_catalog::tags::tag;
use stemma_catalog::{scan, Catalog, Error, ScanOptions};

fn scan_all(cat: &mut Catalog) -> stemma_catalog::ScanSummary {
    let root = cat.root.clone();
    scan(cat, &root, &ScanOptions::default()).unwrap()
}

fn paths(cat: &Catalog, q: &str) -> Vec<String> {
    let mut out: Vec<String> = find(cat, Some(q), None)
        .unwrap()
        .into_iter()
        .flat_map(|h| h.paths)
        .collect();
    out.sort();
    out
}

#[test]
fn scan_is_incremental_and_identity_is_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("a/one.png"), &a1111(1, "a red cat", 20, ""));
    write(&root.join("a/two.png"), &a1111(2, "a blue dog", 30, ""));
    write(&root.join("b/three.png"), &png(3, &[]));
    write(&root.join("b/broken.png"), &a1111(4, "cut", 20, "")[..40]);
    write(&root.join("notes.txt"), b"not an image");
    let mut cat = Catalog::init(root).unwrap();

    let s = scan_all(&mut cat);
    assert_eq!((s.files, s.read, s.unchanged, s.new_images), (4, 4, 0, 3));
    assert_eq!(s.errors.len(), 1, "{:?}", s.errors);
    assert_eq!(s.errors[0].0, "b/broken.png");
    assert!(!s.errors[0].1.is_empty());

    let s = scan_all(&mut cat);
    assert_eq!((s.read, s.unchanged, s.new_images), (0, 4, 0));
    assert_eq!(s.errors.len(), 1, "an unreadable file stays listed");

    // A copy is the same image at a second path.
    std::fs::copy(root.join("a/one.png"), root.join("b/copy.png")).unwrap();
    let s = scan_all(&mut cat);
    assert_eq!((s.read, s.new_images), (1, 0));
    assert_eq!(paths(&cat, "red"), ["a/one.png", "b/copy.png"]);

    // Tags are kept by image; moving the folder keeps them.
    let one = image_of_path(&cat, &root.join("a/one.png")).unwrap();
    tag(&mut cat, one, &["Favourite".into()], &[]).unwrap();
    std::fs::rename(root.join("a"), root.join("moved")).unwrap();
    let s = scan_all(&mut cat);
    assert_eq!((s.moved, s.missing, s.new_images), (2, 0, 0), "{s:?}");
    assert_eq!(
        paths(&cat, "tag:favourite"),
        ["b/copy.png", "moved/one.png"]
    );
    assert_eq!(
        image_of_path(&cat, &root.join("moved/one.png")).unwrap(),
        one
    );

    // A deleted file is marked missing, not forgotten.
    std::fs::remove_file(root.join("b/three.png")).unwrap();
    let s = scan_all(&mut cat);
    assert_eq!(s.missing, 1);
    let all = find(&cat, None, None).unwrap();
    assert_eq!(all.len(), 3);
    assert!(all
        .iter()
        .any(|h| h.paths.is_empty() && h.missing == ["b/three.png"]));
}

#[test]
fn queries_select_by_text_and_fields() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("x/1.png"),
        &a1111(1, "a red cat on a mat", 20, ""),
    );
    write(
        &root.join("x/2.png"),
        &a1111(2, "a blue cat", 30, ", Lora hashes: \"pixel: 1234\""),
    );
    write(&root.join("y/3.png"), &a1111(3, "a red dog", 40, ""));
    write(&root.join("y/4.png"), &png(4, &[]));
    let mut cat = Catalog::init(root).unwrap();
    scan_all(&mut cat);
    assert_eq!(paths(&cat, "cat"), ["x/1.png", "x/2.png"]);
    assert_eq!(paths(&cat, "\"red cat\""), ["x/1.png"]);
    assert_eq!(paths(&cat, "red -cat"), ["y/3.png"]);
    assert_eq!(paths(&cat, "red AND NOT dog"), ["x/1.png"]);
    assert_eq!(paths(&cat, "steps:25..40"), ["x/2.png", "y/3.png"]);
    assert_eq!(
        paths(&cat, "steps:>=40 OR (blue steps:30)"),
        ["x/2.png", "y/3.png"]
    );
    assert_eq!(paths(&cat, "seed:2|3"), ["x/2.png", "y/3.png"]);
    assert_eq!(
        paths(&cat, "sampler:euler*"),
        ["x/1.png", "x/2.png", "y/3.png"]
    );
    assert_eq!(
        paths(&cat, "model:DreamShaper_8 size:16x? size:square"),
        ["x/1.png", "x/2.png", "y/3.png"]
    );
    assert_eq!(paths(&cat, "path:y/ -has:metadata"), ["y/4.png"]);
    assert_eq!(
        paths(&cat, "negative:blurry cfg:7 generator:a1111"),
        ["x/1.png", "x/2.png", "y/3.png"]
    );
    assert_eq!(paths(&cat, "date:today").len(), 4);
    assert!(paths(&cat, "date:2001-01-01..2001-12-31").is_empty());
    assert!(paths(&cat, "size:landscape").is_empty());
    assert!(matches!(
        find_ids(&cat, Some("steps:abc"), None),
        Err(Error::Query { column: 7, .. })
    ));
}

#[test]
fn lineage_follows_a_renamed_parent() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let parent = a1111(7, "a lighthouse", 20, "");
    write(&root.join("gen/parent.png"), &parent);
    let child = stamped(8, child_record(&parent, "upscale", "parent.png"));
    write(&root.join("up/upscale.png"), &child);
    let mut cat = Catalog::init(root).unwrap();
    let s = scan_all(&mut cat);
    assert_eq!(
        s.linked, 1,
        "the unstamped parent is linked through its hint"
    );
    let up = image_of_path(&cat, &root.join("up/upscale.png")).unwrap();
    let log = ancestors(&cat, up).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].relation, "upscale");
    assert_eq!(log[0].image.as_ref().unwrap().paths, ["gen/parent.png"]);

    std::fs::rename(root.join("gen/parent.png"), root.join("gen/renamed.png")).unwrap();
    scan_all(&mut cat);
    let log = ancestors(&cat, up).unwrap();
    assert_eq!(log[0].image.as_ref().unwrap().paths, ["gen/renamed.png"]);
    let parent_id = image_of_path(&cat, &root.join("gen/renamed.png")).unwrap();
    let tree = descendants(&cat, parent_id).unwrap();
    assert_eq!(tree[0].image.as_ref().unwrap().paths, ["up/upscale.png"]);
    assert_eq!(paths(&cat, "has:parents"), ["up/upscale.png"]);
    assert_eq!(paths(&cat, "has:children"), ["gen/renamed.png"]);

    // A parent the catalog does not have keeps its id and hint.
    std::fs::remove_file(root.join("gen/renamed.png")).unwrap();
    let orphan = stamped(9, child_record(&png(99, &[]), "img2img", "elsewhere.png"));
    write(&root.join("up/orphan.png"), &orphan);
    scan_all(&mut cat);
    let o = image_of_path(&cat, &root.join("up/orphan.png")).unwrap();
    let log = ancestors(&cat, o).unwrap();
    assert!(log[0].image.is_none());
    assert_eq!(log[0].hint.as_deref(), Some("elsewhere.png"));
    assert!(log[0].id.as_deref().unwrap().starts_with("sha256:"));
}

#[test]
fn prompts_group_templates_and_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tpl = ", Template: \"a {red|blue} cat on a {mat|rug}\"";
    write(
        &root.join("dp/1.png"),
        &a1111(1, "a red cat on a mat", 20, tpl),
    );
    write(
        &root.join("dp/2.png"),
        &a1111(2, "a blue cat on a mat", 20, tpl),
    );
    write(
        &root.join("dp/3.png"),
        &a1111(3, "a blue cat on a rug", 20, tpl),
    );
    // A seed-only run: three images, same prompt and settings.
    for s in 10..13 {
        write(
            &root.join(format!("run/{s}.png")),
            &a1111(s, "a castle in fog", 25, ""),
        );
    }
    write(
        &root.join("run/other.png"),
        &a1111(20, "a castle in fog", 50, ""),
    );
    let mut cat = Catalog::init(root).unwrap();
    scan_all(&mut cat);

    let t = templates(&cat, 4).unwrap();
    let recorded: Vec<_> = t.iter().filter(|t| t.recorded).collect();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].template, "a {red|blue} cat on a {mat|rug}");
    assert_eq!(recorded[0].images, 3);
    assert_eq!(recorded[0].slots[0].1["blue"], 2);
    assert_eq!(recorded[0].slots[1].1["rug"], 1);

    let s = stacks(&cat, &[]).unwrap();
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].images.len(), 3);
    assert_eq!(s[0].shared["prompt"], "a castle in fog");
    // Letting steps vary too puts the fourth castle in the stack.
    let s = stacks(&cat, &["steps".to_string()]).unwrap();
    assert!(s.iter().any(|s| s.images.len() == 4));

    let v = variations(&cat, 4).unwrap();
    let fam = v.iter().find(|f| f.base.contains("cat")).unwrap();
    assert_eq!(fam.members.len(), 2);
    assert!(fam
        .members
        .iter()
        .any(|m| m.2.contains("[-") && m.2.contains("{+")));
}

#[test]
fn tags_in_the_record_travel_into_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = stemma_model::Record::new();
    r.ext.insert(
        "org.stemma.tags".into(),
        serde_json::json!(["Keeper", "sky"]),
    );
    r.ext
        .insert("org.stemma.rating".into(), serde_json::json!(4));
    write(&dir.path().join("t.png"), &stamped(1, r));
    let mut cat = Catalog::init(dir.path()).unwrap();
    scan_all(&mut cat);
    assert_eq!(paths(&cat, "tag:keeper rating:>=4 has:record"), ["t.png"]);
}

const V1_SCHEMA: &str = r#"
CREATE TABLE catalog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE images (id INTEGER PRIMARY KEY, content_id TEXT NOT NULL UNIQUE, pixel_id TEXT, data_id TEXT,
    ids_stored INTEGER NOT NULL DEFAULT 0, format TEXT, width INTEGER, height INTEGER, source TEXT, generator TEXT,
    prompt TEXT, negative TEXT, seed TEXT, steps INTEGER, cfg REAL, sampler TEXT, model TEXT, created TEXT,
    record_json TEXT, rating INTEGER);
CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, image_id INTEGER, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, status TEXT NOT NULL, error TEXT, scanned_at INTEGER NOT NULL);
CREATE TABLE edges (child_id INTEGER NOT NULL, ord INTEGER NOT NULL, parent_ref TEXT, relation TEXT NOT NULL,
    hint TEXT, PRIMARY KEY (child_id, ord));
CREATE TABLE tags (image_id INTEGER NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (image_id, tag));
CREATE VIRTUAL TABLE prompt_fts USING fts5(prompt, negative, content = 'images', content_rowid = 'id');
CREATE TRIGGER images_fts_insert AFTER INSERT ON images BEGIN
    INSERT INTO prompt_fts (rowid, prompt, negative) VALUES (new.id, new.prompt, new.negative);
END;
INSERT INTO catalog_meta VALUES ('schema_version', '1');
INSERT INTO images (id, content_id, prompt, rating, record_json) VALUES (1, 'sha256:0000000000000000000000000000000000000000000000000000000000000001', 'an old cat', 5, '{"stemma":"1.0","prompt":{"positive":"an old cat"}}');
INSERT INTO files VALUES (1, 'old.png', 1, 10, 20, 30, 'ok', NULL, 0);
INSERT INTO tags VALUES (1, 'kept');
"#;

#[test]
fn a_version_1_catalog_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(".stemma/catalog.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(V1_SCHEMA)
        .unwrap();
    let cat = Catalog::open(&db).unwrap();
    assert_eq!(
        stemma_catalog::schema::version(&cat.conn).unwrap(),
        stemma_catalog::schema::latest_version()
    );
    assert_eq!(cat.root, dir.path());
    // Old rows are kept, the new columns and tables exist, and version 1's files are read again next scan.
    assert_eq!(paths(&cat, "cat tag:kept rating:5"), ["old.png"]);
    assert!(paths(&cat, "has:template").is_empty());
    assert!(paths(&cat, "lora:x").is_empty());
    let size: i64 = cat
        .conn
        .query_row("SELECT size FROM files", [], |r| r.get(0))
        .unwrap();
    assert_eq!(size, -1);
    // Version 4 moved the stored record into its own table.
    let old = find(&cat, Some("cat"), None).unwrap();
    assert_eq!(
        old[0]
            .record
            .as_ref()
            .and_then(|r| r.pointer("/prompt/positive")),
        Some(&serde_json::json!("an old cat"))
    );
    drop(cat);
    // Opening again changes nothing.
    let cat = Catalog::open(&db).unwrap();
    assert_eq!(paths(&cat, "cat"), ["old.png"]);
}

#[test]
fn a_newer_catalog_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    drop(Catalog::open(&db).unwrap());
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE catalog_meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    assert!(matches!(
        Catalog::open(&db),
        Err(Error::TooNew { found: 99, .. })
    ));
}

#[test]
fn the_catalog_is_found_from_below_like_git() {
    let dir = tempfile::tempdir().unwrap();
    Catalog::init(dir.path()).unwrap();
    let deep = dir.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    let found = stemma_catalog::locate(&deep).unwrap();
    assert_eq!(found, dir.path().join(".stemma/catalog.db"));
    let other = tempfile::tempdir().unwrap();
    assert!(matches!(
        stemma_catalog::locate(other.path()),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn the_shared_corpus_is_indexed() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    let dir = tempfile::tempdir().unwrap();
    let mut cat = Catalog::open(&dir.path().join("catalog.db")).unwrap();
    let s = scan(&mut cat, &corpus, &ScanOptions::default()).unwrap();
    assert!(s.files >= 50, "{s:?}");
    assert_eq!(s.read, s.files);
    // Every unreadable file is listed with a reason.
    assert!(s.errors.iter().all(|(_, why)| !why.is_empty()));
    assert!(s.errors.len() < 10, "{:?}", s.errors);
    let comfy = find(&cat, Some("generator:comfyui"), None).unwrap();
    assert!(!comfy.is_empty());
    assert!(comfy
        .iter()
        .all(|h| h.paths.iter().all(|p| Path::new(p).is_absolute())));
    assert!(!find(&cat, Some("has:prompt steps:1..1000"), None)
        .unwrap()
        .is_empty());
    let s = scan(&mut cat, &corpus, &ScanOptions::default()).unwrap();
    assert_eq!(s.read, 0);
}

#[test]
fn moving_a_folder_keeps_tags_and_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let parent = a1111(7, "a lighthouse at dusk", 20, "");
    write(&root.join("day1/gen/parent.png"), &parent);
    let child = stamped(8, child_record(&parent, "upscale", "parent.png"));
    write(&root.join("day1/up/upscale.png"), &child);
    let mut cat = Catalog::init(root).unwrap();
    scan_all(&mut cat);
    let up = image_of_path(&cat, &root.join("day1/up/upscale.png")).unwrap();
    let par = image_of_path(&cat, &root.join("day1/gen/parent.png")).unwrap();
    tag(&mut cat, up, &["keeper".into()], &[]).unwrap();
    tag(&mut cat, par, &["source".into()], &[]).unwrap();

    std::fs::create_dir(root.join("archive")).unwrap();
    std::fs::rename(root.join("day1"), root.join("archive/2024")).unwrap();
    let s = scan_all(&mut cat);
    assert_eq!((s.moved, s.missing, s.new_images), (2, 0, 0), "{s:?}");

    assert_eq!(
        image_of_path(&cat, &root.join("archive/2024/up/upscale.png")).unwrap(),
        up
    );
    assert_eq!(paths(&cat, "tag:keeper"), ["archive/2024/up/upscale.png"]);
    assert_eq!(paths(&cat, "tag:source"), ["archive/2024/gen/parent.png"]);
    let log = ancestors(&cat, up).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].relation, "upscale");
    assert_eq!(
        log[0].image.as_ref().unwrap().paths,
        ["archive/2024/gen/parent.png"]
    );
    let tree = descendants(&cat, par).unwrap();
    assert_eq!(
        tree[0].image.as_ref().unwrap().paths,
        ["archive/2024/up/upscale.png"]
    );
    assert_eq!(
        paths(&cat, "path:archive/2024/up/"),
        ["archive/2024/up/upscale.png"]
    );
    assert!(paths(&cat, "path:day1/").is_empty());
}

#[test]
fn stored_ids_are_trusted_only_when_the_data_is_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let stamped_file = stamped(5, stemma_model::Record::new());
    write(&root.join("ok.png"), &stamped_file);
    // The same record over other pixels: image data changed by a tool that kept the record.
    let mut stale = stemma_model::Record::new();
    stale.content = Some(
        stemma_container::ops::content_ids(
            &png(5, &[]),
            true,
            &stemma_container::Limits::default(),
        )
        .unwrap(),
    );
    let other = png(6, &[]);
    let edited = stemma_container::handler_for(stemma_container::Format::Png)
        .unwrap()
        .edit(
            &other,
            &stemma_container::Edit::set_record(stemma_model::record_to_json(&stale).unwrap()),
            &stemma_container::Limits::default(),
        )
        .unwrap();
    write(&root.join("stale.png"), &edited);
    let mut cat = Catalog::init(root).unwrap();
    let s = scan_all(&mut cat);
    assert_eq!(s.new_images, 2, "{s:?}");
    let ok = find(&cat, Some("path:ok.png"), None).unwrap();
    assert!(ok[0].pixel_id.is_some(), "the stored pixel id is used");
    let st = find(&cat, Some("path:stale.png"), None).unwrap();
    assert!(st[0].pixel_id.is_none(), "a stale stored id is not");
    assert_ne!(st[0].content_id, ok[0].content_id);
}

#[test]
fn the_full_text_index_follows_new_and_changed_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("a.png"), &a1111(1, "a red cat", 20, ""));
    write(&root.join("b.png"), &a1111(2, "a red fox", 20, ""));
    let mut cat = Catalog::init(root).unwrap();
    scan_all(&mut cat);
    assert_eq!(paths(&cat, "red"), ["a.png", "b.png"]);
    // The same pixels with another prompt: the same image, its prompt replaced in the index.
    write(&root.join("a.png"), &a1111(1, "a green owl", 20, ""));
    let s = scan_all(&mut cat);
    assert_eq!((s.read, s.new_images), (1, 0), "{s:?}");
    assert_eq!(paths(&cat, "red"), ["b.png"]);
    assert_eq!(paths(&cat, "green owl"), ["a.png"]);
    cat.conn
        .execute(
            "INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .unwrap();
}

fn index_names(cat: &Catalog) -> Vec<String> {
    let mut stmt = cat
        .conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' \
             ORDER BY name",
        )
        .unwrap();
    let names = stmt.query_map([], |r| r.get(0)).unwrap();
    names.map(|n| n.unwrap()).collect()
}

fn listed_indexes() -> Vec<String> {
    let mut names: Vec<String> = stemma_catalog::schema::SECONDARY_INDEXES
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn the_bulk_load_list_is_every_index_the_migrations_make() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::init(dir.path()).unwrap();
    assert_eq!(index_names(&cat), listed_indexes());
    // The same definitions (columns and partial conditions): a bulk load builds what the migrations made.
    for (name, on) in stemma_catalog::schema::SECONDARY_INDEXES {
        let sql: String = cat
            .conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(sql, format!("CREATE INDEX {name} ON {on}"));
    }
}

#[test]
fn a_first_scan_loads_in_bulk_and_builds_every_index() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("a.png"), &a1111(1, "a red cat", 20, ""));
    write(&root.join("b.png"), &a1111(2, "a red fox", 30, ""));
    // The same pixels as a.png under another prompt: one image, its prompt replaced during the load.
    write(&root.join("c/a.png"), &a1111(1, "a green owl", 20, ""));
    let mut cat = Catalog::init(root).unwrap();
    let s = scan_all(&mut cat);
    assert_eq!((s.read, s.new_images), (3, 2), "{s:?}");
    assert_eq!(index_names(&cat), listed_indexes());
    let marker: i64 = cat
        .conn
        .query_row(
            "SELECT COUNT(*) FROM catalog_meta WHERE key = 'bulk_load'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(marker, 0);
    cat.conn
        .execute(
            "INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .unwrap();
    assert_eq!(paths(&cat, "fox"), ["b.png"]);
    assert_eq!(paths(&cat, "steps:30"), ["b.png"]);
    // Both paths of the one image answer, under whichever prompt was stored last.
    let red_or_green = [paths(&cat, "red cat"), paths(&cat, "green owl")].concat();
    assert!(
        red_or_green.contains(&"a.png".to_string()),
        "{red_or_green:?}"
    );
    // A later scan writes row by row into the indexes.
    write(&root.join("d.png"), &a1111(4, "a blue heron", 25, ""));
    let s = scan_all(&mut cat);
    assert_eq!(s.new_images, 1, "{s:?}");
    assert_eq!(paths(&cat, "heron"), ["d.png"]);
    assert_eq!(paths(&cat, "steps:25"), ["d.png"]);
}

#[test]
fn a_bulk_load_cut_short_is_finished_by_the_next_scan() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("a.png"), &a1111(1, "a red cat", 20, ""));
    let mut cat = Catalog::init(root).unwrap();
    scan_all(&mut cat);
    // What a scan killed during its load leaves: rows written, no secondary index, nothing in the full-text
    // index for those rows, the marker set.
    stemma_catalog::bulk::begin(&mut cat.conn).unwrap();
    cat.conn
        .execute(
            "INSERT INTO prompt_fts (prompt_fts) VALUES ('delete-all')",
            [],
        )
        .unwrap();
    assert!(index_names(&cat).is_empty());
    drop(cat);
    write(&root.join("b.png"), &a1111(2, "a red fox", 20, ""));
    let mut cat = Catalog::open(&root.join(".stemma/catalog.db")).unwrap();
    let s = scan_all(&mut cat);
    assert_eq!((s.read, s.new_images), (1, 1), "{s:?}");
    assert_eq!(index_names(&cat), listed_indexes());
    assert_eq!(paths(&cat, "red"), ["a.png", "b.png"]);
    cat.conn
        .execute(
            "INSERT INTO prompt_fts (prompt_fts, rank) VALUES ('integrity-check', 1)",
            [],
        )
        .unwrap();
}

#[test]
fn a_scan_checkpoints_beside_its_writer_and_gives_the_writer_its_checkpoints_back() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..40 {
        write(
            &root.join(format!("f{i}.png")),
            &a1111(i, &format!("a cat number {i}"), 20, ""),
        );
    }
    let mut cat = Catalog::init(root).unwrap();
    let pragma = |cat: &Catalog, name: &str| -> i64 {
        cat.conn
            .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(pragma(&cat, "wal_autocheckpoint"), 1000);
    let s = scan_all(&mut cat);
    assert_eq!(s.new_images, 40, "{s:?}");
    // The connection is used again (`scan --watch`, later commands): its automatic checkpoints are back.
    assert_eq!(pragma(&cat, "wal_autocheckpoint"), 1000);
    // Every committed row is in the catalog and nothing is left in the log that a checkpoint cannot copy.
    let (busy, _log, _copied): (i64, i64, i64) = cat
        .conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(busy, 0);
    let ok: String = cat
        .conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    assert_eq!(paths(&cat, "cat").len(), 40);
}

fn pragma_of(cat: &Catalog, name: &str) -> i64 {
    cat.conn
        .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .unwrap()
}

fn integrity(cat: &Catalog) -> String {
    cat.conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn bulk_marker(cat: &Catalog) -> i64 {
    cat.conn
        .query_row(
            "SELECT COUNT(*) FROM catalog_meta WHERE key = 'bulk_load'",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_scan_whose_checkpoint_connection_cannot_open_still_completes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..5 {
        write(
            &root.join(format!("f{i}.png")),
            &a1111(i, &format!("a cat number {i}"), 20, ""),
        );
    }
    let mut cat = Catalog::init(root).unwrap();
    // The writer's connection is open; the background checkpoint opens a second one from `cat.path`. A folder at
    // that path is one SQLite cannot open whoever runs the test (root ignores permissions, not EISDIR). The load
    // lock beside it (`not-a-db-bulk.lock`) opens, so this first scan still loads in bulk: the case where giving
    // up would leave the catalog without its indexes.
    let real = cat.path.clone();
    cat.path = real.with_file_name("not-a-db");
    std::fs::create_dir(&cat.path).unwrap();
    let s = scan_all(&mut cat);
    assert_eq!((s.read, s.new_images), (5, 5), "{s:?}");
    assert!(s.errors.is_empty(), "{s:?}");
    // The writer checkpointed by itself, and keeps doing so for the next command on this connection.
    assert_eq!(pragma_of(&cat, "wal_autocheckpoint"), 1000);
    assert_eq!(index_names(&cat), listed_indexes());
    assert_eq!(bulk_marker(&cat), 0);
    assert_eq!(integrity(&cat), "ok");
    assert_eq!(paths(&cat, "cat").len(), 5);
    // Everything is in the catalog file itself, as another process opening it sees it.
    drop(cat);
    let cat = Catalog::open(&real).unwrap();
    assert_eq!(paths(&cat, "cat").len(), 5);
}

#[test]
fn a_load_lock_that_cannot_open_stops_the_scan_before_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("a.png"), &a1111(1, "a red cat", 20, ""));
    let mut cat = Catalog::init(root).unwrap();
    // A folder where the lock file goes: its open fails even for root (a read-only `.stemma/` would not).
    let lock = root.join(".stemma/catalog.db-bulk.lock");
    std::fs::create_dir(&lock).unwrap();
    let err = scan(&mut cat, root, &ScanOptions::default()).unwrap_err();
    match &err {
        Error::File { path, reason } => {
            assert_eq!(path, &lock, "{err}");
            assert!(reason.contains("load lock"), "{err}");
        }
        other => panic!("expected the lock file's error, got {other:?}"),
    }
    // The message a user reads names the lock file and why it could not be opened.
    let message = err.to_string();
    assert!(message.contains("catalog.db-bulk.lock"), "{message}");
    assert!(
        message.contains(&std::io::Error::from_raw_os_error(21).to_string()),
        "{message}"
    );
    // Nothing was written, and the empty catalog was not left half way into a bulk load (indexes dropped).
    assert_eq!(pragma_of(&cat, "wal_autocheckpoint"), 1000);
    assert_eq!(index_names(&cat), listed_indexes());
    assert_eq!(bulk_marker(&cat), 0);
    assert_eq!(integrity(&cat), "ok");
    let files: i64 = cat
        .conn
        .query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0))
        .unwrap();
    assert_eq!(files, 0);
    // Once the lock file can be made, the same catalog scans (and loads in bulk) as usual.
    std::fs::remove_dir(&lock).unwrap();
    let s = scan_all(&mut cat);
    assert_eq!((s.read, s.new_images), (1, 1), "{s:?}");
    assert_eq!(index_names(&cat), listed_indexes());
    assert_eq!(paths(&cat, "red cat"), ["a.png"]);
}
