#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The README's supported-dialects table is generated from the importer registry; this test fails when they drift.
//! Regenerate with `STEMMA_WRITE_README=1 cargo test -p stemma-import --test readme_table`.

use std::path::Path;

const BEGIN: &str = "<!-- dialects:begin -->\n";
const END: &str = "<!-- dialects:end -->";

#[test]
fn readme_lists_every_dialect_of_the_registry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find(BEGIN)
        .expect("README has no dialects:begin marker")
        + BEGIN.len();
    let end = readme.find(END).expect("README has no dialects:end marker");
    let table = stemma_import::dialects_markdown();
    if std::env::var_os("STEMMA_WRITE_README").is_some() {
        let updated = format!("{}{}{}", &readme[..start], table, &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        &readme[start..end],
        table,
        "README dialect table is stale: run with STEMMA_WRITE_README=1"
    );
}
