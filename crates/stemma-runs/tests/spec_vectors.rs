//! The run vectors of the specification (`spec/vectors/runs/`, described in `spec/runs.md`): every file there
//! is exactly what this generator makes, valid manifests pass the schema and the reader, invalid ones are refused
//! for the reason given, and the fork and fingerprint vectors hold. `STEMMA_WRITE_VECTORS=1` regenerates them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use stemma_runs::{edit_graph, edit_infotext, link, Manifest};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/vectors/runs")
}

fn hash(v: &Value) -> String {
    stemma_model::settings_hash(v).unwrap().to_string()
}

const INFOTEXT: &str = "a lighthouse at dusk\nNegative prompt: blurry\nSteps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 1234, Size: 512x768, Model: sd15, Lora hashes: \"x: 0a1b\"";

fn graph() -> Value {
    json!({
        "3": {"class_type": "KSampler", "inputs": {"seed": 1234, "steps": 20, "cfg": 7.0, "sampler_name": "euler",
              "scheduler": "normal", "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
              "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse at dusk", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x", "images": ["8", 0]}}
    })
}

fn deforum() -> Value {
    json!({"W": 512, "H": 512, "seed": 7, "seed_behavior": "iter", "animation_mode": "2D", "max_frames": 120,
           "prompts": {"0": "a lighthouse"}, "timestring": "20230812221310", "zoom": "0: (1.02)"})
}

/// Every vector file: name → content.
fn vectors() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap() + "\n";
    let base = deforum();
    let animation = json!({
        "stemma_run": "1.0",
        "id": format!("deforum:20230812221310@{}", &hash(&base)[7..19]),
        "generator": "deforum",
        "key": "deforum:20230812221310",
        "settings": {"format": "deforum-json", "hash": hash(&base), "location": "20230812221310_settings.txt"},
        "plan": {"kind": "animation", "count": 120,
                 "seeds": {"rule": "increment", "base": "7", "every": 1, "cadence": 1},
                 "schedule": [{"start": 0, "prompt": "a lighthouse"}]},
        "produced": [{"index": 0, "id": format!("sha256:{}", "0".repeat(64)), "file": "20230812221310_000000000.png"}],
        "created": "2026-12-03T07:00:00Z"
    });
    out.push((
        "manifest-animation.stemma-run.json".into(),
        pretty(&animation),
    ));
    let forked_text = INFOTEXT.replace("Seed: 1234", "Seed: 42");
    let fork = json!({
        "stemma_run": "1.0",
        "id": "fork@0123456789ab",
        "generator": "a1111",
        "settings": {"format": "a1111-infotext", "hash": hash(&json!(forked_text))},
        "plan": {"kind": "batch", "count": 1},
        "fork": {
            "base": hash(&json!(INFOTEXT)),
            "diff": forked_text,
            "from": format!("sha256:{}", "1".repeat(64)),
            "from_file": "00012-1234.png",
            "changes": {"seed": 42},
            "marker": "fork@0123456789ab"
        }
    });
    out.push(("manifest-fork.stemma-run.json".into(), pretty(&fork)));
    let invalid = [
        (
            "invalid-version",
            json!({"stemma_run": "2.0", "id": "r", "generator": "x", "settings": {"format": "f", "hash": hash(&base)}, "plan": {"kind": "batch", "count": 1}}),
            "version 2.0",
        ),
        (
            "invalid-hash",
            json!({"stemma_run": "1.0", "id": "r", "generator": "x", "settings": {"format": "f", "hash": "sha256:XYZ"}, "plan": {"kind": "batch", "count": 1}}),
            "settings hash",
        ),
        (
            "invalid-produced-twice",
            json!({"stemma_run": "1.0", "id": "r", "generator": "x", "settings": {"format": "f", "hash": hash(&base)}, "plan": {"kind": "batch", "count": 2},
            "produced": [{"index": 1, "id": format!("sha256:{}", "2".repeat(64))}, {"index": 1, "id": format!("sha256:{}", "3".repeat(64))}]}),
            "listed twice",
        ),
        (
            "invalid-outside-plan",
            json!({"stemma_run": "1.0", "id": "r", "generator": "x", "settings": {"format": "f", "hash": hash(&base)}, "plan": {"kind": "batch", "count": 2},
            "produced": [{"index": 5, "id": format!("sha256:{}", "2".repeat(64))}]}),
            "outside the plan",
        ),
        (
            "invalid-no-plan",
            json!({"stemma_run": "1.0", "id": "r", "generator": "x", "settings": {"format": "f", "hash": hash(&base)}}),
            "plan",
        ),
    ];
    let mut expected = serde_json::Map::new();
    for (name, doc, why) in invalid {
        out.push((format!("{name}.stemma-run.json"), pretty(&doc)));
        expected.insert(format!("{name}.stemma-run.json"), json!(why));
    }
    out.push(("invalid.json".into(), pretty(&Value::Object(expected))));
    let store = json!([
        {"format": "deforum-json", "data": base, "hash": hash(&base),
         "file": format!("settings/{}.json", hash(&base).replace(':', "-"))},
        {"format": "a1111-infotext", "data": INFOTEXT, "hash": hash(&json!(INFOTEXT)),
         "file": format!("settings/{}.json", hash(&json!(INFOTEXT)).replace(':', "-"))}
    ]);
    out.push(("store.json".into(), pretty(&store)));
    let infotext_cases: Vec<Value> = [
        json!({"seed": 42}),
        json!({"steps": 30, "cfg_scale": 5.5}),
        json!({"width": 640}),
        json!({"prompt": "a lighthouse at night"}),
        json!({"Hires steps": 10}),
    ]
    .into_iter()
    .map(|changes| {
        let list: Vec<(String, Value)> = changes.as_object().unwrap().clone().into_iter().collect();
        json!({"infotext": INFOTEXT, "changes": changes, "expected": edit_infotext(INFOTEXT, &list).unwrap()})
    })
    .collect();
    out.push((
        "fork-infotext.json".into(),
        pretty(&Value::Array(infotext_cases)),
    ));
    let graph_cases: Vec<Value> = [
        json!({"seed": 42}),
        json!({"prompt": "a lighthouse at night", "model": "sdxl.safetensors"}),
        json!({"steps": 30, "width": 1024}),
    ]
    .into_iter()
    .map(|changes| {
        let list: Vec<(String, Value)> = changes.as_object().unwrap().clone().into_iter().collect();
        let edited = edit_graph(&graph(), &list).unwrap();
        let (patch, _) = stemma_model::merge_patch_diff(&graph(), &edited);
        json!({"graph": graph(), "changes": changes, "patch": patch})
    })
    .collect();
    out.push((
        "fork-comfyui.json".into(),
        pretty(&Value::Array(graph_cases)),
    ));
    let record: stemma_model::Record = serde_json::from_value(json!({
        "stemma": "1.0", "prompt": {"positive": "a lighthouse at dusk", "negative": "blurry"},
        "params": {"seed": "42", "steps": 20, "cfg_scale": 7.0, "sampler": "DPM++ 2M", "width": 512, "height": 768}
    })).unwrap();
    let mut rerun = deforum();
    rerun["timestring"] = json!("20240101000000");
    let fingerprints = json!([
        {"record": record, "params_fingerprint": link::params_fingerprint(&record)},
        {"settings": deforum(), "settings_fingerprint": link::settings_fingerprint(&deforum())},
        {"settings": rerun, "settings_fingerprint": link::settings_fingerprint(&rerun)}
    ]);
    out.push(("fingerprints.json".into(), pretty(&fingerprints)));
    out
}

#[test]
fn vector_files_are_what_the_generator_makes() {
    let write = std::env::var_os("STEMMA_WRITE_VECTORS").is_some();
    let d = dir();
    if write {
        std::fs::create_dir_all(&d).unwrap();
    }
    for (name, text) in vectors() {
        let path = d.join(&name);
        if write {
            std::fs::write(&path, &text).unwrap();
        }
        let found =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            found, text,
            "{name} differs from the generator (STEMMA_WRITE_VECTORS=1 regenerates)"
        );
    }
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/run-manifest.schema.json"),
    )
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

#[test]
fn valid_manifests_pass_the_schema_and_the_reader_and_survive_a_round_trip() {
    let schema = schema();
    for name in [
        "manifest-animation.stemma-run.json",
        "manifest-fork.stemma-run.json",
    ] {
        let path = dir().join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let errors: Vec<String> = schema.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let m = Manifest::from_json(&text, &path).unwrap();
        assert_eq!(serde_json::to_value(&m).unwrap(), value, "{name}");
        assert_eq!(m.to_json().unwrap(), text, "{name}");
    }
    // The fork vector's diff turns its base into its settings.
    let fork: Value = serde_json::from_str(
        &std::fs::read_to_string(dir().join("manifest-fork.stemma-run.json")).unwrap(),
    )
    .unwrap();
    let mut doc = json!(INFOTEXT);
    assert_eq!(hash(&doc), fork["fork"]["base"].as_str().unwrap());
    stemma_model::apply_merge_patch(&mut doc, &fork["fork"]["diff"]);
    assert_eq!(hash(&doc), fork["settings"]["hash"].as_str().unwrap());
}

#[test]
fn invalid_manifests_are_refused_for_their_reason() {
    let schema = schema();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("invalid.json")).unwrap())
            .unwrap();
    for (name, why) in expected.as_object().unwrap() {
        let path = dir().join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let err = Manifest::from_json(&text, &path).unwrap_err().to_string();
        assert!(err.contains(why.as_str().unwrap()), "{name}: {err}");
        assert!(
            err.contains(name),
            "{name}: the error names the file: {err}"
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        // Rules the schema can state, it states (the duplicate and range rules are the reader's).
        if ![
            "invalid-produced-twice.stemma-run.json",
            "invalid-outside-plan.stemma-run.json",
        ]
        .contains(&name.as_str())
        {
            assert!(!schema.is_valid(&value), "{name} passes the schema");
        }
    }
}

#[test]
fn store_fork_and_fingerprint_vectors_hold() {
    let read = |n: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir().join(n)).unwrap()).unwrap()
    };
    let tmp = tempfile::tempdir().unwrap();
    let store = stemma_runs::SettingsStore {
        root: tmp.path().join(".stemma"),
    };
    for entry in read("store.json").as_array().unwrap() {
        let h = store
            .put(entry["format"].as_str().unwrap(), &entry["data"])
            .unwrap();
        assert_eq!(h, entry["hash"].as_str().unwrap());
        assert!(store.root.join(entry["file"].as_str().unwrap()).is_file());
        assert_eq!(store.get(&h).unwrap().data, entry["data"]);
    }
    for case in read("fork-infotext.json").as_array().unwrap() {
        let list: Vec<(String, Value)> = case["changes"]
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .collect();
        assert_eq!(
            json!(edit_infotext(case["infotext"].as_str().unwrap(), &list).unwrap()),
            case["expected"]
        );
    }
    let first = &read("fork-infotext.json")[0];
    assert_eq!(
        first["expected"],
        json!(INFOTEXT.replace("Seed: 1234", "Seed: 42"))
    );
    for case in read("fork-comfyui.json").as_array().unwrap() {
        let list: Vec<(String, Value)> = case["changes"]
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .collect();
        let edited = edit_graph(&case["graph"], &list).unwrap();
        let (patch, _) = stemma_model::merge_patch_diff(&case["graph"], &edited);
        assert_eq!(patch, case["patch"]);
    }
    assert_eq!(
        read("fork-comfyui.json")[0]["patch"],
        json!({"3": {"inputs": {"seed": 42}}})
    );
    let f = read("fingerprints.json");
    let record: stemma_model::Record = serde_json::from_value(f[0]["record"].clone()).unwrap();
    assert_eq!(
        json!(link::params_fingerprint(&record)),
        f[0]["params_fingerprint"]
    );
    // A re-run of the same settings under a new timestring has the same settings fingerprint.
    assert_eq!(f[1]["settings_fingerprint"], f[2]["settings_fingerprint"]);
    assert_eq!(
        json!(link::settings_fingerprint(&f[1]["settings"])),
        f[1]["settings_fingerprint"]
    );
}
