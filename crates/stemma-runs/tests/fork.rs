//! Forks (issue #10 acceptance): `--set seed=42` on an A1111 and on a ComfyUI image gives an infotext, an API
//! payload and a ComfyUI graph that differ from the source's exactly in the seed; an animation fork from frame
//! 120 starts there with that frame as init image and the changed prompt schedule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{json, Value};
use stemma_container::Limits;
use stemma_runs::{fork, link, load_source, ForkFormat, ForkRequest};
use support::*;

pub const INFOTEXT: &str = "a lighthouse at dusk, oil painting\nNegative prompt: blurry, text\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 8x8, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.10.1";

pub fn comfy_graph() -> Value {
    json!({
        "3": {"class_type": "KSampler", "inputs": {"seed": 1234, "steps": 20, "cfg": 7.0, "sampler_name": "dpmpp_2m",
              "scheduler": "karras", "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
              "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 8, "height": 8, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red fox in the snow", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}}
    })
}

fn outputs(
    path: &std::path::Path,
    changes: Vec<(String, Value)>,
) -> (Vec<(ForkFormat, String)>, stemma_runs::Forked) {
    let source = load_source(path, None, &Limits::DEFAULT).unwrap();
    let req = ForkRequest {
        changes,
        ..ForkRequest::default()
    };
    let f = fork(
        &source,
        &req,
        &[
            ForkFormat::Infotext,
            ForkFormat::A1111Api,
            ForkFormat::Comfyui,
            ForkFormat::Native,
        ],
    )
    .unwrap();
    (
        f.outputs
            .iter()
            .map(|o| (o.format, o.text.clone()))
            .collect(),
        f,
    )
}

fn text_of(outs: &[(ForkFormat, String)], format: ForkFormat) -> String {
    outs.iter().find(|(f, _)| *f == format).unwrap().1.clone()
}

fn json_of(outs: &[(ForkFormat, String)], format: ForkFormat) -> Value {
    serde_json::from_str(&text_of(outs, format)).unwrap()
}

/// Fork with seed 42 and without changes; every format differs exactly in the seed.
fn check_seed_only(path: &std::path::Path, graph_seed_node: &str) -> stemma_runs::Forked {
    let (plain, _) = outputs(path, vec![]);
    let (forked, manifest) = outputs(path, vec![("seed".into(), json!(42))]);
    let (a, b) = (
        text_of(&plain, ForkFormat::Infotext),
        text_of(&forked, ForkFormat::Infotext),
    );
    assert_ne!(a, b);
    assert_eq!(a.replace("Seed: 1234", "Seed: 42"), b);
    let (patch, _) = stemma_model::merge_patch_diff(
        &json_of(&plain, ForkFormat::A1111Api),
        &json_of(&forked, ForkFormat::A1111Api),
    );
    assert_eq!(patch, json!({"seed": 42}));
    let (ga, gb) = (
        json_of(&plain, ForkFormat::Comfyui),
        json_of(&forked, ForkFormat::Comfyui),
    );
    let (patch, _) = stemma_model::merge_patch_diff(&ga["prompt"], &gb["prompt"]);
    assert_eq!(patch, json!({graph_seed_node: {"inputs": {"seed": 42}}}));
    assert_eq!(
        gb["extra_data"]["extra_pnginfo"]["stemma_fork"]["run"],
        json!(manifest.manifest.id)
    );
    manifest
}

#[test]
fn a1111_image_forked_with_a_new_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("00012-1234.png");
    write(&img, &png(1, &[("parameters", INFOTEXT)]));
    let forked = check_seed_only(&img, "3");
    // The infotext is the source's with only the seed rewritten, every other byte kept.
    let (outs, _) = outputs(&img, vec![("seed".into(), json!(42))]);
    assert_eq!(
        text_of(&outs, ForkFormat::Infotext),
        INFOTEXT.replace("Seed: 1234", "Seed: 42")
    );
    let api = json_of(&outs, ForkFormat::A1111Api);
    assert_eq!(api["prompt"], json!("a lighthouse at dusk, oil painting"));
    assert_eq!(api["negative_prompt"], json!("blurry, text"));
    assert_eq!(
        api["override_settings"]["sd_model_checkpoint"],
        json!("v1-5-pruned-emaonly")
    );
    let m = &forked.manifest;
    let info = m.fork.as_ref().unwrap();
    assert_eq!(
        info.base,
        stemma_model::settings_hash(&Value::String(INFOTEXT.into()))
            .unwrap()
            .to_string()
    );
    assert_eq!(info.diff, json!(INFOTEXT.replace("Seed: 1234", "Seed: 42")));
    assert_eq!(
        info.changes,
        json!({"seed": 42}).as_object().unwrap().clone()
    );
    assert!(info.from.as_deref().unwrap().starts_with("sha256:"));
    // The manifest's settings hash is the base with the diff applied.
    let mut doc = Value::String(INFOTEXT.into());
    stemma_model::apply_merge_patch(&mut doc, &info.diff);
    assert_eq!(
        stemma_model::settings_hash(&doc).unwrap().to_string(),
        m.settings.hash
    );
    // What the generator writes from the forked infotext carries the fork's fingerprint; the source does not.
    let result = tmp.path().join("00013-42.png");
    write(
        &result,
        &png(
            2,
            &[("parameters", &INFOTEXT.replace("Seed: 1234", "Seed: 42"))],
        ),
    );
    let record = load_source(&result, None, &Limits::DEFAULT).unwrap().record;
    let ev = link::Evidence {
        record: Some(&record),
        ..Default::default()
    };
    let forks = vec![m.clone()];
    assert_eq!(
        link::match_fork(&forks, &ev, None).map(|(f, how)| (f.id.clone(), how)),
        Some((m.id.clone(), link::MatchedBy::Params))
    );
    let source_record = load_source(&img, None, &Limits::DEFAULT).unwrap().record;
    let ev = link::Evidence {
        record: Some(&source_record),
        ..Default::default()
    };
    assert!(link::match_fork(&forks, &ev, None).is_none());
}

#[test]
fn comfyui_image_forked_with_a_new_seed_changes_exactly_the_sampler_input() {
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("ComfyUI_00001_.png");
    write(&img, &png(3, &[("prompt", &comfy_graph().to_string())]));
    let forked = check_seed_only(&img, "3");
    let info = forked.manifest.fork.as_ref().unwrap();
    assert_eq!(info.diff, json!({"3": {"inputs": {"seed": 42}}}));
    // Other changes land on the inputs the importer reads them from.
    let (outs, _) = outputs(
        &img,
        vec![
            ("prompt".into(), json!("a white fox")),
            ("model".into(), json!("juggernaut.safetensors")),
            ("steps".into(), json!(30)),
            ("width".into(), json!(16)),
        ],
    );
    let graph = &json_of(&outs, ForkFormat::Comfyui)["prompt"];
    let (patch, _) = stemma_model::merge_patch_diff(&comfy_graph(), graph);
    assert_eq!(
        patch,
        json!({
            "3": {"inputs": {"steps": 30}},
            "4": {"inputs": {"ckpt_name": "juggernaut.safetensors"}},
            "5": {"inputs": {"width": 16}},
            "6": {"inputs": {"text": "a white fox"}}
        })
    );
}

#[test]
fn a_seed_held_by_a_primitive_node_is_changed_there() {
    let mut graph = comfy_graph();
    graph["10"] = json!({"class_type": "PrimitiveInt", "inputs": {"value": 1234}});
    graph["3"]["inputs"]["seed"] = json!(["10", 0]);
    let out = stemma_runs::edit_graph(&graph, &[("seed".into(), json!("42"))]).unwrap();
    let (patch, _) = stemma_model::merge_patch_diff(&graph, &out);
    assert_eq!(patch, json!({"10": {"inputs": {"value": 42}}}));
    let err = stemma_runs::edit_graph(&graph, &[("guidance".into(), json!(3))]).unwrap_err();
    assert!(err.to_string().contains("guidance"), "{err}");
}

#[test]
fn animation_fork_from_frame_120_starts_there_with_that_frame_as_init() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("Deforum_20230812221310");
    deforum_folder(&dir, 150, 150);
    let source = load_source(&dir, Some(120), &Limits::DEFAULT).unwrap();
    assert_eq!(source.frame, Some(120));
    assert_eq!(source.path, dir.join(deforum_frame(120)));
    let req = ForkRequest {
        from_frame: Some(120),
        ..ForkRequest::default()
    };
    let plain = fork(&source, &req, &[ForkFormat::Deforum]).unwrap();
    let doc: Value = serde_json::from_str(&plain.outputs[0].text).unwrap();
    assert_eq!(
        doc["init_image"],
        json!(dir.join(deforum_frame(120)).to_string_lossy())
    );
    assert_eq!(doc["use_init"], json!(true));
    assert_eq!(doc["max_frames"], json!(30));
    assert_eq!(
        doc["prompts"],
        json!({"0": "a lighthouse in a storm", "20": "a calm sea"})
    );
    assert_eq!(doc["zoom"], json!("0: (1.0), 10: (1.02)"));
    // seed_behavior iter: frame 120 had seed 1000 + 120.
    assert_eq!(doc["seed"], json!(1120));
    let req = ForkRequest {
        from_frame: Some(120),
        changes: vec![("prompt".into(), json!("a ship at night"))],
        ..ForkRequest::default()
    };
    let changed = fork(&source, &req, &[ForkFormat::Deforum, ForkFormat::Native]).unwrap();
    let doc: Value = serde_json::from_str(&changed.outputs[0].text).unwrap();
    assert_eq!(doc["prompts"], json!({"0": "a ship at night"}));
    let info = changed.manifest.fork.as_ref().unwrap();
    assert_eq!(info.from_frame, Some(120));
    assert_eq!(
        info.from.as_deref(),
        Some(
            stemma_container::ops::lineage_id(&png(120, &[]), &Limits::DEFAULT)
                .unwrap()
                .to_string()
                .as_str()
        )
    );
    assert_eq!(changed.manifest.plan.count, 30);
    // The frames of a run made from these settings (new timestring, as Deforum writes) are recognised.
    let mut rerun = doc.clone();
    rerun["timestring"] = json!("20240101000000");
    rerun["batch_name"] = json!("Deforum_20240101000000");
    let forks = vec![changed.manifest.clone()];
    let ev = link::Evidence {
        run_settings: Some(&rerun),
        ..Default::default()
    };
    assert_eq!(
        link::match_fork(&forks, &ev, None).map(|(_, how)| how),
        Some(link::MatchedBy::Settings)
    );
    let ev = link::Evidence {
        run_settings: Some(&deforum_settings(150)),
        ..Default::default()
    };
    assert!(link::match_fork(&forks, &ev, None).is_none());
    // Forking from a damaged frame is refused, naming it.
    write(&dir.join(deforum_frame(121)), &truncated(&png(121, &[])));
    let err = load_source(&dir, Some(121), &Limits::DEFAULT).unwrap_err();
    assert!(
        err.to_string().contains("frame 121") && err.to_string().contains("damaged"),
        "{err}"
    );
}

#[test]
fn a_hires_graph_changes_every_pass_that_shares_the_value_and_only_those() {
    let mut graph = comfy_graph();
    // Second pass: upscale the latent and sample again with the same seed and its own steps.
    graph["10"] = json!({"class_type": "LatentUpscaleBy", "inputs": {"samples": ["3", 0], "upscale_method": "nearest-exact", "scale_by": 1.5}});
    graph["11"] = json!({"class_type": "KSampler", "inputs": {"seed": 1234, "steps": 10, "cfg": 7.0, "sampler_name": "dpmpp_2m",
        "scheduler": "karras", "denoise": 0.5, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["10", 0]}});
    graph["8"]["inputs"]["samples"] = json!(["11", 0]);
    let out = stemma_runs::edit_graph(&graph, &[("seed".into(), json!(42))]).unwrap();
    let (patch, _) = stemma_model::merge_patch_diff(&graph, &out);
    assert_eq!(
        patch,
        json!({"3": {"inputs": {"seed": 42}}, "11": {"inputs": {"seed": 42}}})
    );
    let out = stemma_runs::edit_graph(&graph, &[("steps".into(), json!(30))]).unwrap();
    let (patch, _) = stemma_model::merge_patch_diff(&graph, &out);
    assert_eq!(patch, json!({"3": {"inputs": {"steps": 30}}}));
}
