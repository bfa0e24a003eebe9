#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Runs end to end (issue #10): `stemma fork --set seed=42` on an A1111 and a ComfyUI image, the tests playing
//! the generator that makes the result from the fork's files, `stemma scan` linking the result to its source with
//! relation `fork` and `stemma log` showing the diff; an animation fork from frame 120 whose frames link to frame
//! 120; `stemma run status` and `stemma resume` on a broken Deforum folder; bad inputs named.

mod common;

use std::path::Path;

use common::{run_ok, stemma};
use serde_json::{json, Value};

const INFOTEXT: &str = "a lighthouse at dusk, oil painting\nNegative prompt: blurry, text\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 8x8, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.10.1";
const TS: &str = "20230812221310";

fn png(shade: u32, texts: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 8, 8);
        enc.set_color(png::ColorType::Rgb);
        for (k, v) in texts {
            enc.add_text_chunk(k.to_string(), v.to_string()).unwrap();
        }
        let mut w = enc.write_header().unwrap();
        let mut data: Vec<u8> = (0..8 * 8 * 3u32)
            .map(|i| ((i * 7 + shade * 13) % 256) as u8)
            .collect();
        // The shade's bytes first: every shade has its own pixels.
        data[..4].copy_from_slice(&shade.to_le_bytes());
        w.write_image_data(&data).unwrap();
        w.finish().unwrap();
    }
    out
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn comfy_graph() -> Value {
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

fn deforum_settings(max_frames: u64) -> Value {
    json!({
        "W": 64, "H": 64, "seed": 1000, "sampler": "euler_ancestral", "steps": 25, "scale": 7,
        "seed_behavior": "iter", "seed_iter_N": 1, "animation_mode": "2D", "max_frames": max_frames,
        "diffusion_cadence": 1, "fps": 15, "timestring": TS, "batch_name": "Deforum_{timestring}",
        "prompts": {"0": "a lighthouse at dusk", "100": "a lighthouse in a storm"},
        "negative_prompts": "blurry", "zoom": "0: (1.0), 130: (1.02)", "use_init": false, "init_image": "",
        "resume_from_timestring": false, "resume_timestring": ""
    })
}

fn frame(ts: &str, i: u64) -> String {
    format!("{ts}_{i:09}.png")
}

fn log_json(lib: &Path, file: &str) -> Value {
    serde_json::from_str(&run_ok(
        stemma().current_dir(lib).args(["log", "--json", file]),
    ))
    .unwrap()
}

#[test]
fn forks_of_a1111_and_comfyui_images_are_linked_by_scan_and_logged_with_their_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path();
    run_ok(stemma().current_dir(lib).args(["init", "-q"]));
    write(
        &lib.join("src/00012-1234.png"),
        &png(1, &[("parameters", INFOTEXT)]),
    );
    write(
        &lib.join("src/ComfyUI_00001_.png"),
        &png(2, &[("prompt", &comfy_graph().to_string())]),
    );

    let out = run_ok(stemma().current_dir(lib).args([
        "fork",
        "src/00012-1234.png",
        "--set",
        "seed=42",
        "--format",
        "infotext,a1111-api,comfyui,native",
        "-o",
        "forks/a1111",
    ]));
    assert!(
        out.starts_with("forked src/00012-1234.png as fork@"),
        "{out}"
    );
    let forks = lib.join("forks/a1111");
    let infotext = std::fs::read_to_string(forks.join("fork.infotext.txt")).unwrap();
    assert_eq!(infotext, INFOTEXT.replace("Seed: 1234", "Seed: 42"));
    let api: Value =
        serde_json::from_str(&std::fs::read_to_string(forks.join("fork.txt2img.json")).unwrap())
            .unwrap();
    assert_eq!(api["seed"], json!(42));
    let manifests: Vec<_> = std::fs::read_dir(&forks)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            p.to_str()
                .unwrap()
                .ends_with(".stemma-run.json")
                .then_some(p)
        })
        .collect();
    assert_eq!(manifests.len(), 1);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifests[0]).unwrap()).unwrap();
    assert_eq!(manifest["fork"]["changes"], json!({"seed": 42}));
    // Registered beside the catalog, where scan looks; both documents in the settings store.
    assert_eq!(
        std::fs::read_dir(lib.join(".stemma/runs")).unwrap().count(),
        1
    );
    let base = manifest["fork"]["base"].as_str().unwrap().replace(':', "-");
    assert!(lib.join(format!(".stemma/settings/{base}.json")).is_file());

    // Printing instead of writing: the ComfyUI body on standard output.
    let body: Value = serde_json::from_str(&run_ok(stemma().current_dir(lib).args([
        "fork",
        "-q",
        "src/ComfyUI_00001_.png",
        "--set",
        "seed=42",
        "--format",
        "comfyui",
    ])))
    .unwrap();
    let (patch, _) = stemma_model::merge_patch_diff(&comfy_graph(), &body["prompt"]);
    assert_eq!(patch, json!({"3": {"inputs": {"seed": 42}}}));
    let marker = &body["extra_data"]["extra_pnginfo"]["stemma_fork"];
    assert!(marker["run"].as_str().unwrap().starts_with("fork@"));

    // The generators make the results: A1111 writes the pasted infotext; ComfyUI's SaveImage writes the graph
    // and every `extra_pnginfo` key.
    write(
        &lib.join("out/00013-42.png"),
        &png(3, &[("parameters", &infotext)]),
    );
    write(
        &lib.join("out/ComfyUI_00002_.png"),
        &png(
            4,
            &[
                ("prompt", &body["prompt"].to_string()),
                ("stemma_fork", &marker.to_string()),
            ],
        ),
    );
    run_ok(stemma().current_dir(lib).args(["scan", "-q", "."]));

    let log = log_json(lib, "out/00013-42.png");
    let links = log["links"].as_array().unwrap();
    assert_eq!(links.len(), 1, "{log}");
    assert_eq!(links[0]["relation"], json!("fork"));
    assert_eq!(links[0]["image"]["paths"], json!(["src/00012-1234.png"]));
    let text = run_ok(stemma().current_dir(lib).args(["log", "out/00013-42.png"]));
    assert!(text.contains("fork of src/00012-1234.png"), "{text}");
    assert!(text.contains("/params/seed: \"1234\" → \"42\""), "{text}");

    let log = log_json(lib, "out/ComfyUI_00002_.png");
    assert_eq!(log["links"][0]["relation"], json!("fork"), "{log}");
    assert_eq!(
        log["links"][0]["image"]["paths"],
        json!(["src/ComfyUI_00001_.png"])
    );
    // Sources are not their own forks.
    assert_eq!(log_json(lib, "src/00012-1234.png")["links"], json!([]));
    assert_eq!(log_json(lib, "src/ComfyUI_00001_.png")["links"], json!([]));
}

#[test]
fn an_animation_fork_from_frame_120_links_its_frames_to_frame_120() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path();
    run_ok(stemma().current_dir(lib).args(["init", "-q"]));
    let anim = lib.join("anim");
    write(
        &anim.join(format!("{TS}_settings.txt")),
        serde_json::to_string_pretty(&deforum_settings(150))
            .unwrap()
            .as_bytes(),
    );
    for i in 0..150 {
        write(&anim.join(frame(TS, i)), &png(i as u32, &[]));
    }
    run_ok(stemma().current_dir(lib).args([
        "fork",
        "-q",
        "anim",
        "--from-frame",
        "120",
        "--set-prompt",
        "a ship at night",
        "-o",
        "forks/anim",
    ]));
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(lib.join("forks/anim/fork.deforum.txt")).unwrap(),
    )
    .unwrap();
    assert!(doc["init_image"]
        .as_str()
        .unwrap()
        .ends_with(&frame(TS, 120)));
    assert_eq!(doc["max_frames"], json!(30));
    assert_eq!(doc["prompts"], json!({"0": "a ship at night"}));
    assert_eq!(doc["seed"], json!(1120));
    // Deforum renders the fork: a new timestring, its settings file, its frames.
    let mut rerun = doc.clone();
    rerun["timestring"] = json!("20240101000000");
    rerun["batch_name"] = json!("Deforum_20240101000000");
    let out = lib.join("anim2");
    write(
        &out.join("20240101000000_settings.txt"),
        serde_json::to_string_pretty(&rerun).unwrap().as_bytes(),
    );
    for i in 0..3 {
        write(
            &out.join(frame("20240101000000", i)),
            &png(5000 + i as u32, &[]),
        );
    }
    run_ok(stemma().current_dir(lib).args(["scan", "-q", "."]));
    for i in 0..3 {
        let log = log_json(lib, &format!("anim2/{}", frame("20240101000000", i)));
        let links = log["links"].as_array().unwrap();
        let fork = links
            .iter()
            .find(|l| l["relation"] == json!("fork"))
            .unwrap_or_else(|| panic!("{log}"));
        assert_eq!(
            fork["image"]["paths"],
            json!([format!("anim/{}", frame(TS, 120))]),
            "{log}"
        );
    }
    let text = run_ok(
        stemma()
            .current_dir(lib)
            .args(["run", "diff", "forks/anim"]),
    );
    assert!(text.contains("/max_frames: 150 → 30"), "{text}");
    assert!(text.contains("prompt /prompts/0"), "{text}");
}

#[test]
fn run_status_and_resume_on_a_broken_deforum_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let anim = tmp.path().join("anim");
    write(
        &anim.join(format!("{TS}_settings.txt")),
        serde_json::to_string_pretty(&deforum_settings(120))
            .unwrap()
            .as_bytes(),
    );
    for i in 0..77 {
        write(&anim.join(frame(TS, i)), &png(i as u32, &[]));
    }
    let full = png(77, &[]);
    write(&anim.join(frame(TS, 77)), &full[..full.len() / 2]);
    let status = run_ok(stemma().args(["run", "status"]).arg(&anim));
    assert!(status.contains("77 produced"), "{status}");
    assert!(status.contains("77 damaged"), "{status}");
    assert!(status.contains("first item to redo: 77"), "{status}");
    let out = run_ok(stemma().args(["resume"]).arg(&anim));
    assert!(out.contains("first item to redo is 77"), "{out}");
    assert!(
        out.contains(&format!("resume_timestring = \"{TS}\"")),
        "{out}"
    );
    assert!(out.contains("in the way"), "{out}");
    // Writing the same resume again is refused: nothing is written over.
    let again = stemma().args(["resume"]).arg(&anim).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    // run init from the settings file, then status of the manifest records the content ids.
    run_ok(
        stemma()
            .args(["run", "init", "-q"])
            .arg(anim.join(format!("{TS}_settings.txt"))),
    );
    let manifest = std::fs::read_dir(&anim)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_str().unwrap().ends_with(".stemma-run.json"))
        .unwrap();
    run_ok(stemma().args(["run", "status", "--record"]).arg(&manifest));
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert_eq!(m["produced"].as_array().unwrap().len(), 77);
    let json: Value = serde_json::from_str(&run_ok(
        stemma().args(["run", "status", "--json"]).arg(&manifest),
    ))
    .unwrap();
    assert_eq!(json["counts"]["verified"], json!(77));
    // Settings that are not JSON: named with the parser's reason, no manifest written.
    let bad = tmp.path().join("bad/20230812221310_settings.txt");
    write(&bad, b"{\"W\": 64,");
    let out = stemma().args(["run", "init"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("20230812221310_settings.txt") && err.contains("not valid JSON"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(bad.parent().unwrap()).unwrap().count(), 1);
}

#[test]
fn a_batch_fork_is_one_command_and_a_file_without_a_recipe_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path();
    write(&lib.join("a.png"), &png(1, &[("parameters", INFOTEXT)]));
    write(
        &lib.join("b.png"),
        &png(
            2,
            &[("parameters", &INFOTEXT.replace("lighthouse", "windmill"))],
        ),
    );
    write(&lib.join("plain.png"), &png(3, &[]));
    let out = stemma()
        .current_dir(lib)
        .args([
            "fork",
            "a.png",
            "b.png",
            "plain.png",
            "--set",
            "steps=30",
            "--format",
            "infotext",
            "-o",
            "forks",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plain.png") && err.contains("nothing to fork"),
        "{err}"
    );
    let a = std::fs::read_to_string(lib.join("forks/a.fork.infotext.txt")).unwrap();
    let b = std::fs::read_to_string(lib.join("forks/b.fork.infotext.txt")).unwrap();
    assert_eq!(a, INFOTEXT.replace("Steps: 20", "Steps: 30"));
    assert_eq!(
        b,
        INFOTEXT
            .replace("lighthouse", "windmill")
            .replace("Steps: 20", "Steps: 30")
    );
    // Two manifests, one per source; a repeated fork never writes over the first one's files.
    let manifests = std::fs::read_dir(lib.join("forks"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .to_str()
                .unwrap()
                .ends_with(".stemma-run.json")
        })
        .count();
    assert_eq!(manifests, 2);
    std::fs::write(lib.join("forks/a.fork.infotext.txt"), "edited by hand").unwrap();
    let again = stemma()
        .current_dir(lib)
        .args([
            "fork", "a.png", "b.png", "--set", "steps=30", "--format", "infotext", "-o", "forks",
        ])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(lib.join("forks/a.fork.infotext.txt")).unwrap(),
        "edited by hand"
    );
}
