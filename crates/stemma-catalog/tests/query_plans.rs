#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! How queries run: every typed field is read through an index, and full text is read from the full-text index
//! that drives the query (SQLite's EXPLAIN QUERY PLAN, checked as behaviour, not timed).

use stemma_catalog::find::explain;
use stemma_catalog::Catalog;

fn plan(cat: &Catalog, q: &str) -> String {
    explain(cat, Some(q), Some(100)).unwrap().join("\n")
}

/// A full scan of the images table (`SCAN i`, without an index).
fn scans_images(plan: &str) -> bool {
    plan.lines()
        .any(|l| l.trim() == "SCAN i" || l.trim_start().starts_with("SCAN i "))
}

#[test]
fn typed_fields_are_read_through_their_index() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("c.db")).unwrap();
    let cases = [
        ("seed:123456", "images_seed"),
        ("steps:20..30", "images_steps"),
        ("steps:25", "images_steps"),
        ("cfg:7", "images_cfg"),
        ("sampler:euler", "images_sampler"),
        ("sampler:dpm*", "images_sampler"),
        ("model:dreamshaper_8", "images_model"),
        ("size:512x768", "images_size"),
        ("size:1024x?", "images_size"),
        ("date:2024-05", "images_created"),
        ("date:today", "images_created"),
        ("path:outputs/2024/", "sqlite_autoindex_files_1"),
        ("generator:comfyui", "images_generator"),
        ("tag:keeper", "tags_tag"),
        ("lora:add_detail", "loras_name"),
        ("rating:>=4", "images_rating"),
        ("template:\"a {red|blue} cat\"", "images_template"),
        // Partial indexes (only rows with a value) serve presence tests too.
        ("has:template", "images_template"),
        ("has:sequence", "images_sequence"),
    ];
    for (q, index) in cases {
        let p = plan(&cat, q);
        assert!(p.contains(index), "{q}: expected {index} in\n{p}");
        assert!(!scans_images(&p), "{q}: reads every image\n{p}");
    }
}

#[test]
fn full_text_drives_the_query() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("c.db")).unwrap();
    for q in [
        "lighthouse",
        "\"golden hour\"",
        "astro*",
        "lighthouse -fog steps:>=25 (model:dream* OR model:juggernaut*) size:square",
        "(\"oil painting\" OR watercolor) castle cfg:7 has:template",
        "negative:blurry seed:5",
    ] {
        let p = plan(&cat, q);
        assert!(p.contains("VIRTUAL TABLE"), "{q}: full text not used\n{p}");
        assert!(!scans_images(&p), "{q}: reads every image\n{p}");
        assert!(
            !p.contains("LIST SUBQUERY"),
            "{q}: collects every text match before the limit\n{p}"
        );
    }
    // Text under OR with a typed field cannot drive; it is still read through the full-text index.
    let p = plan(&cat, "lighthouse OR seed:5");
    assert!(p.contains("VIRTUAL TABLE"), "{p}");
}
