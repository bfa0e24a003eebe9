#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End to end: `stemma show` of a frame beside its run's settings file gives the settings' prompt and seed (the
//! resolver's `disco-settings` layer), `stemma import` writes the folder scan's frame record; an imported ComfyUI
//! file keeps its graphs once (the record names them, spec §3.4.1) and `show --json` gives the record whole.

mod common;

use std::path::Path;

use common::{run_ok, shared_dir, show_view, stemma};
use stemma_container::{ops, Limits};

fn frame(path: &Path) {
    let img = image::RgbImage::from_pixel(2, 2, image::Rgb([5, 6, 7]));
    img.save(path).unwrap();
}

#[test]
fn show_and_import_read_a_disco_frame_from_its_runs_settings() {
    let Some(shared) = shared_dir("legacy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        shared.join("legacy/disco_diffusion/TimeToDisco(0)_settings.txt"),
        dir.path().join("TimeToDisco(0)_settings.txt"),
    )
    .unwrap();
    let file = dir.path().join("TimeToDisco(0)_0.png");
    frame(&file);

    let view = show_view(&file);
    assert_eq!(view["source"], "imported");
    let record = &view["record"];
    assert!(
        record["prompt"]["positive"]
            .as_str()
            .unwrap()
            .starts_with("A beautiful painting of a singular lighthouse"),
        "{record}"
    );
    assert_eq!(record["params"]["seed"], "2599079091");
    assert_eq!(record["generator"]["name"], "disco");

    // Import writes the frame's record (from the folder scan, with the same prompt and seed) into the frame.
    run_ok(stemma().arg("import").arg(dir.path()));
    let after = show_view(&file);
    assert_eq!(after["source"], "stemma");
    assert_eq!(
        after["record"]["prompt"]["positive"],
        record["prompt"]["positive"]
    );
    assert_eq!(after["record"]["params"]["seed"], "2599079091");
}

#[test]
fn an_imported_comfyui_png_names_its_graphs_and_shows_them_whole() {
    let Some(shared) = shared_dir("corpus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("comfyui.png");
    std::fs::write(
        &file,
        std::fs::read(shared.join("corpus/comfyui/comfyui.png")).unwrap(),
    )
    .unwrap();
    let before = show_view(&file);
    let size_before = std::fs::metadata(&file).unwrap().len();
    run_ok(stemma().arg("import").arg(&file));
    let after = show_view(&file);
    assert_eq!(after["source"], "stemma");
    assert_eq!(
        after["record"], before["record"],
        "show --json gives the record the import made, graphs included"
    );
    // At rest the record holds references, not a second copy of the graphs.
    let stored = ops::scan_path(&file, &Limits::DEFAULT)
        .unwrap()
        .record_json
        .unwrap();
    assert!(stemma_model::has_raw_references(&stored), "{stored}");
    let copied = serde_json::to_string(&before["record"]).unwrap();
    let grown = std::fs::metadata(&file).unwrap().len() - size_before;
    assert!(
        (grown as usize) < copied.len() / 2,
        "the file grew by {grown} bytes; a copying record is {} bytes",
        copied.len()
    );
}
