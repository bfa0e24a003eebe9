#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `resolve`: the one answer to "what is this file's recipe". Files are made here: PNGs with text chunks, sidecars,
//! `.txt` files beside them, camera-named files.

use std::path::{Path, PathBuf};

use stemma_container::{Entry, Limits, Metadata, Value as EntryValue};
use stemma_import::{
    resolve, resolve_in, resolve_metadata, Confidence, Depth, FolderContext, RecordSource,
    ResolveOptions, Tier,
};

/// A 2×2 RGB PNG with these text chunks (iTXt for the stemma record, tEXt for the rest).
fn png_with(path: &Path, texts: &[(&str, &str)]) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 2, 2);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    for (key, text) in texts {
        if *key == "stemma" {
            encoder
                .add_itxt_chunk(key.to_string(), text.to_string())
                .unwrap();
        } else {
            encoder
                .add_text_chunk(key.to_string(), text.to_string())
                .unwrap();
        }
    }
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[7u8; 12]).unwrap();
    writer.finish().unwrap();
}

const INFOTEXT: &str = "a red fox in snow\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 2x2, Version: v1.10.1";
const RECORD: &str =
    r#"{"stemma":"1.0","generator":{"name":"stemma-test"},"prompt":{"positive":"stored"}}"#;
const SIDECAR_RECORD: &str = r#"{"stemma":"1.0","generator":{"name":"sidecar-test"},"prompt":{"positive":"from the sidecar"}}"#;

fn opts() -> ResolveOptions {
    ResolveOptions::default()
}

fn sidecar_of(path: &Path) -> PathBuf {
    stemma_container::sidecar::sidecar_path(path)
}

#[test]
fn embedded_record_wins_over_sidecar_and_generator_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.png");
    png_with(&file, &[("parameters", INFOTEXT), ("stemma", RECORD)]);
    std::fs::write(sidecar_of(&file), SIDECAR_RECORD).unwrap();
    let r = resolve(&file, &opts()).unwrap();
    assert_eq!(r.source, Some(RecordSource::Stemma));
    assert_eq!(r.record.as_ref().unwrap().positive(), Some("stored"));
    assert_eq!(r.layer_ids(), ["stemma"]);
    assert!(r.warnings.iter().any(|w| w.contains("sidecar exists too")));
}

#[test]
fn sidecar_wins_over_generator_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.png");
    png_with(&file, &[("parameters", INFOTEXT)]);
    std::fs::write(sidecar_of(&file), SIDECAR_RECORD).unwrap();
    let r = resolve(&file, &opts()).unwrap();
    assert_eq!(r.source, Some(RecordSource::Sidecar));
    assert_eq!(
        r.record.as_ref().unwrap().positive(),
        Some("from the sidecar")
    );
    assert_eq!(r.layer_ids(), ["stemma-sidecar"]);
}

#[test]
fn generator_metadata_is_imported_and_its_layer_says_what_it_supplied() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.png");
    png_with(&file, &[("parameters", INFOTEXT)]);
    let r = resolve(&file, &opts()).unwrap();
    assert_eq!(r.source, Some(RecordSource::Imported));
    let record = r.record.as_ref().unwrap();
    assert_eq!(record.positive(), Some("a red fox in snow"));
    let layer = r.record_layer().unwrap();
    assert_eq!(layer.dialect, "a1111");
    assert_eq!(layer.tier, Tier::Embedded);
    assert!(layer.supplied.contains(&"prompt".to_string()), "{layer:?}");
    assert!(layer.supplied.contains(&"params".to_string()), "{layer:?}");
}

#[test]
fn stemma_only_depth_does_not_import() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.png");
    png_with(&file, &[("parameters", INFOTEXT)]);
    let r = resolve(
        &file,
        &ResolveOptions {
            depth: Depth::StemmaOnly,
            ..opts()
        },
    )
    .unwrap();
    assert!(r.record.is_none() && r.source.is_none() && r.layers.is_empty());
}

#[test]
fn text_file_beside_the_image_is_a_layer_below_what_the_image_holds() {
    let dir = tempfile::tempdir().unwrap();
    let beside = INFOTEXT.replace("a red fox in snow", "a grey wolf");
    std::fs::write(dir.path().join("00001-42.txt"), &beside).unwrap();

    // Only the text file: the record comes from it, and its raw entry says so.
    let plain = dir.path().join("00001-42.png");
    png_with(&plain, &[]);
    let r = resolve(&plain, &opts()).unwrap();
    assert_eq!(r.source, Some(RecordSource::Imported));
    let record = r.record.as_ref().unwrap();
    assert_eq!(record.positive(), Some("a grey wolf"));
    assert_eq!(r.record_layer().unwrap().dialect, "a1111-txt");
    assert_eq!(r.record_layer().unwrap().tier, Tier::Beside);
    assert!(record
        .raw
        .iter()
        .any(|e| e.origin == "file:00001-42.txt" && e.used));

    // The image's own text wins; the text file stays a layer.
    png_with(&plain, &[("parameters", INFOTEXT)]);
    let r = resolve(&plain, &opts()).unwrap();
    assert_eq!(
        r.record.as_ref().unwrap().positive(),
        Some("a red fox in snow")
    );
    assert_eq!(r.layer_ids(), ["a1111", "a1111-txt", "filename"]);
}

#[test]
fn log_csv_beside_the_images_gives_the_row_of_the_image() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("log.csv"),
        "prompt,seed,width,height,sampler,cfgs,steps,filename,negative_prompt\n\
         \"a lighthouse, at dusk\",7,2,2,Euler,6.5,30,00000-7-a lighthouse.png,ugly\n",
    )
    .unwrap();
    let file = dir.path().join("00000-7-a lighthouse.png");
    png_with(&file, &[]);
    let r = resolve(&file, &opts()).unwrap();
    let record = r.record.unwrap();
    assert_eq!(record.positive(), Some("a lighthouse, at dusk"));
    assert_eq!(record.params.unwrap().seed.as_deref(), Some("7"));
    assert_eq!(r.layers[0].dialect, "a1111-log-csv");
}

#[test]
fn a_folder_context_is_built_once_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("00002-1.png");
    png_with(&file, &[]);
    // Listed before the text file exists: the shared context does not see it, a fresh resolve does.
    let folder = FolderContext::scan(dir.path()).unwrap();
    assert!(folder.has("00002-1.png"));
    std::fs::write(dir.path().join("00002-1.txt"), INFOTEXT).unwrap();
    let listed = resolve_in(&file, &folder, &opts()).unwrap();
    assert!(listed.record.is_none() || listed.record_layer().unwrap().dialect != "a1111-txt");
    let fresh = resolve(&file, &opts()).unwrap();
    assert_eq!(fresh.record_layer().unwrap().dialect, "a1111-txt");
    // Text is read once per context and cached.
    let folder = FolderContext::scan(dir.path()).unwrap();
    let first = folder.text("00002-1.txt").unwrap();
    std::fs::remove_file(dir.path().join("00002-1.txt")).unwrap();
    assert_eq!(folder.text("00002-1.txt").unwrap(), first);
}

/// A ComfyUI graph whose positive text is computed at run time (an LLM node), plus the A1111-style `parameters`
/// text a saver node wrote with the resolved prompt.
const RUNTIME_GRAPH: &str = r#"{"3":{"class_type":"KSampler","inputs":{"seed":5,"steps":20,"cfg":7.5,
    "sampler_name":"euler","scheduler":"normal","denoise":1.0,"model":["4",0],"positive":["6",0],
    "negative":["7",0],"latent_image":["5",0]}},
    "4":{"class_type":"CheckpointLoaderSimple","inputs":{"ckpt_name":"m.safetensors"}},
    "5":{"class_type":"EmptyLatentImage","inputs":{"width":2,"height":2,"batch_size":1}},
    "10":{"class_type":"OllamaGenerate","inputs":{"prompt":"describe a fox","model":"llama3"}},
    "6":{"class_type":"CLIPTextEncode","inputs":{"text":["10",0],"clip":["4",1]}},
    "7":{"class_type":"CLIPTextEncode","inputs":{"text":"blurry","clip":["4",1]}},
    "8":{"class_type":"VAEDecode","inputs":{"samples":["3",0],"vae":["4",2]}},
    "9":{"class_type":"SaveImage","inputs":{"images":["8",0]}}}"#;

#[test]
fn layers_combine_a_graph_with_a_runtime_prompt_takes_the_resolved_text() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("comfy.png");
    let resolved_text = "a fox made of embers, cinematic\nNegative prompt: blurry\nSteps: 20, Sampler: euler, CFG scale: 7.5, Seed: 5, Size: 2x2";
    png_with(
        &file,
        &[("prompt", RUNTIME_GRAPH), ("parameters", resolved_text)],
    );
    let r = resolve(&file, &opts()).unwrap();
    let record = r.record.as_ref().unwrap();
    let primary = r.record_layer().unwrap();
    assert_eq!(primary.dialect, "comfyui", "{:?}", r.layers);
    // The graph stays the record's settings; the prompt is the resolved text of the other layer.
    assert_eq!(record.positive(), Some("a fox made of embers, cinematic"));
    assert!(record.settings.is_some());
    let donor = r.layers.iter().find(|l| l.dialect == "a1111").unwrap();
    assert_eq!(donor.confidence, Confidence::Weak);
    assert!(
        donor.supplied.contains(&"prompt.positive".to_string()),
        "{donor:?}"
    );
    assert!(record
        .raw
        .iter()
        .any(|e| e.key.as_deref() == Some("parameters") && e.used));
    // What the graph has itself is not overwritten.
    assert_eq!(record.params.as_ref().unwrap().steps, Some(20));
}

#[test]
fn limits_reach_the_importers() {
    let escaped = RUNTIME_GRAPH.replace('"', "&quot;");
    let packet = format!(
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
         <rdf:Description rdf:about=\"\" xmlns:comfy=\"https://example.org/comfy/\" comfy:prompt=\"{escaped}\"/>\
         </rdf:RDF></x:xmpmeta>"
    );
    let metadata = Metadata {
        entries: vec![Entry {
            origin: "xmp".into(),
            key: "packet".into(),
            value: EntryValue::Text(packet),
            after_image_data: false,
            encoding: Some("utf-8"),
        }],
        ..Metadata::default()
    };
    let folder = FolderContext::lazy(Path::new("."));
    let generous = resolve_metadata(metadata.clone(), None, None, &folder, &opts());
    assert_eq!(generous.record_layer().unwrap().dialect, "comfyui");
    let shallow = ResolveOptions {
        limits: Limits {
            max_xml_depth: 1,
            ..Limits::DEFAULT
        },
        ..opts()
    };
    let refused = resolve_metadata(metadata, None, None, &folder, &shallow);
    assert!(refused.record.is_none(), "{:?}", refused.layer_ids());
}

#[test]
fn errors_name_the_file_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0").unwrap();
    let err = resolve(&broken, &opts()).unwrap_err().to_string();
    assert!(err.contains("broken.png"), "{err}");

    let missing = dir.path().join("missing.png");
    let err = resolve(&missing, &opts()).unwrap_err().to_string();
    assert!(err.contains("missing.png"), "{err}");

    let file = dir.path().join("a.png");
    png_with(&file, &[]);
    std::fs::write(sidecar_of(&file), r#"{"stemma": 5}"#).unwrap();
    let err = resolve(&file, &opts()).unwrap_err().to_string();
    assert!(err.contains("a.png.stemma.json"), "{err}");
    assert!(err.contains("stemma record"), "{err}");
}

#[test]
fn camera_names_never_make_a_record_alone() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "IMG_1234.png",
        "IMG_20240101_123456.png",
        "DSC_0042.png",
        "PXL_20231224_101010123.png",
        "20240101_123456.png",
    ] {
        let file = dir.path().join(name);
        png_with(&file, &[]);
        let r = resolve(&file, &opts()).unwrap();
        assert!(r.record.is_none(), "{name}: {:?}", r.record);
        assert!(
            r.layers.iter().all(|l| l.confidence < Confidence::Strong),
            "{name}: {:?}",
            r.layers
        );
    }
    // A name with a tool's own marker does.
    let file = dir
        .path()
        .join("DALL·E 2023-01-01 10.00.00 - a red fox.png");
    png_with(&file, &[]);
    let r = resolve(&file, &opts()).unwrap();
    assert_eq!(r.record_layer().unwrap().dialect, "filename");
    assert_eq!(r.record_layer().unwrap().tier, Tier::Name);
}

#[test]
fn names_never_fill_fields_of_a_record_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // The name says a prompt; the image's text has none (only parameters). The name must not fill it.
    let file = dir
        .path()
        .join("DALL·E 2023-01-01 10.00.00 - a red fox.png");
    png_with(
        &file,
        &[("parameters", "Steps: 20, Sampler: Euler a, Seed: 1")],
    );
    let r = resolve(&file, &opts()).unwrap();
    assert_eq!(r.record_layer().unwrap().dialect, "a1111");
    let positive = r.record.unwrap().positive().map(str::to_string);
    assert_ne!(positive.as_deref(), Some("a red fox"));
}

#[test]
fn a_listed_folder_says_whether_a_sidecar_exists_without_asking_the_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.png");
    png_with(&file, &[]);
    std::fs::write(sidecar_of(&file), SIDECAR_RECORD).unwrap();
    // A listing made before the sidecar was written does not see it: no lookup was made.
    let names = ["a.png".to_string()].into_iter().collect();
    let listed = FolderContext::listed(dir.path(), names);
    assert_eq!(resolve_in(&file, &listed, &opts()).unwrap().source, None);
    // A listing that has it, a fresh scan and a lazy context all find it.
    let names = ["a.png".to_string(), "a.png.stemma.json".to_string()]
        .into_iter()
        .collect();
    for folder in [
        FolderContext::listed(dir.path(), names),
        FolderContext::scan(dir.path()).unwrap(),
        FolderContext::lazy(dir.path()),
    ] {
        let r = resolve_in(&file, &folder, &opts()).unwrap();
        assert_eq!(r.source, Some(RecordSource::Sidecar));
        assert_eq!(r.record.unwrap().positive(), Some("from the sidecar"));
    }
    // The listing of another folder says nothing about this file's: the file system is asked.
    let elsewhere = FolderContext::listed(&dir.path().join("other"), Default::default());
    let r = resolve_in(&file, &elsewhere, &opts()).unwrap();
    assert_eq!(r.source, Some(RecordSource::Sidecar));
}
